/* SPDX-License-Identifier: BSD-2-Clause */
/* cpk: key set files (see keyset.h). */
#include "keyset.h"

#include <stdlib.h>
#include <string.h>

#include "cpk_bytes.h"
#include "p11.h"
#include "p11_uri.h"
#include "secmem.h"
#include "ydoc.h"

static const char *const alg_names[] = { "aes", "3des", NULL };
static const char *const div_names[] = { "none", "emv", "visa2", "kdf3", NULL };

enum { F_KVN, F_ALG, F_ENC, F_MAC, F_DEK, F_MASTER, F_DIV, F_COUNT };

static const struct ydoc_field keyset_fields[F_COUNT] = {
	[F_KVN] = { "kvn", YDOC_T_BYTE, true, 0x01, 0xFF, NULL, true },
	[F_ALG] = { "algorithm", YDOC_T_ENUM, true, 0, 0, alg_names, true },
	[F_ENC] = { "enc", YDOC_T_HEX, false, 1, GP_MAX_KEY, NULL, true },
	[F_MAC] = { "mac", YDOC_T_HEX, false, 1, GP_MAX_KEY, NULL, true },
	[F_DEK] = { "dek", YDOC_T_HEX, false, 1, GP_MAX_KEY, NULL, true },
	[F_MASTER] = { "master", YDOC_T_ANY, false, 0, 0, NULL, true },
	[F_DIV] = { "diversification", YDOC_T_ENUM, false, 0, 0, div_names, true },
};

static const struct ydoc_hint keyset_hints[] = {
	{ "version", "kvn" },
	{ "alg", "algorithm" },
	{ "div", "diversification" },
	{ "kek", "dek" },
	{ NULL, NULL },
};

/*
 * Nothing read from a key file is quoted in a message, not even the fields
 * that are not keys (a key pasted on the wrong line is still a key): every
 * field is secret, and the schemas and the parser quote only field names.
 */
static const struct ydoc_schema keyset_schema = {
	"the key set", keyset_fields, F_COUNT, keyset_hints, true,
};

static const char *const keyset_names[] = {
	"kvn", "algorithm", "enc", "mac", "dek", "master", "diversification", NULL,
};

static const struct ydoc_field master_fields[3] = {
	{ "enc", YDOC_T_HEX, true, 1, GP_MAX_KEY, NULL, true },
	{ "mac", YDOC_T_HEX, true, 1, GP_MAX_KEY, NULL, true },
	{ "dek", YDOC_T_HEX, true, 1, GP_MAX_KEY, NULL, true },
};

static const struct ydoc_schema master_schema = {
	"'master'", master_fields, 3, NULL, true,
};

/* A key named by PKCS#11 URI: found in the token, its length from there. */
static cpk_status
get_token_key(const char *file, const struct ydoc_node *n, const struct ydoc_field *f,
    enum gp_key_alg alg, struct keyref *ref, size_t *len, struct cpk_error *err)
{
	struct p11_uri u;
	cpk_status ret;

	if ((ret = p11_uri_parse(n->str, n->len, &u, err)) != CPK_OK ||
	    (ret = p11_secret_key(&u, alg, ref, err)) != CPK_OK) {
		cpk_error_prefix(err, "%s:%u:%u: '%s'", file, n->line, n->col, f->key);
		return ret;
	}
	*len = ref->len;
	return CPK_OK;
}

/*
 * Decode one key (hex into dst, or a PKCS#11 URI), check its length against
 * the algorithm and make its reference.
 */
static cpk_status
get_key(const char *file, const struct ydoc_node *n, const struct ydoc_field *f,
    enum gp_key_alg alg, uint8_t *dst, size_t *len, struct keyref *ref, struct cpk_error *err)
{
	cpk_status ret;

	if (n->kind == YDOC_SCALAR && p11_uri_is(n->str, n->len))
		return get_token_key(file, n, f, alg, ref, len, err);
	if ((ret = ydoc_get_hex(file, n, f, dst, GP_MAX_KEY, len, err)) != CPK_OK)
		return ret;
	if (!gp_key_len_valid(alg, *len))
		return cpk_error_set_at(err, CPK_ERR_RANGE, file, n->line, n->col,
		    alg == GP_KEY_AES ? "'%s' must be 16, 24 or 32 bytes for AES, got %zu bytes" :
		    "'%s' must be 16 or 24 bytes for 3DES, got %zu bytes", f->key, *len);
	keyref_mem(ref, alg, dst, *len);
	return CPK_OK;
}

/* Three keys from three nodes; all must have the same length. */
static cpk_status
get_three(const char *file, const struct ydoc_node *const nodes[3],
    const struct ydoc_field *fields, struct keyset *ks, struct cpk_error *err)
{
	uint8_t *dst[3];
	struct keyref *ref[3];
	size_t len[3];
	cpk_status ret;
	size_t i;

	dst[0] = ks->keys.enc;
	dst[1] = ks->keys.mac;
	dst[2] = ks->keys.dek;
	ref[0] = &ks->refs.enc;
	ref[1] = &ks->refs.mac;
	ref[2] = &ks->refs.dek;
	for (i = 0; i < 3; i++) {
		if ((ret = get_key(file, nodes[i], &fields[i], ks->keys.alg, dst[i], &len[i],
		    ref[i], err)) != CPK_OK)
			return ret;
		if (i > 0 && len[i] != len[0])
			return cpk_error_set_at(err, CPK_ERR_RANGE, file, nodes[i]->line,
			    nodes[i]->col, "'%s' is %zu bytes but 'enc' is %zu: the keys of a set "
			    "have one length", fields[i].key, len[i], len[0]);
	}
	ks->keys.len = len[0];
	return CPK_OK;
}

static cpk_status
get_master(const char *file, const struct ydoc_node *n, struct keyset *ks, struct cpk_error *err)
{
	const struct ydoc_node *v[3];
	size_t len;
	cpk_status ret;

	ks->master = true;
	if (n->kind == YDOC_SCALAR) {
		if (n->len == 0)
			return cpk_error_set_at(err, CPK_ERR_PARSE, file, n->line, n->col,
			    "'master' has no value");
		if ((ret = get_key(file, n, &keyset_fields[F_MASTER], ks->keys.alg, ks->keys.enc,
		    &len, &ks->refs.enc, err)) != CPK_OK)
			return ret;
		memcpy(ks->keys.mac, ks->keys.enc, len);
		memcpy(ks->keys.dek, ks->keys.enc, len);
		keyref_borrow(&ks->refs.mac, &ks->refs.enc);
		keyref_borrow(&ks->refs.dek, &ks->refs.enc);
		ks->keys.len = len;
		return CPK_OK;
	}
	if (n->kind != YDOC_MAP)
		return cpk_error_set_at(err, CPK_ERR_PARSE, file, n->line, n->col,
		    "'master' must be one key or a mapping of 'enc', 'mac' and 'dek', not a list");
	if ((ret = ydoc_check_map(file, n, n, &master_schema, v, err)) != CPK_OK)
		return ret;
	return get_three(file, v, master_fields, ks, err);
}

static cpk_status
check_div(const char *file, const struct ydoc_node *n, const struct keyset *ks,
    struct cpk_error *err)
{
	if (!ks->master && ks->div != GP_DIV_NONE)
		return cpk_error_set_at(err, CPK_ERR_PARSE, file, n->line, n->col,
		    "diversification '%s' needs master keys ('master'), not static keys",
		    gp_diversification_name(ks->div));
	if (ks->master && ks->div == GP_DIV_NONE)
		return cpk_error_set_at(err, CPK_ERR_PARSE, file, n->line, n->col,
		    "master keys need a diversification (emv, visa2 or kdf3), not 'none' "
		    "(keys used as they are go in 'enc', 'mac' and 'dek')");
	if (ks->div == GP_DIV_KDF3 && ks->keys.alg != GP_KEY_AES)
		return cpk_error_set_at(err, CPK_ERR_PARSE, file, n->line, n->col,
		    "diversification 'kdf3' applies to AES keys, not 3DES");
	if ((ks->div == GP_DIV_EMV || ks->div == GP_DIV_VISA2) &&
	    (ks->keys.alg != GP_KEY_3DES || ks->keys.len != 16))
		return cpk_error_set_at(err, CPK_ERR_PARSE, file, n->line, n->col,
		    "diversification '%s' applies to 16-byte 3DES keys", gp_diversification_name(ks->div));
	return CPK_OK;
}

static cpk_status
decode(const char *file, const struct ydoc_node *root, struct keyset *ks, struct cpk_error *err)
{
	const struct ydoc_node *v[F_COUNT];
	const struct ydoc_node *stat[3];
	cpk_status ret;
	int idx;
	size_t i;

	if (root == NULL)
		return cpk_error_set_at(err, CPK_ERR_PARSE, file, 1, 1, "the key file is empty");
	if ((ret = ydoc_check_map(file, root, root, &keyset_schema, v, err)) != CPK_OK)
		return ret;
	if ((ret = ydoc_get_byte(file, v[F_KVN], &keyset_fields[F_KVN], &ks->keys.kvn, err)) != CPK_OK)
		return ret;
	if ((ret = ydoc_get_enum(file, v[F_ALG], &keyset_fields[F_ALG], &idx, err)) != CPK_OK)
		return ret;
	ks->keys.alg = idx == 0 ? GP_KEY_AES : GP_KEY_3DES;
	stat[0] = v[F_ENC];
	stat[1] = v[F_MAC];
	stat[2] = v[F_DEK];
	if (v[F_MASTER] != NULL) {
		for (i = 0; i < 3; i++)
			if (stat[i] != NULL)
				return cpk_error_set_at(err, CPK_ERR_PARSE, file,
				    ydoc_key_of(root, stat[i])->line, ydoc_key_of(root, stat[i])->col,
				    "'%s' cannot be combined with 'master': give either the static "
				    "keys or master keys", keyset_fields[F_ENC + i].key);
		if ((ret = get_master(file, v[F_MASTER], ks, err)) != CPK_OK)
			return ret;
	} else {
		for (i = 0; i < 3; i++)
			if (stat[i] == NULL)
				return cpk_error_set_at(err, CPK_ERR_PARSE, file, root->line, root->col,
				    "missing required key '%s' in the key set (or give 'master')",
				    keyset_fields[F_ENC + i].key);
		if ((ret = get_three(file, stat, &keyset_fields[F_ENC], ks, err)) != CPK_OK)
			return ret;
	}
	if (v[F_DIV] != NULL) {
		if ((ret = ydoc_get_enum(file, v[F_DIV], &keyset_fields[F_DIV], &idx, err)) != CPK_OK)
			return ret;
		ks->div = (enum gp_diversification)idx;
		ks->div_set = true;
		if ((ret = check_div(file, v[F_DIV], ks, err)) != CPK_OK)
			return ret;
	}
	return CPK_OK;
}

cpk_status
keyset_parse(const char *name, const uint8_t *text, size_t len, struct keyset **out,
    struct cpk_error *err)
{
	struct ydoc_node *root = NULL;
	struct keyset *ks = NULL;
	cpk_status ret;

	*out = NULL;
	cpk_error_clear(err);
	/* The keys live on pages of their own (no core dump, locked if allowed). */
	if ((ks = secmem_alloc(sizeof(*ks))) == NULL || (ks->path = strdup(name)) == NULL) {
		ret = cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	ks->div = GP_DIV_NONE;
	if ((ret = ydoc_parse_secret(name, text, len, keyset_names, &root, err)) != CPK_OK)
		goto out;
	if ((ret = decode(name, root, ks, err)) != CPK_OK)
		goto out;
	ks->refs.alg = ks->keys.alg;
	ks->refs.len = ks->keys.len;
	ks->refs.kvn = ks->keys.kvn;
	ks->in_token = !keyref_in_memory(&ks->refs.enc) || !keyref_in_memory(&ks->refs.mac) ||
	    !keyref_in_memory(&ks->refs.dek);
	*out = ks;
	ks = NULL;
	ret = CPK_OK;
out:
	ydoc_free(&root);
	keyset_free(&ks);
	return ret;
}

cpk_status
keyset_load(const char *path, struct keyset **out, struct cpk_error *err)
{
	struct cpk_buf text = CPK_BUF_INIT;
	cpk_status ret;

	*out = NULL;
	cpk_error_clear(err);
	if ((ret = ydoc_read_file(path, KEYSET_FILE_MAX, YDOC_FILE_KEYS, &text, err)) != CPK_OK)
		goto out;
	ret = keyset_parse(path, text.data, text.len, out, err);
out:
	cpk_buf_free(&text);
	return ret;
}

void
keyset_free(struct keyset **ks)
{
	if (ks == NULL || *ks == NULL)
		return;
	scp_keyset_clear(&(*ks)->keys);
	scp_keys_clear(&(*ks)->refs);
	free((*ks)->path);
	secmem_free(*ks, sizeof(**ks));
	*ks = NULL;
}

cpk_status
keyset_effective_div(const struct keyset *ks, bool profile_set,
    enum gp_diversification profile_div, enum gp_diversification *out, struct cpk_error *err)
{
	enum gp_diversification d;

	if (ks->div_set && profile_set && ks->div != profile_div)
		return cpk_error_set(err, CPK_ERR_PARSE,
		    "the profile asks for diversification '%s' but key file '%s' says '%s'",
		    gp_diversification_name(profile_div), ks->path, gp_diversification_name(ks->div));
	d = ks->div_set ? ks->div : (profile_set ? profile_div : GP_DIV_NONE);
	if (ks->master && d == GP_DIV_NONE && profile_set)
		return cpk_error_set(err, CPK_ERR_PARSE,
		    "the profile asks for diversification 'none' but key file '%s' holds master "
		    "keys, which need emv, visa2 or kdf3", ks->path);
	if (ks->master && d == GP_DIV_NONE)
		return cpk_error_set(err, CPK_ERR_PARSE,
		    "key file '%s' holds master keys but no diversification is named "
		    "(emv, visa2 or kdf3, in the key file or the profile)", ks->path);
	if (!ks->master && d != GP_DIV_NONE)
		return cpk_error_set(err, CPK_ERR_PARSE,
		    "diversification '%s' needs master keys, but key file '%s' holds static keys",
		    gp_diversification_name(d), ks->path);
	if (d == GP_DIV_KDF3 && ks->keys.alg != GP_KEY_AES)
		return cpk_error_set(err, CPK_ERR_PARSE,
		    "diversification 'kdf3' applies to AES keys, but key file '%s' holds 3DES keys",
		    ks->path);
	if ((d == GP_DIV_EMV || d == GP_DIV_VISA2) &&
	    (ks->keys.alg != GP_KEY_3DES || ks->keys.len != 16))
		return cpk_error_set(err, CPK_ERR_PARSE,
		    "diversification '%s' applies to 16-byte 3DES keys, but key file '%s' holds %s",
		    gp_diversification_name(d), ks->path,
		    ks->keys.alg == GP_KEY_AES ? "AES keys" : "24-byte 3DES keys");
	*out = d;
	return CPK_OK;
}

cpk_status
keyset_card_keys(const struct keyset *ks, enum gp_diversification div,
    const uint8_t kdd[SCP_KDD_LEN], struct scp_keyset *out, struct cpk_error *err)
{
	if (ks->in_token)
		return cpk_error_set(err, CPK_ERR_UNSUPPORTED, "the keys of '%s' are in a PKCS#11 "
		    "token, where their values stay: give the keys a card receives (PUT KEY) in "
		    "a key file, and verify bundles and receipts with key files", ks->path);
	if (div == GP_DIV_NONE) {
		if (ks->master)
			return cpk_error_set(err, CPK_ERR_ARG,
			    "master keys of '%s' need a diversification", ks->path);
		*out = ks->keys;
		return CPK_OK;
	}
	if (!ks->master)
		return cpk_error_set(err, CPK_ERR_ARG, "static keys of '%s' cannot be diversified",
		    ks->path);
	return scp_keyset_diversify(&ks->keys, div, kdd, out, err);
}

cpk_status
keyset_card_refs(const struct keyset *ks, enum gp_diversification div,
    const uint8_t kdd[SCP_KDD_LEN], struct scp_keys *out, struct cpk_error *err)
{
	cpk_status ret;

	memset(out, 0, sizeof(*out));
	if (ks->master == (div == GP_DIV_NONE))
		return cpk_error_set(err, CPK_ERR_ARG, ks->master ?
		    "master keys of '%s' need a diversification" :
		    "static keys of '%s' cannot be diversified", ks->path);
	out->alg = ks->refs.alg;
	out->len = ks->refs.len;
	out->kvn = ks->refs.kvn;
	if ((ret = keyref_diversify(&ks->refs.enc, div, kdd, GP_KEY_ENC, &out->enc,
	    err)) != CPK_OK ||
	    (ret = keyref_diversify(&ks->refs.mac, div, kdd, GP_KEY_MAC, &out->mac,
	    err)) != CPK_OK ||
	    (ret = keyref_diversify(&ks->refs.dek, div, kdd, GP_KEY_DEK, &out->dek,
	    err)) != CPK_OK)
		scp_keys_clear(out);
	return ret;
}
