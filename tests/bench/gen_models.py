#!/usr/bin/python3
"""Write synthetic transformer-like checkpoints for the qscope benchmark.

Usage: gen_models.py OUTDIR SIZE_GB FORMATS
       gen_models.py OUTDIR one:ROWSxCOLS   (one f32 tensor, for the TUI retune)
  FORMATS: comma list of st-f32, st-f16, gguf-f32, gguf-f16.
Each file holds about SIZE_GB GiB of tensor data.  Layers look like a Llama
block (q/k/v/o hidden x hidden, gate/up ffn x hidden, down hidden x ffn, two
norm vectors); hidden=2048/ffn=5632 below 4 GiB, 4096/11008 above.  Weights:
rows drawn from a Gaussian or a Laplace law with a log-normal per-row scale,
a few outlier input channels (x8..x30) and rare single spikes, so quantization
ranges differ per channel as in trained models.  One tensor at a time is held
in memory; files are streamed.
"""
import json
import struct
import sys

import numpy as np

ALIGN = 32


def layer_shapes(hidden, ffn):
    return [("attn_q", (hidden, hidden)), ("attn_k", (hidden, hidden)),
            ("attn_v", (hidden, hidden)), ("attn_o", (hidden, hidden)),
            ("ffn_gate", (ffn, hidden)), ("ffn_up", (ffn, hidden)),
            ("ffn_down", (hidden, ffn)), ("attn_norm", (hidden,)),
            ("ffn_norm", (hidden,))]


def plan(size_gb, itemsize):
    hidden, ffn = (2048, 5632) if size_gb < 4 else (4096, 11008)
    target = int(size_gb * (1 << 30))
    tensors, total, layer = [], 0, 0
    while total < target:
        for name, shape in layer_shapes(hidden, ffn):
            tensors.append((f"blk.{layer}.{name}.weight", shape))
            total += int(np.prod(shape)) * itemsize
        layer += 1
    return tensors


def make_tensor(rng, shape):
    if len(shape) == 1:
        return (1.0 + 0.1 * rng.standard_normal(shape[0], dtype=np.float32))
    rows, cols = shape
    w = rng.standard_normal((rows, cols), dtype=np.float32)
    lap = rng.random(rows) < 0.5
    if lap.any():
        n = int(lap.sum())
        e = rng.standard_exponential((n, cols), dtype=np.float32)
        e *= np.where(rng.random((n, cols)) < 0.5, -1.0, 1.0).astype(np.float32)
        w[lap] = e * np.float32(1 / np.sqrt(2))
    w *= (0.02 * rng.lognormal(0.0, 0.3, rows)).astype(np.float32)[:, None]
    hot = rng.choice(cols, size=max(1, cols // 512), replace=False)
    w[:, hot] *= rng.uniform(8, 30, hot.size).astype(np.float32)
    spikes = rng.integers(0, w.size, size=max(1, w.size // 200000))
    w.reshape(-1)[spikes] *= np.float32(40)
    return w


def st_header(tensors, dtype):
    itemsize = 4 if dtype == "F32" else 2
    meta, off = {}, 0
    for name, shape in tensors:
        n = int(np.prod(shape)) * itemsize
        meta[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [off, off + n]}
        off += n
    h = json.dumps(meta, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h


def gstr(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def gguf_header(tensors, gtype):
    itemsize = 4 if gtype == 0 else 2
    out = [b"GGUF", struct.pack("<IQQ", 3, len(tensors), 2)]
    out += [gstr("general.architecture"), struct.pack("<I", 8), gstr("llama")]
    out += [gstr("general.alignment"), struct.pack("<II", 4, ALIGN)]
    off = 0
    for name, shape in tensors:
        out += [gstr(name), struct.pack("<I", len(shape))]
        out += [struct.pack("<Q", d) for d in reversed(shape)]
        out += [struct.pack("<IQ", gtype, off)]
        n = int(np.prod(shape)) * itemsize
        off += n + (-n % ALIGN)
    h = b"".join(out)
    return h + b"\0" * (-len(h) % ALIGN)


def one_tensor(outdir, spec):
    rows, cols = (int(v) for v in spec.split("x"))
    path = f"{outdir}/bench-one-{rows}x{cols}.safetensors"
    with open(path, "wb") as fh:
        fh.write(st_header([("blk.0.ffn_up.weight", (rows, cols))], "F32"))
        fh.write(make_tensor(np.random.default_rng(7), (rows, cols)).tobytes())
    print(path)


def main():
    if len(sys.argv) == 3 and sys.argv[2].startswith("one:"):
        one_tensor(sys.argv[1], sys.argv[2][4:])
        return
    outdir, size_gb, formats = sys.argv[1], float(sys.argv[2]), sys.argv[3].split(",")
    for dt in ("f32", "f16"):
        fmts = [f for f in formats if f.endswith(dt)]
        if not fmts:
            continue
        npdt = np.float32 if dt == "f32" else np.float16
        tensors = plan(size_gb, np.dtype(npdt).itemsize)
        files = {}
        for f in fmts:
            kind = f.split("-")[0]
            ext = "safetensors" if kind == "st" else "gguf"
            path = f"{outdir}/bench-{size_gb:g}g-{dt}.{ext}"
            fh = open(path, "wb")
            if kind == "st":
                fh.write(st_header(tensors, dt.upper()))
            else:
                fh.write(gguf_header(tensors, 0 if dt == "f32" else 1))
            files[kind] = fh
            print(path)
        rng = np.random.default_rng(20261122)
        for _, shape in tensors:
            raw = make_tensor(rng, shape).astype(npdt, copy=False).tobytes()
            for kind, fh in files.items():
                fh.write(raw)
                if kind == "gguf":
                    fh.write(b"\0" * (-len(raw) % ALIGN))
        for fh in files.values():
            fh.close()


if __name__ == "__main__":
    main()
