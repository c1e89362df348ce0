/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: cardc serve's SERAM Remote Agent, without HTTP (serve_http.c
 * carries requests here). Handlers are plain functions over the request
 * body that fill a reply (HTTP status and JSON body); every session's
 * state lives in the registry (registry_session_*), so any process
 * serving the same registry continues any session.
 *
 * A session (docs/seram.md):
 *   POST /handshake         the agent's proposal (and the technician, if
 *                           the server asks for one): the session row is
 *                           made, state "handshake"
 *   POST /remoteManagement  report POLLING -> order 1: start, SELECT of the
 *                           security domain, GET DATA (CF, 9F7F, 42, 45, 66,
 *                           E0), INITIALIZE UPDATE with the server's
 *                           challenge; state "identify"
 *   POST /remoteManagement  report of order 1 -> the card is identified
 *                           (cpk_identify over the answers), its cryptogram
 *                           checked, a profile routed, the session bundle
 *                           compiled, signed and recorded (issued);
 *                           order 2: the whole script; state "script".
 *                           Or: notification "cpk/rejected/WHY" and stop;
 *                           state "rejected"
 *   POST /remoteManagement  report of order 2 -> the answers become a
 *                           receipt, verified R-MAC by R-MAC and imported
 *                           (loaded | failed); notification
 *                           "cpk/VERDICT/WHY" and stop; state "done" or
 *                           "failed"
 * Four HTTP round trips per card whatever the script's size. A report
 * sent again (the agent lost the answer) gets the same order again.
 */
#ifndef CPK_SERVE_H
#define CPK_SERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpk_bytes.h"
#include "cpk_error.h"

struct registry;
struct serve_routes;
struct cpk_signer;
struct cpk_trust;

/* The technician check: CPK_OK to let the session start, else a refusal (message in err). */
typedef cpk_status (*serve_auth_fn)(void *ctx, const char *user, const char *pin,
    struct cpk_error *err);
/* One line for the server's log (no key material, no PIN ever reaches it). */
typedef void (*serve_log_fn)(void *ctx, const char *session, const char *msg);

struct serve_opts {
	const char *keydir;			/* the card keys (-k) */
	const struct serve_routes *routes;
	struct registry *reg;
	const struct cpk_signer *signer;
	const struct cpk_trust *trust;		/* the signer's public key */
	uint8_t sd_aid[16];
	size_t sd_aid_len;
	uint8_t kvn;				/* INITIALIZE UPDATE key version, 00 default */
	uint32_t delay_ms;			/* "delay" of every order */
	serve_auth_fn auth;			/* NULL: no PIN check */
	void *auth_ctx;
	/*
	 * A session starts only with a technician's TLS client certificate
	 * (serve_http verifies it against its CA and passes its common name);
	 * with auth too, the PAM user must be that name.
	 */
	bool client_cert;
	serve_log_fn log;			/* may be NULL */
	void *log_ctx;
};

/*
 * The session's capability: the handshake's answer sets this cookie (a
 * random token; the registry keeps its SHA-256 only) and every
 * /remoteManagement request must carry it (RFC 6265, as the binding
 * suggests), so knowing a session id is not enough to drive its card.
 */
#define SERVE_COOKIE "cpk-session"
#define SERVE_TOKEN_LEN 32			/* bytes; 64 hex digits in the cookie */

struct serve_reply {
	unsigned http;				/* 200, 400, 401, 403, 404, 406, 409, 500 */
	struct cpk_buf body;			/* JSON (200) or a one-line text */
	char set_cookie[2 * SERVE_TOKEN_LEN + 1];	/* "": none */
};

/*
 * One request: path "/handshake" or "/remoteManagement" (with or without
 * the "/gp/seram" prefix of the spec's server URL), the session id from
 * the query, the SERVE_COOKIE cookie (NULL: none), the common name of the
 * client's verified TLS certificate (NULL: none). Always fills out (the
 * caller frees out->body).
 */
void serve_handle(const struct serve_opts *o, const char *path, const char *session_id,
    const char *cookie, const char *client, const uint8_t *body, size_t n,
    struct serve_reply *out);

/*
 * Tests only (cardc serve's CPK_SERVE_FAULT=store-fails-at-request:N):
 * serve_http sets it on the thread handling request N, and storing that
 * request's session step fails as if another process had moved it on.
 */
extern _Thread_local bool serve_fault_store;

/*
 * The SERAM rule for a lost Local Agent: every session not ended and
 * unchanged since older_than (Unix time) or before becomes "abandoned"; a
 * bundle it issued is marked failed ("the agent was lost mid-session:
 * nothing proves what the card did"; a later receipt may still prove it
 * loaded). *n receives how many sessions were abandoned.
 */
cpk_status serve_expire(const struct serve_opts *o, uint64_t older_than, size_t *n,
    struct cpk_error *err);

#endif
