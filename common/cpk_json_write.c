/* SPDX-License-Identifier: BSD-2-Clause */
/* cpk: a small JSON writer into a buffer (see cpk_json_write.h). */
#include "cpk_json_write.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpk_text.h"

void
cpk_jw_init(struct cpk_jw *j, struct cpk_buf *out, size_t in_max, size_t out_max,
    struct cpk_error *err)
{
	j->out = out;
	j->first = true;
	j->st = CPK_OK;
	j->err = err;
	j->in_max = in_max;
	j->out_max = out_max;
}

static void
nomem(struct cpk_jw *j)
{
	if (j->st == CPK_OK)
		j->st = cpk_error_set(j->err, CPK_ERR_NOMEM, "out of memory");
}

void
cpk_jw_put(struct cpk_jw *j, const void *p, size_t n)
{
	if (j->st == CPK_OK)
		j->st = cpk_buf_append(j->out, p, n, j->err);
}

void
cpk_jw_puts(struct cpk_jw *j, const char *s)
{
	cpk_jw_put(j, s, strlen(s));
}

void
cpk_jw_string(struct cpk_jw *j, const char *s)
{
	char *text;
	size_t n;

	if (j->st != CPK_OK)
		return;
	if ((text = malloc(j->out_max + 1)) == NULL) {
		nomem(j);
		return;
	}
	n = cpk_json_escape(s, strnlen(s, j->in_max), text, j->out_max + 1);
	cpk_jw_put(j, "\"", 1);
	cpk_jw_put(j, text, n);
	cpk_jw_put(j, "\"", 1);
	free(text);
}

void
cpk_jw_key(struct cpk_jw *j, const char *k, bool nl)
{
	if (!j->first)
		cpk_jw_puts(j, nl ? ",\n" : ",");
	j->first = false;
	cpk_jw_string(j, k);
	cpk_jw_put(j, ":", 1);
}

void
cpk_jw_str(struct cpk_jw *j, const char *k, const char *v, bool nl)
{
	cpk_jw_key(j, k, nl);
	if (v == NULL || *v == '\0')
		cpk_jw_puts(j, "null");
	else
		cpk_jw_string(j, v);
}

void
cpk_jw_hex(struct cpk_jw *j, const char *k, const uint8_t *p, size_t n, bool nl)
{
	char *hex;

	cpk_jw_key(j, k, nl);
	if (p == NULL) {
		cpk_jw_puts(j, "null");
		return;
	}
	if (j->st != CPK_OK)
		return;
	if (n > (SIZE_MAX - 1) / 2 || (hex = malloc(2 * n + 1)) == NULL) {
		nomem(j);
		return;
	}
	(void)cpk_hex_encode(p, n, hex, 2 * n + 1);
	cpk_jw_put(j, "\"", 1);
	cpk_jw_put(j, hex, 2 * n);
	cpk_jw_put(j, "\"", 1);
	free(hex);
}

void
cpk_jw_uint(struct cpk_jw *j, const char *k, unsigned long long v, bool nl)
{
	char num[24];

	cpk_jw_key(j, k, nl);
	snprintf(num, sizeof(num), "%llu", v);
	cpk_jw_puts(j, num);
}

void
cpk_jw_open(struct cpk_jw *j, const char *k, bool nl)
{
	if (k != NULL)
		cpk_jw_key(j, k, nl);
	cpk_jw_put(j, "{", 1);
	j->first = true;
}

void
cpk_jw_close(struct cpk_jw *j)
{
	cpk_jw_put(j, "}", 1);
	j->first = false;
}
