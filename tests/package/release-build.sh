#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# A release build of the whole tree (tools, tests, cardsim, fuzz replayers)
# must compile without a single warning: -Dbuildtype=release turns on the
# optimiser's flow analysis (-Wmaybe-uninitialized and friends, -Wunused-result
# through _FORTIFY_SOURCE), which the debug builds never run.  The build is
# made with -Dwerror=true in a temporary folder; any "warning:" line in its
# output fails the test too (the linker's warnings are not errors).
#
# usage: release-build.sh SOURCE_ROOT
set -eu
root=${1:?usage: release-build.sh SOURCE_ROOT}
for tool in meson ninja; do
	command -v $tool >/dev/null 2>&1 || { echo "$tool is needed (scripts/deps.sh)" >&2; exit 1; }
done
t=$(mktemp -d "${TMPDIR:-/tmp}/cpk-release-XXXXXX")
trap 'rm -rf "$t"' EXIT INT TERM
fail() { echo "FAIL: $*" >&2; exit 1; }

meson setup "$t/b" "$root" -Dbuildtype=release -Dwerror=true >"$t/setup.log" 2>&1 ||
    { tail -40 "$t/setup.log" >&2; fail "meson setup (release, werror)"; }
ninja -C "$t/b" -j 2 >"$t/build.log" 2>&1 ||
    { grep -E -B2 -A6 'error:|warning:' "$t/build.log" | head -80 >&2; fail "the release build"; }
if grep -q 'warning:' "$t/build.log"; then
	grep -E -A6 'warning:' "$t/build.log" | head -80 >&2
	fail "the release build prints warnings (above)"
fi
echo "release build: $(grep -c '^\[' "$t/build.log") steps, no warning"
