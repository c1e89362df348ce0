/* SPDX-License-Identifier: BSD-2-Clause */
/* cpk: INITIALIZE UPDATE response comparison (see iu_compare.h). */
#include "iu_compare.h"

#include <stdio.h>
#include <string.h>

#include "scp_iu.h"

static uint32_t
counter_value(const uint8_t *p, size_t n)
{
	uint32_t v = 0;
	size_t i;

	for (i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

static void
hex(const uint8_t *p, size_t n, char *out, size_t cap)
{
	if (cpk_hex_encode(p, n, out, cap) != CPK_OK)
		snprintf(out, cap, "?");
}

static cpk_status
report(struct cpk_iu_report *r, struct cpk_error *err, enum cpk_iu_diff d, const char *field)
{
	r->diff = d;
	snprintf(r->field, sizeof(r->field), "%s", field);
	return cpk_error_set(err, CPK_ERR_VERIFY, "%s: %s", field, r->detail);
}

static cpk_status
compare_counter(const struct scp_iu_response *want, const struct scp_iu_response *got,
    struct cpk_iu_report *r, struct cpk_error *err)
{
	char w[8], g[8];
	uint32_t wv = counter_value(want->counter, want->counter_len);
	uint32_t gv = counter_value(got->counter, got->counter_len);

	hex(want->counter, want->counter_len, w, sizeof(w));
	hex(got->counter, got->counter_len, g, sizeof(g));
	if (gv > wv) {
		snprintf(r->detail, sizeof(r->detail),
		    "the bundle was made for %s but the card is at %s — %s; this bundle can no "
		    "longer be used, ask for a new one", w, g,
		    scp_proto_find(want->scp)->counter_moves_on_iu ?
		    "the card has opened other sessions since it was made" :
		    "a secure channel session succeeded since it was made");
		return report(r, err, CPK_IU_STALE, "sequence counter");
	}
	snprintf(r->detail, sizeof(r->detail),
	    "the bundle was made for %s but the card is at %s — the card record it was compiled "
	    "from was ahead of the card; ask for a new bundle made from a fresh card record", w, g);
	return report(r, err, CPK_IU_COUNTER_AHEAD, "sequence counter");
}

cpk_status
cpk_iu_compare(const struct cpk_manifest *m, const uint8_t *resp, size_t n,
    struct cpk_iu_report *r, struct cpk_error *err)
{
	struct scp_iu_response want, got;
	struct cpk_error perr;
	char a[2 * SCP_KDD_LEN + 1], b[2 * SCP_KDD_LEN + 1];

	memset(r, 0, sizeof(*r));
	if (scp_iu_response_parse(m->iu_response, m->iu_response_len, &want, err) != CPK_OK) {
		cpk_error_prefix(err, "the bundle's expected INITIALIZE UPDATE response");
		return CPK_ERR_PARSE;
	}
	if (n == m->iu_response_len && memcmp(resp, m->iu_response, n) == 0)
		return CPK_OK;
	cpk_error_clear(&perr);
	if (scp_iu_response_parse(resp, n, &got, &perr) != CPK_OK) {
		snprintf(r->detail, sizeof(r->detail),
		    "the card's answer is not a GlobalPlatform INITIALIZE UPDATE response (%.200s)",
		    perr.msg);
		return report(r, err, CPK_IU_MALFORMED, "response");
	}
	/* Both parsed: their protocols are in the table. */
	if (got.scp != want.scp || (scp_proto_find(want.scp)->iu_has_i && got.i != want.i)) {
		const struct scp_proto *gp = scp_proto_find(got.scp);
		char proto[24];

		if (gp->iu_has_i)
			snprintf(proto, sizeof(proto), "%s i=%02X", gp->name, got.i);
		else
			snprintf(proto, sizeof(proto), "%s", gp->name);
		snprintf(r->detail, sizeof(r->detail),
		    "the bundle is for SCP%02X i=%02X but the card answered %s — it is another "
		    "kind of card or security domain", want.scp, m->i, proto);
		return report(r, err, CPK_IU_PROTOCOL, "secure channel protocol");
	}
	if (memcmp(got.kdd, want.kdd, SCP_KDD_LEN) != 0) {
		hex(want.kdd, SCP_KDD_LEN, a, sizeof(a));
		hex(got.kdd, SCP_KDD_LEN, b, sizeof(b));
		snprintf(r->detail, sizeof(r->detail),
		    "the bundle was made for the card with KDD %s, but this card has KDD %s — "
		    "it is another card; insert the right card or ask for its bundle", a, b);
		return report(r, err, CPK_IU_CARD, "key diversification data");
	}
	if (got.kvn != want.kvn) {
		snprintf(r->detail, sizeof(r->detail),
		    "the bundle was made for key set version %02X, but the card answered with "
		    "version %02X — the card's keys were changed; ask for a new bundle",
		    want.kvn, got.kvn);
		return report(r, err, CPK_IU_KEY_VERSION, "key version");
	}
	if (got.counter_len != want.counter_len ||
	    memcmp(got.counter, want.counter, want.counter_len) != 0)
		return compare_counter(&want, &got, r, err);
	if (memcmp(got.card_challenge, want.card_challenge, want.challenge_len) != 0) {
		snprintf(r->detail, sizeof(r->detail),
		    "the card's challenge is not the one its keys and counter predict — the card "
		    "holds other keys than the bundle was made with, or does not use a "
		    "pseudo-random challenge");
		return report(r, err, CPK_IU_CHALLENGE, "card challenge");
	}
	snprintf(r->detail, sizeof(r->detail),
	    "the card's cryptogram differs — the card holds other keys than the bundle was made "
	    "with (wrong key set or diversification at the bureau)");
	return report(r, err, CPK_IU_CRYPTOGRAM, "card cryptogram");
}
