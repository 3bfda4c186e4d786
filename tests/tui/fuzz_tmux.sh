#!/usr/bin/env bash
# 2,000 random keys typed into the real binary on a real (tmux) terminal,
# with window resizes between bursts — the curses path (blit, KEY_RESIZE,
# escape-key timing) that the headless fuzz does not reach. Ends with q
# (y if it asks) and must exit 0 with no sanitizer report.
# QSCOPE_FUZZ_SEED picks another sequence.
# labels: tui
# No pipefail: `screen | grep -q` must take grep's answer, not the SIGPIPE
# status of a capture that grep stopped reading.
set -eu
command -v tmux >/dev/null || { echo "tmux not installed"; exit 77; }
: "${QSCOPE:?}" "${QSCOPE_SRC:?}"

tmp=$(mktemp -d)
sock="qscope_fuzz_$$"
T() { tmux -L "$sock" "$@"; }
cleanup() { T kill-server 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

demo="$QSCOPE_SRC/share/demo"
if [ ! -f "$demo/demo_float.onnx" ] || [ ! -f "$demo/demo_int8.onnx" ]; then
	demo="$tmp/demo"
	"$QSCOPE" demo "$demo" >/dev/null
fi

cd "$tmp"
T -u new-session -d -s fz -x 120 -y 40 \
	"cd '$tmp' && env LANG=C.UTF-8 LC_ALL=C.UTF-8 '$QSCOPE' tui '$demo/demo_float.onnx' '$demo/demo_int8.onnx' 2> '$tmp/stderr'; echo EXIT=\$? > '$tmp/exit'; sleep 600"
for i in $(seq 1 300); do
	T capture-pane -p -t fz | grep -q 'tensors analysed' && break
	sleep 0.1
done

RANDOM=${QSCOPE_FUZZ_SEED:-777}
keys=(Up Down Left Right PPage NPage Home End Enter Escape Tab Space BSpace C-r F1
	/ s S a m u c v L x e w r p R '[' ']' '?' j k g G h l y n 0 1 . z)
sizes=("120 40" "80 24" "60 20" "100 30" "81 25" "150 50" "30 10")
sent=0
while ((sent < 2000)); do
	burst=()
	for ((b = 0; b < 40; b++)); do burst+=("${keys[RANDOM % ${#keys[@]}]}"); done
	T send-keys -t fz "${burst[@]}"
	sent=$((sent + 40))
	read -r w h <<<"${sizes[RANDOM % ${#sizes[@]}]}"
	T resize-window -t fz -x "$w" -y "$h"
	sleep 0.05
	[ -s exit ] && break
done
[ -s exit ] && { echo "FAIL: qscope exited during the run: $(cat exit)"; cat stderr; exit 1; }

T resize-window -t fz -x 120 -y 40
for _ in $(seq 1 10); do T send-keys -t fz Escape; sleep 0.05; done
T send-keys -t fz q
for i in $(seq 1 50); do
	[ -s exit ] && break
	T capture-pane -p -t fz | grep -q 'Quit anyway' && T send-keys -t fz y
	sleep 0.1
done
[ -s exit ] || { echo "FAIL: no exit after q"; T capture-pane -p -t fz; exit 1; }
if ! grep -qx 'EXIT=0' exit || grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error' stderr; then
	echo "FAIL: $(cat exit)"
	tail -40 stderr
	exit 1
fi
echo "ok: $sent keys"
