#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# End-to-end test of cardc reissue through the real pcscd + vpcd + cardsim
# (see harness.sh): a personalized card is issued and loaded (its receipt
# imported), then lost; its bundle is re-issued for a second simulated
# card, which cardload loads (the lost card's data ends up on the new card;
# its receipt imported: loaded), and a new bundle for the old card is
# refused by cardc compile --registry, and its receipt by cardc receipt
# import, each naming the card that replaced it. The registry is a SQLite
# file.
#
#   reissue.sh   (meson passes CARDSIM, GPCLIENT, E2E_DIR, E2E_WORK,
#                 CARDLOAD, CARDC, CAPGEN, CPK_SOURCE_ROOT)

. "${E2E_DIR:?}/harness.sh"
harness_enter "$@"

E2E_NAME=reissue
. "$E2E_DIR/cardload_lib.sh"

REG=sqlite:$WORK/registry.db
HOLDER="Ada Lovelace"

# The identified record as card SERIAL (and, with a holder, its per-card data).
as_card() {
	local file=$1 serial=$2 holder=${3:-}
	sed -i '/^serial:/d' "$file" || harness_die "sed"
	echo "serial: $serial" >>"$file"
	[ -z "$holder" ] || printf 'data:\n  holder: "%s"\n' "$holder" >>"$file"
}

sha() {
	sha256sum "$1" | awk '{ print toupper($1) }'
}

# The hex of a text, as the card stores it.
hex_of() {
	printf '%s' "$1" | od -An -tx1 | tr -d ' \n' | tr a-f A-F
}

cp "$SRC/profiles/personalize.yaml" "$WORK/p/" || harness_die "profile"
P=$WORK/p/personalize.yaml
"$CARDC" registry init --registry "$REG" >/dev/null || harness_die "registry init"
"$CARDC" registry keygen -k "$WORK/keys" >/dev/null || harness_die "registry keygen"
# The second card: another chip (CPLC, KDD, CIN), the same test keys.
sed -e 's/^  cplc: 4790/  cplc: 4791/' -e 's/^  kdd: .*/  kdd: 0102030405060708FF00/' \
    -e 's/^  cin: .*/  cin: 0A0B0C0D0E0F1011/' "$CARDS/scp03.yaml" >"$WORK/card2-config.yaml" ||
    harness_die "card 2 config"

harness_start_pcscd

# The first card: identified, personalized, loaded, its receipt imported: loaded.
harness_start_cardsim --config "$CARDS/scp03.yaml" --state "$WORK/card1.state" -v
harness_wait_card
identify card1
as_card "$WORK/card1.yaml" LOST-1 "$HOLDER"
"$CARDC" compile -p "$P" -c "$WORK/card1.yaml" -k "$WORK/keys" -s "$WORK/keys/test-signing.key" \
    -o "$WORK/lost.cpk" --registry "$REG" || harness_die "compile for the first card"
cardload_run 0 --receipt "$WORK/lost.json" "$WORK/lost.cpk"
"$CARDC" receipt import "$WORK/lost.json" --bundle "$WORK/lost.cpk" -k "$WORK/keys" \
    --registry "$REG" >&2 || harness_die "cardc receipt import of the first card's load"
harness_stop_cardsim

# It is lost: its bundle is re-issued for the second card, which loads it.
harness_start_cardsim --config "$WORK/card2-config.yaml" --state "$WORK/card2.state" -v
harness_wait_card
identify card2
as_card "$WORK/card2.yaml" NEW-2
"$CARDC" reissue --lost LOST-1 -p "$P" -c "$WORK/card2.yaml" -k "$WORK/keys" \
    -s "$WORK/keys/test-signing.key" -o "$WORK/new.cpk" --registry "$REG" 2>"$WORK/reissue.err" ||
    { cat "$WORK/reissue.err" >&2; harness_die "cardc reissue failed"; }
cat "$WORK/reissue.err" >&2
grep -q "card LOST-1 re-issued as card NEW-2" "$WORK/reissue.err" ||
    harness_die "cardc reissue's message"
cardload_run 0 --receipt "$WORK/new.json" "$WORK/new.cpk"
err_has "done: all"
"$CARDC" receipt import "$WORK/new.json" --bundle "$WORK/new.cpk" -k "$WORK/keys" \
    --registry "$REG" >"$WORK/import.txt" || harness_die "cardc receipt import of the new card"
grep -q "issued -> loaded" "$WORK/import.txt" || harness_die "the new card is not recorded loaded"
harness_stop_cardsim
"$CARDSIM" --state "$WORK/card2.state" --print >"$WORK/registry.txt" ||
    harness_die "cardsim --print failed"
cat "$WORK/registry.txt" >&2
registry_has "^APP ${APP}  SELECTABLE  from ${PKG}"
# The lost card's holder, with the new card's CIN and serial, stored on the new card.
grep -q "5F20$(hex_of "$HOLDER")" "$WORK/card2.state" ||
    harness_die "the new card lacks the lost card's data"
grep -q "0A0B0C0D0E0F1011" "$WORK/card2.state" || harness_die "the new card lacks its CIN"
grep -q "$(hex_of NEW-2)" "$WORK/card2.state" || harness_die "the new card lacks its serial"

# The old card turns up again: a new bundle for it is refused, naming the new card.
harness_start_cardsim --state "$WORK/card1.state" -v
harness_wait_card
identify card1b
as_card "$WORK/card1b.yaml" LOST-1 "$HOLDER"
harness_stop_cardsim
"$CARDC" compile -p "$P" -c "$WORK/card1b.yaml" -k "$WORK/keys" \
    -s "$WORK/keys/test-signing.key" -o "$WORK/again.cpk" --registry "$REG" 2>"$WORK/again.err"
rc=$?
cat "$WORK/again.err" >&2
[ "$rc" = 1 ] || harness_die "cardc compile for the revoked card: exit $rc, expected 1"
grep -q "card LOST-1 is revoked (lost; re-issued as card NEW-2), replaced by card NEW-2" \
    "$WORK/again.err" || harness_die "the refusal does not name the new card"
[ ! -e "$WORK/again.cpk" ] || harness_die "a bundle was written for the revoked card"
"$CARDC" registry show LOST-1 --registry "$REG" >"$WORK/show.txt" || harness_die "show"
grep -q "replaced by *card NEW-2, bundle $(sha "$WORK/new.cpk")" "$WORK/show.txt" ||
    harness_die "registry show lacks the link"
# The old card's receipt, imported again now: refused, naming the new card.
"$CARDC" receipt import "$WORK/lost.json" --bundle "$WORK/lost.cpk" -k "$WORK/keys" \
    --registry "$REG" >"$WORK/import.txt"
rc=$?
cat "$WORK/import.txt" >&2
[ "$rc" = 3 ] || harness_die "cardc receipt import for the revoked card: exit $rc, expected 3"
grep -q "refused: card LOST-1 is revoked (lost; re-issued as card NEW-2), replaced by card NEW-2 .*: its receipts are not recorded" \
    "$WORK/import.txt" || harness_die "the receipt refusal does not name the new card"
check_log_lines
echo "harness: reissue test passed" >&2
