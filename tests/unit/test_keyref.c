/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk unit tests: key references (compiler/keyref.c, memory back end) and
 * keyset_card_refs: the same results as the byte functions they replace
 * in cardc's host side, and every refusal with its message. The token back
 * end is the hsm suite's (tests/hsm).
 */
#include <string.h>

#include "keyref.h"
#include "keyset.h"
#include "testlib.h"

static const uint8_t kdd[10] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 };

static void
test_memory(void)
{
	uint8_t key[16], block[16], a[16], b[16], iv[16] = { 0 };
	struct keyref k, d;
	struct cpk_error err;
	size_t i;

	for (i = 0; i < 16; i++)
		key[i] = block[i] = (uint8_t)(0x40 + i);
	keyref_mem(&k, GP_KEY_AES, key, 16);
	CHECK(keyref_in_memory(&k));
	CHECK_OK(k.ops->ecb(&k, 1, block, 16, a, &err));
	CHECK_OK(gp_aes_ecb(1, key, 16, block, 16, b, &err));
	CHECK_MEM(a, 16, b, 16);
	CHECK_OK(k.ops->cbc(&k, 1, iv, block, 16, a, &err));
	CHECK_OK(gp_aes_cbc(1, key, 16, iv, block, 16, b, &err));
	CHECK_MEM(a, 16, b, 16);
	CHECK_OK(k.ops->cmac(&k, block, 16, a, &err));
	CHECK_OK(gp_aes_cmac(key, 16, block, 16, b, &err));
	CHECK_MEM(a, 16, b, 16);
	/* derive = ECB (or CBC with an IV) of the data, a key of the same kind. */
	CHECK_OK(k.ops->derive(&k, NULL, block, 16, &d, &err));
	CHECK_OK(gp_aes_ecb(1, key, 16, block, 16, b, &err));
	CHECK(d.alg == GP_KEY_AES && d.len == 16 && keyref_in_memory(&d));
	CHECK_MEM(d.value, 16, b, 16);
	keyref_clear(&d);
	CHECK(d.ops == NULL && d.len == 0);
	CHECK_STATUS(k.ops->derive(&k, NULL, block, 8, &d, &err), CPK_ERR_ARG);
	CHECK_MSG(&err, "derivation data of 8 bytes for a 16-byte key");
	/* The SCP03 KDF over a reference equals gp_scp03_kdf. */
	CHECK_OK(keyref_scp03_kdf(&k, 0x04, 128, kdd, sizeof(kdd), a, &err));
	CHECK_OK(gp_scp03_kdf(key, 16, 0x04, 128, kdd, sizeof(kdd), b, &err));
	CHECK_MEM(a, 16, b, 16);
	/* A borrowed copy owns nothing; clearing it leaves the original. */
	keyref_borrow(&d, &k);
	keyref_clear(&d);
	CHECK_MEM(k.value, 16, key, 16);
	keyref_clear(&k);
	keyref_clear(NULL);
	keyref_mem(&k, GP_KEY_3DES, key, 16);
	CHECK_STATUS(k.ops->cmac(&k, block, 16, a, &err), CPK_ERR_ARG);
	CHECK_MSG(&err, "AES-CMAC needs an AES key");
	keyref_clear(&k);
}

static void
test_diversify(void)
{
	static const enum gp_key_type types[3] = { GP_KEY_ENC, GP_KEY_MAC, GP_KEY_DEK };
	static const enum gp_diversification schemes[3] = { GP_DIV_EMV, GP_DIV_VISA2, GP_DIV_KDF3 };
	uint8_t master[32], want[32];
	struct keyref m, card;
	struct cpk_error err;
	size_t i, j, len;

	for (i = 0; i < 32; i++)
		master[i] = (uint8_t)(0x40 + i);
	for (i = 0; i < 3; i++) {
		for (j = 0; j < 3; j++) {
			len = schemes[i] == GP_DIV_KDF3 && j == 2 ? 32 : 16;
			keyref_mem(&m, schemes[i] == GP_DIV_KDF3 ? GP_KEY_AES : GP_KEY_3DES, master,
			    len);
			CHECK_OK(keyref_diversify(&m, schemes[i], kdd, types[j], &card, &err));
			CHECK_OK(gp_diversify_key(schemes[i], master, len, kdd, types[j], want, &err));
			CHECK_MEM(card.value, card.len, want, len);
			keyref_clear(&card);
			keyref_clear(&m);
		}
	}
	keyref_mem(&m, GP_KEY_AES, master, 16);
	CHECK_OK(keyref_diversify(&m, GP_DIV_NONE, kdd, GP_KEY_ENC, &card, &err));
	CHECK_MEM(card.value, card.len, master, 16);
	CHECK_STATUS(keyref_diversify(&m, GP_DIV_EMV, kdd, GP_KEY_ENC, &card, &err), CPK_ERR_ARG);
	CHECK_MSG(&err, "emv diversification needs a 16-byte 3DES master key");
	CHECK_STATUS(keyref_diversify(&m, (enum gp_diversification)9, kdd, GP_KEY_ENC, &card,
	    &err), CPK_ERR_ARG);
	CHECK_MSG(&err, "unknown diversification scheme 9");
	keyref_clear(&m);
	keyref_mem(&m, GP_KEY_3DES, master, 24);
	CHECK_STATUS(keyref_diversify(&m, GP_DIV_VISA2, kdd, GP_KEY_ENC, &card, &err), CPK_ERR_ARG);
	CHECK_MSG(&err, "visa2 diversification needs a 16-byte 3DES master key");
	CHECK_STATUS(keyref_diversify(&m, GP_DIV_KDF3, kdd, GP_KEY_ENC, &card, &err), CPK_ERR_ARG);
	CHECK_MSG(&err, "kdf3 diversification needs an AES master key");
	keyref_clear(&m);
}

static void
test_card_refs(void)
{
	static const char master_set[] = "kvn: \"30\"\nalgorithm: aes\n"
	    "master: 404142434445464748494A4B4C4D4E4F\ndiversification: kdf3\n";
	static const char static_set[] = "kvn: \"30\"\nalgorithm: aes\n"
	    "enc: 404142434445464748494A4B4C4D4E4F\nmac: 505152535455565758595A5B5C5D5E5F\n"
	    "dek: 606162636465666768696A6B6C6D6E6F\n";
	static const char token_set[] = "kvn: \"30\"\nalgorithm: aes\n"
	    "master: \"pkcs11:token=t;object=m\"\ndiversification: kdf3\n";
	struct keyset *ks = NULL;
	struct scp_keyset bytes;
	struct scp_keys refs;
	struct cpk_error err;

	CHECK_OK(keyset_parse("m.yaml", (const uint8_t *)master_set, strlen(master_set), &ks,
	    &err));
	CHECK(!ks->in_token);
	CHECK_OK(keyset_card_refs(ks, GP_DIV_KDF3, kdd, &refs, &err));
	CHECK_OK(keyset_card_keys(ks, GP_DIV_KDF3, kdd, &bytes, &err));
	CHECK(refs.alg == GP_KEY_AES && refs.len == 16 && refs.kvn == 0x30);
	CHECK_MEM(refs.enc.value, 16, bytes.enc, 16);
	CHECK_MEM(refs.mac.value, 16, bytes.mac, 16);
	CHECK_MEM(refs.dek.value, 16, bytes.dek, 16);
	scp_keys_clear(&refs);
	scp_keyset_clear(&bytes);
	CHECK_STATUS(keyset_card_refs(ks, GP_DIV_NONE, kdd, &refs, &err), CPK_ERR_ARG);
	CHECK_MSG(&err, "master keys of 'm.yaml' need a diversification");
	keyset_free(&ks);
	CHECK_OK(keyset_parse("s.yaml", (const uint8_t *)static_set, strlen(static_set), &ks,
	    &err));
	CHECK_OK(keyset_card_refs(ks, GP_DIV_NONE, kdd, &refs, &err));
	CHECK_MEM(refs.mac.value, 16, ks->keys.mac, 16);
	CHECK(!refs.mac.temporary);
	scp_keys_clear(&refs);
	CHECK_STATUS(keyset_card_refs(ks, GP_DIV_EMV, kdd, &refs, &err), CPK_ERR_ARG);
	CHECK_MSG(&err, "static keys of 's.yaml' cannot be diversified");
	keyset_free(&ks);
	/* A URI without a configured module: refused, naming the place and the way out. */
	CHECK_STATUS(keyset_parse("t.yaml", (const uint8_t *)token_set, strlen(token_set), &ks,
	    &err), CPK_ERR_ARG);
	CHECK_MSG(&err, "t.yaml:3:9: 'master'");
	CHECK_MSG(&err, "no PKCS#11 module is configured: give --pkcs11-module");
	CHECK(ks == NULL);
}

int
main(void)
{
	test_memory();
	test_diversify();
	test_card_refs();
	return test_summary("keyref");
}
