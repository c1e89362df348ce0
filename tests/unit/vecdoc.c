/* SPDX-License-Identifier: BSD-2-Clause */
/* cpk tests: YAML vector files as a tree. */
#include "vecdoc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "cpk_bytes.h"

static void *
xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n == 0 ? 1 : n, sz);

	if (p == NULL) {
		fprintf(stderr, "out of memory\n");
		abort();
	}
	return p;
}

static char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL) {
		fprintf(stderr, "out of memory\n");
		abort();
	}
	return p;
}

static void
push(struct vnode *parent, char *key, struct vnode *child)
{
	size_t n = parent->n + 1;
	struct vnode **items = xcalloc(n, sizeof(*items));
	char **keys = xcalloc(n, sizeof(*keys));

	if (parent->n > 0) {
		memcpy(items, parent->items, parent->n * sizeof(*items));
		memcpy(keys, parent->keys, parent->n * sizeof(*keys));
	}
	items[parent->n] = child;
	keys[parent->n] = key;
	free(parent->items);
	free(parent->keys);
	parent->items = items;
	parent->keys = keys;
	parent->n = n;
}

static struct vnode *convert(yaml_document_t *doc, yaml_node_t *yn);

static struct vnode *
convert(yaml_document_t *doc, yaml_node_t *yn)
{
	struct vnode *n = xcalloc(1, sizeof(*n));
	yaml_node_pair_t *pair;
	yaml_node_item_t *item;

	n->line = (unsigned)yn->start_mark.line + 1;
	switch (yn->type) {
	case YAML_SCALAR_NODE:
		n->kind = VN_SCALAR;
		n->str = xstrdup((const char *)yn->data.scalar.value);
		n->quoted = yn->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE ||
		    yn->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE;
		break;
	case YAML_MAPPING_NODE:
		n->kind = VN_MAP;
		for (pair = yn->data.mapping.pairs.start; pair < yn->data.mapping.pairs.top; pair++) {
			yaml_node_t *k = yaml_document_get_node(doc, pair->key);
			yaml_node_t *v = yaml_document_get_node(doc, pair->value);

			if (k == NULL || v == NULL || k->type != YAML_SCALAR_NODE)
				abort();
			push(n, xstrdup((const char *)k->data.scalar.value), convert(doc, v));
		}
		break;
	case YAML_SEQUENCE_NODE:
		n->kind = VN_SEQ;
		for (item = yn->data.sequence.items.start; item < yn->data.sequence.items.top; item++) {
			yaml_node_t *v = yaml_document_get_node(doc, *item);

			if (v == NULL)
				abort();
			push(n, NULL, convert(doc, v));
		}
		break;
	default:
		abort();
	}
	return n;
}

struct vnode *
vdoc_load(const char *path)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	struct vnode *out = NULL;
	FILE *f;

	if ((f = fopen(path, "rb")) == NULL) {
		perror(path);
		return NULL;
	}
	if (!yaml_parser_initialize(&parser)) {
		fclose(f);
		return NULL;
	}
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc)) {
		fprintf(stderr, "%s:%zu: %s\n", path, parser.problem_mark.line + 1,
		    parser.problem != NULL ? parser.problem : "YAML error");
		yaml_parser_delete(&parser);
		fclose(f);
		return NULL;
	}
	if ((root = yaml_document_get_root_node(&doc)) != NULL)
		out = convert(&doc, root);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	fclose(f);
	return out;
}

void
vdoc_free(struct vnode *n)
{
	size_t i;

	if (n == NULL)
		return;
	for (i = 0; i < n->n; i++) {
		vdoc_free(n->items[i]);
		free(n->keys[i]);
	}
	free(n->items);
	free(n->keys);
	free(n->str);
	free(n);
}

const struct vnode *
vdoc_get(const struct vnode *map, const char *key)
{
	size_t i;

	if (map == NULL || map->kind != VN_MAP)
		return NULL;
	for (i = 0; i < map->n; i++)
		if (strcmp(map->keys[i], key) == 0)
			return map->items[i];
	return NULL;
}

const char *
vdoc_str(const struct vnode *map, const char *key)
{
	const struct vnode *v = vdoc_get(map, key);

	if (v == NULL || v->kind != VN_SCALAR)
		return NULL;
	return v->str;
}

size_t
vdoc_hex(const struct vnode *map, const char *key, uint8_t *out, size_t outcap)
{
	const char *s = vdoc_str(map, key);
	size_t n = 0;

	if (s == NULL) {
		fprintf(stderr, "vector field '%s' missing\n", key);
		return (size_t)-1;
	}
	if (cpk_hex_decode(s, strlen(s), out, outcap, &n, NULL) != CPK_OK) {
		fprintf(stderr, "vector field '%s' is not hex: %s\n", key, s);
		return (size_t)-1;
	}
	return n;
}

int
vdoc_byte(const struct vnode *map, const char *key)
{
	uint8_t b;

	if (vdoc_hex(map, key, &b, 1) != 1)
		return -1;
	return b;
}

static bool
is_hex_field(const struct vnode *n)
{
	size_t len, i;

	if (n->kind != VN_SCALAR || !n->quoted)
		return false;
	len = strlen(n->str);
	if (len == 0 || len % 2 != 0)
		return false;
	for (i = 0; i < len; i++)
		if (strchr("0123456789ABCDEFabcdef", n->str[i]) == NULL)
			return false;
	return true;
}

void
vdoc_walk_hex(struct vnode *n, const char *path, vdoc_hex_visit fn, void *arg)
{
	char sub[512];
	size_t i;

	if (is_hex_field(n)) {
		fn(n, path, arg);
		return;
	}
	for (i = 0; i < n->n; i++) {
		if (n->kind == VN_MAP)
			snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", n->keys[i]);
		else
			snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		vdoc_walk_hex(n->items[i], sub, fn, arg);
	}
}
