#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The issuance registry through cardc, against one back end:
#   sqlite      a temporary file
#   postgresql  a real server this test starts itself: initdb and pg_ctl
#               in a temporary folder, as user nobody (when run as root),
#               listening on a unix socket only; stopped (pg_ctl stop, that
#               data folder only) on exit
# Covers: init (twice), migrate from a hand-made version 1 schema, a newer
# schema refused, recording from compile and batch -j 2, single use, --supersede,
# state changes, personal data sealed at rest, list/show/export/summary (text
# and JSON), the URI from CPK_REGISTRY and the config file, passwords never
# printed, bad URIs and unreachable servers; concurrency (4 processes x 2000
# cards into one registry: exactly 8000 rows, no duplicate; 2 processes
# racing on the same 300 cards: each card recorded once); kill -9 of a batch
# mid-run (no half row, every written bundle recorded, the store intact; the
# resumed run rewrites the recorded bundles byte for byte and records the rest);
# cardc reissue (the lost card's data for a new card, the old card revoked and
# linked, show/list, each refusal, a revoked card refused by compile, batch
# and a second re-issue, two re-issues of one card at once).
#
# usage: test_registry.sh sqlite|postgresql CARDC CAPGEN SOURCE_ROOT
set -u
BACKEND=$1 CARDC=$2 CAPGEN=$3 SRCROOT=$4
CLI_TEST_DIR=$SRCROOT/tests/cli
. "$CLI_TEST_DIR/lib.sh"
setup_work
export XDG_CONFIG_HOME="$T/xdg"
unset CPK_REGISTRY
STORE_DIR=$T
. "$SRCROOT/tests/registry/store_lib.sh"
case $BACKEND in
sqlite) ;;
postgresql)
	trap 'pg_stop; rm -rf "$T"' EXIT
	trap 'exit 1' INT TERM
	pg_start ;;
*) echo "usage: test_registry.sh sqlite|postgresql CARDC CAPGEN SOURCE_ROOT" >&2; exit 2 ;;
esac

PA=$T/p/install-applet.yaml
PP=$T/p/personalize.yaml
CARD3=$SRCROOT/tests/cli/data/card-scp03.yaml

# Each compile its own creation time: the same inputs compile to the same
# host challenge (challenge.h), and with the same time to the same bytes;
# another time makes another bundle of the same commands, as a real
# recompile on another day does.
n_compile=0
compile() {
	n_compile=$((n_compile + 1))
	SOURCE_DATE_EPOCH=$((1700000000 + n_compile)) \
	    "$CARDC" compile -k "$KEYS" -s "$SIGN" --registry "$URI" "$@"
}
hash_of() {
	sha256sum "$1" | awk '{ print toupper($1) }'
}

# --- init, list on an empty registry ---

new_store
expect 0 "" "$CARDC" registry init --registry "$URI"
check "init: message" grep -q "schema version 3 created" "$T/out"
check "init: version table" test "$(sql 'SELECT version FROM schema_version')" = 3
expect 1 "already has a schema (version 3)" "$CARDC" registry init --registry "$URI"
expect 0 "" "$CARDC" registry migrate --registry "$URI"
check "migrate: up to date" grep -q "schema version 3, up to date" "$T/out"
expect 0 "" "$CARDC" registry list --registry "$URI"
check "list: empty" grep -qx "0 bundles" "$T/out"
if [ "$BACKEND" = sqlite ]; then
	check "sqlite: WAL mode" test "$(sql 'PRAGMA journal_mode')" = wal
	check "sqlite: file mode 0600" test "$(stat -c %a "${URI#sqlite:}")" = 600
fi

# --- compile records, single use, supersede ---

expect 0 "" compile -p "$PA" -c "$CARD3" -o "$T/a.cpk"
HA=$(hash_of "$T/a.cpk")
# The same compile again (same inputs, same time): the same bytes, recorded already.
SOURCE_DATE_EPOCH=1700000001 expect 0 "" "$CARDC" compile -k "$KEYS" -s "$SIGN" \
    --registry "$URI" -p "$PA" -c "$CARD3" -o "$T/a-again.cpk"
check "the same compile: the same bytes" cmp -s "$T/a.cpk" "$T/a-again.cpk"
check "the same compile: one row" test "$(sql 'SELECT COUNT(*) FROM bundles')" = 1
check "compile: one row" test "$(sql 'SELECT COUNT(*) FROM bundles')" = 1
check "compile: row" test "$(sql "SELECT serial, state, counter, mode, kdd, iin, cin, profile \
    FROM bundles WHERE bundle_sha256 = '$HA'")" = \
    "CARD-0001|issued|000001|offline|0102030405060708090A|0001020304|0102030405060708|install-applet"
check "compile: profile hash" test "$(sql "SELECT profile_sha256 FROM bundles")" = "$(hash_of "$PA")"
expect 1 "card CARD-0001, counter 000001: bundle $HA is already recorded for it (issued)" \
    compile -p "$PA" -c "$CARD3" -o "$T/b.cpk"
check "refused: no bundle written" test ! -e "$T/b.cpk"
check "refused: still one row" test "$(sql 'SELECT COUNT(*) FROM bundles')" = 1
expect 0 "" compile -p "$PA" -c "$CARD3" -o "$T/b.cpk" --supersede "card lost in the post"
HB=$(hash_of "$T/b.cpk")
check "supersede: old row" test "$(sql "SELECT state, reason, replaced_by FROM bundles \
    WHERE bundle_sha256 = '$HA'")" = "superseded|card lost in the post|$HB"
check "supersede: new row issued" test "$(sql "SELECT state FROM bundles WHERE bundle_sha256 = '$HB'")" = issued
check "supersede: event" test "$(sql "SELECT detail FROM events WHERE event = 'superseded'")" = \
    "card lost in the post"
# A loaded bundle cannot be superseded: the message says it is loaded.
expect 0 "" "$CARDC" registry mark "$HB" loaded --registry "$URI"
expect 1 "bundle $HB is already recorded for it (loaded)" \
    compile -p "$PA" -c "$CARD3" -o "$T/c.cpk" --supersede "again"
check "loaded: not superseded" test ! -e "$T/c.cpk"
expect 1 "is loaded: it cannot become superseded" "$CARDC" registry mark "$HB" superseded \
    --registry "$URI"
expect 1 "state 'issued': give loaded, failed, superseded or revoked" \
    "$CARDC" registry mark "$HB" issued --registry "$URI"
expect 0 "" "$CARDC" registry mark "$HB" revoked --reason "card stolen" --registry "$URI"
expect 1 "is revoked: it cannot become failed" "$CARDC" registry mark "$HB" failed --registry "$URI"
expect 1 "no bundle 00AA in registry" "$CARDC" registry mark 00AA failed --registry "$URI"
# A failed bundle frees its card and counter.
CARD2=$SRCROOT/tests/cli/data/card-scp02.yaml
PR=$T/p/rotate-keys.yaml
expect 0 "" compile -p "$PR" -c "$CARD2" -o "$T/d.cpk"
HD=$(hash_of "$T/d.cpk")
expect 0 "" "$CARDC" registry mark "$HD" failed --reason "reader fault" --registry "$URI"
expect 0 "" compile -p "$PR" -c "$CARD2" -o "$T/e.cpk"
check "failed then issued" test "$(sql "SELECT state FROM bundles WHERE serial = 'CARD-0002' \
    ORDER BY id" | tr '\n' ' ')" = "failed issued "
check "state events" test "$(sql "SELECT event FROM events ORDER BY id" | tr '\n' ' ')" = \
    "issued superseded issued loaded revoked issued failed issued "

# --- personal data sealed at rest ---

expect 1 "no registry data key '$KEYS/registry-data.key'" compile -p "$PP" -c "$CARD3" -o "$T/p1.cpk"
expect 0 "" "$CARDC" registry keygen -k "$KEYS"
check "data key: mode 0600" test "$(stat -c %a "$KEYS/registry-data.key")" = 600
check "data key: 64 hex digits" grep -qxE '[0-9A-F]{64}' "$KEYS/registry-data.key"
expect 1 "exists: keys are never overwritten" "$CARDC" registry keygen -k "$KEYS"
chmod 644 "$KEYS/registry-data.key"
expect 1 "must be accessible by its owner only" compile -p "$PP" -c "$CARD3" -o "$T/p1.cpk"
chmod 600 "$KEYS/registry-data.key"
# The personalize profile binds to counter 000001 of CARD-0001 too: a new card.
sed 's/^serial: CARD-0001/serial: CARD-0003/' "$CARD3" >"$T/card3b.yaml"
expect 0 "" compile -p "$PP" -c "$T/card3b.yaml" -o "$T/p1.cpk"
HP=$(hash_of "$T/p1.cpk")
data=$(sql "SELECT data FROM bundles WHERE bundle_sha256 = '$HP'")
# 12-byte nonce, "holder" item (1 + 6 + 2 + 12 bytes), 16-byte tag.
check "sealed data: length" test "${#data}" = $(((12 + 21 + 16) * 2))
holder_hex=$(printf 'Ada Lovelace' | od -An -tx1 | tr -d ' \n' | tr a-f A-F)
check "sealed data: no plain text" sh -c "! echo '$data' | grep -qi '$holder_hex'"
check "sealed data: none for a profile without data" test -z "$(sql "SELECT data FROM bundles \
    WHERE bundle_sha256 = '$HA'")"
expect 0 "" "$CARDC" registry export --registry "$URI"
check "export: sealed data" grep -q "\"sealed-data\": \"$data\"" "$T/out"
check "export: no plain data" sh -c "! grep -q 'Ada Lovelace' '$T/out'"
check "export: JSON" python3 -c "import json,sys; d=json.load(open(sys.argv[1])); \
    assert d['format'] == 'cpk-registry-export' and d['schema-version'] == 3; \
    assert len(d['bundles']) == 5 and len(d['events']) == 9" "$T/out"

# --- list, show, summary ---

expect 0 "" "$CARDC" registry list --registry "$URI"
check "list: header and rows" test "$(sed -n 1p "$T/out" | awk '{print $1, $2, $3}')" = "SERIAL STATE COUNTER"
check "list: count" grep -qx "5 bundles" "$T/out"
check "list: a row" grep -q "^CARD-0001 *superseded *000001 *install-applet *$HA$" "$T/out"
expect 0 "" "$CARDC" registry list --serial CARD-0002 --json --registry "$URI"
check "list --json" python3 -c "import json,sys; d=json.load(open(sys.argv[1])); \
    assert d['count'] == 2 and [b['state'] for b in d['bundles']] == ['failed', 'issued']; \
    assert d['bundles'][0]['reason'] == 'reader fault'" "$T/out"
expect 0 "" "$CARDC" registry show CARD-0001 --registry "$URI"
check "show: superseded with reason" grep -q "state *superseded (card lost in the post)" "$T/out"
check "show: replaced by" grep -q "replaced by *$HB" "$T/out"
check "show: revoked" grep -q "state *revoked (card stolen)" "$T/out"
check "show: events" test "$(sed -n '/^events/,$p' "$T/out" | grep -c .)" = 6
# Data a card returned (what receipt import stores) is shown with its bundle.
sql "INSERT INTO captured (bundle_sha256, name, value, at) VALUES ('$HP', 'pubkey', '04AB01', 1)"
expect 0 "" "$CARDC" registry show CARD-0003 --registry "$URI"
check "show: captured data" grep -q "^  captured *pubkey: 04AB01$" "$T/out"
expect 0 "" "$CARDC" registry show CARD-0003 --json --registry "$URI"
check "show --json" python3 -c "import json,sys; d=json.load(open(sys.argv[1])); \
    b=d['bundles'][0]; assert b['personal-data'] is True and 'sealed-data' not in b; \
    assert b['profile'] == 'personalize' and d['events'][0]['event'] == 'issued'" "$T/out"
expect 1 "no bundle for card NOPE in registry" "$CARDC" registry show NOPE --registry "$URI"
expect 0 "" "$CARDC" registry summary --registry "$URI"
check "summary: install-applet" grep -qE "^install-applet +0 +0 +0 +1 +1 +2$" "$T/out"
check "summary: rotate-keys" grep -qE "^rotate-keys +1 +0 +1 +0 +0 +2$" "$T/out"
check "summary: all" grep -qE "^\(all profiles\) +2 +0 +1 +1 +1 +5$" "$T/out"
expect 0 "" "$CARDC" registry summary --json --registry "$URI"
check "summary --json" python3 -c "import json,sys; d=json.load(open(sys.argv[1])); \
    p={x['profile']: x for x in d['profiles']}; assert p['personalize']['issued'] == 1; \
    assert p['install-applet']['revoked'] == 1 and d['total'] == 5" "$T/out"

# --- where the URI comes from ---

CPK_REGISTRY=$URI expect 0 "" "$CARDC" registry list
check "CPK_REGISTRY" grep -qx "5 bundles" "$T/out"
mkdir -p "$XDG_CONFIG_HOME/cpk"
printf '# the bureau registry\n\n  %s  \n' "$URI" >"$XDG_CONFIG_HOME/cpk/registry"
expect 0 "" "$CARDC" registry list
check "config file" grep -qx "5 bundles" "$T/out"
CPK_REGISTRY=none expect 1 "no registry: give --registry URI" "$CARDC" registry list
# 'none' records nothing: compile works without a registry, and single use is not checked.
CPK_REGISTRY=none expect 0 "" "$CARDC" compile -k "$KEYS" -s "$SIGN" -p "$PA" -c "$CARD3" -o "$T/n.cpk"
check "none: nothing recorded" test "$(sql 'SELECT COUNT(*) FROM bundles')" = 5
rm -f "$T/n.cpk"
printf '# nothing here\n' >"$XDG_CONFIG_HOME/cpk/registry"
expect 1 "names no registry URI: its first line that is not a comment" "$CARDC" registry list
rm "$XDG_CONFIG_HOME/cpk/registry"
CPK_REGISTRY=none expect 2 "--supersede wants a reason" "$CARDC" compile -k "$KEYS" -s "$SIGN" \
    -p "$PA" -c "$CARD3" -o "$T/n.cpk" --supersede ""
CPK_REGISTRY=none expect 1 "--supersede needs a registry" "$CARDC" compile -k "$KEYS" -s "$SIGN" \
    -p "$PA" -c "$CARD3" -o "$T/n.cpk" --supersede "x"

# --- errors, and passwords never printed ---

expect 1 "registry URI 'mysql://u:***@h/d': unknown kind of registry" \
    "$CARDC" registry list --registry "mysql://u:hunter2@h/d"
check "bad URI: no password" sh -c "! grep -q hunter2 '$T/err'"
expect 1 "cannot connect to registry 'postgresql://cpk:***@/reg?host=$T/nowhere'" \
    "$CARDC" registry list --registry "postgresql://cpk:hunter2@/reg?host=$T/nowhere"
check "unreachable: no password" sh -c "! grep -q hunter2 '$T/err'"
CPK_REGISTRY="postgres://cpk@/reg?host=$T/nowhere&password=hunter2" \
    expect 1 "cannot connect to registry 'postgres://cpk@/reg?host=$T/nowhere&password=***'" \
    "$CARDC" compile -k "$KEYS" -s "$SIGN" -p "$PA" -c "$CARD3" -o "$T/n.cpk"
check "unreachable (env): no password" sh -c "! grep -q hunter2 '$T/err'"
check "unreachable: no bundle" test ! -e "$T/n.cpk"
expect 1 "(cardc registry init creates it)" "$CARDC" registry list --registry "sqlite:$T/missing.db"
expect 1 "names no file (sqlite:PATH)" "$CARDC" registry list --registry "sqlite:"
if [ "$BACKEND" = postgresql ]; then
	# A password the server is given is not echoed either (trust: accepted).
	expect 0 "" "$CARDC" registry list --registry "postgresql://cpk:hunter2@/reg1?host=$PGT"
	expect 1 "cannot connect to registry 'postgresql://cpk:***@/nodb?host=$PGT'" \
	    "$CARDC" registry list --registry "postgresql://cpk:hunter2@/nodb?host=$PGT"
	check "no such database: no password" sh -c "! grep -q hunter2 '$T/err'"
fi
sql "UPDATE schema_version SET version = 99"
expect 1 "has schema version 99, newer than this cardc knows (3): use a newer cardc" \
    "$CARDC" registry list --registry "$URI"
expect 1 "has schema version 99, newer than this cardc knows (3)" \
    "$CARDC" registry migrate --registry "$URI"
expect 1 "has schema version 99, newer than this cardc knows (3)" \
    compile -p "$PA" -c "$CARD3" -o "$T/n.cpk"
check "newer schema: no bundle" test ! -e "$T/n.cpk"
new_store
[ "$BACKEND" = sqlite ] && : >"${URI#sqlite:}"
expect 1 "has no schema: run cardc registry init" compile -p "$PA" -c "$CARD3" -o "$T/n.cpk"

# --- migrate from version 1 (made by hand, as cardc 1 made it) ---

case $BACKEND in
sqlite) id_type="INTEGER PRIMARY KEY" int=INTEGER ;;
postgresql) id_type="BIGSERIAL PRIMARY KEY" int=BIGINT ;;
esac
new_store
[ "$BACKEND" = sqlite ] && : >"${URI#sqlite:}"
sql "CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO schema_version VALUES (1);
CREATE TABLE bundles (id $id_type, serial TEXT NOT NULL, kdd TEXT NOT NULL, iin TEXT,
 cin TEXT, profile TEXT NOT NULL, profile_sha256 TEXT NOT NULL,
 bundle_sha256 TEXT NOT NULL UNIQUE, mode TEXT NOT NULL, counter TEXT NOT NULL,
 created $int NOT NULL, recorded $int NOT NULL, state TEXT NOT NULL CHECK (state IN
 ('issued', 'loaded', 'failed', 'superseded', 'revoked')));
CREATE INDEX bundles_serial ON bundles (serial);
CREATE TABLE events (id $id_type, at $int NOT NULL, serial TEXT NOT NULL,
 bundle_sha256 TEXT NOT NULL, event TEXT NOT NULL, detail TEXT);
INSERT INTO bundles (serial, kdd, profile, profile_sha256, bundle_sha256, mode, counter,
 created, recorded, state) VALUES ('CARD-0001', '0102030405060708090A', 'install-applet',
 '00', 'AB01', 'offline', '000001', 1700000000, 1700000100, 'issued');
INSERT INTO events (at, serial, bundle_sha256, event, detail) VALUES
 (1700000100, 'CARD-0001', 'AB01', 'issued', 'install-applet');" >/dev/null
expect 1 "has schema version 1, older than this cardc's (3): run cardc registry migrate" \
    "$CARDC" registry list --registry "$URI"
expect 1 "already has a schema (version 1): cardc registry migrate brings it up to date" \
    "$CARDC" registry init --registry "$URI"
expect 0 "" "$CARDC" registry migrate --registry "$URI"
check "migrate: message" grep -q "schema version 1 -> 3" "$T/out"
check "migrate: version" test "$(sql 'SELECT version FROM schema_version')" = 3
check "migrate: old row kept" test "$(sql "SELECT serial, state, counter, changed, data IS NULL \
    FROM bundles")" = "$(if [ "$BACKEND" = sqlite ]; then echo 'CARD-0001|issued|000001|1700000100|1'; \
    else echo 'CARD-0001|issued|000001|1700000100|t'; fi)"
# The migrated schema enforces single use against the old row.
expect 1 "bundle AB01 is already recorded for it (issued)" compile -p "$PA" -c "$CARD3" -o "$T/m.cpk"
expect 0 "" compile -p "$PA" -c "$CARD3" -o "$T/m.cpk" --supersede "migrated"
check "migrate: superseded old row" test "$(sql "SELECT state FROM bundles WHERE bundle_sha256 = 'AB01'")" = superseded
expect 0 "" "$CARDC" registry show CARD-0001 --registry "$URI"
check "migrate: show" grep -q "2023-11-14T22:15:00Z" "$T/out"

# --- re-issue of a lost card ---

new_store
expect 0 "" "$CARDC" registry init --registry "$URI"
reissue() {
	"$CARDC" reissue -k "$KEYS" -s "$SIGN" --registry "$URI" "$@"
}
# card_as SERIAL KDD-LAST-BYTES: the sample card as another card, without its data.
card_as() {
	sed -e "s/^serial: CARD-0001/serial: $1/" -e "s/^kdd: .*/kdd: 0102030405060708$2/" \
	    -e '/^data:/,$d' "$CARD3" >"$T/$1.yaml"
}
expect 0 "" compile -p "$PP" -c "$CARD3" -o "$T/lost.cpk"
HL=$(hash_of "$T/lost.cpk")
expect 0 "" "$CARDC" registry mark "$HL" loaded --registry "$URI"
card_as CARD-0100 FF00
# Refused before anything is recorded or written.
CPK_REGISTRY=none expect 1 "cardc reissue needs a registry" "$CARDC" reissue -k "$KEYS" \
    -s "$SIGN" --lost CARD-0001 -p "$PP" -c "$T/CARD-0100.yaml" -o "$T/r.cpk"
expect 2 "missing --lost SERIAL" reissue -p "$PP" -c "$T/CARD-0100.yaml" -o "$T/r.cpk"
expect 2 "--reason wants a text" reissue --lost CARD-0001 --reason "" -p "$PP" \
    -c "$T/CARD-0100.yaml" -o "$T/r.cpk"
expect 1 "no card NOPE in registry '$URI': only a card the registry issued can be re-issued" \
    reissue --lost NOPE -p "$PP" -c "$T/CARD-0100.yaml" -o "$T/r.cpk"
expect 1 "profile 'install-applet' (sha256 $(hash_of "$PA")) is not the one card CARD-0001 was \
issued with: its bundle $HL comes from profile 'personalize' (sha256 $(hash_of "$PP"))" \
    reissue --lost CARD-0001 -p "$PA" -c "$T/CARD-0100.yaml" -o "$T/r.cpk"
expect 1 "is card CARD-0001 itself: give the new card's record" \
    reissue --lost CARD-0001 -p "$PP" -c "$CARD3" -o "$T/r.cpk"
sed '/^serial:/d' "$T/CARD-0100.yaml" >"$T/noserial.yaml"
expect 1 "has no 'serial': the registry records the new card by its serial" \
    reissue --lost CARD-0001 -p "$PP" -c "$T/noserial.yaml" -o "$T/r.cpk"
sed -e 's/^serial: CARD-0001/serial: CARD-0100/' -e 's/Ada Lovelace/Grace Hopper/' "$CARD3" \
    >"$T/other-data.yaml"
expect 1 "per-card data 'holder' differs from the value card CARD-0001 was issued with" \
    reissue --lost CARD-0001 -p "$PP" -c "$T/other-data.yaml" -o "$T/r.cpk"
card_as CARD-0200 FF01
expect 0 "" compile -p "$PA" -c "$T/CARD-0200.yaml" -o "$T/busy.cpk"
expect 1 "card CARD-0200 already has a live bundle ($(hash_of "$T/busy.cpk"), issued or loaded)" \
    reissue --lost CARD-0001 -p "$PP" -c "$T/CARD-0200.yaml" -o "$T/r.cpk"
check "reissue refused: nothing written" test ! -e "$T/r.cpk"
check "reissue refused: no temporary file" test -z "$(ls -A "$T" | grep '^\.r\.cpk\.')"
check "reissue refused: the lost card untouched" test "$(sql "SELECT state FROM bundles \
    WHERE serial = 'CARD-0001'")" = loaded
sed -e 's/^serial: CARD-0001/serial: CARD-0100/' -e 's/^kdd: .*/kdd: 0102030405060708FF00/' \
    "$CARD3" >"$T/same-data.yaml"
# The lost card changes between the read of its data and the re-issue's
# transaction (a bundle with other data supersedes the one read; SQLite: a
# transaction held open through a FIFO until the re-issue has staged its
# bundle, i.e. read the data): refused, nothing recorded or written.
if [ "$BACKEND" = sqlite ]; then
	mkfifo "$T/hold.sql"
	sqlite3 -bail "${URI#sqlite:}" <"$T/hold.sql" >"$T/hold.out" 2>&1 &
	hold=$!
	exec 9>"$T/hold.sql"
	printf "BEGIN IMMEDIATE;\nUPDATE bundles SET state = 'superseded' WHERE bundle_sha256 = '%s';\n\
INSERT INTO bundles (serial, kdd, iin, cin, profile, profile_sha256, bundle_sha256, mode, counter, \
created, recorded, state) SELECT serial, kdd, iin, cin, profile, profile_sha256, '%s', mode, \
'00FFFF', created, recorded, 'issued' FROM bundles WHERE bundle_sha256 = '%s';\n\
SELECT 'held';\n" "$HL" "$(printf '%064d' 7)" "$HL" >&9
	# until_true WHAT CMD...: bounded wait (never reached when all is well).
	until_true() {
		what=$1 i=0
		shift
		until "$@"; do
			i=$((i + 1))
			[ $i -lt 1200 ] || { echo "FAIL: never saw $what" >&2; exit 1; }
			sleep 0.1
		done
	}
	until_true "the held transaction" grep -q '^held$' "$T/hold.out"
	reissue --lost CARD-0001 -p "$PP" -c "$T/same-data.yaml" -o "$T/r.cpk" >"$T/race.out" \
	    2>"$T/race.err" &
	race=$!
	until_true "the re-issue's staged bundle" sh -c "ls -A '$T' | grep -q '^\.r\.cpk\.'"
	echo "COMMIT;" >&9
	exec 9>&-
	wait "$hold"
	rc=0
	wait "$race" || rc=$?
	check "reissue race: exit 1 (got $rc)" test "$rc" = 1
	check "reissue race: message" grep -q "card CARD-0001 changed while it was re-issued: \
bundle $HL, whose data the new bundle carries, is no longer issued or loaded" "$T/race.err"
	check "reissue race: nothing written" test ! -e "$T/r.cpk"
	check "reissue race: no new card" test -z "$(sql "SELECT 1 FROM bundles WHERE \
serial = 'CARD-0100'")"
	sql "DELETE FROM bundles WHERE bundle_sha256 = '$(printf '%064d' 7)'; \
UPDATE bundles SET state = 'loaded' WHERE bundle_sha256 = '$HL'" >/dev/null
fi
# The new card keeps the lost card's data (an equal item in its record is accepted).
expect 0 "" reissue --lost CARD-0001 -p "$PP" -c "$T/same-data.yaml" -o "$T/r.cpk"
HR=$(hash_of "$T/r.cpk")
check "reissue: message" grep -q "card CARD-0001 re-issued as card CARD-0100: bundle $HR (from \
$HL, loaded), card CARD-0001 revoked" "$T/err"
check "reissue: new row" test "$(sql "SELECT serial, state, kdd, profile FROM bundles \
    WHERE bundle_sha256 = '$HR'")" = "CARD-0100|issued|0102030405060708FF00|personalize"
check "reissue: old row revoked and linked" test "$(sql "SELECT state, reason, replaced_by \
    FROM bundles WHERE bundle_sha256 = '$HL'")" = "revoked|lost; re-issued as card CARD-0100|$HR"
check "reissue: events" test "$(sql "SELECT serial, event, detail FROM events WHERE event IN \
    ('revoked', 'reissued-as', 'reissue-of') ORDER BY id" | tr '\n' ' ')" = \
    "CARD-0001|revoked|lost; re-issued as card CARD-0100 CARD-0001|reissued-as|CARD-0100 \
CARD-0100|reissue-of|CARD-0001 "
check "reissue: sealed for the new card" test "$(sql "SELECT data IS NOT NULL FROM bundles \
    WHERE bundle_sha256 = '$HR'")" = "$(if [ "$BACKEND" = sqlite ]; then echo 1; else echo t; fi)"
# The new bundle stores the lost card's data: its STORE DATA, decrypted, holds the holder.
"$CARDC" verify "$T/r.cpk" -k "$KEYS" --trust "$PUB" >"$T/verify.out" 2>&1
serial_hex=$(printf 'CARD-0100' | od -An -tx1 | tr -d ' \n' | tr a-f A-F)
check "reissue: the lost card's data installed" grep -q "5F20$holder_hex.*$serial_hex" \
    "$T/verify.out"
check "reissue: no temporary file left" test -z "$(ls -A "$T" | grep '^\.r\.cpk\.')"
# The link, both ways, in show and list.
expect 0 "" "$CARDC" registry show CARD-0001 --registry "$URI"
check "show: revoked" grep -q "state *revoked (lost; re-issued as card CARD-0100)" "$T/out"
check "show: replaced by card" grep -q "replaced by *card CARD-0100, bundle $HR" "$T/out"
expect 0 "" "$CARDC" registry show CARD-0100 --registry "$URI"
check "show: re-issue of" grep -qx "card CARD-0100 (re-issue of card CARD-0001)" "$T/out"
expect 0 "" "$CARDC" registry show CARD-0100 --json --registry "$URI"
check "show --json: reissue-of" python3 -c "import json,sys; d=json.load(open(sys.argv[1])); \
    assert d['reissue-of'] == 'CARD-0001' and d['bundles'][0]['state'] == 'issued'" "$T/out"
expect 0 "" "$CARDC" registry list --serial CARD-0001 --json --registry "$URI"
check "list --json: replaced-by-serial" python3 -c "import json,sys; d=json.load(open(sys.argv[1])); \
    b=d['bundles'][0]; assert b['state'] == 'revoked' and b['replaced-by'] == '$HR'; \
    assert b['replaced-by-serial'] == 'CARD-0100'" "$T/out"
expect 0 "" "$CARDC" registry list --registry "$URI"
check "list: replaced by card" grep -q "^CARD-0001 *revoked .*$HL  replaced by card CARD-0100$" \
    "$T/out"
# The revoked card gets nothing more: compile, batch and a second re-issue name its replacement.
REVOKED="card CARD-0001 is revoked (lost; re-issued as card CARD-0100), replaced by card \
CARD-0100 (bundle $(echo "$HR" | cut -c1-16)...)"
expect 1 "$REVOKED: a revoked card gets no new bundle" compile -p "$PP" -c "$CARD3" -o "$T/x.cpk"
check "revoked: no bundle written" test ! -e "$T/x.cpk"
expect 1 "$REVOKED: a revoked card gets no new bundle" compile -p "$PA" -c "$CARD3" \
    -o "$T/x.cpk" --supersede "try"
printf '{"sd-aid":"A000000151000000","scp":"03","i":"70","kvn":"30","kdd":"0102030405060708090A","counter":"000002","serial":"CARD-0001"}\n' \
    >"$T/revoked.jsonl"
expect 1 "$REVOKED: a revoked card gets no new bundle" "$CARDC" batch -p "$PA" \
    --cards "$T/revoked.jsonl" -k "$KEYS" -s "$SIGN" -o "$T/rb" --registry "$URI"
check "revoked: batch wrote nothing" test -z "$(ls "$T/rb")"
card_as CARD-0101 FF02
expect 1 "$REVOKED: it was re-issued already" \
    reissue --lost CARD-0001 -p "$PP" -c "$T/CARD-0101.yaml" -o "$T/x.cpk"
check "revoked: 3 rows" test "$(sql 'SELECT COUNT(*) FROM bundles')" = 3
# A card whose bundle is only issued, a profile without data (the new record's
# 'holder' is not the profile's: not used, as by compile), a reason given.
card_as CARD-0300 FF03
sed -e 's/^serial: CARD-0001/serial: CARD-0301/' -e 's/^kdd: .*/kdd: 0102030405060708FF04/' \
    "$CARD3" >"$T/CARD-0301.yaml"
expect 0 "" compile -p "$PA" -c "$T/CARD-0300.yaml" -o "$T/l3.cpk"
expect 0 "" reissue --lost CARD-0300 -p "$PA" -c "$T/CARD-0301.yaml" -o - --reason "chip broken" \
    --host-challenge 0001020304050607
cp "$T/out" "$T/r3.cpk"
check "reissue to stdout, with a reason" test "$(sql "SELECT b.state, b.reason, n.serial \
    FROM bundles b JOIN bundles n ON n.bundle_sha256 = b.replaced_by \
    WHERE b.serial = 'CARD-0300'")" = "revoked|chip broken|CARD-0301"
check "reissue to stdout: the bundle recorded" test "$(sql "SELECT serial FROM bundles \
    WHERE bundle_sha256 = '$(hash_of "$T/r3.cpk")'")" = CARD-0301
# OUT.cpk cannot be written: nothing recorded. The bundle written nowhere after
# it was recorded (stdout full): the message says the re-issue stands.
card_as CARD-0500 FF08
card_as CARD-0501 FF09
expect 0 "" compile -p "$PA" -c "$T/CARD-0500.yaml" -o "$T/l5.cpk"
expect 1 "cannot create a temporary file like '$T/nodir/.r5.cpk." \
    reissue --lost CARD-0500 -p "$PA" -c "$T/CARD-0501.yaml" -o "$T/nodir/r5.cpk"
check "not writable: nothing recorded" test "$(sql "SELECT state FROM bundles \
    WHERE serial IN ('CARD-0500', 'CARD-0501')")" = issued
reissue --lost CARD-0500 -p "$PA" -c "$T/CARD-0501.yaml" -o - >/dev/full 2>"$T/full.err"
check "stdout full: exit 1" test $? = 1
check "stdout full: the re-issue stands" grep -q "the re-issue is recorded (card CARD-0500 \
revoked; bundle [0-9A-F]*\.\.\. issued for card CARD-0501), but the bundle could not be \
written (cannot write to stdout: No space left on device)" "$T/full.err"
check "stdout full: recorded" test "$(sql "SELECT state FROM bundles WHERE serial IN \
    ('CARD-0500', 'CARD-0501') ORDER BY id" | tr '\n' ' ')" = "revoked issued "
# Two re-issues of one card at once: exactly one wins.
card_as CARD-0400 FF05
card_as CARD-0401 FF06
card_as CARD-0402 FF07
expect 0 "" compile -p "$PA" -c "$T/CARD-0400.yaml" -o "$T/l4.cpk"
reissue --lost CARD-0400 -p "$PA" -c "$T/CARD-0401.yaml" -o "$T/r41.cpk" 2>"$T/r41.err" &
p1=$!
reissue --lost CARD-0400 -p "$PA" -c "$T/CARD-0402.yaml" -o "$T/r42.cpk" 2>"$T/r42.err" &
p2=$!
wait "$p1"
s1=$?
wait "$p2"
s2=$?
check "concurrent re-issues: one wins ($s1, $s2)" test "$((s1 + s2))" = 1
check "concurrent re-issues: one bundle written" test "$(ls "$T"/r41.cpk "$T"/r42.cpk 2>/dev/null |
    wc -l)" = 1
check "concurrent re-issues: the loser names the winner" grep -q "card CARD-0400 is revoked \
(lost; re-issued as card CARD-040[12]), replaced by card CARD-040[12]" "$T/r41.err" "$T/r42.err"
check "concurrent re-issues: one new row" test "$(sql "SELECT COUNT(*) FROM bundles \
    WHERE serial IN ('CARD-0401', 'CARD-0402')")" = 1

# --- batch -j 2 ---

# cards FILE FIRST COUNT: JSON lines of SCP03 cards S-FIRST... with one counter each.
cards() {
	awk -v first="$2" -v n="$3" 'BEGIN { for (i = first; i < first + n; i++)
	    printf "{\"sd-aid\":\"A000000151000000\",\"scp\":\"03\",\"i\":\"70\",\"kvn\":\"30\",\"kdd\":\"01020304%012d\",\"counter\":\"000001\",\"serial\":\"S-%07d\"}\n", i, i }' >"$1"
}
new_store
expect 0 "" "$CARDC" registry init --registry "$URI"
cards "$T/b40.jsonl" 1 40
expect 0 "" "$CARDC" batch -p "$PA" --cards "$T/b40.jsonl" -k "$KEYS" -s "$SIGN" -o "$T/b40" -j 2 \
    --registry "$URI"
check "batch: 40 rows" test "$(sql 'SELECT COUNT(*) FROM bundles')" = 40
check "batch: each bundle recorded" sh -c "for f in '$T'/b40/*.cpk; do sha256sum \"\$f\"; done |
    awk '{ print toupper(\$1) }' | sort >'$T/files.txt'"
sql "SELECT bundle_sha256 FROM bundles ORDER BY bundle_sha256" >"$T/rows.txt"
check "batch: files = rows" cmp -s "$T/files.txt" "$T/rows.txt"
# The same batch, the same time: the same bundles, recorded already.
SOURCE_DATE_EPOCH=$(sql "SELECT created FROM bundles LIMIT 1") \
    expect 0 "" "$CARDC" batch -p "$PA" --cards "$T/b40.jsonl" -k "$KEYS" -s "$SIGN" \
    -o "$T/b40same" -j 2 --registry "$URI"
check "batch, the same bundles: still 40 rows" test "$(sql 'SELECT COUNT(*) FROM bundles')" = 40
check "batch, the same bundles: the same bytes" sh -c "for f in '$T'/b40same/*.cpk; do
    sha256sum \"\$f\"; done | awk '{ print toupper(\$1) }' | sort | cmp -s - '$T/files.txt'"
SOURCE_DATE_EPOCH=1700000100 expect 1 "is already recorded for it (issued)" "$CARDC" batch \
    -p "$PA" --cards "$T/b40.jsonl" -k "$KEYS" -s "$SIGN" -o "$T/b40b" -j 2 --registry "$URI"
check "batch again: all refused" grep -qx "batch: 40 cards, 0 bundles written, 40 failed" "$T/out"
check "batch again: none written" test -z "$(ls "$T/b40b")"
SOURCE_DATE_EPOCH=1700000200 expect 0 "" "$CARDC" batch -p "$PA" --cards "$T/b40.jsonl" \
    -k "$KEYS" -s "$SIGN" -o "$T/b40b" -j 2 --registry "$URI" --supersede "reprinted"
check "batch --supersede" test "$(sql "SELECT state, COUNT(*) FROM bundles GROUP BY state ORDER BY state" |
    tr '\n' ' ')" = "issued|40 superseded|40 "

# --- concurrency: 4 processes x 2000 cards, one registry ---

new_store
expect 0 "" "$CARDC" registry init --registry "$URI"
t0=$(date +%s)
pids=""
for k in 0 1 2 3; do
	cards "$T/c$k.jsonl" $((k * 2000 + 1)) 2000
	"$CARDC" batch -p "$PA" --cards "$T/c$k.jsonl" -k "$KEYS" -s "$SIGN" -o "$T/c$k" -j 2 \
	    --registry "$URI" >"$T/c$k.out" 2>"$T/c$k.err" &
	pids="$pids $!"
done
k=0
for p in $pids; do
	wait "$p"
	check "concurrent batch $k: exit 0" test $? = 0
	check "concurrent batch $k: 2000 written" grep -qx "batch: 2000 cards, 2000 bundles written, 0 failed" "$T/c$k.out" ||
	    head -5 "$T/c$k.err" >&2
	k=$((k + 1))
done
echo "concurrency: 4 x 2000 cards in $(($(date +%s) - t0)) s, $(sql 'SELECT COUNT(*) FROM bundles') rows"
check "concurrency: 8000 rows" test "$(sql 'SELECT COUNT(*) FROM bundles')" = 8000
check "concurrency: 8000 cards" test "$(sql 'SELECT COUNT(DISTINCT serial) FROM bundles')" = 8000
check "concurrency: 8000 bundles" test "$(sql 'SELECT COUNT(DISTINCT bundle_sha256) FROM bundles')" = 8000
check "concurrency: 8000 events" test "$(sql "SELECT COUNT(*) FROM events WHERE event = 'issued'")" = 8000
# Two processes racing on the same 300 cards: each card recorded once.
cards "$T/race.jsonl" 9001 300
# (Two bureau runs at other times: other bundles for the same cards.)
SOURCE_DATE_EPOCH=1700000300 "$CARDC" batch -p "$PA" --cards "$T/race.jsonl" -k "$KEYS" \
    -s "$SIGN" -o "$T/r1" -j 2 --registry "$URI" >"$T/r1.out" 2>"$T/r1.err" &
p1=$!
SOURCE_DATE_EPOCH=1700000400 "$CARDC" batch -p "$PA" --cards "$T/race.jsonl" -k "$KEYS" \
    -s "$SIGN" -o "$T/r2" -j 2 --registry "$URI" >"$T/r2.out" 2>"$T/r2.err" &
p2=$!
wait "$p1"
wait "$p2"
w1=$(sed -n 's/^batch: 300 cards, \([0-9]*\) bundles written.*/\1/p' "$T/r1.out")
w2=$(sed -n 's/^batch: 300 cards, \([0-9]*\) bundles written.*/\1/p' "$T/r2.out")
check "race: 300 written in all ($w1 + $w2)" test "$((w1 + w2))" = 300
check "race: 300 rows" test "$(sql "SELECT COUNT(*) FROM bundles WHERE serial >= 'S-0009001'")" = 300
check "race: refusals name the card" test "$(grep -c 'is already recorded for it (issued)' \
    "$T/r1.err" "$T/r2.err" | awk -F: '{ s += $2 } END { print s }')" = 300
check "race: 300 bundle files" test "$(find "$T/r1" "$T/r2" -name '*.cpk' | wc -l)" = 300

# --- kill -9 mid-run ---

new_store
expect 0 "" "$CARDC" registry init --registry "$URI"
cards "$T/k.jsonl" 20001 3000
SOURCE_DATE_EPOCH=1700000500 "$CARDC" batch -p "$PA" --cards "$T/k.jsonl" -k "$KEYS" \
    -s "$SIGN" -o "$T/k" -j 2 --registry "$URI" >/dev/null 2>"$T/k.err" &
kp=$!
# Mid-run: once 200 bundles are on disk (the run is busy writing rows and files).
i=0
while [ "$(ls "$T/k" 2>/dev/null | grep -c '\.cpk$')" -lt 200 ] && [ $i -lt 6000 ]; do
	kill -0 "$kp" 2>/dev/null || break
	sleep 0.05
	i=$((i + 1))
done
kill -9 "$kp" 2>/dev/null
wait "$kp" 2>/dev/null
rows=$(sql 'SELECT COUNT(*) FROM bundles')
echo "kill -9: $rows of 3000 cards recorded when the batch was killed"
check "kill -9: mid-run ($rows rows)" test "$rows" -ge 200 -a "$rows" -lt 3000
check "kill -9: every row has its event" test "$(sql "SELECT COUNT(*) FROM events WHERE event = 'issued'")" = "$rows"
check "kill -9: no incomplete row" test "$(sql "SELECT COUNT(*) FROM bundles WHERE serial = '' OR \
    LENGTH(bundle_sha256) <> 64 OR LENGTH(kdd) <> 20 OR counter <> '000001' OR state <> 'issued' \
    OR profile <> 'install-applet' OR created <= 0 OR recorded <= 0")" = 0
for f in "$T"/k/*.cpk; do sha256sum "$f"; done | awk '{ print toupper($1) }' | sort >"$T/kfiles.txt"
sql "SELECT bundle_sha256 FROM bundles ORDER BY bundle_sha256" >"$T/krows.txt"
check "kill -9: every bundle written is recorded" sh -c "test -z \"\$(comm -23 '$T/kfiles.txt' '$T/krows.txt')\""
if [ "$BACKEND" = sqlite ]; then
	check "kill -9: integrity_check" test "$(sql 'PRAGMA integrity_check')" = ok
fi
# The run resumes with the same creation time: every bundle again, the
# recorded ones byte-identical (recorded already), the others recorded.
SOURCE_DATE_EPOCH=1700000500 "$CARDC" batch -p "$PA" --cards "$T/k.jsonl" -k "$KEYS" \
    -s "$SIGN" -o "$T/k2" -j 2 --registry "$URI" >"$T/k2.out" 2>/dev/null
check "kill -9: resumed run writes every bundle" grep -qx \
    "batch: 3000 cards, 3000 bundles written, 0 failed" "$T/k2.out"
check "kill -9: 3000 rows after resuming" test "$(sql 'SELECT COUNT(*) FROM bundles')" = 3000
check "kill -9: the recorded bundles again, byte-identical" sh -c "for f in '$T'/k/*.cpk; do
    cmp -s \"\$f\" '$T/k2/'\"\$(basename \"\$f\")\" || exit 1; done"
# Another day's run: the recorded cards are refused.
SOURCE_DATE_EPOCH=1700000600 "$CARDC" batch -p "$PA" --cards "$T/k.jsonl" -k "$KEYS" \
    -s "$SIGN" -o "$T/k3" -j 2 --registry "$URI" >"$T/k3.out" 2>/dev/null
check "kill -9: another run refuses every recorded card" grep -qx \
    "batch: 3000 cards, 0 bundles written, 3000 failed" "$T/k3.out"

finish "registry-$BACKEND"
