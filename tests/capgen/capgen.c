/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * capgen: CAP file generator for tests (JCVM 3.0.5 chapter 6, compact
 * format, CAP 2.1 and 2.2).
 *
 * The generated package holds one applet class per applet AID (each with
 * <init>, install and process) or, with no applets, one library class
 * (<init> and a static run()). Class 0 also owns a static short counter
 * and, in applet packages, an initialised static byte array. Padding to a
 * requested Load File Data Block size grows the last method of class 0
 * with "counter++" sequences (each a real pair of Constant Pool
 * references, listed in the Reference Location component) and nops.
 *
 * Generation order follows the dependencies: Method (offsets, reference
 * locations), Class (needs method offsets), Constant Pool (class and
 * method offsets), the rest, and the Directory last (every size).
 */
#include "capgen.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zip.h>

#define U1_MAX	0xFFu
#define U2_MAX	0xFFFFu
/*
 * Extended format (JCVM 3.1 6.10): at most 127 Method blocks of at most
 * 65535 bytes; a filler block is handler_count 0 and one method: a 2-byte
 * header, nops, return.
 */
#define EXT_BLOCKS_MAX	127
#define EXT_BLOCK_MAX	U2_MAX
#define EXT_BLOCK_MIN	4

/* Imported packages. */
static const uint8_t aid_lang[] = { 0xA0, 0x00, 0x00, 0x00, 0x62, 0x00, 0x01 };
static const uint8_t aid_framework[] = { 0xA0, 0x00, 0x00, 0x00, 0x62, 0x01, 0x01 };

/*
 * Tokens of java.lang and javacard.framework as their export files
 * publish them (modelled on the Java Card 2.2 API; not checked against a
 * card, and nothing here needs them to be exact).
 */
#define TOK_LANG_OBJECT		0	/* class java.lang.Object */
#define TOK_OBJECT_INIT		0	/* Object.<init>() */
#define OBJECT_PUBLIC_METHODS	1	/* Object.equals */
#define TOK_FW_APPLET		3	/* class javacard.framework.Applet */
#define TOK_FW_APDU		10	/* class javacard.framework.APDU */
#define TOK_APPLET_INIT		0	/* Applet.<init>() */
#define TOK_APPLET_REGISTER	1	/* Applet.register() */
#define TOK_APPLET_PROCESS	7	/* Applet.process(APDU) */

/* Java Card bytecodes used here. */
#define OP_NOP			0x00
#define OP_SCONST_1		0x04
#define OP_ALOAD_0		0x18
#define OP_DUP			0x3D
#define OP_SADD			0x41
#define OP_RETURN		0x7A
#define OP_GETSTATIC_S		0x7D
#define OP_PUTSTATIC_S		0x81
#define OP_INVOKEVIRTUAL	0x8B
#define OP_INVOKESPECIAL	0x8C
#define OP_NEW			0x8F

/* Constant pool tags. */
#define CP_CLASSREF		1
#define CP_VIRTUALMETHODREF	3
#define CP_STATICFIELDREF	5
#define CP_STATICMETHODREF	6

/* Descriptor component access flags and primitive field type. */
#define D_ACC_PUBLIC		0x01
#define D_ACC_STATIC		0x08
#define D_ACC_FINAL		0x10
#define D_ACC_INIT		0x80
#define D_TYPE_SHORT		0x8004
#define D_NO_TYPE		0xFFFF

/* Debug component access flags (JVM style, u2). */
#define G_ACC_PUBLIC		0x0001
#define G_ACC_STATIC		0x0008
#define G_ACC_FINAL		0x0010

/* Static byte array initialised in applet packages (array_init, type byte). */
#define ARRAY_TYPE_BYTE		3
static const uint8_t array_init_values[] = { 'C', 'A', 'P', 'G', 'E', 'N', '0', '1' };

/*
 * One padding unit is "counter = (short)(counter + 1)": getstatic_s (3),
 * sconst_1 (1), sadd (1), putstatic_s (3); its two Constant Pool indices
 * cost one Reference Location byte each.
 */
#define FILL_CODE	8
#define FILL_UNIT	(FILL_CODE + 2)

#define NMETHOD		3	/* methods per class, at most */
#define NSTRINGS	64	/* Debug component string table, at most */

enum cg_type { T_VOID, T_SHORT, T_BYTES, T_INSTALL, T_PROCESS, T_COUNT };

struct cg_method {
	const char *name;	/* Debug names and descriptors */
	const char *sig;
	uint8_t token;
	uint8_t dflags;		/* Descriptor access flags */
	uint16_t gflags;	/* Debug access flags */
	enum cg_type type;
	size_t off;		/* method_info offset in the Method info item */
	size_t code_len;	/* bytecode_count */
};

struct cg_class {
	char name[CAPGEN_NAME_MAX + 16];	/* "com/example/capgen/App0" */
	char source[32];			/* "App0.java" */
	size_t off;				/* class_info offset in the Class info item */
	size_t nmethod;
	struct cg_method m[NMETHOD];
	size_t cp_class, cp_init, cp_register;	/* applet classes */
};

struct cg {
	const struct capgen_spec *spec;
	const char *name;
	bool v22;			/* CAP 2.2 layout */
	size_t napp, nclass;
	bool has_array;
	size_t nimport;
	uint8_t tok_lang, tok_fw;
	uint8_t fw_minor;
	size_t fill_units, fill_nops;
	bool ext;			/* the extended format (CAP 2.3) */
	size_t xfull;			/* extended: filler blocks of EXT_BLOCK_MAX bytes */
	size_t xlast;			/* extended: bytes of one more filler block, 0 if none */
	struct cg_class cls[CAPGEN_MAX_APPLETS];
	size_t cp_count, cp_counter, cp_super_init;
	size_t counter_off, array_off;	/* in the static field image */
	size_t image_size;
	struct cpk_buf refs;		/* u16be offsets of 2-byte CP indices in Method info */
	struct cpk_buf comp[CAPGEN_TAG_MAX + 1];
};

static const char *const component_file[CAPGEN_TAG_MAX + 1] = {
	[CAPGEN_HEADER] = "Header.cap",
	[CAPGEN_DIRECTORY] = "Directory.cap",
	[CAPGEN_APPLET] = "Applet.cap",
	[CAPGEN_IMPORT] = "Import.cap",
	[CAPGEN_CONSTANT_POOL] = "ConstantPool.cap",
	[CAPGEN_CLASS] = "Class.cap",
	[CAPGEN_METHOD] = "Method.cap",
	[CAPGEN_STATIC_FIELD] = "StaticField.cap",
	[CAPGEN_REF_LOCATION] = "RefLocation.cap",
	[CAPGEN_EXPORT] = "Export.cap",
	[CAPGEN_DESCRIPTOR] = "Descriptor.cap",
	[CAPGEN_DEBUG] = "Debug.cap",
};

static const uint8_t lfdb_order[] = {
	CAPGEN_HEADER, CAPGEN_DIRECTORY, CAPGEN_IMPORT, CAPGEN_APPLET, CAPGEN_CLASS,
	CAPGEN_METHOD, CAPGEN_STATIC_FIELD, CAPGEN_EXPORT, CAPGEN_CONSTANT_POOL,
	CAPGEN_REF_LOCATION, CAPGEN_DESCRIPTOR,
};

const char *
capgen_component_file(unsigned tag)
{
	if (tag == 0 || tag > CAPGEN_TAG_MAX)
		return NULL;
	return component_file[tag];
}

size_t
capgen_lfdb_order(const uint8_t **tags)
{
	*tags = lfdb_order;
	return sizeof(lfdb_order);
}

void
capgen_spec_init(struct capgen_spec *spec)
{
	static const uint8_t def_pkg[] = { 0xF0, 0x43, 0x50, 0x4B, 0x43, 0x47, 0x01 };

	memset(spec, 0, sizeof(*spec));
	spec->package.len = (uint8_t)sizeof(def_pkg);
	memcpy(spec->package.b, def_pkg, sizeof(def_pkg));
	spec->pkg_major = 1;
	spec->pkg_minor = 0;
	spec->cap_major = 2;
	spec->cap_minor = 1;
	spec->descriptor = true;
}

cpk_status
capgen_aid_parse(const char *hex, struct capgen_aid *aid, struct cpk_error *err)
{
	uint8_t tmp[CAPGEN_AID_MAX];
	size_t n = 0;
	cpk_status st;

	if (hex == NULL)
		return cpk_error_set(err, CPK_ERR_ARG, "missing AID");
	if (strlen(hex) > 2 * CAPGEN_AID_MAX)
		return cpk_error_set(err, CPK_ERR_RANGE,
		    "AID '%.40s' is longer than %d bytes", hex, CAPGEN_AID_MAX);
	st = cpk_hex_decode(hex, strlen(hex), tmp, sizeof(tmp), &n, err);
	if (st != CPK_OK)
		return st;
	if (n < CAPGEN_AID_MIN)
		return cpk_error_set(err, CPK_ERR_RANGE,
		    "AID '%s' has %zu bytes, expected %d to %d", hex, n,
		    CAPGEN_AID_MIN, CAPGEN_AID_MAX);
	aid->len = (uint8_t)n;
	memcpy(aid->b, tmp, n);
	return CPK_OK;
}

/* --- a byte writer with a sticky status --- */

struct cg_w {
	struct cpk_buf *b;
	struct cpk_error *err;
	cpk_status st;
};

static void
w_init(struct cg_w *w, struct cpk_buf *b, struct cpk_error *err)
{
	w->b = b;
	w->err = err;
	w->st = CPK_OK;
}

static void
w_range(struct cg_w *w, size_t v, size_t max)
{
	if (w->st == CPK_OK && v > max)
		w->st = cpk_error_set(w->err, CPK_ERR_RANGE,
		    "internal: value %zu does not fit in %zu", v, max);
}

static void
w_u8(struct cg_w *w, size_t v)
{
	w_range(w, v, U1_MAX);
	if (w->st == CPK_OK)
		w->st = cpk_buf_append_byte(w->b, (uint8_t)v, w->err);
}

static void
w_u16(struct cg_w *w, size_t v)
{
	w_range(w, v, U2_MAX);
	if (w->st == CPK_OK)
		w->st = cpk_buf_append_u16be(w->b, (uint16_t)v, w->err);
}

static void
w_u32(struct cg_w *w, uint32_t v)
{
	uint8_t tmp[4];

	cpk_put_u32be(tmp, v);
	if (w->st == CPK_OK)
		w->st = cpk_buf_append(w->b, tmp, sizeof(tmp), w->err);
}

static void
w_bytes(struct cg_w *w, const void *p, size_t n)
{
	if (w->st == CPK_OK)
		w->st = cpk_buf_append(w->b, p, n, w->err);
}

/* u1 length then the bytes. */
static void
w_aid(struct cg_w *w, const uint8_t *aid, size_t len)
{
	w_u8(w, len);
	w_bytes(w, aid, len);
}

static void w_text(struct cg_w *, const char *, ...) __attribute__((format(printf, 2, 3)));

static void
w_text(struct cg_w *w, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	if (w->st != CPK_OK)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line)) {
		w->st = cpk_error_set(w->err, CPK_ERR_RANGE, "internal: manifest line too long");
		return;
	}
	w_bytes(w, line, (size_t)n);
}

/* Does this component have a u4 size (extended format, JCVM 3.1 6.2)? */
static bool
cg_wide(const struct cg *g, unsigned tag)
{
	return g->ext && (tag == CAPGEN_METHOD || tag == CAPGEN_REF_LOCATION ||
	    tag == CAPGEN_DESCRIPTOR || tag == CAPGEN_DEBUG);
}

/* Store a finished info item as component `tag` (tag, u2 or u4 size, info). */
static cpk_status
cg_wrap(struct cg *g, unsigned tag, const struct cpk_buf *info, cpk_status st,
    struct cpk_error *err)
{
	struct cg_w w;

	if (st != CPK_OK)
		return st;
	if (cg_wide(g, tag)) {
		if (info->len > UINT32_MAX)
			return cpk_error_set(err, CPK_ERR_RANGE, "%s would hold %zu bytes",
			    component_file[tag], info->len);
		cpk_buf_reset(&g->comp[tag]);
		w_init(&w, &g->comp[tag], err);
		w_u8(&w, tag);
		w_u32(&w, (uint32_t)info->len);
		w_bytes(&w, info->data, info->len);
		return w.st;
	}
	if (info->len > U2_MAX)
		return cpk_error_set(err, CPK_ERR_RANGE,
		    "%s would hold %zu bytes, the u2 size allows 65535",
		    component_file[tag], info->len);
	cpk_buf_reset(&g->comp[tag]);
	w_init(&w, &g->comp[tag], err);
	w_u8(&w, tag);
	w_u16(&w, info->len);
	w_bytes(&w, info->data, info->len);
	return w.st;
}

/* --- spec checks --- */

static bool
name_valid(const char *s)
{
	size_t i, seg = 0;
	char c;

	if (strlen(s) == 0 || strlen(s) > CAPGEN_NAME_MAX)
		return false;
	for (i = 0; s[i] != '\0'; i++) {
		c = s[i];
		if (c == '/') {
			if (seg == 0)
				return false;
			seg = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
		    c == '$' || (seg > 0 && c >= '0' && c <= '9')))
			return false;
		seg++;
	}
	return seg > 0;
}

static bool
aid_ok(const struct capgen_aid *a)
{
	return a->len >= CAPGEN_AID_MIN && a->len <= CAPGEN_AID_MAX;
}

static bool
aid_eq(const struct capgen_aid *a, const struct capgen_aid *b)
{
	return a->len == b->len && memcmp(a->b, b->b, a->len) == 0;
}

/* Is component `tag` produced for this spec (before malformations)? */
static bool
spec_has(const struct capgen_spec *s, unsigned tag)
{
	switch (tag) {
	case CAPGEN_APPLET:
		return s->applet_count > 0;
	case CAPGEN_EXPORT:
		return s->export_;
	case CAPGEN_DESCRIPTOR:
		return s->descriptor;
	case CAPGEN_DEBUG:
		return s->debug;
	default:
		return tag >= 1 && tag <= CAPGEN_TAG_MAX;
	}
}

static cpk_status
cg_check_applets(const struct capgen_spec *s, struct cpk_error *err)
{
	size_t i, j;

	if (s->applet_count > CAPGEN_MAX_APPLETS)
		return cpk_error_set(err, CPK_ERR_RANGE, "%zu applets, at most %d",
		    s->applet_count, CAPGEN_MAX_APPLETS);
	for (i = 0; i < s->applet_count; i++) {
		if (!aid_ok(&s->applets[i]))
			return cpk_error_set(err, CPK_ERR_RANGE,
			    "applet %zu: AID length %u, expected %d to %d", i + 1,
			    s->applets[i].len, CAPGEN_AID_MIN, CAPGEN_AID_MAX);
		/* JCVM 6.5: every applet AID has the package's RID. */
		if (!(s->malform & CAPGEN_MAL_FOREIGN_RID) &&
		    memcmp(s->applets[i].b, s->package.b, 5) != 0)
			return cpk_error_set(err, CPK_ERR_ARG,
			    "applet %zu: its RID (first 5 bytes) differs from the package's", i + 1);
		if (aid_eq(&s->applets[i], &s->package))
			return cpk_error_set(err, CPK_ERR_ARG,
			    "applet %zu: same AID as the package", i + 1);
		for (j = 0; j < i; j++)
			if (aid_eq(&s->applets[i], &s->applets[j]))
				return cpk_error_set(err, CPK_ERR_ARG,
				    "applets %zu and %zu have the same AID", j + 1, i + 1);
	}
	return CPK_OK;
}

static cpk_status
cg_check_malform(const struct capgen_spec *s, struct cpk_error *err)
{
	unsigned tag = s->malform_tag != 0 ? s->malform_tag : CAPGEN_METHOD;

	if ((s->malform & ~CAPGEN_MAL_ALL) != 0)
		return cpk_error_set(err, CPK_ERR_ARG, "unknown malformation bits 0x%x",
		    s->malform & ~CAPGEN_MAL_ALL);
	if ((s->malform & CAPGEN_MAL_NO_APPLET) && s->applet_count == 0)
		return cpk_error_set(err, CPK_ERR_ARG,
		    "malformation 'no-applet' needs at least one applet");
	if (tag > CAPGEN_TAG_MAX)
		return cpk_error_set(err, CPK_ERR_ARG, "malformation target tag %u unknown", tag);
	if ((s->malform & (CAPGEN_MAL_BAD_SIZE | CAPGEN_MAL_TRUNCATED |
	    CAPGEN_MAL_DUPLICATE | CAPGEN_MAL_OUTSIDE_DIR)) && !spec_has(s, tag))
		return cpk_error_set(err, CPK_ERR_ARG,
		    "malformation target %s is not part of this CAP", component_file[tag]);
	return CPK_OK;
}

static cpk_status
cg_check_spec(const struct capgen_spec *s, struct cpk_error *err)
{
	cpk_status st;

	if (!aid_ok(&s->package))
		return cpk_error_set(err, CPK_ERR_RANGE,
		    "package AID length %u, expected %d to %d", s->package.len,
		    CAPGEN_AID_MIN, CAPGEN_AID_MAX);
	if (s->cap_major != 2 || (s->cap_minor != 1 && s->cap_minor != 2))
		return cpk_error_set(err, CPK_ERR_UNSUPPORTED,
		    "CAP format %u.%u is not supported (2.1 or 2.2)", s->cap_major,
		    s->cap_minor);
	if (s->name != NULL && !name_valid(s->name))
		return cpk_error_set(err, CPK_ERR_ARG,
		    "package path '%.60s' is not a/b/c made of Java identifiers "
		    "(at most %d bytes)", s->name, CAPGEN_NAME_MAX);
	if ((st = cg_check_applets(s, err)) != CPK_OK)
		return st;
	if (s->debug && s->cap_minor < 2 && !s->extended)
		return cpk_error_set(err, CPK_ERR_ARG,
		    "the Debug component needs CAP format 2.2");
	if (s->export_ && s->applet_count > 0)
		return cpk_error_set(err, CPK_ERR_ARG,
		    "an Export component is generated for library packages only (no applets)");
	return cg_check_malform(s, err);
}

/* --- the package model --- */

static void
cg_method_set(struct cg_method *m, const char *name, const char *sig, uint8_t token,
    uint8_t dflags, uint16_t gflags, enum cg_type type)
{
	m->name = name;
	m->sig = sig;
	m->token = token;
	m->dflags = dflags;
	m->gflags = gflags;
	m->type = type;
	m->off = 0;
	m->code_len = 0;
}

static void
cg_model(struct cg *g, const struct capgen_spec *spec)
{
	struct cg_class *c;
	size_t k;

	g->spec = spec;
	g->name = spec->name != NULL ? spec->name : "com/example/capgen";
	g->ext = spec->extended;
	g->v22 = spec->cap_minor >= 2 || g->ext;
	g->napp = spec->applet_count;
	g->nclass = g->napp > 0 ? g->napp : 1;
	/* JCVM 6.11: a library package initialises no arrays. */
	g->has_array = g->napp > 0;
	g->tok_lang = 0;
	g->tok_fw = 1;
	g->nimport = g->napp > 0 ? 2 : 1;
	g->fw_minor = g->v22 ? 3 : 1;

	g->cp_counter = 0;
	g->cp_super_init = 1;
	g->cp_count = 2 + 3 * g->napp;
	g->array_off = 0;
	g->counter_off = g->has_array ? 2 : 0;
	g->image_size = g->counter_off + 2;

	for (k = 0; k < g->nclass; k++) {
		c = &g->cls[k];
		cg_method_set(&c->m[0], "<init>", "()V", 0, D_ACC_PUBLIC | D_ACC_INIT,
		    G_ACC_PUBLIC, T_VOID);
		if (g->napp > 0) {
			snprintf(c->name, sizeof(c->name), "%s/App%zu", g->name, k);
			snprintf(c->source, sizeof(c->source), "App%zu.java", k);
			c->nmethod = 3;
			cg_method_set(&c->m[1], "install", "([BSB)V", 1,
			    D_ACC_PUBLIC | D_ACC_STATIC, G_ACC_PUBLIC | G_ACC_STATIC, T_INSTALL);
			cg_method_set(&c->m[2], "process", "(Ljavacard/framework/APDU;)V",
			    TOK_APPLET_PROCESS, D_ACC_PUBLIC, G_ACC_PUBLIC, T_PROCESS);
			c->cp_class = 2 + 3 * k;
			c->cp_init = 3 + 3 * k;
			c->cp_register = 4 + 3 * k;
		} else {
			snprintf(c->name, sizeof(c->name), "%s/Lib", g->name);
			snprintf(c->source, sizeof(c->source), "Lib.java");
			c->nmethod = 2;
			cg_method_set(&c->m[1], "run", "()V", 1, D_ACC_PUBLIC | D_ACC_STATIC,
			    G_ACC_PUBLIC | G_ACC_STATIC, T_VOID);
		}
	}
}

/* --- Method component --- */

/* An instruction with a 2-byte Constant Pool index; remember where it is. */
static void
emit_cpref(struct cg_w *code, struct cg_w *refs, unsigned op, size_t cpidx)
{
	w_u8(code, op);
	w_u16(refs, code->b->len);
	w_u16(code, cpidx);
}

static void
emit_header(struct cg_w *code, unsigned max_stack, unsigned nargs, unsigned max_locals)
{
	w_u8(code, max_stack & 0x0F);	/* flags 0 */
	w_u8(code, ((nargs & 0x0F) << 4) | (max_locals & 0x0F));
}

/* The method that carries the padding (last method of class 0). */
static void
emit_filled_body(struct cg *g, struct cg_w *code, struct cg_w *refs, bool fill)
{
	size_t i;

	if (fill) {
		for (i = 0; i < g->fill_units; i++) {
			emit_cpref(code, refs, OP_GETSTATIC_S, g->cp_counter);
			w_u8(code, OP_SCONST_1);
			w_u8(code, OP_SADD);
			emit_cpref(code, refs, OP_PUTSTATIC_S, g->cp_counter);
		}
		for (i = 0; i < g->fill_nops; i++)
			w_u8(code, OP_NOP);
	}
	w_u8(code, OP_RETURN);
}

static void
emit_class_methods(struct cg *g, struct cg_class *c, bool fill, struct cg_w *code,
    struct cg_w *refs)
{
	struct cg_method *m;
	size_t i;

	for (i = 0; i < c->nmethod; i++) {
		m = &c->m[i];
		m->off = code->b->len;
		if (i == 0) {
			/* <init>: this.super(); return */
			emit_header(code, 1, 1, 0);
			w_u8(code, OP_ALOAD_0);
			emit_cpref(code, refs, OP_INVOKESPECIAL, g->cp_super_init);
			w_u8(code, OP_RETURN);
		} else if (g->napp > 0 && i == 1) {
			/* install(byte[], short, byte): new App().register() */
			emit_header(code, 2, 3, 0);
			emit_cpref(code, refs, OP_NEW, c->cp_class);
			w_u8(code, OP_DUP);
			emit_cpref(code, refs, OP_INVOKESPECIAL, c->cp_init);
			emit_cpref(code, refs, OP_INVOKEVIRTUAL, c->cp_register);
			w_u8(code, OP_RETURN);
		} else {
			/* process(APDU) or static run() */
			emit_header(code, fill && g->fill_units > 0 ? 2 : 0,
			    g->napp > 0 ? 2 : 0, 0);
			emit_filled_body(g, code, refs, fill);
		}
		m->code_len = code->b->len - m->off - 2;
	}
}

/* A filler Method block of len bytes: no handler, one method of nops. */
static void
emit_filler_block(struct cg_w *w, size_t len)
{
	size_t i;

	w_u8(w, 0);		/* handler_count */
	emit_header(w, 0, 0, 0);
	for (i = 0; i < len - EXT_BLOCK_MIN; i++)
		w_u8(w, OP_NOP);
	w_u8(w, OP_RETURN);
}

/*
 * The extended Method info item: u1 block count, u4 offsets of the blocks
 * from the start of the info item, then the blocks: block 0 holds the
 * modelled methods (every other component's Method offsets are into it),
 * the filler blocks after it make the size.
 */
static cpk_status
cg_method_blocks(struct cg *g, const struct cpk_buf *block0, struct cpk_buf *info,
    struct cpk_error *err)
{
	size_t n = 1 + g->xfull + (g->xlast > 0), off, i;
	struct cg_w w;

	if (block0->len > EXT_BLOCK_MAX)
		return cpk_error_set(err, CPK_ERR_RANGE,
		    "internal: Method block 0 of %zu bytes", block0->len);
	w_init(&w, info, err);
	w_u8(&w, n);
	off = 1 + 4 * n;
	for (i = 0; i < n; i++) {
		w_u32(&w, (uint32_t)off);
		off += i == 0 ? block0->len : i <= g->xfull ? EXT_BLOCK_MAX : g->xlast;
	}
	w_bytes(&w, block0->data, block0->len);
	for (i = 0; i < g->xfull; i++)
		emit_filler_block(&w, EXT_BLOCK_MAX);
	if (g->xlast > 0)
		emit_filler_block(&w, g->xlast);
	return w.st;
}

static cpk_status
cg_method_component(struct cg *g, struct cpk_error *err)
{
	struct cpk_buf info = CPK_BUF_INIT, blocks = CPK_BUF_INIT;
	struct cg_w code, refs;
	size_t k;
	cpk_status st;

	cpk_buf_reset(&g->refs);
	w_init(&code, &info, err);
	w_init(&refs, &g->refs, err);
	w_u8(&code, 0);		/* handler_count */
	for (k = 0; k < g->nclass; k++)
		emit_class_methods(g, &g->cls[k], k == 0, &code, &refs);
	st = code.st != CPK_OK ? code.st : refs.st;
	if (st == CPK_OK && g->ext)
		st = cg_method_blocks(g, &info, &blocks, err);
	st = cg_wrap(g, CAPGEN_METHOD, g->ext ? &blocks : &info, st, err);
	cpk_buf_free(&info);
	cpk_buf_free(&blocks);
	return st;
}

/* --- Class, Constant Pool, Static Field, Reference Location --- */

static size_t
ext_ref(uint8_t pkg_token, uint8_t class_token)
{
	return ((size_t)(0x80u | pkg_token) << 8) | class_token;
}

static cpk_status
cg_class_component(struct cg *g, struct cpk_error *err)
{
	struct cpk_buf info = CPK_BUF_INIT;
	struct cg_class *c;
	struct cg_w w;
	size_t k;
	cpk_status st;

	w_init(&w, &info, err);
	if (g->v22)
		w_u16(&w, 0);	/* signature_pool_length: no remote interfaces */
	for (k = 0; k < g->nclass; k++) {
		c = &g->cls[k];
		c->off = info.len;
		w_u8(&w, 0);	/* flags 0, interface_count 0 */
		if (g->napp > 0)
			w_u16(&w, ext_ref(g->tok_fw, TOK_FW_APPLET));
		else
			w_u16(&w, ext_ref(g->tok_lang, TOK_LANG_OBJECT));
		w_u8(&w, 0);	/* declared_instance_size */
		w_u8(&w, 0xFF);	/* first_reference_token: none */
		w_u8(&w, 0);	/* reference_count */
		if (g->napp > 0) {
			/* overrides process(APDU) only */
			w_u8(&w, TOK_APPLET_PROCESS);
			w_u8(&w, 1);
		} else {
			w_u8(&w, OBJECT_PUBLIC_METHODS);
			w_u8(&w, 0);
		}
		w_u8(&w, 0);	/* package_method_table_base */
		w_u8(&w, 0);	/* package_method_table_count */
		if (g->napp > 0 && g->ext)
			w_u8(&w, 0);	/* method_component_block_index */
		if (g->napp > 0)
			w_u16(&w, c->m[2].off);
	}
	st = cg_wrap(g, CAPGEN_CLASS, &info, w.st, err);
	cpk_buf_free(&info);
	return st;
}

static cpk_status
cg_constant_pool(struct cg *g, struct cpk_error *err)
{
	struct cpk_buf info = CPK_BUF_INIT;
	struct cg_class *c;
	struct cg_w w;
	size_t k;
	cpk_status st;

	w_init(&w, &info, err);
	w_u16(&w, g->cp_count);
	/* 0: the static short counter */
	w_u8(&w, CP_STATICFIELDREF);
	w_u8(&w, 0);
	w_u16(&w, g->counter_off);
	/* 1: the superclass constructor */
	w_u8(&w, CP_STATICMETHODREF);
	if (g->napp > 0) {
		w_u16(&w, ext_ref(g->tok_fw, TOK_FW_APPLET));
		w_u8(&w, TOK_APPLET_INIT);
	} else {
		w_u16(&w, ext_ref(g->tok_lang, TOK_LANG_OBJECT));
		w_u8(&w, TOK_OBJECT_INIT);
	}
	for (k = 0; k < g->napp; k++) {
		c = &g->cls[k];
		w_u8(&w, CP_CLASSREF);
		w_u16(&w, c->off);
		w_u8(&w, 0);
		w_u8(&w, CP_STATICMETHODREF);
		w_u8(&w, 0);
		w_u16(&w, c->m[0].off);
		w_u8(&w, CP_VIRTUALMETHODREF);
		w_u16(&w, c->off);
		w_u8(&w, TOK_APPLET_REGISTER);
	}
	st = cg_wrap(g, CAPGEN_CONSTANT_POOL, &info, w.st, err);
	cpk_buf_free(&info);
	return st;
}

static cpk_status
cg_static_field(struct cg *g, struct cpk_error *err)
{
	struct cpk_buf info = CPK_BUF_INIT;
	struct cg_w w;
	cpk_status st;

	w_init(&w, &info, err);
	w_u16(&w, g->image_size);
	w_u16(&w, g->has_array ? 1 : 0);	/* reference_count */
	w_u16(&w, g->has_array ? 1 : 0);	/* array_init_count */
	if (g->has_array) {
		w_u8(&w, ARRAY_TYPE_BYTE);
		w_u16(&w, sizeof(array_init_values));
		w_bytes(&w, array_init_values, sizeof(array_init_values));
	}
	w_u16(&w, 2);	/* default_value_count: the short counter */
	w_u16(&w, 0);	/* non_default_value_count */
	st = cg_wrap(g, CAPGEN_STATIC_FIELD, &info, w.st, err);
	cpk_buf_free(&info);
	return st;
}

static cpk_status
cg_ref_location(struct cg *g, struct cpk_error *err)
{
	struct cpk_buf info = CPK_BUF_INIT, deltas = CPK_BUF_INIT;
	struct cg_w w, d;
	size_t i, pos, prev = 0, delta;
	cpk_status st;

	w_init(&d, &deltas, err);
	for (i = 0; i + 1 < g->refs.len; i += 2) {
		pos = ((size_t)g->refs.data[i] << 8) | g->refs.data[i + 1];
		delta = pos - prev;
		/* 255 means "skip 255 bytes"; the remainder follows. */
		while (delta >= 255) {
			w_u8(&d, 255);
			delta -= 255;
		}
		w_u8(&d, delta);
		prev = pos;
	}
	w_init(&w, &info, err);
	w_u16(&w, 0);		/* byte_index_count: no 1-byte indices */
	w_u16(&w, deltas.len);
	w_bytes(&w, deltas.data, deltas.len);
	st = d.st != CPK_OK ? d.st : w.st;
	st = cg_wrap(g, CAPGEN_REF_LOCATION, &info, st, err);
	cpk_buf_free(&deltas);
	cpk_buf_free(&info);
	return st;
}

/* --- Import, Applet, Header, Export --- */

static cpk_status
cg_import(struct cg *g, struct cpk_error *err)
{
	struct cpk_buf info = CPK_BUF_INIT;
	struct cg_w w;
	cpk_status st;

	w_init(&w, &info, err);
	w_u8(&w, g->nimport);
	w_u8(&w, 0);		/* java.lang 1.0 */
	w_u8(&w, 1);
	w_aid(&w, aid_lang, sizeof(aid_lang));
	if (g->napp > 0) {
		w_u8(&w, g->fw_minor);	/* javacard.framework 1.x */
		w_u8(&w, 1);
		w_aid(&w, aid_framework, sizeof(aid_framework));
	}
	st = cg_wrap(g, CAPGEN_IMPORT, &info, w.st, err);
	cpk_buf_free(&info);
	return st;
}

static cpk_status
cg_applet(struct cg *g, struct cpk_error *err)
{
	struct cpk_buf info = CPK_BUF_INIT;
	const struct capgen_aid *a;
	struct cg_w w;
	size_t k;
	cpk_status st;

	w_init(&w, &info, err);
	w_u8(&w, g->napp);
	for (k = 0; k < g->napp; k++) {
		a = &g->spec->applets[k];
		w_aid(&w, a->b, a->len);
		if (g->ext)
			w_u8(&w, 0);	/* install_method_component_block_index */
		w_u16(&w, g->cls[k].m[1].off);	/* install_method_offset */
	}
	st = cg_wrap(g, CAPGEN_APPLET, &info, w.st, err);
	cpk_buf_free(&info);
	return st;
}

static unsigned
cg_header_flags(const struct cg *g)
{
	unsigned f = 0;

	if (g->spec->export_)
		f |= CAPGEN_ACC_EXPORT;
	if (g->napp > 0)
		f |= CAPGEN_ACC_APPLET;
	if (g->spec->extended)
		f |= CAPGEN_ACC_EXTENDED;
	return f;
}

static cpk_status
cg_header(struct cg *g, struct cpk_error *err)
{
	struct cpk_buf info = CPK_BUF_INIT;
	const struct capgen_spec *s = g->spec;
	struct cg_w w;
	cpk_status st;

	w_init(&w, &info, err);
	w_u32(&w, 0xDECAFFEDu);
	w_u8(&w, g->ext ? 3 : s->cap_minor);
	w_u8(&w, g->ext ? 2 : s->cap_major);
	w_u8(&w, cg_header_flags(g));
	/* Extended: the CAP file's version and AID (the package's), then its one package. */
	w_u8(&w, s->pkg_minor);
	w_u8(&w, s->pkg_major);
	w_aid(&w, s->package.b, s->package.len);
	if (g->ext) {
		w_u8(&w, 1);	/* package_count */
		w_u8(&w, s->pkg_minor);
		w_u8(&w, s->pkg_major);
		w_aid(&w, s->package.b, s->package.len);
	}
	if (g->v22) {
		w_u8(&w, strlen(g->name));
		w_bytes(&w, g->name, strlen(g->name));
	}
	st = cg_wrap(g, CAPGEN_HEADER, &info, w.st, err);
	cpk_buf_free(&info);
	return st;
}

static cpk_status
cg_export(struct cg *g, struct cpk_error *err)
{
	struct cpk_buf info = CPK_BUF_INIT;
	const struct cg_class *c = &g->cls[0];
	struct cg_w w;
	cpk_status st;

	w_init(&w, &info, err);
	w_u8(&w, 1);		/* class_count: the library class, token 0 */
	w_u16(&w, c->off);
	w_u8(&w, 1);		/* static fields: counter */
	w_u8(&w, 2);		/* static methods: <init>, run */
	w_u16(&w, g->counter_off);
	w_u16(&w, c->m[0].off);
	w_u16(&w, c->m[1].off);
	st = cg_wrap(g, CAPGEN_EXPORT, &info, w.st, err);
	cpk_buf_free(&info);
	return st;
}

/* --- Descriptor --- */

/* Type descriptor of `t` as nibbles; returns the count. */
static size_t
cg_type_nibbles(const struct cg *g, enum cg_type t, uint8_t nib[8])
{
	size_t apdu = ext_ref(g->tok_fw, TOK_FW_APDU);

	switch (t) {
	case T_VOID:
		nib[0] = 0x1;
		return 1;
	case T_SHORT:
		nib[0] = 0x4;
		return 1;
	case T_BYTES:
		nib[0] = 0xB;
		return 1;
	case T_INSTALL:		/* (byte[], short, byte) void */
		nib[0] = 0xB;
		nib[1] = 0x4;
		nib[2] = 0x3;
		nib[3] = 0x1;
		return 4;
	case T_PROCESS:		/* (APDU) void: reference + class_ref */
		nib[0] = 0x6;
		nib[1] = (uint8_t)((apdu >> 12) & 0xF);
		nib[2] = (uint8_t)((apdu >> 8) & 0xF);
		nib[3] = (uint8_t)((apdu >> 4) & 0xF);
		nib[4] = (uint8_t)(apdu & 0xF);
		nib[5] = 0x1;
		return 6;
	default:
		return 0;
	}
}

static bool
cg_type_used(const struct cg *g, enum cg_type t)
{
	return t == T_VOID || t == T_SHORT || g->napp > 0;
}

static void
w_type(struct cg_w *w, const uint8_t *nib, size_t n)
{
	size_t i;

	w_u8(w, n);
	for (i = 0; i < n; i += 2)
		w_u8(w, (size_t)(nib[i] << 4) | (i + 1 < n ? nib[i + 1] : 0));
}

/* Offsets of the type descriptors in type_descriptor_info. */
static void
cg_type_offsets(const struct cg *g, size_t off[T_COUNT])
{
	uint8_t nib[8];
	size_t pos = 2 + 2 * g->cp_count, n;
	int t;

	for (t = 0; t < T_COUNT; t++) {
		off[t] = D_NO_TYPE;
		if (!cg_type_used(g, (enum cg_type)t))
			continue;
		off[t] = pos;
		n = cg_type_nibbles(g, (enum cg_type)t, nib);
		pos += 1 + (n + 1) / 2;
	}
}

static void
w_field_desc(struct cg_w *w, size_t token, unsigned flags, size_t image_off, size_t type)
{
	w_u8(w, token);
	w_u8(w, flags);
	w_u8(w, 0);		/* static_field_ref: padding, offset */
	w_u16(w, image_off);
	w_u16(w, type);
}

static void
w_class_desc(const struct cg *g, size_t k, const size_t toff[T_COUNT], struct cg_w *w)
{
	const struct cg_class *c = &g->cls[k];
	const struct cg_method *m;
	size_t i, nfield = 0;

	if (k == 0)
		nfield = g->has_array ? 2 : 1;
	w_u8(w, k);		/* class token */
	w_u8(w, D_ACC_PUBLIC);
	w_u16(w, c->off);
	w_u8(w, 0);		/* interface_count */
	w_u16(w, nfield);
	w_u16(w, c->nmethod);
	if (k == 0 && g->has_array)
		w_field_desc(w, 0, D_ACC_PUBLIC | D_ACC_STATIC | D_ACC_FINAL, g->array_off,
		    toff[T_BYTES]);
	if (k == 0)
		w_field_desc(w, nfield - 1, D_ACC_PUBLIC | D_ACC_STATIC, g->counter_off,
		    D_TYPE_SHORT);
	for (i = 0; i < c->nmethod; i++) {
		m = &c->m[i];
		w_u8(w, m->token);
		w_u8(w, m->dflags);
		w_u16(w, m->off);
		w_u16(w, toff[m->type]);
		w_u16(w, m->code_len);
		w_u16(w, 0);	/* exception_handler_count */
		w_u16(w, 0);	/* exception_handler_index */
	}
}

/* Type of each Constant Pool entry, in pool order. */
static size_t
cg_cp_type(const struct cg *g, size_t idx, const size_t toff[T_COUNT])
{
	if (idx == g->cp_counter)
		return toff[T_SHORT];
	if (idx == g->cp_super_init)
		return toff[T_VOID];
	/* applet entries: Classref, <init>, register() */
	return (idx - 2) % 3 == 0 ? D_NO_TYPE : toff[T_VOID];
}

static cpk_status
cg_descriptor(struct cg *g, struct cpk_error *err)
{
	struct cpk_buf info = CPK_BUF_INIT;
	size_t toff[T_COUNT], k, n;
	uint8_t nib[8];
	struct cg_w w;
	int t;
	cpk_status st;

	cg_type_offsets(g, toff);
	w_init(&w, &info, err);
	w_u8(&w, g->nclass);
	for (k = 0; k < g->nclass; k++)
		w_class_desc(g, k, toff, &w);
	/* type_descriptor_info */
	w_u16(&w, g->cp_count);
	for (k = 0; k < g->cp_count; k++)
		w_u16(&w, cg_cp_type(g, k, toff));
	for (t = 0; t < T_COUNT; t++) {
		if (!cg_type_used(g, (enum cg_type)t))
			continue;
		n = cg_type_nibbles(g, (enum cg_type)t, nib);
		w_type(&w, nib, n);
	}
	st = cg_wrap(g, CAPGEN_DESCRIPTOR, &info, w.st, err);
	cpk_buf_free(&info);
	return st;
}

/* --- Debug (CAP 2.2) --- */

struct cg_strtab {
	const char *s[NSTRINGS];
	size_t n;
};

/* Index of s in the table, added if new; SIZE_MAX when full. */
static size_t
str_idx(struct cg_strtab *t, const char *s)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (strcmp(t->s[i], s) == 0)
			return i;
	if (t->n == NSTRINGS)
		return SIZE_MAX;
	t->s[t->n] = s;
	return t->n++;
}

static const char *
cg_super_name(const struct cg *g)
{
	return g->napp > 0 ? "javacard/framework/Applet" : "java/lang/Object";
}

static void
w_debug_field(struct cg_w *w, struct cg_strtab *st, const char *name, const char *sig,
    unsigned flags, size_t image_off)
{
	w_u16(w, str_idx(st, name));
	w_u16(w, str_idx(st, sig));
	w_u16(w, flags);
	w_u16(w, 0);		/* contents: location_var { pad, location } */
	w_u16(w, image_off);
}

static void
w_debug_class(const struct cg *g, size_t k, struct cg_strtab *st, struct cg_w *w)
{
	const struct cg_class *c = &g->cls[k];
	const struct cg_method *m;
	size_t i, nfield = k == 0 ? (g->has_array ? 2 : 1) : 0;

	w_u16(w, str_idx(st, c->name));
	w_u16(w, G_ACC_PUBLIC);
	w_u16(w, c->off);
	w_u16(w, str_idx(st, cg_super_name(g)));
	w_u16(w, str_idx(st, c->source));
	w_u8(w, 0);		/* interface_count */
	w_u16(w, nfield);
	w_u16(w, c->nmethod);
	if (k == 0 && g->has_array)
		w_debug_field(w, st, "DATA", "[B", G_ACC_PUBLIC | G_ACC_STATIC | G_ACC_FINAL,
		    g->array_off);
	if (k == 0)
		w_debug_field(w, st, "counter", "S", G_ACC_PUBLIC | G_ACC_STATIC,
		    g->counter_off);
	for (i = 0; i < c->nmethod; i++) {
		m = &c->m[i];
		w_u16(w, str_idx(st, m->name));
		w_u16(w, str_idx(st, m->sig));
		w_u16(w, m->gflags);
		w_u16(w, m->off);
		w_u8(w, 2);	/* header_size */
		w_u16(w, m->code_len);
		w_u16(w, 0);	/* variable_count */
		w_u16(w, 1);	/* line_count */
		w_u16(w, 0);	/* start_pc */
		w_u16(w, m->code_len - 1);	/* end_pc */
		w_u16(w, 10 + 5 * i);	/* source_line */
	}
}

static cpk_status
cg_debug(struct cg *g, struct cpk_error *err)
{
	struct cpk_buf info = CPK_BUF_INIT, scratch = CPK_BUF_INIT;
	struct cg_strtab tab;
	struct cg_w w;
	size_t k, i;
	cpk_status st;

	/* First pass interns every string, in order of use. */
	tab.n = 0;
	(void)str_idx(&tab, g->name);
	w_init(&w, &scratch, err);
	for (k = 0; k < g->nclass; k++)
		w_debug_class(g, k, &tab, &w);

	w_init(&w, &info, err);
	w_u16(&w, tab.n);
	for (i = 0; i < tab.n; i++) {
		w_u16(&w, strlen(tab.s[i]));
		w_bytes(&w, tab.s[i], strlen(tab.s[i]));
	}
	w_u16(&w, str_idx(&tab, g->name));	/* package_name_index */
	w_u16(&w, g->nclass);
	for (k = 0; k < g->nclass; k++)
		w_debug_class(g, k, &tab, &w);
	st = cg_wrap(g, CAPGEN_DEBUG, &info, w.st, err);
	cpk_buf_free(&scratch);
	cpk_buf_free(&info);
	return st;
}

/* --- Directory --- */

static size_t
comp_size(const struct cg *g, unsigned tag)
{
	size_t hdr = cg_wide(g, tag) ? 5 : 3;

	return g->comp[tag].len >= hdr ? g->comp[tag].len - hdr : 0;
}

/* Extended Directory info: 8 u2 and 5 u4 sizes, static sizes, 4 counts. */
#define DIR_EXT_SIZE	(8 * 2 + 5 * 4 + 6 + 4)

static cpk_status
cg_directory(struct cg *g, struct cpk_error *err)
{
	struct cpk_buf info = CPK_BUF_INIT;
	const struct capgen_spec *s = g->spec;
	unsigned tag, ntags = g->v22 ? 12 : 11;
	unsigned target = s->malform_tag != 0 ? s->malform_tag : CAPGEN_METHOD;
	size_t size;
	struct cg_w w;
	cpk_status st;

	w_init(&w, &info, err);
	for (tag = 1; tag <= ntags; tag++) {
		if (tag == CAPGEN_DIRECTORY)
			size = g->ext ? DIR_EXT_SIZE : 2 * ntags + 6 + 3;	/* this component */
		else
			size = comp_size(g, tag);
		if ((s->malform & CAPGEN_MAL_DIR_SIZE) && tag == target)
			size = size < U2_MAX || cg_wide(g, tag) ? size + 1 : size - 1;
		if (cg_wide(g, tag))
			w_u32(&w, (uint32_t)size);
		else
			w_u16(&w, size);
	}
	if (g->ext)
		w_u32(&w, 0);	/* StaticResources: none */
	w_u16(&w, g->image_size);
	w_u16(&w, g->has_array ? 1 : 0);
	w_u16(&w, g->has_array ? sizeof(array_init_values) : 0);
	w_u8(&w, g->nimport);
	w_u8(&w, g->napp);
	if (g->ext)
		w_u8(&w, 1 + g->xfull + (g->xlast > 0));	/* method_component_block_count */
	w_u8(&w, 0);		/* custom_count */
	st = cg_wrap(g, CAPGEN_DIRECTORY, &info, w.st, err);
	cpk_buf_free(&info);
	return st;
}

/* --- the whole CAP --- */

static void
cg_free(struct cg *g)
{
	size_t i;

	for (i = 0; i <= CAPGEN_TAG_MAX; i++)
		cpk_buf_free(&g->comp[i]);
	cpk_buf_free(&g->refs);
}

static cpk_status
cg_components(struct cg *g, struct cpk_error *err)
{
	const struct capgen_spec *s = g->spec;
	cpk_status st;
	size_t i;

	for (i = 0; i <= CAPGEN_TAG_MAX; i++)
		cpk_buf_reset(&g->comp[i]);
	if ((st = cg_method_component(g, err)) != CPK_OK ||
	    (st = cg_class_component(g, err)) != CPK_OK ||
	    (st = cg_constant_pool(g, err)) != CPK_OK ||
	    (st = cg_static_field(g, err)) != CPK_OK ||
	    (st = cg_ref_location(g, err)) != CPK_OK ||
	    (st = cg_import(g, err)) != CPK_OK ||
	    (st = cg_header(g, err)) != CPK_OK)
		return st;
	if (g->napp > 0 && (st = cg_applet(g, err)) != CPK_OK)
		return st;
	if (s->export_ && (st = cg_export(g, err)) != CPK_OK)
		return st;
	if (s->descriptor && (st = cg_descriptor(g, err)) != CPK_OK)
		return st;
	if (s->debug && (st = cg_debug(g, err)) != CPK_OK)
		return st;
	return cg_directory(g, err);
}

static size_t
cg_lfdb_len(const struct cg *g, bool with_descriptor)
{
	size_t i, n = 0;

	for (i = 0; i < sizeof(lfdb_order); i++)
		if (lfdb_order[i] != CAPGEN_DESCRIPTOR || with_descriptor)
			n += g->comp[lfdb_order[i]].len;
	return n;
}

/*
 * Largest padding, in LFDB bytes, that keeps the Method info item within
 * its u2 size: e = 10u + n with n <= 9 grows the Method by 8u + n.
 */
static size_t
cg_pad_max(const struct cg *g)
{
	size_t room = U2_MAX - comp_size(g, CAPGEN_METHOD), units = room / 8;
	size_t nops = room - 8 * units;

	return FILL_UNIT * units + (nops < FILL_UNIT - 1 ? nops : FILL_UNIT - 1);
}

/*
 * Extended format: filler Method blocks of EXT_BLOCK_MAX bytes (each costs
 * 4 more bytes of offset), one shorter block for the rest, and a rest too
 * small for a block (under 8 bytes) as nops in the padding method.
 */
static cpk_status
cg_pad_ext(struct cg *g, size_t extra, struct cpk_error *err)
{
	size_t rest;

	g->xfull = extra / (EXT_BLOCK_MAX + 4);
	rest = extra - g->xfull * (EXT_BLOCK_MAX + 4);
	if (rest >= EXT_BLOCK_MIN + 4)
		g->xlast = rest - 4;
	else
		g->fill_nops = rest;
	if (1 + g->xfull + (g->xlast > 0) > EXT_BLOCKS_MAX)
		return cpk_error_set(err, CPK_ERR_RANGE,
		    "lfdb_size %zu is above the largest Load File Data Block for this spec "
		    "(%d Method blocks of at most %u bytes)", g->spec->lfdb_size,
		    EXT_BLOCKS_MAX, EXT_BLOCK_MAX);
	return CPK_OK;
}

/* Grow the padding method so that the LFDB has exactly spec->lfdb_size bytes. */
static cpk_status
cg_pad(struct cg *g, struct cpk_error *err)
{
	size_t want = g->spec->lfdb_size, base, extra;
	cpk_status st;

	base = cg_lfdb_len(g, g->spec->descriptor);
	if (want < base)
		return cpk_error_set(err, CPK_ERR_RANGE,
		    "lfdb_size %zu is below the smallest Load File Data Block for this "
		    "spec (%zu bytes)", want, base);
	extra = want - base;
	if (g->ext) {
		if ((st = cg_pad_ext(g, extra, err)) != CPK_OK)
			return st;
	} else if (extra > cg_pad_max(g))
		return cpk_error_set(err, CPK_ERR_RANGE,
		    "lfdb_size %zu is above the largest Load File Data Block for this "
		    "spec (%zu bytes: the Method component holds at most 65535 bytes)",
		    want, base + cg_pad_max(g));
	if (!g->ext) {
		g->fill_units = extra / FILL_UNIT;
		g->fill_nops = extra % FILL_UNIT;
	}
	if ((st = cg_components(g, err)) != CPK_OK) {
		cpk_error_prefix(err, "lfdb_size %zu", want);
		return st;
	}
	if (cg_lfdb_len(g, g->spec->descriptor) != want)
		return cpk_error_set(err, CPK_ERR_STATE,
		    "internal: padded Load File Data Block has %zu bytes, wanted %zu",
		    cg_lfdb_len(g, g->spec->descriptor), want);
	return CPK_OK;
}

/* Content malformations: size field and truncation of the target. */
static void
cg_malform_content(struct cg *g)
{
	const struct capgen_spec *s = g->spec;
	unsigned tag = s->malform_tag != 0 ? s->malform_tag : CAPGEN_METHOD;
	struct cpk_buf *c = &g->comp[tag];
	size_t size;

	if (c->len < 3)
		return;
	size = comp_size(g, tag);
	if ((s->malform & CAPGEN_MAL_BAD_SIZE) && cg_wide(g, tag))
		cpk_put_u32be(c->data + 1, (uint32_t)(size + 1));
	else if (s->malform & CAPGEN_MAL_BAD_SIZE)
		cpk_put_u16be(c->data + 1, (uint16_t)(size < U2_MAX ? size + 1 : size - 1));
	if (s->malform & CAPGEN_MAL_TRUNCATED)
		cpk_buf_truncate(c, size - size / 2);
}

static cpk_status
cg_generate(struct cg *g, const struct capgen_spec *spec, struct cpk_error *err)
{
	cpk_status st;

	memset(g, 0, sizeof(*g));
	if (spec == NULL)
		return cpk_error_set(err, CPK_ERR_ARG, "no spec");
	if ((st = cg_check_spec(spec, err)) != CPK_OK)
		return st;
	cg_model(g, spec);
	if ((st = cg_components(g, err)) != CPK_OK)
		return st;
	if (spec->lfdb_size != 0 && (st = cg_pad(g, err)) != CPK_OK)
		return st;
	cg_malform_content(g);
	return CPK_OK;
}

cpk_status
capgen_lfdb(const struct capgen_spec *spec, bool with_descriptor, struct cpk_buf *lfdb,
    struct cpk_error *err)
{
	struct cg g;
	struct cg_w w;
	size_t i;
	cpk_status st;

	if (lfdb == NULL)
		return cpk_error_set(err, CPK_ERR_ARG, "no output buffer");
	if ((st = cg_generate(&g, spec, err)) != CPK_OK)
		goto out;
	if (with_descriptor && !spec->descriptor) {
		st = cpk_error_set(err, CPK_ERR_ARG,
		    "an LFDB with the Descriptor was asked for, but the spec has no Descriptor");
		goto out;
	}
	cpk_buf_reset(lfdb);
	w_init(&w, lfdb, err);
	for (i = 0; i < sizeof(lfdb_order); i++)
		if (lfdb_order[i] != CAPGEN_DESCRIPTOR || with_descriptor)
			w_bytes(&w, g.comp[lfdb_order[i]].data, g.comp[lfdb_order[i]].len);
	st = w.st;
out:
	cg_free(&g);
	return st;
}

/* --- the zip --- */

#define CG_MAX_ENTRIES	(CAPGEN_TAG_MAX + 3)
#define CG_PATH_MAX	(CAPGEN_NAME_MAX + 64)

struct cg_entry {
	char name[CG_PATH_MAX];
	const uint8_t *data;
	size_t len;
};

struct cg_zip {
	struct cg_entry e[CG_MAX_ENTRIES];
	size_t n;
	char dup_name[CG_PATH_MAX];	/* placeholder of the duplicate, "" if none */
	char dup_real[CG_PATH_MAX];
};

static cpk_status
cg_manifest(const struct cg *g, struct cpk_buf *mf, struct cpk_error *err)
{
	const struct capgen_spec *s = g->spec;
	struct cg_w w;
	size_t i, k;
	char dotted[CAPGEN_NAME_MAX + 1];

	snprintf(dotted, sizeof(dotted), "%s", g->name);
	for (i = 0; dotted[i] != '\0'; i++)
		if (dotted[i] == '/')
			dotted[i] = '.';
	w_init(&w, mf, err);
	w_text(&w, "Manifest-Version: 1.0\r\n");
	w_text(&w, "Created-By: cpk capgen (test fixture, not a real converter)\r\n\r\n");
	w_text(&w, "Name: %s/javacard/\r\n", g->name);
	w_text(&w, "Java-Card-CAP-Creation-Time: Wed Jan 01 12:00:00 UTC 2020\r\n");
	w_text(&w, "Java-Card-Converter-Version: capgen\r\n");
	w_text(&w, "Java-Card-CAP-File-Version: %u.%u\r\n", g->ext ? 2 : s->cap_major,
	    g->ext ? 3 : s->cap_minor);
	w_text(&w, "Java-Card-Package-Version: %u.%u\r\n", s->pkg_major, s->pkg_minor);
	w_text(&w, "Java-Card-Package-Name: %s\r\n", dotted);
	w_text(&w, "Java-Card-Package-AID: ");
	for (i = 0; i < s->package.len; i++)
		w_text(&w, "%s0x%x", i > 0 ? ":" : "", s->package.b[i]);
	w_text(&w, "\r\n");
	for (k = 0; k < g->napp; k++) {
		w_text(&w, "Java-Card-Applet-%zu-Name: App%zu\r\n", k + 1, k);
		w_text(&w, "Java-Card-Applet-%zu-AID: ", k + 1);
		for (i = 0; i < s->applets[k].len; i++)
			w_text(&w, "%s0x%x", i > 0 ? ":" : "", s->applets[k].b[i]);
		w_text(&w, "\r\n");
	}
	w_text(&w, "Java-Card-Integer-Support-Required: FALSE\r\n\r\n");
	return w.st;
}

static void
cg_add_entry(struct cg_zip *z, const char *name, const uint8_t *data, size_t len)
{
	struct cg_entry *e = &z->e[z->n++];

	snprintf(e->name, sizeof(e->name), "%s", name);
	e->data = data;
	e->len = len;
}

/* Entries in canonical order: manifest, then components by tag. */
static void
cg_entries(const struct cg *g, const struct cpk_buf *mf, struct cg_zip *z)
{
	const struct capgen_spec *s = g->spec;
	unsigned tag, target = s->malform_tag != 0 ? s->malform_tag : CAPGEN_METHOD;
	char path[CG_PATH_MAX];

	z->n = 0;
	z->dup_name[0] = '\0';
	cg_add_entry(z, "META-INF/MANIFEST.MF", mf->data, mf->len);
	for (tag = 1; tag <= CAPGEN_TAG_MAX; tag++) {
		if (g->comp[tag].len == 0)
			continue;
		if ((s->malform & CAPGEN_MAL_NO_HEADER) && tag == CAPGEN_HEADER)
			continue;
		if ((s->malform & CAPGEN_MAL_NO_APPLET) && tag == CAPGEN_APPLET)
			continue;
		/* JCVM 3.1: the extended format's u4-sized components are .capx files. */
		if ((s->malform & CAPGEN_MAL_OUTSIDE_DIR) && tag == target)
			snprintf(path, sizeof(path), "%s/%s%s", g->name, component_file[tag],
			    cg_wide(g, tag) ? "x" : "");
		else
			snprintf(path, sizeof(path), "%s/javacard/%s%s", g->name,
			    component_file[tag], cg_wide(g, tag) ? "x" : "");
		cg_add_entry(z, path, g->comp[tag].data, g->comp[tag].len);
		if ((s->malform & CAPGEN_MAL_DUPLICATE) && tag == target) {
			/* libzip refuses equal names: add a twin, rename it in the bytes */
			snprintf(z->dup_real, sizeof(z->dup_real), "%s", path);
			snprintf(z->dup_name, sizeof(z->dup_name), "%s", path);
			z->dup_name[strlen(path) - 1] = '#';
			cg_add_entry(z, z->dup_name, g->comp[tag].data, g->comp[tag].len);
		}
	}
}

/* A fixed permutation seeded by the spec, never the identity. */
static void
cg_shuffle(const struct cg *g, struct cg_zip *z)
{
	struct cg_entry tmp;
	uint32_t x = 2166136261u;
	size_t i, j;
	bool moved = false;

	for (i = 0; i < g->spec->package.len; i++)
		x = (x ^ g->spec->package.b[i]) * 16777619u;
	for (i = 0; g->name[i] != '\0'; i++)
		x = (x ^ (uint8_t)g->name[i]) * 16777619u;
	for (i = z->n - 1; i > 0; i--) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		j = x % (i + 1);
		if (j != i)
			moved = true;
		tmp = z->e[i];
		z->e[i] = z->e[j];
		z->e[j] = tmp;
	}
	if (moved)
		return;
	for (i = 0; i < z->n / 2; i++) {
		tmp = z->e[i];
		z->e[i] = z->e[z->n - 1 - i];
		z->e[z->n - 1 - i] = tmp;
	}
}

/* Noon local time, so that the DOS time is 2020-01-01 12:00 in every zone. */
static time_t
cg_mtime(void)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = 2020 - 1900;
	tm.tm_mon = 0;
	tm.tm_mday = 1;
	tm.tm_hour = 12;
	tm.tm_isdst = -1;
	return mktime(&tm);
}

static cpk_status
zip_fail(struct cpk_error *err, const char *what, zip_error_t *ze)
{
	return cpk_error_set(err, CPK_ERR_IO, "libzip: %s: %s", what, zip_error_strerror(ze));
}

static cpk_status
cg_zip_add(zip_t *za, const struct cg_entry *e, time_t mtime, struct cpk_error *err)
{
	zip_source_t *fs;
	zip_int64_t idx;

	fs = zip_source_buffer(za, e->data, e->len, 0);
	if (fs == NULL)
		return zip_fail(err, e->name, zip_get_error(za));
	idx = zip_file_add(za, e->name, fs, 0);
	if (idx < 0) {
		zip_source_free(fs);
		return zip_fail(err, e->name, zip_get_error(za));
	}
	if (zip_file_set_mtime(za, (zip_uint64_t)idx, mtime, 0) != 0)
		return zip_fail(err, e->name, zip_get_error(za));
	return CPK_OK;
}

static cpk_status
cg_zip_read(zip_source_t *src, struct cpk_buf *out, struct cpk_error *err)
{
	zip_stat_t zst;
	zip_int64_t rd;
	cpk_status st;

	if (zip_source_stat(src, &zst) != 0 || !(zst.valid & ZIP_STAT_SIZE))
		return zip_fail(err, "stat of the archive", zip_source_error(src));
	if (zst.size > CPK_BUF_MAX)
		return cpk_error_set(err, CPK_ERR_RANGE, "archive too large");
	cpk_buf_reset(out);
	if ((st = cpk_buf_reserve(out, (size_t)zst.size, err)) != CPK_OK)
		return st;
	if (zip_source_open(src) != 0)
		return zip_fail(err, "reading the archive", zip_source_error(src));
	rd = zip_source_read(src, out->data, zst.size);
	zip_source_close(src);
	if (rd < 0 || (zip_uint64_t)rd != zst.size)
		return cpk_error_set(err, CPK_ERR_IO, "libzip: short read of the archive");
	out->len = (size_t)zst.size;
	return CPK_OK;
}

/* Rename the placeholder twin (local header and central directory). */
static cpk_status
cg_zip_fix_dup(const struct cg_zip *z, struct cpk_buf *out, struct cpk_error *err)
{
	size_t n = strlen(z->dup_name), i, hits = 0;

	if (n == 0)
		return CPK_OK;
	for (i = 0; n <= out->len && i <= out->len - n; i++) {
		if (memcmp(out->data + i, z->dup_name, n) == 0) {
			memcpy(out->data + i, z->dup_real, n);
			hits++;
		}
	}
	if (hits != 2)
		return cpk_error_set(err, CPK_ERR_STATE,
		    "internal: duplicate entry name found %zu times, expected 2", hits);
	return CPK_OK;
}

static cpk_status
cg_zip_write(const struct cg_zip *z, struct cpk_buf *out, struct cpk_error *err)
{
	zip_error_t ze;
	zip_source_t *src = NULL;
	zip_t *za = NULL;
	time_t mtime = cg_mtime();
	size_t i;
	cpk_status st = CPK_ERR_IO;

	zip_error_init(&ze);
	src = zip_source_buffer_create(NULL, 0, 0, &ze);
	if (src == NULL) {
		st = zip_fail(err, "memory source", &ze);
		goto out;
	}
	za = zip_open_from_source(src, ZIP_TRUNCATE, &ze);
	if (za == NULL) {
		st = zip_fail(err, "opening the archive", &ze);
		goto out;
	}
	zip_source_keep(src);	/* it must outlive zip_close */
	for (i = 0; i < z->n; i++)
		if ((st = cg_zip_add(za, &z->e[i], mtime, err)) != CPK_OK)
			goto out;
	if (zip_close(za) != 0) {
		st = zip_fail(err, "writing the archive", zip_get_error(za));
		goto out;
	}
	za = NULL;
	if ((st = cg_zip_read(src, out, err)) != CPK_OK)
		goto out;
	st = cg_zip_fix_dup(z, out, err);
out:
	if (za != NULL)
		zip_discard(za);
	if (src != NULL)
		zip_source_free(src);
	zip_error_fini(&ze);
	return st;
}

cpk_status
capgen_build(const struct capgen_spec *spec, struct cpk_buf *zip_out, struct cpk_error *err)
{
	struct cpk_buf mf = CPK_BUF_INIT;
	struct cg_zip *z = NULL;
	struct cg g;
	cpk_status st;

	if (zip_out == NULL)
		return cpk_error_set(err, CPK_ERR_ARG, "no output buffer");
	if ((st = cg_generate(&g, spec, err)) != CPK_OK)
		goto out;
	if ((st = cg_manifest(&g, &mf, err)) != CPK_OK)
		goto out;
	if ((z = calloc(1, sizeof(*z))) == NULL) {
		st = cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	cg_entries(&g, &mf, z);
	if (spec->shuffle)
		cg_shuffle(&g, z);
	st = cg_zip_write(z, zip_out, err);
out:
	free(z);
	cpk_buf_free(&mf);
	cg_free(&g);
	return st;
}

cpk_status
capgen_write(const struct capgen_spec *spec, const char *path, struct cpk_error *err)
{
	struct cpk_buf zip = CPK_BUF_INIT;
	size_t done = 0;
	ssize_t n;
	int fd = -1;
	cpk_status st;

	if (path == NULL)
		return cpk_error_set(err, CPK_ERR_ARG, "no output path");
	if ((st = capgen_build(spec, &zip, err)) != CPK_OK)
		goto out;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		st = cpk_error_set(err, CPK_ERR_IO, "%s: %s", path, strerror(errno));
		goto out;
	}
	while (done < zip.len) {
		n = write(fd, zip.data + done, zip.len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			st = cpk_error_set(err, CPK_ERR_IO, "%s: %s", path,
			    n < 0 ? strerror(errno) : "short write");
			goto out;
		}
		done += (size_t)n;
	}
	if (close(fd) != 0) {
		fd = -1;
		st = cpk_error_set(err, CPK_ERR_IO, "%s: %s", path, strerror(errno));
		goto out;
	}
	fd = -1;
	st = CPK_OK;
out:
	if (fd >= 0)
		close(fd);
	cpk_buf_free(&zip);
	return st;
}
