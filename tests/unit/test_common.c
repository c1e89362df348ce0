/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk unit tests for common/: errors, hex, buffers, cursors, BER-TLV,
 * APDUs and status words. Every error path is triggered here and its
 * message checked.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpk_apdu.h"
#include "cpk_bytes.h"
#include "cpk_error.h"
#include "cpk_sw.h"
#include "cpk_text.h"
#include "cpk_tlv.h"
#include "testlib.h"

static uint8_t *
xmalloc(size_t n)
{
	uint8_t *p = malloc(n);

	if (p == NULL)
		abort();
	return p;
}

/* --- errors --- */

static void
test_error(void)
{
	struct cpk_error err;

	cpk_error_clear(&err);
	CHECK(err.status == CPK_OK && err.msg[0] == '\0');
	CHECK_STATUS(cpk_error_set(NULL, CPK_ERR_PARSE, "x"), CPK_ERR_PARSE);
	CHECK_STATUS(cpk_error_set(&err, CPK_ERR_RANGE, "value %d", 7), CPK_ERR_RANGE);
	CHECK_STR(err.msg, "value 7");
	cpk_error_prefix(&err, "step %d", 3);
	CHECK_STR(err.msg, "step 3: value 7");
	CHECK(err.status == CPK_ERR_RANGE);
	CHECK_STATUS(cpk_error_set_at(&err, CPK_ERR_PARSE, "p.yaml", 12, 7, "bad"),
	    CPK_ERR_PARSE);
	CHECK_STR(err.file, "p.yaml");
	CHECK(err.line == 12 && err.col == 7);
	CHECK_STR(cpk_status_name(CPK_ERR_PARSE), "CPK_ERR_PARSE");
	CHECK_STR(cpk_status_name(CPK_STATUS_COUNT), "CPK_STATUS_UNKNOWN");
	CHECK_STR(cpk_status_str(CPK_STATUS_COUNT), "unknown status");
}

/* --- hex --- */

static void
test_hex(void)
{
	struct cpk_error err;
	struct cpk_buf b = CPK_BUF_INIT;
	uint8_t out[8];
	char txt[9];
	size_t n = 99;

	CHECK_OK(cpk_hex_decode("00aBFf", 6, out, sizeof(out), &n, &err));
	CHECK_HEX(out, n, "00ABFF");
	CHECK_OK(cpk_hex_decode("", 0, out, sizeof(out), &n, &err));
	CHECK(n == 0);

	cpk_error_clear(&err);
	CHECK_STATUS(cpk_hex_decode("abc", 3, out, sizeof(out), &n, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "odd number of digits (3)");
	CHECK(n == 0);
	CHECK_STATUS(cpk_hex_decode("01g2", 4, out, sizeof(out), &n, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "invalid hex digit 'g' at position 3");
	CHECK_STATUS(cpk_hex_decode("0\x01", 2, out, sizeof(out), &n, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "invalid hex digit (byte 0x01) at position 2");
	CHECK_STATUS(cpk_hex_decode(" 1", 2, out, sizeof(out), &n, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "position 1");
	CHECK_STATUS(cpk_hex_decode("0011", 4, out, 1, &n, &err), CPK_ERR_RANGE);
	CHECK_MSG(&err, "hex string too long: 2 bytes, at most 1");

	CHECK_OK(cpk_hex_decode_exact("A0000001", out, 4, &err));
	CHECK_HEX(out, 4, "A0000001");
	CHECK_STATUS(cpk_hex_decode_exact("A00000", out, 4, &err), CPK_ERR_RANGE);
	CHECK_MSG(&err, "expected 4 bytes (8 hex digits), got 3");
	CHECK_STATUS(cpk_hex_decode_exact("A000000", out, 4, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "odd number of digits (7)");
	CHECK_STATUS(cpk_hex_decode_exact("A000000Z", out, 4, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "invalid hex digit 'Z' at position 8");

	CHECK_OK(cpk_hex_decode_buf("0102", &b, &err));
	CHECK_OK(cpk_hex_decode_buf("03", &b, &err));
	CHECK_HEX(b.data, b.len, "010203");
	CHECK_STATUS(cpk_hex_decode_buf("0x", &b, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "invalid hex digit 'x' at position 2");
	CHECK(b.len == 3);
	cpk_buf_free(&b);

	/* Encoding needs exactly 2n+1 bytes. */
	out[0] = 0xde;
	out[1] = 0xad;
	out[2] = 0x0f;
	out[3] = 0xe1;
	CHECK_OK(cpk_hex_encode(out, 4, txt, 9));
	CHECK_STR(txt, "DEAD0FE1");
	memset(txt, 'x', sizeof(txt));
	CHECK_STATUS(cpk_hex_encode(out, 4, txt, 8), CPK_ERR_RANGE);
	CHECK_STR(txt, "");
	memset(txt, 'x', sizeof(txt));
	CHECK_STATUS(cpk_hex_encode(out, 1, txt, 0), CPK_ERR_RANGE);
	CHECK(txt[0] == 'x');
	CHECK_OK(cpk_hex_encode(out, 0, txt, 1));
	CHECK_STR(txt, "");
}

/* --- buffers --- */

static void
test_buf(void)
{
	struct cpk_error err;
	struct cpk_buf b;
	size_t i;
	int ok;

	cpk_buf_init(&b);
	CHECK(b.data == NULL && b.len == 0 && b.cap == 0);

	/* Growth one byte at a time keeps every byte. */
	ok = 1;
	for (i = 0; i < 1000; i++)
		if (cpk_buf_append_byte(&b, (uint8_t)(i & 0xff), &err) != CPK_OK)
			ok = 0;
	CHECK(ok);
	CHECK(b.len == 1000 && b.cap >= 1000);
	ok = 1;
	for (i = 0; i < 1000; i++)
		if (b.data[i] != (uint8_t)(i & 0xff))
			ok = 0;
	CHECK(ok);
	CHECK_OK(cpk_buf_append(&b, NULL, 0, &err));
	CHECK(b.len == 1000);

	CHECK_OK(cpk_buf_set(&b, "\x01\x02", 2, &err));
	CHECK_OK(cpk_buf_append_u16be(&b, 0xA1B2, &err));
	CHECK_HEX(b.data, b.len, "0102A1B2");
	cpk_buf_truncate(&b, 1);
	CHECK_HEX(b.data, b.len, "0102A1");
	cpk_buf_truncate(&b, 10);
	CHECK(b.len == 0);
	CHECK_OK(cpk_buf_append(&b, "\xAA", 1, &err));
	cpk_buf_reset(&b);
	CHECK(b.len == 0 && b.data != NULL);

	/* Reserve refuses to go past CPK_BUF_MAX, including by overflow. */
	cpk_error_clear(&err);
	CHECK_STATUS(cpk_buf_reserve(&b, CPK_BUF_MAX + 1, &err), CPK_ERR_RANGE);
	CHECK_MSG(&err, "buffer would exceed 67108864 bytes");
	CHECK_OK(cpk_buf_append_byte(&b, 1, &err));
	cpk_error_clear(&err);
	CHECK_STATUS(cpk_buf_reserve(&b, CPK_BUF_MAX, &err), CPK_ERR_RANGE);
	CHECK_MSG(&err, "buffer would exceed");
	cpk_error_clear(&err);
	CHECK_STATUS(cpk_buf_reserve(&b, SIZE_MAX, &err), CPK_ERR_RANGE);
	CHECK_MSG(&err, "buffer would exceed");
	cpk_error_clear(&err);
	CHECK_STATUS(cpk_buf_append(&b, "x", SIZE_MAX, &err), CPK_ERR_RANGE);
	CHECK_MSG(&err, "buffer would exceed");
	CHECK(b.len == 1);

	cpk_buf_free(&b);
	CHECK(b.data == NULL && b.len == 0 && b.cap == 0);
	cpk_buf_free(&b);
	cpk_buf_free(NULL);

	/* A buffer of public bytes: released (no leak), empty and reusable after. */
	CHECK_OK(cpk_buf_append(&b, "bundle", 6, &err));
	cpk_buf_free_public(&b);
	CHECK(b.data == NULL && b.len == 0 && b.cap == 0);
	CHECK_OK(cpk_buf_append(&b, "again", 5, &err));
	CHECK_MEM(b.data, b.len, "again", 5);
	cpk_buf_free_public(&b);
	cpk_buf_free_public(&b);
	cpk_buf_free_public(NULL);
}

/* --- CRC-32 --- */

static void
test_crc32(void)
{
	static const char fox[] = "The quick brown fox jumps over the lazy dog";
	uint8_t b[1031];
	size_t i;

	/* CRC-32/ISO-HDLC (zip): its check value, and values zlib's crc32() gives. */
	CHECK(cpk_crc32(0, (const uint8_t *)"123456789", 9) == 0xcbf43926u);
	CHECK(cpk_crc32(0, NULL, 0) == 0);
	CHECK(cpk_crc32(0, (const uint8_t *)"a", 1) == 0xe8b7be43u);
	CHECK(cpk_crc32(0, (const uint8_t *)fox, sizeof(fox) - 1) == 0x414fa339u);
	for (i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)(i * 151u + 7u);
	CHECK(cpk_crc32(0, b, 500) == 0xe9b669f3u);
	CHECK(cpk_crc32(0, b, sizeof(b)) == 0x1ef28a52u);
	/* Continued over two parts: the CRC of the whole. */
	CHECK(cpk_crc32(cpk_crc32(0, b, 500), b + 500, sizeof(b) - 500) == 0x1ef28a52u);
}

/* --- cursors --- */

static void
test_cursor(void)
{
	static const uint8_t in[] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07 };
	struct cpk_cursor c;
	const uint8_t *p = NULL, *before;
	uint8_t v8 = 0, out[8];
	uint16_t v16 = 0;
	uint32_t v32 = 0;

	cpk_cursor_init(&c, in, sizeof(in));
	CHECK(cpk_cursor_left(&c) == 7);
	CHECK(cpk_cursor_u8(&c, &v8) && v8 == 0x01);
	CHECK(cpk_cursor_u16be(&c, &v16) && v16 == 0x0203);
	CHECK(cpk_cursor_left(&c) == 4);

	/* Reads past the end fail and consume nothing. */
	before = c.p;
	CHECK(!cpk_cursor_bytes(&c, 5, &p));
	CHECK(p == NULL);
	CHECK(!cpk_cursor_copy(&c, out, 5));
	CHECK(!cpk_cursor_skip(&c, 5));
	CHECK(!cpk_cursor_skip(&c, SIZE_MAX));
	CHECK(c.p == before && cpk_cursor_left(&c) == 4);

	CHECK(cpk_cursor_u32be(&c, &v32) && v32 == 0x04050607);
	CHECK(cpk_cursor_left(&c) == 0);
	v8 = 0xEE;
	v16 = 0xEEEE;
	v32 = 0xEEEEEEEE;
	CHECK(!cpk_cursor_u8(&c, &v8) && v8 == 0xEE);
	CHECK(!cpk_cursor_u16be(&c, &v16) && v16 == 0xEEEE);
	CHECK(!cpk_cursor_u32be(&c, &v32) && v32 == 0xEEEEEEEE);
	CHECK(cpk_cursor_bytes(&c, 0, &p));
	CHECK(cpk_cursor_left(&c) == 0);

	/* One byte short of a u16 or u32 consumes nothing either. */
	cpk_cursor_init(&c, in, 3);
	CHECK(!cpk_cursor_u32be(&c, &v32));
	CHECK(cpk_cursor_left(&c) == 3);
	cpk_cursor_init(&c, in, 1);
	CHECK(!cpk_cursor_u16be(&c, &v16));
	CHECK(cpk_cursor_left(&c) == 1);
	CHECK(cpk_cursor_copy(&c, out, 1) && out[0] == 0x01);

	cpk_cursor_init(&c, NULL, 10);
	CHECK(cpk_cursor_left(&c) == 0);
}

/* --- BER-TLV --- */

/* Parse one TLV from hex, expecting failure with a message. */
static void
tlv_bad(const char *hex, const char *needle)
{
	struct cpk_error err;
	struct cpk_cursor c;
	struct cpk_tlv t;
	uint8_t in[32];
	size_t n = test_unhex(hex, in, sizeof(in));

	cpk_error_clear(&err);
	cpk_cursor_init(&c, in, n);
	CHECK_STATUS(cpk_tlv_next(&c, &t, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, needle);
	CHECK(cpk_cursor_left(&c) == n && c.p == in);
}

/* Parse one TLV from hex, expecting the given tag, value and total. */
static void
tlv_good(const char *hex, uint32_t tag, size_t tag_len, const char *valhex, size_t total)
{
	struct cpk_error err;
	struct cpk_cursor c;
	struct cpk_tlv t;
	uint8_t in[64];
	size_t n = test_unhex(hex, in, sizeof(in));

	cpk_cursor_init(&c, in, n);
	CHECK_OK(cpk_tlv_next(&c, &t, &err));
	CHECK(t.tag == tag);
	CHECK(t.tag_len == tag_len);
	CHECK(t.total == total);
	CHECK_HEX(t.value, t.len, valhex);
	CHECK(cpk_cursor_left(&c) == n - total);
}

static void
test_tlv_parse(void)
{
	struct cpk_error err;
	struct cpk_cursor c;
	struct cpk_tlv t;
	uint8_t *big;

	/* Tags of 1, 2 and 3 bytes. */
	tlv_good("4F03A00000", 0x4F, 1, "A00000", 5);
	tlv_good("4F00", 0x4F, 1, "", 2);
	tlv_good("9F7F020102FF", 0x9F7F, 2, "0102", 5);
	tlv_good("5F810101AA", 0x5F8101, 3, "AA", 5);
	tlv_good("BF0C00", 0xBF0C, 2, "", 3);

	/* Length forms, including non-minimal ones (accepted). */
	tlv_good("4F8102AABB", 0x4F, 1, "AABB", 5);
	tlv_good("4F820002AABB", 0x4F, 1, "AABB", 6);
	tlv_good("4F83000002AABB", 0x4F, 1, "AABB", 7);
	tlv_good("4F8100", 0x4F, 1, "", 3);

	/* Large values in every long form. */
	big = xmalloc(5 + 65536);
	memset(big, 0x5A, 5 + 65536);
	big[0] = 0x4F;
	big[1] = 0x7F;
	cpk_cursor_init(&c, big, 2 + 0x7F);
	CHECK_OK(cpk_tlv_next(&c, &t, &err));
	CHECK(t.len == 0x7F && t.total == 2 + 0x7F && t.value == big + 2);
	big[1] = 0x81;
	big[2] = 0x80;
	cpk_cursor_init(&c, big, 3 + 0x80);
	CHECK_OK(cpk_tlv_next(&c, &t, &err));
	CHECK(t.len == 0x80 && t.total == 3 + 0x80 && t.value == big + 3);
	big[1] = 0x82;
	big[2] = 0x01;
	big[3] = 0x00;
	cpk_cursor_init(&c, big, 4 + 0x100);
	CHECK_OK(cpk_tlv_next(&c, &t, &err));
	CHECK(t.len == 0x100 && t.total == 4 + 0x100 && t.value == big + 4);
	big[1] = 0x83;
	big[2] = 0x01;
	big[3] = 0x00;
	big[4] = 0x00;
	cpk_cursor_init(&c, big, 5 + 0x10000);
	CHECK_OK(cpk_tlv_next(&c, &t, &err));
	CHECK(t.len == 0x10000 && t.total == 5 + 0x10000 && t.value == big + 5);
	CHECK(cpk_cursor_left(&c) == 0);
	/* The same, one value byte short. */
	cpk_error_clear(&err);
	cpk_cursor_init(&c, big, 5 + 0xFFFF);
	CHECK_STATUS(cpk_tlv_next(&c, &t, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "truncated value of tag 4F: length says 65536 bytes but 65535 follow");
	free(big);

	/* Truncated tags. */
	tlv_bad("", "truncated tag: no bytes left");
	tlv_bad("9F", "truncated tag: 9F needs another byte but the input ends");
	tlv_bad("5F81", "truncated tag: 5F81 needs another byte but the input ends");
	tlv_bad("1F81820300", "tag 1F8182... is longer than 3 bytes");

	/* Truncated or refused lengths. */
	tlv_bad("4F", "truncated length: tag 4F is not followed by a length");
	tlv_bad("9F7F", "truncated length: tag 9F7F is not followed by a length");
	tlv_bad("4F81", "truncated length after tag 4F: 81 announces 1 length byte but 0 follow");
	tlv_bad("4F8201", "82 announces 2 length bytes but 1 follows");
	tlv_bad("4F830100", "83 announces 3 length bytes but 2 follow");
	tlv_bad("4F80AABB0000", "indefinite length (80) after tag 4F is not allowed");
	tlv_bad("4F8400000001AA", "length form 84 after tag 4F is not supported");
	tlv_bad("4FFF", "length form FF after tag 4F is not supported");

	/* Truncated values. */
	tlv_bad("4F050102", "truncated value of tag 4F: length says 5 bytes but 2 follow");
	tlv_bad("9F7F8103AABB", "truncated value of tag 9F7F: length says 3 bytes but 2 follow");
	tlv_bad("5F810101", "truncated value of tag 5F8101: length says 1 byte but 0 follow");

	/* Two objects in a row. */
	{
		uint8_t in[16];
		size_t n = test_unhex("4F01AA9F7F00", in, sizeof(in));

		cpk_cursor_init(&c, in, n);
		CHECK_OK(cpk_tlv_next(&c, &t, &err));
		CHECK(t.tag == 0x4F);
		CHECK_OK(cpk_tlv_next(&c, &t, &err));
		CHECK(t.tag == 0x9F7F && t.len == 0);
		CHECK(cpk_cursor_left(&c) == 0);
	}

	/* Constructed bit. */
	CHECK(cpk_tlv_constructed(0x6F));
	CHECK(cpk_tlv_constructed(0xE3));
	CHECK(!cpk_tlv_constructed(0x4F));
	CHECK(cpk_tlv_constructed(0xBF0C));
	CHECK(cpk_tlv_constructed(0x7F49));
	CHECK(!cpk_tlv_constructed(0x9F7F));
	CHECK(cpk_tlv_constructed(0xFF8101));
	CHECK(!cpk_tlv_constructed(0x5F8101));
}

static void
test_tlv_find(void)
{
	struct cpk_error err;
	struct cpk_tlv t;
	uint8_t in[32];
	size_t n;

	n = test_unhex("4F01AA9F7F0201025F810100", in, sizeof(in));
	CHECK_OK(cpk_tlv_find(in, n, 0x9F7F, &t, &err));
	CHECK_HEX(t.value, t.len, "0102");
	CHECK(t.value == in + 6);
	CHECK_OK(cpk_tlv_find(in, n, 0x5F8101, &t, &err));
	CHECK(t.len == 0 && t.total == 4);
	CHECK_OK(cpk_tlv_find(in, n, 0x4F, &t, &err));
	CHECK_HEX(t.value, t.len, "AA");

	cpk_error_clear(&err);
	CHECK_STATUS(cpk_tlv_find(in, n, 0x84, &t, &err), CPK_ERR_NOT_FOUND);
	CHECK_MSG(&err, "BER-TLV: tag 84 not found");
	CHECK_STATUS(cpk_tlv_find(in, 0, 0x4F, &t, &err), CPK_ERR_NOT_FOUND);
	CHECK_MSG(&err, "tag 4F not found");
	CHECK_STATUS(cpk_tlv_find(NULL, 0, 0x4F, &t, &err), CPK_ERR_NOT_FOUND);

	/* A malformed object before the wanted one. */
	n = test_unhex("4F01AA840501", in, sizeof(in));
	cpk_error_clear(&err);
	CHECK_STATUS(cpk_tlv_find(in, n, 0x9F7F, &t, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "BER-TLV at offset 3: truncated value of tag 84: "
	    "length says 5 bytes but 1 follows");
	/* ... but one after the wanted object is not looked at. */
	CHECK_OK(cpk_tlv_find(in, n, 0x4F, &t, &err));

	cpk_error_clear(&err);
	CHECK_STATUS(cpk_tlv_find(NULL, 3, 0x4F, &t, &err), CPK_ERR_ARG);
	CHECK_MSG(&err, "BER-TLV: no input bytes (NULL)");
}

static void
test_tlv_validate(void)
{
	struct cpk_error err;
	uint8_t in[128];
	size_t n, i;

	CHECK_OK(cpk_tlv_validate(NULL, 0, 4, &err));
	n = test_unhex("4F01AA", in, sizeof(in));
	CHECK_OK(cpk_tlv_validate(in, n, 0, &err));

	/* GET STATUS-like response: E3 { 4F, 9F70, C5 }, then E3 {}. */
	n = test_unhex("E30C4F03A000009F700107C50100" "E300", in, sizeof(in));
	CHECK_OK(cpk_tlv_validate(in, n, 4, &err));

	/* Malformed inside a constructed object: depth decides. */
	n = test_unhex("4F00E3044F05AABB", in, sizeof(in));
	CHECK_OK(cpk_tlv_validate(in, n, 0, &err));
	cpk_error_clear(&err);
	CHECK_STATUS(cpk_tlv_validate(in, n, 1, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "BER-TLV at offset 4: truncated value of tag 4F: "
	    "length says 5 bytes but 2 follow");

	/* Two levels down, with long lengths: offsets stay absolute. */
	n = test_unhex("6F81057F49030101", in, sizeof(in));
	cpk_error_clear(&err);
	CHECK_STATUS(cpk_tlv_validate(in, n, 1, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "BER-TLV at offset 3: truncated value of tag 7F49");
	CHECK_OK(cpk_tlv_validate(in, n, 0, &err));
	n = test_unhex("6F81057F4902E180", in, sizeof(in));
	CHECK_OK(cpk_tlv_validate(in, n, 1, &err));
	cpk_error_clear(&err);
	CHECK_STATUS(cpk_tlv_validate(in, n, 2, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "BER-TLV at offset 6: indefinite length (80) after tag E1 is not allowed");

	/* Trailing garbage after well-formed objects. */
	n = test_unhex("4F01AA9F", in, sizeof(in));
	cpk_error_clear(&err);
	CHECK_STATUS(cpk_tlv_validate(in, n, 2, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "BER-TLV at offset 3: truncated tag: 9F needs another byte");
	n = test_unhex("4F01AABB", in, sizeof(in));
	cpk_error_clear(&err);
	CHECK_STATUS(cpk_tlv_validate(in, n, 2, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "BER-TLV at offset 3: truncated length: tag BB is not followed by a length");

	/* Nesting deeper than the hard cap is refused, not recursed into. */
	n = 0;
	in[n++] = 0xE0;
	in[n++] = 0x00;
	for (i = 0; i < 40; i++) {
		memmove(in + 2, in, n);
		in[0] = 0xE0;
		in[1] = (uint8_t)n;
		n += 2;
	}
	CHECK(n == 82);
	CHECK_OK(cpk_tlv_validate(in, n, 20, &err));
	CHECK_OK(cpk_tlv_validate(in, n, 32, &err));
	cpk_error_clear(&err);
	CHECK_STATUS(cpk_tlv_validate(in, n, 33, &err), CPK_ERR_RANGE);
	CHECK_MSG(&err, "BER-TLV at offset 64: objects nested deeper than 32 levels");
	/* The innermost level is broken: found only when looked at. */
	in[n - 1] = 0x01;
	CHECK_OK(cpk_tlv_validate(in, n, 32, &err));
	cpk_error_clear(&err);
	CHECK_STATUS(cpk_tlv_validate(in, n, UINT32_MAX, &err), CPK_ERR_RANGE);
	CHECK_MSG(&err, "BER-TLV at offset 64: objects nested deeper than 32 levels");

	cpk_error_clear(&err);
	CHECK_STATUS(cpk_tlv_validate(NULL, 1, 1, &err), CPK_ERR_ARG);
	CHECK_MSG(&err, "BER-TLV: no input bytes (NULL)");
}

static void
check_len_put(size_t len, const char *hex)
{
	struct cpk_error err;
	struct cpk_buf b = CPK_BUF_INIT;

	CHECK_OK(cpk_ber_len_put(&b, len, &err));
	CHECK_HEX(b.data, b.len, hex);
	CHECK(cpk_ber_len_size(len) == b.len);
	cpk_buf_free(&b);
}

static void
test_tlv_build(void)
{
	struct cpk_error err;
	struct cpk_buf b = CPK_BUF_INIT;
	struct cpk_cursor c;
	struct cpk_tlv t;
	uint8_t val[0x100];
	size_t i;

	CHECK(cpk_ber_len_size(0) == 1);
	CHECK(cpk_ber_len_size(0x7F) == 1);
	CHECK(cpk_ber_len_size(0x80) == 2);
	CHECK(cpk_ber_len_size(0xFF) == 2);
	CHECK(cpk_ber_len_size(0x100) == 3);
	CHECK(cpk_ber_len_size(0xFFFF) == 3);
	CHECK(cpk_ber_len_size(0x10000) == 4);
	CHECK(cpk_ber_len_size(0xFFFFFF) == 4);
	CHECK(cpk_ber_len_size(0x1000000) == 0);
	CHECK(cpk_ber_len_size(SIZE_MAX) == 0);

	/* Always the minimal form. */
	check_len_put(0, "00");
	check_len_put(0x7F, "7F");
	check_len_put(0x80, "8180");
	check_len_put(0xFF, "81FF");
	check_len_put(0x100, "820100");
	check_len_put(0xFFFF, "82FFFF");
	check_len_put(0x10000, "83010000");
	check_len_put(0xFFFFFF, "83FFFFFF");
	cpk_error_clear(&err);
	CHECK_STATUS(cpk_ber_len_put(&b, 0x1000000, &err), CPK_ERR_RANGE);
	CHECK_MSG(&err, "BER length 16777216 is too large (at most 16777215)");
	CHECK(b.len == 0);

	/* Tags. */
	CHECK_OK(cpk_tlv_put_tag(&b, 0x4F, &err));
	CHECK_OK(cpk_tlv_put_tag(&b, 0x9F7F, &err));
	CHECK_OK(cpk_tlv_put_tag(&b, 0x5F8101, &err));
	CHECK_OK(cpk_tlv_put_tag(&b, 0x00, &err));
	CHECK_HEX(b.data, b.len, "4F9F7F5F810100");
	cpk_buf_reset(&b);
	cpk_error_clear(&err);
	CHECK_STATUS(cpk_tlv_put_tag(&b, 0x01000000, &err), CPK_ERR_ARG);
	CHECK_MSG(&err, "tag 1000000 does not fit in 3 bytes");
	cpk_error_clear(&err);
	CHECK_STATUS(cpk_tlv_put_tag(&b, 0x9F, &err), CPK_ERR_ARG);
	CHECK_MSG(&err, "tag 9F is incomplete: its low 5 bits say more tag bytes follow");
	cpk_error_clear(&err);
	CHECK_STATUS(cpk_tlv_put_tag(&b, 0x4F01, &err), CPK_ERR_ARG);
	CHECK_MSG(&err, "tag 4F01 is not a valid 2-byte BER tag");
	cpk_error_clear(&err);
	CHECK_STATUS(cpk_tlv_put_tag(&b, 0x9F81, &err), CPK_ERR_ARG);
	CHECK_MSG(&err, "tag 9F81 is not a valid 2-byte BER tag");
	cpk_error_clear(&err);
	CHECK_STATUS(cpk_tlv_put_tag(&b, 0x5F0101, &err), CPK_ERR_ARG);
	CHECK_MSG(&err, "tag 5F0101 is not a valid 3-byte BER tag");
	cpk_error_clear(&err);
	CHECK_STATUS(cpk_tlv_put_tag(&b, 0x5F8181, &err), CPK_ERR_ARG);
	CHECK_MSG(&err, "tag 5F8181 is not a valid 3-byte BER tag");
	cpk_error_clear(&err);
	CHECK_STATUS(cpk_tlv_put_tag(&b, 0x4F8101, &err), CPK_ERR_ARG);
	CHECK_MSG(&err, "tag 4F8101 is not a valid 3-byte BER tag");
	CHECK(b.len == 0);

	/* Whole objects, parsed back. */
	for (i = 0; i < sizeof(val); i++)
		val[i] = (uint8_t)i;
	CHECK_OK(cpk_tlv_put(&b, 0x84, NULL, 0, &err));
	CHECK_OK(cpk_tlv_put(&b, 0x9F7F, val, 3, &err));
	CHECK_HEX(b.data, b.len, "84009F7F03000102");
	cpk_buf_reset(&b);
	CHECK_OK(cpk_tlv_put(&b, 0xC4, val, 0x80, &err));
	CHECK(b.len == 3 + 0x80);
	CHECK_HEX(b.data, 3, "C48180");
	CHECK_OK(cpk_tlv_put(&b, 0x5F8101, val, 0x100, &err));
	CHECK(b.len == 3 + 0x80 + 6 + 0x100);
	cpk_cursor_init(&c, b.data, b.len);
	CHECK_OK(cpk_tlv_next(&c, &t, &err));
	CHECK(t.tag == 0xC4);
	CHECK_MEM(t.value, t.len, val, 0x80);
	CHECK_OK(cpk_tlv_next(&c, &t, &err));
	CHECK(t.tag == 0x5F8101 && t.tag_len == 3 && t.total == 6 + 0x100);
	CHECK_MEM(t.value, t.len, val, 0x100);
	CHECK(cpk_cursor_left(&c) == 0);
	cpk_buf_reset(&b);

	/* Refusals leave the buffer unchanged. */
	cpk_error_clear(&err);
	CHECK_STATUS(cpk_tlv_put(&b, 0x4F, NULL, 2, &err), CPK_ERR_ARG);
	CHECK_MSG(&err, "BER-TLV: tag 4F has 2 value bytes but no data");
	cpk_error_clear(&err);
	CHECK_STATUS(cpk_tlv_put(&b, 0x1F, val, 2, &err), CPK_ERR_ARG);
	CHECK_MSG(&err, "tag 1F is incomplete");
	cpk_error_clear(&err);
	CHECK_STATUS(cpk_tlv_put(&b, 0x4F, val, 0x1000000, &err), CPK_ERR_RANGE);
	CHECK_MSG(&err, "BER length 16777216 is too large");
	CHECK(b.len == 0);
	cpk_buf_free(&b);

	/*
	 * A buffer already at its cap (never dereferenced: the refusal comes
	 * before any copy) shows appends fail cleanly.
	 */
	b.data = NULL;
	b.len = CPK_BUF_MAX;
	b.cap = 0;
	cpk_error_clear(&err);
	CHECK_STATUS(cpk_tlv_put(&b, 0x4F, val, 1, &err), CPK_ERR_RANGE);
	CHECK_MSG(&err, "buffer would exceed");
	cpk_error_clear(&err);
	CHECK_STATUS(cpk_tlv_put_tag(&b, 0x4F, &err), CPK_ERR_RANGE);
	CHECK_MSG(&err, "buffer would exceed");
	cpk_error_clear(&err);
	CHECK_STATUS(cpk_ber_len_put(&b, 1, &err), CPK_ERR_RANGE);
	CHECK_MSG(&err, "buffer would exceed");
	CHECK(b.len == CPK_BUF_MAX && b.data == NULL);
}

/* --- APDUs --- */

/* Parse, check the fields, build again and compare byte for byte. */
static void
apdu_roundtrip_bytes(const uint8_t *in, size_t n, int want_case, bool want_ext,
    size_t lc, size_t ne)
{
	struct cpk_error err;
	struct cpk_buf b = CPK_BUF_INIT;
	struct cpk_apdu a;

	cpk_error_clear(&err);
	if (!CHECK_OK(cpk_apdu_parse(in, n, &a, &err))) {
		fprintf(stderr, "  message: %s\n", err.msg);
		return;
	}
	CHECK(a.cla == in[0] && a.ins == in[1] && a.p1 == in[2] && a.p2 == in[3]);
	CHECK(cpk_apdu_case(&a) == want_case);
	CHECK(a.extended == want_ext);
	CHECK(a.lc == lc);
	CHECK(a.has_le == (ne > 0));
	CHECK(a.ne == ne);
	CHECK(lc > 0 ? a.data == in + (want_ext ? 7 : 5) : a.data == NULL);
	CHECK_OK(cpk_apdu_build(&a, &b, &err));
	CHECK_MEM(b.data, b.len, in, n);
	cpk_buf_free(&b);
}

static void
apdu_roundtrip(const char *hex, int want_case, bool want_ext, size_t lc, size_t ne)
{
	uint8_t in[64];
	size_t n = test_unhex(hex, in, sizeof(in));

	apdu_roundtrip_bytes(in, n, want_case, want_ext, lc, ne);
}

static void
apdu_bad(const char *hex, const char *needle)
{
	struct cpk_error err;
	struct cpk_apdu a, before;
	uint8_t in[64];
	size_t n = test_unhex(hex, in, sizeof(in));

	memset(&a, 0xA5, sizeof(a));
	memcpy(&before, &a, sizeof(a));
	cpk_error_clear(&err);
	CHECK_STATUS(cpk_apdu_parse(in, n, &a, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, needle);
	CHECK(memcmp(&a, &before, sizeof(a)) == 0);
}

static void
test_apdu_parse(void)
{
	uint8_t *big;
	size_t i;

	/* Short forms. */
	apdu_roundtrip("00A40400", 1, false, 0, 0);
	apdu_roundtrip("80CA9F7F00", 2, false, 0, 256);
	apdu_roundtrip("80CA006610", 2, false, 0, 16);
	apdu_roundtrip("80CA0066FF", 2, false, 0, 255);
	apdu_roundtrip("80E2000003AABBCC", 3, false, 3, 0);
	apdu_roundtrip("80E200000100", 3, false, 1, 0);
	apdu_roundtrip("00A4040008A00000015100000000", 4, false, 8, 256);
	apdu_roundtrip("00A4040001AA01", 4, false, 1, 1);
	/* A 5-byte APDU is always case 2S (ISO/IEC 7816-3 12.1.3). */
	apdu_roundtrip("00A4040007", 2, false, 0, 7);

	/* Extended forms. */
	apdu_roundtrip("80CA9F7F000100", 2, true, 0, 256);
	apdu_roundtrip("80CA9F7F000001", 2, true, 0, 1);
	apdu_roundtrip("80CA9F7F000000", 2, true, 0, 65536);
	apdu_roundtrip("80CA9F7F00FFFF", 2, true, 0, 65535);
	apdu_roundtrip("80E80000000003AABBCC", 3, true, 3, 0);
	apdu_roundtrip("80E80000000003AABBCC0000", 4, true, 3, 65536);
	apdu_roundtrip("80E80000000003AABBCC0102", 4, true, 3, 258);
	apdu_roundtrip("80E80000000003AABBCC0010", 4, true, 3, 16);

	/* Largest short and extended data fields. */
	big = xmalloc(CPK_APDU_MAX_LEN);
	for (i = 0; i < CPK_APDU_MAX_LEN; i++)
		big[i] = (uint8_t)(i * 7);
	big[4] = 0xFF;
	apdu_roundtrip_bytes(big, 5 + 255, 3, false, 255, 0);
	apdu_roundtrip_bytes(big, 5 + 255 + 1, 4, false, 255, big[260] == 0 ? 256 : big[260]);
	big[4] = 0x00;
	big[5] = 0xFF;
	big[6] = 0xFF;
	apdu_roundtrip_bytes(big, 7 + 65535, 3, true, 65535, 0);
	big[7 + 65535] = 0x00;
	big[8 + 65535] = 0x00;
	apdu_roundtrip_bytes(big, CPK_APDU_MAX_LEN, 4, true, 65535, 65536);
	big[5] = 0x01;
	big[6] = 0x00;
	apdu_roundtrip_bytes(big, 7 + 256, 3, true, 256, 0);
	free(big);

	/* Too short for a header. */
	apdu_bad("", "command APDU too short: got 0 of the 4 header bytes CLA INS P1 P2");
	apdu_bad("00A404", "command APDU too short: got 3 of the 4 header bytes");

	/* Short Lc inconsistent with what follows. */
	apdu_bad("00A4040002AA", "command APDU: Lc says 2 data bytes but 1 follows");
	apdu_bad("80E2000010AABBCCDDEEFF00112233",
	    "command APDU: Lc says 16 data bytes but 10 follow");
	apdu_bad("80E2000003AABBCC0000",
	    "command APDU: Lc says 3 data bytes but 5 follow (at most 4 fit: the data and a 1-byte Le)");
	apdu_bad("80E2000001AA0000",
	    "command APDU: Lc says 1 data byte but 3 follow (at most 2 fit");

	/* Byte 5 = 00 with more bytes: the extended marker. */
	apdu_bad("00A4040000AA",
	    "command APDU: byte 5 is 00 (extended length) but only 1 of the 2 length bytes follows");
	apdu_bad("00A40400000000AA",
	    "command APDU: extended Lc is 0000, but an extended Lc must be "
	    "0001-FFFF when bytes follow it");
	apdu_bad("00A4040000000000",
	    "command APDU: extended Lc is 0000");
	apdu_bad("00A404000000100102",
	    "command APDU: extended Lc says 16 data bytes but 2 follow");
	apdu_bad("00A40400000002AABB01",
	    "command APDU: extended Le after 2 data bytes needs 2 bytes but 1 follows");
	apdu_bad("00A40400000002AABB000000",
	    "command APDU: extended Lc says 2 data bytes but 5 follow "
	    "(at most 4 fit: the data and a 2-byte Le)");
}

static void
apdu_build_hex(const struct cpk_apdu *a, const char *hex)
{
	struct cpk_error err;
	struct cpk_buf b = CPK_BUF_INIT;

	cpk_error_clear(&err);
	CHECK_OK(cpk_apdu_build(a, &b, &err));
	CHECK_HEX(b.data, b.len, hex);
	cpk_buf_free(&b);
}

static void
test_apdu_build(void)
{
	static const uint8_t data[3] = { 0xAA, 0xBB, 0xCC };
	struct cpk_error err;
	struct cpk_buf b = CPK_BUF_INIT;
	struct cpk_apdu a;
	uint8_t *big;

	memset(&a, 0, sizeof(a));
	a.cla = 0x80;
	a.ins = 0xCA;
	a.p1 = 0x9F;
	a.p2 = 0x7F;
	CHECK(cpk_apdu_case(&a) == 1);
	apdu_build_hex(&a, "80CA9F7F");
	a.extended = true;		/* case 1 has no length fields */
	apdu_build_hex(&a, "80CA9F7F");
	a.extended = false;

	a.has_le = true;
	a.ne = 256;
	CHECK(cpk_apdu_case(&a) == 2);
	apdu_build_hex(&a, "80CA9F7F00");
	a.ne = 257;			/* too much for short: extended */
	apdu_build_hex(&a, "80CA9F7F000101");
	a.ne = 65536;
	apdu_build_hex(&a, "80CA9F7F000000");
	a.ne = 1;
	a.extended = true;
	apdu_build_hex(&a, "80CA9F7F000001");
	a.extended = false;

	a.has_le = false;
	a.ne = 999;			/* ignored without has_le */
	a.data = data;
	a.lc = 3;
	CHECK(cpk_apdu_case(&a) == 3);
	apdu_build_hex(&a, "80CA9F7F03AABBCC");
	a.extended = true;
	apdu_build_hex(&a, "80CA9F7F000003AABBCC");
	a.extended = false;

	a.has_le = true;
	a.ne = 256;
	CHECK(cpk_apdu_case(&a) == 4);
	apdu_build_hex(&a, "80CA9F7F03AABBCC00");
	a.ne = 0x1234;
	apdu_build_hex(&a, "80CA9F7F000003AABBCC1234");

	/* Lc above 255 forces the extended form. */
	big = xmalloc(65536);
	memset(big, 0x11, 65536);
	a.data = big;
	a.lc = 256;
	a.has_le = false;
	CHECK_OK(cpk_apdu_build(&a, &b, &err));
	CHECK(b.len == 7 + 256);
	CHECK_HEX(b.data, 7, "80CA9F7F000100");
	cpk_buf_reset(&b);
	a.lc = 65535;
	a.has_le = true;
	a.ne = 65536;
	CHECK_OK(cpk_apdu_build(&a, &b, &err));
	CHECK(b.len == CPK_APDU_MAX_LEN);
	CHECK_HEX(b.data + b.len - 2, 2, "0000");
	cpk_buf_reset(&b);

	/* Refusals leave the buffer unchanged. */
	CHECK_OK(cpk_buf_append_byte(&b, 0x42, &err));
	a.lc = 65536;
	cpk_error_clear(&err);
	CHECK_STATUS(cpk_apdu_build(&a, &b, &err), CPK_ERR_RANGE);
	CHECK_MSG(&err, "command APDU: Lc 65536 is larger than 65535");
	a.lc = 3;
	a.data = NULL;
	cpk_error_clear(&err);
	CHECK_STATUS(cpk_apdu_build(&a, &b, &err), CPK_ERR_ARG);
	CHECK_MSG(&err, "command APDU: Lc is 3 but there is no data");
	a.data = data;
	a.ne = 0;
	cpk_error_clear(&err);
	CHECK_STATUS(cpk_apdu_build(&a, &b, &err), CPK_ERR_ARG);
	CHECK_MSG(&err, "command APDU: Le present but expected length is 0 (use 1-65536)");
	a.ne = 65537;
	cpk_error_clear(&err);
	CHECK_STATUS(cpk_apdu_build(&a, &b, &err), CPK_ERR_RANGE);
	CHECK_MSG(&err, "command APDU: expected length 65537 is larger than 65536");
	CHECK_HEX(b.data, b.len, "42");
	cpk_buf_free(&b);
	free(big);

	/* A buffer already at its cap (never dereferenced). */
	b.data = NULL;
	b.len = CPK_BUF_MAX;
	b.cap = 0;
	a.ne = 1;
	cpk_error_clear(&err);
	CHECK_STATUS(cpk_apdu_build(&a, &b, &err), CPK_ERR_RANGE);
	CHECK_MSG(&err, "buffer would exceed");
	CHECK(b.len == CPK_BUF_MAX && b.data == NULL);
}

static void
test_apdu_misc(void)
{
	struct cpk_error err;
	struct cpk_apdu a;

	/* Parse accepts the 2E Le 00AA form and NULL only when empty. */
	apdu_roundtrip("00A404000000AA", 2, true, 0, 0xAA);
	cpk_error_clear(&err);
	CHECK_STATUS(cpk_apdu_parse(NULL, 5, &a, &err), CPK_ERR_ARG);
	CHECK_MSG(&err, "command APDU: no input bytes (NULL)");
	cpk_error_clear(&err);
	CHECK_STATUS(cpk_apdu_parse(NULL, 0, &a, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "got 0 of the 4 header bytes");
}

static void
test_rapdu(void)
{
	struct cpk_error err;
	struct cpk_rapdu r;
	uint8_t in[8];
	size_t n;

	n = test_unhex("9000", in, sizeof(in));
	CHECK_OK(cpk_rapdu_parse(in, n, &r, &err));
	CHECK(r.sw == 0x9000 && r.len == 0 && r.data == NULL);
	n = test_unhex("AABBCC6A82", in, sizeof(in));
	CHECK_OK(cpk_rapdu_parse(in, n, &r, &err));
	CHECK(r.sw == 0x6A82 && r.data == in);
	CHECK_HEX(r.data, r.len, "AABBCC");

	cpk_error_clear(&err);
	CHECK_STATUS(cpk_rapdu_parse(in, 1, &r, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "response APDU too short: got 1 of the 2 status word bytes SW1 SW2");
	cpk_error_clear(&err);
	CHECK_STATUS(cpk_rapdu_parse(NULL, 0, &r, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "got 0 of the 2 status word bytes");
	cpk_error_clear(&err);
	CHECK_STATUS(cpk_rapdu_parse(NULL, 2, &r, &err), CPK_ERR_ARG);
	CHECK_MSG(&err, "response APDU: no input bytes (NULL)");
}

/* --- status words --- */

static void
check_sw(uint16_t sw, const char *needle, const char *file, int line)
{
	char out[160];

	test_checks++;
	cpk_sw_describe(sw, out, sizeof(out));
	if (strstr(out, needle) == NULL) {
		test_failures++;
		fprintf(stderr, "%s:%d: %04X described as \"%s\", expected \"%s\"\n", file,
		    line, (unsigned)sw, out, needle);
	}
}
#define CHECK_SW(sw, needle) check_sw((sw), (needle), __FILE__, __LINE__)

static void
test_sw(void)
{
	char out[160];
	const char *r;

	CHECK_SW(0x9000, "success");
	CHECK_SW(0x6110, "more data available: 16 bytes");
	CHECK_SW(0x6101, "more data available: 1 byte (");
	CHECK_SW(0x6100, "more data available: 256 or more bytes");
	CHECK_SW(0x6C10, "wrong Le: card expects 16 bytes (resend with Le=10)");
	CHECK_SW(0x6C00, "wrong Le: card expects 256 bytes (resend with Le=00)");
	CHECK_SW(0x6200, "no information given");
	CHECK_SW(0x6281, "part of the returned data may be corrupted");
	CHECK_SW(0x6282, "end of file or record reached");
	CHECK_SW(0x6283, "invalidated");
	CHECK_SW(0x6300, "host cryptogram wrong");
	CHECK_SW(0x6310, "more data available");
	CHECK_SW(0x63C2, "verification failed, 2 tries left");
	CHECK_SW(0x63C1, "verification failed, 1 try left");
	CHECK_SW(0x63C0, "verification failed, no tries left");
	CHECK_SW(0x63CF, "verification failed, 15 tries left");
	CHECK_SW(0x6400, "execution error, card memory unchanged");
	CHECK_SW(0x6500, "execution error, card memory changed");
	CHECK_SW(0x6581, "memory failure");
	CHECK_SW(0x6700, "wrong length");
	CHECK_SW(0x6881, "logical channel not supported");
	CHECK_SW(0x6882, "secure messaging not supported");
	CHECK_SW(0x6883, "last command of the chain expected");
	CHECK_SW(0x6884, "command chaining not supported");
	CHECK_SW(0x6982, "security status not satisfied (secure channel missing or MAC wrong)");
	CHECK_SW(0x6983, "authentication method blocked");
	CHECK_SW(0x6984, "referenced data invalidated");
	CHECK_SW(0x6985, "conditions of use not satisfied");
	CHECK_SW(0x6986, "command not allowed");
	CHECK_SW(0x6999, "applet selection failed");
	CHECK_SW(0x6A80, "incorrect values in the command data");
	CHECK_SW(0x6A81, "function not supported");
	CHECK_SW(0x6A82, "application or file not found");
	CHECK_SW(0x6A84, "not enough memory space on the card");
	CHECK_SW(0x6A86, "incorrect P1 P2");
	CHECK_SW(0x6A88, "referenced data not found");
	CHECK_SW(0x6B00, "wrong P1 P2");
	CHECK_SW(0x6D00, "instruction not supported");
	CHECK_SW(0x6E00, "class not supported");
	CHECK_SW(0x6F00, "no precise diagnosis");

	/* Unlisted words: the family, or plainly unknown. */
	CHECK_SW(0x6A99, "wrong parameters (status word 6A99)");
	CHECK_SW(0x69FF, "command not allowed (status word 69FF)");
	CHECK_SW(0x6285, "warning, card state unchanged (status word 6285)");
	CHECK_SW(0x6311, "warning, card state changed (status word 6311)");
	CHECK_SW(0x6701, "wrong length (status word 6701)");
	CHECK_SW(0x6F12, "no precise diagnosis (status word 6F12)");
	CHECK_SW(0x1234, "unknown status word 1234");
	CHECK_SW(0x9001, "unknown status word 9001");
	CHECK_SW(0x0000, "unknown status word 0000");
	CHECK_SW(0xFFFF, "unknown status word FFFF");

	/* Truncation: always NUL-terminated; outcap 0 writes nothing. */
	r = cpk_sw_describe(0x9000, out, 4);
	CHECK(r == out);
	CHECK_STR(out, "suc");
	cpk_sw_describe(0x63C2, out, 13);
	CHECK_STR(out, "verification");
	cpk_sw_describe(0x6A99, out, 1);
	CHECK_STR(out, "");
	memset(out, 'x', sizeof(out));
	r = cpk_sw_describe(0x1234, out, 0);
	CHECK(r == out && out[0] == 'x');
	CHECK(cpk_sw_describe(0x9000, NULL, 0) == NULL);

	CHECK(cpk_sw_is_success(0x9000));
	CHECK(cpk_sw_is_success(0x6100));
	CHECK(cpk_sw_is_success(0x61FF));
	CHECK(!cpk_sw_is_success(0x9001));
	CHECK(!cpk_sw_is_success(0x6283));
	CHECK(cpk_sw_is_warning(0x6283));
	CHECK(cpk_sw_is_warning(0x63C2));
	CHECK(!cpk_sw_is_warning(0x9000));
	CHECK(!cpk_sw_is_warning(0x6A82));
	CHECK(!cpk_sw_is_warning(0x6400));
}

/* UTF-8: the one validator every reader and writer of text uses. */
static void
test_utf8(void)
{
	static const struct {
		const char *s;
		size_t len;		/* expected cpk_utf8_char length, 0 = bad */
		uint32_t cp;
	} cases[] = {
		{ "A", 1, 0x41 },
		{ "\x7f", 1, 0x7F },
		{ "\xc2\xa9", 2, 0xA9 },
		{ "\xdf\xbf", 2, 0x7FF },
		{ "\xe0\xa0\x80", 3, 0x800 },
		{ "\xed\x9f\xbf", 3, 0xD7FF },
		{ "\xee\x80\x80", 3, 0xE000 },
		{ "\xf0\x90\x80\x80", 4, 0x10000 },
		{ "\xf4\x8f\xbf\xbf", 4, 0x10FFFF },
		{ "\xc0\xaf", 0, 0 },		/* overlong '/' */
		{ "\xc1\xbf", 0, 0 },		/* overlong */
		{ "\xe0\x80\xaf", 0, 0 },	/* overlong, 3 bytes */
		{ "\xf0\x80\x80\xaf", 0, 0 },	/* overlong, 4 bytes */
		{ "\xed\xa0\x80", 0, 0 },	/* high surrogate */
		{ "\xed\xbf\xbf", 0, 0 },	/* low surrogate */
		{ "\xf4\x90\x80\x80", 0, 0 },	/* above U+10FFFF */
		{ "\xf5\x80\x80\x80", 0, 0 },
		{ "\xff", 0, 0 },
		{ "\x80", 0, 0 },		/* lone continuation */
		{ "\xc3", 0, 0 },		/* cut off */
		{ "\xe2\x82", 0, 0 },		/* cut off */
		{ "\xe2\x28\xa1", 0, 0 },	/* bad continuation */
	};
	uint32_t cp;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cp = 0;
		CHECK(cpk_utf8_char((const uint8_t *)cases[i].s, strlen(cases[i].s), &cp) ==
		    cases[i].len);
		if (cases[i].len > 0)
			CHECK(cp == cases[i].cp);
	}
	/* The length given bounds the sequence: a 2-byte character in 1 byte is cut off. */
	CHECK(cpk_utf8_char((const uint8_t *)"\xc2\xa9", 1, NULL) == 0);
	CHECK(cpk_utf8_cut("abc", 5) == 3);
	CHECK(cpk_utf8_cut("ab\xc3\xa9", 3) == 2);
	CHECK(cpk_utf8_cut("ab\xc3\xa9", 4) == 4);
	CHECK(cpk_label_bad_offset("LOAD 1/2 \xc3\xa9", 11) == 11);
	CHECK(cpk_label_bad_offset("a\xed\xa0\x80", 4) == 1);
	CHECK(cpk_label_bad_offset("a\xc2\x9f", 3) == 1);	/* C1 */
	CHECK(cpk_label_bad_offset("a\xc2\xa0", 3) == 3);	/* NBSP is text */
}

/* JSON string text: every escape, bad bytes, and a cut between characters. */
static void
test_json_escape(void)
{
	static const char in[] = "q\"b\\n\nt\tc\x01" "d\x7f" "e\xff" "f\xc3\xa9/";
	char out[128];
	size_t n;

	n = cpk_json_escape(in, sizeof(in) - 1, out, sizeof(out));
	CHECK_STR(out, "q\\\"b\\\\n\\nt\\tc\\u0001d\\u007fe\\ufffdf\xc3\xa9/");
	CHECK(n == strlen(out));
	/* Nothing is cut in half: not an escape, not a character. */
	CHECK(cpk_json_escape("ab\"", 3, out, 4) == 2);
	CHECK_STR(out, "ab");
	CHECK(cpk_json_escape("a\xc3\xa9", 3, out, 3) == 1);
	CHECK_STR(out, "a");
	CHECK(cpk_json_escape("\x01", 1, out, 6) == 0);
	CHECK_STR(out, "");
	CHECK(cpk_json_escape("\x01", 1, out, 7) == 6);
	/* A NUL in the middle is a control character, not the end. */
	CHECK(cpk_json_escape("a\0b", 3, out, sizeof(out)) == 8);
	CHECK_STR(out, "a\\u0000b");
}

int
main(void)
{
	test_error();
	test_utf8();
	test_json_escape();
	test_hex();
	test_buf();
	test_crc32();
	test_cursor();
	test_tlv_parse();
	test_tlv_find();
	test_tlv_validate();
	test_tlv_build();
	test_apdu_parse();
	test_apdu_build();
	test_apdu_misc();
	test_rapdu();
	test_sw();
	return test_summary("common");
}
