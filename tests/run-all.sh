#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The test command: configure a warnings-as-errors build with AddressSanitizer
# and UndefinedBehaviorSanitizer in build-test/, build everything, run every
# meson test suite (unit, e2e, fuzz replay), and end with one line
# "N passed, N failed".
#
# usage: tests/run-all.sh [--deps] [meson test arguments...]
#   --deps  first install the Debian packages the build and tests need
#           (scripts/deps.sh; the README's test command and .ci/run)
# Runs as root (re-executes itself under sudo): the e2e tests start pcscd
# in private mount and network namespaces.
set -eu
cd "$(dirname "$0")/.."
. scripts/as-root.sh
cpk_as_root "$PWD/tests/run-all.sh" "$@"
if [ "${1:-}" = "--deps" ]; then
	shift
	sh scripts/deps.sh
fi
builddir=${CPK_TEST_BUILDDIR:-build-test}
# The tests make key folders and profiles with mkdir and redirections: with
# a umask that leaves them group-writable, cardc would rightly refuse them.
umask 022

if [ ! -f "$builddir/build.ninja" ]; then
	meson setup "$builddir" -Dwerror=true -Db_sanitize=address,undefined \
	    -Db_lundef=false -Dbuildtype=debugoptimized >/dev/null
fi
meson compile -C "$builddir"

# A sanitizer report is a failing test.
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_OPTIONS UBSAN_OPTIONS

status=0
meson test -C "$builddir" --print-errorlogs --num-processes 2 "$@" || status=$?

python3 - "$builddir/meson-logs/testlog.json" <<'PY'
import json, sys
passed = failed = skipped = 0
with open(sys.argv[1]) as f:
    for line in f:
        line = line.strip()
        if not line:
            continue
        r = json.loads(line).get("result", "")
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            skipped += 1
        else:
            failed += 1
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
PY
exit "$status"
