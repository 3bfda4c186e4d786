#!/usr/bin/env bash
# labels: interop
# ONNX external data written by `qscope quantize` (--external-data, or
# automatically when the input used external data):
#  - python3-onnx (the reference reader) loads each model with its data file
#    and passes onnx.checker; every initializer equals the one of the
#    inline-written twin; tensors of >= 1024 bytes are external, smaller ones
#    inline; offsets are multiples of 4096, lengths match the dims, location is
#    OUT.data beside OUT, no `basepath` entry;
#  - ONNX Runtime (onnxruntime-node, skipped when missing) gives outputs equal
#    to the inline twin's on a seeded input (max |diff| = 0);
#  - qscope reads them back: `report --csv` is byte-identical to the inline
#    twin's;
#  - an input's data file is never overwritten; a write that fails (ulimit -f)
#    leaves neither the model, nor the data file, nor a temporary.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
demo="$QSCOPE_SRC/share/demo/demo_float.onnx"
nm="$QSCOPE_SRC/share/setup/node_modules"
"$PY" -c 'import onnx, numpy' 2>/dev/null || { echo "skipped: python3-onnx missing"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
fail() { echo "FAIL: $*"; status=1; }

# name | quantize options (each written inline to in/NAME/m.onnx and with
# --external-data to ext/NAME/m.onnx)
cases=(
  "q8|--qtype int8 --granularity channel"
  "fake|--qtype int8 --granularity channel --fake-quant"
  "u8t|--qtype uint8 --scheme asym --granularity tensor"
)
for c in "${cases[@]}"; do
  IFS='|' read -r name opts <<<"$c"
  mkdir -p "$tmp/in/$name" "$tmp/ext/$name"
  # shellcheck disable=SC2086
  "$QSCOPE" quantize "$demo" -o "$tmp/in/$name/m.onnx" $opts -q
  # shellcheck disable=SC2086
  "$QSCOPE" quantize "$demo" -o "$tmp/ext/$name/m.onnx" $opts --external-data -q
  [ ! -e "$tmp/in/$name/m.onnx.data" ] || fail "$name: inline output has a data file"
  [ -s "$tmp/ext/$name/m.onnx.data" ] || fail "$name: no data file"
done

# A model whose input used external data comes back external without asking;
# its float tensors equal those of the same quantization of the inline input.
mkdir -p "$tmp/auto" "$tmp/auto_ref"
"$QSCOPE" quantize "$tmp/ext/fake/m.onnx" -o "$tmp/auto/m.onnx" --qtype int8 -q
"$QSCOPE" quantize "$tmp/in/fake/m.onnx" -o "$tmp/auto_ref/m.onnx" --qtype int8 -q
[ -s "$tmp/auto/m.onnx.data" ] || fail "auto: an input with external data gave no data file"
[ ! -e "$tmp/auto_ref/m.onnx.data" ] || fail "auto: an inline input gave a data file"
# Only conv2.weight quantized: the other large float tensors are copied from
# the input's data file into the output's.
mkdir -p "$tmp/sel" "$tmp/sel_ref"
"$QSCOPE" quantize "$tmp/ext/fake/m.onnx" -o "$tmp/sel/m.onnx" --select conv2.weight -q
"$QSCOPE" quantize "$tmp/in/fake/m.onnx" -o "$tmp/sel_ref/m.onnx" --select conv2.weight -q

# --like with an external-data like model keeps external data.
mkdir -p "$tmp/like" "$tmp/like_ref"
"$QSCOPE" quantize "$demo" --like "$tmp/ext/q8/m.onnx" --method mse -o "$tmp/like/m.onnx" -q
"$QSCOPE" quantize "$demo" --like "$tmp/in/q8/m.onnx" --method mse -o "$tmp/like_ref/m.onnx" -q
[ -s "$tmp/like/m.onnx.data" ] || fail "like: no data file"

pairs=("$tmp/in/q8 $tmp/ext/q8" "$tmp/in/fake $tmp/ext/fake" "$tmp/in/u8t $tmp/ext/u8t"
       "$tmp/auto_ref $tmp/auto" "$tmp/sel_ref $tmp/sel" "$tmp/like_ref $tmp/like")
for p in "${pairs[@]}"; do
  read -r ref ext <<<"$p"
  "$PY" "$here/onnx_external_check.py" "$ref/m.onnx" "$ext/m.onnx" || fail "python check of $ext"
done

# qscope reads them back: the per-tensor CSV equals the inline twin's byte
# for byte (same file name in another folder), but for the last column, `run`,
# a hash of the input files' names and sizes, which differ by design.
same_report() { cmp -s <(sed -E 's/,[^,]*$//' "$1") <(sed -E 's/,[^,]*$//' "$2"); }
for p in "${pairs[@]}"; do
  read -r ref ext <<<"$p"
  "$QSCOPE" report "$demo" "$ref/m.onnx" -q --csv "$ref/r.csv" >/dev/null
  "$QSCOPE" report "$demo" "$ext/m.onnx" -q --csv "$ext/r.csv" >/dev/null
  same_report "$ref/r.csv" "$ext/r.csv" || fail "report of $ext differs from the inline one"
  [ "$(wc -l <"$ext/r.csv")" -gt 1 ] || fail "report of $ext has no rows"
done
"$QSCOPE" report "$tmp/in/fake/m.onnx" -q --csv "$tmp/in/fake/f.csv" >/dev/null
"$QSCOPE" report "$tmp/ext/fake/m.onnx" -q --csv "$tmp/ext/fake/f.csv" >/dev/null
same_report "$tmp/in/fake/f.csv" "$tmp/ext/fake/f.csv" || fail "float-only report of the external model differs"

if [ -d "$nm/onnxruntime-node" ] && command -v node >/dev/null; then
  for p in "${pairs[@]}"; do
    read -r ref ext <<<"$p"
    NODE_PATH="$nm" node "$here/onnx_run.js" "$ref/m.onnx" "$ext/m.onnx" --no-opt \
      >"$tmp/run.jsonl" 2>"$tmp/run.err" || { fail "onnxruntime on $ext: $(head -c 300 "$tmp/run.err")"; continue; }
    "$PY" -c 'import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert rows, "no outputs"
for r in rows:
    print("  ort %s %s: max |diff| vs inline %g" % (sys.argv[2], r["output"], r["max_abs_diff"]))
    assert r["max_abs_diff"] == 0, "outputs differ"' "$tmp/run.jsonl" "${ext#"$tmp"/}" || fail "onnxruntime outputs of $ext differ"
  done
else
  echo "note: onnxruntime-node missing, runtime comparison skipped"
fi

# Never overwrite an input's data file: a.onnx whose tensors live in
# b.onnx.data; writing b.onnx would replace b.onnx.data.
mkdir -p "$tmp/own"
cp "$tmp/ext/fake/m.onnx" "$tmp/own/a.onnx"
"$PY" - "$tmp/own/a.onnx" <<'EOF'
import sys, onnx
m = onnx.load(sys.argv[1], load_external_data=False)
for t in m.graph.initializer:
    for e in t.external_data:
        if e.key == "location":
            e.value = "b.onnx.data"
onnx.save(m, sys.argv[1])
EOF
cp "$tmp/ext/fake/m.onnx.data" "$tmp/own/b.onnx.data"
sum=$(cksum <"$tmp/own/b.onnx.data")
rc=0
"$QSCOPE" quantize "$tmp/own/a.onnx" -o "$tmp/own/b.onnx" --qtype int8 -q 2>"$tmp/err" || rc=$?
[ "$rc" = 2 ] || fail "overwriting an input's data file: exit $rc, want 2"
grep -q "b.onnx.data" "$tmp/err" || fail "the refusal does not name the data file: $(cat "$tmp/err")"
[ "$(cksum <"$tmp/own/b.onnx.data")" = "$sum" ] || fail "the input's data file changed"
left=$(cd "$tmp/own" && ls -A | sort | tr '\n' ' ')
[ "$left" = "a.onnx b.onnx.data " ] || fail "refused write left files: $left"

# A failing write (file size limit below the data file's size) leaves
# nothing behind: no model, no data file, no temporary.
mkdir -p "$tmp/lim"
rc=0
(
  trap '' XFSZ
  ulimit -f 8
  exec "$QSCOPE" quantize "$demo" -o "$tmp/lim/m.onnx" --fake-quant --external-data -q
) 2>"$tmp/err" || rc=$?
[ "$rc" = 2 ] || fail "ulimit -f: exit $rc, want 2 ($(cat "$tmp/err"))"
[ "$(wc -l <"$tmp/err")" = 1 ] || fail "ulimit -f: want one error line, got: $(cat "$tmp/err")"
left=$(ls -A "$tmp/lim")
[ -z "$left" ] || fail "ulimit -f left files: $left"

exit $status
