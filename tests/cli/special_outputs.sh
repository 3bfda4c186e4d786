#!/usr/bin/env bash
# Outputs that are not regular files are written in place, never replaced:
# a FIFO stays a FIFO and receives the CSV (renaming a temporary over it, as
# for a regular file, would turn /dev/null into a plain file). "-" is stdout.
set -euo pipefail
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$PY" -c "import numpy as np; np.save('$tmp/w.npy', np.arange(-8, 8, dtype=np.float32).reshape(4, 4) / 8)"

mkfifo "$tmp/pipe"
# Bounded: if qscope failed before opening the FIFO, the reader gives up.
timeout 30 cat "$tmp/pipe" > "$tmp/got.csv" &
reader=$!
timeout 30 "$QSCOPE" report "$tmp/w.npy" --csv "$tmp/pipe" -q || { echo "FAIL: report into a FIFO failed"; exit 1; }
wait "$reader"
[ -p "$tmp/pipe" ] || { echo "FAIL: the FIFO was replaced by a regular file"; exit 1; }
head -c 7 "$tmp/got.csv" | grep -q '^tensor,' || { echo "FAIL: no CSV arrived through the FIFO"; exit 1; }

"$QSCOPE" report "$tmp/w.npy" --csv - -q > "$tmp/stdout.csv"
cmp -s "$tmp/got.csv" "$tmp/stdout.csv" || { echo "FAIL: FIFO and stdout CSV differ"; exit 1; }

# A directory as output is refused with exit 2 and a message naming it.
set +e
"$QSCOPE" report "$tmp/w.npy" --csv "$tmp" -q 2> "$tmp/err"
rc=$?
set -e
[ "$rc" = 2 ] || { echo "FAIL: directory output gave exit $rc"; exit 1; }
grep -q "$tmp" "$tmp/err" || { echo "FAIL: message does not name the path"; cat "$tmp/err"; exit 1; }
ls -A "$tmp" | grep -q '^\.' && { echo "FAIL: a temporary file was left behind"; ls -A "$tmp"; exit 1; }
echo "special outputs: ok"
