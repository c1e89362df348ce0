#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# cardc compile is reproducible: profiles/install-applet.yaml compiled for
# tests/cli/data/card-scp03.yaml with the committed test keys, a fixed host
# challenge and a fixed SOURCE_DATE_EPOCH gives the same bytes twice, and
# they equal the committed golden bundle tests/golden/install-applet.cpk.
# That bundle verifies against keys/test-signing.pub and recomputes with
# the test keys.
#
# usage: test_golden.sh CARDC CAPGEN SOURCE_ROOT [--update]
#
# --update rewrites tests/golden/install-applet.cpk (see
# tests/golden/README.md for when that is right).
set -u
CARDC=$1 CAPGEN=$2 SRCROOT=$3
. "$(dirname "$0")/lib.sh"
setup_work

GOLDEN=$SRCROOT/tests/golden/install-applet.cpk
CARD=$SRCROOT/tests/cli/data/card-scp03.yaml

build() {
	SOURCE_DATE_EPOCH=1700000000 "$CARDC" compile -p "$T/p/install-applet.yaml" -c "$CARD" \
	    -k "$KEYS" -s "$SIGN" -o "$1" --host-challenge 0001020304050607
}

expect 0 "" build "$T/a.cpk"
expect 0 "" build "$T/b.cpk"
check "two compiles differ" cmp -s "$T/a.cpk" "$T/b.cpk"
# -o - gives the same bytes on stdout.
checks=$((checks + 1))
SOURCE_DATE_EPOCH=1700000000 "$CARDC" compile -p "$T/p/install-applet.yaml" -c "$CARD" \
    -k "$KEYS" -s "$SIGN" -o - --host-challenge 0001020304050607 >"$T/c.cpk" ||
    fail "compile -o - failed"
check "compile -o - differs from -o FILE" cmp -s "$T/a.cpk" "$T/c.cpk"

if [ "${4:-}" = "--update" ]; then
	cat "$T/a.cpk" >"$GOLDEN" && echo "wrote $GOLDEN"
fi
if ! cmp -s "$T/a.cpk" "$GOLDEN"; then
	fail "the bundle differs from $GOLDEN (if the change is intended, regenerate it: see tests/golden/README.md)"
	"$CARDC" inspect "$T/a.cpk" --apdus >"$T/new.txt" 2>&1
	"$CARDC" inspect "$GOLDEN" --apdus >"$T/old.txt" 2>&1
	diff "$T/old.txt" "$T/new.txt" >&2
fi
expect 0 "" "$CARDC" inspect "$GOLDEN" --trust "$PUB"
check "golden: signature not verified" grep -q "^signature  *verified: signed by key f620c8c4c446de5d" "$T/out"
expect 0 "" "$CARDC" verify "$GOLDEN" -k "$KEYS" --trust "$PUB"
check "golden: verify summary" grep -q "^verify: 7 commands reproduced" "$T/out"
# Another SOURCE_DATE_EPOCH or host challenge gives other bytes.
checks=$((checks + 1))
SOURCE_DATE_EPOCH=1700000001 "$CARDC" compile -p "$T/p/install-applet.yaml" -c "$CARD" \
    -k "$KEYS" -s "$SIGN" -o "$T/d.cpk" --host-challenge 0001020304050607 || fail "compile"
check "SOURCE_DATE_EPOCH ignored" sh -c "! cmp -s '$T/a.cpk' '$T/d.cpk'"
finish golden
