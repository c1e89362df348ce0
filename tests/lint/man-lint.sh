#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Every man page is clean under `mandoc -T lint` (warnings included).
#
# usage: man-lint.sh SOURCE_ROOT
set -eu
root=${1:?usage: man-lint.sh SOURCE_ROOT}
command -v mandoc >/dev/null 2>&1 || { echo "mandoc is not installed" >&2; exit 1; }
n=0
for page in "$root"/man/*.[1-8]; do
	[ -e "$page" ] || continue
	# The operating-system style message about a missing .Os argument is not a defect of ours.
	out=$(mandoc -T lint -W warning "$page" 2>&1 || true)
	if [ -n "$out" ]; then
		echo "$out" >&2
		exit 1
	fi
	n=$((n + 1))
done
echo "man-lint: $n pages clean"
