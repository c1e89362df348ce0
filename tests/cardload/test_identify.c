/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk unit test: cardload identify's library (loader/identify.h). The
 * parsers of the card's answers against good, truncated and hostile
 * bytes; the next-counter rules (SCP03 returned + 1, SCP02 returned); the
 * serial; the whole exchange over a scripted transport; and the record it
 * writes, read back by the compiler's card record parser (this test links
 * the compiler; cardload does not).
 */
#include <string.h>

#include "card.h"
#include "identify.h"
#include "testlib.h"

#define ISD "A000000151000000"
#define KDD "0102030405060708090A"
/* SCP03 i=70 answer: KDD, KVN 30, 03, i 70, challenge, cryptogram, counter 000001 */
#define IU03 KDD "300370" "1122334455667788" "99AABBCCDDEEFF00" "000001"
/* SCP02 answer: KDD, KVN 20, 02, counter 0005, challenge (6), cryptogram */
#define IU02 KDD "2002" "0005" "112233445566" "99AABBCCDDEEFF00"
#define CPLC "479051674791121047110000" "0A1B2C3D" \
    "0000000000000000000000000000000000000000000000000000"
#define CRD "6631" "732F06072A864886FC6B01600C060A2A864886FC6B02020301630906072A864886FC6B03640B06092A864886FC6B040370"

static const uint8_t hc[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

static cpk_status
getdata(uint16_t tag, const char *hex, struct cpk_card_info *ci)
{
	uint8_t b[300];
	size_t n = test_unhex(hex, b, sizeof(b));
	struct cpk_error err;

	cpk_error_clear(&err);
	return cpk_identify_parse_getdata(tag, b, n, ci, &err);
}

static cpk_status
iu(const char *hex, struct cpk_card_info *ci)
{
	uint8_t b[64];
	size_t n = test_unhex(hex, b, sizeof(b));

	return cpk_identify_parse_iu(b, n, hc, ci, NULL);
}

static void
test_getdata(void)
{
	struct cpk_card_info ci;

	cpk_card_info_init(&ci);
	CHECK_OK(getdata(0x9F7F, "9F7F2A" CPLC, &ci));
	CHECK(ci.has_cplc);
	CHECK_HEX(ci.cplc, sizeof(ci.cplc), CPLC);
	cpk_card_info_init(&ci);
	CHECK_OK(getdata(0x9F7F, CPLC, &ci));			/* bare, as some cards answer */
	CHECK(ci.has_cplc);
	cpk_card_info_init(&ci);
	CHECK_STATUS(getdata(0x9F7F, "9F7F2B" CPLC "00", &ci), CPK_ERR_PARSE);	/* 43 bytes */
	CHECK_STATUS(getdata(0x9F7F, "9F7F2A" "4790", &ci), CPK_ERR_PARSE);	/* truncated */
	CHECK_STATUS(getdata(0x9F7F, "9F7F2A" CPLC "00", &ci), CPK_ERR_PARSE);	/* stray */
	CHECK_STATUS(getdata(0x9F7F, "", &ci), CPK_ERR_PARSE);
	CHECK(!ci.has_cplc);

	CHECK_OK(getdata(0x42, "42050001020304", &ci));
	CHECK_HEX(ci.iin, ci.iin_len, "0001020304");
	CHECK_OK(getdata(0x45, "45080102030405060708", &ci));
	CHECK_HEX(ci.cin, ci.cin_len, "0102030405060708");
	CHECK_STATUS(getdata(0x45, "4500", &ci), CPK_ERR_PARSE);			/* empty */
	CHECK_STATUS(getdata(0x45, "4511" "0102030405060708090A0B0C0D0E0F1011", &ci),
	    CPK_ERR_PARSE);							/* 17 bytes */
	CHECK_STATUS(getdata(0x45, "42050001020304", &ci), CPK_ERR_PARSE);	/* other tag */
	CHECK_STATUS(getdata(0x45, "4583FFFFFF01", &ci), CPK_ERR_PARSE);	/* huge length */
	CHECK_HEX(ci.cin, ci.cin_len, "0102030405060708");			/* unchanged */

	CHECK_OK(getdata(0xCF, "CF0A" KDD, &ci));
	CHECK(ci.has_kdd_data);
	CHECK_STATUS(getdata(0xCF, "CF09" "010203040506070809", &ci), CPK_ERR_PARSE);

	CHECK_OK(getdata(0x66, CRD, &ci));
	CHECK(ci.has_recognition && ci.has_rec_scp);
	CHECK(ci.rec_scp == 0x03 && ci.rec_i == 0x70);
	CHECK_STR(ci.gp_version, "2.3.1");
	CHECK_STATUS(getdata(0x66, "6603" "730100", &ci), CPK_ERR_PARSE);	/* 73 truncated */
	CHECK_STATUS(getdata(0x66, "6602" "7400", &ci), CPK_ERR_PARSE);	/* no 73 */
	CHECK_OK(getdata(0x66, "6606" "7304" "6402" "0600", &ci));	/* an empty OID */
	CHECK(!ci.has_rec_scp);
	/* An SCP OID cut short is not an SCP. */
	cpk_card_info_init(&ci);
	CHECK_OK(getdata(0x66, "660D" "730B" "6409" "0607" "2A864886FC6B04", &ci));
	CHECK(!ci.has_rec_scp);

	CHECK_OK(getdata(0xE0, "E00C" "C00401308810" "C00402308810", &ci));
	CHECK(ci.nkeys == 2 && ci.keys[0].id == 1 && ci.keys[0].kvn == 0x30 &&
	    ci.keys[1].type == 0x88 && ci.keys[1].len == 0x10);
	CHECK_STATUS(getdata(0xE0, "E003" "C00101", &ci), CPK_ERR_PARSE);	/* 1-byte entry */
	CHECK_STATUS(getdata(0x1234, "00", &ci), CPK_ERR_ARG);
}

static void
test_counters(void)
{
	struct cpk_card_info ci;
	struct cpk_error err;

	/* SCP03: the probe used counter 000001; the next session is 000002. */
	cpk_card_info_init(&ci);
	CHECK_OK(iu(IU03, &ci));
	CHECK_OK(cpk_identify_finish(&ci, false, 0, NULL));
	CHECK(ci.scp == 0x03 && ci.i == 0x70 && ci.kvn == 0x30);
	CHECK_HEX(ci.counter, ci.counter_len, "000002");
	CHECK_HEX(ci.kdd, sizeof(ci.kdd), KDD);
	/* Carry across bytes. */
	cpk_card_info_init(&ci);
	CHECK_OK(iu(KDD "300370" "1122334455667788" "99AABBCCDDEEFF00" "00FFFF", &ci));
	CHECK_OK(cpk_identify_finish(&ci, false, 0, NULL));
	CHECK_HEX(ci.counter, ci.counter_len, "010000");
	/* Exhausted. */
	cpk_card_info_init(&ci);
	CHECK_OK(iu(KDD "300370" "1122334455667788" "99AABBCCDDEEFF00" "FFFFFF", &ci));
	cpk_error_clear(&err);
	CHECK_STATUS(cpk_identify_finish(&ci, false, 0, &err), CPK_ERR_RANGE);
	CHECK_MSG(&err, "exhausted");
	/* SCP03 i=60: no counter in the answer, none in the record; a note says why. */
	cpk_card_info_init(&ci);
	CHECK_OK(iu(KDD "300360" "1122334455667788" "99AABBCCDDEEFF00", &ci));
	CHECK_OK(cpk_identify_finish(&ci, false, 0, NULL));
	CHECK(ci.counter_len == 0 && ci.nnotes == 1);
	CHECK(strstr(ci.notes[0], "--session") != NULL);

	/* SCP02: the counter moves only after authentication; next = returned. */
	cpk_card_info_init(&ci);
	CHECK_OK(getdata(0x66, "660F" "730D" "640B" "0609" "2A864886FC6B04" "0255", &ci));
	CHECK_OK(iu(IU02, &ci));
	CHECK_OK(cpk_identify_finish(&ci, false, 0, NULL));
	CHECK(ci.scp == 0x02 && ci.i == 0x55 && ci.kvn == 0x20);
	CHECK_HEX(ci.counter, ci.counter_len, "0005");
	/* SCP02 without card recognition data: i must be given. */
	cpk_card_info_init(&ci);
	CHECK_OK(iu(IU02, &ci));
	cpk_error_clear(&err);
	CHECK_STATUS(cpk_identify_finish(&ci, false, 0, &err), CPK_ERR_NOT_FOUND);
	CHECK_MSG(&err, "--scp-i");
	CHECK_OK(cpk_identify_finish(&ci, true, 0x15, NULL));
	CHECK(ci.i == 0x15);

	/* Malformed INITIALIZE UPDATE answers. */
	cpk_card_info_init(&ci);
	CHECK_STATUS(iu(KDD "300370", &ci), CPK_ERR_PARSE);
	CHECK_STATUS(iu(IU03 "00", &ci), CPK_ERR_PARSE);
	CHECK_STATUS(iu(KDD "300360" "1122334455667788" "99AABBCCDDEEFF00" "000001", &ci),
	    CPK_ERR_PARSE);					/* i=60 with a counter */
	CHECK_STATUS(iu(KDD "2004" "0005" "112233445566" "99AABBCCDDEEFF00", &ci), CPK_ERR_PARSE);
	CHECK(!ci.has_iu);
	CHECK_STATUS(cpk_identify_finish(&ci, false, 0, NULL), CPK_ERR_STATE);
}

static void
test_serial(void)
{
	struct cpk_card_info ci;

	cpk_card_info_init(&ci);
	CHECK_OK(getdata(0x9F7F, "9F7F2A" CPLC, &ci));
	CHECK_OK(getdata(0x45, "45080102030405060708", &ci));
	CHECK_OK(iu(IU03, &ci));
	CHECK_OK(cpk_identify_finish(&ci, false, 0, NULL));
	CHECK_STR(ci.serial, "4790-0A1B2C3D");
	CHECK_STR(ci.serial_from, "CPLC");
	/* IC serial number zero: the CIN. */
	cpk_card_info_init(&ci);
	CHECK_OK(getdata(0x9F7F, "9F7F2A" "479051674791121047110000" "00000000"
	    "0000000000000000000000000000000000000000000000000000", &ci));
	CHECK_OK(getdata(0x45, "45080102030405060708", &ci));
	CHECK_OK(iu(IU03, &ci));
	CHECK_OK(cpk_identify_finish(&ci, false, 0, NULL));
	CHECK_STR(ci.serial, "0102030405060708");
	/* Nothing else: the KDD. */
	cpk_card_info_init(&ci);
	CHECK_OK(iu(IU03, &ci));
	CHECK_OK(cpk_identify_finish(&ci, false, 0, NULL));
	CHECK_STR(ci.serial, KDD);
	CHECK_STR(ci.serial_from, "KDD");
}

/* The record parses with the compiler's own card record reader. */
static void
test_record(void)
{
	struct cpk_card_info ci;
	struct cpk_buf out = CPK_BUF_INIT;
	struct card_record rec;
	struct cpk_error err;

	cpk_card_info_init(&ci);
	test_unhex(ISD, ci.sd_aid, sizeof(ci.sd_aid));
	ci.sd_aid_len = 8;
	CHECK_OK(getdata(0x9F7F, "9F7F2A" CPLC, &ci));
	CHECK_OK(getdata(0x42, "42050001020304", &ci));
	CHECK_OK(getdata(0x45, "45080102030405060708", &ci));
	CHECK_OK(iu(IU03, &ci));
	CHECK_OK(cpk_identify_finish(&ci, false, 0, NULL));
	CHECK_OK(cpk_card_record_write(&ci, false, "made by\na test\x01", &out, NULL));
	CHECK(memcmp(out.data, "# made by?a test?\n", 18) == 0);
	cpk_error_clear(&err);
	CHECK_OK(card_parse_yaml("card.yaml", out.data, out.len, &rec, &err));
	CHECK(rec.scp == SCP03 && rec.i == 0x70 && rec.kvn == 0x30);
	CHECK_HEX(rec.counter, rec.counter_len, "000002");
	CHECK_HEX(rec.kdd, sizeof(rec.kdd), KDD);
	CHECK(rec.has_cplc && rec.iin_len == 5 && rec.cin_len == 8);
	CHECK_STR(rec.serial, "4790-0A1B2C3D");
	CHECK(!rec.has_session);
	card_record_clear(&rec);

	/* Session: host challenge and answer, no counter; the compiler takes it from the answer. */
	cpk_buf_reset(&out);
	CHECK_OK(cpk_card_record_write(&ci, true, NULL, &out, NULL));
	cpk_error_clear(&err);
	CHECK_OK(card_parse_yaml("card.yaml", out.data, out.len, &rec, &err));
	CHECK(rec.has_session);
	CHECK_HEX(rec.host_challenge, 8, "0102030405060708");
	CHECK_HEX(rec.iu_raw, rec.iu_len, IU03);
	CHECK_HEX(rec.counter, rec.counter_len, "000001");
	card_record_clear(&rec);

	/* SCP02 record. */
	cpk_card_info_init(&ci);
	test_unhex(ISD, ci.sd_aid, sizeof(ci.sd_aid));
	ci.sd_aid_len = 8;
	CHECK_OK(iu(IU02, &ci));
	CHECK_OK(cpk_identify_finish(&ci, true, 0x55, NULL));
	cpk_buf_reset(&out);
	CHECK_OK(cpk_card_record_write(&ci, false, NULL, &out, NULL));
	cpk_error_clear(&err);
	CHECK_OK(card_parse_yaml("card.yaml", out.data, out.len, &rec, &err));
	CHECK(rec.scp == SCP02 && rec.i == 0x55);
	CHECK_HEX(rec.counter, rec.counter_len, "0005");
	card_record_clear(&rec);

	/* SCP03 i=60 without --session: no record (no counter). */
	cpk_card_info_init(&ci);
	CHECK_OK(iu(KDD "300360" "1122334455667788" "99AABBCCDDEEFF00", &ci));
	CHECK_OK(cpk_identify_finish(&ci, false, 0, NULL));
	cpk_buf_reset(&out);
	CHECK_STATUS(cpk_card_record_write(&ci, false, NULL, &out, &err), CPK_ERR_STATE);
	CHECK_MSG(&err, "--session");
	cpk_buf_free(&out);
}

/* --- the exchange over a scripted transport --- */

struct script {
	const char *expect[12];
	const char *answer[12];
	size_t n, pos;
	int fail_at;
};

static cpk_status
scripted(void *ctx, const uint8_t *cmd, size_t n, struct cpk_buf *resp, struct cpk_error *err)
{
	struct script *s = ctx;
	uint8_t tmp[300];
	size_t len;

	if (s->fail_at != 0 && (int)s->pos + 1 == s->fail_at) {
		s->pos++;
		return cpk_error_set(err, CPK_ERR_PCSC, "the card was removed from the reader");
	}
	if (s->pos >= s->n) {
		test_check(0, "unexpected extra command", __FILE__, __LINE__);
		return cpk_error_set(err, CPK_ERR_STATE, "script exhausted");
	}
	if (s->expect[s->pos][0] != '*')
		CHECK_HEX(cmd, n, s->expect[s->pos]);
	len = test_unhex(s->answer[s->pos], tmp, sizeof(tmp));
	s->pos++;
	return cpk_buf_append(resp, tmp, len, err);
}

static const struct cpk_transport_ops scripted_ops = { .transmit = scripted };

static size_t exchanges;

static void
count_exchange(void *ctx, const uint8_t *cmd, size_t n, const uint8_t *resp, size_t rn,
    uint64_t usec)
{
	(void)ctx, (void)cmd, (void)n, (void)resp, (void)rn, (void)usec;
	exchanges++;
}

static void
test_exchange(void)
{
	struct script good = {
		{ "00A4040008" ISD "00", "80CA00CF00", "80CA9F7F00", "80CA004200", "80CA004500",
		  "80CA006600", "80CA00E000", "8050000008010203040506070800" },
		{ "6F108408" ISD "A5049F6501FF9000", "CF0A" KDD "9000", "9F7F2A" CPLC "9000",
		  "6A88", "45080102030405060708" "9000", CRD "9000", "6D00", IU03 "9000" },
		8, 0, 0 };
	struct script no_sd = { { "00A4040008" ISD "00" }, { "6A82" }, 1, 0, 0 };
	struct script no_key = {
		{ "*", "*", "*", "*", "*", "*", "*", "8050310008010203040506070800" },
		{ "9000", "6A88", "6A88", "6A88", "6A88", "6A88", "6A88", "6A88" }, 8, 0, 0 };
	struct script removed = { { "*", "*", "*" }, { "9000", "6A88", "6A88" }, 3, 0, 3 };
	struct script junk_iu = {
		{ "*", "*", "*", "*", "*", "*", "*", "*" },
		{ "9000", "CF05" "0102030405" "9000", "6A88", "6A88", "6A88", "6A88", "6A88",
		  KDD "9000" }, 8, 0, 0 };
	struct cpk_transport t = { .ops = &scripted_ops };
	struct cpk_identify_opts o = { .host_challenge = hc };
	struct cpk_identify_hooks h = { NULL, count_exchange };
	struct cpk_card_info ci;
	struct cpk_error err;

	t.ctx = &good;
	exchanges = 0;
	cpk_error_clear(&err);
	CHECK_OK(cpk_identify(&t, &o, &h, &ci, &err));
	CHECK(good.pos == good.n && exchanges == 8);
	CHECK(ci.has_cplc && ci.iin_len == 0 && ci.cin_len == 8 && ci.nkeys == 0);
	CHECK_HEX(ci.counter, ci.counter_len, "000002");
	CHECK_STR(ci.serial, "4790-0A1B2C3D");
	CHECK(ci.nnotes == 0);

	t.ctx = &no_sd;
	cpk_error_clear(&err);
	CHECK_STATUS(cpk_identify(&t, &o, NULL, &ci, &err), CPK_ERR_CARD);
	CHECK(err.sw == 0x6A82);
	CHECK_MSG(&err, "security domain A000000151000000");

	t.ctx = &no_key;
	o.kvn = 0x31;
	cpk_error_clear(&err);
	CHECK_STATUS(cpk_identify(&t, &o, NULL, &ci, &err), CPK_ERR_CARD);
	CHECK(err.sw == 0x6A88);
	CHECK_MSG(&err, "INITIALIZE UPDATE with key set 31: the card answered 6A88");
	o.kvn = 0;

	t.ctx = &removed;
	cpk_error_clear(&err);
	CHECK_STATUS(cpk_identify(&t, &o, NULL, &ci, &err), CPK_ERR_PCSC);

	/* A malformed GET DATA is noted and left out; a malformed IU answer is an error. */
	t.ctx = &junk_iu;
	cpk_error_clear(&err);
	CHECK_STATUS(cpk_identify(&t, &o, NULL, &ci, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "the card's INITIALIZE UPDATE answer");
	CHECK(ci.nnotes == 1 && !ci.has_kdd_data);

	/* A bad security domain AID from the caller. */
	o.sd_aid = hc;
	o.sd_aid_len = 4;
	CHECK_STATUS(cpk_identify(&t, &o, NULL, &ci, &err), CPK_ERR_ARG);
}

/* --- extended length: the ATR's card capabilities, GET DATA 7F66, the record --- */

static cpk_status
atr(const char *hex, struct cpk_card_info *ci, struct cpk_error *err)
{
	uint8_t b[40];
	size_t n = test_unhex(hex, b, sizeof(b));

	cpk_card_info_init(ci);
	cpk_error_clear(err);
	return cpk_identify_parse_atr(b, n, ci, err);
}

static const struct {
	const char *hex, *msg;
} bad_atrs[] = {
	{ "3B", "ATR of 1 bytes" },
	{ "3C00", "ATR starts with 3C, not 3B or 3F" },
	{ "3BF0", "ATR ends in its interface bytes" },
	{ "3B80", "ATR ends before TD1" },
	{ "3B858001807300", "ATR announces 5 historical bytes but 3 follow" },
	{ "3B85800180740021400000", "ATR has 2 bytes after its historical bytes; expected the "
	  "check byte" },
	{ "3B0280740000", "ATR has 2 bytes after its historical bytes; expected none" },
	{ "3B03807301", "object 73 says 3 bytes but 1 follow" },
	{ "3B03007300", "category 00 without their status indicator" },
	/* Card capabilities that announce it, then a truncated object: nothing kept. */
	{ "3B0780730000407201", "object 72 says 2 bytes but 1 follow" },
};

static void
test_ext_length(void)
{
	size_t k;
	struct cpk_card_info ci;
	struct cpk_error err;
	struct cpk_buf out = CPK_BUF_INIT;
	struct card_record rec;

	/* cardsim's: T=1, 80 | 73 00 21 40, TCK. */
	CHECK_OK(atr("3B858001807300214096", &ci, &err));
	CHECK(ci.has_caps && ci.ext_length);
	/* Capabilities without the bit; a category 00 with its status indicator; none. */
	CHECK_OK(atr("3B858001807300210016", &ci, &err));
	CHECK(ci.has_caps && !ci.ext_length);
	CHECK_OK(atr("3B8880010073000040009000AA", &ci, &err));
	CHECK(ci.has_caps && ci.ext_length);
	CHECK_OK(atr("3B80800101", &ci, &err));
	CHECK(!ci.has_caps && !ci.ext_length);
	/* T=0 only: no check byte; TA1 TB1 TC1 skipped. */
	CHECK_OK(atr("3B7396110080" "4140", &ci, &err));
	CHECK(!ci.has_caps);
	CHECK_OK(atr("3B759611008073000000", &ci, &err));
	CHECK(ci.has_caps && !ci.ext_length);
	/* Malformed ATRs: each refused with its reason, ci unchanged. */
	for (k = 0; k < sizeof(bad_atrs) / sizeof(bad_atrs[0]); k++) {
		CHECK_STATUS(atr(bad_atrs[k].hex, &ci, &err), CPK_ERR_PARSE);
		CHECK_MSG(&err, bad_atrs[k].msg);
		CHECK(!ci.has_caps && !ci.ext_length);
	}

	/* Over a transport whose ATR announces it: GET DATA 7F66 (ISO class) before IU. */
	{
		struct script ext = {
			{ "*", "*", "*", "*", "*", "*", "*", "00CA7F6600",
			  "8050000008010203040506070800" },
			{ "9000", "6A88", "6A88", "6A88", "6A88", "6A88", "6A88",
			  "7F66080202FFFF0202FFFF9000", IU03 "9000" }, 9, 0, 0 };
		struct cpk_transport t = { .ops = &scripted_ops, .ctx = &ext };
		struct cpk_identify_opts o = { .host_challenge = hc };

		t.atr_len = test_unhex("3B858001807300214096", t.atr, sizeof(t.atr));
		CHECK_OK(cpk_identify(&t, &o, NULL, &ci, &err));
		CHECK(ext.pos == ext.n && ci.ext_length && ci.max_command == 65535);
		/* A malformed ATR is noted: short APDUs, no 7F66. */
		ext.pos = 0;
		ext.expect[7] = "8050000008010203040506070800";
		ext.answer[7] = IU03 "9000";
		ext.n = 8;
		t.atr_len = test_unhex("3B8580", t.atr, sizeof(t.atr));
		CHECK_OK(cpk_identify(&t, &o, NULL, &ci, &err));
		CHECK(ext.pos == ext.n && !ci.ext_length && ci.max_command == 0);
		CHECK(ci.nnotes == 1 && strstr(ci.notes[0], "the ATR: ATR ends before TD2; short "
		    "APDUs only") != NULL);
	}

	/* GET DATA 7F66: the largest command and response. */
	cpk_card_info_init(&ci);
	CHECK_OK(getdata(0x7F66, "7F66080202FFFF0202FFFF", &ci));
	CHECK(ci.has_ext_info && ci.max_command == 65535 && ci.max_response == 65535);
	CHECK_OK(getdata(0x7F66, "7F660B020104020300FF0002010A", &ci));	/* third ignored */
	CHECK(ci.max_command == 4 && ci.max_response == 0xFF00);
	cpk_card_info_init(&ci);
	CHECK_STATUS(getdata(0x7F66, "7F66040202FFFF", &ci), CPK_ERR_PARSE);
	CHECK_STATUS(getdata(0x7F66, "7F6604040201000202", &ci), CPK_ERR_PARSE);
	CHECK_STATUS(getdata(0x7F66, "7F6606020100020101", &ci), CPK_ERR_PARSE);
	CHECK_STATUS(getdata(0x7F66, "7F66080204000100000202FFFF", &ci), CPK_ERR_PARSE);
	CHECK_STATUS(getdata(0x7F66, "7F66060201010201010000", &ci), CPK_ERR_PARSE);
	CHECK_STATUS(getdata(0x7F66, "7F650602010102010100", &ci), CPK_ERR_PARSE);
	CHECK(!ci.has_ext_info);

	/* The record: with 7F66, its limits (within ISO's); without, ISO's largest. */
	cpk_card_info_init(&ci);
	test_unhex(ISD, ci.sd_aid, sizeof(ci.sd_aid));
	ci.sd_aid_len = 8;
	ci.ext_length = true;
	CHECK_OK(getdata(0x7F66, "7F66090202FFFF0203010003", &ci));
	CHECK_OK(iu(IU03, &ci));
	CHECK_OK(cpk_identify_finish(&ci, false, 0, NULL));
	CHECK(ci.max_command == 65535 && ci.max_response == 65538 && ci.nnotes == 1);
	CHECK_STR(ci.notes[0], "GET DATA 7F66 gives a largest response of 65539 bytes; the "
	    "record says 65538");
	CHECK_OK(cpk_card_record_write(&ci, false, NULL, &out, NULL));
	CHECK_OK(cpk_buf_append_byte(&out, 0, NULL));
	out.len--;
	CHECK(strstr((const char *)out.data, "max-command: 65535\nmax-response: 65538\n") != NULL);
	cpk_error_clear(&err);
	CHECK_OK(card_parse_yaml("card.yaml", out.data, out.len, &rec, &err));
	CHECK(rec.max_command == 65535 && rec.max_response == 65538);
	CHECK(card_max_lc(&rec) == 65528);
	card_record_clear(&rec);

	cpk_card_info_init(&ci);
	ci.ext_length = true;
	CHECK_OK(iu(IU03, &ci));
	CHECK_OK(cpk_identify_finish(&ci, false, 0, NULL));
	CHECK(ci.max_command == 65544 && ci.max_response == 65538);
	CHECK(strstr(ci.notes[0], "gives no GET DATA 7F66 limits") != NULL);
	/* 7F66 that says short: short APDUs, no fields in the record. */
	cpk_card_info_init(&ci);
	ci.ext_length = true;
	CHECK_OK(getdata(0x7F66, "7F66060201FF0201FF", &ci));
	CHECK_OK(iu(IU03, &ci));
	CHECK_OK(cpk_identify_finish(&ci, false, 0, NULL));
	CHECK(!ci.ext_length && ci.max_command == 0);
	cpk_buf_reset(&out);
	CHECK_OK(cpk_card_record_write(&ci, false, NULL, &out, NULL));
	CHECK_OK(cpk_buf_append_byte(&out, 0, NULL));
	CHECK(strstr((const char *)out.data, "max-command") == NULL);
	cpk_buf_free(&out);
}

int
main(void)
{
	test_getdata();
	test_counters();
	test_serial();
	test_record();
	test_exchange();
	test_ext_length();
	return test_summary("identify");
}
