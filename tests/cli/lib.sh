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
#                their SHA-256) and hello.cap next to them, made by capgen
#                as the profiles' comments say (capgen is deterministic, and
#                only the Load File Data Block it holds enters a bundle)
# and removes it on exit. fail() records a failure; finish() reports and
# sets the exit status.

failures=0
checks=0

T=$(mktemp -d "${TMPDIR:-/tmp}/cpk-cli-XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT INT TERM

fail() {
	failures=$((failures + 1))
	echo "FAIL: $*" >&2
}

# expect CODE STDERR-SUBSTRING COMMAND...: exit status and a message.
expect() {
	want=$1
	needle=$2
	shift 2
	checks=$((checks + 1))
	"$@" >"$T/out" 2>"$T/err"
	rc=$?
	if [ "$rc" != "$want" ]; then
		fail "$*: exit $rc, expected $want"
		sed 's/^/    /' "$T/err" >&2
		return 1
	fi
	if [ -n "$needle" ] && ! grep -qF -- "$needle" "$T/err"; then
		fail "$*: stderr lacks '$needle'"
		sed 's/^/    /' "$T/err" >&2
		return 1
	fi
	return 0
}

# check CONDITION-COMMAND... MESSAGE: a plain assertion.
check() {
	checks=$((checks + 1))
	msg=$1
	shift
	"$@" || fail "$msg"
}

finish() {
	echo "$1: $checks checks, $failures failed"
	[ "$failures" -eq 0 ]
}

setup_work() {
	mkdir -p "$T/keys" "$T/sign" "$T/p" || exit 1
	cp "$SRCROOT"/keys/gp-test-keys.yaml "$SRCROOT"/keys/gp-test-keys-aes.yaml "$T/keys/" &&
	    sed 's/^kvn: "01"/kvn: "02"/' "$SRCROOT/keys/gp-test-keys.yaml" >"$T/keys/new-keys.yaml" &&
	    cp "$SRCROOT/keys/test-signing.key" "$SRCROOT/keys/test-signing.pub" "$T/sign/" &&
	    chmod 600 "$T"/keys/*.yaml "$T/sign/test-signing.key" &&
	    chmod 644 "$T/sign/test-signing.pub" &&
	    cp "$SRCROOT"/profiles/*.yaml "$T/p/" &&
	    "$CAPGEN" -o "$T/p/hello.cap" --package F043504B48454C4C4F \
	        --applet F043504B48454C4C4F01 ||
	    { echo "setup failed" >&2; exit 1; }
	# The rotation example reads new-keys.yaml relative to -k.
	KEYS=$T/keys
	SIGN=$T/sign/test-signing.key
	PUB=$T/sign/test-signing.pub
}

# The sample card record that fits a profile (by its SCP version).
card_for() {
	if grep -q '^  scp: 02' "$1"; then
		echo "$SRCROOT/tests/cli/data/card-scp02.yaml"
	else
		echo "$SRCROOT/tests/cli/data/card-scp03.yaml"
	fi
}
