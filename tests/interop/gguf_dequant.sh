#!/usr/bin/env bash
# labels: interop realmodels
# qscope's dequantization of every GGUF in ../shared/models (Q8_0, Q4_0, Q4_1,
# Q5_0, Q5_1, F16) equals llama.cpp's gguf-py dequantization bit for bit, and
# so do random Q2_K..Q6_K blocks; gguf-py is the independent reference.
set -euo pipefail
. "$QSCOPE_SRC/tests/interop/gguf_env.inc"
helper="$QSCOPE_BUILD/tests/test_gguf"

for ty in F32 F16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1; do
  "$PY" "$ref" dequant-f32 "$models/silero_vad_legacy.$ty.gguf" "$tmp/$ty.f32.gguf"
  QS_GGUF_EQUAL="$models/silero_vad_legacy.$ty.gguf:$tmp/$ty.f32.gguf" "$helper"
done

"$PY" "$ref" kquants "$tmp/k.gguf" "$tmp/kf.gguf"
QS_GGUF_EQUAL="$tmp/k.gguf:$tmp/kf.gguf" "$helper"
echo "gguf_dequant: all equal"
