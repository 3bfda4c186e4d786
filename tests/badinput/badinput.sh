#!/usr/bin/env bash
# Bad-input corpus: gen_bad.py writes small valid files of every format and
# malformed variants of them (truncations, flipped lengths, absurd counts and
# dims, out-of-range and overlapping offsets, recursion bombs, non-UTF-8
# names, NaN data); every one runs through `qscope report` (and `inspect`)
# under a time limit and a memory limit and must:
#   error    exit 2, exactly one stderr line naming the file (or the side
#            file it names: shard, external data), no output file
#   finding  exit 0/1 with NaN/Inf named in the report
#   ok       exit 0 (the valid bases, so the variants test what they claim)
# labels: badinput
set -uo pipefail

QSCOPE=$(realpath "${QSCOPE:?}") PY=${PY:-/usr/bin/python3}
here=$(cd "$(dirname "$0")" && pwd)
"$PY" -c "import numpy, onnx" 2>/dev/null || { echo "skip: $PY lacks numpy/onnx"; exit 77; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
corpus=$tmp/corpus
"$PY" "$here/gen_bad.py" "$corpus" || { echo "gen_bad.py failed"; exit 1; }

# Memory bound: ulimit -v in a normal build; ASan reserves terabytes of
# address space, so there the allocator refuses big requests instead.
sanitized=0
if grep -q "QSCOPE_SANITIZE:BOOL=ON" "${QSCOPE_BUILD:-/nonexistent}/CMakeCache.txt" 2>/dev/null ||
	grep -q libasan <<<"$(ldd "$QSCOPE" 2>/dev/null)"; then
	sanitized=1
	export ASAN_OPTIONS="${ASAN_OPTIONS:-}:allocator_may_return_null=1:max_allocation_size_mb=2048"
fi
limit_secs=$((sanitized ? 120 : 30))

fails=0
total=0
fail() {
	echo "FAIL $1: $2"
	fails=$((fails + 1))
}

# run_case NAME RUN → sets rc, and leaves stdout/stderr/outputs in $tmp/run
run_case() {
	local name=$1 run=$2 mode=$3 file=$corpus/$1
	rm -rf "$tmp/run" && mkdir -p "$tmp/run/out"
	local args=("$mode" "$file")
	if [ "$run" = recipe ]; then args=("$mode" "$corpus/npy_valid.npy" --recipe "$file"); fi
	if [ "$mode" = report ]; then args+=(--csv "$tmp/run/out/t.csv" --channels-csv "$tmp/run/out/c.csv"); fi
	(
		cd "$tmp/run/out" || exit 99
		if [ $sanitized = 0 ]; then ulimit -v 2097152; fi
		exec timeout -s KILL "$limit_secs" "$QSCOPE" "${args[@]}"
	) >"$tmp/run/stdout" 2>"$tmp/run/stderr"
	rc=$?
}

check_error() {
	local name=$1 what=$2 mode=$3
	local lines
	lines=$(wc -l <"$tmp/run/stderr")
	if [ "$rc" -ne 2 ]; then
		fail "$name" "$mode: exit $rc, want 2 ($what); stderr: $(head -c 600 "$tmp/run/stderr")"
	elif [ "$lines" -ne 1 ]; then
		fail "$name" "$mode: $lines stderr lines, want 1: $(head -c 600 "$tmp/run/stderr")"
	elif ! grep -aqF "${name%%.*}" "$tmp/run/stderr"; then
		fail "$name" "$mode: stderr does not name the file: $(cat "$tmp/run/stderr")"
	elif [ -n "$(ls -A "$tmp/run/out")" ]; then
		fail "$name" "$mode: left files behind: $(ls -A "$tmp/run/out" | tr '\n' ' ')"
	fi
}

while IFS=$'\t' read -r name expect run what; do
	total=$((total + 1))
	case $expect in
	ok)
		run_case "$name" "$run" report
		[ "$rc" -eq 0 ] || fail "$name" "valid base: exit $rc; stderr: $(head -c 600 "$tmp/run/stderr")"
		;;
	ok-or-error)
		run_case "$name" "$run" report
		if [ "$rc" -eq 2 ]; then
			check_error "$name" "$what" report
		elif [ "$rc" -ne 0 ]; then
			fail "$name" "exit $rc ($what); stderr: $(head -c 600 "$tmp/run/stderr")"
		fi
		;;
	error)
		run_case "$name" "$run" report
		check_error "$name" "$what" report
		if [ "$run" != recipe ]; then
			run_case "$name" "$run" inspect
			check_error "$name" "$what" inspect
		fi
		;;
	known-error)
		run_case "$name" "$run" report
		if [ "$rc" -eq 2 ]; then
			check_error "$name" "$what" report
			echo "FIXED $name: now refused; make it an 'error' case in gen_bad.py"
		elif [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then
			fail "$name" "exit $rc ($what); stderr: $(head -c 600 "$tmp/run/stderr")"
		else
			echo "KNOWN $name: accepted, but $what (open bug)"
		fi
		;;
	finding)
		run_case "$name" "$run" report
		if [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then
			fail "$name" "exit $rc, want 0/1 with a finding ($what); stderr: $(head -c 600 "$tmp/run/stderr")"
		# grep the files themselves: under pipefail, `cat a b | grep -q` fails
		# when grep stops at a match in a and cat then takes SIGPIPE.
		elif ! grep -aqiE "nan|inf" "$tmp/run/stdout" "$tmp/run/out/t.csv" 2>/dev/null; then
			fail "$name" "report does not mention NaN/Inf ($what)"
		fi
		;;
	esac
done <"$corpus/manifest.tsv"

echo "$total cases, $fails failed"
[ "$fails" -eq 0 ]
