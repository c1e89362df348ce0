#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# cpk benchmark: cardc batch with the keys in a PKCS#11 token (SoftHSM2,
# made and filled as the hsm suite does: tests/hsm/lib.sh) against the same
# batch with the keys in files, measured in one run. Two bureau set-ups:
# SCP03 i=70 with an AES master and kdf3, SCP02 i=55 with a 3DES master and
# emv; N cards of each, -j JOBS, the signing key in the token for the token
# runs. Each configuration runs ROUNDS times, alternating, and the best time
# counts. Prints the rates and the ratio token / files (target >= 0.33).
#
# usage: hsm_throughput.sh CARDC CAPGEN SOURCE_ROOT MODULE [CARDS [JOBS [ROUNDS]]]
set -u
N=${5:-1000} J=${6:-2} ROUNDS=${7:-3}
CAPGEN=$2
. "$3/tests/hsm/lib.sh"
hsm_setup "$1" "$3" "$4"
set -e
mkdir "$T/p"
"$CAPGEN" -o "$T/p/bench.cap" --size 8192 --package F043504B42454E --applet F043504B42454E01 \
    >/dev/null
for d in "$KEYS" "$TKEYS"; do
	keyset 30 aes kdf3 "$d" kdf3.yaml
	keyset 20 3des emv "$d" emv.yaml
done

# profile NAME SCP I KVN HASH KEYFILE
profile() {
	cat >"$T/p/$1.yaml" <<PROFILE
profile: 1
name: bench-$1
security-domain:
  aid: A000000151000000
  scp: "$2"
  i: "$3"
  kvn: "$4"
  security-level: c-mac+c-dec
keys:
  file: $6
steps:
  - load:
      cap: bench.cap
      hash: $5
  - install:
      applet: F043504B42454E01
PROFILE
}
profile scp03 03 70 30 sha256 kdf3.yaml
profile scp02 02 55 20 sha1 emv.yaml
awk -v n="$N" 'BEGIN { for (i = 1; i <= n; i++)
    printf "{\"sd-aid\":\"A000000151000000\",\"scp\":\"03\",\"i\":\"70\",\"kvn\":\"30\",\"kdd\":\"01020304%012d\",\"counter\":\"000001\",\"serial\":\"B-%07d\"}\n", i, i }' \
    >"$T/scp03.jsonl"
awk -v n="$N" 'BEGIN { for (i = 1; i <= n; i++)
    printf "{\"sd-aid\":\"A000000151000000\",\"scp\":\"02\",\"i\":\"55\",\"kvn\":\"20\",\"kdd\":\"01020304%012d\",\"counter\":\"0001\",\"serial\":\"B-%07d\"}\n", i, i }' \
    >"$T/scp02.jsonl"

now() {
	date +%s.%N
}

# run PROFILE KEYDIR SIGNKEY: seconds for one batch.
run() {
	rm -rf "$T/out"
	t0=$(now)
	"$CARDC" batch -p "$T/p/$1.yaml" --cards "$T/$1.jsonl" -k "$2" -s "$3" -o "$T/out" \
	    -j "$J" >"$T/batch.out"
	t1=$(now)
	grep -qx "batch: $N cards, $N bundles written, 0 failed" "$T/batch.out" ||
	    { echo "hsm_throughput: the batch failed" >&2; cat "$T/batch.out" >&2; exit 1; }
	echo "$t0 $t1" | awk '{ printf "%.6f\n", $2 - $1 }'
}

min() {
	echo "$1 ${2:-$1}" | awk '{ print ($1 < $2) ? $1 : $2 }'
}

echo "hsm-throughput: $N cards, -j $J, best of $ROUNDS runs each"
for prof in scp03 scp02; do
	best_file="" best_token="" r=0
	while [ "$r" -lt "$ROUNDS" ]; do
		best_file=$(min "$(run $prof "$KEYS" "$SIGN")" "$best_file")
		best_token=$(min "$(run $prof "$TKEYS" "$TSIGN")" "$best_token")
		r=$((r + 1))
	done
	echo "$prof $N $best_file $best_token" | awk '{
		d = $1 == "scp03" ? "SCP03 i=70, AES master, kdf3" : "SCP02 i=55, 3DES master, emv"
		printf "  %s\n", d
		printf "    key files        %8.3f s  %9.1f cards/s\n", $3, $2 / $3
		printf "    SoftHSM2 token   %8.3f s  %9.1f cards/s\n", $4, $2 / $4
		printf "    ratio token / files %6.3f (target >= 0.33)\n", $3 / $4
	}'
done
