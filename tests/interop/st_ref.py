"""numpy reference for the safetensors interop tests (no qscope code involved).

usage: st_ref.py COMMAND ARGS...
  dtypes OUT.safetensors EXPECT.txt   one tensor per dtype (F64 F32 F16 BF16
        F8_E4M3 F8_E5M2 I8 U8 I16 I32 I64 BOOL) written by hand, unsorted,
        at odd offsets; EXPECT.txt holds "name v0 v1 ..." decoded by numpy
  compare EXPECT.txt DUMP.txt          the dump equals the expectation exactly
  pairs DIR                            float.safetensors and its quantized
        siblings ct.safetensors (compressed-tensors int8 per channel),
        ctpack.safetensors (compressed-tensors int4 packed, group 32; module b
        asymmetric with its zero point packed along dim 0),
        gptq.safetensors (4-bit, group 32, module b act-order) and
        awq.safetensors (4-bit, group 32); DIR/<kind>.csv holds numpy's
        tensor,rmse,sqnr_db
  check-csv EXPECT.csv OUT.csv         rmse and sqnr_db within 1e-9 relative,
        rows matched by float tensor name (OUT may name the quantized tensor)
  read-int8 FLOAT.st OUT.st            OUT is a valid safetensors file (the
        reference reader's checks) holding <w> I8 + <w>_scale F32 [out,1]
        equal to numpy's symmetric int8 per-channel quantization of FLOAT
"""
import json
import math
import struct
import sys

import numpy as np
from qs_fixtures import run_command


def write_st(path, tensors, meta=None, pad=True):
    """tensors: list of (name, dtype string, shape, raw bytes) in data order."""
    hdr, off = {}, 0
    if meta is not None:
        hdr["__metadata__"] = meta
    for name, dt, shape, raw in tensors:
        hdr[name] = {"dtype": dt, "shape": list(shape), "data_offsets": [off, off + len(raw)]}
        off += len(raw)
    h = json.dumps(hdr).encode()
    if pad:
        h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(t[3] for t in tensors))


def read_st(path):
    """The reference reader's validation, then {name: (dtype, shape, bytes)}."""
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    assert n <= 100_000_000 and 8 + n <= len(b) and b[8:9] == b"{"
    hdr = json.loads(b[8:8 + n])
    meta = hdr.pop("__metadata__", {})
    assert all(isinstance(v, str) for v in meta.values())
    bits = {"F64": 64, "F32": 32, "F16": 16, "BF16": 16, "I8": 8, "U8": 8, "I16": 16,
            "I32": 32, "I64": 64, "BOOL": 8, "F8_E4M3": 8, "F8_E5M2": 8}
    ents = sorted(hdr.items(), key=lambda kv: kv[1]["data_offsets"][0])
    at, out = 0, {}
    for name, e in ents:
        s, t = e["data_offsets"]
        assert s == at, name
        assert (t - s) * 8 == math.prod(e["shape"]) * bits[e["dtype"]], name
        out[name] = (e["dtype"], e["shape"], b[8 + n + s:8 + n + t])
        at = t
    assert at + 8 + n == len(b)
    return out


def f8_e4m3(b):
    s = np.where(b & 0x80, -1.0, 1.0)
    e = (b >> 3) & 15
    m = b & 7
    v = np.where(e == 0, m / 8.0 * 2.0 ** -6, (1 + m / 8.0) * 2.0 ** (e.astype(np.int64) - 7))
    return s * v


def f8_e5m2(b):
    s = np.where(b & 0x80, -1.0, 1.0)
    e = (b >> 2) & 31
    m = b & 3
    v = np.where(e == 0, m / 4.0 * 2.0 ** -14, (1 + m / 4.0) * 2.0 ** (e.astype(np.int64) - 15))
    v = np.where(e == 31, np.where(m == 0, np.inf, np.nan), v)
    return s * v


def dtypes(out, expect):
    rng = np.random.default_rng(7)
    x = (rng.standard_normal(12) * 100).astype(np.float32)
    bf = ((x.view(np.uint32).astype(np.uint64) + 0x7FFF + ((x.view(np.uint32) >> 16) & 1)) >> 16
          ).astype(np.uint16)
    e4 = np.array([b for b in range(256) if (b & 0x7F) != 0x7F], dtype=np.uint8)
    e5 = np.array([b for b in range(256) if ((b >> 2) & 31) != 31], dtype=np.uint8)
    arrs = [
        ("u8", "U8", np.arange(0, 256, 17, dtype=np.uint8).reshape(4, 4)),
        ("f64", "F64", rng.standard_normal(5)),
        ("i16", "I16", np.array([-32768, -1, 0, 32767], dtype=np.int16)),
        ("f32", "F32", x.reshape(3, 4)),
        ("b", "BOOL", np.array([True, False, True])),
        ("f16", "F16", np.array([1.5, -2, 65504, 6e-8, 0], dtype=np.float16)),
        ("i8", "I8", np.array([-128, 0, 127], dtype=np.int8)),
        ("bf16", "BF16", bf),
        ("e4m3", "F8_E4M3", e4),
        ("i32", "I32", np.array([-2**31, 2**31 - 1, 5], dtype=np.int32)),
        ("e5m2", "F8_E5M2", e5),
        ("i64", "I64", np.array([-2**62, 2**53 + 1], dtype=np.int64).reshape(1, 2)),
        ("scalar", "F32", np.array(3.25, dtype=np.float32)),
    ]
    tens, lines = [], []
    for name, dt, a in arrs:
        raw = a.astype(a.dtype.newbyteorder("<")).tobytes()
        tens.append((name, dt, a.shape, raw))
        if dt == "BF16":
            vals = (a.astype(np.uint32) << 16).view(np.float32).astype(np.float64)
        elif dt == "F8_E4M3":
            vals = f8_e4m3(a)
        elif dt == "F8_E5M2":
            vals = f8_e5m2(a)
        elif dt in ("F64", "F32", "F16"):
            vals = a.astype(np.float32).astype(np.float64).ravel()
        else:
            vals = a.astype(np.int64).ravel()
        fmt = (lambda v: repr(int(v))) if vals.dtype.kind in "iub" else (lambda v: repr(float(v)))
        lines.append(" ".join([name] + [fmt(v) for v in np.ravel(vals)]))
    write_st(out, tens, meta={"format": "pt"}, pad=False)
    open(expect, "w").write("\n".join(lines) + "\n")


def compare(expect, dump):
    want = {l.split()[0]: l.split()[1:] for l in open(expect) if l.strip()}
    got = {l.split()[0]: l.split()[1:] for l in open(dump) if l.strip()}
    bad = 0
    for name, w in want.items():
        g = got.get(name)
        if g is None or len(g) != len(w) or any(float(a) != float(b) for a, b in zip(g, w)):
            print(f"{name}: got {g[:6] if g else None} want {w[:6]}")
            bad += 1
    print(f"{len(want)} tensors, {bad} differ")
    return 1 if bad else 0


def metrics_rows(pairs):
    rows = ["tensor,rmse,sqnr_db"]
    for name, x, xh in pairs:
        x, xh = x.astype(np.float64).ravel(), xh.astype(np.float64).ravel()
        e = np.sum((x - xh) ** 2)
        rows.append(f"{name},{math.sqrt(e / x.size)!r},{10 * math.log10(np.sum(x * x) / e)!r}")
    return "\n".join(rows) + "\n"


def pack_cols(q, b):
    """pack along the last axis, element j of each word at bits j*b."""
    per = 32 // b
    q = q.astype(np.uint32).reshape(*q.shape[:-1], -1, per)
    w = np.zeros(q.shape[:-1], dtype=np.uint32)
    for j in range(per):
        w |= q[..., j] << np.uint32(j * b)
    return w.view(np.int32)


def gptq(W, gs, act_order, rng):
    out, inn = W.shape
    G = inn // gs
    g_idx = (rng.permutation(inn) // gs if act_order else np.arange(inn) // gs).astype(np.int32)
    lo = np.stack([W[:, g_idx == g].min(axis=1) for g in range(G)])  # [G, out]
    hi = np.stack([W[:, g_idx == g].max(axis=1) for g in range(G)])
    s = ((hi - lo) / 15).astype(np.float16)
    z = np.clip(np.round(-lo / s.astype(np.float32)), 0, 15).astype(np.int64)
    sg, zg = s.astype(np.float32)[g_idx].T, z[g_idx].T  # [out, in]
    q = np.clip(np.round(W / sg) + zg, 0, 15).astype(np.int64)
    xh = (q - zg).astype(np.float32) * sg
    qweight = pack_cols(q.T.reshape(inn // 8, 8, out).transpose(0, 2, 1), 4).reshape(inn // 8, out)
    qzeros = pack_cols(z - 1, 4)  # [G, out/8], stored zero − 1
    return qweight, qzeros, s, g_idx, xh


AWQ_ORDER = [0, 2, 4, 6, 1, 3, 5, 7]


def awq_pack(q):
    """q [rows, out] → [rows, out/8]: nibble p holds column AWQ_ORDER[p]."""
    r, out = q.shape
    q = q.reshape(r, out // 8, 8)[:, :, AWQ_ORDER]
    return pack_cols(q.reshape(r, out), 4)


def awq(W, gs):
    out, inn = W.shape
    G = inn // gs
    Wg = W.reshape(out, G, gs)
    lo, hi = Wg.min(axis=2).T, Wg.max(axis=2).T  # [G, out]
    s = ((hi - lo) / 15).astype(np.float16)
    z = np.clip(np.round(-lo / s.astype(np.float32)), 0, 15).astype(np.int64)
    gi = np.arange(inn) // gs
    sg, zg = s.astype(np.float32)[gi].T, z[gi].T
    q = np.clip(np.round(W / sg) + zg, 0, 15).astype(np.int64)
    xh = (q - zg).astype(np.float32) * sg
    return awq_pack(q.T.copy()), awq_pack(z), s, xh


def ct_int8(W):
    s = (np.abs(W).max(axis=1, keepdims=True) / np.float32(127.5)).astype(np.float32)
    q = np.clip(np.round(W / s), -128, 127).astype(np.int8)
    return q, s, q.astype(np.float32) * s


def ct_pack4(W, gs):
    out, inn = W.shape
    Wg = W.reshape(out, inn // gs, gs)
    s = (np.abs(Wg).max(axis=2) / np.float32(7.5)).astype(np.float16)  # [out, G]
    sg = np.repeat(s.astype(np.float32), gs, axis=1)
    q = np.clip(np.round(W / sg), -8, 7).astype(np.int64)
    return pack_cols(q + 8, 4), s, q.astype(np.float32) * sg


def ct_pack4_asym(W, gs):
    """asymmetric int4 groups: zero point packed along dim 0 (offset +8)."""
    out, inn = W.shape
    Wg = W.reshape(out, inn // gs, gs)
    lo = np.minimum(Wg.min(axis=2), 0)
    hi = np.maximum(Wg.max(axis=2), 0)
    s = ((hi - lo) / np.float32(15)).astype(np.float16)  # [out, G]
    s32 = s.astype(np.float32)
    zp = np.clip(np.round(-8 - lo / s32), -8, 7).astype(np.int64)
    sg, zg = np.repeat(s32, gs, axis=1), np.repeat(zp, gs, axis=1)
    q = np.clip(np.round(W / sg) + zg, -8, 7).astype(np.int64)
    zpk = np.ascontiguousarray(pack_cols(np.ascontiguousarray((zp + 8).T), 4).T)
    return pack_cols(q + 8, 4), s, zpk, (q - zg).astype(np.float32) * sg


def pairs(d):
    rng = np.random.default_rng(42)
    Wa = (rng.standard_normal((64, 128)) * 0.05).astype(np.float32)
    Wb = (rng.laplace(size=(48, 96)) * 0.02).astype(np.float32)
    bias = rng.standard_normal(64).astype(np.float32)
    write_st(f"{d}/float.safetensors", [("a.weight", "F32", Wa.shape, Wa.tobytes()),
                                        ("a.bias", "F32", bias.shape, bias.tobytes()),
                                        ("b.weight", "F32", Wb.shape, Wb.tobytes())],
             meta={"format": "pt"})
    t, p = [], []
    for m, W in (("a", Wa), ("b", Wb)):
        q, s, xh = ct_int8(W)
        t += [(f"{m}.weight", "I8", q.shape, q.tobytes()),
              (f"{m}.weight_scale", "F32", s.shape, s.tobytes())]
        p.append((f"{m}.weight", W, xh))
    write_st(f"{d}/ct.safetensors", t, meta={"format": "pt"})
    open(f"{d}/ct.csv", "w").write(metrics_rows(p))
    t, p = [], []
    for m, W in (("a", Wa), ("b", Wb)):
        shp = np.array(W.shape, dtype=np.int32)
        if m == "a":
            pk, s, xh = ct_pack4(W, 32)
        else:
            pk, s, zpk, xh = ct_pack4_asym(W, 32)
            t.append((f"{m}.weight_zero_point", "I32", zpk.shape, zpk.tobytes()))
        t += [(f"{m}.weight_packed", "I32", pk.shape, pk.tobytes()),
              (f"{m}.weight_shape", "I32", shp.shape, shp.tobytes()),
              (f"{m}.weight_scale", "F16", s.shape, s.tobytes())]
        p.append((f"{m}.weight", W, xh))
    write_st(f"{d}/ctpack.safetensors", t)
    open(f"{d}/ctpack.csv", "w").write(metrics_rows(p))
    t, p = [], []
    for m, W, act in (("a", Wa, False), ("b", Wb, True)):
        qw, qz, s, gi, xh = gptq(W, 32, act, rng)
        t += [(f"{m}.qweight", "I32", qw.shape, qw.tobytes()),
              (f"{m}.qzeros", "I32", qz.shape, qz.tobytes()),
              (f"{m}.scales", "F16", s.shape, s.tobytes()),
              (f"{m}.g_idx", "I32", gi.shape, gi.tobytes())]
        p.append((f"{m}.weight", W, xh))
    t.append(("a.bias", "F32", bias.shape, bias.tobytes()))
    write_st(f"{d}/gptq.safetensors", t)
    open(f"{d}/gptq.csv", "w").write(metrics_rows(p))
    t, p = [], []
    for m, W in (("a", Wa), ("b", Wb)):
        qw, qz, s, xh = awq(W, 32)
        t += [(f"{m}.qweight", "I32", qw.shape, qw.tobytes()),
              (f"{m}.qzeros", "I32", qz.shape, qz.tobytes()),
              (f"{m}.scales", "F16", s.shape, s.tobytes())]
        p.append((f"{m}.weight", W, xh))
    write_st(f"{d}/awq.safetensors", t)
    open(f"{d}/awq.csv", "w").write(metrics_rows(p))


def check_csv(expect, out):
    want = {r.split(",")[0]: r.strip().split(",") for r in list(open(expect))[1:]}
    import csv
    rows = list(csv.DictReader(open(out)))
    got = {}
    for r in rows:
        name = r["tensor"]
        for suf in (".qweight", ".weight_packed"):
            if name.endswith(suf):
                name = name[:-len(suf)] + ".weight"
        got[name] = r
    bad = 0
    for name, (_, rmse, sqnr) in want.items():
        r = got.get(name)
        ok = r is not None and all(
            abs(float(r[k]) - float(v)) <= 1e-9 * abs(float(v))
            for k, v in (("rmse", rmse), ("sqnr_db", sqnr)))
        if not ok:
            print(f"{out}: {name}: got {r and (r['rmse'], r['sqnr_db'])}, numpy {rmse}, {sqnr}")
            bad += 1
    print(f"{out}: {len(want)} pairs, {bad} differ from numpy")
    return 1 if bad else 0


def read_int8(fpath, qpath):
    f, q = read_st(fpath), read_st(qpath)
    bad = 0
    for name, (dt, shape, raw) in f.items():
        if len(shape) < 2:
            continue
        W = np.frombuffer(raw, dtype=np.float32).reshape(shape)
        qdt, qshape, qraw = q[name]
        sdt, sshape, sraw = q[name + "_scale"]
        assert qdt == "I8" and sdt == "F32" and sshape == [shape[0], 1], (qdt, sdt, sshape)
        codes = np.frombuffer(qraw, dtype=np.int8).reshape(shape)
        want, s, _ = ct_int8(W)
        if not np.array_equal(codes, want) or not np.array_equal(
                np.frombuffer(sraw, dtype=np.float32).reshape(s.shape), s):
            print(f"{name}: codes or scales differ from numpy")
            bad += 1
    print(f"{qpath}: int8 compressed-tensors layout and values checked, {bad} differ")
    return 1 if bad else 0


def main(argv):
    cmds = {"dtypes": dtypes, "compare": compare, "pairs": pairs, "check-csv": check_csv,
            "read-int8": read_int8}
    return run_command(cmds, argv, __doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
