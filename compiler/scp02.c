/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: SCP02 (GlobalPlatform Card Specification 2.3.1 Appendix E):
 * three keys, explicit initiation, C-MAC on the modified APDU, zero initial
 * ICV, optional ICV encryption (i & 10), R-MAC (i & 20) and pseudo-random
 * card challenge (i & 40). Its keyless facts are the SCP02 row of
 * common/scp_proto.c.
 */
#include <string.h>

#include "scp_int.h"

static cpk_status
session_key(const struct keyref *key, uint16_t constant, const uint8_t counter[2],
    uint8_t out[16], struct cpk_error *err)
{
	static const uint8_t zero[GP_DES_BLOCK];
	uint8_t d[16];
	cpk_status ret;

	memset(d, 0, sizeof(d));
	cpk_put_u16be(d, constant);
	memcpy(d + 2, counter, 2);
	ret = key->ops->cbc(key, 1, zero, d, sizeof(d), out, err);
	cpk_cleanse(d, sizeof(d));
	return ret;
}

/* The session DEK stays where the static DEK is (a token derives an object). */
static cpk_status
session_dek(struct scp_session *s, const struct keyref *dek, struct cpk_error *err)
{
	static const uint8_t zero[GP_DES_BLOCK];
	uint8_t d[16];
	cpk_status ret;

	memset(d, 0, sizeof(d));
	cpk_put_u16be(d, 0x0181);
	memcpy(d + 2, s->counter, 2);
	ret = dek->ops->derive(dek, zero, d, sizeof(d), &s->dek, err);
	cpk_cleanse(d, sizeof(d));
	return ret;
}

static cpk_status
derive(struct scp_session *s, const struct scp_keys *keys, struct cpk_error *err)
{
	static const uint8_t zero[GP_DES_BLOCK];
	uint8_t in[16];
	cpk_status ret;

	if (s->counter_len != 2 || s->challenge_len != 6)
		return cpk_error_set(err, CPK_ERR_ARG, "SCP02 needs a 2-byte counter and 6-byte challenge");
	if ((ret = session_key(&keys->mac, 0x0101, s->counter, s->s_mac, err)) != CPK_OK ||
	    (ret = session_key(&keys->mac, 0x0102, s->counter, s->s_rmac, err)) != CPK_OK ||
	    (ret = session_key(&keys->enc, 0x0182, s->counter, s->s_enc, err)) != CPK_OK ||
	    (ret = session_dek(s, &keys->dek, err)) != CPK_OK)
		goto out;
	/* card = MAC(host challenge || counter || card challenge) */
	memcpy(in, s->host_challenge, 8);
	memcpy(in + 8, s->counter, 2);
	memcpy(in + 10, s->card_challenge, 6);
	if ((ret = gp_des3_cbc_mac(s->s_enc, zero, in, 16, s->card_cryptogram, err)) != CPK_OK)
		goto out;
	/* host = MAC(counter || card challenge || host challenge) */
	memcpy(in, s->counter, 2);
	memcpy(in + 2, s->card_challenge, 6);
	memcpy(in + 8, s->host_challenge, 8);
	ret = gp_des3_cbc_mac(s->s_enc, zero, in, 16, s->host_cryptogram, err);
out:
	cpk_cleanse(in, sizeof(in));
	return ret;
}

/*
 * C-MAC of the modified APDU: CLA|04 INS P1 P2 Lc+8 plain data, retail MAC
 * under the C-MAC session key. The ICV is zero for EXTERNAL AUTHENTICATE and
 * afterwards the previous C-MAC, DES-encrypted under the key's first half
 * when i & 10.
 */
static cpk_status
command_mac(struct scp_session *s, const struct cpk_apdu *a, bool first, const uint8_t *plain,
    size_t n, bool ext, uint8_t mac[8], struct cpk_error *err)
{
	struct cpk_buf in = CPK_BUF_INIT;
	uint8_t icv[GP_DES_BLOCK], hdr[SCP_HEADER_MAX];
	cpk_status ret;

	if (first)
		memset(icv, 0, sizeof(icv));
	else if (s->i & SCP02_I_ICV_ENC) {
		if ((ret = gp_des_ecb_block(s->s_mac, s->mac_chain, icv, err)) != CPK_OK)
			goto out;
	} else
		memcpy(icv, s->mac_chain, sizeof(icv));
	if ((ret = cpk_buf_append(&in, hdr, scp_put_header((uint8_t)(a->cla | 0x04), a, n + 8,
	    ext, hdr), err)) != CPK_OK ||
	    (ret = cpk_buf_append(&in, plain, n, err)) != CPK_OK ||
	    (ret = gp_retail_mac(s->s_mac, icv, in.data, in.len, mac, err)) != CPK_OK)
		goto out;
	memcpy(s->mac_chain, mac, 8);
	if (first)
		memcpy(s->rmac_chain, mac, 8);
out:
	cpk_cleanse(icv, sizeof(icv));
	cpk_buf_free(&in);
	return ret;
}

/* Keep the plain command for the R-MAC of its response (a short one: one-byte Lc). */
static cpk_status
note_for_rmac(struct scp_session *s, const struct cpk_apdu *a, const uint8_t *plain, size_t n,
    struct cpk_error *err)
{
	s->rmac_input_len = 0;
	if (n > sizeof(s->rmac_input) - 5) {
		if (s->level & SCP_SL_RMAC)
			return cpk_error_set(err, CPK_ERR_UNSUPPORTED,
			    "SCP02 R-MAC of a command with %zu bytes of data (short commands only)", n);
		return CPK_OK;
	}
	s->rmac_input[0] = (uint8_t)(a->cla & ~0x07);
	s->rmac_input[1] = a->ins;
	s->rmac_input[2] = a->p1;
	s->rmac_input[3] = a->p2;
	s->rmac_input[4] = (uint8_t)n;
	if (n > 0)
		memcpy(s->rmac_input + 5, plain, n);
	s->rmac_input_len = 5 + n;
	return CPK_OK;
}

static cpk_status
wrap(struct scp_session *s, const struct cpk_apdu *a, bool first, struct cpk_buf *out,
    struct cpk_error *err)
{
	static const uint8_t zero[GP_DES_BLOCK];
	struct cpk_buf body = CPK_BUF_INIT;
	uint8_t mac[8];
	cpk_status ret;

	if (a->lc > CPK_APDU_EXT_MAX_LC - 8) {
		ret = cpk_error_set(err, CPK_ERR_RANGE, "command data of %zu bytes too long", a->lc);
		goto out;
	}
	/* Encrypt first (zero ICV): the MAC header's Lc form follows the length sent. */
	if (!first && (s->level & SCP_SL_CDEC) && a->lc > 0) {
		if ((ret = gp_pad80(&body, a->data, a->lc, GP_DES_BLOCK, err)) != CPK_OK ||
		    (ret = gp_des3_cbc(1, s->s_enc, 16, zero, body.data, body.len, body.data,
		    err)) != CPK_OK)
			goto out;
	} else if ((ret = cpk_buf_append(&body, a->data, a->lc, err)) != CPK_OK) {
		goto out;
	}
	if ((ret = command_mac(s, a, first, a->data, a->lc, scp_extended(a, body.len + 8), mac,
	    err)) != CPK_OK)
		goto out;
	if (!first && (ret = note_for_rmac(s, a, a->data, a->lc, err)) != CPK_OK)
		goto out;
	ret = scp_emit_wrapped(a, body.data, body.len, mac, out, err);
out:
	cpk_buf_free(&body);
	return ret;
}

static cpk_status
unwrap(struct scp_session *s, const struct cpk_apdu *a, bool first, struct cpk_buf *out,
    struct cpk_error *err)
{
	static const uint8_t zero[GP_DES_BLOCK];
	struct cpk_buf plain = CPK_BUF_INIT;
	struct cpk_apdu orig = *a;
	const uint8_t *p = a->data;
	size_t bodylen = a->lc - 8, plen = bodylen;
	uint8_t mac[8];
	cpk_status ret;

	orig.cla = (uint8_t)(a->cla & ~0x04);
	if (!first && (s->level & SCP_SL_CDEC) && bodylen > 0) {
		if (bodylen % GP_DES_BLOCK != 0) {
			ret = cpk_error_set(err, CPK_ERR_VERIFY,
			    "encrypted command data of %zu bytes is not whole blocks", bodylen);
			goto out;
		}
		if ((ret = cpk_buf_reserve(&plain, bodylen, err)) != CPK_OK ||
		    (ret = gp_des3_cbc(0, s->s_enc, 16, zero, a->data, bodylen, plain.data,
		    err)) != CPK_OK)
			goto out;
		plain.len = bodylen;
		if ((ret = gp_unpad80(plain.data, plain.len, GP_DES_BLOCK, &plen, err)) != CPK_OK)
			goto out;
		p = plain.data;
	}
	if ((ret = command_mac(s, &orig, first, p, plen, a->extended, mac, err)) != CPK_OK)
		goto out;
	if (!cpk_ct_equal(mac, a->data + bodylen, 8)) {
		ret = cpk_error_set(err, CPK_ERR_VERIFY, "C-MAC mismatch");
		goto out;
	}
	if (!first && (ret = note_for_rmac(s, &orig, p, plen, err)) != CPK_OK)
		goto out;
	ret = scp_emit_plain(a, p, plen, out, err);
out:
	cpk_cleanse(mac, sizeof(mac));
	cpk_buf_free(&plain);
	return ret;
}

/*
 * R-MAC: retail MAC under the R-MAC session key over the plain command
 * (CLA INS P1 P2 Lc data), Lr, the response data and SW1 SW2. The ICV is
 * the previous R-MAC, starting with the C-MAC of EXTERNAL AUTHENTICATE.
 */
static cpk_status
rmac(struct scp_session *s, const uint8_t *data, size_t n, uint16_t sw, uint8_t mac[8],
    struct cpk_error *err)
{
	struct cpk_buf in = CPK_BUF_INIT;
	cpk_status ret;

	if (n > 255) {
		ret = cpk_error_set(err, CPK_ERR_RANGE, "response of %zu bytes too long for R-MAC", n);
		goto out;
	}
	if ((ret = cpk_buf_append(&in, s->rmac_input, s->rmac_input_len, err)) != CPK_OK ||
	    (ret = cpk_buf_append_byte(&in, (uint8_t)n, err)) != CPK_OK ||
	    (ret = cpk_buf_append(&in, data, n, err)) != CPK_OK ||
	    (ret = cpk_buf_append_u16be(&in, sw, err)) != CPK_OK ||
	    (ret = gp_retail_mac(s->s_rmac, s->rmac_chain, in.data, in.len, mac, err)) != CPK_OK)
		goto out;
	memcpy(s->rmac_chain, mac, 8);
out:
	cpk_buf_free(&in);
	return ret;
}

/* The pseudo-random challenge: first 6 bytes of the retail MAC of the SD AID. */
static cpk_status
challenge(const struct scp_keys *keys, const uint8_t *counter, const uint8_t *aid,
    size_t aidlen, uint8_t *out, struct cpk_error *err)
{
	static const uint8_t zero[8];
	uint8_t key[16], mac[8];
	cpk_status ret;

	if ((ret = session_key(&keys->mac, 0x0101, counter, key, err)) != CPK_OK)
		goto out;
	if ((ret = gp_retail_mac(key, zero, aid, aidlen, mac, err)) != CPK_OK)
		goto out;
	memcpy(out, mac, 6);
out:
	cpk_cleanse(key, sizeof(key));
	cpk_cleanse(mac, sizeof(mac));
	return ret;
}

static bool
keys_fit(enum gp_key_alg alg, size_t len)
{
	return alg == GP_KEY_3DES && len == 16;
}

static cpk_status
put_key_check(size_t keylen, struct cpk_error *err)
{
	if (keylen != 16)
		return cpk_error_set(err, CPK_ERR_UNSUPPORTED,
		    "SCP02 PUT KEY carries 16-byte 3DES keys, not %zu bytes", keylen);
	return CPK_OK;
}

static size_t
max_plain_data(uint8_t level, size_t max_data)
{
	/* R-MAC covers the plain command with a one-byte Lc: short commands only. */
	if ((level & SCP_SL_RMAC) && max_data > CPK_APDU_SHORT_MAX_LC)
		max_data = CPK_APDU_SHORT_MAX_LC;
	return scp_max_plain_blocks(level, max_data, GP_DES_BLOCK);
}

/* PUT KEY: 3DES-ECB under the session DEK. */
static cpk_status
encrypt_key(const struct scp_session *s, const uint8_t *key, size_t keylen, uint8_t *out,
    struct cpk_error *err)
{
	cpk_status ret;

	if ((ret = put_key_check(keylen, err)) != CPK_OK)
		return ret;
	return s->dek.ops->ecb(&s->dek, 1, key, keylen, out, err);
}

static cpk_status
decrypt_key(const struct scp_session *s, const uint8_t *enc, size_t len, uint8_t *out,
    struct cpk_error *err)
{
	if (len != 16)
		return cpk_error_set(err, CPK_ERR_PARSE, "SCP02 key data of %zu bytes", len);
	return s->dek.ops->ecb(&s->dek, 0, enc, len, out, err);
}

/* Sensitive data: padded to the DES block, 3DES-ECB under the session DEK. */
static cpk_status
encrypt_data(const struct scp_session *s, const uint8_t *data, size_t n, struct cpk_buf *out,
    struct cpk_error *err)
{
	return scp_dek_encrypt_padded(s, GP_DES_BLOCK, false, data, n, out, err);
}

const struct scp_ops scp02_ops = {
	.proto = &scp_proto_02,
	.key_alg = GP_KEY_3DES,
	.keys_text = "a 16-byte 3DES key set",
	.keys_fit = keys_fit,
	.put_key_check = put_key_check,
	.max_plain_data = max_plain_data,
	.challenge = challenge,
	.derive = derive,
	.wrap = wrap,
	.unwrap = unwrap,
	.rmac = rmac,
	.renc = NULL,
	.encrypt_key = encrypt_key,
	.decrypt_key = decrypt_key,
	.encrypt_data = encrypt_data,
};
