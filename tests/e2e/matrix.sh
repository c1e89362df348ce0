#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The end-to-end matrix: compile -> load -> GET STATUS through the real
# pcscd + vpcd + cardsim, driven by e2e_matrix (matrix.c), which holds one
# PC/SC connection per card and one transaction per cell (a session bundle
# is streamed in the card session of the INITIALIZE UPDATE it was compiled
# from). Each cell: a capgen CAP, a profile (delete if present, load,
# install), cpk_compile, sign, cpk_bundle_open, cpk_stream_run, then GET
# STATUS P1 40/20/10 in a fresh secure channel at the cell's level, SELECT
# of the instance, and DELETE of the package (so the card's memory and
# registry stay small). After each card the registry printed from the state
# file must hold no package of the matrix.
#
#   matrix.sh GROUP    (meson passes CARDSIM, GPCLIENT, E2E_DIR, E2E_WORK,
#                       E2E_MATRIX, CPK_SOURCE_ROOT, CPK_BUILD_ROOT)
#
# What runs: the whole cross product. One cardsim per protocol / i /
# diversification (one key set: the GP test keys 40..4F, static or as the
# master; KVN 20 for SCP02, 30 for SCP03), and on it every level that i
# allows, each with LFDB sizes 1024, 8192, 16384, 32768, 49152 bytes and
# the largest that fits 256 LOAD blocks (256 * block - 4: C4 and a 3-byte
# BER length; block 247 at c-mac levels, 239 with c-dec: 63228 and 61180
# bytes), plus 256 blocks + 1 byte, which the compiler must refuse before
# anything reaches the card:
#
#   SCP02 i=55 offline, i=15 session     levels 01 03          div none emv visa2
#   SCP03 i=10 offline, i=00 session     levels 01 03          div none kdf3
#   SCP03 i=30 offline                   levels 01 03 11 13    div none kdf3
#   SCP03 i=70 offline, i=60 session     levels 01 03 11 13 33 div none kdf3
#
# = 12 SCP02 + 36 SCP03 = 48 (protocol, i, level, div) combinations, x 6
# sizes = 288 compile -> load -> GET STATUS cells, and 48 refusals. R-MAC
# needs i & 20: SCP02 i=15 and i=55 have none, so SCP02 levels 11 and 13
# exist only for i=35/75, which are not in the matrix (cardsim and the
# compiler support them). Level 33 (R-ENC) needs SCP03 i=60/70.
#
# Groups (one meson test each): scp02 (6 cards, 72 + 12 cells),
# scp03-offline (6 cards, 132 + 22), scp03-session (4 cards, 84 + 14);
# valgrind (valgrind.sh) runs one cell, and cardload when it is built,
# under memcheck.

. "${E2E_DIR:?}/harness.sh"
harness_enter "$@"

GROUP=${1:?usage: matrix.sh GROUP}
SIZES="1024 8192 16384 32768 49152 max over"
: "${E2E_MATRIX:?E2E_MATRIX must name the e2e_matrix program}"

harness_setup "matrix-$GROUP"

# cardsim configuration: card_config SCP I DIV
card_config() {
	local scp=$1 i=$2 div=$3 kvn type key=404142434445464748494A4B4C4D4E4F divno
	case $scp in
	02) kvn=20 type=3des ;;
	03) kvn=30 type=aes ;;
	esac
	case $div in
	none) divno=00 ;; emv) divno=01 ;; visa2) divno=02 ;; kdf3) divno=03 ;;
	esac
	cat <<EOF
cardsim: 1
card:
  isd: A000000151000000
  kdd: A1A2A3A4A5A6A7${scp}${i}${divno}
  scp: ${scp#0}
  i: $i
  memory: 262144
key-sets:
  - kvn: $kvn
    type: $type
EOF
	if [ "$div" = none ]; then
		printf '    enc: %s\n    mac: %s\n    dek: %s\n' "$key" "$key" "$key"
	else
		printf '    key: %s\n    diversification: %s\n' "$key" "$div"
	fi
}

# cells LEVEL...: every size at each level
cells() {
	local l s
	for l in "$@"; do
		for s in $SIZES; do
			printf ' %s:%s' "$l" "$s"
		done
	done
}

# run_card SCP I DIV CELL... : a fresh card, the driver over its cells, the
# registry afterwards (no matrix package may remain).
run_card() {
	local scp=$1 i=$2 div=$3 name="scp$1-i$2-$3" rc
	shift 3
	card_config "$scp" "$i" "$div" >"$WORK/$name.yaml"
	rm -f "$WORK/$name.state"
	mkdir -p "$WORK/$name"
	harness_start_cardsim --config "$WORK/$name.yaml" --state "$WORK/$name.state"
	harness_wait_card
	harness_run "$E2E_MATRIX" -w "$WORK/$name" --scp "$scp" --i "$i" --div "$div" "$@" \
	    2>"$WORK/$name.log" </dev/null
	rc=$?
	cat "$WORK/$name.log" >&2
	grep -h "FAIL" "$WORK/$name.log" >>"$WORK/failed.txt"
	harness_stop_cardsim
	"$CARDSIM" --state "$WORK/$name.state" --print >"$WORK/$name.registry" ||
		harness_die "cardsim --print failed for $name"
	if grep -q "^LOADFILE F043504B4D" "$WORK/$name.registry"; then
		cat "$WORK/$name.registry" >&2
		echo "harness: [$name] a matrix package is left on the card" >>"$WORK/failed.txt"
	fi
	[ "$rc" = 0 ] || grep -q "FAIL" "$WORK/$name.log" ||
		echo "harness: [$name] e2e_matrix exited with status $rc" >>"$WORK/failed.txt"
}

finish() {
	if [ -s "$WORK/failed.txt" ]; then
		echo "harness: failed cells:" >&2
		cat "$WORK/failed.txt" >&2
		harness_die "$(wc -l <"$WORK/failed.txt") matrix failure(s) in group $GROUP"
	fi
}

# shellcheck disable=SC2046
group_scp02() {
	local i div
	for i in 55 15; do
		for div in none emv visa2; do
			run_card 02 $i $div $(cells 01 03)
		done
	done
}

# shellcheck disable=SC2046
group_scp03_offline() {
	local div
	for div in none kdf3; do
		run_card 03 10 $div $(cells 01 03)
		run_card 03 30 $div $(cells 01 03 11 13)
		run_card 03 70 $div $(cells 01 03 11 13 33)
	done
}

# shellcheck disable=SC2046
group_scp03_session() {
	local div
	for div in none kdf3; do
		run_card 03 00 $div $(cells 01 03)
		run_card 03 60 $div $(cells 01 03 11 13 33)
	done
}

harness_start_pcscd
case $GROUP in
scp02) group_scp02 ;;
scp03-offline) group_scp03_offline ;;
scp03-session) group_scp03_session ;;
valgrind) . "$E2E_DIR/valgrind.sh" ;;
*) harness_die "unknown group '$GROUP'" ;;
esac
finish
echo "harness: matrix group $GROUP passed" >&2
