#!/usr/bin/env bash
# Terminal manners of the real binary in tmux: NO_COLOR turns colours off
# (attributes only), a non-UTF-8 locale gets ASCII charts and arrows, and
# QSCOPE_TUI_MAX_FRAMES ends a run by itself with exit 0 (htop -n style).
# labels: tui
# No pipefail: `screen | grep -q` must take grep's answer, not the SIGPIPE
# status of a capture that grep stopped reading.
set -eu
command -v tmux >/dev/null || { echo "tmux not installed"; exit 77; }
: "${QSCOPE:?}" "${QSCOPE_SRC:?}"

tmp=$(mktemp -d)
sock="qscope_manners_$$"
T() { tmux -L "$sock" "$@"; }
cleanup() { T kill-server 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
demo="$QSCOPE_SRC/share/demo"
[ -f "$demo/demo_float.onnx" ] || { demo="$tmp/demo"; "$QSCOPE" demo "$demo" >/dev/null; }

# run NAME ENV...: start qscope in its own window, wait for the table, keep a
# capture with escape sequences, wait for the frame limit to end it.
run() {
	local name=$1
	shift
	T new-window -d -n "$name" -t qs \
		"cd '$tmp' && env $* QSCOPE_TUI_MAX_FRAMES=60 TERM=screen-256color '$QSCOPE' tui '$demo/demo_float.onnx' '$demo/demo_int8.onnx'; echo EXIT=\$? > '$tmp/$name.exit'; sleep 600"
	for i in $(seq 1 100); do
		T capture-pane -p -t "qs:$name" | grep -q 'tensors analysed' && break
		sleep 0.05
	done
	T capture-pane -e -p -t "qs:$name" > "$tmp/$name.screen"
	for i in $(seq 1 200); do [ -s "$tmp/$name.exit" ] && break; sleep 0.05; done
	grep -qx 'EXIT=0' "$tmp/$name.exit" || { echo "FAIL: $name: $(cat "$tmp/$name.exit" 2>/dev/null)"; exit 1; }
	grep -q 'tensors analysed' "$tmp/$name.screen" || { echo "FAIL: $name: no table"; cat "$tmp/$name.screen"; exit 1; }
}

T -u new-session -d -s qs -x 120 -y 40 "sleep 600"
run color LANG=C.UTF-8 LC_ALL=C.UTF-8
run nocolor LANG=C.UTF-8 LC_ALL=C.UTF-8 NO_COLOR=1
run ascii LANG=C LC_ALL=C NO_COLOR=1

# Colour: SGR foreground/background colour codes (3x/4x, 38;5/48;5) appear
# only without NO_COLOR.
sgr_colour='\[([0-9;]*;)?(3[0-7]|4[0-7]|38;5;[0-9]+|48;5;[0-9]+)(;[0-9;]*)?m'
grep -Eq "$sgr_colour" "$tmp/color.screen" ||
	{ echo "FAIL: no colour codes in the coloured run"; exit 1; }
if grep -Eq "$sgr_colour" "$tmp/nocolor.screen"; then
	echo "FAIL: colour codes despite NO_COLOR"
	grep -Eo "$sgr_colour" "$tmp/nocolor.screen" | sort | uniq -c | head
	exit 1
fi
# Reverse video still marks the cursor row and the title without colour.
grep -q $'\e\\[7m' "$tmp/nocolor.screen" || { echo "FAIL: no reverse video without colour"; exit 1; }

# UTF-8 locale: arrows and block glyphs; C locale: ASCII only.
grep -q '→' "$tmp/color.screen" || { echo "FAIL: no UTF-8 arrow in a UTF-8 locale"; exit 1; }
plain=$(sed 's/\x1b\[[0-9;]*m//g' "$tmp/ascii.screen")
if printf '%s' "$plain" | LC_ALL=C grep -q '[^[:print:][:space:]]'; then
	echo "FAIL: non-ASCII bytes in the C-locale screen"
	printf '%s\n' "$plain" | LC_ALL=C grep -n '[^[:print:][:space:]]' | head -5
	exit 1
fi
printf '%s' "$plain" | grep -q 'f32>int8' || { echo "FAIL: no ASCII arrow"; exit 1; }
echo ok
