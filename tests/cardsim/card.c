/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cardsim: the card core. Class and instruction checks, the secure channel
 * (INITIALIZE UPDATE, EXTERNAL AUTHENTICATE, unwrapping commands, wrapping
 * responses), SELECT and GET DATA; the content management commands live in
 * content.c, PUT KEY in putkey.c and GENERATE KEY PAIR in keypair.c.
 */
#include "card_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpk_tlv.h"
#include "gp_crypto.h"

static const uint8_t default_isd[] = { 0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00 };
static const uint8_t default_atr[] = { 0x3B, 0x80, 0x80, 0x01, 0x01 };

/* GlobalPlatform OIDs (1.2.840.114283.x) of the card recognition data. */
static const uint8_t oid_gp_prefix[] = { 0x2A, 0x86, 0x48, 0x86, 0xFC, 0x6B };

enum { CLS_ISO = 1, CLS_GP = 2 };

struct cs_command {
	uint8_t ins;
	unsigned classes;
	bool needs_auth;
	const char *name;
	uint16_t (*fn)(struct cardsim *, const struct cpk_apdu *, struct cpk_buf *);
};

static uint16_t cmd_select(struct cardsim *, const struct cpk_apdu *, struct cpk_buf *);
static uint16_t cmd_get_data(struct cardsim *, const struct cpk_apdu *, struct cpk_buf *);
static uint16_t cmd_initialize_update(struct cardsim *, const struct cpk_apdu *,
    struct cpk_buf *);

static const struct cs_command commands[] = {
	{ INS_SELECT, CLS_ISO, false, "SELECT", cmd_select },
	{ INS_GET_DATA, CLS_ISO | CLS_GP, false, "GET DATA", cmd_get_data },
	{ INS_INITIALIZE_UPDATE, CLS_GP, false, "INITIALIZE UPDATE", cmd_initialize_update },
	{ INS_EXTERNAL_AUTHENTICATE, CLS_GP, false, "EXTERNAL AUTHENTICATE", NULL },
	{ INS_DELETE, CLS_GP, true, "DELETE", cs_cmd_delete },
	{ INS_INSTALL, CLS_GP, true, "INSTALL", cs_cmd_install },
	{ INS_LOAD, CLS_GP, true, "LOAD", cs_cmd_load },
	{ INS_GET_STATUS, CLS_GP, true, "GET STATUS", cs_cmd_get_status },
	{ INS_STORE_DATA, CLS_GP, true, "STORE DATA", cs_cmd_store_data },
	{ INS_PUT_KEY, CLS_GP, true, "PUT KEY", cs_cmd_put_key },
	{ INS_SET_STATUS, CLS_GP, true, "SET STATUS", cs_cmd_set_status },
	{ INS_GENERATE_KEY_PAIR, CLS_ISO | CLS_GP, true, "GENERATE KEY PAIR",
	    cs_cmd_generate_key_pair },
	{ INS_VERIFY, CLS_ISO, false, "VERIFY", cs_cmd_verify },
};

uint16_t
cs_refuse(struct cardsim *c, uint16_t sw, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);
	return sw;
}

void
cs_stored_clear(struct cs_stored *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		cpk_cleanse(s->blocks[i].data, s->blocks[i].len);
		free(s->blocks[i].data);
	}
	free(s->blocks);
	s->blocks = NULL;
	s->n = 0;
}

cpk_status
cs_stored_add(struct cs_stored *s, uint8_t p1, uint8_t p2, const uint8_t *data, size_t len,
    struct cpk_error *err)
{
	struct cs_block *nb;
	uint8_t *copy = NULL;
	cpk_status st = CPK_ERR_NOMEM;

	if (s->n >= CS_MAX_BLOCKS) {
		st = cpk_error_set(err, CPK_ERR_RANGE, "more than %d stored blocks", CS_MAX_BLOCKS);
		goto out;
	}
	if (len > 0 && (copy = malloc(len)) == NULL) {
		st = cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	nb = realloc(s->blocks, (s->n + 1) * sizeof(*nb));
	if (nb == NULL) {
		st = cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	s->blocks = nb;
	if (len > 0)
		memcpy(copy, data, len);
	nb[s->n].p1 = p1;
	nb[s->n].p2 = p2;
	nb[s->n].data = copy;
	nb[s->n].len = len;
	s->n++;
	copy = NULL;
	st = CPK_OK;
out:
	free(copy);
	return st;
}

struct cardsim *
cardsim_new(void)
{
	struct cardsim *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	memcpy(c->id.isd.b, default_isd, sizeof(default_isd));
	c->id.isd.len = sizeof(default_isd);
	memcpy(c->id.atr, default_atr, sizeof(default_atr));
	c->id.atr_len = sizeof(default_atr);
	c->id.scp = SCP03;
	c->id.i = 0x70;
	c->id.memory = CS_DEFAULT_MEMORY;
	c->id.life_cycle = CS_LC_CARD_SECURED;
	c->faults.vanish_load_block = -1;
	c->faults.refuse_iu_sw = SW_CONDITIONS;
	cpk_buf_init(&c->load.data);
	cardsim_reset(c);
	return c;
}

void
cardsim_free(struct cardsim **card)
{
	struct cardsim *c;
	size_t i;

	if (card == NULL || *card == NULL)
		return;
	c = *card;
	for (i = 0; i < c->napps; i++)
		cs_stored_clear(&c->apps[i].stored);
	cs_stored_clear(&c->isd_stored);
	cpk_buf_free(&c->load.data);
	cpk_buf_free(&c->perso.open);
	cpk_cleanse(c, sizeof(*c));
	free(c);
	*card = NULL;
}

void
cs_abandon_load(struct cardsim *c)
{
	c->load.active = false;
	c->load.receipt = false;
	c->load.next_block = 0;
	c->load.hash_len = 0;
	cpk_buf_free(&c->load.data);
}

void
cs_close_session(struct cardsim *c)
{
	scp_session_clear(&c->sc);
	cs_abandon_load(c);
	c->perso.target = -1;
	c->perso.next_block = 0;
	cpk_buf_free(&c->perso.open);
	c->status.more = false;
}

void
cardsim_reset(struct cardsim *c)
{
	cs_close_session(c);
	c->selected = -1;
}

struct cs_loadfile *
cardsim_find_loadfile(struct cardsim *c, const uint8_t *aid, size_t len)
{
	size_t i;

	for (i = 0; i < c->nloadfiles; i++)
		if (c->loadfiles[i].aid.len == len && memcmp(c->loadfiles[i].aid.b, aid, len) == 0)
			return &c->loadfiles[i];
	return NULL;
}

struct cs_app *
cardsim_find_app(struct cardsim *c, const uint8_t *aid, size_t len)
{
	size_t i;

	for (i = 0; i < c->napps; i++)
		if (c->apps[i].aid.len == len && memcmp(c->apps[i].aid.b, aid, len) == 0)
			return &c->apps[i];
	return NULL;
}

struct cs_keyset *
cardsim_find_keyset(struct cardsim *c, uint8_t kvn)
{
	size_t i;

	if (kvn == 0x00)
		return c->nkeysets > 0 ? &c->keysets[0] : NULL;
	for (i = 0; i < c->nkeysets; i++)
		if (c->keysets[i].keys.kvn == kvn)
			return &c->keysets[i];
	return NULL;
}

size_t
cardsim_memory_used(const struct cardsim *c)
{
	size_t i, used = 0;

	for (i = 0; i < c->nloadfiles; i++)
		used += c->loadfiles[i].size;
	return used;
}

bool
cs_aid_in_use(struct cardsim *c, const uint8_t *aid, size_t len)
{
	if (c->id.isd.len == len && memcmp(c->id.isd.b, aid, len) == 0)
		return true;
	return cardsim_find_loadfile(c, aid, len) != NULL || cardsim_find_app(c, aid, len) != NULL;
}

size_t
cs_response_limit(const struct cardsim *c, const struct cpk_apdu *a)
{
	size_t limit = a->has_le ? a->ne : CPK_APDU_SHORT_MAX_NE;

	if (c->sc.state == SCP_STATE_OPEN && (c->sc.level & SCP_SL_RMAC)) {
		/* Room for the R-MAC, and for R-ENC's padding to whole blocks. */
		if ((c->sc.level & SCP_SL_RENC) && limit > 239)
			limit = 239;
		else if (limit > 248)
			limit = 248;
	}
	return limit;
}

/* --- SELECT --- */

/* Card recognition data content (the value of tag 73). */
static cpk_status
put_recognition_data(const struct cardsim *c, struct cpk_buf *out, struct cpk_error *err)
{
	static const uint8_t gp_version[] = { 0x02, 0x02, 0x03, 0x01 };	/* GP 2.3.1 */
	uint8_t v[2 + sizeof(oid_gp_prefix) + 4];
	uint8_t oid[sizeof(oid_gp_prefix) + 4];
	struct cpk_buf inner = CPK_BUF_INIT;
	cpk_status st;

	/* 06 OID {GP 1}: the card recognition data itself. */
	memcpy(oid, oid_gp_prefix, sizeof(oid_gp_prefix));
	oid[sizeof(oid_gp_prefix)] = 0x01;
	if ((st = cpk_tlv_put(out, 0x06, oid, sizeof(oid_gp_prefix) + 1, err)) != CPK_OK)
		goto out;
	/* 60 { 06 OID {GP 2 2 3 1} }: card management type and version. */
	memcpy(oid + sizeof(oid_gp_prefix), gp_version, sizeof(gp_version));
	if ((st = cpk_tlv_put(&inner, 0x06, oid, sizeof(oid), err)) != CPK_OK ||
	    (st = cpk_tlv_put(out, 0x60, inner.data, inner.len, err)) != CPK_OK)
		goto out;
	/* 63 { 06 OID {GP 3} }: card identification scheme. */
	cpk_buf_reset(&inner);
	oid[sizeof(oid_gp_prefix)] = 0x03;
	if ((st = cpk_tlv_put(&inner, 0x06, oid, sizeof(oid_gp_prefix) + 1, err)) != CPK_OK ||
	    (st = cpk_tlv_put(out, 0x63, inner.data, inner.len, err)) != CPK_OK)
		goto out;
	/* 64 { 06 OID {GP 4 scp i} }: the secure channel protocol. */
	cpk_buf_reset(&inner);
	memcpy(v, oid_gp_prefix, sizeof(oid_gp_prefix));
	v[sizeof(oid_gp_prefix)] = 0x04;
	v[sizeof(oid_gp_prefix) + 1] = (uint8_t)c->id.scp;
	v[sizeof(oid_gp_prefix) + 2] = c->id.i;
	if ((st = cpk_tlv_put(&inner, 0x06, v, sizeof(oid_gp_prefix) + 3, err)) != CPK_OK)
		goto out;
	st = cpk_tlv_put(out, 0x64, inner.data, inner.len, err);
out:
	cpk_buf_free(&inner);
	return st;
}

/* FCI of the ISD: 6F { 84 AID, A5 { 73 {recognition data}, 9F65 01 FF } }. */
static cpk_status
put_isd_fci(const struct cardsim *c, struct cpk_buf *out, struct cpk_error *err)
{
	static const uint8_t max_len[] = { 0xFF };
	struct cpk_buf rec = CPK_BUF_INIT, a5 = CPK_BUF_INIT, fci = CPK_BUF_INIT;
	cpk_status st;

	if ((st = put_recognition_data(c, &rec, err)) != CPK_OK ||
	    (st = cpk_tlv_put(&a5, 0x73, rec.data, rec.len, err)) != CPK_OK ||
	    (st = cpk_tlv_put(&a5, 0x9F65, max_len, sizeof(max_len), err)) != CPK_OK ||
	    (st = cpk_tlv_put(&fci, 0x84, c->id.isd.b, c->id.isd.len, err)) != CPK_OK ||
	    (st = cpk_tlv_put(&fci, 0xA5, a5.data, a5.len, err)) != CPK_OK)
		goto out;
	st = cpk_tlv_put(out, 0x6F, fci.data, fci.len, err);
out:
	cpk_buf_free(&rec);
	cpk_buf_free(&a5);
	cpk_buf_free(&fci);
	return st;
}

static bool
aid_matches(const struct cs_aid *aid, const uint8_t *p, size_t n, bool exact)
{
	if (exact)
		return aid->len == n && memcmp(aid->b, p, n) == 0;
	return aid->len >= n && memcmp(aid->b, p, n) == 0;
}

/* -1 ISD, app index, or -2 when nothing matches (exact match first, then partial). */
static int
select_target(const struct cardsim *c, const struct cpk_apdu *a)
{
	size_t i;
	int pass;

	if (a->lc == 0)
		return -1;
	for (pass = 1; pass >= 0; pass--) {
		if (aid_matches(&c->id.isd, a->data, a->lc, pass == 1))
			return -1;
		for (i = 0; i < c->napps; i++)
			if (cs_app_selectable(c, &c->apps[i]) &&
			    aid_matches(&c->apps[i].aid, a->data, a->lc, pass == 1))
				return (int)i;
	}
	return -2;
}

static uint16_t
cmd_select(struct cardsim *c, const struct cpk_apdu *a, struct cpk_buf *out)
{
	struct cpk_error err;
	int target;
	uint16_t sw;

	if (a->p1 != 0x04 || a->p2 != 0x00) {
		sw = cs_refuse(c, SW_WRONG_P1P2,
		    "SELECT P1 P2 %02X %02X: only 04 00 (by AID, first or only occurrence)",
		    a->p1, a->p2);
		goto done;
	}
	if (a->lc > CS_AID_MAX) {
		sw = cs_refuse(c, SW_WRONG_DATA, "SELECT of a %zu-byte AID (at most 16)", a->lc);
		goto done;
	}
	if ((target = select_target(c, a)) == -2) {
		sw = cs_refuse(c, SW_FILE_NOT_FOUND, "SELECT: no selectable application matches");
		goto done;
	}
	/* Deselecting the current application ends its secure channel session. */
	cs_close_session(c);
	c->selected = target;
	/* GP 2.3.1 11.9.3: the ISD of a CARD_LOCKED card answers its FCI with 6283. */
	sw = target < 0 && c->id.life_cycle == CS_LC_CARD_LOCKED ? 0x6283 : SW_OK;
	if (target < 0 && put_isd_fci(c, out, &err) != CPK_OK)
		sw = cs_refuse(c, SW_INTERNAL, "SELECT: %s", err.msg);
done:
	return sw;
}

/* --- GET DATA --- */

static cpk_status
put_key_information(const struct cardsim *c, struct cpk_buf *out, struct cpk_error *err)
{
	struct cpk_buf t = CPK_BUF_INIT;
	uint8_t c0[4];
	size_t i, k;
	cpk_status st = CPK_OK;

	for (i = 0; i < c->nkeysets && st == CPK_OK; i++) {
		for (k = 1; k <= 3 && st == CPK_OK; k++) {
			c0[0] = (uint8_t)k;
			c0[1] = c->keysets[i].keys.kvn;
			c0[2] = c->keysets[i].keys.alg == GP_KEY_AES ? 0x88 : 0x80;
			c0[3] = (uint8_t)c->keysets[i].keys.len;
			st = cpk_tlv_put(&t, 0xC0, c0, sizeof(c0), err);
		}
	}
	if (st == CPK_OK)
		st = cpk_tlv_put(out, 0xE0, t.data, t.len, err);
	cpk_buf_free(&t);
	return st;
}

static uint16_t
cmd_get_data(struct cardsim *c, const struct cpk_apdu *a, struct cpk_buf *out)
{
	struct cpk_buf v = CPK_BUF_INIT, w = CPK_BUF_INIT;
	struct cpk_error err;
	uint16_t tag = (uint16_t)((a->p1 << 8) | a->p2), sw = SW_INTERNAL;
	uint8_t ctr[3];
	size_t ctrlen;
	cpk_status st = CPK_OK;

	cpk_error_clear(&err);
	if (a->lc != 0) {
		sw = cs_refuse(c, SW_WRONG_LENGTH, "GET DATA carries no command data (Lc %zu)", a->lc);
		goto out;
	}
	switch (tag) {
	case 0x9F7F:
	case 0x0042:
	case 0x0045: {
		const uint8_t *p = tag == 0x9F7F ? c->id.cplc : tag == 0x0042 ? c->id.iin : c->id.cin;
		size_t n = tag == 0x9F7F ? c->id.cplc_len : tag == 0x0042 ? c->id.iin_len :
		    c->id.cin_len;

		if (n == 0) {
			sw = cs_refuse(c, SW_NOT_FOUND, "GET DATA %04X: not configured", tag);
			goto out;
		}
		st = cpk_tlv_put(out, tag, p, n, &err);
		break;
	}
	case 0x0066:
		/* 66 { 73 { card recognition data } } */
		if ((st = put_recognition_data(c, &v, &err)) == CPK_OK &&
		    (st = cpk_tlv_put(&w, 0x73, v.data, v.len, &err)) == CPK_OK)
			st = cpk_tlv_put(out, 0x66, w.data, w.len, &err);
		break;
	case 0x00E0:
		st = put_key_information(c, out, &err);
		break;
	case 0x00C1:
		if (c->nkeysets == 0) {
			sw = cs_refuse(c, SW_NOT_FOUND, "GET DATA C1: no key set");
			goto out;
		}
		ctrlen = scp_proto_find((uint8_t)c->id.scp)->counter_len;
		ctr[0] = (uint8_t)(c->keysets[0].counter >> 16);
		ctr[1] = (uint8_t)(c->keysets[0].counter >> 8);
		ctr[2] = (uint8_t)c->keysets[0].counter;
		st = cpk_tlv_put(out, 0xC1, ctr + 3 - ctrlen, ctrlen, &err);
		break;
	case 0x00CF:
		st = cpk_tlv_put(out, 0xCF, c->id.kdd, sizeof(c->id.kdd), &err);
		break;
	case 0x7F66:
		sw = cs_extlen_get_data(c, out);
		goto out;
	default:
		sw = cs_refuse(c, SW_NOT_FOUND, "GET DATA %04X: unknown tag", tag);
		goto out;
	}
	sw = st == CPK_OK ? SW_OK : cs_refuse(c, SW_INTERNAL, "GET DATA: %s", err.msg);
out:
	cpk_buf_free(&v);
	cpk_buf_free(&w);
	return sw;
}

/* --- INITIALIZE UPDATE and EXTERNAL AUTHENTICATE --- */

/*
 * The session's sequence counter by the protocol's rule (its row of the
 * table, scp_proto.h), into iu with its full length (the response drops it
 * when i hides it).
 */
static uint16_t
session_counter(struct cardsim *c, struct cs_keyset *ks, struct scp_iu_response *iu)
{
	const struct scp_proto *p = scp_proto_find((uint8_t)c->id.scp);
	uint32_t top = (uint32_t)1 << (8 * p->counter_len);	/* one past the largest */
	uint16_t sw = SW_CONDITIONS;
	size_t k;

	if (p->counter_moves_on_iu) {
		/* Increment first, then use and return the new value. */
		if (ks->counter >= top - 1) {
			sw = cs_refuse(c, SW_CONDITIONS, "sequence counter exhausted");
			goto out;
		}
		ks->counter++;
		c->dirty = true;
	} else if (ks->counter > top - 1) {
		/* Use the current value; EXTERNAL AUTHENTICATE increments it. */
		sw = cs_refuse(c, SW_CONDITIONS, "sequence counter exhausted");
		goto out;
	}
	for (k = 0; k < p->counter_len; k++)
		iu->counter[k] = (uint8_t)(ks->counter >> (8 * (p->counter_len - 1 - k)));
	iu->counter_len = p->counter_len;
	iu->challenge_len = p->challenge_len;
	sw = SW_OK;
out:
	return sw;
}

static uint16_t
cmd_initialize_update(struct cardsim *c, const struct cpk_apdu *a, struct cpk_buf *out)
{
	struct scp_iu_response iu;
	struct cs_keyset *ks;
	struct cpk_error err;
	size_t clen = 0;
	uint16_t sw = SW_INTERNAL;

	cpk_error_clear(&err);
	memset(&iu, 0, sizeof(iu));
	if (a->p2 != 0x00) {
		sw = cs_refuse(c, SW_WRONG_P1P2, "INITIALIZE UPDATE P2 %02X (key identifier 00 only)",
		    a->p2);
		goto out;
	}
	if (a->lc != SCP_CHALLENGE_LEN) {
		sw = cs_refuse(c, SW_WRONG_LENGTH,
		    "INITIALIZE UPDATE with %zu data bytes (an 8-byte host challenge)", a->lc);
		goto out;
	}
	/* Whatever happens now, a session in progress is over. */
	cs_close_session(c);
	if (c->faults.refuse_iu) {
		sw = cs_refuse(c, c->faults.refuse_iu_sw, "fault injection: INITIALIZE UPDATE refused");
		goto out;
	}
	if ((ks = cardsim_find_keyset(c, a->p1)) == NULL) {
		sw = cs_refuse(c, SW_NOT_FOUND, "INITIALIZE UPDATE: no key set with version %02X",
		    a->p1);
		goto out;
	}
	if ((sw = session_counter(c, ks, &iu)) != SW_OK)
		goto out;
	sw = SW_INTERNAL;
	memcpy(iu.kdd, c->id.kdd, SCP_KDD_LEN);
	iu.kvn = ks->keys.kvn;
	iu.scp = (uint8_t)c->id.scp;
	iu.i = c->id.i;
	if (scp_i_pseudo_random(c->id.scp, c->id.i)) {
		/* The challenge is derived with the selected security domain's AID. */
		if (scp_pseudo_random_challenge(&ks->keys, c->id.scp, iu.counter, iu.counter_len,
		    cs_selected_sd_aid(c)->b, cs_selected_sd_aid(c)->len, iu.card_challenge, &clen,
		    &err) != CPK_OK)
			goto fail;
	} else if (gp_random(iu.card_challenge, iu.challenge_len, &err) != CPK_OK) {
		goto fail;
	}
	if (scp_session_begin(&c->sc, &ks->keys, c->id.scp, c->id.i, a->data, &iu, &err) !=
	    CPK_OK)
		goto fail;
	memcpy(iu.card_cryptogram, c->sc.card_cryptogram, 8);
	/* The response carries the counter only when i says so. */
	iu.counter_len = scp_proto_iu_counter_len(scp_proto_find(iu.scp), iu.i);
	if (scp_iu_response_build(&iu, out, &err) != CPK_OK)
		goto fail;
	sw = SW_OK;
	goto out;
fail:
	cs_close_session(c);
	sw = cs_refuse(c, SW_INTERNAL, "INITIALIZE UPDATE: %s", err.msg);
out:
	cpk_cleanse(&iu, sizeof(iu));
	return sw;
}

static uint16_t
cmd_external_authenticate(struct cardsim *c, const uint8_t *cmd, size_t n,
    const struct cpk_apdu *a)
{
	struct cpk_error err;
	struct cs_keyset *ks;
	uint16_t sw = SW_INTERNAL;

	cpk_error_clear(&err);
	if (c->sc.state != SCP_STATE_INITIALIZED) {
		sw = cs_refuse(c, SW_CONDITIONS,
		    "EXTERNAL AUTHENTICATE without a preceding INITIALIZE UPDATE");
		goto out;
	}
	if ((a->cla & 0x04) == 0) {
		sw = cs_refuse(c, SW_CLA, "EXTERNAL AUTHENTICATE needs CLA 84 (C-MAC)");
		goto out;
	}
	if (a->p2 != 0x00) {
		sw = cs_refuse(c, SW_WRONG_P1P2, "EXTERNAL AUTHENTICATE P2 %02X (00 only)", a->p2);
		goto out;
	}
	if (scp_level_allowed(c->id.scp, c->id.i, a->p1, &err) != CPK_OK) {
		sw = cs_refuse(c, SW_WRONG_P1P2, "EXTERNAL AUTHENTICATE: %s", err.msg);
		goto out;
	}
	if (a->lc != 16 || a->has_le) {
		sw = cs_refuse(c, SW_WRONG_LENGTH,
		    "EXTERNAL AUTHENTICATE: %zu data bytes%s (host cryptogram and C-MAC: 16, no Le)",
		    a->lc, a->has_le ? " and an Le" : "");
		goto out;
	}
	ks = cardsim_find_keyset(c, c->sc.kvn);
	if (scp_card_external_authenticate(&c->sc, cmd, n, &err) != CPK_OK) {
		sw = cs_refuse(c, SW_AUTH_FAILED, "EXTERNAL AUTHENTICATE: %s", err.msg);
		goto out;
	}
	/* A counter INITIALIZE UPDATE did not move moves once the first C-MAC verified. */
	if (!scp_proto_find((uint8_t)c->id.scp)->counter_moves_on_iu && ks != NULL) {
		ks->counter++;
		c->dirty = true;
	}
	sw = SW_OK;
out:
	/* Any failure ends the session (or its initiation). */
	if (sw != SW_OK)
		cs_close_session(c);
	return sw;
}

/* --- dispatch --- */

/* Class byte: 0x00-0x0F (interindustry) or 0x80-0x8F (GlobalPlatform). */
static uint16_t
check_cla(struct cardsim *c, uint8_t cla, unsigned *cls)
{
	if ((cla & 0x60) != 0 || cla == 0xFF)
		return cs_refuse(c, SW_CLA, "CLA %02X is not supported", cla);
	if (cla & 0x10)
		return cs_refuse(c, SW_CHAINING, "CLA %02X: command chaining is not supported", cla);
	if (cla & 0x03)
		return cs_refuse(c, SW_CHANNEL, "CLA %02X: logical channel %d is not supported", cla,
		    cla & 0x03);
	if (cla & 0x08)
		return cs_refuse(c, SW_SM_UNSUPPORTED,
		    "CLA %02X: ISO secure messaging is not supported", cla);
	*cls = (cla & 0x80) ? CLS_GP : CLS_ISO;
	return SW_OK;
}

static const struct cs_command *
find_command(uint8_t ins)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (commands[i].ins == ins)
			return &commands[i];
	return NULL;
}

static bool
sw_has_data(uint16_t sw)
{
	return sw == SW_OK || (sw >> 8) == 0x62 || (sw >> 8) == 0x63;
}

/* Class, extended length, selection, instruction: *def on success. */
static uint16_t
check_command(struct cardsim *c, const struct cpk_apdu *a, const struct cs_command **def)
{
	unsigned cls = 0;
	uint16_t sw;

	if ((sw = check_cla(c, a->cla, &cls)) != SW_OK)
		goto out;
	if ((sw = cs_extlen_check(c, a)) != SW_OK)
		goto out;
	if (c->selected >= 0 && !cs_selected_is_sd(c) &&
	    !(a->ins == INS_SELECT && cls == CLS_ISO && !(a->cla & 0x04))) {
		sw = cs_refuse(c, SW_INS, "the selected application implements no command");
		goto out;
	}
	if ((*def = find_command(a->ins)) == NULL) {
		sw = cs_refuse(c, SW_INS, "INS %02X is not supported", a->ins);
		goto out;
	}
	if (((*def)->classes & cls) == 0) {
		sw = cs_refuse(c, SW_CLA, "%s with CLA %02X", (*def)->name, a->cla);
		goto out;
	}
	sw = SW_OK;
out:
	return sw;
}

/*
 * The secure channel's rules for one command (not EXTERNAL AUTHENTICATE):
 * a protected command is verified and unwrapped into plain and *a, and its
 * response must be wrapped (*wrap); an unprotected one is checked against
 * the session state.
 */
static uint16_t
channel_rules(struct cardsim *c, const struct cs_command *def, const uint8_t *cmd, size_t n,
    struct cpk_apdu *a, struct cpk_buf *plain, bool *wrap)
{
	struct cpk_error err;
	uint16_t sw = SW_INTERNAL;

	cpk_error_clear(&err);
	if (a->cla & 0x04) {
		if (c->sc.state != SCP_STATE_OPEN) {
			cs_close_session(c);
			sw = cs_refuse(c, SW_SECURITY, "%s with secure messaging but no open "
			    "secure channel", def->name);
			goto out;
		}
		if (scp_unwrap_command(&c->sc, cmd, n, plain, &err) != CPK_OK) {
			cs_close_session(c);
			sw = cs_refuse(c, SW_SECURITY, "%s: %s; secure channel closed", def->name,
			    err.msg);
			goto out;
		}
		if (cpk_apdu_parse(plain->data, plain->len, a, &err) != CPK_OK) {
			sw = cs_refuse(c, SW_INTERNAL, "unwrapped %s: %s", def->name, err.msg);
			goto out;
		}
		*wrap = true;
	} else if (c->sc.state == SCP_STATE_OPEN && a->ins != INS_SELECT &&
	    a->ins != INS_INITIALIZE_UPDATE) {
		cs_close_session(c);
		sw = cs_refuse(c, SW_SECURITY, "%s without secure messaging inside an open "
		    "secure channel; channel closed", def->name);
		goto out;
	} else if (c->sc.state == SCP_STATE_INITIALIZED && a->ins != INS_SELECT) {
		/* Anything but EXTERNAL AUTHENTICATE abandons the initiation. */
		cs_close_session(c);
	}
	if (def->needs_auth && !*wrap) {
		sw = cs_refuse(c, SW_SECURITY, "%s needs an authenticated secure channel",
		    def->name);
		goto out;
	}
	sw = SW_OK;
out:
	return sw;
}

/*
 * Check, unwrap and run one command. *wrap says whether the response must
 * be protected by the secure channel.
 */
static uint16_t
dispatch(struct cardsim *c, const uint8_t *cmd, size_t n, struct cpk_buf *data, bool *wrap)
{
	struct cpk_buf plain = CPK_BUF_INIT;
	const struct cs_command *def = NULL;
	struct cpk_error err;
	struct cpk_apdu a;
	uint16_t sw;

	*wrap = false;
	cpk_error_clear(&err);
	if (cpk_apdu_parse(cmd, n, &a, &err) != CPK_OK) {
		sw = cs_refuse(c, SW_WRONG_LENGTH, "%s", err.msg);
		goto out;
	}
	if ((sw = cs_life_cycle_allows(c, &a)) != SW_OK ||
	    (sw = check_command(c, &a, &def)) != SW_OK)
		goto out;
	if (a.ins == INS_EXTERNAL_AUTHENTICATE) {
		sw = cmd_external_authenticate(c, cmd, n, &a);
		goto out;
	}
	if ((sw = channel_rules(c, def, cmd, n, &a, &plain, wrap)) != SW_OK)
		goto out;
	if (a.ins != INS_LOAD)
		cs_abandon_load(c);
	if (a.ins != INS_GET_STATUS)
		c->status.more = false;
	sw = def->fn(c, &a, data);
	if (!sw_has_data(sw)) {
		cpk_buf_reset(data);
	} else if (a.has_le && data->len > a.ne) {
		sw = cs_refuse(c, (uint16_t)(0x6C00 | (data->len & 0xFF)),
		    "Le %zu is less than the %zu bytes available", a.ne, data->len);
		cpk_buf_reset(data);
	}
out:
	cpk_buf_free(&plain);
	return sw;
}

void
cardsim_process(struct cardsim *c, const uint8_t *cmd, size_t n, struct cpk_buf *resp)
{
	static const uint8_t fake_mac[8] = { 0x5A, 0xA5, 0x5A, 0xA5, 0x5A, 0xA5, 0x5A, 0xA5 };
	struct cpk_buf data = CPK_BUF_INIT;
	struct cpk_error err;
	bool wrap = false;
	uint16_t sw;

	cpk_buf_reset(resp);
	cpk_error_clear(&err);
	c->action = CS_ACTION_REPLY;
	c->why[0] = '\0';
	c->ncommands++;
	if (c->faults.sw_at != 0 && c->ncommands == c->faults.sw_at) {
		sw = cs_refuse(c, c->faults.sw, "fault injection: status word at command %lu",
		    c->ncommands);
		if (c->faults.fake_rmac && c->sc.state == SCP_STATE_OPEN &&
		    (c->sc.level & SCP_SL_RMAC) != 0 && scp_sw_protected(sw))
			(void)cpk_buf_append(&data, fake_mac, sizeof(fake_mac), NULL);
	} else {
		sw = dispatch(c, cmd, n, &data, &wrap);
		if (c->action == CS_ACTION_VANISH)
			goto out;
	}
	if (wrap && sw_has_data(sw)) {
		if (scp_wrap_response(&c->sc, data.data, data.len, sw, resp, &err) != CPK_OK) {
			cs_close_session(c);
			cpk_buf_reset(resp);
			sw = cs_refuse(c, SW_INTERNAL, "wrapping the response: %s", err.msg);
			(void)cpk_buf_append_u16be(resp, sw, NULL);
		}
	} else if (cpk_buf_append(resp, data.data, data.len, NULL) != CPK_OK ||
	    cpk_buf_append_u16be(resp, sw, NULL) != CPK_OK) {
		cpk_buf_reset(resp);
		(void)cpk_buf_append_u16be(resp, SW_INTERNAL, NULL);
	}
	if (c->faults.drop_after != 0 && c->ncommands == c->faults.drop_after)
		c->action = CS_ACTION_REPLY_DROP;
out:
	if (c->action == CS_ACTION_VANISH)
		cpk_buf_reset(resp);
	cpk_buf_free(&data);
}
