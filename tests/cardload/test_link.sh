#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# cardload is keyless: it must never link the compiler library (keys,
# secure channel, profiles) nor libyaml. Checks the built binary:
#   - no libyaml among its shared libraries (readelf -d NEEDED), nor libcurl
#     (dlopen'd for https:// only);
#   - no symbol defined by libcpk_compiler.a, and no yaml_* symbol at all;
#   - no key-file writer (cpk_keyfile_encode: cardc keygen's, not the loader's);
#   - libcrypto only for what verifying needs: every libcrypto function
#     cardload imports is on the allow-list below, so a new import (a cipher,
#     a MAC, a key generator) fails here until someone argues for it. With
#     libcrypto linked statically (meson option cardload_libcrypto=static)
#     the imports are read from the link's cross reference table (MAP: the
#     functions of libcrypto.a that cardload's own code calls), and no
#     shared libcrypto may be among its libraries: nothing may map a
#     second copy at start (libzip did; it is gone from cardload).
#
# usage: test_link.sh CARDLOAD LIBCPK_COMPILER.a [MAP]
set -eu
cardload=${1:?usage: test_link.sh CARDLOAD LIBCPK_COMPILER.a [MAP]}
compiler=${2:?usage: test_link.sh CARDLOAD LIBCPK_COMPILER.a [MAP]}
map=${3:-}
for tool in readelf nm ldd; do
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
# libcurl is loaded at run time for https:// only (loader/fetch.c): a local
# bundle must not pay for it and the thirty-odd libraries it needs.
if grep -i curl "$t/needed" >&2; then
	echo "FAIL: cardload links libcurl (it is to be loaded with dlopen)" >&2
	exit 1
fi

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
if grep -E '^cpk_keyfile_encode$' "$t/cardload" >&2; then
	echo "FAIL: cardload holds the key file writer" >&2
	exit 1
fi

# Ed25519 signature and SHA-256 checks, base64 of trust anchors, constant-time
# compare, cleansing, error queue; OpenSSL started without its configuration
# file (OPENSSL_init_crypto, cardload(1) ENVIRONMENT).
cat >"$t/allowed" <<'LIST'
CRYPTO_memcmp
ERR_clear_error
ERR_peek_last_error
EVP_DecodeBlock
EVP_Digest
EVP_DigestVerify
EVP_DigestVerifyInit
EVP_MD_CTX_free
EVP_MD_CTX_new
EVP_PKEY_free
EVP_PKEY_new_raw_public_key
EVP_sha256
OPENSSL_cleanse
OPENSSL_init_crypto
LIST
libcrypto=$(ldd "$cardload" | awk '$1 ~ /^libcrypto\.so/ { print $3 }')
if [ -n "$map" ]; then
	[ -z "$libcrypto" ] || {
		echo "FAIL: cardload links libcrypto statically, yet maps $libcrypto too" >&2
		exit 1
	}
	grep -q '^Cross Reference Table' "$map" ||
		{ echo "FAIL: $map has no cross reference table (-Wl,--cref)" >&2; exit 1; }
	# Symbol, then the file defining it (on the next line after a long
	# name), then one line per file using it.
	awk '/^Cross Reference Table/ { on = 1; next }
	    !on || /^Symbol  / || NF == 0 { next }
	    /^[^ ]/ { sym = $1; definer = (NF == 1); crypto = ($2 ~ /libcrypto\.a\(/); next }
	    definer { definer = 0; crypto = ($1 ~ /libcrypto\.a\(/); next }
	    crypto && $1 !~ /libcrypto\.a\(/ { print sym }' "$map" | sort -u >"$t/crypto-used"
else
	[ -n "$libcrypto" ] && [ -f "$libcrypto" ] ||
		{ echo "FAIL: cardload does not link libcrypto?" >&2; exit 1; }
	nm -D --defined-only "$libcrypto" | awk '{ print $NF }' | sed 's/@.*//' | sort -u >"$t/libcrypto"
	nm -D --undefined-only "$cardload" | awk '{ print $NF }' | sed 's/@.*//' | sort -u >"$t/imports"
	comm -12 "$t/libcrypto" "$t/imports" >"$t/crypto-used"
fi
[ -s "$t/crypto-used" ] || { echo "FAIL: no libcrypto imports read from $cardload" >&2; exit 1; }
if comm -23 "$t/crypto-used" "$t/allowed" | grep . >&2; then
	echo "FAIL: cardload imports libcrypto functions not on the allow-list (above)" >&2
	exit 1
fi

echo "cardload-link: $(wc -l <"$t/needed") shared libraries, no libyaml;" \
    "none of $(wc -l <"$t/compiler") compiler symbols; $(wc -l <"$t/crypto-used") libcrypto" \
    "functions, all allowed${map:+ (libcrypto linked statically)}"
