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
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bundle_read.h"
#include "cardload.h"
#include "cli_util.h"
#include "cpk_file.h"
#include "cpk_text.h"
#include "fetch.h"
#include "identify.h"
#include "receipt_write.h"

#define SYNOPSIS "cardload session [-r READER] [--sd AID] [--kvn KVN] -o RECORD " \
    "[--trust PUB|DIR] [--json] [-v] [--log FILE] [--receipt FILE] [--cacert FILE]\n" \
    "           [--wait SECONDS] --bundle BUNDLE|URL|-\n" \
    "       cardload session ... -o RECORD --bundle BUNDLE -- COMMAND [ARG...]"

#define WAIT_DEFAULT 300u		/* seconds for the bundle to come (--wait) */
#define WAIT_POLL_MS 50u		/* a file: how often to look */
#define WAIT_URL_MS 1000u		/* a URL: how often to ask */

enum { OPT_SD = 256, OPT_KVN, OPT_BUNDLE, OPT_TRUST, OPT_JSON, OPT_LOG, OPT_RECEIPT, OPT_WAIT,
    OPT_CACERT };

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
	{ "wait", required_argument, NULL, OPT_WAIT },
	{ "cacert", required_argument, NULL, OPT_CACERT },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct session_args {
	const char *record;
	uint8_t sd[16];
	size_t sd_len;
	uint8_t kvn;
	char **command;			/* NULL: wait for the bundle instead */
	unsigned wait;			/* seconds */
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

/* --- waiting for the bundle (no COMMAND) --- */

static void
sleep_ms(unsigned ms)
{
	struct timespec ts = { (time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/*
 * A file: it appears (written elsewhere and renamed into place, as cardc
 * compile -o does, so it is whole when it is there).
 */
static cpk_status
wait_file(const char *path, unsigned wait, uint64_t deadline, struct cpk_buf *out,
    struct cpk_error *err)
{
	struct stat sb;

	for (;;) {
		if (stat(path, &sb) == 0)
			return cpk_bundle_read_path(path, out, err);
		if (errno != ENOENT)
			return cpk_io_error(err, "cannot look for the bundle", path, errno);
		if (cpk_monotonic_ms() >= deadline)
			return cpk_error_set(err, CPK_ERR_NOT_FOUND, "no bundle at %s within %u s "
			    "(--wait)", path, wait);
		sleep_ms(WAIT_POLL_MS);
	}
}

/* A URL: asked every second until it answers with the bundle. */
static cpk_status
wait_url(const struct session_args *a, uint64_t deadline, struct cpk_buf *out,
    struct cpk_error *err)
{
	struct cpk_fetch_opts fo = { a->load.cacert, a->load.timeout, CPK_BUNDLE_MAX_SIZE, NULL,
	    NULL, NULL };
	cpk_status st;

	for (;;) {
		cpk_buf_reset(out);
		cpk_error_clear(err);
		if ((st = cpk_fetch(a->load.source, &fo, out, err)) != CPK_ERR_IO)
			return st;
		if (cpk_monotonic_ms() >= deadline) {
			cpk_error_prefix(err, "no bundle at %s within %u s (--wait)", a->load.shown,
			    a->wait);
			return CPK_ERR_NOT_FOUND;
		}
		sleep_ms(WAIT_URL_MS);
	}
}

/* Standard input: read to its end. */
static cpk_status
wait_stdin(unsigned wait, uint64_t deadline, struct cpk_buf *out, struct cpk_error *err)
{
	struct pollfd p = { STDIN_FILENO, POLLIN, 0 };
	uint8_t chunk[65536];
	uint64_t now;
	ssize_t n;
	int r;
	cpk_status st;

	for (;;) {
		if ((now = cpk_monotonic_ms()) >= deadline)
			return cpk_error_set(err, CPK_ERR_NOT_FOUND, "standard input did not end "
			    "within %u s (--wait; %zu bytes read)", wait, out->len);
		r = poll(&p, 1, (int)(deadline - now < 1000u ? deadline - now : 1000u));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return cpk_io_error(err, "cannot wait for the bundle", "stdin", errno);
		if (r == 0)
			continue;
		if ((n = read(STDIN_FILENO, chunk, sizeof(chunk))) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return cpk_io_error(err, "cannot read the bundle", "stdin", errno);
		}
		if (n == 0)
			return CPK_OK;
		if (out->len + (size_t)n > CPK_BUNDLE_MAX_SIZE)
			return cpk_error_set(err, CPK_ERR_RANGE, "the bundle on standard input is "
			    "larger than %zu bytes", (size_t)CPK_BUNDLE_MAX_SIZE);
		if ((st = cpk_buf_append(out, chunk, (size_t)n, err)) != CPK_OK)
			return st;
	}
}

/* Wait up to --wait seconds for the bundle; CLI_EXIT_OK with it in out. */
static int
wait_bundle(const struct session_args *a, struct cpk_buf *out)
{
	uint64_t deadline = cpk_monotonic_ms() + 1000u * (uint64_t)a->wait;
	struct cpk_error err;
	cpk_status st;

	fprintf(stderr, "cardload session: waiting up to %u s for the bundle (%s); the card "
	    "stays in its session\n", a->wait, strcmp(a->load.source, "-") == 0 ?
	    "standard input" : a->load.shown);
	cpk_error_clear(&err);
	if (strcmp(a->load.source, "-") == 0)
		st = wait_stdin(a->wait, deadline, out, &err);
	else if (cpk_fetch_is_url(a->load.source))
		st = wait_url(a, deadline, out, &err);
	else
		st = wait_file(a->load.source, a->wait, deadline, out, &err);
	if (st == CPK_OK)
		return CLI_EXIT_OK;
	fprintf(stderr, "cardload session: FAILED: %s; nothing was loaded (the card's session "
	    "ends here: run cardload session again)\n", err.msg);
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
	struct cpk_buf bytes = CPK_BUF_INIT;
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
	    (rc = a->command != NULL ? run_command(a->command) : wait_bundle(a, &bytes)) !=
	    CLI_EXIT_OK)
		goto out;
	seen_card(&ci, &seen);
	a->load.seen = &seen;
	a->load.card = &t;
	a->load.bytes = a->command != NULL ? NULL : &bytes;
	rc = cardload_load_run(&a->load);
out:
	cpk_transport_close(&t);
	cpk_buf_free(&bytes);
	return rc;
}

static int
session_main(int argc, char *argv[])
{
	struct session_args a;
	struct stat sb;
	unsigned long v;
	bool wait_given = false;
	int c;

	memset(&a, 0, sizeof(a));
	a.wait = WAIT_DEFAULT;
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
		case OPT_CACERT:
			a.load.cacert = optarg;
			break;
		case OPT_WAIT:
			if (!cli_parse_uint(optarg, 1, 86400, &v))
				return cli_usage("session", SYNOPSIS,
				    "--wait wants seconds from 1 to 86400, not '%s'", optarg);
			a.wait = (unsigned)v;
			wait_given = true;
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
		return cli_usage("session", SYNOPSIS, "--bundle wants the bundle: a file, an "
		    "https:// URL, or - for standard input");
	if (optind < argc && (strcmp(a.load.source, "-") == 0 || cpk_fetch_is_url(a.load.source)))
		return cli_usage("session", SYNOPSIS, "with a COMMAND, --bundle wants the file it "
		    "writes, not '%s'", a.load.source);
	a.load.shown = a.load.source;
	if (cpk_fetch_is_url(a.load.source)) {
		cpk_fetch_redact(a.load.source, a.load.shown_url, sizeof(a.load.shown_url));
		a.load.shown = a.load.shown_url;
		if (!cpk_fetch_is_https(a.load.source))
			return cli_usage("session", SYNOPSIS, "'%s': only https:// URLs are fetched",
			    a.load.shown);
	}
	if (strcmp(a.load.source, a.record) == 0)
		return cli_usage("session", SYNOPSIS, "-o and --bundle name the same file");
	if (a.load.log != NULL && a.load.log[0] == '\0')
		return cli_usage("session", SYNOPSIS, "--log wants a file name");
	if (a.load.receipt != NULL && (a.load.receipt[0] == '\0' ||
	    strcmp(a.load.receipt, "-") == 0))
		return cli_usage("session", SYNOPSIS, "--receipt wants a file name");
	if (optind < argc && wait_given)
		return cli_usage("session", SYNOPSIS, "--wait goes with a bundle to wait for, not "
		    "with a COMMAND");
	if (optind == argc && strcmp(a.load.source, "-") != 0 &&
	    !cpk_fetch_is_url(a.load.source) && stat(a.load.source, &sb) == 0)
		return cli_usage("session", SYNOPSIS, "'%s' already exists: a bundle made before "
		    "this session cannot load in it; remove it, then have the new bundle renamed "
		    "into place once the record is written", a.load.source);
	a.command = optind < argc ? argv + optind : NULL;
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
	"  2. wait up to --wait seconds for the bundle: the file BUNDLE to appear\n"
	"     (write it elsewhere and rename it into place; it must not exist\n"
	"     before), the URL to answer with it, or standard input to end; or, with\n"
	"     -- COMMAND, run COMMAND (e.g. 'cardc compile -c RECORD ... -o BUNDLE')\n"
	"     and take BUNDLE when it exits 0. The card stays connected and reserved;\n"
	"  3. check the bundle and load it into the same session, with the checks,\n"
	"     messages, run log, --json and exit status of 'cardload BUNDLE'.\n"
	"Do not remove the card until cardload session has ended.\n"
	"\n"
	"  -r, --reader NAME     the reader (default: $CPK_READER, else the only reader\n"
	"                        with a card)\n"
	"      --sd AID          the security domain (default A000000151000000)\n"
	"      --kvn KVN         the key set for INITIALIZE UPDATE (default 00)\n"
	"  -o, --output RECORD   the session record to write (COMMAND reads it)\n"
	"      --bundle BUNDLE|URL|-  the bundle to wait for (or that COMMAND writes)\n"
	"      --wait SECONDS    how long to wait for it (default 300)\n"
	"      --cacert FILE     CA certificates (PEM) for an https:// bundle\n"
	"      --trust PUB|DIR   trusted signing keys (as for cardload load)\n"
	"      --json            print the load's JSON result document on stdout\n"
	"  -v, --verbose         print the APDU trace on stderr\n"
	"      --log FILE        the run log (as for cardload load)\n"
	"      --receipt FILE    the receipt (as for cardload load); its card member\n"
	"                        is what step 1 saw (CPLC, IIN, CIN, INITIALIZE UPDATE)\n"
	"  -h, --help            this text\n"
	"\n"
	"Exit status: that of 'cardload BUNDLE' once the load began; before it,\n"
	"1 the card could not be identified, the record not written, no bundle\n"
	"within --wait, or COMMAND did not exit 0 (nothing was loaded); 2 usage;\n"
	"5 no reader, no card, no smart-card service, or the card was removed.\n",
};
