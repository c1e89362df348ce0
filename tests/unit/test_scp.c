/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk unit test: SCP02 and SCP03 sessions, host against card side.
 *
 * For every supported `i` and every security level it allows: open a
 * session, wrap a series of commands (cases 1-4, empty to the largest
 * data), unwrap them on the card side, protect responses and unwrap them on
 * the host side; then alter every byte of four protected commands (empty,
 * mid-size, largest) and of their responses and require the other side to
 * refuse it. Also the error paths of
 * the session API, each with its message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpk_apdu.h"
#include "gp_crypto.h"
#include "scp.h"
#include "testlib.h"

static const uint8_t sd_aid[] = { 0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00 };

/* Deterministic filler so failures reproduce. */
static void
fill(uint8_t *p, size_t n, uint32_t seed)
{
	size_t i;

	for (i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
}

static void
make_keys(enum scp_version v, size_t len, struct scp_keyset *k)
{
	memset(k, 0, sizeof(*k));
	k->alg = v == SCP02 ? GP_KEY_3DES : GP_KEY_AES;
	k->len = len;
	k->kvn = 0x30;
	fill(k->enc, len, 1);
	fill(k->mac, len, 2);
	fill(k->dek, len, 3);
}

struct pair {
	struct scp_session host, card;
	enum scp_version v;
	uint8_t i, level;
};

/* INITIALIZE UPDATE on both sides and EXTERNAL AUTHENTICATE. */
static int
open_pair(struct pair *p, const struct scp_keyset *keys, enum scp_version v, uint8_t i,
    uint8_t level, uint32_t seed)
{
	struct scp_iu_response iu, parsed;
	struct cpk_buf raw = CPK_BUF_INIT, ea = CPK_BUF_INIT;
	struct cpk_error err;
	uint8_t hc[8];
	size_t cl;
	int ok = 0;

	memset(p, 0, sizeof(*p));
	p->v = v;
	p->i = i;
	p->level = level;
	fill(hc, sizeof(hc), seed);
	memset(&iu, 0, sizeof(iu));
	fill(iu.kdd, sizeof(iu.kdd), seed + 1);
	iu.kvn = keys->kvn;
	iu.scp = (uint8_t)v;
	iu.i = v == SCP03 ? i : 0;
	iu.counter_len = v == SCP02 ? 2 : ((i & SCP03_I_PSEUDO) ? 3 : 0);
	iu.counter[iu.counter_len > 0 ? iu.counter_len - 1 : 0] = (uint8_t)(seed & 0x7f);
	iu.challenge_len = v == SCP02 ? 6 : 8;
	if (scp_i_pseudo_random(v, i)) {
		if (!CHECK_OK(scp_pseudo_random_challenge(keys, v, iu.counter, iu.counter_len,
		    sd_aid, sizeof(sd_aid), iu.card_challenge, &cl, &err)))
			goto out;
		CHECK(cl == iu.challenge_len);
	} else {
		fill(iu.card_challenge, iu.challenge_len, seed + 2);
	}
	/* Card side answers. */
	if (!CHECK_OK(scp_session_begin(&p->card, keys, v, i, hc, &iu, &err)))
		goto out;
	memcpy(iu.card_cryptogram, p->card.card_cryptogram, 8);
	if (!CHECK_OK(scp_iu_response_build(&iu, &raw, &err)))
		goto out;
	/* Host side parses, checks, authenticates. */
	if (!CHECK_OK(scp_iu_response_parse(raw.data, raw.len, &parsed, &err)) ||
	    !CHECK_OK(scp_session_begin(&p->host, keys, v, i, hc, &parsed, &err)) ||
	    !CHECK_OK(scp_check_card_cryptogram(&p->host, parsed.card_cryptogram, &err)) ||
	    !CHECK_OK(scp_external_authenticate(&p->host, level, &ea, &err)) ||
	    !CHECK_OK(scp_card_external_authenticate(&p->card, ea.data, ea.len, &err)))
		goto out;
	ok = 1;
out:
	cpk_buf_free(&raw);
	cpk_buf_free(&ea);
	return ok;
}

/*
 * The one byte of a protected command that no C-MAC covers by design: Le.
 * (SCP03 leaves the CLA channel bits out of the MAC too, but the session is
 * bound to its channel, so those flips are refused as well.)
 */
static bool
unprotected_byte(const uint8_t *w, size_t n, size_t idx)
{
	struct cpk_apdu a;

	if (cpk_apdu_parse(w, n, &a, NULL) != CPK_OK)
		return false;
	return a.has_le && idx == n - 1;
}

/*
 * Alter every byte of a protected command (three bit patterns each) and
 * require the card to refuse it, or, for the bytes the protocol leaves
 * unprotected (Le), to recover a different command.
 */
static void
tamper_command(const struct pair *p, const uint8_t *w, size_t n, const uint8_t *plain,
    size_t plainlen)
{
	static const uint8_t masks[] = { 0x01, 0x10, 0x80 };
	struct cpk_buf bad = CPK_BUF_INIT, out = CPK_BUF_INIT;
	struct scp_session card;
	size_t idx, m;
	int refused = 0, total = 0;

	for (idx = 0; idx < n; idx++) {
		for (m = 0; m < sizeof(masks); m++) {
			cpk_status st;

			cpk_buf_set(&bad, w, n, NULL);
			bad.data[idx] ^= masks[m];
			card = p->card;
			cpk_buf_reset(&out);
			st = scp_unwrap_command(&card, bad.data, bad.len, &out, NULL);
			total++;
			if (st != CPK_OK) {
				refused++;
				CHECK(card.state == SCP_STATE_NONE);	/* channel closed */
			} else {
				if (!CHECK(unprotected_byte(w, n, idx)))
					fprintf(stderr, "  SCP%02d i=%02X level %02X: byte %zu ^ %02X of %zu accepted\n",
					    (int)p->v, p->i, p->level, idx, masks[m], n);
				CHECK(out.len != plainlen || memcmp(out.data, plain, plainlen) != 0);
			}
			scp_session_clear(&card);
		}
	}
	/* Only the Le byte (three patterns) may pass the MAC. */
	CHECK(refused > 0 && refused >= total - 3);
	cpk_buf_free(&bad);
	cpk_buf_free(&out);
}

/* Alter every byte of a protected response (with R-MAC) and require the host to refuse it. */
static void
tamper_response(const struct pair *p, const uint8_t *r, size_t n)
{
	struct cpk_buf bad = CPK_BUF_INIT, out = CPK_BUF_INIT;
	struct scp_session host;
	uint16_t sw;
	size_t idx;

	for (idx = 0; idx < n; idx++) {
		cpk_buf_set(&bad, r, n, NULL);
		bad.data[idx] ^= 0x01;
		host = p->host;
		cpk_buf_reset(&out);
		/* A flipped SW may become an unprotected error word: no R-MAC expected. */
		if (idx >= n - 2 && !scp_sw_protected((uint16_t)(bad.data[n - 2] << 8 | bad.data[n - 1])))
			continue;
		CHECK(scp_unwrap_response(&host, bad.data, bad.len, &out, &sw, NULL) == CPK_ERR_VERIFY);
		scp_session_clear(&host);
	}
	cpk_buf_free(&bad);
	cpk_buf_free(&out);
}

static void
exchange(struct pair *p, const uint8_t *cmd, size_t n, const uint8_t *rdata, size_t rlen,
    uint16_t sw, bool tamper)
{
	struct cpk_buf w = CPK_BUF_INIT, plain = CPK_BUF_INIT, resp = CPK_BUF_INIT, back = CPK_BUF_INIT;
	struct cpk_error err;
	uint16_t gotsw = 0;

	if (!CHECK_OK(scp_wrap_command(&p->host, cmd, n, &w, &err)))
		goto out;
	/* Short when the plain command was short and its protection fits. */
	CHECK(w.len <= (n <= 5 + 247 + 1 ? 5 + 255 + 1 : CPK_APDU_MAX_LEN));
	CHECK((w.data[0] & 0x04) != 0);
	if (tamper)
		tamper_command(p, w.data, w.len, cmd, n);
	if (!CHECK_OK(scp_unwrap_command(&p->card, w.data, w.len, &plain, &err)))
		goto out;
	CHECK_MEM(plain.data, plain.len, cmd, n);
	if (!CHECK_OK(scp_wrap_response(&p->card, rdata, rlen, sw, &resp, &err)))
		goto out;
	if ((p->level & SCP_SL_RMAC) && scp_sw_protected(sw)) {
		CHECK(resp.len >= rlen + 8 + 2);
		if (tamper)
			tamper_response(p, resp.data, resp.len);
	} else {
		CHECK(resp.len == rlen + 2);
	}
	if (!CHECK_OK(scp_unwrap_response(&p->host, resp.data, resp.len, &back, &gotsw, &err)))
		goto out;
	CHECK(gotsw == sw);
	CHECK_MEM(back.data, back.len, rdata, rlen);
out:
	cpk_buf_free(&w);
	cpk_buf_free(&plain);
	cpk_buf_free(&resp);
	cpk_buf_free(&back);
}

static void
build_cmd(struct cpk_buf *out, uint8_t ins, size_t lc, bool le, uint32_t seed)
{
	static uint8_t data[CPK_APDU_EXT_MAX_LC];
	struct cpk_apdu a = { .cla = 0x80, .ins = ins, .p1 = 0x00, .p2 = 0x00 };

	fill(data, lc, seed);
	a.data = lc > 0 ? data : NULL;
	a.lc = lc;
	a.has_le = le;
	a.ne = lc > CPK_APDU_SHORT_MAX_LC ? CPK_APDU_EXT_MAX_NE : CPK_APDU_SHORT_MAX_NE;
	cpk_buf_reset(out);
	cpk_apdu_build(&a, out, NULL);
}

static void
run_matrix_cell(enum scp_version v, uint8_t i, uint8_t level, size_t keylen)
{
	const size_t lens[] = {
		0, 1, 15, 16, 17, 100, scp_max_plain_data(v, level, CPK_APDU_SHORT_MAX_LC)
	};
	struct scp_keyset keys;
	struct pair p;
	struct cpk_buf cmd = CPK_BUF_INIT;
	uint8_t rdata[200];
	size_t k, ext_max;

	make_keys(v, keylen, &keys);
	if (!open_pair(&p, &keys, v, i, level, (uint32_t)(i * 7 + level)))
		goto out;
	fill(rdata, sizeof(rdata), 99);
	for (k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		bool le = (k % 2) == 1;
		/* Tamper tests on a few commands keep the run short. */
		bool tamper = k == 0 || k == 3 || k == 6;

		build_cmd(&cmd, (uint8_t)(0xE2 + k), lens[k], le, (uint32_t)k);
		exchange(&p, cmd.data, cmd.len, rdata, k * 20, 0x9000, tamper);
	}
	/*
	 * Extended length: a command just over the short form (tampered: the
	 * C-MAC covers the extended header) and the largest one; the card
	 * recovers the plain command. SCP02 with R-MAC stays short.
	 */
	ext_max = scp_max_plain_data(v, level, CPK_APDU_EXT_MAX_LC);
	if (v == SCP02 && (level & SCP_SL_RMAC)) {
		CHECK(ext_max == scp_max_plain_data(v, level, CPK_APDU_SHORT_MAX_LC));
	} else {
		CHECK(ext_max == ((level & SCP_SL_CDEC) ? 65519u : 65527u));
		build_cmd(&cmd, 0xE8, 300, false, 7);
		exchange(&p, cmd.data, cmd.len, rdata, 0, 0x9000, true);
		build_cmd(&cmd, 0xE8, ext_max, false, 8);
		exchange(&p, cmd.data, cmd.len, rdata, 1, 0x9000, false);
		build_cmd(&cmd, 0xE8, 1000, true, 9);
		exchange(&p, cmd.data, cmd.len, rdata, 2, 0x9000, false);
	}
	/* Warning and error status words. */
	build_cmd(&cmd, 0xCA, 0, true, 1);
	exchange(&p, cmd.data, cmd.len, rdata, 4, 0x6310, false);
	build_cmd(&cmd, 0xE6, 10, false, 2);
	exchange(&p, cmd.data, cmd.len, rdata, 0, 0x6A88, false);
	/* The session keeps working after an error status word. */
	build_cmd(&cmd, 0xF2, 2, true, 3);
	exchange(&p, cmd.data, cmd.len, rdata, 30, 0x9000, true);
out:
	scp_session_clear(&p.host);
	scp_session_clear(&p.card);
	scp_keyset_clear(&keys);
	cpk_buf_free(&cmd);
}

/*
 * Extended Lc in the C-MAC: the header as sent, 84 E8 00 00 00 Lc1 Lc2 with
 * Lc = data + 8, computed here independently of the wrap code.
 */
static void
check_extended_mac(enum scp_version v, uint8_t i)
{
	static uint8_t data[300];
	static const uint8_t hdr[] = { 0x84, 0xE8, 0x00, 0x00, 0x00, 0x01, 0x34 };
	struct scp_keyset keys;
	struct pair p;
	struct cpk_buf cmd = CPK_BUF_INIT, w = CPK_BUF_INIT, in = CPK_BUF_INIT;
	uint8_t chain[16], full[16], icv[8];

	make_keys(v, 16, &keys);
	if (!open_pair(&p, &keys, v, i, 0x01, 5))
		goto out;
	build_cmd(&cmd, 0xE8, sizeof(data), false, 11);
	fill(data, sizeof(data), 11);
	memcpy(chain, p.host.mac_chain, sizeof(chain));
	if (!CHECK_OK(scp_wrap_command(&p.host, cmd.data, cmd.len, &w, NULL)))
		goto out;
	CHECK(w.len == sizeof(hdr) + sizeof(data) + 8);
	CHECK_MEM(w.data, sizeof(hdr), hdr, sizeof(hdr));
	if (v == SCP03) {
		cpk_buf_append(&in, chain, 16, NULL);
	}
	cpk_buf_append(&in, hdr, sizeof(hdr), NULL);
	cpk_buf_append(&in, data, sizeof(data), NULL);
	if (v == SCP03) {
		CHECK_OK(gp_aes_cmac(p.host.s_mac, 16, in.data, in.len, full, NULL));
	} else {
		memcpy(icv, chain, 8);	/* i=05: the previous C-MAC, not encrypted */
		CHECK_OK(gp_retail_mac(p.host.s_mac, icv, in.data, in.len, full, NULL));
	}
	CHECK_MEM(w.data + w.len - 8, 8, full, 8);
	/* The card takes it and recovers the plain (extended) command. */
	cpk_buf_reset(&in);
	CHECK_OK(scp_unwrap_command(&p.card, w.data, w.len, &in, NULL));
	CHECK_MEM(in.data, in.len, cmd.data, cmd.len);
out:
	scp_session_clear(&p.host);
	scp_session_clear(&p.card);
	scp_keyset_clear(&keys);
	cpk_buf_free(&cmd);
	cpk_buf_free(&w);
	cpk_buf_free(&in);
}

static void
test_extended(void)
{
	/* Short limits as before; extended ones per protocol block size. */
	CHECK(scp_max_plain_data(SCP02, 0x03, 255) == 239);
	CHECK(scp_max_plain_data(SCP03, 0x01, 255) == 247);
	CHECK(scp_max_plain_data(SCP02, 0x03, 1010) == 999);	/* 1002 -> 1000 = 125 x 8 */
	CHECK(scp_max_plain_data(SCP03, 0x03, 1010) == 991);	/* 1002 -> 992 = 62 x 16 */
	CHECK(scp_max_plain_data(SCP03, 0x33, 65535) == 65519);
	CHECK(scp_max_plain_data(SCP02, 0x01, 100000) == 65527);
	CHECK(scp_max_plain_data(SCP02, 0x13, 65535) == 239);	/* R-MAC: short */
	CHECK(scp_max_plain_data(SCP03, 0x03, 20) == 0);
	check_extended_mac(SCP03, 0x00);
	check_extended_mac(SCP02, 0x05);
}

static void
test_matrix(void)
{
	static const uint8_t scp02_i[] = { 0x05, 0x15, 0x25, 0x35, 0x45, 0x55, 0x65, 0x75 };
	static const uint8_t scp03_i[] = { 0x00, 0x10, 0x20, 0x30, 0x60, 0x70 };
	static const uint8_t levels[] = { 0x01, 0x03, 0x11, 0x13, 0x33 };
	static const size_t aes_lens[] = { 16, 24, 32 };
	size_t a, b, c;
	int cells = 0;

	for (a = 0; a < sizeof(scp02_i); a++)
		for (b = 0; b < sizeof(levels); b++)
			if (scp_level_allowed(SCP02, scp02_i[a], levels[b], NULL) == CPK_OK) {
				run_matrix_cell(SCP02, scp02_i[a], levels[b], 16);
				cells++;
			}
	for (a = 0; a < sizeof(scp03_i); a++)
		for (b = 0; b < sizeof(levels); b++)
			for (c = 0; c < 3; c++)
				if (scp_level_allowed(SCP03, scp03_i[a], levels[b], NULL) == CPK_OK) {
					run_matrix_cell(SCP03, scp03_i[a], levels[b], aes_lens[c]);
					cells++;
				}
	/* SCP02: 8 i x (01, 03) + 4 R-MAC i x (11, 13); SCP03: 3 lengths x (6x2 + 4x2 + 2x1). */
	CHECK(cells == 8 * 2 + 4 * 2 + 3 * (6 * 2 + 4 * 2 + 2));
}

static void
test_tampered_external_authenticate(void)
{
	struct scp_keyset keys;
	struct scp_iu_response iu;
	struct scp_session host, card, c2;
	struct cpk_buf ea = CPK_BUF_INIT;
	struct cpk_error err;
	uint8_t hc[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	size_t idx, cl;

	make_keys(SCP03, 16, &keys);
	memset(&iu, 0, sizeof(iu));
	iu.scp = 3;
	iu.i = 0x70;
	iu.counter_len = 3;
	iu.challenge_len = 8;
	iu.counter[2] = 5;
	CHECK_OK(scp_pseudo_random_challenge(&keys, SCP03, iu.counter, 3, sd_aid, sizeof(sd_aid),
	    iu.card_challenge, &cl, NULL));
	CHECK_OK(scp_session_begin(&card, &keys, SCP03, 0x70, hc, &iu, NULL));
	CHECK_OK(scp_session_begin(&host, &keys, SCP03, 0x70, hc, &iu, NULL));
	CHECK_OK(scp_external_authenticate(&host, 0x33, &ea, NULL));
	for (idx = 0; idx < ea.len; idx++) {
		ea.data[idx] ^= 0x20;
		c2 = card;
		cpk_error_clear(&err);
		CHECK(scp_card_external_authenticate(&c2, ea.data, ea.len, &err) != CPK_OK);
		CHECK(c2.state == SCP_STATE_NONE);
		ea.data[idx] ^= 0x20;
	}
	/* On another logical channel than INITIALIZE UPDATE's (the C-MAC does not cover it). */
	ea.data[0] |= 0x01;
	c2 = card;
	CHECK_STATUS(scp_card_external_authenticate(&c2, ea.data, ea.len, &err), CPK_ERR_VERIFY);
	CHECK_MSG(&err, "EXTERNAL AUTHENTICATE on logical channel 1, INITIALIZE UPDATE was on 0");
	ea.data[0] &= (uint8_t)~0x01;
	c2 = card;
	CHECK_OK(scp_card_external_authenticate(&c2, ea.data, ea.len, NULL));
	/* A second EXTERNAL AUTHENTICATE is refused once the channel is open. */
	CHECK_STATUS(scp_card_external_authenticate(&c2, ea.data, ea.len, &err), CPK_ERR_STATE);
	CHECK_MSG(&err, "without INITIALIZE UPDATE");
	scp_session_clear(&host);
	scp_session_clear(&card);
	scp_session_clear(&c2);
	scp_keyset_clear(&keys);
	cpk_buf_free(&ea);
}

static void
test_errors(void)
{
	struct scp_keyset keys;
	struct scp_iu_response iu;
	struct scp_session s;
	struct cpk_buf out = CPK_BUF_INIT;
	struct cpk_error err;
	static uint8_t big[65528];
	uint8_t raw[40], hc[8] = { 0 }, chal[8];
	size_t cl;

	memset(raw, 0, sizeof(raw));
	CHECK_STATUS(scp_iu_response_parse(raw, 27, &iu, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "INITIALIZE UPDATE response is 27 bytes");
	raw[11] = 0x03;
	CHECK_STATUS(scp_iu_response_parse(raw, 28, &iu, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "of 28 bytes names SCP 03");
	raw[12] = 0x70;
	CHECK_STATUS(scp_iu_response_parse(raw, 29, &iu, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "i=70 requires a sequence counter");
	raw[12] = 0x00;
	CHECK_STATUS(scp_iu_response_parse(raw, 32, &iu, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "i=00 has no sequence counter (29 bytes)");
	raw[11] = 0x04;
	CHECK_STATUS(scp_iu_response_parse(raw, 29, &iu, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "names SCP 04");

	CHECK_STATUS(scp_i_supported(SCP02, 0x1A, &err), CPK_ERR_UNSUPPORTED);
	CHECK_MSG(&err, "SCP02 i=1A is not supported");
	CHECK_STATUS(scp_i_supported(SCP03, 0x40, &err), CPK_ERR_UNSUPPORTED);
	CHECK_MSG(&err, "SCP03 i=40 is not supported");
	CHECK_STATUS(scp_level_allowed(SCP02, 0x55, 0x11, &err), CPK_ERR_UNSUPPORTED);
	CHECK_MSG(&err, "asks for R-MAC but SCP02 i=55 does not support it");
	CHECK_STATUS(scp_level_allowed(SCP03, 0x30, 0x33, &err), CPK_ERR_UNSUPPORTED);
	CHECK_MSG(&err, "asks for R-ENC but SCP03 i=30");
	CHECK_STATUS(scp_level_allowed(SCP03, 0x70, 0x07, &err), CPK_ERR_UNSUPPORTED);
	CHECK_MSG(&err, "security level 07 is not supported");
	CHECK(scp_max_plain_data(SCP02, 0x01, CPK_APDU_SHORT_MAX_LC) == 247);
	CHECK(scp_max_plain_data(SCP02, 0x03, CPK_APDU_SHORT_MAX_LC) == 239);
	CHECK(scp_max_plain_data(SCP03, 0x01, CPK_APDU_SHORT_MAX_LC) == 247);
	CHECK(scp_max_plain_data(SCP03, 0x33, CPK_APDU_SHORT_MAX_LC) == 239);
	/* The arithmetic per cipher block: 8 (DES) and 16 (AES) bytes. */
	CHECK(scp_max_plain_data(SCP02, 0x03, 8 + 17) == 15);
	CHECK(scp_max_plain_data(SCP03, 0x03, 8 + 17) == 15);
	CHECK(scp_max_plain_data(SCP02, 0x03, 8 + 33) == 31);
	CHECK(scp_max_plain_data(SCP03, 0x03, 8 + 31) == 15);
	CHECK(scp_max_plain_data(SCP02, 0x03, 8 + 31) == 23);
	CHECK(scp_max_plain_data(SCP03, 0x03, 8 + 15) == 0);
	CHECK(scp_max_plain_data((enum scp_version)0x11, 0x01, CPK_APDU_SHORT_MAX_LC) == 0);

	/* Wrong key algorithm for the protocol. */
	make_keys(SCP03, 16, &keys);
	memset(&iu, 0, sizeof(iu));
	iu.scp = 2;
	iu.counter_len = 2;
	iu.challenge_len = 6;
	CHECK_STATUS(scp_session_begin(&s, &keys, SCP02, 0x15, hc, &iu, &err), CPK_ERR_ARG);
	CHECK_MSG(&err, "SCP02 needs a 16-byte 3DES key set");
	iu.scp = 3;
	CHECK_STATUS(scp_session_begin(&s, &keys, SCP02, 0x15, hc, &iu, &err), CPK_ERR_VERIFY);
	CHECK_MSG(&err, "the card answered for SCP03, but the session is SCP02");
	iu.i = 0x30;
	iu.counter_len = 3;
	iu.challenge_len = 8;
	CHECK_STATUS(scp_session_begin(&s, &keys, SCP03, 0x70, hc, &iu, &err), CPK_ERR_VERIFY);
	CHECK_MSG(&err, "the card uses SCP03 i=30, but the session expects i=70");
	CHECK_OK(scp_session_begin(&s, &keys, SCP03, 0x30, hc, &iu, &err));

	/* Card cryptogram mismatch names the likely causes. */
	memset(chal, 0, sizeof(chal));
	CHECK_STATUS(scp_check_card_cryptogram(&s, chal, &err), CPK_ERR_VERIFY);
	CHECK_MSG(&err, "card cryptogram mismatch");
	CHECK_MSG(&err, "diversification");

	/* Wrapping before EXTERNAL AUTHENTICATE. */
	CHECK_STATUS(scp_wrap_command(&s, (const uint8_t *)"\x80\xF2\x80\x00", 4, &out, &err),
	    CPK_ERR_STATE);
	CHECK_MSG(&err, "the secure channel is not open");
	CHECK_OK(scp_external_authenticate(&s, 0x11, &out, &err));
	cpk_buf_reset(&out);
	/* Too much data for the channel (even in an extended APDU). */
	{
		struct cpk_apdu a = { .cla = 0x80, .ins = 0xE8, .data = big, .lc = 65528 };

		memset(big, 0xAB, sizeof(big));
		cpk_apdu_build(&a, &out, NULL);
		CHECK_STATUS(scp_wrap_command(&s, out.data, out.len, &out, &err), CPK_ERR_RANGE);
		CHECK_MSG(&err, "command data of 65528 bytes does not fit the secure channel "
		    "(at most 65527 at security level 11)");
		cpk_buf_reset(&out);
	}
	CHECK_STATUS(scp_wrap_command(&s, (const uint8_t *)"\x84\xF2\x80\x00", 4, &out, &err),
	    CPK_ERR_ARG);
	CHECK_MSG(&err, "already marks secure messaging");
	CHECK_STATUS(scp_wrap_command(&s, (const uint8_t *)"\xC0\xF2\x80\x00", 4, &out, &err),
	    CPK_ERR_UNSUPPORTED);
	CHECK_MSG(&err, "logical channels 0-3 only");
	CHECK_STATUS(scp_wrap_command(&s, (const uint8_t *)"\x81\xF2\x80\x00", 4, &out, &err),
	    CPK_ERR_VERIFY);
	CHECK_MSG(&err, "CLA 81 is for logical channel 1, but the secure channel is on channel 0");
	/* A response too short to hold its R-MAC. */
	CHECK_STATUS(scp_unwrap_response(&s, (const uint8_t *)"\x01\x02\x90\x00", 4, &out,
	    &(uint16_t){ 0 }, &err), CPK_ERR_VERIFY);
	CHECK_MSG(&err, "too short to carry its R-MAC");

	/* Key encryption limits. */
	CHECK_STATUS(scp_encrypt_key(&s, big, 24, big, &err), CPK_ERR_UNSUPPORTED);
	CHECK_MSG(&err, "24-byte key is not supported");
	scp_session_clear(&s);
	CHECK_STATUS(scp_encrypt_key(&s, big, 16, big, &err), CPK_ERR_STATE);

	/* Pseudo-random challenge arguments. */
	CHECK_STATUS(scp_pseudo_random_challenge(&keys, SCP03, hc, 3, sd_aid, 4, chal, &cl, &err),
	    CPK_ERR_ARG);
	CHECK_MSG(&err, "security domain AID of 4 bytes");
	scp_keyset_clear(&keys);
	cpk_buf_free(&out);
}

static void
test_crypto_errors(void)
{
	struct cpk_buf b = CPK_BUF_INIT;
	struct cpk_error err;
	enum gp_diversification d;
	uint8_t key[32], out[32], kdd[10] = { 0 };
	size_t n;

	memset(key, 0x40, sizeof(key));
	CHECK_STATUS(gp_diversification_parse("visa", &d, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "unknown diversification 'visa' (expected none, emv, visa2 or kdf3)");
	CHECK_OK(gp_diversification_parse("kdf3", &d, &err));
	CHECK(d == GP_DIV_KDF3);
	CHECK_STR(gp_diversification_name(GP_DIV_VISA2), "visa2");
	CHECK_STATUS(gp_diversify_key(GP_DIV_EMV, key, 24, kdd, GP_KEY_ENC, out, &err), CPK_ERR_ARG);
	CHECK_MSG(&err, "emv diversification needs a 16-byte 3DES master key, not 24 bytes");
	CHECK_STATUS(gp_diversify_key(GP_DIV_KDF3, key, 20, kdd, GP_KEY_MAC, out, &err), CPK_ERR_ARG);
	CHECK_MSG(&err, "kdf3 diversification needs an AES master key, not 20 bytes");
	CHECK_STATUS(gp_diversify_key(GP_DIV_KDF3, key, 16, kdd, (enum gp_key_type)9, out, &err),
	    CPK_ERR_ARG);
	CHECK_MSG(&err, "unknown key type 9");
	CHECK_STATUS(gp_kcv(GP_KEY_3DES, key, 8, out, &err), CPK_ERR_ARG);
	CHECK_MSG(&err, "key of 8 bytes for check value");
	CHECK_STATUS(gp_aes_cmac(key, 17, key, 4, out, &err), CPK_ERR_ARG);
	CHECK_MSG(&err, "AES key of 17 bytes");
	CHECK_STATUS(gp_aes_ecb(1, key, 16, key, 15, out, &err), CPK_ERR_ARG);
	CHECK_MSG(&err, "not a whole number of 16-byte blocks");
	CHECK_STATUS(gp_des3_ecb(1, key, 8, key, 8, out, &err), CPK_ERR_ARG);
	CHECK_MSG(&err, "invalid key length for cipher");
	CHECK_STATUS(gp_scp03_kdf(key, 16, 0x04, 12, key, 8, out, &err), CPK_ERR_ARG);
	CHECK_MSG(&err, "KDF output of 12 bits");
	CHECK_STATUS(gp_scp03_kdf(key, 16, 0x04, 128, key, 65, out, &err), CPK_ERR_ARG);
	CHECK_MSG(&err, "KDF context of 65 bytes");
	/* Padding. */
	CHECK_OK(gp_pad80(&b, key, 16, 16, &err));
	CHECK(b.len == 32 && b.data[16] == 0x80 && b.data[31] == 0x00);
	CHECK_OK(gp_unpad80(b.data, b.len, 16, &n, &err));
	CHECK(n == 16);
	b.data[16] = 0x81;
	CHECK_STATUS(gp_unpad80(b.data, b.len, 16, &n, &err), CPK_ERR_VERIFY);
	CHECK_MSG(&err, "padding 80 00.. missing or malformed");
	CHECK_STATUS(gp_unpad80(b.data, 31, 16, &n, &err), CPK_ERR_VERIFY);
	CHECK_MSG(&err, "not a whole number of blocks");
	/* 80 further back than one block is not padding. */
	memset(b.data, 0, b.len);
	b.data[0] = 0x80;
	CHECK_STATUS(gp_unpad80(b.data, 32, 16, &n, &err), CPK_ERR_VERIFY);
	CHECK_STATUS(gp_pad80(&b, key, 1, 0, &err), CPK_ERR_ARG);
	/* Single DES through 3DES equals the retail MAC's first stage: a known value. */
	{
		/* FIPS 81 / classic DES test: key 0123456789ABCDEF, "Now is t" -> 3FA40E8A984D4815 */
		static const uint8_t k[8] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF };
		static const uint8_t pt[8] = { 'N', 'o', 'w', ' ', 'i', 's', ' ', 't' };

		CHECK_OK(gp_des_ecb_block(k, pt, out, &err));
		CHECK_HEX(out, 8, "3FA40E8A984D4815");
	}
	/* Random bytes differ between calls. */
	CHECK_OK(gp_random(out, 16, &err));
	CHECK_OK(gp_random(key, 16, &err));
	CHECK(memcmp(out, key, 16) != 0);
	cpk_buf_free(&b);
}

/*
 * The table: every keyless row (common/scp_proto.c) has its protocol file's
 * operations and back, the numbers profiles write name the rows in order,
 * and the layouts give the INITIALIZE UPDATE lengths GlobalPlatform defines.
 */
static void
test_table(void)
{
	const struct scp_proto *p;
	const struct scp_ops *ops;
	static const uint8_t aid[] = { 0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00 };
	uint8_t ctr[3] = { 0x00, 0x00, 0x2A }, chal[SCP_CHALLENGE_LEN];
	struct scp_keyset keys;
	struct cpk_error err;
	char text[64];
	size_t k, chal_len;
	unsigned v;

	for (k = 0; (p = scp_proto_at(k)) != NULL; k++) {
		ops = scp_ops_find(p->id);
		CHECK(ops != NULL && ops->proto == p && scp_proto_find(p->id) == p);
		CHECK(scp_proto_numbers[k] != NULL &&
		    sscanf(scp_proto_numbers[k], "%2x", &v) == 1 && v == p->id);
		CHECK(p->counter_len <= SCP_PROTO_COUNTER_MAX &&
		    p->challenge_len <= SCP_CHALLENGE_LEN);
		CHECK(ops != NULL && ops->wrap != NULL && ops->unwrap != NULL &&
		    ops->rmac != NULL && ops->derive != NULL && ops->challenge != NULL && ops->max_plain_data != NULL &&
		    ops->encrypt_key != NULL && ops->decrypt_key != NULL &&
		    ops->encrypt_data != NULL && ops->keys_fit != NULL &&
		    ops->put_key_check != NULL && (ops->renc != NULL) == scp_proto_has_renc(p));
	}
	CHECK(k == 2 && scp_proto_numbers[k] == NULL);
	for (v = 0; v < 256; v++)
		CHECK((scp_ops_find((uint8_t)v) != NULL) == (scp_proto_find((uint8_t)v) != NULL));
	scp_proto_list_text(text, sizeof(text));
	CHECK(strcmp(text, "02 or 03") == 0);
	CHECK(scp_proto_iu_len(scp_proto_find(0x02), 0x55) == 28);
	CHECK(scp_proto_iu_len(scp_proto_find(0x03), 0x60) == 29);
	CHECK(scp_proto_iu_len(scp_proto_find(0x03), 0x70) == 32);
	CHECK(!scp_proto_has_renc(scp_proto_find(0x02)));
	CHECK(scp_proto_find(0x11) == NULL && scp_ops_find(0x11) == NULL);

	/* A protocol cpk does not implement. */
	CHECK_STATUS(scp_i_supported((enum scp_version)0x11, 0x00, &err), CPK_ERR_UNSUPPORTED);
	CHECK_MSG(&err, "secure channel protocol 17");
	CHECK_STATUS(scp_level_allowed((enum scp_version)0x11, 0x00, 0x01, &err),
	    CPK_ERR_UNSUPPORTED);
	CHECK_MSG(&err, "secure channel protocol 17");
	CHECK(!scp_i_pseudo_random((enum scp_version)0x11, 0x10));

	/* The challenge asks the row for the counter's length and the entry for the keys. */
	make_keys(SCP03, 16, &keys);
	CHECK_STATUS(scp_pseudo_random_challenge(&keys, SCP03, ctr, 2, aid, sizeof(aid), chal,
	    &chal_len, &err), CPK_ERR_ARG);
	CHECK_MSG(&err, "SCP03 challenge needs a 3-byte counter and an AES-128, -192 or -256 "
	    "key set");
	CHECK_STATUS(scp_pseudo_random_challenge(&keys, SCP02, ctr, 2, aid, sizeof(aid), chal,
	    &chal_len, &err), CPK_ERR_ARG);
	CHECK_MSG(&err, "SCP02 challenge needs a 2-byte counter and a 16-byte 3DES key set");
	CHECK_STATUS(scp_pseudo_random_challenge(&keys, (enum scp_version)0x11, ctr, 3, aid,
	    sizeof(aid), chal, &chal_len, &err), CPK_ERR_UNSUPPORTED);
	CHECK_MSG(&err, "secure channel protocol 17");
	CHECK_OK(scp_pseudo_random_challenge(&keys, SCP03, ctr, 3, aid, sizeof(aid), chal,
	    &chal_len, &err));
	CHECK(chal_len == 8);
	scp_keyset_clear(&keys);
}

int
main(void)
{
	test_table();
	test_crypto_errors();
	test_errors();
	test_tampered_external_authenticate();
	test_matrix();
	test_extended();
	return test_summary("scp");
}
