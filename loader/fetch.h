/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: fetching a bundle over HTTPS (libcurl). Only https:// is accepted,
 * for the first request and for every redirect; the server's certificate
 * and name are verified (against the system's CA store, or the CA file the
 * caller gives); the body is capped and the transfer timed out. The bytes
 * are not trusted: the caller opens them with cpk_bundle_open like a file.
 */
#ifndef CPK_FETCH_H
#define CPK_FETCH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "cpk_bytes.h"
#include "cpk_error.h"

#define CPK_FETCH_TIMEOUT_DEFAULT 120u		/* seconds, whole transfer */
#define CPK_FETCH_CONNECT_TIMEOUT_MAX 20u	/* seconds, connection set-up */
#define CPK_FETCH_MAX_REDIRECTS 5L
#define CPK_FETCH_SHOWN_MAX 1024		/* a URL as shown in messages, with its NUL */

struct cpk_fetch_opts {
	const char *cacert;	/* PEM file of CA certificates, NULL: the system's */
	unsigned timeout;	/* seconds for the whole transfer, 0: the default */
	size_t max_size;	/* body cap in bytes, 0: CPK_BUNDLE_MAX_SIZE */
	/* Nonzero (set by another thread or a signal handler; a lock-free atomic): give up within a
	 * second with CPK_ERR_INTERRUPTED. NULL: never. */
	const atomic_int *stop;
	/* A TLS client certificate (PEM) and its key (NULL: in the same file); NULL: none. */
	const char *client_cert, *client_key;
};

/*
 * Before libcurl is loaded, start the shared libcrypto it uses (through
 * libssl) without OpenSSL's configuration file, as cardload's own copy
 * is: with libcrypto linked into cardload statically that library is a
 * second copy with a state of its own. Call once, before any fetch; a
 * program that does not call it leaves libcurl's OpenSSL as it finds it.
 */
void cpk_fetch_tls_without_config(void);

/* Does s look like a URL ("scheme://...")? Says nothing about the scheme. */
bool cpk_fetch_is_url(const char *s);
/* Is s an https:// URL (the scheme in any case)? */
bool cpk_fetch_is_https(const char *s);

/*
 * The URL as it may be shown and logged: everything up to the last '@'
 * ("user:password@") becomes "***@" and a query or fragment becomes "?***"
 * (they often carry credentials or access tokens); scheme, host, port and
 * path stay. When an '@' follows the first '?' or '#', all but the scheme
 * is hidden. Truncated to fit cap bytes (with its NUL); cap 0 writes
 * nothing. Messages of cpk_fetch name URLs this way.
 */
void cpk_fetch_redact(const char *url, char *out, size_t cap);

/*
 * GET url into out (appended). Errors:
 *   CPK_ERR_UNSUPPORTED  not an https:// URL (also a redirect elsewhere)
 *   CPK_ERR_RANGE        the body is larger than the cap
 *   CPK_ERR_IO           connection, TLS, certificate, HTTP status, timeout
 *                        (the message says which, in plain words)
 */
cpk_status cpk_fetch(const char *url, const struct cpk_fetch_opts *o, struct cpk_buf *out,
    struct cpk_error *err);

/*
 * A client for several POST requests to one server (cardload --server): one
 * libcurl handle, so the TLS connection and cookies (RFC 6265, as the SERAM
 * binding asks) are kept between requests. Same rules as cpk_fetch: https://
 * only, the certificate and name verified, no redirect followed, the body
 * capped (o->max_size, 0: CPK_BUNDLE_MAX_SIZE), each request timed out
 * (o->timeout), o->stop honoured.
 */
struct cpk_fetch_client;

cpk_status cpk_fetch_client_new(const struct cpk_fetch_opts *o, struct cpk_fetch_client **out,
    struct cpk_error *err);
void cpk_fetch_client_free(struct cpk_fetch_client **c);
/*
 * POST body (content type ctype) to url; the answer's body is appended to
 * out and its HTTP status is *http (any status: the caller judges). Errors
 * as cpk_fetch's (CPK_ERR_IO: connection, TLS, time-out).
 */
cpk_status cpk_fetch_post(struct cpk_fetch_client *c, const char *url, const char *ctype,
    const uint8_t *body, size_t n, long *http, struct cpk_buf *out, struct cpk_error *err);

#endif
