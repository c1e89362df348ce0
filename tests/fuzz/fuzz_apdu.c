/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzz target: command APDUs, cpk_apdu_parse and cpk_apdu_build
 * (common/cpk_apdu.h).
 *
 * Whatever the input, parsing must not crash. When it parses:
 * - the fields are in range, the data points into the input, and the
 *   input length is exactly what the case and form need;
 * - cpk_apdu_build gives back the input bytes (every accepted encoding is
 *   the canonical one) and they parse to the same command;
 * - the command in the other length form (short <-> extended, where the
 *   values fit) parses back to the same command.
 */
#include <stdbool.h>
#include <string.h>

#include "cpk_apdu.h"
#include "fuzz.h"

static bool
same_command(const struct cpk_apdu *a, const struct cpk_apdu *b)
{
	return a->cla == b->cla && a->ins == b->ins && a->p1 == b->p1 && a->p2 == b->p2 &&
	    a->lc == b->lc && a->has_le == b->has_le && a->ne == b->ne &&
	    (a->lc == 0 || memcmp(a->data, b->data, a->lc) == 0);
}

/* Encoded length of a command in the form recorded in a->extended. */
static size_t
encoded_len(const struct cpk_apdu *a)
{
	if (!a->extended)
		return 4 + (a->lc > 0 ? 1 + a->lc : 0) + (a->has_le ? 1 : 0);
	return 4 + 1 + (a->lc > 0 ? 2 + a->lc : 0) + (a->has_le ? 2 : 0);
}

static void
check_fields(const struct cpk_apdu *a, const uint8_t *p, size_t n)
{
	FUZZ_CHECK(a->lc <= CPK_APDU_EXT_MAX_LC);
	FUZZ_CHECK((a->lc == 0) == (a->data == NULL));
	if (a->lc > 0)
		FUZZ_CHECK(a->data >= p + 5 && a->data + a->lc <= p + n);
	if (a->has_le)
		FUZZ_CHECK(a->ne >= 1 && a->ne <= CPK_APDU_EXT_MAX_NE);
	else
		FUZZ_CHECK(a->ne == 0);
	if (!a->extended)
		FUZZ_CHECK(a->lc <= CPK_APDU_SHORT_MAX_LC && a->ne <= CPK_APDU_SHORT_MAX_NE);
	else
		FUZZ_CHECK(a->lc > 0 || a->has_le);
	FUZZ_CHECK(cpk_apdu_case(a) == (a->lc == 0 ? (a->has_le ? 2 : 1) : (a->has_le ? 4 : 3)));
	FUZZ_CHECK(encoded_len(a) == n);
	FUZZ_CHECK(a->cla == p[0] && a->ins == p[1] && a->p1 == p[2] && a->p2 == p[3]);
}

/* Build a command, parse the result and require the same command back. */
static void
round_trip(const struct cpk_apdu *a, struct cpk_buf *out)
{
	struct cpk_apdu b;
	bool want_ext;

	cpk_buf_reset(out);
	FUZZ_CHECK(cpk_apdu_build(a, out, NULL) == CPK_OK);
	FUZZ_CHECK(cpk_apdu_parse(out->data, out->len, &b, NULL) == CPK_OK);
	FUZZ_CHECK(same_command(a, &b));
	/* Case 1 has a single form; otherwise extended when asked or needed. */
	want_ext = (a->extended && (a->lc > 0 || a->has_le)) ||
	    a->lc > CPK_APDU_SHORT_MAX_LC || a->ne > CPK_APDU_SHORT_MAX_NE;
	FUZZ_CHECK(b.extended == want_ext);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cpk_buf out = CPK_BUF_INIT;
	struct cpk_apdu a, other;
	struct cpk_error err;

	if (cpk_apdu_parse(data, size, &a, &err) != CPK_OK) {
		FUZZ_CHECK(err.status == CPK_ERR_PARSE && err.msg[0] != '\0');
		return 0;
	}
	check_fields(&a, data, size);

	/* The accepted encoding is the canonical one. */
	FUZZ_CHECK(cpk_apdu_build(&a, &out, NULL) == CPK_OK);
	FUZZ_CHECK(out.len == size && memcmp(out.data, data, size) == 0);
	round_trip(&a, &out);

	other = a;
	other.extended = !a.extended;
	round_trip(&other, &out);

	cpk_buf_free(&out);
	return 0;
}
