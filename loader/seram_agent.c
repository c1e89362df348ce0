/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: the SERAM Local Agent (see seram_agent.h).
 */
#include "seram_agent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cpk_text.h"
#include "fetch.h"

struct agent {
	struct cpk_transport *t;
	const struct cpk_agent_opts *o;
	const struct cpk_agent_hooks *h;
	struct cpk_agent_result *r;
	struct cpk_fetch_client *http;
	char base[1024];
};

static bool
stopping(const struct agent *a)
{
	return a->o->stop != NULL && atomic_load(a->o->stop) != 0;
}

/* Sleep ms, in steps, giving up early when asked to stop. */
static void
pause_ms(const struct agent *a, uint64_t ms)
{
	struct timespec ts;
	uint64_t step;

	while (ms > 0 && !stopping(a)) {
		step = ms < 100 ? ms : 100;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)(step * 1000000u);
		nanosleep(&ts, NULL);
		ms -= step;
	}
}

/* The first line of a server's error text, printable ASCII only. */
static void
first_line(const struct cpk_buf *b, char *out, size_t cap)
{
	size_t i, k = 0;

	for (i = 0; i < b->len && k + 1 < cap && b->data[i] != '\n'; i++)
		out[k++] = b->data[i] >= 0x20 && b->data[i] < 0x7F ? (char)b->data[i] : '?';
	out[k] = '\0';
}

/*
 * POST one message to endpoint and take a 200 answer; connection failures
 * are retried with the same bytes for retry_for seconds.
 */
static cpk_status
post(struct agent *a, const char *endpoint, const struct cpk_buf *body, struct cpk_buf *answer,
    struct cpk_error *err)
{
	char url[1200], text[300];
	uint64_t until = cpk_monotonic_ms() + 1000u * (a->o->retry_for != 0 ? a->o->retry_for :
	    CPK_AGENT_RETRY_DEFAULT);
	unsigned attempt = 1;
	long http = 0;
	cpk_status st;

	snprintf(url, sizeof(url), "%s/%s?sessionId=%s", a->base, endpoint, a->r->session_id);
	for (;;) {
		cpk_buf_reset(answer);
		st = cpk_fetch_post(a->http, url, SERAM_DATA_FORMAT, body->data, body->len, &http,
		    answer, err);
		if (st != CPK_ERR_IO)
			break;
		if (stopping(a))
			return cpk_error_set(err, CPK_ERR_INTERRUPTED, "interrupted while the server "
			    "could not be reached (%s)", err->msg);
		if (cpk_monotonic_ms() >= until) {
			cpk_error_prefix(err, "the server could not be reached for %u s (SERAM's "
			    "retry time)", a->o->retry_for != 0 ? a->o->retry_for :
			    CPK_AGENT_RETRY_DEFAULT);
			return CPK_ERR_IO;
		}
		attempt++;
		if (a->h != NULL && a->h->retry != NULL)
			a->h->retry(a->h->ctx, attempt, err);
		pause_ms(a, 1000);
	}
	if (st != CPK_OK)
		return st;
	a->r->requests++;
	if (http == 200)
		return CPK_OK;
	first_line(answer, text, sizeof(text));
	return cpk_error_set(err, http == 401 || http == 403 ? CPK_ERR_PERMISSION :
	    http == 406 ? CPK_ERR_UNSUPPORTED : CPK_ERR_IO, "the server refused %s with HTTP %ld: "
	    "%s", endpoint, http, text[0] != '\0' ? text : "(no reason given)");
}

static cpk_status
handshake(struct agent *a, struct cpk_error *err)
{
	struct seram_handshake h;
	struct seram_handshake_response hr;
	struct cpk_buf body = CPK_BUF_INIT, answer = CPK_BUF_INIT;
	cpk_status st;

	memset(&h, 0, sizeof(h));
	h.nse = 1;
	h.se[0].type = SERAM_SE_ESE;
	snprintf(h.se[0].id, sizeof(h.se[0].id), "%.64s", a->o->se_id != NULL &&
	    a->o->se_id[0] != '\0' ? a->o->se_id : "card");
	h.ntransports = h.nformats = h.nversions = 1;
	snprintf(h.transports[0], sizeof(h.transports[0]), "%s", SERAM_TRANSPORT);
	snprintf(h.formats[0], sizeof(h.formats[0]), "%s", SERAM_DATA_FORMAT);
	snprintf(h.versions[0], sizeof(h.versions[0]), "%s", SERAM_VERSION);
	if (a->o->technician != NULL) {
		h.has_technician = true;
		h.technician = *a->o->technician;
	}
	if ((st = seram_handshake_encode(&h, &body, err)) != CPK_OK ||
	    (st = post(a, "handshake", &body, &answer, err)) != CPK_OK)
		goto out;
	if ((st = seram_handshake_response_decode(answer.data, answer.len, &hr, err)) != CPK_OK) {
		cpk_error_prefix(err, "the server's handshake answer");
		goto out;
	}
	if (strcmp(hr.transport, SERAM_TRANSPORT) != 0 || strcmp(hr.format, SERAM_DATA_FORMAT) !=
	    0 || strcmp(hr.version, SERAM_VERSION) != 0)
		st = cpk_error_set(err, CPK_ERR_UNSUPPORTED, "the server chose %s %s %s, which this "
		    "agent did not offer", hr.transport, hr.format, hr.version);
out:
	seram_handshake_clear(&h);
	if (body.data != NULL)
		cpk_cleanse(body.data, body.len);	/* the technician's PIN */
	cpk_buf_free(&body);
	cpk_buf_free(&answer);
	return st;
}

static bool
accepted(const struct seram_command *c, size_t i, uint16_t sw)
{
	size_t k;

	if (c->accept == NULL)
		return true;
	for (k = 0; k < c->accept[i].nsw; k++)
		if (cpk_sw_pattern_match(&c->accept[i].sw[k], sw))
			return true;
	return false;
}

static uint16_t
sw_of(const struct cpk_buf *b)
{
	if (b->len < 2)
		return 0x6F00;
	return (uint16_t)((unsigned)b->data[b->len - 2] << 8 | b->data[b->len - 1]);
}

/*
 * cpkHolderPin: SELECT the application, VERIFY the holder's PIN. *go when
 * the list may be played; *status and msg say why not when
 * the agent could not ask (PIN unreadable, card lost).
 */
static void
holder_pin(struct agent *a, const struct seram_command *c, bool *go,
    enum seram_agent_status *status, char *msg, size_t msglen)
{
	const struct seram_holder_pin *h = &c->holder_pin;
	uint8_t sel[5 + sizeof(h->aid) + 1];
	struct cpk_buf resp = CPK_BUF_INIT;
	struct cpk_error e;
	uint16_t sw;
	cpk_status st;

	*go = false;
	a->r->holder_asked = true;
	cpk_error_clear(&e);
	memcpy(sel, "\x00\xA4\x04\x00", 4);
	sel[4] = (uint8_t)h->aid_len;
	memcpy(sel + 5, h->aid, h->aid_len);
	sel[5 + h->aid_len] = 0x00;
	if ((st = cpk_transport_exchange(a->t, sel, 6 + h->aid_len, &resp, &e)) == CPK_OK) {
		a->r->sent++;
		sw = sw_of(&resp);
		if (sw != 0x9000 && (sw >> 8) != 0x62 && (sw >> 8) != 0x63)
			goto answered;
		if (a->o->holder_verify == NULL)
			st = cpk_error_set(&e, CPK_ERR_UNSUPPORTED, "this agent cannot ask for the "
			    "card holder's PIN");
		else
			st = a->o->holder_verify(a->o->holder_ctx, a->t, h->reference, &resp, &e);
	}
	if (st == CPK_ERR_PCSC) {
		a->r->card_lost = true;
		snprintf(a->r->card_error, sizeof(a->r->card_error), "%s", e.msg);
		*status = SERAM_STATUS_UNAVAILABLE_SE;
		snprintf(msg, msglen, "the card holder's PIN: %.400s", e.msg);
		goto out;
	}
	if (st != CPK_OK) {
		snprintf(a->r->holder_error, sizeof(a->r->holder_error), "%s", e.msg);
		*status = SERAM_STATUS_UNKNOWN_FAILURE;
		snprintf(msg, msglen, "the card holder's PIN could not be verified: %.400s", e.msg);
		goto out;
	}
	a->r->sent++;
	sw = sw_of(&resp);
answered:
	a->r->holder_answered = true;
	a->r->holder_sw = sw;
	a->r->holder_refused = sw != 0x9000;
	*go = sw == 0x9000;
out:
	cpk_buf_free(&resp);
}

/*
 * Play one SE RAM command: v receives one answer per APDU ("" for those
 * not sent). *status becomes UNAVAILABLE_SE or UNKNOWN_FAILURE on a card
 * failure or a stop request (msg says which).
 */
static cpk_status
play(struct agent *a, const struct seram_command *c, struct seram_apdu *v,
    enum seram_agent_status *status, char *msg, size_t msglen, struct cpk_error *err)
{
	struct cpk_buf resp = CPK_BUF_INIT;
	struct cpk_error terr;
	const char *label;
	uint64_t t0;
	uint16_t sw;
	size_t i;
	bool go = true;
	cpk_status st = CPK_OK;

	if (c->has_holder_pin)
		holder_pin(a, c, &go, status, msg, msglen);
	if (!go)
		return CPK_OK;
	if (a->h != NULL && a->h->list != NULL)
		a->h->list(a->h->ctx, c->ncapdu, (const char (*)[CPK_LABEL_MAX + 1])c->labels);
	for (i = 0; i < c->ncapdu; i++) {
		label = c->labels != NULL ? c->labels[i] : "";
		if (stopping(a)) {
			a->r->interrupted = true;
			*status = SERAM_STATUS_UNKNOWN_FAILURE;
			snprintf(msg, msglen, "interrupted before APDU %zu", i + 1);
			break;
		}
		if (a->h != NULL && a->h->before != NULL)
			a->h->before(a->h->ctx, i, c->capdu[i].p, c->capdu[i].n, label);
		t0 = cpk_monotonic_ms();
		cpk_error_clear(&terr);
		if (cpk_transport_exchange(a->t, c->capdu[i].p, c->capdu[i].n, &resp, &terr) !=
		    CPK_OK) {
			a->r->card_lost = true;
			snprintf(a->r->card_error, sizeof(a->r->card_error), "%s", terr.msg);
			*status = SERAM_STATUS_UNAVAILABLE_SE;
			snprintf(msg, msglen, "APDU %zu: %.400s", i + 1, terr.msg);
			break;
		}
		a->r->sent++;
		if (a->h != NULL && a->h->after != NULL)
			a->h->after(a->h->ctx, i, resp.data, resp.len,
			    1000u * (cpk_monotonic_ms() - t0));
		if (resp.len > SERAM_APDU_MAX) {
			st = cpk_error_set(err, CPK_ERR_RANGE, "the card answered %zu bytes", resp.len);
			break;
		}
		if ((v[i].p = malloc(resp.len)) == NULL) {
			st = cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
			break;
		}
		memcpy(v[i].p, resp.data, resp.len);
		v[i].n = resp.len;
		sw = (uint16_t)(resp.data[resp.len - 2] << 8 | resp.data[resp.len - 1]);
		if (!accepted(c, i, sw)) {
			a->r->refused = true;
			a->r->refused_index = i + 1;
			a->r->refused_sw = sw;
			snprintf(a->r->refused_label, sizeof(a->r->refused_label), "%s", label);
			break;
		}
	}
	cpk_buf_free(&resp);
	return st;
}

/* Carry out one order; *report is the next report, *done when it said stop. */
static cpk_status
carry_out(struct agent *a, const struct seram_order *order, struct seram_report *report,
    bool *done, struct cpk_error *err)
{
	struct seram_apdu *v = NULL;
	enum seram_agent_status status = SERAM_STATUS_PROCESSED;
	char msg[SERAM_TEXT_MAX + 1] = "";
	size_t i, k;
	cpk_status st = CPK_OK;

	memset(report, 0, sizeof(*report));
	report->status = SERAM_STATUS_POLLING;
	for (i = 0; i < order->ncmds && st == CPK_OK; i++) {
		const struct seram_command *c = &order->cmds[i];

		switch (c->type) {
		case SERAM_CMD_START:
			break;
		case SERAM_CMD_NOTIFICATION:
			a->r->has_notification = true;
			snprintf(a->r->notification, sizeof(a->r->notification), "%s",
			    c->notification);
			break;
		case SERAM_CMD_STOP:
			a->r->stopped = true;
			*done = true;
			return CPK_OK;
		case SERAM_CMD_SE_RAM:
			if (status != SERAM_STATUS_PROCESSED) {
				/* The card is gone or we stop: nothing more is sent. */
				st = seram_report_add(report, NULL, 0, err);
				break;
			}
			if ((v = calloc(c->ncapdu, sizeof(*v))) == NULL)
				return cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
			st = play(a, c, v, &status, msg, sizeof(msg), err);
			if (st == CPK_OK)
				st = seram_report_add(report, v, c->ncapdu, err);
			if (st == CPK_OK && c->has_holder_pin && a->r->holder_answered) {
				report->resp[report->nresp - 1].has_holder_sw = true;
				report->resp[report->nresp - 1].holder_sw = a->r->holder_sw;
			}
			for (k = 0; k < c->ncapdu; k++)
				free(v[k].p);
			free(v);
			v = NULL;
			a->r->lists++;
			report->executed++;
			report->status = status;
			break;
		}
	}
	if (st == CPK_OK && msg[0] != '\0' && (report->error_msg = strdup(msg)) == NULL)
		st = cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
	return st;
}

cpk_status
cpk_agent_run(struct cpk_transport *t, const struct cpk_agent_opts *o,
    const struct cpk_agent_hooks *h, struct cpk_agent_result *r, struct cpk_error *err)
{
	struct agent a;
	struct cpk_fetch_opts fo;
	struct seram_report report;
	struct seram_order order;
	struct cpk_buf body = CPK_BUF_INIT, answer = CPK_BUF_INIT;
	struct cpk_error end_err;
	bool done = false, began = false;
	size_t len;
	cpk_status st, st2;

	memset(r, 0, sizeof(*r));
	memset(&a, 0, sizeof(a));
	memset(&report, 0, sizeof(report));
	memset(&order, 0, sizeof(order));
	a.t = t;
	a.o = o;
	a.h = h;
	a.r = r;
	len = strlen(o->url);
	while (len > 0 && o->url[len - 1] == '/')
		len--;
	if (len >= sizeof(a.base))
		return cpk_error_set(err, CPK_ERR_RANGE, "the server URL is too long");
	memcpy(a.base, o->url, len);
	if (o->session_id != NULL) {
		if (!seram_session_id_valid(o->session_id))
			return cpk_error_set(err, CPK_ERR_ARG, "'%s' is no SERAM session id",
			    o->session_id);
		snprintf(r->session_id, sizeof(r->session_id), "%s", o->session_id);
	} else if ((st = seram_session_id_new(r->session_id, err)) != CPK_OK) {
		return st;
	}
	memset(&fo, 0, sizeof(fo));
	fo.cacert = o->cacert;
	fo.client_cert = o->client_cert;
	fo.client_key = o->client_key;
	fo.timeout = CPK_AGENT_TIMEOUT;
	fo.max_size = SERAM_BODY_MAX;
	fo.stop = o->stop;
	if ((st = cpk_fetch_client_new(&fo, &a.http, err)) != CPK_OK)
		return st;
	/* The card stays ours, in the server's secure channel, from first to last order. */
	if ((st = cpk_transport_begin(t, err)) != CPK_OK)
		goto out;
	began = true;
	if ((st = handshake(&a, err)) != CPK_OK)
		goto out;
	report.status = SERAM_STATUS_POLLING;
	while (!done) {
		if (r->requests >= CPK_AGENT_REQUESTS_MAX) {
			st = cpk_error_set(err, CPK_ERR_STATE, "the server sent no stop after %d "
			    "requests", CPK_AGENT_REQUESTS_MAX);
			goto out;
		}
		cpk_buf_reset(&body);
		if ((st = seram_report_encode(&report, &body, err)) != CPK_OK ||
		    (st = post(&a, "remoteManagement", &body, &answer, err)) != CPK_OK)
			goto out;
		seram_report_clear(&report);
		seram_order_clear(&order);
		if ((st = seram_order_decode(answer.data, answer.len, &order, err)) != CPK_OK) {
			cpk_error_prefix(err, "the server's order");
			goto out;
		}
		if ((st = carry_out(&a, &order, &report, &done, err)) != CPK_OK)
			goto out;
		if (!done && report.nresp == 0 && stopping(&a)) {
			st = cpk_error_set(err, CPK_ERR_INTERRUPTED, "interrupted between orders");
			goto out;
		}
		if (!done)
			pause_ms(&a, order.has_delay ? order.delay_ms : CPK_AGENT_POLL_DEFAULT);
	}
	st = CPK_OK;
out:
	if (began) {
		cpk_error_clear(&end_err);
		st2 = cpk_transport_end(t, &end_err);
		if (st == CPK_OK && st2 != CPK_OK && !r->card_lost) {
			r->card_lost = true;
			snprintf(r->card_error, sizeof(r->card_error), "%s", end_err.msg);
		}
	}
	seram_report_clear(&report);
	seram_order_clear(&order);
	cpk_buf_free(&body);
	cpk_buf_free(&answer);
	cpk_fetch_client_free(&a.http);
	return st;
}
