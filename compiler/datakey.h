/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: the registry data key and the card data it seals.
 *
 * The registry keeps each card's personalization data (the data items of
 * its record that the profile declares) sealed with AES-256-GCM under a
 * data key that lives in the key folder, KEYDIR/registry-data.key, never
 * in the registry. The file is 64 hex digits (and a line end); it follows
 * the rules of the card key files (a regular file, not a link, mode 0600,
 * owned by you or root, in a folder others cannot write), is made by
 * datakey_generate (`cardc registry keygen -k KEYDIR`), and its key lives
 * on locked pages that are cleansed when freed (secmem.h).
 *
 * Sealed form: a 12-byte random nonce, the ciphertext, the 16-byte tag.
 * The AAD binds it to the card and the bundle: "cpk-registry-data-1", a
 * NUL, the card's serial, a NUL, the bundle's SHA-256 (32 bytes): a value
 * moved to another row does not open.
 *
 * Plain form (card_data_encode): per item, a 1-byte name length, the
 * name, a 2-byte big-endian value length, the value; items in the order
 * the profile declares them; items the card record lacks are left out.
 */
#ifndef CPK_DATAKEY_H
#define CPK_DATAKEY_H

#include <stddef.h>
#include <stdint.h>

#include "card.h"
#include "cpk_bytes.h"
#include "cpk_error.h"
#include "profile.h"

#define DATAKEY_FILE "registry-data.key"
#define DATAKEY_LEN 32

struct datakey;

/* KEYDIR/registry-data.key; CPK_ERR_NOT_FOUND (saying how to make one) if missing. */
cpk_status datakey_load(const char *keydir, struct datakey **out, struct cpk_error *err);
/* Make KEYDIR/registry-data.key (never replaces one). */
cpk_status datakey_generate(const char *keydir, struct cpk_error *err);
/* Cleanse and free; NULL accepted. */
void datakey_free(struct datakey **dk);

/* Append the sealed form of plain[0..n) to out. */
cpk_status datakey_seal(const struct datakey *dk, const char *serial,
    const uint8_t bundle_sha256[32], const uint8_t *plain, size_t n, struct cpk_buf *out,
    struct cpk_error *err);
/* Open a sealed value into out (replacing its contents). */
cpk_status datakey_open(const struct datakey *dk, const char *serial,
    const uint8_t bundle_sha256[32], const uint8_t *sealed, size_t n, struct cpk_buf *out,
    struct cpk_error *err);

/* The card's items the profile declares, in plain form (appended to out). */
cpk_status card_data_encode(const struct profile *p, const struct card_record *card,
    struct cpk_buf *out, struct cpk_error *err);
/* Add the items of a plain form to a card record. */
cpk_status card_data_decode(const uint8_t *plain, size_t n, struct card_record *card,
    struct cpk_error *err);

#endif
