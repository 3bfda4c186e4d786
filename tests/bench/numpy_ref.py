#!/usr/bin/python3
"""The numpy side of the qscope benchmark: what a user's script does.

Usage: numpy_ref.py [--no-hist] MODEL.{safetensors,gguf} [CSV_OUT]
Per tensor (2-D tensors per output channel = row, 1-D per tensor): symmetric
int8 min/max quantization as qscope's default (scale = amax / 127.5 in
float32, codes -128..127, round half to even), then MSE, SQNR, max abs error,
cosine, a 2048-bin histogram of x and the entropy of the code histogram.
--no-hist leaves out the 2048-bin histogram of x (qscope's report builds
none: nothing it prints needs one), to show what that part costs.
Tensors are read through np.memmap one at a time.  Optional CSV: tensor,
ndim, sqnr_db, max_abs_err, entropy_bits (the benchmark compares the 2-D
ones with qscope; qscope gives a 1-D tensor one channel per element).
"""
import json
import struct
import sys

import numpy as np


def st_tensors(path):
    with open(path, "rb") as f:
        hlen = struct.unpack("<Q", f.read(8))[0]
        meta = json.loads(f.read(hlen))
    base = 8 + hlen
    dts = {"F32": np.float32, "F16": np.float16}
    for name, m in meta.items():
        if name == "__metadata__":
            continue
        a, b = m["data_offsets"]
        yield name, np.memmap(path, dtype=dts[m["dtype"]], mode="r", offset=base + a,
                              shape=tuple(m["shape"]))


def gguf_tensors(path):
    with open(path, "rb") as f:
        buf = f.read(1 << 20)
    pos = 4

    def take(fmt):
        nonlocal pos
        v = struct.unpack_from("<" + fmt, buf, pos)
        pos += struct.calcsize("<" + fmt)
        return v

    def gstr():
        nonlocal pos
        n = take("Q")[0]
        s = buf[pos:pos + n].decode()
        pos += n
        return s

    fmts = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "B", 10: "Q", 11: "q",
            12: "d"}
    _, count, nkv = take("IQQ")
    align = 32
    for _ in range(nkv):
        key, vt = gstr(), take("I")[0]
        if vt == 8:
            val = gstr()
        elif vt == 9:
            et, n = take("IQ")
            for _ in range(n):
                if et == 8:
                    gstr()
                else:
                    take(fmts[et])
            val = None
        else:
            val = take(fmts[vt])[0]
        if key == "general.alignment":
            align = val
    infos = []
    for _ in range(count):
        name = gstr()
        nd = take("I")[0]
        dims = take("Q" * nd)
        gt, off = take("IQ")
        infos.append((name, tuple(reversed(dims)), gt, off))
    data = pos + (-pos % align)
    for name, shape, gt, off in infos:
        dt = {0: np.float32, 1: np.float16}[gt]
        yield name, np.memmap(path, dtype=dt, mode="r", offset=data + off, shape=shape)


def analyse(w):
    x = np.asarray(w, dtype=np.float32)
    rows = x.reshape(x.shape[0], -1) if x.ndim == 2 else x.reshape(1, -1)
    amax = np.maximum(np.abs(rows.min(axis=1)), np.abs(rows.max(axis=1)))
    scale = (amax / np.float32(127.5)).astype(np.float32)
    scale[~(scale >= np.finfo(np.float32).tiny)] = 1.0
    q = np.clip(np.rint(rows / scale[:, None]), -128, 127)
    xhat = (q * scale[:, None]).astype(np.float32)
    d = (rows - xhat).astype(np.float64)
    x64 = rows.astype(np.float64)
    se = float(np.dot(d.ravel(), d.ravel()))
    sx2 = float(np.dot(x64.ravel(), x64.ravel()))
    sy2 = float(np.dot(xhat.ravel().astype(np.float64), xhat.ravel().astype(np.float64)))
    sxy = float(np.dot(x64.ravel(), xhat.ravel().astype(np.float64)))
    mse = se / x.size
    sqnr = float("inf") if se == 0 else 10 * np.log10(sx2 / se)
    maxerr = float(np.abs(d).max())
    cos = sxy / np.sqrt(sx2 * sy2) if sx2 > 0 and sy2 > 0 else 1.0
    hist = np.histogram(rows, bins=2048)[0] if HIST else np.zeros(1)
    codes = np.bincount((q.ravel() + 128).astype(np.int64), minlength=256)
    p = codes[codes > 0] / x.size
    ent = float(-(p * np.log2(p)).sum())
    return mse, sqnr, maxerr, cos, int(hist.sum()), ent


HIST = True


def main():
    global HIST
    if sys.argv[1] == "--no-hist":
        HIST = False
        del sys.argv[1]
    path = sys.argv[1]
    gen = gguf_tensors(path) if path.endswith(".gguf") else st_tensors(path)
    out = open(sys.argv[2], "w") if len(sys.argv) > 2 else None
    if out:
        out.write("tensor,ndim,sqnr_db,max_abs_err,entropy_bits\n")
    for name, w in gen:
        mse, sqnr, maxerr, cos, _, ent = analyse(w)
        if out:
            out.write(f"{name},{w.ndim},{sqnr!r},{maxerr!r},{ent!r}\n")
    if out:
        out.close()


if __name__ == "__main__":
    main()
