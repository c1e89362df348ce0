/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk tests: a small in-memory tree of a YAML vector file (libyaml), so
 * that the known-answer tests can read the files of shared/vectors/ directly and
 * so that the mutation check can alter any value and re-run a vector.
 */
#ifndef CPK_VECDOC_H
#define CPK_VECDOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum vnode_kind { VN_SCALAR, VN_MAP, VN_SEQ };

struct vnode {
	enum vnode_kind kind;
	char *str;		/* scalar text */
	bool quoted;		/* scalar was quoted */
	unsigned line;
	char **keys;		/* map keys (kind == VN_MAP) */
	struct vnode **items;	/* map values or sequence items */
	size_t n;
};

/* Load a file; NULL with a message on stderr on failure. */
struct vnode *vdoc_load(const char *path);
void vdoc_free(struct vnode *n);

/* Map lookup; NULL if absent or not a map. */
const struct vnode *vdoc_get(const struct vnode *map, const char *key);
/* Scalar text of map[key]; NULL if absent. */
const char *vdoc_str(const struct vnode *map, const char *key);
/*
 * Decode map[key] (quoted hex) into out; returns the byte count, or
 * (size_t)-1 if absent or malformed (the vector then fails).
 */
size_t vdoc_hex(const struct vnode *map, const char *key, uint8_t *out, size_t outcap);
/* Single-byte hex field, or -1. */
int vdoc_byte(const struct vnode *map, const char *key);

/*
 * Visit every quoted, non-empty, even-length hex scalar under n. The
 * callback may modify the scalar's text in place (same length) and must
 * restore it. `path` names the field ("sessions[2].commands[0].wrapped").
 */
typedef void (*vdoc_hex_visit)(struct vnode *scalar, const char *path, void *arg);
void vdoc_walk_hex(struct vnode *n, const char *path, vdoc_hex_visit fn, void *arg);

#endif
