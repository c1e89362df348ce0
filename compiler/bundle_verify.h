/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: recompute a bundle with the card keys (cardc verify).
 *
 * The bundle's signature says who made it; this says that what it holds is
 * exactly what the card will accept, and shows what the card will do. In
 * command order, so that the mismatch reported is the first:
 *
 *   1. offline bundles: the first command must be exactly SELECT of the
 *      manifest's security domain (00 A4 04 00 Lc AID 00), the second
 *      exactly INITIALIZE UPDATE (80 50 KVN 00 08 host-challenge 00, KVN
 *      the manifest's or 00 for the default key set);
 *   2. the key set that reproduces the card cryptogram of the manifest's
 *      INITIALIZE UPDATE response (offline and session bundles both carry
 *      the host challenge and that response): every key file of a folder
 *      (or one file), those of the manifest's key version first, with its
 *      diversification or, for master keys that name none, each scheme
 *      that fits their algorithm (3DES: emv, visa2; AES: kdf3), with the
 *      manifest's KDD; a mismatch here is INITIALIZE UPDATE's (offline) or
 *      the manifest's (session: no command index);
 *   3. offline bundles: the card challenge must be the pseudo-random one
 *      for the manifest's counter and security domain;
 *   4. the card's side: EXTERNAL AUTHENTICATE (host cryptogram, C-MAC, the
 *      manifest's security level, the basic channel of INITIALIZE UPDATE),
 *      then every secured command through scp_unwrap_command (C-MAC chain,
 *      C-DEC); the Le byte of a secured command, which no MAC covers, must
 *      be 00 when present;
 *   5. each command, in plain form, goes to a callback.
 *
 * The first mismatch stops the run: CPK_ERR_VERIFY, a message naming the
 * command ("command 7 (LOAD 2/3): C-MAC mismatch", numbered from 1) and
 * its 0-based index in the result. Nothing here prints. Every key buffer
 * is cleansed.
 */
#ifndef CPK_BUNDLE_VERIFY_H
#define CPK_BUNDLE_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpk_bundle.h"
#include "cpk_error.h"
#include "gp_crypto.h"

#define BUNDLE_VERIFY_MAX_KEY_FILES 256
#define BUNDLE_VERIFY_PATH_MAX 512

struct bundle_verify_result {
	/* The key set that reproduced the card cryptogram ("" if none did). */
	char key_file[BUNDLE_VERIFY_PATH_MAX];
	bool master;				/* master keys, diversified */
	enum gp_diversification div;
	uint8_t key_kvn;			/* the key file's version */
	size_t key_files;			/* key files read */
	size_t key_files_refused;		/* key files that could not be read */
	/* Commands checked and handed to the callback. */
	size_t checked;
	/* The first mismatch (CPK_ERR_VERIFY). */
	bool mismatch;
	bool has_index;				/* false: the manifest's INITIALIZE UPDATE response */
	size_t index;				/* 0-based */
	char label[CPK_LABEL_MAX + 1];
};

/*
 * Called once per command, in order, after the command was checked.
 * plain: SELECT, INITIALIZE UPDATE and EXTERNAL AUTHENTICATE as they are;
 * secured commands verified and decrypted (CLA without the secure
 * messaging bit, data in the clear, Le as sent). A status other than
 * CPK_OK stops the run and is returned.
 */
typedef cpk_status (*bundle_verify_fn)(void *ctx, size_t index, const struct cpk_command *cmd,
    const uint8_t *plain, size_t plain_len, struct cpk_error *err);

struct scp_session;

/*
 * Called once per command right after bundle_verify_fn, with the card's
 * side of the session as it stands after that command: its MAC chain is
 * the one the command's response is protected with, so the caller can
 * check what a card answered (scp_unwrap_response: R-MAC, R-ENC) in
 * chain order. s is INITIALIZED for SELECT and INITIALIZE UPDATE, OPEN
 * from EXTERNAL AUTHENTICATE on. A status other than CPK_OK stops the run
 * and is returned.
 */
typedef cpk_status (*bundle_verify_response_fn)(void *ctx, size_t index,
    const struct cpk_command *cmd, struct scp_session *s, struct cpk_error *err);

struct bundle_verify_hooks {
	void *ctx;
	bundle_verify_fn command;		/* may be NULL */
	bundle_verify_response_fn response;	/* may be NULL */
};

/*
 * keys: a key set file or a folder whose *.yaml / *.yml files (not
 * starting with '.') are key set files (files that are not are counted in
 * key_files_refused and skipped; a single file given by name must load).
 * fn may be NULL. res must not be NULL.
 *
 * Returns CPK_OK when everything was reproduced; CPK_ERR_VERIFY on a
 * mismatch (res->mismatch); another status when the keys cannot be read
 * (CPK_ERR_NOT_FOUND: no key file at all) or the callback failed.
 */
cpk_status bundle_verify(const struct cpk_manifest *m, const struct cpk_command *cmds, size_t n,
    const char *keys, bundle_verify_fn fn, void *ctx, struct bundle_verify_result *res,
    struct cpk_error *err);

/*
 * The same walk with both hooks (cardc verify shows the plain commands,
 * cardc receipt verify checks the card's answers): bundle_verify is this
 * with the command hook only. h may be NULL.
 */
cpk_status bundle_verify_walk(const struct cpk_manifest *m, const struct cpk_command *cmds,
    size_t n, const char *keys, const struct bundle_verify_hooks *h,
    struct bundle_verify_result *res, struct cpk_error *err);

#endif
