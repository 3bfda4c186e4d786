"""Independent checks for qscope's K-quant GGUF writer, with llama.cpp's
gguf-py (file reading, dequantization, writing the synthetic inputs) and numpy
(float64 error sums).

usage: kquant_ref.py COMMAND ARGS...
  synth OUT.gguf                 seeded Gaussian and Laplace F32 tensors
                                 (rows of 256) written with GGUFWriter
  has-type Q.gguf QTYPE          Q holds at least one QTYPE tensor
  compare F.gguf KTYPE=K.gguf... over the tensors the first file stores as a
                                 K-quant, the RMSE of every file (gguf-py's
                                 values vs F's) must be strictly decreasing
                                 from last to first (Q6_K < Q5_K < Q4_K <
                                 Q4_0 < Q2_K), and each K-quant RMSE must lie within
                                 [LO, HI] times its ideal uniform-rounding RMSE
Needs GGUF_PY (folder holding the gguf package).
"""
import os
import sys

import numpy as np
from qs_fixtures import run_command

sys.path.insert(0, os.environ["GGUF_PY"])
import gguf  # noqa: E402
from gguf import quants  # noqa: E402

K_TYPES = ("Q4_K", "Q5_K", "Q6_K")

# Ideal uniform-rounding error. Rounding to a grid of step Δ leaves an error
# uniform on [−Δ/2, Δ/2] when x is spread over many steps: E[e²] = Δ²/12.
# A K-quant codes each sub-block with its own step:
#   Q4_K, Q5_K: affine codes 0..2^b−1 over [min(lo, 0), hi] of 32 elements,
#               Δ = (hi − min(lo, 0)) / (2^b − 1)  (b = 4, 5);
#   Q2_K:       the same with b = 2 over 16 elements (clipping pays most
#               here: with 4 levels the tails cost more than a coarser
#               step, so the ratio is the lowest, ≈ 0.75..0.85);
#   Q6_K:       symmetric codes −32..31 of 16 elements, Δ = max|x| / 32.
# ideal RMSE = sqrt(mean over sub-blocks of Δ²/12). The reference search
# trades a little clipping for a finer step (can go below the ideal) and
# stores the sub-block scales in 6 or 8 bits against one fp16 super-scale
# (a 6-bit scale, 4-bit for Q2_K, of a typical sub-block, ≈ 40..63, is off by at most
# 1/(2·40) ≈ 1.3 %, raising the step and the error by about that much).
# So the measured RMSE must sit close to 1× the ideal: we accept [LO, HI] =
# [0.6, 1.15]; a wrong bit layout, a scale off by a factor 2, or codes
# rounded with the wrong scale land far outside.
LO, HI = 0.6, 1.15
SUB = {"Q2_K": (16, 3, False), "Q4_K": (32, 15, False), "Q5_K": (32, 31, False),
       "Q6_K": (16, 32, True)}


def values(t):
    return np.asarray(quants.dequantize(np.array(t.data), t.tensor_type),
                      dtype=np.float64).ravel()


def ideal_rmse(x, qtype):
    n, levels, sym = SUB[qtype]
    g = x.reshape(-1, n)
    if sym:
        step = np.max(np.abs(g), axis=1) / levels
    else:
        step = (g.max(axis=1) - np.minimum(g.min(axis=1), 0)) / levels
    return float(np.sqrt(np.mean(step ** 2 / 12)))


def synth(out):
    rng = np.random.default_rng(20261122)
    w = gguf.GGUFWriter(out, "test")
    w.add_tensor("gauss", rng.normal(0, 0.02, size=(64, 256)).astype(np.float32))
    w.add_tensor("laplace", rng.laplace(0, 0.05, size=(48, 512)).astype(np.float32))
    w.add_tensor("gauss_shift", rng.normal(0.3, 1.0, size=(16, 768)).astype(np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return 0


def has_type(path, qtype):
    types = {t.tensor_type.name for t in gguf.GGUFReader(path).tensors}
    print(f"{path}: types {sorted(types)}")
    return 0 if qtype in types else 1


def compare(fpath, *specs):
    f = {t.name: t for t in gguf.GGUFReader(fpath).tensors}
    files = [s.split("=", 1) for s in specs]
    readers = [(ty, {t.name: t for t in gguf.GGUFReader(p).tensors}) for ty, p in files]
    names = [n for n, t in readers[0][1].items() if t.tensor_type.name == readers[0][0]]
    if not names:
        print("no K-quant tensors to compare")
        return 1
    x = np.concatenate([values(f[n]) for n in names])
    bad = 0
    rmses = []
    for ty, r in readers:
        if any(r[n].tensor_type.name != ty for n in names):
            print(f"{ty}: not every compared tensor is {ty}")
            bad += 1
        y = np.concatenate([values(r[n]) for n in names])
        rmse = float(np.sqrt(np.mean((x - y) ** 2)))
        rmses.append(rmse)
        msg = f"{ty}: RMSE {rmse:.6g}"
        if ty in SUB:
            ideal = ideal_rmse(x, ty)
            ratio = rmse / ideal
            msg += f", ideal {ideal:.6g}, ratio {ratio:.3f}"
            if not LO <= ratio <= HI:
                msg += f" OUTSIDE [{LO}, {HI}]"
                bad += 1
        print(msg)
    for (a, ra), (b, rb) in zip(zip([t for t, _ in files], rmses),
                                zip([t for t, _ in files][1:], rmses[1:])):
        if not ra < rb:
            print(f"order broken: {a} RMSE {ra:.6g} not below {b} RMSE {rb:.6g}")
            bad += 1
    print(f"{len(names)} tensors, {x.size} values compared")
    return 1 if bad else 0


def main(argv):
    cmds = {"synth": synth, "has-type": has_type, "compare": compare}
    return run_command(cmds, argv, __doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
