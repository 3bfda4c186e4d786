"""Build a float model and two QDQ forms of it with python3-onnx's helper:
qdq.onnx stores int8 weights (`<w>_quantized` + DequantizeLinear, per
channel on axis 0 for Conv, per column on axis 1 for MatMul, as ONNX
Runtime's QDQ quantizer writes them); fake.onnx keeps the float weights and
quantizes them at run time (QuantizeLinear → DequantizeLinear, as
fake-quant exports write them). Writes DIR/{float,qdq,fake}.onnx and
DIR/expected.csv (tensor,sqnr_db from numpy: q = clip(rint(w/s), −128, 127),
x̂ = q·s in float32, s = max|w| / 127 per channel)."""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1]
rng = np.random.default_rng(11)
w = {"conv.weight": (rng.normal(0, 0.3, (6, 3, 3, 3)).astype(np.float32), 0),
     "fc.weight": (rng.laplace(0, 0.05, (96, 7)).astype(np.float32), 1)}


def params(x, axis):
    red = tuple(d for d in range(x.ndim) if d != axis)
    s = (np.abs(x).max(axis=red) / np.float32(127)).astype(np.float32)
    shape = [1] * x.ndim
    shape[axis] = -1
    q = np.clip(np.rint(x / s.reshape(shape)), -128, 127).astype(np.int8)
    xh = (q.astype(np.float32) * s.reshape(shape)).astype(np.float32)
    e = x.astype(np.float64) - xh
    return s, q, 10 * np.log10((x.astype(np.float64) ** 2).sum() / (e ** 2).sum())


x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
shape = numpy_helper.from_array(np.array([1, 96], np.int64), "shape")


def graph(conv_w, fc_w, extra_nodes, extra_init):
    nodes = extra_nodes + [
        helper.make_node("Conv", ["x", conv_w], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Reshape", ["c", "shape"], ["r"]),
        helper.make_node("MatMul", ["r", fc_w], ["y"]),
    ]
    g = helper.make_graph(nodes, "g", [x], [y], extra_init + [shape])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


onnx.save(graph("conv.weight", "fc.weight", [],
                [numpy_helper.from_array(v, n) for n, (v, _) in w.items()]), f"{out}/float.onnx")
qn, qi, fn, fi, rows = [], [], [], [], []
for n, (v, axis) in w.items():
    s, q, sq = params(v, axis)
    z = np.zeros_like(s, dtype=np.int8)
    rows.append((n, sq))
    qi += [numpy_helper.from_array(q, n + "_quantized"), numpy_helper.from_array(s, n + "_scale"),
           numpy_helper.from_array(z, n + "_zero_point")]
    qn.append(helper.make_node("DequantizeLinear", [n + "_quantized", n + "_scale", n + "_zero_point"],
                               [n + "_DequantizeLinear_Output"], axis=axis))
    fi += [numpy_helper.from_array(v, n), numpy_helper.from_array(s, n + "_scale"),
           numpy_helper.from_array(z, n + "_zero_point")]
    fn += [helper.make_node("QuantizeLinear", [n, n + "_scale", n + "_zero_point"], [n + "_q"], axis=axis),
           helper.make_node("DequantizeLinear", [n + "_q", n + "_scale", n + "_zero_point"], [n + "_dq"],
                            axis=axis)]
onnx.save(graph("conv.weight_DequantizeLinear_Output", "fc.weight_DequantizeLinear_Output", qn, qi),
          f"{out}/qdq.onnx")
onnx.save(graph("conv.weight_dq", "fc.weight_dq", fn, fi), f"{out}/fake.onnx")
with open(f"{out}/expected.csv", "w") as f:
    for n, v in rows:
        f.write(f"{n},{v:.17g}\n")
