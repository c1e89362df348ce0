#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The hsm suite's fixture: a SoftHSM2 token in a temporary folder of its own
# (SOFTHSM2_CONF names a config whose token folder is under $T), made with
# softhsm2-util, and the test keys copied into it with cardc hsm import.
#
#   . lib.sh; hsm_setup CARDC SOURCE_ROOT MODULE
#
# Sets T (work folder, removed at exit), KEYS (the key files: the GP test
# keys, static, and as 3DES and AES masters), TKEYS (the same key sets
# naming the keys in the token), SIGN/PUB (the test signing key) and TSIGN
# (its URI in the token); exports SOFTHSM2_CONF, CPK_PKCS11_MODULE and
# CPK_PKCS11_PIN. The PIN is a test PIN of a test token.

checks=0
failures=0

fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

check() {
	what=$1
	shift
	checks=$((checks + 1))
	"$@" || fail "$what"
}

# expect STATUS NEEDLE CMD...: exit status and a message (on stderr or stdout).
expect() {
	want=$1 needle=$2
	shift 2
	checks=$((checks + 1))
	"$@" >"$T/out" 2>"$T/err"
	got=$?
	if [ "$got" != "$want" ]; then
		fail "exit $got, want $want: $*"
		sed 's/^/    /' "$T/err" >&2
	elif [ -n "$needle" ] && ! grep -qF -- "$needle" "$T/err" "$T/out"; then
		fail "no '$needle' from: $*"
		sed 's/^/    /' "$T/err" >&2
	fi
}

finish() {
	echo "$1: $checks checks, $failures failed"
	[ "$failures" = 0 ]
}

hsm_setup() {
	CARDC=$1 SRCROOT=$2 MODULE=$3
	if [ ! -r "$MODULE" ] || ! command -v softhsm2-util >/dev/null; then
		echo "SoftHSM2 is not installed (scripts/deps.sh installs softhsm2)" >&2
		exit 77
	fi
	T=$(mktemp -d "${TMPDIR:-/tmp}/cpk-hsm.XXXXXX") || exit 1
	trap 'rm -rf "$T"' EXIT
	chmod 700 "$T"
	mkdir -p "$T/tokens" "$T/keys" "$T/tkeys" "$T/sign" || exit 1
	printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
	    "$T" >"$T/softhsm2.conf"
	SOFTHSM2_CONF=$T/softhsm2.conf
	CPK_PKCS11_MODULE=$MODULE
	CPK_PKCS11_PIN=246810
	export SOFTHSM2_CONF CPK_PKCS11_MODULE CPK_PKCS11_PIN
	unset CPK_REGISTRY
	softhsm2-util --init-token --free --label cpk-test --so-pin 13579111 \
	    --pin "$CPK_PKCS11_PIN" >/dev/null || { echo "softhsm2-util failed" >&2; exit 1; }
	master=404142434445464748494A4B4C4D4E4F
	cp "$SRCROOT/keys/gp-test-keys.yaml" "$T/keys/3des.yaml" &&
	    cp "$SRCROOT/keys/gp-test-keys-aes.yaml" "$T/keys/aes.yaml" &&
	    printf 'kvn: "20"\nalgorithm: 3des\nmaster: %s\n' "$master" >"$T/keys/m3des.yaml" &&
	    printf 'kvn: "30"\nalgorithm: aes\nmaster: %s\n' "$master" >"$T/keys/maes.yaml" &&
	    cp "$SRCROOT/keys/test-signing.key" "$SRCROOT/keys/test-signing.pub" "$T/sign/" &&
	    chmod 600 "$T"/keys/*.yaml "$T/sign/test-signing.key" ||
	    { echo "setup failed" >&2; exit 1; }
	for k in 3des aes m3des maes; do
		"$CARDC" hsm import -k "$T/keys/$k.yaml" -o "$T/tkeys/$k.yaml" \
		    "pkcs11:token=cpk-test;object=gp-$k" 2>"$T/import.err" ||
		    { cat "$T/import.err" >&2; exit 1; }
	done
	"$CARDC" hsm import -s "$T/sign/test-signing.key" \
	    "pkcs11:token=cpk-test;object=signing" >/dev/null 2>"$T/import.err" ||
	    { cat "$T/import.err" >&2; exit 1; }
	KEYS=$T/keys TKEYS=$T/tkeys
	SIGN=$T/sign/test-signing.key PUB=$T/sign/test-signing.pub
	TSIGN="pkcs11:token=cpk-test;object=signing"
}

# keyset KVN ALG DIV DIR NAME: a key set file in DIR from the imported ones:
# the static set (DIV none) or the master with DIV, at key version KVN.
keyset() {
	kvn=$1 alg=$2 div=$3 dir=$4 name=$5
	case $div in
	none) src=$alg ;;
	*) src=m$alg ;;
	esac
	{
		sed -e "s/^kvn: .*/kvn: \"$kvn\"/" -e '/^diversification/d' "$dir/$src.yaml"
		[ "$div" = none ] || echo "diversification: $div"
	} >"$dir/$name" && chmod 600 "$dir/$name"
}
