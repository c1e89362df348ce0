/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: what a card says about extended-length APDUs (cardload identify):
 * the card capabilities in its ATR's historical bytes (ISO/IEC 7816-4
 * 8.1.1.2.7: compact-TLV tag 7, third software function byte, bit 40
 * "extended Lc and Le fields") and the extended length information of
 * GET DATA 7F66 (ISO/IEC 7816-4 12.7.1: INTEGER 02 largest command APDU,
 * 02 largest response APDU, in bytes). Both are untrusted card bytes, read
 * through bounds-checked cursors (fuzz target fuzz_identify).
 */
#include "identify.h"

#include "cpk_tlv.h"

#define ATR_TS_DIRECT 0x3B
#define ATR_TS_INVERSE 0x3F
#define CAPS_TAG 0x7
#define CAPS_EXTENDED 0x40

/* Skip the interface bytes; *tck says whether a check byte ends the ATR. */
static cpk_status
skip_interface(struct cpk_cursor *c, uint8_t t0, bool *tck, struct cpk_error *err)
{
	uint8_t y = (uint8_t)(t0 >> 4), td;
	unsigned i;

	*tck = false;
	for (i = 1; y != 0; i++) {
		if (!cpk_cursor_skip(c, (size_t)((y & 1) + ((y >> 1) & 1) + ((y >> 2) & 1))))
			return cpk_error_set(err, CPK_ERR_PARSE, "ATR ends in its interface bytes");
		if ((y & 0x8) == 0)
			break;
		if (!cpk_cursor_u8(c, &td))
			return cpk_error_set(err, CPK_ERR_PARSE, "ATR ends before TD%u", i);
		/* Any protocol other than T=0 makes TCK present. */
		if ((td & 0x0F) != 0)
			*tck = true;
		y = (uint8_t)(td >> 4);
	}
	return CPK_OK;
}

/* Compact-TLV objects of the historical bytes: the card capabilities. */
static cpk_status
read_compact_tlv(const uint8_t *p, size_t n, bool *caps, bool *ext, struct cpk_error *err)
{
	struct cpk_cursor c;
	const uint8_t *v;
	uint8_t tl;

	cpk_cursor_init(&c, p, n);
	while (cpk_cursor_left(&c) > 0) {
		(void)cpk_cursor_u8(&c, &tl);
		if (!cpk_cursor_bytes(&c, tl & 0x0F, &v))
			return cpk_error_set(err, CPK_ERR_PARSE, "ATR historical bytes: object %02X "
			    "says %u bytes but %zu follow", tl, tl & 0x0F, cpk_cursor_left(&c));
		if ((tl >> 4) != CAPS_TAG)
			continue;
		*caps = true;
		*ext = (tl & 0x0F) >= 3 && (v[2] & CAPS_EXTENDED) != 0;
	}
	return CPK_OK;
}

cpk_status
cpk_identify_parse_atr(const uint8_t *atr, size_t n, struct cpk_card_info *ci,
    struct cpk_error *err)
{
	struct cpk_cursor c;
	const uint8_t *hist;
	uint8_t ts, t0;
	size_t k;
	bool tck, caps = false, ext = false;
	cpk_status st = CPK_OK;

	cpk_cursor_init(&c, atr, n);
	if (!cpk_cursor_u8(&c, &ts) || !cpk_cursor_u8(&c, &t0))
		return cpk_error_set(err, CPK_ERR_PARSE, "ATR of %zu bytes", n);
	if (ts != ATR_TS_DIRECT && ts != ATR_TS_INVERSE)
		return cpk_error_set(err, CPK_ERR_PARSE, "ATR starts with %02X, not 3B or 3F", ts);
	if ((st = skip_interface(&c, t0, &tck, err)) != CPK_OK)
		return st;
	k = t0 & 0x0F;
	if (!cpk_cursor_bytes(&c, k, &hist))
		return cpk_error_set(err, CPK_ERR_PARSE, "ATR announces %zu historical bytes but "
		    "%zu follow", k, cpk_cursor_left(&c));
	if (cpk_cursor_left(&c) != (tck ? 1u : 0u))
		return cpk_error_set(err, CPK_ERR_PARSE, "ATR has %zu bytes after its historical "
		    "bytes; expected %s", cpk_cursor_left(&c), tck ? "the check byte" : "none");
	/* Category 80: compact-TLV objects; 00: the same, then a 3-byte status indicator. */
	if (k > 0 && hist[0] == 0x80)
		st = read_compact_tlv(hist + 1, k - 1, &caps, &ext, err);
	else if (k > 0 && hist[0] == 0x00 && k < 4)
		st = cpk_error_set(err, CPK_ERR_PARSE, "ATR historical bytes of category 00 "
		    "without their status indicator");
	else if (k > 0 && hist[0] == 0x00)
		st = read_compact_tlv(hist + 1, k - 4, &caps, &ext, err);
	if (st == CPK_OK) {
		ci->has_caps = caps;
		ci->ext_length = ext;
	}
	return st;
}

/* One INTEGER (02) of 1 to 3 bytes, from 1. */
static cpk_status
read_int(struct cpk_cursor *c, const char *what, size_t *out, struct cpk_error *err)
{
	struct cpk_tlv t;
	size_t i, v = 0;

	if (cpk_tlv_next(c, &t, err) != CPK_OK)
		return CPK_ERR_PARSE;
	if (t.tag != 0x02 || t.len < 1 || t.len > 3)
		return cpk_error_set(err, CPK_ERR_PARSE, "extended length information: the %s "
		    "must be an INTEGER (02) of 1 to 3 bytes", what);
	for (i = 0; i < t.len; i++)
		v = (v << 8) | t.value[i];
	if (v == 0)
		return cpk_error_set(err, CPK_ERR_PARSE, "extended length information: the %s "
		    "is 0", what);
	*out = v;
	return CPK_OK;
}

cpk_status
cpk_identify_parse_ext_info(const uint8_t *p, size_t n, struct cpk_card_info *ci,
    struct cpk_error *err)
{
	struct cpk_cursor outer, c;
	struct cpk_tlv t;
	size_t cmd, resp;

	cpk_cursor_init(&outer, p, n);
	if (cpk_tlv_next(&outer, &t, err) != CPK_OK)
		return CPK_ERR_PARSE;
	if (t.tag != 0x7F66 || cpk_cursor_left(&outer) != 0)
		return cpk_error_set(err, CPK_ERR_PARSE, "the answer is not one 7F66 object");
	/* A third INTEGER (enveloped data) may follow; it is not used. */
	cpk_cursor_init(&c, t.value, t.len);
	if (read_int(&c, "largest command", &cmd, err) != CPK_OK ||
	    read_int(&c, "largest response", &resp, err) != CPK_OK)
		return CPK_ERR_PARSE;
	ci->max_command = cmd;
	ci->max_response = resp;
	ci->has_ext_info = true;
	return CPK_OK;
}
