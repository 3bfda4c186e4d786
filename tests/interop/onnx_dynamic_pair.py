"""Build a float model and its ONNX Runtime dynamic-quantization form with
python3-onnx's helper (ConvInteger / MatMulInteger after
DynamicQuantizeLinear, weights W_quantized / W_scale / W_zero_point, per-tensor
uint8, the weight scale multiplied in after a Cast), as ONNX Runtime's
quantize_dynamic writes it. Writes DIR/float.onnx, DIR/dyn.onnx and
DIR/expected.csv (tensor,sqnr_db from numpy: x̂ = (q − zp)·scale in float32)."""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1]
rng = np.random.default_rng(7)
weights = {
    "conv.weight": rng.normal(0, 0.2, (4, 3, 3, 3)).astype(np.float32),
    "fc.weight": rng.laplace(0, 0.1, (64, 5)).astype(np.float32),
}
bias = rng.normal(0, 0.1, 4).astype(np.float32)


def quantize(w):
    # ONNX Runtime's uint8 asymmetric per-tensor weight quantization
    rmin, rmax = min(float(w.min()), 0.0), max(float(w.max()), 0.0)
    scale = np.float32((rmax - rmin) / 255.0)
    zp = np.uint8(np.clip(np.rint(-rmin / scale), 0, 255))
    q = np.clip(np.rint(w / scale) + zp, 0, 255).astype(np.uint8)
    return q, scale, zp


def sqnr(w, q, scale, zp):
    xh = ((q.astype(np.float32) - np.float32(zp)) * scale).astype(np.float32)
    w64, e = w.astype(np.float64), (w.astype(np.float64) - xh.astype(np.float64))
    return 10 * np.log10((w64 ** 2).sum() / (e ** 2).sum())


x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
conv_attrs = dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1])

# float model
fn = [
    helper.make_node("Conv", ["x", "conv.weight", "conv.bias"], ["c"], **conv_attrs),
    helper.make_node("Reshape", ["c", "shape"], ["r"]),
    helper.make_node("MatMul", ["r", "fc.weight"], ["y"]),
]
finit = [numpy_helper.from_array(w, n) for n, w in weights.items()]
finit += [numpy_helper.from_array(bias, "conv.bias"),
          numpy_helper.from_array(np.array([4, 64], np.int64), "shape")]
fm = helper.make_model(helper.make_graph(fn, "f", [x], [y], finit),
                       opset_imports=[helper.make_opsetid("", 13)])
onnx.save(fm, f"{out}/float.onnx")

# dynamic-quantized model
qinit, rows = [], []
for n, w in weights.items():
    q, s, z = quantize(w)
    qinit += [numpy_helper.from_array(q, n + "_quantized"),
              numpy_helper.from_array(np.array(s, np.float32), n + "_scale"),
              numpy_helper.from_array(np.array(z, np.uint8), n + "_zero_point")]
    rows.append((n, sqnr(w, q, s, z)))
qinit += [numpy_helper.from_array(bias, "conv.bias"),
          numpy_helper.from_array(np.array([4, 64], np.int64), "shape"),
          numpy_helper.from_array(np.array([1, 4, 1, 1], np.int64), "bshape")]
qn = [
    helper.make_node("DynamicQuantizeLinear", ["x"], ["x_q", "x_scale", "x_zp"]),
    helper.make_node("ConvInteger", ["x_q", "conv.weight_quantized", "x_zp",
                                     "conv.weight_zero_point"], ["c_i32"], **conv_attrs),
    helper.make_node("Cast", ["c_i32"], ["c_f"], to=TensorProto.FLOAT),
    helper.make_node("Mul", ["x_scale", "conv.weight_scale"], ["c_s"]),
    helper.make_node("Mul", ["c_f", "c_s"], ["c_nb"]),
    helper.make_node("Reshape", ["conv.bias", "bshape"], ["b4"]),
    helper.make_node("Add", ["c_nb", "b4"], ["c"]),
    helper.make_node("Reshape", ["c", "shape"], ["r"]),
    helper.make_node("DynamicQuantizeLinear", ["r"], ["r_q", "r_scale", "r_zp"]),
    helper.make_node("MatMulInteger", ["r_q", "fc.weight_quantized", "r_zp",
                                       "fc.weight_zero_point"], ["m_i32"]),
    helper.make_node("Cast", ["m_i32"], ["m_f"], to=TensorProto.FLOAT),
    helper.make_node("Mul", ["r_scale", "fc.weight_scale"], ["m_s"]),
    helper.make_node("Mul", ["m_f", "m_s"], ["y"]),
]
qm = helper.make_model(helper.make_graph(qn, "q", [x], [y], qinit),
                       opset_imports=[helper.make_opsetid("", 13)])
onnx.save(qm, f"{out}/dyn.onnx")
with open(f"{out}/expected.csv", "w") as f:
    for n, v in rows:
        f.write(f"{n},{v:.17g}\n")
