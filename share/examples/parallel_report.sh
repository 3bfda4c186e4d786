#!/usr/bin/env bash
# Analyse a model in N tensor shards with GNU parallel on one machine, then
# join the shard CSVs with `qscope merge`.
#
#   share/examples/parallel_report.sh FLOAT [QUANT] [-n N] [-o DIR] [-- REPORT-OPTIONS...]
#
# Writes DIR/tensors.csv and DIR/channels.csv (default DIR: ./qscope-report)
# and prints the merged totals. Each shard job uses one worker thread, so
# N jobs keep N cores busy; any report option (--bits, --method, --recipe,
# --select, ...) can follow "--" and is passed to every shard unchanged.
# QSCOPE names the binary (default: qscope on PATH).
set -euo pipefail
qscope=${QSCOPE:-qscope}
n=$(nproc 2>/dev/null || echo 4)
out=qscope-report
models=()
while [ $# -gt 0 ]; do
	case $1 in
	-n) n=$2; shift 2 ;;
	-o) out=$2; shift 2 ;;
	--) shift; break ;;
	*) models+=("$1"); shift ;;
	esac
done
if [ ${#models[@]} -lt 1 ] || [ ${#models[@]} -gt 2 ]; then
	echo "usage: $0 FLOAT [QUANT] [-n N] [-o DIR] [-- REPORT-OPTIONS...]" >&2
	exit 2
fi
command -v parallel >/dev/null || { echo "$0: GNU parallel is not installed" >&2; exit 2; }
mkdir -p "$out/parts"
parallel --will-cite --halt now,fail=1 "$qscope" report "${models[@]}" "$@" --quiet --jobs 1 \
	--shard {}/"$n" --csv "$out/parts/tensors.{}.csv" --channels-csv "$out/parts/channels.{}.csv" \
	::: $(seq 1 "$n")
"$qscope" merge "$out"/parts/channels.*.csv -o "$out/channels.csv"
"$qscope" merge "$out"/parts/tensors.*.csv -o "$out/tensors.csv"
