/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: the symmetric cryptography of GlobalPlatform secure channels.
 *
 * This is the only module that uses OpenSSL's cipher and MAC interfaces.
 * The secure-channel state machines (scp.h) build on it, for the host side
 * (cardc) and the card side (the simulator) alike.
 *
 * The functions take key bytes; the only state kept is for speed. The
 * algorithms are fetched from the provider once per process, and each
 * thread keeps the contexts (key schedules) of the last few keys it used
 * (AES and 3DES, per direction, and AES-CMAC), so that a session's many
 * commands under the same session keys schedule each key once. A kept
 * context holds a copy of its key: it is dropped and cleansed by
 * gp_crypto_forget (keyref_clear of a memory key calls it), by
 * gp_crypto_release (scp_session_clear calls it: a session's keys do not
 * outlive the session), when newer keys push it out, and when its thread
 * or the process ends.
 *
 * Key lengths: AES 16, 24 or 32 bytes; 3DES 16 bytes (two-key, K1 K2 K1)
 * or 24 bytes; single DES 8 bytes.
 */
#ifndef CPK_GP_CRYPTO_H
#define CPK_GP_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "cpk_bytes.h"
#include "cpk_error.h"

#define GP_AES_BLOCK 16
#define GP_DES_BLOCK 8
#define GP_MAX_KEY 32

enum gp_key_alg {
	GP_KEY_AES = 1,
	GP_KEY_3DES = 2,
};

/* Drop the calling thread's kept contexts of this key (any use), cleansed. */
void gp_crypto_forget(const uint8_t *key, size_t keylen);
/* Drop all the calling thread's kept contexts, cleansed. */
void gp_crypto_release(void);
/* How many contexts the calling thread keeps (at most 8; for tests). */
size_t gp_crypto_kept(void);

/* True if len is a valid key length for alg. */
int gp_key_len_valid(enum gp_key_alg alg, size_t len);

/* AES-CMAC (SP 800-38B), full 16-byte tag. */
cpk_status gp_aes_cmac(const uint8_t *key, size_t keylen, const uint8_t *msg, size_t n,
    uint8_t mac[GP_AES_BLOCK], struct cpk_error *err);

/* AES-ECB of whole blocks (n a multiple of 16). out may equal in. */
cpk_status gp_aes_ecb(int encrypt, const uint8_t *key, size_t keylen, const uint8_t *in,
    size_t n, uint8_t *out, struct cpk_error *err);

/* AES-CBC of whole blocks, no padding. out may equal in. */
cpk_status gp_aes_cbc(int encrypt, const uint8_t *key, size_t keylen,
    const uint8_t iv[GP_AES_BLOCK], const uint8_t *in, size_t n, uint8_t *out,
    struct cpk_error *err);

/* 3DES-ECB / 3DES-CBC of whole 8-byte blocks, no padding (key 16 or 24 bytes). */
cpk_status gp_des3_ecb(int encrypt, const uint8_t *key, size_t keylen, const uint8_t *in,
    size_t n, uint8_t *out, struct cpk_error *err);
cpk_status gp_des3_cbc(int encrypt, const uint8_t *key, size_t keylen,
    const uint8_t iv[GP_DES_BLOCK], const uint8_t *in, size_t n, uint8_t *out,
    struct cpk_error *err);

/* Single-DES ECB encryption of one block (8-byte key). */
cpk_status gp_des_ecb_block(const uint8_t key[8], const uint8_t in[GP_DES_BLOCK],
    uint8_t out[GP_DES_BLOCK], struct cpk_error *err);

/*
 * ISO 9797-1 MAC algorithm 3 ("retail MAC") with padding method 2 (80 00..):
 * single-DES CBC under K1 over all blocks, the last one finished with
 * DES-decrypt K2, DES-encrypt K1. key is 16 bytes.
 */
cpk_status gp_retail_mac(const uint8_t key[16], const uint8_t icv[GP_DES_BLOCK],
    const uint8_t *msg, size_t n, uint8_t mac[GP_DES_BLOCK], struct cpk_error *err);

/* Full 3DES CBC-MAC with padding method 2 (the SCP02 cryptograms). */
cpk_status gp_des3_cbc_mac(const uint8_t key[16], const uint8_t icv[GP_DES_BLOCK],
    const uint8_t *msg, size_t n, uint8_t mac[GP_DES_BLOCK], struct cpk_error *err);

/*
 * Append msg || 80 || 00.. to out so that the added length is a multiple of
 * `block` (the 80 is always added).
 */
cpk_status gp_pad80(struct cpk_buf *out, const uint8_t *msg, size_t n, size_t block,
    struct cpk_error *err);
/*
 * Length of p[0..n) without its 80 00.. padding. CPK_ERR_VERIFY if the
 * padding is missing or malformed, or n is not a multiple of block.
 */
cpk_status gp_unpad80(const uint8_t *p, size_t n, size_t block, size_t *plain_len,
    struct cpk_error *err);

/* Key check value: 3 bytes. AES: AES-ECB(key, 01 x 16); 3DES: 3DES-ECB(key, 00 x 8). */
cpk_status gp_kcv(enum gp_key_alg alg, const uint8_t *key, size_t keylen, uint8_t kcv[3],
    struct cpk_error *err);

/* Fill out with bytes from the operating system's CSPRNG. */
/*
 * AES-256-GCM (the registry's sealed data): out receives in_len bytes of
 * ciphertext and the 16-byte tag. gp_aes256_gcm_open checks the tag
 * (CPK_ERR_VERIFY when the data, the AAD, the nonce or the key differ)
 * before returning any plaintext; out has room for in_len - 16 bytes.
 */
#define GP_GCM_NONCE_LEN 12
#define GP_GCM_TAG_LEN 16
cpk_status gp_aes256_gcm_seal(const uint8_t key[32], const uint8_t nonce[GP_GCM_NONCE_LEN],
    const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t in_len, uint8_t *out,
    struct cpk_error *err);
cpk_status gp_aes256_gcm_open(const uint8_t key[32], const uint8_t nonce[GP_GCM_NONCE_LEN],
    const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t in_len, uint8_t *out,
    struct cpk_error *err);

cpk_status gp_random(uint8_t *out, size_t n, struct cpk_error *err);

/*
 * SCP03 key derivation (SP 800-108 counter mode, PRF AES-CMAC):
 * block i = CMAC(key, 00 x 11 || constant || 00 || L(2) || i || context).
 * l_bits is the output length in bits (a multiple of 8, at most 512).
 */
cpk_status gp_scp03_kdf(const uint8_t *key, size_t keylen, uint8_t constant, uint16_t l_bits,
    const uint8_t *context, size_t ctxlen, uint8_t *out, struct cpk_error *err);

/*
 * The same KDF over any AES-CMAC: prf(key, msg, n, mac) computes the full
 * tag under a key it knows how to reach (bytes here, a token object in
 * keyref.h).
 */
typedef cpk_status (*gp_prf_fn)(const void *key, const uint8_t *msg, size_t n,
    uint8_t mac[GP_AES_BLOCK], struct cpk_error *err);
cpk_status gp_scp03_kdf_prf(gp_prf_fn prf, const void *key, uint8_t constant, uint16_t l_bits,
    const uint8_t *context, size_t ctxlen, uint8_t *out, struct cpk_error *err);

/* The PRF input of block `counter` of the SCP03 KDF (for tests and traces). */
cpk_status gp_scp03_kdf_input(uint8_t constant, uint16_t l_bits, uint8_t counter,
    const uint8_t *context, size_t ctxlen, struct cpk_buf *out, struct cpk_error *err);

/* Static key diversification schemes. */
enum gp_diversification {
	GP_DIV_NONE = 0,
	GP_DIV_EMV,	/* EMV CPS 1.1, 3DES */
	GP_DIV_VISA2,	/* VISA2, 3DES */
	GP_DIV_KDF3,	/* SCP03 KDF-style, AES */
};

/* Key type byte used by the diversification schemes. */
enum gp_key_type {
	GP_KEY_ENC = 1,
	GP_KEY_MAC = 2,
	GP_KEY_DEK = 3,
};

/*
 * Derive one card key from a master key and the 10-byte key
 * diversification data. out receives masterlen bytes. GP_DIV_NONE copies.
 */
cpk_status gp_diversify_key(enum gp_diversification scheme, const uint8_t *master,
    size_t masterlen, const uint8_t kdd[10], enum gp_key_type type, uint8_t *out,
    struct cpk_error *err);

/*
 * The 16 bytes a scheme feeds its cipher for one card key: emv and visa2
 * the 3DES-ECB input; kdf3 the AES-CMAC input of output block `block`
 * (from 1). Shared by gp_diversify_key and the key references (keyref.h).
 */
void gp_diversify_input(enum gp_diversification scheme, const uint8_t kdd[10],
    enum gp_key_type type, uint8_t block, uint8_t d[16]);

/*
 * kdf3 diversification over any AES-CMAC (see gp_scp03_kdf_prf): out
 * receives masterlen bytes (16, 24 or 32).
 */
cpk_status gp_kdf3_prf(gp_prf_fn prf, const void *master, size_t masterlen,
    const uint8_t kdd[10], enum gp_key_type type, uint8_t *out, struct cpk_error *err);

/* Names for messages and file formats: "none", "emv", "visa2", "kdf3". */
const char *gp_diversification_name(enum gp_diversification scheme);
/* Parse a scheme name; CPK_ERR_PARSE with the accepted names otherwise. */
cpk_status gp_diversification_parse(const char *name, enum gp_diversification *out,
    struct cpk_error *err);

#endif
