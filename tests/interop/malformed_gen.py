"""Write malformed GGUF or safetensors files, one per defect, into DIR.

usage: malformed_gen.py gguf|safetensors DIR
Each file is a valid file with one defect (a byte-level edit made here, not
by qscope); its name says which. A valid control file is written as
ok.<ext>. Prints the file names, one per line.
"""
import json
import struct
import sys


def gstr(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def gguf(tensor_count=None, kv_count=None, version=3, magic=b"GGUF", kvs=None, infos=None,
         data=None, align=32, cut=None):
    kvs = kvs if kvs is not None else [gstr("general.architecture") + struct.pack("<I", 8) +
                                       gstr("test")]
    if infos is None:
        infos = [("w", [2, 4], 0, 0), ("q", [32, 1], 8, 32)]
    body = b"".join(kvs)
    ti = b""
    for name, dims, typ, off in infos:
        ti += gstr(name) + struct.pack("<I", len(dims)) + b"".join(
            struct.pack("<Q", d) for d in dims) + struct.pack("<IQ", typ, off)
    hdr = magic + struct.pack("<IQQ", version,
                              len(infos) if tensor_count is None else tensor_count,
                              len(kvs) if kv_count is None else kv_count)
    out = hdr + body + ti
    out += b"\0" * (-len(out) % align)
    if data is None:
        data = struct.pack("<8f", *range(8)) + b"\0" * 0 + b"\0" * (32 - 32)
        data = data + b"\0" * (32 - len(data)) + struct.pack("<e", 0.5) + bytes(range(32))
    out += data
    return out[:cut] if cut else out


def write_gguf(d):
    files = {
        "ok": gguf(),
        "bad_magic": gguf(magic=b"GGUX"),
        "version1": gguf(version=1),
        "truncated_infos": gguf(cut=70),
        "truncated_data": gguf(cut=len(gguf()) - 5),
        "absurd_tensor_count": gguf(tensor_count=1 << 60),
        "absurd_kv_count": gguf(kv_count=1 << 61),
        "absurd_string_length": gguf(kvs=[struct.pack("<Q", 1 << 62) + b"k"]),
        "nested_array": gguf(kvs=[gstr("a") + struct.pack("<IIQ", 9, 9, 1) +
                                  struct.pack("<IQ", 4, 0)]),
        "unknown_value_type": gguf(kvs=[gstr("a") + struct.pack("<I", 77) + b"\0" * 8]),
        "unknown_ggml_type": gguf(infos=[("w", [2, 4], 99, 0)]),
        "offset_past_end": gguf(infos=[("w", [2, 4], 0, 0), ("q", [32, 1], 8, 1 << 20)]),
        "misaligned_offset": gguf(infos=[("w", [2, 4], 0, 0), ("q", [32, 1], 8, 16)]),
        "overlapping": gguf(infos=[("w", [2, 4], 0, 0), ("q", [32, 1], 8, 0)]),
        "name_64_bytes": gguf(infos=[("n" * 64, [2, 4], 0, 0), ("q", [32, 1], 8, 32)]),
        "five_dims": gguf(infos=[("w", [2, 4, 1, 1, 1], 0, 0), ("q", [32, 1], 8, 32)]),
        "row_not_block": gguf(infos=[("w", [2, 4], 0, 0), ("q", [16, 2], 8, 32)]),
        "bad_alignment": gguf(kvs=[gstr("general.alignment") + struct.pack("<II", 4, 24)]),
        "absurd_dims": gguf(infos=[("w", [1 << 40, 1 << 40], 0, 0), ("q", [32, 1], 8, 32)]),
    }
    for k, v in files.items():
        open(f"{d}/{k}.gguf", "wb").write(v)
        print(f"{k}.gguf")


def st(entries, data, meta=None, hlen=None, raw_header=None, trailing=b""):
    hdr = {}
    if meta is not None:
        hdr["__metadata__"] = meta
    for name, dt, shape, off in entries:
        hdr[name] = {"dtype": dt, "shape": shape, "data_offsets": off}
    h = raw_header if raw_header is not None else json.dumps(hdr).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h) if hlen is None else hlen) + h + data + trailing


def write_st(d):
    ok = [("a", "F32", [2], [0, 8]), ("b", "I8", [4], [8, 12])]
    data = struct.pack("<2f", 1, 2) + bytes(4)
    files = {
        "ok": st(ok, data, meta={"format": "pt"}),
        "short": b"\x10\0\0",
        "header_over_limit": st(ok, data, hlen=100_000_001),
        "header_past_end": st(ok, data, hlen=1 << 40),
        "not_an_object": st([], b"", raw_header=b"[1,2]"),
        "bad_json": st([], b"", raw_header=b'{"a": {"dtype": '),
        "duplicate_key": st([], data, raw_header=b'{"a":{"dtype":"F32","shape":[2],'
                            b'"data_offsets":[0,8]},"a":{"dtype":"I8","shape":[4],'
                            b'"data_offsets":[8,12]}}'),
        "unknown_dtype": st([("a", "Q4", [2], [0, 8]), ("b", "I8", [4], [8, 12])], data),
        "size_mismatch": st([("a", "F32", [3], [0, 8]), ("b", "I8", [4], [8, 12])], data),
        "hole": st([("a", "F32", [1], [0, 4]), ("b", "I8", [4], [8, 12])], data),
        "overlap": st([("a", "F32", [2], [0, 8]), ("b", "I8", [4], [4, 8])], data),
        "offsets_past_end": st([("a", "F32", [2], [0, 8]), ("b", "I8", [4], [8, 1 << 40])],
                               data),
        "trailing_bytes": st(ok, data, trailing=b"x"),
        "truncated_data": st(ok, data[:-2]),
        "negative_shape": st([("a", "F32", [-2], [0, 8]), ("b", "I8", [4], [8, 12])], data),
        "metadata_not_string": st(ok, data, meta={"n": 1}),
    }
    for k, v in files.items():
        open(f"{d}/{k}.safetensors", "wb").write(v)
        print(f"{k}.safetensors")


if __name__ == "__main__":
    {"gguf": write_gguf, "safetensors": write_st}[sys.argv[1]](sys.argv[2])
