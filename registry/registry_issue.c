/* SPDX-License-Identifier: BSD-2-Clause */
/* cpk: recording what cardc compiles (see registry_issue.h). */
#include "registry_issue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpk_bytes.h"

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
