#!/usr/bin/env bash
# CI gates: exit 0 when every tensor passes, 1 when --fail-below-sqnr,
# a recipe min_sqnr or --fail-on-risk trips (the failing tensors, and only
# they, named on stderr), 2 on bad input.
. "$(dirname "$0")/lib.bash"

"$PY" - <<'PYEOF'
import numpy as np
rng = np.random.default_rng(5)
good = rng.normal(size=(8, 64)).astype(np.float32)
wide = rng.standard_cauchy(size=(8, 64)).astype(np.float32)   # heavy tails: low SQNR
nan = rng.normal(size=(8, 64)).astype(np.float32); nan[2, 5] = np.nan
np.savez("m.npz", good=good, wide=wide)
np.savez("n.npz", good=good, broken=nan)
# the reference SQNR of `good` and `wide` at 8-bit symmetric per-channel minmax
def sqnr(x):
    xh = np.empty_like(x)
    for c in range(x.shape[0]):
        s = np.float32(np.abs(x[c]).max() / 127.5)
        xh[c] = (np.clip(np.round(x[c] / s), -128, 127) * s).astype(np.float32)
    e = x.astype(np.float64) - xh
    return 10 * np.log10((x.astype(np.float64) ** 2).sum() / (e * e).sum())
open("sqnr.txt", "w").write(f"{sqnr(good)} {sqnr(wide)}\n")
PYEOF
read -r sq_good sq_wide <sqnr.txt
mid=$("$PY" -c "print(($sq_good + $sq_wide) / 2)")
low=$("$PY" -c "print(min($sq_good, $sq_wide) - 1)")

run_rc 0 "$QSCOPE" report m.npz --fail-below-sqnr "$low" --quiet
[ ! -s "$T/err" ] || fail "a passing gate printed: $(cat "$T/err")"

run_rc 1 "$QSCOPE" report m.npz --fail-below-sqnr "$mid" --quiet
grep -q "wide" "$T/err" || fail "the failing tensor is not named"
! grep -q "good" "$T/err" || fail "a passing tensor is named"

run_rc 1 "$QSCOPE" report m.npz --fail-below-sqnr 1000 --quiet
grep -q "wide" "$T/err" && grep -q "good" "$T/err" || fail "not every failing tensor named"

# A recipe min_sqnr gates one tensor on its own.
printf 'pattern,action,bits,scheme,granularity,method,qtype,min_sqnr\ngood,quantize,,,,,,1000\n' >gate.csv
run_rc 1 "$QSCOPE" report m.npz --recipe gate.csv --quiet
grep -q "good" "$T/err" && ! grep -q "wide" "$T/err" || fail "recipe gate: $(cat "$T/err")"

# Overflow risk: a NaN weight is a risk; the clean model has none.
run_rc 0 "$QSCOPE" report m.npz --fail-on-risk --quiet
run_rc 1 "$QSCOPE" report n.npz --fail-on-risk --quiet
grep -q "broken" "$T/err" && ! grep -q "good" "$T/err" || fail "risk gate: $(cat "$T/err")"

# Bad input beats the gate.
printf 'not a model' >bad.npy
run_rc 2 "$QSCOPE" report bad.npy --fail-below-sqnr 10
