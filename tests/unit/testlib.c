/* SPDX-License-Identifier: BSD-2-Clause */
/* cpk unit tests: the check harness. */
#include "testlib.h"

#include <stdlib.h>

int test_failures;
int test_checks;

int
test_check(int ok, const char *what, const char *file, int line)
{
	test_checks++;
	if (!ok) {
		test_failures++;
		fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
	}
	return ok;
}

int
test_check_status(cpk_status got, cpk_status want, const char *what, const char *file, int line)
{
	test_checks++;
	if (got != want) {
		test_failures++;
		fprintf(stderr, "%s:%d: %s returned %s, expected %s\n", file, line, what,
		    cpk_status_name(got), cpk_status_name(want));
		return 0;
	}
	return 1;
}

static void
print_hex(const char *label, const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	fprintf(stderr, "  %s (%zu): ", label, n);
	for (i = 0; i < n; i++)
		fprintf(stderr, "%02X", b[i]);
	fprintf(stderr, "\n");
}

int
test_check_mem(const void *got, size_t gotlen, const void *want, size_t wantlen,
    const char *what, const char *file, int line)
{
	test_checks++;
	if (gotlen != wantlen || (gotlen > 0 && memcmp(got, want, gotlen) != 0)) {
		test_failures++;
		fprintf(stderr, "%s:%d: %s differs\n", file, line, what);
		print_hex("got ", got, gotlen);
		print_hex("want", want, wantlen);
		return 0;
	}
	return 1;
}

size_t
test_unhex(const char *hex, uint8_t *out, size_t outcap)
{
	size_t n = 0;

	if (cpk_hex_decode(hex, strlen(hex), out, outcap, &n, NULL) != CPK_OK) {
		fprintf(stderr, "bad hex in test data: %s\n", hex);
		abort();
	}
	return n;
}

int
test_check_hex(const void *got, size_t gotlen, const char *wanthex, const char *what,
    const char *file, int line)
{
	size_t cap = strlen(wanthex) / 2 + 1;
	uint8_t *want = malloc(cap);
	size_t n;
	int ok;

	if (want == NULL)
		abort();
	n = test_unhex(wanthex, want, cap);
	ok = test_check_mem(got, gotlen, want, n, what, file, line);
	free(want);
	return ok;
}

int
test_check_str(const char *got, const char *want, const char *what, const char *file, int line)
{
	test_checks++;
	if (got == NULL || strcmp(got, want) != 0) {
		test_failures++;
		fprintf(stderr, "%s:%d: %s is \"%s\", expected \"%s\"\n", file, line, what,
		    got != NULL ? got : "(null)", want);
		return 0;
	}
	return 1;
}

int
test_check_msg(const struct cpk_error *err, const char *needle, const char *file, int line)
{
	test_checks++;
	if (strstr(err->msg, needle) == NULL) {
		test_failures++;
		fprintf(stderr, "%s:%d: error message \"%s\" does not contain \"%s\"\n", file,
		    line, err->msg, needle);
		return 0;
	}
	return 1;
}

int
test_summary(const char *name)
{
	fprintf(stderr, "%s: %d checks, %d failed\n", name, test_checks, test_failures);
	return test_failures == 0 ? 0 : 1;
}
