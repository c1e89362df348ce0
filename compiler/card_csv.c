/* SPDX-License-Identifier: BSD-2-Clause */
/* cpk: card records from CSV rows: a header names the columns (see card.h). */
#include "card_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpk_bytes.h"

struct csv_field {
	size_t col;			/* 1-based column of the field's first character */
	char *text;
};

static void
csv_fields_free(struct csv_field *f, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (f[i].text != NULL) {
			cpk_cleanse(f[i].text, strlen(f[i].text));
			free(f[i].text);
		}
	}
	free(f);
}

/* Split one CSV line into fields. */
static cpk_status
csv_split(const char *file, unsigned lineno, const char *s, size_t n, struct csv_field **out,
    size_t *nout, struct cpk_error *err)
{
	struct csv_field *f = NULL, *nf;
	struct cpk_buf b = CPK_BUF_INIT;
	size_t pos = 0, nf_count = 0;
	cpk_status ret;

	if (n > 0 && s[n - 1] == '\n')
		n--;
	if (n > 0 && s[n - 1] == '\r')
		n--;
	if (n > CARD_LINE_MAX) {
		ret = cpk_error_set_at(err, CPK_ERR_RANGE, file, lineno, 1,
		    "line too long (%zu bytes, at most %d)", n, CARD_LINE_MAX);
		goto out;
	}
	for (;;) {
		size_t col = pos + 1;

		cpk_buf_reset(&b);
		if (pos < n && s[pos] == '"') {
			pos++;
			for (;;) {
				if (pos >= n) {
					ret = cpk_error_set_at(err, CPK_ERR_PARSE, file, lineno,
					    (unsigned)col, "unterminated quoted field");
					goto out;
				}
				if (s[pos] == '"' && pos + 1 < n && s[pos + 1] == '"') {
					ret = cpk_buf_append_byte(&b, '"', err);
					pos += 2;
				} else if (s[pos] == '"') {
					pos++;
					break;
				} else {
					ret = cpk_buf_append_byte(&b, (uint8_t)s[pos++], err);
				}
				if (ret != CPK_OK)
					goto out;
			}
			if (pos < n && s[pos] != ',') {
				ret = cpk_error_set_at(err, CPK_ERR_PARSE, file, lineno,
				    (unsigned)(pos + 1), "unexpected text after a quoted field");
				goto out;
			}
		} else {
			while (pos < n && s[pos] != ',') {
				if (s[pos] == '"' || s[pos] == '\0' || s[pos] == '\r' || s[pos] == '\n') {
					ret = cpk_error_set_at(err, CPK_ERR_PARSE, file, lineno,
					    (unsigned)(pos + 1),
					    "unexpected character in an unquoted field");
					goto out;
				}
				if ((ret = cpk_buf_append_byte(&b, (uint8_t)s[pos++], err)) != CPK_OK)
					goto out;
			}
		}
		/* An empty field may have no storage yet: memchr needs a pointer. */
		if (b.len > 0 && memchr(b.data, '\0', b.len) != NULL) {
			ret = cpk_error_set_at(err, CPK_ERR_PARSE, file, lineno, (unsigned)col,
			    "NUL character in a field");
			goto out;
		}
		if (nf_count == C_COUNT + CARD_DATA_MAX) {
			ret = cpk_error_set_at(err, CPK_ERR_RANGE, file, lineno, (unsigned)col,
			    "too many fields (at most %d)", C_COUNT + CARD_DATA_MAX);
			goto out;
		}
		if ((nf = realloc(f, (nf_count + 1) * sizeof(*nf))) == NULL) {
			ret = cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
			goto out;
		}
		f = nf;
		f[nf_count].col = col;
		if ((f[nf_count].text = malloc(b.len + 1)) == NULL) {
			ret = cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
			goto out;
		}
		if (b.len > 0)
			memcpy(f[nf_count].text, b.data, b.len);
		f[nf_count].text[b.len] = '\0';
		nf_count++;
		if (pos >= n)
			break;
		pos++;			/* the comma */
	}
	*out = f;
	*nout = nf_count;
	f = NULL;
	ret = CPK_OK;
out:
	if (f != NULL)
		csv_fields_free(f, nf_count);
	cpk_buf_free(&b);
	return ret;
}

void
card_csv_header_free(struct card_csv_header *h)
{
	size_t i;

	if (h == NULL)
		return;
	for (i = 0; h->data_name != NULL && i < h->ncols; i++)
		free(h->data_name[i]);
	free(h->data_name);
	free(h->field);
	memset(h, 0, sizeof(*h));
}

static cpk_status
csv_header_column(struct card_csv_header *h, size_t i, const struct csv_field *f, bool *seen,
    struct cpk_error *err)
{
	cpk_status ret;
	int idx = card_lookup_key(f->text);
	size_t k;

	if (idx == -2)
		return card_unknown_flat_key(f->text, "column", err);
	for (k = 0; k < i; k++) {
		if ((idx >= 0 && h->field[k] == idx) ||
		    (idx == -1 && h->field[k] == -1 && strcmp(h->data_name[k], f->text + 5) == 0))
			return cpk_error_set(err, CPK_ERR_PARSE, "duplicate column '%s'", f->text);
	}
	h->field[i] = idx;
	if (idx >= 0) {
		seen[idx] = true;
		return CPK_OK;
	}
	if ((ret = card_check_data_name(f->text + 5, err)) != CPK_OK)
		return ret;
	if ((h->data_name[i] = strdup(f->text + 5)) == NULL)
		return cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
	return CPK_OK;
}

cpk_status
card_csv_header_parse(const char *name, unsigned lineno, const char *line, size_t len,
    struct card_csv_header *out, struct cpk_error *err)
{
	struct csv_field *f = NULL;
	bool seen[C_COUNT];
	size_t n = 0, i;
	cpk_status ret;

	memset(out, 0, sizeof(*out));
	memset(seen, 0, sizeof(seen));
	cpk_error_clear(err);
	if ((ret = csv_split(name, lineno, line, len, &f, &n, err)) != CPK_OK)
		goto out;
	out->ncols = n;
	if ((out->field = calloc(n, sizeof(*out->field))) == NULL ||
	    (out->data_name = calloc(n, sizeof(*out->data_name))) == NULL) {
		ret = cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((ret = csv_header_column(out, i, &f[i], seen, err)) != CPK_OK) {
			ydoc_locate(ret, err, name, lineno, (unsigned)f[i].col);
			goto out;
		}
	}
	for (i = 0; i < C_COUNT; i++) {
		if (card_fields[i].required && !seen[i]) {
			ret = cpk_error_set_at(err, CPK_ERR_PARSE, name, lineno, 1,
			    "the CSV header has no column '%s' (a required field)", card_fields[i].key);
			goto out;
		}
	}
	ret = CPK_OK;
out:
	if (f != NULL)
		csv_fields_free(f, n);
	if (ret != CPK_OK)
		card_csv_header_free(out);
	return ret;
}

cpk_status
card_parse_csv(const struct card_csv_header *h, const char *name, unsigned lineno,
    const char *line, size_t len, struct card_record *out, struct cpk_error *err)
{
	struct csv_field *f = NULL;
	bool seen[C_COUNT];
	char key[CARD_DATA_NAME_MAX + 6];
	size_t n = 0, i;
	cpk_status ret;
	int bad = -1;

	card_record_init(out);
	memset(seen, 0, sizeof(seen));
	cpk_error_clear(err);
	if ((ret = csv_split(name, lineno, line, len, &f, &n, err)) != CPK_OK)
		goto out;
	if (n != h->ncols) {
		ret = cpk_error_set_at(err, CPK_ERR_PARSE, name, lineno, 1,
		    "the row has %zu fields but the header has %zu columns", n, h->ncols);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (f[i].text[0] == '\0')
			continue;
		snprintf(key, sizeof(key), "data.%s", h->field[i] == -1 ? h->data_name[i] : "");
		if ((ret = card_apply_flat(out, seen, h->field[i], key, f[i].text, err)) != CPK_OK) {
			ydoc_locate(ret, err, name, lineno, (unsigned)f[i].col);
			goto out;
		}
	}
	if ((ret = card_finish(out, seen, &bad, err)) != CPK_OK) {
		unsigned col = 1;

		for (i = 0; bad >= 0 && i < n; i++)
			if (h->field[i] == bad)
				col = (unsigned)f[i].col;
		ydoc_locate(ret, err, name, lineno, col);
	}
out:
	if (f != NULL)
		csv_fields_free(f, n);
	if (ret != CPK_OK)
		card_record_clear(out);
	return ret;
}
