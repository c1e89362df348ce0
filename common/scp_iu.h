/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: the INITIALIZE UPDATE exchange of the GlobalPlatform secure
 * channels, as bytes, laid out as each protocol's row of the table says
 * (scp_proto.h). Both sides need it: the compiler builds and checks responses,
 * the loader compares the card's response with a bundle's expected one
 * field by field, and the manifest check validates the expected one.
 */
#ifndef CPK_SCP_IU_H
#define CPK_SCP_IU_H

#include <stddef.h>
#include <stdint.h>

#include "cpk_bytes.h"
#include "cpk_error.h"
#include "scp_proto.h"

#define SCP_CHALLENGE_LEN 8
#define SCP_KDD_LEN 10

/* The INITIALIZE UPDATE response data (without SW1 SW2). */
struct scp_iu_response {
	uint8_t kdd[SCP_KDD_LEN];
	uint8_t kvn;
	uint8_t scp;			/* the protocol byte (scp_proto_find) */
	uint8_t i;			/* when the protocol's response carries it, else 0 */
	uint8_t counter[SCP_PROTO_COUNTER_MAX];
	size_t counter_len;		/* scp_proto_iu_counter_len: 0 when absent */
	uint8_t card_challenge[SCP_CHALLENGE_LEN];
	size_t challenge_len;		/* the protocol's challenge_len */
	uint8_t card_cryptogram[8];
};

/*
 * Parse the response, of a protocol in the table and as long as its
 * layout says (scp_proto_iu_len).
 */
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
