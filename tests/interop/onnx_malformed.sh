#!/usr/bin/env bash
# labels: interop
# Malformed ONNX files (truncated, a wrong wire type, dims vs data size,
# external data escaping the folder or past its end, absurd and negative
# dims) make `qscope quantize` and `qscope inspect` exit 2 with one line on
# stderr naming the file, and nothing is written.
set -euo pipefail
"$PY" -c 'import onnx, numpy' 2>/dev/null || { echo "skipped: python3-onnx missing"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/m"
"$PY" - "$tmp/m" <<'PYEOF'
import sys
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
d = sys.argv[1]

def model(t):
    g = helper.make_graph([helper.make_node("Identity", ["w"], ["y"])], "g", [],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [t])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])

w = numpy_helper.from_array(np.arange(64, dtype=np.float32), "w")
good = model(w).SerializeToString()
open(f"{d}/truncated.onnx", "wb").write(good[:-120])
open(f"{d}/wiretype.onnx", "wb").write(bytes([0x08, 0x07, 0x38, 0x05]))
t = onnx.TensorProto(); t.CopyFrom(w); t.dims[:] = [65]
open(f"{d}/dims_mismatch.onnx", "wb").write(model(t).SerializeToString())
t = onnx.TensorProto(); t.CopyFrom(w); t.dims[:] = [1 << 40, 1 << 40]
open(f"{d}/absurd_dims.onnx", "wb").write(model(t).SerializeToString())
t = onnx.TensorProto(); t.CopyFrom(w); t.dims[:] = [-64]
open(f"{d}/negative_dims.onnx", "wb").write(model(t).SerializeToString())
open(f"{d}/w.bin", "wb").write(np.arange(64, dtype=np.float32).tobytes())
for name, loc, off in (("escape", "../w.bin", 0), ("past_end", "w.bin", 8)):
    t = onnx.TensorProto(); t.CopyFrom(w); t.ClearField("raw_data")
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", loc), ("offset", str(off)), ("length", "256")):
        e = t.external_data.add(); e.key, e.value = k, v
    open(f"{d}/{name}.onnx", "wb").write(model(t).SerializeToString())
PYEOF
cp "$tmp/m/w.bin" "$tmp/w.bin"
status=0
for f in truncated wiretype dims_mismatch absurd_dims negative_dims escape past_end; do
  for cmd in quantize inspect; do
    args=("$tmp/m/$f.onnx")
    [ $cmd = quantize ] && args+=(-o "$tmp/out.onnx")
    set +e
    "$QSCOPE" $cmd "${args[@]}" >/dev/null 2>"$tmp/err"
    rc=$?
    set -e
    lines=$(wc -l <"$tmp/err")
    echo "$f ($cmd): exit $rc: $(cat "$tmp/err")"
    if [ $rc -ne 2 ] || [ "$lines" -ne 1 ] || ! grep -q "$f.onnx" "$tmp/err" || [ -e "$tmp/out.onnx" ]; then
      echo "  FAILED: want exit 2, one line naming $f.onnx, no output"
      status=1
    fi
    [ -z "$(ls -A "$tmp" | grep -v '^m$\|^err$\|^w.bin$')" ] || { echo "  FAILED: left files: $(ls "$tmp")"; status=1; }
  done
done
exit $status
