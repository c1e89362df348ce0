#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Where cardload's resident pages are: runs `cardload --trust PUB --log FILE
# BUNDLE` for the loader-overhead bundles (a CAP of 1 KB: 7 commands; of
# 48 KB: ~210 commands) under gdb inside the e2e harness, stops it at fixed
# points of the run (a reader is opened, the receipt is encoded, each run log
# record is appended, exit) and prints, at each, VmRSS, VmHWM and the
# resident pages per mapping (smaps_summary.py). Not a gate: the numbers
# behind the peak RSS gate of loader_overhead.sh.
#
#   loader_rss_map.sh              (meson passes the loader-overhead environment)

. "${E2E_DIR:?}/harness.sh"
harness_enter "$@"
. "$(dirname "$0")/loader_lib.sh"

: "${CARDLOAD:?}" "${CARDC:?}" "${CAPGEN:?}" "${CPK_SOURCE_ROOT:?}"
command -v gdb >/dev/null || harness_die "gdb is needed"
SRC=$CPK_SOURCE_ROOT

loader_bench_setup bench-loader-rss-map

cat >"$WORK/points.gdb" <<GDB
set pagination off
set confirm off
set breakpoint pending on
python
import sys
sys.path.insert(0, "$SRC/bench")
import smaps_summary
def look(label):
    smaps_summary.summarize(gdb.selected_inferior().pid, label)
GDB
cat >>"$WORK/points.gdb" <<'GDB'
end
break cpk_pcsc_open
commands
python look("a reader is opened (the bundle is checked, its file freed)")
continue
end
break cpk_receipt_encode
commands
python look("the receipt is encoded (the commands were sent)")
continue
end
break cpk_runlog_append
commands
python look("a run log record is appended")
continue
end
catch syscall exit_group
commands
python look("exit")
continue
end
run
GDB

harness_start_pcscd
for size in 0 48000; do
	loader_bench_bundle "$size" "$WORK/b.cpk"
	echo "### CAP size $size"
	gdb -q -batch -x "$WORK/points.gdb" --args "$CARDLOAD" --trust "$PUB" \
	    --log "$WORK/run.log" "$WORK/b.cpk" </dev/null 2>&1 |
		grep -v '^\[\|^Breakpoint\|^Catchpoint\|^$\|^warning\|^Download\|^Thread\|^Using'
	harness_stop_cardsim
done
