/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: cardc serve's HTTPS layer (libmicrohttpd with TLS). It only reads
 * requests (POST, a body of at most SERAM_BODY_MAX bytes, the sessionId
 * query parameter), hands them to serve_handle and sends its reply; each
 * connection idle for SERVE_HTTP_TIMEOUT seconds is closed (the SERAM
 * binding's Remote Agent rule).
 */
#ifndef CPK_SERVE_HTTP_H
#define CPK_SERVE_HTTP_H

#include <stddef.h>

#include "cpk_error.h"
#include "serve.h"

#define SERVE_HTTP_TIMEOUT 30u
#define SERVE_HTTP_THREADS 8u
#define SERVE_PEM_MAX ((size_t)64 * 1024)
/* A handshake body (the only message before a session exists). */
#define SERVE_HANDSHAKE_MAX ((size_t)16 * 1024)

struct serve_http;

/*
 * Test faults (tests/e2e/online.sh): the process kills itself (SIGKILL)
 * when its Nth request arrives, before handling it (before), or once it
 * has handled it but before the answer leaves (after: the session moved
 * on, the agent never hears of it). 0: never.
 */
struct serve_fault {
	unsigned kill_before, kill_after;
	unsigned store_fails;		/* serve_fault_store for this request */
};

/*
 * Listen on listen ("HOST:PORT", "[V6]:PORT"; port 0: any) with the PEM
 * certificate chain and key files, in threads of its own. *port receives
 * the port bound. client_ca (PEM, NULL: none): clients are asked for a
 * certificate, and one that this CA signed and that is valid now gives the
 * request its subject's common name (serve_handle's `client`); any other
 * certificate is refused (403). fault may be NULL.
 */
cpk_status serve_http_start(const struct serve_opts *o, const char *listen, const char *cert,
    const char *key, const char *client_ca, const struct serve_fault *fault,
    struct serve_http **out, unsigned *port, struct cpk_error *err);
/* Stop listening, finish the requests in flight; NULL accepted. */
void serve_http_stop(struct serve_http **h);

#endif
