#!/usr/bin/env bash
# labels: interop
# Malformed GGUF files (bad magic, version, truncation, absurd counts and
# lengths, nested arrays, unknown value/ggml types, offsets past the end,
# misalignment, overlapping tensors, 64-byte names, 5 dims, bad alignment):
# qscope inspect/report/quantize exit 2 with exactly one stderr line naming
# the file, write nothing, and the valid control file loads.
set -euo pipefail
. "$QSCOPE_SRC/tests/interop/malformed_check.inc"
check_all gguf gguf Q8_0
