/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: internals shared by scp.c, scp02.c and scp03.c. Not installed,
 * not used outside compiler/.
 */
#ifndef CPK_SCP_INT_H
#define CPK_SCP_INT_H

#include "cpk_apdu.h"
#include "scp.h"

/* Session keys and cryptograms (s->version, i, challenges, counter set). */
cpk_status scp02_derive(struct scp_session *s, const struct scp_keys *keys,
    struct cpk_error *err);
cpk_status scp03_derive(struct scp_session *s, const struct scp_keys *keys,
    struct cpk_error *err);

/* SCP02 session key: 3DES-CBC(key, 0, constant || counter || 00 x 12). */
cpk_status scp02_session_key(const struct keyref *key, uint16_t constant,
    const uint8_t counter[2], uint8_t out[16], struct cpk_error *err);

/*
 * Protect a parsed plain command. `first` marks EXTERNAL AUTHENTICATE:
 * zero chaining value, no encryption, no counter.
 */
cpk_status scp02_wrap(struct scp_session *s, const struct cpk_apdu *a, bool first,
    struct cpk_buf *out, struct cpk_error *err);
cpk_status scp03_wrap(struct scp_session *s, const struct cpk_apdu *a, bool first,
    struct cpk_buf *out, struct cpk_error *err);

/*
 * Verify (and decrypt) a parsed protected command into a plain one. On a
 * MAC failure the caller closes the session.
 */
cpk_status scp02_unwrap(struct scp_session *s, const struct cpk_apdu *a, bool first,
    struct cpk_buf *out, struct cpk_error *err);
cpk_status scp03_unwrap(struct scp_session *s, const struct cpk_apdu *a, bool first,
    struct cpk_buf *out, struct cpk_error *err);

/* Compute the R-MAC of a response (data as sent, i.e. after R-ENC). */
cpk_status scp02_rmac(struct scp_session *s, const uint8_t *data, size_t n, uint16_t sw,
    uint8_t mac[8], struct cpk_error *err);
cpk_status scp03_rmac(const struct scp_session *s, const uint8_t *data, size_t n, uint16_t sw,
    uint8_t mac[8], struct cpk_error *err);

/* SCP03 R-ENC of response data (encrypt: pad and encrypt; else decrypt and unpad). */
cpk_status scp03_renc(const struct scp_session *s, int encrypt, const uint8_t *in, size_t n,
    struct cpk_buf *out, struct cpk_error *err);

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
