/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: card records from JSON lines (see card.h), parsed by jansson.
 *
 * A record is one JSON object on one line whose values are all strings:
 * the card fields by name and per-card data as "data.NAME". jansson reports
 * syntax errors with a column; a value that is well-formed JSON but wrong
 * for its field is reported at the record's line, naming the key.
 */
#include "card_int.h"

#include <jansson.h>
#include <pthread.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cpk_bytes.h"

/*
 * Per-card data passes through jansson's strings: every block jansson frees
 * is cleansed first. The size is kept in front of the block.
 */
#define JHDR (sizeof(max_align_t) > sizeof(size_t) ? sizeof(max_align_t) : sizeof(size_t))

static void *
jalloc(size_t n)
{
	unsigned char *p;

	if (n > SIZE_MAX - JHDR || (p = malloc(n + JHDR)) == NULL)
		return NULL;
	memcpy(p, &n, sizeof(n));
	return p + JHDR;
}

static void
jfree(void *ptr)
{
	unsigned char *p;
	size_t n;

	if (ptr == NULL)
		return;
	p = (unsigned char *)ptr - JHDR;
	memcpy(&n, p, sizeof(n));
	cpk_cleanse(p, n + JHDR);
	free(p);
}

static pthread_once_t jalloc_once = PTHREAD_ONCE_INIT;

static void
jalloc_install(void)
{
	json_set_alloc_funcs(jalloc, jfree);
}

/*
 * A syntax error at jansson's column: in cpk's words where a card record
 * has its own rule, else jansson's message with control characters of the
 * input made visible.
 */
static void
syntax_error(const json_error_t *je, const char *file, unsigned lineno, struct cpk_error *err)
{
	char text[sizeof(je->text)];
	unsigned col = je->column > 0 ? (unsigned)je->column : 1;
	size_t i;

	switch (json_error_code(je)) {
	case json_error_duplicate_key:
		cpk_error_set_at(err, CPK_ERR_PARSE, file, lineno, col, "duplicate key");
		return;
	case json_error_null_character:
		cpk_error_set_at(err, CPK_ERR_PARSE, file, lineno, col,
		    "NUL character (\\u0000) in a string");
		return;
	case json_error_end_of_input_expected:
		cpk_error_set_at(err, CPK_ERR_PARSE, file, lineno, col,
		    "unexpected text after the JSON object");
		return;
	case json_error_invalid_utf8:
		cpk_error_set_at(err, CPK_ERR_PARSE, file, lineno, col, "invalid UTF-8");
		return;
	default:
		break;
	}
	memcpy(text, je->text, sizeof(text));
	text[sizeof(text) - 1] = '\0';
	for (i = 0; text[i] != '\0'; i++)
		if ((unsigned char)text[i] < 0x20 || text[i] == 0x7F)
			text[i] = '?';
	cpk_error_set_at(err, CPK_ERR_PARSE, file, lineno, col, "not a valid JSON record: %s", text);
}

static cpk_status
json_member(struct card_record *c, bool *seen, const char *key, const json_t *value,
    struct cpk_error *err)
{
	char q[64];
	int idx;

	if ((idx = card_lookup_key(key)) == -2)
		return card_unknown_flat_key(key, "key", err);
	if (!json_is_string(value)) {
		ydoc_quote(key, q, sizeof(q));
		return cpk_error_set(err, CPK_ERR_PARSE,
		    "the value of '%s' must be a string in double quotes", q);
	}
	return card_apply_flat(c, seen, idx, key, json_string_value(value), err);
}

cpk_status
card_parse_json(const char *name, unsigned lineno, const char *line, size_t len,
    struct card_record *out, struct cpk_error *err)
{
	json_error_t je;
	json_t *root = NULL, *value;
	const char *key;
	bool seen[C_COUNT];
	cpk_status ret = CPK_ERR_PARSE;
	int bad;

	pthread_once(&jalloc_once, jalloc_install);
	card_record_init(out);
	cpk_error_clear(err);
	memset(seen, 0, sizeof(seen));
	if (len > CARD_LINE_MAX) {
		ret = cpk_error_set_at(err, CPK_ERR_RANGE, name, lineno, 1,
		    "line too long (%zu bytes, at most %d)", len, CARD_LINE_MAX);
		goto out;
	}
	if ((root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je)) == NULL) {
		syntax_error(&je, name, lineno, err);
		goto out;
	}
	if (!json_is_object(root)) {
		ret = cpk_error_set_at(err, CPK_ERR_PARSE, name, lineno, 1,
		    "a card record line must be a JSON object ('{' ... '}')");
		goto out;
	}
	json_object_foreach(root, key, value) {
		if ((ret = json_member(out, seen, key, value, err)) != CPK_OK) {
			ydoc_locate(ret, err, name, lineno, 0);
			goto out;
		}
	}
	if ((ret = card_finish(out, seen, &bad, err)) != CPK_OK)
		ydoc_locate(ret, err, name, lineno, 0);
out:
	json_decref(root);
	if (ret != CPK_OK)
		card_record_clear(out);
	return ret;
}
