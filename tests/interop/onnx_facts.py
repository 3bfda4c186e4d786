"""Expected graph facts of the weights of Conv, ConvTranspose, Gemm and MatMul
nodes (main graph and subgraphs; weight = an initializer or Constant output),
worked out with python3-onnx from the ONNX operator definitions: Conv
W[M, C/g, k...] → output axis 0, K = C/g·Πk; Gemm B → axis 1, K = B.shape[0]
(transB: axis 0, K = B.shape[1]); MatMul B[K, N] → axis 1, K = B.shape[0].
Compares them with the lines of `qscope inspect MODEL` read from stdin
("<name> ... weight of <op> axis <a> K <k>"). Prints the number checked."""
import re
import sys

import numpy as np
import onnx
from onnx import numpy_helper

model = onnx.load(sys.argv[1], load_external_data=False)


def shapes(g, out):
    for t in g.initializer:
        out[t.name] = list(t.dims)
    for n in g.node:
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value":
                    out[n.output[0]] = list(a.t.dims)
        for a in n.attribute:
            if a.HasField("g"):
                shapes(a.g, out)
            for sg in a.graphs:
                shapes(sg, out)
    return out


def expected(g, dims, out):
    for n in g.node:
        w = n.input[1] if len(n.input) > 1 else None
        if w in dims and w not in out:
            d = dims[w]
            attrs = {a.name: a for a in n.attribute}
            if n.op_type == "Conv" and len(d) >= 2:
                out[w] = (n.op_type, 0, int(np.prod(d[1:])))
            elif n.op_type == "Gemm" and len(d) == 2:
                tb = attrs["transB"].i if "transB" in attrs else 0
                out[w] = (n.op_type, 0 if tb else 1, d[1] if tb else d[0])
            elif n.op_type == "MatMul" and len(d) == 2:
                out[w] = (n.op_type, 1, d[0])
        for a in n.attribute:
            if a.HasField("g"):
                expected(a.g, dims, out)
            for sg in a.graphs:
                expected(sg, dims, out)
    return out


want = expected(model.graph, shapes(model.graph, {}), {})
got = {}
pat = re.compile(r"^(\S+)\s.*\sweight of (\S+) axis (-?\d+) K (\d+)")
for line in sys.stdin:
    m = pat.match(line)
    if m:
        got[m.group(1)] = (m.group(2), int(m.group(3)), int(m.group(4)))
bad = [f"{k}: want {v}, qscope {got.get(k)}" for k, v in want.items() if got.get(k) != v]
if bad or not want:
    sys.exit("\n".join(bad) or "no weights found")
print(f"{len(want)} weights: op, output-channel axis and K as expected")
