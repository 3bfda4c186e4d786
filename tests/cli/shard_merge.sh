#!/usr/bin/env bash
# Scale-out: a 4-shard run under GNU parallel, joined by `qscope merge`,
# equals the unsharded report row for row (per tensor and per channel); the
# shards partition the tensors; a missing, duplicated or foreign shard makes
# merge fail with exit 2 and write nothing.
# labels: parallel
. "$(dirname "$0")/lib.bash"
command -v parallel >/dev/null || {
	echo "GNU parallel is not installed (share/setup/deps.sh installs it)"
	exit 77
}

"$PY" - <<'PYEOF'
import numpy as np
rng = np.random.default_rng(11)
sizes = [(64, 64), (3, 5), (32, 16), (128, 8), (7,), (16, 3, 3, 3), (40, 40), (1, 200), (9, 9),
         (2, 2), (100,), (12, 30)]
np.savez("m.npz", **{f"layer{i}.weight": rng.normal(size=s).astype(np.float32) for i, s in enumerate(sizes)})
PYEOF
scheme=(--bits 4 --method mse --granularity channel)
opts=("${scheme[@]}" --quiet)
run_rc 0 "$QSCOPE" report m.npz "${opts[@]}" --csv full.csv --channels-csv full_ch.csv
parallel --will-cite --halt now,fail=1 "$QSCOPE" report m.npz "${opts[@]}" --shard {}/4 --csv part{}.csv \
	--channels-csv ch{}.csv ::: 1 2 3 4 || fail "a shard job failed"

# The shards partition the tensors and are balanced by size.
"$PY" - <<'PYEOF'
import csv
full = [r["tensor"] for r in csv.DictReader(open("full.csv", newline=""))]
parts = [[r for r in csv.DictReader(open(f"part{k}.csv", newline=""))] for k in range(1, 5)]
names = [r["tensor"] for p in parts for r in p]
assert sorted(names) == sorted(full) and len(names) == len(set(names)), names
for k, p in enumerate(parts, 1):
    assert p and all(r["shard"] == f"{k}/4" for r in p), k
loads = [sum(int(r["elements"]) for r in p) for p in parts]
largest = max(int(r["elements"]) for p in parts for r in p)
# largest-first greedy (LPT) stays within 4/3 of the best possible makespan
assert max(loads) <= 4 / 3 * max(largest, sum(loads) / 4), loads
print("loads", loads)
PYEOF

run_rc 0 "$QSCOPE" merge part3.csv part1.csv part4.csv part2.csv -o merged.csv
cmp full.csv merged.csv || fail "merged per-tensor CSV differs from the unsharded one"
grep -q "parameters" "$T/out" || fail "merge printed no totals"
run_rc 0 "$QSCOPE" merge ch2.csv ch4.csv ch1.csv ch3.csv -o merged_ch.csv
cmp full_ch.csv merged_ch.csv || fail "merged per-channel CSV differs from the unsharded one"

# Totals recomputed by merge equal the unsharded run's.
"$QSCOPE" report m.npz "${scheme[@]}" | tail -n 3 | head -n 2 >full_totals.txt
"$QSCOPE" merge part1.csv part2.csv part3.csv part4.csv -o m2.csv | tail -n 3 | head -n 2 >merged_totals.txt
diff full_totals.txt merged_totals.txt || fail "totals differ"

# Missing, duplicated and foreign shards.
run_rc 2 "$QSCOPE" merge part1.csv part2.csv part4.csv -o bad.csv
grep -q "shard 3/4 is missing" "$T/err" || fail "missing shard not named: $(cat "$T/err")"
run_rc 2 "$QSCOPE" merge part1.csv part2.csv part2.csv part3.csv part4.csv -o bad.csv
grep -q "duplicated" "$T/err" || fail "duplicate not reported: $(cat "$T/err")"
"$QSCOPE" report m.npz --bits 8 --quiet --shard 3/4 --csv other3.csv
run_rc 2 "$QSCOPE" merge part1.csv part2.csv other3.csv part4.csv -o bad.csv
grep -q "run" "$T/err" || fail "foreign run not reported: $(cat "$T/err")"
[ ! -e bad.csv ] || fail "a failed merge wrote its output"

# More shards than tensors: empty shards still merge to the full report.
parallel --will-cite "$QSCOPE" report m.npz "${opts[@]}" --shard {}/16 --csv s{}.csv ::: $(seq 1 16)
run_rc 0 "$QSCOPE" merge s*.csv -o merged16.csv
cmp full.csv merged16.csv || fail "16-shard merge differs"
