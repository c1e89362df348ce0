/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cardsim: PUT KEY (GP 2.3.1 11.8, Amendment D 7.2): add a key set or
 * replace one, all three keys (ENC, MAC, DEK) in one command.
 *
 *   80 D8 <old KVN, 00 = add> 81 Lc  <new KVN> <key block> x 3
 *   key block, 3DES: 80 10 <key under the session DEK, 3DES-ECB> 03 <KCV>
 *   key block, AES:  88 <1 + n> <key length> <key under the static DEK,
 *                    AES-CBC, zero ICV: n bytes> 03 <KCV>
 *
 * The answer is the new KVN followed by the three check values. A new or
 * replaced key set starts with sequence counter 0.
 */
#include "card_int.h"

#include <string.h>

#include "gp_crypto.h"

struct new_key {
	uint8_t key[GP_MAX_KEY];
	size_t len;
	uint8_t kcv[3];
};

/* Read, decrypt and check one key block. */
static uint16_t
read_key(struct cardsim *c, struct cpk_cursor *cur, size_t idx, struct new_key *k)
{
	struct cpk_error err;
	const uint8_t *blk, *kcv;
	uint8_t type, blen, klen, kcvlen, plain[GP_MAX_KEY], check[3];
	size_t enclen;
	uint16_t sw = SW_WRONG_DATA;
	bool aes = scp_ops_find((uint8_t)c->id.scp)->key_alg == GP_KEY_AES;

	cpk_error_clear(&err);
	if (!cpk_cursor_u8(cur, &type) || !cpk_cursor_u8(cur, &blen) ||
	    !cpk_cursor_bytes(cur, blen, &blk) || !cpk_cursor_u8(cur, &kcvlen) ||
	    !cpk_cursor_bytes(cur, kcvlen, &kcv)) {
		sw = cs_refuse(c, SW_WRONG_DATA, "PUT KEY: key %zu truncated", idx);
		goto out;
	}
	if (type != (aes ? 0x88 : 0x80)) {
		sw = cs_refuse(c, SW_WRONG_DATA, "PUT KEY: key %zu of type %02X (this card takes %s)",
		    idx, type, aes ? "88, AES" : "80, 3DES");
		goto out;
	}
	if (aes) {
		/* The block starts with the key length; the rest is the ciphertext. */
		klen = blen > 0 ? blk[0] : 0;
		enclen = blen > 0 ? (size_t)blen - 1 : 0;
		if ((klen != 16 && klen != 24 && klen != 32) || (enclen != 16 && enclen != 32) ||
		    enclen < klen) {
			sw = cs_refuse(c, SW_WRONG_DATA, "PUT KEY: AES key %zu: length %u in %zu "
			    "encrypted bytes", idx, klen, enclen);
			goto out;
		}
		blk++;
	} else {
		klen = 16;
		enclen = blen;
		if (enclen != 16) {
			sw = cs_refuse(c, SW_WRONG_DATA, "PUT KEY: 3DES key %zu of %zu bytes (16)", idx,
			    enclen);
			goto out;
		}
	}
	if (kcvlen != 3) {
		sw = cs_refuse(c, SW_WRONG_DATA, "PUT KEY: key %zu has a %u-byte check value (3)", idx,
		    kcvlen);
		goto out;
	}
	if (scp_decrypt_key(&c->sc, blk, enclen, plain, &err) != CPK_OK ||
	    gp_kcv(aes ? GP_KEY_AES : GP_KEY_3DES, plain, klen, check, &err) != CPK_OK) {
		sw = cs_refuse(c, SW_WRONG_DATA, "PUT KEY: key %zu: %s", idx, err.msg);
		goto out;
	}
	if (!cpk_ct_equal(check, kcv, 3)) {
		sw = cs_refuse(c, SW_WRONG_DATA, "PUT KEY: key %zu does not match its check value "
		    "(wrong DEK or corrupted key)", idx);
		goto out;
	}
	memcpy(k->key, plain, klen);
	k->len = klen;
	memcpy(k->kcv, check, 3);
	sw = SW_OK;
out:
	cpk_cleanse(plain, sizeof(plain));
	return sw;
}

uint16_t
cs_cmd_put_key(struct cardsim *c, const struct cpk_apdu *a, struct cpk_buf *out)
{
	struct new_key k[3];
	struct cpk_cursor cur;
	struct cs_keyset *ks = NULL, *same;
	uint8_t old_kvn = a->p1, new_kvn;
	size_t i;
	uint16_t sw = SW_INTERNAL;

	memset(k, 0, sizeof(k));
	if (a->p1 & 0x80) {
		sw = cs_refuse(c, SW_WRONG_P1P2, "PUT KEY P1 %02X: multiple commands are not "
		    "supported", a->p1);
		goto out;
	}
	if (a->p2 != 0x81) {
		sw = cs_refuse(c, SW_WRONG_P1P2, "PUT KEY P2 %02X: this card replaces whole key "
		    "sets (P2 81: keys 1 to 3)", a->p2);
		goto out;
	}
	if (a->lc == 0) {
		sw = cs_refuse(c, SW_WRONG_LENGTH, "PUT KEY without data");
		goto out;
	}
	cpk_cursor_init(&cur, a->data, a->lc);
	if (!cpk_cursor_u8(&cur, &new_kvn) || new_kvn == 0x00 || new_kvn > 0x7F) {
		sw = cs_refuse(c, SW_WRONG_DATA, "PUT KEY: new key version %02X (01-7F)", new_kvn);
		goto out;
	}
	for (i = 0; i < 3; i++)
		if ((sw = read_key(c, &cur, i + 1, &k[i])) != SW_OK)
			goto out;
	if (cpk_cursor_left(&cur) != 0) {
		sw = cs_refuse(c, SW_WRONG_DATA, "PUT KEY: %zu bytes after the third key",
		    cpk_cursor_left(&cur));
		goto out;
	}
	if (k[0].len != k[1].len || k[0].len != k[2].len) {
		sw = cs_refuse(c, SW_WRONG_DATA, "PUT KEY: keys of different lengths");
		goto out;
	}
	same = cardsim_find_keyset(c, new_kvn);
	if (old_kvn == 0x00) {
		if (same != NULL) {
			sw = cs_refuse(c, SW_CONDITIONS, "PUT KEY: key set %02X already exists", new_kvn);
			goto out;
		}
		if (c->nkeysets >= CS_MAX_KEYSETS) {
			sw = cs_refuse(c, SW_NO_MEMORY, "PUT KEY: no room for another key set");
			goto out;
		}
		ks = &c->keysets[c->nkeysets++];
	} else {
		if ((ks = cardsim_find_keyset(c, old_kvn)) == NULL) {
			sw = cs_refuse(c, SW_NOT_FOUND, "PUT KEY: no key set %02X to replace", old_kvn);
			goto out;
		}
		if (same != NULL && same != ks) {
			sw = cs_refuse(c, SW_CONDITIONS, "PUT KEY: key set %02X already exists", new_kvn);
			goto out;
		}
	}
	scp_keyset_clear(&ks->keys);
	ks->keys.alg = scp_ops_find((uint8_t)c->id.scp)->key_alg;
	ks->keys.len = k[0].len;
	ks->keys.kvn = new_kvn;
	memcpy(ks->keys.enc, k[0].key, k[0].len);
	memcpy(ks->keys.mac, k[1].key, k[1].len);
	memcpy(ks->keys.dek, k[2].key, k[2].len);
	ks->counter = 0;
	c->dirty = true;
	sw = SW_INTERNAL;
	if (cpk_buf_append_byte(out, new_kvn, NULL) != CPK_OK)
		goto out;
	for (i = 0; i < 3; i++)
		if (cpk_buf_append(out, k[i].kcv, 3, NULL) != CPK_OK)
			goto out;
	sw = SW_OK;
out:
	cpk_cleanse(k, sizeof(k));
	return sw;
}
