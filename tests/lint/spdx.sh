#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Every source, build and script file carries the project's licence line
# (SPDX-License-Identifier: BSD-2-Clause, as meson.build and LICENSE say),
# near its top: in the first three lines.
#
# usage: spdx.sh SOURCE_ROOT
set -eu
root=${1:?usage: spdx.sh SOURCE_ROOT}
cd "$root"
line='SPDX-License-Identifier: BSD-2-Clause'
n=0 bad=0
if git rev-parse --git-dir >/dev/null 2>&1; then
	list=$(git ls-files -- '*.c' '*.h' '*.sh' 'meson.build' '*/meson.build' \
	    'meson_options.txt' '.ci/run' 'scripts/*' 'debian/rules')
else
	list=$(find . -path ./build\* -prune -o -type f \( -name '*.c' -o -name '*.h' -o \
	    -name '*.sh' -o -name meson.build -o -name meson_options.txt \) -print)
fi
for f in $list; do
	[ -f "$f" ] || continue
	n=$((n + 1))
	if ! head -3 "$f" | grep -q "$line"; then
		echo "no '$line' in the first lines of $f" >&2
		bad=$((bad + 1))
	fi
done
[ "$n" -gt 100 ] || { echo "only $n files found: wrong folder?" >&2; exit 1; }
[ "$bad" = 0 ] || exit 1
echo "spdx: $n files carry the licence line"
