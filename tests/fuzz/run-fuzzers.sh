#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Run the libFuzzer targets for a while each (see tests/fuzz/README.md).
#
# usage: tests/fuzz/run-fuzzers.sh [--merge] SECONDS [TARGET...]
#
# Configures the libFuzzer build directory with clang if it does not exist
# (build-fuzz, or $CPK_FUZZ_BUILDDIR), builds the targets, and runs each
# TARGET (default: every tests/fuzz/fuzz_<name>.c; give names, e.g. "tlv")
# for SECONDS with its committed corpus tests/fuzz/corpus/<name>.
#
# New inputs go to BUILDDIR/fuzz-work/<name>/corpus, never into the
# committed corpus; with --merge, the inputs that add coverage are then
# merged into it (review them before committing). Crashing, leaking and
# slow inputs are written to BUILDDIR/fuzz-work/<name>/ (crash-*, leak-*,
# timeout-*, oom-*), with the libFuzzer output in fuzz.log there.
#
# Prints one line per target (executions, speed, corpus growth, verdict)
# and exits 1 if any target crashed. Extra libFuzzer flags: $CPK_FUZZ_ARGS.
set -eu
cd "$(dirname "$0")/../.."
builddir=${CPK_FUZZ_BUILDDIR:-build-fuzz}

usage() {
	echo "usage: tests/fuzz/run-fuzzers.sh [--merge] SECONDS [TARGET...]" >&2
	exit 2
}

merge=0
if [ "${1:-}" = "--merge" ]; then
	merge=1
	shift
fi
[ $# -ge 1 ] || usage
secs=$1
shift
case $secs in
''|*[!0-9]*) usage ;;
esac

if [ $# -eq 0 ]; then
	for f in tests/fuzz/fuzz_*.c; do
		name=${f#tests/fuzz/fuzz_}
		set -- "$@" "${name%.c}"
	done
fi
for name in "$@"; do
	if [ ! -f "tests/fuzz/fuzz_$name.c" ] || [ ! -d "tests/fuzz/corpus/$name" ]; then
		echo "run-fuzzers: no target '$name' (tests/fuzz/fuzz_$name.c and corpus/$name)" >&2
		exit 2
	fi
done

if [ ! -f "$builddir/build.ninja" ]; then
	# -fsanitize=fuzzer-no-link on everything: libFuzzer then sees the
	# coverage of the library parsers, not only of the targets.
	CC=${CC:-clang} meson setup "$builddir" -Dfuzzing=true \
	    -Db_sanitize=address,undefined -Db_lundef=false \
	    -Dc_args=-fsanitize=fuzzer-no-link >/dev/null
fi
if ! python3 - "$builddir/meson-info/intro-buildoptions.json" <<'PY'
import json, sys
opts = {o["name"]: o["value"] for o in json.load(open(sys.argv[1]))}
sys.exit(0 if opts.get("fuzzing") is True else 1)
PY
then
	echo "run-fuzzers: $builddir is not configured with -Dfuzzing=true" >&2
	exit 2
fi
targets=
for name in "$@"; do
	targets="$targets fuzz_$name"
done
# shellcheck disable=SC2086 # one word per target
meson compile -C "$builddir" $targets >/dev/null

# A sanitizer report is a crash; leaks are reported by libFuzzer itself.
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS ASAN_OPTIONS

final_stat() {
	sed -n "s/^stat::$1: *//p" "$2" | tail -n 1
}

crashed=0
for name in "$@"; do
	exe=$builddir/tests/fuzz/fuzz_$name
	corpus=tests/fuzz/corpus/$name
	work=$builddir/fuzz-work/$name
	mkdir -p "$work/corpus"
	log=$work/fuzz.log
	rc=0
	# The first directory receives new inputs: the scratch one.
	# shellcheck disable=SC2086 # CPK_FUZZ_ARGS is a list of flags
	"$exe" -max_total_time="$secs" -print_final_stats=1 -timeout=10 \
	    -rss_limit_mb=2048 -artifact_prefix="$work/" ${CPK_FUZZ_ARGS:-} \
	    "$work/corpus" "$corpus" >"$log" 2>&1 || rc=$?
	execs=$(final_stat number_of_executed_units "$log")
	speed=$(final_stat average_exec_per_sec "$log")
	added=$(final_stat new_units_added "$log")
	printf '%-14s %s s, %s execs (%s/s), %s new inputs: ' "$name" "$secs" \
	    "${execs:-?}" "${speed:-?}" "${added:-?}"
	if [ "$rc" -ne 0 ]; then
		crashed=1
		echo "CRASH (exit $rc)"
		grep -E '^(SUMMARY|==[0-9]+==ERROR)|runtime error|deadly signal|Test unit written' \
		    "$log" | head -n 6 | sed 's/^/    /'
		echo "    full output: $log"
		continue
	fi
	echo "ok"
	if [ "$merge" -eq 1 ]; then
		before=$(find "$corpus" -type f | wc -l)
		"$exe" -merge=1 -artifact_prefix="$work/" "$corpus" "$work/corpus" \
		    >"$work/merge.log" 2>&1
		after=$(find "$corpus" -type f | wc -l)
		echo "    merged into $corpus: $before -> $after files"
	fi
done
exit "$crashed"
