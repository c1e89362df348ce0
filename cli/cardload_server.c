/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cardload --server URL: the SERAM Local Agent (loader/seram_agent.h). The
 * card is opened and held for the whole session; the server (cardc serve)
 * decides every command; this program holds no key and says how it went:
 * progress, the first refused status word, the server's verdict, the run
 * log, --json, and the exit status of `cardload BUNDLE`.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cardload.h"
#include "cardload_stop.h"
#include "cli_pin.h"
#include "cli_util.h"
#include "cpk_bytes.h"
#include "cpk_config.h"
#include "cpk_sw.h"
#include "fetch.h"
#include "pcsc.h"
#include "pinpad.h"
#include "runlog.h"
#include "seram_agent.h"

struct online {
	const struct cardload_server_args *a;
	struct cpk_transport t;
	struct cpk_agent_result r;
	struct cpk_error err;
	cpk_status st;
	char start[CPK_RUNLOG_TIME_LEN], end[CPK_RUNLOG_TIME_LEN];
	char shown[CPK_FETCH_SHOWN_MAX];
	char message[CPK_ERROR_MSG_LEN + 128];
	const char *result;
	int exit;
	size_t total;			/* APDUs in the current list */
	bool tty;
};

/* --- progress --- */

static void
on_list(void *ctx, size_t n, const char (*labels)[CPK_LABEL_MAX + 1])
{
	struct online *o = ctx;

	(void)labels;
	o->total = n;
}

static void
on_before(void *ctx, size_t i, const uint8_t *cmd, size_t n, const char *label)
{
	struct online *o = ctx;

	if (o->a->load.verbose) {
		cardload_trace_command(cmd, n, label);
	} else if (o->tty) {
		fprintf(stderr, "\r\033[Kcardload: [%zu/%zu] %s", i + 1, o->total, label);
		fflush(stderr);
	}
}

static void
on_after(void *ctx, size_t i, const uint8_t *resp, size_t n, uint64_t usec)
{
	struct online *o = ctx;

	(void)i;
	if (o->a->load.verbose)
		cardload_trace_response(resp, n, usec);
}

static void
on_retry(void *ctx, unsigned attempt, const struct cpk_error *why)
{
	struct online *o = ctx;

	if (o->tty && !o->a->load.verbose)
		fprintf(stderr, "\r\033[K");
	fprintf(stderr, "cardload: %s; trying again (attempt %u)\n", why->msg, attempt);
}

/* --- the card holder's PIN --- */

/*
 * VERIFY for the server's cpkHolderPin: the reader's PIN pad when it lists
 * FEATURE_VERIFY_PIN_DIRECT (unless a PIN file is given), else a PIN from
 * --holder-pin-file or the terminal. The PIN is cleansed and never shown.
 */
static cpk_status
holder_verify(void *ctx, struct cpk_transport *t, uint8_t reference, struct cpk_buf *resp,
    struct cpk_error *err)
{
	struct online *o = ctx;
	char pin[CPK_HOLDER_PIN_MAX + 2];
	uint8_t apdu[CPK_HOLDER_VERIFY_LEN];
	uint32_t code = 0;
	size_t n = 0;
	cpk_status st;

	if (o->tty && !o->a->load.verbose)
		fprintf(stderr, "\r\033[K");
	if (o->a->holder_pin_file == NULL) {
		if ((st = cpk_pcsc_pinpad(t, &code, err)) != CPK_OK)
			return st == CPK_ERR_PCSC ? st : CPK_ERR_UNSUPPORTED;
		if (code != 0) {
			fprintf(stderr, "cardload: the card holder types the PIN on the reader's PIN "
			    "pad\n");
			return cpk_pcsc_pinpad_verify(t, code, reference, resp, err);
		}
	}
	memset(pin, 0, sizeof(pin));
	if (o->a->holder_pin_file != NULL)
		st = cli_pin_file(o->a->holder_pin_file, pin, sizeof(pin) - 1, &n, err);
	else
		st = cli_pin_prompt("cardload: the card holder's PIN: ", pin, sizeof(pin), &n, err);
	if (st == CPK_OK && (st = cpk_holder_verify_apdu(reference, pin, n, apdu, err)) == CPK_OK)
		st = cpk_transport_exchange(t, apdu, sizeof(apdu), resp, err);
	cpk_cleanse(pin, sizeof(pin));
	cpk_cleanse(apdu, sizeof(apdu));
	return st;
}

/* --- outcome --- */

static void
set_outcome(struct online *o, const char *result, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
set_outcome(struct online *o, const char *result, int code, const char *fmt, ...)
{
	va_list ap;

	o->result = result;
	o->exit = code;
	va_start(ap, fmt);
	vsnprintf(o->message, sizeof(o->message), fmt, ap);
	va_end(ap);
}

/* The server's verdict "cpk/OUTCOME/MESSAGE": outcome into out, the message returned. */
static const char *
verdict(const struct cpk_agent_result *r, char *out, size_t cap)
{
	const char *n = r->notification, *slash;

	out[0] = '\0';
	if (!r->has_notification || strncmp(n, "cpk/", 4) != 0 ||
	    (slash = strchr(n + 4, '/')) == NULL) {
		snprintf(out, cap, "%s", r->has_notification ? "notice" : "");
		return r->has_notification ? n : "";
	}
	snprintf(out, cap, "%.*s", (int)(slash - n - 4), n + 4);
	return slash + 1;
}

static void
judge(struct online *o)
{
	char outcome[32], sw[128];
	const char *msg = verdict(&o->r, outcome, sizeof(outcome));

	if (o->st == CPK_ERR_INTERRUPTED || (o->st == CPK_OK && o->r.interrupted &&
	    strcmp(outcome, "loaded") != 0)) {
		set_outcome(o, "interrupted", CLI_EXIT_ERROR, "interrupted: %s%s", msg[0] != '\0' ?
		    msg : o->err.msg, msg[0] != '\0' ? "" : "");
		return;
	}
	if (o->st == CPK_ERR_PERMISSION) {
		set_outcome(o, "rejected", CLI_EXIT_ERROR, "the server did not let this session "
		    "start: %s", o->err.msg);
		return;
	}
	if (o->st != CPK_OK) {
		set_outcome(o, "error", o->r.card_lost ? CARDLOAD_EXIT_READER : CLI_EXIT_ERROR,
		    "%s%s", o->err.msg, o->r.sent > 0 ? " (the card was left in the middle of "
		    "its session: run cardload --server again; the server's registry says what "
		    "it recorded)" : "");
		return;
	}
	if (o->r.holder_refused) {
		cpk_sw_describe(o->r.holder_sw, sw, sizeof(sw));
		/* The server's verdict says the same (its outcome "holder-pin"). */
		set_outcome(o, "holder-pin", CARDLOAD_EXIT_HOLDER_PIN, "the card refused the card "
		    "holder's PIN with %04X (%s): nothing was sent after VERIFY%s%s", o->r.holder_sw,
		    sw, strcmp(outcome, "holder-pin") != 0 && msg[0] != '\0' ? "; the server: " : "",
		    strcmp(outcome, "holder-pin") != 0 ? msg : "");
		return;
	}
	if (o->r.holder_error[0] != '\0') {
		set_outcome(o, "error", CLI_EXIT_ERROR, "the server asks for the card holder's PIN "
		    "and none was given: %s (give --holder-pin-file FILE, a reader with a PIN "
		    "pad, or run on a terminal)", o->r.holder_error);
		return;
	}
	if (o->r.card_lost) {
		set_outcome(o, "reader", CARDLOAD_EXIT_READER, "the card was lost: %s%s%s",
		    o->r.card_error, msg[0] != '\0' ? "; the server: " : "", msg);
		return;
	}
	if (o->r.refused) {
		cpk_sw_describe(o->r.refused_sw, sw, sizeof(sw));
		set_outcome(o, "refused", strcmp(outcome, "rejected") == 0 ?
		    CARDLOAD_EXIT_REJECTED : CARDLOAD_EXIT_REFUSED, "the card refused %s (command "
		    "%zu of its list) with %04X (%s)%s%s", o->r.refused_label[0] != '\0' ?
		    o->r.refused_label : "a command", o->r.refused_index, o->r.refused_sw, sw,
		    msg[0] != '\0' ? "; the server: " : "", msg);
		return;
	}
	if (strcmp(outcome, "loaded") == 0 || strcmp(outcome, "unverified") == 0)
		set_outcome(o, "ok", CLI_EXIT_OK, "%s", msg);
	else if (strcmp(outcome, "rejected") == 0)
		set_outcome(o, "rejected", CARDLOAD_EXIT_REJECTED, "the server rejected the card: %s",
		    msg);
	else if (strcmp(outcome, "failed") == 0 || strcmp(outcome, "not-authentic") == 0)
		set_outcome(o, "refused", CARDLOAD_EXIT_REFUSED, "%s", msg);
	else if (outcome[0] == '\0' || strcmp(outcome, "notice") == 0)
		set_outcome(o, "ok", CLI_EXIT_OK, "the server ended the session%s%s",
		    msg[0] != '\0' ? ": " : "", msg);
	else
		set_outcome(o, "error", CLI_EXIT_ERROR, "the server: %s", msg);
}

static void
write_log(struct online *o)
{
	struct cpk_runlog_entry e;
	struct cpk_buf line = CPK_BUF_INIT;
	char path[CPK_RUNLOG_PATH_MAX], source[CPK_FETCH_SHOWN_MAX + 128];
	struct cpk_error err;

	cpk_error_clear(&err);
	memset(&e, 0, sizeof(e));
	memcpy(e.start, o->start, sizeof(e.start));
	memcpy(e.end, o->end, sizeof(e.end));
	e.pid = (unsigned long)getpid();
	e.version = CPK_VERSION;
	e.result = o->result;
	e.exit_code = o->exit;
	if (snprintf(source, sizeof(source), "%s (SERAM session %s)", o->shown,
	    o->r.session_id) < 0)
		source[0] = '\0';
	e.source = source;
	e.reader = o->t.name;
	e.sent = o->r.sent;
	e.accepted = o->r.sent - (o->r.refused ? 1 : 0);
	if (o->r.refused) {
		e.failed = true;
		e.failed_index = o->r.refused_index;
		e.failed_label = o->r.refused_label;
		e.failed_sw = o->r.refused_sw;
	}
	e.message = o->message;
	if (o->a->load.log != NULL)
		snprintf(path, sizeof(path), "%s", o->a->load.log);
	if ((o->a->load.log == NULL && cpk_runlog_default_path(path, sizeof(path), &err) !=
	    CPK_OK) || cpk_runlog_format(&e, &line, &err) != CPK_OK ||
	    cpk_runlog_append(path, line.data, line.len, &err) != CPK_OK) {
		fprintf(stderr, "cardload: the run log could not be written: %s\n", err.msg);
		if (o->exit == CLI_EXIT_OK)
			o->exit = CLI_EXIT_ERROR;
	}
	cpk_buf_free(&line);
}

static void
report(struct online *o)
{
	struct cli_json j;

	if (o->tty && !o->a->load.verbose)
		fprintf(stderr, "\r\033[K");
	fprintf(stderr, "cardload: %s: %s\n", o->exit == CLI_EXIT_OK ? "done" : "FAILED",
	    o->message);
	fprintf(stderr, "cardload: SERAM session %s: %u HTTP request(s), %zu command(s) sent\n",
	    o->r.session_id, o->r.requests, o->r.sent);
	if (!o->a->load.json)
		return;
	cli_json_init(&j, stdout);
	cli_json_object(&j, NULL);
	cli_json_str(&j, "result", o->result);
	cli_json_uint(&j, "exit", (uint64_t)o->exit);
	cli_json_str(&j, "message", o->message);
	cli_json_str(&j, "server", o->shown);
	cli_json_str(&j, "session", o->r.session_id);
	cli_json_str(&j, "reader", o->t.name[0] != '\0' ? o->t.name : NULL);
	cli_json_uint(&j, "requests", o->r.requests);
	cli_json_uint(&j, "sent", o->r.sent);
	cli_json_str(&j, "notification", o->r.has_notification ? o->r.notification : NULL);
	if (o->r.refused) {
		cli_json_object(&j, "refused");
		cli_json_uint(&j, "index", o->r.refused_index);
		cli_json_str(&j, "label", o->r.refused_label);
		cli_json_hex(&j, "sw", (const uint8_t[]){ (uint8_t)(o->r.refused_sw >> 8),
		    (uint8_t)o->r.refused_sw }, 2);
		cli_json_end(&j);
	} else {
		cli_json_null(&j, "refused");
	}
	cli_json_end(&j);
	cli_json_finish(&j);
}

/*
 * The technician's PIN: from the terminal without echo, else the first line
 * of stdin. false (message printed) when none could be read.
 */
static bool
read_pin(char *pin, size_t cap)
{
	struct cli_echo echo = { STDIN_FILENO, false, { 0 } };
	FILE *in = stdin;
	bool tty = isatty(STDIN_FILENO) == 1, ok;
	size_t n;

	if (tty) {
		fprintf(stderr, "cardload: PIN: ");
		fflush(stderr);
		/* Settings are restored only if they could be read. */
		(void)cli_echo_off(STDIN_FILENO, &echo);
	}
	/* No copy of the PIN left in stdio's buffer. */
	(void)setvbuf(in, NULL, _IONBF, 0);
	ok = fgets(pin, (int)cap, in) != NULL;
	cli_echo_restore(&echo);
	if (tty)
		fputc('\n', stderr);
	n = ok ? strcspn(pin, "\r\n") : 0;
	if (!ok || n == 0 || pin[n] == '\0') {
		cpk_cleanse(pin, cap);
		fprintf(stderr, "cardload: no PIN for --technician (1 to %zu characters on a line)\n",
		    cap - 2);
		return false;
	}
	pin[n] = '\0';
	return true;
}

static void
abandon(void *ctx, int sig)
{
	(void)ctx;
	fprintf(stderr, "cardload: FAILED: signal %d and the server or card did not let go "
	    "in time; the card may be left in the middle of its session (the server's registry "
	    "says what it recorded)\n", sig);
	_exit(CLI_EXIT_ERROR);
}

int
cardload_server_run(const struct cardload_server_args *a)
{
	struct online o;
	struct cpk_agent_opts ao;
	struct cpk_agent_hooks h = { NULL, on_list, on_before, on_after, on_retry };
	struct seram_technician tech;
	char pin[SERAM_PIN_MAX + 2];
	int rc;

	memset(&o, 0, sizeof(o));
	memset(&tech, 0, sizeof(tech));
	if (a->technician != NULL) {
		if (!read_pin(pin, sizeof(pin)))
			return CLI_EXIT_ERROR;
		snprintf(tech.user, sizeof(tech.user), "%s", a->technician);
		memcpy(tech.pin, pin, strnlen(pin, sizeof(tech.pin) - 1));
		cpk_cleanse(pin, sizeof(pin));
	}
	o.a = a;
	o.tty = isatty(STDERR_FILENO) == 1;
	h.ctx = &o;
	cpk_error_clear(&o.err);
	cpk_fetch_redact(a->url, o.shown, sizeof(o.shown));
	cpk_runlog_now(o.start);
	(void)cardload_stop_start(abandon, NULL);
	if ((rc = cardload_open_card(cardload_reader_choice(a->load.reader), &o.t, &o.err)) !=
	    CLI_EXIT_OK) {
		cardload_stop_finish();
		cpk_cleanse(&tech, sizeof(tech));
		return rc;
	}
	cardload_stop_card(&o.t);
	memset(&ao, 0, sizeof(ao));
	ao.url = a->url;
	ao.cacert = a->load.cacert;
	ao.client_cert = a->client_cert;
	ao.client_key = a->client_key;
	ao.session_id = a->session_id;
	ao.se_id = o.t.name;
	ao.retry_for = a->retry_for;
	ao.stop = &cardload_stop_signal;
	ao.technician = a->technician != NULL ? &tech : NULL;
	ao.holder_verify = holder_verify;
	ao.holder_ctx = &o;
	o.st = cpk_agent_run(&o.t, &ao, &h, &o.r, &o.err);
	cpk_cleanse(&tech, sizeof(tech));
	cardload_stop_lock();
	cardload_stop_reporting();
	cardload_stop_unlock();
	cpk_runlog_now(o.end);
	judge(&o);
	write_log(&o);
	report(&o);
	cardload_stop_finish();
	cpk_transport_close(&o.t);
	return o.exit;
}
