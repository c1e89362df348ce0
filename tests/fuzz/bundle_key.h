/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk fuzz: the signing key of the bundle seeds and the bundle target's
 * trust store.
 *
 * The key is the public TEST key keys/test-signing.key (key id
 * f620c8c4c446de5d), so the golden bundles (tests/golden/) verify too. The
 * bundle target links only the loader, which has no signer: it derives the
 * public key from the seed once with OpenSSL. The seed generator
 * (bundle_seeds.c) signs with cpk_signer_from_seed on the same seed and
 * checks that both sides agree on the public key.
 *
 * Functions here are static inline so that each target keeps a single
 * external symbol.
 */
#ifndef CPK_FUZZ_BUNDLE_KEY_H
#define CPK_FUZZ_BUNDLE_KEY_H

#include <openssl/evp.h>
#include <stdint.h>
#include <string.h>

#include "cpk_bundle.h"

/* The Ed25519 seed of keys/test-signing.key (TEST KEY ONLY, public). */
static const uint8_t fuzz_bundle_seed[CPK_ED25519_KEY_LEN] = {
	0x65, 0x16, 0xb2, 0x9b, 0xdb, 0x66, 0xe5, 0x6c, 0x22, 0xb9, 0xb1, 0xad, 0x19, 0xd8,
	0x68, 0x0b, 0xac, 0xc8, 0x96, 0xb1, 0x07, 0xae, 0xe0, 0x53, 0xdc, 0x31, 0x90, 0x26,
	0xd3, 0x8b, 0x7a, 0xfa,
};
#define FUZZ_BUNDLE_KEY_ID "f620c8c4c446de5d"

/* Another seed: bundles it signs are from a key the trust store does not hold. */
static const uint8_t fuzz_bundle_other_seed[CPK_ED25519_KEY_LEN] = {
	0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
	0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
	0x11, 0x11, 0x11, 0x11,
};

/* The public key and key id of fuzz_bundle_seed. 0 on success. */
static inline int
fuzz_bundle_pubkey(struct cpk_pubkey *out)
{
	EVP_PKEY *pk;
	size_t len = sizeof(out->pub);
	int ret = -1;

	memset(out, 0, sizeof(*out));
	pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, fuzz_bundle_seed,
	    sizeof(fuzz_bundle_seed));
	if (pk != NULL && EVP_PKEY_get_raw_public_key(pk, out->pub, &len) == 1 &&
	    len == sizeof(out->pub) && cpk_key_id(out->pub, out->key_id, NULL) == CPK_OK)
		ret = 0;
	EVP_PKEY_free(pk);
	return ret;
}

#endif
