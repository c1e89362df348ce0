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

#include "cpk_conf.h"
#include "cpk_config.h"
#include "cpk_file.h"
#include "registry.h"

cpk_status
registry_config_parse(const char *name, const uint8_t *text, size_t len, char *uri,
    size_t urilen, struct cpk_error *err)
{
	return cpk_conf_parse(name, "registry URI", text, len, uri, urilen, err);
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
	const char *env;
	cpk_status st;

	*found = false;
	uri[0] = '\0';
	source[0] = '\0';
	if (option != NULL)
		return take(option, "--registry", uri, urilen, found, source, srclen, err);
	if ((env = getenv("CPK_REGISTRY")) != NULL)
		return take(env, "CPK_REGISTRY", uri, urilen, found, source, srclen, err);
	cpk_conf_user_path("registry", path, sizeof(path));
	if (path[0] != '\0') {
		st = cpk_conf_read(path, "registry URI", uri, urilen, err);
		if (st == CPK_OK)
			return take(uri, path, uri, urilen, found, source, srclen, err);
		if (st != CPK_ERR_NOT_FOUND)
			return st;
	}
	st = cpk_conf_read(CPK_SYSTEM_REGISTRY_FILE, "registry URI", uri, urilen, err);
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
