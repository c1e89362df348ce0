/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk unit tests for the bundle format definitions (common/cpk_bundle.h):
 * the manifest text and its strict parser, script.bin records and their
 * caps, status-word patterns, key files and manifest.sig. Every error path
 * is triggered and its message checked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle_fixture.h"
#include "cpk_bundle.h"
#include "testlib.h"

static const char canonical[] =
    "format: 1\n"
    "compiler: \"cpk golden-test\"\n"
    "profile: \"install \\\"demo\\\" applet \\\\ v1\"\n"
    "profile-sha256: 3C6F8E4F0B9A1D2E5F7081926A3B4C5D6E7F8091A2B3C4D5E6F708192A3B4C5D\n"
    "created: 1700000000\n"
    "mode: offline\n"
    "card:\n"
    "  serial: \"CARD-0001\"\n"
    "  kdd: 00010203040506070809\n"
    "  sd-aid: A000000151000000\n"
    "  iin: 42018F\n"
    "channel:\n"
    "  scp: 03\n"
    "  i: 70\n"
    "  kvn: 30\n"
    "  level: 33\n"
    "  counter: 000016\n"
    "  host-challenge: F0E1D2C3B4A59687\n"
    "  iu-response: 0001020304050607080930037011223344556677889"
    "9AABBCCDDEEFF00000016\n"
    "commands: 9\n"
    "script-size: 1000\n"
    "script-sha256: 00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF\n";

static void
full_manifest(struct cpk_manifest *m)
{
	fixture_manifest(m);
	m->commands = 9;
	m->script_size = 1000;
	test_unhex("00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF",
	    m->script_sha256, sizeof(m->script_sha256));
}

/* canonical with the first `from` replaced by `to`. */
static char *
mutate(const char *from, const char *to)
{
	const char *at = strstr(canonical, from);
	size_t n = strlen(canonical) - strlen(from) + strlen(to) + 1;
	char *s = malloc(n);

	if (at == NULL || s == NULL) {
		fprintf(stderr, "mutate: '%s' not in the canonical manifest\n", from);
		abort();
	}
	snprintf(s, n, "%.*s%s%s", (int)(at - canonical), canonical, to, at + strlen(from));
	return s;
}

static void
bad_manifest_text(const char *text, size_t n, cpk_status want, const char *needle,
    unsigned line, int srcline)
{
	struct cpk_manifest m;
	struct cpk_error err;
	cpk_status st;

	cpk_error_clear(&err);
	st = cpk_manifest_parse((const uint8_t *)text, n, &m, &err);
	if (!test_check_status(st, want, needle, __FILE__, srcline) ||
	    !test_check_msg(&err, needle, __FILE__, srcline))
		return;
	test_check(err.line == line, "error line", __FILE__, srcline);
	if (err.line != line)
		fprintf(stderr, "  line %u, expected %u (%s)\n", err.line, line, err.msg);
}

static void
bad_manifest_at(const char *from, const char *to, cpk_status want, const char *needle,
    unsigned line, int srcline)
{
	char *s = mutate(from, to);

	bad_manifest_text(s, strlen(s), want, needle, line, srcline);
	free(s);
}

#define BAD_MANIFEST(from, to, want, needle, line) \
	bad_manifest_at((from), (to), (want), (needle), (line), __LINE__)

static void
test_manifest_roundtrip(void)
{
	struct cpk_manifest m, back;
	struct cpk_buf b = CPK_BUF_INIT, b2 = CPK_BUF_INIT;
	struct cpk_error err;

	cpk_error_clear(&err);
	full_manifest(&m);
	CHECK_OK(cpk_manifest_encode(&m, &b, &err));
	CHECK_MEM(b.data, b.len, canonical, strlen(canonical));
	CHECK_OK(cpk_manifest_parse(b.data, b.len, &back, &err));
	CHECK_OK(cpk_manifest_encode(&back, &b2, &err));
	CHECK_MEM(b2.data, b2.len, b.data, b.len);
	CHECK_STR(back.profile, "install \"demo\" applet \\ v1");
	CHECK_STR(back.serial, "CARD-0001");
	CHECK(back.mode == CPK_MODE_OFFLINE && back.scp == 3 && back.i == 0x70);
	CHECK(back.commands == 9 && back.script_size == 1000 && back.created == 1700000000);
	CHECK(back.iu_response_len == 32 && back.counter_len == 3 && back.iin_len == 3);
	CHECK(back.cin_len == 0 && back.has_host_challenge);

	/* Optional fields absent; session mode. */
	m.mode = CPK_MODE_SESSION;
	m.serial[0] = '\0';
	m.iin_len = 0;
	m.counter_len = 0;
	m.has_host_challenge = false;
	m.iu_response_len = 0;
	m.i = 0x00;
	cpk_buf_reset(&b);
	CHECK_OK(cpk_manifest_encode(&m, &b, &err));
	CHECK(strstr((const char *)b.data, "serial") == NULL);
	CHECK_OK(cpk_manifest_parse(b.data, b.len, &back, &err));
	CHECK(back.mode == CPK_MODE_SESSION && back.iu_response_len == 0 &&
	    back.serial[0] == '\0');
	cpk_buf_free(&b);
	cpk_buf_free(&b2);
}

/* canonical followed by `tail` (a captures section) must be refused. */
static void
bad_captures(const char *tail, cpk_status want, const char *needle, unsigned line, int srcline)
{
	char text[CPK_MANIFEST_MAX_SIZE];

	snprintf(text, sizeof(text), "%s%s", canonical, tail);
	bad_manifest_text(text, strlen(text), want, needle, line, srcline);
}

#define BAD_CAPTURES(tail, want, needle, line) \
	bad_captures((tail), (want), (needle), (line), __LINE__)

/* The captures section: round trip, its syntax and rules (line 23 is 'captures:'). */
static void
test_manifest_captures(void)
{
	struct cpk_manifest m, back;
	struct cpk_buf b = CPK_BUF_INIT, b2 = CPK_BUF_INIT;
	struct cpk_error err;
	char text[CPK_MANIFEST_MAX_SIZE];
	size_t i;

	cpk_error_clear(&err);
	full_manifest(&m);
	m.captures[0].command = 4;
	snprintf(m.captures[0].name, sizeof(m.captures[0].name), "pubkey");
	m.captures[1].command = 9;
	snprintf(m.captures[1].name, sizeof(m.captures[1].name), "cert_1-b");
	m.ncaptures = 2;
	CHECK_OK(cpk_manifest_encode(&m, &b, &err));
	snprintf(text, sizeof(text), "%scaptures:\n  pubkey: 4\n  cert_1-b: 9\n", canonical);
	CHECK_MEM(b.data, b.len, text, strlen(text));
	if (CHECK_OK(cpk_manifest_parse(b.data, b.len, &back, &err))) {
		CHECK(back.ncaptures == 2 && back.captures[0].command == 4 &&
		    back.captures[1].command == 9);
		CHECK_STR(back.captures[1].name, "cert_1-b");
		CHECK_OK(cpk_manifest_encode(&back, &b2, &err));
		CHECK_MEM(b2.data, b2.len, b.data, b.len);
	}
	/* The writer refuses what the reader would. */
	snprintf(m.captures[1].name, sizeof(m.captures[1].name), "pubkey");
	CHECK_STATUS(cpk_manifest_encode(&m, &b2, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "manifest: capture 'pubkey' is named twice");
	snprintf(m.captures[1].name, sizeof(m.captures[1].name), "-x");
	CHECK_STATUS(cpk_manifest_check(&m, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "manifest: capture 2: '-x' is not a capture name");
	m.ncaptures = CPK_CAPTURE_MAX + 1;
	CHECK_STATUS(cpk_manifest_check(&m, &err), CPK_ERR_RANGE);
	CHECK_MSG(&err, "manifest: 17 captures; at most 16");

	BAD_CAPTURES("captures:\n", CPK_ERR_PARSE, "section 'captures' is empty", 0);
	BAD_CAPTURES("captures:\n  Pub: 4\n", CPK_ERR_PARSE, "'Pub' is not a capture name", 24);
	BAD_CAPTURES("captures:\n  pubkey 4\n", CPK_ERR_PARSE,
	    "expected 'NAME: COMMAND' in section 'captures'", 24);
	BAD_CAPTURES("captures:\n  pubkey: 04\n", CPK_ERR_PARSE, "integer with a leading zero", 24);
	BAD_CAPTURES("captures:\n  pubkey: 0\n", CPK_ERR_RANGE, "'captures' is 0; expected 1..",
	    24);
	BAD_CAPTURES("captures:\n  abcdefghijklmnopqrstuvwxyz0123456: 4\n", CPK_ERR_RANGE,
	    "capture name longer than 32 characters", 24);
	BAD_CAPTURES("captures:\n  pubkey: 10\n", CPK_ERR_RANGE,
	    "manifest: capture 'pubkey' keeps command 10; the script has commands 1..9", 0);
	BAD_CAPTURES("captures:\n  a: 4\n  a: 5\n", CPK_ERR_PARSE, "capture 'a' is named twice",
	    0);
	BAD_CAPTURES("captures:\n  a: 5\n  b: 4\n", CPK_ERR_PARSE,
	    "capture 'b' (command 4) does not come after 'a' (command 5)", 0);
	BAD_CAPTURES("captures:\n  a: 5\n  b: 5\n", CPK_ERR_PARSE, "one per command", 0);
	BAD_CAPTURES("captures:\n  a: 5\nformat: 1\n", CPK_ERR_PARSE, "duplicate key 'format'",
	    25);
	snprintf(text, sizeof(text), "captures:\n");
	for (i = 0; i < CPK_CAPTURE_MAX + 1; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text), "  c%zu: 1\n", i);
	BAD_CAPTURES(text, CPK_ERR_RANGE, "more than 16 captures", 24 + CPK_CAPTURE_MAX);
	cpk_buf_free(&b);
	cpk_buf_free(&b2);
}

static void
test_manifest_syntax(void)
{
	char big[CPK_MANIFEST_MAX_SIZE + 2];
	char *s;

	BAD_MANIFEST("format: 1", "format: 2", CPK_ERR_UNSUPPORTED,
	    "bundle format 2 is not supported", 1);
	BAD_MANIFEST("format: 1", "format: 01", CPK_ERR_PARSE, "decimal integer", 1);
	BAD_MANIFEST("format: 1\n", "", CPK_ERR_PARSE, "starts with 'format: N'", 1);
	BAD_MANIFEST("mode: offline\n", "mode: offline\ncolour: \"red\"\n", CPK_ERR_PARSE,
	    "unknown key 'colour'", 7);
	BAD_MANIFEST("  iin:", "  pin: 1234\n  iin:", CPK_ERR_PARSE,
	    "unknown key 'pin' in section 'card'", 11);
	BAD_MANIFEST("  kdd:", "  serial: \"again\"\n  kdd:", CPK_ERR_PARSE,
	    "duplicate key 'serial'", 9);
	BAD_MANIFEST("profile: \"install", "compiler: \"x\"\nprofile: \"install", CPK_ERR_PARSE,
	    "duplicate key 'compiler'", 3);
	BAD_MANIFEST("  kvn: 30\n  level: 33\n", "  level: 33\n  kvn: 30\n", CPK_ERR_PARSE,
	    "key 'kvn' is out of order", 16);
	BAD_MANIFEST("  kdd: 00010203040506070809", "  kdd: 000102030405060708aa", CPK_ERR_PARSE,
	    "'kdd': 'a' is not an uppercase hex digit", 9);
	BAD_MANIFEST("  kdd: 00010203040506070809", "  kdd: 0001020304050607080", CPK_ERR_PARSE,
	    "odd number of hex digits", 9);
	BAD_MANIFEST("  kdd: 00010203040506070809", "  kdd: 000102030405060708", CPK_ERR_RANGE,
	    "'kdd' is 9 bytes; expected 10", 9);
	BAD_MANIFEST("  sd-aid: A000000151000000", "  sd-aid: A0000001", CPK_ERR_RANGE,
	    "'sd-aid' is 4 bytes; expected 5..16", 10);
	BAD_MANIFEST("  kdd: 00010203040506070809", "  kdd: 0x010203040506070809", CPK_ERR_PARSE,
	    "not an uppercase hex digit", 9);
	BAD_MANIFEST("commands: 9", "commands: 09", CPK_ERR_PARSE, "leading zero", 20);
	BAD_MANIFEST("commands: 9", "commands: 0", CPK_ERR_RANGE, "'commands' is 0; expected 1..32768",
	    20);
	BAD_MANIFEST("commands: 9", "commands: 40000", CPK_ERR_RANGE, "expected 1..32768", 20);
	BAD_MANIFEST("commands: 9", "commands: -9", CPK_ERR_PARSE, "decimal integer", 20);
	BAD_MANIFEST("commands: 9", "commands: 99999999999999999999", CPK_ERR_RANGE,
	    "integer too large", 20);
	BAD_MANIFEST("created: 1700000000", "created: 1.7e9", CPK_ERR_PARSE, "found '.'", 5);
	BAD_MANIFEST("compiler: \"cpk golden-test\"", "compiler: cpk", CPK_ERR_PARSE,
	    "double-quoted string", 2);
	BAD_MANIFEST("compiler: \"cpk golden-test\"", "compiler: \"a\\nb\"", CPK_ERR_PARSE,
	    "only \\\" and \\\\ escapes", 2);
	BAD_MANIFEST("compiler: \"cpk golden-test\"", "compiler: \"a\"b\"", CPK_ERR_PARSE,
	    "unescaped '\"'", 2);
	BAD_MANIFEST("compiler: \"cpk golden-test\"", "compiler: \"\"", CPK_ERR_RANGE,
	    "'compiler' is empty", 2);
	BAD_MANIFEST("  serial: \"CARD-0001\"",
	    "  serial: \"01234567890123456789012345678901234567890123456789012345678901234\"",
	    CPK_ERR_RANGE, "'serial' is longer than 64 characters", 8);
	BAD_MANIFEST("mode: offline", "mode: online", CPK_ERR_PARSE, "offline or session", 6);
	BAD_MANIFEST("mode: offline", "mode:\toffline", CPK_ERR_PARSE, "tab character", 6);
	BAD_MANIFEST("mode: offline\n", "mode: offline\r\n", CPK_ERR_PARSE, "carriage return", 6);
	BAD_MANIFEST("mode: offline\n", "mode: offline\n\n", CPK_ERR_PARSE, "empty line", 7);
	BAD_MANIFEST("mode: offline\n", "mode: offline \n", CPK_ERR_PARSE,
	    "'mode' must be offline or session", 6);
	BAD_MANIFEST("mode: offline\n", "mode: offline # comment\n", CPK_ERR_PARSE,
	    "'mode' must be offline or session", 6);
	BAD_MANIFEST("profile: \"install", "profile: \"inst\xc3\xa9ll", CPK_ERR_PARSE,
	    "byte 0xC3: the manifest is printable ASCII", 3);
	BAD_MANIFEST("mode: offline", "mode:offline", CPK_ERR_PARSE,
	    "expected one space and a value after 'mode:'", 6);
	BAD_MANIFEST("mode: offline", "mode: ", CPK_ERR_PARSE, "expected one space and a value", 6);
	BAD_MANIFEST("  kdd:", "   kdd:", CPK_ERR_PARSE, "indentation must be 0 or 2 spaces", 9);
	BAD_MANIFEST("created: 1700000000", "  created: 1700000000", CPK_ERR_PARSE,
	    "indented line outside", 5);
	BAD_MANIFEST("card:\n", "card: yes\n", CPK_ERR_PARSE, "starts a section and takes no value",
	    7);
	BAD_MANIFEST("  kdd: ", "  KDD: ", CPK_ERR_PARSE, "expected 'key: value' with a lowercase key",
	    9);
	BAD_MANIFEST("  kdd: 00010203040506070809\n", "", CPK_ERR_PARSE, "missing key 'kdd' in section card",
	    0);
	BAD_MANIFEST("script-sha256: ", "script-sha: ", CPK_ERR_PARSE, "unknown key 'script-sha'",
	    22);

	/* Whole-text rules. */
	bad_manifest_text(canonical, strlen(canonical) - 1, CPK_ERR_PARSE,
	    "last line does not end with a newline", 0, __LINE__);
	bad_manifest_text("", 0, CPK_ERR_PARSE, "manifest is empty", 0, __LINE__);
	memset(big, 'a', sizeof(big));
	memcpy(big, "format: 1\n", 10);
	bad_manifest_text(big, sizeof(big), CPK_ERR_RANGE, "at most 8192", 0, __LINE__);
	s = mutate("created: 1700000000",
	    "created: 1700000000\nprofile-sha256: 000000000000000000000000000000000000000000000"
	    "0000000000000000000000000000000000000000000000000000000000000000000000000000000"
	    "0000000000000000000000000000000000000000000000000000000000000000000000000000000"
	    "0000000000000000000000000000000000000000000000000000000000000000000000000000000"
	    "0000000000000000000000000000000000000000000000000000000000000000000000000000000"
	    "0000000000000000000000000000000000000000000000000000000000000000000000000000000"
	    "000000000000000000000000000000000000000000000000000000000000");
	bad_manifest_text(s, strlen(s), CPK_ERR_RANGE, "line longer than 512 bytes", 6, __LINE__);
	free(s);
	s = mutate("mode: offline", "mode: offline");
	s[strstr(s, "mode: offline") - s + 7] = '\0';
	bad_manifest_text(s, strlen(canonical), CPK_ERR_PARSE, "byte 0x00", 6, __LINE__);
	free(s);
}

static void
test_manifest_semantics(void)
{
	struct cpk_manifest m;
	struct cpk_buf b = CPK_BUF_INIT;
	struct cpk_error err;

	cpk_error_clear(&err);
	BAD_MANIFEST("  i: 70", "  i: 00", CPK_ERR_PARSE,
	    "offline bundle for SCP03 i=00, whose card challenge is not predictable", 0);
	BAD_MANIFEST("  scp: 03", "  scp: 04", CPK_ERR_PARSE, "scp 04 is not 02 or 03", 0);
	BAD_MANIFEST("  level: 33", "  level: 05", CPK_ERR_PARSE,
	    "security level 05 is not one of 01 03 11 13 33", 0);
	BAD_MANIFEST("  counter: 000016", "  counter: 0016", CPK_ERR_PARSE,
	    "counter is 2 bytes; SCP03 counters are 3", 0);
	BAD_MANIFEST("  host-challenge: F0E1D2C3B4A59687\n", "", CPK_ERR_PARSE,
	    "an offline bundle needs counter, host-challenge and iu-response", 0);
	BAD_MANIFEST("iu-response: 00", "iu-response: 01", CPK_ERR_PARSE,
	    "iu-response does not start with the card's kdd", 0);
	BAD_MANIFEST("iu-response: 00010203040506070809300370", "iu-response: 00010203040506070809310370",
	    CPK_ERR_PARSE, "key information 3103 differs from kvn 30, scp 03", 0);
	BAD_MANIFEST("iu-response: 00010203040506070809300370", "iu-response: 00010203040506070809300330",
	    CPK_ERR_PARSE, "iu-response says i=30 but channel i is 70", 0);
	BAD_MANIFEST("EEFF00000016", "EEFF00000017", CPK_ERR_PARSE,
	    "iu-response carries another sequence counter", 0);
	BAD_MANIFEST("EEFF00000016", "EEFF00", CPK_ERR_PARSE,
	    "iu-response is 29 bytes; SCP03 with i=70 answers 32", 0);

	/* The encoder refuses what the parser would refuse. */
	full_manifest(&m);
	m.format = 2;
	CHECK_STATUS(cpk_manifest_encode(&m, &b, &err), CPK_ERR_UNSUPPORTED);
	CHECK_MSG(&err, "bundle format 2 is not supported");
	full_manifest(&m);
	snprintf(m.profile, sizeof(m.profile), "tab\there");
	CHECK_STATUS(cpk_manifest_encode(&m, &b, &err), CPK_ERR_RANGE);
	CHECK_MSG(&err, "'profile' holds byte 0x09 at position 4");
	full_manifest(&m);
	m.profile[0] = '\0';
	CHECK_STATUS(cpk_manifest_encode(&m, &b, &err), CPK_ERR_RANGE);
	CHECK_MSG(&err, "'profile' is empty");
	full_manifest(&m);
	m.mode = (enum cpk_bundle_mode)7;
	CHECK_STATUS(cpk_manifest_encode(&m, &b, &err), CPK_ERR_RANGE);
	CHECK_MSG(&err, "neither offline nor session");
	full_manifest(&m);
	m.sd_aid_len = 4;
	CHECK_STATUS(cpk_manifest_encode(&m, &b, &err), CPK_ERR_RANGE);
	CHECK_MSG(&err, "invalid length");
	full_manifest(&m);
	m.commands = 0;
	CHECK_STATUS(cpk_manifest_encode(&m, &b, &err), CPK_ERR_RANGE);
	CHECK_MSG(&err, "0 commands in 1000 bytes is outside");
	full_manifest(&m);
	m.created = UINT64_C(253402300800);
	CHECK_STATUS(cpk_manifest_encode(&m, &b, &err), CPK_ERR_RANGE);
	CHECK_MSG(&err, "after the year 9999");
	full_manifest(&m);
	m.scp = 2;
	m.i = 0x55;
	m.level = 0x33;
	CHECK_STATUS(cpk_manifest_encode(&m, &b, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "security level 33 is not one of 01 03 11 13");
	CHECK(b.len == 0);
	cpk_buf_free(&b);
}

/* --- status words --- */

static void
test_sw_patterns(void)
{
	struct cpk_sw_pattern p;
	struct cpk_command c;
	struct cpk_error err;
	char txt[5];

	cpk_error_clear(&err);
	CHECK_OK(cpk_sw_pattern_parse("9000", &p, &err));
	CHECK(p.value == 0x9000 && p.mask == 0xffff);
	CHECK_OK(cpk_sw_pattern_parse("61xx", &p, &err));
	CHECK(p.value == 0x6100 && p.mask == 0xff00);
	cpk_sw_pattern_format(&p, txt);
	CHECK_STR(txt, "61xx");
	CHECK(cpk_sw_pattern_match(&p, 0x6110) && !cpk_sw_pattern_match(&p, 0x6210));
	CHECK_OK(cpk_sw_pattern_parse("63cX", &p, &err));
	CHECK(p.value == 0x63c0 && p.mask == 0xfff0);
	cpk_sw_pattern_format(&p, txt);
	CHECK_STR(txt, "63Cx");
	CHECK_STATUS(cpk_sw_pattern_parse("900", &p, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "must be 4 characters");
	CHECK_STATUS(cpk_sw_pattern_parse("90G0", &p, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "'G' is neither a hex digit nor x");

	fixture_command(&c, "X", "00A40400", 0, "9000", "6A88");
	CHECK(cpk_command_accepts(&c, 0x9000) && cpk_command_accepts(&c, 0x6a88));
	CHECK(!cpk_command_accepts(&c, 0x6982));
	free((void *)c.apdu);
}

/* --- script records --- */

static void
free_commands(struct cpk_command *cmds, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free((void *)cmds[i].apdu);
}

static void
test_script_roundtrip(void)
{
	struct cpk_command cmds[FIXTURE_COMMANDS], *back = NULL;
	struct cpk_buf b = CPK_BUF_INIT;
	struct cpk_manifest m;
	struct cpk_error err;
	size_t n = 0, i;

	cpk_error_clear(&err);
	fixture_commands(cmds);
	CHECK_OK(cpk_script_encode(cmds, FIXTURE_COMMANDS, &b, &err));
	CHECK_HEX(b.data, 9, "43504B530100000009");
	CHECK_OK(cpk_script_parse(b.data, b.len, &back, &n, &err));
	CHECK(n == FIXTURE_COMMANDS);
	for (i = 0; back != NULL && i < n && i < FIXTURE_COMMANDS; i++) {
		CHECK_STR(back[i].label, cmds[i].label);
		CHECK_MEM(back[i].apdu, back[i].apdu_len, cmds[i].apdu, cmds[i].apdu_len);
		CHECK(back[i].flags == cmds[i].flags && back[i].nsw == cmds[i].nsw);
		CHECK(memcmp(back[i].sw, cmds[i].sw, sizeof(back[i].sw[0]) * cmds[i].nsw) == 0);
	}
	CHECK_STR(back[6].label, "PUT KEY \xe2\x80\x94 rotate");
	CHECK(back[7].apdu_len == 307);
	fixture_manifest(&m);
	CHECK_OK(cpk_script_check_flow(&m, back, n, &err));
	free(back);
	cpk_buf_free(&b);
	free_commands(cmds, FIXTURE_COMMANDS);
}

/* Parse a script whose only record body is given in hex. */
static void
bad_record(const char *body_hex, cpk_status want, const char *needle, int line)
{
	uint8_t buf[2048];
	struct cpk_command *cmds = NULL;
	struct cpk_error err;
	size_t blen, n = 0;

	cpk_error_clear(&err);
	memcpy(buf, "CPKS\x01\x00\x00\x00\x01", 9);
	blen = test_unhex(body_hex, buf + 13, sizeof(buf) - 13);
	cpk_put_u32be(buf + 9, (uint32_t)blen);
	if (test_check_status(cpk_script_parse(buf, 13 + blen, &cmds, &n, &err), want, needle,
	    __FILE__, line))
		test_check_msg(&err, needle, __FILE__, line);
	test_check(cmds == NULL && n == 0, "no output on error", __FILE__, line);
	free(cmds);
}

#define BAD_RECORD(hex, want, needle) bad_record((hex), (want), (needle), __LINE__)

static void
bad_script(const uint8_t *p, size_t n, cpk_status want, const char *needle, int line)
{
	struct cpk_command *cmds = NULL;
	struct cpk_error err;
	size_t count = 0;

	cpk_error_clear(&err);
	if (test_check_status(cpk_script_parse(p, n, &cmds, &count, &err), want, needle,
	    __FILE__, line))
		test_check_msg(&err, needle, __FILE__, line);
	free(cmds);
}

#define BAD_SCRIPT(p, n, want, needle) bad_script((p), (n), (want), (needle), __LINE__)

static void
test_script_errors(void)
{
	/* A good body: flags 00, label "A", one SW 9000/FFFF, APDU 00A40400. */
	static const char good[] = "0001410190 00FFFF00000004 00A40400";
	char hex[256];
	uint8_t s[64];
	size_t i, j;

	/* The good body itself parses (spaces removed). */
	for (i = j = 0; good[i] != '\0'; i++)
		if (good[i] != ' ')
			hex[j++] = good[i];
	hex[j] = '\0';
	{
		uint8_t buf[64];
		struct cpk_command *cmds = NULL;
		size_t n = 0, blen;

		memcpy(buf, "CPKS\x01\x00\x00\x00\x01", 9);
		blen = test_unhex(hex, buf + 13, sizeof(buf) - 13);
		cpk_put_u32be(buf + 9, (uint32_t)blen);
		CHECK_OK(cpk_script_parse(buf, 13 + blen, &cmds, &n, NULL));
		CHECK(n == 1 && cmds != NULL && strcmp(cmds[0].label, "A") == 0);
		free(cmds);
	}
	BAD_RECORD("0000" "41019000FFFF0000000400A40400", CPK_ERR_RANGE, "label of 0 bytes");
	BAD_RECORD("0041" "41", CPK_ERR_RANGE, "label of 65 bytes; expected 1..64");
	BAD_RECORD("0001" "07019000FFFF0000000400A40400", CPK_ERR_PARSE,
	    "byte 0x07 at offset 0 is not UTF-8 text");
	BAD_RECORD("0002" "C080019000FFFF0000000400A40400", CPK_ERR_PARSE, "byte 0xC0");
	BAD_RECORD("0003" "EDA080019000FFFF0000000400A40400", CPK_ERR_PARSE, "byte 0xED");
	BAD_RECORD("0002" "C285019000FFFF0000000400A40400", CPK_ERR_PARSE, "byte 0xC2");
	BAD_RECORD("0002" "4100019000FFFF0000000400A40400", CPK_ERR_PARSE,
	    "label contains a NUL byte");
	BAD_RECORD("000141" "00" "0000000400A40400", CPK_ERR_RANGE,
	    "0 accepted status words; expected 1..8");
	BAD_RECORD("000141" "09" "9000FFFF9000FFFF9000FFFF9000FFFF9000FFFF9000FFFF9000FFFF"
	    "9000FFFF9000FFFF0000000400A40400", CPK_ERR_RANGE, "9 accepted status words");
	BAD_RECORD("000141" "01" "9000FFF1" "0000000400A40400", CPK_ERR_PARSE,
	    "each mask nibble must be 0 or F");
	BAD_RECORD("000141" "01" "9001FFF0" "0000000400A40400", CPK_ERR_PARSE,
	    "value must lie inside the mask");
	BAD_RECORD("000141" "01" "9000FFFF" "00000003" "00A404", CPK_ERR_RANGE,
	    "APDU of 3 bytes; expected 4..65544");
	BAD_RECORD("000141" "01" "9000FFFF" "00010009" "00A40400", CPK_ERR_RANGE,
	    "APDU of 65545 bytes");
	BAD_RECORD("000141" "01" "9000FFFF" "00000008" "00A40400", CPK_ERR_PARSE,
	    "APDU length 8 but only 4 bytes remain");
	BAD_RECORD("000141" "01" "9000FFFF" "00000007" "00A4040005AABB", CPK_ERR_PARSE,
	    "Lc says 5 data bytes but 2 follow");
	BAD_RECORD("000141" "01" "9000FFFF" "00000004" "00A40400" "EE", CPK_ERR_PARSE,
	    "1 unused bytes at the end of the record");
	BAD_RECORD("000141" "01" "9000", CPK_ERR_PARSE, "record ends inside the status words");
	BAD_RECORD("000141" "01" "9000FFFF" "0000", CPK_ERR_PARSE,
	    "record ends before the APDU length");
	BAD_RECORD("0005" "41", CPK_ERR_PARSE, "record ends inside the label");
	BAD_RECORD("00", CPK_ERR_PARSE, "record too short");
	BAD_RECORD("80" "0141019000FFFF0000000400A40400", CPK_ERR_PARSE, "unknown flag bits 0x80");
	BAD_RECORD("03" "0141019000FFFF0000000400A40400", CPK_ERR_PARSE,
	    "INITIALIZE UPDATE is sent before the channel opens");
	BAD_RECORD("04" "0141019000FFFF0000000400A40400", CPK_ERR_PARSE,
	    "EXTERNAL AUTHENTICATE carries a C-MAC");

	/* Header and framing. */
	BAD_SCRIPT((const uint8_t *)"CPK", 3, CPK_ERR_PARSE, "truncated header");
	BAD_SCRIPT((const uint8_t *)"CPKX\x01\x00\x00\x00\x01", 9, CPK_ERR_PARSE, "bad magic");
	BAD_SCRIPT((const uint8_t *)"CPKS\x02\x00\x00\x00\x01", 9, CPK_ERR_UNSUPPORTED,
	    "script version 2 is not supported");
	BAD_SCRIPT((const uint8_t *)"CPKS\x01\x00\x00\x00\x00", 9, CPK_ERR_RANGE,
	    "0 commands; expected 1..32768");
	BAD_SCRIPT((const uint8_t *)"CPKS\x01\x00\x00\x80\x01", 9, CPK_ERR_RANGE,
	    "32769 commands; expected 1..32768");
	BAD_SCRIPT((const uint8_t *)"CPKS\x01\x00\x00\x00\x02", 9, CPK_ERR_PARSE,
	    "2 commands cannot fit in 0 bytes");
	memset(s, 0, sizeof(s));
	memcpy(s, "CPKS\x01\x00\x00\x00\x01\x00\x00\x00\x30", 13);
	BAD_SCRIPT(s, 13 + 20, CPK_ERR_PARSE, "command 1 of 1 is truncated");
	memcpy(s, "CPKS\x01\x00\x00\x00\x01\x00\x02\x00\x00", 13);
	{
		uint8_t *huge = calloc(1, 13 + 0x20000);

		if (huge == NULL)
			abort();
		memcpy(huge, s, 13);
		BAD_SCRIPT(huge, 13 + 0x20000, CPK_ERR_RANGE, "a record of 131072 bytes; at most");
		BAD_SCRIPT(huge, CPK_SCRIPT_MAX_SIZE + 1, CPK_ERR_RANGE, "at most 16711680");
		free(huge);
	}
	{
		/* Trailing bytes after the last record. */
		uint8_t buf[64];
		size_t blen;

		memcpy(buf, "CPKS\x01\x00\x00\x00\x01", 9);
		blen = test_unhex("0001410190" "00FFFF0000000400A40400", buf + 13, 40);
		cpk_put_u32be(buf + 9, (uint32_t)blen);
		buf[13 + blen] = 0xAA;
		BAD_SCRIPT(buf, 13 + blen + 1, CPK_ERR_PARSE, "1 bytes after the last command");
		BAD_SCRIPT(buf, 13 + blen - 1, CPK_ERR_PARSE, "command 1 of 1 is truncated");
	}
}

static void
test_script_caps(void)
{
	struct cpk_command *cmds;
	struct cpk_buf b = CPK_BUF_INIT;
	struct cpk_error err;
	uint8_t apdu[] = { 0x00, 0xA4, 0x04, 0x00 };
	size_t i, n = CPK_SCRIPT_MAX_COMMANDS + 1;

	cpk_error_clear(&err);
	if ((cmds = calloc(n, sizeof(*cmds))) == NULL)
		abort();
	for (i = 0; i < n; i++) {
		snprintf(cmds[i].label, sizeof(cmds[i].label), "C%zu", i);
		cmds[i].apdu = apdu;
		cmds[i].apdu_len = sizeof(apdu);
		cmds[i].nsw = 1;
		cmds[i].sw[0].value = 0x9000;
		cmds[i].sw[0].mask = 0xffff;
	}
	CHECK_STATUS(cpk_script_encode(cmds, n, &b, &err), CPK_ERR_RANGE);
	CHECK_MSG(&err, "script of 32769 commands; expected 1..32768");
	CHECK(b.len == 0);
	CHECK_OK(cpk_script_encode(cmds, n - 1, &b, &err));
	CHECK_STATUS(cpk_script_encode(cmds, 0, &b, &err), CPK_ERR_RANGE);

	/* The encoder applies the record rules and names the command. */
	cpk_buf_reset(&b);
	memset(cmds[2].label, 'L', CPK_LABEL_MAX + 1);
	CHECK_STATUS(cpk_script_encode(cmds, 3, &b, &err), CPK_ERR_RANGE);
	CHECK_MSG(&err, "command 3: label must be 1..64 bytes");
	CHECK(b.len == 0);
	snprintf(cmds[2].label, sizeof(cmds[2].label), "ok");
	cmds[1].nsw = 0;
	CHECK_STATUS(cpk_script_encode(cmds, 3, &b, &err), CPK_ERR_RANGE);
	CHECK_MSG(&err, "command 2: 0 accepted status words");
	cmds[1].nsw = 1;
	cmds[0].apdu_len = 3;
	CHECK_STATUS(cpk_script_encode(cmds, 3, &b, &err), CPK_ERR_RANGE);
	CHECK_MSG(&err, "command 1: APDU of 3 bytes");
	cmds[0].apdu_len = CPK_APDU_MAX_LEN + 1;
	CHECK_STATUS(cpk_script_encode(cmds, 3, &b, &err), CPK_ERR_RANGE);
	CHECK_MSG(&err, "command 1: APDU of 65545 bytes");
	free(cmds);
	cpk_buf_free(&b);
}

static void
flow_error(const struct cpk_manifest *m, struct cpk_command *cmds, size_t n, const char *needle,
    int line)
{
	struct cpk_error err;

	cpk_error_clear(&err);
	if (test_check_status(cpk_script_check_flow(m, cmds, n, &err), CPK_ERR_PARSE, needle,
	    __FILE__, line))
		test_check_msg(&err, needle, __FILE__, line);
}

#define FLOW_ERROR(m, c, n, needle) flow_error((m), (c), (n), (needle), __LINE__)

/* Label text: the UTF-8 check and shortening between characters. */
static void
test_label_text(void)
{
	/* "a", e-acute (2 bytes), euro sign (3), a 4-byte character, "z". */
	static const char s[] = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x94\x91z";
	static const size_t cut[] = { 0, 1, 1, 3, 3, 3, 6, 6, 6, 6, 10, 11, 11 };
	size_t i;

	for (i = 0; i < sizeof(cut) / sizeof(cut[0]); i++)
		CHECK(cpk_utf8_cut(s, i) == cut[i]);
	CHECK(cpk_label_bad_offset(s, strlen(s)) == strlen(s));
	CHECK(cpk_label_bad_offset("tab\there", 8) == 3);
	CHECK(cpk_label_bad_offset("c1 \xc2\x85", 5) == 3);	/* NEL, a C1 control */
	CHECK(cpk_label_bad_offset("cut \xc3", 5) == 4);
	CHECK(cpk_label_bad_offset("del\x7f", 4) == 3);
}

/*
 * What a signing key alone cannot make a loader do (cpk(5) "Secured
 * records"): each rule refused at its command, c restored after each.
 */
static void
test_secured_records(const struct cpk_manifest *m, struct cpk_command *c)
{
	/* A plain SELECT and VERIFY dressed as secured commands. */
	static const uint8_t plain_select[] = { 0x00, 0xA4, 0x04, 0x00, 0x02, 0x3F, 0x00 };
	static const uint8_t verify_sm_short[] = { 0x04, 0x20, 0x00, 0x80, 0x04, 1, 2, 3, 4 };
	static const uint8_t load_ch1[] = { 0x85, 0xE8, 0x00, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8 };
	static const uint8_t load_4x[] = { 0x44, 0xE8, 0x00, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8 };
	static const uint8_t ea_cla80[] = { 0x80, 0x82, 0x33, 0x00, 0x10, 1, 2, 3, 4, 5, 6, 7, 8,
	    1, 2, 3, 4, 5, 6, 7, 8 };
	static const uint8_t ea_short[] = { 0x84, 0x82, 0x33, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8 };
	static const uint8_t app_sm[] = { 0x84, 0xCA, 0x00, 0x66, 0x08, 1, 2, 3, 4, 5, 6, 7, 8 };
	struct cpk_command saved;

#define WITH_APDU(i, bytes, needle) do {					\
	saved = c[i];								\
	c[i].apdu = (bytes);							\
	c[i].apdu_len = sizeof(bytes);						\
	FLOW_ERROR(m, c, FIXTURE_COMMANDS, (needle));				\
	c[i] = saved;								\
} while (0)
	/* EXTERNAL AUTHENTICATE: 9000 only, 84 82 level 00 10. */
	saved = c[2];
	c[2].sw[0].mask = 0x0000;
	FLOW_ERROR(m, c, FIXTURE_COMMANDS,
	    "command 3 (EXTERNAL AUTHENTICATE): EXTERNAL AUTHENTICATE must accept 9000 only");
	c[2] = saved;
	c[2].nsw = 2;
	c[2].sw[1].value = 0x6300;
	c[2].sw[1].mask = 0xFFFF;
	FLOW_ERROR(m, c, FIXTURE_COMMANDS, "must accept 9000 only");
	c[2] = saved;
	WITH_APDU(2, ea_cla80, "command 3 (EXTERNAL AUTHENTICATE) is marked EXTERNAL "
	    "AUTHENTICATE but is not EXTERNAL AUTHENTICATE for security level 33 (84 82 33 00 "
	    "10, host cryptogram and C-MAC)");
	WITH_APDU(2, ea_short, "is not EXTERNAL AUTHENTICATE for security level 33");
	/* After it: secure messaging marked, basic channel, room for the C-MAC. */
	WITH_APDU(4, plain_select, "command 5 (LOAD 1/2) is secured but its CLA 00 does not "
	    "mark secure messaging on the basic channel");
	WITH_APDU(4, load_ch1, "command 5 (LOAD 1/2) is secured but its CLA 85 does not mark "
	    "secure messaging on the basic channel");
	WITH_APDU(4, load_4x, "its CLA 44 does not mark secure messaging");
	WITH_APDU(4, verify_sm_short, "command 5 (LOAD 1/2) is secured but carries 4 data "
	    "bytes, too few for its C-MAC (8)");
	/* Card management commands name their status words exactly, never 6982/6988. */
	saved = c[3];
	c[3].sw[1].value = 0x6A00;
	c[3].sw[1].mask = 0xFF00;
	FLOW_ERROR(m, c, FIXTURE_COMMANDS, "command 4 (DELETE A0000000620301) accepts status "
	    "words 6A00/FF00: a card management command names each status word it accepts");
	c[3].sw[1].value = 0x6982;
	c[3].sw[1].mask = 0xFFFF;
	FLOW_ERROR(m, c, FIXTURE_COMMANDS, "command 4 (DELETE A0000000620301) accepts 6982: the "
	    "card answers that to a command whose C-MAC it refused");
	c[3].sw[1].value = 0x6988;
	FLOW_ERROR(m, c, FIXTURE_COMMANDS, "accepts 6988");
	c[3] = saved;
	/* Any other secured command may accept a mask (the format allows it). */
	saved = c[4];
	c[4].apdu = app_sm;
	c[4].apdu_len = sizeof(app_sm);
	c[4].sw[0].value = 0x6100;
	c[4].sw[0].mask = 0xFF00;
	CHECK_OK(cpk_script_check_flow(m, c, FIXTURE_COMMANDS, NULL));
	c[4] = saved;
	CHECK_OK(cpk_script_check_flow(m, c, FIXTURE_COMMANDS, NULL));
#undef WITH_APDU
}

static void
test_script_flow(void)
{
	struct cpk_command c[FIXTURE_COMMANDS], saved;
	struct cpk_manifest m;
	struct cpk_error err;

	cpk_error_clear(&err);
	fixture_manifest(&m);
	fixture_commands(c);
	CHECK_OK(cpk_script_check_flow(&m, c, FIXTURE_COMMANDS, &err));

	c[2].flags = CPK_CMD_SECURED;
	FLOW_ERROR(&m, c, FIXTURE_COMMANDS, "0 EXTERNAL AUTHENTICATE commands; expected exactly 1");
	c[2].flags = CPK_CMD_EXT_AUTH | CPK_CMD_SECURED;
	c[5].flags = CPK_CMD_EXT_AUTH | CPK_CMD_SECURED;
	FLOW_ERROR(&m, c, FIXTURE_COMMANDS, "2 EXTERNAL AUTHENTICATE commands");
	c[5].flags = CPK_CMD_SECURED;
	c[4].flags = 0;
	FLOW_ERROR(&m, c, FIXTURE_COMMANDS,
	    "command 5 (LOAD 1/2) is not secured but comes after EXTERNAL AUTHENTICATE");
	c[4].flags = CPK_CMD_SECURED;
	c[0].flags = CPK_CMD_SECURED;
	FLOW_ERROR(&m, c, FIXTURE_COMMANDS, "command 1 (SELECT ISD): an offline script starts "
	    "with SELECT of the manifest's security domain (00A40400 Lc sd-aid 00, not secured)");
	c[0].flags = 0;
	c[5].flags |= CPK_CMD_INIT_UPDATE;
	FLOW_ERROR(&m, c, FIXTURE_COMMANDS, "the script has 2 INITIALIZE UPDATE commands; an "
	    "offline script has exactly 1");
	c[5].flags = CPK_CMD_SECURED;
	c[1].flags = 0;
	FLOW_ERROR(&m, c, FIXTURE_COMMANDS, "the script has 0 INITIALIZE UPDATE commands");
	c[0].flags = CPK_CMD_INIT_UPDATE;
	FLOW_ERROR(&m, c, FIXTURE_COMMANDS, "command 1 (SELECT ISD): an offline script starts "
	    "with SELECT of the manifest's security domain");
	c[0].flags = 0;
	c[1].flags = CPK_CMD_INIT_UPDATE;
	saved = c[1];
	c[1].apdu = c[0].apdu;
	c[1].apdu_len = c[0].apdu_len;
	FLOW_ERROR(&m, c, FIXTURE_COMMANDS,
	    "command 2 (INITIALIZE UPDATE): an offline script's second command is INITIALIZE "
	    "UPDATE with the manifest's host challenge (8050 KVN 00 08 host-challenge 00, KVN 30 "
	    "or 00)");
	c[1] = saved;
	m.host_challenge[0] ^= 1;
	FLOW_ERROR(&m, c, FIXTURE_COMMANDS, "command 2 (INITIALIZE UPDATE): an offline script's "
	    "second command is INITIALIZE UPDATE with the manifest's host challenge");
	m.host_challenge[0] ^= 1;
	/* Another key version than the manifest's (00, the default set, is fine). */
	m.kvn = 0x31;
	FLOW_ERROR(&m, c, FIXTURE_COMMANDS, "KVN 31 or 00");
	m.kvn = 0x30;
	/* SELECT of another security domain, or with another Le. */
	m.sd_aid[m.sd_aid_len - 1] ^= 1;
	FLOW_ERROR(&m, c, FIXTURE_COMMANDS, "command 1 (SELECT ISD): an offline script starts "
	    "with SELECT of the manifest's security domain (00A40400 Lc sd-aid 00, not secured)");
	m.sd_aid[m.sd_aid_len - 1] ^= 1;
	saved = c[0];
	c[0].apdu_len--;
	FLOW_ERROR(&m, c, FIXTURE_COMMANDS, "command 1 (SELECT ISD): an offline script starts "
	    "with SELECT of the manifest's security domain");
	c[0] = saved;
	/*
	 * Nothing else reaches the card before it is known to be the bundle's:
	 * not even an unsecured command between SELECT and INITIALIZE UPDATE.
	 */
	{
		struct cpk_command extra[FIXTURE_COMMANDS + 1];

		extra[0] = c[0];
		extra[1] = c[3];
		extra[1].flags = 0;
		memcpy(&extra[2], &c[1], (FIXTURE_COMMANDS - 1) * sizeof(c[0]));
		FLOW_ERROR(&m, extra, FIXTURE_COMMANDS + 1, "command 2 (DELETE A0000000620301): "
		    "an offline script's second command is INITIALIZE UPDATE");
		extra[0] = extra[1];
		extra[1] = c[0];
		FLOW_ERROR(&m, extra, FIXTURE_COMMANDS + 1, "command 1 (DELETE A0000000620301): "
		    "an offline script starts with SELECT of the manifest's security domain");
		/* The right opening, then an unsecured command before EXTERNAL AUTHENTICATE. */
		extra[0] = c[0];
		extra[1] = c[1];
		extra[2] = c[3];
		extra[2].flags = 0;
		memcpy(&extra[3], &c[2], (FIXTURE_COMMANDS - 2) * sizeof(c[0]));
		FLOW_ERROR(&m, extra, FIXTURE_COMMANDS + 1, "command 3 (DELETE A0000000620301) is "
		    "not EXTERNAL AUTHENTICATE: an offline script opens the secure channel right "
		    "after INITIALIZE UPDATE");
	}
	m.level = 0x03;
	FLOW_ERROR(&m, c, FIXTURE_COMMANDS,
	    "command 3 (EXTERNAL AUTHENTICATE) is marked EXTERNAL AUTHENTICATE but is not "
	    "EXTERNAL AUTHENTICATE for security level 03");
	m.level = 0x33;
	test_secured_records(&m, c);

	/* A capture keeps the answer to a secured command after EXTERNAL AUTHENTICATE. */
	m.ncaptures = 1;
	snprintf(m.captures[0].name, sizeof(m.captures[0].name), "pubkey");
	m.captures[0].command = FIXTURE_COMMANDS;
	CHECK_OK(cpk_script_check_flow(&m, c, FIXTURE_COMMANDS, &err));
	m.captures[0].command = 3;
	FLOW_ERROR(&m, c, FIXTURE_COMMANDS, "capture 'pubkey' keeps command 3 (EXTERNAL "
	    "AUTHENTICATE), which is not a secured command after EXTERNAL AUTHENTICATE");
	m.captures[0].command = 1;
	FLOW_ERROR(&m, c, FIXTURE_COMMANDS, "capture 'pubkey' keeps command 1 (SELECT ISD)");
	m.captures[0].command = FIXTURE_COMMANDS + 1;
	FLOW_ERROR(&m, c, FIXTURE_COMMANDS, "capture 'pubkey' keeps command 10; the script has 9");
	m.ncaptures = 0;

	/* Session mode: starts at EXTERNAL AUTHENTICATE. */
	m.mode = CPK_MODE_SESSION;
	FLOW_ERROR(&m, c, FIXTURE_COMMANDS, "a session script starts with EXTERNAL AUTHENTICATE");
	CHECK_OK(cpk_script_check_flow(&m, c + 2, FIXTURE_COMMANDS - 2, &err));
	free_commands(c, FIXTURE_COMMANDS);
}

/* --- key files and manifest.sig --- */

static void
bad_keyfile(const char *text, enum cpk_keyfile_kind kind, cpk_status want, const char *needle,
    int line)
{
	uint8_t id[CPK_KEY_ID_LEN], key[CPK_ED25519_KEY_LEN];
	struct cpk_error err;

	cpk_error_clear(&err);
	if (test_check_status(cpk_keyfile_decode((const uint8_t *)text, strlen(text), "k.pub",
	    kind, id, key, &err), want, needle, __FILE__, line))
		test_check_msg(&err, needle, __FILE__, line);
}

#define BAD_KEYFILE(text, kind, want, needle) \
	bad_keyfile((text), (kind), (want), (needle), __LINE__)

static void
test_keyfiles(void)
{
	struct cpk_pubkey pk, back;
	struct cpk_buf b = CPK_BUF_INIT;
	struct cpk_error err;
	uint8_t id[CPK_KEY_ID_LEN], key[CPK_ED25519_KEY_LEN], seed[CPK_ED25519_KEY_LEN];
	char hex[17], big[CPK_KEYFILE_MAX + 2];
	const char *good_line2;

	cpk_error_clear(&err);
	/* RFC 8032 test 1 public key; its key id is the first 8 bytes of its SHA-256. */
	test_unhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", pk.pub,
	    sizeof(pk.pub));
	CHECK_OK(cpk_key_id(pk.pub, pk.key_id, &err));
	cpk_key_id_hex(pk.key_id, hex);
	CHECK(strlen(hex) == 16);
	CHECK_OK(cpk_keyfile_encode(CPK_KEYFILE_PUBLIC, pk.key_id, pk.pub, "note", &b, &err));
	CHECK(strncmp((const char *)b.data, "untrusted comment: cpk public key ", 34) == 0);
	CHECK(memcmp(b.data + 34, hex, 16) == 0 && memcmp(b.data + 50, " note\n", 6) == 0);
	CHECK(b.len == 56 + 57);
	CHECK_OK(cpk_pubkey_parse(b.data, b.len, "k.pub", &back, &err));
	CHECK_MEM(back.pub, 32, pk.pub, 32);
	/* Without the final newline too. */
	CHECK_OK(cpk_pubkey_parse(b.data, b.len - 1, "k.pub", &back, &err));
	/* A key id that does not belong to the key. */
	pk.key_id[0] ^= 1;
	cpk_buf_reset(&b);
	CHECK_OK(cpk_keyfile_encode(CPK_KEYFILE_PUBLIC, pk.key_id, pk.pub, NULL, &b, &err));
	CHECK_STATUS(cpk_pubkey_parse(b.data, b.len, "k.pub", &back, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "k.pub: the key id in the file");
	CHECK_MSG(&err, "does not match its key");
	/* A secret key file is not a public key and the other way round. */
	memset(seed, 0x5a, sizeof(seed));
	cpk_buf_reset(&b);
	CHECK_OK(cpk_keyfile_encode(CPK_KEYFILE_SECRET, pk.key_id, seed, NULL, &b, &err));
	CHECK(strncmp((const char *)b.data, "untrusted comment: cpk secret key ", 34) == 0);
	CHECK_OK(cpk_keyfile_decode(b.data, b.len, "k.key", CPK_KEYFILE_SECRET, id, key, &err));
	CHECK_MEM(key, 32, seed, 32);
	CHECK_STATUS(cpk_pubkey_parse(b.data, b.len, "k.key", &back, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "k.key:2: this is a secret key file, not a public key");
	cpk_buf_reset(&b);
	CHECK_OK(cpk_keyfile_encode(CPK_KEYFILE_PUBLIC, pk.key_id, pk.pub, NULL, &b, &err));
	CHECK_STATUS(cpk_keyfile_decode(b.data, b.len, "k.pub", CPK_KEYFILE_SECRET, id, key, &err),
	    CPK_ERR_PARSE);
	CHECK_MSG(&err, "k.pub:2: this is a public key file, not a secret key");
	CHECK_STATUS(cpk_keyfile_encode(CPK_KEYFILE_PUBLIC, pk.key_id, pk.pub, "a\nb", &b, &err),
	    CPK_ERR_ARG);
	CHECK_MSG(&err, "key comment holds byte 0x0A");

	good_line2 = "RVD2IMjExEbeXahxzXPviXztdkCDmipwDKfbQoS/GD0fyHtKFP7d/7KB";
	BAD_KEYFILE("comment: x\nRVD2\n", CPK_KEYFILE_PUBLIC, CPK_ERR_PARSE,
	    "not a cpk key file");
	BAD_KEYFILE("untrusted comment: x", CPK_KEYFILE_PUBLIC, CPK_ERR_PARSE,
	    "truncated key file (no key line)");
	BAD_KEYFILE("untrusted comment: x\x01\nRVD2\n", CPK_KEYFILE_PUBLIC, CPK_ERR_PARSE,
	    "byte 0x01 in the comment line");
	BAD_KEYFILE("untrusted comment: x\nRVD2\n", CPK_KEYFILE_PUBLIC, CPK_ERR_PARSE,
	    "the key line must be 56 base64 characters");
	BAD_KEYFILE("untrusted comment: x\nRVD2IMjExEbeXahxzXPviXztdkCDmipwDKfbQoS/GD0fyHtKFP7d/7KB"
	    "\nextra\n", CPK_KEYFILE_PUBLIC, CPK_ERR_PARSE, "nothing may follow it");
	BAD_KEYFILE("untrusted comment: x\nRVD2IMjExEbeXahxzXPviXztdkCDmipwDKfbQoS/GD0fyHtKFP7d/7K="
	    "\n", CPK_KEYFILE_PUBLIC, CPK_ERR_PARSE, "k.pub:2:56: not a base64 character");
	BAD_KEYFILE("untrusted comment: x\nQUJD2IMjExEbeXahxzXPviXztdkCDmipwDKfbQoS/GD0fyHtKFP7d/7K"
	    "\n", CPK_KEYFILE_PUBLIC, CPK_ERR_UNSUPPORTED, "unknown key algorithm 0x4142");
	snprintf(big, sizeof(big), "untrusted comment: %s\n%s\n", "x", good_line2);
	CHECK_OK(cpk_keyfile_decode((const uint8_t *)big, strlen(big), "k.pub", CPK_KEYFILE_PUBLIC,
	    id, key, &err));
	memset(big, 'x', sizeof(big));
	CHECK_STATUS(cpk_keyfile_decode((const uint8_t *)big, sizeof(big), "k.pub",
	    CPK_KEYFILE_PUBLIC, id, key, &err), CPK_ERR_RANGE);
	CHECK_MSG(&err, "too large for a key file");
	memcpy(big, "untrusted comment: ", 19);
	big[600] = '\n';
	CHECK_STATUS(cpk_keyfile_decode((const uint8_t *)big, 700, "k.pub", CPK_KEYFILE_PUBLIC, id,
	    key, &err), CPK_ERR_RANGE);
	CHECK_MSG(&err, "comment line too long");
	cpk_buf_free(&b);
}

static void
test_sig_entry(void)
{
	uint8_t sig[CPK_SIG_LEN + 1], id[CPK_KEY_ID_LEN];
	const uint8_t *raw = NULL;
	struct cpk_error err;

	cpk_error_clear(&err);
	memset(sig, 0x11, sizeof(sig));
	memcpy(sig, "Ed", 2);
	CHECK_OK(cpk_sig_parse(sig, CPK_SIG_LEN, id, &raw, &err));
	CHECK(raw == sig + 10 && id[0] == 0x11);
	CHECK_STATUS(cpk_sig_parse(sig, CPK_SIG_LEN - 1, id, &raw, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "manifest.sig is 73 bytes; a cpk signature is exactly 74 bytes");
	CHECK_STATUS(cpk_sig_parse(sig, CPK_SIG_LEN + 1, id, &raw, &err), CPK_ERR_PARSE);
	sig[1] = 'X';
	CHECK_STATUS(cpk_sig_parse(sig, CPK_SIG_LEN, id, &raw, &err), CPK_ERR_UNSUPPORTED);
	CHECK_MSG(&err, "unknown signature algorithm 0x4558");
	CHECK_STR(cpk_bundle_fault_name(CPK_FAULT_UNKNOWN_KEY), "unknown-key");
	CHECK_STR(cpk_bundle_fault_name(CPK_FAULT_HASH), "hash-mismatch");
	CHECK_STR(cpk_bundle_fault_name((enum cpk_bundle_fault)99), "unknown");
}

int
main(void)
{
	test_manifest_roundtrip();
	test_manifest_captures();
	test_manifest_syntax();
	test_manifest_semantics();
	test_sw_patterns();
	test_script_roundtrip();
	test_script_errors();
	test_script_caps();
	test_label_text();
	test_script_flow();
	test_keyfiles();
	test_sig_entry();
	return test_summary("bundle-format");
}
