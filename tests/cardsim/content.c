/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cardsim: card content management. DELETE, INSTALL [for load, install,
 * make selectable, personalization], LOAD, GET STATUS and STORE DATA, as
 * GlobalPlatform Card Specification 2.3.1 chapter 11 describes them, with
 * the status words a card gives.
 */
#include "card_int.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "cpk_lfdb.h"
#include "cpk_tlv.h"

/* ISD privileges as GET STATUS reports them (SD, card lock/terminate, ...). */
static const uint8_t isd_privileges[3] = { 0x9E, 0xFE, 0x80 };


static uint16_t
answer_zero(const struct cpk_apdu *a, struct cpk_buf *resp)
{
	/* "A single byte 00" confirms DELETE, INSTALL and LOAD when Le asks for it. */
	if (a->has_le && cpk_buf_append_byte(resp, 0x00, NULL) != CPK_OK)
		return SW_INTERNAL;
	return SW_OK;
}

static size_t
memory_free(const struct cardsim *c)
{
	size_t used = cardsim_memory_used(c);

	return used >= c->id.memory ? 0 : c->id.memory - used;
}

static bool
aid_len_ok(size_t n)
{
	return n >= CPK_AID_MIN && n <= CPK_AID_MAX;
}

static void
hex_of(const uint8_t *p, size_t n, char *out, size_t cap)
{
	if (cpk_hex_encode(p, n, out, cap) != CPK_OK)
		(void)cpk_hex_encode(p, 0, out, cap);
}

/* Split the data of an INSTALL command into exactly nf length-prefixed fields. */
uint16_t
cs_install_fields(struct cardsim *c, const struct cpk_apdu *a, struct cs_lv *f, size_t nf,
    const char *what)
{
	struct cpk_cursor cur;
	uint8_t len;
	size_t i;
	uint16_t sw = SW_WRONG_DATA;

	cpk_cursor_init(&cur, a->data, a->lc);
	for (i = 0; i < nf; i++) {
		if (!cpk_cursor_u8(&cur, &len) || !cpk_cursor_bytes(&cur, len, &f[i].p)) {
			sw = cs_refuse(c, SW_WRONG_DATA, "INSTALL [for %s]: field %zu of %zu truncated",
			    what, i + 1, nf);
			goto out;
		}
		f[i].n = len;
	}
	if (cpk_cursor_left(&cur) != 0) {
		sw = cs_refuse(c, SW_WRONG_DATA, "INSTALL [for %s]: %zu bytes after the last field",
		    what, cpk_cursor_left(&cur));
		goto out;
	}
	sw = SW_OK;
out:
	return sw;
}

/* --- INSTALL [for load] and LOAD --- */

/* Load parameters: empty, or EF { C6 code, C7 volatile, C8 data, ... }. */
static uint16_t
check_load_parameters(struct cardsim *c, const struct cs_lv *f, size_t *need)
{
	struct cpk_cursor cur, in;
	struct cpk_error err;
	struct cpk_tlv ef, t;
	size_t j, v;
	uint16_t sw = SW_OK;

	*need = 0;
	if (f->n == 0)
		goto out;
	cpk_error_clear(&err);
	cpk_cursor_init(&cur, f->p, f->n);
	if (cpk_tlv_next(&cur, &ef, &err) != CPK_OK || ef.tag != 0xEF || cpk_cursor_left(&cur) != 0) {
		sw = cs_refuse(c, SW_WRONG_DATA, "INSTALL [for load]: load parameters must be one "
		    "EF template%s%s", err.msg[0] ? ": " : "", err.msg);
		goto out;
	}
	cpk_cursor_init(&in, ef.value, ef.len);
	while (cpk_cursor_left(&in) > 0) {
		if (cpk_tlv_next(&in, &t, &err) != CPK_OK) {
			sw = cs_refuse(c, SW_WRONG_DATA, "INSTALL [for load]: load parameters: %s",
			    err.msg);
			goto out;
		}
		if (t.tag == 0xC6 || t.tag == 0xC8) {
			if (t.len != 2 && t.len != 4) {
				sw = cs_refuse(c, SW_WRONG_DATA,
				    "INSTALL [for load]: memory parameter %02X of %zu bytes",
				    (unsigned)t.tag, t.len);
				goto out;
			}
			for (v = 0, j = 0; j < t.len; j++)
				v = (v << 8) | t.value[j];
			*need += v;
		}
	}
	sw = SW_OK;
out:
	return sw;
}

static uint16_t
install_for_load(struct cardsim *c, const struct cpk_apdu *a, struct cpk_buf *resp)
{
	struct cs_lv f[5];
	size_t need, avail = memory_free(c);
	uint16_t sw;

	if ((sw = cs_install_fields(c, a, f, 5, "load")) != SW_OK)
		goto out;
	if (!aid_len_ok(f[0].n)) {
		sw = cs_refuse(c, SW_WRONG_DATA, "INSTALL [for load]: load file AID of %zu bytes",
		    f[0].n);
		goto out;
	}
	if (f[1].n != 0 && !cs_is_sd(c, f[1].p, f[1].n)) {
		sw = cs_refuse(c, SW_NOT_FOUND,
		    "INSTALL [for load]: the security domain named is not on the card");
		goto out;
	}
	if (f[2].n != 0 && f[2].n != 20 && f[2].n != 32) {
		sw = cs_refuse(c, SW_WRONG_DATA, "INSTALL [for load]: load file data block hash "
		    "of %zu bytes (SHA-1: 20, SHA-256: 32)", f[2].n);
		goto out;
	}
	if ((sw = check_load_parameters(c, &f[3], &need)) != SW_OK)
		goto out;
	if (cs_aid_in_use(c, f[0].p, f[0].n)) {
		sw = cs_refuse(c, SW_CONDITIONS, "INSTALL [for load]: the AID is already in use");
		goto out;
	}
	if (c->nloadfiles >= CS_MAX_LOADFILES) {
		sw = cs_refuse(c, SW_NO_MEMORY, "INSTALL [for load]: registry full");
		goto out;
	}
	if (need > avail) {
		sw = cs_refuse(c, SW_NO_MEMORY, "INSTALL [for load]: load parameters ask for %zu "
		    "bytes, %zu free", need, avail);
		goto out;
	}
	cs_abandon_load(c);
	c->load.active = true;
	memcpy(c->load.aid.b, f[0].p, f[0].n);
	c->load.aid.len = f[0].n;
	memcpy(c->load.hash, f[2].p, f[2].n);
	c->load.hash_len = f[2].n;
	memcpy(c->load.sd.b, f[1].p, f[1].n);
	c->load.sd.len = f[1].n;
	c->load.next_block = 0;
	sw = answer_zero(a, resp);
out:
	return sw;
}

enum load_header {
	LOAD_HEADER_MORE,	/* not all of the C4 header received yet */
	LOAD_HEADER_OK,
	LOAD_HEADER_BAD,
};

/*
 * Find `C4 <BER length>` after any DAP blocks (E2 ...) in what has been
 * received. *hdr is the offset of the LFDB, *lfdb_len its declared length.
 */
static enum load_header
parse_load_header(const uint8_t *p, size_t n, size_t *hdr, size_t *lfdb_len)
{
	struct cpk_cursor cur;
	uint8_t tag, b, k;
	size_t len, i;

	cpk_cursor_init(&cur, p, n);
	for (;;) {
		if (!cpk_cursor_u8(&cur, &tag) || !cpk_cursor_u8(&cur, &b))
			return LOAD_HEADER_MORE;
		if (tag != 0xE2 && tag != 0xC4)
			return LOAD_HEADER_BAD;
		if (b < 0x80) {
			len = b;
		} else if (b >= 0x81 && b <= 0x83) {
			for (len = 0, i = 0; i < (size_t)(b & 0x7F); i++) {
				if (!cpk_cursor_u8(&cur, &k))
					return LOAD_HEADER_MORE;
				len = (len << 8) | k;
			}
		} else {
			return LOAD_HEADER_BAD;
		}
		if (tag == 0xC4) {
			*hdr = n - cpk_cursor_left(&cur);
			*lfdb_len = len;
			return LOAD_HEADER_OK;
		}
		/* A DAP block: this security domain has no DAP requirement; skip it. */
		if (!cpk_cursor_skip(&cur, len))
			return LOAD_HEADER_MORE;
	}
}

static bool
hash_lfdb(const uint8_t *p, size_t n, size_t hash_len, uint8_t *md)
{
	const EVP_MD *alg = hash_len == 20 ? EVP_sha1() : EVP_sha256();
	unsigned int mdlen = 0;

	return EVP_Digest(p, n, md, &mdlen, alg, NULL) == 1 && mdlen == hash_len;
}

/* The last LOAD block arrived: check the whole load file and register it. */
static uint16_t
finish_load(struct cardsim *c, size_t hdr, size_t lfdb_len)
{
	struct cpk_lfdb_info *info = NULL;
	struct cs_loadfile *lf;
	struct cpk_error err;
	const uint8_t *lfdb = c->load.data.data + hdr;
	uint8_t md[32];
	size_t i;
	uint16_t sw = SW_INTERNAL;

	cpk_error_clear(&err);
	if (c->load.data.len - hdr != lfdb_len) {
		sw = cs_refuse(c, SW_WRONG_DATA, "LOAD: C4 announces %zu bytes, %zu arrived",
		    lfdb_len, c->load.data.len - hdr);
		goto out;
	}
	if (c->load.hash_len > 0) {
		if (!hash_lfdb(lfdb, lfdb_len, c->load.hash_len, md)) {
			sw = cs_refuse(c, SW_INTERNAL, "LOAD: hashing failed");
			goto out;
		}
		if (!cpk_ct_equal(md, c->load.hash, c->load.hash_len)) {
			sw = cs_refuse(c, SW_WRONG_DATA, "LOAD: the load file data block does not match "
			    "the %s hash of INSTALL [for load]", c->load.hash_len == 20 ? "SHA-1" :
			    "SHA-256");
			goto out;
		}
	}
	if ((c->id.dap_key_len > 0 && (sw = cs_dap_verify(c, hdr)) != SW_OK) ||
	    (sw = cs_ssd_dap_verify(c, hdr)) != SW_OK)
		goto out;
	if ((info = malloc(sizeof(*info))) == NULL) {
		sw = cs_refuse(c, SW_INTERNAL, "LOAD: out of memory");
		goto out;
	}
	if (cpk_lfdb_parse(lfdb, lfdb_len, info, &err) != CPK_OK) {
		sw = cs_refuse(c, SW_WRONG_DATA, "LOAD: %s", err.msg);
		goto out;
	}
	if (info->pkg_aid_len != c->load.aid.len ||
	    memcmp(info->pkg_aid, c->load.aid.b, info->pkg_aid_len) != 0) {
		sw = cs_refuse(c, SW_WRONG_DATA, "LOAD: the package AID differs from the load file "
		    "AID of INSTALL [for load]");
		goto out;
	}
	if (info->napplets > CS_MAX_MODULES) {
		sw = cs_refuse(c, SW_NO_MEMORY, "LOAD: %zu applets (this card takes %d per package)",
		    info->napplets, CS_MAX_MODULES);
		goto out;
	}
	lf = &c->loadfiles[c->nloadfiles];
	memset(lf, 0, sizeof(*lf));
	lf->aid = c->load.aid;
	lf->major = info->pkg_major;
	lf->minor = info->pkg_minor;
	lf->size = lfdb_len;
	lf->nmodules = info->napplets;
	for (i = 0; i < info->napplets; i++) {
		memcpy(lf->modules[i].b, info->applets[i].aid, info->applets[i].aid_len);
		lf->modules[i].len = info->applets[i].aid_len;
	}
	c->nloadfiles++;
	c->dirty = true;
	sw = SW_OK;
out:
	free(info);
	cs_abandon_load(c);
	return sw;
}

uint16_t
cs_cmd_load(struct cardsim *c, const struct cpk_apdu *a, struct cpk_buf *resp)
{
	struct cpk_error err;
	struct dm_command dc;
	struct cs_aid lf_aid, sd_aid;
	size_t hdr = 0, lfdb_len = 0, avail = memory_free(c);
	enum load_header h;
	bool receipt = false;
	uint16_t sw;

	cpk_error_clear(&err);
	if (a->p1 != 0x00 && a->p1 != 0x80) {
		sw = cs_refuse(c, SW_WRONG_P1P2, "LOAD P1 %02X (00 more blocks, 80 last block)",
		    a->p1);
		goto out;
	}
	if (!c->load.active) {
		sw = cs_refuse(c, SW_CONDITIONS, "LOAD without INSTALL [for load]");
		goto out;
	}
	if (a->p2 != c->load.next_block) {
		sw = cs_refuse(c, SW_WRONG_P1P2, "LOAD block %02X, expected %02X; load abandoned",
		    a->p2, c->load.next_block);
		cs_abandon_load(c);
		goto out;
	}
	if (a->lc == 0) {
		sw = cs_refuse(c, SW_WRONG_LENGTH, "LOAD block without data");
		goto out;
	}
	if (c->faults.vanish_load_block >= 0 && a->p2 == (unsigned)c->faults.vanish_load_block) {
		c->faults.vanish_load_block = -1;
		cardsim_reset(c);
		c->action = CS_ACTION_VANISH;
		sw = cs_refuse(c, SW_INTERNAL, "fault injection: card removed during LOAD block %02X",
		    a->p2);
		goto out;
	}
	if (cpk_buf_append(&c->load.data, a->data, a->lc, &err) != CPK_OK) {
		cs_abandon_load(c);
		sw = cs_refuse(c, SW_NO_MEMORY, "LOAD: %s", err.msg);
		goto out;
	}
	c->load.next_block++;
	h = parse_load_header(c->load.data.data, c->load.data.len, &hdr, &lfdb_len);
	if (h == LOAD_HEADER_BAD) {
		cs_abandon_load(c);
		sw = cs_refuse(c, SW_WRONG_DATA, "LOAD: the load file must be [E2 DAP blocks] "
		    "C4 <BER length> <load file data block>");
		goto out;
	}
	if (h == LOAD_HEADER_OK) {
		if (lfdb_len > avail) {
			cs_abandon_load(c);
			sw = cs_refuse(c, SW_NO_MEMORY, "LOAD: %zu bytes, %zu free", lfdb_len, avail);
			goto out;
		}
		if (c->load.data.len - hdr > lfdb_len) {
			cs_abandon_load(c);
			sw = cs_refuse(c, SW_WRONG_DATA, "LOAD: more than the %zu bytes C4 announces",
			    lfdb_len);
			goto out;
		}
	}
	if (a->p1 == 0x80) {
		if (h != LOAD_HEADER_OK) {
			cs_abandon_load(c);
			sw = cs_refuse(c, SW_WRONG_DATA, "LOAD: last block before the C4 header");
			goto out;
		}
		if (c->load.receipt) {
			/* The load receipt names INSTALL [for load]'s load file and SD AIDs. */
			memset(&dc, 0, sizeof(dc));
			dc.kind = DM_LOAD;
			lf_aid = c->load.aid;
			sd_aid = c->load.sd;
			dc.aid[0] = lf_aid.b, dc.aid_len[0] = lf_aid.len;
			dc.aid[1] = sd_aid.b, dc.aid_len[1] = sd_aid.len;
			dc.naids = 2;
			receipt = true;
		}
		if ((sw = finish_load(c, hdr, lfdb_len)) != SW_OK)
			goto out;
		if (receipt) {
			sw = cs_dm_confirm(c, &dc, resp);
			goto out;
		}
	} else if (c->load.next_block > 0xFF) {
		cs_abandon_load(c);
		sw = cs_refuse(c, SW_WRONG_P1P2, "LOAD: block FF is not marked last");
		goto out;
	}
	sw = answer_zero(a, resp);
out:
	return sw;
}

/* --- INSTALL [for install], [for make selectable], [for personalization] --- */

/* Install parameters: C9 first, then optionally EF; each a well-formed TLV. */
static uint16_t
check_install_parameters(struct cardsim *c, const struct cs_lv *f)
{
	struct cpk_cursor cur;
	struct cpk_error err;
	struct cpk_tlv t;
	size_t k = 0;
	uint16_t sw = SW_WRONG_DATA;

	cpk_error_clear(&err);
	cpk_cursor_init(&cur, f->p, f->n);
	while (cpk_cursor_left(&cur) > 0) {
		if (cpk_tlv_next(&cur, &t, &err) != CPK_OK) {
			sw = cs_refuse(c, SW_WRONG_DATA, "INSTALL [for install]: install parameters: %s",
			    err.msg);
			goto out;
		}
		if ((k == 0 && t.tag != 0xC9) || (k > 0 && t.tag != 0xEF) || k > 1) {
			sw = cs_refuse(c, SW_WRONG_DATA, "INSTALL [for install]: install parameters "
			    "must be C9 (application parameters), then optionally EF (system "
			    "parameters)");
			goto out;
		}
		k++;
	}
	if (k == 0) {
		sw = cs_refuse(c, SW_WRONG_DATA,
		    "INSTALL [for install]: install parameters need C9 (C9 00 if empty)");
		goto out;
	}
	sw = SW_OK;
out:
	return sw;
}

static bool
module_of(const struct cs_loadfile *lf, const struct cs_lv *f)
{
	size_t i;

	for (i = 0; i < lf->nmodules; i++)
		if (lf->modules[i].len == f->n && memcmp(lf->modules[i].b, f->p, f->n) == 0)
			return true;
	return false;
}

static uint16_t
install_for_install(struct cardsim *c, const struct cpk_apdu *a, struct cpk_buf *resp)
{
	struct cs_loadfile *lf;
	struct cs_app *app;
	struct cs_lv f[6];
	char hex[2 * CS_AID_MAX + 1];
	uint16_t sw;

	if ((sw = cs_install_fields(c, a, f, 6, "install")) != SW_OK)
		goto out;
	if (!aid_len_ok(f[0].n) || !aid_len_ok(f[1].n) || !aid_len_ok(f[2].n)) {
		sw = cs_refuse(c, SW_WRONG_DATA, "INSTALL [for install]: AIDs of %zu, %zu, %zu bytes",
		    f[0].n, f[1].n, f[2].n);
		goto out;
	}
	if ((lf = cardsim_find_loadfile(c, f[0].p, f[0].n)) == NULL) {
		hex_of(f[0].p, f[0].n, hex, sizeof(hex));
		sw = cs_refuse(c, SW_NOT_FOUND, "INSTALL [for install]: no load file %s", hex);
		goto out;
	}
	if (!module_of(lf, &f[1])) {
		hex_of(f[1].p, f[1].n, hex, sizeof(hex));
		sw = cs_refuse(c, SW_NOT_FOUND, "INSTALL [for install]: the load file has no "
		    "module %s", hex);
		goto out;
	}
	if (f[3].n != 1 && f[3].n != 3) {
		sw = cs_refuse(c, SW_WRONG_DATA, "INSTALL [for install]: privileges of %zu bytes "
		    "(1 or 3)", f[3].n);
		goto out;
	}
	if (f[3].p[0] & 0x80) {
		sw = cs_refuse(c, SW_WRONG_DATA,
		    "INSTALL [for install]: installing security domains is not supported");
		goto out;
	}
	if ((sw = check_install_parameters(c, &f[4])) != SW_OK)
		goto out;
	if (cs_aid_in_use(c, f[2].p, f[2].n)) {
		hex_of(f[2].p, f[2].n, hex, sizeof(hex));
		sw = cs_refuse(c, SW_CONDITIONS, "INSTALL [for install]: AID %s is already in use",
		    hex);
		goto out;
	}
	if (c->napps >= CS_MAX_APPS) {
		sw = cs_refuse(c, SW_NO_MEMORY, "INSTALL [for install]: registry full");
		goto out;
	}
	app = &c->apps[c->napps];
	memset(app, 0, sizeof(*app));
	memcpy(app->aid.b, f[2].p, f[2].n);
	app->aid.len = f[2].n;
	app->load_file = lf->aid;
	memcpy(app->module.b, f[1].p, f[1].n);
	app->module.len = f[1].n;
	app->life_cycle = (a->p1 & 0x08) ? CS_LC_APP_SELECTABLE : CS_LC_APP_INSTALLED;
	memcpy(app->priv, f[3].p, f[3].n);
	app->priv_len = f[3].n;
	memcpy(app->params, f[4].p, f[4].n);
	app->params_len = f[4].n;
	c->napps++;
	c->dirty = true;
	sw = answer_zero(a, resp);
out:
	return sw;
}

static uint16_t
install_make_selectable(struct cardsim *c, const struct cpk_apdu *a, struct cpk_buf *resp)
{
	struct cs_app *app;
	struct cs_lv f[6];
	uint16_t sw;

	if ((sw = cs_install_fields(c, a, f, 6, "make selectable")) != SW_OK)
		goto out;
	if (f[0].n != 0 || f[1].n != 0 || f[4].n != 0 || !aid_len_ok(f[2].n) ||
	    (f[3].n != 1 && f[3].n != 3)) {
		sw = cs_refuse(c, SW_WRONG_DATA, "INSTALL [for make selectable]: expected "
		    "00 00 <instance AID> <privileges> 00 <token>");
		goto out;
	}
	if ((app = cardsim_find_app(c, f[2].p, f[2].n)) == NULL) {
		sw = cs_refuse(c, SW_NOT_FOUND, "INSTALL [for make selectable]: no such application");
		goto out;
	}
	if (app->life_cycle != CS_LC_APP_INSTALLED) {
		sw = cs_refuse(c, SW_CONDITIONS,
		    "INSTALL [for make selectable]: the application is not in state INSTALLED");
		goto out;
	}
	if (f[3].p[0] & 0x80) {
		sw = cs_refuse(c, SW_WRONG_DATA,
		    "INSTALL [for make selectable]: security domain privilege");
		goto out;
	}
	memset(app->priv, 0, sizeof(app->priv));
	memcpy(app->priv, f[3].p, f[3].n);
	app->priv_len = f[3].n;
	app->life_cycle = CS_LC_APP_SELECTABLE;
	c->dirty = true;
	sw = answer_zero(a, resp);
out:
	return sw;
}

static uint16_t
install_for_perso(struct cardsim *c, const struct cpk_apdu *a, struct cpk_buf *resp)
{
	struct cs_app *app;
	struct cs_lv f[6];
	uint16_t sw;

	if ((sw = cs_install_fields(c, a, f, 6, "personalization")) != SW_OK)
		goto out;
	if (f[0].n != 0 || f[1].n != 0 || f[3].n != 0 || f[4].n != 0 || f[5].n != 0 ||
	    !aid_len_ok(f[2].n)) {
		sw = cs_refuse(c, SW_WRONG_DATA, "INSTALL [for personalization]: expected "
		    "00 00 <application AID> 00 00 00");
		goto out;
	}
	if ((app = cardsim_find_app(c, f[2].p, f[2].n)) == NULL) {
		sw = cs_refuse(c, SW_NOT_FOUND, "INSTALL [for personalization]: no such application");
		goto out;
	}
	c->perso.target = (int)(app - c->apps);
	c->perso.next_block = 0;
	cpk_buf_free(&c->perso.open);
	sw = answer_zero(a, resp);
out:
	return sw;
}

uint16_t
cs_cmd_install(struct cardsim *c, const struct cpk_apdu *a, struct cpk_buf *resp)
{
	struct dm_command dc;
	bool receipt = false;
	uint16_t sw;

	if (a->p2 != 0x00) {
		sw = cs_refuse(c, SW_WRONG_P1P2, "INSTALL P2 %02X (00 only)", a->p2);
		goto out;
	}
	if (a->lc == 0) {
		sw = cs_refuse(c, SW_WRONG_LENGTH, "INSTALL without data");
		goto out;
	}
	if ((sw = cs_dm_check(c, a, &dc, &receipt)) != SW_OK)
		goto out;
	switch (a->p1) {
	case 0x02:
		sw = install_for_load(c, a, resp);
		break;
	case 0x04:
	case 0x0C:
		sw = install_for_install(c, a, resp);
		break;
	case 0x08:
		sw = install_make_selectable(c, a, resp);
		break;
	case 0x20:
		sw = install_for_perso(c, a, resp);
		break;
	case 0x10:
		sw = cs_install_for_extradition(c, a);
		break;
	case 0x40:
		sw = cs_install_for_registry_update(c, a);
		break;
	default:
		sw = cs_refuse(c, SW_WRONG_P1P2,
		    "INSTALL P1 %02X is not supported (02, 04, 08, 0C, 10, 20, 40)", a->p1);
		break;
	}
	/* Delegated: a load's receipt answers its last LOAD, the others answer theirs. */
	if (sw == SW_OK && receipt && dc.kind == DM_LOAD)
		c->load.receipt = true;
	else if (sw == SW_OK && receipt)
		sw = cs_dm_confirm(c, &dc, resp);
out:
	return sw;
}

/* --- DELETE --- */

static void
remove_app(struct cardsim *c, size_t idx)
{
	cs_stored_clear(&c->apps[idx].stored);
	memmove(&c->apps[idx], &c->apps[idx + 1], (c->napps - idx - 1) * sizeof(c->apps[0]));
	c->napps--;
	memset(&c->apps[c->napps], 0, sizeof(c->apps[0]));
	if (c->perso.target == (int)idx)
		c->perso.target = -1;
	else if (c->perso.target > (int)idx)
		c->perso.target--;
	/* The selected security domain stays selected (it cannot delete itself). */
	if (c->selected > (int)idx)
		c->selected--;
}

static bool
app_of_loadfile(const struct cs_app *app, const struct cs_loadfile *lf)
{
	return app->load_file.len == lf->aid.len &&
	    memcmp(app->load_file.b, lf->aid.b, lf->aid.len) == 0;
}

uint16_t
cs_cmd_delete(struct cardsim *c, const struct cpk_apdu *a, struct cpk_buf *resp)
{
	struct cpk_cursor cur;
	struct cpk_error err;
	struct cpk_tlv t;
	struct cs_loadfile *lf;
	struct cs_app *app;
	struct dm_command dc;
	size_t i, refs = 0, idx;
	bool receipt = false;
	uint16_t sw;

	cpk_error_clear(&err);
	if (a->p1 != 0x00) {
		sw = cs_refuse(c, SW_WRONG_P1P2, "DELETE P1 %02X (00: last or only command)", a->p1);
		goto out;
	}
	if (a->p2 != 0x00 && a->p2 != 0x80) {
		sw = cs_refuse(c, SW_WRONG_P1P2, "DELETE P2 %02X (00 object, 80 with related "
		    "objects)", a->p2);
		goto out;
	}
	if (a->lc == 0) {
		sw = cs_refuse(c, SW_WRONG_LENGTH, "DELETE without data");
		goto out;
	}
	if (a->data[0] == 0xD0 || a->data[0] == 0xD2) {
		sw = cs_delete_key(c, a);
		goto out;
	}
	if ((sw = cs_dm_check(c, a, &dc, &receipt)) != SW_OK)
		goto out;
	/* The token (9E), checked, is not part of what is deleted. */
	cpk_cursor_init(&cur, a->data, dc.kind == DM_DELETE ? dc.signed_len : a->lc);
	if (cpk_tlv_next(&cur, &t, &err) != CPK_OK || t.tag != 0x4F || cpk_cursor_left(&cur) != 0 ||
	    !aid_len_ok(t.len)) {
		sw = cs_refuse(c, SW_WRONG_DATA, "DELETE data must be 4F <AID of 5-16 bytes>%s%s",
		    err.msg[0] ? ": " : "", err.msg);
		goto out;
	}
	if (t.len == c->id.isd.len && memcmp(t.value, c->id.isd.b, t.len) == 0) {
		sw = cs_refuse(c, SW_CONDITIONS, "DELETE of the issuer security domain");
		goto out;
	}
	if (c->selected >= 0 && t.len == c->apps[c->selected].aid.len &&
	    memcmp(t.value, c->apps[c->selected].aid.b, t.len) == 0) {
		sw = cs_refuse(c, SW_CONDITIONS, "DELETE of the selected security domain");
		goto out;
	}
	c->status.more = false;
	if ((app = cardsim_find_app(c, t.value, t.len)) != NULL) {
		remove_app(c, (size_t)(app - c->apps));
		c->dirty = true;
		sw = receipt ? cs_dm_confirm(c, &dc, resp) : answer_zero(a, resp);
		goto out;
	}
	if ((lf = cardsim_find_loadfile(c, t.value, t.len)) == NULL) {
		sw = cs_refuse(c, SW_NOT_FOUND, "DELETE: no such load file or application");
		goto out;
	}
	for (i = 0; i < c->napps; i++)
		if (app_of_loadfile(&c->apps[i], lf))
			refs++;
	if (refs > 0 && a->p2 != 0x80) {
		sw = cs_refuse(c, SW_CONDITIONS, "DELETE: the load file has %zu application(s); "
		    "delete them first or use P2 80 (related objects)", refs);
		goto out;
	}
	for (i = c->napps; i > 0; i--)
		if (app_of_loadfile(&c->apps[i - 1], lf))
			remove_app(c, i - 1);
	idx = (size_t)(lf - c->loadfiles);
	memmove(&c->loadfiles[idx], &c->loadfiles[idx + 1],
	    (c->nloadfiles - idx - 1) * sizeof(c->loadfiles[0]));
	c->nloadfiles--;
	memset(&c->loadfiles[c->nloadfiles], 0, sizeof(c->loadfiles[0]));
	c->dirty = true;
	sw = receipt ? cs_dm_confirm(c, &dc, resp) : answer_zero(a, resp);
out:
	return sw;
}

/* --- GET STATUS --- */

/* Number of entries of the registry part P1 names. */
static size_t
status_count(const struct cardsim *c, uint8_t p1)
{
	switch (p1) {
	case 0x80:
		return 1;
	case 0x40:
		return c->napps;
	default:
		return c->nloadfiles;
	}
}

static const struct cs_aid *
status_aid(const struct cardsim *c, uint8_t p1, size_t i)
{
	switch (p1) {
	case 0x80:
		return &c->id.isd;
	case 0x40:
		return &c->apps[i].aid;
	default:
		return &c->loadfiles[i].aid;
	}
}

/* One entry, tagged (E3 {...}) or in the legacy format. */
static cpk_status
status_entry(const struct cardsim *c, uint8_t p1, bool tagged, size_t i, struct cpk_buf *e,
    struct cpk_error *err)
{
	struct cpk_buf t = CPK_BUF_INIT;
	const struct cs_aid *aid = status_aid(c, p1, i);
	const struct cs_loadfile *lf = (p1 == 0x20 || p1 == 0x10) ? &c->loadfiles[i] : NULL;
	const struct cs_app *app = p1 == 0x40 ? &c->apps[i] : NULL;
	uint8_t lc, priv[3] = { 0, 0, 0 }, ver[2];
	size_t k;
	cpk_status st;

	if (p1 == 0x80) {
		lc = c->id.life_cycle;
		memcpy(priv, isd_privileges, 3);
	} else if (app != NULL) {
		lc = app->life_cycle;
		memcpy(priv, app->priv, app->priv_len);
	} else {
		lc = CS_LC_LOAD_FILE_LOADED;
	}
	cpk_buf_reset(e);
	if (!tagged) {
		if ((st = cpk_buf_append_byte(e, (uint8_t)aid->len, err)) != CPK_OK ||
		    (st = cpk_buf_append(e, aid->b, aid->len, err)) != CPK_OK ||
		    (st = cpk_buf_append_byte(e, lc, err)) != CPK_OK ||
		    (st = cpk_buf_append_byte(e, lf != NULL ? 0x00 : priv[0], err)) != CPK_OK)
			goto out;
		if (p1 == 0x10 && (st = cpk_buf_append_byte(e, (uint8_t)lf->nmodules, err)) == CPK_OK)
			for (k = 0; k < lf->nmodules && st == CPK_OK; k++)
				if ((st = cpk_buf_append_byte(e, (uint8_t)lf->modules[k].len, err)) ==
				    CPK_OK)
					st = cpk_buf_append(e, lf->modules[k].b, lf->modules[k].len, err);
		goto out;
	}
	if ((st = cpk_tlv_put(&t, 0x4F, aid->b, aid->len, err)) != CPK_OK ||
	    (st = cpk_tlv_put(&t, 0x9F70, &lc, 1, err)) != CPK_OK)
		goto out;
	if (lf == NULL && (st = cpk_tlv_put(&t, 0xC5, priv, 3, err)) != CPK_OK)
		goto out;
	if (app != NULL &&
	    (st = cpk_tlv_put(&t, 0xC4, app->load_file.b, app->load_file.len, err)) != CPK_OK)
		goto out;
	if (lf != NULL) {
		ver[0] = lf->major;
		ver[1] = lf->minor;
		if ((st = cpk_tlv_put(&t, 0xCE, ver, 2, err)) != CPK_OK)
			goto out;
	}
	/*
	 * GP Card Specification 2.3.1 Table 11-36 (GlobalPlatform Registry Data) lists the
	 * Executable Module AIDs (84, one per module) before the Associated Security Domain's
	 * AID (CC): 4F, 9F70, C5, C4, CE, 84..., CC.
	 */
	if (p1 == 0x10)
		for (k = 0; k < lf->nmodules; k++)
			if ((st = cpk_tlv_put(&t, 0x84, lf->modules[k].b, lf->modules[k].len, err)) !=
			    CPK_OK)
				goto out;
	if (p1 != 0x80 && (st = cpk_tlv_put(&t, 0xCC, c->id.isd.b, c->id.isd.len, err)) != CPK_OK)
		goto out;
	st = cpk_tlv_put(e, 0xE3, t.data, t.len, err);
out:
	cpk_buf_free(&t);
	return st;
}

static bool
status_match(const struct cardsim *c, size_t i)
{
	const struct cs_aid *aid = status_aid(c, c->status.p1, i);

	return aid->len >= c->status.prefix.len &&
	    memcmp(aid->b, c->status.prefix.b, c->status.prefix.len) == 0;
}

uint16_t
cs_cmd_get_status(struct cardsim *c, const struct cpk_apdu *a, struct cpk_buf *resp)
{
	struct cpk_buf e = CPK_BUF_INIT;
	struct cpk_cursor cur;
	struct cpk_error err;
	struct cpk_tlv t;
	size_t i, n, limit = cs_response_limit(c, a), found = 0;
	bool next = (a->p2 & 0x01) != 0;
	uint16_t sw = SW_INTERNAL;

	cpk_error_clear(&err);
	if (a->p1 != 0x80 && a->p1 != 0x40 && a->p1 != 0x20 && a->p1 != 0x10) {
		sw = cs_refuse(c, SW_WRONG_P1P2, "GET STATUS P1 %02X (80, 40, 20 or 10)", a->p1);
		goto out;
	}
	if ((a->p2 & ~0x03) != 0) {
		sw = cs_refuse(c, SW_WRONG_P1P2, "GET STATUS P2 %02X (00 or 02, | 01 for next)",
		    a->p2);
		goto out;
	}
	if (a->lc == 0) {
		sw = cs_refuse(c, SW_WRONG_LENGTH, "GET STATUS without search criteria");
		goto out;
	}
	cpk_cursor_init(&cur, a->data, a->lc);
	if (cpk_tlv_next(&cur, &t, &err) != CPK_OK || t.tag != 0x4F || t.len > CS_AID_MAX ||
	    cpk_cursor_left(&cur) != 0) {
		sw = cs_refuse(c, SW_WRONG_DATA, "GET STATUS search criteria must be 4F <AID "
		    "prefix, 0-16 bytes>%s%s", err.msg[0] ? ": " : "", err.msg);
		goto out;
	}
	if (next) {
		if (!c->status.more || c->status.p1 != a->p1 ||
		    c->status.prefix.len != t.len || memcmp(c->status.prefix.b, t.value, t.len) != 0 ||
		    c->status.tagged != ((a->p2 & 0x02) != 0)) {
			c->status.more = false;
			sw = cs_refuse(c, SW_CONDITIONS, "GET STATUS next occurrence without a "
			    "matching GET STATUS that answered 6310");
			goto out;
		}
	} else {
		c->status.p1 = a->p1;
		c->status.tagged = (a->p2 & 0x02) != 0;
		memcpy(c->status.prefix.b, t.value, t.len);
		c->status.prefix.len = t.len;
		c->status.next = 0;
	}
	c->status.more = false;
	n = status_count(c, a->p1);
	for (i = c->status.next; i < n; i++) {
		if (!status_match(c, i))
			continue;
		if (status_entry(c, a->p1, c->status.tagged, i, &e, &err) != CPK_OK) {
			sw = cs_refuse(c, SW_INTERNAL, "GET STATUS: %s", err.msg);
			goto out;
		}
		if (resp->len + e.len > limit) {
			if (found == 0) {
				sw = cs_refuse(c, SW_WRONG_LENGTH, "GET STATUS: an entry of %zu bytes "
				    "exceeds the %zu-byte response", e.len, limit);
				goto out;
			}
			c->status.more = true;
			c->status.next = i;
			sw = SW_MORE_DATA;
			goto out;
		}
		if (cpk_buf_append(resp, e.data, e.len, &err) != CPK_OK) {
			sw = cs_refuse(c, SW_INTERNAL, "GET STATUS: %s", err.msg);
			goto out;
		}
		found++;
	}
	sw = found > 0 ? SW_OK : cs_refuse(c, SW_NOT_FOUND, "GET STATUS: nothing matches");
out:
	cpk_buf_free(&e);
	return sw;
}

/* --- STORE DATA --- */

/* DGI: tag(2) length(1, or FF + 2) value, repeated, nothing else. */
static bool
dgi_valid(const uint8_t *p, size_t n)
{
	struct cpk_cursor cur;
	uint16_t tag, len16;
	uint8_t len8;
	size_t len;

	cpk_cursor_init(&cur, p, n);
	while (cpk_cursor_left(&cur) > 0) {
		if (!cpk_cursor_u16be(&cur, &tag) || !cpk_cursor_u8(&cur, &len8))
			return false;
		len = len8;
		if (len8 == 0xFF) {
			if (!cpk_cursor_u16be(&cur, &len16))
				return false;
			len = len16;
		}
		if (!cpk_cursor_skip(&cur, len))
			return false;
	}
	return true;
}

uint16_t
cs_cmd_store_data(struct cardsim *c, const struct cpk_apdu *a, struct cpk_buf *resp)
{
	struct cpk_error err;
	struct cs_stored *dst;
	uint8_t structure = a->p1 & 0x18, enc = a->p1 & 0x60;
	struct cpk_buf joined = CPK_BUF_INIT;
	bool whole = true;
	unsigned expected;
	uint16_t sw;

	(void)resp;
	cpk_error_clear(&err);
	if (structure == 0x18 || enc == 0x40 || (a->p1 & 0x06) != 0) {
		sw = cs_refuse(c, SW_WRONG_P1P2, "STORE DATA P1 %02X has reserved bits set", a->p1);
		goto out;
	}
	if (a->p2 != c->perso.next_block) {
		expected = c->perso.next_block;
		c->perso.next_block = 0;
		sw = cs_refuse(c, SW_WRONG_P1P2, "STORE DATA block %02X, expected %02X", a->p2,
		    expected);
		goto out;
	}
	if (a->lc == 0) {
		sw = cs_refuse(c, SW_WRONG_LENGTH, "STORE DATA without data");
		goto out;
	}
	if (enc != 0x00 && c->perso.open.len > 0) {
		sw = cs_refuse(c, SW_WRONG_DATA, "STORE DATA: encrypted block %02X comes before "
		    "the plain object of the previous block is complete", a->p2);
		goto out;
	}
	/* Plain structured data: whole objects once joined with what is still open. */
	if (enc == 0x00 && structure != 0x00) {
		if (cpk_buf_set(&joined, c->perso.open.data, c->perso.open.len, &err) != CPK_OK ||
		    cpk_buf_append(&joined, a->data, a->lc, &err) != CPK_OK) {
			sw = cs_refuse(c, SW_NO_MEMORY, "STORE DATA: %s", err.msg);
			goto out;
		}
		whole = structure == 0x08 ? dgi_valid(joined.data, joined.len) :
		    cpk_tlv_validate(joined.data, joined.len, 0, &err) == CPK_OK;
		/*
		 * Any DGI may be cut off; BER-TLV that is malformed rather than
		 * cut off (a length form cpk_tlv refuses) is refused at once.
		 */
		if (!whole && structure == 0x10 && strstr(err.msg, "truncated") == NULL) {
			sw = cs_refuse(c, SW_WRONG_DATA, "STORE DATA: %s", err.msg);
			goto out;
		}
		if (!whole && ((a->p1 & 0x80) || joined.len > CS_PERSO_OPEN_MAX)) {
			sw = cs_refuse(c, SW_WRONG_DATA, "STORE DATA: %s", structure == 0x08 ?
			    "malformed DGI data" : err.msg);
			goto out;
		}
	}
	dst = c->perso.target >= 0 ? &c->apps[c->perso.target].stored : &c->isd_stored;
	if (cs_stored_add(dst, a->p1, a->p2, a->data, a->lc, &err) != CPK_OK) {
		sw = cs_refuse(c, SW_NO_MEMORY, "STORE DATA: %s", err.msg);
		goto out;
	}
	if (enc == 0x00 && structure != 0x00) {
		if (whole)
			cpk_buf_free(&c->perso.open);
		else {
			cpk_buf_free(&c->perso.open);
			c->perso.open = joined;
			joined = (struct cpk_buf)CPK_BUF_INIT;
		}
	}
	c->dirty = true;
	/* The last block ends the sequence, and the forwarding to an application. */
	c->perso.next_block = (a->p1 & 0x80) ? 0 : c->perso.next_block + 1;
	if (a->p1 & 0x80)
		c->perso.target = -1;
	sw = SW_OK;
out:
	cpk_buf_free(&joined);
	return sw;
}
