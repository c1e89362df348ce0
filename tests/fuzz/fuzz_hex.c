/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzz target: strict hex, cpk_hex_decode, cpk_hex_decode_exact and
 * cpk_hex_decode_buf (common/cpk_bytes.h), the decoder of every hex field
 * in profiles, card records, manifests and key files.
 *
 * The input is the text. Whatever it holds, nothing crashes and nothing is
 * written past the output buffer. A decode succeeds exactly when the text
 * is an even number of hex digits that fits; then the bytes encode back
 * (cpk_hex_encode) to the same text up to letter case. The NUL-terminated
 * variants agree with cpk_hex_decode on the text up to its first NUL.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cpk_bytes.h"
#include "fuzz.h"

static bool
all_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* Decode into a heap block of exactly cap bytes so that ASan sees overflows. */
static void
check_decode(const char *s, size_t n, size_t cap)
{
	struct cpk_error err;
	uint8_t *out;
	char *back;
	size_t outlen = 1234, i;
	cpk_status st;

	out = malloc(cap > 0 ? cap : 1);
	FUZZ_CHECK(out != NULL);
	st = cpk_hex_decode(s, n, out, cap, &outlen, &err);
	if (n % 2 != 0) {
		FUZZ_CHECK(st == CPK_ERR_PARSE);
	} else if (n / 2 > cap) {
		FUZZ_CHECK(st == CPK_ERR_RANGE);
	} else {
		FUZZ_CHECK((st == CPK_OK) == all_hex(s, n));
		FUZZ_CHECK(st == CPK_OK || st == CPK_ERR_PARSE);
	}
	if (st != CPK_OK) {
		FUZZ_CHECK(outlen == 0 && err.status == st && err.msg[0] != '\0');
		free(out);
		return;
	}
	FUZZ_CHECK(outlen == n / 2);
	back = malloc(n + 1);
	FUZZ_CHECK(back != NULL);
	FUZZ_CHECK(cpk_hex_encode(out, outlen, back, n + 1) == CPK_OK);
	FUZZ_CHECK(back[n] == '\0');
	for (i = 0; i < n; i++)
		FUZZ_CHECK(back[i] == toupper((unsigned char)s[i]));
	free(back);
	free(out);
}

/* The NUL-terminated variants, on the text before its first NUL. */
static void
check_cstring(const char *s)
{
	struct cpk_buf buf = CPK_BUF_INIT;
	size_t n = strlen(s);
	uint8_t exact[64];
	cpk_status st;
	bool ok = n % 2 == 0 && all_hex(s, n);

	/* Into a buffer never allocated, then appended after a byte. */
	st = cpk_hex_decode_buf(s, &buf, NULL);
	FUZZ_CHECK((st == CPK_OK) == ok && buf.len == (ok ? n / 2 : 0));
	cpk_buf_free(&buf);
	FUZZ_CHECK(cpk_buf_append_byte(&buf, 0xA5, NULL) == CPK_OK);
	st = cpk_hex_decode_buf(s, &buf, NULL);
	FUZZ_CHECK((st == CPK_OK) == ok);
	FUZZ_CHECK(buf.len == (ok ? 1 + n / 2 : 1) && buf.data[0] == 0xA5);
	cpk_buf_free(&buf);

	/* Exactly the length the text has, and one byte more. */
	if (n / 2 < sizeof(exact)) {
		FUZZ_CHECK((cpk_hex_decode_exact(s, exact, n / 2, NULL) == CPK_OK) == ok);
		FUZZ_CHECK(cpk_hex_decode_exact(s, exact, n / 2 + 1, NULL) != CPK_OK);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	char *z;

	check_decode(s, size, size / 2);
	if (size >= 4)
		check_decode(s, size, size / 2 - 1);

	z = malloc(size + 1);
	FUZZ_CHECK(z != NULL);
	if (size > 0)
		memcpy(z, data, size);
	z[size] = '\0';
	check_cstring(z);
	free(z);
	return 0;
}
