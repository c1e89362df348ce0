#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# cpk benchmark: cardc batch with the SQLite issuance registry against the
# same batch without it, measured in one run. N cards of the install-applet
# example profile; each configuration runs ROUNDS times, alternating, and
# the best time of each counts (a fresh registry file and output folder for
# every run, made before the clock starts). Prints both rates and the ratio
# with / without (1.0 would mean the registry costs nothing; the target is
# at least 0.8).
#
# usage: registry_overhead.sh CARDC CAPGEN SOURCE_ROOT [CARDS [JOBS [ROUNDS]]]
set -eu
CARDC=$1 CAPGEN=$2 SRCROOT=$3
N=${4:-1000} J=${5:-2} ROUNDS=${6:-3}
umask 022
W=$(mktemp -d "${TMPDIR:-/tmp}/cpk-bench-XXXXXX")
trap 'rm -rf "$W"' EXIT INT TERM
mkdir "$W/keys" "$W/p"
cp "$SRCROOT/keys/gp-test-keys-aes.yaml" "$W/keys/"
cp "$SRCROOT/keys/test-signing.key" "$W/"
chmod 600 "$W/keys/"* "$W/test-signing.key"
cp "$SRCROOT/profiles/install-applet.yaml" "$W/p/"
"$CAPGEN" -o "$W/p/hello.cap" --package F043504B48454C4C4F --applet F043504B48454C4C4F01 >/dev/null
awk -v n="$N" 'BEGIN { for (i = 1; i <= n; i++)
    printf "{\"sd-aid\":\"A000000151000000\",\"scp\":\"03\",\"i\":\"70\",\"kvn\":\"30\",\"kdd\":\"01020304%012d\",\"counter\":\"000001\",\"serial\":\"B-%07d\"}\n", i, i }' \
    >"$W/cards.jsonl"

now() {
	date +%s.%N
}

# run REGISTRY: seconds for one batch.
run() {
	rm -rf "$W/out" "$W/reg.db" "$W/reg.db-wal" "$W/reg.db-shm"
	if [ "$1" != none ]; then
		"$CARDC" registry init --registry "$1" >/dev/null
	fi
	t0=$(now)
	"$CARDC" batch -p "$W/p/install-applet.yaml" --cards "$W/cards.jsonl" -k "$W/keys" \
	    -s "$W/test-signing.key" -o "$W/out" -j "$J" --registry "$1" >"$W/batch.out"
	t1=$(now)
	grep -qx "batch: $N cards, $N bundles written, 0 failed" "$W/batch.out" ||
	    { echo "registry_overhead: the batch failed" >&2; cat "$W/batch.out" >&2; exit 1; }
	echo "$t0 $t1" | awk '{ printf "%.6f\n", $2 - $1 }'
}

best_plain=""
best_reg=""
r=0
while [ "$r" -lt "$ROUNDS" ]; do
	t=$(run none)
	best_plain=$(echo "$t ${best_plain:-$t}" | awk '{ print ($1 < $2) ? $1 : $2 }')
	t=$(run "sqlite:$W/reg.db")
	best_reg=$(echo "$t ${best_reg:-$t}" | awk '{ print ($1 < $2) ? $1 : $2 }')
	r=$((r + 1))
done
echo "$N $J $ROUNDS $best_plain $best_reg" | awk '{
	printf "registry-overhead: %d cards, -j %d, best of %d runs each\n", $1, $2, $3
	printf "  cardc batch without registry  %8.3f s  %9.1f cards/s\n", $4, $1 / $4
	printf "  cardc batch with SQLite       %8.3f s  %9.1f cards/s\n", $5, $1 / $5
	printf "  ratio with / without         %9.3f (target >= 0.8)\n", $4 / $5
}'
