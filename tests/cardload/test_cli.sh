#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# cardload's command line without a card or a smart-card service: help and
# usage errors (exit 2), the man page naming every option --help names, and
# bundles refused before any reader is opened (exit 3, or 1), each with its
# run-log line. Nothing here talks to PC/SC: every case stops earlier.
#
# usage: test_cli.sh CARDLOAD SOURCE_ROOT
CARDLOAD=${1:?usage: test_cli.sh CARDLOAD SOURCE_ROOT}
SRCROOT=${2:?usage: test_cli.sh CARDLOAD SOURCE_ROOT}
. "$SRCROOT/tests/cli/check.sh"
export XDG_CONFIG_HOME="$T/config" XDG_STATE_HOME="$T/state" HOME="$T/home"
unset CPK_READER
exec </dev/null

# cl CODE STDERR-SUBSTRING ARGS...: cardload's exit status and a message.
cl() {
	want=$1
	needle=$2
	shift 2
	expect "$want" "$needle" "$CARDLOAD" "$@"
}

# --- help and usage ---
cl 0 "" --help && grep -q "^usage: cardload \[OPTIONS\] BUNDLE|URL|-" "$T/out" ||
    fail "--help text"
cl 0 "" --version && grep -q "^cardload (cpk) " "$T/out" || fail "--version"
cl 0 "" help identify && grep -q "^usage: cardload identify" "$T/out" || fail "help identify"
cl 0 "" identify --help
cl 0 "" readers --help
cl 0 "" load --help
cl 2 "usage: cardload [OPTIONS]"
cl 2 "unknown option '--bogus'" --bogus x.cpk
cl 2 "no bundle given" load
cl 2 "no bundle given" -v
cl 2 "one bundle at a time" a.cpk b.cpk
cl 2 "option '--trust' needs a value" x.cpk --trust
cl 2 "--timeout wants seconds" --timeout 0 x.cpk
cl 2 "--timeout wants seconds" --timeout 3601 x.cpk
cl 2 "only https:// URLs" http://example.org/x.cpk
cl 2 "only https:// URLs" ftp://example.org/x.cpk
cl 2 "only https:// URLs" HTTP://example.org/x.cpk
# The scheme's case does not matter (RFC 3986): HTTPS:// is fetched, here
# from a closed port on this machine, so the download fails (exit 1), not
# the command line.
cp "$SRCROOT/keys/test-signing.pub" "$T/trust.pub" && chmod 644 "$T/trust.pub" ||
    fail "copy of the test key"
cl 1 "downloading 'HTTPS://127.0.0.1:1/x.cpk': could not connect" \
    --log "$T/https.log" --trust "$T/trust.pub" HTTPS://127.0.0.1:1/x.cpk
cl 1 "downloading 'hTtPs://127.0.0.1:1/x.cpk'" \
    --log "$T/https.log" --trust "$T/trust.pub" hTtPs://127.0.0.1:1/x.cpk
# libcurl is loaded only for an https:// URL: one that cannot be loaded
# (here a file that is no library, first on the library path) fails that
# download with a message saying so, and a local bundle never needs it.
mkdir -p "$T/nocurl" && : >"$T/nocurl/libcurl.so.4" || fail "mkdir"
expect 1 "https:// needs libcurl, which cannot be loaded ($T/nocurl/libcurl.so.4: file too short): install it (Debian: libcurl4)" \
    env LD_LIBRARY_PATH="$T/nocurl" "$CARDLOAD" --log "$T/https.log" --trust "$T/trust.pub" https://127.0.0.1:1/x.cpk
cl 2 "option '--json' takes no value" --json=1 x.cpk
cl 2 "--sd wants an AID" identify --sd A0000001
cl 2 "--sd wants an AID" identify --sd XYZ
cl 2 "--kvn wants a key version" identify --kvn 80
cl 2 "--scp-i wants two hex digits" identify --scp-i 5
cl 2 "unexpected argument 'x'" identify x
cl 2 "unexpected argument 'x'" readers x
cl 2 "unknown command 'nosuch'" help nosuch
cl 0 "" session --help && grep -q "^usage: cardload session" "$T/out" || fail "session --help"
cl 2 "--client-key and --holder-pin-file go with --server URL" --holder-pin-file p b.cpk
cl 2 "--holder-pin-file wants a file name" --holder-pin-file "" --server https://h
cl 2 "-o wants the file the session record is written to" session --bundle b.cpk -- true
cl 2 "-o wants the file the session record is written to" session -o - --bundle b.cpk -- true
cl 2 "--bundle wants the bundle: a file, an https:// URL, or - for standard input" \
    session -o c.yaml -- true
cl 2 "with a COMMAND, --bundle wants the file it writes, not 'https://h/b.cpk'" \
    session -o c.yaml --bundle https://h/b.cpk -- true
cl 2 "with a COMMAND, --bundle wants the file it writes, not '-'" \
    session -o c.yaml --bundle - -- true
cl 2 "'http://h/b.cpk': only https:// URLs are fetched" session -o c.yaml --bundle http://h/b.cpk
cl 2 "--wait wants seconds from 1 to 86400, not '0'" session -o c.yaml --bundle - --wait 0
cl 2 "--wait goes with a bundle to wait for, not with a COMMAND" \
    session -o c.yaml --bundle b.cpk --wait 5 -- true
cl 2 "-o and --bundle name the same file" session -o x --bundle x -- true
cl 2 "--log wants a file name" session -o c.yaml --bundle b.cpk --log "" -- true
touch "$T/there.cpk"
cl 2 "'$T/there.cpk' already exists: a bundle made before this session cannot load in it" \
    session -o c.yaml --bundle "$T/there.cpk"
cl 2 "--kvn wants a key version" session --kvn 80 -o c.yaml --bundle b.cpk -- true
cl 2 "--sd wants an AID" session --sd 01 -o c.yaml --bundle b.cpk -- true
[ ! -e "$XDG_STATE_HOME/cpk/cardload.log" ] || fail "a usage error wrote the run log"

# --- the man page names every option of --help, and the other way round ---
for cmd in load identify session readers; do
	"$CARDLOAD" help $cmd
done | grep -oE -- '--[a-z][a-z-]+' | sort -u >"$T/help-opts"
grep -oE -- '^\.(It|Op) Fl -[a-z][a-z-]+|Fl -[a-z][a-z-]+' "$SRCROOT/man/cardload.1" |
    sed 's/.*Fl -/--/' | sort -u >"$T/man-opts"
checks=$((checks + 1))
missing=$(comm -23 "$T/help-opts" "$T/man-opts")
[ -z "$missing" ] || fail "options in --help but not in cardload(1): $missing"
extra=$(comm -13 "$T/help-opts" "$T/man-opts" | grep -vx -- '--version')
[ -z "$extra" ] || fail "options in cardload(1) but not in --help: $extra"

# --- refused before any reader (nothing here reaches PC/SC) ---
mkdir -p "$T/trusted" "$T/empty" "$XDG_CONFIG_HOME/cpk" || exit 1
cp "$SRCROOT/keys/test-signing.pub" "$T/trusted/" && chmod 644 "$T/trusted/test-signing.pub" &&
    chmod 755 "$T/trusted" || exit 1
head -c 2000 /dev/zero >"$T/zero.cpk"
cl 3 "no trusted signing key in" --trust "$T/empty" "$SRCROOT/tests/golden/install-applet.cpk"
cl 1 "nosuch.pub" --trust "$T/nosuch.pub" "$SRCROOT/tests/golden/install-applet.cpk"
cl 3 "not a valid cpk bundle" --trust "$T/trusted" "$T/zero.cpk"
cl 1 "cannot open bundle" --trust "$T/trusted" "$T/nosuch.cpk"
cl 3 "not a valid cpk bundle" --trust "$T/trusted" --json - <"$T/zero.cpk"
# --log /dev/null or a FIFO: records appended there are lost, so the run log
# is refused (a FIFO at once, without waiting for a reader: timeout fails a
# regression instead of hanging the suite).
cl 3 "the run log could not be written: run log '/dev/null' is a character device, not a regular file" \
    --trust "$T/trusted" --log /dev/null "$T/zero.cpk"
mkfifo "$T/log.fifo" || exit 1
expect 3 "the run log could not be written: run log '$T/log.fifo' is a FIFO, not a regular file" \
    timeout -k 5 20 "$CARDLOAD" --trust "$T/trusted" --log "$T/log.fifo" "$T/zero.cpk"
# Only regular files are read or replaced (security review, issue 10): a
# trusted key that is a FIFO is refused at once instead of waiting for a
# writer, and identify -o refuses a FIFO or a device node before any reader
# is opened (the node is made here, never the machine's /dev/null).
mkfifo "$T/trust.fifo" "$T/id.fifo" && mknod "$T/null" c 1 3 || exit 1
expect 1 "trusted key '$T/trust.fifo' is a FIFO, not a regular file: cpk reads only regular files" \
    timeout -k 5 20 "$CARDLOAD" --trust "$T/trust.fifo" "$SRCROOT/tests/golden/install-applet.cpk"
expect 1 "output '$T/id.fifo' is a FIFO, not a regular file: cpk replaces only regular files" \
    timeout -k 5 20 "$CARDLOAD" identify -o "$T/id.fifo"
cl 1 "output '$T/null' is a character device, not a regular file" identify -o "$T/null"
[ -c "$T/null" ] || fail "identify -o replaced the device node"
# OPENSSL_CONF is never read (cardload(1), NOTES): a configuration whose
# provider cannot load (with config_diagnostics, which makes that fatal)
# changes nothing; were it read, hashing the trusted key would fail (exit 1).
cat >"$T/openssl-bad.cnf" <<'EOF'
config_diagnostics = 1
openssl_conf = openssl_init
[openssl_init]
providers = provider_sect
[provider_sect]
cpk_no_such_provider = no_such_sect
[no_such_sect]
activate = 1
EOF
expect 3 "not a valid cpk bundle" \
    env OPENSSL_CONF="$T/openssl-bad.cnf" "$CARDLOAD" --log "$T/conf.log" --trust "$T/trusted" \
    "$T/zero.cpk"
# A bundle from stdin (the test reads /dev/null): empty, refused.
cl 3 "not a valid cpk bundle" --trust "$T/trusted" -
# The golden bundle is signed by the test key: trusted folder without it.
"$CARDLOAD" --trust "$T/empty" --json "$SRCROOT/tests/golden/install-applet.cpk" \
    >"$T/out" 2>"$T/err" </dev/null
rc=$?
checks=$((checks + 1))
[ "$rc" = 3 ] || fail "untrusted folder: exit $rc"
if command -v python3 >/dev/null 2>&1; then
	checks=$((checks + 1))
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["result"] == "rejected" and d["exit"] == 3, d
assert d["commands"]["sent"] == 0 and d["reader"] is None, d
assert d["log"]["written"] is True, d' "$T/out" || fail "--json document"
	checks=$((checks + 1))
	python3 -c '
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == int(sys.argv[2]), (len(lines), sys.argv[2])
for l in lines:
    d = json.loads(l)
    assert d["sent"] == 0 and d["reader"] is None and d["exit"] in (1, 3), d' \
	    "$XDG_STATE_HOME/cpk/cardload.log" 8 || fail "run log lines"
	[ "$(stat -c %a "$XDG_STATE_HOME/cpk")" = 700 ] || fail "run log folder mode"
fi

finish cardload-cli
