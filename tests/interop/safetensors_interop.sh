#!/usr/bin/env bash
# labels: interop
# safetensors against numpy (tests/interop/st_ref.py writes and reads the
# files by hand, no qscope code): every dtype decodes to numpy's values; the
# compressed-tensors int8 per-channel, compressed-tensors packed int4, GPTQ
# (with and without act-order) and AWQ checkpoints pair with the float
# checkpoint and measure the RMSE/SQNR numpy computes (1e-9 relative), through
# the C API and through `qscope report`; `qscope quantize` writes int8
# compressed-tensors that numpy's reader accepts with numpy's codes/scales, and
# GGUF equal to gguf-py's reference quantizers.
set -euo pipefail
helper="$QSCOPE_BUILD/tests/test_safetensors"
ref="$QSCOPE_SRC/tests/interop/st_ref.py"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$PY" "$ref" dtypes "$tmp/d.safetensors" "$tmp/d.txt"
QS_ST_DUMP="$tmp/d.safetensors" "$helper" >"$tmp/dump.txt"
"$PY" "$ref" compare "$tmp/d.txt" "$tmp/dump.txt"

"$PY" "$ref" pairs "$tmp"
for k in ct ctpack gptq awq; do
  QS_PAIR_METRICS="$tmp/float.safetensors:$tmp/$k.safetensors" "$helper" >"$tmp/$k.capi.csv"
  "$PY" "$ref" check-csv "$tmp/$k.csv" "$tmp/$k.capi.csv"
  "$QSCOPE" report "$tmp/float.safetensors" "$tmp/$k.safetensors" --csv - >"$tmp/$k.report.csv"
  "$PY" "$ref" check-csv "$tmp/$k.csv" "$tmp/$k.report.csv"
done

"$QSCOPE" quantize "$tmp/float.safetensors" -o "$tmp/q8.safetensors" --bits 8 --scheme sym \
  --granularity channel --method minmax
"$PY" "$ref" read-int8 "$tmp/float.safetensors" "$tmp/q8.safetensors"

# safetensors → GGUF: gguf-py reads the result, and its reference quantizers
# give the same bytes (skipped without gguf-py)
export GGUF_PY="$QSCOPE_SRC/share/setup/vendor/llama.cpp-gguf/gguf-py"
if [ -f "$GGUF_PY/gguf/__init__.py" ]; then
  for ty in Q8_0 Q4_0 Q5_1; do
    "$QSCOPE" quantize "$tmp/float.safetensors" -o "$tmp/$ty.gguf" --qtype "$ty" --method minmax
    "$PY" "$QSCOPE_SRC/tests/interop/gguf_ref.py" readall "$tmp/$ty.gguf"
    "$PY" "$QSCOPE_SRC/tests/interop/gguf_ref.py" st-quant-equal "$tmp/float.safetensors" \
      "$tmp/$ty.gguf" "$ty"
  done
  "$QSCOPE" quantize "$tmp/gptq.safetensors" -o "$tmp/gptq.gguf" --qtype Q4_1
  "$PY" "$QSCOPE_SRC/tests/interop/gguf_ref.py" readall "$tmp/gptq.gguf"
fi
