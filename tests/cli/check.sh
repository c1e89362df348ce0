# SPDX-License-Identifier: BSD-2-Clause
# Shared by the cardc and cardload shell tests (sourced, not run): a private
# work folder $T removed on exit; fail() records a failure, expect() runs a
# command and checks its exit status and a piece of its stderr (stdout in
# $T/out, stderr in $T/err), check() is a plain assertion, finish() reports
# and sets the exit status.

failures=0
checks=0

T=$(mktemp -d "${TMPDIR:-/tmp}/cpk-cli-XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT INT TERM

fail() {
	failures=$((failures + 1))
	echo "FAIL: $*" >&2
}

# expect CODE STDERR-SUBSTRING COMMAND...: exit status and a message.
expect() {
	want=$1
	needle=$2
	shift 2
	checks=$((checks + 1))
	"$@" >"$T/out" 2>"$T/err"
	rc=$?
	if [ "$rc" != "$want" ]; then
		fail "$*: exit $rc, expected $want"
		sed 's/^/    /' "$T/err" >&2
		return 1
	fi
	if [ -n "$needle" ] && ! grep -qF -- "$needle" "$T/err"; then
		fail "$*: stderr lacks '$needle'"
		sed 's/^/    /' "$T/err" >&2
		return 1
	fi
	return 0
}

# check CONDITION-COMMAND... MESSAGE: a plain assertion.
check() {
	checks=$((checks + 1))
	msg=$1
	shift
	"$@" || fail "$msg"
}

finish() {
	echo "$1: $checks checks, $failures failed"
	[ "$failures" -eq 0 ]
}
