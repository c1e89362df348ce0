/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cardsim: VERIFY (ISO 7816-4 INS 20) of the card holder's PIN by the ISD,
 * outside the secure channel (README.md "Card holder PIN"). P1 00, P2 the
 * configured reference; 8 bytes of data (ASCII digits padded with FF);
 * no data: the tries left (63Cx). A wrong PIN costs a try, written to the
 * state before the answer 63Cx (x tries left); none left: 6983.
 */
#include "card_int.h"

#include <string.h>

#include <openssl/crypto.h>

uint16_t
cs_cmd_verify(struct cardsim *c, const struct cpk_apdu *a, struct cpk_buf *out)
{
	struct cs_holder_pin *h = &c->id.holder;

	(void)out;
	if (!h->set || a->p1 != 0x00 || a->p2 != h->reference)
		return cs_refuse(c, 0x6A88, "VERIFY P1 P2 %02X %02X: no such PIN", a->p1, a->p2);
	if (h->left == 0)
		return cs_refuse(c, 0x6983, "VERIFY: the PIN is blocked");
	if (a->lc == 0)
		return (uint16_t)(0x63C0 | h->left);
	if (a->lc != CS_HOLDER_PIN_LEN)
		return cs_refuse(c, SW_WRONG_LENGTH, "VERIFY with %zu bytes (the PIN block has %d)",
		    a->lc, CS_HOLDER_PIN_LEN);
	if (CRYPTO_memcmp(a->data, h->pin, CS_HOLDER_PIN_LEN) != 0) {
		h->left--;
		c->dirty = true;
		return cs_refuse(c, (uint16_t)(0x63C0 | h->left), "VERIFY: wrong PIN, %u tries left",
		    h->left);
	}
	if (h->left != h->tries) {
		h->left = h->tries;
		c->dirty = true;
	}
	return SW_OK;
}
