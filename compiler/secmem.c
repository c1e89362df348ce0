/* SPDX-License-Identifier: BSD-2-Clause */
/* cpk: key material out of core dumps and swap (see secmem.h). */
#include "secmem.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "cpk_bytes.h"

cpk_status
secmem_process_protect(struct cpk_error *err)
{
	struct rlimit rl = { 0, 0 };

#ifdef __linux__
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		return cpk_error_set(err, CPK_ERR_IO,
		    "cannot make the process undumpable (prctl PR_SET_DUMPABLE): %s",
		    strerror(errno));
#endif
	if (setrlimit(RLIMIT_CORE, &rl) != 0)
		return cpk_error_set(err, CPK_ERR_IO,
		    "cannot set the core file size limit to 0 (setrlimit RLIMIT_CORE): %s",
		    strerror(errno));
	/* 1: locked; 2: mapped but not locked (RLIMIT_MEMLOCK); 0: none. */
	if (CRYPTO_secure_malloc_initialized() == 0)
		(void)CRYPTO_secure_malloc_init(SECMEM_OPENSSL_HEAP, 16);
	return CPK_OK;
}

static size_t
round_pages(size_t n)
{
	long pg = sysconf(_SC_PAGESIZE);
	size_t page = pg > 0 ? (size_t)pg : 4096;

	if (n == 0 || n > SIZE_MAX - page)
		return 0;
	return (n + page - 1) / page * page;
}

void *
secmem_alloc(size_t n)
{
	size_t len = round_pages(n);
	void *p;

	if (len == 0)
		return NULL;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
#ifdef MADV_DONTDUMP
	(void)madvise(p, len, MADV_DONTDUMP);
#endif
	/* Best effort: RLIMIT_MEMLOCK may forbid it; the pages then may be swapped. */
	(void)mlock(p, len);
	return p;		/* anonymous pages are zero */
}

void
secmem_free(void *p, size_t n)
{
	size_t len = round_pages(n);

	if (p == NULL || len == 0)
		return;
	cpk_cleanse(p, len);
	(void)munlock(p, len);
	(void)munmap(p, len);
}
