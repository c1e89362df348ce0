/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: trust anchors and the manifest signature check (cardload).
 *
 * A trust set holds the bureau public keys cardload accepts: *.pub files
 * (cpk(5) key files) from --trust FILE|DIR or the default directories the
 * caller chooses. The check reads the key id in front of the signature and
 * looks it up first, so an unknown key is named ("signed by an unknown key
 * 1a2b3c4d5e6f7a8b") before any cryptography; then Ed25519 through
 * OpenSSL's EVP verify interface. The loader holds no private key.
 */
#ifndef CPK_VERIFY_H
#define CPK_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpk_bundle.h"
#include "cpk_error.h"

#define CPK_TRUST_MAX_KEYS 64
#define CPK_TRUST_DIR_MAX_FILES 1024	/* directory entries looked at */
#define CPK_TRUST_ORIGIN_MAX 256

struct cpk_trust;

struct cpk_trust_key {
	struct cpk_pubkey key;
	char origin[CPK_TRUST_ORIGIN_MAX];	/* file it came from, or a caller's label */
};

cpk_status cpk_trust_new(struct cpk_trust **out, struct cpk_error *err);
/* NULL is accepted; *t is set to NULL. */
void cpk_trust_free(struct cpk_trust **t);

/* Add one key. The same key twice is accepted once. CPK_ERR_RANGE past CPK_TRUST_MAX_KEYS. */
cpk_status cpk_trust_add_key(struct cpk_trust *t, const struct cpk_pubkey *pk,
    const char *origin, struct cpk_error *err);

/* Add the key of one public key file (at most CPK_KEYFILE_MAX bytes). */
cpk_status cpk_trust_add_file(struct cpk_trust *t, const char *path, struct cpk_error *err);

/*
 * Add every "*.pub" file of a directory (names starting with '.' are
 * skipped), in name order. A file that is not a valid public key is an
 * error naming it. *added (may be NULL) receives the number of files read.
 * CPK_ERR_NOT_FOUND if the directory does not exist.
 */
cpk_status cpk_trust_add_dir(struct cpk_trust *t, const char *dir, size_t *added,
    struct cpk_error *err);

/* A file or a directory, by what path is. */
cpk_status cpk_trust_add_path(struct cpk_trust *t, const char *path, struct cpk_error *err);

size_t cpk_trust_count(const struct cpk_trust *t);
/* The key with this id, or NULL. */
const struct cpk_trust_key *cpk_trust_find(const struct cpk_trust *t,
    const uint8_t key_id[CPK_KEY_ID_LEN]);

/*
 * Check manifest.sig over msg. On return *fault says what went wrong
 * (CPK_FAULT_NONE on success) and key_id holds the signer's key id as soon
 * as the signature entry could be split (key_id may be NULL).
 *   CPK_FAULT_SIGNATURE_FORMAT  CPK_ERR_PARSE / CPK_ERR_UNSUPPORTED
 *   CPK_FAULT_UNKNOWN_KEY       CPK_ERR_SIGNATURE "signed by an unknown key <id>"
 *   CPK_FAULT_BAD_SIGNATURE     CPK_ERR_SIGNATURE "bad signature ..."
 * *signer (may be NULL) points at the trust entry that verified.
 */
cpk_status cpk_verify_signature(const struct cpk_trust *t, const uint8_t *msg, size_t n,
    const uint8_t *sig, size_t sig_len, uint8_t key_id[CPK_KEY_ID_LEN],
    const struct cpk_trust_key **signer, enum cpk_bundle_fault *fault, struct cpk_error *err);

#endif
