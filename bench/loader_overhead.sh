#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Benchmark: cardload's wall time for a bundle against a bare SCardTransmit
# replay of the same APDUs through the same pcscd and card simulator, in one
# run, inside the e2e harness (private pcscd + vpcd + cardsim, see
# tests/e2e/harness.sh). Prints the medians, their ratio and difference, and
# cardload's peak resident set; fails when the gates are not met (cardload
# <= replay + 10 ms, peak RSS <= 6 MB).
#
#   loader_overhead.sh [ROUNDS]    (meson passes CARDSIM, GPCLIENT, E2E_DIR,
#                                   E2E_WORK, CARDLOAD, CARDC, CAPGEN,
#                                   LOADER_OVERHEAD, CPK_SOURCE_ROOT)
#
# For each bundle size (a CAP of 1 KB: 7 commands; of 48 KB: ~210 commands),
# the card is identified once and its state file kept; each round restores
# that state, so cardload and the replay see the very same card (SCP03 i=70:
# the same counter, so the same card challenge and cryptograms), then
#   - times `cardload --trust PUB --log FILE BUNDLE` (spawn to exit), and
#   - times the replay of the bundle's APDUs, each of which must answer 9000,
#     from spawning loader_overhead replay to its exit (a bare C program:
#     SCardEstablishContext, one transaction, SCardReleaseContext).
# The ratio is median(cardload) / median(replay), the overhead their difference. The build type matters:
# run it in a release build (a sanitizer build measures the sanitizers).

. "${E2E_DIR:?}/harness.sh"
harness_enter "$@"
. "$(dirname "$0")/loader_lib.sh"

ROUNDS=${1:-7}
: "${CARDLOAD:?}" "${CARDC:?}" "${CAPGEN:?}" "${LOADER_OVERHEAD:?}" "${CPK_SOURCE_ROOT:?}"

loader_bench_setup bench-loader-overhead

# Restore the card to its identified state and insert it.
fresh_card() {
	cp "$WORK/identified.state" "$WORK/card.state" || harness_die "restore state"
	harness_start_cardsim --state "$WORK/card.state"
	harness_wait_card
}

median() {
	sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

# bench_size LABEL CAP-SIZE
bench_size() {
	local label=$1 size=$2 r ncmd mc mr
	loader_bench_bundle "$size" "$WORK/$label.cpk"
	harness_stop_cardsim
	cp "$WORK/card.state" "$WORK/identified.state"
	"$LOADER_OVERHEAD" extract "$WORK/$label.cpk" "$PUB" >"$WORK/$label.apdus" ||
		harness_die "extract"
	ncmd=$(wc -l <"$WORK/$label.apdus")
	: >"$WORK/$label.cardload"
	: >"$WORK/$label.replay"
	for r in $(seq 1 "$ROUNDS"); do
		fresh_card
		harness_run "$LOADER_OVERHEAD" cardload "$CARDLOAD" --trust "$PUB" \
		    --log "$WORK/run.log" "$WORK/$label.cpk" </dev/null >>"$WORK/$label.cardload" \
		    2>>"$WORK/cardload.err" || harness_die "cardload failed (see cardload.err)"
		harness_stop_cardsim
		fresh_card
		harness_run "$LOADER_OVERHEAD" cardload "$LOADER_OVERHEAD" replay "$WORK/$label.apdus" \
		    </dev/null >>"$WORK/$label.replay" || harness_die "replay failed"
		harness_stop_cardsim
	done
	mc=$(cut -d' ' -f1 <"$WORK/$label.cardload" | median)
	mr=$(cut -d' ' -f1 <"$WORK/$label.replay" | median)
	rss=$(cut -d' ' -f2 <"$WORK/$label.cardload" | sort -n | tail -n 1)
	rrss=$(cut -d' ' -f2 <"$WORK/$label.replay" | sort -n | tail -n 1)
	awk -v l="$label" -v n="$ncmd" -v c="$mc" -v r="$mr" -v k="$ROUNDS" -v m="$rss" \
	    -v rm="$rrss" 'BEGIN {
		printf "%-6s %4d commands  cardload %8.1f ms  replay %8.1f ms  ratio %.2f  " \
		    "overhead %+.1f ms  (median of %d); peak RSS cardload %.1f MB, replay %.1f MB\n",
		    l, n, c / 1000, r / 1000, c / r, (c - r) / 1000, k, m / 1024, rm / 1024 }'
	if [ $((mc - mr)) -gt 10000 ] || [ "$rss" -gt 6144 ]; then
		echo "gate: $label: cardload must take at most the replay + 10 ms, and at most 6 MB"
		gates_failed=1
	fi
}
gates_failed=0

harness_start_pcscd
echo "loader overhead: cardload / bare SCardTransmit replay, both spawn to exit"
# The build's choice (meson option cardload_libcrypto): ~1 MB of resident memory.
if ldd "$CARDLOAD" | grep -q 'libcrypto\.so'; then
	echo "cardload links libcrypto: shared (cardload_libcrypto=shared)"
else
	echo "cardload links libcrypto: static (cardload_libcrypto=static)"
fi
bench_size small 0
bench_size large 48000
if [ "$gates_failed" = 0 ]; then
	echo "gates (cardload <= replay + 10 ms, peak RSS <= 6 MB): met"
else
	echo "gates (cardload <= replay + 10 ms, peak RSS <= 6 MB): NOT MET"
	exit 1
fi
