/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: strict input documents (profiles, card records, key sets).
 *
 * Three layers, shared by profile.c, card.c and keyset.c:
 *
 * 1. ydoc_read_file: read a whole file with a size cap; for key files
 *    (private) open with O_NOFOLLOW and refuse any group or other
 *    permission bit (fstat after open, so there is no race).
 * 2. ydoc_parse: libyaml events -> a small tree of nodes that keeps the
 *    libyaml start mark (line and column from 1) of every node. One
 *    document, no anchors, aliases or tags, no complex keys; duplicate keys
 *    are refused here ("duplicate key 'x' (first given at line 3)").
 * 3. A table-driven schema: struct ydoc_field lists the allowed keys of one
 *    mapping with their kind and whether they are required;
 *    ydoc_check_map refuses unknown keys (with a "did you mean" hint),
 *    missing required keys and values of the wrong kind. The typed value
 *    decoders (ydoc_decode_*) work on plain strings so that card records
 *    read from JSON lines and CSV rows go through the very same checks;
 *    ydoc_get_* wrap them with the node's file:line:column.
 *
 * Every error carries file, line and column in struct cpk_error; callers
 * print them as "file:line:column: message". Values of fields marked
 * `secret` are never quoted in a message. A secret document (key files:
 * ydoc_parse_secret and schemas marked `secret`) quotes nothing it read
 * except the names of its own fields: not a value, not an unknown or
 * duplicate key, not the text around a YAML syntax error (libyaml's own
 * messages are fixed strings and are kept).
 *
 * Secrets: node text is cleansed when the tree is freed; libyaml's scalar
 * event buffers and its raw and decoded input buffers are cleansed before
 * release. What cannot be cleansed: the temporary strings libyaml's
 * scanner builds while it scans a scalar (scanner.c frees them itself
 * without clearing them). Key files are small, and the heap blocks are
 * reused soon after, but a core dump taken during parsing could hold key
 * bytes there.
 */
#ifndef CPK_YDOC_H
#define CPK_YDOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpk_bytes.h"
#include "cpk_error.h"

/* Limits on a parsed tree (hostile input). */
#define YDOC_MAX_DEPTH 16
#define YDOC_MAX_NODES 200000
#define YDOC_MAX_ENTRIES 4096	/* keys of one mapping */
#define YDOC_MAX_SCALAR 65536	/* bytes of one scalar */

enum ydoc_kind {
	YDOC_SCALAR = 1,
	YDOC_MAP,
	YDOC_SEQ,
};

struct ydoc_node {
	enum ydoc_kind kind;
	char *str;			/* scalar text, NUL-terminated (never contains NUL) */
	size_t len;
	bool plain;			/* plain (unquoted) scalar */
	unsigned line, col;		/* start mark, from 1 */
	struct ydoc_node **keys;	/* YDOC_MAP: key scalars */
	struct ydoc_node **items;	/* YDOC_MAP: values; YDOC_SEQ: items */
	size_t n;
	size_t cap;
};

/* What a file read by ydoc_read_file holds, and so which rules apply. */
enum ydoc_file_use {
	YDOC_FILE_PLAIN,	/* a card record, a CAP file */
	YDOC_FILE_PROFILE,	/* a profile: file and folder owned by root or you, not
				   writable by others */
	YDOC_FILE_KEYS,		/* a card key set: the profile's rules, plus O_NOFOLLOW and
				   no permission bit for group or others */
};

/*
 * Read a whole regular file (at most `max` bytes) into out (replacing its
 * contents); a FIFO or a device is refused, never waited on. `use` adds the
 * ownership and mode rules above (CPK_ERR_PERMISSION naming the file or
 * folder and what another user could do). Errors carry the file name in
 * err->file.
 */
cpk_status ydoc_read_file(const char *path, size_t max, enum ydoc_file_use use,
    struct cpk_buf *out, struct cpk_error *err);

/*
 * Parse one YAML document. `file` is used for error locations. An empty
 * document gives *root == NULL and CPK_OK.
 */
cpk_status ydoc_parse(const char *file, const uint8_t *text, size_t len, struct ydoc_node **root,
    struct cpk_error *err);
/*
 * The same for a secret document (key files): messages quote no key but
 * those in `names` (NULL-terminated: the document's field names) and no
 * value; a syntax error names the key whose value it is in only if it is
 * one of `names`.
 */
cpk_status ydoc_parse_secret(const char *file, const uint8_t *text, size_t len,
    const char *const *names, struct ydoc_node **root, struct cpk_error *err);
/* Free (and cleanse) a tree; NULL accepted, *root set to NULL. */
void ydoc_free(struct ydoc_node **root);

enum ydoc_type {
	YDOC_T_STR = 1,		/* any scalar; min/max = length range in bytes (max 0: no limit) */
	YDOC_T_HEX,		/* strict hex; min/max = byte count range */
	YDOC_T_BYTE,		/* exactly two hex digits; min/max = value range */
	YDOC_T_INT,		/* decimal digits; min/max = value range */
	YDOC_T_BOOL,		/* true | false */
	YDOC_T_ENUM,		/* one of names[] */
	YDOC_T_SEQ,		/* a list (checked by the caller) */
	YDOC_T_MAP,		/* a mapping (checked by the caller) */
	YDOC_T_ANY,		/* scalar, list or mapping: the caller decides */
};

struct ydoc_field {
	const char *key;
	enum ydoc_type type;
	bool required;
	long long min, max;
	const char *const *names;	/* YDOC_T_ENUM: NULL-terminated */
	bool secret;			/* never quote the value */
};

/* A likely mistake and the key meant ("aid" in install -> "applet"). */
struct ydoc_hint {
	const char *wrong;
	const char *right;
};

struct ydoc_schema {
	const char *what;		/* "step 'install'", "the security domain" */
	const struct ydoc_field *fields;
	size_t nfields;
	const struct ydoc_hint *hints;	/* NULL-terminated list, or NULL */
	bool secret;			/* never quote an unknown key (key files) */
};

/*
 * Check that `map` is a mapping whose keys are all in the schema and that
 * every required key is there; vals[i] receives the value of fields[i]
 * (NULL when absent). Kinds are checked: a scalar type needs a non-empty
 * scalar, YDOC_T_SEQ a list, YDOC_T_MAP a mapping. `map` may be NULL
 * (missing) only if no key is required; `at` gives the location to report
 * then (may be NULL).
 */
cpk_status ydoc_check_map(const char *file, const struct ydoc_node *map, const struct ydoc_node *at,
    const struct ydoc_schema *s, const struct ydoc_node **vals, struct cpk_error *err);

/*
 * Typed decoders over plain strings: messages name the field and quote
 * the value (unless secret), without a location.
 */
cpk_status ydoc_decode_hex(const struct ydoc_field *f, const char *s, uint8_t *out, size_t cap,
    size_t *outlen, struct cpk_error *err);
cpk_status ydoc_decode_byte(const struct ydoc_field *f, const char *s, uint8_t *out,
    struct cpk_error *err);
cpk_status ydoc_decode_int(const struct ydoc_field *f, const char *s, long long *out,
    struct cpk_error *err);
cpk_status ydoc_decode_bool(const struct ydoc_field *f, const char *s, bool *out,
    struct cpk_error *err);
cpk_status ydoc_decode_enum(const struct ydoc_field *f, const char *s, int *out,
    struct cpk_error *err);
cpk_status ydoc_decode_str(const struct ydoc_field *f, const char *s, struct cpk_error *err);

/* The same, for a node (adds file:line:column of the node). */
cpk_status ydoc_get_hex(const char *file, const struct ydoc_node *n, const struct ydoc_field *f,
    uint8_t *out, size_t cap, size_t *outlen, struct cpk_error *err);
cpk_status ydoc_get_byte(const char *file, const struct ydoc_node *n, const struct ydoc_field *f,
    uint8_t *out, struct cpk_error *err);
cpk_status ydoc_get_int(const char *file, const struct ydoc_node *n, const struct ydoc_field *f,
    long long *out, struct cpk_error *err);
cpk_status ydoc_get_bool(const char *file, const struct ydoc_node *n, const struct ydoc_field *f,
    bool *out, struct cpk_error *err);
cpk_status ydoc_get_enum(const char *file, const struct ydoc_node *n, const struct ydoc_field *f,
    int *out, struct cpk_error *err);
cpk_status ydoc_get_str(const char *file, const struct ydoc_node *n, const struct ydoc_field *f,
    const char **out, struct cpk_error *err);

/* The key node of a value in a mapping (the value itself if not found). */
const struct ydoc_node *ydoc_key_of(const struct ydoc_node *map, const struct ydoc_node *val);

/*
 * Set the location of an error a decoder just filled (keeps its message) and
 * return st, the status that decoder returned. err may be NULL; st is
 * returned whatever err holds, so a failure is never turned into success.
 */
cpk_status ydoc_locate(cpk_status st, struct cpk_error *err, const char *file, unsigned line,
    unsigned col);

/* Quote a value for a message: at most 40 characters, non-printable bytes as \xHH. */
void ydoc_quote(const char *s, char *out, size_t outcap);

/*
 * The candidate closest to `word` by edit distance, or NULL if none is
 * close enough to be a plausible typo.
 */
const char *ydoc_suggest(const char *word, const char *const *candidates, size_t n);

#endif
