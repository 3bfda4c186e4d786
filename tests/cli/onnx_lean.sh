#!/usr/bin/env bash
# The ONNX reader leaves large raw_data in the file (io/onnx_lean.c) but must
# read exactly what protobuf says the file holds when a field it borrows
# appears twice (the later raw_data wins; a repeated attribute tensor or
# graph is merged). For the files in tests/fuzz/regress/onnx/lean-*.onnx the
# tensors' extremes in `report --channels-csv` equal those of the arrays
# onnx's own Python parser makes of the file, a file that parser finds
# malformed is refused (exit 2), and `quantize` keeps an attribute tensor it
# does not analyse byte for byte.
. "$(dirname "$0")/lib.bash"
R="$QSCOPE_SRC/tests/fuzz/regress/onnx"
"$PY" -c "import onnx" 2>/dev/null || { echo "python3-onnx missing"; exit 77; }

for f in t1_big_then_small t2_small_then_big t3_attr_t_twice t3b_attr_t_twice_leak t4_two_graphs; do
	m="$R/lean-$f.onnx"
	run_rc 0 "$QSCOPE" report "$m" --granularity tensor --channels-csv ch.csv
	"$PY" - "$m" ch.csv <<'PYEOF' || fail "lean-$f: extremes differ from onnx's parse"
import csv, sys
import numpy as np
import onnx
from onnx import numpy_helper
m = onnx.load(sys.argv[1])
want = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
for n in m.graph.node:
    for a in n.attribute:
        if a.type == onnx.AttributeProto.TENSOR and n.op_type == "Constant":
            want[n.output[0]] = numpy_helper.to_array(a.t)
got = {}  # tensor -> [min, max, elements] over its channel rows
for r in csv.DictReader(open(sys.argv[2])):
    g = got.setdefault(r["tensor"], [np.inf, -np.inf, 0])
    g[0] = min(g[0], float(r["min"]))
    g[1] = max(g[1], float(r["max"]))
    g[2] += int(r["elements"])
assert set(want) == set(got), (sorted(want), sorted(got))
for k, v in want.items():
    assert got[k] == [float(v.min()), float(v.max()), v.size], (k, got[k], v.min(), v.max(), v.size)
print(sys.argv[1].split("/")[-1], "matches onnx:", {k: v.size for k, v in want.items()})
PYEOF
done

run_rc 2 "$QSCOPE" inspect "$R/lean-t8_big_then_small_dims_big.onnx"
grep -q "raw_data has 16" "$T/err" || fail "t8: $(cat "$T/err")"

for f in t6_skipped_type_attr_twice t7_custom_attr_twice; do
	run_rc 0 "$QSCOPE" quantize "$R/lean-$f.onnx" -o "$f.q.onnx"
	"$PY" - "$R/lean-$f.onnx" "$f.q.onnx" <<'PYEOF' || fail "$f: attribute tensor changed"
import sys
import onnx
a, b = (onnx.load(p) for p in sys.argv[1:])
ta = [x.t.raw_data for n in a.graph.node for x in n.attribute if x.type == onnx.AttributeProto.TENSOR]
tb = [x.t.raw_data for n in b.graph.node for x in n.attribute if x.type == onnx.AttributeProto.TENSOR]
assert ta and ta == tb and all(len(r) == 8192 for r in ta), [len(r) for r in tb]
print(sys.argv[1].split("/")[-1], "attribute tensor kept:", [len(r) for r in tb])
PYEOF
done
