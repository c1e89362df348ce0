/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cardsim: extended-length APDUs (ISO/IEC 7816-4), on a card configured
 * with `extended-length: N` only. Such a card announces it in its ATR
 * (card capabilities, compact-TLV tag 7 of the historical bytes: the third
 * software function byte's bit 40, "extended Lc and Le fields") and in
 * GET DATA 7F66 (extended length information: the largest command and
 * response APDU in bytes). A card without it answers 6700 to every
 * extended APDU.
 */
#include <string.h>

#include "card_int.h"
#include "cpk_tlv.h"

/*
 * T=1, historical bytes 80 (compact-TLV objects follow) and 73 00 21 40:
 * card capabilities without selection methods, data coding byte 21, and
 * extended Lc and Le fields.
 */
static const uint8_t ext_atr_body[] = {
	0x3B, 0x85, 0x80, 0x01, 0x80, 0x73, 0x00, 0x21, 0x40,
};

void
cs_extlen_default_atr(struct cs_identity *id)
{
	uint8_t tck = 0;
	size_t i;

	memcpy(id->atr, ext_atr_body, sizeof(ext_atr_body));
	/* TCK: the XOR of T0 to the last historical byte (T=1 needs it). */
	for (i = 1; i < sizeof(ext_atr_body); i++)
		tck ^= ext_atr_body[i];
	id->atr[sizeof(ext_atr_body)] = tck;
	id->atr_len = sizeof(ext_atr_body) + 1;
}

uint16_t
cs_extlen_check(struct cardsim *c, const struct cpk_apdu *a)
{
	size_t n;

	if (!a->extended)
		return SW_OK;
	if (c->id.max_apdu == 0)
		return cs_refuse(c, SW_WRONG_LENGTH, "extended-length APDUs are not supported "
		    "(the card takes short APDUs only)");
	/* CLA INS P1 P2, 00 Lc1 Lc2 (or 00 before Le), data, Le (2 bytes, 3 without data). */
	n = 4 + (a->lc > 0 ? 3 + a->lc : 1) + (a->has_le ? 2 : 0);
	if (n > c->id.max_apdu)
		return cs_refuse(c, SW_WRONG_LENGTH, "a command of %zu bytes exceeds the card's "
		    "%zu", n, c->id.max_apdu);
	return SW_OK;
}

uint16_t
cs_extlen_get_data(struct cardsim *c, struct cpk_buf *out)
{
	struct cpk_buf v = CPK_BUF_INIT;
	struct cpk_error err;
	uint8_t max[2];
	uint16_t sw;

	cpk_error_clear(&err);
	if (c->id.max_apdu == 0) {
		sw = cs_refuse(c, SW_NOT_FOUND, "GET DATA 7F66: no extended length");
		goto out;
	}
	/* 7F66 { 02 largest command APDU, 02 largest response APDU } */
	cpk_put_u16be(max, (uint16_t)c->id.max_apdu);
	if (cpk_tlv_put(&v, 0x02, max, sizeof(max), &err) != CPK_OK ||
	    cpk_tlv_put(&v, 0x02, max, sizeof(max), &err) != CPK_OK ||
	    cpk_tlv_put(out, 0x7F66, v.data, v.len, &err) != CPK_OK) {
		sw = cs_refuse(c, SW_INTERNAL, "GET DATA 7F66: %s", err.msg);
		goto out;
	}
	sw = SW_OK;
out:
	cpk_buf_free(&v);
	return sw;
}
