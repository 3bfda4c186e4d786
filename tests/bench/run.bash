#!/usr/bin/env bash
# qscope benchmark (not part of ctest: the file name does not end in .sh).
#
#   tests/bench/run.bash [--size GB] [--formats LIST] [--keep] [--skip-numpy] [QSCOPE]
#
# Generates synthetic checkpoints (gen_models.py) of about GB GiB each
# (default 1; 8 for the large run) in $QSCOPE_BENCH_DIR (default
# /var/tmp/qscope-bench), then times on the same files:
#   cat      cat FILE > /dev/null with the file in the page cache (read limit)
#   numpy    numpy_ref.py: per-channel int8 minmax, MSE/SQNR/max err/cosine,
#            2048-bin histogram, code entropy per tensor; again without the
#            histogram of x (the report builds none: it prints nothing from one)
#   qscope   qscope report FILE (the same figures), and --method mse|kl|aciq
# with /usr/bin/time -v (wall, user+sys CPU, peak RSS).  Prints a markdown
# table and the ratios qscope/cat, numpy/qscope, method/minmax, peak RSS
# against the largest tensor, plus the largest SQNR difference between
# numpy's and qscope's per-tensor figures (a sanity check, not a timing).
# Generated files are removed at the end unless --keep.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
size=1
formats=st-f32,st-f16,gguf-f32,gguf-f16
keep=0
numpy=1
qscope=""
while [ $# -gt 0 ]; do
	case "$1" in
	--size) size=$2; shift 2 ;;
	--formats) formats=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	--skip-numpy) numpy=0; shift ;;
	-h | --help) sed -n '2,18p' "$0"; exit 0 ;;
	*) qscope=$1; shift ;;
	esac
done
if [ -z "$qscope" ]; then
	for b in "$here"/../../build-perf/qscope "$here"/../../build/qscope; do
		[ -x "$b" ] && { qscope=$b; break; }
	done
fi
[ -x "$qscope" ] || { echo "run.bash: no qscope binary (pass its path)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "run.bash: /usr/bin/time missing (share/setup/deps.sh installs it)" >&2; exit 2; }

dir=${QSCOPE_BENCH_DIR:-/var/tmp/qscope-bench}
mkdir -p "$dir"
work=$(mktemp -d "$dir/run.XXXXXX")
cleanup() {
	rm -rf "$work"
	[ "$keep" = 1 ] || rm -f "$dir"/bench-"${size}"g-*.safetensors "$dir"/bench-"${size}"g-*.gguf
}
trap cleanup EXIT

files=()
missing=()
for f in ${formats//,/ }; do
	ext=safetensors
	[ "${f%%-*}" = gguf ] && ext=gguf
	p="$dir/bench-${size}g-${f#*-}.$ext"
	files+=("$p")
	[ -s "$p" ] || missing+=("$f")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "generating ${missing[*]} (${size} GiB each) in $dir ..." >&2
	list=$(IFS=,; echo "${missing[*]}")
	$PY "$here/gen_models.py" "$dir" "$size" "$list" >/dev/null
fi

# run NAME CMD... : time one command, append "name wall cpu rss_kb" to $work/t
run() {
	local name=$1; shift
	/usr/bin/time -v -o "$work/tv" "$@" >/dev/null 2>"$work/err" || {
		echo "run.bash: '$*' failed:" >&2; cat "$work/err" >&2; exit 1; }
	awk -v n="$name" -F': ' '
		/Elapsed \(wall clock\)/ { k = split($2, a, ":"); w = 0
		                           for (i = 1; i <= k; i++) w = w * 60 + a[i] }
		/User time/ { u = $2 } /System time/ { s = $2 }
		/Maximum resident/ { r = $2 }
		END { printf "%s %.2f %.2f %d\n", n, w, u + s, r }' "$work/tv" >>"$work/t"
}

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)  cores: $(nproc)  qscope: $qscope" >&2
{
	echo "| file | size MiB | largest tensor MiB | tool | wall s | CPU s | peak RSS MiB |"
	echo "|---|---:|---:|---|---:|---:|---:|"
} >"$work/table"
: >"$work/ratios"
for f in "${files[@]}"; do
	: >"$work/t"
	mib=$(( $(stat -c %s "$f") / 1048576 ))
	bpe=4
	case "$f" in *f16*) bpe=2 ;; esac
	largest=$("$qscope" inspect "$f" | awk -v b="$bpe" 'NR > 1 && $4 + 0 > m { m = $4 + 0 }
		END { printf "%.1f", m * b / 1048576 }')
	cat "$f" >/dev/null
	run cat cat "$f"
	[ "$numpy" = 1 ] && run numpy $PY "$here/numpy_ref.py" "$f" "$work/np.csv"
	[ "$numpy" = 1 ] && run numpy-nohist $PY "$here/numpy_ref.py" --no-hist "$f"
	run qscope "$qscope" report "$f" --csv "$work/q.csv"
	for m in mse kl aciq; do
		run "qscope-$m" "$qscope" report "$f" --method "$m"
	done
	while read -r name wall cpu rss; do
		printf '| %s | %d | %s | %s | %s | %s | %.0f |\n' "$(basename "$f")" "$mib" "$largest" \
			"$name" "$wall" "$cpu" "$(echo "$rss / 1024" | bc -l)" >>"$work/table"
	done <"$work/t"
	awk -v f="$(basename "$f")" -v L="$largest" '
		{ w[$1] = $2; c[$1] = $3; r[$1] = $4 / 1024 }
		END {
			printf "%s: qscope/cat wall %.2f (CPU %.2f)", f, w["qscope"] / w["cat"], c["qscope"] / (c["cat"] > 0 ? c["cat"] : 0.01)
			if ("numpy" in w) printf "; numpy/qscope wall %.1f (CPU %.1f), without numpy'"'"'s x histogram %.1f (CPU %.1f)",
			                         w["numpy"] / w["qscope"], c["numpy"] / c["qscope"],
			                         w["numpy-nohist"] / w["qscope"], c["numpy-nohist"] / c["qscope"]
			printf "; mse/minmax %.2f, kl/minmax %.2f, aciq/minmax %.2f (wall)",
			       w["qscope-mse"] / w["qscope"], w["qscope-kl"] / w["qscope"], w["qscope-aciq"] / w["qscope"]
			m = 0; for (k in r) if (k ~ /^qscope/ && r[k] > m) m = r[k]
			printf "; qscope peak RSS %.0f MiB = %.2f x largest tensor (%.1f MiB) [target <= 2x + 100 MiB = %.0f]\n",
			       m, m / L, L, 2 * L + 100
		}' "$work/t" >>"$work/ratios"
	if [ "$numpy" = 1 ]; then
		$PY - "$work/np.csv" "$work/q.csv" >>"$work/ratios" <<-'EOF'
			import csv, sys
			a = {r["tensor"]: float(r["sqnr_db"]) for r in csv.DictReader(open(sys.argv[1]))
			     if r["ndim"] == "2"}
			b = {r["tensor"]: float(r["sqnr_db"]) for r in csv.DictReader(open(sys.argv[2]))}
			d = max(abs(a[k] - b[k]) for k in a)
			print(f"  numpy vs qscope SQNR: {len(a)} 2-D tensors, max |diff| {d:.2e} dB")
		EOF
	fi
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
cat "$work/table"
echo
cat "$work/ratios"
