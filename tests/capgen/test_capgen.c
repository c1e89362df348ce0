/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk unit tests for tests/capgen: every generated CAP is opened with
 * libzip and walked component by component by an independent reader
 * here; tags, u2 sizes, the Directory, Header and Applet fields, Method
 * offsets (through the Descriptor, Class, Applet and Reference Location
 * components) and the Load File Data Block must all agree.
 *
 * Usage: test_capgen [PATH-TO-capgen-TOOL]  (the tool's exit codes and
 * outputs are checked when the path is given).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zip.h>

#include "cpk_lfdb.h"

#include "capgen.h"
#include "cpk_bytes.h"
#include "cpk_error.h"
#include "testlib.h"

#define DEFAULT_NAME "com/example/capgen"

static const uint8_t aid_lang[] = { 0xA0, 0x00, 0x00, 0x00, 0x62, 0x00, 0x01 };
static const uint8_t aid_framework[] = { 0xA0, 0x00, 0x00, 0x00, 0x62, 0x01, 0x01 };

/* --- reading the zip --- */

static zip_t *
zip_open_mem(const struct cpk_buf *b, int flags)
{
	zip_error_t ze;
	zip_source_t *src;
	zip_t *za;

	zip_error_init(&ze);
	src = zip_source_buffer_create(b->data, b->len, 0, &ze);
	za = NULL;
	if (src != NULL) {
		za = zip_open_from_source(src, flags | ZIP_RDONLY, &ze);
		if (za == NULL)
			zip_source_free(src);
	}
	zip_error_fini(&ze);
	return za;
}

static bool
zip_read_index(zip_t *za, zip_uint64_t idx, struct cpk_buf *out)
{
	zip_stat_t st;
	zip_file_t *f;
	zip_int64_t n;
	bool ok = false;

	cpk_buf_reset(out);
	if (zip_stat_index(za, idx, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE) ||
	    st.size > 1024 * 1024)
		return false;
	if (cpk_buf_reserve(out, (size_t)st.size + 1, NULL) != CPK_OK)
		return false;
	if ((f = zip_fopen_index(za, idx, 0)) == NULL)
		return false;
	n = zip_fread(f, out->data, st.size);
	if (n >= 0 && (zip_uint64_t)n == st.size) {
		out->len = (size_t)n;
		ok = true;
	}
	zip_fclose(f);
	return ok;
}

/* Number of entries called `name`. */
static size_t
zip_count_name(zip_t *za, const char *name)
{
	zip_int64_t i, n = zip_get_num_entries(za, 0);
	const char *s;
	size_t hits = 0;

	for (i = 0; i < n; i++) {
		s = zip_get_name(za, (zip_uint64_t)i, 0);
		if (s != NULL && strcmp(s, name) == 0)
			hits++;
	}
	return hits;
}

struct capview {
	struct cpk_buf c[CAPGEN_TAG_MAX + 1];
	bool has[CAPGEN_TAG_MAX + 1];
	size_t entries;		/* all zip entries */
	bool manifest;
};

static void
capview_free(struct capview *v)
{
	size_t i;

	for (i = 0; i <= CAPGEN_TAG_MAX; i++)
		cpk_buf_free(&v->c[i]);
}

static void
entry_name(char *out, size_t cap, const char *path, unsigned tag)
{
	snprintf(out, cap, "%s/javacard/%s", path, capgen_component_file(tag));
}

/* Load the components found at <path>/javacard/<Name>.cap. */
static bool
capview_load(struct capview *v, const struct cpk_buf *zip, const char *path)
{
	char name[512];
	zip_t *za;
	zip_int64_t idx;
	unsigned tag;

	memset(v, 0, sizeof(*v));
	if ((za = zip_open_mem(zip, ZIP_CHECKCONS)) == NULL)
		return false;
	v->entries = (size_t)zip_get_num_entries(za, 0);
	v->manifest = zip_name_locate(za, "META-INF/MANIFEST.MF", 0) >= 0;
	for (tag = 1; tag <= CAPGEN_TAG_MAX; tag++) {
		entry_name(name, sizeof(name), path, tag);
		idx = zip_name_locate(za, name, 0);
		if (idx >= 0)
			v->has[tag] = zip_read_index(za, (zip_uint64_t)idx, &v->c[tag]);
	}
	zip_discard(za);
	return true;
}

static size_t
csize(const struct capview *v, unsigned tag)
{
	return v->has[tag] && v->c[tag].len >= 3 ? v->c[tag].len - 3 : 0;
}

static unsigned
get16(const uint8_t *p)
{
	return ((unsigned)p[0] << 8) | p[1];
}

/* A cursor over a component's info item. */
static void
info_cursor(const struct capview *v, unsigned tag, struct cpk_cursor *c)
{
	if (v->has[tag] && v->c[tag].len >= 3)
		cpk_cursor_init(c, v->c[tag].data + 3, v->c[tag].len - 3);
	else
		cpk_cursor_init(c, NULL, 0);
}

static unsigned
rd8(struct cpk_cursor *c, bool *ok)
{
	uint8_t v = 0;

	if (!cpk_cursor_u8(c, &v))
		*ok = false;
	return v;
}

static unsigned
rd16(struct cpk_cursor *c, bool *ok)
{
	uint16_t v = 0;

	if (!cpk_cursor_u16be(c, &v))
		*ok = false;
	return v;
}

static void
skip(struct cpk_cursor *c, size_t n, bool *ok)
{
	if (!cpk_cursor_skip(c, n))
		*ok = false;
}

/* --- component walkers --- */

static bool
is_v22(const struct capgen_spec *s)
{
	return s->cap_minor >= 2;
}

static void
check_tags_and_sizes(const struct capview *v)
{
	unsigned tag;

	for (tag = 1; tag <= CAPGEN_TAG_MAX; tag++) {
		if (!v->has[tag])
			continue;
		if (!CHECK(v->c[tag].len >= 3))
			continue;
		CHECK(v->c[tag].data[0] == tag);
		CHECK(get16(v->c[tag].data + 1) == v->c[tag].len - 3);
	}
}

static void
check_header(const struct capview *v, const struct capgen_spec *s)
{
	const uint8_t *h = v->c[CAPGEN_HEADER].data;
	size_t len = v->c[CAPGEN_HEADER].len, name_len;
	const char *name = s->name != NULL ? s->name : DEFAULT_NAME;
	unsigned flags = 0;

	if (!CHECK(v->has[CAPGEN_HEADER] && len >= 13 + (size_t)s->package.len))
		return;
	CHECK_HEX(h + 3, 4, "DECAFFED");
	CHECK(h[7] == s->cap_minor);	/* PROTOCOLS.md: minor at 7, major at 8 */
	CHECK(h[8] == s->cap_major);
	if (s->applet_count > 0)
		flags |= CAPGEN_ACC_APPLET;
	if (s->export_)
		flags |= CAPGEN_ACC_EXPORT;
	if (s->extended)
		flags |= CAPGEN_ACC_EXTENDED;
	CHECK(h[9] == flags);
	CHECK(h[10] == s->pkg_minor);
	CHECK(h[11] == s->pkg_major);
	CHECK(h[12] == s->package.len);	/* AID length at 12, AID at 13 */
	CHECK_MEM(h + 13, s->package.len, s->package.b, s->package.len);
	if (is_v22(s)) {
		name_len = strlen(name);
		if (CHECK(len == 14 + (size_t)s->package.len + name_len)) {
			CHECK(h[13 + s->package.len] == name_len);
			CHECK_MEM(h + 14 + s->package.len, name_len, name, name_len);
		}
	} else {
		CHECK(len == 13 + (size_t)s->package.len);
	}
}

static void
check_directory(const struct capview *v, const struct capgen_spec *s)
{
	struct cpk_cursor c;
	unsigned tag, ntags = is_v22(s) ? 12 : 11, sf_image, sf_inits, sf_init_size;
	bool ok = true;
	const uint8_t *sf;

	info_cursor(v, CAPGEN_DIRECTORY, &c);
	for (tag = 1; tag <= ntags; tag++)
		CHECK(rd16(&c, &ok) == csize(v, tag));
	sf_image = rd16(&c, &ok);
	sf_inits = rd16(&c, &ok);
	sf_init_size = rd16(&c, &ok);
	CHECK(rd8(&c, &ok) == (s->applet_count > 0 ? 2 : 1));	/* import_count */
	CHECK(rd8(&c, &ok) == s->applet_count);
	CHECK(rd8(&c, &ok) == 0);				/* custom_count */
	CHECK(ok && cpk_cursor_left(&c) == 0);
	/* static_field_size_info agrees with the Static Field component */
	if (CHECK(csize(v, CAPGEN_STATIC_FIELD) >= 6)) {
		sf = v->c[CAPGEN_STATIC_FIELD].data + 3;
		CHECK(sf_image == get16(sf));
		CHECK(sf_inits == get16(sf + 4));
		CHECK(sf_init_size == (sf_inits > 0 ? get16(sf + 7) : 0));
	}
	CHECK(csize(v, CAPGEN_IMPORT) > 0 && v->c[CAPGEN_IMPORT].data[3] ==
	    (s->applet_count > 0 ? 2 : 1));
}

static void
check_import(const struct capview *v, const struct capgen_spec *s)
{
	struct cpk_cursor c;
	const uint8_t *aid;
	unsigned i, n, len;
	bool ok = true;

	info_cursor(v, CAPGEN_IMPORT, &c);
	n = rd8(&c, &ok);
	CHECK(n == (s->applet_count > 0 ? 2u : 1u));
	for (i = 0; i < n && ok; i++) {
		skip(&c, 2, &ok);	/* minor, major */
		len = rd8(&c, &ok);
		if (cpk_cursor_bytes(&c, len, &aid))
			CHECK_MEM(aid, len, i == 0 ? aid_lang : aid_framework, 7);
		else
			ok = false;
	}
	CHECK(ok && cpk_cursor_left(&c) == 0);
}

/* Method info offsets of every method, from the Descriptor. */
struct methods {
	size_t off[64], len[64], n;
	size_t install[CAPGEN_MAX_APPLETS], ninstall;
};

static void
check_applet(const struct capview *v, const struct capgen_spec *s, struct methods *m)
{
	struct cpk_cursor c;
	const uint8_t *aid;
	unsigned i, n, len, off;
	bool ok = true;

	m->ninstall = 0;
	if (s->applet_count == 0) {
		CHECK(!v->has[CAPGEN_APPLET]);
		return;
	}
	if (!CHECK(v->has[CAPGEN_APPLET]))
		return;
	CHECK(v->c[CAPGEN_APPLET].data[3] == s->applet_count);	/* count at offset 3 */
	info_cursor(v, CAPGEN_APPLET, &c);
	n = rd8(&c, &ok);
	for (i = 0; i < n && ok; i++) {
		len = rd8(&c, &ok);
		if (!cpk_cursor_bytes(&c, len, &aid)) {
			ok = false;
			break;
		}
		CHECK_MEM(aid, len, s->applets[i].b, s->applets[i].len);
		off = rd16(&c, &ok);
		/* install(byte[],short,byte): nargs 3 in the method header */
		if (CHECK(off + 2 <= csize(v, CAPGEN_METHOD)))
			CHECK((v->c[CAPGEN_METHOD].data[3 + off + 1] >> 4) == 3);
		if (m->ninstall < CAPGEN_MAX_APPLETS)
			m->install[m->ninstall++] = off;
	}
	CHECK(ok && cpk_cursor_left(&c) == 0);
}

static size_t
cp_count(const struct capview *v)
{
	return csize(v, CAPGEN_CONSTANT_POOL) >= 2 ? get16(v->c[CAPGEN_CONSTANT_POOL].data + 3) : 0;
}

static void
check_constant_pool(const struct capview *v)
{
	size_t i, n = cp_count(v);
	unsigned tag;

	CHECK(csize(v, CAPGEN_CONSTANT_POOL) == 2 + 4 * n);
	for (i = 0; i < n && 5 + 4 * i < v->c[CAPGEN_CONSTANT_POOL].len; i++) {
		tag = v->c[CAPGEN_CONSTANT_POOL].data[5 + 4 * i];
		CHECK(tag >= 1 && tag <= 6);
	}
}

static void
check_class(const struct capview *v, const struct capgen_spec *s)
{
	struct cpk_cursor c;
	size_t nclass = 0, want = s->applet_count > 0 ? s->applet_count : 1;
	unsigned i, pub, pkg;
	bool ok = true;

	info_cursor(v, CAPGEN_CLASS, &c);
	if (is_v22(s))
		CHECK(rd16(&c, &ok) == 0);	/* empty signature pool */
	while (ok && cpk_cursor_left(&c) > 0) {
		CHECK((rd8(&c, &ok) & 0x8F) == 0);	/* a class, no interfaces */
		CHECK((rd16(&c, &ok) & 0x8000) != 0);	/* external superclass */
		skip(&c, 3, &ok);
		skip(&c, 1, &ok);
		pub = rd8(&c, &ok);
		skip(&c, 1, &ok);
		pkg = rd8(&c, &ok);
		for (i = 0; i < pub + pkg; i++)
			CHECK(rd16(&c, &ok) + 2 <= csize(v, CAPGEN_METHOD));
		nclass++;
	}
	CHECK(ok && nclass == want);
}

static void
check_static_field(const struct capview *v)
{
	struct cpk_cursor c;
	unsigned image, refs, inits, i, count, def, nondef;
	bool ok = true;

	info_cursor(v, CAPGEN_STATIC_FIELD, &c);
	image = rd16(&c, &ok);
	refs = rd16(&c, &ok);
	inits = rd16(&c, &ok);
	for (i = 0; i < inits; i++) {
		CHECK(rd8(&c, &ok) == 3);	/* byte array */
		count = rd16(&c, &ok);
		skip(&c, count, &ok);
	}
	def = rd16(&c, &ok);
	nondef = rd16(&c, &ok);
	skip(&c, nondef, &ok);
	CHECK(ok && cpk_cursor_left(&c) == 0);
	CHECK(image == refs * 2 + def + nondef);
}

/* Every 2-byte Constant Pool index the Reference Location lists. */
static void
check_ref_location(const struct capview *v)
{
	struct cpk_cursor c;
	const uint8_t *meth = v->c[CAPGEN_METHOD].data + 3;
	size_t msize = csize(v, CAPGEN_METHOD), pos = 0, refs = 0, ncp = cp_count(v);
	unsigned n1, n2, i, d, op;
	bool ok = true;

	info_cursor(v, CAPGEN_REF_LOCATION, &c);
	n1 = rd16(&c, &ok);
	CHECK(n1 == 0);
	skip(&c, n1, &ok);
	n2 = rd16(&c, &ok);
	for (i = 0; i < n2 && ok; i++) {
		d = rd8(&c, &ok);
		pos += d;
		if (d == 255)
			continue;
		refs++;
		if (!CHECK(pos >= 1 && pos + 2 <= msize))
			break;
		op = meth[pos - 1];
		CHECK(op == 0x7D || op == 0x81 || op == 0x8F || op == 0x8C || op == 0x8B);
		CHECK(get16(meth + pos) < ncp);
	}
	CHECK(ok && cpk_cursor_left(&c) == 0);
	CHECK(refs > 0);
}

static void
add_method(struct methods *m, size_t off, size_t len)
{
	if (m->n < 64) {
		m->off[m->n] = off;
		m->len[m->n] = len;
		m->n++;
	}
}

/* The methods the Descriptor lists tile the Method info item exactly. */
static void
check_method_tiling(const struct capview *v, const struct methods *m)
{
	size_t i, next = 1, j;
	bool found;

	CHECK(csize(v, CAPGEN_METHOD) > 0 && v->c[CAPGEN_METHOD].data[3] == 0);	/* no handlers */
	for (i = 0; i < m->n; i++) {
		found = false;
		for (j = 0; j < m->n; j++) {
			if (m->off[j] == next) {
				next += 2 + m->len[j];
				found = true;
				break;
			}
		}
		if (!CHECK(found))
			return;
	}
	CHECK(next == csize(v, CAPGEN_METHOD));
	for (i = 0; i < m->ninstall; i++) {
		found = false;
		for (j = 0; j < m->n; j++)
			found = found || m->off[j] == m->install[i];
		CHECK(found);
	}
}

static void
check_descriptor(const struct capview *v, const struct capgen_spec *s, struct methods *m)
{
	struct cpk_cursor c;
	unsigned nclass, k, nif, nfield, nmeth, i, ncp, type;
	size_t type_len;
	bool ok = true;

	if (!s->descriptor) {
		CHECK(!v->has[CAPGEN_DESCRIPTOR]);
		return;
	}
	info_cursor(v, CAPGEN_DESCRIPTOR, &c);
	nclass = rd8(&c, &ok);
	CHECK(nclass == (s->applet_count > 0 ? s->applet_count : 1));
	m->n = 0;
	for (k = 0; k < nclass && ok; k++) {
		skip(&c, 4, &ok);	/* token, flags, this_class_ref */
		nif = rd8(&c, &ok);
		nfield = rd16(&c, &ok);
		nmeth = rd16(&c, &ok);
		skip(&c, 2 * nif, &ok);
		skip(&c, 7 * nfield, &ok);
		for (i = 0; i < nmeth && ok; i++) {
			size_t off, len;

			skip(&c, 2, &ok);
			off = rd16(&c, &ok);
			skip(&c, 2, &ok);
			len = rd16(&c, &ok);
			CHECK(rd16(&c, &ok) == 0);
			skip(&c, 2, &ok);
			add_method(m, off, len);
		}
	}
	/* type_descriptor_info: constant pool types point inside it */
	ncp = rd16(&c, &ok);
	CHECK(ncp == cp_count(v));
	type_len = 2 + 2 * (size_t)ncp + (cpk_cursor_left(&c) - 2 * (size_t)ncp);
	for (i = 0; i < ncp && ok; i++) {
		type = rd16(&c, &ok);
		CHECK(type == 0xFFFF || (type >= 2 + 2 * ncp && type < type_len));
	}
	while (ok && cpk_cursor_left(&c) > 0) {
		unsigned nib = rd8(&c, &ok);

		CHECK(nib > 0);
		skip(&c, (nib + 1) / 2, &ok);
	}
	CHECK(ok && cpk_cursor_left(&c) == 0);
	check_method_tiling(v, m);
}

static void
check_debug(const struct capview *v, const struct capgen_spec *s)
{
	struct cpk_cursor c;
	const uint8_t *p;
	const char *name = s->name != NULL ? s->name : DEFAULT_NAME;
	unsigned nstr, i, len, pkg_idx, nclass, k, nif, nfield, nmeth, nvar, nline;
	const uint8_t *strs[64];
	unsigned lens[64];
	bool ok = true;

	if (!s->debug) {
		CHECK(!v->has[CAPGEN_DEBUG]);
		return;
	}
	info_cursor(v, CAPGEN_DEBUG, &c);
	nstr = rd16(&c, &ok);
	CHECK(nstr > 0 && nstr <= 64);
	for (i = 0; i < nstr && i < 64 && ok; i++) {
		len = rd16(&c, &ok);
		lens[i] = len;
		if (!cpk_cursor_bytes(&c, len, &p))
			ok = false;
		strs[i] = p;
	}
	pkg_idx = rd16(&c, &ok);
	if (CHECK(ok && pkg_idx < nstr))
		CHECK_MEM(strs[pkg_idx], lens[pkg_idx], name, strlen(name));
	nclass = rd16(&c, &ok);
	CHECK(nclass == (s->applet_count > 0 ? s->applet_count : 1));
	for (k = 0; k < nclass && ok; k++) {
		CHECK(rd16(&c, &ok) < nstr);
		skip(&c, 4, &ok);
		CHECK(rd16(&c, &ok) < nstr);
		CHECK(rd16(&c, &ok) < nstr);
		nif = rd8(&c, &ok);
		nfield = rd16(&c, &ok);
		nmeth = rd16(&c, &ok);
		skip(&c, 2 * nif + 10 * nfield, &ok);	/* field_debug_info: 10 bytes */
		for (i = 0; i < nmeth && ok; i++) {
			skip(&c, 11, &ok);
			nvar = rd16(&c, &ok);
			nline = rd16(&c, &ok);
			skip(&c, 9 * nvar + 6 * nline, &ok);
		}
	}
	CHECK(ok && cpk_cursor_left(&c) == 0);
}

static void
check_export(const struct capview *v, const struct capgen_spec *s)
{
	struct cpk_cursor c;
	unsigned n, k, nf, nm;
	bool ok = true;

	if (!s->export_) {
		CHECK(!v->has[CAPGEN_EXPORT]);
		return;
	}
	info_cursor(v, CAPGEN_EXPORT, &c);
	n = rd8(&c, &ok);
	CHECK(n == 1);
	for (k = 0; k < n && ok; k++) {
		skip(&c, 2, &ok);
		nf = rd8(&c, &ok);
		nm = rd8(&c, &ok);
		skip(&c, 2 * (nf + nm), &ok);
	}
	CHECK(ok && cpk_cursor_left(&c) == 0);
}

/* The LFDB is the components in PROTOCOLS.md order. */
static void
check_lfdb(const struct capview *v, const struct capgen_spec *s)
{
	struct cpk_buf want = CPK_BUF_INIT, got = CPK_BUF_INIT;
	const uint8_t *order;
	size_t i, n = capgen_lfdb_order(&order);
	int pass;

	CHECK(n == 11 && order[0] == CAPGEN_HEADER && order[7] == CAPGEN_EXPORT &&
	    order[10] == CAPGEN_DESCRIPTOR);
	for (pass = 0; pass < 2; pass++) {
		bool with_desc = pass == 1;

		if (with_desc && !s->descriptor)
			break;
		cpk_buf_reset(&want);
		for (i = 0; i < n; i++)
			if (v->has[order[i]] && (order[i] != CAPGEN_DESCRIPTOR || with_desc))
				CHECK_OK(cpk_buf_append(&want, v->c[order[i]].data,
				    v->c[order[i]].len, NULL));
		CHECK_OK(capgen_lfdb(s, with_desc, &got, NULL));
		CHECK_MEM(got.data, got.len, want.data, want.len);
		if (s->lfdb_size != 0 && with_desc == s->descriptor)
			CHECK(got.len == s->lfdb_size);
	}
	cpk_buf_free(&want);
	cpk_buf_free(&got);
}

/* Build and check a well-formed CAP. */
static void
check_spec(const struct capgen_spec *s, const char *label)
{
	struct cpk_buf zip = CPK_BUF_INIT;
	struct capview v;
	struct methods m;
	struct cpk_error err;
	const char *path = s->name != NULL ? s->name : DEFAULT_NAME;
	int before = test_failures;
	size_t expect = 1;
	unsigned tag;

	memset(&m, 0, sizeof(m));
	cpk_error_clear(&err);
	if (!CHECK_OK(capgen_build(s, &zip, &err))) {
		fprintf(stderr, "  %s: %s\n", label, err.msg);
		return;
	}
	if (!CHECK(capview_load(&v, &zip, path))) {
		cpk_buf_free(&zip);
		return;
	}
	CHECK(v.manifest);
	for (tag = 1; tag <= CAPGEN_TAG_MAX; tag++)
		expect += v.has[tag];
	CHECK(v.entries == expect);	/* nothing else in the zip */
	CHECK(v.has[CAPGEN_HEADER] && v.has[CAPGEN_DIRECTORY] && v.has[CAPGEN_IMPORT] &&
	    v.has[CAPGEN_CONSTANT_POOL] && v.has[CAPGEN_CLASS] && v.has[CAPGEN_METHOD] &&
	    v.has[CAPGEN_STATIC_FIELD] && v.has[CAPGEN_REF_LOCATION]);
	check_tags_and_sizes(&v);
	check_header(&v, s);
	check_directory(&v, s);
	check_import(&v, s);
	check_applet(&v, s, &m);
	check_constant_pool(&v);
	check_class(&v, s);
	check_static_field(&v);
	check_ref_location(&v);
	check_descriptor(&v, s, &m);
	check_debug(&v, s);
	check_export(&v, s);
	check_lfdb(&v, s);
	if (test_failures != before)
		fprintf(stderr, "  ... while checking %s\n", label);
	capview_free(&v);
	cpk_buf_free(&zip);
}

/* --- specs --- */

static void
spec_with_applets(struct capgen_spec *s, size_t n)
{
	size_t k;

	capgen_spec_init(s);
	s->applet_count = n;
	for (k = 0; k < n; k++) {
		s->applets[k] = s->package;
		s->applets[k].b[s->package.len] = (uint8_t)(0x10 + k);
		s->applets[k].len = (uint8_t)(s->package.len + 1);
	}
}

static size_t
natural_size(const struct capgen_spec *s)
{
	struct cpk_buf b = CPK_BUF_INIT;
	size_t n;

	CHECK_OK(capgen_lfdb(s, s->descriptor, &b, NULL));
	n = b.len;
	cpk_buf_free(&b);
	return n;
}

static void
test_defaults(void)
{
	struct capgen_spec s;

	capgen_spec_init(&s);
	CHECK(s.cap_major == 2 && s.cap_minor == 1 && s.descriptor && !s.debug);
	check_spec(&s, "defaults");
	CHECK_STR(capgen_component_file(CAPGEN_REF_LOCATION), "RefLocation.cap");
	CHECK(capgen_component_file(0) == NULL && capgen_component_file(13) == NULL);
}

static void
test_sizes(void)
{
	static const size_t fixed[] = { 1024, 10 * 1024, 64 * 1024 };
	static const size_t napps[] = { 0, 1, 3 };
	struct capgen_spec s;
	char label[128];
	size_t a, i, base, sizes[12], nsizes;
	int cfg;

	for (a = 0; a < sizeof(napps) / sizeof(napps[0]); a++) {
		for (cfg = 0; cfg < 4; cfg++) {
			spec_with_applets(&s, napps[a]);
			s.name = "com/example/hello";
			s.descriptor = (cfg & 1) == 0;
			if (cfg & 2) {
				s.cap_minor = 2;
				s.debug = true;
			}
			base = natural_size(&s);
			nsizes = 0;
			sizes[nsizes++] = 0;
			sizes[nsizes++] = base;
			sizes[nsizes++] = base + 1;
			sizes[nsizes++] = base + 9;
			sizes[nsizes++] = base + 10;
			sizes[nsizes++] = base + 11;
			for (i = 0; i < 3; i++)
				sizes[nsizes++] = fixed[i];
			for (i = 0; i < nsizes; i++) {
				s.lfdb_size = sizes[i];
				snprintf(label, sizeof(label),
				    "%zu applets, CAP 2.%u, descriptor %d, lfdb_size %zu",
				    napps[a], s.cap_minor, s.descriptor, sizes[i]);
				check_spec(&s, label);
			}
		}
	}
}

static void
test_export_and_names(void)
{
	struct capgen_spec s;

	capgen_spec_init(&s);
	s.export_ = true;
	s.name = "a";
	check_spec(&s, "library with Export");
	s.cap_minor = 2;
	s.debug = true;
	s.lfdb_size = 4000;
	s.name = "org/x_y/$z/Deep9";
	s.pkg_major = 3;
	s.pkg_minor = 7;
	check_spec(&s, "library with Export, CAP 2.2");

	/* 16-byte AIDs, 16 applets */
	spec_with_applets(&s, 0);
	memset(s.package.b, 0xA5, CAPGEN_AID_MAX);
	s.package.len = 15;
	spec_with_applets(&s, 0);
	s.package.len = 15;
	memset(s.package.b, 0xA5, 15);
	for (s.applet_count = 0; s.applet_count < CAPGEN_MAX_APPLETS; s.applet_count++) {
		s.applets[s.applet_count] = s.package;
		s.applets[s.applet_count].len = 16;
		s.applets[s.applet_count].b[15] = (uint8_t)s.applet_count;
	}
	s.cap_minor = 2;
	s.debug = true;
	s.lfdb_size = 20000;
	check_spec(&s, "16 applets with 16-byte AIDs");
}

static void
test_size_limits(void)
{
	struct capgen_spec s;
	struct cpk_buf b = CPK_BUF_INIT;
	struct cpk_error err;
	size_t base, max = 0;

	spec_with_applets(&s, 1);
	base = natural_size(&s);
	s.lfdb_size = base - 1;
	CHECK_STATUS(capgen_lfdb(&s, true, &b, &err), CPK_ERR_RANGE);
	CHECK_MSG(&err, "smallest");
	s.lfdb_size = 1;
	CHECK_STATUS(capgen_build(&s, &b, &err), CPK_ERR_RANGE);
	s.lfdb_size = 100000;
	CHECK_STATUS(capgen_build(&s, &b, &err), CPK_ERR_RANGE);
	CHECK_MSG(&err, "65535");
	/* the largest size the message names is reachable, one more is not */
	CHECK(sscanf(strstr(err.msg, "spec (") != NULL ? strstr(err.msg, "spec (") : "",
	    "spec (%zu", &max) == 1);
	s.lfdb_size = max;
	if (CHECK_OK(capgen_lfdb(&s, true, &b, &err)))
		CHECK(b.len == max);
	check_spec(&s, "largest size");
	s.lfdb_size = max + 1;
	CHECK_STATUS(capgen_build(&s, &b, &err), CPK_ERR_RANGE);
	/* 64 KiB fits with and without the Descriptor */
	s.lfdb_size = 65536;
	CHECK_OK(capgen_lfdb(&s, true, &b, &err));
	CHECK(b.len == 65536);
	s.descriptor = false;
	CHECK_OK(capgen_lfdb(&s, false, &b, &err));
	CHECK(b.len == 65536);
	CHECK_STATUS(capgen_lfdb(&s, true, &b, &err), CPK_ERR_ARG);
	CHECK_MSG(&err, "no Descriptor");
	cpk_buf_free(&b);
}

/* The extended format: the shared LFDB parser takes every size, to the byte. */
static void
check_extended(const struct capgen_spec *s, size_t want_blocks, int line)
{
	struct cpk_buf lfdb = CPK_BUF_INIT;
	struct cpk_lfdb_info *info = calloc(1, sizeof(*info));
	struct cpk_error err;

	cpk_error_clear(&err);
	if (info == NULL)
		abort();
	if (test_check(capgen_lfdb(s, true, &lfdb, &err) == CPK_OK, err.msg, __FILE__, line) &&
	    test_check(cpk_lfdb_parse(lfdb.data, lfdb.len, info, &err) == CPK_OK, err.msg,
	    __FILE__, line)) {
		test_check(s->lfdb_size == 0 || lfdb.len == s->lfdb_size, "extended LFDB size",
		    __FILE__, line);
		test_check(info->extended && info->cap_minor == 3 && info->npackages == 1,
		    "extended Header", __FILE__, line);
		test_check(info->method_blocks == want_blocks, "Method blocks", __FILE__, line);
		test_check(info->comp[CPK_CAP_METHOD].hdr == 5 &&
		    info->comp[CPK_CAP_REF_LOCATION].hdr == 5 &&
		    info->comp[CPK_CAP_DESCRIPTOR].hdr == 5, "u4 sizes", __FILE__, line);
		test_check(info->napplets == s->applet_count, "applets", __FILE__, line);
	}
	free(info);
	cpk_buf_free(&lfdb);
}

static void
test_extended(void)
{
	struct capgen_spec s;
	struct cpk_buf zip = CPK_BUF_INIT, lfdb = CPK_BUF_INIT;
	struct cpk_error err;
	zip_source_t *src;
	zip_t *za;
	size_t base, i;

	spec_with_applets(&s, 1);
	s.extended = true;
	check_extended(&s, 1, __LINE__);
	CHECK_OK(capgen_lfdb(&s, true, &lfdb, NULL));
	base = lfdb.len;
	/* Under 8 bytes more: nops in block 0; then one more block of 4 bytes and up. */
	for (i = 1; i < 8; i++) {
		s.lfdb_size = base + i;
		check_extended(&s, 1, __LINE__);
	}
	s.lfdb_size = base + 8;
	check_extended(&s, 2, __LINE__);
	s.lfdb_size = base + 65539;		/* one full block and its offset */
	check_extended(&s, 2, __LINE__);
	s.lfdb_size = base + 65540;
	check_extended(&s, 2, __LINE__);	/* the odd byte in block 0 */
	s.lfdb_size = 512000;
	check_extended(&s, 9, __LINE__);
	/* Three applets, a Debug component, no Descriptor in the LFDB. */
	spec_with_applets(&s, 3);
	s.extended = true;
	s.debug = true;
	check_extended(&s, 1, __LINE__);
	/* Past 127 blocks: refused with the bounds. */
	s.lfdb_size = 127 * (size_t)65539 + base;
	cpk_error_clear(&err);
	CHECK_STATUS(capgen_build(&s, &zip, &err), CPK_ERR_RANGE);
	CHECK(strstr(err.msg, "(127 Method blocks of at most 65535 bytes)") != NULL);
	/* The zip names the u4-sized components .capx (JCVM 3.1). */
	spec_with_applets(&s, 1);
	s.extended = true;
	s.debug = true;
	CHECK_OK(capgen_build(&s, &zip, NULL));
	src = zip_source_buffer_create(zip.data, zip.len, 0, NULL);
	za = src != NULL ? zip_open_from_source(src, ZIP_RDONLY, NULL) : NULL;
	if (CHECK(za != NULL)) {
		CHECK(zip_name_locate(za, DEFAULT_NAME "/javacard/Method.capx", 0) >= 0);
		CHECK(zip_name_locate(za, DEFAULT_NAME "/javacard/RefLocation.capx", 0) >= 0);
		CHECK(zip_name_locate(za, DEFAULT_NAME "/javacard/Descriptor.capx", 0) >= 0);
		CHECK(zip_name_locate(za, DEFAULT_NAME "/javacard/Debug.capx", 0) >= 0);
		CHECK(zip_name_locate(za, DEFAULT_NAME "/javacard/Class.cap", 0) >= 0);
		CHECK(zip_name_locate(za, DEFAULT_NAME "/javacard/Method.cap", 0) < 0);
		zip_discard(za);
	} else if (src != NULL) {
		zip_source_free(src);
	}
	cpk_buf_free(&zip);
	cpk_buf_free(&lfdb);
}

/* --- malformations --- */

static bool
build_view(const struct capgen_spec *s, struct cpk_buf *zip, struct capview *v)
{
	struct cpk_error err;

	cpk_error_clear(&err);
	if (!CHECK_OK(capgen_build(s, zip, &err))) {
		fprintf(stderr, "  %s\n", err.msg);
		return false;
	}
	return CHECK(capview_load(v, zip, s->name != NULL ? s->name : DEFAULT_NAME));
}

static void
test_malform_missing(void)
{
	struct capgen_spec s;
	struct cpk_buf zip = CPK_BUF_INIT;
	struct capview v;

	spec_with_applets(&s, 2);
	s.malform = CAPGEN_MAL_NO_HEADER;
	if (build_view(&s, &zip, &v)) {
		CHECK(!v.has[CAPGEN_HEADER] && v.has[CAPGEN_DIRECTORY]);
		capview_free(&v);
	}
	s.malform = CAPGEN_MAL_NO_APPLET;
	if (build_view(&s, &zip, &v)) {
		CHECK(!v.has[CAPGEN_APPLET]);
		/* ... while the Directory and the Header still announce applets */
		CHECK(get16(v.c[CAPGEN_DIRECTORY].data + 3 + 2 * (CAPGEN_APPLET - 1)) > 0);
		CHECK(v.c[CAPGEN_DIRECTORY].data[3 + 22 + 6 + 1] == 2);
		CHECK(v.c[CAPGEN_HEADER].data[9] & CAPGEN_ACC_APPLET);
		capview_free(&v);
	}
	spec_with_applets(&s, 0);
	s.malform = CAPGEN_MAL_NO_APPLET;
	CHECK_STATUS(capgen_build(&s, &zip, NULL), CPK_ERR_ARG);
	cpk_buf_free(&zip);
}

static void
test_malform_sizes(void)
{
	struct capgen_spec s;
	struct cpk_buf zip = CPK_BUF_INIT, lfdb = CPK_BUF_INIT;
	struct capview v;
	size_t len;

	spec_with_applets(&s, 1);
	s.malform = CAPGEN_MAL_BAD_SIZE;
	if (build_view(&s, &zip, &v)) {
		len = v.c[CAPGEN_METHOD].len;
		CHECK(get16(v.c[CAPGEN_METHOD].data + 1) == len - 3 + 1);
		/* the Directory keeps the true size */
		CHECK(get16(v.c[CAPGEN_DIRECTORY].data + 3 + 2 * (CAPGEN_METHOD - 1)) == len - 3);
		CHECK(get16(v.c[CAPGEN_HEADER].data + 1) == v.c[CAPGEN_HEADER].len - 3);
		capview_free(&v);
	}
	s.malform = CAPGEN_MAL_BAD_SIZE;
	s.malform_tag = CAPGEN_HEADER;
	if (build_view(&s, &zip, &v)) {
		CHECK(get16(v.c[CAPGEN_HEADER].data + 1) == v.c[CAPGEN_HEADER].len - 3 + 1);
		CHECK(get16(v.c[CAPGEN_METHOD].data + 1) == v.c[CAPGEN_METHOD].len - 3);
		capview_free(&v);
	}
	s.malform = CAPGEN_MAL_DIR_SIZE;
	s.malform_tag = CAPGEN_APPLET;
	if (build_view(&s, &zip, &v)) {
		CHECK(get16(v.c[CAPGEN_APPLET].data + 1) == v.c[CAPGEN_APPLET].len - 3);
		CHECK(get16(v.c[CAPGEN_DIRECTORY].data + 3 + 2 * (CAPGEN_APPLET - 1)) ==
		    v.c[CAPGEN_APPLET].len - 3 + 1);
		capview_free(&v);
	}
	s.malform = CAPGEN_MAL_TRUNCATED;
	s.malform_tag = 0;
	s.lfdb_size = 2000;
	if (build_view(&s, &zip, &v)) {
		len = v.c[CAPGEN_METHOD].len;
		CHECK(len > 3 && len - 3 < get16(v.c[CAPGEN_METHOD].data + 1));
		/* the LFDB carries the truncated component as stored */
		CHECK_OK(capgen_lfdb(&s, true, &lfdb, NULL));
		CHECK(lfdb.len == 2000 - (get16(v.c[CAPGEN_METHOD].data + 1) - (len - 3)));
		capview_free(&v);
	}
	cpk_buf_free(&lfdb);
	cpk_buf_free(&zip);
}

static void
test_malform_entries(void)
{
	struct capgen_spec s;
	struct cpk_buf zip = CPK_BUF_INIT, a = CPK_BUF_INIT, b = CPK_BUF_INIT;
	zip_t *za;
	zip_int64_t i, i1, i2;
	char name[256];

	spec_with_applets(&s, 1);
	s.malform = CAPGEN_MAL_DUPLICATE;
	s.malform_tag = CAPGEN_HEADER;
	CHECK_OK(capgen_build(&s, &zip, NULL));
	if (CHECK((za = zip_open_mem(&zip, 0)) != NULL)) {
		entry_name(name, sizeof(name), DEFAULT_NAME, CAPGEN_HEADER);
		CHECK(zip_count_name(za, name) == 2);
		entry_name(name, sizeof(name), DEFAULT_NAME, CAPGEN_METHOD);
		CHECK(zip_count_name(za, name) == 1);
		/* both copies carry the same Header */
		i1 = -1;
		i2 = -1;
		entry_name(name, sizeof(name), DEFAULT_NAME, CAPGEN_HEADER);
		for (i = 0; i < zip_get_num_entries(za, 0); i++) {
			if (strcmp(zip_get_name(za, (zip_uint64_t)i, 0), name) == 0) {
				if (i1 < 0)
					i1 = i;
				else
					i2 = i;
			}
		}
		if (CHECK(i1 >= 0 && i2 >= 0)) {
			CHECK(zip_read_index(za, (zip_uint64_t)i1, &a));
			CHECK(zip_read_index(za, (zip_uint64_t)i2, &b));
			CHECK_MEM(a.data, a.len, b.data, b.len);
			CHECK(a.len > 13 && a.data[0] == CAPGEN_HEADER);
		}
		zip_discard(za);
	}

	s.malform = CAPGEN_MAL_OUTSIDE_DIR;
	s.malform_tag = 0;
	CHECK_OK(capgen_build(&s, &zip, NULL));
	if (CHECK((za = zip_open_mem(&zip, ZIP_CHECKCONS)) != NULL)) {
		entry_name(name, sizeof(name), DEFAULT_NAME, CAPGEN_METHOD);
		CHECK(zip_name_locate(za, name, 0) < 0);
		snprintf(name, sizeof(name), "%s/Method.cap", DEFAULT_NAME);
		CHECK(zip_name_locate(za, name, 0) >= 0);
		zip_discard(za);
	}

	/* a target that the CAP does not have */
	s.malform = CAPGEN_MAL_TRUNCATED;
	s.malform_tag = CAPGEN_DEBUG;
	CHECK_STATUS(capgen_build(&s, &zip, NULL), CPK_ERR_ARG);
	s.malform_tag = 13;
	CHECK_STATUS(capgen_build(&s, &zip, NULL), CPK_ERR_ARG);
	s.malform_tag = 0;
	s.malform = 0x8000;
	CHECK_STATUS(capgen_build(&s, &zip, NULL), CPK_ERR_ARG);
	cpk_buf_free(&a);
	cpk_buf_free(&b);
	cpk_buf_free(&zip);
}

static void
test_foreign_rid(void)
{
	struct capgen_spec s;
	struct cpk_buf zip = CPK_BUF_INIT;
	struct cpk_error err;

	spec_with_applets(&s, 2);
	s.applets[1].b[0] ^= 0x01;
	CHECK_STATUS(capgen_build(&s, &zip, &err), CPK_ERR_ARG);
	CHECK_MSG(&err, "RID");
	s.malform = CAPGEN_MAL_FOREIGN_RID;
	check_spec(&s, "foreign RID accepted on request");
	cpk_buf_free(&zip);
}

/* --- order, determinism --- */

static void
entry_order(const struct cpk_buf *zip, char names[][128], size_t *n)
{
	zip_t *za = zip_open_mem(zip, 0);
	zip_int64_t i;

	*n = 0;
	if (!CHECK(za != NULL))
		return;
	for (i = 0; i < zip_get_num_entries(za, 0) && *n < 16; i++)
		snprintf(names[(*n)++], 128, "%s", zip_get_name(za, (zip_uint64_t)i, 0));
	zip_discard(za);
}

static void
test_shuffle(void)
{
	struct capgen_spec s;
	struct cpk_buf z1 = CPK_BUF_INIT, z2 = CPK_BUF_INIT, l1 = CPK_BUF_INIT,
	    l2 = CPK_BUF_INIT;
	char n1[16][128], n2[16][128];
	size_t c1, c2, i, j, same = 0;
	bool found;

	spec_with_applets(&s, 1);
	s.cap_minor = 2;
	s.debug = true;
	CHECK_OK(capgen_build(&s, &z1, NULL));
	CHECK_OK(capgen_lfdb(&s, true, &l1, NULL));
	s.shuffle = true;
	check_spec(&s, "shuffled");
	CHECK_OK(capgen_build(&s, &z2, NULL));
	CHECK_OK(capgen_lfdb(&s, true, &l2, NULL));
	CHECK_MEM(l2.data, l2.len, l1.data, l1.len);
	entry_order(&z1, n1, &c1);
	entry_order(&z2, n2, &c2);
	CHECK(c1 == c2 && c1 == 12);
	CHECK_STR(n1[0], "META-INF/MANIFEST.MF");
	for (i = 0; i < c1 && i < c2; i++) {
		same += strcmp(n1[i], n2[i]) == 0;
		found = false;
		for (j = 0; j < c2; j++)
			found = found || strcmp(n1[i], n2[j]) == 0;
		CHECK(found);
	}
	CHECK(same < c1);
	cpk_buf_free(&z1);
	cpk_buf_free(&z2);
	cpk_buf_free(&l1);
	cpk_buf_free(&l2);
}

static bool
read_file(const char *path, struct cpk_buf *out)
{
	uint8_t tmp[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	cpk_buf_reset(out);
	if (fd < 0)
		return false;
	while ((n = read(fd, tmp, sizeof(tmp))) > 0)
		if (cpk_buf_append(out, tmp, (size_t)n, NULL) != CPK_OK)
			n = -1;
	close(fd);
	return n == 0;
}

static void
test_determinism(const char *dir)
{
	struct capgen_spec s;
	struct cpk_buf a = CPK_BUF_INIT, b = CPK_BUF_INIT;
	struct cpk_error err;
	const char *tz = getenv("TZ");
	char saved_tz[128], path[512];

	spec_with_applets(&s, 2);
	s.lfdb_size = 5000;
	s.shuffle = true;
	CHECK_OK(capgen_build(&s, &a, NULL));
	CHECK_OK(capgen_build(&s, &b, NULL));
	CHECK_MEM(a.data, a.len, b.data, b.len);

	/* the zip times do not depend on the time zone */
	snprintf(saved_tz, sizeof(saved_tz), "%s", tz != NULL ? tz : "");
	setenv("TZ", "EST5EDT", 1);
	tzset();
	CHECK_OK(capgen_build(&s, &b, NULL));
	CHECK_MEM(a.data, a.len, b.data, b.len);
	setenv("TZ", "JST-9", 1);
	tzset();
	CHECK_OK(capgen_build(&s, &b, NULL));
	CHECK_MEM(a.data, a.len, b.data, b.len);
	if (tz != NULL)
		setenv("TZ", saved_tz, 1);
	else
		unsetenv("TZ");
	tzset();

	/* capgen_write writes exactly capgen_build's bytes */
	snprintf(path, sizeof(path), "%s/det.cap", dir);
	CHECK_OK(capgen_write(&s, path, NULL));
	CHECK(read_file(path, &b));
	CHECK_MEM(b.data, b.len, a.data, a.len);
	unlink(path);
	snprintf(path, sizeof(path), "%s/no/such/dir/x.cap", dir);
	CHECK_STATUS(capgen_write(&s, path, &err), CPK_ERR_IO);
	CHECK_MSG(&err, "x.cap");
	cpk_buf_free(&a);
	cpk_buf_free(&b);
}

/* --- spec errors --- */

static void
test_invalid_specs(void)
{
	static const char *const bad_names[] = {
		"", "/com/x", "com/x/", "com//x", "com/9x", "com/x-y", "com.x",
	};
	struct capgen_spec s;
	struct capgen_aid aid;
	struct cpk_buf b = CPK_BUF_INIT;
	struct cpk_error err;
	char longname[CAPGEN_NAME_MAX + 2];
	size_t i;

	CHECK_OK(capgen_aid_parse("A000000151", &aid, &err));
	CHECK(aid.len == 5);
	CHECK_OK(capgen_aid_parse("A0000001510000000000000000000001", &aid, &err));
	CHECK(aid.len == 16);
	CHECK_STATUS(capgen_aid_parse("A0000001", &aid, &err), CPK_ERR_RANGE);
	CHECK_STATUS(capgen_aid_parse("A000000151000000000000000000000102", &aid, &err),
	    CPK_ERR_RANGE);
	CHECK(capgen_aid_parse("A00000015G", &aid, &err) != CPK_OK);
	CHECK(capgen_aid_parse("A0000001511", &aid, &err) != CPK_OK);
	CHECK_STATUS(capgen_aid_parse(NULL, &aid, &err), CPK_ERR_ARG);

	capgen_spec_init(&s);
	s.package.len = 4;
	CHECK_STATUS(capgen_build(&s, &b, &err), CPK_ERR_RANGE);
	s.package.len = 17;
	CHECK_STATUS(capgen_build(&s, &b, &err), CPK_ERR_RANGE);
	CHECK_STATUS(capgen_build(NULL, &b, &err), CPK_ERR_ARG);
	CHECK_STATUS(capgen_build(&s, NULL, &err), CPK_ERR_ARG);
	CHECK_STATUS(capgen_lfdb(&s, false, NULL, &err), CPK_ERR_ARG);

	capgen_spec_init(&s);
	s.cap_minor = 3;
	CHECK_STATUS(capgen_build(&s, &b, &err), CPK_ERR_UNSUPPORTED);
	CHECK_MSG(&err, "2.3");
	s.cap_major = 3;
	s.cap_minor = 0;
	CHECK_STATUS(capgen_build(&s, &b, &err), CPK_ERR_UNSUPPORTED);

	capgen_spec_init(&s);
	s.debug = true;
	CHECK_STATUS(capgen_build(&s, &b, &err), CPK_ERR_ARG);
	CHECK_MSG(&err, "2.2");

	spec_with_applets(&s, 1);
	s.export_ = true;
	CHECK_STATUS(capgen_build(&s, &b, &err), CPK_ERR_ARG);

	spec_with_applets(&s, 2);
	s.applets[1] = s.applets[0];
	CHECK_STATUS(capgen_build(&s, &b, &err), CPK_ERR_ARG);
	CHECK_MSG(&err, "same AID");
	s.applets[1] = s.package;
	CHECK_STATUS(capgen_build(&s, &b, &err), CPK_ERR_ARG);
	s.applets[1].len = 3;
	CHECK_STATUS(capgen_build(&s, &b, &err), CPK_ERR_RANGE);
	s.applet_count = CAPGEN_MAX_APPLETS + 1;
	CHECK_STATUS(capgen_build(&s, &b, &err), CPK_ERR_RANGE);

	capgen_spec_init(&s);
	for (i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		s.name = bad_names[i];
		if (!CHECK_STATUS(capgen_build(&s, &b, &err), CPK_ERR_ARG))
			fprintf(stderr, "  name '%s'\n", bad_names[i]);
	}
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	s.name = longname;
	CHECK_STATUS(capgen_build(&s, &b, &err), CPK_ERR_ARG);
	longname[CAPGEN_NAME_MAX] = '\0';
	CHECK_OK(capgen_build(&s, &b, &err));
	cpk_buf_free(&b);
}

/* --- the command-line tool --- */

static int
run_tool(const char *exe, const char *const *args, const char *out_path)
{
	char *argv[32];
	pid_t pid;
	int status, fd;
	size_t i;

	argv[0] = (char *)exe;
	for (i = 0; args[i] != NULL && i < 30; i++)
		argv[i + 1] = (char *)args[i];
	argv[i + 1] = NULL;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execv(exe, argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static bool
file_contains(const char *path, const char *needle)
{
	struct cpk_buf b = CPK_BUF_INIT;
	bool found = false;

	if (read_file(path, &b) && cpk_buf_append_byte(&b, 0, NULL) == CPK_OK)
		found = strstr((const char *)b.data, needle) != NULL;
	cpk_buf_free(&b);
	return found;
}

/* Usage errors exit 2, failures 1, --help 0. */
static void
test_tool_errors(const char *exe, const char *cap, const char *log)
{
	{
		const char *a[] = { "--help", NULL };

		CHECK(run_tool(exe, a, log) == 0);
		CHECK(file_contains(log, "usage: capgen"));
	}
	{
		const char *a[] = { NULL };

		CHECK(run_tool(exe, a, log) == 2);
		CHECK(file_contains(log, "missing -o"));
	}
	{
		const char *a[] = { "-o", cap, NULL };

		CHECK(run_tool(exe, a, log) == 2);
		CHECK(file_contains(log, "--package"));
	}
	{
		const char *a[] = { "-o", cap, "--package", "A0000001", NULL };

		CHECK(run_tool(exe, a, log) == 2);
	}
	{
		const char *a[] = { "-o", cap, "--package", "A000000151", "--bogus", NULL };

		CHECK(run_tool(exe, a, log) == 2);
	}
	{
		const char *a[] = { "-o", cap, "-p", "A000000151", "--malform", "nope", NULL };

		CHECK(run_tool(exe, a, log) == 2);
	}
	{
		const char *a[] = { "-o", cap, "-p", "A000000151", "-a", "A000000152AA", NULL };

		CHECK(run_tool(exe, a, log) == 2);	/* foreign RID */
		CHECK(file_contains(log, "RID"));
	}
	{
		const char *a[] = { "-o", cap, "-p", "A000000151", "--size", "12", NULL };

		CHECK(run_tool(exe, a, log) == 2);	/* below the smallest */
	}
	{
		const char *a[] = { "-o", cap, "-p", "A000000151", "--debug", NULL };

		CHECK(run_tool(exe, a, log) == 2);	/* Debug needs CAP 2.2 */
	}
	{
		const char *a[] = { "-o", "/nonexistent-dir/x.cap", "-p", "A000000151", NULL };

		CHECK(run_tool(exe, a, log) == 1);
	}
}

/* The tool writes exactly what the library builds for the same spec. */
static void
test_tool_outputs(const char *exe, const char *cap, const char *lfdb, const char *log)
{
	struct capgen_spec s;
	struct cpk_buf got = CPK_BUF_INIT, want = CPK_BUF_INIT;

	{
		const char *a[] = { "-o", cap, "--package", "A00000015101", "--applet",
		    "A0000001510101", "--applet", "A0000001510102", "--size", "4096",
		    "--name", "com.example.app", "--cap-version", "2.2", "--debug",
		    "--package-version", "1.2", "--shuffle", "--lfdb", lfdb,
		    "--lfdb-descriptor", NULL };

		CHECK(run_tool(exe, a, log) == 0);
		capgen_spec_init(&s);
		CHECK_OK(capgen_aid_parse("A00000015101", &s.package, NULL));
		CHECK_OK(capgen_aid_parse("A0000001510101", &s.applets[0], NULL));
		CHECK_OK(capgen_aid_parse("A0000001510102", &s.applets[1], NULL));
		s.applet_count = 2;
		s.lfdb_size = 4096;
		s.name = "com/example/app";
		s.cap_minor = 2;
		s.debug = true;
		s.pkg_major = 1;
		s.pkg_minor = 2;
		s.shuffle = true;
		CHECK(read_file(cap, &got));
		CHECK_OK(capgen_build(&s, &want, NULL));
		CHECK_MEM(got.data, got.len, want.data, want.len);
		CHECK(read_file(lfdb, &got));
		CHECK_OK(capgen_lfdb(&s, true, &want, NULL));
		CHECK_MEM(got.data, got.len, want.data, want.len);
		CHECK(got.len == 4096);
	}
	{
		const char *a[] = { "-o", cap, "-p", "A000000151", "--no-descriptor",
		    "--malform", "bad-size,outside-dir", "--malform-component", "header",
		    "--lfdb", lfdb, NULL };

		CHECK(run_tool(exe, a, log) == 0);
		capgen_spec_init(&s);
		CHECK_OK(capgen_aid_parse("A000000151", &s.package, NULL));
		s.descriptor = false;
		s.malform = CAPGEN_MAL_BAD_SIZE | CAPGEN_MAL_OUTSIDE_DIR;
		s.malform_tag = CAPGEN_HEADER;
		CHECK(read_file(cap, &got));
		CHECK_OK(capgen_build(&s, &want, NULL));
		CHECK_MEM(got.data, got.len, want.data, want.len);
		CHECK(read_file(lfdb, &got));
		CHECK_OK(capgen_lfdb(&s, false, &want, NULL));
		CHECK_MEM(got.data, got.len, want.data, want.len);
	}
	cpk_buf_free(&got);
	cpk_buf_free(&want);
}

static void
test_tool(const char *exe, const char *dir)
{
	char cap[512], lfdb[512], log[512];

	snprintf(cap, sizeof(cap), "%s/tool.cap", dir);
	snprintf(lfdb, sizeof(lfdb), "%s/tool.lfdb", dir);
	snprintf(log, sizeof(log), "%s/tool.log", dir);
	test_tool_errors(exe, cap, log);
	test_tool_outputs(exe, cap, lfdb, log);
	unlink(cap);
	unlink(lfdb);
	unlink(log);
}

int
main(int argc, char **argv)
{
	char dir[] = "/tmp/test_capgen.XXXXXX";

	if (mkdtemp(dir) == NULL) {
		fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	test_defaults();
	test_sizes();
	test_export_and_names();
	test_size_limits();
	test_extended();
	test_malform_missing();
	test_malform_sizes();
	test_malform_entries();
	test_foreign_rid();
	test_shuffle();
	test_determinism(dir);
	test_invalid_specs();
	if (argc > 1)
		test_tool(argv[1], dir);
	else
		fprintf(stderr, "test_capgen: no tool path given, command line not tested\n");
	rmdir(dir);
	return test_summary("capgen");
}
