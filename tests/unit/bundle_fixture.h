/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk unit tests: a fixed bundle (manifest and commands), a raw zip
 * builder for hostile containers, and small file helpers. Shared by
 * test_bundle_format, test_bundle_read and test_bundle_write.
 */
#ifndef CPK_BUNDLE_FIXTURE_H
#define CPK_BUNDLE_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpk_bundle.h"
#include "cpk_bytes.h"

#define FIXTURE_COMMANDS 9
#define FIXTURE_GOLDEN "tests/golden/bundle-v1.cpk"
#define FIXTURE_TEST_PUB "keys/test-signing.pub"
#define FIXTURE_TEST_KEY "keys/test-signing.key"
#define FIXTURE_TEST_KEY_ID "f620c8c4c446de5d"

/* An offline SCP03 (i=70, level 33) manifest without the script fields. */
void fixture_manifest(struct cpk_manifest *m);
/* The matching commands (APDUs in static storage). */
void fixture_commands(struct cpk_command cmds[FIXTURE_COMMANDS]);
/* One command: label, APDU hex, flags, accepted status words ("9000", "61xx"). */
void fixture_command(struct cpk_command *c, const char *label, const char *apdu_hex,
    uint8_t flags, const char *sw1, const char *sw2);

/* A zip built byte by byte, so tests can make what libzip never writes. */
struct zraw_entry {
	const char *name;
	size_t name_len;	/* 0: strlen(name) */
	const uint8_t *data;
	size_t len;
	uint16_t method;	/* written as is; data stays as given */
	uint16_t flags;
	uint32_t claim_size;	/* 0: len; else written as both sizes */
	bool bad_crc;
};
void zraw_build(const struct zraw_entry *e, size_t n, struct cpk_buf *out);
uint32_t zraw_crc32(const uint8_t *p, size_t n);

/* The three entries of a bundle, split by the reader's rules (aborts on failure). */
struct split_bundle {
	struct cpk_buf manifest, sig, script;
};
void split_bundle(const uint8_t *p, size_t n, struct split_bundle *out);
void split_bundle_free(struct split_bundle *s);
/* The three entries, in order, for zraw_build (e[3..] untouched). */
void zraw_split_entries(const struct split_bundle *s, struct zraw_entry e[3]);
/* Rebuild a standard three-entry container with zraw_build. */
void zraw_bundle(const uint8_t *manifest, size_t mlen, const uint8_t *sig, size_t slen,
    const uint8_t *script, size_t sclen, struct cpk_buf *out);

/* memmem without _GNU_SOURCE. */
const void *find_mem(const void *hay, size_t n, const void *needle, size_t m);

/* Files. Each aborts the test program on an unexpected failure. */
void slurp(const char *path, struct cpk_buf *out);
void spit(const char *path, const void *p, size_t n, unsigned mode);
char *path_join(const char *a, const char *b);	/* malloc'd */
char *temp_dir(void);				/* malloc'd, created */
void remove_tree(const char *dir);		/* files in dir, then dir */
size_t dir_count(const char *dir);		/* entries other than . and .. */
/* Copy the committed test private key to dir/test-signing.key with mode 0600. */
char *copy_test_key(const char *srcroot, const char *dir);
/* The test public key, copied into dir with mode 0644 (returns the path). */
char *copy_test_pub(const char *srcroot, const char *dir);

#endif
