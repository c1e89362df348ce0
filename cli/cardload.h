/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cardload, the keyless loader: one file per subcommand (cardload_NAME.c),
 * each defining its table entry; cardload.c dispatches over the table (the
 * default action, without a subcommand name, is `load`) and prints the
 * help from it. cardload links the loader library only: never the
 * compiler library, never libyaml.
 */
#ifndef CPK_CARDLOAD_H
#define CPK_CARDLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cli_util.h"
#include "cpk_error.h"
#include "transport.h"

/* Exit codes beyond cli_util.h's 0, 1 and 2 (cardload(1) EXIT STATUS). */
#define CARDLOAD_EXIT_REJECTED 3	/* nothing sent: bundle, trust, wrong card, stale */
#define CARDLOAD_EXIT_REFUSED 4		/* the card refused a command of the secure channel */
#define CARDLOAD_EXIT_READER 5		/* no reader, no card, no PC/SC service, card removed */
#define CARDLOAD_EXIT_HOLDER_PIN 6	/* --server: the card refused the card holder's PIN */

extern const struct cli_command cardload_load_command;
extern const struct cli_command cardload_identify_command;
extern const struct cli_command cardload_readers_command;
extern const struct cli_command cardload_session_command;

#define CARDLOAD_GETOPT_PREFIX ":"

struct cpk_receipt_card;

/* What `cardload [load]` works with (cardload_load.c). */
struct cardload_load_args {
	const char *reader, *trust, *log, *cacert, *source;
	/* The source as shown and logged: a URL without credentials or query. */
	const char *shown;
	char shown_url[1024];
	unsigned timeout;
	bool json, verbose;
	/* cardload session: the card already open (kept open), else NULL. */
	struct cpk_transport *card;
	/* --receipt FILE, else NULL. */
	const char *receipt;
	/* cardload session: the card as its identification saw it, else NULL. */
	const struct cpk_receipt_card *seen;
	/* cardload session --bundle without COMMAND: the bundle it waited for, else NULL. */
	const struct cpk_buf *bytes;
};

/*
 * Check the bundle and load it, with the run log, messages, --json and
 * exit status of `cardload BUNDLE`. Call once per process (it takes
 * SIGINT, SIGTERM and SIGHUP, see cardload_stop.h).
 */
int cardload_load_run(const struct cardload_load_args *a);

/* cardload --server URL (cardload_server.c): the SERAM Local Agent. */
struct cardload_server_args {
	struct cardload_load_args load;		/* reader, json, verbose, log, cacert */
	const char *url;
	const char *session_id;			/* NULL: random */
	unsigned retry_for;			/* seconds, 0: SERAM's 5 minutes */
	const char *technician;			/* user name, NULL: none; the PIN is read */
	const char *client_cert, *client_key;	/* TLS client certificate, NULL: none */
	/* The card holder's PIN, when the server asks: this file, else the PIN pad, else the terminal. */
	const char *holder_pin_file;
};
int cardload_server_run(const struct cardload_server_args *a);

/* --- shared by the subcommands (cardload_common.c) --- */

/* -r, else $CPK_READER, else NULL (the only reader holding a card). */
const char *cardload_reader_choice(const char *opt);

/*
 * Open the card for a subcommand; on failure word the error (with what to
 * check) and return CARDLOAD_EXIT_READER or CLI_EXIT_ERROR.
 */
int cardload_open_card(const char *want, struct cpk_transport *t, struct cpk_error *err);

/* What to do about a failure to reach the card (no service, no reader, no card). */
const char *cardload_reader_advice(const struct cpk_error *err);

/* Exit status for a PC/SC-side failure: 5 for CPK_ERR_PCSC, else 1. */
int cardload_transport_exit(cpk_status st);

/* The APDU trace of -v on stderr: ">> 80CA..." and "<< ... 9000 (3 ms)". */
void cardload_trace_command(const uint8_t *cmd, size_t n, const char *label);
void cardload_trace_response(const uint8_t *resp, size_t n, uint64_t usec);

/* A key version number or SCP "i" parameter: two hex digits. */
bool cardload_parse_byte(const char *s, uint8_t *out);

struct cpk_card_info;
struct cpk_identify_opts;
struct cpk_buf;

/*
 * Identify the card in t (cpk_identify; with verbose, the APDU trace on
 * stderr). Failures are printed with what to do; returns the exit status
 * (CLI_EXIT_OK, or 1/5).
 */
int cardload_identify_card(struct cpk_transport *t, const struct cpk_identify_opts *o,
    bool verbose, struct cpk_card_info *ci);

/*
 * The card record of ci (a session record when session), commented with
 * the subcommand that made it (e.g. "cardload identify"), the time and the
 * reader.
 */
cpk_status cardload_card_record(const struct cpk_card_info *ci, bool session, const char *by,
    const char *reader, struct cpk_buf *out, struct cpk_error *err);

/* A hex dump cut to at most max bytes: "0102...(253 bytes)". */
void cardload_hex_cut(FILE *f, const uint8_t *p, size_t n, size_t max);

#endif
