#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# cardc diff: two bundles whose load files differ in one byte (capgen's
# package minor version): with the keys, exactly that LOAD command and
# byte, and the INSTALL [for load] that carries the load file's hash;
# without keys, every secured command from the first change on (their MACs
# are chained); a bundle against itself: the same (exit 0); other cards and
# profiles: manifest members; commands only in one bundle; --json; errors.
#
# usage: test_diff.sh CARDC CAPGEN SOURCE_ROOT
set -u
CARDC=$1 CAPGEN=$2 SRCROOT=$3
. "$(dirname "$0")/lib.sh"
setup_work
export SOURCE_DATE_EPOCH=1700000000
CARD3=$SRCROOT/tests/cli/data/card-scp03.yaml
mkdir -p "$T/q" || exit 1
cp "$T/p/install-applet.yaml" "$T/q/" || exit 1
"$CAPGEN" -o "$T/p/hello.cap" -p F043504B48454C4C4F -a F043504B48454C4C4F01 -s 600 &&
    "$CAPGEN" -o "$T/q/hello.cap" -p F043504B48454C4C4F -a F043504B48454C4C4F01 -s 600 \
    --package-version 1.1 || exit 1

compile() {
	"$CARDC" compile -k "$KEYS" -s "$SIGN" --host-challenge 0001020304050607 "$@"
}
expect 0 "" compile -p "$T/p/install-applet.yaml" -c "$CARD3" -o "$T/a.cpk"
expect 0 "" compile -p "$T/q/install-applet.yaml" -c "$CARD3" -o "$T/b.cpk"

# --- with the keys: the one byte ---
expect 3 "" "$CARDC" diff "$T/a.cpk" "$T/b.cpk" -k "$KEYS"
check "plain: compared in plain form" grep -q "^commands compared in plain form" "$T/out"
check "plain: counts" grep -qx "commands: 8 and 8: 6 the same, 2 changed, 0 only in A, 0 only in B" "$T/out"
check "plain: the LOAD command" grep -qx "~ 5/5 LOAD 1/3" "$T/out"
check "plain: its byte" grep -qx "    1 byte differs, at offset 19" "$T/out"
check "plain: the byte marked" grep -q "^      A     11: 13DECAFFED010204\[00\]01" "$T/out"
check "plain: B's byte" grep -q "^      B     11: 13DECAFFED010204\[01\]01" "$T/out"
check "plain: INSTALL [for load] carries the hash" grep -qx "~ 4/4 INSTALL \[for load\] F043504B48454C4C4F" "$T/out"
check "plain: the manifest's script hash" grep -q "^  script-sha256  " "$T/out"
check "plain: no other manifest member" grep -qx "manifest: 1 member differs" "$T/out"

expect 3 "" "$CARDC" diff "$T/a.cpk" "$T/b.cpk" -k "$KEYS" --json
check "json: the LOAD byte" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["plain"] is True and d["differ"] is True
assert d["commands"] == {"a": 8, "b": 8, "same": 6, "changed": 2, "only-in-a": 0, "only-in-b": 0}, d["commands"]
load = [c for c in d["changes"] if c["label"] == "LOAD 1/3"][0]
assert load["op"] == "changed" and load["a-index"] == 5 and load["b-index"] == 5
assert load["bytes-differing"] == 1
assert load["runs"] == [{"offset": 19, "length": 1, "a": "00", "b": "01"}], load["runs"]
assert [m["member"] for m in d["manifest"]] == ["script-sha256"], d["manifest"]
' "$T/out"

# --- without keys: as sent, the MAC chain carries the change ---
expect 3 "" "$CARDC" diff "$T/a.cpk" "$T/b.cpk"
check "sent: compared as sent" grep -q "^commands compared as sent" "$T/out"
check "sent: every secured command from the change on" \
    grep -qx "commands: 8 and 8: 3 the same, 5 changed, 0 only in A, 0 only in B" "$T/out"

# --- the same bundle ---
expect 0 "" "$CARDC" diff "$T/a.cpk" "$T/a.cpk" -k "$KEYS"
check "same: manifest" grep -qx "manifest: the same" "$T/out"
check "same: commands" grep -qx "commands: 8 and 8: 8 the same, 0 changed, 0 only in A, 0 only in B" "$T/out"
expect 0 "" "$CARDC" diff "$T/a.cpk" - <"$T/a.cpk"

# --- another card, another profile: manifest members; commands only in one ---
sed -e 's/^serial: .*/serial: "OTHER-1"/' "$CARD3" >"$T/other.yaml"
grep -q '^serial: "OTHER-1"' "$T/other.yaml" || fail "the card record has no serial line to change"
expect 0 "" compile -p "$T/p/install-applet.yaml" -c "$T/other.yaml" -o "$T/c.cpk"
expect 3 "" "$CARDC" diff "$T/a.cpk" "$T/c.cpk"
check "card: serial member" grep -q "^  card.serial  *\"[^\"]*\" -> \"OTHER-1\"" "$T/out"
sed -e '/^  - load:/,$d' "$T/p/install-applet.yaml" >"$T/p/empty.yaml"
cat >>"$T/p/empty.yaml" <<'YAML'
  - delete:
      aid: F043504B48454C4C4F
      related: true
      missing-ok: true
YAML
expect 0 "" compile -p "$T/p/empty.yaml" -c "$CARD3" -o "$T/d.cpk"
expect 3 "" "$CARDC" diff "$T/a.cpk" "$T/d.cpk" -k "$KEYS"
check "steps: profile member" grep -q "^  profile-sha256 " "$T/out"
check "steps: a LOAD only in A" grep -q "^- 5 LOAD 1/3 (only in A)" "$T/out"
check "steps: the DELETE only in B" grep -q "^+ 4 DELETE" "$T/out"

# --- personal data and keys are never printed ---
sed 's/^  holder: .*/  holder: Ada Lovelacf/' "$CARD3" >"$T/holder2.yaml"
expect 0 "" compile -p "$T/p/personalize.yaml" -c "$CARD3" -o "$T/h1.cpk"
expect 0 "" compile -p "$T/p/personalize.yaml" -c "$T/holder2.yaml" -o "$T/h2.cpk"
expect 3 "" "$CARDC" diff "$T/h1.cpk" "$T/h2.cpk" -k "$KEYS"
check "store data: the command named" grep -q "^~ [0-9]*/[0-9]* STORE DATA" "$T/out"
check "store data: values not shown" grep -q "values not shown" "$T/out"
check "store data: the holder's bytes not printed" sh -c "! grep -qi '4C6F76656C61' '$T/out'"
expect 3 "" "$CARDC" diff "$T/h1.cpk" "$T/h2.cpk" -k "$KEYS" --json
check "store data json: hidden" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
c = [x for x in d["changes"] if x["label"].startswith("STORE DATA")][0]
assert c["values-hidden"] is True and all(r["a"] is None and r["b"] is None for r in c["runs"]), c
' "$T/out"

# --- errors ---
expect 2 "two bundles are needed" "$CARDC" diff "$T/a.cpk"
expect 2 "unexpected '$T/c.cpk'" "$CARDC" diff "$T/a.cpk" "$T/b.cpk" "$T/c.cpk"
expect 2 "only one bundle can be stdin" "$CARDC" diff - -
expect 1 "$T/nothing.cpk" "$CARDC" diff "$T/a.cpk" "$T/nothing.cpk"
head -c 100 "$T/a.cpk" >"$T/cut.cpk"
expect 1 "bundle refused" "$CARDC" diff "$T/cut.cpk" "$T/a.cpk"
mkdir -p "$T/nokeys"
expect 1 "$T/a.cpk: cannot recover the plain commands" "$CARDC" diff "$T/a.cpk" "$T/b.cpk" -k "$T/nokeys"
expect 0 "" "$CARDC" diff --help
check "help: synopsis" grep -q "cardc diff A.cpk B.cpk" "$T/out"

finish "cardc diff"
