/* SPDX-License-Identifier: BSD-2-Clause */
/* cpk: status words in plain words. */
#include "cpk_sw.h"

#include <stdio.h>

/*
 * Exact status words from ISO/IEC 7816-4 (section 5.1.3) and the
 * GlobalPlatform Card Specification, worded for a technician in the field:
 * what went wrong and, where it helps, what to check.
 */
static const struct {
	uint16_t sw;
	const char *text;
} sw_table[] = {
	{ 0x9000, "success" },
	{ 0x6200, "warning: no information given, card state unchanged" },
	{ 0x6281, "warning: part of the returned data may be corrupted" },
	{ 0x6282, "warning: end of file or record reached before all expected "
	    "bytes were read" },
	{ 0x6283, "warning: selected application or file is invalidated "
	    "(locked)" },
	{ 0x6284, "warning: file control information not formatted as expected" },
	{ 0x6300, "verification failed (on EXTERNAL AUTHENTICATE: host cryptogram "
	    "wrong, check the keys)" },
	{ 0x6310, "more data available (repeat GET STATUS for the next "
	    "occurrences)" },
	{ 0x6400, "execution error, card memory unchanged" },
	{ 0x6500, "execution error, card memory changed" },
	{ 0x6581, "memory failure (writing card memory failed; the card may be "
	    "worn out or damaged)" },
	{ 0x6700, "wrong length (Lc or Le does not fit the command)" },
	{ 0x6881, "logical channel not supported" },
	{ 0x6882, "secure messaging not supported" },
	{ 0x6883, "last command of the chain expected" },
	{ 0x6884, "command chaining not supported" },
	{ 0x6981, "command incompatible with the file structure" },
	{ 0x6982, "security status not satisfied (secure channel missing or MAC "
	    "wrong)" },
	{ 0x6983, "authentication method blocked (too many failed attempts; the "
	    "keys may be locked)" },
	{ 0x6984, "referenced data invalidated" },
	{ 0x6985, "conditions of use not satisfied (wrong life-cycle state or "
	    "command order)" },
	{ 0x6986, "command not allowed (no application or file selected)" },
	{ 0x6987, "secure messaging data objects missing" },
	{ 0x6988, "secure messaging data objects incorrect" },
	{ 0x6999, "applet selection failed (the applet refused to be selected)" },
	{ 0x6A80, "incorrect values in the command data" },
	{ 0x6A81, "function not supported" },
	{ 0x6A82, "application or file not found (check the AID)" },
	{ 0x6A83, "record not found" },
	{ 0x6A84, "not enough memory space on the card" },
	{ 0x6A85, "command data length inconsistent with its TLV structure" },
	{ 0x6A86, "incorrect P1 P2" },
	{ 0x6A87, "command data length inconsistent with P1 P2" },
	{ 0x6A88, "referenced data not found (key version, key or object not on "
	    "the card)" },
	{ 0x6A89, "file already exists" },
	{ 0x6A8A, "application name already exists" },
	{ 0x6B00, "wrong P1 P2 (parameters out of range)" },
	{ 0x6D00, "instruction not supported (INS unknown to the selected "
	    "application)" },
	{ 0x6E00, "class not supported (CLA byte not accepted)" },
	{ 0x6F00, "no precise diagnosis (internal card error)" },
};

/* The meaning shared by every status word with the same SW1. */
static const struct {
	uint8_t sw1;
	const char *text;
} sw1_table[] = {
	{ 0x62, "warning, card state unchanged" },
	{ 0x63, "warning, card state changed" },
	{ 0x64, "execution error, card memory unchanged" },
	{ 0x65, "execution error, card memory changed" },
	{ 0x66, "security-related error" },
	{ 0x67, "wrong length" },
	{ 0x68, "function in CLA not supported" },
	{ 0x69, "command not allowed" },
	{ 0x6A, "wrong parameters" },
	{ 0x6B, "wrong parameters P1 P2" },
	{ 0x6D, "instruction not supported" },
	{ 0x6E, "class not supported" },
	{ 0x6F, "no precise diagnosis" },
};

const char *
cpk_sw_describe(uint16_t sw, char *out, size_t outcap)
{
	unsigned sw1 = sw >> 8, sw2 = sw & 0xffu, n;
	size_t i;

	for (i = 0; i < sizeof(sw_table) / sizeof(sw_table[0]); i++) {
		if (sw_table[i].sw == sw) {
			snprintf(out, outcap, "%s", sw_table[i].text);
			goto out;
		}
	}
	if (sw1 == 0x61) {
		if (sw2 == 0)
			snprintf(out, outcap, "more data available: 256 or more bytes "
			    "(read them with GET RESPONSE)");
		else
			snprintf(out, outcap, "more data available: %u byte%s "
			    "(read them with GET RESPONSE)", sw2, sw2 == 1 ? "" : "s");
		goto out;
	}
	if (sw1 == 0x6C) {
		n = sw2 == 0 ? 256 : sw2;
		snprintf(out, outcap, "wrong Le: card expects %u bytes (resend with "
		    "Le=%02X)", n, sw2);
		goto out;
	}
	if ((sw & 0xfff0u) == 0x63C0) {
		n = sw & 0x0fu;
		if (n == 0)
			snprintf(out, outcap, "verification failed, no tries left "
			    "(blocked)");
		else
			snprintf(out, outcap, "verification failed, %u %s left", n,
			    n == 1 ? "try" : "tries");
		goto out;
	}
	for (i = 0; i < sizeof(sw1_table) / sizeof(sw1_table[0]); i++) {
		if (sw1_table[i].sw1 == sw1) {
			snprintf(out, outcap, "%s (status word %04X)", sw1_table[i].text,
			    (unsigned)sw);
			goto out;
		}
	}
	snprintf(out, outcap, "unknown status word %04X", (unsigned)sw);
out:
	return out;
}

bool
cpk_sw_is_success(uint16_t sw)
{
	return sw == 0x9000 || (sw >> 8) == 0x61;
}

bool
cpk_sw_is_warning(uint16_t sw)
{
	return (sw >> 8) == 0x62 || (sw >> 8) == 0x63;
}
