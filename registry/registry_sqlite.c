/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: the SQLite registry back end ("sqlite:PATH"). One file in WAL
 * mode, so readers never block the writer; every write transaction is
 * BEGIN IMMEDIATE (the write lock is taken first, so two writers never
 * deadlock on an upgrade), and a busy file is waited on (busy timeout)
 * rather than failed. synchronous=FULL: a committed row survives a crash.
 */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "registry_int.h"

/* How long a writer waits for another one (milliseconds). */
#define SQLITE_BUSY_MS 120000
#define PREFIX "sqlite:"

/* Prepared statements kept by the address of their SQL (registry_int.h). */
#define SQ_CACHE 24

struct sq {
	sqlite3 *db;
	char shown[1100];
	struct {
		const char *sql;
		sqlite3_stmt *stmt;
	} cache[SQ_CACHE];
	size_t ncache;
};

static const char *const prefixes[] = { PREFIX, NULL };

static const char *const schema[] = {
	/* 0 -> 1 */
	"CREATE TABLE schema_version (version INTEGER NOT NULL);"
	"CREATE TABLE bundles ("
	" id INTEGER PRIMARY KEY,"
	" serial TEXT NOT NULL,"
	" kdd TEXT NOT NULL,"
	" iin TEXT,"
	" cin TEXT,"
	" profile TEXT NOT NULL,"
	" profile_sha256 TEXT NOT NULL,"
	" bundle_sha256 TEXT NOT NULL UNIQUE,"
	" mode TEXT NOT NULL,"
	" counter TEXT NOT NULL,"
	" created INTEGER NOT NULL,"
	" recorded INTEGER NOT NULL,"
	" state TEXT NOT NULL CHECK (state IN "
	"  ('issued', 'loaded', 'failed', 'superseded', 'revoked')));"
	"CREATE INDEX bundles_serial ON bundles (serial);"
	"CREATE TABLE events ("
	" id INTEGER PRIMARY KEY,"
	" at INTEGER NOT NULL,"
	" serial TEXT NOT NULL,"
	" bundle_sha256 TEXT NOT NULL,"
	" event TEXT NOT NULL,"
	" detail TEXT);",
	/* 1 -> 2: single use, reasons and links, sealed data, captured data */
	"ALTER TABLE bundles ADD COLUMN changed INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE bundles ADD COLUMN reason TEXT;"
	"ALTER TABLE bundles ADD COLUMN replaced_by TEXT;"
	"ALTER TABLE bundles ADD COLUMN data TEXT;"
	"UPDATE bundles SET changed = recorded;"
	"CREATE UNIQUE INDEX bundles_single_use ON bundles (serial, counter)"
	" WHERE state NOT IN ('failed', 'superseded');"
	"CREATE INDEX events_serial ON events (serial);"
	"CREATE TABLE captured ("
	" bundle_sha256 TEXT NOT NULL,"
	" name TEXT NOT NULL,"
	" value TEXT NOT NULL,"
	" at INTEGER NOT NULL,"
	" PRIMARY KEY (bundle_sha256, name));",
	/* 2 -> 3: cardc serve's SERAM sessions, so any server process continues any session */
	"CREATE TABLE serve_sessions ("
	" id TEXT PRIMARY KEY,"
	" state TEXT NOT NULL,"
	" created INTEGER NOT NULL,"
	" changed INTEGER NOT NULL,"
	" technician TEXT,"
	" secret TEXT,"
	" serial TEXT,"
	" bundle_sha256 TEXT,"
	" host_challenge TEXT,"
	" card TEXT,"
	" bundle TEXT,"
	" last_report TEXT,"
	" last_order TEXT,"
	" detail TEXT);"
	"CREATE INDEX serve_sessions_serial ON serve_sessions (serial);",
};

static cpk_status
sq_error(struct sq *s, const char *what, struct cpk_error *err)
{
	int code = sqlite3_extended_errcode(s->db);
	cpk_status st = CPK_ERR_IO;

	if (code == SQLITE_CONSTRAINT_UNIQUE || code == SQLITE_CONSTRAINT_PRIMARYKEY)
		st = CPK_ERR_STATE;
	return cpk_error_set(err, st, "registry '%s': %s: %s", s->shown, what,
	    sqlite3_errmsg(s->db));
}

/* Create the file with mode 0600 (the -wal and -shm files follow its mode). */
static cpk_status
create_file(const char *path, const char *shown, struct cpk_error *err)
{
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return cpk_error_set(err, CPK_ERR_IO, "registry '%s': cannot create '%s': %s",
		    shown, path, strerror(errno));
	close(fd);
	return CPK_OK;
}

static cpk_status
sq_open(const char *uri, const char *shown, bool create, void **out, struct cpk_error *err)
{
	const char *path = uri + strlen(PREFIX);
	struct sq *s = NULL;
	struct stat sb;
	cpk_status st = CPK_ERR_ARG;

	*out = NULL;
	if (path[0] == '\0') {
		cpk_error_set(err, st, "registry URI '%s' names no file (sqlite:PATH)", shown);
		goto out;
	}
	if (create && (st = create_file(path, shown, err)) != CPK_OK)
		goto out;
	if (stat(path, &sb) != 0) {
		st = cpk_error_set(err, errno == ENOENT ? CPK_ERR_NOT_FOUND : CPK_ERR_IO,
		    "registry '%s': %s%s", shown, strerror(errno),
		    errno == ENOENT ? " (cardc registry init creates it)" : "");
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		st = cpk_error_set(err, CPK_ERR_IO, "registry '%s' is not a regular file", shown);
		goto out;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		st = cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	snprintf(s->shown, sizeof(s->shown), "%s", shown);
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
	    NULL) != SQLITE_OK) {
		st = s->db != NULL ? sq_error(s, "cannot open", err) :
		    cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, SQLITE_BUSY_MS);
	if (sqlite3_exec(s->db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;",
	    NULL, NULL, NULL) != SQLITE_OK) {
		st = sq_error(s, "cannot set WAL mode", err);
		goto out;
	}
	*out = s;
	s = NULL;
	st = CPK_OK;
out:
	if (s != NULL) {
		sqlite3_close(s->db);
		free(s);
	}
	return st;
}

static void
sq_close(void *db)
{
	struct sq *s = db;
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->ncache; i++)
		sqlite3_finalize(s->cache[i].stmt);
	sqlite3_close(s->db);
	free(s);
}

static cpk_status
sq_script(void *db, const char *sql, struct cpk_error *err)
{
	struct sq *s = db;

	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return sq_error(s, "statement failed", err);
	return CPK_OK;
}

static cpk_status
sq_begin(void *db, struct cpk_error *err)
{
	return sq_script(db, "BEGIN IMMEDIATE", err);
}

static cpk_status
sq_commit(void *db, struct cpk_error *err)
{
	return sq_script(db, "COMMIT", err);
}

static void
sq_rollback(void *db)
{
	struct sq *s = db;

	if (!sqlite3_get_autocommit(s->db))
		(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

static cpk_status
bind_params(struct sq *s, sqlite3_stmt *stmt, size_t n, const char *const *params,
    struct cpk_error *err)
{
	char name[32];
	size_t i;
	int idx;

	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "$%zu", i + 1);
		if ((idx = sqlite3_bind_parameter_index(stmt, name)) == 0)
			continue;
		if ((params[i] == NULL ? sqlite3_bind_null(stmt, idx) :
		    sqlite3_bind_text(stmt, idx, params[i], -1, SQLITE_STATIC)) != SQLITE_OK)
			return sq_error(s, "cannot bind a value", err);
	}
	return CPK_OK;
}

static bool
in_cache(const struct sq *s, const char *sql)
{
	size_t i;

	for (i = 0; i < s->ncache; i++)
		if (s->cache[i].sql == sql)
			return true;
	return false;
}

/* The prepared statement for sql: from the cache, or prepared (and cached if room). */
static cpk_status
prepare(struct sq *s, const char *sql, sqlite3_stmt **stmt, bool *cached, struct cpk_error *err)
{
	size_t i;

	for (i = 0; i < s->ncache; i++) {
		/* A statement still stepping (a walk's callback asking again): a new one. */
		if (s->cache[i].sql == sql && !sqlite3_stmt_busy(s->cache[i].stmt)) {
			*stmt = s->cache[i].stmt;
			*cached = true;
			return CPK_OK;
		}
	}
	*cached = false;
	if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, NULL) != SQLITE_OK)
		return sq_error(s, "cannot prepare a statement", err);
	if (s->ncache < SQ_CACHE && !in_cache(s, sql)) {
		s->cache[s->ncache].sql = sql;
		s->cache[s->ncache].stmt = *stmt;
		s->ncache++;
		*cached = true;
	}
	return CPK_OK;
}

static cpk_status
sq_query(void *db, const char *sql, size_t nparams, const char *const *params,
    registry_sql_row_fn fn, void *arg, struct cpk_error *err)
{
	struct sq *s = db;
	sqlite3_stmt *stmt = NULL;
	const char *vals[32];
	size_t ncols, i;
	bool cached = false;
	cpk_status st;
	int rc;

	if ((st = prepare(s, sql, &stmt, &cached, err)) != CPK_OK) {
		stmt = NULL;
		goto out;
	}
	if ((st = bind_params(s, stmt, nparams, params, err)) != CPK_OK)
		goto out;
	ncols = (size_t)sqlite3_column_count(stmt);
	if (ncols > sizeof(vals) / sizeof(vals[0])) {
		st = cpk_error_set(err, CPK_ERR_RANGE, "registry: %zu columns", ncols);
		goto out;
	}
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		for (i = 0; i < ncols; i++)
			vals[i] = (const char *)sqlite3_column_text(stmt, (int)i);
		if (fn != NULL && (st = fn(arg, ncols, vals)) != CPK_OK)
			goto out;
	}
	if (rc != SQLITE_DONE) {
		st = sq_error(s, "statement failed", err);
		goto out;
	}
	st = CPK_OK;
out:
	if (cached) {
		sqlite3_reset(stmt);
		sqlite3_clear_bindings(stmt);
	} else {
		sqlite3_finalize(stmt);
	}
	return st;
}

const struct registry_ops registry_sqlite_ops = {
	.name = "sqlite",
	.prefixes = prefixes,
	.schema = schema,
	.nschema = sizeof(schema) / sizeof(schema[0]),
	.table_exists_sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = $1",
	.open = sq_open,
	.close = sq_close,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.script = sq_script,
	.query = sq_query,
};
