/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A PKCS#11 module for tests that stands in front of a real one (the path
 * in CPK_FAULTY_MODULE) and plays a token that goes away: the Nth call
 * (CPK_FAULTY_AT=N, counted over C_EncryptInit, C_SignInit and
 * C_DeriveKey across all threads) and the CPK_FAULTY_COUNT-1 calls after
 * it (default 1 in all) fail with CKR_DEVICE_REMOVED, or with
 * CKR_KEY_HANDLE_INVALID when CPK_FAULTY_RV is "handle" (a token put back,
 * whose object handles changed); every other call goes to the real module.
 * The hsm suite uses it for "token removed mid-batch".
 */
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdlib.h>

#include <p11-kit/pkcs11.h>

CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list);

static CK_FUNCTION_LIST real_list, faulty_list;
static CK_FUNCTION_LIST_PTR real;
static atomic_ulong calls;
static unsigned long fail_at, fail_count = 1;
static CK_RV fail_rv = CKR_DEVICE_REMOVED;

static int
fails(void)
{
	unsigned long n = atomic_fetch_add(&calls, 1) + 1;

	return fail_at != 0 && n >= fail_at && n < fail_at + fail_count;
}

static CK_RV
faulty_encrypt_init(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k)
{
	return fails() ? fail_rv : real->C_EncryptInit(h, m, k);
}

static CK_RV
faulty_sign_init(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k)
{
	return fails() ? fail_rv : real->C_SignInit(h, m, k);
}

static CK_RV
faulty_derive(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE base,
    CK_ATTRIBUTE_PTR t, CK_ULONG n, CK_OBJECT_HANDLE_PTR out)
{
	return fails() ? fail_rv : real->C_DeriveKey(h, m, base, t, n, out);
}

CK_RV
C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list)
{
	CK_C_GetFunctionList get;
	const char *path = getenv("CPK_FAULTY_MODULE"), *at = getenv("CPK_FAULTY_AT");
	const char *count = getenv("CPK_FAULTY_COUNT"), *rv_name = getenv("CPK_FAULTY_RV");
	void *dl;
	CK_RV rv;

	if (real == NULL) {
		if (path == NULL || (dl = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL)
			return CKR_GENERAL_ERROR;
		*(void **)&get = dlsym(dl, "C_GetFunctionList");
		if (get == NULL || (rv = get(&real)) != CKR_OK)
			return CKR_GENERAL_ERROR;
		real_list = *real;
		real = &real_list;
		fail_at = at != NULL ? strtoul(at, NULL, 10) : 0;
		if (count != NULL)
			fail_count = strtoul(count, NULL, 10);
		if (rv_name != NULL && rv_name[0] == 'h')
			fail_rv = CKR_KEY_HANDLE_INVALID;
		faulty_list = real_list;
		faulty_list.C_EncryptInit = faulty_encrypt_init;
		faulty_list.C_SignInit = faulty_sign_init;
		faulty_list.C_DeriveKey = faulty_derive;
	}
	*list = &faulty_list;
	return CKR_OK;
}
