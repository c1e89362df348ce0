#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Validate SARIF files against the SARIF 2.1.0 schema (validate.js; its
# packages are installed into this folder by scripts/deps.sh: npm ci).
exec node "$(dirname "$0")/validate.js" "$@"
