/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: the keyless facts of each GlobalPlatform secure channel protocol,
 * one row per protocol in one table (scp_proto.c).
 *
 * What both sides need to know about a protocol without its keys: the
 * layout of the INITIALIZE UPDATE response, the lengths of the sequence
 * counter and card challenge, which `i` parameters cpk implements and what
 * their bits mean, which security levels they allow, and when the card
 * moves its counter. cardload (keyless) reads these; the keyed operations
 * of each protocol (session keys, wrap, unwrap, R-MAC, R-ENC, key
 * encryption, block sizes) are the compiler's `struct scp_ops`
 * (compiler/scp.h), which points at its row here. Callers ask the row and
 * never test a protocol number. docs/ADDING-A-SECURE-CHANNEL.md says what a
 * new protocol provides.
 */
#ifndef CPK_SCP_PROTO_H
#define CPK_SCP_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpk_error.h"

/* Security level bits (EXTERNAL AUTHENTICATE P1), the same in every protocol. */
#define SCP_SL_CMAC 0x01
#define SCP_SL_CDEC 0x02
#define SCP_SL_RMAC 0x10
#define SCP_SL_RENC 0x20

/* Largest sequence counter and card challenge of any protocol (bytes). */
#define SCP_PROTO_COUNTER_MAX 3
#define SCP_PROTO_CHALLENGE_MAX 8

struct scp_proto {
	uint8_t id;			/* the protocol byte of INITIALIZE UPDATE: 02, 03 */
	const char *name;		/* "SCP02" */

	/*
	 * INITIALIZE UPDATE response: KDD (10) KVN (1) id (1), then the i
	 * parameter (1) when iu_has_i, then counter || challenge || cryptogram
	 * (8) when iu_counter_first, else challenge || cryptogram || counter.
	 */
	bool iu_has_i;
	bool iu_counter_first;
	uint8_t iu_counter_i_bits;	/* the counter is present only when i has these bits;
					   0: always */
	size_t counter_len;		/* bytes of the sequence counter */
	size_t challenge_len;		/* bytes of the card challenge */

	/* The i parameter. */
	bool (*i_valid)(uint8_t i);	/* is this an i cpk implements? */
	const char *i_expected;		/* follows "<name> i=XX is not supported" */
	uint8_t i_pseudo;		/* bit: pseudo-random (predictable) card challenge */
	uint8_t i_rmac;			/* bit: R-MAC available */
	uint8_t i_renc;			/* bit that with i_rmac allows R-ENC; 0: never */

	/*
	 * When the card moves its counter: every INITIALIZE UPDATE
	 * (true; the counter a card answers is then used up), or only a
	 * successful EXTERNAL AUTHENTICATE (false).
	 */
	bool counter_moves_on_iu;
};

/* The rows, for the protocol files of compiler/ (scpNN.c) to point at. */
extern const struct scp_proto scp_proto_02;
extern const struct scp_proto scp_proto_03;

/* The row for a protocol byte, or NULL when cpk does not implement it. */
const struct scp_proto *scp_proto_find(uint8_t id);

/*
 * The protocol numbers as profiles and card records write them ("02",
 * "03"), NULL-terminated, in table order; scp_proto_at(k) is the row of
 * the k-th one.
 */
extern const char *const scp_proto_numbers[];
const struct scp_proto *scp_proto_at(size_t k);

/* "02 or 03": the protocols cpk implements, for messages. */
void scp_proto_list_text(char *out, size_t size);

/* Bytes of sequence counter in the INITIALIZE UPDATE response for this i. */
size_t scp_proto_iu_counter_len(const struct scp_proto *p, uint8_t i);
/* Bytes of the INITIALIZE UPDATE response data for this i. */
size_t scp_proto_iu_len(const struct scp_proto *p, uint8_t i);

/* Is this i one cpk implements (CPK_ERR_UNSUPPORTED with what is)? */
cpk_status scp_proto_i_check(const struct scp_proto *p, uint8_t i, struct cpk_error *err);
/* Does this i give a pseudo-random (predictable) card challenge? */
bool scp_proto_pseudo_random(const struct scp_proto *p, uint8_t i);
/* Can any i of this protocol give R-ENC? */
bool scp_proto_has_renc(const struct scp_proto *p);
/* Is this security level (01 03 11 13 33) allowed with this i? */
cpk_status scp_proto_level_check(const struct scp_proto *p, uint8_t i, uint8_t level,
    struct cpk_error *err);

#endif
