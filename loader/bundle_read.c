/* SPDX-License-Identifier: BSD-2-Clause */
/* cpk: the bundle reader. Order of checks in bundle_read.h. */
#include "bundle_read.h"
#include "cpk_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ZIP_EOCD_SIG 0x06054b50u
#define ZIP_CDIR_SIG 0x02014b50u
#define ZIP_LOCAL_SIG 0x04034b50u
#define ZIP_EOCD_LEN 22
#define ZIP_CDIR_LEN 46
#define ZIP_LOCAL_LEN 30
#define ZIP_FLAG_ENCRYPTED 0x0001u
#define ZIP_FLAG_UTF8 0x0800u

struct cpk_bundle {
	struct cpk_buf manifest_text;
	struct cpk_buf sig;
	struct cpk_buf script;
	struct cpk_manifest manifest;
	struct cpk_command *cmds;
	size_t ncmds;
	uint8_t sha256[CPK_SHA256_LEN];
	uint8_t key_id[CPK_KEY_ID_LEN];
	char signer[CPK_TRUST_ORIGIN_MAX];
	bool verified;
	struct cpk_error sig_error;		/* inspect mode: why not verified */
	enum cpk_bundle_fault sig_fault;
};

static const char *const entry_names[CPK_ENTRY_COUNT] = {
	CPK_ENTRY_MANIFEST, CPK_ENTRY_SIGNATURE, CPK_ENTRY_SCRIPT,
};

/* What the central directory says about one entry. */
struct zentry {
	size_t pos;		/* index in the central directory */
	uint16_t flags, method;
	uint32_t crc, csize, usize, offset;
	size_t data;		/* where its bytes start (zip_check_layout) */
};

static uint16_t
le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

/* A hostile entry name, made printable and short for a message. */
static void
printable_name(const uint8_t *p, size_t n, char *out, size_t cap)
{
	size_t i, k = 0;

	for (i = 0; i < n && k + 4 < cap && i < 64; i++)
		out[k++] = (p[i] >= 0x20 && p[i] < 0x7f) ? (char)p[i] : '?';
	if (i < n && k + 3 < cap) {
		memcpy(out + k, "...", 3);
		k += 3;
	}
	out[k] = '\0';
}

static int
entry_index(const uint8_t *name, size_t n)
{
	int i;

	for (i = 0; i < CPK_ENTRY_COUNT; i++) {
		if (strlen(entry_names[i]) == n && memcmp(entry_names[i], name, n) == 0)
			return i;
	}
	return -1;
}

/* The end record: where the central directory is and how many entries it lists. */
static cpk_status
zip_end_record(const uint8_t *p, size_t n, size_t *cd_off, size_t *cd_size, size_t *count,
    struct cpk_error *err)
{
	const uint8_t *e;
	cpk_status st = CPK_ERR_PARSE;

	if (n < ZIP_EOCD_LEN) {
		cpk_error_set(err, st, "truncated bundle: %zu bytes cannot hold a zip archive", n);
		goto out;
	}
	e = p + n - ZIP_EOCD_LEN;
	if (le32(e) != ZIP_EOCD_SIG || le16(e + 20) != 0) {
		cpk_error_set(err, st, "not a complete zip archive: no end record at the end of "
		    "the file (truncated, not a bundle, or trailing data)");
		goto out;
	}
	if (le16(e + 4) != 0 || le16(e + 6) != 0 || le16(e + 8) != le16(e + 10)) {
		cpk_error_set(err, st, "multi-part zip archives are not bundles");
		goto out;
	}
	*count = le16(e + 10);
	*cd_size = le32(e + 12);
	*cd_off = le32(e + 16);
	if (*cd_off > n - ZIP_EOCD_LEN || *cd_size != n - ZIP_EOCD_LEN - *cd_off) {
		cpk_error_set(err, st, "truncated or damaged zip archive: the central directory "
		    "is not where the end record puts it");
		goto out;
	}
	st = CPK_OK;
out:
	return st;
}

/* One central directory header; classifies its name. */
static cpk_status
zip_cdir_entry(struct cpk_cursor *cd, size_t pos, struct zentry *ent, bool *seen,
    struct cpk_error *err)
{
	const uint8_t *h = NULL, *name = NULL;
	char shown[80];
	size_t name_len, skip;
	int idx;
	cpk_status st = CPK_ERR_PARSE;

	if (!cpk_cursor_bytes(cd, ZIP_CDIR_LEN, &h) || le32(h) != ZIP_CDIR_SIG) {
		cpk_error_set(err, st, "truncated or damaged zip archive: central directory "
		    "entry %zu is missing or cut short", pos + 1);
		goto out;
	}
	name_len = le16(h + 28);
	skip = (size_t)le16(h + 30) + le16(h + 32);
	if (!cpk_cursor_bytes(cd, name_len, &name) || !cpk_cursor_skip(cd, skip)) {
		cpk_error_set(err, st, "truncated or damaged zip archive: central directory "
		    "entry %zu is cut short", pos + 1);
		goto out;
	}
	printable_name(name, name_len, shown, sizeof(shown));
	if ((idx = entry_index(name, name_len)) < 0) {
		cpk_error_set(err, st, "unexpected entry '%s' in the bundle (a bundle holds only "
		    "%s, %s and %s)", shown, CPK_ENTRY_MANIFEST, CPK_ENTRY_SIGNATURE,
		    CPK_ENTRY_SCRIPT);
		goto out;
	}
	if (seen[idx]) {
		cpk_error_set(err, st, "duplicate entry '%s' in the bundle", shown);
		goto out;
	}
	seen[idx] = true;
	ent[idx].pos = pos;
	ent[idx].flags = le16(h + 8);
	ent[idx].method = le16(h + 10);
	ent[idx].crc = le32(h + 16);
	ent[idx].csize = le32(h + 20);
	ent[idx].usize = le32(h + 24);
	ent[idx].offset = le32(h + 42);
	st = CPK_OK;
out:
	return st;
}

static size_t
entry_cap(int idx)
{
	switch (idx) {
	case 0:
		return CPK_MANIFEST_MAX_SIZE;
	case 1:
		return CPK_SIG_LEN;
	default:
		return CPK_SCRIPT_MAX_SIZE;
	}
}

/* Storage rules and size caps for one entry, from the central directory. */
static cpk_status
zip_check_entry(int idx, const struct zentry *z, struct cpk_error *err)
{
	const char *name = entry_names[idx];
	cpk_status st = CPK_ERR_PARSE;

	if (z->pos != (size_t)idx) {
		cpk_error_set(err, st, "entries out of order: '%s' is entry %zu; a bundle holds "
		    "%s, %s, %s in this order", name, z->pos + 1, CPK_ENTRY_MANIFEST,
		    CPK_ENTRY_SIGNATURE, CPK_ENTRY_SCRIPT);
		goto out;
	}
	if (z->flags & ZIP_FLAG_ENCRYPTED) {
		cpk_error_set(err, st, "entry '%s' is encrypted", name);
		goto out;
	}
	if (z->flags & ~ZIP_FLAG_UTF8) {
		cpk_error_set(err, st, "entry '%s' has unsupported zip flags 0x%04X", name, z->flags);
		goto out;
	}
	if (z->method != 0) {
		cpk_error_set(err, st, "entry '%s' is compressed (method %u); bundle entries are "
		    "stored", name, z->method);
		goto out;
	}
	if (z->usize > entry_cap(idx)) {
		st = cpk_error_set(err, CPK_ERR_RANGE, "oversized entry '%s': %lu bytes, at most %zu",
		    name, (unsigned long)z->usize, entry_cap(idx));
		goto out;
	}
	if (z->csize != z->usize || (idx == 1 && z->usize != CPK_SIG_LEN) || z->usize == 0) {
		cpk_error_set(err, st, "entry '%s': %lu bytes stored for %lu; expected %s", name,
		    (unsigned long)z->csize, (unsigned long)z->usize,
		    idx == 1 ? "exactly 74 bytes, stored" : "a non-empty stored entry");
		goto out;
	}
	st = CPK_OK;
out:
	return st;
}

/*
 * The entries' local headers and data follow each other from byte 0 up to
 * the central directory: nothing before, between or overlapping them.
 */
static cpk_status
zip_check_layout(const uint8_t *p, struct zentry ent[CPK_ENTRY_COUNT], size_t cd_off,
    struct cpk_error *err)
{
	uint64_t at = 0, end;
	int idx;
	cpk_status st = CPK_ERR_PARSE;

	for (idx = 0; idx < CPK_ENTRY_COUNT; idx++) {
		const uint8_t *h;

		if (ent[idx].offset != at) {
			cpk_error_set(err, st, "damaged zip archive: unexpected bytes before entry "
			    "'%s'", entry_names[idx]);
			goto out;
		}
		h = p + at;	/* at <= cd_off <= n */
		if (at + ZIP_LOCAL_LEN > cd_off || le32(h) != ZIP_LOCAL_SIG) {
			cpk_error_set(err, st, "truncated or damaged zip archive: no local header "
			    "for entry '%s'", entry_names[idx]);
			goto out;
		}
		/*
		 * The local header repeats what the directory says (no data
		 * descriptors: flag 08 is refused there): a reader that trusts the
		 * one and a reader that trusts the other see the same entry.
		 */
		if (le16(h + 6) != ent[idx].flags || le16(h + 8) != ent[idx].method ||
		    le32(h + 14) != ent[idx].crc || le32(h + 18) != ent[idx].csize ||
		    le32(h + 22) != ent[idx].usize) {
			cpk_error_set(err, st, "damaged zip archive: the local header of entry '%s' "
			    "disagrees with the central directory (%s)", entry_names[idx],
			    le16(h + 6) != ent[idx].flags ? "flags" : le16(h + 8) != ent[idx].method ?
			    "compression method" : le32(h + 14) != ent[idx].crc ? "CRC-32" : "sizes");
			goto out;
		}
		/* The same name too (entry_index() matched the directory's). */
		if (at + ZIP_LOCAL_LEN + le16(h + 26) > cd_off ||
		    entry_index(h + ZIP_LOCAL_LEN, le16(h + 26)) != idx) {
			cpk_error_set(err, st, "damaged zip archive: the local header of entry '%s' "
			    "disagrees with the central directory (name)", entry_names[idx]);
			goto out;
		}
		end = at + ZIP_LOCAL_LEN + le16(h + 26) + le16(h + 28) + ent[idx].csize;
		if (end > cd_off) {
			cpk_error_set(err, st, "truncated or damaged zip archive: entry '%s' runs "
			    "into the central directory", entry_names[idx]);
			goto out;
		}
		ent[idx].data = (size_t)(end - ent[idx].csize);
		at = end;
	}
	if (at != cd_off) {
		cpk_error_set(err, st, "damaged zip archive: unexpected bytes before the central "
		    "directory");
		goto out;
	}
	st = CPK_OK;
out:
	return st;
}

/* Step 1a: the central directory and the local headers, before any entry is read. */
static cpk_status
zip_check_directory(const uint8_t *p, size_t n, struct zentry ent[CPK_ENTRY_COUNT],
    struct cpk_error *err)
{
	struct cpk_cursor cd;
	bool seen[CPK_ENTRY_COUNT] = { false, false, false };
	size_t cd_off = 0, cd_size = 0, count = 0, i;
	int idx;
	cpk_status st;

	if ((st = zip_end_record(p, n, &cd_off, &cd_size, &count, err)) != CPK_OK)
		goto out;
	cpk_cursor_init(&cd, p + cd_off, cd_size);
	for (i = 0; i < count; i++) {
		if ((st = zip_cdir_entry(&cd, i, ent, seen, err)) != CPK_OK)
			goto out;
	}
	st = CPK_ERR_PARSE;
	if (cpk_cursor_left(&cd) != 0) {
		cpk_error_set(err, st, "damaged zip archive: %zu stray bytes in the central "
		    "directory", cpk_cursor_left(&cd));
		goto out;
	}
	for (idx = 0; idx < CPK_ENTRY_COUNT; idx++) {
		if (!seen[idx]) {
			cpk_error_set(err, st, "missing entry '%s' in the bundle", entry_names[idx]);
			goto out;
		}
	}
	for (idx = 0; idx < CPK_ENTRY_COUNT; idx++) {
		if ((st = zip_check_entry(idx, &ent[idx], err)) != CPK_OK)
			goto out;
	}
	st = zip_check_layout(p, ent, cd_off, err);
out:
	return st;
}

/*
 * Step 1b: copy the entries out, each checked against its CRC-32. They are
 * stored (zip_check_entry), and zip_check_layout placed each one inside
 * the file, after a local header that agrees with the directory.
 */
static cpk_status
zip_extract(const uint8_t *p, const struct zentry ent[CPK_ENTRY_COUNT], struct cpk_bundle *b,
    struct cpk_error *err)
{
	struct cpk_buf *dst[CPK_ENTRY_COUNT] = { &b->manifest_text, &b->sig, &b->script };
	const uint8_t *data;
	int idx;
	cpk_status st = CPK_OK;

	for (idx = 0; idx < CPK_ENTRY_COUNT && st == CPK_OK; idx++) {
		data = p + ent[idx].data;
		if (cpk_crc32(0, data, ent[idx].usize) != ent[idx].crc)
			st = cpk_error_set(err, CPK_ERR_PARSE, "damaged zip archive: entry '%s': CRC "
			    "error (its bytes do not match the CRC-32 of its header)",
			    entry_names[idx]);
		else
			st = cpk_buf_set(dst[idx], data, ent[idx].usize, err);
	}
	return st;
}

/* Step 2. In inspect mode a signature failure is recorded, not returned. */
static cpk_status
check_signature(struct cpk_bundle *b, const struct cpk_trust *t, unsigned flags,
    struct cpk_bundle_diag *diag, struct cpk_error *err)
{
	const struct cpk_trust_key *k = NULL;
	struct cpk_error tmp;
	enum cpk_bundle_fault fault = CPK_FAULT_NONE;
	cpk_status st;

	cpk_error_clear(&tmp);
	memset(b->key_id, 0, sizeof(b->key_id));
	st = cpk_verify_signature(t, b->manifest_text.data, b->manifest_text.len, b->sig.data,
	    b->sig.len, b->key_id, &k, &fault, &tmp);
	diag->has_key_id = fault != CPK_FAULT_SIGNATURE_FORMAT;
	memcpy(diag->key_id, b->key_id, sizeof(b->key_id));
	if (st == CPK_OK) {
		b->verified = true;
		snprintf(b->signer, sizeof(b->signer), "%s", k->origin);
		goto out;
	}
	if (flags & CPK_BUNDLE_OPEN_INSPECT) {
		b->sig_error = tmp;
		b->sig_fault = fault;
		st = CPK_OK;
		goto out;
	}
	diag->fault = fault;
	if (err != NULL)
		*err = tmp;
out:
	return st;
}

/* Steps 3-5. */
static cpk_status
check_contents(struct cpk_bundle *b, struct cpk_bundle_diag *diag, struct cpk_error *err)
{
	const struct cpk_manifest *m = &b->manifest;
	uint8_t md[CPK_SHA256_LEN];
	cpk_status st;

	st = cpk_manifest_parse(b->manifest_text.data, b->manifest_text.len, &b->manifest, err);
	if (st != CPK_OK) {
		diag->fault = st == CPK_ERR_UNSUPPORTED ? CPK_FAULT_VERSION : CPK_FAULT_MANIFEST;
		goto out;
	}
	diag->fault = CPK_FAULT_HASH;
	if (b->script.len != m->script_size) {
		st = cpk_error_set(err, CPK_ERR_VERIFY, "%s is %zu bytes but the signed manifest "
		    "says %u: the bundle was altered or damaged", CPK_ENTRY_SCRIPT, b->script.len,
		    m->script_size);
		goto out;
	}
	if ((st = cpk_sha256(b->script.data, b->script.len, md, err)) != CPK_OK)
		goto out;
	if (!cpk_ct_equal(md, m->script_sha256, sizeof(md))) {
		st = cpk_error_set(err, CPK_ERR_VERIFY, "%s does not match the signed manifest "
		    "(SHA-256 mismatch): the bundle was altered or damaged", CPK_ENTRY_SCRIPT);
		goto out;
	}
	diag->fault = CPK_FAULT_SCRIPT;
	if ((st = cpk_script_parse(b->script.data, b->script.len, &b->cmds, &b->ncmds, err)) !=
	    CPK_OK)
		goto out;
	if (b->ncmds != m->commands) {
		st = cpk_error_set(err, CPK_ERR_PARSE, "%s holds %zu commands but the manifest "
		    "says %u", CPK_ENTRY_SCRIPT, b->ncmds, m->commands);
		goto out;
	}
	if ((st = cpk_script_check_flow(m, b->cmds, b->ncmds, err)) != CPK_OK)
		goto out;
	diag->fault = CPK_FAULT_NONE;
out:
	return st;
}

cpk_status
cpk_bundle_open(const uint8_t *data, size_t len, const struct cpk_trust *trust, unsigned flags,
    struct cpk_bundle **out, struct cpk_bundle_diag *diag, struct cpk_error *err)
{
	struct cpk_bundle_diag dummy;
	struct cpk_bundle *b = NULL;
	struct zentry ent[CPK_ENTRY_COUNT];
	cpk_status st = CPK_ERR_ARG;

	if (diag == NULL)
		diag = &dummy;
	memset(diag, 0, sizeof(*diag));
	memset(ent, 0, sizeof(ent));
	*out = NULL;
	if ((data == NULL && len > 0) || (trust == NULL && !(flags & CPK_BUNDLE_OPEN_INSPECT))) {
		cpk_error_set(err, st, "no bundle bytes or no trust anchors given");
		goto out;
	}
	diag->fault = CPK_FAULT_CONTAINER;
	if (len > CPK_BUNDLE_MAX_SIZE) {
		st = cpk_error_set(err, CPK_ERR_RANGE, "bundle is %zu bytes; at most %zu", len,
		    CPK_BUNDLE_MAX_SIZE);
		goto out;
	}
	if ((b = calloc(1, sizeof(*b))) == NULL) {
		st = cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((st = zip_check_directory(data, len, ent, err)) != CPK_OK ||
	    (st = zip_extract(data, ent, b, err)) != CPK_OK)
		goto out;
	if ((st = check_signature(b, trust, flags, diag, err)) != CPK_OK ||
	    (st = check_contents(b, diag, err)) != CPK_OK)
		goto out;
	if ((st = cpk_sha256(data, len, b->sha256, err)) != CPK_OK)
		goto out;
	*out = b;
	b = NULL;
	st = CPK_OK;
out:
	cpk_bundle_free(&b);
	return st;
}

void
cpk_bundle_free(struct cpk_bundle **b)
{
	if (b == NULL || *b == NULL)
		return;
	cpk_buf_free(&(*b)->manifest_text);
	cpk_buf_free(&(*b)->sig);
	cpk_buf_free(&(*b)->script);
	free((*b)->cmds);
	free(*b);
	*b = NULL;
}

const struct cpk_manifest *
cpk_bundle_manifest(const struct cpk_bundle *b)
{
	return &b->manifest;
}

const uint8_t *
cpk_bundle_manifest_text(const struct cpk_bundle *b, size_t *len)
{
	*len = b->manifest_text.len;
	return b->manifest_text.data;
}

size_t
cpk_bundle_command_count(const struct cpk_bundle *b)
{
	return b->ncmds;
}

const struct cpk_command *
cpk_bundle_command(const struct cpk_bundle *b, size_t index)
{
	return index < b->ncmds ? &b->cmds[index] : NULL;
}

const struct cpk_command *
cpk_bundle_commands(const struct cpk_bundle *b)
{
	return b->cmds;
}

const uint8_t *
cpk_bundle_sha256(const struct cpk_bundle *b)
{
	return b->sha256;
}

const uint8_t *
cpk_bundle_key_id(const struct cpk_bundle *b)
{
	return b->key_id;
}

const char *
cpk_bundle_signer(const struct cpk_bundle *b)
{
	return b->verified ? b->signer : NULL;
}

bool
cpk_bundle_verified(const struct cpk_bundle *b, struct cpk_error *why, enum cpk_bundle_fault *fault)
{
	if (!b->verified && why != NULL)
		*why = b->sig_error;
	if (fault != NULL)
		*fault = b->verified ? CPK_FAULT_NONE : b->sig_fault;
	return b->verified;
}

/* --- input --- */

cpk_status
cpk_bundle_read_fd(int fd, const char *name, struct cpk_buf *out, struct cpk_error *err)
{
	struct stat sb;
	size_t start = out->len, want = 65536, left;
	ssize_t r;
	cpk_status st;

	/*
	 * Read straight into the buffer, a regular file's size (and one byte to
	 * see its end) reserved first: no bounce buffer, no copy, no growth.
	 */
	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size >= 0 &&
	    (uintmax_t)sb.st_size <= CPK_BUNDLE_MAX_SIZE)
		want = (size_t)sb.st_size + 1;
	for (;;) {
		/* Never read more than one byte past the cap. */
		left = CPK_BUNDLE_MAX_SIZE + 1 - (out->len - start);
		if (want > left)
			want = left;
		if ((st = cpk_buf_reserve(out, want, err)) != CPK_OK)
			goto out;
		r = read(fd, out->data + out->len, want);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			st = cpk_error_set(err, CPK_ERR_IO, "cannot read '%s': %s", name,
			    strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		out->len += (size_t)r;
		if (out->len - start > CPK_BUNDLE_MAX_SIZE) {
			st = cpk_error_set(err, CPK_ERR_RANGE, "'%s' is larger than %zu bytes: not "
			    "a bundle", name, CPK_BUNDLE_MAX_SIZE);
			goto out;
		}
		want = out->cap > out->len ? out->cap - out->len : 65536;
	}
	st = CPK_OK;
out:
	if (st != CPK_OK && out->len > start)
		cpk_buf_truncate(out, out->len - start);
	return st;
}

cpk_status
cpk_bundle_read_path(const char *path, struct cpk_buf *out, struct cpk_error *err)
{
	int fd;
	cpk_status st;

	if ((st = cpk_stream_open(path, "bundle", &fd, err)) != CPK_OK)
		return st;
	st = cpk_bundle_read_fd(fd, path, out, err);
	close(fd);
	return st;
}
