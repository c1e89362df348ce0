/* SPDX-License-Identifier: BSD-2-Clause */
/* cpk: UTF-8, JSON string text and times (see cpk_text.h). */
#include "cpk_text.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

size_t
cpk_utf8_char(const uint8_t *s, size_t n, uint32_t *cp)
{
	size_t len, i;
	uint32_t v, min;

	if (s[0] < 0x80) {
		len = 1; v = s[0]; min = 0;
	} else if (s[0] >= 0xC2 && s[0] <= 0xDF) {
		len = 2; v = s[0] & 0x1Fu; min = 0x80;
	} else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		len = 3; v = s[0] & 0x0Fu; min = 0x800;
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		len = 4; v = s[0] & 0x07u; min = 0x10000;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3Fu);
	}
	if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		return 0;
	if (cp != NULL)
		*cp = v;
	return len;
}

size_t
cpk_utf8_cut(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);

	if (n <= max)
		return n;
	/* Back over continuation bytes to the start of the character cut at max. */
	n = max;
	while (n > 0 && ((uint8_t)s[n] & 0xC0) == 0x80)
		n--;
	return n;
}

size_t
cpk_label_bad_offset(const char *text, size_t len)
{
	const uint8_t *s = (const uint8_t *)text;
	size_t i = 0, k;
	uint32_t cp;

	while (i < len) {
		if ((k = cpk_utf8_char(s + i, len - i, &cp)) == 0 || cp < 0x20 ||
		    (cp >= 0x7F && cp <= 0x9F))
			return i;
		i += k;
	}
	return len;
}

size_t
cpk_json_escape(const char *str, size_t n, char *out, size_t cap)
{
	const uint8_t *s = (const uint8_t *)str;
	size_t w = 0, k, plen;
	const char *piece;
	char esc[8];

	while (n > 0) {
		k = 1;
		piece = esc;
		plen = 2;
		esc[0] = '\\';
		if (*s == '"' || *s == '\\') {
			esc[1] = (char)*s;
		} else if (*s == '\n') {
			esc[1] = 'n';
		} else if (*s == '\t') {
			esc[1] = 't';
		} else if (*s < 0x20 || *s == 0x7F) {
			snprintf(esc, sizeof(esc), "\\u%04x", *s);
			plen = 6;
		} else if ((k = cpk_utf8_char(s, n, NULL)) == 0) {
			piece = "\\ufffd";
			plen = 6;
			k = 1;
		} else {
			piece = (const char *)s;
			plen = k;
		}
		if (plen >= cap - w)
			break;
		memcpy(out + w, piece, plen);
		w += plen;
		s += k;
		n -= k;
	}
	out[w] = '\0';
	return w;
}

void
cpk_time_format(uint64_t t, char *buf, size_t n)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (t > (uint64_t)253402300799u || gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, n, "?");
}

uint64_t
cpk_monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}
