#!/usr/bin/env bash
# labels: interop
# The Samsung/ONE bias-overflow case (onnx_one_bias.py builds it with
# python3-onnx): with int16 weights and activations `qscope report` flags
# output channel 3 (weights ~1e-30, bias −1.2156529426574707) as a risk;
# `qscope quantize --scale-floor 1e-5` writes a model whose dequantized bias
# (numpy: q · scale of its DequantizeLinear) is within 1e-4 of the float
# bias, where without the floor the int32 bias saturates far from it. (The
# finding's reason text is checked in tests/io/test_onnx_write.c.)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
"$PY" -c 'import onnx, numpy' 2>/dev/null || { echo "skipped: python3-onnx missing"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$PY" "$here/onnx_one_bias.py" "$tmp/one.onnx"
ch3() { "$QSCOPE" report "$tmp/one.onnx" --qtype int16 "$@" --channels-csv - -q |
  awk -F, '$1 == "W" && $2 == 3 { print $13 }'; }
r=$(ch3)
echo "channel 3 without a floor: $r"
[ "$r" = risk ]
"$QSCOPE" quantize "$tmp/one.onnx" --qtype int16 -o "$tmp/nofloor.onnx" -q
"$QSCOPE" quantize "$tmp/one.onnx" --qtype int16 --scale-floor 1e-5 -o "$tmp/floor.onnx" -q
a=$("$PY" "$here/onnx_one_bias.py" --bias "$tmp/nofloor.onnx")
b=$("$PY" "$here/onnx_one_bias.py" --bias "$tmp/floor.onnx")
echo "written bias of channel 3: $a without a floor, $b with --scale-floor 1e-5"
"$PY" -c 'import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); t = -1.2156529426574707
sys.exit(0 if abs(b - t) <= 1e-4 and abs(a - t) > 1.0 else 1)' "$a" "$b"
