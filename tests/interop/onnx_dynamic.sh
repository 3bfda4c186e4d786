#!/usr/bin/env bash
# labels: interop
# ONNX Runtime's dynamic-quantization form (ConvInteger / MatMulInteger +
# DynamicQuantizeLinear, W_quantized / W_scale / W_zero_point, per-tensor
# uint8, built with python3-onnx's helper) pairs completely with its float
# model, and each weight's SQNR in `qscope report` equals numpy's
# computation of (q − zp)·scale against the float weights.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
"$PY" -c 'import onnx, numpy' 2>/dev/null || { echo "skipped: python3-onnx missing"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$PY" "$here/onnx_dynamic_pair.py" "$tmp"
"$QSCOPE" report "$tmp/float.onnx" "$tmp/dyn.onnx" --csv "$tmp/t.csv" -q >/dev/null
"$PY" - "$tmp/t.csv" "$tmp/expected.csv" <<'PYEOF'
import csv, math, sys
rows = {r["tensor"]: r for r in csv.DictReader(open(sys.argv[1]))}
bad = [r["tensor"] for r in rows.values() if r["status"] == "unpaired"]
if bad:
    sys.exit(f"unpaired tensors: {bad}")
names = set(rows)
if any(n.endswith(("_scale", "_zero_point", "_quantized")) for n in names):
    sys.exit(f"auxiliary or code tensors listed as rows: {sorted(names)}")
for line in open(sys.argv[2]):
    name, want = line.strip().split(",")
    if name not in rows:
        sys.exit(f"{name}: no row (rows: {sorted(names)})")
    r = rows[name]
    got = float(r["sqnr_db"])
    print(f"{name}: qtype {r['qtype']} zero_point {r['zero_point']} SQNR {got:.12g} dB, numpy {float(want):.12g} dB")
    if r["qtype"] != "uint8" or not math.isclose(got, float(want), rel_tol=1e-9):
        sys.exit(f"{name}: qscope {got} vs numpy {want}")
PYEOF
