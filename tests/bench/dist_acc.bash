#!/usr/bin/env bash
# dist_acc micro-benchmark (not part of ctest: the name does not end in .sh).
#
#   tests/bench/dist_acc.bash [--old REV] [BUILD_DIR] [N]
#
# Compiles dist_acc_bench.c at -O2 against BUILD_DIR/analysis/libqs_analysis.a
# (default: build-perf, else build-metrics, else build) and prints ns per
# value of dist_acc_add / dist_acc_refine (AVX2 and portable C loops),
# metrics_dist_stats and both passes over 2 threads, on N (default 64M)
# Gaussian floats and on the same values rounded to int8 levels.
# --old REV also compiles analysis/metrics.c of git revision REV (e.g. the
# commit before dist_acc, 8a2b56c) and times its metrics_dist_stats.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
old=""
build=""
if [ $# -gt 1 ] && [ "$1" = --old ]; then
	old=$2
	shift 2
fi
if [ $# -gt 0 ] && [ -d "$1" ]; then
	build=$1
	shift
fi
if [ -z "$build" ]; then
	for b in "$src/build-perf" "$src/build-metrics" "$src/build"; do
		[ -f "$b/analysis/libqs_analysis.a" ] && { build=$b; break; }
	done
fi
lib="$build/analysis/libqs_analysis.a"
[ -f "$lib" ] || { echo "dist_acc.bash: no libqs_analysis.a (pass a build dir)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
flags=(-std=c11 -O2 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -I"$src/analysis")
extra=()
if [ -n "$old" ]; then
	git -C "$src" show "$old:analysis/metrics.c" > "$work/old_metrics.c"
	# The old file's public names renamed so they do not clash with the library.
	cc "${flags[@]}" -c -o "$work/old_metrics.o" "$work/old_metrics.c" \
		-Dmetrics_dist_stats=old_dist_stats -Derr_acc_merge=old_err_acc_merge \
		-Dmetrics_finish=old_metrics_finish -Dmetrics_entropy_bits=old_entropy_bits
	extra=(-DQS_OLD "$work/old_metrics.o")
fi
cc "${flags[@]}" -o "$work/dist_acc_bench" "$here/dist_acc_bench.c" "${extra[@]}" "$lib" \
	$(pkg-config --libs gsl) -lpthread -lm
"$work/dist_acc_bench" "$@"
