/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk unit test: URLs as cardload shows and logs them (cpk_fetch_redact):
 * credentials and query strings never appear; what identifies the bundle
 * (scheme, host, port, path) stays; truncation is safe at any size.
 */
#include <string.h>

#include "fetch.h"
#include "testlib.h"

static void
redacts(const char *url, const char *want, int line)
{
	char out[CPK_FETCH_SHOWN_MAX];

	memset(out, 'Z', sizeof(out));
	cpk_fetch_redact(url, out, sizeof(out));
	if (!test_check(strcmp(out, want) == 0, "redacted URL", __FILE__, line))
		fprintf(stderr, "  '%s' -> '%s', expected '%s'\n", url, out, want);
}

#define REDACTS(u, w) redacts((u), (w), __LINE__)

int
main(void)
{
	char small[12];
	size_t cap;

	REDACTS("https://bureau.example/b/card.cpk", "https://bureau.example/b/card.cpk");
	REDACTS("https://bureau.example:8443/card.cpk", "https://bureau.example:8443/card.cpk");
	REDACTS("https://tech:s3cret@bureau.example/card.cpk", "https://***@bureau.example/card.cpk");
	REDACTS("https://tech@bureau.example", "https://***@bureau.example");
	REDACTS("https://bureau.example/card.cpk?token=t0k&x=1",
	    "https://bureau.example/card.cpk?***");
	REDACTS("https://bureau.example/card.cpk#frag", "https://bureau.example/card.cpk?***");
	REDACTS("https://u:p@bureau.example?token=t0k", "https://***@bureau.example?***");
	/*
	 * '@', '/', '?' or '#' in the password: never any of it shown. An '@'
	 * in the path hides too much (the host), never too little; one in the
	 * query hides all but the scheme.
	 */
	REDACTS("https://u:p@ss@bureau.example/card.cpk", "https://***@bureau.example/card.cpk");
	REDACTS("https://tech:1234/5@host/b.cpk", "https://***@host/b.cpk");
	REDACTS("https://u:p/w@host/b.cpk?tok=1", "https://***@host/b.cpk?***");
	REDACTS("https://u:p#w@host/b.cpk", "https://***");
	REDACTS("https://u:p?w@host/b.cpk", "https://***");
	REDACTS("https://bureau.example/cards/a@b.cpk", "https://***@b.cpk");
	REDACTS("https://bureau.example/x?next=https://u:p@evil/", "https://***");
	REDACTS("http://u:p@h/c.cpk", "http://***@h/c.cpk");
	REDACTS("", "");
	REDACTS(NULL, "");

	/* Truncation: always NUL-terminated within the buffer, never past it. */
	for (cap = 1; cap <= sizeof(small); cap++) {
		memset(small, 'Z', sizeof(small));
		cpk_fetch_redact("https://u:p@bureau.example/card.cpk?t=1", small, cap);
		CHECK(memchr(small, '\0', cap) != NULL);
		CHECK(strlen(small) == cap - 1);
		CHECK(strstr(small, "u:p") == NULL);
	}
	memset(small, 'Z', sizeof(small));
	cpk_fetch_redact("https://h/", small, 0);
	CHECK(small[0] == 'Z');
	return test_summary("fetch");
}
