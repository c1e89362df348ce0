#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# cpk's main job, end to end, on the built-in simulated card:
#   install what is missing, build, start a private pcscd with the card
#   simulator behind it, identify the card, compile an example profile for
#   it, load the bundle, and show the card's registry.
#
# usage: scripts/demo.sh
# It runs as root (re-executing itself under sudo): it installs packages and
# runs pcscd in private namespaces.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
# shellcheck source=as-root.sh
. scripts/as-root.sh
cpk_as_root "$root/scripts/demo.sh" "$@"
export CPK_DEMO_BUILD=${CPK_DEMO_BUILD:-$root/build-demo}

# CPK_DEMO_SKIP_BUILD=1: use an existing build (the e2e test of this script).
if [ "${CPK_HARNESS_NS:-}" != 1 ] && [ "${CPK_DEMO_SKIP_BUILD:-}" != 1 ]; then
	sh scripts/deps.sh
	if [ ! -f "$CPK_DEMO_BUILD/build.ninja" ]; then
		meson setup "$CPK_DEMO_BUILD" -Dbuildtype=release >/dev/null
	fi
	echo "demo: building in $CPK_DEMO_BUILD" >&2
	meson compile -C "$CPK_DEMO_BUILD" >/dev/null
fi

b=$CPK_DEMO_BUILD
export CARDSIM=$b/tests/cardsim/cardsim
export GPCLIENT=$b/tests/e2e/gpclient
export E2E_DIR=$root/tests/e2e
export E2E_WORK=${E2E_WORK:-${TMPDIR:-/tmp}/cpk-demo}
CARDC=$b/cli/cardc
CARDLOAD=$b/cli/cardload
CAPGEN=$b/tests/capgen/capgen

# shellcheck source=../tests/e2e/harness.sh
. "$E2E_DIR/harness.sh"
harness_enter "$@"
harness_setup demo

step() { printf '\n== %s\n' "$*" >&2; }

step "a private pcscd and the simulated card (SCP03, i=70, GlobalPlatform test keys)"
harness_start_pcscd
harness_start_cardsim --config "$E2E_DIR/cards/scp03.yaml" --state "$WORK/card.state"
harness_wait_card
"$CARDLOAD" readers

step "cardload identify: the card record the bureau needs"
"$CARDLOAD" identify -o "$WORK/card.yaml"
cat "$WORK/card.yaml" >&2

step "cardc compile: profiles/install-applet.yaml for this card (offline, signed)"
mkdir -p "$WORK/bureau"
cp profiles/install-applet.yaml keys/gp-test-keys-aes.yaml keys/test-signing.key "$WORK/bureau/"
chmod 600 "$WORK/bureau/"*
# The technician's trust anchor: the bureau's public key, owned by whoever runs
# cardload and writable by nobody else (the checkout's copy may not be).
install -m 0644 keys/test-signing.pub "$WORK/trusted.pub"
"$CAPGEN" -o "$WORK/bureau/hello.cap" --package F043504B48454C4C4F \
    --applet F043504B48454C4C4F01
# The bureau's issuance registry: an embedded SQLite file.
"$CARDC" registry init --registry "sqlite:$WORK/bureau/registry.db" >&2
"$CARDC" compile -p "$WORK/bureau/install-applet.yaml" -c "$WORK/card.yaml" \
    -k "$WORK/bureau" -s "$WORK/bureau/test-signing.key" -o "$WORK/card.cpk" \
    --registry "sqlite:$WORK/bureau/registry.db"
"$CARDC" inspect "$WORK/card.cpk" --trust "$WORK/trusted.pub" >&2

step "cardload: verify the signature, check the card, stream the commands, keep the receipt"
"$CARDLOAD" --trust "$WORK/trusted.pub" --log "$WORK/cardload.log" \
    --receipt "$WORK/receipt.json" "$WORK/card.cpk"

step "cardc receipt import: back at the bureau, every R-MAC of the card's answers, recorded"
"$CARDC" receipt verify "$WORK/receipt.json" --bundle "$WORK/card.cpk" -k "$WORK/bureau" \
    --trust "$WORK/trusted.pub" >&2
"$CARDC" receipt import "$WORK/receipt.json" --bundle "$WORK/card.cpk" -k "$WORK/bureau" \
    --trust "$WORK/trusted.pub" --registry "sqlite:$WORK/bureau/registry.db"
"$CARDC" registry summary --registry "sqlite:$WORK/bureau/registry.db"

step "the card's registry"
harness_stop_cardsim
"$CARDSIM" --state "$WORK/card.state" --print
echo "demo: done (work files in $WORK)" >&2
