/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk unit tests for the bundle writer and the signing keys
 * (compiler/bundle_write.h, compiler/sign.h), read back with the loader's
 * reader: round trip, byte-for-byte determinism and the golden file,
 * keygen and key file permissions, Ed25519 known answers, and bundles
 * that are correctly signed but wrong inside (format version, manifest,
 * script hash, script records).
 *
 * Usage: test_bundle_write SRCROOT            run the tests
 *        test_bundle_write SRCROOT --golden   rewrite tests/golden/bundle-v1.cpk
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bundle_fixture.h"
#include "bundle_read.h"
#include "bundle_write.h"
#include "compile.h"
#include "sign.h"
#include "testlib.h"
#include "verify.h"

static const char *srcroot;
static char *tmp;
static struct cpk_signer *signer;
static struct cpk_trust *trust;
static struct cpk_command cmds[FIXTURE_COMMANDS];

static void
setup(void)
{
	struct cpk_error err;
	char *key, *pub;

	cpk_error_clear(&err);
	tmp = temp_dir();
	key = copy_test_key(srcroot, tmp);
	pub = copy_test_pub(srcroot, tmp);
	if (cpk_signer_load(key, &signer, &err) != CPK_OK || cpk_trust_new(&trust, &err) != CPK_OK ||
	    cpk_trust_add_file(trust, pub, &err) != CPK_OK) {
		fprintf(stderr, "setup: %s\n", err.msg);
		exit(1);
	}
	fixture_commands(cmds);
	free(key);
	free(pub);
}

static void
write_fixture(struct cpk_buf *out)
{
	struct cpk_manifest m;
	struct cpk_error err;

	cpk_error_clear(&err);
	fixture_manifest(&m);
	CHECK_OK(cpk_bundle_write(&m, cmds, FIXTURE_COMMANDS, signer, out, &err));
}

static void
test_roundtrip(void)
{
	struct cpk_buf b = CPK_BUF_INIT;
	struct cpk_bundle *bu = NULL;
	struct cpk_bundle_diag diag;
	struct cpk_error err;
	const struct cpk_manifest *m;
	const struct cpk_command *c;
	uint8_t md[32];
	char id[17];
	size_t i;

	cpk_error_clear(&err);
	write_fixture(&b);
	CHECK_OK(cpk_bundle_open(b.data, b.len, trust, 0, &bu, &diag, &err));
	if (bu == NULL) {
		fprintf(stderr, "open: %s\n", err.msg);
		return;
	}
	CHECK(diag.fault == CPK_FAULT_NONE);
	m = cpk_bundle_manifest(bu);
	CHECK(m->commands == FIXTURE_COMMANDS && m->mode == CPK_MODE_OFFLINE);
	CHECK_STR(m->compiler, "cpk golden-test");
	CHECK(cpk_bundle_command_count(bu) == FIXTURE_COMMANDS);
	for (i = 0; i < FIXTURE_COMMANDS; i++) {
		c = cpk_bundle_command(bu, i);
		CHECK_STR(c->label, cmds[i].label);
		CHECK_MEM(c->apdu, c->apdu_len, cmds[i].apdu, cmds[i].apdu_len);
		CHECK(c->flags == cmds[i].flags && c->nsw == cmds[i].nsw);
	}
	CHECK(cpk_bundle_command(bu, FIXTURE_COMMANDS) == NULL);
	cpk_key_id_hex(cpk_bundle_key_id(bu), id);
	CHECK_STR(id, FIXTURE_TEST_KEY_ID);
	CHECK(cpk_bundle_signer(bu) != NULL &&
	    strstr(cpk_bundle_signer(bu), "test-signing.pub") != NULL);
	CHECK(cpk_bundle_verified(bu, NULL, NULL));
	CHECK_OK(cpk_sha256(b.data, b.len, md, &err));
	CHECK_MEM(cpk_bundle_sha256(bu), 32, md, 32);
	cpk_bundle_free(&bu);
	CHECK(bu == NULL);
	cpk_bundle_free(&bu);
	cpk_buf_free(&b);
}

/* Entry metadata as written: DOS time 0, date 1980-01-01, no extra fields, mode 0100644. */
static void
check_zip_metadata(const struct cpk_buf *b)
{
	size_t i, local = 0, central = 0;

	for (i = 0; i + 46 <= b->len; i++) {
		const uint8_t *p = b->data + i;

		if (memcmp(p, "PK\x03\x04", 4) == 0) {
			local++;
			CHECK(p[10] == 0 && p[11] == 0 && p[12] == 0x21 && p[13] == 0);
			CHECK(p[8] == 0 && p[9] == 0);		/* stored */
			CHECK(p[28] == 0 && p[29] == 0);	/* no extra field */
		} else if (memcmp(p, "PK\x01\x02", 4) == 0) {
			central++;
			CHECK(p[12] == 0 && p[13] == 0 && p[14] == 0x21 && p[15] == 0);
			CHECK(p[30] == 0 && p[31] == 0 && p[32] == 0 && p[33] == 0);
			CHECK(p[38] == 0 && p[39] == 0 && p[40] == 0xa4 && p[41] == 0x81);
		}
	}
	CHECK(local == 3 && central == 3);
}

static void
test_determinism(void)
{
	struct cpk_buf a = CPK_BUF_INIT, b = CPK_BUF_INIT, golden = CPK_BUF_INIT;
	char *gpath = path_join(srcroot, FIXTURE_GOLDEN);
	const char *old_tz = getenv("TZ");
	char *saved_tz = old_tz != NULL ? strdup(old_tz) : NULL;

	write_fixture(&a);
	/* Another second, another time zone: libzip converts times with localtime(). */
	sleep(1);
	setenv("TZ", "CPK-14", 1);
	tzset();
	write_fixture(&b);
	if (saved_tz != NULL)
		setenv("TZ", saved_tz, 1);
	else
		unsetenv("TZ");
	tzset();
	CHECK_MEM(a.data, a.len, b.data, b.len);
	check_zip_metadata(&a);

	/* Equal to the committed golden file (made with the committed test key). */
	slurp(gpath, &golden);
	CHECK_MEM(a.data, a.len, golden.data, golden.len);
	free(gpath);
	free(saved_tz);
	cpk_buf_free(&a);
	cpk_buf_free(&b);
	cpk_buf_free(&golden);
}

static void
test_write_file(void)
{
	struct cpk_buf mem = CPK_BUF_INIT, disk = CPK_BUF_INIT;
	struct cpk_manifest m;
	struct cpk_error err;
	struct stat sb;
	char *dir = path_join(tmp, "out");
	char *path = path_join(dir, "card.cpk");
	char *bad = path_join(tmp, "no-such-dir/card.cpk");

	cpk_error_clear(&err);
	fixture_manifest(&m);
	CHECK(mkdir(dir, 0700) == 0);
	write_fixture(&mem);
	CHECK_OK(cpk_bundle_write_file(&m, cmds, FIXTURE_COMMANDS, signer, path, &err));
	slurp(path, &disk);
	CHECK_MEM(disk.data, disk.len, mem.data, mem.len);
	CHECK(stat(path, &sb) == 0 && (sb.st_mode & 07777) == 0600);
	/* Replacing an existing bundle leaves no temporary file behind. */
	CHECK_OK(cpk_bundle_write_file(&m, cmds, FIXTURE_COMMANDS, signer, path, &err));
	CHECK(dir_count(dir) == 1);
	CHECK_STATUS(cpk_bundle_write_file(&m, cmds, FIXTURE_COMMANDS, signer, bad, &err),
	    CPK_ERR_IO);
	CHECK_MSG(&err, "cannot create a temporary file");
	CHECK_STATUS(cpk_bundle_write_file(&m, cmds, FIXTURE_COMMANDS, signer, "dir/", &err),
	    CPK_ERR_ARG);
	CHECK_MSG(&err, "bad output path");
	/* A failing write does not touch the target. */
	m.i = 0x00;
	CHECK_STATUS(cpk_bundle_write_file(&m, cmds, FIXTURE_COMMANDS, signer, path, &err),
	    CPK_ERR_PARSE);
	cpk_buf_reset(&disk);
	slurp(path, &disk);
	CHECK_MEM(disk.data, disk.len, mem.data, mem.len);
	CHECK(dir_count(dir) == 1);
	free(dir);
	free(path);
	free(bad);
	cpk_buf_free(&mem);
	cpk_buf_free(&disk);
}

/*
 * cpk_bundle_write_compiled writes what cpk_bundle_write writes, from the
 * script alone or with the command views, and the commands and the script
 * are gone afterwards while the manifest stays.
 */
static void
test_write_compiled(void)
{
	struct cpk_buf want = CPK_BUF_INIT, got = CPK_BUF_INIT;
	struct cpk_compiled c;
	struct cpk_manifest m;
	struct cpk_error err;
	int views;

	cpk_error_clear(&err);
	write_fixture(&want);
	for (views = 0; views < 2; views++) {
		memset(&c, 0, sizeof(c));
		fixture_manifest(&c.manifest);
		m = c.manifest;
		CHECK_OK(cpk_script_encode(cmds, FIXTURE_COMMANDS, &c.script, &err));
		c.ncmds = FIXTURE_COMMANDS;
		if (views)
			CHECK_OK(cpk_script_parse(c.script.data, c.script.len, &c.cmds, &c.ncmds,
			    &err));
		got.len = 0;
		CHECK_OK(cpk_bundle_write_compiled(&c, signer, &got, &err));
		CHECK_MEM(got.data, got.len, want.data, want.len);
		CHECK(c.cmds == NULL && c.ncmds == 0 && c.script.data == NULL && c.script.len == 0);
		CHECK(memcmp(&c.manifest, &m, sizeof(m)) == 0);
		cpk_compiled_free(&c);
	}
	/* A script the writer cannot read is refused, and released too. */
	memset(&c, 0, sizeof(c));
	fixture_manifest(&c.manifest);
	CHECK_OK(cpk_buf_append(&c.script, "CPKX", 4, &err));
	got.len = 0;
	CHECK_STATUS(cpk_bundle_write_compiled(&c, signer, &got, &err), CPK_ERR_PARSE);
	CHECK_STR(err.msg, "script.bin: truncated header");
	CHECK(got.len == 0 && c.script.data == NULL);
	cpk_compiled_free(&c);
	cpk_buf_free(&want);
	cpk_buf_free(&got);
}

/* Entries too big for a bundle are refused before anything is written. */
static void
test_zip_too_big(void)
{
	static const uint8_t small[CPK_SIG_LEN];
	struct cpk_buf b = CPK_BUF_INIT;
	struct cpk_error err;

	cpk_error_clear(&err);
	CHECK_OK(cpk_buf_append(&b, "x", 1, &err));
	CHECK_STATUS(cpk_bundle_zip(small, sizeof(small), small, sizeof(small), small,
	    CPK_BUNDLE_MAX_SIZE, &b, &err), CPK_ERR_RANGE);
	CHECK_MSG(&err, "bundle would be over 16777216 bytes");
	CHECK(b.len == 1);
	cpk_buf_free(&b);
}

static void
test_writer_refuses(void)
{
	struct cpk_buf b = CPK_BUF_INIT;
	struct cpk_manifest m;
	struct cpk_command c[FIXTURE_COMMANDS];
	struct cpk_error err;

	cpk_error_clear(&err);
	memcpy(c, cmds, sizeof(c));
	fixture_manifest(&m);
	m.i = 0x00;
	CHECK_STATUS(cpk_bundle_write(&m, c, FIXTURE_COMMANDS, signer, &b, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "whose card challenge is not predictable");
	fixture_manifest(&m);
	c[2].flags = CPK_CMD_SECURED;
	CHECK_STATUS(cpk_bundle_write(&m, c, FIXTURE_COMMANDS, signer, &b, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "0 EXTERNAL AUTHENTICATE commands");
	c[2].flags = CPK_CMD_EXT_AUTH | CPK_CMD_SECURED;
	c[4].label[0] = '\0';
	CHECK_STATUS(cpk_bundle_write(&m, c, FIXTURE_COMMANDS, signer, &b, &err), CPK_ERR_RANGE);
	CHECK_MSG(&err, "command 5: label must be 1..64 bytes");
	CHECK(b.len == 0);

	/* An empty compiler field becomes "cpk <version>". */
	memcpy(c, cmds, sizeof(c));
	m.compiler[0] = '\0';
	CHECK_OK(cpk_bundle_write(&m, c, FIXTURE_COMMANDS, signer, &b, &err));
	{
		struct split_bundle s;

		split_bundle(b.data, b.len, &s);
		CHECK(s.manifest.len > 30 &&
		    find_mem(s.manifest.data, s.manifest.len, "compiler: \"cpk 0.", 17) != NULL);
		split_bundle_free(&s);
	}
	cpk_buf_free(&b);
}

/* --- signing keys --- */

static void
test_rfc8032(void)
{
	static const struct {
		const char *seed, *pub, *msg, *sig;
	} v[] = {
		{ "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
		  "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
		  "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a3"
		  "3bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b" },
		{ "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
		  "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
		  "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15"
		  "996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00" },
	};
	struct cpk_signer *s = NULL;
	struct cpk_trust *t = NULL;
	struct cpk_error err;
	uint8_t seed[32], msg[8], sig[CPK_SIG_LEN], id[8];
	const struct cpk_trust_key *who = NULL;
	enum cpk_bundle_fault fault = CPK_FAULT_NONE;
	size_t i, mlen;

	cpk_error_clear(&err);
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		test_unhex(v[i].seed, seed, sizeof(seed));
		mlen = test_unhex(v[i].msg, msg, sizeof(msg));
		CHECK_OK(cpk_signer_from_seed(seed, &s, &err));
		CHECK_HEX(cpk_signer_pubkey(s)->pub, 32, v[i].pub);
		CHECK_OK(cpk_signer_sign(s, msg, mlen, sig, &err));
		CHECK(memcmp(sig, "Ed", 2) == 0);
		CHECK_MEM(sig + 2, 8, cpk_signer_pubkey(s)->key_id, 8);
		CHECK_HEX(sig + 10, 64, v[i].sig);
		CHECK_OK(cpk_trust_new(&t, &err));
		CHECK_OK(cpk_trust_add_key(t, cpk_signer_pubkey(s), "rfc8032", &err));
		CHECK_OK(cpk_verify_signature(t, msg, mlen, sig, sizeof(sig), id, &who, &fault,
		    &err));
		CHECK(fault == CPK_FAULT_NONE && who != NULL);
		msg[0] ^= 1;
		CHECK_STATUS(cpk_verify_signature(t, msg, 1, sig, sizeof(sig), id, &who, &fault,
		    &err), CPK_ERR_SIGNATURE);
		CHECK(fault == CPK_FAULT_BAD_SIGNATURE && who == NULL);
		CHECK_MSG(&err, "bad signature");
		cpk_trust_free(&t);
		cpk_signer_free(&s);
		CHECK(s == NULL);
	}
}

static mode_t
file_mode(const char *path)
{
	struct stat sb;

	return lstat(path, &sb) == 0 ? (sb.st_mode & 07777) : 0;
}

static void
test_keygen(void)
{
	struct cpk_error err;
	struct cpk_signer *s = NULL;
	struct cpk_pubkey pk;
	struct cpk_buf txt = CPK_BUF_INIT;
	uint8_t id[8], seed[32];
	char *dir = path_join(tmp, "keys");
	char *prefix = path_join(dir, "bureau");
	char *key = path_join(dir, "bureau.key");
	char *pub = path_join(dir, "bureau.pub");
	char *other = path_join(dir, "other");
	char *other_pub = path_join(dir, "other.pub");
	char *link = path_join(dir, "link");
	char *link_key = path_join(dir, "link.key");
	char *bad = path_join(dir, "bad.key");
	char *fifo = path_join(dir, "key.fifo");
	char hex[17];

	cpk_error_clear(&err);
	CHECK(mkdir(dir, 0700) == 0);
	CHECK_OK(cpk_sign_keygen(prefix, "unit test", id, &err));
	CHECK(file_mode(key) == 0600 && file_mode(pub) == 0644);
	CHECK_OK(cpk_signer_load(key, &s, &err));
	CHECK_MEM(cpk_signer_pubkey(s)->key_id, 8, id, 8);
	slurp(pub, &txt);
	CHECK_OK(cpk_pubkey_parse(txt.data, txt.len, pub, &pk, &err));
	CHECK_MEM(pk.pub, 32, cpk_signer_pubkey(s)->pub, 32);
	cpk_key_id_hex(id, hex);
	CHECK(find_mem(txt.data, txt.len, hex, 16) != NULL);
	CHECK(find_mem(txt.data, txt.len, "unit test", 9) != NULL);
	cpk_signer_free(&s);

	/* Never overwritten: the key, or the public half alone. */
	CHECK_STATUS(cpk_sign_keygen(prefix, NULL, NULL, &err), CPK_ERR_IO);
	CHECK_MSG(&err, "bureau.key' already exists; cpk never overwrites a key file");
	spit(other_pub, "x", 1, 0644);
	CHECK_STATUS(cpk_sign_keygen(other, NULL, NULL, &err), CPK_ERR_IO);
	CHECK_MSG(&err, "other.pub' already exists");
	CHECK(file_mode(other_pub) == 0644 && access(other_pub, F_OK) == 0);
	CHECK(dir_count(dir) == 3);	/* bureau.key, bureau.pub, other.pub: no other.key */
	/* A symbolic link where the key would go is not followed. */
	CHECK(symlink("elsewhere.key", link_key) == 0);
	CHECK_STATUS(cpk_sign_keygen(link, NULL, NULL, &err), CPK_ERR_IO);
	CHECK_MSG(&err, "already exists");
	CHECK(dir_count(dir) == 4);
	CHECK_STATUS(cpk_sign_keygen("", NULL, NULL, &err), CPK_ERR_ARG);
	CHECK_STATUS(cpk_sign_keygen(prefix, "bad\nnote", NULL, &err), CPK_ERR_ARG);
	CHECK_STATUS(cpk_sign_keygen("/nonexistent-cpk-dir/k", NULL, NULL, &err), CPK_ERR_IO);
	CHECK_MSG(&err, "cannot create '/nonexistent-cpk-dir/k.key'");

	/* Loading refuses what others may read or write, links, and the wrong file. */
	CHECK(chmod(key, 0640) == 0);
	CHECK_STATUS(cpk_signer_load(key, &s, &err), CPK_ERR_PERMISSION);
	CHECK_MSG(&err, "bureau.key' has mode 0640: group or others may access it");
	CHECK_MSG(&err, "chmod 600");
	CHECK(chmod(key, 0602) == 0);
	CHECK_STATUS(cpk_signer_load(key, &s, &err), CPK_ERR_PERMISSION);
	CHECK_MSG(&err, "mode 0602");
	CHECK(chmod(key, 0400) == 0);
	CHECK_OK(cpk_signer_load(key, &s, &err));
	cpk_signer_free(&s);
	/* Security review, issue 10: a folder others may write to, a key of another user. */
	CHECK(chmod(dir, 0757) == 0);
	CHECK_STATUS(cpk_signer_load(key, &s, &err), CPK_ERR_PERMISSION);
	CHECK_MSG(&err, "signing key folder '");
	CHECK_MSG(&err, "' has mode 0757: others may read or replace your signing key; "
	    "run: chmod go-w '");
	CHECK(chmod(dir, 0700) == 0);
	if (geteuid() == 0) {
		CHECK(chown(key, 65534, 65534) == 0);
		CHECK_STATUS(cpk_signer_load(key, &s, &err), CPK_ERR_PERMISSION);
		CHECK_MSG(&err, "bureau.key' belongs to user 65534, neither root nor you: another "
		    "user could read or replace your signing key");
		CHECK(chown(key, 0, 0) == 0);
	}
	/* A FIFO is refused at once, not waited on. */
	CHECK(mkfifo(fifo, 0600) == 0);
	CHECK_STATUS(cpk_signer_load(fifo, &s, &err), CPK_ERR_IO);
	CHECK_MSG(&err, "key.fifo' is a FIFO, not a regular file: cpk reads only regular files");
	unlink(fifo);
	CHECK_STATUS(cpk_signer_load(link_key, &s, &err), CPK_ERR_IO);
	CHECK_MSG(&err, "is a symbolic link");
	CHECK_STATUS(cpk_signer_load(other, &s, &err), CPK_ERR_NOT_FOUND);
	CHECK_MSG(&err, "does not exist");
	CHECK_STATUS(cpk_signer_load(dir, &s, &err), CPK_ERR_IO);
	CHECK_MSG(&err, "is a directory, not a regular file: cpk reads only regular files");
	CHECK(chmod(pub, 0600) == 0);
	CHECK_STATUS(cpk_signer_load(pub, &s, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "is a public key file, not a secret key");
	/* A secret key file whose key id does not belong to its seed. */
	memset(seed, 7, sizeof(seed));
	id[0] ^= 1;
	cpk_buf_reset(&txt);
	CHECK_OK(cpk_keyfile_encode(CPK_KEYFILE_SECRET, id, seed, NULL, &txt, &err));
	spit(bad, txt.data, txt.len, 0600);
	CHECK_STATUS(cpk_signer_load(bad, &s, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, ":2: the key id in the file does not match its key: the file is damaged");
	CHECK(s == NULL);

	free(dir);
	free(prefix);
	free(key);
	free(pub);
	free(other);
	free(other_pub);
	free(link);
	free(link_key);
	free(bad);
	free(fifo);
	cpk_buf_free(&txt);
}

/* The committed test key is a valid, loadable pair. */
static void
test_committed_key(void)
{
	struct cpk_error err;
	char hex[17];

	cpk_error_clear(&err);
	cpk_key_id_hex(cpk_signer_pubkey(signer)->key_id, hex);
	CHECK_STR(hex, FIXTURE_TEST_KEY_ID);
	CHECK(cpk_trust_find(trust, cpk_signer_pubkey(signer)->key_id) != NULL);
}

static void
test_creation_time(void)
{
	struct cpk_error err;
	uint64_t t = 0;
	const char *old = getenv("SOURCE_DATE_EPOCH");
	char *saved = old != NULL ? strdup(old) : NULL;

	cpk_error_clear(&err);
	setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
	CHECK_OK(cpk_bundle_creation_time(&t, &err));
	CHECK(t == 1700000000);
	setenv("SOURCE_DATE_EPOCH", "17e8", 1);
	CHECK_STATUS(cpk_bundle_creation_time(&t, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "SOURCE_DATE_EPOCH '17e8' is not a decimal number");
	setenv("SOURCE_DATE_EPOCH", "", 1);
	CHECK_STATUS(cpk_bundle_creation_time(&t, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "is empty");
	setenv("SOURCE_DATE_EPOCH", "999999999999", 1);
	CHECK_STATUS(cpk_bundle_creation_time(&t, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "after the year 9999");
	unsetenv("SOURCE_DATE_EPOCH");
	CHECK_OK(cpk_bundle_creation_time(&t, &err));
	CHECK(t + 5 >= (uint64_t)time(NULL) && t <= (uint64_t)time(NULL));
	if (saved != NULL)
		setenv("SOURCE_DATE_EPOCH", saved, 1);
	free(saved);
}

/* --- correctly signed, wrong inside --- */

/* Sign manifest text with the test key and zip it with script. */
static void
signed_bundle(const void *manifest, size_t mlen, const struct cpk_buf *script,
    struct cpk_buf *out)
{
	uint8_t sig[CPK_SIG_LEN];

	cpk_buf_reset(out);
	CHECK_OK(cpk_signer_sign(signer, manifest, mlen, sig, NULL));
	CHECK_OK(cpk_bundle_zip(manifest, mlen, sig, sizeof(sig), script->data, script->len, out,
	    NULL));
}

static void
expect_refusal(const struct cpk_buf *b, cpk_status want, enum cpk_bundle_fault fault,
    const char *needle, int line)
{
	struct cpk_bundle *bu = NULL;
	struct cpk_bundle_diag diag;
	struct cpk_error err;

	cpk_error_clear(&err);
	test_check_status(cpk_bundle_open(b->data, b->len, trust, 0, &bu, &diag, &err), want,
	    needle, __FILE__, line);
	test_check_msg(&err, needle, __FILE__, line);
	test_check(diag.fault == fault, cpk_bundle_fault_name(fault), __FILE__, line);
	test_check(bu == NULL, "no bundle", __FILE__, line);
	if (diag.fault != fault)
		fprintf(stderr, "  fault %s\n", cpk_bundle_fault_name(diag.fault));
}

#define EXPECT_REFUSAL(b, want, fault, needle) \
	expect_refusal((b), (want), (fault), (needle), __LINE__)

/* Manifest text for the fixture, with the script fields describing `script`. */
static void
manifest_for(const struct cpk_buf *script, uint32_t commands, struct cpk_buf *text)
{
	struct cpk_manifest m;

	fixture_manifest(&m);
	m.commands = commands;
	m.script_size = (uint32_t)script->len;
	CHECK_OK(cpk_sha256(script->data, script->len, m.script_sha256, NULL));
	cpk_buf_reset(text);
	CHECK_OK(cpk_manifest_encode(&m, text, NULL));
}

static char *
replace_once(const struct cpk_buf *text, const char *from, const char *to)
{
	const char *s = (const char *)text->data;
	const char *at = find_mem(s, text->len, from, strlen(from));
	size_t n = text->len - strlen(from) + strlen(to) + 1;
	char *r = malloc(n);

	if (at == NULL || r == NULL)
		abort();
	snprintf(r, n, "%.*s%s%.*s", (int)(at - s), s, to,
	    (int)(text->len - (size_t)(at - s) - strlen(from)), at + strlen(from));
	return r;
}

static void
test_signed_but_wrong(void)
{
	struct cpk_buf script = CPK_BUF_INIT, text = CPK_BUF_INIT, b = CPK_BUF_INIT;
	struct cpk_command c[FIXTURE_COMMANDS];
	char *t;

	CHECK_OK(cpk_script_encode(cmds, FIXTURE_COMMANDS, &script, NULL));
	manifest_for(&script, FIXTURE_COMMANDS, &text);
	signed_bundle(text.data, text.len, &script, &b);
	{
		struct cpk_bundle *bu = NULL;

		CHECK_OK(cpk_bundle_open(b.data, b.len, trust, 0, &bu, NULL, NULL));
		cpk_bundle_free(&bu);
	}

	/* A future format version, validly signed. */
	t = replace_once(&text, "format: 1\n", "format: 2\n");
	signed_bundle(t, strlen(t), &script, &b);
	EXPECT_REFUSAL(&b, CPK_ERR_UNSUPPORTED, CPK_FAULT_VERSION,
	    "bundle format 2 is not supported (this cpk reads format 1)");
	free(t);
	t = replace_once(&text, "mode: offline\n", "mode: offline\nurl: \"x\"\n");
	signed_bundle(t, strlen(t), &script, &b);
	EXPECT_REFUSAL(&b, CPK_ERR_PARSE, CPK_FAULT_MANIFEST, "unknown key 'url'");
	free(t);
	t = replace_once(&text, "  i: 70\n", "  i: 00\n");
	signed_bundle(t, strlen(t), &script, &b);
	EXPECT_REFUSAL(&b, CPK_ERR_PARSE, CPK_FAULT_MANIFEST, "not predictable");
	free(t);

	/* The script does not match the signed manifest. */
	script.len--;
	signed_bundle(text.data, text.len, &script, &b);
	EXPECT_REFUSAL(&b, CPK_ERR_VERIFY, CPK_FAULT_HASH, "but the signed manifest says");
	script.len++;
	script.data[script.len - 1] ^= 0x40;
	signed_bundle(text.data, text.len, &script, &b);
	EXPECT_REFUSAL(&b, CPK_ERR_VERIFY, CPK_FAULT_HASH, "SHA-256 mismatch");
	script.data[script.len - 1] ^= 0x40;

	/* Signed and hashed, but the script itself is wrong. */
	manifest_for(&script, FIXTURE_COMMANDS - 1, &text);
	signed_bundle(text.data, text.len, &script, &b);
	EXPECT_REFUSAL(&b, CPK_ERR_PARSE, CPK_FAULT_SCRIPT,
	    "script.bin holds 9 commands but the manifest says 8");
	script.data[4] = 2;	/* script version */
	manifest_for(&script, FIXTURE_COMMANDS, &text);
	signed_bundle(text.data, text.len, &script, &b);
	EXPECT_REFUSAL(&b, CPK_ERR_UNSUPPORTED, CPK_FAULT_SCRIPT, "script version 2");
	script.data[4] = 1;
	script.data[14] = 0x41;	/* first record's label length: 65 */
	manifest_for(&script, FIXTURE_COMMANDS, &text);
	signed_bundle(text.data, text.len, &script, &b);
	EXPECT_REFUSAL(&b, CPK_ERR_RANGE, CPK_FAULT_SCRIPT, "command 1: label of 65 bytes");
	memcpy(c, cmds, sizeof(c));
	c[0].flags = CPK_CMD_SECURED;
	cpk_buf_reset(&script);
	CHECK_OK(cpk_script_encode(c, FIXTURE_COMMANDS, &script, NULL));
	manifest_for(&script, FIXTURE_COMMANDS, &text);
	signed_bundle(text.data, text.len, &script, &b);
	EXPECT_REFUSAL(&b, CPK_ERR_PARSE, CPK_FAULT_SCRIPT,
	    "command 1 (SELECT ISD): an offline script starts with SELECT of the manifest's "
	    "security domain");
	/* Signed, but an unsecured command would reach the card before INITIALIZE UPDATE. */
	{
		struct cpk_command extra[FIXTURE_COMMANDS + 1];

		extra[0] = cmds[0];
		extra[1] = cmds[3];
		extra[1].flags = 0;
		memcpy(&extra[2], &cmds[1], (FIXTURE_COMMANDS - 1) * sizeof(cmds[0]));
		cpk_buf_reset(&script);
		CHECK_OK(cpk_script_encode(extra, FIXTURE_COMMANDS + 1, &script, NULL));
		manifest_for(&script, FIXTURE_COMMANDS + 1, &text);
		signed_bundle(text.data, text.len, &script, &b);
		EXPECT_REFUSAL(&b, CPK_ERR_PARSE, CPK_FAULT_SCRIPT,
		    "command 2 (DELETE A0000000620301): an offline script's second command is "
		    "INITIALIZE UPDATE with the manifest's host challenge");
	}

	cpk_buf_free(&script);
	cpk_buf_free(&text);
	cpk_buf_free(&b);
}

static int
write_golden(void)
{
	struct cpk_buf b = CPK_BUF_INIT;
	char *gpath = path_join(srcroot, FIXTURE_GOLDEN);

	write_fixture(&b);
	spit(gpath, b.data, b.len, 0644);
	fprintf(stderr, "wrote %s (%zu bytes)\n", gpath, b.len);
	free(gpath);
	cpk_buf_free(&b);
	return test_failures == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	int rc;

	if (argc < 2) {
		fprintf(stderr, "usage: %s SRCROOT [--golden]\n", argv[0]);
		return 2;
	}
	srcroot = argv[1];
	setup();
	if (argc > 2 && strcmp(argv[2], "--golden") == 0) {
		rc = write_golden();
	} else {
		test_committed_key();
		test_roundtrip();
		test_determinism();
		test_write_file();
		test_writer_refuses();
		test_write_compiled();
		test_zip_too_big();
		test_rfc8032();
		test_keygen();
		test_creation_time();
		test_signed_but_wrong();
		rc = test_summary("bundle-write");
	}
	cpk_signer_free(&signer);
	cpk_trust_free(&trust);
	remove_tree(tmp);
	free(tmp);
	return rc;
}
