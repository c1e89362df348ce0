/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: text both sides show or write: UTF-8 validation, cutting between
 * characters, label checks and JSON string escaping. The one copy of each.
 */
#ifndef CPK_TEXT_H
#define CPK_TEXT_H

#include <stddef.h>
#include <stdint.h>

/*
 * The valid UTF-8 character at s[0..n): its length (1..4) and, when cp is
 * not NULL, its code point; 0 for a bad or cut-off sequence (overlong forms,
 * surrogates and code points above U+10FFFF are bad). n must be > 0.
 */
size_t cpk_utf8_char(const uint8_t *s, size_t n, uint32_t *cp);

/*
 * The length of s cut to at most max bytes without splitting a character:
 * strlen(s) when that fits, else max backed over continuation bytes.
 */
size_t cpk_utf8_cut(const char *s, size_t max);

/*
 * A label is UTF-8 text without control characters (C0, DEL, C1): it is
 * shown on a terminal. The offset of the first bad byte, or len if all are
 * good.
 */
size_t cpk_label_bad_offset(const char *text, size_t len);

/*
 * s[0..n) as the inside of a JSON string (RFC 8259), into out[0..cap) and
 * NUL-terminated: '"' and '\' escaped, \n and \t short, other control
 * characters (and DEL) as \u00XX, a byte that is not valid UTF-8 as \ufffd.
 * Stops before a character whose text does not fit; returns the bytes
 * written (without the NUL). cap must be > 0.
 */
size_t cpk_json_escape(const char *s, size_t n, char *out, size_t cap);

/*
 * A Unix time as ISO 8601 UTC ("2026-12-03T17:31:54Z"), or "?" for a time
 * that cannot be shown (after year 9999). n >= 21 holds either.
 */
void cpk_time_format(uint64_t t, char *buf, size_t n);

/* Milliseconds of the monotonic clock, for time-outs and delays. */
uint64_t cpk_monotonic_ms(void);

#endif
