/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bench/loader_overhead: the timing half of loader_overhead.sh, which runs
 * it inside the e2e harness (private pcscd + cardsim) to compare cardload's
 * wall time for a bundle with a bare SCardTransmit replay of the same
 * APDUs through the same pcscd and simulator.
 *
 *   loader_overhead extract BUNDLE PUB        the bundle's APDUs, one hex line each
 *   loader_overhead cardload PROGRAM ARGS...  run a program (cardload, or this one's
 *                                             replay); print its wall time (us) and
 *                                             peak resident set (KB); its standard
 *                                             output goes to /dev/null
 *   loader_overhead replay APDUS              connect, one transaction, transmit
 *                                             every APDU (each must answer 9000),
 *                                             disconnect; print the wall time (us)
 *
 * cardload's time runs from spawning the process to its exit: what a
 * technician waits for (start-up, signature check, PC/SC connection,
 * streaming, run log with fsync). The replay's time runs from
 * SCardEstablishContext to SCardReleaseContext in this process: the PC/SC
 * and card time alone; run through `cardload` mode, the replay too is timed
 * from spawn to exit (a small C program doing nothing but the replay).
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

#include <winscard.h>

#include "bundle_read.h"
#include "cpk_bytes.h"
#include "verify.h"

extern char **environ;

static uint64_t
now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int
extract(const char *bundle, const char *pub)
{
	struct cpk_buf bytes = CPK_BUF_INIT;
	struct cpk_trust *trust = NULL;
	struct cpk_bundle *b = NULL;
	struct cpk_bundle_diag diag;
	struct cpk_error err;
	const struct cpk_command *c;
	size_t i, k;
	int rc = 1;

	cpk_error_clear(&err);
	if (cpk_trust_new(&trust, &err) != CPK_OK || cpk_trust_add_path(trust, pub, &err) != CPK_OK ||
	    cpk_bundle_read_path(bundle, &bytes, &err) != CPK_OK ||
	    cpk_bundle_open(bytes.data, bytes.len, trust, 0, &b, &diag, &err) != CPK_OK) {
		fprintf(stderr, "loader_overhead: %s\n", err.msg);
		goto out;
	}
	for (i = 0; i < cpk_bundle_command_count(b); i++) {
		c = cpk_bundle_command(b, i);
		for (k = 0; k < c->apdu_len; k++)
			printf("%02X", c->apdu[k]);
		putchar('\n');
	}
	rc = fflush(stdout) == 0 ? 0 : 1;
out:
	cpk_bundle_free(&b);
	cpk_trust_free(&trust);
	cpk_buf_free(&bytes);
	return rc;
}

static int
run_cardload(char *argv[])
{
	posix_spawn_file_actions_t fa;
	struct rusage ru;
	uint64_t t0, t1;
	pid_t pid;
	int status, e;

	if (posix_spawn_file_actions_init(&fa) != 0 ||
	    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0) != 0)
		return 1;
	t0 = now_usec();
	e = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (e != 0) {
		fprintf(stderr, "loader_overhead: cannot run %s: %s\n", argv[0], strerror(e));
		return 1;
	}
	while (wait4(pid, &status, 0, &ru) < 0)
		if (errno != EINTR)
			return 1;
	t1 = now_usec();
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "loader_overhead: %s failed (status %d)\n", argv[0], status);
		return 1;
	}
	printf("%llu %ld\n", (unsigned long long)(t1 - t0), ru.ru_maxrss);
	return 0;
}

/* The APDUs of a file, hex lines. */
static int
read_apdus(const char *path, struct cpk_buf *all, size_t **lens, size_t *n)
{
	FILE *f = fopen(path, "r");
	static char line[2 * 65544 + 4];
	static uint8_t apdu[65544];
	size_t len, *nl;

	*n = 0;
	*lens = NULL;
	if (f == NULL) {
		perror(path);
		return 1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (cpk_hex_decode(line, strlen(line), apdu, sizeof(apdu), &len, NULL) != CPK_OK ||
		    (nl = realloc(*lens, (*n + 1) * sizeof(**lens))) == NULL ||
		    cpk_buf_append(all, apdu, len, NULL) != CPK_OK) {
			fprintf(stderr, "loader_overhead: bad APDU line %zu\n", *n + 1);
			fclose(f);
			return 1;
		}
		*lens = nl;
		(*lens)[(*n)++] = len;
	}
	fclose(f);
	return 0;
}

/* The first reader holding a card. */
static int
find_reader(SCARDCONTEXT ctx, char *out, size_t cap)
{
	char names[4096], *p;
	DWORD len = sizeof(names);
	SCARD_READERSTATE st;

	if (SCardListReaders(ctx, NULL, names, &len) != SCARD_S_SUCCESS)
		return 1;
	for (p = names; *p != '\0'; p += strlen(p) + 1) {
		memset(&st, 0, sizeof(st));
		st.szReader = p;
		st.dwCurrentState = SCARD_STATE_UNAWARE;
		if (SCardGetStatusChange(ctx, 0, &st, 1) == SCARD_S_SUCCESS &&
		    (st.dwEventState & SCARD_STATE_PRESENT)) {
			if (strlen(p) >= cap)
				return 1;
			memcpy(out, p, strlen(p) + 1);
			return 0;
		}
	}
	return 1;
}

static int
replay(const char *path)
{
	struct cpk_buf all = CPK_BUF_INIT;
	size_t *lens = NULL, n = 0, i, off = 0;
	SCARDCONTEXT ctx;
	SCARDHANDLE card;
	DWORD proto, rlen;
	static uint8_t resp[65538];
	char reader[256];
	uint64_t t0, t1;
	LONG rv;
	int rc = 1;

	if (read_apdus(path, &all, &lens, &n) != 0)
		goto out;
	t0 = now_usec();
	if ((rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx)) != SCARD_S_SUCCESS) {
		fprintf(stderr, "loader_overhead: %s\n", pcsc_stringify_error(rv));
		goto out;
	}
	if (find_reader(ctx, reader, sizeof(reader)) != 0 ||
	    (rv = SCardConnect(ctx, reader, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, &card,
	    &proto)) != SCARD_S_SUCCESS) {
		fprintf(stderr, "loader_overhead: no card to replay to\n");
		SCardReleaseContext(ctx);
		goto out;
	}
	SCardBeginTransaction(card);
	for (i = 0; i < n; i++) {
		rlen = sizeof(resp);
		rv = SCardTransmit(card, SCARD_PCI_T1, all.data + off, (DWORD)lens[i], NULL, resp,
		    &rlen);
		off += lens[i];
		if (rv != SCARD_S_SUCCESS || rlen < 2 || resp[rlen - 2] != 0x90 ||
		    resp[rlen - 1] != 0x00) {
			fprintf(stderr, "loader_overhead: replay command %zu failed\n", i + 1);
			break;
		}
	}
	SCardEndTransaction(card, SCARD_LEAVE_CARD);
	SCardDisconnect(card, SCARD_LEAVE_CARD);
	SCardReleaseContext(ctx);
	t1 = now_usec();
	if (i == n) {
		printf("%llu\n", (unsigned long long)(t1 - t0));
		rc = 0;
	}
out:
	free(lens);
	cpk_buf_free(&all);
	return rc;
}

int
main(int argc, char *argv[])
{
	if (argc == 4 && strcmp(argv[1], "extract") == 0)
		return extract(argv[2], argv[3]);
	if (argc >= 3 && strcmp(argv[1], "cardload") == 0)
		return run_cardload(argv + 2);
	if (argc == 3 && strcmp(argv[1], "replay") == 0)
		return replay(argv[2]);
	fprintf(stderr, "usage: loader_overhead extract BUNDLE PUB | cardload PROGRAM ARGS... | "
	    "replay APDUS\n");
	return 2;
}
