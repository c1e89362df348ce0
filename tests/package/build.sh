#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The Debian packages: build cpk-cardc and cpk-cardload from a copy of the
# source tree with dpkg-buildpackage -b, hold them to lintian (no error),
# unpack both into a scratch root and run what they installed:
#   - cardc --version and cardc keygen (a key pair, secret file 0600);
#   - cardload --help, and cardload readers with no pcscd (exit 5);
#   - cpk-cardload needs nothing of the keyed side: no libyaml among
#     cardload's libraries or the package's Depends, no dependency on
#     cpk-cardc (libjansson is allowed since cardload --server speaks the
#     SERAM messages in JSON; it handles no key); each man page in exactly
#     one package;
#   - the installed man pages are clean under mandoc -T lint.
# Everything happens in a temporary folder; nothing is installed on the machine.
#
# usage: build.sh SOURCE_ROOT
set -eu
root=${1:?usage: build.sh SOURCE_ROOT}
for tool in dpkg-buildpackage dpkg-deb lintian mandoc ldd; do
	command -v $tool >/dev/null 2>&1 || { echo "$tool is needed (scripts/deps.sh)" >&2; exit 1; }
done
t=$(mktemp -d "${TMPDIR:-/tmp}/cpk-deb-XXXXXX")
trap 'rm -rf "$t"' EXIT INT TERM
fail() { echo "FAIL: $*" >&2; exit 1; }

# The tree as git sees it (tracked and new files, no build folders).
mkdir "$t/src"
if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
	(cd "$root" && git ls-files -z --cached --others --exclude-standard) |
	    (cd "$root" && xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh) |
	    (cd "$root" && tar --null -T - -cf -) | tar -xf - -C "$t/src"
else
	(cd "$root" && tar --exclude='./build*' -cf - .) | tar -xf - -C "$t/src"
fi

(cd "$t/src" && dpkg-buildpackage -b -us -uc) >"$t/build.log" 2>&1 ||
    { tail -40 "$t/build.log" >&2; fail "dpkg-buildpackage -b"; }
changes=$(ls "$t"/cpk_*.changes)
cardc_deb=$(ls "$t"/cpk-cardc_*.deb)
cardload_deb=$(ls "$t"/cpk-cardload_*.deb)

# lintian: errors fail, warnings are shown.
lintian --tag-display-limit 0 "$changes" >"$t/lintian" 2>&1 || true
cat "$t/lintian" >&2
if grep -q '^E: ' "$t/lintian"; then
	fail "lintian reports errors (above)"
fi

# What each package holds and needs.
dpkg-deb -c "$cardc_deb" | awk '{ print $NF }' >"$t/cardc.files"
dpkg-deb -c "$cardload_deb" | awk '{ print $NF }' >"$t/cardload.files"
grep -q '/usr/bin/cardc$' "$t/cardc.files" || fail "cpk-cardc has no cardc"
grep -q '/usr/bin/cardload$' "$t/cardload.files" || fail "cpk-cardload has no cardload"
grep -q '/etc/cpk/trusted/$' "$t/cardload.files" || fail "cpk-cardload has no /etc/cpk/trusted"
! grep -q 'cardload' "$t/cardc.files" || fail "cpk-cardc holds loader files"
! grep -q 'bin/cardc$' "$t/cardload.files" || fail "cpk-cardload holds cardc"
for page in man1/cardc.1 man1/cardload.1 man5/cpk.5 man5/cpk-profile.5 man5/cpk-receipt.5 \
    man8/cardc-serve.8; do
	n=$(cat "$t/cardc.files" "$t/cardload.files" | grep -c "/$page.gz$" || true)
	[ "$n" = 1 ] || fail "$page is in $n packages, not one"
done
depends=$(dpkg-deb -f "$cardload_deb" Depends)
echo "cpk-cardload Depends: $depends"
case "$depends" in
*yaml*|*cpk-cardc*) fail "cpk-cardload depends on the keyed side: $depends" ;;
esac

# Unpacked into a scratch root and run.
dpkg-deb -x "$cardc_deb" "$t/root"
dpkg-deb -x "$cardload_deb" "$t/root"
bin=$t/root/usr/bin
[ "$(stat -c %a "$t/root/etc/cpk/trusted")" = 755 ] || fail "/etc/cpk/trusted is not 0755"
if ldd "$bin/cardload" | grep -E 'libyaml' >&2; then
	fail "the installed cardload links the keyed side's libraries"
fi
"$bin/cardc" --version >"$t/out" || fail "cardc --version"
grep -q '^cardc (cpk) 0\.1\.0' "$t/out" || fail "cardc --version: $(cat "$t/out")"
(umask 022 && "$bin/cardc" keygen -o "$t/k") >/dev/null 2>&1 || fail "cardc keygen"
[ "$(stat -c %a "$t/k.key")" = 600 ] || fail "the secret key file is not 0600"
[ -s "$t/k.pub" ] || fail "no public key written"
"$bin/cardload" load --help >"$t/out" || fail "cardload load --help"
grep -q '/etc/cpk/trusted/' "$t/out" || fail "cardload --help does not name /etc/cpk/trusted"
# No pcscd in this private namespace-free check: point PC/SC at nothing.
set +e
PCSCLITE_CSOCK_NAME="$t/no-pcscd.comm" "$bin/cardload" readers >"$t/out" 2>"$t/err"
rc=$?
set -e
[ "$rc" = 5 ] || fail "cardload readers without pcscd: exit $rc, expected 5 ($(cat "$t/err"))"
for page in "$t"/root/usr/share/man/man*/*.gz; do
	gzip -dc "$page" >"$t/page"
	out=$(mandoc -T lint -W warning "$t/page" 2>&1 | grep -v 'referenced manual not found' ||
	    true)
	[ -z "$out" ] || { echo "$out" >&2; fail "mandoc lint: $page"; }
done
echo "package: cpk-cardc $(dpkg-deb -f "$cardc_deb" Version) and cpk-cardload built," \
    "lintian $(grep -c '^[WI]: ' "$t/lintian" || true) warnings/infos, 0 errors; installed into a scratch root and run"
