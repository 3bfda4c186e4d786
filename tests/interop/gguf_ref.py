"""llama.cpp's gguf-py as the independent reference for the GGUF interop tests.

usage: gguf_ref.py COMMAND ARGS...
  dequant-f32 IN.gguf OUT.gguf   every tensor of IN dequantized by gguf-py,
                                 written as an F32 GGUF with GGUFWriter
  kquants OUTQ.gguf OUTF.gguf    random Q2_K..Q6_K blocks (sane fp16 scales)
                                 and their gguf-py dequantization as F32
  same-data REF.gguf OUT.gguf    tensor types and data bytes of OUT equal REF's
  readall X.gguf                 gguf-py reads every KV and dequantizes every
                                 tensor (finite values); prints a summary
  metrics F.gguf Q.gguf          per-tensor CSV name,rmse,sqnr_db computed with
                                 numpy (float64) from gguf-py's values
  total-rmse F.gguf Q.gguf       RMSE over all block-quantized tensors
  st-quant-equal F.safetensors Q.gguf QTYPE   gguf-py's quantizer on the F32
                                 2-D tensors of F gives Q's tensor bytes
Needs GGUF_PY (folder holding the gguf package).
"""
import os
import sys

import numpy as np
from qs_fixtures import run_command

sys.path.insert(0, os.environ["GGUF_PY"])
import gguf  # noqa: E402
from gguf import quants  # noqa: E402

BLOCK_TYPES = {"Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"}


def values(t):
    """gguf-py's float32 values of a tensor, numpy order."""
    return np.asarray(quants.dequantize(np.array(t.data), t.tensor_type), dtype=np.float32)


def arch(r):
    f = r.fields.get("general.architecture")
    return bytes(f.parts[f.data[0]]).decode() if f else "unknown"


def dequant_f32(src, dst):
    r = gguf.GGUFReader(src)
    w = gguf.GGUFWriter(dst, arch(r))
    for t in r.tensors:
        v = values(t).reshape([int(d) for d in reversed(t.shape)])
        w.add_tensor(t.name, v)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def random_kblocks(rng, qt, nblocks):
    _, size = gguf.GGML_QUANT_SIZES[qt]
    b = rng.integers(0, 256, size=(nblocks, size), dtype=np.uint8)
    # fp16 scales in [2^-8, 2): exponent bits 0b0111x.. keep them finite
    def put_f16(col):
        h = (rng.uniform(0.004, 2.0, nblocks) * rng.choice([-1, 1], nblocks)).astype(np.float16)
        b[:, col:col + 2] = h.view(np.uint8).reshape(nblocks, 2)
    layout = {  # byte offsets of the fp16 fields (formats.md §3.3)
        gguf.GGMLQuantizationType.Q2_K: [80, 82],
        gguf.GGMLQuantizationType.Q3_K: [108],
        gguf.GGMLQuantizationType.Q4_K: [0, 2],
        gguf.GGMLQuantizationType.Q5_K: [0, 2],
        gguf.GGMLQuantizationType.Q6_K: [208],
    }
    for col in layout[qt]:
        put_f16(col)
    return b


def kquants(outq, outf):
    rng = np.random.default_rng(1234)
    wq = gguf.GGUFWriter(outq, "test")
    wf = gguf.GGUFWriter(outf, "test")
    for name in ["Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"]:
        qt = gguf.GGMLQuantizationType[name]
        rows = 3
        b = random_kblocks(rng, qt, rows * 2)
        raw = b.reshape(rows, -1)
        wq.add_tensor(name.lower(), raw, raw_dtype=qt)
        wf.add_tensor(name.lower(), quants.dequantize(raw, qt).astype(np.float32))
    for w in (wq, wf):
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()


def same_data(ref, out):
    a = {t.name: t for t in gguf.GGUFReader(ref).tensors}
    b = {t.name: t for t in gguf.GGUFReader(out).tensors}
    bad = 0
    if set(a) != set(b):
        print("tensor names differ:", sorted(set(a) ^ set(b)))
        return 1
    for n, t in a.items():
        u = b[n]
        if t.tensor_type != u.tensor_type or list(t.shape) != list(u.shape):
            print(f"{n}: {t.tensor_type.name}{list(t.shape)} vs {u.tensor_type.name}{list(u.shape)}")
            bad += 1
        elif np.array(t.data).tobytes() != np.array(u.data).tobytes():
            print(f"{n}: data differs")
            bad += 1
    print(f"{len(a)} tensors, {bad} differ")
    return 1 if bad else 0


def readall(path):
    r = gguf.GGUFReader(path)
    for k, f in r.fields.items():
        _ = [f.parts[i] for i in f.data]
    n = 0
    for t in r.tensors:
        if t.tensor_type.name in ("I8", "I16", "I32", "I64"):
            n += np.array(t.data).size
            continue
        v = values(t)
        assert np.all(np.isfinite(v)), t.name
        n += v.size
    types = sorted({t.tensor_type.name for t in r.tensors})
    print(f"{path}: {len(r.fields)} fields, {len(r.tensors)} tensors, {n} values, types {types}")
    return 0


def pairs(fpath, qpath):
    f = {t.name: t for t in gguf.GGUFReader(fpath).tensors}
    for t in gguf.GGUFReader(qpath).tensors:
        x = values(f[t.name]).astype(np.float64).ravel()
        y = values(t).astype(np.float64).ravel()
        yield t, x, y


def metrics(fpath, qpath):
    print("tensor,rmse,sqnr_db")
    for t, x, y in pairs(fpath, qpath):
        e = np.sum((x - y) ** 2)
        rmse = np.sqrt(e / x.size)
        sqnr = np.inf if e == 0 else 10 * np.log10(np.sum(x * x) / e)
        print(f"{t.name},{rmse:.17g},{sqnr:.17g}")
    return 0


def total_rmse(fpath, qpath):
    se, n = 0.0, 0
    for t, x, y in pairs(fpath, qpath):
        if t.tensor_type.name in BLOCK_TYPES:
            se += float(np.sum((x - y) ** 2))
            n += x.size
    print(f"{np.sqrt(se / n):.17g}")
    return 0


def st_quant_equal(st_path, gguf_path, qtype):
    """gguf-py's reference quantizer applied to the F32 2-D tensors of a
    safetensors file (parsed here) gives the bytes of the GGUF's tensors."""
    import json
    import struct
    b = open(st_path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    hdr = json.loads(b[8:8 + n])
    hdr.pop("__metadata__", None)
    out = {t.name: t for t in gguf.GGUFReader(gguf_path).tensors}
    qt = gguf.GGMLQuantizationType[qtype]
    bad = checked = 0
    for name, e in hdr.items():
        if e["dtype"] != "F32" or len(e["shape"]) != 2 or e["shape"][1] % 32:
            continue
        s, t = e["data_offsets"]
        x = np.frombuffer(b[8 + n + s:8 + n + t], dtype=np.float32).reshape(e["shape"])
        want = quants.quantize(x, qt)
        got = out[name]
        checked += 1
        if got.tensor_type != qt or np.array(got.data).tobytes() != want.tobytes():
            print(f"{name}: {got.tensor_type.name} data differs from gguf-py's {qtype}")
            bad += 1
    print(f"{gguf_path}: {checked} tensors quantized like gguf-py's {qtype}, {bad} differ")
    return 1 if bad or not checked else 0


def main(argv):
    cmds = {"dequant-f32": dequant_f32, "kquants": kquants, "same-data": same_data,
            "readall": readall, "metrics": metrics, "total-rmse": total_rmse,
            "st-quant-equal": st_quant_equal}
    return run_command(cmds, argv, __doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
