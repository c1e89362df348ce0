#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Online provisioning end to end (issue 13): cardload --server (the SERAM
# Local Agent) -> pcscd -> cardsim, driven by a real `cardc serve` over TLS
# on this namespace's loopback, with a certificate made here by openssl.
#
#   online.sh TEST [sqlite|postgresql]
#
#   happy            the card is provisioned in 4 HTTP round trips; the
#                    registry says loaded, the card holds the applet
#   unknown-card     no route names the card: exit 3, nothing after
#                    INITIALIZE UPDATE reached it, no bundle issued
#   cryptogram       the card's keys are not the server's: its cryptogram
#                    does not verify, exit 3, card untouched, nothing issued
#   keypair          generate-key.yaml (load, install, GENERATE KEY PAIR with
#                    capture) through the server: the card's public key ends
#                    in the registry
#   refused          the card refuses a LOAD block: exit 4, the registry
#                    records failed at that command
#   card-gone        the card leaves the reader in the middle of the script:
#                    exit 5, the server records the bundle failed (card gone)
#   server-killed    the server dies (SIGKILL, at its 3rd request); the agent
#                    retries, a second server on the same registry continues
#                    the session: loaded
#   answer-lost      the server dies after handling the report of order 1
#                    (bundle issued, order 2 stored) but before answering:
#                    the agent sends the same report again, a second server
#                    answers with the same order 2 from the registry: loaded,
#                    one bundle issued, not two
#   store-fails      the server cannot store the session after it issued the
#                    bundle (the report of order 1): HTTP 409, exit 1, the
#                    bundle marked failed with why (it was never sent), the
#                    session still in state identify; nothing after
#                    INITIALIZE UPDATE reached the card
#   server-gone      the server dies and nobody takes over: exit 1 after the
#                    retry time, the bundle stays issued (never loaded)
#   client-killed    the agent is killed (SIGKILL) mid-script: the session
#                    stays in state script, the bundle issued, never loaded;
#                    cardc serve --sweep then abandons it, the bundle failed
#   client-cert      a server with --tls-client-ca: no certificate, or one of
#                    another CA, refused before any APDU; alice's provisions,
#                    and the session names her
#   holder-pin       a profile with holder-pin: a wrong PIN (--holder-pin-file)
#                    is refused by the card (63C2), exit 6, nothing sent
#                    after VERIFY, no bundle issued, the session rejected with
#                    why; the right PIN provisions; the PIN is in no server
#                    log nor the registry
#   technician       a server with --pam (a test service in this namespace's
#                    own /etc/pam.d, pam_matrix from pam_wrapper's package): no technician, an unknown one, a wrong PIN are
#                    refused before any APDU; the right one provisions; three
#                    failures lock the user (then even the right PIN is refused)

. "${E2E_DIR:?}/harness.sh"
harness_enter "$@"

TEST=${1:?usage: online.sh TEST [sqlite|postgresql]}
BACKEND=${2:-sqlite}
E2E_NAME=online-$TEST-$BACKEND
. "$E2E_DIR/cardload_lib.sh"
STORE_DIR=$WORK
. "$SRC/tests/registry/store_lib.sh"
unset CPK_REGISTRY CPK_SERVE_FAULT
if [ "$BACKEND" = postgresql ]; then
	HARNESS_AT_EXIT=pg_stop
	pg_start
fi

PORT=8443
SERVER_ARGS=
SERVER_PID=
SERVERS=0

# The TLS certificate of the server, for 127.0.0.1.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" \
    -keyout "$WORK/tls.key" -out "$WORK/tls.pem" 2>"$WORK/openssl.log" ||
    harness_die "openssl could not make the test certificate"

# The example profile in session mode (the server compiles against the live
# INITIALIZE UPDATE), and the routes file.
sed -e 's/^  i: 70 .*/  i: 70\n  mode: session/' "$WORK/p/install-applet.yaml" \
    >"$WORK/p/session.yaml" || harness_die "profile"
echo "iin=0001020304 session.yaml" >"$WORK/p/routes"

new_store
"$CARDC" registry init --registry "$URI" >&2 || harness_die "registry init"

# start_server [PORT]: cardc serve in the background, until it listens.
start_server() {
	local port=${1:-$PORT} i
	SERVERS=$((SERVERS + 1))
	# shellcheck disable=SC2086
	"$CARDC" serve --listen "127.0.0.1:$port" --tls-cert "$WORK/tls.pem" \
	    --tls-key "$WORK/tls.key" --routes "$WORK/p/routes" -k "$WORK/keys" \
	    -s "$WORK/keys/test-signing.key" --registry "$URI" ${SERVER_ARGS:-} \
	    2>"$WORK/server.$SERVERS.log" &
	SERVER_PID=$!
	harness_track "$SERVER_PID"
	for i in $(seq 1 200); do
		grep -q "listening on" "$WORK/server.$SERVERS.log" && return 0
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.05
	done
	cat "$WORK/server.$SERVERS.log" >&2
	harness_die "cardc serve did not start"
}

# stop_server: SIGTERM; it must stop cleanly (exit 0: no leak, no sanitizer report).
stop_server() {
	local rc
	kill -TERM "$SERVER_PID" 2>/dev/null
	wait "$SERVER_PID"
	rc=$?
	harness_untrack "$SERVER_PID"
	[ "$rc" = 0 ] || { cat "$WORK/server.$SERVERS.log" >&2; harness_die "cardc serve exit $rc"; }
}

# online EXPECTED-EXIT [ARGS]: cardload --server against the server.
online() {
	local want=$1
	shift
	cardload_run "$want" --server "https://127.0.0.1:$PORT" --cacert "$WORK/tls.pem" --json \
	    "$@"
}

session_state() {
	sql "SELECT state FROM serve_sessions WHERE id = '$(json_get session)'"
}

bundle_state() {
	sql "SELECT b.state FROM bundles b JOIN serve_sessions s ON s.bundle_sha256 = \
	    b.bundle_sha256 WHERE s.id = '$(json_get session)'"
}

issued_count() {
	sql "SELECT COUNT(*) FROM bundles"
}

is() {
	[ "$2" = "$3" ] || harness_die "$1 is '$2', expected '$3'"
}

harness_start_pcscd

case $TEST in
happy)
	start_card scp03.yaml
	start_server
	online 0
	json_is result ok
	json_is requests 4
	err_has "4 HTTP request(s)"
	is "session state" "$(session_state)" done
	is "bundle state" "$(bundle_state)" loaded
	sql "SELECT detail FROM serve_sessions" | grep -q "every command accepted\|loaded" ||
	    harness_die "session detail"
	harness_stop_cardsim
	print_registry
	registry_has "$APP"
	# The session's cookie: a request without it, or with the token of a
	# handshake sent again, is refused (403); the latest token opens it.
	python3 - "$WORK/tls.pem" "$PORT" <<'PY' || harness_die "session cookie"
import http.client, json, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[1])
def post(path, body, cookie=None):
    c = http.client.HTTPSConnection("127.0.0.1", int(sys.argv[2]), context=ctx)
    h = {"Content-Type": "application/json"}
    if cookie:
        h["Cookie"] = "cpk-session=" + cookie
    c.request("POST", path, json.dumps(body), h)
    r = c.getresponse()
    r.read()
    set_cookie = r.getheader("Set-Cookie") or ""
    return r.status, set_cookie.split(";")[0].split("=", 1)[-1]
hs = {"secureElements": [{"seType": "eSE", "seId": "test"}]}
poll = {"localAgentStatus": {"localAgentStatusEnum": "POLLING", "executedSeRamCommands": 0}}
st, first = post("/handshake?sessionId=cookie-test", hs)
assert st == 200 and len(first) == 64, (st, first)
st, second = post("/handshake?sessionId=cookie-test", hs)
assert st == 200 and len(second) == 64 and second != first, (st, second)
assert post("/remoteManagement?sessionId=cookie-test", poll)[0] == 403
assert post("/remoteManagement?sessionId=cookie-test", poll, first)[0] == 403
assert post("/remoteManagement?sessionId=cookie-test", poll, second)[0] == 200
PY
	# The session is over: the same session id again is refused.
	start_card scp03.yaml
	online 1 --session-id "$(json_get session)"
	err_has "HTTP 409"
	;;
unknown-card)
	echo "iin=0909090909 session.yaml" >"$WORK/p/routes"
	start_card scp03.yaml
	start_server
	online 3
	err_has "unknown card"
	json_is result rejected
	is "session state" "$(session_state)" rejected
	is "bundles issued" "$(issued_count)" 0
	# Nothing after INITIALIZE UPDATE: the last command the card saw.
	grep "^cardsim: >> " "$(cardsim_log)" | tail -n 1 | grep -q "^cardsim: >> 8050" ||
	    harness_die "the card saw a command after INITIALIZE UPDATE"
	;;
cryptogram)
	# The server's key set 30 is not the card's: another ENC/MAC key.
	sed -e 's/404142434445464748494A4B4C4D4E4F/505152535455565758595A5B5C5D5E5F/g' \
	    "$WORK/keys/gp-test-keys-aes.yaml" >"$WORK/keys/other.yaml"
	chmod 600 "$WORK/keys/other.yaml"
	sed -i -e 's/file: gp-test-keys-aes.yaml/file: other.yaml/' "$WORK/p/session.yaml"
	start_card scp03.yaml
	start_server
	online 3
	err_has "cryptogram"
	json_is result rejected
	is "session state" "$(session_state)" rejected
	is "bundles issued" "$(issued_count)" 0
	grep "^cardsim: >> " "$(cardsim_log)" | tail -n 1 | grep -q "^cardsim: >> 8050" ||
	    harness_die "the card saw a command after INITIALIZE UPDATE"
	;;
keypair)
	sed -e 's/^  i: 70$/  i: 70\n  mode: session/' "$SRC/profiles/generate-key.yaml" \
	    >"$WORK/p/keypair.yaml" || harness_die "profile"
	grep -q "mode: session" "$WORK/p/keypair.yaml" || harness_die "keypair.yaml: no session mode"
	echo "iin=0001020304 keypair.yaml" >"$WORK/p/routes"
	start_card scp03.yaml
	start_server
	online 0
	err_has "captured values kept"
	is "bundle state" "$(bundle_state)" loaded
	# tests/cardsim/README.md: 04 || SHA-256(KDD || AID || "x") || SHA-256(KDD || AID || "y").
	want=$(python3 -c '
import hashlib
k = bytes.fromhex("0102030405060708090A") + bytes.fromhex("F043504B48454C4C4F01")
print(("04" + hashlib.sha256(k + b"x").hexdigest() + hashlib.sha256(k + b"y").hexdigest()).upper())')
	is "captured" "$(sql "SELECT c.name, c.value FROM captured c JOIN serve_sessions s ON \
	    s.bundle_sha256 = c.bundle_sha256")" "pubkey|$want"
	;;
refused)
	# Commands 1-8: order 1; 9 EXTERNAL AUTHENTICATE, 10 INSTALL [for load], 11 LOAD 1.
	start_card scp03.yaml --sw-at 11:6A84
	start_server
	online 4
	json_is result refused
	json_is refused.index 3
	err_has "6A84"
	is "session state" "$(session_state)" failed
	is "bundle state" "$(bundle_state)" failed
	;;
card-gone)
	# Commands 1-8: order 1; the card vanishes after 11 (LOAD 1).
	start_card scp03.yaml --drop-after 11
	start_server
	online 5
	json_is result reader
	err_has "the card was lost"
	is "session state" "$(session_state)" failed
	is "bundle state" "$(bundle_state)" failed
	sql "SELECT reason FROM bundles" | grep -q "command 4" ||
	    harness_die "the bundle's reason does not name where the run stopped"
	;;
server-killed)
	start_card scp03.yaml
	CPK_SERVE_FAULT=kill-at-request:3 start_server
	first=$SERVER_PID
	cardload_bg --server "https://127.0.0.1:$PORT" --cacert "$WORK/tls.pem" --json
	wait "$first"
	harness_untrack "$first"
	start_server
	cardload_wait 0
	json_is result ok
	is "session state" "$(session_state)" done
	is "bundle state" "$(bundle_state)" loaded
	grep -q "trying again" "$WORK/err" || harness_die "no retry message"
	;;
answer-lost)
	start_card scp03.yaml
	CPK_SERVE_FAULT=kill-after-request:3 start_server
	first=$SERVER_PID
	cardload_bg --server "https://127.0.0.1:$PORT" --cacert "$WORK/tls.pem" --json
	wait "$first"
	harness_untrack "$first"
	is "session state" "$(sql 'SELECT state FROM serve_sessions')" script
	start_server
	cardload_wait 0
	json_is result ok
	is "session state" "$(session_state)" done
	is "bundle state" "$(bundle_state)" loaded
	is "bundles issued" "$(issued_count)" 1
	grep -q "report sent again: the same order again" "$WORK/server.2.log" ||
	    harness_die "the second server did not replay the stored order"
	;;
store-fails)
	start_card scp03.yaml
	CPK_SERVE_FAULT=store-fails-at-request:3 start_server
	online 1
	err_has "HTTP 409"
	err_has "was not stored"
	is "bundles issued" "$(issued_count)" 1
	is "bundle state" "$(sql 'SELECT state FROM bundles')" failed
	sql 'SELECT reason FROM bundles' | grep -q "the session could not store order 2: .*the \
bundle was never sent" || harness_die "the bundle's reason"
	is "session state" "$(session_state)" identify
	grep "^cardsim: >> " "$(cardsim_log)" | tail -n 1 | grep -q "^cardsim: >> 8050" ||
	    harness_die "the card saw a command after INITIALIZE UPDATE"
	;;
server-gone)
	start_card scp03.yaml
	CPK_SERVE_FAULT=kill-at-request:4 start_server
	online 1 --retry-for 2
	err_has "could not be reached"
	json_is result error
	is "bundle state" "$(bundle_state)" issued
	;;
client-killed)
	FREEZE_AT=12
	mkfifo "$WORK/frozen" || harness_die "mkfifo"
	start_card scp03.yaml --freeze-at 12 --freeze-notice "$WORK/frozen"
	start_server
	cardload_bg --server "https://127.0.0.1:$PORT" --cacert "$WORK/tls.pem" --json
	wait_frozen
	kill -KILL "$CL_PID"
	wait "$CL_PID"
	harness_untrack "$CL_PID"
	is "session state" "$(sql 'SELECT state FROM serve_sessions')" script
	is "bundle state" "$(sql 'SELECT state FROM bundles')" issued
	# The agent is lost: the sweep (every 30 s in the server; here at once)
	# abandons the session and marks its bundle failed, with why.
	"$CARDC" serve --sweep --session-timeout 0 --registry "$URI" 2>"$WORK/sweep.err" ||
	    harness_die "cardc serve --sweep failed"
	grep -q "1 session(s) abandoned" "$WORK/sweep.err" || harness_die "sweep message"
	is "session state" "$(sql 'SELECT state FROM serve_sessions')" abandoned
	is "bundle state" "$(sql 'SELECT state FROM bundles')" failed
	sql 'SELECT reason FROM bundles' | grep -q "the agent was lost in state script" ||
	    harness_die "the bundle's reason"
	;;
client-cert)
	# A CA of technicians, alice's certificate from it, and mallory's from another.
	for who in ca other; do
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		    -subj "/CN=cpk test $who" -keyout "$WORK/$who.key" -out "$WORK/$who.pem" \
		    2>>"$WORK/openssl.log" || harness_die "openssl: $who"
	done
	for who in alice:ca mallory:other; do
		name=${who%%:*} ca=${who#*:}
		openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		    -subj "/CN=$name" -keyout "$WORK/$name.key" -out "$WORK/$name.csr" \
		    2>>"$WORK/openssl.log" &&
		    openssl x509 -req -in "$WORK/$name.csr" -CA "$WORK/$ca.pem" -CAkey "$WORK/$ca.key" \
		    -CAcreateserial -days 2 -out "$WORK/$name.pem" 2>>"$WORK/openssl.log" ||
		    harness_die "openssl: $name"
	done
	SERVER_ARGS="--tls-client-ca $WORK/ca.pem"
	start_card scp03.yaml
	start_server
	online 1 --retry-for 2
	err_has "needs a technician's TLS client certificate"
	online 1 --retry-for 2 --client-cert "$WORK/mallory.pem" --client-key "$WORK/mallory.key"
	err_has "HTTP 403"
	is "commands the card saw" "$(card_commands)" 0
	online 0 --client-cert "$WORK/alice.pem" --client-key "$WORK/alice.key"
	json_is result ok
	is "technician" "$(sql "SELECT technician FROM serve_sessions WHERE state = 'done'")" alice
	grep -q "refused: no technician's TLS client certificate" "$WORK/server.1.log" ||
	    harness_die "the server did not log the refusal"
	;;
holder-pin)
	{ cat "$CARDS/scp03.yaml"; printf 'holder-pin:\n  pin: "48210937"\n  reference: 81\n'; } \
	    >"$WORK/pin-card.yaml"
	printf 'holder-pin:\n  aid: A000000151000000\n  reference: 81\n' >>"$WORK/p/session.yaml"
	start_card "$WORK/pin-card.yaml"
	start_server
	# A PIN file others may read: no PIN given, VERIFY never sent, the session
	# abandoned with why, nothing issued.
	echo 11119999 >"$WORK/holder.pin"
	chmod 644 "$WORK/holder.pin"
	online 1 --holder-pin-file "$WORK/holder.pin"
	err_has "the server asks for the card holder's PIN and none was given"
	err_has "must not be readable by group or others"
	is "session state" "$(session_state)" abandoned
	sql "SELECT detail FROM serve_sessions" | grep -q "the card holder's PIN could not be \
verified" || harness_die "the abandoned session's detail"
	[ "$(card_commands 0020)" = 0 ] || harness_die "VERIFY was sent without a PIN"
	is "bundles issued" "$(issued_count)" 0
	umask 077
	rm -f "$WORK/holder.pin"
	echo 11119999 >"$WORK/holder.pin"
	online 6 --holder-pin-file "$WORK/holder.pin"
	json_is result holder-pin
	err_has "the card refused the card holder's PIN with 63C2"
	err_has "nothing was sent after VERIFY"
	is "session state" "$(session_state)" rejected
	sql "SELECT detail FROM serve_sessions" | grep -q "refused the card holder's PIN with 63C2" ||
	    harness_die "the session's detail does not say why"
	is "bundles issued" "$(issued_count)" 0
	grep "^cardsim: >> " "$(cardsim_log)" | tail -n 1 | grep -q "^cardsim: >> 0020008108" ||
	    harness_die "the card saw a command after VERIFY"
	echo 48210937 >"$WORK/holder.pin"
	online 0 --holder-pin-file "$WORK/holder.pin"
	json_is result ok
	is "bundle state" "$(bundle_state)" loaded
	grep -q "the card holder's PIN verified (9000)" "$WORK/server.1.log" ||
	    harness_die "the server did not log the verified PIN"
	grep -q "tries-left: 3" "$WORK/card.state" || harness_die "the right PIN did not reset the tries"
	# Neither PIN, in text or in hex, reaches the server's log or the registry.
	for pin in 11119999 48210937 3131313139393939 3438323130393337; do
		! grep -qi "$pin" "$WORK/server.1.log" || harness_die "a PIN in the server's log"
		for table in serve_sessions bundles; do
			! sql "SELECT * FROM $table" | grep -qi "$pin" ||
			    harness_die "a PIN in the registry's $table"
		done
	done
	;;
technician)
	# The test service "cpk-serve" with pam_matrix (of pam_wrapper's package) and
	# a password file of ours, in this mount namespace's own /etc/pam.d.
	matrix=$(pkg-config --variable=modules pam_wrapper 2>/dev/null)/pam_matrix.so
	[ -f "$matrix" ] || harness_die "pam_matrix.so (libpam-wrapper) is needed"
	mount -t tmpfs -o mode=0755 cpk-e2e-pam /etc/pam.d || harness_die "cannot mount /etc/pam.d"
	printf 'alice:1234:cpk-serve\n' >"$WORK/passdb"
	for t in auth account; do
		echo "$t required $matrix passdb=$WORK/passdb"
	done >/etc/pam.d/cpk-serve
	SERVER_ARGS="--pam cpk-serve --auth-lockout 600"
	start_card scp03.yaml
	start_server
	online 1 --retry-for 2
	err_has "needs a technician"
	echo 1234 >"$WORK/pin"
	harness_run "$CARDLOAD" --server "https://127.0.0.1:$PORT" --cacert "$WORK/tls.pem" \
	    --technician bob <"$WORK/pin" >"$WORK/out" 2>"$WORK/err"
	[ $? = 1 ] || harness_die "an unknown technician: not exit 1"
	err_has "technician 'bob' refused"
	is "commands the card saw" "$(card_commands)" 0
	harness_run "$CARDLOAD" --server "https://127.0.0.1:$PORT" --cacert "$WORK/tls.pem" \
	    --json --technician alice <"$WORK/pin" >"$WORK/out" 2>"$WORK/err" ||
	    { cat "$WORK/err" >&2; harness_die "alice with her PIN: not provisioned"; }
	json_is result ok
	is "technician" "$(sql "SELECT technician FROM serve_sessions WHERE state = 'done'")" alice
	echo 9999 >"$WORK/pin"
	for i in 1 2 3; do
		harness_run "$CARDLOAD" --server "https://127.0.0.1:$PORT" --cacert "$WORK/tls.pem" \
		    --technician alice <"$WORK/pin" >"$WORK/out" 2>"$WORK/err"
		[ $? = 1 ] || harness_die "a wrong PIN: not exit 1"
		grep -q "technician 'alice' refused (unknown user or wrong PIN)" "$WORK/err" ||
		    harness_die "wrong PIN $i: message"
	done
	echo 1234 >"$WORK/pin"
	harness_run "$CARDLOAD" --server "https://127.0.0.1:$PORT" --cacert "$WORK/tls.pem" \
	    --technician alice <"$WORK/pin" >"$WORK/out" 2>"$WORK/err"
	[ $? = 1 ] || harness_die "a locked user: not exit 1"
	grep -q "locked for .* after 3 failures" "$WORK/err" || harness_die "lock message"
	[ "$(grep -c "refused: technician" "$WORK/server.1.log")" -ge 5 ] ||
	    harness_die "the server did not log every refusal"
	! grep -q "1234\|9999" "$WORK/server.1.log" || harness_die "a PIN in the server's log"
	;;
*)
	harness_die "unknown test '$TEST'"
	;;
esac
if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
	stop_server
fi
! grep -q "Sanitizer\|runtime error" "$WORK"/server.*.log 2>/dev/null ||
    harness_die "a sanitizer report in cardc serve's log"
echo "online $TEST ($BACKEND): ok" >&2
