/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: GlobalPlatform secure channel sessions, the parts common to SCP02
 * and SCP03: key sets, INITIALIZE UPDATE, parameters, state, dispatch.
 */
#include "scp.h"

#include <string.h>

#include "cpk_apdu.h"
#include "cpk_sw.h"
#include "scp_int.h"

static cpk_status check_channel_cla(const struct scp_session *s, uint8_t cla,
    struct cpk_error *err);

void
scp_keyset_clear(struct scp_keyset *k)
{
	if (k != NULL)
		cpk_cleanse(k, sizeof(*k));
}

void
scp_keys_from_bytes(struct scp_keys *out, const struct scp_keyset *k)
{
	out->alg = k->alg;
	out->len = k->len;
	out->kvn = k->kvn;
	keyref_mem(&out->enc, k->alg, k->enc, k->len);
	keyref_mem(&out->mac, k->alg, k->mac, k->len);
	keyref_mem(&out->dek, k->alg, k->dek, k->len);
}

void
scp_keys_clear(struct scp_keys *k)
{
	if (k == NULL)
		return;
	keyref_clear(&k->enc);
	keyref_clear(&k->mac);
	keyref_clear(&k->dek);
	cpk_cleanse(k, sizeof(*k));
}

cpk_status
scp_keyset_diversify(const struct scp_keyset *master, enum gp_diversification scheme,
    const uint8_t kdd[SCP_KDD_LEN], struct scp_keyset *out, struct cpk_error *err)
{
	cpk_status ret;

	if (scheme == GP_DIV_KDF3 && master->alg != GP_KEY_AES)
		return cpk_error_set(err, CPK_ERR_ARG,
		    "kdf3 diversification applies to AES key sets, not 3DES");
	if ((scheme == GP_DIV_EMV || scheme == GP_DIV_VISA2) && master->alg != GP_KEY_3DES)
		return cpk_error_set(err, CPK_ERR_ARG,
		    "%s diversification applies to 3DES key sets, not AES",
		    gp_diversification_name(scheme));
	scp_keyset_clear(out);
	out->alg = master->alg;
	out->len = master->len;
	out->kvn = master->kvn;
	if ((ret = gp_diversify_key(scheme, master->enc, master->len, kdd, GP_KEY_ENC,
	    out->enc, err)) != CPK_OK ||
	    (ret = gp_diversify_key(scheme, master->mac, master->len, kdd, GP_KEY_MAC,
	    out->mac, err)) != CPK_OK ||
	    (ret = gp_diversify_key(scheme, master->dek, master->len, kdd, GP_KEY_DEK,
	    out->dek, err)) != CPK_OK)
		scp_keyset_clear(out);
	return ret;
}

cpk_status
scp_i_supported(enum scp_version v, uint8_t i, struct cpk_error *err)
{
	if (v == SCP02) {
		if ((i & 0x8F) == 0x05)
			return CPK_OK;
		return cpk_error_set(err, CPK_ERR_UNSUPPORTED,
		    "SCP02 i=%02X is not supported: cpk implements three-key, explicit, "
		    "modified-APDU SCP02 with a zero initial ICV (i=05, 15, 25, 35, 45, 55, 65, 75)",
		    i);
	}
	if (v == SCP03) {
		switch (i) {
		case 0x00: case 0x10: case 0x20: case 0x30: case 0x60: case 0x70:
			return CPK_OK;
		}
		return cpk_error_set(err, CPK_ERR_UNSUPPORTED,
		    "SCP03 i=%02X is not supported (expected 00, 10, 20, 30, 60 or 70)", i);
	}
	return cpk_error_set(err, CPK_ERR_UNSUPPORTED, "secure channel protocol %d", (int)v);
}

bool
scp_i_pseudo_random(enum scp_version v, uint8_t i)
{
	if (v == SCP02)
		return (i & SCP02_I_PSEUDO) != 0;
	return (i & SCP03_I_PSEUDO) != 0;
}

cpk_status
scp_level_allowed(enum scp_version v, uint8_t i, uint8_t level, struct cpk_error *err)
{
	cpk_status st;
	bool rmac_ok, renc_ok;

	if ((st = scp_i_supported(v, i, err)) != CPK_OK)
		return st;
	switch (level) {
	case 0x01: case 0x03: case 0x11: case 0x13: case 0x33:
		break;
	default:
		return cpk_error_set(err, CPK_ERR_UNSUPPORTED,
		    "security level %02X is not supported (expected 01, 03, 11, 13 or 33)", level);
	}
	rmac_ok = v == SCP02 ? (i & SCP02_I_RMAC) != 0 : (i & SCP03_I_RMAC) != 0;
	renc_ok = v == SCP03 && (i & (SCP03_I_RMAC | SCP03_I_RENC)) ==
	    (SCP03_I_RMAC | SCP03_I_RENC);
	if ((level & SCP_SL_RMAC) && !rmac_ok)
		return cpk_error_set(err, CPK_ERR_UNSUPPORTED,
		    "security level %02X asks for R-MAC but SCP%02d i=%02X does not support it",
		    level, (int)v, i);
	if ((level & SCP_SL_RENC) && !renc_ok)
		return cpk_error_set(err, CPK_ERR_UNSUPPORTED,
		    "security level %02X asks for R-ENC but SCP%02d i=%02X does not support it",
		    level, (int)v, i);
	return CPK_OK;
}

size_t
scp_max_plain_data(uint8_t level)
{
	/* 255 - 8 (MAC); with C-DEC the padded ciphertext must fit in 247: 240 - 1. */
	return scp_max_plain_data_lc(SCP03, level, CPK_APDU_SHORT_MAX_LC);
}

size_t
scp_max_plain_data_lc(enum scp_version v, uint8_t level, size_t max_lc)
{
	size_t room, block = v == SCP02 ? GP_DES_BLOCK : GP_AES_BLOCK;

	if (max_lc > CPK_APDU_EXT_MAX_LC)
		max_lc = CPK_APDU_EXT_MAX_LC;
	/* SCP02 R-MAC covers the plain command with a one-byte Lc: short commands only. */
	if (v == SCP02 && (level & SCP_SL_RMAC) && max_lc > CPK_APDU_SHORT_MAX_LC)
		max_lc = CPK_APDU_SHORT_MAX_LC;
	if (max_lc < 8 + block)
		return 0;
	room = max_lc - 8;
	/* C-DEC pads with 80 00..: whole cipher blocks, at least one padding byte. */
	return (level & SCP_SL_CDEC) ? room / block * block - 1 : room;
}

bool
scp_extended(const struct cpk_apdu *a, size_t lc)
{
	return a->extended || lc > CPK_APDU_SHORT_MAX_LC;
}

size_t
scp_put_header(uint8_t cla, const struct cpk_apdu *a, size_t lc, bool extended,
    uint8_t hdr[SCP_HEADER_MAX])
{
	hdr[0] = cla;
	hdr[1] = a->ins;
	hdr[2] = a->p1;
	hdr[3] = a->p2;
	if (!extended) {
		hdr[4] = (uint8_t)lc;
		return 5;
	}
	hdr[4] = 0x00;
	hdr[5] = (uint8_t)(lc >> 8);
	hdr[6] = (uint8_t)lc;
	return 7;
}

cpk_status
scp_pseudo_random_challenge(const struct scp_keyset *keys, enum scp_version v,
    const uint8_t *counter, size_t counter_len, const uint8_t *aid, size_t aidlen,
    uint8_t *out, size_t *outlen, struct cpk_error *err)
{
	struct scp_keys k;
	cpk_status ret;

	scp_keys_from_bytes(&k, keys);
	ret = scp_pseudo_random_challenge_keys(&k, v, counter, counter_len, aid, aidlen, out,
	    outlen, err);
	scp_keys_clear(&k);
	return ret;
}

cpk_status
scp_pseudo_random_challenge_keys(const struct scp_keys *keys, enum scp_version v,
    const uint8_t *counter, size_t counter_len, const uint8_t *aid, size_t aidlen,
    uint8_t *out, size_t *outlen, struct cpk_error *err)
{
	uint8_t ctx[3 + SCP_AID_MAX], key[16], mac[8];
	cpk_status ret = CPK_ERR_ARG;

	*outlen = 0;
	if (aidlen < 5 || aidlen > SCP_AID_MAX) {
		ret = cpk_error_set(err, CPK_ERR_ARG, "security domain AID of %zu bytes", aidlen);
		goto out;
	}
	if (v == SCP03) {
		if (counter_len != 3 || keys->alg != GP_KEY_AES) {
			ret = cpk_error_set(err, CPK_ERR_ARG, "SCP03 challenge needs a 3-byte counter and AES keys");
			goto out;
		}
		memcpy(ctx, counter, 3);
		memcpy(ctx + 3, aid, aidlen);
		ret = keyref_scp03_kdf(&keys->enc, 0x02, 0x0040, ctx, 3 + aidlen, out, err);
		if (ret == CPK_OK)
			*outlen = 8;
	} else if (v == SCP02) {
		static const uint8_t zero[8];

		if (counter_len != 2 || keys->alg != GP_KEY_3DES || keys->len != 16) {
			ret = cpk_error_set(err, CPK_ERR_ARG, "SCP02 challenge needs a 2-byte counter and 3DES keys");
			goto out;
		}
		if ((ret = scp02_session_key(&keys->mac, 0x0101, counter, key, err)) != CPK_OK)
			goto out;
		if ((ret = gp_retail_mac(key, zero, aid, aidlen, mac, err)) != CPK_OK)
			goto out;
		memcpy(out, mac, 6);
		*outlen = 6;
	} else {
		ret = cpk_error_set(err, CPK_ERR_UNSUPPORTED, "secure channel protocol %d", (int)v);
	}
out:
	cpk_cleanse(key, sizeof(key));
	cpk_cleanse(mac, sizeof(mac));
	return ret;
}

void
scp_session_clear(struct scp_session *s)
{
	if (s == NULL)
		return;
	keyref_clear(&s->dek);
	gp_crypto_release();	/* the session keys' kept contexts (gp_crypto.h) */
	cpk_cleanse(s, sizeof(*s));
}

cpk_status
scp_session_begin(struct scp_session *s, const struct scp_keyset *keys, enum scp_version v,
    uint8_t i, const uint8_t host_challenge[SCP_CHALLENGE_LEN],
    const struct scp_iu_response *iu, struct cpk_error *err)
{
	struct scp_keys k;
	cpk_status ret;

	scp_keys_from_bytes(&k, keys);
	ret = scp_session_begin_keys(s, &k, v, i, host_challenge, iu, err);
	scp_keys_clear(&k);
	return ret;
}

cpk_status
scp_session_begin_keys(struct scp_session *s, const struct scp_keys *keys, enum scp_version v,
    uint8_t i, const uint8_t host_challenge[SCP_CHALLENGE_LEN],
    const struct scp_iu_response *iu, struct cpk_error *err)
{
	cpk_status ret;

	/* s may be uninitialized: no keyref_clear of what it holds. */
	cpk_cleanse(s, sizeof(*s));
	if ((ret = scp_i_supported(v, i, err)) != CPK_OK)
		goto out;
	if (iu->scp != (uint8_t)v) {
		ret = cpk_error_set(err, CPK_ERR_VERIFY,
		    "the card answered for SCP%02X, but the session is SCP%02d", iu->scp, (int)v);
		goto out;
	}
	if (v == SCP03 && iu->i != i) {
		ret = cpk_error_set(err, CPK_ERR_VERIFY,
		    "the card uses SCP03 i=%02X, but the session expects i=%02X", iu->i, i);
		goto out;
	}
	if (v == SCP02 && (keys->alg != GP_KEY_3DES || keys->len != 16)) {
		ret = cpk_error_set(err, CPK_ERR_ARG, "SCP02 needs a 16-byte 3DES key set");
		goto out;
	}
	if (v == SCP03 && (keys->alg != GP_KEY_AES || !gp_key_len_valid(GP_KEY_AES, keys->len))) {
		ret = cpk_error_set(err, CPK_ERR_ARG, "SCP03 needs an AES-128, -192 or -256 key set");
		goto out;
	}
	s->version = v;
	s->i = i;
	s->kvn = iu->kvn;
	s->key_len = keys->len;
	memcpy(s->host_challenge, host_challenge, SCP_CHALLENGE_LEN);
	memcpy(s->card_challenge, iu->card_challenge, iu->challenge_len);
	s->challenge_len = iu->challenge_len;
	memcpy(s->counter, iu->counter, iu->counter_len);
	s->counter_len = iu->counter_len;
	ret = v == SCP02 ? scp02_derive(s, keys, err) : scp03_derive(s, keys, err);
	if (ret != CPK_OK)
		goto out;
	s->state = SCP_STATE_INITIALIZED;
out:
	if (ret != CPK_OK)
		scp_session_clear(s);
	return ret;
}

cpk_status
scp_check_card_cryptogram(const struct scp_session *s, const uint8_t cryptogram[8],
    struct cpk_error *err)
{
	if (s->state != SCP_STATE_INITIALIZED)
		return cpk_error_set(err, CPK_ERR_STATE, "no INITIALIZE UPDATE to check");
	if (!cpk_ct_equal(cryptogram, s->card_cryptogram, 8))
		return cpk_error_set(err, CPK_ERR_VERIFY,
		    "card cryptogram mismatch: the card does not hold these keys "
		    "(wrong key set, key version or diversification)");
	return CPK_OK;
}

cpk_status
scp_external_authenticate(struct scp_session *s, uint8_t level, struct cpk_buf *out,
    struct cpk_error *err)
{
	struct cpk_apdu a = {
		.cla = 0x80, .ins = 0x82, .p1 = level, .p2 = 0x00,
		.data = s->host_cryptogram, .lc = 8,
	};
	cpk_status ret;

	if (s->state != SCP_STATE_INITIALIZED)
		return cpk_error_set(err, CPK_ERR_STATE,
		    "EXTERNAL AUTHENTICATE needs a fresh INITIALIZE UPDATE");
	if ((ret = scp_level_allowed(s->version, s->i, level, err)) != CPK_OK)
		return ret;
	s->level = level;
	ret = s->version == SCP02 ? scp02_wrap(s, &a, true, out, err) :
	    scp03_wrap(s, &a, true, out, err);
	if (ret != CPK_OK) {
		scp_session_clear(s);
		return ret;
	}
	s->state = SCP_STATE_OPEN;
	return CPK_OK;
}

cpk_status
scp_card_external_authenticate(struct scp_session *s, const uint8_t *apdu, size_t n,
    struct cpk_error *err)
{
	struct cpk_buf plain = CPK_BUF_INIT;
	struct cpk_apdu a, p;
	cpk_status ret;

	if (s->state != SCP_STATE_INITIALIZED) {
		ret = cpk_error_set(err, CPK_ERR_STATE,
		    "EXTERNAL AUTHENTICATE without INITIALIZE UPDATE");
		goto out;
	}
	if ((ret = cpk_apdu_parse(apdu, n, &a, err)) != CPK_OK)
		goto out;
	/* A short APDU only: the C-MAC covers the short form, not an extended re-encoding. */
	if ((a.cla & 0x04) == 0 || a.ins != 0x82 || a.p2 != 0x00 || a.lc != 16 || a.has_le ||
	    a.extended || check_channel_cla(NULL, a.cla, err) != CPK_OK) {
		ret = cpk_error_set(err, CPK_ERR_PARSE, "malformed EXTERNAL AUTHENTICATE");
		goto out;
	}
	/* EXTERNAL AUTHENTICATE comes on the channel of INITIALIZE UPDATE. */
	if ((a.cla & 0x03) != s->channel) {
		ret = cpk_error_set(err, CPK_ERR_VERIFY,
		    "EXTERNAL AUTHENTICATE on logical channel %d, INITIALIZE UPDATE was on %d",
		    a.cla & 0x03, s->channel);
		goto out;
	}
	if ((ret = scp_level_allowed(s->version, s->i, a.p1, err)) != CPK_OK)
		goto out;
	s->level = a.p1;
	ret = s->version == SCP02 ? scp02_unwrap(s, &a, true, &plain, err) :
	    scp03_unwrap(s, &a, true, &plain, err);
	if (ret != CPK_OK)
		goto out;
	if ((ret = cpk_apdu_parse(plain.data, plain.len, &p, err)) != CPK_OK)
		goto out;
	if (p.lc != 8 || !cpk_ct_equal(p.data, s->host_cryptogram, 8)) {
		ret = cpk_error_set(err, CPK_ERR_VERIFY, "host cryptogram mismatch");
		goto out;
	}
	s->state = SCP_STATE_OPEN;
	ret = CPK_OK;
out:
	if (ret != CPK_OK)
		scp_session_clear(s);
	cpk_buf_free(&plain);
	return ret;
}

/*
 * Channels 0-3 of the first interindustry and proprietary classes only; with
 * an open session, the session's channel only.
 */
static cpk_status
check_channel_cla(const struct scp_session *s, uint8_t cla, struct cpk_error *err)
{
	if ((cla & 0x40) != 0 || cla == 0xFF)
		return cpk_error_set(err, CPK_ERR_UNSUPPORTED,
		    "CLA %02X cannot be protected (logical channels 0-3 only)", cla);
	if (s != NULL && (cla & 0x03) != s->channel)
		return cpk_error_set(err, CPK_ERR_VERIFY,
		    "CLA %02X is for logical channel %d, but the secure channel is on channel %d",
		    cla, cla & 0x03, s->channel);
	return CPK_OK;
}

cpk_status
scp_wrap_command(struct scp_session *s, const uint8_t *apdu, size_t n, struct cpk_buf *out,
    struct cpk_error *err)
{
	struct cpk_apdu a;
	cpk_status ret;

	if (s->state != SCP_STATE_OPEN)
		return cpk_error_set(err, CPK_ERR_STATE, "the secure channel is not open");
	if ((ret = cpk_apdu_parse(apdu, n, &a, err)) != CPK_OK)
		return ret;
	if ((ret = check_channel_cla(s, a.cla, err)) != CPK_OK)
		return ret;
	if (a.cla & 0x04)
		return cpk_error_set(err, CPK_ERR_ARG,
		    "CLA %02X already marks secure messaging", a.cla);
	if (a.lc > scp_max_plain_data_lc(s->version, s->level, CPK_APDU_EXT_MAX_LC))
		return cpk_error_set(err, CPK_ERR_RANGE,
		    "command data of %zu bytes does not fit the secure channel "
		    "(at most %zu at security level %02X)", a.lc,
		    scp_max_plain_data_lc(s->version, s->level, CPK_APDU_EXT_MAX_LC), s->level);
	return s->version == SCP02 ? scp02_wrap(s, &a, false, out, err) :
	    scp03_wrap(s, &a, false, out, err);
}

cpk_status
scp_unwrap_command(struct scp_session *s, const uint8_t *apdu, size_t n, struct cpk_buf *out,
    struct cpk_error *err)
{
	struct cpk_apdu a;
	cpk_status ret;

	if (s->state != SCP_STATE_OPEN) {
		ret = cpk_error_set(err, CPK_ERR_STATE, "the secure channel is not open");
		goto out;
	}
	if ((ret = cpk_apdu_parse(apdu, n, &a, err)) != CPK_OK)
		goto out;
	if ((ret = check_channel_cla(s, a.cla, err)) != CPK_OK)
		goto out;
	if ((a.cla & 0x04) == 0 || a.lc < 8) {
		ret = cpk_error_set(err, CPK_ERR_VERIFY, "command without a C-MAC");
		goto out;
	}
	ret = s->version == SCP02 ? scp02_unwrap(s, &a, false, out, err) :
	    scp03_unwrap(s, &a, false, out, err);
out:
	if (ret != CPK_OK)
		scp_session_clear(s);
	return ret;
}

bool
scp_sw_protected(uint16_t sw)
{
	return sw == 0x9000 || (sw >> 8) == 0x62 || (sw >> 8) == 0x63;
}

cpk_status
scp_wrap_response(struct scp_session *s, const uint8_t *data, size_t n, uint16_t sw,
    struct cpk_buf *out, struct cpk_error *err)
{
	struct cpk_buf body = CPK_BUF_INIT;
	uint8_t mac[8];
	cpk_status ret;

	if (s->state != SCP_STATE_OPEN || !(s->level & SCP_SL_RMAC) || !scp_sw_protected(sw)) {
		if ((ret = cpk_buf_append(out, data, n, err)) == CPK_OK)
			ret = cpk_buf_append_u16be(out, sw, err);
		goto out;
	}
	if ((s->level & SCP_SL_RENC) && n > 0)
		ret = scp03_renc(s, 1, data, n, &body, err);
	else
		ret = cpk_buf_append(&body, data, n, err);
	if (ret != CPK_OK)
		goto out;
	if (body.len > 256 - 8) {
		ret = cpk_error_set(err, CPK_ERR_RANGE, "response of %zu bytes too long for R-MAC",
		    body.len);
		goto out;
	}
	ret = s->version == SCP02 ? scp02_rmac(s, body.data, body.len, sw, mac, err) :
	    scp03_rmac(s, body.data, body.len, sw, mac, err);
	if (ret != CPK_OK)
		goto out;
	if ((ret = cpk_buf_append(out, body.data, body.len, err)) != CPK_OK ||
	    (ret = cpk_buf_append(out, mac, sizeof(mac), err)) != CPK_OK)
		goto out;
	ret = cpk_buf_append_u16be(out, sw, err);
out:
	cpk_buf_free(&body);
	return ret;
}

cpk_status
scp_unwrap_response(struct scp_session *s, const uint8_t *resp, size_t n, struct cpk_buf *out,
    uint16_t *sw, struct cpk_error *err)
{
	struct cpk_rapdu r;
	uint8_t mac[8];
	size_t body;
	cpk_status ret;

	if ((ret = cpk_rapdu_parse(resp, n, &r, err)) != CPK_OK)
		return ret;
	*sw = r.sw;
	if (s->state != SCP_STATE_OPEN || !(s->level & SCP_SL_RMAC) || !scp_sw_protected(r.sw))
		return cpk_buf_append(out, r.data, r.len, err);
	if (r.len < 8)
		return cpk_error_set(err, CPK_ERR_VERIFY,
		    "response of %zu bytes is too short to carry its R-MAC", r.len);
	body = r.len - 8;
	ret = s->version == SCP02 ? scp02_rmac(s, r.data, body, r.sw, mac, err) :
	    scp03_rmac(s, r.data, body, r.sw, mac, err);
	if (ret != CPK_OK)
		return ret;
	if (!cpk_ct_equal(mac, r.data + body, 8))
		return cpk_error_set(err, CPK_ERR_VERIFY, "response R-MAC mismatch");
	if ((s->level & SCP_SL_RENC) && body > 0)
		return scp03_renc(s, 0, r.data, body, out, err);
	return cpk_buf_append(out, r.data, body, err);
}

cpk_status
scp_emit_wrapped(const struct cpk_apdu *a, const uint8_t *body, size_t bodylen,
    const uint8_t mac[8], struct cpk_buf *out, struct cpk_error *err)
{
	uint8_t hdr[SCP_HEADER_MAX];
	bool ext = scp_extended(a, bodylen + 8);
	cpk_status st;

	if (bodylen > CPK_APDU_EXT_MAX_LC - 8)
		return cpk_error_set(err, CPK_ERR_RANGE,
		    "protected command data of %zu bytes exceeds an extended APDU", bodylen + 8);
	if ((st = cpk_buf_append(out, hdr, scp_put_header((uint8_t)(a->cla | 0x04), a,
	    bodylen + 8, ext, hdr), err)) != CPK_OK ||
	    (st = cpk_buf_append(out, body, bodylen, err)) != CPK_OK ||
	    (st = cpk_buf_append(out, mac, 8, err)) != CPK_OK)
		return st;
	/* The response grows with R-MAC and padding: always ask for all of it. */
	if (a->has_le && (st = cpk_buf_append_byte(out, 0x00, err)) == CPK_OK && ext)
		st = cpk_buf_append_byte(out, 0x00, err);
	return st;
}

cpk_status
scp_emit_plain(const struct cpk_apdu *a, const uint8_t *data, size_t n, struct cpk_buf *out,
    struct cpk_error *err)
{
	struct cpk_apdu p = *a;

	p.cla = (uint8_t)(a->cla & ~0x04);
	p.data = n > 0 ? data : NULL;
	p.lc = n;
	p.extended = false;
	return cpk_apdu_build(&p, out, err);
}

cpk_status
scp_encrypt_key(const struct scp_session *s, const uint8_t *key, size_t keylen, uint8_t *out,
    struct cpk_error *err)
{
	static const uint8_t zero[GP_AES_BLOCK];

	if (s->state == SCP_STATE_NONE)
		return cpk_error_set(err, CPK_ERR_STATE, "no secure channel for key encryption");
	if (s->version == SCP02) {
		if (keylen != 16)
			return cpk_error_set(err, CPK_ERR_UNSUPPORTED,
			    "SCP02 PUT KEY carries 16-byte 3DES keys, not %zu bytes", keylen);
		return s->dek.ops->ecb(&s->dek, 1, key, keylen, out, err);
	}
	if (keylen != 16 && keylen != 32)
		return cpk_error_set(err, CPK_ERR_UNSUPPORTED,
		    "SCP03 PUT KEY of a %zu-byte key is not supported (AES-128 or AES-256)", keylen);
	return s->dek.ops->cbc(&s->dek, 1, zero, key, keylen, out, err);
}

cpk_status
scp_decrypt_key(const struct scp_session *s, const uint8_t *enc, size_t len, uint8_t *out,
    struct cpk_error *err)
{
	static const uint8_t zero[GP_AES_BLOCK];

	if (s->state == SCP_STATE_NONE)
		return cpk_error_set(err, CPK_ERR_STATE, "no secure channel for key decryption");
	if (s->version == SCP02) {
		if (len != 16)
			return cpk_error_set(err, CPK_ERR_PARSE, "SCP02 key data of %zu bytes", len);
		return s->dek.ops->ecb(&s->dek, 0, enc, len, out, err);
	}
	if (len != 16 && len != 32)
		return cpk_error_set(err, CPK_ERR_PARSE, "SCP03 key data of %zu bytes", len);
	return s->dek.ops->cbc(&s->dek, 0, zero, enc, len, out, err);
}

cpk_status
scp_encrypt_data(const struct scp_session *s, const uint8_t *data, size_t n,
    struct cpk_buf *out, struct cpk_error *err)
{
	static const uint8_t zero[GP_AES_BLOCK];
	struct cpk_buf tmp = CPK_BUF_INIT;
	cpk_status ret;

	if (s->state == SCP_STATE_NONE) {
		ret = cpk_error_set(err, CPK_ERR_STATE, "no secure channel for data encryption");
		goto out;
	}
	if (s->version == SCP02) {
		if ((ret = gp_pad80(&tmp, data, n, GP_DES_BLOCK, err)) != CPK_OK ||
		    (ret = s->dek.ops->ecb(&s->dek, 1, tmp.data, tmp.len, tmp.data, err)) != CPK_OK)
			goto out;
	} else {
		if ((ret = gp_pad80(&tmp, data, n, GP_AES_BLOCK, err)) != CPK_OK ||
		    (ret = s->dek.ops->cbc(&s->dek, 1, zero, tmp.data, tmp.len, tmp.data,
		    err)) != CPK_OK)
			goto out;
	}
	ret = cpk_buf_append(out, tmp.data, tmp.len, err);
out:
	cpk_buf_free(&tmp);
	return ret;
}
