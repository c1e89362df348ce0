/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * hsm-vectors: every shared vector (tests/vectors/, the checks of
 * tests/unit/vectors.c) with the keys in a PKCS#11 token: each key a check
 * hands to the host side of a session, to AES-CMAC or to diversification
 * is imported into the token (sensitive, not extractable) and used from
 * there (vec_key). Session keys, cryptograms, pseudo-random challenges,
 * wrapped commands, the SCP02 session DEK (compared by what it encrypts)
 * and PUT KEY encryption must match the vectors as with memory keys.
 *
 *   test_hsm_vectors VECTOR_DIR    (CPK_PKCS11_MODULE, CPK_PKCS11_PIN set;
 *                                   the token labelled cpk-test)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hsm_env.h"
#include "p11.h"
#include "vectors.h"

#define MAX_UNITS 64

static unsigned long imported;

/* vec_key: the key into the token under a label of its own, then found there. */
static cpk_status
token_key(enum gp_key_alg alg, const uint8_t *value, size_t len, struct keyref *out,
    struct cpk_error *err)
{
	struct p11_uri u;
	cpk_status st;

	memset(&u, 0, sizeof(u));
	u.has = P11_URI_TOKEN | P11_URI_OBJECT;
	snprintf(u.token, sizeof(u.token), "cpk-test");
	snprintf(u.object, sizeof(u.object), "vector-%lu", ++imported);
	if ((st = p11_import_secret(&u, alg, value, len, err)) != CPK_OK)
		return st;
	return p11_secret_key(&u, alg, out, err);
}

int
main(int argc, char *argv[])
{
	struct vec_unit units[MAX_UNITS];
	struct vnode *docs[4] = { NULL };
	struct cpk_error err;
	int n, i, failed = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: test_hsm_vectors DIR\n");
		return 2;
	}
	cpk_error_clear(&err);
	if (hsm_env_setup(&err) != CPK_OK) {
		fprintf(stderr, "hsm-vectors: %s\n", err.msg);
		return 1;
	}
	vec_key = token_key;
	if ((n = vec_units(argv[1], units, MAX_UNITS, docs)) <= 0) {
		fprintf(stderr, "cannot load the vectors in %s\n", argv[1]);
		return 1;
	}
	for (i = 0; i < n; i++) {
		int bad = units[i].check(units[i].node, units[i].ctx);

		fprintf(stderr, "%-48s %s\n", units[i].name, bad == 0 ? "ok" : "FAILED");
		failed += bad != 0;
	}
	for (i = 0; i < 4; i++)
		vdoc_free(docs[i]);
	p11_shutdown();
	fprintf(stderr, "hsm-vectors: %d units, %d failed, %lu keys used from the token\n", n,
	    failed, imported);
	return failed == 0 && imported > 0 ? 0 : 1;
}
