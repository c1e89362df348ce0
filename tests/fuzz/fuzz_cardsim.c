/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzz target: the card simulator's core, cardsim_process
 * (tests/cardsim/cardsim.h), and its state file, cardsim_state_parse
 * (tests/cardsim/cardsim_state.h).
 *
 * Byte 0 selects what the rest of the input is:
 *   bits 0-1  0: command APDUs sent as they are;
 *             1, 2: command APDUs sent through a secure channel: the host
 *                side (compiler/scp.h) opens one with the card's first key
 *                set (INITIALIZE UPDATE, EXTERNAL AUTHENTICATE), then wraps
 *                each command (a command it cannot wrap goes plain);
 *             3: a state file.
 *   bit 2     the card: SCP03 i=70 or SCP02 i=55 (tests/e2e/cards/).
 *   bits 3-5  the channel's security level (SCP03: 01 03 11 13 33; SCP02
 *             i=55, without R-MAC: 01 03).
 *   bits 6-7  fault injection: none, drop after command 4, vanish at LOAD
 *             block 1, status word 6A80 at command 3.
 * Commands are length-prefixed: one byte, or FF and two bytes big-endian.
 *
 * The card is made fresh for every input (cardsim_new and a fixed
 * configuration through cardsim_state_parse) and freed after it. Nothing
 * crashes or leaks, and:
 * - every answer is at least a status word (SW1 6x or 9x), unless the card
 *   vanished, which answers nothing; the run ends when the card is gone;
 * - the registry stays within its limits and its memory, every application
 *   comes from a load file on the card;
 * - in the secure channel, every answer to a wrapped command while the
 *   card's session is open unwraps on the host side (R-MAC, R-ENC);
 * - a refused state file leaves the card as it was; an accepted one is
 *   written back (cardsim_state_write) to text that parses to the same
 *   card and writes the same text again, and the card then answers the
 *   commands that read it (SELECT, GET DATA, INITIALIZE UPDATE, GET STATUS
 *   in a channel opened with its own first key set).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cardsim.h"
#include "cardsim_state.h"
#include "fuzz.h"
#include "scp.h"

static const char config_scp03[] =
    "cardsim: 1\n"
    "card:\n"
    "  isd: A000000151000000\n"
    "  cplc: 4790516747911210471100000000000000000000000000000000000000000000000000000000"
    "00000000\n"
    "  iin: 0001020304\n"
    "  cin: 0102030405060708\n"
    "  kdd: 0102030405060708090A\n"
    "  scp: 3\n"
    "  i: 70\n"
    "  memory: 16384\n"
    "key-sets:\n"
    "  - kvn: 30\n"
    "    type: aes\n"
    "    enc: 404142434445464748494A4B4C4D4E4F\n"
    "    mac: 404142434445464748494A4B4C4D4E4F\n"
    "    dek: 404142434445464748494A4B4C4D4E4F\n"
    "  - kvn: 31\n"
    "    type: aes\n"
    "    key: 404142434445464748494A4B4C4D4E4F\n"
    "    diversification: kdf3\n";

static const char config_scp02[] =
    "cardsim: 1\n"
    "card:\n"
    "  isd: A000000151000000\n"
    "  kdd: 0102030405060708090A\n"
    "  scp: 2\n"
    "  i: 55\n"
    "  memory: 16384\n"
    "key-sets:\n"
    "  - kvn: 20\n"
    "    type: 3des\n"
    "    key: 404142434445464748494A4B4C4D4E4F\n"
    "  - kvn: 21\n"
    "    type: 3des\n"
    "    key: 404142434445464748494A4B4C4D4E4F\n"
    "    diversification: emv\n";

static const uint8_t levels[] = { 0x01, 0x03, 0x11, 0x13, 0x33 };
static const uint8_t host_challenge[SCP_CHALLENGE_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8 };

struct run {
	struct cardsim *card;
	struct scp_session host;
	bool secure;			/* the host session is open */
	struct cpk_buf resp, wrapped, plain;
};

static void
check_registry(const struct cardsim *c)
{
	size_t i;

	FUZZ_CHECK(c->nkeysets <= CS_MAX_KEYSETS && c->nloadfiles <= CS_MAX_LOADFILES &&
	    c->napps <= CS_MAX_APPS);
	FUZZ_CHECK(cardsim_memory_used(c) <= c->id.memory);
	for (i = 0; i < c->nloadfiles; i++)
		FUZZ_CHECK(c->loadfiles[i].nmodules <= CS_MAX_MODULES);
	for (i = 0; i < c->napps; i++) {
		const struct cs_app *a = &c->apps[i];

		FUZZ_CHECK(cardsim_find_loadfile((struct cardsim *)c, a->load_file.b,
		    a->load_file.len) != NULL);
		FUZZ_CHECK(a->priv_len == 1 || a->priv_len == 3);
	}
}

/* Send one command; false when the card is gone. */
static bool
send(struct run *r, const uint8_t *cmd, size_t n)
{
	uint8_t sw1;

	cardsim_process(r->card, cmd, n, &r->resp);
	if (r->card->action == CS_ACTION_VANISH) {
		FUZZ_CHECK(r->resp.len == 0);
		return false;
	}
	FUZZ_CHECK(r->resp.len >= 2);
	sw1 = r->resp.data[r->resp.len - 2];
	FUZZ_CHECK((sw1 >= 0x61 && sw1 <= 0x6F) || (sw1 >= 0x90 && sw1 <= 0x9F));
	check_registry(r->card);
	return r->card->action == CS_ACTION_REPLY;
}

/* INITIALIZE UPDATE and EXTERNAL AUTHENTICATE with the card's first key set. */
static bool
open_channel(struct run *r, uint8_t level)
{
	const struct cs_keyset *ks = &r->card->keysets[0];
	struct scp_iu_response iu;
	uint8_t iu_cmd[5 + SCP_CHALLENGE_LEN + 1] = { 0x80, 0x50, 0x00, 0x00, SCP_CHALLENGE_LEN };
	bool ok = false;

	if (r->card->nkeysets == 0)
		return false;
	iu_cmd[2] = ks->keys.kvn;
	memcpy(iu_cmd + 5, host_challenge, SCP_CHALLENGE_LEN);
	if (!send(r, iu_cmd, sizeof(iu_cmd)) || r->resp.len < 2 ||
	    r->resp.data[r->resp.len - 2] != 0x90 || r->resp.data[r->resp.len - 1] != 0x00)
		goto out;
	if (scp_iu_response_parse(r->resp.data, r->resp.len - 2, &iu, NULL) != CPK_OK ||
	    scp_session_begin(&r->host, &ks->keys, r->card->id.scp, r->card->id.i, host_challenge,
	    &iu, NULL) != CPK_OK ||
	    scp_check_card_cryptogram(&r->host, iu.card_cryptogram, NULL) != CPK_OK)
		goto out;
	cpk_buf_reset(&r->wrapped);
	if (scp_external_authenticate(&r->host, level, &r->wrapped, NULL) != CPK_OK ||
	    !send(r, r->wrapped.data, r->wrapped.len))
		goto out;
	ok = r->resp.len == 2 && r->resp.data[0] == 0x90 && r->resp.data[1] == 0x00;
out:
	r->secure = ok;
	return ok;
}

/* One command, wrapped when the channel is open; false when the card is gone. */
static bool
exchange(struct run *r, const uint8_t *cmd, size_t n)
{
	uint16_t sw;
	bool gone;

	cpk_buf_reset(&r->wrapped);
	if (!r->secure || scp_wrap_command(&r->host, cmd, n, &r->wrapped, NULL) != CPK_OK)
		return send(r, cmd, n);
	gone = !send(r, r->wrapped.data, r->wrapped.len);
	if (r->resp.len >= 2 && r->card->sc.state == SCP_STATE_OPEN) {
		cpk_buf_reset(&r->plain);
		FUZZ_CHECK(scp_unwrap_response(&r->host, r->resp.data, r->resp.len, &r->plain, &sw,
		    NULL) == CPK_OK);
	}
	return !gone;
}

static void
run_free(struct run *r)
{
	cardsim_free(&r->card);
	scp_session_clear(&r->host);
	cpk_buf_free(&r->resp);
	cpk_buf_free(&r->wrapped);
	cpk_buf_free(&r->plain);
}

static void
run_commands(struct run *r, const uint8_t *p, size_t n)
{
	size_t len;

	while (n > 0) {
		len = p[0];
		p++;
		n--;
		if (len == 0xFF && n >= 2) {
			len = (size_t)p[0] << 8 | p[1];
			p += 2;
			n -= 2;
		}
		if (len > n)
			len = n;
		if (!exchange(r, p, len))
			return;
		p += len;
		n -= len;
	}
}

/* The text cardsim_state_write gives for a card (malloc'd). */
static char *
state_text(const struct cardsim *c, size_t *len)
{
	char *text = NULL;
	FILE *f;

	FUZZ_CHECK((f = open_memstream(&text, len)) != NULL);
	FUZZ_CHECK(cardsim_state_write(c, f, NULL) == CPK_OK);
	FUZZ_CHECK(fclose(f) == 0);
	return text;
}

/* A state file: refused without a change, or written back to itself. */
static void
run_state(struct run *r, const uint8_t *p, size_t n)
{
	static const uint8_t reads[][5] = {
		{ 0x00, 0xCA, 0x9F, 0x7F, 0x00 },	/* GET DATA CPLC */
		{ 0x00, 0xCA, 0x00, 0x42, 0x00 },	/* IIN */
		{ 0x00, 0xCA, 0x00, 0x45, 0x00 },	/* CIN */
		{ 0x00, 0xCA, 0x00, 0x66, 0x00 },	/* card data */
		{ 0x80, 0xCA, 0x00, 0xE0, 0x00 },	/* key information */
	};
	static const uint8_t status[][7] = {
		{ 0x80, 0xF2, 0x80, 0x02, 0x02, 0x4F, 0x00 },	/* ISD */
		{ 0x80, 0xF2, 0x40, 0x02, 0x02, 0x4F, 0x00 },	/* applications */
		{ 0x80, 0xF2, 0x20, 0x02, 0x02, 0x4F, 0x00 },	/* load files */
		{ 0x80, 0xF2, 0x10, 0x02, 0x02, 0x4F, 0x00 },	/* load files and modules */
	};
	static const uint8_t select_isd[] = { 0x00, 0xA4, 0x04, 0x00, 0x00 };
	struct cardsim *fresh, *again;
	struct cpk_error err;
	char *t1, *t2;
	size_t l1, l2, i;

	FUZZ_CHECK((fresh = cardsim_new()) != NULL);
	cpk_error_clear(&err);
	if (cardsim_state_parse(r->card, "fuzz-state.yaml", p, n, &err) != CPK_OK) {
		FUZZ_CHECK(err.status != CPK_OK && err.msg[0] != '\0');
		FUZZ_CHECK(memcmp(fresh, r->card, sizeof(*fresh)) == 0);
		cardsim_free(&fresh);
		return;
	}
	cardsim_free(&fresh);
	check_registry(r->card);
	t1 = state_text(r->card, &l1);
	FUZZ_CHECK((again = cardsim_new()) != NULL);
	FUZZ_CHECK(cardsim_state_parse(again, "written", (const uint8_t *)t1, l1, NULL) == CPK_OK);
	t2 = state_text(again, &l2);
	FUZZ_CHECK(l1 == l2 && memcmp(t1, t2, l1) == 0);
	free(t1);
	free(t2);
	cardsim_free(&again);

	if (!send(r, select_isd, sizeof(select_isd)))
		return;
	for (i = 0; i < sizeof(reads) / sizeof(reads[0]); i++)
		if (!send(r, reads[i], sizeof(reads[i])))
			return;
	if (!open_channel(r, 0x01))
		return;
	for (i = 0; i < sizeof(status) / sizeof(status[0]); i++)
		if (!exchange(r, status[i], sizeof(status[i])))
			return;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run r;
	unsigned mode, faults;
	uint8_t level;
	bool scp02;
	const char *config;

	if (size < 1)
		return 0;
	memset(&r, 0, sizeof(r));
	mode = data[0] & 3u;
	scp02 = (data[0] & 4u) != 0;
	/* SCP02 i=55 has no R-MAC: 01 or 03. */
	level = levels[((data[0] >> 3) & 7u) % (scp02 ? 2u : 5u)];
	faults = data[0] >> 6;
	FUZZ_CHECK((r.card = cardsim_new()) != NULL);
	if (mode == 3) {
		run_state(&r, data + 1, size - 1);
		run_free(&r);
		return 0;
	}
	config = scp02 ? config_scp02 : config_scp03;
	FUZZ_CHECK(cardsim_state_parse(r.card, "config", (const uint8_t *)config, strlen(config),
	    NULL) == CPK_OK);
	if (faults == 1)
		r.card->faults.drop_after = 4;
	else if (faults == 2)
		r.card->faults.vanish_load_block = 1;
	else if (faults == 3) {
		r.card->faults.sw_at = 3;
		r.card->faults.sw = 0x6A80;
	}
	/* The handshake is commands 1 and 2: no fault hits it. */
	if (mode != 0)
		FUZZ_CHECK(open_channel(&r, level));
	run_commands(&r, data + 1, size - 1);
	run_free(&r);
	return 0;
}
