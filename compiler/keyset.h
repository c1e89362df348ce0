/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: key set files (see cpk-profile(5), KEY SETS).
 *
 *	kvn: "30"                 # key version, two hex digits (01-FF)
 *	algorithm: aes            # aes | 3des
 *	enc: <hex>                # static card keys ...
 *	mac: <hex>
 *	dek: <hex>
 *	# ... or master keys and how to derive each card's keys from them:
 *	master: <hex>             # one master for ENC, MAC and DEK, or
 *	master: { enc: <hex>, mac: <hex>, dek: <hex> }
 *	diversification: kdf3     # none | emv | visa2 | kdf3
 *
 * Any key may instead be a PKCS#11 URI (p11_uri.h) naming a secret key in
 * a token (p11.h), e.g. master: "pkcs11:token=bureau;object=scp03-master".
 * Such a key is found when the file is read (the module must be set up
 * with p11_setup before); its length comes from the token and its value
 * never enters this process. Unless p11_setup was called, a URI is refused.
 *
 * The file must be a regular file (not a symbolic link) that grants no
 * permission to group or others; it is refused with CPK_ERR_PERMISSION
 * otherwise. Key bytes never appear in an error message. Every buffer
 * that held key material is cleansed (see ydoc.h for the one libyaml
 * buffer that cannot be). A struct keyset lives on pages of its own,
 * kept out of core dumps and locked where allowed (secmem.h).
 */
#ifndef CPK_KEYSET_H
#define CPK_KEYSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpk_error.h"
#include "gp_crypto.h"
#include "scp.h"

/* Largest key file read. */
#define KEYSET_FILE_MAX 65536

struct keyset {
	char *path;			/* as given to keyset_load (for messages) */
	bool master;			/* keys are master keys to diversify */
	bool div_set;			/* the file names a diversification */
	enum gp_diversification div;	/* GP_DIV_NONE for static keys */
	struct scp_keyset keys;		/* alg, len, kvn, enc, mac, dek */
	struct scp_keys refs;		/* the keys as references (keyref.h) */
	bool in_token;			/* a key is a token object (keys.enc/mac/dek
					   then hold zeros for it) */
};

/* Read and check a key file. */
cpk_status keyset_load(const char *path, struct keyset **out, struct cpk_error *err);
/* The same from memory (no permission check: for tests and fuzzing). */
cpk_status keyset_parse(const char *name, const uint8_t *text, size_t len, struct keyset **out,
    struct cpk_error *err);
/* Cleanse and free; NULL accepted; *ks set to NULL. */
void keyset_free(struct keyset **ks);

/*
 * The diversification in force: the key file's, else the profile's
 * (profile_set false: the profile names none). Errors (CPK_ERR_PARSE):
 * both named and different; master keys with no scheme; static keys
 * with a scheme other than none.
 */
cpk_status keyset_effective_div(const struct keyset *ks, bool profile_set,
    enum gp_diversification profile_div, enum gp_diversification *out, struct cpk_error *err);

/*
 * One card's static keys: master keys diversified with the card's KDD
 * (scheme from keyset_effective_div), or a copy of the static keys.
 * CPK_ERR_UNSUPPORTED for a set in a token (values cannot be read).
 */
cpk_status keyset_card_keys(const struct keyset *ks, enum gp_diversification div,
    const uint8_t kdd[SCP_KDD_LEN], struct scp_keyset *out, struct cpk_error *err);

/*
 * The same as key references (what cardc compiles with): static keys are
 * borrowed from the set, emv and visa2 keys are derived where the masters
 * are, kdf3 keys are memory keys. Release with scp_keys_clear, on the
 * thread that made them.
 */
cpk_status keyset_card_refs(const struct keyset *ks, enum gp_diversification div,
    const uint8_t kdd[SCP_KDD_LEN], struct scp_keys *out, struct cpk_error *err);

#endif
