"""Read the JSON lines of onnx_run.js (REF = float model; then the QDQ model,
the fake-quant model and others) and check: QDQ and fake-quant outputs agree
to float rounding (max |qdq − fake| ≤ 1e-4·max|ref| + 1e-6, they are the same
arithmetic), and the QDQ output SQNR against the float model is at least
MIN_DB (exceptions given as output=floor). Prints one line per output.
Usage: onnx_check_run.py RUN_QDQ_VS_FAKE.jsonl RUN_VS_FLOAT.jsonl QDQ_NAME MIN_DB [OUT=FLOOR...]"""
import json
import sys

agree_path, float_path, qdq_name, min_db = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
floors = dict(a.split("=", 1) for a in sys.argv[5:])
bad = []
for line in open(agree_path):
    r = json.loads(line)
    tol = 1e-4 * r["ref_absmax"] + 1e-6
    print(f"  QDQ vs fake-quant  {r['output']:<20} max |diff| {r['max_abs_diff']:.3g} (tolerance {tol:.3g})")
    if r["max_abs_diff"] > tol:
        bad.append(f"{r['output']}: QDQ and fake-quant differ by {r['max_abs_diff']:.3g} > {tol:.3g}")
for line in open(float_path):
    r = json.loads(line)
    sq = float("inf") if r["sqnr_db"] == "inf" else r["sqnr_db"]
    name = r["model"].rsplit("/", 1)[-1]
    print(f"  {name:<34} {r['output']:<20} SQNR {sq:8.2f} dB")
    if name == qdq_name:
        need = float(floors.get(r["output"], min_db))
        if not sq >= need:
            bad.append(f"{r['output']}: SQNR {sq:.2f} dB < {need} dB")
if bad:
    sys.exit("\n".join(bad))
