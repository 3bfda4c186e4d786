#!/usr/bin/env bash
# Decode micro-benchmark (not part of ctest: the file name does not end in .sh).
#
#   tests/bench/decode_bench.bash [BUILD_DIR]
#
# Builds decode_bench.c against BUILD_DIR's static libraries (default
# build-decode, else build), then prints:
#   - ns/value of f16/bf16 → f32 over 16M values (memory-bound) and 64K
#     (in cache): dtype_to_f32's bulk path, dtype_half_to_f32 with and
#     without F16C/AVX2, the per-element path (what little-endian data took
#     before the bulk path) and a scalar f16_to_f32 loop;
#   - model_tensor_to_f32_range throughput on a 256 MiB f16 safetensors file
#     (8 tensors of 4096 × 4096) in the page cache, next to `cat FILE > /dev/null`,
#     and on one 4096 × 4096 int8 per-channel quant tensor (npz).
# The file lives in $QSCOPE_BENCH_DIR (default /var/tmp/qscope-bench) and is
# removed at the end.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
PY=/usr/bin/python3
build=${1:-}
if [ -z "$build" ]; then
	for b in "$src/build-decode" "$src/build"; do
		[ -f "$b/io/libqs_io.a" ] && { build=$b; break; }
	done
fi
[ -f "$build/io/libqs_io.a" ] || { echo "decode_bench.bash: no build dir with io/libqs_io.a" >&2; exit 2; }

dir=${QSCOPE_BENCH_DIR:-/var/tmp/qscope-bench}
mkdir -p "$dir"
work=$(mktemp -d "$dir/decode.XXXXXX")
trap 'rm -rf "$work"' EXIT

cc -std=c11 -O2 -D_POSIX_C_SOURCE=200809L -I"$src/io" -I"$src/analysis" \
	"$here/decode_bench.c" -o "$work/decode_bench" \
	"$build/io/libqs_io.a" "$build/io/libqs_onnx_pb.a" "$build/analysis/libqs_analysis.a" \
	-lprotobuf-c -lzip -ljansson -lcsv -lgsl -lgslcblas -lm

echo "== f16/bf16 -> f32 conversion"
"$work/decode_bench" convert
"$work/decode_bench" convert 65536

f="$work/f16-256m.safetensors"
"$PY" - "$f" <<'EOF'
import json, struct, sys
import numpy as np
rng = np.random.default_rng(7)
names = [f"layers.{i}.weight" for i in range(8)]
hdr, off = {}, 0
for n in names:
    nb = 4096 * 4096 * 2
    hdr[n] = {"dtype": "F16", "shape": [4096, 4096], "data_offsets": [off, off + nb]}
    off += nb
h = json.dumps(hdr).encode()
h += b" " * (-len(h) % 8)
with open(sys.argv[1], "wb") as out:
    out.write(struct.pack("<Q", len(h)) + h)
    for n in names:
        out.write((rng.standard_normal((4096, 4096), dtype=np.float32) * 0.02).astype("<f2").tobytes())
EOF
cat "$f" >/dev/null
best=""
for _ in 1 2 3; do
	t0=$(date +%s.%N)
	cat "$f" >/dev/null
	t1=$(date +%s.%N)
	t=$(echo "$t1 - $t0" | bc -l)
	if [ -z "$best" ] || [ "$(echo "$t < $best" | bc -l)" = 1 ]; then best=$t; fi
done
mib=$(($(stat -c %s "$f") / 1048576))
echo "== 256 MiB f16 safetensors, page cache"
printf 'cat FILE > /dev/null: %.3f s for %d MiB (%.0f MiB/s)\n' "$best" "$mib" "$(echo "$mib / $best" | bc -l)"
"$work/decode_bench" range "$f"
"$work/decode_bench" range "$f" 65536

q="$work/q8.npz"
"$PY" - "$q" <<'EOF'
import sys
import numpy as np
rng = np.random.default_rng(1)
np.savez(sys.argv[1], **{"W.q": rng.integers(-128, 128, (4096, 4096), dtype=np.int8),
                         "W.scale": rng.uniform(0.01, 0.1, (4096, 1)).astype(np.float32),
                         "W.zero_point": np.zeros((4096, 1), np.int32)})
EOF
cat "$q" >/dev/null
echo "== 16 MiB int8 per-channel quant tensor (npz), page cache"
"$work/decode_bench" range "$q"
