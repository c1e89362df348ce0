#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# cpk benchmark: peak resident set of `cardc compile` with a large load file
# against the same compile with the smallest CAP the generator makes (the
# empty-profile baseline: under 1 KB of load data), in one run, for two
# cases:
#   short     the install-applet example profile (SCP03, short LOAD
#             commands), a load file of LFDB-BYTES;
#   extended  the large-load example profile (block-size: max, a card
#             record with max-command 65535: extended-length LOAD
#             commands), an extended-format CAP of EXT-BYTES.
# Each compile runs ROUNDS times, alternating; the lowest peak of each
# counts (what a compile needs, without the noise of shared-library pages
# mapped around the ones it touched). The compiles run without address
# space randomization where setarch can turn it off: with it, where the
# libraries and the heap land moves a peak by up to ~200 KB from run to
# run, more than the load data of the short case. Prints both peaks of each case, their
# difference, and the difference per byte of load data; fails when either
# case is above the gate (difference <= 3x the load data).
#
# usage: compile_rss.sh CARDC CAPGEN SOURCE_ROOT [LFDB-BYTES [ROUNDS [EXT-BYTES]]]
set -eu
CARDC=$1 CAPGEN=$2 SRCROOT=$3
LOAD=${4:-61180} ROUNDS=${5:-5} EXT=${6:-512000}
GATE=3
umask 022
export SOURCE_DATE_EPOCH=1700000000
W=$(mktemp -d "${TMPDIR:-/tmp}/cpk-bench-XXXXXX")
trap 'rm -rf "$W"' EXIT INT TERM
mkdir "$W/keys"
cp "$SRCROOT/keys/gp-test-keys-aes.yaml" "$W/keys/"
cp "$SRCROOT/keys/test-signing.key" "$W/"
chmod 600 "$W/keys/"* "$W/test-signing.key"

# setup CASE PROFILE CAP PACKAGE APPLET SIZE [capgen options]: a folder with
# the example profile and its CAP. --size: the exact Load File Data Block
# (Descriptor included, as the profile loads it); 0 the smallest.
setup() {
	c=$1 prof=$2 cap=$3 pkg=$4 app=$5 size=$6
	shift 6
	mkdir "$W/$c"
	cp "$SRCROOT/profiles/$prof.yaml" "$W/$c/"
	"$CAPGEN" -o "$W/$c/$cap" --package "$pkg" --applet "$app" --size "$size" "$@" \
	    >/dev/null || { echo "compile_rss: capgen failed ($c)" >&2; exit 1; }
}
setup base install-applet hello.cap F043504B48454C4C4F F043504B48454C4C4F01 0
setup load install-applet hello.cap F043504B48454C4C4F F043504B48454C4C4F01 "$LOAD"
setup ext-base large-load big.cap F043504B4249 F043504B424901 0
setup ext large-load big.cap F043504B4249 F043504B424901 "$EXT" --extended

# The same layout for every compile (setarch -R), where it can be had.
NORAND=
if setarch "$(uname -m)" -R true 2>/dev/null; then
	NORAND="setarch $(uname -m) -R"
fi

# peak CASE PROFILE CARD: one compile's peak resident set in KB (GNU time's %M).
peak() {
	$NORAND /usr/bin/time -f "%M" -o "$W/time" "$CARDC" compile -p "$W/$1/$2.yaml" \
	    -c "$SRCROOT/tests/cli/data/$3.yaml" -k "$W/keys" \
	    -s "$W/test-signing.key" -o "$W/$1.cpk" >/dev/null ||
	    { echo "compile_rss: cardc compile failed ($1)" >&2; exit 1; }
	cat "$W/time"
}

# lowest OLD NEW: the lower of two peaks (OLD 0: none yet).
lowest() {
	if [ "$1" = 0 ] || [ "$2" -lt "$1" ]; then echo "$2"; else echo "$1"; fi
}

base=0 load=0 ebase=0 ext=0 r=0
while [ "$r" -lt "$ROUNDS" ]; do
	base=$(lowest "$base" "$(peak base install-applet card-scp03)")
	load=$(lowest "$load" "$(peak load install-applet card-scp03)")
	ebase=$(lowest "$ebase" "$(peak ext-base large-load card-scp03-ext)")
	ext=$(lowest "$ext" "$(peak ext large-load card-scp03-ext)")
	r=$((r + 1))
done

# report NAME BASE PEAK BYTES: one case's line; fails above the gate.
report() {
	echo "compile peak RSS, $1 (lowest of $ROUNDS, alternating${NORAND:+, no ASLR}):" \
	    "baseline (smallest CAP)" \
	    "$2 KB, load file of $4 bytes $3 KB"
	awk -v b="$2" -v l="$3" -v n="$4" -v g="$GATE" 'BEGIN {
		d = (l - b) * 1024
		printf "difference %d KB = %.2fx the load data (gate <= %dx)\n", (l - b), d / n, g
		exit !(d <= g * n) }'
}
ok=0
report "short LOAD commands" "$base" "$load" "$LOAD" || ok=1
report "extended-length LOAD commands" "$ebase" "$ext" "$EXT" || ok=1
if [ "$ok" != 0 ]; then
	echo "gate: compile peak RSS above the baseline + ${GATE}x the load data: NOT MET"
	exit 1
fi
echo "gate (compile peak RSS <= baseline + ${GATE}x the load data, both cases): met"
