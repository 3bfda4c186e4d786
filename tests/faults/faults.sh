#!/usr/bin/env bash
# Fault injection on output. For every writer (quantize to .onnx, .gguf,
# .safetensors, .npz) and the report outputs (--csv, --channels-csv,
# --save-recipe, merge -o):
#   disk full      a 1 MiB tmpfs (root) and a full one, else `ulimit -f` with
#                  SIGXFSZ ignored; strace-injected ENOSPC mid-file and EIO
#                  from fsync when strace works
#   read-only      a read-only mount (root) or a chmod 555 folder
#   output=input   the same path, ./path, absolute, a symlink, a hard link
#   SIGKILL        strace kills the writer in the middle of its writes, and
#                  right before the rename
# Every case: the input's checksum is unchanged; a failure exits 2 with one
# stderr line (a usage error may add the "try 'qscope CMD --help'" hint); no
# partial output and no temporary file remain (after SIGKILL the final name
# must not exist; the hidden ".NAME.XXXXXX" temporary
# that a killed process cannot remove is reported, see io/atomic.h).
# labels: faults
set -uo pipefail

QSCOPE=$(realpath "${QSCOPE:?}") PY=${PY:-/usr/bin/python3}
here=$(cd "$(dirname "$0")" && pwd)
"$PY" -c "import numpy, onnx" 2>/dev/null || { echo "skip: $PY lacks numpy/onnx"; exit 77; }

tmp=$(mktemp -d)
mounts=()
cleanup() {
	for m in "${mounts[@]}"; do umount "$m" 2>/dev/null; done
	chmod -R u+w "$tmp" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
in=$tmp/in
mkdir -p "$in"
"$PY" "$here/make_inputs.py" "$in" faults || { echo "make_inputs.py failed"; exit 1; }
before=$(cd "$in" && sha256sum big.onnx small.onnx)

fails=0
note() { echo "$*"; }
fail() {
	echo "FAIL $1: $2"
	fails=$((fails + 1))
}

# run OUTDIR CMD... → rc, err (stderr text); runs quietly with stdout dropped
run() {
	local dir=$1
	shift
	(cd "$dir" && exec timeout -s KILL 300 "$@") >/dev/null 2>"$tmp/stderr"
	rc=$?
	err=$(cat "$tmp/stderr")
}

# The folder holds exactly the listed names (hidden files included).
only() {
	local case=$1 dir=$2
	shift 2
	local have want
	have=$(ls -A "$dir" | sort | tr '\n' ' ')
	want=$(printf '%s\n' "$@" | sed '/^$/d' | sort | tr '\n' ' ')
	[ "$have" = "$want" ] || fail "$case" "folder holds '$have', want '$want'"
}

clean_error() {
	local case=$1
	if [ "$rc" -ne 2 ]; then
		fail "$case" "exit $rc, want 2; stderr: ${err:0:400}"
	elif [ "$(printf '%s\n' "$err" | grep -v "^try 'qscope .*--help'$" | grep -c .)" -ne 1 ]; then
		fail "$case" "want one stderr line, got: ${err:0:400}"
	fi
}

input_intact() {
	[ "$(cd "$in" && sha256sum big.onnx small.onnx)" = "$before" ] || fail "$1" "an input file changed"
}

fresh() { rm -rf "$1" && mkdir -p "$1"; }

is_root=0
[ "$(id -u)" = 0 ] && is_root=1
can_mount=0
if [ $is_root = 1 ]; then
	mkdir -p "$tmp/probe"
	if mount -t tmpfs -o size=64k tmpfs "$tmp/probe" 2>/dev/null; then
		can_mount=1
		umount "$tmp/probe"
	fi
fi
# LeakSanitizer cannot stop the world under ptrace: no leak check under strace.
nolsan=(env "ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0")
can_strace=0
if command -v strace >/dev/null && strace -f -o /dev/null -e trace=none true 2>/dev/null; then
	can_strace=1
fi

formats="onnx gguf safetensors npz"
quant() { echo "$QSCOPE" quantize "$in/big.onnx" -q -o "$1"; }

# ---- disk full -------------------------------------------------------------
if [ $can_mount = 1 ]; then
	full=$tmp/full
	mkdir -p "$full"
	mount -t tmpfs -o size=1m tmpfs "$full" && mounts+=("$full")
	for f in $formats; do
		run "$tmp" $(quant "$full/out.$f")
		clean_error "disk full (1 MiB tmpfs) quantize .$f"
		only "disk full quantize .$f" "$full"
		input_intact "disk full quantize .$f"
	done
	# a tmpfs with no byte left: report outputs
	dd if=/dev/zero of="$full/filler" bs=64k 2>/dev/null
	for opt in --csv --channels-csv --save-recipe; do
		run "$tmp" "$QSCOPE" report "$in/big.onnx" -q "$opt" "$full/out.csv"
		clean_error "disk full report $opt"
		only "disk full report $opt" "$full" filler
	done
	umount "$full" && mounts=()
else
	note "skip: tmpfs disk-full cases need root and mount"
fi

# ulimit -f: the kernel refuses writes past the limit (EFBIG with SIGXFSZ
# ignored, as an inherited ignore disposition survives exec).
for f in $formats; do
	fresh "$tmp/lim"
	(
		trap '' XFSZ
		ulimit -f 256
		cd "$tmp/lim" && exec timeout -s KILL 300 $(quant "$tmp/lim/out.$f")
	) >/dev/null 2>"$tmp/stderr"
	rc=$?
	err=$(cat "$tmp/stderr")
	clean_error "ulimit -f quantize .$f"
	only "ulimit -f quantize .$f" "$tmp/lim"
done
input_intact "ulimit -f"

if [ $can_strace = 1 ]; then
	for f in $formats; do
		fresh "$tmp/inj"
		run "$tmp/inj" "${nolsan[@]}" strace -f -o /dev/null -e trace=write -e inject=write:error=ENOSPC:when=2 \
			$(quant "$tmp/inj/out.$f")
		clean_error "ENOSPC at the 2nd write, quantize .$f"
		only "ENOSPC quantize .$f" "$tmp/inj"
		fresh "$tmp/inj"
		run "$tmp/inj" "${nolsan[@]}" strace -f -o /dev/null -e trace=fsync,fdatasync \
			-e inject=fsync,fdatasync:error=EIO $(quant "$tmp/inj/out.$f")
		clean_error "fsync EIO quantize .$f"
		only "fsync EIO quantize .$f" "$tmp/inj"
	done
	fresh "$tmp/inj"
	run "$tmp/inj" "${nolsan[@]}" strace -f -o /dev/null -e trace=write -e inject=write:error=ENOSPC:when=1 \
		"$QSCOPE" report "$in/small.onnx" -q --csv "$tmp/inj/t.csv"
	clean_error "ENOSPC report --csv"
	only "ENOSPC report --csv" "$tmp/inj"
	input_intact "strace ENOSPC/EIO"
else
	note "skip: strace cannot trace here (ENOSPC/EIO injection)"
fi

# ---- read-only folder ------------------------------------------------------
ro=$tmp/ro
mkdir -p "$ro"
if [ $can_mount = 1 ]; then
	mount -t tmpfs -o ro,size=64k tmpfs "$ro" && mounts+=("$ro")
	how="read-only mount"
elif [ $is_root = 0 ]; then
	chmod 555 "$ro"
	how="chmod 555 folder"
else
	how=""
	note "skip: read-only folder needs mount (root) or a non-root user"
fi
if [ -n "$how" ]; then
	for f in $formats; do
		run "$tmp" $(quant "$ro/out.$f")
		clean_error "$how quantize .$f"
		only "$how quantize .$f" "$ro"
	done
	for opt in --csv --channels-csv --save-recipe; do
		run "$tmp" "$QSCOPE" report "$in/small.onnx" -q "$opt" "$ro/out.csv"
		clean_error "$how report $opt"
		only "$how report $opt" "$ro"
	done
	input_intact "$how"
fi

# ---- output path equal to an input ----------------------------------------
same=$tmp/same
fresh "$same"
cp "$in/small.onnx" "$same/m.onnx"
ln -s m.onnx "$same/link.onnx"
ln "$same/m.onnx" "$same/hard.onnx"
"$QSCOPE" report "$same/m.onnx" -q --csv "$same/a.csv" --save-recipe "$same/r.csv" >/dev/null 2>&1 ||
	fail "setup" "report on a valid model failed"
cp "$same/a.csv" "$same/b.csv"
sums() { (cd "$same" && sha256sum m.onnx a.csv b.csv r.csv && readlink link.onnx); }
orig=$(sums)
for target in m.onnx ./m.onnx "$same/m.onnx" link.onnx hard.onnx; do
	run "$same" "$QSCOPE" quantize m.onnx -q -o "$target"
	clean_error "quantize -o $target (the input)"
done
for opt in --csv --channels-csv --save-recipe; do
	for target in m.onnx link.onnx hard.onnx; do
		run "$same" "$QSCOPE" report m.onnx -q "$opt" "$target"
		clean_error "report $opt $target (the model)"
	done
done
run "$same" "$QSCOPE" report m.onnx -q --recipe r.csv --save-recipe r.csv
clean_error "report --save-recipe over its --recipe"
run "$same" "$QSCOPE" merge a.csv b.csv -o a.csv
clean_error "merge -o over an input"
run "$same" "$QSCOPE" quantize m.onnx -q --like m.onnx -o hard.onnx
clean_error "quantize --like m -o (hard link of m)"
[ "$(sums)" = "$orig" ] || fail "output=input" "an input changed"
only "output=input" "$same" m.onnx link.onnx hard.onnx a.csv b.csv r.csv

# ---- SIGKILL in the middle of a write --------------------------------------
if [ $can_strace = 1 ]; then
	for f in $formats; do
		# count the writes of an undisturbed run, then kill at the middle one
		fresh "$tmp/k"
		"${nolsan[@]}" strace -f -o "$tmp/trace" -e trace=write $(quant "$tmp/k/out.$f") >/dev/null 2>&1
		n=$(grep -c 'write(' "$tmp/trace")
		mid=$(((n + 1) / 2))
		fresh "$tmp/k"
		run "$tmp/k" "${nolsan[@]}" strace -f -o /dev/null -e trace=write -e inject=write:signal=KILL:when=$mid \
			$(quant "$tmp/k/out.$f")
		[ "$rc" -eq 137 ] || fail "SIGKILL quantize .$f" "exit $rc, want 137 (killed at write $mid of $n)"
		[ ! -e "$tmp/k/out.$f" ] || fail "SIGKILL quantize .$f" "a partial out.$f exists"
		left=$(ls -A "$tmp/k" | grep -v "^\.out\.$f\.......$" || true)
		[ -z "$left" ] || fail "SIGKILL quantize .$f" "unexpected files: $left"
		temps=$(ls -A "$tmp/k" | grep -c "^\.out\.$f\.......$" || true)
		note "SIGKILL at write $mid/$n of .$f: no out.$f; $temps hidden temporary left (atomic.h)"
		fresh "$tmp/k"
		run "$tmp/k" "${nolsan[@]}" strace -f -o /dev/null -e trace=rename,renameat,renameat2 \
			-e inject=rename,renameat,renameat2:signal=KILL $(quant "$tmp/k/out.$f")
		[ "$rc" -eq 137 ] || fail "SIGKILL before rename .$f" "exit $rc, want 137"
		[ ! -e "$tmp/k/out.$f" ] || fail "SIGKILL before rename .$f" "out.$f exists"
	done
	# an existing output survives a killed overwrite unchanged
	fresh "$tmp/k"
	cp "$in/small.onnx" "$tmp/k/keep.onnx"
	ksum=$(sha256sum <"$tmp/k/keep.onnx")
	run "$tmp/k" "${nolsan[@]}" strace -f -o /dev/null -e trace=write -e inject=write:signal=KILL \
		$(quant "$tmp/k/keep.onnx")
	[ "$(sha256sum <"$tmp/k/keep.onnx")" = "$ksum" ] || fail "SIGKILL overwrite" "the old output changed"
	input_intact "SIGKILL"
else
	note "skip: strace cannot trace here (SIGKILL mid-write)"
fi

if [ "$fails" -ne 0 ]; then
	echo "$fails fault cases failed"
	exit 1
fi
echo "all fault cases passed"
