#!/usr/bin/env bash
# labels: tflite
# Hostile TFLite files (built byte by byte here, after docs/formats.md §4.5):
# report, quantize and inspect exit 2 with one line on stderr naming the file
# and the problem (offset, field), and write nothing. With ../shared/models,
# the real model cut in half too.
. "$(dirname "$0")/lib.bash"

"$PY" - "${QSCOPE_SHARED:-}" <<'PYEOF'
import os, struct, sys
def model(count, elem=None):
    # root table (at 20) with one field, subgraphs (id 2), a vector of count
    vt = struct.pack("<5H", 10, 8, 0, 0, 4) + b"\0\0"
    head = struct.pack("<I", 20) + b"TFL3" + vt
    body = struct.pack("<iI", 12, 4) + struct.pack("<I", count)
    if elem is not None:
        body += struct.pack("<I", elem)
    return head + body
open("huge_vector.tflite", "wb").write(model(0x7FFFFFFF))
open("bad_offset.tflite", "wb").write(struct.pack("<I", 0xFFFFFFF0) + model(0)[4:])
open("past_end.tflite", "wb").write(model(1, 4096))
open("truncated.tflite", "wb").write(model(0)[:22])
open("bad_vtable.tflite", "wb").write(model(0)[:20] + struct.pack("<i", -1000) + model(0)[24:])
real = os.path.join(sys.argv[1], "models", "face_detection_short_range.tflite")
if sys.argv[1] and os.path.exists(real):
    b = open(real, "rb").read()
    open("real_half.tflite", "wb").write(b[: len(b) // 2])
PYEOF

check() { # FILE WORD: exit 2, one line naming FILE and WORD, nothing written
	local f=$1 word=$2
	for cmd in "report $f --csv out.csv" "quantize $f -o q.tflite" "inspect $f"; do
		# shellcheck disable=SC2086
		run_rc 2 "$QSCOPE" $cmd
		[ "$(wc -l <"$T/err")" -eq 1 ] || { cat "$T/err" >&2; fail "$f: stderr is not one line"; }
		grep -qF "$f" "$T/err" || { cat "$T/err" >&2; fail "$f: stderr does not name it"; }
		grep -qF "$word" "$T/err" || { cat "$T/err" >&2; fail "$f: stderr lacks '$word'"; }
		[ ! -e out.csv ] && [ ! -e q.tflite ] || fail "$f: an output was written"
		[ -z "$(ls -A | grep -v -E '\.tflite$|^(out|err)$' || true)" ] || fail "$f: stray files"
	done
}
check huge_vector.tflite "Model.subgraphs: vector of 2147483647 elements"
check bad_offset.tflite "offset 4294967280: Model"
check past_end.tflite "SubGraph: offset to"
check truncated.tflite "Model: table runs past the end"
check bad_vtable.tflite "vtable"
if [ -e real_half.tflite ]; then
	check real_half.tflite "real_half.tflite: offset"
fi
echo "tflite_bad_input: ok"
