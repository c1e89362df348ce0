/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: cardc serve's SERAM sessions in the registry (see registry.h). Every
 * call is one statement, atomic on both back ends; a change names the
 * state it expects and UPDATE ... RETURNING tells whether it won.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "registry.h"
#include "registry_int.h"

#define SESSION_COLUMNS "id, state, created, changed, technician, serial, bundle_sha256, " \
    "host_challenge, last_report, detail, card, bundle, last_order, secret"
#define SESSION_NCOLUMNS 14

static void
text(char *dst, size_t n, const char *v)
{
	snprintf(dst, n, "%s", v != NULL ? v : "");
}

static const char *
or_null(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : NULL;
}

static uint64_t
now(void)
{
	time_t t = time(NULL);

	return t < 0 ? 0 : (uint64_t)t;
}

void
registry_session_clear(struct registry_session *s)
{
	free(s->card);
	free(s->bundle);
	free(s->last_order);
	s->card = s->bundle = s->last_order = NULL;
}

struct get {
	struct registry_session *out;
	bool found, nomem;
};

static char *
dup_or_null(const char *v, bool *nomem)
{
	char *d;

	if (v == NULL)
		return NULL;
	if ((d = strdup(v)) == NULL)
		*nomem = true;
	return d;
}

static cpk_status
session_row(void *arg, size_t ncols, const char *const *v)
{
	struct get *g = arg;
	struct registry_session *s = g->out;

	if (ncols < SESSION_NCOLUMNS || g->found)
		return CPK_OK;
	g->found = true;
	text(s->id, sizeof(s->id), v[0]);
	text(s->state, sizeof(s->state), v[1]);
	s->created = v[2] != NULL ? strtoull(v[2], NULL, 10) : 0;
	s->changed = v[3] != NULL ? strtoull(v[3], NULL, 10) : 0;
	text(s->technician, sizeof(s->technician), v[4]);
	text(s->serial, sizeof(s->serial), v[5]);
	text(s->bundle_sha256, sizeof(s->bundle_sha256), v[6]);
	text(s->host_challenge, sizeof(s->host_challenge), v[7]);
	text(s->last_report, sizeof(s->last_report), v[8]);
	text(s->detail, sizeof(s->detail), v[9]);
	s->card = dup_or_null(v[10], &g->nomem);
	s->bundle = dup_or_null(v[11], &g->nomem);
	s->last_order = dup_or_null(v[12], &g->nomem);
	text(s->secret, sizeof(s->secret), v[13]);
	return CPK_OK;
}

cpk_status
registry_session_get(struct registry *r, const char *id, struct registry_session *out,
    struct cpk_error *err)
{
	struct get g = { out, false, false };
	cpk_status st;

	memset(out, 0, sizeof(*out));
	st = registry_query_locked(r, "SELECT " SESSION_COLUMNS " FROM serve_sessions WHERE id = $1",
	    1, &id, session_row, &g, err);
	if (st == CPK_OK && g.nomem)
		st = cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
	if (st == CPK_OK && !g.found)
		st = cpk_error_set(err, CPK_ERR_NOT_FOUND, "no session '%s' in registry '%s'", id,
		    registry_name(r));
	if (st != CPK_OK)
		registry_session_clear(out);
	return st;
}

static cpk_status
seen(void *arg, size_t ncols, const char *const *v)
{
	(void)ncols;
	(void)v;
	*(bool *)arg = true;
	return CPK_OK;
}

cpk_status
registry_session_create(struct registry *r, const struct registry_session *s,
    struct cpk_error *err)
{
	char at[24];
	const char *p[5];
	bool inserted = false;
	cpk_status st;

	snprintf(at, sizeof(at), "%llu", (unsigned long long)(s->created != 0 ? s->created : now()));
	p[0] = s->id;
	p[1] = s->state;
	p[2] = at;
	p[3] = or_null(s->technician);
	p[4] = or_null(s->secret);
	/* ON CONFLICT DO NOTHING: an existing id is a refusal, not a constraint error. */
	st = registry_query_locked(r, "INSERT INTO serve_sessions (id, state, created, changed, "
	    "technician, secret) VALUES ($1, $2, CAST($3 AS BIGINT), CAST($3 AS BIGINT), $4, $5) "
	    "ON CONFLICT (id) DO NOTHING RETURNING id", 5, p, seen, &inserted, err);
	if (st == CPK_OK && !inserted)
		st = cpk_error_set(err, CPK_ERR_STATE, "session '%s' already exists", s->id);
	return st;
}

cpk_status
registry_session_update(struct registry *r, const struct registry_session *s, const char *from,
    struct cpk_error *err)
{
	char at[24];
	const char *p[13];
	bool updated = false;
	cpk_status st;

	snprintf(at, sizeof(at), "%llu", (unsigned long long)now());
	p[0] = s->id;
	p[1] = from;
	p[2] = s->state;
	p[3] = at;
	p[4] = or_null(s->serial);
	p[5] = or_null(s->bundle_sha256);
	p[6] = or_null(s->host_challenge);
	p[7] = or_null(s->last_report);
	p[8] = or_null(s->detail);
	p[9] = s->card;
	p[10] = s->bundle;
	p[11] = s->last_order;
	p[12] = or_null(s->secret);
	st = registry_query_locked(r, "UPDATE serve_sessions SET state = $3, "
	    "changed = CAST($4 AS BIGINT), serial = $5, bundle_sha256 = $6, host_challenge = $7, "
	    "last_report = $8, detail = $9, card = $10, bundle = $11, last_order = $12, "
	    "secret = $13 WHERE id = $1 AND state = $2 RETURNING id", 13, p, seen, &updated, err);
	if (st == CPK_OK && !updated)
		st = cpk_error_set(err, CPK_ERR_STATE, "session '%s' is no longer %s (another "
		    "request moved it on)", s->id, from);
	return st;
}

struct counts {
	cpk_status (*fn)(void *arg, const char *state, uint64_t count);
	void *arg;
};

static cpk_status
count_row(void *arg, size_t ncols, const char *const *v)
{
	struct counts *c = arg;

	if (ncols < 2 || v[0] == NULL || v[1] == NULL)
		return CPK_OK;
	return c->fn(c->arg, v[0], strtoull(v[1], NULL, 10));
}

cpk_status
registry_session_counts(struct registry *r,
    cpk_status (*fn)(void *arg, const char *state, uint64_t count), void *arg,
    struct cpk_error *err)
{
	struct counts c = { fn, arg };

	return registry_query_locked(r, "SELECT state, COUNT(*) FROM serve_sessions GROUP BY state "
	    "ORDER BY state", 0, NULL, count_row, &c, err);
}

struct stale {
	cpk_status (*fn)(void *arg, const char *id, const char *state, const char *bundle);
	void *arg;
	char (*ids)[REGISTRY_SESSION_ID_MAX + 1 + REGISTRY_SESSION_STATE_MAX + 1 +
	    REGISTRY_HEX_HASH];
	size_t n, cap;
	bool nomem;
};

/* Rows are kept, then handed to fn outside the query (fn may call the registry). */
static cpk_status
stale_row(void *arg, size_t ncols, const char *const *v)
{
	struct stale *s = arg;
	void *p;

	if (ncols < 3 || v[0] == NULL || v[1] == NULL)
		return CPK_OK;
	if (s->n == s->cap) {
		s->cap = s->cap == 0 ? 16 : 2 * s->cap;
		if ((p = realloc(s->ids, s->cap * sizeof(*s->ids))) == NULL) {
			s->nomem = true;
			return CPK_ERR_NOMEM;
		}
		s->ids = p;
	}
	snprintf(s->ids[s->n], sizeof(s->ids[0]), "%.64s|%.16s|%.64s", v[0], v[1],
	    v[2] != NULL ? v[2] : "");
	s->n++;
	return CPK_OK;
}

cpk_status
registry_session_stale(struct registry *r, uint64_t older_than,
    cpk_status (*fn)(void *arg, const char *id, const char *state, const char *bundle),
    void *arg, struct cpk_error *err)
{
	struct stale s;
	char at[24], *state, *bundle;
	const char *p = at;
	size_t i;
	cpk_status st;

	memset(&s, 0, sizeof(s));
	s.fn = fn;
	s.arg = arg;
	snprintf(at, sizeof(at), "%llu", (unsigned long long)older_than);
	st = registry_query_locked(r, "SELECT id, state, bundle_sha256 FROM serve_sessions "
	    "WHERE state IN ('handshake', 'identify', 'script') AND changed <= CAST($1 AS BIGINT) "
	    "ORDER BY changed", 1, &p, stale_row, &s, err);
	if (s.nomem)
		st = cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
	for (i = 0; st == CPK_OK && i < s.n; i++) {
		state = strchr(s.ids[i], '|');
		*state++ = '\0';
		bundle = strchr(state, '|');
		*bundle++ = '\0';
		st = fn(arg, s.ids[i], state, bundle);
	}
	free(s.ids);
	return st;
}

cpk_status
registry_session_set_state(struct registry *r, const char *id, const char *from,
    const char *to, const char *detail, struct cpk_error *err)
{
	char at[24];
	const char *p[5];
	bool updated = false;
	cpk_status st;

	snprintf(at, sizeof(at), "%llu", (unsigned long long)now());
	p[0] = id;
	p[1] = from;
	p[2] = to;
	p[3] = at;
	p[4] = detail;
	st = registry_query_locked(r, "UPDATE serve_sessions SET state = $3, "
	    "changed = CAST($4 AS BIGINT), detail = $5 WHERE id = $1 AND state = $2 RETURNING id",
	    5, p, seen, &updated, err);
	if (st == CPK_OK && !updated)
		st = cpk_error_set(err, CPK_ERR_STATE, "session '%s' is no longer %s", id, from);
	return st;
}
