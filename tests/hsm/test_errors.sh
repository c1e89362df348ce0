#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Keys in a token, what goes wrong: a wrong PIN, a missing object, a key of
# the wrong type, no module, a module that is not one, a PIN in the URI, a
# PIN file others can read, no PIN at all, a put-key set in the token, a
# keygen label that exists, and a token that goes away in the middle of a
# batch. Each: a clear message, exit 1, no bundle (in a batch: none for the
# failing card, the other cards written).
#
# usage: test_errors.sh CARDC CAPGEN SOURCE_ROOT MODULE FAULTY_MODULE
set -u
CAPGEN=$2 FAULTY=$5
. "$(dirname "$0")/lib.sh"
hsm_setup "$1" "$3" "$4"
SOURCE_DATE_EPOCH=1700000000
export SOURCE_DATE_EPOCH
CARD=$SRCROOT/tests/cli/data/card-scp03.yaml
mkdir -p "$T/p" "$T/o"
cp "$SRCROOT/profiles/install-applet.yaml" "$SRCROOT/profiles/rotate-keys.yaml" "$T/p/"
"$CAPGEN" -o "$T/p/hello.cap" --package F043504B48454C4C4F --applet F043504B48454C4C4F01 ||
    exit 1
keyset 30 aes none "$TKEYS" gp-test-keys-aes.yaml && keyset 30 aes none "$KEYS" gp-test-keys-aes.yaml ||
    exit 1

# compile_to OUT KEYDIR [ARGS]: the example profile for the sample card,
# with the environment changes in $ENVS (dash keeps assignments made in
# front of a function, so they go through env(1)).
ENVS=
compile_to() {
	out=$1 kd=$2
	shift 2
	# shellcheck disable=SC2086
	env $ENVS "$CARDC" compile -p "$T/p/install-applet.yaml" -c "$CARD" -k "$kd" \
	    -o "$out" --host-challenge 0001020304050607 "$@"
}

# refused NEEDLE KEYDIR [ARGS]: exit 1 with NEEDLE, no bundle.
refused() {
	needle=$1
	shift
	rm -f "$T/o/x.cpk"
	expect 1 "$needle" compile_to "$T/o/x.cpk" "$@"
	check "a bundle was written ($needle)" [ ! -e "$T/o/x.cpk" ]
}

expect 0 "" compile_to "$T/o/ok.cpk" "$TKEYS" -s "$TSIGN"

# Wrong PIN: for the key set and for the signing key alone.
ENVS=CPK_PKCS11_PIN=000000
refused "token 'cpk-test' refused the PIN (wrong PIN)" "$TKEYS" -s "$SIGN"
refused "token 'cpk-test' refused the PIN (wrong PIN)" "$KEYS" -s "$TSIGN"
ENVS=

# Missing objects.
mkdir -p "$T/k2"
sed 's/object=gp-aes-mac/object=gp-aes-nope/' "$TKEYS/gp-test-keys-aes.yaml" \
    >"$T/k2/gp-test-keys-aes.yaml" && chmod 600 "$T/k2/gp-test-keys-aes.yaml"
refused "pkcs11:token=cpk-test;object=gp-aes-nope;type=secret-key: no such secret key in token 'cpk-test'" \
    "$T/k2" -s "$SIGN"
refused "no such private key in token 'cpk-test'" "$KEYS" -s "pkcs11:token=cpk-test;object=nope"
refused "no PKCS#11 token 'elsewhere'" "$KEYS" -s "pkcs11:token=elsewhere;object=signing"
refused "the keys are in more than one token (token 'cpk-test' is in use, the URI names another): cpk uses one token per run" \
    "$TKEYS" -s "pkcs11:token=elsewhere;object=signing"

# Wrong key types: a 3DES key for an AES set, a secret key as the signing key.
sed 's/object=gp-aes-enc/object=gp-3des-enc/' "$TKEYS/gp-test-keys-aes.yaml" \
    >"$T/k2/gp-test-keys-aes.yaml"
refused "token key 'gp-3des-enc' is not an AES key (wrong key type for an aes key set)" \
    "$T/k2" -s "$SIGN"
refused "no such private key" "$KEYS" -s "pkcs11:token=cpk-test;object=gp-aes-enc"
refused "the signing key is a private key, not type=secret-key" "$KEYS" \
    -s "pkcs11:token=cpk-test;object=gp-aes-enc;type=secret-key"
sed 's/;type=secret-key/;type=private/' "$TKEYS/gp-test-keys-aes.yaml" \
    >"$T/k2/gp-test-keys-aes.yaml"
refused "a key set names secret keys, not type=private" "$T/k2" -s "$SIGN"

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out "$T/rsa.pem" 2>/dev/null &&
    softhsm2-util --import "$T/rsa.pem" --token cpk-test --label rsa --id 0A \
    --pin "$CPK_PKCS11_PIN" >/dev/null || exit 1
refused "token key 'rsa' is not an Ed25519 key (wrong key type for the signing key)" "$KEYS" \
    -s "pkcs11:token=cpk-test;object=rsa"
# The library attributes pick the module.
refused "is not the library the URI names (library-manufacturer, -description or -version differ)" \
    "$KEYS" -s "pkcs11:library-description=nope;token=cpk-test;object=signing"
expect 0 "" compile_to "$T/o/lib.cpk" "$KEYS" \
    -s "pkcs11:library-manufacturer=SoftHSM;token=cpk-test;object=signing"
check "library-manufacturer: same bundle" cmp -s "$T/o/lib.cpk" "$T/o/ok.cpk"

# A PIN never comes from the URI.
sed 's/;type=secret-key/;type=secret-key?pin-value=246810/' "$TKEYS/gp-test-keys-aes.yaml" \
    >"$T/k2/gp-test-keys-aes.yaml"
refused "'pin-value' is refused: a PIN is never taken from a URI" "$T/k2" -s "$SIGN"
refused "'pin-value' is refused" "$KEYS" -s "pkcs11:token=cpk-test;object=signing?pin-value=1"

# No module, or not a module.
refused "no PKCS#11 module is configured: give --pkcs11-module" "$TKEYS" -s "$SIGN" \
    --pkcs11-module ""
ENVS="-u CPK_PKCS11_MODULE HOME=$T XDG_CONFIG_HOME=$T/none"
refused "no PKCS#11 module is configured" "$TKEYS" -s "$SIGN"
ENVS=
refused "cannot load PKCS#11 module '$T/none.so'" "$TKEYS" -s "$SIGN" --pkcs11-module "$T/none.so"
refused "is not a PKCS#11 module (no C_GetFunctionList)" "$TKEYS" -s "$SIGN" \
    --pkcs11-module "$(ldd "$CARDC" | awk '/libyaml/ { print $3 }')"
# The module from the config file.
mkdir -p "$T/cfg/cpk"
printf '# test\n%s\n' "$MODULE" >"$T/cfg/cpk/pkcs11"
ENVS="-u CPK_PKCS11_MODULE XDG_CONFIG_HOME=$T/cfg"
expect 0 "" compile_to "$T/o/cfg.cpk" "$TKEYS" -s "$TSIGN"
ENVS=
check "config file module: same bundle" cmp -s "$T/o/cfg.cpk" "$T/o/ok.cpk"

# PIN files: refused when others may read them; the first line otherwise.
printf '246810\n' >"$T/pin"
chmod 644 "$T/pin"
refused "PIN file '$T/pin' has mode 0644" "$TKEYS" -s "$SIGN" --pkcs11-pin-file "$T/pin"
chmod 600 "$T/pin"
# An empty first line, a first line too long, not a file, no file: refused
# with what is wrong, the token never asked.
printf '\n246810\n' >"$T/pin-empty"
head -c 300 /dev/zero | tr '\0' 7 >"$T/pin-long"
chmod 600 "$T/pin-empty" "$T/pin-long"
refused "PIN file '$T/pin-empty' holds no PIN on its first line" "$TKEYS" -s "$SIGN" \
    --pkcs11-pin-file "$T/pin-empty"
refused "PIN file '$T/pin-long': its first line is longer than" "$TKEYS" -s "$SIGN" \
    --pkcs11-pin-file "$T/pin-long"
refused "PIN file '$T/p' is not a regular file" "$TKEYS" -s "$SIGN" --pkcs11-pin-file "$T/p"
refused "cannot read PIN file '$T/no-pin': No such file or directory" "$TKEYS" -s "$SIGN" \
    --pkcs11-pin-file "$T/no-pin"
ENVS=CPK_PKCS11_PIN=000000
expect 0 "" compile_to "$T/o/pin.cpk" "$TKEYS" -s "$TSIGN" --pkcs11-pin-file "$T/pin"
ENVS=
check "PIN file: same bundle" cmp -s "$T/o/pin.cpk" "$T/o/ok.cpk"
sed "s|;type=secret-key|;type=secret-key?pin-source=file:$T/pin|" "$TKEYS/gp-test-keys-aes.yaml" \
    >"$T/k2/gp-test-keys-aes.yaml"
ENVS="-u CPK_PKCS11_PIN"
expect 0 "" compile_to "$T/o/src.cpk" "$T/k2" -s "$SIGN"
check "pin-source: same bundle" cmp -s "$T/o/src.cpk" "$T/o/ok.cpk"
# No PIN and no terminal.
rm -f "$T/o/x.cpk"
expect 1 "token 'cpk-test' needs its user PIN: give --pkcs11-pin-file FILE, set CPK_PKCS11_PIN" \
    env -u CPK_PKCS11_PIN setsid -w "$CARDC" compile -p "$T/p/install-applet.yaml" -c "$CARD" \
    -k "$TKEYS" -o "$T/o/x.cpk" -s "$SIGN"
ENVS=
check "no PIN: a bundle was written" [ ! -e "$T/o/x.cpk" ]
expect 2 "unknown option '--pin'" "$CARDC" compile --pin 246810
# The prompt, on a terminal (script(1) gives cardc one): echo off, then the PIN.
prompt() {
	(sleep 2; printf '%s\n' "$1") | env -u CPK_PKCS11_PIN script -qec "'$CARDC' compile \
	    -p '$T/p/install-applet.yaml' -c '$CARD' -k '$TKEYS' -o '$T/o/$2.cpk' \
	    --host-challenge 0001020304050607 -s '$SIGN'" /dev/null
}
expect 0 "PIN for token 'cpk-test': " prompt 246810 prompt
check "prompt: the PIN was echoed" sh -c "! grep -q 246810 '$T/out'"
check "prompt: same bundle" cmp -s "$T/o/prompt.cpk" "$T/o/ok.cpk"
expect 1 "token 'cpk-test' refused the PIN (wrong PIN)" prompt 000000 prompt-bad
check "prompt, wrong PIN: a bundle was written" [ ! -e "$T/o/prompt-bad.cpk" ]

# The keys PUT KEY sends must be values: a new key set in the token is refused.
keyset 01 3des none "$TKEYS" gp-test-keys.yaml && keyset 02 3des none "$TKEYS" new-keys.yaml ||
    exit 1
rm -f "$T/o/x.cpk"
expect 1 "are in a PKCS#11 token, where their values stay: give the keys a card receives (PUT KEY) in a key file" \
    "$CARDC" compile -p "$T/p/rotate-keys.yaml" -c "$SRCROOT/tests/cli/data/card-scp02.yaml" \
    -k "$TKEYS" -o "$T/o/x.cpk" -s "$SIGN" --host-challenge 0001020304050607
check "put-key in the token: a bundle was written" [ ! -e "$T/o/x.cpk" ]

# keygen --pkcs11: only the .pub; an existing label changes nothing.
expect 0 "" "$CARDC" keygen -o "$T/gen" --pkcs11 "pkcs11:token=cpk-test;object=gen"
check "keygen --pkcs11 wrote a private key file" [ ! -e "$T/gen.key" ]
check "keygen --pkcs11 wrote no .pub" [ -s "$T/gen.pub" ]
expect 0 "" compile_to "$T/o/gen.cpk" "$TKEYS" -s "pkcs11:token=cpk-test;object=gen"
expect 0 "verified" "$CARDC" inspect "$T/o/gen.cpk" --trust "$T/gen.pub"
expect 1 "token 'cpk-test' already holds an object labelled 'gen': nothing was changed" \
    "$CARDC" keygen -o "$T/gen2" --pkcs11 "pkcs11:token=cpk-test;object=gen"
check "a refused keygen wrote a .pub" [ ! -e "$T/gen2.pub" ]
expect 1 "already exists; cpk never overwrites a key file" \
    "$CARDC" keygen -o "$T/gen" --pkcs11 "pkcs11:token=cpk-test;object=gen3"
expect 2 "--pkcs11-module and --pkcs11-pin-file go with --pkcs11 URI" \
    "$CARDC" keygen -o "$T/gen4" --pkcs11-module "$MODULE"
expect 1 "a key made in the token needs a label" \
    "$CARDC" keygen -o "$T/gen5" --pkcs11 "pkcs11:token=cpk-test;id=%01"
# A .pub that cannot be written: no pair left in the token (the label is free).
expect 1 "gen6.pub" "$CARDC" keygen -o "$T/none/gen6" --pkcs11 "pkcs11:token=cpk-test;object=gen6"
expect 0 "" "$CARDC" keygen -o "$T/gen6" --pkcs11 "pkcs11:token=cpk-test;object=gen6"
# A key set file that cannot be written: none of its keys left in the token.
expect 1 "set.yaml" "$CARDC" hsm import -k "$KEYS/aes.yaml" -o "$T/none/set.yaml" \
    "pkcs11:token=cpk-test;object=set"
expect 0 "" "$CARDC" hsm import -k "$KEYS/aes.yaml" -o "$T/set.yaml" "pkcs11:token=cpk-test;object=set"
check "hsm import: key set file" grep -q "object=set-dek" "$T/set.yaml"

# hsm import: usage, a label that exists, the warning.
expect 1 "warning: copying keys from a file into a token is for test labs" \
    "$CARDC" hsm import -k "$KEYS/aes.yaml" -o "$T/k2/again.yaml" "pkcs11:token=cpk-test;object=gp-aes"
expect 1 "already holds an object labelled 'gp-aes-enc'" \
    "$CARDC" hsm import -k "$KEYS/aes.yaml" -o "$T/k2/again.yaml" "pkcs11:token=cpk-test;object=gp-aes"
expect 2 "give one of -k KEYSET and -s SIGNKEY" "$CARDC" hsm import "pkcs11:object=x"
expect 2 "-k needs -o OUT.yaml" "$CARDC" hsm import -k "$KEYS/aes.yaml" "pkcs11:object=x"
expect 2 "unknown action 'export'" "$CARDC" hsm export
expect 1 "the URI needs object=LABEL" "$CARDC" hsm import -s "$SIGN" "pkcs11:token=cpk-test;id=%01"

# --- a token that goes away in the middle of a batch ---
i=1
: >"$T/cards.jsonl"
while [ $i -le 12 ]; do
	printf '{"sd-aid":"A000000151000000","scp":"03","i":"70","kvn":"30","kdd":"0102030405060708%02d00","counter":"0000%02d","serial":"B-%02d"}\n' \
	    $i $i $i >>"$T/cards.jsonl"
	i=$((i + 1))
done
batch() {
	# shellcheck disable=SC2086
	env $ENVS "$CARDC" batch -p "$T/p/install-applet.yaml" --cards "$T/cards.jsonl" -k "$TKEYS" \
	    -s "$TSIGN" -o "$T/batch" -j 2 --pkcs11-module "$FAULTY"
}
# The token fails once, then twice in a row, on the 40th operation: one card
# each time (or two), reported; every other card written.
for count in 1 2; do
	rm -rf "$T/batch"
	ENVS="CPK_FAULTY_MODULE=$MODULE CPK_FAULTY_AT=40 CPK_FAULTY_COUNT=$count"
	expect 1 "CKR_DEVICE_REMOVED" batch
	written=$(ls "$T/batch" | grep -c '\.cpk$')
	failed=$(grep -c "CKR_DEVICE_REMOVED" "$T/err")
	check "token removed ($count): $written written + $failed failed != 12" \
	    [ $((written + failed)) -eq 12 ]
	check "token removed ($count): no card failed" [ "$failed" -ge 1 ]
	check "token removed ($count): summary" grep -q "12 cards, $written bundles written, $failed failed" "$T/out"
	for n in $(sed -n 's/.*cards\.jsonl:\([0-9]*\): .*CKR_DEVICE_REMOVED.*/\1/p' "$T/err"); do
		f=$(printf 'B-%02d' "$n")
		check "token removed: a bundle for failed card $f" [ ! -e "$T/batch/$f.cpk" ]
	done
	for b in "$T"/batch/*.cpk; do
		expect 0 "verified" "$CARDC" inspect "$b" --trust "$PUB"
	done
done
# Handles that went stale (a token put back): the card fails, the next
# session finds the objects again and the batch goes on.
rm -rf "$T/batch"
ENVS="CPK_FAULTY_MODULE=$MODULE CPK_FAULTY_AT=40 CPK_FAULTY_RV=handle"
expect 1 "CKR_KEY_HANDLE_INVALID" batch
check "stale handles: 11 bundles" [ "$(ls "$T/batch" | grep -c '\.cpk$')" -eq 11 ]
check "stale handles: summary" grep -q "12 cards, 11 bundles written, 1 failed" "$T/out"
# Keys whose URIs name a pin-source, no CPK_PKCS11_PIN and no terminal: a
# worker that logs in again after the token failed (one worker: its session
# was the token's last, so the token logged out) still reads the PIN from the
# pin-source; one card fails, not every card after it.
rm -rf "$T/batch"
mkdir -p "$T/k3"
sed "s|;type=secret-key|;type=secret-key?pin-source=file:$T/pin|" "$TKEYS/gp-test-keys-aes.yaml" \
    >"$T/k3/gp-test-keys-aes.yaml" && chmod 600 "$T/k3/gp-test-keys-aes.yaml"
ENVS="-u CPK_PKCS11_PIN CPK_FAULTY_MODULE=$MODULE CPK_FAULTY_AT=40 CPK_FAULTY_COUNT=1"
# shellcheck disable=SC2086
expect 1 "CKR_DEVICE_REMOVED" env $ENVS setsid -w "$CARDC" batch -p "$T/p/install-applet.yaml" \
    --cards "$T/cards.jsonl" -k "$T/k3" -s "$SIGN" -o "$T/batch" -j 1 --pkcs11-module "$FAULTY"
check "pin-source after a token error: no PIN asked for" sh -c "! grep -q 'needs its user PIN' '$T/err'"
check "pin-source after a token error: one card failed" grep -q "12 cards, 11 bundles written, 1 failed" "$T/out"
# A batch whose token never comes back: every card fails, clearly.
rm -rf "$T/batch"
ENVS="CPK_FAULTY_MODULE=$MODULE CPK_FAULTY_AT=1 CPK_FAULTY_COUNT=100000"
expect 1 "12 cards, 0 bundles written, 12 failed" batch
finish hsm-errors
