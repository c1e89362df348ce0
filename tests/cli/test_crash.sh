#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# cardc batch killed with SIGKILL (a crash: no handler runs) never leaves a
# partial bundle under a bundle's name: every OUTDIR/SERIAL.cpk that exists
# after the kill is byte for byte the bundle a complete run makes, and
# anything else is a temporary file (.SERIAL.cpk.XXXXXX); nothing was
# reported written. The kill comes at a count, never after a delay:
#   - CPK_BATCH_FAULT=kill-after-write:N, as the N-th temporary file is
#     written and before it is synced and renamed (the worst moment: other
#     bundles are being synced and renamed by then), with -j 1 and -j 2;
#   - kill -9 from outside once bundle N is in place, its cards fed through
#     a FIFO and the cards after it still in the works.
# A page cache that a crash of the machine would lose cannot be observed
# from here; the rename after the fsync, and the folder sync before the
# report, are what make the names durable (cardc_batch.c).
#
# usage: test_crash.sh CARDC CAPGEN SOURCE_ROOT
set -u
CARDC=$1 CAPGEN=$2 SRCROOT=$3
. "$(dirname "$0")/lib.sh"
setup_work
P=$T/p/install-applet.yaml
N=30
export SOURCE_DATE_EPOCH=1700000000

{ echo "# cards"; for i in $(seq 1 "$N"); do record "$i"; done; } >"$T/cards.jsonl"
"$CARDC" batch -p "$P" -k "$KEYS" -s "$SIGN" --cards "$T/cards.jsonl" -o "$T/ref" \
    >"$T/out" 2>"$T/err" || { cat "$T/err" >&2; fail "the reference batch failed"; }
check "reference: summary" grep -qx "batch: $N cards, $N bundles written, 0 failed" "$T/out"

# after_crash NAME DIR: what a killed batch may leave in DIR.
after_crash() {
	name=$1 d=$2
	check "$name: reported bundles written: $(cat "$T/out")" sh -c "! grep -q 'written' '$T/out'"
	for f in $(ls -A "$d"); do
		case $f in
		B-[0-9][0-9].cpk)
			check "$name: $f differs from the complete run's (partial?)" \
			    cmp -s "$d/$f" "$T/ref/$f" ;;
		.B-[0-9][0-9].cpk.??????) ;;
		*) fail "$name: unexpected entry '$f' in the output folder" ;;
		esac
	done
}

# kill-after-write:K: killed by the count, the K-th bundle only in its temporary file.
fault() {
	name=$1 k=$2
	shift 2
	rm -rf "$T/$name"
	CPK_BATCH_FAULT=kill-after-write:$k "$CARDC" batch -p "$P" -k "$KEYS" -s "$SIGN" \
	    --cards "$T/cards.jsonl" -o "$T/$name" "$@" >"$T/out" 2>"$T/err"
	rc=$?
	check "$name: exit $rc, not killed by SIGKILL (137)" test "$rc" = 137
	after_crash "$name" "$T/$name"
	temps=$(ls -A "$T/$name" | grep -c '^\.B-.*\.cpk\.')
	check "$name: no temporary file left by the kill" test "$temps" -ge 1
	named=$(ls "$T/$name" | grep -c '^B-..\.cpk$')
	check "$name: $named bundles in place, at most $((k - 1)) could be" test "$named" -lt "$k"
}
fault fault-j1 5
fault fault-j2 9 -j 2
fault fault-first 1
check "fault-first: no bundle in place" test "$(ls "$T/fault-first" | wc -l)" = 0

# kill -9 from outside: bundle 5 in place, records up to 12 given.
rm -f "$T/cards.fifo"
mkfifo "$T/cards.fifo"
"$CARDC" batch -p "$P" -k "$KEYS" -s "$SIGN" --cards "$T/cards.fifo" -o "$T/kill9" -j 2 \
    >"$T/out" 2>"$T/err" &
pid=$!
exec 3<>"$T/cards.fifo"
{ echo "# cards"; for i in $(seq 1 12); do record "$i"; done; } >&3
checks=$((checks + 1))
wait_file "$T/kill9/B-05.cpk" || fail "kill9: bundle 5 never written"
kill -KILL "$pid"
wait "$pid"
rc=$?
exec 3>&-
check "kill9: exit $rc, not 137" test "$rc" = 137
after_crash kill9 "$T/kill9"

# The run after a crash writes every bundle again, the same bytes.
"$CARDC" batch -p "$P" -k "$KEYS" -s "$SIGN" --cards "$T/cards.jsonl" -o "$T/kill9" \
    >"$T/out" 2>"$T/err"
check "rerun: summary" grep -qx "batch: $N cards, $N bundles written, 0 failed" "$T/out"
for i in $(seq -w 1 "$N"); do
	check "rerun: B-$i.cpk differs" cmp -s "$T/kill9/B-$i.cpk" "$T/ref/B-$i.cpk"
done

# The fault variable is for tests, and checked.
CPK_BATCH_FAULT=kill-after:3 "$CARDC" batch -p "$P" -k "$KEYS" -s "$SIGN" \
    --cards "$T/cards.jsonl" -o "$T/bad" >"$T/out" 2>"$T/err"
rc=$?
check "bad fault: exit $rc" test "$rc" != 0
check "bad fault: message: $(cat "$T/err")" grep -q "CPK_BATCH_FAULT 'kill-after:3': expected kill-after-write:N (tests only)" "$T/err"
check "bad fault: nothing written" test ! -e "$T/bad"
finish crash
