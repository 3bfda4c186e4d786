#!/usr/bin/env bash
# Resource limits: models bigger than `ulimit -v` allows fail with one clear
# line (exit 2; a "hint:" line may follow), not a crash, whether the mapping
# itself fails (3 GiB sparse .npy, .gguf, .safetensors and ONNX external data) or the decode buffer does
# (a 600 MiB tensor under a 1 GiB limit); deep, cyclic and wide graphs finish
# in bounded time. ASan reserves terabytes of address space, so the
# ulimit -v cases are skipped in a sanitized build (the allocator limits of
# tests/badinput cover it there).
# labels: faults
set -uo pipefail

QSCOPE=$(realpath "${QSCOPE:?}") PY=${PY:-/usr/bin/python3}
here=$(cd "$(dirname "$0")" && pwd)
"$PY" -c "import numpy, onnx" 2>/dev/null || { echo "skip: $PY lacks numpy/onnx"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

sanitized=0
if grep -q "QSCOPE_SANITIZE:BOOL=ON" "${QSCOPE_BUILD:-/nonexistent}/CMakeCache.txt" 2>/dev/null ||
	grep -q libasan <<<"$(ldd "$QSCOPE" 2>/dev/null)"; then
	sanitized=1
fi

fails=0
fail() {
	echo "FAIL $1: $2"
	fails=$((fails + 1))
}

# limited KB SECS CMD... → rc, err
limited() {
	local kb=$1 secs=$2
	shift 2
	(
		cd "$tmp/out" || exit 99
		[ "$kb" = 0 ] || ulimit -v "$kb"
		exec timeout -s KILL "$secs" "$@"
	) >/dev/null 2>"$tmp/stderr"
	rc=$?
	err=$(cat "$tmp/stderr")
}

clean_error() {
	if [ "$rc" -ne 2 ]; then
		fail "$1" "exit $rc, want 2; stderr: ${err:0:400}"
	elif [ "$(printf '%s\n' "$err" | grep -v '^hint: ' | grep -c .)" -ne 1 ]; then
		fail "$1" "want one stderr line: ${err:0:400}"
	elif [ -n "$(ls -A "$tmp/out")" ]; then
		fail "$1" "left files: $(ls -A "$tmp/out")"
	fi
}

mkdir -p "$tmp/out" "$tmp/m"
GiB3=$((3 * 1024 * 1024 * 1024))

if [ $sanitized = 0 ]; then
	# .npy: header for 3 GiB of float32, the file made sparse to full size
	"$PY" "$here/make_inputs.py" "$tmp/m" bignpy $((GiB3 / 4))
	hl=$(stat -c %s "$tmp/m/big.npy")
	truncate -s $((hl + GiB3)) "$tmp/m/big.npy"
	limited 1048576 60 "$QSCOPE" report "$tmp/m/big.npy" -q --csv "$tmp/out/t.csv"
	clean_error "3 GiB .npy under ulimit -v 1 GiB"

	# .safetensors: one 3 GiB F32 tensor
	"$PY" - "$tmp/m/big.safetensors" $GiB3 <<'PYEOF'
import json, struct, sys
path, n = sys.argv[1], int(sys.argv[2])
h = json.dumps({"w": {"dtype": "F32", "shape": [n // 4], "data_offsets": [0, n]}}).encode()
h += b" " * (-len(h) % 8)
with open(path, "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h)
    f.truncate(8 + len(h) + n)
PYEOF
	limited 1048576 60 "$QSCOPE" report "$tmp/m/big.safetensors" -q --csv "$tmp/out/t.csv"
	clean_error "3 GiB .safetensors under ulimit -v 1 GiB"

	# .gguf: one 3 GiB F32 tensor
	"$PY" - "$tmp/m/big.gguf" $GiB3 <<'PYEOF'
import struct, sys
path, n = sys.argv[1], int(sys.argv[2])
def s(x):
    return struct.pack("<Q", len(x)) + x
b = b"GGUF" + struct.pack("<IQQ", 3, 1, 0) + s(b"w") + struct.pack("<IQIQ", 1, n // 4, 0, 0)
b += b"\0" * (-len(b) % 32)
with open(path, "wb") as f:
    f.write(b)
    f.truncate(len(b) + n)
PYEOF
	limited 1048576 60 "$QSCOPE" report "$tmp/m/big.gguf" -q --csv "$tmp/out/t.csv"
	clean_error "3 GiB .gguf under ulimit -v 1 GiB"

	# ONNX with a 3 GiB external-data initializer
	"$PY" - "$tmp/m" $GiB3 <<'PYEOF'
import sys
from onnx import TensorProto, helper
d, n = sys.argv[1], int(sys.argv[2])
t = TensorProto()
t.name, t.data_type = "W", TensorProto.FLOAT
t.dims.extend([n // 4])
t.data_location = TensorProto.EXTERNAL
for k, v in (("location", "big.bin"), ("offset", "0"), ("length", str(n))):
    e = t.external_data.add()
    e.key, e.value = k, v
g = helper.make_graph([helper.make_node("Relu", ["W"], ["y"])], "g", [],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializer=[t])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
m.ir_version = 8
open(f"{d}/big.onnx", "wb").write(m.SerializeToString())
with open(f"{d}/big.bin", "wb") as f:
    f.truncate(n)
PYEOF
	limited 1048576 60 "$QSCOPE" report "$tmp/m/big.onnx" -q --csv "$tmp/out/t.csv"
	clean_error "3 GiB ONNX external data under ulimit -v 1 GiB"

	# the mapping fits, the float buffer for the analysis does not
	"$PY" "$here/make_inputs.py" "$tmp/m" bignpy $((600 * 1024 * 1024 / 4))
	hl=$(stat -c %s "$tmp/m/big.npy")
	truncate -s $((hl + 600 * 1024 * 1024)) "$tmp/m/big.npy"
	limited 1048576 120 "$QSCOPE" report "$tmp/m/big.npy" -q -j 1 --csv "$tmp/out/t.csv"
	clean_error "600 MiB .npy analysed under ulimit -v 1 GiB"
	rm -f "$tmp/m"/big.*
else
	echo "skip: ulimit -v cases (sanitized build)"
fi

# deep: 60 levels of If load; 70 are refused (ONNX_MAX_DEPTH 64)
"$PY" "$here/make_inputs.py" "$tmp/m" deep 60 && mv "$tmp/m/deep.onnx" "$tmp/m/deep60.onnx"
"$PY" "$here/make_inputs.py" "$tmp/m" deep 70 && mv "$tmp/m/deep.onnx" "$tmp/m/deep70.onnx"
limited 0 60 "$QSCOPE" report "$tmp/m/deep60.onnx" -q
[ "$rc" -eq 0 ] || fail "If nested 60 deep" "exit $rc: ${err:0:400}"
limited 0 60 "$QSCOPE" report "$tmp/m/deep70.onnx" -q --csv "$tmp/out/t.csv"
clean_error "If nested 70 deep"

# cyclic: two MatMuls feeding each other
"$PY" "$here/make_inputs.py" "$tmp/m" cycle
for cmd in report inspect; do
	limited 0 60 "$QSCOPE" $cmd "$tmp/m/cycle.onnx"
	[ "$rc" -eq 0 ] || [ "$rc" -eq 2 ] || fail "cyclic graph ($cmd)" "exit $rc: ${err:0:400}"
done
rm -f "$tmp"/out/*

# wide: 20000 initializers and nodes, in bounded time
"$PY" "$here/make_inputs.py" "$tmp/m" wide 20000
limited 0 $((sanitized ? 300 : 120)) "$QSCOPE" report "$tmp/m/wide.onnx" -q --csv "$tmp/out/t.csv"
[ "$rc" -eq 0 ] || fail "20000-node graph" "exit $rc (124/137 = too slow): ${err:0:400}"
rows=$(($(wc -l <"$tmp/out/t.csv" 2>/dev/null || echo 1) - 1))
[ "$rows" -eq 20000 ] || fail "20000-node graph" "$rows CSV rows, want 20000"

if [ "$fails" -ne 0 ]; then
	echo "$fails resource cases failed"
	exit 1
fi
echo "all resource cases passed"
