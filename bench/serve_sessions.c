/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Benchmark: N concurrent SERAM sessions against one `cardc serve` (the
 * server module, in this process, on a loopback port with TLS) from N
 * in-process Local Agents (loader/seram_agent.c, the code of cardload
 * --server), each holding a simulated card of its own (the cardsim core as
 * its transport, no PC/SC). Reports sessions per second and the p50 / p99
 * session latency, then checks the registry: exactly N sessions done, N
 * bundles loaded, one per card: no lost and no duplicated row.
 *
 *   serve_sessions --dir DIR --registry URI [--sessions N]
 *
 * DIR holds tls.pem, tls.key, routes (and the profiles it names), keys/
 * with test-signing.key (serve_sessions.sh prepares it).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "cardsim.h"
#include "cardsim_state.h"
#include "registry.h"
#include "seram_agent.h"
#include "serve.h"
#include "serve_http.h"
#include "serve_routes.h"
#include "sign.h"
#include "verify.h"

#define MAX_SESSIONS 1000

struct agent {
	size_t id;
	const char *url, *cacert;
	struct cardsim *card;
	double ms;
	bool ok;
	char why[CPK_ERROR_MSG_LEN];
};

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static cpk_status
card_transmit(void *ctx, const uint8_t *cmd, size_t n, struct cpk_buf *resp,
    struct cpk_error *err)
{
	struct agent *a = ctx;

	(void)err;
	cpk_buf_reset(resp);
	cardsim_process(a->card, cmd, n, resp);
	if (resp->len < 2)
		return cpk_error_set(err, CPK_ERR_PCSC, "the simulated card vanished");
	return CPK_OK;
}

static const struct cpk_transport_ops card_ops = { card_transmit, NULL, NULL, NULL, NULL };

static void *
run_agent(void *arg)
{
	struct agent *a = arg;
	struct cpk_transport t;
	struct cpk_agent_opts o;
	struct cpk_agent_result r;
	struct cpk_error err;
	double t0;

	memset(&t, 0, sizeof(t));
	t.ops = &card_ops;
	t.ctx = a;
	snprintf(t.name, sizeof(t.name), "simulated card %zu", a->id);
	memset(&o, 0, sizeof(o));
	o.url = a->url;
	o.cacert = a->cacert;
	o.se_id = t.name;
	o.retry_for = 60;
	cpk_error_clear(&err);
	t0 = now_ms();
	if (cpk_agent_run(&t, &o, NULL, &r, &err) != CPK_OK)
		snprintf(a->why, sizeof(a->why), "%s", err.msg);
	else if (strncmp(r.notification, "cpk/loaded/", 11) != 0)
		snprintf(a->why, sizeof(a->why), "%.400s", r.notification);
	else
		a->ok = true;
	a->ms = now_ms() - t0;
	return NULL;
}

/* One card: the e2e SCP03 card (i=70, key set 30) with its own CPLC IC serial and CIN. */
static struct cardsim *
make_card(size_t id)
{
	char text[1024];
	struct cardsim *c = cardsim_new();
	struct cpk_error err;

	if (c == NULL)
		return NULL;
	snprintf(text, sizeof(text),
	    "cardsim: 1\n"
	    "card:\n"
	    "  isd: A000000151000000\n"
	    "  atr: 3B80800101\n"
	    "  cplc: 4790516747911210471100%08zX0000000000000000000000000000000000000000000000\n"
	    "  iin: 0001020304\n"
	    "  cin: 01020304%08zX\n"
	    "  kdd: 0102030405060708090A\n"
	    "  scp: 3\n"
	    "  i: 70\n"
	    "  memory: 131072\n"
	    "key-sets:\n"
	    "  - kvn: 30\n"
	    "    type: aes\n"
	    "    enc: 404142434445464748494A4B4C4D4E4F\n"
	    "    mac: 404142434445464748494A4B4C4D4E4F\n"
	    "    dek: 404142434445464748494A4B4C4D4E4F\n", id + 1, id + 1);
	if (cardsim_state_parse(c, "bench card", (const uint8_t *)text, strlen(text), &err) !=
	    CPK_OK) {
		fprintf(stderr, "serve_sessions: card %zu: %s\n", id, err.msg);
		cardsim_free(&c);
		return NULL;
	}
	cardsim_reset(c);
	return c;
}

static int
by_value(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return a < b ? -1 : a > b;
}

struct tally {
	size_t done, other, loaded, rows;
	char serials[MAX_SESSIONS][REGISTRY_SERIAL_MAX + 1];
	bool duplicate;
};

static cpk_status
count_state(void *arg, const char *state, uint64_t n)
{
	struct tally *t = arg;

	if (strcmp(state, "done") == 0)
		t->done += (size_t)n;
	else
		t->other += (size_t)n;
	return CPK_OK;
}

static cpk_status
count_row(void *arg, const struct registry_row *row)
{
	struct tally *t = arg;
	size_t i;

	for (i = 0; i < t->rows && i < MAX_SESSIONS; i++)
		if (strcmp(t->serials[i], row->serial) == 0)
			t->duplicate = true;
	if (t->rows < MAX_SESSIONS)
		snprintf(t->serials[t->rows], sizeof(t->serials[0]), "%s", row->serial);
	t->rows++;
	if (row->state == REGISTRY_LOADED)
		t->loaded++;
	return CPK_OK;
}

static void
log_nothing(void *ctx, const char *session, const char *msg)
{
	(void)ctx;
	(void)session;
	(void)msg;
}

int
main(int argc, char *argv[])
{
	const char *dir = NULL, *uri = NULL;
	char path[4096], keys[4096], cert[4096], key[4096], url[128];
	struct serve_opts so;
	struct serve_routes *routes = NULL;
	struct cpk_signer *signer = NULL;
	struct cpk_trust *trust = NULL;
	struct registry *reg = NULL;
	struct serve_http *http = NULL;
	struct agent *agents = NULL;
	pthread_t *threads = NULL;
	struct tally *t = NULL;
	double *lat = NULL, t0, wall;
	size_t n = 200, i, ok = 0;
	unsigned port = 0;
	struct cpk_error err;
	int rc = 1;

	for (i = 1; i < (size_t)argc; i++) {
		if (strcmp(argv[i], "--dir") == 0 && i + 1 < (size_t)argc)
			dir = argv[++i];
		else if (strcmp(argv[i], "--registry") == 0 && i + 1 < (size_t)argc)
			uri = argv[++i];
		else if (strcmp(argv[i], "--sessions") == 0 && i + 1 < (size_t)argc)
			n = strtoul(argv[++i], NULL, 10);
		else
			dir = NULL, i = (size_t)argc;
	}
	if (dir == NULL || uri == NULL || n == 0 || n > MAX_SESSIONS) {
		fprintf(stderr, "usage: serve_sessions --dir DIR --registry URI [--sessions N "
		    "(1-%d)]\n", MAX_SESSIONS);
		return 2;
	}
	cpk_error_clear(&err);
	snprintf(keys, sizeof(keys), "%s/keys", dir);
	snprintf(cert, sizeof(cert), "%s/tls.pem", dir);
	snprintf(key, sizeof(key), "%s/tls.key", dir);
	snprintf(path, sizeof(path), "%s/routes", dir);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (serve_routes_load(path, keys, &routes, &err) != CPK_OK)
		goto fail;
	snprintf(path, sizeof(path), "%s/keys/test-signing.key", dir);
	if (cpk_signer_load(path, &signer, &err) != CPK_OK || cpk_trust_new(&trust, &err) != CPK_OK ||
	    cpk_trust_add_key(trust, cpk_signer_pubkey(signer), path, &err) != CPK_OK ||
	    registry_open(uri, false, &reg, &err) != CPK_OK || registry_check(reg, &err) != CPK_OK)
		goto fail;
	memset(&so, 0, sizeof(so));
	so.keydir = keys;
	so.routes = routes;
	so.reg = reg;
	so.signer = signer;
	so.trust = trust;
	(void)cpk_hex_decode("A000000151000000", 16, so.sd_aid, sizeof(so.sd_aid), &so.sd_aid_len,
	    NULL);
	so.log = log_nothing;
	if (serve_http_start(&so, "127.0.0.1:0", cert, key, NULL, NULL, &http, &port, &err) != CPK_OK)
		goto fail;
	snprintf(url, sizeof(url), "https://127.0.0.1:%u", port);
	if ((agents = calloc(n, sizeof(*agents))) == NULL ||
	    (threads = calloc(n, sizeof(*threads))) == NULL ||
	    (lat = calloc(n, sizeof(*lat))) == NULL || (t = calloc(1, sizeof(*t))) == NULL) {
		cpk_error_set(&err, CPK_ERR_NOMEM, "out of memory");
		goto fail;
	}
	for (i = 0; i < n; i++) {
		agents[i].id = i;
		agents[i].url = url;
		agents[i].cacert = cert;
		if ((agents[i].card = make_card(i)) == NULL) {
			cpk_error_set(&err, CPK_ERR_NOMEM, "no simulated card");
			goto fail;
		}
	}
	t0 = now_ms();
	for (i = 0; i < n; i++)
		if (pthread_create(&threads[i], NULL, run_agent, &agents[i]) != 0) {
			cpk_error_set(&err, CPK_ERR_NOMEM, "no thread for agent %zu", i);
			n = i;
			break;
		}
	for (i = 0; i < n; i++)
		pthread_join(threads[i], NULL);
	wall = now_ms() - t0;
	for (i = 0; i < n; i++) {
		lat[i] = agents[i].ms;
		if (agents[i].ok)
			ok++;
		else
			fprintf(stderr, "serve_sessions: session %zu failed: %s\n", i, agents[i].why);
	}
	qsort(lat, n, sizeof(*lat), by_value);
	if (registry_session_counts(reg, count_state, t, &err) != CPK_OK ||
	    registry_list(reg, NULL, count_row, t, &err) != CPK_OK)
		goto fail;
	printf("serve-sessions: %s: %zu concurrent sessions, %zu loaded, %.1f s, %.1f sessions/s, "
	    "latency p50 %.0f ms, p99 %.0f ms\n", registry_name(reg), n, ok, wall / 1000.0,
	    (double)n * 1000.0 / wall, lat[n / 2], lat[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1]);
	printf("serve-sessions: registry: %zu sessions done, %zu in another state, %zu bundle "
	    "rows, %zu loaded, %s\n", t->done, t->other, t->rows, t->loaded, t->duplicate ?
	    "DUPLICATED card rows" : "one row per card");
	rc = ok == n && t->done == n && t->other == 0 && t->rows == n && t->loaded == n &&
	    !t->duplicate ? 0 : 1;
	if (rc != 0)
		fprintf(stderr, "serve-sessions: FAILED: lost or duplicated sessions or rows\n");
	goto out;
fail:
	fprintf(stderr, "serve_sessions: %s\n", err.msg);
out:
	serve_http_stop(&http);
	for (i = 0; agents != NULL && i < n; i++)
		cardsim_free(&agents[i].card);
	free(agents);
	free(threads);
	free(lat);
	free(t);
	registry_close(&reg);
	cpk_trust_free(&trust);
	cpk_signer_free(&signer);
	serve_routes_free(&routes);
	curl_global_cleanup();
	return rc;
}
