#!/usr/bin/python3
"""Inputs for the fault and resource tests (tests/faults/*.sh).
Usage: make_inputs.py OUTDIR KIND where KIND is one of
  faults     big.onnx (two 1024x1024 float MatMul weights, 8 MiB) and
             small.onnx (a Conv with weight and bias)
  deep N     deep.onnx: If nested N levels, an initializer at the bottom
  cycle      cycle.onnx: two nodes feeding each other, weights on both
  wide N     wide.onnx: N initializers, each used by its own Add node
  bignpy N   big.npy: a float32 header for N elements, file made sparse to
             full size by the caller (truncate)"""
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper

out, kind = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(8)


def save(m, name):
    m.ir_version = 8
    with open(f"{out}/{name}", "wb") as f:
        f.write(m.SerializeToString())


def vi(name, shape=None):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def opset():
    return [helper.make_opsetid("", 13)]


if kind == "faults":
    w1 = numpy_helper.from_array(rng.standard_normal((1024, 1024)).astype(np.float32), "W1")
    w2 = numpy_helper.from_array(rng.standard_normal((1024, 1024)).astype(np.float32), "W2")
    g = helper.make_graph([helper.make_node("MatMul", ["x", "W1"], ["h"]),
                           helper.make_node("MatMul", ["h", "W2"], ["y"])],
                          "big", [vi("x", [1, 1024])], [vi("y")], initializer=[w1, w2])
    save(helper.make_model(g, opset_imports=opset()), "big.onnx")
    w = numpy_helper.from_array(rng.standard_normal((8, 3, 3, 3)).astype(np.float32), "W")
    b = numpy_helper.from_array(rng.standard_normal(8).astype(np.float32), "B")
    g = helper.make_graph([helper.make_node("Conv", ["x", "W", "B"], ["y"])], "small",
                          [vi("x", [1, 3, 8, 8])], [vi("y")], initializer=[w, b])
    save(helper.make_model(g, opset_imports=opset()), "small.onnx")
elif kind == "deep":
    depth = int(sys.argv[3])
    w = numpy_helper.from_array(rng.standard_normal((4, 4)).astype(np.float32), "Wdeep")
    g = helper.make_graph([helper.make_node("Identity", ["Wdeep"], ["o"])], "g0", [], [vi("o")],
                          initializer=[w])
    leaf = helper.make_graph([helper.make_node("Identity", ["c"], ["o"])], "leaf", [], [vi("o")])
    for i in range(depth):
        n = helper.make_node("If", ["c"], ["o"], then_branch=g, else_branch=leaf)
        g = helper.make_graph([n], f"g{i + 1}", [], [vi("o")])
    top = helper.make_graph(g.node, "top", [helper.make_tensor_value_info("c", TensorProto.BOOL, [])],
                            [vi("o")])
    # python protobuf refuses to serialize past its recursion limit only on parse
    save(helper.make_model(top, opset_imports=opset()), "deep.onnx")
elif kind == "cycle":
    a = numpy_helper.from_array(rng.standard_normal((4, 4)).astype(np.float32), "A")
    b = numpy_helper.from_array(rng.standard_normal((4, 4)).astype(np.float32), "B")
    g = helper.make_graph([helper.make_node("MatMul", ["y2", "A"], ["y1"]),
                           helper.make_node("MatMul", ["y1", "B"], ["y2"]),
                           helper.make_node("Add", ["y2", "x"], ["y"])],
                          "cycle", [vi("x", [4, 4])], [vi("y")], initializer=[a, b])
    save(helper.make_model(g, opset_imports=opset()), "cycle.onnx")
elif kind == "wide":
    n = int(sys.argv[3])
    inits, nodes, prev = [], [], "x"
    for i in range(n):
        inits.append(numpy_helper.from_array(np.full(4, i, np.float32), f"c{i}"))
        nodes.append(helper.make_node("Add", [prev, f"c{i}"], [f"h{i}"]))
        prev = f"h{i}"
    g = helper.make_graph(nodes, "wide", [vi("x", [4])], [vi(prev)], initializer=inits)
    save(helper.make_model(g, opset_imports=opset()), "wide.onnx")
elif kind == "bignpy":
    n = int(sys.argv[3])
    d = repr({"descr": "<f4", "fortran_order": False, "shape": (n,)}).encode()
    h = d + b" " * (-(10 + len(d) + 1) % 64) + b"\n"
    with open(f"{out}/big.npy", "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + len(h).to_bytes(2, "little") + h)
