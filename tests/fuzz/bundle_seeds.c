/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk fuzz: the generated seeds of the bundle, manifest and script targets.
 *
 * usage: bundle_seeds write|check CORPUS_DIR
 *
 * Bundles written by cpk_bundle_write with the key of bundle_key.h (the
 * test signing key), from the manifest and commands of the unit tests'
 * fixture (tests/unit/bundle_fixture.c) and variants of them, and the
 * manifest.yaml and script.bin inside the valid ones:
 *   bundle/gen-<what>.cpk, manifest/gen-<what>.yaml, script/gen-<what>.bin,
 *   bundle/split-<what> (the entries, the bundle target's other input form)
 * for <what> = offline-scp03 (the fixture: 9 commands, an extended APDU,
 * a UTF-8 label, escapes in a string), offline-scp03-captures (the same
 * with two captures), session-scp03, offline-scp02,
 * session-minimal (EXTERNAL AUTHENTICATE alone); and bundles refused at
 * each stage: unknown-key (another key signed it), bad-signature (one bit
 * of manifest.sig flipped), version-2 (a signed manifest of format 2),
 * hash-mismatch (one script byte changed after signing), extra-entry and
 * out-of-order (containers built byte by byte).
 *
 * Ed25519 signatures are deterministic and the container metadata is
 * fixed, so the same inputs give the same bytes. `write` (re)creates these
 * files; `check` fails if any is missing or differs, if a valid one does
 * not open (and verify) with the target's trust store, or if the public
 * key the target derives differs from the signer's (other files in the
 * directories are left alone).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle_fixture.h"
#include "bundle_key.h"
#include "bundle_read.h"
#include "bundle_write.h"
#include "cpk_bundle.h"
#include "sign.h"
#include "verify.h"

#define MAX_COMMANDS 16

/* The fixture's APDUs are malloc'd for the life of the program: kept reachable. */
static struct cpk_command fixture_cmds[FIXTURE_COMMANDS], scp02_cmds[MAX_COMMANDS];
static int check_mode;
static unsigned mismatches;
static const char *corpus;

static void
die(const char *what, const struct cpk_error *err)
{
	fprintf(stderr, "bundle_seeds: %s%s%s\n", what, err != NULL ? ": " : "",
	    err != NULL ? err->msg : "");
	exit(1);
}

static void
put_seed(const char *target, const char *name, const uint8_t *p, size_t n)
{
	char path[4096];
	struct cpk_buf cur = CPK_BUF_INIT;
	struct cpk_error err;
	FILE *f;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s/%s", corpus, target, name) >= sizeof(path))
		die("path too long", NULL);
	if (check_mode) {
		if (cpk_bundle_read_path(path, &cur, &err) != CPK_OK) {
			fprintf(stderr, "%s: %s; regenerate with 'bundle_seeds write'\n", path, err.msg);
			mismatches++;
		} else if (cur.len != n || memcmp(cur.data, p, n) != 0) {
			fprintf(stderr, "%s: differs from what bundle_seeds writes; regenerate with "
			    "'bundle_seeds write'\n", path);
			mismatches++;
		}
		cpk_buf_free(&cur);
		return;
	}
	if ((f = fopen(path, "wb")) == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
		fprintf(stderr, "bundle_seeds: %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

/* A valid bundle opens with the fuzz target's trust store, verified. */
static void
check_opens(const char *name, const struct cpk_buf *bundle, const struct cpk_trust *trust)
{
	struct cpk_bundle *b = NULL;
	struct cpk_error err;

	if (cpk_bundle_open(bundle->data, bundle->len, trust, 0, &b, NULL, &err) != CPK_OK) {
		fprintf(stderr, "bundle_seeds: %s does not open: %s\n", name, err.msg);
		mismatches++;
	}
	cpk_bundle_free(&b);
}

/* The bundle target's other input form: 00, u16 manifest length, the three entries. */
static void
split_seed(const char *what, const struct split_bundle *s)
{
	struct cpk_buf out = CPK_BUF_INIT;
	char name[128];

	if (cpk_buf_append_byte(&out, 0x00, NULL) != CPK_OK ||
	    cpk_buf_append_u16be(&out, (uint16_t)s->manifest.len, NULL) != CPK_OK ||
	    cpk_buf_append(&out, s->manifest.data, s->manifest.len, NULL) != CPK_OK ||
	    cpk_buf_append(&out, s->sig.data, s->sig.len, NULL) != CPK_OK ||
	    cpk_buf_append(&out, s->script.data, s->script.len, NULL) != CPK_OK)
		die("split seed", NULL);
	snprintf(name, sizeof(name), "split-%s", what);
	put_seed("bundle", name, out.data, out.len);
	cpk_buf_free(&out);
}

/* A valid bundle, its entries and its manifest and script as seeds. */
static void
valid(const char *what, const struct cpk_manifest *m, const struct cpk_command *cmds, size_t n,
    const struct cpk_signer *signer, const struct cpk_trust *trust)
{
	struct cpk_buf out = CPK_BUF_INIT;
	struct split_bundle s;
	struct cpk_error err;
	char name[128];

	if (cpk_bundle_write(m, cmds, n, signer, &out, &err) != CPK_OK)
		die(what, &err);
	snprintf(name, sizeof(name), "gen-%s.cpk", what);
	put_seed("bundle", name, out.data, out.len);
	check_opens(name, &out, trust);
	split_bundle(out.data, out.len, &s);
	split_seed(what, &s);
	snprintf(name, sizeof(name), "gen-%s.yaml", what);
	put_seed("manifest", name, s.manifest.data, s.manifest.len);
	snprintf(name, sizeof(name), "gen-%s.bin", what);
	put_seed("script", name, s.script.data, s.script.len);
	split_bundle_free(&s);
	cpk_buf_free(&out);
}

static void
session_manifest(struct cpk_manifest *m)
{
	fixture_manifest(m);
	m->mode = CPK_MODE_SESSION;
	m->i = 0x60;
	m->counter_len = 0;
	m->has_host_challenge = false;
	m->iu_response_len = 0;
	m->serial[0] = '\0';
	m->iin_len = 0;
	m->cin_len = 3;
	memcpy(m->cin, "\x01\x02\x03", 3);
}

static void
scp02_bundle(struct cpk_manifest *m, struct cpk_command cmds[MAX_COMMANDS], size_t *n)
{
	static const uint8_t iu[28] = {
		0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09,	/* KDD */
		0x01, 0x02,							/* kvn, SCP02 */
		0x00, 0x16,							/* counter */
		0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6,				/* card challenge */
		0xC1, 0xC2, 0xC3, 0xC4, 0xC5, 0xC6, 0xC7, 0xC8,			/* cryptogram */
	};

	fixture_manifest(m);
	m->scp = 2;
	m->i = 0x55;
	m->kvn = 0x01;
	m->level = 0x01;
	m->counter_len = 2;
	memcpy(m->counter, "\x00\x16", 2);
	memcpy(m->iu_response, iu, sizeof(iu));
	m->iu_response_len = sizeof(iu);
	fixture_command(&cmds[0], "SELECT ISD", "00A4040008A00000015100000000", 0, "9000", "61xx");
	fixture_command(&cmds[1], "INITIALIZE UPDATE", "8050010008F0E1D2C3B4A5968700",
	    CPK_CMD_INIT_UPDATE, "9000", NULL);
	fixture_command(&cmds[2], "EXTERNAL AUTHENTICATE",
	    "84820100100102030405060708A1A2A3A4A5A6A7A8", CPK_CMD_EXT_AUTH | CPK_CMD_SECURED,
	    "9000", NULL);
	fixture_command(&cmds[3], "INSTALL [for install and make selectable]",
	    "84E60C002E" "09F043504B48454C4C4F" "0AF043504B48454C4C4F01"
	    "0AF043504B48454C4C4F01" "0100" "02C900" "00" "0102030405060708", CPK_CMD_SECURED,
	    "9000", NULL);
	fixture_command(&cmds[4], "GET DATA key information", "84CA00E008AABBCCDDEEFF001100",
	    CPK_CMD_SECURED, "9000", "6A88");
	*n = 5;
}

/* The fixture's entries, signed by `signer`, in a bundle written by hand. */
static void
zipped(const char *what, const struct cpk_buf *manifest, const uint8_t sig[CPK_SIG_LEN],
    const struct cpk_buf *script)
{
	struct cpk_buf out = CPK_BUF_INIT;
	struct cpk_error err;
	char name[128];

	if (cpk_bundle_zip(manifest->data, manifest->len, sig, CPK_SIG_LEN, script->data,
	    script->len, &out, &err) != CPK_OK)
		die(what, &err);
	snprintf(name, sizeof(name), "gen-%s.cpk", what);
	put_seed("bundle", name, out.data, out.len);
	cpk_buf_free(&out);
}

static void
refused(const struct cpk_command *cmds, const struct cpk_signer *signer,
    const struct cpk_signer *other)
{
	struct cpk_manifest m;
	struct cpk_buf out = CPK_BUF_INIT, text = CPK_BUF_INIT;
	struct split_bundle s;
	struct zraw_entry e[4];
	size_t at;
	struct cpk_error err;
	uint8_t sig[CPK_SIG_LEN];

	fixture_manifest(&m);
	if (cpk_bundle_write(&m, cmds, FIXTURE_COMMANDS, other, &out, &err) != CPK_OK)
		die("unknown-key", &err);
	put_seed("bundle", "gen-unknown-key.cpk", out.data, out.len);
	cpk_buf_reset(&out);

	if (cpk_bundle_write(&m, cmds, FIXTURE_COMMANDS, signer, &out, &err) != CPK_OK)
		die("fixture", &err);
	split_bundle(out.data, out.len, &s);
	memcpy(sig, s.sig.data, sizeof(sig));
	sig[CPK_SIG_LEN - 1] ^= 0x01;
	zipped("bad-signature", &s.manifest, sig, &s.script);

	memcpy(sig, s.sig.data, sizeof(sig));
	s.script.data[s.script.len - 1] ^= 0x01;
	zipped("hash-mismatch", &s.manifest, sig, &s.script);
	s.script.data[s.script.len - 1] ^= 0x01;

	/* format: 2, signed: refused for the version after the signature verifies. */
	if (cpk_buf_set(&text, s.manifest.data, s.manifest.len, &err) != CPK_OK)
		die("version-2", &err);
	if (text.len < 10 || memcmp(text.data, "format: 1\n", 10) != 0)
		die("version-2: the manifest does not start with 'format: 1'", NULL);
	text.data[8] = '2';
	if (cpk_signer_sign(signer, text.data, text.len, sig, &err) != CPK_OK)
		die("version-2", &err);
	zipped("version-2", &text, sig, &s.script);

	/* Containers the writer never makes. */
	memset(e, 0, sizeof(e));
	zraw_split_entries(&s, e);
	e[3].name = "README";
	e[3].data = (const uint8_t *)"hello\n";
	e[3].len = 6;
	cpk_buf_reset(&out);
	zraw_build(e, 4, &out);
	put_seed("bundle", "gen-extra-entry.cpk", out.data, out.len);
	e[3] = e[1];
	e[1] = e[2];
	e[2] = e[3];
	cpk_buf_reset(&out);
	zraw_build(e, 3, &out);
	put_seed("bundle", "gen-out-of-order.cpk", out.data, out.len);
	/* The signature's local header claims UTF-8 names; the directory does not. */
	zraw_split_entries(&s, e);
	cpk_buf_reset(&out);
	zraw_build(e, 3, &out);
	at = 30 + strlen(CPK_ENTRY_MANIFEST) + s.manifest.len + 7;
	if (at >= out.len)
		die("local-flags: short archive", NULL);
	out.data[at] ^= 0x08;
	put_seed("bundle", "gen-local-flags.cpk", out.data, out.len);

	split_bundle_free(&s);
	cpk_buf_free(&text);
	cpk_buf_free(&out);
}

int
main(int argc, char **argv)
{
	struct cpk_signer *signer = NULL, *other = NULL;
	struct cpk_trust *trust = NULL;
	struct cpk_pubkey derived;
	struct cpk_manifest m;
	struct cpk_error err;
	char id[2 * CPK_KEY_ID_LEN + 1];
	size_t n;

	if (argc != 3 || (strcmp(argv[1], "write") != 0 && strcmp(argv[1], "check") != 0)) {
		fprintf(stderr, "usage: bundle_seeds write|check CORPUS_DIR\n");
		return 2;
	}
	check_mode = strcmp(argv[1], "check") == 0;
	corpus = argv[2];

	/* The target's key, derived without the compiler, is the signer's. */
	if (cpk_signer_from_seed(fuzz_bundle_seed, &signer, &err) != CPK_OK ||
	    cpk_signer_from_seed(fuzz_bundle_other_seed, &other, &err) != CPK_OK)
		die("signer", &err);
	if (fuzz_bundle_pubkey(&derived) != 0)
		die("cannot derive the public key of the test seed", NULL);
	cpk_key_id_hex(derived.key_id, id);
	if (memcmp(&derived, cpk_signer_pubkey(signer), sizeof(derived)) != 0 ||
	    strcmp(id, FUZZ_BUNDLE_KEY_ID) != 0)
		die("the public key derived from the test seed is not the signer's", NULL);
	if (cpk_trust_new(&trust, &err) != CPK_OK ||
	    cpk_trust_add_key(trust, &derived, "fuzz test key", &err) != CPK_OK)
		die("trust", &err);

	fixture_manifest(&m);
	fixture_commands(fixture_cmds);
	valid("offline-scp03", &m, fixture_cmds, FIXTURE_COMMANDS, signer, trust);
	m.ncaptures = 2;
	m.captures[0].command = 5;
	snprintf(m.captures[0].name, sizeof(m.captures[0].name), "cert");
	m.captures[1].command = FIXTURE_COMMANDS;
	snprintf(m.captures[1].name, sizeof(m.captures[1].name), "pubkey");
	valid("offline-scp03-captures", &m, fixture_cmds, FIXTURE_COMMANDS, signer, trust);

	/* A session bundle starts with EXTERNAL AUTHENTICATE (fixture command 3). */
	session_manifest(&m);
	valid("session-scp03", &m, fixture_cmds + 2, FIXTURE_COMMANDS - 2, signer, trust);
	valid("session-minimal", &m, fixture_cmds + 2, 1, signer, trust);

	scp02_bundle(&m, scp02_cmds, &n);
	valid("offline-scp02", &m, scp02_cmds, n, signer, trust);

	refused(fixture_cmds, signer, other);

	printf("bundle_seeds: %s\n", check_mode ? (mismatches == 0 ? "all seeds current" :
	    "seeds out of date") : "seeds written");
	cpk_trust_free(&trust);
	cpk_signer_free(&signer);
	cpk_signer_free(&other);
	return mismatches == 0 ? 0 : 1;
}
