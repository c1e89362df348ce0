/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cardc serve: the SERAM Remote Agent over HTTPS. Cards come to it through
 * `cardload --server URL`; it identifies each, routes it to a profile,
 * compiles its session bundle against the card's live INITIALIZE UPDATE,
 * has the agent play it and records what the card's answers prove. Runs
 * until SIGINT or SIGTERM; every session lives in the registry.
 */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cardc.h"
#include "cli_util.h"
#include "cpk_bytes.h"
#include "registry.h"
#include "serve.h"
#include "serve_auth.h"
#include "serve_http.h"
#include "seram.h"
#include "serve_routes.h"
#include "sign.h"
#include "verify.h"

#define SYNOPSIS "cardc serve --listen HOST:PORT --tls-cert PEM --tls-key PEM --routes FILE " \
    "-k KEYDIR -s SIGNKEY [--registry URI] [--sd AID] [--kvn KVN] [--delay MS] " \
    "[--pam SERVICE [--auth-lockout SECONDS]] [--tls-client-ca PEM] " \
    "[--session-timeout SECONDS]\n" \
    "       cardc serve --sweep [--session-timeout SECONDS] [--registry URI]"

enum { OPT_LISTEN = 256, OPT_CERT, OPT_KEY, OPT_ROUTES, OPT_REGISTRY, OPT_SD, OPT_KVN,
    OPT_DELAY, OPT_PAM, OPT_LOCKOUT, OPT_TIMEOUT, OPT_SWEEP, OPT_CLIENT_CA };

#define SESSION_TIMEOUT_DEFAULT 300u	/* SERAM: an agent silent for 5 minutes is lost */
#define SWEEP_EVERY 30			/* seconds between two looks for lost agents */

static const struct option long_options[] = {
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "tls-cert", required_argument, NULL, OPT_CERT },
	{ "tls-key", required_argument, NULL, OPT_KEY },
	{ "routes", required_argument, NULL, OPT_ROUTES },
	{ "registry", required_argument, NULL, OPT_REGISTRY },
	{ "keys", required_argument, NULL, 'k' },
	{ "sign-key", required_argument, NULL, 's' },
	{ "sd", required_argument, NULL, OPT_SD },
	{ "kvn", required_argument, NULL, OPT_KVN },
	{ "delay", required_argument, NULL, OPT_DELAY },
	{ "pam", required_argument, NULL, OPT_PAM },
	{ "auth-lockout", required_argument, NULL, OPT_LOCKOUT },
	{ "session-timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "sweep", no_argument, NULL, OPT_SWEEP },
	{ "tls-client-ca", required_argument, NULL, OPT_CLIENT_CA },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct serve_args {
	const char *listen, *cert, *key, *routes, *registry, *keys, *sign_key, *pam, *client_ca;
	unsigned long lockout, timeout;
	bool sweep, has_timeout;
	uint8_t sd[16];
	size_t sd_len;
	uint8_t kvn;
	unsigned long delay;
};

static void
log_line(void *ctx, const char *session, const char *msg)
{
	char now[32];

	(void)ctx;
	cpk_time_format((uint64_t)time(NULL), now, sizeof(now));
	fprintf(stderr, "cardc serve: %s session %s: %s\n", now, session, msg);
}

/*
 * The test faults (tests/e2e/online.sh): CPK_SERVE_FAULT=kill-at-request:N
 * (die as request N arrives), kill-after-request:N (die once request N is
 * handled, before its answer is sent) or store-fails-at-request:N (request
 * N cannot store its session step).
 */
static void
test_fault(struct serve_fault *f)
{
	const char *v = getenv("CPK_SERVE_FAULT");
	unsigned long n;

	memset(f, 0, sizeof(*f));
	if (v == NULL)
		return;
	if (strncmp(v, "kill-at-request:", 16) == 0 && cli_parse_uint(v + 16, 1, 1000000, &n))
		f->kill_before = (unsigned)n;
	else if (strncmp(v, "kill-after-request:", 19) == 0 &&
	    cli_parse_uint(v + 19, 1, 1000000, &n))
		f->kill_after = (unsigned)n;
	else if (strncmp(v, "store-fails-at-request:", 23) == 0 &&
	    cli_parse_uint(v + 23, 1, 1000000, &n))
		f->store_fails = (unsigned)n;
}

/* Abandon the sessions whose agent is silent for longer than the time-out. */
static void
sweep(const struct serve_opts *o, unsigned long timeout)
{
	struct cpk_error err;
	time_t now = time(NULL);
	size_t n = 0;

	cpk_error_clear(&err);
	if (serve_expire(o, now > (time_t)timeout ? (uint64_t)now - timeout : 0, &n, &err) !=
	    CPK_OK)
		fprintf(stderr, "cardc serve: looking for lost agents: %s\n", err.msg);
	else if (n > 0)
		fprintf(stderr, "cardc serve: %zu session(s) abandoned: no report for %lu s\n", n,
		    timeout);
}

/* cardc serve --sweep: once, then exit. */
static int
sweep_only(const struct serve_args *a)
{
	struct serve_opts o;
	struct registry *reg = NULL;
	struct cpk_error err;
	cpk_status st;

	cpk_error_clear(&err);
	memset(&o, 0, sizeof(o));
	o.log = log_line;
	if ((st = cardc_registry_connect(a->registry, false, &reg, &err)) == CPK_OK &&
	    (st = registry_check(reg, &err)) == CPK_OK) {
		o.reg = reg;
		sweep(&o, a->timeout);
	}
	if (st != CPK_OK)
		cli_error(&err);
	registry_close(&reg);
	return cli_exit_status(st);
}

static int
run(const struct serve_args *a)
{
	struct serve_opts o;
	struct serve_routes *routes = NULL;
	struct cpk_signer *signer = NULL;
	struct cpk_trust *trust = NULL;
	struct registry *reg = NULL;
	struct serve_http *http = NULL;
	struct serve_auth *auth = NULL;
	struct cpk_error err;
	sigset_t set;
	struct timespec every = { SWEEP_EVERY, 0 };
	struct serve_fault fault;
	unsigned port = 0;
	int sig = 0;
	cpk_status st;

	cpk_error_clear(&err);
	memset(&o, 0, sizeof(o));
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	/* Blocked before any thread starts: only sigwait below takes them. */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((st = serve_routes_load(a->routes, a->keys, &routes, &err)) != CPK_OK ||
	    (st = cpk_signer_load(a->sign_key, &signer, &err)) != CPK_OK ||
	    (st = cpk_trust_new(&trust, &err)) != CPK_OK ||
	    (st = cpk_trust_add_key(trust, cpk_signer_pubkey(signer), a->sign_key, &err)) != CPK_OK ||
	    (st = cardc_registry_connect(a->registry, false, &reg, &err)) != CPK_OK ||
	    (st = registry_check(reg, &err)) != CPK_OK ||
	    (a->pam != NULL && (st = serve_auth_new(a->pam, (unsigned)a->lockout, &auth, &err)) !=
	    CPK_OK))
		goto out;
	if (auth != NULL) {
		o.auth = serve_auth_check;
		o.auth_ctx = auth;
	}
	o.client_cert = a->client_ca != NULL;
	o.keydir = a->keys;
	o.routes = routes;
	o.reg = reg;
	o.signer = signer;
	o.trust = trust;
	memcpy(o.sd_aid, a->sd, a->sd_len);
	o.sd_aid_len = a->sd_len;
	o.kvn = a->kvn;
	o.delay_ms = (uint32_t)a->delay;
	o.log = log_line;
	test_fault(&fault);
	if ((st = serve_http_start(&o, a->listen, a->cert, a->key, a->client_ca, &fault, &http,
	    &port, &err)) != CPK_OK)
		goto out;
	fprintf(stderr, "cardc serve: listening on %s (port %u), %zu route(s), registry '%s'%s%s%s\n",
	    a->listen, port, serve_routes_count(routes), registry_name(reg),
	    a->pam != NULL ? ", technicians through PAM service " : "", a->pam != NULL ? a->pam : "",
	    a->client_ca != NULL ? ", technicians by TLS client certificate" : "");
	if (a->timeout < SWEEP_EVERY)
		every.tv_sec = (time_t)a->timeout;
	for (;;) {
		sig = sigtimedwait(&set, NULL, &every);
		if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP)
			break;
		sweep(&o, a->timeout);
	}
	fprintf(stderr, "cardc serve: signal %d: stopping (sessions in flight continue on any "
	    "server of registry '%s')\n", sig, registry_name(reg));
out:
	if (st != CPK_OK)
		cli_error(&err);
	serve_http_stop(&http);
	registry_close(&reg);
	cpk_trust_free(&trust);
	cpk_signer_free(&signer);
	serve_routes_free(&routes);
	serve_auth_free(&auth);
	return cli_exit_status(st);
}

static int
serve_main(int argc, char *argv[])
{
	struct serve_args a;
	int c;

	memset(&a, 0, sizeof(a));
	(void)cpk_hex_decode("A000000151000000", 16, a.sd, sizeof(a.sd), &a.sd_len, NULL);
	while ((c = getopt_long(argc, argv, CARDC_GETOPT_PREFIX "k:s:h", long_options, NULL)) !=
	    -1) {
		switch (c) {
		case OPT_LISTEN:
			a.listen = optarg;
			break;
		case OPT_CERT:
			a.cert = optarg;
			break;
		case OPT_KEY:
			a.key = optarg;
			break;
		case OPT_ROUTES:
			a.routes = optarg;
			break;
		case OPT_REGISTRY:
			a.registry = optarg;
			break;
		case 'k':
			a.keys = optarg;
			break;
		case 's':
			a.sign_key = optarg;
			break;
		case OPT_SD:
			if (cpk_hex_decode(optarg, strlen(optarg), a.sd, sizeof(a.sd), &a.sd_len,
			    NULL) != CPK_OK || a.sd_len < 5)
				return cli_usage("serve", SYNOPSIS, "--sd wants an AID of 5 to 16 "
				    "bytes in hex, not '%s'", optarg);
			break;
		case OPT_KVN:
			if (cpk_hex_decode_exact(optarg, &a.kvn, 1, NULL) != CPK_OK)
				return cli_usage("serve", SYNOPSIS, "--kvn wants two hex digits, not "
				    "'%s'", optarg);
			break;
		case OPT_DELAY:
			if (!cli_parse_uint(optarg, 0, SERAM_DELAY_MAX, &a.delay))
				return cli_usage("serve", SYNOPSIS, "--delay wants 0 to %u ms, not '%s'",
				    SERAM_DELAY_MAX, optarg);
			break;
		case OPT_PAM:
			a.pam = optarg;
			break;
		case OPT_LOCKOUT:
			if (!cli_parse_uint(optarg, 1, SERVE_AUTH_LOCKOUT_MAX, &a.lockout))
				return cli_usage("serve", SYNOPSIS, "--auth-lockout wants 1 to %u "
				    "seconds, not '%s'", SERVE_AUTH_LOCKOUT_MAX, optarg);
			break;
		case OPT_TIMEOUT:
			if (!cli_parse_uint(optarg, 0, 86400, &a.timeout))
				return cli_usage("serve", SYNOPSIS, "--session-timeout wants 0 to 86400 "
				    "seconds, not '%s'", optarg);
			a.has_timeout = true;
			break;
		case OPT_SWEEP:
			a.sweep = true;
			break;
		case OPT_CLIENT_CA:
			a.client_ca = optarg;
			break;
		case 'h':
			cli_command_help(&cardc_serve_command, stdout);
			return CLI_EXIT_OK;
		default:
			return cli_bad_option("serve", SYNOPSIS, c, argv, long_options);
		}
	}
	if (optind < argc)
		return cli_usage("serve", SYNOPSIS, "unexpected argument '%s'", argv[optind]);
	if (!a.has_timeout)
		a.timeout = SESSION_TIMEOUT_DEFAULT;
	if (a.sweep)
		return sweep_only(&a);
	if (a.timeout == 0)
		return cli_usage("serve", SYNOPSIS, "--session-timeout 0 is for --sweep only");
	if (a.lockout != 0 && a.pam == NULL)
		return cli_usage("serve", SYNOPSIS, "--auth-lockout goes with --pam SERVICE");
	if (a.listen == NULL)
		return cli_usage("serve", SYNOPSIS, "missing --listen HOST:PORT");
	if (a.cert == NULL || a.key == NULL)
		return cli_usage("serve", SYNOPSIS, "missing --tls-cert and --tls-key: cardc serve "
		    "speaks HTTPS only");
	if (a.routes == NULL)
		return cli_usage("serve", SYNOPSIS, "missing --routes FILE");
	if (a.keys == NULL)
		return cli_usage("serve", SYNOPSIS, "missing -k KEYDIR");
	if (a.sign_key == NULL)
		return cli_usage("serve", SYNOPSIS, "missing -s SIGNKEY");
	return run(&a);
}

const struct cli_command cardc_serve_command = {
	.name = "serve",
	.run = serve_main,
	.summary = "serve cards online: the SERAM Remote Agent of cardload --server",
	.synopsis = SYNOPSIS,
	.help =
	    "Serve cards online over HTTPS as the GlobalPlatform SERAM Remote Agent\n"
	    "(docs/seram.md). For each card `cardload --server URL` brings: read its\n"
	    "identity and INITIALIZE UPDATE with this server's challenge, check its\n"
	    "cryptogram, pick the profile its route names, compile and sign its\n"
	    "session bundle, record it in the registry, have the agent play it, then\n"
	    "verify the card's answers R-MAC by R-MAC and record loaded or failed.\n"
	    "Four HTTP round trips per card. Sessions live in the registry: several\n"
	    "servers may share one PostgreSQL registry and continue each other's.\n"
	    "\n"
	    "      --listen HOST:PORT   the address to listen on (numeric; [V6]:PORT)\n"
	    "      --tls-cert PEM       the server's certificate chain (PEM)\n"
	    "      --tls-key PEM        its private key (PEM)\n"
	    "      --routes FILE        which profile a card gets: one route per line,\n"
	    "                           CONDITION... PROFILE, first match wins;\n"
	    "                           conditions iin=HEX cin=HEX serial=TEXT\n"
	    "                           serials=FILE cplc.FIELD=HEX, or '*'\n"
	    "  -k, --keys KEYDIR        the key folder the profiles' key sets are in\n"
	    "  -s, --sign-key SIGNKEY   the bundle-signing private key\n"
	    "      --registry URI       the issuance registry (default: CPK_REGISTRY,\n"
	    "                           then the config files); schema 3 or later\n"
	    "      --sd AID             the security domain to select (default\n"
	    "                           A000000151000000)\n"
	    "      --kvn KVN            the key version of INITIALIZE UPDATE (default 00)\n"
	    "      --delay MS           the delay every order asks of the agent before\n"
	    "                           its next request (default 0)\n"
	    "      --pam SERVICE        a session starts only for a technician (user and\n"
	    "                           PIN, cardload --technician) PAM SERVICE accepts;\n"
	    "                           after 3 failures in a row a user is refused\n"
	    "                           for --auth-lockout seconds (default 60, doubled\n"
	    "                           for each further failure); every failure logged\n"
	    "      --tls-client-ca PEM  a session starts only for a technician with a TLS\n"
	    "                           client certificate this CA signed (its common\n"
	    "                           name is the technician; with --pam, the PAM user\n"
	    "                           must be that name); any other certificate: 403\n"
	    "      --session-timeout SECONDS  a session whose agent sends nothing for\n"
	    "                           this long is abandoned and its bundle marked\n"
	    "                           failed (default 300, SERAM's 5 minutes;\n"
	    "                           looked for every 30 s)\n"
	    "      --sweep              abandon those sessions now (with\n"
	    "                           --session-timeout, 0: every unfinished one),\n"
	    "                           then exit; needs only the registry\n"
	    "  -h, --help               show this help\n"
	    "\n"
	    "Logs one line per session step on stderr. SIGINT or SIGTERM stops it;\n"
	    "the sessions in flight continue on any server of the same registry.\n",
};
