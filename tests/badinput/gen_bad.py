#!/usr/bin/python3
"""Write the bad-input corpus: small valid files of every format (made with
numpy/onnx or from the byte layouts in docs/formats.md, see
tests/fuzz/make_seeds.py) and, from each, malformed variants: truncations at
many offsets, flipped length fields, absurd counts and dims, out-of-range and
overlapping offsets, recursion bombs, non-UTF-8 names, NaN-filled tensors.

Usage: gen_bad.py OUTDIR. Writes the files and OUTDIR/manifest.tsv with one
line per case: file, expectation, how to run it, what is wrong. Expectations:
  ok       a valid base file (must load: exit 0)
  error    exit 2 with one stderr line naming the file
  finding  exit 0/1 and the report mentions NaN/Inf
  known-error  should be an error but a reader accepts it today (an open
           bug, listed in the output; any crash still fails)
  ok-or-error  valid by some reading of the format: exit 0 or a clean error
Runs: model (qscope report FILE), recipe (report BASE --recipe FILE),
onnx+ (FILE plus side files written beside it)."""
import json
import os
import struct
import sys
import zipfile
import io

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fuzz"))
import make_seeds as ms  # noqa: E402

OUT = sys.argv[1]
rows = []


def case(name, data, expect, what, run="model"):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
    rows.append((name, expect, run, what))


def side(name, data):
    """A file the case needs beside it (external data, shards)."""
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def truncations(stem, ext, data, offsets):
    for off in sorted(set(o for o in offsets if 0 <= o < len(data))):
        case(f"{stem}_trunc{off}.{ext}", data[:off], "error", f"truncated at byte {off} of {len(data)}")


def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def pb_field(num, wire, payload):
    tag = varint(num << 3 | wire)
    if wire == 2:
        return tag + varint(len(payload)) + payload
    return tag + payload


# ---- npy -------------------------------------------------------------------

def npy_header(d, version=1, pad_to=64):
    h = repr(d).encode("latin-1") if isinstance(d, dict) else d
    lenfmt = "<H" if version == 1 else "<I"
    pre = 10 if version == 1 else 12
    total = -(-(pre + len(h) + 1) // pad_to) * pad_to
    h = h + b" " * (total - pre - len(h) - 1) + b"\n"
    return b"\x93NUMPY" + bytes([version, 0]) + struct.pack(lenfmt, len(h)) + h


def npy_cases():
    w = np.arange(24, dtype=np.float32).reshape(4, 6) / 7
    base = ms.npy_bytes(w)
    case("npy_valid.npy", base, "ok", "valid 4x6 float32")
    truncations("npy", "npy", base, [0, 3, 6, 8, 9, 40, 127, 128, 129, 200, len(base) - 1])
    data = w.tobytes()
    hd = lambda shape, descr="<f4": npy_header({"descr": descr, "fortran_order": False, "shape": shape})
    case("npy_badmagic.npy", b"\x93NUMPZ" + base[6:], "error", "bad magic")
    case("npy_version9.npy", base[:6] + b"\x09\x00" + base[8:], "error", "format version 9.0")
    case("npy_hlen_huge.npy", base[:8] + b"\xff\xff" + base[10:], "error", "header length 65535 past the end")
    case("npy_v2_hlen_4g.npy", b"\x93NUMPY\x02\x00\xff\xff\xff\xff" + base[10:], "error",
         "v2 header length 2^32-1")
    case("npy_shape_overflow.npy", hd((2**62, 2**62)) + data, "error", "shape product overflows")
    case("npy_shape_huge.npy", hd((2**40, 2**20)) + data, "error", "shape needs 4 PiB, file has 96 bytes")
    case("npy_shape_negative.npy", hd((-1, 6)) + data, "error", "negative dimension")
    case("npy_shape_more.npy", hd((100, 6)) + data, "error", "shape needs more bytes than the file has")
    case("npy_shape_less.npy", hd((2, 6)) + data, "error", "trailing bytes after the data")
    case("npy_9dims.npy", hd((1,) * 9) + b"\0\0\0\0", "error", "nine dimensions")
    case("npy_object.npy", hd((2,), "|O") + b"\x80\x04N." * 2, "error", "object array (pickle)")
    case("npy_complex.npy", hd((3,), "<c8") + b"\0" * 24, "error", "complex dtype")
    case("npy_structured.npy", npy_header(b"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }")
         + b"\0" * 8, "error", "structured dtype")
    case("npy_header_unterminated.npy",
         npy_header(b"{'descr': '<f4', 'fortran_order': False, 'shape': (4, 6") + data, "error",
         "header dict not closed")
    case("npy_header_latin1.npy", npy_header(b"{'descr': '<f4\xff\xfe', 'fortran_order': False, 'shape': (4, 6), }")
         + data, "error", "non-ASCII bytes in descr")
    case("npy_header_nul.npy", npy_header(b"{'descr': '<f4', 'fortran_order': False, 'sha\0pe': (4, 6), }")
         + data, "error", "NUL byte in the header")
    case("npy_missing_shape.npy", npy_header({"descr": "<f4", "fortran_order": False}) + data,
         "error", "no shape key")
    case("npy_shape_text.npy", hd("(4, 6)") + data, "error", "shape is a string")
    case("npy_nan.npy", ms.npy_bytes(np.full((4, 6), np.nan, np.float32)), "finding",
         "every element NaN")
    case("npy_inf.npy", ms.npy_bytes(np.array([[np.inf, -np.inf, 1.0, 2.0]] * 2, np.float32)),
         "finding", "infinities")


# ---- npz -------------------------------------------------------------------

def npz_cases():
    arrs = {"w": np.arange(12, dtype=np.float32).reshape(3, 4) / 3, "b": np.ones(3, np.float32)}
    b = io.BytesIO()
    np.savez(b, **arrs)
    base = b.getvalue()
    case("npz_valid.npz", base, "ok", "valid two-array npz")
    truncations("npz", "npz", base, [0, 4, 30, 100, len(base) // 2, len(base) - 22, len(base) - 1])
    eocd = base.rfind(b"PK\x05\x06")
    cd = struct.unpack_from("<I", base, eocd + 16)[0]
    bad = bytearray(base)
    struct.pack_into("<I", bad, eocd + 16, len(base) + 1000)
    case("npz_cd_offset_out.npz", bytes(bad), "error", "central directory offset past the end")
    bad = bytearray(base)
    struct.pack_into("<H", bad, eocd + 10, 60000)
    case("npz_entries_absurd.npz", bytes(bad), "error", "60000 entries claimed, 2 present")
    bad = bytearray(base)
    struct.pack_into("<H", bad, 26, 0xFFFF)  # first local header's name length
    case("npz_local_namelen.npz", bytes(bad), "error", "local header name length 65535")
    bad = bytearray(base)
    struct.pack_into("<I", bad, cd + 20, 0x7FFFFFFF)  # central compressed size
    struct.pack_into("<I", bad, cd + 24, 0x7FFFFFFF)
    case("npz_member_size_absurd.npz", bytes(bad), "error", "member sizes 2 GiB in a tiny file")
    # deflated member with its stream corrupted
    b = io.BytesIO()
    np.savez_compressed(b, w=np.arange(4096, dtype=np.float32))
    z = bytearray(b.getvalue())
    mid = 30 + struct.unpack_from("<H", z, 26)[0] + struct.unpack_from("<H", z, 28)[0] + 20
    z[mid:mid + 16] = b"\xff" * 16
    case("npz_deflate_corrupt.npz", bytes(z), "error", "corrupt deflate stream")
    # members that are bad .npy files inside a consistent zip
    def zipped(members, method=zipfile.ZIP_STORED):
        b = io.BytesIO()
        with zipfile.ZipFile(b, "w", method) as zf:
            for name, data in members:
                zf.writestr(name, data)
        return b.getvalue()
    good = ms.npy_bytes(arrs["w"])
    case("npz_member_truncated.npz", zipped([("w.npy", good[:100])]), "error", "member .npy truncated")
    case("npz_member_shape_huge.npz",
         zipped([("w.npy", npy_header({"descr": "<f4", "fortran_order": False, "shape": (2**31, 2**31)}))]),
         "error", "member claims 2^62 elements")
    case("npz_member_not_npy.npz", zipped([("w.npy", b"hello world")]), "error", "member is not .npy")
    case("npz_empty.npz", zipped([]), "ok-or-error", "archive without members (valid, empty)")
    case("npz_name_nonutf8.npz", zipped([(b"\xff\xfe\xfd.npy".decode("cp437"), good)]), "ok-or-error",
         "member name bytes are not UTF-8")
    case("npz_nan.npz", zipped([("w.npy", ms.npy_bytes(np.full((3, 4), np.nan, np.float32)))]),
         "finding", "NaN-filled member")


# ---- onnx ------------------------------------------------------------------

def onnx_base():
    rng = np.random.default_rng(1)
    w = numpy_helper.from_array(rng.standard_normal((3, 2, 3, 3)).astype(np.float32), "W")
    bias = numpy_helper.from_array(np.zeros(3, np.float32), "B")
    return ms.model([helper.make_node("Conv", ["x", "W", "B"], ["y"], name="conv")], [w, bias])


def raw_len_pos(data, raw):
    """Offset of the length varint that precedes raw_data bytes `raw`."""
    p = data.find(raw)
    assert p > 0
    q = p - 1
    while q > 0 and data[q - 1] & 0x80:
        q -= 1
    return q, p


def if_bomb(depth):
    """A graph whose node is an If whose then_branch is a graph whose node is
    an If ... `depth` levels. Every level's bytes precede the inner graph, so
    the file is built from prefixes (linear time, not quadratic)."""
    prefixes, inner = [], 0
    for _ in range(depth):
        attr_head = pb_field(1, 2, b"then_branch") + pb_field(20, 0, varint(5)) + varint(6 << 3 | 2) + varint(inner)
        attr_len = len(attr_head) + inner
        node_head = pb_field(4, 2, b"If") + pb_field(1, 2, b"c") + varint(5 << 3 | 2) + varint(attr_len)
        node_len = len(node_head) + attr_len
        g_head = varint(1 << 3 | 2) + varint(node_len)
        prefixes.append(g_head + node_head + attr_head)
        inner = len(g_head) + node_len
    opset = pb_field(2, 0, varint(13))
    head = pb_field(1, 0, varint(7)) + pb_field(8, 2, opset) + varint(7 << 3 | 2) + varint(inner)
    return head + b"".join(reversed(prefixes))


def onnx_cases():
    m = onnx_base()
    base = m.SerializeToString()
    case("onnx_valid.onnx", base, "ok", "valid Conv model")
    truncations("onnx", "onnx", base, [1, 2, 10, 50, 100, 200, len(base) // 2, len(base) - 10, len(base) - 1])
    case("onnx_garbage.onnx", bytes(range(256)) * 4, "error", "not a protobuf")
    raw = m.graph.initializer[0].raw_data
    q, p = raw_len_pos(base, raw)
    bad = bytearray(base)
    bad[q:p] = bytes([0xFF] * (p - q - 1) + [0x7F])
    case("onnx_rawlen_flipped.onnx", bytes(bad), "error", "raw_data length past its message")

    def variant(name, what, edit, expect="error"):
        mm = onnx_base()
        edit(mm)
        case(name, mm.SerializeToString(), expect, what)

    def dims(v):
        def f(mm):
            del mm.graph.initializer[0].dims[:]
            mm.graph.initializer[0].dims.extend(v)
        return f
    variant("onnx_dims_overflow.onnx", "dims 2^40 x 2^40 with 216 bytes", dims([2**40, 2**40]))
    variant("onnx_dims_negative.onnx", "dim -3", dims([-3, 2, 3, 3]))
    variant("onnx_dims_9.onnx", "nine dims", dims([1] * 9))
    variant("onnx_raw_short.onnx", "raw_data shorter than dims need", dims([3, 2, 3, 4]))

    def rawcut(mm):
        mm.graph.initializer[0].raw_data = mm.graph.initializer[0].raw_data[:-5]
    variant("onnx_raw_ragged.onnx", "raw_data not a whole number of floats", rawcut)

    def fdata(mm):
        t = mm.graph.initializer[1]
        t.ClearField("raw_data")
        t.float_data.extend([1.0, 2.0])
    variant("onnx_float_data_count.onnx", "float_data has 2 values for 3 elements", fdata)

    def dtype99(mm):
        mm.graph.initializer[0].data_type = 99
    variant("onnx_dtype99.onnx", "data_type 99 (a type from the future may be skipped)", dtype99,
            expect="ok-or-error")

    def nonutf8(mm):
        pass
    mm = onnx_base()
    mm.graph.initializer[0].name = "WWWW"
    mm.graph.node[0].input[1] = "WWWW"
    data = mm.SerializeToString().replace(b"WWWW", b"W\xff\xfeW")
    case("onnx_name_nonutf8.onnx", data, "error", "initializer name is not UTF-8")

    def nan(mm):
        t = mm.graph.initializer[0]
        t.raw_data = np.full((3, 2, 3, 3), np.nan, np.float32).tobytes()
    variant("onnx_nan.onnx", "NaN-filled weight", nan, expect="finding")

    def constant_short(mm):
        c = helper.make_tensor("C", TensorProto.FLOAT, [4, 4], np.zeros(16, np.float32).tobytes(), raw=True)
        c.raw_data = c.raw_data[:20]
        mm.graph.node.insert(0, helper.make_node("Constant", [], ["C"], value=c))
    variant("onnx_constant_short.onnx", "Constant node tensor with 20 of 64 bytes", constant_short)

    def qdq_count(mm):
        wq = numpy_helper.from_array(np.ones((3, 4), np.int8), "Q")
        sc = numpy_helper.from_array(np.array([0.1, 0.2], np.float32), "Q_scale")
        zp = numpy_helper.from_array(np.zeros(2, np.int8), "Q_zero_point")
        mm.graph.initializer.extend([wq, sc, zp])
        mm.graph.node.append(helper.make_node("DequantizeLinear", ["Q", "Q_scale", "Q_zero_point"],
                                              ["Qd"], axis=0))
    variant("onnx_qdq_scale_count.onnx", "per-channel DequantizeLinear with 2 scales for 3 channels",
            qdq_count)

    def qdq_axis(mm):
        wq = numpy_helper.from_array(np.ones((3, 4), np.int8), "Q")
        sc = numpy_helper.from_array(np.array([0.1, 0.2, 0.3], np.float32), "Q_scale")
        mm.graph.initializer.extend([wq, sc])
        mm.graph.node.append(helper.make_node("DequantizeLinear", ["Q", "Q_scale"], ["Qd"], axis=7))
    variant("onnx_qdq_axis.onnx", "DequantizeLinear axis 7 on a 2-D tensor", qdq_axis)

    case("onnx_if_bomb_2k.onnx", if_bomb(2000), "error", "If nested 2000 deep")
    # a graph input whose type is a sequence of sequences of ... 100000 deep
    inner = pb_field(1, 2, pb_field(1, 0, varint(1)))  # tensor_type { elem_type FLOAT }
    pre, n = [], len(inner)
    for _ in range(100000):  # Sequence { elem_type TypeProto { ... } }: two messages per level
        seq = varint(1 << 3 | 2) + varint(n)
        n += len(seq)
        typ = varint(4 << 3 | 2) + varint(n)
        n += len(typ)
        pre.append(typ + seq)
    vi = pb_field(1, 2, b"x") + varint(2 << 3 | 2) + varint(n) + b"".join(reversed(pre)) + inner
    g = pb_field(11, 2, vi)
    case("onnx_type_bomb.onnx", pb_field(1, 0, varint(7)) + pb_field(7, 2, g), "error",
         "input type: sequence of sequence ... 100000 deep")
    case("onnx_if_bomb_100k.onnx", if_bomb(100000), "error", "If nested 100000 deep")

    # external data
    def ext(name, what, loc, off, length, blob, expect="error"):
        t = TensorProto()
        t.name, t.data_type = "E", TensorProto.FLOAT
        t.dims.extend([4, 3])
        t.data_location = TensorProto.EXTERNAL
        for k, v in (("location", loc), ("offset", off), ("length", length)):
            if v is not None:
                e = t.external_data.add()
                e.key, e.value = k, v
        mm = ms.model([helper.make_node("MatMul", ["x", "E"], ["y"])], [t],
                      inputs=[helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])])
        if blob is not None:
            side(name + ".bin", blob)
        case(name + ".onnx", mm.SerializeToString(), expect, what)
    blob = np.arange(12, dtype=np.float32).tobytes()
    ext("onnx_ext_valid", "valid external data", "onnx_ext_valid.bin", "0", "48", blob, "ok")
    ext("onnx_ext_missing", "external file missing", "onnx_ext_missing.bin", "0", "48", None)
    ext("onnx_ext_offset_out", "offset past the end of the side file", "onnx_ext_offset_out.bin",
        "4096", "48", blob)
    ext("onnx_ext_length_out", "length past the end of the side file", "onnx_ext_length_out.bin",
        "0", "4800", blob)
    ext("onnx_ext_offset_wrap", "offset + length wraps 2^64", "onnx_ext_offset_wrap.bin",
        str(2**64 - 8), "48", blob)
    ext("onnx_ext_offset_neg", "negative offset", "onnx_ext_offset_neg.bin", "-16", "48", blob)
    ext("onnx_ext_offset_text", "offset is not a number", "onnx_ext_offset_text.bin", "12abc", "48", blob)
    ext("onnx_ext_short", "side file shorter than the tensor", "onnx_ext_short.bin", "0", None, blob[:20])
    ext("onnx_ext_traversal", "location escapes the model's folder", "../../../../../etc/passwd",
        "0", "48", None)
    ext("onnx_ext_absolute", "absolute location", "/etc/hostname", "0", None, None)


# ---- gguf ------------------------------------------------------------------

def gguf_cases():
    kvs = [ms.gkv("general.architecture", 8, ms.gstr("llama")),
           ms.gkv("general.alignment", 4, struct.pack("<I", 32))]
    tens = [("a.weight", 0, (8, 4)), ("b.weight", 8, (32, 2))]
    base = ms.gguf_bytes(tens, kvs)
    case("gguf_valid.gguf", base, "ok", "valid F32 + Q8_0 GGUF")
    # the last 28 bytes are the alignment padding after b.weight: cutting them loses nothing
    truncations("gguf", "gguf", base, [0, 3, 4, 7, 12, 20, 30, 60, 100, 150, len(base) - 40, len(base) - 29])
    head = lambda nt, nk: b"GGUF" + struct.pack("<IQQ", 3, nt, nk)
    rest = base[24:]
    case("gguf_badmagic.gguf", b"GGUG" + base[4:], "error", "bad magic")
    case("gguf_version99.gguf", b"GGUF" + struct.pack("<I", 99) + base[8:], "error", "version 99")
    case("gguf_ntensors_absurd.gguf", head(2**60, 2) + rest, "error", "2^60 tensors")
    case("gguf_nkv_absurd.gguf", head(2, 2**60) + rest, "error", "2^60 key/values")
    k0 = ms.gstr("general.architecture")
    bad = head(2, 2) + struct.pack("<Q", 2**63) + rest[8:]
    case("gguf_keylen_absurd.gguf", bad, "error", "key length 2^63")
    arr = ms.gkv("big", 9, struct.pack("<IQ", 5, 2**61))
    case("gguf_array_absurd.gguf", ms.gguf_bytes(tens, kvs + [arr]), "error", "array of 2^61 int32")
    sarr = ms.gkv("strs", 9, struct.pack("<IQ", 8, 2**40) + ms.gstr("a"))
    case("gguf_strarray_absurd.gguf", ms.gguf_bytes(tens, kvs + [sarr]), "error", "array of 2^40 strings")
    nest = struct.pack("<IQ", 9, 1) * 100000 + struct.pack("<IQ", 4, 1) + struct.pack("<I", 1)
    case("gguf_array_bomb.gguf", ms.gguf_bytes(tens, kvs + [ms.gkv("deep", 9, nest)]), "error",
         "arrays nested 100000 deep")
    case("gguf_kvtype99.gguf", ms.gguf_bytes(tens, kvs + [ms.gkv("x", 99, b"\0" * 8)]), "error",
         "value type 99")
    case("gguf_ndims9.gguf", ms.gguf_bytes([("a.weight", 0, (1,) * 9)], kvs), "error", "nine dimensions")

    def patch_info(name, edit):
        """Rewrite the tensor info of `name` in the base file via edit(dims, type, off)."""
        data = bytearray(base)
        p = data.find(ms.gstr(name))
        p += len(ms.gstr(name))
        nd = struct.unpack_from("<I", data, p)[0]
        dims = list(struct.unpack_from(f"<{nd}Q", data, p + 4))
        t, off = struct.unpack_from("<IQ", data, p + 4 + 8 * nd)
        dims, t, off = edit(dims, t, off)
        struct.pack_into(f"<{nd}Q", data, p + 4, *dims)
        struct.pack_into("<IQ", data, p + 4 + 8 * nd, t, off)
        return bytes(data)
    case("gguf_dims_overflow.gguf", patch_info("a.weight", lambda d, t, o: ([2**40, 2**40], t, o)),
         "error", "dims product overflows")
    case("gguf_dims_huge.gguf", patch_info("a.weight", lambda d, t, o: ([2**20, 2**20], t, o)),
         "error", "4 TiB tensor in a small file")
    case("gguf_dims_zero_q8.gguf", patch_info("b.weight", lambda d, t, o: ([33, 2], t, o)),
         "error", "Q8_0 row of 33 elements")
    case("gguf_type99.gguf", patch_info("a.weight", lambda d, t, o: (d, 99, o)), "error", "tensor type 99")
    case("gguf_offset_out.gguf", patch_info("b.weight", lambda d, t, o: (d, t, 2**40)), "error",
         "offset past the end")
    case("gguf_offset_wrap.gguf", patch_info("b.weight", lambda d, t, o: (d, t, 2**64 - 32)), "error",
         "offset wraps 2^64")
    case("gguf_offset_misaligned.gguf", patch_info("b.weight", lambda d, t, o: (d, t, o + 4)), "error",
         "offset not a multiple of the alignment")
    case("gguf_overlap.gguf", patch_info("b.weight", lambda d, t, o: (d, t, 0)), "error",
         "two tensors at the same offset")
    case("gguf_align0.gguf", ms.gguf_bytes(tens, [kvs[0], ms.gkv("general.alignment", 4, struct.pack("<I", 0))]),
         "error", "alignment 0")
    case("gguf_align3.gguf", ms.gguf_bytes(tens, [kvs[0], ms.gkv("general.alignment", 4, struct.pack("<I", 3))]),
         "error", "alignment 3, not a power of two")
    case("gguf_align_type.gguf", ms.gguf_bytes(tens, [kvs[0], ms.gkv("general.alignment", 10, struct.pack("<Q", 32))]),
         "error", "alignment stored as UINT64")
    case("gguf_dup_name.gguf", ms.gguf_bytes([("a.weight", 0, (8, 4)), ("a.weight", 0, (8, 4))], kvs),
         "error", "two tensors named a.weight")
    case("gguf_name_nonutf8.gguf", base.replace(b"a.weight", b"a\xff\xfeeight"), "error",
         "tensor name is not UTF-8")
    nan = bytearray(base)
    doff = len(base) - 128 - 96  # data section: a.weight (32 floats), then b.weight (2 Q8_0 blocks, padded)
    nan[doff:doff + 128] = np.full(32, np.nan, np.float32).tobytes()
    case("gguf_nan.gguf", bytes(nan), "finding", "NaN-filled F32 tensor")


# ---- safetensors -----------------------------------------------------------

def st_raw(hdr, blob, hlen=None):
    h = hdr if isinstance(hdr, bytes) else json.dumps(hdr).encode()
    return struct.pack("<Q", len(h) if hlen is None else hlen) + h + blob


def st_cases():
    w = np.arange(12, dtype=np.float32).reshape(3, 4) / 3
    b = np.ones(3, np.float32)
    blob = w.tobytes() + b.tobytes()
    good = {"w": {"dtype": "F32", "shape": [3, 4], "data_offsets": [0, 48]},
            "b": {"dtype": "F32", "shape": [3], "data_offsets": [48, 60]}}
    base = st_raw(good, blob)
    case("st_valid.safetensors", base, "ok", "valid two-tensor file")
    truncations("st", "safetensors", base, [0, 4, 7, 8, 9, 30, len(base) - 60, len(base) - 30, len(base) - 1])

    def hv(name, what, hdr, data=blob, expect="error", hlen=None):
        case(name + ".safetensors", st_raw(hdr, data, hlen), expect, what)

    def edit(name, key, val):
        h = json.loads(json.dumps(good))
        h[name][key] = val
        return h
    hv("st_hlen_absurd", "header length 2^63", good, hlen=2**63)
    hv("st_hlen_past_end", "header length past the end", good, hlen=len(base))
    hv("st_not_json", "header is not JSON", b"{\"w\": {\"dtype\": \"F32\", ", blob)
    hv("st_json_array", "header is a JSON array", b"[1, 2, 3]")
    hv("st_json_deep", "JSON nested 100000 deep", b"{\"a\":" + b"[" * 100000 + b"]" * 100000 + b"}")
    hv("st_offsets_out", "data_offsets past the end", edit("b", "data_offsets", [48, 6000]))
    hv("st_offsets_reversed", "data_offsets end before begin", edit("b", "data_offsets", [60, 48]))
    hv("st_offsets_overlap", "two tensors share bytes", edit("b", "data_offsets", [36, 48]))
    hv("st_offsets_huge", "data_offsets near 2^64", edit("b", "data_offsets", [2**64 - 12, 2**64 - 1]))
    hv("st_offsets_float", "data_offsets are not integers", edit("b", "data_offsets", [48.5, 60]))
    hv("st_offsets_neg", "negative data_offsets", edit("b", "data_offsets", [-12, 0]))
    hv("st_size_mismatch", "12 bytes for a 4x4 float tensor", edit("b", "shape", [4, 4]))
    hv("st_dtype_unknown", "dtype F33", edit("w", "dtype", "F33"))
    hv("st_shape_negative", "negative dim", edit("w", "shape", [-3, -4]))
    hv("st_shape_overflow", "shape product overflows", edit("w", "shape", [2**40, 2**40]))
    hv("st_shape_9", "nine dims", edit("w", "shape", [1] * 9))
    hv("st_shape_text", "shape is a string", edit("w", "shape", "3x4"))
    hdr = json.dumps(good).encode().replace(b'"w"', b'"w\xff\xfe"')
    hv("st_name_nonutf8", "tensor name is not UTF-8", hdr)
    hdr = json.dumps(good).encode().replace(b'"w"', b'"w\\u001b]0;owned\\u0007"')
    hv("st_name_escape", "tensor name holds a terminal escape sequence", hdr)
    hv("st_nan", "NaN-filled tensor", good,
       data=np.full((3, 4), np.nan, np.float32).tobytes() + b.tobytes(), expect="finding")
    # index JSON with shards
    shard = st_raw({"w": good["w"]}, w.tobytes())

    def index(name, what, wm, shards, expect="error"):
        for sname, data in shards.items():
            side(sname, data)
        case(name + ".safetensors.index.json", json.dumps({"weight_map": wm}).encode(), expect, what)
    index("st_index_valid", "valid index with one shard", {"w": "st_index_valid-00001.safetensors"},
          {"st_index_valid-00001.safetensors": shard}, "ok")
    index("st_index_missing", "shard file missing", {"w": "st_index_missing-00001.safetensors"}, {})
    index("st_index_traversal", "shard name escapes the folder", {"w": "../../../../etc/passwd"}, {})
    # load_index checks that each shard holds the tensors the weight_map names.
    index("st_index_wrong_tensor", "shard lacks the tensor the index names",
          {"zz": "st_index_wrong_tensor-00001.safetensors"},
          {"st_index_wrong_tensor-00001.safetensors": shard}, "error")
    case("st_index_not_object.safetensors.index.json", b'{"weight_map": [1, 2]}', "error",
         "weight_map is not an object")


# ---- recipe ----------------------------------------------------------------

def recipe_cases():
    hdr = b"pattern,action,bits,scheme,granularity,method\n"
    bad = {
        "bad_header": (b"pattern;action;bits\n*,quantize,8\n", "header is not the recipe columns"),
        "action": (hdr + b"*,squash,8,sym,tensor,minmax\n", "unknown action"),
        "bits99": (hdr + b"*,quantize,99,sym,tensor,minmax\n", "bits 99"),
        "bits_neg": (hdr + b"*,quantize,-1,sym,tensor,minmax\n", "bits -1"),
        "bits_text": (hdr + b"*,quantize,eight,sym,tensor,minmax\n", "bits not a number"),
        "scheme": (hdr + b"*,quantize,8,wobbly,tensor,minmax\n", "unknown scheme"),
        "group0": (hdr + b"*,quantize,4,sym,group:0,minmax\n", "group size 0"),
        "group_huge": (hdr + b"*,quantize,4,sym,group:99999999999999999999999,minmax\n", "group size overflows"),
        "percentile": (hdr + b"*,quantize,8,sym,tensor,percentile:200\n", "percentile 200"),
        "method": (hdr + b"*,quantize,8,sym,tensor,magic\n", "unknown method"),
        "quote": (hdr + b"\"*,quantize,8,sym,tensor,minmax\n", "unterminated quote"),
        "nul": (hdr + b"*,quant\0ize,8,sym,tensor,minmax\n", "NUL byte in a cell"),
        "columns": (hdr + b"*,quantize,8,sym,tensor,minmax,extra,more,and,more\n", "too many cells"),
        "qtype": (b"pattern,action,bits,scheme,granularity,method,qtype\n*,quantize,,,,,Q9_9\n",
                  "unknown qtype"),
        "empty": (b"", "empty file"),
    }
    for k, (data, what) in bad.items():
        case(f"recipe_{k}.csv", data, "error", what, run="recipe")


def main():
    os.makedirs(OUT, exist_ok=True)
    npy_cases()
    npz_cases()
    onnx_cases()
    gguf_cases()
    st_cases()
    recipe_cases()
    with open(os.path.join(OUT, "manifest.tsv"), "w") as f:
        for r in rows:
            f.write("\t".join(r) + "\n")


if __name__ == "__main__":
    main()
