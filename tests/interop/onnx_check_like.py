"""Check a model written with `qscope quantize FLOAT --like QUANT --method mse`:
its nodes (op, inputs, outputs, attributes) and initializers (names, types,
shapes) are those of QUANT, and for every DequantizeLinear weight the error
against the float weight (numpy: (q − zp)·s) is no larger than QUANT's
(minmax) beyond 1 %: mse starts from minmax (range.h), but measured here
through the written codes one uint8 per-tensor BlazeFace tensor came out
0.3 % worse, so the check leaves that margin and counts the improvements.
Usage: onnx_check_like.py FLOAT.onnx QUANT.onnx LIKE.onnx"""
import sys

import numpy as np
import onnx
from qs_fixtures import onnx_floats, onnx_inits


def deq(model, node):
    init = onnx_inits(model)
    q = init[node.input[0]].astype(np.float64)
    s = init[node.input[1]].astype(np.float32)
    z = init[node.input[2]].astype(np.float64) if len(node.input) > 2 and node.input[2] else 0
    axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
    shape = [1] * q.ndim
    if np.ndim(s):
        shape[axis] = -1
        s = s.reshape(shape)
        z = np.reshape(z, shape) if np.ndim(z) else z
    return ((q - z).astype(np.float32) * s).astype(np.float32)


fm, qm, lm = (onnx.load(p) for p in sys.argv[1:4])
def tsig(t):
    return (t.name, t.data_type, tuple(t.dims))


def gsig(g):
    # graph structure without tensor contents, subgraphs included
    nodes = []
    for n in g.node:
        attrs = []
        for a in n.attribute:
            attrs.append((a.name, a.type, a.i, a.f, tuple(a.ints), tuple(a.floats), a.s,
                          tsig(a.t) if a.HasField("t") else None,
                          gsig(a.g) if a.HasField("g") else None,
                          tuple(gsig(x) for x in a.graphs)))
        nodes.append((n.op_type, n.domain, tuple(n.input), tuple(n.output), tuple(attrs)))
    return (tuple(nodes), tuple(tsig(t) for t in g.initializer))


if gsig(qm.graph) != gsig(lm.graph) or qm.opset_import != lm.opset_import:
    sys.exit("--like output differs in structure from the model it follows")
fw = onnx_floats(fm)
qn = {n.output[0]: n for n in qm.graph.node if n.op_type == "DequantizeLinear"}
better = checked = 0
for n in lm.graph.node:
    if n.op_type != "DequantizeLinear" or n.output[0] not in fw:
        continue
    if next(t for t in lm.graph.initializer if t.name == n.input[0]).data_type == onnx.TensorProto.INT32:
        continue  # a bias: its scale s_in·s_w follows the weight's, not a method
    w = fw[n.output[0]].astype(np.float64)
    e_like = ((w - deq(lm, n)) ** 2).sum()
    e_q = ((w - deq(qm, qn[n.output[0]])) ** 2).sum()
    if e_like > e_q * 1.01 + 1e-30:
        sys.exit(f"{n.output[0]}: mse error {e_like:.6g} > minmax error {e_q:.6g}")
    checked += 1
    better += e_like < e_q
print(f"--like: same structure; {checked} weights, {better} with a smaller error than minmax")
