/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: the step table. A step that compiles to one plain command is one
 * file (compiler/step_<name>.c) filling one struct step_ops, and one entry
 * in step_table[] (compiler/step.c): the profile parser finds it by name,
 * checks its mapping against its fields, and calls its parse, which builds
 * the command (struct profile_cmd) and sets the status words that count as
 * success. profile_check sees that the command fits the secure channel and
 * calls the step's check; the compiler wraps and emits the command.
 */
#ifndef CPK_STEP_H
#define CPK_STEP_H

#include <stddef.h>

#include "profile_int.h"

struct step_ops {
	const char *name;		/* the step's key in a profile: "set-status" */
	const char *what;		/* "step 'set-status'", for messages */
	const struct ydoc_field *fields;
	size_t nfields;
	const struct ydoc_hint *hints;	/* NULL-terminated, or NULL */
	/*
	 * v[i] is the value of fields[i] (NULL when absent); map is the step's
	 * mapping (for messages about missing or conflicting keys). Fill
	 * s->u.cmd, s->label and s->accept/naccept.
	 */
	cpk_status (*parse)(struct pctx *c, const struct ydoc_node *map,
	    const struct ydoc_node **v, struct profile_step *s);
	/* Rules that need the whole profile (may be NULL). */
	cpk_status (*check)(const struct profile *p, const struct profile_step *s,
	    struct cpk_error *err);
};

extern const struct step_ops step_set_status;
extern const struct step_ops step_delete_key;
extern const struct step_ops step_extradite;
extern const struct step_ops step_registry_update;

extern const struct step_ops *const step_table[];
extern const size_t step_table_len;

/* The table step called `name`, or NULL. */
const struct step_ops *step_find(const char *name);

#endif
