"""The bias-overflow case reported for Samsung/ONE, built with python3-onnx:
a Conv whose output channel 3 has weights all about 1e-30 (the other
channels normal) and bias −1.2156529426574707, behind an int16
QuantizeLinear/DequantizeLinear of its input (scale 1e-4, opset 21).
Usage: onnx_one_bias.py OUT.onnx   |   onnx_one_bias.py --bias WRITTEN.onnx
(the second form prints the written model's dequantized bias, channel 3,
computed here with numpy as q · scale of the bias DequantizeLinear)."""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from qs_fixtures import onnx_inits

if sys.argv[1] == "--bias":
    m = onnx.load(sys.argv[2])
    init = onnx_inits(m)
    dq = next(n for n in m.graph.node if n.op_type == "DequantizeLinear" and n.output[0] == "B")
    q = init[dq.input[0]].astype(np.float64)
    s = init[dq.input[1]].astype(np.float32)
    zp = init[dq.input[2]].astype(np.float64) if len(dq.input) > 2 and dq.input[2] else 0.0
    b = ((q - zp) * s).astype(np.float32)
    print(f"{float(b[3]):.9g}")
    sys.exit(0)

rng = np.random.default_rng(3)
w = rng.normal(0, 0.5, (4, 8, 3, 3)).astype(np.float32)
w[3] = (rng.normal(0, 1, (8, 3, 3)) * 1e-30).astype(np.float32)
b = np.array([0.1, -0.2, 0.3, -1.2156529426574707], np.float32)
nodes = [
    helper.make_node("QuantizeLinear", ["x", "x_scale", "x_zero_point"], ["xq"]),
    helper.make_node("DequantizeLinear", ["xq", "x_scale", "x_zero_point"], ["xd"]),
    helper.make_node("Conv", ["xd", "W", "B"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
]
init = [numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "B"),
        numpy_helper.from_array(np.array(1e-4, np.float32), "x_scale"),
        numpy_helper.from_array(np.array(0, np.int16), "x_zero_point")]
g = helper.make_graph(nodes, "one", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 6, 6])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], init)
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 21)])
m.ir_version = 10
onnx.save(m, sys.argv[1])
