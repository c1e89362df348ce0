/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzz target: provisioning profiles, profile_parse and profile_check
 * (compiler/profile.h), then profile_check_card and profile_render for three
 * fixed card records (SCP03 offline, SCP02 offline, SCP03 session).
 *
 * No file is read. profile_parse takes the text; profile_resolve, which
 * opens the key set and CAP files a profile names (only inside the key
 * folder and the profile's folder), runs against a profile folder and a key
 * folder that do not exist, and must fail cleanly whatever the names. The target then resolves in memory instead: every
 * load step gets the same CAP file (hello.cap of the example profiles,
 * made once with capgen), its Load File Data Block and hash as
 * profile_resolve would build them, so profile_check sees a resolved
 * profile. Key sets stay unresolved (profile_check does not read them).
 *
 * Nothing crashes or leaks, and:
 * - a refused profile gives no profile and says why; the outcome is the
 *   same whether or not the caller passes an error structure;
 * - an accepted one carries the SHA-256 of its text and stays within the
 *   limits (steps, data names, status words, templates well formed);
 * - a card record that profile_check_card accepts renders every template
 *   of the profile (profile_render), and a template without placeholders
 *   renders to its literal bytes.
 */
#include <stdbool.h>
#include <string.h>

#include "capgen.h"
#include "card.h"
#include "cpk_bundle.h"
#include "fuzz.h"
#include "profile.h"

#define NO_DIR "/nonexistent-cpk-fuzz-profile"

/* tests/cli/data/card-scp03.yaml and card-scp02.yaml, with what the example profiles use. */
static const char card_scp03[] =
    "sd-aid: A000000151000000\n"
    "scp: 03\n"
    "i: 70\n"
    "kvn: 30\n"
    "kdd: 0102030405060708090A\n"
    "counter: 000001\n"
    "serial: CARD-0001\n"
    "iin: 0001020304\n"
    "cin: 0102030405060708\n"
    "cplc: 479051674791121047110000000000000000000000000000000000000000000000000000000000000000\n"
    "data:\n"
    "  holder: Ada Lovelace\n"
    "  pin: \"31323334\"\n";
static const char card_scp02[] =
    "sd-aid: A000000151000000\n"
    "scp: 02\n"
    "i: 75\n"
    "kvn: 01\n"
    "kdd: 0102030405060708090A\n"
    "counter: 0001\n"
    "serial: CARD-0002\n";

/* A live exchange for session profiles (SCP03 i=60, key version 30). */
static const char card_session[] =
    "sd-aid: A000000151000000\n"
    "scp: 03\n"
    "i: 60\n"
    "kvn: 30\n"
    "kdd: 00010203040506070809\n"
    "host-challenge: F0E1D2C3B4A59687\n"
    "iu-response: 00010203040506070809300360112233445566778899AABBCCDDEEFF00\n"
    "iin: 42018F\n"
    "cplc: 9F7F00000000000000000000000000000000000000000000000000000000000000000000000000000000\n"
    "data: {holder: Grace, pin: \"0000\"}\n";

static struct cap_file *hello;
static struct card_record cards[3];

static void
setup(void)
{
	struct capgen_spec spec;
	struct cpk_buf zip = CPK_BUF_INIT;

	capgen_spec_init(&spec);
	FUZZ_CHECK(capgen_aid_parse("F043504B48454C4C4F", &spec.package, NULL) == CPK_OK);
	FUZZ_CHECK(capgen_aid_parse("F043504B48454C4C4F01", &spec.applets[0], NULL) == CPK_OK);
	spec.applet_count = 1;
	FUZZ_CHECK(capgen_build(&spec, &zip, NULL) == CPK_OK);
	FUZZ_CHECK(cap_open_buffer("hello.cap", zip.data, zip.len, &hello, NULL) == CPK_OK);
	cpk_buf_free(&zip);
	FUZZ_CHECK(card_parse_yaml("card-scp03.yaml", (const uint8_t *)card_scp03,
	    sizeof(card_scp03) - 1, &cards[0], NULL) == CPK_OK);
	FUZZ_CHECK(card_parse_yaml("card-scp02.yaml", (const uint8_t *)card_scp02,
	    sizeof(card_scp02) - 1, &cards[1], NULL) == CPK_OK);
	FUZZ_CHECK(card_parse_yaml("card-session.yaml", (const uint8_t *)card_session,
	    sizeof(card_session) - 1, &cards[2], NULL) == CPK_OK);
}

/* profile_resolve for load steps, from the in-memory CAP. */
static void
resolve_in_memory(struct profile *p)
{
	size_t i;

	for (i = 0; i < p->nsteps; i++) {
		struct profile_step *s = &p->steps[i];
		struct profile_load *l = &s->u.load;

		if (s->kind == PROFILE_STEP_INSTALL && s->u.install.load_step >= 0) {
			FUZZ_CHECK((size_t)s->u.install.load_step < i);
			s->u.install.package = p->steps[s->u.install.load_step].u.load.package;
		}
		if (s->kind != PROFILE_STEP_LOAD)
			continue;
		FUZZ_CHECK(l->cap == NULL);
		l->cap = hello;
		FUZZ_CHECK(gp_aid_set(&l->package, hello->info.pkg_aid, hello->info.pkg_aid_len,
		    NULL) == CPK_OK);
		FUZZ_CHECK(profile_load_build(l, NULL) == CPK_OK);
		l->block = l->block_size != 0 ? l->block_size :
		    scp_max_plain_data(p->sd.scp, p->sd.level, CPK_APDU_SHORT_MAX_LC);
	}
}

/* The shared CAP is not the profile's to free. */
static void
unresolve(struct profile *p)
{
	size_t i;

	for (i = 0; i < p->nsteps; i++)
		if (p->steps[i].kind == PROFILE_STEP_LOAD)
			p->steps[i].u.load.cap = NULL;
}

static void
check_tmpl(const struct profile_tmpl *t)
{
	bool placeholders = false;
	size_t i;

	for (i = 0; i < t->nsegs; i++) {
		const struct profile_seg *sg = &t->segs[i];

		if (sg->field == 0) {
			FUZZ_CHECK(sg->bytes != NULL && sg->len > 0);
		} else {
			placeholders = true;
			FUZZ_CHECK(sg->field >= PROFILE_F_SERIAL && sg->field <= PROFILE_F_DATA_TEXT);
			if (sg->field == PROFILE_F_DATA || sg->field == PROFILE_F_DATA_TEXT)
				FUZZ_CHECK(sg->name != NULL && sg->name[0] != '\0');
		}
	}
	FUZZ_CHECK(t->fixed == !placeholders);
}

static void
check_parsed(const struct profile *p, const uint8_t *data, size_t size)
{
	uint8_t md[PROFILE_SHA256_LEN];
	size_t i, k;

	FUZZ_CHECK(cpk_sha256(data, size, md, NULL) == CPK_OK);
	FUZZ_CHECK(memcmp(md, p->sha256, sizeof(md)) == 0);
	FUZZ_CHECK(p->name != NULL && p->keys.file != NULL);
	FUZZ_CHECK(p->sd.scp == SCP02 || p->sd.scp == SCP03);
	FUZZ_CHECK(p->sd.mode == PROFILE_MODE_OFFLINE || p->sd.mode == PROFILE_MODE_SESSION);
	FUZZ_CHECK(p->ndata <= PROFILE_MAX_DATA && p->nsteps <= PROFILE_MAX_STEPS);
	for (i = 0; i < p->ndata; i++)
		FUZZ_CHECK(p->data_names[i] != NULL);
	for (i = 0; i < p->nsteps; i++) {
		const struct profile_step *s = &p->steps[i];

		FUZZ_CHECK(s->kind >= PROFILE_STEP_DELETE && s->kind <= PROFILE_STEP_CMD);
		/* A table step: its command was built when parsed, and names its step. */
		if (s->kind == PROFILE_STEP_CMD)
			FUZZ_CHECK(s->u.cmd.ops != NULL && s->u.cmd.len <= sizeof(s->u.cmd.data) &&
			    s->u.cmd.what[0] != '\0');
		FUZZ_CHECK(s->naccept >= 1 && s->naccept <= PROFILE_MAX_ACCEPT);
		if (s->kind == PROFILE_STEP_APDU)
			check_tmpl(&s->u.apdu.data);
		if (s->kind == PROFILE_STEP_STORE_DATA) {
			FUZZ_CHECK(s->u.store.nitems <= PROFILE_MAX_ITEMS);
			for (k = 0; k < s->u.store.nitems; k++)
				check_tmpl(&s->u.store.items[k].value);
		}
		if (s->kind == PROFILE_STEP_LOAD)
			FUZZ_CHECK(s->u.load.cap_file != NULL);
		if (s->kind == PROFILE_STEP_PUT_KEY)
			FUZZ_CHECK(s->u.put_key.file != NULL);
	}
}

static void
check_render(const struct profile *p, const struct profile_tmpl *t, const struct card_record *c)
{
	struct cpk_buf out = CPK_BUF_INIT;
	size_t i, off = 0;

	FUZZ_CHECK(profile_render(p, t, c, &out, NULL) == CPK_OK);
	if (t->fixed) {
		for (i = 0; i < t->nsegs; i++) {
			FUZZ_CHECK(off + t->segs[i].len <= out.len);
			FUZZ_CHECK(memcmp(out.data + off, t->segs[i].bytes, t->segs[i].len) == 0);
			off += t->segs[i].len;
		}
		FUZZ_CHECK(off == out.len);
	}
	cpk_buf_free(&out);
}

static void
check_cards(const struct profile *p)
{
	size_t c, i, k;

	for (c = 0; c < sizeof(cards) / sizeof(cards[0]); c++) {
		if (profile_check_card(p, &cards[c], NULL) != CPK_OK)
			continue;
		for (i = 0; i < p->nsteps; i++) {
			const struct profile_step *s = &p->steps[i];

			if (s->kind == PROFILE_STEP_APDU)
				check_render(p, &s->u.apdu.data, &cards[c]);
			for (k = 0; s->kind == PROFILE_STEP_STORE_DATA && k < s->u.store.nitems; k++)
				check_render(p, &s->u.store.items[k].value, &cards[c]);
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct profile *p = (struct profile *)&cards;	/* not NULL */
	struct profile_opts o = { .keydir = NO_DIR };
	struct cpk_error err;
	cpk_status st, quiet;

	if (hello == NULL)
		setup();
	/* The outcome does not depend on whether the caller wants the message. */
	quiet = profile_parse("fuzz.yaml", NO_DIR, data, size, &p, NULL);
	profile_free(&p);
	cpk_error_clear(&err);
	st = profile_parse("fuzz.yaml", NO_DIR, data, size, &p, &err);
	FUZZ_CHECK(st == quiet);
	if (st != CPK_OK) {
		FUZZ_CHECK(p == NULL);
		FUZZ_CHECK(err.status == st && err.msg[0] != '\0');
		FUZZ_CHECK(st == CPK_ERR_PARSE || st == CPK_ERR_RANGE || st == CPK_ERR_UNSUPPORTED ||
		    st == CPK_ERR_NOT_FOUND);
		return 0;
	}
	FUZZ_CHECK(p != NULL);
	check_parsed(p, data, size);
	/* Nothing exists there: resolving fails, with its reason, whatever the names. */
	cpk_error_clear(&err);
	st = profile_resolve(p, &o, &err);
	FUZZ_CHECK(st != CPK_OK && err.status == st && err.msg[0] != '\0');
	resolve_in_memory(p);
	if (profile_check(p, NULL) == CPK_OK)
		check_cards(p);
	unresolve(p);
	profile_free(&p);
	FUZZ_CHECK(p == NULL);
	return 0;
}
