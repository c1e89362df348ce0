/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: the host challenge of an offline bundle, derived instead of drawn,
 * so that the same inputs give the same bundle (reproducible builds, CI)
 * while nobody without the bureau's signing key can predict a challenge
 * and any change of input gives another one.
 *
 *   inputs = SHA-256 of, each length-prefixed: a version tag; the profile
 *            text's SHA-256; per step, the Load File Data Block of a load
 *            and the new keys of a put-key (version, algorithm, the key
 *            bytes); the card record (security domain, SCP, i, key
 *            version, KDD, counter, CPLC, IIN, CIN, serial, its session
 *            fields, every per-card data item)
 *   sig    = Ed25519(signing key, "cpk host challenge v1" || inputs)
 *   challenge = first 8 bytes of SHA-256("cpk host challenge" || sig)
 *
 * Ed25519 signatures are deterministic (RFC 8032), so this is a keyed
 * pseudo-random function of the inputs, like an RFC 6979 nonce: the same
 * inputs and key give the same challenge, different inputs give
 * independent ones, so two different command streams never share session
 * keys or encryption IVs. The signature never leaves this function.
 */
#ifndef CPK_CHALLENGE_H
#define CPK_CHALLENGE_H

#include <stdint.h>

#include "card.h"
#include "cpk_error.h"
#include "profile.h"
#include "sign.h"

#define CPK_CHALLENGE_LEN 8

/*
 * The digest state after the version tag, the profile text's SHA-256 and
 * the steps (the inputs every card of a profile shares), for
 * profile.challenge_prefix; NULL when it cannot be made (the derivation
 * then hashes them itself). Freed, cleansed, by
 * cpk_host_challenge_prefix_free (NULL accepted).
 */
void *cpk_host_challenge_prefix(const struct profile *p);
void cpk_host_challenge_prefix_free(void *prefix);

cpk_status cpk_host_challenge_derive(const struct cpk_signer *key, const struct profile *p,
    const struct card_record *card, uint8_t out[CPK_CHALLENGE_LEN], struct cpk_error *err);

#endif
