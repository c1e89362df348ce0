/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzz target: the card answers `cardload identify` reads,
 * cpk_identify_parse_getdata and cpk_identify_parse_iu, then
 * cpk_identify_finish and cpk_card_record_write (loader/identify.h), and
 * the written record read back by the compiler, card_parse_yaml
 * (compiler/card.h).
 *
 * Byte 0: bit 0, the caller gives i (byte 1); bit 1, a session record.
 * Then answers, each a selector byte (modulo 9: GET DATA CF, 9F7F, 42, 45,
 * 66, E0, 7F66, the INITIALIZE UPDATE answer, or the ATR), a u16
 * big-endian length and the answer's data (without SW), in any order and
 * number.
 *
 * Nothing crashes or leaks, and:
 * - a refused answer is a parse error with a message and leaves what was
 *   found unchanged;
 * - an accepted INITIALIZE UPDATE answer sets the SCP (02 or 03), the key
 *   version and the KDD it carries;
 * - once finished, i is known, the next counter has the protocol's length
 *   (or is unknown for SCP03 without a pseudo-random challenge) and the
 *   serial is a card record serial;
 * - the record cpk_card_record_write makes is one the compiler reads, to
 *   the same values (the security domain, SCP, i, key version, KDD,
 *   counter or live exchange, CPLC, IIN, CIN, serial), unless the card's
 *   own answers hold what no card record may (an i the protocol does not
 *   define, key version 00);
 * - the card's largest command and response are in the record (within
 *   ISO's bounds) exactly when the ATR announced extended length.
 *
 * It writes SCP02's and SCP03's numbers down itself (key algorithm, counter
 * and challenge lengths, i values) instead of asking the secure channel
 * table, on purpose: as an independent oracle, a wrong table row fails here
 * rather than agreeing with itself (docs/ADDING-A-SECURE-CHANNEL.md).
 */
#include <stdbool.h>
#include <string.h>

#include "card.h"
#include "fuzz.h"
#include "identify.h"
#include "scp.h"

static const uint16_t tags[] = { 0x00CF, 0x9F7F, 0x0042, 0x0045, 0x0066, 0x00E0, 0x7F66 };
#define SEL_IU (sizeof(tags) / sizeof(tags[0]))
#define SEL_ATR (SEL_IU + 1)
static const uint8_t host_challenge[SCP_CHALLENGE_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8 };
static const uint8_t isd[] = { 0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00 };

/* Large (notes, keys): kept off the stack. */
static struct cpk_card_info ci, before;

static bool
serial_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		char ch = s[i];

		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '_' || ((ch == '.' || ch == '-') && i > 0)))
			return false;
	}
	return i <= CARD_SERIAL_MAX;
}

static void
answer(unsigned sel, const uint8_t *p, size_t n)
{
	struct cpk_error err;
	cpk_status st;

	cpk_error_clear(&err);
	memcpy(&before, &ci, sizeof(ci));
	if (sel < SEL_IU)
		st = cpk_identify_parse_getdata(tags[sel], p, n, &ci, &err);
	else if (sel == SEL_ATR)
		st = cpk_identify_parse_atr(p, n, &ci, &err);
	else
		st = cpk_identify_parse_iu(p, n, host_challenge, &ci, &err);
	if (st != CPK_OK) {
		FUZZ_CHECK(st == CPK_ERR_PARSE && err.status == st && err.msg[0] != '\0');
		FUZZ_CHECK(memcmp(&before, &ci, sizeof(ci)) == 0);
		return;
	}
	if (sel == SEL_ATR)
		FUZZ_CHECK(!ci.ext_length || ci.has_caps);
	if (sel < SEL_IU && tags[sel] == 0x7F66)
		FUZZ_CHECK(ci.has_ext_info && ci.max_command >= 1 && ci.max_command <= 0xFFFFFF &&
		    ci.max_response >= 1 && ci.max_response <= 0xFFFFFF);
	if (sel == SEL_IU) {
		FUZZ_CHECK(ci.has_iu && ci.iu_len == n);
		FUZZ_CHECK(ci.scp == 0x02 || ci.scp == 0x03);
		FUZZ_CHECK(memcmp(ci.kdd, p, SCP_KDD_LEN) == 0 && ci.kvn == p[SCP_KDD_LEN]);
		FUZZ_CHECK(memcmp(ci.host_challenge, host_challenge, SCP_CHALLENGE_LEN) == 0);
	}
}

/* The record the compiler reads back holds what identify found. */
static void
check_record(bool session)
{
	struct cpk_buf text = CPK_BUF_INIT;
	struct card_record rec;
	struct cpk_error err;
	bool representable;
	cpk_status st;

	if (cpk_card_record_write(&ci, session, "fuzz", &text, NULL) != CPK_OK) {
		FUZZ_CHECK(!session && ci.counter_len == 0);
		cpk_buf_free(&text);
		return;
	}
	representable = ci.kvn != 0x00 &&
	    scp_i_supported(ci.scp == 0x02 ? SCP02 : SCP03, ci.i, NULL) == CPK_OK;
	cpk_error_clear(&err);
	st = card_parse_yaml("identified", text.data, text.len, &rec, &err);
	FUZZ_CHECK((st == CPK_OK) == representable);
	if (st == CPK_OK) {
		FUZZ_CHECK(rec.sd_aid.len == ci.sd_aid_len &&
		    memcmp(rec.sd_aid.b, ci.sd_aid, ci.sd_aid_len) == 0);
		FUZZ_CHECK((uint8_t)rec.scp == ci.scp && rec.i == ci.i && rec.kvn == ci.kvn);
		FUZZ_CHECK(memcmp(rec.kdd, ci.kdd, SCP_KDD_LEN) == 0);
		FUZZ_CHECK(rec.has_session == session);
		if (session) {
			FUZZ_CHECK(rec.iu_len == ci.iu_len &&
			    memcmp(rec.iu_raw, ci.iu_response, ci.iu_len) == 0);
			FUZZ_CHECK(memcmp(rec.host_challenge, ci.host_challenge,
			    SCP_CHALLENGE_LEN) == 0);
		} else {
			FUZZ_CHECK(rec.counter_len == ci.counter_len &&
			    memcmp(rec.counter, ci.counter, ci.counter_len) == 0);
		}
		FUZZ_CHECK(rec.has_cplc == ci.has_cplc &&
		    (!ci.has_cplc || memcmp(rec.cplc, ci.cplc, sizeof(rec.cplc)) == 0));
		FUZZ_CHECK(rec.iin_len == ci.iin_len && memcmp(rec.iin, ci.iin, ci.iin_len) == 0);
		FUZZ_CHECK(rec.cin_len == ci.cin_len && memcmp(rec.cin, ci.cin, ci.cin_len) == 0);
		FUZZ_CHECK(strcmp(rec.serial, ci.serial) == 0);
		FUZZ_CHECK(rec.max_command == ci.max_command && rec.max_response == ci.max_response);
		FUZZ_CHECK(ci.ext_length ? rec.max_command > CPK_APDU_SHORT_MAX_LEN &&
		    rec.max_command <= CPK_APDU_MAX_LEN && rec.max_response <= CPK_APDU_EXT_MAX_RESPONSE :
		    rec.max_command == 0);
		card_record_clear(&rec);
	}
	cpk_buf_free(&text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bool has_i, session;
	uint8_t i;
	size_t len;
	unsigned sel;

	if (size < 2)
		return 0;
	has_i = (data[0] & 1) != 0;
	session = (data[0] & 2) != 0;
	i = data[1];
	data += 2;
	size -= 2;
	cpk_card_info_init(&ci);
	memcpy(ci.sd_aid, isd, sizeof(isd));
	ci.sd_aid_len = sizeof(isd);
	while (size >= 3) {
		sel = data[0] % (unsigned)(SEL_ATR + 1);
		len = (size_t)data[1] << 8 | data[2];
		data += 3;
		size -= 3;
		if (len > size)
			len = size;
		answer(sel, data, len);
		data += len;
		size -= len;
	}
	if (cpk_identify_finish(&ci, has_i, i, NULL) != CPK_OK)
		return 0;
	FUZZ_CHECK(ci.has_i && (ci.scp == 0x02 || ci.scp == 0x03));
	FUZZ_CHECK(ci.counter_len == (ci.scp == 0x02 ? 2u : 3u) ||
	    (ci.counter_len == 0 && ci.scp == 0x03 && (ci.i & 0x10) == 0));
	FUZZ_CHECK(memchr(ci.serial, '\0', sizeof(ci.serial)) != NULL && serial_ok(ci.serial));
	check_record(session);
	return 0;
}
