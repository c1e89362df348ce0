/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzz target: response APDUs and status words, cpk_rapdu_parse
 * (common/cpk_apdu.h) and cpk_sw_describe (common/cpk_sw.h).
 *
 * Whatever the input, nothing crashes. A response of at least 2 bytes
 * splits into data (pointing into the input) and SW1 SW2; the description
 * of any status word is a non-empty printable line, NUL-terminated within
 * any buffer size.
 */
#include <stdbool.h>
#include <string.h>

#include "cpk_apdu.h"
#include "cpk_sw.h"
#include "fuzz.h"

static void
check_description(uint16_t sw, size_t outcap)
{
	char out[256];
	size_t i, len;

	memset(out, 'X', sizeof(out));
	FUZZ_CHECK(cpk_sw_describe(sw, out, outcap) == out);
	len = strnlen(out, sizeof(out));
	FUZZ_CHECK(len < outcap);
	if (outcap > 1)
		FUZZ_CHECK(len > 0);
	for (i = 0; i < len; i++)
		FUZZ_CHECK(out[i] >= 0x20 && out[i] < 0x7f);
	/* Nothing written past the buffer the caller declared. */
	for (i = outcap; i < sizeof(out); i++)
		FUZZ_CHECK(out[i] == 'X');
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cpk_rapdu r;
	struct cpk_error err;

	if (cpk_rapdu_parse(data, size, &r, &err) != CPK_OK) {
		FUZZ_CHECK(size < 2 && err.status == CPK_ERR_PARSE);
		return 0;
	}
	FUZZ_CHECK(size >= 2 && r.len == size - 2);
	FUZZ_CHECK(r.len == 0 ? r.data == NULL : r.data == data);
	FUZZ_CHECK(r.sw == (uint16_t)(data[size - 2] << 8 | data[size - 1]));
	FUZZ_CHECK(!(cpk_sw_is_success(r.sw) && cpk_sw_is_warning(r.sw)));

	check_description(r.sw, 256);
	/* A buffer size the input chooses, from 1 to 256 bytes. */
	check_description(r.sw, 1 + (size_t)data[0]);
	return 0;
}
