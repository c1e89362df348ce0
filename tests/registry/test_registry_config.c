/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: the registry config file's line parser, URI redaction, state
 * transitions and the sealing of per-card data, without a store.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
	CHECK(registry_state_allowed(REGISTRY_FAILED, REGISTRY_LOADED));
	CHECK(!registry_state_allowed(REGISTRY_FAILED, REGISTRY_ISSUED));
	CHECK(!registry_state_allowed(REGISTRY_FAILED, REGISTRY_REVOKED));
	CHECK(!registry_state_allowed(REGISTRY_SUPERSEDED, REGISTRY_ISSUED));
	CHECK(!registry_state_allowed(REGISTRY_REVOKED, REGISTRY_LOADED));
	CHECK_STR(registry_state_name(REGISTRY_REVOKED), "revoked");
}

static bool
contains(const uint8_t *p, size_t n, const char *s)
{
	size_t i, k = strlen(s);

	for (i = 0; i + k <= n; i++)
		if (memcmp(p + i, s, k) == 0)
			return true;
	return false;
}

/* Sealing binds the value to the card and the bundle; the key file's rules. */
static void
test_seal(void)
{
	char dir[] = "/tmp/cpk-datakey-XXXXXX", path[64];
	static const uint8_t plain[] = "\006holder\000\014Ada Lovelace";
	uint8_t hash[32], other[32];
	struct cpk_buf sealed = CPK_BUF_INIT, out = CPK_BUF_INIT;
	struct datakey *dk = NULL;
	struct card_record card;
	struct cpk_error err;

	memset(hash, 0x11, sizeof(hash));
	memset(other, 0x22, sizeof(other));
	if (mkdtemp(dir) == NULL) {
		CHECK(!"mkdtemp");
		return;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, DATAKEY_FILE);
	CHECK_STATUS(datakey_load(dir, &dk, &err), CPK_ERR_NOT_FOUND);
	CHECK_MSG(&err, "cardc registry keygen");
	CHECK_OK(datakey_generate(dir, &err));
	CHECK_STATUS(datakey_generate(dir, &err), CPK_ERR_STATE);
	CHECK_OK(datakey_load(dir, &dk, &err));
	CHECK_OK(datakey_seal(dk, "CARD-1", hash, plain, sizeof(plain) - 1, &sealed, &err));
	CHECK(sealed.len == 12 + sizeof(plain) - 1 + 16);
	CHECK(!contains(sealed.data, sealed.len, "Ada"));
	CHECK_OK(datakey_open(dk, "CARD-1", hash, sealed.data, sealed.len, &out, &err));
	CHECK_MEM(out.data, out.len, plain, sizeof(plain) - 1);
	/* Another card, another bundle, one bit changed, cut short: refused. */
	CHECK_STATUS(datakey_open(dk, "CARD-2", hash, sealed.data, sealed.len, &out, &err),
	    CPK_ERR_VERIFY);
	CHECK_STATUS(datakey_open(dk, "CARD-1", other, sealed.data, sealed.len, &out, &err),
	    CPK_ERR_VERIFY);
	sealed.data[20] ^= 1;
	CHECK_STATUS(datakey_open(dk, "CARD-1", hash, sealed.data, sealed.len, &out, &err),
	    CPK_ERR_VERIFY);
	CHECK_STATUS(datakey_open(dk, "CARD-1", hash, sealed.data, 27, &out, &err), CPK_ERR_VERIFY);
	/* The plain form decodes into a card record; malformed forms are refused. */
	card_record_init(&card);
	CHECK_OK(card_data_decode(plain, sizeof(plain) - 1, &card, &err));
	CHECK(card_data_get(&card, "holder") != NULL &&
	    strcmp(card_data_get(&card, "holder"), "Ada Lovelace") == 0);
	card_record_clear(&card);
	card_record_init(&card);
	CHECK_STATUS(card_data_decode(plain, sizeof(plain) - 2, &card, &err), CPK_ERR_PARSE);
	CHECK_STATUS(card_data_decode((const uint8_t *)"\000", 1, &card, &err), CPK_ERR_PARSE);
	card_record_clear(&card);
	datakey_free(&dk);
	/* A key file others may read is refused. */
	CHECK(chmod(path, 0640) == 0);
	CHECK_STATUS(datakey_load(dir, &dk, &err), CPK_ERR_PERMISSION);
	CHECK(dk == NULL);
	cpk_buf_free(&sealed);
	cpk_buf_free(&out);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	test_config();
	test_redact();
	test_states();
	test_seal();
	return test_summary("registry-config");
}
