/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: identifying a card for the compiler (cardload identify).
 *
 * cpk_identify selects the security domain, reads what the card tells
 * without authentication (GET DATA CF key diversification data, 9F7F
 * CPLC, 42 IIN, 45 CIN, 66 card recognition data, E0 key information) and
 * finally sends one INITIALIZE UPDATE with a fresh random host challenge,
 * which gives the SCP version, the key version, the KDD and the sequence
 * counter. Nothing else is sent after it, so the card stays in that
 * session (a session card record carries the exchange).
 *
 * The next sequence counter, as the protocol's row of the table
 * (scp_proto.h, counter_moves_on_iu) says the card moves it:
 *   every INITIALIZE UPDATE increments the counter first, so this probe
 *     used one value; next = returned + 1;
 *   only a successful authentication moves it; next = returned;
 *   the response carries no counter (scp_proto_iu_counter_len 0 for this
 *     i); none is given.
 *
 * Every card answer is untrusted: the cpk_identify_parse_* functions read
 * them through bounds-checked cursors and are what a fuzz target drives.
 */
#ifndef CPK_IDENTIFY_H
#define CPK_IDENTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpk_bytes.h"
#include "cpk_error.h"
#include "scp_iu.h"
#include "transport.h"

#define CPK_IDENTIFY_DEFAULT_SD "A000000151000000"
#define CPK_IDENTIFY_CPLC_LEN 42
#define CPK_IDENTIFY_DATA_MAX 16	/* IIN, CIN (the card record's limit) */
#define CPK_IDENTIFY_MAX_KEYS 32
#define CPK_IDENTIFY_SERIAL_MAX 64
#define CPK_IDENTIFY_NOTES 8

struct cpk_card_key {
	uint8_t id, kvn, type, len;		/* E0 key information (C0 entries) */
};

struct cpk_card_info {
	uint8_t sd_aid[16];
	size_t sd_aid_len;

	/* From INITIALIZE UPDATE (authoritative). */
	bool has_iu;
	uint8_t host_challenge[SCP_CHALLENGE_LEN];
	uint8_t iu_response[32];		/* without SW */
	size_t iu_len;
	struct scp_iu_response iu;
	uint8_t scp;				/* 02 or 03 */
	uint8_t i;
	bool has_i;
	uint8_t kvn;
	uint8_t kdd[SCP_KDD_LEN];
	uint8_t counter[SCP_PROTO_COUNTER_MAX];	/* the NEXT sequence counter */
	size_t counter_len;			/* 0: unknown */

	/* From GET DATA (each optional). */
	bool has_kdd_data;			/* CF */
	uint8_t kdd_data[SCP_KDD_LEN];
	bool has_cplc;				/* 9F7F */
	uint8_t cplc[CPK_IDENTIFY_CPLC_LEN];
	uint8_t iin[CPK_IDENTIFY_DATA_MAX];	/* 42 */
	size_t iin_len;
	uint8_t cin[CPK_IDENTIFY_DATA_MAX];	/* 45 */
	size_t cin_len;
	bool has_recognition;			/* 66 */
	char gp_version[16];			/* "2.3.1", "" if not given */
	uint8_t rec_scp, rec_i;			/* SCP and i the card announces */
	bool has_rec_scp;
	struct cpk_card_key keys[CPK_IDENTIFY_MAX_KEYS];	/* E0 */
	size_t nkeys;

	/*
	 * Extended length: the ATR's card capabilities (historical bytes,
	 * compact-TLV tag 7, third byte bit 40) and GET DATA 7F66 (the largest
	 * command and response APDU). After cpk_identify_finish: max_command
	 * and max_response are set when ext_length, else 0 (short APDUs).
	 */
	bool has_caps;				/* the ATR carries card capabilities */
	bool ext_length;
	bool has_ext_info;			/* 7F66 */
	size_t max_command, max_response;

	char serial[CPK_IDENTIFY_SERIAL_MAX + 1];
	const char *serial_from;		/* "CPLC", "CIN", "KDD" */

	/* Things worth telling a person (an answer ignored, a missing counter). */
	char notes[CPK_IDENTIFY_NOTES][160];
	size_t nnotes;
};

struct cpk_identify_opts {
	const uint8_t *sd_aid;			/* NULL: A000000151000000 */
	size_t sd_aid_len;
	uint8_t kvn;				/* INITIALIZE UPDATE P1; 00 = the default key set */
	bool has_i;				/* i given by the caller (cards */
	uint8_t i;				/* whose answer lacks i and which
						   have no card recognition data) */
	const uint8_t *host_challenge;		/* 8 bytes; NULL: random */
};

struct cpk_identify_hooks {
	void *ctx;
	/* After each exchange (may be NULL): resp is data || SW. */
	void (*exchange)(void *ctx, const uint8_t *cmd, size_t n, const uint8_t *resp,
	    size_t rn, uint64_t usec);
};

void cpk_card_info_init(struct cpk_card_info *ci);

/*
 * Run the identification over an open transport, in one transaction.
 * CPK_ERR_CARD (err->sw set) when SELECT or INITIALIZE UPDATE is refused,
 * CPK_ERR_PARSE for an answer that is not what GlobalPlatform says,
 * CPK_ERR_PCSC and other transport statuses as they come.
 */
cpk_status cpk_identify(struct cpk_transport *t, const struct cpk_identify_opts *o,
    const struct cpk_identify_hooks *h, struct cpk_card_info *out, struct cpk_error *err);

/*
 * One GET DATA answer (data without SW) for tag 9F7F, 42, 45, 66, E0, CF or
 * 7F66 (extended length information: 02 largest command, 02 largest response).
 * The answer is the whole TLV (a bare CPLC of 42 bytes is accepted too).
 * CPK_ERR_PARSE for a malformed answer (ci unchanged for that tag).
 */
cpk_status cpk_identify_parse_getdata(uint16_t tag, const uint8_t *p, size_t n,
    struct cpk_card_info *ci, struct cpk_error *err);

/*
 * The card's ATR (ISO/IEC 7816-3): finds the historical bytes and, when
 * they are compact-TLV objects (category 00 or 80), the card capabilities
 * (tag 7) and their "extended Lc and Le fields" bit. CPK_ERR_PARSE for a
 * truncated ATR or compact-TLV object, or bytes after the check byte.
 */
cpk_status cpk_identify_parse_atr(const uint8_t *atr, size_t n, struct cpk_card_info *ci,
    struct cpk_error *err);

/* GET DATA 7F66 (the whole TLV), for cpk_identify_parse_getdata. */
cpk_status cpk_identify_parse_ext_info(const uint8_t *p, size_t n, struct cpk_card_info *ci,
    struct cpk_error *err);

/* The INITIALIZE UPDATE answer (data without SW) to host_challenge. */
cpk_status cpk_identify_parse_iu(const uint8_t *p, size_t n,
    const uint8_t host_challenge[SCP_CHALLENGE_LEN], struct cpk_card_info *ci,
    struct cpk_error *err);

/*
 * Cross-checks and derived values once everything is read: i (from the
 * response, the card recognition data or the caller), the next counter,
 * the serial (CPLC IC fabricator and serial number, else the CIN, else the
 * KDD). has_i/i: the caller's i, if any.
 */
cpk_status cpk_identify_finish(struct cpk_card_info *ci, bool has_i, uint8_t i,
    struct cpk_error *err);

/*
 * The card record (cpk-profile(5), CARD RECORDS) as YAML text, appended to
 * out. With session, the record carries host-challenge and iu-response
 * and no counter (the compiler takes it from the response). comment (may
 * be NULL) is written as a leading '#' line, printable ASCII only.
 */
cpk_status cpk_card_record_write(const struct cpk_card_info *ci, bool session,
    const char *comment, struct cpk_buf *out, struct cpk_error *err);

#endif
