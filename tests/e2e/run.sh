#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# End-to-end tests: gpclient -> libpcsclite -> pcscd -> vpcd -> cardsim, each
# test in its own namespaces with its own pcscd (see harness.sh).
#
#   run.sh TEST      (meson passes CARDSIM, GPCLIENT, E2E_DIR, E2E_WORK)

. "${E2E_DIR:?}/harness.sh"
harness_enter "$@"

TEST=${1:?usage: run.sh TEST}
CARDS=$E2E_DIR/cards
ISD=A000000151000000
K=404142434445464748494A4B4C4D4E4F
PKG=A00000015153504B47
APP1=A00000015153504B4701
APP2=A00000015153504B4702
SELECT_ISD=00A4040008${ISD}00

harness_setup "$TEST"

# Start pcscd and a card from a config (state file $WORK/card.state).
start_card() {
	local config=$1
	shift
	harness_start_cardsim --config "$CARDS/$config" --state "$WORK/card.state" "$@"
	harness_wait_card
}

print_registry() {
	"$CARDSIM" --state "$WORK/card.state" --print >"$WORK/registry.txt" ||
		harness_die "cardsim --print failed"
	cat "$WORK/registry.txt" >&2
}

# The registry printout contains a line matching this extended regex.
registry_has() {
	grep -Eq "$1" "$WORK/registry.txt" || harness_die "registry lacks /$1/"
}

registry_lacks() {
	! grep -Eq "$1" "$WORK/registry.txt" || harness_die "registry still has /$1/"
}

test_select_getdata() {
	harness_start_pcscd
	start_card scp03.yaml
	harness_client <<EOF
send $SELECT_ISD
expect-prefix 6F418408${ISD}A535732F06072A864886FC6B01
send 00A4040000
send 00A4040005A000000151
send 80CA9F7F00
expect 9F7F2A479051674791121047110000000000000000000000000000000000000000000000000000000000000000
send 80CA004200
expect 42050001020304
send 00CA004500
expect 45080102030405060708
send 80CA006600
expect 6631732F06072A864886FC6B01600C060A2A864886FC6B02020301630906072A864886FC6B03640B06092A864886FC6B040370
send 80CA00E000
expect E024C00401308810C00402308810C00403308810C00401318810C00402318810C00403318810
send 80CA00C100
expect C103000000
send 80CA00CF00
expect CF0A0102030405060708090A
# strict answers
send 80CA00CF05 6C0C
send 80CAFFFF00 6A88
send 80CA00CF0100 6700
send 80FF000000 6D00
send A0A4040000 6E00
send 80A4040000 6E00
send 01A4040000 6881
send 00A4040005A000000152 6A82
send 00A4000000 6A86
send 00A4040009${ISD} 6700
# content management needs the secure channel
send 80E400000A4F08${ISD} 6982
send 80F28002024F0000 6982
send 84F280020A4F000000000000000000 6982
EOF
}

test_scp03_session() {
	harness_start_pcscd
	start_card scp03.yaml
	harness_client <<EOF
keys aes 30 $K $K $K
send $SELECT_ISD
iu scp03 70
expect-counter 000001
expect-predictable
ea 33
ssend 80F28002024F0000
expect E3134F08${ISD}9F70010FC5039EFE80
ssend 80F28000024F0000
expect 08${ISD}0F9E
ssend 80CA00CF00
expect CF0A0102030405060708090A
ssend 80F24000024F0000 6A88
ssend 80F22002024F0000 6A88
ssend 80CA00C100
expect C103000001
# every security level this i allows
open scp03 70 01
expect-counter 000002
ssend 80CA00CF00
open scp03 70 03
ssend 80CA00CF00
open scp03 70 11
ssend 80CA00CF00
open scp03 70 13
ssend 80CA00CF00
open scp03 70 33
expect-counter 000006
ssend 80CA00CF00
expect CF0A0102030405060708090A
# key set 31: the card's keys are kdf3-diversified from the master with its KDD
keys aes 31 $K $K $K kdf3
open scp03 70 33
expect-counter 000001
expect-predictable
ssend 80F28002024F0000
expect E3134F08${ISD}9F70010FC5039EFE80
EOF
	print_registry
	registry_has "^KEYSET 30  AES-128  counter 000006$"
	registry_has "^KEYSET 31  AES-128  counter 000001$"
}

test_scp02_session() {
	harness_start_pcscd
	start_card scp02.yaml
	harness_client <<EOF
keys 3des 20 $K $K $K
send $SELECT_ISD
iu scp02 55
expect-counter 0000
expect-predictable
ea 03
ssend 80F28002024F0000
expect E3134F08${ISD}9F70010FC5039EFE80
ssend 80CA00C100
expect C1020001
ssend 80F24000024F0000 6A88
open scp02 55 01
expect-counter 0001
ssend 80CA00CF00
expect CF0A0102030405060708090A
# key set 21: emv-diversified from the master with the card's KDD
keys 3des 21 $K $K $K emv
open scp02 55 03
expect-counter 0000
expect-predictable
ssend 80F28002024F0000
expect E3134F08${ISD}9F70010FC5039EFE80
EOF
	print_registry
	registry_has "^KEYSET 20  3DES-128  counter 0002$"
	registry_has "^KEYSET 21  3DES-128  counter 0001$"
}

test_tamper() {
	harness_start_pcscd
	start_card scp03.yaml
	harness_client <<EOF
keys aes 30 $K $K $K
send $SELECT_ISD
open scp03 70 33
ssend 80CA00CF00
tamper
ssend 80F28002024F0000 6982
# the channel is closed: even a correct MAC is refused now
ssend 80F28002024F0000 6982
ssend 80CA00CF00 6982
send 80CA00C100
expect C103000001
open scp03 70 01
expect-counter 000002
tamper
ssend 80CA00CF00 6982
ssend 80CA00CF00 6982
# an unprotected command inside an open channel closes it too
open scp03 70 01
send 80CA00CF00 6982
ssend 80CA00CF00 6982
EOF
	harness_stop_cardsim
	# The same with SCP02.
	rm -f "$WORK/card.state"
	start_card scp02.yaml
	harness_client <<EOF
keys 3des 20 $K $K $K
send $SELECT_ISD
open scp02 55 03
tamper
ssend 80F28002024F0000 6982
ssend 80F28002024F0000 6982
open scp02 55 01
expect-counter 0001
ssend 80F28002024F0000
EOF
	for log in "$WORK/cardsim.1.log" "$WORK/cardsim.2.log"; do
		grep -q "C-MAC mismatch; secure channel closed" "$log" ||
			harness_die "cardsim did not log the MAC failure in $log"
	done
}

test_counters() {
	harness_start_pcscd
	start_card scp03.yaml
	# SCP03: every INITIALIZE UPDATE increments first and returns the new value.
	harness_client <<EOF
keys aes 30 $K $K $K
send $SELECT_ISD
iu scp03 70
expect-counter 000001
iu scp03 70
expect-counter 000002
open scp03 70 01
expect-counter 000003
send 00A4040000
iu scp03 70
expect-counter 000004
expect-predictable
send 80CA00C100
expect C103000004
EOF
	print_registry
	registry_has "^KEYSET 30  AES-128  counter 000004$"
	registry_has "^KEYSET 31  AES-128  counter 000000$"
	harness_stop_cardsim
	# SCP02: the current value is used; only a verified first C-MAC moves it.
	rm -f "$WORK/card.state"
	start_card scp02.yaml
	harness_client <<EOF
keys 3des 20 $K $K $K
send $SELECT_ISD
iu scp02 55
expect-counter 0000
iu scp02 55
expect-counter 0000
send 80CA00C100
expect C1020000
open scp02 55 01
expect-counter 0000
iu scp02 55
expect-counter 0001
send 80CA00C100
expect C1020001
open scp02 55 01
expect-counter 0001
ssend 80CA00C100
expect C1020002
iu scp02 55
expect-counter 0002
EOF
	print_registry
	registry_has "^KEYSET 20  3DES-128  counter 0002$"
}

test_load_install() {
	harness_start_pcscd
	start_card scp03.yaml
	harness_client <<EOF
keys aes 30 $K $K $K
send $SELECT_ISD
open scp03 70 33
ssend 80E400800B4F09${PKG} 6A88
load $PKG $APP1,$APP2 4000 sha256
install $PKG $APP1 $APP1
install $PKG A00000015153504B4703 A00000015153504B4703 6A88
install A00000015153504B48 $APP1 A00000015153504B4709 6A88
install $PKG $APP1 $APP1 6985
ssend 80F22002024F0000
expect E31D4F09${PKG}9F700101CE020100CC08${ISD}
ssend 80F21002024F0000
expect-contains 840A${APP1}
expect-contains 840A${APP2}
ssend 80F24002024F0000
expect E32A4F0A${APP1}9F700107C503000000C409${PKG}CC08${ISD}
# personalization of the instance
ssend 80E620001000000A${APP1}000000
ssend 80E2080005010102AABB
ssend 80E2880105010202CCDD
# the instance is selectable (it implements no command)
send 00A404000A${APP1}
send 80CA00CF00 6D00
send 00A4040000
open scp03 70 33
ssend 80E400000B4F09${PKG} 6985
ssend 80E400800B4F09${PKG}
ssend 80F22002024F0000 6A88
ssend 80F24002024F0000 6A88
# a package of almost 64 KB, SHA-1, the largest blocks the channel takes
load $PKG $APP1 60000 sha1
install $PKG $APP1 A00000015153504B4711 01 C903AABBCC
ssend 80F24002024F0000
expect-contains 4F0AA00000015153504B4711
ssend 80F22002024F0000
expect-contains 4F09${PKG}
EOF
	print_registry
	registry_has "^LOADFILE ${PKG}  v1.0  60000 bytes  modules ${APP1}$"
	registry_has "^APP A00000015153504B4711  SELECTABLE  from ${PKG} module ${APP1}  privileges 01"
	registry_lacks "^APP ${APP1} "
}

test_put_key() {
	local N1=00112233445566778899AABBCCDDEEFF N2=0F0E0D0C0B0A09080706050403020100
	local N3=A1A2A3A4A5A6A7A8A9AAABACADAEAFA0
	harness_start_pcscd
	start_card scp03.yaml
	harness_client <<EOF
keys aes 30 $K $K $K
send $SELECT_ISD
open scp03 70 03
open scp03 70 03
expect-counter 000002
put-key 30 30 $N1 $N2 $N3
# the old keys are gone; the new ones start again at counter 1
iu scp03 70 mismatch
keys aes 30 $N1 $N2 $N3
open scp03 70 13
expect-counter 000002
open scp03 70 13
expect-counter 000003
EOF
	print_registry
	harness_client <<EOF
keys aes 30 $N1 $N2 $N3
send $SELECT_ISD
open scp03 70 03
put-key 30 30 $N1 $N2 $N3
open scp03 70 03
expect-counter 000001
put-key 00 32 $K $K $K
put-key 00 32 $K $K $K 6985
put-key 33 34 $K $K $K 6A88
ssend 80CA00E000
expect-contains C00401328810
keys aes 32 $K $K $K
open scp03 70 01
expect-counter 000001
EOF
	print_registry
	registry_has "^KEYSET 30  AES-128  counter 000001$"
	registry_has "^KEYSET 32  AES-128  counter 000001$"
}

test_restart() {
	harness_start_pcscd
	start_card scp03.yaml
	harness_client <<EOF
keys aes 30 $K $K $K
send $SELECT_ISD
open scp03 70 03
load $PKG $APP1 2000
install $PKG $APP1 $APP1
ssend 80E620001000000A${APP1}000000
ssend 80E2900003420100
EOF
	harness_stop_cardsim
	grep -q "^  - aid: $PKG$" "$WORK/card.state" || harness_die "the state file lacks the package"
	grep -q "^    counter: 1$" "$WORK/card.state" || harness_die "the state file lacks the counter"
	# Same state file; the config is given again but the state file wins.
	start_card scp03.yaml
	harness_client <<EOF
keys aes 30 $K $K $K
send $SELECT_ISD
send 80CA00C100
expect C103000001
open scp03 70 03
expect-counter 000002
ssend 80F24002024F0000
expect-contains 4F0A${APP1}9F700107
ssend 80F21002024F0000
expect-contains 840A${APP1}
EOF
	harness_stop_cardsim
	print_registry
	registry_has "^APP ${APP1}  SELECTABLE  from ${PKG} module ${APP1}  privileges 00  1 stored block"
	registry_has "^KEYSET 30  AES-128  counter 000002$"
	# A state file is replaced atomically: no temporary file is left behind.
	! ls "$WORK"/card.state.tmp.* >/dev/null 2>&1 || harness_die "temporary state file left"
}

test_fault_drop() {
	harness_start_pcscd
	# Answer command 3 (EXTERNAL AUTHENTICATE), then remove the card; cardsim exits.
	start_card scp03.yaml --drop-after 3
	harness_client <<EOF
keys aes 30 $K $K $K
send $SELECT_ISD
iu scp03 70
ea 03
ssend 80CA00CF00 removed
wait-removed
EOF
	harness_wait_cardsim_exit 0
	grep -q "card removed after command 3" "$WORK/cardsim.1.log" ||
		harness_die "cardsim did not log the removal"
	# Again with reinsertion: the session is gone, the counter kept.
	harness_start_cardsim --state "$WORK/card.state" --drop-after 2 --reinsert
	harness_wait_card
	harness_client <<EOF
send $SELECT_ISD
send 80CA00C100
expect C103000001
send 80CA00CF00 removed
wait-removed
EOF
	kill -USR1 "$CARDSIM_PID"
	harness_client <<EOF
keys aes 30 $K $K $K
reconnect
send $SELECT_ISD
open scp03 70 03
expect-counter 000002
ssend 80CA00CF00
EOF
	harness_stop_cardsim
}

test_fault_sw() {
	harness_start_pcscd
	start_card scp03.yaml --sw-at 4:6A84
	# Command 4 is answered 6A84 and not run: the card's MAC chain does not
	# include it, so the next command fails its C-MAC and closes the channel.
	harness_client <<EOF
keys aes 30 $K $K $K
send $SELECT_ISD
iu scp03 70
ea 33
ssend 80F28002024F0000 6A84
ssend 80CA00CF00 6982
open scp03 70 33
expect-counter 000002
ssend 80F28002024F0000
EOF
	harness_stop_cardsim
	harness_start_cardsim --state "$WORK/card.state" --sw-at 1:6F00
	harness_wait_card
	harness_client <<EOF
send $SELECT_ISD 6F00
send $SELECT_ISD
EOF
}

test_fault_refuse_iu() {
	harness_start_pcscd
	start_card scp03.yaml --refuse-iu
	harness_client <<EOF
keys aes 30 $K $K $K
send $SELECT_ISD
iu scp03 70 6985
iu scp03 70 6985
send 80CA00C100
expect C103000000
EOF
	harness_stop_cardsim
	harness_start_cardsim --state "$WORK/card.state" --refuse-iu=6A88
	harness_wait_card
	harness_client <<EOF
keys aes 30 $K $K $K
send $SELECT_ISD
iu scp03 70 6A88
EOF
	harness_stop_cardsim
	harness_start_cardsim --state "$WORK/card.state"
	harness_wait_card
	harness_client <<EOF
keys aes 30 $K $K $K
send $SELECT_ISD
open scp03 70 03
expect-counter 000001
EOF
}

test_fault_vanish_load() {
	harness_start_pcscd
	start_card scp03.yaml --vanish-in-load 3 --reinsert
	harness_client <<EOF
keys aes 30 $K $K $K
send $SELECT_ISD
open scp03 70 03
load $PKG $APP1 3000 block 200 removed
wait-removed
EOF
	kill -USR1 "$CARDSIM_PID"
	harness_client <<EOF
keys aes 30 $K $K $K
reconnect
send $SELECT_ISD
open scp03 70 03
expect-counter 000002
ssend 80F22002024F0000 6A88
load $PKG $APP1 3000 block 200
install $PKG $APP1 $APP1
ssend 80F24002024F0000
expect-contains 4F0A${APP1}
EOF
	grep -q "card removed during LOAD block 03" "$WORK/cardsim.1.log" ||
		harness_die "cardsim did not log the vanishing"
}

# The harness stops what it started even when the test fails, and leaves a
# pcscd it did not start alone.
test_harness_cleanup() {
	local inner_work=${E2E_WORK:-${TMPDIR:-/tmp}/cpk-e2e}/_inner-fail pid n=0 rc
	# A pcscd of "the system" (of this namespace): the inner test must not see it.
	harness_start_pcscd
	CPK_HARNESS_NS= bash "$E2E_DIR/run.sh" _inner-fail >"$WORK/inner.log" 2>&1
	rc=$?
	[ "$rc" != 0 ] || harness_die "the failing inner test passed"
	grep -q "harness: FAILED" "$WORK/inner.log" || harness_die "the inner harness did not report"
	[ -f "$inner_work/pids" ] || harness_die "the inner test recorded no PID"
	while read -r pid; do
		n=$((n + 1))
		! kill -0 "$pid" 2>/dev/null || harness_die "PID $pid of the failed test is still alive"
	done <"$inner_work/pids"
	# pcscd, cardsim and the two gpclient runs (card wait, script)
	[ "$n" = 4 ] || harness_die "expected 4 recorded PIDs, got $n"
	kill -0 "$PCSCD_PID" 2>/dev/null || harness_die "the outer pcscd was disturbed"
	[ -S /run/pcscd/pcscd.comm ] || harness_die "the outer pcscd lost its socket"
}

test__inner_fail() {
	[ ! -e /run/pcscd/pcscd.comm ] || harness_die "the outer pcscd is visible"
	harness_start_pcscd
	start_card scp03.yaml
	harness_client <<EOF
send $SELECT_ISD 6A82
EOF
}

case $TEST in
select-getdata) test_select_getdata ;;
scp03-session) test_scp03_session ;;
scp02-session) test_scp02_session ;;
tamper) test_tamper ;;
counters) test_counters ;;
load-install) test_load_install ;;
put-key) test_put_key ;;
restart) test_restart ;;
fault-drop) test_fault_drop ;;
fault-sw) test_fault_sw ;;
fault-refuse-iu) test_fault_refuse_iu ;;
fault-vanish-load) test_fault_vanish_load ;;
harness-cleanup) test_harness_cleanup ;;
_inner-fail) test__inner_fail ;;
*) harness_die "unknown test '$TEST'" ;;
esac
echo "harness: test $TEST passed" >&2
