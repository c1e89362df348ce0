/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cardsim: configuration and state files (YAML through libyaml), the atomic
 * state writer and the registry printer.
 */
#include "cardsim_state.h"
#include "cpk_file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "gp_crypto.h"

/* --- reading --- */

struct yctx {
	yaml_document_t *doc;
	const char *file;
	struct cpk_error *err;
};

static cpk_status yerr(const struct yctx *y, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static cpk_status
yerr(const struct yctx *y, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return cpk_error_set_at(y->err, CPK_ERR_PARSE, y->file,
	    n != NULL ? (unsigned)n->start_mark.line + 1 : 0,
	    n != NULL ? (unsigned)n->start_mark.column + 1 : 0, "%s", msg);
}

static const char *
scalar(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static cpk_status
need_scalar(const struct yctx *y, const yaml_node_t *n, const char *key)
{
	if (n->type != YAML_SCALAR_NODE || n->data.scalar.length == 0)
		return yerr(y, n, "'%s' needs a value", key);
	return CPK_OK;
}

/*
 * Check a mapping against its allowed keys; vals[i] receives the value of
 * keys[i] or NULL. Unknown and duplicate keys are refused.
 */
static cpk_status
walk_map(const struct yctx *y, const yaml_node_t *map, const char *what,
    const char *const *keys, size_t nkeys, const yaml_node_t **vals)
{
	yaml_node_pair_t *pair;
	yaml_node_t *k;
	size_t i;
	cpk_status st = CPK_ERR_PARSE;

	for (i = 0; i < nkeys; i++)
		vals[i] = NULL;
	if (map->type != YAML_MAPPING_NODE) {
		st = yerr(y, map, "%s must be a mapping", what);
		goto out;
	}
	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		k = yaml_document_get_node(y->doc, pair->key);
		if (k == NULL || k->type != YAML_SCALAR_NODE) {
			st = yerr(y, k, "keys of %s must be plain words", what);
			goto out;
		}
		for (i = 0; i < nkeys; i++)
			if (strcmp(scalar(k), keys[i]) == 0)
				break;
		if (i == nkeys) {
			st = yerr(y, k, "unknown key '%s' in %s", scalar(k), what);
			goto out;
		}
		if (vals[i] != NULL) {
			st = yerr(y, k, "duplicate key '%s' in %s", keys[i], what);
			goto out;
		}
		vals[i] = yaml_document_get_node(y->doc, pair->value);
	}
	st = CPK_OK;
out:
	return st;
}

static cpk_status
get_hex(const struct yctx *y, const yaml_node_t *n, const char *key, size_t min, size_t max,
    uint8_t *out, size_t *len)
{
	struct cpk_error e;
	const char *s;
	cpk_status st = CPK_ERR_PARSE;

	if ((st = need_scalar(y, n, key)) != CPK_OK)
		goto out;
	s = scalar(n);
	if (cpk_hex_decode(s, strlen(s), out, max, len, &e) != CPK_OK) {
		st = yerr(y, n, "'%s': %s", key, e.msg);
		goto out;
	}
	if (*len < min) {
		st = yerr(y, n, "'%s' has %zu bytes, at least %zu expected", key, *len, min);
		goto out;
	}
	st = CPK_OK;
out:
	return st;
}

static cpk_status
get_byte(const struct yctx *y, const yaml_node_t *n, const char *key, uint8_t *out)
{
	size_t len = 0;
	cpk_status st = CPK_ERR_PARSE;

	if ((st = need_scalar(y, n, key)) != CPK_OK)
		goto out;
	if (strlen(scalar(n)) != 2 || get_hex(y, n, key, 1, 1, out, &len) != CPK_OK) {
		st = yerr(y, n, "'%s' must be one byte in hex (two digits), not '%s'", key,
		    scalar(n));
		goto out;
	}
	st = CPK_OK;
out:
	return st;
}

static cpk_status
get_uint(const struct yctx *y, const yaml_node_t *n, const char *key, unsigned long max,
    unsigned long *out)
{
	const char *s;
	unsigned long v = 0;
	cpk_status st = CPK_ERR_PARSE;

	if ((st = need_scalar(y, n, key)) != CPK_OK)
		goto out;
	for (s = scalar(n); *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || v > (max - (unsigned long)(*s - '0')) / 10) {
			st = yerr(y, n, "'%s' must be a decimal number from 0 to %lu, not '%s'",
			    key, max, scalar(n));
			goto out;
		}
		v = v * 10 + (unsigned long)(*s - '0');
	}
	*out = v;
	st = CPK_OK;
out:
	return st;
}

static cpk_status
get_aid(const struct yctx *y, const yaml_node_t *n, const char *key, struct cs_aid *aid)
{
	return get_hex(y, n, key, CPK_AID_MIN, CPK_AID_MAX, aid->b, &aid->len);
}

enum { C_ISD, C_ATR, C_CPLC, C_IIN, C_CIN, C_KDD, C_SCP, C_I, C_MEMORY, C_LIFE_CYCLE, C_DAP_KEY,
	C_EXTLEN, C_TOKEN_KEY, C_RECEIPT_KEY, C_CONFIRMATION, C_N };
static const char *const card_keys[C_N] = {
	"isd", "atr", "cplc", "iin", "cin", "kdd", "scp", "i", "memory", "life-cycle", "dap-key",
	"extended-length", "token-key", "receipt-key", "confirmation-counter",
};

/* extended-length: N (262 to 65535); without an 'atr', the ATR announces it. */
static cpk_status
read_extlen(const struct yctx *y, const yaml_node_t *n, bool has_atr, struct cardsim *c)
{
	unsigned long v = 0;
	cpk_status st;

	if ((st = get_uint(y, n, "extended-length", 65535, &v)) != CPK_OK)
		return st;
	if (v < 262)
		return yerr(y, n, "'extended-length' is the largest APDU in bytes: 262 to 65535 "
		    "(a short APDU is at most 261)");
	c->id.max_apdu = v;
	if (!has_atr)
		cs_extlen_default_atr(&c->id);
	return CPK_OK;
}

static cpk_status
read_card(const struct yctx *y, const yaml_node_t *map, struct cardsim *c)
{
	const yaml_node_t *v[C_N];
	struct cpk_error e;
	unsigned long n = 0;
	size_t len;
	cpk_status st = CPK_ERR_PARSE;

	if ((st = walk_map(y, map, "'card'", card_keys, C_N, v)) != CPK_OK)
		goto out;
	if ((v[C_ISD] && (st = get_aid(y, v[C_ISD], "isd", &c->id.isd)) != CPK_OK) ||
	    (v[C_ATR] && (st = get_hex(y, v[C_ATR], "atr", 2, CS_ATR_MAX, c->id.atr,
	    &c->id.atr_len)) != CPK_OK) ||
	    (v[C_CPLC] && (st = get_hex(y, v[C_CPLC], "cplc", 1, CS_DATA_MAX, c->id.cplc,
	    &c->id.cplc_len)) != CPK_OK) ||
	    (v[C_IIN] && (st = get_hex(y, v[C_IIN], "iin", 1, CS_DATA_MAX, c->id.iin,
	    &c->id.iin_len)) != CPK_OK) ||
	    (v[C_CIN] && (st = get_hex(y, v[C_CIN], "cin", 1, CS_DATA_MAX, c->id.cin,
	    &c->id.cin_len)) != CPK_OK) ||
	    (v[C_KDD] && (st = get_hex(y, v[C_KDD], "kdd", SCP_KDD_LEN, SCP_KDD_LEN, c->id.kdd,
	    &len)) != CPK_OK) ||
	    (v[C_DAP_KEY] && (st = get_hex(y, v[C_DAP_KEY], "dap-key", 1, CS_DAP_KEY_MAX,
	    c->id.dap_key, &c->id.dap_key_len)) != CPK_OK) ||
	    (v[C_TOKEN_KEY] && (st = get_hex(y, v[C_TOKEN_KEY], "token-key", 1, CS_DAP_KEY_MAX,
	    c->id.token_key, &c->id.token_key_len)) != CPK_OK) ||
	    (v[C_RECEIPT_KEY] && (st = get_hex(y, v[C_RECEIPT_KEY], "receipt-key", 16, 16,
	    c->id.receipt_key, &c->id.receipt_key_len)) != CPK_OK))
		goto out;
	if (v[C_CONFIRMATION] != NULL) {
		if ((st = get_uint(y, v[C_CONFIRMATION], "confirmation-counter", 0xFFFF, &n)) !=
		    CPK_OK)
			goto out;
		c->id.confirmation_counter = (uint16_t)n;
	}
	if (v[C_SCP] == NULL || v[C_I] == NULL) {
		st = yerr(y, map, "'card' needs 'scp' (2 or 3) and 'i' (hex)");
		goto out;
	}
	if ((st = get_uint(y, v[C_SCP], "scp", 99, &n)) != CPK_OK)
		goto out;
	if (scp_ops_find((uint8_t)n) == NULL) {
		char known[64];

		scp_proto_list_text(known, sizeof(known));
		st = yerr(y, v[C_SCP], "'scp' must be %s", known);
		goto out;
	}
	c->id.scp = (enum scp_version)n;
	if ((st = get_byte(y, v[C_I], "i", &c->id.i)) != CPK_OK)
		goto out;
	if (scp_i_supported(c->id.scp, c->id.i, &e) != CPK_OK) {
		st = yerr(y, v[C_I], "%s", e.msg);
		goto out;
	}
	if (v[C_MEMORY] != NULL) {
		if ((st = get_uint(y, v[C_MEMORY], "memory", 64ul * 1024 * 1024, &n)) != CPK_OK)
			goto out;
		c->id.memory = n;
	}
	if (v[C_EXTLEN] != NULL &&
	    (st = read_extlen(y, v[C_EXTLEN], v[C_ATR] != NULL, c)) != CPK_OK)
		goto out;
	if (v[C_LIFE_CYCLE] != NULL) {
		if ((st = get_byte(y, v[C_LIFE_CYCLE], "life-cycle", &c->id.life_cycle)) != CPK_OK)
			goto out;
		if (c->id.life_cycle != CS_LC_CARD_OP_READY &&
		    c->id.life_cycle != CS_LC_CARD_INITIALIZED &&
		    c->id.life_cycle != CS_LC_CARD_SECURED &&
		    c->id.life_cycle != CS_LC_CARD_LOCKED &&
		    c->id.life_cycle != CS_LC_CARD_TERMINATED) {
			st = yerr(y, v[C_LIFE_CYCLE], "'life-cycle' must be a card state: 01, 07, 0F, "
			    "7F or FF");
			goto out;
		}
	}
	st = CPK_OK;
out:
	return st;
}

enum { K_KVN, K_TYPE, K_ENC, K_MAC, K_DEK, K_KEY, K_DIV, K_COUNTER, K_N };
static const char *const keyset_keys[K_N] = {
	"kvn", "type", "enc", "mac", "dek", "key", "diversification", "counter",
};

static cpk_status
read_keyset(const struct yctx *y, const yaml_node_t *map, struct cardsim *c,
    struct cs_keyset *ks)
{
	/* The card's protocol is a table entry (checked when the card section was read). */
	const struct scp_ops *ops = scp_ops_find((uint8_t)c->id.scp);
	unsigned long top = 1ul << (8 * ops->proto->counter_len);
	const yaml_node_t *v[K_N];
	struct scp_keyset master;
	enum gp_diversification div = GP_DIV_NONE;
	struct cpk_error e;
	unsigned long ctr = 0;
	size_t len[3] = { 0, 0, 0 };
	cpk_status st;
	int i;

	memset(&master, 0, sizeof(master));
	if ((st = walk_map(y, map, "a key set", keyset_keys, K_N, v)) != CPK_OK)
		goto out;
	if (v[K_KVN] == NULL || v[K_TYPE] == NULL) {
		st = yerr(y, map, "a key set needs 'kvn' and 'type'");
		goto out;
	}
	if ((st = get_byte(y, v[K_KVN], "kvn", &master.kvn)) != CPK_OK)
		goto out;
	if (master.kvn == 0x00 || master.kvn > 0x7F) {
		st = yerr(y, v[K_KVN], "'kvn' must be 01-7F");
		goto out;
	}
	if ((st = need_scalar(y, v[K_TYPE], "type")) != CPK_OK)
		goto out;
	if (strcmp(scalar(v[K_TYPE]), "aes") == 0) {
		master.alg = GP_KEY_AES;
	} else if (strcmp(scalar(v[K_TYPE]), "3des") == 0) {
		master.alg = GP_KEY_3DES;
	} else {
		st = yerr(y, v[K_TYPE], "'type' must be aes or 3des, not '%s'", scalar(v[K_TYPE]));
		goto out;
	}
	if (master.alg != ops->key_alg) {
		st = yerr(y, v[K_TYPE], "an %s card takes %s key sets", ops->proto->name,
		    ops->key_alg == GP_KEY_AES ? "aes" : "3des");
		goto out;
	}
	if ((v[K_KEY] != NULL) == (v[K_ENC] != NULL || v[K_MAC] != NULL || v[K_DEK] != NULL) ||
	    (v[K_KEY] == NULL && (v[K_ENC] == NULL || v[K_MAC] == NULL || v[K_DEK] == NULL))) {
		st = yerr(y, map, "a key set gives either 'key' (one key for all three) or "
		    "'enc', 'mac' and 'dek'");
		goto out;
	}
	if (v[K_KEY] != NULL) {
		if ((st = get_hex(y, v[K_KEY], "key", 16, GP_MAX_KEY, master.enc, &len[0])) != CPK_OK)
			goto out;
		memcpy(master.mac, master.enc, len[0]);
		memcpy(master.dek, master.enc, len[0]);
		len[1] = len[2] = len[0];
	} else if ((st = get_hex(y, v[K_ENC], "enc", 16, GP_MAX_KEY, master.enc, &len[0])) !=
	    CPK_OK || (st = get_hex(y, v[K_MAC], "mac", 16, GP_MAX_KEY, master.mac, &len[1])) !=
	    CPK_OK || (st = get_hex(y, v[K_DEK], "dek", 16, GP_MAX_KEY, master.dek, &len[2])) !=
	    CPK_OK) {
		goto out;
	}
	for (i = 1; i < 3; i++) {
		if (len[i] != len[0]) {
			st = yerr(y, map, "the keys of a key set must have the same length");
			goto out;
		}
	}
	master.len = len[0];
	if (!ops->keys_fit(master.alg, master.len)) {
		st = yerr(y, map, "%zu-byte keys do not fit this key set's type", master.len);
		goto out;
	}
	if (v[K_DIV] != NULL) {
		if ((st = need_scalar(y, v[K_DIV], "diversification")) != CPK_OK)
			goto out;
		if (gp_diversification_parse(scalar(v[K_DIV]), &div, &e) != CPK_OK) {
			st = yerr(y, v[K_DIV], "%s", e.msg);
			goto out;
		}
	}
	/*
	 * A counter that only EXTERNAL AUTHENTICATE moves may stand one past its
	 * largest value: used up.
	 */
	if (v[K_COUNTER] != NULL && (st = get_uint(y, v[K_COUNTER], "counter",
	    ops->proto->counter_moves_on_iu ? top - 1 : top, &ctr)) != CPK_OK)
		goto out;
	if (div == GP_DIV_NONE) {
		ks->keys = master;
	} else if (scp_keyset_diversify(&master, div, c->id.kdd, &ks->keys, &e) != CPK_OK) {
		st = yerr(y, v[K_DIV], "%s", e.msg);
		goto out;
	}
	ks->counter = (uint32_t)ctr;
	st = CPK_OK;
out:
	scp_keyset_clear(&master);
	return st;
}

enum { L_AID, L_VERSION, L_SIZE, L_MODULES, L_N };
static const char *const loadfile_keys[L_N] = { "aid", "version", "size", "modules" };

static cpk_status
read_loadfile(const struct yctx *y, const yaml_node_t *map, struct cs_loadfile *lf)
{
	const yaml_node_t *v[L_N], *m;
	yaml_node_item_t *it;
	unsigned long size = 0;
	unsigned maj, min;
	char tail;
	cpk_status st = CPK_ERR_PARSE;

	if ((st = walk_map(y, map, "a load file", loadfile_keys, L_N, v)) != CPK_OK)
		goto out;
	if (v[L_AID] == NULL || v[L_VERSION] == NULL || v[L_SIZE] == NULL) {
		st = yerr(y, map, "a load file needs 'aid', 'version' and 'size'");
		goto out;
	}
	if ((st = get_aid(y, v[L_AID], "aid", &lf->aid)) != CPK_OK ||
	    (st = need_scalar(y, v[L_VERSION], "version")) != CPK_OK ||
	    (st = get_uint(y, v[L_SIZE], "size", 64ul * 1024 * 1024, &size)) != CPK_OK)
		goto out;
	if (sscanf(scalar(v[L_VERSION]), "%u.%u%c", &maj, &min, &tail) != 2 || maj > 255 ||
	    min > 255) {
		st = yerr(y, v[L_VERSION], "'version' must be MAJOR.MINOR (0-255 each)");
		goto out;
	}
	lf->major = (uint8_t)maj;
	lf->minor = (uint8_t)min;
	lf->size = size;
	st = CPK_OK;
	if (v[L_MODULES] == NULL)
		goto out;
	if (v[L_MODULES]->type != YAML_SEQUENCE_NODE) {
		st = yerr(y, v[L_MODULES], "'modules' must be a list of AIDs");
		goto out;
	}
	for (it = v[L_MODULES]->data.sequence.items.start;
	    it < v[L_MODULES]->data.sequence.items.top; it++) {
		m = yaml_document_get_node(y->doc, *it);
		if (lf->nmodules >= CS_MAX_MODULES) {
			st = yerr(y, m, "more than %d modules", CS_MAX_MODULES);
			goto out;
		}
		if ((st = get_aid(y, m, "modules", &lf->modules[lf->nmodules])) != CPK_OK)
			goto out;
		lf->nmodules++;
	}
	st = CPK_OK;
out:
	return st;
}

enum { S_P1, S_BLOCK, S_DATA, S_N };
static const char *const block_keys[S_N] = { "p1", "block", "data" };

static cpk_status
read_stored(const struct yctx *y, const yaml_node_t *seq, const char *key, struct cs_stored *s)
{
	const yaml_node_t *v[S_N], *b;
	yaml_node_item_t *it;
	struct cpk_error e;
	uint8_t p1, p2, data[CS_DATA_MAX];
	size_t len;
	cpk_status st = CPK_ERR_PARSE;

	if (seq->type != YAML_SEQUENCE_NODE) {
		st = yerr(y, seq, "'%s' must be a list", key);
		goto out;
	}
	for (it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
		b = yaml_document_get_node(y->doc, *it);
		if ((st = walk_map(y, b, "a stored block", block_keys, S_N, v)) != CPK_OK)
			goto out;
		if (v[S_P1] == NULL || v[S_BLOCK] == NULL || v[S_DATA] == NULL) {
			st = yerr(y, b, "a stored block needs 'p1', 'block' and 'data'");
			goto out;
		}
		if ((st = get_byte(y, v[S_P1], "p1", &p1)) != CPK_OK ||
		    (st = get_byte(y, v[S_BLOCK], "block", &p2)) != CPK_OK ||
		    (st = get_hex(y, v[S_DATA], "data", 1, sizeof(data), data, &len)) != CPK_OK)
			goto out;
		if (cs_stored_add(s, p1, p2, data, len, &e) != CPK_OK) {
			st = yerr(y, b, "%s", e.msg);
			goto out;
		}
	}
	st = CPK_OK;
out:
	return st;
}

enum { A_AID, A_LF, A_MODULE, A_LC, A_PRIV, A_PARAMS, A_STORED, A_DAP_KEY, A_N };
static const char *const app_keys[A_N] = {
	"aid", "load-file", "module", "life-cycle", "privileges", "install-parameters",
	"stored-data", "dap-key",
};

static cpk_status
read_app(const struct yctx *y, const yaml_node_t *map, struct cardsim *c, struct cs_app *app)
{
	const yaml_node_t *v[A_N];
	struct cs_loadfile *lf;
	size_t i;
	cpk_status st = CPK_ERR_PARSE;

	if ((st = walk_map(y, map, "an application", app_keys, A_N, v)) != CPK_OK)
		goto out;
	if (v[A_AID] == NULL || v[A_LF] == NULL || v[A_MODULE] == NULL || v[A_LC] == NULL ||
	    v[A_PRIV] == NULL) {
		st = yerr(y, map, "an application needs 'aid', 'load-file', 'module', "
		    "'life-cycle' and 'privileges'");
		goto out;
	}
	if ((st = get_aid(y, v[A_AID], "aid", &app->aid)) != CPK_OK ||
	    (st = get_aid(y, v[A_LF], "load-file", &app->load_file)) != CPK_OK ||
	    (st = get_aid(y, v[A_MODULE], "module", &app->module)) != CPK_OK ||
	    (st = get_byte(y, v[A_LC], "life-cycle", &app->life_cycle)) != CPK_OK ||
	    (st = get_hex(y, v[A_PRIV], "privileges", 1, 3, app->priv, &app->priv_len)) != CPK_OK)
		goto out;
	if (app->priv_len == 2) {
		st = yerr(y, v[A_PRIV], "'privileges' has 1 or 3 bytes");
		goto out;
	}
	if ((app->life_cycle & ~CS_LC_APP_LOCKED) != CS_LC_APP_INSTALLED &&
	    (app->life_cycle & ~CS_LC_APP_LOCKED) != CS_LC_APP_SELECTABLE) {
		st = yerr(y, v[A_LC], "'life-cycle' must be 03 (installed) or 07 (selectable), "
		    "locked with 80 added (83, 87)");
		goto out;
	}
	if (v[A_PARAMS] != NULL && (st = get_hex(y, v[A_PARAMS], "install-parameters", 1,
	    CS_DATA_MAX, app->params, &app->params_len)) != CPK_OK)
		goto out;
	if (v[A_DAP_KEY] != NULL) {
		if ((st = get_hex(y, v[A_DAP_KEY], "dap-key", 1, CS_DAP_KEY_MAX, app->dap_key,
		    &app->dap_key_len)) != CPK_OK)
			goto out;
		if ((app->priv[0] & 0xC0) != 0xC0) {
			st = yerr(y, v[A_DAP_KEY], "'dap-key' needs the Security Domain and DAP "
			    "Verification privileges (C0 in the first privilege byte)");
			goto out;
		}
	}
	if ((lf = cardsim_find_loadfile(c, app->load_file.b, app->load_file.len)) == NULL) {
		st = yerr(y, v[A_LF], "no load file with this AID");
		goto out;
	}
	for (i = 0; i < lf->nmodules; i++)
		if (lf->modules[i].len == app->module.len &&
		    memcmp(lf->modules[i].b, app->module.b, app->module.len) == 0)
			break;
	if (i == lf->nmodules) {
		st = yerr(y, v[A_MODULE], "the load file has no such module");
		goto out;
	}
	st = v[A_STORED] != NULL ? read_stored(y, v[A_STORED], "stored-data", &app->stored) :
	    CPK_OK;
out:
	return st;
}

/* Does application idx share its AID with the ISD, a load file or an earlier application? */
static bool
app_aid_taken(struct cardsim *c, size_t idx)
{
	const struct cs_aid *aid = &c->apps[idx].aid;
	size_t i;

	if (cardsim_find_loadfile(c, aid->b, aid->len) != NULL ||
	    (aid->len == c->id.isd.len && memcmp(aid->b, c->id.isd.b, aid->len) == 0))
		return true;
	for (i = 0; i < idx; i++)
		if (c->apps[i].aid.len == aid->len && memcmp(c->apps[i].aid.b, aid->b, aid->len) == 0)
			return true;
	return false;
}

enum { T_VERSION, T_CARD, T_KEYSETS, T_LOADFILES, T_APPS, T_ISD_STORED, T_HOLDER_PIN, T_N };
static const char *const top_keys[T_N] = {
	"cardsim", "card", "key-sets", "load-files", "applications", "isd-stored-data",
	"holder-pin",
};

static cpk_status
read_lists(const struct yctx *y, const yaml_node_t **v, struct cardsim *c)
{
	yaml_node_item_t *it;
	yaml_node_t *n;
	size_t i;
	cpk_status st = CPK_ERR_PARSE;

	if (v[T_KEYSETS] == NULL || v[T_KEYSETS]->type != YAML_SEQUENCE_NODE ||
	    v[T_KEYSETS]->data.sequence.items.start == v[T_KEYSETS]->data.sequence.items.top) {
		st = yerr(y, v[T_KEYSETS], "'key-sets' must be a list of at least one key set");
		goto out;
	}
	for (it = v[T_KEYSETS]->data.sequence.items.start;
	    it < v[T_KEYSETS]->data.sequence.items.top; it++) {
		n = yaml_document_get_node(y->doc, *it);
		if (c->nkeysets >= CS_MAX_KEYSETS) {
			st = yerr(y, n, "more than %d key sets", CS_MAX_KEYSETS);
			goto out;
		}
		if ((st = read_keyset(y, n, c, &c->keysets[c->nkeysets])) != CPK_OK)
			goto out;
		for (i = 0; i < c->nkeysets; i++)
			if (c->keysets[i].keys.kvn == c->keysets[c->nkeysets].keys.kvn) {
				st = yerr(y, n, "two key sets with version %02X",
				    c->keysets[i].keys.kvn);
				goto out;
			}
		c->nkeysets++;
	}
	if (v[T_LOADFILES] != NULL) {
		if (v[T_LOADFILES]->type != YAML_SEQUENCE_NODE) {
			st = yerr(y, v[T_LOADFILES], "'load-files' must be a list");
			goto out;
		}
		for (it = v[T_LOADFILES]->data.sequence.items.start;
		    it < v[T_LOADFILES]->data.sequence.items.top; it++) {
			n = yaml_document_get_node(y->doc, *it);
			if (c->nloadfiles >= CS_MAX_LOADFILES) {
				st = yerr(y, n, "more than %d load files", CS_MAX_LOADFILES);
				goto out;
			}
			if ((st = read_loadfile(y, n, &c->loadfiles[c->nloadfiles])) != CPK_OK)
				goto out;
			if (cardsim_find_loadfile(c, c->loadfiles[c->nloadfiles].aid.b,
			    c->loadfiles[c->nloadfiles].aid.len) != NULL) {
				st = yerr(y, n, "two load files with the same AID");
				goto out;
			}
			c->nloadfiles++;
		}
	}
	if (v[T_APPS] != NULL) {
		if (v[T_APPS]->type != YAML_SEQUENCE_NODE) {
			st = yerr(y, v[T_APPS], "'applications' must be a list");
			goto out;
		}
		for (it = v[T_APPS]->data.sequence.items.start;
		    it < v[T_APPS]->data.sequence.items.top; it++) {
			n = yaml_document_get_node(y->doc, *it);
			if (c->napps >= CS_MAX_APPS) {
				st = yerr(y, n, "more than %d applications", CS_MAX_APPS);
				goto out;
			}
			/* Counted before it is read, so that cardsim_free releases it. */
			c->napps++;
			if ((st = read_app(y, n, c, &c->apps[c->napps - 1])) != CPK_OK)
				goto out;
			if (app_aid_taken(c, c->napps - 1)) {
				st = yerr(y, n, "the application AID is already in use");
				goto out;
			}
		}
	}
	st = v[T_ISD_STORED] != NULL ? read_stored(y, v[T_ISD_STORED], "isd-stored-data",
	    &c->isd_stored) : CPK_OK;
out:
	return st;
}

enum { H_PIN, H_REFERENCE, H_TRIES, H_LEFT, H_N };
static const char *const holder_keys[H_N] = { "pin", "reference", "tries", "tries-left" };

/* holder-pin: {pin: DIGITS, reference: HEX, tries: N, tries-left: N} */
static cpk_status
read_holder_pin(const struct yctx *y, const yaml_node_t *map, struct cardsim *c)
{
	struct cs_holder_pin *h = &c->id.holder;
	const yaml_node_t *v[H_N];
	unsigned long n = 0;
	const char *pin;
	size_t len, i;
	cpk_status st;

	if ((st = walk_map(y, map, "'holder-pin'", holder_keys, H_N, v)) != CPK_OK)
		return st;
	if (v[H_PIN] == NULL || v[H_REFERENCE] == NULL)
		return yerr(y, map, "'holder-pin' needs 'pin' (4 to 8 digits) and 'reference' (hex)");
	pin = scalar(v[H_PIN]);
	len = strlen(pin);
	for (i = 0; i < len && pin[i] >= '0' && pin[i] <= '9'; i++)
		;
	if (len < 4 || len > CS_HOLDER_PIN_LEN || i != len)
		return yerr(y, v[H_PIN], "'pin' must be 4 to %d digits", CS_HOLDER_PIN_LEN);
	memset(h->pin, 0xFF, sizeof(h->pin));
	memcpy(h->pin, pin, len);
	if ((st = get_byte(y, v[H_REFERENCE], "reference", &h->reference)) != CPK_OK)
		return st;
	h->tries = 3;
	if (v[H_TRIES] != NULL) {
		if ((st = get_uint(y, v[H_TRIES], "tries", 15, &n)) != CPK_OK)
			return st;
		if (n == 0)
			return yerr(y, v[H_TRIES], "'tries' must be 1 to 15");
		h->tries = (uint8_t)n;
	}
	h->left = h->tries;
	if (v[H_LEFT] != NULL) {
		if ((st = get_uint(y, v[H_LEFT], "tries-left", h->tries, &n)) != CPK_OK)
			return st;
		h->left = (uint8_t)n;
	}
	h->set = true;
	return CPK_OK;
}

static void
write_holder_pin(const struct cardsim *c, FILE *out)
{
	const struct cs_holder_pin *h = &c->id.holder;
	size_t n;

	if (!h->set)
		return;
	for (n = 0; n < sizeof(h->pin) && h->pin[n] != 0xFF; n++)
		;
	fprintf(out, "holder-pin:\n  pin: \"%.*s\"\n  reference: %02X\n  tries: %u\n"
	    "  tries-left: %u\n", (int)n, (const char *)h->pin, h->reference, h->tries, h->left);
}

static cpk_status
read_document(const struct yctx *y, struct cardsim *c)
{
	const yaml_node_t *v[T_N];
	yaml_node_t *root = yaml_document_get_root_node(y->doc);
	unsigned long ver = 0;
	cpk_status st = CPK_ERR_PARSE;

	if (root == NULL) {
		st = yerr(y, NULL, "empty document");
		goto out;
	}
	if ((st = walk_map(y, root, "the card file", top_keys, T_N, v)) != CPK_OK)
		goto out;
	if (v[T_VERSION] != NULL) {
		if ((st = get_uint(y, v[T_VERSION], "cardsim", 1000, &ver)) != CPK_OK)
			goto out;
		if (ver != 1) {
			st = yerr(y, v[T_VERSION], "format version %lu (this cardsim reads 1)", ver);
			goto out;
		}
	}
	if (v[T_CARD] == NULL) {
		st = yerr(y, root, "missing 'card'");
		goto out;
	}
	if ((st = read_card(y, v[T_CARD], c)) != CPK_OK)
		goto out;
	if (v[T_HOLDER_PIN] != NULL && (st = read_holder_pin(y, v[T_HOLDER_PIN], c)) != CPK_OK)
		goto out;
	st = read_lists(y, v, c);
out:
	return st;
}

/* Move the persistent data of src into dst (src's stored data is taken over). */
static void
take_persistent(struct cardsim *dst, struct cardsim *src)
{
	size_t i;

	for (i = 0; i < dst->napps; i++)
		cs_stored_clear(&dst->apps[i].stored);
	cs_stored_clear(&dst->isd_stored);
	dst->id = src->id;
	dst->nkeysets = src->nkeysets;
	memcpy(dst->keysets, src->keysets, sizeof(dst->keysets));
	dst->nloadfiles = src->nloadfiles;
	memcpy(dst->loadfiles, src->loadfiles, sizeof(dst->loadfiles));
	dst->napps = src->napps;
	memcpy(dst->apps, src->apps, sizeof(dst->apps));
	dst->isd_stored = src->isd_stored;
	/* src no longer owns the stored blocks. */
	for (i = 0; i < src->napps; i++)
		memset(&src->apps[i].stored, 0, sizeof(src->apps[i].stored));
	memset(&src->isd_stored, 0, sizeof(src->isd_stored));
	cardsim_reset(dst);
}

cpk_status
cardsim_state_parse(struct cardsim *card, const char *name, const uint8_t *text, size_t len,
    struct cpk_error *err)
{
	yaml_parser_t parser;
	yaml_document_t doc, extra;
	struct cardsim *tmp = NULL;
	struct yctx y = { &doc, name, err };
	bool parser_ok = false, doc_ok = false;
	cpk_status st = CPK_ERR_NOMEM;

	if ((tmp = cardsim_new()) == NULL) {
		st = cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (!yaml_parser_initialize(&parser)) {
		st = cpk_error_set(err, CPK_ERR_NOMEM, "libyaml: out of memory");
		goto out;
	}
	parser_ok = true;
	yaml_parser_set_input_string(&parser, text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		st = cpk_error_set_at(err, CPK_ERR_PARSE, name,
		    (unsigned)parser.problem_mark.line + 1, (unsigned)parser.problem_mark.column + 1,
		    "%s%s%s", parser.context != NULL ? parser.context : "",
		    parser.context != NULL ? ": " : "",
		    parser.problem != NULL ? parser.problem : "YAML error");
		goto out;
	}
	doc_ok = true;
	if ((st = read_document(&y, tmp)) != CPK_OK)
		goto out;
	if (!yaml_parser_load(&parser, &extra)) {
		st = yerr(&y, NULL, "YAML error after the first document");
		goto out;
	}
	if (yaml_document_get_root_node(&extra) != NULL) {
		yaml_document_delete(&extra);
		st = yerr(&y, NULL, "more than one YAML document");
		goto out;
	}
	yaml_document_delete(&extra);
	take_persistent(card, tmp);
	st = CPK_OK;
out:
	if (doc_ok)
		yaml_document_delete(&doc);
	if (parser_ok)
		yaml_parser_delete(&parser);
	cardsim_free(&tmp);
	return st;
}

cpk_status
cardsim_state_load(struct cardsim *card, const char *path, struct cpk_error *err)
{
	struct cpk_buf text = CPK_BUF_INIT;
	uint8_t chunk[4096];
	FILE *f = NULL;
	size_t n;
	int fd = -1;
	cpk_status st = CPK_ERR_IO;

	if ((st = cpk_input_open(path, "state file", 0, &fd, NULL, err)) != CPK_OK)
		goto out;
	if ((f = fdopen(fd, "rb")) == NULL) {
		st = cpk_error_set(err, CPK_ERR_IO, "%s: %s", path, strerror(errno));
		goto out;
	}
	fd = -1;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (text.len + n > CS_STATE_MAX_BYTES) {
			st = cpk_error_set(err, CPK_ERR_RANGE, "%s: larger than %zu bytes", path,
			    CS_STATE_MAX_BYTES);
			goto out;
		}
		if ((st = cpk_buf_append(&text, chunk, n, err)) != CPK_OK)
			goto out;
	}
	if (ferror(f)) {
		st = cpk_error_set(err, CPK_ERR_IO, "%s: read error", path);
		goto out;
	}
	st = cardsim_state_parse(card, path, text.data != NULL ? text.data : chunk, text.len, err);
out:
	if (fd >= 0)
		close(fd);
	if (f != NULL)
		fclose(f);
	cpk_cleanse(chunk, sizeof(chunk));
	cpk_buf_free(&text);
	return st;
}

/* --- writing --- */

static void
put_hex(FILE *out, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		fprintf(out, "%02X", p[i]);
	fputc('\n', out);
}

static void
put_hex_line(FILE *out, const char *indent, const char *key, const uint8_t *p, size_t n)
{
	fprintf(out, "%s%s: ", indent, key);
	put_hex(out, p, n);
}

static void
write_stored(FILE *out, const char *indent, const char *key, const struct cs_stored *s)
{
	char sub[16];
	size_t i;

	if (s->n == 0)
		return;
	fprintf(out, "%s%s:\n", indent, key);
	(void)snprintf(sub, sizeof(sub), "%s    ", indent);
	for (i = 0; i < s->n; i++) {
		fprintf(out, "%s  - p1: %02X\n", indent, s->blocks[i].p1);
		fprintf(out, "%sblock: %02X\n", sub, s->blocks[i].p2);
		put_hex_line(out, sub, "data", s->blocks[i].data, s->blocks[i].len);
	}
}

cpk_status
cardsim_state_write(const struct cardsim *c, FILE *out, struct cpk_error *err)
{
	const struct cs_keyset *ks;
	const struct cs_app *app;
	size_t i, j;

	fprintf(out, "# cardsim state (see tests/cardsim/README.md); rewritten after every change\n");
	fprintf(out, "cardsim: 1\ncard:\n");
	put_hex_line(out, "  ", "isd", c->id.isd.b, c->id.isd.len);
	put_hex_line(out, "  ", "atr", c->id.atr, c->id.atr_len);
	if (c->id.cplc_len > 0)
		put_hex_line(out, "  ", "cplc", c->id.cplc, c->id.cplc_len);
	if (c->id.iin_len > 0)
		put_hex_line(out, "  ", "iin", c->id.iin, c->id.iin_len);
	if (c->id.cin_len > 0)
		put_hex_line(out, "  ", "cin", c->id.cin, c->id.cin_len);
	put_hex_line(out, "  ", "kdd", c->id.kdd, sizeof(c->id.kdd));
	fprintf(out, "  scp: %d\n  i: %02X\n  memory: %zu\n", (int)c->id.scp, c->id.i,
	    c->id.memory);
	if (c->id.life_cycle != CS_LC_CARD_SECURED)
		fprintf(out, "  life-cycle: %02X\n", c->id.life_cycle);
	if (c->id.dap_key_len > 0)
		put_hex_line(out, "  ", "dap-key", c->id.dap_key, c->id.dap_key_len);
	if (c->id.max_apdu > 0)
		fprintf(out, "  extended-length: %zu\n", c->id.max_apdu);
	if (c->id.token_key_len > 0)
		put_hex_line(out, "  ", "token-key", c->id.token_key, c->id.token_key_len);
	if (c->id.receipt_key_len > 0)
		put_hex_line(out, "  ", "receipt-key", c->id.receipt_key, c->id.receipt_key_len);
	if (c->id.confirmation_counter > 0)
		fprintf(out, "  confirmation-counter: %u\n", (unsigned)c->id.confirmation_counter);
	fprintf(out, "key-sets:\n");
	for (i = 0; i < c->nkeysets; i++) {
		ks = &c->keysets[i];
		fprintf(out, "  - kvn: %02X\n    type: %s\n", ks->keys.kvn,
		    ks->keys.alg == GP_KEY_AES ? "aes" : "3des");
		put_hex_line(out, "    ", "enc", ks->keys.enc, ks->keys.len);
		put_hex_line(out, "    ", "mac", ks->keys.mac, ks->keys.len);
		put_hex_line(out, "    ", "dek", ks->keys.dek, ks->keys.len);
		fprintf(out, "    counter: %lu\n", (unsigned long)ks->counter);
	}
	if (c->nloadfiles > 0)
		fprintf(out, "load-files:\n");
	for (i = 0; i < c->nloadfiles; i++) {
		put_hex_line(out, "  - ", "aid", c->loadfiles[i].aid.b, c->loadfiles[i].aid.len);
		fprintf(out, "    version: %u.%u\n    size: %zu\n", c->loadfiles[i].major,
		    c->loadfiles[i].minor, c->loadfiles[i].size);
		if (c->loadfiles[i].nmodules > 0)
			fprintf(out, "    modules:\n");
		for (j = 0; j < c->loadfiles[i].nmodules; j++) {
			fprintf(out, "      - ");
			put_hex(out, c->loadfiles[i].modules[j].b, c->loadfiles[i].modules[j].len);
		}
	}
	if (c->napps > 0)
		fprintf(out, "applications:\n");
	for (i = 0; i < c->napps; i++) {
		app = &c->apps[i];
		put_hex_line(out, "  - ", "aid", app->aid.b, app->aid.len);
		put_hex_line(out, "    ", "load-file", app->load_file.b, app->load_file.len);
		put_hex_line(out, "    ", "module", app->module.b, app->module.len);
		fprintf(out, "    life-cycle: %02X\n", app->life_cycle);
		put_hex_line(out, "    ", "privileges", app->priv, app->priv_len);
		if (app->params_len > 0)
			put_hex_line(out, "    ", "install-parameters", app->params, app->params_len);
		if (app->dap_key_len > 0)
			put_hex_line(out, "    ", "dap-key", app->dap_key, app->dap_key_len);
		write_stored(out, "    ", "stored-data", &app->stored);
	}
	write_stored(out, "", "isd-stored-data", &c->isd_stored);
	write_holder_pin(c, out);
	if (ferror(out))
		return cpk_error_set(err, CPK_ERR_IO, "write error");
	return CPK_OK;
}

cpk_status
cardsim_state_save(const struct cardsim *c, const char *path, struct cpk_error *err)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	cpk_status st;

	if ((f = open_memstream(&text, &len)) == NULL)
		return cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
	st = cardsim_state_write(c, f, err);
	if (fclose(f) != 0 && st == CPK_OK)
		st = cpk_error_set(err, CPK_ERR_IO, "%s: cannot render the state", path);
	if (st == CPK_OK)
		st = cpk_file_replace(path, (const uint8_t *)text, len, 0600, err);
	if (text != NULL)
		cpk_cleanse(text, len);
	free(text);
	return st;
}

/* --- printing --- */

static void
print_aid(FILE *out, const struct cs_aid *aid)
{
	size_t i;

	for (i = 0; i < aid->len; i++)
		fprintf(out, "%02X", aid->b[i]);
}

static const char *
app_state(uint8_t lc)
{
	if ((lc & CS_LC_APP_LOCKED) != 0)
		return "LOCKED";
	return lc == CS_LC_APP_SELECTABLE ? "SELECTABLE" : "INSTALLED";
}

void
cardsim_print_registry(const struct cardsim *c, FILE *out)
{
	size_t i, j;

	fprintf(out, "ISD ");
	print_aid(out, &c->id.isd);
	fprintf(out, "  SCP0%d i=%02X  memory %zu/%zu bytes used", (int)c->id.scp, c->id.i,
	    cardsim_memory_used(c), c->id.memory);
	if (c->id.life_cycle != CS_LC_CARD_SECURED)
		fprintf(out, "  %s", cardsim_card_state_name(c->id.life_cycle));
	fprintf(out, "\n");
	for (i = 0; i < c->nkeysets; i++)
		fprintf(out, "KEYSET %02X  %s-%zu  counter %0*lX\n", c->keysets[i].keys.kvn,
		    c->keysets[i].keys.alg == GP_KEY_AES ? "AES" : "3DES", c->keysets[i].keys.len * 8,
		    (int)(2 * scp_proto_find((uint8_t)c->id.scp)->counter_len),
		    (unsigned long)c->keysets[i].counter);
	for (i = 0; i < c->nloadfiles; i++) {
		fprintf(out, "LOADFILE ");
		print_aid(out, &c->loadfiles[i].aid);
		fprintf(out, "  v%u.%u  %zu bytes", c->loadfiles[i].major, c->loadfiles[i].minor,
		    c->loadfiles[i].size);
		for (j = 0; j < c->loadfiles[i].nmodules; j++) {
			fprintf(out, j == 0 ? "  modules " : ",");
			print_aid(out, &c->loadfiles[i].modules[j]);
		}
		fputc('\n', out);
	}
	for (i = 0; i < c->napps; i++) {
		fprintf(out, "APP ");
		print_aid(out, &c->apps[i].aid);
		fprintf(out, "  %s  from ", app_state(c->apps[i].life_cycle));
		print_aid(out, &c->apps[i].load_file);
		fprintf(out, " module ");
		print_aid(out, &c->apps[i].module);
		fprintf(out, "  privileges ");
		for (j = 0; j < c->apps[i].priv_len; j++)
			fprintf(out, "%02X", c->apps[i].priv[j]);
		fprintf(out, "  %zu stored block(s)\n", c->apps[i].stored.n);
	}
	if (c->isd_stored.n > 0)
		fprintf(out, "ISD-STORED %zu block(s)\n", c->isd_stored.n);
}
