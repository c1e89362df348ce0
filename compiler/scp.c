/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: GlobalPlatform secure channel sessions, the parts common to every
 * protocol: the table of protocols, key sets, INITIALIZE UPDATE,
 * parameters, state, and dispatch to the protocol's operations.
 */
#include "scp.h"

#include <string.h>

#include "cpk_apdu.h"
#include "cpk_sw.h"
#include "scp_int.h"

/* The table: every protocol cpk implements (its keyless row: common/scp_proto.c). */
static const struct scp_ops *const protocols[] = { &scp02_ops, &scp03_ops };

static cpk_status check_channel_cla(const struct scp_session *s, uint8_t cla,
    struct cpk_error *err);

const struct scp_ops *
scp_ops_find(uint8_t id)
{
	size_t k;

	for (k = 0; k < sizeof(protocols) / sizeof(protocols[0]); k++)
		if (protocols[k]->proto->id == id)
			return protocols[k];
	return NULL;
}

static cpk_status
unknown_protocol(int v, struct cpk_error *err)
{
	return cpk_error_set(err, CPK_ERR_UNSUPPORTED, "secure channel protocol %d", v);
}

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
	const struct scp_ops *ops = scp_ops_find((uint8_t)v);

	if (ops == NULL)
		return unknown_protocol((int)v, err);
	return scp_proto_i_check(ops->proto, i, err);
}

bool
scp_i_pseudo_random(enum scp_version v, uint8_t i)
{
	const struct scp_ops *ops = scp_ops_find((uint8_t)v);

	return ops != NULL && scp_proto_pseudo_random(ops->proto, i);
}

cpk_status
scp_level_allowed(enum scp_version v, uint8_t i, uint8_t level, struct cpk_error *err)
{
	const struct scp_ops *ops = scp_ops_find((uint8_t)v);

	if (ops == NULL)
		return unknown_protocol((int)v, err);
	return scp_proto_level_check(ops->proto, i, level, err);
}

size_t
scp_max_plain_blocks(uint8_t level, size_t max_data, size_t block)
{
	/* The C-MAC takes 8 bytes; C-DEC pads 80 00.. to whole blocks, at least one byte. */
	if (max_data > CPK_APDU_EXT_MAX_LC)
		max_data = CPK_APDU_EXT_MAX_LC;
	if (max_data < 8 + block)
		return 0;
	return (level & SCP_SL_CDEC) ? (max_data - 8) / block * block - 1 : max_data - 8;
}

size_t
scp_max_plain_data(enum scp_version v, uint8_t level, size_t max_data)
{
	const struct scp_ops *ops = scp_ops_find((uint8_t)v);

	return ops != NULL ? ops->max_plain_data(level, max_data) : 0;
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
	const struct scp_ops *ops = scp_ops_find((uint8_t)v);
	cpk_status ret;

	*outlen = 0;
	if (aidlen < 5 || aidlen > SCP_AID_MAX)
		return cpk_error_set(err, CPK_ERR_ARG, "security domain AID of %zu bytes", aidlen);
	if (ops == NULL)
		return unknown_protocol((int)v, err);
	if (counter_len != ops->proto->counter_len || !ops->keys_fit(keys->alg, keys->len))
		return cpk_error_set(err, CPK_ERR_ARG,
		    "%s challenge needs a %zu-byte counter and %s", ops->proto->name,
		    ops->proto->counter_len, ops->keys_text);
	if ((ret = ops->challenge(keys, counter, aid, aidlen, out, err)) == CPK_OK)
		*outlen = ops->proto->challenge_len;
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
	const struct scp_ops *ops = scp_ops_find((uint8_t)v);
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
	if (ops->proto->iu_has_i && iu->i != i) {
		ret = cpk_error_set(err, CPK_ERR_VERIFY,
		    "the card uses %s i=%02X, but the session expects i=%02X", ops->proto->name,
		    iu->i, i);
		goto out;
	}
	if (!ops->keys_fit(keys->alg, keys->len)) {
		ret = cpk_error_set(err, CPK_ERR_ARG, "%s needs %s", ops->proto->name,
		    ops->keys_text);
		goto out;
	}
	if (iu->counter_len > sizeof(s->counter) || iu->challenge_len > sizeof(s->card_challenge)) {
		ret = cpk_error_set(err, CPK_ERR_ARG,
		    "inconsistent INITIALIZE UPDATE response fields");
		goto out;
	}
	s->version = v;
	s->ops = ops;
	s->i = i;
	s->kvn = iu->kvn;
	s->key_len = keys->len;
	memcpy(s->host_challenge, host_challenge, SCP_CHALLENGE_LEN);
	memcpy(s->card_challenge, iu->card_challenge, iu->challenge_len);
	s->challenge_len = iu->challenge_len;
	memcpy(s->counter, iu->counter, iu->counter_len);
	s->counter_len = iu->counter_len;
	ret = ops->derive(s, keys, err);
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
	ret = s->ops->wrap(s, &a, true, out, err);
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
	ret = s->ops->unwrap(s, &a, true, &plain, err);
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
	size_t max;
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
	max = s->ops->max_plain_data(s->level, CPK_APDU_EXT_MAX_LC);
	if (a.lc > max)
		return cpk_error_set(err, CPK_ERR_RANGE,
		    "command data of %zu bytes does not fit the secure channel "
		    "(at most %zu at security level %02X)", a.lc, max, s->level);
	return s->ops->wrap(s, &a, false, out, err);
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
	ret = s->ops->unwrap(s, &a, false, out, err);
out:
	if (ret != CPK_OK)
		scp_session_clear(s);
	return ret;
}

/* R-ENC, when the protocol has it (scp_level_allowed refuses the level otherwise). */
static cpk_status
renc(const struct scp_session *s, int encrypt, const uint8_t *in, size_t n,
    struct cpk_buf *out, struct cpk_error *err)
{
	if (s->ops->renc == NULL)
		return cpk_error_set(err, CPK_ERR_UNSUPPORTED, "R-ENC is not part of %s",
		    s->ops->proto->name);
	return s->ops->renc(s, encrypt, in, n, out, err);
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
		ret = renc(s, 1, data, n, &body, err);
	else
		ret = cpk_buf_append(&body, data, n, err);
	if (ret != CPK_OK)
		goto out;
	if (body.len > 256 - 8) {
		ret = cpk_error_set(err, CPK_ERR_RANGE, "response of %zu bytes too long for R-MAC",
		    body.len);
		goto out;
	}
	ret = s->ops->rmac(s, body.data, body.len, sw, mac, err);
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
	ret = s->ops->rmac(s, r.data, body, r.sw, mac, err);
	if (ret != CPK_OK)
		return ret;
	if (!cpk_ct_equal(mac, r.data + body, 8))
		return cpk_error_set(err, CPK_ERR_VERIFY, "response R-MAC mismatch");
	if ((s->level & SCP_SL_RENC) && body > 0)
		return renc(s, 0, r.data, body, out, err);
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
	if (s->state == SCP_STATE_NONE)
		return cpk_error_set(err, CPK_ERR_STATE, "no secure channel for key encryption");
	return s->ops->encrypt_key(s, key, keylen, out, err);
}

cpk_status
scp_decrypt_key(const struct scp_session *s, const uint8_t *enc, size_t len, uint8_t *out,
    struct cpk_error *err)
{
	if (s->state == SCP_STATE_NONE)
		return cpk_error_set(err, CPK_ERR_STATE, "no secure channel for key decryption");
	return s->ops->decrypt_key(s, enc, len, out, err);
}

cpk_status
scp_encrypt_data(const struct scp_session *s, const uint8_t *data, size_t n,
    struct cpk_buf *out, struct cpk_error *err)
{
	if (s->state == SCP_STATE_NONE)
		return cpk_error_set(err, CPK_ERR_STATE, "no secure channel for data encryption");
	return s->ops->encrypt_data(s, data, n, out, err);
}

cpk_status
scp_dek_encrypt_padded(const struct scp_session *s, size_t block, bool cbc,
    const uint8_t *data, size_t n, struct cpk_buf *out, struct cpk_error *err)
{
	static const uint8_t zero[GP_AES_BLOCK];
	struct cpk_buf tmp = CPK_BUF_INIT;
	cpk_status ret;

	if ((ret = gp_pad80(&tmp, data, n, block, err)) != CPK_OK)
		goto out;
	ret = cbc ? s->dek.ops->cbc(&s->dek, 1, zero, tmp.data, tmp.len, tmp.data, err) :
	    s->dek.ops->ecb(&s->dek, 1, tmp.data, tmp.len, tmp.data, err);
	if (ret != CPK_OK)
		goto out;
	ret = cpk_buf_append(out, tmp.data, tmp.len, err);
out:
	cpk_buf_free(&tmp);
	return ret;
}
