/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: the set-status step: SET STATUS (GP 2.3.1 11.10) of the card (the
 * issuer security domain's life cycle) or of an application.
 *
 *   card: initialized | secured | locked | terminated
 *	80 F0 80 P2 with P2 07, 0F, 7F or FF (no data, as GlobalPlatformPro)
 *   application: AID, state: locked | unlocked
 *	80 F0 40 P2 Lc AID with P2 80 (lock) or 00 (unlock)
 *
 * The card decides whether a transition is allowed (OP_READY -> INITIALIZED
 * -> SECURED <-> CARD_LOCKED, any -> TERMINATED); a refused one stops the
 * bundle at this command.
 */
#include "step.h"

#include <stdio.h>
#include <string.h>

enum { SS_CARD, SS_APPLICATION, SS_STATE, SS_LABEL };
static const char *const card_states[] = { "initialized", "secured", "locked", "terminated",
	NULL };
static const uint8_t card_values[] = { 0x07, 0x0F, 0x7F, 0xFF };
static const char *const app_states[] = { "locked", "unlocked", NULL };
static const struct ydoc_field fields[] = {
	[SS_CARD] = { "card", YDOC_T_ENUM, false, 0, 0, card_states, false },
	[SS_APPLICATION] = { "application", YDOC_T_HEX, false, GP_AID_MIN, GP_AID_MAX, NULL,
	    false },
	[SS_STATE] = { "state", YDOC_T_ENUM, false, 0, 0, app_states, false },
	[SS_LABEL] = { "label", YDOC_T_STR, false, 1, 64, NULL, false },
};
static const struct ydoc_hint hints[] = {
	{ "aid", "application" }, { "app", "application" }, { "instance", "application" },
	{ "status", "state" }, { "life-cycle", "card" }, { NULL, NULL },
};

static cpk_status
parse(struct pctx *c, const struct ydoc_node *map, const struct ydoc_node **v,
    struct profile_step *s)
{
	struct profile_cmd *cmd = &s->u.cmd;
	int idx;
	cpk_status ret;

	if ((v[SS_CARD] == NULL) == (v[SS_APPLICATION] == NULL))
		return cpk_error_set_at(c->err, CPK_ERR_PARSE, c->file, map->line, map->col,
		    "step 'set-status' needs either 'card' (its life cycle) or 'application' "
		    "(with 'state'), not %s", v[SS_CARD] == NULL ? "neither" : "both");
	cmd->header[0] = 0x80;
	cmd->header[1] = 0xF0;
	if (v[SS_CARD] != NULL) {
		if (v[SS_STATE] != NULL)
			return cpk_error_set_at(c->err, CPK_ERR_PARSE, c->file, v[SS_STATE]->line,
			    v[SS_STATE]->col, "'state' is for an application; the card's new "
			    "state is the value of 'card'");
		if ((ret = ydoc_get_enum(c->file, v[SS_CARD], &fields[SS_CARD], &idx,
		    c->err)) != CPK_OK)
			return ret;
		cmd->header[2] = 0x80;
		cmd->header[3] = card_values[idx];
		snprintf(cmd->what, sizeof(cmd->what), "SET STATUS card %s", card_states[idx]);
	} else {
		if (v[SS_STATE] == NULL)
			return cpk_error_set_at(c->err, CPK_ERR_PARSE, c->file, map->line, map->col,
			    "step 'set-status' of an application needs 'state' (locked or "
			    "unlocked)");
		if ((ret = profile_get_aid(c, v[SS_APPLICATION], &fields[SS_APPLICATION],
		    &cmd->aid)) != CPK_OK ||
		    (ret = ydoc_get_enum(c->file, v[SS_STATE], &fields[SS_STATE], &idx,
		    c->err)) != CPK_OK)
			return ret;
		cmd->header[2] = 0x40;
		cmd->header[3] = idx == 0 ? 0x80 : 0x00;
		memcpy(cmd->data, cmd->aid.b, cmd->aid.len);
		cmd->len = cmd->aid.len;
		cmd->has_aid = true;
		snprintf(cmd->what, sizeof(cmd->what), "SET STATUS %s", idx == 0 ? "lock" :
		    "unlock");
	}
	if ((ret = profile_opt_label(c, v[SS_LABEL], &fields[SS_LABEL], &s->label)) != CPK_OK)
		return ret;
	s->accept[0] = 0x9000;
	s->naccept = 1;
	return CPK_OK;
}

const struct step_ops step_set_status = {
	"set-status", "step 'set-status'", fields, sizeof(fields) / sizeof(fields[0]), hints,
	parse, NULL,
};
