#!/usr/bin/env bash
# labels: interop realmodels slow
# Models written by `qscope quantize` from each ONNX model of ../shared/models
# load and run in ONNX Runtime (onnxruntime-node): int8 per-channel minmax QDQ
# and its --fake-quant twin agree to float rounding, their output SQNR
# against the float model is reported (≥ 20 dB required, see FLOORS), the
# int8 codes and scales equal a numpy quantization, and uint8 per-tensor and
# int4 blocked and float8e4m3fn models also load and run, as does the uint8 model re-quantized
# with --like --method mse (same structure). The demo pair runs too.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
models="$QSCOPE_SHARED/models"
nm="$QSCOPE_SRC/share/setup/node_modules"
[ -d "$models" ] || { echo "skipped: $models missing"; exit 77; }
[ -d "$nm/onnxruntime-node" ] && command -v node >/dev/null || { echo "skipped: no onnxruntime-node"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

run() { NODE_PATH="$nm" node "$here/onnx_run.js" "$@" 2>/dev/null; }

# name | runtime dims/values for dynamic inputs | per-output SQNR floors below 20 dB (none)
cases=(
  "silero_vad_legacy.onnx|--dim batch=1 --dim sequence=512 --value sr=16000|"
  "ch_ppocr_mobile_v2.0_cls_infer.onnx|--dim p2o.DynamicDimension.0=1 --dim p2o.DynamicDimension.1=48 --dim p2o.DynamicDimension.2=192|"
  "face_detection_front_128x128_barracuda.onnx||"
)
status=0
for c in "${cases[@]}"; do
  IFS='|' read -r name dims floors <<<"$c"
  f="$models/$name"
  [ -f "$f" ] || { echo "missing $f"; status=1; continue; }
  echo "== $name"
  "$QSCOPE" quantize "$f" -o "$tmp/q8.onnx" --qtype int8 --granularity channel --method minmax -q
  "$QSCOPE" quantize "$f" -o "$tmp/f8.onnx" --qtype int8 --granularity channel --method minmax --fake-quant -q
  "$PY" "$here/onnx_check_codes.py" "$f" "$tmp/q8.onnx"
  others=("$tmp/q8.onnx" "$tmp/f8.onnx")
  "$QSCOPE" quantize "$f" -o "$tmp/u8.onnx" --qtype uint8 --scheme asym --granularity tensor -q
  "$QSCOPE" quantize "$f" --like "$tmp/u8.onnx" -o "$tmp/like.onnx" --method mse -q
  "$PY" "$here/onnx_check_like.py" "$f" "$tmp/u8.onnx" "$tmp/like.onnx"
  others+=("$tmp/u8.onnx" "$tmp/like.onnx")
  "$QSCOPE" quantize "$f" -o "$tmp/fp8.onnx" --qtype float8e4m3fn -q
  others+=("$tmp/fp8.onnx")
  if "$QSCOPE" quantize "$f" -o "$tmp/i4.onnx" --qtype int4 --granularity group:32 -q 2>"$tmp/err"; then
    others+=("$tmp/i4.onnx")
  else
    echo "  int4 blocked not written: $(cat "$tmp/err")"
    grep -q "raising opset" "$tmp/err" || status=1
  fi
  # shellcheck disable=SC2086
  run "$f" "${others[@]}" $dims >"$tmp/vs_float.jsonl"
  # shellcheck disable=SC2086
  run "$tmp/q8.onnx" "$tmp/f8.onnx" $dims --no-opt >"$tmp/agree.jsonl"
  # shellcheck disable=SC2086
  "$PY" "$here/onnx_check_run.py" "$tmp/agree.jsonl" "$tmp/vs_float.jsonl" q8.onnx 20 $floors || status=1
  rm -f "$tmp"/*.onnx
done

echo "== demo (and the demo re-quantized with --like --method mse, int32 biases following)"
demo="$QSCOPE_SRC/share/demo"
"$QSCOPE" quantize "$demo/demo_float.onnx" --like "$demo/demo_int8.onnx" --method mse -o "$tmp/demo_mse.onnx" -q
"$PY" "$here/onnx_check_like.py" "$demo/demo_float.onnx" "$demo/demo_int8.onnx" "$tmp/demo_mse.onnx"
run "$demo/demo_float.onnx" "$demo/demo_int8.onnx" "$tmp/demo_mse.onnx" >"$tmp/demo.jsonl"
"$PY" -c 'import json,sys
for l in open(sys.argv[1]): r = json.loads(l); print("  %s logits SQNR %.2f dB" % (r["model"].rsplit("/", 1)[-1], r["sqnr_db"]))' "$tmp/demo.jsonl"
exit $status
