/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: the receipt cardload writes (cpk-receipt(5)): what the card answered
 * to every command of a bundle, for the bureau. cardload holds no key, so
 * it cannot tell a genuine answer from a faked one; the receipt carries the
 * answers exactly as they came, R-MAC included, for `cardc receipt verify`
 * (compiler/receipt.h) to check with the session keys.
 *
 * A run collects each exchange with cpk_receipt_log_add (from the stream's
 * "after" hook), then cpk_receipt_encode writes the JSON document: one
 * member per line and one command per line, so that a person can read it
 * and a diff shows what changed. Nothing here prints.
 */
#ifndef CPK_RECEIPT_WRITE_H
#define CPK_RECEIPT_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpk_bundle.h"
#include "cpk_bytes.h"
#include "cpk_error.h"
#include "cpk_receipt.h"

/* The answers, in the order they came. */
struct cpk_receipt_log {
	struct cpk_receipt_entry {
		size_t index;			/* 1-based command number */
		char label[CPK_LABEL_MAX + 1];
		size_t off, len;		/* the response in `resp` (data || SW) */
		uint64_t usec;			/* the exchange's time */
	} *v;
	size_t n, cap;
	struct cpk_buf resp;
};

#define CPK_RECEIPT_LOG_INIT { NULL, 0, 0, CPK_BUF_INIT }

/*
 * The card as cardload saw it. An offline load sees the INITIALIZE UPDATE
 * answer only (the bundle's own command); a session load (cardload
 * session) also the GET DATA answers of its identification.
 */
struct cpk_receipt_card {
	const char *seen_by;			/* "initialize-update" or "identify" */
	const char *serial;			/* NULL or "": null */
	const uint8_t *cplc;			/* NULL: null */
	size_t cplc_len;
	const uint8_t *iin, *cin;		/* NULL or length 0: null */
	size_t iin_len, cin_len;
	const uint8_t *host_challenge;		/* 8 bytes, NULL: null */
	const uint8_t *iu_response;		/* data without SW, NULL: null */
	size_t iu_len;
};

struct cpk_receipt_info {
	const char *version;			/* cardload's */
	const char *start, *end;		/* ISO-8601 UTC */
	const char *source, *reader, *result;	/* NULL or "": null */
	const uint8_t *bundle_sha256;		/* NULL: null */
	const uint8_t *key_id;			/* NULL: null */
	const struct cpk_manifest *m;		/* NULL: the bundle was not opened */
	size_t commands;			/* in the bundle */
	const struct cpk_receipt_card *card;	/* NULL: null (no INITIALIZE UPDATE answer) */
	enum cpk_receipt_stop stop;
	size_t stop_index;			/* 1-based; 0: null */
	bool has_stop_sw;
	uint16_t stop_sw;
};

/*
 * Keep one answer: resp is data || SW1 SW2, 2 to CPK_RECEIPT_RESPONSE_MAX
 * bytes (CPK_ERR_RANGE otherwise), index 1-based.
 */
cpk_status cpk_receipt_log_add(struct cpk_receipt_log *l, size_t index, const char *label,
    const uint8_t *resp, size_t n, uint64_t usec, struct cpk_error *err);
void cpk_receipt_log_free(struct cpk_receipt_log *l);

/* Append the receipt document (ending in a newline) to out. */
cpk_status cpk_receipt_encode(const struct cpk_receipt_info *info,
    const struct cpk_receipt_log *l, struct cpk_buf *out, struct cpk_error *err);

#endif
