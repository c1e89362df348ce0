# SPDX-License-Identifier: BSD-2-Clause
# Sourced by scripts/demo.sh and tests/run-all.sh: both install packages and
# start pcscd in private namespaces, so they need root. When not root,
# re-execute the calling script under sudo (keeping the environment, so
# CPK_* settings still apply); without sudo, say what to run instead.
#
# usage: cpk_as_root "$0" "$@"
cpk_as_root() {
	[ "$(id -u)" = 0 ] && return 0
	if command -v sudo >/dev/null 2>&1; then
		exec sudo -E -- "$@"
	fi
	echo "$1: needs root (packages, private pcscd); run it as root" >&2
	exit 1
}
