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

: "${CARDLOAD:?}" "${CARDC:?}" "${CAPGEN:?}" "${CPK_SOURCE_ROOT:?}"
command -v gdb >/dev/null || harness_die "gdb is needed"
SRC=$CPK_SOURCE_ROOT
PKG=F043504B48454C4C4F
APP=F043504B48454C4C4F01

harness_setup bench-loader-rss-map
mkdir -p "$WORK/keys" "$WORK/p" "$WORK/home" || harness_die "mkdir"
export HOME=$WORK/home XDG_STATE_HOME=$WORK/home/state XDG_CONFIG_HOME=$WORK/home/config
cp "$SRC/keys/test-signing.key" "$SRC/keys/gp-test-keys-aes.yaml" "$WORK/keys/" &&
    chmod 600 "$WORK"/keys/* && cp "$SRC/profiles/install-applet.yaml" "$WORK/p/" ||
	harness_die "setup"
PUB=$WORK/keys/test-signing.pub
install -m 0644 "$SRC/keys/test-signing.pub" "$PUB" || harness_die "setup"

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
	rm -f "$WORK/card.state"
	"$CAPGEN" -o "$WORK/p/hello.cap" --package $PKG --applet $APP --size "$size" >/dev/null ||
		harness_die "capgen"
	harness_start_cardsim --config "$E2E_DIR/cards/scp03.yaml" --state "$WORK/card.state"
	harness_wait_card
	harness_run "$CARDLOAD" identify -o "$WORK/card.yaml" </dev/null 2>/dev/null ||
		harness_die "identify failed"
	"$CARDC" compile -p "$WORK/p/install-applet.yaml" -c "$WORK/card.yaml" -k "$WORK/keys" \
	    -s "$WORK/keys/test-signing.key" -o "$WORK/b.cpk" || harness_die "compile"
	echo "### CAP size $size"
	gdb -q -batch -x "$WORK/points.gdb" --args "$CARDLOAD" --trust "$PUB" \
	    --log "$WORK/run.log" "$WORK/b.cpk" </dev/null 2>&1 |
		grep -v '^\[\|^Breakpoint\|^Catchpoint\|^$\|^warning\|^Download\|^Thread\|^Using'
	harness_stop_cardsim
done
