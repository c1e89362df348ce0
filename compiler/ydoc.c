/* SPDX-License-Identifier: BSD-2-Clause */
/* cpk: strict YAML documents and table-driven schemas (see ydoc.h). */
#include "ydoc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "cpk_file.h"

/* --- files --- */

/* The ownership and mode rules of a profile or a key set (see ydoc.h). */
static cpk_status
check_use(const char *path, const struct stat *sb, enum ydoc_file_use use,
    struct cpk_error *err)
{
	const bool keys = use == YDOC_FILE_KEYS;
	const enum cpk_owner_use owner = keys ? CPK_OWNER_CARD_KEYS : CPK_OWNER_PROFILE;
	cpk_status ret;

	if (use == YDOC_FILE_PLAIN)
		return CPK_OK;
	if (keys && (sb->st_mode & (S_IRWXG | S_IRWXO)) != 0)
		return cpk_error_set(err, CPK_ERR_PERMISSION,
		    "key file '%s' has mode %04o: a key file must be accessible by its owner "
		    "only (chmod 600 '%s')", path, (unsigned)(sb->st_mode & 07777), path);
	if ((ret = cpk_check_owner(keys ? "key file" : "profile", path, sb, owner,
	    err)) != CPK_OK)
		return ret;
	return cpk_check_parent_owner(keys ? "key folder" : "profile folder", path, owner, err);
}

cpk_status
ydoc_read_file(const char *path, size_t max, enum ydoc_file_use use, struct cpk_buf *out,
    struct cpk_error *err)
{
	char name[PATH_MAX + 3];
	struct stat st;
	cpk_status ret = CPK_ERR_IO;
	int fd = -1;

	cpk_buf_reset(out);
	if ((ret = cpk_input_open(path, use == YDOC_FILE_KEYS ? "key file" : NULL,
	    use == YDOC_FILE_KEYS ? O_NOFOLLOW : 0, &fd, &st, err)) != CPK_OK) {
		if (use == YDOC_FILE_KEYS && errno == ELOOP)
			ret = cpk_error_set(err, CPK_ERR_PERMISSION,
			    "key file '%s' is a symbolic link: refused", path);
		goto out;
	}
	if ((ret = check_use(path, &st, use, err)) != CPK_OK)
		goto out;
	if ((unsigned long long)st.st_size > max) {
		ret = cpk_error_set(err, CPK_ERR_RANGE,
		    "'%s' is too large (%lld bytes, at most %zu)", path, (long long)st.st_size, max);
		goto out;
	}
	/* Read to the end, not to st_size: a file that grew is noticed. */
	snprintf(name, sizeof(name), "'%s'", path);
	ret = cpk_read_fd_all(fd, name, max, out, err);
out:
	if (fd >= 0)
		close(fd);
	if (ret != CPK_OK) {
		cpk_buf_reset(out);
		snprintf(err->file, sizeof(err->file), "%s", path);
		err->line = err->col = 0;
	}
	return ret;
}

/* --- the tree --- */

static void
node_free(struct ydoc_node *n)
{
	size_t i;

	if (n == NULL)
		return;
	for (i = 0; i < n->n; i++) {
		if (n->keys != NULL)
			node_free(n->keys[i]);
		node_free(n->items[i]);
	}
	free(n->keys);
	free(n->items);
	if (n->str != NULL) {
		cpk_cleanse(n->str, n->len);
		free(n->str);
	}
	free(n);
}

void
ydoc_free(struct ydoc_node **root)
{
	if (root == NULL)
		return;
	node_free(*root);
	*root = NULL;
}

struct builder {
	const char *file;
	struct ydoc_node *stack[YDOC_MAX_DEPTH + 1];
	size_t depth;
	struct ydoc_node *pending_key[YDOC_MAX_DEPTH + 1];
	struct ydoc_node *root;
	size_t nodes;
	bool done;			/* the first document ended */
	bool secret;			/* quote only the keys in names */
	const char *const *names;
	const struct ydoc_node *last_key;	/* the key read last (owned by the tree) */
};

/* May a message quote this key? In a secret document, only its field names. */
static bool
quotable(const struct builder *b, const char *key)
{
	size_t i;

	if (!b->secret)
		return true;
	for (i = 0; b->names != NULL && b->names[i] != NULL; i++)
		if (strcmp(b->names[i], key) == 0)
			return true;
	return false;
}

static cpk_status
node_new(struct builder *b, enum ydoc_kind kind, const yaml_mark_t *m, struct ydoc_node **out,
    struct cpk_error *err)
{
	struct ydoc_node *n;

	if (++b->nodes > YDOC_MAX_NODES)
		return cpk_error_set_at(err, CPK_ERR_RANGE, b->file, (unsigned)m->line + 1,
		    (unsigned)m->column + 1, "too many values in one document (at most %d)",
		    YDOC_MAX_NODES);
	if ((n = calloc(1, sizeof(*n))) == NULL)
		return cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
	n->kind = kind;
	n->line = (unsigned)m->line + 1;
	n->col = (unsigned)m->column + 1;
	*out = n;
	return CPK_OK;
}

static cpk_status
node_push(struct builder *b, struct ydoc_node *parent, struct ydoc_node *key,
    struct ydoc_node *val, struct cpk_error *err)
{
	struct ydoc_node **nk = NULL, **ni;
	size_t ncap;

	if (parent->n >= YDOC_MAX_ENTRIES)
		return cpk_error_set_at(err, CPK_ERR_RANGE, b->file, val->line, val->col,
		    "too many entries in one %s (at most %d)",
		    parent->kind == YDOC_MAP ? "mapping" : "list", YDOC_MAX_ENTRIES);
	if (parent->n == parent->cap) {
		ncap = parent->cap == 0 ? 8 : parent->cap * 2;
		if ((ni = realloc(parent->items, ncap * sizeof(*ni))) == NULL)
			return cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
		parent->items = ni;
		if (parent->kind == YDOC_MAP) {
			if ((nk = realloc(parent->keys, ncap * sizeof(*nk))) == NULL)
				return cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
			parent->keys = nk;
		}
		parent->cap = ncap;
	}
	if (parent->kind == YDOC_MAP)
		parent->keys[parent->n] = key;
	parent->items[parent->n] = val;
	parent->n++;
	return CPK_OK;
}

static cpk_status
duplicate_key(const struct builder *b, const struct ydoc_node *n, unsigned first,
    struct cpk_error *err)
{
	char q[64];

	if (!quotable(b, n->str))
		return cpk_error_set_at(err, CPK_ERR_PARSE, b->file, n->line, n->col,
		    "duplicate key (first given at line %u)", first);
	ydoc_quote(n->str, q, sizeof(q));
	return cpk_error_set_at(err, CPK_ERR_PARSE, b->file, n->line, n->col,
	    "duplicate key '%s' (first given at line %u)", q, first);
}

/* Attach a finished (or just opened) node to its parent; takes ownership. */
static cpk_status
attach(struct builder *b, struct ydoc_node *n, struct cpk_error *err)
{
	struct ydoc_node *parent, *key;
	cpk_status ret;
	size_t i;

	if (b->depth == 0) {
		b->root = n;
		return CPK_OK;
	}
	parent = b->stack[b->depth - 1];
	if (parent->kind == YDOC_SEQ) {
		if ((ret = node_push(b, parent, NULL, n, err)) != CPK_OK)
			node_free(n);
		return ret;
	}
	key = b->pending_key[b->depth - 1];
	if (key == NULL) {
		if (n->kind != YDOC_SCALAR) {
			ret = cpk_error_set_at(err, CPK_ERR_PARSE, b->file, n->line, n->col,
			    "a mapping key must be a plain value, not a %s",
			    n->kind == YDOC_MAP ? "mapping" : "list");
			node_free(n);
			return ret;
		}
		for (i = 0; i < parent->n; i++) {
			if (strcmp(parent->keys[i]->str, n->str) == 0) {
				ret = duplicate_key(b, n, parent->keys[i]->line, err);
				node_free(n);
				return ret;
			}
		}
		b->pending_key[b->depth - 1] = n;
		b->last_key = n;
		return CPK_OK;
	}
	b->pending_key[b->depth - 1] = NULL;
	if ((ret = node_push(b, parent, key, n, err)) != CPK_OK) {
		node_free(key);
		node_free(n);
	}
	return ret;
}

/* Line and column (from 1) of a byte offset into the text. */
static void
offset_mark(const uint8_t *text, size_t len, size_t off, unsigned *line, unsigned *col)
{
	size_t i;

	*line = 1;
	*col = 1;
	for (i = 0; i < off && i < len; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else
			(*col)++;
	}
}

/*
 * The key a problem on `line` belongs to, if a message may name it: the
 * innermost key whose value is being read, else the key read last if it
 * is on that line.
 */
static const char *
open_key(const struct builder *b, unsigned line)
{
	const struct ydoc_node *k = NULL;
	size_t d;

	for (d = b->depth; d > 0 && k == NULL; d--)
		k = b->pending_key[d - 1];
	if (k == NULL && b->last_key != NULL && b->last_key->line == line)
		k = b->last_key;
	return k != NULL && quotable(b, k->str) ? k->str : NULL;
}

/* " in the value of 'KEY'" for a message, or "". */
static void
in_value_of(const struct builder *b, unsigned line, char *out, size_t cap)
{
	const char *key = open_key(b, line);

	out[0] = '\0';
	if (key != NULL)
		snprintf(out, cap, " in the value of '%.40s'", key);
}

static cpk_status
on_scalar(struct builder *b, yaml_event_t *ev, struct cpk_error *err)
{
	struct ydoc_node *n = NULL;
	const yaml_mark_t *m = &ev->start_mark;
	size_t len = ev->data.scalar.length;
	cpk_status ret;

	if (len > YDOC_MAX_SCALAR)
		return cpk_error_set_at(err, CPK_ERR_RANGE, b->file, (unsigned)m->line + 1,
		    (unsigned)m->column + 1, "value too long (%zu bytes, at most %d)", len,
		    YDOC_MAX_SCALAR);
	if (memchr(ev->data.scalar.value, '\0', len) != NULL)
		return cpk_error_set_at(err, CPK_ERR_PARSE, b->file, (unsigned)m->line + 1,
		    (unsigned)m->column + 1, "NUL character in a value");
	if ((ret = node_new(b, YDOC_SCALAR, m, &n, err)) != CPK_OK)
		return ret;
	if ((n->str = malloc(len + 1)) == NULL) {
		node_free(n);
		return cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
	}
	memcpy(n->str, ev->data.scalar.value, len);
	n->str[len] = '\0';
	n->len = len;
	n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	return attach(b, n, err);
}

static cpk_status
on_start(struct builder *b, enum ydoc_kind kind, const yaml_mark_t *m, struct cpk_error *err)
{
	struct ydoc_node *n = NULL;
	cpk_status ret;

	if (b->depth >= YDOC_MAX_DEPTH)
		return cpk_error_set_at(err, CPK_ERR_RANGE, b->file, (unsigned)m->line + 1,
		    (unsigned)m->column + 1, "values nested too deeply (at most %d levels)",
		    YDOC_MAX_DEPTH);
	if ((ret = node_new(b, kind, m, &n, err)) != CPK_OK)
		return ret;
	if ((ret = attach(b, n, err)) != CPK_OK)
		return ret;
	/* attach() owns n now; it stays reachable from the root. */
	b->stack[b->depth] = n;
	b->pending_key[b->depth] = NULL;
	b->depth++;
	return CPK_OK;
}

static bool
event_has_tag_or_anchor(const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		return ev->data.scalar.anchor != NULL || ev->data.scalar.tag != NULL;
	case YAML_SEQUENCE_START_EVENT:
		return ev->data.sequence_start.anchor != NULL ||
		    ev->data.sequence_start.tag != NULL;
	case YAML_MAPPING_START_EVENT:
		return ev->data.mapping_start.anchor != NULL ||
		    ev->data.mapping_start.tag != NULL;
	default:
		return false;
	}
}

static cpk_status
on_event(struct builder *b, yaml_event_t *ev, struct cpk_error *err)
{
	const yaml_mark_t *m = &ev->start_mark;
	char in[80];

	if (event_has_tag_or_anchor(ev)) {
		in_value_of(b, (unsigned)m->line + 1, in, sizeof(in));
		return cpk_error_set_at(err, CPK_ERR_UNSUPPORTED, b->file, (unsigned)m->line + 1,
		    (unsigned)m->column + 1, "YAML anchors and tags are not supported%s", in);
	}
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (b->done)
			return cpk_error_set_at(err, CPK_ERR_PARSE, b->file,
			    (unsigned)m->line + 1, (unsigned)m->column + 1,
			    "only one YAML document is allowed in a file");
		return CPK_OK;
	case YAML_DOCUMENT_END_EVENT:
		b->done = true;
		return CPK_OK;
	case YAML_ALIAS_EVENT:
		return cpk_error_set_at(err, CPK_ERR_UNSUPPORTED, b->file, (unsigned)m->line + 1,
		    (unsigned)m->column + 1, "YAML aliases are not supported");
	case YAML_SCALAR_EVENT:
		return on_scalar(b, ev, err);
	case YAML_SEQUENCE_START_EVENT:
		return on_start(b, YDOC_SEQ, m, err);
	case YAML_MAPPING_START_EVENT:
		return on_start(b, YDOC_MAP, m, err);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		if (b->depth > 0)
			b->depth--;
		return CPK_OK;
	default:
		return CPK_OK;
	}
}

static void
cleanse_event(yaml_event_t *ev)
{
	if (ev->type == YAML_SCALAR_EVENT && ev->data.scalar.value != NULL)
		cpk_cleanse(ev->data.scalar.value, ev->data.scalar.length);
}

static void
cleanse_parser(yaml_parser_t *p)
{
	if (p->buffer.start != NULL && p->buffer.end > p->buffer.start)
		cpk_cleanse(p->buffer.start, (size_t)(p->buffer.end - p->buffer.start));
	if (p->raw_buffer.start != NULL && p->raw_buffer.end > p->raw_buffer.start)
		cpk_cleanse(p->raw_buffer.start,
		    (size_t)(p->raw_buffer.end - p->raw_buffer.start));
}

/*
 * libyaml's messages (problem, context) are fixed strings; its marks are
 * kept. A reader error (bad UTF-8) has an offset instead of a mark.
 */
static cpk_status
syntax_error(const struct builder *b, const yaml_parser_t *parser, const uint8_t *text,
    size_t len, struct cpk_error *err)
{
	const char *problem = parser->problem != NULL ? parser->problem : "syntax error";
	const yaml_mark_t *m = &parser->problem_mark;
	unsigned line, col;
	char in[80] = "";

	/*
	 * A token that never ends (a quote open at the end of the text, a key
	 * without its ':') is reported where it starts.
	 */
	if (parser->error == YAML_SCANNER_ERROR && parser->context != NULL &&
	    (parser->problem_mark.index >= len ||
	    strcmp(parser->context, "while scanning a simple key") == 0))
		m = &parser->context_mark;
	line = (unsigned)m->line + 1;
	col = (unsigned)m->column + 1;
	if (parser->error == YAML_READER_ERROR)
		offset_mark(text, len, parser->problem_offset, &line, &col);
	else
		in_value_of(b, line, in, sizeof(in));
	return cpk_error_set_at(err, CPK_ERR_PARSE, b->file, line, col, "YAML syntax error%s: %s%s%s",
	    in, problem, parser->context != NULL ? " " : "",
	    parser->context != NULL ? parser->context : "");
}

static cpk_status
parse(const char *file, const uint8_t *text, size_t len, bool secret, const char *const *names,
    struct ydoc_node **root, struct cpk_error *err)
{
	struct builder b;
	yaml_parser_t parser;
	yaml_event_t ev;
	cpk_status ret = CPK_ERR_PARSE;
	bool have_parser = false, end = false;
	size_t i;

	*root = NULL;
	memset(&b, 0, sizeof(b));
	b.file = file;
	b.secret = secret;
	b.names = names;
	if (!yaml_parser_initialize(&parser)) {
		ret = cpk_error_set(err, CPK_ERR_NOMEM, "cannot initialize the YAML parser");
		goto out;
	}
	have_parser = true;
	yaml_parser_set_input_string(&parser, text, len);
	while (!end) {
		if (!yaml_parser_parse(&parser, &ev)) {
			ret = syntax_error(&b, &parser, text, len, err);
			goto out;
		}
		end = ev.type == YAML_STREAM_END_EVENT;
		ret = on_event(&b, &ev, err);
		cleanse_event(&ev);
		yaml_event_delete(&ev);
		if (ret != CPK_OK)
			goto out;
	}
	*root = b.root;
	b.root = NULL;
	ret = CPK_OK;
out:
	for (i = 0; i < YDOC_MAX_DEPTH + 1; i++)
		node_free(b.pending_key[i]);
	node_free(b.root);
	if (have_parser) {
		cleanse_parser(&parser);
		yaml_parser_delete(&parser);
	}
	return ret;
}

cpk_status
ydoc_parse(const char *file, const uint8_t *text, size_t len, struct ydoc_node **root,
    struct cpk_error *err)
{
	return parse(file, text, len, false, NULL, root, err);
}

cpk_status
ydoc_parse_secret(const char *file, const uint8_t *text, size_t len, const char *const *names,
    struct ydoc_node **root, struct cpk_error *err)
{
	return parse(file, text, len, true, names, root, err);
}

/* --- messages --- */

void
ydoc_quote(const char *s, char *out, size_t outcap)
{
	size_t o = 0, i;
	const size_t limit = 40;

	if (outcap == 0)
		return;
	for (i = 0; s[i] != '\0' && i < limit; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch >= 0x20 && ch < 0x7f) {
			if (o + 1 >= outcap)
				break;
			out[o++] = (char)ch;
		} else {
			if (o + 4 >= outcap)
				break;
			snprintf(out + o, outcap - o, "\\x%02X", ch);
			o += 4;
		}
	}
	if (s[i] != '\0' && o + 3 < outcap) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

static size_t
edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t row[65], prev, tmp;

	if (la > 64 || lb > 64)
		return (size_t)-1;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t best = prev + (a[i - 1] == b[j - 1] ? 0 : 1);

			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			tmp = row[j];
			row[j] = best;
			prev = tmp;
		}
	}
	return row[lb];
}

const char *
ydoc_suggest(const char *word, const char *const *candidates, size_t n)
{
	const char *best = NULL;
	size_t bestd = (size_t)-1, i, d, limit;

	for (i = 0; i < n; i++) {
		d = edit_distance(word, candidates[i]);
		if (d < bestd) {
			bestd = d;
			best = candidates[i];
		}
	}
	/* A typo, not a different word: at most a third of the letters, at least 1, 2 from 4. */
	limit = strlen(word) / 3;
	if (limit < 1)
		limit = 1;
	if (strlen(word) >= 4 && limit < 2)
		limit = 2;
	return bestd <= limit ? best : NULL;
}

const struct ydoc_node *
ydoc_key_of(const struct ydoc_node *map, const struct ydoc_node *val)
{
	size_t i;

	if (map != NULL && map->kind == YDOC_MAP)
		for (i = 0; i < map->n; i++)
			if (map->items[i] == val)
				return map->keys[i];
	return val;
}

cpk_status
ydoc_locate(cpk_status st, struct cpk_error *err, const char *file, unsigned line,
    unsigned col)
{
	if (st == CPK_OK || err == NULL)
		return st;
	snprintf(err->file, sizeof(err->file), "%s", file != NULL ? file : "");
	err->line = line;
	err->col = col;
	return st;
}

/* --- schema --- */

static const char *
kind_name(enum ydoc_kind k)
{
	switch (k) {
	case YDOC_MAP:
		return "a mapping";
	case YDOC_SEQ:
		return "a list";
	default:
		return "a single value";
	}
}

static cpk_status
check_kind(const char *file, const struct ydoc_node *n, const struct ydoc_field *f,
    struct cpk_error *err)
{
	switch (f->type) {
	case YDOC_T_ANY:
		return CPK_OK;
	case YDOC_T_SEQ:
		if (n->kind != YDOC_SEQ)
			return cpk_error_set_at(err, CPK_ERR_PARSE, file, n->line, n->col,
			    "'%s' must be a list, not %s", f->key, kind_name(n->kind));
		return CPK_OK;
	case YDOC_T_MAP:
		if (n->kind != YDOC_MAP)
			return cpk_error_set_at(err, CPK_ERR_PARSE, file, n->line, n->col,
			    "'%s' must be a mapping, not %s", f->key, kind_name(n->kind));
		return CPK_OK;
	default:
		if (n->kind != YDOC_SCALAR)
			return cpk_error_set_at(err, CPK_ERR_PARSE, file, n->line, n->col,
			    "'%s' must be a single value, not %s", f->key, kind_name(n->kind));
		if (n->len == 0 && n->plain)
			return cpk_error_set_at(err, CPK_ERR_PARSE, file, n->line, n->col,
			    "'%s' has no value", f->key);
		return CPK_OK;
	}
}

static cpk_status
unknown_key(const char *file, const struct ydoc_node *key, const struct ydoc_schema *s,
    struct cpk_error *err)
{
	const char *names[64];
	const char *sug = NULL;
	char q[64];
	size_t i, n = 0;

	if (s->hints != NULL) {
		for (i = 0; s->hints[i].wrong != NULL; i++)
			if (strcmp(s->hints[i].wrong, key->str) == 0)
				sug = s->hints[i].right;
	}
	if (sug == NULL) {
		for (i = 0; i < s->nfields && n < 64; i++)
			names[n++] = s->fields[i].key;
		sug = ydoc_suggest(key->str, names, n);
	}
	if (s->secret && sug != NULL)
		return cpk_error_set_at(err, CPK_ERR_PARSE, file, key->line, key->col,
		    "unknown key in %s (did you mean '%s'?)", s->what, sug);
	if (s->secret)
		return cpk_error_set_at(err, CPK_ERR_PARSE, file, key->line, key->col,
		    "unknown key in %s", s->what);
	ydoc_quote(key->str, q, sizeof(q));
	if (sug != NULL)
		return cpk_error_set_at(err, CPK_ERR_PARSE, file, key->line, key->col,
		    "unknown key '%s' in %s (did you mean '%s'?)", q, s->what, sug);
	return cpk_error_set_at(err, CPK_ERR_PARSE, file, key->line, key->col,
	    "unknown key '%s' in %s", q, s->what);
}

cpk_status
ydoc_check_map(const char *file, const struct ydoc_node *map, const struct ydoc_node *at,
    const struct ydoc_schema *s, const struct ydoc_node **vals, struct cpk_error *err)
{
	cpk_status ret;
	size_t i, j;

	for (j = 0; j < s->nfields; j++)
		vals[j] = NULL;
	if (map != NULL && map->kind != YDOC_MAP)
		return cpk_error_set_at(err, CPK_ERR_PARSE, file, map->line, map->col,
		    "%s must be a mapping, not %s", s->what, kind_name(map->kind));
	for (i = 0; map != NULL && i < map->n; i++) {
		for (j = 0; j < s->nfields; j++)
			if (strcmp(s->fields[j].key, map->keys[i]->str) == 0)
				break;
		if (j == s->nfields)
			return unknown_key(file, map->keys[i], s, err);
		if ((ret = check_kind(file, map->items[i], &s->fields[j], err)) != CPK_OK)
			return ret;
		vals[j] = map->items[i];
	}
	for (j = 0; j < s->nfields; j++) {
		if (s->fields[j].required && vals[j] == NULL) {
			const struct ydoc_node *loc = map != NULL ? map : at;

			return cpk_error_set_at(err, CPK_ERR_PARSE, file,
			    loc != NULL ? loc->line : 0, loc != NULL ? loc->col : 0,
			    "missing required key '%s' in %s", s->fields[j].key, s->what);
		}
	}
	return CPK_OK;
}

/* --- value decoders --- */

cpk_status
ydoc_decode_hex(const struct ydoc_field *f, const char *s, uint8_t *out, size_t cap,
    size_t *outlen, struct cpk_error *err)
{
	size_t slen = strlen(s), i, nbytes;
	char q[64];

	*outlen = 0;
	for (i = 0; i < slen; i++) {
		char ch = s[i];

		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
		    (ch >= 'A' && ch <= 'F'))) {
			if (f->secret)
				return cpk_error_set(err, CPK_ERR_PARSE,
				    "'%s' must be hex digits only (character %zu is not)", f->key,
				    i + 1);
			ydoc_quote(s, q, sizeof(q));
			return cpk_error_set(err, CPK_ERR_PARSE,
			    "'%s' must be hex digits only, got '%s'", f->key, q);
		}
	}
	if (slen % 2 != 0)
		return cpk_error_set(err, CPK_ERR_PARSE,
		    "'%s' has an odd number of hex digits (%zu)", f->key, slen);
	nbytes = slen / 2;
	if ((long long)nbytes < f->min || (f->max > 0 && (long long)nbytes > f->max)) {
		if (f->min == f->max)
			return cpk_error_set(err, CPK_ERR_RANGE,
			    "'%s' must be %lld bytes (%lld hex digits), got %zu", f->key, f->min,
			    2 * f->min, nbytes);
		return cpk_error_set(err, CPK_ERR_RANGE, "'%s' must be %lld to %lld bytes, got %zu",
		    f->key, f->min, f->max, nbytes);
	}
	if (nbytes > cap)
		return cpk_error_set(err, CPK_ERR_RANGE, "'%s' is too long (%zu bytes, at most %zu)",
		    f->key, nbytes, cap);
	return cpk_hex_decode(s, slen, out, cap, outlen, err);
}

cpk_status
ydoc_decode_byte(const struct ydoc_field *f, const char *s, uint8_t *out, struct cpk_error *err)
{
	uint8_t v;
	size_t n;
	char q[64];

	if (strlen(s) != 2 || cpk_hex_decode(s, 2, &v, 1, &n, NULL) != CPK_OK ||
	    v < f->min || v > f->max) {
		if (f->secret)
			return cpk_error_set(err, CPK_ERR_RANGE,
			    "'%s' must be two hex digits from %02llX to %02llX", f->key, f->min,
			    f->max);
		ydoc_quote(s, q, sizeof(q));
		return cpk_error_set(err, CPK_ERR_RANGE,
		    "'%s' must be two hex digits from %02llX to %02llX, got '%s'", f->key,
		    f->min, f->max, q);
	}
	*out = v;
	return CPK_OK;
}

cpk_status
ydoc_decode_int(const struct ydoc_field *f, const char *s, long long *out, struct cpk_error *err)
{
	long long v = 0;
	size_t i, len = strlen(s);
	char q[64];
	bool ok = len > 0 && len <= 12;

	for (i = 0; ok && i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			ok = false;
		else
			v = v * 10 + (s[i] - '0');
	}
	if (!ok || v < f->min || v > f->max) {
		if (f->secret)
			return cpk_error_set(err, CPK_ERR_RANGE,
			    "'%s' must be a whole number from %lld to %lld", f->key, f->min, f->max);
		ydoc_quote(s, q, sizeof(q));
		return cpk_error_set(err, CPK_ERR_RANGE,
		    "'%s' must be a whole number from %lld to %lld, got '%s'", f->key, f->min, f->max,
		    q);
	}
	*out = v;
	return CPK_OK;
}

cpk_status
ydoc_decode_bool(const struct ydoc_field *f, const char *s, bool *out, struct cpk_error *err)
{
	char q[64];

	if (strcmp(s, "true") == 0) {
		*out = true;
		return CPK_OK;
	}
	if (strcmp(s, "false") == 0) {
		*out = false;
		return CPK_OK;
	}
	if (f->secret)
		return cpk_error_set(err, CPK_ERR_PARSE, "'%s' must be true or false", f->key);
	ydoc_quote(s, q, sizeof(q));
	return cpk_error_set(err, CPK_ERR_PARSE, "'%s' must be true or false, got '%s'", f->key, q);
}

cpk_status
ydoc_decode_enum(const struct ydoc_field *f, const char *s, int *out, struct cpk_error *err)
{
	char list[256], q[64];
	size_t i, n, o = 0;

	for (n = 0; f->names[n] != NULL; n++) {
		if (strcmp(f->names[n], s) == 0) {
			*out = (int)n;
			return CPK_OK;
		}
	}
	list[0] = '\0';
	for (i = 0; i < n; i++) {
		int w = snprintf(list + o, sizeof(list) - o, "%s%s",
		    i == 0 ? "" : (i + 1 == n ? " or " : ", "), f->names[i]);

		if (w < 0 || (size_t)w >= sizeof(list) - o)
			break;
		o += (size_t)w;
	}
	if (f->secret)
		return cpk_error_set(err, CPK_ERR_PARSE, "'%s' must be %s", f->key, list);
	ydoc_quote(s, q, sizeof(q));
	return cpk_error_set(err, CPK_ERR_PARSE, "'%s' must be %s, got '%s'", f->key, list, q);
}

cpk_status
ydoc_decode_str(const struct ydoc_field *f, const char *s, struct cpk_error *err)
{
	size_t len = strlen(s);

	if ((long long)len < f->min)
		return cpk_error_set(err, CPK_ERR_RANGE, "'%s' is too short (at least %lld characters)",
		    f->key, f->min);
	if (f->max > 0 && (long long)len > f->max)
		return cpk_error_set(err, CPK_ERR_RANGE,
		    "'%s' is too long (%zu characters, at most %lld)", f->key, len, f->max);
	return CPK_OK;
}

static cpk_status
scalar_check(const char *file, const struct ydoc_node *n, const struct ydoc_field *f,
    struct cpk_error *err)
{
	if (n == NULL)
		return cpk_error_set_at(err, CPK_ERR_ARG, file, 0, 0, "'%s' is missing", f->key);
	if (n->kind != YDOC_SCALAR)
		return cpk_error_set_at(err, CPK_ERR_PARSE, file, n->line, n->col,
		    "'%s' must be a single value, not %s", f->key, kind_name(n->kind));
	return CPK_OK;
}

static cpk_status
located(cpk_status st, const char *file, const struct ydoc_node *n, struct cpk_error *err)
{
	return ydoc_locate(st, err, file, n->line, n->col);
}

cpk_status
ydoc_get_hex(const char *file, const struct ydoc_node *n, const struct ydoc_field *f,
    uint8_t *out, size_t cap, size_t *outlen, struct cpk_error *err)
{
	cpk_status st;

	if ((st = scalar_check(file, n, f, err)) != CPK_OK)
		return st;
	return located(ydoc_decode_hex(f, n->str, out, cap, outlen, err), file, n, err);
}

cpk_status
ydoc_get_byte(const char *file, const struct ydoc_node *n, const struct ydoc_field *f,
    uint8_t *out, struct cpk_error *err)
{
	cpk_status st;

	if ((st = scalar_check(file, n, f, err)) != CPK_OK)
		return st;
	return located(ydoc_decode_byte(f, n->str, out, err), file, n, err);
}

cpk_status
ydoc_get_int(const char *file, const struct ydoc_node *n, const struct ydoc_field *f,
    long long *out, struct cpk_error *err)
{
	cpk_status st;

	if ((st = scalar_check(file, n, f, err)) != CPK_OK)
		return st;
	return located(ydoc_decode_int(f, n->str, out, err), file, n, err);
}

cpk_status
ydoc_get_bool(const char *file, const struct ydoc_node *n, const struct ydoc_field *f,
    bool *out, struct cpk_error *err)
{
	cpk_status st;

	if ((st = scalar_check(file, n, f, err)) != CPK_OK)
		return st;
	return located(ydoc_decode_bool(f, n->str, out, err), file, n, err);
}

cpk_status
ydoc_get_enum(const char *file, const struct ydoc_node *n, const struct ydoc_field *f,
    int *out, struct cpk_error *err)
{
	cpk_status st;

	if ((st = scalar_check(file, n, f, err)) != CPK_OK)
		return st;
	return located(ydoc_decode_enum(f, n->str, out, err), file, n, err);
}

cpk_status
ydoc_get_str(const char *file, const struct ydoc_node *n, const struct ydoc_field *f,
    const char **out, struct cpk_error *err)
{
	cpk_status st;

	if ((st = scalar_check(file, n, f, err)) != CPK_OK)
		return st;
	if ((st = located(ydoc_decode_str(f, n->str, err), file, n, err)) != CPK_OK)
		return st;
	*out = n->str;
	return CPK_OK;
}
