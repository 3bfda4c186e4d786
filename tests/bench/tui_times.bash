#!/usr/bin/env bash
# TUI response times of the real binary in tmux (not part of ctest).
#
#   tests/bench/tui_times.bash [--big MODEL] [--all] [QSCOPE]
#
# 1. first screen: from starting `qscope tui MODEL` until the tensor table
#    lists rows (default MODEL: the 8 GiB f16 safetensors of run.bash, made
#    with gen_models.py if missing), and with --all until every row is
#    analysed;
# 2. retune: a model of one 4096x4096 f32 tensor (16.8M values); open its
#    detail view (timed until its histograms show), open it,
#    open the retune dialog and step the method field through every method;
#    each step is timed from the key until the preview shows the new figure
#    (method name shown, "computing..." gone, "SQNR dB a → b" filled in).
# Times are wall clock: a read-only tmux control-mode client reports each
# chunk of output the pane receives, and the screen is captured only then
# (one fork per frame, none while qscope computes), so the time is that of
# the frame's arrival and the harness leaves the two cores to the program.
# Uses its own tmux server (-L). Files live in $QSCOPE_BENCH_DIR (default
# /var/tmp/qscope-bench) and are kept (delete them by hand or with run.bash).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
dir=${QSCOPE_BENCH_DIR:-/var/tmp/qscope-bench}
big=""
all=0
qscope=""
while [ $# -gt 0 ]; do
	case "$1" in
	--big) big=$2; shift 2 ;;
	--all) all=1; shift ;;
	-h | --help) sed -n '2,18p' "$0"; exit 0 ;;
	*) qscope=$1; shift ;;
	esac
done
if [ -z "$qscope" ]; then
	for b in "$here"/../../build-perf/qscope "$here"/../../build/qscope; do
		[ -x "$b" ] && { qscope=$b; break; }
	done
fi
[ -x "$qscope" ] || { echo "tui_times.bash: no qscope binary (pass its path)" >&2; exit 2; }
command -v tmux >/dev/null || { echo "tui_times.bash: tmux missing" >&2; exit 2; }
mkdir -p "$dir"
if [ -z "$big" ]; then
	big="$dir/bench-8g-f16.safetensors"
	[ -s "$big" ] || $PY "$here/gen_models.py" "$dir" 8 st-f16 >/dev/null
fi
one="$dir/bench-one-4096x4096.safetensors"
[ -s "$one" ] || $PY "$here/gen_models.py" "$dir" one:4096x4096 >/dev/null

sock="qscope_bench_$$"
T() { tmux -L "$sock" "$@"; }
trap stop EXIT
# microseconds since the epoch without a fork (bash 5's EPOCHREALTIME)
now() { local t=${EPOCHREALTIME/[.,]/}; echo "$t"; }
screen() { T capture-pane -p -t qs; }
# until REGEX [limit s] [NOT-REGEX]: wait until the screen matches REGEX (and
# not NOT-REGEX); prints the time the matching frame arrived. The screen is
# looked at once, then after each burst of %output from the control client.
until_screen() {
	local re=$1 limit=${2:-60} not=${3:-} end s t line left
	end=$(($(now) + limit * 1000000))
	t=$(now)
	while :; do
		s=$(screen)
		if [[ $s =~ $re ]] && { [ -z "$not" ] || ! [[ $s =~ $not ]]; }; then
			echo "$t"
			return 0
		fi
		while :; do
			left=$(((end - $(now)) / 1000))
			if ((left <= 0)); then
				echo "tui_times.bash: screen never showed /$re/:" >&2
				echo "$s" >&2
				exit 1
			fi
			read -r -t "$((left / 1000)).$(printf %03d $((left % 1000)))" line <&"${CTL[0]}" ||
				continue
			[[ $line == %output* ]] && break
		done
		t=$(now)
		# the rest of the burst (a frame can come in several chunks)
		while read -r -t 0.002 line <&"${CTL[0]}"; do
			[[ $line == %output* ]] && t=$(now)
		done
	done
}
start() {
	cat "$1" >/dev/null # page cache: time the program, not the disk
	T -u new-session -d -s qs -x 160 -y 50 "sleep 0.3; exec sleep 600"
	T set -g window-size manual
	coproc CTL { tmux -L "$sock" -C attach -t qs -r 2>/dev/null; }
	t0=$(now)
	T respawn-pane -k -t qs \
		"env LANG=C.UTF-8 LC_ALL=C.UTF-8 '$qscope' tui '$1'; sleep 600"
}
stop() {
	T kill-server 2>/dev/null || true
	local pid=${CTL_PID:-}
	[ -z "$pid" ] || wait "$pid" 2>/dev/null || true
}
ms() { echo $((($2 - $1 + 500) / 1000)); }

echo "load: $(cut -d' ' -f1-3 /proc/loadavg)  cores: $(nproc)" >&2
echo "| measure | model | ms |"
echo "|---|---|---:|"
start "$big"
t1=$(until_screen 'shown [0-9]+' 60)
echo "| first screen (table with rows) | $(basename "$big") | $(ms "$t0" "$t1") |"
t2=$(until_screen '(risk|warn|ok) [1-9]' 600)
echo "| first analysed row on screen | $(basename "$big") | $(ms "$t0" "$t2") |"
if [ "$all" = 1 ]; then
	t2=$(until_screen '[0-9]+ tensors analysed' 7200)
	echo "| all rows analysed | $(basename "$big") | $(ms "$t0" "$t2") |"
fi
stop

start "$one"
t1=$(until_screen 'shown 1' 60)
until_screen ' tensors analysed' 120 >/dev/null
echo "| first screen (table with rows) | $(basename "$one") | $(ms "$t0" "$t1") |"
t0=$(now)
T send-keys -t qs Enter
t1=$(until_screen 'x: (step|no quantization grid)' 30)
echo "| detail view with its histograms | $(basename "$one") | $(ms "$t0" "$t1") |"
T send-keys -t qs m
until_screen 'method +◂ minmax ▸' 30 >/dev/null
until_screen 'SQNR dB +[-0-9.inf]+ → +[-0-9.inf]+' 30 'computing' >/dev/null
prev=minmax
for _ in $(seq 1 6); do # the six other methods: percentile, mse, aciq (3), kl
	t0=$(now)
	T send-keys -t qs l
	t1=$(until_screen 'SQNR dB +[-0-9.inf]+ → +[-0-9.inf]+' 60 "computing|method +◂ $prev ▸")
	prev=$(screen | sed -nE 's/.*method +◂ ([^ ]+) ▸.*/\1/p' | head -1)
	echo "| retune preview, method $prev | $(basename "$one") | $(ms "$t0" "$t1") |"
done
pid=$(pgrep -n -x qscope || true)
[ -z "$pid" ] || echo "| peak RSS of the TUI, MiB (the tensor: $(($(stat -c %s "$one") >> 20)) MiB) | $(basename "$one") | $(awk '/^VmHWM/ { print int($2 / 1024) }' "/proc/$pid/status") |"
