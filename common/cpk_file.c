/* SPDX-License-Identifier: BSD-2-Clause */
/* cpk: durable file output (see cpk_file.h). */
#include "cpk_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

cpk_status
cpk_io_error(struct cpk_error *err, const char *what, const char *path, int e)
{
	return cpk_error_set(err, CPK_ERR_IO, "%s '%s': %s", what, path, strerror(e));
}

cpk_status
cpk_write_all(int fd, const uint8_t *p, size_t n, const char *path, struct cpk_error *err)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return cpk_io_error(err, "cannot write", path, w < 0 ? errno : EIO);
		p += w;
		n -= (size_t)w;
	}
	return CPK_OK;
}

/* The directory part of path ("." or "/" when it has none). */
static cpk_status
parent_dir(const char *path, char *dir, size_t cap, struct cpk_error *err)
{
	const char *slash = strrchr(path, '/');
	int n;

	if (slash == NULL)
		n = snprintf(dir, cap, ".");
	else if (slash == path)
		n = snprintf(dir, cap, "/");
	else
		n = snprintf(dir, cap, "%.*s", (int)(slash - path), path);
	if (n < 0 || (size_t)n >= cap)
		return cpk_error_set(err, CPK_ERR_ARG, "path too long: '%s'", path);
	return CPK_OK;
}

cpk_status
cpk_fsync_parent_dir(const char *path, struct cpk_error *err)
{
	char dir[PATH_MAX];
	cpk_status st;

	if ((st = parent_dir(path, dir, sizeof(dir), err)) != CPK_OK)
		return st;
	return cpk_fsync_dir(dir, err);
}

cpk_status
cpk_fsync_dir(const char *dir, struct cpk_error *err)
{
	int fd;
	cpk_status st;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return cpk_io_error(err, "cannot open directory", dir, errno);
	st = CPK_OK;
	if (fsync(fd) != 0 && errno != EINVAL)
		st = cpk_io_error(err, "cannot sync directory", dir, errno);
	close(fd);
	return st;
}

cpk_status
cpk_file_write_temp(const char *path, const uint8_t *p, size_t n, mode_t mode, char *tmp,
    size_t tmplen, int *fdp, struct cpk_error *err)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash != NULL ? slash + 1 : path;
	int fd = -1, len;
	cpk_status st = CPK_ERR_ARG;

	*fdp = -1;
	len = snprintf(tmp, tmplen, "%.*s.%s.XXXXXX", (int)(base - path), path, base);
	if (base[0] == '\0' || len < 0 || (size_t)len >= tmplen)
		return cpk_error_set(err, CPK_ERR_ARG, "bad output path '%s'", path);
	if ((st = cpk_output_check(path, "output", err)) != CPK_OK)
		return st;
	if ((fd = mkstemp(tmp)) < 0)
		return cpk_io_error(err, "cannot create a temporary file like", tmp, errno);
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	if (fchmod(fd, mode) != 0)
		st = cpk_io_error(err, "cannot set the mode of", tmp, errno);
	else
		st = cpk_write_all(fd, p, n, tmp, err);
	if (st != CPK_OK) {
		close(fd);
		unlink(tmp);
		return st;
	}
	*fdp = fd;
	return CPK_OK;
}

cpk_status
cpk_file_sync_rename(int fd, const char *tmp, const char *path, struct cpk_error *err)
{
	cpk_status st = CPK_OK;

	if (fsync(fd) != 0)
		st = cpk_io_error(err, "cannot sync", tmp, errno);
	if (close(fd) != 0 && st == CPK_OK)
		st = cpk_io_error(err, "cannot close", tmp, errno);
	if (st == CPK_OK && rename(tmp, path) != 0)
		st = cpk_io_error(err, "cannot rename the temporary file to", path, errno);
	if (st != CPK_OK)
		unlink(tmp);
	return st;
}

cpk_status
cpk_file_stage(const char *path, const uint8_t *p, size_t n, mode_t mode, char *tmp,
    size_t tmplen, struct cpk_error *err)
{
	int fd;
	cpk_status st;

	if ((st = cpk_file_write_temp(path, p, n, mode, tmp, tmplen, &fd, err)) != CPK_OK)
		return st;
	if (fsync(fd) != 0) {
		st = cpk_io_error(err, "cannot sync", tmp, errno);
		close(fd);
		unlink(tmp);
		return st;
	}
	if (close(fd) != 0) {
		st = cpk_io_error(err, "cannot close", tmp, errno);
		unlink(tmp);
		return st;
	}
	return CPK_OK;
}

cpk_status
cpk_file_publish(const char *tmp, const char *path, bool keep, struct cpk_error *err)
{
	cpk_status st;

	if (rename(tmp, path) != 0) {
		st = cpk_io_error(err, "cannot rename the temporary file to", path, errno);
		if (!keep)
			unlink(tmp);
		return st;
	}
	return cpk_fsync_parent_dir(path, err);
}

cpk_status
cpk_file_replace(const char *path, const uint8_t *p, size_t n, mode_t mode,
    struct cpk_error *err)
{
	char tmp[PATH_MAX];
	cpk_status st;

	if ((st = cpk_file_stage(path, p, n, mode, tmp, sizeof(tmp), err)) != CPK_OK)
		return st;
	return cpk_file_publish(tmp, path, false, err);
}

const char *
cpk_file_kind(mode_t mode)
{
	if (S_ISREG(mode))
		return "a regular file";
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISBLK(mode))
		return "a block device";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISSOCK(mode))
		return "a socket";
	if (S_ISLNK(mode))
		return "a symbolic link";
	return "not a regular file";
}

/* "WHAT 'path'" or "'path'" when what is NULL, as the subject of a message. */
static void
subject(char *buf, size_t cap, const char *what, const char *path)
{
	snprintf(buf, cap, "%s%s'%s'", what != NULL ? what : "", what != NULL ? " " : "", path);
}

static cpk_status
not_regular(struct cpk_error *err, const char *what, const char *path, mode_t mode,
    const char *rule)
{
	char subj[PATH_MAX + 64];

	subject(subj, sizeof(subj), what, path);
	return cpk_error_set(err, CPK_ERR_IO, "%s is %s, not a regular file: %s", subj,
	    cpk_file_kind(mode), rule);
}

static const char input_rule[] = "cpk reads only regular files";
static const char output_rule[] = "cpk replaces only regular files; name another file";

cpk_status
cpk_input_open(const char *path, const char *what, int flags, int *fd, struct stat *sb,
    struct cpk_error *err)
{
	char subj[PATH_MAX + 64];
	struct stat tmp, *s = sb != NULL ? sb : &tmp;
	int e, fl;
	cpk_status st = CPK_ERR_IO;

	*fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | flags);
	if (*fd < 0) {
		e = errno;
		/* A socket (ENXIO) or a device without a driver: name what it is. */
		if ((e == ENXIO || e == ENODEV || e == EOPNOTSUPP) && stat(path, s) == 0 &&
		    !S_ISREG(s->st_mode))
			st = not_regular(err, what, path, s->st_mode, input_rule);
		else {
			subject(subj, sizeof(subj), what, path);
			st = cpk_error_set(err, e == ENOENT ? CPK_ERR_NOT_FOUND : CPK_ERR_IO,
			    "cannot open %s: %s", subj, strerror(e));
		}
		errno = e;
		return st;
	}
	if (fstat(*fd, s) != 0) {
		st = cpk_io_error(err, "cannot stat", path, errno);
		goto fail;
	}
	if (!S_ISREG(s->st_mode)) {
		st = not_regular(err, what, path, s->st_mode, input_rule);
		goto fail;
	}
	if ((fl = fcntl(*fd, F_GETFL)) < 0 || fcntl(*fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
		st = cpk_io_error(err, "cannot set blocking mode on", path, errno);
		goto fail;
	}
	return CPK_OK;
fail:
	close(*fd);
	*fd = -1;
	errno = 0;
	return st;
}

cpk_status
cpk_read_fd_all(int fd, const char *name, size_t max, struct cpk_buf *out,
    struct cpk_error *err)
{
	ssize_t r;
	cpk_status ret;

	for (;;) {
		if ((ret = cpk_buf_reserve(out, 4096, err)) != CPK_OK)
			return ret;
		r = read(fd, out->data + out->len, out->cap - out->len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return cpk_error_set(err, CPK_ERR_IO, "cannot read %s: %s", name,
			    strerror(errno));
		if (r == 0)
			return CPK_OK;
		out->len += (size_t)r;
		if (out->len > max)
			return cpk_error_set(err, CPK_ERR_RANGE, "%s is too large (more than %zu bytes)",
			    name, max);
	}
}

cpk_status
cpk_stream_open(const char *path, const char *what, int *fd, struct cpk_error *err)
{
	char subj[PATH_MAX + 64];
	struct stat sb;
	cpk_status st;
	int e;

	if (stat(path, &sb) != 0 || !S_ISFIFO(sb.st_mode))
		return cpk_input_open(path, what, 0, fd, NULL, err);
	do
		*fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	while (*fd < 0 && errno == EINTR);
	if (*fd < 0) {
		e = errno;
		subject(subj, sizeof(subj), what, path);
		st = cpk_error_set(err, CPK_ERR_IO, "cannot open %s: %s", subj, strerror(e));
		errno = e;
		return st;
	}
	/* Replaced by something else since stat(2): what is open decides. */
	if (fstat(*fd, &sb) != 0 || !(S_ISFIFO(sb.st_mode) || S_ISREG(sb.st_mode))) {
		close(*fd);
		return cpk_input_open(path, what, 0, fd, NULL, err);
	}
	return CPK_OK;
}

cpk_status
cpk_output_check(const char *path, const char *what, struct cpk_error *err)
{
	char subj[PATH_MAX + 64];
	struct stat sb;

	if (lstat(path, &sb) != 0) {
		if (errno == ENOENT)
			return CPK_OK;
		subject(subj, sizeof(subj), what, path);
		return cpk_error_set(err, CPK_ERR_IO, "cannot examine %s: %s", subj,
		    strerror(errno));
	}
	if (S_ISREG(sb.st_mode) || S_ISLNK(sb.st_mode))
		return CPK_OK;
	return not_regular(err, what, path, sb.st_mode, output_rule);
}

static const char *
owner_risk(enum cpk_owner_use use)
{
	switch (use) {
	case CPK_OWNER_TRUST:
		return "replace the keys you trust";
	case CPK_OWNER_CARD_KEYS:
		return "read or replace your card keys";
	case CPK_OWNER_SIGNING_KEY:
		return "read or replace your signing key";
	case CPK_OWNER_PROFILE:
		return "change what your bundles do to cards";
	}
	return "replace it";
}

cpk_status
cpk_check_owner(const char *what, const char *path, const struct stat *sb,
    enum cpk_owner_use use, struct cpk_error *err)
{
	if (sb->st_uid != 0 && sb->st_uid != geteuid())
		return cpk_error_set(err, CPK_ERR_PERMISSION, "%s '%s' belongs to user %lu, "
		    "neither root nor you: another user could %s", what, path,
		    (unsigned long)sb->st_uid, owner_risk(use));
	if (sb->st_mode & (S_IWGRP | S_IWOTH))
		return cpk_error_set(err, CPK_ERR_PERMISSION, "%s '%s' has mode %04o: others "
		    "may %s; run: chmod go-w '%s'", what, path, (unsigned)(sb->st_mode & 07777),
		    owner_risk(use), path);
	return CPK_OK;
}

cpk_status
cpk_check_parent_owner(const char *what, const char *path, enum cpk_owner_use use,
    struct cpk_error *err)
{
	char dir[PATH_MAX];
	struct stat sb;
	cpk_status st;

	if ((st = parent_dir(path, dir, sizeof(dir), err)) != CPK_OK)
		return st;
	if (stat(dir, &sb) != 0)
		return cpk_io_error(err, "cannot examine folder", dir, errno);
	return cpk_check_owner(what, dir, &sb, use, err);
}
