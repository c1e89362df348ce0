/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk unit test: every known-answer vector of tests/vectors/ (copies of
 * shared/vectors/, byte for byte).
 *
 * usage: test_vectors DIR            run every vector
 *        test_vectors --mutate DIR   also alter every byte of every hex
 *                                    field, one at a time, and require the
 *                                    vector to fail each time
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vectors.h"

#define MAX_UNITS 64

struct mutation {
	const struct vec_unit *unit;
	unsigned long tried;
	unsigned long survived;
	unsigned long ignored;
};

static bool
skipped(const char *path, const char *const *skip)
{
	char part[128];
	const char *p = path;
	size_t i, len;

	if (skip == NULL)
		return false;
	while (*p != '\0') {
		len = strcspn(p, ".[");
		if (len >= sizeof(part))
			len = sizeof(part) - 1;
		memcpy(part, p, len);
		part[len] = '\0';
		for (i = 0; skip[i] != NULL; i++)
			if (strcmp(part, skip[i]) == 0)
				return true;
		p += len;
		p += strspn(p, ".[]0123456789");
	}
	return false;
}

static char
flip_nibble(char c)
{
	static const char digits[] = "0123456789ABCDEF";
	int v = (c >= '0' && c <= '9') ? c - '0' :
	    (c >= 'a' && c <= 'f') ? c - 'a' + 10 : c - 'A' + 10;

	/*
	 * Flip bit 1 of the nibble, not bit 0: the lowest bit of every byte of
	 * a DES key is a parity bit that the cipher ignores by definition.
	 */
	return digits[v ^ 2];
}

static void
mutate_field(struct vnode *scalar, const char *path, void *arg)
{
	struct mutation *m = arg;
	size_t i, len = strlen(scalar->str);
	char saved;

	if (skipped(path, m->unit->skip))
		return;
	/* Alter each nibble in turn: two altered values per byte. */
	for (i = 0; i < len; i++) {
		bool ignored = m->unit->ignored != NULL &&
		    m->unit->ignored(m->unit->node, path, i / 2);
		int bad;

		saved = scalar->str[i];
		scalar->str[i] = flip_nibble(saved);
		m->tried++;
		bad = m->unit->check(m->unit->node, m->unit->ctx);
		if (ignored && bad == 0) {
			m->ignored++;
		} else if (ignored || bad == 0) {
			m->survived++;
			fprintf(stderr, "  %s: %s %s with hex digit %zu altered\n", m->unit->name,
			    path, ignored ? "fails although the algorithm ignores that byte" :
			    "still passes", i + 1);
		}
		scalar->str[i] = saved;
	}
}

int
main(int argc, char **argv)
{
	struct vec_unit units[MAX_UNITS];
	struct vnode *docs[4] = { NULL };
	unsigned long tried = 0, survived = 0;
	bool mutate = false;
	const char *dir;
	int n, i, failed = 0;

	if (argc == 3 && strcmp(argv[1], "--mutate") == 0) {
		mutate = true;
		dir = argv[2];
	} else if (argc == 2) {
		dir = argv[1];
	} else {
		fprintf(stderr, "usage: test_vectors [--mutate] DIR\n");
		return 2;
	}
	if ((n = vec_units(dir, units, MAX_UNITS, docs)) <= 0) {
		fprintf(stderr, "cannot load the vectors in %s\n", dir);
		return 1;
	}
	for (i = 0; i < n; i++) {
		int bad = units[i].check(units[i].node, units[i].ctx);

		fprintf(stderr, "%-48s %s\n", units[i].name, bad == 0 ? "ok" : "FAILED");
		failed += bad != 0;
	}
	if (mutate && failed == 0) {
		vec_quiet = 1;
		for (i = 0; i < n; i++) {
			struct mutation m = { &units[i], 0, 0, 0 };

			vdoc_walk_hex(units[i].node, "", mutate_field, &m);
			fprintf(stderr, "mutations %-38s %6lu tried, %lu survived, "
			    "%lu ignored by definition\n", units[i].name, m.tried, m.survived,
			    m.ignored);
			if (m.tried == 0)
				failed++;
			tried += m.tried;
			survived += m.survived;
		}
		fprintf(stderr, "mutations: %lu tried, %lu survived\n", tried, survived);
	}
	for (i = 0; i < 4; i++)
		vdoc_free(docs[i]);
	fprintf(stderr, "vectors: %d units, %d failed\n", n, failed);
	return failed == 0 && survived == 0 ? 0 : 1;
}
