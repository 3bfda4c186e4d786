#!/usr/bin/env bash
# Measure mode end to end on tensors large enough to be streamed in chunks
# and two halves: a float safetensors and an int8 one written here by numpy
# (codes rounded from x, some moved by hand, per-channel scales along axis 0
# and axis 1, a per-tensor scale, groups of 128 along the last axis; NaN and
# inf in x, an infinite scale giving non-finite x̂ at finite x). `qscope
# report FLOAT QUANT` must give numpy's figures over the elements with finite
# x and x̂: mse, max_abs_err, sqnr_db, levels_used (distinct codes), n_nan,
# n_inf, per-channel mse; and the same CSV for -j 1 and -j 2.
# labels: numeric
. "$(dirname "$0")/lib.bash"

"$PY" - <<'PYEOF'
import json, struct
import numpy as np
rng = np.random.default_rng(17)

def save(path, ts):
    hdr, off, blobs = {}, 0, []
    for k, (dt, v) in ts.items():
        b = np.ascontiguousarray(v).tobytes()
        hdr[k] = {"dtype": dt, "shape": list(v.shape), "data_offsets": [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    h = json.dumps(hdr).encode()
    h += b" " * (-len(h) % 8)
    open(path, "wb").write(struct.pack("<Q", len(h)) + h + b"".join(blobs))

x = {"a.weight": rng.normal(0, 0.05, (300, 700)),      # per channel, axis 0
     "b.weight": rng.laplace(0, 0.2, (1000, 96)),      # per channel, axis 1
     "c.weight": rng.normal(0, 1.0, (400, 300)),       # per tensor
     "d.weight": rng.normal(0, 0.1, (256, 512))}       # groups of 128, last axis
x = {k: v.astype(np.float32) for k, v in x.items()}
x["a.weight"][5, 17] = np.nan
x["a.weight"][7, 3] = np.inf
x["d.weight"][100, 200] = -np.inf
scales = {"a.weight": np.abs(x["a.weight"]).max(axis=1, where=np.isfinite(x["a.weight"]),
                                                initial=0, keepdims=True) / 100,
          "b.weight": np.abs(x["b.weight"]).max(axis=0, keepdims=True) / 127,
          "c.weight": np.array([np.abs(x["c.weight"]).max() / 90], dtype=np.float64),
          "d.weight": np.abs(x["d.weight"]).reshape(256, 4, 128).max(
              axis=2, where=np.isfinite(x["d.weight"].reshape(256, 4, 128)), initial=0) / 127}
scales = {k: v.astype(np.float32) for k, v in scales.items()}
scales["a.weight"][11, 0] = np.inf          # x̂ = ±inf or NaN where x is finite
quant, ref = {}, {}
for k, v in x.items():
    s = scales[k]
    full = np.repeat(s, 128, axis=1) if k == "d.weight" else s
    sd = np.where(np.isfinite(full), full, 1.0).astype(np.float32)
    q = np.clip(np.rint(np.where(np.isfinite(v), v, 0) / sd), -128, 127).astype(np.int8)
    flat = q.reshape(-1)                    # a view: some codes moved by hand
    flat[::37] = rng.integers(-128, 128, flat[::37].size)
    quant[k] = ("I8", q)
    quant[k + "_scale"] = ("F32", s)
    with np.errstate(invalid="ignore"):
        xh = q.astype(np.float32) * full.astype(np.float32)
    ref[k] = (v.astype(np.float64), xh.astype(np.float64), q)
save("f.safetensors", {k: ("F32", v) for k, v in x.items()})
save("q.safetensors", quant)
np.savez("ref.npz", **{k + "|" + p: a for k, r in ref.items() for p, a in zip("xhq", r)})
PYEOF
[ -s q.safetensors ] || fail "fixture not written"

run_rc 0 "$QSCOPE" report f.safetensors q.safetensors --csv t.csv --channels-csv ch.csv \
	--quiet -j 2
run_rc 0 "$QSCOPE" report f.safetensors q.safetensors --csv t1.csv --channels-csv ch1.csv \
	--quiet -j 1
cmp -s t.csv t1.csv || fail "-j 1 and -j 2 differ"
cmp -s ch.csv ch1.csv || fail "-j 1 and -j 2 channel tables differ"

"$PY" - <<'PYEOF'
import csv, math
import numpy as np
z = np.load("ref.npz")
rows = {r["tensor"]: r for r in csv.DictReader(open("t.csv", newline=""))}
chans = {}
for r in csv.DictReader(open("ch.csv", newline="")):
    chans.setdefault(r["tensor"], {})[int(r["channel"])] = r

def close(got, want, what):
    g = float(got)
    ok = g == want if math.isinf(want) else abs(g - want) <= 1e-12 * abs(want) + 1e-300
    assert ok, (what, g, want)

names = sorted({k.split("|")[0] for k in z.files})
assert names == sorted(rows), (names, sorted(rows))
for k in names:
    x, xh, q = z[k + "|x"], z[k + "|h"], z[k + "|q"]
    r = rows[k]
    fx = np.isfinite(x)
    m = fx & np.isfinite(xh)
    e = (x - xh)[m]
    se = float((e * e).sum())
    close(r["mse"], se / m.sum(), (k, "mse"))
    close(r["max_abs_err"], float(np.abs(e).max()), (k, "max_abs_err"))
    close(r["sqnr_db"], 10 * math.log10(float((x[m] ** 2).sum()) / se), (k, "sqnr_db"))
    assert int(r["levels_used"]) == len(np.unique(q[m])), (k, r["levels_used"])
    assert int(r["n_nan"]) == int(np.isnan(x).sum()), (k, r["n_nan"])
    assert int(r["n_inf"]) == int(np.isinf(x).sum()), (k, r["n_inf"])
    axis = 1 if k == "b.weight" else 0
    ch = chans[k]
    for c in (0, 1, 57, 95):
        sel = [slice(None)] * 2
        sel[axis] = c
        mc, ec = m[tuple(sel)], (x - xh)[tuple(sel)]
        close(ch[c]["mse"], float((ec[mc] ** 2).sum()) / mc.sum(), (k, c, "channel mse"))
    if k in ("a.weight", "d.weight"):
        assert r["overflow_risk"] == "risk", (k, r["overflow_risk"])
print("ok", len(names), "tensors")
PYEOF
