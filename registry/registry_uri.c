/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: where the registry is (--registry, CPK_REGISTRY, config files),
 * the config file's one line, and URIs with their password hidden.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpk_config.h"
#include "cpk_file.h"
#include "registry.h"

/* A config file holds one URI and comments: a small cap. */
#define CONFIG_MAX 65536

static bool
is_space(char c)
{
	return c == ' ' || c == '\t';
}

cpk_status
registry_config_parse(const char *name, const uint8_t *text, size_t len, char *uri,
    size_t urilen, struct cpk_error *err)
{
	size_t pos = 0, lineno = 0, start, end, i;

	while (pos < len) {
		start = pos;
		while (pos < len && text[pos] != '\n')
			pos++;
		end = pos;
		if (pos < len)
			pos++;		/* the '\\n' */
		lineno++;
		if (end > start && text[end - 1] == '\r')
			end--;
		while (start < end && is_space((char)text[start]))
			start++;
		while (end > start && is_space((char)text[end - 1]))
			end--;
		if (start == end || text[start] == '#')
			continue;
		for (i = start; i < end; i++)
			if (text[i] < 0x20 || text[i] == 0x7f)
				return cpk_error_set_at(err, CPK_ERR_PARSE, name, (unsigned)lineno,
				    (unsigned)(i - start + 1), "control character 0x%02X in the "
				    "registry URI", text[i]);
		if (end - start >= urilen)
			return cpk_error_set_at(err, CPK_ERR_RANGE, name, (unsigned)lineno, 1,
			    "the registry URI is longer than %zu bytes", urilen - 1);
		memcpy(uri, text + start, end - start);
		uri[end - start] = '\0';
		return CPK_OK;
	}
	return cpk_error_set(err, CPK_ERR_NOT_FOUND, "%s names no registry", name);
}

/*
 * A config file: CPK_ERR_NOT_FOUND when it does not exist, or when a folder
 * on its way cannot be searched (another user's home: HOME kept by su).
 */
static cpk_status
read_config(const char *path, char *uri, size_t urilen, struct cpk_error *err)
{
	struct stat sb;
	uint8_t *buf = NULL;
	size_t len = 0;
	ssize_t r;
	int fd = -1;
	cpk_status st;

	if (stat(path, &sb) != 0 && (errno == ENOENT || errno == ENOTDIR || errno == EACCES))
		return CPK_ERR_NOT_FOUND;
	if ((st = cpk_input_open(path, "registry config file", 0, &fd, NULL, err)) != CPK_OK)
		goto out;
	if ((buf = malloc(CONFIG_MAX + 1)) == NULL) {
		st = cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	while (len <= CONFIG_MAX) {
		r = read(fd, buf + len, CONFIG_MAX + 1 - len);
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
	if (len > CONFIG_MAX) {
		st = cpk_error_set(err, CPK_ERR_RANGE, "'%s' is too large (more than %d bytes)",
		    path, CONFIG_MAX);
		goto out;
	}
	st = registry_config_parse(path, buf, len, uri, urilen, err);
	if (st == CPK_ERR_NOT_FOUND)
		st = cpk_error_set(err, CPK_ERR_PARSE, "'%s' names no registry: its first line "
		    "that is not a comment must be the URI (or 'none')", path);
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return st;
}

static cpk_status
take(const char *value, const char *from, char *uri, size_t urilen, bool *found, char *source,
    size_t srclen, struct cpk_error *err)
{
	if (strlen(value) >= urilen)
		return cpk_error_set(err, CPK_ERR_RANGE, "%s: the registry URI is longer than %zu "
		    "bytes", from, urilen - 1);
	if (value[0] == '\0')
		return cpk_error_set(err, CPK_ERR_ARG, "%s: empty registry URI (give 'none' for "
		    "no registry)", from);
	if (value != uri)
		snprintf(uri, urilen, "%s", value);
	snprintf(source, srclen, "%s", from);
	*found = strcmp(value, "none") != 0;
	return CPK_OK;
}

cpk_status
registry_uri_resolve(const char *option, char *uri, size_t urilen, bool *found, char *source,
    size_t srclen, struct cpk_error *err)
{
	char path[4096];
	const char *env, *xdg, *home;
	cpk_status st;

	*found = false;
	uri[0] = '\0';
	source[0] = '\0';
	if (option != NULL)
		return take(option, "--registry", uri, urilen, found, source, srclen, err);
	if ((env = getenv("CPK_REGISTRY")) != NULL)
		return take(env, "CPK_REGISTRY", uri, urilen, found, source, srclen, err);
	xdg = getenv("XDG_CONFIG_HOME");
	home = getenv("HOME");
	path[0] = '\0';
	if (xdg != NULL && xdg[0] == '/')
		snprintf(path, sizeof(path), "%s/cpk/registry", xdg);
	else if (home != NULL && home[0] == '/')
		snprintf(path, sizeof(path), "%s/.config/cpk/registry", home);
	if (path[0] != '\0') {
		st = read_config(path, uri, urilen, err);
		if (st == CPK_OK)
			return take(uri, path, uri, urilen, found, source, srclen, err);
		if (st != CPK_ERR_NOT_FOUND)
			return st;
	}
	st = read_config(CPK_SYSTEM_REGISTRY_FILE, uri, urilen, err);
	if (st == CPK_OK)
		return take(uri, CPK_SYSTEM_REGISTRY_FILE, uri, urilen, found, source, srclen, err);
	if (st != CPK_ERR_NOT_FOUND)
		return st;
	uri[0] = '\0';
	return CPK_OK;
}

/* Copy at most n bytes of s into out (bounded by what is left). */
static void
put(char *out, size_t outlen, size_t *o, const char *s, size_t n)
{
	while (n-- > 0 && *o + 1 < outlen)
		out[(*o)++] = *s++;
	out[*o] = '\0';
}

void
registry_uri_redact(const char *uri, char *out, size_t outlen)
{
	const char *scheme = strstr(uri, "://"), *auth, *end, *at, *colon, *p, *q;
	size_t o = 0;

	if (outlen == 0)
		return;
	out[0] = '\0';
	if (scheme == NULL) {
		put(out, outlen, &o, uri, strlen(uri));
		return;
	}
	auth = scheme + 3;
	end = auth + strcspn(auth, "/?#");
	/* The last '@' of the authority ends the user information. */
	for (at = NULL, p = auth; p < end; p++)
		if (*p == '@')
			at = p;
	put(out, outlen, &o, uri, (size_t)(auth - uri));
	if (at != NULL && (colon = memchr(auth, ':', (size_t)(at - auth))) != NULL) {
		put(out, outlen, &o, auth, (size_t)(colon - auth));
		put(out, outlen, &o, ":***", 4);
		p = at;
	} else {
		p = auth;
	}
	/* The rest, with the value of every password= parameter hidden. */
	while (*p != '\0') {
		q = strstr(p, "password=");
		if (q == NULL || q < end) {
			if (q != NULL && q < end) {
				put(out, outlen, &o, p, (size_t)(end - p));
				p = end;
				continue;
			}
			put(out, outlen, &o, p, strlen(p));
			break;
		}
		put(out, outlen, &o, p, (size_t)(q - p) + 9);
		put(out, outlen, &o, "***", 3);
		p = q + 9;
		p += strcspn(p, "&#");
	}
}
