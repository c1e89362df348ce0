/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: the delete-key step: DELETE of a key (GP 2.3.1 11.2, Table 11-24)
 *
 *   80 E4 00 00 Lc [D0 01 id] D2 01 version
 *
 * version: the key version (D2); id: one key identifier (D0) of it, or the
 * whole version when absent; missing-ok: 6A88 (no such key) counts as done.
 * The compiler refuses to delete the key version the bundle's own secure
 * channel uses.
 */
#include "step.h"

#include <stdio.h>

enum { DK_VERSION, DK_ID, DK_MISSING_OK, DK_LABEL };
static const struct ydoc_field fields[] = {
	[DK_VERSION] = { "version", YDOC_T_HEX, true, 1, 1, NULL, false },
	[DK_ID] = { "id", YDOC_T_HEX, false, 1, 1, NULL, false },
	[DK_MISSING_OK] = { "missing-ok", YDOC_T_BOOL, false, 0, 0, NULL, false },
	[DK_LABEL] = { "label", YDOC_T_STR, false, 1, 64, NULL, false },
};
static const struct ydoc_hint hints[] = {
	{ "kvn", "version" }, { "key-version", "version" }, { "key-id", "id" },
	{ "kid", "id" }, { NULL, NULL },
};

static cpk_status
get_byte(struct pctx *c, const struct ydoc_node *n, const struct ydoc_field *f, uint8_t *out)
{
	size_t len;

	return ydoc_get_hex(c->file, n, f, out, 1, &len, c->err);
}

static cpk_status
parse(struct pctx *c, const struct ydoc_node *map, const struct ydoc_node **v,
    struct profile_step *s)
{
	struct profile_cmd *cmd = &s->u.cmd;
	uint8_t kvn, id = 0;
	bool missing_ok;
	cpk_status ret;

	(void)map;
	if ((ret = get_byte(c, v[DK_VERSION], &fields[DK_VERSION], &kvn)) != CPK_OK ||
	    (v[DK_ID] != NULL && (ret = get_byte(c, v[DK_ID], &fields[DK_ID], &id)) != CPK_OK) ||
	    (ret = profile_opt_bool(c, v[DK_MISSING_OK], &fields[DK_MISSING_OK], false,
	    &missing_ok)) != CPK_OK ||
	    (ret = profile_opt_label(c, v[DK_LABEL], &fields[DK_LABEL], &s->label)) != CPK_OK)
		return ret;
	if (kvn == 0x00 || kvn > 0x7F)
		return cpk_error_set_at(c->err, CPK_ERR_RANGE, c->file, v[DK_VERSION]->line,
		    v[DK_VERSION]->col, "'version' must be a key version from 01 to 7F, not %02X",
		    kvn);
	if (v[DK_ID] != NULL && (id == 0x00 || id > 0x7F))
		return cpk_error_set_at(c->err, CPK_ERR_RANGE, c->file, v[DK_ID]->line,
		    v[DK_ID]->col, "'id' must be a key identifier from 01 to 7F, not %02X", id);
	cmd->header[0] = 0x80;
	cmd->header[1] = 0xE4;
	cmd->header[2] = 0x00;
	cmd->header[3] = 0x00;
	if (v[DK_ID] != NULL) {
		cmd->data[cmd->len++] = 0xD0;
		cmd->data[cmd->len++] = 0x01;
		cmd->data[cmd->len++] = id;
	}
	cmd->data[cmd->len++] = 0xD2;
	cmd->data[cmd->len++] = 0x01;
	cmd->data[cmd->len++] = kvn;
	if (v[DK_ID] != NULL)
		snprintf(cmd->what, sizeof(cmd->what), "DELETE KEY %02X/%02X", kvn, id);
	else
		snprintf(cmd->what, sizeof(cmd->what), "DELETE KEY %02X", kvn);
	s->accept[0] = 0x9000;
	s->naccept = 1;
	if (missing_ok) {
		s->accept[1] = 0x6A88;
		s->naccept = 2;
	}
	return CPK_OK;
}

/* Not the key set the bundle's own secure channel opens with. */
static cpk_status
check(const struct profile *p, const struct profile_step *s, struct cpk_error *err)
{
	const struct profile_cmd *cmd = &s->u.cmd;
	uint8_t kvn = cmd->data[cmd->len - 1];
	bool own = (p->sd.has_kvn && p->sd.kvn == kvn) ||
	    (p->keys.set != NULL && p->keys.set->keys.kvn == kvn);

	if (!own)
		return CPK_OK;
	return cpk_error_set_at(err, CPK_ERR_PARSE, p->file, s->loc.line, s->loc.col,
	    "step 'delete-key' deletes key version %02X, the key set this bundle's secure channel "
	    "uses: the card would refuse every later command (open the channel with another key "
	    "version)", kvn);
}

const struct step_ops step_delete_key = {
	"delete-key", "step 'delete-key'", fields, sizeof(fields) / sizeof(fields[0]), hints,
	parse, check,
};
