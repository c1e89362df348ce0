/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cardload [load]: check a bundle, then stream it to the card it was made
 * for. Every check of the bundle (trust anchors, signature, script hash,
 * limits, parsing) happens before a reader is opened; the card's
 * INITIALIZE UPDATE answer is compared with the bundle's before EXTERNAL
 * AUTHENTICATE; the run stops at the first refused command. Each run ends
 * with one line in the run log, one message for the technician on stderr
 * and, with --json, one document on stdout.
 */
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bundle_read.h"
#include "cpk_config.h"
#include "cardload.h"
#include "seram.h"
#include "cardload_stop.h"
#include "cli_util.h"
#include "cpk_config.h"
#include "cpk_sw.h"
#include "fetch.h"
#include "cpk_file.h"
#include "pcsc.h"
#include "receipt_write.h"
#include "runlog.h"
#include "scp_proto.h"
#include "stream.h"
#include "verify.h"

#define SYNOPSIS "cardload [-r READER] [--trust PUB|DIR] [--json] [-v] [--log FILE] " \
    "[--receipt FILE] [--cacert FILE] [--timeout SECONDS] BUNDLE|URL|-\n" \
    "       cardload [-r READER] [--json] [-v] [--log FILE] [--cacert FILE] " \
    "[--retry-for SECONDS] [--session-id ID] [--technician USER] " \
    "[--client-cert PEM [--client-key PEM]] [--holder-pin-file FILE] --server URL"

#define SYSTEM_TRUST_DIR CPK_SYSTEM_TRUST_DIR

_Static_assert(sizeof(((struct cardload_load_args *)0)->shown_url) == CPK_FETCH_SHOWN_MAX,
    "cardload.h's shown_url holds a redacted URL");

enum { OPT_TRUST = 256, OPT_JSON, OPT_LOG, OPT_CACERT, OPT_TIMEOUT, OPT_RECEIPT, OPT_SERVER,
    OPT_SESSION_ID, OPT_RETRY_FOR, OPT_TECHNICIAN, OPT_CLIENT_CERT, OPT_CLIENT_KEY,
    OPT_HOLDER_PIN_FILE };

static const struct option long_options[] = {
	{ "reader", required_argument, NULL, 'r' },
	{ "trust", required_argument, NULL, OPT_TRUST },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "verbose", no_argument, NULL, 'v' },
	{ "log", required_argument, NULL, OPT_LOG },
	{ "cacert", required_argument, NULL, OPT_CACERT },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "receipt", required_argument, NULL, OPT_RECEIPT },
	{ "server", required_argument, NULL, OPT_SERVER },
	{ "session-id", required_argument, NULL, OPT_SESSION_ID },
	{ "retry-for", required_argument, NULL, OPT_RETRY_FOR },
	{ "technician", required_argument, NULL, OPT_TECHNICIAN },
	{ "client-cert", required_argument, NULL, OPT_CLIENT_CERT },
	{ "client-key", required_argument, NULL, OPT_CLIENT_KEY },
	{ "holder-pin-file", required_argument, NULL, OPT_HOLDER_PIN_FILE },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Everything the outcome needs, filled as the run goes. */
struct run {
	const struct cardload_load_args *a;
	struct cpk_error err;
	char start[CPK_RUNLOG_TIME_LEN], end[CPK_RUNLOG_TIME_LEN];
	uint8_t sha256[CPK_SHA256_LEN];
	bool has_sha256;
	uint8_t key_id[CPK_KEY_ID_LEN];
	bool has_key_id;
	struct cpk_bundle *bundle;
	const struct cpk_manifest *m;
	size_t total;
	char reader[128];
	bool streamed;
	struct cpk_stream_result r;
	cpk_status stream_st;
	/* Every answer, for the receipt (shared with the published copy). */
	struct cpk_receipt_log *answers;
	bool answers_lost;			/* one could not be kept */

	/* The outcome. */
	const char *result;
	int exit;
	char message[1400];
	char advice[600];
	char log_path[CPK_RUNLOG_PATH_MAX];
	bool log_ok;
	char log_error[600];
	bool receipt_ok;
	char receipt_error[600];

	/* Progress display. */
	bool tty;
	size_t bar_shown;
};

/*
 * What the signal watcher's abandon() reports from: a copy of the run,
 * changed under cardload_stop_lock() only (publish() and the hooks).
 */
static struct run published;

static bool write_record(struct run *run, bool started, const struct cpk_buf *receipt);

static void
publish(const struct run *run)
{
	cardload_stop_lock();
	published = *run;
	cardload_stop_unlock();
}


static void
outcome(struct run *run, const char *result, int code, const char *advice, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void
outcome(struct run *run, const char *result, int code, const char *advice, const char *fmt, ...)
{
	va_list ap;

	run->result = result;
	run->exit = code;
	va_start(ap, fmt);
	vsnprintf(run->message, sizeof(run->message), fmt, ap);
	va_end(ap);
	snprintf(run->advice, sizeof(run->advice), "%s", advice != NULL ? advice : "");
}

/* --- trust anchors --- */

static cpk_status
add_default_dir(struct cpk_trust *t, const char *dir, struct cpk_error *err)
{
	cpk_status st = cpk_trust_add_dir(t, dir, NULL, err);

	if (st == CPK_ERR_NOT_FOUND) {
		cpk_error_clear(err);
		return CPK_OK;
	}
	return st;
}

static void
user_trust_dir(char *out, size_t cap)
{
	const char *cfg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");

	if (cfg != NULL && cfg[0] == '/')
		snprintf(out, cap, "%s/cpk/trusted", cfg);
	else if (home != NULL && home[0] == '/')
		snprintf(out, cap, "%s/.config/cpk/trusted", home);
	else
		out[0] = '\0';
}

static bool
load_trust(struct run *run, struct cpk_trust **out)
{
	char user[CPK_RUNLOG_PATH_MAX];
	cpk_status st;

	if ((st = cpk_trust_new(out, &run->err)) != CPK_OK)
		goto fail;
	if (run->a->trust != NULL) {
		if ((st = cpk_trust_add_path(*out, run->a->trust, &run->err)) != CPK_OK)
			goto fail;
		if (cpk_trust_count(*out) == 0) {
			outcome(run, "rejected", CARDLOAD_EXIT_REJECTED,
			    "put the bureau's public key (.pub) there, or name it with --trust",
			    "no trusted signing key in '%s': the bundle cannot be checked; nothing was "
			    "sent to a card", run->a->trust);
			return false;
		}
		return true;
	}
	user_trust_dir(user, sizeof(user));
	if ((user[0] != '\0' && (st = add_default_dir(*out, user, &run->err)) != CPK_OK) ||
	    (st = add_default_dir(*out, SYSTEM_TRUST_DIR, &run->err)) != CPK_OK)
		goto fail;
	if (cpk_trust_count(*out) == 0) {
		outcome(run, "rejected", CARDLOAD_EXIT_REJECTED,
		    "install the bureau's public key (a .pub file from 'cardc keygen') in that "
		    "folder, or give it with --trust FILE|DIR",
		    "no trusted signing key: none in %s%s%s, and no --trust given; the bundle cannot "
		    "be checked, nothing was sent to a card", user[0] != '\0' ? user : "",
		    user[0] != '\0' ? " or " : "", SYSTEM_TRUST_DIR);
		return false;
	}
	return true;
fail:
	outcome(run, "error", CLI_EXIT_ERROR,
	    "check the --trust path, or remove the broken file from the trusted folder",
	    "cannot read the trusted signing keys: %s", run->err.msg);
	return false;
}

/* --- the bundle --- */

static bool
read_bundle(struct run *run, struct cpk_buf *bytes)
{
	const struct cardload_load_args *a = run->a;
	struct cpk_fetch_opts fo = { a->cacert, a->timeout, CPK_BUNDLE_MAX_SIZE,
	    &cardload_stop_signal, NULL, NULL };
	cpk_status st;

	if (a->bytes != NULL)
		st = cpk_buf_set(bytes, a->bytes->data, a->bytes->len, &run->err);
	else if (strcmp(a->source, "-") == 0)
		st = cpk_bundle_read_fd(STDIN_FILENO, "stdin", bytes, &run->err);
	else if (cpk_fetch_is_url(a->source))
		st = cpk_fetch(a->source, &fo, bytes, &run->err);
	else
		st = cpk_bundle_read_path(a->source, bytes, &run->err);
	if (st == CPK_OK) {
		if (cpk_sha256(bytes->data, bytes->len, run->sha256, NULL) == CPK_OK)
			run->has_sha256 = true;
		return true;
	}
	if (st == CPK_ERR_INTERRUPTED)
		outcome(run, "interrupted", CLI_EXIT_ERROR, "run cardload again when ready",
		    "interrupted (%s) during the download of the bundle; nothing was sent to a "
		    "card", cli_signal_name(cardload_stop_signal));
	else if (st == CPK_ERR_RANGE)
		outcome(run, "rejected", CARDLOAD_EXIT_REJECTED,
		    "check that this is the bundle you were given; ask the bureau for it again",
		    "%s; nothing was sent to a card", run->err.msg);
	else
		outcome(run, "error", CLI_EXIT_ERROR, cpk_fetch_is_url(a->source) ?
		    "check the address and the network, then run cardload again" :
		    "check the file name, then run cardload again", "%s", run->err.msg);
	return false;
}

static void
bundle_rejected(struct run *run, cpk_status st, const struct cpk_bundle_diag *diag)
{
	char id[2 * CPK_KEY_ID_LEN + 1], text[1024];
	const char *what, *advice;

	if (diag->has_key_id) {
		memcpy(run->key_id, diag->key_id, CPK_KEY_ID_LEN);
		run->has_key_id = true;
	}
	switch (diag->fault) {
	case CPK_FAULT_UNKNOWN_KEY:
		cpk_key_id_hex(diag->key_id, id);
		outcome(run, "rejected", CARDLOAD_EXIT_REJECTED,
		    "ask the bureau for a bundle signed with a key you trust, or, if this signer is "
		    "genuine, install its public key (.pub) in your trusted folder or give --trust",
		    "the bundle is signed by the key %s, which is not one of your trusted keys; "
		    "nothing was sent to a card", id);
		return;
	case CPK_FAULT_BAD_SIGNATURE:
		what = "the bundle's signature is not valid: the file was changed or damaged after "
		    "it was signed";
		advice = "do not use this file; download it again or ask the bureau for a new one";
		break;
	case CPK_FAULT_SIGNATURE_FORMAT:
		what = "the bundle's signature is malformed or of an unknown kind";
		advice = "do not use this file; download it again or ask the bureau for a new one";
		break;
	case CPK_FAULT_HASH:
		what = "the commands in the bundle do not match its signed manifest: the file was "
		    "altered";
		advice = "do not use this file; download it again or ask the bureau for a new one";
		break;
	case CPK_FAULT_VERSION:
		what = "the bundle uses a format this cardload does not know";
		advice = "update cardload (cpk) and run it again";
		break;
	case CPK_FAULT_CONTAINER:
	case CPK_FAULT_MANIFEST:
	case CPK_FAULT_SCRIPT:
		what = "this is not a valid cpk bundle";
		advice = "check that this is the bundle you were given; download it again";
		break;
	default:
		outcome(run, "error", cli_exit_status(st), NULL, "cannot open the bundle: %s",
		    run->err.msg);
		return;
	}
	/* With the place in the manifest where there is one (manifest.yaml:LINE:COL). */
	cli_error_text(&run->err, text, sizeof(text));
	outcome(run, "rejected", CARDLOAD_EXIT_REJECTED, advice, "%s (%s); nothing was sent to a "
	    "card", what, text);
}

static bool
open_bundle(struct run *run, const struct cpk_buf *bytes, const struct cpk_trust *trust)
{
	struct cpk_bundle_diag diag;
	cpk_status st;

	memset(&diag, 0, sizeof(diag));
	st = cpk_bundle_open(bytes->data, bytes->len, trust, 0, &run->bundle, &diag, &run->err);
	if (st != CPK_OK) {
		bundle_rejected(run, st, &diag);
		return false;
	}
	run->m = cpk_bundle_manifest(run->bundle);
	run->total = cpk_bundle_command_count(run->bundle);
	memcpy(run->key_id, cpk_bundle_key_id(run->bundle), CPK_KEY_ID_LEN);
	run->has_key_id = true;
	return true;
}

/* --- progress and trace --- */

#define BAR_WIDTH 30

static void
draw_bar(struct run *run, size_t done, const char *label)
{
	size_t fill = run->total == 0 ? BAR_WIDTH : done * BAR_WIDTH / run->total, i;

	fputs("\r[", stderr);
	for (i = 0; i < BAR_WIDTH; i++)
		fputc(i < fill ? '#' : '-', stderr);
	fprintf(stderr, "] %zu/%zu %.*s\033[K", done, run->total, (int)cpk_utf8_cut(label, 28),
	    label);
	fflush(stderr);
	run->bar_shown = 1;
}

static void
clear_bar(struct run *run)
{
	if (run->bar_shown) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
		run->bar_shown = 0;
	}
}

static void
hook_before(void *ctx, size_t index, const struct cpk_command *c)
{
	struct run *run = ctx;
	size_t i;

	cardload_stop_lock();
	published.r.sent = index + 1;
	published.r.accepted = index;
	published.r.index = index;
	published.r.channel_open = false;
	for (i = 0; i < index; i++)
		if (cpk_bundle_command(run->bundle, i)->flags & CPK_CMD_EXT_AUTH)
			published.r.channel_open = true;
	cardload_stop_unlock();
	if (run->a->verbose)
		cardload_trace_command(c->apdu, c->apdu_len, c->label);
	else if (run->tty)
		draw_bar(run, index, c->label);
}

static void
hook_after(void *ctx, size_t index, const struct cpk_command *c, const uint8_t *resp, size_t n,
    uint64_t usec)
{
	struct run *run = ctx;

	cardload_stop_lock();
	if (run->answers != NULL && cpk_receipt_log_add(run->answers, index + 1, c->label, resp,
	    n, usec, NULL) != CPK_OK)
		run->answers_lost = published.answers_lost = true;
	cardload_stop_unlock();
	if (run->a->verbose)
		cardload_trace_response(resp, n, usec);
	else if (run->tty)
		draw_bar(run, index + 1, c->label);
}

/* --- the card --- */

/*
 * Can this bundle still be used after a stop? It follows what the card
 * received: the protocol's row of the table (scp_proto.h) says whether the
 * card moves its counter when INITIALIZE UPDATE reaches it (SCP03) or after
 * a successful EXTERNAL AUTHENTICATE (SCP02), and a session bundle belongs
 * to one card session. When the card or reader went away
 * during that very command, nobody can tell whether it arrived: "maybe".
 */
enum used { USED_NO, USED_MAYBE, USED_YES };

static enum used
bundle_used_up(const struct run *run)
{
	const struct cpk_stream_result *r = &run->r;
	/* A checked manifest names a protocol of the table; else count it as used. */
	const struct scp_proto *proto = scp_proto_find(run->m->scp);
	bool on_iu = proto == NULL || proto->counter_moves_on_iu;
	uint8_t moves = on_iu ? CPK_CMD_INIT_UPDATE : CPK_CMD_EXT_AUTH;
	size_t i;

	if (r->sent == 0)
		return USED_NO;
	if (run->m->mode == CPK_MODE_SESSION)
		return USED_YES;
	if (!on_iu && r->channel_open)
		return USED_YES;
	for (i = 0; i < run->total; i++) {
		if ((cpk_bundle_command(run->bundle, i)->flags & moves) == 0)
			continue;
		if (r->sent <= i)
			return USED_NO;
		if ((r->stop == CPK_STOP_TRANSPORT || r->stop == CPK_STOP_INTERRUPTED) &&
		    r->index == i)
			return USED_MAYBE;
		/* EXTERNAL AUTHENTICATE answered, but refused: such a counter stays. */
		return on_iu ? USED_YES : USED_NO;
	}
	return USED_NO;
}

/* The sentence a stop message ends with about the bundle ("" when it can be run again). */
static const char *
used_text(const struct run *run)
{
	switch (bundle_used_up(run)) {
	case USED_YES:
		return run->m->mode == CPK_MODE_SESSION ? " This bundle is used up now (its card "
		    "session is over)." : " This bundle is used up now (the card's sequence counter "
		    "has moved on).";
	case USED_MAYBE:
		return " The card may or may not have received that command: if cardload says "
		    "next time that the sequence counter has moved on, this bundle is used up.";
	case USED_NO:
		break;
	}
	return "";
}

/* What a technician does about each INITIALIZE UPDATE difference. */
static const char *
mismatch_advice(const struct run *run)
{
	switch (run->r.iu.diff) {
	case CPK_IU_CARD:
	case CPK_IU_PROTOCOL:
		return "insert the card this bundle was made for, or ask the bureau for this "
		    "card's bundle (send them its record: 'cardload identify')";
	case CPK_IU_STALE:
	case CPK_IU_COUNTER_AHEAD:
		return "ask the bureau for a new bundle made from a fresh card record "
		    "('cardload identify' on this card)";
	case CPK_IU_KEY_VERSION:
	case CPK_IU_CHALLENGE:
	case CPK_IU_CRYPTOGRAM:
		return "the card's keys are not those the bundle was made with: report it to "
		    "the bureau with the run log line";
	default:
		return "check that this is the card the bundle was made for; report it to the "
		    "bureau with the run log line";
	}
}

static const char *
stopped_label(const struct run *run)
{
	const struct cpk_command *c = cpk_bundle_command(run->bundle, run->r.index);

	return c != NULL ? c->label : "?";
}

/* The stream names the command in its message; ours names it already. */
static const char *
without_prefix(const char *msg, size_t index, const char *label)
{
	char prefix[CPK_LABEL_MAX + 40];
	size_t n;

	snprintf(prefix, sizeof(prefix), "command %zu (%s): ", index + 1, label);
	n = strlen(prefix);
	return strncmp(msg, prefix, n) == 0 ? msg + n : msg;
}

/* The card refused EXTERNAL AUTHENTICATE or a secured command. */
static void
refused_outcome(struct run *run, const char *label, const char *meaning)
{
	const struct cpk_stream_result *r = &run->r;
	bool session = run->m->mode == CPK_MODE_SESSION;
	char adv[400];

	if (r->channel_open) {
		outcome(run, "refused", CARDLOAD_EXIT_REFUSED,
		    "keep the card aside and send the run log line to the bureau: a new bundle "
		    "for this card can finish or undo the work",
		    "the card refused command %zu of %zu (%s) with %04X: %s. %zu command(s) had been "
		    "accepted: the card may be partly provisioned.%s", r->index + 1, run->total,
		    label, r->sw, meaning, r->accepted, used_text(run));
		return;
	}
	snprintf(adv, sizeof(adv), "ask the bureau for a new bundle%s", session ? " (a session "
	    "bundle must be loaded in the card session it was made in: right after 'cardload "
	    "identify --session', without removing the card)" : "");
	outcome(run, "refused", CARDLOAD_EXIT_REFUSED, adv,
	    "the card refused EXTERNAL AUTHENTICATE (command %zu of %zu) with %04X: %s. %s; "
	    "nothing was installed.%s", r->index + 1, run->total, r->sw, meaning, session ?
	    "The card is not in the session this bundle was made for, or holds other keys" :
	    "The card did not accept the bundle's keys", used_text(run));
}

/* The card or the reader went away, or answered something unusable. */
static void
transport_outcome(struct run *run, const char *label)
{
	const struct cpk_stream_result *r = &run->r;
	const char *why = without_prefix(run->err.msg, r->index, label);
	const char *state = r->channel_open ? "The card may be partly provisioned." :
	    "Nothing was installed.";
	const char *adv;

	if (r->channel_open)
		adv = "put the card back (or check the reader) and ask the bureau for a new "
		    "bundle for this card; send them the run log line";
	else if (bundle_used_up(run) == USED_YES)
		adv = "put the card back firmly, check the reader, and ask the bureau for a new "
		    "bundle";
	else
		adv = "put the card back firmly, check the reader, and run cardload again";
	if (run->stream_st != CPK_ERR_PCSC) {
		outcome(run, "error", CLI_EXIT_ERROR, "report it to the bureau with the run log "
		    "line: the card may be faulty", "the card's answer to command %zu of %zu (%s) "
		    "cannot be used: %s. %s%s", r->index + 1, run->total, label, why, state,
		    used_text(run));
		return;
	}
	outcome(run, "transport", CARDLOAD_EXIT_READER, adv, "lost the card during command %zu "
	    "of %zu (%s): %s. %s%s", r->index + 1, run->total, label, why, state,
	    used_text(run));
}

static void
stream_outcome_failed(struct run *run)
{
	const struct cpk_stream_result *r = &run->r;
	const char *label = stopped_label(run);
	char meaning[160];

	cpk_sw_describe(r->sw, meaning, sizeof(meaning));
	switch (r->stop) {
	case CPK_STOP_MISMATCH:
		outcome(run, "mismatch", CARDLOAD_EXIT_REJECTED, mismatch_advice(run),
		    "this bundle does not fit the card: %s: %s. No secured command was sent; "
		    "nothing was installed", r->iu.field, r->iu.detail);
		return;
	case CPK_STOP_PRE_CHANNEL:
		outcome(run, "pre-channel", CARDLOAD_EXIT_REJECTED,
		    "check that this is the card the bundle was made for; if it is, the card may be "
		    "locked or its keys changed: report it to the bureau with the run log line",
		    "the card refused command %zu of %zu (%s) with %04X: %s. No secured command was "
		    "sent; nothing was installed", r->index + 1, run->total, label, r->sw, meaning);
		return;
	case CPK_STOP_REFUSED:
		refused_outcome(run, label, meaning);
		return;
	case CPK_STOP_TRANSPORT:
		transport_outcome(run, label);
		return;
	case CPK_STOP_INTERRUPTED:
		outcome(run, "interrupted", CLI_EXIT_ERROR, r->channel_open ? "send the run log "
		    "line to the bureau; a new bundle for this card can finish or undo the work" :
		    bundle_used_up(run) == USED_YES ? "ask the bureau for a new bundle" :
		    "run cardload again when ready",
		    "interrupted (%s) after %zu of %zu commands; %s.%s",
		    cli_signal_name(cardload_stop_signal), r->sent, run->total,
		    r->channel_open ? "the card may be partly provisioned" :
		    "no secured command was sent, nothing was installed",
		    used_text(run));
		return;
	case CPK_STOP_NONE:
		break;
	}
	outcome(run, "error", CLI_EXIT_ERROR, NULL, "%s", run->err.msg);
}

/* Close the card, unless the session that opened it keeps it. */
static void
release(const struct run *run, struct cpk_transport *t)
{
	if (run->a->card == NULL)
		cpk_transport_close(t);
}

static void
stream(struct run *run)
{
	struct cpk_transport t;
	struct cpk_stream_hooks hooks = { run, hook_before, hook_after, &cardload_stop_signal };
	const char *want = cardload_reader_choice(run->a->reader);
	cpk_status st;

	memset(&t, 0, sizeof(t));
	cpk_error_clear(&run->err);
	if (run->a->card == NULL && run->m->mode == CPK_MODE_SESSION) {
		/*
		 * A session bundle follows its card's INITIALIZE UPDATE in the same
		 * card session; another process's session ended when it let the card
		 * go (pcscd powers an idle card down): refused, nothing sent.
		 */
		outcome(run, "rejected", CARDLOAD_EXIT_REJECTED, "load it in the process that "
		    "opens the card session: cardload session -o card.yaml --bundle BUNDLE|URL|- "
		    "waits for the bundle made from card.yaml (or cardload session -o card.yaml "
		    "--bundle BUNDLE -- COMMAND runs what makes it), or let a server drive the "
		    "card: cardload --server URL", "%s is a session bundle: it can only be loaded "
		    "in the card session it was made in, by the process that opened it; nothing "
		    "was sent to a card", run->a->shown);
		return;
	}
	if (run->a->card != NULL) {
		/* cardload session: the card opened (and kept) by the session. */
		t = *run->a->card;
		st = CPK_OK;
	} else {
		st = cpk_pcsc_open(want, &t, &run->err);
	}
	if (st != CPK_OK) {
		outcome(run, "reader", cardload_transport_exit(st), cardload_reader_advice(&run->err),
		    "%s; nothing was sent to a card", run->err.msg);
		return;
	}
	snprintf(run->reader, sizeof(run->reader), "%s", t.name);
	/*
	 * The "started" record is on disk before the first command leaves: a
	 * run killed from here on (kill -9, power cut) leaves it without its
	 * "ended" record, for whoever reads the log.
	 */
	if (!write_record(run, true, NULL)) {
		release(run, &t);
		outcome(run, "error", CLI_EXIT_ERROR, run->a->log == NULL ? "make room on the disk "
		    "or give another run log with --log, then run cardload again" : "make room on "
		    "the disk or give another run log, then run cardload again",
		    "the run log could not be written (%s); nothing was sent to a card",
		    run->log_error);
		return;
	}
	if (cardload_stop_signal != 0) {
		release(run, &t);
		run->streamed = true;
		outcome(run, "interrupted", CLI_EXIT_ERROR, "run cardload again when ready",
		    "interrupted (%s) before the first command; nothing was sent to a card",
		    cli_signal_name(cardload_stop_signal));
		return;
	}
	publish(run);
	cardload_stop_card(&t);
	fprintf(stderr, "cardload: loading %zu commands (profile %s%s%s) into the card in '%s'\n",
	    run->total, run->m->profile, run->m->serial[0] != '\0' ? ", card " : "",
	    run->m->serial, run->reader);
	st = cpk_stream_run(&t, run->bundle, &hooks, &run->r, &run->err);
	clear_bar(run);
	cardload_stop_card(NULL);
	release(run, &t);
	run->streamed = true;
	run->stream_st = st;
	if (st == CPK_OK && run->r.release_failed) {
		outcome(run, "ok", CLI_EXIT_OK, "the card is ready; check the reader and its "
		    "connection before the next card",
		    "done: all %zu commands were accepted by the card in '%s' (profile %s%s%s), "
		    "but the card could not be released cleanly afterwards (%s)",
		    run->total, run->reader, run->m->profile,
		    run->m->serial[0] != '\0' ? ", card " : "", run->m->serial,
		    run->r.release_msg);
		return;
	}
	if (st == CPK_OK) {
		outcome(run, "ok", CLI_EXIT_OK, "the card is ready: you may remove it",
		    "done: all %zu commands were accepted by the card in '%s' (profile %s%s%s)",
		    run->total, run->reader, run->m->profile,
		    run->m->serial[0] != '\0' ? ", card " : "", run->m->serial);
		return;
	}
	stream_outcome_failed(run);
}

/* --- the receipt (cpk-receipt(5)) --- */

/* Where the run stopped, as the receipt says it: reason, command (1-based), SW. */
static enum cpk_receipt_stop
receipt_stop(const struct run *run, size_t *index, bool *has_sw)
{
	const struct cpk_stream_result *r = &run->r;

	*index = 0;
	*has_sw = false;
	if (!run->streamed || r->sent == 0)
		return CPK_RECEIPT_NOT_SENT;
	switch (r->stop) {
	case CPK_STOP_NONE:
		return CPK_RECEIPT_DONE;
	case CPK_STOP_MISMATCH:
		*index = r->index + 1;
		*has_sw = true;
		return CPK_RECEIPT_MISMATCH;
	case CPK_STOP_PRE_CHANNEL:
	case CPK_STOP_REFUSED:
		*index = r->index + 1;
		*has_sw = true;
		return CPK_RECEIPT_REFUSED;
	case CPK_STOP_TRANSPORT:
		*index = r->index + 1;
		return CPK_RECEIPT_CARD_GONE;
	case CPK_STOP_INTERRUPTED:
		*index = r->index + 1;
		return CPK_RECEIPT_INTERRUPTED;
	}
	return CPK_RECEIPT_NOT_SENT;
}

/*
 * The card as this run saw it: a session's identification, else the answer
 * to the bundle's INITIALIZE UPDATE (its host challenge is the manifest's,
 * which the script check bound to the command sent). false: neither.
 */
static bool
receipt_card(const struct run *run, struct cpk_receipt_card *c)
{
	const struct cpk_receipt_entry *e;
	const struct cpk_command *cmd;
	const uint8_t *r;
	size_t i;

	memset(c, 0, sizeof(*c));
	if (run->a->seen != NULL) {
		*c = *run->a->seen;
		return true;
	}
	if (run->answers == NULL || run->bundle == NULL)
		return false;
	for (i = 0; i < run->answers->n; i++) {
		e = &run->answers->v[i];
		r = run->answers->resp.data + e->off;
		cmd = cpk_bundle_command(run->bundle, e->index - 1);
		if (cmd == NULL || (cmd->flags & CPK_CMD_INIT_UPDATE) == 0 ||
		    r[e->len - 2] != 0x90 || r[e->len - 1] != 0x00)
			continue;
		c->seen_by = "initialize-update";
		c->iu_response = r;
		c->iu_len = e->len - 2;
		c->host_challenge = run->m->has_host_challenge ? run->m->host_challenge : NULL;
		return true;
	}
	return false;
}

/*
 * Encode the receipt into doc (false when it could not be: no receipt at
 * all) and, with --receipt, replace the file with it (receipt_ok, else
 * receipt_error: the run log still gets the receipt).
 */
static bool
make_receipt(struct run *run, struct cpk_buf *doc)
{
	struct cpk_receipt_info in;
	struct cpk_receipt_card card;
	struct cpk_error err;

	cpk_error_clear(&err);
	memset(&in, 0, sizeof(in));
	in.version = CPK_VERSION;
	in.start = run->start;
	in.end = run->end;
	in.source = run->a->shown;
	in.reader = run->reader;
	in.result = run->result;
	in.bundle_sha256 = run->has_sha256 ? run->sha256 : NULL;
	in.key_id = run->has_key_id ? run->key_id : NULL;
	in.m = run->m;
	in.commands = run->total;
	in.card = receipt_card(run, &card) ? &card : NULL;
	in.stop = receipt_stop(run, &in.stop_index, &in.has_stop_sw);
	in.stop_sw = run->r.sw;
	run->receipt_ok = false;
	if (run->answers_lost) {
		snprintf(run->receipt_error, sizeof(run->receipt_error), "an answer of the card "
		    "could not be kept (out of memory)");
		return false;
	}
	if (cpk_receipt_encode(&in, run->answers, doc, &err) != CPK_OK) {
		snprintf(run->receipt_error, sizeof(run->receipt_error), "%s", err.msg);
		return false;
	}
	if (run->a->receipt != NULL &&
	    cpk_file_replace(run->a->receipt, doc->data, doc->len, 0644, &err) != CPK_OK) {
		snprintf(run->receipt_error, sizeof(run->receipt_error), "%s", err.msg);
		return true;
	}
	run->receipt_ok = true;
	return true;
}

/* --- results: run log, stderr, JSON --- */

static bool
has_failure(const struct run *run)
{
	return run->streamed && run->r.stop != CPK_STOP_NONE &&
	    run->r.stop != CPK_STOP_INTERRUPTED;
}

/*
 * Append the run's "started" or "ended" record to the run log; false (and
 * log_error) when it could not be written.
 */
static bool
write_record(struct run *run, bool started, const struct cpk_buf *receipt)
{
	struct cpk_runlog_entry e;
	struct cpk_buf line = CPK_BUF_INIT;
	uint8_t receipt_sha[CPK_SHA256_LEN];
	char omitted[160];
	struct cpk_error err;
	const struct cpk_command *c = NULL;
	cpk_status st;

	cpk_error_clear(&err);
	memset(&e, 0, sizeof(e));
	e.started = started;
	memcpy(e.start, run->start, sizeof(e.start));
	e.pid = (unsigned long)getpid();
	memcpy(e.end, run->end, sizeof(e.end));
	e.version = CPK_VERSION;
	e.result = run->result;
	e.exit_code = run->exit;
	e.source = run->a->shown;
	e.bundle_sha256 = run->has_sha256 ? run->sha256 : NULL;
	e.key_id = run->has_key_id ? run->key_id : NULL;
	e.serial = run->m != NULL ? run->m->serial : NULL;
	e.reader = run->reader;
	e.commands = run->total;
	e.sent = run->r.sent;
	e.accepted = run->r.accepted;
	if (!started && has_failure(run)) {
		c = cpk_bundle_command(run->bundle, run->r.index);
		e.failed = true;
		e.failed_index = run->r.index + 1;
		e.failed_label = c != NULL ? c->label : NULL;
		e.failed_sw = run->r.sw;
		e.iu_field = run->r.stop == CPK_STOP_MISMATCH ? run->r.iu.field : NULL;
	}
	e.message = run->message;
	if (!started && receipt != NULL && receipt->len > 0 &&
	    cpk_sha256(receipt->data, receipt->len, receipt_sha, NULL) == CPK_OK) {
		e.receipt_file = run->receipt_ok ? run->a->receipt : NULL;
		e.receipt_sha256 = receipt_sha;
		e.receipt = receipt->data;
		e.receipt_len = receipt->len;
		if (receipt->len > CPK_RUNLOG_RECEIPT_MAX) {
			snprintf(omitted, sizeof(omitted), "the receipt is %zu bytes, more than the %zu "
			    "a run log record holds", receipt->len, CPK_RUNLOG_RECEIPT_MAX);
			e.receipt_omitted = omitted;
		}
	}
	if (run->a->log != NULL)
		snprintf(run->log_path, sizeof(run->log_path), "%s", run->a->log);
	if ((run->a->log == NULL &&
	    (st = cpk_runlog_default_path(run->log_path, sizeof(run->log_path), &err)) != CPK_OK) ||
	    (st = cpk_runlog_format(&e, &line, &err)) != CPK_OK ||
	    (st = cpk_runlog_append(run->log_path, line.data, line.len, &err)) != CPK_OK) {
		snprintf(run->log_error, sizeof(run->log_error), "%s", err.msg);
		run->log_ok = false;
	} else {
		run->log_ok = true;
	}
	cpk_buf_free(&line);
	return run->log_ok;
}

static void
json_failure(struct cli_json *j, const struct run *run)
{
	const struct cpk_command *c;
	char sw[5], meaning[160];

	if (!has_failure(run)) {
		cli_json_null(j, "failed");
		return;
	}
	c = cpk_bundle_command(run->bundle, run->r.index);
	cli_json_object(j, "failed");
	cli_json_uint(j, "index", run->r.index + 1);
	cli_json_str(j, "label", c != NULL ? c->label : NULL);
	if (run->r.sw != 0) {
		snprintf(sw, sizeof(sw), "%04X", run->r.sw);
		cli_json_str(j, "sw", sw);
		if (run->r.stop == CPK_STOP_MISMATCH)
			snprintf(meaning, sizeof(meaning), "accepted, but the answer is not the one "
			    "the bundle expects (%s)", run->r.iu.field);
		else
			cpk_sw_describe(run->r.sw, meaning, sizeof(meaning));
		cli_json_str(j, "meaning", meaning);
	} else {
		cli_json_null(j, "sw");
		cli_json_null(j, "meaning");
	}
	cli_json_end(j);
}

static void
json_bundle(struct cli_json *j, const struct run *run)
{
	char id[2 * CPK_KEY_ID_LEN + 1];

	cli_json_object(j, "bundle");
	if (run->has_sha256)
		cli_json_hex(j, "sha256", run->sha256, sizeof(run->sha256));
	else
		cli_json_null(j, "sha256");
	if (run->has_key_id) {
		cpk_key_id_hex(run->key_id, id);
		cli_json_str(j, "key-id", id);
	} else {
		cli_json_null(j, "key-id");
	}
	cli_json_str(j, "signer", run->bundle != NULL ? cpk_bundle_signer(run->bundle) : NULL);
	if (run->m != NULL) {
		cli_json_str(j, "profile", run->m->profile);
		cli_json_str(j, "mode", run->m->mode == CPK_MODE_OFFLINE ? "offline" : "session");
		cli_json_str(j, "serial", run->m->serial[0] != '\0' ? run->m->serial : NULL);
		cli_json_uint(j, "created", run->m->created);
	}
	cli_json_end(j);
}

static void
print_json(const struct run *run)
{
	struct cli_json j;

	cli_json_init(&j, stdout);
	cli_json_object(&j, NULL);
	cli_json_str(&j, "result", run->result);
	cli_json_uint(&j, "exit", (uint64_t)run->exit);
	cli_json_str(&j, "message", run->message);
	cli_json_str(&j, "advice", run->advice[0] != '\0' ? run->advice : NULL);
	cli_json_str(&j, "cardload", CPK_VERSION);
	cli_json_str(&j, "source", run->a->shown);
	json_bundle(&j, run);
	cli_json_str(&j, "serial", run->m != NULL && run->m->serial[0] != '\0' ?
	    run->m->serial : NULL);
	cli_json_str(&j, "reader", run->reader[0] != '\0' ? run->reader : NULL);
	cli_json_object(&j, "commands");
	cli_json_uint(&j, "total", run->total);
	cli_json_uint(&j, "sent", run->r.sent);
	cli_json_uint(&j, "accepted", run->r.accepted);
	cli_json_end(&j);
	json_failure(&j, run);
	if (run->streamed && run->r.stop == CPK_STOP_MISMATCH) {
		cli_json_object(&j, "iu");
		cli_json_str(&j, "field", run->r.iu.field);
		cli_json_str(&j, "detail", run->r.iu.detail);
		cli_json_end(&j);
	} else {
		cli_json_null(&j, "iu");
	}
	cli_json_bool(&j, "channel-open", run->r.channel_open);
	cli_json_str(&j, "start", run->start);
	cli_json_str(&j, "end", run->end);
	cli_json_object(&j, "log");
	cli_json_str(&j, "path", run->log_path[0] != '\0' ? run->log_path : NULL);
	cli_json_bool(&j, "written", run->log_ok);
	cli_json_str(&j, "error", run->log_ok ? NULL : run->log_error);
	cli_json_end(&j);
	cli_json_object(&j, "receipt");
	cli_json_str(&j, "path", run->a->receipt);
	cli_json_bool(&j, "written", run->a->receipt != NULL && run->receipt_ok);
	cli_json_str(&j, "error", run->a->receipt == NULL || run->receipt_ok ? NULL :
	    run->receipt_error);
	cli_json_end(&j);
	cli_json_finish(&j);
}

static void
report(struct run *run)
{
	struct cpk_buf receipt = CPK_BUF_INIT;
	bool receipt_made;

	cpk_runlog_now(run->end);
	receipt_made = make_receipt(run, &receipt);
	(void)write_record(run, false, receipt_made ? &receipt : NULL);
	cpk_buf_free(&receipt);
	fprintf(stderr, "cardload: %s%s\n", run->exit == CLI_EXIT_OK ? "" : "FAILED: ",
	    run->message);
	if (run->advice[0] != '\0')
		fprintf(stderr, "cardload: what to do: %s\n", run->advice);
	if (run->a->receipt != NULL && !run->receipt_ok) {
		fprintf(stderr, "cardload: the receipt could not be written to '%s': %s%s\n",
		    run->a->receipt, run->receipt_error, receipt_made && run->log_ok ?
		    "; the run log's record holds what the card answered" : "");
		if (run->exit == CLI_EXIT_OK)
			run->exit = CLI_EXIT_ERROR;
	} else if (run->a->receipt != NULL) {
		fprintf(stderr, "cardload: receipt written to %s\n", run->a->receipt);
	}
	if (!run->log_ok) {
		fprintf(stderr, "cardload: the run log could not be written: %s; write the result "
		    "down by hand%s\n", run->log_error, run->a->log == NULL ?
		    " (or give another file with --log)" : "");
		/* A log failure matters only when the card work itself went well. */
		if (run->exit == CLI_EXIT_OK)
			run->exit = CLI_EXIT_ERROR;
	}
	if (run->a->json)
		print_json(run);
}

/*
 * The signal watcher gives the run up (see cardload_stop.h): the run is
 * stuck in a call that does not return, typically a command sent to a card
 * that stopped answering. Report from what was published, then exit.
 */
static void
abandon(void *ctx, int sig)
{
	struct run *run = &published;
	struct cpk_stream_result *r = &run->r;
	const struct cpk_command *c;

	(void)ctx;
	run->bar_shown = run->tty;	/* the bar may have been drawn since the copy */
	clear_bar(run);
	if (!run->streamed && r->sent > 0) {
		c = cpk_bundle_command(run->bundle, r->index);
		run->streamed = true;
		r->stop = CPK_STOP_INTERRUPTED;
		outcome(run, "interrupted", CLI_EXIT_ERROR, r->channel_open ? "send the run log "
		    "line to the bureau; a new bundle for this card can finish or undo the work" :
		    bundle_used_up(run) == USED_YES ? "ask the bureau for a new bundle" :
		    "check the card and the reader, then run cardload again",
		    "interrupted (%s) during command %zu of %zu (%s): the card did not answer "
		    "within %d seconds, so cardload gave up on it; %s.%s", cli_signal_name(sig),
		    r->index + 1, run->total, c != NULL ? c->label : "?",
		    CARDLOAD_STOP_GRACE_MS / 1000, r->channel_open ?
		    "the card may be partly provisioned" : "no secured command was accepted, "
		    "nothing was installed", used_text(run));
	} else {
		outcome(run, "interrupted", CLI_EXIT_ERROR, "run cardload again when ready",
		    "interrupted (%s); nothing was sent to a card", cli_signal_name(sig));
	}
	report(run);
	fflush(stdout);
	fflush(stderr);
	_exit(run->exit);
}

int
cardload_load_run(const struct cardload_load_args *a)
{
	struct run run;
	struct cpk_trust *trust = NULL;
	struct cpk_buf bytes = CPK_BUF_INIT;
	struct cpk_receipt_log answers = CPK_RECEIPT_LOG_INIT;

	memset(&run, 0, sizeof(run));
	run.a = a;
	run.answers = &answers;
	run.tty = isatty(STDERR_FILENO) == 1;
	cpk_error_clear(&run.err);
	cpk_runlog_now(run.start);
	publish(&run);
	(void)cardload_stop_start(abandon, NULL);
	if (load_trust(&run, &trust) && read_bundle(&run, &bytes) &&
	    open_bundle(&run, &bytes, trust)) {
		/*
		 * The opened bundle holds its entries and run.sha256 the file's
		 * hash: the file's bytes (public) are not kept while streaming.
		 */
		cpk_buf_free_public(&bytes);
		publish(&run);
		stream(&run);
	}
	cardload_stop_lock();
	cardload_stop_reporting();
	cardload_stop_unlock();
	report(&run);
	cardload_stop_finish();
	cpk_bundle_free(&run.bundle);
	cpk_buf_free(&bytes);
	cpk_trust_free(&trust);
	cpk_receipt_log_free(&answers);
	return run.exit;
}

/* cardload --server URL: the options that apply, then the SERAM session. */
static int
server_main(struct cardload_server_args *s, int argc, char *argv[])
{
	if (optind < argc)
		return cli_usage(NULL, SYNOPSIS, "--server takes no bundle (the server sends the "
		    "commands): '%s'", argv[optind]);
	if (s->load.trust != NULL || s->load.receipt != NULL || s->load.timeout != 0)
		return cli_usage(NULL, SYNOPSIS, "--trust, --receipt and --timeout are for bundles; "
		    "with --server the server checks and records the card's answers");
	if (!cpk_fetch_is_https(s->url))
		return cli_usage(NULL, SYNOPSIS, "--server wants an https:// URL (the server's "
		    "certificate is checked), not '%s'", s->url);
	if (s->client_key != NULL && s->client_cert == NULL)
		return cli_usage(NULL, SYNOPSIS, "--client-key goes with --client-cert");
	if (s->session_id != NULL && !seram_session_id_valid(s->session_id))
		return cli_usage(NULL, SYNOPSIS, "--session-id wants 1 to %d characters of A-Z a-z "
		    "0-9 . _ -", SERAM_SESSION_ID_MAX);
	if (s->load.log != NULL && s->load.log[0] == '\0')
		return cli_usage(NULL, SYNOPSIS, "--log wants a file name");
	return cardload_server_run(s);
}

static int
load_main(int argc, char *argv[])
{
	struct cardload_server_args s;
	struct cardload_load_args a;
	unsigned long v;
	int c;

	memset(&s, 0, sizeof(s));
	memset(&a, 0, sizeof(a));
	while ((c = getopt_long(argc, argv, CARDLOAD_GETOPT_PREFIX "r:vh", long_options,
	    NULL)) != -1) {
		switch (c) {
		case 'r':
			a.reader = optarg;
			break;
		case OPT_TRUST:
			a.trust = optarg;
			break;
		case OPT_JSON:
			a.json = true;
			break;
		case 'v':
			a.verbose = true;
			break;
		case OPT_LOG:
			a.log = optarg;
			break;
		case OPT_CACERT:
			a.cacert = optarg;
			break;
		case OPT_RECEIPT:
			a.receipt = optarg;
			break;
		case OPT_TIMEOUT:
			if (!cli_parse_uint(optarg, 1, 3600, &v))
				return cli_usage(NULL, SYNOPSIS,
				    "--timeout wants seconds from 1 to 3600, not '%s'", optarg);
			a.timeout = (unsigned)v;
			break;
		case OPT_SERVER:
			s.url = optarg;
			break;
		case OPT_SESSION_ID:
			s.session_id = optarg;
			break;
		case OPT_TECHNICIAN:
			if (optarg[0] == '\0' || strlen(optarg) > SERAM_USER_MAX)
				return cli_usage(NULL, SYNOPSIS, "--technician wants a user name of 1 "
				    "to %d bytes", SERAM_USER_MAX);
			s.technician = optarg;
			break;
		case OPT_CLIENT_CERT:
			s.client_cert = optarg;
			break;
		case OPT_CLIENT_KEY:
			s.client_key = optarg;
			break;
		case OPT_HOLDER_PIN_FILE:
			if (optarg[0] == '\0')
				return cli_usage(NULL, SYNOPSIS, "--holder-pin-file wants a file name");
			s.holder_pin_file = optarg;
			break;
		case OPT_RETRY_FOR:
			if (!cli_parse_uint(optarg, 1, 3600, &v))
				return cli_usage(NULL, SYNOPSIS,
				    "--retry-for wants seconds from 1 to 3600, not '%s'", optarg);
			s.retry_for = (unsigned)v;
			break;
		case 'h':
			cli_command_help(&cardload_load_command, stdout);
			return CLI_EXIT_OK;
		default:
			return cli_bad_option(NULL, SYNOPSIS, c, argv, long_options);
		}
	}
	if (s.url != NULL) {
		s.load = a;
		return server_main(&s, argc, argv);
	}
	if (s.session_id != NULL || s.retry_for != 0 || s.technician != NULL ||
	    s.client_cert != NULL || s.client_key != NULL || s.holder_pin_file != NULL)
		return cli_usage(NULL, SYNOPSIS, "--session-id, --retry-for, --technician, "
		    "--client-cert, --client-key and --holder-pin-file go with --server URL");
	if (optind == argc)
		return cli_usage(NULL, SYNOPSIS, "no bundle given (a file, an https:// URL, or - "
		    "for stdin)");
	if (argc - optind > 1)
		return cli_usage(NULL, SYNOPSIS, "one bundle at a time (got '%s' and '%s')",
		    argv[optind], argv[optind + 1]);
	a.source = argv[optind];
	a.shown = a.source;
	if (cpk_fetch_is_url(a.source)) {
		cpk_fetch_redact(a.source, a.shown_url, sizeof(a.shown_url));
		a.shown = a.shown_url;
	}
	if (a.source[0] == '\0')
		return cli_usage(NULL, SYNOPSIS, "the bundle name is empty");
	if (cpk_fetch_is_url(a.source) && !cpk_fetch_is_https(a.source))
		return cli_usage(NULL, SYNOPSIS, "'%s': only https:// URLs are fetched (the "
		    "server's certificate is checked)", a.shown);
	if (a.log != NULL && a.log[0] == '\0')
		return cli_usage(NULL, SYNOPSIS, "--log wants a file name");
	if (a.receipt != NULL && (a.receipt[0] == '\0' || strcmp(a.receipt, "-") == 0))
		return cli_usage(NULL, SYNOPSIS, "--receipt wants a file name");
	return cardload_load_run(&a);
}

const struct cli_command cardload_load_command = {
	"load",
	load_main,
	"check a bundle and stream it to the card (the default command)",
	SYNOPSIS,
	"Check the bundle's signature against the trusted keys, its command list\n"
	"against the signed manifest, and every limit, before any reader is opened;\n"
	"then check that the card in the reader is the one the bundle was made for\n"
	"(its INITIALIZE UPDATE answer, field by field, before EXTERNAL AUTHENTICATE)\n"
	"and send the commands one by one, stopping at the first one the card refuses.\n"
	"'load' may be left out: 'cardload FILE' is 'cardload load FILE'.\n"
	"\n"
	"  BUNDLE|URL|-          a .cpk file, an https:// URL, or - for stdin\n"
	"  -r, --reader NAME     the reader: its exact name or a unique part of it\n"
	"                        (default: $CPK_READER, else the only reader with a card)\n"
	"      --trust PUB|DIR   trusted signing keys: a .pub file or a folder of them\n"
	"                        (default: $XDG_CONFIG_HOME/cpk/trusted/ and\n"
	"                        " SYSTEM_TRUST_DIR "/)\n"
	"      --json            print one JSON result document on stdout\n"
	"  -v, --verbose         print the APDU trace on stderr (no progress bar)\n"
	"      --log FILE        the run log, a regular file (default\n"
	"                        $XDG_STATE_HOME/cpk/cardload.log, $XDG_STATE_HOME\n"
	"                        defaulting to ~/.local/state)\n"
	"      --receipt FILE    write the receipt there (cpk-receipt(5)): every answer\n"
	"                        of the card, R-MAC included, for 'cardc receipt verify';\n"
	"                        replaced atomically, a regular file only\n"
	"      --cacert FILE     CA certificates (PEM) for an https:// server\n"
	"      --timeout SECONDS download time limit (default 120)\n"
	"      --server URL      no bundle: be the SERAM Local Agent of the server at\n"
	"                        URL (cardc serve): hold the card for the whole session\n"
	"                        and play the commands the server sends; the server\n"
	"                        identifies the card, compiles, checks the answers and\n"
	"                        records them\n"
	"      --session-id ID   with --server: the SERAM session id (default: random)\n"
	"      --retry-for SECONDS  with --server: how long to keep sending a request\n"
	"                        the server does not answer (default 300, SERAM's rule)\n"
	"      --technician USER with --server: who you are, for a server that asks;\n"
	"                        the PIN is read from the terminal (not shown), else\n"
	"                        from the first line of stdin\n"
	"      --client-cert PEM with --server: a TLS client certificate for a server\n"
	"                        that knows technicians by certificate\n"
	"      --client-key PEM  its private key (default: in the --client-cert file)\n"
	"      --holder-pin-file FILE  with --server: the card holder's PIN if asked\n"
	"                        (default: the reader's PIN pad, else the terminal)\n"
	"  -h, --help            this text\n"
	"\n"
	"Every run appends JSON records to the run log (cardload(1), RUN LOG): a\n"
	"\"started\" one before the first command is sent (if it cannot be written,\n"
	"nothing is sent: exit 1) and an \"ended\" one, which holds the receipt too; if\n"
	"that one (or the --receipt file) cannot be written cardload says so and exits\n"
	"1, unless the run already failed with another code. cardload holds no key: a\n"
	"card that answers 9000 without doing the work is only caught by\n"
	"'cardc receipt verify' with the keys, where the security level has R-MAC.\n"
	"SIGINT (Ctrl-C), SIGTERM and SIGHUP stop between two commands or the download\n"
	"(exit 1) and say how far the run got; a card that does not answer within 2\n"
	"seconds of the signal is given up. A signal cardload was started with ignored\n"
	"(nohup) stays ignored.\n"
	"\n"
	"Exit status: 0 every command accepted; 1 error (input, download, run log,\n"
	"interrupted); 2 usage; 3 bundle rejected before anything was sent (signature,\n"
	"hash, limits, no trusted key, wrong card, stale counter, SELECT or INITIALIZE\n"
	"UPDATE refused); 4 the card refused EXTERNAL AUTHENTICATE or a command of the\n"
	"secure channel; 5 no reader, no card, no smart-card service, or the card was\n"
	"removed; 6 the card refused the card holder's PIN.\n",
};
