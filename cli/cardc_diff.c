/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cardc diff: what changed between two bundles. First the signed
 * manifests, member by member; then the command lists aligned by label
 * (longest common subsequence), each pair of the same label compared byte
 * by byte. Without keys the commands are compared as sent: a secured
 * command carries a MAC chained over every earlier one, so one changed
 * byte changes every later MAC. With keys (-k, as for cardc verify) both
 * bundles are recomputed and their plain commands compared: a changed
 * LOAD byte is named by its command and offset.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle_read.h"
#include "bundle_verify.h"
#include "cardc.h"
#include "cli_util.h"

#define SYNOPSIS "cardc diff A.cpk B.cpk [-k KEYDIR|KEYFILE] [--trust PUB|DIR] [--json]"

/* Exit status when the bundles differ (cardc(1)). */
#define EXIT_DIFFER 3

/* Longest command list aligned by LCS in full (cells of the table); past it, by position. */
#define LCS_MAX_CELLS ((size_t)16 * 1024 * 1024)
/* Runs of differing bytes shown per command in text. */
#define RUNS_SHOWN 8
/* Bytes of context shown around a run. */
#define CONTEXT 8
/*
 * Manifest members compared: every line of the largest manifest a bundle
 * may carry ("k: v" and its newline are at least 5 bytes), so none is cut.
 */
#define MANIFEST_LINES (CPK_MANIFEST_MAX_SIZE / 5 + 1)

enum { OPT_JSON = 256, OPT_TRUST };

static const struct option long_options[] = {
	{ "keys", required_argument, NULL, 'k' },
	{ "trust", required_argument, NULL, OPT_TRUST },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct diff_args {
	const char *path[2];
	const char *keys, *trust;
	bool json;
};

/* One command of a side: its label and the bytes compared. */
struct item {
	const char *label;
	const uint8_t *p;
	size_t n;
};

struct side {
	struct cpk_bundle *b;
	struct cardc_plain_list plain;
	struct item *items;
	size_t n;
};

/* One manifest member: "section.key" and its value text. */
struct member {
	char path[96];
	char value[CPK_MANIFEST_LINE_MAX + 1];
};

struct manifest_members {
	struct member v[MANIFEST_LINES];
	size_t n;
};

/* --- manifests --- */

/*
 * The canonical manifest text (cpk(5)) as members: a line "key: value" at
 * the left margin is "key"; an indented one under "section:" is
 * "section.key"; a list item "- key: value" starts "section[i]".
 */
static void
manifest_members(const uint8_t *text, size_t len, struct manifest_members *out)
{
	char line[CPK_MANIFEST_LINE_MAX + 1], section[48] = "", key[48];
	const char *colon, *k;
	size_t i = 0, j, item = 0;
	bool in_item = false;

	out->n = 0;
	while (i < len && out->n < MANIFEST_LINES) {
		for (j = 0; i < len && text[i] != '\n' && j < sizeof(line) - 1; j++)
			line[j] = (char)text[i++];
		line[j] = '\0';
		while (i < len && text[i] != '\n')
			i++;
		i++;
		if (line[0] == '\0')
			continue;
		k = line;
		if (line[0] != ' ') {
			in_item = false;
			if ((colon = strchr(line, ':')) != NULL && colon[1] == '\0') {
				snprintf(section, sizeof(section), "%.*s", (int)(colon - line), line);
				item = 0;
				continue;
			}
			section[0] = '\0';
		} else {
			while (*k == ' ')
				k++;
			if (k[0] == '-' && k[1] == ' ') {
				k += 2;
				if (in_item)
					item++;
				in_item = true;
			}
		}
		if ((colon = strstr(k, ": ")) == NULL)
			continue;
		snprintf(key, sizeof(key), "%.*s", (int)(colon - k), k);
		if (section[0] == '\0')
			snprintf(out->v[out->n].path, sizeof(out->v[0].path), "%s", key);
		else if (in_item)
			snprintf(out->v[out->n].path, sizeof(out->v[0].path), "%s[%zu].%s", section,
			    item, key);
		else
			snprintf(out->v[out->n].path, sizeof(out->v[0].path), "%s.%s", section, key);
		snprintf(out->v[out->n].value, sizeof(out->v[0].value), "%s", colon + 2);
		out->n++;
	}
}

static const struct member *
member_find(const struct manifest_members *m, const char *path)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (strcmp(m->v[i].path, path) == 0)
			return &m->v[i];
	return NULL;
}

struct manifest_change {
	const char *path;
	const char *a, *b;			/* NULL: absent on that side */
};

/* The members that differ, A's order first, then those only in B. */
static size_t
manifest_diff(const struct manifest_members *a, const struct manifest_members *b,
    struct manifest_change *out)
{
	const struct member *m;
	size_t i, n = 0;

	for (i = 0; i < a->n; i++) {
		m = member_find(b, a->v[i].path);
		if (m == NULL || strcmp(m->value, a->v[i].value) != 0)
			out[n++] = (struct manifest_change){ a->v[i].path, a->v[i].value,
			    m != NULL ? m->value : NULL };
	}
	for (i = 0; i < b->n; i++)
		if (member_find(a, b->v[i].path) == NULL)
			out[n++] = (struct manifest_change){ b->v[i].path, NULL, b->v[i].value };
	return n;
}

/* --- command alignment --- */

enum op { OP_SAME, OP_CHANGED, OP_REMOVED, OP_ADDED };

struct step {
	enum op op;
	size_t ia, ib;				/* 0-based; SIZE_MAX when absent */
};

static bool
same_label(const struct item *x, const struct item *y)
{
	return strcmp(x->label, y->label) == 0;
}

static bool
same_bytes(const struct item *x, const struct item *y)
{
	return x->n == y->n && memcmp(x->p, y->p, x->n) == 0;
}

static cpk_status
push(struct step **v, size_t *n, size_t *cap, enum op op, size_t ia, size_t ib,
    struct cpk_error *err)
{
	struct step *grown;

	if (*n == *cap) {
		*cap = *cap == 0 ? 64 : 2 * *cap;
		if ((grown = realloc(*v, *cap * sizeof(**v))) == NULL)
			return cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
		*v = grown;
	}
	(*v)[(*n)++] = (struct step){ op, ia, ib };
	return CPK_OK;
}

static cpk_status
push_pair(struct step **v, size_t *n, size_t *cap, const struct side *s, size_t ia, size_t ib,
    struct cpk_error *err)
{
	return push(v, n, cap, same_bytes(&s[0].items[ia], &s[1].items[ib]) ? OP_SAME :
	    OP_CHANGED, ia, ib, err);
}

/*
 * Align the two lists by label: the common prefix and suffix, and the
 * middle by longest common subsequence (or, past LCS_MAX_CELLS, pair by
 * position while the labels match and list the rest as removed and added).
 */
static cpk_status
align(const struct side *s, struct step **out, size_t *nout, struct cpk_error *err)
{
	const struct item *a = s[0].items, *b = s[1].items;
	size_t na = s[0].n, nb = s[1].n, pre = 0, suf = 0, ma, mb, i, j, cap = 0;
	uint32_t *t = NULL;
	cpk_status st = CPK_OK;

	*out = NULL;
	*nout = 0;
	while (pre < na && pre < nb && same_label(&a[pre], &b[pre]))
		pre++;
	while (suf < na - pre && suf < nb - pre &&
	    same_label(&a[na - 1 - suf], &b[nb - 1 - suf]))
		suf++;
	ma = na - pre - suf;
	mb = nb - pre - suf;
	for (i = 0; i < pre && st == CPK_OK; i++)
		st = push_pair(out, nout, &cap, s, i, i, err);
	if (st == CPK_OK && ma > 0 && mb > 0 && (ma + 1) <= LCS_MAX_CELLS / (mb + 1)) {
		/* t[i][j]: LCS length of a[pre+i..] and b[pre+j..]. */
		if ((t = calloc((ma + 1) * (mb + 1), sizeof(*t))) == NULL)
			return cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
		for (i = ma; i-- > 0;)
			for (j = mb; j-- > 0;)
				t[i * (mb + 1) + j] = same_label(&a[pre + i], &b[pre + j]) ?
				    t[(i + 1) * (mb + 1) + j + 1] + 1 :
				    (t[(i + 1) * (mb + 1) + j] >= t[i * (mb + 1) + j + 1] ?
				    t[(i + 1) * (mb + 1) + j] : t[i * (mb + 1) + j + 1]);
		i = j = 0;
		while (st == CPK_OK && (i < ma || j < mb)) {
			if (i < ma && j < mb && same_label(&a[pre + i], &b[pre + j])) {
				st = push_pair(out, nout, &cap, s, pre + i, pre + j, err);
				i++;
				j++;
			} else if (j == mb || (i < ma &&
			    t[(i + 1) * (mb + 1) + j] >= t[i * (mb + 1) + j + 1])) {
				st = push(out, nout, &cap, OP_REMOVED, pre + i, SIZE_MAX, err);
				i++;
			} else {
				st = push(out, nout, &cap, OP_ADDED, SIZE_MAX, pre + j, err);
				j++;
			}
		}
		free(t);
	} else {
		for (i = 0; i < ma && st == CPK_OK; i++)
			st = push(out, nout, &cap, OP_REMOVED, pre + i, SIZE_MAX, err);
		for (j = 0; j < mb && st == CPK_OK; j++)
			st = push(out, nout, &cap, OP_ADDED, SIZE_MAX, pre + j, err);
	}
	for (i = 0; i < suf && st == CPK_OK; i++)
		st = push_pair(out, nout, &cap, s, na - suf + i, nb - suf + i, err);
	return st;
}

/* --- loading the sides --- */

static cpk_status
load_side(const struct diff_args *a, int k, struct side *s, struct cpk_error *err)
{
	const struct cpk_command *cmds;
	struct bundle_verify_result res;
	size_t i;
	cpk_status st;

	if ((st = cardc_open_bundle(a->path[k], a->trust, false, &s->b, err)) != CPK_OK)
		return st;
	s->n = cpk_bundle_command_count(s->b);
	cmds = cpk_bundle_commands(s->b);
	if ((s->items = calloc(s->n > 0 ? s->n : 1, sizeof(*s->items))) == NULL)
		return cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
	if (a->keys != NULL) {
		if ((st = bundle_verify(cpk_bundle_manifest(s->b), cmds, s->n, a->keys,
		    cardc_plain_collect, &s->plain, &res, err)) != CPK_OK) {
			cpk_error_prefix(err, "%s: cannot recover the plain commands", a->path[k]);
			return st;
		}
		if (s->plain.n != s->n)
			return cpk_error_set(err, CPK_ERR_STATE, "%s: %zu plain commands for %zu",
			    a->path[k], s->plain.n, s->n);
	}
	for (i = 0; i < s->n; i++) {
		s->items[i].label = cmds[i].label;
		s->items[i].p = a->keys != NULL ? s->plain.v[i].apdu : cmds[i].apdu;
		s->items[i].n = a->keys != NULL ? s->plain.v[i].len : cmds[i].apdu_len;
	}
	return CPK_OK;
}

static void
side_free(struct side *s)
{
	cpk_bundle_free(&s->b);
	cardc_plain_list_free(&s->plain);
	free(s->items);
}

/* --- output --- */

/*
 * Plain PUT KEY and STORE DATA carry key values and personal data: their
 * differing bytes are named by offset only, never printed.
 */
static bool
hide_values(const struct diff_args *a, const struct item *x)
{
	return a->keys != NULL && x->n >= 2 && (x->p[1] == 0xD8 || x->p[1] == 0xE2);
}

/* Runs of differing bytes in x and y (compared up to the shorter; the rest differs). */
struct run {
	size_t off, len;
};

static size_t
byte_runs(const struct item *x, const struct item *y, struct run *runs, size_t max,
    size_t *total)
{
	size_t i, n = x->n < y->n ? x->n : y->n, nr = 0, longer = x->n > y->n ? x->n : y->n;

	*total = 0;
	for (i = 0; i < longer; i++) {
		if (i < n && x->p[i] == y->p[i])
			continue;
		(*total)++;
		if (nr > 0 && runs[nr - 1].off + runs[nr - 1].len == i)
			runs[nr - 1].len++;
		else if (nr < max)
			runs[nr++] = (struct run){ i, 1 };
	}
	return nr;
}

/* Bytes [from, to) of an item as hex, differing ones (in [off, off+len)) in brackets. */
static void
print_window(const char *tag, const struct item *x, size_t from, size_t to,
    const struct run *r)
{
	size_t i;

	printf("      %s %6zu: ", tag, from);
	for (i = from; i < to && i < x->n; i++) {
		if (i == r->off)
			putchar('[');
		printf("%02X", x->p[i]);
		if (i + 1 == r->off + r->len)
			putchar(']');
	}
	if (r->off >= x->n)
		printf("[]");
	putchar('\n');
}

static void
print_changed(const struct item *x, const struct item *y, bool hide)
{
	struct run runs[RUNS_SHOWN + 1];
	size_t nr, total, i, from, to;

	nr = byte_runs(x, y, runs, RUNS_SHOWN + 1, &total);
	printf("    %zu byte%s differ%s", total, total == 1 ? "" : "s", total == 1 ? "s" : "");
	if (x->n != y->n)
		printf(" (%zu bytes and %zu bytes)", x->n, y->n);
	printf(", at offset%s", nr == 1 && runs[0].len == 1 ? "" : "s");
	for (i = 0; i < nr && i < RUNS_SHOWN; i++)
		if (runs[i].len == 1)
			printf("%s %zu", i > 0 ? "," : "", runs[i].off);
		else
			printf("%s %zu-%zu", i > 0 ? "," : "", runs[i].off,
			    runs[i].off + runs[i].len - 1);
	printf("%s\n", nr > RUNS_SHOWN ? ", ..." : "");
	if (hide) {
		printf("      (values not shown: the command carries keys or personal data)\n");
		return;
	}
	for (i = 0; i < nr && i < RUNS_SHOWN; i++) {
		from = runs[i].off > CONTEXT ? runs[i].off - CONTEXT : 0;
		to = runs[i].off + runs[i].len + CONTEXT;
		print_window("A", x, from, to, &runs[i]);
		print_window("B", y, from, to, &runs[i]);
	}
}

struct counts {
	size_t same, changed, removed, added;
};

static void
count_steps(const struct step *v, size_t n, struct counts *c)
{
	size_t i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < n; i++) {
		if (v[i].op == OP_SAME)
			c->same++;
		else if (v[i].op == OP_CHANGED)
			c->changed++;
		else if (v[i].op == OP_REMOVED)
			c->removed++;
		else
			c->added++;
	}
}

static void
print_human(const struct diff_args *a, const struct side *s, const struct manifest_change *mc,
    size_t nmc, const struct step *v, size_t n)
{
	struct counts c;
	size_t i;

	count_steps(v, n, &c);
	printf("--- A %s\n+++ B %s\n", a->path[0], a->path[1]);
	printf("commands compared %s\n", a->keys != NULL ? "in plain form (recomputed with the "
	    "keys)" : "as sent (without keys a changed command changes every later MAC: give -k "
	    "to compare plain commands)");
	if (nmc == 0)
		printf("manifest: the same\n");
	else
		printf("manifest: %zu member%s differ%s\n", nmc, nmc == 1 ? "" : "s",
		    nmc == 1 ? "s" : "");
	for (i = 0; i < nmc; i++)
		printf("  %-20s %s -> %s\n", mc[i].path, mc[i].a != NULL ? mc[i].a : "(absent)",
		    mc[i].b != NULL ? mc[i].b : "(absent)");
	printf("commands: %zu and %zu: %zu the same, %zu changed, %zu only in A, %zu only in B\n",
	    s[0].n, s[1].n, c.same, c.changed, c.removed, c.added);
	for (i = 0; i < n; i++) {
		switch (v[i].op) {
		case OP_SAME:
			break;
		case OP_CHANGED:
			printf("~ %zu/%zu %s\n", v[i].ia + 1, v[i].ib + 1,
			    s[0].items[v[i].ia].label);
			print_changed(&s[0].items[v[i].ia], &s[1].items[v[i].ib],
			    hide_values(a, &s[0].items[v[i].ia]));
			break;
		case OP_REMOVED:
			printf("- %zu %s (only in A)\n", v[i].ia + 1, s[0].items[v[i].ia].label);
			break;
		case OP_ADDED:
			printf("+ %zu %s (only in B)\n", v[i].ib + 1, s[1].items[v[i].ib].label);
			break;
		}
	}
}

static void
json_changed(struct cli_json *j, const struct item *x, const struct item *y, bool hide)
{
	struct run runs[65];
	size_t nr, total, i;
	bool cut;

	nr = byte_runs(x, y, runs, 65, &total);
	if ((cut = nr > 64))
		nr = 64;
	cli_json_uint(j, "bytes-differing", total);
	cli_json_array(j, "runs");
	for (i = 0; i < nr; i++) {
		cli_json_object(j, NULL);
		cli_json_uint(j, "offset", runs[i].off);
		cli_json_uint(j, "length", runs[i].len);
		if (hide) {
			cli_json_null(j, "a");
			cli_json_null(j, "b");
			cli_json_end(j);
			continue;
		}
		cli_json_hex(j, "a", x->p + (runs[i].off < x->n ? runs[i].off : x->n),
		    runs[i].off >= x->n ? 0 : runs[i].off + runs[i].len <= x->n ? runs[i].len :
		    x->n - runs[i].off);
		cli_json_hex(j, "b", y->p + (runs[i].off < y->n ? runs[i].off : y->n),
		    runs[i].off >= y->n ? 0 : runs[i].off + runs[i].len <= y->n ? runs[i].len :
		    y->n - runs[i].off);
		cli_json_end(j);
	}
	cli_json_end(j);
	cli_json_bool(j, "runs-cut", cut);
	cli_json_bool(j, "values-hidden", hide);
}

static const char *const op_names[] = { "same", "changed", "removed", "added" };

static void
print_json(const struct diff_args *a, const struct side *s, const struct manifest_change *mc,
    size_t nmc, const struct step *v, size_t n, bool differ)
{
	struct cli_json j;
	struct counts c;
	size_t i;

	count_steps(v, n, &c);
	cli_json_init(&j, stdout);
	cli_json_object(&j, NULL);
	cli_json_str(&j, "a", a->path[0]);
	cli_json_str(&j, "b", a->path[1]);
	cli_json_hex(&j, "a-sha256", cpk_bundle_sha256(s[0].b), CPK_SHA256_LEN);
	cli_json_hex(&j, "b-sha256", cpk_bundle_sha256(s[1].b), CPK_SHA256_LEN);
	cli_json_bool(&j, "plain", a->keys != NULL);
	cli_json_bool(&j, "differ", differ);
	cli_json_array(&j, "manifest");
	for (i = 0; i < nmc; i++) {
		cli_json_object(&j, NULL);
		cli_json_str(&j, "member", mc[i].path);
		cli_json_str(&j, "a", mc[i].a);
		cli_json_str(&j, "b", mc[i].b);
		cli_json_end(&j);
	}
	cli_json_end(&j);
	cli_json_object(&j, "commands");
	cli_json_uint(&j, "a", s[0].n);
	cli_json_uint(&j, "b", s[1].n);
	cli_json_uint(&j, "same", c.same);
	cli_json_uint(&j, "changed", c.changed);
	cli_json_uint(&j, "only-in-a", c.removed);
	cli_json_uint(&j, "only-in-b", c.added);
	cli_json_end(&j);
	cli_json_array(&j, "changes");
	for (i = 0; i < n; i++) {
		if (v[i].op == OP_SAME)
			continue;
		cli_json_object(&j, NULL);
		cli_json_str(&j, "op", op_names[v[i].op]);
		if (v[i].ia != SIZE_MAX)
			cli_json_uint(&j, "a-index", v[i].ia + 1);
		else
			cli_json_null(&j, "a-index");
		if (v[i].ib != SIZE_MAX)
			cli_json_uint(&j, "b-index", v[i].ib + 1);
		else
			cli_json_null(&j, "b-index");
		cli_json_str(&j, "label", v[i].ia != SIZE_MAX ? s[0].items[v[i].ia].label :
		    s[1].items[v[i].ib].label);
		if (v[i].op == OP_CHANGED)
			json_changed(&j, &s[0].items[v[i].ia], &s[1].items[v[i].ib],
			    hide_values(a, &s[0].items[v[i].ia]));
		cli_json_end(&j);
	}
	cli_json_end(&j);
	cli_json_end(&j);
	cli_json_finish(&j);
}

static int
run(const struct diff_args *a)
{
	struct side s[2];
	struct manifest_members *mm = NULL;
	struct manifest_change *mc = NULL;
	struct step *v = NULL;
	struct cpk_error err;
	struct counts c;
	const uint8_t *text;
	size_t n = 0, nmc = 0, len;
	int k, rc = CLI_EXIT_ERROR;
	bool differ;
	cpk_status st;

	memset(s, 0, sizeof(s));
	cpk_error_clear(&err);
	for (k = 0; k < 2; k++)
		if ((st = load_side(a, k, &s[k], &err)) != CPK_OK) {
			cli_error(&err);
			goto out;
		}
	if ((mm = calloc(2, sizeof(*mm))) == NULL ||
	    (mc = calloc(2 * MANIFEST_LINES, sizeof(*mc))) == NULL) {
		cli_errorf("out of memory");
		goto out;
	}
	for (k = 0; k < 2; k++) {
		text = cpk_bundle_manifest_text(s[k].b, &len);
		manifest_members(text, len, &mm[k]);
	}
	nmc = manifest_diff(&mm[0], &mm[1], mc);
	if ((st = align(s, &v, &n, &err)) != CPK_OK) {
		cli_error(&err);
		goto out;
	}
	count_steps(v, n, &c);
	differ = nmc > 0 || c.changed > 0 || c.removed > 0 || c.added > 0;
	if (a->json)
		print_json(a, s, mc, nmc, v, n, differ);
	else
		print_human(a, s, mc, nmc, v, n);
	rc = differ ? EXIT_DIFFER : CLI_EXIT_OK;
out:
	fflush(stdout);
	free(v);
	free(mm);
	free(mc);
	side_free(&s[0]);
	side_free(&s[1]);
	return rc;
}

static int
diff_main(int argc, char *argv[])
{
	struct diff_args a;
	int c;

	memset(&a, 0, sizeof(a));
	while ((c = getopt_long(argc, argv, CARDC_GETOPT_PREFIX "k:h", long_options, NULL)) != -1) {
		switch (c) {
		case 'k':
			a.keys = optarg;
			break;
		case OPT_TRUST:
			a.trust = optarg;
			break;
		case OPT_JSON:
			a.json = true;
			break;
		case 'h':
			cli_command_help(&cardc_diff_command, stdout);
			return CLI_EXIT_OK;
		default:
			return cli_bad_option("diff", SYNOPSIS, c, argv, long_options);
		}
	}
	if (argc - optind != 2)
		return cli_usage("diff", SYNOPSIS, argc - optind < 2 ? "two bundles are needed" :
		    "unexpected '%s' (two bundles)", argv[optind + 2 < argc ? optind + 2 : optind]);
	a.path[0] = argv[optind];
	a.path[1] = argv[optind + 1];
	if (strcmp(a.path[0], "-") == 0 && strcmp(a.path[1], "-") == 0)
		return cli_usage("diff", SYNOPSIS, "only one bundle can be stdin");
	return run(&a);
}

const struct cli_command cardc_diff_command = {
	.name = "diff",
	.run = diff_main,
	.summary = "show what changed between two bundles",
	.synopsis = SYNOPSIS,
	.help =
	    "Compare bundle A with bundle B ('-' reads one from stdin): the members of\n"
	    "their signed manifests that differ, then their commands, aligned by label\n"
	    "(longest common subsequence): each pair of the same label compared byte by\n"
	    "byte, with the offsets of the bytes that differ, and the commands only in\n"
	    "A or only in B. Without keys the commands are compared as sent; a secured\n"
	    "command's MAC is chained over every earlier one, so one changed byte\n"
	    "changes every later MAC. With -k both bundles are recomputed as 'cardc\n"
	    "verify' does and their plain commands compared: a changed LOAD byte is\n"
	    "named by its command and offset.\n"
	    "\n"
	    "  -k, --keys KEYDIR|KEYFILE  recompute both and compare the plain commands\n"
	    "      --trust PUB|DIR        check both signatures first\n"
	    "      --json                 print one JSON document instead\n"
	    "  -h, --help                 show this help\n"
	    "\n"
	    "Exit status: 0 the same; 3 they differ; 1 a bundle cannot be read or\n"
	    "recomputed; 2 usage.\n",
};
