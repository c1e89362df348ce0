#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# cardc keeps its keys out of core files.
#
# 1. "kills cardc with SIGABRT during a batch and finds no core file, and no
#    key bytes in any file the run left": cardc batch reads its cards from a
#    FIFO, writes the first card's bundle and then waits for the next line;
#    it is killed there with SIGABRT, started with `ulimit -c unlimited` from
#    a folder of its own. Then no core* file may be in that folder, and no
#    file in it may hold the master key, the signing key's seed or its key
#    file line (raw bytes or hex). A control process (a shell that sends
#    itself SIGABRT) run the same way shows whether core_pattern writes core
#    files there at all; when it does, cardc must leave none.
# 2. "cardc is undumpable and has a core limit of 0, as user nobody", which
#    does not depend on core_pattern: cardc batch runs as nobody, blocked on
#    the FIFO after its first bundle, and the kernel gives its /proc/PID
#    files to root only if the process is not dumpable; /proc/PID/limits
#    shows a core file size of 0.
#
# usage: test_keyed.sh CARDC CAPGEN SOURCE_ROOT
set -u
CARDC=$1 CAPGEN=$2 SRCROOT=$3
# Meson gives paths relative to the build folder; the test changes folders.
case $CARDC in /*) ;; *) CARDC=$PWD/$CARDC ;; esac
. "$(dirname "$0")/lib.sh"
setup_work
P=$T/p/install-applet.yaml
# Without this, AddressSanitizer builds would turn core files off themselves
# and the test could not fail.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}disable_coredump=0"
export ASAN_OPTIONS

hex() {
	od -An -v -tx1 | tr -d ' \n'
}

# A key set of our own: three random AES keys, under the name the profile
# asks for; and a new signing key pair.
K=$T/keyed-keys
mkdir -p "$K"
ENC=$(head -c 16 /dev/urandom | hex)
MAC=$(head -c 16 /dev/urandom | hex)
DEK=$(head -c 16 /dev/urandom | hex)
printf 'kvn: "30"\nalgorithm: aes\nenc: %s\nmac: %s\ndek: %s\n' "$ENC" "$MAC" "$DEK" \
    >"$K/gp-test-keys-aes.yaml"
chmod 600 "$K/gp-test-keys-aes.yaml"
"$CARDC" keygen -o "$K/sign" >/dev/null 2>&1 || { echo "keygen failed" >&2; exit 1; }
SIGNKEY=$K/sign.key
B64=$(sed -n 2p "$SIGNKEY")
SEED=$(printf '%s' "$B64" | base64 -d | od -An -v -tx1 -j10 | tr -d ' \n')
check "the seed is not 32 bytes" test "${#SEED}" = 64

# secrets_in FOLDER: print the files under FOLDER holding a key (the hex
# text in either case, or the raw bytes, or the signing key's file line).
secrets_in() {
	find "$1" -type f | while read -r f; do
		if grep -qiF -e "$ENC" -e "$MAC" -e "$DEK" -e "$SEED" -e "$B64" "$f" ||
		    hex <"$f" | grep -qF -e "$ENC" -e "$MAC" -e "$DEK" -e "$SEED"; then
			echo "$f"
		fi
	done
}

# --- 1. SIGABRT mid-batch: no core file, no key bytes ---------------------
C=$T/control
mkdir -p "$C"
(cd "$C" && ulimit -c unlimited && exec sh -c 'kill -ABRT $$') 2>/dev/null
if ls "$C" | grep -q '^core'; then
	cores_here=true
else
	cores_here=false
	echo "note: core_pattern '$(cat /proc/sys/kernel/core_pattern 2>/dev/null)' writes no" \
	    "core file in the folder of the process; only part 2 can fail" >&2
fi

R=$T/run
mkdir -p "$R"
mkfifo "$R/cards.fifo"
(cd "$R" && ulimit -c unlimited && exec "$CARDC" batch -p "$P" -k "$K" -s "$SIGNKEY" \
    --cards cards.fifo -o out) >"$T/abrt.out" 2>"$T/abrt.err" &
pid=$!
# Read-write: opening never blocks, whatever became of cardc.
exec 3<>"$R/cards.fifo"
record 1 >&3
checks=$((checks + 1))
wait_file "$R/out/B-01.cpk" || fail "abort: no first bundle"
kill -ABRT "$pid"
wait "$pid"
rc=$?
exec 3>&-
check "abort: cardc was not killed by SIGABRT (exit $rc)" test "$rc" = 134
cores=$(find "$R" -name 'core*' | tr '\n' ' ')
if $cores_here; then
	check "abort: cardc left a core file: $cores" test -z "$cores"
fi
left=$(secrets_in "$R" | tr '\n' ' ')
check "abort: key bytes in files the run left: $left" test -z "$left"
# The search works: it finds the keys in the key files.
check "abort: the key search finds nothing" test -n "$(secrets_in "$K")"

# --- 2. as nobody: undumpable, core limit 0 -------------------------------
if id nobody >/dev/null 2>&1 && command -v setpriv >/dev/null 2>&1 &&
    [ "$(id -u)" = 0 ]; then
	N=$T/nobody
	chmod 711 "$T"
	mkdir -p "$N/k"
	cp -r "$T/p" "$N/p"
	cp "$K/gp-test-keys-aes.yaml" "$SIGNKEY" "$N/k/"
	mkfifo "$N/cards.fifo"
	chown -R nobody "$N"
	chmod 600 "$N/k/gp-test-keys-aes.yaml" "$N/k/sign.key"
	(cd "$N" && exec setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups \
	    "$CARDC" batch -p p/install-applet.yaml -k k -s k/sign.key --cards cards.fifo \
	    -o out) >"$T/nobody.out" 2>"$T/nobody.err" &
	pid=$!
	exec 3<>"$N/cards.fifo"
	record 1 >&3
	checks=$((checks + 1))
	if wait_file "$N/out/B-01.cpk"; then
		check "nobody: /proc/PID/mem belongs to uid $(stat -c %u /proc/$pid/mem), not 0: cardc is dumpable" \
		    test "$(stat -c %u "/proc/$pid/mem")" = 0
		check "nobody: /proc/PID/environ belongs to uid $(stat -c %u /proc/$pid/environ), not 0" \
		    test "$(stat -c %u "/proc/$pid/environ")" = 0
		check "nobody: the core file size limit is not 0: $(grep 'core file' /proc/$pid/limits)" \
		    grep -Eq '^Max core file size +0 +0 ' "/proc/$pid/limits"
		# Only the process's own user is kept out; root still reads it.
		check "nobody: cardc does not run as nobody" \
		    test "$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")" = "$(id -u nobody)"
	else
		fail "nobody: no first bundle"
		sed 's/^/    /' "$T/nobody.err" >&2
	fi
	kill -TERM "$pid" 2>/dev/null
	exec 3>&-
	wait "$pid"
else
	echo "note: not root, or no user nobody or setpriv: part 2 skipped" >&2
fi

finish keyed
