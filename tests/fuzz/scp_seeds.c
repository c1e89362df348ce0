/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk fuzz: the genuine seeds of the secure channel targets.
 *
 * usage: scp_seeds write|check CORPUS_DIR
 *
 * For every configuration and exchange of scp_pair.h, the bytes each side
 * genuinely sends, prefixed with the selector byte:
 *   scp_response/genuine-c<C>-x<X>  the card's response to exchange X
 *   scp_command/ea-c<C>             the host's EXTERNAL AUTHENTICATE
 *   scp_command/genuine-c<C>-x<X>   the host's protected command of exchange X
 *   scp_command/regress-ea-extended-c<C>
 *                                   that EXTERNAL AUTHENTICATE re-encoded as an
 *                                   extended APDU, which the card side once
 *                                   accepted (the C-MAC covers the short form)
 * `write` (re)creates these files; `check` fails if any is missing or
 * differs, i.e. if the committed seeds no longer reach the accepting paths
 * of the targets (other files in the directories are left alone).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scp_pair.h"

static int check_mode;
static unsigned mismatches;

/* CLA INS P1 P2 Lc data -> CLA INS P1 P2 00 Lc(2) data. */
static int
extended_form(const struct cpk_buf *in, struct cpk_buf *out)
{
	cpk_buf_reset(out);
	if (in->len < 5 ||
	    cpk_buf_append(out, in->data, 4, NULL) != CPK_OK ||
	    cpk_buf_append_byte(out, 0x00, NULL) != CPK_OK ||
	    cpk_buf_append_u16be(out, in->data[4], NULL) != CPK_OK ||
	    cpk_buf_append(out, in->data + 5, in->len - 5, NULL) != CPK_OK)
		return -1;
	return 0;
}

static int
put_seed(const char *dir, const char *name, uint8_t sel, const struct cpk_buf *b)
{
	char path[4096];
	uint8_t cur[1024];
	size_t got;
	FILE *f;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path) ||
	    b->len + 1 > sizeof(cur)) {
		fprintf(stderr, "scp_seeds: %s/%s: too long\n", dir, name);
		return -1;
	}
	if (check_mode) {
		f = fopen(path, "rb");
		got = f != NULL ? fread(cur, 1, sizeof(cur), f) : 0;
		if (f != NULL)
			fclose(f);
		if (f == NULL || got != b->len + 1 || cur[0] != sel ||
		    memcmp(cur + 1, b->data, b->len) != 0) {
			fprintf(stderr, "%s: %s; regenerate with 'scp_seeds write'\n", path,
			    f == NULL ? strerror(errno) : "differs from what the sessions send");
			mismatches++;
		}
		return 0;
	}
	if ((f = fopen(path, "wb")) == NULL ||
	    fwrite(&sel, 1, 1, f) != 1 || fwrite(b->data, 1, b->len, f) != b->len ||
	    fclose(f) != 0) {
		fprintf(stderr, "scp_seeds: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct fuzz_scp_run r;
	struct cpk_buf ext = CPK_BUF_INIT;
	char resp_dir[4096], cmd_dir[4096], name[64];
	unsigned c, x;
	int ret = 1;

	if (argc != 3 || (strcmp(argv[1], "write") != 0 && strcmp(argv[1], "check") != 0)) {
		fprintf(stderr, "usage: scp_seeds write|check CORPUS_DIR\n");
		return 2;
	}
	memset(&r, 0, sizeof(r));
	check_mode = strcmp(argv[1], "check") == 0;
	snprintf(resp_dir, sizeof(resp_dir), "%s/scp_response", argv[2]);
	snprintf(cmd_dir, sizeof(cmd_dir), "%s/scp_command", argv[2]);
	for (c = 0; c < FUZZ_SCP_NCONFIGS; c++) {
		for (x = 0; x < FUZZ_SCP_NEXCHANGES; x++) {
			if (fuzz_scp_run(c, x, &r) != 0) {
				fprintf(stderr, "scp_seeds: configuration %u exchange %u: "
				    "the session pair failed\n", c, x);
				goto out;
			}
			snprintf(name, sizeof(name), "genuine-c%u-x%u", c, x);
			if (put_seed(resp_dir, name, (uint8_t)(c | x << 4), &r.response) != 0 ||
			    put_seed(cmd_dir, name, (uint8_t)(c | (x + 1) << 4), &r.wrapped) != 0)
				goto out;
			snprintf(name, sizeof(name), "ea-c%u", c);
			if (x == 0 && put_seed(cmd_dir, name, (uint8_t)c, &r.ea) != 0)
				goto out;
			snprintf(name, sizeof(name), "regress-ea-extended-c%u", c);
			if (x == 0 && (extended_form(&r.ea, &ext) != 0 ||
			    put_seed(cmd_dir, name, (uint8_t)c, &ext) != 0))
				goto out;
			fuzz_scp_run_free(&r);
		}
	}
	printf("scp_seeds: %u configurations x %u exchanges, %s\n",
	    (unsigned)FUZZ_SCP_NCONFIGS, (unsigned)FUZZ_SCP_NEXCHANGES,
	    check_mode ? (mismatches == 0 ? "all seeds genuine" : "seeds out of date") :
	    "seeds written");
	ret = mismatches == 0 ? 0 : 1;
out:
	fuzz_scp_run_free(&r);
	cpk_buf_free(&ext);
	return ret;
}
