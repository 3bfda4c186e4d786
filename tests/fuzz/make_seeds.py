#!/usr/bin/python3
"""Write the seed corpora of the fuzz harnesses: small valid files of every
format, made with numpy/onnx (Debian's python3) or by hand from the byte
layouts in docs/formats.md. Usage: make_seeds.py OUTDIR  (one folder per
harness: npy npz onnx onnx_ext gguf safetensors safetensors_index recipe)."""
import io
import json
import os
import struct
import sys
import zipfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SEP = b"@@QSPART@@"
rng = np.random.default_rng(8)


def put(out, sub, name, data):
    d = os.path.join(out, sub)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def npy_bytes(a, version=None):
    b = io.BytesIO()
    if version:
        np.lib.format.write_array(b, a, version=version)
    else:
        np.save(b, a)
    return b.getvalue()


def npy_seeds(out):
    w = rng.standard_normal((4, 6)).astype(np.float32)
    put(out, "npy", "f32_4x6.npy", npy_bytes(w))
    put(out, "npy", "f16_3.npy", npy_bytes(np.array([1.5, -2, 65504], np.float16)))
    put(out, "npy", "f64_2x2.npy", npy_bytes(np.arange(4.0).reshape(2, 2)))
    put(out, "npy", "i8_2x3.npy", npy_bytes(np.array([[-128, 0, 127], [1, 2, 3]], np.int8)))
    put(out, "npy", "u8_5.npy", npy_bytes(np.arange(5, dtype=np.uint8)))
    put(out, "npy", "i64_3.npy", npy_bytes(np.array([1, -1, 2**40], np.int64)))
    put(out, "npy", "bool_4.npy", npy_bytes(np.array([1, 0, 1, 1], bool)))
    put(out, "npy", "be_f4.npy", npy_bytes(w.astype(">f4")))
    put(out, "npy", "fortran.npy", npy_bytes(np.asfortranarray(w)))
    put(out, "npy", "scalar.npy", npy_bytes(np.float32(3.25)))
    put(out, "npy", "empty_0x3.npy", npy_bytes(np.zeros((0, 3), np.float32)))
    put(out, "npy", "v2_f32.npy", npy_bytes(w[:2], version=(2, 0)))
    put(out, "npy", "nan_inf.npy",
        npy_bytes(np.array([np.nan, np.inf, -np.inf, 1e-45], np.float32)))
    put(out, "npy", "i16_i32.npy", npy_bytes(np.array([[1, -300]], np.int16)))
    put(out, "npy", "4d.npy", npy_bytes(rng.standard_normal((2, 3, 2, 2)).astype(np.float32)))


def npz_seeds(out):
    arrs = {"conv.weight": rng.standard_normal((4, 2, 3, 3)).astype(np.float32),
            "conv.bias": np.zeros(4, np.float32),
            "act": rng.standard_normal((2, 5)).astype(np.float16)}
    b = io.BytesIO()
    np.savez(b, **arrs)
    put(out, "npz", "stored.npz", b.getvalue())
    b = io.BytesIO()
    np.savez_compressed(b, **arrs)
    put(out, "npz", "deflate.npz", b.getvalue())
    b = io.BytesIO()
    np.savez(b, np.arange(6, dtype=np.int8).reshape(2, 3))
    put(out, "npz", "positional.npz", b.getvalue())
    # a plain zip (no zip64 extras), one member in a folder
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_STORED) as z:
        z.writestr("dir/w.npy", npy_bytes(np.ones((2, 2), np.float32)))
    put(out, "npz", "plainzip.npz", b.getvalue())


def f32(name, shape):
    return numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32), name)


def model(nodes, inits, name="g", inputs=None, outputs=None, opset=13, **kw):
    inputs = inputs or [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 4, 4])]
    outputs = outputs or [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)]
    g = helper.make_graph(nodes, name, inputs, outputs, initializer=inits, **kw)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 7
    return m


def onnx_seeds(out):
    conv = model([helper.make_node("Conv", ["x", "W", "B"], ["y"], name="conv")],
                 [f32("W", (3, 2, 3, 3)), f32("B", (3,))])
    put(out, "onnx", "conv.onnx", conv.SerializeToString())

    mm = model([helper.make_node("MatMul", ["x", "W"], ["h"]),
                helper.make_node("Gemm", ["h", "W2", "C"], ["y"], transB=1)],
               [f32("W", (4, 6)), f32("W2", (3, 6)), f32("C", (3,))],
               inputs=[helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4])])
    put(out, "onnx", "matmul_gemm.onnx", mm.SerializeToString())

    # QDQ: int8 per-channel weight + DequantizeLinear, uint8 activations
    wq = numpy_helper.from_array(rng.integers(-127, 128, (3, 2, 3, 3)).astype(np.int8), "W_quantized")
    ws = numpy_helper.from_array(np.array([0.01, 0.02, 0.005], np.float32), "W_scale")
    wz = numpy_helper.from_array(np.zeros(3, np.int8), "W_zero_point")
    xs = numpy_helper.from_array(np.array(0.05, np.float32), "x_scale")
    xz = numpy_helper.from_array(np.array(128, np.uint8), "x_zero_point")
    qdq = model([helper.make_node("QuantizeLinear", ["x", "x_scale", "x_zero_point"], ["xq"]),
                 helper.make_node("DequantizeLinear", ["xq", "x_scale", "x_zero_point"], ["xd"]),
                 helper.make_node("DequantizeLinear", ["W_quantized", "W_scale", "W_zero_point"],
                                  ["W_dq"], axis=0),
                 helper.make_node("Conv", ["xd", "W_dq", "B"], ["y"])],
                [wq, ws, wz, xs, xz, f32("B", (3,))])
    put(out, "onnx", "qdq_conv.onnx", qdq.SerializeToString())

    # QOperator: QLinearMatMul with uint8 weights
    qa = numpy_helper.from_array(rng.integers(0, 256, (4, 3)).astype(np.uint8), "B_q")
    qlin = model([helper.make_node("QLinearMatMul", ["xq", "xs", "xz", "B_q", "bs", "bz", "ys", "yz"], ["y"])],
                 [qa, numpy_helper.from_array(np.array(0.1, np.float32), "xs"),
                  numpy_helper.from_array(np.array(0, np.uint8), "xz"),
                  numpy_helper.from_array(np.array(0.02, np.float32), "bs"),
                  numpy_helper.from_array(np.array(120, np.uint8), "bz"),
                  numpy_helper.from_array(np.array(0.3, np.float32), "ys"),
                  numpy_helper.from_array(np.array(3, np.uint8), "yz")],
                 inputs=[helper.make_tensor_value_info("xq", TensorProto.UINT8, [2, 4])])
    put(out, "onnx", "qlinear_matmul.onnx", qlin.SerializeToString())

    # weights in Constant nodes, float_data (not raw) and fp16
    c = helper.make_tensor("Wc", TensorProto.FLOAT, [2, 4], rng.standard_normal(8).tolist())
    h = numpy_helper.from_array(rng.standard_normal((2, 2)).astype(np.float16), "Wh")
    const = model([helper.make_node("Constant", [], ["Wc"], value=c),
                   helper.make_node("Constant", [], ["Wh"], value=h),
                   helper.make_node("MatMul", ["x", "Wc"], ["y"])], [],
                  inputs=[helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 2])])
    put(out, "onnx", "constant_nodes.onnx", const.SerializeToString())

    # If with initializers in both branches, one branch nested again
    inner = helper.make_graph([helper.make_node("Identity", ["Wi"], ["o"])], "inner", [],
                              [helper.make_tensor_value_info("o", TensorProto.FLOAT, None)],
                              initializer=[f32("Wi", (2, 2))])
    then_g = helper.make_graph([helper.make_node("If", ["cond"], ["o"], then_branch=inner,
                                                 else_branch=inner)], "then", [],
                               [helper.make_tensor_value_info("o", TensorProto.FLOAT, None)])
    else_g = helper.make_graph([helper.make_node("Identity", ["We"], ["o"])], "else", [],
                               [helper.make_tensor_value_info("o", TensorProto.FLOAT, None)],
                               initializer=[f32("We", (2, 2))])
    iff = model([helper.make_node("If", ["cond"], ["y"], then_branch=then_g, else_branch=else_g)],
                [], inputs=[helper.make_tensor_value_info("cond", TensorProto.BOOL, [])])
    put(out, "onnx", "if_nested.onnx", iff.SerializeToString())

    # other element types, int64_data and a packed-dims tensor
    misc = model([helper.make_node("Add", ["x", "x"], ["y"])],
                 [helper.make_tensor("I64", TensorProto.INT64, [3], [1, -2, 3]),
                  numpy_helper.from_array(np.arange(6, dtype=np.int32).reshape(2, 3), "I32"),
                  numpy_helper.from_array(np.array([1.0, 2.0], np.float64), "D"),
                  helper.make_tensor("BF", TensorProto.BFLOAT16, [2], [0x3f80, 0xc000], raw=False),
                  numpy_helper.from_array(np.arange(4, dtype=np.uint16), "U16"),
                  numpy_helper.from_array(np.array(7.0, np.float32), "scalar")])
    put(out, "onnx", "dtypes.onnx", misc.SerializeToString())


def external_model(parts):
    """A model whose initializers live in side files: parts = [(name, shape,
    location, offset)]; returns (model bytes, side file bytes by location)."""
    inits, files = [], {}
    for name, shape, loc, off in parts:
        a = rng.standard_normal(shape).astype(np.float32)
        t = TensorProto()
        t.name, t.data_type = name, TensorProto.FLOAT
        t.dims.extend(shape)
        t.data_location = TensorProto.EXTERNAL
        blob = files.setdefault(loc, bytearray())
        blob.extend(b"\0" * (off - len(blob)))
        blob.extend(a.tobytes())
        for k, v in (("location", loc), ("offset", str(off)), ("length", str(a.nbytes))):
            e = t.external_data.add()
            e.key, e.value = k, v
        inits.append(t)
    m = model([helper.make_node("MatMul", ["x", parts[0][0]], ["y"])], inits,
              inputs=[helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])])
    return m.SerializeToString(), files


def onnx_ext_seeds(out):
    mb, files = external_model([("W", (4, 3), "w.bin", 0), ("B", (3,), "w.bin", 64)])
    put(out, "onnx_ext", "two_in_one.bin", mb + SEP + bytes(files["w.bin"]))
    mb, files = external_model([("W", (4, 3), "w.bin", 0), ("V", (2, 2), "sub/v.bin", 0)])
    put(out, "onnx_ext", "two_files.bin",
        mb + SEP + bytes(files["w.bin"]) + SEP + bytes(files["sub/v.bin"]))
    # no offset/length keys: the whole file
    mb, files = external_model([("W", (4, 3), "w.bin", 0)])
    m = onnx.load_from_string(mb)
    for t in m.graph.initializer:
        keep = [(e.key, e.value) for e in t.external_data if e.key == "location"]
        t.ClearField("external_data")
        for k, v in keep:
            e = t.external_data.add()
            e.key, e.value = k, v
    put(out, "onnx_ext", "whole_file.bin", m.SerializeToString() + SEP + bytes(files["w.bin"]))


GGUF_T = {"f32": 0, "f16": 1, "q4_0": 2, "q4_1": 3, "q5_0": 6, "q5_1": 7, "q8_0": 8,
          "q2_k": 10, "q3_k": 11, "q4_k": 12, "q5_k": 13, "q6_k": 14, "bf16": 30}
# (block elements, block bytes)
GGUF_B = {0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34),
          10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176), 14: (256, 210), 30: (1, 2)}


def gstr(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def gkv(key, vtype, payload):
    return gstr(key) + struct.pack("<I", vtype) + payload


def gguf_bytes(tensors, kvs, align=32, version=3):
    """tensors = [(name, ggml type, dims in GGUF order (innermost first))]"""
    head = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(kvs)) + b"".join(kvs)
    infos, datas, off = b"", b"", 0
    for name, t, dims in tensors:
        n = int(np.prod(dims))
        be, bb = GGUF_B[t]
        size = n // be * bb
        if t == 0:
            blob = rng.standard_normal(n).astype(np.float32).tobytes()
        elif t in (1, 30):
            blob = rng.standard_normal(n).astype(np.float16).tobytes()
        else:  # block data: fp16 scales of 0.01, random codes
            blk = bytearray(rng.integers(0, 256, size, dtype=np.uint8).tobytes())
            for i in range(0, size, bb):
                blk[i:i + 2] = np.float16(0.01).tobytes()
            blob = bytes(blk)
        infos += gstr(name) + struct.pack("<I", len(dims)) + b"".join(
            struct.pack("<Q", d) for d in dims) + struct.pack("<IQ", t, off)
        datas += blob + b"\0" * (-len(blob) % align)
        off = len(datas)
    body = head + infos
    body += b"\0" * (-len(body) % align)
    return body + datas


def gguf_seeds(out):
    kvs = [gkv("general.architecture", 8, gstr("llama")),
           gkv("general.alignment", 4, struct.pack("<I", 32)),
           gkv("general.name", 8, gstr("seed"))]
    put(out, "gguf", "f32_f16.gguf", gguf_bytes(
        [("tok.weight", 0, (8, 4)), ("norm.weight", 0, (8,)), ("h.weight", 1, (8, 2))], kvs))
    put(out, "gguf", "legacy_quants.gguf", gguf_bytes(
        [("a.weight", 2, (64, 2)), ("b.weight", 3, (32, 1)), ("c.weight", 6, (32, 2)),
         ("d.weight", 7, (32, 1)), ("e.weight", 8, (64, 1))], kvs))
    put(out, "gguf", "kquants.gguf", gguf_bytes(
        [("q2.weight", 10, (256, 1)), ("q3.weight", 11, (256, 1)), ("q4.weight", 12, (256, 1)),
         ("q5.weight", 13, (256, 1)), ("q6.weight", 14, (256, 1))], kvs))
    put(out, "gguf", "bf16.gguf", gguf_bytes([("x.weight", 30, (4, 4))], kvs))
    allkv = kvs + [
        gkv("u8", 0, b"\x07"), gkv("i8", 1, b"\xf9"), gkv("u16", 2, struct.pack("<H", 7)),
        gkv("i16", 3, struct.pack("<h", -7)), gkv("i32", 5, struct.pack("<i", -7)),
        gkv("f32", 6, struct.pack("<f", 0.5)), gkv("b", 7, b"\x01"),
        gkv("u64", 10, struct.pack("<Q", 7)), gkv("i64", 11, struct.pack("<q", -7)),
        gkv("f64", 12, struct.pack("<d", 0.25)),
        gkv("arr.i32", 9, struct.pack("<IQ", 5, 3) + struct.pack("<3i", 1, 2, 3)),
        gkv("arr.str", 9, struct.pack("<IQ", 8, 2) + gstr("a") + gstr("bc"))]
    put(out, "gguf", "all_kv_types.gguf", gguf_bytes([("w.weight", 0, (4, 2))], allkv))
    put(out, "gguf", "align64.gguf", gguf_bytes(
        [("w.weight", 0, (3, 3)), ("v.weight", 8, (32, 1))],
        [gkv("general.alignment", 4, struct.pack("<I", 64))], align=64))
    put(out, "gguf", "v2_empty.gguf", gguf_bytes([], [gkv("general.name", 8, gstr("e"))], version=2))


ST_DT = {np.float32: "F32", np.float16: "F16", np.int8: "I8", np.uint8: "U8", np.int32: "I32",
         np.int64: "I64", np.float64: "F64", np.bool_: "BOOL", np.int16: "I16"}


def st_bytes(arrs, meta=None, extra=None):
    hdr, blob = {}, b""
    if meta:
        hdr["__metadata__"] = meta
    for name, a in arrs.items():
        raw = a.tobytes()
        dt = ST_DT[a.dtype.type] if a.dtype.type in ST_DT else a.dtype.name
        hdr[name] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [len(blob), len(blob) + len(raw)]}
        blob += raw
    for name, (dt, shape, raw) in (extra or {}).items():
        hdr[name] = {"dtype": dt, "shape": shape, "data_offsets": [len(blob), len(blob) + len(raw)]}
        blob += raw
    h = json.dumps(hdr, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + blob


def st_seeds(out):
    put(out, "safetensors", "floats.safetensors", st_bytes(
        {"fc.weight": rng.standard_normal((4, 3)).astype(np.float32),
         "fc.bias": np.zeros(4, np.float32),
         "emb.weight": rng.standard_normal((2, 4)).astype(np.float16)},
        meta={"format": "pt"}))
    put(out, "safetensors", "ints.safetensors", st_bytes(
        {"a": np.arange(6, dtype=np.int8).reshape(2, 3), "b": np.arange(3, dtype=np.int64),
         "c": np.array([True, False]), "d": np.arange(4, dtype=np.int16), "e": np.arange(2.0)}))
    bf = (rng.standard_normal(4).astype(np.float32).view(np.uint32) >> 16).astype(np.uint16).tobytes()
    put(out, "safetensors", "bf16_fp8.safetensors", st_bytes(
        {}, extra={"w.bf": ("BF16", [2, 2], bf), "w.f8": ("F8_E4M3", [4], bytes([0x38, 0xb8, 0x7e, 0]))}))
    # compressed-tensors style: int8 weight with per-channel scale; packed int4
    put(out, "safetensors", "compressed_int8.safetensors", st_bytes(
        {"l.weight": rng.integers(-127, 128, (3, 4)).astype(np.int8),
         "l.weight_scale": np.array([[0.01], [0.02], [0.03]], np.float32),
         "l.weight_zero_point": np.zeros((3, 1), np.int8)},
        meta={"quantization_config": json.dumps({"format": "int-quantized"})}))
    packed = rng.integers(0, 2**31, (2, 1)).astype(np.int32)
    put(out, "safetensors", "compressed_pack4.safetensors", st_bytes(
        {"p.weight_packed": packed, "p.weight_scale": np.array([[0.1], [0.2]], np.float32),
         "p.weight_shape": np.array([2, 8], np.int64)},
        meta={"quantization_config": json.dumps({"format": "pack-quantized"})}))
    put(out, "safetensors", "empty.safetensors", st_bytes({}))
    put(out, "safetensors", "scalar_zero.safetensors", st_bytes(
        {"s": np.array(1.0, np.float32), "z": np.zeros((0, 4), np.float32)}))


def st_index_seeds(out):
    a = st_bytes({"l0.weight": rng.standard_normal((2, 3)).astype(np.float32)})
    b = st_bytes({"l1.weight": rng.standard_normal((3, 2)).astype(np.float32),
                  "l1.bias": np.zeros(3, np.float32)})
    idx = {"metadata": {"total_size": 48},
           "weight_map": {"l0.weight": "model-00001-of-00002.safetensors",
                          "l1.weight": "model-00002-of-00002.safetensors",
                          "l1.bias": "model-00002-of-00002.safetensors"}}
    put(out, "safetensors_index", "two_shards.bin", json.dumps(idx).encode() + SEP + a + SEP + b)
    idx1 = {"weight_map": {"l0.weight": "model-00001-of-00002.safetensors",
                           "l1.weight": "model-00002-of-00002.safetensors"}}
    b1 = st_bytes({"l1.weight": rng.standard_normal((3, 2)).astype(np.float16)})
    put(out, "safetensors_index", "fp16_shard.bin", json.dumps(idx1).encode() + SEP + a + SEP + b1)


def recipe_seeds(out):
    r = "recipe"
    put(out, r, "basic.csv", b"pattern,action,bits,scheme,granularity,method\n"
        b"*.bias,keep-float,,,,\n*conv*,quantize,8,sym,channel,minmax\n"
        b"*,quantize,4,asym,group:32,percentile:99.9\n")
    put(out, r, "extra_cols.csv", b"pattern,action,bits,scheme,granularity,method,qtype,min_sqnr\n"
        b"blk.*.attn_*,quantize,,,,mse,Q4_K,25\nembed*,keep-float,,,,,,\n"
        b"*,quantize,8,sym,tensor,aciq-laplace,int8,\n")
    put(out, r, "quoted.csv", b'pattern,action,bits,scheme,granularity,method\r\n'
        b'"a,b*",quantize,"16",asym,tensor,kl\r\n"x""y",keep-float,,,,\r\n[ab]?,quantize,2,sym,'
        b'channel,aciq\r\n')
    put(out, r, "header_only.csv", b"pattern,action,bits,scheme,granularity,method\n")


def int4_tensor(name, dims, vals):
    """An ONNX INT4 (type 22) initializer, packed low nibble first (onnx 1.12
    has no helper for it)."""
    t = TensorProto()
    t.name, t.data_type = name, 22
    t.dims.extend(dims)
    v = [x & 15 for x in vals] + [0]
    t.raw_data = bytes(v[i] | (v[i + 1] << 4) for i in range(0, len(vals), 2))
    return t


def convention_seeds(out):
    """Files that reach the readers' quantization conventions (their own
    random stream, so the seeds above stay byte-identical)."""
    r = np.random.default_rng(9)
    A = numpy_helper.from_array

    def rf(name, shape):
        return A(r.standard_normal(shape).astype(np.float32), name)

    def m21(nodes, inits):
        return model(nodes, inits, opset=21).SerializeToString()

    # fake quant of a float weight (Q -> DQ) into ConvTranspose with a bias
    put(out, "onnx", "fakequant_convtranspose.onnx", m21(
        [helper.make_node("QuantizeLinear", ["W", "ws", "wz"], ["Wq"], axis=1),
         helper.make_node("DequantizeLinear", ["Wq", "ws", "wz"], ["Wd"], axis=1),
         helper.make_node("ConvTranspose", ["x", "Wd", "B"], ["y"], group=1)],
        [rf("W", (2, 3, 3, 3)), A(np.array([0.01, 0.02, 0.03], np.float32), "ws"),
         A(np.array([0, 1, -1], np.int8), "wz"), rf("B", (3,))]))
    # blocked int4 DequantizeLinear into MatMul + Add bias
    put(out, "onnx", "dq_block_int4.onnx", m21(
        [helper.make_node("DequantizeLinear", ["Wb", "bs", "bz"], ["Wd"], axis=0, block_size=2),
         helper.make_node("MatMul", ["x", "Wd"], ["h"]), helper.make_node("Add", ["h", "C"], ["y"])],
        [int4_tensor("Wb", [4, 6], r.integers(-8, 8, 24).tolist()),
         A(r.random((2, 6)).astype(np.float32), "bs"), int4_tensor("bz", [2, 6], [0] * 12),
         rf("C", (6,))]))
    # QLinearConv with an int32 bias; ConvInteger -> Cast -> Mul with ORT naming
    put(out, "onnx", "qlinearconv_convinteger.onnx", m21(
        [helper.make_node("QLinearConv", ["xq", "xs", "xz", "Wq", "ws", "wz", "ys", "yz", "Bq"],
                          ["y1"]),
         helper.make_node("ConvInteger", ["xq", "V_quantized", "xz", "V_zero_point"], ["ci"]),
         helper.make_node("Cast", ["ci"], ["cf"], to=1),
         helper.make_node("Mul", ["cf", "V_scale"], ["y"])],
        [A(r.integers(-127, 128, (3, 2, 1, 1)).astype(np.int8), "Wq"),
         A(np.array([0.1, 0.2, 0.3], np.float32), "ws"), A(np.zeros(3, np.int8), "wz"),
         A(np.array(0.05, np.float32), "xs"), A(np.array(128, np.uint8), "xz"),
         A(np.array(0.5, np.float32), "ys"), A(np.array(1, np.uint8), "yz"),
         A(np.array([10, -20, 30], np.int32), "Bq"),
         A(r.integers(0, 256, (3, 2, 1, 1)).astype(np.uint8), "V_quantized"),
         A(np.array(0.04, np.float32), "V_scale"), A(np.array(7, np.uint8), "V_zero_point")]))
    # LSTM weights; MatMulInteger with ORT naming
    put(out, "onnx", "lstm_matmulinteger.onnx", m21(
        [helper.make_node("LSTM", ["x", "Wl", "Rl", "Bl"], ["y"], hidden_size=2),
         helper.make_node("MatMulInteger", ["xq", "M_quantized", "", "mz"], ["mi"])],
        [rf("Wl", (1, 8, 3)), rf("Rl", (1, 8, 2)), rf("Bl", (1, 16)),
         A(r.integers(-127, 128, (3, 4)).astype(np.int8), "M_quantized"),
         A(np.array(0.1, np.float32), "M_scale"), A(np.array(0, np.int8), "mz")]))

    # GPTQ 4-bit with g_idx, 8-bit with a permuted g_idx, 2-bit; AWQ 4-bit
    put(out, "safetensors", "gptq4.safetensors", st_bytes(
        {"l.qweight": r.integers(-2**31, 2**31, (2, 8)).astype(np.int32),
         "l.scales": np.full((2, 8), 0.01, np.float16),
         "l.qzeros": np.full((2, 1), 0x77777777, np.int32),
         "l.g_idx": (np.arange(16) // 8).astype(np.int32)}))
    put(out, "safetensors", "gptq8_gidx.safetensors", st_bytes(
        {"l.qweight": r.integers(-2**31, 2**31, (2, 4)).astype(np.int32),
         "l.scales": np.full((2, 4), 0.5, np.float16),
         "l.qzeros": np.full((2, 1), 0x7f7f7f7f, np.int32),
         "l.g_idx": np.array([1, 0, 1, 0, 1, 0, 1, 0], np.int32)}))
    put(out, "safetensors", "gptq2.safetensors", st_bytes(
        {"l.qweight": np.full((2, 16), 0x1b1b1b1b, np.int32),
         "l.scales": np.full((2, 16), 0.25, np.float32),
         "l.qzeros": np.full((2, 1), 0x55555555, np.int32),
         "l.g_idx": (np.arange(32) // 16).astype(np.int32)}))
    put(out, "safetensors", "awq4.safetensors", st_bytes(
        {"l.qweight": r.integers(-2**31, 2**31, (16, 1)).astype(np.int32),
         "l.scales": np.full((2, 8), 0.01, np.float16),
         "l.qzeros": np.full((2, 1), 0x08888888, np.int32)}))
    # compressed-tensors pack-quantized with group scales and a packed zero
    # point; bitsandbytes LLM.int8
    put(out, "safetensors", "ctpack_zp_group.safetensors", st_bytes(
        {"p.weight_packed": np.full((8, 2), 0x12345678, np.int32),
         "p.weight_scale": np.ones((8, 2), np.float16),
         "p.weight_zero_point": np.full((1, 2), 0x33333333, np.int32),
         "p.weight_shape": np.array([8, 16], np.int64), "p.weight_g_idx": np.zeros(16, np.int32)}))
    put(out, "safetensors", "bnb_int8.safetensors", st_bytes(
        {"m.weight": np.arange(-6, 6, dtype=np.int8).reshape(3, 4),
         "m.SCB": np.array([1, 2, 3], np.float32)}))

    # npz quantized arrays: X.q + X.scale + X.zero_point (+ X.qinfo), float X
    q = r.integers(-128, 128, (2, 3)).astype(np.int8)
    b = io.BytesIO()
    np.savez(b, **{"w.q": q, "w.scale": np.array([0.5, 0.25], np.float32),
                   "w.zero_point": np.array([1, -2], np.int32),
                   "w.qinfo": np.array([8, -128, 127, 0, 0], np.float32), "w": q.astype(np.float32)})
    put(out, "npz", "quant_qinfo.npz", b.getvalue())
    b = io.BytesIO()
    np.savez(b, **{"g.q": np.arange(12, dtype=np.uint8).reshape(2, 6),
                   "g.scale": np.array([[0.5, 0.25, 1]] * 2, np.float32),
                   "g.zero_point": np.ones((2, 3), np.float32)})
    put(out, "npz", "quant_group_inferred.npz", b.getvalue())


def main():
    out = sys.argv[1]
    npy_seeds(out)
    npz_seeds(out)
    onnx_seeds(out)
    onnx_ext_seeds(out)
    gguf_seeds(out)
    st_seeds(out)
    st_index_seeds(out)
    recipe_seeds(out)
    convention_seeds(out)


if __name__ == "__main__":
    main()
