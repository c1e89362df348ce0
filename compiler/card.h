/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: card records (see cpk-profile(5), CARD RECORDS).
 *
 * One card's identification data, as `card.yaml` or as one line of a batch
 * file (a JSON object per line, or a CSV row under a header line). The
 * three forms share one field table (card_fields), so a value is checked
 * the same way whichever form it comes in:
 *
 *	sd-aid          security domain AID, 5-16 bytes hex       required
 *	scp             02 | 03                                   required
 *	i               two hex digits (SCP02 05..75, SCP03 00..70)  required
 *	kvn             key version, two hex digits 01-FF          required
 *	kdd             key diversification data, 10 bytes hex     required
 *	counter         next sequence counter: 2 bytes hex (SCP02), 3 (SCP03);
 *	                required unless the record has a live exchange
 *	cplc            42 bytes hex (GET DATA 9F7F without tag and length)
 *	iin             1-16 bytes hex
 *	cin             1-16 bytes hex
 *	serial          1-64 characters of A-Z a-z 0-9 . _ - (not starting
 *	                with . or -): names the bundle file in batch runs
 *	host-challenge  8 bytes hex  } a live INITIALIZE UPDATE exchange,
 *	iu-response     28/29/32 bytes hex (without SW)  } both or neither
 *	max-command     largest command APDU the card takes, in bytes  } both
 *	max-response    largest response APDU it sends, in bytes       } optional
 *	                (from the ATR's card capabilities and GET DATA 7F66;
 *	                absent: short APDUs only, 261 and 258)
 *	data            (YAML) a mapping of per-card data NAME: "text";
 *	                JSON and CSV: keys/columns "data.NAME"
 *
 * Data names are 1-32 characters of a-z 0-9 _ -; values are text of at
 * most 1024 bytes; at most 64 items per card.
 *
 * Errors carry file, line and column (JSON: column of the offending key or
 * value; CSV: column of the first character of the field).
 */
#ifndef CPK_CARD_H
#define CPK_CARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpk_apdu.h"
#include "cpk_error.h"
#include "gp_cmd.h"
#include "scp.h"

#define CARD_FILE_MAX 65536
#define CARD_LINE_MAX 65536
#define CARD_SERIAL_MAX 64
#define CARD_CPLC_LEN 42
#define CARD_DATA_NAME_MAX 32
#define CARD_DATA_VALUE_MAX 1024
#define CARD_DATA_MAX 64

/* APDU sizes (header, length fields, data, Le; response data and SW). */
#define CARD_SHORT_COMMAND CPK_APDU_SHORT_MAX_LEN
#define CARD_SHORT_RESPONSE CPK_APDU_SHORT_MAX_RESPONSE
#define CARD_EXT_COMMAND CPK_APDU_MAX_LEN
#define CARD_EXT_RESPONSE CPK_APDU_EXT_MAX_RESPONSE

struct card_data_item {
	char name[CARD_DATA_NAME_MAX + 1];
	char *value;			/* NUL-terminated text */
};

struct card_record {
	struct gp_aid sd_aid;
	enum scp_version scp;
	uint8_t i;
	uint8_t kvn;
	uint8_t kdd[SCP_KDD_LEN];
	uint8_t counter[3];
	size_t counter_len;		/* 0: absent */
	uint8_t cplc[CARD_CPLC_LEN];
	bool has_cplc;
	uint8_t iin[16];
	size_t iin_len;			/* 0: absent */
	uint8_t cin[16];
	size_t cin_len;			/* 0: absent */
	char serial[CARD_SERIAL_MAX + 1];	/* "" when absent */
	bool has_session;		/* host challenge + INITIALIZE UPDATE response */
	uint8_t host_challenge[SCP_CHALLENGE_LEN];
	uint8_t iu_raw[32];
	size_t iu_len;
	struct scp_iu_response iu;	/* parsed iu_raw */
	size_t max_command;		/* 0: absent, short APDUs only */
	size_t max_response;		/* 0: absent */
	struct card_data_item *data;
	size_t ndata;
};

/*
 * The most command data (Lc) the card takes in one case 3 command: 255
 * without extended length in its record, else max-command less the
 * header and the extended Lc (7 bytes), at most 65535.
 */
size_t card_max_lc(const struct card_record *c);

/* Start empty; card_record_clear releases the data items (and resets). */
void card_record_init(struct card_record *c);
void card_record_clear(struct card_record *c);

/* Per-card data item by name, NULL if absent. */
const char *card_data_get(const struct card_record *c, const char *name);

/* card.yaml */
cpk_status card_load_yaml(const char *path, struct card_record *out, struct cpk_error *err);
cpk_status card_parse_yaml(const char *name, const uint8_t *text, size_t len,
    struct card_record *out, struct cpk_error *err);

/*
 * One JSON line: a flat object whose values are all strings
 * ({"sd-aid":"A000000151000000","scp":"03",...,"data.name":"..."}).
 * Strict: no other value types, no duplicate keys, nothing after the
 * object but spaces; \uXXXX escapes (with surrogate pairs) become UTF-8.
 * `name` and `lineno` locate errors.
 */
cpk_status card_parse_json(const char *name, unsigned lineno, const char *line, size_t len,
    struct card_record *out, struct cpk_error *err);

/* A CSV header: which field each column holds. */
struct card_csv_header {
	size_t ncols;
	int *field;			/* index into card_fields, or -1 for data.NAME */
	char **data_name;		/* for -1 columns */
};

/*
 * CSV (RFC 4180 within one line: comma-separated, fields optionally in
 * double quotes with "" for a quote; a trailing CR is ignored). The
 * header names the columns (field names or data.NAME); every required
 * field must have a column. An empty field is an absent value.
 */
cpk_status card_csv_header_parse(const char *name, unsigned lineno, const char *line, size_t len,
    struct card_csv_header *out, struct cpk_error *err);
void card_csv_header_free(struct card_csv_header *h);
cpk_status card_parse_csv(const struct card_csv_header *h, const char *name, unsigned lineno,
    const char *line, size_t len, struct card_record *out, struct cpk_error *err);

/*
 * A cards file, line by line (cardc batch and cardc check read it alike):
 * card_line_blank: a line of spaces, tabs and CRs, or a comment ('#');
 * card_line_json: the first line with content starts with '{' (JSON lines,
 * else it is the CSV header); card_parse_line: one record, JSON when json,
 * else CSV under h, refused over CARD_LINE_MAX bytes; an error that names no
 * line is placed at name:lineno.
 */
bool card_line_blank(const char *line, size_t len);
bool card_line_json(const char *line, size_t len);
cpk_status card_parse_line(const struct card_csv_header *h, bool json, const char *name,
    unsigned lineno, const char *line, size_t len, struct card_record *out,
    struct cpk_error *err);

#endif
