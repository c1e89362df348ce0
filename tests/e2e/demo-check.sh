#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Run the README's main job (scripts/demo.sh) and check that it ended with
# the package and the applet in the card's registry, and that its receipt
# verified as loaded and was recorded so in the bureau's registry.
#
# usage: demo-check.sh PATH/TO/demo.sh   (env: CPK_DEMO_BUILD, CPK_DEMO_SKIP_BUILD)
set -u
out=$(bash "$1" 2>&1)
rc=$?
echo "$out"
[ "$rc" = 0 ] || { echo "demo-check: demo.sh exited $rc" >&2; exit 1; }
echo "$out" | grep -Eq '^LOADFILE F043504B48454C4C4F ' ||
	{ echo "demo-check: the registry lacks the package" >&2; exit 1; }
echo "$out" | grep -Eq '^APP F043504B48454C4C4F01 +SELECTABLE' ||
	{ echo "demo-check: the registry lacks the selectable applet" >&2; exit 1; }
echo "$out" | grep -Eq '^verdict  loaded: all [0-9]+ commands were accepted' ||
	{ echo "demo-check: the receipt was not verified as loaded" >&2; exit 1; }
echo "$out" | grep -Eq '^  issued -> loaded: loaded: all [0-9]+ commands' ||
	{ echo "demo-check: the receipt was not recorded loaded in the registry" >&2; exit 1; }
echo "demo-check: the main job installed the package and its applet, and its receipt verified and was recorded"
