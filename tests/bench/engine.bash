#!/usr/bin/env bash
# Build and run engine_bench against a build's libraries (not in ctest).
#   tests/bench/engine.bash [BUILD_DIR] [ROWS [CASE]]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cc -O2 -std=gnu11 -I"$here/../../analysis" "$here/engine_bench.c" \
	"$build/analysis/libqs_analysis.a" $(pkg-config --libs gsl) -lm -lpthread -o "$out/engine_bench"
"$out/engine_bench" "${2:-8192}" ${3:+"$3"}
