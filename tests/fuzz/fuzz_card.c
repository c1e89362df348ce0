/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzz target: card records, card_parse_yaml, card_parse_json and CSV
 * (card_csv_header_parse on the first line, card_parse_csv on each
 * following line) (compiler/card.h).
 *
 * Byte 0 selects the form (modulo 3: YAML, JSON, CSV); the rest is the
 * text. Nothing crashes or leaks, and:
 * - a refused record is left empty and the error names the input; the
 *   outcome is the same whether or not the caller passes an error structure;
 * - an accepted record keeps the field table's rules: known SCP and i,
 *   counter of the protocol's length, AID and data sizes in range, serial
 *   and data names of their alphabets, data values within their limit, and
 *   a live INITIALIZE UPDATE exchange that agrees with the record;
 * - the forms agree: an accepted record, written as a JSON line, parses to
 *   the same record (unless a value is not UTF-8, which JSON cannot hold).
 *
 * It writes SCP02's and SCP03's numbers down itself (key algorithm, counter
 * and challenge lengths, i values) instead of asking the secure channel
 * table, on purpose: as an independent oracle, a wrong table row fails here
 * rather than agreeing with itself (docs/ADDING-A-SECURE-CHANNEL.md).
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "card.h"
#include "cpk_bytes.h"
#include "fuzz.h"

#define NAME "fuzz-card"

static bool
all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] != 0)
			return false;
	return true;
}

static bool
serial_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		char ch = s[i];

		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '_' || ((ch == '.' || ch == '-') && i > 0)))
			return false;
	}
	return i <= CARD_SERIAL_MAX;
}

static bool
data_name_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		    s[i] == '-'))
			return false;
	return i >= 1 && i <= CARD_DATA_NAME_MAX;
}

static void
check_record(const struct card_record *c)
{
	size_t i, k;

	FUZZ_CHECK(c->sd_aid.len >= GP_AID_MIN && c->sd_aid.len <= GP_AID_MAX);
	FUZZ_CHECK(c->scp == SCP02 || c->scp == SCP03);
	FUZZ_CHECK(scp_i_supported(c->scp, c->i, NULL) == CPK_OK);
	FUZZ_CHECK(c->kvn != 0);
	/* Without a live exchange the counter is the way to the card's session. */
	FUZZ_CHECK(c->counter_len == (c->scp == SCP02 ? 2u : 3u) ||
	    (c->counter_len == 0 && c->has_session));
	FUZZ_CHECK(c->iin_len <= sizeof(c->iin) && c->cin_len <= sizeof(c->cin));
	/* Extended length: absent, or ISO's bounds; the LOAD data it allows follows. */
	FUZZ_CHECK(c->max_command == 0 || (c->max_command >= CARD_SHORT_COMMAND &&
	    c->max_command <= CARD_EXT_COMMAND));
	FUZZ_CHECK(c->max_response == 0 || (c->max_response >= CARD_SHORT_RESPONSE &&
	    c->max_response <= CARD_EXT_RESPONSE));
	FUZZ_CHECK(card_max_lc(c) >= 255 && card_max_lc(c) <= 65535);
	FUZZ_CHECK(memchr(c->serial, '\0', sizeof(c->serial)) != NULL && serial_ok(c->serial));
	if (c->has_session) {
		FUZZ_CHECK(c->iu_len >= 28 && c->iu_len <= sizeof(c->iu_raw));
		FUZZ_CHECK(c->iu.scp == (uint8_t)c->scp && c->iu.kvn == c->kvn);
		FUZZ_CHECK(memcmp(c->iu.kdd, c->kdd, sizeof(c->kdd)) == 0);
		if (c->iu.counter_len > 0)
			FUZZ_CHECK(c->iu.counter_len == c->counter_len &&
			    memcmp(c->iu.counter, c->counter, c->counter_len) == 0);
	}
	FUZZ_CHECK(c->ndata <= CARD_DATA_MAX);
	for (i = 0; i < c->ndata; i++) {
		FUZZ_CHECK(data_name_ok(c->data[i].name));
		FUZZ_CHECK(c->data[i].value != NULL &&
		    strlen(c->data[i].value) <= CARD_DATA_VALUE_MAX);
		FUZZ_CHECK(card_data_get(c, c->data[i].name) == c->data[i].value);
		for (k = 0; k < i; k++)
			FUZZ_CHECK(strcmp(c->data[k].name, c->data[i].name) != 0);
	}
}

/* --- the record as a JSON line --- */

static void
put(struct cpk_buf *b, const char *s)
{
	FUZZ_CHECK(cpk_buf_append(b, s, strlen(s), NULL) == CPK_OK);
}

static void
put_string(struct cpk_buf *b, const char *s)
{
	char esc[8];

	put(b, "\"");
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch < 0x20 || ch == '"' || ch == '\\') {
			snprintf(esc, sizeof(esc), "\\u%04X", ch);
			put(b, esc);
		} else {
			FUZZ_CHECK(cpk_buf_append_byte(b, ch, NULL) == CPK_OK);
		}
	}
	put(b, "\"");
}

static void
put_hex(struct cpk_buf *b, const char *key, const uint8_t *p, size_t n)
{
	char hex[2 * 64 + 1];

	FUZZ_CHECK(cpk_hex_encode(p, n, hex, sizeof(hex)) == CPK_OK);
	put(b, ",\"");
	put(b, key);
	put(b, "\":\"");
	put(b, hex);
	put(b, "\"");
}

/* ,"key":"decimal" */
static void
put_size(struct cpk_buf *b, const char *key, size_t v)
{
	char num[32];

	put(b, ",\"");
	put(b, key);
	put(b, "\":\"");
	snprintf(num, sizeof(num), "%zu", v);
	put(b, num);
	put(b, "\"");
}

static bool
to_json(const struct card_record *c, struct cpk_buf *b)
{
	bool high = false;
	size_t i;
	const char *s;

	put(b, "{\"scp\":\"");
	put(b, c->scp == SCP02 ? "02" : "03");
	put(b, "\"");
	put_hex(b, "sd-aid", c->sd_aid.b, c->sd_aid.len);
	put_hex(b, "i", &c->i, 1);
	put_hex(b, "kvn", &c->kvn, 1);
	put_hex(b, "kdd", c->kdd, sizeof(c->kdd));
	if (c->counter_len > 0)
		put_hex(b, "counter", c->counter, c->counter_len);
	if (c->has_cplc)
		put_hex(b, "cplc", c->cplc, sizeof(c->cplc));
	if (c->iin_len > 0)
		put_hex(b, "iin", c->iin, c->iin_len);
	if (c->cin_len > 0)
		put_hex(b, "cin", c->cin, c->cin_len);
	if (c->serial[0] != '\0') {
		put(b, ",\"serial\":");
		put_string(b, c->serial);
	}
	if (c->max_command > 0)
		put_size(b, "max-command", c->max_command);
	if (c->max_response > 0)
		put_size(b, "max-response", c->max_response);
	if (c->has_session) {
		put_hex(b, "host-challenge", c->host_challenge, sizeof(c->host_challenge));
		put_hex(b, "iu-response", c->iu_raw, c->iu_len);
	}
	for (i = 0; i < c->ndata; i++) {
		put(b, ",\"data.");
		put(b, c->data[i].name);
		put(b, "\":");
		put_string(b, c->data[i].value);
		for (s = c->data[i].value; *s != '\0'; s++)
			high |= (unsigned char)*s >= 0x80;
	}
	put(b, "}");
	return high;
}

static bool
same_record(const struct card_record *a, const struct card_record *b)
{
	size_t i;

	if (a->sd_aid.len != b->sd_aid.len || memcmp(a->sd_aid.b, b->sd_aid.b, a->sd_aid.len) != 0 ||
	    a->scp != b->scp || a->i != b->i || a->kvn != b->kvn ||
	    memcmp(a->kdd, b->kdd, sizeof(a->kdd)) != 0 ||
	    a->counter_len != b->counter_len || memcmp(a->counter, b->counter, a->counter_len) != 0 ||
	    a->has_cplc != b->has_cplc || (a->has_cplc && memcmp(a->cplc, b->cplc, sizeof(a->cplc))) ||
	    a->iin_len != b->iin_len || memcmp(a->iin, b->iin, a->iin_len) != 0 ||
	    a->cin_len != b->cin_len || memcmp(a->cin, b->cin, a->cin_len) != 0 ||
	    strcmp(a->serial, b->serial) != 0 || a->has_session != b->has_session ||
	    a->max_command != b->max_command || a->max_response != b->max_response ||
	    a->ndata != b->ndata)
		return false;
	if (a->has_session && (memcmp(a->host_challenge, b->host_challenge,
	    sizeof(a->host_challenge)) != 0 || a->iu_len != b->iu_len ||
	    memcmp(a->iu_raw, b->iu_raw, a->iu_len) != 0))
		return false;
	for (i = 0; i < a->ndata; i++)
		if (strcmp(a->data[i].name, b->data[i].name) != 0 ||
		    strcmp(a->data[i].value, b->data[i].value) != 0)
			return false;
	return true;
}

static void
check_accepted(const struct card_record *c)
{
	struct cpk_buf json = CPK_BUF_INIT;
	struct card_record again;
	bool high;
	cpk_status st;

	check_record(c);
	high = to_json(c, &json);
	st = card_parse_json("again", 1, (const char *)json.data, json.len, &again, NULL);
	FUZZ_CHECK(st == CPK_OK || high);
	if (st == CPK_OK) {
		FUZZ_CHECK(same_record(c, &again));
		card_record_clear(&again);
	}
	cpk_buf_free(&json);
}

static void
check_result(cpk_status st, struct card_record *c, const struct cpk_error *err)
{
	if (st == CPK_OK) {
		check_accepted(c);
		card_record_clear(c);
		return;
	}
	FUZZ_CHECK(st == CPK_ERR_PARSE || st == CPK_ERR_RANGE || st == CPK_ERR_UNSUPPORTED);
	FUZZ_CHECK(err->status == st && err->msg[0] != '\0');
	FUZZ_CHECK(strcmp(err->file, NAME) == 0);
	FUZZ_CHECK(all_zero(c, sizeof(*c)));
}

static void
run_csv(const char *s, size_t n)
{
	struct card_csv_header h, h2;
	struct card_record rec;
	struct cpk_error err;
	const char *nl;
	size_t len;
	unsigned lineno = 1;
	cpk_status st, quiet;

	nl = memchr(s, '\n', n);
	len = nl != NULL ? (size_t)(nl - s) + 1 : n;
	st = card_csv_header_parse(NAME, lineno, s, len, &h, &err);
	FUZZ_CHECK(card_csv_header_parse(NAME, lineno, s, len, &h2, NULL) == st);
	card_csv_header_free(&h2);
	if (st != CPK_OK) {
		FUZZ_CHECK(st == CPK_ERR_PARSE || st == CPK_ERR_RANGE);
		FUZZ_CHECK(err.status == st && err.msg[0] != '\0');
		FUZZ_CHECK(strcmp(err.file, NAME) == 0);
		FUZZ_CHECK(all_zero(&h, sizeof(h)));
		return;
	}
	FUZZ_CHECK(h.ncols >= 1 && h.field != NULL && h.data_name != NULL);
	s += len;
	n -= len;
	while (n > 0) {
		nl = memchr(s, '\n', n);
		len = nl != NULL ? (size_t)(nl - s) + 1 : n;
		lineno++;
		cpk_error_clear(&err);
		/* The outcome does not depend on whether the caller wants the message. */
		quiet = card_parse_csv(&h, NAME, lineno, s, len, &rec, NULL);
		card_record_clear(&rec);
		st = card_parse_csv(&h, NAME, lineno, s, len, &rec, &err);
		FUZZ_CHECK(st == quiet);
		check_result(st, &rec, &err);
		s += len;
		n -= len;
	}
	card_csv_header_free(&h);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct card_record rec;
	struct cpk_error err;
	cpk_status st, quiet;

	if (size < 1)
		return 0;
	cpk_error_clear(&err);
	switch (data[0] % 3) {
	case 0:
		quiet = card_parse_yaml(NAME, data + 1, size - 1, &rec, NULL);
		card_record_clear(&rec);
		st = card_parse_yaml(NAME, data + 1, size - 1, &rec, &err);
		FUZZ_CHECK(st == quiet);
		check_result(st, &rec, &err);
		break;
	case 1:
		quiet = card_parse_json(NAME, 1, (const char *)data + 1, size - 1, &rec, NULL);
		card_record_clear(&rec);
		st = card_parse_json(NAME, 1, (const char *)data + 1, size - 1, &rec, &err);
		FUZZ_CHECK(st == quiet);
		check_result(st, &rec, &err);
		break;
	default:
		run_csv((const char *)data + 1, size - 1);
		break;
	}
	return 0;
}
