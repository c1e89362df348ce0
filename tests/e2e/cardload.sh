#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# End-to-end tests of cardload (issue 5): identify -> cardc compile ->
# cardload through the real pcscd + vpcd + cardsim, each test in its own
# namespaces with its own pcscd (see harness.sh).
#
#   cardload.sh TEST   (meson passes CARDSIM, GPCLIENT, E2E_DIR, E2E_WORK,
#                       CARDLOAD, CARDC, CAPGEN, CPK_SOURCE_ROOT)
#
# Every cardload run here writes its run log to $WORK/state/cpk/cardload.log
# (XDG_STATE_HOME) and trusts $WORK/config/cpk/trusted/ (XDG_CONFIG_HOME):
# each test checks the log holds one valid JSON line per run.

. "${E2E_DIR:?}/harness.sh"
harness_enter "$@"

TEST=${1:?usage: cardload.sh TEST}
E2E_NAME=cardload-$TEST
. "$E2E_DIR/cardload_lib.sh"

# --- tests ---

# --- receipts (cpk-receipt(5)) and cardc receipt verify ---

# receipt_verify EXPECTED-EXIT RECEIPT BUNDLE [KEYS]: cardc receipt verify --json;
# the document in $WORK/rv.json, the message in $WORK/rv.err.
receipt_verify() {
	local want=$1 rc
	"$CARDC" receipt verify "$2" --bundle "$3" -k "${4:-$WORK/keys}" \
	    --trust "$SRC/keys/test-signing.pub" --json >"$WORK/rv.json" 2>"$WORK/rv.err"
	rc=$?
	{ cat "$WORK/rv.json"; cat "$WORK/rv.err"; } >&2
	[ "$rc" = "$want" ] || harness_die "cardc receipt verify $2: exit $rc, expected $want"
}

rv_is() {
	local got
	got=$(python3 -c '
import json, sys
v = json.load(open(sys.argv[1]))[sys.argv[2]]
print("null" if v is None else v)' "$WORK/rv.json" "$1") || harness_die "receipt verify --json"
	[ "$got" = "$2" ] || harness_die "receipt verify: $1 is '$got', expected '$2'"
}

rv_says() {
	grep -qF -- "$1" "$WORK/rv.json" || harness_die "receipt verify does not say '$1'"
}

# The receipt file and the run log's last record hold the same receipt.
receipt_in_log() {
	tail -n 1 "$LOG" | python3 -c '
import hashlib, json, sys
rec = json.loads(sys.stdin.read())
data = open(sys.argv[1], "rb").read()
assert rec["receipt"] == json.loads(data), "the run log holds another receipt"
assert rec["receipt-file"] == sys.argv[1], rec["receipt-file"]
assert rec["receipt-sha256"] == hashlib.sha256(data).hexdigest().upper()
assert rec["receipt-omitted"] is None' "$1" || harness_die "the run log's receipt"
}

# check_receipt RECEIPT BUNDLE: a genuine load's receipt verifies; each
# one-byte edit is caught.
check_receipt() {
	local r=$1 b=$2
	receipt_in_log "$r"
	receipt_verify 0 "$r" "$b"
	rv_is verdict loaded
	rv_is r-mac True
	rv_says "loaded: all"
	# One byte of the bundle hash: refused.
	edit_receipt "$r" "$WORK/edit-sha.json" '(r["bundle"]["sha256"], 10)'
	receipt_verify 3 "$WORK/edit-sha.json" "$b"
	rv_is verdict refused
	rv_says "not for this one"
	# One byte of the last answer (its R-MAC): not authentic.
	edit_receipt "$r" "$WORK/edit-data.json" \
	    '("\"index\":%d,\"label\":\"%s\",\"sw\":\"9000\",\"data\":\"%s\"" % (r["commands"][-1]["index"], r["commands"][-1]["label"], r["commands"][-1]["data"]), -3)'
	receipt_verify 5 "$WORK/edit-data.json" "$b"
	rv_is verdict not-authentic
	rv_is index "$(bundle_commands "$b")"
	rv_says "R-MAC mismatch"
	# One byte of a label: refused.
	edit_receipt "$r" "$WORK/edit-label.json" '("\"label\":\"EXTERNAL AUTHENTICATE\"", 10)'
	receipt_verify 3 "$WORK/edit-label.json" "$b"
	rv_says "in the receipt but 'EXTERNAL AUTHENTICATE' in the bundle"
	# Not a receipt at all.
	head -c 100 "$r" >"$WORK/cut.json"
	receipt_verify 3 "$WORK/cut.json" "$b"
	rv_says "refused: receipt: line"
}

# SCP03 with R-MAC (the example profile's default level): load with
# --receipt, verify it; the card that fakes 9000 at the last INSTALL is caught.
test_receipt_scp03() {
	local n
	harness_start_pcscd
	grep -q '^  security-level: c-mac+c-dec+r-mac$' "$WORK/p/install-applet.yaml" ||
		harness_die "the example profile does not ask for R-MAC"
	start_card scp03.yaml
	identify card
	compile "$WORK/p/install-applet.yaml" "$WORK/card.yaml" "$WORK/card.cpk"
	cardload_run 0 --json --receipt "$WORK/receipt.json" "$WORK/card.cpk"
	err_has "receipt written to $WORK/receipt.json"
	json_is receipt.written True
	check_receipt "$WORK/receipt.json" "$WORK/card.cpk"
	python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
c = r["card"]
assert r["stop"] == {"reason": "done", "index": None, "sw": None}, r["stop"]
assert c["seen-by"] == "initialize-update" and c["kdd"] == "0102030405060708090A"
assert c["kvn"] == "30" and c["scp"] == "03" and c["counter"] == "000002", c
assert len(c["card-challenge"]) == 16 and len(c["card-cryptogram"]) == 16
assert all(len(x["data"]) >= 16 for x in r["commands"][3:]), "an answer without R-MAC"
' "$WORK/receipt.json" || harness_die "receipt contents"
	# The same bundle again: its counter has moved on; the receipt says where it stopped.
	cardload_run 3 --receipt "$WORK/stale.json" "$WORK/card.cpk"
	receipt_verify 4 "$WORK/stale.json" "$WORK/card.cpk"
	rv_is verdict failed
	rv_is index 2
	rv_says "its counter moved on"
	# Only a regular file is replaced: a device or a folder is refused (the
	# run's own exit status stays, the run log still has the receipt).
	cardload_run 3 --receipt /dev/null "$WORK/card.cpk"
	err_has "the receipt could not be written to '/dev/null'"
	log_is receipt-file null
	[ "$(log_get receipt-sha256)" != null ] || harness_die "no receipt in the run log"
	mkdir -p "$WORK/rdir"
	cardload_run 3 --receipt "$WORK/rdir" "$WORK/card.cpk"
	err_has "the receipt could not be written to '$WORK/rdir'"
	[ -d "$WORK/rdir" ] || harness_die "the folder was replaced"
	harness_stop_cardsim

	# The card gone after command 4: failed at 5, nothing after it answered.
	rm -f "$WORK/card.state"
	fresh_bundle gone
	harness_start_cardsim --state "$WORK/card.state" -v --drop-after 4
	harness_wait_card
	cardload_run 5 --receipt "$WORK/gone.json" "$WORK/gone.cpk"
	receipt_verify 4 "$WORK/gone.json" "$WORK/gone.cpk"
	rv_is verdict failed
	rv_is index 5
	rv_is answers 4
	rv_says "the card was lost before it answered"
	harness_wait_cardsim_exit 0

	# A card that answers 9000 to the last INSTALL without doing it (a fresh card).
	rm -f "$WORK/card.state"
	fresh_bundle lie
	n=$(bundle_commands "$WORK/lie.cpk")
	harness_start_cardsim --state "$WORK/card.state" -v --sw-at "$n:9000"
	harness_wait_card
	cardload_run 0 --receipt "$WORK/lie.json" "$WORK/lie.cpk"
	err_has "done: all"
	receipt_verify 5 "$WORK/lie.json" "$WORK/lie.cpk"
	rv_is verdict not-authentic
	rv_is index "$n"
	rv_is sw 9000
	rv_says "too short to carry its R-MAC"
	harness_stop_cardsim
	# cardload said done, yet the applet is not there: only the receipt tells.
	print_registry
	registry_has "^LOADFILE ${PKG} "
	registry_lacks "^APP ${APP}"

	# A refused LOAD block: failed there, with its status word.
	rm -f "$WORK/card.state"
	fresh_bundle refused
	harness_start_cardsim --state "$WORK/card.state" -v --sw-at 5:6A84
	harness_wait_card
	cardload_run 4 --receipt "$WORK/refused.json" "$WORK/refused.cpk"
	receipt_verify 4 "$WORK/refused.json" "$WORK/refused.cpk"
	rv_is verdict failed
	rv_is index 5
	rv_is sw 6A84
	harness_stop_cardsim

	# Without R-MAC: loaded by status words only.
	sed -e 's/^  security-level: .*/  security-level: c-mac+c-dec/' \
	    "$WORK/p/install-applet.yaml" >"$WORK/p/normac.yaml"
	rm -f "$WORK/card.state"
	start_card scp03.yaml
	identify normac
	compile "$WORK/p/normac.yaml" "$WORK/normac.yaml" "$WORK/normac.cpk"
	cardload_run 0 --receipt "$WORK/normac.json" "$WORK/normac.cpk"
	receipt_verify 6 "$WORK/normac.json" "$WORK/normac.cpk"
	rv_is verdict unverified
	rv_says "not verifiable without R-MAC"
	# A receipt checked against another bundle.
	receipt_verify 3 "$WORK/normac.json" "$WORK/card.cpk"
	harness_stop_cardsim
	check_log_lines
}

# SCP02 with R-MAC (i=75, as in the rotate-keys example): loaded; the faked 9000 caught.
test_receipt_scp02() {
	local n
	sed -e 's/^  i: 55$/  i: 75/' "$CARDS/scp02.yaml" >"$WORK/i75.yaml"
	sed -e 's/^  scp: 03 .*/  scp: 02/' -e 's/^  i: 70 .*/  i: 75/' \
	    -e 's/^  security-level: .*/  security-level: c-mac+r-mac/' \
	    -e 's/^  file: gp-test-keys-aes.yaml.*/  file: gp-test-keys.yaml/' \
	    "$WORK/p/install-applet.yaml" >"$WORK/p/scp02.yaml"
	harness_start_pcscd
	start_card "$WORK/i75.yaml"
	identify card --kvn 20
	grep -q '^i: 75$' "$WORK/card.yaml" || harness_die "i=75"
	compile "$WORK/p/scp02.yaml" "$WORK/card.yaml" "$WORK/card.cpk"
	cardload_run 0 --receipt "$WORK/receipt.json" "$WORK/card.cpk"
	check_receipt "$WORK/receipt.json" "$WORK/card.cpk"
	harness_stop_cardsim
	rm -f "$WORK/card.state"
	start_card "$WORK/i75.yaml"
	identify lie --kvn 20
	harness_stop_cardsim
	compile "$WORK/p/scp02.yaml" "$WORK/lie.yaml" "$WORK/lie.cpk"
	n=$(bundle_commands "$WORK/lie.cpk")
	# This card lies well: its faked 9000 carries 8 bytes where the R-MAC goes.
	harness_start_cardsim --state "$WORK/card.state" -v --sw-at "$n:9000" --fake-rmac
	harness_wait_card
	cardload_run 0 --receipt "$WORK/lie.json" "$WORK/lie.cpk"
	err_has "done: all"
	python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["commands"][-1]["data"] == "5AA55AA55AA55AA5", r["commands"][-1]' "$WORK/lie.json" ||
		harness_die "the faked answer has no fake R-MAC"
	receipt_verify 5 "$WORK/lie.json" "$WORK/lie.cpk"
	rv_is verdict not-authentic
	rv_is index "$n"
	rv_says "R-MAC mismatch"
	harness_stop_cardsim
	check_log_lines
}

# The generate-key example (R-MAC and R-ENC): inspect names the capture; the
# public key the card answered comes out of the receipt (text and --json);
# an edited answer is not authentic and nothing is captured.
test_receipt_capture() {
	local n want
	cp "$SRC/profiles/generate-key.yaml" "$WORK/p/" || harness_die "profile"
	harness_start_pcscd
	start_card scp03.yaml
	identify card
	compile "$WORK/p/generate-key.yaml" "$WORK/card.yaml" "$WORK/card.cpk"
	n=$(bundle_commands "$WORK/card.cpk")
	"$CARDC" inspect "$WORK/card.cpk" >"$WORK/inspect.txt" || harness_die "cardc inspect"
	grep -qx "  pubkey          command $n (GENERATE KEY PAIR)" "$WORK/inspect.txt" ||
		harness_die "inspect does not list the capture"
	cardload_run 0 --receipt "$WORK/receipt.json" "$WORK/card.cpk"
	harness_stop_cardsim
	# tests/cardsim/README.md: 04 || SHA-256(KDD || AID || "x") || SHA-256(KDD || AID || "y").
	want=$(python3 -c '
import hashlib
k = bytes.fromhex("0102030405060708090A") + bytes.fromhex("F043504B48454C4C4F01")
print(("04" + hashlib.sha256(k + b"x").hexdigest() + hashlib.sha256(k + b"y").hexdigest()).upper())')
	receipt_verify 0 "$WORK/receipt.json" "$WORK/card.cpk"
	rv_is verdict loaded
	python3 -c '
import json, sys
v = json.load(open(sys.argv[1]))["captured"]
assert v == {"pubkey": sys.argv[2]}, v' "$WORK/rv.json" "$want" ||
		harness_die "receipt verify --json: captured"
	"$CARDC" receipt verify "$WORK/receipt.json" --bundle "$WORK/card.cpk" -k "$WORK/keys" \
	    >"$WORK/rv.txt" || harness_die "cardc receipt verify"
	grep -qx "captured pubkey (command $n): $want" "$WORK/rv.txt" ||
		harness_die "receipt verify does not print the captured key"
	# The key's first byte edited in the receipt: not authentic, nothing captured.
	edit_receipt "$WORK/receipt.json" "$WORK/edit.json" \
	    '("\"data\":\"" + r["commands"][-1]["data"][:8], 9)'
	receipt_verify 5 "$WORK/edit.json" "$WORK/card.cpk"
	rv_is verdict not-authentic
	rv_is index "$n"
	python3 -c '
import json, sys
v = json.load(open(sys.argv[1]))["captured"]
assert v == {"pubkey": None}, v' "$WORK/rv.json" || harness_die "an edited key was captured"
	check_log_lines
}

# A session bundle (SCP03 i=60, R-MAC): cardload session --receipt; the
# receipt's card is what the identification saw (CIN, INITIALIZE UPDATE).
test_receipt_session() {
	printf 'cardsim: 1\ncard:\n  isd: A000000151000000\n  kdd: 1112131415161718191A\n  cin: 0A0B0C0D\n  scp: 3\n  i: 60\nkey-sets:\n  - kvn: 30\n    type: aes\n    enc: %s\n    mac: %s\n    dek: %s\n' \
	    "$K" "$K" "$K" >"$WORK/i60.yaml"
	sed -e 's/^  i: 70 .*/  i: 60/' "$WORK/p/install-applet.yaml" >"$WORK/p/session.yaml"
	harness_start_pcscd
	start_card "$WORK/i60.yaml"
	cardload_run 0 session --receipt "$WORK/receipt.json" -o "$WORK/card.yaml" \
	    --bundle "$WORK/card.cpk" -- \
	    "$CARDC" compile -p "$WORK/p/session.yaml" -c "$WORK/card.yaml" -k "$WORK/keys" \
	    -s "$WORK/keys/test-signing.key" -o "$WORK/card.cpk"
	python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
c = r["card"]
assert r["bundle"]["mode"] == "session"
assert c["seen-by"] == "identify" and c["cin"] == "0A0B0C0D", c
assert c["kdd"] == "1112131415161718191A" and c["counter"] is None, c
assert len(c["iu-response"]) == 58 and len(c["host-challenge"]) == 16
' "$WORK/receipt.json" || harness_die "session receipt contents"
	check_receipt "$WORK/receipt.json" "$WORK/card.cpk"
	# The identification's INITIALIZE UPDATE answer edited: refused.
	edit_receipt "$WORK/receipt.json" "$WORK/edit-iu.json" \
	    '("\"iu-response\":\"%s\"" % r["card"]["iu-response"], 40)'
	receipt_verify 3 "$WORK/edit-iu.json" "$WORK/card.cpk"
	# The session is over: the same bundle in another process is refused
	# before anything is sent; its receipt says failed, nothing sent.
	cardload_run 3 --receipt "$WORK/again.json" "$WORK/card.cpk"
	receipt_verify 4 "$WORK/again.json" "$WORK/card.cpk"
	rv_is verdict failed
	rv_is index null
	rv_says "nothing was sent to the card"
	harness_stop_cardsim
	check_log_lines
}

# identify -> compile -> load; GET STATUS through PC/SC; the same bundle
# again is stale; the run log holds both runs.
test_load() {
	local sha
	harness_start_pcscd
	start_card scp03.yaml
	identify card
	grep -q '^sd-aid: A000000151000000$' "$WORK/card.yaml" || harness_die "sd-aid"
	grep -q '^scp: 03$' "$WORK/card.yaml" && grep -q '^i: 70$' "$WORK/card.yaml" &&
	    grep -q '^kvn: 30$' "$WORK/card.yaml" || harness_die "scp/i/kvn"
	grep -q '^kdd: 0102030405060708090A$' "$WORK/card.yaml" || harness_die "kdd"
	# The probe used counter 1: the next session is 2.
	grep -q '^counter: 000002$' "$WORK/card.yaml" || harness_die "next counter"
	grep -q '^cplc: 4790516747911210471100' "$WORK/card.yaml" || harness_die "cplc"
	grep -q '^iin: 0001020304$' "$WORK/card.yaml" && grep -q '^cin: 0102030405060708$' \
	    "$WORK/card.yaml" || harness_die "iin/cin"
	# The CPLC's IC serial number is zero here: the serial comes from the CIN.
	grep -q '^serial: 0102030405060708$' "$WORK/card.yaml" || harness_die "serial"
	! grep -q '^iu-response' "$WORK/card.yaml" || harness_die "iu-response without --session"
	compile "$WORK/p/install-applet.yaml" "$WORK/card.yaml" "$WORK/card.cpk"
	sha=$(sha256sum "$WORK/card.cpk" | cut -c1-64 | tr a-f A-F)

	cardload_run 0 --json "$WORK/card.cpk"
	err_has "done: all"
	json_is result ok
	json_is exit 0
	json_is bundle.sha256 "$sha"
	json_is bundle.key-id "$(sed -n 's/^untrusted comment: cpk public key \([0-9a-f]*\).*/\1/p' \
	    "$SRC/keys/test-signing.pub")"
	json_is serial 0102030405060708
	json_is reader "Virtual PCD 00 00"
	json_is commands.sent "$(json_get commands.total)"
	json_is commands.accepted "$(json_get commands.total)"
	json_is failed null
	log_is result ok
	log_is bundle-sha256 "$sha"
	log_is sent "$(json_get commands.total)"

	# GET STATUS through PC/SC, in a new secure channel.
	harness_client <<EOF
keys aes 30 $K $K $K
send 00A4040008A00000015100000000
open scp03 70 03
ssend 80F24002024F0000
expect-contains 4F0A${APP}9F700107
ssend 80F22002024F0000
expect-contains 4F09${PKG}
EOF
	# The same bundle again: the counter moved on. Refused before EXTERNAL AUTHENTICATE.
	local ea
	ea=$(card_commands 8482)
	card_snap stale
	cardload_run 3 --json "$WORK/card.cpk"
	err_has "sequence counter: the bundle was made for 000002 but the card is at 000004"
	err_has "ask for a new one"
	json_is result mismatch
	json_is iu.field "sequence counter"
	json_is commands.sent 2
	[ "$(card_commands 8482)" = "$ea" ] || harness_die "EXTERNAL AUTHENTICATE was sent"
	log_is result mismatch
	log_is iu-field "sequence counter"
	log_is failed-index 2
	card_pre_channel stale "30  AES-128  counter 000004"

	# -v: the APDU trace, cut, with timings.
	cardload_run 3 -v "$WORK/card.cpk"
	grep -Eq '^>> 00A4040008A00000015100000000  \[' "$WORK/err" || harness_die "trace: SELECT"
	grep -Eq '^<< 6F.*9000 \([0-9]+ ms\)$' "$WORK/err" || harness_die "trace: response"
	grep -Eq '^>> 8050300008[0-9A-F]{16}00  \[' "$WORK/err" || harness_die "trace: IU"

	harness_stop_cardsim
	print_registry
	registry_has "^LOADFILE ${PKG} "
	registry_has "^APP ${APP}  SELECTABLE  from ${PKG}"
	check_log_lines
}

# Life cycles through pcscd (issue 14 item 6): profiles/life-cycle.yaml takes an
# OP_READY card to SECURED and locks the applet, which then cannot be selected;
# a backward transition stops the bundle with 6985; a locked card is unlocked by
# a bundle whose SELECT accepts 6283; a terminated card answers GET DATA only.
lc_profile() {
	{
		sed -n '1,/^steps:$/p' "$SRC/profiles/life-cycle.yaml"
		cat
	} >"$WORK/p/$1.yaml" || harness_die "profile $1"
}

test_life_cycle() {
	harness_start_pcscd
	sed 's/^  memory: 131072$/&\n  life-cycle: 01/' "$CARDS/scp03.yaml" >"$WORK/op-ready.yaml" ||
	    harness_die "config"
	start_card "$WORK/op-ready.yaml"
	cp "$SRC/profiles/life-cycle.yaml" "$WORK/p/" || harness_die "profile"
	identify card
	compile "$WORK/p/life-cycle.yaml" "$WORK/card.yaml" "$WORK/lc.cpk"
	cardload_run 0 "$WORK/lc.cpk"
	err_has "done: all"
	harness_client <<EOF
send 00A404000A${APP} 6A82
keys aes 30 $K $K $K
send 00A4040008A00000015100000000
open scp03 70 01
ssend 80F28002024F0000
expect-contains 9F70010F
ssend 80F24002024F0000
expect-contains 4F0A${APP}9F700187C503040000
EOF
	harness_stop_cardsim
	print_registry
	registry_has "^ISD A000000151000000  SCP03 i=70  memory [0-9]+/131072 bytes used$"
	registry_has "^APP ${APP}  LOCKED  from ${PKG}"
	registry_lacks "^KEYSET 31 "

	# SECURED -> INITIALIZED is not a GlobalPlatform transition: 6985, exit 4.
	lc_profile back <<EOF
  - set-status: {card: initialized}
EOF
	harness_start_cardsim --state "$WORK/card.state" -v
	harness_wait_card
	identify card
	compile "$WORK/p/back.yaml" "$WORK/card.yaml" "$WORK/back.cpk"
	cardload_run 4 "$WORK/back.cpk"
	err_has "6985"

	# Lock the card, then unlock it: the locked card's SELECT answers 6283.
	lc_profile lock <<EOF
  - set-status: {card: locked}
EOF
	lc_profile unlock <<EOF
  - set-status: {application: ${APP}, state: unlocked}
  - set-status: {card: secured}
EOF
	identify card
	compile "$WORK/p/lock.yaml" "$WORK/card.yaml" "$WORK/lock.cpk"
	cardload_run 0 "$WORK/lock.cpk"
	harness_client <<EOF
send 00A4040008A00000015100000000 6283
EOF
	identify card
	compile "$WORK/p/unlock.yaml" "$WORK/card.yaml" "$WORK/unlock.cpk"
	cardload_run 0 "$WORK/unlock.cpk"
	err_has "done: all"
	harness_client <<EOF
send 00A404000A${APP}
send 00A4040008A00000015100000000
EOF

	# TERMINATED: GET DATA only; a bundle stops at its SELECT (exit 3: nothing secured sent).
	lc_profile end <<EOF
  - set-status: {card: terminated}
EOF
	identify card
	compile "$WORK/p/end.yaml" "$WORK/card.yaml" "$WORK/end.cpk"
	cardload_run 0 "$WORK/end.cpk"
	harness_client <<EOF
send 80CA004500
expect 45080102030405060708
send 00A4040008A00000015100000000 6985
EOF
	cardload_run 3 "$WORK/unlock.cpk"
	err_has "the card refused command 1 of 5 (SELECT security domain) with 6985"
	harness_stop_cardsim
	print_registry
	registry_has "^ISD A000000151000000  .*  TERMINATED$"
}

# Mandated DAP through pcscd (issue 14 item 4): a card holding the ISD's DAP
# public key installs profiles/dap.yaml; a bundle without a DAP block and one
# signed with another key are refused at their last LOAD (6982), nothing loaded.
test_dap() {
	local pub
	harness_start_pcscd
	cp "$SRC/keys/test-dap-rsa.pem" "$WORK/keys/" && chmod 600 "$WORK/keys/test-dap-rsa.pem" ||
	    harness_die "dap key"
	pub=$(openssl pkey -in "$WORK/keys/test-dap-rsa.pem" -pubout -outform DER | od -An -tx1 |
	    tr -d ' \n' | tr a-f A-F)
	[ -n "$pub" ] || harness_die "dap public key"
	sed "s/^  memory: 131072\$/&\n  dap-key: $pub/" "$CARDS/scp03.yaml" >"$WORK/dap-card.yaml" ||
	    harness_die "config"
	start_card "$WORK/dap-card.yaml"
	cp "$SRC/profiles/dap.yaml" "$WORK/p/" || harness_die "profile"
	sed '/^      dap:$/,/^        key:/d' "$WORK/p/dap.yaml" >"$WORK/p/no-dap.yaml"
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$WORK/keys/other.pem" \
	    2>/dev/null && chmod 600 "$WORK/keys/other.pem" || harness_die "other key"
	sed 's/key: test-dap-rsa.pem/key: other.pem/' "$WORK/p/dap.yaml" >"$WORK/p/forged.yaml"

	identify card
	compile "$WORK/p/no-dap.yaml" "$WORK/card.yaml" "$WORK/no-dap.cpk"
	cardload_run 4 "$WORK/no-dap.cpk"
	err_has "(LOAD 2/2) with 6982"
	identify card
	compile "$WORK/p/forged.yaml" "$WORK/card.yaml" "$WORK/forged.cpk"
	cardload_run 4 "$WORK/forged.cpk"
	err_has "(LOAD 3/3) with 6982"
	identify card
	compile "$WORK/p/dap.yaml" "$WORK/card.yaml" "$WORK/dap.cpk"
	cardload_run 0 "$WORK/dap.cpk"
	err_has "done: all"
	harness_stop_cardsim
	grep -q "no DAP block for the ISD" "$WORK"/cardsim.*.log || harness_die "cardsim: no DAP"
	grep -q "DAP signature does not verify" "$WORK"/cardsim.*.log ||
	    harness_die "cardsim: forged DAP"
	print_registry
	registry_has "^LOADFILE ${PKG} "
	registry_has "^APP ${APP}  SELECTABLE  from ${PKG}"
}

# Delegated management through pcscd (issue 14 item 5): a card whose SSD
# A000000151535344 has the Delegated Management privilege installs
# profiles/delegated-install.yaml, every INSTALL with a token the card
# verifies; a bundle whose tokens another key signed (forged) is refused at
# its first token (INSTALL [for load], 6A80) and cardload stops there, nothing
# loaded. The run receipt keeps the card's receipts: cardc receipt verify
# checks them with KEYDIR/dm-receipt.key; with another receipt key the
# receipt is not authentic; without one it cannot be verified. A DELETE
# whose token has one byte altered is refused (6A80); the genuine one is
# answered with a receipt that verifies. So is a registry update, whose
# forged token is refused (6A80).
test_delegated() {
	local del forged
	harness_start_pcscd
	cp "$SRC/keys/test-token-rsa1024.pem" "$WORK/keys/" &&
	    cp "$SRC/keys/test-dm-receipt.key" "$WORK/keys/dm-receipt.key" &&
	    chmod 600 "$WORK/keys/test-token-rsa1024.pem" "$WORK/keys/dm-receipt.key" ||
	    harness_die "delegated-management keys"
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out "$WORK/keys/other.pem" \
	    2>/dev/null && chmod 600 "$WORK/keys/other.pem" || harness_die "other key"
	cp "$SRC/profiles/delegated-install.yaml" "$WORK/p/" || harness_die "profile"
	sed 's/token-key: test-token-rsa1024.pem/token-key: other.pem/' \
	    "$WORK/p/delegated-install.yaml" >"$WORK/p/forged.yaml"
	start_card delegated.yaml

	identify card --sd A000000151535344
	compile "$WORK/p/forged.yaml" "$WORK/card.yaml" "$WORK/forged.cpk"
	cardload_run 4 --receipt "$WORK/forged.json" "$WORK/forged.cpk"
	err_has "(INSTALL [for load] ${PKG}) with 6A80"
	grep -q "INSTALL: the delegated management token does not verify" "$(cardsim_log)" ||
	    harness_die "cardsim: forged token"
	[ "$(card_commands 80E8)" = 0 ] || harness_die "LOAD sent after a refused token"
	receipt_verify 4 "$WORK/forged.json" "$WORK/forged.cpk"
	rv_is verdict failed
	rv_says "with 6A80"

	identify card --sd A000000151535344
	compile "$WORK/p/delegated-install.yaml" "$WORK/card.yaml" "$WORK/dm.cpk"
	cardload_run 0 --receipt "$WORK/dm.json" "$WORK/dm.cpk"
	err_has "done: all"
	receipt_verify 0 "$WORK/dm.json" "$WORK/dm.cpk"
	rv_is verdict loaded
	rv_says "the card's delegated-management receipts with the receipt key"
	# Another receipt key: the card's receipt does not verify (the R-MACs do).
	mkdir -m 700 "$WORK/keys2" && cp "$WORK/keys/gp-test-keys-aes.yaml" "$WORK/keys2/" &&
	    echo 000102030405060708090A0B0C0D0E0F >"$WORK/keys2/dm-receipt.key" &&
	    chmod 600 "$WORK/keys2/"* || harness_die "keys2"
	receipt_verify 5 "$WORK/dm.json" "$WORK/dm.cpk" "$WORK/keys2"
	rv_is verdict not-authentic
	rv_says "does not verify with the receipt key"
	# No receipt key: no verdict.
	rm "$WORK/keys2/dm-receipt.key"
	receipt_verify 1 "$WORK/dm.json" "$WORK/dm.cpk" "$WORK/keys2"
	grep -qF "no receipt key '$WORK/keys2/dm-receipt.key'" "$WORK/rv.err" ||
	    harness_die "receipt verify without the receipt key"
	# INSTALL [for registry update] by the SSD
	# (profiles/delegated-registry-update.yaml): with a token another key
	# signed it is refused (6A80) and the applet's privileges stay; the
	# genuine one gives it Card Reset (04) and a Registry Update Receipt that
	# verifies.
	cp "$SRC/profiles/delegated-registry-update.yaml" "$WORK/p/" || harness_die "profile"
	sed 's/token-key: test-token-rsa1024.pem/token-key: other.pem/' \
	    "$WORK/p/delegated-registry-update.yaml" >"$WORK/p/forged-ru.yaml"
	identify card --sd A000000151535344
	compile "$WORK/p/forged-ru.yaml" "$WORK/card.yaml" "$WORK/forged-ru.cpk"
	cardload_run 4 "$WORK/forged-ru.cpk"
	err_has "(INSTALL [for registry update] ${APP}) with 6A80"
	print_registry
	registry_has "^APP ${APP} .* privileges 00 "
	identify card --sd A000000151535344
	compile "$WORK/p/delegated-registry-update.yaml" "$WORK/card.yaml" "$WORK/ru.cpk"
	cardload_run 0 --receipt "$WORK/ru.json" "$WORK/ru.cpk"
	receipt_verify 0 "$WORK/ru.json" "$WORK/ru.cpk"
	rv_is verdict loaded
	rv_says "the card's delegated-management receipts with the receipt key"
	print_registry
	registry_has "^APP ${APP} .* privileges 04 "
	# A DELETE whose token has one byte altered (sent as an apdu step, as
	# written): refused (6A80), the application stays; the genuine DELETE,
	# compiled from the delete step, is answered with a receipt that verifies.
	sed '/^steps:/,$d' "$WORK/p/delegated-install.yaml" >"$WORK/p/delete.yaml" &&
	    printf 'steps:\n  - delete:\n      aid: %s\n' "$APP" >>"$WORK/p/delete.yaml" ||
	    harness_die "delete profile"
	identify card --sd A000000151535344
	compile "$WORK/p/delete.yaml" "$WORK/card.yaml" "$WORK/delete.cpk"
	"$CARDC" verify "$WORK/delete.cpk" -k "$WORK/keys" >"$WORK/delete.txt" 2>&1 ||
	    harness_die "cardc verify delete.cpk"
	del=$(grep -E "^ +80E40000[0-9A-F]{2}4F0A${APP}9E8180[0-9A-F]{256}$" "$WORK/delete.txt" |
	    tr -d ' ')
	[ -n "$del" ] || harness_die "no DELETE with a token in the bundle"
	forged=$(python3 -c 'import sys
d = bytearray.fromhex(sys.argv[1][10:])
d[-64] ^= 0x01
print(d.hex().upper())' "$del") || harness_die "forge"
	sed '/^steps:/,$d' "$WORK/p/delegated-install.yaml" >"$WORK/p/forged-delete.yaml" &&
	    printf 'steps:\n  - apdu:\n      header: 80E40000\n      data: %s\n' "$forged" \
	    >>"$WORK/p/forged-delete.yaml" || harness_die "forged delete profile"
	compile "$WORK/p/forged-delete.yaml" "$WORK/card.yaml" "$WORK/forged-delete.cpk"
	cardload_run 4 "$WORK/forged-delete.cpk"
	err_has "(APDU 80E40000) with 6A80"
	grep -q "DELETE: the delegated management token does not verify" "$(cardsim_log)" ||
	    harness_die "cardsim: one byte of a DELETE token altered"
	identify card --sd A000000151535344
	compile "$WORK/p/delete.yaml" "$WORK/card.yaml" "$WORK/delete.cpk"
	cardload_run 0 --receipt "$WORK/delete.json" "$WORK/delete.cpk"
	receipt_verify 0 "$WORK/delete.json" "$WORK/delete.cpk"
	rv_is verdict loaded
	rv_says "the card's delegated-management receipts with the receipt key"
	harness_stop_cardsim
	print_registry
	registry_has "^LOADFILE ${PKG} "
	registry_lacks "^APP ${APP} "
	grep -q "^  confirmation-counter: 4$" "$WORK/card.state" || harness_die "four receipts"
}

# DAP by a supplementary security domain (issue 14 item 4 with item 5): the
# SSD of tests/e2e/cards/delegated.yaml with the DAP Verification privilege
# too (E0) and its DAP public key refuses a load file associated with it
# without its DAP block (6982 at the last LOAD, nothing loaded) and installs
# profiles/delegated-dap.yaml, whose load file carries it.
test_dap_ssd() {
	local pub
	harness_start_pcscd
	cp "$SRC/keys/test-token-rsa1024.pem" "$SRC/keys/test-dap-rsa.pem" "$WORK/keys/" &&
	    cp "$SRC/keys/test-dm-receipt.key" "$WORK/keys/dm-receipt.key" &&
	    chmod 600 "$WORK/keys/test-token-rsa1024.pem" "$WORK/keys/test-dap-rsa.pem" \
	    "$WORK/keys/dm-receipt.key" || harness_die "keys"
	pub=$(openssl pkey -in "$WORK/keys/test-dap-rsa.pem" -pubout -outform DER | od -An -tx1 |
	    tr -d ' \n' | tr a-f A-F)
	[ -n "$pub" ] || harness_die "dap public key"
	sed -e 's/^    privileges: A00000$/    privileges: E00000/' \
	    -e "/^    privileges: E00000\$/a\\    dap-key: $pub" "$CARDS/delegated.yaml" \
	    >"$WORK/dap-ssd.yaml" || harness_die "config"
	grep -q "^    dap-key: $pub\$" "$WORK/dap-ssd.yaml" || harness_die "config: no dap-key"
	start_card "$WORK/dap-ssd.yaml"
	cp "$SRC/profiles/delegated-install.yaml" "$SRC/profiles/delegated-dap.yaml" "$WORK/p/" ||
	    harness_die "profiles"

	identify card --sd A000000151535344
	compile "$WORK/p/delegated-install.yaml" "$WORK/card.yaml" "$WORK/no-dap.cpk"
	cardload_run 4 "$WORK/no-dap.cpk"
	err_has "(LOAD 2/2) with 6982"
	grep -q "the load file has no DAP block for security domain A000000151535344" \
	    "$(cardsim_log)" || harness_die "cardsim: no SSD DAP block"
	identify card --sd A000000151535344
	compile "$WORK/p/delegated-dap.yaml" "$WORK/card.yaml" "$WORK/dap.cpk"
	cardload_run 0 --receipt "$WORK/dap.json" "$WORK/dap.cpk"
	err_has "done: all"
	receipt_verify 0 "$WORK/dap.json" "$WORK/dap.cpk"
	rv_is verdict loaded
	harness_stop_cardsim
	print_registry
	registry_has "^LOADFILE ${PKG} "
	registry_has "^APP ${APP}  SELECTABLE  from ${PKG}"
}

# Reader choice: -r (exact or unique part), CPK_READER, errors list the readers.
test_readers() {
	harness_start_pcscd
	start_card scp03.yaml
	harness_run "$CARDLOAD" readers >"$WORK/out" 2>"$WORK/err" || harness_die "readers failed"
	cat "$WORK/out" >&2
	grep -q "^Virtual PCD 00 00	card  ATR 3B80800101$" "$WORK/out" || harness_die "readers: card"
	grep -q "^Virtual PCD 00 01	no card$" "$WORK/out" || harness_die "readers: empty"
	harness_run "$CARDLOAD" readers --json >"$WORK/out" 2>"$WORK/err" ||
		harness_die "readers --json failed"
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["readers"][0] == {"name": "Virtual PCD 00 00", "card": True, "in-use": False,
    "atr": "3B80800101"}, d
assert d["readers"][1]["card"] is False and d["readers"][1]["atr"] is None' "$WORK/out" ||
		harness_die "readers --json"
	identify card
	compile "$WORK/p/install-applet.yaml" "$WORK/card.yaml" "$WORK/card.cpk"
	# The empty reader, by a unique part of its name: no card there.
	cardload_run 5 -r "PCD 00 01" "$WORK/card.cpk"
	err_has "Virtual PCD 00 01"
	log_is result reader
	# A part that matches both readers: ambiguous, both listed.
	cardload_run 5 -r "Virtual" "$WORK/card.cpk"
	err_has "more than one reader matches 'Virtual'"
	err_has "'Virtual PCD 00 00' (card)"
	# CPK_READER names a reader that does not exist.
	CPK_READER=nosuch cardload_run 5 "$WORK/card.cpk"
	err_has "no reader matches 'nosuch'"
	# -r wins over CPK_READER; exact name.
	CPK_READER=nosuch cardload_run 0 -r "Virtual PCD 00 00" "$WORK/card.cpk"
	log_is reader "Virtual PCD 00 00"
	check_log_lines
}

# A bundle made for another card (other KDD): refused at INITIALIZE UPDATE.
test_other_card() {
	harness_start_pcscd
	start_card scp03.yaml
	identify card
	sed 's/^kdd: .*/kdd: 0A0908070605040302FF/' "$WORK/card.yaml" >"$WORK/other.yaml"
	compile "$WORK/p/install-applet.yaml" "$WORK/other.yaml" "$WORK/other.cpk"
	card_snap other
	cardload_run 3 --json "$WORK/other.cpk"
	err_has "key diversification data: the bundle was made for the card with KDD 0A0908070605040302FF, but this card has KDD 0102030405060708090A"
	err_has "another card"
	json_is result mismatch
	json_is iu.field "key diversification data"
	json_is failed.index 2
	json_is failed.label "INITIALIZE UPDATE"
	json_is failed.meaning "accepted, but the answer is not the one the bundle expects (key diversification data)"
	card_pre_channel other "30  AES-128  counter 000002"
	# Key set 31 holds keys diversified from the master (kdf3); a bundle made with
	# the master as if it were the static keys: other keys, refused the same way.
	identify card31 --kvn 31
	grep -q '^kvn: 31$' "$WORK/card31.yaml" || harness_die "identify --kvn 31"
	mkdir -p "$WORK/keys31"
	sed 's/^kvn: "30"/kvn: "31"/' "$WORK/keys/gp-test-keys-aes.yaml" \
	    >"$WORK/keys31/gp-test-keys-aes.yaml" && chmod 600 "$WORK/keys31/gp-test-keys-aes.yaml"
	"$CARDC" compile -p "$WORK/p/install-applet.yaml" -c "$WORK/card31.yaml" -k "$WORK/keys31" \
	    -s "$WORK/keys/test-signing.key" -o "$WORK/keys31.cpk" || harness_die "compile"
	cardload_run 3 --json "$WORK/keys31.cpk"
	err_has "card challenge: the card's challenge is not the one its keys and counter predict"
	json_is iu.field "card challenge"
	[ "$(card_commands 8482)" = 0 ] || harness_die "EXTERNAL AUTHENTICATE was sent"
	[ "$(card_commands 84)" = 0 ] || harness_die "a secured command was sent"
	check_log_lines
}

# Bundles that must be refused before anything reaches the card.
test_rejected() {
	local n
	harness_start_pcscd
	start_card scp03.yaml
	identify card
	compile "$WORK/p/install-applet.yaml" "$WORK/card.yaml" "$WORK/card.cpk"
	card_snap rejected
	# A byte of script.bin changed (the last byte of the archive's data part).
	python3 - "$WORK/card.cpk" "$WORK/script.cpk" "$WORK/manifest.cpk" <<'EOF'
import sys, zipfile
src = open(sys.argv[1], "rb").read()
z = zipfile.ZipFile(sys.argv[1])
for name, out in (("script.bin", sys.argv[2]), ("manifest.yaml", sys.argv[3])):
    info = z.getinfo(name)
    # stored entries: data follows the 30-byte local header, name and extra field
    off = info.header_offset + 30 + len(info.filename) + len(info.extra)
    b = bytearray(src)
    pos = off + info.file_size - 3
    b[pos] ^= 0x01
    open(out, "wb").write(bytes(b))
EOF
	cardload_run 3 "$WORK/script.cpk"
	err_has "not a valid cpk bundle"
	log_is result rejected
	cardload_run 3 "$WORK/manifest.cpk"
	err_has "not a valid cpk bundle"
	# The CRC is checked first; the same change with a fixed CRC is a hash or signature fault.
	python3 - "$WORK/card.cpk" "$WORK/script2.cpk" "$WORK/manifest2.cpk" <<'EOF'
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
for target, out in (("script.bin", sys.argv[2]), ("manifest.yaml", sys.argv[3])):
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as w:
        for info in z.infolist():
            data = bytearray(z.read(info))
            if info.filename == target:
                data[-3] ^= 0x01
            zi = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            zi.external_attr = info.external_attr
            w.writestr(zi, bytes(data))
EOF
	cardload_run 3 --json "$WORK/script2.cpk"
	err_has "the commands in the bundle do not match its signed manifest"
	json_is result rejected
	json_is commands.sent 0
	json_is reader null
	cardload_run 3 "$WORK/manifest2.cpk"
	err_has "the bundle's signature is not valid"
	# Not a bundle at all; too large; empty.
	head -c 3000 /dev/urandom >"$WORK/junk.cpk"
	cardload_run 3 "$WORK/junk.cpk"
	err_has "not a valid cpk bundle"
	head -c $((16 * 1024 * 1024 + 1)) /dev/zero >"$WORK/big.cpk"
	cardload_run 3 "$WORK/big.cpk"
	err_has "larger than 16777216 bytes"
	# From stdin too.
	harness_run "$CARDLOAD" - <"$WORK/script2.cpk" >"$WORK/out" 2>"$WORK/err"
	[ $? = 3 ] || harness_die "stdin: tampered bundle not refused with 3"
	RUNS=$((RUNS + 1))
	# Signed by a key that is not trusted: the key id is named.
	"$CARDC" keygen -o "$WORK/other-signer" >/dev/null 2>&1 || harness_die "keygen"
	"$CARDC" compile -p "$WORK/p/install-applet.yaml" -c "$WORK/card.yaml" -k "$WORK/keys" \
	    -s "$WORK/other-signer.key" -o "$WORK/foreign.cpk" || harness_die "compile"
	cardload_run 3 --json "$WORK/foreign.cpk"
	err_has "signed by the key $(sed -n 's/^untrusted comment: cpk public key \([0-9a-f]*\).*/\1/p' \
	    "$WORK/other-signer.pub"), which is not one of your trusted keys"
	json_is bundle.key-id "$(sed -n 's/^untrusted comment: cpk public key \([0-9a-f]*\).*/\1/p' \
	    "$WORK/other-signer.pub")"
	# None of the refusals above reached the card.
	card_untouched rejected
	# ... and accepted with --trust naming that key (file) or a folder of keys; then
	# it is stale for this card only by the IU comparison, never by the signature.
	cardload_run 0 --trust "$WORK/other-signer.pub" "$WORK/foreign.cpk"
	n=$(card_commands)
	# No trust anchor at all.
	mv "$XDG_CONFIG_HOME/cpk/trusted" "$XDG_CONFIG_HOME/cpk/trusted.off"
	cardload_run 3 --json "$WORK/card.cpk"
	err_has "no trusted signing key"
	json_is result rejected
	mkdir "$XDG_CONFIG_HOME/cpk/empty"
	cardload_run 3 --trust "$XDG_CONFIG_HOME/cpk/empty" "$WORK/card.cpk"
	err_has "no trusted signing key in"
	cardload_run 1 --trust "$WORK/nosuch.pub" "$WORK/card.cpk"
	err_has "nosuch.pub"
	mv "$XDG_CONFIG_HOME/cpk/trusted.off" "$XDG_CONFIG_HOME/cpk/trusted"
	# A missing file.
	cardload_run 1 "$WORK/nosuch.cpk"
	err_has "cannot open bundle"
	[ "$(card_commands)" = "$n" ] || harness_die "a refused bundle reached the card"
	check_log_lines
}

# The run log: --log FILE, folders created 0700, and a log that cannot be
# written (exit 1 and nothing sent when the started record fails, the
# run's own code otherwise).
test_runlog() {
	harness_start_pcscd
	start_card scp03.yaml
	identify card
	compile "$WORK/p/install-applet.yaml" "$WORK/card.yaml" "$WORK/card.cpk"
	NO_LOG_CHECK=1 cardload_run 0 --log "$WORK/logs/a/b/run.log" "$WORK/card.cpk"
	[ "$(stat -c %a "$WORK/logs/a/b")" = 700 ] || harness_die "log folder mode"
	[ "$(stat -c %a "$WORK/logs/a/b/run.log")" = 600 ] || harness_die "log file mode"
	LOG=$WORK/logs/a/b/run.log log_started_ended
	[ "$(wc -l <"$WORK/logs/a/b/run.log")" = 2 ] || harness_die "two records expected"
	# A folder where the log file should be: the bundle was refused before
	# any card was opened (not a bundle) -> 3 stays.
	mkdir -p "$WORK/dir.log"
	head -c 300 "$WORK/card.cpk" >"$WORK/cut.cpk"
	NO_LOG_CHECK=1 cardload_run 3 --json --log "$WORK/dir.log" "$WORK/cut.cpk"
	err_has "not a valid cpk bundle"
	err_has "the run log could not be written"
	json_is log.written False
	# ... and after a good run: 1.
	harness_stop_cardsim
	rm -f "$WORK/card.state"
	start_card scp03.yaml
	identify card2
	compile "$WORK/p/install-applet.yaml" "$WORK/card2.yaml" "$WORK/card2.cpk"
	# ... and before a run that would reach the card: its "started" record
	# cannot be written, so nothing is sent (1).
	card_snap dirlog
	NO_LOG_CHECK=1 cardload_run 1 --json --log "$WORK/dir.log" "$WORK/card2.cpk"
	err_has "the run log could not be written"
	err_has "nothing was sent to a card"
	json_is result error
	card_untouched dirlog
	# A symbolic link is not followed.
	ln -s "$WORK/elsewhere.log" "$WORK/link.log"
	NO_LOG_CHECK=1 cardload_run 1 --log "$WORK/link.log" "$WORK/card2.cpk"
	err_has "nothing was sent to a card"
	[ ! -e "$WORK/elsewhere.log" ] || harness_die "the log followed a symbolic link"
}

# Simulator faults: each gives its documented stop, message and exit code.
test_fault_drop() {
	harness_start_pcscd
	fresh_bundle card
	# SELECT, INITIALIZE UPDATE, EXTERNAL AUTHENTICATE answered; then the card is gone.
	harness_start_cardsim --state "$WORK/card.state" -v --drop-after 3
	harness_wait_card
	card_snap drop
	cardload_run 5 --json "$WORK/card.cpk"
	err_has "lost the card during command 4 of"
	err_has "The card may be partly provisioned"
	json_is result transport
	json_is commands.sent 4
	json_is commands.accepted 3
	json_is failed.index 4
	json_is failed.sw null
	log_is result transport
	harness_wait_cardsim_exit 0
	card_received drop 3
	print_registry
	registry_lacks "^LOADFILE"
	# The advice follows what the card received. Lost before INITIALIZE
	# UPDATE reached it (SELECT answered, then gone): nobody can know whether
	# the command in flight arrived, so the bundle is not called used up...
	fresh_bundle card
	harness_start_cardsim --state "$WORK/card.state" -v --drop-after 1
	harness_wait_card
	card_snap drop-before-iu
	cardload_run 5 --json "$WORK/card.cpk"
	err_has "lost the card during command 2 of"
	err_has "Nothing was installed."
	err_has "The card may or may not have received that command"
	! grep -q "used up now" "$WORK/err" || harness_die "a bundle the card never saw called used up"
	err_has "run cardload again"
	json_is commands.sent 2
	json_is failed.index 2
	harness_wait_cardsim_exit 0
	card_received drop-before-iu 1
	# ... and it was not: the same bundle loads once the card is back.
	harness_start_cardsim --state "$WORK/card.state" -v
	harness_wait_card
	cardload_run 0 "$WORK/card.cpk"
	harness_stop_cardsim
	# Lost after INITIALIZE UPDATE was answered: an SCP03 card's counter has
	# moved on, and the message says so.
	fresh_bundle card
	harness_start_cardsim --state "$WORK/card.state" -v --drop-after 2
	harness_wait_card
	cardload_run 5 --json "$WORK/card.cpk"
	err_has "lost the card during command 3 of"
	err_has "This bundle is used up now (the card's sequence counter has moved on)."
	err_has "ask the bureau for a new bundle"
	harness_wait_cardsim_exit 0
	check_log_lines
}

test_fault_sw() {
	harness_start_pcscd
	fresh_bundle card
	harness_start_cardsim --state "$WORK/card.state" -v --sw-at 5:6A84
	harness_wait_card
	card_snap sw
	cardload_run 4 --json "$WORK/card.cpk"
	err_has "the card refused command 5 of"
	err_has "with 6A84: not enough memory space on the card"
	err_has "4 command(s) had been accepted: the card may be partly provisioned"
	json_is result refused
	json_is failed.index 5
	json_is failed.sw 6A84
	json_is failed.meaning "not enough memory space on the card"
	[ "$(json_get failed.label)" != null ] || harness_die "no label"
	err_has "($(json_get failed.label))"
	json_is commands.accepted 4
	log_is failed-index 5
	log_is failed-sw 6A84
	card_received sw 5
	print_registry
	registry_lacks "^LOADFILE"
	# EXTERNAL AUTHENTICATE refused (the card's keys are not the bundle's): also 4.
	harness_stop_cardsim
	rm -f "$WORK/card.state"
	fresh_bundle card2
	harness_start_cardsim --state "$WORK/card.state" -v --sw-at 3:6300
	harness_wait_card
	cardload_run 4 --json "$WORK/card2.cpk"
	err_has "the card refused EXTERNAL AUTHENTICATE (command 3 of"
	err_has "nothing was installed"
	json_is failed.index 3
	json_is failed.sw 6300
	json_is channel-open False
	check_log_lines
}

test_fault_refuse_iu() {
	harness_start_pcscd
	fresh_bundle card
	harness_start_cardsim --state "$WORK/card.state" -v --refuse-iu
	harness_wait_card
	card_snap refuse
	cardload_run 3 --json "$WORK/card.cpk"
	err_has "the card refused command 2 of"
	err_has "(INITIALIZE UPDATE) with 6985"
	err_has "No secured command was sent; nothing was installed"
	json_is result pre-channel
	json_is failed.sw 6985
	[ "$(card_commands 84)" = 0 ] || harness_die "a secured command was sent"
	card_pre_channel refuse "30  AES-128  counter 000001"
	# identify on such a card: exit 1 with the status word.
	harness_run "$CARDLOAD" identify >"$WORK/out" 2>"$WORK/err" </dev/null
	[ $? = 1 ] || harness_die "identify on a card refusing INITIALIZE UPDATE: not exit 1"
	grep -q "INITIALIZE UPDATE: the card answered 6985" "$WORK/err" || harness_die "identify msg"
	check_log_lines
}

test_fault_vanish_load() {
	harness_start_pcscd
	# A package of several LOAD blocks.
	"$CAPGEN" -o "$WORK/p/hello.cap" --package $PKG --applet $APP --size 2000 >/dev/null ||
		harness_die capgen
	fresh_bundle card
	harness_start_cardsim --state "$WORK/card.state" -v --vanish-in-load 2
	harness_wait_card
	cardload_run 5 --json "$WORK/card.cpk"
	err_has "lost the card during command"
	# cardsim counts LOAD blocks from 0 (P2): block 2 is the third LOAD.
	err_has "(LOAD 3/"
	err_has "the card gave no answer: it was removed or lost power"
	json_is result transport
	case $(json_get failed.label) in "LOAD 3/"*) ;; *) harness_die "label";; esac
	harness_wait_cardsim_exit 0
	print_registry
	registry_lacks "^LOADFILE ${PKG}"
	check_log_lines
}

# No smart-card service: 5 for load, identify and readers.
test_no_pcscd() {
	"$CARDC" compile -p "$WORK/p/install-applet.yaml" -c "$SRC/tests/cli/data/card-scp03.yaml" \
	    -k "$WORK/keys" -s "$WORK/keys/test-signing.key" -o "$WORK/card.cpk" ||
		harness_die "compile"
	cardload_run 5 --json "$WORK/card.cpk"
	err_has "the smart-card service (pcscd) is not running"
	err_has "start the smart-card service"
	json_is result reader
	json_is advice "start the smart-card service (for example 'sudo systemctl start pcscd'), then run cardload again"
	harness_run "$CARDLOAD" identify </dev/null >"$WORK/out" 2>"$WORK/err"
	[ $? = 5 ] || harness_die "identify without pcscd: not 5"
	err_has "start the smart-card service"
	harness_run "$CARDLOAD" readers </dev/null >"$WORK/out" 2>"$WORK/err"
	[ $? = 5 ] || harness_die "readers without pcscd: not 5"
	err_has "start the smart-card service"
	# pcscd without a card.
	harness_start_pcscd
	cardload_run 5 "$WORK/card.cpk"
	err_has "no card in any reader"
	err_has "check that the reader is plugged in and the card inserted"
	harness_run "$CARDLOAD" identify </dev/null >"$WORK/out" 2>"$WORK/err"
	[ $? = 5 ] || harness_die "identify without a card: not 5"
	err_has "no card in any reader"
	check_log_lines
}

# A large bundle (~200 LOAD commands) for the card of the state file, named NAME.
big_bundle() {
	harness_start_cardsim --state "$WORK/card.state" -v
	harness_wait_card
	identify "$1"
	harness_stop_cardsim
	compile "$WORK/p/install-applet.yaml" "$WORK/$1.yaml" "$WORK/$1.cpk"
}

# SIGINT, SIGTERM and SIGHUP mid-load with a card that stopped answering
# (frozen when command 10, a LOAD, arrives): cardload does not wait for it
# forever; it gives the card up, exits 1 and the run log ends with the
# run's "started" and "ended" records. A cardload started with SIGHUP
# ignored (nohup) lets a SIGHUP pass and stops on the SIGTERM after it.
test_interrupt() {
	local run sig nohup
	harness_start_pcscd
	start_card scp03.yaml
	harness_stop_cardsim
	"$CAPGEN" -o "$WORK/p/hello.cap" --package $PKG --applet $APP --size 48000 >/dev/null ||
		harness_die capgen
	for run in INT TERM HUP NOHUP; do
		sig=$run
		big_bundle "card-$run"
		start_frozen_card 10
		card_snap "interrupt-$run"
		nohup=
		if [ "$run" = NOHUP ]; then
			CL_SIGNALS="--default-signal=INT,TERM --ignore-signal=HUP" \
			    cardload_bg -v --json "$WORK/card-$run.cpk"
			nohup=HUP
			sig=TERM
		else
			cardload_bg -v --json "$WORK/card-$run.cpk"
		fi
		wait_frozen
		[ -z "$nohup" ] || kill -HUP "$CL_PID"
		kill -"$sig" "$CL_PID"
		cardload_wait 1
		err_has "interrupted (SIG$sig) during command 10 of"
		err_has "(LOAD 6/"
		err_has "the card did not answer within 2 seconds, so cardload gave up on it; the card may be partly provisioned"
		json_is result interrupted
		json_is exit 1
		json_is commands.sent 10
		json_is commands.accepted 9
		json_is channel-open True
		log_started_ended
		log_is result interrupted
		log_is exit 1
		log_is sent 10
		card_received "interrupt-$run" 10
		harness_stop_cardsim
		print_registry
		registry_lacks "^LOADFILE"
	done
	check_log_lines
}

# kill -9 mid-load: no "ended" record can be written, but the "started" one
# is on disk: the log shows a run that began (with the bundle, the card,
# the reader) and never ended.
test_kill9() {
	harness_start_pcscd
	start_card scp03.yaml
	harness_stop_cardsim
	"$CAPGEN" -o "$WORK/p/hello.cap" --package $PKG --applet $APP --size 48000 >/dev/null ||
		harness_die capgen
	big_bundle card
	start_frozen_card 10
	: >"$LOG"
	cardload_bg -v "$WORK/card.cpk"
	wait_frozen
	kill -KILL "$CL_PID"
	wait "$CL_PID"
	[ $? = 137 ] || harness_die "cardload was not killed"
	harness_untrack "$CL_PID"
	[ "$(wc -l <"$LOG")" = 1 ] || harness_die "the run log should hold the started record alone"
	python3 - "$LOG" "$CL_PID" "$(sha256sum "$WORK/card.cpk" | cut -c1-64 | tr a-f A-F)" <<'PY' ||
import json, sys
d = json.loads(open(sys.argv[1]).read())
assert d["record"] == "started", d
assert d["pid"] == int(sys.argv[2]), d
assert d["bundle-sha256"] == sys.argv[3], d
assert d["reader"] == "Virtual PCD 00 00" and d["serial"] == "0102030405060708", d
assert d["source"].endswith("/card.cpk") and d["commands"] > 10, d
PY
		harness_die "the started record of the killed run"
	harness_stop_cardsim
}

# Disk full while writing the run log (a file size limit, ulimit -f 1 =
# 1024 bytes): a record that does not fit is cut off again, so the log
# never holds a fragment and the next record starts on its own line.
test_log_full() {
	local size
	harness_start_pcscd
	start_card scp03.yaml
	identify card
	compile "$WORK/p/install-applet.yaml" "$WORK/card.yaml" "$WORK/card.cpk"
	# 1000 bytes already there: the started record does not fit; nothing is sent.
	python3 -c 'print("{\"record\":\"ended\",\"pad\":\"" + "x" * 972 + "\"}")' >"$WORK/full.log"
	[ "$(stat -c %s "$WORK/full.log")" = 1000 ] || harness_die "pad"
	cp "$WORK/full.log" "$WORK/full.before"
	card_snap full
	harness_run bash -c 'set -o pipefail; (ulimit -f 1; exec "$@") | cat' sh "$CARDLOAD" --json --log "$WORK/full.log" \
	    "$WORK/card.cpk" >"$WORK/out" 2>"$WORK/err" </dev/null
	[ $? = 1 ] || harness_die "a full run log: exit 1 expected"
	cat "$WORK/err" >&2
	err_has "bytes written (disk full?); the partial record was removed"
	err_has "nothing was sent to a card"
	json_is result error
	json_is log.written False
	cmp "$WORK/full.log" "$WORK/full.before" || harness_die "the full run log changed"
	card_untouched full
	# Room for the started record (about 265 bytes and the bundle's path),
	# not for the ended one (over 500 more): the card work is done (exit 1
	# for the log) and the log ends with the started record, a whole line.
	python3 -c 'import sys; print("{\"pad\":\"" + "x" * (1024 - 330 - len(sys.argv[1]) - 11) + "\"}")' \
	    "$WORK/card.cpk" >"$WORK/full.log"
	harness_run bash -c 'set -o pipefail; (ulimit -f 1; exec "$@") | cat' sh "$CARDLOAD" --json --log "$WORK/full.log" \
	    "$WORK/card.cpk" >"$WORK/out" 2>"$WORK/err" </dev/null
	[ $? = 1 ] || harness_die "a run log filling up: exit 1 expected"
	cat "$WORK/err" >&2
	err_has "done: all"
	err_has "the partial record was removed"
	json_is result ok
	json_is log.written False
	size=$(stat -c %s "$WORK/full.log")
	[ "$(wc -l <"$WORK/full.log")" = 2 ] && [ "$(tail -c 1 "$WORK/full.log" | od -An -c | tr -d ' ')" = '\n' ] ||
		harness_die "the log should hold two whole lines ($size bytes)"
	LOG=$WORK/full.log log_is record started
	LOG=$WORK/full.log log_is commands "$(json_get commands.total)"
}

# stderr into a pipe whose reader goes away (cardload -v 2>&1 | head): the
# run is not killed by SIGPIPE halfway; it completes and logs its result.
test_pipe() {
	local rc
	harness_start_pcscd
	start_card scp03.yaml
	identify card
	"$CAPGEN" -o "$WORK/p/hello.cap" --package $PKG --applet $APP --size 20000 >/dev/null ||
		harness_die capgen
	compile "$WORK/p/install-applet.yaml" "$WORK/card.yaml" "$WORK/card.cpk"
	"$CARDLOAD" -v "$WORK/card.cpk" 2>&1 >/dev/null </dev/null | head -n 2 >/dev/null
	rc=${PIPESTATUS[0]}
	RUNS=$((RUNS + 1))
	[ "$rc" = 0 ] || harness_die "cardload -v | head: exit $rc, expected 0"
	log_is result ok
	[ "$(log_get sent)" = "$(log_get commands)" ] || harness_die "not every command was sent"
	print_registry
	registry_has "^APP ${APP}  SELECTABLE"
	check_log_lines
}

# Progress bar on a terminal (script(1) gives cardload a pseudo-terminal).
test_progress() {
	command -v script >/dev/null || harness_die "script (util-linux) is needed"
	harness_start_pcscd
	start_card scp03.yaml
	identify card
	compile "$WORK/p/install-applet.yaml" "$WORK/card.yaml" "$WORK/card.cpk"
	harness_run script -qec "'$CARDLOAD' '$WORK/card.cpk'" /dev/null >"$WORK/tty.out" \
	    </dev/null || harness_die "cardload on a terminal failed"
	RUNS=$((RUNS + 1))
	cat -v "$WORK/tty.out" >&2
	grep -q $'\r\\[#' "$WORK/tty.out" || harness_die "no progress bar on the terminal"
	# Not a terminal: no bar, plain lines only.
	harness_stop_cardsim
	rm -f "$WORK/card.state"
	start_card scp03.yaml
	identify card2
	compile "$WORK/p/install-applet.yaml" "$WORK/card2.yaml" "$WORK/card2.cpk"
	cardload_run 0 "$WORK/card2.cpk"
	! grep -q $'\r' "$WORK/err" || harness_die "a progress bar on a pipe"
	[ "$(wc -l <"$WORK/err")" -le 3 ] || harness_die "noisy output on a pipe"
	check_log_lines
}

# SCP02: the next counter is the returned one (it moves only after a
# successful authentication); load, then stale.
test_scp02() {
	harness_start_pcscd
	start_card scp02.yaml
	identify card --kvn 20
	grep -q '^scp: 02$' "$WORK/card.yaml" && grep -q '^i: 55$' "$WORK/card.yaml" &&
	    grep -q '^kvn: 20$' "$WORK/card.yaml" || harness_die "scp/i/kvn"
	grep -q '^counter: 0000$' "$WORK/card.yaml" || harness_die "SCP02 next counter"
	identify card --kvn 20
	grep -q '^counter: 0000$' "$WORK/card.yaml" || harness_die "SCP02 probe moved the counter"
	sed -e 's/^  scp: 03 .*/  scp: 02/' -e 's/^  i: 70 .*/  i: 55/' \
	    -e 's/^  security-level: .*/  security-level: c-mac+c-dec/' \
	    -e 's/^  file: gp-test-keys-aes.yaml.*/  file: gp-test-keys.yaml/' \
	    "$WORK/p/install-applet.yaml" >"$WORK/p/scp02.yaml"
	compile "$WORK/p/scp02.yaml" "$WORK/card.yaml" "$WORK/card.cpk"
	cardload_run 0 "$WORK/card.cpk"
	cardload_run 3 "$WORK/card.cpk"
	err_has "sequence counter: the bundle was made for 0000 but the card is at 0001"
	harness_stop_cardsim
	print_registry
	registry_has "^APP ${APP}  SELECTABLE"
	check_log_lines
}

# A session bundle (SCP03 i=60, random challenge): identify --session, compile,
# load right away in the same card session.
i60_card() {
	cat >"$WORK/i60.yaml" <<EOF
cardsim: 1
card:
  isd: A000000151000000
  kdd: 1112131415161718191A
  cin: 0A0B0C0D
  scp: 3
  i: 60
key-sets:
  - kvn: 30
    type: aes
    enc: $K
    mac: $K
    dek: $K
EOF
}

test_session() {
	i60_card
	harness_start_pcscd
	start_card "$WORK/i60.yaml"
	# Without --session there is no counter: the record cannot be offline.
	harness_run "$CARDLOAD" identify -o "$WORK/nosession.yaml" </dev/null 2>"$WORK/err"
	[ $? = 1 ] || harness_die "identify of an i=60 card without --session: not 1"
	grep -q "only a session record (--session)" "$WORK/err" || harness_die "message"
	sed -e 's/^  i: 70 .*/  i: 60/' "$WORK/p/install-applet.yaml" >"$WORK/p/session.yaml"
	# The command fails: nothing is loaded, 1.
	card_snap cmdfail
	harness_run "$CARDLOAD" session -o "$WORK/card.yaml" --bundle "$WORK/card.cpk" -- false \
	    </dev/null 2>"$WORK/err"
	[ $? = 1 ] || harness_die "cardload session with a failing command: not 1"
	cat "$WORK/err" >&2
	err_has "'false' exited with status 1; nothing was loaded"
	[ ! -e "$WORK/card.cpk" ] || harness_die "a bundle appeared"
	harness_run "$CARDLOAD" session -o "$WORK/card.yaml" --bundle "$WORK/card.cpk" -- \
	    "$WORK/no-such-command" </dev/null 2>"$WORK/err"
	[ $? = 1 ] || harness_die "cardload session with a missing command: not 1"
	err_has "cannot run '$WORK/no-such-command': No such file or directory"
	err_has "exited with status 127; nothing was loaded"
	harness_run "$CARDLOAD" session -o "$WORK/card.yaml" --bundle "$WORK/card.cpk" -- \
	    sh -c 'kill -TERM $$' </dev/null 2>"$WORK/err"
	[ $? = 1 ] || harness_die "cardload session with a killed command: not 1"
	err_has "'sh' was killed by signal 15; nothing was loaded"
	[ "$(card_commands 84)" = "$(cat "$WORK/snap-cmdfail.n84")" ] ||
		harness_die "a secured command reached the card"
	# identify, compile and load in one process holding the card: the
	# session is never interrupted, however long the compile takes.
	cardload_run 0 session --json -o "$WORK/card.yaml" --bundle "$WORK/card.cpk" -- \
	    "$CARDC" compile -p "$WORK/p/session.yaml" -c "$WORK/card.yaml" -k "$WORK/keys" \
	    -s "$WORK/keys/test-signing.key" -o "$WORK/card.cpk"
	err_has "session record written to $WORK/card.yaml"
	err_has "done: all"
	grep -q '^host-challenge: [0-9A-F]\{16\}$' "$WORK/card.yaml" || harness_die "host-challenge"
	grep -q '^iu-response: [0-9A-F]\{58\}$' "$WORK/card.yaml" || harness_die "iu-response"
	! grep -q '^counter:' "$WORK/card.yaml" || harness_die "a session record has no counter"
	json_is result ok
	json_is bundle.mode session
	log_started_ended
	# identify --session still writes the same kind of record.
	identify card2 --session
	grep -q '^iu-response: [0-9A-F]\{58\}$' "$WORK/card2.yaml" || harness_die "iu-response"
	# A session bundle in another process (its card session is over): refused,
	# nothing sent, with the way out.
	card_snap twoproc
	cardload_run 3 "$WORK/card.cpk"
	err_has "is a session bundle: it can only be loaded in the card session it was made in"
	err_has "cardload session -o card.yaml --bundle BUNDLE|URL|- waits for the bundle"
	err_has "cardload session -o card.yaml --bundle BUNDLE -- COMMAND runs what makes it"
	card_untouched twoproc
	harness_stop_cardsim
	print_registry
	registry_has "^APP ${APP}  SELECTABLE"
	check_log_lines
}

# cardload session --bundle without a command: the bundle comes later, from
# another process, while cardload holds the card in its session: a file
# renamed into place, standard input (a FIFO the test holds open), an
# https:// URL that answers 404 until the bundle is there; the wait's
# time-out (explicit, 1 s) and a bundle that exists before the session.

# wait_record: until the running cardload session has written the record
# (atomically: once it exists it is whole); the limit never matters in a
# passing run.
wait_record() {
	local i
	for i in $(seq 1 1200); do
		[ -s "$WORK/card.yaml" ] && return 0
		kill -0 "$CL_PID" 2>/dev/null || break
		sleep 0.05
	done
	cat "$WORK/err" >&2
	harness_die "cardload session wrote no record"
}

# compile_for_record FILE: the session bundle for the record, into FILE.
compile_for_record() {
	"$CARDC" compile -p "$WORK/p/session.yaml" -c "$WORK/card.yaml" -k "$WORK/keys" \
	    -s "$WORK/keys/test-signing.key" -o "$1" 2>>"$WORK/compile.log" ||
	    harness_die "cardc compile for the session record"
}

test_session_wait() {
	local i
	i60_card
	https_setup
	harness_start_pcscd
	start_card "$WORK/i60.yaml"
	sed -e 's/^  i: 70 .*/  i: 60/' "$WORK/p/install-applet.yaml" >"$WORK/p/session.yaml"
	mkdir -p "$WORK/made"
	# A file, renamed into place after the record appeared.
	rm -f "$WORK/card.yaml"
	cardload_bg session --json -o "$WORK/card.yaml" --bundle "$WORK/w.cpk"
	wait_record
	compile_for_record "$WORK/made/w.cpk"
	mv "$WORK/made/w.cpk" "$WORK/w.cpk"
	cardload_wait 0
	json_is result ok
	json_is bundle.mode session
	err_has "waiting up to 300 s for the bundle ($WORK/w.cpk); the card stays in its session"
	err_has "done: all"
	# Standard input: complete when the writer closes it (a fresh card).
	harness_stop_cardsim
	rm -f "$WORK/card.state"
	start_card "$WORK/i60.yaml"
	rm -f "$WORK/card.yaml"
	mkfifo "$WORK/in.fifo" || harness_die "mkfifo"
	exec 7<>"$WORK/in.fifo"
	"$CARDLOAD" session --json -o "$WORK/card.yaml" --bundle - <"$WORK/in.fifo" \
	    >"$WORK/out" 2>"$WORK/err" 7>&- &
	CL_PID=$!
	harness_track "$CL_PID"
	wait_record
	compile_for_record "$WORK/made/s.cpk"
	cat "$WORK/made/s.cpk" >&7
	exec 7>&-
	cardload_wait 0
	json_is result ok
	err_has "for the bundle (standard input)"
	# An https:// URL: 404 until the bundle is there (a fresh card).
	harness_stop_cardsim
	rm -f "$WORK/card.state"
	start_card "$WORK/i60.yaml"
	start_https_server 8443
	rm -f "$WORK/card.yaml"
	cardload_bg session --json -o "$WORK/card.yaml" --cacert "$WORK/server.pem" \
	    --bundle "https://127.0.0.1:8443/u.cpk"
	wait_record
	compile_for_record "$WORK/made/u.cpk"
	# Once cardload has been told 404 at least once, the bundle goes in place.
	for i in $(seq 1 1200); do
		grep -q '"GET /u.cpk HTTP/1.1" 404' "$WORK/https.log" && break
		sleep 0.05
	done
	grep -q '"GET /u.cpk HTTP/1.1" 404' "$WORK/https.log" || harness_die "cardload did not ask"
	mv "$WORK/made/u.cpk" "$WORK/www/u.cpk"
	cardload_wait 0
	json_is result ok
	# Nothing comes within --wait: exit 1, the message, nothing secured sent.
	rm -f "$WORK/card.yaml"
	card_snap wait
	harness_run "$CARDLOAD" session -o "$WORK/card.yaml" --bundle "$WORK/never.cpk" --wait 1 \
	    </dev/null 2>"$WORK/err"
	[ $? = 1 ] || harness_die "cardload session without a bundle: not 1"
	cat "$WORK/err" >&2
	err_has "FAILED: no bundle at $WORK/never.cpk within 1 s (--wait); nothing was loaded"
	[ "$(card_commands 84)" = "$(cat "$WORK/snap-wait.n84")" ] ||
		harness_die "a secured command reached the card"
	# Standard input that never ends (this shell holds the FIFO's write end).
	exec 7<>"$WORK/in.fifo"
	harness_run "$CARDLOAD" session -o "$WORK/card.yaml" --bundle - --wait 1 \
	    <"$WORK/in.fifo" 2>"$WORK/err"
	[ $? = 1 ] || harness_die "cardload session with stdin never ending: not 1"
	exec 7>&-
	err_has "standard input did not end within 1 s (--wait; 0 bytes read)"
	# A bundle there before the session: refused, the card not touched.
	touch "$WORK/stale.cpk"
	card_snap stale
	harness_run "$CARDLOAD" session -o "$WORK/card.yaml" --bundle "$WORK/stale.cpk" \
	    </dev/null 2>"$WORK/err"
	[ $? = 2 ] || harness_die "cardload session with a bundle already there: not 2"
	err_has "'$WORK/stale.cpk' already exists"
	card_received stale 0
}

# https:// through libcurl: a local TLS server in this network namespace.
# A test certificate for 127.0.0.1 and the folder an https server serves.
https_setup() {
	command -v python3 >/dev/null || harness_die "python3 is needed"
	command -v openssl >/dev/null || harness_die "openssl is needed"
	mkdir -p "$WORK/www"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
	    -keyout "$WORK/server.key" -out "$WORK/server.pem" 2>/dev/null ||
		harness_die "cannot make a test certificate"
}

# start_https_server PORT: serve $WORK/www over https (HTTPS_PID); returns
# once it listens (it says so on a FIFO). A request for /hang.cpk is never
# answered: the server writes "request" to the FIFO $WORK/hang and waits.
HTTPS_PID=
start_https_server() {
	local line
	rm -f "$WORK/https.ready" "$WORK/hang"
	mkfifo "$WORK/https.ready" "$WORK/hang" || harness_die "mkfifo"
	python3 - "$WORK/www" "$1" "$WORK/server.pem" "$WORK/server.key" "$WORK/https.ready" \
	    "$WORK/hang" >"$WORK/https.log" 2>&1 <<'EOF' &
import functools, http.server, ssl, sys, threading
root, port, cert, key, ready, hang = sys.argv[1], int(sys.argv[2]), *sys.argv[3:]
class Handler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/hang.cpk":
            with open(hang, "w") as f:
                f.write("request\n")
            threading.Event().wait()
        return super().do_GET()
handler = functools.partial(Handler, directory=root)
httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
httpd.daemon_threads = True
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
with open(ready, "w") as f:
    f.write("ready\n")
httpd.serve_forever()
EOF
	HTTPS_PID=$!
	harness_track "$HTTPS_PID"
	read -r line <"$WORK/https.ready" || harness_die "the https server did not start"
	[ "$line" = ready ] || harness_die "the https server did not start"
}

# SIGTERM during an https download that never finishes: cardload stops,
# exits 1 and logs the run ("ended" alone: no card was reached).
test_interrupt_download() {
	local line
	https_setup
	harness_start_pcscd
	start_card scp03.yaml
	card_snap download
	start_https_server 8443
	cardload_bg --json --cacert "$WORK/server.pem" "https://127.0.0.1:8443/hang.cpk"
	read -r line <"$WORK/hang" || harness_die "cardload did not ask for the bundle"
	kill -TERM "$CL_PID"
	cardload_wait 1
	err_has "interrupted (SIGTERM)"
	err_has "nothing was sent to a card"
	json_is result interrupted
	json_is commands.sent 0
	log_is record ended
	log_is result interrupted
	log_is source "https://127.0.0.1:8443/hang.cpk"
	card_untouched download
	harness_stop_pid "$HTTPS_PID"
	check_log_lines
}

test_https() {
	local port=8443
	https_setup
	harness_start_pcscd
	start_card scp03.yaml
	identify card
	compile "$WORK/p/install-applet.yaml" "$WORK/card.yaml" "$WORK/www/card.cpk"
	head -c $((16 * 1024 * 1024 + 10)) /dev/zero >"$WORK/www/big.cpk"
	start_https_server "$port"
	local url=https://127.0.0.1:$port
	# Certificate not trusted (not in the system store): refused, nothing sent.
	cardload_run 1 "$url/card.cpk"
	err_has "the server's certificate could not be verified"
	# With --cacert: fetched, checked and loaded.
	cardload_run 0 --json --cacert "$WORK/server.pem" "$url/card.cpk"
	json_is result ok
	json_is source "$url/card.cpk"
	log_is source "$url/card.cpk"
	# 404, too large, http://, nobody listening.
	cardload_run 1 --cacert "$WORK/server.pem" "$url/nosuch.cpk"
	err_has "the server answered HTTP 404"
	# OPENSSL_CONF is not read for TLS either (cardload(1)), libcrypto linked
	# into cardload or not: a configuration whose provider cannot load (with
	# config_diagnostics, which makes that fatal) changes nothing.
	printf '%s\n' 'config_diagnostics = 1' 'openssl_conf = openssl_init' \
	    '[openssl_init]' 'providers = provider_sect' '[provider_sect]' \
	    'cpk_no_such_provider = no_such_sect' '[no_such_sect]' 'activate = 1' \
	    >"$WORK/openssl-bad.cnf"
	OPENSSL_CONF="$WORK/openssl-bad.cnf" cardload_run 1 --cacert "$WORK/server.pem" \
	    "$url/nosuch.cpk"
	err_has "the server answered HTTP 404"
	# Credentials and tokens in the URL are used, never shown or logged.
	cardload_run 1 --json --cacert "$WORK/server.pem" \
	    "https://tech:s3cret@127.0.0.1:$port/nosuch.cpk?token=t0ken"
	err_has "downloading 'https://***@127.0.0.1:$port/nosuch.cpk?***': the server answered HTTP 404"
	json_is source "https://***@127.0.0.1:$port/nosuch.cpk?***"
	log_is source "https://***@127.0.0.1:$port/nosuch.cpk?***"
	! grep -q 's3cret\|t0ken' "$WORK/err" "$WORK/out" "$LOG" ||
		harness_die "a URL's password or token was shown or logged"
	cardload_run 3 --cacert "$WORK/server.pem" "$url/big.cpk"
	err_has "larger than 16777216 bytes"
	harness_run "$CARDLOAD" "http://127.0.0.1:$port/card.cpk" </dev/null 2>"$WORK/err"
	[ $? = 2 ] || harness_die "http:// not refused as a usage error"
	grep -q "only https:// URLs" "$WORK/err" || harness_die "http:// message"
	harness_run "$CARDLOAD" "ftp://127.0.0.1/card.cpk" </dev/null 2>"$WORK/err"
	[ $? = 2 ] || harness_die "ftp:// not refused"
	cardload_run 1 --timeout 5 "https://127.0.0.1:1/card.cpk"
	err_has "could not connect to the server"
	harness_stop_pid "$HTTPS_PID"
	check_log_lines
}

# Extended length (issue 14 item 2): a card whose ATR announces it is
# identified with its largest command and response; profiles/large-load.yaml
# (block-size: max, load-parameters: auto) loads a 512,000-byte load file,
# an extended-format CAP (Java Card 3.1: its Method component in nine
# blocks), in eight extended-length LOAD commands through pcscd and vpcd. The same card configured short-only
# answers 6700 to the first extended LOAD; the same profile for a short-only
# card record is refused by cardc compile with what the card takes.
test_extended_length() {
	local big=F043504B4249 bigapp=F043504B424901
	harness_start_pcscd
	sed -e '/^  atr: /d' -e 's/^  memory: 131072$/  memory: 1048576\n  extended-length: 65535/' \
	    "$CARDS/scp03.yaml" >"$WORK/ext-card.yaml" || harness_die "config"
	cp "$SRC/profiles/large-load.yaml" "$WORK/p/" || harness_die "profile"
	"$CAPGEN" -o "$WORK/p/big.cap" --package $big --applet $bigapp -s 512000 --extended \
	    >/dev/null || harness_die "capgen"
	start_card "$WORK/ext-card.yaml"
	identify card
	grep -qx 'max-command: 65535' "$WORK/card.yaml" &&
	    grep -qx 'max-response: 65535' "$WORK/card.yaml" || harness_die "identify: extended length"
	grep -q "extended length: commands of up to 65535 bytes, responses of up to 65535" \
	    "$WORK/identify.err" || harness_die "identify: extended length summary"
	compile "$WORK/p/large-load.yaml" "$WORK/card.yaml" "$WORK/ext.cpk"

	# The card restarted short-only (its state without extended-length, the
	# short ATR): the first extended LOAD is answered 6700.
	harness_stop_cardsim
	cp "$WORK/card.state" "$WORK/ext.state" || harness_die "state"
	sed -e '/^  extended-length: /d' -e 's/^  atr: .*/  atr: 3B80800101/' "$WORK/ext.state" \
	    >"$WORK/card.state" || harness_die "short state"
	harness_start_cardsim --state "$WORK/card.state" -v
	harness_wait_card
	cardload_run 4 "$WORK/ext.cpk"
	err_has "(LOAD 1/8) with 6700"
	grep -q "extended-length APDUs are not supported (the card takes short APDUs only)" \
	    "$(cardsim_log)" || harness_die "cardsim: no 6700 for the extended LOAD"

	# Back to extended length: a new record, a new bundle, installed.
	harness_stop_cardsim
	cp "$WORK/ext.state" "$WORK/card.state" || harness_die "state"
	harness_start_cardsim --state "$WORK/card.state" -v
	harness_wait_card
	identify card
	compile "$WORK/p/large-load.yaml" "$WORK/card.yaml" "$WORK/ext.cpk"
	cardload_run 0 "$WORK/ext.cpk"
	err_has "done: all"
	[ "$(card_commands 84E8)" = 8 ] || harness_die "expected 8 LOAD commands"
	grep -Eq "^cardsim: >> 84E8000000FFF" "$(cardsim_log)" ||
	    harness_die "the first LOAD is not extended (00 FF F7)"
	# INSTALL [for load] carries the sizes computed from the extended CAP
	# (code: the 512,000-byte block; nvdata: the Directory's static sizes).
	"$CARDC" verify "$WORK/ext.cpk" -k "$WORK/keys" >"$WORK/verify.out" 2>&1 ||
	    harness_die "cardc verify"
	grep -Eq "^ +80E60200.*EF0AC6040007D000C802000C00$" "$WORK/verify.out" ||
	    harness_die "INSTALL [for load] without the computed load parameters"
	harness_stop_cardsim
	print_registry
	registry_has "^LOADFILE ${big}  v1.0  512000 bytes"
	registry_has "^APP ${bigapp}  SELECTABLE  from ${big}"

	# A short-only card record: refused at compile time, nothing written.
	grep -v '^max-' "$WORK/card.yaml" >"$WORK/short.yaml" || harness_die "short record"
	"$CARDC" compile -p "$WORK/p/large-load.yaml" -c "$WORK/short.yaml" -k "$WORK/keys" \
	    -s "$WORK/keys/test-signing.key" -o "$WORK/short.cpk" 2>"$WORK/err"
	[ $? = 1 ] || harness_die "cardc compile for a short-only card: exit $?, expected 1"
	cat "$WORK/err" >&2
	grep -qF "large-load.yaml:46:19: load file is 512,005 bytes; this card takes at most 61,184 bytes in 256 short LOAD commands at level 13 (no extended length in its card record)" \
	    "$WORK/err" || harness_die "cardc compile: the refusal's message"
	[ ! -e "$WORK/short.cpk" ] || harness_die "a refused compile wrote a bundle"
	check_log_lines
}

case $TEST in
load) test_load ;;
life-cycle) test_life_cycle ;;
dap) test_dap ;;
delegated) test_delegated ;;
dap-ssd) test_dap_ssd ;;
readers) test_readers ;;
other-card) test_other_card ;;
rejected) test_rejected ;;
runlog) test_runlog ;;
fault-drop) test_fault_drop ;;
fault-sw) test_fault_sw ;;
fault-refuse-iu) test_fault_refuse_iu ;;
fault-vanish-load) test_fault_vanish_load ;;
no-pcscd) test_no_pcscd ;;
interrupt) test_interrupt ;;
kill9) test_kill9 ;;
log-full) test_log_full ;;
pipe) test_pipe ;;
progress) test_progress ;;
scp02) test_scp02 ;;
session) test_session ;;
session-wait) test_session_wait ;;
receipt-scp03) test_receipt_scp03 ;;
receipt-scp02) test_receipt_scp02 ;;
receipt-session) test_receipt_session ;;
receipt-capture) test_receipt_capture ;;
https) test_https ;;
extended-length) test_extended_length ;;
interrupt-download) test_interrupt_download ;;
*) harness_die "unknown test '$TEST'" ;;
esac
echo "harness: cardload test $TEST passed" >&2
