#!/usr/bin/env bash
# Recipes: one layer kept in float and another at 4 bits produce a written
# model (npz) where exactly that happened, checked by reading it back with
# numpy; select/exclude restrict the written tensors; --save-recipe output fed
# back reproduces the same report; quantize never overwrites its input.
. "$(dirname "$0")/lib.bash"

"$PY" - <<'PYEOF'
import numpy as np
rng = np.random.default_rng(2)
np.savez("f.npz", **{"conv1.weight": rng.normal(0, .1, size=(8, 3, 3, 3)).astype(np.float32),
                     "conv2.weight": rng.normal(0, .1, size=(16, 8, 3, 3)).astype(np.float32),
                     "fc.weight": rng.normal(0, .1, size=(10, 64)).astype(np.float32)})
PYEOF
cat >r.csv <<'CSV'
pattern,action,bits,scheme,granularity,method
conv1.*,keep-float,,,,
conv2.*,quantize,4,,,
CSV
run_rc 0 "$QSCOPE" quantize f.npz -o q.npz --recipe r.csv
"$PY" - <<'PYEOF'
import numpy as np
f, q = np.load("f.npz"), np.load("q.npz")
# keep-float: the tensor is written as it was, with no codes beside it
assert np.array_equal(q["conv1.weight"], f["conv1.weight"])
assert "conv1.weight.q" not in q.files, q.files
for name, bits in (("conv2.weight", 4), ("fc.weight", 8)):
    codes, s = q[name + ".q"].astype(np.int64), q[name + ".scale"].astype(np.float32)
    info = q[name + ".qinfo"]
    assert info[0] == bits, (name, info)
    assert codes.min() >= -(1 << (bits - 1)) and codes.max() <= (1 << (bits - 1)) - 1, name
    assert codes.max() - codes.min() > (1 << bits) // 2, (name, codes.min(), codes.max())
    z = q[name + ".zero_point"] if name + ".zero_point" in q.files else 0
    deq = ((codes - z).astype(np.float32) * s).astype(np.float32)
    assert np.allclose(deq, q[name], rtol=0, atol=1e-7), name
    # per-channel symmetric minmax (the defaults): scale = max|x| / 2^(b-1) - 1/2 steps
    x = f[name]; axes = tuple(range(1, x.ndim))
    want = (np.abs(x).max(axis=axes) / ((2 ** bits - 1) / 2)).astype(np.float32)
    assert np.allclose(s.reshape(-1), want, rtol=1e-6), name
    err = np.abs(q[name] - x).max()
    assert err <= want.max() * 0.5 + 1e-6 or bits == 4, (name, err)
print("ok")
PYEOF
# Reading the written model back as QUANT: the tool agrees with numpy.
run_rc 0 "$QSCOPE" report f.npz q.npz --csv m.csv --quiet
"$PY" - <<'PYEOF'
import csv
rows = {r["tensor"]: r for r in csv.DictReader(open("m.csv", newline=""))}
assert rows["conv2.weight"]["qtype"] == "int4" and rows["conv2.weight"]["bits"] == "4", rows["conv2.weight"]
assert rows["fc.weight"]["qtype"] == "int8", rows["fc.weight"]
assert rows["conv2.weight"]["method"] == "stored"
# the what-if columns (defaults: 8-bit) sit beside the stored figures
assert rows["conv2.weight"]["whatif_bits"] == "8", rows["conv2.weight"]
assert float(rows["conv2.weight"]["whatif_sqnr_db"]) > float(rows["conv2.weight"]["sqnr_db"]) + 20
print("ok measure")
PYEOF

# --exclude: excluded tensors are written unchanged.
run_rc 0 "$QSCOPE" quantize f.npz -o e.npz --exclude 'fc.*'
"$PY" -c "
import numpy as np
f, e = np.load('f.npz'), np.load('e.npz')
assert np.array_equal(e['fc.weight'], f['fc.weight']) and 'fc.weight.q' not in e.files
assert 'conv1.weight.q' in e.files"

# Never overwrite an input.
cp f.npz f_copy.npz
run_rc 2 "$QSCOPE" quantize f.npz -o f.npz
cmp f.npz f_copy.npz || fail "the input was modified"

# --save-recipe round trip: the saved recipe reproduces the report.
printf 'pattern,action,bits,scheme,granularity,method,qtype,min_sqnr\nfc.*,quantize,6,asym,group:16,mse,,12.5\nconv1.*,keep-float,,,,,,\n' >r2.csv
run_rc 0 "$QSCOPE" report f.npz --recipe r2.csv --bits 5 --save-recipe saved.csv --csv a.csv --quiet
[ "$(head -1 saved.csv)" = "pattern,action,bits,scheme,granularity,method,qtype,min_sqnr" ] ||
	fail "saved recipe header: $(head -1 saved.csv)"
[ "$(wc -l <saved.csv)" -eq 4 ] || fail "saved recipe should have one row per tensor"
grep -q '^fc\.weight,quantize,6,asym,group:16,mse,,12\.5$' saved.csv || fail "saved fc row: $(cat saved.csv)"
run_rc 0 "$QSCOPE" report f.npz --recipe saved.csv --csv b.csv --quiet
"$PY" - <<'PYEOF'
import csv
a = list(csv.DictReader(open("a.csv", newline="")))
b = list(csv.DictReader(open("b.csv", newline="")))
assert len(a) == len(b) == 3
for ra, rb in zip(a, b):
    ra.pop("run"); rb.pop("run")
    assert ra == rb, (ra, rb)
byname = {r["tensor"]: r for r in a}
assert byname["fc.weight"]["bits"] == "6" and byname["fc.weight"]["scheme"] == "asym"
assert byname["fc.weight"]["granularity"].startswith("group:16"), byname["fc.weight"]["granularity"]
assert byname["conv1.weight"]["status"] == "keep-float"
assert byname["conv2.weight"]["bits"] == "5"
print("ok round trip")
PYEOF

# --fake-quant: the dequantized floats only, equal to the codes' x̂.
run_rc 0 "$QSCOPE" quantize f.npz -o fq.npz --recipe r.csv --fake-quant
"$PY" - <<'PYEOF'
import numpy as np
q, fq, f = np.load("q.npz"), np.load("fq.npz"), np.load("f.npz")
assert not any(n.endswith((".q", ".scale", ".zero_point", ".qinfo")) for n in fq.files), fq.files
assert fq["conv2.weight"].dtype == np.float32
assert np.array_equal(fq["conv2.weight"], q["conv2.weight"]) and np.array_equal(fq["fc.weight"], q["fc.weight"])
assert np.array_equal(fq["conv1.weight"], f["conv1.weight"])
assert len(np.unique(fq["conv2.weight"][0])) <= 16       # 4-bit: at most 16 levels per channel
print("ok fake-quant")
PYEOF
