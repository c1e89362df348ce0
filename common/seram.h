/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: the GlobalPlatform SERAM messages (HTTP REST binding, JSON data
 * format, version 2.0.0) that `cardc serve` (the Remote Agent) and
 * `cardload --server` (the Local Agent) exchange, and cpk's extensions.
 * docs/seram.schema.json is the JSON schema of exactly what is encoded
 * and accepted here; docs/seram.md says how cpk uses the messages.
 *
 * Four messages:
 *   handshake command   agent -> server   POST /handshake?sessionId=ID
 *   handshake response  server -> agent   its answer
 *   report              agent -> server   POST /remoteManagement?sessionId=ID
 *   order               server -> agent   its answer
 *
 * Decoding is strict: the body is at most SERAM_BODY_MAX bytes of JSON,
 * an object with only the members the schema names, each of its type,
 * no duplicate members, hex strings of whole bytes, every count and
 * length within the limits below, no control character in any string
 * (text that reaches logs and terminals). Errors name the member
 * ("ramCommands[1].listOfCAPDU[3]: ..."). Nothing here prints.
 */
#ifndef CPK_SERAM_H
#define CPK_SERAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpk_bundle.h"
#include "cpk_bytes.h"
#include "cpk_error.h"

#define SERAM_VERSION "2.0.0"
#define SERAM_TRANSPORT "HTTPS"
#define SERAM_DATA_FORMAT "application/json"

#define SERAM_BODY_MAX ((size_t)24 * 1024 * 1024)	/* one message */
#define SERAM_SESSION_ID_MAX 64		/* characters of [A-Za-z0-9._-] */
#define SERAM_SE_MAX 8			/* secure elements in a handshake */
#define SERAM_SE_ID_MAX 64
#define SERAM_SE_EXTRA_MAX 128
#define SERAM_LIST_MAX 16		/* supported protocols, formats, versions */
#define SERAM_NAME_MAX 32		/* a protocol, format or version */
#define SERAM_COMMANDS_MAX 16		/* ramCommands in one order, ramResponses in one report */
#define SERAM_APDUS_MAX CPK_SCRIPT_MAX_COMMANDS	/* APDUs in one list */
#define SERAM_APDU_MAX 65546		/* bytes of one command or response APDU */
#define SERAM_TEXT_MAX 1024		/* deviceAppNotification, errorMsg (bytes) */
#define SERAM_DELAY_MAX 30000u		/* ms: the binding's longest long-polling wait */
#define SERAM_USER_MAX 64
#define SERAM_PIN_MAX 64

/* Session identifiers: 1..SERAM_SESSION_ID_MAX characters of A-Z a-z 0-9 . _ - */
bool seram_session_id_valid(const char *s);
/* A fresh random one (a UUID version 4 in text, 36 characters). */
cpk_status seram_session_id_new(char out[SERAM_SESSION_ID_MAX + 1], struct cpk_error *err);

enum seram_se_type {
	SERAM_SE_ESE = 0,
	SERAM_SE_ISE,
	SERAM_SE_UICC,
	SERAM_SE_EUICC,
	SERAM_SE_IEUICC,
};

struct seram_se {
	enum seram_se_type type;
	char id[SERAM_SE_ID_MAX + 1];
	bool has_extra;
	char extra[SERAM_SE_EXTRA_MAX + 1];
};

/* cpk extension: who operates the agent (checked by the server, never stored). */
struct seram_technician {
	char user[SERAM_USER_MAX + 1];
	char pin[SERAM_PIN_MAX + 1];	/* cleansed by seram_handshake_clear */
};

struct seram_handshake {
	struct seram_se se[SERAM_SE_MAX];
	size_t nse;				/* >= 1 */
	/* The lists as sent; 0 entries = member absent (the spec's defaults apply). */
	char transports[SERAM_LIST_MAX][SERAM_NAME_MAX + 1];
	size_t ntransports;
	char formats[SERAM_LIST_MAX][SERAM_NAME_MAX + 1];
	size_t nformats;
	char versions[SERAM_LIST_MAX][SERAM_NAME_MAX + 1];
	size_t nversions;
	bool has_technician;			/* member cpkTechnician */
	struct seram_technician technician;
};

struct seram_handshake_response {
	char transport[SERAM_NAME_MAX + 1];
	char format[SERAM_NAME_MAX + 1];
	char version[SERAM_NAME_MAX + 1];
};

/* Would the server's choice (HTTPS, application/json, 2.0.0) suit this agent? */
bool seram_handshake_acceptable(const struct seram_handshake *h);
/* Clear (the PIN cleansed). */
void seram_handshake_clear(struct seram_handshake *h);

enum seram_command_type {
	SERAM_CMD_START = 0,
	SERAM_CMD_SE_RAM,
	SERAM_CMD_NOTIFICATION,
	SERAM_CMD_STOP,
};

/* One APDU (command or response) as bytes. */
struct seram_apdu {
	uint8_t *p;
	size_t n;
};

/* The status words one command accepts (cpk extension cpkAccept). */
struct seram_accept {
	struct cpk_sw_pattern sw[CPK_SW_MAX];
	size_t nsw;				/* 1..CPK_SW_MAX */
};

/*
 * cpk extension cpkHolderPin of an SE RAM command: before its first APDU
 * the agent SELECTs aid and sends the card holder's PIN in VERIFY (00 20
 * 00 reference) itself; the PIN never leaves the agent. The response
 * carries the status word that ended this (cpkHolderPinSw): 9000, else the
 * list was not played (every answer "").
 */
struct seram_holder_pin {
	uint8_t aid[16];
	size_t aid_len;				/* 5..16 */
	uint8_t reference;			/* VERIFY P2 */
};

struct seram_command {
	enum seram_command_type type;
	/* SE RAM command: listOfCAPDU (at least one). */
	struct seram_apdu *capdu;
	size_t ncapdu;
	/* cpk extensions of the SE RAM command, NULL when absent; else ncapdu entries. */
	struct seram_accept *accept;		/* cpkAccept: stop at the first other SW */
	char (*labels)[CPK_LABEL_MAX + 1];	/* cpkLabels: for progress and messages */
	bool has_holder_pin;			/* cpkHolderPin */
	struct seram_holder_pin holder_pin;
	/* Notification: deviceAppNotification (UTF-8, at most SERAM_TEXT_MAX bytes). */
	char *notification;
};

struct seram_order {
	bool has_delay;				/* absent: the agent waits 1 s before polling */
	uint32_t delay_ms;			/* 0..SERAM_DELAY_MAX */
	bool has_se;
	struct seram_se se;
	struct seram_command *cmds;		/* ramCommands; ncmds 0 = member absent */
	size_t ncmds;
};

enum seram_agent_status {
	SERAM_STATUS_PROCESSED = 0,
	SERAM_STATUS_POLLING,
	SERAM_STATUS_UNAVAILABLE_SE,
	SERAM_STATUS_UNKNOWN_FAILURE,
	SERAM_STATUS_UNGRANTED_ACCESS,
};

/* "PROCESSED", "POLLING", ... */
const char *seram_agent_status_name(enum seram_agent_status s);

struct seram_response {
	struct seram_apdu *rapdu;		/* listOfRAPDU; n 0 allowed, "" entries n = 0 */
	size_t n;
	bool has_holder_sw;			/* cpkHolderPinSw: the command asked for the PIN */
	uint16_t holder_sw;
};

struct seram_report {
	enum seram_agent_status status;
	size_t executed;			/* executedSeRamCommands */
	char *error_msg;			/* errorMsg, NULL when absent */
	struct seram_response *resp;		/* ramResponses; nresp 0 = member absent */
	size_t nresp;
};

void seram_order_clear(struct seram_order *o);
void seram_report_clear(struct seram_report *r);

/*
 * Building messages: append one command to an order (the list is copied;
 * accept and labels may be NULL), one response to a report.
 */
cpk_status seram_order_add(struct seram_order *o, enum seram_command_type type,
    const struct seram_apdu *capdu, size_t n, const struct seram_accept *accept,
    const char (*labels)[CPK_LABEL_MAX + 1], const char *notification, struct cpk_error *err);
cpk_status seram_report_add(struct seram_report *r, const struct seram_apdu *rapdu, size_t n,
    struct cpk_error *err);
/* The last SE RAM command of o asks for the holder's PIN (CPK_ERR_ARG: none, or a bad AID). */
cpk_status seram_order_holder_pin(struct seram_order *o, const struct seram_holder_pin *h,
    struct cpk_error *err);

/* Encoding: the JSON text (compact, one line, no NUL) appended to out. */
cpk_status seram_handshake_encode(const struct seram_handshake *h, struct cpk_buf *out,
    struct cpk_error *err);
cpk_status seram_handshake_response_encode(const struct seram_handshake_response *h,
    struct cpk_buf *out, struct cpk_error *err);
cpk_status seram_order_encode(const struct seram_order *o, struct cpk_buf *out,
    struct cpk_error *err);
cpk_status seram_report_encode(const struct seram_report *r, struct cpk_buf *out,
    struct cpk_error *err);

/* Decoding (strict, see above): CPK_ERR_PARSE, CPK_ERR_RANGE, CPK_ERR_NOMEM. */
cpk_status seram_handshake_decode(const uint8_t *p, size_t n, struct seram_handshake *out,
    struct cpk_error *err);
cpk_status seram_handshake_response_decode(const uint8_t *p, size_t n,
    struct seram_handshake_response *out, struct cpk_error *err);
cpk_status seram_order_decode(const uint8_t *p, size_t n, struct seram_order *out,
    struct cpk_error *err);
cpk_status seram_report_decode(const uint8_t *p, size_t n, struct seram_report *out,
    struct cpk_error *err);

#endif
