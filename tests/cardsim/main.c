/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cardsim: a GlobalPlatform card behind pcscd's vpcd reader. See README.md.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cardsim.h"
#include "cardsim_state.h"
#include "cardsim_vpcd.h"

struct options {
	const char *config;
	const char *state;
	bool reset;
	bool print;
	struct cardsim_vpcd_opts vpcd;
	struct cs_faults faults;
};

enum {
	OPT_RESET = 256,
	OPT_PRINT,
	OPT_DROP_AFTER,
	OPT_SW_AT,
	OPT_FAKE_RMAC,
	OPT_REFUSE_IU,
	OPT_VANISH_IN_LOAD,
	OPT_REINSERT,
	OPT_FREEZE_AT,
	OPT_FREEZE_NOTICE,
};

static const struct option long_options[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "state", required_argument, NULL, 's' },
	{ "reset", no_argument, NULL, OPT_RESET },
	{ "host", required_argument, NULL, 'H' },
	{ "port", required_argument, NULL, 'p' },
	{ "print", no_argument, NULL, OPT_PRINT },
	{ "drop-after", required_argument, NULL, OPT_DROP_AFTER },
	{ "sw-at", required_argument, NULL, OPT_SW_AT },
	{ "fake-rmac", no_argument, NULL, OPT_FAKE_RMAC },
	{ "refuse-iu", optional_argument, NULL, OPT_REFUSE_IU },
	{ "vanish-in-load", required_argument, NULL, OPT_VANISH_IN_LOAD },
	{ "reinsert", no_argument, NULL, OPT_REINSERT },
	{ "freeze-at", required_argument, NULL, OPT_FREEZE_AT },
	{ "freeze-notice", required_argument, NULL, OPT_FREEZE_NOTICE },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: cardsim [-c CONFIG] [-s STATE] [options]\n"
	    "\n"
	    "A strict GlobalPlatform 2.3 card (issuer security domain) that plugs into\n"
	    "pcscd through the vpcd virtual reader.\n"
	    "\n"
	    "  -c, --config FILE       the card to create (YAML) when STATE does not exist yet\n"
	    "  -s, --state FILE        state file: loaded if it exists, rewritten atomically\n"
	    "                          after every command that changes the card\n"
	    "      --reset             create the card from CONFIG even if STATE exists\n"
	    "      --print             print the card and its registry, then exit\n"
	    "  -H, --host HOST         vpcd host (default 127.0.0.1)\n"
	    "  -p, --port PORT         vpcd port (default " CARDSIM_VPCD_DEFAULT_PORT ")\n"
	    "  -v, --verbose           log every command and response to stderr\n"
	    "\n"
	    "Fault injection (commands are counted from 1 since cardsim started):\n"
	    "      --drop-after N      answer command N, then remove the card\n"
	    "      --sw-at N:SW        answer status word SW to command N without running it\n"
	    "      --fake-rmac         with --sw-at, under R-MAC: add 8 bytes that pose as\n"
	    "                          the R-MAC (a card that lies well; not a valid R-MAC)\n"
	    "      --refuse-iu[=SW]    answer SW (default 6985) to every INITIALIZE UPDATE\n"
	    "      --vanish-in-load B  remove the card, without answering, when LOAD block B\n"
	    "                          arrives (the load in progress is lost)\n"
	    "      --freeze-at N       stop answering when command N arrives (logged, never\n"
	    "                          run nor answered; the card stays in the reader) until\n"
	    "                          SIGTERM or SIGINT\n"
	    "      --freeze-notice F   then write \"frozen N\" to F (a FIFO a test waits on)\n"
	    "      --reinsert          after a fault removed the card, insert it again when\n"
	    "                          SIGUSR1 arrives (default: exit with status 0)\n"
	    "  -h, --help              this help\n");
}

static bool
parse_ulong(const char *s, unsigned long max, unsigned long *out)
{
	char *end = NULL;
	unsigned long v;

	if (s == NULL || *s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return false;
	*out = v;
	return true;
}

static bool
parse_sw(const char *s, uint16_t *sw)
{
	uint8_t b[2];
	size_t n = 0;

	if (s == NULL || strlen(s) != 4 || cpk_hex_decode(s, 4, b, 2, &n, NULL) != CPK_OK)
		return false;
	*sw = (uint16_t)((b[0] << 8) | b[1]);
	return true;
}

/* Returns 0 to go on, 2 on a usage error, -1 after --help. */
static int
parse_options(int argc, char **argv, struct options *o)
{
	unsigned long v;
	const char *colon;
	int ch, rc = 2;

	memset(o, 0, sizeof(*o));
	o->vpcd.host = "127.0.0.1";
	o->vpcd.port = CARDSIM_VPCD_DEFAULT_PORT;
	o->faults.vanish_load_block = -1;
	o->faults.refuse_iu_sw = 0x6985;
	while ((ch = getopt_long(argc, argv, "c:s:H:p:vh", long_options, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->config = optarg;
			break;
		case 's':
			o->state = optarg;
			break;
		case OPT_RESET:
			o->reset = true;
			break;
		case 'H':
			o->vpcd.host = optarg;
			break;
		case 'p':
			if (!parse_ulong(optarg, 65535, &v) || v == 0) {
				fprintf(stderr, "cardsim: --port '%s': expected 1-65535\n", optarg);
				goto bad;
			}
			o->vpcd.port = optarg;
			break;
		case OPT_PRINT:
			o->print = true;
			break;
		case OPT_DROP_AFTER:
			if (!parse_ulong(optarg, 1000000000ul, &o->faults.drop_after) ||
			    o->faults.drop_after == 0) {
				fprintf(stderr, "cardsim: --drop-after '%s': expected a command number "
				    "from 1\n", optarg);
				goto bad;
			}
			break;
		case OPT_SW_AT:
			colon = strchr(optarg, ':');
			if (colon == NULL || !parse_sw(colon + 1, &o->faults.sw)) {
				fprintf(stderr, "cardsim: --sw-at '%s': expected N:SW (e.g. 5:6A84)\n",
				    optarg);
				goto bad;
			}
			{
				char num[32];
				size_t n = (size_t)(colon - optarg);

				if (n == 0 || n >= sizeof(num)) {
					fprintf(stderr, "cardsim: --sw-at '%s': bad command number\n",
					    optarg);
					goto bad;
				}
				memcpy(num, optarg, n);
				num[n] = '\0';
				if (!parse_ulong(num, 1000000000ul, &o->faults.sw_at) ||
				    o->faults.sw_at == 0) {
					fprintf(stderr, "cardsim: --sw-at '%s': bad command number\n",
					    optarg);
					goto bad;
				}
			}
			break;
		case OPT_FAKE_RMAC:
			o->faults.fake_rmac = true;
			break;
		case OPT_REFUSE_IU:
			o->faults.refuse_iu = true;
			if (optarg != NULL && !parse_sw(optarg, &o->faults.refuse_iu_sw)) {
				fprintf(stderr, "cardsim: --refuse-iu='%s': expected a status word "
				    "(4 hex digits)\n", optarg);
				goto bad;
			}
			break;
		case OPT_VANISH_IN_LOAD:
			if (!parse_ulong(optarg, 255, &v)) {
				fprintf(stderr, "cardsim: --vanish-in-load '%s': expected a block number "
				    "0-255\n", optarg);
				goto bad;
			}
			o->faults.vanish_load_block = (int)v;
			break;
		case OPT_FREEZE_AT:
			if (!parse_ulong(optarg, 0xFFFFFFFFul, &v) || v == 0) {
				fprintf(stderr, "cardsim: --freeze-at '%s': expected a command number "
				    "from 1\n", optarg);
				goto bad;
			}
			o->vpcd.freeze_at = v;
			break;
		case OPT_FREEZE_NOTICE:
			o->vpcd.freeze_notice = optarg;
			break;
		case OPT_REINSERT:
			o->vpcd.reinsert = true;
			break;
		case 'v':
			o->vpcd.verbose = true;
			break;
		case 'h':
			usage(stdout);
			rc = -1;
			goto out;
		default:
			usage(stderr);
			goto bad;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "cardsim: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		goto bad;
	}
	if (o->config == NULL && o->state == NULL) {
		fprintf(stderr, "cardsim: give --config, --state or both\n");
		usage(stderr);
		goto bad;
	}
	o->vpcd.state_path = o->state;
	rc = 0;
	goto out;
bad:
	rc = 2;
out:
	return rc;
}

static void
on_signal(int sig)
{
	(void)sig;
	cardsim_vpcd_stop = 1;
}

static void
print_error(const struct cpk_error *err)
{
	if (err->file[0] != '\0' && err->line > 0)
		fprintf(stderr, "cardsim: %s:%u:%u: %s\n", err->file, err->line, err->col, err->msg);
	else
		fprintf(stderr, "cardsim: %s\n", err->msg);
}

/* Load the card: the state file if it exists (and no --reset), else the config. */
static int
load_card(struct cardsim *card, const struct options *o)
{
	struct cpk_error err;
	struct stat sb;
	bool have_state = o->state != NULL && stat(o->state, &sb) == 0;
	int rc = 1;

	cpk_error_clear(&err);
	if (have_state && !o->reset) {
		if (cardsim_state_load(card, o->state, &err) != CPK_OK)
			goto fail;
		rc = 0;
		goto out;
	}
	if (o->config == NULL) {
		fprintf(stderr, "cardsim: %s does not exist; give --config to create the card\n",
		    o->state);
		goto out;
	}
	if (cardsim_state_load(card, o->config, &err) != CPK_OK ||
	    (o->state != NULL && !o->print && cardsim_state_save(card, o->state, &err) != CPK_OK))
		goto fail;
	rc = 0;
	goto out;
fail:
	print_error(&err);
out:
	return rc;
}

int
main(int argc, char **argv)
{
	struct sigaction sa;
	sigset_t usr1;
	struct cardsim *card = NULL;
	struct options o;
	int rc;

	if ((rc = parse_options(argc, argv, &o)) != 0) {
		rc = rc < 0 ? 0 : rc;
		goto out;
	}
	if ((card = cardsim_new()) == NULL) {
		fprintf(stderr, "cardsim: out of memory\n");
		rc = 1;
		goto out;
	}
	if ((rc = load_card(card, &o)) != 0)
		goto out;
	if (o.print) {
		cardsim_print_registry(card, stdout);
		rc = fflush(stdout) == 0 ? 0 : 1;
		goto out;
	}
	card->faults = o.faults;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	(void)sigaction(SIGPIPE, &sa, NULL);
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	(void)sigprocmask(SIG_BLOCK, &usr1, NULL);
	rc = cardsim_vpcd_run(card, &o.vpcd);
	fprintf(stderr, "cardsim: exiting (%s)\n", rc == 0 ? "ok" : "error");
out:
	cardsim_free(&card);
	return rc;
}
