/* SPDX-License-Identifier: BSD-2-Clause */
/* cpk: strict parser of a Load File Data Block (concatenated CAP components). */
#include "cpk_lfdb.h"

#include <string.h>

#include "cpk_bytes.h"

#define CAP_MAGIC 0xDECAFFEDu
/* Header info bytes before the package AID: magic(4) minor major flags
 * package-minor package-major AID-length. */
#define HEADER_FIXED 10
/* Directory info starts with u2 component_sizes[11 or 12]; tags 1..11 are
 * at the same place in every CAP format. */
#define DIRECTORY_CHECKED 11

static const char *const component_names[CPK_CAP_TAG_MAX + 1] = {
	[CPK_CAP_HEADER] = "Header",
	[CPK_CAP_DIRECTORY] = "Directory",
	[CPK_CAP_APPLET] = "Applet",
	[CPK_CAP_IMPORT] = "Import",
	[CPK_CAP_CONSTANT_POOL] = "ConstantPool",
	[CPK_CAP_CLASS] = "Class",
	[CPK_CAP_METHOD] = "Method",
	[CPK_CAP_STATIC_FIELD] = "StaticField",
	[CPK_CAP_REF_LOCATION] = "RefLocation",
	[CPK_CAP_EXPORT] = "Export",
	[CPK_CAP_DESCRIPTOR] = "Descriptor",
	[CPK_CAP_DEBUG] = "Debug",
};

/* The reference load order (JCVM 6.2); Debug is never loaded. */
static const uint8_t load_order[] = {
	CPK_CAP_HEADER, CPK_CAP_DIRECTORY, CPK_CAP_IMPORT, CPK_CAP_APPLET, CPK_CAP_CLASS,
	CPK_CAP_METHOD, CPK_CAP_STATIC_FIELD, CPK_CAP_EXPORT, CPK_CAP_CONSTANT_POOL,
	CPK_CAP_REF_LOCATION, CPK_CAP_DESCRIPTOR,
};

/* Every CAP file has these; Applet and Export are optional, Descriptor is
 * optional in what is loaded. */
static const uint8_t required[] = {
	CPK_CAP_HEADER, CPK_CAP_DIRECTORY, CPK_CAP_IMPORT, CPK_CAP_CLASS, CPK_CAP_METHOD,
	CPK_CAP_STATIC_FIELD, CPK_CAP_CONSTANT_POOL, CPK_CAP_REF_LOCATION,
};

const char *
cpk_cap_component_name(unsigned tag)
{
	if (tag == 0 || tag > CPK_CAP_TAG_MAX)
		return "unknown";
	return component_names[tag];
}

/* Position of a loadable tag in the load order; -1 for others. */
static int
order_index(unsigned tag)
{
	size_t i;

	for (i = 0; i < sizeof(load_order); i++)
		if (load_order[i] == tag)
			return (int)i;
	return -1;
}

/* Walk the components: tags, sizes, duplicates, order, truncation. */
static cpk_status
walk_components(const uint8_t *p, size_t n, struct cpk_lfdb_info *out, struct cpk_error *err)
{
	struct cpk_cursor c;
	const uint8_t *info;
	uint8_t tag;
	uint16_t size;
	size_t off, i;
	int pos, last = -1;
	unsigned last_tag = 0;
	cpk_status st = CPK_ERR_PARSE;

	cpk_cursor_init(&c, p, n);
	while (cpk_cursor_left(&c) > 0) {
		off = n - cpk_cursor_left(&c);
		if (cpk_cursor_left(&c) < 3) {
			st = cpk_error_set(err, CPK_ERR_PARSE,
			    "truncated component at offset %zu: %zu of the 3 bytes of tag and size",
			    off, cpk_cursor_left(&c));
			goto out;
		}
		(void)cpk_cursor_u8(&c, &tag);
		(void)cpk_cursor_u16be(&c, &size);
		if (tag == CPK_CAP_DEBUG) {
			st = cpk_error_set(err, CPK_ERR_PARSE,
			    "Debug component (tag 12) at offset %zu: the Debug component is never loaded",
			    off);
			goto out;
		}
		if (tag == 0 || tag > CPK_CAP_TAG_MAX) {
			st = cpk_error_set(err, CPK_ERR_PARSE,
			    "unknown component tag %u at offset %zu (expected 1-11)", tag, off);
			goto out;
		}
		if (out->comp[tag].present) {
			st = cpk_error_set(err, CPK_ERR_PARSE,
			    "duplicate %s component (tag %u) at offset %zu; the first is at offset %zu",
			    cpk_cap_component_name(tag), tag, off, out->comp[tag].offset);
			goto out;
		}
		pos = order_index(tag);
		if (pos < last) {
			st = cpk_error_set(err, CPK_ERR_PARSE,
			    "%s component (tag %u) at offset %zu is out of load order: it must come "
			    "before the %s component (tag %u)", cpk_cap_component_name(tag), tag, off,
			    cpk_cap_component_name(last_tag), last_tag);
			goto out;
		}
		if (!cpk_cursor_bytes(&c, size, &info)) {
			st = cpk_error_set(err, CPK_ERR_PARSE,
			    "truncated %s component (tag %u) at offset %zu: its size says %u bytes "
			    "but %zu remain", cpk_cap_component_name(tag), tag, off, (unsigned)size,
			    cpk_cursor_left(&c));
			goto out;
		}
		out->comp[tag].present = true;
		out->comp[tag].offset = off;
		out->comp[tag].size = size;
		last = pos;
		last_tag = tag;
	}
	for (i = 0; i < sizeof(required); i++) {
		if (!out->comp[required[i]].present) {
			st = cpk_error_set(err, CPK_ERR_PARSE, "missing %s component (tag %u)",
			    cpk_cap_component_name(required[i]), required[i]);
			goto out;
		}
	}
	out->total = n;
	st = CPK_OK;
out:
	return st;
}

static const uint8_t *
component_info(const uint8_t *p, const struct cpk_lfdb_info *out, unsigned tag)
{
	return p + out->comp[tag].offset + 3;
}

static cpk_status
parse_header(const uint8_t *p, struct cpk_lfdb_info *out, struct cpk_error *err)
{
	const uint8_t *h = component_info(p, out, CPK_CAP_HEADER);
	size_t size = out->comp[CPK_CAP_HEADER].size, rest;
	uint32_t magic;
	cpk_status st = CPK_ERR_PARSE;

	if (size < HEADER_FIXED) {
		st = cpk_error_set(err, CPK_ERR_PARSE,
		    "Header component of %zu bytes is too short (at least %d before the package AID)",
		    size, HEADER_FIXED);
		goto out;
	}
	magic = ((uint32_t)h[0] << 24) | ((uint32_t)h[1] << 16) | ((uint32_t)h[2] << 8) | h[3];
	if (magic != CAP_MAGIC) {
		st = cpk_error_set(err, CPK_ERR_PARSE,
		    "Header component: magic %08X, expected DECAFFED", (unsigned)magic);
		goto out;
	}
	out->cap_minor = h[4];
	out->cap_major = h[5];
	out->flags = h[6];
	out->pkg_minor = h[7];
	out->pkg_major = h[8];
	if (out->cap_major != 2 || out->cap_minor < 1 || out->cap_minor > 3) {
		st = cpk_error_set(err, CPK_ERR_UNSUPPORTED,
		    "CAP format %u.%u is not supported (expected 2.1, 2.2 or 2.3)",
		    out->cap_major, out->cap_minor);
		goto out;
	}
	if (out->flags & CPK_CAP_ACC_EXTENDED) {
		st = cpk_error_set(err, CPK_ERR_UNSUPPORTED,
		    "extended-format CAP (Header flag 08) is not supported; "
		    "convert the package to the compact format");
		goto out;
	}
	if (out->flags & ~(CPK_CAP_ACC_INT | CPK_CAP_ACC_EXPORT | CPK_CAP_ACC_APPLET)) {
		st = cpk_error_set(err, CPK_ERR_PARSE,
		    "Header component: flags %02X has unknown bits %02X", out->flags,
		    out->flags & ~(CPK_CAP_ACC_INT | CPK_CAP_ACC_EXPORT | CPK_CAP_ACC_APPLET) & 0xFF);
		goto out;
	}
	out->pkg_aid_len = h[9];
	if (out->pkg_aid_len < CPK_AID_MIN || out->pkg_aid_len > CPK_AID_MAX) {
		st = cpk_error_set(err, CPK_ERR_PARSE,
		    "Header component: package AID length %zu (expected %d-%d)", out->pkg_aid_len,
		    CPK_AID_MIN, CPK_AID_MAX);
		goto out;
	}
	if (size < HEADER_FIXED + out->pkg_aid_len) {
		st = cpk_error_set(err, CPK_ERR_PARSE,
		    "Header component of %zu bytes ends inside the %zu-byte package AID", size,
		    out->pkg_aid_len);
		goto out;
	}
	memcpy(out->pkg_aid, h + HEADER_FIXED, out->pkg_aid_len);
	/* CAP 2.2 and later may end with package_name_info (u1 length, name). */
	rest = size - HEADER_FIXED - out->pkg_aid_len;
	if (rest > 0 && (out->cap_minor < 2 || rest != 1u + h[HEADER_FIXED + out->pkg_aid_len])) {
		st = cpk_error_set(err, CPK_ERR_PARSE,
		    "Header component: %zu unexpected bytes after the package AID", rest);
		goto out;
	}
	st = CPK_OK;
out:
	return st;
}

static cpk_status
check_directory(const uint8_t *p, struct cpk_lfdb_info *out, struct cpk_error *err)
{
	const uint8_t *d = component_info(p, out, CPK_CAP_DIRECTORY);
	size_t size = out->comp[CPK_CAP_DIRECTORY].size, listed, nsizes;
	unsigned tag;
	cpk_status st = CPK_ERR_PARSE;

	if (size < 2 * DIRECTORY_CHECKED) {
		st = cpk_error_set(err, CPK_ERR_PARSE,
		    "Directory component of %zu bytes is too short for its component sizes", size);
		goto out;
	}
	/* component_sizes has 11 entries in CAP 2.1, 12 (Debug added) from 2.2 on. */
	nsizes = out->cap_minor == 1 ? 11 : 12;
	if (size < 2 * nsizes + 6) {
		st = cpk_error_set(err, CPK_ERR_PARSE,
		    "Directory component of %zu bytes ends before its static field sizes "
		    "(CAP %u.%u lists %zu component sizes)", size, out->cap_major, out->cap_minor,
		    nsizes);
		goto out;
	}
	out->static_image = ((size_t)d[2 * nsizes] << 8) | d[2 * nsizes + 1];
	out->static_arrays = ((size_t)d[2 * nsizes + 4] << 8) | d[2 * nsizes + 5];
	for (tag = 1; tag <= DIRECTORY_CHECKED; tag++) {
		if (!out->comp[tag].present)
			continue;
		listed = ((size_t)d[2 * (tag - 1)] << 8) | d[2 * (tag - 1) + 1];
		if (listed != out->comp[tag].size) {
			st = cpk_error_set(err, CPK_ERR_PARSE,
			    "Directory component lists %zu bytes for the %s component, which has %zu",
			    listed, cpk_cap_component_name(tag), out->comp[tag].size);
			goto out;
		}
	}
	st = CPK_OK;
out:
	return st;
}

static cpk_status
parse_applets(const uint8_t *p, struct cpk_lfdb_info *out, struct cpk_error *err)
{
	struct cpk_cursor c;
	struct cpk_lfdb_applet *a;
	uint8_t count, len;
	size_t i, j;
	cpk_status st = CPK_ERR_PARSE;

	cpk_cursor_init(&c, component_info(p, out, CPK_CAP_APPLET), out->comp[CPK_CAP_APPLET].size);
	if (!cpk_cursor_u8(&c, &count) || count == 0) {
		st = cpk_error_set(err, CPK_ERR_PARSE,
		    "Applet component declares no applet (count must be at least 1)");
		goto out;
	}
	for (i = 0; i < count; i++) {
		a = &out->applets[i];
		if (!cpk_cursor_u8(&c, &len)) {
			st = cpk_error_set(err, CPK_ERR_PARSE,
			    "Applet component: truncated at applet %zu of %u", i + 1, count);
			goto out;
		}
		if (len < CPK_AID_MIN || len > CPK_AID_MAX) {
			st = cpk_error_set(err, CPK_ERR_PARSE,
			    "Applet component: applet %zu has an AID of %u bytes (expected %d-%d)",
			    i + 1, len, CPK_AID_MIN, CPK_AID_MAX);
			goto out;
		}
		if (!cpk_cursor_copy(&c, a->aid, len) || !cpk_cursor_u16be(&c, &a->install_method)) {
			st = cpk_error_set(err, CPK_ERR_PARSE,
			    "Applet component: truncated at applet %zu of %u", i + 1, count);
			goto out;
		}
		a->aid_len = len;
		if (memcmp(a->aid, out->pkg_aid, 5) != 0) {
			st = cpk_error_set(err, CPK_ERR_PARSE,
			    "Applet component: applet %zu does not share the package's RID", i + 1);
			goto out;
		}
		for (j = 0; j < i; j++) {
			if (out->applets[j].aid_len == len && memcmp(out->applets[j].aid, a->aid,
			    len) == 0) {
				st = cpk_error_set(err, CPK_ERR_PARSE,
				    "Applet component: applets %zu and %zu have the same AID", j + 1,
				    i + 1);
				goto out;
			}
		}
		out->napplets = i + 1;
	}
	if (cpk_cursor_left(&c) != 0) {
		st = cpk_error_set(err, CPK_ERR_PARSE,
		    "Applet component: %zu bytes after its %u applets", cpk_cursor_left(&c), count);
		goto out;
	}
	st = CPK_OK;
out:
	return st;
}

static cpk_status
check_flags(const struct cpk_lfdb_info *out, struct cpk_error *err)
{
	bool applet = out->comp[CPK_CAP_APPLET].present;
	bool export = out->comp[CPK_CAP_EXPORT].present;

	if (((out->flags & CPK_CAP_ACC_APPLET) != 0) != applet)
		return cpk_error_set(err, CPK_ERR_PARSE,
		    "Header flag 04 (applets) is %s but the Applet component is %s",
		    (out->flags & CPK_CAP_ACC_APPLET) ? "set" : "clear",
		    applet ? "present" : "absent");
	if (((out->flags & CPK_CAP_ACC_EXPORT) != 0) != export)
		return cpk_error_set(err, CPK_ERR_PARSE,
		    "Header flag 02 (export) is %s but the Export component is %s",
		    (out->flags & CPK_CAP_ACC_EXPORT) ? "set" : "clear",
		    export ? "present" : "absent");
	return CPK_OK;
}

cpk_status
cpk_lfdb_parse(const uint8_t *p, size_t n, struct cpk_lfdb_info *out, struct cpk_error *err)
{
	cpk_status st = CPK_ERR_ARG;

	memset(out, 0, sizeof(*out));
	if (p == NULL && n > 0) {
		st = cpk_error_set(err, CPK_ERR_ARG, "no input bytes (NULL)");
		goto out;
	}
	if (n == 0) {
		st = cpk_error_set(err, CPK_ERR_PARSE, "empty (no component)");
		goto out;
	}
	if ((st = walk_components(p, n, out, err)) != CPK_OK ||
	    (st = parse_header(p, out, err)) != CPK_OK ||
	    (st = check_directory(p, out, err)) != CPK_OK)
		goto out;
	if (out->comp[CPK_CAP_APPLET].present && (st = parse_applets(p, out, err)) != CPK_OK)
		goto out;
	st = check_flags(out, err);
out:
	if (st != CPK_OK) {
		cpk_error_prefix(err, "load file data block");
		memset(out, 0, sizeof(*out));
	}
	return st;
}

bool
cpk_lfdb_has_applet(const struct cpk_lfdb_info *info, const uint8_t *aid, size_t aid_len)
{
	size_t i;

	for (i = 0; i < info->napplets; i++)
		if (info->applets[i].aid_len == aid_len &&
		    memcmp(info->applets[i].aid, aid, aid_len) == 0)
			return true;
	return false;
}
