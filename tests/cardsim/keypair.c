/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cardsim: GENERATE KEY PAIR (ISO 7816-8 INS 46) inside the secure channel.
 * The security domain answers for the application instance whose AID is the
 * command's data (00 46 00 00 Lc AID Le; a simulator convention, README.md
 * "Key pairs"). The public key is deterministic and shaped like an
 * uncompressed P-256 point (65 bytes):
 *
 *   04 || SHA-256(KDD || instance AID || "x") || SHA-256(KDD || instance AID || "y")
 *
 * The response is protected like any other (R-MAC, R-ENC) by card.c.
 */
#include "card_int.h"

#include <string.h>

#include "cpk_bundle.h"

/* One coordinate: SHA-256(KDD || AID || tag). */
static cpk_status
coordinate(const struct cardsim *c, const struct cs_aid *aid, char tag, struct cpk_buf *out,
    struct cpk_error *err)
{
	uint8_t in[SCP_KDD_LEN + CS_AID_MAX + 1], md[CPK_SHA256_LEN];
	cpk_status st;

	memcpy(in, c->id.kdd, SCP_KDD_LEN);
	memcpy(in + SCP_KDD_LEN, aid->b, aid->len);
	in[SCP_KDD_LEN + aid->len] = (uint8_t)tag;
	if ((st = cpk_sha256(in, SCP_KDD_LEN + aid->len + 1, md, err)) != CPK_OK)
		return st;
	return cpk_buf_append(out, md, sizeof(md), err);
}

uint16_t
cs_cmd_generate_key_pair(struct cardsim *c, const struct cpk_apdu *a, struct cpk_buf *out)
{
	const struct cs_app *app;
	struct cpk_error err;
	uint16_t sw;

	cpk_error_clear(&err);
	if (a->p1 != 0x00 || a->p2 != 0x00) {
		sw = cs_refuse(c, SW_WRONG_P1P2, "GENERATE KEY PAIR P1 P2 %02X%02X, expected 0000",
		    a->p1, a->p2);
		goto out;
	}
	if (a->lc < 5 || a->lc > CS_AID_MAX) {
		sw = cs_refuse(c, SW_WRONG_DATA, "GENERATE KEY PAIR: the data is the instance "
		    "AID (5 to %d bytes), not %zu bytes", CS_AID_MAX, a->lc);
		goto out;
	}
	if ((app = cardsim_find_app(c, a->data, a->lc)) == NULL) {
		sw = cs_refuse(c, SW_NOT_FOUND, "GENERATE KEY PAIR: no such application");
		goto out;
	}
	if (cpk_buf_append_byte(out, 0x04, &err) != CPK_OK ||
	    coordinate(c, &app->aid, 'x', out, &err) != CPK_OK ||
	    coordinate(c, &app->aid, 'y', out, &err) != CPK_OK) {
		sw = cs_refuse(c, SW_INTERNAL, "GENERATE KEY PAIR: %s", err.msg);
		goto out;
	}
	sw = SW_OK;
out:
	return sw;
}
