"""Helpers shared by the tests/interop Python scripts (imported from the
script's own folder, which Python puts first on sys.path)."""
import sys


def onnx_inits(model):
    """{name: numpy array} of the model's main-graph initializers."""
    from onnx import numpy_helper
    return {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}


def onnx_floats(model):
    """The initializers plus the values of the main graph's Constant nodes."""
    from onnx import numpy_helper
    out = onnx_inits(model)
    for n in model.graph.node:
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value":
                    out[n.output[0]] = numpy_helper.to_array(a.t)
    return out


def run_command(cmds, argv, doc):
    """argv[1] names one of cmds, called with argv[2:]; usage (doc) and 2 otherwise."""
    if len(argv) < 2 or argv[1] not in cmds:
        print(doc, file=sys.stderr)
        return 2
    return cmds[argv[1]](*argv[2:]) or 0
