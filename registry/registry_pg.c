/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: the PostgreSQL registry back end ("postgresql://..." or
 * "postgres://...", libpq's own URI syntax). Several bureau machines may
 * share one registry: every write is a transaction, and the unique indexes
 * (bundle hash; card and counter of a live bundle) make the server refuse
 * the second of two concurrent bundles for one card and counter, which
 * registry.c reports as the refusal it is.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpk_bytes.h"
#include "registry.h"
#include "registry_int.h"

struct pg {
	PGconn *conn;
	char shown[1100];
	char password[256];		/* blanked out of server and library messages */
};

static const char *const prefixes[] = { "postgresql://", "postgres://", NULL };

static const char *const schema[] = {
	/* 0 -> 1 */
	"CREATE TABLE schema_version (version INTEGER NOT NULL);"
	"CREATE TABLE bundles ("
	" id BIGSERIAL PRIMARY KEY,"
	" serial TEXT NOT NULL,"
	" kdd TEXT NOT NULL,"
	" iin TEXT,"
	" cin TEXT,"
	" profile TEXT NOT NULL,"
	" profile_sha256 TEXT NOT NULL,"
	" bundle_sha256 TEXT NOT NULL UNIQUE,"
	" mode TEXT NOT NULL,"
	" counter TEXT NOT NULL,"
	" created BIGINT NOT NULL,"
	" recorded BIGINT NOT NULL,"
	" state TEXT NOT NULL CHECK (state IN "
	"  ('issued', 'loaded', 'failed', 'superseded', 'revoked')));"
	"CREATE INDEX bundles_serial ON bundles (serial);"
	"CREATE TABLE events ("
	" id BIGSERIAL PRIMARY KEY,"
	" at BIGINT NOT NULL,"
	" serial TEXT NOT NULL,"
	" bundle_sha256 TEXT NOT NULL,"
	" event TEXT NOT NULL,"
	" detail TEXT);",
	/* 1 -> 2: single use, reasons and links, sealed data, captured data */
	"ALTER TABLE bundles ADD COLUMN changed BIGINT NOT NULL DEFAULT 0;"
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
	" at BIGINT NOT NULL,"
	" PRIMARY KEY (bundle_sha256, name));",
	/* 2 -> 3: cardc serve's SERAM sessions, so any server process continues any session */
	"CREATE TABLE serve_sessions ("
	" id TEXT PRIMARY KEY,"
	" state TEXT NOT NULL,"
	" created BIGINT NOT NULL,"
	" changed BIGINT NOT NULL,"
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

/* Notices ("table exists, skipping") are not ours to print. */
static void
no_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* The message without its line end, with the password (if any) blanked. */
static void
clean_message(const struct pg *p, const char *in, char *out, size_t n)
{
	size_t plen = strlen(p->password), o = 0;
	const char *s = in;

	while (*s != '\0' && o + 1 < n) {
		if (plen > 0 && strncmp(s, p->password, plen) == 0) {
			o += (size_t)snprintf(out + o, n - o, "***");
			if (o >= n)
				break;
			s += plen;
			continue;
		}
		out[o++] = (*s == '\n' || *s == '\r') ? ' ' : *s;
		s++;
	}
	if (o >= n)
		o = n - 1;
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
}

static cpk_status
pg_error(struct pg *p, const PGresult *res, const char *what, struct cpk_error *err)
{
	const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res != NULL ? PQresultErrorMessage(res) : "";
	char text[400];
	cpk_status st = CPK_ERR_IO;

	if (msg == NULL || msg[0] == '\0')
		msg = PQerrorMessage(p->conn);
	if (state != NULL && strcmp(state, "23505") == 0)
		st = CPK_ERR_STATE;
	clean_message(p, msg, text, sizeof(text));
	return cpk_error_set(err, st, "registry '%s': %s: %s", p->shown, what, text);
}

static void
keep_password(struct pg *p, const char *uri)
{
	PQconninfoOption *opts, *o;

	if ((opts = PQconninfoParse(uri, NULL)) == NULL)
		return;
	for (o = opts; o->keyword != NULL; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val != NULL)
			snprintf(p->password, sizeof(p->password), "%s", o->val);
	PQconninfoFree(opts);
}

static cpk_status
pg_open(const char *uri, const char *shown, bool create, void **out, struct cpk_error *err)
{
	struct pg *p;
	cpk_status st = CPK_ERR_NOMEM;

	(void)create;	/* the database is the server's to create */
	*out = NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		cpk_error_set(err, st, "out of memory");
		goto out;
	}
	snprintf(p->shown, sizeof(p->shown), "%s", shown);
	keep_password(p, uri);
	p->conn = PQconnectdb(uri);
	if (p->conn == NULL) {
		cpk_error_set(err, st, "out of memory");
		goto out;
	}
	if (PQstatus(p->conn) != CONNECTION_OK) {
		char text[400];

		clean_message(p, PQerrorMessage(p->conn), text, sizeof(text));
		st = cpk_error_set(err, CPK_ERR_IO, "cannot connect to registry '%s': %s", shown,
		    text);
		goto out;
	}
	PQsetNoticeProcessor(p->conn, no_notice, NULL);
	*out = p;
	p = NULL;
	st = CPK_OK;
out:
	if (p != NULL) {
		PQfinish(p->conn);
		cpk_cleanse(p->password, sizeof(p->password));
		free(p);
	}
	return st;
}

static void
pg_close(void *db)
{
	struct pg *p = db;

	if (p == NULL)
		return;
	PQfinish(p->conn);
	cpk_cleanse(p->password, sizeof(p->password));
	free(p);
}

static cpk_status
pg_script(void *db, const char *sql, struct cpk_error *err)
{
	struct pg *p = db;
	PGresult *res;
	cpk_status st = CPK_OK;

	res = PQexec(p->conn, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
		st = pg_error(p, res, "statement failed", err);
	PQclear(res);
	return st;
}

static cpk_status
pg_begin(void *db, struct cpk_error *err)
{
	return pg_script(db, "BEGIN", err);
}

static cpk_status
pg_commit(void *db, struct cpk_error *err)
{
	return pg_script(db, "COMMIT", err);
}

static void
pg_rollback(void *db)
{
	struct pg *p = db;
	PGresult *res;

	if (PQtransactionStatus(p->conn) == PQTRANS_IDLE)
		return;
	res = PQexec(p->conn, "ROLLBACK");
	PQclear(res);
}

static cpk_status
pg_query(void *db, const char *sql, size_t nparams, const char *const *params,
    registry_sql_row_fn fn, void *arg, struct cpk_error *err)
{
	struct pg *p = db;
	PGresult *res;
	const char *vals[32];
	int nrows, ncols, i, k;
	cpk_status st = CPK_OK;

	if (nparams > 64)
		return cpk_error_set(err, CPK_ERR_RANGE, "registry: %zu parameters", nparams);
	res = PQexecParams(p->conn, sql, (int)nparams, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
		st = pg_error(p, res, "statement failed", err);
		goto out;
	}
	nrows = PQntuples(res);
	ncols = PQnfields(res);
	if (ncols < 0 || (size_t)ncols > sizeof(vals) / sizeof(vals[0])) {
		st = cpk_error_set(err, CPK_ERR_RANGE, "registry: %d columns", ncols);
		goto out;
	}
	for (i = 0; fn != NULL && i < nrows; i++) {
		for (k = 0; k < ncols; k++)
			vals[k] = PQgetisnull(res, i, k) ? NULL : PQgetvalue(res, i, k);
		if ((st = fn(arg, (size_t)ncols, vals)) != CPK_OK)
			goto out;
	}
out:
	PQclear(res);
	return st;
}

const struct registry_ops registry_pg_ops = {
	.name = "postgresql",
	.prefixes = prefixes,
	.schema = schema,
	.nschema = sizeof(schema) / sizeof(schema[0]),
	.table_exists_sql = "SELECT 1 FROM information_schema.tables WHERE "
	    "table_schema = current_schema() AND table_name = $1",
	.open = pg_open,
	.close = pg_close,
	.begin = pg_begin,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.script = pg_script,
	.query = pg_query,
};
