#!/usr/bin/env bash
# labels: interop
# Both QDQ forms (int8 weights behind DequantizeLinear, per channel with an
# explicit axis; and float weights quantized at run time by QuantizeLinear →
# DequantizeLinear) pair completely with their float model, and each
# weight's SQNR in `qscope report` equals numpy's (onnx_qdq_pair.py).
# ONNX Runtime runs all three models (when onnxruntime-node is installed).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
"$PY" -c 'import onnx, numpy' 2>/dev/null || { echo "skipped: python3-onnx missing"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$PY" "$here/onnx_qdq_pair.py" "$tmp"
for q in qdq fake; do
  "$QSCOPE" report "$tmp/float.onnx" "$tmp/$q.onnx" --csv "$tmp/$q.csv" -q >/dev/null
  "$PY" - "$tmp/$q.csv" "$tmp/expected.csv" "$q" <<'PYEOF'
import csv, math, sys
rows = {r["tensor"]: r for r in csv.DictReader(open(sys.argv[1]))}
bad = [n for n, r in rows.items() if r["status"] == "unpaired"]
if bad:
    sys.exit(f"{sys.argv[3]}: unpaired tensors: {bad}")
for line in open(sys.argv[2]):
    name, want = line.strip().split(",")
    r = rows.get(name)
    if not r:
        sys.exit(f"{sys.argv[3]}: {name}: no row ({sorted(rows)})")
    got = float(r["sqnr_db"])
    print(f"{sys.argv[3]}: {name}: qtype {r['qtype']} SQNR {got:.12g} dB, numpy {float(want):.12g} dB")
    if not math.isclose(got, float(want), rel_tol=1e-9):
        sys.exit(f"{name}: qscope {got} vs numpy {want}")
PYEOF
done
nm="$QSCOPE_SRC/share/setup/node_modules"
if [ -d "$nm/onnxruntime-node" ] && command -v node >/dev/null; then
  NODE_PATH="$nm" node "$here/onnx_run.js" "$tmp/float.onnx" "$tmp/qdq.onnx" "$tmp/fake.onnx" --no-opt 2>/dev/null
fi
