/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: ISO 7816-4 and GlobalPlatform status words in plain words.
 */
#ifndef CPK_SW_H
#define CPK_SW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Write a plain-language meaning of a status word into out (always
 * NUL-terminated, truncated to outcap). Returns out.
 * Example: 6982 -> "security status not satisfied (secure channel
 * missing or MAC wrong)"; 63C2 -> "verification failed, 2 tries left".
 */
const char *cpk_sw_describe(uint16_t sw, char *out, size_t outcap);

/* 9000, 61xx: success; 62xx and 63xx: warnings (processing completed). */
bool cpk_sw_is_success(uint16_t sw);
bool cpk_sw_is_warning(uint16_t sw);

#endif
