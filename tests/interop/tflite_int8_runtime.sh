#!/usr/bin/env bash
# labels: interop tflite
# An int8 FULLY_CONNECTED model (built with flatc from tests/io/tflite_subset.fbs)
# whose weights were quantized coarsely (per-tensor codes within ±7) is
# requantized in place by `qscope quantize --granularity tensor --narrow-range`
# (codes within ±127, new scale, the int32 bias rewritten with s_x·s_w') and
# run in TFLite's own runtime (@tensorflow/tfjs-tflite WASM) next to the
# original: both must give numpy's float result y = W·x + b of the decoded
# original within 1.5 output steps, and a copy whose bias codes are put back
# to the old ones (bias not following the new weight scale) must not.
. "$QSCOPE_SRC/tests/cli/lib.bash"
modules=$QSCOPE_SRC/share/setup/node_modules
command -v flatc >/dev/null || { echo "no flatc (share/setup/deps.sh)"; exit 77; }
command -v node >/dev/null || { echo "no node"; exit 77; }
[ -f "$modules/@tensorflow/tfjs-tflite/wasm/tflite_web_api_cc.wasm" ] ||
	{ echo "@tensorflow/tfjs-tflite not installed (share/setup/deps.sh)"; exit 77; }

"$PY" - <<'PYEOF'
import json
import numpy as np
rng = np.random.default_rng(5)
W = rng.normal(0, 0.5, (6, 8)).astype(np.float32)
b = np.array([0.1, -0.2, 0.3, 0.05, -0.4, 0.25], np.float32)
sx = np.float32(0.05)
xq = np.array([20, -40, 60, -80, 10, 0, 90, -30], np.int8)
sw = np.float32(np.abs(W).max() / np.float32(7))
wq = np.clip(np.rint(W / sw), -7, 7).astype(np.int8)
sb = np.float32(sx * sw)
bq = np.rint(b / sb).astype(np.int32)
y = (wq.astype(np.float64) * sw) @ (xq.astype(np.float64) * sx) + bq * np.float64(sb)
sy = np.float32(np.abs(y).max() / 100)
model = {
  "version": 3,
  "operator_codes": [{"deprecated_builtin_code": 9, "version": 4}],
  "subgraphs": [{
    "tensors": [
      {"name": "x", "type": "INT8", "shape": [1, 8], "buffer": 3,
       "quantization": {"scale": [float(sx)], "zero_point": [0]}},
      {"name": "fc/w", "type": "INT8", "shape": [6, 8], "buffer": 1,
       "quantization": {"scale": [float(sw)], "zero_point": [0]}},
      {"name": "fc/b", "type": "INT32", "shape": [6], "buffer": 2,
       "quantization": {"scale": [float(sb)], "zero_point": [0]}},
      {"name": "y", "type": "INT8", "shape": [1, 6], "buffer": 4,
       "quantization": {"scale": [float(sy)], "zero_point": [0]}}],
    "inputs": [0], "outputs": [3],
    "operators": [{"opcode_index": 0, "inputs": [0, 1, 2], "outputs": [3]}]}],
  "buffers": [{}, {"data": [int(v) & 255 for v in wq.ravel()]},
              {"data": list(bq.astype("<i4").tobytes())}, {}, {}]}
json.dump(model, open("fc.json", "w"))
json.dump([int(v) for v in xq], open("input.json", "w"))
np.save("ref.npy", np.array([*y, sy, sw], np.float64))
PYEOF
flatc -b -o . "$QSCOPE_SRC/tests/io/tflite_subset.fbs" fc.json || fail "flatc"
run_rc 0 "$QSCOPE" quantize fc.tflite -o fine.tflite --granularity tensor --narrow-range --quiet
"$PY" - <<'PYEOF'
import numpy as np
a, b = open("fc.tflite", "rb").read(), bytearray(open("fine.tflite", "rb").read())
import json
m = json.load(open("fc.json"))
# the weights were requantized: same place, codes now reaching ±127
w = bytes(m["buffers"][1]["data"])
at = a.index(w)
codes = np.frombuffer(bytes(b[at:at + len(w)]), np.int8)
assert np.abs(codes).max() == 127 and np.abs(np.frombuffer(w, np.int8)).max() == 7
# put the original bias codes back into the written model: bias not rescaled
orig = bytes(m["buffers"][2]["data"])
d = [i for i in range(len(a) - len(orig)) if a[i:i + len(orig)] == orig]
assert len(d) == 1
b[d[0]:d[0] + len(orig)] = orig
assert bytes(b) != open("fine.tflite", "rb").read(), "the bias was not rewritten"
open("stale_bias.tflite", "wb").write(bytes(b))
PYEOF
node "$QSCOPE_SRC/tests/interop/tflite_run.js" "$modules" --input input.json fc.tflite \
	fine.tflite stale_bias.tflite >run.json || fail "the TFLite runtime failed"
"$PY" - <<'PYEOF'
import json
import numpy as np
r = json.load(open("run.json"))
ref = np.load("ref.npy")
y, sy = ref[:6], ref[6]
err = {k: float(np.max(np.abs(np.array(v["y"], np.float64) * sy - y)) / sy) for k, v in r.items()}
print("max |runtime − numpy| in output steps: " +
      ", ".join("%s %.2f" % (k, e) for k, e in err.items()))
assert err["fc.tflite"] <= 1.5 and err["fine.tflite"] <= 1.5, err
assert err["stale_bias.tflite"] > 3, err
PYEOF
echo "tflite_int8_runtime: ok"
