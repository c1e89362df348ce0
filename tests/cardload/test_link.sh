#!/bin/sh
# cardload is keyless: it must never link the compiler library (keys,
# secure channel, profiles) nor libyaml. Checks the built binary:
#   - no libyaml among its shared libraries (readelf -d NEEDED);
#   - no symbol defined by libcpk_compiler.a, and no yaml_* symbol at all.
#
# usage: test_link.sh CARDLOAD LIBCPK_COMPILER.a
set -eu
cardload=${1:?usage: test_link.sh CARDLOAD LIBCPK_COMPILER.a}
compiler=${2:?usage: test_link.sh CARDLOAD LIBCPK_COMPILER.a}
for tool in readelf nm; do
	command -v $tool >/dev/null 2>&1 || { echo "$tool (binutils) is needed" >&2; exit 1; }
done
t=$(mktemp -d "${TMPDIR:-/tmp}/cpk-link-XXXXXX")
trap 'rm -rf "$t"' EXIT INT TERM

readelf -d "$cardload" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' >"$t/needed"
if grep -i yaml "$t/needed" >&2; then
	echo "FAIL: cardload links libyaml" >&2
	exit 1
fi
grep -q '^libpcsclite' "$t/needed" || { echo "FAIL: cardload does not link PC/SC?" >&2; exit 1; }

nm --defined-only -g "$compiler" 2>/dev/null | awk 'NF == 3 && $2 ~ /^[TDBR]$/ { print $3 }' |
    sort -u >"$t/compiler"
[ -s "$t/compiler" ] || { echo "FAIL: no symbols read from $compiler" >&2; exit 1; }
nm "$cardload" | awk '{ print $NF }' | sort -u >"$t/cardload"
if comm -12 "$t/compiler" "$t/cardload" | grep . >&2; then
	echo "FAIL: cardload holds symbols of the compiler library (above)" >&2
	exit 1
fi
if grep -E '^yaml_' "$t/cardload" >&2; then
	echo "FAIL: cardload refers to libyaml" >&2
	exit 1
fi
echo "cardload-link: $(wc -l <"$t/needed") shared libraries, no libyaml;" \
    "none of $(wc -l <"$t/compiler") compiler symbols"
