/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk benchmark: cardc's compile throughput against the raw cost of the
 * cryptography it must do, measured in one run.
 *
 * For N cards (distinct KDD and counter) of one profile (delete, load of a
 * CAP of --cap-size bytes, install) it times:
 *   full    cpk_compile + cpk_bundle_write (manifest, script, Ed25519
 *           signature, zip in memory) per card;
 *   crypto  only the cryptography of the same work: session keys and
 *           cryptograms, the pseudo-random challenge, EXTERNAL AUTHENTICATE,
 *           wrapping exactly the plain commands the bundle carries, and one
 *           Ed25519 signature per card.
 * and prints both rates and the ratio full / crypto (1.0 would mean the
 * compiler adds nothing to the cryptography).
 *
 * usage: compile_throughput [--cards N] [--cap-size BYTES]
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bundle_write.h"
#include "capgen.h"
#include "card.h"
#include "compile.h"
#include "gp_cmd.h"
#include "profile.h"
#include "scp.h"
#include "sign.h"

/* TEST KEYS ONLY. */
static const char key_file[] =
    "kvn: 30\nalgorithm: aes\n"
    "enc: 404142434445464748494A4B4C4D4E4F\n"
    "mac: 404142434445464748494A4B4C4D4E4F\n"
    "dek: 404142434445464748494A4B4C4D4E4F\n";

static const char profile_text[] =
    "profile: 1\nname: bench\n"
    "security-domain:\n  aid: A000000151000000\n  scp: 03\n  i: 70\n"
    "  security-level: c-mac+c-dec\n"
    "keys:\n  file: keys.yaml\n"
    "steps:\n"
    "  - delete:\n      aid: F043504B48454C4C4F\n      related: true\n      missing-ok: true\n"
    "  - load:\n      cap: hello.cap\n      hash: sha256\n"
    "  - install:\n      applet: F043504B48454C4C4F01\n";

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	int fd;
	size_t n = strlen(text);

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0)
		return -1;
	if (write(fd, text, n) != (ssize_t)n) {
		close(fd);
		return -1;
	}
	return close(fd);
}

static int
make_card(unsigned i, struct card_record *c)
{
	char text[256];

	snprintf(text, sizeof(text),
	    "sd-aid: A000000151000000\nscp: 03\ni: 70\nkvn: 30\n"
	    "kdd: 0102030405%010X\ncounter: %06X\nserial: B%u\n", i, i + 1, i);
	card_record_init(c);
	return card_parse_yaml("card", (const uint8_t *)text, strlen(text), c, NULL) == CPK_OK ?
	    0 : -1;
}

/*
 * The cryptography alone: begin a session as the compiler does, then wrap
 * the plain commands that the compiled bundle protects (recovered by the
 * card side once, before timing), and sign once.
 */
struct plain_set {
	struct cpk_buf *cmds;
	size_t n;
};

static int
recover_plain(const struct cpk_compiled *out, const struct scp_keyset *keys, const uint8_t hc[8],
    struct plain_set *ps)
{
	struct scp_iu_response iu;
	struct scp_session card;
	size_t i, first = 0;

	if (scp_iu_response_parse(out->manifest.iu_response, out->manifest.iu_response_len, &iu,
	    NULL) != CPK_OK || scp_session_begin(&card, keys, SCP03, 0x70, hc, &iu, NULL) != CPK_OK)
		return -1;
	ps->cmds = calloc(out->ncmds, sizeof(*ps->cmds));
	ps->n = 0;
	for (i = 0; i < out->ncmds; i++) {
		if (out->cmds[i].flags & CPK_CMD_EXT_AUTH) {
			if (scp_card_external_authenticate(&card, out->cmds[i].apdu,
			    out->cmds[i].apdu_len, NULL) != CPK_OK)
				return -1;
			first = i + 1;
			break;
		}
	}
	for (i = first; i < out->ncmds; i++)
		if (scp_unwrap_command(&card, out->cmds[i].apdu, out->cmds[i].apdu_len,
		    &ps->cmds[ps->n++], NULL) != CPK_OK)
			return -1;
	scp_session_clear(&card);
	return 0;
}

static int
crypto_only(const struct card_record *c, const struct scp_keyset *keys, const uint8_t hc[8],
    const struct plain_set *ps, const struct cpk_signer *signer)
{
	static const uint8_t aid[] = { 0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00 };
	struct scp_iu_response iu;
	struct scp_session s;
	struct cpk_buf w = CPK_BUF_INIT;
	uint8_t sig[CPK_SIG_LEN];
	size_t i, cl;
	int rc = -1;

	/* The benchmark's card is the e2e SCP03 card (i=70, key set 30): its table row. */
	const struct scp_proto *proto = scp_proto_find(SCP03);

	memset(&iu, 0, sizeof(iu));
	memcpy(iu.kdd, c->kdd, 10);
	iu.kvn = 0x30;
	iu.scp = proto->id;
	iu.i = 0x70;
	iu.counter_len = scp_proto_iu_counter_len(proto, iu.i);
	memcpy(iu.counter, c->counter, iu.counter_len);
	iu.challenge_len = proto->challenge_len;
	if (scp_pseudo_random_challenge(keys, SCP03, iu.counter, iu.counter_len, aid, sizeof(aid),
	    iu.card_challenge, &cl, NULL) != CPK_OK ||
	    scp_session_begin(&s, keys, SCP03, 0x70, hc, &iu, NULL) != CPK_OK ||
	    scp_external_authenticate(&s, 0x03, &w, NULL) != CPK_OK)
		goto out;
	for (i = 0; i < ps->n; i++) {
		cpk_buf_reset(&w);
		if (scp_wrap_command(&s, ps->cmds[i].data, ps->cmds[i].len, &w, NULL) != CPK_OK)
			goto out;
	}
	if (cpk_signer_sign(signer, w.data, w.len, sig, NULL) != CPK_OK)
		goto out;
	rc = 0;
out:
	scp_session_clear(&s);
	cpk_buf_free(&w);
	return rc;
}

int
main(int argc, char **argv)
{
	static const uint8_t hc[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	static const uint8_t seed[32] = { 9 };
	unsigned long ncards = 200, capsize = 20000;
	struct profile_opts popts = { NULL };
	struct profile *p = NULL;
	struct cpk_signer *signer = NULL;
	struct capgen_spec spec;
	struct cpk_compile_opts opts;
	struct plain_set ps = { NULL, 0 };
	struct cpk_error err;
	char dir[] = "/tmp/cpk-bench-XXXXXX", path[512];
	double t0, full, crypto;
	size_t cmds = 0, bytes = 0;
	unsigned i;
	int a, rc = 1;

	for (a = 1; a + 1 < argc; a += 2) {
		if (strcmp(argv[a], "--cards") == 0)
			ncards = strtoul(argv[a + 1], NULL, 10);
		else if (strcmp(argv[a], "--cap-size") == 0)
			capsize = strtoul(argv[a + 1], NULL, 10);
	}
	if (ncards == 0 || mkdtemp(dir) == NULL)
		return 2;
	capgen_spec_init(&spec);
	capgen_aid_parse("F043504B48454C4C4F", &spec.package, NULL);
	capgen_aid_parse("F043504B48454C4C4F01", &spec.applets[0], NULL);
	spec.applet_count = 1;
	spec.lfdb_size = capsize;
	snprintf(path, sizeof(path), "%s/hello.cap", dir);
	if (write_file(dir, "keys.yaml", key_file) != 0 ||
	    write_file(dir, "profile.yaml", profile_text) != 0 ||
	    capgen_write(&spec, path, &err) != CPK_OK)
		goto out;
	snprintf(path, sizeof(path), "%s/profile.yaml", dir);
	popts.keydir = dir;
	if (profile_load(path, &popts, &p, &err) != CPK_OK ||
	    cpk_signer_from_seed(seed, &signer, &err) != CPK_OK)
		goto out;
	memset(&opts, 0, sizeof(opts));
	opts.host_challenge = hc;
	opts.created = 1700000000;

	t0 = now();
	for (i = 0; i < ncards; i++) {
		struct card_record c;
		struct cpk_compiled out;
		struct cpk_buf bundle = CPK_BUF_INIT;

		if (make_card(i, &c) != 0 || cpk_compile(p, &c, &opts, &out, &err) != CPK_OK ||
		    cpk_bundle_write(&out.manifest, out.cmds, out.ncmds, signer, &bundle, &err) != CPK_OK)
			goto out;
		if (i == 0 && recover_plain(&out, &p->keys.set->keys, hc, &ps) != 0)
			goto out;
		cmds += out.ncmds;
		bytes += bundle.len;
		cpk_compiled_free(&out);
		cpk_buf_free(&bundle);
		card_record_clear(&c);
	}
	full = now() - t0;

	t0 = now();
	for (i = 0; i < ncards; i++) {
		struct card_record c;

		if (make_card(i, &c) != 0 || crypto_only(&c, &p->keys.set->keys, hc, &ps, signer) != 0)
			goto out;
		card_record_clear(&c);
	}
	crypto = now() - t0;

	printf("cards: %lu, CAP LFDB %lu bytes, %zu commands per bundle, %zu bytes per bundle\n",
	    ncards, capsize, cmds / ncards, bytes / ncards);
	printf("full compile + sign + zip: %.1f bundles/s (%.3f ms each)\n", (double)ncards / full,
	    full * 1000 / (double)ncards);
	printf("cryptography alone:        %.1f bundles/s (%.3f ms each)\n", (double)ncards / crypto,
	    crypto * 1000 / (double)ncards);
	printf("ratio full/crypto: %.2f\n", full / crypto);
	rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "compile_throughput: %s\n", err.msg);
	for (i = 0; i < ps.n; i++)
		cpk_buf_free(&ps.cmds[i]);
	free(ps.cmds);
	cpk_signer_free(&signer);
	profile_free(&p);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	if (system(path) != 0)
		rc = 1;
	return rc;
}
