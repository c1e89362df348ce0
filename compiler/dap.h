/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: Data Authentication Pattern (GP 2.3.1 9.2.1, C.2): a security
 * domain's signature over the Load File Data Block hash, carried before the
 * load file data block as a DAP block
 *
 *	E2 len { 4F len SD-AID, C3 len signature }
 *
 * cpk signs with an RSA private key (PEM, PKCS#8 or PKCS#1) using
 * RSASSA-PKCS1-v1_5 with SHA-256 over the hash bytes of INSTALL [for load],
 * which is deterministic: the same inputs give the same bundle.
 */
#ifndef CPK_DAP_H
#define CPK_DAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpk_bytes.h"
#include "cpk_error.h"
#include "gp_cmd.h"

#define DAP_KEY_FILE_MAX ((size_t)16 * 1024)
#define DAP_SIG_MAX 512		/* RSA-4096 */

/*
 * Sign hash[0..n) with the DAP key in `path`: a regular file, not a link,
 * owned by the user or root and readable by its owner only (like a key
 * set). sig receives the signature (replaced).
 */
cpk_status dap_sign_file(const char *path, const uint8_t *hash, size_t n, struct cpk_buf *sig,
    struct cpk_error *err);

/*
 * Sign msg[0..n) with the RSA private key in the PEM text `pem` with
 * RSASSA-PKCS1-v1_5 and SHA-1 (sha1, delegated-management tokens) or
 * SHA-256 (DAP); what and path name the key in messages ("DAP key").
 * sig receives the signature (replaced). The caller cleanses pem.
 */
cpk_status dap_rsa_sign(const struct cpk_buf *pem, const char *what, const char *path, bool sha1,
    const uint8_t *msg, size_t n, struct cpk_buf *sig, struct cpk_error *err);

/* Append the DAP block E2 { 4F sd, C3 sig } to out. */
cpk_status dap_block(const struct gp_aid *sd, const uint8_t *sig, size_t n, struct cpk_buf *out,
    struct cpk_error *err);

#endif
