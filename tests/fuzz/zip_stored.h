/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk fuzz: a zip archive of stored entries, built byte by byte.
 *
 * Readers check each entry's CRC-32, so a mutation inside an entry of a
 * zip seed only ever tests the CRC check. The container targets (bundle,
 * cap) therefore also take their entries unzipped and store them with
 * this builder: the fuzzer then mutates what the entries hold, and the
 * archive around them is always consistent (sizes, offsets, CRCs). The
 * layout is what the bundle writer makes: local header and data of each
 * entry, central directory, end record; version 1.0, DOS date 1980-01-01,
 * no extra fields, Unix mode 0644.
 *
 * Functions here are static inline so that each target keeps a single
 * external symbol.
 */
#ifndef CPK_FUZZ_ZIP_STORED_H
#define CPK_FUZZ_ZIP_STORED_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cpk_bytes.h"
#include "fuzz.h"

#define FUZZ_ZIP_MAX_ENTRIES 32

struct fuzz_zip_entry {
	const char *name;
	size_t name_len;
	const uint8_t *data;
	size_t len;
};

static inline uint32_t
fuzz_zip_crc32(const uint8_t *p, size_t n)
{
	uint32_t crc = 0xffffffffu;
	size_t i;
	int k;

	for (i = 0; i < n; i++) {
		crc ^= p[i];
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
	}
	return ~crc;
}

static inline void
fuzz_zip_put(struct cpk_buf *b, uint32_t v, size_t bytes)
{
	uint8_t t[4];
	size_t i;

	for (i = 0; i < bytes; i++)
		t[i] = (uint8_t)(v >> (8 * i));
	FUZZ_CHECK(cpk_buf_append(b, t, bytes, NULL) == CPK_OK);
}

/* The fields local and central headers share, from "version needed" on. */
static inline void
fuzz_zip_common(struct cpk_buf *b, const struct fuzz_zip_entry *e)
{
	uint32_t crc = fuzz_zip_crc32(e->data, e->len);

	fuzz_zip_put(b, 10, 2);			/* version needed */
	fuzz_zip_put(b, 0, 2);			/* flags */
	fuzz_zip_put(b, 0, 2);			/* stored */
	fuzz_zip_put(b, 0, 2);			/* time */
	fuzz_zip_put(b, 0x21, 2);		/* date 1980-01-01 */
	fuzz_zip_put(b, crc, 4);
	fuzz_zip_put(b, (uint32_t)e->len, 4);
	fuzz_zip_put(b, (uint32_t)e->len, 4);
	fuzz_zip_put(b, (uint32_t)e->name_len, 2);
	fuzz_zip_put(b, 0, 2);			/* extra */
}

/* Replace out with the archive of e[0..n) (n <= FUZZ_ZIP_MAX_ENTRIES, names < 64 KiB). */
static inline void
fuzz_zip_stored(const struct fuzz_zip_entry *e, size_t n, struct cpk_buf *out)
{
	uint32_t offsets[FUZZ_ZIP_MAX_ENTRIES];
	size_t i, cd_start, cd_size;

	FUZZ_CHECK(n <= FUZZ_ZIP_MAX_ENTRIES);
	cpk_buf_reset(out);
	for (i = 0; i < n; i++) {
		offsets[i] = (uint32_t)out->len;
		fuzz_zip_put(out, 0x04034b50u, 4);
		fuzz_zip_common(out, &e[i]);
		FUZZ_CHECK(cpk_buf_append(out, e[i].name, e[i].name_len, NULL) == CPK_OK);
		FUZZ_CHECK(cpk_buf_append(out, e[i].data, e[i].len, NULL) == CPK_OK);
	}
	cd_start = out->len;
	for (i = 0; i < n; i++) {
		fuzz_zip_put(out, 0x02014b50u, 4);
		fuzz_zip_put(out, 0x033f, 2);		/* made by: Unix, 6.3 */
		fuzz_zip_common(out, &e[i]);
		fuzz_zip_put(out, 0, 2);		/* comment */
		fuzz_zip_put(out, 0, 2);		/* disk */
		fuzz_zip_put(out, 0, 2);		/* internal attributes */
		fuzz_zip_put(out, 0100644u << 16, 4);
		fuzz_zip_put(out, offsets[i], 4);
		FUZZ_CHECK(cpk_buf_append(out, e[i].name, e[i].name_len, NULL) == CPK_OK);
	}
	cd_size = out->len - cd_start;
	fuzz_zip_put(out, 0x06054b50u, 4);
	fuzz_zip_put(out, 0, 2);
	fuzz_zip_put(out, 0, 2);
	fuzz_zip_put(out, (uint32_t)n, 2);
	fuzz_zip_put(out, (uint32_t)n, 2);
	fuzz_zip_put(out, (uint32_t)cd_size, 4);
	fuzz_zip_put(out, (uint32_t)cd_start, 4);
	fuzz_zip_put(out, 0, 2);
}

#endif
