/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cardload session: a session bundle's whole life in one process. The card
 * is identified with a live INITIALIZE UPDATE, its session record written,
 * the command that makes the bundle (typically cardc compile) run, and the
 * bundle loaded into the same card session: the card stays connected and
 * reserved by this process all along, so it is neither powered down nor
 * used by anyone else in between (DESIGN.md, offline versus session bundles).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cardload.h"
#include "cli_util.h"
#include "cpk_file.h"
#include "fetch.h"
#include "identify.h"
#include "receipt_write.h"

#define SYNOPSIS "cardload session [-r READER] [--sd AID] [--kvn KVN] -o RECORD " \
    "--bundle BUNDLE [--trust PUB|DIR] [--json] [-v] [--log FILE] [--receipt FILE] " \
    "-- COMMAND [ARG...]"

enum { OPT_SD = 256, OPT_KVN, OPT_BUNDLE, OPT_TRUST, OPT_JSON, OPT_LOG, OPT_RECEIPT };

static const struct option long_options[] = {
	{ "reader", required_argument, NULL, 'r' },
	{ "sd", required_argument, NULL, OPT_SD },
	{ "kvn", required_argument, NULL, OPT_KVN },
	{ "output", required_argument, NULL, 'o' },
	{ "bundle", required_argument, NULL, OPT_BUNDLE },
	{ "trust", required_argument, NULL, OPT_TRUST },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "log", required_argument, NULL, OPT_LOG },
	{ "receipt", required_argument, NULL, OPT_RECEIPT },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct session_args {
	const char *record;
	uint8_t sd[16];
	size_t sd_len;
	uint8_t kvn;
	char **command;
	struct cardload_load_args load;
};

/* Identify the card (a session record) and write the record file. */
static int
identify(const struct session_args *a, struct cpk_transport *t, struct cpk_card_info *cip)
{
	struct cpk_identify_opts o;
	struct cpk_card_info ci;
	struct cpk_buf rec = CPK_BUF_INIT;
	struct cpk_error err;
	int rc;

	memset(&o, 0, sizeof(o));
	o.sd_aid = a->sd_len > 0 ? a->sd : NULL;
	o.sd_aid_len = a->sd_len;
	o.kvn = a->kvn;
	if ((rc = cardload_identify_card(t, &o, a->load.verbose, &ci)) != CLI_EXIT_OK)
		goto out;
	cpk_error_clear(&err);
	if (cardload_card_record(&ci, true, "cardload session", t->name, &rec, &err) != CPK_OK ||
	    cpk_file_replace(a->record, rec.data, rec.len, 0644, &err) != CPK_OK) {
		cli_error(&err);
		rc = CLI_EXIT_ERROR;
		goto out;
	}
	fprintf(stderr, "cardload session: card in '%s': SCP%02X i=%02X, key set %02X, serial %s; "
	    "session record written to %s\n", t->name, ci.scp, ci.i, ci.kvn, ci.serial, a->record);
	*cip = ci;
	rc = CLI_EXIT_OK;
out:
	cpk_buf_free(&rec);
	return rc;
}

/* Run the command that makes the bundle; CLI_EXIT_OK when it exits 0. */
static int
run_command(char **argv)
{
	pid_t pid, w;
	int status;

	fflush(NULL);
	if ((pid = fork()) < 0) {
		fprintf(stderr, "cardload session: cannot start '%s': %s; nothing was loaded\n",
		    argv[0], strerror(errno));
		return CLI_EXIT_ERROR;
	}
	if (pid == 0) {
		execvp(argv[0], argv);
		fprintf(stderr, "cardload session: cannot run '%s': %s\n", argv[0],
		    strerror(errno));
		_exit(127);
	}
	do
		w = waitpid(pid, &status, 0);
	while (w < 0 && errno == EINTR);
	if (w < 0) {
		fprintf(stderr, "cardload session: lost '%s': %s; nothing was loaded\n", argv[0],
		    strerror(errno));
		return CLI_EXIT_ERROR;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return CLI_EXIT_OK;
	if (WIFEXITED(status))
		fprintf(stderr, "cardload session: FAILED: '%s' exited with status %d; nothing was "
		    "loaded (the card's session ends here: run cardload session again)\n", argv[0],
		    WEXITSTATUS(status));
	else
		fprintf(stderr, "cardload session: FAILED: '%s' was killed by signal %d; nothing "
		    "was loaded (the card's session ends here: run cardload session again)\n",
		    argv[0], WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return CLI_EXIT_ERROR;
}

/* The card as the identification saw it, for the receipt (ci must outlive it). */
static void
seen_card(const struct cpk_card_info *ci, struct cpk_receipt_card *c)
{
	memset(c, 0, sizeof(*c));
	c->seen_by = "identify";
	c->serial = ci->serial;
	c->cplc = ci->has_cplc ? ci->cplc : NULL;
	c->cplc_len = ci->has_cplc ? sizeof(ci->cplc) : 0;
	c->iin = ci->iin;
	c->iin_len = ci->iin_len;
	c->cin = ci->cin;
	c->cin_len = ci->cin_len;
	c->host_challenge = ci->has_iu ? ci->host_challenge : NULL;
	c->iu_response = ci->has_iu ? ci->iu_response : NULL;
	c->iu_len = ci->has_iu ? ci->iu_len : 0;
}

static int
run(struct session_args *a)
{
	struct cpk_transport t;
	struct cpk_card_info ci;
	struct cpk_receipt_card seen;
	struct cpk_error err;
	int rc;
	cpk_status st;

	memset(&t, 0, sizeof(t));
	if ((rc = cardload_open_card(cardload_reader_choice(a->load.reader), &t, &err)) !=
	    CLI_EXIT_OK)
		return rc;
	/* Reserved from the INITIALIZE UPDATE to the last command of the bundle. */
	cpk_error_clear(&err);
	if ((st = cpk_transport_begin(&t, &err)) != CPK_OK) {
		cli_error_in(t.name, &err);
		rc = cardload_transport_exit(st);
		goto out;
	}
	if ((rc = identify(a, &t, &ci)) != CLI_EXIT_OK ||
	    (rc = run_command(a->command)) != CLI_EXIT_OK)
		goto out;
	seen_card(&ci, &seen);
	a->load.seen = &seen;
	a->load.card = &t;
	rc = cardload_load_run(&a->load);
out:
	cpk_transport_close(&t);
	return rc;
}

static int
session_main(int argc, char *argv[])
{
	struct session_args a;
	int c;

	memset(&a, 0, sizeof(a));
	while ((c = getopt_long(argc, argv, "+" CARDLOAD_GETOPT_PREFIX "r:o:vh", long_options,
	    NULL)) != -1) {
		switch (c) {
		case 'r':
			a.load.reader = optarg;
			break;
		case 'o':
			a.record = optarg;
			break;
		case 'v':
			a.load.verbose = true;
			break;
		case OPT_SD:
			if (cpk_hex_decode(optarg, strlen(optarg), a.sd, sizeof(a.sd), &a.sd_len,
			    NULL) != CPK_OK || a.sd_len < 5)
				return cli_usage("session", SYNOPSIS,
				    "--sd wants an AID of 5 to 16 bytes in hex, not '%s'", optarg);
			break;
		case OPT_KVN:
			if (!cardload_parse_byte(optarg, &a.kvn) || a.kvn > 0x7F)
				return cli_usage("session", SYNOPSIS,
				    "--kvn wants a key version 00 to 7F in hex, not '%s'", optarg);
			break;
		case OPT_BUNDLE:
			a.load.source = optarg;
			break;
		case OPT_TRUST:
			a.load.trust = optarg;
			break;
		case OPT_JSON:
			a.load.json = true;
			break;
		case OPT_LOG:
			a.load.log = optarg;
			break;
		case OPT_RECEIPT:
			a.load.receipt = optarg;
			break;
		case 'h':
			cli_command_help(&cardload_session_command, stdout);
			return CLI_EXIT_OK;
		default:
			return cli_bad_option("session", SYNOPSIS, c, argv, long_options);
		}
	}
	if (a.record == NULL || a.record[0] == '\0' || strcmp(a.record, "-") == 0)
		return cli_usage("session", SYNOPSIS, "-o wants the file the session record is "
		    "written to (the command reads it)");
	if (a.load.source == NULL || a.load.source[0] == '\0')
		return cli_usage("session", SYNOPSIS, "--bundle wants the file the command writes "
		    "the bundle to");
	if (strcmp(a.load.source, "-") == 0 || cpk_fetch_is_url(a.load.source))
		return cli_usage("session", SYNOPSIS, "--bundle wants a file, not '%s'",
		    a.load.source);
	if (strcmp(a.load.source, a.record) == 0)
		return cli_usage("session", SYNOPSIS, "-o and --bundle name the same file");
	if (a.load.log != NULL && a.load.log[0] == '\0')
		return cli_usage("session", SYNOPSIS, "--log wants a file name");
	if (a.load.receipt != NULL && (a.load.receipt[0] == '\0' ||
	    strcmp(a.load.receipt, "-") == 0))
		return cli_usage("session", SYNOPSIS, "--receipt wants a file name");
	if (optind == argc)
		return cli_usage("session", SYNOPSIS, "no command given after -- (the command "
		    "that makes the bundle, e.g. cardc compile -c RECORD ... -o BUNDLE)");
	a.load.shown = a.load.source;
	a.command = argv + optind;
	return run(&a);
}

const struct cli_command cardload_session_command = {
	"session",
	session_main,
	"identify a card, have its session bundle made, and load it in the same session",
	SYNOPSIS,
	"For cards with a random challenge, whose bundles are made for one card\n"
	"session. In one process, holding the card all along:\n"
	"  1. identify the card with a live INITIALIZE UPDATE and write its session\n"
	"     record (host-challenge, iu-response) to RECORD;\n"
	"  2. run COMMAND (typically 'cardc compile -c RECORD ... -o BUNDLE'); the card\n"
	"     stays connected and reserved, so it is not powered down meanwhile;\n"
	"  3. if COMMAND exits 0, check BUNDLE and load it into the same session, with\n"
	"     the checks, messages, run log, --json and exit status of 'cardload BUNDLE'.\n"
	"Do not remove the card until cardload session has ended.\n"
	"\n"
	"  -r, --reader NAME     the reader (default: $CPK_READER, else the only reader\n"
	"                        with a card)\n"
	"      --sd AID          the security domain (default A000000151000000)\n"
	"      --kvn KVN         the key set for INITIALIZE UPDATE (default 00)\n"
	"  -o, --output RECORD   the session record to write (COMMAND reads it)\n"
	"      --bundle BUNDLE   the bundle COMMAND writes, then loaded\n"
	"      --trust PUB|DIR   trusted signing keys (as for cardload load)\n"
	"      --json            print the load's JSON result document on stdout\n"
	"  -v, --verbose         print the APDU trace on stderr\n"
	"      --log FILE        the run log (as for cardload load)\n"
	"      --receipt FILE    the receipt (as for cardload load); its card member\n"
	"                        is what step 1 saw (CPLC, IIN, CIN, INITIALIZE UPDATE)\n"
	"  -h, --help            this text\n"
	"\n"
	"Exit status: that of 'cardload BUNDLE' once the load began; before it,\n"
	"1 the card could not be identified, the record not written, or COMMAND did\n"
	"not exit 0 (nothing was loaded); 2 usage; 5 no reader, no card, no\n"
	"smart-card service, or the card was removed.\n",
};
