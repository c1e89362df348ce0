/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk unit tests: a tiny check harness. Each test program calls CHECK*
 * and ends with `return test_summary("name");`. A failed check prints the
 * location and continues, so one run reports every failure.
 */
#ifndef CPK_TESTLIB_H
#define CPK_TESTLIB_H

#include <stdio.h>
#include <string.h>

#include "cpk_bytes.h"
#include "cpk_error.h"

extern int test_failures;
extern int test_checks;

#define CHECK(cond) \
	test_check((cond), #cond, __FILE__, __LINE__)
#define CHECK_OK(expr) \
	test_check_status((expr), CPK_OK, #expr, __FILE__, __LINE__)
#define CHECK_STATUS(expr, want) \
	test_check_status((expr), (want), #expr, __FILE__, __LINE__)
#define CHECK_MEM(got, gotlen, want, wantlen) \
	test_check_mem((got), (gotlen), (want), (wantlen), #got, __FILE__, __LINE__)
#define CHECK_HEX(got, gotlen, wanthex) \
	test_check_hex((got), (gotlen), (wanthex), #got, __FILE__, __LINE__)
#define CHECK_STR(got, want) \
	test_check_str((got), (want), #got, __FILE__, __LINE__)
/* The error message contains the given substring. */
#define CHECK_MSG(err, needle) \
	test_check_msg((err), (needle), __FILE__, __LINE__)

int test_check(int ok, const char *what, const char *file, int line);
int test_check_status(cpk_status got, cpk_status want, const char *what, const char *file, int line);
int test_check_mem(const void *got, size_t gotlen, const void *want, size_t wantlen,
    const char *what, const char *file, int line);
int test_check_hex(const void *got, size_t gotlen, const char *wanthex, const char *what,
    const char *file, int line);
int test_check_str(const char *got, const char *want, const char *what, const char *file, int line);
int test_check_msg(const struct cpk_error *err, const char *needle, const char *file, int line);
/* Decode hex for a test (aborts the program on malformed test data). */
size_t test_unhex(const char *hex, uint8_t *out, size_t outcap);
int test_summary(const char *name);

#endif
