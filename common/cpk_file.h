/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: file input and durable file output shared by the compiler (bundles,
 * signing keys, profiles, key sets), the loader (bundles, trust anchors, run
 * log) and the card simulator (state file). Only regular files are read or
 * replaced: a FIFO or a device is refused at once, never waited on, never
 * overwritten.
 */
#ifndef CPK_FILE_H
#define CPK_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "cpk_bytes.h"
#include "cpk_error.h"

/* CPK_ERR_IO "what 'path': strerror(e)". */
cpk_status cpk_io_error(struct cpk_error *err, const char *what, const char *path, int e);

/* Write all of p[0..n) to fd, retrying short writes and EINTR. */
cpk_status cpk_write_all(int fd, const uint8_t *p, size_t n, const char *path,
    struct cpk_error *err);

/* fsync the directory holding path, so that a new name survives a crash. */
cpk_status cpk_fsync_parent_dir(const char *path, struct cpk_error *err);
/* fsync a directory (its entries: new names survive a crash). */
cpk_status cpk_fsync_dir(const char *dir, struct cpk_error *err);

/*
 * Replace path atomically with p[0..n): a temporary file next to it
 * (created with `mode`), written, fsync'd, renamed over path, and the
 * directory fsync'd. On failure path is untouched and the temporary file
 * removed.
 */
cpk_status cpk_file_replace(const char *path, const uint8_t *p, size_t n, mode_t mode,
    struct cpk_error *err);

/*
 * cpk_file_replace in two steps, for a caller with something to do in
 * between (record the file, then publish it): stage writes and syncs the
 * temporary file next to path (its name in tmp[0..tmplen), PATH_MAX is
 * enough), publish renames it over path and syncs the directory. On a
 * publish failure the temporary file is left for the caller.
 */
cpk_status cpk_file_stage(const char *path, const uint8_t *p, size_t n, mode_t mode, char *tmp,
    size_t tmplen, struct cpk_error *err);
cpk_status cpk_file_publish(const char *tmp, const char *path, bool keep,
    struct cpk_error *err);

/*
 * cpk_file_replace in two steps for many files (cardc batch), without the
 * directory sync, which the caller does once for all of them: write_temp
 * writes the temporary file next to path (its name in tmp, PATH_MAX is
 * enough) and leaves it open in *fd, not synced; sync_rename syncs and
 * closes fd, then renames tmp over path, so that path only ever names a
 * whole, synced file. On any failure the temporary file is removed.
 */
cpk_status cpk_file_write_temp(const char *path, const uint8_t *p, size_t n, mode_t mode,
    char *tmp, size_t tmplen, int *fd, struct cpk_error *err);
cpk_status cpk_file_sync_rename(int fd, const char *tmp, const char *path,
    struct cpk_error *err);

/* "a FIFO", "a character device", "a directory", ... for an error message. */
const char *cpk_file_kind(mode_t mode);

/*
 * Open path for reading, a regular file only: the open never blocks (a FIFO
 * without a writer, a device, a socket or a directory is refused with a
 * message naming `what` and the kind of file) and the descriptor is in
 * blocking mode on return. `flags` adds open(2) flags (O_NOFOLLOW). `what`
 * may be NULL ("cannot open 'path'"). On an open(2) failure errno is kept
 * for the caller. *sb, when not NULL, receives the file's status.
 */
cpk_status cpk_input_open(const char *path, const char *what, int flags, int *fd,
    struct stat *sb, struct cpk_error *err);

/*
 * Append everything left to read from fd to out, retrying EINTR; more than
 * max bytes is CPK_ERR_RANGE. `name` is the subject of a message ("'path'",
 * "stdin", "CAP file 'x'"): "cannot read NAME: ...", "NAME is too large
 * (more than MAX bytes)".
 */
cpk_status cpk_read_fd_all(int fd, const char *name, size_t max, struct cpk_buf *out,
    struct cpk_error *err);

/*
 * cpk_input_open for a stream of records (a cards file, a bundle): a FIFO
 * is accepted too, and opened as a FIFO is, waiting for its writer
 * (`cardc batch --cards <(...)`); devices, sockets and directories are
 * refused as by cpk_input_open.
 */
cpk_status cpk_stream_open(const char *path, const char *what, int *fd, struct cpk_error *err);

/*
 * An output about to be created or replaced must not exist or be a regular
 * file; a symbolic link is replaced itself (rename(2)), never followed. A
 * device, FIFO, socket or directory is refused before anything is written.
 */
cpk_status cpk_output_check(const char *path, const char *what, struct cpk_error *err);

/* What another user could do with a file that fails cpk_check_owner. */
enum cpk_owner_use {
	CPK_OWNER_TRUST,	/* trust anchors of cardload */
	CPK_OWNER_CARD_KEYS,	/* card key sets */
	CPK_OWNER_SIGNING_KEY,	/* the bundle signing key */
	CPK_OWNER_PROFILE,	/* a provisioning profile */
};

/*
 * The rule of OpenSSH's StrictModes: the file or folder described by sb
 * belongs to root or to the effective user and is not writable by group or
 * others (a sticky world-writable folder included). CPK_ERR_PERMISSION.
 */
cpk_status cpk_check_owner(const char *what, const char *path, const struct stat *sb,
    enum cpk_owner_use use, struct cpk_error *err);

/* cpk_check_owner on the folder that holds path ("." when it names none). */
cpk_status cpk_check_parent_owner(const char *what, const char *path, enum cpk_owner_use use,
    struct cpk_error *err);

#endif
