#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# docs/CI.md's recipe, run exactly as written: the block between its
# "ci-recipe begin" and "ci-recipe end" markers is extracted and run in a
# scratch repository (git, profiles, test cards, test keys) three times:
#   1. the first release: every bundle new, the check's SARIF written;
#   2. the same commit again: every bundle byte-identical to the release,
#      "0 bundle(s) differ";
#   3. one byte of a load file changed: that card's bundles reported changed,
#      the diff naming the LOAD command and the byte;
#   4. a broken profile: the recipe fails at the check, with file:line:col.
#
# usage: ci-recipe.sh CARDC CAPGEN SOURCE_ROOT
set -u
CARDC=$1 CAPGEN=$2 SRCROOT=$3
CLI_TEST_DIR=$SRCROOT/tests/cli
. "$CLI_TEST_DIR/check.sh"
case $CARDC in /*) ;; *) CARDC=$PWD/$CARDC ;; esac
case $CAPGEN in /*) ;; *) CAPGEN=$PWD/$CAPGEN ;; esac

# The recipe, as the document has it.
sed -n '/^<!-- ci-recipe begin -->$/,/^<!-- ci-recipe end -->$/p' "$SRCROOT/docs/CI.md" |
    sed -e '1,2d' -e '$d' | sed '$d' >"$T/recipe.sh"
check "the recipe is in docs/CI.md" grep -q "cardc check profiles" "$T/recipe.sh"
mkdir -p "$T/bin" && ln -s "$CARDC" "$T/bin/cardc" || exit 1
export PATH="$T/bin:$PATH"

R=$T/repo
mkdir -p "$R/profiles" "$R/ci" "$R/keys" "$R/release" || exit 1
cp "$SRCROOT/profiles/install-applet.yaml" "$SRCROOT/profiles/personalize.yaml" "$R/profiles/" &&
    cp "$SRCROOT/keys/gp-test-keys-aes.yaml" "$SRCROOT/keys/test-signing.key" "$R/keys/" &&
    chmod 600 "$R"/keys/* &&
    "$CAPGEN" -o "$R/profiles/hello.cap" --package F043504B48454C4C4F \
    --applet F043504B48454C4C4F01 -s 900 || exit 1
for n in 1 2 3; do
	printf '{"sd-aid":"A000000151000000","scp":"03","i":"70","kvn":"30","kdd":"0102030405060708%02d00","counter":"00000%d","cin":"01020304050607%02d","serial":"CI-%d","data.holder":"HOLDER %d"}\n' "$n" "$n" "$n" "$n" "$n"
done >"$R/ci/cards.jsonl"
(cd "$R" && git init -q && git add . &&
    git -c user.name=ci -c user.email=ci@example.invalid commit -q -m "profiles" --date=@1700000000) ||
    exit 1

run_recipe() {
	(cd "$R" && rm -rf out && sh "$T/recipe.sh") >"$T/out" 2>"$T/err"
}

# 1. The first release.
run_recipe
check "first: the recipe succeeds" test $? = 0
check "first: every bundle new" test "$(grep -c '^new: ' "$T/out")" = 6
check "first: SARIF written" python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
assert d["version"] == "2.1.0" and d["runs"][0]["results"] == []' "$R/out/check.sarif"
check "first: summary" grep -qx "ci: 0 bundle(s) differ from the previous release" "$T/out"
cp -R "$R/out/install-applet" "$R/out/personalize" "$R/release/" || exit 1

# 2. The same commit again: the same bytes.
run_recipe
check "again: the recipe succeeds" test $? = 0
check "again: nothing new" test "$(grep -c '^new: ' "$T/out")" = 0
check "again: nothing differs" grep -qx "ci: 0 bundle(s) differ from the previous release" "$T/out"
for f in "$R"/release/*/*.cpk; do
	check "again: $(basename "$f") byte-identical" cmp -s "$f" "$R/out/${f#"$R"/release/}"
done

# 3. One byte of the load file (the package's minor version).
"$CAPGEN" -o "$R/profiles/hello.cap" --package F043504B48454C4C4F --applet F043504B48454C4C4F01 \
    -s 900 --package-version 1.1 || exit 1
run_recipe
check "changed: the recipe succeeds" test $? = 0
check "changed: both profiles' bundles reported" test "$(grep -c '^changed: ' "$T/out")" = 6
check "changed: summary" grep -qx "ci: 6 bundle(s) differ from the previous release" "$T/out"
check "changed: the diff names the LOAD byte" grep -qx "    1 byte differs, at offset 19" \
    "$R/out/install-applet/CI-1.cpk.diff"
check "changed: the LOAD command" grep -q "^~ [0-9]*/[0-9]* LOAD 1/" "$R/out/install-applet/CI-1.cpk.diff"

# 4. A broken profile: the check stops the job, with the place.
printf 'bogus: 1\n' >>"$R/profiles/personalize.yaml"
run_recipe
check "broken: the recipe fails" test $? != 0
check "broken: file:line:col" grep -q "profiles/personalize.yaml:[0-9]*:1: error: unknown key 'bogus'" "$T/out"

finish "ci recipe"
