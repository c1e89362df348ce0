#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Nothing under common/, compiler/, loader/, registry/ or server/ prints, exits or aborts: the
# libraries return a status and fill a struct cpk_error; only cli/ (and the
# test programs) decide what to print and how to exit.
#
# usage: library-silence.sh SOURCE_ROOT
set -eu
root=${1:?usage: library-silence.sh SOURCE_ROOT}
pattern='(^|[^_a-zA-Z0-9])(printf|fprintf|vfprintf|puts|fputs|putchar|perror|exit|_exit|_Exit|abort|assert|err|errx|warn|warnx|syslog)[[:space:]]*\('
found=$(grep -nE "$pattern" "$root"/common/*.c "$root"/compiler/*.c "$root"/loader/*.c "$root"/registry/*.c "$root"/server/*.c 2>/dev/null |
    grep -vE '^[^:]+:[0-9]+:[[:space:]]*(/?\*|//)' || true)
if [ -n "$found" ]; then
	echo "library code must not print or exit; found:" >&2
	echo "$found" >&2
	exit 1
fi
n=$(ls "$root"/common/*.c "$root"/compiler/*.c "$root"/loader/*.c "$root"/registry/*.c "$root"/server/*.c 2>/dev/null | wc -l)
echo "library-silence: $n files checked, none prints or exits"
