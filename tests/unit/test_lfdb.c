/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk unit tests for common/cpk_lfdb: valid Load File Data Blocks and every
 * way the parser refuses one, with its message.
 *
 * The blocks are assembled here from hand-written component contents; only
 * the Header, Directory and Applet contents matter to the parser.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpk_bytes.h"
#include "cpk_error.h"
#include "cpk_lfdb.h"
#include "testlib.h"

/* Package D2760000850101 version 1.0, CAP 2.1, flags 04 (applets). */
#define HDR_21 "DECAFFED" "01" "02" "04" "00" "01" "07" "D2760000850101"
/* The same in CAP 2.2 with the package name "pkg". */
#define HDR_22 "DECAFFED" "02" "02" "04" "00" "01" "07" "D2760000850101" "03706B67"
/* One applet D276000085010101, install method at 0012. */
#define APPLET_1 "01" "08" "D276000085010101" "0012"
/* 29 zero bytes: the rest of a 33-byte Directory after two sizes. */
#define Z29 "000000000000000000000000000000" \
    "0000000000000000000000000000"

/* Component contents by tag (hex; NULL = absent; Directory NULL = computed). */
struct pkg {
	const char *info[CPK_CAP_TAG_MAX + 1];
};

static const uint8_t ref_order[] = { 1, 2, 4, 3, 6, 7, 8, 10, 5, 9, 11 };

static void
pkg_default(struct pkg *k)
{
	memset(k, 0, sizeof(*k));
	k->info[CPK_CAP_HEADER] = HDR_21;
	k->info[CPK_CAP_IMPORT] = "0100010" "7A0000000620101";
	k->info[CPK_CAP_APPLET] = APPLET_1;
	k->info[CPK_CAP_CLASS] = "0001020304";
	k->info[CPK_CAP_METHOD] = "000102";
	k->info[CPK_CAP_STATIC_FIELD] = "0000000000000000";
	k->info[CPK_CAP_CONSTANT_POOL] = "0000";
	k->info[CPK_CAP_REF_LOCATION] = "00000000";
}

static size_t
hexlen(const char *h)
{
	return h == NULL ? 0 : strlen(h) / 2;
}

static void
put_component(struct cpk_buf *b, unsigned tag, const uint8_t *info, size_t n)
{
	if (cpk_buf_append_byte(b, (uint8_t)tag, NULL) != CPK_OK ||
	    cpk_buf_append_u16be(b, (uint16_t)n, NULL) != CPK_OK ||
	    cpk_buf_append(b, info, n, NULL) != CPK_OK)
		abort();
}

static void
put_hex_component(struct cpk_buf *b, unsigned tag, const char *hex)
{
	uint8_t tmp[512];
	size_t n = test_unhex(hex, tmp, sizeof(tmp));

	put_component(b, tag, tmp, n);
}

/* Directory contents: component_sizes[12], static field info, three counts. */
static void
put_directory(struct cpk_buf *b, const struct pkg *k)
{
	uint8_t d[24 + 6 + 3];
	unsigned tag;

	memset(d, 0, sizeof(d));
	for (tag = 1; tag <= CPK_CAP_DEBUG; tag++)
		cpk_put_u16be(d + 2 * (tag - 1), (uint16_t)(tag == CPK_CAP_DIRECTORY ?
		    sizeof(d) : hexlen(k->info[tag])));
	/* static_field_size_info where CAP 2.2 has it (after 12 sizes): image_size,
	 * array_init_count, array_init_size */
	cpk_put_u16be(d + 24, 0x0123);
	cpk_put_u16be(d + 26, 0x0001);
	cpk_put_u16be(d + 28, 0x0010);
	put_component(b, CPK_CAP_DIRECTORY, d, sizeof(d));
}

/* Emit the present components in `order`. */
static void
pkg_build(const struct pkg *k, const uint8_t *order, size_t norder, struct cpk_buf *b)
{
	size_t i;

	cpk_buf_reset(b);
	for (i = 0; i < norder; i++) {
		if (order[i] == CPK_CAP_DIRECTORY && k->info[CPK_CAP_DIRECTORY] == NULL)
			put_directory(b, k);
		else if (k->info[order[i]] != NULL)
			put_hex_component(b, order[i], k->info[order[i]]);
	}
}

static cpk_status
parse_pkg(const struct pkg *k, struct cpk_buf *b, struct cpk_lfdb_info *info,
    struct cpk_error *err)
{
	pkg_build(k, ref_order, sizeof(ref_order), b);
	cpk_error_clear(err);
	return cpk_lfdb_parse(b->data, b->len, info, err);
}

static struct cpk_lfdb_info info;

static void
test_valid(void)
{
	struct cpk_buf b = CPK_BUF_INIT;
	struct cpk_error err;
	struct pkg k;
	static const uint8_t a2[] = { 0xD2, 0x76, 0x00, 0x00, 0x85, 0x01, 0x01, 0x02 };

	pkg_default(&k);
	CHECK_OK(parse_pkg(&k, &b, &info, &err));
	CHECK(info.cap_major == 2 && info.cap_minor == 1);
	CHECK(info.pkg_major == 1 && info.pkg_minor == 0);
	CHECK(info.flags == 0x04);
	CHECK_HEX(info.pkg_aid, info.pkg_aid_len, "D2760000850101");
	CHECK(info.napplets == 1);
	CHECK_HEX(info.applets[0].aid, info.applets[0].aid_len, "D276000085010101");
	CHECK(info.applets[0].install_method == 0x0012);
	CHECK(info.comp[CPK_CAP_HEADER].present && info.comp[CPK_CAP_HEADER].offset == 0);
	CHECK(info.comp[CPK_CAP_HEADER].size == hexlen(HDR_21));
	CHECK(info.comp[CPK_CAP_DIRECTORY].offset == 3 + hexlen(HDR_21));
	CHECK(!info.comp[CPK_CAP_DESCRIPTOR].present && !info.comp[CPK_CAP_EXPORT].present);
	CHECK(info.total == b.len);
	CHECK(info.static_image == 0);
	CHECK(cpk_lfdb_has_applet(&info, (const uint8_t *)"\xD2\x76\x00\x00\x85\x01\x01\x01", 8));
	CHECK(!cpk_lfdb_has_applet(&info, a2, sizeof(a2)));
	CHECK(!cpk_lfdb_has_applet(&info, a2, 7));

	/* CAP 2.2 with a package name, two applets, Export and Descriptor. */
	k.info[CPK_CAP_HEADER] = "DECAFFED" "02" "02" "06" "03" "02" "07" "D2760000850101"
	    "03706B67";
	k.info[CPK_CAP_APPLET] = "02" "08D276000085010101" "0012" "08D276000085010102" "0100";
	k.info[CPK_CAP_EXPORT] = "00";
	k.info[CPK_CAP_DESCRIPTOR] = "000000";
	CHECK_OK(parse_pkg(&k, &b, &info, &err));
	CHECK(info.cap_minor == 2 && info.pkg_major == 2 && info.pkg_minor == 3);
	CHECK(info.static_image == 0x0123 && info.static_arrays == 0x0010);
	CHECK(info.napplets == 2);
	CHECK(info.applets[1].install_method == 0x0100);
	CHECK(cpk_lfdb_has_applet(&info, a2, sizeof(a2)));
	CHECK(info.comp[CPK_CAP_DESCRIPTOR].present && info.comp[CPK_CAP_DESCRIPTOR].size == 3);
	CHECK(info.comp[CPK_CAP_EXPORT].present);

	/* A library package: no applets, an Export component, CAP 2.3. */
	pkg_default(&k);
	k.info[CPK_CAP_HEADER] = "DECAFFED" "03" "02" "03" "00" "01" "07" "D2760000850101";
	k.info[CPK_CAP_APPLET] = NULL;
	k.info[CPK_CAP_EXPORT] = "0000";
	CHECK_OK(parse_pkg(&k, &b, &info, &err));
	CHECK(info.napplets == 0 && info.cap_minor == 3 && info.flags == 0x03);

	CHECK_STR(cpk_cap_component_name(CPK_CAP_REF_LOCATION), "RefLocation");
	CHECK_STR(cpk_cap_component_name(0), "unknown");
	CHECK_STR(cpk_cap_component_name(13), "StaticResources");
	CHECK_STR(cpk_cap_component_name(14), "unknown");
	cpk_buf_free(&b);
}

/* Parse raw hex; expect failure with a status and a message fragment. */
static void
check_raw(const char *hex, cpk_status want, const char *needle, int line)
{
	uint8_t tmp[512];
	size_t n = test_unhex(hex, tmp, sizeof(tmp));
	struct cpk_error err;

	cpk_error_clear(&err);
	test_check_status(cpk_lfdb_parse(tmp, n, &info, &err), want, hex, __FILE__, line);
	test_check_msg(&err, needle, __FILE__, line);
	test_check(info.pkg_aid_len == 0 && info.total == 0, "output zeroed", __FILE__, line);
}

static void
check_pkg(const struct pkg *k, cpk_status want, const char *needle, int line)
{
	struct cpk_buf b = CPK_BUF_INIT;
	struct cpk_error err;

	test_check_status(parse_pkg(k, &b, &info, &err), want, "parse_pkg", __FILE__, line);
	test_check_msg(&err, needle, __FILE__, line);
	cpk_buf_free(&b);
}

static void
check_order(const struct pkg *k, const uint8_t *order, size_t norder, const char *needle,
    int line)
{
	struct cpk_buf b = CPK_BUF_INIT;
	struct cpk_error err;

	pkg_build(k, order, norder, &b);
	cpk_error_clear(&err);
	test_check_status(cpk_lfdb_parse(b.data, b.len, &info, &err), CPK_ERR_PARSE,
	    "cpk_lfdb_parse", __FILE__, line);
	test_check_msg(&err, needle, __FILE__, line);
	cpk_buf_free(&b);
}

static void
test_walk_errors(void)
{
	struct cpk_error err;
	struct pkg k;
	static const uint8_t no_method[] = { 1, 2, 4, 3, 6, 8, 5, 9 };
	static const uint8_t swapped[] = { 1, 2, 3, 4, 6, 7, 8, 5, 9 };
	static const uint8_t header_late[] = { 2, 1, 4, 3, 6, 7, 8, 5, 9 };

	cpk_error_clear(&err);
	CHECK_STATUS(cpk_lfdb_parse(NULL, 3, &info, &err), CPK_ERR_ARG);
	CHECK_MSG(&err, "load file data block: no input bytes");
	CHECK_STATUS(cpk_lfdb_parse(NULL, 0, &info, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "load file data block: empty");

	check_raw("01", CPK_ERR_PARSE, "truncated component at offset 0: 1 of the 3 bytes", __LINE__);
	check_raw("0100", CPK_ERR_PARSE, "2 of the 3 bytes of tag and size", __LINE__);
	check_raw("010005DECAFF", CPK_ERR_PARSE,
	    "truncated Header component (tag 1) at offset 0: its size says 5 bytes but 3 remain",
	    __LINE__);
	check_raw("0D0000", CPK_ERR_PARSE, "unknown component tag 13 at offset 0", __LINE__);
	check_raw("000000", CPK_ERR_PARSE, "unknown component tag 0 at offset 0", __LINE__);
	check_raw("FF0000", CPK_ERR_PARSE, "unknown component tag 255", __LINE__);
	check_raw("0100000C0000", CPK_ERR_PARSE,
	    "Debug component (tag 12) at offset 3: the Debug component is never loaded", __LINE__);
	check_raw("010000010000", CPK_ERR_PARSE,
	    "duplicate Header component (tag 1) at offset 3; the first is at offset 0", __LINE__);
	check_raw("010000", CPK_ERR_PARSE, "missing Directory component (tag 2)", __LINE__);

	pkg_default(&k);
	check_order(&k, no_method, sizeof(no_method), "missing Method component (tag 7)", __LINE__);
	check_order(&k, swapped, sizeof(swapped),
	    "Import component (tag 4) at offset", __LINE__);
	check_order(&k, swapped, sizeof(swapped),
	    "is out of load order: it must come before the Applet component (tag 3)", __LINE__);
	check_order(&k, header_late, sizeof(header_late),
	    "Header component (tag 1) at offset 36 is out of load order", __LINE__);
	/* Descriptor before RefLocation. */
	{
		static const uint8_t desc_early[] = { 1, 2, 4, 3, 6, 7, 8, 5, 11, 9 };

		k.info[CPK_CAP_DESCRIPTOR] = "00";
		check_order(&k, desc_early, sizeof(desc_early),
		    "RefLocation component (tag 9)", __LINE__);
	}
	/* Trailing garbage after the last component is an unknown or truncated one. */
	pkg_default(&k);
	{
		struct cpk_buf b = CPK_BUF_INIT;

		pkg_build(&k, ref_order, sizeof(ref_order), &b);
		if (cpk_buf_append_byte(&b, 0x0B, NULL) != CPK_OK)
			abort();
		cpk_error_clear(&err);
		CHECK_STATUS(cpk_lfdb_parse(b.data, b.len, &info, &err), CPK_ERR_PARSE);
		CHECK_MSG(&err, "1 of the 3 bytes of tag and size");
		cpk_buf_free(&b);
	}
}

static void
test_header_errors(void)
{
	struct pkg k;

	pkg_default(&k);
	k.info[CPK_CAP_HEADER] = "DECAFFED0102040001";
	check_pkg(&k, CPK_ERR_PARSE, "load file data block: Header component of 9 bytes is too "
	    "short (at least 10 before the package AID)", __LINE__);
	k.info[CPK_CAP_HEADER] = "CAFEBABE" "01" "02" "04" "00" "01" "07" "D2760000850101";
	check_pkg(&k, CPK_ERR_PARSE, "Header component: magic CAFEBABE, expected DECAFFED",
	    __LINE__);
	k.info[CPK_CAP_HEADER] = "DECAFFED" "00" "03" "04" "00" "01" "07" "D2760000850101";
	check_pkg(&k, CPK_ERR_UNSUPPORTED,
	    "CAP format 3.0 is not supported (expected 2.1, 2.2 or 2.3)", __LINE__);
	k.info[CPK_CAP_HEADER] = "DECAFFED" "00" "02" "04" "00" "01" "07" "D2760000850101";
	check_pkg(&k, CPK_ERR_UNSUPPORTED, "CAP format 2.0 is not supported", __LINE__);
	k.info[CPK_CAP_HEADER] = "DECAFFED" "04" "02" "04" "00" "01" "07" "D2760000850101";
	check_pkg(&k, CPK_ERR_UNSUPPORTED, "CAP format 2.4 is not supported", __LINE__);
	k.info[CPK_CAP_HEADER] = "DECAFFED" "02" "02" "0C" "00" "01" "07" "D2760000850101";
	check_pkg(&k, CPK_ERR_UNSUPPORTED, "extended-format CAP (Header flag 08) in CAP format "
	    "2.2: the extended format is CAP format 2.3", __LINE__);
	k.info[CPK_CAP_HEADER] = "DECAFFED" "01" "02" "14" "00" "01" "07" "D2760000850101";
	check_pkg(&k, CPK_ERR_PARSE, "Header component: flags 14 has unknown bits 10", __LINE__);
	k.info[CPK_CAP_HEADER] = "DECAFFED" "01" "02" "04" "00" "01" "04" "D2760000";
	check_pkg(&k, CPK_ERR_PARSE, "package AID length 4 (expected 5-16)", __LINE__);
	k.info[CPK_CAP_HEADER] = "DECAFFED" "01" "02" "04" "00" "01" "11"
	    "D2760000850101010101010101010101" "01";
	check_pkg(&k, CPK_ERR_PARSE, "package AID length 17 (expected 5-16)", __LINE__);
	k.info[CPK_CAP_HEADER] = "DECAFFED" "01" "02" "04" "00" "01" "08" "D2760000850101";
	check_pkg(&k, CPK_ERR_PARSE,
	    "Header component of 17 bytes ends inside the 8-byte package AID", __LINE__);
	k.info[CPK_CAP_HEADER] = HDR_21 "00";
	check_pkg(&k, CPK_ERR_PARSE, "Header component: 1 unexpected bytes after the package AID",
	    __LINE__);
	k.info[CPK_CAP_HEADER] = HDR_22 "00";
	check_pkg(&k, CPK_ERR_PARSE, "Header component: 5 unexpected bytes after the package AID",
	    __LINE__);
	k.info[CPK_CAP_HEADER] = "DECAFFED" "02" "02" "04" "00" "01" "07" "D2760000850101" "05706B67";
	check_pkg(&k, CPK_ERR_PARSE, "4 unexpected bytes after the package AID", __LINE__);
	k.info[CPK_CAP_HEADER] = HDR_22;
	check_pkg(&k, CPK_OK, "", __LINE__);
}

static void
test_directory_errors(void)
{
	struct pkg k;

	pkg_default(&k);
	k.info[CPK_CAP_DIRECTORY] = "000000000000000000000000000000000000000000";
	check_pkg(&k, CPK_ERR_PARSE,
	    "Directory component of 21 bytes is too short for its component sizes", __LINE__);
	/* CAP 2.1 lists 11 component sizes: the static field sizes need 28 bytes. */
	k.info[CPK_CAP_DIRECTORY] = "0011" "0017" "00000000000000000000000000000000000000";
	check_pkg(&k, CPK_ERR_PARSE, "Directory component of 23 bytes ends before its static "
	    "field sizes (CAP 2.1 lists 11 component sizes)", __LINE__);
	/* CAP 2.2 lists 12: 29 bytes are not enough. */
	k.info[CPK_CAP_HEADER] = HDR_22;
	k.info[CPK_CAP_DIRECTORY] = "0011" "001D" "000000000000000000000000000000000000000000"
	    "00000000";
	check_pkg(&k, CPK_ERR_PARSE, "Directory component of 29 bytes ends before its static "
	    "field sizes (CAP 2.2 lists 12 component sizes)", __LINE__);
	k.info[CPK_CAP_HEADER] = HDR_21;
	/* Header 17 bytes listed as 16. */
	k.info[CPK_CAP_DIRECTORY] = "0010" "0021" Z29;
	check_pkg(&k, CPK_ERR_PARSE,
	    "Directory component lists 16 bytes for the Header component, which has 17", __LINE__);
	k.info[CPK_CAP_DIRECTORY] = "0011" "0022" Z29;
	check_pkg(&k, CPK_ERR_PARSE,
	    "Directory component lists 34 bytes for the Directory component, which has 33",
	    __LINE__);
	k.info[CPK_CAP_DIRECTORY] = "0011" "0021" Z29;
	check_pkg(&k, CPK_ERR_PARSE,
	    "Directory component lists 0 bytes for the Applet component, which has 12", __LINE__);
}

static void
test_applet_errors(void)
{
	struct pkg k;

	pkg_default(&k);
	k.info[CPK_CAP_APPLET] = "00";
	check_pkg(&k, CPK_ERR_PARSE, "Applet component declares no applet", __LINE__);
	k.info[CPK_CAP_APPLET] = "";
	check_pkg(&k, CPK_ERR_PARSE, "Applet component declares no applet", __LINE__);
	k.info[CPK_CAP_APPLET] = "01" "04" "D2760000" "0012";
	check_pkg(&k, CPK_ERR_PARSE, "applet 1 has an AID of 4 bytes (expected 5-16)", __LINE__);
	k.info[CPK_CAP_APPLET] = "01" "11" "D276000085010101010101010101010101" "0012";
	check_pkg(&k, CPK_ERR_PARSE, "applet 1 has an AID of 17 bytes", __LINE__);
	k.info[CPK_CAP_APPLET] = "02" "08" "D276000085010101" "0012";
	check_pkg(&k, CPK_ERR_PARSE, "Applet component: truncated at applet 2 of 2", __LINE__);
	k.info[CPK_CAP_APPLET] = "01" "08" "D276000085010101" "00";
	check_pkg(&k, CPK_ERR_PARSE, "Applet component: truncated at applet 1 of 1", __LINE__);
	k.info[CPK_CAP_APPLET] = "01" "08" "D276000086010101" "0012";
	check_pkg(&k, CPK_ERR_PARSE, "applet 1 does not share the package's RID", __LINE__);
	k.info[CPK_CAP_APPLET] = "02" "08D276000085010101" "0012" "08D276000085010101" "0013";
	check_pkg(&k, CPK_ERR_PARSE, "applets 1 and 2 have the same AID", __LINE__);
	k.info[CPK_CAP_APPLET] = APPLET_1 "00";
	check_pkg(&k, CPK_ERR_PARSE, "Applet component: 1 bytes after its 1 applets", __LINE__);

	/* Flags against components. */
	pkg_default(&k);
	k.info[CPK_CAP_APPLET] = NULL;
	check_pkg(&k, CPK_ERR_PARSE,
	    "Header flag 04 (applets) is set but the Applet component is absent", __LINE__);
	pkg_default(&k);
	k.info[CPK_CAP_HEADER] = "DECAFFED" "01" "02" "00" "00" "01" "07" "D2760000850101";
	check_pkg(&k, CPK_ERR_PARSE,
	    "Header flag 04 (applets) is clear but the Applet component is present", __LINE__);
	pkg_default(&k);
	k.info[CPK_CAP_EXPORT] = "00";
	check_pkg(&k, CPK_ERR_PARSE,
	    "Header flag 02 (export) is clear but the Export component is present", __LINE__);
	k.info[CPK_CAP_EXPORT] = NULL;
	k.info[CPK_CAP_HEADER] = "DECAFFED" "01" "02" "06" "00" "01" "07" "D2760000850101";
	check_pkg(&k, CPK_ERR_PARSE,
	    "Header flag 02 (export) is set but the Export component is absent", __LINE__);
}

/*
 * The extended format (JCVM 3.1): component contents by tag, hex; the
 * Directory is computed (46 bytes: u4 sizes for Method, RefLocation,
 * Descriptor, Debug and StaticResources, then the Method block count)
 * unless given. Method, RefLocation, Descriptor and StaticResources get a
 * u4 size.
 */
#define XHDR "DECAFFED" "03" "02" "0C" "00" "01" "07" "D2760000850100" \
    "01" "00" "01" "07" "D2760000850101" "03706B67"
/* Two blocks of 3 bytes at info offsets 9 and 12. */
#define XMETHOD "02" "00000009" "0000000C" "000102" "000102"

struct xpkg {
	const char *info[CPK_CAP_TAG_MAX + 1];
	int blocks;		/* Directory's Method block count; -1 = 2 */
};

static const uint8_t x_order[] = { 1, 2, 4, 3, 6, 7, 8, 10, 5, 9, 13, 11 };

static void
xpkg_default(struct xpkg *k)
{
	struct pkg c;

	pkg_default(&c);
	memcpy(k->info, c.info, sizeof(k->info));
	k->info[CPK_CAP_HEADER] = XHDR;
	k->info[CPK_CAP_APPLET] = "01" "08" "D276000085010101" "01" "0001";
	k->info[CPK_CAP_METHOD] = XMETHOD;
	k->blocks = -1;
}

static bool
x_wide(unsigned tag)
{
	return tag == CPK_CAP_METHOD || tag == CPK_CAP_REF_LOCATION || tag == CPK_CAP_DESCRIPTOR ||
	    tag == CPK_CAP_DEBUG || tag == CPK_CAP_STATIC_RESOURCES;
}

static void
x_put(struct cpk_buf *b, unsigned tag, const uint8_t *content, size_t n)
{
	uint8_t sz[4];

	cpk_put_u32be(sz, (uint32_t)n);
	if (!x_wide(tag) || tag == CPK_CAP_DEBUG) {
		put_component(b, tag, content, n);
		return;
	}
	if (cpk_buf_append_byte(b, (uint8_t)tag, NULL) != CPK_OK ||
	    cpk_buf_append(b, sz, 4, NULL) != CPK_OK || cpk_buf_append(b, content, n, NULL) != CPK_OK)
		abort();
}

static void
xpkg_build(const struct xpkg *k, struct cpk_buf *b)
{
	uint8_t d[46], tmp[512];
	size_t i, pos = 0, n;
	unsigned tag;

	cpk_buf_reset(b);
	memset(d, 0, sizeof(d));
	for (tag = 1; tag <= CPK_CAP_TAG_MAX; tag++) {
		n = tag == CPK_CAP_DIRECTORY ? sizeof(d) : hexlen(k->info[tag]);
		if (x_wide(tag)) {
			cpk_put_u32be(d + pos, (uint32_t)n);
			pos += 4;
		} else {
			cpk_put_u16be(d + pos, (uint16_t)n);
			pos += 2;
		}
	}
	cpk_put_u16be(d + 36, 0x0123);		/* image_size */
	cpk_put_u16be(d + 40, 0x0010);		/* array_init_size */
	d[42] = 1;				/* import_count */
	d[43] = 1;				/* applet_count */
	d[44] = (uint8_t)(k->blocks < 0 ? 2 : k->blocks);
	for (i = 0; i < sizeof(x_order); i++) {
		tag = x_order[i];
		if (tag == CPK_CAP_DIRECTORY && k->info[tag] == NULL) {
			put_component(b, tag, d, sizeof(d));
		} else if (k->info[tag] != NULL) {
			n = test_unhex(k->info[tag], tmp, sizeof(tmp));
			x_put(b, tag, tmp, n);
		}
	}
}

static void
check_xpkg(const struct xpkg *k, cpk_status want, const char *needle, int line)
{
	struct cpk_buf b = CPK_BUF_INIT;
	struct cpk_error err;

	xpkg_build(k, &b);
	cpk_error_clear(&err);
	test_check_status(cpk_lfdb_parse(b.data, b.len, &info, &err), want, "xpkg", __FILE__,
	    line);
	test_check_msg(&err, needle, __FILE__, line);
	cpk_buf_free(&b);
}

static void
test_extended_valid(void)
{
	struct cpk_buf b = CPK_BUF_INIT;
	struct cpk_error err;
	struct xpkg k;
	static const uint8_t cap_aid[] = { 0xD2, 0x76, 0x00, 0x00, 0x85, 0x01, 0x00 };

	xpkg_default(&k);
	xpkg_build(&k, &b);
	cpk_error_clear(&err);
	CHECK_OK(cpk_lfdb_parse(b.data, b.len, &info, &err));
	CHECK(info.extended && info.flags == 0x0C && info.cap_minor == 3);
	CHECK(info.pkg_aid_len == 7 && memcmp(info.pkg_aid, cap_aid, 7) == 0);
	CHECK(info.npackages == 1 && info.method_blocks == 2);
	CHECK(info.comp[CPK_CAP_METHOD].hdr == 5 && info.comp[CPK_CAP_METHOD].size == 15);
	CHECK(info.comp[CPK_CAP_REF_LOCATION].hdr == 5 && info.comp[CPK_CAP_CLASS].hdr == 3);
	CHECK(info.napplets == 1 && info.applets[0].install_block == 1 &&
	    info.applets[0].install_method == 0x0001);
	CHECK(info.static_image == 0x0123 && info.static_arrays == 0x0010);
	CHECK(info.total == b.len);

	/* StaticResources (u4 size) between RefLocation and Descriptor. */
	k.info[CPK_CAP_STATIC_RESOURCES] = "0001";
	k.info[CPK_CAP_DESCRIPTOR] = "0102";
	xpkg_build(&k, &b);
	CHECK_OK(cpk_lfdb_parse(b.data, b.len, &info, &err));
	CHECK(info.comp[CPK_CAP_STATIC_RESOURCES].present &&
	    info.comp[CPK_CAP_STATIC_RESOURCES].hdr == 5 &&
	    info.comp[CPK_CAP_DESCRIPTOR].offset == info.comp[CPK_CAP_STATIC_RESOURCES].offset + 7);
	cpk_buf_free(&b);

	/* Compact blocks still refuse tag 13 as unknown. */
	check_raw("0D000100", CPK_ERR_PARSE,
	    "unknown component tag 13 at offset 0 (expected 1-11)", __LINE__);
}

/* Malformed extended Method components and what the parser says. */
static const struct {
	const char *hex, *msg;
	int line;
} bad_methods[] = {
	{ "", "extended Method component is empty (no block count)", __LINE__ },
	{ "80" "00000005", "extended Method component: 128 blocks (at most 127)", __LINE__ },
	{ "00" "0102", "extended Method component: no block, but 2 bytes after the count",
	  __LINE__ },
	{ "02" "00000009" "000000", "extended Method component of 8 bytes ends inside its 2 "
	  "block offsets", __LINE__ },
	{ "02" "00000009" "0000000F" "000102" "000102", "extended Method component: block 1 "
	  "starts at offset 15, beyond its 15 bytes", __LINE__ },
	{ "02" "00000009" "00000009" "000102" "000102", "extended Method component: block 1 "
	  "starts at offset 9, not after block 0 (offset 9)", __LINE__ },
	{ "02" "00000008" "0000000C" "000102" "000102", "extended Method component: block 0 "
	  "starts at offset 8, inside its block offset table (blocks start at offset 9)",
	  __LINE__ },
	{ "02" "00000000" "0000000C" "000102" "000102", "extended Method component: block 0 "
	  "starts at offset 0, inside its block offset table (blocks start at offset 9)",
	  __LINE__ },
	{ "02" "0000000A" "0000000C" "000102" "000102", "extended Method component: 1 bytes "
	  "between its block offset table and block 0 (offset 10) belong to no block", __LINE__ },
};

static void
test_extended_errors(void)
{
	struct cpk_buf b = CPK_BUF_INIT;
	struct cpk_error err;
	struct xpkg k;
	size_t cut, i;

	/* A u4-sized component cut inside its size. */
	xpkg_default(&k);
	xpkg_build(&k, &b);
	CHECK_OK(cpk_lfdb_parse(b.data, b.len, &info, &err));
	cut = info.comp[CPK_CAP_METHOD].offset + 3;
	cpk_error_clear(&err);
	CHECK_STATUS(cpk_lfdb_parse(b.data, cut, &info, &err), CPK_ERR_PARSE);
	CHECK(strstr(err.msg, "of the 5 bytes of tag and size") != NULL);
	cpk_buf_free(&b);
	/* An unknown tag in an extended block. */
	xpkg_default(&k);
	k.info[12] = NULL;
	xpkg_build(&k, &b);
	CHECK(cpk_buf_append_byte(&b, 0x0E, NULL) == CPK_OK &&
	    cpk_buf_append_u16be(&b, 0, NULL) == CPK_OK);
	cpk_error_clear(&err);
	CHECK_STATUS(cpk_lfdb_parse(b.data, b.len, &info, &err), CPK_ERR_PARSE);
	test_check_msg(&err, "unknown component tag 14 at offset", __FILE__, __LINE__);
	test_check_msg(&err, "(expected 1-11 or 13)", __FILE__, __LINE__);
	cpk_buf_free(&b);
	/* StaticResources after the Descriptor. */
	xpkg_default(&k);
	k.info[CPK_CAP_DESCRIPTOR] = "0102";
	xpkg_build(&k, &b);
	CHECK(cpk_buf_append(&b, (const uint8_t *)"\x0D\x00\x00\x00\x00", 5, NULL) == CPK_OK);
	cpk_error_clear(&err);
	CHECK_STATUS(cpk_lfdb_parse(b.data, b.len, &info, &err), CPK_ERR_PARSE);
	test_check_msg(&err, "StaticResources component (tag 13) at offset", __FILE__, __LINE__);
	test_check_msg(&err, "is out of load order: it must come before the Descriptor", __FILE__,
	    __LINE__);
	cpk_buf_free(&b);

	/* Header. */
	xpkg_default(&k);
	k.info[CPK_CAP_HEADER] = "DECAFFED" "03" "02" "0C" "00" "01" "04" "D2760000";
	check_xpkg(&k, CPK_ERR_PARSE, "Header component: CAP AID length 4 (expected 5-16)",
	    __LINE__);
	k.info[CPK_CAP_HEADER] = "DECAFFED" "03" "02" "0C" "00" "01" "07" "D2760000850100";
	check_xpkg(&k, CPK_ERR_PARSE, "extended Header component ends before its package count",
	    __LINE__);
	k.info[CPK_CAP_HEADER] = "DECAFFED" "03" "02" "0C" "00" "01" "07" "D2760000850100" "00";
	check_xpkg(&k, CPK_ERR_PARSE, "extended Header component lists no package", __LINE__);
	k.info[CPK_CAP_HEADER] = "DECAFFED" "03" "02" "0C" "00" "01" "07" "D2760000850100" "01"
	    "0001" "04" "D2760000" "00";
	check_xpkg(&k, CPK_ERR_PARSE, "extended Header component: package 1 has an AID of 4 "
	    "bytes (expected 5-16)", __LINE__);
	k.info[CPK_CAP_HEADER] = "DECAFFED" "03" "02" "0C" "00" "01" "07" "D2760000850100" "02"
	    "0001" "07" "D2760000850101" "0001" "07" "D27600";
	check_xpkg(&k, CPK_ERR_PARSE, "extended Header component: package 2 of 2 is truncated",
	    __LINE__);
	k.info[CPK_CAP_HEADER] = "DECAFFED" "03" "02" "0C" "00" "01" "07" "D2760000850100" "01"
	    "0001" "07" "D2760000850101" "03706B";
	check_xpkg(&k, CPK_ERR_PARSE, "extended Header component: the name of package 1 of 1 is "
	    "truncated", __LINE__);
	k.info[CPK_CAP_HEADER] = XHDR "00";
	check_xpkg(&k, CPK_ERR_PARSE, "extended Header component: 1 unexpected bytes after the "
	    "package names", __LINE__);

	/* Method blocks; offsets count from the block count (byte 0 of the info item). */
	xpkg_default(&k);
	for (i = 0; i < sizeof(bad_methods) / sizeof(bad_methods[0]); i++) {
		k.info[CPK_CAP_METHOD] = bad_methods[i].hex;
		check_xpkg(&k, CPK_ERR_PARSE, bad_methods[i].msg, bad_methods[i].line);
	}

	/* Directory. */
	xpkg_default(&k);
	k.info[CPK_CAP_DIRECTORY] = "0011" "002E";
	check_xpkg(&k, CPK_ERR_PARSE, "extended Directory component of 4 bytes ends before its "
	    "Method block count (44 bytes of component sizes, static field sizes and counts "
	    "come first)", __LINE__);
	k.info[CPK_CAP_DIRECTORY] = NULL;
	k.blocks = 3;
	check_xpkg(&k, CPK_ERR_PARSE,
	    "Directory component counts 3 Method blocks, the Method component has 2", __LINE__);

	/* Applets. */
	xpkg_default(&k);
	k.info[CPK_CAP_APPLET] = "01" "08" "D276000085010101" "02" "0012";
	check_xpkg(&k, CPK_ERR_PARSE, "Applet component: applet 1 installs from Method block 2, "
	    "but the Method component has 2", __LINE__);
	k.info[CPK_CAP_APPLET] = "01" "08" "D276000085010101" "01" "0003";
	check_xpkg(&k, CPK_ERR_PARSE, "Applet component: applet 1 installs from offset 3 of "
	    "Method block 1, which holds 3 bytes", __LINE__);
	k.info[CPK_CAP_APPLET] = "02" "08" "D276000085010101" "00" "0002" "08" "D276000085010102"
	    "00" "0012";
	check_xpkg(&k, CPK_ERR_PARSE, "Applet component: applet 2 installs from offset 18 of "
	    "Method block 0, which holds 3 bytes", __LINE__);
	k.info[CPK_CAP_APPLET] = "02" "08" "D276000085010101" "00" "0001" "08" "D276000086010101"
	    "00" "0002";
	check_xpkg(&k, CPK_ERR_PARSE,
	    "Applet component: applet 2 does not share the RID of applet 1", __LINE__);
	k.info[CPK_CAP_APPLET] = "01" "08" "D276000085010101" "00";
	check_xpkg(&k, CPK_ERR_PARSE, "Applet component: truncated at applet 1 of 1", __LINE__);
}

/* Replace b from mstart on with Method component m and tail; check the refusal. */
static void
splice_method(struct cpk_buf *b, size_t mstart, const struct cpk_buf *m,
    const struct cpk_buf *tail, const char *needle, int line)
{
	struct cpk_error err;

	cpk_buf_truncate(b, b->len - mstart);
	x_put(b, CPK_CAP_METHOD, m->data, m->len);
	if (cpk_buf_append(b, tail->data, tail->len, NULL) != CPK_OK)
		abort();
	cpk_error_clear(&err);
	test_check_status(cpk_lfdb_parse(b->data, b->len, &info, &err), CPK_ERR_PARSE, "splice",
	    __FILE__, line);
	test_check_msg(&err, needle, __FILE__, line);
}

/* A block over 65535 bytes and the Directory's u4 sizes, built in memory. */
static void
test_extended_big_block(void)
{
	struct cpk_buf b = CPK_BUF_INIT, m = CPK_BUF_INIT, tail = CPK_BUF_INIT;
	struct cpk_error err;
	struct xpkg k;
	size_t mstart, i;
	uint8_t hdr[9];

	/* Two blocks: at 9 and at 9 + 65536, so block 0 holds 65536 bytes. */
	hdr[0] = 2;
	cpk_put_u32be(hdr + 1, 9);
	cpk_put_u32be(hdr + 5, 9 + 65536);
	CHECK(cpk_buf_append(&m, hdr, sizeof(hdr), NULL) == CPK_OK);
	for (i = 0; i < 65536 + 3; i++)
		CHECK(cpk_buf_append_byte(&m, 0, NULL) == CPK_OK);
	/* Build with a placeholder Method, then splice the big one in. */
	xpkg_default(&k);
	xpkg_build(&k, &b);
	CHECK_OK(cpk_lfdb_parse(b.data, b.len, &info, &err));
	mstart = info.comp[CPK_CAP_METHOD].offset;
	CHECK(cpk_buf_append(&tail, b.data + mstart + 5 + 15, b.len - mstart - 5 - 15, NULL) ==
	    CPK_OK);
	splice_method(&b, mstart, &m, &tail, "extended Method component: block 0 holds 65536 "
	    "bytes (at most 65535)", __LINE__);
	/* One byte less in block 0: then the Directory's u4 Method size disagrees. */
	cpk_put_u32be(m.data + 5, 9 + 65535);
	splice_method(&b, mstart, &m, &tail, "Directory component lists 15 bytes for the Method "
	    "component, which has 65548", __LINE__);
	/* The last block runs to the end of the component: at 12, it holds 65536 bytes. */
	cpk_put_u32be(m.data + 1, 9);
	cpk_put_u32be(m.data + 5, 12);
	splice_method(&b, mstart, &m, &tail, "extended Method component: block 1 holds 65536 "
	    "bytes (at most 65535)", __LINE__);
	/* At 13 it holds 65535: the Method component passes, the Directory disagrees. */
	cpk_put_u32be(m.data + 5, 13);
	splice_method(&b, mstart, &m, &tail, "Directory component lists 15 bytes for the Method "
	    "component, which has 65548", __LINE__);
	cpk_buf_free(&b);
	cpk_buf_free(&m);
	cpk_buf_free(&tail);
}

/* Every prefix of a valid block is refused, never read past. */
static void
test_truncations(void)
{
	struct cpk_buf b = CPK_BUF_INIT;
	struct cpk_error err;
	struct pkg k;
	uint8_t *copy;
	size_t n;

	pkg_default(&k);
	k.info[CPK_CAP_DESCRIPTOR] = "0102";
	pkg_build(&k, ref_order, sizeof(ref_order), &b);
	for (n = 1; n < b.len; n++) {
		/* Without its Descriptor (the last 5 bytes) the block is whole. */
		if (n == b.len - 5)
			continue;
		/* An exact-size heap copy lets ASan catch any over-read. */
		copy = malloc(n);
		if (copy == NULL)
			abort();
		memcpy(copy, b.data, n);
		cpk_error_clear(&err);
		if (!CHECK(cpk_lfdb_parse(copy, n, &info, &err) != CPK_OK))
			fprintf(stderr, "  prefix of %zu bytes accepted\n", n);
		free(copy);
	}
	cpk_error_clear(&err);
	CHECK_OK(cpk_lfdb_parse(b.data, b.len, &info, &err));
	cpk_buf_free(&b);
}

int
main(void)
{
	test_valid();
	test_walk_errors();
	test_header_errors();
	test_directory_errors();
	test_applet_errors();
	test_truncations();
	test_extended_valid();
	test_extended_errors();
	test_extended_big_block();
	return test_summary("lfdb");
}
