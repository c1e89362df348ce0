/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: the registry config file's line parser, URI redaction, state
 * transitions and the sealing of per-card data, without a store.
 */
#include <stdlib.h>
#include <string.h>

#include "card.h"
#include "datakey.h"
#include "registry.h"
#include "testlib.h"

static cpk_status
parse(const char *text, size_t len, char *uri, size_t cap, struct cpk_error *err)
{
	cpk_error_clear(err);
	return registry_config_parse("cfg", (const uint8_t *)text, len, uri, cap, err);
}

#define PARSE(s, uri, cap, err) parse((s), sizeof(s) - 1, (uri), (cap), (err))

static void
test_config(void)
{
	char uri[64];
	struct cpk_error err;

	CHECK_OK(PARSE("sqlite:/var/lib/cpk/r.db\n", uri, sizeof(uri), &err));
	CHECK_STR(uri, "sqlite:/var/lib/cpk/r.db");
	/* No line end at the end of the file. */
	CHECK_OK(PARSE("sqlite:a", uri, sizeof(uri), &err));
	CHECK_STR(uri, "sqlite:a");
	/* Comments, blank lines, spaces, tabs and CRLF around the URI. */
	CHECK_OK(PARSE("# the registry\n\n   \t\r\n  # indented comment\r\n"
	    "\t postgresql:///reg?host=/run \t\r\nsqlite:second\n", uri, sizeof(uri), &err));
	CHECK_STR(uri, "postgresql:///reg?host=/run");
	/* '#' inside the URI is kept. */
	CHECK_OK(PARSE("sqlite:/a#b\n", uri, sizeof(uri), &err));
	CHECK_STR(uri, "sqlite:/a#b");
	/* Nothing but comments, or nothing at all. */
	CHECK_STATUS(PARSE("# only\n#comments\n\n", uri, sizeof(uri), &err), CPK_ERR_NOT_FOUND);
	CHECK_STATUS(PARSE("", uri, sizeof(uri), &err), CPK_ERR_NOT_FOUND);
	CHECK_STATUS(PARSE("\n\r\n \n", uri, sizeof(uri), &err), CPK_ERR_NOT_FOUND);
	/* A NUL or a control character in the URI line. */
	CHECK_STATUS(PARSE("sqlite:a\0b\n", uri, sizeof(uri), &err), CPK_ERR_PARSE);
	CHECK(err.line == 1 && err.col == 9);
	CHECK_STATUS(PARSE("# c\nsqlite:a\033b\n", uri, sizeof(uri), &err), CPK_ERR_PARSE);
	CHECK(err.line == 2);
	CHECK_MSG(&err, "0x1B");
	/* A lone CR inside the line is a control character too. */
	CHECK_STATUS(PARSE("sqlite:a\rb\n", uri, sizeof(uri), &err), CPK_ERR_PARSE);
	/* Exactly what fits, and one byte more. */
	CHECK_OK(PARSE("sqlite:12345\n", uri, 13, &err));
	CHECK_STR(uri, "sqlite:12345");
	CHECK_STATUS(PARSE("sqlite:123456\n", uri, 13, &err), CPK_ERR_RANGE);
	/* A comment after a NUL-free blank line with only a CR. */
	CHECK_OK(PARSE("\r\n#x\r\nnone\r\n", uri, sizeof(uri), &err));
	CHECK_STR(uri, "none");
}

static void
test_redact(void)
{
	static const char *const cases[][2] = {
		{ "postgresql://cpk:s3cret@db.example/reg", "postgresql://cpk:***@db.example/reg" },
		{ "postgres://u:p%40ss@h:5432/d?sslmode=require", "postgres://u:***@h:5432/d?sslmode=require" },
		{ "postgresql://u@h/d", "postgresql://u@h/d" },
		{ "postgresql:///d?host=/tmp&password=hunter2&user=x",
		    "postgresql:///d?host=/tmp&password=***&user=x" },
		{ "postgresql://a:b@c/d?password=e", "postgresql://a:***@c/d?password=***" },
		{ "postgresql://a:b:c@h/d", "postgresql://a:***@h/d" },
		{ "postgresql://a:x@y@h/d", "postgresql://a:***@h/d" },
		{ "sqlite:/var/lib/cpk/r.db", "sqlite:/var/lib/cpk/r.db" },
		{ "", "" },
	};
	char out[128], small[12];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		registry_uri_redact(cases[i][0], out, sizeof(out));
		CHECK_STR(out, cases[i][1]);
	}
	/* Truncated, never overflowing, never showing the password. */
	registry_uri_redact("postgresql://u:longpassword@h/d", small, sizeof(small));
	CHECK(strlen(small) == sizeof(small) - 1);
	CHECK(strstr(small, "long") == NULL);
}

static void
test_states(void)
{
	enum registry_state s;

	CHECK(registry_state_parse("superseded", &s) && s == REGISTRY_SUPERSEDED);
	CHECK(!registry_state_parse("Issued", &s));
	CHECK(registry_state_allowed(REGISTRY_ISSUED, REGISTRY_LOADED));
	CHECK(registry_state_allowed(REGISTRY_ISSUED, REGISTRY_FAILED));
	CHECK(registry_state_allowed(REGISTRY_ISSUED, REGISTRY_SUPERSEDED));
	CHECK(registry_state_allowed(REGISTRY_ISSUED, REGISTRY_REVOKED));
	CHECK(registry_state_allowed(REGISTRY_LOADED, REGISTRY_REVOKED));
	CHECK(!registry_state_allowed(REGISTRY_LOADED, REGISTRY_ISSUED));
	CHECK(!registry_state_allowed(REGISTRY_FAILED, REGISTRY_LOADED));
	CHECK(!registry_state_allowed(REGISTRY_SUPERSEDED, REGISTRY_ISSUED));
	CHECK(!registry_state_allowed(REGISTRY_REVOKED, REGISTRY_LOADED));
	CHECK_STR(registry_state_name(REGISTRY_REVOKED), "revoked");
}

int
main(void)
{
	test_config();
	test_redact();
	test_states();
	return test_summary("registry-config");
}
