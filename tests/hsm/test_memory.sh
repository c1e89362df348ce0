#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# A master key's bytes are not in cardc's memory when the key is in the
# token. During a batch (2 workers, its cards fed through a FIFO so that it
# cannot end before the looks are taken), gdb attaches to
# cardc and reads what gcore would dump (tests/hsm/memscan.py: every
# readable mapping not marked MADV_DONTDUMP; see there why not gcore
# itself) and counts the key's bytes:
#   - static keys from a key file: found (the search works: a card's keys
#     are on a worker's stack while it compiles), in at least one of five
#     looks;
#   - the same static keys in the token, and an emv master in the token:
#     not found, in any look counted (up to five; at least one: with the
#     keys in the token a worker is nearly always inside the token's code).
# SoftHSM2 is a library in cardc's process: a look taken while a thread is
# inside it is not counted (memscan.py), and it holds its AES keys as
# OpenSSL key schedules, whose first round key is the key itself, so the
# keys here are 3DES (whose schedules do not hold the key's bytes); a
# hardware token holds its keys outside the process (docs/SECURITY.md).
# A random key for each run, so nothing else in memory can match.
#
# usage: test_memory.sh CARDC CAPGEN SOURCE_ROOT MODULE
set -u
CAPGEN=$2
. "$(dirname "$0")/lib.sh"
hsm_setup "$1" "$3" "$4"
if [ "$(id -u)" != 0 ] || ! command -v gdb >/dev/null; then
	echo "needs root and gdb (to attach to a cardc that is not dumpable)" >&2
	exit 77
fi
MEMSCAN=$(dirname "$0")/memscan.py
mkdir -p "$T/p" "$T/o"
KEY=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n' | tr a-f A-F)
printf 'kvn: "20"\nalgorithm: 3des\nenc: %s\nmac: %s\ndek: %s\n' "$KEY" "$KEY" "$KEY" \
    >"$KEYS/rs.yaml"
printf 'kvn: "20"\nalgorithm: 3des\nmaster: %s\ndiversification: emv\n' "$KEY" >"$KEYS/rm.yaml"
chmod 600 "$KEYS/rs.yaml" "$KEYS/rm.yaml"
for k in rs rm; do
	"$CARDC" hsm import -k "$KEYS/$k.yaml" -o "$TKEYS/$k.yaml" \
	    "pkcs11:token=cpk-test;object=mem-$k" 2>"$T/import.err" ||
	    { cat "$T/import.err" >&2; exit 1; }
done
"$CAPGEN" -o "$T/p/m.cap" --size 16384 --package F043504B4D454D --applet F043504B4D454D01 ||
    exit 1
i=1
while [ $i -le 20000 ]; do
	printf '{"sd-aid":"A000000151000000","scp":"02","i":"55","kvn":"20","kdd":"0102030405060708090A","counter":"%04X","serial":"M-%05d"}\n' \
	    $((i % 65536)) $i
	i=$((i + 1))
done >"$T/cards.jsonl"

# scan NAME KEYDIR KEYFILE SIGNKEY: the count of KEY in a running batch.
scan() {
	name=$1 kd=$2 kf=$3 sk=$4
	cat >"$T/p/$name.yaml" <<PROFILE
profile: 1
name: memory
security-domain:
  aid: A000000151000000
  scp: "02"
  i: "55"
  kvn: "20"
  security-level: c-mac+c-dec
keys:
  file: $kf
steps:
  - load:
      cap: m.cap
      hash: sha1
  - install:
      applet: F043504B4D454D01
PROFILE
	rm -rf "$T/o/$name" "$T/cards.fifo"
	mkfifo "$T/cards.fifo" || exit 1
	# The cards come through a FIFO, a part at a time before each look, so
	# the run cannot end before the five looks (no timing decides it).
	"$CARDC" batch -p "$T/p/$name.yaml" --cards "$T/cards.fifo" -k "$kd" -s "$sk" \
	    -o "$T/o/$name" -j 2 >"$T/batch.out" 2>"$T/batch.err" &
	pid=$!
	exec 3>"$T/cards.fifo"
	sed -n '1,40p' "$T/cards.jsonl" >&3
	fed=40
	# Five looks (at most 40 tries), each after another 200 cards while the
	# workers are busy with them. A look taken while a thread is inside the
	# software token's own code is not counted (its key schedules are its
	# business, not cardc's). The total count.
	while [ "$(ls "$T/o/$name" 2>/dev/null | wc -l)" -lt 20 ] && kill -0 "$pid" 2>/dev/null; do
		sleep 0.1
	done
	: >"$T/scan.all"
	tries=0
	while [ "$(wc -l <"$T/scan.all")" -lt 5 ] && [ $tries -lt 40 ]; do
		sed -n "$((fed + 1)),$((fed + 200))p" "$T/cards.jsonl" >&3
		fed=$((fed + 200))
		CPK_MEMSCAN_HEX=$KEY CPK_MEMSCAN_MODULE=softhsm CPK_MEMSCAN_BREAK=cpk_bundle_zip \
		    timeout 300 gdb -batch -nx \
		    -p "$pid" -x "$MEMSCAN" >"$T/scan.out" 2>&1
		grep '^memscan: [0-9]' "$T/scan.out" >>"$T/scan.all" ||
		    grep -q '^memscan: busy' "$T/scan.out" || cat "$T/scan.out" >&2
		tries=$((tries + 1))
	done
	exec 3>&-
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	sed "s/^/$name: /" "$T/scan.all" >&2
	# With keys in the token nearly every moment of a card is inside the
	# token's code: one counted look is enough there; key files need all five.
	looks=$(wc -l <"$T/scan.all")
	if [ "$looks" -eq 0 ] || { [ "$kd" = "$KEYS" ] && [ "$looks" -lt 5 ]; }; then
		echo "-1"
		return
	fi
	sed -n 's/^memscan: \([0-9]*\) found.*/\1/p' "$T/scan.all" |
	    awk '{ n += $1 } END { print n + 0 }'
}

found=$(scan file "$KEYS" rs.yaml "$SIGN")
check "static keys from a file: the search did not find them ($found)" [ "${found:-0}" -gt 0 ]
found=$(scan token "$TKEYS" rs.yaml "$TSIGN")
check "static keys in the token: found $found copies in cardc's memory" [ "$found" = 0 ]
found=$(scan emv "$TKEYS" rm.yaml "$TSIGN")
check "emv master in the token: found $found copies in cardc's memory" [ "$found" = 0 ]
finish hsm-memory
