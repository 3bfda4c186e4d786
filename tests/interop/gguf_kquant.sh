#!/usr/bin/env bash
# labels: interop realmodels
# Writing K-quants (Q2_K, Q4_K, Q5_K, Q6_K) to GGUF, checked with llama.cpp's gguf-py:
# gguf-py reads every written file, its dequantization of the written blocks
# equals qscope's bit for bit, `qscope report --qtype` simulates the same
# errors as the written files, and on the real weights of
# silero_vad_legacy.F32.gguf and on seeded Gaussian/Laplace tensors the RMSE
# follows the bit budget Q6_K < Q5_K < Q4_K < Q4_0 < Q2_K, each K-quant within
# [0.6, 1.15] of its ideal uniform-rounding RMSE (derived in kquant_ref.py).
# gguf-py has no K-quant quantizer, so there is no bit-exact reference file.
set -euo pipefail
. "$QSCOPE_SRC/tests/interop/gguf_env.inc"
kref="$QSCOPE_SRC/tests/interop/kquant_ref.py"
helper="$QSCOPE_BUILD/tests/test_gguf"

"$PY" "$kref" synth "$tmp/syn.gguf"
for f in "$src" "$tmp/syn.gguf"; do
  b=$(basename "$f" .gguf)
  for ty in Q6_K Q5_K Q4_K Q4_0 Q2_K; do
    "$QSCOPE" quantize "$f" -o "$tmp/$b.$ty.gguf" --qtype "$ty"
    "$PY" "$ref" readall "$tmp/$b.$ty.gguf"
    "$PY" "$kref" has-type "$tmp/$b.$ty.gguf" "$ty"
    "$PY" "$ref" dequant-f32 "$tmp/$b.$ty.gguf" "$tmp/$b.$ty.f32.gguf"
    QS_GGUF_EQUAL="$tmp/$b.$ty.gguf:$tmp/$b.$ty.f32.gguf" "$helper"
  done
  "$PY" "$kref" compare "$f" "Q6_K=$tmp/$b.Q6_K.gguf" "Q5_K=$tmp/$b.Q5_K.gguf" \
    "Q4_K=$tmp/$b.Q4_K.gguf" "Q4_0=$tmp/$b.Q4_0.gguf" "Q2_K=$tmp/$b.Q2_K.gguf"
done

# the simulation (report --qtype) and the written file give the same errors:
# per-tensor RMSE of the report equals numpy's on gguf-py's values of the file
for ty in Q2_K Q4_K Q5_K Q6_K; do
  "$QSCOPE" report "$tmp/syn.gguf" --qtype "$ty" --csv "$tmp/sim.$ty.csv"
  "$PY" "$ref" metrics "$tmp/syn.gguf" "$tmp/syn.$ty.gguf" >"$tmp/np.$ty.csv"
  "$PY" - "$tmp/sim.$ty.csv" "$tmp/np.$ty.csv" "$ty" <<'PYEOF'
import csv, sys
sim = {r["tensor"]: r for r in csv.DictReader(open(sys.argv[1]))}
ref = {r["tensor"]: float(r["rmse"]) for r in csv.DictReader(open(sys.argv[2]))}
bad = 0
for name, want in ref.items():
    r = sim[name]
    got = float(r["rmse"])
    ok = r["qtype"] == sys.argv[3] and abs(got - want) <= 1e-6 * want
    print(f"{name}: report {r['qtype']} rmse {got:.9g}, written file {want:.9g}"
          + ("" if ok else "  MISMATCH"))
    bad += not ok
sys.exit(1 if bad else 0)
PYEOF
done
echo "gguf_kquant: all checks passed"
