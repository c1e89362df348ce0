#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Install the Debian 12 packages cpk needs to build and test: compilers,
# meson, the eight libraries (libcurl: cardload fetches https:// bundles;
# jansson: cardc reads JSON-lines card records; SQLite and libpq: cardc's
# issuance registry), PostgreSQL and the sqlite3 shell (the registry tests
# start their own server and read the stores),
# libmicrohttpd (cardc serve's HTTPS server), libpam (its technicians;
# libpam-wrapper's pam_matrix is the online tests' PAM module), python3-jsonschema (the SERAM
# messages are checked against docs/seram.schema.json), openssl (the online
# tests make their TLS certificate),
# pcscd with the vpcd virtual reader (the simulator's way in), mandoc (man
# page lint), valgrind, and dpkg-dev, debhelper and lintian (the Debian
# packages are built and checked by the 'package' test), SoftHSM2 with the
# p11-kit PKCS#11 headers (keys in a token: the 'hsm' suite) and gdb (its gcore
# dumps a running cardc in the memory test). Idempotent:
# installs only what is missing. Needs root (or prints what to run).
set -eu

packages="build-essential meson ninja-build pkg-config libssl-dev libpcsclite-dev
libyaml-dev libzip-dev libcurl4-openssl-dev libjansson-dev libsqlite3-dev libpq-dev
postgresql sqlite3 pcscd vsmartcard-vpcd mandoc valgrind clang libclang-rt-14-dev
zip unzip python3 util-linux procps iproute2 dpkg-dev debhelper lintian
softhsm2 libp11-kit-dev gdb
libmicrohttpd-dev libgnutls28-dev libpam0g-dev libpam-wrapper python3-jsonschema openssl"

missing=""
for p in $packages; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
# The SARIF 2.1.0 schema and its validator for the cardc check test, from
# the npm registry, pinned by tests/sarif/package-lock.json (Node.js: the
# machine's, or Debian's nodejs and npm when there is none).
sarif_validator() {
	dir=$(cd "$(dirname "$0")/.." && pwd)/tests/sarif
	if [ -d "$dir/node_modules/ajv" ] && [ -d "$dir/node_modules/@microsoft/jest-sarif" ]; then
		return 0
	fi
	if ! command -v npm >/dev/null 2>&1; then
		if [ "$(id -u)" != 0 ]; then
			echo "deps: npm is missing: run as root: apt-get install -y nodejs npm" >&2
			exit 1
		fi
		apt-get update -qq
		apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
	fi
	(cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
	echo "deps: installed the SARIF validator in tests/sarif"
}

if [ -z "$missing" ]; then
	echo "deps: all packages present"
	sarif_validator
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing:$missing" >&2
	echo "deps: run as root: apt-get install -y$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "deps: installed$missing"
sarif_validator
