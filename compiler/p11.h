/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: keys in a PKCS#11 token (the key reference back end "pkcs11",
 * keyref.h; the bundle-signing key, sign.h).
 *
 * The module is loaded with dlopen and initialized once per process
 * (C_Initialize with CKF_OS_LOCKING_OK). All keys of a run are in one
 * token: the first URI's token/manufacturer/serial/model pick the slot.
 * Each thread has its own session, opened on its first use (the user is
 * logged in once, with the PIN the caller's callback gives; the PIN is
 * cleansed right after C_Login). Objects are looked up once, when a key
 * set or the signing key is loaded; their handles serve every thread.
 *
 * Master and static keys stay in the token: cpk asks it to encrypt, MAC
 * and derive, never for a value. A card key derived with emv or visa2 and
 * an SCP02 session DEK are session objects of the calling thread's
 * session (CKA_TOKEN false, CKA_SENSITIVE true, CKA_EXTRACTABLE false),
 * destroyed when the card is done (keyref_clear).
 *
 * Any failure of the token itself (a PKCS#11 return value other than a
 * refused argument) is CPK_ERR_TOKEN and closes the calling thread's
 * session; its next call opens a new one, logs in again if the token
 * forgot the login and finds the objects again if their handles went
 * stale (token removed and put back). A card that failed on a token error
 * is lost, the next card gets a fresh session.
 */
#ifndef CPK_P11_H
#define CPK_P11_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpk_error.h"
#include "gp_crypto.h"
#include "keyref.h"
#include "p11_uri.h"

#define P11_PIN_MAX 256
#define P11_ED25519_LEN 32
#define P11_ED25519_SIG_LEN 64

/*
 * Gives the user PIN for token `label` (uri_pin_source: the URI's
 * pin-source, or NULL). Writes at most cap bytes to pin and their count
 * to *len. Called at most once per login, with the module lock held.
 */
typedef cpk_status (*p11_pin_fn)(void *ctx, const char *label, const char *uri_pin_source,
    char *pin, size_t cap, size_t *len, struct cpk_error *err);

struct p11_config {
	const char *module;		/* path of the module (.so) */
	p11_pin_fn pin;
	void *pin_ctx;
};

/*
 * Remember where the module is and how to get the PIN; nothing is loaded
 * yet. CPK_ERR_ARG without a module path.
 */
cpk_status p11_setup(const struct p11_config *cfg, struct cpk_error *err);

/* Has p11_setup been called? */
bool p11_configured(void);

/* Close every session, C_Finalize, unload the module, forget the objects. */
void p11_shutdown(void);

/* Close the calling thread's session (a worker thread that ends). */
void p11_thread_end(void);

/*
 * A secret key of algorithm alg named by u (a keyref that does not own the
 * object). CPK_ERR_NOT_FOUND: no such object; CPK_ERR_UNSUPPORTED: an
 * object of another type (the message says which), or one that may leave
 * the token (extractable or not sensitive): cpk refuses master keys that
 * are not protected; CPK_ERR_TOKEN: the token failed.
 */
cpk_status p11_secret_key(const struct p11_uri *u, enum gp_key_alg alg, struct keyref *out,
    struct cpk_error *err);

/*
 * Create a secret key from its value, as a token object that is sensitive
 * and not extractable, with the label and id of u (cardc hsm import).
 * CPK_ERR_STATE if an object with that label already exists.
 */
cpk_status p11_import_secret(const struct p11_uri *u, enum gp_key_alg alg,
    const uint8_t *value, size_t len, struct cpk_error *err);

/* An Ed25519 private key in the token and its public key. */
struct p11_signkey;
cpk_status p11_ed25519_find(const struct p11_uri *u, struct p11_signkey **out,
    uint8_t pub[P11_ED25519_LEN], struct cpk_error *err);
cpk_status p11_ed25519_sign(const struct p11_signkey *k, const uint8_t *msg, size_t n,
    uint8_t sig[P11_ED25519_SIG_LEN], struct cpk_error *err);
void p11_signkey_free(struct p11_signkey **k);
/* Generate an Ed25519 pair in the token, labelled as u says (cardc keygen --pkcs11). */
cpk_status p11_ed25519_generate(const struct p11_uri *u, uint8_t pub[P11_ED25519_LEN],
    struct cpk_error *err);
/* Create the pair from a seed (cardc hsm import of a test signing key). */
cpk_status p11_ed25519_import(const struct p11_uri *u, const uint8_t seed[P11_ED25519_LEN],
    const uint8_t pub[P11_ED25519_LEN], struct cpk_error *err);

/*
 * Undo a creation that cannot be completed: destroy the objects labelled
 * as u says that cpk made (a secret key, or an Ed25519 pair when pair is
 * true). Best effort: the caller reports the first failure, not this.
 */
void p11_destroy_made(const struct p11_uri *u, bool pair);

/*
 * Read one attribute of the object u names (tests: CKA_SENSITIVE,
 * CKA_EXTRACTABLE, CKA_VALUE must be refused). *len receives the length or
 * (unsigned long)-1 if the token refuses to reveal it.
 */
cpk_status p11_get_attribute(const struct p11_uri *u, unsigned long type, uint8_t *buf,
    size_t cap, unsigned long *len, struct cpk_error *err);

#endif
