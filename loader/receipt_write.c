/* SPDX-License-Identifier: BSD-2-Clause */
/* cpk: the receipt cardload writes (see receipt_write.h and cpk-receipt(5)). */
#include "receipt_write.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpk_json_write.h"
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

static void
m_byte(struct cpk_jw *j, const char *k, uint8_t v, bool nl)
{
	cpk_jw_hex(j, k, &v, 1, nl);
}

static void
m_sw(struct cpk_jw *j, const char *k, bool has, uint16_t sw, bool nl)
{
	char text[5];

	snprintf(text, sizeof(text), "%04X", sw);
	cpk_jw_str(j, k, has ? text : NULL, nl);
}

static void
bundle(struct cpk_jw *j, const struct cpk_receipt_info *in)
{
	char id[2 * CPK_KEY_ID_LEN + 1];
	const struct cpk_manifest *m = in->m;

	cpk_jw_open(j, "bundle", true);
	cpk_jw_hex(j, "sha256", in->bundle_sha256, CPK_SHA256_LEN, false);
	if (in->key_id != NULL) {
		cpk_key_id_hex(in->key_id, id);
		cpk_jw_str(j, "key-id", id, false);
	} else {
		cpk_jw_str(j, "key-id", NULL, false);
	}
	cpk_jw_str(j, "profile", m != NULL ? m->profile : NULL, false);
	cpk_jw_str(j, "mode", m == NULL ? NULL : m->mode == CPK_MODE_SESSION ? "session" : "offline",
	    false);
	cpk_jw_str(j, "serial", m != NULL ? m->serial : NULL, false);
	cpk_jw_uint(j, "commands", in->commands, false);
	cpk_jw_close(j);
}

/* The fields of an INITIALIZE UPDATE answer, null when it does not parse. */
static void
card(struct cpk_jw *j, const struct cpk_receipt_card *c)
{
	struct scp_iu_response iu;
	bool ok;

	if (c == NULL) {
		cpk_jw_str(j, "card", NULL, true);
		return;
	}
	ok = c->iu_response != NULL &&
	    scp_iu_response_parse(c->iu_response, c->iu_len, &iu, NULL) == CPK_OK;
	cpk_jw_open(j, "card", true);
	cpk_jw_str(j, "seen-by", c->seen_by, false);
	cpk_jw_str(j, "serial", c->serial, false);
	cpk_jw_hex(j, "cplc", c->cplc, c->cplc_len, false);
	cpk_jw_hex(j, "iin", c->iin_len > 0 ? c->iin : NULL, c->iin_len, false);
	cpk_jw_hex(j, "cin", c->cin_len > 0 ? c->cin : NULL, c->cin_len, false);
	cpk_jw_hex(j, "kdd", ok ? iu.kdd : NULL, sizeof(iu.kdd), false);
	if (ok) {
		m_byte(j, "kvn", iu.kvn, false);
		m_byte(j, "scp", iu.scp, false);
	} else {
		cpk_jw_str(j, "kvn", NULL, false);
		cpk_jw_str(j, "scp", NULL, false);
	}
	cpk_jw_hex(j, "counter", ok && iu.counter_len > 0 ? iu.counter : NULL, iu.counter_len, false);
	cpk_jw_hex(j, "card-challenge", ok ? iu.card_challenge : NULL, iu.challenge_len, false);
	cpk_jw_hex(j, "card-cryptogram", ok ? iu.card_cryptogram : NULL, 8, false);
	cpk_jw_hex(j, "host-challenge", c->host_challenge, 8, false);
	cpk_jw_hex(j, "iu-response", c->iu_response, c->iu_len, false);
	cpk_jw_close(j);
}

static void
commands(struct cpk_jw *j, const struct cpk_receipt_log *l)
{
	const struct cpk_receipt_entry *e;
	const uint8_t *r;
	size_t i;

	cpk_jw_key(j, "commands", true);
	cpk_jw_put(j, "[", 1);
	for (i = 0; l != NULL && i < l->n; i++) {
		e = &l->v[i];
		r = l->resp.data + e->off;
		cpk_jw_puts(j, i == 0 ? "\n" : ",\n");
		cpk_jw_open(j, NULL, false);
		cpk_jw_uint(j, "index", e->index, false);
		cpk_jw_str(j, "label", e->label, false);
		m_sw(j, "sw", true, (uint16_t)(r[e->len - 2] << 8 | r[e->len - 1]), false);
		cpk_jw_hex(j, "data", r, e->len - 2, false);
		cpk_jw_uint(j, "usec", e->usec, false);
		cpk_jw_close(j);
	}
	cpk_jw_put(j, "]", 1);
	j->first = false;
}

cpk_status
cpk_receipt_encode(const struct cpk_receipt_info *in, const struct cpk_receipt_log *l,
    struct cpk_buf *out, struct cpk_error *err)
{
	struct cpk_jw j;
	size_t start = out->len;

	cpk_jw_init(&j, out, CPK_RECEIPT_STR_MAX, 6 * CPK_RECEIPT_STR_MAX, err);
	cpk_jw_open(&j, NULL, false);
	cpk_jw_uint(&j, "cpk-receipt", CPK_RECEIPT_FORMAT, false);
	cpk_jw_str(&j, "cardload", in->version, true);
	cpk_jw_str(&j, "start", in->start, true);
	cpk_jw_str(&j, "end", in->end, true);
	cpk_jw_str(&j, "source", in->source, true);
	cpk_jw_str(&j, "reader", in->reader, true);
	cpk_jw_str(&j, "result", in->result, true);
	bundle(&j, in);
	card(&j, in->card);
	commands(&j, l);
	cpk_jw_open(&j, "stop", true);
	cpk_jw_str(&j, "reason", cpk_receipt_stop_name(in->stop), false);
	if (in->stop_index > 0)
		cpk_jw_uint(&j, "index", in->stop_index, false);
	else
		cpk_jw_str(&j, "index", NULL, false);
	m_sw(&j, "sw", in->has_stop_sw, in->stop_sw, false);
	cpk_jw_close(&j);
	cpk_jw_puts(&j, "}\n");
	if (j.st != CPK_OK)
		cpk_buf_truncate(out, out->len - start);
	return j.st;
}
