/* SPDX-License-Identifier: BSD-2-Clause */
/* cpk: the loader's run log (see runlog.h). */
#include "runlog.h"

#include "cpk_text.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpk_file.h"
#include "cpk_json_write.h"
#include "cpk_text.h"

/* Longest string member written; longer ones are cut (a path or URL, a message). */
#define STR_MAX 1024

void
cpk_runlog_time(const struct timespec *ts, char out[CPK_RUNLOG_TIME_LEN])
{
	struct tm tm;
	char base[24];
	int ms = (int)((unsigned long)ts->tv_nsec / 1000000ul % 1000ul);

	if (gmtime_r(&ts->tv_sec, &tm) == NULL ||
	    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
		snprintf(out, CPK_RUNLOG_TIME_LEN, "1970-01-01T00:00:00.000Z");
		return;
	}
	snprintf(out, CPK_RUNLOG_TIME_LEN, "%.19s.%03dZ", base, ms);
}

static void
key_id(struct cpk_jw *j, const uint8_t *id)
{
	char hex[2 * CPK_KEY_ID_LEN + 1];

	if (id == NULL) {
		cpk_jw_str(j, "key-id", NULL, false);
		return;
	}
	cpk_key_id_hex(id, hex);
	cpk_jw_str(j, "key-id", hex, false);
}

/*
 * "receipt-omitted", then the receipt, raw: a JSON document cardload
 * encoded itself, put on the record's line by dropping the newlines between
 * its tokens (there are none inside its strings: they are escaped). A
 * receipt that would take the line past CPK_RUNLOG_LINE_MAX (with the
 * other members at their longest) is left out, and the record says so.
 */
static void
receipt(struct cpk_jw *j, const struct cpk_runlog_entry *e, size_t start)
{
	static const char tail[] = ",\"receipt-omitted\":null,\"receipt\":}\n";
	char why[160];
	size_t i, from = 0, used = j->out->len - start;
	bool fits = e->receipt != NULL && e->receipt_len > 0 &&
	    e->receipt_len <= CPK_RUNLOG_RECEIPT_MAX &&
	    used + sizeof(why) + sizeof(tail) + e->receipt_len <= CPK_RUNLOG_LINE_MAX;

	if (e->receipt != NULL && e->receipt_len > 0 && !fits &&
	    (e->receipt_omitted == NULL || *e->receipt_omitted == '\0')) {
		snprintf(why, sizeof(why), "the receipt (%zu bytes) does not fit in a run log "
		    "record", e->receipt_len);
		cpk_jw_str(j, "receipt-omitted", why, false);
	} else {
		cpk_jw_str(j, "receipt-omitted", e->receipt_omitted, false);
	}
	cpk_jw_key(j, "receipt", false);
	if (!fits) {
		cpk_jw_puts(j, "null");
		return;
	}
	for (i = 0; i <= e->receipt_len; i++) {
		if (i < e->receipt_len && e->receipt[i] != '\n')
			continue;
		cpk_jw_put(j, e->receipt + from, i - from);
		from = i + 1;
	}
}

cpk_status
cpk_runlog_format(const struct cpk_runlog_entry *e, struct cpk_buf *out, struct cpk_error *err)
{
	struct cpk_jw j;
	size_t start = out->len;
	char sw[5];

	/* At most STR_MAX bytes of a string's text (escapes count as what they write). */
	cpk_jw_init(&j, out, STR_MAX, STR_MAX, err);

	cpk_jw_put(&j, "{", 1);
	cpk_jw_str(&j, "record", e->started ? "started" : "ended", false);
	cpk_jw_str(&j, "start", e->start, false);
	cpk_jw_uint(&j, "pid", e->pid, false);
	if (e->started) {
		cpk_jw_str(&j, "cardload", e->version, false);
		cpk_jw_str(&j, "source", e->source, false);
		cpk_jw_hex(&j, "bundle-sha256", e->bundle_sha256, CPK_SHA256_LEN, false);
		key_id(&j, e->key_id);
		cpk_jw_str(&j, "serial", e->serial, false);
		cpk_jw_str(&j, "reader", e->reader, false);
		cpk_jw_uint(&j, "commands", e->commands, false);
		goto end;
	}
	cpk_jw_str(&j, "end", e->end, false);
	cpk_jw_str(&j, "cardload", e->version, false);
	cpk_jw_str(&j, "result", e->result, false);
	cpk_jw_uint(&j, "exit", (unsigned long long)(e->exit_code < 0 ? 0 : e->exit_code), false);
	cpk_jw_str(&j, "source", e->source, false);
	cpk_jw_hex(&j, "bundle-sha256", e->bundle_sha256, CPK_SHA256_LEN, false);
	key_id(&j, e->key_id);
	cpk_jw_str(&j, "serial", e->serial, false);
	cpk_jw_str(&j, "reader", e->reader, false);
	cpk_jw_uint(&j, "commands", e->commands, false);
	cpk_jw_uint(&j, "sent", e->sent, false);
	cpk_jw_uint(&j, "accepted", e->accepted, false);
	if (e->failed) {
		cpk_jw_uint(&j, "failed-index", e->failed_index, false);
		cpk_jw_str(&j, "failed-label", e->failed_label, false);
		snprintf(sw, sizeof(sw), "%04X", e->failed_sw);
		cpk_jw_str(&j, "failed-sw", e->failed_sw != 0 ? sw : NULL, false);
	} else {
		cpk_jw_str(&j, "failed-index", NULL, false);
		cpk_jw_str(&j, "failed-label", NULL, false);
		cpk_jw_str(&j, "failed-sw", NULL, false);
	}
	cpk_jw_str(&j, "iu-field", e->iu_field, false);
	cpk_jw_str(&j, "message", e->message, false);
	cpk_jw_str(&j, "receipt-file", e->receipt_file, false);
	cpk_jw_hex(&j, "receipt-sha256", e->receipt_sha256, CPK_SHA256_LEN, false);
	receipt(&j, e, start);
end:
	cpk_jw_put(&j, "}\n", 2);
	if (j.st != CPK_OK)
		return j.st;
	if (out->len - start > CPK_RUNLOG_LINE_MAX) {
		cpk_buf_truncate(out, out->len - start);
		return cpk_error_set(err, CPK_ERR_RANGE, "run log line longer than %zu bytes",
		    CPK_RUNLOG_LINE_MAX);
	}
	return CPK_OK;
}

cpk_status
cpk_runlog_default_path(char *out, size_t cap, struct cpk_error *err)
{
	const char *state = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	int n;

	if (state != NULL && state[0] == '/')
		n = snprintf(out, cap, "%s/cpk/cardload.log", state);
	else if (home != NULL && home[0] == '/')
		n = snprintf(out, cap, "%s/.local/state/cpk/cardload.log", home);
	else
		return cpk_error_set(err, CPK_ERR_NOT_FOUND,
		    "neither XDG_STATE_HOME nor HOME names a folder for the run log");
	if (n < 0 || (size_t)n >= cap)
		return cpk_error_set(err, CPK_ERR_RANGE, "the run log path is too long");
	return CPK_OK;
}

/* Create the missing folders above path's last component, mode 0700. */
static cpk_status
make_parents(const char *path, struct cpk_error *err)
{
	char dir[CPK_RUNLOG_PATH_MAX];
	struct stat sb;
	char *p, c;
	int n = snprintf(dir, sizeof(dir), "%s", path);

	if (n < 0 || (size_t)n >= sizeof(dir))
		return cpk_error_set(err, CPK_ERR_RANGE, "the run log path is too long");
	if ((p = strrchr(dir, '/')) == NULL || p == dir)
		return CPK_OK;
	*p = '\0';
	if (stat(dir, &sb) == 0) {
		if (!S_ISDIR(sb.st_mode))
			return cpk_error_set(err, CPK_ERR_IO, "cannot create the run log: '%s' is "
			    "not a folder", dir);
		return CPK_OK;
	}
	for (p = dir + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		c = *p;
		*p = '\0';
		if (mkdir(dir, 0700) != 0 && errno != EEXIST)
			return cpk_io_error(err, "cannot create the run log folder", dir, errno);
		*p = c;
		if (c == '\0')
			break;
	}
	return CPK_OK;
}

/*
 * Take back a record that was only partly written (w of n bytes), so that
 * the next record starts on a line of its own: cut the file back to its
 * size before the write.
 */
static cpk_status
roll_back(int fd, off_t size, const char *path, ssize_t w, size_t n, struct cpk_error *err)
{
	bool cut = ftruncate(fd, size) == 0;

	return cpk_error_set(err, CPK_ERR_IO, "cannot write the run log '%s': only %zd of %zu "
	    "bytes written (disk full?); %s", path, w, n, cut ? "the partial record was removed" :
	    "a partial record was left at its end");
}

cpk_status
cpk_runlog_append(const char *path, const uint8_t *line, size_t n, struct cpk_error *err)
{
	/* O_NONBLOCK: a FIFO without a reader fails at once (ENXIO), never waits. */
	const int flags = O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK;
	bool created = true;
	struct stat sb;
	ssize_t w;
	int fd = -1, fl;
	cpk_status st;

	if (path == NULL || *path == '\0') {
		st = cpk_error_set(err, CPK_ERR_ARG, "no run log path");
		goto out;
	}
	if (n == 0 || n > CPK_RUNLOG_LINE_MAX || line[n - 1] != '\n') {
		st = cpk_error_set(err, CPK_ERR_ARG, "a run log record is one line of 1 to %zu "
		    "bytes ending in a newline", CPK_RUNLOG_LINE_MAX);
		goto out;
	}
	if ((st = make_parents(path, err)) != CPK_OK ||
	    (st = cpk_output_check(path, "run log", err)) != CPK_OK)
		goto out;
	fd = open(path, flags | O_CREAT | O_EXCL, 0600);
	if (fd < 0 && errno == EEXIST) {
		created = false;
		fd = open(path, flags);
	}
	if (fd < 0) {
		st = cpk_io_error(err, "cannot open the run log", path, errno);
		goto out;
	}
	if (fstat(fd, &sb) != 0) {
		st = cpk_io_error(err, "cannot read the run log's size", path, errno);
		goto out;
	}
	/* Appended records must stay: a FIFO or a device (/dev/null) keeps none. */
	if (!S_ISREG(sb.st_mode)) {
		st = cpk_error_set(err, CPK_ERR_IO, "run log '%s' is %s, not a regular file: "
		    "cpk appends only to regular files", path, cpk_file_kind(sb.st_mode));
		goto out;
	}
	if ((fl = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
		st = cpk_io_error(err, "cannot set blocking mode on the run log", path, errno);
		goto out;
	}
	/* One write(2) per record: O_APPEND puts it after any other writer's. */
	do
		w = write(fd, line, n);
	while (w < 0 && errno == EINTR);
	if (w < 0) {
		st = cpk_io_error(err, "cannot write the run log", path, errno);
		goto out;
	}
	if ((size_t)w != n) {
		if (w > 0)
			st = roll_back(fd, sb.st_size, path, w, n, err);
		else
			st = cpk_error_set(err, CPK_ERR_IO, "cannot write the run log '%s': only "
			    "%zd of %zu bytes written (disk full?)", path, w, n);
		goto out;
	}
	if (fsync(fd) != 0) {
		st = cpk_io_error(err, "cannot sync the run log", path, errno);
		goto out;
	}
	if (created && (st = cpk_fsync_parent_dir(path, err)) != CPK_OK)
		goto out;
	st = CPK_OK;
out:
	if (fd >= 0 && close(fd) != 0 && st == CPK_OK)
		st = cpk_io_error(err, "cannot close the run log", path, errno);
	return st;
}

void
cpk_runlog_now(char out[CPK_RUNLOG_TIME_LEN])
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		memset(&ts, 0, sizeof(ts));
	cpk_runlog_time(&ts, out);
}
