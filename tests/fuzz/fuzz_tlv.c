/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzz target: BER-TLV, cpk_tlv_next, cpk_tlv_find and cpk_tlv_validate
 * (common/cpk_tlv.h), the parser of GET STATUS, GET DATA and SELECT
 * responses.
 *
 * Whatever the input, nothing crashes. Walking the top-level objects:
 * - each object lies inside the input, its size adds up, and its tag
 *   bytes are the input's;
 * - each re-encodes with cpk_tlv_put (minimal length) and reads back as
 *   the same tag and value;
 * - cpk_tlv_find of its tag finds the first object with that tag;
 * - the walk consumes the whole input exactly when cpk_tlv_validate at
 *   depth 0 accepts it, the re-encoded sequence validates too, and
 *   validating deeper never accepts what a shallower depth refuses.
 */
#include <limits.h>
#include <stdbool.h>
#include <string.h>

#include "cpk_tlv.h"
#include "fuzz.h"

/* cpk_tlv_find rescans from the start: check it on the first objects only. */
#define FIND_CHECKS 16

static void
check_object(const struct cpk_tlv *t, const uint8_t *start, const uint8_t *end)
{
	size_t i;

	FUZZ_CHECK(t->tag_len >= 1 && t->tag_len <= 3);
	FUZZ_CHECK(t->total > t->tag_len + t->len && t->total - t->tag_len - t->len <= 4);
	FUZZ_CHECK(start + t->total <= end);
	FUZZ_CHECK(t->value == start + (t->total - t->len));
	for (i = 0; i < t->tag_len; i++)
		FUZZ_CHECK(start[i] == (uint8_t)(t->tag >> (8 * (t->tag_len - 1 - i))));
	FUZZ_CHECK(cpk_tlv_constructed(t->tag) == ((start[0] & 0x20) != 0));
}

/* Re-encode one object (appended to seq) and read it back. */
static void
check_reencode(const struct cpk_tlv *t, struct cpk_buf *seq)
{
	struct cpk_cursor c;
	struct cpk_tlv back;
	size_t before = seq->len;

	FUZZ_CHECK(cpk_tlv_put(seq, t->tag, t->value, t->len, NULL) == CPK_OK);
	FUZZ_CHECK(seq->len - before == t->tag_len + cpk_ber_len_size(t->len) + t->len);
	cpk_cursor_init(&c, seq->data + before, seq->len - before);
	FUZZ_CHECK(cpk_tlv_next(&c, &back, NULL) == CPK_OK && cpk_cursor_left(&c) == 0);
	FUZZ_CHECK(back.tag == t->tag && back.tag_len == t->tag_len && back.len == t->len);
	FUZZ_CHECK(t->len == 0 || memcmp(back.value, t->value, t->len) == 0);
	FUZZ_CHECK(back.total <= t->total);
}

static void
check_validate(const uint8_t *data, size_t size, bool walked_all, const struct cpk_buf *seq)
{
	static const unsigned depths[] = { 0, 1, 2, 8, 32, UINT_MAX };
	struct cpk_error err;
	cpk_status st;
	size_t i;
	bool refused = false;

	for (i = 0; i < sizeof(depths) / sizeof(depths[0]); i++) {
		st = cpk_tlv_validate(data, size, depths[i], &err);
		FUZZ_CHECK(st == CPK_OK || st == CPK_ERR_PARSE || st == CPK_ERR_RANGE);
		if (depths[i] == 0)
			FUZZ_CHECK((st == CPK_OK) == walked_all);
		if (refused)
			FUZZ_CHECK(st != CPK_OK);
		if (st != CPK_OK) {
			FUZZ_CHECK(err.status == st && err.msg[0] != '\0');
			refused = true;
		}
	}
	if (walked_all)
		FUZZ_CHECK(cpk_tlv_validate(seq->data, seq->len, 0, NULL) == CPK_OK);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cpk_buf seq = CPK_BUF_INIT;
	struct cpk_cursor c;
	struct cpk_tlv t, found;
	struct cpk_error err;
	const uint8_t *start;
	size_t count = 0;
	cpk_status st;

	cpk_cursor_init(&c, data, size);
	while (cpk_cursor_left(&c) > 0) {
		start = data + (size - cpk_cursor_left(&c));
		if ((st = cpk_tlv_next(&c, &t, &err)) != CPK_OK) {
			/* A refused object consumes nothing. */
			FUZZ_CHECK(st == CPK_ERR_PARSE && err.msg[0] != '\0');
			FUZZ_CHECK(data + (size - cpk_cursor_left(&c)) == start);
			break;
		}
		check_object(&t, start, data + size);
		FUZZ_CHECK(data + (size - cpk_cursor_left(&c)) == start + t.total);
		check_reencode(&t, &seq);
		if (count++ < FIND_CHECKS) {
			FUZZ_CHECK(cpk_tlv_find(data, size, t.tag, &found, NULL) == CPK_OK);
			FUZZ_CHECK(found.tag == t.tag && found.value <= t.value);
		}
	}
	check_validate(data, size, cpk_cursor_left(&c) == 0, &seq);
	cpk_buf_free(&seq);
	return 0;
}
