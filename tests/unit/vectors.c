/* SPDX-License-Identifier: BSD-2-Clause */
/* cpk tests: every vector of tests/vectors/ as a check. */
#include "vectors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpk_apdu.h"
#include "cpk_sw.h"
#include "gp_crypto.h"
#include "scp.h"

int vec_quiet;

#define BIG 512

static int
mismatch(const char *what, const uint8_t *got, size_t gotlen, const char *want)
{
	size_t i;

	if (vec_quiet)
		return 1;
	fprintf(stderr, "  mismatch in %s\n    got  ", what);
	for (i = 0; i < gotlen; i++)
		fprintf(stderr, "%02X", got[i]);
	fprintf(stderr, "\n    want %s\n", want != NULL ? want : "(missing field)");
	return 1;
}

/* Compare bytes with the hex field node[key]; 0 if equal. */
static int
expect(const char *what, const uint8_t *got, size_t gotlen, const struct vnode *node,
    const char *key)
{
	uint8_t want[BIG];
	size_t n = vdoc_hex(node, key, want, sizeof(want));

	if (n == (size_t)-1 || n != gotlen || (n > 0 && memcmp(got, want, n) != 0))
		return mismatch(what, got, gotlen, vdoc_str(node, key));
	return 0;
}

static int
fail(const char *what, const struct cpk_error *err)
{
	if (!vec_quiet)
		fprintf(stderr, "  %s failed: %s\n", what, err != NULL ? err->msg : "");
	return 1;
}

/* ---- where the keys are ---- */

static cpk_status
memory_key(enum gp_key_alg alg, const uint8_t *value, size_t len, struct keyref *out,
    struct cpk_error *err)
{
	(void)err;
	keyref_mem(out, alg, value, len);
	return CPK_OK;
}

vec_key_fn vec_key = memory_key;

/* The host side's key set, each key made by vec_key. */
static cpk_status
host_keys(const struct scp_keyset *k, struct scp_keys *out, struct cpk_error *err)
{
	cpk_status st;

	memset(out, 0, sizeof(*out));
	out->alg = k->alg;
	out->len = k->len;
	out->kvn = k->kvn;
	if ((st = vec_key(k->alg, k->enc, k->len, &out->enc, err)) != CPK_OK ||
	    (st = vec_key(k->alg, k->mac, k->len, &out->mac, err)) != CPK_OK ||
	    (st = vec_key(k->alg, k->dek, k->len, &out->dek, err)) != CPK_OK)
		scp_keys_clear(out);
	return st;
}

/*
 * Compare a key with the hex field node[key]: its bytes when it is in
 * memory; when it is in a token, what it encrypts against what the
 * expected key encrypts (two blocks).
 */
static int
expect_key(const char *what, const struct keyref *k, const struct vnode *node, const char *key)
{
	static const uint8_t blocks[16] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
		0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF };
	uint8_t want[GP_MAX_KEY], a[16], b[16];
	struct keyref ref;
	size_t n;
	int bad;

	if (keyref_in_memory(k))
		return expect(what, k->value, k->len, node, key);
	n = vdoc_hex(node, key, want, sizeof(want));
	if (n == (size_t)-1 || n != k->len)
		return mismatch(what, NULL, 0, vdoc_str(node, key));
	keyref_mem(&ref, k->alg, want, n);
	bad = k->ops->ecb(k, 1, blocks, sizeof(blocks), a, NULL) != CPK_OK ||
	    ref.ops->ecb(&ref, 1, blocks, sizeof(blocks), b, NULL) != CPK_OK ||
	    memcmp(a, b, sizeof(a)) != 0;
	keyref_clear(&ref);
	if (bad && !vec_quiet)
		fprintf(stderr, "  mismatch in %s (a key in a token: it encrypts otherwise)\n", what);
	return bad;
}

/* KCV (PROTOCOLS.md) with the key's own encryption. */
static int
key_kcv(const struct keyref *k, uint8_t kcv[3])
{
	uint8_t in[16], out[16];

	memset(in, k->alg == GP_KEY_AES ? 0x01 : 0x00, sizeof(in));
	if (k->ops->ecb(k, 1, in, k->alg == GP_KEY_AES ? 16 : 8, out, NULL) != CPK_OK)
		return 1;
	memcpy(kcv, out, 3);
	return 0;
}

/* ---- cmac.yaml ---- */

static int
check_cmac(const struct vnode *v, const struct vnode *ctx)
{
	uint8_t key[32], msg[BIG], mac[16];
	size_t kl = vdoc_hex(v, "key", key, sizeof(key));
	size_t ml = vdoc_hex(v, "message", msg, sizeof(msg));
	struct cpk_error err;

	struct keyref k;
	int bad;

	(void)ctx;
	if (kl == (size_t)-1 || ml == (size_t)-1)
		return 1;
	if (gp_aes_cmac(key, kl, msg, ml, mac, &err) != CPK_OK)
		return fail("AES-CMAC", &err);
	bad = expect("mac", mac, sizeof(mac), v, "mac");
	/* The same through a key reference (vec_key: memory, or a token). */
	if (vec_key(GP_KEY_AES, key, kl, &k, &err) != CPK_OK)
		return bad + fail("key", &err);
	if (k.ops->cmac(&k, msg, ml, mac, &err) != CPK_OK)
		bad += fail("AES-CMAC (key reference)", &err);
	else
		bad += expect("mac (key reference)", mac, sizeof(mac), v, "mac");
	keyref_clear(&k);
	return bad;
}

/* ---- diversification.yaml ---- */

static int
kcv_type(const struct vnode *v, enum gp_key_alg *alg)
{
	const char *t = vdoc_str(v, "kcv_type");

	if (t != NULL && strcmp(t, "aes") == 0)
		*alg = GP_KEY_AES;
	else if (t != NULL && strcmp(t, "3des") == 0)
		*alg = GP_KEY_3DES;
	else
		return 1;
	return 0;
}

/* The same card key through key references: the master made by vec_key. */
static int
diversify_ref(const struct vnode *v, enum gp_diversification scheme, enum gp_key_alg alg,
    const uint8_t *master, size_t ml, const uint8_t kdd[10], enum gp_key_type type,
    const char *key, const char *kcv_field)
{
	struct keyref m, card;
	struct cpk_error err;
	uint8_t kcv[3];
	int bad = 0;

	if (vec_key(alg, master, ml, &m, &err) != CPK_OK)
		return fail("master key", &err);
	if (keyref_diversify(&m, scheme, kdd, type, &card, &err) != CPK_OK) {
		keyref_clear(&m);
		return fail("diversification (key reference)", &err);
	}
	if (vdoc_get(v, key) != NULL)
		bad += expect_key(key, &card, v, key);
	if (key_kcv(&card, kcv) != 0)
		bad++;
	else
		bad += expect(kcv_field, kcv, 3, v, kcv_field);
	keyref_clear(&card);
	keyref_clear(&m);
	return bad;
}

static int
check_diversification(const struct vnode *v, const struct vnode *ctx)
{
	static const struct {
		const char *key, *kcv;
		enum gp_key_type type;
	} parts[] = {
		{ "enc", "enc_kcv", GP_KEY_ENC },
		{ "mac", "mac_kcv", GP_KEY_MAC },
		{ "dek", "dek_kcv", GP_KEY_DEK },
	};
	uint8_t master[32], kdd[10], key[32], kcv[3];
	size_t ml = vdoc_hex(v, "master_key", master, sizeof(master)), i;
	enum gp_diversification scheme;
	enum gp_key_alg alg;
	struct cpk_error err;
	int bad = 0, seen = 0;

	(void)ctx;
	if (ml == (size_t)-1 || vdoc_hex(v, "kdd", kdd, sizeof(kdd)) != 10 ||
	    kcv_type(v, &alg) != 0 ||
	    gp_diversification_parse(vdoc_str(v, "scheme") ? vdoc_str(v, "scheme") : "", &scheme,
	    &err) != CPK_OK)
		return 1;
	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		if (vdoc_get(v, parts[i].key) == NULL && vdoc_get(v, parts[i].kcv) == NULL)
			continue;
		seen++;
		if (gp_diversify_key(scheme, master, ml, kdd, parts[i].type, key, &err) != CPK_OK) {
			bad += fail("diversification", &err);
			continue;
		}
		if (vdoc_get(v, parts[i].key) != NULL)
			bad += expect(parts[i].key, key, ml, v, parts[i].key);
		if (gp_kcv(alg, key, ml, kcv, &err) != CPK_OK)
			bad += fail("KCV", &err);
		else
			bad += expect(parts[i].kcv, kcv, 3, v, parts[i].kcv);
		bad += diversify_ref(v, scheme, alg, master, ml, kdd, parts[i].type, parts[i].key,
		    parts[i].kcv);
	}
	return bad + (seen == 0);
}

static int
check_kcv(const struct vnode *v, const struct vnode *ctx)
{
	uint8_t key[32], kcv[3];
	size_t kl = vdoc_hex(v, "key", key, sizeof(key));
	enum gp_key_alg alg;
	struct cpk_error err;

	(void)ctx;
	if (kl == (size_t)-1 || kcv_type(v, &alg) != 0)
		return 1;
	if (gp_kcv(alg, key, kl, kcv, &err) != CPK_OK)
		return fail("KCV", &err);
	return expect("kcv", kcv, 3, v, "kcv");
}

/* ---- secure channel sessions ---- */

struct vsess {
	enum scp_version v;
	uint8_t i, level;
	struct scp_keyset keys;
	struct scp_keys hkeys;		/* the host side's: vec_key's */
	uint8_t host_challenge[8];
	uint8_t aid[16];
	size_t aidlen;
	struct scp_session host, card;
};

/* The host side begins with keys made by vec_key (s->v, s->i set). */
static cpk_status
host_begin(struct vsess *s, const struct scp_iu_response *iu, struct cpk_error *err)
{
	cpk_status st;

	scp_keys_clear(&s->hkeys);
	if ((st = host_keys(&s->keys, &s->hkeys, err)) != CPK_OK)
		return st;
	return scp_session_begin_keys(&s->host, &s->hkeys, s->v, s->i, s->host_challenge, iu,
	    err);
}

static int
load_keys(const struct vnode *v, const char *enc, const char *mac, const char *dek,
    enum gp_key_alg alg, struct scp_keyset *k)
{
	size_t a, b, c;

	memset(k, 0, sizeof(*k));
	a = vdoc_hex(v, enc, k->enc, sizeof(k->enc));
	b = vdoc_hex(v, mac, k->mac, sizeof(k->mac));
	c = vdoc_hex(v, dek, k->dek, sizeof(k->dek));
	if (a == (size_t)-1 || a != b || b != c || !gp_key_len_valid(alg, a))
		return 1;
	k->alg = alg;
	k->len = a;
	return 0;
}

/*
 * Host and card side of INITIALIZE UPDATE: the host parses the vector's
 * response and checks the card cryptogram; the card side rebuilds the
 * response from its keys (and, when `i` says so, its pseudo-random
 * challenge) and must produce the vector's bytes.
 */
static int
run_initialize_update(struct vsess *s, const struct vnode *v, bool pseudo)
{
	struct scp_iu_response iu, mine;
	struct cpk_buf out = CPK_BUF_INIT;
	struct cpk_error err;
	uint8_t raw[64], chal[8];
	size_t n = vdoc_hex(v, "initialize_update_response", raw, sizeof(raw)), cl;
	int bad = 0;

	if (n == (size_t)-1)
		return 1;
	if (scp_iu_response_parse(raw, n, &iu, &err) != CPK_OK)
		return fail("INITIALIZE UPDATE response parse", &err);
	if (s->v == SCP03)
		s->i = iu.i;
	if (host_begin(s, &iu, &err) != CPK_OK)
		return fail("host session", &err);
	if (scp_check_card_cryptogram(&s->host, iu.card_cryptogram, &err) != CPK_OK)
		return fail("card cryptogram", &err);
	/* Card side. */
	mine = iu;
	memset(mine.card_cryptogram, 0, sizeof(mine.card_cryptogram));
	if (pseudo) {
		if (scp_pseudo_random_challenge_keys(&s->hkeys, s->v, iu.counter, iu.counter_len,
		    s->aid, s->aidlen, chal, &cl, &err) != CPK_OK)
			return fail("pseudo-random challenge", &err);
		memcpy(mine.card_challenge, chal, cl);
		bad += expect("pseudo-random card challenge", chal, cl, v, "card_challenge");
	}
	if (scp_session_begin(&s->card, &s->keys, s->v, s->i, s->host_challenge, &mine, &err) != CPK_OK)
		return fail("card session", &err);
	memcpy(mine.card_cryptogram, s->card.card_cryptogram, 8);
	if (scp_iu_response_build(&mine, &out, &err) != CPK_OK)
		bad += fail("response build", &err);
	else
		bad += expect("card-side INITIALIZE UPDATE response", out.data, out.len, v,
		    "initialize_update_response");
	cpk_buf_free(&out);
	return bad;
}

/* Fields every session vector states about the parsed response. */
static int
check_iu_fields(const struct vsess *s, const struct vnode *v)
{
	struct scp_iu_response iu;
	uint8_t raw[64], info[3];
	size_t n = vdoc_hex(v, "initialize_update_response", raw, sizeof(raw));
	int bad = 0;

	if (n == (size_t)-1 || scp_iu_response_parse(raw, n, &iu, NULL) != CPK_OK)
		return 1;
	info[0] = iu.kvn;
	info[1] = iu.scp;
	info[2] = iu.i;
	bad += expect("kdd", iu.kdd, 10, v, "kdd");
	bad += expect("key_info", info, s->v == SCP03 ? 3 : 2, v, "key_info");
	bad += expect("card_challenge", iu.card_challenge, iu.challenge_len, v, "card_challenge");
	bad += expect("card_cryptogram", iu.card_cryptogram, 8, v, "card_cryptogram");
	bad += expect("sequence_counter", iu.counter, iu.counter_len, v, "sequence_counter");
	bad += expect("host_cryptogram", s->host.host_cryptogram, 8, v, "host_cryptogram");
	return bad;
}

static int
check_iu_command(const struct vsess *s, const struct vnode *v, int kvn)
{
	struct cpk_buf out = CPK_BUF_INIT;
	int bad;

	if (kvn < 0 || scp_initialize_update_apdu((uint8_t)kvn, s->host_challenge, &out, NULL) != CPK_OK)
		return 1;
	bad = expect("INITIALIZE UPDATE command", out.data, out.len, v, "initialize_update_command");
	cpk_buf_free(&out);
	return bad;
}

/* EXTERNAL AUTHENTICATE on the host side, verified by the card side. */
static int
run_external_authenticate(struct vsess *s, const struct vnode *v, const char *field)
{
	struct cpk_buf ea = CPK_BUF_INIT;
	struct cpk_error err;
	int bad = 0;

	if (scp_external_authenticate(&s->host, s->level, &ea, &err) != CPK_OK)
		return fail("EXTERNAL AUTHENTICATE", &err);
	if (strcmp(field, "external_authenticate") == 0) {
		bad += expect("EXTERNAL AUTHENTICATE", ea.data, ea.len, v, field);
	} else {
		uint8_t want[64];
		size_t wl = vdoc_hex(v, field, want, sizeof(want));

		if (wl == (size_t)-1 || wl > ea.len)
			bad++;
		else
			bad += expect("EXTERNAL AUTHENTICATE prefix", ea.data, wl, v, field);
	}
	if (scp_card_external_authenticate(&s->card, ea.data, ea.len, &err) != CPK_OK)
		bad += fail("card-side EXTERNAL AUTHENTICATE", &err);
	cpk_buf_free(&ea);
	return bad;
}

/* Responses: the card side protects `plain`, the host side recovers it. */
static int
run_response(struct vsess *s, const struct vnode *r)
{
	struct cpk_buf wire = CPK_BUF_INIT, plain = CPK_BUF_INIT;
	struct cpk_error err;
	uint8_t data[BIG], swb[2], icv[16];
	size_t n = vdoc_hex(r, "plain", data, sizeof(data));
	uint16_t sw = 0;
	int bad = 0;

	if (n == (size_t)-1 || vdoc_hex(r, "sw", swb, 2) != 2)
		return 1;
	if (scp_wrap_response(&s->card, data, n, (uint16_t)(swb[0] << 8 | swb[1]), &wire, &err) != CPK_OK) {
		bad += fail("card-side response wrap", &err);
		goto out;
	}
	/* wire = received || SW */
	bad += expect("protected response", wire.data, wire.len - 2, r, "received");
	if (vdoc_get(r, "r_mac") != NULL)
		bad += expect("R-MAC", wire.data + wire.len - 10, 8, r, "r_mac");
	if (scp_unwrap_response(&s->host, wire.data, wire.len, &plain, &sw, &err) != CPK_OK) {
		bad += fail("host-side response unwrap", &err);
		goto out;
	}
	bad += expect("unwrapped response", plain.data, plain.len, r, "plain");
	bad += (sw != (uint16_t)(swb[0] << 8 | swb[1]));
	/* The source's test expects the data back: a success status word. */
	if (!cpk_sw_is_success(sw))
		bad += mismatch("response status word (not a success)", swb, 2, vdoc_str(r, "sw"));
	if (vdoc_get(vdoc_get(r, "derived"), "r_enc_icv") != NULL) {
		memset(icv, 0, sizeof(icv));
		cpk_put_u32be(icv + 12, s->host.enc_counter);
		icv[0] = 0x80;
		if (gp_aes_ecb(1, s->host.s_enc, s->host.key_len, icv, 16, icv, &err) != CPK_OK)
			bad += fail("R-ENC ICV", &err);
		else
			bad += expect("R-ENC ICV", icv, 16, vdoc_get(r, "derived"), "r_enc_icv");
	}
out:
	cpk_buf_free(&wire);
	cpk_buf_free(&plain);
	return bad;
}

/* The ordered command list: wrap on the host, unwrap on the card. */
static int
run_commands(struct vsess *s, const struct vnode *cmds)
{
	struct cpk_buf wrapped = CPK_BUF_INIT, back = CPK_BUF_INIT;
	struct cpk_error err;
	uint8_t plain[BIG];
	size_t i, n;
	int bad = 0;

	if (cmds == NULL || cmds->kind != VN_SEQ || cmds->n == 0)
		return 1;
	for (i = 0; i < cmds->n; i++) {
		const struct vnode *c = cmds->items[i];

		cpk_buf_reset(&wrapped);
		cpk_buf_reset(&back);
		if ((n = vdoc_hex(c, "plain", plain, sizeof(plain))) == (size_t)-1)
			return bad + 1;
		if (scp_wrap_command(&s->host, plain, n, &wrapped, &err) != CPK_OK) {
			bad += fail("wrap", &err);
			break;
		}
		bad += expect(vdoc_str(c, "label") ? vdoc_str(c, "label") : "command",
		    wrapped.data, wrapped.len, c, "wrapped");
		if (scp_unwrap_command(&s->card, wrapped.data, wrapped.len, &back, &err) != CPK_OK) {
			bad += fail("card-side unwrap", &err);
			break;
		}
		bad += expect("card-side unwrapped command", back.data, back.len, c, "plain");
		if (vdoc_get(c, "response") != NULL)
			bad += run_response(s, vdoc_get(c, "response"));
		if (vdoc_get(vdoc_get(c, "derived"), "c_dec_icv") != NULL) {
			uint8_t icv[16] = { 0 };

			cpk_put_u32be(icv + 12, s->host.enc_counter);
			if (gp_aes_ecb(1, s->host.s_enc, s->host.key_len, icv, 16, icv, &err) != CPK_OK)
				bad += fail("C-DEC ICV", &err);
			else
				bad += expect("C-DEC ICV", icv, 16, vdoc_get(c, "derived"), "c_dec_icv");
		}
	}
	cpk_buf_free(&wrapped);
	cpk_buf_free(&back);
	return bad;
}

static int
check_session_keys(const struct scp_session *h, const struct vnode *d, const char *mac_name,
    const char *dek_name)
{
	int bad = 0;

	if (d == NULL)
		return 1;
	bad += expect("S-ENC", h->s_enc, h->key_len, d, "s_enc");
	bad += expect("S-MAC", h->s_mac, h->key_len, d, mac_name);
	if (vdoc_get(d, "r_mac") != NULL)
		bad += expect("S-RMAC", h->s_rmac, h->key_len, d, "r_mac");
	if (vdoc_get(d, "s_rmac") != NULL)
		bad += expect("S-RMAC", h->s_rmac, h->key_len, d, "s_rmac");
	if (dek_name != NULL)
		bad += expect_key("S-DEK", &h->dek, d, dek_name);
	return bad;
}

static void
vsess_clear(struct vsess *s)
{
	scp_session_clear(&s->host);
	scp_session_clear(&s->card);
	scp_keys_clear(&s->hkeys);
	scp_keyset_clear(&s->keys);
}

static int
check_scp03_pysim_session(const struct vnode *v, const struct vnode *group)
{
	struct vsess s;
	int bad = 0, kvn = vdoc_byte(v, "kvn"), level = vdoc_byte(v, "security_level");
	size_t bits;

	memset(&s, 0, sizeof(s));
	s.v = SCP03;
	s.aidlen = vdoc_hex(group, "sd_aid_inferred", s.aid, sizeof(s.aid));
	if (s.aidlen == (size_t)-1 || level < 0 ||
	    load_keys(v, "enc", "mac", "dek", GP_KEY_AES, &s.keys) != 0 ||
	    vdoc_hex(v, "host_challenge", s.host_challenge, 8) != 8)
		return 1;
	bits = vdoc_str(v, "key_bits") ? strtoul(vdoc_str(v, "key_bits"), NULL, 10) : 0;
	bad += bits != s.keys.len * 8;
	s.level = (uint8_t)level;
	bad += check_iu_command(&s, v, kvn);
	bad += run_initialize_update(&s, v, true);
	if (bad == 0) {
		bad += check_iu_fields(&s, v);
		bad += check_session_keys(&s.host, vdoc_get(v, "derived"), "s_mac", NULL);
		bad += run_external_authenticate(&s, v, "external_authenticate");
		bad += run_commands(&s, vdoc_get(v, "commands"));
	}
	vsess_clear(&s);
	return bad;
}

static int
check_scp03_pysim_group(const struct vnode *group, const struct vnode *ctx)
{
	const struct vnode *sessions = vdoc_get(group, "sessions");
	size_t i;
	int bad = 0;

	(void)ctx;
	if (sessions == NULL || sessions->kind != VN_SEQ || sessions->n == 0)
		return 1;
	for (i = 0; i < sessions->n; i++)
		bad += check_scp03_pysim_session(sessions->items[i], group);
	return bad;
}

static int
check_scp03_kaoh(const struct vnode *v, const struct vnode *ctx)
{
	struct vsess s;
	struct cpk_buf in = CPK_BUF_INIT;
	uint8_t raw[64], kctx[32];
	struct scp_iu_response iu;
	int bad = 0, level = vdoc_byte(v, "security_level"), i = vdoc_byte(v, "i");
	size_t n;

	(void)ctx;
	memset(&s, 0, sizeof(s));
	s.v = SCP03;
	s.aidlen = vdoc_hex(v, "sd_aid", s.aid, sizeof(s.aid));
	n = vdoc_hex(v, "initialize_update_response", raw, sizeof(raw));
	if (s.aidlen == (size_t)-1 || level < 0 || i < 0 || n == (size_t)-1 ||
	    load_keys(v, "enc", "mac", "dek", GP_KEY_AES, &s.keys) != 0 ||
	    vdoc_hex(v, "host_challenge", s.host_challenge, 8) != 8 ||
	    scp_iu_response_parse(raw, n, &iu, NULL) != CPK_OK)
		return 1;
	s.level = (uint8_t)level;
	bad += iu.i != (uint8_t)i;
	/* The PRF input of the pseudo-random challenge, block 1. */
	memcpy(kctx, iu.counter, 3);
	memcpy(kctx + 3, s.aid, s.aidlen);
	if (gp_scp03_kdf_input(0x02, 0x0040, 1, kctx, 3 + s.aidlen, &in, NULL) != CPK_OK)
		bad++;
	else
		bad += expect("challenge KDF input", in.data, in.len, vdoc_get(v, "derived"),
		    "card_challenge_kdf_input");
	cpk_buf_free(&in);
	bad += check_iu_command(&s, v, 0x00);
	bad += run_initialize_update(&s, v, true);
	if (bad == 0) {
		bad += check_iu_fields(&s, v);
		bad += check_session_keys(&s.host, vdoc_get(v, "derived"), "s_mac", NULL);
		bad += run_external_authenticate(&s, v, "external_authenticate");
		bad += run_commands(&s, vdoc_get(v, "commands"));
	}
	vsess_clear(&s);
	return bad;
}

static int
check_scp03_gppro(const struct vnode *v, const struct vnode *ctx)
{
	static const struct {
		uint8_t constant;
		const char *key, *kcv;
	} parts[] = {
		{ 0x04, "s_enc", "s_enc_kcv" },
		{ 0x06, "s_mac", "s_mac_kcv" },
		{ 0x07, "s_rmac", "s_rmac_kcv" },
	};
	uint8_t key[32], kc[32], out[32], kcv[3];
	size_t kl = vdoc_hex(v, "static_key", key, sizeof(key));
	size_t cl = vdoc_hex(v, "context", kc, sizeof(kc)), i;
	int bad = 0;

	(void)ctx;
	if (kl == (size_t)-1 || cl == (size_t)-1)
		return 1;
	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		if (gp_scp03_kdf(key, kl, parts[i].constant, (uint16_t)(kl * 8), kc, cl, out,
		    NULL) != CPK_OK || gp_kcv(GP_KEY_AES, out, kl, kcv, NULL) != CPK_OK) {
			bad++;
			continue;
		}
		bad += expect(parts[i].key, out, kl, v, parts[i].key);
		bad += expect(parts[i].kcv, kcv, 3, v, parts[i].kcv);
	}
	if (gp_kcv(GP_KEY_AES, key, kl, kcv, NULL) != CPK_OK)
		bad++;
	else
		bad += expect("static DEK KCV", kcv, 3, v, "dek_kcv");
	return bad;
}

/* ---- scp02.yaml ---- */

static int
check_scp02_pysim(const struct vnode *v, const struct vnode *ctx)
{
	struct vsess s;
	const struct vnode *neg = vdoc_get(v, "negative");
	int bad = 0, kvn = vdoc_byte(v, "kvn"), level = vdoc_byte(v, "security_level");
	size_t i;

	(void)ctx;
	memset(&s, 0, sizeof(s));
	s.v = SCP02;
	s.i = 0x15;
	if (level < 0 || load_keys(v, "enc", "mac", "dek", GP_KEY_3DES, &s.keys) != 0 ||
	    vdoc_hex(v, "host_challenge", s.host_challenge, 8) != 8)
		return 1;
	s.level = (uint8_t)level;
	bad += check_iu_command(&s, v, kvn);
	bad += run_initialize_update(&s, v, false);
	if (bad == 0) {
		bad += check_iu_fields(&s, v);
		bad += check_session_keys(&s.host, vdoc_get(v, "derived"), "c_mac", "s_dek");
		bad += run_external_authenticate(&s, v, "external_authenticate");
		bad += run_commands(&s, vdoc_get(v, "commands"));
	}
	vsess_clear(&s);
	/* Negative: a response whose cryptogram was altered must be refused. */
	if (neg == NULL || neg->kind != VN_SEQ || neg->n == 0)
		return bad + 1;
	for (i = 0; i < neg->n; i++) {
		struct scp_iu_response iu;
		struct cpk_error err;
		uint8_t raw[64];
		size_t n = vdoc_hex(neg->items[i], "initialize_update_response", raw, sizeof(raw));
		const char *want = vdoc_str(neg->items[i], "expect");

		memset(&s, 0, sizeof(s));
		if (n == (size_t)-1 || want == NULL ||
		    load_keys(v, "enc", "mac", "dek", GP_KEY_3DES, &s.keys) != 0 ||
		    vdoc_hex(v, "host_challenge", s.host_challenge, 8) != 8 ||
		    scp_iu_response_parse(raw, n, &iu, NULL) != CPK_OK ||
		    (s.v = SCP02, s.i = 0x15, host_begin(&s, &iu, NULL)) != CPK_OK) {
			vsess_clear(&s);
			bad++;
			continue;
		}
		cpk_error_clear(&err);
		if (scp_check_card_cryptogram(&s.host, iu.card_cryptogram, &err) != CPK_ERR_VERIFY ||
		    strstr(err.msg, want) == NULL) {
			if (!vec_quiet)
				fprintf(stderr, "  negative vector accepted or wrong message: %s\n", err.msg);
			bad++;
		}
		vsess_clear(&s);
	}
	return bad;
}

static int
check_scp02_gppro(const struct vnode *v, const struct vnode *ctx)
{
	static const struct {
		const char *key, *kcv;
		size_t off;
	} parts[] = {
		{ "s_enc", "s_enc_kcv", offsetof(struct scp_session, s_enc) },
		{ "c_mac", "c_mac_kcv", offsetof(struct scp_session, s_mac) },
		{ "r_mac", "r_mac_kcv", offsetof(struct scp_session, s_rmac) },
	};
	const struct vnode *ke = vdoc_get(v, "key_encryption");
	struct scp_iu_response iu;
	struct scp_session s;
	struct scp_keyset keys;
	struct scp_keys hk;
	uint8_t hc[8] = { 0 }, kcv[3], key[16], enc[16];
	size_t i;
	int bad = 0;

	(void)ctx;
	memset(&keys, 0, sizeof(keys));
	memset(&iu, 0, sizeof(iu));
	keys.alg = GP_KEY_3DES;
	keys.len = 16;
	if (vdoc_hex(v, "static_key", keys.enc, 16) != 16 ||
	    vdoc_hex(v, "sequence_counter", iu.counter, 2) != 2)
		return 1;
	memcpy(keys.mac, keys.enc, 16);
	memcpy(keys.dek, keys.enc, 16);
	iu.scp = 0x02;
	iu.counter_len = 2;
	iu.challenge_len = 6;
	if (host_keys(&keys, &hk, NULL) != CPK_OK)
		return 1;
	if (scp_session_begin_keys(&s, &hk, SCP02, 0x15, hc, &iu, NULL) != CPK_OK) {
		scp_keys_clear(&hk);
		return 1;
	}
	/* The session DEK: where the static DEK is (a token keeps it). */
	bad += expect_key("s_dek", &s.dek, v, "s_dek");
	if (key_kcv(&s.dek, kcv) != 0)
		bad++;
	else
		bad += expect("s_dek_kcv", kcv, 3, v, "s_dek_kcv");
	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		const uint8_t *k = (const uint8_t *)&s + parts[i].off;

		bad += expect(parts[i].key, k, 16, v, parts[i].key);
		if (gp_kcv(GP_KEY_3DES, k, 16, kcv, NULL) != CPK_OK)
			bad++;
		else
			bad += expect(parts[i].kcv, kcv, 3, v, parts[i].kcv);
	}
	if (ke == NULL || vdoc_hex(ke, "key", key, sizeof(key)) != 16 ||
	    scp_encrypt_key(&s, key, 16, enc, NULL) != CPK_OK)
		bad++;
	else
		bad += expect("PUT KEY key encryption", enc, 16, ke, "encrypted");
	scp_session_clear(&s);
	scp_keys_clear(&hk);
	scp_keyset_clear(&keys);
	return bad;
}

static int
check_scp02_real_card(const struct vnode *v, const struct vnode *ctx)
{
	const struct vnode *pr = vdoc_get(v, "pseudo_random_challenge");
	struct vsess s;
	struct cpk_apdu a;
	uint8_t cmd[64];
	size_t n;
	int bad = 0, level = vdoc_byte(v, "security_level");

	(void)ctx;
	memset(&s, 0, sizeof(s));
	s.v = SCP02;
	s.i = 0x55;
	if (level < 0 || pr == NULL ||
	    load_keys(v, "enc", "mac", "dek", GP_KEY_3DES, &s.keys) != 0 ||
	    vdoc_hex(v, "host_challenge", s.host_challenge, 8) != 8)
		return 1;
	s.aidlen = vdoc_hex(pr, "sd_aid", s.aid, sizeof(s.aid));
	if (s.aidlen == (size_t)-1)
		return 1;
	s.level = (uint8_t)level;
	/* The trace's INITIALIZE UPDATE has no Le (T=0); compare its fields. */
	n = vdoc_hex(v, "initialize_update_command", cmd, sizeof(cmd));
	if (n == (size_t)-1 || cpk_apdu_parse(cmd, n, &a, NULL) != CPK_OK || a.cla != 0x80 ||
	    a.ins != 0x50 || a.p1 != 0x00 || a.p2 != 0x00 || a.lc != 8 ||
	    memcmp(a.data, s.host_challenge, 8) != 0)
		bad += mismatch("INITIALIZE UPDATE command", cmd, n == (size_t)-1 ? 0 : n, NULL);
	bad += run_initialize_update(&s, v, true);
	if (bad == 0) {
		bad += check_iu_fields(&s, v);
		bad += expect("pseudo-random challenge", s.card.card_challenge, 6, pr, "card_challenge");
		bad += expect("S-ENC", s.host.s_enc, 16, v, "s_enc");
		bad += expect("C-MAC key", s.host.s_mac, 16, v, "c_mac");
		bad += expect_key("S-DEK", &s.host.dek, v, "s_dek");
		bad += run_external_authenticate(&s, v, "external_authenticate_prefix");
	}
	vsess_clear(&s);
	return bad;
}

/* ---- units ---- */

/* EMV CPS reads KDD[4..9]; VISA2 reads KDD[0..1] and KDD[4..7]. */
static bool
kdd_bytes_ignored(const struct vnode *v, const char *path, size_t byte)
{
	const char *scheme = vdoc_str(v, "scheme");

	if (strcmp(path, "kdd") != 0 || scheme == NULL)
		return false;
	if (strcmp(scheme, "emv") == 0)
		return byte < 4;
	if (strcmp(scheme, "visa2") == 0)
		return byte == 2 || byte == 3 || byte == 8 || byte == 9;
	return false;
}

static const char *const skip_unused_dek[] = { "dek", NULL };
static const char *const skip_sessions[] = { "sessions", "source", NULL };
static const char *const skip_negative[] = { "negative", NULL };

static int
add_seq(struct vec_unit *u, size_t cap, int n, const char *file, struct vnode *seq,
    int (*check)(const struct vnode *, const struct vnode *), const struct vnode *ctx,
    const char *const *skip)
{
	static char names[256][96];
	static int used;
	size_t i;

	if (seq == NULL || seq->kind != VN_SEQ)
		return -1;
	/* Every vector runs: one that does not fit is an error, not a skip. */
	if ((size_t)n + seq->n > cap || (size_t)used + seq->n > 256)
		return -1;
	for (i = 0; i < seq->n; i++, n++) {
		snprintf(names[used], sizeof(names[used]), "%s %s", file,
		    vdoc_str(seq->items[i], "name") ? vdoc_str(seq->items[i], "name") : "?");
		u[n] = (struct vec_unit){ names[used++], seq->items[i], check, ctx, skip, NULL };
		if (check == check_diversification)
			u[n].ignored = kdd_bytes_ignored;
	}
	return n;
}

static struct vnode *
get_mut(struct vnode *map, const char *key)
{
	return (struct vnode *)(uintptr_t)vdoc_get(map, key);
}

int
vec_units(const char *dir, struct vec_unit *u, size_t cap, struct vnode *docs[4])
{
	static const char *const files[4] = {
		"cmac.yaml", "diversification.yaml", "scp03.yaml", "scp02.yaml",
	};
	char path[1024];
	struct vnode *pysim;
	int n = 0, i;

	for (i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		if ((docs[i] = vdoc_load(path)) == NULL)
			return -1;
	}
	n = add_seq(u, cap, n, "cmac.yaml", get_mut(docs[0], "vectors"), check_cmac, NULL, NULL);
	if (n < 0)
		return -1;
	n = add_seq(u, cap, n, "diversification.yaml", get_mut(docs[1], "vectors"),
	    check_diversification, NULL, NULL);
	if (n < 0)
		return -1;
	n = add_seq(u, cap, n, "diversification.yaml", get_mut(docs[1], "kcv_vectors"),
	    check_kcv, NULL, NULL);
	if (n < 0)
		return -1;
	pysim = get_mut(docs[2], "pysim");
	n = add_seq(u, cap, n, "scp03.yaml pysim", get_mut(pysim, "sessions"),
	    check_scp03_pysim_session, pysim, skip_unused_dek);
	if (n < 0 || (size_t)n + 6 > cap)
		return -1;
	u[n++] = (struct vec_unit){ "scp03.yaml pysim (shared fields)", pysim,
	    check_scp03_pysim_group, NULL, skip_sessions, NULL };
	u[n++] = (struct vec_unit){ "scp03.yaml kaoh_get_status", get_mut(docs[2], "kaoh_get_status"),
	    check_scp03_kaoh, NULL, skip_unused_dek, NULL };
	u[n++] = (struct vec_unit){ "scp03.yaml gppro_session_keys",
	    get_mut(docs[2], "gppro_session_keys"), check_scp03_gppro, NULL, NULL, NULL };
	u[n++] = (struct vec_unit){ "scp02.yaml pysim", get_mut(docs[3], "pysim"),
	    check_scp02_pysim, NULL, skip_negative, NULL };
	u[n++] = (struct vec_unit){ "scp02.yaml gppro", get_mut(docs[3], "gppro"),
	    check_scp02_gppro, NULL, NULL, NULL };
	u[n++] = (struct vec_unit){ "scp02.yaml real_card_trace", get_mut(docs[3], "real_card_trace"),
	    check_scp02_real_card, NULL, NULL, NULL };
	for (i = 0; i < n; i++)
		if (u[i].node == NULL)
			return -1;
	return n;
}
