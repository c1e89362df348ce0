/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: writing signing key files (cardc keygen). Only the keyed side links
 * this; the format is read by cpk_keyfile.c.
 */
#include "cpk_bundle.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "cpk_keyfile_int.h"

static cpk_status
check_note(const char *note, struct cpk_error *err)
{
	size_t len = strnlen(note, CPK_KEY_NOTE_MAX + 1), i;
	cpk_status st = CPK_ERR_ARG;

	if (len > CPK_KEY_NOTE_MAX) {
		cpk_error_set(err, st, "key comment longer than %d characters", CPK_KEY_NOTE_MAX);
		goto out;
	}
	for (i = 0; i < len; i++) {
		if ((unsigned char)note[i] < 0x20 || (unsigned char)note[i] >= 0x7f) {
			cpk_error_set(err, st, "key comment holds byte 0x%02X; printable ASCII only",
			    (unsigned char)note[i]);
			goto out;
		}
	}
	st = CPK_OK;
out:
	return st;
}

cpk_status
cpk_keyfile_encode(enum cpk_keyfile_kind kind, const uint8_t key_id[CPK_KEY_ID_LEN],
    const uint8_t key[CPK_ED25519_KEY_LEN], const char *note, struct cpk_buf *out,
    struct cpk_error *err)
{
	uint8_t blob[BLOB_LEN];
	char line[COMMENT_MAX + CPK_KEY_NOTE_MAX];
	char b64[B64_LEN + 1];
	char id[2 * CPK_KEY_ID_LEN + 1];
	size_t start = out->len;
	int n;
	cpk_status st;

	if (note == NULL)
		note = "";
	if ((st = check_note(note, err)) != CPK_OK)
		goto out;
	cpk_key_id_hex(key_id, id);
	n = snprintf(line, sizeof(line), "%scpk %s key %s%s%s\n", COMMENT_PREFIX,
	    cpk_keyfile_kind_word(kind), id, note[0] != '\0' ? " " : "", note);
	if (n < 0 || (size_t)n >= sizeof(line)) {
		st = cpk_error_set(err, CPK_ERR_RANGE, "key comment too long");
		goto out;
	}
	memcpy(blob, cpk_keyfile_kind_alg(kind), 2);
	memcpy(blob + 2, key_id, CPK_KEY_ID_LEN);
	memcpy(blob + 2 + CPK_KEY_ID_LEN, key, CPK_ED25519_KEY_LEN);
	if (EVP_EncodeBlock((unsigned char *)b64, blob, BLOB_LEN) != B64_LEN) {
		st = cpk_error_set(err, CPK_ERR_CRYPTO, "base64 encoding failed");
		goto out;
	}
	if ((st = cpk_buf_append(out, line, (size_t)n, err)) != CPK_OK ||
	    (st = cpk_buf_append(out, b64, B64_LEN, err)) != CPK_OK ||
	    (st = cpk_buf_append_byte(out, '\n', err)) != CPK_OK)
		goto out;
out:
	if (st != CPK_OK && out->len > start)
		cpk_buf_truncate(out, out->len - start);
	cpk_cleanse(blob, sizeof(blob));
	cpk_cleanse(b64, sizeof(b64));
	return st;
}
