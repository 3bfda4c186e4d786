#!/usr/bin/env bash
# labels: interop realmodels tflite
# The models qscope writes run in TFLite's own runtime (the WASM build in
# @tensorflow/tfjs-tflite, share/setup/deps.sh), on one synthetic input:
# a copy with nothing planned gives the original's outputs bit for bit;
# 8-bit per-channel x̂ (fake quantization) stays close (relative L2 error of
# each output < 0.1); 4-bit x̂ moves each output at least twice as far.
. "$QSCOPE_SRC/tests/cli/lib.bash"
model=$QSCOPE_SHARED/models/face_detection_short_range.tflite
modules=$QSCOPE_SRC/share/setup/node_modules
[ -f "$model" ] || { echo "no ../shared/models"; exit 77; }
command -v node >/dev/null || { echo "no node"; exit 77; }
[ -f "$modules/@tensorflow/tfjs-tflite/wasm/tflite_web_api_cc.wasm" ] ||
	{ echo "@tensorflow/tfjs-tflite not installed (share/setup/deps.sh)"; exit 77; }

run_rc 0 "$QSCOPE" quantize "$model" -o same.tflite --exclude '*' --quiet
run_rc 0 "$QSCOPE" quantize "$model" -o q8.tflite --narrow-range --quiet
run_rc 0 "$QSCOPE" quantize "$model" -o q4.tflite --narrow-range --bits 4 --quiet
node "$QSCOPE_SRC/tests/interop/tflite_run.js" "$modules" "$model" same.tflite q8.tflite \
	q4.tflite >run.json || fail "the TFLite runtime failed"
"$PY" - run.json "$model" <<'PYEOF'
import json, sys
import numpy as np
r = json.load(open(sys.argv[1]))
base = r[sys.argv[2]]
assert set(base) == {"regressors", "classificators"}, list(base)
for o in base:
    assert r["same.tflite"][o] == base[o], o + ": the unchanged copy differs"
def rel(k, o):
    a, b = np.array(base[o]), np.array(r[k][o])
    return float(np.linalg.norm(b - a) / np.linalg.norm(a))
for o in base:
    e8, e4 = rel("q8.tflite", o), rel("q4.tflite", o)
    print("%s (%d values): relative L2 change 8-bit %.4f, 4-bit %.4f" % (o, len(base[o]), e8, e4))
    assert 0 < e8 < 0.1, o
    assert e4 > 2 * e8, o
PYEOF
echo "tflite_runtime: ok"
