#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The bureau's memory end to end (issue 11), against one registry back end:
# cardc compile --registry -> cardload --receipt through pcscd + cardsim ->
# cardc receipt import. A genuine load is recorded loaded (and importing it
# again changes nothing); a receipt edited by one byte is refused and
# nothing is recorded; a card that fakes 9000 at the last INSTALL is
# recorded "failed: ... not authentic"; a later failed run never undoes a
# proven load; the public key a card generated (capture: pubkey) is kept
# with the card and shown by registry show; a delegated-management load's
# card receipts are verified with KEYDIR/dm-receipt.key (none: no verdict;
# another key: failed, not authentic; the card's: loaded); a bundle the registry does not
# know, or one missing from --bundle, is refused; a revoked card's receipt
# is refused.
#
#   registry.sh sqlite|postgresql   (meson passes what cardload.sh gets)
#
# PostgreSQL: a server of our own (tests/registry/store_lib.sh), stopped by
# the harness's exit trap.

. "${E2E_DIR:?}/harness.sh"
harness_enter "$@"

BACKEND=${1:?usage: registry.sh sqlite|postgresql}
E2E_NAME=registry-$BACKEND
. "$E2E_DIR/cardload_lib.sh"
STORE_DIR=$WORK
. "$SRC/tests/registry/store_lib.sh"
case $BACKEND in
sqlite) ;;
postgresql)
	HARNESS_AT_EXIT=pg_stop
	pg_start ;;
*) harness_die "unknown back end '$BACKEND'" ;;
esac
unset CPK_REGISTRY

# import EXPECTED-EXIT ARGS...: cardc receipt import --json (stdout $WORK/imp.json).
import() {
	local want=$1 rc
	shift
	"$CARDC" receipt import --registry "$URI" -k "$WORK/keys" --json "$@" \
	    >"$WORK/imp.json" 2>"$WORK/imp.err"
	rc=$?
	cat "$WORK/imp.err" "$WORK/imp.json" >&2
	[ "$rc" = "$want" ] || harness_die "cardc receipt import $*: exit $rc, expected $want"
}

# imp_is N KEY VALUE: the Nth receipt's member.
imp_is() {
	local got
	got=$(python3 -c 'import json, sys
v = json.load(open(sys.argv[1]))["receipts"][int(sys.argv[2])][sys.argv[3]]
print("null" if v is None else v)' "$WORK/imp.json" "$1" "$2") || harness_die "import --json"
	[ "$got" = "$3" ] || harness_die "import: receipts[$1].$2 is '$got', expected '$3'"
}

imp_says() {
	grep -qF -- "$1" "$WORK/imp.json" || harness_die "import does not say '$1'"
}

state_of() {
	sql "SELECT state FROM bundles WHERE bundle_sha256 = '$1'"
}

hash_of() {
	sha256sum "$1" | awk '{ print toupper($1) }'
}

# reg_compile NAME: identify the current card, compile for it with the registry.
reg_compile() {
	identify "$1"
	"$CARDC" compile -p "$WORK/p/install-applet.yaml" -c "$WORK/$1.yaml" -k "$WORK/keys" \
	    -s "$WORK/keys/test-signing.key" --registry "$URI" -o "$WORK/$1.cpk" ||
	    harness_die "cardc compile --registry for $1 failed"
}

new_store
"$CARDC" registry init --registry "$URI" >&2 || harness_die "registry init"
mkdir -p "$WORK/bundles"
harness_start_pcscd

# --- a genuine load: loaded, proven by its R-MACs ---

start_card scp03.yaml
reg_compile card
H=$(hash_of "$WORK/card.cpk")
[ "$(state_of "$H")" = issued ] || harness_die "not recorded issued"
cardload_run 0 --receipt "$WORK/card.json" "$WORK/card.cpk"
# One byte of a label changed: refused; one byte of the bundle hash: no such bundle.
edit_receipt "$WORK/card.json" "$WORK/edit-label.json" '("\"label\":\"EXTERNAL AUTHENTICATE\"", 10)'
import 3 "$WORK/edit-label.json" --bundle "$WORK/card.cpk"
imp_is 0 verdict refused
imp_is 0 recorded False
imp_says "in the receipt but 'EXTERNAL AUTHENTICATE' in the bundle"
edit_receipt "$WORK/card.json" "$WORK/edit-sha.json" '(r["bundle"]["sha256"], 10)'
import 3 "$WORK/edit-sha.json" --bundle "$WORK/card.cpk"
imp_says "is not in registry"
[ "$(state_of "$H")" = issued ] || harness_die "an edited receipt changed the state"
# PostgreSQL: another import wins the race for the row between this import's
# read and its update (a transaction holds the row, moved to loaded, until
# the import waits for it): the import reads the row again and finds the
# load recorded, exit 0; it is not refused. The row is put back afterwards.
if [ "$BACKEND" = postgresql ]; then
	reason0=$(sql "SELECT reason FROM bundles WHERE bundle_sha256 = '$H'")
	mkfifo "$WORK/race.sql"
	psql -X -q -v ON_ERROR_STOP=1 "$URI" <"$WORK/race.sql" >"$WORK/race.out" 2>&1 &
	race_psql=$!
	exec 9>"$WORK/race.sql"
	echo "BEGIN; UPDATE bundles SET state = 'loaded', reason = 'raced' WHERE bundle_sha256 = '$H';" >&9
	# poll_for WHAT SQL: until SQL gives a row (bounded; never reached when all is well).
	poll_for() {
		local i=0
		until [ -n "$(sql "$2")" ]; do
			i=$((i + 1))
			[ $i -lt 600 ] || harness_die "never saw $1"
			sleep 0.1
		done
	}
	poll_for "the racing update" "SELECT 1 FROM pg_stat_activity WHERE state = 'idle in transaction' AND query LIKE '%raced%'"
	"$CARDC" receipt import --registry "$URI" -k "$WORK/keys" --json "$WORK/card.json" \
	    --bundle "$WORK/card.cpk" >"$WORK/imp.json" 2>"$WORK/imp.err" &
	race_imp=$!
	poll_for "the import waiting for the row" "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'UPDATE bundles%'"
	echo "COMMIT;" >&9
	exec 9>&-
	wait "$race_psql" || harness_die "the racing transaction failed: $(cat "$WORK/race.out")"
	wait "$race_imp"
	rc=$?
	cat "$WORK/imp.err" "$WORK/imp.json" >&2
	[ "$rc" = 0 ] || harness_die "an import that lost the race: exit $rc, expected 0"
	imp_is 0 state loaded
	imp_is 0 changed False
	sql "UPDATE bundles SET state = 'issued', reason = '$reason0' WHERE bundle_sha256 = '$H'" >/dev/null
fi
# The bundle found in a folder of bundles.
cp "$WORK/card.cpk" "$WORK/bundles/"
import 0 "$WORK/card.json" --bundle "$WORK/bundles"
imp_is 0 verdict loaded
imp_is 0 state-before issued
imp_is 0 state loaded
imp_is 0 changed True
imp_is 0 serial "$(sql "SELECT serial FROM bundles WHERE bundle_sha256 = '$H'")"
[ "$(state_of "$H")" = loaded ] || harness_die "not recorded loaded"
sql "SELECT reason FROM bundles WHERE bundle_sha256 = '$H'" | grep -q "^loaded: all .* R-MACs" ||
    harness_die "the reason is not the verdict"
[ "$(sql "SELECT COUNT(*) FROM events WHERE event = 'receipt' AND bundle_sha256 = '$H'")" = 1 ] ||
    harness_die "no receipt event"
# Again: nothing changes.
import 0 "$WORK/card.json" --bundle "$WORK/card.cpk"
imp_is 0 changed False
imp_says "stays loaded (already recorded)"
# The same bundle run again fails (its counter moved on): the load stays recorded.
cardload_run 3 --receipt "$WORK/stale.json" "$WORK/card.cpk"
import 4 "$WORK/stale.json" --bundle "$WORK/card.cpk"
imp_is 0 verdict failed
imp_is 0 state loaded
imp_says "its counter moved on"
[ "$(state_of "$H")" = loaded ] || harness_die "a failed run undid a proven load"
# Text output, several receipts, the worst exit.
"$CARDC" receipt import --registry "$URI" -k "$WORK/keys" --bundle "$WORK/card.cpk" \
    "$WORK/card.json" "$WORK/edit-label.json" >"$WORK/imp.txt" 2>&1
rc=$?
cat "$WORK/imp.txt" >&2
[ "$rc" = 3 ] || harness_die "import of two receipts: exit $rc, expected 3"
grep -q "^2 receipts: 1 loaded, 0 failed, 1 refused, 0 errors$" "$WORK/imp.txt" ||
    harness_die "import's summary line"
harness_stop_cardsim

# --- a card that fakes 9000 at the last INSTALL: failed, not authentic ---

rm -f "$WORK/card.state"
sed -e 's/^  cin: .*/  cin: 0102030405060709/' -e 's/^  kdd: .*/  kdd: 0102030405060708090B/' \
    "$CARDS/scp03.yaml" >"$WORK/card2.yaml" || harness_die "card2.yaml"
sed -e 's/^  cin: .*/  cin: 010203040506070A/' -e 's/^  kdd: .*/  kdd: 0102030405060708090C/' \
    "$CARDS/scp03.yaml" >"$WORK/card3.yaml" || harness_die "card3.yaml"
start_card "$WORK/card2.yaml"
reg_compile lie
harness_stop_cardsim
n=$(bundle_commands "$WORK/lie.cpk")
harness_start_cardsim --state "$WORK/card.state" -v --sw-at "$n:9000"
harness_wait_card
cardload_run 0 --receipt "$WORK/lie.json" "$WORK/lie.cpk"
err_has "done: all"
HL=$(hash_of "$WORK/lie.cpk")
import 5 "$WORK/lie.json" --bundle "$WORK/lie.cpk"
imp_is 0 verdict not-authentic
imp_is 0 state failed
[ "$(state_of "$HL")" = failed ] || harness_die "the faked load is not recorded failed"
sql "SELECT reason FROM bundles WHERE bundle_sha256 = '$HL'" |
    grep -q "^failed: the response to command $n (.*), 9000, is not authentic" ||
    harness_die "the reason does not say the response is not authentic"
"$CARDC" registry show --registry "$URI" "$(sql "SELECT serial FROM bundles WHERE \
    bundle_sha256 = '$HL'")" >"$WORK/show.txt" || harness_die "registry show"
grep -q "not authentic" "$WORK/show.txt" || harness_die "registry show lacks the reason"
harness_stop_cardsim

# --- captured data: the key pair's public key, kept with the card ---

cp "$SRC/profiles/generate-key.yaml" "$WORK/p/" || harness_die "profile"
sed -e 's/^  cin: .*/  cin: 010203040506070B/' -e 's/^  kdd: .*/  kdd: 0102030405060708090D/' \
    "$CARDS/scp03.yaml" >"$WORK/card4.yaml" || harness_die "card4.yaml"
rm -f "$WORK/card.state"
start_card "$WORK/card4.yaml"
identify key
"$CARDC" compile -p "$WORK/p/generate-key.yaml" -c "$WORK/key.yaml" -k "$WORK/keys" \
    -s "$WORK/keys/test-signing.key" --registry "$URI" -o "$WORK/key.cpk" ||
    harness_die "cardc compile --registry of generate-key"
cardload_run 0 --receipt "$WORK/key.json" "$WORK/key.cpk"
harness_stop_cardsim
HK=$(hash_of "$WORK/key.cpk")
SK=$(sql "SELECT serial FROM bundles WHERE bundle_sha256 = '$HK'")
# tests/cardsim/README.md: 04 || SHA-256(KDD || AID || "x") || SHA-256(KDD || AID || "y").
want=$(python3 -c '
import hashlib
k = bytes.fromhex("0102030405060708090D") + bytes.fromhex("F043504B48454C4C4F01")
print(("04" + hashlib.sha256(k + b"x").hexdigest() + hashlib.sha256(k + b"y").hexdigest()).upper())')
import 0 "$WORK/key.json" --bundle "$WORK/key.cpk"
imp_is 0 state loaded
imp_is 0 captured 1
imp_says "captured values kept"
[ "$(sql "SELECT name, value FROM captured WHERE bundle_sha256 = '$HK'")" = "pubkey|$want" ] ||
    harness_die "the public key is not in the registry"
"$CARDC" registry show --registry "$URI" "$SK" >"$WORK/show.txt" || harness_die "registry show"
cat "$WORK/show.txt" >&2
grep -q "^  captured      pubkey: $want$" "$WORK/show.txt" ||
    harness_die "registry show does not print the public key"
"$CARDC" registry show --registry "$URI" "$SK" --json >"$WORK/show.json" ||
    harness_die "registry show --json"
python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
assert d["bundles"][0]["captured"] == {"pubkey": sys.argv[2]}, d["bundles"][0]["captured"]' \
    "$WORK/show.json" "$want" || harness_die "registry show --json: pubkey"
# Importing it again keeps the same value and changes nothing.
import 0 "$WORK/key.json" --bundle "$WORK/key.cpk"
imp_is 0 changed False

# --- delegated management: the card's receipts, verified with the receipt key ---

rm -f "$WORK/card.state"
sed -e 's/^  cin: .*/  cin: 0102030405060DD1/' -e 's/^  kdd: .*/  kdd: 01020304050607080DD1/' \
    "$CARDS/delegated.yaml" >"$WORK/dm-card.yaml" || harness_die "dm-card.yaml"
cp "$SRC/keys/test-token-rsa1024.pem" "$SRC/profiles/delegated-install.yaml" "$WORK/p/" &&
    mv "$WORK/p/test-token-rsa1024.pem" "$WORK/keys/" &&
    chmod 600 "$WORK/keys/test-token-rsa1024.pem" || harness_die "delegated-management files"
start_card "$WORK/dm-card.yaml"
identify dm --sd A000000151535344
"$CARDC" compile -p "$WORK/p/delegated-install.yaml" -c "$WORK/dm.yaml" -k "$WORK/keys" \
    -s "$WORK/keys/test-signing.key" --registry "$URI" -o "$WORK/dm.cpk" ||
    harness_die "cardc compile --registry of the delegated-management profile"
HD=$(hash_of "$WORK/dm.cpk")
cardload_run 0 --receipt "$WORK/dm.json" "$WORK/dm.cpk"
harness_stop_cardsim
# Without the receipt key: no verdict, nothing recorded.
import 1 "$WORK/dm.json" --bundle "$WORK/dm.cpk"
grep -qF "no receipt key '$WORK/keys/dm-receipt.key'" "$WORK/imp.err" ||
    harness_die "import without the receipt key"
[ "$(state_of "$HD")" = issued ] || harness_die "a receipt without its key changed the state"
# Another receipt key: the card's receipt at its last LOAD is not authentic.
echo 000102030405060708090A0B0C0D0E0F >"$WORK/keys/dm-receipt.key" &&
    chmod 600 "$WORK/keys/dm-receipt.key" || harness_die "wrong receipt key"
import 5 "$WORK/dm.json" --bundle "$WORK/dm.cpk"
imp_is 0 verdict not-authentic
imp_says "(LOAD 2/2), 9000, is not authentic: the card's receipt (confirmation counter 0001) does not verify with the receipt key"
[ "$(state_of "$HD")" = failed ] || harness_die "a false card receipt was not recorded failed"
# The card's receipt key: loaded.
cp "$SRC/keys/test-dm-receipt.key" "$WORK/keys/dm-receipt.key" || harness_die "receipt key"
import 0 "$WORK/dm.json" --bundle "$WORK/dm.cpk"
imp_is 0 verdict loaded
imp_says "the card's delegated-management receipts with the receipt key"
[ "$(state_of "$HD")" = loaded ] || harness_die "the delegated load is not recorded loaded"
rm -f "$WORK/keys/dm-receipt.key" "$WORK/card.state"

# --- refusals: an unknown bundle, a missing bundle file, a revoked card ---

rm -f "$WORK/card.state"
start_card "$WORK/card3.yaml"
identify other
compile "$WORK/p/install-applet.yaml" "$WORK/other.yaml" "$WORK/other.cpk"
cardload_run 0 --receipt "$WORK/other.json" "$WORK/other.cpk"
import 3 "$WORK/other.json" --bundle "$WORK/other.cpk"
imp_says "is not in registry"
imp_says "it was not issued with this registry"
harness_stop_cardsim
import 1 "$WORK/lie.json" --bundle "$WORK/card.cpk"
grep -qF "is not among the --bundle files" "$WORK/imp.err" ||
    harness_die "a missing bundle file is not named"
"$CARDC" registry mark --registry "$URI" "$HL" revoked --reason "card lost" >&2 &&
    harness_die "a failed bundle was revoked"
"$CARDC" registry mark --registry "$URI" "$H" revoked --reason "card lost" >&2 ||
    harness_die "registry mark revoked"
import 3 "$WORK/card.json" --bundle "$WORK/card.cpk"
imp_says "is revoked (card lost; bundle "
imp_says ": its receipts are not recorded"
[ "$(state_of "$H")" = revoked ] || harness_die "a revoked card's receipt changed its state"

# --- usage ---

"$CARDC" receipt import "$WORK/card.json" -k "$WORK/keys" 2>"$WORK/imp.err" &&
    harness_die "import without --bundle"
grep -q "missing --bundle PATH" "$WORK/imp.err" || harness_die "usage: --bundle"
CPK_REGISTRY=none "$CARDC" receipt import "$WORK/card.json" -k "$WORK/keys" \
    --bundle "$WORK/card.cpk" 2>"$WORK/imp.err" && harness_die "import without a registry"
grep -q "no registry: give --registry URI" "$WORK/imp.err" || harness_die "no registry message"

echo "harness: registry test ($BACKEND) passed" >&2
