#!/usr/bin/env bash
# Build and run preview_bench against a build's libraries (not in ctest).
#   tests/bench/preview.bash [BUILD_DIR] [MODEL] [METHOD [REPEATS]]
# MODEL defaults to the one-tensor 4096x4096 f32 model of tui_times.bash.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
dir=${QSCOPE_BENCH_DIR:-/var/tmp/qscope-bench}
model=${2:-$dir/bench-one-4096x4096.safetensors}
[ -s "$model" ] || /usr/bin/python3 "$here/gen_models.py" "$dir" one:4096x4096 >/dev/null
out=${PREVIEW_BENCH_KEEP:-$(mktemp -d)}
trap 'rm -rf "$out"' EXIT
src=$here/../..
cc -O2 -std=gnu11 -I"$src/app" -I"$src/io" -I"$src/analysis" -I"$src/views" -I"$src/plots" \
	"$here/preview_bench.c" "$build/app/libqs_app.a" "$build/views/libqs_views.a" \
	"$build/io/libqs_io.a" "$build/io/libqs_onnx_pb.a" "$build/plots/libqs_plots.a" \
	"$build/analysis/libqs_analysis.a" \
	$(pkg-config --libs ncursesw gsl libzip jansson libprotobuf-c zlib) -lcsv -lm -lpthread \
	-o "$out/preview_bench"
cat "$model" >/dev/null
"$out/preview_bench" "$model" "${@:3}"
