#!/usr/bin/env bash
# Measure mode on real GGUF files written by llama.cpp's own gguf-py
# (../shared/models): `report F32.gguf Qx.gguf` must give, per tensor, the
# error figures numpy computes from gguf-py's reader and dequantizer — for
# Q8_0, Q4_0 and Q5_1 — and list every tensor once. With --qtype set to the
# file's own type, the what-if (qscope's reference quantizer) must reproduce
# llama.cpp's figures (max error exactly, the sums to 1e-12), and the tensors a block format cannot take
# (1-D, rows not a multiple of 32) stay in float as llama.cpp left them.
# labels: realmodels interop gguf
. "$(dirname "$0")/lib.bash"
: "${QSCOPE_SHARED:?}" "${QSCOPE_SRC:?}"
models=$QSCOPE_SHARED/models
gguf_py=$QSCOPE_SRC/share/setup/vendor/llama.cpp-gguf/gguf-py
[ -f "$models/silero_vad_legacy.F32.gguf" ] || { echo "no ../shared/models"; exit 77; }
[ -f "$gguf_py/gguf/__init__.py" ] || { echo "gguf-py not fetched (share/setup/deps.sh)"; exit 77; }

for qt in Q8_0 Q4_0 Q5_1; do
	run_rc 0 "$QSCOPE" report "$models/silero_vad_legacy.F32.gguf" \
		"$models/silero_vad_legacy.$qt.gguf" --qtype "$qt" --csv "$qt.csv" --quiet
	PYTHONPATH=$gguf_py "$PY" - "$models" "$qt" <<'PYEOF'
import csv, math, sys
import numpy as np
import gguf
from gguf import quants
models, qt = sys.argv[1], sys.argv[2]

def tensors(path):
    out = {}
    for t in gguf.GGUFReader(path).tensors:
        if t.tensor_type in (gguf.GGMLQuantizationType.F32, gguf.GGMLQuantizationType.F16):
            v = np.asarray(t.data, dtype=np.float32)
        else:
            v = quants.dequantize(np.asarray(t.data), t.tensor_type)
        out[t.name] = (v.reshape(-1).astype(np.float64), t.tensor_type.name)
    return out

f = tensors(f"{models}/silero_vad_legacy.F32.gguf")
q = tensors(f"{models}/silero_vad_legacy.{qt}.gguf")
rows = {r["tensor"]: r for r in csv.DictReader(open(f"{qt}.csv", newline=""))}
blocks = 0
for name, (x, _) in f.items():
    if name not in rows:
        continue
    xh, typ = q[name]
    r = rows[name]
    e = x - xh
    se = float((e * e).sum())
    want = {"mse": se / x.size, "max_abs_err": float(np.abs(e).max()),
            "sqnr_db": math.inf if se == 0 else 10 * math.log10(float((x * x).sum()) / se)}
    for col, w in want.items():
        g = float(r[col])
        assert (g == w) if math.isinf(w) else abs(g - w) <= 1e-6 * abs(w) + 1e-12, (qt, name, col, g, w)
    if typ == qt:
        assert r["qtype"] == qt, (name, r["qtype"])
        assert r["whatif_qtype"] == qt, r
        # stored and simulated by qscope's own quantizer: the same values,
        # the sums taken in another order (the stored pass adds in vector lanes)
        assert r["max_abs_err"] == r["whatif_max_abs_err"], (name, r)
        for col in ("sqnr_db", "mse", "clipped_pct"):
            a, b = float(r[col]), float(r["whatif_" + col])
            assert a == b or abs(a - b) <= 1e-12 * abs(b), (name, col, a, b)
        blocks += 1
    else:
        assert r["whatif_qtype"] == "", (name, r["whatif_qtype"])   # kept in float
assert blocks == 16, (qt, blocks)       # the README: 16 block-quantized tensors per file
assert len(rows) == len(set(rows)) and len(rows) >= 16
print("ok", qt, len(rows), "rows,", blocks, "block tensors")
PYEOF
done
