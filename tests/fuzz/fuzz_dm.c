/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzz target: the delegated-management parsers (compiler/dm.h) that read
 * untrusted bytes: dm_command_parse (a bundle's plain command in the
 * receipt verifier, a command in cardsim) and dm_confirmation_parse (the
 * card's answer in a receipt).
 *
 * Input: byte 0 picks INS (even: INSTALL E6, odd: DELETE E4), byte 1 is
 * P1, the rest is the data field, parsed as a command and as a
 * confirmation. Whatever the input, nothing crashes, and:
 * - a delegated command's signed part, token and receipt fields lie
 *   inside the data, the token follows the signed part, a DELETE's AID
 *   has 5 to 16 bytes, and the receipt data built from it has the
 *   fields' lengths;
 * - an accepted confirmation's three fields lie inside the input, fill it
 *   exactly, with a 1..16-byte receipt and a 2-byte counter, and the
 *   receipt never verifies for a MAC the input did not contain (a zero key
 *   only accepts what it computed).
 */
#include <string.h>

#include "cpk_tlv.h"
#include "dm.h"
#include "fuzz.h"

static bool
inside(const uint8_t *p, size_t n, const uint8_t *start, size_t size)
{
	return n == 0 || (p >= start && p + n <= start + size);
}

static void
check_command(uint8_t ins, uint8_t p1, const uint8_t *data, size_t n)
{
	static const uint8_t counter[2], cud[1];
	struct dm_command dc;
	struct cpk_buf rd = CPK_BUF_INIT;
	struct cpk_error err;
	size_t i, want = 3 + 2;

	if (dm_command_parse(ins, p1, data, n, &dc, &err) != CPK_OK) {
		FUZZ_CHECK(err.msg[0] != '\0');
		return;
	}
	if (dc.kind == DM_NONE)
		return;
	FUZZ_CHECK(dc.signed_len <= n && dc.naids >= 1 && dc.naids <= DM_MAX_AIDS);
	FUZZ_CHECK(dc.token == NULL || (dc.token_len > 0 && dc.token > data + dc.signed_len &&
	    inside(dc.token, dc.token_len, data, n)));
	FUZZ_CHECK(dc.kind != DM_DELETE || (dc.aid_len[0] >= DM_AID_MIN &&
	    dc.aid_len[0] <= DM_AID_MAX));
	for (i = 0; i < dc.naids; i++) {
		FUZZ_CHECK(inside(dc.aid[i], dc.aid_len[i], data, n));
		/* A registry update's parameters: a BER length. */
		want += (dc.kind == DM_REGISTRY_UPDATE && i == 4 ?
		    cpk_ber_len_size(dc.aid_len[i]) : 1) + dc.aid_len[i];
	}
	FUZZ_CHECK(dm_receipt_data(counter, 2, cud, 1, &dc, &rd, NULL) == CPK_OK &&
	    rd.len == want);
	cpk_buf_free(&rd);
}

static void
check_confirmation(const uint8_t *data, size_t n)
{
	static const uint8_t key[DM_RECEIPT_KEY_LEN];
	struct dm_confirmation c;
	struct dm_command dc;
	struct cpk_error err;

	if (dm_confirmation_parse(data, n, &c, &err) != CPK_OK) {
		FUZZ_CHECK(err.msg[0] != '\0');
		return;
	}
	FUZZ_CHECK(c.receipt_len >= 1 && c.receipt_len <= DM_RECEIPT_MAX && c.counter_len == 2);
	FUZZ_CHECK(inside(c.receipt, c.receipt_len, data, n) &&
	    inside(c.counter, c.counter_len, data, n) && inside(c.cud, c.cud_len, data, n));
	FUZZ_CHECK(3 + c.receipt_len + c.counter_len + c.cud_len == n);
	memset(&dc, 0, sizeof(dc));
	dc.kind = DM_DELETE;
	dc.aid[0] = data;
	dc.aid_len[0] = n > 16 ? 16 : n;
	dc.naids = 1;
	(void)dm_receipt_verify(GP_KEY_AES, key, &dc, data, n, NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	check_command((data[0] & 1) ? 0xE4 : 0xE6, data[1], data + 2, size - 2);
	check_confirmation(data + 2, size - 2);
	return 0;
}
