#!/usr/bin/env bash
# The man page and the bash completion are generated from the option table:
# the committed files must equal what the binary generates, and every option
# that any `--help` lists must appear in both. The completion must also load
# in bash and complete an option and a subcommand.
. "$(dirname "$0")/lib.bash"
: "${QSCOPE_SRC:?}"
man=$QSCOPE_SRC/share/man/qscope.1
comp=$QSCOPE_SRC/share/completion/qscope.bash

"$QSCOPE" --man >gen.1
diff -u "$man" gen.1 || fail "share/man/qscope.1 is stale: regenerate with 'qscope --man'"
"$QSCOPE" --completion >gen.bash
diff -u "$comp" gen.bash || fail "share/completion/qscope.bash is stale: 'qscope --completion'"

n=0
for cmd in "" tui report quantize inspect merge demo; do
	run_rc 0 "$QSCOPE" $cmd --help
	grep -q "^usage: qscope" "$T/out" || fail "qscope $cmd --help: no usage line"
	for opt in $(grep -oE -- '--[a-z][a-z-]*[a-z]' "$T/out" | sort -u); do
		roff=$(printf '%s' "$opt" | sed 's/-/\\-/g')
		grep -qF -- "$roff" "$man" || fail "$opt (qscope $cmd --help) not in the man page"
		grep -qE -- "(^|[\" ])$opt([\" )]|$)" "$comp" || fail "$opt not in the completion"
		n=$((n + 1))
	done
done
[ "$n" -gt 40 ] || fail "only $n options found in the help texts"

# The completion works.
. "$comp"
COMP_WORDS=(qscope report w.npz --gran)
COMP_CWORD=3
_qscope || true
[ "${COMPREPLY[*]}" = "--granularity" ] || fail "completion of --gran: ${COMPREPLY[*]}"
COMP_WORDS=(qscope report w.npz --scheme "")
COMP_CWORD=4
_qscope || true
[ "${COMPREPLY[*]}" = "sym asym" ] || fail "completion of --scheme values: ${COMPREPLY[*]}"
COMP_WORDS=("$QSCOPE" report w.gguf --qtype Q4_)
COMP_CWORD=4
_qscope || true
got=" ${COMPREPLY[*]} "
[[ $got == *" Q4_0 "* && $got == *" Q4_1 "* && $got != *" Q8_0 "* ]] ||
	fail "qtype completion: ${COMPREPLY[*]}"
run_rc 0 "$QSCOPE" --list-qtypes
for q in int8 uint8 int4 uint4 int16 Q8_0 Q4_0 Q4_K; do
	grep -qx "$q" "$T/out" || fail "--list-qtypes lacks $q"
done
COMP_WORDS=(qscope mer)
COMP_CWORD=1
_qscope || true
[ "${COMPREPLY[0]}" = "merge" ] || fail "completion of a subcommand: ${COMPREPLY[*]}"

run_rc 0 "$QSCOPE" --version
grep -qE '^qscope [0-9]+\.[0-9]+' "$T/out" || fail "--version: $(cat "$T/out")"
