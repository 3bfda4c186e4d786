"""Check the int8 symmetric per-channel minmax weights qscope wrote into a
QDQ model against numpy: for every DequantizeLinear whose input is an int8
initializer `<w>_quantized`, the float weight w of the source model is
quantized here independently (float32 arithmetic, as ONNX Runtime does):
    s[c] = max|w[c]| / 127.5   (codes −128..127, zero point 0)
    q    = clip(rint(w / s[c]), −128, 127)   (rint = half to even)
and the written scale must agree to 1e-6 (relative) and the codes exactly
(a code one step off is tolerated only where w/s lies within 1e-4 of a .5 tie).
Usage: onnx_check_codes.py FLOAT.onnx QDQ.onnx ; prints "checked N tensors"."""
import sys

import numpy as np
import onnx
from qs_fixtures import onnx_floats, onnx_inits


def main(fpath, qpath):
    fm, qm = onnx.load(fpath), onnx.load(qpath)
    fw = onnx_floats(fm)
    qi = onnx_inits(qm)
    checked = 0
    for n in qm.graph.node:
        if n.op_type != "DequantizeLinear" or n.input[0] not in qi:
            continue
        q = qi[n.input[0]]
        name = n.input[0][: -len("_quantized")]
        if q.dtype != np.int8 or name not in fw:
            continue
        w = fw[name].astype(np.float32)
        s = qi[n.input[1]].astype(np.float32)
        axis = next((a.i for a in n.attribute if a.name == "axis"), 1)
        shape = [1] * w.ndim
        if s.ndim:
            shape[axis] = -1
            red = tuple(d for d in range(w.ndim) if d != axis)
            amax = np.abs(w).max(axis=red).astype(np.float32)
        else:
            amax = np.float32(np.abs(w).max())
        s_ref = (amax / np.float32(127.5)).astype(np.float32)
        s_ref = np.where(s_ref > 0, s_ref, np.float32(1.0))
        if not np.allclose(s, s_ref, rtol=1e-6, atol=0):
            sys.exit(f"{name}: scale {s.ravel()[:4]} != numpy {s_ref.ravel()[:4]}")
        r = (w / s.reshape(shape)).astype(np.float32)
        q_ref = np.clip(np.rint(r), -128, 127)
        off = q.astype(np.int64) != q_ref
        tie = np.abs(np.abs(r - np.floor(r)) - 0.5) < 1e-4
        if np.any(off & ~tie) or np.any(np.abs(q - q_ref)[off] > 1):
            i = np.argmax(off & ~tie)
            sys.exit(f"{name}: code {q.ravel()[i]} != numpy {q_ref.ravel()[i]} (w/s {r.ravel()[i]})")
        checked += 1
    if checked == 0:
        sys.exit("no int8 DequantizeLinear weights found")
    print(f"checked {checked} tensors")


main(sys.argv[1], sys.argv[2])
