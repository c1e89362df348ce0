/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: the SERAM Local Agent (cardload --server). It holds the card, never
 * a key: it proposes the session to the Remote Agent (cardc serve, or any
 * SERAM server), then plays each order's APDUs to the card in order and
 * reports the answers, until the server sends stopCommand.
 *
 * - One PC/SC transaction for the whole session (the card stays in the
 *   secure channel the server opened between orders).
 * - cpkHolderPin: before the list, SELECT of its AID and VERIFY of the card
 *   holder's PIN (holder_verify); any answer but 9000 and nothing of the
 *   list is sent. The report carries the status word, never the PIN.
 * - An APDU answered with a status word outside the order's cpkAccept
 *   list for it ends that list: the rest are reported as "" (not sent).
 *   A lost card ends it too (UNAVAILABLE_SE), as does a stop request
 *   (UNKNOWN_FAILURE, "interrupted").
 * - The binding's rules: the first request is a void POLLING report; the
 *   order's delay is waited before the next request (1 s when absent); a
 *   request that cannot be sent or answered (connection lost, 40 s
 *   without an answer) is sent again, the same bytes, for up to
 *   retry_for seconds (the binding: 5 minutes).
 * Nothing here prints: hooks tell the caller what happens.
 */
#ifndef CPK_SERAM_AGENT_H
#define CPK_SERAM_AGENT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpk_bundle.h"
#include "cpk_error.h"
#include "seram.h"
#include "transport.h"

#define CPK_AGENT_RETRY_DEFAULT 300u	/* seconds: the binding's 5 minutes */
#define CPK_AGENT_TIMEOUT 40u		/* seconds for one HTTP answer */
#define CPK_AGENT_POLL_DEFAULT 1000u	/* ms between requests when the order names none */
#define CPK_AGENT_REQUESTS_MAX 64	/* a session longer than this is the server's fault */

struct cpk_agent_opts {
	const char *url;		/* https://HOST[:PORT][/PATH]: /handshake is appended */
	const char *cacert;		/* NULL: the system's CA store */
	const char *client_cert, *client_key;	/* TLS client certificate (PEM), NULL: none */
	const char *session_id;		/* NULL: a fresh random one */
	const struct seram_technician *technician;	/* NULL: none sent */
	const char *se_id;		/* the SE as the handshake names it (reader) */
	unsigned retry_for;		/* seconds, 0: CPK_AGENT_RETRY_DEFAULT */
	const atomic_int *stop;		/* nonzero: stop before the next APDU or request */
	/*
	 * An order asks for the card holder's PIN (cpkHolderPin): the agent has
	 * SELECTed the application; this sends VERIFY with P2 reference over t
	 * (pinpad.h: a PIN read here, or the reader's PIN pad) and puts the
	 * card's answer in resp. An error that is not the card's (no PIN could
	 * be read) ends the order as UNKNOWN_FAILURE with its message;
	 * CPK_ERR_PCSC means the card was lost. NULL: such an order fails.
	 */
	cpk_status (*holder_verify)(void *ctx, struct cpk_transport *t, uint8_t reference,
	    struct cpk_buf *resp, struct cpk_error *err);
	void *holder_ctx;
};

struct cpk_agent_hooks {
	void *ctx;
	/* An SE RAM command starts: n APDUs (labels may be NULL). */
	void (*list)(void *ctx, size_t n, const char (*labels)[CPK_LABEL_MAX + 1]);
	/* Before and after each APDU (index from 0 within the list). */
	void (*before)(void *ctx, size_t index, const uint8_t *cmd, size_t n, const char *label);
	void (*after)(void *ctx, size_t index, const uint8_t *resp, size_t n, uint64_t usec);
	/* A request is sent again after a failure (attempt from 2). */
	void (*retry)(void *ctx, unsigned attempt, const struct cpk_error *why);
};

struct cpk_agent_result {
	char session_id[SERAM_SESSION_ID_MAX + 1];
	unsigned requests;		/* HTTP requests that got an answer */
	size_t lists, sent;		/* SE RAM commands run, APDUs sent in all */
	bool refused;			/* an APDU got a status word its list does not accept */
	char refused_label[CPK_LABEL_MAX + 1];
	size_t refused_index;		/* 1-based in its list */
	uint16_t refused_sw;
	bool card_lost;			/* the transport failed (err of the run says why) */
	char card_error[CPK_ERROR_MSG_LEN];
	bool interrupted;
	/* The card holder's PIN: asked for, the card's answer (SELECT's when that failed). */
	bool holder_asked, holder_answered, holder_refused;
	uint16_t holder_sw;
	char holder_error[CPK_ERROR_MSG_LEN];	/* no PIN could be read: why */
	bool stopped;			/* the server sent stopCommand */
	/* The last notification; cardc serve's: "cpk/OUTCOME/MESSAGE". */
	bool has_notification;
	char notification[SERAM_TEXT_MAX + 1];
};

/*
 * Run a whole session over the open transport t. CPK_OK when the server
 * ended it with stopCommand (r says how the card fared, the notification
 * what the server concluded); CPK_ERR_IO and others when the server could
 * not be reached (after the retries), answered an HTTP error (the message
 * carries its text; CPK_ERR_PERMISSION for 401/403) or sent a message that
 * is not SERAM; CPK_ERR_INTERRUPTED when stopped.
 */
cpk_status cpk_agent_run(struct cpk_transport *t, const struct cpk_agent_opts *o,
    const struct cpk_agent_hooks *h, struct cpk_agent_result *r, struct cpk_error *err);

#endif
