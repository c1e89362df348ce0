/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk unit test: the whole pipeline in one process, against the strict
 * card simulator's core (no PC/SC): profile + card record -> cpk_compile ->
 * signed bundle -> cpk_bundle_open with a trust anchor -> cpk_stream_run
 * into the card -> the card's registry. Then the loader's refusals: the
 * same bundle again (stale counter, refused before EXTERNAL AUTHENTICATE),
 * a bundle for another card, a card that refuses a LOAD block, a stop
 * request, a card that cannot be released; then personalization (STORE
 * DATA of an object longer than one command, and of an encrypted one).
 *
 * usage: test_pipeline SOURCE_ROOT
 */
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle_read.h"
#include "bundle_write.h"
#include "capgen.h"
#include "card.h"
#include "cardsim.h"
#include "cardsim_state.h"
#include "compile.h"
#include "gp_crypto.h"
#include "profile.h"
#include "sign.h"
#include "stream.h"
#include "testlib.h"
#include "verify.h"

static char dir[256];

static const char card_config[] =
    "cardsim: 1\n"
    "card:\n"
    "  isd: A000000151000000\n"
    "  kdd: 0102030405060708090A\n"
    "  scp: 3\n"
    "  i: 70\n"
    "key-sets:\n"
    "  - kvn: 30\n"
    "    type: aes\n"
    "    enc: 404142434445464748494A4B4C4D4E4F\n"
    "    mac: 404142434445464748494A4B4C4D4E4F\n"
    "    dek: 404142434445464748494A4B4C4D4E4F\n";

/* TEST KEYS ONLY: the GlobalPlatform test key set as an AES-128 key set. */
static const char key_file[] =
    "kvn: 30\n"
    "algorithm: aes\n"
    "enc: 404142434445464748494A4B4C4D4E4F\n"
    "mac: 404142434445464748494A4B4C4D4E4F\n"
    "dek: 404142434445464748494A4B4C4D4E4F\n";

static const char profile_text[] =
    "profile: 1\n"
    "name: pipeline\n"
    "security-domain:\n"
    "  aid: A000000151000000\n"
    "  scp: 03\n"
    "  i: 70\n"
    "  security-level: c-mac+c-dec\n"
    "keys:\n"
    "  file: keys.yaml\n"
    "steps:\n"
    "  - delete:\n"
    "      aid: F043504B48454C4C4F\n"
    "      related: true\n"
    "      missing-ok: true\n"
    "  - load:\n"
    "      cap: hello.cap\n"
    "      hash: sha256\n"
    "  - install:\n"
    "      applet: F043504B48454C4C4F01\n"
    "      params: \"0102\"\n";

static void
write_file(const char *name, const void *p, size_t n)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, p, n) != (ssize_t)n || close(fd) != 0) {
		perror(path);
		exit(1);
	}
}

/* The card as a transport: every exchange goes through cardsim_process. */
static cpk_status
card_transmit(void *ctx, const uint8_t *cmd, size_t n, struct cpk_buf *resp,
    struct cpk_error *err)
{
	struct cardsim *card = ctx;

	cardsim_process(card, cmd, n, resp);
	if (card->action == CS_ACTION_VANISH)
		return cpk_error_set(err, CPK_ERR_PCSC, "the card was removed from the reader");
	return CPK_OK;
}

/* Set to make releasing the card (the end of the transaction) fail. */
static bool fail_release;

static cpk_status
card_end(void *ctx, struct cpk_error *err)
{
	(void)ctx;
	if (fail_release)
		return cpk_error_set(err, CPK_ERR_PCSC, "SCardEndTransaction: the card was removed");
	return CPK_OK;
}

static const struct cpk_transport_ops card_ops = { .transmit = card_transmit, .end = card_end };

struct fixture {
	struct profile *profile;
	struct cpk_signer *signer;
	struct cpk_trust *trust;
};

static int
card_record_for(const char *kdd, const char *counter, struct card_record *c)
{
	char text[512];
	struct cpk_error err;

	snprintf(text, sizeof(text),
	    "sd-aid: A000000151000000\nscp: 03\ni: 70\nkvn: 30\nkdd: %s\ncounter: %s\n"
	    "serial: PIPE-1\n", kdd, counter);
	card_record_init(c);
	return CHECK_OK(card_parse_yaml("card.yaml", (const uint8_t *)text, strlen(text), c, &err));
}

/* Compile for a card record and open the signed result as the loader does. */
static struct cpk_bundle *
make_bundle(struct fixture *f, const char *kdd, const char *counter, struct cpk_buf *bytes)
{
	static const uint8_t hc[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct cpk_compile_opts opts;
	struct cpk_compiled out;
	struct card_record card;
	struct cpk_bundle *b = NULL;
	struct cpk_bundle_diag diag;
	struct cpk_error err;

	memset(&opts, 0, sizeof(opts));
	opts.host_challenge = hc;
	opts.created = 1700000000;
	if (!card_record_for(kdd, counter, &card))
		return NULL;
	cpk_buf_reset(bytes);
	if (CHECK_OK(cpk_compile(f->profile, &card, &opts, &out, &err)) &&
	    CHECK_OK(cpk_bundle_write(&out.manifest, out.cmds, out.ncmds, f->signer, bytes, &err)))
		CHECK_OK(cpk_bundle_open(bytes->data, bytes->len, f->trust, 0, &b, &diag, &err));
	else
		fprintf(stderr, "  %s\n", err.msg);
	cpk_compiled_free(&out);
	card_record_clear(&card);
	return b;
}

static cpk_status
stream(struct cardsim *card, struct cpk_bundle *b, const atomic_int *stop,
    struct cpk_stream_result *r, struct cpk_error *err)
{
	struct cpk_transport t = { .ops = &card_ops, .ctx = card };
	struct cpk_stream_hooks h = { .stop = stop };

	cardsim_reset(card);
	return cpk_stream_run(&t, b, &h, r, err);
}

static void
test_install_then_stale(struct fixture *f, struct cardsim *card)
{
	struct cpk_buf bytes = CPK_BUF_INIT;
	struct cpk_bundle *b = make_bundle(f, "0102030405060708090A", "000001", &bytes);
	struct cpk_stream_result r;
	struct cpk_error err;
	const uint8_t pkg[] = { 0xF0, 0x43, 0x50, 0x4B, 0x48, 0x45, 0x4C, 0x4C, 0x4F };
	const uint8_t app[] = { 0xF0, 0x43, 0x50, 0x4B, 0x48, 0x45, 0x4C, 0x4C, 0x4F, 0x01 };
	struct cs_app *a;

	if (!CHECK(b != NULL))
		goto out;
	CHECK_OK(stream(card, b, NULL, &r, &err));
	CHECK(r.stop == CPK_STOP_NONE && r.channel_open);
	CHECK(r.sent == cpk_bundle_command_count(b) && r.accepted == r.sent);
	CHECK(cardsim_find_loadfile(card, pkg, sizeof(pkg)) != NULL);
	a = cardsim_find_app(card, app, sizeof(app));
	CHECK(a != NULL && a->life_cycle == CS_LC_APP_SELECTABLE);

	/* The same bundle again: the card is at counter 2 now. */
	CHECK_STATUS(stream(card, b, NULL, &r, &err), CPK_ERR_VERIFY);
	CHECK(r.stop == CPK_STOP_MISMATCH && r.iu.diff == CPK_IU_STALE);
	CHECK(r.sent == 2 && !r.channel_open);	/* SELECT and INITIALIZE UPDATE only */
	CHECK_MSG(&err, "sequence counter: the bundle was made for 000001 but the card is at 000002");
	CHECK_MSG(&err, "ask for a new one");
out:
	cpk_bundle_free(&b);
	cpk_buf_free(&bytes);
}

static void
test_other_card_and_ahead(struct fixture *f, struct cardsim *card)
{
	struct cpk_buf bytes = CPK_BUF_INIT;
	struct cpk_bundle *b = make_bundle(f, "AAAAAAAAAAAAAAAAAAAA", "000003", &bytes);
	struct cpk_stream_result r;
	struct cpk_error err;

	if (CHECK(b != NULL)) {
		CHECK_STATUS(stream(card, b, NULL, &r, &err), CPK_ERR_VERIFY);
		CHECK(r.stop == CPK_STOP_MISMATCH && r.iu.diff == CPK_IU_CARD && r.sent == 2);
		CHECK_MSG(&err, "key diversification data: the bundle was made for the card with "
		    "KDD AAAAAAAAAAAAAAAAAAAA, but this card has KDD 0102030405060708090A");
		cpk_bundle_free(&b);
	}
	/* Made for a counter the card has not reached (card at 3 after this IU, bundle for 9). */
	b = make_bundle(f, "0102030405060708090A", "000009", &bytes);
	if (CHECK(b != NULL)) {
		CHECK_STATUS(stream(card, b, NULL, &r, &err), CPK_ERR_VERIFY);
		CHECK(r.iu.diff == CPK_IU_COUNTER_AHEAD);
		CHECK_MSG(&err, "the card record it was compiled from was ahead of the card");
		cpk_bundle_free(&b);
	}
	cpk_buf_free(&bytes);
}

static void
test_refused_and_interrupted(struct fixture *f, struct cardsim *card)
{
	struct cpk_buf bytes = CPK_BUF_INIT;
	struct cpk_bundle *b;
	struct cpk_stream_result r;
	struct cpk_error err;
	atomic_int stop = 1;

	/* The card is at counter 4: the next session uses 5. Refuse the 5th command. */
	b = make_bundle(f, "0102030405060708090A", "000005", &bytes);
	if (CHECK(b != NULL)) {
		card->faults.sw_at = 5;
		card->faults.sw = 0x6A84;
		card->ncommands = 0;
		CHECK_STATUS(stream(card, b, NULL, &r, &err), CPK_ERR_CARD);
		CHECK(r.stop == CPK_STOP_REFUSED && r.index == 4 && r.sw == 0x6A84 && r.channel_open);
		CHECK(r.sent == 5 && r.accepted == 4);
		CHECK_MSG(&err, "refused with 6A84: not enough memory");
		card->faults.sw_at = 0;
		cpk_bundle_free(&b);
	}
	/*
	 * Every command accepted, then the card cannot be released: the run
	 * succeeded (the card did everything), with a note saying why.
	 */
	b = make_bundle(f, "0102030405060708090A", "000006", &bytes);
	if (CHECK(b != NULL)) {
		fail_release = true;
		CHECK_OK(stream(card, b, NULL, &r, &err));
		fail_release = false;
		CHECK(r.stop == CPK_STOP_NONE && r.accepted == cpk_bundle_command_count(b));
		CHECK(r.release_failed);
		CHECK(strstr(r.release_msg, "SCardEndTransaction: the card was removed") != NULL);
		cpk_bundle_free(&b);
	}
	/* A stop requested before anything is sent. */
	b = make_bundle(f, "0102030405060708090A", "000007", &bytes);
	if (CHECK(b != NULL)) {
		CHECK_STATUS(stream(card, b, &stop, &r, &err), CPK_ERR_INTERRUPTED);
		CHECK(r.stop == CPK_STOP_INTERRUPTED && r.sent == 0);
		CHECK_MSG(&err, "stopped on request before command 1");
		cpk_bundle_free(&b);
	}
	cpk_buf_free(&bytes);
}

/*
 * Personalization through the strict card: a DGI of 300 bytes (longer than
 * one command: it continues in the next block), a sensitive DGI (encrypted
 * with the DEK, a command of its own, P1 bits 60 = 11), a small DGI, then
 * BER-TLV to the security domain. The card accepts every block and holds,
 * joined, exactly the objects the profile names.
 */
static const char perso_head[] =
    "profile: 1\n"
    "name: perso\n"
    "security-domain:\n"
    "  aid: A000000151000000\n"
    "  scp: 03\n"
    "  i: 70\n"
    "  security-level: c-mac+c-dec\n"
    "keys:\n"
    "  file: keys.yaml\n"
    "steps:\n"
    "  - store-data:\n"
    "      instance: F043504B48454C4C4F01\n"
    "      format: dgi\n"
    "      items:\n"
    "        - dgi: \"0101\"\n"
    "          value: ";

static const char perso_tail[] =
    "\n"
    "        - dgi: \"8010\"\n"
    "          value: 00112233445566778899AABBCCDDEEFF\n"
    "          encrypt: true\n"
    "        - dgi: \"0202\"\n"
    "          value: AABB\n"
    "  - store-data:\n"
    "      format: ber-tlv\n"
    "      items:\n"
    "        - tag: \"5F20\"\n"
    "          value: 414243\n";

/* The plain blocks of a target joined; the encrypted ones, decrypted and unpadded. */
static void
joined_blocks(const struct cs_stored *st, struct cpk_buf *plain, struct cpk_buf *secret)
{
	static const uint8_t dek[16] = { 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47,
	    0x48, 0x49, 0x4A, 0x4B, 0x4C, 0x4D, 0x4E, 0x4F };	/* TEST KEY */
	static const uint8_t zero[16];
	uint8_t buf[256];
	size_t i, n;

	for (i = 0; i < st->n; i++) {
		const struct cs_block *bl = &st->blocks[i];

		if ((bl->p1 & 0x60) == 0) {
			CHECK_OK(cpk_buf_append(plain, bl->data, bl->len, NULL));
			continue;
		}
		/* 8010 | Lv | DEK-encrypted value: AES-CBC, zero IV, 80-padded. */
		CHECK(bl->p1 == 0x68 && bl->len == 3 + 32 && bl->data[2] == 32);
		if (bl->len != 3 + 32)
			continue;
		CHECK_OK(gp_aes_cbc(0, dek, sizeof(dek), zero, bl->data + 3, 32, buf, NULL));
		if (CHECK_OK(gp_unpad80(buf, 32, 16, &n, NULL))) {
			CHECK_OK(cpk_buf_append(secret, bl->data, 2, NULL));
			CHECK_OK(cpk_buf_append(secret, buf, n, NULL));
		}
	}
}

static void
test_personalize(struct fixture *f, struct cardsim *card)
{
	struct cpk_buf text = CPK_BUF_INIT, bytes = CPK_BUF_INIT, plain = CPK_BUF_INIT,
	    secret = CPK_BUF_INIT, want = CPK_BUF_INIT;
	struct profile_opts popts = { .keydir = dir };
	struct profile *perso = NULL, *saved = f->profile;
	struct cpk_stream_result r;
	struct cpk_error err;
	struct cpk_bundle *b;
	struct cs_app *app;
	char path[512], hex[3];
	size_t i;

	CHECK_OK(cpk_buf_append(&text, perso_head, strlen(perso_head), NULL));
	CHECK_OK(cpk_buf_append(&want, "\x01\x01\xFF\x01\x2C", 5, NULL));
	for (i = 0; i < 300; i++) {
		snprintf(hex, sizeof(hex), "%02X", (unsigned)(i & 0xFF));
		CHECK_OK(cpk_buf_append(&text, hex, 2, NULL));
		CHECK_OK(cpk_buf_append_byte(&want, (uint8_t)i, NULL));
	}
	CHECK_OK(cpk_buf_append(&want, "\x02\x02\x02\xAA\xBB", 5, NULL));
	CHECK_OK(cpk_buf_append(&text, perso_tail, strlen(perso_tail), NULL));
	write_file("perso.yaml", text.data, text.len);
	snprintf(path, sizeof(path), "%s/perso.yaml", dir);
	if (!CHECK_OK(profile_load(path, &popts, &perso, &err))) {
		fprintf(stderr, "  %s\n", err.msg);
		goto out;
	}
	f->profile = perso;
	b = make_bundle(f, "0102030405060708090A", "000007", &bytes);
	f->profile = saved;
	if (!CHECK(b != NULL))
		goto out;
	if (!CHECK_OK(stream(card, b, NULL, &r, &err)))
		fprintf(stderr, "  %s\n", err.msg);
	CHECK(r.stop == CPK_STOP_NONE && r.accepted == cpk_bundle_command_count(b));
	cpk_bundle_free(&b);
	app = cardsim_find_app(card, (const uint8_t *)"\xF0\x43\x50\x4B\x48\x45\x4C\x4C\x4F\x01",
	    10);
	if (!CHECK(app != NULL))
		goto out;
	/*
	 * 305 bytes in blocks of at most 239 (C-DEC): 239 + 66; the secret in a
	 * block of its own; then DGI 0202. The BER-TLV step went to the
	 * security domain.
	 */
	CHECK(app->stored.n == 4);
	joined_blocks(&app->stored, &plain, &secret);
	CHECK(plain.len == want.len && memcmp(plain.data, want.data, want.len) == 0);
	CHECK_HEX(secret.data, secret.len, "801000112233445566778899AABBCCDDEEFF");
	CHECK(card->isd_stored.n == 1 && card->isd_stored.blocks[0].p1 == 0x90);
	CHECK(card->perso.open.len == 0);
out:
	profile_free(&perso);
	cpk_buf_free(&text);
	cpk_buf_free(&bytes);
	cpk_buf_free(&plain);
	cpk_buf_free(&secret);
	cpk_buf_free(&want);
}

int
main(int argc, char **argv)
{
	static const uint8_t seed[32] = { 7 };
	struct fixture f = { NULL, NULL, NULL };
	struct capgen_spec spec;
	struct cardsim *card = NULL;
	struct profile_opts popts = { .keydir = dir };
	struct cpk_error err;
	char path[512];

	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "/tmp/cpk-pipeline-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	write_file("keys.yaml", key_file, strlen(key_file));
	write_file("profile.yaml", profile_text, strlen(profile_text));
	capgen_spec_init(&spec);
	CHECK_OK(capgen_aid_parse("F043504B48454C4C4F", &spec.package, &err));
	CHECK_OK(capgen_aid_parse("F043504B48454C4C4F01", &spec.applets[0], &err));
	spec.applet_count = 1;
	spec.lfdb_size = 3000;
	snprintf(path, sizeof(path), "%s/hello.cap", dir);
	CHECK_OK(capgen_write(&spec, path, &err));
	snprintf(path, sizeof(path), "%s/profile.yaml", dir);
	if (!CHECK_OK(profile_load(path, &popts, &f.profile, &err)) ||
	    !CHECK_OK(cpk_signer_from_seed(seed, &f.signer, &err)) ||
	    !CHECK_OK(cpk_trust_new(&f.trust, &err)) ||
	    !CHECK_OK(cpk_trust_add_key(f.trust, cpk_signer_pubkey(f.signer), "test", &err)) ||
	    !CHECK((card = cardsim_new()) != NULL) ||
	    !CHECK_OK(cardsim_state_parse(card, "card.yaml", (const uint8_t *)card_config,
	    strlen(card_config), &err))) {
		fprintf(stderr, "set-up failed: %s\n", err.msg);
		goto out;
	}
	test_install_then_stale(&f, card);
	test_other_card_and_ahead(&f, card);
	test_refused_and_interrupted(&f, card);
	test_personalize(&f, card);
out:
	cardsim_free(&card);
	cpk_trust_free(&f.trust);
	cpk_signer_free(&f.signer);
	profile_free(&f.profile);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	if (system(path) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return test_summary("pipeline");
}
