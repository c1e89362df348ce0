# SPDX-License-Identifier: BSD-2-Clause
# cardload_lib.sh: the set-up and helpers of the cardload end-to-end tests
# (cardload.sh, failures.sh). Sourced after harness_enter, with E2E_NAME set
# to the test's work-directory name; needs CARDLOAD, CARDC, CAPGEN and
# CPK_SOURCE_ROOT from meson.

: "${CARDLOAD:?CARDLOAD must name the cardload program}"
: "${CARDC:?CARDC must name the cardc program}"
: "${CAPGEN:?CAPGEN must name the capgen program}"
: "${CPK_SOURCE_ROOT:?CPK_SOURCE_ROOT must name the source tree}"
SRC=$CPK_SOURCE_ROOT
CARDS=$E2E_DIR/cards
PKG=F043504B48454C4C4F
APP=F043504B48454C4C4F01
K=404142434445464748494A4B4C4D4E4F
RUNS=0

harness_setup "$E2E_NAME"

export XDG_CONFIG_HOME=$WORK/config XDG_STATE_HOME=$WORK/state HOME=$WORK/home
unset CPK_READER
LOG=$XDG_STATE_HOME/cpk/cardload.log
mkdir -p "$XDG_CONFIG_HOME/cpk/trusted" "$HOME" "$WORK/keys" "$WORK/p" || harness_die "mkdir"
cp "$SRC/keys/test-signing.pub" "$XDG_CONFIG_HOME/cpk/trusted/" &&
    chmod 644 "$XDG_CONFIG_HOME/cpk/trusted/test-signing.pub" &&
    chmod 755 "$XDG_CONFIG_HOME/cpk/trusted" || harness_die "trust"
cp "$SRC/keys/test-signing.key" "$SRC/keys/gp-test-keys-aes.yaml" "$WORK/keys/" &&
    sed 's/^kvn: "01"/kvn: "20"/' "$SRC/keys/gp-test-keys.yaml" >"$WORK/keys/gp-test-keys.yaml" &&
    chmod 600 "$WORK"/keys/* || harness_die "cannot copy the test keys"
cp "$SRC/profiles/install-applet.yaml" "$WORK/p/" || harness_die "profile"
"$CAPGEN" -o "$WORK/p/hello.cap" --package $PKG --applet $APP >/dev/null ||
    harness_die "capgen failed"
# If the machine has system trust anchors, hide them: this test decides what is trusted.
if [ -d /etc/cpk/trusted ]; then
	mount -t tmpfs -o mode=0755 cpk-e2e-etc /etc/cpk/trusted ||
		harness_die "cannot hide /etc/cpk/trusted"
fi

# --- helpers ---

# Start pcscd's card from a config in tests/e2e/cards or $WORK (verbose log).
start_card() {
	local config=$1
	shift
	[ -f "$config" ] || config=$CARDS/$config
	harness_start_cardsim --config "$config" --state "$WORK/card.state" -v "$@"
	harness_wait_card
}

# Start the same card again (its state file) with fault options.
restart_card() {
	harness_stop_cardsim
	harness_start_cardsim --state "$WORK/card.state" -v "$@"
	harness_wait_card
}

cardsim_log() {
	echo "$WORK/cardsim.$CARDSIM_RUNS.log"
}

# Commands the current cardsim has received (optionally those matching a prefix).
card_commands() {
	grep -c "^cardsim: >> ${1:-}" "$(cardsim_log)"
}

# cardload_run EXPECTED-EXIT ARGS...: runs cardload (stdout $WORK/out,
# stderr $WORK/err), checks the exit status and that the run log grew by
# its records: an "ended" one, after a "started" one of the same run (start
# and pid) when the run reached a card.
cardload_run() {
	local want=$1 rc before
	shift
	before=$( [ -f "$LOG" ] && wc -l <"$LOG" || echo 0)
	harness_run "$CARDLOAD" "$@" >"$WORK/out" 2>"$WORK/err" </dev/null
	rc=$?
	RUNS=$((RUNS + 1))
	{ echo "----- cardload $* (exit $rc)"; cat "$WORK/err"; } >>"$WORK/cardload.log"
	cat "$WORK/err" >&2
	[ "$rc" = "$want" ] || harness_die "cardload $*: exit $rc, expected $want"
	if [ "${NO_LOG_CHECK:-}" != 1 ]; then
		log_grew "$before" || harness_die "cardload $*: the run log did not grow by its records"
	fi
}

# The run log's lines after the first N are one run's records: "started"
# (optional) and "ended", of the same start and pid.
log_grew() {
	tail -n +$(($1 + 1)) "$LOG" | python3 -c '
import json, sys
recs = [json.loads(line) for line in sys.stdin]
kinds = [r["record"] for r in recs]
assert kinds in (["ended"], ["started", "ended"]), kinds
assert all((r["start"], r["pid"]) == (recs[0]["start"], recs[0]["pid"]) for r in recs)
' || { tail -n +$(($1 + 1)) "$LOG" >&2; return 1; }
}

# The last stderr of cardload contains a string.
err_has() {
	grep -qF -- "$1" "$WORK/err" || harness_die "cardload's message lacks '$1'"
}

# A member of the last --json document: json_get KEY[.KEY...]
json_get() {
	python3 -c '
import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    v = v[k] if v is not None else None
print("null" if v is None else v)' "$WORK/out" "$1" || harness_die "--json output is not JSON"
}

json_is() {
	local got
	got=$(json_get "$1")
	[ "$got" = "$2" ] || harness_die "JSON $1 is '$got', expected '$2'"
}

# The last run-log line's member (the last run's "ended" record).
log_get() {
	tail -n 1 "$LOG" | python3 -c '
import json, sys
v = json.loads(sys.stdin.read())[sys.argv[1]]
print("null" if v is None else v)' "$1"
}

log_is() {
	local got
	got=$(log_get "$1")
	[ "$got" = "$2" ] || harness_die "run log $1 is '$got', expected '$2'"
}

# identify the current card into $WORK/NAME.yaml
identify() {
	harness_run "$CARDLOAD" identify -o "$WORK/$1.yaml" "${@:2}" </dev/null \
	    2>"$WORK/identify.err" || { cat "$WORK/identify.err" >&2; harness_die "identify failed"; }
	cat "$WORK/identify.err" "$WORK/$1.yaml" >&2
}

# compile PROFILE CARD OUT
compile() {
	"$CARDC" compile -p "$1" -c "$2" -k "$WORK/keys" -s "$WORK/keys/test-signing.key" \
	    -o "$3" || harness_die "cardc compile $1 for $2 failed"
}

# A fresh bundle for the card of the state file: start it, identify, stop.
fresh_bundle() {
	local name=$1 config=${2:-scp03.yaml}
	if [ -f "$WORK/card.state" ]; then
		harness_start_cardsim --state "$WORK/card.state"
		harness_wait_card
	else
		start_card "$config"
	fi
	identify "$name"
	harness_stop_cardsim
	compile "$WORK/p/install-applet.yaml" "$WORK/$name.yaml" "$WORK/$name.cpk"
}

print_registry() {
	"$CARDSIM" --state "$WORK/card.state" --print >"$WORK/registry.txt" ||
		harness_die "cardsim --print failed"
	cat "$WORK/registry.txt" >&2
}

registry_has() {
	grep -Eq "$1" "$WORK/registry.txt" || harness_die "registry lacks /$1/"
}

registry_lacks() {
	! grep -Eq "$1" "$WORK/registry.txt" || harness_die "registry has /$1/"
}

# One "ended" record per run; every "started" record has its "ended" one.
check_log_lines() {
	python3 -c '
import json, sys
ended, started = set(), set()
for n, line in enumerate(open(sys.argv[1]), 1):
    d = json.loads(line)
    run = (d["start"], d["pid"])
    if d["record"] == "started":
        for k in ("cardload", "source", "bundle-sha256", "key-id", "serial", "reader",
                  "commands"):
            assert k in d, "line %d lacks %s" % (n, k)
        assert run not in started, "line %d: a second started record" % n
        started.add(run)
        continue
    assert d["record"] == "ended", "line %d: record %r" % (n, d["record"])
    for k in ("start", "end", "cardload", "result", "exit", "bundle-sha256", "serial",
              "reader", "sent", "failed-index", "failed-sw"):
        assert k in d, "line %d lacks %s" % (n, k)
    assert run not in ended, "line %d: a second ended record" % n
    ended.add(run)
assert started <= ended, "started without ended: %s" % (started - ended)
assert len(ended) == int(sys.argv[2]), "%d ended records for %s runs" % (len(ended), sys.argv[2])
' "$LOG" "$RUNS" || harness_die "run log malformed"
}

# --- the simulator's state before and after a run ---
#
# card_snap NAME records the card: its state file, `cardsim --print`, and how
# many commands (and secured ones) the current cardsim has received. Then:
#   card_untouched NAME      nothing reached the card: same state file, same
#                            printout, no command at all
#   card_pre_channel NAME K  only SELECT and INITIALIZE UPDATE reached the card:
#                            the printout is the same but for the key set lines,
#                            one of which must now read "KEYSET K" (e.g. "30  AES-128
#                            counter 000005": SCP03 moves the counter at every
#                            INITIALIZE UPDATE, SCP02 does not); no secured command
#   card_received NAME N     exactly N commands since the snapshot (a run that
#                            stopped at its command N: nothing after it was sent)
card_snap() {
	cp "$WORK/card.state" "$WORK/snap-$1.state" || harness_die "no card state to snapshot"
	"$CARDSIM" --state "$WORK/card.state" --print >"$WORK/snap-$1.txt" ||
		harness_die "cardsim --print failed"
	card_commands >"$WORK/snap-$1.n"
	card_commands 84 >"$WORK/snap-$1.n84"
}

card_print_now() {
	"$CARDSIM" --state "$WORK/card.state" --print >"$WORK/registry.txt" ||
		harness_die "cardsim --print failed"
}

card_received() {
	local got
	got=$(( $(card_commands) - $(cat "$WORK/snap-$1.n") ))
	[ "$got" = "$2" ] || harness_die "$1: the card received $got command(s), expected $2"
}

card_untouched() {
	card_received "$1" 0
	cmp -s "$WORK/card.state" "$WORK/snap-$1.state" || harness_die "$1: the card's state changed"
	card_print_now
	diff "$WORK/snap-$1.txt" "$WORK/registry.txt" >&2 || harness_die "$1: the registry changed"
}

card_pre_channel() {
	card_received "$1" 2
	[ "$(card_commands 84)" = "$(cat "$WORK/snap-$1.n84")" ] ||
		harness_die "$1: a secured command reached the card"
	card_print_now
	diff <(grep -v '^KEYSET' "$WORK/snap-$1.txt") <(grep -v '^KEYSET' "$WORK/registry.txt") >&2 ||
		harness_die "$1: the registry changed"
	grep -qx "KEYSET $2" "$WORK/registry.txt" ||
		harness_die "$1: no 'KEYSET $2': $(grep '^KEYSET' "$WORK/registry.txt")"
}

# --- a card that stops answering, a cardload in the background ---
#
# start_frozen_card N [CARDSIM-OPTIONS]: cardsim on the state file, frozen
# when command N arrives (it logs it, never runs nor answers it); then
# wait_frozen returns once that happened: the run is exactly there, whatever
# the machine's load.
start_frozen_card() {
	FREEZE_AT=$1
	shift
	rm -f "$WORK/frozen"
	mkfifo "$WORK/frozen" || harness_die "mkfifo"
	harness_start_cardsim --state "$WORK/card.state" -v --freeze-at "$FREEZE_AT" \
	    --freeze-notice "$WORK/frozen" "$@"
	harness_wait_card
}

wait_frozen() {
	local line
	read -r line <"$WORK/frozen" || harness_die "no word from the card frozen at $FREEZE_AT"
	[ "$line" = "frozen $FREEZE_AT" ] || harness_die "the frozen card said '$line'"
}

# cardload_bg ARGS...: start cardload in the background (CL_PID); stdout
# $WORK/out, stderr $WORK/err. cardload_wait EXPECTED-EXIT collects it.
# A background job of a script starts with SIGINT ignored, which cardload
# would respect: the signals are reset to their default (CL_SIGNALS: other
# env(1) signal options instead).
CL_PID=
cardload_bg() {
	# shellcheck disable=SC2086
	env ${CL_SIGNALS:---default-signal=INT,TERM,HUP} "$CARDLOAD" "$@" >"$WORK/out" \
	    2>"$WORK/err" </dev/null &
	CL_PID=$!
	harness_track "$CL_PID"
}

cardload_wait() {
	local rc
	wait "$CL_PID"
	rc=$?
	harness_untrack "$CL_PID"
	RUNS=$((RUNS + 1))
	{ echo "----- cardload in the background (exit $rc)"; cat "$WORK/err"; } \
	    >>"$WORK/cardload.log"
	grep -v '^[<>]' "$WORK/err" >&2
	[ "$rc" = "$1" ] || harness_die "cardload in the background: exit $rc, expected $1"
}

# The run log's last two lines: the "started" and "ended" records of one run.
log_started_ended() {
	tail -n 2 "$LOG" | python3 -c '
import json, sys
s, e = [json.loads(line) for line in sys.stdin]
assert s["record"] == "started" and e["record"] == "ended", (s["record"], e["record"])
assert (s["start"], s["pid"]) == (e["start"], e["pid"]), "not the same run"
assert s["commands"] == e["commands"] and s["bundle-sha256"] == e["bundle-sha256"]
' || harness_die "the run log does not end with one run's started and ended records"
}

# bundle_commands BUNDLE: its number of commands.
bundle_commands() {
	"$CARDC" inspect --json "$1" | python3 -c '
import json, sys
print(json.load(sys.stdin)["manifest"]["commands"])' || harness_die "cardc inspect $1"
}

# edit_receipt IN OUT PYTHON-EXPR: OUT is IN with one byte changed; the
# expression (r: the receipt as JSON) gives a string found once in IN and
# the offset in it of the byte to change.
edit_receipt() {
	python3 - "$1" "$2" "$3" <<'PY' || harness_die "edit_receipt"
import json, sys
text = open(sys.argv[1], "rb").read()
r = json.loads(text)
s, off = eval(sys.argv[3])
assert text.count(s.encode()) == 1, s
pos = text.index(s.encode()) + (off if off >= 0 else len(s) + off)
b = bytearray(text)
b[pos] = ord("0") if b[pos] != ord("0") else ord("1")
open(sys.argv[2], "wb").write(bytes(b))
print("changed byte", pos, "in", s, file=sys.stderr)
PY
}
