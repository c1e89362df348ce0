/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: profile parsing: YAML -> model through one schema table per mapping
 * (see profile.h). Resolution, the semantic pass and per-card binding are
 * in profile_check.c.
 */
#include "profile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "challenge.h"
#include "cpk_bundle.h"
#include "cpk_tlv.h"
#include "profile_int.h"
#include "step.h"
#include "ydoc.h"


static const char *const level_names[] = {
	"c-mac", "c-mac+c-dec", "c-mac+r-mac", "c-mac+c-dec+r-mac", "c-mac+c-dec+r-mac+r-enc", NULL
};
static const uint8_t level_values[] = { 0x01, 0x03, 0x11, 0x13, 0x33 };
static const char *const mode_names[] = { "offline", "session", NULL };
static const char *const div_names[] = { "none", "emv", "visa2", "kdf3", NULL };
static const char *const descriptor_names[] = { "include", "exclude", NULL };
static const char *const hash_names[] = { "none", "sha1", "sha256", NULL };
static const char *const format_names[] = { "dgi", "ber-tlv", NULL };

#define LABEL_FIELD { "label", YDOC_T_STR, false, 1, 64, NULL, false }
#define N(a) (sizeof(a) / sizeof((a)[0]))

/* --- the schema --- */

enum { T_PROFILE, T_NAME, T_DESCRIPTION, T_SD, T_KEYS, T_HOLDER_PIN, T_DATA, T_STEPS };
static const struct ydoc_field top_fields[] = {
	[T_PROFILE] = { "profile", YDOC_T_STR, true, 0, 0, NULL, false },
	[T_NAME] = { "name", YDOC_T_STR, true, 1, 128, NULL, false },
	[T_DESCRIPTION] = { "description", YDOC_T_STR, false, 0, 4096, NULL, false },
	[T_SD] = { "security-domain", YDOC_T_MAP, true, 0, 0, NULL, false },
	[T_KEYS] = { "keys", YDOC_T_MAP, true, 0, 0, NULL, false },
	[T_HOLDER_PIN] = { "holder-pin", YDOC_T_MAP, false, 0, 0, NULL, false },
	[T_DATA] = { "data", YDOC_T_SEQ, false, 0, 0, NULL, false },
	[T_STEPS] = { "steps", YDOC_T_SEQ, true, 0, 0, NULL, false },
};
static const struct ydoc_hint top_hints[] = {
	{ "version", "profile" }, { "sd", "security-domain" }, { "isd", "security-domain" },
	{ "key", "keys" }, { "step", "steps" }, { "commands", "steps" }, { "pin", "holder-pin" },
	{ "holder", "holder-pin" }, { NULL, NULL },
};
static const struct ydoc_schema top_schema = {
	"the profile", top_fields, N(top_fields), top_hints, false,
};

enum { SD_AID, SD_SCP, SD_I, SD_KVN, SD_LEVEL, SD_MODE, SD_DM };
static const struct ydoc_field sd_fields[] = {
	[SD_AID] = { "aid", YDOC_T_HEX, false, GP_AID_MIN, GP_AID_MAX, NULL, false },
	[SD_SCP] = { "scp", YDOC_T_ENUM, true, 0, 0, scp_proto_numbers, false },
	[SD_I] = { "i", YDOC_T_BYTE, true, 0x00, 0xFF, NULL, false },
	[SD_KVN] = { "kvn", YDOC_T_BYTE, false, 0x00, 0xFF, NULL, false },	/* 00: the default key set */
	[SD_LEVEL] = { "security-level", YDOC_T_ENUM, true, 0, 0, level_names, false },
	[SD_MODE] = { "mode", YDOC_T_ENUM, false, 0, 0, mode_names, false },
	[SD_DM] = { "delegated-management", YDOC_T_ANY, false, 0, 0, NULL, false },
};
static const struct ydoc_hint sd_hints[] = {
	{ "level", "security-level" }, { "key-version", "kvn" }, { "version", "kvn" },
	{ "delegated", "delegated-management" }, { "dm", "delegated-management" },
	{ NULL, NULL },
};
static const struct ydoc_schema sd_schema = {
	"'security-domain'", sd_fields, N(sd_fields), sd_hints, false,
};
enum { DM_TOKEN_KEY };
static const struct ydoc_field dm_fields[] = {
	[DM_TOKEN_KEY] = { "token-key", YDOC_T_STR, true, 1, 255, NULL, false },
};
static const struct ydoc_hint dm_hints[] = {
	{ "key", "token-key" }, { "token", "token-key" }, { NULL, NULL },
};
static const struct ydoc_schema dm_schema = {
	"'delegated-management'", dm_fields, N(dm_fields), dm_hints, false,
};

enum { HP_AID, HP_REFERENCE };
static const struct ydoc_field holder_pin_fields[] = {
	[HP_AID] = { "aid", YDOC_T_HEX, true, GP_AID_MIN, GP_AID_MAX, NULL, false },
	[HP_REFERENCE] = { "reference", YDOC_T_BYTE, true, 0x00, 0xFF, NULL, false },
};
static const struct ydoc_hint holder_pin_hints[] = {
	{ "p2", "reference" }, { "application", "aid" }, { NULL, NULL },
};
static const struct ydoc_schema holder_pin_schema = {
	"'holder-pin'", holder_pin_fields, N(holder_pin_fields), holder_pin_hints, false,
};

enum { K_FILE, K_DIV };
static const struct ydoc_field keys_fields[] = {
	[K_FILE] = { "file", YDOC_T_STR, true, 1, 4096, NULL, false },
	[K_DIV] = { "diversification", YDOC_T_ENUM, false, 0, 0, div_names, false },
};
static const struct ydoc_hint keys_hints[] = {
	{ "path", "file" }, { "keyset", "file" }, { NULL, NULL },
};
static const struct ydoc_schema keys_schema = {
	"'keys'", keys_fields, N(keys_fields), keys_hints, false,
};

enum { DEL_AID, DEL_RELATED, DEL_MISSING_OK, DEL_LABEL };
static const struct ydoc_field delete_fields[] = {
	[DEL_AID] = { "aid", YDOC_T_HEX, true, GP_AID_MIN, GP_AID_MAX, NULL, false },
	[DEL_RELATED] = { "related", YDOC_T_BOOL, false, 0, 0, NULL, false },
	[DEL_MISSING_OK] = { "missing-ok", YDOC_T_BOOL, false, 0, 0, NULL, false },
	[DEL_LABEL] = LABEL_FIELD,
};
static const struct ydoc_hint delete_hints[] = {
	{ "package", "aid" }, { "instance", "aid" }, { "applet", "aid" }, { NULL, NULL },
};

enum { LD_CAP, LD_DESCRIPTOR, LD_HASH, LD_PARAMS, LD_BLOCK, LD_SD, LD_LABEL, LD_DAP };
static const struct ydoc_field load_fields[] = {
	[LD_CAP] = { "cap", YDOC_T_STR, true, 1, 4096, NULL, false },
	[LD_DESCRIPTOR] = { "descriptor", YDOC_T_ENUM, false, 0, 0, descriptor_names, false },
	[LD_HASH] = { "hash", YDOC_T_ENUM, false, 0, 0, hash_names, false },
	[LD_PARAMS] = { "load-parameters", YDOC_T_ANY, false, 0, 0, NULL, false },
	[LD_BLOCK] = { "block-size", YDOC_T_STR, false, 0, 0, NULL, false },
	[LD_SD] = { "security-domain", YDOC_T_HEX, false, GP_AID_MIN, GP_AID_MAX, NULL, false },
	[LD_LABEL] = LABEL_FIELD,
	[LD_DAP] = { "dap", YDOC_T_ANY, false, 0, 0, NULL, false },
};
enum { DAP_KEY, DAP_SD };
static const struct ydoc_field dap_fields[] = {
	[DAP_KEY] = { "key", YDOC_T_STR, true, 1, 255, NULL, false },
	[DAP_SD] = { "security-domain", YDOC_T_HEX, false, GP_AID_MIN, GP_AID_MAX, NULL, false },
};
static const struct ydoc_hint dap_hints[] = {
	{ "file", "key" }, { "sd", "security-domain" }, { NULL, NULL },
};
static const struct ydoc_schema dap_schema = {
	"'dap'", dap_fields, N(dap_fields), dap_hints, false,
};
static const struct ydoc_hint load_hints[] = {
	{ "file", "cap" }, { "path", "cap" }, { "params", "load-parameters" },
	{ "parameters", "load-parameters" }, { "block", "block-size" }, { "sd", "security-domain" },
	{ NULL, NULL },
};

enum { LP_CODE, LP_VDATA, LP_NVDATA };
static const struct ydoc_field lparams_fields[] = {
	[LP_CODE] = { "code", YDOC_T_INT, false, 0, 65535, NULL, false },
	[LP_VDATA] = { "vdata", YDOC_T_INT, false, 0, 65535, NULL, false },
	[LP_NVDATA] = { "nvdata", YDOC_T_INT, false, 0, 65535, NULL, false },
};
static const struct ydoc_schema lparams_schema = {
	"'load-parameters'", lparams_fields, N(lparams_fields), NULL, false,
};

enum { IN_PACKAGE, IN_APPLET, IN_INSTANCE, IN_PRIV, IN_PARAMS, IN_SYS, IN_SELECTABLE, IN_COMBINED,
	IN_LABEL };
static const struct ydoc_field install_fields[] = {
	[IN_PACKAGE] = { "package", YDOC_T_HEX, false, GP_AID_MIN, GP_AID_MAX, NULL, false },
	[IN_APPLET] = { "applet", YDOC_T_HEX, true, GP_AID_MIN, GP_AID_MAX, NULL, false },
	[IN_INSTANCE] = { "instance", YDOC_T_HEX, false, GP_AID_MIN, GP_AID_MAX, NULL, false },
	[IN_PRIV] = { "privileges", YDOC_T_ANY, false, 0, 0, NULL, false },
	[IN_PARAMS] = { "params", YDOC_T_HEX, false, 0, 250, NULL, false },
	[IN_SYS] = { "system-params", YDOC_T_HEX, false, 0, 250, NULL, false },
	[IN_SELECTABLE] = { "selectable", YDOC_T_BOOL, false, 0, 0, NULL, false },
	[IN_COMBINED] = { "combined", YDOC_T_BOOL, false, 0, 0, NULL, false },
	[IN_LABEL] = LABEL_FIELD,
};
static const struct ydoc_hint install_hints[] = {
	{ "aid", "applet" }, { "module", "applet" }, { "class", "applet" },
	{ "applet-aid", "applet" }, { "instance-aid", "instance" }, { "package-aid", "package" },
	{ "privilege", "privileges" }, { "parameters", "params" }, { "install-params", "params" },
	{ "c9", "params" }, { "ef", "system-params" }, { NULL, NULL },
};

enum { SD_INSTANCE, SD_FORMAT, SD_ITEMS, SD_LABEL };
static const struct ydoc_field store_fields[] = {
	[SD_INSTANCE] = { "instance", YDOC_T_HEX, false, GP_AID_MIN, GP_AID_MAX, NULL, false },
	[SD_FORMAT] = { "format", YDOC_T_ENUM, true, 0, 0, format_names, false },
	[SD_ITEMS] = { "items", YDOC_T_SEQ, true, 0, 0, NULL, false },
	[SD_LABEL] = LABEL_FIELD,
};
static const struct ydoc_hint store_hints[] = {
	{ "aid", "instance" }, { "applet", "instance" }, { "data", "items" }, { "dgis", "items" },
	{ NULL, NULL },
};

enum { IT_DGI, IT_TAG, IT_VALUE, IT_ENCRYPT };
static const struct ydoc_field item_fields[] = {
	[IT_DGI] = { "dgi", YDOC_T_HEX, false, 2, 2, NULL, false },
	[IT_TAG] = { "tag", YDOC_T_HEX, false, 1, 3, NULL, false },
	[IT_VALUE] = { "value", YDOC_T_STR, true, 0, 0, NULL, false },
	[IT_ENCRYPT] = { "encrypt", YDOC_T_BOOL, false, 0, 0, NULL, false },
};
static const struct ydoc_hint item_hints[] = {
	{ "data", "value" }, { "encrypted", "encrypt" }, { NULL, NULL },
};
static const struct ydoc_schema item_schema = {
	"a store-data item", item_fields, N(item_fields), item_hints, false,
};

enum { PK_FILE, PK_VERSION, PK_REPLACE, PK_ADD, PK_LABEL };
static const struct ydoc_field putkey_fields[] = {
	[PK_FILE] = { "file", YDOC_T_STR, true, 1, 4096, NULL, false },
	[PK_VERSION] = { "version", YDOC_T_BYTE, false, 0x01, 0x7F, NULL, false },
	[PK_REPLACE] = { "replace", YDOC_T_BYTE, false, 0x01, 0xFF, NULL, false },
	[PK_ADD] = { "add", YDOC_T_BOOL, false, 0, 0, NULL, false },
	[PK_LABEL] = LABEL_FIELD,
};
static const struct ydoc_hint putkey_hints[] = {
	{ "keys", "file" }, { "kvn", "version" }, { "new-kvn", "version" }, { NULL, NULL },
};

enum { AP_HEADER, AP_DATA, AP_LE, AP_ACCEPT, AP_LABEL, AP_CAPTURE };
static const struct ydoc_field apdu_fields[] = {
	[AP_HEADER] = { "header", YDOC_T_HEX, true, 4, 4, NULL, false },
	[AP_DATA] = { "data", YDOC_T_STR, false, 0, 0, NULL, false },
	[AP_LE] = { "le", YDOC_T_BYTE, false, 0x00, 0xFF, NULL, false },
	[AP_ACCEPT] = { "accept", YDOC_T_SEQ, false, 0, 0, NULL, false },
	[AP_LABEL] = LABEL_FIELD,
	[AP_CAPTURE] = { "capture", YDOC_T_STR, false, 1, CPK_CAPTURE_NAME_MAX, NULL, false },
};
static const struct ydoc_hint apdu_hints[] = {
	{ "command", "header" }, { "sw", "accept" }, { "expect", "accept" },
	{ "keep", "capture" }, { "save", "capture" }, { NULL, NULL },
};

static const struct ydoc_field accept_field = { "accept", YDOC_T_HEX, false, 2, 2, NULL, false };
static const struct ydoc_field data_name_field = { "data", YDOC_T_STR, false, 1, 32, NULL, false };

/* The step kinds: name, schema. */
static const struct {
	const char *name;
	struct ydoc_schema schema;
} step_kinds[] = {
	[PROFILE_STEP_DELETE] = { "delete",
	    { "step 'delete'", delete_fields, N(delete_fields), delete_hints, false } },
	[PROFILE_STEP_LOAD] = { "load",
	    { "step 'load'", load_fields, N(load_fields), load_hints, false } },
	[PROFILE_STEP_INSTALL] = { "install",
	    { "step 'install'", install_fields, N(install_fields), install_hints, false } },
	[PROFILE_STEP_STORE_DATA] = { "store-data",
	    { "step 'store-data'", store_fields, N(store_fields), store_hints, false } },
	[PROFILE_STEP_PUT_KEY] = { "put-key",
	    { "step 'put-key'", putkey_fields, N(putkey_fields), putkey_hints, false } },
	[PROFILE_STEP_APDU] = { "apdu",
	    { "step 'apdu'", apdu_fields, N(apdu_fields), apdu_hints, false } },
};
#define STEP_KIND_MAX PROFILE_STEP_APDU

/* Privileges by name (GP 2.3.1 table 6-1): byte index and bit. */
static const struct {
	const char *name;
	uint8_t byte, bit;
} privilege_names[] = {
	{ "security-domain", 0, 0x80 },
	{ "dap-verification", 0, 0x40 },
	{ "delegated-management", 0, 0x20 },
	{ "card-lock", 0, 0x10 },
	{ "card-terminate", 0, 0x08 },
	{ "card-reset", 0, 0x04 },
	{ "default-selected", 0, 0x04 },
	{ "cvm-management", 0, 0x02 },
	{ "mandated-dap-verification", 0, 0x01 },
	{ "trusted-path", 1, 0x80 },
	{ "authorized-management", 1, 0x40 },
	{ "token-verification", 1, 0x20 },
	{ "global-delete", 1, 0x10 },
	{ "global-lock", 1, 0x08 },
	{ "global-registry", 1, 0x04 },
	{ "final-application", 1, 0x02 },
	{ "global-service", 1, 0x01 },
	{ "receipt-generation", 2, 0x80 },
	{ "ciphered-load-file-data-block", 2, 0x40 },
	{ "contactless-activation", 2, 0x20 },
	{ "contactless-self-activation", 2, 0x10 },
};

const char *
profile_step_name(enum profile_step_kind kind)
{
	if (kind == PROFILE_STEP_CMD)
		return "table step";
	if ((unsigned)kind < 1 || (unsigned)kind > STEP_KIND_MAX)
		return "unknown";
	return step_kinds[kind].name;
}

const char *
profile_step_title(const struct profile_step *s)
{
	if (s->kind == PROFILE_STEP_CMD && s->u.cmd.ops != NULL)
		return s->u.cmd.ops->name;
	return profile_step_name(s->kind);
}

/* --- freeing --- */

static void
tmpl_free(struct profile_tmpl *t)
{
	size_t i;

	for (i = 0; i < t->nsegs; i++) {
		if (t->segs[i].bytes != NULL)
			cpk_cleanse(t->segs[i].bytes, t->segs[i].len);
		free(t->segs[i].bytes);
		free(t->segs[i].name);
	}
	free(t->segs);
	memset(t, 0, sizeof(*t));
}

/* The load file's bytes: the CAP, its Load File Data Block, the LOAD data. */
static void
load_data_free(struct profile_load *l)
{
	cap_free(&l->cap);
	cpk_buf_free(&l->load_file);
	l->lfdb.data = NULL;
	l->lfdb.len = 0;
}

void
profile_free_load_data(struct profile *p)
{
	size_t i;

	for (i = 0; i < p->nsteps; i++)
		if (p->steps[i].kind == PROFILE_STEP_LOAD)
			load_data_free(&p->steps[i].u.load);
}

static void
step_free(struct profile_step *s)
{
	size_t i;

	free(s->label);
	switch (s->kind) {
	case PROFILE_STEP_LOAD:
		free(s->u.load.cap_file);
		free(s->u.load.cap_path);
		load_data_free(&s->u.load);
		free(s->u.load.dap_key);
		free(s->u.load.dap_path);
		break;
	case PROFILE_STEP_STORE_DATA:
		for (i = 0; i < s->u.store.nitems; i++)
			tmpl_free(&s->u.store.items[i].value);
		free(s->u.store.items);
		break;
	case PROFILE_STEP_PUT_KEY:
		free(s->u.put_key.file);
		free(s->u.put_key.path);
		keyset_free(&s->u.put_key.set);
		break;
	case PROFILE_STEP_APDU:
		tmpl_free(&s->u.apdu.data);
		break;
	default:
		break;
	}
}

void
profile_free(struct profile **pp)
{
	struct profile *p;
	size_t i;

	if (pp == NULL || *pp == NULL)
		return;
	p = *pp;
	for (i = 0; i < p->nsteps; i++)
		step_free(&p->steps[i]);
	free(p->steps);
	for (i = 0; i < p->ndata; i++)
		free(p->data_names[i]);
	free(p->keys.file);
	free(p->keys.path);
	free(p->sd.dm_key);
	free(p->sd.dm_path);
	keyset_free(&p->keys.set);
	free(p->file);
	free(p->dir);
	free(p->name);
	free(p->description);
	cpk_host_challenge_prefix_free(p->challenge_prefix);
	free(p);
	*pp = NULL;
}

/* --- helpers --- */

static struct profile_loc
loc_of(const struct ydoc_node *n)
{
	struct profile_loc l = { 0, 0 };

	if (n != NULL) {
		l.line = n->line;
		l.col = n->col;
	}
	return l;
}

static cpk_status
dup_str(struct pctx *c, const char *s, char **out)
{
	if ((*out = strdup(s)) == NULL)
		return cpk_error_set(c->err, CPK_ERR_NOMEM, "out of memory");
	return CPK_OK;
}

static cpk_status
get_aid(struct pctx *c, const struct ydoc_node *n, const struct ydoc_field *f, struct gp_aid *aid)
{
	uint8_t b[GP_AID_MAX];
	size_t len;
	cpk_status ret;

	if ((ret = ydoc_get_hex(c->file, n, f, b, sizeof(b), &len, c->err)) != CPK_OK)
		return ret;
	return gp_aid_set(aid, b, len, c->err);
}

static cpk_status
opt_bool(struct pctx *c, const struct ydoc_node *n, const struct ydoc_field *f, bool dflt,
    bool *out)
{
	*out = dflt;
	if (n == NULL)
		return CPK_OK;
	return ydoc_get_bool(c->file, n, f, out, c->err);
}

static cpk_status
opt_label(struct pctx *c, const struct ydoc_node *n, const struct ydoc_field *f, char **out)
{
	const char *s;
	cpk_status ret;
	size_t bad;

	if (n == NULL)
		return CPK_OK;
	if ((ret = ydoc_get_str(c->file, n, f, &s, c->err)) != CPK_OK)
		return ret;
	/* A label goes into every bundle's script: UTF-8 text without control characters. */
	if ((bad = cpk_label_bad_offset(s, strlen(s))) < strlen(s))
		return cpk_error_set_at(c->err, CPK_ERR_PARSE, c->file, n->line, n->col,
		    "'%s' must be text without control characters (byte %zu is 0x%02X)", f->key,
		    bad + 1, (unsigned)(uint8_t)s[bad]);
	return dup_str(c, s, out);
}

struct profile_loc
profile_loc_of(const struct ydoc_node *n)
{
	return loc_of(n);
}

cpk_status
profile_get_aid(struct pctx *c, const struct ydoc_node *n, const struct ydoc_field *f,
    struct gp_aid *aid)
{
	return get_aid(c, n, f, aid);
}

cpk_status
profile_opt_bool(struct pctx *c, const struct ydoc_node *n, const struct ydoc_field *f,
    bool dflt, bool *out)
{
	return opt_bool(c, n, f, dflt, out);
}

cpk_status
profile_opt_label(struct pctx *c, const struct ydoc_node *n, const struct ydoc_field *f,
    char **out)
{
	return opt_label(c, n, f, out);
}

/* --- templates: hex text with ${...} placeholders --- */

static const struct {
	const char *text;
	enum profile_field field;
} placeholders[] = {
	{ "card.serial", PROFILE_F_SERIAL },
	{ "card.cin", PROFILE_F_CIN },
	{ "card.iin", PROFILE_F_IIN },
	{ "card.kdd", PROFILE_F_KDD },
	{ "card.cplc", PROFILE_F_CPLC },
	{ "card.sd-aid", PROFILE_F_SD_AID },
};

static cpk_status
tmpl_push(struct pctx *c, struct profile_tmpl *t, enum profile_field field, const uint8_t *bytes,
    size_t len, const char *name)
{
	struct profile_seg *ns;
	struct profile_seg *s;

	if ((ns = realloc(t->segs, (t->nsegs + 1) * sizeof(*ns))) == NULL)
		return cpk_error_set(c->err, CPK_ERR_NOMEM, "out of memory");
	t->segs = ns;
	s = &t->segs[t->nsegs];
	memset(s, 0, sizeof(*s));
	t->nsegs++;
	s->field = field;
	if (field == 0) {
		if ((s->bytes = malloc(len > 0 ? len : 1)) == NULL)
			return cpk_error_set(c->err, CPK_ERR_NOMEM, "out of memory");
		memcpy(s->bytes, bytes, len);
		s->len = len;
	}
	if (name != NULL && (s->name = strdup(name)) == NULL)
		return cpk_error_set(c->err, CPK_ERR_NOMEM, "out of memory");
	return CPK_OK;
}

static cpk_status
tmpl_placeholder(struct pctx *c, const struct ydoc_node *n, const char *what, const char *ph,
    struct profile_tmpl *t)
{
	const char *name = NULL;
	enum profile_field field = 0;
	size_t i;
	char q[80];

	for (i = 0; i < N(placeholders); i++)
		if (strcmp(ph, placeholders[i].text) == 0)
			field = placeholders[i].field;
	if (field == 0 && strncmp(ph, "data.", 5) == 0) {
		field = PROFILE_F_DATA;
		name = ph + 5;
	} else if (field == 0 && strncmp(ph, "text:data.", 10) == 0) {
		field = PROFILE_F_DATA_TEXT;
		name = ph + 10;
	}
	if (field == 0 || (name != NULL && name[0] == '\0')) {
		ydoc_quote(ph, q, sizeof(q));
		return cpk_error_set_at(c->err, CPK_ERR_PARSE, c->file, n->line, n->col,
		    "unknown placeholder '${%s}' in '%s' (known: ${card.serial}, ${card.cin}, "
		    "${card.iin}, ${card.kdd}, ${card.cplc}, ${card.sd-aid}, ${data.NAME}, "
		    "${text:data.NAME})", q, what);
	}
	t->fixed = false;
	return tmpl_push(c, t, field, NULL, 0, name);
}

/* Flush pending hex digits s[from..to) as a literal segment. */
static cpk_status
tmpl_literal(struct pctx *c, const struct ydoc_node *n, const char *what, const char *s,
    size_t from, size_t to, struct profile_tmpl *t)
{
	struct cpk_buf b = CPK_BUF_INIT;
	size_t got;
	cpk_status ret;

	if (to == from)
		return CPK_OK;
	if ((to - from) % 2 != 0) {
		ret = cpk_error_set_at(c->err, CPK_ERR_PARSE, c->file, n->line, n->col,
		    "'%s' has an odd number of hex digits at position %zu", what, from + 1);
		goto out;
	}
	if ((ret = cpk_buf_reserve(&b, (to - from) / 2, c->err)) != CPK_OK)
		goto out;
	if ((ret = cpk_hex_decode(s + from, to - from, b.data, b.cap, &got, c->err)) != CPK_OK) {
		ydoc_locate(ret, c->err, c->file, n->line, n->col);
		goto out;
	}
	ret = tmpl_push(c, t, 0, b.data, got, NULL);
out:
	cpk_buf_free(&b);
	return ret;
}

static cpk_status
parse_tmpl(struct pctx *c, const struct ydoc_node *n, const char *what, struct profile_tmpl *t)
{
	const char *s = n->str;
	size_t i = 0, start = 0, end;
	char ph[128], q[64];
	cpk_status ret;

	memset(t, 0, sizeof(*t));
	t->fixed = true;
	t->loc = loc_of(n);
	while (s[i] != '\0') {
		char ch = s[i];

		if (ch == '$' && s[i + 1] == '{') {
			if ((ret = tmpl_literal(c, n, what, s, start, i, t)) != CPK_OK)
				return ret;
			for (end = i + 2; s[end] != '\0' && s[end] != '}'; end++)
				;
			if (s[end] != '}' || end - (i + 2) >= sizeof(ph))
				return cpk_error_set_at(c->err, CPK_ERR_PARSE, c->file, n->line, n->col,
				    "unterminated placeholder in '%s' (write ${card.serial}, "
				    "${data.NAME}, ...)", what);
			memcpy(ph, s + i + 2, end - (i + 2));
			ph[end - (i + 2)] = '\0';
			if ((ret = tmpl_placeholder(c, n, what, ph, t)) != CPK_OK)
				return ret;
			i = start = end + 1;
			continue;
		}
		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
		    (ch >= 'A' && ch <= 'F'))) {
			ydoc_quote(s, q, sizeof(q));
			return cpk_error_set_at(c->err, CPK_ERR_PARSE, c->file, n->line, n->col,
			    "'%s' must be hex digits and ${...} placeholders, got '%s'", what, q);
		}
		i++;
	}
	return tmpl_literal(c, n, what, s, start, i, t);
}

/* --- steps --- */

static void
accept_only(struct profile_step *s, uint16_t sw)
{
	s->accept[0] = sw;
	s->naccept = 1;
}

static cpk_status
parse_delete(struct pctx *c, const struct ydoc_node **v, struct profile_step *s)
{
	struct profile_delete *d = &s->u.del;
	cpk_status ret;

	if ((ret = get_aid(c, v[DEL_AID], &delete_fields[DEL_AID], &d->aid)) != CPK_OK ||
	    (ret = opt_bool(c, v[DEL_RELATED], &delete_fields[DEL_RELATED], false,
	    &d->related)) != CPK_OK ||
	    (ret = opt_bool(c, v[DEL_MISSING_OK], &delete_fields[DEL_MISSING_OK], false,
	    &d->missing_ok)) != CPK_OK ||
	    (ret = opt_label(c, v[DEL_LABEL], &delete_fields[DEL_LABEL], &s->label)) != CPK_OK)
		return ret;
	accept_only(s, 0x9000);
	if (d->missing_ok) {
		s->accept[1] = 0x6A88;
		s->naccept = 2;
	}
	return CPK_OK;
}

/*
 * Load parameters: hex (the whole field), 'auto' (code and nvdata from the
 * CAP), or { code, vdata, nvdata } with numbers or 'auto' -> EF len C6 02 ..
 */
static cpk_status
parse_load_params(struct pctx *c, const struct ydoc_node *n, struct profile_load *l)
{
	static const struct ydoc_field hexf = {
		"load-parameters", YDOC_T_HEX, false, 1, 255, NULL, false,
	};
	const struct ydoc_node *v[N(lparams_fields)];
	size_t i;
	long long val;
	cpk_status ret;

	l->loc_params = loc_of(n);
	if (n->kind == YDOC_SCALAR && strcmp(n->str, "auto") == 0) {
		l->lp_auto = GP_LP_CODE | GP_LP_NVDATA;
		l->lp_given = l->lp_auto;
		return CPK_OK;
	}
	if (n->kind == YDOC_SCALAR) {
		if ((ret = ydoc_get_hex(c->file, n, &hexf, l->params, sizeof(l->params),
		    &l->params_len, c->err)) != CPK_OK)
			return ret;
		if ((ret = cpk_tlv_validate(l->params, l->params_len, 2, c->err)) != CPK_OK) {
			cpk_error_prefix(c->err, "'load-parameters' is not a sequence of BER-TLV objects");
			return ydoc_locate(ret, c->err, c->file, n->line, n->col);
		}
		return CPK_OK;
	}
	if (n->kind != YDOC_MAP)
		return cpk_error_set_at(c->err, CPK_ERR_PARSE, c->file, n->line, n->col,
		    "'load-parameters' must be hex, auto or a mapping of code, vdata and nvdata "
		    "sizes");
	if ((ret = ydoc_check_map(c->file, n, n, &lparams_schema, v, c->err)) != CPK_OK)
		return ret;
	for (i = 0; i < N(lparams_fields); i++) {
		if (v[i] == NULL)
			continue;
		l->lp_given |= 1u << i;
		if (v[i]->kind == YDOC_SCALAR && strcmp(v[i]->str, "auto") == 0) {
			if (i == LP_VDATA)
				return cpk_error_set_at(c->err, CPK_ERR_PARSE, c->file, v[i]->line,
				    v[i]->col, "'vdata' cannot be auto: a CAP file does not say how "
				    "much transient memory its applets allocate (give a number)");
			l->lp_auto |= 1u << i;
			continue;
		}
		if ((ret = ydoc_get_int(c->file, v[i], &lparams_fields[i], &val, c->err)) != CPK_OK)
			return ret;
		l->lp_sizes[i] = (uint32_t)val;
	}
	if (l->lp_given == 0)
		return cpk_error_set_at(c->err, CPK_ERR_PARSE, c->file, n->line, n->col,
		    "'load-parameters' names no size (code, vdata or nvdata)");
	if (l->lp_auto == 0)
		gp_load_params(l->lp_sizes, l->lp_given, l->params, &l->params_len);
	return CPK_OK;
}

static cpk_status
parse_block_size(struct pctx *c, const struct ydoc_node *n, struct profile_load *l)
{
	static const struct ydoc_field f = { "block-size", YDOC_T_INT, false, 1, 255, NULL, false };
	long long v;
	char q[64];

	l->loc_block = loc_of(n);
	l->block_max = false;
	if (n == NULL || strcmp(n->str, "auto") == 0) {
		l->block_size = 0;
		return CPK_OK;
	}
	if (strcmp(n->str, "max") == 0) {
		l->block_size = 0;
		l->block_max = true;
		return CPK_OK;
	}
	if (ydoc_decode_int(&f, n->str, &v, NULL) != CPK_OK) {
		ydoc_quote(n->str, q, sizeof(q));
		return cpk_error_set_at(c->err, CPK_ERR_RANGE, c->file, n->line, n->col,
		    "'block-size' must be auto, max or a whole number from 1 to 255, got '%s'", q);
	}
	l->block_size = (size_t)v;
	return CPK_OK;
}

/* dap: { key: FILE (in the key folder), security-domain: AID } */
static cpk_status
parse_dap(struct pctx *c, const struct ydoc_node *n, struct profile_load *l)
{
	const struct ydoc_node *v[N(dap_fields)];
	const char *str;
	cpk_status ret;

	l->loc_dap = loc_of(n);
	if (n->kind != YDOC_MAP)
		return cpk_error_set_at(c->err, CPK_ERR_PARSE, c->file, n->line, n->col,
		    "'dap' must be a mapping: key (a DAP key file) and security-domain");
	if ((ret = ydoc_check_map(c->file, n, n, &dap_schema, v, c->err)) != CPK_OK ||
	    (ret = ydoc_get_str(c->file, v[DAP_KEY], &dap_fields[DAP_KEY], &str, c->err)) != CPK_OK ||
	    (ret = dup_str(c, str, &l->dap_key)) != CPK_OK)
		return ret;
	l->loc_dap_key = loc_of(v[DAP_KEY]);
	if (v[DAP_SD] != NULL) {
		if ((ret = get_aid(c, v[DAP_SD], &dap_fields[DAP_SD], &l->dap_sd)) != CPK_OK)
			return ret;
		l->dap_has_sd = true;
	}
	return CPK_OK;
}

static cpk_status
parse_load(struct pctx *c, const struct ydoc_node **v, struct profile_step *s)
{
	struct profile_load *l = &s->u.load;
	const char *str;
	cpk_status ret;
	int idx;

	l->descriptor = true;
	l->hash = CAP_HASH_NONE;
	l->loc_cap = loc_of(v[LD_CAP]);
	if ((ret = ydoc_get_str(c->file, v[LD_CAP], &load_fields[LD_CAP], &str, c->err)) != CPK_OK ||
	    (ret = dup_str(c, str, &l->cap_file)) != CPK_OK)
		return ret;
	if (v[LD_DESCRIPTOR] != NULL) {
		if ((ret = ydoc_get_enum(c->file, v[LD_DESCRIPTOR], &load_fields[LD_DESCRIPTOR], &idx,
		    c->err)) != CPK_OK)
			return ret;
		l->descriptor = idx == 0;
	}
	if (v[LD_HASH] != NULL) {
		if ((ret = ydoc_get_enum(c->file, v[LD_HASH], &load_fields[LD_HASH], &idx,
		    c->err)) != CPK_OK)
			return ret;
		l->hash = idx == 0 ? CAP_HASH_NONE : idx == 1 ? CAP_HASH_SHA1 : CAP_HASH_SHA256;
	}
	if (v[LD_PARAMS] != NULL && (ret = parse_load_params(c, v[LD_PARAMS], l)) != CPK_OK)
		return ret;
	if ((ret = parse_block_size(c, v[LD_BLOCK], l)) != CPK_OK)
		return ret;
	if (v[LD_SD] != NULL) {
		if ((ret = get_aid(c, v[LD_SD], &load_fields[LD_SD], &l->sd)) != CPK_OK)
			return ret;
		l->has_sd = true;
	}
	if (v[LD_DAP] != NULL && (ret = parse_dap(c, v[LD_DAP], l)) != CPK_OK)
		return ret;
	if ((ret = opt_label(c, v[LD_LABEL], &load_fields[LD_LABEL], &s->label)) != CPK_OK)
		return ret;
	accept_only(s, 0x9000);
	return CPK_OK;
}

static cpk_status
privilege_name(struct pctx *c, const struct ydoc_node *n, uint8_t priv[3], bool *wide)
{
	const char *names[N(privilege_names)];
	const char *sug;
	char q[64];
	size_t i;

	if (n->kind != YDOC_SCALAR)
		return cpk_error_set_at(c->err, CPK_ERR_PARSE, c->file, n->line, n->col,
		    "each privilege must be a name");
	for (i = 0; i < N(privilege_names); i++) {
		names[i] = privilege_names[i].name;
		if (strcmp(n->str, privilege_names[i].name) == 0) {
			priv[privilege_names[i].byte] |= privilege_names[i].bit;
			if (privilege_names[i].byte > 0)
				*wide = true;
			return CPK_OK;
		}
	}
	ydoc_quote(n->str, q, sizeof(q));
	sug = ydoc_suggest(n->str, names, N(privilege_names));
	if (sug != NULL)
		return cpk_error_set_at(c->err, CPK_ERR_PARSE, c->file, n->line, n->col,
		    "unknown privilege '%s' (did you mean '%s'?)", q, sug);
	return cpk_error_set_at(c->err, CPK_ERR_PARSE, c->file, n->line, n->col,
	    "unknown privilege '%s' (see cpk-profile(5) for the names)", q);
}

/* Privileges: a list of names, or hex (1 or 3 bytes). Default 00. */
static cpk_status
parse_privileges(struct pctx *c, const struct ydoc_node *n, uint8_t priv[3], size_t *len)
{
	static const struct ydoc_field hexf = { "privileges", YDOC_T_HEX, false, 1, 3, NULL, false };
	bool wide = false;
	cpk_status ret;
	size_t i;

	memset(priv, 0, 3);
	*len = 1;
	if (n == NULL)
		return CPK_OK;
	if (n->kind == YDOC_SCALAR) {
		if ((ret = ydoc_get_hex(c->file, n, &hexf, priv, 3, &*len,
		    c->err)) != CPK_OK)
			return ret;
		if (*len == 2)
			return cpk_error_set_at(c->err, CPK_ERR_RANGE, c->file, n->line, n->col,
			    "'privileges' must be 1 or 3 bytes of hex, got 2");
		return CPK_OK;
	}
	if (n->kind != YDOC_SEQ)
		return cpk_error_set_at(c->err, CPK_ERR_PARSE, c->file, n->line, n->col,
		    "'privileges' must be a list of names or hex, not a mapping");
	for (i = 0; i < n->n; i++)
		if ((ret = privilege_name(c, n->items[i], priv, &wide)) != CPK_OK)
			return ret;
	*len = wide ? 3 : 1;
	return CPK_OK;
}

cpk_status
profile_get_privileges(struct pctx *c, const struct ydoc_node *n, uint8_t priv[3], size_t *len)
{
	return parse_privileges(c, n, priv, len);
}

static cpk_status
parse_install(struct pctx *c, const struct ydoc_node **v, struct profile_step *s)
{
	struct profile_install *in = &s->u.install;
	cpk_status ret;

	in->load_step = -1;
	in->loc_applet = loc_of(v[IN_APPLET]);
	in->loc_instance = loc_of(v[IN_INSTANCE] != NULL ? v[IN_INSTANCE] : v[IN_APPLET]);
	if (v[IN_PACKAGE] != NULL) {
		if ((ret = get_aid(c, v[IN_PACKAGE], &install_fields[IN_PACKAGE], &in->package)) != CPK_OK)
			return ret;
		in->has_package = true;
	}
	if ((ret = get_aid(c, v[IN_APPLET], &install_fields[IN_APPLET], &in->applet)) != CPK_OK)
		return ret;
	in->instance = in->applet;
	if (v[IN_INSTANCE] != NULL &&
	    (ret = get_aid(c, v[IN_INSTANCE], &install_fields[IN_INSTANCE], &in->instance)) != CPK_OK)
		return ret;
	if ((ret = parse_privileges(c, v[IN_PRIV], in->privileges, &in->privileges_len)) != CPK_OK)
		return ret;
	if (v[IN_PARAMS] != NULL && (ret = ydoc_get_hex(c->file, v[IN_PARAMS],
	    &install_fields[IN_PARAMS], in->params, sizeof(in->params), &in->params_len,
	    c->err)) != CPK_OK)
		return ret;
	if (v[IN_SYS] != NULL) {
		if ((ret = ydoc_get_hex(c->file, v[IN_SYS], &install_fields[IN_SYS], in->system_params,
		    sizeof(in->system_params), &in->system_params_len, c->err)) != CPK_OK)
			return ret;
		in->has_system_params = true;
	}
	if ((ret = opt_bool(c, v[IN_SELECTABLE], &install_fields[IN_SELECTABLE], true,
	    &in->selectable)) != CPK_OK ||
	    (ret = opt_bool(c, v[IN_COMBINED], &install_fields[IN_COMBINED], true,
	    &in->combined)) != CPK_OK)
		return ret;
	if (!in->selectable && v[IN_COMBINED] != NULL)
		return cpk_error_set_at(c->err, CPK_ERR_PARSE, c->file, v[IN_COMBINED]->line,
		    v[IN_COMBINED]->col, "'combined' has no meaning when 'selectable' is false");
	if ((ret = opt_label(c, v[IN_LABEL], &install_fields[IN_LABEL], &s->label)) != CPK_OK)
		return ret;
	accept_only(s, 0x9000);
	return CPK_OK;
}

static cpk_status
parse_item(struct pctx *c, const struct ydoc_node *n, enum gp_store_format fmt,
    struct profile_item *it)
{
	const struct ydoc_node *v[N(item_fields)];
	const struct ydoc_node *idn;
	const struct ydoc_field *idf;
	uint8_t id[3];
	size_t len, k;
	cpk_status ret;

	it->loc = loc_of(n);
	if ((ret = ydoc_check_map(c->file, n, n, &item_schema, v, c->err)) != CPK_OK)
		return ret;
	idn = fmt == GP_STORE_DGI ? v[IT_DGI] : v[IT_TAG];
	idf = fmt == GP_STORE_DGI ? &item_fields[IT_DGI] : &item_fields[IT_TAG];
	if ((fmt == GP_STORE_DGI && v[IT_TAG] != NULL) ||
	    (fmt == GP_STORE_BER_TLV && v[IT_DGI] != NULL)) {
		const struct ydoc_node *wrong = fmt == GP_STORE_DGI ? v[IT_TAG] : v[IT_DGI];
		const struct ydoc_node *key = ydoc_key_of(n, wrong);

		return cpk_error_set_at(c->err, CPK_ERR_PARSE, c->file, key->line, key->col,
		    "'%s' in a store-data item of format '%s' (use '%s')",
		    fmt == GP_STORE_DGI ? "tag" : "dgi", fmt == GP_STORE_DGI ? "dgi" : "ber-tlv",
		    fmt == GP_STORE_DGI ? "dgi" : "tag");
	}
	if (idn == NULL)
		return cpk_error_set_at(c->err, CPK_ERR_PARSE, c->file, n->line, n->col,
		    "missing required key '%s' in a store-data item", idf->key);
	if ((ret = ydoc_get_hex(c->file, idn, idf, id, sizeof(id), &len, c->err)) != CPK_OK)
		return ret;
	for (it->id = 0, k = 0; k < len; k++)
		it->id = it->id << 8 | id[k];
	if (fmt == GP_STORE_BER_TLV) {
		/* A valid tag: more bytes only after a first byte with low bits 1F, and
		 * every byte but the last with bit 80. */
		bool ok = (len == 1 && (id[0] & 0x1F) != 0x1F) ||
		    (len >= 2 && (id[0] & 0x1F) == 0x1F && (id[len - 1] & 0x80) == 0 &&
		    (len == 2 || (id[1] & 0x80) != 0));

		if (!ok)
			return cpk_error_set_at(c->err, CPK_ERR_PARSE, c->file, idn->line, idn->col,
			    "'tag' %s is not a well-formed BER-TLV tag", idn->str);
	}
	if ((ret = parse_tmpl(c, v[IT_VALUE], "value", &it->value)) != CPK_OK)
		return ret;
	return opt_bool(c, v[IT_ENCRYPT], &item_fields[IT_ENCRYPT], false, &it->encrypt);
}

static cpk_status
parse_store(struct pctx *c, const struct ydoc_node **v, struct profile_step *s)
{
	struct profile_store_data *sd = &s->u.store;
	const struct ydoc_node *items = v[SD_ITEMS];
	cpk_status ret;
	size_t i;
	int idx;

	sd->loc_instance = loc_of(v[SD_INSTANCE]);
	if (v[SD_INSTANCE] != NULL) {
		if ((ret = get_aid(c, v[SD_INSTANCE], &store_fields[SD_INSTANCE], &sd->instance)) != CPK_OK)
			return ret;
		sd->has_instance = true;
	}
	if ((ret = ydoc_get_enum(c->file, v[SD_FORMAT], &store_fields[SD_FORMAT], &idx,
	    c->err)) != CPK_OK)
		return ret;
	sd->format = idx == 0 ? GP_STORE_DGI : GP_STORE_BER_TLV;
	if (items->n == 0 || items->n > PROFILE_MAX_ITEMS)
		return cpk_error_set_at(c->err, CPK_ERR_RANGE, c->file, items->line, items->col,
		    "'items' must hold 1 to %d items, not %zu", PROFILE_MAX_ITEMS, items->n);
	if ((sd->items = calloc(items->n, sizeof(*sd->items))) == NULL)
		return cpk_error_set(c->err, CPK_ERR_NOMEM, "out of memory");
	for (i = 0; i < items->n; i++) {
		/* Count first so that step_free releases what was parsed. */
		sd->nitems = i + 1;
		if ((ret = parse_item(c, items->items[i], sd->format, &sd->items[i])) != CPK_OK)
			return ret;
	}
	if ((ret = opt_label(c, v[SD_LABEL], &store_fields[SD_LABEL], &s->label)) != CPK_OK)
		return ret;
	accept_only(s, 0x9000);
	return CPK_OK;
}

static cpk_status
parse_put_key(struct pctx *c, const struct ydoc_node *map, const struct ydoc_node **v,
    struct profile_step *s)
{
	struct profile_put_key *pk = &s->u.put_key;
	const char *str;
	cpk_status ret;
	bool add = false;

	pk->loc_file = loc_of(v[PK_FILE]);
	if ((ret = ydoc_get_str(c->file, v[PK_FILE], &putkey_fields[PK_FILE], &str, c->err)) != CPK_OK ||
	    (ret = dup_str(c, str, &pk->file)) != CPK_OK)
		return ret;
	if (v[PK_VERSION] != NULL && (ret = ydoc_get_byte(c->file, v[PK_VERSION],
	    &putkey_fields[PK_VERSION], &pk->version, c->err)) != CPK_OK)
		return ret;
	if (v[PK_REPLACE] != NULL) {
		if ((ret = ydoc_get_byte(c->file, v[PK_REPLACE], &putkey_fields[PK_REPLACE],
		    &pk->old_kvn, c->err)) != CPK_OK)
			return ret;
		pk->replace = true;
	}
	if (v[PK_ADD] != NULL && (ret = ydoc_get_bool(c->file, v[PK_ADD], &putkey_fields[PK_ADD],
	    &add, c->err)) != CPK_OK)
		return ret;
	if (pk->replace == add)
		return cpk_error_set_at(c->err, CPK_ERR_PARSE, c->file, map->line, map->col,
		    pk->replace ? "step 'put-key' gives both 'replace' and 'add: true'" :
		    "step 'put-key' needs 'replace: KVN' (the key version it replaces) or 'add: true'");
	if ((ret = opt_label(c, v[PK_LABEL], &putkey_fields[PK_LABEL], &s->label)) != CPK_OK)
		return ret;
	accept_only(s, 0x9000);
	return CPK_OK;
}

static cpk_status
parse_accept(struct pctx *c, const struct ydoc_node *n, struct profile_step *s)
{
	uint8_t sw[2];
	size_t len, i;
	cpk_status ret;

	if (n == NULL) {
		accept_only(s, 0x9000);
		return CPK_OK;
	}
	if (n->n == 0 || n->n > PROFILE_MAX_ACCEPT)
		return cpk_error_set_at(c->err, CPK_ERR_RANGE, c->file, n->line, n->col,
		    "'accept' must list 1 to %d status words, not %zu", PROFILE_MAX_ACCEPT, n->n);
	for (i = 0; i < n->n; i++) {
		if ((ret = ydoc_get_hex(c->file, n->items[i], &accept_field, sw, 2, &len,
		    c->err)) != CPK_OK)
			return ret;
		s->accept[i] = (uint16_t)(sw[0] << 8 | sw[1]);
	}
	s->naccept = n->n;
	return CPK_OK;
}

static cpk_status
parse_apdu(struct pctx *c, const struct ydoc_node **v, struct profile_step *s)
{
	struct profile_apdu *a = &s->u.apdu;
	uint8_t le;
	size_t len;
	cpk_status ret;

	if ((ret = ydoc_get_hex(c->file, v[AP_HEADER], &apdu_fields[AP_HEADER], a->header, 4, &len,
	    c->err)) != CPK_OK)
		return ret;
	if (v[AP_DATA] != NULL) {
		if ((ret = parse_tmpl(c, v[AP_DATA], "data", &a->data)) != CPK_OK)
			return ret;
	} else {
		a->data.fixed = true;
		a->data.loc = loc_of(v[AP_HEADER]);
	}
	if (v[AP_LE] != NULL) {
		if ((ret = ydoc_get_byte(c->file, v[AP_LE], &apdu_fields[AP_LE], &le, c->err)) != CPK_OK)
			return ret;
		a->has_le = true;
		a->ne = le == 0 ? 256 : le;
	}
	if ((ret = parse_accept(c, v[AP_ACCEPT], s)) != CPK_OK)
		return ret;
	if (v[AP_CAPTURE] != NULL) {
		const char *name;

		if ((ret = ydoc_get_str(c->file, v[AP_CAPTURE], &apdu_fields[AP_CAPTURE], &name,
		    c->err)) != CPK_OK)
			return ret;
		snprintf(a->capture, sizeof(a->capture), "%s", name);
		a->loc_capture = loc_of(v[AP_CAPTURE]);
	}
	return opt_label(c, v[AP_LABEL], &apdu_fields[AP_LABEL], &s->label);
}

static cpk_status
unknown_step(struct pctx *c, const struct ydoc_node *key)
{
	const char *names[STEP_KIND_MAX + 8];
	const char *sug;
	char q[64];
	size_t i, n = 0;

	for (i = 1; i <= STEP_KIND_MAX; i++)
		names[n++] = step_kinds[i].name;
	for (i = 0; i < step_table_len && n < sizeof(names) / sizeof(names[0]); i++)
		names[n++] = step_table[i]->name;
	sug = ydoc_suggest(key->str, names, n);
	ydoc_quote(key->str, q, sizeof(q));
	if (sug != NULL)
		return cpk_error_set_at(c->err, CPK_ERR_PARSE, c->file, key->line, key->col,
		    "unknown step '%s' (did you mean '%s'?)", q, sug);
	return cpk_error_set_at(c->err, CPK_ERR_PARSE, c->file, key->line, key->col,
	    "unknown step '%s' (expected delete, load, install, store-data, put-key, apdu, "
	    "set-status, delete-key, extradite or registry-update)", q);
}

/* A step of the step table (step.h), or an unknown step. */
static cpk_status
parse_table_step(struct pctx *c, const struct ydoc_node *n, struct profile_step *s)
{
	const struct step_ops *ops = step_find(n->keys[0]->str);
	const struct ydoc_node *v[16];
	struct ydoc_schema schema;
	cpk_status ret;

	if (ops == NULL)
		return unknown_step(c, n->keys[0]);
	if (ops->nfields > sizeof(v) / sizeof(v[0]))
		return cpk_error_set(c->err, CPK_ERR_ARG, "%s has too many fields", ops->what);
	schema.what = ops->what;
	schema.fields = ops->fields;
	schema.nfields = ops->nfields;
	schema.hints = ops->hints;
	schema.secret = false;
	s->kind = PROFILE_STEP_CMD;
	s->u.cmd.ops = ops;
	if ((ret = ydoc_check_map(c->file, n->items[0], n->keys[0], &schema, v, c->err)) != CPK_OK)
		return ret;
	return ops->parse(c, n->items[0], v, s);
}

static cpk_status
parse_step(struct pctx *c, const struct ydoc_node *n, struct profile_step *s)
{
	const struct ydoc_node *v[16];
	const struct ydoc_node *body;
	unsigned kind;
	cpk_status ret;

	s->loc = loc_of(n);
	if (n->kind != YDOC_MAP || n->n != 1)
		return cpk_error_set_at(c->err, CPK_ERR_PARSE, c->file, n->line, n->col,
		    "a step must be a mapping with one key naming its kind (delete, load, install, "
		    "store-data, put-key, apdu, set-status, delete-key, extradite or "
		    "registry-update)");
	for (kind = 1; kind <= STEP_KIND_MAX; kind++)
		if (strcmp(step_kinds[kind].name, n->keys[0]->str) == 0)
			break;
	if (kind > STEP_KIND_MAX)
		return parse_table_step(c, n, s);
	body = n->items[0];
	s->kind = (enum profile_step_kind)kind;
	if ((ret = ydoc_check_map(c->file, body, n->keys[0], &step_kinds[kind].schema, v,
	    c->err)) != CPK_OK)
		return ret;
	switch (s->kind) {
	case PROFILE_STEP_DELETE:
		return parse_delete(c, v, s);
	case PROFILE_STEP_LOAD:
		return parse_load(c, v, s);
	case PROFILE_STEP_INSTALL:
		return parse_install(c, v, s);
	case PROFILE_STEP_STORE_DATA:
		return parse_store(c, v, s);
	case PROFILE_STEP_PUT_KEY:
		return parse_put_key(c, body, v, s);
	case PROFILE_STEP_APDU:
		return parse_apdu(c, v, s);
	case PROFILE_STEP_CMD:
		break;
	}
	return cpk_error_set(c->err, CPK_ERR_ARG, "step kind %u", kind);
}

static cpk_status
parse_steps(struct pctx *c, const struct ydoc_node *n)
{
	struct profile *p = c->p;
	int last_load = -1;
	cpk_status ret;
	size_t i;

	if (n->n == 0 || n->n > PROFILE_MAX_STEPS)
		return cpk_error_set_at(c->err, CPK_ERR_RANGE, c->file, n->line, n->col,
		    "'steps' must hold 1 to %d steps, not %zu", PROFILE_MAX_STEPS, n->n);
	if ((p->steps = calloc(n->n, sizeof(*p->steps))) == NULL)
		return cpk_error_set(c->err, CPK_ERR_NOMEM, "out of memory");
	for (i = 0; i < n->n; i++) {
		p->nsteps = i + 1;
		if ((ret = parse_step(c, n->items[i], &p->steps[i])) != CPK_OK)
			return ret;
		if (p->steps[i].kind == PROFILE_STEP_LOAD)
			last_load = (int)i;
		if (p->steps[i].kind == PROFILE_STEP_INSTALL) {
			struct profile_install *in = &p->steps[i].u.install;

			if (!in->has_package && last_load < 0)
				return cpk_error_set_at(c->err, CPK_ERR_PARSE, c->file,
				    p->steps[i].loc.line, p->steps[i].loc.col,
				    "step 'install' needs 'package': no load step comes before it");
			if (!in->has_package)
				in->load_step = last_load;
		}
	}
	return CPK_OK;
}

/* --- the top level --- */

/* delegated-management: { token-key: FILE (in the key folder) } */
static cpk_status
parse_dm(struct pctx *c, const struct ydoc_node *n, struct profile_sd *sd)
{
	const struct ydoc_node *v[N(dm_fields)];
	const char *str;
	cpk_status ret;

	sd->loc_dm = loc_of(n);
	if (n->kind != YDOC_MAP)
		return cpk_error_set_at(c->err, CPK_ERR_PARSE, c->file, n->line, n->col,
		    "'delegated-management' must be a mapping: token-key (a token key file)");
	if ((ret = ydoc_check_map(c->file, n, n, &dm_schema, v, c->err)) != CPK_OK ||
	    (ret = ydoc_get_str(c->file, v[DM_TOKEN_KEY], &dm_fields[DM_TOKEN_KEY], &str,
	    c->err)) != CPK_OK ||
	    (ret = dup_str(c, str, &sd->dm_key)) != CPK_OK)
		return ret;
	sd->loc_dm_key = loc_of(v[DM_TOKEN_KEY]);
	return CPK_OK;
}

static cpk_status
parse_sd(struct pctx *c, const struct ydoc_node *n)
{
	struct profile_sd *sd = &c->p->sd;
	const struct ydoc_node *v[N(sd_fields)];
	cpk_status ret;
	int idx;

	sd->loc = loc_of(n);
	if ((ret = ydoc_check_map(c->file, n, n, &sd_schema, v, c->err)) != CPK_OK)
		return ret;
	sd->loc_i = loc_of(v[SD_I]);
	sd->loc_level = loc_of(v[SD_LEVEL]);
	sd->loc_mode = loc_of(v[SD_MODE] != NULL ? v[SD_MODE] : v[SD_I]);
	if (v[SD_AID] != NULL) {
		if ((ret = get_aid(c, v[SD_AID], &sd_fields[SD_AID], &sd->aid)) != CPK_OK)
			return ret;
		sd->has_aid = true;
	}
	if ((ret = ydoc_get_enum(c->file, v[SD_SCP], &sd_fields[SD_SCP], &idx, c->err)) != CPK_OK)
		return ret;
	sd->scp = (enum scp_version)scp_proto_at((size_t)idx)->id;
	if ((ret = ydoc_get_byte(c->file, v[SD_I], &sd_fields[SD_I], &sd->i, c->err)) != CPK_OK)
		return ret;
	if (v[SD_KVN] != NULL) {
		if ((ret = ydoc_get_byte(c->file, v[SD_KVN], &sd_fields[SD_KVN], &sd->kvn,
		    c->err)) != CPK_OK)
			return ret;
		sd->has_kvn = true;
	}
	if ((ret = ydoc_get_enum(c->file, v[SD_LEVEL], &sd_fields[SD_LEVEL], &idx, c->err)) != CPK_OK)
		return ret;
	sd->level = level_values[idx];
	if (v[SD_MODE] != NULL) {
		if ((ret = ydoc_get_enum(c->file, v[SD_MODE], &sd_fields[SD_MODE], &idx,
		    c->err)) != CPK_OK)
			return ret;
		sd->mode = idx == 0 ? PROFILE_MODE_OFFLINE : PROFILE_MODE_SESSION;
		sd->mode_given = true;
	} else {
		sd->mode = scp_i_pseudo_random(sd->scp, sd->i) ? PROFILE_MODE_OFFLINE :
		    PROFILE_MODE_SESSION;
	}
	if (v[SD_DM] != NULL)
		return parse_dm(c, v[SD_DM], sd);
	return CPK_OK;
}

static cpk_status
parse_keys(struct pctx *c, const struct ydoc_node *n)
{
	struct profile_keys *k = &c->p->keys;
	const struct ydoc_node *v[N(keys_fields)];
	const char *s;
	cpk_status ret;
	int idx;

	k->loc = loc_of(n);
	if ((ret = ydoc_check_map(c->file, n, n, &keys_schema, v, c->err)) != CPK_OK)
		return ret;
	k->loc_file = loc_of(v[K_FILE]);
	if ((ret = ydoc_get_str(c->file, v[K_FILE], &keys_fields[K_FILE], &s, c->err)) != CPK_OK ||
	    (ret = dup_str(c, s, &k->file)) != CPK_OK)
		return ret;
	if (v[K_DIV] != NULL) {
		if ((ret = ydoc_get_enum(c->file, v[K_DIV], &keys_fields[K_DIV], &idx, c->err)) != CPK_OK)
			return ret;
		k->div = (enum gp_diversification)idx;
		k->div_given = true;
	}
	return CPK_OK;
}

static cpk_status
parse_holder_pin(struct pctx *c, const struct ydoc_node *n)
{
	struct profile_holder_pin *h = &c->p->holder_pin;
	const struct ydoc_node *v[N(holder_pin_fields)];
	cpk_status ret;

	h->loc = loc_of(n);
	if ((ret = ydoc_check_map(c->file, n, n, &holder_pin_schema, v, c->err)) != CPK_OK ||
	    (ret = get_aid(c, v[HP_AID], &holder_pin_fields[HP_AID], &h->aid)) != CPK_OK ||
	    (ret = ydoc_get_byte(c->file, v[HP_REFERENCE], &holder_pin_fields[HP_REFERENCE],
	    &h->reference, c->err)) != CPK_OK)
		return ret;
	h->required = true;
	return CPK_OK;
}

static cpk_status
parse_data_names(struct pctx *c, const struct ydoc_node *n)
{
	struct profile *p = c->p;
	const struct ydoc_node *it;
	cpk_status ret;
	size_t i, k;

	if (n->n > PROFILE_MAX_DATA)
		return cpk_error_set_at(c->err, CPK_ERR_RANGE, c->file, n->line, n->col,
		    "'data' declares %zu names (at most %d)", n->n, PROFILE_MAX_DATA);
	for (i = 0; i < n->n; i++) {
		const char *s;

		it = n->items[i];
		if ((ret = ydoc_get_str(c->file, it, &data_name_field, &s, c->err)) != CPK_OK)
			return ret;
		for (k = 0; s[k] != '\0'; k++)
			if (!((s[k] >= 'a' && s[k] <= 'z') || (s[k] >= '0' && s[k] <= '9') ||
			    s[k] == '_' || s[k] == '-'))
				return cpk_error_set_at(c->err, CPK_ERR_PARSE, c->file, it->line,
				    it->col, "per-card data name '%s': use a-z, 0-9, '_' and '-'", s);
		for (k = 0; k < p->ndata; k++)
			if (strcmp(p->data_names[k], s) == 0)
				return cpk_error_set_at(c->err, CPK_ERR_PARSE, c->file, it->line,
				    it->col, "per-card data name '%s' is declared twice", s);
		if ((ret = dup_str(c, s, &p->data_names[p->ndata])) != CPK_OK)
			return ret;
		p->ndata++;
	}
	return CPK_OK;
}

static cpk_status
parse_top(struct pctx *c, const struct ydoc_node *root)
{
	const struct ydoc_node *v[N(top_fields)];
	struct profile *p = c->p;
	const char *s;
	char q[64];
	cpk_status ret;
	size_t i;

	if (root == NULL)
		return cpk_error_set_at(c->err, CPK_ERR_PARSE, c->file, 1, 1, "the profile is empty");
	/* The format version first: another version may have other keys. */
	for (i = 0; root->kind == YDOC_MAP && i < root->n; i++) {
		const struct ydoc_node *ver = root->items[i];

		if (strcmp(root->keys[i]->str, "profile") != 0 || ver->kind != YDOC_SCALAR ||
		    strcmp(ver->str, "1") == 0)
			continue;
		ydoc_quote(ver->str, q, sizeof(q));
		return cpk_error_set_at(c->err, CPK_ERR_UNSUPPORTED, c->file, ver->line, ver->col,
		    "profile format '%s' is not supported (this cardc reads 'profile: 1')", q);
	}
	if ((ret = ydoc_check_map(c->file, root, root, &top_schema, v, c->err)) != CPK_OK)
		return ret;
	if ((ret = ydoc_get_str(c->file, v[T_NAME], &top_fields[T_NAME], &s, c->err)) != CPK_OK ||
	    (ret = dup_str(c, s, &p->name)) != CPK_OK)
		return ret;
	if (v[T_DESCRIPTION] != NULL &&
	    ((ret = ydoc_get_str(c->file, v[T_DESCRIPTION], &top_fields[T_DESCRIPTION], &s,
	    c->err)) != CPK_OK || (ret = dup_str(c, s, &p->description)) != CPK_OK))
		return ret;
	if ((ret = parse_sd(c, v[T_SD])) != CPK_OK || (ret = parse_keys(c, v[T_KEYS])) != CPK_OK)
		return ret;
	if (v[T_HOLDER_PIN] != NULL && (ret = parse_holder_pin(c, v[T_HOLDER_PIN])) != CPK_OK)
		return ret;
	if (v[T_DATA] != NULL && (ret = parse_data_names(c, v[T_DATA])) != CPK_OK)
		return ret;
	return parse_steps(c, v[T_STEPS]);
}

cpk_status
profile_parse(const char *name, const char *dir, const uint8_t *text, size_t len,
    struct profile **out, struct cpk_error *err)
{
	struct ydoc_node *root = NULL;
	struct cpk_error local;
	struct pctx c;
	struct profile *p = NULL;
	cpk_status ret;

	/* The parser prefixes and reads back messages: give it an error structure. */
	if (err == NULL)
		err = &local;
	*out = NULL;
	cpk_error_clear(err);
	if ((p = calloc(1, sizeof(*p))) == NULL || (p->file = strdup(name)) == NULL ||
	    (p->dir = strdup(dir != NULL ? dir : ".")) == NULL) {
		ret = cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	c.file = name;
	c.p = p;
	c.err = err;
	if ((ret = cpk_sha256(text, len, p->sha256, err)) != CPK_OK)
		goto out;
	if ((ret = ydoc_parse(name, text, len, &root, err)) != CPK_OK)
		goto out;
	if ((ret = parse_top(&c, root)) != CPK_OK)
		goto out;
	*out = p;
	p = NULL;
	ret = CPK_OK;
out:
	ydoc_free(&root);
	profile_free(&p);
	return ret;
}

cpk_status
profile_load(const char *path, const struct profile_opts *opts, struct profile **out,
    struct cpk_error *err)
{
	struct cpk_buf text = CPK_BUF_INIT;
	struct profile *p = NULL;
	char *dir = NULL, *slash;
	cpk_status ret;

	*out = NULL;
	if ((dir = strdup(path)) == NULL) {
		ret = cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((slash = strrchr(dir, '/')) == NULL) {
		free(dir);
		if ((dir = strdup(".")) == NULL) {
			ret = cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
			goto out;
		}
	} else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if ((ret = ydoc_read_file(path, PROFILE_FILE_MAX, YDOC_FILE_PROFILE, &text, err)) != CPK_OK ||
	    (ret = profile_parse(path, dir, text.data, text.len, &p, err)) != CPK_OK ||
	    (ret = profile_resolve(p, opts, err)) != CPK_OK ||
	    (ret = profile_check(p, err)) != CPK_OK)
		goto out;
	p->challenge_prefix = cpk_host_challenge_prefix(p);	/* NULL: hashed per card */
	*out = p;
	p = NULL;
out:
	free(dir);
	cpk_buf_free(&text);
	profile_free(&p);
	return ret;
}
