/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: the extradite step: INSTALL [for extradition] (GP 2.3.1 11.5.2.3.3,
 * Table 11-45) associates an application or an executable load file with
 * another security domain.
 *
 *   80 E6 10 00 Lc  len SD-AID | 00 | len AID | 00 | 00 (parameters) | 00 (token)
 */
#include "step.h"

#include <stdio.h>
#include <string.h>

enum { EX_APPLICATION, EX_SD, EX_LABEL };
static const struct ydoc_field fields[] = {
	[EX_APPLICATION] = { "application", YDOC_T_HEX, true, GP_AID_MIN, GP_AID_MAX, NULL,
	    false },
	[EX_SD] = { "security-domain", YDOC_T_HEX, true, GP_AID_MIN, GP_AID_MAX, NULL, false },
	[EX_LABEL] = { "label", YDOC_T_STR, false, 1, 64, NULL, false },
};
static const struct ydoc_hint hints[] = {
	{ "aid", "application" }, { "instance", "application" }, { "package", "application" },
	{ "sd", "security-domain" }, { "to", "security-domain" }, { NULL, NULL },
};

static cpk_status
parse(struct pctx *c, const struct ydoc_node *map, const struct ydoc_node **v,
    struct profile_step *s)
{
	struct profile_cmd *cmd = &s->u.cmd;
	struct gp_aid sd;
	uint8_t *d = cmd->data;
	size_t n = 0;
	cpk_status ret;

	(void)map;
	if ((ret = profile_get_aid(c, v[EX_APPLICATION], &fields[EX_APPLICATION],
	    &cmd->aid)) != CPK_OK ||
	    (ret = profile_get_aid(c, v[EX_SD], &fields[EX_SD], &sd)) != CPK_OK ||
	    (ret = profile_opt_label(c, v[EX_LABEL], &fields[EX_LABEL], &s->label)) != CPK_OK)
		return ret;
	if (gp_aid_equal(&sd, &cmd->aid))
		return cpk_error_set_at(c->err, CPK_ERR_PARSE, c->file, v[EX_SD]->line,
		    v[EX_SD]->col, "step 'extradite' names the same AID as application and "
		    "security domain");
	memcpy(cmd->header, "\x80\xE6\x10\x00", 4);
	d[n++] = (uint8_t)sd.len;
	memcpy(d + n, sd.b, sd.len);
	n += sd.len;
	d[n++] = 0x00;
	d[n++] = (uint8_t)cmd->aid.len;
	memcpy(d + n, cmd->aid.b, cmd->aid.len);
	n += cmd->aid.len;
	d[n++] = 0x00;
	d[n++] = 0x00;
	d[n++] = 0x00;
	cmd->len = n;
	cmd->has_aid = true;
	snprintf(cmd->what, sizeof(cmd->what), "INSTALL [for extradition]");
	s->accept[0] = 0x9000;
	s->naccept = 1;
	return CPK_OK;
}

const struct step_ops step_extradite = {
	"extradite", "step 'extradite'", fields, sizeof(fields) / sizeof(fields[0]), hints,
	parse, NULL,
};
