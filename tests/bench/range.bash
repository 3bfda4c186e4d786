#!/usr/bin/env bash
# Range-method micro-benchmark (not part of ctest: the name does not end in .sh).
#
#   tests/bench/range.bash [BUILD_DIR] [METHOD...]
#
# Compiles range_bench.c with the build's flags level (-O2) against
# BUILD_DIR/analysis/libqs_analysis.a (default: build-perf, else build) and
# prints ns per value of range_choose for each method on 4096- and 32-value
# groups of Gaussian and Laplace-with-outliers values, 8/4-bit, symmetric and
# affine, next to one range_sse pass for scale.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=""
if [ $# -gt 0 ] && [ -d "$1" ]; then
	build=$1
	shift
fi
if [ -z "$build" ]; then
	for b in "$src/build-perf" "$src/build"; do
		[ -f "$b/analysis/libqs_analysis.a" ] && { build=$b; break; }
	done
fi
lib="$build/analysis/libqs_analysis.a"
[ -f "$lib" ] || { echo "range.bash: no libqs_analysis.a (pass a build dir)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cc -std=c11 -O2 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -I"$src/analysis" \
	-o "$work/range_bench" "$here/range_bench.c" "$lib" $(pkg-config --libs gsl) -lm
"$work/range_bench" "$@"
