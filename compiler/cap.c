/* SPDX-License-Identifier: BSD-2-Clause */
/* cpk: CAP files with libzip (see cap.h). */
#include "cap.h"

#include <stdlib.h>
#include <string.h>
#include <zip.h>

/*
 * Hashing is not symmetric cryptography (which STYLE.md keeps in
 * gp_crypto.c): the LFDB hash uses EVP_Digest directly.
 */
#include <openssl/evp.h>

#include "ydoc.h"

/* The components every CAP file has (JCVM 6.1); Applet and Export are optional. */
static const uint8_t required_tags[] = {
	CPK_CAP_HEADER, CPK_CAP_DIRECTORY, CPK_CAP_IMPORT, CPK_CAP_CLASS, CPK_CAP_METHOD,
	CPK_CAP_STATIC_FIELD, CPK_CAP_CONSTANT_POOL, CPK_CAP_REF_LOCATION,
};

/*
 * The LFDB order of PROTOCOLS.md; Descriptor last and optional.
 * StaticResources (JCVM 3.1) is loaded from extended-format CAP files only.
 */
static const uint8_t lfdb_order[] = {
	CPK_CAP_HEADER, CPK_CAP_DIRECTORY, CPK_CAP_IMPORT, CPK_CAP_APPLET, CPK_CAP_CLASS,
	CPK_CAP_METHOD, CPK_CAP_STATIC_FIELD, CPK_CAP_EXPORT, CPK_CAP_CONSTANT_POOL,
	CPK_CAP_REF_LOCATION, CPK_CAP_STATIC_RESOURCES, CPK_CAP_DESCRIPTOR,
};

/*
 * Header: tag(1) size(2) magic(4) minor major flags: the extended format is
 * flag 08 in CAP format 2.3 (the flag in another format is refused by
 * cpk_lfdb_parse).
 */
static bool
cap_is_extended(const struct cap_file *cap)
{
	const struct cpk_buf *h = &cap->comp[CPK_CAP_HEADER];

	return h->len > 9 && h->data[7] == 3 && h->data[8] == 2 &&
	    (h->data[9] & CPK_CAP_ACC_EXTENDED) != 0;
}

void
cap_free(struct cap_file **cap)
{
	size_t i;

	if (cap == NULL || *cap == NULL)
		return;
	for (i = 0; i <= CPK_CAP_TAG_MAX; i++) {
		cpk_buf_free(&(*cap)->comp[i]);
		free((*cap)->ename[i]);
	}
	free((*cap)->name);
	free((*cap)->package_path);
	free(*cap);
	*cap = NULL;
}

/*
 * Which component an entry name holds: its tag, 0 if the entry is not a
 * component file (<dir>/javacard/<Name>.cap, or .capx as JCVM 3.1 names the
 * extended-format components). *pkg_len receives the length of the package
 * path prefix.
 */
static unsigned
entry_component(const char *name, size_t *pkg_len)
{
	const char *slash = strrchr(name, '/'), *base, *dirend;
	size_t blen, ext;
	unsigned tag;

	if (slash == NULL)
		return 0;
	base = slash + 1;
	blen = strlen(base);
	if (blen > 4 && strcmp(base + blen - 4, ".cap") == 0)
		ext = 4;
	else if (blen > 5 && strcmp(base + blen - 5, ".capx") == 0)
		ext = 5;
	else
		return 0;
	/* The directory must be "javacard" or end in "/javacard". */
	dirend = slash;
	if ((size_t)(dirend - name) < 8 || memcmp(dirend - 8, "javacard", 8) != 0)
		return 0;
	if (dirend - 8 != name && dirend[-9] != '/')
		return 0;
	*pkg_len = dirend - 8 == name ? 0 : (size_t)(dirend - 9 - name);
	for (tag = 1; tag <= CPK_CAP_TAG_MAX; tag++) {
		const char *cn = cpk_cap_component_name(tag);

		if (strlen(cn) == blen - ext && memcmp(cn, base, blen - ext) == 0)
			return tag;
	}
	return 0;
}

static cpk_status
read_entry(const char *capname, zip_t *za, zip_uint64_t idx, const char *ename,
    zip_uint64_t size, struct cpk_buf *out, struct cpk_error *err)
{
	zip_file_t *zf = NULL;
	zip_int64_t r;
	cpk_status ret;

	if ((ret = cpk_buf_reserve(out, (size_t)size + 1, err)) != CPK_OK)
		goto out;
	if ((zf = zip_fopen_index(za, idx, 0)) == NULL) {
		ret = cpk_error_set(err, CPK_ERR_PARSE, "CAP '%s': cannot read %s: %s", capname, ename,
		    zip_strerror(za));
		goto out;
	}
	for (;;) {
		r = zip_fread(zf, out->data + out->len, (zip_uint64_t)(size + 1 - out->len));
		if (r < 0) {
			ret = cpk_error_set(err, CPK_ERR_PARSE, "CAP '%s': cannot read %s: %s",
			    capname, ename, zip_file_strerror(zf));
			goto out;
		}
		if (r == 0)
			break;
		out->len += (size_t)r;
		if (out->len > size)
			break;
	}
	if (out->len != size) {
		ret = cpk_error_set(err, CPK_ERR_PARSE,
		    "CAP '%s': %s holds %zu bytes, but the zip directory says %llu", capname, ename,
		    out->len, (unsigned long long)size);
		goto out;
	}
	ret = CPK_OK;
out:
	if (zf != NULL)
		zip_fclose(zf);
	return ret;
}

/*
 * The component's own tag and size must agree with its file: a u2 size, or a
 * u4 one for the components the extended format widens (wide).
 */
static cpk_status
check_component(const char *capname, const char *ename, unsigned tag, const struct cpk_buf *b,
    bool wide, struct cpk_error *err)
{
	size_t declared, hdr = wide ? 5 : 3;

	if (b->len < hdr)
		return cpk_error_set(err, CPK_ERR_PARSE,
		    "CAP '%s': %s is %zu bytes, too short for a component%s", capname, ename, b->len,
		    wide ? " with a u4 size" : "");
	if (b->data[0] != tag)
		return cpk_error_set(err, CPK_ERR_PARSE,
		    "CAP '%s': %s starts with tag %u, expected %u (%s)", capname, ename, b->data[0],
		    tag, cpk_cap_component_name(tag));
	if (wide)
		declared = (size_t)b->data[1] << 24 | (size_t)b->data[2] << 16 |
		    (size_t)b->data[3] << 8 | b->data[4];
	else
		declared = (size_t)b->data[1] << 8 | b->data[2];
	if (declared + hdr != b->len)
		return cpk_error_set(err, CPK_ERR_PARSE,
		    "CAP '%s': %s says its content is %zu bytes, but the file holds %zu", capname,
		    ename, declared, b->len - hdr);
	return CPK_OK;
}

/*
 * Every component read, once the Header says which format the CAP is in.
 * A compact CAP loads no StaticResources (as before CAP 2.3): it is dropped.
 */
static cpk_status
check_components(struct cap_file *cap, struct cpk_error *err)
{
	bool ext;
	cpk_status ret;
	unsigned tag;

	if ((ret = check_component(cap->name, cap->ename[CPK_CAP_HEADER], CPK_CAP_HEADER,
	    &cap->comp[CPK_CAP_HEADER], false, err)) != CPK_OK)
		return ret;
	ext = cap_is_extended(cap);
	if (!ext && cap->present[CPK_CAP_STATIC_RESOURCES]) {
		cpk_buf_free(&cap->comp[CPK_CAP_STATIC_RESOURCES]);
		cap->present[CPK_CAP_STATIC_RESOURCES] = false;
	}
	for (tag = 2; tag <= CPK_CAP_TAG_MAX; tag++) {
		if (!cap->present[tag])
			continue;
		if ((ret = check_component(cap->name, cap->ename[tag], tag, &cap->comp[tag],
		    ext && (tag == CPK_CAP_METHOD || tag == CPK_CAP_REF_LOCATION ||
		    tag == CPK_CAP_DESCRIPTOR || tag == CPK_CAP_STATIC_RESOURCES), err)) != CPK_OK)
			return ret;
	}
	return CPK_OK;
}

/* One zip entry: keep it if it is a loadable component of the one package. */
static cpk_status
take_entry(struct cap_file *cap, zip_t *za, zip_uint64_t idx, size_t *total,
    struct cpk_error *err)
{
	zip_stat_t st;
	size_t pkg_len = 0;
	unsigned tag;
	cpk_status ret;

	zip_stat_init(&st);
	if (zip_stat_index(za, idx, 0, &st) != 0 || !(st.valid & ZIP_STAT_NAME) ||
	    !(st.valid & ZIP_STAT_SIZE))
		return cpk_error_set(err, CPK_ERR_PARSE, "CAP '%s': unreadable zip entry %llu: %s",
		    cap->name, (unsigned long long)idx, zip_strerror(za));
	if ((tag = entry_component(st.name, &pkg_len)) == 0 || tag == CPK_CAP_DEBUG)
		return CPK_OK;		/* not a component, or never loaded */
	if (cap->package_path == NULL) {
		if ((cap->package_path = strndup(st.name, pkg_len)) == NULL)
			return cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
	} else if (strlen(cap->package_path) != pkg_len ||
	    memcmp(cap->package_path, st.name, pkg_len) != 0) {
		return cpk_error_set(err, CPK_ERR_UNSUPPORTED,
		    "CAP '%s' holds two packages ('%s' and '%.*s'): cpk loads one package per CAP file",
		    cap->name, cap->package_path, (int)pkg_len, st.name);
	}
	if (cap->present[tag])
		return cpk_error_set(err, CPK_ERR_PARSE, "CAP '%s': %s is stored twice%s%s%s",
		    cap->name, st.name, strcmp(cap->ename[tag], st.name) != 0 ? " (also as " : "",
		    strcmp(cap->ename[tag], st.name) != 0 ? cap->ename[tag] : "",
		    strcmp(cap->ename[tag], st.name) != 0 ? ")" : "");
	if (st.size > CAP_COMPONENT_MAX)
		return cpk_error_set(err, CPK_ERR_RANGE,
		    "CAP '%s': %s is %llu bytes, more than the limit of %zu for one component",
		    cap->name, st.name, (unsigned long long)st.size, CAP_COMPONENT_MAX);
	/* StaticResources counts only in an extended CAP: cap_build_lfdb checks the total. */
	if (tag != CPK_CAP_STATIC_RESOURCES && *total + st.size > CAP_LFDB_MAX)
		return cpk_error_set(err, CPK_ERR_RANGE,
		    "CAP '%s': the components add up to more than the limit of %zu bytes",
		    cap->name, CAP_LFDB_MAX);
	if (tag != CPK_CAP_STATIC_RESOURCES)
		*total += (size_t)st.size;
	if ((ret = read_entry(cap->name, za, idx, st.name, st.size, &cap->comp[tag], err)) != CPK_OK)
		return ret;
	if ((cap->ename[tag] = strdup(st.name)) == NULL)
		return cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
	cap->present[tag] = true;
	return CPK_OK;
}

static cpk_status
read_zip(struct cap_file *cap, zip_t *za, struct cpk_error *err)
{
	zip_int64_t n = zip_get_num_entries(za, 0);
	size_t total = 0, i;
	cpk_status ret;

	if (n < 0 || n > CAP_MAX_ENTRIES)
		return cpk_error_set(err, CPK_ERR_RANGE, "CAP '%s': %lld zip entries (at most %d)",
		    cap->name, (long long)n, CAP_MAX_ENTRIES);
	for (i = 0; i < (size_t)n; i++)
		if ((ret = take_entry(cap, za, (zip_uint64_t)i, &total, err)) != CPK_OK)
			return ret;
	if (cap->package_path == NULL)
		return cpk_error_set(err, CPK_ERR_PARSE,
		    "CAP '%s' holds no Java Card components (no <package>/javacard/*.cap entries)",
		    cap->name);
	for (i = 0; i < sizeof(required_tags); i++)
		if (!cap->present[required_tags[i]])
			return cpk_error_set(err, CPK_ERR_PARSE,
			    "CAP '%s' has no %s component (%s%sjavacard/%s.cap)", cap->name,
			    cpk_cap_component_name(required_tags[i]), cap->package_path,
			    cap->package_path[0] != '\0' ? "/" : "",
			    cpk_cap_component_name(required_tags[i]));
	return check_components(cap, err);
}

cpk_status
cap_open_buffer(const char *name, const uint8_t *p, size_t n, struct cap_file **out,
    struct cpk_error *err)
{
	struct cap_file *cap = NULL;
	struct cpk_buf lfdb = CPK_BUF_INIT;
	zip_source_t *src = NULL;
	zip_error_t zerr;
	zip_t *za = NULL;
	cpk_status ret;

	*out = NULL;
	cpk_error_clear(err);
	zip_error_init(&zerr);
	if ((cap = calloc(1, sizeof(*cap))) == NULL || (cap->name = strdup(name)) == NULL) {
		ret = cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (n > CAP_FILE_MAX) {
		ret = cpk_error_set(err, CPK_ERR_RANGE, "CAP '%s' is %zu bytes (at most %zu)", name, n,
		    CAP_FILE_MAX);
		goto out;
	}
	if ((src = zip_source_buffer_create(p, n, 0, &zerr)) == NULL ||
	    (za = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &zerr)) == NULL) {
		if (zip_error_code_zip(&zerr) == ZIP_ER_EXISTS)
			ret = cpk_error_set(err, CPK_ERR_PARSE,
			    "CAP '%s' has two zip entries of the same name (a component stored twice?)",
			    name);
		else
			ret = cpk_error_set(err, CPK_ERR_PARSE, "CAP '%s' is not a readable zip file: %s",
			    name, zip_error_strerror(&zerr));
		goto out;
	}
	src = NULL;		/* owned by za now */
	if ((ret = read_zip(cap, za, err)) != CPK_OK)
		goto out;
	if ((ret = cap_build_lfdb(cap, cap->present[CPK_CAP_DESCRIPTOR], &lfdb, &cap->info,
	    err)) != CPK_OK)
		goto out;
	*out = cap;
	cap = NULL;
	ret = CPK_OK;
out:
	if (za != NULL)
		zip_discard(za);
	if (src != NULL)
		zip_source_free(src);
	zip_error_fini(&zerr);
	cpk_buf_free(&lfdb);
	cap_free(&cap);
	return ret;
}

cpk_status
cap_open_file(const char *path, struct cap_file **out, struct cpk_error *err)
{
	struct cpk_buf b = CPK_BUF_INIT;
	cpk_status ret;

	*out = NULL;
	cpk_error_clear(err);
	if ((ret = ydoc_read_file(path, CAP_FILE_MAX, YDOC_FILE_PLAIN, &b, err)) == CPK_OK) {
		ret = cap_open_buffer(path, b.data, b.len, out, err);
		if (ret != CPK_OK && err != NULL)
			err->file[0] = '\0';
	}
	cpk_buf_free(&b);
	return ret;
}

size_t
cap_lfdb_size(const struct cap_file *cap, bool with_descriptor)
{
	size_t i, n = 0;

	for (i = 0; i < sizeof(lfdb_order); i++) {
		uint8_t tag = lfdb_order[i];

		if (cap->present[tag] && (tag != CPK_CAP_DESCRIPTOR || with_descriptor))
			n += cap->comp[tag].len;
	}
	return n;
}

cpk_status
cap_append_lfdb(const struct cap_file *cap, bool with_descriptor, struct cpk_buf *out,
    struct cpk_lfdb_info *info, struct cpk_error *err)
{
	struct cpk_lfdb_info *tmp = NULL;
	size_t start = out->len, i;
	cpk_status ret;

	if (with_descriptor && !cap->present[CPK_CAP_DESCRIPTOR]) {
		ret = cpk_error_set(err, CPK_ERR_NOT_FOUND,
		    "CAP '%s' has no Descriptor component to include in the load file (use "
		    "'descriptor: exclude')", cap->name);
		goto out;
	}
	/* Written once into storage of its size (the load file may be large). */
	if (cap_lfdb_size(cap, with_descriptor) <= CAP_LFDB_MAX &&
	    (ret = cpk_buf_reserve(out, cap_lfdb_size(cap, with_descriptor), err)) != CPK_OK)
		goto out;
	for (i = 0; i < sizeof(lfdb_order); i++) {
		uint8_t tag = lfdb_order[i];

		if (!cap->present[tag] || (tag == CPK_CAP_DESCRIPTOR && !with_descriptor))
			continue;
		if ((ret = cpk_buf_append(out, cap->comp[tag].data, cap->comp[tag].len, err)) != CPK_OK)
			goto out;
	}
	if (out->len - start > CAP_LFDB_MAX) {
		ret = cpk_error_set(err, CPK_ERR_RANGE,
		    "CAP '%s': the load file data block is %zu bytes (at most %zu)", cap->name,
		    out->len - start, CAP_LFDB_MAX);
		goto out;
	}
	if (info == NULL && (info = tmp = malloc(sizeof(*tmp))) == NULL) {
		ret = cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((ret = cpk_lfdb_parse(out->data + start, out->len - start, info, err)) != CPK_OK) {
		cpk_error_prefix(err, "CAP '%s'", cap->name);
		goto out;
	}
	ret = CPK_OK;
out:
	free(tmp);
	if (ret != CPK_OK && out->len > start)
		cpk_buf_truncate(out, out->len - start);
	return ret;
}

cpk_status
cap_build_lfdb(const struct cap_file *cap, bool with_descriptor, struct cpk_buf *out,
    struct cpk_lfdb_info *info, struct cpk_error *err)
{
	cpk_buf_reset(out);
	return cap_append_lfdb(cap, with_descriptor, out, info, err);
}

void
cap_drop_components(struct cap_file *cap)
{
	size_t i;

	for (i = 0; i <= CPK_CAP_TAG_MAX; i++)
		cpk_buf_free(&cap->comp[i]);
}

cpk_status
cap_hash(enum cap_hash alg, const uint8_t *p, size_t n, uint8_t out[CAP_HASH_MAX],
    size_t *outlen, struct cpk_error *err)
{
	const EVP_MD *md;
	unsigned int len = 0;

	*outlen = 0;
	switch (alg) {
	case CAP_HASH_NONE:
		return CPK_OK;
	case CAP_HASH_SHA1:
		md = EVP_sha1();
		break;
	case CAP_HASH_SHA256:
		md = EVP_sha256();
		break;
	default:
		return cpk_error_set(err, CPK_ERR_ARG, "hash algorithm %d", (int)alg);
	}
	if (EVP_Digest(p, n, out, &len, md, NULL) != 1 || len > CAP_HASH_MAX)
		return cpk_error_set(err, CPK_ERR_CRYPTO, "load file data block hash failed");
	*outlen = len;
	return CPK_OK;
}

bool
cap_has_applet(const struct cap_file *cap, const uint8_t *aid, size_t len)
{
	return cpk_lfdb_has_applet(&cap->info, aid, len);
}
