/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: Java Card CAP files (a zip of component files) read with libzip.
 *
 * Components are found by name, `<package path>/javacard/<Name>.cap`,
 * whatever the order of the zip entries. Refused, with a message naming
 * the CAP: two packages in one file, a component stored twice, a missing
 * required component, an entry larger than its limit (checked on the
 * entry's declared uncompressed size before reading, and again on the
 * bytes actually read), a component whose tag or size disagrees with its
 * file. Debug.cap is never loaded; other entries (the manifest, export
 * files, custom components) are ignored.
 *
 * Extended-format CAP files (Java Card 3.1, CAP format 2.3, Header flag 08)
 * are read too: their Method, RefLocation, Descriptor and StaticResources
 * components have a u4 size and may be named <Name>.capx (a component
 * stored both as .cap and .capx is refused as stored twice), so one
 * component may exceed 64 KB (up to CAP_COMPONENT_MAX) and the whole Load
 * File Data Block up to CAP_LFDB_MAX. A compact CAP's StaticResources
 * component is not loaded.
 *
 * The Load File Data Block is the components concatenated in the order of
 * PROTOCOLS.md, with or without the Descriptor (a profile choice). It is
 * checked, and the package and applet AIDs are taken from it, by the
 * shared parser cpk_lfdb_parse (common/cpk_lfdb.h), the same one the card
 * simulator runs on what it receives.
 */
#ifndef CPK_CAP_H
#define CPK_CAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpk_bytes.h"
#include "cpk_error.h"
#include "cpk_lfdb.h"

#define CAP_FILE_MAX ((size_t)4 * 1024 * 1024)		/* the zip itself */
#define CAP_COMPONENT_MAX ((size_t)512 * 1024)		/* one component file */
#define CAP_LFDB_MAX ((size_t)1024 * 1024)		/* the whole block */
#define CAP_MAX_ENTRIES 1024

enum cap_hash {
	CAP_HASH_NONE = 0,
	CAP_HASH_SHA1,
	CAP_HASH_SHA256,
};
#define CAP_HASH_MAX 32

struct cap_file {
	char *name;				/* as given, for messages */
	char *package_path;			/* "com/example/hello" */
	struct cpk_buf comp[CPK_CAP_TAG_MAX + 1];	/* raw component files, by tag */
	char *ename[CPK_CAP_TAG_MAX + 1];		/* their zip entry names */
	bool present[CPK_CAP_TAG_MAX + 1];
	struct cpk_lfdb_info info;		/* of the LFDB with Descriptor if present */
};

/* Read a CAP file from disk (at most CAP_FILE_MAX bytes). */
cpk_status cap_open_file(const char *path, struct cap_file **out, struct cpk_error *err);
/* The same from memory; `name` is used in messages. */
cpk_status cap_open_buffer(const char *name, const uint8_t *p, size_t n, struct cap_file **out,
    struct cpk_error *err);
void cap_free(struct cap_file **cap);

/*
 * Build the Load File Data Block (out is replaced) and check it with
 * cpk_lfdb_parse. with_descriptor needs a Descriptor component.
 */
cpk_status cap_build_lfdb(const struct cap_file *cap, bool with_descriptor, struct cpk_buf *out,
    struct cpk_lfdb_info *info, struct cpk_error *err);
/*
 * The same appended to out (its size reserved first, so the block is
 * written once); on failure out keeps its former bytes.
 */
cpk_status cap_append_lfdb(const struct cap_file *cap, bool with_descriptor, struct cpk_buf *out,
    struct cpk_lfdb_info *info, struct cpk_error *err);
/* The size of that block (the components it takes, unchecked). */
size_t cap_lfdb_size(const struct cap_file *cap, bool with_descriptor);
/*
 * Release the component files once the load file is built: name and info
 * stay (cap_has_applet), cap_build_lfdb has nothing left to build from.
 */
void cap_drop_components(struct cap_file *cap);

/* Hash of p[0..n): SHA-1 (20 bytes) or SHA-256 (32); CAP_HASH_NONE gives 0 bytes. */
cpk_status cap_hash(enum cap_hash alg, const uint8_t *p, size_t n, uint8_t out[CAP_HASH_MAX],
    size_t *outlen, struct cpk_error *err);

/* Is this AID an applet of the package? */
bool cap_has_applet(const struct cap_file *cap, const uint8_t *aid, size_t len);

#endif
