/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: cardc serve's HTTPS layer (see serve_http.h).
 */
#include "serve_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <openssl/crypto.h>

#include "cpk_file.h"
#include "seram.h"

struct serve_http {
	struct MHD_Daemon *d;
	const struct serve_opts *o;
	int fd;
	struct cpk_buf cert, key, ca;
	struct serve_fault fault;
	atomic_uint requests;
};

/* One request's body, gathered over the handler's calls. */
struct request {
	struct cpk_buf body;
	bool too_large;
	unsigned number;		/* from 1, in this process */
};

static enum MHD_Result
send_reply(struct MHD_Connection *c, unsigned http, const uint8_t *p, size_t n, bool json,
    const char *cookie)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	char set[160];

	if ((r = MHD_create_response_from_buffer(n, (void *)(uintptr_t)p,
	    MHD_RESPMEM_MUST_COPY)) == NULL)
		return MHD_NO;
	(void)MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, json ?
	    SERAM_DATA_FORMAT : "text/plain; charset=utf-8");
	(void)MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (cookie != NULL && cookie[0] != '\0') {
		snprintf(set, sizeof(set), "%s=%s; Secure; HttpOnly; Path=/", SERVE_COOKIE, cookie);
		ret = MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, set);
		cpk_cleanse(set, sizeof(set));
		if (ret != MHD_YES) {
			MHD_destroy_response(r);
			return MHD_NO;
		}
	}
	ret = MHD_queue_response(c, http, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
send_text(struct MHD_Connection *c, unsigned http, const char *text)
{
	return send_reply(c, http, (const uint8_t *)text, strlen(text), false, NULL);
}

/*
 * The common name of the client's certificate, verified against the CA
 * (1..SERAM_USER_MAX printable ASCII characters): 1 found, 0 no
 * certificate, -1 a certificate that does not verify or has no usable name.
 */
static int
client_name(struct MHD_Connection *c, char *out, size_t cap)
{
	const union MHD_ConnectionInfo *ci;
	const gnutls_datum_t *peers;
	gnutls_x509_crt_t crt;
	unsigned int status = 0, n = 0;
	size_t len = cap, i;
	int rc;

	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (ci == NULL || ci->tls_session == NULL)
		return 0;
	peers = gnutls_certificate_get_peers((gnutls_session_t)ci->tls_session, &n);
	if (peers == NULL || n == 0)
		return 0;
	if (gnutls_certificate_verify_peers2((gnutls_session_t)ci->tls_session, &status) != 0 ||
	    status != 0 || gnutls_x509_crt_init(&crt) != 0)
		return -1;
	rc = gnutls_x509_crt_import(crt, &peers[0], GNUTLS_X509_FMT_DER) == 0 &&
	    gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, out, &len) == 0 ?
	    1 : -1;
	gnutls_x509_crt_deinit(crt);
	if (rc != 1 || len == 0 || len > SERAM_USER_MAX || len >= cap)
		return -1;
	for (i = 0; i < len; i++)
		if (out[i] < 0x21 || out[i] > 0x7E)
			return -1;
	out[len] = '\0';
	return 1;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
    const char *version, const char *upload, size_t *upload_size, void **state)
{
	struct serve_http *h = cls;
	struct request *rq = *state;
	struct serve_reply reply;
	const char *sid, *cookie;
	char name[SERAM_USER_MAX + 2];
	int who = 0;
	enum MHD_Result ret;

	(void)version;
	if (rq == NULL) {
		if ((rq = calloc(1, sizeof(*rq))) == NULL)
			return MHD_NO;
		cpk_buf_init(&rq->body);
		*state = rq;
		rq->number = atomic_fetch_add(&h->requests, 1) + 1;
		if (rq->number == h->fault.kill_before)
			raise(SIGKILL);
		return MHD_YES;
	}
	if (*upload_size > 0) {
		/* A handshake, the only message before a session exists, is small. */
		if (!rq->too_large && (rq->body.len + *upload_size > (strcmp(url,
		    "/handshake") == 0 ? SERVE_HANDSHAKE_MAX : SERAM_BODY_MAX) ||
		    cpk_buf_append(&rq->body, upload, *upload_size, NULL) != CPK_OK))
			rq->too_large = true;
		*upload_size = 0;
		return MHD_YES;
	}
	if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
		return send_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "SERAM endpoints take POST\n");
	if (rq->too_large)
		return send_text(c, MHD_HTTP_CONTENT_TOO_LARGE, "the message is too large\n");
	if (h->ca.len > 0 && (who = client_name(c, name, sizeof(name))) < 0) {
		if (h->o->log != NULL)
			h->o->log(h->o->log_ctx, "-", "refused: a TLS client certificate that does "
			    "not verify or names no technician");
		return send_text(c, MHD_HTTP_FORBIDDEN, "the TLS client certificate does not "
		    "verify (another CA, expired) or names no technician\n");
	}
	sid = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "sessionId");
	cookie = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, SERVE_COOKIE);
	cpk_buf_init(&reply.body);
	serve_fault_store = rq->number == h->fault.store_fails;
	serve_handle(h->o, url, sid, cookie, who == 1 ? name : NULL, rq->body.data != NULL ?
	    rq->body.data : (const uint8_t *)"", rq->body.len, &reply);
	serve_fault_store = false;
	if (rq->number == h->fault.kill_after)
		raise(SIGKILL);
	ret = send_reply(c, reply.http, reply.body.data != NULL ? reply.body.data :
	    (const uint8_t *)"", reply.body.len, reply.http == 200, reply.set_cookie);
	cpk_cleanse(reply.set_cookie, sizeof(reply.set_cookie));
	cpk_buf_free(&reply.body);
	return ret;
}

static void
on_completed(void *cls, struct MHD_Connection *c, void **state,
    enum MHD_RequestTerminationCode why)
{
	struct request *rq = *state;

	(void)cls;
	(void)c;
	(void)why;
	if (rq == NULL)
		return;
	cpk_buf_free(&rq->body);
	free(rq);
	*state = NULL;
}

/* Bind and listen on HOST:PORT or [V6]:PORT. */
static cpk_status
listen_on(const char *spec, int *fd, unsigned *port, struct cpk_error *err)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char host[256];
	const char *colon, *ps;
	char *end;
	unsigned long pn;
	int s = -1, one = 1;
	cpk_status st = CPK_ERR_ARG;

	memset(&ss, 0, sizeof(ss));
	if (spec[0] == '[') {
		if ((colon = strstr(spec, "]:")) == NULL || (size_t)(colon - spec) > sizeof(host))
			goto bad;
		snprintf(host, sizeof(host), "%.*s", (int)(colon - spec - 1), spec + 1);
		ps = colon + 2;
	} else {
		if ((colon = strrchr(spec, ':')) == NULL || (size_t)(colon - spec) >= sizeof(host))
			goto bad;
		snprintf(host, sizeof(host), "%.*s", (int)(colon - spec), spec);
		ps = colon + 1;
	}
	errno = 0;
	pn = strtoul(ps, &end, 10);
	if (*ps == '\0' || *end != '\0' || errno != 0 || pn > 65535)
		goto bad;
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		ss.ss_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)pn);
		len = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		ss.ss_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)pn);
		len = sizeof(struct sockaddr_in6);
	} else {
		goto bad;
	}
	if ((s = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(s, (struct sockaddr *)&ss, len) != 0 || listen(s, 128) != 0) {
		st = cpk_error_set(err, CPK_ERR_IO, "cannot listen on %s: %s", spec, strerror(errno));
		goto out;
	}
	len = sizeof(ss);
	if (getsockname(s, (struct sockaddr *)&ss, &len) != 0) {
		st = cpk_error_set(err, CPK_ERR_IO, "cannot listen on %s: %s", spec, strerror(errno));
		goto out;
	}
	*port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port :
	    ((struct sockaddr_in6 *)&ss)->sin6_port);
	*fd = s;
	s = -1;
	st = CPK_OK;
	goto out;
bad:
	st = cpk_error_set(err, CPK_ERR_ARG, "--listen wants HOST:PORT or [IPv6]:PORT with a "
	    "numeric address, not '%s'", spec);
out:
	if (s >= 0)
		close(s);
	return st;
}

static cpk_status
read_pem(const char *path, const char *what, struct cpk_buf *out, struct cpk_error *err)
{
	char name[300];
	int fd = -1;
	cpk_status st;

	if ((st = cpk_input_open(path, what, O_NOFOLLOW, &fd, NULL, err)) != CPK_OK)
		return st;
	snprintf(name, sizeof(name), "%s '%s'", what, path);
	if ((st = cpk_read_fd_all(fd, name, SERVE_PEM_MAX, out, err)) == CPK_OK)
		st = cpk_buf_append_byte(out, 0, err);
	close(fd);
	return st;
}

static void
free_http(struct serve_http *h)
{
	if (h->fd >= 0)
		close(h->fd);
	OPENSSL_cleanse(h->key.data, h->key.len);
	cpk_buf_free(&h->key);
	cpk_buf_free(&h->cert);
	cpk_buf_free(&h->ca);
	free(h);
}

cpk_status
serve_http_start(const struct serve_opts *o, const char *listen, const char *cert,
    const char *key, const char *client_ca, const struct serve_fault *fault,
    struct serve_http **out, unsigned *port, struct cpk_error *err)
{
	struct MHD_OptionItem trust[2] = { { MHD_OPTION_END, 0, NULL }, { MHD_OPTION_END, 0, NULL } };
	struct serve_http *h;
	cpk_status st;

	*out = NULL;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
	h->fd = -1;
	h->o = o;
	if (fault != NULL)
		h->fault = *fault;
	cpk_buf_init(&h->cert);
	cpk_buf_init(&h->key);
	cpk_buf_init(&h->ca);
	if ((st = read_pem(cert, "TLS certificate", &h->cert, err)) != CPK_OK ||
	    (st = read_pem(key, "TLS key", &h->key, err)) != CPK_OK ||
	    (client_ca != NULL && (st = read_pem(client_ca, "client CA", &h->ca, err)) !=
	    CPK_OK) ||
	    (st = listen_on(listen, &h->fd, port, err)) != CPK_OK)
		goto fail;
	/* The client CA, only when given (MHD then asks clients for a certificate). */
	if (h->ca.len > 0) {
		trust[0].option = MHD_OPTION_HTTPS_MEM_TRUST;
		trust[0].ptr_value = h->ca.data;
	}
	h->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TLS |
	    MHD_USE_POLL, 0, NULL, NULL, on_request, h,
	    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)h->fd,
	    MHD_OPTION_HTTPS_MEM_CERT, (const char *)h->cert.data,
	    MHD_OPTION_HTTPS_MEM_KEY, (const char *)h->key.data,
	    MHD_OPTION_ARRAY, trust,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)SERVE_HTTP_TIMEOUT,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)SERVE_HTTP_THREADS,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, (void *)NULL,
	    MHD_OPTION_END);
	if (h->d == NULL) {
		st = cpk_error_set(err, CPK_ERR_IO, "the HTTPS server could not start on %s (is "
		    "the certificate and key a matching PEM pair?)", listen);
		goto fail;
	}
	h->fd = -1;	/* the daemon's now */
	*out = h;
	return CPK_OK;
fail:
	free_http(h);
	return st;
}

void
serve_http_stop(struct serve_http **hp)
{
	struct serve_http *h = hp != NULL ? *hp : NULL;

	if (h == NULL)
		return;
	MHD_stop_daemon(h->d);
	free_http(h);
	*hp = NULL;
}
