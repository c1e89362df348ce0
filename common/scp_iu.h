/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: the INITIALIZE UPDATE exchange of GlobalPlatform SCP02 and SCP03,
 * as bytes. Both sides need it: the compiler builds and checks responses,
 * the loader compares the card's response with a bundle's expected one
 * field by field, and the manifest check validates the expected one.
 */
#ifndef CPK_SCP_IU_H
#define CPK_SCP_IU_H

#include <stddef.h>
#include <stdint.h>

#include "cpk_bytes.h"
#include "cpk_error.h"

#define SCP_CHALLENGE_LEN 8
#define SCP_KDD_LEN 10

/* The INITIALIZE UPDATE response data (without SW1 SW2). */
struct scp_iu_response {
	uint8_t kdd[SCP_KDD_LEN];
	uint8_t kvn;
	uint8_t scp;			/* 02 or 03 */
	uint8_t i;			/* SCP03 only; SCP02 responses do not carry it */
	uint8_t counter[3];
	size_t counter_len;		/* SCP02 2; SCP03 3 when i & 0x10, else 0 */
	uint8_t card_challenge[SCP_CHALLENGE_LEN];
	size_t challenge_len;		/* SCP02 6, SCP03 8 */
	uint8_t card_cryptogram[8];
};

/* Parse the response: 28 bytes (SCP02), 29 or 32 bytes (SCP03). */
cpk_status scp_iu_response_parse(const uint8_t *p, size_t n, struct scp_iu_response *out,
    struct cpk_error *err);
cpk_status scp_iu_response_build(const struct scp_iu_response *r, struct cpk_buf *out,
    struct cpk_error *err);

/*
 * The name of a security level as profiles write it ("c-mac+c-dec" for 03),
 * or NULL for a level cpk does not know.
 */
const char *scp_level_name(uint8_t level);

/* 80 50 KVN 00 08 <host challenge> 00 */
cpk_status scp_initialize_update_apdu(uint8_t kvn, const uint8_t host_challenge[SCP_CHALLENGE_LEN],
    struct cpk_buf *out, struct cpk_error *err);

#endif
