#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The failure matrix of cardload (issue 6, item 2) that cardload.sh does not
# already cover: each case asserts cardload's exit code, its message and the
# simulator's state afterwards (cardload_lib.sh: card_snap, card_untouched,
# card_pre_channel, card_received). tests/e2e/README.md lists every case and
# where it is tested.
#
#   failures.sh TEST   (meson passes CARDSIM, GPCLIENT, E2E_DIR, E2E_WORK,
#                       CARDLOAD, CARDC, CAPGEN, CPK_SOURCE_ROOT)

. "${E2E_DIR:?}/harness.sh"
harness_enter "$@"

TEST=${1:?usage: failures.sh TEST}
E2E_NAME=failures-$TEST
. "$E2E_DIR/cardload_lib.sh"

SELECT_ISD=00A4040008A00000015100000000
PKG2=F043504B42
APP2=F043504B4201

# A bundle refused before anything was sent: exit 3, the message, nothing on the card.
refused_untouched() {
	local name=$1 file=$2 msg=$3
	card_snap "$name"
	cardload_run 3 --json "$file"
	err_has "$msg"
	json_is result rejected
	json_is commands.sent 0
	card_untouched "$name"
}

# Malformed, tampered and unsupported bundles: refused before the card sees a byte.
test_container() {
	harness_start_pcscd
	start_card scp03.yaml
	identify card
	compile "$WORK/p/install-applet.yaml" "$WORK/card.yaml" "$WORK/card.cpk"
	# Every variant is rebuilt from the good bundle's entries (stored, CRCs right),
	# so that only the defect named differs.
	python3 - "$WORK/card.cpk" "$WORK" "$WORK/keys/test-signing.key" <<'EOF' ||
import base64, struct, subprocess, sys, zipfile

src, out, keyfile = sys.argv[1:4]
z = zipfile.ZipFile(src)
names = [i.filename for i in z.infolist()]
assert names == ["manifest.yaml", "manifest.sig", "script.bin"], names
data = {n: z.read(n) for n in names}

def build(path, entries):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as w:
        for name, body in entries:
            zi = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            w.writestr(zi, body)

def variant(name, **change):
    entries = [(n, change.get(n.replace(".", "_"), data[n])) for n in names]
    build(f"{out}/{name}.cpk", entries)
    return f"{out}/{name}.cpk"

# manifest.sig is "Ed" || key id (8) || Ed25519 signature (64): flip a signature byte.
sig = bytearray(data["manifest.sig"]); sig[40] ^= 0x01
variant("sig", manifest_sig=bytes(sig))
# Truncated: half the file, and all but its last byte.
whole = open(src, "rb").read()
open(f"{out}/trunc-half.cpk", "wb").write(whole[: len(whole) // 2])
open(f"{out}/trunc-1.cpk", "wb").write(whole[:-1])
# Extra, missing and duplicate entries.
import warnings
warnings.simplefilter("ignore")
build(f"{out}/extra.cpk", [(n, data[n]) for n in names] + [("evil.sh", b"rm -rf /\n")])
build(f"{out}/missing.cpk", [(n, data[n]) for n in names[:2]])
build(f"{out}/duplicate.cpk", [(n, data[n]) for n in names] + [("script.bin", data["script.bin"])])
# Zip bomb: the central directory claims a huge script.bin (sizes at +20 and +24).
b = bytearray(whole)
eocd = len(b) - 22
assert b[eocd:eocd + 4] == b"PK\x05\x06"
cd = struct.unpack_from("<I", b, eocd + 16)[0]
for _ in range(3):
    assert b[cd:cd + 4] == b"PK\x01\x02"
    nlen, xlen, clen = struct.unpack_from("<HHH", b, cd + 28)
    if bytes(b[cd + 46:cd + 46 + nlen]) == b"script.bin":
        struct.pack_into("<II", b, cd + 20, 0x7FFFFFFF, 0x7FFFFFFF)
    cd += 46 + nlen + xlen + clen
open(f"{out}/bomb.cpk", "wb").write(bytes(b))
# Format 2, properly signed with the (trusted) test signing key (Ed25519 through
# openssl: the seed wrapped as a PKCS#8 key).
lines = open(keyfile).read().splitlines()
blob = base64.b64decode(lines[1])
assert blob[:2] == b"ES" and len(blob) == 42
key_id, seed = blob[2:10], blob[10:]
m = data["manifest.yaml"]
assert m.startswith(b"format: 1\n")
m2 = b"format: 2\n" + m[len(b"format: 1\n"):]
der = bytes.fromhex("302e020100300506032b657004220420") + seed
with open(f"{out}/signing.pem", "w") as f:
    f.write("-----BEGIN PRIVATE KEY-----\n" + base64.b64encode(der).decode() +
            "\n-----END PRIVATE KEY-----\n")

def sign(manifest):
    open(f"{out}/signed.manifest", "wb").write(manifest)
    sig = b"Ed" + key_id + subprocess.run(["openssl", "pkeyutl", "-sign", "-rawin", "-inkey",
        f"{out}/signing.pem", "-in", f"{out}/signed.manifest"], check=True,
        stdout=subprocess.PIPE).stdout
    assert len(sig) == 74
    return sig

variant("format2", manifest_yaml=m2, manifest_sig=sign(m2))
# A signed manifest with an unknown key on its second line: the message
# points at it (manifest.yaml:2:1).
lines = m.split(b"\n")
m5 = b"\n".join([lines[0], b"bogus: 1"] + lines[1:])
variant("manifest-key", manifest_yaml=m5, manifest_sig=sign(m5))
# A validly signed offline bundle with an unsecured command (DELETE of the
# applet's package) slipped in between SELECT and INITIALIZE UPDATE: it
# would reach any card before the card is known to be the bundle's.
import hashlib, re
script = data["script.bin"]
assert script[:5] == b"CPKS\x01"
count = struct.unpack_from(">I", script, 5)[0]
first = 9 + 4 + struct.unpack_from(">I", script, 9)[0]
label = b"DELETE F043504B48454C4C4F"
apdu = bytes.fromhex("80E400000B4F09F043504B48454C4C4F00")
body = bytes([0, len(label)]) + label + bytes([1]) + bytes.fromhex("9000FFFF") + \
    struct.pack(">I", len(apdu)) + apdu
s3 = script[:5] + struct.pack(">I", count + 1) + script[9:first] + \
    struct.pack(">I", len(body)) + body + script[first:]
m3 = re.sub(rb"(?m)^commands: \d+$", b"commands: %d" % (count + 1), m)
m3 = re.sub(rb"(?m)^script-size: \d+$", b"script-size: %d" % len(s3), m3)
m3 = re.sub(rb"(?m)^script-sha256: [0-9A-F]{64}$",
    b"script-sha256: " + hashlib.sha256(s3).hexdigest().upper().encode(), m3)
assert m3.count(b"\n") == m.count(b"\n") and m3 != m
variant("injected", manifest_yaml=m3, manifest_sig=sign(m3), script_bin=s3)

# What a stolen signing key alone would try: validly signed bundles whose
# EXTERNAL AUTHENTICATE accepts any status word, or whose "secured" commands
# are a plain SELECT and VERIFY. None of it may reach the card.
def records(script):
    n = struct.unpack_from(">I", script, 5)[0]
    pos, out = 9, []
    for _ in range(n):
        ln = struct.unpack_from(">I", script, pos)[0]
        out.append(script[pos + 4:pos + 4 + ln])
        pos += 4 + ln
    return out

def record(flags, label, sws, apdu):
    return bytes([flags, len(label)]) + label + bytes([len(sws)]) + \
        b"".join(struct.pack(">HH", v, mk) for v, mk in sws) + struct.pack(">I", len(apdu)) + apdu

def script_of(recs):
    return b"CPKS\x01" + struct.pack(">I", len(recs)) + \
        b"".join(struct.pack(">I", len(r)) + r for r in recs)

def resign(name, recs):
    s4 = script_of(recs)
    m4 = re.sub(rb"(?m)^commands: \d+$", b"commands: %d" % len(recs), m)
    m4 = re.sub(rb"(?m)^script-size: \d+$", b"script-size: %d" % len(s4), m4)
    m4 = re.sub(rb"(?m)^script-sha256: [0-9A-F]{64}$",
        b"script-sha256: " + hashlib.sha256(s4).hexdigest().upper().encode(), m4)
    variant(name, manifest_yaml=m4, manifest_sig=sign(m4), script_bin=s4)

recs = records(script)
ea = recs[2]
assert ea[0] == 5
ll = ea[1]
ea_any = ea[:2 + ll] + bytes([1]) + struct.pack(">HH", 0x0000, 0x0000) + ea[2 + ll + 1 + 4 * ea[2 + ll]:]
resign("ea-any-sw", recs[:2] + [ea_any] + recs[3:])
plain = [record(1, b"SELECT", [(0x9000, 0xFFFF), (0x6A82, 0xFFFF)], bytes.fromhex("00A40400023F00")),
         record(1, b"VERIFY", [(0x9000, 0xFFFF), (0x6D00, 0xFFFF)], bytes.fromhex("002000800431323334"))]
resign("plain-secured", recs[:3] + plain)
EOF
		harness_die "cannot craft the bundles"
	refused_untouched sig "$WORK/sig.cpk" "the bundle's signature is not valid"
	refused_untouched trunc-half "$WORK/trunc-half.cpk" "not a valid cpk bundle"
	err_has "truncated"
	refused_untouched trunc-1 "$WORK/trunc-1.cpk" "not a valid cpk bundle"
	err_has "truncated"
	refused_untouched extra "$WORK/extra.cpk" "unexpected entry 'evil.sh' in the bundle"
	refused_untouched missing "$WORK/missing.cpk" "missing entry 'script.bin'"
	refused_untouched duplicate "$WORK/duplicate.cpk" "duplicate entry 'script.bin'"
	refused_untouched bomb "$WORK/bomb.cpk" "oversized entry 'script.bin': 2147483647 bytes"
	refused_untouched format2 "$WORK/format2.cpk" \
	    "bundle format 2 is not supported (this cpk reads format 1)"
	refused_untouched manifest-key "$WORK/manifest-key.cpk" "manifest.yaml:2:1: "
	refused_untouched injected "$WORK/injected.cpk" \
	    "command 2 (DELETE F043504B48454C4C4F): an offline script's second command is INITIALIZE UPDATE"
	refused_untouched ea-any-sw "$WORK/ea-any-sw.cpk" \
	    "command 3 (EXTERNAL AUTHENTICATE): EXTERNAL AUTHENTICATE must accept 9000 only"
	refused_untouched plain-secured "$WORK/plain-secured.cpk" \
	    "command 4 (SELECT) is secured but its CLA 00 does not mark secure messaging on the basic channel"
	# The bundle they were made from is good: only the defects were refused.
	cardload_run 0 "$WORK/card.cpk"
	harness_stop_cardsim
	print_registry
	registry_has "^APP ${APP}  SELECTABLE"
	check_log_lines
}

# Stale sequence counters. SCP03: every INITIALIZE UPDATE moves the counter, so
# any session after the bundle was made (even identify's probe) makes it stale.
# SCP02: only a successful session moves it; a probe does not.
test_stale() {
	harness_start_pcscd
	# SCP03: bundle for 000002; identify again (IU 000002); stale at 000003.
	start_card scp03.yaml
	identify card
	compile "$WORK/p/install-applet.yaml" "$WORK/card.yaml" "$WORK/a.cpk"
	identify probe
	card_snap scp03
	cardload_run 3 --json "$WORK/a.cpk"
	err_has "sequence counter: the bundle was made for 000002 but the card is at 000003"
	err_has "ask for a new one"
	json_is result mismatch
	json_is iu.field "sequence counter"
	json_is commands.sent 2
	card_pre_channel scp03 "30  AES-128  counter 000003"
	harness_stop_cardsim
	rm -f "$WORK/card.state"
	# SCP02: bundle A for 0000; a probe leaves it valid (counter still 0000);
	# a successful session (EXTERNAL AUTHENTICATE) moves the card to 0001: A is stale.
	sed -e 's/^  scp: 03 .*/  scp: 02/' -e 's/^  i: 70 .*/  i: 55/' \
	    -e 's/^  security-level: .*/  security-level: c-mac+c-dec/' \
	    -e 's/^  file: gp-test-keys-aes.yaml.*/  file: gp-test-keys.yaml/' \
	    "$WORK/p/install-applet.yaml" >"$WORK/p/scp02.yaml"
	start_card scp02.yaml
	identify card02 --kvn 20
	grep -q '^counter: 0000$' "$WORK/card02.yaml" || harness_die "SCP02 counter"
	compile "$WORK/p/scp02.yaml" "$WORK/card02.yaml" "$WORK/a02.cpk"
	identify probe02 --kvn 20
	grep -q '^counter: 0000$' "$WORK/probe02.yaml" || harness_die "the SCP02 probe moved the counter"
	harness_client <<EOF
keys 3des 20 $K $K $K
send $SELECT_ISD
open scp02 55 01
expect-counter 0000
ssend 80CA00C100
expect C1020001
EOF
	card_snap scp02
	cardload_run 3 --json "$WORK/a02.cpk"
	err_has "sequence counter: the bundle was made for 0000 but the card is at 0001"
	err_has "ask for a new one"
	json_is result mismatch
	json_is commands.sent 2
	card_pre_channel scp02 "20  3DES-128  counter 0001"
	# A new bundle for the card as it is now loads.
	identify card02b --kvn 20
	compile "$WORK/p/scp02.yaml" "$WORK/card02b.yaml" "$WORK/b02.cpk"
	cardload_run 0 "$WORK/b02.cpk"
	harness_stop_cardsim
	print_registry
	registry_has "^APP ${APP}  SELECTABLE"
	check_log_lines
}

# Two packages: A (hello, 2 LOAD blocks) installed, then B (9 LOAD blocks):
#   1 SELECT  2 IU  3 EA  4 INSTALL [for load] A  5-6 LOAD  7 INSTALL A
#   8 INSTALL [for load] B  9-17 LOAD 1/9..9/9  18 INSTALL [...] B
# Each fault stops the run at its command; A stays installed, B is absent.
two_bundle() {
	rm -f "$WORK/card.state"
	"$CAPGEN" -o "$WORK/p/b.cap" --package $PKG2 --applet $APP2 --size 2000 >/dev/null ||
		harness_die capgen
	cat "$WORK/p/install-applet.yaml" - >"$WORK/p/two.yaml" <<EOF
  - load:
      cap: b.cap
  - install:
      applet: $APP2
EOF
	start_card scp03.yaml
	identify "$1"
	harness_stop_cardsim
	compile "$WORK/p/two.yaml" "$WORK/$1.yaml" "$WORK/$1.cpk"
}

# The card as the first package left it: A loaded and installed, nothing of B.
a_only() {
	registry_has "^LOADFILE ${PKG} "
	registry_has "^APP ${APP}  SELECTABLE"
	registry_lacks "^LOADFILE ${PKG2}"
	registry_lacks "^APP ${APP2}"
}

test_stream() {
	harness_start_pcscd
	# 6A84 (no memory) at LOAD 4/9 of B (command 12).
	two_bundle card
	harness_start_cardsim --state "$WORK/card.state" -v --sw-at 12:6A84
	harness_wait_card
	card_snap sw
	cardload_run 4 --json "$WORK/card.cpk"
	err_has "the card refused command 12 of 18 (LOAD 4/9) with 6A84: not enough memory space on the card"
	err_has "11 command(s) had been accepted: the card may be partly provisioned"
	json_is result refused
	json_is failed.index 12
	json_is failed.sw 6A84
	json_is commands.accepted 11
	card_received sw 12
	card_print_now
	a_only
	harness_stop_cardsim
	# INSTALL of B refused (6A80 at command 18): B loaded, its applet absent.
	two_bundle card2
	harness_start_cardsim --state "$WORK/card.state" -v --sw-at 18:6A80
	harness_wait_card
	card_snap install
	cardload_run 4 --json "$WORK/card2.cpk"
	err_has "the card refused command 18 of 18 (INSTALL [for install and make selectable] $APP2) with 6A80"
	json_is failed.index 18
	json_is failed.sw 6A80
	json_is commands.accepted 17
	card_received install 18
	card_print_now
	registry_has "^APP ${APP}  SELECTABLE"
	registry_has "^LOADFILE ${PKG2} .* modules ${APP2}"
	registry_lacks "^APP ${APP2}"
	harness_stop_cardsim
	# The card removed when LOAD block 4 (P2) of B arrives (command 13, LOAD 5/9).
	two_bundle card3
	harness_start_cardsim --state "$WORK/card.state" -v --vanish-in-load 4
	harness_wait_card
	card_snap vanish
	cardload_run 5 --json "$WORK/card3.cpk"
	err_has "lost the card during command 13 of 18 (LOAD 5/9)"
	err_has "The card may be partly provisioned"
	json_is result transport
	json_is failed.index 13
	json_is commands.accepted 12
	card_received vanish 13
	harness_wait_cardsim_exit 0
	card_print_now
	a_only
	check_log_lines
}

# Start cardload -v on a large bundle in the background; return once the
# card (started with start_frozen_card) has received command FREEZE_AT, a
# LOAD, and stopped answering: the run is mid-stream.
start_midstream() {
	cardload_bg -v --json "$1"
	wait_frozen
}

# Wait for the background cardload; check its exit status.
finish_midstream() {
	cardload_wait "$1"
}

# The card was stopped mid-LOAD: nothing registered, and it received what
# cardload sent, the command in flight (FREEZE_AT) included.
midstream_card() {
	local got sent
	got=$(( $(card_commands) - $(cat "$WORK/snap-$1.n") ))
	sent=$(json_get commands.sent)
	[ "$sent" = "$FREEZE_AT" ] || harness_die "$1: cardload sent $sent, expected $FREEZE_AT"
	[ "$got" = "$sent" ] || harness_die "$1: the card received $got commands, cardload sent $sent"
	card_print_now
	cat "$WORK/registry.txt" >&2
	registry_lacks "^LOADFILE"
	registry_lacks "^APP"
}

# The environment fails: no pcscd, the card or reader gone, the run log not writable.
test_env() {
	"$CAPGEN" -o "$WORK/p/hello.cap" --package $PKG --applet $APP --size 48000 >/dev/null ||
		harness_die capgen
	harness_start_pcscd
	start_card scp03.yaml
	identify card
	compile "$WORK/p/install-applet.yaml" "$WORK/card.yaml" "$WORK/card.cpk"

	# pcscd not running (the card is still there, waiting for a reader): 5.
	card_snap nopcscd
	harness_stop_pid "$PCSCD_PID"
	PCSCD_PID=
	cardload_run 5 --json "$WORK/card.cpk"
	err_has "the smart-card service (pcscd) is not running"
	json_is result reader
	json_is commands.sent 0
	harness_start_pcscd
	harness_wait_card
	card_untouched nopcscd

	# The card (cardsim) killed before the channel opens: no card, 5, nothing changed.
	card_snap before
	kill -KILL "$CARDSIM_PID"
	wait "$CARDSIM_PID" 2>/dev/null
	harness_untrack "$CARDSIM_PID"
	CARDSIM_PID=
	harness_wait_empty
	cardload_run 5 --json "$WORK/card.cpk"
	err_has "no card in any reader"
	json_is result reader
	card_untouched before

	# The card killed mid-LOAD (frozen at command 10, LOAD 5): 5, partly
	# provisioned, nothing registered.
	start_frozen_card 10
	card_snap killed
	start_midstream "$WORK/card.cpk"
	kill -KILL "$CARDSIM_PID"
	wait "$CARDSIM_PID" 2>/dev/null
	harness_untrack "$CARDSIM_PID"
	CARDSIM_PID=
	finish_midstream 5
	err_has "lost the card during command"
	err_has "The card may be partly provisioned"
	json_is result transport
	midstream_card killed
	harness_wait_empty

	# The reader gone mid-LOAD (pcscd killed): 5, nothing registered.
	harness_start_cardsim --state "$WORK/card.state" -v
	harness_wait_card
	identify card-r
	harness_stop_cardsim
	compile "$WORK/p/install-applet.yaml" "$WORK/card-r.yaml" "$WORK/card-r.cpk"
	start_frozen_card 10
	card_snap reader
	start_midstream "$WORK/card-r.cpk"
	kill -KILL "$PCSCD_PID"
	wait "$PCSCD_PID" 2>/dev/null
	harness_untrack "$PCSCD_PID"
	PCSCD_PID=
	finish_midstream 5
	err_has "lost the card during command"
	err_has "The card may be partly provisioned"
	json_is result transport
	harness_stop_cardsim
	midstream_card reader
	rm -f /run/pcscd/pcscd.comm

	# The run log's folder is not writable (read-only): its "started" record
	# cannot be written, so nothing is sent to the card; exit 1, a clear message.
	harness_start_pcscd
	harness_start_cardsim --state "$WORK/card.state" -v
	harness_wait_card
	identify card2
	compile "$WORK/p/install-applet.yaml" "$WORK/card2.yaml" "$WORK/card2.cpk"
	mount --bind "$XDG_STATE_HOME/cpk" "$XDG_STATE_HOME/cpk" &&
	    mount -o remount,bind,ro "$XDG_STATE_HOME/cpk" || harness_die "cannot make the log folder read-only"
	card_snap rolog
	NO_LOG_CHECK=1 cardload_run 1 --json "$WORK/card2.cpk"
	err_has "the run log could not be written (cannot open the run log"
	err_has "nothing was sent to a card"
	err_has "give another run log with --log"
	json_is result error
	json_is commands.sent 0
	json_is log.written False
	card_untouched rolog
	umount "$XDG_STATE_HOME/cpk"
}

case $TEST in
container) test_container ;;
stale) test_stale ;;
stream) test_stream ;;
env) test_env ;;
*) harness_die "unknown test '$TEST'" ;;
esac
echo "harness: failures test $TEST passed" >&2
