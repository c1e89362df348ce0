/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk unit tests: the contexts gp_crypto keeps (compiler/gp_crypto.c).
 * Kept or not, every result is the known answer; the kept contexts are
 * bounded, reused for the same key and use, and dropped by
 * gp_crypto_forget, gp_crypto_release, keyref_clear of a memory key and
 * scp_session_clear; another thread keeps its own and frees them when it
 * ends (the leak checker sees any that stays).
 */
#include <pthread.h>
#include <string.h>

#include "gp_crypto.h"
#include "keyref.h"
#include "scp.h"
#include "testlib.h"

/* RFC 4493 (AES-128-CMAC) and SP 800-38A F.2.1 (AES-128-CBC): test keys only. */
static const uint8_t k128[16] = {
	0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6,
	0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c,
};
static const uint8_t m16[16] = {
	0x6b, 0xc1, 0xbe, 0xe2, 0x2e, 0x40, 0x9f, 0x96,
	0xe9, 0x3d, 0x7e, 0x11, 0x73, 0x93, 0x17, 0x2a,
};
static const uint8_t iv38a[16] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
	0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
};

static void
check_cmac(void)
{
	uint8_t mac[16];

	CHECK_OK(gp_aes_cmac(k128, 16, NULL, 0, mac, NULL));
	CHECK_HEX(mac, 16, "bb1d6929e95937287fa37d129b756746");
	CHECK_OK(gp_aes_cmac(k128, 16, m16, 16, mac, NULL));
	CHECK_HEX(mac, 16, "070a16b46b4d4144f79bdd9dd04a287c");
}

static void
check_cbc(void)
{
	uint8_t out[16], back[16], zero[16] = { 0 };

	CHECK_OK(gp_aes_cbc(1, k128, 16, iv38a, m16, 16, out, NULL));
	CHECK_HEX(out, 16, "7649abac8119b246cee98e9b12e9197d");
	CHECK_OK(gp_aes_cbc(0, k128, 16, iv38a, out, 16, back, NULL));
	CHECK_MEM(back, 16, m16, 16);
	/* Another IV under the kept context: the IV is set anew, not chained on. */
	CHECK_OK(gp_aes_cbc(1, k128, 16, zero, m16, 16, out, NULL));
	CHECK_HEX(out, 16, "3ad77bb40d7a3660a89ecaf32466ef97");
	CHECK_OK(gp_aes_ecb(1, k128, 16, m16, 16, out, NULL));
	CHECK_HEX(out, 16, "3ad77bb40d7a3660a89ecaf32466ef97");
	/* No IV is the zero IV, never the chaining value the last run left. */
	CHECK_OK(gp_aes_cbc(1, k128, 16, NULL, m16, 16, out, NULL));
	CHECK_HEX(out, 16, "3ad77bb40d7a3660a89ecaf32466ef97");
}

static void
test_kept(void)
{
	uint8_t keys[12][16], mac[16], first[12][16];
	size_t i;

	gp_crypto_release();
	CHECK(gp_crypto_kept() == 0);
	check_cmac();
	CHECK(gp_crypto_kept() == 1);
	check_cmac();	/* the same key and use: reused */
	CHECK(gp_crypto_kept() == 1);
	check_cbc();	/* CBC encrypt, CBC decrypt, ECB encrypt: one each */
	CHECK(gp_crypto_kept() == 4);
	check_cbc();
	check_cmac();
	CHECK(gp_crypto_kept() == 4);
	gp_crypto_forget(k128, 16);
	CHECK(gp_crypto_kept() == 0);
	check_cbc();
	/* More keys than slots: at most 8 kept, every answer the same as the first. */
	for (i = 0; i < 12; i++) {
		memset(keys[i], (int)i + 1, 16);
		CHECK_OK(gp_aes_cmac(keys[i], 16, m16, 16, first[i], NULL));
	}
	CHECK(gp_crypto_kept() == 8);
	for (i = 0; i < 24; i++) {
		CHECK_OK(gp_aes_cmac(keys[(i * 5) % 12], 16, m16, 16, mac, NULL));
		CHECK_MEM(mac, 16, first[(i * 5) % 12], 16);
	}
	check_cmac();
	check_cbc();
	gp_crypto_release();
	CHECK(gp_crypto_kept() == 0);
	check_cmac();
	gp_crypto_release();
}

static void
test_des(void)
{
	static const uint8_t k2[16] = {
		0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
		0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10,
	};
	static const uint8_t icv[8] = { 0 };
	uint8_t a[8], b[8], c[16], d[16];
	int i;

	/* The retail MAC and 3DES again and again: the same answers kept or not. */
	CHECK_OK(gp_retail_mac(k2, icv, m16, 16, a, NULL));
	CHECK_OK(gp_des3_cbc(1, k2, 16, icv, m16, 16, c, NULL));
	for (i = 0; i < 3; i++) {
		CHECK_OK(gp_retail_mac(k2, icv, m16, 16, b, NULL));
		CHECK_MEM(b, 8, a, 8);
		CHECK_OK(gp_des3_cbc(1, k2, 16, icv, m16, 16, d, NULL));
		CHECK_MEM(d, 16, c, 16);
		CHECK_OK(gp_des3_cbc(0, k2, 16, icv, c, 16, d, NULL));
		CHECK_MEM(d, 16, m16, 16);
	}
	gp_crypto_release();
	CHECK_OK(gp_retail_mac(k2, icv, m16, 16, b, NULL));
	CHECK_MEM(b, 8, a, 8);
	/* A wrong key length is refused before anything is kept. */
	gp_crypto_release();
	CHECK_STATUS(gp_des3_cbc(1, k2, 8, icv, m16, 16, d, NULL), CPK_ERR_ARG);
	CHECK_STATUS(gp_aes_cmac(k2, 8, m16, 16, c, NULL), CPK_ERR_ARG);
	CHECK(gp_crypto_kept() == 0);
}

static void
test_clear(void)
{
	struct scp_session s;
	struct keyref k;
	uint8_t mac[16];

	/* keyref_clear of a memory key drops what was kept for it. */
	gp_crypto_release();
	keyref_mem(&k, GP_KEY_AES, k128, 16);
	CHECK_OK(k.ops->cmac(&k, m16, 16, mac, NULL));
	CHECK_HEX(mac, 16, "070a16b46b4d4144f79bdd9dd04a287c");
	CHECK(gp_crypto_kept() == 1);
	keyref_clear(&k);
	CHECK(gp_crypto_kept() == 0);
	/* scp_session_clear drops every context the thread kept. */
	check_cbc();
	CHECK(gp_crypto_kept() > 0);
	memset(&s, 0, sizeof(s));
	scp_session_clear(&s);
	CHECK(gp_crypto_kept() == 0);
}

static void *
worker(void *arg)
{
	size_t *fails = arg;
	uint8_t mac[16];
	int i;

	for (i = 0; i < 50; i++)
		if (gp_aes_cmac(k128, 16, m16, 16, mac, NULL) != CPK_OK ||
		    memcmp(mac, "\x07\x0a\x16\xb4\x6b\x4d\x41\x44\xf7\x9b\xdd\x9d\xd0\x4a\x28\x7c",
		    16) != 0)
			(*fails)++;
	if (gp_crypto_kept() != 1)
		(*fails)++;
	return NULL;	/* the thread's kept context is freed as it ends */
}

static void
test_threads(void)
{
	pthread_t t[2];
	size_t fails[2] = { 0, 0 };
	int i;

	gp_crypto_release();
	for (i = 0; i < 2; i++)
		CHECK(pthread_create(&t[i], NULL, worker, &fails[i]) == 0);
	for (i = 0; i < 2; i++)
		CHECK(pthread_join(t[i], NULL) == 0);
	CHECK(fails[0] == 0 && fails[1] == 0);
	CHECK(gp_crypto_kept() == 0);	/* each thread keeps its own */
}

int
main(void)
{
	test_kept();
	test_des();
	test_clear();
	test_threads();
	check_cmac();	/* kept at exit: freed by the exit handler */
	return test_summary("gp-crypto-keep");
}
