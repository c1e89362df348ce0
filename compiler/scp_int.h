/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: internals shared by scp.c and the protocol files (scp02.c,
 * scp03.c). Not installed, not used outside compiler/.
 */
#ifndef CPK_SCP_INT_H
#define CPK_SCP_INT_H

#include "cpk_apdu.h"
#include "scp.h"

/* The protocols, one file each; the table in scp.c lists them. */
extern const struct scp_ops scp02_ops;
extern const struct scp_ops scp03_ops;

/*
 * Block-size arithmetic shared by the protocols: protected data of at most
 * max_data bytes holds an 8-byte MAC and, with C-DEC, the plain data padded
 * (80 00..) to whole cipher blocks of `block` bytes.
 */
size_t scp_max_plain_blocks(uint8_t level, size_t max_data, size_t block);

/*
 * Pad data (80 00..) to whole blocks of `block` bytes and encrypt it under
 * the session's DEK: ECB, or CBC with a zero ICV. Appends to out.
 */
cpk_status scp_dek_encrypt_padded(const struct scp_session *s, size_t block, bool cbc,
    const uint8_t *data, size_t n, struct cpk_buf *out, struct cpk_error *err);

/*
 * Lc encoding of a protected command. It is extended (00 Lc1 Lc2) when the
 * command came extended or its protected data exceeds 255 bytes; the C-MAC
 * covers the header as sent, so both protocols MAC the same form.
 */
#define SCP_HEADER_MAX 7
bool scp_extended(const struct cpk_apdu *a, size_t lc);
/* CLA INS P1 P2 Lc (1 byte, or 00 Lc1 Lc2 when extended) into hdr; its length. */
size_t scp_put_header(uint8_t cla, const struct cpk_apdu *a, size_t lc, bool extended,
    uint8_t hdr[SCP_HEADER_MAX]);

/*
 * Append a protected command: header with CLA | 04, Lc = body + 8 (short
 * or extended as scp_extended says), body, MAC, and Le 00 (00 00 when
 * extended) when the plain command had an Le.
 */
cpk_status scp_emit_wrapped(const struct cpk_apdu *a, const uint8_t *body, size_t bodylen,
    const uint8_t mac[8], struct cpk_buf *out, struct cpk_error *err);

/* Emit the plain command recovered by an unwrap: CLA without 04, data, Le. */
cpk_status scp_emit_plain(const struct cpk_apdu *a, const uint8_t *data, size_t n,
    struct cpk_buf *out, struct cpk_error *err);

#endif
