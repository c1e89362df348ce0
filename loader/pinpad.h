/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: the card holder's PIN (profile holder-pin, SERAM cpkHolderPin) at
 * the agent. The PIN is ASCII digits, 4 to 8 of them, sent in VERIFY
 * padded with FF to 8 bytes:
 *
 *	00 20 00 REF 08 PIN-ASCII || FF...
 *
 * Either cpk builds that APDU from a PIN it read (cpk_holder_verify_apdu),
 * or the reader's PIN pad builds it (PC/SC part 10, FEATURE_VERIFY_PIN_DIRECT):
 * the reader lists its features as TLVs (tag, length 4, control code in big
 * endian) in answer to CM_IOCTL_GET_FEATURE_REQUEST (cpk_pinpad_features_parse,
 * untrusted bytes, fuzzed), and takes a PIN_VERIFY_STRUCTURE
 * (cpk_pinpad_verify_structure) whose APDU is the one above with FF where
 * the PIN goes. Pure functions: pcsc.c talks to the reader.
 */
#ifndef CPK_PINPAD_H
#define CPK_PINPAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpk_bytes.h"
#include "cpk_error.h"

#define CPK_HOLDER_PIN_MIN 4
#define CPK_HOLDER_PIN_MAX 8		/* = the PIN block of VERIFY */
#define CPK_HOLDER_VERIFY_LEN (5 + CPK_HOLDER_PIN_MAX)

/* PC/SC part 10 feature tags this code knows. */
#define CPK_FEATURE_VERIFY_PIN_DIRECT 0x06
#define CPK_FEATURE_TAG_MAX 0x20
#define CPK_PINPAD_FEATURES_MAX 256	/* bytes of a feature list */

struct cpk_pinpad_features {
	/* The control code of each feature the reader lists, 0: not listed. */
	uint32_t code[CPK_FEATURE_TAG_MAX + 1];
};

/*
 * Parse a reader's feature list: TLVs of tag (1 byte), length (1 byte,
 * always 4), control code (4 bytes, big endian). Tags above
 * CPK_FEATURE_TAG_MAX are skipped; a length other than 4, a truncated
 * entry, a list longer than CPK_PINPAD_FEATURES_MAX or a tag listed twice
 * is refused (CPK_ERR_PARSE).
 */
cpk_status cpk_pinpad_features_parse(const uint8_t *p, size_t n, struct cpk_pinpad_features *out,
    struct cpk_error *err);

/* The PIN_VERIFY_STRUCTURE for VERIFY with P2 reference (little-endian fields, part 10 2.02). */
cpk_status cpk_pinpad_verify_structure(uint8_t reference, struct cpk_buf *out,
    struct cpk_error *err);

/*
 * The VERIFY APDU for a PIN of n bytes (4 to 8 ASCII digits; CPK_ERR_ARG
 * otherwise, the message never shows the PIN) into apdu.
 */
cpk_status cpk_holder_verify_apdu(uint8_t reference, const char *pin, size_t n,
    uint8_t apdu[CPK_HOLDER_VERIFY_LEN], struct cpk_error *err);

#endif
