/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: cardc serve's routes file: which profile a card gets, from what the
 * card told in the first order (cardc(1), SERVE ROUTES). One route per
 * line, first match wins; '#' starts a comment:
 *
 *	CONDITION... PROFILE
 *
 * Every condition must hold (none, or the single word '*': any card).
 * Conditions: iin=HEX, cin=HEX, serial=TEXT, serials=FILE (a file of
 * serials, one per line, '#' comments), cplc.FIELD=HEX with FIELD one of
 * ic-fabricator, ic-type, os-id, os-date, os-level, fabrication-date,
 * ic-serial, ic-batch (their CPLC bytes). PROFILE and FILE are relative
 * to the routes file's folder. Each profile is loaded (and checked, with
 * the key folder) once, when the file is read.
 */
#ifndef CPK_SERVE_ROUTES_H
#define CPK_SERVE_ROUTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpk_error.h"
#include "identify.h"
#include "profile.h"

#define SERVE_ROUTES_MAX 256
#define SERVE_ROUTES_FILE_MAX ((size_t)1024 * 1024)
#define SERVE_SERIALS_MAX 100000

struct serve_routes;

/* Read the routes file and load every profile it names (with keydir). */
cpk_status serve_routes_load(const char *path, const char *keydir, struct serve_routes **out,
    struct cpk_error *err);
void serve_routes_free(struct serve_routes **r);
size_t serve_routes_count(const struct serve_routes *r);

/*
 * The profile of the first route the card matches, and the route's line
 * (for logs); NULL when none matches.
 */
/*
 * The card holder's PIN the first order asks for (profile holder-pin),
 * NULL when no route's profile asks. Profiles of one routes file that ask
 * must agree (serve_routes_load refuses them otherwise): the PIN is
 * verified before INITIALIZE UPDATE, before the route is known.
 */
const struct profile_holder_pin *serve_routes_holder_pin(const struct serve_routes *r);

const struct profile *serve_routes_match(const struct serve_routes *r,
    const struct cpk_card_info *ci, unsigned *line);

#endif
