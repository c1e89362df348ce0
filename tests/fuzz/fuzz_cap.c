/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzz target: CAP files, cap_open_buffer and cap_build_lfdb
 * (compiler/cap.h), the Load File Data Block checked again with
 * cpk_lfdb_parse (common/cpk_lfdb.h).
 *
 * The input is a CAP file, or its component files, which the target
 * stores in a consistent zip (zip_stored.h) so that mutations reach the
 * components past the zip's CRCs (see LLVMFuzzerTestOneInput).
 *
 * Nothing crashes or leaks, and:
 * - a refused CAP gives no cap_file and says why;
 * - an accepted one holds one package path, every required component,
 *   never Debug, each component file starting with its tag and size of
 *   what follows (u2, or u4 for Method, RefLocation, Descriptor and
 *   StaticResources in an extended-format CAP), StaticResources only in
 *   an extended-format one;
 * - its Load File Data Block builds with the Descriptor exactly when there
 *   is one and always without it; each is the components concatenated in
 *   load order, passes cpk_lfdb_parse to the info cap_build_lfdb returned
 *   (the one with the Descriptor, if any, is cap->info), and every applet
 *   it lists is an applet of the CAP.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cap.h"
#include "fuzz.h"
#include "zip_stored.h"

static const uint8_t load_order[] = {
	CPK_CAP_HEADER, CPK_CAP_DIRECTORY, CPK_CAP_IMPORT, CPK_CAP_APPLET, CPK_CAP_CLASS,
	CPK_CAP_METHOD, CPK_CAP_STATIC_FIELD, CPK_CAP_EXPORT, CPK_CAP_CONSTANT_POOL,
	CPK_CAP_REF_LOCATION, CPK_CAP_STATIC_RESOURCES, CPK_CAP_DESCRIPTOR,
};
static const uint8_t required[] = {
	CPK_CAP_HEADER, CPK_CAP_DIRECTORY, CPK_CAP_IMPORT, CPK_CAP_CLASS, CPK_CAP_METHOD,
	CPK_CAP_STATIC_FIELD, CPK_CAP_CONSTANT_POOL, CPK_CAP_REF_LOCATION,
};

/* Large (one entry per possible applet): kept off the stack. */
static struct cpk_lfdb_info built, parsed;

static void
check_components(const struct cap_file *cap)
{
	unsigned tag;
	size_t i;

	FUZZ_CHECK(cap->package_path != NULL);
	FUZZ_CHECK(!cap->present[0] && !cap->present[CPK_CAP_DEBUG]);
	for (i = 0; i < sizeof(required); i++)
		FUZZ_CHECK(cap->present[required[i]]);
	for (tag = 1; tag <= CPK_CAP_TAG_MAX; tag++) {
		const struct cpk_buf *b = &cap->comp[tag];

		if (!cap->present[tag])
			continue;
		FUZZ_CHECK(b->data[0] == tag);
		if (cap->info.extended && (tag == CPK_CAP_METHOD || tag == CPK_CAP_REF_LOCATION ||
		    tag == CPK_CAP_DESCRIPTOR || tag == CPK_CAP_STATIC_RESOURCES))
			FUZZ_CHECK(b->len >= 5 && ((size_t)b->data[1] << 24 |
			    (size_t)b->data[2] << 16 | (size_t)b->data[3] << 8 | b->data[4]) + 5 ==
			    b->len);
		else
			FUZZ_CHECK(b->len >= 3 &&
			    ((size_t)b->data[1] << 8 | b->data[2]) + 3 == b->len);
	}
	FUZZ_CHECK(cap->info.extended || !cap->present[CPK_CAP_STATIC_RESOURCES]);
}

static void
check_lfdb(const struct cap_file *cap, bool with_descriptor)
{
	struct cpk_buf lfdb = CPK_BUF_INIT;
	struct cpk_error err;
	size_t i, off = 0;
	cpk_status st;

	memset(&built, 0, sizeof(built));
	cpk_error_clear(&err);
	st = cap_build_lfdb(cap, with_descriptor, &lfdb, &built, &err);
	if (with_descriptor && !cap->present[CPK_CAP_DESCRIPTOR]) {
		FUZZ_CHECK(st == CPK_ERR_NOT_FOUND && lfdb.len == 0);
		cpk_buf_free(&lfdb);
		return;
	}
	FUZZ_CHECK(st == CPK_OK);
	for (i = 0; i < sizeof(load_order); i++) {
		const struct cpk_buf *b = &cap->comp[load_order[i]];

		if (!cap->present[load_order[i]] ||
		    (load_order[i] == CPK_CAP_DESCRIPTOR && !with_descriptor))
			continue;
		FUZZ_CHECK(off + b->len <= lfdb.len && memcmp(lfdb.data + off, b->data, b->len) == 0);
		off += b->len;
	}
	FUZZ_CHECK(off == lfdb.len);
	memset(&parsed, 0, sizeof(parsed));
	FUZZ_CHECK(cpk_lfdb_parse(lfdb.data, lfdb.len, &parsed, NULL) == CPK_OK);
	FUZZ_CHECK(memcmp(&parsed, &built, sizeof(parsed)) == 0);
	if (with_descriptor == cap->present[CPK_CAP_DESCRIPTOR])
		FUZZ_CHECK(memcmp(&parsed, &cap->info, sizeof(parsed)) == 0);
	for (i = 0; i < parsed.napplets; i++)
		FUZZ_CHECK(cap_has_applet(cap, parsed.applets[i].aid, parsed.applets[i].aid_len));
	cpk_buf_free(&lfdb);
}

static void
open_cap(const uint8_t *data, size_t size)
{
	struct cap_file *cap = (struct cap_file *)&built;	/* not NULL */
	struct cpk_error err;
	cpk_status st;

	cpk_error_clear(&err);
	st = cap_open_buffer("fuzz.cap", data, size, &cap, &err);
	if (st != CPK_OK) {
		FUZZ_CHECK(cap == NULL);
		FUZZ_CHECK(st == CPK_ERR_PARSE || st == CPK_ERR_RANGE || st == CPK_ERR_UNSUPPORTED);
		FUZZ_CHECK(err.status == st && err.msg[0] != '\0');
		return;
	}
	check_components(cap);
	check_lfdb(cap, false);
	check_lfdb(cap, true);
	cap_free(&cap);
	FUZZ_CHECK(cap == NULL);
}

/*
 * The input: a CAP file as it is (first byte 'P', as in "PK"), or its
 * component files, stored by the target in a consistent zip (any other
 * first byte): each a u16 big-endian length and the file, named by its
 * tag byte <path>/javacard/<Name>.cap (META-INF/MANIFEST.MF when empty),
 * at most FUZZ_ZIP_MAX_ENTRIES of them.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char dir[] = "com/example/fuzz/javacard/";
	static char names[FUZZ_ZIP_MAX_ENTRIES][64];
	struct fuzz_zip_entry e[FUZZ_ZIP_MAX_ENTRIES];
	struct cpk_buf zip = CPK_BUF_INIT;
	size_t n = 0, len;

	if (size == 0 || data[0] == 'P') {
		open_cap(data, size);
		return 0;
	}
	data++;
	size--;
	while (size >= 2 && n < FUZZ_ZIP_MAX_ENTRIES) {
		len = (size_t)data[0] << 8 | data[1];
		data += 2;
		size -= 2;
		if (len > size)
			len = size;
		if (len == 0)
			snprintf(names[n], sizeof(names[n]), "META-INF/MANIFEST.MF");
		else
			snprintf(names[n], sizeof(names[n]), "%s%s.cap", dir,
			    cpk_cap_component_name(data[0]));
		e[n].name = names[n];
		e[n].name_len = strlen(names[n]);
		e[n].data = data;
		e[n].len = len;
		n++;
		data += len;
		size -= len;
	}
	fuzz_zip_stored(e, n, &zip);
	open_cap(zip.data, zip.len);
	cpk_buf_free(&zip);
	return 0;
}
