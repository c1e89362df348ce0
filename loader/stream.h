/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: streaming a verified bundle to a card. Each command is sent once,
 * in order; the run stops at the first status word outside the command's
 * accepted set. For an offline bundle the card's INITIALIZE UPDATE response
 * is compared with the expected one before EXTERNAL AUTHENTICATE, so a
 * wrong card or a stale bundle never sees a secured command.
 */
#ifndef CPK_STREAM_H
#define CPK_STREAM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bundle_read.h"
#include "cpk_error.h"
#include "iu_compare.h"
#include "transport.h"

enum cpk_stream_stop {
	CPK_STOP_NONE = 0,	/* every command was accepted */
	CPK_STOP_MISMATCH,	/* INITIALIZE UPDATE response differs: nothing secured was sent */
	CPK_STOP_PRE_CHANNEL,	/* SELECT or INITIALIZE UPDATE refused: nothing secured was sent */
	CPK_STOP_REFUSED,	/* the card refused EXTERNAL AUTHENTICATE or a secured command */
	CPK_STOP_TRANSPORT,	/* reader, card or smart-card service failure */
	CPK_STOP_INTERRUPTED,	/* a stop was requested between commands */
};

struct cpk_stream_result {
	enum cpk_stream_stop stop;
	size_t sent;		/* commands sent to the card */
	size_t accepted;	/* commands the card accepted */
	size_t index;		/* 0-based index of the command that stopped the run */
	uint16_t sw;		/* its status word (0 if none came back) */
	bool channel_open;	/* EXTERNAL AUTHENTICATE was accepted */
	struct cpk_iu_report iu;	/* for CPK_STOP_MISMATCH */
	/*
	 * Every command was accepted but the card could not be released
	 * (the transaction's end failed, e.g. the card was pulled right after
	 * the last answer): the run still succeeded; release_msg says why.
	 */
	bool release_failed;
	char release_msg[CPK_ERROR_MSG_LEN];
};

struct cpk_stream_hooks {
	void *ctx;
	/* Before a command is sent (may be NULL). */
	void (*before)(void *ctx, size_t index, const struct cpk_command *c);
	/* After its response (may be NULL); resp is data || SW, usec the exchange time. */
	void (*after)(void *ctx, size_t index, const struct cpk_command *c, const uint8_t *resp,
	    size_t n, uint64_t usec);
	/* Set to nonzero (by another thread or a signal handler) to stop before the next command. */
	const atomic_int *stop;
};

/*
 * Run the bundle's commands over an open transport, inside one
 * transaction. Returns CPK_OK when all were accepted; otherwise the status
 * of the stop (CPK_ERR_VERIFY mismatch, CPK_ERR_CARD refused, CPK_ERR_PCSC
 * or another transport status, CPK_ERR_INTERRUPTED) with *r saying where.
 */
cpk_status cpk_stream_run(struct cpk_transport *t, const struct cpk_bundle *b,
    const struct cpk_stream_hooks *hooks, struct cpk_stream_result *r, struct cpk_error *err);

#endif
