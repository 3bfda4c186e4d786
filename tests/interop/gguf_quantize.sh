#!/usr/bin/env bash
# labels: interop realmodels
# Writing GGUF: quantizing silero_vad_legacy.F32.gguf to Q8_0, Q4_0, Q4_1,
# Q5_0 and Q5_1 gives tensor data identical to the reference files written by
# llama.cpp's gguf-py (its reference quantizers), gguf-py reads every written
# file, and --method mse lowers the total RMSE of Q4_0 and Q4_1 (and the
# others) below llama.cpp's reference on the same weights.
set -euo pipefail
. "$QSCOPE_SRC/tests/interop/gguf_env.inc"
helper="$QSCOPE_BUILD/tests/test_gguf"

# qscope quantize when the CLI is built, else the same writer through the C API
quantize() { # in out qtype method
  if [ -x "${QSCOPE:-}" ]; then
    "$QSCOPE" quantize "$1" -o "$2" --qtype "$3" --method "$4"
  else
    QS_GGUF_QUANTIZE="$1:$2:$3:$4" "$helper"
  fi
}

for ty in Q8_0 Q4_0 Q4_1 Q5_0 Q5_1; do
  quantize "$src" "$tmp/$ty.gguf" "$ty" minmax
  "$PY" "$ref" same-data "$models/silero_vad_legacy.$ty.gguf" "$tmp/$ty.gguf"
  "$PY" "$ref" readall "$tmp/$ty.gguf"
done

# total RMSE over the block-quantized tensors from a report CSV
report_rmse() { # float quant
  "$QSCOPE" report "$1" "$2" --csv - | "$PY" -c '
import csv, math, sys
se = n = 0
for r in csv.DictReader(sys.stdin):
    if r["qtype"].startswith("Q"):
        se += float(r["rmse"]) ** 2 * int(r["elements"]); n += int(r["elements"])
print(repr(math.sqrt(se / n)))'
}

for ty in Q4_0 Q4_1 Q5_0 Q5_1 Q8_0; do
  quantize "$src" "$tmp/$ty.mse.gguf" "$ty" mse
  "$PY" "$ref" readall "$tmp/$ty.mse.gguf" >/dev/null
  r=$("$PY" "$ref" total-rmse "$src" "$models/silero_vad_legacy.$ty.gguf")
  m=$("$PY" "$ref" total-rmse "$src" "$tmp/$ty.mse.gguf")
  rr=$r; rm_=$m
  if [ -x "${QSCOPE:-}" ]; then
    rr=$(report_rmse "$src" "$models/silero_vad_legacy.$ty.gguf")
    rm_=$(report_rmse "$src" "$tmp/$ty.mse.gguf")
  fi
  "$PY" - "$ty" "$r" "$m" "$rr" "$rm_" <<'PYEOF'
import sys
ty = sys.argv[1]
r, m, rr, rm = map(float, sys.argv[2:])
print(f"{ty}: total RMSE llama.cpp reference {r:.6g}, --method mse {m:.6g}, "
      f"gain {100 * (1 - m / r):.2f}% (gguf-py + numpy); qscope report: "
      f"{rr:.6g} -> {rm:.6g}, gain {100 * (1 - rm / rr):.2f}%")
ok = m < r and abs(rr - r) <= 1e-9 * r and abs(rm - m) <= 1e-9 * m
sys.exit(0 if ok else 1)
PYEOF
done
