/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cardsim: the card's persistent data in a YAML file.
 *
 * One schema serves the configuration a person writes and the state file
 * cardsim keeps: the state file is a complete configuration (key sets as
 * static keys, counters, registry, stored data). See README.md for the
 * schema. Errors carry file:line:column.
 */
#ifndef CARDSIM_STATE_H
#define CARDSIM_STATE_H

#include <stdio.h>

#include "cardsim.h"
#include "cpk_error.h"

/* Hard cap on a configuration or state file. */
#define CS_STATE_MAX_BYTES ((size_t)4 * 1024 * 1024)

/*
 * Replace the persistent data of `card` with the contents of a YAML file.
 * Key sets given as master keys with a diversification scheme are
 * diversified with the card's KDD here. On failure the card is unchanged.
 */
cpk_status cardsim_state_load(struct cardsim *card, const char *path, struct cpk_error *err);

/* The same from text in memory (`name` is used in error locations). */
cpk_status cardsim_state_parse(struct cardsim *card, const char *name, const uint8_t *text,
    size_t len, struct cpk_error *err);

/*
 * Write the persistent data to `path` atomically: a temporary file in the
 * same directory (mode 0600: it holds keys), fsync, rename over `path`,
 * fsync of the directory.
 */
cpk_status cardsim_state_save(const struct cardsim *card, const char *path,
    struct cpk_error *err);

/* Write the persistent data as YAML to a stream (what the state file holds). */
cpk_status cardsim_state_write(const struct cardsim *card, FILE *out, struct cpk_error *err);

/* Print the card and its registry for people (no keys). */
void cardsim_print_registry(const struct cardsim *card, FILE *out);

#endif
