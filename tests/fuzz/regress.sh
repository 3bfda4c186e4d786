#!/usr/bin/env bash
# Replays every input the fuzzers ever crashed on (tests/fuzz/regress/
# <reader>/) through the real binary, in the normal and the ASan + UBSan
# build: `qscope inspect` and `qscope report` must end with exit 0, 1 or 2
# (a sanitizer report aborts: exit 134), within a time limit, and a refusal
# is one stderr line (a "try"/"hint" line may follow). Multi-file inputs
# (ONNX + external data, safetensors index + shards) are split on the
# harnesses' separator into the files they name (see tests/fuzz/*.c).
# labels: fuzz
set -uo pipefail

QSCOPE=$(realpath "${QSCOPE:?}") PY=${PY:-/usr/bin/python3}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fails=0
count=0
fail() {
	echo "FAIL $1: $2"
	fails=$((fails + 1))
}

# split FILE DIR NAME... : part k of FILE (split on the separator) → DIR/NAMEk
split_parts() {
	"$PY" - "$@" <<'PYEOF'
import os, sys
data = open(sys.argv[1], "rb").read()
d, names = sys.argv[2], sys.argv[3:]
parts = data.split(b"@@QSPART@@", len(names) - 1)
for name, part in zip(names, parts):
    os.makedirs(os.path.dirname(os.path.join(d, name)), exist_ok=True)
    open(os.path.join(d, name), "wb").write(part)
PYEOF
}

check() {
	local what=$1
	shift
	(cd "$tmp/run" && exec timeout -s KILL 120 "$@") >/dev/null 2>"$tmp/stderr"
	local rc=$? lines
	lines=$(grep -a -v -e "^try 'qscope" -e "^hint: " "$tmp/stderr" | grep -a -c .)
	if [ $rc -gt 2 ]; then
		fail "$what" "exit $rc: $(head -c 800 "$tmp/stderr")"
	elif [ $rc -eq 2 ] && [ "$lines" -ne 1 ]; then
		fail "$what" "refused with $lines lines: $(head -c 800 "$tmp/stderr")"
	fi
}

for dir in "$here"/regress/*/; do
	reader=$(basename "$dir")
	for f in "$dir"*; do
		[ -f "$f" ] || continue
		count=$((count + 1))
		rm -rf "$tmp/run" && mkdir -p "$tmp/run"
		name="$reader/$(basename "$f")"
		case $reader in
		onnx_ext)
			split_parts "$f" "$tmp/run" x.onnx w.bin sub/v.bin
			model=$tmp/run/x.onnx
			;;
		safetensors_index)
			split_parts "$f" "$tmp/run" model.safetensors.index.json \
				model-00001-of-00002.safetensors model-00002-of-00002.safetensors
			model=$tmp/run/model.safetensors.index.json
			;;
		recipe)
			cp "$f" "$tmp/run/r.csv"
			check "$name (report --recipe)" "$QSCOPE" report \
				"$here/corpus/npy/f32_4x6.npy" -q --recipe "$tmp/run/r.csv"
			continue
			;;
		*)
			cp "$f" "$tmp/run/"
			model=$tmp/run/$(basename "$f")
			;;
		esac
		check "$name (inspect)" "$QSCOPE" inspect "$model"
		check "$name (report)" "$QSCOPE" report "$model" -q
	done
done

echo "$count regression inputs, $fails failures"
[ "$fails" -eq 0 ]
