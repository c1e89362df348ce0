/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: reading signing key files (signify-like, two lines). Layout in
 * cpk_bundle.h and cpk(5); writing them is cpk_keyfile_write.c, which the
 * keyless loader does not link. Secret key bytes pass through here; every
 * temporary copy is cleansed before return.
 */
#include "cpk_bundle.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "cpk_keyfile_int.h"

const char *
cpk_keyfile_kind_word(enum cpk_keyfile_kind kind)
{
	return kind == CPK_KEYFILE_SECRET ? "secret" : "public";
}

const char *
cpk_keyfile_kind_alg(enum cpk_keyfile_kind kind)
{
	return kind == CPK_KEYFILE_SECRET ? CPK_SECKEY_ALG : CPK_PUBKEY_ALG;
}

static bool
b64_char(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
	    ch == '+' || ch == '/';
}

/* Line 1: the comment. Sets *next to the start of line 2. */
static cpk_status
check_comment(const char *s, size_t n, const char *name, size_t *next, struct cpk_error *err)
{
	const size_t plen = sizeof(COMMENT_PREFIX) - 1;
	const char *nl = memchr(s, '\n', n);
	size_t len, i;
	cpk_status st = CPK_ERR_PARSE;

	if (n < plen || memcmp(s, COMMENT_PREFIX, plen) != 0) {
		cpk_error_set(err, st, "%s:1: not a cpk key file (the first line must start with "
		    "\"%s\")", name, COMMENT_PREFIX);
		goto out;
	}
	if (nl == NULL) {
		cpk_error_set(err, st, "%s:1: truncated key file (no key line)", name);
		goto out;
	}
	len = (size_t)(nl - s);
	if (len > COMMENT_MAX + CPK_KEY_NOTE_MAX) {
		st = cpk_error_set(err, CPK_ERR_RANGE, "%s:1: comment line too long", name);
		goto out;
	}
	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f) {
			cpk_error_set(err, st, "%s:1: byte 0x%02X in the comment line", name,
			    (unsigned char)s[i]);
			goto out;
		}
	}
	*next = len + 1;
	st = CPK_OK;
out:
	return st;
}

cpk_status
cpk_keyfile_decode(const uint8_t *text, size_t n, const char *name, enum cpk_keyfile_kind kind,
    uint8_t key_id[CPK_KEY_ID_LEN], uint8_t key[CPK_ED25519_KEY_LEN], struct cpk_error *err)
{
	const char *s = (const char *)text;
	uint8_t blob[B64_LEN];	/* EVP_DecodeBlock writes 3 bytes per 4 characters */
	size_t pos = 0, rest, i;
	cpk_status st;

	if (n > CPK_KEYFILE_MAX) {
		st = cpk_error_set(err, CPK_ERR_RANGE, "%s: %zu bytes is too large for a key file "
		    "(at most %zu)", name, n, CPK_KEYFILE_MAX);
		goto out;
	}
	if ((st = check_comment(s, n, name, &pos, err)) != CPK_OK)
		goto out;
	st = CPK_ERR_PARSE;
	rest = n - pos;
	if (rest < B64_LEN || (rest > B64_LEN && !(rest == B64_LEN + 1 && s[n - 1] == '\n'))) {
		cpk_error_set(err, st, "%s:2: the key line must be %d base64 characters and "
		    "nothing may follow it", name, B64_LEN);
		goto out;
	}
	for (i = 0; i < B64_LEN; i++) {
		if (!b64_char(s[pos + i])) {
			cpk_error_set(err, st, "%s:2:%zu: not a base64 character", name, i + 1);
			goto out;
		}
	}
	if (EVP_DecodeBlock(blob, (const unsigned char *)s + pos, B64_LEN) != BLOB_LEN) {
		cpk_error_set(err, st, "%s:2: bad base64", name);
		goto out;
	}
	if (memcmp(blob, cpk_keyfile_kind_alg(kind), 2) != 0) {
		if (memcmp(blob, cpk_keyfile_kind_alg(kind == CPK_KEYFILE_SECRET ? CPK_KEYFILE_PUBLIC :
		    CPK_KEYFILE_SECRET), 2) == 0)
			cpk_error_set(err, st, "%s:2: this is a %s key file, not a %s key", name,
			    kind == CPK_KEYFILE_SECRET ? "public" : "secret", cpk_keyfile_kind_word(kind));
		else if (kind == CPK_KEYFILE_SECRET)
			st = cpk_error_set(err, CPK_ERR_UNSUPPORTED,
			    "%s:2: unknown key algorithm (expected Ed25519)", name);
		else
			st = cpk_error_set(err, CPK_ERR_UNSUPPORTED,
			    "%s:2: unknown key algorithm 0x%02X%02X (expected Ed25519)", name,
			    blob[0], blob[1]);
		goto out;
	}
	memcpy(key_id, blob + 2, CPK_KEY_ID_LEN);
	memcpy(key, blob + 2 + CPK_KEY_ID_LEN, CPK_ED25519_KEY_LEN);
	st = CPK_OK;
out:
	cpk_cleanse(blob, sizeof(blob));
	return st;
}

cpk_status
cpk_pubkey_parse(const uint8_t *text, size_t n, const char *name, struct cpk_pubkey *out,
    struct cpk_error *err)
{
	struct cpk_pubkey pk;
	uint8_t id[CPK_KEY_ID_LEN];
	char have[2 * CPK_KEY_ID_LEN + 1], want[2 * CPK_KEY_ID_LEN + 1];
	cpk_status st;

	if ((st = cpk_keyfile_decode(text, n, name, CPK_KEYFILE_PUBLIC, pk.key_id, pk.pub,
	    err)) != CPK_OK)
		goto out;
	if ((st = cpk_key_id(pk.pub, id, err)) != CPK_OK)
		goto out;
	if (memcmp(id, pk.key_id, sizeof(id)) != 0) {
		cpk_key_id_hex(pk.key_id, have);
		cpk_key_id_hex(id, want);
		st = cpk_error_set(err, CPK_ERR_PARSE, "%s: the key id in the file (%s) does not "
		    "match its key (%s): the file is damaged", name, have, want);
		goto out;
	}
	*out = pk;
out:
	return st;
}
