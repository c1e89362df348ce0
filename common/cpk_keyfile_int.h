/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: what the key file reader (cpk_keyfile.c) and writer
 * (cpk_keyfile_write.c) share. Not part of the interface.
 */
#ifndef CPK_KEYFILE_INT_H
#define CPK_KEYFILE_INT_H

#include "cpk_bundle.h"

#define COMMENT_PREFIX "untrusted comment: "
#define COMMENT_MAX 256
#define BLOB_LEN (2 + CPK_KEY_ID_LEN + CPK_ED25519_KEY_LEN)	/* 42 */
#define B64_LEN (4 * ((BLOB_LEN + 2) / 3))			/* 56 */

/* "secret" / "public", and the two algorithm bytes of the blob. */
const char *cpk_keyfile_kind_word(enum cpk_keyfile_kind kind);
const char *cpk_keyfile_kind_alg(enum cpk_keyfile_kind kind);

#endif
