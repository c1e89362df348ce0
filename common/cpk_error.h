/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: status codes and the caller-owned error structure.
 *
 * Every library function under common/, compiler/ and loader/ returns a
 * cpk_status and, on failure, fills a struct cpk_error that the caller owns.
 * Nothing below cli/ prints or exits: cli/ decides the wording and the exit
 * code from the status and the fields of the error.
 */
#ifndef CPK_ERROR_H
#define CPK_ERROR_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
	CPK_OK = 0,
	CPK_ERR_NOMEM,		/* allocation failed */
	CPK_ERR_ARG,		/* a caller passed an invalid argument */
	CPK_ERR_PARSE,		/* malformed input bytes or text */
	CPK_ERR_RANGE,		/* a length, count or value outside its limit */
	CPK_ERR_UNSUPPORTED,	/* valid but not supported by cpk */
	CPK_ERR_CRYPTO,		/* the cryptographic library failed */
	CPK_ERR_VERIFY,		/* a MAC, cryptogram or hash did not match */
	CPK_ERR_STATE,		/* operation not allowed in the current state */
	CPK_ERR_NOT_FOUND,	/* a named object does not exist */
	CPK_ERR_IO,		/* a file or socket operation failed */
	CPK_ERR_PERMISSION,	/* file permissions refused (e.g. key file mode) */
	CPK_ERR_SIGNATURE,	/* a signature is missing, unknown or invalid */
	CPK_ERR_CARD,		/* the card answered a refusing status word */
	CPK_ERR_PCSC,		/* the PC/SC layer failed */
	CPK_ERR_INTERRUPTED,	/* the run was interrupted on request */
	CPK_ERR_TOKEN,		/* the PKCS#11 token or its module failed */
	CPK_STATUS_COUNT
} cpk_status;

/* The longest message, with its terminating NUL. */
#define CPK_ERROR_MSG_LEN 512

/* Location of an input error in a text file (line and column from 1). */
struct cpk_error {
	cpk_status status;
	char msg[CPK_ERROR_MSG_LEN];
	char file[256];		/* input file, "" if none */
	unsigned line;		/* 0 if unknown */
	unsigned col;		/* 0 if unknown */
	long pcsc;		/* PC/SC return code, 0 if none */
	uint16_t sw;		/* card status word, 0 if none */
	unsigned long ssl;	/* OpenSSL error code, 0 if none */
};

/* Short stable identifier of a status ("CPK_ERR_PARSE"). Never NULL. */
const char *cpk_status_name(cpk_status st);
/* Plain-words description of a status ("malformed input"). Never NULL. */
const char *cpk_status_str(cpk_status st);

/* Reset an error structure to "no error". NULL is accepted. */
void cpk_error_clear(struct cpk_error *err);

/*
 * Record an error and return its status, so a caller writes
 *	ret = cpk_error_set(err, CPK_ERR_PARSE, "bad hex '%s'", s);
 *	goto out;
 * err may be NULL; the status is returned either way.
 */
cpk_status cpk_error_set(struct cpk_error *err, cpk_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* As cpk_error_set, with a file:line:column location. */
cpk_status cpk_error_set_at(struct cpk_error *err, cpk_status st, const char *file,
    unsigned line, unsigned col, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/*
 * Prefix the existing message with context ("profile step 3: ...").
 * The status and location are kept.
 */
void cpk_error_prefix(struct cpk_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
