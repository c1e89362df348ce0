/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: GlobalPlatform secure channels, both sides.
 *
 * Each protocol is one `struct scp_ops` filled by one file (scp02.c,
 * scp03.c) and listed in the table of scp.c; its keyless facts (response
 * layout, lengths, i bits) are its row of common/scp_proto.h. The session
 * code below asks the table and never tests a protocol number.
 *
 * One session object serves the host (cardc compiles with it; it wraps
 * commands and unwraps responses) and the card (the simulator verifies and
 * unwraps commands and wraps responses). Both sides run the same derivation
 * and chaining code, so what the compiler emits is exactly what the card
 * side accepts.
 *
 * Host flow:  scp_session_begin -> scp_check_card_cryptogram ->
 *             scp_external_authenticate -> { scp_wrap_command,
 *             scp_unwrap_response }*
 * Card flow:  scp_session_begin -> (answer with s->card_cryptogram) ->
 *             scp_card_external_authenticate -> { scp_unwrap_command,
 *             scp_wrap_response }*
 *
 * Any verification failure on the card side closes the session (all
 * session keys are cleansed); the card then answers 6982.
 */
#ifndef CPK_SCP_H
#define CPK_SCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpk_bytes.h"
#include "cpk_error.h"
#include "gp_crypto.h"
#include "keyref.h"
#include "scp_iu.h"

/* The protocol byte, as the table knows it (scp_ops_find, scp_proto_find). */
enum scp_version {
	SCP02 = 2,
	SCP03 = 3,
};

/* Security level bits SCP_SL_*: common/scp_proto.h. */

/* SCP02 `i` bits. */
#define SCP02_I_3KEYS 0x01
#define SCP02_I_UNMODIFIED 0x02
#define SCP02_I_EXPLICIT 0x04
#define SCP02_I_ICV_AID 0x08
#define SCP02_I_ICV_ENC 0x10
#define SCP02_I_RMAC 0x20
#define SCP02_I_PSEUDO 0x40
/* SCP03 `i` bits. */
#define SCP03_I_PSEUDO 0x10
#define SCP03_I_RMAC 0x20
#define SCP03_I_RENC 0x40

#define SCP_AID_MAX 16

/* A static key set (card keys, after any diversification). */
struct scp_keyset {
	enum gp_key_alg alg;
	size_t len;			/* bytes per key */
	uint8_t kvn;			/* key version number */
	uint8_t enc[GP_MAX_KEY];
	uint8_t mac[GP_MAX_KEY];
	uint8_t dek[GP_MAX_KEY];
};

void scp_keyset_clear(struct scp_keyset *k);

/*
 * The same key set as references (keyref.h): what the host side of a
 * session uses, wherever the keys are. scp_keys_from_bytes makes memory
 * keys of a struct scp_keyset; scp_keys_clear clears all three.
 */
struct scp_keys {
	enum gp_key_alg alg;
	size_t len;
	uint8_t kvn;
	struct keyref enc, mac, dek;
};

void scp_keys_from_bytes(struct scp_keys *out, const struct scp_keyset *k);
void scp_keys_clear(struct scp_keys *k);

/*
 * Derive the card's static keys from master keys with a diversification
 * scheme and the card's KDD. master and out may not overlap.
 */
cpk_status scp_keyset_diversify(const struct scp_keyset *master, enum gp_diversification scheme,
    const uint8_t kdd[SCP_KDD_LEN], struct scp_keyset *out, struct cpk_error *err);

struct cpk_apdu;
struct scp_session;

/*
 * One secure channel protocol: what its file (scpNN.c) provides. Every
 * member is set; renc is NULL when the protocol has no R-ENC
 * (proto->i_renc == 0). docs/ADDING-A-SECURE-CHANNEL.md.
 */
struct scp_ops {
	const struct scp_proto *proto;	/* keyless facts: IU layout, lengths, i bits */

	/* The static key set. */
	enum gp_key_alg key_alg;	/* of the keys, and of throwaway keys for cardc check */
	const char *keys_text;		/* what keys_fit wants: "a 16-byte 3DES key set" */
	bool (*keys_fit)(enum gp_key_alg alg, size_t len);
	/* Can PUT KEY carry a key of keylen bytes? CPK_ERR_UNSUPPORTED says which can. */
	cpk_status (*put_key_check)(size_t keylen, struct cpk_error *err);

	/*
	 * Block-size arithmetic: the largest plain command data at `level`
	 * when the protected command data (ciphertext, padding and MAC) may
	 * be max_data bytes (255 for a short APDU).
	 */
	size_t (*max_plain_data)(uint8_t level, size_t max_data);

	/*
	 * The pseudo-random card challenge (proto->challenge_len bytes into
	 * out) for a counter of proto->counter_len bytes and the SD AID.
	 */
	cpk_status (*challenge)(const struct scp_keys *keys, const uint8_t *counter,
	    const uint8_t *aid, size_t aidlen, uint8_t *out, struct cpk_error *err);
	/* Session keys and both cryptograms (s: i, challenges, counter set). */
	cpk_status (*derive)(struct scp_session *s, const struct scp_keys *keys,
	    struct cpk_error *err);
	/*
	 * Protect a parsed plain command; `first` marks EXTERNAL AUTHENTICATE
	 * (initial chaining value, no encryption, no counter).
	 */
	cpk_status (*wrap)(struct scp_session *s, const struct cpk_apdu *a, bool first,
	    struct cpk_buf *out, struct cpk_error *err);
	/* Verify (and decrypt) a parsed protected command into a plain one. */
	cpk_status (*unwrap)(struct scp_session *s, const struct cpk_apdu *a, bool first,
	    struct cpk_buf *out, struct cpk_error *err);
	/* The R-MAC of a response (data as sent, i.e. after R-ENC). */
	cpk_status (*rmac)(struct scp_session *s, const uint8_t *data, size_t n, uint16_t sw,
	    uint8_t mac[8], struct cpk_error *err);
	/* R-ENC of response data (encrypt: pad and encrypt; else decrypt and unpad). */
	cpk_status (*renc)(const struct scp_session *s, int encrypt, const uint8_t *in,
	    size_t n, struct cpk_buf *out, struct cpk_error *err);
	/* PUT KEY key material, and its inverse for the card side (same length). */
	cpk_status (*encrypt_key)(const struct scp_session *s, const uint8_t *key,
	    size_t keylen, uint8_t *out, struct cpk_error *err);
	cpk_status (*decrypt_key)(const struct scp_session *s, const uint8_t *enc, size_t len,
	    uint8_t *out, struct cpk_error *err);
	/* Sensitive STORE DATA: padded to the cipher block and encrypted; appends to out. */
	cpk_status (*encrypt_data)(const struct scp_session *s, const uint8_t *data, size_t n,
	    struct cpk_buf *out, struct cpk_error *err);
};

/* The protocol's operations, or NULL when cpk does not implement it. */
const struct scp_ops *scp_ops_find(uint8_t id);

/*
 * Is this `i` one cpk implements? SCP02: three keys, modified APDU,
 * explicit initiation, zero ICV (i & 0x0F == 05), any of ICV encryption,
 * R-MAC and pseudo-random challenge (05, 15, 25, 35, 45, 55, 65, 75).
 * SCP03: 00, 10, 20, 30, 60, 70.
 */
cpk_status scp_i_supported(enum scp_version v, uint8_t i, struct cpk_error *err);
/* Does this `i` give a pseudo-random (predictable) card challenge? */
bool scp_i_pseudo_random(enum scp_version v, uint8_t i);
/* Is this security level allowed for this protocol and `i`? (01 03 11 13 33) */
cpk_status scp_level_allowed(enum scp_version v, uint8_t i, uint8_t level, struct cpk_error *err);
/*
 * Largest plaintext command data at this level when the card takes
 * commands of max_data protected data bytes (CPK_APDU_SHORT_MAX_LC: short
 * APDUs, up to CPK_APDU_EXT_MAX_LC with extended length), from the
 * protocol's row: the C-MAC takes 8 bytes, C-DEC pads to whole cipher
 * blocks with at least one byte, and a protocol may keep some levels short
 * (SCP02 with R-MAC). 0 when nothing fits or for a protocol cpk does not
 * implement.
 */
size_t scp_max_plain_data(enum scp_version v, uint8_t level, size_t max_data);

/*
 * The pseudo-random card challenge.
 * SCP03: KDF(static ENC, 02, 64 bits, counter(3) || SD AID): 8 bytes.
 * SCP02: first 6 bytes of retail MAC(C-MAC session key for counter(2), zero
 * ICV, SD AID): 6 bytes.
 */
cpk_status scp_pseudo_random_challenge(const struct scp_keyset *keys, enum scp_version v,
    const uint8_t *counter, size_t counter_len, const uint8_t *aid, size_t aidlen,
    uint8_t *out, size_t *outlen, struct cpk_error *err);
/* The same with key references. */
cpk_status scp_pseudo_random_challenge_keys(const struct scp_keys *keys, enum scp_version v,
    const uint8_t *counter, size_t counter_len, const uint8_t *aid, size_t aidlen,
    uint8_t *out, size_t *outlen, struct cpk_error *err);

enum scp_state {
	SCP_STATE_NONE = 0,	/* no session (or closed after a failure) */
	SCP_STATE_INITIALIZED,	/* INITIALIZE UPDATE done, keys derived */
	SCP_STATE_OPEN,		/* EXTERNAL AUTHENTICATE done */
};

struct scp_session {
	enum scp_version version;
	const struct scp_ops *ops;	/* the protocol's table entry */
	enum scp_state state;
	uint8_t i;
	uint8_t kvn;
	uint8_t level;
	uint8_t channel;		/* logical channel (CLA & 03): 0 after scp_session_begin;
					   a card serving channels 1-3 sets it from INITIALIZE UPDATE */
	size_t key_len;
	uint8_t s_enc[GP_MAX_KEY];
	uint8_t s_mac[GP_MAX_KEY];
	uint8_t s_rmac[GP_MAX_KEY];
	struct keyref dek;		/* SCP02 session DEK; SCP03 static DEK (borrowed) */
	uint8_t host_challenge[SCP_CHALLENGE_LEN];
	uint8_t card_challenge[SCP_CHALLENGE_LEN];
	size_t challenge_len;
	uint8_t counter[SCP_PROTO_COUNTER_MAX];
	size_t counter_len;
	uint8_t card_cryptogram[8];
	uint8_t host_cryptogram[8];
	uint8_t mac_chain[16];		/* SCP03: 16 bytes; SCP02: last C-MAC (8) */
	uint8_t rmac_chain[8];		/* SCP02 R-MAC ICV */
	uint32_t enc_counter;		/* SCP03 command counter */
	uint8_t rmac_input[5 + 255];	/* SCP02: the last plain command, for its R-MAC */
	size_t rmac_input_len;
	bool response_pending;		/* a command was (un)wrapped, response not yet */
};

/*
 * Cleanse every secret and reset the session to SCP_STATE_NONE (an SCP02
 * session DEK made in a token is destroyed there).
 */
void scp_session_clear(struct scp_session *s);

/*
 * Derive session keys and both cryptograms from the static keys, the host
 * challenge and the card's INITIALIZE UPDATE response fields (KDD, KVN,
 * counter, card challenge; the response's cryptogram is not used here).
 * `i` comes from the card record for SCP02 and must equal iu->i for SCP03.
 */
cpk_status scp_session_begin(struct scp_session *s, const struct scp_keyset *keys,
    enum scp_version v, uint8_t i, const uint8_t host_challenge[SCP_CHALLENGE_LEN],
    const struct scp_iu_response *iu, struct cpk_error *err);
/*
 * The same with key references (the host side of cardc). The session
 * borrows keys->dek for SCP03: keys must outlive the session. The session
 * keys themselves are bytes in the session, for this one card.
 */
cpk_status scp_session_begin_keys(struct scp_session *s, const struct scp_keys *keys,
    enum scp_version v, uint8_t i, const uint8_t host_challenge[SCP_CHALLENGE_LEN],
    const struct scp_iu_response *iu, struct cpk_error *err);

/* Host: compare the card's cryptogram (constant time). CPK_ERR_VERIFY on mismatch. */
cpk_status scp_check_card_cryptogram(const struct scp_session *s, const uint8_t cryptogram[8],
    struct cpk_error *err);

/* Host: build EXTERNAL AUTHENTICATE for `level` and open the session. */
cpk_status scp_external_authenticate(struct scp_session *s, uint8_t level, struct cpk_buf *out,
    struct cpk_error *err);

/* Card: verify EXTERNAL AUTHENTICATE (host cryptogram and C-MAC) and open. */
cpk_status scp_card_external_authenticate(struct scp_session *s, const uint8_t *apdu, size_t n,
    struct cpk_error *err);

/*
 * Host: protect one command (short APDU, CLA 00-3F or 80-BF). Its logical
 * channel must be the session's (EXTERNAL AUTHENTICATE is sent on channel 0).
 */
cpk_status scp_wrap_command(struct scp_session *s, const uint8_t *apdu, size_t n,
    struct cpk_buf *out, struct cpk_error *err);

/*
 * Card: verify and decrypt one command; out receives the plain APDU. A
 * command for another logical channel than the session's is refused (SCP03
 * leaves the channel bits out of the C-MAC, so this check is what binds a
 * command to its channel).
 */
cpk_status scp_unwrap_command(struct scp_session *s, const uint8_t *apdu, size_t n,
    struct cpk_buf *out, struct cpk_error *err);

/* Card: protect a response (R-ENC, R-MAC as the level says); out = data' || R-MAC || SW. */
cpk_status scp_wrap_response(struct scp_session *s, const uint8_t *data, size_t n, uint16_t sw,
    struct cpk_buf *out, struct cpk_error *err);

/* Host: check and decrypt a response (data || SW); out receives the plain data. */
cpk_status scp_unwrap_response(struct scp_session *s, const uint8_t *resp, size_t n,
    struct cpk_buf *out, uint16_t *sw, struct cpk_error *err);

/* Does a response with this SW carry R-MAC / R-ENC protection? (9000, 62xx, 63xx) */
bool scp_sw_protected(uint16_t sw);

/*
 * Encrypt key material for PUT KEY: SCP02 3DES-ECB under the session DEK
 * (16-byte keys); SCP03 AES-CBC, zero ICV, under the static DEK (16 or
 * 32-byte keys). out receives the ciphertext (same length as the key).
 */
cpk_status scp_encrypt_key(const struct scp_session *s, const uint8_t *key, size_t keylen,
    uint8_t *out, struct cpk_error *err);
/*
 * Encrypt sensitive personalization data (STORE DATA with the encryption
 * indicator): padded with 80 00.. to the cipher block, then SCP02
 * 3DES-ECB under the session DEK, SCP03 AES-CBC with a zero ICV under the
 * static DEK. Appends to out.
 */
cpk_status scp_encrypt_data(const struct scp_session *s, const uint8_t *data, size_t n,
    struct cpk_buf *out, struct cpk_error *err);

/* Card side inverse, for the simulator. */
cpk_status scp_decrypt_key(const struct scp_session *s, const uint8_t *enc, size_t len,
    uint8_t *out, struct cpk_error *err);

#endif
