/* SPDX-License-Identifier: BSD-2-Clause */
/* cpk: derived host challenges (see challenge.h). */
#include "challenge.h"

#include <string.h>

#include <openssl/evp.h>

#include "cpk_bytes.h"
#include "keyset.h"

#define TAG_INPUTS "cpk host challenge v1"
#define TAG_OUTPUT "cpk host challenge"

/* One length-prefixed field into the digest. */
static int
field(EVP_MD_CTX *md, const void *p, size_t n)
{
	uint8_t len[4] = { (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8),
	    (uint8_t)n };

	return EVP_DigestUpdate(md, len, sizeof(len)) == 1 &&
	    (n == 0 || EVP_DigestUpdate(md, p, n) == 1);
}

static int
text(EVP_MD_CTX *md, const char *s)
{
	return field(md, s, s != NULL ? strlen(s) : 0);
}

static int
byte(EVP_MD_CTX *md, unsigned v)
{
	uint8_t b = (uint8_t)v;

	return field(md, &b, 1);
}

static int
steps(EVP_MD_CTX *md, const struct profile *p)
{
	const struct profile_step *s;
	const struct scp_keyset *k;
	size_t i;
	int ok = 1;

	for (i = 0; i < p->nsteps && ok; i++) {
		s = &p->steps[i];
		ok = byte(md, (unsigned)s->kind);
		if (ok && s->kind == PROFILE_STEP_LOAD)
			ok = field(md, s->u.load.lfdb.data, s->u.load.lfdb.len);
		if (ok && s->kind == PROFILE_STEP_PUT_KEY && s->u.put_key.set != NULL) {
			k = &s->u.put_key.set->keys;
			ok = byte(md, k->kvn) && byte(md, (unsigned)k->alg) &&
			    field(md, k->enc, k->len) && field(md, k->mac, k->len) &&
			    field(md, k->dek, k->len);
		}
	}
	return ok;
}

static int
card_fields(EVP_MD_CTX *md, const struct card_record *c)
{
	size_t i;
	int ok;

	ok = field(md, c->sd_aid.b, c->sd_aid.len) && byte(md, (unsigned)c->scp) &&
	    byte(md, c->i) && byte(md, c->kvn) && field(md, c->kdd, sizeof(c->kdd)) &&
	    field(md, c->counter, c->counter_len) &&
	    field(md, c->cplc, c->has_cplc ? sizeof(c->cplc) : 0) &&
	    field(md, c->iin, c->iin_len) && field(md, c->cin, c->cin_len) &&
	    text(md, c->serial) && byte(md, c->has_session) &&
	    field(md, c->host_challenge, c->has_session ? sizeof(c->host_challenge) : 0) &&
	    field(md, c->iu_raw, c->has_session ? c->iu_len : 0);
	for (i = 0; i < c->ndata && ok; i++)
		ok = text(md, c->data[i].name) && text(md, c->data[i].value);
	return ok;
}

/* The inputs every card of the profile shares. */
static int
profile_part(EVP_MD_CTX *md, const struct profile *p)
{
	return EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 && text(md, TAG_INPUTS) &&
	    field(md, p->sha256, sizeof(p->sha256)) && steps(md, p);
}

void *
cpk_host_challenge_prefix(const struct profile *p)
{
	EVP_MD_CTX *md;

	if ((md = EVP_MD_CTX_new()) == NULL)
		return NULL;
	if (!profile_part(md, p)) {
		EVP_MD_CTX_free(md);
		return NULL;
	}
	return md;
}

void
cpk_host_challenge_prefix_free(void *prefix)
{
	EVP_MD_CTX_free(prefix);	/* the digest state is cleansed as it is freed */
}

cpk_status
cpk_host_challenge_derive(const struct cpk_signer *key, const struct profile *p,
    const struct card_record *card, uint8_t out[CPK_CHALLENGE_LEN], struct cpk_error *err)
{
	uint8_t msg[sizeof(TAG_INPUTS) - 1 + 32], sig[CPK_SIG_LEN], h[32];
	unsigned int len = 0;
	EVP_MD_CTX *md;
	cpk_status st = CPK_OK;
	int ok;

	if ((md = EVP_MD_CTX_new()) == NULL)
		return cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
	memcpy(msg, TAG_INPUTS, sizeof(TAG_INPUTS) - 1);
	/* A copy of the shared state reads it only: workers may share the profile. */
	ok = (p->challenge_prefix != NULL ? EVP_MD_CTX_copy_ex(md, p->challenge_prefix) == 1 :
	    profile_part(md, p)) && card_fields(md, card) &&
	    EVP_DigestFinal_ex(md, msg + sizeof(TAG_INPUTS) - 1, &len) == 1 && len == 32;
	if (!ok) {
		st = cpk_error_set(err, CPK_ERR_CRYPTO, "SHA-256 of the host challenge's inputs "
		    "failed");
		goto out;
	}
	if ((st = cpk_signer_sign(key, msg, sizeof(msg), sig, err)) != CPK_OK) {
		cpk_error_prefix(err, "deriving the host challenge");
		goto out;
	}
	/* The signature proper (after the algorithm and key id), hashed once more. */
	if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(md, TAG_OUTPUT, sizeof(TAG_OUTPUT) - 1) != 1 ||
	    EVP_DigestUpdate(md, sig + 2 + CPK_KEY_ID_LEN, CPK_ED25519_SIG_LEN) != 1 ||
	    EVP_DigestFinal_ex(md, h, &len) != 1 || len != 32) {
		st = cpk_error_set(err, CPK_ERR_CRYPTO, "SHA-256 of the host challenge failed");
		goto out;
	}
	memcpy(out, h, CPK_CHALLENGE_LEN);
out:
	cpk_cleanse(msg, sizeof(msg));
	cpk_cleanse(sig, sizeof(sig));
	cpk_cleanse(h, sizeof(h));
	EVP_MD_CTX_free(md);
	return st;
}
