#!/usr/bin/env bash
# labels: interop realmodels
# qscope's dequantization of every GGUF in ../shared/models (Q8_0, Q4_0, Q4_1,
# Q5_0, Q5_1, F16) equals llama.cpp's gguf-py dequantization bit for bit, and
# so do random Q2_K..Q6_K blocks; gguf-py is the independent reference.
set -euo pipefail
models="$QSCOPE_SHARED/models"
export GGUF_PY="$QSCOPE_SRC/share/setup/node_modules/llama.cpp-gguf/gguf-py"
helper="$QSCOPE_BUILD/tests/test_gguf"
ref="$QSCOPE_SRC/tests/interop/gguf_ref.py"
[ -f "$models/silero_vad_legacy.F32.gguf" ] || { echo "no shared models: skipped"; exit 77; }
[ -f "$GGUF_PY/gguf/__init__.py" ] || { echo "gguf-py missing (run share/setup/deps.sh): skipped"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for ty in F32 F16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1; do
  "$PY" "$ref" dequant-f32 "$models/silero_vad_legacy.$ty.gguf" "$tmp/$ty.f32.gguf"
  QS_GGUF_EQUAL="$models/silero_vad_legacy.$ty.gguf:$tmp/$ty.f32.gguf" "$helper"
done

"$PY" "$ref" kquants "$tmp/k.gguf" "$tmp/kf.gguf"
QS_GGUF_EQUAL="$tmp/k.gguf:$tmp/kf.gguf" "$helper"
echo "gguf_dequant: all equal"
