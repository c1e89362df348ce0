# SPDX-License-Identifier: BSD-2-Clause
# Sourced by loader_overhead.sh and loader_rss_map.sh (after harness.sh):
# the bundles both measure cardload with.
#
#   loader_bench_setup NAME     work folder (harness_setup NAME), HOME, the
#                               test keys and profile; PUB: the trust anchor
#   loader_bench_bundle SIZE OUT  a fresh card (cardsim on $WORK/card.state,
#                               left running), identified, and OUT compiled
#                               for it with a CAP of SIZE bytes of code

LOADER_PKG=F043504B48454C4C4F
LOADER_APP=F043504B48454C4C4F01

loader_bench_setup() {
	harness_setup "$1"
	mkdir -p "$WORK/keys" "$WORK/p" "$WORK/home" || harness_die "mkdir"
	export HOME=$WORK/home XDG_STATE_HOME=$WORK/home/state XDG_CONFIG_HOME=$WORK/home/config
	cp "$CPK_SOURCE_ROOT/keys/test-signing.key" "$CPK_SOURCE_ROOT/keys/gp-test-keys-aes.yaml" \
	    "$WORK/keys/" && chmod 600 "$WORK"/keys/* &&
	    cp "$CPK_SOURCE_ROOT/profiles/install-applet.yaml" "$WORK/p/" || harness_die "setup"
	# A trust anchor owned by the user running the bench, writable by nobody else.
	PUB=$WORK/keys/test-signing.pub
	install -m 0644 "$CPK_SOURCE_ROOT/keys/test-signing.pub" "$PUB" || harness_die "setup"
}

loader_bench_bundle() {
	rm -f "$WORK/card.state"
	"$CAPGEN" -o "$WORK/p/hello.cap" --package $LOADER_PKG --applet $LOADER_APP \
	    --size "$1" >/dev/null || harness_die "capgen"
	harness_start_cardsim --config "$E2E_DIR/cards/scp03.yaml" --state "$WORK/card.state"
	harness_wait_card
	harness_run "$CARDLOAD" identify -o "$WORK/card.yaml" </dev/null 2>/dev/null ||
		harness_die "identify failed"
	"$CARDC" compile -p "$WORK/p/install-applet.yaml" -c "$WORK/card.yaml" -k "$WORK/keys" \
	    -s "$WORK/keys/test-signing.key" -o "$2" || harness_die "compile"
}
