/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk unit test: the run log (loader/runlog.h) and the fetch refusals that
 * need no network (loader/fetch.h). The line format (members, nulls,
 * escaping, invalid UTF-8), the default path, appending (folders 0700,
 * file 0600, one line per call, no symbolic link followed, a folder in the
 * way), and https-only URLs.
 */
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fetch.h"
#include "runlog.h"
#include "testlib.h"

static char tmpdir[256];

/* The buffer (not NUL-terminated) holds needle somewhere. */
static bool
contains(const struct cpk_buf *b, const char *needle)
{
	size_t n = strlen(needle), i;

	for (i = 0; b->len >= n && i <= b->len - n; i++)
		if (memcmp(b->data + i, needle, n) == 0)
			return true;
	return false;
}

static void
test_format(void)
{
	struct cpk_runlog_entry e;
	struct cpk_buf out = CPK_BUF_INIT;
	uint8_t sha[CPK_SHA256_LEN], id[CPK_KEY_ID_LEN];
	struct timespec ts = { 1763805845, 123456789 };
	const char *want;

	memset(&e, 0, sizeof(e));
	cpk_runlog_time(&ts, e.start);
	CHECK_STR(e.start, "2025-11-22T10:04:05.123Z");
	ts.tv_nsec = 999999999;
	cpk_runlog_time(&ts, e.end);
	CHECK_STR(e.end, "2025-11-22T10:04:05.999Z");
	e.version = "0.1.0";
	e.result = "rejected";
	e.exit_code = 3;
	e.source = "a\"b\\c\n\x01\xff\xc3\xa9.cpk";
	e.pid = 4242;
	CHECK_OK(cpk_runlog_format(&e, &out, NULL));
	want = "{\"record\":\"ended\",\"start\":\"2025-11-22T10:04:05.123Z\",\"pid\":4242,\"end\":\"2025-11-22T10:04:05.999Z\","
	    "\"cardload\":\"0.1.0\",\"result\":\"rejected\",\"exit\":3,"
	    "\"source\":\"a\\\"b\\\\c\\n\\u0001\\ufffd\xc3\xa9.cpk\",\"bundle-sha256\":null,"
	    "\"key-id\":null,\"serial\":null,\"reader\":null,\"commands\":0,\"sent\":0,"
	    "\"accepted\":0,\"failed-index\":null,\"failed-label\":null,\"failed-sw\":null,"
	    "\"iu-field\":null,\"message\":null,\"receipt-file\":null,\"receipt-sha256\":null,"
	    "\"receipt-omitted\":null,\"receipt\":null}\n";
	CHECK_MEM(out.data, out.len, want, strlen(want));

	/* The receipt goes in raw, on the record's one line. */
	{
		static const char doc[] = "{\"cpk-receipt\":1,\n\"commands\":[\n{\"index\":1}]}\n";

		e.receipt = (const uint8_t *)doc;
		e.receipt_len = sizeof(doc) - 1;
		e.receipt_file = "r.json";
		cpk_buf_reset(&out);
		CHECK_OK(cpk_runlog_format(&e, &out, NULL));
		CHECK(contains(&out, "\"receipt-file\":\"r.json\",\"receipt-sha256\":null,"
		    "\"receipt-omitted\":null,"
		    "\"receipt\":{\"cpk-receipt\":1,\"commands\":[{\"index\":1}]}}\n"));
		CHECK(memchr(out.data, '\n', out.len) == out.data + out.len - 1);
		/* Too long for a record: left out, and the record says why. */
		e.receipt_len = CPK_RUNLOG_RECEIPT_MAX + 1;
		e.receipt_omitted = "too long";
		cpk_buf_reset(&out);
		CHECK_OK(cpk_runlog_format(&e, &out, NULL));
		CHECK(contains(&out, "\"receipt-omitted\":\"too long\",\"receipt\":null}"));
		e.receipt = NULL;
		e.receipt_len = 0;
		e.receipt_file = NULL;
		e.receipt_omitted = NULL;
	}

	memset(sha, 0xAB, sizeof(sha));
	memset(id, 0x1C, sizeof(id));
	e.result = "refused";
	e.exit_code = 4;
	e.source = "-";
	e.bundle_sha256 = sha;
	e.key_id = id;
	e.serial = "CARD-0001";
	e.reader = "Virtual PCD 00 00";
	e.commands = 57;
	e.sent = 17;
	e.accepted = 16;
	e.failed = true;
	e.failed_index = 17;
	e.failed_label = "LOAD 12/20";
	e.failed_sw = 0x6A84;
	e.message = "the card refused command 17";
	cpk_buf_reset(&out);
	CHECK_OK(cpk_runlog_format(&e, &out, NULL));
	CHECK(contains(&out, "\"bundle-sha256\":\"ABABABAB"));
	CHECK(contains(&out, "\"key-id\":\"1c1c1c1c1c1c1c1c\""));
	CHECK(contains(&out, "\"commands\":57,\"sent\":17,\"accepted\":16,"
	    "\"failed-index\":17,\"failed-label\":\"LOAD 12/20\",\"failed-sw\":\"6A84\""));
	CHECK(memchr(out.data, '\n', out.len) == out.data + out.len - 1);

	/* The "started" record: who, what and where, before the first command. */
	e.started = true;
	cpk_buf_reset(&out);
	CHECK_OK(cpk_runlog_format(&e, &out, NULL));
	want = "{\"record\":\"started\",\"start\":\"2025-11-22T10:04:05.123Z\",\"pid\":4242,"
	    "\"cardload\":\"0.1.0\",\"source\":\"-\",\"bundle-sha256\":\"ABABABABABABABAB"
	    "ABABABABABABABABABABABABABABABABABABABABABABABAB\",\"key-id\":\"1c1c1c1c1c1c1c1c\","
	    "\"serial\":\"CARD-0001\",\"reader\":\"Virtual PCD 00 00\",\"commands\":57}\n";
	CHECK_MEM(out.data, out.len, want, strlen(want));
	e.started = false;

	/* Long strings are cut; the line stays bounded. */
	{
		char *longs = malloc(5000);

		CHECK(longs != NULL);
		memset(longs, 'x', 4999);
		longs[4999] = '\0';
		e.source = longs;
		e.message = longs;
		cpk_buf_reset(&out);
		CHECK_OK(cpk_runlog_format(&e, &out, NULL));
		CHECK(out.len < CPK_RUNLOG_LINE_MAX);
		/* Control characters write six bytes each: still cut by what is written. */
		memset(longs, '\x01', 4999);
		e.reader = longs;
		cpk_buf_reset(&out);
		CHECK_OK(cpk_runlog_format(&e, &out, NULL));
		CHECK(out.len < CPK_RUNLOG_LINE_MAX);
		CHECK_OK(cpk_buf_append_byte(&out, 0, NULL));
		CHECK(strstr((const char *)out.data, "\\u0001\\u0001\",\"commands\"") != NULL);
		/* A receipt within its own cap that the longest other members leave no room for. */
		{
			size_t rn = CPK_RUNLOG_RECEIPT_MAX;
			uint8_t *doc = malloc(rn);

			CHECK(doc != NULL);
			memset(doc, 'x', rn);
			memcpy(doc, "{\"a\":\"", 6);
			memcpy(doc + rn - 2, "\"}", 2);
			e.receipt = doc;
			e.receipt_len = rn;
			e.receipt_file = longs;
			e.iu_field = longs;
			cpk_buf_reset(&out);
			CHECK_OK(cpk_runlog_format(&e, &out, NULL));
			CHECK(out.len <= CPK_RUNLOG_LINE_MAX);
			CHECK(contains(&out, "\"receipt-omitted\":\"the receipt (61440 bytes) does not "
			    "fit in a run log record\",\"receipt\":null}\n"));
			/* With short members it fits. */
			e.source = e.message = e.reader = e.receipt_file = e.iu_field = NULL;
			cpk_buf_reset(&out);
			CHECK_OK(cpk_runlog_format(&e, &out, NULL));
			CHECK(out.len <= CPK_RUNLOG_LINE_MAX);
			CHECK(contains(&out, "\"receipt-omitted\":null,\"receipt\":{\"a\":\"xx"));
			e.receipt = NULL;
			e.receipt_len = 0;
			free(doc);
		}
		e.reader = NULL;
		free(longs);
	}
	cpk_buf_free(&out);
}

static void
test_default_path(void)
{
	char path[CPK_RUNLOG_PATH_MAX];
	struct cpk_error err;

	setenv("XDG_STATE_HOME", "/var/state", 1);
	setenv("HOME", "/home/tech", 1);
	CHECK_OK(cpk_runlog_default_path(path, sizeof(path), NULL));
	CHECK_STR(path, "/var/state/cpk/cardload.log");
	setenv("XDG_STATE_HOME", "relative", 1);
	CHECK_OK(cpk_runlog_default_path(path, sizeof(path), NULL));
	CHECK_STR(path, "/home/tech/.local/state/cpk/cardload.log");
	unsetenv("XDG_STATE_HOME");
	CHECK_OK(cpk_runlog_default_path(path, sizeof(path), NULL));
	CHECK_STR(path, "/home/tech/.local/state/cpk/cardload.log");
	unsetenv("HOME");
	cpk_error_clear(&err);
	CHECK_STATUS(cpk_runlog_default_path(path, sizeof(path), &err), CPK_ERR_NOT_FOUND);
	CHECK_MSG(&err, "XDG_STATE_HOME");
}

static size_t
lines(const char *path)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;
	int c;

	if (f == NULL)
		return 0;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

static void
test_append(void)
{
	char path[700], dir[300], link[700];
	struct stat sb;
	struct cpk_error err;
	const uint8_t line[] = "{\"a\":1}\n";

	snprintf(dir, sizeof(dir), "%s/x/y", tmpdir);
	snprintf(path, sizeof(path), "%s/run.log", dir);
	CHECK_OK(cpk_runlog_append(path, line, sizeof(line) - 1, NULL));
	CHECK_OK(cpk_runlog_append(path, line, sizeof(line) - 1, NULL));
	CHECK(lines(path) == 2);
	CHECK(stat(dir, &sb) == 0 && (sb.st_mode & 0777) == 0700);
	CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600 && sb.st_size == 16);

	/* A symbolic link is not followed. */
	snprintf(link, sizeof(link), "%s/link.log", tmpdir);
	CHECK(symlink(path, link) == 0);
	cpk_error_clear(&err);
	CHECK_STATUS(cpk_runlog_append(link, line, sizeof(line) - 1, &err), CPK_ERR_IO);
	CHECK_MSG(&err, "cannot open the run log");
	CHECK(lines(path) == 2);
	/* A folder where the file should be, a file where a folder should be. */
	cpk_error_clear(&err);
	CHECK_STATUS(cpk_runlog_append(dir, line, sizeof(line) - 1, &err), CPK_ERR_IO);
	snprintf(link, sizeof(link), "%s/run.log/z.log", dir);
	cpk_error_clear(&err);
	CHECK_STATUS(cpk_runlog_append(link, line, sizeof(line) - 1, &err), CPK_ERR_IO);
	CHECK_MSG(&err, "not a folder");
	CHECK_STATUS(cpk_runlog_append("", line, 1, NULL), CPK_ERR_ARG);
	/* A record is one whole line. */
	cpk_error_clear(&err);
	CHECK_STATUS(cpk_runlog_append(path, line, sizeof(line) - 2, &err), CPK_ERR_ARG);
	CHECK_MSG(&err, "one line of 1 to 65536 bytes ending in a newline");
	CHECK_STATUS(cpk_runlog_append(path, line, 0, NULL), CPK_ERR_ARG);
	CHECK(lines(path) == 2);
	/*
	 * Security review, issue 10: a FIFO or a device (as /dev/null) keeps no
	 * record, so it is refused; a FIFO without a reader at once, not waited
	 * on. The device node is made here (the null device's numbers, root only).
	 */
	snprintf(link, sizeof(link), "%s/log.fifo", tmpdir);
	CHECK(mkfifo(link, 0600) == 0);
	cpk_error_clear(&err);
	CHECK_STATUS(cpk_runlog_append(link, line, sizeof(line) - 1, &err), CPK_ERR_IO);
	CHECK_MSG(&err, "/log.fifo' is a FIFO, not a regular file");
	CHECK(strncmp(err.msg, "run log '", 9) == 0);
	unlink(link);
	snprintf(link, sizeof(link), "%s/null", tmpdir);
	if (mknod(link, S_IFCHR | 0600, makedev(1, 3)) == 0) {
		cpk_error_clear(&err);
		CHECK_STATUS(cpk_runlog_append(link, line, sizeof(line) - 1, &err), CPK_ERR_IO);
		CHECK_MSG(&err, "/null' is a character device, not a regular file");
		unlink(link);
	} else {
		fprintf(stderr, "runlog: mknod not permitted, device node case not tested\n");
	}
	unlink(path);
	snprintf(link, sizeof(link), "%s/link.log", tmpdir);
	unlink(link);
	rmdir(dir);
	snprintf(dir, sizeof(dir), "%s/x", tmpdir);
	rmdir(dir);
}

/*
 * Disk full, as a file size limit: the write of a record stops short (the
 * first bytes are written, then EFBIG); the fragment is cut off again, so
 * the next record starts on a line of its own.
 */
static void
test_short_write(void)
{
	char path[700];
	uint8_t rec[100];
	struct rlimit old, lim;
	struct sigaction sa, oldsa;
	struct stat sb;
	struct cpk_error err;
	FILE *f;
	int c, n = 0;

	snprintf(path, sizeof(path), "%s/full.log", tmpdir);
	memset(rec, 'x', sizeof(rec));
	rec[0] = '{';
	rec[sizeof(rec) - 2] = '}';
	rec[sizeof(rec) - 1] = '\n';
	CHECK_OK(cpk_runlog_append(path, rec, sizeof(rec), NULL));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	CHECK(sigaction(SIGXFSZ, &sa, &oldsa) == 0);
	CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
	lim = old;
	lim.rlim_cur = 150;	/* room for half of the next record */
	CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
	cpk_error_clear(&err);
	CHECK_STATUS(cpk_runlog_append(path, rec, sizeof(rec), &err), CPK_ERR_IO);
	CHECK_MSG(&err, "only 50 of 100 bytes written (disk full?); the partial record was "
	    "removed");
	CHECK(stat(path, &sb) == 0 && sb.st_size == 100);
	/* Nothing fits at all: write(2) fails, nothing to take back. */
	lim.rlim_cur = 100;
	CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
	cpk_error_clear(&err);
	CHECK_STATUS(cpk_runlog_append(path, rec, sizeof(rec), &err), CPK_ERR_IO);
	CHECK_MSG(&err, "cannot write the run log");
	CHECK(stat(path, &sb) == 0 && sb.st_size == 100);
	CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
	CHECK(sigaction(SIGXFSZ, &oldsa, NULL) == 0);
	/* The next record is a line of its own. */
	CHECK_OK(cpk_runlog_append(path, rec, sizeof(rec), NULL));
	CHECK(lines(path) == 2);
	f = fopen(path, "r");
	CHECK(f != NULL);
	while (f != NULL && (c = fgetc(f)) != EOF)
		n += c == '{';
	if (f != NULL)
		fclose(f);
	CHECK(n == 2);
	unlink(path);
}

static void
test_fetch_refusals(void)
{
	struct cpk_buf out = CPK_BUF_INIT;
	struct cpk_fetch_opts o = { NULL, 5, 0, NULL, NULL, NULL };
	struct cpk_error err;

	CHECK(cpk_fetch_is_url("https://example.org/b.cpk"));
	CHECK(cpk_fetch_is_url("HTTP://example.org/b.cpk"));
	CHECK(cpk_fetch_is_url("svn+ssh://h/x"));
	CHECK(!cpk_fetch_is_url("bundle.cpk"));
	CHECK(!cpk_fetch_is_url("./https://x"));
	CHECK(!cpk_fetch_is_url("c:/x"));
	CHECK(!cpk_fetch_is_url("-"));
	cpk_error_clear(&err);
	CHECK_STATUS(cpk_fetch("http://127.0.0.1/b.cpk", &o, &out, &err), CPK_ERR_UNSUPPORTED);
	CHECK_MSG(&err, "only https:// URLs");
	CHECK_STATUS(cpk_fetch("file:///etc/passwd", &o, &out, &err), CPK_ERR_UNSUPPORTED);
	CHECK_STATUS(cpk_fetch("/etc/passwd", &o, &out, &err), CPK_ERR_UNSUPPORTED);
	/* Nobody listens on port 1 of the loopback: refused at once, nothing kept. */
	cpk_error_clear(&err);
	CHECK_STATUS(cpk_fetch("https://127.0.0.1:1/b.cpk", &o, &out, &err), CPK_ERR_IO);
	CHECK_MSG(&err, "could not connect to the server");
	CHECK(out.len == 0);
	cpk_buf_free(&out);
}

int
main(void)
{
	const char *base = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/cpk-runlog-XXXXXX",
	    base != NULL && *base == '/' ? base : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_format();
	test_default_path();
	test_append();
	test_short_write();
	test_fetch_refusals();
	rmdir(tmpdir);
	return test_summary("runlog");
}
