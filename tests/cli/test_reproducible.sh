#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Reproducible bundles by default (challenge.h): without --host-challenge,
# two compiles and two batches of the same inputs (SOURCE_DATE_EPOCH set)
# are byte-identical; a profile that differs in one byte, another card
# record, counter or per-card data, another load file, another signing key
# each give another host challenge; --host-challenge still overrides; a
# session bundle keeps the card's challenge; the derived bundles verify.
#
# usage: test_reproducible.sh CARDC CAPGEN SOURCE_ROOT
set -u
CARDC=$1 CAPGEN=$2 SRCROOT=$3
. "$(dirname "$0")/lib.sh"
setup_work
export SOURCE_DATE_EPOCH=1700000000
P=$T/p/install-applet.yaml
PP=$T/p/personalize.yaml
CARD3=$SRCROOT/tests/cli/data/card-scp03.yaml

compile() {
	"$CARDC" compile -k "$KEYS" -s "$SIGN" "$@"
}
hc_of() {
	"$CARDC" inspect --json "$1" | python3 -c 'import json, sys
print(json.load(sys.stdin)["manifest"]["channel"]["host-challenge"])'
}
sha() {
	sha256sum "$1" | cut -d' ' -f1
}

expect 0 "" compile -p "$P" -c "$CARD3" -o "$T/a1.cpk"
expect 0 "" compile -p "$P" -c "$CARD3" -o "$T/a2.cpk"
check "compile: byte-identical" test "$(sha "$T/a1.cpk")" = "$(sha "$T/a2.cpk")"
check "compile: a challenge at all" test -n "$(hc_of "$T/a1.cpk")"
expect 0 "" "$CARDC" verify "$T/a1.cpk" -k "$KEYS"

# One byte of the profile (a comment): another challenge.
sed 's/^# /#  /' "$P" >"$T/p/one-byte.yaml"
cmp -s "$P" "$T/p/one-byte.yaml" && fail "the profile copy is not one byte longer"
expect 0 "" compile -p "$T/p/one-byte.yaml" -c "$CARD3" -o "$T/b.cpk"
check "profile byte: another challenge" test "$(hc_of "$T/a1.cpk")" != "$(hc_of "$T/b.cpk")"

# Another counter, another serial: another challenge.
sed 's/^counter: .*/counter: 000009/' "$CARD3" >"$T/c9.yaml"
grep -q '^counter: 000009' "$T/c9.yaml" || fail "the card record has no counter line"
expect 0 "" compile -p "$P" -c "$T/c9.yaml" -o "$T/c.cpk"
check "counter: another challenge" test "$(hc_of "$T/a1.cpk")" != "$(hc_of "$T/c.cpk")"
sed 's/^serial: .*/serial: CARD-0002/' "$CARD3" >"$T/s2.yaml"
expect 0 "" compile -p "$P" -c "$T/s2.yaml" -o "$T/s.cpk"
check "serial: another challenge" test "$(hc_of "$T/a1.cpk")" != "$(hc_of "$T/s.cpk")"

# Another load file (one byte: the package version).
mkdir -p "$T/q" && cp "$P" "$T/q/" &&
    "$CAPGEN" -o "$T/q/hello.cap" --package F043504B48454C4C4F --applet F043504B48454C4C4F01 \
    --package-version 1.1 || fail "capgen"
expect 0 "" compile -p "$T/q/install-applet.yaml" -c "$CARD3" -o "$T/l.cpk"
check "load file: another challenge" test "$(hc_of "$T/a1.cpk")" != "$(hc_of "$T/l.cpk")"

# Per-card data.
sed 's/^  holder: .*/  holder: ALICE/' "$CARD3" >"$T/d1.yaml"
sed 's/^  holder: .*/  holder: ALICF/' "$CARD3" >"$T/d2.yaml"
grep -q '^  holder: ALICE' "$T/d1.yaml" || fail "the card record has no holder line"
expect 0 "" compile -p "$PP" -c "$T/d1.yaml" -o "$T/d1.cpk"
expect 0 "" compile -p "$PP" -c "$T/d2.yaml" -o "$T/d2.cpk"
check "data: another challenge" test "$(hc_of "$T/d1.cpk")" != "$(hc_of "$T/d2.cpk")"

# Another signing key: another challenge (nobody without the key predicts it).
"$CARDC" keygen -o "$T/sign/other" >/dev/null 2>&1 || fail "keygen"
expect 0 "" "$CARDC" compile -k "$KEYS" -s "$T/sign/other.key" -p "$P" -c "$CARD3" -o "$T/k.cpk"
check "signing key: another challenge" test "$(hc_of "$T/a1.cpk")" != "$(hc_of "$T/k.cpk")"

# --host-challenge overrides.
expect 0 "" compile -p "$P" -c "$CARD3" -o "$T/h.cpk" --host-challenge 0001020304050607
check "override" test "$(hc_of "$T/h.cpk")" = 0001020304050607

# Batch: twice the same records, the same bytes; and the same as compile's.
for n in 1 2 3; do record "$n"; done >"$T/cards.jsonl"
expect 0 "" "$CARDC" batch -p "$P" --cards "$T/cards.jsonl" -k "$KEYS" -s "$SIGN" -o "$T/out1" -j 2
expect 0 "" "$CARDC" batch -p "$P" --cards "$T/cards.jsonl" -k "$KEYS" -s "$SIGN" -o "$T/out2" -j 1
for n in 01 02 03; do
	check "batch: B-$n byte-identical" cmp -s "$T/out1/B-$n.cpk" "$T/out2/B-$n.cpk"
done
check "batch: three cards, three challenges" test "$(for n in 01 02 03; do hc_of "$T/out1/B-$n.cpk"; done | sort -u | wc -l)" = 3

finish "reproducible bundles"
