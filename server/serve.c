/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: cardc serve's SERAM Remote Agent (see serve.h). Each request loads
 * its session from the registry, does one step and stores the session
 * back on the condition that nobody else moved it on meanwhile.
 */
#include "serve.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <openssl/crypto.h>

#include "bundle_read.h"
#include "bundle_write.h"
#include "card.h"
#include "compile.h"
#include "cpk_bundle.h"
#include "cpk_config.h"
#include "cpk_sw.h"
#include "cpk_text.h"
#include "identify.h"
#include "receipt.h"
#include "receipt_write.h"
#include "registry.h"
#include "registry_issue.h"
#include "scp_iu.h"
#include "seram.h"
#include "serve_routes.h"
#include "transport.h"

/* Session states (the registry's serve_sessions.state). */
#define S_HANDSHAKE "handshake"
#define S_IDENTIFY "identify"
#define S_SCRIPT "script"
#define S_DONE "done"
#define S_FAILED "failed"
#define S_REJECTED "rejected"
#define S_ABANDONED "abandoned"

/* What cpk_identify sends after SELECT, in its order (loader/identify.c). */
static const uint16_t id_tags[] = { 0x00CF, 0x9F7F, 0x0042, 0x0045, 0x0066, 0x00E0 };
#define ID_NCMDS (1 + sizeof(id_tags) / sizeof(id_tags[0]) + 1)

struct req {
	const struct serve_opts *o;
	const char *id;
	struct serve_reply *out;
	struct registry_session s;
	char from[REGISTRY_SESSION_STATE_MAX + 1];	/* the state the request found */
	char report_sha[REGISTRY_HEX_HASH];
};

static void
logf_(const struct req *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
logf_(const struct req *q, const char *fmt, ...)
{
	char msg[CPK_ERROR_MSG_LEN + 256];
	va_list ap;

	if (q->o->log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	q->o->log(q->o->log_ctx, q->id, msg);
}

static void
reply_text(struct serve_reply *out, unsigned http, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
reply_text(struct serve_reply *out, unsigned http, const char *fmt, ...)
{
	char msg[CPK_ERROR_MSG_LEN + 128];
	va_list ap;
	int w;

	va_start(ap, fmt);
	w = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (w < 0)
		w = 0;
	if ((size_t)w >= sizeof(msg) - 1)
		w = (int)sizeof(msg) - 2;
	msg[w++] = '\n';
	out->http = http;
	cpk_buf_reset(&out->body);
	if (cpk_buf_append(&out->body, msg, (size_t)w, NULL) != CPK_OK)
		out->http = 500;
}

/* --- order 1: identification --- */

static cpk_status
identify_apdus(const struct serve_opts *o, const uint8_t hc[SCP_CHALLENGE_LEN],
    struct seram_apdu *v, struct cpk_buf *store, struct cpk_error *err)
{
	struct cpk_buf iu = CPK_BUF_INIT;
	size_t offs[ID_NCMDS + 1], k, i = 0;
	cpk_status st;

	cpk_buf_reset(store);
	offs[i++] = 0;
	if ((st = cpk_buf_append(store, "\x00\xA4\x04\x00", 4, err)) != CPK_OK ||
	    (st = cpk_buf_append_byte(store, (uint8_t)o->sd_aid_len, err)) != CPK_OK ||
	    (st = cpk_buf_append(store, o->sd_aid, o->sd_aid_len, err)) != CPK_OK ||
	    (st = cpk_buf_append_byte(store, 0x00, err)) != CPK_OK)
		goto out;
	for (k = 0; k < sizeof(id_tags) / sizeof(id_tags[0]); k++) {
		offs[i++] = store->len;
		if ((st = cpk_buf_append(store, "\x80\xCA", 2, err)) != CPK_OK ||
		    (st = cpk_buf_append_u16be(store, id_tags[k], err)) != CPK_OK ||
		    (st = cpk_buf_append_byte(store, 0x00, err)) != CPK_OK)
			goto out;
	}
	offs[i++] = store->len;
	if ((st = scp_initialize_update_apdu(o->kvn, hc, &iu, err)) != CPK_OK ||
	    (st = cpk_buf_append(store, iu.data, iu.len, err)) != CPK_OK)
		goto out;
	offs[i] = store->len;
	for (k = 0; k < ID_NCMDS; k++) {
		v[k].p = store->data + offs[k];
		v[k].n = offs[k + 1] - offs[k];
	}
out:
	cpk_buf_free(&iu);
	return st;
}

static cpk_status
identify_order(const struct serve_opts *o, const uint8_t hc[SCP_CHALLENGE_LEN],
    struct seram_order *order, struct cpk_error *err)
{
	struct seram_apdu v[ID_NCMDS];
	struct seram_accept acc[ID_NCMDS];
	char labels[ID_NCMDS][CPK_LABEL_MAX + 1];
	struct cpk_buf store = CPK_BUF_INIT;
	const struct profile_holder_pin *hp;
	struct seram_holder_pin h;
	size_t k;
	cpk_status st;

	memset(acc, 0, sizeof(acc));
	if ((st = identify_apdus(o, hc, v, &store, err)) != CPK_OK)
		goto out;
	/* SELECT: 9000 or a warning; GET DATA: whatever (a tag the card lacks is left out). */
	(void)cpk_sw_pattern_parse("9000", &acc[0].sw[0], NULL);
	(void)cpk_sw_pattern_parse("62xx", &acc[0].sw[1], NULL);
	(void)cpk_sw_pattern_parse("63xx", &acc[0].sw[2], NULL);
	acc[0].nsw = 3;
	snprintf(labels[0], sizeof(labels[0]), "SELECT ISD");
	for (k = 1; k + 1 < ID_NCMDS; k++) {
		(void)cpk_sw_pattern_parse("xxxx", &acc[k].sw[0], NULL);
		acc[k].nsw = 1;
		snprintf(labels[k], sizeof(labels[k]), "GET DATA %04X", id_tags[k - 1]);
	}
	(void)cpk_sw_pattern_parse("9000", &acc[k].sw[0], NULL);
	acc[k].nsw = 1;
	snprintf(labels[k], sizeof(labels[k]), "INITIALIZE UPDATE");
	order->has_delay = true;
	order->delay_ms = o->delay_ms;
	if ((st = seram_order_add(order, SERAM_CMD_START, NULL, 0, NULL, NULL, NULL, err)) !=
	    CPK_OK || (st = seram_order_add(order, SERAM_CMD_SE_RAM, v, ID_NCMDS, acc,
	    (const char (*)[CPK_LABEL_MAX + 1])labels, NULL, err)) != CPK_OK)
		goto out;
	if ((hp = serve_routes_holder_pin(o->routes)) != NULL) {
		memset(&h, 0, sizeof(h));
		memcpy(h.aid, hp->aid.b, hp->aid.len);
		h.aid_len = hp->aid.len;
		h.reference = hp->reference;
		st = seram_order_holder_pin(order, &h, err);
	}
out:
	cpk_buf_free(&store);
	return st;
}

/* The agent's answers to order 1, played back to cpk_identify as if it held the card. */
struct replay {
	const struct seram_apdu *cmds, *resps;
	size_t n, i;
};

static cpk_status
replay_transmit(void *ctx, const uint8_t *cmd, size_t n, struct cpk_buf *resp,
    struct cpk_error *err)
{
	struct replay *r = ctx;

	if (r->i >= r->n || r->cmds[r->i].n != n || memcmp(r->cmds[r->i].p, cmd, n) != 0)
		return cpk_error_set(err, CPK_ERR_STATE, "the identification asked for a command "
		    "the first order did not carry");
	if (r->resps[r->i].n == 0)
		return cpk_error_set(err, CPK_ERR_PCSC, "the agent did not send %s (the card or "
		    "reader was lost)", r->i == 0 ? "SELECT" : r->i + 1 == r->n ?
		    "INITIALIZE UPDATE" : "GET DATA");
	cpk_buf_reset(resp);
	r->i++;
	return cpk_buf_append(resp, r->resps[r->i - 1].p, r->resps[r->i - 1].n, err);
}

static const struct cpk_transport_ops replay_ops = { replay_transmit, NULL, NULL, NULL, NULL };

/* --- orders that end the session --- */

static cpk_status
final_order(const struct serve_opts *o, const char *outcome, const char *why,
    struct seram_order *order, struct cpk_error *err)
{
	char text[SERAM_TEXT_MAX + 64];
	cpk_status st;

	snprintf(text, sizeof(text), "cpk/%s/%s", outcome, why);
	text[cpk_utf8_cut(text, SERAM_TEXT_MAX)] = '\0';
	order->has_delay = true;
	order->delay_ms = o->delay_ms;
	if ((st = seram_order_add(order, SERAM_CMD_NOTIFICATION, NULL, 0, NULL, NULL, text,
	    err)) != CPK_OK)
		return st;
	return seram_order_add(order, SERAM_CMD_STOP, NULL, 0, NULL, NULL, NULL, err);
}

/* --- storing the session with its order --- */

_Thread_local bool serve_fault_store;

static cpk_status
commit_order(struct req *q, const struct seram_order *order, struct cpk_error *err)
{
	struct cpk_buf text = CPK_BUF_INIT;
	cpk_status st;

	if ((st = seram_order_encode(order, &text, err)) != CPK_OK ||
	    (st = cpk_buf_append_byte(&text, 0, err)) != CPK_OK)
		goto out;
	free(q->s.last_order);
	if ((q->s.last_order = strdup((const char *)text.data)) == NULL) {
		st = cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	snprintf(q->s.last_report, sizeof(q->s.last_report), "%s", q->report_sha);
	if (serve_fault_store) {
		st = cpk_error_set(err, CPK_ERR_STATE, "session %s was not stored (test fault "
		    "store-fails-at-request)", q->id);
		goto out;
	}
	if ((st = registry_session_update(q->o->reg, &q->s, q->from, err)) != CPK_OK)
		goto out;
	q->out->http = 200;
	cpk_buf_reset(&q->out->body);
	st = cpk_buf_append(&q->out->body, text.data, text.len - 1, err);
out:
	cpk_buf_free(&text);
	return st;
}

/* End the session: state, detail, notification and stop. */
static cpk_status
finish(struct req *q, const char *state, const char *outcome, const char *why,
    struct cpk_error *err)
{
	struct seram_order order;
	cpk_status st;

	memset(&order, 0, sizeof(order));
	snprintf(q->s.state, sizeof(q->s.state), "%s", state);
	snprintf(q->s.detail, sizeof(q->s.detail), "%.*s", (int)cpk_utf8_cut(why,
	    sizeof(q->s.detail) - 1), why);
	logf_(q, "%s: %s", state, why);
	if ((st = final_order(q->o, outcome, why, &order, err)) == CPK_OK)
		st = commit_order(q, &order, err);
	seram_order_clear(&order);
	return st;
}

/* --- order 2: identify, route, compile, record --- */

static cpk_status
script_order(const struct cpk_compiled *c, uint32_t delay, struct seram_order *order,
    struct cpk_error *err)
{
	struct seram_apdu *v = NULL;
	struct seram_accept *acc = NULL;
	char (*labels)[CPK_LABEL_MAX + 1] = NULL;
	size_t i;
	cpk_status st = CPK_ERR_NOMEM;

	if ((v = calloc(c->ncmds, sizeof(*v))) == NULL ||
	    (acc = calloc(c->ncmds, sizeof(*acc))) == NULL ||
	    (labels = calloc(c->ncmds, sizeof(*labels))) == NULL) {
		st = cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < c->ncmds; i++) {
		v[i].p = (uint8_t *)c->cmds[i].apdu;
		v[i].n = c->cmds[i].apdu_len;
		memcpy(acc[i].sw, c->cmds[i].sw, sizeof(acc[i].sw));
		acc[i].nsw = c->cmds[i].nsw;
		snprintf(labels[i], sizeof(labels[i]), "%s", c->cmds[i].label);
	}
	order->has_delay = true;
	order->delay_ms = delay;
	st = seram_order_add(order, SERAM_CMD_SE_RAM, v, c->ncmds, acc,
	    (const char (*)[CPK_LABEL_MAX + 1])labels, NULL, err);
out:
	free(v);
	free(acc);
	free(labels);
	return st;
}

/* Identify the card from order 1's answers into ci. */
static cpk_status
identify_card(struct req *q, const struct seram_report *rep, struct cpk_card_info *ci,
    struct cpk_error *err)
{
	struct seram_apdu cmds[ID_NCMDS];
	struct cpk_buf store = CPK_BUF_INIT;
	struct cpk_identify_opts io;
	struct replay rp;
	struct cpk_transport t;
	uint8_t hc[SCP_CHALLENGE_LEN];
	cpk_status st;

	if (rep->nresp != 1 || rep->resp[0].n != ID_NCMDS)
		return cpk_error_set(err, CPK_ERR_PARSE, "the report of the first order carries "
		    "%zu answer list(s) of %zu answers, not one of %zu", rep->nresp,
		    rep->nresp > 0 ? rep->resp[0].n : 0, (size_t)ID_NCMDS);
	if ((st = cpk_hex_decode_exact(q->s.host_challenge, hc, sizeof(hc), err)) != CPK_OK ||
	    (st = identify_apdus(q->o, hc, cmds, &store, err)) != CPK_OK)
		goto out;
	memset(&rp, 0, sizeof(rp));
	rp.cmds = cmds;
	rp.resps = rep->resp[0].rapdu;
	rp.n = ID_NCMDS;
	memset(&t, 0, sizeof(t));
	t.ops = &replay_ops;
	t.ctx = &rp;
	snprintf(t.name, sizeof(t.name), "SERAM session %s", q->id);
	memset(&io, 0, sizeof(io));
	io.sd_aid = q->o->sd_aid;
	io.sd_aid_len = q->o->sd_aid_len;
	io.kvn = q->o->kvn;
	io.host_challenge = hc;
	st = cpk_identify(&t, &io, NULL, ci, err);
out:
	cpk_buf_free(&store);
	return st;
}

static void
hex_or_none(const uint8_t *p, size_t n, char *out, size_t cap)
{
	if (n == 0 || cpk_hex_encode(p, n, out, cap) != CPK_OK)
		snprintf(out, cap, "none");
}

static void fail_bundle(struct req *q, const char *why);

/*
 * Order 1 asked for the card holder's PIN: did the card accept it? (why
 * says what it answered; the report carries the status word, never the PIN.)
 */
static bool
holder_pin_refused(struct req *q, const struct seram_report *rep, char *why, size_t cap)
{
	const struct seram_response *r = rep->nresp == 1 ? &rep->resp[0] : NULL;
	char sw[128];

	if (serve_routes_holder_pin(q->o->routes) == NULL)
		return false;
	if (r == NULL || !r->has_holder_sw) {
		snprintf(why, cap, "the agent did not verify the card holder's PIN (cpkHolderPin); "
		    "nothing was sent to the card after the first order");
		return true;
	}
	if (r->holder_sw == 0x9000) {
		logf_(q, "the card holder's PIN verified (9000)");
		return false;
	}
	cpk_sw_describe(r->holder_sw, sw, sizeof(sw));
	snprintf(why, cap, "the card refused the card holder's PIN with %04X (%s); nothing was "
	    "sent to the card after VERIFY", r->holder_sw, sw);
	return true;
}

/* Report of order 1 -> order 2 (or the end). */
static cpk_status
step_identified(struct req *q, const struct seram_report *rep, struct cpk_error *err)
{
	struct cpk_card_info ci;
	struct card_record card;
	struct cpk_compile_opts copts;
	struct cpk_compiled compiled;
	struct seram_order order;
	struct cpk_buf rec = CPK_BUF_INIT, bytes = CPK_BUF_INIT;
	const struct profile *p;
	struct cpk_error why;
	char iin[33], cplc[2 * CPK_IDENTIFY_CPLC_LEN + 1], hash[REGISTRY_HEX_HASH];
	unsigned line = 0;
	cpk_status st;

	card_record_init(&card);
	memset(&compiled, 0, sizeof(compiled));
	memset(&order, 0, sizeof(order));
	cpk_error_clear(&why);
	if (rep->status != SERAM_STATUS_PROCESSED) {
		snprintf(why.msg, sizeof(why.msg), "the agent could not run the first order (%s%s%s)",
		    seram_agent_status_name(rep->status), rep->error_msg != NULL ? ": " : "",
		    rep->error_msg != NULL ? rep->error_msg : "");
		st = finish(q, S_ABANDONED, "error", why.msg, err);
		goto out;
	}
	if (holder_pin_refused(q, rep, why.msg, sizeof(why.msg))) {
		st = finish(q, S_REJECTED, "holder-pin", why.msg, err);
		goto out;
	}
	if (identify_card(q, rep, &ci, &why) != CPK_OK) {
		cpk_error_prefix(&why, "the card could not be identified");
		st = finish(q, S_REJECTED, "rejected", why.msg, err);
		goto out;
	}
	snprintf(q->s.serial, sizeof(q->s.serial), "%s", ci.serial);
	if ((p = serve_routes_match(q->o->routes, &ci, &line)) == NULL) {
		hex_or_none(ci.iin, ci.iin_len, iin, sizeof(iin));
		hex_or_none(ci.cplc, ci.has_cplc ? sizeof(ci.cplc) : 0, cplc, sizeof(cplc));
		snprintf(why.msg, sizeof(why.msg), "unknown card %s (IIN %s, CPLC %.24s...): no "
		    "route of this server names it; nothing was sent to it after INITIALIZE "
		    "UPDATE", ci.serial, iin, cplc);
		st = finish(q, S_REJECTED, "rejected", why.msg, err);
		goto out;
	}
	logf_(q, "card %s: route at line %u, profile '%s'", ci.serial, line, p->name);
	if ((st = cpk_card_record_write(&ci, true, "cardc serve", &rec, err)) != CPK_OK ||
	    (st = card_parse_yaml("session card record", rec.data, rec.len, &card, err)) != CPK_OK)
		goto out;
	memset(&copts, 0, sizeof(copts));
	memcpy(copts.profile_sha256, p->sha256, sizeof(copts.profile_sha256));
	copts.holder_pin_online = true;
	if ((st = cpk_bundle_creation_time(&copts.created, err)) != CPK_OK)
		goto out;
	if (cpk_compile(p, &card, &copts, &compiled, &why) != CPK_OK) {
		cpk_error_prefix(&why, "card %s, profile '%s'", ci.serial, p->name);
		st = finish(q, S_REJECTED, "rejected", why.msg, err);
		goto out;
	}
	if ((st = cpk_bundle_write(&compiled.manifest, compiled.cmds, compiled.ncmds,
	    q->o->signer, &bytes, err)) != CPK_OK ||
	    (st = script_order(&compiled, q->o->delay_ms, &order, err)) != CPK_OK)
		goto out;
	/* From here on a bundle is issued: if the session cannot carry it, it is marked failed. */
	if (registry_issue_bundle(q->o->reg, NULL, p, &card, &compiled.manifest, bytes.data,
	    bytes.len, NULL, hash, &why) != CPK_OK) {
		cpk_error_prefix(&why, "card %s: the bundle could not be recorded", ci.serial);
		st = finish(q, S_REJECTED, "rejected", why.msg, err);
		goto out;
	}
	snprintf(q->s.bundle_sha256, sizeof(q->s.bundle_sha256), "%s", hash);
	free(q->s.card);
	free(q->s.bundle);
	q->s.card = q->s.bundle = NULL;
	if ((q->s.card = calloc(1, rec.len + 1)) == NULL ||
	    (q->s.bundle = malloc(2 * bytes.len + 1)) == NULL) {
		st = cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
		fail_bundle(q, "the session could not store its bundle (out of memory); it was "
		    "never sent");
		goto out;
	}
	memcpy(q->s.card, rec.data, rec.len);
	cpk_hex_encode(bytes.data, bytes.len, q->s.bundle, 2 * bytes.len + 1);
	snprintf(q->s.state, sizeof(q->s.state), "%s", S_SCRIPT);
	snprintf(q->s.detail, sizeof(q->s.detail), "profile '%s', %zu commands", p->name,
	    compiled.ncmds);
	if ((st = commit_order(q, &order, err)) != CPK_OK) {
		/*
		 * Not stored: the agent gets an error, and a report sent again
		 * would make another bundle; this one was never sent to the card.
		 */
		snprintf(why.msg, sizeof(why.msg), "the session could not store order 2: %.300s; "
		    "the bundle was never sent", err->msg);
		fail_bundle(q, why.msg);
		goto out;
	}
	logf_(q, "card %s: bundle %s issued (%zu commands), order 2 sent", ci.serial, hash,
	    compiled.ncmds);
out:
	seram_order_clear(&order);
	cpk_compiled_free(&compiled);
	card_record_clear(&card);
	cpk_buf_free(&rec);
	cpk_buf_free(&bytes);
	return st;
}

/* --- the script's answers -> receipt -> registry --- */

struct answers {
	struct cpk_receipt_log log;
	enum cpk_receipt_stop stop;
	size_t stop_index;
	bool has_sw;
	uint16_t sw;
};

static cpk_status
collect(const struct cpk_bundle *b, const struct seram_report *rep, struct answers *a,
    struct cpk_error *err)
{
	size_t n = cpk_bundle_command_count(b), i, got;
	const struct seram_apdu *r;
	const struct cpk_command *c;
	uint16_t sw;
	cpk_status st;

	a->stop = CPK_RECEIPT_DONE;
	got = rep->nresp == 1 ? rep->resp[0].n : 0;
	if (rep->nresp > 1 || (rep->nresp == 1 && got != n))
		return cpk_error_set(err, CPK_ERR_PARSE, "the report of the script carries %zu "
		    "answer list(s) of %zu answers, not one of %zu", rep->nresp, got, n);
	for (i = 0; i < n; i++) {
		r = got > 0 ? &rep->resp[0].rapdu[i] : NULL;
		c = cpk_bundle_command(b, i);
		if (r == NULL || r->n == 0) {
			a->stop = i == 0 ? CPK_RECEIPT_NOT_SENT :
			    rep->status == SERAM_STATUS_UNKNOWN_FAILURE ? CPK_RECEIPT_INTERRUPTED :
			    CPK_RECEIPT_CARD_GONE;
			a->stop_index = i == 0 ? 0 : i + 1;
			return CPK_OK;
		}
		if (r->n > CPK_RECEIPT_RESPONSE_MAX)
			return cpk_error_set(err, CPK_ERR_RANGE, "the answer to command %zu has %zu "
			    "bytes", i + 1, r->n);
		if ((st = cpk_receipt_log_add(&a->log, i + 1, c->label, r->p, r->n, 0, err)) !=
		    CPK_OK)
			return st;
		sw = (uint16_t)(r->p[r->n - 2] << 8 | r->p[r->n - 1]);
		if (!cpk_command_accepts(c, sw)) {
			a->stop = CPK_RECEIPT_REFUSED;
			a->stop_index = i + 1;
			a->has_sw = true;
			a->sw = sw;
			return CPK_OK;
		}
	}
	return CPK_OK;
}

/* Verify the receipt doc and import its verdict; *outcome and why say what happened. */
static cpk_status
verify_import(struct req *q, const struct cpk_bundle *b, const struct cpk_buf *doc,
    const char **outcome, char *why, size_t whylen, struct cpk_error *err)
{
	struct receipt *r = NULL;
	struct receipt_result res;
	struct registry_receipt_buf in;
	struct registry_import_result ir;
	cpk_status st;

	if ((st = receipt_parse(doc->data, doc->len, &r, err)) != CPK_OK ||
	    (st = receipt_verify(r, cpk_bundle_manifest(b), cpk_bundle_commands(b),
	    cpk_bundle_command_count(b), cpk_bundle_sha256(b), q->o->keydir, &res, err)) != CPK_OK)
		goto out;
	*outcome = receipt_verdict_name(res.verdict);
	snprintf(why, whylen, "%s", res.reason);
	if (res.verdict == RECEIPT_REFUSED)
		goto out;
	registry_receipt_prepare(&res, q->s.bundle_sha256, &in);
	if ((st = registry_import(q->o->reg, &in.in, &ir, err)) == CPK_OK)
		snprintf(why + strlen(why), whylen - strlen(why), "; registry: %s%s",
		    registry_state_name(ir.after), in.in.ncaptures > 0 ? ", captured values kept" :
		    "");
out:
	receipt_free(&r);
	return st;
}

/*
 * The answers could not be judged (the report does not fit the script, the
 * receipt could not be verified): the issued bundle is marked failed with
 * why, so the registry does not keep claiming it may still be loaded.
 */
static void
fail_bundle(struct req *q, const char *why)
{
	char reason[REGISTRY_REASON_MAX + 1];
	struct cpk_error e;

	cpk_error_clear(&e);
	snprintf(reason, sizeof(reason), "%.*s", (int)cpk_utf8_cut(why, sizeof(reason) - 1), why);
	if (registry_set_state(q->o->reg, q->s.bundle_sha256, REGISTRY_FAILED, reason, NULL, &e) !=
	    CPK_OK)
		logf_(q, "bundle %s not marked failed: %s", q->s.bundle_sha256, e.msg);
}

/* Report of order 2 -> receipt, verdict, registry; the last order. */
static cpk_status
step_loaded(struct req *q, const struct seram_report *rep, struct cpk_error *err)
{
	struct cpk_buf bytes = CPK_BUF_INIT, doc = CPK_BUF_INIT;
	struct cpk_bundle *b = NULL;
	struct cpk_bundle_diag diag;
	struct answers a;
	struct card_record card;
	struct cpk_receipt_card rc;
	struct cpk_receipt_info info;
	char start[32], end[32], source[128], why[CPK_ERROR_MSG_LEN];
	const char *outcome = "error";
	struct cpk_error e2;
	cpk_status st;

	memset(&a, 0, sizeof(a));
	a.log = (struct cpk_receipt_log)CPK_RECEIPT_LOG_INIT;
	card_record_init(&card);
	cpk_error_clear(&e2);
	if (q->s.bundle == NULL || q->s.card == NULL) {
		st = cpk_error_set(err, CPK_ERR_STATE, "session %s has no bundle", q->id);
		goto out;
	}
	if ((st = cpk_hex_decode_buf(q->s.bundle, &bytes, err)) != CPK_OK ||
	    (st = cpk_bundle_open(bytes.data, bytes.len, q->o->trust, 0, &b, &diag, err)) !=
	    CPK_OK ||
	    (st = card_parse_yaml("session card record", (const uint8_t *)q->s.card,
	    strlen(q->s.card), &card, err)) != CPK_OK)
		goto out;
	if (collect(b, rep, &a, &e2) != CPK_OK) {
		fail_bundle(q, e2.msg);
		st = finish(q, S_FAILED, "error", e2.msg, err);
		goto out;
	}
	memset(&rc, 0, sizeof(rc));
	rc.seen_by = "identify";
	rc.serial = card.serial;
	rc.cplc = card.has_cplc ? card.cplc : NULL;
	rc.cplc_len = card.has_cplc ? sizeof(card.cplc) : 0;
	rc.iin = card.iin;
	rc.iin_len = card.iin_len;
	rc.cin = card.cin;
	rc.cin_len = card.cin_len;
	rc.host_challenge = card.host_challenge;
	rc.iu_response = card.iu_raw;
	rc.iu_len = card.iu_len;
	cpk_time_format(q->s.created, start, sizeof(start));
	cpk_time_format((uint64_t)time(NULL), end, sizeof(end));
	snprintf(source, sizeof(source), "SERAM session %s", q->id);
	memset(&info, 0, sizeof(info));
	info.version = CPK_VERSION;
	info.start = start;
	info.end = end;
	info.source = source;
	info.bundle_sha256 = cpk_bundle_sha256(b);
	info.key_id = cpk_bundle_key_id(b);
	info.m = cpk_bundle_manifest(b);
	info.commands = cpk_bundle_command_count(b);
	info.card = &rc;
	info.stop = a.stop;
	info.stop_index = a.stop_index;
	info.has_stop_sw = a.has_sw;
	info.stop_sw = a.sw;
	if ((st = cpk_receipt_encode(&info, &a.log, &doc, err)) != CPK_OK)
		goto out;
	if (verify_import(q, b, &doc, &outcome, why, sizeof(why), &e2) != CPK_OK) {
		snprintf(why, sizeof(why), "the answers could not be recorded: %.440s", e2.msg);
		if (e2.status != CPK_ERR_STATE)
			fail_bundle(q, why);
		st = finish(q, S_FAILED, "error", why, err);
		goto out;
	}
	if (strcmp(outcome, "refused") == 0)
		fail_bundle(q, why);
	st = finish(q, strcmp(outcome, "loaded") == 0 || strcmp(outcome, "unverified") == 0 ?
	    S_DONE : S_FAILED, outcome, why, err);
out:
	cpk_bundle_free(&b);
	cpk_buf_free(&bytes);
	cpk_buf_free(&doc);
	cpk_receipt_log_free(&a.log);
	card_record_clear(&card);
	return st;
}

/* --- the endpoints --- */

/* A fresh session token: its hex into cookie, its SHA-256 (hex) into secret. */
static cpk_status
new_token(char cookie[2 * SERVE_TOKEN_LEN + 1], char secret[REGISTRY_HEX_HASH],
    struct cpk_error *err)
{
	uint8_t t[SERVE_TOKEN_LEN], md[CPK_SHA256_LEN];
	cpk_status st;

	if (getrandom(t, sizeof(t), 0) != (ssize_t)sizeof(t))
		return cpk_error_set(err, CPK_ERR_CRYPTO, "no random session token: %s",
		    strerror(errno));
	cpk_hex_encode(t, sizeof(t), cookie, 2 * SERVE_TOKEN_LEN + 1);
	if ((st = cpk_sha256(cookie, strlen(cookie), md, err)) == CPK_OK)
		cpk_hex_encode(md, sizeof(md), secret, REGISTRY_HEX_HASH);
	cpk_cleanse(t, sizeof(t));
	return st;
}

/* Does the request's cookie open this session? (constant time) */
static bool
cookie_opens(const struct registry_session *s, const char *cookie)
{
	uint8_t md[CPK_SHA256_LEN];
	char hex[REGISTRY_HEX_HASH];

	if (cookie == NULL || strlen(s->secret) != 2 * CPK_SHA256_LEN ||
	    cpk_sha256(cookie, strlen(cookie), md, NULL) != CPK_OK)
		return false;
	cpk_hex_encode(md, sizeof(md), hex, sizeof(hex));
	return CRYPTO_memcmp(hex, s->secret, 2 * CPK_SHA256_LEN) == 0;
}

/*
 * The same handshake again (the agent lost our answer): a session still in
 * state handshake, of the same technician, gets a new token.
 */
static cpk_status
handshake_again(const struct serve_opts *o, const struct registry_session *want,
    struct cpk_error *err)
{
	struct registry_session s;
	cpk_status st;

	if ((st = registry_session_get(o->reg, want->id, &s, err)) != CPK_OK)
		return st;
	if (strcmp(s.state, S_HANDSHAKE) != 0 || strcmp(s.technician, want->technician) != 0) {
		st = cpk_error_set(err, CPK_ERR_STATE, "session '%s' already exists (%s)", want->id,
		    s.state);
		goto out;
	}
	snprintf(s.secret, sizeof(s.secret), "%s", want->secret);
	st = registry_session_update(o->reg, &s, S_HANDSHAKE, err);
out:
	registry_session_clear(&s);
	return st;
}

static void
handshake(const struct serve_opts *o, const char *id, const char *client, const uint8_t *body,
    size_t n, struct serve_reply *out)
{
	struct seram_handshake h;
	struct seram_handshake_response hr;
	struct registry_session s;
	struct cpk_error err;
	struct req q;

	memset(&q, 0, sizeof(q));
	q.o = o;
	q.id = id;
	q.out = out;
	cpk_error_clear(&err);
	if (seram_handshake_decode(body, n, &h, &err) != CPK_OK) {
		reply_text(out, 400, "handshake: %s", err.msg);
		return;
	}
	if (!seram_handshake_acceptable(&h)) {
		seram_handshake_clear(&h);
		reply_text(out, 406, "this server speaks SERAM %s over %s in %s only", SERAM_VERSION,
		    SERAM_TRANSPORT, SERAM_DATA_FORMAT);
		return;
	}
	memset(&s, 0, sizeof(s));
	if (o->client_cert) {
		if (client == NULL) {
			seram_handshake_clear(&h);
			logf_(&q, "refused: no technician's TLS client certificate");
			reply_text(out, 401, "this server needs a technician's TLS client certificate");
			return;
		}
		if (o->auth != NULL && h.has_technician && strcmp(h.technician.user, client) != 0) {
			logf_(&q, "refused: technician '%s' with the certificate of '%s'",
			    h.technician.user, client);
			reply_text(out, 401, "technician '%s' refused: the TLS client certificate is "
			    "'%s''s", h.technician.user, client);
			seram_handshake_clear(&h);
			return;
		}
		snprintf(s.technician, sizeof(s.technician), "%s", client);
	}
	if (o->auth != NULL) {
		if (!h.has_technician) {
			seram_handshake_clear(&h);
			logf_(&q, "refused: no technician (this server needs one)");
			reply_text(out, 401, "this server needs a technician: user and PIN");
			return;
		}
		if (o->auth(o->auth_ctx, h.technician.user, h.technician.pin, &err) != CPK_OK) {
			logf_(&q, "refused: technician '%s': %s", h.technician.user, err.msg);
			reply_text(out, err.status == CPK_ERR_PERMISSION ? 401 : 500, "%s", err.msg);
			seram_handshake_clear(&h);
			return;
		}
		snprintf(s.technician, sizeof(s.technician), "%s", h.technician.user);
	}
	seram_handshake_clear(&h);
	snprintf(s.id, sizeof(s.id), "%s", id);
	snprintf(s.state, sizeof(s.state), "%s", S_HANDSHAKE);
	if (new_token(out->set_cookie, s.secret, &err) != CPK_OK) {
		reply_text(out, 500, "%s", err.msg);
		return;
	}
	if (registry_session_create(o->reg, &s, &err) == CPK_ERR_STATE) {
		cpk_error_clear(&err);
		if (handshake_again(o, &s, &err) != CPK_OK) {
			out->set_cookie[0] = '\0';
			reply_text(out, err.status == CPK_ERR_STATE ? 409 : 500, "%s", err.msg);
			return;
		}
		logf_(&q, "handshake again: a new session token");
	} else if (err.status != CPK_OK) {
		out->set_cookie[0] = '\0';
		reply_text(out, 500, "%s", err.msg);
		return;
	}
	logf_(&q, "handshake%s%s", s.technician[0] != '\0' ? ", technician " : "", s.technician);
	snprintf(hr.transport, sizeof(hr.transport), "%s", SERAM_TRANSPORT);
	snprintf(hr.format, sizeof(hr.format), "%s", SERAM_DATA_FORMAT);
	snprintf(hr.version, sizeof(hr.version), "%s", SERAM_VERSION);
	out->http = 200;
	if (seram_handshake_response_encode(&hr, &out->body, &err) != CPK_OK) {
		/* No session to enter: its token is not handed out. */
		cpk_cleanse(out->set_cookie, sizeof(out->set_cookie));
		reply_text(out, 500, "%s", err.msg);
	}
}

/* Report in state handshake -> order 1. */
static cpk_status
step_start(struct req *q, const struct seram_report *rep, struct cpk_error *err)
{
	struct seram_order order;
	uint8_t hc[SCP_CHALLENGE_LEN];
	cpk_status st;

	memset(&order, 0, sizeof(order));
	if (rep->status != SERAM_STATUS_POLLING)
		return finish(q, S_ABANDONED, "error", "the first report must be POLLING", err);
	if (getrandom(hc, sizeof(hc), 0) != (ssize_t)sizeof(hc))
		return cpk_error_set(err, CPK_ERR_CRYPTO, "no random host challenge: %s",
		    strerror(errno));
	cpk_hex_encode(hc, sizeof(hc), q->s.host_challenge, sizeof(q->s.host_challenge));
	snprintf(q->s.state, sizeof(q->s.state), "%s", S_IDENTIFY);
	if ((st = identify_order(q->o, hc, &order, err)) == CPK_OK)
		st = commit_order(q, &order, err);
	seram_order_clear(&order);
	return st;
}

static void
remote_management(const struct serve_opts *o, const char *id, const char *cookie,
    const uint8_t *body, size_t n, struct serve_reply *out)
{
	struct req q;
	struct seram_report rep;
	uint8_t md[CPK_SHA256_LEN];
	struct cpk_error err;
	cpk_status st;

	memset(&q, 0, sizeof(q));
	q.o = o;
	q.id = id;
	q.out = out;
	memset(&rep, 0, sizeof(rep));
	cpk_error_clear(&err);
	if ((st = registry_session_get(o->reg, id, &q.s, &err)) != CPK_OK) {
		reply_text(out, st == CPK_ERR_NOT_FOUND ? 404 : 500, "%s", err.msg);
		return;
	}
	snprintf(q.from, sizeof(q.from), "%s", q.s.state);
	if (!cookie_opens(&q.s, cookie)) {
		logf_(&q, "refused: a request without the session's cookie");
		reply_text(out, 403, "this session belongs to the agent that began it: the request "
		    "lacks its cookie %s", SERVE_COOKIE);
		goto out;
	}
	if ((st = cpk_sha256(body, n, md, &err)) != CPK_OK) {
		reply_text(out, 500, "%s", err.msg);
		goto out;
	}
	cpk_hex_encode(md, sizeof(md), q.report_sha, sizeof(q.report_sha));
	if (q.s.last_order != NULL && strcmp(q.s.last_report, q.report_sha) == 0) {
		/* The same report again: the agent lost our answer. */
		logf_(&q, "report sent again: the same order again");
		out->http = 200;
		if (cpk_buf_set(&out->body, q.s.last_order, strlen(q.s.last_order), &err) != CPK_OK)
			reply_text(out, 500, "%s", err.msg);
		goto out;
	}
	if (seram_report_decode(body, n, &rep, &err) != CPK_OK) {
		reply_text(out, 400, "report: %s", err.msg);
		goto out;
	}
	if (strcmp(q.from, S_HANDSHAKE) == 0)
		st = step_start(&q, &rep, &err);
	else if (strcmp(q.from, S_IDENTIFY) == 0)
		st = step_identified(&q, &rep, &err);
	else if (strcmp(q.from, S_SCRIPT) == 0)
		st = step_loaded(&q, &rep, &err);
	else
		st = cpk_error_set(&err, CPK_ERR_STATE, "session %s is over (%s: %s)", id, q.from,
		    q.s.detail);
	if (st != CPK_OK) {
		logf_(&q, "error: %s", err.msg);
		reply_text(out, st == CPK_ERR_STATE ? 409 : 500, "%s", err.msg);
	}
out:
	seram_report_clear(&rep);
	registry_session_clear(&q.s);
}

void
serve_handle(const struct serve_opts *o, const char *path, const char *session_id,
    const char *cookie, const char *client, const uint8_t *body, size_t n,
    struct serve_reply *out)
{
	out->http = 500;
	out->set_cookie[0] = '\0';
	cpk_buf_reset(&out->body);
	if (strncmp(path, "/gp/seram/", 10) == 0)
		path += 9;
	if (strcmp(path, "/handshake") != 0 && strcmp(path, "/remoteManagement") != 0) {
		reply_text(out, 404, "no such endpoint (SERAM: /handshake, /remoteManagement)");
		return;
	}
	if (session_id == NULL || !seram_session_id_valid(session_id)) {
		reply_text(out, 400, "the query wants sessionId=ID (1 to %d characters of A-Z a-z "
		    "0-9 . _ -)", SERAM_SESSION_ID_MAX);
		return;
	}
	if (strcmp(path, "/handshake") == 0)
		handshake(o, session_id, client, body, n, out);
	else
		remote_management(o, session_id, cookie, body, n, out);
}

/* --- lost agents --- */

struct expire {
	const struct serve_opts *o;
	size_t n;
	struct cpk_error *err;
};

static cpk_status
expire_one(void *arg, const char *id, const char *state, const char *bundle)
{
	struct expire *x = arg;
	struct req q;
	char why[REGISTRY_REASON_MAX + 1];
	struct cpk_error e2;
	cpk_status st;

	memset(&q, 0, sizeof(q));
	q.o = x->o;
	q.id = id;
	snprintf(why, sizeof(why), "the agent was lost in state %s (no report in time): nothing "
	    "proves what the card did", state);
	cpk_error_clear(&e2);
	if ((st = registry_session_set_state(x->o->reg, id, state, S_ABANDONED, why, &e2)) ==
	    CPK_ERR_STATE)
		return CPK_OK;	/* it moved on meanwhile: not lost */
	if (st != CPK_OK) {
		*x->err = e2;
		return st;
	}
	x->n++;
	logf_(&q, "%s: %s", S_ABANDONED, why);
	if (bundle[0] == '\0')
		return CPK_OK;
	st = registry_set_state(x->o->reg, bundle, REGISTRY_FAILED, why, NULL, &e2);
	if (st == CPK_ERR_STATE || st == CPK_ERR_NOT_FOUND)
		return CPK_OK;	/* already loaded or failed */
	if (st != CPK_OK)
		*x->err = e2;
	return st;
}

cpk_status
serve_expire(const struct serve_opts *o, uint64_t older_than, size_t *n, struct cpk_error *err)
{
	struct expire x = { o, 0, err };
	cpk_status st;

	st = registry_session_stale(o->reg, older_than, expire_one, &x, err);
	*n = x.n;
	return st;
}
