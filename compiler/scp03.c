/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: SCP03 (GlobalPlatform Card Specification Amendment D). Its keyless
 * facts are the SCP03 row of common/scp_proto.c.
 */
#include <string.h>

#include "scp_int.h"

/* Session keys and cryptograms; context = host challenge || card challenge. */
static cpk_status
derive(struct scp_session *s, const struct scp_keys *keys, struct cpk_error *err)
{
	uint8_t ctx[16];
	uint16_t bits = (uint16_t)(keys->len * 8);
	cpk_status ret;

	memcpy(ctx, s->host_challenge, 8);
	memcpy(ctx + 8, s->card_challenge, 8);
	if ((ret = keyref_scp03_kdf(&keys->enc, 0x04, bits, ctx, 16, s->s_enc, err)) != CPK_OK ||
	    (ret = keyref_scp03_kdf(&keys->mac, 0x06, bits, ctx, 16, s->s_mac, err)) != CPK_OK ||
	    (ret = keyref_scp03_kdf(&keys->mac, 0x07, bits, ctx, 16, s->s_rmac, err)) != CPK_OK ||
	    (ret = gp_scp03_kdf(s->s_mac, keys->len, 0x00, 0x0040, ctx, 16, s->card_cryptogram,
	    err)) != CPK_OK ||
	    (ret = gp_scp03_kdf(s->s_mac, keys->len, 0x01, 0x0040, ctx, 16, s->host_cryptogram,
	    err)) != CPK_OK)
		goto out;
	keyref_borrow(&s->dek, &keys->dek);
out:
	cpk_cleanse(ctx, sizeof(ctx));
	return ret;
}

/* ICV block: the counter as 16 bytes big-endian; first byte 80 for responses. */
static cpk_status
counter_icv(const struct scp_session *s, bool response, uint8_t icv[GP_AES_BLOCK],
    struct cpk_error *err)
{
	memset(icv, 0, GP_AES_BLOCK);
	cpk_put_u32be(icv + 12, s->enc_counter);
	if (response)
		icv[0] = 0x80;
	return gp_aes_ecb(1, s->s_enc, s->key_len, icv, GP_AES_BLOCK, icv, err);
}

/*
 * C-MAC over chain || CLA' INS P1 P2 Lc' || data'; chain := full CMAC.
 * CLA' has the logical channel bits cleared and the secure messaging bit set.
 */
static cpk_status
command_mac(struct scp_session *s, const struct cpk_apdu *a, const uint8_t *body,
    size_t bodylen, uint8_t mac[8], struct cpk_error *err)
{
	struct cpk_buf in = CPK_BUF_INIT;
	uint8_t hdr[SCP_HEADER_MAX], full[GP_AES_BLOCK];
	size_t hlen = scp_put_header((uint8_t)((a->cla & 0xFC) | 0x04), a, bodylen + 8,
	    scp_extended(a, bodylen + 8), hdr);
	cpk_status ret;

	if ((ret = cpk_buf_append(&in, s->mac_chain, 16, err)) != CPK_OK ||
	    (ret = cpk_buf_append(&in, hdr, hlen, err)) != CPK_OK ||
	    (ret = cpk_buf_append(&in, body, bodylen, err)) != CPK_OK ||
	    (ret = gp_aes_cmac(s->s_mac, s->key_len, in.data, in.len, full, err)) != CPK_OK)
		goto out;
	memcpy(s->mac_chain, full, 16);
	memcpy(mac, full, 8);
out:
	cpk_cleanse(full, sizeof(full));
	cpk_buf_free(&in);
	return ret;
}

static cpk_status
wrap(struct scp_session *s, const struct cpk_apdu *a, bool first, struct cpk_buf *out,
    struct cpk_error *err)
{
	struct cpk_buf body = CPK_BUF_INIT;
	uint8_t icv[GP_AES_BLOCK], mac[8];
	cpk_status ret;

	if (first) {
		memset(s->mac_chain, 0, sizeof(s->mac_chain));
		s->enc_counter = 0;
	} else {
		if (s->enc_counter == UINT32_MAX) {
			ret = cpk_error_set(err, CPK_ERR_RANGE, "SCP03 command counter exhausted");
			goto out;
		}
		s->enc_counter++;
	}
	if (!first && (s->level & SCP_SL_CDEC) && a->lc > 0) {
		if ((ret = counter_icv(s, false, icv, err)) != CPK_OK ||
		    (ret = gp_pad80(&body, a->data, a->lc, GP_AES_BLOCK, err)) != CPK_OK ||
		    (ret = gp_aes_cbc(1, s->s_enc, s->key_len, icv, body.data, body.len,
		    body.data, err)) != CPK_OK)
			goto out;
	} else if ((ret = cpk_buf_append(&body, a->data, a->lc, err)) != CPK_OK) {
		goto out;
	}
	if (body.len > CPK_APDU_EXT_MAX_LC - 8) {
		ret = cpk_error_set(err, CPK_ERR_RANGE,
		    "protected command data of %zu bytes exceeds an extended APDU", body.len + 8);
		goto out;
	}
	if ((ret = command_mac(s, a, body.data, body.len, mac, err)) != CPK_OK)
		goto out;
	ret = scp_emit_wrapped(a, body.data, body.len, mac, out, err);
out:
	cpk_cleanse(icv, sizeof(icv));
	cpk_buf_free(&body);
	return ret;
}

static cpk_status
unwrap(struct scp_session *s, const struct cpk_apdu *a, bool first, struct cpk_buf *out,
    struct cpk_error *err)
{
	struct cpk_buf plain = CPK_BUF_INIT;
	uint8_t icv[GP_AES_BLOCK], mac[8];
	size_t bodylen = a->lc - 8, plen;
	cpk_status ret;

	if (first) {
		memset(s->mac_chain, 0, sizeof(s->mac_chain));
		s->enc_counter = 0;
	} else {
		if (s->enc_counter == UINT32_MAX) {
			ret = cpk_error_set(err, CPK_ERR_RANGE, "SCP03 command counter exhausted");
			goto out;
		}
		s->enc_counter++;
	}
	if ((ret = command_mac(s, a, a->data, bodylen, mac, err)) != CPK_OK)
		goto out;
	if (!cpk_ct_equal(mac, a->data + bodylen, 8)) {
		ret = cpk_error_set(err, CPK_ERR_VERIFY, "C-MAC mismatch");
		goto out;
	}
	if (!first && (s->level & SCP_SL_CDEC) && bodylen > 0) {
		if (bodylen % GP_AES_BLOCK != 0) {
			ret = cpk_error_set(err, CPK_ERR_VERIFY,
			    "encrypted command data of %zu bytes is not whole blocks", bodylen);
			goto out;
		}
		if ((ret = cpk_buf_reserve(&plain, bodylen, err)) != CPK_OK ||
		    (ret = counter_icv(s, false, icv, err)) != CPK_OK ||
		    (ret = gp_aes_cbc(0, s->s_enc, s->key_len, icv, a->data, bodylen,
		    plain.data, err)) != CPK_OK)
			goto out;
		plain.len = bodylen;
		if ((ret = gp_unpad80(plain.data, plain.len, GP_AES_BLOCK, &plen, err)) != CPK_OK)
			goto out;
		ret = scp_emit_plain(a, plain.data, plen, out, err);
	} else {
		ret = scp_emit_plain(a, a->data, bodylen, out, err);
	}
out:
	cpk_cleanse(icv, sizeof(icv));
	cpk_buf_free(&plain);
	return ret;
}

static cpk_status
rmac(struct scp_session *s, const uint8_t *data, size_t n, uint16_t sw,
    uint8_t mac[8], struct cpk_error *err)
{
	struct cpk_buf in = CPK_BUF_INIT;
	uint8_t full[GP_AES_BLOCK];
	cpk_status ret;

	if ((ret = cpk_buf_append(&in, s->mac_chain, 16, err)) != CPK_OK ||
	    (ret = cpk_buf_append(&in, data, n, err)) != CPK_OK ||
	    (ret = cpk_buf_append_u16be(&in, sw, err)) != CPK_OK ||
	    (ret = gp_aes_cmac(s->s_rmac, s->key_len, in.data, in.len, full, err)) != CPK_OK)
		goto out;
	memcpy(mac, full, 8);
out:
	cpk_cleanse(full, sizeof(full));
	cpk_buf_free(&in);
	return ret;
}

static cpk_status
renc(const struct scp_session *s, int encrypt, const uint8_t *in, size_t n,
    struct cpk_buf *out, struct cpk_error *err)
{
	struct cpk_buf tmp = CPK_BUF_INIT;
	uint8_t icv[GP_AES_BLOCK];
	size_t plen;
	cpk_status ret;

	if ((ret = counter_icv(s, true, icv, err)) != CPK_OK)
		goto out;
	if (encrypt) {
		if ((ret = gp_pad80(&tmp, in, n, GP_AES_BLOCK, err)) != CPK_OK ||
		    (ret = gp_aes_cbc(1, s->s_enc, s->key_len, icv, tmp.data, tmp.len, tmp.data,
		    err)) != CPK_OK)
			goto out;
		ret = cpk_buf_append(out, tmp.data, tmp.len, err);
		goto out;
	}
	if (n % GP_AES_BLOCK != 0) {
		ret = cpk_error_set(err, CPK_ERR_VERIFY,
		    "encrypted response of %zu bytes is not whole blocks", n);
		goto out;
	}
	if ((ret = cpk_buf_append(&tmp, in, n, err)) != CPK_OK ||
	    (ret = gp_aes_cbc(0, s->s_enc, s->key_len, icv, tmp.data, tmp.len, tmp.data,
	    err)) != CPK_OK ||
	    (ret = gp_unpad80(tmp.data, tmp.len, GP_AES_BLOCK, &plen, err)) != CPK_OK)
		goto out;
	ret = cpk_buf_append(out, tmp.data, plen, err);
out:
	cpk_cleanse(icv, sizeof(icv));
	cpk_buf_free(&tmp);
	return ret;
}

/* The pseudo-random challenge: KDF(static ENC, 02, 64 bits, counter || SD AID). */
static cpk_status
challenge(const struct scp_keys *keys, const uint8_t *counter, const uint8_t *aid,
    size_t aidlen, uint8_t *out, struct cpk_error *err)
{
	uint8_t ctx[3 + SCP_AID_MAX];

	memcpy(ctx, counter, 3);
	memcpy(ctx + 3, aid, aidlen);
	return keyref_scp03_kdf(&keys->enc, 0x02, 0x0040, ctx, 3 + aidlen, out, err);
}

static bool
keys_fit(enum gp_key_alg alg, size_t len)
{
	return alg == GP_KEY_AES && gp_key_len_valid(GP_KEY_AES, len);
}

static cpk_status
put_key_check(size_t keylen, struct cpk_error *err)
{
	if (keylen != 16 && keylen != 32)
		return cpk_error_set(err, CPK_ERR_UNSUPPORTED,
		    "SCP03 PUT KEY of a %zu-byte key is not supported (AES-128 or AES-256)",
		    keylen);
	return CPK_OK;
}

static size_t
max_plain_data(uint8_t level, size_t max_data)
{
	return scp_max_plain_blocks(level, max_data, GP_AES_BLOCK);
}

/* PUT KEY: AES-CBC, zero ICV, under the static DEK. */
static cpk_status
encrypt_key(const struct scp_session *s, const uint8_t *key, size_t keylen, uint8_t *out,
    struct cpk_error *err)
{
	static const uint8_t zero[GP_AES_BLOCK];
	cpk_status ret;

	if ((ret = put_key_check(keylen, err)) != CPK_OK)
		return ret;
	return s->dek.ops->cbc(&s->dek, 1, zero, key, keylen, out, err);
}

static cpk_status
decrypt_key(const struct scp_session *s, const uint8_t *enc, size_t len, uint8_t *out,
    struct cpk_error *err)
{
	static const uint8_t zero[GP_AES_BLOCK];

	if (len != 16 && len != 32)
		return cpk_error_set(err, CPK_ERR_PARSE, "SCP03 key data of %zu bytes", len);
	return s->dek.ops->cbc(&s->dek, 0, zero, enc, len, out, err);
}

/* Sensitive data: padded to the AES block, AES-CBC, zero ICV, under the static DEK. */
static cpk_status
encrypt_data(const struct scp_session *s, const uint8_t *data, size_t n, struct cpk_buf *out,
    struct cpk_error *err)
{
	return scp_dek_encrypt_padded(s, GP_AES_BLOCK, true, data, n, out, err);
}

const struct scp_ops scp03_ops = {
	.proto = &scp_proto_03,
	.key_alg = GP_KEY_AES,
	.keys_text = "an AES-128, -192 or -256 key set",
	.keys_fit = keys_fit,
	.put_key_check = put_key_check,
	.max_plain_data = max_plain_data,
	.challenge = challenge,
	.derive = derive,
	.wrap = wrap,
	.unwrap = unwrap,
	.rmac = rmac,
	.renc = renc,
	.encrypt_key = encrypt_key,
	.decrypt_key = decrypt_key,
	.encrypt_data = encrypt_data,
};
