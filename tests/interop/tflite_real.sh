#!/usr/bin/env bash
# labels: interop realmodels tflite
# face_detection_short_range.tflite (fp16 weights behind DEQUANTIZE ops)
# against an independent reader (tests/interop/tflite_ref.py: FlatBuffers
# walked by hand in Python, values with numpy; flatc's own JSON dump for the
# counts): qscope lists the 85 tensors that have data with the same dtype,
# shape, role, op, axis and K; report's per-tensor mse/max_abs_err equal
# numpy's per-channel symmetric minmax; quantize writes a copy whose bytes
# differ only inside the float tensors, each holding numpy's x̂ as fp16 bit
# for bit (8-bit and 4-bit).
. "$QSCOPE_SRC/tests/cli/lib.bash"
model=$QSCOPE_SHARED/models/face_detection_short_range.tflite
ref=$QSCOPE_SRC/tests/interop/tflite_ref.py
[ -f "$model" ] || { echo "no ../shared/models"; exit 77; }

run_rc 0 "$QSCOPE" inspect "$model"
cp "$T/out" inspect.txt
"$PY" "$ref" check-inspect "$model" inspect.txt
[ "$("$PY" "$ref" tensors "$model" | wc -l)" -eq 85 ] || fail "the reference does not count 85 tensors"
if command -v flatc >/dev/null; then
	flatc --json --strict-json --raw-binary -o . "$QSCOPE_SRC/tests/io/tflite_subset.fbs" -- "$model"
	"$PY" - face_detection_short_range.json <<'PYEOF'
import json, sys
m = json.load(open(sys.argv[1]))
bufs = m["buffers"]
t = [x for x in m["subgraphs"][0]["tensors"] if x.get("buffer", 0) and bufs[x["buffer"]].get("data")]
assert len(t) == 85 and len(m["subgraphs"][0]["tensors"]) == 250, (len(t),)
assert sum(x.get("type") == "FLOAT16" for x in t) == 74
print("flatc: 250 tensors, 85 with data, 74 FLOAT16")
PYEOF
fi

run_rc 0 "$QSCOPE" report "$model" --narrow-range --csv t8.csv --quiet
"$PY" "$ref" check-report "$model" t8.csv 8
for bits in 8 4; do
	run_rc 0 "$QSCOPE" quantize "$model" -o "q$bits.tflite" --narrow-range --bits "$bits" --quiet
	"$PY" "$ref" check-write "$model" "q$bits.tflite" "$bits"
	run_rc 0 "$QSCOPE" report "q$bits.tflite" --quiet # the copy loads again
done
echo "tflite_real: ok"
