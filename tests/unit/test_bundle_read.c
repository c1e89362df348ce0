/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk unit tests for the bundle reader and the trust anchors
 * (loader/bundle_read.h, loader/verify.h). Linked with the loader library
 * only: no compiler library, no libyaml, no signing. Works on the committed
 * golden bundle and on containers rebuilt byte by byte from its entries:
 * every single-byte flip of each entry, every truncation, extra, missing,
 * duplicate, out-of-order, oversized, compressed and encrypted entries,
 * unknown keys and inspect mode.
 *
 * Usage: test_bundle_read SRCROOT
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle_fixture.h"
#include "bundle_read.h"
#include "testlib.h"
#include "verify.h"

static const char *srcroot;
static char *tmp;
static struct cpk_trust *trust;
static struct cpk_buf golden = CPK_BUF_INIT;
static struct split_bundle parts;

static void
setup(void)
{
	struct cpk_error err;
	char *pub, *gpath = path_join(srcroot, FIXTURE_GOLDEN);

	cpk_error_clear(&err);
	tmp = temp_dir();
	pub = copy_test_pub(srcroot, tmp);
	if (cpk_trust_new(&trust, &err) != CPK_OK || cpk_trust_add_file(trust, pub, &err) != CPK_OK) {
		fprintf(stderr, "setup: %s\n", err.msg);
		exit(1);
	}
	slurp(gpath, &golden);
	split_bundle(golden.data, golden.len, &parts);
	free(pub);
	free(gpath);
}

/* Open and expect a refusal of a given status and class, with a message. */
static void
refused(const uint8_t *p, size_t n, const struct cpk_trust *t, cpk_status want,
    enum cpk_bundle_fault fault, const char *needle, int line)
{
	struct cpk_bundle *b = NULL;
	struct cpk_bundle_diag diag;
	struct cpk_error err;

	cpk_error_clear(&err);
	if (!test_check_status(cpk_bundle_open(p, n, t, 0, &b, &diag, &err), want, needle,
	    __FILE__, line))
		fprintf(stderr, "  message: %s\n", err.msg);
	test_check_msg(&err, needle, __FILE__, line);
	if (!test_check(diag.fault == fault, cpk_bundle_fault_name(fault), __FILE__, line))
		fprintf(stderr, "  fault %s: %s\n", cpk_bundle_fault_name(diag.fault), err.msg);
	test_check(b == NULL, "no bundle on refusal", __FILE__, line);
	cpk_bundle_free(&b);
}

#define REFUSED(buf, want, fault, needle) \
	refused((buf)->data, (buf)->len, trust, (want), (fault), (needle), __LINE__)

static void
test_open_golden(void)
{
	struct cpk_bundle *b = NULL;
	struct cpk_bundle_diag diag;
	struct cpk_error err;
	const struct cpk_manifest *m;
	const struct cpk_command *c;
	const uint8_t *text;
	size_t len, i, secured = 0;
	char id[17];

	cpk_error_clear(&err);
	CHECK_OK(cpk_bundle_open(golden.data, golden.len, trust, 0, &b, &diag, &err));
	if (b == NULL) {
		fprintf(stderr, "golden: %s\n", err.msg);
		return;
	}
	CHECK(diag.fault == CPK_FAULT_NONE && diag.has_key_id);
	m = cpk_bundle_manifest(b);
	CHECK_STR(m->profile, "install \"demo\" applet \\ v1");
	CHECK_STR(m->serial, "CARD-0001");
	CHECK(m->mode == CPK_MODE_OFFLINE && m->scp == 3 && m->i == 0x70 && m->level == 0x33);
	CHECK_HEX(m->iu_response, m->iu_response_len,
	    "00010203040506070809300370112233445566778899AABBCCDDEEFF00000016");
	CHECK_HEX(m->counter, m->counter_len, "000016");
	text = cpk_bundle_manifest_text(b, &len);
	CHECK_MEM(text, len, parts.manifest.data, parts.manifest.len);
	cpk_key_id_hex(cpk_bundle_key_id(b), id);
	CHECK_STR(id, FIXTURE_TEST_KEY_ID);
	CHECK(cpk_bundle_signer(b) != NULL && strstr(cpk_bundle_signer(b), "test-signing.pub"));

	/* Streaming view. */
	CHECK(cpk_bundle_command_count(b) == FIXTURE_COMMANDS);
	for (i = 0; i < cpk_bundle_command_count(b); i++) {
		c = cpk_bundle_command(b, i);
		if (c->flags & CPK_CMD_SECURED)
			secured++;
	}
	CHECK(secured == FIXTURE_COMMANDS - 2);
	c = cpk_bundle_command(b, 1);
	CHECK_STR(c->label, "INITIALIZE UPDATE");
	CHECK(c->flags == CPK_CMD_INIT_UPDATE);
	c = cpk_bundle_command(b, 3);
	CHECK_STR(c->label, "DELETE A0000000620301");
	CHECK(cpk_command_accepts(c, 0x9000) && cpk_command_accepts(c, 0x6a88) &&
	    !cpk_command_accepts(c, 0x6982));
	c = cpk_bundle_command(b, 7);
	CHECK(c->apdu_len == 307 && cpk_command_accepts(c, 0x6a80) &&
	    !cpk_command_accepts(c, 0x6a81));
	/* A mask still reaches the reader: SELECT accepts 61xx. */
	c = cpk_bundle_command(b, 0);
	CHECK(cpk_command_accepts(c, 0x6112) && !cpk_command_accepts(c, 0x6212));
	CHECK(cpk_bundle_command(b, FIXTURE_COMMANDS) == NULL);
	cpk_bundle_free(&b);

	/* A container rebuilt byte by byte from the same entries opens too. */
	{
		struct cpk_buf z = CPK_BUF_INIT;

		zraw_bundle(parts.manifest.data, parts.manifest.len, parts.sig.data, parts.sig.len,
		    parts.script.data, parts.script.len, &z);
		CHECK_OK(cpk_bundle_open(z.data, z.len, trust, 0, &b, NULL, &err));
		cpk_bundle_free(&b);
		cpk_buf_free(&z);
	}
}

/* Rebuild the container with one byte of one entry flipped. */
static void
flip_entry(int which, size_t at, uint8_t mask, struct cpk_buf *out)
{
	struct cpk_buf *e[3] = { &parts.manifest, &parts.sig, &parts.script };

	e[which]->data[at] ^= mask;
	cpk_buf_reset(out);
	zraw_bundle(parts.manifest.data, parts.manifest.len, parts.sig.data, parts.sig.len,
	    parts.script.data, parts.script.len, out);
	e[which]->data[at] ^= mask;
}

static void
test_flips(void)
{
	static const uint8_t masks[] = { 0x01, 0x80, 0xff };
	struct cpk_buf z = CPK_BUF_INIT;
	char id[17], needle[64];
	size_t i, k;

	for (k = 0; k < sizeof(masks); k++) {
		for (i = 0; i < parts.manifest.len; i++) {
			flip_entry(0, i, masks[k], &z);
			REFUSED(&z, CPK_ERR_SIGNATURE, CPK_FAULT_BAD_SIGNATURE, "bad signature");
		}
		for (i = 0; i < parts.sig.len; i++) {
			flip_entry(1, i, masks[k], &z);
			if (i < 2) {
				REFUSED(&z, CPK_ERR_UNSUPPORTED, CPK_FAULT_SIGNATURE_FORMAT,
				    "unknown signature algorithm");
			} else if (i < 10) {
				parts.sig.data[i] ^= masks[k];
				cpk_key_id_hex(parts.sig.data + 2, id);
				parts.sig.data[i] ^= masks[k];
				snprintf(needle, sizeof(needle), "signed by an unknown key %s", id);
				REFUSED(&z, CPK_ERR_SIGNATURE, CPK_FAULT_UNKNOWN_KEY, needle);
			} else {
				REFUSED(&z, CPK_ERR_SIGNATURE, CPK_FAULT_BAD_SIGNATURE,
				    "does not verify with the trusted key " FIXTURE_TEST_KEY_ID);
			}
		}
		for (i = 0; i < parts.script.len; i++) {
			flip_entry(2, i, masks[k], &z);
			REFUSED(&z, CPK_ERR_VERIFY, CPK_FAULT_HASH,
			    "script.bin does not match the signed manifest (SHA-256 mismatch)");
		}
	}
	cpk_buf_free(&z);
}

/*
 * Any byte of the .cpk file flipped: refused, or (zip metadata the reader
 * does not use) opened with exactly the same signed contents.
 */
static void
test_file_flips(void)
{
	struct cpk_bundle *b = NULL;
	struct cpk_error err;
	const uint8_t *text;
	size_t i, len, opened = 0;

	for (i = 0; i < golden.len; i++) {
		golden.data[i] ^= 0x01;
		if (cpk_bundle_open(golden.data, golden.len, trust, 0, &b, NULL, &err) == CPK_OK) {
			opened++;
			text = cpk_bundle_manifest_text(b, &len);
			CHECK_MEM(text, len, parts.manifest.data, parts.manifest.len);
			CHECK(cpk_bundle_command_count(b) == FIXTURE_COMMANDS);
			cpk_bundle_free(&b);
		}
		golden.data[i] ^= 0x01;
	}
	/* Only metadata such as "version made by" and attributes. */
	fprintf(stderr, "file flips: %zu of %zu opened (zip metadata)\n", opened, golden.len);
	CHECK(opened < 100);
}

static void
test_truncation(void)
{
	size_t n;

	for (n = 0; n < golden.len; n++)
		refused(golden.data, n, trust, CPK_ERR_PARSE, CPK_FAULT_CONTAINER, "truncated",
		    __LINE__);
}

static void
opens(const struct cpk_buf *z, int line)
{
	struct cpk_bundle *b = NULL;
	struct cpk_error err;

	cpk_error_clear(&err);
	if (!test_check_status(cpk_bundle_open(z->data, z->len, trust, 0, &b, NULL, &err), CPK_OK,
	    "open", __FILE__, line))
		fprintf(stderr, "  message: %s\n", err.msg);
	cpk_bundle_free(&b);
}

static void
zraw_with(struct zraw_entry *e, size_t n, struct cpk_buf *out)
{
	cpk_buf_reset(out);
	zraw_build(e, n, out);
}

/*
 * Put 5 bytes in front of a zip made by zraw_build and move the central
 * directory offset; with fix_entries, the entries' offsets too.
 */
static void
prepend_junk(struct cpk_buf *z, bool fix_entries)
{
	struct cpk_buf t = CPK_BUF_INIT;
	size_t eocd, cd, i;
	uint32_t off;

	CHECK_OK(cpk_buf_append(&t, "JUNK!", 5, NULL));
	CHECK_OK(cpk_buf_append(&t, z->data, z->len, NULL));
	eocd = t.len - 22;
	cd = 5 + (size_t)(t.data[eocd + 16] | t.data[eocd + 17] << 8);
	t.data[eocd + 16] = (uint8_t)(cd & 0xff);
	t.data[eocd + 17] = (uint8_t)(cd >> 8);
	for (i = 0; fix_entries && i < 3; i++) {
		off = (uint32_t)(t.data[cd + 42] | t.data[cd + 43] << 8) + 5;
		t.data[cd + 42] = (uint8_t)(off & 0xff);
		t.data[cd + 43] = (uint8_t)(off >> 8);
		cd += 46 + (size_t)(t.data[cd + 28] | t.data[cd + 29] << 8);
	}
	CHECK_OK(cpk_buf_set(z, t.data, t.len, NULL));
	cpk_buf_free(&t);
}

static void
base_entries(struct zraw_entry e[4])
{
	memset(e, 0, 4 * sizeof(*e));
	zraw_split_entries(&parts, e);
	e[3].name = "evil.sh";
	e[3].data = (const uint8_t *)"rm -rf /\n";
	e[3].len = 9;
}

static void
test_container(void)
{
	struct zraw_entry e[4], t;
	struct cpk_buf z = CPK_BUF_INIT;
	uint8_t *big;
	size_t eocd;

	base_entries(e);
	zraw_with(e, 3, &z);
	opens(&z, __LINE__);

	/* Extra, missing, duplicate, out of order. */
	zraw_with(e, 4, &z);
	REFUSED(&z, CPK_ERR_PARSE, CPK_FAULT_CONTAINER, "unexpected entry 'evil.sh' in the bundle");
	t = e[0];
	e[0] = e[3];
	zraw_with(e, 3, &z);
	REFUSED(&z, CPK_ERR_PARSE, CPK_FAULT_CONTAINER, "unexpected entry 'evil.sh'");
	e[0] = t;
	e[3].name = "../\x1b[2Jmanifest.yaml";
	zraw_with(e, 4, &z);
	REFUSED(&z, CPK_ERR_PARSE, CPK_FAULT_CONTAINER, "unexpected entry '../?[2Jmanifest.yaml'");
	zraw_with(e, 2, &z);
	REFUSED(&z, CPK_ERR_PARSE, CPK_FAULT_CONTAINER, "missing entry 'script.bin'");
	zraw_with(e + 1, 2, &z);
	REFUSED(&z, CPK_ERR_PARSE, CPK_FAULT_CONTAINER, "missing entry 'manifest.yaml'");
	zraw_with(e, 0, &z);
	REFUSED(&z, CPK_ERR_PARSE, CPK_FAULT_CONTAINER, "missing entry 'manifest.yaml'");
	e[3] = e[2];
	zraw_with(e, 4, &z);
	REFUSED(&z, CPK_ERR_PARSE, CPK_FAULT_CONTAINER, "duplicate entry 'script.bin'");
	e[1] = e[0];
	zraw_with(e, 3, &z);
	REFUSED(&z, CPK_ERR_PARSE, CPK_FAULT_CONTAINER, "duplicate entry 'manifest.yaml'");
	base_entries(e);
	t = e[0];
	e[0] = e[1];
	e[1] = t;
	zraw_with(e, 3, &z);
	REFUSED(&z, CPK_ERR_PARSE, CPK_FAULT_CONTAINER,
	    "entries out of order: 'manifest.yaml' is entry 2");
	base_entries(e);
	e[0].name_len = strlen(CPK_ENTRY_MANIFEST) + 1;	/* name with a NUL byte at the end */
	e[0].name = CPK_ENTRY_MANIFEST "\0";
	zraw_with(e, 3, &z);
	REFUSED(&z, CPK_ERR_PARSE, CPK_FAULT_CONTAINER, "unexpected entry 'manifest.yaml?'");

	/* Sizes: from the central directory, before reading anything. */
	base_entries(e);
	e[2].claim_size = 0x7fffffff;
	zraw_with(e, 3, &z);
	REFUSED(&z, CPK_ERR_RANGE, CPK_FAULT_CONTAINER,
	    "oversized entry 'script.bin': 2147483647 bytes, at most 16711680");
	e[2].claim_size = 0xffffffff;
	zraw_with(e, 3, &z);
	REFUSED(&z, CPK_ERR_RANGE, CPK_FAULT_CONTAINER, "oversized entry 'script.bin'");
	base_entries(e);
	e[0].claim_size = CPK_MANIFEST_MAX_SIZE + 1;
	zraw_with(e, 3, &z);
	REFUSED(&z, CPK_ERR_RANGE, CPK_FAULT_CONTAINER,
	    "oversized entry 'manifest.yaml': 8193 bytes, at most 8192");
	big = calloc(1, 9000);
	if (big == NULL)
		abort();
	memcpy(big, parts.manifest.data, parts.manifest.len);
	e[0].claim_size = 0;
	e[0].data = big;
	e[0].len = 9000;
	zraw_with(e, 3, &z);
	REFUSED(&z, CPK_ERR_RANGE, CPK_FAULT_CONTAINER, "oversized entry 'manifest.yaml': 9000");
	free(big);
	base_entries(e);
	e[1].len = CPK_SIG_LEN - 1;
	zraw_with(e, 3, &z);
	REFUSED(&z, CPK_ERR_PARSE, CPK_FAULT_CONTAINER, "expected exactly 74 bytes");
	e[1].claim_size = CPK_SIG_LEN + 1;
	zraw_with(e, 3, &z);
	REFUSED(&z, CPK_ERR_RANGE, CPK_FAULT_CONTAINER, "oversized entry 'manifest.sig'");
	base_entries(e);
	e[2].len = 0;
	zraw_with(e, 3, &z);
	REFUSED(&z, CPK_ERR_PARSE, CPK_FAULT_CONTAINER, "a non-empty stored entry");
	/* The directory says less than the data holds: libzip's consistency check. */
	base_entries(e);
	e[0].claim_size = (uint32_t)parts.manifest.len - 1;
	zraw_with(e, 3, &z);
	REFUSED(&z, CPK_ERR_PARSE, CPK_FAULT_CONTAINER,
	    "damaged zip archive: unexpected bytes before entry 'manifest.sig'");
	/* Bytes in front of the archive (a self-extractor, a polyglot). */
	base_entries(e);
	zraw_with(e, 3, &z);
	prepend_junk(&z, true);
	REFUSED(&z, CPK_ERR_PARSE, CPK_FAULT_CONTAINER,
	    "damaged zip archive: unexpected bytes before entry 'manifest.yaml'");
	zraw_with(e, 3, &z);
	prepend_junk(&z, false);
	REFUSED(&z, CPK_ERR_PARSE, CPK_FAULT_CONTAINER, "no local header for entry 'manifest.yaml'");

	/* Storage: compressed (a zip bomb needs compression), encrypted, other flags, CRC. */
	base_entries(e);
	e[2].method = 8;
	zraw_with(e, 3, &z);
	REFUSED(&z, CPK_ERR_PARSE, CPK_FAULT_CONTAINER,
	    "entry 'script.bin' is compressed (method 8); bundle entries are stored");
	base_entries(e);
	e[1].flags = 0x0001;
	zraw_with(e, 3, &z);
	REFUSED(&z, CPK_ERR_PARSE, CPK_FAULT_CONTAINER, "entry 'manifest.sig' is encrypted");
	e[1].flags = 0x0008;
	zraw_with(e, 3, &z);
	REFUSED(&z, CPK_ERR_PARSE, CPK_FAULT_CONTAINER, "unsupported zip flags 0x0008");
	e[1].flags = 0x0800;	/* UTF-8 names: fine */
	zraw_with(e, 3, &z);
	opens(&z, __LINE__);
	base_entries(e);
	e[2].bad_crc = true;
	zraw_with(e, 3, &z);
	REFUSED(&z, CPK_ERR_PARSE, CPK_FAULT_CONTAINER, "damaged zip archive: entry 'script.bin': CRC");

	/*
	 * The local header says what the central directory says: a reader
	 * trusting either sees the same entry (flags, method, CRC, sizes, name).
	 */
	base_entries(e);
	{
		size_t sig_at = 30 + strlen(CPK_ENTRY_MANIFEST) + parts.manifest.len;
		static const struct {
			size_t at;	/* in the local header */
			uint8_t val;
			const char *what;
		} local[] = {
			{ 7, 0x08, "flags" },		/* 0x0800 (UTF-8 names) in one only */
			{ 8, 0x08, "compression method" },
			{ 14, 0x5a, "CRC-32" },
			{ 18, 0x01, "sizes" },
			{ 22, 0x01, "sizes" },
			{ 30, 0x20, "name" },		/* "Manifest.sig" */
		};
		char want[160];

		for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++) {
			zraw_with(e, 3, &z);
			/* The signature entry's local header starts "PK\3\4". */
			CHECK(memcmp(z.data + sig_at, "PK\3\4", 4) == 0);
			z.data[sig_at + local[i].at] ^= local[i].val;
			snprintf(want, sizeof(want), "damaged zip archive: the local header of entry "
			    "'manifest.sig' disagrees with the central directory (%s)", local[i].what);
			REFUSED(&z, CPK_ERR_PARSE, CPK_FAULT_CONTAINER, want);
		}
	}

	/* The end record. */
	base_entries(e);
	zraw_with(e, 3, &z);
	eocd = z.len - 22;
	z.data[eocd + 4] = 1;	/* disk number */
	REFUSED(&z, CPK_ERR_PARSE, CPK_FAULT_CONTAINER, "multi-part zip archives");
	z.data[eocd + 4] = 0;
	z.data[eocd + 16] ^= 1;	/* central directory offset */
	REFUSED(&z, CPK_ERR_PARSE, CPK_FAULT_CONTAINER, "central directory is not where the end "
	    "record puts it");
	z.data[eocd + 16] ^= 1;
	z.data[eocd + 10] = 2;	/* entry count */
	z.data[eocd + 8] = 2;
	REFUSED(&z, CPK_ERR_PARSE, CPK_FAULT_CONTAINER, "stray bytes in the central directory");
	z.data[eocd + 10] = 4;
	z.data[eocd + 8] = 4;
	REFUSED(&z, CPK_ERR_PARSE, CPK_FAULT_CONTAINER, "central directory entry 4 is missing");
	z.data[eocd + 10] = 3;
	z.data[eocd + 8] = 3;
	z.data[eocd + 20] = 3;	/* a comment */
	CHECK_OK(cpk_buf_append(&z, "abc", 3, NULL));
	REFUSED(&z, CPK_ERR_PARSE, CPK_FAULT_CONTAINER, "no end record at the end of the file");
	z.len -= 3;
	z.data[eocd + 20] = 0;
	CHECK_OK(cpk_buf_append(&z, "\n", 1, NULL));
	REFUSED(&z, CPK_ERR_PARSE, CPK_FAULT_CONTAINER, "trailing data");
	cpk_buf_reset(&z);
	CHECK_OK(cpk_buf_append(&z, "hello, this is not a zip file at all", 36, NULL));
	REFUSED(&z, CPK_ERR_PARSE, CPK_FAULT_CONTAINER, "not a complete zip archive");

	/* The total size cap, checked before anything is parsed. */
	big = calloc(1, CPK_BUNDLE_MAX_SIZE + 1);
	if (big == NULL)
		abort();
	refused(big, CPK_BUNDLE_MAX_SIZE + 1, trust, CPK_ERR_RANGE, CPK_FAULT_CONTAINER,
	    "bundle is 16777217 bytes; at most 16777216", __LINE__);
	free(big);
	cpk_buf_free(&z);
}

static void
test_unknown_key_and_inspect(void)
{
	struct cpk_trust *other = NULL, *none = NULL;
	struct cpk_pubkey pk;
	struct cpk_bundle *b = NULL;
	struct cpk_bundle_diag diag;
	struct cpk_error err, why;
	enum cpk_bundle_fault fault = CPK_FAULT_NONE;
	struct cpk_buf z = CPK_BUF_INIT;
	char id[17];

	cpk_error_clear(&err);
	test_unhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", pk.pub, 32);
	CHECK_OK(cpk_key_id(pk.pub, pk.key_id, &err));
	CHECK_OK(cpk_trust_new(&other, &err));
	CHECK_OK(cpk_trust_add_key(other, &pk, "rfc8032.pub", &err));
	refused(golden.data, golden.len, other, CPK_ERR_SIGNATURE, CPK_FAULT_UNKNOWN_KEY,
	    "signed by an unknown key " FIXTURE_TEST_KEY_ID " (1 trusted key)", __LINE__);
	CHECK_OK(cpk_trust_new(&none, &err));
	refused(golden.data, golden.len, none, CPK_ERR_SIGNATURE, CPK_FAULT_UNKNOWN_KEY,
	    "(0 trusted keys); install the bureau's public key", __LINE__);
	CHECK_STATUS(cpk_bundle_open(golden.data, golden.len, other, 0, &b, &diag, &err),
	    CPK_ERR_SIGNATURE);
	CHECK(diag.has_key_id);
	cpk_key_id_hex(diag.key_id, id);
	CHECK_STR(id, FIXTURE_TEST_KEY_ID);
	refused(golden.data, golden.len, NULL, CPK_ERR_ARG, CPK_FAULT_NONE, "no trust anchors",
	    __LINE__);

	/* Inspect mode shows an unverified bundle and says why. */
	CHECK_OK(cpk_bundle_open(golden.data, golden.len, NULL, CPK_BUNDLE_OPEN_INSPECT, &b, &diag,
	    &err));
	CHECK(b != NULL && !cpk_bundle_verified(b, &why, &fault));
	CHECK(fault == CPK_FAULT_UNKNOWN_KEY);
	CHECK_MSG(&why, "signed by an unknown key " FIXTURE_TEST_KEY_ID);
	CHECK(cpk_bundle_signer(b) == NULL && cpk_bundle_command_count(b) == FIXTURE_COMMANDS);
	cpk_bundle_free(&b);
	flip_entry(0, parts.manifest.len - 3, 0x01, &z);	/* inside the script hash */
	CHECK_STATUS(cpk_bundle_open(z.data, z.len, trust, CPK_BUNDLE_OPEN_INSPECT, &b, &diag,
	    &err), CPK_ERR_VERIFY);
	CHECK(diag.fault == CPK_FAULT_HASH);
	flip_entry(0, 30, 0x01, &z);	/* inside the compiler string */
	CHECK_OK(cpk_bundle_open(z.data, z.len, trust, CPK_BUNDLE_OPEN_INSPECT, &b, &diag, &err));
	CHECK(b != NULL && !cpk_bundle_verified(b, &why, &fault));
	CHECK(fault == CPK_FAULT_BAD_SIGNATURE);
	CHECK_MSG(&why, "bad signature");
	cpk_bundle_free(&b);
	CHECK_OK(cpk_bundle_open(golden.data, golden.len, trust, CPK_BUNDLE_OPEN_INSPECT, &b, &diag,
	    &err));
	CHECK(b != NULL && cpk_bundle_verified(b, &why, &fault) && fault == CPK_FAULT_NONE);
	cpk_bundle_free(&b);
	cpk_trust_free(&other);
	cpk_trust_free(&none);
	cpk_buf_free(&z);
}

static void
test_trust(void)
{
	struct cpk_trust *t = NULL;
	struct cpk_pubkey pk;
	struct cpk_buf txt = CPK_BUF_INIT;
	struct cpk_error err;
	char *dir = path_join(tmp, "trusted");
	char *src = path_join(srcroot, FIXTURE_TEST_PUB);
	char *a = path_join(dir, "bureau.pub"), *bad = path_join(dir, "zz-bad.pub");
	char *hidden = path_join(dir, ".hidden.pub"), *readme = path_join(dir, "README");
	char *rfc = path_join(dir, "rfc.pub");
	char *missing = path_join(tmp, "no-such-dir");
	size_t added = 0, i;

	cpk_error_clear(&err);
	CHECK(mkdir(dir, 0755) == 0);
	slurp(src, &txt);
	spit(a, txt.data, txt.len, 0644);
	spit(hidden, "junk", 4, 0644);
	spit(readme, "junk", 4, 0644);
	test_unhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", pk.pub, 32);
	CHECK_OK(cpk_key_id(pk.pub, pk.key_id, &err));
	cpk_buf_reset(&txt);
	CHECK_OK(cpk_keyfile_encode(CPK_KEYFILE_PUBLIC, pk.key_id, pk.pub, NULL, &txt, &err));
	spit(rfc, txt.data, txt.len, 0644);

	CHECK_OK(cpk_trust_new(&t, &err));
	CHECK_OK(cpk_trust_add_dir(t, dir, &added, &err));
	CHECK(added == 2 && cpk_trust_count(t) == 2);
	CHECK(cpk_trust_find(t, pk.key_id) != NULL);
	/* The same key again is one key. */
	CHECK_OK(cpk_trust_add_path(t, a, &err));
	CHECK(cpk_trust_count(t) == 2);
	CHECK_OK(cpk_trust_add_path(t, dir, &err));
	CHECK(cpk_trust_count(t) == 2);
	/* Another key claiming the same id. */
	pk.pub[0] ^= 1;
	CHECK_STATUS(cpk_trust_add_key(t, &pk, "forged", &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "hold different keys with the same key id");
	cpk_trust_free(&t);
	CHECK(t == NULL);

	/* A bad file in the directory is named. */
	spit(bad, "untrusted comment: x\nnot base64\n", 32, 0644);
	CHECK_OK(cpk_trust_new(&t, &err));
	CHECK_STATUS(cpk_trust_add_dir(t, dir, &added, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "zz-bad.pub:2: the key line must be 56 base64 characters");
	CHECK(added == 2);
	unlink(bad);
	CHECK(chmod(a, 0666) == 0);
	CHECK_STATUS(cpk_trust_add_file(t, a, &err), CPK_ERR_PERMISSION);
	CHECK_MSG(&err, "bureau.pub' has mode 0666: others may replace the keys you trust; "
	    "run: chmod go-w '");
	/* Group-writable is enough; so is a group- or world-writable folder. */
	CHECK(chmod(a, 0660) == 0);
	CHECK_STATUS(cpk_trust_add_file(t, a, &err), CPK_ERR_PERMISSION);
	CHECK_MSG(&err, "bureau.pub' has mode 0660");
	CHECK(chmod(a, 0644) == 0);
	CHECK_OK(cpk_trust_add_file(t, a, &err));
	CHECK(chmod(dir, 0775) == 0);
	CHECK_STATUS(cpk_trust_add_dir(t, dir, NULL, &err), CPK_ERR_PERMISSION);
	CHECK_MSG(&err, "trust directory '");
	CHECK_MSG(&err, "' has mode 0775: others may replace the keys you trust");
	CHECK(chmod(dir, 01777) == 0);
	CHECK_STATUS(cpk_trust_add_path(t, dir, &err), CPK_ERR_PERMISSION);
	CHECK_MSG(&err, "has mode 1777");
	CHECK(chmod(dir, 0755) == 0);
	CHECK_OK(cpk_trust_add_dir(t, dir, NULL, &err));
	/* Owned by another user (only root can give a file away). */
	if (geteuid() == 0) {
		CHECK(chown(a, 4242, (gid_t)-1) == 0);
		CHECK_STATUS(cpk_trust_add_file(t, a, &err), CPK_ERR_PERMISSION);
		CHECK_MSG(&err, "bureau.pub' belongs to user 4242, neither root nor you");
		CHECK(chown(a, 0, (gid_t)-1) == 0);
		CHECK(chown(dir, 4242, (gid_t)-1) == 0);
		CHECK_STATUS(cpk_trust_add_dir(t, dir, NULL, &err), CPK_ERR_PERMISSION);
		CHECK_MSG(&err, "belongs to user 4242");
		CHECK(chown(dir, 0, (gid_t)-1) == 0);
	}
	/* A dangling link in the folder is an error, not a missing folder. */
	CHECK(symlink(missing, bad) == 0);
	CHECK_STATUS(cpk_trust_add_dir(t, dir, NULL, &err), CPK_ERR_IO);
	CHECK_MSG(&err, "cannot open trusted key");
	unlink(bad);
	CHECK_STATUS(cpk_trust_add_dir(t, missing, NULL, &err), CPK_ERR_NOT_FOUND);
	CHECK_MSG(&err, "cannot open trust directory");
	CHECK_STATUS(cpk_trust_add_path(t, missing, &err), CPK_ERR_NOT_FOUND);
	CHECK_STATUS(cpk_trust_add_file(t, missing, &err), CPK_ERR_NOT_FOUND);
	CHECK_STATUS(cpk_trust_add_file(t, dir, &err), CPK_ERR_IO);
	CHECK_MSG(&err, "is a directory, not a regular file: cpk reads only regular files");
	cpk_trust_free(&t);

	/* At most CPK_TRUST_MAX_KEYS keys. */
	CHECK_OK(cpk_trust_new(&t, &err));
	for (i = 0; i <= CPK_TRUST_MAX_KEYS; i++) {
		memset(pk.pub, (int)i, sizeof(pk.pub));
		CHECK_OK(cpk_key_id(pk.pub, pk.key_id, &err));
		if (i < CPK_TRUST_MAX_KEYS)
			CHECK_OK(cpk_trust_add_key(t, &pk, "many", &err));
		else
			CHECK_STATUS(cpk_trust_add_key(t, &pk, "many", &err), CPK_ERR_RANGE);
	}
	CHECK_MSG(&err, "more than 64 trusted keys");
	cpk_trust_free(&t);

	free(dir);
	free(src);
	free(a);
	free(bad);
	free(hidden);
	free(readme);
	free(rfc);
	free(missing);
	cpk_buf_free(&txt);
}

static void
test_read_input(void)
{
	struct cpk_buf b = CPK_BUF_INIT;
	struct cpk_error err;
	char *gpath = path_join(srcroot, FIXTURE_GOLDEN);
	char *missing = path_join(tmp, "missing.cpk");
	int fd;

	cpk_error_clear(&err);
	CHECK_OK(cpk_bundle_read_path(gpath, &b, &err));
	CHECK_MEM(b.data, b.len, golden.data, golden.len);
	cpk_buf_reset(&b);
	CHECK_STATUS(cpk_bundle_read_path(missing, &b, &err), CPK_ERR_NOT_FOUND);
	CHECK_MSG(&err, "cannot open bundle");
	if ((fd = open("/dev/zero", O_RDONLY)) >= 0) {
		CHECK_STATUS(cpk_bundle_read_fd(fd, "stdin", &b, &err), CPK_ERR_RANGE);
		CHECK_MSG(&err, "'stdin' is larger than 16777216 bytes: not a bundle");
		CHECK(b.len == 0);
		close(fd);
	}
	free(gpath);
	free(missing);
	cpk_buf_free(&b);
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s SRCROOT\n", argv[0]);
		return 2;
	}
	srcroot = argv[1];
	setup();
	test_open_golden();
	test_flips();
	test_file_flips();
	test_truncation();
	test_container();
	test_unknown_key_and_inspect();
	test_trust();
	test_read_input();
	split_bundle_free(&parts);
	cpk_buf_free(&golden);
	cpk_trust_free(&trust);
	remove_tree(tmp);
	free(tmp);
	return test_summary("bundle-read");
}
