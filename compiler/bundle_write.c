/* SPDX-License-Identifier: BSD-2-Clause */
/* cpk: the bundle writer. */
#include "bundle_write.h"
#include "cpk_file.h"
#include "compile.h"

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

/*
 * The archive is written by libzip straight into the caller's buffer (a
 * writable source of our own, reserved at about the bundle's size), so no
 * archive buffer of libzip's and no copy of it exist besides the result.
 */
struct zip_sink {
	struct cpk_buf *out;
	size_t base;		/* out->len when the write began */
	size_t len;		/* bytes of archive written */
	size_t pos;		/* write position, from base */
	size_t rpos;		/* read position (libzip wants a seekable source) */
	zip_error_t error;
};

/* Zip headers for one entry (local, central) with its name; and the end record. */
#define ZIP_ENTRY_OVERHEAD(name) (30 + 46 + 2 * (sizeof(name) - 1))
#define ZIP_END_OVERHEAD 22

static zip_int64_t
sink_write(struct zip_sink *k, const void *p, zip_uint64_t n)
{
	struct cpk_error e;
	size_t end;

	if (n > CPK_BUNDLE_MAX_SIZE || k->pos > CPK_BUNDLE_MAX_SIZE - n) {
		zip_error_set(&k->error, ZIP_ER_INVAL, 0);
		return -1;
	}
	end = k->pos + (size_t)n;
	if (end > k->len && cpk_buf_reserve(k->out, end - k->len, &e) != CPK_OK) {
		zip_error_set(&k->error, ZIP_ER_MEMORY, 0);
		return -1;
	}
	memcpy(k->out->data + k->base + k->pos, p, (size_t)n);
	k->pos = end;
	if (end > k->len) {
		k->len = end;
		k->out->len = k->base + end;
	}
	return (zip_int64_t)n;
}

/* Move the read or the write position (*pos) within what was written. */
static zip_int64_t
sink_seek(struct zip_sink *k, size_t *pos, void *data, zip_uint64_t n)
{
	zip_int64_t off;

	if ((off = zip_source_seek_compute_offset(*pos, k->len, data, n, &k->error)) < 0)
		return -1;
	*pos = (size_t)off;
	return 0;
}

static zip_int64_t
sink_cb(void *ud, void *data, zip_uint64_t n, zip_source_cmd_t cmd)
{
	struct zip_sink *k = ud;

	switch (cmd) {
	case ZIP_SOURCE_OPEN:
		k->rpos = 0;
		return 0;
	case ZIP_SOURCE_READ:
		if (n > k->len - k->rpos)
			n = k->len - k->rpos;
		if (n > 0)
			memcpy(data, k->out->data + k->base + k->rpos, (size_t)n);
		k->rpos += (size_t)n;
		return (zip_int64_t)n;
	case ZIP_SOURCE_CLOSE:
		return 0;
	case ZIP_SOURCE_SEEK:
		return sink_seek(k, &k->rpos, data, n);
	case ZIP_SOURCE_TELL:
		return (zip_int64_t)k->rpos;
	case ZIP_SOURCE_STAT:
		if (n < sizeof(zip_stat_t))
			return -1;
		zip_stat_init(data);
		((zip_stat_t *)data)->size = k->len;
		((zip_stat_t *)data)->valid |= ZIP_STAT_SIZE;
		return (zip_int64_t)sizeof(zip_stat_t);
	case ZIP_SOURCE_WRITE:
		return sink_write(k, data, n);
	case ZIP_SOURCE_TELL_WRITE:
		return (zip_int64_t)k->pos;
	case ZIP_SOURCE_SEEK_WRITE:
		return sink_seek(k, &k->pos, data, n);
	case ZIP_SOURCE_BEGIN_WRITE:
	case ZIP_SOURCE_ROLLBACK_WRITE:
	case ZIP_SOURCE_REMOVE:
		/* a write starts, or is undone: nothing written */
		k->out->len = k->base;
		k->len = k->pos = 0;
		return 0;
	case ZIP_SOURCE_COMMIT_WRITE:
	case ZIP_SOURCE_FREE:
		return 0;
	case ZIP_SOURCE_ERROR:
		return zip_error_to_data(&k->error, data, n);
	case ZIP_SOURCE_SUPPORTS:
		return zip_source_make_command_bitmap(ZIP_SOURCE_OPEN, ZIP_SOURCE_READ,
		    ZIP_SOURCE_CLOSE, ZIP_SOURCE_SEEK, ZIP_SOURCE_TELL, ZIP_SOURCE_STAT,
		    ZIP_SOURCE_BEGIN_WRITE,
		    ZIP_SOURCE_WRITE, ZIP_SOURCE_TELL_WRITE, ZIP_SOURCE_SEEK_WRITE,
		    ZIP_SOURCE_ROLLBACK_WRITE, ZIP_SOURCE_REMOVE, ZIP_SOURCE_COMMIT_WRITE,
		    ZIP_SOURCE_FREE, ZIP_SOURCE_ERROR, ZIP_SOURCE_SUPPORTS, -1);
	default:
		zip_error_set(&k->error, ZIP_ER_OPNOTSUPP, 0);
		return -1;
	}
}

cpk_status
cpk_bundle_zip(const uint8_t *manifest, size_t manifest_len, const uint8_t *sig,
    size_t sig_len, const uint8_t *script, size_t script_len, struct cpk_buf *out,
    struct cpk_error *err)
{
	struct zip_sink k;
	zip_error_t ze;
	zip_source_t *src = NULL;
	zip_t *za = NULL;
	size_t base = out->len;
	cpk_status st;

	memset(&k, 0, sizeof(k));
	k.out = out;
	k.base = base;
	zip_error_init(&k.error);
	zip_error_init(&ze);
	if (manifest_len > CPK_BUNDLE_MAX_SIZE || sig_len > CPK_BUNDLE_MAX_SIZE ||
	    script_len > CPK_BUNDLE_MAX_SIZE - manifest_len - sig_len) {
		st = cpk_error_set(err, CPK_ERR_RANGE, "bundle would be over %zu bytes",
		    CPK_BUNDLE_MAX_SIZE);
		goto out;
	}
	if ((st = cpk_buf_reserve(out, manifest_len + sig_len + script_len +
	    ZIP_ENTRY_OVERHEAD(CPK_ENTRY_MANIFEST) + ZIP_ENTRY_OVERHEAD(CPK_ENTRY_SIGNATURE) +
	    ZIP_ENTRY_OVERHEAD(CPK_ENTRY_SCRIPT) + ZIP_END_OVERHEAD, err)) != CPK_OK)
		goto out;
	if ((src = zip_source_function_create(sink_cb, &k, &ze)) == NULL) {
		st = zip_fail(err, "sink", &ze);
		goto out;
	}
	zip_source_keep(src);	/* freed here, after zip_close or zip_discard */
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
	st = CPK_OK;
out:
	if (za != NULL)
		zip_discard(za);
	zip_source_free(src);
	if (st != CPK_OK)
		out->len = base;
	zip_error_fini(&ze);
	zip_error_fini(&k.error);
	return st;
}

/* --- the bundle --- */

/* The manifest's script fields and the command-order rules, for a script of n commands. */
static cpk_status
script_fields(struct cpk_manifest *mm, const struct cpk_command *cmds, size_t n,
    const struct cpk_buf *script, struct cpk_error *err)
{
	cpk_status st;

	mm->format = CPK_BUNDLE_FORMAT;
	if (mm->compiler[0] == '\0')
		snprintf(mm->compiler, sizeof(mm->compiler), "cpk %s", CPK_VERSION);
	mm->commands = (uint32_t)n;
	mm->script_size = (uint32_t)script->len;
	if ((st = cpk_sha256(script->data, script->len, mm->script_sha256, err)) != CPK_OK)
		return st;
	return cpk_script_check_flow(mm, cmds, n, err);
}

/* Sign the manifest and zip it with its signature and the script. */
static cpk_status
seal(const struct cpk_manifest *mm, const struct cpk_buf *script,
    const struct cpk_signer *signer, struct cpk_buf *out, struct cpk_error *err)
{
	struct cpk_buf text = CPK_BUF_INIT;
	uint8_t sig[CPK_SIG_LEN];
	cpk_status st;

	if ((st = cpk_manifest_encode(mm, &text, err)) == CPK_OK &&
	    (st = cpk_signer_sign(signer, text.data, text.len, sig, err)) == CPK_OK)
		st = cpk_bundle_zip(text.data, text.len, sig, sizeof(sig), script->data,
		    script->len, out, err);
	/* What the bundle holds, written out as it is: nothing here to cleanse. */
	cpk_buf_free_public(&text);
	return st;
}

cpk_status
cpk_bundle_write(const struct cpk_manifest *m, const struct cpk_command *cmds, size_t n,
    const struct cpk_signer *signer, struct cpk_buf *out, struct cpk_error *err)
{
	struct cpk_manifest mm = *m;
	struct cpk_buf script = CPK_BUF_INIT;
	cpk_status st;

	if ((st = cpk_script_encode(cmds, n, &script, err)) == CPK_OK &&
	    (st = script_fields(&mm, cmds, n, &script, err)) == CPK_OK)
		st = seal(&mm, &script, signer, out, err);
	cpk_buf_free_public(&script);
	return st;
}

cpk_status
cpk_bundle_write_compiled(struct cpk_compiled *c, const struct cpk_signer *signer,
    struct cpk_buf *out, struct cpk_error *err)
{
	struct cpk_manifest mm = c->manifest;
	struct cpk_command *cmds = c->cmds;
	size_t n = c->ncmds;
	cpk_status st;

	/* The commands as the script holds them, for the order rules; then only the script. */
	if (cmds == NULL &&
	    (st = cpk_script_parse(c->script.data, c->script.len, &cmds, &n, err)) != CPK_OK)
		goto out;
	st = script_fields(&mm, cmds, n, &c->script, err);
	if (cmds != c->cmds)
		free(cmds);
	free(c->cmds);
	c->cmds = NULL;
	if (st == CPK_OK)
		st = seal(&mm, &c->script, signer, out, err);
out:
	cpk_compiled_free_commands(c);
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
