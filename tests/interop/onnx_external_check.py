"""Check an ONNX model written with external data against its inline twin.

Usage: onnx_external_check.py INLINE.onnx EXTERNAL.onnx

python3-onnx is the reference reader: the external model must load with its
data (onnx.load) and pass onnx.checker; every initializer (subgraphs too)
must have the same name, type, dims and values as the inline twin's. Entry
rules (docs/formats.md §1.3): a tensor of >= 1024 bytes is EXTERNAL with
location = "<model file name>.data", offset a multiple of 4096, length equal
to its byte size, and no `basepath`; a smaller tensor is inline. Regions in
the data file do not overlap and lie inside it. Exit 1 with a message on the
first failure.
"""
import os
import sys

import onnx
from onnx import numpy_helper


def graphs(g):
    yield g
    for n in g.node:
        for a in n.attribute:
            if a.HasField("g"):
                yield from graphs(a.g)
            for sg in a.graphs:
                yield from graphs(sg)


def initializers(m):
    out = {}
    for g in graphs(m.graph):
        for t in g.initializer:
            out[t.name] = t
    return out


def main():
    ref_path, ext_path = sys.argv[1], sys.argv[2]
    data_name = os.path.basename(ext_path) + ".data"
    data_size = os.path.getsize(os.path.join(os.path.dirname(ext_path), data_name))
    raw = onnx.load(ext_path, load_external_data=False)
    regions = []
    nexternal = 0
    for name, t in initializers(raw).items():
        entries = {e.key: e.value for e in t.external_data}
        if t.data_location == onnx.TensorProto.EXTERNAL:
            nexternal += 1
            assert "basepath" not in entries, "%s: basepath written" % name
            assert entries.get("location") == data_name, "%s: location %r" % (
                name, entries.get("location"))
            off, length = int(entries["offset"]), int(entries["length"])
            assert off % 4096 == 0, "%s: offset %d not a multiple of 4096" % (name, off)
            assert length >= 1024, "%s: %d bytes written external" % (name, length)
            assert off + length <= data_size, "%s: past the data file" % name
            regions.append((off, length, name))
        else:
            assert not entries, "%s: external entries on an inline tensor" % name
            assert len(t.raw_data) < 1024 or not t.raw_data, \
                "%s: %d bytes left inline" % (name, len(t.raw_data))
    assert nexternal > 0, "no external tensor"
    regions.sort()
    for (o1, l1, n1), (o2, _, n2) in zip(regions, regions[1:]):
        assert o1 + l1 <= o2, "%s and %s overlap" % (n1, n2)

    onnx.checker.check_model(ext_path)
    ext = initializers(onnx.load(ext_path))
    ref = initializers(onnx.load(ref_path))
    assert sorted(ext) == sorted(ref), "initializer names differ"
    for name, t in ref.items():
        a, b = numpy_helper.to_array(t), numpy_helper.to_array(ext[name])
        assert a.dtype == b.dtype and a.shape == b.shape, "%s: type or shape differs" % name
        assert a.tobytes() == b.tobytes(), "%s: values differ" % name
        if t.data_location != onnx.TensorProto.EXTERNAL and ext[name].data_location == \
                onnx.TensorProto.EXTERNAL:
            length = int({e.key: e.value for e in ext[name].external_data}["length"])
            assert length == a.nbytes, "%s: length %d, want %d" % (name, length, a.nbytes)
    print("  %s: %d external tensors, %d bytes of data, checker ok, %d initializers equal" %
          (os.path.relpath(ext_path, os.path.dirname(os.path.dirname(os.path.dirname(ext_path)))),
           nexternal, data_size, len(ref)))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (AssertionError, onnx.checker.ValidationError, OSError, KeyError, ValueError) as e:
        print("FAIL %s: %s" % (sys.argv[2], e))
        sys.exit(1)
