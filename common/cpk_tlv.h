/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: BER-TLV (ISO/IEC 7816-4 annex D subset used by GlobalPlatform).
 *
 * Tags are 1 to 3 bytes (first byte low 5 bits all set = more bytes follow;
 * a following byte with bit 8 set = more bytes follow). Lengths are definite:
 * 00-7F, 81 xx, 82 xxxx, 83 xxxxxx. The indefinite form (80) and longer
 * forms are refused.
 */
#ifndef CPK_TLV_H
#define CPK_TLV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpk_bytes.h"
#include "cpk_error.h"

struct cpk_tlv {
	uint32_t tag;		/* tag bytes big-endian, e.g. 0x9F7F */
	size_t tag_len;		/* 1..3 */
	size_t len;		/* length of the value */
	const uint8_t *value;	/* points into the parsed input */
	size_t total;		/* tag + length + value bytes */
};

/* True if the tag's first byte marks a constructed object (bit 6). */
bool cpk_tlv_constructed(uint32_t tag);

/*
 * Read one TLV at the cursor. On success the cursor is advanced past it.
 * Errors: CPK_ERR_PARSE (truncated tag, length or value; bad length form).
 */
cpk_status cpk_tlv_next(struct cpk_cursor *c, struct cpk_tlv *out, struct cpk_error *err);

/*
 * Find the first object with `tag` among the top-level objects of
 * p[0..n). Returns CPK_ERR_NOT_FOUND if absent, CPK_ERR_PARSE if the
 * objects before it are malformed.
 */
cpk_status cpk_tlv_find(const uint8_t *p, size_t n, uint32_t tag, struct cpk_tlv *out,
    struct cpk_error *err);

/* Check that p[0..n) is exactly a sequence of well-formed TLVs (recursing into
 * constructed ones up to `depth` levels). */
cpk_status cpk_tlv_validate(const uint8_t *p, size_t n, unsigned depth, struct cpk_error *err);

/* Number of bytes of the BER encoding of a length (1..4); 0 if too large (> 0xFFFFFF). */
size_t cpk_ber_len_size(size_t len);
/* Append the BER encoding of a length. */
cpk_status cpk_ber_len_put(struct cpk_buf *b, size_t len, struct cpk_error *err);
/* Append tag bytes (1..3, taken from the value of `tag`). */
cpk_status cpk_tlv_put_tag(struct cpk_buf *b, uint32_t tag, struct cpk_error *err);
/* Append tag, length and value. */
cpk_status cpk_tlv_put(struct cpk_buf *b, uint32_t tag, const uint8_t *value, size_t len,
    struct cpk_error *err);

#endif
