#!/usr/bin/env bash
# The real binary in tmux on the demo pair: filter to a tensor, sort by SQNR,
# open its detail, retune it to mse and see its SQNR change, write the model
# and export CSV (both exist; `qscope report` on the written model agrees with
# the screen), resize 120x40 -> 80x24 -> 60x20 -> 120x40, quit with q ->
# exit 0 with the terminal restored (alternate screen off, echo and icanon on).
# labels: tui
# No pipefail: `screen | grep -q` must take grep's answer, not the SIGPIPE
# status of a capture that grep stopped reading.
set -eu
command -v tmux >/dev/null || { echo "tmux not installed"; exit 77; }
: "${QSCOPE:?}" "${QSCOPE_SRC:?}"

tmp=$(mktemp -d)
sock="qscope_test_$$"
T() { tmux -L "$sock" "$@"; }
cleanup() { T kill-server 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

demo="$QSCOPE_SRC/share/demo"
if [ ! -f "$demo/demo_float.onnx" ] || [ ! -f "$demo/demo_int8.onnx" ]; then
	demo="$tmp/demo"
	"$QSCOPE" demo "$demo" >/dev/null
fi

fail() {
	echo "FAIL: $*"
	echo "---- screen ----"
	T capture-pane -p -t qs 2>/dev/null || true
	exit 1
}
screen() { T capture-pane -p -t qs; }
# wait_for REGEX [seconds]: poll the screen until it matches.
wait_for() {
	local re=$1 limit=${2:-30} i
	for ((i = 0; i < limit * 10; i++)); do
		if screen | grep -Eq -- "$re"; then return 0; fi
		sleep 0.1
	done
	fail "screen never showed /$re/"
}
keys() { T send-keys -t qs "$@"; }

cd "$tmp"
T -u new-session -d -s qs -x 120 -y 40 \
	"cd '$tmp' && env LANG=C.UTF-8 LC_ALL=C.UTF-8 '$QSCOPE' tui '$demo/demo_float.onnx' '$demo/demo_int8.onnx'; echo EXIT=\$? > '$tmp/exit'; stty -a > '$tmp/stty'; sleep 600"
wait_for 'tensors analysed' 60

# Filter to conv2.weight.
keys / c o n v 2 . w Enter
wait_for 'shown 1'
screen | grep -q 'conv2\.weight' || fail "filter lost conv2.weight"
screen | grep -q 'fc\.weight' && fail "filter kept fc.weight"
keys Escape # clear the filter: sort the whole table
wait_for 'shown 8'

# Sort by SQNR (s until the header says so), then the worst row is first.
for i in $(seq 1 14); do
	screen | grep -q 'sort SQNR▲' && break
	keys s
	sleep 0.2
done
wait_for 'sort SQNR▲'
keys / c o n v 2 . w Enter
wait_for 'shown 1'

# Open its detail; read the as-shipped SQNR.
keys Enter
wait_for 'tensor detail'
wait_for '^ SQNR [-0-9.]+ dB'
shipped=$(screen | sed -nE 's/^ SQNR ([-0-9.inf]+) dB.*/\1/p' | head -1)
echo "as shipped: $shipped dB"

# Retune: method until mse, wait for the preview, apply.
keys m
wait_for 'Retune conv2\.weight'
for i in $(seq 1 8); do
	screen | grep -Eq 'method +◂ mse ▸' && break
	keys l
	sleep 0.2
done
wait_for 'method +◂ mse ▸'
wait_for 'SQNR dB +[-0-9.inf]+ → +[-0-9.inf]+'
preview=$(screen | sed -nE 's/.*SQNR dB +[-0-9.inf]+ → +([-0-9.inf]+).*/\1/p' | head -1)
keys Enter
wait_for 'retuned 1 tensor: mse'
wait_for '\[what-if\]'
wait_for '^ SQNR [-0-9.inf]+ dB'
whatif=$(screen | sed -nE 's/^ SQNR ([-0-9.inf]+) dB.*/\1/p' | head -1)
echo "what-if (mse): $whatif dB, preview said $preview dB"
[ "$whatif" = "$preview" ] || fail "detail shows $whatif dB, the preview said $preview dB"
[ "$whatif" != "$shipped" ] || fail "SQNR did not change on screen ($shipped dB)"
screen | grep -Eq 'sym channel(:[0-9]+)? mse' || fail "detail does not name the mse method"

# Undo brings back the default method's figure; Ctrl-R redoes the edit.
keys u
wait_for 'undone'
wait_for '^ conv2\.weight .* minmax'
wait_for '^ SQNR [-0-9.inf]+ dB'
undone=$(screen | sed -nE 's/^ SQNR ([-0-9.inf]+) dB.*/\1/p' | head -1)
echo "after undo (minmax): $undone dB"
[ "$undone" != "$whatif" ] || fail "undo did not change the SQNR ($undone dB)"
keys C-r
wait_for 'redone'
wait_for '^ conv2\.weight .* mse'
wait_for "^ SQNR $whatif dB"

# Unsaved choice: q asks first; n stays.
keys q
wait_for 'Quit anyway'
keys n
wait_for 'tensor detail'

# Write the model, export CSV.
keys w
wait_for 'Write the model'
for _ in $(seq 1 40); do keys BSpace; done
keys o u t . o n n x Enter
wait_for 'wrote out\.onnx'
keys e
wait_for 'Export CSV'
for _ in $(seq 1 40); do keys BSpace; done
keys t . c s v Enter
wait_for 'exported t\.csv and t_channels\.csv'
[ -s out.onnx ] || fail "out.onnx missing"
[ -s t.csv ] && [ -s t_channels.csv ] || fail "CSV files missing"

# qscope report on the written model agrees with the screen (one decimal).
"$QSCOPE" report "$demo/demo_float.onnx" out.onnx --csv r.csv >/dev/null
cell() { "${PY:-/usr/bin/python3}" -c 'import csv,sys
for r in csv.DictReader(open(sys.argv[1])):
    if r["tensor"] == sys.argv[2]: print(r[sys.argv[3]])' "$@"; }
rep=$(cell r.csv conv2.weight sqnr_db)
rep1=$(printf '%.1f' "$rep")
echo "report on the written model: $rep dB ($rep1)"
[ "$rep1" = "$whatif" ] || fail "report says $rep1 dB, the screen $whatif dB"
# The exported CSV carries the same what-if figure.
exp=$(cell t.csv conv2.weight whatif_sqnr_db)
[ "$(printf '%.1f' "$exp")" = "$whatif" ] || fail "exported what-if $exp, screen $whatif"

# Resize 120x40 -> 80x24 -> 60x20 -> 120x40.
T resize-window -t qs -x 80 -y 24
wait_for 'tensor detail'
[ "$(screen | wc -l)" -eq 24 ] || fail "pane is not 24 rows"
screen | grep -q "^ SQNR $whatif dB" || fail "80x24 lost the SQNR line"
T resize-window -t qs -x 60 -y 20
wait_for 'terminal too small: 60x20, need 80x24'
T resize-window -t qs -x 120 -y 40
wait_for 'tensor detail'
screen | grep -q "^ SQNR $whatif dB" || fail "120x40 lost the SQNR line"

# Quit: nothing unsaved (the model was written), exit 0, terminal restored.
keys q
for i in $(seq 1 100); do [ -s exit ] && break; sleep 0.1; done
[ -s exit ] || fail "qscope did not exit on q"
grep -qx 'EXIT=0' exit || fail "exit status: $(cat exit)"
[ "$(T display -p -t qs '#{alternate_on}')" = 0 ] || fail "alternate screen still on"
grep -Eq '(^| )icanon( |$)' stty && grep -Eq '(^| )echo( |$)' stty || fail "tty modes not restored: $(cat stty)"
echo "ok"
