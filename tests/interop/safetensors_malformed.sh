#!/usr/bin/env bash
# labels: interop
# Malformed safetensors files (short file, header over the 100,000,000 limit
# or past the end, not an object, bad JSON, duplicate keys, unknown dtype,
# size mismatch, hole, overlap, offsets past the end, trailing or missing
# bytes, negative shape, non-string metadata): qscope inspect/report/quantize
# exit 2 with exactly one stderr line naming the file and write nothing.
set -euo pipefail
. "$QSCOPE_SRC/tests/interop/malformed_check.inc"
check_all safetensors safetensors int8
