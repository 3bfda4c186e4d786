#!/usr/bin/env bash
# Save the choices as a recipe from one TUI session (r) and load it into a
# fresh one (R): the second session's exported CSV names the same what-if
# method for the retuned tensor and the defaults for the others.
# labels: tui
set -euo pipefail
: "${QSCOPE:?}" "${QSCOPE_SRC:?}"
command -v script >/dev/null || { echo "script(1) not installed"; exit 77; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
demo="$QSCOPE_SRC/share/demo"
[ -f "$demo/demo_float.onnx" ] || { demo="$tmp/demo"; "$QSCOPE" demo "$demo" >/dev/null; }

bs=$(printf '<BS>%.0s' $(seq 1 60))
run() {
	(cd "$tmp" && QSCOPE_TUI_DUMP="$tmp/$1.txt" QSCOPE_TUI_KEYS="$2" LANG=C.UTF-8 \
		script -qec "'$QSCOPE' tui '$demo/demo_float.onnx' '$demo/demo_int8.onnx'" /dev/null \
		>/dev/null)
}
# Session 1: conv2.weight to mse (method: minmax -> percentile -> mse), save.
run one "/conv2.w<Enter><Enter>mll<Enter><Esc><Esc>r${bs}rec.csv<Enter>"
grep -q 'saved recipe rec.csv' "$tmp/one.txt" || { echo "FAIL: no save"; cat "$tmp/one.txt"; exit 1; }
[ -s "$tmp/rec.csv" ] || { echo "FAIL: rec.csv missing"; exit 1; }
# Session 2: load it, export.
run two "R${bs}rec.csv<Enter>e${bs}t.csv<Enter>"
grep -q 'exported t.csv' "$tmp/two.txt" || { echo "FAIL: no export"; cat "$tmp/two.txt"; exit 1; }
methods=$("${PY:-/usr/bin/python3}" -c 'import csv,sys
for r in csv.DictReader(open(sys.argv[1])):
    print(r["tensor"], r["whatif_method"] or "-")' "$tmp/t.csv")
echo "$methods"
echo "$methods" | grep -qx 'conv2.weight mse' || { echo "FAIL: conv2.weight is not mse"; exit 1; }
echo "$methods" | grep -qx 'conv1.weight minmax' || { echo "FAIL: conv1.weight changed"; exit 1; }
echo ok
