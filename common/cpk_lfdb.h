/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: the Load File Data Block of a Java Card package, parsed strictly.
 *
 * A Load File Data Block (LFDB) is the concatenation of the raw CAP
 * components of one CAP file (JCVM specification chapter 6), each
 *
 *	tag (u1) || size (u2, big-endian) || info[size]
 *
 * in the reference load order Header(1), Directory(2), Import(4), Applet(3),
 * Class(6), Method(7), StaticField(8), Export(10), ConstantPool(5),
 * RefLocation(9), then Descriptor(11) if it is loaded at all.
 *
 * The extended format of Java Card 3.1 (CAP format 2.3, Header flag 08,
 * JCVM 3.1 section 6) is read too: there the Method, RefLocation,
 * Descriptor and StaticResources(13) components have a u4 size, the
 * Header names the CAP file's AID and lists its packages, the Directory
 * lists those four sizes as u4 and counts the Method component's blocks,
 * the Method component is u1 block count, u4 block offsets (counted from
 * its info item's first byte, the count: block 0 starts right after the
 * offset table, the last block runs to the component's end) and blocks of at
 * most 65535 bytes each, and each applet of the Applet component has a u1
 * Method block index before its u2 install method offset into that block. StaticResources,
 * when present, is loaded after RefLocation and before Descriptor. The compiler
 * builds one from a CAP file and checks it with this parser; the card
 * simulator parses what it receives in LOAD the same way a card would.
 *
 * The parser refuses: truncation (of a component header or its content),
 * trailing bytes, unknown tags, the Debug component (never loaded),
 * duplicates, components out of the load order, missing required
 * components, a Header without the magic DECAFFED, CAP formats other than
 * 2.1-2.3, the extended format in a CAP format other than 2.3, Header flags
 * that disagree with the presence of the Applet and Export components, a
 * Directory that ends before its static field sizes, Directory sizes or
 * Method block counts that disagree with the components, malformed
 * extended Header and Method components (block 0 not right after the offset
 * table, offsets that do not rise within the component, a block of more than
 * 65535 bytes, the last one included), and malformed Applet components (in
 * the extended format an install method offset outside its Method block).
 */
#ifndef CPK_LFDB_H
#define CPK_LFDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpk_error.h"

/* CAP component tags (JCVM Table 6-1). */
enum cpk_cap_tag {
	CPK_CAP_HEADER = 1,
	CPK_CAP_DIRECTORY = 2,
	CPK_CAP_APPLET = 3,
	CPK_CAP_IMPORT = 4,
	CPK_CAP_CONSTANT_POOL = 5,
	CPK_CAP_CLASS = 6,
	CPK_CAP_METHOD = 7,
	CPK_CAP_STATIC_FIELD = 8,
	CPK_CAP_REF_LOCATION = 9,
	CPK_CAP_EXPORT = 10,
	CPK_CAP_DESCRIPTOR = 11,
	CPK_CAP_DEBUG = 12,
	CPK_CAP_STATIC_RESOURCES = 13,	/* CAP format 2.3 */
};
#define CPK_CAP_TAG_MAX 13
/* Extended format: at most this many Method blocks, each at most 65535 bytes. */
#define CPK_CAP_METHOD_BLOCKS_MAX 127

/* Header flags. */
#define CPK_CAP_ACC_INT 0x01
#define CPK_CAP_ACC_EXPORT 0x02
#define CPK_CAP_ACC_APPLET 0x04
#define CPK_CAP_ACC_EXTENDED 0x08

#define CPK_AID_MIN 5
#define CPK_AID_MAX 16
/* The Applet component counts its applets in a u1. */
#define CPK_LFDB_MAX_APPLETS 255

struct cpk_lfdb_component {
	bool present;
	size_t offset;		/* of the tag byte within the block */
	size_t size;		/* the u2 (or u4) size: info bytes after tag and size */
	size_t hdr;		/* bytes of tag and size: 3, or 5 for a u4 size */
};

struct cpk_lfdb_applet {
	uint8_t aid[CPK_AID_MAX];
	size_t aid_len;
	uint16_t install_method;	/* offset into the Method component info (or block) */
	uint8_t install_block;		/* extended format: Method block index; 0 otherwise */
};

struct cpk_lfdb_info {
	uint8_t cap_major, cap_minor;	/* CAP file format (Header offsets 8, 7) */
	uint8_t flags;			/* Header flags (offset 9) */
	bool extended;			/* flags has ACC_EXTENDED: the extended format */
	/*
	 * Compact format: the package version (offsets 11, 10) and AID (length at
	 * 12, AID from 13). Extended format: the CAP file's version and AID, at
	 * the same places; the load file AID in both.
	 */
	uint8_t pkg_major, pkg_minor;
	uint8_t pkg_aid[CPK_AID_MAX];
	size_t pkg_aid_len;
	size_t npackages;		/* 1; the extended Header's package count */
	size_t method_blocks;		/* extended format: Method blocks; 0 otherwise */
	/* extended format: bytes of each Method block (the last runs to the end) */
	size_t method_block_size[CPK_CAP_METHOD_BLOCKS_MAX];
	size_t napplets;		/* 0 when there is no Applet component */
	struct cpk_lfdb_applet applets[CPK_LFDB_MAX_APPLETS];
	struct cpk_lfdb_component comp[CPK_CAP_TAG_MAX + 1];	/* indexed by tag */
	/*
	 * Directory static_field_size_info (JCVM 6.5): image_size, the bytes the
	 * package's static fields take, and array_init_size, the bytes of the
	 * static arrays they are initialised with.
	 */
	size_t static_image, static_arrays;
	size_t total;			/* bytes parsed (the whole block) */
};

/* "Header", "Directory", ... for tags 1..13; "unknown" otherwise. Never NULL. */
const char *cpk_cap_component_name(unsigned tag);

/*
 * Parse and check a Load File Data Block p[0..n) (without the C4 tag and
 * length of the load file). On success *out describes it; on failure *out is
 * zeroed and err says what is wrong and where (component and offset).
 * Errors: CPK_ERR_ARG (NULL input), CPK_ERR_PARSE (malformed),
 * CPK_ERR_UNSUPPORTED (CAP format version).
 */
cpk_status cpk_lfdb_parse(const uint8_t *p, size_t n, struct cpk_lfdb_info *out,
    struct cpk_error *err);

/* Is this applet AID (a module of the package) present? */
bool cpk_lfdb_has_applet(const struct cpk_lfdb_info *info, const uint8_t *aid, size_t aid_len);

#endif
