#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# hsm-vectors in its own SoftHSM2 token (tests/hsm/lib.sh).
#
# usage: test_vectors.sh CARDC TEST_HSM_VECTORS SOURCE_ROOT MODULE
set -u
. "$(dirname "$0")/lib.sh"
hsm_setup "$1" "$3" "$4"
"$2" "$SRCROOT/tests/vectors"
