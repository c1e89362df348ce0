/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: reading and verifying a receipt (cpk-receipt(5)) against its bundle
 * and the card keys, for `cardc receipt verify` and the registry's import.
 *
 * A receipt is untrusted: cardload wrote it without a key, anybody may have
 * edited it since. receipt_parse reads it strictly (every member, its type,
 * its length; unknown and duplicate members refused). receipt_verify then
 * checks it against the bundle it names: the bundle's SHA-256, profile,
 * mode, serial and command count, each command's number and label, the
 * stop point against the status words, the card's INITIALIZE UPDATE answer
 * against the bundle's; then it recomputes the session exactly as
 * `cardc verify` does (bundle_verify_walk: the same key search, cryptograms
 * and C-MAC chain) and, where the security level has R-MAC, verifies the
 * R-MAC of every response in chain order. The verdict:
 *
 *   RECEIPT_LOADED         every command accepted, every R-MAC valid
 *   RECEIPT_UNVERIFIED     every command accepted by status word, but the
 *                          level has no R-MAC: nothing proves the answers
 *   RECEIPT_FAILED         the run stopped at command N (a status word the
 *                          command does not accept, the card gone, an
 *                          interruption, a mismatch, nothing sent); every
 *                          R-MAC before it was valid
 *   RECEIPT_NOT_AUTHENTIC  the response to command N does not carry a valid
 *                          R-MAC: the card (or someone) faked it
 *   RECEIPT_REFUSED        the receipt does not fit the bundle
 *
 * Nothing here prints; every key buffer is cleansed (bundle_verify.c).
 *
 * An importer (the registry) needs nothing else: receipt_parse the bytes;
 * find the issued bundle by r->bundle_sha256 and open it (loader's
 * cpk_bundle_open, with the trust anchors); receipt_verify with the card
 * keys; then record the verdict: LOADED -> loaded; FAILED and
 * NOT_AUTHENTIC -> failed, with res->reason ("failed: the response to
 * command 7 (...) is not authentic ..."); UNVERIFIED -> loaded by status
 * words only (a policy choice: the level had no R-MAC); REFUSED -> the
 * receipt is not recorded. r->card (KDD, counter, CPLC, IIN, CIN) is the
 * card as cardload saw it, already checked against the bundle's INITIALIZE
 * UPDATE answer. res->captured holds the manifest's captures in its order;
 * store those that are present (never trust a value whose capture is not
 * present; with a level without R-MAC, present only means "answered").
 */
#ifndef CPK_RECEIPT_H
#define CPK_RECEIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bundle_verify.h"
#include "cpk_bundle.h"
#include "cpk_error.h"
#include "cpk_receipt.h"

#define RECEIPT_TIME_MAX 40
#define RECEIPT_ID_MAX 64		/* "seen-by", "mode", "result" */

struct receipt_command {
	size_t index;				/* 1-based */
	char label[CPK_LABEL_MAX + 1];
	uint16_t sw;
	uint8_t data[CPK_RECEIPT_RESPONSE_MAX];	/* the response before SW1 SW2 */
	size_t data_len;
	uint64_t usec;
};

struct receipt_card {
	bool present;				/* "card" is not null */
	char seen_by[RECEIPT_ID_MAX + 1];
	char serial[CPK_SERIAL_MAX + 1];	/* "" = null */
	uint8_t cplc[CPK_RECEIPT_CPLC_MAX];
	size_t cplc_len;			/* 0 = null */
	uint8_t iin[CPK_CARD_DATA_MAX], cin[CPK_CARD_DATA_MAX];
	size_t iin_len, cin_len;		/* 0 = null */
	bool has_kdd, has_kvn, has_scp, has_cryptogram, has_host_challenge;
	uint8_t kdd[10], kvn, scp;
	uint8_t counter[3];
	size_t counter_len;			/* 0 = null */
	uint8_t card_challenge[8];
	size_t challenge_len;			/* 0 = null */
	uint8_t card_cryptogram[8];
	uint8_t host_challenge[8];
	uint8_t iu_response[32];
	size_t iu_len;				/* 0 = null */
};

struct receipt {
	uint32_t format;
	char cardload[RECEIPT_ID_MAX + 1];
	char start[RECEIPT_TIME_MAX + 1], end[RECEIPT_TIME_MAX + 1];
	char *source, *reader;			/* NULL = null */
	char result[RECEIPT_ID_MAX + 1];	/* "" = null */
	bool has_bundle_sha256;
	uint8_t bundle_sha256[CPK_SHA256_LEN];
	bool has_key_id;
	uint8_t key_id[CPK_KEY_ID_LEN];
	char profile[CPK_MANIFEST_STR_MAX + 1];	/* "" = null */
	enum cpk_bundle_mode mode;		/* 0 = null */
	char serial[CPK_SERIAL_MAX + 1];	/* "" = null */
	size_t commands;			/* the bundle's count */
	struct receipt_card card;
	struct receipt_command *cmds;
	size_t ncmds;
	enum cpk_receipt_stop stop;
	size_t stop_index;			/* 0 = null */
	bool has_stop_sw;
	uint16_t stop_sw;
};

/*
 * Parse a receipt (at most CPK_RECEIPT_MAX_SIZE bytes). CPK_ERR_PARSE with
 * a message naming the member ("commands[3].sw: ..."), CPK_ERR_RANGE for a
 * limit, CPK_ERR_UNSUPPORTED for another format version.
 */
cpk_status receipt_parse(const uint8_t *p, size_t n, struct receipt **out,
    struct cpk_error *err);
void receipt_free(struct receipt **r);

enum receipt_verdict {
	RECEIPT_LOADED = 0,
	RECEIPT_UNVERIFIED,
	RECEIPT_FAILED,
	RECEIPT_NOT_AUTHENTIC,
	RECEIPT_REFUSED,
};

/* "loaded", "unverified", "failed", "not-authentic", "refused". */
const char *receipt_verdict_name(enum receipt_verdict v);

/*
 * A response the bundle's manifest names (a capture): the plain response
 * data, without status word and R-MAC, decrypted when the level has R-ENC.
 * Present only when the command was answered with a status word it
 * accepts and, when the level has R-MAC, its R-MAC verified (an accepted
 * status word that carries no R-MAC, such as 6A88, is not captured).
 */
struct receipt_capture {
	char name[CPK_CAPTURE_NAME_MAX + 1];
	size_t index;				/* 1-based command */
	bool present;				/* the command was answered (and its R-MAC verified when the level has R-MAC) */
	uint8_t value[CPK_RECEIPT_RESPONSE_MAX];	/* plain response data, no SW, no R-MAC */
	size_t len;
};

struct receipt_result {
	enum receipt_verdict verdict;
	size_t index;				/* 1-based command of the verdict, 0 none */
	char label[CPK_LABEL_MAX + 1];
	bool has_sw;
	uint16_t sw;
	bool rmac;				/* the level has R-MAC */
	size_t rmacs;				/* R-MACs verified */
	size_t answers;				/* commands answered in the receipt */
	size_t card_receipts;			/* delegated-management receipts verified (receipt_dm.h) */
	char reason[CPK_ERROR_MSG_LEN];		/* one sentence, for people */
	struct bundle_verify_result keys;	/* the key set found */
	struct receipt_capture captured[CPK_CAPTURE_MAX];
	size_t ncaptured;			/* = manifest's ncaptures */
};

/*
 * Verify a parsed receipt against its bundle (manifest, commands, and the
 * SHA-256 of the .cpk file) with the card keys (a key set file or folder,
 * as for bundle_verify). CPK_OK when a verdict was reached (res->verdict,
 * whichever it is); another status when it could not be (the keys cannot
 * be read, the bundle does not verify with them: the message says why).
 */
cpk_status receipt_verify(const struct receipt *r, const struct cpk_manifest *m,
    const struct cpk_command *cmds, size_t n, const uint8_t bundle_sha256[CPK_SHA256_LEN],
    const char *keys, struct receipt_result *res, struct cpk_error *err);

#endif
