/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: a small JSON writer into a buffer, for the documents cardload
 * writes itself (the run log's records, the receipt). The first error
 * sticks in j->st; every call after it does nothing, so a writer checks
 * once at the end. Members are written in call order; nl puts a member on
 * a line of its own.
 */
#ifndef CPK_JSON_WRITE_H
#define CPK_JSON_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpk_bytes.h"
#include "cpk_error.h"

struct cpk_jw {
	struct cpk_buf *out;
	bool first;			/* no member yet in the open object */
	cpk_status st;
	struct cpk_error *err;
	size_t in_max;			/* a string's longest text read (bytes) */
	size_t out_max;			/* and written, escapes included */
};

/* Start writing into out; strings are cut to in_max bytes and out_max escaped bytes. */
void cpk_jw_init(struct cpk_jw *j, struct cpk_buf *out, size_t in_max, size_t out_max,
    struct cpk_error *err);
/* Raw bytes and text, as they are. */
void cpk_jw_put(struct cpk_jw *j, const void *p, size_t n);
void cpk_jw_puts(struct cpk_jw *j, const char *s);
/* A JSON string. */
void cpk_jw_string(struct cpk_jw *j, const char *s);
/* A member's key (and the comma before it). */
void cpk_jw_key(struct cpk_jw *j, const char *k, bool nl);
/* Members: a string (NULL or "": null), hex of p[0..n) (p NULL: null), a number. */
void cpk_jw_str(struct cpk_jw *j, const char *k, const char *v, bool nl);
void cpk_jw_hex(struct cpk_jw *j, const char *k, const uint8_t *p, size_t n, bool nl);
void cpk_jw_uint(struct cpk_jw *j, const char *k, unsigned long long v, bool nl);
/* Open an object member (the document when k is NULL), and close it. */
void cpk_jw_open(struct cpk_jw *j, const char *k, bool nl);
void cpk_jw_close(struct cpk_jw *j);

#endif
