#!/usr/bin/env bash
# The minimum-MSE seed vector of the Samsung/ONE discussion: per-tensor
# symmetric narrow-range scales and RMSE for minmax and mse at 4 and 8 bits,
# read back from `report --csv -` with Python's csv module. The expected
# figures are the published ones (independent of qscope).
# labels: numeric
. "$(dirname "$0")/lib.bash"

"$PY" - <<'PYEOF'
import numpy as np
w = np.array([0.0027225911617279053, 0.18983474373817444, 0.41336789727211, -0.18240013718605042,
              0.2007804811000824, -0.19718044996261597, -0.06138917803764343, -0.12958911061286926,
              -0.12484398484230042, -0.4296090304851532, -0.3490271270275116, 0.3468421995639801,
              0.3684578835964203, 0.18269559741020203, 0.23875799775123596, -0.2323986440896988],
             dtype=np.float32)
np.save("w.npy", w)
PYEOF

for case in "minmax 4 0.4296090304851532/7 0.010758" "minmax 8 0.4296090304851532/127 0.00082632" \
	"mse 4 0.0602752 0.0096828" "mse 8 0.0037988 0.00058516"; do
	set -- $case
	run_rc 0 "$QSCOPE" report w.npy --granularity tensor --scheme sym --narrow-range \
		--bits "$2" --method "$1" --csv -
	"$PY" - "$T/out" "$3" "$4" "$2" <<'PYEOF'
import csv, os, sys
path, scale, rmse, bits = sys.argv[1], eval(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
rows = list(csv.reader(open(path, newline="")))
want = os.environ["TENSOR_COLS"].split(",")
assert rows[0][:len(want)] == want, rows[0]
assert len(rows) == 2, rows
r = dict(zip(rows[0], rows[1]))
assert r["tensor"] == "w" and r["granularity"] == "tensor" and int(r["bits"]) == bits, r
got_s, got_r = float(r["scale_min"]), float(r["rmse"])
# published figures carry 5 significant digits; minmax scales are exact up to float32
tol_s = 1e-6 if "/" in sys.argv[2] else 5e-5
assert abs(got_s - scale) <= tol_s * scale, (got_s, scale)
assert abs(got_r - rmse) <= 5e-5 * rmse, (got_r, rmse)
assert float(r["scale_max"]) == got_s
print("ok", sys.argv[2], got_s, got_r)
PYEOF
done
