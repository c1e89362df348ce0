/* SPDX-License-Identifier: BSD-2-Clause */
/* cpk: the receipt cardload writes (see receipt_write.h and cpk-receipt(5)). */
#include "receipt_write.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpk_text.h"
#include "scp_iu.h"

cpk_status
cpk_receipt_log_add(struct cpk_receipt_log *l, size_t index, const char *label,
    const uint8_t *resp, size_t n, uint64_t usec, struct cpk_error *err)
{
	struct cpk_receipt_entry *grown, *e;
	size_t ncap;
	cpk_status st;

	if (n < 2 || n > CPK_RECEIPT_RESPONSE_MAX)
		return cpk_error_set(err, CPK_ERR_RANGE, "a response of %zu bytes cannot be kept "
		    "in the receipt (2 to %d)", n, CPK_RECEIPT_RESPONSE_MAX);
	if (l->n == l->cap) {
		if (l->cap > SIZE_MAX / 2 / sizeof(*grown))
			return cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
		ncap = l->cap == 0 ? 64 : l->cap * 2;
		if ((grown = realloc(l->v, ncap * sizeof(*grown))) == NULL)
			return cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
		l->v = grown;
		l->cap = ncap;
	}
	e = &l->v[l->n];
	memset(e, 0, sizeof(*e));
	e->index = index;
	snprintf(e->label, sizeof(e->label), "%s", label != NULL ? label : "");
	e->off = l->resp.len;
	e->len = n;
	e->usec = usec;
	if ((st = cpk_buf_append(&l->resp, resp, n, err)) != CPK_OK)
		return st;
	l->n++;
	return CPK_OK;
}

void
cpk_receipt_log_free(struct cpk_receipt_log *l)
{
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
	cpk_buf_free(&l->resp);
}

/* --- a JSON writer into a buffer: the first error sticks --- */

struct jw {
	struct cpk_buf *out;
	bool first;
	cpk_status st;
	struct cpk_error *err;
};

static void
put(struct jw *j, const char *s, size_t n)
{
	if (j->st == CPK_OK)
		j->st = cpk_buf_append(j->out, s, n, j->err);
}

static void
puts_(struct jw *j, const char *s)
{
	put(j, s, strlen(s));
}

static void
string(struct jw *j, const char *s)
{
	char text[6 * CPK_RECEIPT_STR_MAX + 1];
	size_t n;

	n = cpk_json_escape(s, strnlen(s, CPK_RECEIPT_STR_MAX), text, sizeof(text));
	put(j, "\"", 1);
	put(j, text, n);
	put(j, "\"", 1);
}

/* A member's key; nl puts it on a line of its own. */
static void
key(struct jw *j, const char *k, bool nl)
{
	if (!j->first)
		puts_(j, nl ? ",\n" : ",");
	j->first = false;
	string(j, k);
	put(j, ":", 1);
}

static void
m_str(struct jw *j, const char *k, const char *v, bool nl)
{
	key(j, k, nl);
	if (v == NULL || *v == '\0')
		puts_(j, "null");
	else
		string(j, v);
}

static void
m_hex(struct jw *j, const char *k, const uint8_t *p, size_t n, bool nl)
{
	char *hex;

	key(j, k, nl);
	if (p == NULL) {
		puts_(j, "null");
		return;
	}
	if ((hex = malloc(2 * n + 1)) == NULL) {
		if (j->st == CPK_OK)
			j->st = cpk_error_set(j->err, CPK_ERR_NOMEM, "out of memory");
		return;
	}
	(void)cpk_hex_encode(p, n, hex, 2 * n + 1);
	put(j, "\"", 1);
	put(j, hex, 2 * n);
	put(j, "\"", 1);
	free(hex);
}

static void
m_uint(struct jw *j, const char *k, unsigned long long v, bool nl)
{
	char num[24];

	key(j, k, nl);
	snprintf(num, sizeof(num), "%llu", v);
	puts_(j, num);
}

static void
m_byte(struct jw *j, const char *k, uint8_t v, bool nl)
{
	m_hex(j, k, &v, 1, nl);
}

static void
m_sw(struct jw *j, const char *k, bool has, uint16_t sw, bool nl)
{
	char text[5];

	snprintf(text, sizeof(text), "%04X", sw);
	m_str(j, k, has ? text : NULL, nl);
}

/* Open an object member (or the document when k is NULL). */
static void
open_obj(struct jw *j, const char *k, bool nl)
{
	if (k != NULL)
		key(j, k, nl);
	put(j, "{", 1);
	j->first = true;
}

static void
close_obj(struct jw *j)
{
	put(j, "}", 1);
	j->first = false;
}

static void
bundle(struct jw *j, const struct cpk_receipt_info *in)
{
	char id[2 * CPK_KEY_ID_LEN + 1];
	const struct cpk_manifest *m = in->m;

	open_obj(j, "bundle", true);
	m_hex(j, "sha256", in->bundle_sha256, CPK_SHA256_LEN, false);
	if (in->key_id != NULL) {
		cpk_key_id_hex(in->key_id, id);
		m_str(j, "key-id", id, false);
	} else {
		m_str(j, "key-id", NULL, false);
	}
	m_str(j, "profile", m != NULL ? m->profile : NULL, false);
	m_str(j, "mode", m == NULL ? NULL : m->mode == CPK_MODE_SESSION ? "session" : "offline",
	    false);
	m_str(j, "serial", m != NULL ? m->serial : NULL, false);
	m_uint(j, "commands", in->commands, false);
	close_obj(j);
}

/* The fields of an INITIALIZE UPDATE answer, null when it does not parse. */
static void
card(struct jw *j, const struct cpk_receipt_card *c)
{
	struct scp_iu_response iu;
	bool ok;

	if (c == NULL) {
		m_str(j, "card", NULL, true);
		return;
	}
	ok = c->iu_response != NULL &&
	    scp_iu_response_parse(c->iu_response, c->iu_len, &iu, NULL) == CPK_OK;
	open_obj(j, "card", true);
	m_str(j, "seen-by", c->seen_by, false);
	m_str(j, "serial", c->serial, false);
	m_hex(j, "cplc", c->cplc, c->cplc_len, false);
	m_hex(j, "iin", c->iin_len > 0 ? c->iin : NULL, c->iin_len, false);
	m_hex(j, "cin", c->cin_len > 0 ? c->cin : NULL, c->cin_len, false);
	m_hex(j, "kdd", ok ? iu.kdd : NULL, sizeof(iu.kdd), false);
	if (ok) {
		m_byte(j, "kvn", iu.kvn, false);
		m_byte(j, "scp", iu.scp, false);
	} else {
		m_str(j, "kvn", NULL, false);
		m_str(j, "scp", NULL, false);
	}
	m_hex(j, "counter", ok && iu.counter_len > 0 ? iu.counter : NULL, iu.counter_len, false);
	m_hex(j, "card-challenge", ok ? iu.card_challenge : NULL, iu.challenge_len, false);
	m_hex(j, "card-cryptogram", ok ? iu.card_cryptogram : NULL, 8, false);
	m_hex(j, "host-challenge", c->host_challenge, 8, false);
	m_hex(j, "iu-response", c->iu_response, c->iu_len, false);
	close_obj(j);
}

static void
commands(struct jw *j, const struct cpk_receipt_log *l)
{
	const struct cpk_receipt_entry *e;
	const uint8_t *r;
	size_t i;

	key(j, "commands", true);
	put(j, "[", 1);
	for (i = 0; l != NULL && i < l->n; i++) {
		e = &l->v[i];
		r = l->resp.data + e->off;
		puts_(j, i == 0 ? "\n" : ",\n");
		open_obj(j, NULL, false);
		m_uint(j, "index", e->index, false);
		m_str(j, "label", e->label, false);
		m_sw(j, "sw", true, (uint16_t)(r[e->len - 2] << 8 | r[e->len - 1]), false);
		m_hex(j, "data", r, e->len - 2, false);
		m_uint(j, "usec", e->usec, false);
		close_obj(j);
	}
	put(j, "]", 1);
	j->first = false;
}

cpk_status
cpk_receipt_encode(const struct cpk_receipt_info *in, const struct cpk_receipt_log *l,
    struct cpk_buf *out, struct cpk_error *err)
{
	struct jw j = { out, true, CPK_OK, err };
	size_t start = out->len;

	open_obj(&j, NULL, false);
	m_uint(&j, "cpk-receipt", CPK_RECEIPT_FORMAT, false);
	m_str(&j, "cardload", in->version, true);
	m_str(&j, "start", in->start, true);
	m_str(&j, "end", in->end, true);
	m_str(&j, "source", in->source, true);
	m_str(&j, "reader", in->reader, true);
	m_str(&j, "result", in->result, true);
	bundle(&j, in);
	card(&j, in->card);
	commands(&j, l);
	open_obj(&j, "stop", true);
	m_str(&j, "reason", cpk_receipt_stop_name(in->stop), false);
	if (in->stop_index > 0)
		m_uint(&j, "index", in->stop_index, false);
	else
		m_str(&j, "index", NULL, false);
	m_sw(&j, "sw", in->has_stop_sw, in->stop_sw, false);
	close_obj(&j);
	puts_(&j, "}\n");
	if (j.st != CPK_OK)
		cpk_buf_truncate(out, out->len - start);
	return j.st;
}
