/* SPDX-License-Identifier: BSD-2-Clause */
/* cpk: buffers, cursors, strict hex. */
#include "cpk_bytes.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

void
cpk_cleanse(void *p, size_t n)
{
	if (p != NULL && n > 0)
		OPENSSL_cleanse(p, n);
}

bool
cpk_ct_equal(const void *a, const void *b, size_t n)
{
	if (n == 0)
		return true;
	return CRYPTO_memcmp(a, b, n) == 0;
}

/* The CRC of each nibble value: two lookups a byte, a table of 64 bytes. */
static const uint32_t crc32_nibble[16] = {
	0x00000000u, 0x1db71064u, 0x3b6e20c8u, 0x26d930acu,
	0x76dc4190u, 0x6b6b51f4u, 0x4db26158u, 0x5005713cu,
	0xedb88320u, 0xf00f9344u, 0xd6d6a3e8u, 0xcb61b38cu,
	0x9b64c2b0u, 0x86d3d2d4u, 0xa00ae278u, 0xbdbdf21cu,
};

uint32_t
cpk_crc32(uint32_t crc, const uint8_t *p, size_t n)
{
	size_t i;

	crc = ~crc;
	for (i = 0; i < n; i++) {
		crc ^= p[i];
		crc = (crc >> 4) ^ crc32_nibble[crc & 0x0fu];
		crc = (crc >> 4) ^ crc32_nibble[crc & 0x0fu];
	}
	return ~crc;
}

void
cpk_put_u16be(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

void
cpk_put_u32be(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

void
cpk_buf_init(struct cpk_buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void
cpk_buf_free(struct cpk_buf *b)
{
	if (b == NULL)
		return;
	if (b->data != NULL) {
		cpk_cleanse(b->data, b->cap);
		free(b->data);
	}
	cpk_buf_init(b);
}

void
cpk_buf_free_public(struct cpk_buf *b)
{
	if (b == NULL)
		return;
	free(b->data);
	cpk_buf_init(b);
}

void
cpk_buf_reset(struct cpk_buf *b)
{
	if (b->data != NULL)
		cpk_cleanse(b->data, b->len);
	b->len = 0;
}

void
cpk_buf_truncate(struct cpk_buf *b, size_t n)
{
	if (n > b->len)
		n = b->len;
	if (n == 0)
		return;	/* b->data may be NULL: no pointer arithmetic on it */
	cpk_cleanse(b->data + (b->len - n), n);
	b->len -= n;
}

cpk_status
cpk_buf_reserve(struct cpk_buf *b, size_t extra, struct cpk_error *err)
{
	size_t need, ncap;
	uint8_t *p;

	if (extra > CPK_BUF_MAX || b->len > CPK_BUF_MAX - extra)
		return cpk_error_set(err, CPK_ERR_RANGE,
		    "buffer would exceed %zu bytes", CPK_BUF_MAX);
	need = b->len + extra;
	if (need <= b->cap)
		return CPK_OK;
	/*
	 * A first reservation (an empty buffer) is taken at its size: a buffer
	 * sized before it is written (a script, a bundle's zip, a CAP's load
	 * file) holds no slack. Growth after that doubles, as before.
	 */
	if (b->cap == 0)
		ncap = need < 64 ? 64 : need;
	else
		ncap = b->cap;
	while (ncap < need)
		ncap = ncap > CPK_BUF_MAX / 2 ? CPK_BUF_MAX : ncap * 2;
	/*
	 * Never realloc: the old block may hold secrets, so copy into a new
	 * block and cleanse the old one before releasing it.
	 */
	p = malloc(ncap);
	if (p == NULL)
		return cpk_error_set(err, CPK_ERR_NOMEM, "out of memory (%zu bytes)", ncap);
	if (b->data != NULL) {
		memcpy(p, b->data, b->len);
		cpk_cleanse(b->data, b->cap);
		free(b->data);
	}
	b->data = p;
	b->cap = ncap;
	return CPK_OK;
}

cpk_status
cpk_buf_append(struct cpk_buf *b, const void *p, size_t n, struct cpk_error *err)
{
	cpk_status st;

	if (n == 0)
		return CPK_OK;
	if ((st = cpk_buf_reserve(b, n, err)) != CPK_OK)
		return st;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return CPK_OK;
}

cpk_status
cpk_buf_append_byte(struct cpk_buf *b, uint8_t v, struct cpk_error *err)
{
	return cpk_buf_append(b, &v, 1, err);
}

cpk_status
cpk_buf_append_u16be(struct cpk_buf *b, uint16_t v, struct cpk_error *err)
{
	uint8_t tmp[2];

	cpk_put_u16be(tmp, v);
	return cpk_buf_append(b, tmp, sizeof(tmp), err);
}

cpk_status
cpk_buf_set(struct cpk_buf *b, const void *p, size_t n, struct cpk_error *err)
{
	cpk_buf_reset(b);
	return cpk_buf_append(b, p, n, err);
}

void
cpk_cursor_init(struct cpk_cursor *c, const uint8_t *p, size_t n)
{
	c->p = p;
	c->left = p != NULL ? n : 0;
}

size_t
cpk_cursor_left(const struct cpk_cursor *c)
{
	return c->left;
}

bool
cpk_cursor_bytes(struct cpk_cursor *c, size_t n, const uint8_t **p)
{
	if (n > c->left)
		return false;
	*p = c->p;
	c->p += n;
	c->left -= n;
	return true;
}

bool
cpk_cursor_skip(struct cpk_cursor *c, size_t n)
{
	const uint8_t *p;

	return cpk_cursor_bytes(c, n, &p);
}

bool
cpk_cursor_copy(struct cpk_cursor *c, void *out, size_t n)
{
	const uint8_t *p;

	if (!cpk_cursor_bytes(c, n, &p))
		return false;
	if (n > 0)
		memcpy(out, p, n);
	return true;
}

bool
cpk_cursor_u8(struct cpk_cursor *c, uint8_t *v)
{
	return cpk_cursor_copy(c, v, 1);
}

bool
cpk_cursor_u16be(struct cpk_cursor *c, uint16_t *v)
{
	const uint8_t *p;

	if (!cpk_cursor_bytes(c, 2, &p))
		return false;
	*v = (uint16_t)((p[0] << 8) | p[1]);
	return true;
}

bool
cpk_cursor_u32be(struct cpk_cursor *c, uint32_t *v)
{
	const uint8_t *p;

	if (!cpk_cursor_bytes(c, 4, &p))
		return false;
	*v = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	    ((uint32_t)p[2] << 8) | p[3];
	return true;
}

int
cpk_hex_value(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

cpk_status
cpk_hex_decode(const char *s, size_t slen, uint8_t *out, size_t outcap,
    size_t *outlen, struct cpk_error *err)
{
	size_t i;
	int hi, lo;

	*outlen = 0;
	if (slen % 2 != 0)
		return cpk_error_set(err, CPK_ERR_PARSE,
		    "hex string has an odd number of digits (%zu)", slen);
	if (slen / 2 > outcap)
		return cpk_error_set(err, CPK_ERR_RANGE,
		    "hex string too long: %zu bytes, at most %zu", slen / 2, outcap);
	for (i = 0; i < slen; i += 2) {
		hi = cpk_hex_value(s[i]);
		lo = cpk_hex_value(s[i + 1]);
		if (hi < 0 || lo < 0) {
			size_t bad = hi < 0 ? i : i + 1;
			unsigned char ch = (unsigned char)s[bad];

			return cpk_error_set(err, CPK_ERR_PARSE,
			    ch >= 0x20 && ch < 0x7f ?
			    "invalid hex digit '%c' at position %zu" :
			    "invalid hex digit (byte 0x%02X) at position %zu",
			    ch, bad + 1);
		}
		out[i / 2] = (uint8_t)((hi << 4) | lo);
	}
	*outlen = slen / 2;
	return CPK_OK;
}

cpk_status
cpk_hex_decode_exact(const char *s, uint8_t *out, size_t want, struct cpk_error *err)
{
	size_t slen = strlen(s), got;
	cpk_status st;

	if (slen != want * 2) {
		if (slen % 2 == 0)
			return cpk_error_set(err, CPK_ERR_RANGE,
			    "expected %zu bytes (%zu hex digits), got %zu",
			    want, want * 2, slen / 2);
		return cpk_error_set(err, CPK_ERR_PARSE,
		    "hex string has an odd number of digits (%zu)", slen);
	}
	st = cpk_hex_decode(s, slen, out, want, &got, err);
	return st;
}

cpk_status
cpk_hex_decode_buf(const char *s, struct cpk_buf *out, struct cpk_error *err)
{
	size_t slen = strlen(s), got;
	cpk_status st;

	/*
	 * Fewer than 2 digits decode to no byte (or an odd-length error), and
	 * reserving 0 bytes may leave out->data NULL: NULL + 0 is undefined.
	 */
	if (slen < 2)
		return cpk_hex_decode(s, slen, NULL, 0, &got, err);
	if ((st = cpk_buf_reserve(out, slen / 2, err)) != CPK_OK)
		return st;
	st = cpk_hex_decode(s, slen, out->data + out->len, out->cap - out->len, &got, err);
	if (st == CPK_OK)
		out->len += got;
	return st;
}

cpk_status
cpk_hex_encode(const uint8_t *p, size_t n, char *out, size_t outcap)
{
	static const char digits[] = "0123456789ABCDEF";
	size_t i;

	if (outcap == 0)
		return CPK_ERR_RANGE;
	if (n > (outcap - 1) / 2) {
		out[0] = '\0';
		return CPK_ERR_RANGE;
	}
	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0x0f];
	}
	out[2 * n] = '\0';
	return CPK_OK;
}
