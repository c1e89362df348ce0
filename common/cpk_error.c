/* SPDX-License-Identifier: BSD-2-Clause */
/* cpk: status names and the error structure. */
#include "cpk_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	const char *str;
} status_table[CPK_STATUS_COUNT] = {
	[CPK_OK] = { "CPK_OK", "success" },
	[CPK_ERR_NOMEM] = { "CPK_ERR_NOMEM", "out of memory" },
	[CPK_ERR_ARG] = { "CPK_ERR_ARG", "invalid argument" },
	[CPK_ERR_PARSE] = { "CPK_ERR_PARSE", "malformed input" },
	[CPK_ERR_RANGE] = { "CPK_ERR_RANGE", "value out of range" },
	[CPK_ERR_UNSUPPORTED] = { "CPK_ERR_UNSUPPORTED", "not supported" },
	[CPK_ERR_CRYPTO] = { "CPK_ERR_CRYPTO", "cryptographic library failure" },
	[CPK_ERR_VERIFY] = { "CPK_ERR_VERIFY", "verification failed" },
	[CPK_ERR_STATE] = { "CPK_ERR_STATE", "not allowed in the current state" },
	[CPK_ERR_NOT_FOUND] = { "CPK_ERR_NOT_FOUND", "not found" },
	[CPK_ERR_IO] = { "CPK_ERR_IO", "input/output error" },
	[CPK_ERR_PERMISSION] = { "CPK_ERR_PERMISSION", "permission refused" },
	[CPK_ERR_SIGNATURE] = { "CPK_ERR_SIGNATURE", "signature refused" },
	[CPK_ERR_CARD] = { "CPK_ERR_CARD", "the card refused a command" },
	[CPK_ERR_PCSC] = { "CPK_ERR_PCSC", "smart-card service failure" },
	[CPK_ERR_INTERRUPTED] = { "CPK_ERR_INTERRUPTED", "interrupted" },
	[CPK_ERR_TOKEN] = { "CPK_ERR_TOKEN", "PKCS#11 token error" },
};

const char *
cpk_status_name(cpk_status st)
{
	if ((unsigned)st >= CPK_STATUS_COUNT || status_table[st].name == NULL)
		return "CPK_STATUS_UNKNOWN";
	return status_table[st].name;
}

const char *
cpk_status_str(cpk_status st)
{
	if ((unsigned)st >= CPK_STATUS_COUNT || status_table[st].str == NULL)
		return "unknown status";
	return status_table[st].str;
}

void
cpk_error_clear(struct cpk_error *err)
{
	if (err == NULL)
		return;
	memset(err, 0, sizeof(*err));
}

static void error_vset(struct cpk_error *, cpk_status, const char *, va_list)
    __attribute__((format(printf, 3, 0)));

static void
error_vset(struct cpk_error *err, cpk_status st, const char *fmt, va_list ap)
{
	int n;

	err->status = st;
	n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	if (n < 0)
		err->msg[0] = '\0';
}

cpk_status
cpk_error_set(struct cpk_error *err, cpk_status st, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return st;
	va_start(ap, fmt);
	error_vset(err, st, fmt, ap);
	va_end(ap);
	return st;
}

cpk_status
cpk_error_set_at(struct cpk_error *err, cpk_status st, const char *file,
    unsigned line, unsigned col, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return st;
	va_start(ap, fmt);
	error_vset(err, st, fmt, ap);
	va_end(ap);
	snprintf(err->file, sizeof(err->file), "%s", file != NULL ? file : "");
	err->line = line;
	err->col = col;
	return st;
}

void
cpk_error_prefix(struct cpk_error *err, const char *fmt, ...)
{
	char prefix[256];
	char old[sizeof(err->msg)];
	va_list ap;
	int n;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	n = vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	memcpy(old, err->msg, sizeof(old));
	/* A combined message longer than err->msg is cut short, by design. */
	n = snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old);
	if (n < 0)
		memcpy(err->msg, old, sizeof(old));
}
