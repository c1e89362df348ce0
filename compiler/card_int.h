/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: what the card record readers share (card.c): the one field table of
 * every form, value setters and the cross-field rules. The forms themselves
 * are card_yaml.c (card.yaml), card_json.c (JSON lines, through jansson) and
 * card_csv.c (CSV rows). Not part of the compiler's interface.
 */
#ifndef CPK_CARD_INT_H
#define CPK_CARD_INT_H

#include <stdbool.h>

#include "card.h"
#include "ydoc.h"

enum {
	C_SD_AID, C_SCP, C_I, C_KVN, C_KDD, C_COUNTER, C_CPLC, C_IIN, C_CIN, C_SERIAL,
	C_HOST_CHALLENGE, C_IU_RESPONSE, C_MAX_COMMAND, C_MAX_RESPONSE, C_DATA, C_COUNT
};

/* The one field table of all three forms ("data" is a mapping in YAML only). */
extern const struct ydoc_field card_fields[C_COUNT];
extern const struct ydoc_schema card_schema;

/* One field from its text form (errors without a location). */
cpk_status card_set_field(struct card_record *c, int idx, const char *s, struct cpk_error *err);
/* A per-card data item: name checked, length capped, no duplicates. */
cpk_status card_check_data_name(const char *name, struct cpk_error *err);
cpk_status card_add_data(struct card_record *c, const char *name, const char *value,
    struct cpk_error *err);
/*
 * Cross-field rules. seen[] marks the fields given; *bad names the field
 * to blame (for the location), -1 for the record as a whole.
 */
cpk_status card_finish(struct card_record *c, const bool *seen, int *bad, struct cpk_error *err);

/* Flat forms (JSON, CSV): which field a key names: index, -1 data.NAME, -2 unknown. */
int card_lookup_key(const char *key);
/* The error for an unknown key or column (what: "key" / "column"), with a hint. */
cpk_status card_unknown_flat_key(const char *key, const char *what, struct cpk_error *err);
/* Apply one key/value; idx from card_lookup_key. */
cpk_status card_apply_flat(struct card_record *c, bool *seen, int idx, const char *key,
    const char *value, struct cpk_error *err);

#endif
