#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# cpk benchmark: peak resident set of `cardc compile` (install-applet example
# profile, SCP03) with the largest load file against the same compile with
# the smallest CAP the generator makes (the empty-profile baseline: under
# 1 KB of load data), in one run. Each case runs ROUNDS times, alternating;
# the lowest peak of each counts (what a compile needs, without the noise of
# shared-library pages mapped around the ones it touched). Prints both, their
# difference, and the difference per byte of load data; fails above the gate
# (difference <= 3x the load data).
#
# usage: compile_rss.sh CARDC CAPGEN SOURCE_ROOT [LFDB-BYTES [ROUNDS]]
set -eu
CARDC=$1 CAPGEN=$2 SRCROOT=$3
LOAD=${4:-61180} ROUNDS=${5:-5}
GATE=3
umask 022
export SOURCE_DATE_EPOCH=1700000000
W=$(mktemp -d "${TMPDIR:-/tmp}/cpk-bench-XXXXXX")
trap 'rm -rf "$W"' EXIT INT TERM
mkdir "$W/keys" "$W/base" "$W/load"
cp "$SRCROOT/keys/gp-test-keys-aes.yaml" "$W/keys/"
cp "$SRCROOT/keys/test-signing.key" "$W/"
chmod 600 "$W/keys/"* "$W/test-signing.key"
for c in base load; do
	cp "$SRCROOT/profiles/install-applet.yaml" "$W/$c/"
done
# --size: the exact Load File Data Block (Descriptor included, as the
# profile loads it); 0 the smallest.
"$CAPGEN" -o "$W/base/hello.cap" --package F043504B48454C4C4F \
    --applet F043504B48454C4C4F01 --size 0 >/dev/null
"$CAPGEN" -o "$W/load/hello.cap" --package F043504B48454C4C4F \
    --applet F043504B48454C4C4F01 --size "$LOAD" >/dev/null

# peak CASE: one compile's peak resident set in KB (GNU time's %M).
peak() {
	/usr/bin/time -f "%M" -o "$W/time" "$CARDC" compile -p "$W/$1/install-applet.yaml" \
	    -c "$SRCROOT/tests/cli/data/card-scp03.yaml" -k "$W/keys" \
	    -s "$W/test-signing.key" -o "$W/$1.cpk" >/dev/null ||
	    { echo "compile_rss: cardc compile failed ($1)" >&2; exit 1; }
	cat "$W/time"
}

base=0 load=0 r=0
while [ "$r" -lt "$ROUNDS" ]; do
	b=$(peak base)
	l=$(peak load)
	[ "$base" = 0 ] || [ "$b" -lt "$base" ] && base=$b
	[ "$load" = 0 ] || [ "$l" -lt "$load" ] && load=$l
	r=$((r + 1))
done
echo "compile peak RSS (lowest of $ROUNDS, alternating): baseline (smallest CAP) $base KB," \
    "load file of $LOAD bytes $load KB"
awk -v b="$base" -v l="$load" -v n="$LOAD" -v g="$GATE" 'BEGIN {
	d = (l - b) * 1024
	printf "difference %d KB = %.2fx the load data (gate <= %dx)\n", (l - b), d / n, g
	exit !(d <= g * n) }' || { echo "gate: compile peak RSS above the baseline + ${GATE}x the load data: NOT MET"; exit 1; }
echo "gate (compile peak RSS <= baseline + ${GATE}x the load data): met"
