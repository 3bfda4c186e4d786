#!/usr/bin/env bash
# labels: interop realmodels
# Every .onnx of ../shared/models parses, and the number of float weight
# tensors `qscope inspect` lists (initializers + Constant nodes, subgraphs
# included) equals what python3-onnx finds (onnx_count.py), and the graph
# facts of every Conv/Gemm/MatMul weight (op, output-channel axis, K) equal
# those worked out from the operator definitions (onnx_facts.py).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
models="$QSCOPE_SHARED/models"
[ -d "$models" ] || { echo "skipped: $models missing"; exit 77; }
"$PY" -c 'import onnx' 2>/dev/null || { echo "skipped: python3-onnx missing"; exit 77; }
shopt -s nullglob
files=("$models"/*.onnx)
[ ${#files[@]} -gt 0 ] || { echo "skipped: no .onnx in $models"; exit 77; }
status=0
while read -r want path; do
  got=$("$QSCOPE" inspect "$path" --format json | "$PY" -c '
import json, sys
t = json.load(sys.stdin)["tensors"]
print(sum(1 for x in t if x["dtype"] in ("f32", "f16", "bf16", "f64")))')
  echo "$(basename "$path"): qscope $got, python3-onnx $want float tensors"
  [ "$got" = "$want" ] || status=1
  "$QSCOPE" inspect "$path" | "$PY" "$here/onnx_facts.py" "$path" || status=1
done < <("$PY" "$here/onnx_count.py" "${files[@]}")
exit $status
