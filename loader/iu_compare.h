/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: compare the card's INITIALIZE UPDATE response with the one a bundle
 * expects, field by field, and say in plain words what a difference means.
 */
#ifndef CPK_IU_COMPARE_H
#define CPK_IU_COMPARE_H

#include <stddef.h>
#include <stdint.h>

#include "cpk_bundle.h"
#include "cpk_error.h"

enum cpk_iu_diff {
	CPK_IU_SAME = 0,
	CPK_IU_MALFORMED,	/* not an INITIALIZE UPDATE response */
	CPK_IU_PROTOCOL,	/* SCP version or i */
	CPK_IU_CARD,		/* KDD: another card */
	CPK_IU_KEY_VERSION,	/* KVN */
	CPK_IU_STALE,		/* the card's counter moved past the bundle's */
	CPK_IU_COUNTER_AHEAD,	/* the bundle's counter is ahead of the card's */
	CPK_IU_CHALLENGE,	/* card challenge */
	CPK_IU_CRYPTOGRAM,	/* card cryptogram: other keys */
};

struct cpk_iu_report {
	enum cpk_iu_diff diff;
	char field[32];		/* "sequence counter" */
	char detail[400];	/* what differs, what it means, what to do */
};

/*
 * Compare resp[0..n) (response data without SW) with the manifest's
 * iu-response. Returns CPK_OK when identical, CPK_ERR_VERIFY otherwise,
 * with *r describing the first differing field (in the order protocol,
 * card, key version, counter, challenge, cryptogram) and err->msg = detail.
 */
cpk_status cpk_iu_compare(const struct cpk_manifest *m, const uint8_t *resp, size_t n,
    struct cpk_iu_report *r, struct cpk_error *err);

#endif
