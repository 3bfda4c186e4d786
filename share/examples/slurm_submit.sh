#!/usr/bin/env bash
# Submit a sharded qscope report to Slurm: an array of N shard tasks
# (slurm_report.sbatch) and a merge job that runs when all of them succeeded.
#
#   share/examples/slurm_submit.sh N FLOAT [QUANT]
#
# OUT (default ./out) receives tensors.csv and channels.csv; REPORT_OPTS is
# passed to every shard (e.g. REPORT_OPTS="--bits 4 --method mse").
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 2 ] || { echo "usage: $0 N FLOAT [QUANT]" >&2; exit 2; }
n=$1
shift
out=${OUT:-out}
qscope=${QSCOPE:-qscope}
jid=$(sbatch --parsable --array=1-"$n" --export=ALL "$here/slurm_report.sbatch" "$@")
sbatch --dependency=afterok:"$jid" --job-name=qscope-merge --output=qscope-merge-%j.log \
	--wrap "$qscope merge $out/channels.*.csv -o $out/channels.csv && $qscope merge $out/tensors.*.csv -o $out/tensors.csv"
echo "submitted array $jid (1-$n) and its merge job"
