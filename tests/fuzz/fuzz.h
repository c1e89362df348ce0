/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk fuzz targets: what every target shares.
 *
 * A target (fuzz_<name>.c) defines LLVMFuzzerTestOneInput and nothing else
 * with external linkage. It never prints. A broken invariant is a crash:
 * FUZZ_CHECK traps, so libFuzzer records the input as a crash artifact and
 * the standalone replay fails its test.
 */
#ifndef CPK_FUZZ_H
#define CPK_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond) do {		\
	if (!(cond))			\
		__builtin_trap();	\
} while (0)

#endif
