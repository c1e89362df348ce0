/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzz target: Load File Data Blocks, cpk_lfdb_parse (common/cpk_lfdb.h),
 * which the card simulator runs on what it receives in LOAD.
 *
 * Whatever the input, nothing crashes. A refused block leaves the result
 * zeroed and says why. An accepted block is, byte for byte, what the result
 * describes: contiguous components in load order covering the whole input,
 * each with its tag and size; the Header fields and package AID as stored;
 * the applets' AIDs (sharing the package RID, or in the extended format one
 * RID, no duplicates) as listed; the Header flags in agreement with the
 * Applet and Export components; and the Directory's sizes equal to the
 * components'. Extended-format blocks (Header flag 08) have u4 sizes for
 * Method, RefLocation, StaticResources and Descriptor, CAP format 2.3, a
 * Method block count of at most 127 that the Directory repeats, and applets
 * installing from one of those blocks.
 */
#include <stdbool.h>
#include <string.h>

#include "cpk_lfdb.h"
#include "fuzz.h"

static const uint8_t load_order[] = { 1, 2, 4, 3, 6, 7, 8, 10, 5, 9, 13, 11 };
static const uint8_t required[] = { 1, 2, 4, 6, 7, 8, 5, 9 };

/* Large (one entry per possible applet): kept off the stack. */
static struct cpk_lfdb_info info;

/* Extended Directory: the Method block count's offset in its info item. */
#define DIR_EXT_BLOCKS 44

static bool
all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] != 0)
			return false;
	return true;
}

static void
check_components(const uint8_t *p, size_t n)
{
	const struct cpk_lfdb_component *c;
	size_t i, next = 0;

	FUZZ_CHECK(info.total == n);
	FUZZ_CHECK(!info.comp[0].present && !info.comp[CPK_CAP_DEBUG].present);
	for (i = 0; i < sizeof(load_order); i++) {
		c = &info.comp[load_order[i]];
		if (!c->present)
			continue;
		FUZZ_CHECK(c->offset == next && c->offset + c->hdr + c->size <= n);
		FUZZ_CHECK(p[c->offset] == load_order[i]);
		if (c->hdr == 5) {
			FUZZ_CHECK(info.extended && (load_order[i] == 7 || load_order[i] == 9 ||
			    load_order[i] == 11 || load_order[i] == 13));
			FUZZ_CHECK(((size_t)p[c->offset + 1] << 24 | (size_t)p[c->offset + 2] << 16 |
			    (size_t)p[c->offset + 3] << 8 | p[c->offset + 4]) == c->size);
		} else {
			FUZZ_CHECK(c->hdr == 3 && load_order[i] != 13);
			FUZZ_CHECK(!info.extended || (load_order[i] != 7 && load_order[i] != 9 &&
			    load_order[i] != 11));
			FUZZ_CHECK(((size_t)p[c->offset + 1] << 8 | p[c->offset + 2]) == c->size);
		}
		next = c->offset + c->hdr + c->size;
	}
	FUZZ_CHECK(next == n);
	for (i = 0; i < sizeof(required); i++)
		FUZZ_CHECK(info.comp[required[i]].present);
}

/*
 * Extended Method blocks, offsets from the info item's first byte (the
 * count): block 0 right after the offset table, each block where the one
 * before ends, 1 to 65535 bytes, the last one up to the component's end.
 */
static void
check_method_blocks(const uint8_t *p)
{
	const uint8_t *m = p + info.comp[CPK_CAP_METHOD].offset + 5;
	size_t i, at = 1 + 4 * info.method_blocks, off;

	for (i = 0; i < info.method_blocks; i++) {
		off = (size_t)m[1 + 4 * i] << 24 | (size_t)m[2 + 4 * i] << 16 |
		    (size_t)m[3 + 4 * i] << 8 | m[4 + 4 * i];
		FUZZ_CHECK(off == at);
		FUZZ_CHECK(info.method_block_size[i] >= 1 && info.method_block_size[i] <= 65535);
		at += info.method_block_size[i];
	}
	FUZZ_CHECK(info.method_blocks == 0 || at == info.comp[CPK_CAP_METHOD].size);
}

static void
check_header(const uint8_t *p)
{
	const uint8_t *h = p + info.comp[CPK_CAP_HEADER].offset + 3;
	const uint8_t *d = p + info.comp[CPK_CAP_DIRECTORY].offset + 3;
	unsigned tag;

	FUZZ_CHECK(h[0] == 0xDE && h[1] == 0xCA && h[2] == 0xFF && h[3] == 0xED);
	FUZZ_CHECK(info.cap_minor == h[4] && info.cap_major == h[5] && info.flags == h[6]);
	FUZZ_CHECK(info.pkg_minor == h[7] && info.pkg_major == h[8]);
	FUZZ_CHECK(info.cap_major == 2 && info.cap_minor >= 1 && info.cap_minor <= 3);
	FUZZ_CHECK((info.flags & ~(CPK_CAP_ACC_INT | CPK_CAP_ACC_EXPORT | CPK_CAP_ACC_APPLET |
	    CPK_CAP_ACC_EXTENDED)) == 0);
	FUZZ_CHECK(info.extended == ((info.flags & CPK_CAP_ACC_EXTENDED) != 0));
	FUZZ_CHECK(!info.extended || info.cap_minor == 3);
	FUZZ_CHECK(info.npackages >= 1 && (info.extended || info.npackages == 1));
	FUZZ_CHECK(info.method_blocks <= CPK_CAP_METHOD_BLOCKS_MAX);
	FUZZ_CHECK(info.extended || info.method_blocks == 0);
	if (info.extended) {
		FUZZ_CHECK(d[DIR_EXT_BLOCKS] == info.method_blocks);
		FUZZ_CHECK(p[info.comp[CPK_CAP_METHOD].offset + 5] == info.method_blocks);
		check_method_blocks(p);
	}
	FUZZ_CHECK(((info.flags & CPK_CAP_ACC_APPLET) != 0) == info.comp[CPK_CAP_APPLET].present);
	FUZZ_CHECK(((info.flags & CPK_CAP_ACC_EXPORT) != 0) == info.comp[CPK_CAP_EXPORT].present);
	FUZZ_CHECK(info.pkg_aid_len >= CPK_AID_MIN && info.pkg_aid_len <= CPK_AID_MAX);
	FUZZ_CHECK(info.pkg_aid_len == h[9] && memcmp(info.pkg_aid, h + 10, info.pkg_aid_len) == 0);
	FUZZ_CHECK(info.comp[CPK_CAP_HEADER].size >= 10 + info.pkg_aid_len);
	for (tag = 1; tag <= 11 && !info.extended; tag++)
		if (info.comp[tag].present)
			FUZZ_CHECK(((size_t)d[2 * (tag - 1)] << 8 | d[2 * (tag - 1) + 1]) ==
			    info.comp[tag].size);
}

static void
check_applets(const uint8_t *p)
{
	const struct cpk_lfdb_applet *a;
	const uint8_t *q;
	size_t i, j;

	if (!info.comp[CPK_CAP_APPLET].present) {
		FUZZ_CHECK(info.napplets == 0);
		return;
	}
	q = p + info.comp[CPK_CAP_APPLET].offset + 3;
	FUZZ_CHECK(info.napplets >= 1 && info.napplets == q[0]);
	q++;
	for (i = 0; i < info.napplets; i++) {
		a = &info.applets[i];
		FUZZ_CHECK(a->aid_len >= CPK_AID_MIN && a->aid_len <= CPK_AID_MAX);
		FUZZ_CHECK(q[0] == a->aid_len && memcmp(q + 1, a->aid, a->aid_len) == 0);
		if (info.extended) {
			FUZZ_CHECK(a->install_block == q[1 + a->aid_len]);
			FUZZ_CHECK(a->install_block < info.method_blocks);
			FUZZ_CHECK(a->install_method < info.method_block_size[a->install_block]);
			FUZZ_CHECK(memcmp(a->aid, info.applets[0].aid, 5) == 0);
			q++;
		} else {
			FUZZ_CHECK(a->install_block == 0);
			FUZZ_CHECK(memcmp(a->aid, info.pkg_aid, 5) == 0);
		}
		FUZZ_CHECK(a->install_method == ((unsigned)q[1 + a->aid_len] << 8 |
		    q[2 + a->aid_len]));
		FUZZ_CHECK(cpk_lfdb_has_applet(&info, a->aid, a->aid_len));
		for (j = 0; j < i; j++)
			FUZZ_CHECK(info.applets[j].aid_len != a->aid_len ||
			    memcmp(info.applets[j].aid, a->aid, a->aid_len) != 0);
		q += 3 + a->aid_len;
	}
	/* The component holds exactly the applets. */
	FUZZ_CHECK(q == p + info.comp[CPK_CAP_APPLET].offset + 3 +
	    info.comp[CPK_CAP_APPLET].size);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cpk_error err;
	cpk_status st;

	memset(&info, 0xA5, sizeof(info));
	st = cpk_lfdb_parse(data, size, &info, &err);
	if (st != CPK_OK) {
		FUZZ_CHECK(st == CPK_ERR_PARSE || st == CPK_ERR_UNSUPPORTED);
		FUZZ_CHECK(err.status == st && err.msg[0] != '\0');
		FUZZ_CHECK(all_zero(&info, sizeof(info)));
		return 0;
	}
	check_components(data, size);
	check_header(data);
	check_applets(data);
	return 0;
}
