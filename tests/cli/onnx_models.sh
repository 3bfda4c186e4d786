#!/usr/bin/env bash
# ONNX end to end: `qscope demo` writes the demo pair; `report FLOAT QUANT`
# measures the int8 model as stored — every figure checked against numpy on
# the initializers read with python3-onnx (DequantizeLinear: (q − z)·s along
# the axis) — with the design.md columns first in both CSVs and the what-if
# columns filled. A recipe that keeps conv1 in float and puts conv2 at 4 bits
# gives a written model where exactly that happened (read back with
# python3-onnx, int4 nibbles unpacked here), which ONNX Runtime runs when it
# is installed.
# labels: onnx
. "$(dirname "$0")/lib.bash"
"$PY" -c "import onnx" 2>/dev/null || { echo "python3-onnx missing"; exit 77; }

run_rc 0 "$QSCOPE" demo d
[ -s d/demo_float.onnx ] && [ -s d/demo_int8.onnx ] || fail "demo files missing"
run_rc 0 "$QSCOPE" report d/demo_float.onnx d/demo_int8.onnx --csv t.csv --channels-csv c.csv \
	--quiet
"$PY" - <<'PYEOF'
import csv, math, os
import numpy as np, onnx
from onnx import numpy_helper

def inits(path):
    m = onnx.load(path)
    return m, {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}

fm, f = inits("d/demo_float.onnx")
qm, q = inits("d/demo_int8.onnx")
rows = list(csv.reader(open("t.csv", newline="")))
assert rows[0][:24] == os.environ["TENSOR_COLS"].split(","), rows[0]
ch = list(csv.reader(open("c.csv", newline="")))
assert ch[0][:13] == os.environ["CHANNEL_COLS"].split(","), ch[0]
got = {r[0]: dict(zip(rows[0], r)) for r in rows[1:]}
checked = 0
for node in qm.graph.node:
    if node.op_type != "DequantizeLinear" or node.input[0] not in q:
        continue
    name = node.output[0]
    codes, s = q[node.input[0]].astype(np.float64), q[node.input[1]].astype(np.float32)
    z = q[node.input[2]].astype(np.float64) if len(node.input) > 2 else np.zeros_like(s, np.float64)
    axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
    if s.ndim == 1:
        shape = [1] * codes.ndim; shape[axis] = -1
        s, z = s.reshape(shape), z.reshape(shape)
    xh = ((codes - z).astype(np.float32) * s).astype(np.float64)
    x = f[name].astype(np.float64)
    e = x - xh
    r = got[name]
    assert r["method"] == "stored" and r["status"] == "ok", r
    want = {"mse": np.mean(e * e), "max_abs_err": np.abs(e).max(), "mae": np.mean(np.abs(e)),
            "sqnr_db": 10 * math.log10((x * x).sum() / (e * e).sum())}
    for col, w in want.items():
        assert abs(float(r[col]) - w) <= 1e-6 * abs(w) + 1e-15, (name, col, r[col], w)
    assert r["whatif_method"] == "minmax" or name.endswith("bias"), r
    checked += 1
assert checked == 8, checked
assert got["conv1.weight"]["qtype"] == "int8" and got["conv1.weight"]["granularity"] == "channel:0"
assert got["fc.bias"]["qtype"] == "int32", got["fc.bias"]
assert float(got["conv1.weight"]["whatif_sqnr_db"]) > 30
print("ok measured", checked)
PYEOF

# A recipe: conv1 in float, conv2 at 4 bits, the rest at the 8-bit default.
printf 'pattern,action,bits,scheme,granularity,method\nconv1.*,keep-float,,,,\nconv2.weight,quantize,4,,,\n' >r.csv
run_rc 0 "$QSCOPE" quantize d/demo_float.onnx -o out.onnx --recipe r.csv
"$PY" - <<'PYEOF'
import numpy as np, onnx
from onnx import numpy_helper
f = {i.name: numpy_helper.to_array(i) for i in onnx.load("d/demo_float.onnx").graph.initializer}
m = onnx.load("out.onnx")
init = {i.name: i for i in m.graph.initializer}
assert "conv1.weight" in init and np.array_equal(numpy_helper.to_array(init["conv1.weight"]), f["conv1.weight"])
assert not any(n.startswith("conv1.weight_") for n in init), sorted(init)
dq = {n.output[0]: n for n in m.graph.node if n.op_type == "DequantizeLinear"}
assert "conv1.weight" not in dq and "conv2.weight" in dq and "fc.weight" in dq, sorted(dq)

def codes(t):
    if t.data_type == 22:                        # INT4: two per byte, low nibble first
        b = np.frombuffer(t.raw_data, np.uint8)
        nib = np.stack([b & 15, b >> 4], axis=1).ravel()[: int(np.prod(t.dims))].astype(np.int64)
        return np.where(nib > 7, nib - 16, nib).reshape(t.dims), 4
    assert t.data_type == 3, t.data_type         # INT8
    return numpy_helper.to_array(t).astype(np.int64), 8

for name, bits in (("conv2.weight", 4), ("fc.weight", 8)):
    q, b = codes(init[dq[name].input[0]])
    assert b == bits, (name, b)
    assert q.min() >= -(1 << (bits - 1)) and q.max() <= (1 << (bits - 1)) - 1
    s = numpy_helper.to_array(init[dq[name].input[1]]).astype(np.float32)
    shape = [1] * q.ndim; shape[0] = -1
    xh = (q.astype(np.float32) * s.reshape(shape)).astype(np.float32)
    x = f[name]
    step = np.abs(x).reshape(x.shape[0], -1).max(axis=1) / ((2 ** bits - 1) / 2)
    assert np.all(np.abs(xh - x).reshape(x.shape[0], -1).max(axis=1) <= step * 0.5 + 1e-6), name
print("ok written")
PYEOF
run_rc 0 "$QSCOPE" inspect out.onnx
grep -q "conv2.weight_quantized.*quant 4-bit" "$T/out" || fail "inspect: $(cat "$T/out")"

# --like: keep the int8 model's structure (activation Q/DQ, int32 biases,
# each weight's layout), replace the weights' codes and scales with the
# chosen method. The written weights measure exactly as the what-if column
# predicted where the stored layout is the what-if's (per channel).
run_rc 0 "$QSCOPE" quantize d/demo_float.onnx -o like.onnx --like d/demo_int8.onnx --method mse
run_rc 0 "$QSCOPE" report d/demo_float.onnx d/demo_int8.onnx --method mse --csv pred.csv --quiet
run_rc 0 "$QSCOPE" report d/demo_float.onnx like.onnx --csv got.csv --quiet
"$PY" - <<'PYEOF'
import csv, onnx
ops = lambda p: [n.op_type for n in onnx.load(p).graph.node]
assert ops("like.onnx") == ops("d/demo_int8.onnx"), (ops("like.onnx"), ops("d/demo_int8.onnx"))
pred = {r["tensor"]: r for r in csv.DictReader(open("pred.csv", newline=""))}
got = {r["tensor"]: r for r in csv.DictReader(open("got.csv", newline=""))}
# --like keeps each tensor's stored layout; where it is per channel (as the
# what-if), the figures must agree exactly
same = [n for n in ("conv1.weight", "conv2.weight", "dw3.weight", "fc.weight")
        if pred[n]["granularity"].startswith("channel")]
assert len(same) == 3, same
for name in same:
    p, g = float(pred[name]["whatif_sqnr_db"]), float(got[name]["sqnr_db"])
    assert abs(p - g) <= 1e-9 * abs(p), (name, p, g)
print("ok like")
PYEOF

# Blocked int4 (group:8): blocks run along the reduction axis the graph
# gives (Gemm with transB: axis 1), the written DequantizeLinear says so, and
# the written model measures exactly as simulated.
run_rc 0 "$QSCOPE" quantize d/demo_float.onnx -o g.onnx --bits 4 --granularity group:8
run_rc 0 "$QSCOPE" report d/demo_float.onnx g.onnx --bits 4 --granularity group:8 --csv g.csv --quiet
"$PY" - <<'PYEOF'
import csv, onnx
m = onnx.load("g.onnx")
dq = {n.output[0]: {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
      for n in m.graph.node if n.op_type == "DequantizeLinear"}
assert dq["fc.weight"].get("axis") == 1 and dq["fc.weight"].get("block_size") == 8, dq["fc.weight"]
assert dq["conv2.weight"].get("axis") == 1 and dq["conv2.weight"].get("block_size") == 8, dq
rows = {r["tensor"]: r for r in csv.DictReader(open("g.csv", newline=""))}
for n in ("conv1.weight", "conv2.weight", "fc.weight"):
    assert rows[n]["granularity"].startswith("group:8") and rows[n]["sqnr_db"] == rows[n]["whatif_sqnr_db"], rows[n]
print("ok blocked")
PYEOF

ort=${QSCOPE_SRC:-}/share/setup/node_modules/onnxruntime-node
if [ -n "${QSCOPE_SRC:-}" ] && [ -d "$ort" ] && command -v node >/dev/null; then
	cat >run.js <<'JS'
const ort = require(process.argv[2]);
(async () => {
  const s = await ort.InferenceSession.create(process.argv[3]);
  const dims = [1, 3, 32, 32], n = dims.reduce((a, b) => a * b);
  const x = new Float32Array(n).map((_, i) => Math.sin(i) * 0.5 + 0.5);
  const r = await s.run({ image: new ort.Tensor('float32', x, dims) });
  console.log(Array.from(r.logits.data).join(' '));
})().catch((e) => { console.error(String(e)); process.exit(1); });
JS
	node run.js "$ort" out.onnx >q.txt || fail "ONNX Runtime cannot run the written model"
	node run.js "$ort" like.onnx >/dev/null || fail "ONNX Runtime cannot run the --like model"
	node run.js "$ort" g.onnx >/dev/null || fail "ONNX Runtime cannot run the blocked int4 model"
	node run.js "$ort" d/demo_float.onnx >f.txt
	"$PY" -c "
import numpy as np
q, f = np.loadtxt('q.txt'), np.loadtxt('f.txt')
assert q.shape == f.shape == (10,) and np.all(np.isfinite(q))
assert np.abs(q - f).max() < 0.1 * np.abs(f).max() + 0.05, (q, f)"
fi
