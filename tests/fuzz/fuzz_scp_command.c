/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzz target: commands as the card side of a secure channel receives them,
 * scp_card_external_authenticate and scp_unwrap_command (compiler/scp.h),
 * which the card simulator runs on everything a host sends.
 *
 * Byte 0 selects the session configuration (low nibble) and what the rest
 * of the input is (high nibble, scp_pair.h): 0, the EXTERNAL AUTHENTICATE
 * for a card session after INITIALIZE UPDATE; n > 0, the protected command
 * of exchange n - 1 for an open card session. The sessions are opened with
 * fixed test keys, so the host's state is known. Nothing may crash, and:
 * - the host's genuine command is accepted (and unwraps to its plain
 *   command);
 * - an accepted EXTERNAL AUTHENTICATE is exactly what the host, after
 *   INITIALIZE UPDATE, sends for the security level in its P1, except for
 *   what the protocol leaves unprotected: the logical channel bits of the
 *   CLA in SCP03;
 * - an accepted protected command is exactly what the host, with the
 *   channel open, sends for the plain command it unwraps to, except for the
 *   Le byte (present or not, any value), which no C-MAC covers;
 * - anything else accepted would be a C-MAC forgery, reported as a crash;
 * - a refused command closes the session, its keys cleansed, and gives no
 *   data.
 *
 * It writes SCP02's and SCP03's numbers down itself (key algorithm, counter
 * and challenge lengths, i values) instead of asking the secure channel
 * table, on purpose: as an independent oracle, a wrong table row fails here
 * rather than agreeing with itself (docs/ADDING-A-SECURE-CHANNEL.md).
 */
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "scp_pair.h"

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

/* After a refusal the card has no session and no longer holds its keys. */
static void
check_closed(const struct scp_session *s, const struct scp_session *before)
{
	FUZZ_CHECK(s->state == SCP_STATE_NONE);
	FUZZ_CHECK(memcmp(s->s_enc, before->s_enc, before->key_len) != 0);
	FUZZ_CHECK(memcmp(s->s_mac, before->s_mac, before->key_len) != 0);
	FUZZ_CHECK(memcmp(s->s_rmac, before->s_rmac, before->key_len) != 0);
	FUZZ_CHECK(memcmp(s->dek.value, before->dek.value, before->key_len) != 0);
}

/*
 * Would the host, after INITIALIZE UPDATE, send in[] as EXTERNAL
 * AUTHENTICATE for the level in its P1? SCP03 leaves the CLA's logical
 * channel bits out of the C-MAC, so they are not compared there.
 */
static bool
host_would_authenticate(unsigned cfg, const struct fuzz_scp_run *r, const uint8_t *in,
    size_t n)
{
	struct scp_session host = r->host_initialized;
	struct cpk_buf again = CPK_BUF_INIT;
	uint8_t chan_mask = fuzz_scp_configs[cfg].v == SCP03 ? 0xFC : 0xFF;
	bool same;

	same = n >= 5 && scp_external_authenticate(&host, in[2], &again, NULL) == CPK_OK &&
	    again.len == n && (again.data[0] & chan_mask) == (in[0] & chan_mask) &&
	    memcmp(again.data + 1, in + 1, n - 1) == 0;
	scp_session_clear(&host);
	cpk_buf_free(&again);
	return same;
}

static void
external_authenticate(unsigned cfg, const uint8_t *in, size_t n)
{
	const struct fuzz_scp_run *r = get_run(cfg, 0);
	const struct cpk_buf *ea = &r->ea;
	struct scp_session card = r->card_initialized;
	struct cpk_error err;
	cpk_status st;

	st = scp_card_external_authenticate(&card, in, n, &err);
	if (n == ea->len && memcmp(in, ea->data, n) == 0)
		FUZZ_CHECK(st == CPK_OK);
	if (st == CPK_OK) {
		FUZZ_CHECK(host_would_authenticate(cfg, r, in, n));
		FUZZ_CHECK(card.state == SCP_STATE_OPEN && card.channel == (in[0] & 0x03) &&
		    card.level == in[2]);
	} else {
		FUZZ_CHECK(err.status == st && err.msg[0] != '\0');
		check_closed(&card, &r->card_initialized);
	}
	scp_session_clear(&card);
}

/* Bytes of a command without its Le (CLA INS P1 P2 [Lc data]). */
static size_t
length_without_le(const struct cpk_buf *cmd)
{
	struct cpk_apdu a;

	FUZZ_CHECK(cpk_apdu_parse(cmd->data, cmd->len, &a, NULL) == CPK_OK && !a.extended);
	return 4 + (a.lc > 0 ? 1 + a.lc : 0);
}

/*
 * Would the host, with the channel open, send in[0..core) for this plain
 * command? (The Le byte is left out: the host always asks for 00.)
 */
static bool
host_would_send(const struct fuzz_scp_run *r, const struct cpk_buf *plain, const uint8_t *in,
    size_t core)
{
	struct scp_session host = r->host_open;
	struct cpk_buf again = CPK_BUF_INIT;
	bool same;

	same = scp_wrap_command(&host, plain->data, plain->len, &again, NULL) == CPK_OK &&
	    length_without_le(&again) == core && memcmp(again.data, in, core) == 0;
	scp_session_clear(&host);
	cpk_buf_free(&again);
	return same;
}

static void
unwrap_command(unsigned cfg, unsigned ex, const uint8_t *in, size_t n)
{
	const struct fuzz_scp_run *r = get_run(cfg, ex);
	const struct cpk_buf *w = &r->wrapped, *plain = &r->plain;
	struct scp_session card = r->card_open;
	struct cpk_buf out = CPK_BUF_INIT;
	struct cpk_error err;
	struct cpk_apdu a, p;
	size_t core;
	cpk_status st;

	st = scp_unwrap_command(&card, in, n, &out, &err);
	if (n == w->len && memcmp(in, w->data, n) == 0)
		FUZZ_CHECK(st == CPK_OK && out.len == plain->len &&
		    memcmp(out.data, plain->data, plain->len) == 0);
	if (st == CPK_OK) {
		FUZZ_CHECK(cpk_apdu_parse(in, n, &a, NULL) == CPK_OK &&
		    cpk_apdu_parse(out.data, out.len, &p, NULL) == CPK_OK);
		/* The Le, if any, passes through as it came. */
		FUZZ_CHECK(p.has_le == a.has_le && p.ne == a.ne);
		core = n - (a.has_le ? 1 : 0);
		FUZZ_CHECK(host_would_send(r, &out, in, core));
		FUZZ_CHECK(card.state == SCP_STATE_OPEN);
	} else {
		FUZZ_CHECK(out.len == 0 && err.status == st && err.msg[0] != '\0');
		check_closed(&card, &r->card_open);
	}
	scp_session_clear(&card);
	cpk_buf_free(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned cfg, sel;

	if (size < 1)
		return 0;
	cfg = (data[0] & 0x0Fu) % FUZZ_SCP_NCONFIGS;
	sel = data[0] >> 4;
	if (sel == 0)
		external_authenticate(cfg, data + 1, size - 1);
	else
		unwrap_command(cfg, (sel - 1) % FUZZ_SCP_NEXCHANGES, data + 1, size - 1);
	return 0;
}
