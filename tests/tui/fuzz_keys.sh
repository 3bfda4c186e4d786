#!/usr/bin/env bash
# 2,000 random keys (every binding, text, mouse) with resizes in between,
# through the real binary's views and loop (headless mode), on the demo
# pair; must end with exit 0 and no sanitizer report (the ASan+UBSan build
# runs this same script: a leak or UB makes the exit status non-zero).
# QSCOPE_FUZZ_SEED picks another sequence; QSCOPE_FUZZ_KEYS the count.
# labels: tui
set -euo pipefail
: "${QSCOPE:?}" "${QSCOPE_SRC:?}"
command -v script >/dev/null || { echo "script(1) not installed"; exit 77; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
demo="$QSCOPE_SRC/share/demo"
if [ ! -f "$demo/demo_float.onnx" ] || [ ! -f "$demo/demo_int8.onnx" ]; then
	demo="$tmp/demo"
	"$QSCOPE" demo "$demo" >/dev/null
fi

RANDOM=${QSCOPE_FUZZ_SEED:-4242}
n=${QSCOPE_FUZZ_KEYS:-2000}
# Every key but q (which would end the run early); letters and digits
# exercise the text prompts.
tokens=('<Enter>' '<Esc>' '<Up>' '<Down>' '<Left>' '<Right>' '<PgUp>' '<PgDn>' '<Home>'
	'<End>' '<Tab>' '<Space>' '<BS>' '<C-r>' '<F1>' '<lt>' / s S a m u c v L x e w r p R '[' ']' '?'
	j k g G h l y n 0 1 . _ z)
sizes=(120x40 80x24 60x20 100x30 81x25 200x60 20x5 79x24 80x23)
keys=""
for ((i = 0; i < n; i++)); do
	r=$((RANDOM % 100))
	if ((r < 3)); then
		keys+="<resize:${sizes[RANDOM % ${#sizes[@]}]}>"
	elif ((r < 7)); then
		keys+="<click:$((RANDOM % 120)),$((RANDOM % 40))>"
	elif ((r < 9)); then
		keys+="<wheelup:1,5><wheeldown:1,5>"
	else
		keys+="${tokens[RANDOM % ${#tokens[@]}]}"
	fi
done
# A size the stream never uses: the final screen proves every key was read.
keys+="<Esc><Esc><Esc><Esc><Esc><Esc><resize:97x31>"

cd "$tmp"
set +e
QSCOPE_TUI_DUMP="$tmp/final.txt" QSCOPE_TUI_SIZE=120x40 QSCOPE_TUI_KEYS="$keys" \
	LANG=C.UTF-8 LC_ALL=C.UTF-8 \
	script -qec "'$QSCOPE' tui '$demo/demo_float.onnx' '$demo/demo_int8.onnx'" "$tmp/log" \
	>/dev/null 2>&1
rc=$?
set -e
if [ "$rc" != 0 ] || grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error' "$tmp/log"; then
	echo "FAIL: exit $rc"
	tail -40 "$tmp/log"
	exit 1
fi
[ "$(wc -l < final.txt)" = 31 ] && grep -q '^ qscope ' final.txt ||
	{ echo "FAIL: the run stopped before the last key"; cat final.txt; exit 1; }
echo "ok: $n keys, final screen:"
head -5 final.txt
