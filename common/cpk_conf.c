/* SPDX-License-Identifier: BSD-2-Clause */
/* cpk: one-line configuration files (see cpk_conf.h). */
#include "cpk_conf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpk_file.h"

void
cpk_conf_user_path(const char *name, char *out, size_t n)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");

	if (n == 0)
		return;
	out[0] = '\0';
	if (xdg != NULL && xdg[0] == '/')
		snprintf(out, n, "%s/cpk/%s", xdg, name);
	else if (home != NULL && home[0] == '/')
		snprintf(out, n, "%s/.config/cpk/%s", home, name);
}

static int
is_space(uint8_t c)
{
	return c == ' ' || c == '\t';
}

cpk_status
cpk_conf_parse(const char *name, const char *what, const uint8_t *text, size_t len, char *out,
    size_t cap, struct cpk_error *err)
{
	size_t pos = 0, lineno = 0, start, end, i;

	while (pos < len) {
		start = pos;
		while (pos < len && text[pos] != '\n')
			pos++;
		end = pos;
		if (pos < len)
			pos++;		/* the '\n' */
		lineno++;
		if (end > start && text[end - 1] == '\r')
			end--;
		while (start < end && is_space(text[start]))
			start++;
		while (end > start && is_space(text[end - 1]))
			end--;
		if (start == end || text[start] == '#')
			continue;
		for (i = start; i < end; i++)
			if (text[i] < 0x20 || text[i] == 0x7f)
				return cpk_error_set_at(err, CPK_ERR_PARSE, name, (unsigned)lineno,
				    (unsigned)(i - start + 1), "control character 0x%02X in the %s",
				    text[i], what);
		if (end - start >= cap)
			return cpk_error_set_at(err, CPK_ERR_RANGE, name, (unsigned)lineno, 1,
			    "the %s is longer than %zu bytes", what, cap - 1);
		memcpy(out, text + start, end - start);
		out[end - start] = '\0';
		return CPK_OK;
	}
	return cpk_error_set(err, CPK_ERR_NOT_FOUND, "%s names no %s", name, what);
}

cpk_status
cpk_conf_read(const char *path, const char *what, char *out, size_t cap, struct cpk_error *err)
{
	struct stat sb;
	uint8_t *buf = NULL;
	size_t len = 0;
	ssize_t r;
	int fd = -1;
	cpk_status st;

	if (stat(path, &sb) != 0 && (errno == ENOENT || errno == ENOTDIR || errno == EACCES))
		return CPK_ERR_NOT_FOUND;
	if ((st = cpk_input_open(path, "configuration file", 0, &fd, NULL, err)) != CPK_OK)
		goto out;
	if ((buf = malloc(CPK_CONF_MAX + 1)) == NULL) {
		st = cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	while (len <= CPK_CONF_MAX) {
		r = read(fd, buf + len, CPK_CONF_MAX + 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			st = cpk_io_error(err, "cannot read", path, errno);
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len > CPK_CONF_MAX) {
		st = cpk_error_set(err, CPK_ERR_RANGE, "'%s' is too large (more than %d bytes)",
		    path, CPK_CONF_MAX);
		goto out;
	}
	st = cpk_conf_parse(path, what, buf, len, out, cap, err);
	if (st == CPK_ERR_NOT_FOUND)
		st = cpk_error_set(err, CPK_ERR_PARSE, "'%s' names no %s: its first line that is "
		    "not a comment must be the %s", path, what, what);
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return st;
}
