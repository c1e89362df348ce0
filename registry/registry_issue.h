/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: recording what cardc compiles. From a compiled bundle (its
 * manifest and bytes), the card record and the profile, build the
 * registry row: card identity, profile name and hash, bundle hash, mode,
 * the counter the bundle is bound to, and the card's per-card data sealed
 * with the registry data key (datakey.h). Then record it (registry.h).
 */
#ifndef CPK_REGISTRY_ISSUE_H
#define CPK_REGISTRY_ISSUE_H

#include <stddef.h>
#include <stdint.h>

#include "card.h"
#include "cpk_bundle.h"
#include "cpk_error.h"
#include "datakey.h"
#include "profile.h"
#include "receipt.h"
#include "registry.h"

/*
 * One bundle's row, ready for registry_record or registry_record_many:
 * `in` points into the buffers below (do not copy the struct).
 */
struct registry_issue_buf {
	struct registry_issue in;
	char hash[REGISTRY_HEX_HASH];
	char kdd[21], iin[33], cin[33];
	char profile_sha256[REGISTRY_HEX_HASH];
	char counter[REGISTRY_COUNTER_MAX + 1];
	char serial[REGISTRY_SERIAL_MAX + 1];
	char profile[REGISTRY_NAME_MAX + 1];
	char *data;			/* sealed data (hex), NULL if none */
};

/* Fill b from a compiled bundle; registry_issue_buf_free releases it. */
cpk_status registry_issue_prepare(const struct datakey *dk, const struct profile *p,
    const struct card_record *card, const struct cpk_manifest *m, const uint8_t *bytes,
    size_t n, const char *supersede, struct registry_issue_buf *b, struct cpk_error *err);
void registry_issue_buf_free(struct registry_issue_buf *b);

/*
 * Record one bundle (bytes[0..n), just written in memory, not yet on
 * disk). dk may be NULL only when the card has none of the profile's data
 * items. supersede: NULL, or the reason to supersede an issued bundle.
 * hash_hex receives the bundle's SHA-256 in hex (for a later state change).
 */
cpk_status registry_issue_bundle(struct registry *r, const struct datakey *dk,
    const struct profile *p, const struct card_record *card, const struct cpk_manifest *m,
    const uint8_t *bytes, size_t n, const char *supersede, char hash_hex[REGISTRY_HEX_HASH],
    struct cpk_error *err);

/*
 * What a re-issue of the lost card `lost` starts from (cardc reissue): of
 * its issued and loaded bundles compiled from profile p (the same
 * SHA-256), the newest that carries sealed data, a loaded one before an
 * issued one; `row` receives it. The personalization data sealed with it
 * is opened with dk and added to `data` (a card record without data
 * items on entry; the caller clears it: card_record_clear cleanses).
 * CPK_ERR_NOT_FOUND: the registry knows no such card; CPK_ERR_STATE: the
 * card is revoked (the message names what replaced it) or has no issued
 * or loaded bundle; CPK_ERR_ARG: none of its bundles comes from this
 * profile (the message names both profiles and hashes).
 */
cpk_status registry_reissue_source(struct registry *r, const struct datakey *dk,
    const struct profile *p, const char *lost, struct registry_row *row,
    struct card_record *data, struct cpk_error *err);

/*
 * What a verified receipt proves, as registry_import records it (`in`
 * points into the buffers below, do not copy the struct): state loaded
 * (LOADED, UNVERIFIED) or failed, the verdict's sentence as the reason,
 * the captured values present. For cardc receipt import and cardc serve.
 */
struct registry_receipt_buf {
	struct registry_receipt in;
	struct registry_capture caps[REGISTRY_CAPTURES_MAX];
	char hex[REGISTRY_CAPTURES_MAX][2 * REGISTRY_CAPTURE_VALUE_MAX + 1];
	char reason[REGISTRY_REASON_MAX + 1];
	char bundle[REGISTRY_HEX_HASH];
};
void registry_receipt_prepare(const struct receipt_result *res, const char *bundle_sha256,
    struct registry_receipt_buf *b);

#endif
