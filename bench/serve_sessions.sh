#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Benchmark: 200 concurrent SERAM sessions (in-process agents with simulated
# cards) against one cardc serve (in process, TLS on loopback), with the
# SQLite registry and with a PostgreSQL one (a server of our own, as the
# registry tests start it): sessions/s, p50/p99 latency, and no lost or
# duplicated registry row (serve_sessions.c checks).
#
# usage: serve_sessions.sh SERVE_SESSIONS CARDC CAPGEN SOURCE_ROOT [N]
set -u
bench=$1 cardc=$2 capgen=$3 src=$4 n=${5:-200}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/cpk-bench-serve-XXXXXX") || exit 1
STORE_DIR=$WORK
PGT=
. "$src/tests/registry/store_lib.sh"
trap 'pg_stop; rm -rf "$WORK"' EXIT
mkdir -p "$WORK/keys" || exit 1
cp "$src/keys/test-signing.key" "$src/keys/gp-test-keys-aes.yaml" "$WORK/keys/" &&
    chmod 600 "$WORK"/keys/* || exit 1
"$capgen" -o "$WORK/hello.cap" --package F043504B48454C4C4F \
    --applet F043504B48454C4C4F01 >/dev/null || exit 1
sed -e 's/^  i: 70 .*/  i: 70\n  mode: session/' "$src/profiles/install-applet.yaml" \
    >"$WORK/session.yaml" || exit 1
echo "* session.yaml" >"$WORK/routes"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" \
    -keyout "$WORK/tls.key" -out "$WORK/tls.pem" 2>/dev/null || exit 1
# 200 agents and their TLS connections: file descriptors to spare.
ulimit -n 4096 2>/dev/null
rc=0
for BACKEND in sqlite postgresql; do
	if [ "$BACKEND" = postgresql ]; then
		[ "$(id -u)" = 0 ] && command -v psql >/dev/null 2>&1 ||
		    { echo "serve-sessions: PostgreSQL skipped (needs root and psql)"; continue; }
		pg_start
	fi
	new_store
	"$cardc" registry init --registry "$URI" >/dev/null || exit 1
	"$bench" --dir "$WORK" --registry "$URI" --sessions "$n" || rc=1
done
exit $rc
