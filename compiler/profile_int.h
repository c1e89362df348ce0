/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: what the profile parser shares with the step files of the step table
 * (compiler/step.h): the parse context and the value helpers.
 */
#ifndef CPK_PROFILE_INT_H
#define CPK_PROFILE_INT_H

#include <stdbool.h>

#include "cpk_error.h"
#include "gp_cmd.h"
#include "profile.h"
#include "ydoc.h"

struct pctx {
	const char *file;
	struct profile *p;
	struct cpk_error *err;
};

struct profile_loc profile_loc_of(const struct ydoc_node *n);
/* An AID value (5 to 16 bytes of hex). */
cpk_status profile_get_aid(struct pctx *c, const struct ydoc_node *n, const struct ydoc_field *f,
    struct gp_aid *aid);
/* A boolean, dflt when the key is absent (n NULL). */
cpk_status profile_opt_bool(struct pctx *c, const struct ydoc_node *n, const struct ydoc_field *f,
    bool dflt, bool *out);
/* Privileges: a list of names or hex (1 or 3 bytes); 00 (one byte) when n is NULL. */
cpk_status profile_get_privileges(struct pctx *c, const struct ydoc_node *n, uint8_t priv[3],
    size_t *len);
/* A step label (text without control characters); *out stays NULL when absent. */
cpk_status profile_opt_label(struct pctx *c, const struct ydoc_node *n,
    const struct ydoc_field *f, char **out);

#endif
