/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: fetching a bundle over HTTPS with libcurl (see fetch.h).
 *
 * libcurl (and the thirty-odd libraries it pulls in) is loaded with
 * dlopen(3) the first time an https:// URL is fetched or a client is made:
 * cardload with a local bundle never maps it, and starts like a small
 * program. Only the headers are used at build time.
 */
#include "fetch.h"

#include <ctype.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "cpk_bundle.h"

struct sink {
	struct cpk_buf *out;
	size_t start, cap;
	bool too_big;
	cpk_status st;
	struct cpk_error *err;
};

/* The libcurl functions fetch.c calls, from the library loaded at run time. */
static struct {
	CURLcode (*global_init)(long flags);
	void (*global_cleanup)(void);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *h, CURLoption option, ...);
	CURLcode (*easy_getinfo)(CURL *h, CURLINFO info, ...);
	CURLcode (*easy_perform)(CURL *h);
	void (*easy_cleanup)(CURL *h);
	const char *(*easy_strerror)(CURLcode rc);
	struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
	void (*slist_free_all)(struct curl_slist *l);
} api;

#define CURL_SONAME "libcurl.so.4"
#define CRYPTO_SONAME "libcrypto.so.3"

static pthread_once_t api_once = PTHREAD_ONCE_INIT;
static bool api_ok;
static char api_error[256];
static bool tls_without_config;

void
cpk_fetch_tls_without_config(void)
{
	tls_without_config = true;
}

/*
 * The shared libcrypto, if there is one: started without its configuration
 * file before libcurl's libssl asks for it (OPENSSL_init_ssl loads it by
 * default; once started, that request does nothing). libcurl built on
 * another TLS library does not need it: then it is not there, or unused.
 */
static void
crypto_no_config(void)
{
	int (*init)(uint64_t opts, const OPENSSL_INIT_SETTINGS *settings);
	void *lib;

	if ((lib = dlopen(CRYPTO_SONAME, RTLD_NOW | RTLD_LOCAL)) == NULL)
		return;
	*(void **)&init = dlsym(lib, "OPENSSL_init_crypto");
	if (init != NULL)
		(void)init(OPENSSL_INIT_NO_LOAD_CONFIG, NULL);
}

static void
api_load(void)
{
	void *lib;
	const char *e;

	if (tls_without_config)
		crypto_no_config();
	/* The library stays loaded for the life of the process. */
	if ((lib = dlopen(CURL_SONAME, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		e = dlerror();
		snprintf(api_error, sizeof(api_error), "%s", e != NULL ? e : "not found");
		return;
	}
#define SYM(field, name) \
	do { \
		*(void **)&api.field = dlsym(lib, name); \
		if (api.field == NULL) { \
			snprintf(api_error, sizeof(api_error), "%s has no %s", CURL_SONAME, name); \
			return; \
		} \
	} while (0)
	SYM(global_init, "curl_global_init");
	SYM(global_cleanup, "curl_global_cleanup");
	SYM(easy_init, "curl_easy_init");
	SYM(easy_setopt, "curl_easy_setopt");
	SYM(easy_getinfo, "curl_easy_getinfo");
	SYM(easy_perform, "curl_easy_perform");
	SYM(easy_cleanup, "curl_easy_cleanup");
	SYM(easy_strerror, "curl_easy_strerror");
	SYM(slist_append, "curl_slist_append");
	SYM(slist_free_all, "curl_slist_free_all");
#undef SYM
	api_ok = true;
}

/* Load libcurl once; CPK_ERR_UNSUPPORTED, saying what is missing, if it cannot be. */
static cpk_status
api_get(struct cpk_error *err)
{
	(void)pthread_once(&api_once, api_load);
	if (!api_ok)
		return cpk_error_set(err, CPK_ERR_UNSUPPORTED, "https:// needs libcurl, which "
		    "cannot be loaded (%s): install it (Debian: libcurl4)", api_error);
	return CPK_OK;
}

bool
cpk_fetch_is_url(const char *s)
{
	const char *p = s;

	if (s == NULL || !isalpha((unsigned char)*p))
		return false;
	while (isalnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.')
		p++;
	return strncmp(p, "://", 3) == 0;
}

bool
cpk_fetch_is_https(const char *s)
{
	/* Schemes are case-insensitive (RFC 3986, 3.1): HTTPS:// is https://. */
	return s != NULL && strncasecmp(s, "https://", 8) == 0;
}

void
cpk_fetch_redact(const char *url, char *out, size_t cap)
{
	const char *rest, *q, *at;

	if (cap == 0)
		return;
	if (url == NULL) {
		out[0] = '\0';
		return;
	}
	rest = strstr(url, "://");
	rest = rest != NULL && cpk_fetch_is_url(url) ? rest + 3 : url;
	q = rest + strcspn(rest, "?#");
	at = strrchr(rest, '@');
	/*
	 * Userinfo may hold '/', '?', '#' that a lenient parser still accepts,
	 * so everything up to the last '@' is hidden. An '@' after the first
	 * '?' or '#' may belong to the query or to a password holding one of
	 * them: then all but the scheme is hidden.
	 */
	if (at != NULL && at > q)
		(void)snprintf(out, cap, "%.*s***", (int)(rest - url), url);
	else if (at != NULL)
		(void)snprintf(out, cap, "%.*s***%.*s%s", (int)(rest - url), url, (int)(q - at), at,
		    *q != '\0' ? "?***" : "");
	else
		(void)snprintf(out, cap, "%.*s%s", (int)(q - url), url, *q != '\0' ? "?***" : "");
}

static size_t
sink_write(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct sink *s = ctx;
	size_t n = size * nmemb;

	if (nmemb != 0 && n / nmemb != size)
		return 0;
	if (s->out->len - s->start + n > s->cap) {
		s->too_big = true;
		return 0;
	}
	if ((s->st = cpk_buf_append(s->out, data, n, s->err)) != CPK_OK)
		return 0;
	return n;
}

/* libcurl calls this at least once a second, even when no data flows. */
static int
progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	const atomic_int *stop = ctx;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return stop != NULL && *stop != 0;
}

/* Plain words for the libcurl errors a technician meets. */
static cpk_status
curl_failure(CURLcode rc, CURL *h, const char *verb, const char *url, const char *detail,
    struct cpk_error *err)
{
	long http = 0;
	const char *what;

	switch (rc) {
	case CURLE_UNSUPPORTED_PROTOCOL:
		return cpk_error_set(err, CPK_ERR_UNSUPPORTED,
		    "'%s': only https:// is accepted (also for redirects)", url);
	case CURLE_COULDNT_RESOLVE_HOST:
		what = "the server's name could not be resolved (no network, or a wrong address)";
		break;
	case CURLE_COULDNT_CONNECT:
		what = "could not connect to the server (no network, the server is down, or a "
		    "wrong address)";
		break;
	case CURLE_OPERATION_TIMEDOUT:
		what = "timed out";
		break;
	case CURLE_PEER_FAILED_VERIFICATION:
		what = "the server's certificate could not be verified (if your organisation uses "
		    "its own certificate authority, give its certificate with --cacert)";
		break;
	case CURLE_SSL_CACERT_BADFILE:
		what = "the CA certificate file could not be read";
		break;
	case CURLE_SSL_CERTPROBLEM:
		what = "the client certificate or its key could not be used";
		break;
	case CURLE_HTTP_RETURNED_ERROR:
		(void)api.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &http);
		return cpk_error_set(err, CPK_ERR_IO, "%s '%s': the server answered HTTP "
		    "%ld%s", verb, url, http, http == 404 ? " (not found: check the address)" : "");
	case CURLE_TOO_MANY_REDIRECTS:
		what = "too many redirects";
		break;
	default:
		what = api.easy_strerror(rc);
		break;
	}
	if (detail != NULL && *detail != '\0')
		return cpk_error_set(err, CPK_ERR_IO, "%s '%s': %s [%.200s]", verb, url, what,
		    detail);
	return cpk_error_set(err, CPK_ERR_IO, "%s '%s': %s", verb, url, what);
}

static CURLcode
set_options(CURL *h, const char *url, const struct cpk_fetch_opts *o, struct sink *s,
    char *errbuf)
{
	long timeout = (long)(o != NULL && o->timeout != 0 ? o->timeout :
	    CPK_FETCH_TIMEOUT_DEFAULT);
	long connect = timeout < (long)CPK_FETCH_CONNECT_TIMEOUT_MAX ? timeout :
	    (long)CPK_FETCH_CONNECT_TIMEOUT_MAX;
	CURLcode rc;

	if ((rc = api.easy_setopt(h, CURLOPT_URL, url)) != CURLE_OK ||
	    (rc = api.easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf)) != CURLE_OK ||
#if LIBCURL_VERSION_NUM >= 0x075500
	    (rc = api.easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https")) != CURLE_OK ||
	    (rc = api.easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "https")) != CURLE_OK ||
#else
	    (rc = api.easy_setopt(h, CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTPS)) != CURLE_OK ||
	    (rc = api.easy_setopt(h, CURLOPT_REDIR_PROTOCOLS, (long)CURLPROTO_HTTPS)) != CURLE_OK ||
#endif
	    (rc = api.easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L)) != CURLE_OK ||
	    (rc = api.easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L)) != CURLE_OK ||
	    (rc = api.easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L)) != CURLE_OK ||
	    (rc = api.easy_setopt(h, CURLOPT_MAXREDIRS, CPK_FETCH_MAX_REDIRECTS)) != CURLE_OK ||
	    (rc = api.easy_setopt(h, CURLOPT_FAILONERROR, 1L)) != CURLE_OK ||
	    (rc = api.easy_setopt(h, CURLOPT_NOSIGNAL, 1L)) != CURLE_OK ||
	    (rc = api.easy_setopt(h, CURLOPT_TIMEOUT, timeout)) != CURLE_OK ||
	    (rc = api.easy_setopt(h, CURLOPT_CONNECTTIMEOUT, connect)) != CURLE_OK ||
	    (rc = api.easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)s->cap)) != CURLE_OK ||
	    (rc = api.easy_setopt(h, CURLOPT_WRITEFUNCTION, sink_write)) != CURLE_OK ||
	    (rc = api.easy_setopt(h, CURLOPT_WRITEDATA, s)) != CURLE_OK ||
	    (rc = api.easy_setopt(h, CURLOPT_USERAGENT, "cpk-cardload")) != CURLE_OK)
		return rc;
	if (o != NULL && o->stop != NULL &&
	    ((rc = api.easy_setopt(h, CURLOPT_XFERINFOFUNCTION, progress)) != CURLE_OK ||
	    (rc = api.easy_setopt(h, CURLOPT_XFERINFODATA, (void *)(uintptr_t)o->stop)) !=
	    CURLE_OK || (rc = api.easy_setopt(h, CURLOPT_NOPROGRESS, 0L)) != CURLE_OK))
		return rc;
	if (o != NULL && o->cacert != NULL)
		rc = api.easy_setopt(h, CURLOPT_CAINFO, o->cacert);
	if (rc == CURLE_OK && o != NULL && o->client_cert != NULL &&
	    ((rc = api.easy_setopt(h, CURLOPT_SSLCERT, o->client_cert)) != CURLE_OK ||
	    (rc = api.easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM")) != CURLE_OK ||
	    (rc = api.easy_setopt(h, CURLOPT_SSLKEY, o->client_key != NULL ? o->client_key :
	    o->client_cert)) != CURLE_OK))
		return rc;
	return rc;
}

cpk_status
cpk_fetch(const char *url, const struct cpk_fetch_opts *o, struct cpk_buf *out,
    struct cpk_error *err)
{
	char errbuf[CURL_ERROR_SIZE], shown[CPK_FETCH_SHOWN_MAX];
	struct sink s = { out, out->len, CPK_BUNDLE_MAX_SIZE, false, CPK_OK, err };
	CURL *h = NULL;
	bool global = false;
	CURLcode rc;
	cpk_status st;

	errbuf[0] = '\0';
	cpk_fetch_redact(url, shown, sizeof(shown));
	if (o != NULL && o->max_size != 0)
		s.cap = o->max_size;
	if (!cpk_fetch_is_https(url)) {
		st = cpk_error_set(err, CPK_ERR_UNSUPPORTED,
		    "'%s': only https:// URLs are fetched (the server's certificate is checked)",
		    shown);
		goto out;
	}
	if ((st = api_get(err)) != CPK_OK)
		goto out;
	global = api.global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
	if (!global || (h = api.easy_init()) == NULL) {
		st = cpk_error_set(err, CPK_ERR_NOMEM, "cannot set up the HTTPS client");
		goto out;
	}
	if ((rc = set_options(h, url, o, &s, errbuf)) != CURLE_OK) {
		st = cpk_error_set(err, CPK_ERR_UNSUPPORTED, "cannot set up the HTTPS client: %s",
		    api.easy_strerror(rc));
		goto out;
	}
	rc = api.easy_perform(h);
	if (rc == CURLE_ABORTED_BY_CALLBACK && o != NULL && o->stop != NULL && *o->stop != 0) {
		st = cpk_error_set(err, CPK_ERR_INTERRUPTED, "the download of '%s' was interrupted",
		    shown);
		goto out;
	}
	if (s.too_big || rc == CURLE_FILESIZE_EXCEEDED) {
		st = cpk_error_set(err, CPK_ERR_RANGE, "'%s' is larger than %zu bytes: not a bundle",
		    shown, s.cap);
		goto out;
	}
	if (s.st != CPK_OK) {
		st = s.st;
		goto out;
	}
	if (rc != CURLE_OK) {
		st = curl_failure(rc, h, "downloading", shown, errbuf, err);
		goto out;
	}
	st = CPK_OK;
out:
	if (st != CPK_OK && out->len > s.start)
		cpk_buf_truncate(out, out->len - s.start);
	if (h != NULL)
		api.easy_cleanup(h);
	if (global)
		api.global_cleanup();
	return st;
}

/* --- POST requests on one handle (cardload --server) --- */

struct cpk_fetch_client {
	CURL *h;
	struct curl_slist *headers;
	struct cpk_fetch_opts o;
	char errbuf[CURL_ERROR_SIZE];
	bool global;
};

cpk_status
cpk_fetch_client_new(const struct cpk_fetch_opts *o, struct cpk_fetch_client **out,
    struct cpk_error *err)
{
	struct cpk_fetch_client *c;
	cpk_status st;

	*out = NULL;
	if ((st = api_get(err)) != CPK_OK)
		return st;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
	if (o != NULL)
		c->o = *o;
	c->global = api.global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
	if (!c->global || (c->h = api.easy_init()) == NULL) {
		cpk_fetch_client_free(&c);
		return cpk_error_set(err, CPK_ERR_NOMEM, "cannot set up the HTTPS client");
	}
	*out = c;
	return CPK_OK;
}

void
cpk_fetch_client_free(struct cpk_fetch_client **cp)
{
	struct cpk_fetch_client *c = cp != NULL ? *cp : NULL;

	if (c == NULL)
		return;
	if (c->h != NULL)
		api.easy_cleanup(c->h);
	api.slist_free_all(c->headers);
	if (c->global)
		api.global_cleanup();
	free(c);
	*cp = NULL;
}

cpk_status
cpk_fetch_post(struct cpk_fetch_client *c, const char *url, const char *ctype,
    const uint8_t *body, size_t n, long *http, struct cpk_buf *out, struct cpk_error *err)
{
	char shown[CPK_FETCH_SHOWN_MAX], header[128];
	struct sink s = { out, out->len, CPK_BUNDLE_MAX_SIZE, false, CPK_OK, err };
	struct curl_slist *l;
	CURLcode rc;
	cpk_status st;

	*http = 0;
	c->errbuf[0] = '\0';
	cpk_fetch_redact(url, shown, sizeof(shown));
	if (c->o.max_size != 0)
		s.cap = c->o.max_size;
	if (!cpk_fetch_is_https(url)) {
		st = cpk_error_set(err, CPK_ERR_UNSUPPORTED, "'%s': only https:// servers are "
		    "spoken to (the server's certificate is checked)", shown);
		goto out;
	}
	if (c->headers == NULL) {
		snprintf(header, sizeof(header), "Content-Type: %s", ctype);
		if ((l = api.slist_append(NULL, header)) == NULL) {
			st = cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
			goto out;
		}
		c->headers = l;
	}
	if ((rc = set_options(c->h, url, &c->o, &s, c->errbuf)) != CURLE_OK ||
	    (rc = api.easy_setopt(c->h, CURLOPT_FOLLOWLOCATION, 0L)) != CURLE_OK ||
	    (rc = api.easy_setopt(c->h, CURLOPT_FAILONERROR, 0L)) != CURLE_OK ||
	    (rc = api.easy_setopt(c->h, CURLOPT_COOKIEFILE, "")) != CURLE_OK ||
	    (rc = api.easy_setopt(c->h, CURLOPT_HTTPHEADER, c->headers)) != CURLE_OK ||
	    (rc = api.easy_setopt(c->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)n)) != CURLE_OK ||
	    (rc = api.easy_setopt(c->h, CURLOPT_POSTFIELDS, (const char *)body)) != CURLE_OK) {
		st = cpk_error_set(err, CPK_ERR_UNSUPPORTED, "cannot set up the HTTPS client: %s",
		    api.easy_strerror(rc));
		goto out;
	}
	rc = api.easy_perform(c->h);
	if (rc == CURLE_ABORTED_BY_CALLBACK && c->o.stop != NULL && *c->o.stop != 0) {
		st = cpk_error_set(err, CPK_ERR_INTERRUPTED, "the request to '%s' was interrupted",
		    shown);
		goto out;
	}
	if (s.too_big || rc == CURLE_FILESIZE_EXCEEDED) {
		st = cpk_error_set(err, CPK_ERR_RANGE, "'%s' answered more than %zu bytes", shown,
		    s.cap);
		goto out;
	}
	if (s.st != CPK_OK) {
		st = s.st;
		goto out;
	}
	if (rc != CURLE_OK) {
		st = curl_failure(rc, c->h, "talking to", shown, c->errbuf, err);
		goto out;
	}
	(void)api.easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, http);
	st = CPK_OK;
out:
	if (st != CPK_OK && out->len > s.start)
		cpk_buf_truncate(out, out->len - s.start);
	return st;
}
