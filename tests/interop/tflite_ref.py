#!/usr/bin/python3
"""An independent TFLite reader for qscope's interop tests: FlatBuffers walked
by hand in Python (uoffsets, vtables, vectors; the field ids of
docs/formats.md §4.2), tensor values with numpy, and a numpy reimplementation
of per-channel symmetric minmax quantization.

  tflite_ref.py tensors MODEL          one JSON line per tensor with data:
                                       name, type, shape, offset, nbytes, role,
                                       op, axis, k
  tflite_ref.py check-inspect MODEL TABLE
        qscope inspect's table lists exactly these tensors, with the same
        dtype, shape, role, op, axis and K
  tflite_ref.py check-report MODEL CSV BITS
        the report's mse and max_abs_err of every f16/f32 tensor equal numpy's
        simulation (symmetric narrow minmax per channel along the graph's
        axis; biases kept in float, qscope's default) to 1e-9 relative
  tflite_ref.py check-write IN OUT BITS
        OUT equals IN byte for byte outside the float tensors' data, and each
        float tensor's data is numpy's x̂ in the tensor's own type, bit for bit
"""
import csv
import json
import math
import struct
import sys

import numpy as np

TYPES = {0: ("f32", np.float32), 1: ("f16", np.float16), 2: ("i32", np.int32),
         3: ("u8", np.uint8), 4: ("i64", np.int64), 7: ("i16", np.int16),
         9: ("i8", np.int8), 10: ("f64", np.float64)}
OPS = {3: "CONV_2D", 4: "DEPTHWISE_CONV_2D", 9: "FULLY_CONNECTED", 0: "ADD",
       34: "PAD", 22: "RESHAPE", 2: "CONCATENATION", 17: "MAX_POOL_2D", 19: "RELU",
       6: "DEQUANTIZE"}


class Table:
    def __init__(self, buf, pos):
        self.b, self.pos = buf, pos
        self.vt = pos - struct.unpack_from("<i", buf, pos)[0]
        self.vsize = struct.unpack_from("<H", buf, self.vt)[0]

    def _off(self, fid):
        slot = 4 + 2 * fid
        return struct.unpack_from("<H", self.b, self.vt + slot)[0] if slot < self.vsize else 0

    def scalar(self, fid, fmt, default):
        o = self._off(fid)
        return struct.unpack_from("<" + fmt, self.b, self.pos + o)[0] if o else default

    def _ref(self, fid):
        o = self._off(fid)
        if not o:
            return None
        at = self.pos + o
        return at + struct.unpack_from("<I", self.b, at)[0]

    def vector(self, fid):
        r = self._ref(fid)
        return (0, 0) if r is None else (struct.unpack_from("<I", self.b, r)[0], r + 4)

    def tables(self, fid):
        n, p = self.vector(fid)
        return [Table(self.b, p + 4 * k + struct.unpack_from("<I", self.b, p + 4 * k)[0])
                for k in range(n)]

    def ints(self, fid):
        n, p = self.vector(fid)
        return list(struct.unpack_from("<%di" % n, self.b, p)) if n else []

    def string(self, fid):
        n, p = self.vector(fid)
        return self.b[p:p + n].decode()


def read(path):
    buf = open(path, "rb").read()
    assert buf[4:8] == b"TFL3", "not a TFLite file"
    model = Table(buf, struct.unpack_from("<I", buf, 0)[0])
    codes = [max(oc.scalar(0, "b", 0), oc.scalar(3, "i", 0)) for oc in model.tables(1)]
    buffers = model.tables(4)
    out = []
    for sg in model.tables(2)[:1]:
        ts = sg.tables(0)
        info = []
        for j, t in enumerate(ts):
            b = t.scalar(2, "I", 0)
            n, p = buffers[b].vector(0) if b else (0, 0)
            info.append({"name": t.string(3) or "tensor%d" % j, "type": t.scalar(1, "b", 0),
                         "shape": t.ints(0), "offset": p, "nbytes": n, "role": "other",
                         "op": None, "axis": None, "k": None})
        ops = [(codes[op.scalar(0, "I", 0)], op.ints(1), op.ints(2)) for op in sg.tables(3)]
        deq = {o[0]: i[0] for c, i, o in ops if c == 6}
        for c, ins, _ in ops:
            if c in (3, 4, 9) and len(ins) > 1:
                w = info[deq.get(ins[1], ins[1])]
                shape = w["shape"]
                w.update(role="weight", op=OPS[c], axis=3 if c == 4 else 0,
                         k=int(np.prod(shape[1:3] if c == 4 else shape[1:])))
                if len(ins) > 2 and ins[2] >= 0:
                    info[deq.get(ins[2], ins[2])].update(role="bias", op=OPS[c], axis=0)
            for x in ins:
                if x >= 0:
                    t = info[deq.get(x, x)]
                    if t["op"] is None and c != 6:
                        t["op"] = OPS.get(c)
        out = [t for t in info if t["nbytes"]]
    return buf, out


def values(buf, t):
    dt = TYPES[t["type"]][1]
    a = np.frombuffer(buf, dtype=dt, count=int(np.prod(t["shape"])), offset=t["offset"])
    return a.reshape(t["shape"])


def simulate(x, axis, bits):
    """Symmetric narrow minmax per channel, float32 as the runtimes do."""
    x = x.astype(np.float32)
    qmax = np.float32(2 ** (bits - 1) - 1)
    xm = np.moveaxis(x, axis, 0).reshape(x.shape[axis], -1)
    amax = np.max(np.abs(xm), axis=1).astype(np.float32)
    s = (amax / qmax).astype(np.float32)
    s[~(s >= np.float32(np.finfo(np.float32).tiny))] = np.float32(1)
    # integer codes as the writers store them (no −0.0)
    q = np.clip(np.rint((xm / s[:, None]).astype(np.float32)), -qmax, qmax).astype(np.int32)
    xh = (q.astype(np.float32) * s[:, None]).astype(np.float32)
    shape = [x.shape[axis]] + [d for i, d in enumerate(x.shape) if i != axis]
    return np.moveaxis(xh.reshape(shape), 0, axis)


def axis_of(t):
    return t["axis"] if t["axis"] is not None else 0


def floats(ts):
    return [t for t in ts if t["type"] in (0, 1)]


def xhat(buf, t, bits):
    """qscope's defaults keep biases in float (x̂ = x); weights per channel."""
    x = values(buf, t)
    return x if t["role"] == "bias" else simulate(x, axis_of(t), bits)


def check_inspect(path, table):
    _, ts = read(path)
    lines = [ln.split() for ln in open(table) if ln.strip()][1:]
    got = {ln[0]: ln for ln in lines}
    assert len(lines) == len(ts), "qscope lists %d tensors, the file has %d" % (len(lines), len(ts))
    for t in ts:
        g = got[t["name"]]
        shape = "x".join(str(d) for d in t["shape"]) if t["shape"] else ""
        assert g[1] == TYPES[t["type"]][0], (t["name"], g[1])
        assert g[2] == shape, (t["name"], g[2], shape)
        assert int(g[3]) == int(np.prod(t["shape"])), t["name"]
        text = " ".join(g[4:])
        if t["role"] == "weight":
            want = "weight of %s axis %d K %d" % (t["op"], t["axis"], t["k"])
            assert want in text, (t["name"], text, want)
        elif t["role"] == "bias":
            assert "bias of %s" % t["op"] in text, (t["name"], text)
        else:
            assert "other of %s" % t["op"] in text, (t["name"], text)
    print("inspect: %d tensors, %d weights, %d biases agree" % (
        len(ts), sum(t["role"] == "weight" for t in ts), sum(t["role"] == "bias" for t in ts)))


def close(a, b, rel=1e-9):
    a, b = float(a), float(b)
    return a == b or abs(a - b) <= rel * max(abs(b), 1e-300)


def check_report(path, csv_path, bits):
    buf, ts = read(path)
    rows = {r["tensor"]: r for r in csv.DictReader(open(csv_path, newline=""))}
    n = 0
    for t in floats(ts):
        x = values(buf, t).astype(np.float32)
        xh = xhat(buf, t, bits).astype(np.float32)
        d = x.astype(np.float64) - xh.astype(np.float64)
        mse, mx = float(np.mean(d * d)), float(np.max(np.abs(d)))
        r = rows[t["name"]]
        assert (r["method"] == "keep-float") == (t["role"] == "bias"), (t["name"], r["method"])
        assert close(r["mse"], mse) and close(r["max_abs_err"], mx), (t["name"], r["mse"], mse)
        n += 1
    print("report: mse and max_abs_err of %d tensors equal numpy's" % n)


def check_write(src, out, bits):
    a, ts = read(src)
    b, ts2 = read(out)
    assert len(a) == len(b), "sizes differ"
    assert [(t["name"], t["offset"], t["nbytes"]) for t in ts] == \
           [(t["name"], t["offset"], t["nbytes"]) for t in ts2]
    mask = np.ones(len(a), dtype=bool)
    for t in floats(ts):
        mask[t["offset"]:t["offset"] + t["nbytes"]] = False
        want = xhat(a, t, bits).astype(TYPES[t["type"]][1])
        got = values(b, t)
        assert got.tobytes() == want.tobytes(), "%s: values differ" % t["name"]
    av, bv = np.frombuffer(a, np.uint8), np.frombuffer(b, np.uint8)
    assert np.array_equal(av[mask], bv[mask]), "bytes outside the float tensors changed"
    changed = int(np.count_nonzero(av != bv))
    print("write: %d float tensors equal numpy's x̂ bit for bit; %d bytes changed, "
          "all inside them; %d bytes identical" % (len(floats(ts)), changed, int(mask.sum())))


def main():
    cmd = sys.argv[1]
    if cmd == "tensors":
        for t in read(sys.argv[2])[1]:
            print(json.dumps(t))
    elif cmd == "check-inspect":
        check_inspect(sys.argv[2], sys.argv[3])
    elif cmd == "check-report":
        check_report(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif cmd == "check-write":
        check_write(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
