# Shared by the tests/cli/*.sh scripts (sourced; not a test itself).
# ctest sets QSCOPE (the binary) and PY (Debian's python3 with numpy).
set -euo pipefail
: "${QSCOPE:?QSCOPE must name the qscope binary}"
PY=${PY:-/usr/bin/python3}
T=$(mktemp -d "${TMPDIR:-/tmp}/qscope-cli.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T"

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# run_rc WANT CMD...: run CMD, capture stdout/stderr in $T/out, $T/err,
# and fail unless it exits with WANT.
run_rc() {
	local want=$1 rc=0
	shift
	"$@" >"$T/out" 2>"$T/err" || rc=$?
	if [ "$rc" -ne "$want" ]; then
		cat "$T/err" >&2
		fail "expected exit $want, got $rc: $*"
	fi
}

# The columns design.md fixes, in order.
TENSOR_COLS=tensor,shape,dtype,qtype,elements,bits,scheme,granularity,method,scale_min,scale_max,zero_point,clip_min,clip_max,mse,rmse,mae,max_abs_err,sqnr_db,cosine,clipped_pct,levels_used,entropy_bits,overflow_risk
CHANNEL_COLS=tensor,channel,elements,min,max,scale,zero_point,mse,rmse,max_abs_err,sqnr_db,clipped_pct,overflow_risk
export TENSOR_COLS CHANNEL_COLS
