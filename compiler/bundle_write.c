/* SPDX-License-Identifier: BSD-2-Clause */
/* cpk: the bundle writer. */
#include "bundle_write.h"
#include "cpk_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zip.h>

#include "cpk_config.h"

/* Fixed zip metadata: DOS date 1980-01-01, time 00:00:00, -rw-r--r--. */
#define ZIP_DOS_DATE 0x0021
#define ZIP_DOS_TIME 0x0000
#define ZIP_UNIX_MODE 0100644u
#define SOURCE_DATE_EPOCH_MAX UINT64_C(253402300799)

cpk_status
cpk_bundle_creation_time(uint64_t *out, struct cpk_error *err)
{
	const char *s = getenv("SOURCE_DATE_EPOCH");
	uint64_t v = 0;
	size_t i;
	time_t now;
	cpk_status st = CPK_ERR_PARSE;

	if (s == NULL) {
		if ((now = time(NULL)) == (time_t)-1 || now < 0) {
			st = cpk_error_set(err, CPK_ERR_IO, "cannot read the clock");
			goto out;
		}
		*out = (uint64_t)now;
		st = CPK_OK;
		goto out;
	}
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 12) {
			cpk_error_set(err, st, "SOURCE_DATE_EPOCH '%.32s' is not a decimal number of "
			    "seconds since 1970", s);
			goto out;
		}
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (i == 0 || v > SOURCE_DATE_EPOCH_MAX) {
		cpk_error_set(err, st, "SOURCE_DATE_EPOCH '%.32s' is empty or after the year 9999",
		    s);
		goto out;
	}
	*out = v;
	st = CPK_OK;
out:
	return st;
}

/* --- the container --- */

static cpk_status
zip_fail(struct cpk_error *err, const char *what, zip_error_t *ze)
{
	return cpk_error_set(err, CPK_ERR_IO, "zip: %s: %s", what, zip_error_strerror(ze));
}

static cpk_status
add_entry(zip_t *za, const char *name, const uint8_t *p, size_t n, struct cpk_error *err)
{
	zip_source_t *src;
	zip_int64_t idx;
	zip_uint64_t u;

	if ((src = zip_source_buffer(za, p, n, 0)) == NULL)
		return zip_fail(err, name, zip_get_error(za));
	if ((idx = zip_file_add(za, name, src, ZIP_FL_ENC_UTF_8)) < 0) {
		zip_source_free(src);
		return zip_fail(err, name, zip_get_error(za));
	}
	u = (zip_uint64_t)idx;
	if (zip_set_file_compression(za, u, ZIP_CM_STORE, 0) != 0 ||
	    zip_file_set_dostime(za, u, ZIP_DOS_TIME, ZIP_DOS_DATE, 0) != 0 ||
	    zip_file_set_external_attributes(za, u, 0, ZIP_OPSYS_UNIX, ZIP_UNIX_MODE << 16) != 0)
		return zip_fail(err, name, zip_get_error(za));
	return CPK_OK;
}

/* Copy the archive out of libzip's in-memory source. */
static cpk_status
read_source(zip_source_t *src, struct cpk_buf *out, struct cpk_error *err)
{
	zip_stat_t sb;
	zip_uint64_t got;
	zip_int64_t r = 0;
	cpk_status st;

	zip_stat_init(&sb);
	if (zip_source_stat(src, &sb) != 0 || !(sb.valid & ZIP_STAT_SIZE))
		return zip_fail(err, "stat", zip_source_error(src));
	if (sb.size > CPK_BUNDLE_MAX_SIZE)
		return cpk_error_set(err, CPK_ERR_RANGE, "bundle would be %llu bytes; at most %zu",
		    (unsigned long long)sb.size, CPK_BUNDLE_MAX_SIZE);
	if ((st = cpk_buf_reserve(out, (size_t)sb.size, err)) != CPK_OK)
		return st;
	if (zip_source_open(src) != 0)
		return zip_fail(err, "open", zip_source_error(src));
	for (got = 0; got < sb.size; got += (zip_uint64_t)r) {
		r = zip_source_read(src, out->data + out->len + got, sb.size - got);
		if (r <= 0)
			break;
	}
	zip_source_close(src);
	if (got != sb.size)
		return zip_fail(err, "read", zip_source_error(src));
	out->len += (size_t)got;
	return CPK_OK;
}

cpk_status
cpk_bundle_zip(const uint8_t *manifest, size_t manifest_len, const uint8_t *sig,
    size_t sig_len, const uint8_t *script, size_t script_len, struct cpk_buf *out,
    struct cpk_error *err)
{
	zip_error_t ze;
	zip_source_t *src = NULL;
	zip_t *za = NULL;
	cpk_status st;

	zip_error_init(&ze);
	if ((src = zip_source_buffer_create(NULL, 0, 0, &ze)) == NULL) {
		st = zip_fail(err, "buffer", &ze);
		goto out;
	}
	zip_source_keep(src);	/* the archive's bytes stay in src after zip_close */
	if ((za = zip_open_from_source(src, ZIP_TRUNCATE, &ze)) == NULL) {
		st = zip_fail(err, "open", &ze);
		goto out;
	}
	if ((st = add_entry(za, CPK_ENTRY_MANIFEST, manifest, manifest_len, err)) != CPK_OK ||
	    (st = add_entry(za, CPK_ENTRY_SIGNATURE, sig, sig_len, err)) != CPK_OK ||
	    (st = add_entry(za, CPK_ENTRY_SCRIPT, script, script_len, err)) != CPK_OK)
		goto out;
	if (zip_close(za) != 0) {
		st = zip_fail(err, "close", zip_get_error(za));
		goto out;
	}
	za = NULL;
	st = read_source(src, out, err);
out:
	if (za != NULL)
		zip_discard(za);
	zip_source_free(src);
	zip_error_fini(&ze);
	return st;
}

/* --- the bundle --- */

static cpk_status
build_script(struct cpk_manifest *mm, const struct cpk_command *cmds, size_t n,
    struct cpk_buf *script, struct cpk_error *err)
{
	cpk_status st;

	if ((st = cpk_script_encode(cmds, n, script, err)) != CPK_OK)
		goto out;
	mm->commands = (uint32_t)n;
	mm->script_size = (uint32_t)script->len;
	if ((st = cpk_sha256(script->data, script->len, mm->script_sha256, err)) != CPK_OK)
		goto out;
	if ((st = cpk_script_check_flow(mm, cmds, n, err)) != CPK_OK)
		goto out;
out:
	return st;
}

cpk_status
cpk_bundle_write(const struct cpk_manifest *m, const struct cpk_command *cmds, size_t n,
    const struct cpk_signer *signer, struct cpk_buf *out, struct cpk_error *err)
{
	struct cpk_manifest mm = *m;
	struct cpk_buf script = CPK_BUF_INIT, text = CPK_BUF_INIT;
	uint8_t sig[CPK_SIG_LEN];
	cpk_status st;

	mm.format = CPK_BUNDLE_FORMAT;
	if (mm.compiler[0] == '\0')
		snprintf(mm.compiler, sizeof(mm.compiler), "cpk %s", CPK_VERSION);
	if ((st = build_script(&mm, cmds, n, &script, err)) != CPK_OK ||
	    (st = cpk_manifest_encode(&mm, &text, err)) != CPK_OK ||
	    (st = cpk_signer_sign(signer, text.data, text.len, sig, err)) != CPK_OK ||
	    (st = cpk_bundle_zip(text.data, text.len, sig, sizeof(sig), script.data, script.len,
	    out, err)) != CPK_OK)
		goto out;
out:
	/* What the bundle holds, written out as it is: nothing here to cleanse. */
	cpk_buf_free_public(&script);
	cpk_buf_free_public(&text);
	return st;
}

cpk_status
cpk_bundle_write_file(const struct cpk_manifest *m, const struct cpk_command *cmds, size_t n,
    const struct cpk_signer *signer, const char *path, struct cpk_error *err)
{
	struct cpk_buf b = CPK_BUF_INIT;
	cpk_status st;

	if ((st = cpk_bundle_write(m, cmds, n, signer, &b, err)) != CPK_OK ||
	    (st = cpk_file_replace(path, b.data, b.len, 0600, err)) != CPK_OK)
		goto out;
out:
	cpk_buf_free_public(&b);
	return st;
}
