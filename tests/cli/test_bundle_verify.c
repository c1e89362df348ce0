/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk unit test: cardc verify's recomputation (compiler/bundle_verify.h).
 *
 *  - tamper: for a small SCP03 and a small SCP02 bundle, every byte of
 *    every command's APDU flipped (three masks), the bundle re-signed with
 *    the test key through cpk_bundle_write so that signature and script
 *    hash are valid: the reader opens it, and only the recomputation can
 *    catch the change; it must report a mismatch at that command's index
 *    (or the writer itself refuses what the reader would refuse too);
 *  - the SCP03 vector kaoh_get_status of tests/vectors/scp03.yaml: a
 *    profile whose only step is its GET STATUS produces exactly the
 *    vector's INITIALIZE UPDATE, expected response, EXTERNAL AUTHENTICATE
 *    and wrapped command, and verify gives back the plain command;
 *  - a session bundle (the vector's exchange as the card record's) verifies,
 *    and fails when the manifest's card cryptogram is altered;
 *  - an offline bundle whose card challenge is not the pseudo-random one;
 *  - master keys without a scheme in the key file (kdf3; emv then visa2);
 *  - wrong keys, unreadable key files.
 *
 * usage: test_bundle_verify SOURCE_ROOT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bundle_fixture.h"
#include "bundle_read.h"
#include "bundle_verify.h"
#include "bundle_write.h"
#include "capgen.h"
#include "card.h"
#include "compile.h"
#include "profile.h"
#include "scp.h"
#include "sign.h"
#include "testlib.h"
#include "vecdoc.h"
#include "verify.h"

static const char *srcroot;
static char *tmp, *keydir;
static struct cpk_signer *signer;
static struct cpk_trust *trust;

/* TEST KEYS ONLY: the GlobalPlatform test keys 40..4F. */
static const char aes_keys[] =
    "kvn: \"30\"\nalgorithm: aes\n"
    "enc: 404142434445464748494A4B4C4D4E4F\n"
    "mac: 404142434445464748494A4B4C4D4E4F\n"
    "dek: 404142434445464748494A4B4C4D4E4F\n";
static const char des_keys[] =
    "kvn: \"01\"\nalgorithm: 3des\n"
    "enc: 404142434445464748494A4B4C4D4E4F\n"
    "mac: 404142434445464748494A4B4C4D4E4F\n"
    "dek: 404142434445464748494A4B4C4D4E4F\n";

static const char card_scp03[] =
    "sd-aid: A000000151000000\nscp: 03\ni: 70\nkvn: 30\nkdd: 0102030405060708090A\n"
    "counter: 000001\nserial: T-03\n";
static const char card_scp02[] =
    "sd-aid: A000000151000000\nscp: 02\ni: 55\nkvn: 01\nkdd: 0102030405060708090A\n"
    "counter: 0001\nserial: T-02\n";

static char *
tpath(const char *dir, const char *name)
{
	return path_join(dir, name);
}

static void
write_in(const char *dir, const char *name, const char *text, unsigned mode)
{
	char *p = tpath(dir, name);

	spit(p, text, strlen(text), mode);
	free(p);
}

/* Compile profile text for a card record; false (with a message) on failure. */
static bool
compile_for(const char *profile_text, const char *kdir, const char *card_text,
    const uint8_t *hc, struct cpk_compiled *out)
{
	struct profile_opts popts = { .keydir = kdir };
	struct cpk_compile_opts copts;
	struct profile *p = NULL;
	struct card_record card;
	struct cpk_error err;
	char *path = tpath(tmp, "profile.yaml");
	bool ok = false;

	memset(&copts, 0, sizeof(copts));
	memset(out, 0, sizeof(*out));
	copts.host_challenge = hc;
	copts.created = 1700000000;
	card_record_init(&card);
	spit(path, profile_text, strlen(profile_text), 0644);
	cpk_error_clear(&err);
	if (!CHECK_OK(profile_load(path, &popts, &p, &err)) ||
	    !CHECK_OK(card_parse_yaml("card.yaml", (const uint8_t *)card_text, strlen(card_text),
	    &card, &err)))
		goto out;
	memcpy(copts.profile_sha256, p->sha256, sizeof(copts.profile_sha256));
	ok = CHECK_OK(cpk_compile(p, &card, &copts, out, &err));
out:
	if (!ok)
		fprintf(stderr, "  %s:%u:%u: %s\n", err.file, err.line, err.col, err.msg);
	card_record_clear(&card);
	profile_free(&p);
	free(path);
	return ok;
}

/* Sign, write and reopen (signature checked) a bundle; returns it or NULL. */
static struct cpk_bundle *
roundtrip(const struct cpk_manifest *m, const struct cpk_command *cmds, size_t n,
    struct cpk_buf *bytes, cpk_status *write_status)
{
	struct cpk_bundle *b = NULL;
	struct cpk_bundle_diag diag;
	struct cpk_error err;

	cpk_buf_reset(bytes);
	cpk_error_clear(&err);
	*write_status = cpk_bundle_write(m, cmds, n, signer, bytes, &err);
	if (*write_status != CPK_OK)
		return NULL;
	if (!CHECK_OK(cpk_bundle_open(bytes->data, bytes->len, trust, 0, &b, &diag, &err)))
		fprintf(stderr, "  reopen: %s\n", err.msg);
	return b;
}

/* The commands of an open bundle, as an array. */
static struct cpk_command *
bundle_cmds(const struct cpk_bundle *b, size_t *n)
{
	struct cpk_command *v;
	size_t i;

	*n = cpk_bundle_command_count(b);
	if ((v = calloc(*n, sizeof(*v))) == NULL)
		abort();
	for (i = 0; i < *n; i++)
		v[i] = *cpk_bundle_command(b, i);
	return v;
}

struct plain_capture {
	size_t calls;
	size_t want_index;
	struct cpk_buf plain;		/* of want_index */
};

static cpk_status
capture(void *ctx, size_t index, const struct cpk_command *cmd, const uint8_t *plain, size_t n,
    struct cpk_error *err)
{
	struct plain_capture *c = ctx;

	(void)cmd;
	c->calls++;
	if (index == c->want_index)
		return cpk_buf_set(&c->plain, plain, n, err);
	return CPK_OK;
}

/* Verify an open bundle with the key folder. */
static cpk_status
verify_bundle(const struct cpk_bundle *b, const char *keys, struct bundle_verify_result *r,
    struct cpk_error *err)
{
	struct cpk_command *cmds;
	size_t n;
	cpk_status st;

	cmds = bundle_cmds(b, &n);
	cpk_error_clear(err);
	st = bundle_verify(cpk_bundle_manifest(b), cmds, n, keys, NULL, NULL, r, err);
	free(cmds);
	return st;
}

/* Every byte of every APDU, flipped and re-signed: verify must name the command. */
static void
tamper_all(const char *name, const struct cpk_compiled *c)
{
	static const uint8_t masks[] = { 0x01, 0x80, 0xFF };
	struct cpk_buf bytes = CPK_BUF_INIT;
	struct cpk_command *cmds;
	struct bundle_verify_result r;
	struct cpk_error err;
	struct cpk_bundle *b;
	size_t i, j, k, caught = 0, refused = 0, wrong = 0, total = 0;
	cpk_status ws;
	uint8_t *apdu;

	if ((cmds = calloc(c->ncmds, sizeof(*cmds))) == NULL)
		abort();
	/* The untouched bundle verifies. */
	if ((b = roundtrip(&c->manifest, c->cmds, c->ncmds, &bytes, &ws)) != NULL) {
		if (!CHECK_OK(verify_bundle(b, keydir, &r, &err)))
			fprintf(stderr, "  %s: %s\n", name, err.msg);
		CHECK(r.checked == c->ncmds && !r.mismatch);
		cpk_bundle_free(&b);
	}
	for (i = 0; i < c->ncmds; i++) {
		size_t caught_here = 0, refused_here = 0, total_here = 0;

		for (j = 0; j < c->cmds[i].apdu_len; j++) {
			for (k = 0; k < sizeof(masks); k++) {
				memcpy(cmds, c->cmds, c->ncmds * sizeof(*cmds));
				if ((apdu = malloc(c->cmds[i].apdu_len)) == NULL)
					abort();
				memcpy(apdu, c->cmds[i].apdu, c->cmds[i].apdu_len);
				apdu[j] ^= masks[k];
				cmds[i].apdu = apdu;
				/*
				 * INITIALIZE UPDATE with KVN 00 asks for the default key set:
				 * as valid as the explicit version (the expected response
				 * still pins it), so it is not a change verify can refuse.
				 */
				if (cmds[i].flags == CPK_CMD_INIT_UPDATE && j == 2 && apdu[j] == 0x00) {
					free(apdu);
					continue;
				}
				total++;
				total_here++;
				b = roundtrip(&c->manifest, cmds, c->ncmds, &bytes, &ws);
				if (ws != CPK_OK) {
					/* The reader runs the same checks: such a bundle cannot exist. */
					refused++;
					refused_here++;
				} else if (b != NULL) {
					if (verify_bundle(b, keydir, &r, &err) == CPK_ERR_VERIFY &&
					    r.mismatch && r.has_index && r.index == i) {
						caught++;
						caught_here++;
					} else {
						wrong++;
						fprintf(stderr, "  %s: command %zu byte %zu ^ %02X: not caught "
						    "at its index (%s)\n", name, i + 1, j, masks[k], err.msg);
					}
				}
				cpk_bundle_free(&b);
				free(apdu);
			}
		}
		/*
		 * The opening SELECT and INITIALIZE UPDATE are fixed by the format
		 * itself (cpk(5)): no altered one can even be written. Every later
		 * command is the secure channel's to check.
		 */
		if (c->manifest.mode == CPK_MODE_OFFLINE && i < 2)
			CHECK(refused_here == total_here && total_here > 0);
		else
			CHECK(caught_here > 0);
	}
	fprintf(stderr, "tamper %s: %zu commands, %zu altered bundles: %zu caught by verify at "
	    "the right index, %zu refused by the writer (and any reader)\n", name, c->ncmds, total,
	    caught, refused);
	CHECK(wrong == 0);
	CHECK(caught + refused == total);
	free(cmds);
	cpk_buf_free(&bytes);
}

static void
test_tamper(void)
{
	static const uint8_t hc[8] = { 0xF0, 0xE1, 0xD2, 0xC3, 0xB4, 0xA5, 0x96, 0x87 };
	static const char p03[] =
	    "profile: 1\nname: tamper-03\n"
	    "security-domain:\n  aid: A000000151000000\n  scp: 03\n  i: 70\n"
	    "  security-level: c-mac+c-dec\n"
	    "keys:\n  file: aes.yaml\n"
	    "steps:\n"
	    "  - delete:\n      aid: F043504B48454C4C4F\n      missing-ok: true\n"
	    "  - apdu:\n      header: 80F24002\n      data: 4F00\n      le: \"00\"\n";
	static const char p02[] =
	    "profile: 1\nname: tamper-02\n"
	    "security-domain:\n  aid: A000000151000000\n  scp: 02\n  i: 55\n"
	    "  security-level: c-mac+c-dec\n"
	    "keys:\n  file: des.yaml\n"
	    "steps:\n"
	    "  - delete:\n      aid: F043504B48454C4C4F\n"
	    "  - apdu:\n      header: 80F22000\n      le: \"00\"\n";
	struct cpk_compiled c;

	if (compile_for(p03, keydir, card_scp03, hc, &c))
		tamper_all("SCP03 i=70 level 03", &c);
	cpk_compiled_free(&c);
	if (compile_for(p02, keydir, card_scp02, hc, &c))
		tamper_all("SCP02 i=55 level 03", &c);
	cpk_compiled_free(&c);
}

/* --- the SCP03 vector --- */

struct kaoh {
	uint8_t enc[16], mac[16], dek[16], hc[8], iu_cmd[14], iu_resp[32], ea[21];
	uint8_t plain[8], wrapped[30];
	size_t iu_resp_len, ea_len, plain_len, wrapped_len;
	char sd_aid[40], counter[8], kdd[24];
};

static bool
load_kaoh(struct kaoh *v)
{
	char *path = path_join(srcroot, "tests/vectors/scp03.yaml");
	struct vnode *doc = vdoc_load(path);
	const struct vnode *k, *cmd;
	bool ok = false;

	free(path);
	if (!CHECK(doc != NULL))
		return false;
	k = vdoc_get(doc, "kaoh_get_status");
	cmd = k != NULL ? vdoc_get(k, "commands") : NULL;
	if (!CHECK(k != NULL && cmd != NULL && cmd->kind == VN_SEQ && cmd->n == 1))
		goto out;
	cmd = cmd->items[0];
	ok = CHECK(vdoc_hex(k, "enc", v->enc, 16) == 16) &&
	    CHECK(vdoc_hex(k, "mac", v->mac, 16) == 16) &&
	    CHECK(vdoc_hex(k, "dek", v->dek, 16) == 16) &&
	    CHECK(vdoc_hex(k, "host_challenge", v->hc, 8) == 8) &&
	    CHECK(vdoc_hex(k, "initialize_update_command", v->iu_cmd, 14) == 14) &&
	    CHECK((v->iu_resp_len = vdoc_hex(k, "initialize_update_response", v->iu_resp,
	    sizeof(v->iu_resp))) == 32) &&
	    CHECK((v->ea_len = vdoc_hex(k, "external_authenticate", v->ea, sizeof(v->ea))) ==
	    21) &&
	    CHECK((v->plain_len = vdoc_hex(cmd, "plain", v->plain, sizeof(v->plain))) == 8) &&
	    CHECK((v->wrapped_len = vdoc_hex(cmd, "wrapped", v->wrapped, sizeof(v->wrapped))) ==
	    30) &&
	    CHECK(vdoc_str(k, "sd_aid") != NULL && vdoc_str(k, "sequence_counter") != NULL &&
	    vdoc_str(k, "kdd") != NULL) &&
	    CHECK(strcmp(vdoc_str(k, "i"), "70") == 0 &&
	    strcmp(vdoc_str(k, "security_level"), "03") == 0);
	if (ok) {
		snprintf(v->sd_aid, sizeof(v->sd_aid), "%s", vdoc_str(k, "sd_aid"));
		snprintf(v->counter, sizeof(v->counter), "%s", vdoc_str(k, "sequence_counter"));
		snprintf(v->kdd, sizeof(v->kdd), "%s", vdoc_str(k, "kdd"));
	}
out:
	vdoc_free(doc);
	return ok;
}

static void
hex_of(const uint8_t *p, size_t n, char *out, size_t cap)
{
	if (cpk_hex_encode(p, n, out, cap) != CPK_OK)
		abort();
}

/* The vector's key set (kvn 30) in its own folder. */
static char *
kaoh_keydir(const struct kaoh *v)
{
	char *dir = tpath(tmp, "kaoh-keys");
	char text[512], e[33], m[33], d[33];

	mkdir(dir, 0700);
	hex_of(v->enc, 16, e, sizeof(e));
	hex_of(v->mac, 16, m, sizeof(m));
	hex_of(v->dek, 16, d, sizeof(d));
	snprintf(text, sizeof(text), "kvn: \"30\"\nalgorithm: aes\nenc: %s\nmac: %s\ndek: %s\n", e,
	    m, d);
	write_in(dir, "kaoh.yaml", text, 0600);
	cpk_cleanse(text, sizeof(text));
	return dir;
}

static void
test_vector(void)
{
	struct kaoh v;
	struct cpk_compiled c;
	struct bundle_verify_result r;
	struct plain_capture cap = { 0, 3, CPK_BUF_INIT };
	struct cpk_buf bytes = CPK_BUF_INIT;
	struct cpk_bundle *b = NULL;
	struct cpk_error err;
	char profile[1024], card[512], *kdir;
	cpk_status ws;

	if (!load_kaoh(&v))
		return;
	kdir = kaoh_keydir(&v);
	/* kvn 00: INITIALIZE UPDATE asks for the default key set; the card answers 30. */
	snprintf(profile, sizeof(profile),
	    "profile: 1\nname: kaoh-get-status\n"
	    "security-domain:\n  aid: %s\n  scp: 03\n  i: 70\n  kvn: 00\n"
	    "  security-level: c-mac+c-dec\n"
	    "keys:\n  file: kaoh.yaml\n"
	    "steps:\n"
	    "  - apdu:\n      header: 80F24002\n      data: 4F00\n      le: \"00\"\n", v.sd_aid);
	snprintf(card, sizeof(card),
	    "sd-aid: %s\nscp: 03\ni: 70\nkvn: 30\nkdd: %s\ncounter: %s\n", v.sd_aid, v.kdd,
	    v.counter);
	if (compile_for(profile, kdir, card, v.hc, &c)) {
		if (CHECK(c.ncmds == 4)) {
			CHECK_MEM(c.cmds[1].apdu, c.cmds[1].apdu_len, v.iu_cmd, sizeof(v.iu_cmd));
			CHECK(c.cmds[1].flags == CPK_CMD_INIT_UPDATE);
			CHECK_MEM(c.manifest.iu_response, c.manifest.iu_response_len, v.iu_resp,
			    v.iu_resp_len);
			CHECK(c.manifest.kvn == 0x30);
			CHECK_MEM(c.cmds[2].apdu, c.cmds[2].apdu_len, v.ea, v.ea_len);
			CHECK_MEM(c.cmds[3].apdu, c.cmds[3].apdu_len, v.wrapped, v.wrapped_len);
			/* The vector's plain command is what the step builds. */
			CHECK_HEX(v.plain, v.plain_len, "80F24002024F0000");
		}
		/* verify recomputes it from the signed bundle and gives the plain GET STATUS. */
		if ((b = roundtrip(&c.manifest, c.cmds, c.ncmds, &bytes, &ws)) != NULL) {
			struct cpk_command *cmds;
			size_t n;

			cmds = bundle_cmds(b, &n);
			if (!CHECK_OK(bundle_verify(cpk_bundle_manifest(b), cmds, n, kdir, capture, &cap,
			    &r, &err)))
				fprintf(stderr, "  %s\n", err.msg);
			CHECK(cap.calls == 4 && r.checked == 4);
			CHECK_MEM(cap.plain.data, cap.plain.len, v.plain, v.plain_len);
			CHECK(!r.master && r.key_kvn == 0x30 && strstr(r.key_file, "kaoh.yaml") != NULL);
			free(cmds);
		}
	}
	cpk_bundle_free(&b);
	cpk_compiled_free(&c);
	cpk_buf_free(&cap.plain);
	cpk_buf_free(&bytes);
	remove_tree(kdir);
	free(kdir);
}

/* A session bundle from the vector's live exchange. */
static void
test_session(void)
{
	struct kaoh v;
	struct cpk_compiled c;
	struct cpk_manifest m;
	struct bundle_verify_result r;
	struct cpk_buf bytes = CPK_BUF_INIT;
	struct cpk_bundle *b = NULL;
	struct cpk_error err;
	char profile[1024], card[512], hc[17], iu[65], *kdir;
	cpk_status ws;

	if (!load_kaoh(&v))
		return;
	kdir = kaoh_keydir(&v);
	hex_of(v.hc, 8, hc, sizeof(hc));
	hex_of(v.iu_resp, v.iu_resp_len, iu, sizeof(iu));
	snprintf(profile, sizeof(profile),
	    "profile: 1\nname: kaoh-session\n"
	    "security-domain:\n  aid: %s\n  scp: 03\n  i: 70\n  mode: session\n"
	    "  security-level: c-mac+c-dec\n"
	    "keys:\n  file: kaoh.yaml\n"
	    "steps:\n"
	    "  - apdu:\n      header: 80F24002\n      data: 4F00\n      le: \"00\"\n", v.sd_aid);
	snprintf(card, sizeof(card),
	    "sd-aid: %s\nscp: 03\ni: 70\nkvn: 30\nkdd: %s\nhost-challenge: %s\niu-response: %s\n",
	    v.sd_aid, v.kdd, hc, iu);
	if (compile_for(profile, kdir, card, NULL, &c)) {
		CHECK(c.manifest.mode == CPK_MODE_SESSION && c.ncmds == 2);
		/* Same session as the vector: the same EXTERNAL AUTHENTICATE and wrapped command. */
		if (CHECK(c.ncmds == 2)) {
			CHECK_MEM(c.cmds[0].apdu, c.cmds[0].apdu_len, v.ea, v.ea_len);
			CHECK_MEM(c.cmds[1].apdu, c.cmds[1].apdu_len, v.wrapped, v.wrapped_len);
		}
		if ((b = roundtrip(&c.manifest, c.cmds, c.ncmds, &bytes, &ws)) != NULL) {
			if (!CHECK_OK(verify_bundle(b, kdir, &r, &err)))
				fprintf(stderr, "  %s\n", err.msg);
			cpk_bundle_free(&b);
		}
		/* Another card cryptogram in the signed manifest: no key set reproduces it. */
		m = c.manifest;
		m.iu_response[m.iu_response_len - 4] ^= 0x01;
		if ((b = roundtrip(&m, c.cmds, c.ncmds, &bytes, &ws)) != NULL) {
			CHECK_STATUS(verify_bundle(b, kdir, &r, &err), CPK_ERR_VERIFY);
			CHECK(r.mismatch && !r.has_index);
			CHECK_MSG(&err, "no key set reproduces the card cryptogram");
			cpk_bundle_free(&b);
		}
		CHECK(ws == CPK_OK);
	}
	cpk_compiled_free(&c);
	cpk_buf_free(&bytes);
	remove_tree(kdir);
	free(kdir);
}

/* An offline bundle whose card challenge is not the pseudo-random one. */
static void
test_not_pseudo_random(void)
{
	static const char p03[] =
	    "profile: 1\nname: prc\n"
	    "security-domain:\n  aid: A000000151000000\n  scp: 03\n  i: 70\n"
	    "  security-level: c-mac\n"
	    "keys:\n  file: aes.yaml\n"
	    "steps:\n  - apdu:\n      header: 80F22000\n      le: \"00\"\n";
	static const uint8_t hc[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct cpk_compiled c;
	struct cpk_manifest m;
	struct scp_iu_response iu;
	struct scp_keyset keys;
	struct scp_session s;
	struct bundle_verify_result r;
	struct cpk_buf iub = CPK_BUF_INIT, bytes = CPK_BUF_INIT;
	struct cpk_bundle *b;
	struct cpk_error err;
	cpk_status ws;

	memset(&s, 0, sizeof(s));
	memset(&keys, 0, sizeof(keys));
	if (!compile_for(p03, keydir, card_scp03, hc, &c))
		return;
	m = c.manifest;
	/* Another card challenge, with the cryptogram the keys give for it. */
	keys.alg = GP_KEY_AES;
	keys.len = 16;
	keys.kvn = 0x30;
	test_unhex("404142434445464748494A4B4C4D4E4F", keys.enc, 16);
	memcpy(keys.mac, keys.enc, 16);
	memcpy(keys.dek, keys.enc, 16);
	if (CHECK_OK(scp_iu_response_parse(m.iu_response, m.iu_response_len, &iu, &err))) {
		iu.card_challenge[0] ^= 0x55;
		if (CHECK_OK(scp_session_begin(&s, &keys, SCP03, 0x70, m.host_challenge, &iu, &err))) {
			memcpy(iu.card_cryptogram, s.card_cryptogram, 8);
			CHECK_OK(scp_iu_response_build(&iu, &iub, &err));
			memcpy(m.iu_response, iub.data, iub.len);
		}
	}
	if ((b = roundtrip(&m, c.cmds, c.ncmds, &bytes, &ws)) != NULL) {
		CHECK_STATUS(verify_bundle(b, keydir, &r, &err), CPK_ERR_VERIFY);
		CHECK(r.mismatch && r.has_index && r.index == 1);
		CHECK_MSG(&err, "command 2 (INITIALIZE UPDATE): key set ");
		CHECK_MSG(&err, "aes.yaml reproduces the card cryptogram but not the pseudo-random "
		    "card challenge for counter 000001 and this security domain");
		cpk_bundle_free(&b);
	}
	scp_session_clear(&s);
	scp_keyset_clear(&keys);
	cpk_buf_free(&iub);
	cpk_buf_free(&bytes);
	cpk_compiled_free(&c);
}

/* Master keys whose file names no scheme: verify tries the ones that fit. */
static void
test_master_keys(void)
{
	static const char p03[] =
	    "profile: 1\nname: master-03\n"
	    "security-domain:\n  aid: A000000151000000\n  scp: 03\n  i: 70\n"
	    "  security-level: c-mac\n"
	    "keys:\n  file: master-aes.yaml\n  diversification: kdf3\n"
	    "steps:\n  - apdu:\n      header: 80F22000\n      le: \"00\"\n";
	static const char p02[] =
	    "profile: 1\nname: master-02\n"
	    "security-domain:\n  aid: A000000151000000\n  scp: 02\n  i: 55\n"
	    "  security-level: c-mac\n"
	    "keys:\n  file: master-des.yaml\n  diversification: visa2\n"
	    "steps:\n  - apdu:\n      header: 80F22000\n      le: \"00\"\n";
	static const uint8_t hc[8] = { 8, 7, 6, 5, 4, 3, 2, 1 };
	char *mdir = tpath(tmp, "master-keys");
	struct cpk_compiled c;
	struct bundle_verify_result r;
	struct cpk_buf bytes = CPK_BUF_INIT;
	struct cpk_bundle *b;
	struct cpk_error err;
	cpk_status ws;

	mkdir(mdir, 0700);
	write_in(mdir, "master-aes.yaml", "kvn: \"30\"\nalgorithm: aes\n"
	    "master: 404142434445464748494A4B4C4D4E4F\n", 0600);
	write_in(mdir, "master-des.yaml", "kvn: \"01\"\nalgorithm: 3des\n"
	    "master: 404142434445464748494A4B4C4D4E4F\n", 0600);
	if (compile_for(p03, mdir, card_scp03, hc, &c) &&
	    (b = roundtrip(&c.manifest, c.cmds, c.ncmds, &bytes, &ws)) != NULL) {
		if (!CHECK_OK(verify_bundle(b, mdir, &r, &err)))
			fprintf(stderr, "  %s\n", err.msg);
		CHECK(r.master && r.div == GP_DIV_KDF3 && strstr(r.key_file, "master-aes") != NULL);
		/* The static test keys do not reproduce a diversified card's cryptogram. */
		CHECK_STATUS(verify_bundle(b, keydir, &r, &err), CPK_ERR_VERIFY);
		CHECK(r.has_index && r.index == 1);
		CHECK_MSG(&err, "command 2 (INITIALIZE UPDATE): no key set reproduces the card "
		    "cryptogram of the INITIALIZE UPDATE response (1 key set for SCP03 tried with "
		    "KDD 0102030405060708090A)");
		cpk_bundle_free(&b);
	}
	cpk_compiled_free(&c);
	if (compile_for(p02, mdir, card_scp02, hc, &c) &&
	    (b = roundtrip(&c.manifest, c.cmds, c.ncmds, &bytes, &ws)) != NULL) {
		if (!CHECK_OK(verify_bundle(b, mdir, &r, &err)))
			fprintf(stderr, "  %s\n", err.msg);
		CHECK(r.master && r.div == GP_DIV_VISA2 && strstr(r.key_file, "master-des") != NULL);
		/* A single key file by name works too. */
		{
			char *one = tpath(mdir, "master-des.yaml");

			CHECK_OK(verify_bundle(b, one, &r, &err));
			CHECK(r.key_files == 1);
			free(one);
		}
		cpk_bundle_free(&b);
	}
	cpk_compiled_free(&c);
	cpk_buf_free(&bytes);
	remove_tree(mdir);
	free(mdir);
}

/* Key folders that cannot help. */
static void
test_key_errors(void)
{
	static const char p03[] =
	    "profile: 1\nname: keyerr\n"
	    "security-domain:\n  aid: A000000151000000\n  scp: 03\n  i: 70\n"
	    "  security-level: c-mac\n"
	    "keys:\n  file: aes.yaml\n"
	    "steps:\n  - apdu:\n      header: 80F22000\n      le: \"00\"\n";
	static const uint8_t hc[8] = { 9, 9, 9, 9, 9, 9, 9, 9 };
	char *bad = tpath(tmp, "bad-keys"), *empty = tpath(tmp, "no-keys");
	char *missing = tpath(tmp, "missing");
	struct cpk_compiled c;
	struct bundle_verify_result r;
	struct cpk_buf bytes = CPK_BUF_INIT;
	struct cpk_bundle *b;
	struct cpk_error err;
	cpk_status ws;

	mkdir(bad, 0700);
	mkdir(empty, 0700);
	write_in(bad, "aes.yaml", aes_keys, 0644);
	write_in(bad, "notes.txt", "not a key file", 0600);
	if (compile_for(p03, keydir, card_scp03, hc, &c) &&
	    (b = roundtrip(&c.manifest, c.cmds, c.ncmds, &bytes, &ws)) != NULL) {
		CHECK_STATUS(verify_bundle(b, bad, &r, &err), CPK_ERR_NOT_FOUND);
		CHECK_MSG(&err, "no key set could be read in");
		CHECK_MSG(&err, "1 file refused; the first: key file");
		CHECK_MSG(&err, "chmod 600");
		CHECK(r.key_files_refused == 1);
		/* With a readable but wrong key set next to it, the refusal is still named. */
		write_in(bad, "other.yaml", des_keys, 0600);
		CHECK_STATUS(verify_bundle(b, bad, &r, &err), CPK_ERR_VERIFY);
		CHECK_MSG(&err, "1 key file could not be read");
		CHECK_STATUS(verify_bundle(b, empty, &r, &err), CPK_ERR_NOT_FOUND);
		CHECK_MSG(&err, "no key set file (*.yaml) in");
		CHECK_STATUS(verify_bundle(b, missing, &r, &err), CPK_ERR_NOT_FOUND);
		CHECK_MSG(&err, "No such file or directory");
		cpk_bundle_free(&b);
	}
	cpk_compiled_free(&c);
	cpk_buf_free(&bytes);
	remove_tree(bad);
	remove_tree(empty);
	free(bad);
	free(empty);
	free(missing);
}

int
main(int argc, char **argv)
{
	struct cpk_error err;
	char *key, *pub;

	if (argc != 2) {
		fprintf(stderr, "usage: test_bundle_verify SOURCE_ROOT\n");
		return 2;
	}
	srcroot = argv[1];
	tmp = temp_dir();
	keydir = tpath(tmp, "keys");
	mkdir(keydir, 0700);
	write_in(keydir, "aes.yaml", aes_keys, 0600);
	write_in(keydir, "des.yaml", des_keys, 0600);
	key = copy_test_key(srcroot, tmp);
	pub = copy_test_pub(srcroot, tmp);
	cpk_error_clear(&err);
	if (!CHECK_OK(cpk_signer_load(key, &signer, &err)) || !CHECK_OK(cpk_trust_new(&trust, &err)) ||
	    !CHECK_OK(cpk_trust_add_file(trust, pub, &err))) {
		fprintf(stderr, "  %s\n", err.msg);
		return test_summary("bundle-verify");
	}
	test_tamper();
	test_vector();
	test_session();
	test_not_pseudo_random();
	test_master_keys();
	test_key_errors();
	cpk_signer_free(&signer);
	cpk_trust_free(&trust);
	remove_tree(tmp);
	free(key);
	free(pub);
	free(keydir);
	free(tmp);
	return test_summary("bundle-verify");
}
