/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzz target: PKCS#11 URIs of key set files, p11_uri_parse and
 * p11_uri_format (compiler/p11_uri.h).
 *
 * - a refused URI leaves the result zeroed and gives a message; the outcome
 *   does not depend on passing an error structure;
 * - an accepted URI names a key (object or id), its strings are
 *   NUL-terminated within their fields, and it never carries a PIN
 *   (no "pin-value" in the input's query);
 * - its canonical form parses again to exactly the same result.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "p11_uri.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct p11_uri zero;
	struct p11_uri u, again;
	struct cpk_error err;
	char *text = NULL;
	cpk_status st;

	st = p11_uri_parse((const char *)data, size, &u, &err);
	FUZZ_CHECK(p11_uri_parse((const char *)data, size, &again, NULL) == st);
	if (st != CPK_OK) {
		FUZZ_CHECK(memcmp(&u, &zero, sizeof(u)) == 0 && err.msg[0] != '\0');
		return 0;
	}
	FUZZ_CHECK(u.has & (P11_URI_OBJECT | P11_URI_ID));
	FUZZ_CHECK(memchr(u.token, '\0', sizeof(u.token)) != NULL);
	FUZZ_CHECK(memchr(u.object, '\0', sizeof(u.object)) != NULL);
	FUZZ_CHECK(memchr(u.pin_source, '\0', sizeof(u.pin_source)) != NULL);
	FUZZ_CHECK(u.id_len <= sizeof(u.id));
	if ((text = malloc(4 * P11_URI_MAX)) == NULL)
		return 0;
	FUZZ_CHECK(p11_uri_format(&u, text, 4 * P11_URI_MAX, &err) == CPK_OK);
	/* Percent-encoding may triple a value beyond P11_URI_MAX: then only the range error. */
	st = p11_uri_parse(text, strlen(text), &again, &err);
	if (strlen(text) <= P11_URI_MAX) {
		FUZZ_CHECK(st == CPK_OK);
		FUZZ_CHECK(memcmp(&u, &again, sizeof(u)) == 0);
	} else {
		FUZZ_CHECK(st == CPK_ERR_RANGE);
	}
	free(text);
	return 0;
}
