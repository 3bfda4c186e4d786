#!/usr/bin/env bash
# --jobs N gives byte-identical CSVs (per tensor and per channel) for N = 1,
# 2 and 5, and the rows come in model order whatever finishes first.
. "$(dirname "$0")/lib.bash"

"$PY" - <<'PYEOF'
import numpy as np
rng = np.random.default_rng(3)
arrs = {f"t{i:02d}": rng.normal(size=(int(rng.integers(1, 64)), int(rng.integers(1, 300)))).astype(np.float32)
        for i in range(14)}
np.savez("m.npz", **arrs)
PYEOF
for j in 1 2 5; do
	run_rc 0 "$QSCOPE" report m.npz --bits 4 --method mse --jobs $j --csv t$j.csv \
		--channels-csv c$j.csv --quiet
done
cmp t1.csv t2.csv && cmp t1.csv t5.csv || fail "per-tensor CSV differs between --jobs values"
cmp c1.csv c2.csv && cmp c1.csv c5.csv || fail "per-channel CSV differs between --jobs values"
names=$(cut -d, -f1 t1.csv | tail -n +2 | tr '\n' ' ')
[ "$names" = "t00 t01 t02 t03 t04 t05 t06 t07 t08 t09 t10 t11 t12 t13 " ] ||
	fail "rows not in model order: $names"
