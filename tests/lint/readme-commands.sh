#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The README's two set-up commands stay true: its test command is the one
# .ci/run executes, and both commands name scripts that exist, are
# executable, and re-execute themselves as root the same way.
#
# usage: readme-commands.sh SOURCE_ROOT
set -eu
cd "$1"
fail=0
bad() {
	echo "readme-commands: $*" >&2
	fail=1
}

# The indented lines right after the "Set-up on a new machine" heading.
cmds=$(awk '/^## Set-up on a new machine/ { on = 1; next }
	on && /^## / { exit }
	on && /^    [^ ]/ { sub(/^    /, ""); print }' README.md)
n=$(printf '%s\n' "$cmds" | grep -c .) || true
[ "$n" = 2 ] || bad "README's set-up section has $n commands, not 2: $cmds"
demo=$(printf '%s\n' "$cmds" | sed -n 1p)
test_cmd=$(printf '%s\n' "$cmds" | sed -n 2p)

ci=$(sed -n 's/^exec //p' .ci/run)
[ "$ci" = "$test_cmd" ] || bad ".ci/run runs '$ci', the README says '$test_cmd'"

for c in "$demo" "$test_cmd"; do
	script=${c%% *}
	[ -f "$script" ] || { bad "README command '$c': no file $script"; continue; }
	[ -x "$script" ] || bad "README command '$c': $script is not executable"
	grep -q '^cpk_as_root ' "$script" || bad "$script does not re-execute itself as root (cpk_as_root)"
done
[ "$fail" = 0 ] && echo "readme-commands: '$demo' and '$test_cmd' (= .ci/run)"
exit "$fail"
