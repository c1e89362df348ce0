/* SPDX-License-Identifier: BSD-2-Clause */
/* cpk: recording what cardc compiles (see registry_issue.h). */
#include "registry_issue.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cpk_bytes.h"
#include "cpk_text.h"

/* Hex of p[0..n) into out (room for 2n + 1). */
static void
hex(const uint8_t *p, size_t n, char *out, size_t cap)
{
	if (cpk_hex_encode(p, n, out, cap) != CPK_OK)
		out[0] = '\0';
}

/* The card's sealed data as hex, or NULL when it has none of the profile's items. */
static cpk_status
seal_data(const struct datakey *dk, const struct profile *p, const struct card_record *card,
    const uint8_t hash[32], char **out, struct cpk_error *err)
{
	struct cpk_buf plain = CPK_BUF_INIT, sealed = CPK_BUF_INIT;
	cpk_status st;

	*out = NULL;
	if ((st = card_data_encode(p, card, &plain, err)) != CPK_OK || plain.len == 0)
		goto out;
	if (dk == NULL) {
		st = cpk_error_set(err, CPK_ERR_ARG, "registry: per-card data and no data key");
		goto out;
	}
	if ((st = datakey_seal(dk, card->serial, hash, plain.data, plain.len, &sealed,
	    err)) != CPK_OK)
		goto out;
	if (sealed.len > REGISTRY_DATA_MAX / 2) {
		st = cpk_error_set(err, CPK_ERR_RANGE, "card data too long for the registry");
		goto out;
	}
	if ((*out = malloc(2 * sealed.len + 1)) == NULL) {
		st = cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	hex(sealed.data, sealed.len, *out, 2 * sealed.len + 1);
out:
	cpk_buf_free(&plain);
	cpk_buf_free(&sealed);
	return st;
}

cpk_status
registry_issue_prepare(const struct datakey *dk, const struct profile *p,
    const struct card_record *card, const struct cpk_manifest *m, const uint8_t *bytes,
    size_t n, const char *supersede, struct registry_issue_buf *b, struct cpk_error *err)
{
	uint8_t hash[CPK_SHA256_LEN];
	cpk_status st;

	memset(b, 0, sizeof(*b));
	if (card->serial[0] == '\0') {
		st = cpk_error_set(err, CPK_ERR_ARG, "the card record has no 'serial': the registry "
		    "records each card by its serial");
		goto out;
	}
	if (strlen(m->profile) > REGISTRY_NAME_MAX || strlen(card->serial) > REGISTRY_SERIAL_MAX) {
		st = cpk_error_set(err, CPK_ERR_RANGE, "profile name or serial too long for the "
		    "registry");
		goto out;
	}
	if ((st = cpk_sha256(bytes, n, hash, err)) != CPK_OK)
		goto out;
	hex(hash, sizeof(hash), b->hash, sizeof(b->hash));
	hex(m->kdd, sizeof(m->kdd), b->kdd, sizeof(b->kdd));
	hex(m->iin, m->iin_len, b->iin, sizeof(b->iin));
	hex(m->cin, m->cin_len, b->cin, sizeof(b->cin));
	hex(m->profile_sha256, sizeof(m->profile_sha256), b->profile_sha256,
	    sizeof(b->profile_sha256));
	if (m->counter_len > 0) {
		hex(m->counter, m->counter_len, b->counter, sizeof(b->counter));
	} else {
		/* A session bundle whose card reports no counter: bound to its challenge. */
		memcpy(b->counter, "hc:", 4);
		hex(m->host_challenge, sizeof(m->host_challenge), b->counter + 3,
		    sizeof(b->counter) - 3);
	}
	snprintf(b->serial, sizeof(b->serial), "%s", card->serial);
	snprintf(b->profile, sizeof(b->profile), "%s", m->profile);
	if ((st = seal_data(dk, p, card, hash, &b->data, err)) != CPK_OK)
		goto out;
	b->in.serial = b->serial;
	b->in.kdd = b->kdd;
	b->in.iin = m->iin_len > 0 ? b->iin : NULL;
	b->in.cin = m->cin_len > 0 ? b->cin : NULL;
	b->in.profile = b->profile;
	b->in.profile_sha256 = b->profile_sha256;
	b->in.bundle_sha256 = b->hash;
	b->in.mode = m->mode == CPK_MODE_SESSION ? "session" : "offline";
	b->in.counter = b->counter;
	b->in.created = m->created;
	b->in.data = b->data;
	b->in.supersede = supersede;
out:
	return st;
}

void
registry_issue_buf_free(struct registry_issue_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

cpk_status
registry_issue_bundle(struct registry *r, const struct datakey *dk, const struct profile *p,
    const struct card_record *card, const struct cpk_manifest *m, const uint8_t *bytes,
    size_t n, const char *supersede, char hash_hex[REGISTRY_HEX_HASH], struct cpk_error *err)
{
	struct registry_issue_buf b;
	cpk_status st;

	hash_hex[0] = '\0';
	if ((st = registry_issue_prepare(dk, p, card, m, bytes, n, supersede, &b, err)) == CPK_OK) {
		memcpy(hash_hex, b.hash, REGISTRY_HEX_HASH);
		st = registry_record(r, &b.in, err);
	}
	registry_issue_buf_free(&b);
	return st;
}

/* --- re-issue --- */

struct source_walk {
	const char *profile_sha256;	/* hex */
	size_t n;			/* the card's bundles */
	bool have, have_any;
	struct registry_row best;	/* of this profile */
	char *data;			/* its sealed data (hex) */
	struct registry_row any;	/* of any profile, for the message */
	cpk_status st;
};

/* The better of two issued or loaded bundles: sealed data, then loaded; else the newer. */
static bool
better(const struct registry_row *a, bool have_b, const struct registry_row *b)
{
	if (!have_b)
		return true;
	if (a->has_data != b->has_data)
		return a->has_data;
	if ((a->state == REGISTRY_LOADED) != (b->state == REGISTRY_LOADED))
		return a->state == REGISTRY_LOADED;
	return true;			/* rows come oldest first */
}

static cpk_status
source_row(void *arg, const struct registry_row *row)
{
	struct source_walk *w = arg;
	char *copy = NULL;

	w->n++;
	if (row->state != REGISTRY_ISSUED && row->state != REGISTRY_LOADED)
		return CPK_OK;
	if (better(row, w->have_any, &w->any)) {
		w->any = *row;
		w->any.data = NULL;
		w->have_any = true;
	}
	if (strcasecmp(row->profile_sha256, w->profile_sha256) != 0 ||
	    !better(row, w->have, &w->best))
		return CPK_OK;
	if (row->data != NULL && (copy = strdup(row->data)) == NULL)
		return w->st = CPK_ERR_NOMEM;
	free(w->data);
	w->data = copy;
	w->best = *row;
	w->best.data = NULL;
	w->have = true;
	return CPK_OK;
}

/* Open the sealed data (hex) of bundle row and add its items to card. */
static cpk_status
open_data(const struct datakey *dk, const struct registry_row *row, const char *sealed_hex,
    struct card_record *card, struct cpk_error *err)
{
	struct cpk_buf sealed = CPK_BUF_INIT, plain = CPK_BUF_INIT;
	uint8_t hash[CPK_SHA256_LEN];
	cpk_status st;

	if (dk == NULL) {
		st = cpk_error_set(err, CPK_ERR_ARG, "bundle %s of card %s holds sealed data and "
		    "the profile declares none: no data key to open it", row->bundle_sha256,
		    row->serial);
		goto out;
	}
	if ((st = cpk_hex_decode_exact(row->bundle_sha256, hash, sizeof(hash), err)) != CPK_OK ||
	    (st = cpk_hex_decode_buf(sealed_hex, &sealed, err)) != CPK_OK) {
		cpk_error_prefix(err, "registry: bundle %s", row->bundle_sha256);
		goto out;
	}
	if ((st = datakey_open(dk, row->serial, hash, sealed.data, sealed.len, &plain,
	    err)) != CPK_OK) {
		cpk_error_prefix(err, "the data card %s was issued with (bundle %s)", row->serial,
		    row->bundle_sha256);
		goto out;
	}
	st = card_data_decode(plain.data, plain.len, card, err);
out:
	cpk_buf_free(&plain);
	cpk_buf_free(&sealed);
	return st;
}

cpk_status
registry_reissue_source(struct registry *r, const struct datakey *dk, const struct profile *p,
    const char *lost, struct registry_row *row, struct card_record *data,
    struct cpk_error *err)
{
	struct registry_filter f = { lost, NULL, NULL, true };
	struct source_walk w;
	char want[REGISTRY_HEX_HASH];
	cpk_status st;

	memset(&w, 0, sizeof(w));
	memset(row, 0, sizeof(*row));
	hex(p->sha256, sizeof(p->sha256), want, sizeof(want));
	w.profile_sha256 = want;
	if ((st = registry_list(r, &f, source_row, &w, err)) != CPK_OK) {
		if (w.st == CPK_ERR_NOMEM)
			st = cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (w.n == 0) {
		st = cpk_error_set(err, CPK_ERR_NOT_FOUND, "no card %s in registry '%s': only a "
		    "card the registry issued can be re-issued", lost, registry_name(r));
		goto out;
	}
	if ((st = registry_refuse_revoked(r, lost, "it was re-issued already", err)) != CPK_OK)
		goto out;
	if (!w.have_any) {
		st = cpk_error_set(err, CPK_ERR_STATE, "card %s has no issued or loaded bundle in "
		    "registry '%s': nothing to re-issue", lost, registry_name(r));
		goto out;
	}
	if (!w.have) {
		st = cpk_error_set(err, CPK_ERR_ARG, "profile '%s' (sha256 %s) is not the one card "
		    "%s was issued with: its bundle %s comes from profile '%s' (sha256 %s); give "
		    "that profile, unchanged", p->name, want, lost, w.any.bundle_sha256,
		    w.any.profile, w.any.profile_sha256);
		goto out;
	}
	*row = w.best;
	if (w.data != NULL)
		st = open_data(dk, &w.best, w.data, data, err);
out:
	if (w.data != NULL) {
		cpk_cleanse(w.data, strlen(w.data));
		free(w.data);
	}
	return st;
}

void
registry_receipt_prepare(const struct receipt_result *res, const char *bundle_sha256,
    struct registry_receipt_buf *b)
{
	size_t i, n;

	memset(b, 0, sizeof(*b));
	snprintf(b->bundle, sizeof(b->bundle), "%s", bundle_sha256);
	n = cpk_utf8_cut(res->reason, sizeof(b->reason) - 1);
	memcpy(b->reason, res->reason, n);
	b->reason[n] = '\0';
	b->in.bundle_sha256 = b->bundle;
	b->in.state = res->verdict == RECEIPT_LOADED || res->verdict == RECEIPT_UNVERIFIED ?
	    REGISTRY_LOADED : REGISTRY_FAILED;
	b->in.reason = b->reason;
	/* The values the card returned where the bundle captures them (and they verified). */
	for (i = 0; i < res->ncaptured && b->in.ncaptures < REGISTRY_CAPTURES_MAX; i++) {
		if (!res->captured[i].present || res->captured[i].len > REGISTRY_CAPTURE_VALUE_MAX)
			continue;
		cpk_hex_encode(res->captured[i].value, res->captured[i].len,
		    b->hex[b->in.ncaptures], sizeof(b->hex[0]));
		b->caps[b->in.ncaptures].name = res->captured[i].name;
		b->caps[b->in.ncaptures].value_hex = b->hex[b->in.ncaptures];
		b->in.ncaptures++;
	}
	b->in.captures = b->caps;
}
