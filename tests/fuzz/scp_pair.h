/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk fuzz: a host and a card secure channel session with fixed test keys,
 * for the secure channel targets and the generator of their seeds.
 *
 * Everything is deterministic (keys, challenges, counters, commands,
 * responses), so the genuine bytes one side sends are the same in every
 * run: the committed seeds hold them, and scp_seeds checks that they
 * still match.
 *
 * The first input byte of the secure channel targets selects a session
 * configuration (low nibble, modulo FUZZ_SCP_NCONFIGS) and an exchange
 * (high nibble); the rest of the input is what the other side sent.
 *
 * Functions here are static inline so that each target keeps a single
 * external symbol.
 *
 * It writes SCP02's and SCP03's numbers down itself (key algorithm, counter
 * and challenge lengths, i values) instead of asking the secure channel
 * table, on purpose: as an independent oracle, a wrong table row fails here
 * rather than agreeing with itself (docs/ADDING-A-SECURE-CHANNEL.md).
 */
#ifndef CPK_FUZZ_SCP_PAIR_H
#define CPK_FUZZ_SCP_PAIR_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "cpk_apdu.h"
#include "cpk_bytes.h"
#include "gp_crypto.h"
#include "scp.h"

struct fuzz_scp_config {
	enum scp_version v;
	size_t key_len;
	uint8_t i;
	uint8_t level;
};

/* Every level with and without R-MAC and R-ENC, and every key size. */
static const struct fuzz_scp_config fuzz_scp_configs[] = {
	{ SCP03, 16, 0x70, 0x33 },	/* R-MAC + R-ENC, pseudo-random challenge */
	{ SCP03, 32, 0x30, 0x13 },	/* R-MAC, AES-256 */
	{ SCP03, 24, 0x60, 0x33 },	/* R-MAC + R-ENC, random challenge, AES-192 */
	{ SCP03, 16, 0x10, 0x03 },	/* C-DEC, no response protection */
	{ SCP03, 16, 0x00, 0x01 },	/* C-MAC only */
	{ SCP02, 16, 0x75, 0x13 },	/* R-MAC, ICV encryption, pseudo-random */
	{ SCP02, 16, 0x35, 0x11 },	/* R-MAC, ICV encryption */
	{ SCP02, 16, 0x55, 0x03 },	/* C-DEC, no response protection */
	{ SCP02, 16, 0x15, 0x01 },	/* C-MAC only */
};
#define FUZZ_SCP_NCONFIGS (sizeof(fuzz_scp_configs) / sizeof(fuzz_scp_configs[0]))

/* One command and the card's answer to it. */
struct fuzz_scp_exchange {
	const char *command;	/* plain command APDU, hex */
	size_t fill;		/* then this many filler data bytes (counted in Lc) */
	const char *response;	/* response data, hex */
	uint16_t sw;
};

#define FUZZ_E3_ISD "E3134F08A0000001510000009F700107C5039E8000"
#define FUZZ_E3_APP "E31C4F07D27600008501019F700107C503000000CC08A000000151000000"
#define FUZZ_CARD_DATA "664C734A06072A864886FC6B01600C060A2A864886FC6B0202020163" \
	"0906072A864886FC6B03640B06092A864886FC6B040255650B06092B85108648640201" \
	"03660C060A2B060104012A026E0102"
#define FUZZ_CPLC "9F7F2A" \
	"479050514791719010014812000012345678000000" \
	"000000000000000000000000000000000000000000"

static const struct fuzz_scp_exchange fuzz_scp_exchanges[] = {
	/* GET STATUS (ISD): case 4, a TLV answer. */
	{ "80F28002024F0000", 0, FUZZ_E3_ISD, 0x9000 },
	/* GET DATA card data: case 2, the longest answer (78 bytes). */
	{ "80CA006600", 0, FUZZ_CARD_DATA, 0x9000 },
	/* GET STATUS (applications): a warning is protected too. */
	{ "80F24002024F0000", 0, FUZZ_E3_APP, 0x6310 },
	/* DELETE: case 3, no answer data. */
	{ "80E400000A4F08A000000151000001", 0, "", 0x9000 },
	/* GET STATUS (load files) refused: an error word is never protected. */
	{ "80F21002024F0000", 0, "", 0x6A88 },
	/* LOAD: case 3, the largest block that fits with C-DEC. */
	{ "80E80000C8", 200, "00", 0x9000 },
	/* GET DATA CPLC: two-byte tag. */
	{ "80CA9F7F00", 0, FUZZ_CPLC, 0x9000 },
};
#define FUZZ_SCP_NEXCHANGES (sizeof(fuzz_scp_exchanges) / sizeof(fuzz_scp_exchanges[0]))

static const uint8_t fuzz_scp_sd_aid[] = { 0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00 };
static const uint8_t fuzz_scp_host_challenge[SCP_CHALLENGE_LEN] = {
	0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
};

/* A pair after one exchange, and the bytes each side sent. */
struct fuzz_scp_run {
	struct scp_session card_initialized;	/* card before EXTERNAL AUTHENTICATE */
	struct scp_session card_open;		/* card after it, before the command */
	struct scp_session card_pending;	/* card after the command, before its response */
	struct scp_session host_initialized;	/* host before EXTERNAL AUTHENTICATE */
	struct scp_session host_open;		/* host after EXTERNAL AUTHENTICATE */
	struct scp_session host_pending;	/* host after wrapping, before the response */
	struct cpk_buf ea;			/* EXTERNAL AUTHENTICATE as sent */
	struct cpk_buf plain;			/* the plain command */
	struct cpk_buf wrapped;			/* the command as sent */
	struct cpk_buf data;			/* the card's plain response data */
	struct cpk_buf response;		/* the response as sent (data' R-MAC SW) */
	uint16_t sw;
};

static inline void
fuzz_scp_run_free(struct fuzz_scp_run *r)
{
	scp_session_clear(&r->card_initialized);
	scp_session_clear(&r->card_open);
	scp_session_clear(&r->card_pending);
	scp_session_clear(&r->host_initialized);
	scp_session_clear(&r->host_open);
	scp_session_clear(&r->host_pending);
	cpk_buf_free(&r->ea);
	cpk_buf_free(&r->plain);
	cpk_buf_free(&r->wrapped);
	cpk_buf_free(&r->data);
	cpk_buf_free(&r->response);
}

static inline void
fuzz_scp_keys(const struct fuzz_scp_config *cfg, struct scp_keyset *k)
{
	size_t j;

	memset(k, 0, sizeof(*k));
	k->alg = cfg->v == SCP02 ? GP_KEY_3DES : GP_KEY_AES;
	k->len = cfg->key_len;
	k->kvn = 0x30;
	for (j = 0; j < cfg->key_len; j++) {
		k->enc[j] = (uint8_t)(0x40 + j);
		k->mac[j] = (uint8_t)(0x60 + j);
		k->dek[j] = (uint8_t)(0x80 + j);
	}
}

/* The card's INITIALIZE UPDATE fields, before its cryptogram is known. */
static inline int
fuzz_scp_iu(const struct fuzz_scp_config *cfg, const struct scp_keyset *keys,
    struct scp_iu_response *iu)
{
	size_t j, cl;

	memset(iu, 0, sizeof(*iu));
	for (j = 0; j < SCP_KDD_LEN; j++)
		iu->kdd[j] = (uint8_t)j;
	iu->kvn = keys->kvn;
	iu->scp = (uint8_t)cfg->v;
	iu->i = cfg->v == SCP03 ? cfg->i : 0;
	iu->counter_len = cfg->v == SCP02 ? 2 : ((cfg->i & SCP03_I_PSEUDO) ? 3 : 0);
	if (iu->counter_len > 0)
		iu->counter[iu->counter_len - 1] = 0x2A;
	iu->challenge_len = cfg->v == SCP02 ? 6 : 8;
	if (!scp_i_pseudo_random(cfg->v, cfg->i)) {
		for (j = 0; j < iu->challenge_len; j++)
			iu->card_challenge[j] = (uint8_t)(0xC0 + j);
		return 0;
	}
	if (scp_pseudo_random_challenge(keys, cfg->v, iu->counter, iu->counter_len,
	    fuzz_scp_sd_aid, sizeof(fuzz_scp_sd_aid), iu->card_challenge, &cl, NULL) != CPK_OK ||
	    cl != iu->challenge_len)
		return -1;
	return 0;
}

/* Open the pair (INITIALIZE UPDATE, EXTERNAL AUTHENTICATE) on fresh sessions. */
static inline int
fuzz_scp_open(const struct fuzz_scp_config *cfg, struct scp_session *host,
    struct scp_session *card, struct fuzz_scp_run *r)
{
	struct scp_keyset keys;
	struct scp_iu_response iu, parsed;
	struct cpk_buf raw = CPK_BUF_INIT;
	int ret = -1;

	fuzz_scp_keys(cfg, &keys);
	if (fuzz_scp_iu(cfg, &keys, &iu) != 0 ||
	    scp_session_begin(card, &keys, cfg->v, cfg->i, fuzz_scp_host_challenge, &iu,
	    NULL) != CPK_OK)
		goto out;
	memcpy(iu.card_cryptogram, card->card_cryptogram, 8);
	if (scp_iu_response_build(&iu, &raw, NULL) != CPK_OK ||
	    scp_iu_response_parse(raw.data, raw.len, &parsed, NULL) != CPK_OK ||
	    scp_session_begin(host, &keys, cfg->v, cfg->i, fuzz_scp_host_challenge, &parsed,
	    NULL) != CPK_OK ||
	    scp_check_card_cryptogram(host, parsed.card_cryptogram, NULL) != CPK_OK)
		goto out;
	r->host_initialized = *host;
	if (scp_external_authenticate(host, cfg->level, &r->ea, NULL) != CPK_OK)
		goto out;
	r->card_initialized = *card;
	if (scp_card_external_authenticate(card, r->ea.data, r->ea.len, NULL) != CPK_OK)
		goto out;
	r->card_open = *card;
	ret = 0;
out:
	scp_keyset_clear(&keys);
	cpk_buf_free(&raw);
	return ret;
}

/*
 * Run exchange `ex` on a pair in configuration `cfg`: open it, let the host
 * wrap the command, the card unwrap it (it must get the plain command back)
 * and wrap its response, and the host unwrap that (it must get the card's
 * data and status word back). Returns 0, or -1 if any step fails (a broken
 * setup, not a finding). r is zeroed first; free it with fuzz_scp_run_free.
 */
static inline int
fuzz_scp_run(unsigned cfg, unsigned ex, struct fuzz_scp_run *r)
{
	const struct fuzz_scp_exchange *x = &fuzz_scp_exchanges[ex % FUZZ_SCP_NEXCHANGES];
	struct scp_session host, card;
	struct cpk_buf unwrapped = CPK_BUF_INIT, back = CPK_BUF_INIT;
	uint16_t sw = 0;
	size_t j;
	int ret = -1;

	memset(r, 0, sizeof(*r));
	memset(&host, 0, sizeof(host));
	memset(&card, 0, sizeof(card));
	if (fuzz_scp_open(&fuzz_scp_configs[cfg % FUZZ_SCP_NCONFIGS], &host, &card, r) != 0 ||
	    cpk_hex_decode_buf(x->command, &r->plain, NULL) != CPK_OK ||
	    cpk_hex_decode_buf(x->response, &r->data, NULL) != CPK_OK)
		goto out;
	for (j = 0; j < x->fill; j++)
		if (cpk_buf_append_byte(&r->plain, (uint8_t)(7 * j + 1), NULL) != CPK_OK)
			goto out;
	r->sw = x->sw;
	r->host_open = host;
	if (scp_wrap_command(&host, r->plain.data, r->plain.len, &r->wrapped, NULL) != CPK_OK)
		goto out;
	r->host_pending = host;
	if (scp_unwrap_command(&card, r->wrapped.data, r->wrapped.len, &unwrapped,
	    NULL) != CPK_OK || unwrapped.len != r->plain.len ||
	    memcmp(unwrapped.data, r->plain.data, r->plain.len) != 0)
		goto out;
	r->card_pending = card;
	if (scp_wrap_response(&card, r->data.data, r->data.len, r->sw, &r->response,
	    NULL) != CPK_OK ||
	    scp_unwrap_response(&host, r->response.data, r->response.len, &back, &sw,
	    NULL) != CPK_OK || sw != r->sw || back.len != r->data.len ||
	    (back.len > 0 && memcmp(back.data, r->data.data, back.len) != 0))
		goto out;
	ret = 0;
out:
	scp_session_clear(&host);
	scp_session_clear(&card);
	cpk_buf_free(&unwrapped);
	cpk_buf_free(&back);
	return ret;
}

#endif
