#!/usr/bin/env bash
# Writing a quantized model holds a tensor or two, not the input: `qscope
# quantize` on a 48 MiB f32 safetensors (24 tensors of 2 MiB, written here by
# numpy) to int8 safetensors, and on the same tensors as an f32 GGUF to Q8_0,
# must peak below 2 x the largest tensor + the program's own baseline (its
# peak RSS running `inspect` on the same file) + 16 MiB — far below the 48
# MiB a writer keeping the input's mapped pages would add. And `qscope
# report` on the tensors as ONNX MatMul initializers (channels along axis 1)
# peaks within 24 MiB of the same report on the safetensors file with
# --axis 1 — the ONNX reader keeps no copy of the weights (protobuf-c would
# copy them into the heap while the file's pages are resident: +48 MiB or
# more). Peak RSS from GNU
# time (%M, KiB). Not under the sanitizers: their shadow memory and freed-
# block quarantine would be measured, not qscope.
# labels: nosan
. "$(dirname "$0")/lib.bash"
command -v /usr/bin/time >/dev/null || { echo "GNU time not installed"; exit 77; }

"$PY" - <<'PYEOF'
import json, struct
import numpy as np
rng = np.random.default_rng(5)
ts = {f"blk.{i}.weight": rng.normal(0, 0.02, (512, 1024)).astype(np.float32) for i in range(24)}

hdr, off = {}, 0
for k, v in ts.items():
    hdr[k] = {"dtype": "F32", "shape": list(v.shape), "data_offsets": [off, off + v.nbytes]}
    off += v.nbytes
h = json.dumps(hdr).encode()
h += b" " * (-len(h) % 8)
with open("m.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h)
    for v in ts.values():
        f.write(v.tobytes())

# GGUF v3: header, no metadata, tensor infos (dims innermost first, type
# 0 = F32, offsets aligned to 32), then the data
def gstr(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b
out = b"GGUF" + struct.pack("<IQQ", 3, len(ts), 0)
off = 0
for k, v in ts.items():
    out += gstr(k) + struct.pack("<I", 2) + struct.pack("<QQ", v.shape[1], v.shape[0])
    out += struct.pack("<IQ", 0, off)
    off += v.nbytes + (-v.nbytes % 32)
out += b"\0" * (-len(out) % 32)
with open("m.gguf", "wb") as f:
    f.write(out)
    for v in ts.values():
        f.write(v.tobytes() + b"\0" * (-v.nbytes % 32))

# ONNX: each weight W[1024-wide rows] feeds a MatMul as its second input
import onnx
from onnx import helper, numpy_helper, TensorProto
nodes = [helper.make_node("MatMul", ["x", k], [f"y{i}"]) for i, k in enumerate(ts)]
g = helper.make_graph(nodes, "rss", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 512])],
                      [helper.make_tensor_value_info(f"y{i}", TensorProto.FLOAT, [1, 1024])
                       for i in range(len(ts))],
                      [numpy_helper.from_array(v, k) for k, v in ts.items()])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), "m.onnx")
PYEOF

peak() { # peak RSS in KiB of the command
	/usr/bin/time -f %M -o rss.txt "$@" >/dev/null 2>err.txt || { cat err.txt >&2; fail "$*"; }
	tail -1 rss.txt
}
base=$(peak "$QSCOPE" inspect m.safetensors)
largest=$((512 * 1024 * 4 / 1024))
limit=$((base + 2 * largest + 16 * 1024))
for run in "m.safetensors -o q.safetensors" "m.gguf --qtype Q8_0 -o q.gguf"; do
	# shellcheck disable=SC2086
	got=$(peak "$QSCOPE" quantize $run)
	echo "quantize $run: peak $got KiB (baseline $base, limit $limit)"
	[ "$got" -le "$limit" ] || fail "quantize $run peaked at $got KiB > $limit KiB"
done
[ -s q.safetensors ] && [ -s q.gguf ] || fail "no output written"
st=$(peak "$QSCOPE" report m.safetensors --axis 1 --csv r.csv)
got=$(peak "$QSCOPE" report m.onnx --csv r.csv)
echo "report m.onnx: peak $got KiB (the same report of m.safetensors: $st KiB)"
[ "$got" -le $((st + 24 * 1024)) ] || fail "report m.onnx peaked at $got KiB > $st + 24 MiB"
[ "$(wc -l <r.csv)" -eq 25 ] || fail "report m.onnx: $(wc -l <r.csv) CSV lines, want 25"
