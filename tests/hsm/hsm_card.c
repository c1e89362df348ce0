/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * hsm_card: a card record for the hsm suite's compile matrix, made without
 * a card. An offline record names the KDD and the next counter; a session
 * record also carries a live-looking INITIALIZE UPDATE exchange, answered
 * here by the card side of compiler/scp.h with the GlobalPlatform test key
 * 40..4F (static, or as the master of the named diversification).
 *
 *   hsm_card SCP I KVN DIV offline|session
 *   (SCP 02|03, I and KVN hex, DIV none|emv|visa2|kdf3)
 *
 * It writes SCP02's and SCP03's numbers down itself (key algorithm, counter
 * and challenge lengths, i values) instead of asking the secure channel
 * table, on purpose: as an independent oracle, a wrong table row fails here
 * rather than agreeing with itself (docs/ADDING-A-SECURE-CHANNEL.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpk_bytes.h"
#include "scp.h"

static const uint8_t kdd[SCP_KDD_LEN] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
	0x09, 0x0A };
static const uint8_t host_challenge[SCP_CHALLENGE_LEN] = { 0x10, 0x11, 0x12, 0x13, 0x14,
	0x15, 0x16, 0x17 };

static void
put_hex(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		printf("%02X", p[i]);
}

/* The card's INITIALIZE UPDATE answer for the host challenge above. */
static int
session_answer(enum scp_version v, uint8_t i, uint8_t kvn, enum gp_diversification div)
{
	struct scp_keyset master, keys;
	struct scp_iu_response iu;
	struct scp_session s;
	struct cpk_buf raw = CPK_BUF_INIT;
	size_t k;
	int rc = 1;

	memset(&master, 0, sizeof(master));
	master.alg = v == SCP02 ? GP_KEY_3DES : GP_KEY_AES;
	master.len = 16;
	master.kvn = kvn;
	for (k = 0; k < 16; k++)
		master.enc[k] = master.mac[k] = master.dek[k] = (uint8_t)(0x40 + k);
	if (div == GP_DIV_NONE)
		keys = master;
	else if (scp_keyset_diversify(&master, div, kdd, &keys, NULL) != CPK_OK)
		goto out;
	memset(&iu, 0, sizeof(iu));
	memcpy(iu.kdd, kdd, sizeof(kdd));
	iu.kvn = kvn;
	iu.scp = (uint8_t)v;
	iu.i = v == SCP03 ? i : 0;
	iu.counter_len = v == SCP02 ? 2 : (i & SCP03_I_PSEUDO) ? 3 : 0;
	iu.counter[iu.counter_len - (iu.counter_len > 0)] = 0x07;
	iu.challenge_len = v == SCP02 ? 6 : 8;
	for (k = 0; k < iu.challenge_len; k++)
		iu.card_challenge[k] = (uint8_t)(0xA0 + k);
	if (scp_session_begin(&s, &keys, v, i, host_challenge, &iu, NULL) != CPK_OK)
		goto out;
	memcpy(iu.card_cryptogram, s.card_cryptogram, 8);
	scp_session_clear(&s);
	if (scp_iu_response_build(&iu, &raw, NULL) != CPK_OK)
		goto out;
	printf("host-challenge: ");
	put_hex(host_challenge, sizeof(host_challenge));
	printf("\niu-response: ");
	put_hex(raw.data, raw.len);
	printf("\n");
	rc = 0;
out:
	scp_keyset_clear(&master);
	scp_keyset_clear(&keys);
	cpk_buf_free(&raw);
	return rc;
}

int
main(int argc, char *argv[])
{
	enum gp_diversification div;
	enum scp_version v;
	unsigned long i, kvn;

	if (argc != 6 || (strcmp(argv[1], "02") != 0 && strcmp(argv[1], "03") != 0) ||
	    gp_diversification_parse(argv[4], &div, NULL) != CPK_OK) {
		fprintf(stderr, "usage: hsm_card 02|03 I KVN none|emv|visa2|kdf3 "
		    "offline|session\n");
		return 2;
	}
	v = strcmp(argv[1], "02") == 0 ? SCP02 : SCP03;
	i = strtoul(argv[2], NULL, 16);
	kvn = strtoul(argv[3], NULL, 16);
	printf("sd-aid: A000000151000000\nscp: \"%s\"\ni: \"%02lX\"\nkvn: \"%02lX\"\nkdd: ",
	    argv[1], i, kvn);
	put_hex(kdd, sizeof(kdd));
	printf("\nserial: HSM-MATRIX\n");
	if (strcmp(argv[5], "session") == 0)
		return session_answer(v, (uint8_t)i, (uint8_t)kvn, div);
	printf("counter: \"%s\"\n", v == SCP02 ? "0005" : "000007");
	return 0;
}
