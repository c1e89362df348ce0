#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# cardc's command line: help and usage errors (exit 2, message on stderr),
# --help on stdout (exit 0), help text and man page in agreement, the error
# paths of each subcommand (exit 1, message checked), every example profile
# compiled for a sample card and accepted by cardc verify, keygen, inspect
# (human and JSON, with and without trust), '-' as stdin.
#
# usage: test_cli.sh CARDC CAPGEN SOURCE_ROOT
set -u
CARDC=$1 CAPGEN=$2 SRCROOT=$3
. "$(dirname "$0")/lib.sh"
setup_work
MAN=$SRCROOT/man/cardc.1
CARD03=$SRCROOT/tests/cli/data/card-scp03.yaml
CARD02=$SRCROOT/tests/cli/data/card-scp02.yaml
COMMANDS="compile reissue inspect verify keygen batch registry hsm diff check"

# --- help ---

expect 0 "" "$CARDC" --help
check "--help: not on stdout" grep -q "^Commands:" "$T/out"
check "--help: something on stderr" test ! -s "$T/err"
for c in $COMMANDS; do
	check "--help does not list $c" grep -q "^  $c " "$T/out"
done
expect 0 "" "$CARDC" -h
expect 0 "" "$CARDC" --version
check "--version" grep -q "^cardc (cpk) [0-9]" "$T/out"
expect 0 "" "$CARDC" help
check "help: no command list" grep -q "^Commands:" "$T/out"
for c in $COMMANDS; do
	expect 0 "" "$CARDC" help "$c"
	cp "$T/out" "$T/help-$c"
	check "help $c: no usage line" grep -q "^usage: cardc $c " "$T/help-$c"
	expect 0 "" "$CARDC" "$c" --help
	check "$c --help differs from help $c" cmp -s "$T/out" "$T/help-$c"
	check "$c --help: stderr not empty" test ! -s "$T/err"
	expect 0 "" "$CARDC" "$c" -h
	# The man page documents every long option the help lists, and the reverse.
	for opt in $(grep -o -- '--[a-z][a-z-]*' "$T/help-$c" | sort -u); do
		check "man page lacks $opt (cardc $c)" grep -q -- "Fl -${opt#--}" "$MAN"
	done
done
for opt in $(grep -o 'Fl -[a-z][a-z-]*' "$MAN" | sed 's/^Fl -/--/' | sort -u); do
	check "help lacks $opt of the man page" sh -c "cat '$T'/help-* | grep -q -- '$opt' ||
	    '$CARDC' --help | grep -q -- '$opt'"
done
# The synopsis of each command is in the man page's SYNOPSIS, option for
# option, under that command (from its ".Cm" line to the next ".Nm").
for c in $COMMANDS; do
	awk -v c="$c" '/^\.Sh SYNOPSIS/ { s = 1; next } /^\.Sh / { s = 0 }
	    s && $0 == ".Cm " c { on = 1; next } s && /^\.Nm/ { on = 0 } on' "$MAN" \
	    >"$T/syn-$c"
	check "man SYNOPSIS has no section for $c" test -s "$T/syn-$c"
	syn=$(sed -n "s/^usage: cardc $c //p" "$T/help-$c")
	for w in $syn; do
		case $w in
		-*|\[-*) o=$(echo "$w" | tr -d '[]'); check "man SYNOPSIS of $c lacks $o" \
		    grep -q -- "Fl ${o#-}\( \|\$\)" "$T/syn-$c" ;;
		esac
	done
done

# --- usage errors: exit 2, a message, the synopsis ---

expect 2 "usage: cardc COMMAND" "$CARDC"
expect 2 "cardc: unknown command 'frobnicate'" "$CARDC" frobnicate
expect 2 "cardc: unknown option '--bogus'" "$CARDC" --bogus
expect 2 "cardc help: unknown command 'nope'" "$CARDC" help nope
expect 2 "cardc help: one command at a time" "$CARDC" help compile inspect
expect 2 "cardc compile: missing -p PROFILE" "$CARDC" compile
check "usage error: no synopsis" grep -q "^usage: cardc compile -p PROFILE" "$T/err"
check "usage error: no pointer to help" grep -q "^Try 'cardc help compile' for more." "$T/err"
check "usage error: output on stdout" test ! -s "$T/out"
expect 2 "cardc compile: missing -c CARD" "$CARDC" compile -p x
expect 2 "cardc compile: missing -s SIGNKEY" "$CARDC" compile -p x -c y
expect 2 "cardc compile: missing -o OUT.cpk" "$CARDC" compile -p x -c y -s z
expect 2 "cardc compile: unknown option '--bogus'" "$CARDC" compile --bogus
expect 2 "cardc compile: unknown option '-x'" "$CARDC" compile -x
expect 2 "cardc compile: option '-p' needs a value" "$CARDC" compile -p
expect 2 "cardc compile: option '--profile' needs a value" "$CARDC" compile --profile
expect 2 "cardc compile: unexpected argument 'extra'" "$CARDC" compile -p x -c y -s z -o o extra
expect 2 "cardc compile: --host-challenge wants 16 hex digits (8 bytes), not '0102'" \
    "$CARDC" compile -p x -c y -s z -o o --host-challenge 0102
expect 2 "not 'zz01020304050607'" "$CARDC" compile -p x -c y -s z -o o \
    --host-challenge zz01020304050607
expect 2 "cardc inspect: missing BUNDLE" "$CARDC" inspect
expect 2 "cardc inspect: one bundle at a time (unexpected 'b')" "$CARDC" inspect a b
expect 2 "cardc inspect: option '--trust' needs a value" "$CARDC" inspect a --trust
expect 2 "cardc inspect: unknown option '--apdux'" "$CARDC" inspect a --apdux
expect 2 "cardc inspect: option '--json' takes no value" "$CARDC" inspect a --json=yes
expect 2 "cardc compile: ambiguous option '--h'" "$CARDC" compile --h
expect 2 "cardc verify: option '-k' needs a value" "$CARDC" verify a -k
expect 2 "cardc verify: missing BUNDLE" "$CARDC" verify -k k
expect 2 "cardc verify: missing -k KEYDIR|KEYFILE" "$CARDC" verify a.cpk
expect 2 "cardc verify: one bundle at a time" "$CARDC" verify a b -k k
expect 2 "cardc keygen: missing -o PREFIX" "$CARDC" keygen
expect 2 "cardc keygen: -o wants a file name prefix, not '-'" "$CARDC" keygen -o -
expect 2 "cardc keygen: unexpected argument 'x'" "$CARDC" keygen -o p x
expect 2 "cardc batch: missing -p PROFILE" "$CARDC" batch
expect 2 "cardc batch: missing --cards FILE" "$CARDC" batch -p x
expect 2 "cardc batch: missing -s SIGNKEY" "$CARDC" batch -p x --cards c
expect 2 "cardc batch: missing -o OUTDIR" "$CARDC" batch -p x --cards c -s s
expect 2 "cardc batch: -o wants a folder, not '-'" "$CARDC" batch -p x --cards c -s s -o -
expect 2 "cardc batch: -j wants a number of workers from 1 to 64, not '0'" \
    "$CARDC" batch -p x --cards c -s s -o o -j 0
expect 2 "not '65'" "$CARDC" batch -p x --cards c -s s -o o -j 65
expect 2 "not '4x'" "$CARDC" batch -p x --cards c -s s -o o -j 4x
expect 2 "cardc batch: --shard wants I/N with 1 <= I <= N <= 1000000, not '3/2'" \
    "$CARDC" batch -p x --cards c -s s -o o --shard 3/2
expect 2 "not '0/2'" "$CARDC" batch -p x --cards c -s s -o o --shard 0/2
expect 2 "not '1'" "$CARDC" batch -p x --cards c -s s -o o --shard 1

# --- every example profile compiles for a sample card and verifies ---

n=0
for p in "$T"/p/*.yaml; do
	name=$(basename "$p" .yaml)
	card=$(card_for "$p")
	n=$((n + 1))
	expect 0 "" "$CARDC" compile -p "$p" -c "$card" -k "$KEYS" -s "$SIGN" \
	    -o "$T/$name.cpk" || continue
	expect 0 "" "$CARDC" verify "$T/$name.cpk" -k "$KEYS" --trust "$PUB"
	check "$name: verify summary" grep -q "^verify: [0-9]* commands reproduced" "$T/out"
	check "$name: signature" grep -q "^signature verified: signed by key f620c8c4c446de5d" \
	    "$T/out"
	expect 0 "" "$CARDC" verify "$T/$name.cpk" -k "$KEYS" --json
	check "$name: verify --json" grep -q '^  "ok": true,' "$T/out"
	expect 0 "" "$CARDC" inspect "$T/$name.cpk" --json --apdus
	check "$name: inspect --json profile" grep -q "^    \"profile\": \"$name\"," "$T/out"
done
check "no example profile found" test "$n" -ge 4
# A profile that asks for the card holder's PIN: cardc serve only, no bundle.
cp "$SRCROOT/profiles/serve/holder-pin.yaml" "$T/p/holder-pin.serve" || exit 1
expect 1 "asks for the card holder's PIN (holder-pin): only cardc serve" \
    "$CARDC" compile -p "$T/p/holder-pin.serve" -c "$SRCROOT/tests/cli/data/card-scp03.yaml" \
    -k "$KEYS" -s "$SIGN" -o "$T/holder-pin.cpk"
check "holder-pin: no bundle" test ! -e "$T/holder-pin.cpk"
check "holder-pin: the message names the profile's line" grep -q "holder-pin.serve:31:" "$T/err"
# The key generation example keeps the answer to its last command (its capture).
expect 0 "" "$CARDC" inspect "$T/generate-key.cpk" --json
check "generate-key: inspect --json captures" python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["manifest"]["captures"] == {"pubkey": d["manifest"]["commands"]}, d["manifest"]
assert d["commands"][-1]["label"] == "GENERATE KEY PAIR"' <"$T/out"
expect 0 "" "$CARDC" inspect "$T/install-applet.cpk" --json
check "install-applet: no captures" grep -q '^    "captures": {},\?$' "$T/out"
"$CARDC" verify "$T/generate-key.cpk" -k "$KEYS" >"$T/out" 2>&1
check "generate-key: verify lists the capture" \
    grep -q "^  pubkey          command [0-9]* (GENERATE KEY PAIR)$" "$T/out"
# The personalization example: the plain STORE DATA carries the card's data
# (DGI 0103: the serial's ASCII, CARD-0001).
"$CARDC" verify "$T/personalize.cpk" -k "$KEYS" >"$T/out" 2>&1
check "personalize: the serial is not in the plain STORE DATA" \
    grep -q "^       80E2.*010309434152442D30303031$" "$T/out"
# The rotation example: the plain PUT KEY for version 02, replacing 01.
"$CARDC" verify "$T/rotate-keys.cpk" -k "$KEYS" >"$T/out" 2>&1
check "rotate-keys: no PUT KEY 80D80181" grep -q "^       80D8018143028010" "$T/out"
# The life-cycle example: the plain SET STATUS, DELETE and INSTALL commands.
"$CARDC" verify "$T/life-cycle.cpk" -k "$KEYS" >"$T/out" 2>&1
check "life-cycle: SET STATUS card INITIALIZED" grep -q "^       80F08007$" "$T/out"
check "life-cycle: SET STATUS card SECURED" grep -q "^       80F0800F$" "$T/out"
check "life-cycle: lock the applet" grep -q "^       80F040800AF043504B48454C4C4F01$" "$T/out"
check "life-cycle: delete key version 31" grep -q "^       80E4000003D20131$" "$T/out"
check "life-cycle: registry update" \
    grep -q "^       80E64000110000 *0AF043504B48454C4C4F0101040000$" "$T/out"
check "life-cycle: extradition" \
    grep -q "^       80E610001808A000000151000000000AF043504B48454C4C4F01000000$" "$T/out"
# Its set-status card: secured could unlock a CARD_LOCKED card, whose ISD
# answers SELECT with 6283: accepted there, and nowhere else.
select_sw() { # BUNDLE-NAME SW...: the status words its first command (SELECT) accepts
	local name=$1
	shift
	"$CARDC" inspect "$T/$name.cpk" --json --apdus >"$T/out" 2>&1
	check "$name: SELECT accepts $*" python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["commands"][0]["sw"] == sys.argv[1:], d["commands"][0]' "$@" <"$T/out"
}
select_sw life-cycle 9000 6283
select_sw install-applet 9000
# The DAP example: E2 { 4F ISD, C3 256-byte signature } before C4 in the first LOAD.
"$CARDC" verify "$T/dap.cpk" -k "$KEYS" >"$T/out" 2>&1
check "dap: the first LOAD starts with the ISD's DAP block" \
    grep -q "^       80E80000..E282010E4F08A000000151000000C3820100" "$T/out"
# The delegated-management example: INSTALL [for load] ends with a 128-byte
# token (the load file, the SSD, the SHA-1 hash, no parameters, 80 token).
"$CARDC" verify "$T/delegated-install.cpk" -k "$KEYS" >"$T/out" 2>&1
check "delegated-install: INSTALL [for load] carries a token" \
    grep -Eq "^       80E60200AA09F043504B48454C4C4F08A00000015153534414[0-9A-F]{40}0080[0-9A-F]{256}$" \
    "$T/out"
# The delegated registry update example: INSTALL [for registry update] ends
# with a 128-byte token (no SD, the applet, privileges 04, no parameters).
"$CARDC" verify "$T/delegated-registry-update.cpk" -k "$KEYS" >"$T/out" 2>&1
check "delegated-registry-update: INSTALL [for registry update] carries a token" \
    grep -Eq "^       80E640009100000AF043504B48454C4C4F0101040080[0-9A-F]{256}$" "$T/out"
# A command that fits the secure channel alone but not with its token is
# refused at compile time where its step is written, with both lengths.
big=$(python3 -c 'print("CF01" * 50)')
sed "s|^      privileges: \[card-reset\].*|&\n      system-params: $big|" \
    "$T/p/delegated-registry-update.yaml" >"$T/p-dm-big.yaml"
expect 1 "$T/p-dm-big.yaml:36:5: INSTALL [for registry update] carries 247 bytes of data with its 128-byte delegated-management token; the secure channel at security level 13 (c-mac+c-dec+r-mac) carries at most 239" \
    "$CARDC" compile -p "$T/p-dm-big.yaml" -c "$(card_for "$T/p-dm-big.yaml")" -k "$KEYS" \
    -s "$SIGN" -o "$T/dm-big.cpk"
check "dm-big: no bundle" test ! -e "$T/dm-big.cpk"
# cardc check, which reads no key, counts a 128-byte token.
expect 1 "" "$CARDC" check "$T/p-dm-big.yaml"
check "dm-big: cardc check names the step" grep -qF "$T/p-dm-big.yaml:36:5: error: INSTALL [for registry update] carries 247 bytes of data with its 128-byte delegated-management token" "$T/out"
# The load parameters example: INSTALL [for load] carries the sizes computed
# from hello.cap: C6 the LFDB without Descriptor, C7 as written, C8 the static
# field image (4 bytes: capgen's counter and DATA reference) and its 8-byte array.
"$CARDC" verify "$T/load-parameters.cpk" -k "$KEYS" >"$T/out" 2>&1
check "load-parameters: computed C6, given C7, computed C8" \
    grep -q "^       80E60200..09F043504B48454C4C4F00000EEF0CC602....C7020100C802000C" "$T/out"

# Step labels are shortened between characters, never inside one: a load
# step labelled "a" and 30 "é" (61 bytes) gives LOAD labels of "a" and 29
# "é" then " n/N" and "a", 21 "é", ": INSTALL [for load]" (64 bytes at most).
long=a$(printf 'é%.0s' $(seq 1 30))
sed "s|^      cap: hello.cap .*|      cap: hello.cap\n      label: \"$long\"|" \
    "$T/p/install-applet.yaml" >"$T/p-label.yaml"
cp "$T/p/hello.cap" "$T/hello.cap"
expect 0 "" "$CARDC" compile -p "$T/p-label.yaml" -c "$CARD03" -k "$KEYS" -s "$SIGN" \
    -o "$T/label.cpk"
expect 0 "" "$CARDC" inspect "$T/label.cpk" --json
check "long label: LOAD label not cut between characters" \
    grep -q "\"a$(printf 'é%.0s' $(seq 1 29)) 1/" "$T/out"
check "long label: INSTALL [for load] label not cut between characters" \
    grep -q "\"a$(printf 'é%.0s' $(seq 1 21)): INSTALL \[for load\]\"" "$T/out"
# A label with a control character is refused where it is written.
printf '  - delete:\n      aid: F043504B48454C4C4F\n      label: "tab\\there"\n' |
    cat "$T/p/install-applet.yaml" - >"$T/p-tab.yaml"
expect 1 "p-tab.yaml:$(($(wc -l <"$T/p/install-applet.yaml") + 3)):14: 'label' must be text without control characters (byte 4 is 0x09)" \
    "$CARDC" compile -p "$T/p-tab.yaml" -c "$CARD03" -k "$KEYS" -s "$SIGN" -o "$T/tab.cpk"

# --- issue 10: key material only from -k KEYDIR ---
# The attack the review made: a profile names another bureau's key file and
# PUT KEY wraps its keys under keys the profile's author knows. Named by
# absolute path, by '..' or through a link in the key folder, it is refused
# where the profile names it, and no bundle is written.
mkdir -p "$T/bureau2" "$T/atk/keys"
install -m 0600 "$SRCROOT"/keys/gp-test-keys-aes.yaml "$T/bureau2/victim.yaml"
install -m 0600 "$SRCROOT"/keys/gp-test-keys-aes.yaml "$T/atk/keys/gp-test-keys-aes.yaml"
ln -sf "$T/bureau2/victim.yaml" "$T/atk/keys/victim.yaml"
cp "$T/p/hello.cap" "$T/atk/hello.cap"
atk_line=$(($(wc -l <"$T/p/install-applet.yaml") + 1))
for victim in "$T/bureau2/victim.yaml" ../../bureau2/victim.yaml victim.yaml; do
	printf '  - put-key: {file: "%s", add: true}\n' "$victim" |
	    cat "$T/p/install-applet.yaml" - >"$T/atk/p.yaml"
	case $victim in
	victim.yaml) why="key file '$T/atk/keys/victim.yaml' is a symbolic link: refused" ;;
	*) why="key set '$victim' is not a file name: a profile names a key set file inside the key folder (-k KEYDIR), without '/' or '..'" ;;
	esac
	rm -f "$T/atk.cpk"
	expect 1 "cardc: $T/atk/p.yaml:$atk_line:21: $why" "$CARDC" compile -p "$T/atk/p.yaml" \
	    -c "$CARD03" -k "$T/atk/keys" -s "$SIGN" -o "$T/atk.cpk"
	check "attack ($victim): a bundle was written" test ! -e "$T/atk.cpk"
	expect 1 "cardc: $T/atk/p.yaml:$atk_line:21: $why" "$CARDC" batch -p "$T/atk/p.yaml" \
	    --cards "$CARD03" -k "$T/atk/keys" -s "$SIGN" -o "$T/atk-out"
done
# The same profile with the key set's name in the key folder compiles.
printf '  - put-key: {file: gp-test-keys-aes.yaml, add: true}\n' |
    cat "$T/p/install-applet.yaml" - >"$T/atk/p.yaml"
expect 0 "" "$CARDC" compile -p "$T/atk/p.yaml" -c "$CARD03" -k "$T/atk/keys" -s "$SIGN" \
    -o "$T/atk.cpk"
# Without -k there is no key folder: the profile's own folder is not one.
expect 2 "cardc compile: missing -k KEYDIR: key sets are read only from the key folder you name (the profile names files in it)" \
    "$CARDC" compile -p "$T/atk/p.yaml" -c "$CARD03" -s "$SIGN" -o "$T/atk.cpk"
expect 2 "cardc batch: missing -k KEYDIR: key sets are read only from the key folder you name (the profile names files in it)" \
    "$CARDC" batch -p "$T/atk/p.yaml" --cards "$CARD03" -s "$SIGN" -o "$T/atk-out"

# --- compile errors: exit 1 and a message that names the problem ---

P=$T/p/install-applet.yaml
# Only regular files are replaced or read (security review, issue 10): -o
# naming a FIFO or a device node (made here, never the machine's /dev/null)
# is refused before anything is written, and a FIFO as the profile is
# refused at once instead of waiting for a writer (timeout: a regression
# fails instead of hanging the suite).
mkfifo "$T/out.fifo" "$T/profile.fifo" && mknod "$T/null" c 1 3 || exit 1
expect 1 "cardc: output '$T/out.fifo' is a FIFO, not a regular file: cpk replaces only regular files; name another file" \
    timeout -k 5 20 "$CARDC" compile -p "$P" -c "$CARD03" -k "$KEYS" -s "$SIGN" -o "$T/out.fifo"
expect 1 "cardc: output '$T/null' is a character device, not a regular file" \
    "$CARDC" compile -p "$P" -c "$CARD03" -k "$KEYS" -s "$SIGN" -o "$T/null"
check "compile -o: the device node is still a device node" test -c "$T/null" -a -p "$T/out.fifo"
expect 1 "'$T/profile.fifo' is a FIFO, not a regular file: cpk reads only regular files" \
    timeout -k 5 20 "$CARDC" compile -p "$T/profile.fifo" -c "$CARD03" -k "$KEYS" -s "$SIGN" \
    -o "$T/x.cpk"
expect 1 "cannot open '$T/none.yaml'" "$CARDC" compile -p "$T/none.yaml" -c "$CARD03" -k "$KEYS" \
    -s "$SIGN" -o "$T/x.cpk"
printf 'profile: 1\nname: bad\nbogus: 1\n' >"$T/bad.yaml"
expect 1 "cardc: $T/bad.yaml:3:1: unknown key 'bogus'" "$CARDC" compile -p "$T/bad.yaml" \
    -c "$CARD03" -k "$KEYS" -s "$SIGN" -o "$T/x.cpk"
printf 'sd-aid: A000000151000000\nscp: 03\ni: 70\nkvn: 30\nkdd: 0102\n' >"$T/badcard.yaml"
expect 1 "cardc: $T/badcard.yaml:5:6:" "$CARDC" compile -p "$P" -c "$T/badcard.yaml" \
    -k "$KEYS" -s "$SIGN" -o "$T/x.cpk"
mkdir -p "$T/openkeys" && cp "$SRCROOT"/keys/gp-test-keys-aes.yaml "$T/openkeys/" &&
    chmod 644 "$T/openkeys/gp-test-keys-aes.yaml"
expect 1 "has mode 0644: a key file must be accessible by its owner only" "$CARDC" compile \
    -p "$P" -c "$CARD03" -k "$T/openkeys" -s "$SIGN" -o "$T/x.cpk"
cp "$SIGN" "$T/open.key" && chmod 644 "$T/open.key"
expect 1 "open.key" "$CARDC" compile -p "$P" -c "$CARD03" -k "$KEYS" -s "$T/open.key" \
    -o "$T/x.cpk"
check "a refused signing key did not name its mode" grep -q "0644" "$T/err"
expect 1 "cardc: $CARD02: " "$CARDC" compile -p "$P" -c "$CARD02" -k "$KEYS" -s "$SIGN" \
    -o "$T/x.cpk"
check "wrong card: no SCP in the message" grep -q "SCP02" "$T/err"
check "a failed compile left its output" test ! -e "$T/x.cpk"
expect 1 "cardc: SOURCE_DATE_EPOCH: " env SOURCE_DATE_EPOCH=yesterday "$CARDC" compile \
    -p "$P" -c "$CARD03" -k "$KEYS" -s "$SIGN" -o "$T/x.cpk"
expect 1 "cannot" "$CARDC" compile -p "$P" -c "$CARD03" -k "$KEYS" -s "$SIGN" \
    -o "$T/no/such/dir/x.cpk"
# A session profile takes its host challenge from the card record.
sed 's/^\(  security-level: [^ ]*\).*/\1\n  mode: session/' "$P" \
    >"$T/p/session.yaml"
expect 1 "--host-challenge is for offline bundles" "$CARDC" compile -p "$T/p/session.yaml" \
    -c "$CARD03" -k "$KEYS" -s "$SIGN" -o "$T/x.cpk" --host-challenge 0001020304050607
# '-' reads the card record from stdin and writes the bundle to stdout.
checks=$((checks + 1))
"$CARDC" compile -p "$P" -c - -k "$KEYS" -s "$SIGN" -o - <"$CARD03" >"$T/stdio.cpk" ||
    fail "compile -c - -o - failed"
expect 0 "" "$CARDC" verify - -k "$KEYS" <"$T/stdio.cpk"
check "verify - : no summary" grep -q "^verify: 7 commands reproduced" "$T/out"

# --- inspect ---

B=$T/install-applet.cpk
expect 0 "" "$CARDC" inspect "$B"
check "inspect: no unverified signature line" \
    grep -q "^signature *not verified: signed by key f620c8c4c446de5d" "$T/out"
check "inspect: no command list" grep -q "^    3  s-e   9000 *21  EXTERNAL AUTHENTICATE$" \
    "$T/out"
check "inspect: APDUs without --apdus" sh -c "! grep -q '^       00A40400' '$T/out'"
expect 0 "" "$CARDC" inspect "$B" --apdus
check "inspect --apdus: no APDU" grep -q "^       00A4040008A00000015100000000$" "$T/out"
expect 0 "" "$CARDC" inspect - --json <"$B"
check "inspect --json: bundle" grep -q '^  "bundle": "stdin",' "$T/out"
check "inspect --json: signature" grep -q '^    "verified": false,' "$T/out"
check "inspect --json: not one document" test "$(grep -c '^{' "$T/out")" = 1
if command -v python3 >/dev/null 2>&1; then
	check "inspect --json: not JSON" python3 -c 'import json,sys; json.load(sys.stdin)' <"$T/out"
	"$CARDC" verify "$B" -k "$KEYS" --json >"$T/v.json" 2>/dev/null
	check "verify --json: not JSON" python3 -c 'import json,sys; json.load(sys.stdin)' \
	    <"$T/v.json"
fi
"$CARDC" keygen -o "$T/other" >/dev/null 2>&1
expect 1 "the signature does not verify against '$T/other.pub'" "$CARDC" inspect "$B" \
    --trust "$T/other.pub"
check "inspect --trust other: no reason" grep -q "REFUSED (unknown-key): signed by an unknown key f620c8c4c446de5d" "$T/out"
expect 0 "" "$CARDC" inspect "$B" --trust "$T/sign"
check "inspect --trust DIR" grep -q "trusted: $T/sign/test-signing.pub" "$T/out"
printf 'not a zip' >"$T/junk.cpk"
expect 1 "cardc: $T/junk.cpk: bundle refused (container):" "$CARDC" inspect "$T/junk.cpk"
expect 1 "cannot open bundle '$T/none.cpk'" "$CARDC" inspect "$T/none.cpk"
expect 1 "trusted key path '$T/none.pub'" "$CARDC" inspect "$B" --trust "$T/none.pub"

# --- verify errors ---

expect 1 "bundle refused (unknown-key): signed by an unknown key f620c8c4c446de5d" \
    "$CARDC" verify "$B" -k "$KEYS" --trust "$T/other.pub"
mkdir -p "$T/wrongkeys" "$T/wrongenc"
sed 's/^mac: 40/mac: 41/' "$SRCROOT/keys/gp-test-keys-aes.yaml" >"$T/wrongkeys/k.yaml"
sed 's/^enc: 40/enc: 41/' "$SRCROOT/keys/gp-test-keys-aes.yaml" >"$T/wrongenc/k.yaml"
chmod 600 "$T/wrongkeys/k.yaml" "$T/wrongenc/k.yaml"
expect 1 "cardc: $B: command 2 (INITIALIZE UPDATE): no key set reproduces the card cryptogram" \
    "$CARDC" verify "$B" -k "$T/wrongkeys"
check "verify mismatch: commands printed" sh -c "! grep -q '^    1  ' '$T/out'"
# The card cryptogram comes from the MAC key, the pseudo-random challenge from ENC.
expect 1 "command 2 (INITIALIZE UPDATE): key set $T/wrongenc/k.yaml reproduces the card cryptogram but not the pseudo-random card challenge" \
    "$CARDC" verify "$B" -k "$T/wrongenc"
expect 1 "" "$CARDC" verify "$B" -k "$T/wrongkeys" --json
check "verify --json mismatch" grep -q '"index": 2,' "$T/out"
expect 1 "no key set could be read in '$T/openkeys'" "$CARDC" verify "$B" -k "$T/openkeys"
expect 1 "key path '$T/none': No such file or directory" "$CARDC" verify "$B" -k "$T/none"

# --- keygen ---

expect 0 "" "$CARDC" keygen -o "$T/k1" --note "test run"
check "keygen: no key id on stdout" grep -qx "[0-9a-f]\{16\}" "$T/out"
id=$(cat "$T/out")
check "keygen: key file mode" test "$(stat -c %a "$T/k1.key")" = 600
check "keygen: key id not in the public key" grep -q "cpk public key $id test run" "$T/k1.pub"
expect 1 "k1.key" "$CARDC" keygen -o "$T/k1"
check "keygen overwrote" grep -q "$id" "$T/k1.pub"
expect 0 "" "$CARDC" compile -p "$P" -c "$CARD03" -k "$KEYS" -s "$T/k1.key" -o "$T/k1.cpk"
expect 0 "" "$CARDC" inspect "$T/k1.cpk" --trust "$T/k1.pub"
expect 1 "cannot" "$CARDC" keygen -o "$T/no/such/dir/k"

finish cli
