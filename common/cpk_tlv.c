/* SPDX-License-Identifier: BSD-2-Clause */
/* cpk: BER-TLV parsing and building. */
#include "cpk_tlv.h"

#include <inttypes.h>
#include <string.h>

/*
 * cpk_tlv_validate never recurses deeper than this, whatever depth the
 * caller asks for, so that hostile input cannot exhaust the stack.
 */
#define TLV_NEST_MAX 32

/* "1 byte but 1 follows", "2 bytes but 0 follow". */
static const char *
bytes_word(size_t n)
{
	return n == 1 ? "byte" : "bytes";
}

static const char *
follow_word(size_t n)
{
	return n == 1 ? "follows" : "follow";
}

/* The first (most significant) byte of a tag value of 1..3 bytes. */
static uint8_t
tag_first_byte(uint32_t tag)
{
	if (tag > 0xffff)
		return (uint8_t)(tag >> 16);
	if (tag > 0xff)
		return (uint8_t)(tag >> 8);
	return (uint8_t)tag;
}

bool
cpk_tlv_constructed(uint32_t tag)
{
	return (tag_first_byte(tag) & 0x20) != 0;
}

/*
 * Number of bytes of a tag value, after checking that its bytes form a
 * BER tag that reads back as the same value.
 */
static cpk_status
tag_size(uint32_t tag, size_t *n, struct cpk_error *err)
{
	uint8_t b0, b1, b2;
	cpk_status st;

	*n = 0;
	b0 = (uint8_t)(tag >> 16);
	b1 = (uint8_t)(tag >> 8);
	b2 = (uint8_t)tag;
	if (tag > 0xffffff) {
		st = cpk_error_set(err, CPK_ERR_ARG,
		    "tag %" PRIX32 " does not fit in 3 bytes", tag);
		goto out;
	}
	if (tag <= 0xff) {
		if ((b2 & 0x1f) == 0x1f) {
			st = cpk_error_set(err, CPK_ERR_ARG,
			    "tag %02" PRIX32 " is incomplete: its low 5 bits say "
			    "more tag bytes follow", tag);
			goto out;
		}
		*n = 1;
	} else if (tag <= 0xffff) {
		if ((b1 & 0x1f) != 0x1f || (b2 & 0x80) != 0) {
			st = cpk_error_set(err, CPK_ERR_ARG,
			    "tag %04" PRIX32 " is not a valid 2-byte BER tag", tag);
			goto out;
		}
		*n = 2;
	} else {
		if ((b0 & 0x1f) != 0x1f || (b1 & 0x80) == 0 || (b2 & 0x80) != 0) {
			st = cpk_error_set(err, CPK_ERR_ARG,
			    "tag %06" PRIX32 " is not a valid 3-byte BER tag", tag);
			goto out;
		}
		*n = 3;
	}
	st = CPK_OK;
out:
	return st;
}

static cpk_status
read_tag(struct cpk_cursor *c, struct cpk_tlv *out, struct cpk_error *err)
{
	uint8_t b;
	uint32_t tag;
	size_t n;
	cpk_status st;

	if (!cpk_cursor_u8(c, &b)) {
		st = cpk_error_set(err, CPK_ERR_PARSE, "truncated tag: no bytes left");
		goto out;
	}
	tag = b;
	n = 1;
	/* Low 5 bits all set: more bytes follow while bit 8 is set. */
	if ((b & 0x1f) == 0x1f) {
		do {
			if (n == 3) {
				st = cpk_error_set(err, CPK_ERR_PARSE,
				    "tag %06" PRIX32 "... is longer than 3 bytes", tag);
				goto out;
			}
			if (!cpk_cursor_u8(c, &b)) {
				st = cpk_error_set(err, CPK_ERR_PARSE,
				    "truncated tag: %0*" PRIX32 " needs another byte "
				    "but the input ends", (int)(2 * n), tag);
				goto out;
			}
			tag = (tag << 8) | b;
			n++;
		} while ((b & 0x80) != 0);
	}
	out->tag = tag;
	out->tag_len = n;
	st = CPK_OK;
out:
	return st;
}

static cpk_status
read_len(struct cpk_cursor *c, struct cpk_tlv *out, size_t *len_bytes,
    struct cpk_error *err)
{
	const uint8_t *lp;
	uint8_t b;
	size_t i, n, len;
	cpk_status st = CPK_ERR_PARSE;

	if (!cpk_cursor_u8(c, &b)) {
		st = cpk_error_set(err, CPK_ERR_PARSE,
		    "truncated length: tag %02" PRIX32 " is not followed by a length",
		    out->tag);
		goto out;
	}
	if (b < 0x80) {
		out->len = b;
		*len_bytes = 1;
		st = CPK_OK;
		goto out;
	}
	if (b == 0x80) {
		st = cpk_error_set(err, CPK_ERR_PARSE,
		    "indefinite length (80) after tag %02" PRIX32 " is not allowed",
		    out->tag);
		goto out;
	}
	n = b & 0x7fu;
	if (n > 3) {
		st = cpk_error_set(err, CPK_ERR_PARSE,
		    "length form %02X after tag %02" PRIX32 " is not supported "
		    "(at most 3 length bytes, 83 xxxxxx)", b, out->tag);
		goto out;
	}
	if (!cpk_cursor_bytes(c, n, &lp)) {
		st = cpk_error_set(err, CPK_ERR_PARSE,
		    "truncated length after tag %02" PRIX32 ": %02X announces %zu "
		    "length %s but %zu %s", out->tag, b, n, bytes_word(n),
		    cpk_cursor_left(c), follow_word(cpk_cursor_left(c)));
		goto out;
	}
	/* Non-minimal encodings (81 05) are accepted: cards send them. */
	len = 0;
	for (i = 0; i < n; i++)
		len = (len << 8) | lp[i];
	out->len = len;
	*len_bytes = 1 + n;
	st = CPK_OK;
out:
	return st;
}

cpk_status
cpk_tlv_next(struct cpk_cursor *c, struct cpk_tlv *out, struct cpk_error *err)
{
	struct cpk_cursor tmp = *c;
	struct cpk_tlv t;
	size_t len_bytes = 0;
	cpk_status st;

	memset(&t, 0, sizeof(t));
	if ((st = read_tag(&tmp, &t, err)) != CPK_OK)
		goto out;
	if ((st = read_len(&tmp, &t, &len_bytes, err)) != CPK_OK)
		goto out;
	if (!cpk_cursor_bytes(&tmp, t.len, &t.value)) {
		st = cpk_error_set(err, CPK_ERR_PARSE,
		    "truncated value of tag %02" PRIX32 ": length says %zu %s "
		    "but %zu %s", t.tag, t.len, bytes_word(t.len),
		    cpk_cursor_left(&tmp), follow_word(cpk_cursor_left(&tmp)));
		goto out;
	}
	t.total = t.tag_len + len_bytes + t.len;
	*out = t;
	*c = tmp;
	st = CPK_OK;
out:
	return st;
}

cpk_status
cpk_tlv_find(const uint8_t *p, size_t n, uint32_t tag, struct cpk_tlv *out,
    struct cpk_error *err)
{
	struct cpk_cursor c;
	struct cpk_tlv t;
	size_t off;
	cpk_status st;

	if (p == NULL && n > 0) {
		st = cpk_error_set(err, CPK_ERR_ARG, "BER-TLV: no input bytes (NULL)");
		goto out;
	}
	cpk_cursor_init(&c, p, n);
	while (cpk_cursor_left(&c) > 0) {
		off = n - cpk_cursor_left(&c);
		if ((st = cpk_tlv_next(&c, &t, err)) != CPK_OK) {
			cpk_error_prefix(err, "BER-TLV at offset %zu", off);
			goto out;
		}
		if (t.tag == tag) {
			*out = t;
			st = CPK_OK;
			goto out;
		}
	}
	st = cpk_error_set(err, CPK_ERR_NOT_FOUND, "BER-TLV: tag %02" PRIX32 " not found",
	    tag);
out:
	return st;
}

/* Validate p[0..n), found at offset base of the outermost input. */
static cpk_status
tlv_validate_at(const uint8_t *p, size_t n, size_t base, unsigned depth, unsigned level,
    struct cpk_error *err)
{
	struct cpk_cursor c;
	struct cpk_tlv t;
	size_t off;
	cpk_status st;

	cpk_cursor_init(&c, p, n);
	while (cpk_cursor_left(&c) > 0) {
		off = n - cpk_cursor_left(&c);
		if ((st = cpk_tlv_next(&c, &t, err)) != CPK_OK) {
			cpk_error_prefix(err, "BER-TLV at offset %zu", base + off);
			goto out;
		}
		if (!cpk_tlv_constructed(t.tag) || depth == 0 || t.len == 0)
			continue;
		if (level >= TLV_NEST_MAX) {
			st = cpk_error_set(err, CPK_ERR_RANGE,
			    "BER-TLV at offset %zu: objects nested deeper than %d levels",
			    base + off, TLV_NEST_MAX);
			goto out;
		}
		st = tlv_validate_at(t.value, t.len, base + off + (t.total - t.len),
		    depth - 1, level + 1, err);
		if (st != CPK_OK)
			goto out;
	}
	st = CPK_OK;
out:
	return st;
}

cpk_status
cpk_tlv_validate(const uint8_t *p, size_t n, unsigned depth, struct cpk_error *err)
{
	cpk_status st;

	if (p == NULL && n > 0) {
		st = cpk_error_set(err, CPK_ERR_ARG, "BER-TLV: no input bytes (NULL)");
		goto out;
	}
	st = tlv_validate_at(p, n, 0, depth, 0, err);
out:
	return st;
}

size_t
cpk_ber_len_size(size_t len)
{
	if (len < 0x80)
		return 1;
	if (len <= 0xff)
		return 2;
	if (len <= 0xffff)
		return 3;
	if (len <= 0xffffff)
		return 4;
	return 0;
}

/* Encode a length of at most 0xFFFFFF (minimal form) into p[0..4). */
static size_t
ber_len_encode(size_t len, uint8_t p[4])
{
	size_t n = cpk_ber_len_size(len), i;

	if (n == 1)
		p[0] = (uint8_t)len;
	else {
		p[0] = (uint8_t)(0x80 | (n - 1));
		for (i = 1; i < n; i++)
			p[i] = (uint8_t)(len >> (8 * (n - 1 - i)));
	}
	return n;
}

cpk_status
cpk_ber_len_put(struct cpk_buf *b, size_t len, struct cpk_error *err)
{
	uint8_t enc[4];
	size_t n;
	cpk_status st;

	if (cpk_ber_len_size(len) == 0) {
		st = cpk_error_set(err, CPK_ERR_RANGE,
		    "BER length %zu is too large (at most 16777215)", len);
		goto out;
	}
	n = ber_len_encode(len, enc);
	st = cpk_buf_append(b, enc, n, err);
out:
	return st;
}

cpk_status
cpk_tlv_put_tag(struct cpk_buf *b, uint32_t tag, struct cpk_error *err)
{
	uint8_t enc[3];
	size_t n, i;
	cpk_status st;

	if ((st = tag_size(tag, &n, err)) != CPK_OK)
		goto out;
	for (i = 0; i < n; i++)
		enc[i] = (uint8_t)(tag >> (8 * (n - 1 - i)));
	st = cpk_buf_append(b, enc, n, err);
out:
	return st;
}

cpk_status
cpk_tlv_put(struct cpk_buf *b, uint32_t tag, const uint8_t *value, size_t len,
    struct cpk_error *err)
{
	size_t tag_len, len_len;
	cpk_status st;

	if (value == NULL && len > 0) {
		st = cpk_error_set(err, CPK_ERR_ARG,
		    "BER-TLV: tag %02" PRIX32 " has %zu value bytes but no data", tag, len);
		goto out;
	}
	if ((st = tag_size(tag, &tag_len, err)) != CPK_OK)
		goto out;
	if ((len_len = cpk_ber_len_size(len)) == 0) {
		st = cpk_error_set(err, CPK_ERR_RANGE,
		    "BER length %zu is too large (at most 16777215)", len);
		goto out;
	}
	/* Reserve everything first so that a failure leaves b unchanged. */
	if ((st = cpk_buf_reserve(b, tag_len + len_len + len, err)) != CPK_OK)
		goto out;
	if ((st = cpk_tlv_put_tag(b, tag, err)) != CPK_OK ||
	    (st = cpk_ber_len_put(b, len, err)) != CPK_OK ||
	    (st = cpk_buf_append(b, value, len, err)) != CPK_OK)
		goto out;
	st = CPK_OK;
out:
	return st;
}
