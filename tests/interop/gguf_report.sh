#!/usr/bin/env bash
# labels: interop realmodels
# The per-tensor RMSE and SQNR that `qscope report F32.gguf Q.gguf --csv -`
# prints for the llama.cpp reference files (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1)
# equal a numpy computation from gguf-py's dequantized values to 1e-9
# relative. The same figures through the C API (model_pair + engine metrics,
# test_safetensors' helper mode) are checked too.
set -euo pipefail
. "$QSCOPE_SRC/tests/interop/gguf_env.inc"
helper="$QSCOPE_BUILD/tests/test_safetensors"

for ty in Q8_0 Q4_0 Q4_1 Q5_0 Q5_1; do
  q="$models/silero_vad_legacy.$ty.gguf"
  "$PY" "$ref" metrics "$src" "$q" >"$tmp/numpy.csv"
  QS_PAIR_METRICS="$src:$q" "$helper" >"$tmp/capi.csv"
  "$QSCOPE" report "$src" "$q" --csv - >"$tmp/report.csv"
  "$PY" - "$ty" "$tmp/numpy.csv" "$tmp/capi.csv" "$tmp/report.csv" <<'PYEOF'
import csv, math, sys
ty, ref, *outs = sys.argv[1:]
want = {r["tensor"]: r for r in csv.DictReader(open(ref))}
def close(a, b):
    a, b = float(a), float(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= 1e-9 * max(abs(b), 1e-300)
bad = 0
for path in outs:
    rows = {r["tensor"]: r for r in csv.DictReader(open(path))}
    missing = set(want) - set(rows)
    if missing:
        print(f"{path}: tensors missing: {sorted(missing)[:3]}")
        bad += 1
    for name, w in want.items():
        r = rows.get(name)
        if r and not (close(r["rmse"], w["rmse"]) and close(r["sqnr_db"], w["sqnr_db"])):
            print(f"{ty} {path}: {name}: rmse {r['rmse']} vs {w['rmse']}, "
                  f"sqnr {r['sqnr_db']} vs {w['sqnr_db']}")
            bad += 1
print(f"{ty}: {len(want)} tensors, rmse/sqnr within 1e-9 of numpy in {len(outs)} outputs, {bad} bad")
sys.exit(1 if bad else 0)
PYEOF
done
