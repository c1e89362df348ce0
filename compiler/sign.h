/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: the bureau's Ed25519 signing key (cardc keygen, bundle signing).
 *
 * Key files are described in cpk_bundle.h and cpk(5). The private key file
 * is created with O_EXCL|O_NOFOLLOW and mode 0600 and is never overwritten;
 * a private key file readable or writable by group or others is refused.
 * Ed25519 signatures are deterministic: the same key and manifest give the
 * same manifest.sig.
 */
#ifndef CPK_SIGN_H
#define CPK_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "cpk_bundle.h"
#include "cpk_error.h"

struct cpk_signer;

/*
 * Generate a key pair and write PREFIX.key (mode 0600) and PREFIX.pub
 * (mode 0644). Refuses (CPK_ERR_IO, nothing written) if either exists or
 * is a symbolic link. note (may be NULL) is appended to both comment lines.
 * key_id (may be NULL) receives the new key id.
 */
cpk_status cpk_sign_keygen(const char *prefix, const char *note,
    uint8_t key_id[CPK_KEY_ID_LEN], struct cpk_error *err);

/*
 * Load a private key file. CPK_ERR_PERMISSION if its mode lets group or
 * others read or write it (the message names the file and the mode);
 * CPK_ERR_IO if it is a symbolic link or not a regular file; CPK_ERR_PARSE
 * if it is not a cpk secret key or its key id does not match the key.
 */
cpk_status cpk_signer_load(const char *path, struct cpk_signer **out, struct cpk_error *err);

/*
 * A signer whose private key is an Ed25519 key in a PKCS#11 token (p11.h;
 * the module set up with p11_setup): uri names it (object=LABEL), the
 * public key is the token's public key object of the same label. The key
 * id is computed from it as for a file; signatures are the same bytes.
 */
cpk_status cpk_signer_token(const char *uri, struct cpk_signer **out, struct cpk_error *err);

/* A PKCS#11 URI (pkcs11:...) is a token key, anything else a key file. */
cpk_status cpk_signer_open(const char *name, struct cpk_signer **out, struct cpk_error *err);

/*
 * Make an Ed25519 key pair in the token (sensitive, not extractable),
 * labelled as uri says, and write only PREFIX.pub (mode 0644). Refuses if
 * PREFIX.pub exists or the token already holds a key of that label.
 */
cpk_status cpk_sign_keygen_token(const char *uri, const char *prefix, const char *note,
    uint8_t key_id[CPK_KEY_ID_LEN], struct cpk_error *err);

/*
 * Copy the private key file's key into the token as uri says (cardc hsm
 * import, for test labs): a sensitive, non-extractable Ed25519 pair.
 */
cpk_status cpk_sign_import_token(const char *path, const char *uri,
    uint8_t key_id[CPK_KEY_ID_LEN], struct cpk_error *err);

/* A signer from a raw 32-byte Ed25519 seed (tests). */
cpk_status cpk_signer_from_seed(const uint8_t seed[CPK_ED25519_KEY_LEN],
    struct cpk_signer **out, struct cpk_error *err);

/* Release the key (OpenSSL clears its copy). NULL is accepted; *s is set to NULL. */
void cpk_signer_free(struct cpk_signer **s);

/* The signer's public key and key id. */
const struct cpk_pubkey *cpk_signer_pubkey(const struct cpk_signer *s);

/* manifest.sig for msg: "Ed" || key id || Ed25519(msg). */
cpk_status cpk_signer_sign(const struct cpk_signer *s, const uint8_t *msg, size_t n,
    uint8_t sig[CPK_SIG_LEN], struct cpk_error *err);

#endif
