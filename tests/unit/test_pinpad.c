/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk unit test: the card holder's PIN at the agent (loader/pinpad.h): the
 * VERIFY APDU, a reader's PC/SC part 10 feature list, and the
 * PIN_VERIFY_STRUCTURE for its PIN pad, byte by byte.
 */
#include <string.h>

#include "pinpad.h"
#include "testlib.h"

static void
test_verify_apdu(void)
{
	static const uint8_t want[] = { 0x00, 0x20, 0x00, 0x81, 0x08, '1', '2', '3', '4', 0xFF,
	    0xFF, 0xFF, 0xFF };
	uint8_t apdu[CPK_HOLDER_VERIFY_LEN];
	struct cpk_error err;

	CHECK_OK(cpk_holder_verify_apdu(0x81, "1234", 4, apdu, &err));
	CHECK_MEM(apdu, sizeof(apdu), want, sizeof(want));
	CHECK_OK(cpk_holder_verify_apdu(0x01, "12345678", 8, apdu, &err));
	CHECK(apdu[3] == 0x01 && apdu[12] == '8');
	CHECK_STATUS(cpk_holder_verify_apdu(0x81, "123", 3, apdu, &err), CPK_ERR_ARG);
	CHECK_MSG(&err, "has 3 digits (4 to 8)");
	CHECK_STATUS(cpk_holder_verify_apdu(0x81, "123456789", 9, apdu, &err), CPK_ERR_ARG);
	CHECK_STATUS(cpk_holder_verify_apdu(0x81, "12a4", 4, apdu, &err), CPK_ERR_ARG);
	CHECK_MSG(&err, "digits only (character 3 is not)");
	CHECK(strstr(err.msg, "12a4") == NULL);
}

static void
test_features(void)
{
	/* A reader with VERIFY_PIN_DIRECT (06), MODIFY_PIN_DIRECT (07), an unknown tag (A0). */
	static const uint8_t list[] = { 0x06, 0x04, 0x42, 0x33, 0x00, 0x06, 0x07, 0x04, 0x42,
	    0x33, 0x00, 0x07, 0xA0, 0x04, 0x00, 0x00, 0x00, 0x01 };
	struct cpk_pinpad_features f;
	struct cpk_error err;
	uint8_t bad[sizeof(list)];

	CHECK_OK(cpk_pinpad_features_parse(list, sizeof(list), &f, &err));
	CHECK(f.code[CPK_FEATURE_VERIFY_PIN_DIRECT] == 0x42330006);
	CHECK(f.code[0x07] == 0x42330007 && f.code[0x01] == 0);
	CHECK_OK(cpk_pinpad_features_parse(list, 0, &f, &err));
	CHECK(f.code[CPK_FEATURE_VERIFY_PIN_DIRECT] == 0);

	CHECK_STATUS(cpk_pinpad_features_parse(list, 5, &f, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "feature 06 is cut short");
	CHECK_STATUS(cpk_pinpad_features_parse(list, 7, &f, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "ends inside an entry (offset 6)");
	memcpy(bad, list, sizeof(bad));
	bad[1] = 0x02;
	CHECK_STATUS(cpk_pinpad_features_parse(bad, sizeof(bad), &f, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "feature 06 has a 2-byte value");
	memcpy(bad, list, sizeof(bad));
	bad[6] = 0x06;
	CHECK_STATUS(cpk_pinpad_features_parse(bad, sizeof(bad), &f, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "lists feature 06 twice");
	memcpy(bad, list, sizeof(bad));
	memset(bad + 2, 0, 4);
	CHECK_STATUS(cpk_pinpad_features_parse(bad, sizeof(bad), &f, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "control code 0");
	CHECK_STATUS(cpk_pinpad_features_parse(list, CPK_PINPAD_FEATURES_MAX + 1, &f, &err),
	    CPK_ERR_PARSE);
}

static void
test_verify_structure(void)
{
	static const uint8_t want[] = {
		30, 0x00,		/* bTimerOut, bTimerOut2 */
		0x82,			/* bmFormatString: byte units, offset 0, left, ASCII */
		0x08,			/* bmPINBlockString: 8-byte block */
		0x00,			/* bmPINLengthFormat */
		0x08, 0x04,		/* wPINMaxExtraDigit: 4..8 (little endian) */
		0x02,			/* bEntryValidationCondition: OK key */
		0x01,			/* bNumberMessage */
		0x09, 0x04,		/* wLangId 0409 */
		0x00,			/* bMsgIndex */
		0x00, 0x00, 0x00,	/* bTeoPrologue */
		0x0D, 0x00, 0x00, 0x00,	/* ulDataLength 13 */
		0x00, 0x20, 0x00, 0x81, 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
	};
	struct cpk_buf b = CPK_BUF_INIT;
	struct cpk_error err;

	CHECK_OK(cpk_pinpad_verify_structure(0x81, &b, &err));
	CHECK_MEM(b.data, b.len, want, sizeof(want));
	cpk_buf_free(&b);
}

int
main(void)
{
	test_verify_apdu();
	test_features();
	test_verify_structure();
	return test_summary("pinpad");
}
