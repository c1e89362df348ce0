/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzz target: the card's INITIALIZE UPDATE response as the host (and the
 * loader, against a bundle's expected one) receives it, scp_iu_response_parse
 * and scp_iu_response_build (common/scp_iu.h), then a host session begun
 * from it with fixed test keys (compiler/scp.h).
 *
 * Whatever the input, nothing crashes. An accepted response builds back to
 * the same bytes and parses to the same fields; a host session begins from
 * it exactly when its `i` is supported; and the card cryptogram check
 * passes exactly when the response carries the cryptogram the host
 * computes.
 *
 * It writes SCP02's and SCP03's numbers down itself (key algorithm, counter
 * and challenge lengths, i values) instead of asking the secure channel
 * table, on purpose: as an independent oracle, a wrong table row fails here
 * rather than agreeing with itself (docs/ADDING-A-SECURE-CHANNEL.md).
 */
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "gp_crypto.h"
#include "scp.h"
#include "scp_iu.h"

static bool
same_fields(const struct scp_iu_response *a, const struct scp_iu_response *b)
{
	return memcmp(a->kdd, b->kdd, SCP_KDD_LEN) == 0 && a->kvn == b->kvn &&
	    a->scp == b->scp && a->i == b->i && a->counter_len == b->counter_len &&
	    memcmp(a->counter, b->counter, a->counter_len) == 0 &&
	    a->challenge_len == b->challenge_len &&
	    memcmp(a->card_challenge, b->card_challenge, a->challenge_len) == 0 &&
	    memcmp(a->card_cryptogram, b->card_cryptogram, 8) == 0;
}

static void
begin_host(const struct scp_iu_response *iu)
{
	static const uint8_t hc[SCP_CHALLENGE_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct scp_keyset keys;
	struct scp_session host;
	enum scp_version v = iu->scp == 0x02 ? SCP02 : SCP03;
	/* SCP02 responses do not carry `i`: it comes from the card record. */
	uint8_t i = v == SCP02 ? 0x55 : iu->i;
	size_t j;
	cpk_status st;

	memset(&keys, 0, sizeof(keys));
	keys.alg = v == SCP02 ? GP_KEY_3DES : GP_KEY_AES;
	keys.len = 16;
	keys.kvn = iu->kvn;
	for (j = 0; j < keys.len; j++) {
		keys.enc[j] = (uint8_t)(0x40 + j);
		keys.mac[j] = (uint8_t)(0x40 + j);
		keys.dek[j] = (uint8_t)(0x40 + j);
	}
	st = scp_session_begin(&host, &keys, v, i, hc, iu, NULL);
	FUZZ_CHECK((st == CPK_OK) == (scp_i_supported(v, i, NULL) == CPK_OK));
	if (st == CPK_OK) {
		FUZZ_CHECK(host.state == SCP_STATE_INITIALIZED);
		st = scp_check_card_cryptogram(&host, iu->card_cryptogram, NULL);
		FUZZ_CHECK((st == CPK_OK) ==
		    (memcmp(iu->card_cryptogram, host.card_cryptogram, 8) == 0));
		FUZZ_CHECK(st == CPK_OK || st == CPK_ERR_VERIFY);
	} else {
		FUZZ_CHECK(host.state == SCP_STATE_NONE);
	}
	scp_session_clear(&host);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scp_iu_response iu, back;
	struct cpk_buf out = CPK_BUF_INIT;
	struct cpk_error err;

	if (scp_iu_response_parse(data, size, &iu, &err) != CPK_OK) {
		FUZZ_CHECK(err.status == CPK_ERR_PARSE && err.msg[0] != '\0');
		return 0;
	}
	FUZZ_CHECK(iu.scp == 0x02 || iu.scp == 0x03);
	FUZZ_CHECK(memcmp(iu.kdd, data, SCP_KDD_LEN) == 0 && iu.kvn == data[10] &&
	    iu.scp == data[11]);
	FUZZ_CHECK(scp_iu_response_build(&iu, &out, NULL) == CPK_OK);
	FUZZ_CHECK(out.len == size && memcmp(out.data, data, size) == 0);
	FUZZ_CHECK(scp_iu_response_parse(out.data, out.len, &back, NULL) == CPK_OK);
	FUZZ_CHECK(same_fields(&iu, &back));
	cpk_buf_free(&out);

	begin_host(&iu);
	return 0;
}
