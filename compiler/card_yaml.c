/* SPDX-License-Identifier: BSD-2-Clause */
/* cpk: card records from card.yaml (see card.h). */
#include "card_int.h"

#include "cpk_bytes.h"

static cpk_status
yaml_data(const char *file, const struct ydoc_node *map, struct card_record *c,
    struct cpk_error *err)
{
	const struct ydoc_node *k, *v;
	cpk_status ret;
	size_t i;

	for (i = 0; i < map->n; i++) {
		k = map->keys[i];
		v = map->items[i];
		if (v->kind != YDOC_SCALAR)
			return cpk_error_set_at(err, CPK_ERR_PARSE, file, v->line, v->col,
			    "per-card data '%s' must be a single value", k->str);
		if ((ret = card_check_data_name(k->str, err)) != CPK_OK)
			return ydoc_locate(ret, err, file, k->line, k->col);
		if ((ret = card_add_data(c, k->str, v->str, err)) != CPK_OK)
			return ydoc_locate(ret, err, file, v->line, v->col);
	}
	return CPK_OK;
}

static cpk_status
yaml_decode(const char *file, const struct ydoc_node *root, struct card_record *c,
    struct cpk_error *err)
{
	const struct ydoc_node *v[C_COUNT];
	bool seen[C_COUNT];
	cpk_status ret;
	int i, bad;

	if (root == NULL)
		return cpk_error_set_at(err, CPK_ERR_PARSE, file, 1, 1, "the card record is empty");
	if ((ret = ydoc_check_map(file, root, root, &card_schema, v, err)) != CPK_OK)
		return ret;
	for (i = 0; i < C_COUNT; i++) {
		seen[i] = v[i] != NULL;
		if (v[i] == NULL)
			continue;
		if (i == C_DATA)
			ret = yaml_data(file, v[i], c, err);
		else if ((ret = card_set_field(c, i, v[i]->str, err)) != CPK_OK)
			ret = ydoc_locate(ret, err, file, v[i]->line, v[i]->col);
		if (ret != CPK_OK)
			return ret;
	}
	if ((ret = card_finish(c, seen, &bad, err)) != CPK_OK) {
		if (bad >= 0 && v[bad] != NULL)
			return ydoc_locate(ret, err, file, v[bad]->line, v[bad]->col);
		return ydoc_locate(ret, err, file, root->line, root->col);
	}
	return CPK_OK;
}

cpk_status
card_parse_yaml(const char *name, const uint8_t *text, size_t len, struct card_record *out,
    struct cpk_error *err)
{
	struct ydoc_node *root = NULL;
	cpk_status ret;

	card_record_init(out);
	cpk_error_clear(err);
	if ((ret = ydoc_parse(name, text, len, &root, err)) == CPK_OK)
		ret = yaml_decode(name, root, out, err);
	ydoc_free(&root);
	if (ret != CPK_OK)
		card_record_clear(out);
	return ret;
}

cpk_status
card_load_yaml(const char *path, struct card_record *out, struct cpk_error *err)
{
	struct cpk_buf text = CPK_BUF_INIT;
	cpk_status ret;

	card_record_init(out);
	cpk_error_clear(err);
	if ((ret = ydoc_read_file(path, CARD_FILE_MAX, YDOC_FILE_PLAIN, &text, err)) == CPK_OK)
		ret = card_parse_yaml(path, text.data, text.len, out, err);
	cpk_buf_free(&text);
	return ret;
}
