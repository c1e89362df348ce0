/*
 * cpk: durable file output shared by the compiler (bundles, signing keys),
 * the loader (run log) and the card simulator (state file).
 */
#ifndef CPK_FILE_H
#define CPK_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cpk_error.h"

/* CPK_ERR_IO "what 'path': strerror(e)". */
cpk_status cpk_io_error(struct cpk_error *err, const char *what, const char *path, int e);

/* Write all of p[0..n) to fd, retrying short writes and EINTR. */
cpk_status cpk_write_all(int fd, const uint8_t *p, size_t n, const char *path,
    struct cpk_error *err);

/* fsync the directory holding path, so that a new name survives a crash. */
cpk_status cpk_fsync_parent_dir(const char *path, struct cpk_error *err);

/*
 * Replace path atomically with p[0..n): a temporary file next to it
 * (created with `mode`), written, fsync'd, renamed over path, and the
 * directory fsync'd. On failure path is untouched and the temporary file
 * removed.
 */
cpk_status cpk_file_replace(const char *path, const uint8_t *p, size_t n, mode_t mode,
    struct cpk_error *err);

#endif
