/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzz target: a card's response as the host side of a secure channel
 * receives it, scp_unwrap_response (compiler/scp.h).
 *
 * Byte 0 selects the session configuration and the exchange (scp_pair.h);
 * the rest is the response (data, R-MAC, SW1 SW2) to that exchange's
 * command. The host and card sessions are opened with fixed test keys, so
 * the card's state is known. Nothing may crash, and:
 * - the card's genuine response is accepted, giving its data and SW;
 * - an accepted response whose SW the security level protects is exactly
 *   what the card, in the state the command left it in, sends for that
 *   data and SW; anything else would be an R-MAC forgery, reported as a
 *   crash;
 * - a response the level does not protect is passed on unchanged;
 * - a refused response gives no data.
 */
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "scp_pair.h"

/* Sessions are opened once per configuration and exchange, then copied. */
static struct fuzz_scp_run runs[FUZZ_SCP_NCONFIGS][FUZZ_SCP_NEXCHANGES];
static bool built[FUZZ_SCP_NCONFIGS][FUZZ_SCP_NEXCHANGES];

static const struct fuzz_scp_run *
get_run(unsigned cfg, unsigned ex)
{
	if (!built[cfg][ex]) {
		FUZZ_CHECK(fuzz_scp_run(cfg, ex, &runs[cfg][ex]) == 0);
		built[cfg][ex] = true;
	}
	return &runs[cfg][ex];
}

static bool
same_bytes(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

/* Would the card, after this exchange's command, send resp for (data, sw)? */
static bool
card_would_send(const struct fuzz_scp_run *r, const struct cpk_buf *data, uint16_t sw,
    const uint8_t *resp, size_t n)
{
	struct scp_session card = r->card_pending;
	struct cpk_buf again = CPK_BUF_INIT;
	bool same;

	same = scp_wrap_response(&card, data->data, data->len, sw, &again, NULL) == CPK_OK &&
	    same_bytes(again.data, again.len, resp, n);
	scp_session_clear(&card);
	cpk_buf_free(&again);
	return same;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct fuzz_scp_run *r;
	struct scp_session host;
	struct cpk_buf out = CPK_BUF_INIT;
	struct cpk_error err;
	const uint8_t *resp;
	unsigned cfg, ex;
	uint16_t sw = 0;
	size_t n;
	bool genuine, protected;
	cpk_status st;

	if (size < 1)
		return 0;
	cfg = (data[0] & 0x0Fu) % FUZZ_SCP_NCONFIGS;
	ex = (unsigned)(data[0] >> 4) % FUZZ_SCP_NEXCHANGES;
	r = get_run(cfg, ex);
	resp = data + 1;
	n = size - 1;

	host = r->host_pending;
	st = scp_unwrap_response(&host, resp, n, &out, &sw, &err);
	genuine = same_bytes(resp, n, r->response.data, r->response.len);
	if (genuine)
		FUZZ_CHECK(st == CPK_OK && sw == r->sw &&
		    same_bytes(out.data, out.len, r->data.data, r->data.len));
	if (st == CPK_OK) {
		FUZZ_CHECK(n >= 2 && sw == (uint16_t)(resp[n - 2] << 8 | resp[n - 1]));
		protected = (fuzz_scp_configs[cfg].level & SCP_SL_RMAC) && scp_sw_protected(sw);
		/* The R-MAC check: only what the card itself sends gets through. */
		if (protected)
			FUZZ_CHECK(card_would_send(r, &out, sw, resp, n));
		else
			FUZZ_CHECK(same_bytes(out.data, out.len, resp, n - 2));
	} else {
		FUZZ_CHECK(out.len == 0 && err.status == st && err.msg[0] != '\0');
	}
	scp_session_clear(&host);
	cpk_buf_free(&out);
	return 0;
}
