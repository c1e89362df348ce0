/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: the bundle writer (cardc). Builds script.bin from command records,
 * fills the manifest's script fields, signs manifest.yaml and stores the
 * three entries in a zip whose bytes depend only on the entries (see
 * cpk_bundle.h and cpk(5)).
 */
#ifndef CPK_BUNDLE_WRITE_H
#define CPK_BUNDLE_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "cpk_bundle.h"
#include "cpk_bytes.h"
#include "cpk_error.h"
#include "sign.h"

struct cpk_compiled;	/* compile.h */

/*
 * The bundle's creation time: SOURCE_DATE_EPOCH when set (a decimal number
 * of seconds; anything else is CPK_ERR_PARSE), else the current time.
 */
cpk_status cpk_bundle_creation_time(uint64_t *out, struct cpk_error *err);

/*
 * Build a bundle and append its bytes to out.
 *
 * m: everything but the script fields (commands, script_size,
 * script_sha256), which are computed here; format is set to
 * CPK_BUNDLE_FORMAT; an empty compiler becomes "cpk <version>".
 * cmds[0..n): the records, checked with cpk_command_check and
 * cpk_script_check_flow, so the writer never produces what a reader
 * refuses. signer: the bureau key (sign.h).
 */
cpk_status cpk_bundle_write(const struct cpk_manifest *m, const struct cpk_command *cmds,
    size_t n, const struct cpk_signer *signer, struct cpk_buf *out, struct cpk_error *err);

/*
 * As cpk_bundle_write for a compile's output, whose script is already
 * written (c->script): the command views (c->cmds, or read from the script
 * when NULL) are released once the order rules are checked, before the
 * signature and the zip, and the script once it is zipped
 * (cpk_compiled_free_commands). c->manifest stays; on failure the
 * commands and the script are gone too.
 */
cpk_status cpk_bundle_write_compiled(struct cpk_compiled *c, const struct cpk_signer *signer,
    struct cpk_buf *out, struct cpk_error *err);

/*
 * As cpk_bundle_write, into a file replaced atomically: a temporary file in
 * the same directory (mode 0600), fsync, rename over path, fsync of the
 * directory. On failure path is untouched and no temporary file remains.
 */
cpk_status cpk_bundle_write_file(const struct cpk_manifest *m, const struct cpk_command *cmds,
    size_t n, const struct cpk_signer *signer, const char *path, struct cpk_error *err);

/*
 * The container alone: store already-encoded entries as manifest.yaml,
 * manifest.sig, script.bin with the fixed metadata and append the archive
 * to out. No check of the contents (tests and re-signing tools use it).
 */
cpk_status cpk_bundle_zip(const uint8_t *manifest, size_t manifest_len, const uint8_t *sig,
    size_t sig_len, const uint8_t *script, size_t script_len, struct cpk_buf *out,
    struct cpk_error *err);

#endif
