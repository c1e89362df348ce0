/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzz target: the bundle manifest, cpk_manifest_parse and
 * cpk_manifest_encode (common/cpk_bundle.h).
 *
 * The reader accepts exactly the shape the writer emits (cpk(5)), so:
 * - an accepted manifest passes cpk_manifest_check and encodes back to the
 *   very bytes that were parsed, and those parse again to the same fields;
 * - a refused one leaves the output untouched and says why (in
 *   manifest.yaml at a line, unless a cross-field rule refused it), as a
 *   parse, range or version error; the outcome is the
 *   same whether or not the caller passes an error structure.
 */
#include <stdbool.h>
#include <string.h>

#include "cpk_bundle.h"
#include "fuzz.h"

static bool
all_bytes(const void *p, size_t n, uint8_t v)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] != v)
			return false;
	return true;
}

static bool
captures_equal(const struct cpk_manifest *a, const struct cpk_manifest *b)
{
	size_t i;

	if (a->ncaptures != b->ncaptures)
		return false;
	for (i = 0; i < a->ncaptures; i++)
		if (a->captures[i].command != b->captures[i].command ||
		    strcmp(a->captures[i].name, b->captures[i].name) != 0)
			return false;
	return true;
}

#define SAME_ARRAY(f) (memcmp(a->f, b->f, sizeof(a->f)) == 0)
#define SAME(f) (a->f == b->f)

static bool
manifest_equal(const struct cpk_manifest *a, const struct cpk_manifest *b)
{
	return SAME(format) && strcmp(a->compiler, b->compiler) == 0 &&
	    strcmp(a->profile, b->profile) == 0 && SAME_ARRAY(profile_sha256) &&
	    SAME(created) && SAME(mode) && strcmp(a->serial, b->serial) == 0 &&
	    SAME_ARRAY(kdd) && SAME(sd_aid_len) && memcmp(a->sd_aid, b->sd_aid, a->sd_aid_len) == 0 &&
	    SAME(iin_len) && memcmp(a->iin, b->iin, a->iin_len) == 0 &&
	    SAME(cin_len) && memcmp(a->cin, b->cin, a->cin_len) == 0 &&
	    SAME(scp) && SAME(i) && SAME(kvn) && SAME(level) &&
	    SAME(counter_len) && memcmp(a->counter, b->counter, a->counter_len) == 0 &&
	    SAME(has_host_challenge) &&
	    (!a->has_host_challenge || SAME_ARRAY(host_challenge)) &&
	    SAME(iu_response_len) &&
	    memcmp(a->iu_response, b->iu_response, a->iu_response_len) == 0 &&
	    SAME(commands) && SAME(script_size) && SAME_ARRAY(script_sha256) &&
	    captures_equal(a, b);
}

/* Large enough to matter on the stack of a deep fuzzer: kept static. */
static struct cpk_manifest m1, m2;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cpk_buf out = CPK_BUF_INIT;
	struct cpk_error err;
	cpk_status st, quiet;

	/* The outcome does not depend on whether the caller wants the message. */
	quiet = cpk_manifest_parse(data, size, &m2, NULL);
	memset(&m1, 0xA5, sizeof(m1));
	cpk_error_clear(&err);
	st = cpk_manifest_parse(data, size, &m1, &err);
	FUZZ_CHECK(st == quiet);
	if (st != CPK_OK) {
		FUZZ_CHECK(st == CPK_ERR_PARSE || st == CPK_ERR_RANGE || st == CPK_ERR_UNSUPPORTED);
		FUZZ_CHECK(err.status == st && err.msg[0] != '\0');
		/* Cross-field rules (cpk_manifest_check) have no line to name. */
		FUZZ_CHECK(strcmp(err.file, CPK_ENTRY_MANIFEST) == 0 || err.file[0] == '\0');
		FUZZ_CHECK(all_bytes(&m1, sizeof(m1), 0xA5));
		return 0;
	}
	FUZZ_CHECK(size <= CPK_MANIFEST_MAX_SIZE);
	FUZZ_CHECK(m1.format == CPK_BUNDLE_FORMAT);
	FUZZ_CHECK(cpk_manifest_check(&m1, NULL) == CPK_OK);
	FUZZ_CHECK(cpk_manifest_encode(&m1, &out, NULL) == CPK_OK);
	FUZZ_CHECK(out.len == size && memcmp(out.data, data, size) == 0);
	memset(&m2, 0x5A, sizeof(m2));
	FUZZ_CHECK(cpk_manifest_parse(out.data, out.len, &m2, NULL) == CPK_OK);
	FUZZ_CHECK(manifest_equal(&m1, &m2));
	cpk_buf_free(&out);
	return 0;
}
