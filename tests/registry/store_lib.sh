# SPDX-License-Identifier: BSD-2-Clause
# store_lib.sh: a registry store for a test, on one back end. Sourced with
# BACKEND (sqlite | postgresql) and STORE_DIR (a folder of the test's own,
# for SQLite files) set.
#   pg_start    start a PostgreSQL server of our own: initdb and pg_ctl in a
#               temporary folder (PGT), as user nobody when run as root,
#               listening on a unix socket in PGT only
#   pg_stop     stop that server (pg_ctl stop on its data folder: only the
#               server pg_start started) and remove PGT; the caller's exit
#               trap runs it
#   new_store   a fresh, empty store: sets URI
#   sql STMT    run a statement against URI's store, rows as a|b|c
PGBIN=/usr/lib/postgresql/15/bin
PGT=""

# --- the store ---

as_pg() {
	if [ "$(id -u)" = 0 ]; then
		setpriv --reuid=nobody --regid=nogroup --clear-groups --reset-env -- "$@"
	else
		"$@"
	fi
}

pg_stop() {
	if [ -n "$PGT" ] && [ -f "$PGT/data/postmaster.pid" ]; then
		as_pg "$PGBIN/pg_ctl" -D "$PGT/data" -m immediate -w stop >/dev/null 2>&1
	fi
	[ -n "$PGT" ] && rm -rf "$PGT"
}

pg_start() {
	PGT=$(mktemp -d "${TMPDIR:-/tmp}/cpk-pg-XXXXXX") || exit 1
	[ "$(id -u)" = 0 ] && chown nobody:nogroup "$PGT"
	as_pg "$PGBIN/initdb" -D "$PGT/data" -U cpk -A trust --no-sync >"$PGT/initdb.log" 2>&1 ||
	    { cat "$PGT/initdb.log" >&2; echo "initdb failed" >&2; exit 1; }
	as_pg "$PGBIN/pg_ctl" -D "$PGT/data" -l "$PGT/server.log" -w \
	    -o "-c listen_addresses='' -c unix_socket_directories=$PGT -c max_connections=40" \
	    start >/dev/null ||
	    { cat "$PGT/server.log" >&2; echo "pg_ctl start failed" >&2; exit 1; }
}

# A fresh, empty store: sets URI.
n_store=0
new_store() {
	n_store=$((n_store + 1))
	case $BACKEND in
	sqlite)
		URI="sqlite:$STORE_DIR/reg$n_store.db" ;;
	postgresql)
		psql -X -q -v ON_ERROR_STOP=1 "postgresql:///postgres?host=$PGT&user=cpk" \
		    -c "CREATE DATABASE reg$n_store" >/dev/null || exit 1
		URI="postgresql:///reg$n_store?host=$PGT&user=cpk" ;;
	esac
}

# sql STATEMENT: run it against the store of URI, print rows as a|b|c.
sql() {
	case $BACKEND in
	sqlite) sqlite3 -bail "${URI#sqlite:}" "$1" ;;
	postgresql) psql -X -q -A -t -v ON_ERROR_STOP=1 "$URI" -c "$1" ;;
	esac
}

