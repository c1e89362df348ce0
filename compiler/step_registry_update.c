/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: the registry-update step: INSTALL [for registry update] (GP 2.3.1
 * 11.5.2.3.4, Table 11-46) changes an application's registry entry: its
 * privileges and its registry update parameters (system parameters, EF).
 *
 *   80 E6 40 00 Lc  00 (no SD) | 00 | len AID | len privileges | len parameters | 00 (token)
 *
 * privileges: names or hex as for install; absent = unchanged (length 0).
 * system-params: the content of the EF template; absent = none.
 */
#include "step.h"

#include <stdio.h>
#include <string.h>

enum { RU_APPLICATION, RU_PRIV, RU_SYS, RU_LABEL };
static const struct ydoc_field fields[] = {
	[RU_APPLICATION] = { "application", YDOC_T_HEX, true, GP_AID_MIN, GP_AID_MAX, NULL,
	    false },
	[RU_PRIV] = { "privileges", YDOC_T_ANY, false, 0, 0, NULL, false },
	[RU_SYS] = { "system-params", YDOC_T_HEX, false, 1, 200, NULL, false },
	[RU_LABEL] = { "label", YDOC_T_STR, false, 1, 64, NULL, false },
};
static const struct ydoc_hint hints[] = {
	{ "aid", "application" }, { "instance", "application" }, { "privilege", "privileges" },
	{ "ef", "system-params" }, { "params", "system-params" }, { NULL, NULL },
};

static cpk_status
parse(struct pctx *c, const struct ydoc_node *map, const struct ydoc_node **v,
    struct profile_step *s)
{
	struct profile_cmd *cmd = &s->u.cmd;
	uint8_t priv[3], sys[200];
	size_t priv_len = 0, sys_len = 0, n = 0;
	uint8_t *d = cmd->data;
	cpk_status ret;

	if ((ret = profile_get_aid(c, v[RU_APPLICATION], &fields[RU_APPLICATION],
	    &cmd->aid)) != CPK_OK ||
	    (v[RU_PRIV] != NULL && (ret = profile_get_privileges(c, v[RU_PRIV], priv,
	    &priv_len)) != CPK_OK) ||
	    (v[RU_SYS] != NULL && (ret = ydoc_get_hex(c->file, v[RU_SYS], &fields[RU_SYS], sys,
	    sizeof(sys), &sys_len, c->err)) != CPK_OK) ||
	    (ret = profile_opt_label(c, v[RU_LABEL], &fields[RU_LABEL], &s->label)) != CPK_OK)
		return ret;
	if (v[RU_PRIV] == NULL && v[RU_SYS] == NULL)
		return cpk_error_set_at(c->err, CPK_ERR_PARSE, c->file, map->line, map->col,
		    "step 'registry-update' changes nothing: give 'privileges', 'system-params' "
		    "or both");
	memcpy(cmd->header, "\x80\xE6\x40\x00", 4);
	d[n++] = 0x00;
	d[n++] = 0x00;
	d[n++] = (uint8_t)cmd->aid.len;
	memcpy(d + n, cmd->aid.b, cmd->aid.len);
	n += cmd->aid.len;
	d[n++] = (uint8_t)priv_len;
	memcpy(d + n, priv, priv_len);
	n += priv_len;
	if (sys_len > 0) {
		d[n++] = (uint8_t)(sys_len + 2);
		d[n++] = 0xEF;
		d[n++] = (uint8_t)sys_len;
		memcpy(d + n, sys, sys_len);
		n += sys_len;
	} else {
		d[n++] = 0x00;
	}
	d[n++] = 0x00;
	cmd->len = n;
	cmd->has_aid = true;
	snprintf(cmd->what, sizeof(cmd->what), "INSTALL [for registry update]");
	s->accept[0] = 0x9000;
	s->naccept = 1;
	return CPK_OK;
}

const struct step_ops step_registry_update = {
	"registry-update", "step 'registry-update'", fields, sizeof(fields) / sizeof(fields[0]),
	hints, parse, NULL,
};
