/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: symmetric cryptography for GlobalPlatform secure channels.
 * The only file that uses OpenSSL's cipher and MAC interfaces.
 */
#include "gp_crypto.h"

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

static cpk_status
ssl_error(struct cpk_error *err, const char *what)
{
	unsigned long code = ERR_get_error();
	char reason[160];

	ERR_clear_error();
	if (code != 0)
		ERR_error_string_n(code, reason, sizeof(reason));
	else
		snprintf(reason, sizeof(reason), "no detail");
	if (err != NULL)
		err->ssl = code;
	return cpk_error_set(err, CPK_ERR_CRYPTO, "%s failed (%s)", what, reason);
}

int
gp_key_len_valid(enum gp_key_alg alg, size_t len)
{
	switch (alg) {
	case GP_KEY_AES:
		return len == 16 || len == 24 || len == 32;
	case GP_KEY_3DES:
		return len == 16 || len == 24;
	}
	return 0;
}

/*
 * The algorithms, fetched once per process (EVP_aes_128_cbc() and the like
 * are looked up in the provider again on every initialisation).
 */
enum alg_id {
	ALG_AES128_ECB, ALG_AES192_ECB, ALG_AES256_ECB,
	ALG_AES128_CBC, ALG_AES192_CBC, ALG_AES256_CBC,
	ALG_DES_EDE_ECB, ALG_DES_EDE3_ECB, ALG_DES_EDE_CBC, ALG_DES_EDE3_CBC,
	ALG_AES256_GCM,
	ALG_COUNT
};

static const char *const alg_names[ALG_COUNT] = {
	"AES-128-ECB", "AES-192-ECB", "AES-256-ECB",
	"AES-128-CBC", "AES-192-CBC", "AES-256-CBC",
	"DES-EDE-ECB", "DES-EDE3-ECB", "DES-EDE-CBC", "DES-EDE3-CBC",
	"AES-256-GCM",
};

static EVP_CIPHER *algs[ALG_COUNT];
static EVP_MAC *cmac_alg;
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;
static pthread_key_t cache_key;
static bool cache_key_ok;

/*
 * Key schedules kept for reuse (gp_crypto.h): a few per thread, each with
 * a copy of its key (to find it again) and an initialised OpenSSL context.
 * A slot is dropped (context freed, key bytes cleansed) by gp_crypto_forget
 * and gp_crypto_release, when the least recently used one makes room, and
 * when its thread or the process ends.
 */
#define CACHE_SLOTS 8

enum slot_kind {
	SLOT_FREE = 0,
	SLOT_CIPHER,		/* cctx: alg keyed for direction enc */
	SLOT_CMAC,		/* mctx: AES-CMAC, alg names the key length */
};

struct slot {
	enum slot_kind kind;
	enum alg_id alg;
	int enc;
	size_t keylen;
	uint8_t key[GP_MAX_KEY];
	EVP_CIPHER_CTX *cctx;
	EVP_MAC_CTX *mctx;
	unsigned long used;
};

struct cache {
	struct slot slot[CACHE_SLOTS];
	unsigned long tick;
};

static _Thread_local struct cache *thread_cache;

static void
slot_drop(struct slot *sl)
{
	EVP_CIPHER_CTX_free(sl->cctx);	/* OpenSSL cleanses the key schedule */
	EVP_MAC_CTX_free(sl->mctx);
	cpk_cleanse(sl, sizeof(*sl));
}

static void
cache_free(void *p)
{
	struct cache *c = p;
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < CACHE_SLOTS; i++)
		slot_drop(&c->slot[i]);
	free(c);
}

/* The thread's end (the key's destructor): its cache, and no pointer to it left. */
static void
cache_thread_end(void *p)
{
	thread_cache = NULL;
	cache_free(p);
}

void
gp_crypto_release(void)
{
	struct cache *c = thread_cache;

	if (c == NULL)
		return;
	thread_cache = NULL;
	if (cache_key_ok)
		(void)pthread_setspecific(cache_key, NULL);
	cache_free(c);
}

void
gp_crypto_forget(const uint8_t *key, size_t keylen)
{
	struct cache *c = thread_cache;
	size_t i;

	if (c == NULL || key == NULL)
		return;
	for (i = 0; i < CACHE_SLOTS; i++)
		if (c->slot[i].kind != SLOT_FREE && c->slot[i].keylen == keylen &&
		    CRYPTO_memcmp(c->slot[i].key, key, keylen) == 0)
			slot_drop(&c->slot[i]);
}

size_t
gp_crypto_kept(void)
{
	struct cache *c = thread_cache;
	size_t i, n = 0;

	for (i = 0; c != NULL && i < CACHE_SLOTS; i++)
		n += c->slot[i].kind != SLOT_FREE;
	return n;
}

/*
 * At exit, before OpenSSL's own clean-up (registered earlier, so run
 * later): the exiting thread's key schedules, then the algorithms.
 */
static void
release_at_exit(void)
{
	size_t i;

	gp_crypto_release();
	for (i = 0; i < ALG_COUNT; i++) {
		EVP_CIPHER_free(algs[i]);
		algs[i] = NULL;
	}
	EVP_MAC_free(cmac_alg);
	cmac_alg = NULL;
}

static void
fetch_all(void)
{
	size_t i;

	for (i = 0; i < ALG_COUNT; i++)
		algs[i] = EVP_CIPHER_fetch(NULL, alg_names[i], NULL);
	cmac_alg = EVP_MAC_fetch(NULL, "CMAC", NULL);
	ERR_clear_error();	/* a missing algorithm is reported where it is used */
	cache_key_ok = pthread_key_create(&cache_key, cache_thread_end) == 0;
	(void)atexit(release_at_exit);
}

static const EVP_CIPHER *
alg_get(enum alg_id id)
{
	(void)pthread_once(&fetch_once, fetch_all);
	return algs[id];
}

static struct cache *
cache_get(void)
{
	struct cache *c = thread_cache;

	if (c != NULL)
		return c;
	if (!cache_key_ok || (c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if (pthread_setspecific(cache_key, c) != 0) {
		free(c);
		return NULL;
	}
	thread_cache = c;
	return c;
}

/*
 * The slot of this key for this use (*hit), or an empty slot to fill (the
 * least recently used one, dropped); NULL without a cache (out of memory:
 * the caller then uses a context of its own).
 */
static struct slot *
slot_find(enum slot_kind kind, enum alg_id alg, int enc, const uint8_t *key, size_t keylen,
    bool *hit)
{
	struct cache *c = cache_get();
	struct slot *lru = NULL, *sl;
	size_t i;

	*hit = false;
	if (c == NULL || keylen > GP_MAX_KEY)
		return NULL;
	c->tick++;
	for (i = 0; i < CACHE_SLOTS; i++) {
		sl = &c->slot[i];
		if (sl->kind == kind && sl->alg == alg && sl->enc == enc && sl->keylen == keylen &&
		    CRYPTO_memcmp(sl->key, key, keylen) == 0) {
			sl->used = c->tick;
			*hit = true;
			return sl;
		}
		if (lru == NULL || (lru->kind != SLOT_FREE &&
		    (sl->kind == SLOT_FREE || sl->used < lru->used)))
			lru = sl;
	}
	slot_drop(lru);
	lru->used = c->tick;
	return lru;
}

/* Keep a new context in the slot slot_find gave (or hand it to the caller without one). */
static void
slot_fill(struct slot *sl, enum slot_kind kind, enum alg_id alg, int enc, const uint8_t *key,
    size_t keylen, EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *mctx)
{
	sl->kind = kind;
	sl->alg = alg;
	sl->enc = enc;
	sl->keylen = keylen;
	memcpy(sl->key, key, keylen);
	sl->cctx = cctx;
	sl->mctx = mctx;
}

static enum alg_id
aes_alg(size_t keylen, int cbc)
{
	switch (keylen) {
	case 16:
		return cbc ? ALG_AES128_CBC : ALG_AES128_ECB;
	case 24:
		return cbc ? ALG_AES192_CBC : ALG_AES192_ECB;
	case 32:
		return cbc ? ALG_AES256_CBC : ALG_AES256_ECB;
	}
	return ALG_COUNT;
}

static enum alg_id
des3_alg(size_t keylen, int cbc)
{
	switch (keylen) {
	case 16:
		return cbc ? ALG_DES_EDE_CBC : ALG_DES_EDE_ECB;
	case 24:
		return cbc ? ALG_DES_EDE3_CBC : ALG_DES_EDE3_ECB;
	}
	return ALG_COUNT;
}

/*
 * A context of alg keyed with key for this direction, IV set: a kept one
 * (its key schedule reused), or a new one, kept if there is room; *owned
 * is set when the caller must free it.
 */
static cpk_status
cipher_ctx(enum alg_id alg, int encrypt, const uint8_t *key, size_t keylen, const uint8_t *iv,
    EVP_CIPHER_CTX **out, EVP_CIPHER_CTX **owned, struct cpk_error *err)
{
	const EVP_CIPHER *cipher = alg_get(alg);
	struct slot *sl;
	EVP_CIPHER_CTX *ctx;
	bool hit;

	*out = *owned = NULL;
	if (cipher == NULL)
		return ssl_error(err, alg_names[alg]);
	sl = slot_find(SLOT_CIPHER, alg, encrypt, key, keylen, &hit);
	if (hit) {
		/*
		 * Padding stays off and every run ends on a block boundary: ECB has
		 * no state left to reset, CBC only its IV (the key schedule stays).
		 */
		if (iv != NULL && EVP_CipherInit_ex2(sl->cctx, NULL, NULL, iv, encrypt, NULL) != 1)
			return ssl_error(err, "cipher initialisation");
		*out = sl->cctx;
		return CPK_OK;
	}
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return ssl_error(err, "EVP_CIPHER_CTX_new");
	if (EVP_CipherInit_ex2(ctx, cipher, key, iv, encrypt, NULL) != 1 ||
	    EVP_CIPHER_CTX_set_padding(ctx, 0) != 1) {
		EVP_CIPHER_CTX_free(ctx);
		return ssl_error(err, "cipher initialisation");
	}
	if (sl != NULL)
		slot_fill(sl, SLOT_CIPHER, alg, encrypt, key, keylen, ctx, NULL);
	else
		*owned = ctx;
	*out = ctx;
	return CPK_OK;
}

static const uint8_t zero_iv[GP_AES_BLOCK];

/* Run a block cipher without padding over whole blocks. */
static cpk_status
cipher_run(enum alg_id alg, int encrypt, const uint8_t *key, size_t keylen, const uint8_t *iv,
    const uint8_t *in, size_t n, uint8_t *out, struct cpk_error *err)
{
	EVP_CIPHER_CTX *ctx = NULL, *owned = NULL;
	size_t block;
	int outl = 0, finl = 0;
	cpk_status ret = CPK_ERR_CRYPTO;

	if (alg == ALG_COUNT) {
		ret = cpk_error_set(err, CPK_ERR_ARG, "invalid key length for cipher");
		goto out;
	}
	block = alg <= ALG_AES256_CBC ? GP_AES_BLOCK : GP_DES_BLOCK;
	if (n > INT_MAX || n % block != 0) {
		ret = cpk_error_set(err, CPK_ERR_ARG,
		    "cipher input of %zu bytes is not a whole number of %zu-byte blocks",
		    n, block);
		goto out;
	}
	if (n == 0) {
		ret = CPK_OK;
		goto out;
	}
	if (iv == NULL && (alg == ALG_AES128_CBC || alg == ALG_AES192_CBC ||
	    alg == ALG_AES256_CBC || alg == ALG_DES_EDE_CBC || alg == ALG_DES_EDE3_CBC))
		iv = zero_iv;	/* CBC without an IV: zeros, never the last run's chaining */
	if ((ret = cipher_ctx(alg, encrypt ? 1 : 0, key, keylen, iv, &ctx, &owned, err)) != CPK_OK)
		goto out;
	if (EVP_CipherUpdate(ctx, out, &outl, in, (int)n) != 1 ||
	    EVP_CipherFinal_ex(ctx, out + outl, &finl) != 1 ||
	    (size_t)outl + (size_t)finl != n) {
		ret = ssl_error(err, "cipher operation");
		goto out;
	}
	ret = CPK_OK;
out:
	EVP_CIPHER_CTX_free(owned);
	return ret;
}

cpk_status
gp_aes_ecb(int encrypt, const uint8_t *key, size_t keylen, const uint8_t *in, size_t n,
    uint8_t *out, struct cpk_error *err)
{
	return cipher_run(aes_alg(keylen, 0), encrypt, key, keylen, NULL, in, n, out, err);
}

cpk_status
gp_aes_cbc(int encrypt, const uint8_t *key, size_t keylen, const uint8_t iv[GP_AES_BLOCK],
    const uint8_t *in, size_t n, uint8_t *out, struct cpk_error *err)
{
	return cipher_run(aes_alg(keylen, 1), encrypt, key, keylen, iv, in, n, out, err);
}

cpk_status
gp_des3_ecb(int encrypt, const uint8_t *key, size_t keylen, const uint8_t *in, size_t n,
    uint8_t *out, struct cpk_error *err)
{
	return cipher_run(des3_alg(keylen, 0), encrypt, key, keylen, NULL, in, n, out, err);
}

cpk_status
gp_des3_cbc(int encrypt, const uint8_t *key, size_t keylen, const uint8_t iv[GP_DES_BLOCK],
    const uint8_t *in, size_t n, uint8_t *out, struct cpk_error *err)
{
	return cipher_run(des3_alg(keylen, 1), encrypt, key, keylen, iv, in, n, out, err);
}

/*
 * Single DES is only in OpenSSL 3's legacy provider; 3DES with K1 = K2 = K3
 * computes exactly single DES and needs only the default provider.
 */
static void
des_as_des3_key(const uint8_t key[8], uint8_t k3[24])
{
	memcpy(k3, key, 8);
	memcpy(k3 + 8, key, 8);
	memcpy(k3 + 16, key, 8);
}

cpk_status
gp_des_ecb_block(const uint8_t key[8], const uint8_t in[GP_DES_BLOCK],
    uint8_t out[GP_DES_BLOCK], struct cpk_error *err)
{
	uint8_t k3[24];
	cpk_status ret;

	des_as_des3_key(key, k3);
	ret = cipher_run(ALG_DES_EDE3_ECB, 1, k3, sizeof(k3), NULL, in, GP_DES_BLOCK, out, err);
	cpk_cleanse(k3, sizeof(k3));
	return ret;
}

cpk_status
gp_pad80(struct cpk_buf *out, const uint8_t *msg, size_t n, size_t block,
    struct cpk_error *err)
{
	size_t pad;
	cpk_status st;

	if (block == 0)
		return cpk_error_set(err, CPK_ERR_ARG, "padding block size 0");
	pad = block - (n % block);
	if ((st = cpk_buf_reserve(out, n + pad, err)) != CPK_OK)
		return st;
	if (n > 0)
		memcpy(out->data + out->len, msg, n);
	out->data[out->len + n] = 0x80;
	memset(out->data + out->len + n + 1, 0, pad - 1);
	out->len += n + pad;
	return CPK_OK;
}

cpk_status
gp_unpad80(const uint8_t *p, size_t n, size_t block, size_t *plain_len,
    struct cpk_error *err)
{
	size_t i;

	*plain_len = 0;
	if (n == 0 || block == 0 || n % block != 0)
		return cpk_error_set(err, CPK_ERR_VERIFY,
		    "padded data of %zu bytes is not a whole number of blocks", n);
	/* Padding is at most one block: 80 followed by up to block-1 zeros. */
	for (i = n; i > 0 && n - i < block; i--) {
		if (p[i - 1] == 0x80) {
			*plain_len = i - 1;
			return CPK_OK;
		}
		if (p[i - 1] != 0x00)
			break;
	}
	return cpk_error_set(err, CPK_ERR_VERIFY, "padding 80 00.. missing or malformed");
}

cpk_status
gp_retail_mac(const uint8_t key[16], const uint8_t icv[GP_DES_BLOCK], const uint8_t *msg,
    size_t n, uint8_t mac[GP_DES_BLOCK], struct cpk_error *err)
{
	struct cpk_buf padded = CPK_BUF_INIT, cbc = CPK_BUF_INIT;
	uint8_t k1[24], h[GP_DES_BLOCK], x[GP_DES_BLOCK];
	size_t blocks, i;
	cpk_status ret;

	memcpy(h, icv, GP_DES_BLOCK);
	des_as_des3_key(key, k1);
	if ((ret = gp_pad80(&padded, msg, n, GP_DES_BLOCK, err)) != CPK_OK)
		goto out;
	blocks = padded.len / GP_DES_BLOCK;
	if (blocks > 1) {
		size_t head = (blocks - 1) * GP_DES_BLOCK;

		if ((ret = cpk_buf_reserve(&cbc, head, err)) != CPK_OK)
			goto out;
		ret = cipher_run(ALG_DES_EDE3_CBC, 1, k1, sizeof(k1), icv, padded.data, head,
		    cbc.data, err);
		if (ret != CPK_OK)
			goto out;
		memcpy(h, cbc.data + head - GP_DES_BLOCK, GP_DES_BLOCK);
	}
	for (i = 0; i < GP_DES_BLOCK; i++)
		x[i] = h[i] ^ padded.data[padded.len - GP_DES_BLOCK + i];
	ret = gp_des3_ecb(1, key, 16, x, GP_DES_BLOCK, mac, err);
out:
	cpk_cleanse(k1, sizeof(k1));
	cpk_cleanse(h, sizeof(h));
	cpk_cleanse(x, sizeof(x));
	cpk_buf_free(&padded);
	cpk_buf_free(&cbc);
	return ret;
}

cpk_status
gp_des3_cbc_mac(const uint8_t key[16], const uint8_t icv[GP_DES_BLOCK], const uint8_t *msg,
    size_t n, uint8_t mac[GP_DES_BLOCK], struct cpk_error *err)
{
	struct cpk_buf padded = CPK_BUF_INIT;
	cpk_status ret;

	if ((ret = gp_pad80(&padded, msg, n, GP_DES_BLOCK, err)) != CPK_OK)
		goto out;
	ret = gp_des3_cbc(1, key, 16, icv, padded.data, padded.len, padded.data, err);
	if (ret != CPK_OK)
		goto out;
	memcpy(mac, padded.data + padded.len - GP_DES_BLOCK, GP_DES_BLOCK);
out:
	cpk_buf_free(&padded);
	return ret;
}

/* An AES-CMAC context keyed with key, reset: a kept one, or a new one (as cipher_ctx). */
static cpk_status
cmac_ctx(const uint8_t *key, size_t keylen, EVP_MAC_CTX **out, EVP_MAC_CTX **owned,
    struct cpk_error *err)
{
	enum alg_id alg = aes_alg(keylen, 1);
	OSSL_PARAM params[2];
	struct slot *sl;
	EVP_MAC_CTX *ctx;
	bool hit;

	*out = *owned = NULL;
	if (alg_get(alg) == NULL || cmac_alg == NULL)
		return ssl_error(err, "CMAC set-up");
	sl = slot_find(SLOT_CMAC, alg, 1, key, keylen, &hit);
	if (hit) {
		/* A NULL key restarts the MAC with the key schedule it has. */
		if (EVP_MAC_init(sl->mctx, NULL, 0, NULL) != 1)
			return ssl_error(err, "AES-CMAC");
		*out = sl->mctx;
		return CPK_OK;
	}
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER,
	    (char *)alg_names[alg], 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((ctx = EVP_MAC_CTX_new(cmac_alg)) == NULL)
		return ssl_error(err, "CMAC set-up");
	if (EVP_MAC_init(ctx, key, keylen, params) != 1) {
		EVP_MAC_CTX_free(ctx);
		return ssl_error(err, "AES-CMAC");
	}
	if (sl != NULL)
		slot_fill(sl, SLOT_CMAC, alg, 1, key, keylen, NULL, ctx);
	else
		*owned = ctx;
	*out = ctx;
	return CPK_OK;
}

cpk_status
gp_aes_cmac(const uint8_t *key, size_t keylen, const uint8_t *msg, size_t n,
    uint8_t mac[GP_AES_BLOCK], struct cpk_error *err)
{
	EVP_MAC_CTX *ctx = NULL, *owned = NULL;
	size_t outl = 0;
	cpk_status ret;

	if (aes_alg(keylen, 1) == ALG_COUNT)
		return cpk_error_set(err, CPK_ERR_ARG, "AES key of %zu bytes", keylen);
	if ((ret = cmac_ctx(key, keylen, &ctx, &owned, err)) != CPK_OK)
		goto out;
	if ((n > 0 && EVP_MAC_update(ctx, msg, n) != 1) ||
	    EVP_MAC_final(ctx, mac, &outl, GP_AES_BLOCK) != 1 || outl != GP_AES_BLOCK) {
		ret = ssl_error(err, "AES-CMAC");
		goto out;
	}
	ret = CPK_OK;
out:
	EVP_MAC_CTX_free(owned);
	return ret;
}

cpk_status
gp_kcv(enum gp_key_alg alg, const uint8_t *key, size_t keylen, uint8_t kcv[3],
    struct cpk_error *err)
{
	uint8_t block[GP_AES_BLOCK];
	cpk_status ret;

	if (!gp_key_len_valid(alg, keylen))
		return cpk_error_set(err, CPK_ERR_ARG, "key of %zu bytes for check value", keylen);
	if (alg == GP_KEY_AES) {
		memset(block, 0x01, sizeof(block));
		ret = gp_aes_ecb(1, key, keylen, block, GP_AES_BLOCK, block, err);
	} else {
		memset(block, 0x00, sizeof(block));
		ret = gp_des3_ecb(1, key, keylen, block, GP_DES_BLOCK, block, err);
	}
	if (ret == CPK_OK)
		memcpy(kcv, block, 3);
	cpk_cleanse(block, sizeof(block));
	return ret;
}

cpk_status
gp_random(uint8_t *out, size_t n, struct cpk_error *err)
{
	if (n > INT_MAX)
		return cpk_error_set(err, CPK_ERR_ARG, "random request too large");
	if (n > 0 && RAND_priv_bytes(out, (int)n) != 1)
		return ssl_error(err, "random number generation");
	return CPK_OK;
}

/* Largest context the KDF accepts (host+card challenge, counter+AID, KDD). */
#define KDF_MAX_CONTEXT 64

cpk_status
gp_scp03_kdf_input(uint8_t constant, uint16_t l_bits, uint8_t counter,
    const uint8_t *context, size_t ctxlen, struct cpk_buf *out, struct cpk_error *err)
{
	uint8_t head[16];
	cpk_status st;

	if (ctxlen > KDF_MAX_CONTEXT)
		return cpk_error_set(err, CPK_ERR_ARG, "KDF context of %zu bytes", ctxlen);
	memset(head, 0, 11);
	head[11] = constant;
	head[12] = 0x00;
	cpk_put_u16be(head + 13, l_bits);
	head[15] = counter;
	if ((st = cpk_buf_append(out, head, sizeof(head), err)) != CPK_OK)
		return st;
	return cpk_buf_append(out, context, ctxlen, err);
}

/* gp_prf_fn over key bytes. */
struct bytes_key {
	const uint8_t *key;
	size_t len;
};

static cpk_status
bytes_cmac(const void *k, const uint8_t *msg, size_t n, uint8_t mac[GP_AES_BLOCK],
    struct cpk_error *err)
{
	const struct bytes_key *b = k;

	return gp_aes_cmac(b->key, b->len, msg, n, mac, err);
}

cpk_status
gp_scp03_kdf_prf(gp_prf_fn prf, const void *key, uint8_t constant, uint16_t l_bits,
    const uint8_t *context, size_t ctxlen, uint8_t *out, struct cpk_error *err)
{
	struct cpk_buf input = CPK_BUF_INIT;
	uint8_t block[GP_AES_BLOCK];
	size_t want, done = 0, take;
	uint8_t i;
	cpk_status ret = CPK_ERR_ARG;

	if (l_bits == 0 || l_bits % 8 != 0 || l_bits > 512) {
		ret = cpk_error_set(err, CPK_ERR_ARG, "KDF output of %u bits", l_bits);
		goto out;
	}
	want = l_bits / 8;
	for (i = 1; done < want; i++) {
		cpk_buf_reset(&input);
		ret = gp_scp03_kdf_input(constant, l_bits, i, context, ctxlen, &input, err);
		if (ret != CPK_OK)
			goto out;
		if ((ret = prf(key, input.data, input.len, block, err)) != CPK_OK)
			goto out;
		take = want - done < GP_AES_BLOCK ? want - done : GP_AES_BLOCK;
		memcpy(out + done, block, take);
		done += take;
	}
	ret = CPK_OK;
out:
	cpk_cleanse(block, sizeof(block));
	cpk_buf_free(&input);
	return ret;
}

cpk_status
gp_scp03_kdf(const uint8_t *key, size_t keylen, uint8_t constant, uint16_t l_bits,
    const uint8_t *context, size_t ctxlen, uint8_t *out, struct cpk_error *err)
{
	struct bytes_key b = { key, keylen };

	return gp_scp03_kdf_prf(bytes_cmac, &b, constant, l_bits, context, ctxlen, out, err);
}

static const char *const div_names[] = {
	[GP_DIV_NONE] = "none",
	[GP_DIV_EMV] = "emv",
	[GP_DIV_VISA2] = "visa2",
	[GP_DIV_KDF3] = "kdf3",
};

const char *
gp_diversification_name(enum gp_diversification scheme)
{
	if ((unsigned)scheme >= sizeof(div_names) / sizeof(div_names[0]))
		return "unknown";
	return div_names[scheme];
}

cpk_status
gp_diversification_parse(const char *name, enum gp_diversification *out,
    struct cpk_error *err)
{
	size_t i;

	for (i = 0; i < sizeof(div_names) / sizeof(div_names[0]); i++) {
		if (strcmp(name, div_names[i]) == 0) {
			*out = (enum gp_diversification)i;
			return CPK_OK;
		}
	}
	return cpk_error_set(err, CPK_ERR_PARSE,
	    "unknown diversification '%s' (expected none, emv, visa2 or kdf3)", name);
}

void
gp_diversify_input(enum gp_diversification scheme, const uint8_t kdd[10], enum gp_key_type type,
    uint8_t block, uint8_t d[16])
{
	uint8_t kk = (uint8_t)type;

	memset(d, 0, 16);
	switch (scheme) {
	case GP_DIV_EMV:
		memcpy(d, kdd + 4, 6);
		memcpy(d + 8, kdd + 4, 6);
		break;
	case GP_DIV_VISA2:
		memcpy(d, kdd, 2);
		memcpy(d + 2, kdd + 4, 4);
		memcpy(d + 8, kdd, 2);
		memcpy(d + 10, kdd + 4, 4);
		break;
	case GP_DIV_KDF3:
		d[0] = block;
		d[4] = kk;
		memcpy(d + 6, kdd, 10);
		return;
	case GP_DIV_NONE:
		return;
	}
	d[6] = 0xF0;
	d[7] = kk;
	d[14] = 0x0F;
	d[15] = kk;
}

/* EMV CPS and VISA2: 3DES-ECB of a 16-byte block built from the KDD. */
static cpk_status
diversify_des3(enum gp_diversification scheme, const uint8_t *master, size_t masterlen,
    const uint8_t kdd[10], enum gp_key_type type, uint8_t *out, struct cpk_error *err)
{
	uint8_t d[16];
	cpk_status ret;

	if (masterlen != 16)
		return cpk_error_set(err, CPK_ERR_ARG,
		    "%s diversification needs a 16-byte 3DES master key, not %zu bytes",
		    gp_diversification_name(scheme), masterlen);
	gp_diversify_input(scheme, kdd, type, 0, d);
	ret = gp_des3_ecb(1, master, masterlen, d, sizeof(d), out, err);
	cpk_cleanse(d, sizeof(d));
	return ret;
}

cpk_status
gp_kdf3_prf(gp_prf_fn prf, const void *master, size_t masterlen, const uint8_t kdd[10],
    enum gp_key_type type, uint8_t *out, struct cpk_error *err)
{
	uint8_t d[16], block[GP_AES_BLOCK];
	size_t done = 0, take;
	uint8_t n;
	cpk_status ret = CPK_OK;

	if (!gp_key_len_valid(GP_KEY_AES, masterlen))
		return cpk_error_set(err, CPK_ERR_ARG,
		    "kdf3 diversification needs an AES master key, not %zu bytes", masterlen);
	for (n = 1; done < masterlen; n++) {
		gp_diversify_input(GP_DIV_KDF3, kdd, type, n, d);
		if ((ret = prf(master, d, sizeof(d), block, err)) != CPK_OK)
			break;
		take = masterlen - done < GP_AES_BLOCK ? masterlen - done : GP_AES_BLOCK;
		memcpy(out + done, block, take);
		done += take;
	}
	cpk_cleanse(block, sizeof(block));
	cpk_cleanse(d, sizeof(d));
	return ret;
}

cpk_status
gp_diversify_key(enum gp_diversification scheme, const uint8_t *master, size_t masterlen,
    const uint8_t kdd[10], enum gp_key_type type, uint8_t *out, struct cpk_error *err)
{
	if (type != GP_KEY_ENC && type != GP_KEY_MAC && type != GP_KEY_DEK)
		return cpk_error_set(err, CPK_ERR_ARG, "unknown key type %d", (int)type);
	switch (scheme) {
	case GP_DIV_NONE:
		memcpy(out, master, masterlen);
		return CPK_OK;
	case GP_DIV_EMV:
	case GP_DIV_VISA2:
		return diversify_des3(scheme, master, masterlen, kdd, type, out, err);
	case GP_DIV_KDF3: {
		struct bytes_key b = { master, masterlen };

		return gp_kdf3_prf(bytes_cmac, &b, masterlen, kdd, type, out, err);
	}
	}
	return cpk_error_set(err, CPK_ERR_ARG, "unknown diversification scheme %d", (int)scheme);
}

/* --- AES-256-GCM --- */

static cpk_status
gcm(int enc, const uint8_t key[32], const uint8_t nonce[GP_GCM_NONCE_LEN], const uint8_t *aad,
    size_t aad_len, const uint8_t *in, size_t n, uint8_t *tag, uint8_t *out,
    struct cpk_error *err)
{
	EVP_CIPHER_CTX *ctx = NULL;
	int len = 0;
	cpk_status st = CPK_ERR_RANGE;

	if (n > INT_MAX || aad_len > INT_MAX) {
		cpk_error_set(err, st, "AES-GCM input too long");
		goto out;
	}
	st = CPK_ERR_CRYPTO;
	if (alg_get(ALG_AES256_GCM) == NULL || (ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_CipherInit_ex(ctx, alg_get(ALG_AES256_GCM), NULL, NULL, NULL, enc) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, GP_GCM_NONCE_LEN, NULL) != 1 ||
	    EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc) != 1 ||
	    (aad_len > 0 && EVP_CipherUpdate(ctx, NULL, &len, aad, (int)aad_len) != 1) ||
	    (n > 0 && EVP_CipherUpdate(ctx, out, &len, in, (int)n) != 1)) {
		st = ssl_error(err, "AES-GCM");
		goto out;
	}
	if (!enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, GP_GCM_TAG_LEN, tag) != 1) {
		st = ssl_error(err, "AES-GCM");
		goto out;
	}
	if (EVP_CipherFinal_ex(ctx, out + (n > 0 ? len : 0), &len) != 1) {
		ERR_clear_error();
		st = cpk_error_set(err, CPK_ERR_VERIFY, "sealed data does not verify (wrong key, "
		    "or altered data)");
		goto out;
	}
	if (enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, GP_GCM_TAG_LEN, tag) != 1) {
		st = ssl_error(err, "AES-GCM");
		goto out;
	}
	st = CPK_OK;
out:
	EVP_CIPHER_CTX_free(ctx);
	return st;
}

cpk_status
gp_aes256_gcm_seal(const uint8_t key[32], const uint8_t nonce[GP_GCM_NONCE_LEN],
    const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t in_len, uint8_t *out,
    struct cpk_error *err)
{
	return gcm(1, key, nonce, aad, aad_len, in, in_len, out + in_len, out, err);
}

cpk_status
gp_aes256_gcm_open(const uint8_t key[32], const uint8_t nonce[GP_GCM_NONCE_LEN],
    const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t in_len, uint8_t *out,
    struct cpk_error *err)
{
	uint8_t tag[GP_GCM_TAG_LEN];
	cpk_status st;

	if (in_len < GP_GCM_TAG_LEN)
		return cpk_error_set(err, CPK_ERR_VERIFY, "sealed data too short");
	memcpy(tag, in + in_len - GP_GCM_TAG_LEN, GP_GCM_TAG_LEN);
	st = gcm(0, key, nonce, aad, aad_len, in, in_len - GP_GCM_TAG_LEN, tag, out, err);
	if (st != CPK_OK)
		cpk_cleanse(out, in_len - GP_GCM_TAG_LEN);
	return st;
}
