/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cardsim: delegated management (GP 2.3.1 section 11, C.4 tokens, C.5
 * receipts; the formats are compiler/dm.h's, the card side of the same
 * code the compiler and the receipt verifier use).
 *
 * A supplementary security domain (SSD) is an application of the
 * configuration with the Security Domain privilege (80); selected, it
 * takes the card content management commands (its secure channel uses
 * the card's key sets: this card keeps one key store). With the Delegated
 * Management privilege (20) as well, INSTALL [for load], [for install],
 * [for make selectable], [for extradition], [for registry update] and
 * DELETE need a token that
 * verifies with the ISD's Token Verification key (token-key), and each
 * such operation is answered with a confirmation whose receipt is made
 * with the receipt key (receipt-key); the confirmation counter goes up by
 * one per receipt and is kept in the state file.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "card_int.h"

#define PRIV_SD 0x80
#define PRIV_DM 0x20

bool
cs_selected_is_sd(const struct cardsim *c)
{
	return c->selected >= 0 && (size_t)c->selected < c->napps &&
	    (c->apps[c->selected].priv[0] & PRIV_SD) != 0;
}

const struct cs_aid *
cs_selected_sd_aid(const struct cardsim *c)
{
	return cs_selected_is_sd(c) ? &c->apps[c->selected].aid : &c->id.isd;
}

bool
cs_is_sd(const struct cardsim *c, const uint8_t *aid, size_t n)
{
	size_t i;

	if (n == c->id.isd.len && memcmp(aid, c->id.isd.b, n) == 0)
		return true;
	for (i = 0; i < c->napps; i++)
		if ((c->apps[i].priv[0] & PRIV_SD) != 0 && c->apps[i].aid.len == n &&
		    memcmp(c->apps[i].aid.b, aid, n) == 0)
			return true;
	return false;
}

static bool
selected_dm(const struct cardsim *c)
{
	return cs_selected_is_sd(c) && (c->apps[c->selected].priv[0] & PRIV_DM) != 0;
}

static bool
token_ok(const struct cardsim *c, const struct cpk_apdu *a, const struct dm_command *dc)
{
	struct cpk_buf tdata = CPK_BUF_INIT;
	bool ok;

	ok = dm_token_data(a->p1, a->p2, a->data, dc->signed_len, &tdata, NULL) == CPK_OK &&
	    cs_rsa_verify(c->id.token_key, c->id.token_key_len, true, tdata.data, tdata.len,
	    dc->token, dc->token_len);
	cpk_buf_free(&tdata);
	return ok;
}

uint16_t
cs_dm_check(struct cardsim *c, const struct cpk_apdu *a, struct dm_command *dc, bool *receipt)
{
	struct cpk_error err;
	const char *what = a->ins == INS_DELETE ? "DELETE" : "INSTALL";

	*receipt = false;
	cpk_error_clear(&err);
	if (dm_command_parse(a->ins, a->p1, a->data, a->lc, dc, &err) != CPK_OK)
		return cs_refuse(c, SW_WRONG_DATA, "%s: %s", what, err.msg);
	if (dc->kind == DM_NONE)
		return SW_OK;
	if (!selected_dm(c)) {
		if (dc->token != NULL)
			return cs_refuse(c, SW_WRONG_DATA, "%s with a token: the selected security "
			    "domain has no Delegated Management privilege", what);
		if (cs_selected_is_sd(c))
			return cs_refuse(c, SW_SECURITY, "%s: the selected supplementary security "
			    "domain has no Delegated Management privilege", what);
		return SW_OK;
	}
	if (dc->token == NULL)
		return cs_refuse(c, SW_WRONG_DATA, "%s through a security domain with Delegated "
		    "Management needs a token", what);
	if (c->id.token_key_len == 0 || c->id.receipt_key_len == 0)
		return cs_refuse(c, SW_CONDITIONS, "%s: delegated management needs the ISD's "
		    "token-key and receipt-key (configuration)", what);
	if (!token_ok(c, a, dc))
		return cs_refuse(c, SW_WRONG_DATA, "%s: the delegated management token does not "
		    "verify with the Token Verification key", what);
	*receipt = true;
	return SW_OK;
}

/* Card unique data: IIN and CIN, or the key diversification data when neither is set. */
static void
card_unique_data(const struct cardsim *c, struct cpk_buf *out)
{
	if (c->id.iin_len + c->id.cin_len == 0) {
		(void)cpk_buf_append(out, c->id.kdd, sizeof(c->id.kdd), NULL);
		return;
	}
	(void)cpk_buf_append(out, c->id.iin, c->id.iin_len, NULL);
	(void)cpk_buf_append(out, c->id.cin, c->id.cin_len, NULL);
}

uint16_t
cs_dm_confirm(struct cardsim *c, const struct dm_command *dc, struct cpk_buf *resp)
{
	struct cpk_buf cud = CPK_BUF_INIT, data = CPK_BUF_INIT;
	const struct cs_aid *sd = cs_selected_sd_aid(c);
	struct dm_command rc = *dc;
	struct cpk_error err;
	uint8_t counter[2], mac[DM_RECEIPT_MAX];
	size_t maclen = 0;
	uint16_t sw = SW_INTERNAL;

	cpk_error_clear(&err);
	cpk_buf_reset(resp);
	if (c->id.confirmation_counter == 0xFFFF) {
		sw = cs_refuse(c, SW_CONDITIONS, "the confirmation counter is exhausted");
		goto out;
	}
	c->id.confirmation_counter++;
	c->dirty = true;
	counter[0] = (uint8_t)(c->id.confirmation_counter >> 8);
	counter[1] = (uint8_t)c->id.confirmation_counter;
	card_unique_data(c, &cud);
	/* A registry update's: the application's security domain, the selected one. */
	dm_set_sd(&rc, sd->b, sd->len);
	if (dm_receipt_data(counter, sizeof(counter), cud.data, cud.len, &rc, &data, &err) !=
	    CPK_OK || dm_receipt_mac(scp_ops_find((uint8_t)c->id.scp)->key_alg,
	    c->id.receipt_key, data.data, data.len, mac, &maclen, &err) != CPK_OK ||
	    cpk_buf_append_byte(resp, (uint8_t)maclen, &err) != CPK_OK ||
	    cpk_buf_append(resp, mac, maclen, &err) != CPK_OK ||
	    cpk_buf_append_byte(resp, sizeof(counter), &err) != CPK_OK ||
	    cpk_buf_append(resp, counter, sizeof(counter), &err) != CPK_OK ||
	    cud.len > 255 || cpk_buf_append_byte(resp, (uint8_t)cud.len, &err) != CPK_OK ||
	    cpk_buf_append(resp, cud.data, cud.len, &err) != CPK_OK) {
		cpk_buf_reset(resp);
		sw = cs_refuse(c, SW_INTERNAL, "receipt: %s", err.msg);
		goto out;
	}
	sw = SW_OK;
out:
	OPENSSL_cleanse(mac, sizeof(mac));
	cpk_buf_free(&cud);
	cpk_buf_free(&data);
	return sw;
}
