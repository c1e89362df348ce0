/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzz target: signing key files and the signature entry,
 * cpk_keyfile_decode (public and secret), cpk_pubkey_parse and
 * cpk_sig_parse (common/cpk_bundle.h). The whole input goes to each.
 *
 * Nothing crashes, and:
 * - at most one kind decodes (the blob names its algorithm); a decoded key
 *   file's key line is exactly the base64 that cpk_keyfile_encode writes
 *   for its key id and key, and that encoding decodes to them again;
 * - cpk_pubkey_parse accepts exactly the public key files whose key id is
 *   that of their key, and returns what cpk_keyfile_decode read;
 * - cpk_sig_parse accepts exactly 74 bytes starting "Ed" and splits them
 *   into key id and signature in place;
 * - a refusal leaves the outputs untouched and says why.
 */
#include <stdbool.h>
#include <string.h>

#include "cpk_bundle.h"
#include "fuzz.h"

#define COMMENT_PREFIX "untrusted comment: "
#define B64_LEN 56

static bool
all_bytes(const void *p, size_t n, uint8_t v)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] != v)
			return false;
	return true;
}

static void
check_refused(cpk_status st, const struct cpk_error *err)
{
	FUZZ_CHECK(st == CPK_ERR_PARSE || st == CPK_ERR_RANGE || st == CPK_ERR_UNSUPPORTED);
	FUZZ_CHECK(err->status == st && err->msg[0] != '\0');
}

/* The key line of a decoded file is what the encoder writes for its contents. */
static void
check_decoded(const uint8_t *data, size_t size, enum cpk_keyfile_kind kind,
    const uint8_t id[CPK_KEY_ID_LEN], const uint8_t key[CPK_ED25519_KEY_LEN])
{
	struct cpk_buf enc = CPK_BUF_INIT;
	const uint8_t *nl, *line, *enl;
	uint8_t id2[CPK_KEY_ID_LEN], key2[CPK_ED25519_KEY_LEN];

	FUZZ_CHECK(size >= sizeof(COMMENT_PREFIX) - 1 &&
	    memcmp(data, COMMENT_PREFIX, sizeof(COMMENT_PREFIX) - 1) == 0);
	FUZZ_CHECK((nl = memchr(data, '\n', size)) != NULL);
	line = nl + 1;
	FUZZ_CHECK((size_t)(data + size - line) == B64_LEN ||
	    ((size_t)(data + size - line) == B64_LEN + 1 && data[size - 1] == '\n'));
	FUZZ_CHECK(cpk_keyfile_encode(kind, id, key, NULL, &enc, NULL) == CPK_OK);
	FUZZ_CHECK((enl = memchr(enc.data, '\n', enc.len)) != NULL);
	FUZZ_CHECK((size_t)(enc.data + enc.len - (enl + 1)) == B64_LEN + 1);
	FUZZ_CHECK(memcmp(enl + 1, line, B64_LEN) == 0);
	FUZZ_CHECK(cpk_keyfile_decode(enc.data, enc.len, "again", kind, id2, key2, NULL) == CPK_OK);
	FUZZ_CHECK(memcmp(id, id2, sizeof(id2)) == 0 && memcmp(key, key2, sizeof(key2)) == 0);
	cpk_buf_free(&enc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t pid[CPK_KEY_ID_LEN], pkey[CPK_ED25519_KEY_LEN];
	uint8_t sid[CPK_KEY_ID_LEN], skey[CPK_ED25519_KEY_LEN];
	uint8_t want[CPK_KEY_ID_LEN], sig_id[CPK_KEY_ID_LEN];
	const uint8_t *sig = NULL;
	struct cpk_pubkey pk;
	struct cpk_error err;
	cpk_status sp, ss, st;

	/* Public. */
	memset(pid, 0xA5, sizeof(pid));
	memset(pkey, 0xA5, sizeof(pkey));
	cpk_error_clear(&err);
	sp = cpk_keyfile_decode(data, size, "fuzz.pub", CPK_KEYFILE_PUBLIC, pid, pkey, &err);
	if (sp == CPK_OK) {
		check_decoded(data, size, CPK_KEYFILE_PUBLIC, pid, pkey);
	} else {
		check_refused(sp, &err);
		FUZZ_CHECK(all_bytes(pid, sizeof(pid), 0xA5) && all_bytes(pkey, sizeof(pkey), 0xA5));
	}

	/* Secret. */
	memset(sid, 0xA5, sizeof(sid));
	memset(skey, 0xA5, sizeof(skey));
	cpk_error_clear(&err);
	ss = cpk_keyfile_decode(data, size, "fuzz.key", CPK_KEYFILE_SECRET, sid, skey, &err);
	if (ss == CPK_OK) {
		check_decoded(data, size, CPK_KEYFILE_SECRET, sid, skey);
	} else {
		check_refused(ss, &err);
		FUZZ_CHECK(all_bytes(sid, sizeof(sid), 0xA5) && all_bytes(skey, sizeof(skey), 0xA5));
	}
	FUZZ_CHECK(sp != CPK_OK || ss != CPK_OK);

	/* A public key file with its key id checked. */
	memset(&pk, 0xA5, sizeof(pk));
	cpk_error_clear(&err);
	st = cpk_pubkey_parse(data, size, "fuzz.pub", &pk, &err);
	if (st == CPK_OK) {
		FUZZ_CHECK(sp == CPK_OK);
		FUZZ_CHECK(memcmp(pk.key_id, pid, sizeof(pid)) == 0);
		FUZZ_CHECK(memcmp(pk.pub, pkey, sizeof(pkey)) == 0);
		FUZZ_CHECK(cpk_key_id(pk.pub, want, NULL) == CPK_OK);
		FUZZ_CHECK(memcmp(want, pk.key_id, sizeof(want)) == 0);
	} else {
		check_refused(st, &err);
		FUZZ_CHECK(all_bytes(&pk, sizeof(pk), 0xA5));
		if (sp == CPK_OK) {
			/* Refused for the key id alone. */
			FUZZ_CHECK(cpk_key_id(pkey, want, NULL) == CPK_OK);
			FUZZ_CHECK(memcmp(want, pid, sizeof(want)) != 0);
		}
	}

	/* manifest.sig */
	memset(sig_id, 0xA5, sizeof(sig_id));
	cpk_error_clear(&err);
	st = cpk_sig_parse(data, size, sig_id, &sig, &err);
	if (size == CPK_SIG_LEN && memcmp(data, CPK_SIG_ALG, 2) == 0) {
		FUZZ_CHECK(st == CPK_OK);
		FUZZ_CHECK(memcmp(sig_id, data + 2, CPK_KEY_ID_LEN) == 0);
		FUZZ_CHECK(sig == data + 2 + CPK_KEY_ID_LEN);
	} else {
		FUZZ_CHECK(st == CPK_ERR_PARSE || st == CPK_ERR_UNSUPPORTED);
		FUZZ_CHECK(err.status == st && err.msg[0] != '\0');
		FUZZ_CHECK(sig == NULL && all_bytes(sig_id, sizeof(sig_id), 0xA5));
	}
	return 0;
}
