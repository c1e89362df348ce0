/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: the receipt format's shared definitions (cpk-receipt(5)). cardload
 * writes receipts (loader/receipt.c), cardc reads and verifies them
 * (compiler/receipt.c); both take the version, the limits and the names of
 * the stop reasons from here.
 */
#ifndef CPK_RECEIPT_FMT_H
#define CPK_RECEIPT_FMT_H

#include <stdbool.h>
#include <stddef.h>

#define CPK_RECEIPT_FORMAT 1
/* A whole receipt file: 32768 commands of 258-byte responses fit. */
#define CPK_RECEIPT_MAX_SIZE ((size_t)32 * 1024 * 1024)
/* One response: 256 data bytes (R-MAC included) and SW1 SW2. */
#define CPK_RECEIPT_RESPONSE_MAX 258
#define CPK_RECEIPT_STR_MAX 1024	/* reader, source, result: longer is refused */
#define CPK_RECEIPT_CPLC_MAX 64

/* Where and why the run stopped ("stop" member). */
enum cpk_receipt_stop {
	CPK_RECEIPT_DONE = 1,		/* every command accepted */
	CPK_RECEIPT_REFUSED,		/* the card answered a status word the command does not accept */
	CPK_RECEIPT_MISMATCH,		/* INITIALIZE UPDATE answered, not what the bundle expects */
	CPK_RECEIPT_CARD_GONE,		/* card, reader or smart-card service lost */
	CPK_RECEIPT_INTERRUPTED,	/* a signal stopped the run */
	CPK_RECEIPT_NOT_SENT,		/* nothing reached the card */
};

/* "done", "refused", "mismatch", "card-gone", "interrupted", "not-sent"; "?" otherwise. */
const char *cpk_receipt_stop_name(enum cpk_receipt_stop s);
/* The reverse; false for any other text. */
bool cpk_receipt_stop_parse(const char *s, enum cpk_receipt_stop *out);

#endif
