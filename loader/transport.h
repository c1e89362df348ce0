/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: the card transport seen by the loader. pcsc.c implements it over
 * PC/SC (the only file that includes winscard.h); tests and fuzzers plug in
 * a scripted transport with the same operations.
 */
#ifndef CPK_TRANSPORT_H
#define CPK_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "cpk_bytes.h"
#include "cpk_error.h"

struct cpk_transport_ops {
	/* One raw exchange: resp receives response data || SW1 SW2. */
	cpk_status (*transmit)(void *ctx, const uint8_t *cmd, size_t n, struct cpk_buf *resp,
	    struct cpk_error *err);
	/* Exclusive access for the whole run (may be NULL); calls may nest. */
	cpk_status (*begin)(void *ctx, struct cpk_error *err);
	cpk_status (*end)(void *ctx, struct cpk_error *err);
	/*
	 * Ask the call in flight on another thread to give up (may be NULL).
	 * Safe to call from any thread while the transport is open; it does
	 * not wait, and a call that cannot be cancelled may go on.
	 */
	void (*cancel)(void *ctx);
	/* Release everything; ctx is invalid afterwards (may be NULL). */
	void (*close)(void *ctx);
};

#define CPK_TRANSPORT_MAX_ATR 33

struct cpk_transport {
	const struct cpk_transport_ops *ops;
	void *ctx;
	char name[128];			/* reader name, for messages */
	uint8_t atr[CPK_TRANSPORT_MAX_ATR];	/* the card's ATR when the transport knows it */
	size_t atr_len;			/* 0: unknown */
};

/* Largest response the exchange assembles from 61xx chains. */
#define CPK_TRANSPORT_MAX_RESPONSE 65538

/*
 * Send a command and return the complete response (data || SW):
 * - 61xx: fetch the rest with GET RESPONSE (00 C0 00 00 xx) and append it;
 * - 6Cxx: resend once with Le = xx, unless the command is secured (CLA bit
 *   04): a protected command is never sent twice.
 * resp is reset first.
 */
cpk_status cpk_transport_exchange(struct cpk_transport *t, const uint8_t *cmd, size_t n,
    struct cpk_buf *resp, struct cpk_error *err);

cpk_status cpk_transport_begin(struct cpk_transport *t, struct cpk_error *err);
cpk_status cpk_transport_end(struct cpk_transport *t, struct cpk_error *err);
/* The transport's cancel operation, if it has one (see cpk_transport_ops). */
void cpk_transport_cancel(struct cpk_transport *t);
/* Close and clear; NULL and closed transports are accepted. */
void cpk_transport_close(struct cpk_transport *t);

#endif
