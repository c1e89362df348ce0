/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * capgen: generate structurally valid Java Card CAP files for tests.
 *
 * We cannot ship third-party CAP files, so tests make their own. A CAP file
 * is a zip holding one file per component (JCVM 3.0.5 chapter 6) under
 * `<package path>/javacard/`. capgen writes every component with the right
 * tag, a u2 size equal to the bytes that follow, and counts, offsets and
 * sizes that agree across components (Directory, Applet install offsets,
 * Class method tables, Constant Pool, Reference Location, Descriptor).
 * The bytecode is plausible but is not meant to run; see README.md.
 *
 * Output is deterministic: the same spec gives the same bytes.
 */
#ifndef CPK_CAPGEN_H
#define CPK_CAPGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpk_bytes.h"
#include "cpk_error.h"

#define CAPGEN_AID_MIN		5
#define CAPGEN_AID_MAX		16
#define CAPGEN_MAX_APPLETS	16
#define CAPGEN_NAME_MAX		200	/* bytes of the package path */

/* Component tags (JCVM table 6-1). */
enum capgen_tag {
	CAPGEN_HEADER = 1,
	CAPGEN_DIRECTORY = 2,
	CAPGEN_APPLET = 3,
	CAPGEN_IMPORT = 4,
	CAPGEN_CONSTANT_POOL = 5,
	CAPGEN_CLASS = 6,
	CAPGEN_METHOD = 7,
	CAPGEN_STATIC_FIELD = 8,
	CAPGEN_REF_LOCATION = 9,
	CAPGEN_EXPORT = 10,
	CAPGEN_DESCRIPTOR = 11,
	CAPGEN_DEBUG = 12
};
#define CAPGEN_TAG_MAX 12

/* Header flags (JCVM table 6-3; ACC_EXTENDED from JCVM 3.1). */
#define CAPGEN_ACC_INT		0x01
#define CAPGEN_ACC_EXPORT	0x02
#define CAPGEN_ACC_APPLET	0x04
#define CAPGEN_ACC_EXTENDED	0x08

/*
 * Malformations for negative tests (bit mask in capgen_spec.malform).
 * "The target" is capgen_spec.malform_tag (Method when 0).
 */
#define CAPGEN_MAL_NO_HEADER	0x0001u	/* no Header.cap in the zip */
#define CAPGEN_MAL_NO_APPLET	0x0002u	/* applets listed, no Applet.cap */
#define CAPGEN_MAL_BAD_SIZE	0x0004u	/* target's u2 size = content length + 1 */
#define CAPGEN_MAL_DIR_SIZE	0x0008u	/* Directory lists target's size + 1 */
#define CAPGEN_MAL_TRUNCATED	0x0010u	/* target's file loses the second half of its content */
#define CAPGEN_MAL_DUPLICATE	0x0020u	/* target stored twice under the same name */
#define CAPGEN_MAL_OUTSIDE_DIR	0x0040u	/* target stored as <path>/<Name>.cap */
#define CAPGEN_MAL_FOREIGN_RID	0x0080u	/* accept applet AIDs with another RID */
#define CAPGEN_MAL_ALL		0x00ffu

struct capgen_aid {
	uint8_t len;			/* CAPGEN_AID_MIN..CAPGEN_AID_MAX */
	uint8_t b[CAPGEN_AID_MAX];
};

struct capgen_spec {
	struct capgen_aid package;
	uint8_t pkg_major;
	uint8_t pkg_minor;
	/* Package path in internal form ("com/example/hello"); NULL = default. */
	const char *name;
	uint8_t cap_major;		/* CAP format: 2.1 or 2.2 (2.3 when extended) */
	uint8_t cap_minor;
	size_t applet_count;
	struct capgen_aid applets[CAPGEN_MAX_APPLETS];
	/*
	 * Exact size in bytes of the Load File Data Block that a loader
	 * builds from the well-formed CAP: capgen_lfdb(spec, spec->descriptor)
	 * returns this many bytes. 0 = the natural (smallest) size.
	 */
	size_t lfdb_size;
	bool descriptor;		/* write Descriptor.cap (default true) */
	bool debug;			/* write Debug.cap (CAP 2.2 only) */
	bool export_;			/* write Export.cap (library packages only) */
	/*
	 * The extended format of Java Card 3.1 (CAP 2.3, Header flag ACC_EXTENDED):
	 * u4 sizes for Method, RefLocation, Descriptor and Debug (.capx files),
	 * the extended Header and Directory, the Method component in blocks
	 * (block 0 holds the methods, filler blocks make lfdb_size, up to the
	 * 127 blocks of 65535 bytes the format allows). cap_major/cap_minor are
	 * not used.
	 */
	bool extended;
	bool shuffle;			/* non-canonical zip entry order */
	unsigned malform;		/* CAPGEN_MAL_* */
	uint8_t malform_tag;		/* component the malformation hits; 0 = Method */
};

/*
 * Defaults: package AID F0 43 50 4B 43 47 01 ("CPKCG" in a proprietary
 * RID), version 1.0, path "com/example/capgen", CAP 2.1, no applets,
 * natural size, Descriptor included, everything else off.
 */
void capgen_spec_init(struct capgen_spec *spec);

/* Parse a hex AID (5 to 16 bytes, strict hex). */
cpk_status capgen_aid_parse(const char *hex, struct capgen_aid *aid, struct cpk_error *err);

/* "Header.cap" for CAPGEN_HEADER, ...; NULL for an unknown tag. */
const char *capgen_component_file(unsigned tag);

/*
 * Component tags in Load File Data Block order (PROTOCOLS.md): Header,
 * Directory, Import, Applet, Class, Method, StaticField, Export,
 * ConstantPool, RefLocation, Descriptor. Returns the count (11).
 */
size_t capgen_lfdb_order(const uint8_t **tags);

/* The CAP file (zip) in memory. out is replaced. */
cpk_status capgen_build(const struct capgen_spec *spec, struct cpk_buf *zip_out,
    struct cpk_error *err);

/* capgen_build, then write the bytes to path (created or truncated, 0644). */
cpk_status capgen_write(const struct capgen_spec *spec, const char *path,
    struct cpk_error *err);

/*
 * The Load File Data Block a loader should build from this CAP: the raw
 * component files (tag, u2 size, content) concatenated in LFDB order,
 * Descriptor last when with_descriptor, Debug never. Content malformations
 * (BAD_SIZE, DIR_SIZE, TRUNCATED) are included as stored; zip-level ones
 * (NO_HEADER, NO_APPLET, DUPLICATE, OUTSIDE_DIR) are not reflected: the
 * result is the LFDB of the CAP before its entries were misplaced.
 * with_descriptor needs spec->descriptor (CPK_ERR_ARG otherwise).
 */
cpk_status capgen_lfdb(const struct capgen_spec *spec, bool with_descriptor,
    struct cpk_buf *lfdb, struct cpk_error *err);

#endif
