/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: the bundle reader (cardload, cardc inspect).
 *
 * cpk_bundle_open takes the bundle's bytes (from a file, stdin or HTTPS:
 * the caller reads them, at most CPK_BUNDLE_MAX_SIZE) and, before anything
 * touches a card reader:
 *
 *   1. checks the zip container from its central directory: exactly
 *      manifest.yaml, manifest.sig, script.bin in that order, no extra,
 *      missing or duplicate entry, stored (not compressed), not encrypted,
 *      each under its size cap; every local header where the directory
 *      puts it and saying what the directory says (name, flags, method,
 *      CRC, sizes), the entries back to back up to the directory; then
 *      copies each entry out of the bytes, its CRC-32 checked (no zip
 *      library: cardload does not map libzip and what it brings);
 *   2. checks the signature: key id against the trust anchors first, then
 *      Ed25519 over the exact bytes of manifest.yaml;
 *   3. parses the signed manifest (the format version first);
 *   4. checks script.bin's size and SHA-256 against the manifest;
 *   5. parses script.bin into command records and checks their order.
 *
 * Every refusal returns a status, a message and a fault class
 * (enum cpk_bundle_fault in cpk_bundle.h):
 *
 *   CPK_FAULT_CONTAINER         CPK_ERR_PARSE (CPK_ERR_RANGE: oversized)
 *   CPK_FAULT_SIGNATURE_FORMAT  CPK_ERR_PARSE / CPK_ERR_UNSUPPORTED
 *   CPK_FAULT_UNKNOWN_KEY       CPK_ERR_SIGNATURE, key id in the diag
 *   CPK_FAULT_BAD_SIGNATURE     CPK_ERR_SIGNATURE
 *   CPK_FAULT_VERSION           CPK_ERR_UNSUPPORTED
 *   CPK_FAULT_MANIFEST          CPK_ERR_PARSE / CPK_ERR_RANGE, with line:column
 *   CPK_FAULT_HASH              CPK_ERR_VERIFY
 *   CPK_FAULT_SCRIPT            CPK_ERR_PARSE / CPK_ERR_RANGE / CPK_ERR_UNSUPPORTED
 */
#ifndef CPK_BUNDLE_READ_H
#define CPK_BUNDLE_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpk_bundle.h"
#include "cpk_bytes.h"
#include "cpk_error.h"
#include "verify.h"

struct cpk_bundle;

/* What went wrong, beyond the status and message. */
struct cpk_bundle_diag {
	enum cpk_bundle_fault fault;
	bool has_key_id;			/* the signature entry could be split */
	uint8_t key_id[CPK_KEY_ID_LEN];		/* signer's key id, e.g. for an unknown key */
};

/*
 * For cardc inspect only: a signature that is malformed, from an unknown
 * key or bad does not stop the open; cpk_bundle_verified() then says false
 * and why. trust may be NULL with this flag. Never use it to load a card.
 */
#define CPK_BUNDLE_OPEN_INSPECT 0x01u

cpk_status cpk_bundle_open(const uint8_t *data, size_t len, const struct cpk_trust *trust,
    unsigned flags, struct cpk_bundle **out, struct cpk_bundle_diag *diag,
    struct cpk_error *err);

/* NULL is accepted; *b is set to NULL. */
void cpk_bundle_free(struct cpk_bundle **b);

const struct cpk_manifest *cpk_bundle_manifest(const struct cpk_bundle *b);
/* The exact signed bytes of manifest.yaml. */
const uint8_t *cpk_bundle_manifest_text(const struct cpk_bundle *b, size_t *len);

/* Commands for streaming, in order; index from 0. NULL past the end. */
size_t cpk_bundle_command_count(const struct cpk_bundle *b);
const struct cpk_command *cpk_bundle_command(const struct cpk_bundle *b, size_t index);
/* All cpk_bundle_command_count(b) commands, in order (valid while b is). */
const struct cpk_command *cpk_bundle_commands(const struct cpk_bundle *b);

/* SHA-256 of the whole .cpk file (for the run log). */
const uint8_t *cpk_bundle_sha256(const struct cpk_bundle *b);
/* The signer's key id (always known once open). */
const uint8_t *cpk_bundle_key_id(const struct cpk_bundle *b);
/* The trust file that verified the bundle, or NULL if it was not verified. */
const char *cpk_bundle_signer(const struct cpk_bundle *b);
/*
 * True if the signature verified. Otherwise (inspect mode only) why, if
 * non-NULL, receives the signature error and its fault.
 */
bool cpk_bundle_verified(const struct cpk_bundle *b, struct cpk_error *why,
    enum cpk_bundle_fault *fault);

/*
 * Read a bundle from a file descriptor (a file, a pipe, stdin) into out,
 * refusing more than CPK_BUNDLE_MAX_SIZE bytes (CPK_ERR_RANGE) without
 * reading past the cap. name is used in messages.
 */
cpk_status cpk_bundle_read_fd(int fd, const char *name, struct cpk_buf *out,
    struct cpk_error *err);
/* As cpk_bundle_read_fd on a path. */
cpk_status cpk_bundle_read_path(const char *path, struct cpk_buf *out, struct cpk_error *err);

#endif
