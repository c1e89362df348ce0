# SPDX-License-Identifier: BSD-2-Clause
# valgrind.sh: the e2e happy path under valgrind memcheck. Sourced by
# matrix.sh (group 'valgrind') inside the harness, after harness_setup and
# harness_start_pcscd.
#
# Valgrind cannot run ASan-instrumented programs, so this builds its own
# copies without sanitizers: a plain build directory (buildtype debug)
# configured once from the source tree under $CPK_BUILD_ROOT/valgrind-build
# and kept there, so later runs only rebuild what changed; ninja builds only
# e2e_matrix, cardsim and, when the main build has it, cardload.
#
# Then, each program under memcheck (--leak-check=full,
# --errors-for-leak-kinds=definite,indirect, --error-exitcode=99: any error
# and any definite or indirect leak makes the exit status 99):
#
#   1. cardsim (SCP03 i=70, kdf3-diversified keys) for the whole test: its
#      exit status after SIGTERM must be 0;
#   2. e2e_matrix, one cell: compile -> load -> GET STATUS -> DELETE at
#      level 33 (C-MAC, C-DEC, R-MAC, R-ENC) with a 16 KB package;
#   3. when cli/cardload exists: e2e_matrix --emit writes an offline bundle
#      (signed with keys/test-signing.key), `cardload --trust
#      keys/test-signing.pub BUNDLE` streams it, e2e_matrix --check-only
#      proves the install by GET STATUS;
#   4. a second card, SCP02 i=15 with emv-diversified keys, one session cell
#      at level 03 (3DES, the live INITIALIZE UPDATE path).

VG_BUILD=${CPK_BUILD_ROOT:?}/valgrind-build
VG_FLAGS="--tool=memcheck --leak-check=full --errors-for-leak-kinds=definite,indirect"
VG_FLAGS="$VG_FLAGS --show-leak-kinds=definite,indirect --error-exitcode=99 --num-callers=30"

command -v valgrind >/dev/null 2>&1 ||
	harness_die "valgrind is missing (scripts/deps.sh installs it)"

# The plain build, configured once and kept.
vg_build() {
	local targets="tests/e2e/e2e_matrix tests/cardsim/cardsim" t0=$SECONDS
	if [ ! -f "$VG_BUILD/build.ninja" ]; then
		rm -rf "$VG_BUILD"
		harness_run meson setup "$VG_BUILD" "${CPK_SOURCE_ROOT:?}" -Dbuildtype=debug \
		    -Db_sanitize=none -Dwerror=true >"$WORK/valgrind-build.log" 2>&1 </dev/null ||
			harness_die "meson setup of $VG_BUILD failed (see valgrind-build.log)"
	fi
	if [ -x "$CPK_BUILD_ROOT/cli/cardload" ]; then
		targets="$targets cli/cardload"
	fi
	# shellcheck disable=SC2086
	harness_run ninja -C "$VG_BUILD" $targets >>"$WORK/valgrind-build.log" 2>&1 </dev/null ||
		harness_die "building $targets in $VG_BUILD failed (see valgrind-build.log)"
	echo "harness: plain build of $targets: $((SECONDS - t0)) s" >&2
}

# A program under memcheck, as one word (the harness runs "$CARDSIM").
vg_wrapper() {
	local name=$1 prog=$2
	cat >"$WORK/vg-$name" <<EOF
#!/bin/sh
exec valgrind $VG_FLAGS --log-file="$WORK/valgrind-$name.%p.log" "$prog" "\$@"
EOF
	chmod +x "$WORK/vg-$name"
}

# Every memcheck log must report no error at all.
vg_check_logs() {
	local f bad=0
	for f in "$WORK"/valgrind-*.*.log; do
		[ -f "$f" ] || continue
		if ! grep -q "ERROR SUMMARY: 0 errors" "$f"; then
			echo "harness: $(basename "$f"):" >&2
			cat "$f" >&2
			bad=1
		fi
	done
	[ "$bad" = 0 ] || harness_die "memcheck reported errors or leaks"
}

# vg_matrix NAME ARGS...: e2e_matrix under memcheck, which must pass.
vg_matrix() {
	local name=$1
	shift
	harness_run "$WORK/vg-matrix" "$@" 2>"$WORK/$name.log" </dev/null
	local rc=$?
	cat "$WORK/$name.log" >&2
	[ "$rc" = 0 ] || harness_die "e2e_matrix under memcheck: status $rc (99: memcheck" \
	    "errors or leaks; see valgrind-matrix.*.log)"
}

vg_build
vg_wrapper cardsim "$VG_BUILD/tests/cardsim/cardsim"
vg_wrapper matrix "$VG_BUILD/tests/e2e/e2e_matrix"
# shellcheck disable=SC2034 # harness_start_cardsim runs "$CARDSIM"
CARDSIM=$WORK/vg-cardsim

card_config 03 70 kdf3 >"$WORK/scp03.yaml"
mkdir -p "$WORK/scp03" "$WORK/scp02" "$WORK/home"
harness_start_cardsim --config "$WORK/scp03.yaml" --state "$WORK/scp03.state"
harness_wait_card
vg_matrix matrix-scp03 -w "$WORK/scp03" --scp 03 --i 70 --div kdf3 33:16384

if [ -x "$VG_BUILD/cli/cardload" ]; then
	install -m 0600 "$CPK_SOURCE_ROOT/keys/test-signing.key" "$WORK/test-signing.key"
	install -m 0644 "$CPK_SOURCE_ROOT/keys/test-signing.pub" "$WORK/test-signing.pub"
	vg_matrix matrix-emit -w "$WORK/scp03" --scp 03 --i 70 --div kdf3 \
	    -s "$WORK/test-signing.key" --emit "$WORK/scp03/bundle.cpk" 03:16384
	vg_wrapper cardload "$VG_BUILD/cli/cardload"
	harness_run env HOME="$WORK/home" XDG_STATE_HOME="$WORK/home/state" "$WORK/vg-cardload" \
	    --trust "$WORK/test-signing.pub" "$WORK/scp03/bundle.cpk" \
	    >"$WORK/cardload.out" 2>"$WORK/cardload.log" </dev/null ||
		harness_die "cardload under memcheck failed with status $? (99: memcheck" \
		    "errors or leaks; see cardload.log and valgrind-cardload.*.log)"
	vg_matrix matrix-check -w "$WORK/scp03" --scp 03 --i 70 --div kdf3 --check-only 03:16384
else
	echo "harness: cli/cardload is not built yet: memcheck of cardload skipped" >&2
fi
harness_stop_cardsim

card_config 02 15 emv >"$WORK/scp02.yaml"
harness_start_cardsim --config "$WORK/scp02.yaml" --state "$WORK/scp02.state"
harness_wait_card
vg_matrix matrix-scp02 -w "$WORK/scp02" --scp 02 --i 15 --div emv 03:16384
harness_stop_cardsim
vg_check_logs
