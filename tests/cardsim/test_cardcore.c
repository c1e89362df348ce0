/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of the cardsim card core without PC/SC: cardsim_process()
 * driven by the host side of compiler/scp.h. Strict parsing status words,
 * the sequence counter rules of SCP02 and SCP03, the secure channel (MAC
 * failures close it), content management (with CAPs from capgen), PUT KEY,
 * fault injection and the state file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "capgen.h"
#include "cardsim.h"
#include "cpk_tlv.h"
#include "cardsim_state.h"
#include "cpk_apdu.h"
#include "cpk_bundle.h"
#include "dm.h"
#include "gp_cmd.h"
#include "scp.h"
#include "testlib.h"

#define ISD "A000000151000000"
#define KEY_ENC "404142434445464748494A4B4C4D4E4F"
#define KEY_MAC "505152535455565758595A5B5C5D5E5F"
#define KEY_DEK "606162636465666768696A6B6C6D6E6F"
#define KDD "00112233445566778899"
#define PKG "A00000015153504B47"
#define APPLET "A00000015153504B4701"
#define APPLET2 "A00000015153504B4702"

static const char *const config_scp03 =
    "cardsim: 1\n"
    "card:\n"
    "  isd: " ISD "\n"
    "  kdd: " KDD "\n"
    "  cplc: 9F7F0102\n"
    "  iin: 42\n"
    "  scp: 3\n"
    "  i: 70\n"
    "key-sets:\n"
    "  - kvn: 30\n"
    "    type: aes\n"
    "    enc: " KEY_ENC "\n"
    "    mac: " KEY_MAC "\n"
    "    dek: " KEY_DEK "\n";

static const char *const config_scp02 =
    "card:\n"
    "  kdd: " KDD "\n"
    "  scp: 2\n"
    "  i: 55\n"
    "key-sets:\n"
    "  - kvn: 20\n"
    "    type: 3des\n"
    "    enc: " KEY_ENC "\n"
    "    mac: " KEY_MAC "\n"
    "    dek: " KEY_DEK "\n";

/* --- helpers --- */

static struct cardsim *
new_card(const char *config)
{
	struct cardsim *c = cardsim_new();
	struct cpk_error err;

	if (c == NULL)
		abort();
	cpk_error_clear(&err);
	if (cardsim_state_parse(c, "config", (const uint8_t *)config, strlen(config), &err) !=
	    CPK_OK) {
		fprintf(stderr, "config: %s:%u:%u: %s\n", err.file, err.line, err.col, err.msg);
		abort();
	}
	return c;
}

static void
host_keys(struct scp_keyset *k, enum gp_key_alg alg, uint8_t kvn)
{
	memset(k, 0, sizeof(*k));
	k->alg = alg;
	k->len = 16;
	k->kvn = kvn;
	test_unhex(KEY_ENC, k->enc, sizeof(k->enc));
	test_unhex(KEY_MAC, k->mac, sizeof(k->mac));
	test_unhex(KEY_DEK, k->dek, sizeof(k->dek));
}

/* Send raw bytes; returns the SW, the response data goes to data (if not NULL). */
static uint16_t
xmit_raw(struct cardsim *c, const uint8_t *cmd, size_t n, struct cpk_buf *data)
{
	struct cpk_buf resp = CPK_BUF_INIT;
	uint16_t sw = 0;

	cardsim_process(c, cmd, n, &resp);
	if (resp.len >= 2) {
		sw = (uint16_t)((resp.data[resp.len - 2] << 8) | resp.data[resp.len - 1]);
		if (data != NULL) {
			cpk_buf_reset(data);
			if (cpk_buf_append(data, resp.data, resp.len - 2, NULL) != CPK_OK)
				abort();
		}
	}
	cpk_buf_free(&resp);
	return sw;
}

static uint16_t
xmit(struct cardsim *c, const char *hex, struct cpk_buf *data)
{
	uint8_t cmd[600];
	size_t n = test_unhex(hex, cmd, sizeof(cmd));

	return xmit_raw(c, cmd, n, data);
}

#define CHECK_SW(got, want) \
	test_check_sw((got), (want), __FILE__, __LINE__, c)

static int
test_check_sw(uint16_t got, uint16_t want, const char *file, int line, const struct cardsim *c)
{
	test_checks++;
	if (got != want) {
		test_failures++;
		fprintf(stderr, "%s:%d: status word %04X, expected %04X (card: %s)\n", file, line,
		    got, want, c->why);
		return 0;
	}
	return 1;
}

/* Wrap, send, check the R-MAC and decrypt. tamper flips a bit of the C-MAC. */
static uint16_t
sxmit_ex(struct cardsim *c, struct scp_session *s, const char *hex, struct cpk_buf *data,
    bool tamper)
{
	struct cpk_buf wrapped = CPK_BUF_INIT, resp = CPK_BUF_INIT, plain = CPK_BUF_INIT;
	struct cpk_error err;
	uint8_t cmd[600];
	size_t n = test_unhex(hex, cmd, sizeof(cmd));
	uint16_t sw = 0;

	cpk_error_clear(&err);
	if (scp_wrap_command(s, cmd, n, &wrapped, &err) != CPK_OK) {
		fprintf(stderr, "wrap %s: %s\n", hex, err.msg);
		abort();
	}
	if (tamper) {
		struct cpk_apdu a;

		if (cpk_apdu_parse(wrapped.data, wrapped.len, &a, NULL) != CPK_OK)
			abort();
		wrapped.data[5 + a.lc - 1] ^= 0x01;
	}
	cardsim_process(c, wrapped.data, wrapped.len, &resp);
	if (resp.len < 2)
		goto out;
	if (scp_unwrap_response(s, resp.data, resp.len, &plain, &sw, &err) != CPK_OK) {
		fprintf(stderr, "unwrap response to %s: %s\n", hex, err.msg);
		test_failures++;
		sw = 0;
		goto out;
	}
	if (data != NULL) {
		cpk_buf_reset(data);
		if (cpk_buf_append(data, plain.data, plain.len, NULL) != CPK_OK)
			abort();
	}
out:
	cpk_buf_free(&wrapped);
	cpk_buf_free(&resp);
	cpk_buf_free(&plain);
	return sw;
}

static uint16_t
sxmit(struct cardsim *c, struct scp_session *s, const char *hex, struct cpk_buf *data)
{
	return sxmit_ex(c, s, hex, data, false);
}

/* INITIALIZE UPDATE; fills *iu; returns the SW. */
static uint16_t
initialize_update(struct cardsim *c, uint8_t kvn, const uint8_t hc[8], struct scp_iu_response *iu)
{
	struct cpk_buf cmd = CPK_BUF_INIT, data = CPK_BUF_INIT;
	uint16_t sw;

	if (scp_initialize_update_apdu(kvn, hc, &cmd, NULL) != CPK_OK)
		abort();
	sw = xmit_raw(c, cmd.data, cmd.len, &data);
	memset(iu, 0, sizeof(*iu));
	if (sw == 0x9000 && scp_iu_response_parse(data.data, data.len, iu, NULL) != CPK_OK)
		sw = 0;
	cpk_buf_free(&cmd);
	cpk_buf_free(&data);
	return sw;
}

/* A full session: SELECT, INITIALIZE UPDATE, check, EXTERNAL AUTHENTICATE. */
static uint16_t
open_session_at(struct cardsim *c, const char *select, const struct scp_keyset *keys,
    enum scp_version v, uint8_t i, uint8_t level, struct scp_session *s,
    struct scp_iu_response *iu_out);

static uint16_t
open_session(struct cardsim *c, const struct scp_keyset *keys, enum scp_version v, uint8_t i,
    uint8_t level, struct scp_session *s, struct scp_iu_response *iu_out)
{
	return open_session_at(c, "00A4040008" ISD "00", keys, v, i, level, s, iu_out);
}

/* The same after SELECT `select` (a security domain). */
static uint16_t
open_session_at(struct cardsim *c, const char *select, const struct scp_keyset *keys,
    enum scp_version v, uint8_t i, uint8_t level, struct scp_session *s,
    struct scp_iu_response *iu_out)
{
	static const uint8_t hc[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct cpk_buf ea = CPK_BUF_INIT;
	struct scp_iu_response iu;
	struct cpk_error err;
	uint16_t sw;

	cpk_error_clear(&err);
	/* A CARD_LOCKED card's ISD answers 6283 (GP 2.3.1 11.9.3). */
	if ((sw = xmit(c, select, NULL)) != 0x9000 && sw != 0x6283)
		goto out;
	if ((sw = initialize_update(c, keys->kvn, hc, &iu)) != 0x9000)
		goto out;
	if (iu_out != NULL)
		*iu_out = iu;
	if (scp_session_begin(s, keys, v, i, hc, &iu, &err) != CPK_OK ||
	    scp_check_card_cryptogram(s, iu.card_cryptogram, &err) != CPK_OK ||
	    scp_external_authenticate(s, level, &ea, &err) != CPK_OK) {
		fprintf(stderr, "host session: %s\n", err.msg);
		sw = 0;
		goto out;
	}
	sw = xmit_raw(c, ea.data, ea.len, NULL);
out:
	cpk_buf_free(&ea);
	return sw;
}

static uint32_t
iu_counter(const struct scp_iu_response *iu)
{
	uint32_t v = 0;
	size_t i;

	for (i = 0; i < iu->counter_len; i++)
		v = (v << 8) | iu->counter[i];
	return v;
}

/* --- strict parsing --- */

static void
test_strict(void)
{
	struct cardsim *c = new_card(config_scp03);
	struct cpk_buf d = CPK_BUF_INIT;
	static const uint8_t hc[8];
	struct scp_iu_response iu;

	CHECK_SW(xmit(c, "00A4040008" ISD "00", &d), 0x9000);
	CHECK(d.len > 12 && d.data[0] == 0x6F && d.data[2] == 0x84);
	CHECK_SW(xmit(c, "00A4040000", &d), 0x9000);		/* no AID: the ISD */
	CHECK_SW(xmit(c, "00A4040005A000000151", &d), 0x9000);	/* partial AID */
	CHECK_SW(xmit(c, "00A4", NULL), 0x6700);
	CHECK_SW(xmit(c, "00A4040009" ISD, NULL), 0x6700);	/* Lc says 9, 8 follow */
	CHECK_SW(xmit(c, "00A4040008" ISD "0000", NULL), 0x6700);
	CHECK_SW(xmit(c, "00A404000000080000000000000000", NULL), 0x6700);	/* extended */
	CHECK_SW(xmit(c, "80FF000000", NULL), 0x6D00);
	CHECK_SW(xmit(c, "00B0000000", NULL), 0x6D00);
	CHECK_SW(xmit(c, "A0A4040000", NULL), 0x6E00);
	CHECK_SW(xmit(c, "40A4040000", NULL), 0x6E00);
	CHECK_SW(xmit(c, "FFA4040000", NULL), 0x6E00);
	CHECK_SW(xmit(c, "80A4040000", NULL), 0x6E00);	/* SELECT is an ISO command */
	CHECK_SW(xmit(c, "0050000008000000000000000000", NULL), 0x6E00);	/* IU is GP */
	CHECK_SW(xmit(c, "01A4040000", NULL), 0x6881);
	CHECK_SW(xmit(c, "10A4040000", NULL), 0x6884);
	CHECK_SW(xmit(c, "0CA4040000", NULL), 0x6882);
	CHECK_SW(xmit(c, "00A4000000", NULL), 0x6A86);
	CHECK_SW(xmit(c, "00A4040400", NULL), 0x6A86);
	CHECK_SW(xmit(c, "00A4040005A000000152", NULL), 0x6A82);
	CHECK_SW(xmit(c, "00A4040011A000000000000000000000000000000000", NULL), 0x6A80);

	/* GET DATA. */
	CHECK_SW(xmit(c, "80CA00CF00", &d), 0x9000);
	CHECK_HEX(d.data, d.len, "CF0A" KDD);
	CHECK_SW(xmit(c, "00CA00CF00", &d), 0x9000);
	CHECK_SW(xmit(c, "80CA9F7F00", &d), 0x9000);
	CHECK_HEX(d.data, d.len, "9F7F049F7F0102");
	CHECK_SW(xmit(c, "80CA004200", &d), 0x9000);
	CHECK_HEX(d.data, d.len, "420142");
	CHECK_SW(xmit(c, "80CA004500", &d), 0x6A88);	/* no CIN configured */
	CHECK(d.len == 0);
	CHECK_SW(xmit(c, "80CA00C100", &d), 0x9000);
	CHECK_HEX(d.data, d.len, "C103000000");
	CHECK_SW(xmit(c, "80CA00E000", &d), 0x9000);
	CHECK_HEX(d.data, d.len, "E012" "C00401308810" "C00402308810" "C00403308810");
	CHECK_SW(xmit(c, "80CA006600", &d), 0x9000);
	CHECK_HEX(d.data, d.len, "6631732F06072A864886FC6B01600C060A2A864886FC6B02020301"
	    "630906072A864886FC6B03640B06092A864886FC6B040370");
	CHECK_SW(xmit(c, "80CA00CF", &d), 0x9000);		/* case 1: no Le */
	CHECK_SW(xmit(c, "80CA00CF05", &d), 0x6C0C);	/* Le too small */
	CHECK_SW(xmit(c, "80CA00CF0100", NULL), 0x6700);	/* GET DATA has no data */
	CHECK_SW(xmit(c, "80CAFFFF00", NULL), 0x6A88);

	/* Commands that need the secure channel, outside it. */
	CHECK_SW(xmit(c, "80E400000A4F08" ISD, NULL), 0x6982);
	CHECK_SW(xmit(c, "80F28002024F0000", NULL), 0x6982);
	CHECK_SW(xmit(c, "84F280020A4F000000000000000000", NULL), 0x6982);
	CHECK_SW(xmit(c, "80E60200100000000000000000000000000000000000", NULL), 0x6982);

	/* INITIALIZE UPDATE and EXTERNAL AUTHENTICATE framing. */
	CHECK_SW(xmit(c, "80503000070000000000000000", NULL), 0x6700);
	CHECK_SW(xmit(c, "80503001080000000000000000", NULL), 0x6A86);
	CHECK_SW(xmit(c, "80503100080000000000000000", NULL), 0x6A88);
	CHECK_SW(xmit(c, "848201001000000000000000000000000000000000", NULL), 0x6985);
	CHECK_SW(initialize_update(c, 0x30, hc, &iu), 0x9000);
	CHECK_SW(xmit(c, "808201001000000000000000000000000000000000", NULL), 0x6E00);
	CHECK_SW(initialize_update(c, 0x30, hc, &iu), 0x9000);
	CHECK_SW(xmit(c, "848202001000000000000000000000000000000000", NULL), 0x6A86);
	CHECK_SW(initialize_update(c, 0x30, hc, &iu), 0x9000);
	CHECK_SW(xmit(c, "848201011000000000000000000000000000000000", NULL), 0x6A86);
	CHECK_SW(initialize_update(c, 0x30, hc, &iu), 0x9000);
	CHECK_SW(xmit(c, "84820100080000000000000000", NULL), 0x6700);
	CHECK_SW(initialize_update(c, 0x30, hc, &iu), 0x9000);
	CHECK_SW(xmit(c, "848201001000000000000000000000000000000000", NULL), 0x6300);
	CHECK(c->sc.state == SCP_STATE_NONE);
	cpk_buf_free(&d);
	cardsim_free(&c);
}

/* --- SCP03 sessions and counters --- */

static void
test_scp03(void)
{
	struct cardsim *c = new_card(config_scp03);
	struct scp_keyset keys, wrong;
	struct scp_session s;
	struct scp_iu_response iu;
	struct cpk_buf d = CPK_BUF_INIT;
	uint8_t chal[8];
	size_t clen = 0;
	static const uint8_t hc[8];
	static const uint8_t levels[] = { 0x01, 0x03, 0x11, 0x13, 0x33 };
	size_t i;

	host_keys(&keys, GP_KEY_AES, 0x30);
	/* Every INITIALIZE UPDATE increments first and returns the new value. */
	CHECK_SW(open_session(c, &keys, SCP03, 0x70, 0x33, &s, &iu), 0x9000);
	CHECK(iu.counter_len == 3 && iu_counter(&iu) == 1);
	CHECK(c->keysets[0].counter == 1);
	/* The challenge is the predictable one for counter 000001. */
	CHECK_OK(scp_pseudo_random_challenge(&keys, SCP03, iu.counter, 3,
	    (const uint8_t *)"\xA0\x00\x00\x01\x51\x00\x00\x00", 8, chal, &clen, NULL));
	CHECK_MEM(iu.card_challenge, 8, chal, clen);
	/* R-MAC and R-ENC (level 33) verified by the host side. */
	CHECK_SW(sxmit(c, &s, "80F28002024F0000", &d), 0x9000);
	CHECK_HEX(d.data, d.len, "E3134F08" ISD "9F70010FC5039EFE80");
	CHECK_SW(sxmit(c, &s, "80F28000024F0000", &d), 0x9000);
	CHECK_HEX(d.data, d.len, "08" ISD "0F9E");
	CHECK_SW(sxmit(c, &s, "80CA00CF00", &d), 0x9000);
	CHECK_HEX(d.data, d.len, "CF0A" KDD);
	CHECK_SW(sxmit(c, &s, "80F24000024F0000", &d), 0x6A88);	/* no applications */

	/* INITIALIZE UPDATE without EXTERNAL AUTHENTICATE still counts. */
	CHECK_SW(initialize_update(c, 0x30, hc, &iu), 0x9000);
	CHECK(iu_counter(&iu) == 2);
	CHECK_SW(initialize_update(c, 0x00, hc, &iu), 0x9000);	/* KVN 00: the first set */
	CHECK(iu_counter(&iu) == 3 && iu.kvn == 0x30);
	CHECK_SW(xmit(c, "80CA00C100", &d), 0x9000);
	CHECK_HEX(d.data, d.len, "C103000003");

	/* A failed EXTERNAL AUTHENTICATE: 6300, no channel; the counter had moved on. */
	host_keys(&wrong, GP_KEY_AES, 0x30);
	wrong.mac[0] ^= 1;
	CHECK_SW(open_session(c, &wrong, SCP03, 0x70, 0x01, &s, &iu), 0);
	CHECK(c->keysets[0].counter == 4);

	/* Every level; a tampered MAC gives 6982 and closes the channel. */
	for (i = 0; i < sizeof(levels); i++) {
		CHECK_SW(open_session(c, &keys, SCP03, 0x70, levels[i], &s, &iu), 0x9000);
		CHECK_SW(sxmit(c, &s, "80CA00CF00", &d), 0x9000);
		CHECK_HEX(d.data, d.len, "CF0A" KDD);
		CHECK_SW(sxmit_ex(c, &s, "80F28002024F0000", &d, true), 0x6982);
		CHECK(c->sc.state == SCP_STATE_NONE);
		CHECK_SW(sxmit(c, &s, "80F28002024F0000", &d), 0x6982);
	}
	CHECK(c->keysets[0].counter == 4 + sizeof(levels));

	/* An unprotected command inside the channel closes it. */
	CHECK_SW(open_session(c, &keys, SCP03, 0x70, 0x01, &s, &iu), 0x9000);
	CHECK_SW(xmit(c, "80CA00CF00", NULL), 0x6982);
	CHECK(c->sc.state == SCP_STATE_NONE);
	/* SELECT ends the session. */
	CHECK_SW(open_session(c, &keys, SCP03, 0x70, 0x01, &s, &iu), 0x9000);
	CHECK_SW(xmit(c, "00A4040000", NULL), 0x9000);
	CHECK_SW(sxmit(c, &s, "80CA00CF00", &d), 0x6982);
	/* A level the i does not allow. */
	CHECK_SW(open_session(c, &keys, SCP03, 0x70, 0x01, &s, &iu), 0x9000);

	/* Counter exhaustion. */
	c->keysets[0].counter = 0xFFFFFE;
	CHECK_SW(initialize_update(c, 0x30, hc, &iu), 0x9000);
	CHECK(iu_counter(&iu) == 0xFFFFFF);
	CHECK_SW(initialize_update(c, 0x30, hc, &iu), 0x6985);
	cpk_buf_free(&d);
	scp_session_clear(&s);
	cardsim_free(&c);
}

static void
test_scp03_random(void)
{
	static const char *const cfg =
	    "card:\n  scp: 3\n  i: 00\nkey-sets:\n  - kvn: 01\n    type: aes\n"
	    "    key: " KEY_ENC "\n    diversification: kdf3\n";
	struct cardsim *c = new_card(cfg);
	struct scp_keyset master, keys;
	struct scp_session s;
	struct scp_iu_response iu;
	struct cpk_buf d = CPK_BUF_INIT;
	uint8_t kdd[10];

	/* The card's keys are diversified from the master with its (default zero) KDD. */
	memset(&master, 0, sizeof(master));
	master.alg = GP_KEY_AES;
	master.len = 16;
	master.kvn = 1;
	test_unhex(KEY_ENC, master.enc, 16);
	memcpy(master.mac, master.enc, 16);
	memcpy(master.dek, master.enc, 16);
	memset(kdd, 0, sizeof(kdd));
	CHECK_OK(scp_keyset_diversify(&master, GP_DIV_KDF3, kdd, &keys, NULL));
	CHECK_SW(open_session(c, &keys, SCP03, 0x00, 0x03, &s, &iu), 0x9000);
	CHECK(iu.counter_len == 0);	/* i=00: no counter in the response */
	CHECK(c->keysets[0].counter == 1);
	CHECK_SW(sxmit(c, &s, "80F28002024F0000", &d), 0x9000);
	/* i=00 has no R-MAC. */
	CHECK_SW(open_session(c, &keys, SCP03, 0x00, 0x11, &s, &iu), 0);
	cpk_buf_free(&d);
	scp_session_clear(&s);
	scp_keyset_clear(&keys);
	scp_keyset_clear(&master);
	cardsim_free(&c);
}

/* --- SCP02 counters --- */

static void
test_scp02(void)
{
	struct cardsim *c = new_card(config_scp02);
	struct scp_keyset keys, wrong;
	struct scp_session s;
	struct scp_iu_response iu;
	struct cpk_buf d = CPK_BUF_INIT;
	static const uint8_t hc[8];
	uint8_t chal[8];
	size_t clen = 0;

	host_keys(&keys, GP_KEY_3DES, 0x20);
	/* INITIALIZE UPDATE returns the current value and does not move it. */
	CHECK_SW(initialize_update(c, 0x20, hc, &iu), 0x9000);
	CHECK(iu.counter_len == 2 && iu_counter(&iu) == 0);
	CHECK_SW(initialize_update(c, 0x20, hc, &iu), 0x9000);
	CHECK(iu_counter(&iu) == 0 && c->keysets[0].counter == 0);
	CHECK_OK(scp_pseudo_random_challenge(&keys, SCP02, iu.counter, 2,
	    (const uint8_t *)"\xA0\x00\x00\x01\x51\x00\x00\x00", 8, chal, &clen, NULL));
	CHECK_MEM(iu.card_challenge, 6, chal, clen);
	/* A failed authentication leaves it. */
	host_keys(&wrong, GP_KEY_3DES, 0x20);
	wrong.enc[3] ^= 0x10;	/* not a DES parity bit */
	CHECK_SW(open_session(c, &wrong, SCP02, 0x55, 0x01, &s, &iu), 0);
	CHECK(c->keysets[0].counter == 0);
	/* The first verified C-MAC moves it on. */
	CHECK_SW(open_session(c, &keys, SCP02, 0x55, 0x03, &s, &iu), 0x9000);
	CHECK(iu_counter(&iu) == 0 && c->keysets[0].counter == 1);
	CHECK_SW(sxmit(c, &s, "80F28002024F0000", &d), 0x9000);
	CHECK_HEX(d.data, d.len, "E3134F08" ISD "9F70010FC5039EFE80");
	CHECK_SW(sxmit(c, &s, "80CA00CF00", &d), 0x9000);
	CHECK_SW(sxmit_ex(c, &s, "80CA00CF00", &d, true), 0x6982);
	CHECK_SW(sxmit(c, &s, "80CA00CF00", &d), 0x6982);
	CHECK_SW(open_session(c, &keys, SCP02, 0x55, 0x01, &s, &iu), 0x9000);
	CHECK(iu_counter(&iu) == 1 && c->keysets[0].counter == 2);
	CHECK_SW(sxmit(c, &s, "80CA00C100", &d), 0x9000);
	CHECK_HEX(d.data, d.len, "C1020002");
	/* i=55 has no R-MAC; R-ENC does not exist in SCP02. */
	CHECK_SW(open_session(c, &keys, SCP02, 0x55, 0x11, &s, &iu), 0);
	CHECK_SW(open_session(c, &keys, SCP02, 0x55, 0x33, &s, &iu), 0);
	CHECK_SW(xmit(c, "80CA006600", &d), 0x9000);
	CHECK(d.len > 4 && d.data[d.len - 2] == 0x02 && d.data[d.len - 1] == 0x55);
	/* Exhaustion: FFFF is the last usable value. */
	c->keysets[0].counter = 0xFFFF;
	CHECK_SW(open_session(c, &keys, SCP02, 0x55, 0x01, &s, &iu), 0x9000);
	CHECK(iu_counter(&iu) == 0xFFFF);
	CHECK_SW(initialize_update(c, 0x20, hc, &iu), 0x6985);
	cpk_buf_free(&d);
	scp_session_clear(&s);
	cardsim_free(&c);
}

/* SCP02 with R-MAC (i=75) and a random challenge (i=15). */
static void
test_scp02_rmac(void)
{
	static const char *const cfg75 =
	    "card:\n  scp: 2\n  i: 75\nkey-sets:\n  - kvn: 01\n    type: 3des\n"
	    "    key: " KEY_ENC "\n    diversification: emv\n  - kvn: 02\n    type: 3des\n"
	    "    key: " KEY_MAC "\n    diversification: visa2\n";
	static const char *const cfg15 =
	    "card:\n  scp: 2\n  i: 15\nkey-sets:\n  - kvn: 20\n    type: 3des\n"
	    "    enc: " KEY_ENC "\n    mac: " KEY_MAC "\n    dek: " KEY_DEK "\n";
	struct cardsim *c = new_card(cfg75);
	struct scp_keyset master, keys;
	struct scp_session s;
	struct scp_iu_response iu;
	struct cpk_buf d = CPK_BUF_INIT;
	uint8_t kdd[10];

	memset(kdd, 0, sizeof(kdd));
	memset(&master, 0, sizeof(master));
	master.alg = GP_KEY_3DES;
	master.len = 16;
	master.kvn = 2;
	test_unhex(KEY_MAC, master.enc, 16);
	memcpy(master.mac, master.enc, 16);
	memcpy(master.dek, master.enc, 16);
	CHECK_OK(scp_keyset_diversify(&master, GP_DIV_VISA2, kdd, &keys, NULL));
	CHECK_SW(open_session(c, &keys, SCP02, 0x75, 0x13, &s, &iu), 0x9000);
	CHECK(iu.kvn == 0x02 && c->keysets[1].counter == 1 && c->keysets[0].counter == 0);
	CHECK_SW(sxmit(c, &s, "80F28002024F0000", &d), 0x9000);
	CHECK_HEX(d.data, d.len, "E3134F08" ISD "9F70010FC5039EFE80");
	CHECK_SW(sxmit(c, &s, "80CA00CF00", &d), 0x9000);
	CHECK_SW(sxmit(c, &s, "80F24000024F0000", &d), 0x6A88);	/* no R-MAC on errors */
	CHECK_SW(sxmit(c, &s, "80CA00C100", &d), 0x9000);
	CHECK_HEX(d.data, d.len, "C1020000");	/* the first key set's counter */
	cardsim_free(&c);

	c = new_card(cfg15);
	host_keys(&keys, GP_KEY_3DES, 0x20);
	CHECK_SW(open_session(c, &keys, SCP02, 0x15, 0x03, &s, &iu), 0x9000);
	CHECK_SW(sxmit(c, &s, "80F28002024F0000", &d), 0x9000);
	CHECK_SW(sxmit(c, &s, "80F28002024F0000", &d), 0x9000);
	cpk_buf_free(&d);
	scp_session_clear(&s);
	scp_keyset_clear(&keys);
	scp_keyset_clear(&master);
	cardsim_free(&c);
}

/* --- content management --- */

static void
make_lfdb(struct cpk_buf *lfdb, size_t size, size_t napplets)
{
	struct capgen_spec spec;
	struct cpk_error err;

	capgen_spec_init(&spec);
	if (capgen_aid_parse(PKG, &spec.package, &err) != CPK_OK ||
	    capgen_aid_parse(APPLET, &spec.applets[0], &err) != CPK_OK ||
	    capgen_aid_parse(APPLET2, &spec.applets[1], &err) != CPK_OK)
		abort();
	spec.applet_count = napplets;
	spec.lfdb_size = size;
	if (capgen_lfdb(&spec, true, lfdb, &err) != CPK_OK) {
		fprintf(stderr, "capgen: %s\n", err.msg);
		abort();
	}
}

static void
append_hex(char *out, size_t cap, const uint8_t *p, size_t n)
{
	size_t len = strlen(out);

	if (len + 2 * n + 1 > cap || cpk_hex_encode(p, n, out + len, cap - len) != CPK_OK)
		abort();
}

/*
 * The LOAD blocks of prefix (DAP blocks, may be NULL) || C4 lfdb, `block`
 * bytes each; returns the first failing SW or 9000, the last answer's data
 * in last (if not NULL).
 */
static uint16_t
load_blocks(struct cardsim *c, struct scp_session *s, const struct cpk_buf *prefix,
    const struct cpk_buf *lfdb, size_t block, struct cpk_buf *last)
{
	struct cpk_buf file = CPK_BUF_INIT;
	char cmd[600];
	uint8_t hdr[4];
	size_t off, n, i;
	uint16_t sw = 0x9000;

	hdr[0] = 0xC4;
	hdr[1] = 0x82;
	hdr[2] = (uint8_t)(lfdb->len >> 8);
	hdr[3] = (uint8_t)lfdb->len;
	if ((prefix != NULL && cpk_buf_append(&file, prefix->data, prefix->len, NULL) != CPK_OK) ||
	    cpk_buf_append(&file, hdr, 4, NULL) != CPK_OK ||
	    cpk_buf_append(&file, lfdb->data, lfdb->len, NULL) != CPK_OK)
		abort();
	for (off = 0, i = 0; off < file.len; off += n, i++) {
		n = file.len - off < block ? file.len - off : block;
		snprintf(cmd, sizeof(cmd), "80E8%02X%02X%02X", off + n == file.len ? 0x80 : 0x00,
		    (unsigned)i, (unsigned)n);
		append_hex(cmd, sizeof(cmd), file.data + off, n);
		if ((sw = sxmit(c, s, cmd, last)) != 0x9000)
			break;
	}
	cpk_buf_free(&file);
	return sw;
}

/*
 * INSTALL [for load] of PKG into out (hex): the security domain sd_hex (""
 * for none), the hash md[0..mdlen), no parameters, an empty token.
 */
static void
install_for_load_hex(char *out, size_t cap, const char *sd_hex, const uint8_t *md,
    size_t mdlen)
{
	size_t sdlen = strlen(sd_hex) / 2, pkglen = strlen(PKG) / 2;

	snprintf(out, cap, "80E60200%02X%02X" PKG "%02X%s%02X",
	    (unsigned)(1 + pkglen + 1 + sdlen + 1 + mdlen + 2), (unsigned)pkglen, (unsigned)sdlen,
	    sd_hex, (unsigned)mdlen);
	append_hex(out, cap, md, mdlen);
	strcat(out, "0000");
}

/*
 * INSTALL [for load] (with the hash of `hashed`, or of lfdb when NULL) then
 * the LOAD blocks of prefix (DAP blocks, may be NULL) || C4 lfdb; returns the
 * first failing SW or 9000.
 */
static uint16_t
load_file_ex(struct cardsim *c, struct scp_session *s, const struct cpk_buf *lfdb, int hash,
    size_t block, bool corrupt_hash, const struct cpk_buf *prefix, const struct cpk_buf *hashed)
{
	char cmd[600];
	uint8_t md[32];
	unsigned int mdlen = 0;
	uint16_t sw;

	if (hashed == NULL)
		hashed = lfdb;
	if (hash != 0)
		(void)EVP_Digest(hashed->data, hashed->len, md, &mdlen,
		    hash == 1 ? EVP_sha1() : EVP_sha256(), NULL);
	if (corrupt_hash)
		md[0] ^= 1;
	install_for_load_hex(cmd, sizeof(cmd), "", md, mdlen);
	if ((sw = sxmit(c, s, cmd, NULL)) != 0x9000)
		return sw;
	return load_blocks(c, s, prefix, lfdb, block, NULL);
}

static uint16_t
load_file(struct cardsim *c, struct scp_session *s, const struct cpk_buf *lfdb, int hash,
    size_t block, bool corrupt_hash)
{
	return load_file_ex(c, s, lfdb, hash, block, corrupt_hash, NULL, NULL);
}

/* Open a C-MAC session with key set 30, load the hello package of `size` bytes, install its applet. */
static void
install_hello(struct cardsim *c, struct scp_keyset *keys, struct scp_session *s,
    struct cpk_buf *lfdb, size_t size)
{
	host_keys(keys, GP_KEY_AES, 0x30);
	make_lfdb(lfdb, size, 1);
	CHECK_SW(open_session(c, keys, SCP03, 0x70, 0x01, s, NULL), 0x9000);
	CHECK_SW(load_file(c, s, lfdb, 0, 200, false), 0x9000);
	CHECK_SW(sxmit(c, s, "80E60C002609" PKG "0A" APPLET "0A" APPLET "0100" "02C900" "00",
	    NULL), 0x9000);
}

static void
test_content(void)
{
	struct cardsim *c = new_card(config_scp03);
	struct scp_keyset keys;
	struct scp_session s;
	struct cpk_buf lfdb = CPK_BUF_INIT, d = CPK_BUF_INIT;
	char cmd[200];
	int k;

	host_keys(&keys, GP_KEY_AES, 0x30);
	make_lfdb(&lfdb, 3000, 2);
	CHECK_SW(open_session(c, &keys, SCP03, 0x70, 0x33, &s, NULL), 0x9000);
	/* LOAD without INSTALL [for load]. */
	CHECK_SW(sxmit(c, &s, "80E8800001C4", NULL), 0x6985);
	/* A bad hash, then wrong block numbers. */
	CHECK_SW(load_file(c, &s, &lfdb, 2, 200, true), 0x6A80);
	CHECK(c->nloadfiles == 0);
	CHECK_SW(sxmit(c, &s, "80E602000D09" PKG "000000", NULL), 0x6A80);	/* truncated */
	CHECK_SW(sxmit(c, &s, "80E602000F09" PKG "0000000000", NULL), 0x6A80);	/* trailing */
	CHECK_SW(sxmit(c, &s, "80E602001109" PKG "00030000000000", NULL), 0x6A80);	/* hash len */
	CHECK_SW(sxmit(c, &s, "80E602000F09" PKG "00000001AA", NULL), 0x6A80);	/* token */
	CHECK_SW(sxmit(c, &s, "80E602001609" PKG "08A000000151000001000000", NULL), 0x6A88);
	CHECK_SW(sxmit(c, &s, "80E602000E09" PKG "00000000", NULL), 0x9000);
	CHECK_SW(sxmit(c, &s, "80E80001020000", NULL), 0x6A86);	/* block 01 first */
	CHECK_SW(sxmit(c, &s, "80E80000020000", NULL), 0x6985);	/* the load was abandoned */
	CHECK_SW(sxmit(c, &s, "80E602000E09" PKG "00000000", NULL), 0x9000);
	CHECK_SW(sxmit(c, &s, "80E800000400000000", NULL), 0x6A80);	/* not C4 */
	CHECK_SW(sxmit(c, &s, "80E602000E09" PKG "00000000", NULL), 0x9000);
	CHECK_SW(sxmit(c, &s, "80E8800003C40100", NULL), 0x6A80);	/* not an LFDB */
	CHECK_SW(sxmit(c, &s, "80E603000E09" PKG "00000000", NULL), 0x6A86);
	CHECK_SW(sxmit(c, &s, "80E602010E09" PKG "00000000", NULL), 0x6A86);

	/* Load with SHA-256 in 200-byte blocks, with SHA-1, and without a hash. */
	CHECK_SW(load_file(c, &s, &lfdb, 2, 200, false), 0x9000);
	CHECK(c->nloadfiles == 1 && c->loadfiles[0].size == 3000 && c->loadfiles[0].nmodules == 2);
	CHECK_SW(load_file(c, &s, &lfdb, 0, 239, false), 0x6985);	/* already there */
	CHECK_SW(sxmit(c, &s, "80F22002024F0000", &d), 0x9000);
	CHECK_HEX(d.data, d.len, "E31D4F09" PKG "9F700101CE020100CC08" ISD);
	CHECK_SW(sxmit(c, &s, "80F21002024F0000", &d), 0x9000);
	/* GP 2.3.1 Table 11-36: the module AIDs (84) come before the SD's AID (CC). */
	CHECK_HEX(d.data, d.len, "E3354F09" PKG "9F700101CE020100840A" APPLET "840A" APPLET2
	    "CC08" ISD);
	CHECK_SW(sxmit(c, &s, "80F21000024F0000", &d), 0x9000);
	CHECK_HEX(d.data, d.len, "09" PKG "0100020A" APPLET "0A" APPLET2);

	/* INSTALL [for install]: unknown load file, unknown module, bad fields. */
	CHECK_SW(sxmit(c, &s, "80E60C002609A00000015153504B48" "0A" APPLET "0A" APPLET
	    "0100" "02C900" "00", NULL), 0x6A88);
	CHECK_SW(sxmit(c, &s, "80E60C002609" PKG "0A" PKG "03" "0A" APPLET "0100" "02C900" "00",
	    NULL), 0x6A88);
	CHECK_SW(sxmit(c, &s, "80E60C002409" PKG "0A" APPLET "0A" APPLET "0100" "00" "00", NULL),
	    0x6A80);	/* no C9 */
	CHECK_SW(sxmit(c, &s, "80E60C002709" PKG "0A" APPLET "0A" APPLET "020000" "02C900" "00",
	    NULL), 0x6A80);	/* 2-byte privileges */
	CHECK_SW(sxmit(c, &s, "80E60C002609" PKG "0A" APPLET "0A" APPLET "0180" "02C900" "00",
	    NULL), 0x6A80);	/* security domain */
	CHECK_SW(sxmit(c, &s, "80E60C002409" PKG "0A" APPLET "08" ISD "0100" "02C900" "00",
	    NULL), 0x6985);	/* the ISD's AID */
	/* Install and make selectable in one; the instance takes the module's AID. */
	CHECK_SW(sxmit(c, &s, "80E60C002909" PKG "0A" APPLET "0A" APPLET "0100" "05C903010203"
	    "00", &d), 0x9000);
	CHECK_SW(sxmit(c, &s, "80E60C002909" PKG "0A" APPLET "0A" APPLET "0100" "05C903010203"
	    "00", &d), 0x6985);	/* already installed */
	/* Install only, then make selectable. */
	CHECK_SW(sxmit(c, &s, "80E604002609" PKG "0A" APPLET2 "0A" APPLET2 "0100" "02C900" "00",
	    NULL), 0x9000);
	CHECK(c->napps == 2 && c->apps[1].life_cycle == 0x03);
	CHECK_SW(sxmit(c, &s, "80E60800110000" "0A" APPLET2 "0100" "0000", NULL), 0x9000);
	CHECK(c->apps[1].life_cycle == 0x07);
	CHECK_SW(sxmit(c, &s, "80E60800110000" "0A" APPLET2 "0100" "0000", NULL), 0x6985);
	CHECK_SW(sxmit(c, &s, "80F24002024F0000", &d), 0x9000);
	CHECK_HEX(d.data, d.len, "E32A4F0A" APPLET "9F700107C503000000C409" PKG "CC08" ISD
	    "E32A4F0A" APPLET2 "9F700107C503000000C409" PKG "CC08" ISD);
	CHECK_SW(sxmit(c, &s, "80F24003024F0000", &d), 0x6985);	/* next, nothing pending */
	CHECK_SW(sxmit(c, &s, "80F24002074F05A000000152", &d), 0x6A88);
	CHECK_SW(sxmit(c, &s, "80F240020C4F0AA00000015153504B4702", &d), 0x9000);
	CHECK(d.len == 0x2C);
	CHECK_SW(sxmit(c, &s, "80F24102024F00", &d), 0x6A86);
	CHECK_SW(sxmit(c, &s, "80F24006024F00", &d), 0x6A86);
	CHECK_SW(sxmit(c, &s, "80F24002025C00", &d), 0x6A80);
	CHECK_SW(sxmit(c, &s, "80F2400200", &d), 0x6700);

	/*
	 * STORE DATA to the instance, in two blocks (DGI); the last block ends
	 * the forwarding: the next sequence goes to the ISD.
	 */
#define PERSO "80E620001000000A" APPLET "000000"
	CHECK_SW(sxmit(c, &s, PERSO, &d), 0x9000);
	CHECK(c->perso.target == 0);
	CHECK_SW(sxmit(c, &s, "80E2080105010102AABB", NULL), 0x6A86);	/* block 01 first */
	CHECK_SW(sxmit(c, &s, "80E2080005010102AABB", NULL), 0x9000);
	CHECK_SW(sxmit(c, &s, "80E2880104010202CC", NULL), 0x6A80);	/* DGI cut off */
	CHECK_SW(sxmit(c, &s, "80E2880105010202CCDD", NULL), 0x9000);
	CHECK(c->apps[0].stored.n == 2 && c->apps[0].stored.blocks[1].p1 == 0x88);
	CHECK(c->perso.target == -1);
	CHECK_SW(sxmit(c, &s, "80E2980003420100", NULL), 0x6A86);	/* structure 18 */
	CHECK_SW(sxmit(c, &s, "80E2900003420100", NULL), 0x9000);	/* BER-TLV, to the ISD */
	CHECK(c->apps[0].stored.n == 2 && c->isd_stored.n == 1);
	/*
	 * An object may continue in the next block (DGI 0103 of 4 bytes, cut
	 * after its first value byte; a TLV cut inside its length) ...
	 */
	CHECK_SW(sxmit(c, &s, PERSO, &d), 0x9000);
	CHECK_SW(sxmit(c, &s, "80E2080004010304AA", NULL), 0x9000);
	CHECK(c->perso.open.len == 4);
	CHECK_SW(sxmit(c, &s, "80E2080107BBCCDD020101EE", NULL), 0x9000);
	CHECK(c->perso.open.len == 0);
	CHECK_SW(sxmit(c, &s, "80E28802040201010F", NULL), 0x9000);
	CHECK(c->apps[0].stored.n == 5);
	CHECK_SW(sxmit(c, &s, PERSO, &d), 0x9000);
	CHECK_SW(sxmit(c, &s, "80E2100003DF0181", NULL), 0x9000);
	CHECK_SW(sxmit(c, &s, "80E290010302ABCD", NULL), 0x9000);
	CHECK(c->apps[0].stored.n == 7);
	/* ... but not past the last block, nor past an encrypted block. */
	CHECK_SW(sxmit(c, &s, PERSO, &d), 0x9000);
	CHECK_SW(sxmit(c, &s, "80E2080004010304AA", NULL), 0x9000);
	CHECK_SW(sxmit(c, &s, "80E2880102BBCC", NULL), 0x6A80);
	CHECK_SW(sxmit(c, &s, "80E2E80108000102030405060708", NULL), 0x6A80);
	CHECK(c->apps[0].stored.n == 8);
	CHECK_SW(sxmit(c, &s, "80E2880103BBCCDD", NULL), 0x9000);
	CHECK(c->perso.open.len == 0 && c->apps[0].stored.n == 9);
	/* Malformed BER-TLV (length form 85), not cut off: refused at once. */
	CHECK_SW(sxmit(c, &s, PERSO, &d), 0x9000);
	CHECK_SW(sxmit(c, &s, "80E2100003DF0185", NULL), 0x6A80);
	CHECK(c->perso.open.len == 0 && c->perso.next_block == 0);
	/* Cut off (DF01, length 81 02, no value yet), then the last block: refused there. */
	CHECK_SW(sxmit(c, &s, "80E2100003DF0181", NULL), 0x9000);
	CHECK_SW(sxmit(c, &s, "80E290010102", NULL), 0x6A80);
	CHECK(c->perso.open.len == 3);
	/* A new INSTALL [for personalization] starts a new sequence. */
	CHECK_SW(sxmit(c, &s, PERSO, &d), 0x9000);
	CHECK(c->perso.open.len == 0 && c->perso.next_block == 0);
	CHECK_SW(sxmit(c, &s, "80E2900003420100", NULL), 0x9000);
	CHECK(c->apps[0].stored.n == 11 && c->isd_stored.n == 1);
#undef PERSO
	CHECK_SW(sxmit(c, &s, "80E620000F000009" PKG "000000", &d), 0x6A88);

	/* SELECT the instance; it has no commands; SELECT the ISD again. */
	CHECK_SW(xmit(c, "00A404000A" APPLET "00", &d), 0x9000);
	CHECK_SW(xmit(c, "80CA00CF00", &d), 0x6D00);
	CHECK_SW(xmit(c, "00A4040000", &d), 0x9000);
	CHECK_SW(open_session(c, &keys, SCP03, 0x70, 0x13, &s, NULL), 0x9000);
	CHECK_SW(sxmit(c, &s, "80E2900003420100", NULL), 0x9000);	/* to the ISD */
	CHECK(c->isd_stored.n == 2);

	/* DELETE. */
	CHECK_SW(sxmit(c, &s, "80E400000A4F08" ISD, NULL), 0x6985);
	CHECK_SW(sxmit(c, &s, "80E400000B4F09A00000015153504B48", NULL), 0x6A88);
	CHECK_SW(sxmit(c, &s, "80E400000B4F09" PKG, NULL), 0x6985);	/* has applications */
	CHECK_SW(sxmit(c, &s, "80E400400B4F09" PKG, NULL), 0x6A86);
	CHECK_SW(sxmit(c, &s, "80E400000B4E09" PKG, NULL), 0x6A80);
	CHECK_SW(sxmit(c, &s, "80E40000", NULL), 0x6700);
	CHECK_SW(sxmit(c, &s, "80E400000C4F0A" APPLET2 "00", &d), 0x9000);
	CHECK_HEX(d.data, d.len, "00");
	CHECK(c->napps == 1);
	CHECK_SW(sxmit(c, &s, "80E400800B4F09" PKG, NULL), 0x9000);
	CHECK(c->napps == 0 && c->nloadfiles == 0);
	CHECK_SW(sxmit(c, &s, "80F22002024F0000", &d), 0x6A88);

	/* GET STATUS paging: many applications do not fit one response. */
	CHECK_SW(load_file(c, &s, &lfdb, 1, 239, false), 0x9000);
	for (k = 0; k < 12; k++) {
		/* Instance AIDs F00000015153504B47kk, distinct from the module's. */
		snprintf(cmd, sizeof(cmd), "80E60C002609" PKG "0A" APPLET "0AF00000015153504B47%02X"
		    "0100" "02C900" "00", k);
		CHECK_SW(sxmit(c, &s, cmd, NULL), 0x9000);
	}
	CHECK(c->napps == 12);
	CHECK_SW(sxmit(c, &s, "80F24002024F0000", &d), 0x6310);	/* level 13: 248 bytes */
	CHECK(d.len == 5 * 0x2C);
	CHECK_SW(sxmit(c, &s, "80F24003024F0000", &d), 0x6310);
	CHECK(d.len == 5 * 0x2C);
	CHECK_SW(sxmit(c, &s, "80F24003024F0000", &d), 0x9000);
	CHECK(d.len == 2 * 0x2C);
	CHECK_SW(sxmit(c, &s, "80F24003024F0000", &d), 0x6985);
	CHECK_SW(sxmit(c, &s, "80F24000024F0000", &d), 0x9000);	/* legacy: 14 bytes each */
	CHECK(d.len == 12 * 13);
	CHECK_SW(sxmit(c, &s, "80E400800B4F09" PKG, NULL), 0x9000);

	/* Memory quota. */
	c->id.memory = 2999;
	CHECK_SW(load_file(c, &s, &lfdb, 0, 200, false), 0x6A84);
	CHECK_SW(sxmit(c, &s, "80E602001409" PKG "000006EF04C6020BB800", NULL), 0x6A84);
	CHECK_SW(sxmit(c, &s, "80E602001409" PKG "000006EF04C602012C00", NULL), 0x9000);
	c->id.memory = 3000;
	CHECK_SW(load_file(c, &s, &lfdb, 0, 239, false), 0x9000);
	CHECK(cardsim_memory_used(c) == 3000);
	CHECK(c->dirty);
	cpk_buf_free(&lfdb);
	cpk_buf_free(&d);
	scp_session_clear(&s);
	scp_keyset_clear(&keys);
	cardsim_free(&c);
}

/* --- PUT KEY --- */

static void
put_key_command(const struct scp_session *s, uint8_t old_kvn, uint8_t new_kvn,
    const struct scp_keyset *nk, char *cmd, size_t cap, bool bad_kcv)
{
	const uint8_t *k[3] = { nk->enc, nk->mac, nk->dek };
	uint8_t enc[32], kcv[3], body[3 * (3 + 32 + 4) + 1];
	size_t n = 0, i;
	bool aes = s->version == SCP03;

	body[n++] = new_kvn;
	for (i = 0; i < 3; i++) {
		if (scp_encrypt_key(s, k[i], nk->len, enc, NULL) != CPK_OK ||
		    gp_kcv(nk->alg, k[i], nk->len, kcv, NULL) != CPK_OK)
			abort();
		body[n++] = aes ? 0x88 : 0x80;
		body[n++] = (uint8_t)(nk->len + (aes ? 1 : 0));
		if (aes)
			body[n++] = (uint8_t)nk->len;
		memcpy(body + n, enc, nk->len);
		n += nk->len;
		body[n++] = 3;
		memcpy(body + n, kcv, 3);
		if (bad_kcv && i == 1)
			body[n] ^= 1;
		n += 3;
	}
	snprintf(cmd, cap, "80D8%02X81%02X", old_kvn, (unsigned)n);
	append_hex(cmd, cap, body, n);
}

static void
test_put_key(void)
{
	struct cardsim *c = new_card(config_scp03);
	struct scp_keyset keys, nk, nk2;
	struct scp_session s;
	struct scp_iu_response iu;
	struct cpk_buf d = CPK_BUF_INIT;
	char cmd[400];
	uint8_t kcv[3];

	host_keys(&keys, GP_KEY_AES, 0x30);
	host_keys(&nk, GP_KEY_AES, 0x31);
	nk.enc[0] ^= 0xFF;
	nk.mac[1] ^= 0xFF;
	nk.dek[2] ^= 0xFF;
	CHECK_SW(open_session(c, &keys, SCP03, 0x70, 0x03, &s, &iu), 0x9000);
	CHECK_SW(open_session(c, &keys, SCP03, 0x70, 0x03, &s, &iu), 0x9000);
	CHECK(c->keysets[0].counter == 2);
	put_key_command(&s, 0x30, 0x31, &nk, cmd, sizeof(cmd), true);
	CHECK_SW(sxmit(c, &s, cmd, &d), 0x6A80);	/* check value mismatch */
	put_key_command(&s, 0x32, 0x31, &nk, cmd, sizeof(cmd), false);
	CHECK_SW(sxmit(c, &s, cmd, &d), 0x6A88);	/* no key set 32 */
	put_key_command(&s, 0x30, 0x31, &nk, cmd, sizeof(cmd), false);
	cmd[6] = '0';
	CHECK_SW(sxmit(c, &s, cmd, &d), 0x6A86);	/* P2 01: single keys */
	/* Replace key set 30 by 31: the answer is KVN and check values; counter 0. */
	put_key_command(&s, 0x30, 0x31, &nk, cmd, sizeof(cmd), false);
	CHECK_SW(sxmit(c, &s, cmd, &d), 0x9000);
	CHECK(d.len == 10 && d.data[0] == 0x31);
	CHECK_OK(gp_kcv(GP_KEY_AES, nk.mac, 16, kcv, NULL));
	CHECK(d.len == 10 && memcmp(d.data + 4, kcv, 3) == 0);
	CHECK(c->nkeysets == 1 && c->keysets[0].keys.kvn == 0x31 && c->keysets[0].counter == 0);
	/* The old keys are gone, the new ones open a session with counter 000001. */
	CHECK_SW(open_session(c, &keys, SCP03, 0x70, 0x03, &s, &iu), 0x6A88);
	CHECK_SW(open_session(c, &nk, SCP03, 0x70, 0x03, &s, &iu), 0x9000);
	CHECK(iu_counter(&iu) == 1);
	/* Add a key set (P1 00); adding an existing one is refused. */
	host_keys(&nk2, GP_KEY_AES, 0x32);
	put_key_command(&s, 0x00, 0x31, &nk2, cmd, sizeof(cmd), false);
	CHECK_SW(sxmit(c, &s, cmd, &d), 0x6985);
	put_key_command(&s, 0x00, 0x32, &nk2, cmd, sizeof(cmd), false);
	CHECK_SW(sxmit(c, &s, cmd, &d), 0x9000);
	CHECK(c->nkeysets == 2);
	CHECK_SW(open_session(c, &nk2, SCP03, 0x70, 0x01, &s, &iu), 0x9000);
	CHECK(iu_counter(&iu) == 1);
	CHECK_SW(sxmit(c, &s, "80D800810101", &d), 0x6A80);
	CHECK_SW(sxmit(c, &s, "80D8808100", &d), 0x6A86);
	cardsim_free(&c);

	/* SCP02: keys under the session DEK. */
	c = new_card(config_scp02);
	host_keys(&keys, GP_KEY_3DES, 0x20);
	host_keys(&nk, GP_KEY_3DES, 0x21);
	nk.enc[5] ^= 0x10;
	CHECK_SW(open_session(c, &keys, SCP02, 0x55, 0x03, &s, &iu), 0x9000);
	put_key_command(&s, 0x20, 0x21, &nk, cmd, sizeof(cmd), false);
	CHECK_SW(sxmit(c, &s, cmd, &d), 0x9000);
	CHECK(c->keysets[0].counter == 0 && c->keysets[0].keys.kvn == 0x21);
	CHECK_SW(open_session(c, &nk, SCP02, 0x55, 0x01, &s, &iu), 0x9000);
	CHECK(iu_counter(&iu) == 0 && c->keysets[0].counter == 1);
	cardsim_free(&c);
	cpk_buf_free(&d);
	scp_session_clear(&s);
	scp_keyset_clear(&keys);
	scp_keyset_clear(&nk);
	scp_keyset_clear(&nk2);
}

/* --- fault injection --- */

/* GENERATE KEY PAIR: the instance's deterministic public key, under R-MAC and R-ENC. */
static void
test_key_pair(void)
{
	struct cardsim *c = new_card(config_scp03);
	struct scp_keyset keys;
	struct scp_session s;
	struct cpk_buf lfdb = CPK_BUF_INIT, d = CPK_BUF_INIT;
	uint8_t in[10 + 10 + 1], want[65];

	test_unhex(KDD APPLET, in, 20);
	want[0] = 0x04;
	in[20] = 'x';
	CHECK_OK(cpk_sha256(in, sizeof(in), want + 1, NULL));
	in[20] = 'y';
	CHECK_OK(cpk_sha256(in, sizeof(in), want + 33, NULL));
	host_keys(&keys, GP_KEY_AES, 0x30);
	make_lfdb(&lfdb, 1000, 1);
	/* Outside the secure channel: refused. */
	CHECK_SW(xmit(c, "004600000A" APPLET "00", NULL), 0x6982);
	CHECK_SW(open_session(c, &keys, SCP03, 0x70, 0x33, &s, NULL), 0x9000);
	CHECK_SW(sxmit(c, &s, "004600000A" APPLET "00", NULL), 0x6A88);	/* not installed */
	CHECK_SW(load_file(c, &s, &lfdb, 2, 200, false), 0x9000);
	CHECK_SW(sxmit(c, &s, "80E60C002909" PKG "0A" APPLET "0A" APPLET "0100" "05C903010203"
	    "00", NULL), 0x9000);
	CHECK_SW(sxmit(c, &s, "004600000A" APPLET "00", &d), 0x9000);
	CHECK_MEM(d.data, d.len, want, sizeof(want));
	CHECK_SW(sxmit(c, &s, "804600000A" APPLET "00", &d), 0x9000);	/* the same key again */
	CHECK_MEM(d.data, d.len, want, sizeof(want));
	CHECK_SW(sxmit(c, &s, "004601000A" APPLET "00", NULL), 0x6A86);
	CHECK_SW(sxmit(c, &s, "0046000000", NULL), 0x6A80);		/* no AID */
	CHECK_SW(sxmit(c, &s, "0046000004A000000100", NULL), 0x6A80);	/* 4 bytes */
	cpk_buf_free(&lfdb);
	cpk_buf_free(&d);
	cardsim_free(&c);
}

static void
test_faults(void)
{
	struct cardsim *c = new_card(config_scp03);
	struct scp_keyset keys;
	struct scp_session s;
	struct cpk_buf lfdb = CPK_BUF_INIT;
	struct cpk_buf resp = CPK_BUF_INIT;
	static const uint8_t hc[8];
	struct scp_iu_response iu;

	host_keys(&keys, GP_KEY_AES, 0x30);
	c->faults.sw_at = 2;
	c->faults.sw = 0x6A84;
	c->faults.drop_after = 3;
	CHECK_SW(xmit(c, "00A4040000", NULL), 0x9000);
	CHECK(c->action == CS_ACTION_REPLY);
	CHECK_SW(xmit(c, "00A4040000", NULL), 0x6A84);
	CHECK_SW(xmit(c, "00A4040000", NULL), 0x9000);
	CHECK(c->action == CS_ACTION_REPLY_DROP);
	CHECK_SW(xmit(c, "00A4040000", NULL), 0x9000);
	CHECK(c->action == CS_ACTION_REPLY);

	c->faults.refuse_iu = true;
	c->faults.refuse_iu_sw = 0x6982;
	CHECK_SW(initialize_update(c, 0x30, hc, &iu), 0x6982);
	CHECK(c->keysets[0].counter == 0);
	c->faults.refuse_iu = false;

	make_lfdb(&lfdb, 1000, 1);
	c->faults.vanish_load_block = 2;
	CHECK_SW(open_session(c, &keys, SCP03, 0x70, 0x01, &s, &iu), 0x9000);
	CHECK_SW(load_file(c, &s, &lfdb, 0, 200, false), 0);
	CHECK(c->action == CS_ACTION_VANISH);
	CHECK(c->nloadfiles == 0 && !c->load.active && c->sc.state == SCP_STATE_NONE);
	CHECK(c->faults.vanish_load_block == -1);
	/* After "reinsertion" the load goes through. */
	CHECK_SW(open_session(c, &keys, SCP03, 0x70, 0x01, &s, &iu), 0x9000);
	CHECK_SW(load_file(c, &s, &lfdb, 0, 200, false), 0x9000);
	CHECK(c->nloadfiles == 1);
	cpk_buf_free(&lfdb);
	cpk_buf_free(&resp);
	scp_session_clear(&s);
	cardsim_free(&c);
}

/* --- state file --- */

static void
check_config_error(const char *text, const char *needle, unsigned line, int srcline)
{
	struct cardsim *c = cardsim_new();
	struct cpk_error err;

	if (c == NULL)
		abort();
	cpk_error_clear(&err);
	test_check_status(cardsim_state_parse(c, "t.yaml", (const uint8_t *)text, strlen(text),
	    &err), CPK_ERR_PARSE, "cardsim_state_parse", __FILE__, srcline);
	test_check_msg(&err, needle, __FILE__, srcline);
	test_check(line == 0 || err.line == line, "error line", __FILE__, srcline);
	cardsim_free(&c);
}

static void
test_state(void)
{
	struct cardsim *c = new_card(config_scp03), *c2;
	struct scp_keyset keys;
	struct scp_session s;
	struct cpk_buf lfdb = CPK_BUF_INIT;
	struct cpk_error err;
	char *text1 = NULL, *text2 = NULL;
	size_t len1 = 0, len2 = 0;
	FILE *f;

	install_hello(c, &keys, &s, &lfdb, 500);
	CHECK_SW(sxmit(c, &s, "80E620001000000A" APPLET "000000", NULL), 0x9000);
	CHECK_SW(sxmit(c, &s, "80E2080005010102AABB", NULL), 0x9000);
	CHECK_SW(sxmit(c, &s, "80E2900103420100", NULL), 0x9000);

	/* Write, read back, write again: the same text. */
	f = open_memstream(&text1, &len1);
	CHECK(f != NULL && cardsim_state_write(c, f, NULL) == CPK_OK);
	fclose(f);
	c2 = cardsim_new();
	cpk_error_clear(&err);
	CHECK_OK(cardsim_state_parse(c2, "state", (const uint8_t *)text1, len1, &err));
	f = open_memstream(&text2, &len2);
	CHECK(f != NULL && cardsim_state_write(c2, f, NULL) == CPK_OK);
	fclose(f);
	CHECK(len1 == len2 && memcmp(text1, text2, len1) == 0);
	CHECK(strstr(text1, "counter: 1\n") != NULL);
	CHECK(strstr(text1, "  - aid: " PKG "\n    version: 1.0\n    size: 500\n") != NULL);
	CHECK(strstr(text1, "      - p1: 08\n        block: 00\n        data: 010102AABB\n") !=
	    NULL);
	CHECK(c2->napps == 1 && c2->apps[0].stored.n == 2 && c2->nloadfiles == 1);
	free(text1);
	free(text2);
	cardsim_free(&c2);

	check_config_error("card:\n  scp: 3\n  i: 70\n  colour: red\nkey-sets: []\n",
	    "unknown key 'colour' in 'card'", 4, __LINE__);
	check_config_error("card:\n  scp: 3\n  i: 70\n  i: 10\n", "duplicate key 'i'", 4, __LINE__);
	check_config_error("card:\n  scp: 4\n  i: 70\n", "'scp' must be 02 or 03", 2, __LINE__);
	check_config_error("card:\n  scp: 3\n  i: 15\n", "SCP03 i=15 is not supported", 3,
	    __LINE__);
	check_config_error("card:\n  scp: 3\n  i: 70\n  isd: A0000\n", "'isd'", 4, __LINE__);
	check_config_error("card:\n  scp: 3\n  i: 70\n", "'key-sets' must be a list", 0,
	    __LINE__);
	check_config_error("card:\n  scp: 3\n  i: 70\nkey-sets:\n  - kvn: 30\n    type: 3des\n"
	    "    key: " KEY_ENC "\n", "an SCP03 card takes aes key sets", 6, __LINE__);
	check_config_error("card:\n  scp: 3\n  i: 70\nkey-sets:\n  - kvn: 30\n    type: aes\n"
	    "    key: " KEY_ENC "\n    enc: " KEY_ENC "\n", "either 'key'", 5, __LINE__);
	check_config_error("card:\n  scp: 3\n  i: 70\nkey-sets:\n  - kvn: 30\n    type: aes\n"
	    "    key: " KEY_ENC "\n    diversification: emv\n", "emv diversification applies to "
	    "3DES", 8, __LINE__);
	check_config_error("card:\n  scp: 3\n  i: 70\nkey-sets:\n  - kvn: 30\n    type: aes\n"
	    "    key: " KEY_ENC "\n    counter: 16777216\n", "'counter' must be a decimal number",
	    8, __LINE__);
	check_config_error("card: [\n", "", 0, __LINE__);
	check_config_error("card:\n  scp: 3\n  i: 70\nkey-sets:\n  - kvn: 30\n    type: aes\n"
	    "    key: " KEY_ENC "\napplications:\n  - aid: " APPLET "\n    load-file: " PKG "\n"
	    "    module: " APPLET "\n    life-cycle: 07\n    privileges: 00\n",
	    "no load file with this AID", 10, __LINE__);
	check_config_error("card:\n  scp: 3\n  i: 70\nkey-sets:\n  - kvn: 30\n    type: aes\n"
	    "    key: " KEY_ENC "\n---\ncard: {}\n", "more than one YAML document", 0, __LINE__);
	cpk_buf_free(&lfdb);
	scp_session_clear(&s);
	cardsim_free(&c);
}

/*
 * Life cycles (GP 2.3.1 chapter 5, 11.10): SET STATUS of the card from
 * OP_READY on and of an application, what a locked application and a
 * locked or terminated card answer; DELETE of a key set; INSTALL [for
 * extradition] and [for registry update].
 */
static void
test_life_cycle(void)
{
	static const char config[] =
	    "card:\n  isd: " ISD "\n  kdd: " KDD "\n  scp: 3\n  i: 70\n  life-cycle: 01\n"
	    "key-sets:\n"
	    "  - {kvn: 30, type: aes, enc: " KEY_ENC ", mac: " KEY_MAC ", dek: " KEY_DEK "}\n"
	    "  - {kvn: 31, type: aes, enc: " KEY_ENC ", mac: " KEY_MAC ", dek: " KEY_DEK "}\n";
	struct cardsim *c = new_card(config), *c2;
	struct scp_keyset keys;
	struct scp_session s;
	struct cpk_buf lfdb = CPK_BUF_INIT, d = CPK_BUF_INIT;
	struct cpk_error err;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	CHECK(c->id.life_cycle == CS_LC_CARD_OP_READY);
	install_hello(c, &keys, &s, &lfdb, 800);
	CHECK_SW(sxmit(c, &s, "80F28002024F0000", &d), 0x9000);
	CHECK_HEX(d.data, d.len, "E3134F08" ISD "9F700101C5039EFE80");

	/* The card: OP_READY -> INITIALIZED -> SECURED, never back. */
	CHECK_SW(sxmit(c, &s, "80F08001", NULL), 0x6A86);		/* 01 is no target */
	CHECK_SW(sxmit(c, &s, "80F0800703A00000", NULL), 0x6A80);	/* not the ISD's AID */
	CHECK_SW(sxmit(c, &s, "80F0807F", NULL), 0x6985);		/* OP_READY -> LOCKED */
	CHECK_SW(sxmit(c, &s, "80F0800708" ISD, NULL), 0x9000);
	CHECK(c->id.life_cycle == CS_LC_CARD_INITIALIZED && c->dirty);
	CHECK_SW(sxmit(c, &s, "80F08007", NULL), 0x6985);		/* already */
	CHECK_SW(sxmit(c, &s, "80F0800F", NULL), 0x9000);
	CHECK_SW(sxmit(c, &s, "80F08007", NULL), 0x6985);		/* SECURED -> INITIALIZED */
	CHECK_SW(sxmit(c, &s, "80F02000", NULL), 0x6A86);		/* P1 20 */

	/* CARD_LOCKED: the ISD answers SELECT with 6283, no application is selectable. */
	CHECK_SW(sxmit(c, &s, "80F0807F", NULL), 0x9000);
	CHECK_SW(sxmit(c, &s, "80F28002024F0000", &d), 0x9000);
	CHECK(d.len > 15 && d.data[15] == 0x7F);
	CHECK_SW(xmit(c, "00A404000A" APPLET, NULL), 0x6A82);
	CHECK_SW(xmit(c, "00A4040008" ISD, &d), 0x6283);
	CHECK(d.len > 2 && d.data[0] == 0x6F);
	CHECK_SW(open_session(c, &keys, SCP03, 0x70, 0x01, &s, NULL), 0x9000);
	CHECK_SW(sxmit(c, &s, "80F0800F", NULL), 0x9000);
	CHECK_SW(xmit(c, "00A404000A" APPLET, NULL), 0x9000);
	CHECK_SW(xmit(c, "00A4040008" ISD, NULL), 0x9000);

	/* An application: locked, it is listed with bit 80 and cannot be selected. */
	CHECK_SW(open_session(c, &keys, SCP03, 0x70, 0x01, &s, NULL), 0x9000);
	CHECK_SW(sxmit(c, &s, "80F040800A" APPLET, NULL), 0x9000);
	CHECK(c->apps[0].life_cycle == 0x87);
	CHECK_SW(sxmit(c, &s, "80F040800A" APPLET, NULL), 0x6985);	/* already locked */
	CHECK_SW(sxmit(c, &s, "80F24002024F0000", &d), 0x9000);
	CHECK(d.len > 18 && d.data[17] == 0x87);
	CHECK_SW(sxmit(c, &s, "80F040800A" APPLET2, NULL), 0x6A88);
	CHECK_SW(sxmit(c, &s, "80F0408008" ISD, NULL), 0x6985);
	CHECK_SW(sxmit(c, &s, "80F040050A" APPLET, NULL), 0x6A86);
	CHECK_SW(xmit(c, "00A404000A" APPLET, NULL), 0x6A82);
	CHECK_SW(open_session(c, &keys, SCP03, 0x70, 0x01, &s, NULL), 0x9000);
	CHECK_SW(sxmit(c, &s, "80F040000A" APPLET, NULL), 0x9000);
	CHECK_SW(sxmit(c, &s, "80F040000A" APPLET, NULL), 0x6985);	/* not locked */
	CHECK(c->apps[0].life_cycle == 0x07);

	/* DELETE of a key set: not the one in use, 6A88 when absent, D0 unsupported. */
	CHECK_SW(sxmit(c, &s, "80E4000003D20130", NULL), 0x6985);
	CHECK_SW(sxmit(c, &s, "80E4000003D0010131", NULL), 0x6A80);
	CHECK_SW(sxmit(c, &s, "80E4000004D2020031", NULL), 0x6A80);
	CHECK_SW(sxmit(c, &s, "80E4008003D20131", NULL), 0x6A86);
	CHECK_SW(sxmit(c, &s, "80E4000003D20131", NULL), 0x9000);
	CHECK(c->nkeysets == 1 && c->keysets[0].keys.kvn == 0x30);
	CHECK_SW(sxmit(c, &s, "80E4000003D20131", NULL), 0x6A88);

	/* INSTALL [for extradition]: only to the ISD (the card has no other SD). */
	CHECK_SW(sxmit(c, &s, "80E6100018" "08" ISD "00" "0A" APPLET "000000", NULL), 0x9000);
	CHECK_SW(sxmit(c, &s, "80E6100018" "08A000000151000099" "00" "0A" APPLET "000000", NULL),
	    0x6A88);
	CHECK_SW(sxmit(c, &s, "80E6100018" "08" ISD "00" "0A" APPLET2 "000000", NULL), 0x6A88);
	CHECK_SW(sxmit(c, &s, "80E6100019" "08" ISD "0100" "0A" APPLET "000000", NULL), 0x6A80);

	/* INSTALL [for registry update]: new privileges, shown by GET STATUS. */
	CHECK_SW(sxmit(c, &s, "80E6400011" "0000" "0A" APPLET "0104" "0000", NULL), 0x9000);
	CHECK(c->apps[0].priv[0] == 0x04 && c->apps[0].priv_len == 1);
	CHECK_SW(sxmit(c, &s, "80E6400011" "0000" "0A" APPLET "0180" "0000", NULL), 0x6A80);
	CHECK_SW(sxmit(c, &s, "80E6400012" "0000" "0A" APPLET "020000" "0000", NULL), 0x6A80);
	CHECK_SW(sxmit(c, &s, "80E6400013" "0000" "0A" APPLET "00" "03C70100" "00", NULL), 0x6A80);
	CHECK_SW(sxmit(c, &s, "80E6400010" "0000" "0A" APPLET2 "00" "0000", NULL), 0x6A88);
	CHECK_SW(sxmit(c, &s, "80E6400018" "08A000000151000099" "00" "0A" APPLET "00" "0000",
	    NULL), 0x6A88);
	CHECK_SW(sxmit(c, &s, "80E6400014" "0000" "0A" APPLET "00" "04EF020100" "00", NULL),
	    0x9000);

	/* The state file keeps the card's state and a locked application. */
	CHECK_SW(sxmit(c, &s, "80F040800A" APPLET, NULL), 0x9000);
	CHECK_SW(sxmit(c, &s, "80F0807F", NULL), 0x9000);
	f = open_memstream(&text, &len);
	CHECK(f != NULL && cardsim_state_write(c, f, NULL) == CPK_OK);
	fclose(f);
	CHECK(text != NULL && strstr(text, "  life-cycle: 7F\n") != NULL &&
	    strstr(text, "    life-cycle: 87\n") != NULL);
	c2 = cardsim_new();
	cpk_error_clear(&err);
	CHECK_OK(cardsim_state_parse(c2, "state", (const uint8_t *)text, len, &err));
	CHECK(c2->id.life_cycle == CS_LC_CARD_LOCKED && c2->apps[0].life_cycle == 0x87);
	free(text);
	cardsim_free(&c2);
	check_config_error("card:\n  scp: 3\n  i: 70\n  life-cycle: 05\n",
	    "'life-cycle' must be a card state: 01, 07, 0F, 7F or FF", 4, __LINE__);

	/* TERMINATED: GET DATA only. */
	CHECK_SW(sxmit(c, &s, "80F080FF", NULL), 0x9000);
	/* The channel that terminated the card closes: plain GET DATA is answered. */
	CHECK_SW(xmit(c, "80CA9F7F00", NULL), 0x6A88);	/* answered: this card has no CPLC */
	CHECK_SW(xmit(c, "80CA006600", NULL), 0x9000);
	CHECK_SW(xmit(c, "00A4040008" ISD, NULL), 0x6985);
	CHECK_SW(xmit(c, "8050300008010203040506070800", NULL), 0x6985);
	CHECK_SW(xmit(c, "84F080FF00", NULL), 0x6985);
	CHECK(c->id.life_cycle == CS_LC_CARD_TERMINATED);

	cpk_buf_free(&lfdb);
	cpk_buf_free(&d);
	cardsim_free(&c);
}

/* E2 { 4F sd, C3 RSA-PKCS1-SHA256(key, SHA-256(lfdb)) } into out. */
static void
dap_block_for(EVP_PKEY *key, const char *sd_hex, const struct cpk_buf *lfdb, struct cpk_buf *out)
{
	uint8_t md[32], sig[512], sd[16];
	unsigned int mdlen = 0;
	size_t siglen = sizeof(sig), sdlen = test_unhex(sd_hex, sd, sizeof(sd));
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	struct cpk_buf in = CPK_BUF_INIT;

	cpk_buf_reset(out);
	if (ctx == NULL || EVP_Digest(lfdb->data, lfdb->len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(ctx, sig, &siglen, md, mdlen) != 1 ||
	    cpk_tlv_put(&in, 0x4F, sd, sdlen, NULL) != CPK_OK ||
	    cpk_tlv_put(&in, 0xC3, sig, siglen, NULL) != CPK_OK ||
	    cpk_tlv_put(out, 0xE2, in.data, in.len, NULL) != CPK_OK)
		abort();
	EVP_MD_CTX_free(ctx);
	cpk_buf_free(&in);
}

/*
 * Mandated DAP: a load needs the ISD's DAP block with a signature over the
 * INSTALL [for load] hash; a block changed in transit, a recomputed hash
 * without a new signature, no block, another SD's block only, no hash: refused.
 */
static void
test_dap(void)
{
	EVP_PKEY *key = EVP_RSA_gen(2048);
	struct cpk_buf lfdb = CPK_BUF_INIT, bad = CPK_BUF_INIT, dap = CPK_BUF_INIT,
	    other = CPK_BUF_INIT;
	struct scp_keyset keys;
	struct scp_session s;
	struct cardsim *c;
	unsigned char *der = NULL;
	char *config;
	int derlen;
	size_t n;

	CHECK(key != NULL);
	if (key == NULL || (derlen = i2d_PUBKEY(key, &der)) <= 0)
		return;
	n = strlen(config_scp03) + 16 + 2 * (size_t)derlen;
	config = malloc(n);
	CHECK(config != NULL);
	if (config == NULL)
		return;
	/* config_scp03 with "  dap-key: <DER hex>" after its card: lines. */
	snprintf(config, n, "%s", config_scp03);
	{
		char *ks = strstr(config, "key-sets:");
		char tail[600];

		snprintf(tail, sizeof(tail), "%s", strstr(config_scp03, "key-sets:"));
		*ks = '\0';
		strcat(config, "  dap-key: ");
		append_hex(config, n, der, (size_t)derlen);
		strcat(config, "\n");
		strcat(config, tail);
	}
	c = new_card(config);
	CHECK(c->id.dap_key_len == (size_t)derlen);
	host_keys(&keys, GP_KEY_AES, 0x30);
	make_lfdb(&lfdb, 900, 1);
	dap_block_for(key, ISD, &lfdb, &dap);
	dap_block_for(key, "A000000151000099", &lfdb, &other);
	CHECK_SW(open_session(c, &keys, SCP03, 0x70, 0x01, &s, NULL), 0x9000);
	/* No DAP block, no hash, another SD's block only: 6982. */
	CHECK_SW(load_file_ex(c, &s, &lfdb, 2, 200, false, NULL, NULL), 0x6982);
	CHECK_SW(load_file_ex(c, &s, &lfdb, 0, 200, false, &dap, NULL), 0x6982);
	CHECK_SW(load_file_ex(c, &s, &lfdb, 2, 200, false, &other, NULL), 0x6982);
	/* One byte of a block changed: the hash no longer matches (6A80); with the
	 * hash recomputed for the changed block, the signature no longer verifies. */
	cpk_buf_reset(&bad);
	CHECK(cpk_buf_append(&bad, lfdb.data, lfdb.len, NULL) == CPK_OK);
	bad.data[500] ^= 0x01;
	CHECK_SW(load_file_ex(c, &s, &bad, 2, 200, false, &dap, &lfdb), 0x6A80);
	CHECK_SW(load_file_ex(c, &s, &bad, 2, 200, false, &dap, NULL), 0x6982);
	CHECK(c->nloadfiles == 0);
	/* The ISD's block after another SD's: loaded. */
	CHECK(cpk_buf_append(&other, dap.data, dap.len, NULL) == CPK_OK);
	CHECK_SW(load_file_ex(c, &s, &lfdb, 2, 200, false, &other, NULL), 0x9000);
	CHECK(c->nloadfiles == 1);

	cardsim_free(&c);
	free(config);
	OPENSSL_free(der);
	EVP_PKEY_free(key);
	cpk_buf_free(&lfdb);
	cpk_buf_free(&bad);
	cpk_buf_free(&dap);
	cpk_buf_free(&other);
}

/* --- delegated management --- */

#define SD_PKG "A0000001515344"
#define SD_MODULE "A000000151534401"
#define SSD "A000000151535344"
#define SSD_NO_DM "A000000151535345"
#define RECEIPT_KEY "707172737475767778797A7B7C7D7E7F"

/*
 * hex (a plain INSTALL with an empty token, or a DELETE of 4F AID) with
 * its token signed by key (RSA PKCS#1 v1.5 SHA-1 over P1 P2 L data, GP
 * 2.3.1 C.4.1), written independently of compiler/dm.c; forge alters one
 * byte of the token.
 */
static void
with_token(EVP_PKEY *key, const char *hex, bool forge, char *out, size_t cap)
{
	uint8_t cmd[300], tdata[300], sig[256];
	size_t n = test_unhex(hex, cmd, sizeof(cmd)), lc = cmd[4], body, siglen = sizeof(sig);
	bool del = cmd[1] == 0xE4;
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	body = del ? lc : lc - 1;
	tdata[0] = cmd[2];
	tdata[1] = cmd[3];
	tdata[2] = (uint8_t)body;
	memcpy(tdata + 3, cmd + 5, body);
	if (n != 5 + lc || md == NULL ||
	    EVP_DigestSignInit(md, NULL, EVP_sha1(), NULL, key) != 1 ||
	    EVP_DigestSign(md, sig, &siglen, tdata, body + 3) != 1)
		abort();
	EVP_MD_CTX_free(md);
	if (forge)
		sig[siglen / 2] ^= 0x01;
	/* DELETE: 9E with a BER length (81 80 for a 128-byte token). */
	snprintf(out, cap, "%.8s%02X", hex, (unsigned)(body + (del ? 3 : 1) + siglen));
	append_hex(out, cap, cmd + 5, body);
	snprintf(out + strlen(out), cap - strlen(out), "%s%02X", del ? "9E81" : "",
	    (unsigned)siglen);
	append_hex(out, cap, sig, siglen);
}

/*
 * The confirmation in resp verifies for the plain command hex (as dm.h
 * splits it) sent through security domain sd_hex.
 */
static cpk_status
receipt_check_sd(const char *hex, const char *sd_hex, const char *key_hex,
    const struct cpk_buf *resp, struct cpk_error *err)
{
	uint8_t cmd[300], key[16], sd[16];
	size_t n = test_unhex(hex, cmd, sizeof(cmd));
	struct dm_command dc;
	cpk_status st;

	test_unhex(key_hex, key, sizeof(key));
	if ((st = dm_command_parse(cmd[1], cmd[2], cmd + 5, n - 5, &dc, err)) != CPK_OK)
		return st;
	dm_set_sd(&dc, sd, test_unhex(sd_hex, sd, sizeof(sd)));
	return dm_receipt_verify(GP_KEY_AES, key, &dc, resp->data, resp->len, err);
}

static cpk_status
receipt_check(const char *hex, const char *key_hex, const struct cpk_buf *resp,
    struct cpk_error *err)
{
	return receipt_check_sd(hex, SSD, key_hex, resp, err);
}

/*
 * A supplementary SD with Delegated Management: its INSTALL, LOAD and
 * DELETE need a token that verifies with the ISD's token key; forged,
 * missing, or through the ISD: 6A80; each delegated operation answers a
 * receipt (MAC with the receipt key over counter, card unique data, AIDs);
 * an SSD without the privilege: 6982.
 */
static void
test_delegated(void)
{
	static const char install[] = "80E60C002609" PKG "0A" APPLET "0A" APPLET "0100"
	    "02C900" "00";
	static const char del_app[] = "80E400000C4F0A" APPLET;
	static const char extradite[] = "80E6100018" "08" SSD "00" "0A" APPLET "000000";
	static const char reg_update[] = "80E6400016" "0000" "0A" APPLET "0104" "05EF03CF0101"
	    "00";
	EVP_PKEY *key = EVP_RSA_gen(1024);
	struct cpk_buf lfdb = CPK_BUF_INIT, d = CPK_BUF_INIT;
	struct scp_keyset keys;
	struct scp_session s;
	struct cpk_error err;
	struct cardsim *c;
	unsigned char *der = NULL;
	char *config, cmd[900], load[200];
	uint8_t md[20];
	size_t n;
	int derlen;

	CHECK(key != NULL);
	if (key == NULL || (derlen = i2d_PUBKEY(key, &der)) <= 0)
		return;
	n = strlen(config_scp03) + 1024 + 2 * (size_t)derlen;
	if ((config = malloc(n)) == NULL)
		abort();
	snprintf(config, n, "%.*s", (int)(strstr(config_scp03, "key-sets:") - config_scp03),
	    config_scp03);
	strcat(config, "  cin: 0102030405060708\n  receipt-key: " RECEIPT_KEY "\n  token-key: ");
	append_hex(config, n, der, (size_t)derlen);
	strcat(config, "\n");
	strcat(config, strstr(config_scp03, "key-sets:"));
	strcat(config, "load-files:\n  - aid: " SD_PKG "\n    version: 1.0\n    size: 100\n"
	    "    modules:\n      - " SD_MODULE "\n"
	    "applications:\n  - aid: " SSD "\n    load-file: " SD_PKG "\n    module: " SD_MODULE
	    "\n    life-cycle: 07\n    privileges: A00000\n"
	    "  - aid: " SSD_NO_DM "\n    load-file: " SD_PKG "\n    module: " SD_MODULE
	    "\n    life-cycle: 07\n    privileges: 800000\n");
	c = new_card(config);
	host_keys(&keys, GP_KEY_AES, 0x30);
	make_lfdb(&lfdb, 600, 1);
	cpk_error_clear(&err);

	/* Through the SSD: INSTALL [for load] with a token, LOAD; the last LOAD's receipt. */
	CHECK_SW(open_session_at(c, "00A4040008" SSD "00", &keys, SCP03, 0x70, 0x01, &s, NULL),
	    0x9000);
	(void)EVP_Digest(lfdb.data, lfdb.len, md, NULL, EVP_sha1(), NULL);
	install_for_load_hex(load, sizeof(load), SSD, md, sizeof(md));
	CHECK_SW(sxmit(c, &s, load, NULL), 0x6A80);		/* no token */
	if (!CHECK(strstr(c->why, "needs a token") != NULL))
		fprintf(stderr, "  card: %s\n", c->why);
	with_token(key, load, true, cmd, sizeof(cmd));
	CHECK_SW(sxmit(c, &s, cmd, NULL), 0x6A80);		/* forged */
	CHECK(strstr(c->why, "token does not verify") != NULL);
	with_token(key, load, false, cmd, sizeof(cmd));
	CHECK_SW(sxmit(c, &s, cmd, &d), 0x9000);
	CHECK_SW(load_blocks(c, &s, NULL, &lfdb, 200, &d), 0x9000);
	CHECK(c->nloadfiles == 2 && c->id.confirmation_counter == 1);
	CHECK(receipt_check(load, RECEIPT_KEY, &d, &err) == CPK_OK);
	/* confirmation: 10 receipt(16) | 02 0001 | 09 IIN(42) CIN */
	CHECK(d.len == 1 + 16 + 3 + 1 + 9 && d.data[17] == 2 && d.data[19] == 1 &&
	    d.data[20] == 9 && d.data[21] == 0x42);
	/* Another receipt key: refused with the counter named. */
	CHECK(receipt_check(load, "000102030405060708090A0B0C0D0E0F", &d, &err) ==
	    CPK_ERR_VERIFY);
	CHECK(strcmp(err.msg, "the card's receipt (confirmation counter 0001) does not verify "
	    "with the receipt key") == 0);

	/* INSTALL [for install and make selectable]: forged 6A80, then the receipt. */
	with_token(key, install, true, cmd, sizeof(cmd));
	CHECK_SW(sxmit(c, &s, cmd, NULL), 0x6A80);
	CHECK(c->napps == 2);
	with_token(key, install, false, cmd, sizeof(cmd));
	CHECK_SW(sxmit(c, &s, cmd, &d), 0x9000);
	CHECK(c->napps == 3 && c->id.confirmation_counter == 2);
	CHECK(receipt_check(install, RECEIPT_KEY, &d, &err) == CPK_OK);
	/* A receipt replayed for another operation does not verify. */
	CHECK(receipt_check(del_app, RECEIPT_KEY, &d, &err) == CPK_ERR_VERIFY);
	/* INSTALL [for extradition] to the SSD: forged 6A80, then its receipt. */
	with_token(key, extradite, true, cmd, sizeof(cmd));
	CHECK_SW(sxmit(c, &s, cmd, NULL), 0x6A80);
	with_token(key, extradite, false, cmd, sizeof(cmd));
	CHECK_SW(sxmit(c, &s, cmd, &d), 0x9000);
	CHECK(c->id.confirmation_counter == 3);
	CHECK(receipt_check(extradite, RECEIPT_KEY, &d, &err) == CPK_OK);
	/*
	 * INSTALL [for registry update]: forged 6A80, then the privileges change
	 * and its receipt names the SSD (source and destination), the
	 * application, the privileges and the parameters.
	 */
	with_token(key, reg_update, true, cmd, sizeof(cmd));
	CHECK_SW(sxmit(c, &s, cmd, NULL), 0x6A80);
	CHECK(strstr(c->why, "INSTALL: the delegated management token does not verify") != NULL);
	CHECK(c->apps[2].priv[0] == 0x00);
	CHECK_SW(sxmit(c, &s, reg_update, NULL), 0x6A80);	/* no token */
	with_token(key, reg_update, false, cmd, sizeof(cmd));
	CHECK_SW(sxmit(c, &s, cmd, &d), 0x9000);
	CHECK(c->apps[2].priv[0] == 0x04 && c->id.confirmation_counter == 4);
	CHECK(receipt_check(reg_update, RECEIPT_KEY, &d, &err) == CPK_OK);
	CHECK(receipt_check_sd(reg_update, ISD, RECEIPT_KEY, &d, &err) == CPK_ERR_VERIFY);

	/* DELETE with a 9E token; forged 6A80; a receipt. */
	with_token(key, del_app, true, cmd, sizeof(cmd));
	CHECK_SW(sxmit(c, &s, cmd, NULL), 0x6A80);
	with_token(key, del_app, false, cmd, sizeof(cmd));
	CHECK_SW(sxmit(c, &s, cmd, &d), 0x9000);
	CHECK(c->napps == 2 && c->id.confirmation_counter == 5);
	CHECK(receipt_check(del_app, RECEIPT_KEY, &d, &err) == CPK_OK);

	/* Through the ISD: a token is refused, none is needed and no receipt is given. */
	CHECK_SW(open_session(c, &keys, SCP03, 0x70, 0x01, &s, NULL), 0x9000);
	CHECK_SW(sxmit(c, &s, cmd, NULL), 0x6A80);
	CHECK(strstr(c->why, "no Delegated Management privilege") != NULL);
	CHECK_SW(sxmit(c, &s, install, &d), 0x9000);
	CHECK(d.len == 0 && c->id.confirmation_counter == 5);

	/* An SSD without the privilege manages no content. */
	CHECK_SW(open_session_at(c, "00A4040008" SSD_NO_DM "00", &keys, SCP03, 0x70, 0x01, &s,
	    NULL), 0x9000);
	CHECK_SW(sxmit(c, &s, del_app, NULL), 0x6982);

	cardsim_free(&c);
	free(config);
	OPENSSL_free(der);
	EVP_PKEY_free(key);
	cpk_buf_free(&lfdb);
	cpk_buf_free(&d);
}

/*
 * DAP by a supplementary security domain: a load file associated (INSTALL
 * [for load]'s SD) with an SSD holding DAP Verification and a dap-key needs
 * that SSD's DAP block: none, the ISD's only, one signed with another key:
 * 6982; the SSD's: loaded. A load associated with the ISD needs none.
 */
static void
test_ssd_dap(void)
{
	EVP_PKEY *key = EVP_RSA_gen(2048), *other = EVP_RSA_gen(2048);
	struct cpk_buf lfdb = CPK_BUF_INIT, dap = CPK_BUF_INIT, bad = CPK_BUF_INIT,
	    isd = CPK_BUF_INIT;
	struct scp_keyset keys;
	struct scp_session s;
	struct cardsim *c;
	unsigned char *der = NULL;
	char *config, cmd[300];
	uint8_t md[32];
	size_t n;
	int derlen;

	CHECK(key != NULL && other != NULL);
	if (key == NULL || other == NULL || (derlen = i2d_PUBKEY(key, &der)) <= 0)
		return;
	n = strlen(config_scp03) + 1024 + 2 * (size_t)derlen;
	if ((config = malloc(n)) == NULL)
		abort();
	snprintf(config, n, "%s", config_scp03);
	strcat(config, "load-files:\n  - aid: " SD_PKG "\n    version: 1.0\n    size: 100\n"
	    "    modules:\n      - " SD_MODULE "\n"
	    "applications:\n  - aid: " SSD "\n    load-file: " SD_PKG "\n    module: " SD_MODULE
	    "\n    life-cycle: 07\n    privileges: C00000\n    dap-key: ");
	append_hex(config, n, der, (size_t)derlen);
	strcat(config, "\n");
	c = new_card(config);
	host_keys(&keys, GP_KEY_AES, 0x30);
	make_lfdb(&lfdb, 600, 1);
	dap_block_for(key, SSD, &lfdb, &dap);
	dap_block_for(other, SSD, &lfdb, &bad);
	dap_block_for(key, ISD, &lfdb, &isd);
	(void)EVP_Digest(lfdb.data, lfdb.len, md, NULL, EVP_sha256(), NULL);
	install_for_load_hex(cmd, sizeof(cmd), SSD, md, sizeof(md));
	CHECK_SW(open_session(c, &keys, SCP03, 0x70, 0x01, &s, NULL), 0x9000);
	CHECK_SW(sxmit(c, &s, cmd, NULL), 0x9000);
	CHECK_SW(load_blocks(c, &s, NULL, &lfdb, 200, NULL), 0x6982);
	CHECK(strcmp(c->why, "LOAD: security domain " SSD " has the DAP Verification privilege "
	    "and the load file has no DAP block for security domain " SSD) == 0);
	CHECK_SW(sxmit(c, &s, cmd, NULL), 0x9000);
	CHECK_SW(load_blocks(c, &s, &isd, &lfdb, 200, NULL), 0x6982);
	CHECK_SW(sxmit(c, &s, cmd, NULL), 0x9000);
	CHECK_SW(load_blocks(c, &s, &bad, &lfdb, 200, NULL), 0x6982);
	CHECK(strcmp(c->why, "LOAD: security domain " SSD "'s DAP signature does not verify") ==
	    0);
	CHECK(c->nloadfiles == 1);
	CHECK_SW(sxmit(c, &s, cmd, NULL), 0x9000);
	CHECK_SW(load_blocks(c, &s, &dap, &lfdb, 200, NULL), 0x9000);
	CHECK(c->nloadfiles == 2);
	/* Associated with the ISD: no DAP needed. */
	CHECK_SW(sxmit(c, &s, "80E400800B4F09" PKG, NULL), 0x9000);
	install_for_load_hex(cmd, sizeof(cmd), "", md, sizeof(md));
	CHECK_SW(sxmit(c, &s, cmd, NULL), 0x9000);
	CHECK_SW(load_blocks(c, &s, NULL, &lfdb, 200, NULL), 0x9000);
	CHECK(c->nloadfiles == 2);
	/* A dap-key for an application that is no DAP-verifying SD: refused. */
	check_config_error("cardsim: 1\ncard:\n  scp: 3\n  i: 70\nkey-sets:\n  - kvn: 30\n"
	    "    type: aes\n    key: " KEY_ENC "\nload-files:\n  - aid: " SD_PKG "\n"
	    "    version: 1.0\n    size: 10\n    modules:\n      - " SD_MODULE "\n"
	    "applications:\n  - aid: " SSD "\n    load-file: " SD_PKG "\n    module: " SD_MODULE
	    "\n    life-cycle: 07\n    privileges: A0\n    dap-key: 3000\n",
	    "'dap-key' needs the Security Domain and DAP Verification privileges", 21, __LINE__);

	cardsim_free(&c);
	free(config);
	OPENSSL_free(der);
	EVP_PKEY_free(key);
	EVP_PKEY_free(other);
	cpk_buf_free(&lfdb);
	cpk_buf_free(&dap);
	cpk_buf_free(&bad);
	cpk_buf_free(&isd);
}

/* --- extended length --- */

/* A wrapped command built from a plain one (any length); returns the SW. */
static uint16_t
sxmit_bytes(struct cardsim *c, struct scp_session *s, const uint8_t *cmd, size_t n)
{
	struct cpk_buf wrapped = CPK_BUF_INIT, resp = CPK_BUF_INIT, plain = CPK_BUF_INIT;
	uint16_t sw = 0;

	if (scp_wrap_command(s, cmd, n, &wrapped, NULL) != CPK_OK)
		abort();
	cardsim_process(c, wrapped.data, wrapped.len, &resp);
	if (resp.len >= 2 && scp_unwrap_response(s, resp.data, resp.len, &plain, &sw, NULL) !=
	    CPK_OK)
		sw = 0;
	cpk_buf_free(&wrapped);
	cpk_buf_free(&resp);
	cpk_buf_free(&plain);
	return sw;
}

/* INSTALL [for load] without a hash, then the load file in LOAD blocks of `block` bytes. */
static uint16_t
ext_load_blocks(struct cardsim *c, struct scp_session *s, const struct cpk_buf *lfdb, size_t block)
{
	struct cpk_buf file = CPK_BUF_INIT, apdu = CPK_BUF_INIT;
	size_t count = 0, i;
	uint16_t sw;

	if ((sw = sxmit(c, s, "80E602000E09" PKG "0000000000", NULL)) != 0x9000)
		goto out;
	if (gp_load_file(lfdb->data, lfdb->len, &file, NULL) != CPK_OK ||
	    gp_load_block_count(file.len, block, &count, NULL) != CPK_OK)
		abort();
	for (i = 0; i < count; i++) {
		if (gp_cmd_load(file.data, file.len, block, i, &apdu, NULL) != CPK_OK)
			abort();
		if ((sw = sxmit_bytes(c, s, apdu.data, apdu.len)) != 0x9000)
			goto out;
	}
out:
	cpk_buf_free(&file);
	cpk_buf_free(&apdu);
	return sw;
}

/* config_scp03 with extended-length: N (text holds the result). */
static const char *
config_extlen(char *text, size_t cap, const char *n)
{
	const char *at = strstr(config_scp03, "key-sets:");

	if (at == NULL || snprintf(text, cap, "%.*s  extended-length: %s\n%s",
	    (int)(at - config_scp03), config_scp03, n, at) >= (int)cap)
		abort();
	return text;
}

static void
test_extended_length(void)
{
	char text[1024];
	struct cardsim *c = new_card(config_extlen(text, sizeof(text), "65535"));
	struct scp_keyset keys;
	struct scp_session s;
	struct cpk_buf lfdb = CPK_BUF_INIT, d = CPK_BUF_INIT;

	host_keys(&keys, GP_KEY_AES, 0x30);
	make_lfdb(&lfdb, 80000, 1);
	/* The ATR's card capabilities and GET DATA 7F66 announce it. */
	CHECK_HEX(c->id.atr, c->id.atr_len, "3B858001807300214096");
	CHECK_SW(xmit(c, "80CA7F6600", &d), 0x9000);
	CHECK_HEX(d.data, d.len, "7F66080202FFFF0202FFFF");
	/* 80,000 bytes in LOAD blocks of 65,519 (C-DEC): two extended commands. */
	CHECK_SW(open_session(c, &keys, SCP03, 0x70, 0x03, &s, NULL), 0x9000);
	CHECK_SW(ext_load_blocks(c, &s, &lfdb, 65519), 0x9000);
	CHECK(cardsim_find_loadfile(c, (const uint8_t *)"\xA0\x00\x00\x01\x51\x53\x50\x4B\x47",
	    9) != NULL);
	scp_session_clear(&s);
	cardsim_free(&c);

	/* A card that takes at most 1000 bytes: a larger command is refused. */
	c = new_card(config_extlen(text, sizeof(text), "1000"));
	CHECK_SW(xmit(c, "80CA7F6600", &d), 0x9000);
	CHECK_HEX(d.data, d.len, "7F66080202" "03E8" "0202" "03E8");
	CHECK_SW(open_session(c, &keys, SCP03, 0x70, 0x01, &s, NULL), 0x9000);
	CHECK_SW(ext_load_blocks(c, &s, &lfdb, 989), 0x6700);
	CHECK(strstr(c->why, "a command of 1004 bytes exceeds the card's 1000") != NULL);
	scp_session_clear(&s);
	cardsim_free(&c);

	/* A short-only card: no 7F66, and 6700 to an extended LOAD sent anyway. */
	c = new_card(config_scp03);
	CHECK_HEX(c->id.atr, c->id.atr_len, "3B80800101");
	CHECK_SW(xmit(c, "80CA7F6600", NULL), 0x6A88);
	CHECK_SW(open_session(c, &keys, SCP03, 0x70, 0x01, &s, NULL), 0x9000);
	CHECK_SW(ext_load_blocks(c, &s, &lfdb, 400), 0x6700);
	CHECK(strstr(c->why, "extended-length APDUs are not supported (the card takes short "
	    "APDUs only)") != NULL);
	CHECK(cardsim_find_loadfile(c, (const uint8_t *)"\xA0\x00\x00\x01\x51\x53\x50\x4B\x47",
	    9) == NULL);
	scp_session_clear(&s);
	cardsim_free(&c);

	check_config_error("card:\n  scp: 3\n  i: 70\n  extended-length: 261\n",
	    "'extended-length' is the largest APDU in bytes: 262 to 65535 (a short APDU is at "
	    "most 261)", 4, __LINE__);
	scp_keyset_clear(&keys);
	cpk_buf_free(&lfdb);
	cpk_buf_free(&d);
}

/* VERIFY of the card holder's PIN (holderpin.c): tries, blocking, the state file. */
static void
test_holder_pin(void)
{
	static const char *const pin_config =
	    "card:\n  isd: " ISD "\n  scp: 3\n  i: 70\n"
	    "key-sets:\n  - kvn: 30\n    type: aes\n    key: " KEY_ENC "\n"
	    "holder-pin:\n  pin: \"1234\"\n  reference: 81\n  tries: 3\n";
	struct cardsim *c = new_card(pin_config), *c2;
	struct cpk_error err;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	CHECK_SW(xmit(c, "00A4040008" ISD "00", NULL), 0x9000);
	CHECK_SW(xmit(c, "0020000000", NULL), 0x6A88);		/* another reference */
	CHECK_SW(xmit(c, "0020008100", NULL), 0x63C3);		/* the tries left */
	CHECK_SW(xmit(c, "002000810431323334", NULL), 0x6700);	/* not the 8-byte block */
	c->dirty = false;
	CHECK_SW(xmit(c, "002000810831323335FFFFFFFF", NULL), 0x63C2);
	CHECK(c->dirty);
	CHECK_SW(xmit(c, "002000810831323334FFFFFFFF", NULL), 0x9000);
	CHECK_SW(xmit(c, "0020008100", NULL), 0x63C3);		/* the right PIN resets them */
	CHECK_SW(xmit(c, "002000810839393939FFFFFFFF", NULL), 0x63C2);
	CHECK_SW(xmit(c, "002000810839393939FFFFFFFF", NULL), 0x63C1);

	/* The counter survives the state file. */
	f = open_memstream(&text, &len);
	CHECK(f != NULL && cardsim_state_write(c, f, NULL) == CPK_OK);
	fclose(f);
	CHECK(strstr(text, "holder-pin:\n  pin: \"1234\"\n  reference: 81\n  tries: 3\n"
	    "  tries-left: 1\n") != NULL);
	c2 = cardsim_new();
	CHECK(c2 != NULL);
	cpk_error_clear(&err);
	CHECK_OK(cardsim_state_parse(c2, "state", (const uint8_t *)text, len, &err));
	cardsim_free(&c);
	c = c2;
	CHECK_SW(xmit(c, "002000810839393939FFFFFFFF", NULL), 0x63C0);
	CHECK_SW(xmit(c, "002000810831323334FFFFFFFF", NULL), 0x6983);	/* blocked */
	CHECK_SW(xmit(c, "0020008100", NULL), 0x6983);
	free(text);
	cardsim_free(&c);

	check_config_error("card:\n  scp: 3\n  i: 70\nholder-pin:\n  pin: \"12a4\"\n"
	    "  reference: 81\n", "'pin' must be 4 to 8 digits", 5, __LINE__);
	check_config_error("card:\n  scp: 3\n  i: 70\nholder-pin:\n  pin: \"1234\"\n",
	    "needs 'pin'", 0, __LINE__);
	check_config_error("card:\n  scp: 3\n  i: 70\nholder-pin:\n  pin: \"1234\"\n"
	    "  reference: 81\n  tries: 0\n", "'tries' must be 1 to 15", 0, __LINE__);
}

int
main(void)
{
	test_strict();
	test_scp03();
	test_scp03_random();
	test_scp02();
	test_scp02_rmac();
	test_content();
	test_put_key();
	test_key_pair();
	test_faults();
	test_state();
	test_life_cycle();
	test_dap();
	test_delegated();
	test_ssd_dap();
	test_extended_length();
	test_holder_pin();
	return test_summary("cardcore");
}
