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
/* Extended Directory: 13 component sizes, 4 of them u4 (Method, RefLocation,
 * Descriptor, Debug), then the u4 StaticResources size. */
#define DIRECTORY_EXT_SIZES 36
/* ... then static_field_size (6), import_count, applet_count, the Method
 * block count. */
#define DIRECTORY_EXT_BLOCKS (DIRECTORY_EXT_SIZES + 6 + 2)
#define METHOD_BLOCK_MAX 65535u

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
	[CPK_CAP_STATIC_RESOURCES] = "StaticResources",
};

/* The reference load order (JCVM 6.2, 3.1: 6.3); Debug is never loaded. */
static const uint8_t load_order[] = {
	CPK_CAP_HEADER, CPK_CAP_DIRECTORY, CPK_CAP_IMPORT, CPK_CAP_APPLET, CPK_CAP_CLASS,
	CPK_CAP_METHOD, CPK_CAP_STATIC_FIELD, CPK_CAP_EXPORT, CPK_CAP_CONSTANT_POOL,
	CPK_CAP_REF_LOCATION, CPK_CAP_STATIC_RESOURCES, CPK_CAP_DESCRIPTOR,
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

/*
 * Is the block in the extended format? Its first component is the Header,
 * whose size is always u2 and whose flags (info offset 6) tell, in CAP
 * format 2.3 (offsets 4, 5); the flag in another format is refused by
 * parse_header, after a walk in the compact format.
 */
static bool
peek_extended(const uint8_t *p, size_t n)
{
	return n > 9 && p[0] == CPK_CAP_HEADER && (((size_t)p[1] << 8) | p[2]) >= 7 &&
	    p[7] == 3 && p[8] == 2 && (p[9] & CPK_CAP_ACC_EXTENDED) != 0;
}

/*
 * Components whose size is a u4 in the extended format (JCVM 3.1 6.2; Debug
 * too, but it is never loaded). StaticResources is loaded from extended CAP
 * files only: a compact block refuses tag 13 as before CAP 2.3.
 */
static bool
u4_sized(bool extended, unsigned tag)
{
	return extended && (tag == CPK_CAP_METHOD || tag == CPK_CAP_REF_LOCATION ||
	    tag == CPK_CAP_DESCRIPTOR || tag == CPK_CAP_STATIC_RESOURCES);
}

/* Walk the components: tags, sizes, duplicates, order, truncation. */
static cpk_status
walk_components(const uint8_t *p, size_t n, struct cpk_lfdb_info *out, struct cpk_error *err)
{
	struct cpk_cursor c;
	const uint8_t *info;
	uint8_t tag;
	uint16_t size16;
	uint32_t size;
	size_t off, i, hdr;
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
		hdr = 3;
		if (u4_sized(out->extended, tag)) {
			hdr = 5;
			if (!cpk_cursor_u32be(&c, &size)) {
				st = cpk_error_set(err, CPK_ERR_PARSE,
				    "truncated component at offset %zu: %zu of the 5 bytes of tag "
				    "and size", off, cpk_cursor_left(&c) + 1);
				goto out;
			}
		} else {
			(void)cpk_cursor_u16be(&c, &size16);
			size = size16;
		}
		if (tag == CPK_CAP_DEBUG) {
			st = cpk_error_set(err, CPK_ERR_PARSE,
			    "Debug component (tag 12) at offset %zu: the Debug component is never loaded",
			    off);
			goto out;
		}
		if (tag == 0 || tag > CPK_CAP_TAG_MAX ||
		    (tag == CPK_CAP_STATIC_RESOURCES && !out->extended)) {
			st = cpk_error_set(err, CPK_ERR_PARSE,
			    "unknown component tag %u at offset %zu (expected 1-11%s)", tag, off,
			    out->extended ? " or 13" : "");
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
		out->comp[tag].hdr = hdr;
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
	return p + out->comp[tag].offset + out->comp[tag].hdr;
}

/*
 * The extended Header after the CAP AID: u1 package count, then each
 * package's package_info (minor, major, AID length, AID), then each
 * package's package_name_info (u1 length, name).
 */
static cpk_status
parse_header_packages(const uint8_t *q, size_t n, struct cpk_lfdb_info *out,
    struct cpk_error *err)
{
	struct cpk_cursor c;
	uint8_t count, len;
	size_t i;

	cpk_cursor_init(&c, q, n);
	if (!cpk_cursor_u8(&c, &count))
		return cpk_error_set(err, CPK_ERR_PARSE,
		    "extended Header component ends before its package count");
	if (count == 0)
		return cpk_error_set(err, CPK_ERR_PARSE,
		    "extended Header component lists no package");
	for (i = 0; i < count; i++) {
		if (!cpk_cursor_skip(&c, 2) || !cpk_cursor_u8(&c, &len))
			return cpk_error_set(err, CPK_ERR_PARSE,
			    "extended Header component: package %zu of %u is truncated", i + 1,
			    count);
		if (len < CPK_AID_MIN || len > CPK_AID_MAX)
			return cpk_error_set(err, CPK_ERR_PARSE,
			    "extended Header component: package %zu has an AID of %u bytes "
			    "(expected %d-%d)", i + 1, len, CPK_AID_MIN, CPK_AID_MAX);
		if (!cpk_cursor_skip(&c, len))
			return cpk_error_set(err, CPK_ERR_PARSE,
			    "extended Header component: package %zu of %u is truncated", i + 1,
			    count);
	}
	for (i = 0; i < count; i++)
		if (!cpk_cursor_u8(&c, &len) || !cpk_cursor_skip(&c, len))
			return cpk_error_set(err, CPK_ERR_PARSE,
			    "extended Header component: the name of package %zu of %u is truncated",
			    i + 1, count);
	if (cpk_cursor_left(&c) != 0)
		return cpk_error_set(err, CPK_ERR_PARSE,
		    "extended Header component: %zu unexpected bytes after the package names",
		    cpk_cursor_left(&c));
	out->npackages = count;
	return CPK_OK;
}

static cpk_status
parse_header(const uint8_t *p, struct cpk_lfdb_info *out, struct cpk_error *err)
{
	const uint8_t *h = component_info(p, out, CPK_CAP_HEADER);
	size_t size = out->comp[CPK_CAP_HEADER].size, rest;
	const char *what = out->extended ? "CAP" : "package";
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
	if ((out->flags & CPK_CAP_ACC_EXTENDED) && out->cap_minor != 3) {
		st = cpk_error_set(err, CPK_ERR_UNSUPPORTED,
		    "extended-format CAP (Header flag 08) in CAP format %u.%u: the extended "
		    "format is CAP format 2.3", out->cap_major, out->cap_minor);
		goto out;
	}
	if (out->flags & ~(CPK_CAP_ACC_INT | CPK_CAP_ACC_EXPORT | CPK_CAP_ACC_APPLET |
	    CPK_CAP_ACC_EXTENDED)) {
		st = cpk_error_set(err, CPK_ERR_PARSE,
		    "Header component: flags %02X has unknown bits %02X", out->flags,
		    out->flags & ~(CPK_CAP_ACC_INT | CPK_CAP_ACC_EXPORT | CPK_CAP_ACC_APPLET |
		    CPK_CAP_ACC_EXTENDED) & 0xFF);
		goto out;
	}
	out->pkg_aid_len = h[9];
	if (out->pkg_aid_len < CPK_AID_MIN || out->pkg_aid_len > CPK_AID_MAX) {
		st = cpk_error_set(err, CPK_ERR_PARSE,
		    "Header component: %s AID length %zu (expected %d-%d)", what,
		    out->pkg_aid_len, CPK_AID_MIN, CPK_AID_MAX);
		goto out;
	}
	if (size < HEADER_FIXED + out->pkg_aid_len) {
		st = cpk_error_set(err, CPK_ERR_PARSE,
		    "Header component of %zu bytes ends inside the %zu-byte %s AID", size,
		    out->pkg_aid_len, what);
		goto out;
	}
	memcpy(out->pkg_aid, h + HEADER_FIXED, out->pkg_aid_len);
	if (out->extended) {
		st = parse_header_packages(h + HEADER_FIXED + out->pkg_aid_len,
		    size - HEADER_FIXED - out->pkg_aid_len, out, err);
		goto out;
	}
	out->npackages = 1;
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

/*
 * The extended Method component: u1 block count, u4 block offsets, blocks
 * of at most 65535 bytes each. An offset counts from the first byte of the
 * info item (the block count), as the other components' offsets into a
 * component count from its info item (JCVM 3.1 6.10): block 0 starts right
 * after the offset table, the offsets rise within the component, the gap
 * between two of them is a block's size and the last block runs to the end.
 */
static cpk_status
parse_method_blocks(const uint8_t *p, struct cpk_lfdb_info *out, struct cpk_error *err)
{
	struct cpk_cursor c;
	size_t size = out->comp[CPK_CAP_METHOD].size, table_end, i;
	uint32_t off, prev = 0;
	uint8_t count;

	cpk_cursor_init(&c, component_info(p, out, CPK_CAP_METHOD), size);
	if (!cpk_cursor_u8(&c, &count))
		return cpk_error_set(err, CPK_ERR_PARSE,
		    "extended Method component is empty (no block count)");
	if (count > CPK_CAP_METHOD_BLOCKS_MAX)
		return cpk_error_set(err, CPK_ERR_PARSE,
		    "extended Method component: %u blocks (at most %d)", count,
		    CPK_CAP_METHOD_BLOCKS_MAX);
	if (count == 0 && size > 1)
		return cpk_error_set(err, CPK_ERR_PARSE,
		    "extended Method component: no block, but %zu bytes after the count", size - 1);
	table_end = 1 + 4u * (size_t)count;
	if (cpk_cursor_left(&c) < 4u * count)
		return cpk_error_set(err, CPK_ERR_PARSE,
		    "extended Method component of %zu bytes ends inside its %u block offsets",
		    size, count);
	for (i = 0; i < count; i++) {
		(void)cpk_cursor_u32be(&c, &off);
		if (i == 0 && off < table_end)
			return cpk_error_set(err, CPK_ERR_PARSE,
			    "extended Method component: block 0 starts at offset %u, inside its block "
			    "offset table (blocks start at offset %zu)", (unsigned)off, table_end);
		if (i == 0 && off > table_end && off < size)
			return cpk_error_set(err, CPK_ERR_PARSE,
			    "extended Method component: %zu bytes between its block offset table and "
			    "block 0 (offset %u) belong to no block", off - table_end, (unsigned)off);
		if (off >= size)
			return cpk_error_set(err, CPK_ERR_PARSE,
			    "extended Method component: block %zu starts at offset %u, beyond its "
			    "%zu bytes", i, (unsigned)off, size);
		if (i > 0 && off <= prev)
			return cpk_error_set(err, CPK_ERR_PARSE,
			    "extended Method component: block %zu starts at offset %u, not after "
			    "block %zu (offset %u)", i, (unsigned)off, i - 1, (unsigned)prev);
		if (i > 0 && off - prev > METHOD_BLOCK_MAX)
			return cpk_error_set(err, CPK_ERR_PARSE,
			    "extended Method component: block %zu holds %u bytes (at most %u)",
			    i - 1, (unsigned)(off - prev), METHOD_BLOCK_MAX);
		if (i > 0)
			out->method_block_size[i - 1] = off - prev;
		prev = off;
	}
	/* The last block runs to the end of the component. */
	if (count > 0 && size - prev > METHOD_BLOCK_MAX)
		return cpk_error_set(err, CPK_ERR_PARSE,
		    "extended Method component: block %u holds %zu bytes (at most %u)", count - 1,
		    size - prev, METHOD_BLOCK_MAX);
	if (count > 0)
		out->method_block_size[count - 1] = size - prev;
	out->method_blocks = count;
	return CPK_OK;
}

/* A component size listed in the Directory, u2 or u4 at d[*pos]. */
static size_t
directory_size(const uint8_t *d, size_t *pos, bool wide)
{
	size_t v;

	if (wide) {
		v = ((size_t)d[*pos] << 24) | ((size_t)d[*pos + 1] << 16) |
		    ((size_t)d[*pos + 2] << 8) | d[*pos + 3];
		*pos += 4;
	} else {
		v = ((size_t)d[*pos] << 8) | d[*pos + 1];
		*pos += 2;
	}
	return v;
}

/*
 * The extended Directory (JCVM 3.1 6.5): component sizes of tags 1-12 (u4
 * for Method, RefLocation, Descriptor and Debug), the u4 StaticResources
 * size, static_field_size, import_count, applet_count, then the count of
 * Method blocks.
 */
static cpk_status
check_directory_extended(const uint8_t *p, struct cpk_lfdb_info *out, struct cpk_error *err)
{
	const uint8_t *d = component_info(p, out, CPK_CAP_DIRECTORY);
	size_t size = out->comp[CPK_CAP_DIRECTORY].size, listed, pos = 0;
	unsigned tag;

	if (size < DIRECTORY_EXT_BLOCKS + 1)
		return cpk_error_set(err, CPK_ERR_PARSE,
		    "extended Directory component of %zu bytes ends before its Method block count "
		    "(%d bytes of component sizes, static field sizes and counts come first)", size,
		    DIRECTORY_EXT_BLOCKS);
	for (tag = 1; tag <= CPK_CAP_TAG_MAX; tag++) {
		listed = directory_size(d, &pos, tag == CPK_CAP_DEBUG || u4_sized(true, tag));
		if (out->comp[tag].present && listed != out->comp[tag].size)
			return cpk_error_set(err, CPK_ERR_PARSE,
			    "Directory component lists %zu bytes for the %s component, which has %zu",
			    listed, cpk_cap_component_name(tag), out->comp[tag].size);
	}
	out->static_image = ((size_t)d[pos] << 8) | d[pos + 1];
	out->static_arrays = ((size_t)d[pos + 4] << 8) | d[pos + 5];
	if (d[DIRECTORY_EXT_BLOCKS] != out->method_blocks)
		return cpk_error_set(err, CPK_ERR_PARSE,
		    "Directory component counts %u Method blocks, the Method component has %zu",
		    d[DIRECTORY_EXT_BLOCKS], out->method_blocks);
	return CPK_OK;
}

static cpk_status
check_directory(const uint8_t *p, struct cpk_lfdb_info *out, struct cpk_error *err)
{
	const uint8_t *d = component_info(p, out, CPK_CAP_DIRECTORY);
	size_t size = out->comp[CPK_CAP_DIRECTORY].size, listed, nsizes;
	unsigned tag;
	cpk_status st = CPK_ERR_PARSE;

	if (out->extended)
		return check_directory_extended(p, out, err);
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
		if (!cpk_cursor_copy(&c, a->aid, len) ||
		    (out->extended && !cpk_cursor_u8(&c, &a->install_block)) ||
		    !cpk_cursor_u16be(&c, &a->install_method)) {
			st = cpk_error_set(err, CPK_ERR_PARSE,
			    "Applet component: truncated at applet %zu of %u", i + 1, count);
			goto out;
		}
		a->aid_len = len;
		if (out->extended && a->install_block >= out->method_blocks) {
			st = cpk_error_set(err, CPK_ERR_PARSE,
			    "Applet component: applet %zu installs from Method block %u, but the "
			    "Method component has %zu", i + 1, a->install_block, out->method_blocks);
			goto out;
		}
		/* Extended: the applets share one RID (JCVM 3.1 6.6), the CAP AID's or not. */
		/* Extended: the install method offset is into its Method block (6.6). */
		if (out->extended && a->install_method >= out->method_block_size[a->install_block]) {
			st = cpk_error_set(err, CPK_ERR_PARSE,
			    "Applet component: applet %zu installs from offset %u of Method block %u, "
			    "which holds %zu bytes", i + 1, a->install_method, a->install_block,
			    out->method_block_size[a->install_block]);
			goto out;
		}
		if (out->extended && memcmp(a->aid, out->applets[0].aid, 5) != 0) {
			st = cpk_error_set(err, CPK_ERR_PARSE,
			    "Applet component: applet %zu does not share the RID of applet 1", i + 1);
			goto out;
		}
		if (!out->extended && memcmp(a->aid, out->pkg_aid, 5) != 0) {
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
	out->extended = peek_extended(p, n);
	if ((st = walk_components(p, n, out, err)) != CPK_OK ||
	    (st = parse_header(p, out, err)) != CPK_OK ||
	    (out->extended && (st = parse_method_blocks(p, out, err)) != CPK_OK) ||
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
