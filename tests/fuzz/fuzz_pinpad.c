/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzz target: a reader's PC/SC part 10 feature list (the answer to
 * CM_IOCTL_GET_FEATURE_REQUEST), cpk_pinpad_features_parse in
 * loader/pinpad.h: bytes a reader (driver) sends.
 *
 * Whatever the input, nothing crashes. When accepted: the input is whole
 * 6-byte entries of length 4, every known tag's code is that entry's
 * (big endian) and nonzero, and a tag listed is listed once.
 */
#include <string.h>

#include "fuzz.h"
#include "pinpad.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cpk_pinpad_features f;
	struct cpk_error err;
	bool seen[CPK_FEATURE_TAG_MAX + 1];
	size_t i, listed = 0, known = 0;

	if (cpk_pinpad_features_parse(data, size, &f, &err) != CPK_OK) {
		FUZZ_CHECK(err.msg[0] != '\0');
		return 0;
	}
	FUZZ_CHECK(size % 6 == 0 && size <= CPK_PINPAD_FEATURES_MAX);
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < size; i += 6) {
		FUZZ_CHECK(data[i + 1] == 4);
		if (data[i] > CPK_FEATURE_TAG_MAX)
			continue;
		FUZZ_CHECK(!seen[data[i]]);
		seen[data[i]] = true;
		listed++;
		FUZZ_CHECK(f.code[data[i]] == ((uint32_t)data[i + 2] << 24 |
		    (uint32_t)data[i + 3] << 16 | (uint32_t)data[i + 4] << 8 | data[i + 5]));
		FUZZ_CHECK(f.code[data[i]] != 0);
	}
	for (i = 0; i <= CPK_FEATURE_TAG_MAX; i++)
		known += f.code[i] != 0;
	FUZZ_CHECK(known == listed);
	return 0;
}
