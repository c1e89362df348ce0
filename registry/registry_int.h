/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: what a registry back end provides (registry.c holds the logic,
 * written once in SQL both back ends speak: $1-style parameters, partial
 * unique indexes, INSERT ... RETURNING). A back end is one file filling
 * one struct registry_ops and one entry in registry.c's table: it opens a
 * connection, runs a statement with text parameters handing each row's
 * text columns to a callback, and brackets writes in a transaction. Its
 * schema steps are its dialect of the same tables.
 */
#ifndef CPK_REGISTRY_INT_H
#define CPK_REGISTRY_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "cpk_error.h"

/* One result row: ncols text values, NULL for SQL NULL. */
typedef cpk_status (*registry_sql_row_fn)(void *arg, size_t ncols, const char *const *vals);

struct registry_ops {
	const char *name;			/* "sqlite", "postgresql" */
	const char *const *prefixes;		/* URI prefixes it takes, NULL-terminated */
	/* schema[i]: the statements that take the schema from version i to i + 1. */
	const char *const *schema;
	size_t nschema;
	/* One row if the table exists in the store ($1: its name). */
	const char *table_exists_sql;

	/*
	 * Connect. `shown` is the redacted URI, the only form messages may
	 * carry; a password the server or library echoes must not reach err.
	 */
	cpk_status (*open)(const char *uri, const char *shown, bool create, void **db,
	    struct cpk_error *err);
	void (*close)(void *db);
	/* A write transaction: taken at once (SQLite BEGIN IMMEDIATE). */
	cpk_status (*begin)(void *db, struct cpk_error *err);
	cpk_status (*commit)(void *db, struct cpk_error *err);
	void (*rollback)(void *db);
	/* Several statements, no parameters, no rows (schema steps). */
	cpk_status (*script)(void *db, const char *sql, struct cpk_error *err);
	/*
	 * One statement with text parameters $1..$n (NULL: SQL NULL). fn may
	 * be NULL. sql is a string literal: a back end may keep its prepared
	 * form, found again by the address. A unique constraint violation is CPK_ERR_STATE (registry.c
	 * words it); a lost or refused connection CPK_ERR_IO.
	 */
	cpk_status (*query)(void *db, const char *sql, size_t nparams, const char *const *params,
	    registry_sql_row_fn fn, void *arg, struct cpk_error *err);
};

extern const struct registry_ops registry_sqlite_ops;
extern const struct registry_ops registry_pg_ops;

struct registry;
/*
 * One statement on an open registry, under its lock (registry.c): for
 * the modules that add their own tables (registry_session.c).
 */
cpk_status registry_query_locked(struct registry *r, const char *sql, size_t nparams,
    const char *const *params, registry_sql_row_fn fn, void *arg, struct cpk_error *err);

#endif
