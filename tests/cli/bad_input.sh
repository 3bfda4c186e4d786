#!/usr/bin/env bash
# Bad files and bad usage: exit 2, exactly one line on stderr naming the file
# (or the option) and the problem, a help hint for usage errors, and nothing
# written where an output was asked for.
. "$(dirname "$0")/lib.bash"

"$PY" - <<'PYEOF'
import numpy as np, struct
np.save("good.npy", np.arange(12, dtype=np.float32).reshape(3, 4))
raw = open("good.npy", "rb").read()
open("truncated.npy", "wb").write(raw[:-10])
open("magic.npy", "wb").write(b"\x94NUMPZ" + raw[6:])
np.save("pickled.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
def npy(shape):
    d = "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }" % shape
    d += " " * ((64 - (10 + len(d) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(d)) + d.encode()
data = np.arange(12, dtype="<f4").tobytes()
open("mismatch.npy", "wb").write(npy("(5, 4)") + data)
open("overflow.npy", "wb").write(npy("(4294967296, 4294967296, 4294967296)") + data)
open("empty.npz", "wb").write(b"")
open("garbage.npz", "wb").write(b"PK\x03\x04" + b"\x00" * 40)
PYEOF

one_line_naming() { # FILE: stderr is one line and names FILE
	[ "$(wc -l <"$T/err")" -eq 1 ] || { cat "$T/err" >&2; fail "stderr is not one line"; }
	grep -qF "$1" "$T/err" || { cat "$T/err" >&2; fail "stderr does not name $1"; }
}

for f in truncated.npy magic.npy pickled.npy mismatch.npy overflow.npy empty.npz garbage.npz \
	missing.npy; do
	run_rc 2 "$QSCOPE" report "$f" --csv out.csv --channels-csv ch.csv --save-recipe r.csv
	one_line_naming "$f"
	[ ! -e out.csv ] && [ ! -e ch.csv ] && [ ! -e r.csv ] || fail "$f: an output was written"
	[ -z "$(ls -A "$T" | grep -v -E '\.(npy|npz)$|^(out|err)$' || true)" ] ||
		fail "$f: stray files: $(ls -A "$T")"
	run_rc 2 "$QSCOPE" quantize "$f" -o q.npz
	one_line_naming "$f"
	[ ! -e q.npz ] || fail "$f: quantize wrote q.npz"
	run_rc 2 "$QSCOPE" inspect "$f"
	one_line_naming "$f"
done

# A good float model against a bad quantized one.
run_rc 2 "$QSCOPE" report good.npy truncated.npy --csv out.csv
one_line_naming truncated.npy
[ ! -e out.csv ] || fail "out.csv written"

# Bad recipe: unknown action.
printf 'pattern,action,bits,scheme,granularity,method\n*,squash,4,,,\n' >bad_recipe.csv
run_rc 2 "$QSCOPE" report good.npy --recipe bad_recipe.csv --csv out.csv
one_line_naming bad_recipe.csv
[ ! -e out.csv ] || fail "out.csv written"

# Usage errors: one line naming the option, then the hint.
usage() { # EXPECTED-WORD HINT-CMD ARGS...
	local word=$1 hint=$2
	shift 2
	run_rc 2 "$QSCOPE" "$@"
	[ "$(wc -l <"$T/err")" -eq 2 ] || { cat "$T/err" >&2; fail "usage error is not 2 lines: $*"; }
	head -1 "$T/err" | grep -qF -- "$word" || { cat "$T/err" >&2; fail "no '$word': $*"; }
	tail -1 "$T/err" | grep -qF "try 'qscope ${hint}--help'" || {
		cat "$T/err" >&2
		fail "no hint: $*"
	}
}
usage "--bits" "report " report good.npy --bits 1
usage "--bits" "report " report good.npy --bits
usage "--frobnicate" "report " report good.npy --frobnicate
usage "--scheme" "report " report good.npy --scheme skew
usage "--granularity" "report " report good.npy --granularity group:0
usage "--method" "report " report good.npy --method magic
usage "--shard" "report " report good.npy --shard 5/4
usage "--csv" "quantize " quantize good.npy -o x.npz --csv y.csv
usage "-o OUT" "quantize " quantize good.npy
usage "--qtype" "report " report good.npy --qtype int8 --bits 4
usage "report" "report " report
usage "--format" "inspect " inspect good.npy --format csv
[ ! -e x.npz ] && [ ! -e y.csv ] || fail "a usage error wrote a file"

# Tensors that cannot be analysed: named with their file, nothing written.
"$PY" -c "
import numpy as np
np.savez('s1.npz', a=np.ones((4, 4), np.float32), b=np.ones((2, 64), np.float32))
np.savez('s2.npz', a=np.ones((5, 4), np.float16), b=np.ones((2, 64), np.float16))"
run_rc 2 "$QSCOPE" report s1.npz s2.npz --csv out.csv
head -1 "$T/err" | grep -q "s2.npz: a: 16 float elements paired with 20" || fail "$(cat "$T/err")"
[ ! -e out.csv ] || fail "out.csv written"
# A block format leaves what it cannot take (rows not whole blocks) in float.
run_rc 0 "$QSCOPE" report s1.npz --qtype Q4_0 --csv out.csv
"$PY" -c "
import csv
r = {x['tensor']: x for x in csv.DictReader(open('out.csv', newline=''))}
assert r['a']['status'] == 'keep-float' and r['b']['qtype'] == 'Q4_0' and r['b']['status'] == 'ok', r"

# merge of files that are not qscope reports.
printf 'a,b\n1,2\n' >notreport.csv
run_rc 2 "$QSCOPE" merge notreport.csv -o merged.csv
one_line_naming notreport.csv
run_rc 2 "$QSCOPE" merge missing.csv -o merged.csv
one_line_naming missing.csv
[ ! -e merged.csv ] || fail "merge wrote its output"

# Outputs never overwrite inputs.
cp good.npy keep.npy
run_rc 2 "$QSCOPE" report good.npy --csv good.npy
one_line_naming good.npy
cmp good.npy keep.npy || fail "report overwrote its input"
run_rc 2 "$QSCOPE" report good.npy --save-recipe ./good.npy
cmp good.npy keep.npy || fail "report overwrote its input"
run_rc 0 "$QSCOPE" report good.npy --csv part.csv --quiet
cp part.csv part_keep.csv
run_rc 2 "$QSCOPE" merge part.csv -o part.csv
cmp part.csv part_keep.csv || fail "merge overwrote its input"
