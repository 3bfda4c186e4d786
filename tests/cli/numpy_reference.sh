#!/usr/bin/env bash
# Per-tensor and per-channel figures of `qscope report` on an .npz against
# numpy computing the same quantization independently (QuantizeLinear rules:
# float32 division by the float32 scale, round half to even, clamp), for
# symmetric per-channel, affine per-tensor and symmetric per-group schemes.
# Both CSVs are read with Python's csv module and must start with exactly the
# design.md columns.
# labels: numeric
. "$(dirname "$0")/lib.bash"

"$PY" - <<'PYEOF'
import numpy as np
rng = np.random.default_rng(7)
a = rng.normal(0, 0.05, size=(16, 3, 3, 3)).astype(np.float32)
a[3] *= 20                      # an outlier channel
b = rng.laplace(0, 0.2, size=(24, 40)).astype(np.float32)
c = rng.uniform(-1, 3, size=(10,)).astype(np.float32)
np.savez("m.npz", conv=a, fc=b, vec=c)
PYEOF

check() { # check SCHEME-OPTIONS... -- python kind
	local kind=$1
	shift
	run_rc 0 "$QSCOPE" report m.npz "$@" --csv t.csv --channels-csv ch.csv --quiet
	[ ! -s "$T/out" ] || fail "--quiet printed to stdout"
	"$PY" - "$kind" <<'PYEOF'
import csv, math, os, sys
import numpy as np
kind = sys.argv[1]
m = np.load("m.npz")

def codes_range(bits, narrow):
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return (lo + 1 if narrow else lo), hi

def params(x, bits, sym, narrow):
    qmin, qmax = codes_range(bits, narrow)
    if sym:
        z = int(np.round((qmin + qmax) / 2))
        s = max(abs(float(x.min())), abs(float(x.max()))) / ((qmax - qmin) / 2)
    else:
        lo, hi = min(float(x.min()), 0.0), max(float(x.max()), 0.0)
        s = (hi - lo) / (qmax - qmin)
        z = int(min(max(np.round(qmin - lo / s), qmin), qmax))
    return np.float32(s), z, qmin, qmax

def quant(x, s, z, qmin, qmax):
    q = np.clip(np.round(x / s) + z, qmin, qmax)          # float32 x / float32 s
    return ((q - z).astype(np.float32) * s).astype(np.float32), q

def groups(x, how):
    """Yield (channel, index arrays) per quantization group."""
    if how == "tensor":
        yield 0, np.ones(x.shape, bool)
    elif how == "channel":
        for c in range(x.shape[0]):
            mask = np.zeros(x.shape, bool); mask[c] = True
            yield c, mask
    else:                                   # group:N: blocks of N along the last axis, per row
        n = int(how.split(":")[1]); last = x.shape[-1]
        for row in range(x.size // last):
            for g in range(0, last, n):
                flat = np.zeros(x.size, bool).reshape(-1, last); flat[row, g:g + n] = True
                yield g, flat.reshape(x.shape)

cfg = {"chan": (8, True, True, "channel"), "affine": (4, False, False, "tensor"),
       "group": (4, True, False, "group:8")}[kind]
bits, sym, narrow, how = cfg
rows = list(csv.reader(open("t.csv", newline="")))
assert rows[0][:24] == os.environ["TENSOR_COLS"].split(","), rows[0]
ch = list(csv.reader(open("ch.csv", newline="")))
assert ch[0][:13] == os.environ["CHANNEL_COLS"].split(","), ch[0]
got = {r[0]: dict(zip(rows[0], r)) for r in rows[1:]}
assert sorted(got) == ["conv", "fc", "vec"], sorted(got)
chans = {}
for r in ch[1:]:
    d = dict(zip(ch[0], r)); chans.setdefault(d["tensor"], []).append(d)

def close(a, b, rel=1e-6, tiny=1e-12):
    if math.isinf(b):
        return a == b
    return abs(a - b) <= max(tiny, rel * abs(b))

def db(sx2, se2):
    return math.inf if se2 == 0 else 10 * math.log10(sx2 / se2)

for name in got:
    x = m[name]
    xh = np.empty_like(x); scales = []
    for _, mask in groups(x, how):
        s, z, qmin, qmax = params(x[mask], bits, sym, narrow)
        xh[mask], _ = quant(x[mask], s, z, qmin, qmax); scales.append(float(s))
    e = x.astype(np.float64) - xh.astype(np.float64)
    mse = float(np.mean(e * e)); sqnr = db(float(np.sum(x.astype(np.float64) ** 2)), float(np.sum(e * e)))
    r = got[name]
    assert int(r["elements"]) == x.size and int(r["bits"]) == bits, r
    for col, want in (("mse", mse), ("rmse", math.sqrt(mse)), ("mae", float(np.mean(np.abs(e)))),
                      ("max_abs_err", float(np.max(np.abs(e)))), ("sqnr_db", sqnr),
                      ("scale_min", min(scales)), ("scale_max", max(scales))):
        assert close(float(r[col]), want), (kind, name, col, r[col], want)
    cos = float(np.dot(x.ravel().astype(np.float64), xh.ravel().astype(np.float64)) /
                (np.linalg.norm(x.astype(np.float64)) * np.linalg.norm(xh.astype(np.float64))))
    assert close(float(r["cosine"]), cos, 1e-9), (name, r["cosine"], cos)
    if how == "channel":
        rowsc = chans[name]
        assert len(rowsc) == x.shape[0], (name, len(rowsc))
        for d in rowsc:
            c = int(d["channel"]); xc = x[c].astype(np.float64); ec = xc - xh[c].astype(np.float64)
            assert int(d["elements"]) == xc.size
            assert close(float(d["rmse"]), math.sqrt(float(np.mean(ec * ec)))), (name, c, d)
            assert close(float(d["sqnr_db"]), db(float(np.sum(xc * xc)), float(np.sum(ec * ec)))), (name, c, d)
            assert close(float(d["min"]), float(xc.min())) and close(float(d["max"]), float(xc.max()))
print("ok", kind)
PYEOF
}

check chan --bits 8 --scheme sym --narrow-range --granularity channel
check affine --bits 4 --scheme asym --granularity tensor
check group --bits 4 --scheme sym --granularity group:8
