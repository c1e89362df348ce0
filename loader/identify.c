/* SPDX-License-Identifier: BSD-2-Clause */
/* cpk: identifying a card for the compiler (see identify.h). */
#include "identify.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "cpk_apdu.h"
#include "cpk_sw.h"
#include "cpk_tlv.h"

/* OID prefixes of GlobalPlatform card recognition data (1.2.840.114283.x). */
static const uint8_t oid_gp_version[] = { 0x2A, 0x86, 0x48, 0x86, 0xFC, 0x6B, 0x02 };
static const uint8_t oid_gp_scp[] = { 0x2A, 0x86, 0x48, 0x86, 0xFC, 0x6B, 0x04 };

void
cpk_card_info_init(struct cpk_card_info *ci)
{
	memset(ci, 0, sizeof(*ci));
}

static void
note(struct cpk_card_info *ci, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
note(struct cpk_card_info *ci, const char *fmt, ...)
{
	va_list ap;

	if (ci->nnotes == CPK_IDENTIFY_NOTES)
		return;
	va_start(ap, fmt);
	vsnprintf(ci->notes[ci->nnotes++], sizeof(ci->notes[0]), fmt, ap);
	va_end(ap);
}

/* The answer is exactly one TLV with this tag: its value. */
static cpk_status
single_tlv(uint32_t tag, const uint8_t *p, size_t n, struct cpk_tlv *t, struct cpk_error *err)
{
	struct cpk_cursor c;

	cpk_cursor_init(&c, p, n);
	if (cpk_tlv_next(&c, t, err) != CPK_OK)
		return CPK_ERR_PARSE;
	if (t->tag != tag)
		return cpk_error_set(err, CPK_ERR_PARSE, "answer has tag %X instead of %X",
		    (unsigned)t->tag, (unsigned)tag);
	if (cpk_cursor_left(&c) != 0)
		return cpk_error_set(err, CPK_ERR_PARSE, "%zu stray bytes after tag %X",
		    cpk_cursor_left(&c), (unsigned)tag);
	return CPK_OK;
}

static cpk_status
parse_cplc(const uint8_t *p, size_t n, struct cpk_card_info *ci, struct cpk_error *err)
{
	struct cpk_tlv t;

	if (n == CPK_IDENTIFY_CPLC_LEN) {
		memcpy(ci->cplc, p, n);
		ci->has_cplc = true;
		return CPK_OK;
	}
	if (single_tlv(0x9F7F, p, n, &t, err) != CPK_OK)
		return CPK_ERR_PARSE;
	if (t.len != CPK_IDENTIFY_CPLC_LEN)
		return cpk_error_set(err, CPK_ERR_PARSE, "CPLC of %zu bytes; expected %d", t.len,
		    CPK_IDENTIFY_CPLC_LEN);
	memcpy(ci->cplc, t.value, t.len);
	ci->has_cplc = true;
	return CPK_OK;
}

static cpk_status
parse_bytes(uint32_t tag, const uint8_t *p, size_t n, size_t min, size_t max, uint8_t *out,
    size_t *outlen, struct cpk_error *err)
{
	struct cpk_tlv t;

	if (single_tlv(tag, p, n, &t, err) != CPK_OK)
		return CPK_ERR_PARSE;
	if (t.len < min || t.len > max)
		return cpk_error_set(err, CPK_ERR_PARSE, "tag %X holds %zu bytes; expected %zu to %zu",
		    (unsigned)tag, t.len, min, max);
	memcpy(out, t.value, t.len);
	*outlen = t.len;
	return CPK_OK;
}

/* An OID object (06) inside a constructed value; its bytes after prefix. */
static bool
oid_suffix(const uint8_t *v, size_t n, const uint8_t *prefix, size_t plen,
    const uint8_t **rest, size_t *rlen)
{
	struct cpk_tlv oid;

	if (cpk_tlv_find(v, n, 0x06, &oid, NULL) != CPK_OK || oid.len < plen ||
	    memcmp(oid.value, prefix, plen) != 0)
		return false;
	*rest = oid.value + plen;
	*rlen = oid.len - plen;
	return true;
}

/* Card recognition data (66): parsed into locals, copied only when all of it is well formed. */
static cpk_status
parse_recognition(const uint8_t *p, size_t n, struct cpk_card_info *ci, struct cpk_error *err)
{
	struct cpk_tlv outer, crd, t;
	struct cpk_cursor c;
	const uint8_t *rest;
	char version[sizeof(ci->gp_version)] = "";
	uint8_t rec_scp = 0, rec_i = 0;
	bool has_rec = false;
	size_t rlen, i, used;
	int w;

	if (single_tlv(0x66, p, n, &outer, err) != CPK_OK)
		return CPK_ERR_PARSE;
	if (cpk_tlv_find(outer.value, outer.len, 0x73, &crd, err) != CPK_OK)
		return cpk_error_set(err, CPK_ERR_PARSE, "card recognition data without tag 73");
	cpk_cursor_init(&c, crd.value, crd.len);
	while (cpk_cursor_left(&c) > 0) {
		if (cpk_tlv_next(&c, &t, err) != CPK_OK)
			return CPK_ERR_PARSE;
		if (t.tag == 0x60 && oid_suffix(t.value, t.len, oid_gp_version,
		    sizeof(oid_gp_version), &rest, &rlen)) {
			for (i = 0, used = 0; i < rlen && i < 4; i++) {
				w = snprintf(version + used, sizeof(version) - used,
				    "%s%u", i == 0 ? "" : ".", rest[i]);
				if (w < 0 || (size_t)w >= sizeof(version) - used)
					break;
				used += (size_t)w;
			}
		} else if (t.tag == 0x64 && !has_rec && oid_suffix(t.value, t.len,
		    oid_gp_scp, sizeof(oid_gp_scp), &rest, &rlen) && rlen == 2) {
			rec_scp = rest[0];
			rec_i = rest[1];
			has_rec = true;
		}
	}
	memcpy(ci->gp_version, version, sizeof(version));
	ci->rec_scp = rec_scp;
	ci->rec_i = rec_i;
	ci->has_rec_scp = has_rec;
	ci->has_recognition = true;
	return CPK_OK;
}

static cpk_status
parse_key_info(const uint8_t *p, size_t n, struct cpk_card_info *ci, struct cpk_error *err)
{
	struct cpk_tlv outer, t;
	struct cpk_cursor c;
	struct cpk_card_key keys[CPK_IDENTIFY_MAX_KEYS];
	size_t nkeys = 0;

	if (single_tlv(0xE0, p, n, &outer, err) != CPK_OK)
		return CPK_ERR_PARSE;
	cpk_cursor_init(&c, outer.value, outer.len);
	while (cpk_cursor_left(&c) > 0) {
		if (cpk_tlv_next(&c, &t, err) != CPK_OK)
			return CPK_ERR_PARSE;
		if (t.tag != 0xC0)
			continue;
		if (t.len < 2)
			return cpk_error_set(err, CPK_ERR_PARSE, "key information entry of %zu bytes",
			    t.len);
		if (nkeys == CPK_IDENTIFY_MAX_KEYS)
			break;
		memset(&keys[nkeys], 0, sizeof(keys[nkeys]));
		keys[nkeys].id = t.value[0];
		keys[nkeys].kvn = t.value[1];
		if (t.len >= 4) {
			keys[nkeys].type = t.value[2];
			keys[nkeys].len = t.value[3];
		}
		nkeys++;
	}
	memcpy(ci->keys, keys, nkeys * sizeof(keys[0]));
	ci->nkeys = nkeys;
	return CPK_OK;
}

cpk_status
cpk_identify_parse_getdata(uint16_t tag, const uint8_t *p, size_t n, struct cpk_card_info *ci,
    struct cpk_error *err)
{
	uint8_t tmp[CPK_IDENTIFY_DATA_MAX];
	size_t len;

	if (p == NULL && n != 0)
		return cpk_error_set(err, CPK_ERR_ARG, "no answer bytes");
	switch (tag) {
	case 0x9F7F:
		return parse_cplc(p, n, ci, err);
	case 0x0042:
		return parse_bytes(0x42, p, n, 1, sizeof(ci->iin), ci->iin, &ci->iin_len, err);
	case 0x0045:
		return parse_bytes(0x45, p, n, 1, sizeof(ci->cin), ci->cin, &ci->cin_len, err);
	case 0x00CF:
		if (parse_bytes(0xCF, p, n, SCP_KDD_LEN, SCP_KDD_LEN, tmp, &len, err) != CPK_OK)
			return CPK_ERR_PARSE;
		memcpy(ci->kdd_data, tmp, SCP_KDD_LEN);
		ci->has_kdd_data = true;
		return CPK_OK;
	case 0x0066:
		return parse_recognition(p, n, ci, err);
	case 0x00E0:
		return parse_key_info(p, n, ci, err);
	case 0x7F66:
		return cpk_identify_parse_ext_info(p, n, ci, err);
	default:
		return cpk_error_set(err, CPK_ERR_ARG, "GET DATA tag %04X is not read", tag);
	}
}

cpk_status
cpk_identify_parse_iu(const uint8_t *p, size_t n, const uint8_t host_challenge[SCP_CHALLENGE_LEN],
    struct cpk_card_info *ci, struct cpk_error *err)
{
	struct scp_iu_response r;

	if (p == NULL || n > sizeof(ci->iu_response))
		return cpk_error_set(err, CPK_ERR_PARSE,
		    "INITIALIZE UPDATE answer of %zu bytes; expected 28, 29 or 32", n);
	if (scp_iu_response_parse(p, n, &r, err) != CPK_OK)
		return CPK_ERR_PARSE;
	ci->iu = r;
	memcpy(ci->iu_response, p, n);
	ci->iu_len = n;
	memcpy(ci->host_challenge, host_challenge, SCP_CHALLENGE_LEN);
	ci->scp = r.scp;
	ci->kvn = r.kvn;
	memcpy(ci->kdd, r.kdd, SCP_KDD_LEN);
	ci->has_iu = true;
	return CPK_OK;
}

static bool
all_same(const uint8_t *p, size_t n, uint8_t v)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

/*
 * The i parameter: from the response when the protocol's carries it (the
 * table says), else given, else from card recognition data naming the
 * same protocol.
 */
static cpk_status
derive_i(struct cpk_card_info *ci, bool has_i, uint8_t i, struct cpk_error *err)
{
	const struct scp_proto *proto = scp_proto_find(ci->scp);	/* parsed: in the table */

	if (proto->iu_has_i) {
		ci->i = ci->iu.i;
		if (has_i && i != ci->i)
			note(ci, "the card answers %s i=%02X; the given i=%02X is ignored",
			    proto->name, ci->i, i);
	} else if (has_i) {
		ci->i = i;
	} else if (ci->has_rec_scp && ci->rec_scp == ci->scp) {
		ci->i = ci->rec_i;
	} else {
		return cpk_error_set(err, CPK_ERR_NOT_FOUND,
		    "the card does not announce its %s 'i' parameter (no card recognition "
		    "data); give it with --scp-i (the card issuer's documentation has it)",
		    proto->name);
	}
	ci->has_i = true;
	if (ci->has_rec_scp && (ci->rec_scp != ci->scp || ci->rec_i != ci->i))
		note(ci, "the card recognition data announces SCP%02X i=%02X but the card opened "
		    "SCP%02X i=%02X; the record uses the latter", ci->rec_scp, ci->rec_i, ci->scp,
		    ci->i);
	return CPK_OK;
}

/*
 * The next sequence counter, as the protocol's row says the card moves it
 * (identify.h).
 */
static cpk_status
derive_counter(struct cpk_card_info *ci, struct cpk_error *err)
{
	const struct scp_proto *proto = scp_proto_find(ci->scp);	/* parsed: in the table */
	char top[2 * SCP_PROTO_COUNTER_MAX + 1];
	size_t n = ci->iu.counter_len, k;
	bool at_top;

	ci->counter_len = 0;
	if (n == 0 || n > sizeof(ci->counter)) {
		note(ci, "%s i=%02X has a random card challenge and its answer carries no "
		    "sequence counter: only session bundles (identify --session) can be made",
		    proto->name, ci->i);
		return CPK_OK;
	}
	memset(top, 'F', 2 * n);
	top[2 * n] = '\0';
	at_top = all_same(ci->iu.counter, n, 0xFF);
	if (!proto->counter_moves_on_iu) {
		/* Only a successful authentication moves it: the next session uses this value. */
		memcpy(ci->counter, ci->iu.counter, n);
		ci->counter_len = n;
		if (at_top)
			note(ci, "the card's sequence counter is at %s: no session is left", top);
		return CPK_OK;
	}
	/* This probe used the value the card answered: the next one is one more. */
	if (at_top)
		return cpk_error_set(err, CPK_ERR_RANGE, "the card's sequence counter is exhausted "
		    "(%s): no secure channel session is left with key set %02X", top, ci->kvn);
	memcpy(ci->counter, ci->iu.counter, n);
	for (k = n; k-- > 0;)
		if (++ci->counter[k] != 0)
			break;
	ci->counter_len = n;
	return CPK_OK;
}

static void
derive_serial(struct cpk_card_info *ci)
{
	const uint8_t *fab = ci->cplc, *sn = ci->cplc + 12;
	char hex[2 * CPK_IDENTIFY_DATA_MAX + 1];

	if (ci->has_cplc && !all_same(sn, 4, 0x00) && !all_same(sn, 4, 0xFF)) {
		snprintf(ci->serial, sizeof(ci->serial), "%02X%02X-%02X%02X%02X%02X", fab[0],
		    fab[1], sn[0], sn[1], sn[2], sn[3]);
		ci->serial_from = "CPLC";
	} else if (ci->cin_len > 0 && cpk_hex_encode(ci->cin, ci->cin_len, hex,
	    sizeof(hex)) == CPK_OK) {
		snprintf(ci->serial, sizeof(ci->serial), "%s", hex);
		ci->serial_from = "CIN";
	} else if (cpk_hex_encode(ci->kdd, SCP_KDD_LEN, hex, sizeof(hex)) == CPK_OK) {
		snprintf(ci->serial, sizeof(ci->serial), "%s", hex);
		ci->serial_from = "KDD";
	}
}

/* Clamp a size the card states into [lo, hi]; note when it had to. */
static size_t
clamp_size(struct cpk_card_info *ci, const char *what, size_t v, size_t lo, size_t hi)
{
	if (v >= lo && v <= hi)
		return v;
	note(ci, "GET DATA 7F66 gives a largest %s of %zu bytes; the record says %zu", what, v,
	    v < lo ? lo : hi);
	return v < lo ? lo : hi;
}

/*
 * The card's largest command and response: with extended length in the ATR,
 * what 7F66 says (within ISO's bounds), or ISO's largest when it says
 * nothing; without it, none (short APDUs).
 */
static void
derive_ext_length(struct cpk_card_info *ci)
{
	if (ci->ext_length && ci->has_ext_info && ci->max_command <= CPK_APDU_SHORT_MAX_LEN) {
		note(ci, "GET DATA 7F66 gives a largest command of %zu bytes: short APDUs only",
		    ci->max_command);
		ci->ext_length = false;
	}
	if (!ci->ext_length) {
		ci->max_command = ci->max_response = 0;
		return;
	}
	if (!ci->has_ext_info) {
		note(ci, "the ATR announces extended length but the card gives no GET DATA 7F66 "
		    "limits; the record assumes ISO's largest APDUs");
		ci->max_command = CPK_APDU_MAX_LEN;
		ci->max_response = CPK_APDU_EXT_MAX_RESPONSE;
		return;
	}
	ci->max_command = clamp_size(ci, "command", ci->max_command, CPK_APDU_SHORT_MAX_LEN + 1,
	    CPK_APDU_MAX_LEN);
	ci->max_response = clamp_size(ci, "response", ci->max_response,
	    CPK_APDU_SHORT_MAX_RESPONSE, CPK_APDU_EXT_MAX_RESPONSE);
}

cpk_status
cpk_identify_finish(struct cpk_card_info *ci, bool has_i, uint8_t i, struct cpk_error *err)
{
	char a[2 * SCP_KDD_LEN + 1], b[2 * SCP_KDD_LEN + 1];
	cpk_status st;

	if (!ci->has_iu)
		return cpk_error_set(err, CPK_ERR_STATE, "no INITIALIZE UPDATE answer");
	if ((st = derive_i(ci, has_i, i, err)) != CPK_OK ||
	    (st = derive_counter(ci, err)) != CPK_OK)
		return st;
	if (ci->has_kdd_data && memcmp(ci->kdd_data, ci->kdd, SCP_KDD_LEN) != 0) {
		cpk_hex_encode(ci->kdd_data, SCP_KDD_LEN, a, sizeof(a));
		cpk_hex_encode(ci->kdd, SCP_KDD_LEN, b, sizeof(b));
		note(ci, "GET DATA CF gives KDD %s but INITIALIZE UPDATE %s; the record uses the "
		    "latter", a, b);
	}
	derive_serial(ci);
	derive_ext_length(ci);
	return CPK_OK;
}

/* --- the exchange with the card --- */

static uint64_t
now_usec(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* One exchange; *sw receives the status word, resp the whole answer. */
static cpk_status
exchange(struct cpk_transport *t, const struct cpk_identify_hooks *h, const uint8_t *cmd,
    size_t n, struct cpk_buf *resp, uint16_t *sw, struct cpk_error *err)
{
	uint64_t t0 = now_usec();
	cpk_status st;

	if ((st = cpk_transport_exchange(t, cmd, n, resp, err)) != CPK_OK)
		return st;
	if (h != NULL && h->exchange != NULL)
		h->exchange(h->ctx, cmd, n, resp->data, resp->len, now_usec() - t0);
	*sw = (uint16_t)(resp->data[resp->len - 2] << 8 | resp->data[resp->len - 1]);
	return CPK_OK;
}

static cpk_status
refused(const char *what, uint16_t sw, struct cpk_error *err)
{
	char meaning[160];
	cpk_status st;

	cpk_sw_describe(sw, meaning, sizeof(meaning));
	st = cpk_error_set(err, CPK_ERR_CARD, "%s: the card answered %04X (%s)", what, sw, meaning);
	if (err != NULL)
		err->sw = sw;
	return st;
}

static cpk_status
select_sd(struct cpk_transport *t, const struct cpk_identify_hooks *h, struct cpk_card_info *ci,
    struct cpk_buf *resp, struct cpk_error *err)
{
	uint8_t cmd[5 + 16 + 1] = { 0x00, 0xA4, 0x04, 0x00 };
	char aid[33];
	uint16_t sw;
	cpk_status st;

	cmd[4] = (uint8_t)ci->sd_aid_len;
	memcpy(cmd + 5, ci->sd_aid, ci->sd_aid_len);
	cmd[5 + ci->sd_aid_len] = 0x00;
	if ((st = exchange(t, h, cmd, 6 + ci->sd_aid_len, resp, &sw, err)) != CPK_OK)
		return st;
	if (sw == 0x9000 || cpk_sw_is_warning(sw))
		return CPK_OK;
	cpk_hex_encode(ci->sd_aid, ci->sd_aid_len, aid, sizeof(aid));
	st = refused("selecting the security domain", sw, err);
	cpk_error_prefix(err, "security domain %s", aid);
	return st;
}

static cpk_status
get_data(struct cpk_transport *t, const struct cpk_identify_hooks *h, uint16_t tag,
    struct cpk_card_info *ci, struct cpk_buf *resp, struct cpk_error *err)
{
	/* 7F66 is an ISO/IEC 7816-4 object (CLA 00); the others GlobalPlatform's. */
	uint8_t cmd[5] = { tag == 0x7F66 ? 0x00 : 0x80, 0xCA, (uint8_t)(tag >> 8), (uint8_t)tag,
	    0x00 };
	struct cpk_error perr;
	uint16_t sw;
	cpk_status st;

	if ((st = exchange(t, h, cmd, sizeof(cmd), resp, &sw, err)) != CPK_OK)
		return st;
	if (sw != 0x9000) {
		if (sw != 0x6A88 && sw != 0x6A82 && sw != 0x6A86 && sw != 0x6D00)
			note(ci, "GET DATA %04X answered %04X; left out", tag, sw);
		return CPK_OK;
	}
	cpk_error_clear(&perr);
	if (cpk_identify_parse_getdata(tag, resp->data, resp->len - 2, ci, &perr) != CPK_OK)
		note(ci, "GET DATA %04X: %.100s; left out", tag, perr.msg);
	return CPK_OK;
}

static cpk_status
initialize_update(struct cpk_transport *t, const struct cpk_identify_hooks *h,
    const struct cpk_identify_opts *o, struct cpk_card_info *ci, struct cpk_buf *resp,
    struct cpk_error *err)
{
	struct cpk_buf cmd = CPK_BUF_INIT;
	uint8_t hc[SCP_CHALLENGE_LEN];
	uint16_t sw;
	char what[64];
	cpk_status st;

	if (o->host_challenge != NULL) {
		memcpy(hc, o->host_challenge, sizeof(hc));
	} else if (getrandom(hc, sizeof(hc), 0) != (ssize_t)sizeof(hc)) {
		st = cpk_error_set(err, CPK_ERR_CRYPTO, "no random host challenge: %s",
		    strerror(errno));
		goto out;
	}
	if ((st = scp_initialize_update_apdu(o->kvn, hc, &cmd, err)) != CPK_OK ||
	    (st = exchange(t, h, cmd.data, cmd.len, resp, &sw, err)) != CPK_OK)
		goto out;
	if (sw != 0x9000) {
		if (o->kvn != 0)
			snprintf(what, sizeof(what), "INITIALIZE UPDATE with key set %02X", o->kvn);
		else
			snprintf(what, sizeof(what), "INITIALIZE UPDATE");
		st = refused(what, sw, err);
		goto out;
	}
	if ((st = cpk_identify_parse_iu(resp->data, resp->len - 2, hc, ci, err)) != CPK_OK)
		cpk_error_prefix(err, "the card's INITIALIZE UPDATE answer");
out:
	cpk_buf_free(&cmd);
	return st;
}

/* The ATR's card capabilities: does the card take extended-length APDUs? */
static bool
read_atr(const struct cpk_transport *t, struct cpk_card_info *ci)
{
	struct cpk_error perr;

	if (t->atr_len == 0)
		return false;
	cpk_error_clear(&perr);
	if (cpk_identify_parse_atr(t->atr, t->atr_len, ci, &perr) != CPK_OK) {
		note(ci, "the ATR: %.100s; short APDUs only", perr.msg);
		ci->ext_length = false;
	}
	return ci->ext_length;
}

cpk_status
cpk_identify(struct cpk_transport *t, const struct cpk_identify_opts *o,
    const struct cpk_identify_hooks *h, struct cpk_card_info *out, struct cpk_error *err)
{
	static const uint16_t tags[] = { 0x00CF, 0x9F7F, 0x0042, 0x0045, 0x0066, 0x00E0 };
	struct cpk_buf resp = CPK_BUF_INIT;
	struct cpk_error end_err;
	size_t k;
	cpk_status st, st2;

	cpk_card_info_init(out);
	if (o->sd_aid != NULL) {
		if (o->sd_aid_len < 5 || o->sd_aid_len > sizeof(out->sd_aid))
			return cpk_error_set(err, CPK_ERR_ARG, "a security domain AID has 5 to 16 "
			    "bytes, not %zu", o->sd_aid_len);
		memcpy(out->sd_aid, o->sd_aid, o->sd_aid_len);
		out->sd_aid_len = o->sd_aid_len;
	} else {
		(void)cpk_hex_decode(CPK_IDENTIFY_DEFAULT_SD, strlen(CPK_IDENTIFY_DEFAULT_SD),
		    out->sd_aid, sizeof(out->sd_aid), &out->sd_aid_len, NULL);
	}
	if ((st = cpk_transport_begin(t, err)) != CPK_OK)
		return st;
	if ((st = select_sd(t, h, out, &resp, err)) != CPK_OK)
		goto end;
	for (k = 0; k < sizeof(tags) / sizeof(tags[0]); k++)
		if ((st = get_data(t, h, tags[k], out, &resp, err)) != CPK_OK)
			goto end;
	/* Extended length: the limits, only from a card whose ATR announces it. */
	if (read_atr(t, out) && (st = get_data(t, h, 0x7F66, out, &resp, err)) != CPK_OK)
		goto end;
	st = initialize_update(t, h, o, out, &resp, err);
end:
	cpk_error_clear(&end_err);
	st2 = cpk_transport_end(t, &end_err);
	if (st == CPK_OK && st2 != CPK_OK) {
		st = st2;
		if (err != NULL)
			*err = end_err;
	}
	if (st == CPK_OK)
		st = cpk_identify_finish(out, o->has_i, o->i, err);
	cpk_buf_free(&resp);
	return st;
}

/* --- the card record --- */

static cpk_status
put_hex(struct cpk_buf *out, const char *key, const uint8_t *p, size_t n, struct cpk_error *err)
{
	char hex[2 * 64 + 1];
	char line[200];
	int w;

	if (cpk_hex_encode(p, n, hex, sizeof(hex)) != CPK_OK)
		return cpk_error_set(err, CPK_ERR_RANGE, "%s too long", key);
	w = snprintf(line, sizeof(line), "%s: %s\n", key, hex);
	if (w < 0 || (size_t)w >= sizeof(line))
		return cpk_error_set(err, CPK_ERR_RANGE, "%s too long", key);
	return cpk_buf_append(out, line, (size_t)w, err);
}

static cpk_status
put_line(struct cpk_buf *out, struct cpk_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static cpk_status
put_line(struct cpk_buf *out, struct cpk_error *err, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int w;

	va_start(ap, fmt);
	w = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (w < 0)
		return cpk_error_set(err, CPK_ERR_RANGE, "record line too long");
	if ((size_t)w >= sizeof(line))
		w = (int)sizeof(line) - 1;
	return cpk_buf_append(out, line, (size_t)w, err);
}

/* A comment: printable ASCII, one line. */
static cpk_status
put_comment(struct cpk_buf *out, const char *text, struct cpk_error *err)
{
	char clean[400];
	size_t i;

	for (i = 0; text[i] != '\0' && i < sizeof(clean) - 1; i++)
		clean[i] = (text[i] >= 0x20 && text[i] < 0x7F) ? text[i] : '?';
	clean[i] = '\0';
	return put_line(out, err, "# %s\n", clean);
}

cpk_status
cpk_card_record_write(const struct cpk_card_info *ci, bool session, const char *comment,
    struct cpk_buf *out, struct cpk_error *err)
{
	const struct scp_proto *proto;
	cpk_status st;
	size_t k;

	if (!ci->has_iu || !ci->has_i || (proto = scp_proto_find(ci->scp)) == NULL)
		return cpk_error_set(err, CPK_ERR_STATE, "the card is not identified");
	if (!session && ci->counter_len == 0)
		return cpk_error_set(err, CPK_ERR_STATE, "%s i=%02X gives no sequence counter: "
		    "only a session record (--session) can be written for this card",
		    proto->name, ci->i);
	if (comment != NULL && (st = put_comment(out, comment, err)) != CPK_OK)
		return st;
	for (k = 0; k < ci->nnotes; k++)
		if ((st = put_comment(out, ci->notes[k], err)) != CPK_OK)
			return st;
	if ((st = put_hex(out, "sd-aid", ci->sd_aid, ci->sd_aid_len, err)) != CPK_OK ||
	    (st = put_line(out, err, "scp: %02X\ni: %02X\nkvn: %02X\n", ci->scp, ci->i,
	    ci->kvn)) != CPK_OK ||
	    (st = put_hex(out, "kdd", ci->kdd, SCP_KDD_LEN, err)) != CPK_OK)
		return st;
	if (!session && (st = put_hex(out, "counter", ci->counter, ci->counter_len, err)) != CPK_OK)
		return st;
	if (ci->has_cplc && (st = put_hex(out, "cplc", ci->cplc, sizeof(ci->cplc), err)) != CPK_OK)
		return st;
	if (ci->iin_len > 0 && (st = put_hex(out, "iin", ci->iin, ci->iin_len, err)) != CPK_OK)
		return st;
	if (ci->cin_len > 0 && (st = put_hex(out, "cin", ci->cin, ci->cin_len, err)) != CPK_OK)
		return st;
	if (ci->serial[0] != '\0' && (st = put_line(out, err, "serial: %s\n", ci->serial)) != CPK_OK)
		return st;
	if (ci->ext_length && (st = put_line(out, err, "max-command: %zu\nmax-response: %zu\n",
	    ci->max_command, ci->max_response)) != CPK_OK)
		return st;
	if (session && ((st = put_hex(out, "host-challenge", ci->host_challenge,
	    SCP_CHALLENGE_LEN, err)) != CPK_OK ||
	    (st = put_hex(out, "iu-response", ci->iu_response, ci->iu_len, err)) != CPK_OK))
		return st;
	return CPK_OK;
}
