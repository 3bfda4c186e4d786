#!/usr/bin/env bash
# The smaller contracts of the command line: report --format csv|json on
# stdout, inspect (table and JSON), the TUI command falling back to a report
# when stdout is not a terminal (and refusing when `tui` is explicit), the
# progress bar only on a terminal and never with --quiet, merge to stdout,
# demo into a new folder.
. "$(dirname "$0")/lib.bash"

"$PY" -c "
import numpy as np
rng = np.random.default_rng(4)
np.savez('m.npz', w1=rng.normal(size=(6, 10)).astype(np.float32),
         w2=rng.laplace(size=(3, 40)).astype(np.float32), z=np.zeros((4, 4), np.float32))"

run_rc 0 "$QSCOPE" report m.npz --format csv
"$PY" - "$T/out" <<'PYEOF'
import csv, os, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
assert rows[0][:24] == os.environ["TENSOR_COLS"].split(","), rows[0]
assert [r[0] for r in rows[1:]] == ["w1", "w2", "z"], rows
PYEOF

run_rc 0 "$QSCOPE" report m.npz --format json --bits 4
"$PY" - "$T/out" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1]))
t = {r["tensor"]: r for r in d["tensors"]}
assert set(t) == {"w1", "w2", "z"} and t["w1"]["bits"] == 4, t["w1"]
assert isinstance(t["w1"]["sqnr_db"], float)
assert t["z"]["sqnr_db"] == "inf", t["z"]["sqnr_db"]      # all-zero tensor: exact
tot = d["totals"]
assert tot["tensors"] == 3 and tot["parameters"] == 60 + 120 + 16, tot
# parameter-weighted SQNR over the finite rows, recomputed here
w = sum(t[n]["elements"] * t[n]["sqnr_db"] for n in ("w1", "w2")) / 180
assert abs(tot["weighted_sqnr_db"] - w) < 1e-9, (tot, w)
PYEOF

# The table: worst SQNR first, totals, nothing on stderr when not a terminal.
run_rc 0 "$QSCOPE" report m.npz --bits 3
head -1 "$T/out" | grep -q "SQNR dB" || fail "no table header"
[ "$(sed -n 2p "$T/out" | awk '{print $NF}')" = "w2" ] || fail "worst tensor not first: $(cat "$T/out")"
grep -q "parameter-weighted SQNR" "$T/out" || fail "no totals"
[ ! -s "$T/err" ] || fail "stderr not empty: $(cat "$T/err")"

run_rc 0 "$QSCOPE" inspect m.npz
grep -q "^w2 .*f32 .*3x40 .*120" "$T/out" || fail "inspect: $(cat "$T/out")"
run_rc 0 "$QSCOPE" inspect m.npz --format json
"$PY" -c "
import json; d = json.load(open('$T/out'))
assert d['format'] == 'npz' and [t['shape'] for t in d['tensors']] == [[6, 10], [3, 40], [4, 4]], d"

# Without a terminal the default command is a report; `tui` insists on one.
run_rc 0 "$QSCOPE" m.npz --bits 4 </dev/null
grep -q "parameter-weighted SQNR" "$T/out" || fail "no report fallback: $(cat "$T/out")"
run_rc 2 "$QSCOPE" tui m.npz </dev/null
grep -q "terminal" "$T/err" || fail "tui without a terminal: $(cat "$T/err")"

# The progress bar appears on a terminal (script(1) provides one), not with --quiet.
if command -v script >/dev/null; then
	script -qec "$QSCOPE report m.npz --csv p.csv >/dev/null" /dev/null >tty.txt </dev/null || true
	grep -q "ETA" tty.txt || fail "no progress bar on a terminal: $(cat tty.txt)"
	script -qec "$QSCOPE report m.npz --quiet --csv p.csv" /dev/null >tty.txt </dev/null || true
	! grep -q "ETA" tty.txt || fail "progress bar despite --quiet"
fi

# merge without -o writes to stdout.
run_rc 0 "$QSCOPE" report m.npz --shard 1/2 --csv a.csv --quiet
run_rc 0 "$QSCOPE" report m.npz --shard 2/2 --csv b.csv --quiet
run_rc 0 "$QSCOPE" merge b.csv a.csv
run_rc 0 "$QSCOPE" report m.npz --csv full.csv --quiet
"$QSCOPE" merge b.csv a.csv | cmp - full.csv || fail "merge to stdout differs"

run_rc 0 "$QSCOPE" demo new/dir/../demo
[ -s new/demo/demo_float.onnx ] && [ -s new/demo/demo_int8.onnx ] || fail "demo files not written"
touch plain
run_rc 2 "$QSCOPE" demo plain/sub
grep -q "plain" "$T/err" || fail "demo into a file: $(cat "$T/err")"

# Unpaired tensors on either side are listed, never dropped.
"$PY" -c "
import numpy as np
r = np.random.default_rng(0)
a = r.normal(size=(4, 8)).astype(np.float32)
np.savez('uf.npz', a=a, b=r.normal(size=(3, 3)).astype(np.float32))
np.savez('uq.npz', a=a.astype(np.float16), c=r.normal(size=(5,)).astype(np.float32))"
run_rc 0 "$QSCOPE" report uf.npz uq.npz --csv u.csv
grep -q "^unpaired: b " "$T/out" && grep -q "^unpaired: c " "$T/out" || fail "unpaired: $(cat "$T/out")"
"$PY" - <<'PYEOF'
import csv
import numpy as np
rows = {r["tensor"]: r for r in csv.DictReader(open("u.csv", newline=""))}
assert rows["b"]["status"] == rows["c"]["status"] == "unpaired", rows
assert rows["b"]["sqnr_db"] == "" and rows["b"]["qtype"] == ""
a = np.load("uf.npz")["a"].astype(np.float64)
e = a - np.load("uq.npz")["a"].astype(np.float64)          # the float16 cast, measured
assert rows["a"]["qtype"] == "F16" and rows["a"]["method"] == "stored", rows["a"]
assert abs(float(rows["a"]["sqnr_db"]) - 10 * np.log10((a * a).sum() / (e * e).sum())) < 1e-9
PYEOF

# No arguments: the bundled demo (a report here, as stdout is not a terminal).
if [ -f "${QSCOPE_SRC:-/nonexistent}/share/demo/demo_float.onnx" ]; then
	run_rc 0 "$QSCOPE" </dev/null
	grep -q "conv1.weight" "$T/out" && grep -q "parameter-weighted" "$T/out" ||
		fail "no demo report: $(cat "$T/out")"
fi
