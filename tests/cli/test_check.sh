#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# cardc check: without keys, the same verdict as cardc compile.
#
# 1. Walks the profile corpus (tests/fuzz/corpus/profile: the example
#    profiles and every variant the fuzzer kept, nearly all refused
#    somewhere) and runs cardc compile (with the test keys) and cardc check
#    on each, against the sample card record of its SCP version: where
#    compile succeeds check must too; where compile fails before touching
#    keys, check must fail with the same file:line:col and message. Only
#    errors of the key set itself (its file, algorithm, version), which
#    check cannot see, may differ; they are counted.
#    The YAML records of the card corpus likewise, against the
#    personalization profile: the same verdict and message for each.
# 2. Card records: a JSON-lines and a CSV file with good and bad records
#    (a missing field, a value the profile cannot use, a bad line): each
#    bad record named by its line, the good ones passing.
# 3. --json and --format sarif; the SARIF document validates against the
#    SARIF 2.1.0 schema when the validator is installed (tests/sarif:
#    ajv and the schema from the npm registry, scripts/deps.sh).
# 4. Usage errors.
#
# usage: test_check.sh CARDC CAPGEN SOURCE_ROOT
set -u
CARDC=$1 CAPGEN=$2 SRCROOT=$3
. "$(dirname "$0")/lib.sh"
setup_work
CARD3=$SRCROOT/tests/cli/data/card-scp03.yaml
CARD2=$SRCROOT/tests/cli/data/card-scp02.yaml
mkdir -p "$T/w" || exit 1
cp "$T/p/hello.cap" "$T/w/" || exit 1

# "cardc: F:L:C: MSG" (compile) and "F:L:C: error: MSG [rule]" (check) as "F:L:C: MSG".
norm_compile() { head -n 1 "$1" | sed 's/^cardc: //'; }
norm_check() { head -n 1 "$1" | sed -e 's/: error: /: /' -e 's/ \[cpk\/[a-z-]*\]$//'; }

n=0 agree=0 keyonly=0
for f in "$SRCROOT"/tests/fuzz/corpus/profile/*; do
	n=$((n + 1))
	cp "$f" "$T/w/p.yaml"
	card=$(card_for "$T/w/p.yaml")
	"$CARDC" compile -p "$T/w/p.yaml" -c "$card" -k "$KEYS" -s "$SIGN" -o "$T/w/o.cpk" \
	    --host-challenge 0001020304050607 >/dev/null 2>"$T/w/c.err"
	rc=$?
	# A session profile takes its host challenge from the card record.
	if grep -q "host-challenge is for offline bundles" "$T/w/c.err"; then
		"$CARDC" compile -p "$T/w/p.yaml" -c "$card" -k "$KEYS" -s "$SIGN" \
		    -o "$T/w/o.cpk" >/dev/null 2>"$T/w/c.err"
		rc=$?
	fi
	"$CARDC" check "$T/w/p.yaml" --cards "$card" >"$T/w/k.out" 2>"$T/w/k.err"
	rk=$?
	c=$(norm_compile "$T/w/c.err")
	k=$(norm_check "$T/w/k.out")
	if [ "$rc" = 0 ] && [ "$rk" = 0 ]; then
		agree=$((agree + 1))
	elif [ "$rc" = 1 ] && [ "$rk" = 1 ] && [ "$c" = "$k" ]; then
		agree=$((agree + 1))
	elif [ "$rc" = 1 ] && echo "$c" | grep -Eq "key file|key set|key version|keys, but|holds version"; then
		keyonly=$((keyonly + 1))
	else
		fail "corpus $(basename "$f"): compile exit $rc, check exit $rk"
		echo "    compile: $c" >&2
		echo "    check:   $k" >&2
	fi
done
checks=$((checks + 1))
echo "corpus: $n profiles, $agree the same verdict and message, $keyonly refused by compile for their key set only"
[ "$agree" -ge 250 ] || fail "corpus: only $agree of $n agree"

# The YAML card records of the card corpus (tests/fuzz/corpus/card: the first
# byte chooses the form, 0 mod 3 is YAML) against the personalization
# profile: compile and check agree on each, verdict and message.
n=0 agree=0
for f in "$SRCROOT"/tests/fuzz/corpus/card/*; do
	b=$(head -c 1 "$f" | od -An -tu1 | tr -d ' ')
	[ $((b % 3)) = 0 ] || continue
	n=$((n + 1))
	tail -c +2 "$f" >"$T/w/card.yaml"
	"$CARDC" compile -p "$T/p/personalize.yaml" -c "$T/w/card.yaml" -k "$KEYS" -s "$SIGN" \
	    -o "$T/w/o.cpk" >/dev/null 2>"$T/w/c.err"
	rc=$?
	"$CARDC" check "$T/p/personalize.yaml" --cards "$T/w/card.yaml" >"$T/w/k.out" 2>&1
	rk=$?
	c=$(norm_compile "$T/w/c.err")
	k=$(norm_check "$T/w/k.out")
	if [ "$rc" = "$rk" ] && { [ "$rc" = 0 ] || [ "$c" = "$k" ]; }; then
		agree=$((agree + 1))
	else
		fail "card corpus $(basename "$f"): compile exit $rc, check exit $rk"
		echo "    compile: $c" >&2
		echo "    check:   $k" >&2
	fi
done
echo "card corpus: $n YAML records, $agree the same verdict and message"
checks=$((checks + 1))
[ "$n" -gt 50 ] || fail "card corpus: only $n YAML records"

# --- card records ---
P=$T/p/personalize.yaml
cat >"$T/cards.jsonl" <<'JSON'
# a comment, then records
{"sd-aid":"A000000151000000","scp":"03","i":"70","kvn":"30","kdd":"01020304050607080901","counter":"000001","cin":"0102030405060708","serial":"C-01","data.holder":"ALICE"}

{"sd-aid":"A000000151000000","scp":"03","i":"70","kvn":"30","kdd":"01020304050607080902","counter":"000001","cin":"0102030405060708","serial":"C-02"}
{"sd-aid":"A000000151000000","scp":"03","i":"60","kvn":"30","kdd":"01020304050607080903","counter":"000001","cin":"0102030405060708","serial":"C-03","data.holder":"BOB"}
{"sd-aid":"A000000151000000",
{"sd-aid":"A000000151000000","scp":"03","i":"70","kvn":"30","kdd":"01020304050607080905","counter":"000001","cin":"0102030405060708","serial":"C-05","data.holder":"CAROL"}
JSON
grep -q "data.holder\|holder" "$P" || fail "personalize.yaml no longer declares 'holder'"
expect 1 "" "$CARDC" check "$P" --cards "$T/cards.jsonl"
check "cards: the missing data item, for its record" grep -q "^$T/p/personalize.yaml:[0-9]*:[0-9]*: error: for the card record at $T/cards.jsonl:4: .*holder" "$T/out"
check "cards: the other i, by line" grep -q "^$T/cards.jsonl:5: error: .*i=60" "$T/out"
check "cards: the broken line" grep -q "^$T/cards.jsonl:6:[0-9]*:* *error: " "$T/out"
check "cards: the good records pass" test "$(grep -c "cards.jsonl:[27]:" "$T/out")" = 0
check "cards: summary" grep -qx "cardc check: 1 profile, 5 card records: 3 errors" "$T/out"
printf 'sd-aid,scp,i,kvn,kdd,counter,cin,serial,data.holder\nA000000151000000,03,70,30,01020304050607080901,000001,0102030405060708,D-01,ALICE\nA000000151000000,03,70,30,01020304050607080902,0001,0102030405060708,D-02,BOB\n' >"$T/cards.csv"
expect 1 "" "$CARDC" check "$P" --cards "$T/cards.csv"
check "csv: the short counter, by line" grep -q "^$T/cards.csv:3:[0-9]*: error: .*counter" "$T/out"
check "csv: one error" grep -qx "cardc check: 1 profile, 2 card records: 1 error" "$T/out"
expect 0 "" "$CARDC" check "$T/p/install-applet.yaml" --cards "$CARD3"
check "yaml card: passes" grep -qx "cardc check: 1 profile, 1 card record: 0 errors" "$T/out"
expect 0 "" "$CARDC" check "$T/p/install-applet.yaml" "$T/p/rotate-keys.yaml"

# --- json, sarif ---
printf 'profile: 1\nname: x\nbogus: 1\n' >"$T/bad.yaml"
expect 1 "" "$CARDC" check "$T/bad.yaml" "$P" --cards "$T/cards.jsonl" --json
check "json: diagnostics" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["errors"] == 4, d["errors"]
first = d["diagnostics"][0]
assert first == {"file": sys.argv[2], "line": 3, "column": 1, "severity": "error",
    "rule": "cpk/parse", "message": "unknown key '"'"'bogus'"'"' in the profile"}, first
assert d["card-records"] == 5
' "$T/out" "$T/bad.yaml"
expect 1 "" "$CARDC" check "$T/bad.yaml" "$P" --cards "$T/cards.jsonl" --format sarif
cp "$T/out" "$T/check.sarif"
check "sarif: results" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["version"] == "2.1.0"
run = d["runs"][0]
assert run["tool"]["driver"]["name"] == "cardc"
r = run["results"]
assert len(r) == 4, len(r)
loc = r[0]["locations"][0]["physicalLocation"]
assert loc["artifactLocation"]["uri"] == sys.argv[2]
assert loc["region"] == {"startLine": 3, "startColumn": 1}, loc["region"]
ids = {x["id"] for x in run["tool"]["driver"]["rules"]}
assert all(x["ruleId"] in ids for x in r)
' "$T/check.sarif" "$T/bad.yaml"
VALIDATE=$SRCROOT/tests/sarif/validate.sh
if [ -x "$SRCROOT/tests/sarif/node_modules/.bin/ajv" ] || [ -d "$SRCROOT/tests/sarif/node_modules/ajv" ]; then
	check "sarif: valid against the SARIF 2.1.0 schema" sh "$VALIDATE" "$T/check.sarif"
else
	echo "sarif: the schema validator is not installed (scripts/deps.sh installs it)" >&2
	fail "sarif: no validator in tests/sarif/node_modules"
fi

# --- usage ---
expect 2 "missing PROFILE" "$CARDC" check
expect 2 "unknown --format 'xml'" "$CARDC" check "$P" --format xml
expect 1 "$T/none.jsonl" "$CARDC" check "$P" --cards "$T/none.jsonl"
expect 0 "" "$CARDC" check --help
check "help: synopsis" grep -q "cardc check PROFILE" "$T/out"

finish "cardc check"
