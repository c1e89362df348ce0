/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: cardc serve's routes (see serve_routes.h).
 */
#include "serve_routes.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpk_bytes.h"
#include "cpk_file.h"

enum cond_kind { COND_IIN, COND_CIN, COND_SERIAL, COND_SERIALS, COND_CPLC };

struct cond {
	enum cond_kind kind;
	uint8_t bytes[16];
	size_t len, off;		/* CPLC: offset and length in the 42 bytes */
	char *text;			/* serial */
	char **serials;			/* serials= */
	size_t nserials;
};

struct route {
	unsigned line;
	struct cond *conds;
	size_t nconds;
	char *profile_path;
	struct profile *profile;	/* shared by routes naming the same file */
	bool owner;
};

struct serve_routes {
	struct route v[SERVE_ROUTES_MAX];
	size_t n;
	struct profile_holder_pin holder_pin;	/* what every holder-pin profile asks */
};

static const struct {
	const char *name;
	size_t off, len;
} cplc_fields[] = {
	{ "ic-fabricator", 0, 2 },
	{ "ic-type", 2, 2 },
	{ "os-id", 4, 2 },
	{ "os-date", 6, 2 },
	{ "os-level", 8, 2 },
	{ "fabrication-date", 10, 2 },
	{ "ic-serial", 12, 4 },
	{ "ic-batch", 16, 2 },
};

static void
cond_free(struct cond *c)
{
	size_t i;

	free(c->text);
	for (i = 0; i < c->nserials; i++)
		free(c->serials[i]);
	free(c->serials);
}

void
serve_routes_free(struct serve_routes **rp)
{
	struct serve_routes *r = rp != NULL ? *rp : NULL;
	size_t i, k;

	if (r == NULL)
		return;
	for (i = 0; i < r->n; i++) {
		for (k = 0; k < r->v[i].nconds; k++)
			cond_free(&r->v[i].conds[k]);
		free(r->v[i].conds);
		free(r->v[i].profile_path);
		if (r->v[i].owner)
			profile_free(&r->v[i].profile);
	}
	free(r);
	*rp = NULL;
}

size_t
serve_routes_count(const struct serve_routes *r)
{
	return r->n;
}

static cpk_status
read_file(const char *path, const char *what, size_t max, struct cpk_buf *out,
    struct cpk_error *err)
{
	char name[300];
	int fd = -1;
	cpk_status st;

	if ((st = cpk_input_open(path, what, O_NOFOLLOW, &fd, NULL, err)) != CPK_OK)
		return st;
	snprintf(name, sizeof(name), "'%s'", path);
	st = cpk_read_fd_all(fd, name, max, out, err);
	close(fd);
	return st;
}

/* dir/name, or name when it is absolute. */
static char *
relative_to(const char *dir, const char *name)
{
	size_t n;
	char *p;

	if (name[0] == '/' || dir[0] == '\0')
		return strdup(name);
	n = strlen(dir) + 1 + strlen(name) + 1;
	if ((p = malloc(n)) != NULL)
		snprintf(p, n, "%s/%s", dir, name);
	return p;
}

/* The next line of text (without its end), or NULL at the end. */
static char *
next_line(char **cursor)
{
	char *s = *cursor, *nl;

	if (s == NULL || *s == '\0')
		return NULL;
	if ((nl = strchr(s, '\n')) != NULL) {
		*nl = '\0';
		*cursor = nl + 1;
	} else {
		*cursor = s + strlen(s);
	}
	if ((nl = strchr(s, '#')) != NULL)
		*nl = '\0';
	if ((nl = strchr(s, '\r')) != NULL)
		*nl = '\0';
	return s;
}

static cpk_status
load_serials(const char *path, struct cond *c, struct cpk_error *err)
{
	struct cpk_buf text = CPK_BUF_INIT;
	char *cursor, *line, *tok, *save;
	char **v;
	cpk_status st;

	if ((st = read_file(path, "serial list", SERVE_ROUTES_FILE_MAX * 8, &text, err)) != CPK_OK ||
	    (st = cpk_buf_append_byte(&text, 0, err)) != CPK_OK)
		goto out;
	cursor = (char *)text.data;
	while ((line = next_line(&cursor)) != NULL) {
		if ((tok = strtok_r(line, " \t", &save)) == NULL)
			continue;
		if (c->nserials >= SERVE_SERIALS_MAX) {
			st = cpk_error_set(err, CPK_ERR_RANGE, "'%s': more than %d serials", path,
			    SERVE_SERIALS_MAX);
			goto out;
		}
		if ((v = realloc(c->serials, (c->nserials + 1) * sizeof(*v))) == NULL ||
		    (c->serials = v, (v[c->nserials] = strdup(tok)) == NULL)) {
			st = cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
			goto out;
		}
		c->nserials++;
	}
out:
	cpk_buf_free(&text);
	return st;
}

static cpk_status
hex_value(const char *v, uint8_t *out, size_t max, size_t *len, const char *key,
    struct cpk_error *err)
{
	if (cpk_hex_decode(v, strlen(v), out, max, len, NULL) != CPK_OK || *len == 0)
		return cpk_error_set(err, CPK_ERR_PARSE, "%s wants 1 to %zu bytes of hex, not '%s'",
		    key, max, v);
	return CPK_OK;
}

static cpk_status
parse_cond(const char *dir, char *tok, struct cond *c, struct cpk_error *err)
{
	char *eq = strchr(tok, '='), *path;
	const char *key = tok, *val;
	size_t i;
	cpk_status st;

	memset(c, 0, sizeof(*c));
	if (eq == NULL)
		return cpk_error_set(err, CPK_ERR_PARSE, "'%s' is no condition (KEY=VALUE)", tok);
	*eq = '\0';
	val = eq + 1;
	if (strcmp(key, "iin") == 0) {
		c->kind = COND_IIN;
		return hex_value(val, c->bytes, CPK_IDENTIFY_DATA_MAX, &c->len, key, err);
	}
	if (strcmp(key, "cin") == 0) {
		c->kind = COND_CIN;
		return hex_value(val, c->bytes, CPK_IDENTIFY_DATA_MAX, &c->len, key, err);
	}
	if (strcmp(key, "serial") == 0) {
		c->kind = COND_SERIAL;
		if (val[0] == '\0' || (c->text = strdup(val)) == NULL)
			return cpk_error_set(err, val[0] == '\0' ? CPK_ERR_PARSE : CPK_ERR_NOMEM,
			    "serial= wants a serial");
		return CPK_OK;
	}
	if (strcmp(key, "serials") == 0) {
		c->kind = COND_SERIALS;
		if ((path = relative_to(dir, val)) == NULL)
			return cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
		st = load_serials(path, c, err);
		free(path);
		return st;
	}
	if (strncmp(key, "cplc.", 5) == 0) {
		c->kind = COND_CPLC;
		for (i = 0; i < sizeof(cplc_fields) / sizeof(cplc_fields[0]); i++) {
			if (strcmp(key + 5, cplc_fields[i].name) != 0)
				continue;
			c->off = cplc_fields[i].off;
			if ((st = hex_value(val, c->bytes, cplc_fields[i].len, &c->len, key, err)) !=
			    CPK_OK)
				return st;
			if (c->len != cplc_fields[i].len)
				return cpk_error_set(err, CPK_ERR_PARSE, "%s wants %zu bytes of hex",
				    key, cplc_fields[i].len);
			return CPK_OK;
		}
		return cpk_error_set(err, CPK_ERR_PARSE, "'%s': no such CPLC field (ic-fabricator, "
		    "ic-type, os-id, os-date, os-level, fabrication-date, ic-serial, ic-batch)", key);
	}
	return cpk_error_set(err, CPK_ERR_PARSE, "unknown condition '%s' (iin, cin, serial, "
	    "serials, cplc.FIELD)", key);
}

/* Split one line into conditions and the profile; a line of spaces makes no route. */
static cpk_status
parse_route(struct serve_routes *r, const char *dir, char *line, unsigned lineno,
    const char *keydir, struct cpk_error *err)
{
	struct profile_opts popts;
	char *toks[34], *save = NULL, *tok;
	struct route *rt;
	size_t n = 0, i;
	cpk_status st;

	memset(&popts, 0, sizeof(popts));
	popts.keydir = keydir;
	while ((tok = strtok_r(n == 0 ? line : NULL, " \t", &save)) != NULL) {
		if (n >= sizeof(toks) / sizeof(toks[0]))
			return cpk_error_set(err, CPK_ERR_RANGE, "too many conditions");
		toks[n++] = tok;
	}
	if (n == 0)
		return CPK_OK;
	if (r->n >= SERVE_ROUTES_MAX)
		return cpk_error_set(err, CPK_ERR_RANGE, "more than %d routes", SERVE_ROUTES_MAX);
	rt = &r->v[r->n++];
	rt->line = lineno;
	if ((rt->profile_path = relative_to(dir, toks[n - 1])) == NULL ||
	    (n > 1 && (rt->conds = calloc(n - 1, sizeof(*rt->conds))) == NULL))
		return cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
	for (i = 0; i + 1 < n; i++) {
		if (n == 2 && strcmp(toks[0], "*") == 0)
			break;
		if ((st = parse_cond(dir, toks[i], &rt->conds[rt->nconds], err)) != CPK_OK) {
			cond_free(&rt->conds[rt->nconds]);
			return st;
		}
		rt->nconds++;
	}
	for (i = 0; i + 1 < r->n; i++) {
		if (strcmp(r->v[i].profile_path, rt->profile_path) == 0) {
			rt->profile = r->v[i].profile;
			return CPK_OK;
		}
	}
	if ((st = profile_load(rt->profile_path, &popts, &rt->profile, err)) != CPK_OK)
		return st;
	rt->owner = true;
	if (rt->profile->sd.mode != PROFILE_MODE_SESSION)
		return cpk_error_set(err, CPK_ERR_ARG, "profile '%s' makes offline bundles; cardc "
		    "serve compiles against the card's live INITIALIZE UPDATE: give it "
		    "'mode: session' under security-domain", rt->profile_path);
	return CPK_OK;
}

/*
 * The holder's PIN is verified before INITIALIZE UPDATE (any other command
 * in between abandons the secure channel's initiation), so in the first
 * order, before the card, hence its route, is known: the profiles of one
 * routes file ask for one holder PIN or none.
 */
static cpk_status
one_holder_pin(struct serve_routes *r, struct cpk_error *err)
{
	const struct profile_holder_pin *h, *first = NULL;
	unsigned first_line = 0;
	size_t i;

	for (i = 0; i < r->n; i++) {
		h = &r->v[i].profile->holder_pin;
		if (!h->required)
			continue;
		if (first == NULL) {
			first = h;
			first_line = r->v[i].line;
			r->holder_pin = *h;
		} else if (h->aid.len != first->aid.len ||
		    memcmp(h->aid.b, first->aid.b, h->aid.len) != 0 ||
		    h->reference != first->reference) {
			return cpk_error_set(err, CPK_ERR_ARG, "the profiles of lines %u and %u ask "
			    "for different holder PINs (holder-pin aid, reference): the PIN is "
			    "verified before the card is identified, so one server asks for one",
			    first_line, r->v[i].line);
		}
	}
	return CPK_OK;
}

const struct profile_holder_pin *
serve_routes_holder_pin(const struct serve_routes *r)
{
	return r->holder_pin.required ? &r->holder_pin : NULL;
}

cpk_status
serve_routes_load(const char *path, const char *keydir, struct serve_routes **out,
    struct cpk_error *err)
{
	struct serve_routes *r = NULL;
	struct cpk_buf text = CPK_BUF_INIT;
	char dir[1024], *slash, *cursor, *line;
	unsigned lineno = 0;
	cpk_status st;

	*out = NULL;
	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	else
		snprintf(dir, sizeof(dir), "%s", ".");
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		st = cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((st = read_file(path, "routes file", SERVE_ROUTES_FILE_MAX, &text, err)) != CPK_OK ||
	    (st = cpk_buf_append_byte(&text, 0, err)) != CPK_OK)
		goto out;
	cursor = (char *)text.data;
	while ((line = next_line(&cursor)) != NULL) {
		lineno++;
		if ((st = parse_route(r, dir, line, lineno, keydir, err)) != CPK_OK) {
			cpk_error_prefix(err, "%s:%u", path, lineno);
			goto out;
		}
	}
	if (r->n == 0) {
		st = cpk_error_set(err, CPK_ERR_PARSE, "%s: no route", path);
		goto out;
	}
	if ((st = one_holder_pin(r, err)) != CPK_OK) {
		cpk_error_prefix(err, "%s", path);
		goto out;
	}
	*out = r;
	r = NULL;
out:
	serve_routes_free(&r);
	cpk_buf_free(&text);
	return st;
}

static bool
cond_holds(const struct cond *c, const struct cpk_card_info *ci)
{
	size_t i;

	switch (c->kind) {
	case COND_IIN:
		return ci->iin_len == c->len && memcmp(ci->iin, c->bytes, c->len) == 0;
	case COND_CIN:
		return ci->cin_len == c->len && memcmp(ci->cin, c->bytes, c->len) == 0;
	case COND_SERIAL:
		return strcmp(ci->serial, c->text) == 0;
	case COND_SERIALS:
		for (i = 0; i < c->nserials; i++)
			if (strcmp(ci->serial, c->serials[i]) == 0)
				return true;
		return false;
	case COND_CPLC:
		return ci->has_cplc && memcmp(ci->cplc + c->off, c->bytes, c->len) == 0;
	}
	return false;
}

const struct profile *
serve_routes_match(const struct serve_routes *r, const struct cpk_card_info *ci, unsigned *line)
{
	size_t i, k;

	for (i = 0; i < r->n; i++) {
		for (k = 0; k < r->v[i].nconds; k++)
			if (!cond_holds(&r->v[i].conds[k], ci))
				break;
		if (k == r->v[i].nconds) {
			*line = r->v[i].line;
			return r->v[i].profile;
		}
	}
	return NULL;
}
