/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * e2e_matrix: the end-to-end matrix driver (tests/e2e/matrix.sh).
 *
 * One run serves one card (one cardsim behind the private pcscd) and a list
 * of cells, each a security level and a Load File Data Block size. For each
 * cell, over ONE PC/SC connection and inside ONE transaction:
 *
 *   1. identify: SELECT the ISD, then
 *      - offline cells (predictable challenge): GET DATA CF (KDD) and C1
 *        (sequence counter) give the card record's kdd and next counter;
 *      - session cells (random challenge): INITIALIZE UPDATE with a fresh
 *        random host challenge; the card record carries host-challenge and
 *        iu-response (the compiler checks the card cryptogram);
 *   2. compile: a generated CAP (capgen) and a profile (delete the package if
 *      present, load it, install its applet) through profile_load and
 *      cpk_compile, as cardc does;
 *   3. sign and reopen: cpk_bundle_write with the test signer, cpk_bundle_open
 *      with that signer as the only trust anchor, as cardload does;
 *   4. stream: cpk_stream_run on the same connection (a session bundle must
 *      follow its INITIALIZE UPDATE in the same card session);
 *   5. prove the install in a fresh secure channel opened with the host side
 *      of compiler/scp.h at the cell's level: GET STATUS P1 40 (the instance,
 *      SELECTABLE, from the package), P1 20 (the package) and P1 10 (the
 *      package with its module), all P2 02; then SELECT of the instance;
 *   6. clean up (another channel): DELETE of the package with its instance,
 *      and GET STATUS P1 20 must then answer 6A88.
 *
 * A cell of size "over" (256 LOAD blocks at its level, plus one byte) checks
 * that the compiler refuses it; nothing reaches the card.
 *
 * Every failure is reported as "e2e_matrix: FAIL [cell]: what", and the
 * run goes on with the next cell; the exit status is 1 if any cell failed.
 *
 *   e2e_matrix -w WORKDIR --scp 02|03 --i HEX --div none|emv|visa2|kdf3
 *       [-s SIGNKEY] [--emit BUNDLE | --check-only] CELL...
 *   CELL = LEVEL:SIZE    LEVEL 01 03 11 13 33; SIZE bytes, "max" or "over"
 *
 * --emit compiles the (single) offline cell into a bundle file instead of
 * streaming it, and --check-only does steps 5 and 6 alone: with them the
 * valgrind test streams that bundle with cardload in between. -s signs with
 * a key file (default: a fixed test seed).
 *
 * Card keys: the GlobalPlatform test keys 40..4F, static (div none) or as
 * the master of the named diversification; key version 20 (SCP02) or 30
 * (SCP03); the security domain is A000000151000000.
 *
 * It writes SCP02's and SCP03's numbers down itself (key algorithm, counter
 * and challenge lengths, i values) instead of asking the secure channel
 * table, on purpose: as an independent oracle, a wrong table row fails here
 * rather than agreeing with itself (docs/ADDING-A-SECURE-CHANNEL.md).
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bundle_read.h"
#include "bundle_write.h"
#include "capgen.h"
#include "card.h"
#include "compile.h"
#include "cpk_apdu.h"
#include "cpk_bytes.h"
#include "cpk_file.h"
#include "cpk_tlv.h"
#include "gp_cmd.h"
#include "gp_crypto.h"
#include "pcsc.h"
#include "profile.h"
#include "scp.h"
#include "sign.h"
#include "stream.h"
#include "transport.h"
#include "verify.h"

#define MAX_CELLS 64
#define LOAD_BLOCKS 256
#define GET_STATUS_PAGES 16

static const uint8_t isd_aid[] = { 0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00 };
/* TEST KEYS ONLY: the GlobalPlatform test key 40..4F. */
static const uint8_t test_key[16] = {
	0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47,
	0x48, 0x49, 0x4A, 0x4B, 0x4C, 0x4D, 0x4E, 0x4F,
};
/* Proprietary RID "CPKM" + F0: package AIDs of the matrix. */
static const uint8_t pkg_rid[] = { 0xF0, 0x43, 0x50, 0x4B, 0x4D };

struct cell {
	uint8_t level;
	size_t size;			/* LFDB bytes */
	bool over;			/* one byte more than 256 blocks: must be refused */
	size_t index;
	struct gp_aid pkg, applet;
	char name[160];
};

struct matrix {
	const char *work;
	enum scp_version scp;
	uint8_t i;
	uint8_t kvn;
	enum gp_diversification div;
	const char *div_name;
	bool session;			/* the i has no predictable challenge */
	const char *emit;
	bool check_only;
	struct cpk_signer *signer;
	struct cpk_trust *trust;
	struct cpk_transport t;		/* the one PC/SC connection */
	bool connected;
	unsigned passed, failed;
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void cell_fail(struct matrix *m, const struct cell *c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
cell_fail(struct matrix *m, const struct cell *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "e2e_matrix: FAIL [%s]: ", c->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	m->failed++;
}


static void
hex(const uint8_t *p, size_t n, char *out, size_t cap)
{
	if (cpk_hex_encode(p, n, out, cap) != CPK_OK)
		out[0] = '\0';
}

static cpk_status
write_text(const char *dir, const char *name, const char *text, struct cpk_error *err)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return cpk_file_replace(path, (const uint8_t *)text, strlen(text), 0600, err);
}

/* --- the card, over the held connection --- */

/* Plain exchange; resp receives the data, *sw the status word. */
static cpk_status
xchg(struct matrix *m, const uint8_t *cmd, size_t n, struct cpk_buf *resp, uint16_t *sw,
    struct cpk_error *err)
{
	cpk_status st;

	cpk_buf_reset(resp);
	if ((st = cpk_transport_exchange(&m->t, cmd, n, resp, err)) != CPK_OK)
		return st;
	if (resp->len < 2)
		return cpk_error_set(err, CPK_ERR_PCSC, "response of %zu bytes", resp->len);
	*sw = (uint16_t)(resp->data[resp->len - 2] << 8 | resp->data[resp->len - 1]);
	cpk_buf_truncate(resp, 2);
	return CPK_OK;
}

/* Plain exchange that must answer 9000. */
static cpk_status
xchg_ok(struct matrix *m, const char *what, const uint8_t *cmd, size_t n, struct cpk_buf *resp,
    struct cpk_error *err)
{
	uint16_t sw = 0;
	cpk_status st;

	if ((st = xchg(m, cmd, n, resp, &sw, err)) != CPK_OK)
		return st;
	if (sw != 0x9000)
		return cpk_error_set(err, CPK_ERR_CARD, "%s answered %04X", what, sw);
	return CPK_OK;
}

static cpk_status
select_aid(struct matrix *m, const uint8_t *aid, size_t len, struct cpk_error *err)
{
	struct cpk_buf cmd = CPK_BUF_INIT, resp = CPK_BUF_INIT;
	struct cpk_apdu a;
	cpk_status st;

	memset(&a, 0, sizeof(a));
	a.cla = 0x00;
	a.ins = 0xA4;
	a.p1 = 0x04;
	a.data = aid;
	a.lc = len;
	a.has_le = true;
	a.ne = 256;
	if ((st = cpk_apdu_build(&a, &cmd, err)) == CPK_OK)
		st = xchg_ok(m, "SELECT", cmd.data, cmd.len, &resp, err);
	cpk_buf_free(&cmd);
	cpk_buf_free(&resp);
	return st;
}

/* GET DATA 80 CA 00 tag: the value of the answered TLV. */
static cpk_status
get_data(struct matrix *m, uint8_t tag, uint8_t *out, size_t want, struct cpk_error *err)
{
	uint8_t cmd[5] = { 0x80, 0xCA, 0x00, tag, 0x00 };
	struct cpk_buf resp = CPK_BUF_INIT;
	struct cpk_tlv tlv;
	cpk_status st;

	if ((st = xchg_ok(m, "GET DATA", cmd, sizeof(cmd), &resp, err)) != CPK_OK)
		goto out;
	if ((st = cpk_tlv_find(resp.data, resp.len, tag, &tlv, err)) != CPK_OK)
		goto out;
	if (tlv.len != want) {
		st = cpk_error_set(err, CPK_ERR_PARSE, "GET DATA %02X: %zu bytes, expected %zu", tag,
		    tlv.len, want);
		goto out;
	}
	memcpy(out, tlv.value, want);
	st = CPK_OK;
out:
	cpk_buf_free(&resp);
	return st;
}

/* INITIALIZE UPDATE with a fresh random host challenge; raw = response data. */
static cpk_status
initialize_update(struct matrix *m, uint8_t hc[SCP_CHALLENGE_LEN], struct cpk_buf *raw,
    struct scp_iu_response *iu, struct cpk_error *err)
{
	struct cpk_buf cmd = CPK_BUF_INIT;
	cpk_status st;

	if ((st = gp_random(hc, SCP_CHALLENGE_LEN, err)) != CPK_OK ||
	    (st = scp_initialize_update_apdu(m->kvn, hc, &cmd, err)) != CPK_OK ||
	    (st = xchg_ok(m, "INITIALIZE UPDATE", cmd.data, cmd.len, raw, err)) != CPK_OK)
		goto out;
	st = scp_iu_response_parse(raw->data, raw->len, iu, err);
out:
	cpk_buf_free(&cmd);
	return st;
}

/* The card's static keys: the test key, diversified with its KDD when the card is. */
static cpk_status
card_keys(const struct matrix *m, const uint8_t kdd[SCP_KDD_LEN], struct scp_keyset *out,
    struct cpk_error *err)
{
	struct scp_keyset master;
	cpk_status st = CPK_OK;

	memset(&master, 0, sizeof(master));
	master.alg = m->scp == SCP03 ? GP_KEY_AES : GP_KEY_3DES;
	master.len = sizeof(test_key);
	master.kvn = m->kvn;
	memcpy(master.enc, test_key, sizeof(test_key));
	memcpy(master.mac, test_key, sizeof(test_key));
	memcpy(master.dek, test_key, sizeof(test_key));
	if (m->div == GP_DIV_NONE)
		*out = master;
	else
		st = scp_keyset_diversify(&master, m->div, kdd, out, err);
	scp_keyset_clear(&master);
	return st;
}

/* SELECT the ISD and open a secure channel at `level` with the host side of scp.h. */
static cpk_status
open_channel(struct matrix *m, uint8_t level, struct scp_session *s, struct cpk_error *err)
{
	struct cpk_buf raw = CPK_BUF_INIT, cmd = CPK_BUF_INIT;
	struct scp_iu_response iu;
	struct scp_keyset keys;
	uint8_t hc[SCP_CHALLENGE_LEN];
	cpk_status st;

	memset(&keys, 0, sizeof(keys));
	scp_session_clear(s);
	if ((st = select_aid(m, isd_aid, sizeof(isd_aid), err)) != CPK_OK ||
	    (st = initialize_update(m, hc, &raw, &iu, err)) != CPK_OK ||
	    (st = card_keys(m, iu.kdd, &keys, err)) != CPK_OK ||
	    (st = scp_session_begin(s, &keys, m->scp, m->i, hc, &iu, err)) != CPK_OK ||
	    (st = scp_check_card_cryptogram(s, iu.card_cryptogram, err)) != CPK_OK ||
	    (st = scp_external_authenticate(s, level, &cmd, err)) != CPK_OK ||
	    (st = xchg_ok(m, "EXTERNAL AUTHENTICATE", cmd.data, cmd.len, &raw, err)) != CPK_OK)
		goto out;
	st = CPK_OK;
out:
	scp_keyset_clear(&keys);
	cpk_buf_free(&raw);
	cpk_buf_free(&cmd);
	return st;
}

/* A command through the open channel; plain receives the unwrapped data. */
static cpk_status
secure_xchg(struct matrix *m, struct scp_session *s, const struct cpk_apdu *a,
    struct cpk_buf *plain, uint16_t *sw, struct cpk_error *err)
{
	struct cpk_buf cmd = CPK_BUF_INIT, wrapped = CPK_BUF_INIT, resp = CPK_BUF_INIT;
	cpk_status st;

	cpk_buf_reset(plain);
	if ((st = cpk_apdu_build(a, &cmd, err)) != CPK_OK ||
	    (st = scp_wrap_command(s, cmd.data, cmd.len, &wrapped, err)) != CPK_OK ||
	    (st = cpk_transport_exchange(&m->t, wrapped.data, wrapped.len, &resp, err)) != CPK_OK)
		goto out;
	st = scp_unwrap_response(s, resp.data, resp.len, plain, sw, err);
out:
	cpk_buf_free(&cmd);
	cpk_buf_free(&wrapped);
	cpk_buf_free(&resp);
	return st;
}

/*
 * GET STATUS P1 p1, P2 02 (tagged), search criteria `4F 00` (everything),
 * following 6310 with P2 03. entries receives the concatenated E3 entries;
 * *sw the final status word (9000, or 6A88 when nothing matched).
 */
static cpk_status
get_status(struct matrix *m, struct scp_session *s, uint8_t p1, struct cpk_buf *entries,
    uint16_t *sw, struct cpk_error *err)
{
	static const uint8_t all[] = { 0x4F, 0x00 };
	struct cpk_buf part = CPK_BUF_INIT;
	struct cpk_apdu a;
	int page;
	cpk_status st;

	cpk_buf_reset(entries);
	memset(&a, 0, sizeof(a));
	a.cla = 0x80;
	a.ins = 0xF2;
	a.p1 = p1;
	a.p2 = 0x02;
	a.data = all;
	a.lc = sizeof(all);
	a.has_le = true;
	a.ne = 256;
	for (page = 0; page < GET_STATUS_PAGES; page++) {
		if ((st = secure_xchg(m, s, &a, &part, sw, err)) != CPK_OK ||
		    (st = cpk_buf_append(entries, part.data, part.len, err)) != CPK_OK)
			goto out;
		if (*sw != 0x6310)
			break;
		a.p2 = 0x03;
	}
	if (*sw != 0x9000 && *sw != 0x6A88)
		st = cpk_error_set(err, CPK_ERR_CARD, "GET STATUS P1 %02X answered %04X", p1, *sw);
	else if (page == GET_STATUS_PAGES)
		st = cpk_error_set(err, CPK_ERR_CARD, "GET STATUS P1 %02X: more than %d pages", p1,
		    GET_STATUS_PAGES);
	else
		st = cpk_tlv_validate(entries->data, entries->len, 2, err);
out:
	cpk_buf_free(&part);
	return st;
}

static bool
tlv_is(const uint8_t *p, size_t n, uint32_t tag, const uint8_t *want, size_t wlen)
{
	struct cpk_tlv t;

	return cpk_tlv_find(p, n, tag, &t, NULL) == CPK_OK && t.len == wlen &&
	    memcmp(t.value, want, wlen) == 0;
}

/* The E3 entry whose 4F is aid: *entry and *elen point at its contents. */
static bool
find_entry(const struct cpk_buf *entries, const struct gp_aid *aid, const uint8_t **entry,
    size_t *elen)
{
	struct cpk_cursor c;
	struct cpk_tlv t;

	cpk_cursor_init(&c, entries->data, entries->len);
	while (cpk_cursor_left(&c) > 0 && cpk_tlv_next(&c, &t, NULL) == CPK_OK) {
		if (t.tag == 0xE3 && tlv_is(t.value, t.len, 0x4F, aid->b, aid->len)) {
			*entry = t.value;
			*elen = t.len;
			return true;
		}
	}
	return false;
}

/* Is module listed (tag 84) among the top-level objects of an entry? */
static bool
entry_has_module(const uint8_t *p, size_t n, const struct gp_aid *module)
{
	struct cpk_cursor c;
	struct cpk_tlv t;

	cpk_cursor_init(&c, p, n);
	while (cpk_cursor_left(&c) > 0 && cpk_tlv_next(&c, &t, NULL) == CPK_OK)
		if (t.tag == 0x84 && t.len == module->len && memcmp(t.value, module->b, t.len) == 0)
			return true;
	return false;
}

/* Step 5: GET STATUS P1 40, 20, 10 in a fresh channel, then SELECT of the instance. */
static cpk_status
prove_install(struct matrix *m, const struct cell *c, struct cpk_error *err)
{
	static const uint8_t selectable = 0x07, loaded = 0x01;
	struct scp_session s;
	struct cpk_buf entries = CPK_BUF_INIT;
	const uint8_t *e = NULL;
	size_t elen = 0;
	uint16_t sw = 0;
	cpk_status st;

	memset(&s, 0, sizeof(s));
	if ((st = open_channel(m, c->level, &s, err)) != CPK_OK) {
		cpk_error_prefix(err, "secure channel for GET STATUS");
		goto out;
	}
	if ((st = get_status(m, &s, 0x40, &entries, &sw, err)) != CPK_OK)
		goto out;
	if (!find_entry(&entries, &c->applet, &e, &elen)) {
		st = cpk_error_set(err, CPK_ERR_VERIFY, "GET STATUS P1 40 does not list the instance");
		goto out;
	}
	if (!tlv_is(e, elen, 0x9F70, &selectable, 1) ||
	    !tlv_is(e, elen, 0xC4, c->pkg.b, c->pkg.len)) {
		st = cpk_error_set(err, CPK_ERR_VERIFY, "GET STATUS P1 40: the instance is not "
		    "SELECTABLE from the package");
		goto out;
	}
	if ((st = get_status(m, &s, 0x20, &entries, &sw, err)) != CPK_OK)
		goto out;
	if (!find_entry(&entries, &c->pkg, &e, &elen) || !tlv_is(e, elen, 0x9F70, &loaded, 1)) {
		st = cpk_error_set(err, CPK_ERR_VERIFY,
		    "GET STATUS P1 20 does not list the package as LOADED");
		goto out;
	}
	if ((st = get_status(m, &s, 0x10, &entries, &sw, err)) != CPK_OK)
		goto out;
	if (!find_entry(&entries, &c->pkg, &e, &elen) || !entry_has_module(e, elen, &c->applet)) {
		st = cpk_error_set(err, CPK_ERR_VERIFY,
		    "GET STATUS P1 10 does not list the package with its module");
		goto out;
	}
	if ((st = select_aid(m, c->applet.b, c->applet.len, err)) != CPK_OK) {
		cpk_error_prefix(err, "the instance is not selectable");
		goto out;
	}
	st = CPK_OK;
out:
	scp_session_clear(&s);
	cpk_buf_free(&entries);
	return st;
}

/* Step 6: DELETE the package with its instance; GET STATUS P1 20 then answers 6A88. */
static cpk_status
remove_package(struct matrix *m, const struct cell *c, struct cpk_error *err)
{
	struct scp_session s;
	struct cpk_buf cmd = CPK_BUF_INIT, plain = CPK_BUF_INIT, entries = CPK_BUF_INIT;
	struct cpk_apdu a;
	const uint8_t *e;
	size_t elen;
	uint16_t sw = 0;
	cpk_status st;

	memset(&s, 0, sizeof(s));
	if ((st = open_channel(m, c->level, &s, err)) != CPK_OK) {
		cpk_error_prefix(err, "secure channel for DELETE");
		goto out;
	}
	if ((st = gp_cmd_delete(&c->pkg, true, &cmd, err)) != CPK_OK ||
	    (st = cpk_apdu_parse(cmd.data, cmd.len, &a, err)) != CPK_OK ||
	    (st = secure_xchg(m, &s, &a, &plain, &sw, err)) != CPK_OK)
		goto out;
	if (sw != 0x9000) {
		st = cpk_error_set(err, CPK_ERR_CARD, "DELETE of the package answered %04X", sw);
		goto out;
	}
	if ((st = get_status(m, &s, 0x20, &entries, &sw, err)) != CPK_OK)
		goto out;
	if (sw == 0x9000 && find_entry(&entries, &c->pkg, &e, &elen)) {
		st = cpk_error_set(err, CPK_ERR_VERIFY, "the package is still listed after DELETE");
		goto out;
	}
	st = CPK_OK;
out:
	scp_session_clear(&s);
	cpk_buf_free(&cmd);
	cpk_buf_free(&plain);
	cpk_buf_free(&entries);
	return st;
}

/* --- compile --- */

static cpk_status
write_inputs(struct matrix *m, const struct cell *c, struct cpk_error *err)
{
	struct capgen_spec spec;
	char pkg[33], app[33], path[512], text[2048], name[64];
	cpk_status st;

	capgen_spec_init(&spec);
	memcpy(spec.package.b, c->pkg.b, c->pkg.len);
	spec.package.len = c->pkg.len;
	memcpy(spec.applets[0].b, c->applet.b, c->applet.len);
	spec.applets[0].len = c->applet.len;
	spec.applet_count = 1;
	spec.lfdb_size = c->size;
	snprintf(path, sizeof(path), "%s/cell%zu.cap", m->work, c->index);
	if ((st = capgen_write(&spec, path, err)) != CPK_OK)
		return st;
	gp_aid_hex(&c->pkg, pkg);
	gp_aid_hex(&c->applet, app);
	snprintf(text, sizeof(text),
	    "profile: 1\n"
	    "name: matrix-cell%zu\n"
	    "description: \"%s\"\n"
	    "security-domain:\n"
	    "  aid: A000000151000000\n"
	    "  scp: \"%02X\"\n"
	    "  i: \"%02X\"\n"
	    "  kvn: \"%02X\"\n"
	    "  security-level: %s\n"
	    "keys:\n"
	    "  file: keys.yaml\n"
	    "steps:\n"
	    "  - delete:\n"
	    "      aid: %s\n"
	    "      related: true\n"
	    "      missing-ok: true\n"
	    "  - load:\n"
	    "      cap: cell%zu.cap\n"
	    "      hash: %s\n"
	    "  - install:\n"
	    "      applet: %s\n"
	    "      params: \"0102\"\n",
	    c->index, c->name, (unsigned)m->scp, m->i, m->kvn, scp_level_name(c->level), pkg, c->index,
	    m->scp == SCP02 ? "sha1" : "sha256", app);
	snprintf(name, sizeof(name), "cell%zu.yaml", c->index);
	return write_text(m->work, name, text, err);
}

/* Step 1: the card record, from the card. */
static cpk_status
identify(struct matrix *m, struct card_record *card, struct cpk_error *err)
{
	struct cpk_buf raw = CPK_BUF_INIT;
	struct scp_iu_response iu;
	uint8_t kdd[SCP_KDD_LEN], counter[3], hc[SCP_CHALLENGE_LEN];
	char text[1024], h_kdd[21], h_hc[17], h_iu[65];
	size_t clen = m->scp == SCP03 ? 3 : 2;
	uint32_t next;
	cpk_status st;

	if ((st = select_aid(m, isd_aid, sizeof(isd_aid), err)) != CPK_OK)
		goto out;
	if (m->session) {
		if ((st = initialize_update(m, hc, &raw, &iu, err)) != CPK_OK)
			goto out;
		hex(iu.kdd, SCP_KDD_LEN, h_kdd, sizeof(h_kdd));
		hex(hc, sizeof(hc), h_hc, sizeof(h_hc));
		hex(raw.data, raw.len, h_iu, sizeof(h_iu));
		snprintf(text, sizeof(text),
		    "sd-aid: A000000151000000\nscp: \"%02X\"\ni: \"%02X\"\nkvn: \"%02X\"\n"
		    "kdd: %s\nhost-challenge: %s\niu-response: %s\nserial: MATRIX\n",
		    (unsigned)m->scp, m->i, m->kvn, h_kdd, h_hc, h_iu);
	} else {
		if ((st = get_data(m, 0xCF, kdd, sizeof(kdd), err)) != CPK_OK ||
		    (st = get_data(m, 0xC1, counter, clen, err)) != CPK_OK)
			goto out;
		/* SCP03 stores the last value used; SCP02 the one the next session uses. */
		next = clen == 3 ? (uint32_t)counter[0] << 16 | (uint32_t)counter[1] << 8 | counter[2] :
		    (uint32_t)counter[0] << 8 | counter[1];
		if (m->scp == SCP03)
			next++;
		hex(kdd, sizeof(kdd), h_kdd, sizeof(h_kdd));
		snprintf(text, sizeof(text),
		    "sd-aid: A000000151000000\nscp: \"%02X\"\ni: \"%02X\"\nkvn: \"%02X\"\n"
		    "kdd: %s\ncounter: \"%0*X\"\nserial: MATRIX\n",
		    (unsigned)m->scp, m->i, m->kvn, h_kdd, (int)(2 * clen), (unsigned)next);
	}
	st = card_parse_yaml("card.yaml", (const uint8_t *)text, strlen(text), card, err);
out:
	cpk_buf_free(&raw);
	return st;
}

/* Steps 2 and 3: compile, sign, reopen as the loader does. */
static cpk_status
compile_bundle(struct matrix *m, const struct cell *c, const struct profile *p,
    const struct card_record *card, struct cpk_buf *bytes, struct cpk_bundle **b,
    struct cpk_error *err)
{
	struct cpk_compile_opts opts;
	struct cpk_compiled out;
	struct cpk_bundle_diag diag;
	const struct cpk_manifest *mf;
	cpk_status st;

	memset(&opts, 0, sizeof(opts));
	memset(&out, 0, sizeof(out));
	memcpy(opts.profile_sha256, p->sha256, sizeof(opts.profile_sha256));
	opts.created = 1700000000;
	cpk_buf_reset(bytes);
	if ((st = cpk_compile(p, card, &opts, &out, err)) != CPK_OK) {
		cpk_error_prefix(err, "compile");
		goto out;
	}
	if ((st = cpk_bundle_write(&out.manifest, out.cmds, out.ncmds, m->signer, bytes,
	    err)) != CPK_OK) {
		cpk_error_prefix(err, "bundle write");
		goto out;
	}
	if ((st = cpk_bundle_open(bytes->data, bytes->len, m->trust, 0, b, &diag, err)) !=
	    CPK_OK) {
		cpk_error_prefix(err, "bundle open (%s)", cpk_bundle_fault_name(diag.fault));
		goto out;
	}
	mf = cpk_bundle_manifest(*b);
	if (mf->mode != (m->session ? CPK_MODE_SESSION : CPK_MODE_OFFLINE) ||
	    mf->level != c->level) {
		st = cpk_error_set(err, CPK_ERR_VERIFY, "the manifest says mode %s level %02X",
		    mf->mode == CPK_MODE_SESSION ? "session" : "offline", mf->level);
		goto out;
	}
	st = CPK_OK;
out:
	cpk_compiled_free(&out);
	return st;
}

/* The held connection as the stream's transport: its transaction is ours. */
static cpk_status
held_transmit(void *ctx, const uint8_t *cmd, size_t n, struct cpk_buf *resp,
    struct cpk_error *err)
{
	struct cpk_transport *t = ctx;

	return t->ops->transmit(t->ctx, cmd, n, resp, err);
}

static const struct cpk_transport_ops held_ops = { .transmit = held_transmit };

/* Step 4. */
static cpk_status
stream(struct matrix *m, const struct cpk_bundle *b, struct cpk_error *err)
{
	struct cpk_transport held = { .ops = &held_ops, .ctx = &m->t };
	struct cpk_stream_result r;
	size_t n = cpk_bundle_command_count(b);
	cpk_status st;

	snprintf(held.name, sizeof(held.name), "%s", m->t.name);
	if ((st = cpk_stream_run(&held, b, NULL, &r, err)) != CPK_OK) {
		cpk_error_prefix(err, "stream (stop %d at command %zu, SW %04X)", (int)r.stop,
		    r.index + 1, r.sw);
		return st;
	}
	if (r.stop != CPK_STOP_NONE || !r.channel_open || r.sent != n || r.accepted != n)
		return cpk_error_set(err, CPK_ERR_VERIFY,
		    "stream: %zu of %zu commands sent, %zu accepted, channel %s", r.sent, n,
		    r.accepted, r.channel_open ? "open" : "not open");
	return CPK_OK;
}

static cpk_status
load_profile(struct matrix *m, const struct cell *c, struct profile **p, struct cpk_error *err)
{
	struct profile_opts popts = { .keydir = m->work };	/* keys.yaml is there */
	char path[512];

	snprintf(path, sizeof(path), "%s/cell%zu.yaml", m->work, c->index);
	return profile_load(path, &popts, p, err);
}

/* A cell one byte over 256 blocks: profile_load must refuse it. */
static void
run_over(struct matrix *m, const struct cell *c)
{
	struct profile *p = NULL;
	struct cpk_error err;
	cpk_status st;

	cpk_error_clear(&err);
	if ((st = write_inputs(m, c, &err)) != CPK_OK) {
		cell_fail(m, c, "inputs: %s", err.msg);
		return;
	}
	st = load_profile(m, c, &p, &err);
	if (st != CPK_ERR_RANGE || strstr(err.msg, "at most 256") == NULL) {
		cell_fail(m, c, "the profile was %s (status %s: %s)",
		    st == CPK_OK ? "accepted" : "refused for another reason", cpk_status_name(st),
		    err.msg);
	} else {
		m->passed++;
		fprintf(stderr, "e2e_matrix: ok   [%s]: refused: %s\n", c->name, err.msg);
	}
	profile_free(&p);
}

static void
run_cell(struct matrix *m, const struct cell *c)
{
	struct profile *p = NULL;
	struct card_record card;
	struct cpk_buf bytes = CPK_BUF_INIT;
	struct cpk_bundle *b = NULL;
	struct cpk_error err, end_err;
	double t0 = now();
	size_t ncmds = 0;
	bool in_tx = false;
	const char *stage = "inputs";

	card_record_init(&card);
	cpk_error_clear(&err);
	if (c->over) {
		run_over(m, c);
		return;
	}
	if (!m->check_only) {
		if (write_inputs(m, c, &err) != CPK_OK)
			goto fail;
		stage = "profile";
		if (load_profile(m, c, &p, &err) != CPK_OK)
			goto fail;
	}
	stage = "transaction";
	if (cpk_transport_begin(&m->t, &err) != CPK_OK)
		goto fail;
	in_tx = true;
	if (!m->check_only) {
		stage = "identify";
		if (identify(m, &card, &err) != CPK_OK)
			goto fail;
		stage = "bundle";
		if (compile_bundle(m, c, p, &card, &bytes, &b, &err) != CPK_OK)
			goto fail;
		ncmds = cpk_bundle_command_count(b);
		if (m->emit != NULL) {
			stage = "emit";
			if (cpk_file_replace(m->emit, bytes.data, bytes.len, 0644, &err) !=
			    CPK_OK)
				goto fail;
			goto done;
		}
		stage = "load";
		if (stream(m, b, &err) != CPK_OK)
			goto fail;
	}
	stage = "GET STATUS";
	if (prove_install(m, c, &err) != CPK_OK)
		goto fail;
	stage = "clean-up";
	if (remove_package(m, c, &err) != CPK_OK)
		goto fail;
done:
	in_tx = false;
	stage = "end of transaction";
	if (cpk_transport_end(&m->t, &err) != CPK_OK)
		goto fail;
	m->passed++;
	if (m->check_only)
		fprintf(stderr, "e2e_matrix: ok   [%s]: installed (GET STATUS), then deleted, "
		    "%.2f s\n", c->name, now() - t0);
	else
		fprintf(stderr, "e2e_matrix: ok   [%s]: %s%zu commands, %.2f s\n", c->name,
		    m->emit != NULL ? "bundle written, " : "", ncmds, now() - t0);
	goto out;
fail:
	cell_fail(m, c, "%s: %s", stage, err.msg);
	if (in_tx) {
		cpk_error_clear(&end_err);
		(void)cpk_transport_end(&m->t, &end_err);
	}
out:
	cpk_bundle_free(&b);
	cpk_buf_free(&bytes);
	card_record_clear(&card);
	profile_free(&p);
}

/* --- set-up --- */

static bool
parse_cell(struct matrix *m, const char *arg, size_t index, struct cell *c)
{
	unsigned long level;
	char *end;
	size_t block, max;

	memset(c, 0, sizeof(*c));
	level = strtoul(arg, &end, 16);
	if (end != arg + 2 || *end != ':' || scp_level_name((uint8_t)level) == NULL ||
	    scp_level_allowed(m->scp, m->i, (uint8_t)level, NULL) != CPK_OK) {
		fprintf(stderr, "e2e_matrix: cell '%s': level not allowed for SCP%02X i=%02X\n", arg,
		    (unsigned)m->scp, m->i);
		return false;
	}
	c->level = (uint8_t)level;
	block = scp_max_plain_data(m->scp, c->level, CPK_APDU_SHORT_MAX_LC);
	/* The load file is C4, a 3-byte BER length (82 xx xx) and the LFDB. */
	max = LOAD_BLOCKS * block - 4;
	end++;
	if (strcmp(end, "max") == 0) {
		c->size = max;
	} else if (strcmp(end, "over") == 0) {
		c->size = max + 1;
		c->over = true;
	} else {
		c->size = strtoul(end, &end, 10);
		if (*end != '\0' || c->size < 1024 || c->size > max) {
			fprintf(stderr, "e2e_matrix: cell '%s': size from 1024 to %zu\n", arg, max);
			return false;
		}
	}
	c->index = index;
	/* F0 "CPKM" | scp | i | level | div | index: unique among the cells on a card. */
	c->pkg.len = (uint8_t)(sizeof(pkg_rid) + 5);
	memcpy(c->pkg.b, pkg_rid, sizeof(pkg_rid));
	c->pkg.b[5] = (uint8_t)m->scp;
	c->pkg.b[6] = m->i;
	c->pkg.b[7] = c->level;
	c->pkg.b[8] = (uint8_t)m->div;
	c->pkg.b[9] = (uint8_t)index;
	c->applet = c->pkg;
	c->applet.b[c->applet.len++] = 0x01;
	snprintf(c->name, sizeof(c->name), "SCP%02X i=%02X %s level %02X (%s) div %s LFDB %zu%s",
	    (unsigned)m->scp, m->i, m->session ? "session" : "offline", c->level,
	    scp_level_name(c->level), m->div_name, c->size,
	    c->over ? " = 256 blocks + 1" : c->size == max ? " = 256 blocks" : "");
	return true;
}

static void
usage(void)
{
	fprintf(stderr, "usage: e2e_matrix -w WORKDIR --scp 02|03 --i HEX "
	    "--div none|emv|visa2|kdf3 [-s SIGNKEY] [--emit BUNDLE | --check-only] "
	    "LEVEL:SIZE|max|over...\n");
}

static bool
set_up(struct matrix *m, const char *signkey, struct cpk_error *err)
{
	static const uint8_t seed[CPK_ED25519_KEY_LEN] = { 'c', 'p', 'k', '-', 'm', 'a', 't' };
	char text[512], key[33];

	hex(test_key, sizeof(test_key), key, sizeof(key));
	if (m->div == GP_DIV_NONE)
		snprintf(text, sizeof(text),
		    "# TEST KEYS ONLY\nkvn: \"%02X\"\nalgorithm: %s\nenc: %s\nmac: %s\ndek: %s\n",
		    m->kvn, m->scp == SCP03 ? "aes" : "3des", key, key, key);
	else
		snprintf(text, sizeof(text),
		    "# TEST KEYS ONLY\nkvn: \"%02X\"\nalgorithm: %s\nmaster: %s\n"
		    "diversification: %s\n", m->kvn, m->scp == SCP03 ? "aes" : "3des", key,
		    m->div_name);
	if (write_text(m->work, "keys.yaml", text, err) != CPK_OK ||
	    (signkey != NULL ? cpk_signer_load(signkey, &m->signer, err) :
	    cpk_signer_from_seed(seed, &m->signer, err)) != CPK_OK ||
	    cpk_trust_new(&m->trust, err) != CPK_OK ||
	    cpk_trust_add_key(m->trust, cpk_signer_pubkey(m->signer), "matrix signer", err) !=
	    CPK_OK)
		return false;
	if (cpk_pcsc_open(NULL, &m->t, err) != CPK_OK)
		return false;
	m->connected = true;
	return true;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "work", required_argument, NULL, 'w' },
		{ "scp", required_argument, NULL, 'S' },
		{ "i", required_argument, NULL, 'I' },
		{ "div", required_argument, NULL, 'D' },
		{ "sign-key", required_argument, NULL, 's' },
		{ "emit", required_argument, NULL, 'E' },
		{ "check-only", no_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 },
	};
	static struct cell cells[MAX_CELLS];
	struct matrix m;
	struct cpk_error err;
	const char *signkey = NULL;
	char *end;
	unsigned long v;
	size_t ncells = 0, k;
	int opt, rc = 1;

	memset(&m, 0, sizeof(m));
	m.i = 0xFF;
	cpk_error_clear(&err);
	while ((opt = getopt_long(argc, argv, "w:s:", longopts, NULL)) != -1) {
		switch (opt) {
		case 'w':
			m.work = optarg;
			break;
		case 'S':
			m.scp = strcmp(optarg, "02") == 0 ? SCP02 : strcmp(optarg, "03") == 0 ? SCP03 :
			    (enum scp_version)0;
			break;
		case 'I':
			v = strtoul(optarg, &end, 16);
			m.i = v <= 0xFF && end == optarg + 2 && *end == '\0' ? (uint8_t)v : 0xFF;
			break;
		case 'D':
			m.div_name = optarg;
			if (gp_diversification_parse(optarg, &m.div, &err) != CPK_OK) {
				fprintf(stderr, "e2e_matrix: %s\n", err.msg);
				return 2;
			}
			break;
		case 's':
			signkey = optarg;
			break;
		case 'E':
			m.emit = optarg;
			break;
		case 'C':
			m.check_only = true;
			break;
		default:
			usage();
			return 2;
		}
	}
	if (m.work == NULL || m.scp == 0 || m.div_name == NULL || optind == argc ||
	    scp_i_supported(m.scp, m.i, &err) != CPK_OK ||
	    ((m.emit != NULL || m.check_only) && argc - optind != 1)) {
		usage();
		return 2;
	}
	m.kvn = m.scp == SCP03 ? 0x30 : 0x20;
	m.session = !scp_i_pseudo_random(m.scp, m.i);
	if (m.emit != NULL && m.session) {
		fprintf(stderr, "e2e_matrix: --emit needs an offline cell\n");
		return 2;
	}
	for (k = optind; k < (size_t)argc; k++) {
		if (ncells == MAX_CELLS || !parse_cell(&m, argv[k], ncells, &cells[ncells]))
			return 2;
		ncells++;
	}
	if (!set_up(&m, signkey, &err)) {
		fprintf(stderr, "e2e_matrix: set-up for SCP%02X i=%02X div %s: %s\n", (unsigned)m.scp,
		    m.i, m.div_name, err.msg);
		goto out;
	}
	fprintf(stderr, "e2e_matrix: SCP%02X i=%02X div %s, %zu cell(s), reader '%s'\n",
	    (unsigned)m.scp, m.i, m.div_name, ncells, m.t.name);
	for (k = 0; k < ncells; k++)
		run_cell(&m, &cells[k]);
	fprintf(stderr, "e2e_matrix: SCP%02X i=%02X div %s: %u passed, %u failed\n",
	    (unsigned)m.scp, m.i, m.div_name, m.passed, m.failed);
	rc = m.failed == 0 ? 0 : 1;
out:
	if (m.connected)
		cpk_transport_close(&m.t);
	cpk_trust_free(&m.trust);
	cpk_signer_free(&m.signer);
	return rc;
}
