/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: the issuance registry (see registry.h). The logic lives here once,
 * in SQL every back end speaks; the back ends (registry_int.h) only carry
 * statements to their store.
 */
#include "registry.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "registry_int.h"

/* The back ends: one entry each. */
static const struct registry_ops *const backends[] = {
	&registry_sqlite_ops,
	&registry_pg_ops,
};

struct registry {
	const struct registry_ops *ops;
	void *db;
	pthread_mutex_t mu;
	char shown[REGISTRY_URI_MAX + 64];
};

static const char *const state_names[REGISTRY_NSTATES] = {
	[REGISTRY_ISSUED] = "issued",
	[REGISTRY_LOADED] = "loaded",
	[REGISTRY_FAILED] = "failed",
	[REGISTRY_SUPERSEDED] = "superseded",
	[REGISTRY_REVOKED] = "revoked",
};

#define BUNDLE_COLUMNS "id, serial, kdd, iin, cin, profile, profile_sha256, bundle_sha256, " \
    "mode, counter, created, recorded, changed, state, reason, replaced_by, " \
    "data IS NOT NULL, (SELECT n.serial FROM bundles n WHERE n.bundle_sha256 = " \
    "bundles.replaced_by)"
#define NCOLUMNS 18

const char *
registry_state_name(enum registry_state s)
{
	return (unsigned)s < REGISTRY_NSTATES ? state_names[s] : "unknown";
}

bool
registry_state_parse(const char *name, enum registry_state *out)
{
	size_t i;

	for (i = 0; i < REGISTRY_NSTATES; i++) {
		if (strcmp(name, state_names[i]) == 0) {
			*out = (enum registry_state)i;
			return true;
		}
	}
	return false;
}

bool
registry_state_allowed(enum registry_state from, enum registry_state to)
{
	switch (from) {
	case REGISTRY_ISSUED:
		return to != REGISTRY_ISSUED;
	case REGISTRY_LOADED:
		return to == REGISTRY_REVOKED || to == REGISTRY_FAILED;
	case REGISTRY_FAILED:
		return to == REGISTRY_LOADED;
	default:
		return false;
	}
}

static uint64_t
now(void)
{
	time_t t = time(NULL);

	return t < 0 ? 0 : (uint64_t)t;
}

/* --- open, close --- */

static const struct registry_ops *
backend_for(const char *uri)
{
	size_t i, k;

	for (i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		for (k = 0; backends[i]->prefixes[k] != NULL; k++)
			if (strncmp(uri, backends[i]->prefixes[k],
			    strlen(backends[i]->prefixes[k])) == 0)
				return backends[i];
	return NULL;
}

cpk_status
registry_open(const char *uri, bool create, struct registry **out, struct cpk_error *err)
{
	struct registry *r = NULL;
	pthread_mutexattr_t attr;
	cpk_status st = CPK_ERR_ARG;

	*out = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		st = cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	registry_uri_redact(uri, r->shown, sizeof(r->shown));
	if (strlen(uri) >= REGISTRY_URI_MAX) {
		st = cpk_error_set(err, CPK_ERR_RANGE, "registry URI longer than %d bytes",
		    REGISTRY_URI_MAX - 1);
		goto out;
	}
	if ((r->ops = backend_for(uri)) == NULL) {
		st = cpk_error_set(err, CPK_ERR_ARG, "registry URI '%s': unknown kind of registry; "
		    "give sqlite:PATH, postgresql://... or postgres://...", r->shown);
		goto out;
	}
	/* Recursive: a walk's callback may ask the registry more (show: captured data). */
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&r->mu, &attr);
	pthread_mutexattr_destroy(&attr);
	if ((st = r->ops->open(uri, r->shown, create, &r->db, err)) != CPK_OK) {
		pthread_mutex_destroy(&r->mu);
		goto out;
	}
	*out = r;
	r = NULL;
out:
	free(r);
	return st;
}

void
registry_close(struct registry **r)
{
	if (r == NULL || *r == NULL)
		return;
	(*r)->ops->close((*r)->db);
	pthread_mutex_destroy(&(*r)->mu);
	free(*r);
	*r = NULL;
}

const char *
registry_name(const struct registry *r)
{
	return r->shown;
}

/* --- schema --- */

static cpk_status
one_row(void *arg, size_t ncols, const char *const *vals)
{
	bool *seen = arg;

	(void)ncols;
	(void)vals;
	*seen = true;
	return CPK_OK;
}

static cpk_status
int_column(void *arg, size_t ncols, const char *const *vals)
{
	long long *v = arg;

	if (ncols >= 1 && vals[0] != NULL)
		*v = strtoll(vals[0], NULL, 10);
	return CPK_OK;
}

static cpk_status
version_locked(struct registry *r, int *version, struct cpk_error *err)
{
	const char *name = "schema_version";
	long long v = -1;
	bool exists = false;
	cpk_status st;

	*version = 0;
	if ((st = r->ops->query(r->db, r->ops->table_exists_sql, 1, &name, one_row, &exists,
	    err)) != CPK_OK || !exists)
		return st;
	if ((st = r->ops->query(r->db, "SELECT MAX(version) FROM schema_version", 0, NULL,
	    int_column, &v, err)) != CPK_OK)
		return st;
	if (v < 1 || v > 1000000)
		return cpk_error_set(err, CPK_ERR_PARSE, "registry '%s': the schema_version table "
		    "holds no valid version", r->shown);
	*version = (int)v;
	return CPK_OK;
}

cpk_status
registry_version(struct registry *r, int *version, struct cpk_error *err)
{
	cpk_status st;

	pthread_mutex_lock(&r->mu);
	st = version_locked(r, version, err);
	pthread_mutex_unlock(&r->mu);
	return st;
}

static cpk_status
newer(const struct registry *r, int v, struct cpk_error *err)
{
	return cpk_error_set(err, CPK_ERR_UNSUPPORTED, "registry '%s' has schema version %d, "
	    "newer than this cardc knows (%d): use a newer cardc", r->shown, v,
	    REGISTRY_SCHEMA_VERSION);
}

/* One step, from version v to v + 1, in one transaction. */
static cpk_status
step(struct registry *r, int v, struct cpk_error *err)
{
	char ver[16];
	const char *param = ver;
	cpk_status st;

	snprintf(ver, sizeof(ver), "%d", v + 1);
	if ((st = r->ops->begin(r->db, err)) != CPK_OK)
		return st;
	if ((st = r->ops->script(r->db, r->ops->schema[v], err)) != CPK_OK ||
	    (st = r->ops->query(r->db, "DELETE FROM schema_version", 0, NULL, NULL, NULL,
	    err)) != CPK_OK ||
	    (st = r->ops->query(r->db, "INSERT INTO schema_version (version) VALUES "
	    "(CAST($1 AS INTEGER))", 1, &param, NULL, NULL, err)) != CPK_OK ||
	    (st = r->ops->commit(r->db, err)) != CPK_OK) {
		r->ops->rollback(r->db);
		cpk_error_prefix(err, "schema version %d to %d", v, v + 1);
		return st;
	}
	return CPK_OK;
}

static cpk_status
migrate_locked(struct registry *r, bool init, int *from, struct cpk_error *err)
{
	int v, k;
	cpk_status st;

	if ((st = version_locked(r, &v, err)) != CPK_OK)
		return st;
	if (from != NULL)
		*from = v;
	if (v > REGISTRY_SCHEMA_VERSION)
		return newer(r, v, err);
	if (init && v != 0)
		return cpk_error_set(err, CPK_ERR_STATE, "registry '%s' already has a schema "
		    "(version %d)%s", r->shown, v, v < REGISTRY_SCHEMA_VERSION ?
		    ": cardc registry migrate brings it up to date" : "");
	if ((size_t)REGISTRY_SCHEMA_VERSION > r->ops->nschema)
		return cpk_error_set(err, CPK_ERR_UNSUPPORTED, "the %s back end lacks schema steps",
		    r->ops->name);
	for (k = v; k < REGISTRY_SCHEMA_VERSION; k++)
		if ((st = step(r, k, err)) != CPK_OK)
			return st;
	return CPK_OK;
}

cpk_status
registry_init(struct registry *r, struct cpk_error *err)
{
	cpk_status st;

	pthread_mutex_lock(&r->mu);
	st = migrate_locked(r, true, NULL, err);
	pthread_mutex_unlock(&r->mu);
	return st;
}

cpk_status
registry_migrate(struct registry *r, int *from, struct cpk_error *err)
{
	cpk_status st;

	pthread_mutex_lock(&r->mu);
	st = migrate_locked(r, false, from, err);
	pthread_mutex_unlock(&r->mu);
	return st;
}

cpk_status
registry_check(struct registry *r, struct cpk_error *err)
{
	int v;
	cpk_status st;

	if ((st = registry_version(r, &v, err)) != CPK_OK)
		return st;
	if (v == 0)
		return cpk_error_set(err, CPK_ERR_STATE, "registry '%s' has no schema: run "
		    "cardc registry init", r->shown);
	if (v > REGISTRY_SCHEMA_VERSION)
		return newer(r, v, err);
	if (v < REGISTRY_SCHEMA_VERSION)
		return cpk_error_set(err, CPK_ERR_STATE, "registry '%s' has schema version %d, "
		    "older than this cardc's (%d): run cardc registry migrate", r->shown, v,
		    REGISTRY_SCHEMA_VERSION);
	return CPK_OK;
}

/* --- rows --- */

static void
copy(char *dst, size_t n, const char *v)
{
	snprintf(dst, n, "%s", v != NULL ? v : "");
}

static uint64_t
num(const char *v)
{
	return v != NULL ? strtoull(v, NULL, 10) : 0;
}

static cpk_status
to_row(size_t ncols, const char *const *v, struct registry_row *row)
{
	memset(row, 0, sizeof(*row));
	if (ncols < NCOLUMNS)
		return CPK_ERR_PARSE;
	row->id = v[0] != NULL ? strtoll(v[0], NULL, 10) : 0;
	copy(row->serial, sizeof(row->serial), v[1]);
	copy(row->kdd, sizeof(row->kdd), v[2]);
	copy(row->iin, sizeof(row->iin), v[3]);
	copy(row->cin, sizeof(row->cin), v[4]);
	copy(row->profile, sizeof(row->profile), v[5]);
	copy(row->profile_sha256, sizeof(row->profile_sha256), v[6]);
	copy(row->bundle_sha256, sizeof(row->bundle_sha256), v[7]);
	copy(row->mode, sizeof(row->mode), v[8]);
	copy(row->counter, sizeof(row->counter), v[9]);
	row->created = num(v[10]);
	row->recorded = num(v[11]);
	row->changed = num(v[12]);
	if (v[13] == NULL || !registry_state_parse(v[13], &row->state))
		return CPK_ERR_PARSE;
	copy(row->reason, sizeof(row->reason), v[14]);
	copy(row->replaced_by, sizeof(row->replaced_by), v[15]);
	/* SQLite: 1/0; PostgreSQL: t/f. */
	row->has_data = v[16] != NULL && (v[16][0] == '1' || v[16][0] == 't');
	copy(row->replaced_by_serial, sizeof(row->replaced_by_serial), v[17]);
	row->data = ncols > NCOLUMNS ? v[NCOLUMNS] : NULL;
	return CPK_OK;
}

struct walk {
	struct registry *r;
	registry_row_fn fn;
	void *arg;
	struct cpk_error *err;
	struct registry_row *one;	/* registry_find_bundle, the live-bundle lookup */
	size_t n;
};

static cpk_status
walk_row(void *arg, size_t ncols, const char *const *vals)
{
	struct walk *w = arg;
	struct registry_row row;

	if (to_row(ncols, vals, &row) != CPK_OK)
		return cpk_error_set(w->err, CPK_ERR_PARSE, "registry '%s': a bundle row with a "
		    "value cardc does not know (state '%s')", w->r->shown,
		    ncols > 13 && vals[13] != NULL ? vals[13] : "");
	w->n++;
	if (w->one != NULL) {
		*w->one = row;
		w->one->data = NULL;
		return CPK_OK;
	}
	return w->fn(w->arg, &row);
}

/* --- recording --- */

static cpk_status
log_event(struct registry *r, const char *serial, const char *hash, const char *event,
    const char *detail, struct cpk_error *err)
{
	char at[32];
	const char *p[5];

	snprintf(at, sizeof(at), "%llu", (unsigned long long)now());
	p[0] = at;
	p[1] = serial;
	p[2] = hash;
	p[3] = event;
	p[4] = detail;
	return r->ops->query(r->db, "INSERT INTO events (at, serial, bundle_sha256, event, detail) "
	    "VALUES (CAST($1 AS BIGINT), $2, $3, $4, $5)", 5, p, NULL, NULL, err);
}

/* The live bundle (neither failed nor superseded) of a card and counter, if any. */
static cpk_status
live_bundle(struct registry *r, const char *serial, const char *counter,
    struct registry_row *out, bool *found, struct cpk_error *err)
{
	struct walk w;
	const char *p[2] = { serial, counter };
	cpk_status st;

	memset(&w, 0, sizeof(w));
	w.r = r;
	w.err = err;
	w.one = out;
	st = r->ops->query(r->db, "SELECT " BUNDLE_COLUMNS " FROM bundles WHERE serial = $1 "
	    "AND counter = $2 AND state NOT IN ('failed', 'superseded')", 2, p, walk_row, &w, err);
	*found = w.n > 0;
	return st;
}

static cpk_status
refuse(struct registry *r, const struct registry_issue *in, const struct registry_row *old,
    struct cpk_error *err)
{
	if (in->supersede == NULL || old->state != REGISTRY_ISSUED)
		return cpk_error_set(err, CPK_ERR_STATE, "card %s, counter %s: bundle %s is "
		    "already recorded for it (%s) in registry '%s'; a second bundle for the "
		    "same card and counter is refused%s", in->serial, in->counter,
		    old->bundle_sha256, registry_state_name(old->state), r->shown,
		    old->state == REGISTRY_ISSUED ? " unless that one is recorded failed or "
		    "superseded (--supersede REASON)" : "");
	return CPK_OK;
}

static cpk_status
supersede(struct registry *r, const struct registry_issue *in, const struct registry_row *old,
    struct cpk_error *err)
{
	char at[32];
	const char *p[4];
	cpk_status st;

	snprintf(at, sizeof(at), "%llu", (unsigned long long)now());
	p[0] = old->bundle_sha256;
	p[1] = in->supersede;
	p[2] = in->bundle_sha256;
	p[3] = at;
	if ((st = r->ops->query(r->db, "UPDATE bundles SET state = 'superseded', reason = $2, "
	    "replaced_by = $3, changed = CAST($4 AS BIGINT) WHERE bundle_sha256 = $1", 4, p,
	    NULL, NULL, err)) != CPK_OK)
		return st;
	return log_event(r, in->serial, old->bundle_sha256, "superseded", in->supersede, err);
}

static cpk_status
insert_bundle(struct registry *r, const struct registry_issue *in, struct cpk_error *err)
{
	char created[32], at[32];
	const char *p[14];
	cpk_status st;

	snprintf(created, sizeof(created), "%llu", (unsigned long long)in->created);
	snprintf(at, sizeof(at), "%llu", (unsigned long long)now());
	p[0] = in->serial;
	p[1] = in->kdd;
	p[2] = in->iin;
	p[3] = in->cin;
	p[4] = in->profile;
	p[5] = in->profile_sha256;
	p[6] = in->bundle_sha256;
	p[7] = in->mode;
	p[8] = in->counter;
	p[9] = created;
	p[10] = at;
	p[11] = in->data;
	if ((st = r->ops->query(r->db, "INSERT INTO bundles (serial, kdd, iin, cin, profile, "
	    "profile_sha256, bundle_sha256, mode, counter, created, recorded, changed, state, "
	    "data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, CAST($10 AS BIGINT), "
	    "CAST($11 AS BIGINT), CAST($11 AS BIGINT), 'issued', $12)", 12, p, NULL, NULL,
	    err)) != CPK_OK)
		return st;
	return log_event(r, in->serial, in->bundle_sha256, "issued", in->profile, err);
}

/* --- revoked cards --- */

static cpk_status
revocation_row(void *arg, size_t ncols, const char *const *v)
{
	struct registry_revocation *rv = arg;

	if (rv->revoked)
		return CPK_OK;
	if (ncols < 4)
		return CPK_ERR_PARSE;
	rv->revoked = true;
	copy(rv->bundle_sha256, sizeof(rv->bundle_sha256), v[0]);
	copy(rv->reason, sizeof(rv->reason), v[1]);
	copy(rv->replaced_by, sizeof(rv->replaced_by), v[2]);
	copy(rv->replaced_by_serial, sizeof(rv->replaced_by_serial), v[3]);
	return CPK_OK;
}

static cpk_status
revoked_locked(struct registry *r, const char *serial, struct registry_revocation *out,
    struct cpk_error *err)
{
	memset(out, 0, sizeof(*out));
	return r->ops->query(r->db, "SELECT b.bundle_sha256, b.reason, b.replaced_by, n.serial "
	    "FROM bundles b LEFT JOIN bundles n ON n.bundle_sha256 = b.replaced_by "
	    "WHERE b.serial = $1 AND b.state = 'revoked' ORDER BY b.id DESC", 1, &serial,
	    revocation_row, out, err);
}

/* CPK_ERR_STATE naming what replaced a revoked card; CPK_OK if it is not revoked. */
static cpk_status
revoked_message(const char *serial, const struct registry_revocation *rv, const char *what,
    struct cpk_error *err)
{
	const char *why = rv->reason[0] != '\0' ? rv->reason : "no reason given";

	if (!rv->revoked)
		return CPK_OK;
	if (rv->replaced_by_serial[0] != '\0')
		return cpk_error_set(err, CPK_ERR_STATE, "card %s is revoked (%s), replaced by "
		    "card %s (bundle %.16s...): %s", serial, why, rv->replaced_by_serial,
		    rv->replaced_by, what);
	return cpk_error_set(err, CPK_ERR_STATE, "card %s is revoked (%s; bundle %.16s...): %s",
	    serial, why, rv->bundle_sha256, what);
}

static cpk_status
refuse_revoked_locked(struct registry *r, const char *serial, const char *what,
    struct cpk_error *err)
{
	struct registry_revocation rv;
	cpk_status st;

	if ((st = revoked_locked(r, serial, &rv, err)) != CPK_OK)
		return st;
	return revoked_message(serial, &rv, what, err);
}

cpk_status
registry_card_revoked(struct registry *r, const char *serial, struct registry_revocation *out,
    struct cpk_error *err)
{
	cpk_status st;

	pthread_mutex_lock(&r->mu);
	st = revoked_locked(r, serial, out, err);
	pthread_mutex_unlock(&r->mu);
	return st;
}

cpk_status
registry_refuse_revoked(struct registry *r, const char *serial, const char *what,
    struct cpk_error *err)
{
	struct registry_revocation rv;
	cpk_status st;

	if ((st = registry_card_revoked(r, serial, &rv, err)) != CPK_OK)
		return st;
	return revoked_message(serial, &rv, what, err);
}

#define NO_NEW_BUNDLE "a revoked card gets no new bundle"

/* One attempt, in one transaction. */
static cpk_status
record_once(struct registry *r, const struct registry_issue *in, bool *refused,
    struct cpk_error *err)
{
	struct registry_row old;
	bool found;
	cpk_status st;

	*refused = false;
	if ((st = r->ops->begin(r->db, err)) != CPK_OK)
		return st;
	if ((st = refuse_revoked_locked(r, in->serial, NO_NEW_BUNDLE, err)) != CPK_OK) {
		*refused = st == CPK_ERR_STATE;
		goto out;
	}
	if ((st = live_bundle(r, in->serial, in->counter, &old, &found, err)) != CPK_OK)
		goto out;
	/* These very bytes again (the same inputs compile to the same bundle): recorded. */
	if (found && strcmp(old.bundle_sha256, in->bundle_sha256) == 0) {
		st = r->ops->commit(r->db, err);
		goto out;
	}
	if (found && (st = refuse(r, in, &old, err)) != CPK_OK) {
		*refused = true;
		goto out;
	}
	if (found && (st = supersede(r, in, &old, err)) != CPK_OK)
		goto out;
	if ((st = insert_bundle(r, in, err)) != CPK_OK)
		goto out;
	st = r->ops->commit(r->db, err);
out:
	if (st != CPK_OK)
		r->ops->rollback(r->db);
	return st;
}

static cpk_status
check_issue(const struct registry_issue *in, struct cpk_error *err)
{
	if (in->serial == NULL || in->serial[0] == '\0')
		return cpk_error_set(err, CPK_ERR_ARG, "the card record has no 'serial': the "
		    "registry records each card by its serial");
	if (strlen(in->serial) > REGISTRY_SERIAL_MAX || in->kdd == NULL || in->profile == NULL ||
	    in->profile_sha256 == NULL || in->bundle_sha256 == NULL || in->mode == NULL ||
	    in->counter == NULL || strlen(in->counter) > REGISTRY_COUNTER_MAX ||
	    strlen(in->profile) > REGISTRY_NAME_MAX)
		return cpk_error_set(err, CPK_ERR_ARG, "registry: incomplete bundle record");
	if (in->supersede != NULL && strlen(in->supersede) > REGISTRY_REASON_MAX)
		return cpk_error_set(err, CPK_ERR_RANGE, "the reason is longer than %d bytes",
		    REGISTRY_REASON_MAX);
	return CPK_OK;
}

cpk_status
registry_record(struct registry *r, const struct registry_issue *in, struct cpk_error *err)
{
	bool refused;
	cpk_status st;

	if ((st = check_issue(in, err)) != CPK_OK)
		return st;
	pthread_mutex_lock(&r->mu);
	/*
	 * A unique violation means another writer recorded a bundle for this
	 * card and counter (or these very bytes) since our look: look again,
	 * once, to name it.
	 */
	if ((st = record_once(r, in, &refused, err)) == CPK_ERR_STATE && !refused)
		st = record_once(r, in, &refused, err);
	if (st == CPK_ERR_STATE && !refused)
		st = cpk_error_set(err, CPK_ERR_STATE, "bundle %s of card %s is already in "
		    "registry '%s'", in->bundle_sha256, in->serial, r->shown);
	pthread_mutex_unlock(&r->mu);
	return st;
}

/* One bundle by its SHA-256, the lock held (CPK_ERR_NOT_FOUND if none). */
static cpk_status
bundle_locked(struct registry *r, const char *hash, struct registry_row *out,
    struct cpk_error *err)
{
	struct walk w;
	cpk_status st;

	memset(&w, 0, sizeof(w));
	w.r = r;
	w.err = err;
	w.one = out;
	st = r->ops->query(r->db, "SELECT " BUNDLE_COLUMNS " FROM bundles WHERE "
	    "bundle_sha256 = $1", 1, &hash, walk_row, &w, err);
	if (st == CPK_OK && w.n == 0)
		st = cpk_error_set(err, CPK_ERR_NOT_FOUND, "no bundle %s in registry '%s'", hash,
		    r->shown);
	return st;
}

/* --- re-issue --- */

struct hashes {
	char (*h)[REGISTRY_HEX_HASH];
	size_t n, cap;
};

static cpk_status
hash_row(void *arg, size_t ncols, const char *const *v)
{
	struct hashes *hs = arg;
	char (*nh)[REGISTRY_HEX_HASH];

	if (ncols < 1 || v[0] == NULL)
		return CPK_ERR_PARSE;
	if (hs->n == hs->cap) {
		if (hs->cap > SIZE_MAX / 2 / sizeof(*nh) ||
		    (nh = realloc(hs->h, (hs->cap * 2 + 4) * sizeof(*nh))) == NULL)
			return CPK_ERR_NOMEM;
		hs->h = nh;
		hs->cap = hs->cap * 2 + 4;
	}
	copy(hs->h[hs->n++], REGISTRY_HEX_HASH, v[0]);
	return CPK_OK;
}

/* The new card: not revoked, no live bundle. */
static cpk_status
reissue_check_new(struct registry *r, const struct registry_issue *in, struct cpk_error *err)
{
	struct hashes live;
	const char *p = in->serial;
	cpk_status st;

	memset(&live, 0, sizeof(live));
	if ((st = refuse_revoked_locked(r, in->serial, "a re-issue goes to a card that is not "
	    "revoked", err)) != CPK_OK)
		goto out;
	if ((st = r->ops->query(r->db, "SELECT bundle_sha256 FROM bundles WHERE serial = $1 AND "
	    "state IN ('issued', 'loaded') ORDER BY id", 1, &p, hash_row, &live, err)) != CPK_OK) {
		if (st == CPK_ERR_NOMEM)
			st = cpk_error_set(err, st, "out of memory");
		goto out;
	}
	if (live.n > 0)
		st = cpk_error_set(err, CPK_ERR_STATE, "card %s already has a live bundle (%s, "
		    "issued or loaded) in registry '%s': a re-issue goes to a new card",
		    in->serial, live.h[0], r->shown);
out:
	free(live.h);
	return st;
}

/* Revoke every issued or loaded bundle of the lost card, linked to the new bundle. */
static cpk_status
reissue_revoke(struct registry *r, const struct registry_issue *in, const char *lost,
    const char *source, const char *reason, struct cpk_error *err)
{
	struct hashes gone;
	char at[32];
	const char *p[4];
	size_t i;
	cpk_status st;

	memset(&gone, 0, sizeof(gone));
	snprintf(at, sizeof(at), "%llu", (unsigned long long)now());
	p[0] = lost;
	p[1] = reason;
	p[2] = in->bundle_sha256;
	p[3] = at;
	/* Row locks: of two concurrent re-issues, the second finds nothing left to revoke. */
	if ((st = r->ops->query(r->db, "UPDATE bundles SET state = 'revoked', reason = $2, "
	    "replaced_by = $3, changed = CAST($4 AS BIGINT) WHERE serial = $1 AND state IN "
	    "('issued', 'loaded') RETURNING bundle_sha256", 4, p, hash_row, &gone,
	    err)) != CPK_OK) {
		if (st == CPK_ERR_NOMEM)
			st = cpk_error_set(err, st, "out of memory");
		goto out;
	}
	if (gone.n == 0) {
		if ((st = refuse_revoked_locked(r, lost, "it was re-issued already", err)) == CPK_OK)
			st = cpk_error_set(err, CPK_ERR_STATE, "card %s has no issued or loaded bundle "
			    "in registry '%s': nothing to re-issue", lost, r->shown);
		goto out;
	}
	/*
	 * The data was read before this transaction: if its bundle is no longer
	 * live (superseded by a bundle with other data meanwhile), the new
	 * bundle would carry stale data.
	 */
	for (i = 0; i < gone.n && strcmp(gone.h[i], source) != 0; i++)
		;
	if (i == gone.n) {
		st = cpk_error_set(err, CPK_ERR_STATE, "card %s changed while it was re-issued: "
		    "bundle %s, whose data the new bundle carries, is no longer issued or loaded "
		    "in registry '%s': nothing was recorded; re-issue again", lost, source,
		    r->shown);
		goto out;
	}
	for (i = 0; i < gone.n && st == CPK_OK; i++)
		st = log_event(r, lost, gone.h[i], "revoked", reason, err);
	if (st == CPK_OK)
		st = log_event(r, lost, in->bundle_sha256, "reissued-as", in->serial, err);
out:
	free(gone.h);
	return st;
}

static cpk_status
reissue_locked(struct registry *r, const struct registry_issue *in, const char *lost,
    const char *source, const char *reason, struct cpk_error *err)
{
	bool known = false;
	cpk_status st;

	if ((st = r->ops->begin(r->db, err)) != CPK_OK)
		return st;
	if ((st = r->ops->query(r->db, "SELECT 1 FROM bundles WHERE serial = $1 LIMIT 1", 1,
	    &lost, one_row, &known, err)) != CPK_OK)
		goto out;
	if (!known) {
		st = cpk_error_set(err, CPK_ERR_NOT_FOUND, "no card %s in registry '%s': only a "
		    "card the registry issued can be re-issued", lost, r->shown);
		goto out;
	}
	if ((st = refuse_revoked_locked(r, lost, "it was re-issued already", err)) != CPK_OK ||
	    (st = reissue_check_new(r, in, err)) != CPK_OK ||
	    (st = reissue_revoke(r, in, lost, source, reason, err)) != CPK_OK)
		goto out;
	if ((st = insert_bundle(r, in, err)) == CPK_ERR_STATE) {
		/* A unique index: another writer recorded this card or these bytes meanwhile. */
		st = cpk_error_set(err, CPK_ERR_STATE, "card %s: another bundle was recorded for "
		    "it meanwhile (or bundle %s is recorded already) in registry '%s'", in->serial,
		    in->bundle_sha256, r->shown);
		goto out;
	}
	if (st != CPK_OK ||
	    (st = log_event(r, in->serial, in->bundle_sha256, "reissue-of", lost, err)) != CPK_OK)
		goto out;
	st = r->ops->commit(r->db, err);
out:
	if (st != CPK_OK)
		r->ops->rollback(r->db);
	return st;
}

cpk_status
registry_reissue(struct registry *r, const struct registry_issue *in, const char *lost_serial,
    const char *source_sha256, const char *reason, struct cpk_error *err)
{
	char why[REGISTRY_REASON_MAX + 1];
	int n;
	cpk_status st;

	if ((st = check_issue(in, err)) != CPK_OK)
		return st;
	if (in->supersede != NULL)
		return cpk_error_set(err, CPK_ERR_ARG, "registry: a re-issue supersedes nothing");
	if (lost_serial == NULL || lost_serial[0] == '\0' ||
	    strlen(lost_serial) > REGISTRY_SERIAL_MAX)
		return cpk_error_set(err, CPK_ERR_ARG, "registry: no lost card's serial");
	if (source_sha256 == NULL || strlen(source_sha256) != REGISTRY_HEX_HASH - 1)
		return cpk_error_set(err, CPK_ERR_ARG, "registry: no source bundle for the re-issue");
	if (strcmp(lost_serial, in->serial) == 0)
		return cpk_error_set(err, CPK_ERR_ARG, "card %s cannot be re-issued as itself: "
		    "the new card record must be another card's (its own serial)", lost_serial);
	if (reason == NULL) {
		n = snprintf(why, sizeof(why), "lost; re-issued as card %s", in->serial);
		if (n < 0 || (size_t)n >= sizeof(why))
			return cpk_error_set(err, CPK_ERR_RANGE, "registry: serial too long");
		reason = why;
	}
	if (strlen(reason) > REGISTRY_REASON_MAX)
		return cpk_error_set(err, CPK_ERR_RANGE, "the reason is longer than %d bytes",
		    REGISTRY_REASON_MAX);
	pthread_mutex_lock(&r->mu);
	st = reissue_locked(r, in, lost_serial, source_sha256, reason, err);
	pthread_mutex_unlock(&r->mu);
	return st;
}

/* --- states --- */

static cpk_status
set_state_locked(struct registry *r, const char *hash, enum registry_state to,
    const char *reason, const char *replaced_by, struct cpk_error *err)
{
	struct registry_row row;
	char at[32], detail[REGISTRY_REASON_MAX + 64];
	const char *p[5];
	cpk_status st;

	if ((st = r->ops->begin(r->db, err)) != CPK_OK)
		return st;
	if ((st = bundle_locked(r, hash, &row, err)) != CPK_OK)
		goto out;
	if (!registry_state_allowed(row.state, to)) {
		st = cpk_error_set(err, CPK_ERR_STATE, "bundle %s of card %s is %s: it cannot "
		    "become %s", hash, row.serial, registry_state_name(row.state),
		    registry_state_name(to));
		goto out;
	}
	snprintf(at, sizeof(at), "%llu", (unsigned long long)now());
	p[0] = hash;
	p[1] = registry_state_name(to);
	p[2] = reason;
	p[3] = replaced_by;
	p[4] = at;
	if ((st = r->ops->query(r->db, "UPDATE bundles SET state = $2, reason = $3, "
	    "replaced_by = COALESCE($4, replaced_by), changed = CAST($5 AS BIGINT) "
	    "WHERE bundle_sha256 = $1", 5, p, NULL, NULL, err)) != CPK_OK)
		goto out;
	snprintf(detail, sizeof(detail), "%s -> %s%s%s", registry_state_name(row.state),
	    registry_state_name(to), reason != NULL ? ": " : "", reason != NULL ? reason : "");
	if ((st = log_event(r, row.serial, hash, registry_state_name(to), detail, err)) != CPK_OK)
		goto out;
	st = r->ops->commit(r->db, err);
out:
	if (st != CPK_OK)
		r->ops->rollback(r->db);
	return st;
}

cpk_status
registry_set_state(struct registry *r, const char *bundle_sha256, enum registry_state to,
    const char *reason, const char *replaced_by, struct cpk_error *err)
{
	cpk_status st;

	if (reason != NULL && strlen(reason) > REGISTRY_REASON_MAX)
		return cpk_error_set(err, CPK_ERR_RANGE, "the reason is longer than %d bytes",
		    REGISTRY_REASON_MAX);
	pthread_mutex_lock(&r->mu);
	st = set_state_locked(r, bundle_sha256, to, reason, replaced_by, err);
	pthread_mutex_unlock(&r->mu);
	return st;
}

/* --- receipts --- */

static cpk_status
capture_value(void *arg, size_t ncols, const char *const *v)
{
	char *out = arg;

	if (ncols >= 1 && v[0] != NULL)
		snprintf(out, 2 * REGISTRY_CAPTURE_VALUE_MAX + 1, "%s", v[0]);
	return CPK_OK;
}

/* Keep one captured value; the same name again must have the same value. */
static cpk_status
capture_locked(struct registry *r, const char *hash, const struct registry_capture *c,
    const char *at, struct cpk_error *err)
{
	char old[2 * REGISTRY_CAPTURE_VALUE_MAX + 1];
	const char *p[4] = { hash, c->name, c->value_hex, at };
	cpk_status st;

	old[0] = '\0';
	if ((st = r->ops->query(r->db, "SELECT value FROM captured WHERE bundle_sha256 = $1 AND "
	    "name = $2", 2, p, capture_value, old, err)) != CPK_OK)
		return st;
	if (old[0] != '\0') {
		if (strcmp(old, c->value_hex) == 0)
			return CPK_OK;
		return cpk_error_set(err, CPK_ERR_STATE, "bundle %s already has a captured '%s' "
		    "with another value: a receipt with a different answer was imported before",
		    hash, c->name);
	}
	return r->ops->query(r->db, "INSERT INTO captured (bundle_sha256, name, value, at) "
	    "VALUES ($1, $2, $3, CAST($4 AS BIGINT))", 4, p, NULL, NULL, err);
}

static cpk_status
count_rows(void *arg, size_t ncols, const char *const *v)
{
	(void)ncols;
	(void)v;
	(*(size_t *)arg)++;
	return CPK_OK;
}

/* Why a receipt for this bundle cannot be recorded (CPK_ERR_STATE), or CPK_OK. */
static cpk_status
import_refusal(struct registry *r, const struct registry_row *row, struct cpk_error *err)
{
	cpk_status st;

	if ((st = refuse_revoked_locked(r, row->serial, "its receipts are not recorded",
	    err)) != CPK_OK)
		return st;
	if (row->state == REGISTRY_SUPERSEDED)
		return cpk_error_set(err, CPK_ERR_STATE, "bundle %s of card %s was superseded%s%s%s "
		    "by bundle %s: its receipt is not recorded", row->bundle_sha256, row->serial,
		    row->reason[0] != '\0' ? " (" : "", row->reason, row->reason[0] != '\0' ? ")" :
		    "", row->replaced_by[0] != '\0' ? row->replaced_by : "(unknown)");
	return CPK_OK;
}

/*
 * One attempt. *lost: another import changed the bundle between this
 * transaction's read and its update (READ COMMITTED in PostgreSQL), so the
 * caller tries again from the new state.
 */
static cpk_status
import_locked(struct registry *r, const struct registry_receipt *in,
    struct registry_import_result *out, bool *lost, struct cpk_error *err)
{
	struct registry_row row;
	char at[32], detail[REGISTRY_REASON_MAX + 64];
	const char *p[5];
	size_t i, updated = 0;
	cpk_status st;

	if ((st = r->ops->begin(r->db, err)) != CPK_OK)
		return st;
	if ((st = bundle_locked(r, in->bundle_sha256, &row, err)) != CPK_OK)
		goto out;
	snprintf(out->serial, sizeof(out->serial), "%s", row.serial);
	out->before = out->after = row.state;
	if ((st = import_refusal(r, &row, err)) != CPK_OK)
		goto out;
	snprintf(at, sizeof(at), "%llu", (unsigned long long)now());
	/* A receipt never undoes a proven load, and a second failure changes nothing. */
	if (row.state == in->state || row.state == REGISTRY_LOADED) {
		/* The same load again may still bring its captures (an earlier import's). */
		for (i = 0; in->state == REGISTRY_LOADED && i < in->ncaptures; i++)
			if ((st = capture_locked(r, in->bundle_sha256, &in->captures[i], at,
			    err)) != CPK_OK)
				goto out;
		st = r->ops->commit(r->db, err);
		goto out;
	}
	for (i = 0; i < in->ncaptures; i++)
		if ((st = capture_locked(r, in->bundle_sha256, &in->captures[i], at, err)) != CPK_OK)
			goto out;
	p[0] = in->bundle_sha256;
	p[1] = registry_state_name(in->state);
	p[2] = in->reason;
	p[3] = at;
	p[4] = registry_state_name(row.state);
	/* Only from the state read above: a concurrent import that won is not overwritten. */
	if ((st = r->ops->query(r->db, "UPDATE bundles SET state = $2, reason = $3, changed = "
	    "CAST($4 AS BIGINT) WHERE bundle_sha256 = $1 AND state = $5 RETURNING id", 5, p,
	    count_rows, &updated, err)) != CPK_OK)
		goto out;
	if (updated != 1) {
		*lost = true;
		st = cpk_error_set(err, CPK_ERR_IO, "bundle %s kept changing state while its "
		    "receipt was imported: import it again", in->bundle_sha256);
		goto out;
	}
	snprintf(detail, sizeof(detail), "%s -> %s: %s", registry_state_name(row.state),
	    registry_state_name(in->state), in->reason);
	if ((st = log_event(r, row.serial, in->bundle_sha256, "receipt", detail, err)) != CPK_OK ||
	    (st = r->ops->commit(r->db, err)) != CPK_OK)
		goto out;
	out->after = in->state;
	out->changed = true;
out:
	if (st != CPK_OK)
		r->ops->rollback(r->db);
	return st;
}

/* Lost races before an import gives up (each loss is another import's success). */
#define IMPORT_ATTEMPTS 3

cpk_status
registry_import(struct registry *r, const struct registry_receipt *in,
    struct registry_import_result *out, struct cpk_error *err)
{
	size_t i, attempt;
	bool lost;
	cpk_status st;

	memset(out, 0, sizeof(*out));
	if (in->state != REGISTRY_LOADED && in->state != REGISTRY_FAILED)
		return cpk_error_set(err, CPK_ERR_ARG, "a receipt records loaded or failed, "
		    "not %s", registry_state_name(in->state));
	if (in->reason == NULL || strlen(in->reason) > REGISTRY_REASON_MAX)
		return cpk_error_set(err, CPK_ERR_RANGE, "a receipt's reason must be given, at "
		    "most %d bytes", REGISTRY_REASON_MAX);
	if (in->ncaptures > REGISTRY_CAPTURES_MAX)
		return cpk_error_set(err, CPK_ERR_RANGE, "more than %d captured values",
		    REGISTRY_CAPTURES_MAX);
	for (i = 0; i < in->ncaptures; i++)
		if (strlen(in->captures[i].name) > REGISTRY_CAPTURE_NAME_MAX ||
		    strlen(in->captures[i].value_hex) > 2 * REGISTRY_CAPTURE_VALUE_MAX)
			return cpk_error_set(err, CPK_ERR_RANGE, "captured value '%.40s' is over "
			    "the limits", in->captures[i].name);
	pthread_mutex_lock(&r->mu);
	for (attempt = 0; attempt < IMPORT_ATTEMPTS; attempt++) {
		lost = false;
		memset(out, 0, sizeof(*out));
		if ((st = import_locked(r, in, out, &lost, err)) == CPK_OK || !lost)
			break;
		if (attempt + 1 < IMPORT_ATTEMPTS)
			cpk_error_clear(err);
	}
	pthread_mutex_unlock(&r->mu);
	return st;
}

/* --- reading --- */

cpk_status
registry_list(struct registry *r, const struct registry_filter *f, registry_row_fn fn,
    void *arg, struct cpk_error *err)
{
	struct walk w;
	const char *p[3];
	cpk_status st;

	memset(&w, 0, sizeof(w));
	w.r = r;
	w.fn = fn;
	w.arg = arg;
	w.err = err;
	p[0] = f != NULL ? f->serial : NULL;
	p[1] = f != NULL ? f->bundle_sha256 : NULL;
	p[2] = f != NULL ? f->profile : NULL;
	pthread_mutex_lock(&r->mu);
	if (f != NULL && f->with_data)
		st = r->ops->query(r->db, "SELECT " BUNDLE_COLUMNS ", data FROM bundles WHERE "
		    "(CAST($1 AS TEXT) IS NULL OR serial = $1) AND "
		    "(CAST($2 AS TEXT) IS NULL OR bundle_sha256 = $2) AND "
		    "(CAST($3 AS TEXT) IS NULL OR profile = $3) ORDER BY id", 3, p, walk_row, &w,
		    err);
	else
		st = r->ops->query(r->db, "SELECT " BUNDLE_COLUMNS " FROM bundles WHERE "
		    "(CAST($1 AS TEXT) IS NULL OR serial = $1) AND "
		    "(CAST($2 AS TEXT) IS NULL OR bundle_sha256 = $2) AND "
		    "(CAST($3 AS TEXT) IS NULL OR profile = $3) ORDER BY id", 3, p, walk_row, &w,
		    err);
	pthread_mutex_unlock(&r->mu);
	return st;
}

cpk_status
registry_find_bundle(struct registry *r, const char *bundle_sha256, struct registry_row *out,
    struct cpk_error *err)
{
	cpk_status st;

	pthread_mutex_lock(&r->mu);
	st = bundle_locked(r, bundle_sha256, out, err);
	pthread_mutex_unlock(&r->mu);
	return st;
}

struct event_walk {
	registry_event_fn fn;
	void *arg;
};

static cpk_status
event_row(void *arg, size_t ncols, const char *const *v)
{
	struct event_walk *w = arg;
	struct registry_event ev;

	memset(&ev, 0, sizeof(ev));
	if (ncols < 4)
		return CPK_ERR_PARSE;
	ev.at = num(v[0]);
	copy(ev.bundle_sha256, sizeof(ev.bundle_sha256), v[1]);
	copy(ev.event, sizeof(ev.event), v[2]);
	copy(ev.detail, sizeof(ev.detail), v[3]);
	if (ncols > 4)
		copy(ev.serial, sizeof(ev.serial), v[4]);
	return w->fn(w->arg, &ev);
}

cpk_status
registry_events(struct registry *r, const char *serial, registry_event_fn fn, void *arg,
    struct cpk_error *err)
{
	struct event_walk w = { fn, arg };
	cpk_status st;

	pthread_mutex_lock(&r->mu);
	st = r->ops->query(r->db, "SELECT at, bundle_sha256, event, detail, serial FROM events "
	    "WHERE CAST($1 AS TEXT) IS NULL OR serial = $1 ORDER BY id", 1, &serial, event_row,
	    &w, err);
	pthread_mutex_unlock(&r->mu);
	return st;
}

struct captured_walk {
	cpk_status (*fn)(void *arg, const char *name, const char *value);
	void *arg;
};

static cpk_status
captured_row(void *arg, size_t ncols, const char *const *v)
{
	struct captured_walk *w = arg;

	if (ncols < 2 || v[0] == NULL || v[1] == NULL)
		return CPK_ERR_PARSE;
	return w->fn(w->arg, v[0], v[1]);
}

cpk_status
registry_captured(struct registry *r, const char *bundle_sha256,
    cpk_status (*fn)(void *arg, const char *name, const char *value), void *arg,
    struct cpk_error *err)
{
	struct captured_walk w = { fn, arg };
	cpk_status st;

	pthread_mutex_lock(&r->mu);
	st = r->ops->query(r->db, "SELECT name, value FROM captured WHERE bundle_sha256 = $1 "
	    "ORDER BY name", 1, &bundle_sha256, captured_row, &w, err);
	pthread_mutex_unlock(&r->mu);
	return st;
}

struct summary_walk {
	struct registry_summary_row row;
	bool have;
	registry_summary_fn fn;
	void *arg;
};

static cpk_status
summary_row(void *arg, size_t ncols, const char *const *v)
{
	struct summary_walk *w = arg;
	enum registry_state s;
	cpk_status st;

	if (ncols < 3 || v[0] == NULL || v[1] == NULL || !registry_state_parse(v[1], &s))
		return CPK_ERR_PARSE;
	if (w->have && strcmp(w->row.profile, v[0]) != 0) {
		if ((st = w->fn(w->arg, &w->row)) != CPK_OK)
			return st;
		w->have = false;
	}
	if (!w->have) {
		memset(&w->row, 0, sizeof(w->row));
		copy(w->row.profile, sizeof(w->row.profile), v[0]);
		w->have = true;
	}
	w->row.count[s] += num(v[2]);
	return CPK_OK;
}

cpk_status
registry_summary(struct registry *r, registry_summary_fn fn, void *arg, struct cpk_error *err)
{
	struct summary_walk w;
	cpk_status st;

	memset(&w, 0, sizeof(w));
	w.fn = fn;
	w.arg = arg;
	pthread_mutex_lock(&r->mu);
	st = r->ops->query(r->db, "SELECT profile, state, COUNT(*) FROM bundles "
	    "GROUP BY profile, state ORDER BY profile, state", 0, NULL, summary_row, &w, err);
	pthread_mutex_unlock(&r->mu);
	if (st == CPK_OK && w.have)
		st = fn(arg, &w.row);
	return st;
}

/* n bundles in one transaction; a driver error (a lost race, the connection) undoes all. */
static cpk_status
record_group(struct registry *r, const struct registry_issue *in, size_t n, cpk_status *st,
    struct cpk_error *errs, struct cpk_error *err)
{
	struct registry_row old;
	bool found;
	size_t i;
	cpk_status ret;

	if ((ret = r->ops->begin(r->db, err)) != CPK_OK)
		return ret;
	for (i = 0; i < n; i++) {
		cpk_error_clear(&errs[i]);
		if ((st[i] = check_issue(&in[i], &errs[i])) != CPK_OK)
			continue;
		if ((st[i] = refuse_revoked_locked(r, in[i].serial, NO_NEW_BUNDLE,
		    &errs[i])) == CPK_ERR_STATE)
			continue;
		if (st[i] != CPK_OK) {
			ret = cpk_error_set(err, st[i], "%s", errs[i].msg);
			goto fail;
		}
		if ((ret = live_bundle(r, in[i].serial, in[i].counter, &old, &found, err)) != CPK_OK)
			goto fail;
		if (found && strcmp(old.bundle_sha256, in[i].bundle_sha256) == 0)
			continue;
		if (found && (st[i] = refuse(r, &in[i], &old, &errs[i])) != CPK_OK)
			continue;
		if ((found && (ret = supersede(r, &in[i], &old, err)) != CPK_OK) ||
		    (ret = insert_bundle(r, &in[i], err)) != CPK_OK)
			goto fail;
	}
	if ((ret = r->ops->commit(r->db, err)) != CPK_OK)
		goto fail;
	return CPK_OK;
fail:
	r->ops->rollback(r->db);
	return ret;
}

cpk_status
registry_record_many(struct registry *r, const struct registry_issue *in, size_t n,
    cpk_status *st, struct cpk_error *errs)
{
	struct cpk_error err;
	cpk_status ret = CPK_OK;
	size_t i;

	cpk_error_clear(&err);
	pthread_mutex_lock(&r->mu);
	if (record_group(r, in, n, st, errs, &err) != CPK_OK) {
		/* One by one: each gets its own outcome and message. */
		for (i = 0; i < n; i++) {
			cpk_error_clear(&errs[i]);
			st[i] = registry_record(r, &in[i], &errs[i]);
		}
	}
	pthread_mutex_unlock(&r->mu);
	for (i = 0; i < n && ret == CPK_OK; i++)
		ret = st[i];
	return ret;
}

cpk_status
registry_query_locked(struct registry *r, const char *sql, size_t nparams,
    const char *const *params, registry_sql_row_fn fn, void *arg, struct cpk_error *err)
{
	cpk_status st;

	pthread_mutex_lock(&r->mu);
	st = r->ops->query(r->db, sql, nparams, params, fn, arg, err);
	pthread_mutex_unlock(&r->mu);
	return st;
}
