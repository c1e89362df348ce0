/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: keeping key material out of core dumps and swap.
 *
 * secmem_process_protect() makes the process undumpable: no core file,
 * no /proc/PID/mem or ptrace access for the process's own user
 * (prctl(PR_SET_DUMPABLE, 0)), and a core file size limit of 0
 * (RLIMIT_CORE). It also gives OpenSSL a secure heap
 * (CRYPTO_secure_malloc_init), where OpenSSL keeps the Ed25519 private
 * key of a signer. cardc calls it first thing, before any key is read.
 *
 * secmem_alloc() hands out whole pages of their own (mmap), excluded from
 * core dumps (MADV_DONTDUMP) and locked in memory (mlock) where the
 * system allows: when RLIMIT_MEMLOCK forbids the lock the memory is still
 * given, unlocked. secmem_free() cleanses, unlocks and unmaps it.
 * What is not covered (stack copies, libyaml's buffers) is listed in
 * docs/SECURITY.md.
 */
#ifndef CPK_SECMEM_H
#define CPK_SECMEM_H

#include <stddef.h>

#include "cpk_error.h"

/* Size of OpenSSL's secure heap (a power of two). */
#define SECMEM_OPENSSL_HEAP 65536

/*
 * Undumpable process, RLIMIT_CORE 0, OpenSSL secure heap. CPK_ERR_IO if
 * the process cannot be made undumpable or its core limit cannot be set
 * (the message says which); a secure heap that cannot be locked or that
 * OpenSSL cannot set up is not an error (the keys then stay on OpenSSL's
 * ordinary heap of an undumpable process).
 */
cpk_status secmem_process_protect(struct cpk_error *err);

/* n zeroed bytes on pages of their own; NULL if n is 0 or out of memory. */
void *secmem_alloc(size_t n);

/* Cleanse, unlock and unmap what secmem_alloc(n) returned; NULL accepted. */
void secmem_free(void *p, size_t n);

#endif
