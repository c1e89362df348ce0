# SPDX-License-Identifier: BSD-2-Clause
# Shared by the cardc shell tests (sourced, not run).
#
# Expects CARDC, CAPGEN and SRCROOT to be set. Makes a private work folder
# $T with:
#   $T/keys/     copies of keys/gp-test-keys*.yaml (mode 0600: git does not
#                keep modes, cardc refuses key files others may read), and
#                new-keys.yaml (the rotation example's new key set: the test
#                keys as version 02)
#   $T/sign/     a 0600 copy of keys/test-signing.key, and the .pub
#   $T/p/        copies of profiles/*.yaml (byte for byte: the manifest holds
#                their SHA-256) and hello.cap and big.cap next to them, made by capgen
#                as the profiles' comments say (capgen is deterministic, and
#                only the Load File Data Block it holds enters a bundle)
# and removes it on exit (check.sh: fail, expect, check, finish).

# CLI_TEST_DIR: where this file is, for tests in other folders.
. "${CLI_TEST_DIR:-$(dirname "$0")}/check.sh"

setup_work() {
	mkdir -p "$T/keys" "$T/sign" "$T/p" || exit 1
	cp "$SRCROOT"/keys/gp-test-keys.yaml "$SRCROOT"/keys/gp-test-keys-aes.yaml \
	    "$SRCROOT"/keys/test-dap-rsa.pem "$SRCROOT"/keys/test-token-rsa1024.pem "$T/keys/" &&
	    sed 's/^kvn: "01"/kvn: "02"/' "$SRCROOT/keys/gp-test-keys.yaml" >"$T/keys/new-keys.yaml" &&
	    cp "$SRCROOT/keys/test-signing.key" "$SRCROOT/keys/test-signing.pub" "$T/sign/" &&
	    chmod 600 "$T"/keys/*.yaml "$T/keys/test-dap-rsa.pem" "$T/keys/test-token-rsa1024.pem" \
	    "$T/sign/test-signing.key" &&
	    chmod 644 "$T/sign/test-signing.pub" &&
	    cp "$SRCROOT"/profiles/*.yaml "$T/p/" &&
	    "$CAPGEN" -o "$T/p/hello.cap" --package F043504B48454C4C4F \
	        --applet F043504B48454C4C4F01 &&
	    "$CAPGEN" -o "$T/p/big.cap" --package F043504B4249 --applet F043504B424901 \
	        -s 82000 ||
	    { echo "setup failed" >&2; exit 1; }
	# The rotation example reads new-keys.yaml relative to -k.
	KEYS=$T/keys
	SIGN=$T/sign/test-signing.key
	PUB=$T/sign/test-signing.pub
}

# The sample card record that fits a profile (by its SCP version; with
# extended length for block-size: max).
card_for() {
	if grep -q '^      block-size: max' "$1"; then
		echo "$SRCROOT/tests/cli/data/card-scp03-ext.yaml"
	elif grep -q '^  scp: 02' "$1"; then
		echo "$SRCROOT/tests/cli/data/card-scp02.yaml"
	elif grep -q '^  delegated-management:' "$1"; then
		echo "$SRCROOT/tests/cli/data/card-ssd.yaml"
	else
		echo "$SRCROOT/tests/cli/data/card-scp03.yaml"
	fi
}

# record N: the JSON-lines card record B-NN (an SCP03 card, counter N) for
# the batch tests that feed cardc a card at a time.
record() {
	printf '{"sd-aid":"A000000151000000","scp":"03","i":"70","kvn":"30","kdd":"0102030405060708%02d00","counter":"0000%02d","serial":"B-%02d"}\n' "$1" "$1" "$1"
}

# wait_file PATH: until PATH exists or the process $pid is gone (no timing
# in the verdict: the caller checks what it needs).
wait_file() {
	while [ ! -e "$1" ] && kill -0 "$pid" 2>/dev/null; do
		sleep 0.05
	done
	[ -e "$1" ]
}
