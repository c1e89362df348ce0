/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk command-line programs (cardc, cardload): what every subcommand
 * shares. Messages, exit codes, option values, hex and JSON output, and
 * reading or writing '-' as stdin/stdout. Only cli/ prints or exits: the
 * libraries fill a struct cpk_error and these helpers word it.
 */
#ifndef CPK_CLI_UTIL_H
#define CPK_CLI_UTIL_H

#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cpk_bytes.h"
#include "cpk_error.h"

/* Exit codes common to cardc and cardload (cardload adds 3, 4 and 5). */
#define CLI_EXIT_OK 0
#define CLI_EXIT_ERROR 1
#define CLI_EXIT_USAGE 2

/* The program name in messages ("cardc"); set once by main(). */
void cli_set_progname(const char *name);
const char *cli_progname(void);

/*
 * "file:line:col: message", "file:line: message" or "message", by what
 * the error locates. Writes at most n bytes (NUL included).
 */
void cli_error_text(const struct cpk_error *err, char *buf, size_t n);

/* "<prog>: <cli_error_text>" on stderr. */
void cli_error(const struct cpk_error *err);
/* "<prog>: <where>: <cli_error_text>" on stderr (a file, a card, a command). */
void cli_error_in(const char *where, const struct cpk_error *err);
/* "<prog>: <message>" on stderr. */
void cli_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * A usage error: "<prog> <cmd>: <message>", the synopsis and a pointer to
 * the help, on stderr. Returns CLI_EXIT_USAGE for `return cli_usage(...)`.
 * synopsis may be NULL.
 */
int cli_usage(const char *cmd, const char *synopsis, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Word what getopt_long returned for an option it did not accept (the
 * option string must start with ':' so that a missing value gives ':'):
 * unknown, ambiguous, missing its value, or given a value it does not
 * take. longopts is the table given to getopt_long. Returns
 * CLI_EXIT_USAGE.
 */
int cli_bad_option(const char *cmd, const char *synopsis, int c, char *const argv[],
    const struct option *longopts);

/* 0 for CPK_OK, CLI_EXIT_ERROR for every other status. */
int cli_exit_status(cpk_status st);

/*
 * A decimal number in [min, max], nothing else (no sign, no spaces, no
 * leading '+'). Returns false if s is not one.
 */
bool cli_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out);

/*
 * Read a whole file, or stdin for "-", refusing more than max bytes
 * (CPK_ERR_RANGE). Messages name the file ("stdin" for "-").
 */
cpk_status cli_read_input(const char *path, size_t max, struct cpk_buf *out,
    struct cpk_error *err);
/* Write all of p to stdout and flush it. */
cpk_status cli_write_stdout(const uint8_t *p, size_t n, struct cpk_error *err);

/* Uppercase hex without separators. */
void cli_print_hex(FILE *f, const uint8_t *p, size_t n);

/* A JSON string literal with its quotes; invalid UTF-8 becomes U+FFFD. */
void cli_json_string(FILE *f, const char *s);

/*
 * A small JSON writer that places commas, colons and indentation: begin
 * an object or array (key NULL inside arrays and at the top), add members,
 * end. cli_json_finish ends the document with a newline.
 */
#define CLI_JSON_MAX_DEPTH 16

struct cli_json {
	FILE *f;
	unsigned depth;
	bool need_comma[CLI_JSON_MAX_DEPTH];
	char closer[CLI_JSON_MAX_DEPTH];
};

void cli_json_init(struct cli_json *j, FILE *f);
void cli_json_object(struct cli_json *j, const char *key);
void cli_json_array(struct cli_json *j, const char *key);
void cli_json_end(struct cli_json *j);
void cli_json_str(struct cli_json *j, const char *key, const char *v);	/* NULL: null */
void cli_json_hex(struct cli_json *j, const char *key, const uint8_t *p, size_t n);
void cli_json_uint(struct cli_json *j, const char *key, uint64_t v);
void cli_json_bool(struct cli_json *j, const char *key, bool v);
void cli_json_null(struct cli_json *j, const char *key);
void cli_json_finish(struct cli_json *j);

/* Names of a security level (EXTERNAL AUTHENTICATE P1): "c-mac+c-dec". */
const char *cli_level_name(uint8_t level);


/* A subcommand: one file each under cli/. */
struct cli_command {
	const char *name;
	/* argv[0] is the subcommand's name; returns the exit status. */
	int (*run)(int argc, char *argv[]);
	const char *summary;	/* one line for PROGRAM --help */
	const char *synopsis;	/* "PROGRAM NAME ...", for usage errors too */
	const char *help;	/* what it does, its options, notes */
};

/* A program: a dispatcher over its subcommand table (wireguard-tools style). */
struct cli_program {
	const char *name;		/* "cardc" */
	const char *intro;		/* the usage lines and a description, before "Commands:" */
	const char *exit_status;	/* the closing "Exit status: ..." paragraph */
	const struct cli_command *const *commands;
	size_t ncommands;
	/*
	 * Run with the whole argument list when the first argument names no
	 * command (cardload's default action); NULL: that is a usage error.
	 */
	const struct cli_command *fallback;
};

/* "usage: SYNOPSIS" and the command's help text. */
void cli_command_help(const struct cli_command *c, FILE *f);

/*
 * The signals that stop a run: SIGINT, SIGTERM and SIGHUP into *take, and
 * into *ignored those this process was started with ignored (SIGHUP under
 * nohup; SIGINT in a background job of a shell without job control). A
 * watcher thread takes all of *take with sigwait() (it is also woken with
 * one of them) and acts only on the others: whoever ignored a signal for
 * cardc or cardload keeps it ignored.
 */
void cli_stop_signals(sigset_t *take, sigset_t *ignored);

/* "SIGINT", "SIGTERM" or "SIGHUP"; "a signal" for any other. */
const char *cli_signal_name(int sig);

/* main() of a program: --help, --version, help COMMAND, COMMAND ..., fallback. */
int cli_main(const struct cli_program *p, int argc, char *argv[]);

#endif
