/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: byte handling shared by both sides.
 *
 * - struct cpk_buf: a growable byte buffer; its contents are cleansed
 *   whenever memory is released, so it may hold key material.
 * - struct cpk_cursor: a read cursor over untrusted bytes that refuses to
 *   read past what is left.
 * - strict hex: even number of hex digits, nothing else.
 * - constant-time comparison and cleansing.
 */
#ifndef CPK_BYTES_H
#define CPK_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpk_error.h"

/* Hard cap on any single buffer: 64 MiB. */
#define CPK_BUF_MAX ((size_t)64 * 1024 * 1024)

struct cpk_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
};

#define CPK_BUF_INIT { NULL, 0, 0 }

void cpk_buf_init(struct cpk_buf *b);
/* Cleanse and release the storage; the buffer is left empty and reusable. */
void cpk_buf_free(struct cpk_buf *b);
/*
 * Release the storage without cleansing it: only for a buffer that never
 * held a secret (a bundle's bytes, its script of protected commands and its
 * manifest, all written out as they are).
 */
void cpk_buf_free_public(struct cpk_buf *b);
/* Cleanse the contents and set the length to 0, keeping the storage. */
void cpk_buf_reset(struct cpk_buf *b);
/*
 * Make room for at least `extra` more bytes (CPK_ERR_RANGE beyond CPK_BUF_MAX):
 * exactly that much (at least 64 bytes) in an empty buffer, else by doubling.
 */
cpk_status cpk_buf_reserve(struct cpk_buf *b, size_t extra, struct cpk_error *err);
cpk_status cpk_buf_append(struct cpk_buf *b, const void *p, size_t n, struct cpk_error *err);
cpk_status cpk_buf_append_byte(struct cpk_buf *b, uint8_t v, struct cpk_error *err);
cpk_status cpk_buf_append_u16be(struct cpk_buf *b, uint16_t v, struct cpk_error *err);
/* Replace the contents with a copy of p[0..n). */
cpk_status cpk_buf_set(struct cpk_buf *b, const void *p, size_t n, struct cpk_error *err);
/* Drop bytes from the end (n <= len), cleansing them. */
void cpk_buf_truncate(struct cpk_buf *b, size_t n);

struct cpk_cursor {
	const uint8_t *p;
	size_t left;
};

void cpk_cursor_init(struct cpk_cursor *c, const uint8_t *p, size_t n);
size_t cpk_cursor_left(const struct cpk_cursor *c);
/* Each returns false, and consumes nothing, if fewer bytes remain than needed. */
bool cpk_cursor_u8(struct cpk_cursor *c, uint8_t *v);
bool cpk_cursor_u16be(struct cpk_cursor *c, uint16_t *v);
bool cpk_cursor_u32be(struct cpk_cursor *c, uint32_t *v);
/* Point *p at the next n bytes and consume them. */
bool cpk_cursor_bytes(struct cpk_cursor *c, size_t n, const uint8_t **p);
bool cpk_cursor_copy(struct cpk_cursor *c, void *out, size_t n);
bool cpk_cursor_skip(struct cpk_cursor *c, size_t n);

/*
 * Strict hex decoding of s[0..slen): an even number of characters, each
 * 0-9, a-f or A-F; no spaces, no prefix. Writes at most outcap bytes.
 */
cpk_status cpk_hex_decode(const char *s, size_t slen, uint8_t *out, size_t outcap,
    size_t *outlen, struct cpk_error *err);
/* As cpk_hex_decode, requiring exactly `want` bytes. */
cpk_status cpk_hex_decode_exact(const char *s, uint8_t *out, size_t want, struct cpk_error *err);
/* Append the decoded bytes of a NUL-terminated hex string to a buffer. */
cpk_status cpk_hex_decode_buf(const char *s, struct cpk_buf *out, struct cpk_error *err);
/*
 * Uppercase hex of p[0..n) into out (NUL-terminated). outcap must be at
 * least 2n+1; returns CPK_ERR_RANGE otherwise (out is then "").
 */
cpk_status cpk_hex_encode(const uint8_t *p, size_t n, char *out, size_t outcap);

/* The value of one hex digit (0-9, a-f, A-F), or -1. */
int cpk_hex_value(char ch);

/* Constant-time equality of two byte strings of the same length. */
bool cpk_ct_equal(const void *a, const void *b, size_t n);
/* Overwrite memory so that the compiler cannot elide it. */
void cpk_cleanse(void *p, size_t n);

/*
 * The CRC-32 of zip (ISO 3309, reflected polynomial 0xEDB88320) over
 * p[0..n), continuing from crc (0 to start).
 */
uint32_t cpk_crc32(uint32_t crc, const uint8_t *p, size_t n);

/* Big-endian stores. */
void cpk_put_u16be(uint8_t *p, uint16_t v);
void cpk_put_u32be(uint8_t *p, uint32_t v);

#endif
