#!/usr/bin/env bash
# The shipped scale-out examples run: share/examples/parallel_report.sh (GNU
# parallel) and slurm_report.sbatch (one array task per run, emulated with
# the SLURM_ARRAY_* variables) followed by merge give the unsharded report.
# labels: parallel
. "$(dirname "$0")/lib.bash"
: "${QSCOPE_SRC:?}"
ex=$QSCOPE_SRC/share/examples
command -v parallel >/dev/null || {
	echo "GNU parallel is not installed"
	exit 77
}
"$PY" -c "
import numpy as np
rng = np.random.default_rng(9)
np.savez('m.npz', **{f'w{i}': rng.normal(size=(8 * (i + 1), 17)).astype(np.float32) for i in range(7)})"
run_rc 0 "$QSCOPE" report m.npz --bits 6 --csv full.csv --channels-csv full_ch.csv --quiet

run_rc 0 env QSCOPE="$QSCOPE" bash "$ex/parallel_report.sh" m.npz -n 3 -o par -- --bits 6
cmp full.csv par/tensors.csv || fail "parallel example: tensors.csv differs"
cmp full_ch.csv par/channels.csv || fail "parallel example: channels.csv differs"
grep -q "parameters" "$T/out" || fail "parallel example printed no totals"

for k in 1 2 3 4; do
	run_rc 0 env QSCOPE="$QSCOPE" OUT=slurm REPORT_OPTS="--bits 6" SLURM_ARRAY_TASK_ID=$k \
		SLURM_ARRAY_TASK_COUNT=4 bash "$ex/slurm_report.sbatch" m.npz
done
run_rc 0 "$QSCOPE" merge slurm/tensors.*.csv -o slurm.csv
cmp full.csv slurm.csv || fail "slurm example: merged CSV differs"
