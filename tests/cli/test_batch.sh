#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# cardc batch: 20 card records as JSON lines and as CSV, two of them bad;
# the bad ones are reported as FILE:LINE and the other 18 bundles written
# (and accepted by cardc verify); -j 4 writes the same bundles as -j 1 (same
# files, same plain commands: host challenges are random, so the secured
# bytes differ); --shard 1/2 and 2/2 together write everything, once;
# duplicate and missing serials; --json; '-' as stdin; fatal errors.
#
# usage: test_batch.sh CARDC CAPGEN SOURCE_ROOT
set -u
CARDC=$1 CAPGEN=$2 SRCROOT=$3
. "$(dirname "$0")/lib.sh"
setup_work
P=$T/p/install-applet.yaml

# Record N (1..20): an SCP03 card of the install-applet profile. Record 7 is
# an SCP02 card (the profile refuses it when compiling), record 13 has a
# malformed KDD (the parser refuses it).
json_record() {
	n=$1
	case $n in
	7) printf '{"sd-aid":"A000000151000000","scp":"02","i":"55","kvn":"01","kdd":"0102030405060708%02d00","counter":"0001","serial":"B-%02d"}\n' "$n" "$n" ;;
	13) printf '{"sd-aid":"A000000151000000","scp":"03","i":"70","kvn":"30","kdd":"01020304050607XX%02d00","counter":"000001","serial":"B-%02d"}\n' "$n" "$n" ;;
	*) printf '{"sd-aid":"A000000151000000","scp":"03","i":"70","kvn":"30","kdd":"0102030405060708%02d00","counter":"0000%02d","serial":"B-%02d"}\n' "$n" "$n" "$n" ;;
	esac
}
csv_record() {
	n=$1
	case $n in
	7) printf 'A000000151000000,02,55,01,0102030405060708%02d00,0001,B-%02d\n' "$n" "$n" ;;
	13) printf 'A000000151000000,03,70,30,01020304050607XX%02d00,000001,B-%02d\n' "$n" "$n" ;;
	*) printf 'A000000151000000,03,70,30,0102030405060708%02d00,0000%02d,B-%02d\n' "$n" "$n" "$n" ;;
	esac
}

# Lines: 1 comment, 2 blank, records 1-10 on lines 3-12, a comment on line
# 13, records 11-20 on lines 14-23. Record 7 is on line 9, record 13 on 16.
{
	echo "# cards for the batch test"
	echo ""
	for n in 1 2 3 4 5 6 7 8 9 10; do json_record "$n"; done
	echo "  # the second half"
	for n in 11 12 13 14 15 16 17 18 19 20; do json_record "$n"; done
} >"$T/cards.jsonl"
# CSV: the header on line 2 after a comment, records on lines 3-22: record 7
# on line 9, record 13 on line 15.
{
	echo "# cards for the batch test"
	echo "sd-aid,scp,i,kvn,kdd,counter,serial"
	for n in $(seq 1 20); do csv_record "$n"; done
} >"$T/cards.csv"

run_batch() {
	"$CARDC" batch -p "$P" -k "$KEYS" -s "$SIGN" "$@"
}

# The plain commands of a bundle, without what depends on the host challenge.
plain() {
	"$CARDC" verify "$1" -k "$KEYS" 2>&1 | awk '
	    /^bundle / { next }
	    /^ +[0-9]+  (INITIALIZE UPDATE|EXTERNAL AUTHENTICATE)$/ { print; getline; next }
	    { print }'
}

for fmt in jsonl csv; do
	F=$T/cards.$fmt
	if [ $fmt = jsonl ]; then l7=9 l13=16; else l7=9 l13=15; fi
	expect 1 "" run_batch --cards "$F" -o "$T/out-$fmt-1" -j 1
	# The summary is on stdout, the errors on stderr.
	check "$fmt: summary not on stdout" grep -qx "batch: 20 cards, 18 bundles written, 2 failed" \
	    "$T/out"
	check "$fmt: record 7 not reported at line $l7" \
	    grep -q "^cardc: $F:$l7: card B-07: the card uses SCP02 i=55, but the profile is written for SCP03 i=70$" \
	    "$T/err"
	check "$fmt: record 13 not reported at line $l13" \
	    grep -q "^cardc: $F:$l13:\([0-9]*:\)\{0,1\} 'kdd' must be hex" "$T/err"
	check "$fmt: more than two errors" test "$(grep -c '^cardc: ' "$T/err")" = 2
	ls "$T/out-$fmt-1" >"$T/list-1"
	check "$fmt: not 18 bundles" test "$(wc -l <"$T/list-1")" = 18
	check "$fmt: B-07 written" sh -c "! grep -q B-07 '$T/list-1' && ! grep -q B-13 '$T/list-1'"
	check "$fmt: temporary files left" sh -c "! ls -a '$T/out-$fmt-1' | grep -v '\\.cpk\$' | grep -v '^\\.\\.*\$'"
	expect 1 "" run_batch --cards "$F" -o "$T/out-$fmt-4" -j 4
	check "$fmt -j 4: summary" grep -qx "batch: 20 cards, 18 bundles written, 2 failed" "$T/out"
	sort "$T/err" >"$T/err-4"
	run_batch --cards "$F" -o "$T/out-$fmt-1b" -j 1 2>"$T/err-1" >/dev/null
	sort "$T/err-1" >"$T/err-1s"
	check "$fmt: -j 4 reports other errors than -j 1" cmp -s "$T/err-1s" "$T/err-4"
	ls "$T/out-$fmt-4" >"$T/list-4"
	check "$fmt: -j 4 wrote other files than -j 1" cmp -s "$T/list-1" "$T/list-4"
	for f in $(cat "$T/list-1"); do
		plain "$T/out-$fmt-1/$f" >"$T/p1"
		plain "$T/out-$fmt-4/$f" >"$T/p4"
		check "$fmt: $f does not verify" grep -q "^verify: 7 commands reproduced" "$T/p1"
		check "$fmt: $f differs between -j 1 and -j 4" cmp -s "$T/p1" "$T/p4"
	done
	# Shards: 1/2 and 2/2 split the 20 records, 10 each, by record number
	# (from 0): records 7 and 13 are numbers 6 and 12, both in shard 1/2.
	expect 1 "" run_batch --cards "$F" -o "$T/shard-$fmt" --shard 1/2 -j 3
	check "$fmt: shard 1/2 summary" \
	    grep -qx "batch: 10 cards, 8 bundles written, 2 failed (shard 1/2 of 20 records)" "$T/out"
	check "$fmt: shard 1/2 did not take record 7" grep -q ":$l7: card B-07" "$T/err"
	check "$fmt: shard 1/2 did not take record 13" grep -q ":$l13:\([0-9]*:\)\{0,1\} 'kdd'" "$T/err"
	expect 0 "" run_batch --cards "$F" -o "$T/shard-$fmt" --shard 2/2
	check "$fmt: shard 2/2 summary" \
	    grep -qx "batch: 10 cards, 10 bundles written, 0 failed (shard 2/2 of 20 records)" "$T/out"
	ls "$T/shard-$fmt" >"$T/list-s"
	check "$fmt: shards 1/2 + 2/2 differ from the whole run" cmp -s "$T/list-1" "$T/list-s"
	rm -rf "$T/out-$fmt-1" "$T/out-$fmt-1b" "$T/out-$fmt-4" "$T/shard-$fmt"
done

# Shard 1/2 of the JSON file: records 1, 3, ... 19 (numbers 0, 2, ... 18).
expect 1 "" run_batch --cards "$T/cards.jsonl" -o "$T/s" --shard 1/2 --json
check "--json: summary not on stderr" \
    grep -qx "batch: 10 cards, 8 bundles written, 2 failed (shard 1/2 of 20 records)" "$T/err"
check "--json: first result" sh -c "grep -A4 '^    {' '$T/out' | head -5 | grep -q '\"line\": 3,'"
check "--json: the failed record" grep -q '"error": "'"$T"'/cards.jsonl:9: card B-07: the card uses SCP02' "$T/out"
check "--json: a written bundle" grep -q '"bundle": "'"$T"'/s/B-03.cpk"' "$T/out"
check "--json: counts" grep -q '^  "written": 8,$' "$T/out"
if command -v python3 >/dev/null 2>&1; then
	check "--json: not JSON" python3 -c 'import json,sys; d=json.load(sys.stdin); assert len(d["results"]) == 10 and [r["line"] for r in d["results"]] == sorted(r["line"] for r in d["results"])' <"$T/out"
fi
rm -rf "$T/s"

# Every record good: exit 0; stdin.
grep -v '"B-07"\|"B-13"' "$T/cards.jsonl" >"$T/good.jsonl"
checks=$((checks + 1))
run_batch --cards - -o "$T/good" -j 2 <"$T/good.jsonl" >"$T/out" 2>"$T/err" ||
    fail "a clean batch failed"
check "clean batch summary" grep -qx "batch: 18 cards, 18 bundles written, 0 failed" "$T/out"
check "clean batch: stderr" test ! -s "$T/err"
# A second run replaces the bundles (each atomically).
expect 0 "" run_batch --cards "$T/good.jsonl" -o "$T/good"
check "rerun: not 18 files" test "$(ls "$T/good" | wc -l)" = 18

# Duplicate and missing serials: the second record with a serial is refused,
# whatever -j says; a record without a serial cannot be named.
{
	json_record 1
	json_record 2
	json_record 1
	printf '{"sd-aid":"A000000151000000","scp":"03","i":"70","kvn":"30","kdd":"01020304050607080900","counter":"000001"}\n'
	json_record 1
} >"$T/dup.jsonl"
for j in 1 4; do
	expect 1 "cardc: $T/dup.jsonl:3: serial 'B-01' was already given at line 1: each card needs its own serial" \
	    run_batch --cards "$T/dup.jsonl" -o "$T/dup-$j" -j $j
	check "dup -j $j: the last duplicate" grep -q "^cardc: $T/dup.jsonl:5: serial 'B-01' was already given at line 1" "$T/err"
	check "dup -j $j: missing serial" grep -q "^cardc: $T/dup.jsonl:4: the card record has no 'serial': batch names each bundle SERIAL.cpk$" "$T/err"
	check "dup -j $j: summary" grep -qx "batch: 5 cards, 2 bundles written, 3 failed" "$T/out"
done
# The same serial in two shards: each shard claims the serials of the
# other's records too, so the second is refused and cannot replace the
# first card's bundle.
{
	json_record 1
	json_record 2 | sed 's/"B-02"/"B-01"/'
} >"$T/dup-shard.jsonl"
expect 0 "" run_batch --cards "$T/dup-shard.jsonl" -o "$T/dup-shard" --shard 1/2
cp "$T/dup-shard/B-01.cpk" "$T/dup-shard-first.cpk"
expect 1 "cardc: $T/dup-shard.jsonl:2: serial 'B-01' was already given at line 1: each card needs its own serial" \
    run_batch --cards "$T/dup-shard.jsonl" -o "$T/dup-shard" --shard 2/2
check "dup across shards: summary" \
    grep -qx "batch: 1 card, 0 bundles written, 1 failed (shard 2/2 of 2 records)" "$T/out"
check "dup across shards: the first card's bundle was replaced" \
    cmp -s "$T/dup-shard/B-01.cpk" "$T/dup-shard-first.cpk"
# A line longer than any record: refused at its line, read past in bounded
# memory, and the records after it still compiled.
{
	json_record 1
	head -c 70000 /dev/zero | tr '\0' 'x'
	echo
	json_record 2
} >"$T/long.jsonl"
expect 1 "cardc: $T/long.jsonl:2: record of more than 65536 bytes" \
    run_batch --cards "$T/long.jsonl" -o "$T/long"
check "long line: summary" grep -qx "batch: 3 cards, 2 bundles written, 1 failed" "$T/out"
# A record another shard takes and that does not parse is that shard's to report.
{
	json_record 13
	json_record 2
} >"$T/bad-other.jsonl"
expect 0 "" run_batch --cards "$T/bad-other.jsonl" -o "$T/bad-other" --shard 2/2
check "bad record of another shard reported" test ! -s "$T/err"

# Fatal errors: nothing to run.
expect 1 "cannot open cards file '$T/none.jsonl'" run_batch --cards "$T/none.jsonl" -o "$T/f"
mkdir -p "$T/adir"
expect 1 "cards file '$T/adir' is a directory, not a regular file" run_batch --cards "$T/adir" -o "$T/f"
printf 'sd-aid,scp,colour\n' >"$T/badhdr.csv"
expect 1 "cardc: $T/badhdr.csv:1:" run_batch --cards "$T/badhdr.csv" -o "$T/f"
expect 1 "cannot open '$T/none.yaml'" "$CARDC" batch -p "$T/none.yaml" --cards "$T/good.jsonl" \
    -k "$KEYS" -s "$SIGN" -o "$T/f"
printf 'x' >"$T/file"
expect 1 "cannot create output folder '$T/file/sub'" run_batch --cards "$T/good.jsonl" \
    -o "$T/file/sub"
expect 1 "output '$T/file' is not a folder" run_batch --cards "$T/good.jsonl" -o "$T/file"
# An empty file: nothing to do, nothing failed.
: >"$T/empty.jsonl"
expect 0 "" run_batch --cards "$T/empty.jsonl" -o "$T/e"
check "empty: summary" grep -qx "batch: 0 cards, 0 bundles written, 0 failed" "$T/out"

finish batch
