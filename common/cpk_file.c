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
	int fd;
	cpk_status st;

	if ((st = parent_dir(path, dir, sizeof(dir), err)) != CPK_OK)
		return st;
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return cpk_io_error(err, "cannot open directory", dir, errno);
	st = CPK_OK;
	if (fsync(fd) != 0 && errno != EINVAL)
		st = cpk_io_error(err, "cannot sync directory", dir, errno);
	close(fd);
	return st;
}

cpk_status
cpk_file_replace(const char *path, const uint8_t *p, size_t n, mode_t mode,
    struct cpk_error *err)
{
	char tmp[PATH_MAX];
	const char *slash = strrchr(path, '/');
	const char *base = slash != NULL ? slash + 1 : path;
	int fd = -1, len;
	bool made = false;
	cpk_status st = CPK_ERR_ARG;

	len = snprintf(tmp, sizeof(tmp), "%.*s.%s.XXXXXX", (int)(base - path), path, base);
	if (base[0] == '\0' || len < 0 || (size_t)len >= sizeof(tmp)) {
		st = cpk_error_set(err, CPK_ERR_ARG, "bad output path '%s'", path);
		goto out;
	}
	if ((fd = mkstemp(tmp)) < 0) {
		st = cpk_io_error(err, "cannot create a temporary file like", tmp, errno);
		goto out;
	}
	made = true;
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	if (fchmod(fd, mode) != 0) {
		st = cpk_io_error(err, "cannot set the mode of", tmp, errno);
		goto out;
	}
	if ((st = cpk_write_all(fd, p, n, tmp, err)) != CPK_OK)
		goto out;
	if (fsync(fd) != 0) {
		st = cpk_io_error(err, "cannot sync", tmp, errno);
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		st = cpk_io_error(err, "cannot close", tmp, errno);
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		st = cpk_io_error(err, "cannot rename the temporary file to", path, errno);
		goto out;
	}
	made = false;
	st = cpk_fsync_parent_dir(path, err);
out:
	if (fd >= 0)
		close(fd);
	if (made)
		unlink(tmp);
	return st;
}
