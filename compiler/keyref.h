/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: a key the secure-channel code uses without knowing where it is.
 *
 * A struct keyref is a value: either the key's bytes in process memory
 * (keyref_mem: key files, the card side, session DEKs derived from a file
 * key) or a handle to a key object in a PKCS#11 token (p11.h), whose
 * bytes this process never sees. Each back end is one table of the
 * operations the protocols need; callers only ask the table:
 *
 *	ecb, cbc	block encryption of whole blocks (a token key encrypts
 *			only: decryption is the card side's business)
 *	cmac		AES-CMAC, full 16-byte tag
 *	derive		a new key of the same algorithm and length whose value
 *			is ECB(k, data), or CBC(k, iv, data): EMV/VISA2
 *			diversification, the SCP02 session DEK. A token key
 *			derives a token object (C_DeriveKey with
 *			CKM_DES3_ECB_ENCRYPT_DATA and friends), so the result
 *			never leaves the token either.
 *	clear		forget the key: cleanse the bytes, destroy a token
 *			object made for one card (k->temporary)
 *
 * Copying a keyref copies the reference (for a memory key, its bytes);
 * only the owner calls keyref_clear. Everything here cleanses what it
 * held.
 */
#ifndef CPK_KEYREF_H
#define CPK_KEYREF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpk_error.h"
#include "gp_crypto.h"

struct keyref;

struct keyref_ops {
	const char *name;		/* "memory", "pkcs11": for messages */
	cpk_status (*ecb)(const struct keyref *k, int encrypt, const uint8_t *in, size_t n,
	    uint8_t *out, struct cpk_error *err);
	cpk_status (*cbc)(const struct keyref *k, int encrypt, const uint8_t *iv,
	    const uint8_t *in, size_t n, uint8_t *out, struct cpk_error *err);
	cpk_status (*cmac)(const struct keyref *k, const uint8_t *msg, size_t n,
	    uint8_t mac[GP_AES_BLOCK], struct cpk_error *err);
	cpk_status (*derive)(const struct keyref *k, const uint8_t *iv, const uint8_t *data,
	    size_t n, struct keyref *out, struct cpk_error *err);
	void (*clear)(struct keyref *k);
};

struct keyref {
	const struct keyref_ops *ops;	/* NULL: no key */
	enum gp_key_alg alg;
	size_t len;			/* key length in bytes */
	uint8_t value[GP_MAX_KEY];	/* memory keys */
	const void *obj;		/* token keys: the back end's object */
	unsigned long handle;		/* token keys: the object handle */
	bool temporary;			/* a token object made for one card */
	unsigned long session;		/* temporary: the session that made it */
};

/* A memory key holding a copy of value (len checked by the caller). */
void keyref_mem(struct keyref *k, enum gp_key_alg alg, const uint8_t *value, size_t len);

/* Is this a memory key (its bytes are in k->value)? */
bool keyref_in_memory(const struct keyref *k);

/* A copy that does not own a temporary token object (clearing it destroys nothing). */
void keyref_borrow(struct keyref *dst, const struct keyref *src);

/* Forget the key (see above); k is zeroed. NULL and an empty keyref are accepted. */
void keyref_clear(struct keyref *k);

/* The SCP03 KDF (gp_scp03_kdf) with k as the CMAC key. */
cpk_status keyref_scp03_kdf(const struct keyref *k, uint8_t constant, uint16_t l_bits,
    const uint8_t *context, size_t ctxlen, uint8_t *out, struct cpk_error *err);

/*
 * One card key from a master key (PROTOCOLS.md): emv and visa2 by derive
 * (the card key lives where the master lives), kdf3 by two CMACs whose
 * result is a memory key (no PKCS#11 mechanism keeps a CMAC result in the
 * token; docs/SECURITY.md). GP_DIV_NONE borrows the master.
 */
cpk_status keyref_diversify(const struct keyref *master, enum gp_diversification scheme,
    const uint8_t kdd[10], enum gp_key_type type, struct keyref *out, struct cpk_error *err);

#endif
