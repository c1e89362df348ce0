/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk unit test: derived host challenges (compiler/challenge.c) with and
 * without the profile's shared digest state (profile.challenge_prefix, made
 * by profile_load): the same challenge either way, for every card, and a
 * different one for another card or another load file.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capgen.h"
#include "card.h"
#include "challenge.h"
#include "profile.h"
#include "sign.h"
#include "testlib.h"

/* TEST KEYS ONLY. */
static const char key_file[] =
    "kvn: 30\nalgorithm: aes\n"
    "enc: 404142434445464748494A4B4C4D4E4F\n"
    "mac: 404142434445464748494A4B4C4D4E4F\n"
    "dek: 404142434445464748494A4B4C4D4E4F\n";

static const char profile_text[] =
    "profile: 1\nname: challenge\n"
    "security-domain:\n  aid: A000000151000000\n  scp: 03\n  i: 70\n"
    "  security-level: c-mac+c-dec\n"
    "keys:\n  file: keys.yaml\n"
    "steps:\n"
    "  - load:\n      cap: hello.cap\n"
    "  - install:\n      applet: F043504B48454C4C4F01\n";

static int
write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	size_t n = strlen(text);
	int fd, ok;

	/* 0600: cardc refuses key files that others may read. */
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0)
		return -1;
	ok = write(fd, text, n) == (ssize_t)n;
	return close(fd) == 0 && ok ? 0 : -1;
}

static int
make_cap(const char *dir, size_t size)
{
	struct capgen_spec spec;
	struct cpk_error err;
	char path[512];

	capgen_spec_init(&spec);
	capgen_aid_parse("F043504B48454C4C4F", &spec.package, NULL);
	capgen_aid_parse("F043504B48454C4C4F01", &spec.applets[0], NULL);
	spec.applet_count = 1;
	spec.lfdb_size = size;
	snprintf(path, sizeof(path), "%s/hello.cap", dir);
	return capgen_write(&spec, path, &err) == CPK_OK ? 0 : -1;
}

static void
card(unsigned i, struct card_record *c)
{
	char text[256];

	snprintf(text, sizeof(text),
	    "sd-aid: A000000151000000\nscp: 03\ni: 70\nkvn: 30\n"
	    "kdd: 01020304050607080%03u\ncounter: 00000%u\nserial: C%u\n", i, i, i);
	card_record_init(c);
	CHECK_OK(card_parse_yaml("card", (const uint8_t *)text, strlen(text), c, NULL));
}

/* The challenges of cards 1..3 for the profile in dir, with and without the kept state. */
static void
both_ways(const char *dir, const struct cpk_signer *signer, uint8_t hc[3][CPK_CHALLENGE_LEN])
{
	struct profile_opts popts = { NULL };
	struct profile *p = NULL;
	struct card_record c;
	struct cpk_error err;
	uint8_t again[CPK_CHALLENGE_LEN];
	char path[512];
	unsigned i;

	snprintf(path, sizeof(path), "%s/profile.yaml", dir);
	popts.keydir = dir;
	if (!CHECK_OK(profile_load(path, &popts, &p, &err)))
		return;
	CHECK(p->challenge_prefix != NULL);
	for (i = 0; i < 3; i++) {
		card(i + 1, &c);
		CHECK_OK(cpk_host_challenge_derive(signer, p, &c, hc[i], &err));
		card_record_clear(&c);
	}
	cpk_host_challenge_prefix_free(p->challenge_prefix);
	p->challenge_prefix = NULL;
	for (i = 0; i < 3; i++) {
		card(i + 1, &c);
		CHECK_OK(cpk_host_challenge_derive(signer, p, &c, again, &err));
		CHECK_MEM(again, sizeof(again), hc[i], CPK_CHALLENGE_LEN);
		card_record_clear(&c);
	}
	profile_free(&p);
}

int
main(void)
{
	static const uint8_t seed[32] = { 7 };
	char dir[] = "/tmp/cpk-challenge-XXXXXX", cmd[600];
	struct cpk_signer *signer = NULL;
	struct cpk_error err;
	uint8_t a[3][CPK_CHALLENGE_LEN], b[3][CPK_CHALLENGE_LEN];

	if (mkdtemp(dir) == NULL)
		return 1;
	CHECK(write_file(dir, "keys.yaml", key_file) == 0);
	CHECK(write_file(dir, "profile.yaml", profile_text) == 0);
	CHECK(make_cap(dir, 3000) == 0);
	CHECK_OK(cpk_signer_from_seed(seed, &signer, &err));
	both_ways(dir, signer, a);
	CHECK(memcmp(a[0], a[1], CPK_CHALLENGE_LEN) != 0);
	CHECK(memcmp(a[1], a[2], CPK_CHALLENGE_LEN) != 0);
	/* Another load file: other challenges for the same cards. */
	CHECK(make_cap(dir, 3001) == 0);
	both_ways(dir, signer, b);
	CHECK(memcmp(a[0], b[0], CPK_CHALLENGE_LEN) != 0);
	cpk_host_challenge_prefix_free(NULL);
	cpk_signer_free(&signer);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK(system(cmd) == 0);
	return test_summary("challenge");
}
