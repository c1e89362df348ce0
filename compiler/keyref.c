/* SPDX-License-Identifier: BSD-2-Clause */
/* cpk: key references and the memory back end (see keyref.h). */
#include "keyref.h"

#include <string.h>

#include "cpk_bytes.h"

static cpk_status
mem_ecb(const struct keyref *k, int encrypt, const uint8_t *in, size_t n, uint8_t *out,
    struct cpk_error *err)
{
	if (k->alg == GP_KEY_AES)
		return gp_aes_ecb(encrypt, k->value, k->len, in, n, out, err);
	return gp_des3_ecb(encrypt, k->value, k->len, in, n, out, err);
}

static cpk_status
mem_cbc(const struct keyref *k, int encrypt, const uint8_t *iv, const uint8_t *in, size_t n,
    uint8_t *out, struct cpk_error *err)
{
	if (k->alg == GP_KEY_AES)
		return gp_aes_cbc(encrypt, k->value, k->len, iv, in, n, out, err);
	return gp_des3_cbc(encrypt, k->value, k->len, iv, in, n, out, err);
}

static cpk_status
mem_cmac(const struct keyref *k, const uint8_t *msg, size_t n, uint8_t mac[GP_AES_BLOCK],
    struct cpk_error *err)
{
	if (k->alg != GP_KEY_AES)
		return cpk_error_set(err, CPK_ERR_ARG, "AES-CMAC needs an AES key");
	return gp_aes_cmac(k->value, k->len, msg, n, mac, err);
}

static cpk_status
mem_derive(const struct keyref *k, const uint8_t *iv, const uint8_t *data, size_t n,
    struct keyref *out, struct cpk_error *err)
{
	uint8_t v[GP_MAX_KEY];
	cpk_status ret;

	if (n != k->len) {
		ret = cpk_error_set(err, CPK_ERR_ARG, "derivation data of %zu bytes for a "
		    "%zu-byte key", n, k->len);
		goto out;
	}
	ret = iv != NULL ? mem_cbc(k, 1, iv, data, n, v, err) : mem_ecb(k, 1, data, n, v, err);
	if (ret == CPK_OK)
		keyref_mem(out, k->alg, v, n);
out:
	cpk_cleanse(v, sizeof(v));
	return ret;
}

static void
mem_clear(struct keyref *k)
{
	gp_crypto_forget(k->value, k->len);
	cpk_cleanse(k->value, sizeof(k->value));
}

static const struct keyref_ops mem_ops = {
	"memory", mem_ecb, mem_cbc, mem_cmac, mem_derive, mem_clear,
};

void
keyref_mem(struct keyref *k, enum gp_key_alg alg, const uint8_t *value, size_t len)
{
	memset(k, 0, sizeof(*k));
	k->ops = &mem_ops;
	k->alg = alg;
	k->len = len <= GP_MAX_KEY ? len : GP_MAX_KEY;
	memcpy(k->value, value, k->len);
}

bool
keyref_in_memory(const struct keyref *k)
{
	return k->ops == &mem_ops;
}

void
keyref_borrow(struct keyref *dst, const struct keyref *src)
{
	*dst = *src;
	dst->temporary = false;
}

void
keyref_clear(struct keyref *k)
{
	if (k == NULL)
		return;
	if (k->ops != NULL)
		k->ops->clear(k);
	cpk_cleanse(k, sizeof(*k));
}

static cpk_status
keyref_prf(const void *key, const uint8_t *msg, size_t n, uint8_t mac[GP_AES_BLOCK],
    struct cpk_error *err)
{
	const struct keyref *k = key;

	return k->ops->cmac(k, msg, n, mac, err);
}

cpk_status
keyref_scp03_kdf(const struct keyref *k, uint8_t constant, uint16_t l_bits,
    const uint8_t *context, size_t ctxlen, uint8_t *out, struct cpk_error *err)
{
	return gp_scp03_kdf_prf(keyref_prf, k, constant, l_bits, context, ctxlen, out, err);
}

cpk_status
keyref_diversify(const struct keyref *master, enum gp_diversification scheme,
    const uint8_t kdd[10], enum gp_key_type type, struct keyref *out, struct cpk_error *err)
{
	uint8_t d[16], v[GP_MAX_KEY];
	cpk_status ret;

	memset(out, 0, sizeof(*out));
	switch (scheme) {
	case GP_DIV_NONE:
		keyref_borrow(out, master);
		ret = CPK_OK;
		break;
	case GP_DIV_EMV:
	case GP_DIV_VISA2:
		if (master->alg != GP_KEY_3DES || master->len != 16) {
			ret = cpk_error_set(err, CPK_ERR_ARG, "%s diversification needs a 16-byte "
			    "3DES master key", gp_diversification_name(scheme));
			break;
		}
		gp_diversify_input(scheme, kdd, type, 0, d);
		ret = master->ops->derive(master, NULL, d, sizeof(d), out, err);
		break;
	case GP_DIV_KDF3:
		if (master->alg != GP_KEY_AES) {
			ret = cpk_error_set(err, CPK_ERR_ARG,
			    "kdf3 diversification needs an AES master key");
			break;
		}
		if ((ret = gp_kdf3_prf(keyref_prf, master, master->len, kdd, type, v, err)) == CPK_OK)
			keyref_mem(out, GP_KEY_AES, v, master->len);
		break;
	default:
		ret = cpk_error_set(err, CPK_ERR_ARG, "unknown diversification scheme %d",
		    (int)scheme);
	}
	cpk_cleanse(d, sizeof(d));
	cpk_cleanse(v, sizeof(v));
	return ret;
}
