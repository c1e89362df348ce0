/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk tests: the known-answer vectors of tests/vectors/ (copies of
 * shared/vectors/), as check functions over the parsed files. Each check
 * returns the number of mismatches; with vec_quiet set it prints nothing
 * (the mutation test runs each check thousands of times).
 */
#ifndef CPK_VECTORS_H
#define CPK_VECTORS_H

#include "keyref.h"
#include "vecdoc.h"

extern int vec_quiet;

/*
 * How a check makes the keys it hands to the host side of a session and to
 * the key-reference paths of the CMAC and diversification checks: memory
 * keys (keyref_mem) by default; the hsm suite puts them in a token.
 */
typedef cpk_status (*vec_key_fn)(enum gp_key_alg alg, const uint8_t *value, size_t len,
    struct keyref *out, struct cpk_error *err);
extern vec_key_fn vec_key;

/* A unit of checking: a node whose hex fields all matter to one check. */
struct vec_unit {
	const char *name;		/* "scp03.yaml pysim.sessions[2]" */
	struct vnode *node;		/* the fields that are mutated */
	int (*check)(const struct vnode *node, const struct vnode *ctx);
	const struct vnode *ctx;	/* enclosing group (shared fields), may be NULL */
	const char *const *skip;	/* field names the source never exercises, NULL-terminated */
	/*
	 * Bytes that the algorithm ignores by definition (e.g. KDD bytes a
	 * diversification scheme does not read): altering them must NOT
	 * change the outcome. NULL if none.
	 */
	bool (*ignored)(const struct vnode *node, const char *path, size_t byte);
};

/*
 * Load the four vector files from dir and list their units. Returns the
 * number of units (at most cap), or -1 if a file could not be loaded.
 * The documents are returned through docs[4] for vdoc_free.
 */
int vec_units(const char *dir, struct vec_unit *units, size_t cap, struct vnode *docs[4]);

#endif
