/* SPDX-License-Identifier: BSD-2-Clause */
/* cpk: PKCS#11 URIs, RFC 7512 (see p11_uri.h). */
#include "p11_uri.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cpk_bytes.h"

#define SCHEME "pkcs11:"
#define SCHEME_LEN 7

enum attr_kind {
	A_STR,		/* text without NUL, up to max bytes */
	A_ID,		/* bytes */
	A_TYPE,
	A_VERSION,	/* M[.m] */
	A_ULONG,
};

struct attr {
	const char *name;
	unsigned bit;
	enum attr_kind kind;
	size_t off;		/* of the field in struct p11_uri */
	size_t max;
};

#define F(m) offsetof(struct p11_uri, m)

/* Path attributes, in canonical order. */
static const struct attr path_attrs[] = {
	{ "token", P11_URI_TOKEN, A_STR, F(token), P11_URI_LABEL_MAX },
	{ "manufacturer", P11_URI_MANUFACTURER, A_STR, F(manufacturer), P11_URI_LABEL_MAX },
	{ "serial", P11_URI_SERIAL, A_STR, F(serial), P11_URI_SHORT_MAX },
	{ "model", P11_URI_MODEL, A_STR, F(model), P11_URI_SHORT_MAX },
	{ "library-manufacturer", P11_URI_LIB_MANUF, A_STR, F(lib_manufacturer),
	    P11_URI_LABEL_MAX },
	{ "library-description", P11_URI_LIB_DESC, A_STR, F(lib_description),
	    P11_URI_LABEL_MAX },
	{ "library-version", P11_URI_LIB_VERSION, A_VERSION, 0, 0 },
	{ "slot-id", P11_URI_SLOT_ID, A_ULONG, F(slot_id), 0 },
	{ "object", P11_URI_OBJECT, A_STR, F(object), P11_URI_OBJECT_MAX },
	{ "id", P11_URI_ID, A_ID, F(id), P11_URI_ID_MAX },
	{ "type", P11_URI_TYPE, A_TYPE, F(type), 0 },
};

static const struct attr query_attrs[] = {
	{ "pin-source", P11_URI_PIN_SOURCE, A_STR, F(pin_source), P11_URI_PATH_MAX },
};

#define NPATH (sizeof(path_attrs) / sizeof(path_attrs[0]))
#define NQUERY (sizeof(query_attrs) / sizeof(query_attrs[0]))

static const char *const type_names[] = {
	[P11_TYPE_ANY] = "any",
	[P11_TYPE_PUBLIC] = "public",
	[P11_TYPE_PRIVATE] = "private",
	[P11_TYPE_SECRET_KEY] = "secret-key",
	[P11_TYPE_CERT] = "cert",
	[P11_TYPE_DATA] = "data",
};

const char *
p11_uri_type_name(enum p11_uri_type t)
{
	if ((size_t)t >= sizeof(type_names) / sizeof(type_names[0]))
		return "unknown";
	return type_names[t];
}

bool
p11_uri_is(const char *s, size_t n)
{
	return n >= SCHEME_LEN && strncasecmp(s, SCHEME, SCHEME_LEN) == 0;
}

/* Percent-decode v[0..n) into out (cap bytes). */
static cpk_status
pct_decode(const char *name, const char *v, size_t n, uint8_t *out, size_t cap,
    size_t *outlen, struct cpk_error *err)
{
	size_t i, o = 0;
	int hi, lo;

	for (i = 0; i < n; i++) {
		uint8_t c = (uint8_t)v[i];

		if (c == '%') {
			if (n - i < 3 || (hi = cpk_hex_value(v[i + 1])) < 0 || (lo = cpk_hex_value(v[i + 2])) < 0)
				return cpk_error_set(err, CPK_ERR_PARSE,
				    "pkcs11 URI: '%s' has a '%%' not followed by two hex digits",
				    name);
			c = (uint8_t)(hi << 4 | lo);
			i += 2;
		} else if (c <= 0x20 || c >= 0x7F || c == '"' || c == '<' || c == '>' ||
		    c == '\\' || c == '^' || c == '`' || c == '{' || c == '|' || c == '}') {
			return cpk_error_set(err, CPK_ERR_PARSE,
			    "pkcs11 URI: '%s' holds a character a URI must percent-encode "
			    "(byte %02X)", name, c);
		}
		if (o == cap)
			return cpk_error_set(err, CPK_ERR_RANGE,
			    "pkcs11 URI: '%s' is longer than %zu bytes", name, cap);
		out[o++] = c;
	}
	*outlen = o;
	return CPK_OK;
}

static cpk_status
set_type(const char *v, size_t n, struct p11_uri *u, struct cpk_error *err)
{
	size_t t;

	for (t = P11_TYPE_PUBLIC; t < sizeof(type_names) / sizeof(type_names[0]); t++)
		if (strlen(type_names[t]) == n && memcmp(type_names[t], v, n) == 0) {
			u->type = (enum p11_uri_type)t;
			return CPK_OK;
		}
	return cpk_error_set(err, CPK_ERR_PARSE, "pkcs11 URI: unknown type '%.*s' (expected "
	    "public, private, secret-key, cert or data)", (int)(n > 32 ? 32 : n), v);
}

/* Digits only, value at most max. */
static bool
parse_number(const char *v, size_t n, unsigned long max, unsigned long *out)
{
	unsigned long x = 0;
	size_t i;

	if (n == 0 || n > 20)
		return false;
	for (i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return false;
		if (x > (max - (unsigned long)(v[i] - '0')) / 10)
			return false;
		x = x * 10 + (unsigned long)(v[i] - '0');
	}
	*out = x;
	return true;
}

static cpk_status
set_version(const char *v, size_t n, struct p11_uri *u, struct cpk_error *err)
{
	const char *dot = memchr(v, '.', n);
	unsigned long major, minor = 0;

	if (!parse_number(v, dot != NULL ? (size_t)(dot - v) : n, 255, &major) ||
	    (dot != NULL && !parse_number(dot + 1, n - (size_t)(dot - v) - 1, 255, &minor)))
		return cpk_error_set(err, CPK_ERR_PARSE,
		    "pkcs11 URI: library-version must be MAJOR or MAJOR.MINOR (0-255 each)");
	u->lib_version_major = (uint8_t)major;
	u->lib_version_minor = (uint8_t)minor;
	return CPK_OK;
}

static cpk_status
set_attr(const struct attr *a, const char *v, size_t n, struct p11_uri *u,
    struct cpk_error *err)
{
	uint8_t tmp[P11_URI_PATH_MAX];
	size_t len = 0;
	cpk_status ret;

	if (u->has & a->bit)
		return cpk_error_set(err, CPK_ERR_PARSE, "pkcs11 URI: '%s' is given twice", a->name);
	u->has |= a->bit;
	switch (a->kind) {
	case A_TYPE:
		return set_type(v, n, u, err);
	case A_VERSION:
		return set_version(v, n, u, err);
	case A_ULONG:
		if (!parse_number(v, n, 0xFFFFFFFFul, &u->slot_id))
			return cpk_error_set(err, CPK_ERR_PARSE,
			    "pkcs11 URI: slot-id must be a decimal number");
		return CPK_OK;
	case A_ID:
		return pct_decode(a->name, v, n, u->id, sizeof(u->id), &u->id_len, err);
	case A_STR:
		break;
	}
	if ((ret = pct_decode(a->name, v, n, tmp, a->max, &len, err)) != CPK_OK)
		return ret;
	if (memchr(tmp, '\0', len) != NULL)
		return cpk_error_set(err, CPK_ERR_PARSE, "pkcs11 URI: '%s' holds a NUL byte",
		    a->name);
	memcpy((char *)u + a->off, tmp, len);
	((char *)u + a->off)[len] = '\0';
	return CPK_OK;
}

static cpk_status
refused_query(const char *name, size_t n, struct cpk_error *err)
{
	if (n == 9 && memcmp(name, "pin-value", 9) == 0)
		return cpk_error_set(err, CPK_ERR_PARSE, "pkcs11 URI: 'pin-value' is refused: "
		    "a PIN is never taken from a URI (give it in a file with pin-source, "
		    "in CPK_PKCS11_PIN or at the prompt)");
	if ((n == 11 && memcmp(name, "module-name", 11) == 0) ||
	    (n == 11 && memcmp(name, "module-path", 11) == 0))
		return cpk_error_set(err, CPK_ERR_PARSE, "pkcs11 URI: '%.*s' is refused: the "
		    "module comes from --pkcs11-module, CPK_PKCS11_MODULE or the pkcs11 config "
		    "file", (int)n, name);
	return CPK_OK;
}

/* One "name=value" of the path (query false) or the query. */
static cpk_status
parse_pair(const char *p, size_t n, bool query, struct p11_uri *u, struct cpk_error *err)
{
	const struct attr *tab = query ? query_attrs : path_attrs;
	size_t ntab = query ? NQUERY : NPATH, klen, i;
	const char *eq = memchr(p, '=', n);
	cpk_status ret;

	if (eq == NULL || eq == p)
		return cpk_error_set(err, CPK_ERR_PARSE,
		    "pkcs11 URI: expected NAME=VALUE in the %s, got '%.*s'",
		    query ? "query" : "path", (int)(n > 40 ? 40 : n), p);
	klen = (size_t)(eq - p);
	for (i = 0; i < ntab; i++)
		if (strlen(tab[i].name) == klen && memcmp(tab[i].name, p, klen) == 0)
			return set_attr(&tab[i], eq + 1, n - klen - 1, u, err);
	if (query && (ret = refused_query(p, klen, err)) != CPK_OK)
		return ret;
	return cpk_error_set(err, CPK_ERR_PARSE, "pkcs11 URI: unknown %s attribute '%.*s' "
	    "(cpk reads %s)", query ? "query" : "path", (int)(klen > 40 ? 40 : klen), p,
	    query ? "pin-source" : "token, manufacturer, serial, model, library-manufacturer, "
	    "library-description, library-version, slot-id, object, id and type");
}

/* Split p[0..n) at sep and parse each non-empty part. */
static cpk_status
parse_list(const char *p, size_t n, char sep, bool query, struct p11_uri *u,
    struct cpk_error *err)
{
	size_t start = 0, i;
	cpk_status ret;

	for (i = 0; i <= n; i++) {
		if (i < n && p[i] != sep)
			continue;
		if (i == start) {
			if (i < n || query)
				return cpk_error_set(err, CPK_ERR_PARSE,
				    "pkcs11 URI: empty attribute (two '%c' in a row or one at the "
				    "end)", sep);
		} else if ((ret = parse_pair(p + start, i - start, query, u, err)) != CPK_OK) {
			return ret;
		}
		start = i + 1;
	}
	return CPK_OK;
}

cpk_status
p11_uri_parse(const char *s, size_t n, struct p11_uri *out, struct cpk_error *err)
{
	const char *q;
	size_t plen;
	cpk_status ret;

	memset(out, 0, sizeof(*out));
	if (n > P11_URI_MAX) {
		ret = cpk_error_set(err, CPK_ERR_RANGE, "pkcs11 URI longer than %d bytes",
		    P11_URI_MAX);
		goto out;
	}
	if (!p11_uri_is(s, n)) {
		ret = cpk_error_set(err, CPK_ERR_PARSE, "not a pkcs11 URI (expected "
		    "'pkcs11:token=...;object=...')");
		goto out;
	}
	s += SCHEME_LEN;
	n -= SCHEME_LEN;
	if (memchr(s, '#', n) != NULL) {
		ret = cpk_error_set(err, CPK_ERR_PARSE, "pkcs11 URI: a fragment ('#') is not allowed");
		goto out;
	}
	q = memchr(s, '?', n);
	plen = q != NULL ? (size_t)(q - s) : n;
	if ((ret = parse_list(s, plen, ';', false, out, err)) != CPK_OK)
		goto out;
	if (q != NULL && (ret = parse_list(q + 1, n - plen - 1, '&', true, out, err)) != CPK_OK)
		goto out;
	if ((out->has & (P11_URI_OBJECT | P11_URI_ID)) == 0) {
		ret = cpk_error_set(err, CPK_ERR_PARSE,
		    "pkcs11 URI names no key: give 'object' (its label) or 'id'");
		goto out;
	}
	ret = CPK_OK;
out:
	if (ret != CPK_OK)
		memset(out, 0, sizeof(*out));
	return ret;
}

/* Append a percent-encoded value; unreserved characters stay as they are. */
static bool
put_value(char *buf, size_t cap, size_t *pos, const uint8_t *v, size_t n, bool all)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; i < n; i++) {
		uint8_t c = v[i];
		bool plain = !all && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~' ||
		    c == ':' || c == '[' || c == ']' || c == '@' || c == '!' || c == '$' ||
		    c == '\'' || c == '(' || c == ')' || c == '*' || c == '+' || c == ',' ||
		    c == '/');

		if (cap - *pos < (plain ? 2u : 4u))
			return false;
		if (plain) {
			buf[(*pos)++] = (char)c;
		} else {
			buf[(*pos)++] = '%';
			buf[(*pos)++] = hex[c >> 4];
			buf[(*pos)++] = hex[c & 15];
		}
	}
	buf[*pos] = '\0';
	return true;
}

static bool
put_text(char *buf, size_t cap, size_t *pos, const char *t)
{
	size_t n = strlen(t);

	if (cap - *pos < n + 1)
		return false;
	memcpy(buf + *pos, t, n + 1);
	*pos += n;
	return true;
}

static bool
put_attr(const struct p11_uri *u, const struct attr *a, char *buf, size_t cap, size_t *pos)
{
	char num[32];

	switch (a->kind) {
	case A_TYPE:
		return put_text(buf, cap, pos, p11_uri_type_name(u->type));
	case A_VERSION:
		snprintf(num, sizeof(num), "%u.%u", u->lib_version_major, u->lib_version_minor);
		return put_text(buf, cap, pos, num);
	case A_ULONG:
		snprintf(num, sizeof(num), "%lu", u->slot_id);
		return put_text(buf, cap, pos, num);
	case A_ID:
		return put_value(buf, cap, pos, u->id, u->id_len, true);
	case A_STR:
		break;
	}
	return put_value(buf, cap, pos, (const uint8_t *)u + a->off,
	    strlen((const char *)u + a->off), false);
}

cpk_status
p11_uri_format(const struct p11_uri *u, char *buf, size_t cap, struct cpk_error *err)
{
	size_t pos = 0, i;
	bool first = true, ok;

	ok = cap > 0 && put_text(buf, cap, &pos, SCHEME);
	for (i = 0; ok && i < NPATH; i++) {
		if (!(u->has & path_attrs[i].bit))
			continue;
		ok = (first || put_text(buf, cap, &pos, ";")) &&
		    put_text(buf, cap, &pos, path_attrs[i].name) &&
		    put_text(buf, cap, &pos, "=") && put_attr(u, &path_attrs[i], buf, cap, &pos);
		first = false;
	}
	for (i = 0, first = true; ok && i < NQUERY; i++) {
		if (!(u->has & query_attrs[i].bit))
			continue;
		ok = put_text(buf, cap, &pos, first ? "?" : "&") &&
		    put_text(buf, cap, &pos, query_attrs[i].name) &&
		    put_text(buf, cap, &pos, "=") && put_attr(u, &query_attrs[i], buf, cap, &pos);
		first = false;
	}
	if (!ok)
		return cpk_error_set(err, CPK_ERR_RANGE, "pkcs11 URI longer than %zu bytes",
		    cap > 0 ? cap - 1 : 0);
	return CPK_OK;
}
