#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Keys in a token give the same bundles as the same keys in files, byte for
# byte: every example profile, and every cell of the e2e matrix
# (tests/e2e/matrix.sh: protocol, i, level, diversification, LFDB size,
# offline and session), compiled by cardc with SOURCE_DATE_EPOCH and
# --host-challenge, once with key files and the signing key file, once
# with the key sets naming the token's keys and the signing key in the
# token. A cell whose LFDB is one byte over 256 LOAD blocks is refused
# alike. Also: the token keys are sensitive and not extractable.
#
# usage: test_bundles.sh CARDC CAPGEN HSM_CARD HSM_ATTR SOURCE_ROOT MODULE
set -u
CAPGEN=$2 HSM_CARD=$3 HSM_ATTR=$4
. "$(dirname "$0")/lib.sh"
hsm_setup "$1" "$5" "$6"
SOURCE_DATE_EPOCH=1700000000
export SOURCE_DATE_EPOCH
HC=0001020304050607
mkdir -p "$T/p" "$T/a" "$T/b"

# both NAME PROFILE CARD [ARGS]: compile with files (a) and the token (b), compare.
both() {
	name=$1 prof=$2 card=$3
	shift 3
	checks=$((checks + 1))
	"$CARDC" compile -p "$prof" -c "$card" -k "$KEYS" -s "$SIGN" -o "$T/a/$name.cpk" "$@" \
	    2>"$T/a.err"
	ra=$?
	"$CARDC" compile -p "$prof" -c "$card" -k "$TKEYS" -s "$TSIGN" -o "$T/b/$name.cpk" "$@" \
	    2>"$T/b.err"
	rb=$?
	if [ "$ra" != "$rb" ]; then
		fail "$name: files exit $ra, token exit $rb"
		cat "$T/a.err" "$T/b.err" >&2
	elif [ "$ra" != 0 ]; then
		# Refused alike, for the same reason.
		cmp -s "$T/a.err" "$T/b.err" || { fail "$name: different refusals"; \
		    cat "$T/a.err" "$T/b.err" >&2; }
		[ ! -e "$T/b/$name.cpk" ] || fail "$name: a refused compile wrote a bundle"
		refused=$((refused + 1))
	elif ! cmp -s "$T/a/$name.cpk" "$T/b/$name.cpk"; then
		fail "$name: the bundles differ"
	else
		same=$((same + 1))
	fi
	rm -f "$T/a/$name.cpk" "$T/b/$name.cpk"
}
same=0 refused=0

# --- the example profiles and the sample cards ---
cp "$SRCROOT"/profiles/*.yaml "$T/p/"
"$CAPGEN" -o "$T/p/hello.cap" --package F043504B48454C4C4F --applet F043504B48454C4C4F01 &&
    "$CAPGEN" -o "$T/p/big.cap" --package F043504B4249 --applet F043504B424901 -s 82000 ||
    exit 1
for d in "$KEYS" "$TKEYS"; do
	keyset 30 aes none "$d" gp-test-keys-aes.yaml && keyset 01 3des none "$d" gp-test-keys.yaml ||
	    exit 1
	sed 's/^kvn: "01"/kvn: "02"/' "$SRCROOT/keys/gp-test-keys.yaml" >"$d/new-keys.yaml" &&
	    chmod 600 "$d/new-keys.yaml" || exit 1
	# The DAP and token signing keys are files in both (neither signs in the token).
	cp "$SRCROOT/keys/test-dap-rsa.pem" "$SRCROOT/keys/test-token-rsa1024.pem" "$d/" &&
	    chmod 600 "$d/test-dap-rsa.pem" "$d/test-token-rsa1024.pem" || exit 1
done
for prof in "$T"/p/*.yaml; do
	if grep -q '^      block-size: max' "$prof"; then
		card=$SRCROOT/tests/cli/data/card-scp03-ext.yaml
	elif grep -q '^  scp: 02' "$prof"; then
		card=$SRCROOT/tests/cli/data/card-scp02.yaml
	elif grep -q '^  delegated-management:' "$prof"; then
		card=$SRCROOT/tests/cli/data/card-ssd.yaml
	else
		card=$SRCROOT/tests/cli/data/card-scp03.yaml
	fi
	both "example-$(basename "$prof" .yaml)" "$prof" "$card" --host-challenge $HC
done
check "install-applet with the token is the golden bundle" sh -c \
    "'$CARDC' compile -p '$T/p/install-applet.yaml' -c '$SRCROOT/tests/cli/data/card-scp03.yaml' \
    -k '$TKEYS' -s '$TSIGN' -o '$T/g.cpk' --host-challenge $HC &&
    cmp -s '$T/g.cpk' '$SRCROOT/tests/golden/install-applet.cpk'"

# --- the e2e matrix ---
# cell SCP I MODE LEVELS DIVS
level_name() {
	case $1 in
	01) echo c-mac ;; 03) echo c-mac+c-dec ;; 11) echo c-mac+r-mac ;;
	13) echo c-mac+c-dec+r-mac ;; 33) echo c-mac+c-dec+r-mac+r-enc ;;
	esac
}
cells() {
	scp=$1 i=$2 mode=$3 levels=$4 divs=$5
	case $scp in
	02) kvn=20 alg=3des hash=sha1 ;;
	03) kvn=30 alg=aes hash=sha256 ;;
	esac
	for div in $divs; do
		keyset $kvn $alg $div "$KEYS" keys.yaml && keyset $kvn $alg $div "$TKEYS" keys.yaml ||
		    exit 1
		"$HSM_CARD" "$scp" "$i" "$kvn" "$div" "$mode" >"$T/card.yaml" || exit 1
		hc=""
		[ "$mode" = offline ] && hc="--host-challenge $HC"
		for level in $levels; do
			case $level in
			03|13|33) block=239 ;;
			*) block=247 ;;
			esac
			max=$((256 * block - 4))
			for size in 1024 8192 16384 32768 49152 $max $((max + 1)); do
				"$CAPGEN" -o "$T/p/cell.cap" --size "$size" --package F043504B4D4154 \
				    --applet F043504B4D415401 || exit 1
				cat >"$T/p/cell.yaml" <<PROFILE
profile: 1
name: hsm-cell
security-domain:
  aid: A000000151000000
  scp: "$scp"
  i: "$i"
  kvn: "$kvn"
  security-level: $(level_name "$level")
keys:
  file: keys.yaml
steps:
  - delete:
      aid: F043504B4D4154
      related: true
      missing-ok: true
  - load:
      cap: cell.cap
      hash: $hash
  - install:
      applet: F043504B4D415401
      params: "0102"
PROFILE
				# shellcheck disable=SC2086
				both "scp$scp-i$i-$level-$div-$size" "$T/p/cell.yaml" "$T/card.yaml" $hc
			done
		done
	done
}
cells 02 55 offline "01 03" "none emv visa2"
cells 02 15 session "01 03" "none emv visa2"
cells 03 10 offline "01 03" "none kdf3"
cells 03 00 session "01 03" "none kdf3"
cells 03 30 offline "01 03 11 13" "none kdf3"
cells 03 70 offline "01 03 11 13 33" "none kdf3"
cells 03 60 session "01 03 11 13 33" "none kdf3"
echo "hsm-bundles: $same identical bundles, $refused refused alike"
nex=$(ls "$SRCROOT"/profiles/*.yaml | wc -l)
check "matrix: 288 cells and the $nex examples identical" [ "$same" -eq $((288 + nex)) ]
check "matrix: 48 cells one byte over refused alike" [ "$refused" -eq 48 ]

# --- what the token holds: sensitive, never extractable, value refused ---
for obj in gp-aes-enc gp-3des-dek gp-maes gp-m3des; do
	expect 0 "" "$HSM_ATTR" "pkcs11:token=cpk-test;object=$obj"
done
expect 0 "" "$HSM_ATTR" "pkcs11:token=cpk-test;object=signing;type=private"
finish hsm-bundles
