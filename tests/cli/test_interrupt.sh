#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# cardc batch stops cleanly on SIGINT, SIGTERM and SIGHUP: "interrupted
# batch: exit 1, where it stopped, no temporary file, finished bundles
# intact". The cards come through a FIFO: cardc writes the bundles of the
# first records and then waits for the next line; the signal comes there
# (mid-batch, input still open). Then: exit status 1, the message naming
# the signal, the line and the counts and how to resume, the summary line,
# no temporary file in OUTDIR, and the finished bundles verify. The same
# with -j 3 and with --json. A signal before the cards file is open (a FIFO
# with no writer yet) ends the run at once: nothing was written.
#
# usage: test_interrupt.sh CARDC CAPGEN SOURCE_ROOT
set -u
CARDC=$1 CAPGEN=$2 SRCROOT=$3
. "$(dirname "$0")/lib.sh"
setup_work
P=$T/p/install-applet.yaml

# A shell without job control starts background jobs with SIGINT ignored,
# and cardc leaves a signal it was started with ignored alone (see the nohup
# case below): the signals are reset to their default first.
RUN="env --default-signal=INT,TERM,HUP"

# interrupt SIGNAL NAME CARDS [OPTIONS...]: a batch of CARDS records (as
# two comment lines and CARDS records, lines 3..CARDS+2) through a FIFO,
# SIGNAL once the last bundle is there; cardc's exit status in $rc, its
# output in $T/out and $T/err.
interrupt() {
	sig=$1 name=$2 n=$3
	shift 3
	D=$T/$name
	mkdir -p "$D"
	rm -f "$T/cards.fifo"
	mkfifo "$T/cards.fifo"
	$RUN "$CARDC" batch -p "$P" -k "$KEYS" -s "$SIGN" --cards "$T/cards.fifo" -o "$D/out" "$@" \
	    >"$T/out" 2>"$T/err" &
	pid=$!
	exec 3<>"$T/cards.fifo"
	{ echo "# cards"; echo ""; for i in $(seq 1 "$n"); do record "$i"; done; } >&3
	checks=$((checks + 1))
	wait_file "$D/out/B-$(printf %02d "$n").cpk" || fail "$name: bundle $n never written"
	kill "-$sig" "$pid"
	wait "$pid"
	rc=$?
	exec 3>&-
	last=$((n + 2))
}

# check_stopped NAME N SIGNAL: what an interrupted run of N cards leaves.
check_stopped() {
	name=$1 n=$2 sig=$3
	if [ "$n" = 1 ]; then done="1 card finished (1 bundle written"; else
		done="$n cards finished ($n bundles written"; fi
	check "$name: exit $rc, not 1" test "$rc" = 1
	check "$name: no interruption message: $(cat "$T/err")" grep -qx "cardc: interrupted ($sig) after line $last of $T/cards.fifo: $done, 0 failed), no card started after the signal, no temporary file left; to resume, run cardc batch on the records after line $last" "$T/err"
	check "$name: temporary files left" sh -c "! ls -A '$D/out' | grep -v '^B-[0-9][0-9]\\.cpk\$'"
	check "$name: not $n bundles" test "$(ls "$D/out" | wc -l)" = "$n"
	for f in "$D"/out/*.cpk; do
		check "$name: $f does not verify" sh -c \
		    "'$CARDC' verify '$f' -k '$KEYS' --trust '$PUB' 2>&1 | grep -q '^verify: 7 commands reproduced'"
	done
}

interrupt INT sigint 2
check_stopped sigint 2 SIGINT
check "sigint: summary" grep -qx "batch: 2 cards, 2 bundles written, 0 failed" "$T/out"

interrupt TERM sigterm 3 -j 3
check_stopped sigterm 3 SIGTERM
check "sigterm: summary" grep -qx "batch: 3 cards, 3 bundles written, 0 failed" "$T/out"

interrupt HUP sighup 1 --json
check_stopped sighup 1 SIGHUP
check "sighup: summary" grep -qx "batch: 1 card, 1 bundle written, 0 failed" "$T/err"
check "sighup --json: interrupted" grep -q '^  "interrupted": "SIGHUP",$' "$T/out"
check "sighup --json: last line" grep -q '^  "last-line": 3,$' "$T/out"

# Started with SIGHUP ignored (nohup): the batch goes on through a SIGHUP
# (the card sent after it is made), and SIGTERM still stops it.
rm -f "$T/cards.fifo"
mkfifo "$T/cards.fifo"
D=$T/nohup
mkdir -p "$D"
env --default-signal=INT,TERM --ignore-signal=HUP "$CARDC" batch -p "$P" -k "$KEYS" \
    -s "$SIGN" --cards "$T/cards.fifo" -o "$D/out" >"$T/out" 2>"$T/err" &
pid=$!
exec 3<>"$T/cards.fifo"
{ echo "# cards"; echo ""; record 1; } >&3
checks=$((checks + 1))
wait_file "$D/out/B-01.cpk" || fail "nohup: bundle 1 never written"
kill -HUP "$pid"
record 2 >&3
checks=$((checks + 1))
wait_file "$D/out/B-02.cpk" || fail "nohup: SIGHUP stopped a batch started with it ignored"
kill -TERM "$pid"
wait "$pid"
rc=$?
exec 3>&-
last=4
check_stopped nohup 2 SIGTERM

# CSV: the resume advice keeps the header in mind.
rm -f "$T/cards.fifo"
mkfifo "$T/cards.fifo"
D=$T/csv
mkdir -p "$D"
$RUN "$CARDC" batch -p "$P" -k "$KEYS" -s "$SIGN" --cards "$T/cards.fifo" -o "$D/out" \
    >"$T/out" 2>"$T/err" &
pid=$!
exec 3<>"$T/cards.fifo"
printf 'sd-aid,scp,i,kvn,kdd,counter,serial\nA000000151000000,03,70,30,01020304050607080100,000001,B-01\n' >&3
checks=$((checks + 1))
wait_file "$D/out/B-01.cpk" || { fail "csv: no bundle"; cat "$T/err" >&2; }
kill -INT "$pid"
wait "$pid"
rc=$?
exec 3>&-
check "csv: exit $rc, not 1" test "$rc" = 1
check "csv: resume advice" grep -q "after line 2 of $T/cards.fifo: 1 card finished (1 bundle written, 0 failed), .*; to resume, run cardc batch on the records after line 2 (under the CSV header line)$" "$T/err"

# Before the cards file is open: cardc waits in open() for a writer of the
# FIFO (the kernel shows wait_for_partner in /proc/PID/wchan); a signal ends
# the run there, and no output folder holds anything.
rm -f "$T/cards.fifo"
mkfifo "$T/cards.fifo"
D=$T/early
mkdir -p "$D"
$RUN "$CARDC" batch -p "$P" -k "$KEYS" -s "$SIGN" --cards "$T/cards.fifo" -o "$D/out" \
    >"$T/out" 2>"$T/err" &
pid=$!
while [ "$(cat "/proc/$pid/wchan" 2>/dev/null)" != wait_for_partner ] &&
    kill -0 "$pid" 2>/dev/null; do
	sleep 0.05
done
if [ "$(cat "/proc/$pid/wchan" 2>/dev/null)" = wait_for_partner ]; then
	kill -TERM "$pid"
	wait "$pid"
	rc=$?
	check "early: exit $rc, not 1" test "$rc" = 1
	check "early: message: $(cat "$T/err")" grep -qx \
	    "cardc: interrupted (SIGTERM) before the first card: nothing was written" "$T/err"
	check "early: something written" test -z "$(ls -A "$D/out")"
else
	echo "note: /proc/PID/wchan does not show the FIFO wait: early signal not tested" >&2
	wait "$pid"
fi

finish interrupt
