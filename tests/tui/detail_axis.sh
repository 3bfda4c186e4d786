#!/usr/bin/env bash
# The detail view's histograms follow the graph's channel axis as the numbers
# beside them do: an ONNX MatMul weight W[64, 32] (output channels on axis 1,
# column 3 fifty times wider) opened per channel with --axis 0 (which the
# graph overrides) must draw the same screen as without --axis, and its
# error histogram must not be the broad one of quantizing the rows
# (per-row scales stretched by column 3 would spread errors over ±0.5 step).
# labels: tui
set -euo pipefail
: "${QSCOPE:?}"
PY=${PY:-/usr/bin/python3}
command -v script >/dev/null || { echo "script(1) not installed"; exit 77; }
"$PY" -c 'import onnx' 2>/dev/null || { echo "python3-onnx not installed"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

"$PY" - <<'PYEOF'
import numpy as np, onnx
from onnx import helper, numpy_helper, TensorProto
rng = np.random.default_rng(3)
w = rng.normal(0, 0.05, (64, 32)).astype(np.float32)
w[:, 3] *= 50
g = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "mm",
                      [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 32])],
                      [numpy_helper.from_array(w, "w")])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), "mm.onnx")
PYEOF

dump() { # OUT ARGS...: the detail screen of the first row
	local out=$1
	shift
	QSCOPE_TUI_DUMP="$tmp/$out" QSCOPE_TUI_SIZE=140x40 QSCOPE_TUI_KEYS="<Enter>" \
		LANG=C.UTF-8 LC_ALL=C.UTF-8 \
		script -qec "'$QSCOPE' tui mm.onnx --granularity channel $*" /dev/null >/dev/null
	[ -s "$tmp/$out" ] || { echo "FAIL: no screen for $*"; exit 1; }
}
dump graph.txt
dump axis0.txt --axis 0
grep -q "tensor detail" graph.txt || { echo "FAIL: not the detail view"; cat graph.txt; exit 1; }
if ! diff -u graph.txt axis0.txt; then
	echo "FAIL: --axis 0 changed the detail view of a weight whose graph names axis 1"
	exit 1
fi
