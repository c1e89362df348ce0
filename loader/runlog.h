/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: the loader's run log. Every cardload run appends JSON records, one
 * object per line, to a log file, so that a technician's results survive a
 * crash or a pulled cable: a "started" record before the first command is
 * sent to a card, an "ended" record when the run ends (a run that never
 * reached a card writes only its "ended" record). A "started" record with
 * no "ended" record of the same start and pid is a run that died (kill -9,
 * power cut) with the card possibly partly provisioned.
 *
 *   - the file is opened with O_APPEND (created mode 0600, never through a
 *     symbolic link), each record is written with a single write(), then
 *     the file is fsync'd (and its folder, when the file is new);
 *   - a record only partly written (disk full, file size limit) is cut
 *     off again, so the next record never continues a fragment;
 *   - missing folders of the path are created with mode 0700.
 *
 * An "ended" record's members, in this order (absent values are null):
 *
 *   record            "ended"
 *   start             ISO-8601 UTC with milliseconds, "2025-11-22T10:04:05.123Z"
 *   pid               cardload's process id (with start, names the run)
 *   end               as start
 *   cardload          the cardload version
 *   result            ok | rejected | mismatch | pre-channel | refused |
 *                     transport | reader | interrupted | error
 *   exit              cardload's exit status
 *   source            the bundle's path, URL or "-" (stdin)
 *   bundle-sha256     SHA-256 of the bundle file (64 uppercase hex digits, as
 *                     cardc inspect shows it)
 *   key-id            the signer's key id (16 lowercase hex digits, as in key files)
 *   serial            the card serial the bundle names
 *   reader            the reader used
 *   commands, sent, accepted     counts
 *   failed-index      1-based number of the command that stopped the run
 *   failed-label      its label
 *   failed-sw         its status word (4 hex digits)
 *   iu-field          the INITIALIZE UPDATE field that differed
 *   message           the one-line outcome as shown to the technician
 *   receipt-file      the --receipt file written, else null
 *   receipt-sha256    SHA-256 of the receipt document (of the file's bytes)
 *   receipt-omitted   null, or why the receipt is not in the record
 *   receipt           the receipt document itself (cpk-receipt(5)) on one
 *                     line, or null when it is longer than
 *                     CPK_RUNLOG_RECEIPT_MAX or would take the line past
 *                     CPK_RUNLOG_LINE_MAX (then receipt-omitted says so)
 *
 * A "started" record: record ("started"), start, pid, cardload, source,
 * bundle-sha256, key-id, serial, reader, commands.
 */
#ifndef CPK_RUNLOG_H
#define CPK_RUNLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "cpk_bundle.h"
#include "cpk_bytes.h"
#include "cpk_error.h"

#define CPK_RUNLOG_PATH_MAX 4096
#define CPK_RUNLOG_TIME_LEN 32		/* room for an ISO-8601 time and its NUL */
/*
 * One record, one write(2): 64 KiB holds an "ended" record with the receipt
 * of a bundle of a few hundred commands (a 2 KB applet loads in about 20).
 */
#define CPK_RUNLOG_LINE_MAX ((size_t)65536)
/* The embedded receipt's share of that line; a longer receipt is left out. */
#define CPK_RUNLOG_RECEIPT_MAX ((size_t)60 * 1024)

struct cpk_runlog_entry {
	bool started;				/* a "started" record, else "ended" */
	char start[CPK_RUNLOG_TIME_LEN];
	unsigned long pid;
	char end[CPK_RUNLOG_TIME_LEN];
	const char *version;
	const char *result;
	int exit_code;
	const char *source;			/* NULL: null */
	const uint8_t *bundle_sha256;		/* CPK_SHA256_LEN bytes, NULL: null */
	const uint8_t *key_id;			/* CPK_KEY_ID_LEN bytes, NULL: null */
	const char *serial;			/* NULL or "": null */
	const char *reader;			/* NULL or "": null */
	size_t commands, sent, accepted;
	bool failed;				/* the failed-* members are set */
	size_t failed_index;			/* 1-based */
	const char *failed_label;
	uint16_t failed_sw;			/* 0: null */
	const char *iu_field;			/* NULL or "": null */
	const char *message;			/* NULL: null */
	const char *receipt_file;		/* NULL or "": null */
	const uint8_t *receipt_sha256;		/* NULL: null */
	/* The receipt document (JSON, newlines allowed between tokens), NULL: null. */
	const uint8_t *receipt;
	size_t receipt_len;
	const char *receipt_omitted;		/* NULL or "": null */
};

/* "2025-11-22T10:04:05.123Z" for a CLOCK_REALTIME time. */
void cpk_runlog_time(const struct timespec *ts, char out[CPK_RUNLOG_TIME_LEN]);
/* The same for now (the Unix epoch if the clock cannot be read). */
void cpk_runlog_now(char out[CPK_RUNLOG_TIME_LEN]);

/*
 * Append the entry as one JSON line (ending in LF) to out. Strings are
 * escaped; invalid UTF-8 becomes U+FFFD. CPK_ERR_RANGE if the line would
 * exceed CPK_RUNLOG_LINE_MAX (each string is cut to 1024 bytes of output,
 * escapes included, so this does not happen with the loader's own fields).
 */
cpk_status cpk_runlog_format(const struct cpk_runlog_entry *e, struct cpk_buf *out,
    struct cpk_error *err);

/*
 * The default log path: $XDG_STATE_HOME/cpk/cardload.log, or
 * $HOME/.local/state/cpk/cardload.log when XDG_STATE_HOME is unset, empty
 * or not absolute. CPK_ERR_NOT_FOUND when neither gives an absolute path.
 */
cpk_status cpk_runlog_default_path(char *out, size_t cap, struct cpk_error *err);

/*
 * Append line[0..n) (one record: ends in LF, at most CPK_RUNLOG_LINE_MAX
 * bytes, else CPK_ERR_ARG) to path with one write(), then fsync. Creates
 * missing folders (0700) and the file (0600). A short write is rolled back
 * (the file cut to its previous size). CPK_ERR_IO names the path.
 */
cpk_status cpk_runlog_append(const char *path, const uint8_t *line, size_t n,
    struct cpk_error *err);

#endif
