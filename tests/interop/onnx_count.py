"""Count the float weight tensors of ONNX models with python3-onnx, as an
independent reference for qscope's reader: initializers plus the `value`
tensor of Constant nodes, in the main graph and in every subgraph (If, Loop,
Scan attributes), of element type FLOAT, FLOAT16, DOUBLE or BFLOAT16.
Prints "<count> <path>" per model."""
import sys

import onnx

FLOAT_TYPES = {onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16,
               onnx.TensorProto.DOUBLE, onnx.TensorProto.BFLOAT16}


def count(graph):
    n = sum(1 for t in graph.initializer if t.data_type in FLOAT_TYPES)
    for node in graph.node:
        if node.op_type == "Constant" and node.domain in ("", "ai.onnx"):
            for a in node.attribute:
                if a.name == "value" and a.HasField("t") and a.t.data_type in FLOAT_TYPES:
                    n += 1
        for a in node.attribute:
            if a.HasField("g"):
                n += count(a.g)
            for g in a.graphs:
                n += count(g)
    return n


for path in sys.argv[1:]:
    model = onnx.load(path, load_external_data=False)
    print(count(model.graph), path)
