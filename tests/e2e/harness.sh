# SPDX-License-Identifier: BSD-2-Clause
# harness.sh: a private pcscd and a cardsim for one end-to-end test.
#
# Sourced by run.sh. A test script calls, in this order:
#
#   harness_enter "$@"         re-executes the script inside a private mount and
#                              network namespace (must come before anything else)
#   harness_setup NAME         work directory, cleanup trap
#   harness_start_pcscd        pcscd -f -c DIR with a vpcd reader on our own port
#   harness_start_cardsim ARGS cardsim --port PORT ARGS (in the background)
#   harness_wait_card          until pcscd reports the card present
#   harness_client [ARGS]      gpclient with a script on stdin
#   harness_stop_cardsim [RC]  SIGTERM, wait, check its exit status (default 0)
#
# Isolation. pcscd's client socket is fixed at /run/pcscd/pcscd.comm (pcsc-lite
# 1.9.9 has no option for it; libpcsclite honours PCSCLITE_CSOCK_NAME but the
# daemon does not). So the test runs in its own mount namespace with a tmpfs on
# /run/pcscd (or on /run when /run/pcscd does not exist), where a pcscd it did
# not start cannot be seen and cannot see us, and in its own network namespace
# (loopback only), so the vpcd port is ours too and tests may run in parallel.
# Without namespaces (no unshare, not root and no user namespaces) the harness
# refuses to run rather than touch the system's pcscd.
#
# Cleanup. Every process is started here in the background and its PID
# recorded; an EXIT trap sends SIGTERM to each recorded PID that is still
# alive, waits up to 5 s, then SIGKILL. Nothing is ever killed by name.

set -u
set -o pipefail

HARNESS_PIDS=()
HARNESS_RC=0
HARNESS_PORT=${HARNESS_PORT:-37000}
CARDSIM_PID=
CARDSIM_RUNS=0
PCSCD_PID=

harness_die() {
	echo "harness: $*" >&2
	exit 1
}

harness_enter() {
	local flags
	if [ "${CPK_HARNESS_NS:-}" = "1" ]; then
		harness_private_run
		return
	fi
	command -v unshare >/dev/null 2>&1 ||
		harness_die "unshare (util-linux) is needed to isolate pcscd; refusing to use the system's /run/pcscd"
	command -v ip >/dev/null 2>&1 ||
		harness_die "ip (iproute2) is needed to bring up the private loopback interface"
	if [ "$(id -u)" = 0 ]; then
		flags="--mount --net"
	else
		flags="--map-root-user --mount --net"
	fi
	# shellcheck disable=SC2086
	if ! unshare $flags --propagation private true 2>/dev/null; then
		harness_die "cannot create private mount and network namespaces (need root or" \
		    "unprivileged user namespaces); refusing to run pcscd next to the system's"
	fi
	export CPK_HARNESS_NS=1
	# shellcheck disable=SC2086
	exec unshare $flags --propagation private -- bash "$0" "$@"
}

# Inside the namespaces: loopback up, an empty /run/pcscd of our own.
harness_private_run() {
	ip link set lo up || harness_die "cannot bring up the private loopback interface"
	if [ -d /run/pcscd ]; then
		mount -t tmpfs -o mode=0755 cpk-e2e /run/pcscd ||
			harness_die "cannot mount a private /run/pcscd"
	else
		mount -t tmpfs -o mode=0755 cpk-e2e /run || harness_die "cannot mount a private /run"
		mkdir -p /run/pcscd || harness_die "cannot create /run/pcscd"
	fi
	[ -z "$(ls -A /run/pcscd)" ] || harness_die "the private /run/pcscd is not empty"
}

harness_setup() {
	local name=$1
	[ "${CPK_HARNESS_NS:-}" = "1" ] || harness_die "harness_enter first"
	: "${CARDSIM:?CARDSIM must name the cardsim program}"
	: "${GPCLIENT:?GPCLIENT must name the gpclient program}"
	: "${E2E_DIR:?E2E_DIR must name tests/e2e}"
	WORK=${E2E_WORK:-${TMPDIR:-/tmp}/cpk-e2e}/$name
	rm -rf "$WORK"
	mkdir -p "$WORK/reader.conf.d" || harness_die "cannot create $WORK"
	trap harness_cleanup EXIT
	trap 'exit 130' INT TERM HUP
	echo "harness: test $name, work directory $WORK" >&2
}

harness_track() {
	HARNESS_PIDS+=("$1")
	echo "$1" >>"$WORK/pids"
}

harness_untrack() {
	local p keep=()
	for p in "${HARNESS_PIDS[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	HARNESS_PIDS=("${keep[@]+"${keep[@]}"}")
}

# Stop one process we started: SIGTERM, then wait for it (every program
# the tests start ends on SIGTERM; no time limit decides an outcome, the
# test's own timeout is the backstop). Its exit status goes to HARNESS_RC
# (no command substitution: wait needs this shell).
harness_stop_pid() {
	local pid=$1
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	HARNESS_RC=$?
	harness_untrack "$pid"
}

harness_cleanup() {
	local rc=$? i pid
	trap - EXIT INT TERM HUP
	# A test's own servers (started by a command we cannot track by PID).
	[ -n "${HARNESS_AT_EXIT:-}" ] && eval "$HARNESS_AT_EXIT"
	for ((i = ${#HARNESS_PIDS[@]} - 1; i >= 0; i--)); do
		pid=${HARNESS_PIDS[i]}
		harness_stop_pid "$pid"
	done
	if [ "$rc" != 0 ]; then
		echo "harness: FAILED (status $rc); logs in $WORK" >&2
		for f in "$WORK"/*.log; do
			[ -f "$f" ] || continue
			echo "----- $(basename "$f") (last 40 lines)" >&2
			tail -n 40 "$f" >&2
		done
	fi
	exit "$rc"
}

harness_start_pcscd() {
	local i
	cat >"$WORK/reader.conf.d/vpcd" <<EOF
FRIENDLYNAME "Virtual PCD"
DEVICENAME   /dev/null:$HARNESS_PORT
LIBPATH      /usr/lib/pcsc/drivers/serial/libifdvpcd.so
CHANNELID    $HARNESS_PORT
EOF
	[ -f /usr/lib/pcsc/drivers/serial/libifdvpcd.so ] ||
		harness_die "the vpcd driver is missing (Debian package vsmartcard-vpcd)"
	command -v pcscd >/dev/null 2>&1 || harness_die "pcscd is missing (Debian package pcscd)"
	pcscd -f ${HARNESS_PCSCD_DEBUG:+-d} -c "$WORK/reader.conf.d" >"$WORK/pcscd.log" 2>&1 &
	PCSCD_PID=$!
	harness_track "$PCSCD_PID"
	# pcscd has no readiness notice: look for its socket while it runs.
	until [ -S /run/pcscd/pcscd.comm ]; do
		kill -0 "$PCSCD_PID" 2>/dev/null || harness_die "pcscd exited at start (see pcscd.log)"
		sleep 0.1
	done
}

harness_start_cardsim() {
	CARDSIM_RUNS=$((CARDSIM_RUNS + 1))
	"$CARDSIM" --port "$HARNESS_PORT" "$@" >"$WORK/cardsim.$CARDSIM_RUNS.log" 2>&1 &
	CARDSIM_PID=$!
	harness_track "$CARDSIM_PID"
}

# Stop cardsim (if still running) and check its exit status (default 0).
harness_stop_cardsim() {
	local want=${1:-0} rc
	[ -n "$CARDSIM_PID" ] || harness_die "no cardsim to stop"
	harness_stop_pid "$CARDSIM_PID"
	rc=$HARNESS_RC
	CARDSIM_PID=
	[ "$rc" = "$want" ] || harness_die "cardsim exited with status $rc, expected $want" \
	    "(see cardsim.$CARDSIM_RUNS.log)"
	harness_wait_empty
}

# After the card went away: wait until pcscd has seen it, so that the next
# cardsim is a new card and not mistaken for the old one.
harness_wait_empty() {
	[ -n "$PCSCD_PID" ] || return 0
	harness_run "$GPCLIENT" --wait-removed -t 20 ||
		harness_die "pcscd still reports the removed card"
}

# Wait for cardsim to exit by itself (after a fault removed the card).
harness_wait_cardsim_exit() {
	local want=${1:-0} rc
	wait "$CARDSIM_PID"
	rc=$?
	harness_untrack "$CARDSIM_PID"
	CARDSIM_PID=
	[ "$rc" = "$want" ] || harness_die "cardsim exited with status $rc, expected $want"
	harness_wait_empty
}

# Run a command to completion like a foreground one, but in the background
# with its PID recorded: `wait` returns at once when a signal arrives, so the
# cleanup trap runs (and stops the command) without waiting for it.
harness_run() {
	local pid rc
	# Without job control an asynchronous command reads /dev/null unless its
	# standard input is redirected explicitly: keep ours (a gpclient script).
	"$@" <&0 &
	pid=$!
	harness_track "$pid"
	wait "$pid"
	rc=$?
	harness_untrack "$pid"
	return "$rc"
}

harness_wait_card() {
	harness_run "$GPCLIENT" --wait-card -t 20 ||
		harness_die "the card did not appear in pcscd's reader"
}

# Run a gpclient script given on stdin; the client's trace goes to client.log.
harness_client() {
	local n
	n=$(ls "$WORK"/client.*.log 2>/dev/null | wc -l)
	n=$((n + 1))
	harness_run "$GPCLIENT" -v "$@" - 2>"$WORK/client.$n.log" ||
		harness_die "gpclient script failed: $(grep 'gpclient: -:' "$WORK/client.$n.log" | tail -n 3)"
}
