/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: command and response APDUs (ISO/IEC 7816-3 and -4).
 *
 * Cases 1-4 in short and extended form:
 *   1    CLA INS P1 P2
 *   2S   CLA INS P1 P2 Le(1)                       Le 00 = 256
 *   3S   CLA INS P1 P2 Lc(1, 01-FF) data
 *   4S   CLA INS P1 P2 Lc(1) data Le(1)
 *   2E   CLA INS P1 P2 00 Le(2)                    Le 0000 = 65536
 *   3E   CLA INS P1 P2 00 Lc(2, 0001-FFFF) data
 *   4E   CLA INS P1 P2 00 Lc(2) data Le(2)
 */
#ifndef CPK_APDU_H
#define CPK_APDU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpk_bytes.h"
#include "cpk_error.h"

#define CPK_APDU_SHORT_MAX_LC 255
#define CPK_APDU_SHORT_MAX_NE 256
#define CPK_APDU_EXT_MAX_LC 65535
#define CPK_APDU_EXT_MAX_NE 65536
/* Largest encoded command APDU: 7 header/Lc + 65535 data + 2 Le. */
#define CPK_APDU_MAX_LEN (7 + 65535 + 2)
/* Largest short command (4 + 1 + 255 + 1) and response (256 + SW), extended response. */
#define CPK_APDU_SHORT_MAX_LEN 261
#define CPK_APDU_SHORT_MAX_RESPONSE 258
#define CPK_APDU_EXT_MAX_RESPONSE (65536 + 2)

struct cpk_apdu {
	uint8_t cla, ins, p1, p2;
	const uint8_t *data;	/* NULL when lc == 0 */
	size_t lc;		/* 0..65535 */
	size_t ne;		/* expected response length when has_le: 1..65536 */
	bool has_le;
	bool extended;		/* encoded (or to be encoded) in extended form */
};

/* ISO case number 1..4 of a command. */
int cpk_apdu_case(const struct cpk_apdu *a);

/*
 * Parse an encoded command. The data pointer refers into p[].
 * Errors: CPK_ERR_PARSE with a message naming what is inconsistent.
 */
cpk_status cpk_apdu_parse(const uint8_t *p, size_t n, struct cpk_apdu *a, struct cpk_error *err);

/*
 * Append the encoding of a command. Short form when lc <= 255 and
 * ne <= 256 and !a->extended; extended otherwise.
 */
cpk_status cpk_apdu_build(const struct cpk_apdu *a, struct cpk_buf *out, struct cpk_error *err);

/* A response: data followed by SW1 SW2. */
struct cpk_rapdu {
	const uint8_t *data;	/* points into the parsed input */
	size_t len;
	uint16_t sw;
};

/* Split a response (at least 2 bytes). */
cpk_status cpk_rapdu_parse(const uint8_t *p, size_t n, struct cpk_rapdu *r, struct cpk_error *err);

#endif
