/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk unit tests: the inputs of cardc — profiles (compiler/profile*.c),
 * card records (card.c), key sets (keyset.c) and CAP files (cap.c).
 *
 * Every bad input has its own test that checks the whole error, location
 * included ("p.yaml:15:7: unknown key 'aid' in step 'install' (did you
 * mean 'applet'?)"), and that nothing is returned. CAP fixtures come from
 * tests/capgen. Files go to a private temporary folder.
 *
 * Argument: the source root (for keys/ and profiles/).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "cap.h"
#include "capgen.h"
#include "card.h"
#include "cpk_bytes.h"
#include "dm.h"
#include "gp_cmd.h"
#include "keyset.h"
#include "profile.h"
#include "sign.h"
#include "testlib.h"
#include "ydoc.h"

static char tmpdir[256];
static const char *srcroot;

#define HELLO_PKG "F043504B48454C4C4F"
#define HELLO_APPLET "F043504B48454C4C4F01"

/* --- helpers --- */

static const char *
tpath(const char *name)
{
	static char buf[4][512];
	static int k;

	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", tmpdir, name);
	return buf[k];
}

static void
write_file(const char *name, const void *p, size_t n, mode_t mode)
{
	const char *path = tpath(name);
	FILE *f;

	unlink(path);
	if ((f = fopen(path, "wb")) == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
		perror(path);
		abort();
	}
	if (chmod(path, mode) != 0)
		abort();
}

static void
write_text(const char *name, const char *text, mode_t mode)
{
	write_file(name, text, strlen(text), mode);
}

static char *
read_source(const char *rel)
{
	char path[512];
	FILE *f;
	long n;
	char *buf;

	snprintf(path, sizeof(path), "%s/%s", srcroot, rel);
	if ((f = fopen(path, "rb")) == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0 || (buf = malloc((size_t)n + 1)) == NULL ||
	    fread(buf, 1, (size_t)n, f) != (size_t)n) {
		perror(path);
		abort();
	}
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/*
 * The error as a person reads it (as cardc prints it): "file:line:col:
 * message", "file:line: message" without a column, or "message".
 */
static void
format_error(const struct cpk_error *err, char *out, size_t cap)
{
	if (err->line > 0 && err->col > 0)
		snprintf(out, cap, "%s:%u:%u: %s", err->file, err->line, err->col, err->msg);
	else if (err->line > 0)
		snprintf(out, cap, "%s:%u: %s", err->file, err->line, err->msg);
	else
		snprintf(out, cap, "%s", err->msg);
}

static void expect_error(const struct cpk_error *err, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
expect_error(const struct cpk_error *err, int line, const char *fmt, ...)
{
	char want[1024], got[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	format_error(err, got, sizeof(got));
	test_check_str(got, want, "error", __FILE__, line);
}

#define EXPECT_ERROR(err, ...) expect_error((err), __LINE__, __VA_ARGS__)

static void
make_cap(const char *name, const struct capgen_spec *spec)
{
	struct cpk_error err;

	cpk_error_clear(&err);
	if (capgen_write(spec, tpath(name), &err) != CPK_OK) {
		fprintf(stderr, "capgen: %s\n", err.msg);
		abort();
	}
}

static void
hello_spec(struct capgen_spec *spec)
{
	capgen_spec_init(spec);
	if (capgen_aid_parse(HELLO_PKG, &spec->package, NULL) != CPK_OK ||
	    capgen_aid_parse(HELLO_APPLET, &spec->applets[0], NULL) != CPK_OK)
		abort();
	spec->applet_count = 1;
	spec->name = "com/example/hello";
}

/* Parse, resolve (key files from tmpdir) and check a profile given as text. */
static cpk_status
profile_text(const char *text, struct profile **p, struct cpk_error *err)
{
	struct profile_opts opts = { .keydir = tmpdir };
	cpk_status ret;

	cpk_error_clear(err);
	*p = NULL;
	if ((ret = profile_parse("p.yaml", tmpdir, (const uint8_t *)text, strlen(text), p,
	    err)) != CPK_OK)
		return ret;
	if ((ret = profile_resolve(*p, &opts, err)) == CPK_OK)
		ret = profile_check(*p, err);
	if (ret != CPK_OK)
		profile_free(p);
	return ret;
}

/* A profile that must be refused with exactly this error. */
static void
bad_profile(int line, const char *text, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
bad_profile(int line, const char *text, const char *fmt, ...)
{
	struct cpk_error err;
	struct profile *p = NULL;
	char want[1024], got[1024];
	va_list ap;

	test_check(profile_text(text, &p, &err) != CPK_OK, "profile refused", __FILE__, line);
	test_check(p == NULL, "no partial profile", __FILE__, line);
	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	format_error(&err, got, sizeof(got));
	test_check_str(got, want, "profile error", __FILE__, line);
	profile_free(&p);
}

/* Lines 1-13 of most test profiles; steps continue at line 14. */
#define HEAD \
	"profile: 1\n"				/* 1 */ \
	"name: test\n"				/* 2 */ \
	"security-domain:\n"			/* 3 */ \
	"  aid: A000000151000000\n"		/* 4 */ \
	"  scp: 03\n"				/* 5 */ \
	"  i: 70\n"				/* 6 */ \
	"  kvn: 30\n"				/* 7 */ \
	"  security-level: c-mac\n"		/* 8 */ \
	"keys:\n"				/* 9 */ \
	"  file: aes.yaml\n"			/* 10 */ \
	"steps:\n"				/* 11 */ \
	"  - load:\n"				/* 12 */ \
	"      cap: hello.cap\n"		/* 13 */

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

/* TEST KEYS ONLY: an AES-192 key set, which PUT KEY cannot carry. */
static const char aes192_keys[] =
    "kvn: \"32\"\nalgorithm: aes\n"
    "enc: 404142434445464748494A4B4C4D4E4F5051525354555657\n"
    "mac: 404142434445464748494A4B4C4D4E4F5051525354555657\n"
    "dek: 404142434445464748494A4B4C4D4E4F5051525354555657\n";

static void
setup(void)
{
	struct capgen_spec spec;

	snprintf(tmpdir, sizeof(tmpdir), "%s/cpk-inputs-XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	write_text("aes.yaml", aes_keys, 0600);
	write_text("des.yaml", des_keys, 0600);
	write_text("aes192.yaml", aes192_keys, 0600);
	hello_spec(&spec);
	make_cap("hello.cap", &spec);
}

static void
teardown(void)
{
	char cmd[600];

	/* Our own private folder, made by mkdtemp above. */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (strstr(tmpdir, "cpk-inputs-") != NULL && system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
}

/* --- profiles: schema errors --- */

static void
test_profile_schema_errors(void)
{
	/* 1. unknown key, with the hint for a likely mistake */
	bad_profile(__LINE__, HEAD
	    "  - install:\n"
	    "      aid: " HELLO_APPLET "\n",
	    "p.yaml:15:7: unknown key 'aid' in step 'install' (did you mean 'applet'?)");
	/* 2. unknown key, suggestion by edit distance */
	bad_profile(__LINE__, HEAD
	    "  - install:\n"
	    "      applet: " HELLO_APPLET "\n"
	    "      privilges: [card-reset]\n",
	    "p.yaml:16:7: unknown key 'privilges' in step 'install' (did you mean 'privileges'?)");
	/* 3. duplicate key */
	bad_profile(__LINE__, HEAD
	    "  - install:\n"
	    "      applet: " HELLO_APPLET "\n"
	    "      applet: " HELLO_APPLET "\n",
	    "p.yaml:16:7: duplicate key 'applet' (first given at line 15)");
	/* 4. wrong type */
	bad_profile(__LINE__, HEAD
	    "  - delete:\n"
	    "      aid: " HELLO_PKG "\n"
	    "      related: yes\n",
	    "p.yaml:16:16: 'related' must be true or false, got 'yes'");
	/* 5. out of range */
	bad_profile(__LINE__, HEAD
	    "      block-size: 300\n",
	    "p.yaml:14:19: 'block-size' must be auto, max or a whole number from 1 to 255, got '300'");
	/* 6. missing required key */
	bad_profile(__LINE__, HEAD
	    "  - install:\n"
	    "      instance: " HELLO_APPLET "\n",
	    "p.yaml:15:7: missing required key 'applet' in step 'install'");
	/* 7. unsupported format version */
	bad_profile(__LINE__, "profile: 2\n",
	    "p.yaml:1:10: profile format '2' is not supported (this cardc reads 'profile: 1')");
	/* 8. unknown step kind */
	bad_profile(__LINE__, HEAD
	    "  - instal:\n"
	    "      applet: " HELLO_APPLET "\n",
	    "p.yaml:14:5: unknown step 'instal' (did you mean 'install'?)");
	/* 9. enum value */
	bad_profile(__LINE__,
	    "profile: 1\nname: t\nsecurity-domain:\n  scp: 03\n  i: 70\n  security-level: mac\n"
	    "keys:\n  file: aes.yaml\nsteps:\n  - delete:\n      aid: " HELLO_PKG "\n",
	    "p.yaml:6:19: 'security-level' must be c-mac, c-mac+c-dec, c-mac+r-mac, "
	    "c-mac+c-dec+r-mac or c-mac+c-dec+r-mac+r-enc, got 'mac'");
	/* 9b. the card holder's PIN: both keys, an AID, a byte */
	bad_profile(__LINE__,
	    "profile: 1\nname: t\nsecurity-domain:\n  scp: 03\n  i: 70\n  security-level: c-mac\n"
	    "keys:\n  file: aes.yaml\nholder-pin:\n  aid: A000000151\nsteps:\n  - delete:\n"
	    "      aid: " HELLO_PKG "\n",
	    "p.yaml:10:3: missing required key 'reference' in 'holder-pin'");
	bad_profile(__LINE__,
	    "profile: 1\nname: t\nsecurity-domain:\n  scp: 03\n  i: 70\n  security-level: c-mac\n"
	    "keys:\n  file: aes.yaml\nholder-pin:\n  aid: A0000001\n  reference: 81\nsteps:\n"
	    "  - delete:\n      aid: " HELLO_PKG "\n",
	    "p.yaml:10:8: 'aid' must be 5 to 16 bytes, got 4");
	bad_profile(__LINE__,
	    "profile: 1\nname: t\nsecurity-domain:\n  scp: 03\n  i: 70\n  security-level: c-mac\n"
	    "keys:\n  file: aes.yaml\nholder-pin:\n  aid: A000000151\n  p2: 81\nsteps:\n"
	    "  - delete:\n      aid: " HELLO_PKG "\n",
	    "p.yaml:11:3: unknown key 'p2' in 'holder-pin' (did you mean 'reference'?)");
	/* 10. AID length */
	bad_profile(__LINE__, HEAD
	    "  - delete:\n"
	    "      aid: A0000001\n",
	    "p.yaml:15:12: 'aid' must be 5 to 16 bytes, got 4");
	/* 11. unknown placeholder */
	bad_profile(__LINE__, HEAD
	    "  - apdu:\n"
	    "      header: 80CA9F7F\n"
	    "      data: 00${card.foo}\n",
	    "p.yaml:16:13: unknown placeholder '${card.foo}' in 'data' (known: ${card.serial}, "
	    "${card.cin}, ${card.iin}, ${card.kdd}, ${card.cplc}, ${card.sd-aid}, ${data.NAME}, "
	    "${text:data.NAME})");
	/* 12. unknown privilege */
	bad_profile(__LINE__, HEAD
	    "  - install:\n"
	    "      applet: " HELLO_APPLET "\n"
	    "      privileges: [card-lok]\n",
	    "p.yaml:16:20: unknown privilege 'card-lok' (did you mean 'card-lock'?)");
	/* 13. YAML syntax */
	bad_profile(__LINE__, "profile: 1\nname: [unclosed\n",
	    "p.yaml:3:1: YAML syntax error: did not find expected ',' or ']' while parsing a flow "
	    "sequence");
	/* 14. put-key needs replace or add */
	bad_profile(__LINE__, HEAD
	    "  - put-key:\n"
	    "      file: new.yaml\n",
	    "p.yaml:15:7: step 'put-key' needs 'replace: KVN' (the key version it replaces) or "
	    "'add: true'");
	/* 15. install with nothing to install from */
	bad_profile(__LINE__,
	    "profile: 1\nname: t\nsecurity-domain:\n  scp: 03\n  i: 70\n  security-level: c-mac\n"
	    "keys:\n  file: aes.yaml\nsteps:\n  - install:\n      applet: " HELLO_APPLET "\n",
	    "p.yaml:10:5: step 'install' needs 'package': no load step comes before it");
	/* 16. a BER-TLV tag in a DGI store-data step */
	bad_profile(__LINE__, HEAD
	    "  - store-data:\n"
	    "      format: dgi\n"
	    "      items:\n"
	    "        - tag: 5F20\n"
	    "          value: \"00\"\n",
	    "p.yaml:17:11: 'tag' in a store-data item of format 'dgi' (use 'dgi')");
	/* 17. odd hex in a value template */
	bad_profile(__LINE__, HEAD
	    "  - store-data:\n"
	    "      format: ber-tlv\n"
	    "      items:\n"
	    "        - tag: 5F20\n"
	    "          value: 123${card.cin}\n",
	    "p.yaml:18:18: 'value' has an odd number of hex digits at position 1");
	/* 18. aliases are refused */
	bad_profile(__LINE__, "profile: 1\nname: &n test\n",
	    "p.yaml:2:7: YAML anchors and tags are not supported in the value of 'name'");
}

/* --- profiles: the semantic pass --- */

/* An apdu step with 'capture: NAME' at line 16, column 16 (after HEAD). */
#define CAPTURE_STEP(name) \
	"  - apdu:\n"				/* 14 */ \
	"      header: \"80CA9F7F\"\n"		/* 15 */ \
	"      capture: " name "\n"		/* 16 */

/* 'capture: NAME': syntax, length, uniqueness, count, only on apdu steps. */
static void
test_profile_capture_errors(void)
{
	char text[4096];
	size_t i;

	bad_profile(__LINE__, HEAD CAPTURE_STEP("Pub"),
	    "p.yaml:16:16: capture name 'Pub': use a-z, 0-9, '_' and '-', starting with a "
	    "letter or digit");
	bad_profile(__LINE__, HEAD CAPTURE_STEP("_pub"),
	    "p.yaml:16:16: capture name '_pub': use a-z, 0-9, '_' and '-', starting with a "
	    "letter or digit");
	bad_profile(__LINE__, HEAD CAPTURE_STEP("abcdefghijklmnopqrstuvwxyz0123456"),
	    "p.yaml:16:16: 'capture' is too long (33 characters, at most 32)");
	bad_profile(__LINE__, HEAD CAPTURE_STEP("pubkey")
	    "  - apdu:\n"				/* 17 */
	    "      header: \"80CA9F7F\"\n"		/* 18 */
	    "      capture: pubkey\n",		/* 19 */
	    "p.yaml:19:16: capture 'pubkey' is already the name of step 2's response");
	bad_profile(__LINE__, HEAD
	    "  - install:\n"
	    "      applet: " HELLO_APPLET "\n"
	    "      capture: pubkey\n",
	    "p.yaml:16:7: unknown key 'capture' in step 'install'");
	/* 17 captures: one too many (the 17th apdu step's capture is at line 14 + 3 * 16 + 2). */
	snprintf(text, sizeof(text), "%s", HEAD);
	for (i = 0; i < CPK_CAPTURE_MAX + 1; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text),
		    "  - apdu:\n      header: \"80CA9F7F\"\n      capture: c%zu\n", i);
	bad_profile(__LINE__, text, "p.yaml:%d:16: capture 'c%d' is one too many: a profile "
	    "keeps at most %d responses", 14 + 3 * CPK_CAPTURE_MAX + 2, CPK_CAPTURE_MAX,
	    CPK_CAPTURE_MAX);
}

static void
test_profile_semantic_errors(void)
{
	struct capgen_spec spec;

	/* 19. offline for an i without a predictable challenge */
	bad_profile(__LINE__,
	    "profile: 1\nname: t\nsecurity-domain:\n  scp: 02\n  i: 15\n  security-level: c-mac\n"
	    "  mode: offline\nkeys:\n  file: des.yaml\nsteps:\n  - delete:\n      aid: " HELLO_PKG "\n",
	    "p.yaml:7:9: an offline bundle needs a predictable card challenge, but SCP02 i=15 "
	    "gives a random one (no pseudo-random bit 40): use 'mode: session' with a live "
	    "INITIALIZE UPDATE exchange in the card record");
	/* 20. a security level the i does not allow */
	bad_profile(__LINE__,
	    "profile: 1\nname: t\nsecurity-domain:\n  scp: 02\n  i: 15\n"
	    "  security-level: c-mac+r-mac\n"
	    "keys:\n  file: des.yaml\nsteps:\n  - delete:\n      aid: " HELLO_PKG "\n",
	    "p.yaml:6:19: security level 11 asks for R-MAC but SCP02 i=15 does not support it");
	/* 21. a block size the channel cannot carry */
	bad_profile(__LINE__,
	    "profile: 1\nname: t\nsecurity-domain:\n  scp: 03\n  i: 70\n"
	    "  security-level: c-mac+c-dec\n"
	    "keys:\n  file: aes.yaml\nsteps:\n  - load:\n      cap: hello.cap\n"
	    "      block-size: 240\n",
	    "p.yaml:12:19: 'block-size' 240 does not fit the secure channel: at security level "
	    "03 (c-mac+c-dec) a command carries at most 239 bytes of data (write 'auto')");
	/* 22. an applet that is not in the loaded CAP */
	bad_profile(__LINE__, HEAD
	    "  - install:\n"
	    "      applet: F043504B48454C4C4F02\n",
	    "p.yaml:15:15: applet F043504B48454C4C4F02 is not in the CAP file loaded by step 1 "
	    "(hello.cap); its applets: F043504B48454C4C4F01");
	/* 23. per-card data the profile does not declare */
	bad_profile(__LINE__, HEAD
	    "  - store-data:\n"
	    "      format: dgi\n"
	    "      items:\n"
	    "        - dgi: \"0101\"\n"
	    "          value: ${data.pin}\n",
	    "p.yaml:18:18: placeholder '${data.pin}' names per-card data 'pin', which the "
	    "profile does not declare (add it to 'data')");
	/* 24. the same instance installed twice */
	bad_profile(__LINE__, HEAD
	    "  - install:\n"
	    "      applet: " HELLO_APPLET "\n"
	    "  - install:\n"
	    "      applet: " HELLO_APPLET "\n",
	    "p.yaml:17:15: instance F043504B48454C4C4F01 is already installed by step 2 "
	    "(delete it first)");
	/* 25. more than 256 LOAD blocks */
	hello_spec(&spec);
	spec.lfdb_size = 3000;
	make_cap("big.cap", &spec);
	bad_profile(__LINE__,
	    "profile: 1\nname: t\nsecurity-domain:\n  scp: 03\n  i: 70\n  security-level: c-mac\n"
	    "keys:\n  file: aes.yaml\nsteps:\n  - load:\n      cap: big.cap\n"
	    "      block-size: 10\n",
	    "p.yaml:12:19: the load file of 3004 bytes needs 301 LOAD commands of 10 bytes; at "
	    "most 256 are possible (block numbers 00-FF)");
	/* 26. SCP03 with a 3DES key file */
	bad_profile(__LINE__,
	    "profile: 1\nname: t\nsecurity-domain:\n  scp: 03\n  i: 70\n  security-level: c-mac\n"
	    "keys:\n  file: des.yaml\nsteps:\n  - delete:\n      aid: " HELLO_PKG "\n",
	    "p.yaml:8:9: SCP03 needs an AES-128, -192 or -256 key set, but key file '%s' "
	    "holds 16-byte 3DES keys",
	    tpath("des.yaml"));
	/* 26b. SCP02 with an AES key file: the protocol's table entry says what it needs */
	bad_profile(__LINE__,
	    "profile: 1\nname: t\nsecurity-domain:\n  scp: 02\n  i: 55\n  security-level: c-mac\n"
	    "keys:\n  file: aes.yaml\nsteps:\n  - delete:\n      aid: " HELLO_PKG "\n",
	    "p.yaml:8:9: SCP02 needs a 16-byte 3DES key set, but key file '%s' "
	    "holds 16-byte AES keys", tpath("aes.yaml"));
	/* 26c. PUT KEY of an AES-192 key set over SCP03 */
	bad_profile(__LINE__,
	    "profile: 1\nname: t\nsecurity-domain:\n  scp: 03\n  i: 70\n  security-level: c-mac\n"
	    "keys:\n  file: aes.yaml\nsteps:\n  - put-key: {file: aes192.yaml, add: true}\n",
	    "p.yaml:10:21: SCP03 PUT KEY of a 24-byte key is not supported (AES-128 or AES-256) "
	    "(key file '%s')", tpath("aes192.yaml"));
	/* 27. key version of the profile and the key file differ */
	bad_profile(__LINE__,
	    "profile: 1\nname: t\nsecurity-domain:\n  scp: 03\n  i: 70\n  kvn: 31\n"
	    "  security-level: c-mac\n"
	    "keys:\n  file: aes.yaml\nsteps:\n  - delete:\n      aid: " HELLO_PKG "\n",
	    "p.yaml:9:9: the security domain uses key version 31, but key file '%s' holds "
	    "version 30", tpath("aes.yaml"));
	/* 28. Descriptor asked for, CAP has none */
	hello_spec(&spec);
	spec.descriptor = false;
	make_cap("nodesc.cap", &spec);
	bad_profile(__LINE__,
	    "profile: 1\nname: t\nsecurity-domain:\n  scp: 03\n  i: 70\n  security-level: c-mac\n"
	    "keys:\n  file: aes.yaml\nsteps:\n  - load:\n      cap: nodesc.cap\n",
	    "p.yaml:11:12: CAP '%s' has no Descriptor component to include in the load file "
	    "(use 'descriptor: exclude')", tpath("nodesc.cap"));
	/* 29. a CAP file that is not there */
	bad_profile(__LINE__,
	    "profile: 1\nname: t\nsecurity-domain:\n  scp: 03\n  i: 70\n  security-level: c-mac\n"
	    "keys:\n  file: aes.yaml\nsteps:\n  - load:\n      cap: missing.cap\n",
	    "p.yaml:11:12: cannot open CAP file 'missing.cap' in the profile's folder: No such "
	    "file or directory");
	/* 30. master keys with no diversification anywhere */
	write_text("master.yaml", "kvn: \"30\"\nalgorithm: aes\n"
	    "master: 404142434445464748494A4B4C4D4E4F\n", 0600);
	bad_profile(__LINE__,
	    "profile: 1\nname: t\nsecurity-domain:\n  scp: 03\n  i: 70\n  security-level: c-mac\n"
	    "keys:\n  file: master.yaml\nsteps:\n  - delete:\n      aid: " HELLO_PKG "\n",
	    "p.yaml:8:9: key file '%s' holds master keys but no diversification is named (emv, "
	    "visa2 or kdf3, in the key file or the profile)", tpath("master.yaml"));
	/* 31. the profile asks for no diversification of master keys */
	bad_profile(__LINE__,
	    "profile: 1\nname: t\nsecurity-domain:\n  scp: 03\n  i: 70\n  security-level: c-mac\n"
	    "keys:\n  file: master.yaml\n  diversification: none\nsteps:\n  - delete:\n"
	    "      aid: " HELLO_PKG "\n",
	    "p.yaml:8:9: the profile asks for diversification 'none' but key file '%s' holds "
	    "master keys, which need emv, visa2 or kdf3", tpath("master.yaml"));
	test_profile_capture_errors();
}

/* --- profiles: valid --- */

static void
test_profile_valid(void)
{
	static const char text[] =
	    "profile: 1\n"
	    "name: all steps\n"
	    "description: every step kind once\n"
	    "security-domain:\n"
	    "  scp: 03\n"
	    "  i: 70\n"
	    "  security-level: c-mac+c-dec\n"
	    "keys:\n"
	    "  file: aes.yaml\n"
	    "data: [pin, holder]\n"
	    "steps:\n"
	    "  - delete: {aid: " HELLO_PKG ", related: true, missing-ok: true}\n"
	    "  - load:\n"
	    "      cap: hello.cap\n"
	    "      descriptor: exclude\n"
	    "      hash: sha1\n"
	    "      load-parameters: {code: 1024, nvdata: 256}\n"
	    "  - install:\n"
	    "      applet: " HELLO_APPLET "\n"
	    "      instance: " HELLO_APPLET "02\n"
	    "      privileges: [card-reset, global-registry]\n"
	    "      params: \"AABB\"\n"
	    "      system-params: C7020100\n"
	    "      combined: false\n"
	    "  - store-data:\n"
	    "      instance: " HELLO_APPLET "02\n"
	    "      format: ber-tlv\n"
	    "      items:\n"
	    "        - {tag: 5F20, value: \"${text:data.holder}\"}\n"
	    "        - {tag: 9F7F, value: \"01${data.pin}\", encrypt: true}\n"
	    "  - put-key: {file: aes.yaml, add: true}\n"
	    "  - apdu:\n"
	    "      label: status\n"
	    "      header: 80F24000\n"
	    "      data: 4F00\n"
	    "      le: \"00\"\n"
	    "      accept: [\"9000\", \"6310\"]\n";
	struct cpk_error err;
	struct profile *p = NULL;
	const struct profile_step *s;
	uint8_t want_hash[20];
	unsigned int hlen;

	if (!CHECK_OK(profile_text(text, &p, &err))) {
		fprintf(stderr, "  %s:%u:%u: %s\n", err.file, err.line, err.col, err.msg);
		return;
	}
	CHECK_STR(p->name, "all steps");
	CHECK(p->sd.scp == SCP03 && p->sd.i == 0x70 && p->sd.level == 0x03);
	CHECK(p->sd.mode == PROFILE_MODE_OFFLINE && !p->sd.mode_given && !p->sd.has_aid);
	CHECK(p->keys.set != NULL && p->keys.set->keys.kvn == 0x30);
	CHECK(p->ndata == 2 && p->nsteps == 6);
	s = &p->steps[0];
	CHECK(s->kind == PROFILE_STEP_DELETE && s->u.del.related && s->u.del.missing_ok);
	CHECK(s->naccept == 2 && s->accept[0] == 0x9000 && s->accept[1] == 0x6A88);
	s = &p->steps[1];
	CHECK(s->kind == PROFILE_STEP_LOAD && !s->u.load.descriptor);
	CHECK_HEX(s->u.load.params, s->u.load.params_len, "EF08C6020400C8020100");
	CHECK_HEX(s->u.load.package.b, s->u.load.package.len, HELLO_PKG);
	CHECK(s->u.load.block == 239);
	EVP_Digest(s->u.load.lfdb.data, s->u.load.lfdb.len, want_hash, &hlen, EVP_sha1(), NULL);
	CHECK_MEM(s->u.load.lfdb_hash, s->u.load.lfdb_hash_len, want_hash, hlen);
	s = &p->steps[2];
	CHECK(s->kind == PROFILE_STEP_INSTALL && s->u.install.load_step == 1);
	CHECK_HEX(s->u.install.package.b, s->u.install.package.len, HELLO_PKG);
	CHECK_HEX(s->u.install.instance.b, s->u.install.instance.len, HELLO_APPLET "02");
	CHECK_HEX(s->u.install.privileges, s->u.install.privileges_len, "040400");
	CHECK_HEX(s->u.install.params, s->u.install.params_len, "AABB");
	CHECK(s->u.install.has_system_params && s->u.install.selectable && !s->u.install.combined);
	s = &p->steps[3];
	CHECK(s->kind == PROFILE_STEP_STORE_DATA && s->u.store.format == GP_STORE_BER_TLV);
	CHECK(s->u.store.nitems == 2 && s->u.store.items[1].id == 0x9F7F &&
	    s->u.store.items[1].encrypt);
	s = &p->steps[4];
	CHECK(s->kind == PROFILE_STEP_PUT_KEY && !s->u.put_key.replace && s->u.put_key.version == 0x30);
	s = &p->steps[5];
	CHECK(s->kind == PROFILE_STEP_APDU && s->u.apdu.has_le && s->u.apdu.ne == 256);
	CHECK_STR(s->label, "status");
	CHECK(s->naccept == 2 && s->accept[1] == 0x6310);
	/* A one-card compile drops the load file's copies; the rest stays. */
	profile_free_load_data(p);
	s = &p->steps[1];
	CHECK(s->u.load.cap == NULL && s->u.load.lfdb.data == NULL && s->u.load.lfdb.len == 0);
	CHECK(s->u.load.load_file.data == NULL && s->u.load.load_file.len == 0);
	CHECK_HEX(s->u.load.package.b, s->u.load.package.len, HELLO_PKG);
	CHECK(p->nsteps == 6 && p->steps[2].kind == PROFILE_STEP_INSTALL);
	profile_free(&p);
	CHECK(p == NULL);
}

/*
 * load-parameters: auto: code (C6) is the LFDB as loaded, nvdata (C8) the
 * Directory's static field image and array sizes; numbers and auto mix; vdata
 * cannot be auto.
 */
static void
test_profile_load_params_auto(void)
{
	struct cpk_error err;
	struct profile *p = NULL;
	const struct profile_load *l;
	char want[64];
	size_t dir, image;

	if (!CHECK_OK(profile_text(HEAD "      load-parameters: auto\n", &p, &err))) {
		fprintf(stderr, "  %s:%u:%u: %s\n", err.file, err.line, err.col, err.msg);
		return;
	}
	l = &p->steps[0].u.load;
	/* The Directory follows the Header; CAP 2.1: image_size after 11 u2 sizes. */
	dir = 3 + (((size_t)l->lfdb.data[1] << 8) | l->lfdb.data[2]);
	CHECK(l->lfdb.data[dir] == 0x02);
	image = ((size_t)l->lfdb.data[dir + 3 + 22] << 8) | l->lfdb.data[dir + 3 + 23];
	image += ((size_t)l->lfdb.data[dir + 3 + 26] << 8) | l->lfdb.data[dir + 3 + 27];
	CHECK(image > 0 && l->lfdb.len > 255 && l->lfdb.len < 65536);
	snprintf(want, sizeof(want), "EF08C602%04zXC802%04zX", l->lfdb.len, image);
	CHECK_HEX(l->params, l->params_len, want);
	profile_free(&p);

	/* Without the Descriptor the code size shrinks; vdata given, nvdata absent. */
	if (!CHECK_OK(profile_text(HEAD "      descriptor: exclude\n"
	    "      load-parameters: {code: auto, vdata: 512}\n", &p, &err)))
		return;
	l = &p->steps[0].u.load;
	snprintf(want, sizeof(want), "EF08C602%04zXC7020200", l->lfdb.len);
	CHECK_HEX(l->params, l->params_len, want);
	profile_free(&p);

	bad_profile(__LINE__, HEAD "      load-parameters: {code: auto, vdata: auto}\n",
	    "p.yaml:14:44: 'vdata' cannot be auto: a CAP file does not say how much transient "
	    "memory its applets allocate (give a number)");
	bad_profile(__LINE__, HEAD "      load-parameters: [auto]\n",
	    "p.yaml:14:24: 'load-parameters' must be hex, auto or a mapping of code, vdata and "
	    "nvdata sizes");
}

/* The table steps: the plain command each builds, and their errors. */
static void
test_profile_table_steps(void)
{
	struct cpk_error err;
	struct profile *p = NULL;
	const struct profile_cmd *cmd;

	if (!CHECK_OK(profile_text(HEAD
	    "  - set-status: {card: initialized}\n"
	    "  - set-status: {application: " HELLO_APPLET ", state: locked}\n"
	    "  - set-status: {application: " HELLO_APPLET ", state: unlocked, label: open}\n"
	    "  - delete-key: {version: 31, id: 02, missing-ok: true}\n"
	    "  - delete-key: {version: 32}\n"
	    "  - extradite: {application: " HELLO_APPLET ", security-domain: A000000151000000}\n"
	    "  - registry-update: {application: " HELLO_APPLET ", privileges: [card-reset]}\n"
	    "  - registry-update: {application: " HELLO_APPLET ", system-params: CF0101}\n",
	    &p, &err))) {
		fprintf(stderr, "  %s:%u:%u: %s\n", err.file, err.line, err.col, err.msg);
		return;
	}
	CHECK(p->nsteps == 9 && p->steps[1].kind == PROFILE_STEP_CMD);
	cmd = &p->steps[1].u.cmd;
	CHECK_HEX(cmd->header, 4, "80F08007");
	CHECK(cmd->len == 0 && !cmd->has_aid);
	CHECK_STR(profile_step_title(&p->steps[1]), "set-status");
	cmd = &p->steps[2].u.cmd;
	CHECK_HEX(cmd->header, 4, "80F04080");
	CHECK_HEX(cmd->data, cmd->len, HELLO_APPLET);
	CHECK_HEX(p->steps[3].u.cmd.header, 4, "80F04000");
	CHECK_STR(p->steps[3].label, "open");
	cmd = &p->steps[4].u.cmd;
	CHECK_HEX(cmd->header, 4, "80E40000");
	CHECK_HEX(cmd->data, cmd->len, "D00102D20131");
	CHECK(p->steps[4].naccept == 2 && p->steps[4].accept[1] == 0x6A88);
	CHECK_HEX(p->steps[5].u.cmd.data, p->steps[5].u.cmd.len, "D20132");
	CHECK(p->steps[5].naccept == 1);
	cmd = &p->steps[6].u.cmd;
	CHECK_HEX(cmd->header, 4, "80E61000");
	CHECK_HEX(cmd->data, cmd->len, "08A00000015100000000" "0A" HELLO_APPLET "000000");
	cmd = &p->steps[7].u.cmd;
	CHECK_HEX(cmd->header, 4, "80E64000");
	CHECK_HEX(cmd->data, cmd->len, "0000" "0A" HELLO_APPLET "0104" "00" "00");
	cmd = &p->steps[8].u.cmd;
	CHECK_HEX(cmd->data, cmd->len, "0000" "0A" HELLO_APPLET "00" "05EF03CF0101" "00");
	profile_free(&p);

	bad_profile(__LINE__, HEAD "  - set-status: {state: locked}\n",
	    "p.yaml:14:17: step 'set-status' needs either 'card' (its life cycle) or "
	    "'application' (with 'state'), not neither");
	bad_profile(__LINE__, HEAD "  - set-status: {card: secured, application: "
	    HELLO_APPLET "}\n",
	    "p.yaml:14:17: step 'set-status' needs either 'card' (its life cycle) or "
	    "'application' (with 'state'), not both");
	bad_profile(__LINE__, HEAD "  - set-status: {card: secured, state: locked}\n",
	    "p.yaml:14:40: 'state' is for an application; the card's new state is the value "
	    "of 'card'");
	bad_profile(__LINE__, HEAD "  - set-status: {application: " HELLO_APPLET "}\n",
	    "p.yaml:14:17: step 'set-status' of an application needs 'state' (locked or "
	    "unlocked)");
	bad_profile(__LINE__, HEAD "  - set-status: {card: ready}\n",
	    "p.yaml:14:24: 'card' must be initialized, secured, locked or terminated, got "
	    "'ready'");
	bad_profile(__LINE__, HEAD "  - delete-key: {version: 80}\n",
	    "p.yaml:14:27: 'version' must be a key version from 01 to 7F, not 80");
	bad_profile(__LINE__, HEAD "  - delete-key: {version: 31, id: 00}\n",
	    "p.yaml:14:35: 'id' must be a key identifier from 01 to 7F, not 00");
	bad_profile(__LINE__, HEAD "  - delete-key: {version: 30}\n",
	    "p.yaml:14:5: step 'delete-key' deletes key version 30, the key set this bundle's "
	    "secure channel uses: the card would refuse every later command (open the channel "
	    "with another key version)");
	bad_profile(__LINE__, HEAD "  - delete-key: {kvn: 31}\n",
	    "p.yaml:14:18: unknown key 'kvn' in step 'delete-key' (did you mean 'version'?)");
	bad_profile(__LINE__, HEAD "  - extradite: {application: " HELLO_APPLET
	    ", security-domain: " HELLO_APPLET "}\n",
	    "p.yaml:14:69: step 'extradite' names the same AID as application and security "
	    "domain");
	bad_profile(__LINE__, HEAD "  - registry-update: {application: " HELLO_APPLET "}\n",
	    "p.yaml:14:22: step 'registry-update' changes nothing: give 'privileges', "
	    "'system-params' or both");
	bad_profile(__LINE__, HEAD "  - set-state: {card: secured}\n",
	    "p.yaml:14:5: unknown step 'set-state' (did you mean 'set-status'?)");
}

/* An RSA key pair: the private key as PEM in the test folder, as `name` (mode 0600) and `open` (0644). */
static EVP_PKEY *
make_rsa_key(unsigned bits, const char *name, const char *open)
{
	EVP_PKEY *key = EVP_RSA_gen(bits);
	BIO *bio = BIO_new(BIO_s_mem());
	char *pem = NULL;
	long n;
	char *text;

	if (key == NULL || bio == NULL ||
	    PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) != 1 ||
	    (n = BIO_get_mem_data(bio, &pem)) <= 0 || (text = malloc((size_t)n + 1)) == NULL)
		abort();
	memcpy(text, pem, (size_t)n);	/* the BIO's bytes are not NUL-terminated */
	text[n] = '\0';
	write_text(name, text, 0600);
	write_text(open, text, 0644);
	free(text);
	BIO_free(bio);
	return key;
}

static EVP_PKEY *
make_dap_key(void)
{
	return make_rsa_key(2048, "dap.pem", "dap-open.pem");
}

/*
 * load ... dap: the load file starts with E2 { 4F SD, C3 signature } and the
 * signature (RSA PKCS#1 v1.5, SHA-256) verifies over the LFDB hash; errors.
 */
static void
test_profile_dap(void)
{
	EVP_PKEY *key = make_dap_key();
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	struct cpk_error err;
	struct profile *p = NULL;
	const struct profile_load *l;

	if (!CHECK_OK(profile_text(HEAD "      hash: sha256\n      dap: {key: dap.pem}\n", &p,
	    &err))) {
		fprintf(stderr, "  %s:%u:%u: %s\n", err.file, err.line, err.col, err.msg);
		goto out;
	}
	l = &p->steps[0].u.load;
	CHECK(l->load_file.len == 4 + 10 + 4 + 256 + 4 + l->lfdb.len);
	CHECK_HEX(l->load_file.data, 18, "E282010E4F08A000000151000000C3820100");
	CHECK(l->load_file.data[274] == 0xC4);
	CHECK(md != NULL && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
	    EVP_DigestVerify(md, l->load_file.data + 18, 256, l->lfdb_hash,
	    l->lfdb_hash_len) == 1);
	profile_free(&p);
	/* Another security domain's DAP block. */
	if (CHECK_OK(profile_text(HEAD "      hash: sha1\n"
	    "      dap: {key: dap.pem, security-domain: A000000151535041}\n", &p, &err)))
		CHECK_HEX(p->steps[0].u.load.load_file.data, 14, "E282010E4F08A000000151535041");
	profile_free(&p);

	bad_profile(__LINE__, HEAD "      dap: {key: dap.pem}\n",
	    "p.yaml:14:12: 'dap' signs the load file data block hash: the load step needs "
	    "'hash: sha1' or 'hash: sha256'");
	bad_profile(__LINE__, HEAD "      dap: dap.pem\n",
	    "p.yaml:14:12: 'dap' must be a mapping: key (a DAP key file) and security-domain");
	bad_profile(__LINE__, HEAD "      hash: sha256\n      dap: {file: dap.pem}\n",
	    "p.yaml:15:13: unknown key 'file' in 'dap' (did you mean 'key'?)");
	bad_profile(__LINE__, HEAD "      hash: sha256\n      dap: {key: dap-open.pem}\n",
	    "p.yaml:15:18: DAP key '%s/dap-open.pem' has mode 0644: a key file must be "
	    "accessible by its owner only (chmod 600 '%s/dap-open.pem')", tmpdir, tmpdir);
	bad_profile(__LINE__, HEAD "      hash: sha256\n      dap: {key: aes.yaml}\n",
	    "p.yaml:15:18: DAP key '%s/aes.yaml' is not a PEM private key", tmpdir);
	bad_profile(__LINE__,
	    "profile: 1\nname: t\nsecurity-domain:\n  scp: 03\n  i: 70\n  security-level: c-mac\n"
	    "keys:\n  file: aes.yaml\nsteps:\n  - load:\n      cap: hello.cap\n"
	    "      hash: sha256\n      dap: {key: dap.pem}\n",
	    "p.yaml:13:12: 'dap' needs 'security-domain': the profile names no security domain "
	    "AID");
out:
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(key);
}

/* --- delegated management (dm.h) --- */

/* The token at tok[0..n) verifies over P1 P2 L data[0..len) with key (SHA-1). */
static bool
token_verifies(EVP_PKEY *key, uint8_t p1, uint8_t p2, const uint8_t *data, size_t len,
    const uint8_t *tok, size_t n)
{
	uint8_t tdata[300];
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	bool ok;

	tdata[0] = p1, tdata[1] = p2, tdata[2] = (uint8_t)len;
	memcpy(tdata + 3, data, len);
	ok = md != NULL && EVP_DigestVerifyInit(md, NULL, EVP_sha1(), NULL, key) == 1 &&
	    EVP_DigestVerify(md, tok, n, tdata, len + 3) == 1;
	EVP_MD_CTX_free(md);
	return ok;
}

/*
 * dm_add_token: an INSTALL's empty token becomes len token, a DELETE gets
 * 9E 81 80 token; the token verifies over P1 P2 L and the data before it;
 * other commands are left alone; every error.
 */
static void
test_dm_tokens(void)
{
	EVP_PKEY *key = make_rsa_key(1024, "token.pem", "token-open.pem");
	EVP_PKEY *big = make_rsa_key(2048, "token2048.pem", "token2048-open.pem");
	struct cpk_buf b = CPK_BUF_INIT, plain = CPK_BUF_INIT;
	struct gp_install in;
	struct gp_aid aid;
	struct cpk_error err;
	struct dm_command dc;
	uint8_t raw[40];
	size_t n;

	memset(&in, 0, sizeof(in));
	n = test_unhex(HELLO_PKG, raw, sizeof(raw));
	CHECK_OK(gp_aid_set(&in.package, raw, n, &err));
	n = test_unhex(HELLO_APPLET, raw, sizeof(raw));
	CHECK_OK(gp_aid_set(&in.module, raw, n, &err));
	CHECK_OK(gp_aid_set(&in.instance, raw, n, &err));
	in.privileges_len = 1;
	CHECK_OK(gp_cmd_install(GP_INSTALL_FOR_INSTALL_AND_SELECTABLE, &in, &plain, &err));
	CHECK(plain.data[plain.len - 1] == 0x00);
	CHECK_OK(cpk_buf_append(&b, plain.data, plain.len, &err));
	CHECK_OK(dm_add_token(tpath("token.pem"), &b, &err));
	CHECK(b.len == plain.len + 128 && b.data[4] == plain.data[4] + 128);
	CHECK(b.data[plain.len - 1] == 0x80);
	CHECK(memcmp(b.data, plain.data, 4) == 0 &&
	    memcmp(b.data + 5, plain.data + 5, plain.len - 6) == 0);
	CHECK(token_verifies(key, 0x0C, 0x00, plain.data + 5, plain.len - 6, b.data + plain.len,
	    128));
	CHECK_OK(dm_command_parse(b.data[1], b.data[2], b.data + 5, b.len - 5, &dc, &err));
	CHECK(dc.kind == DM_INSTALL && dc.token_len == 128 && dc.naids == 2 &&
	    dc.signed_len == plain.len - 6 && dc.aid_len[1] == 10);
	/* cardc check: zeros of the size of an RSA-1024 token. */
	cpk_buf_reset(&b);
	CHECK_OK(cpk_buf_append(&b, plain.data, plain.len, &err));
	CHECK_OK(dm_add_token(NULL, &b, &err));
	CHECK(b.len == plain.len + 128 && b.data[b.len - 1] == 0x00);

	/* DELETE: 4F AID 9E 81 80 token. */
	CHECK_OK(gp_aid_set(&aid, raw, n, &err));
	CHECK_OK(gp_cmd_delete(&aid, false, &plain, &err));
	cpk_buf_reset(&b);
	CHECK_OK(cpk_buf_append(&b, plain.data, plain.len, &err));
	CHECK_OK(dm_add_token(tpath("token.pem"), &b, &err));
	CHECK(b.len == plain.len + 3 + 128 && b.data[4] == 12 + 3 + 128);
	CHECK_HEX(b.data + plain.len, 3, "9E8180");
	CHECK(token_verifies(key, 0x00, 0x00, plain.data + 5, plain.len - 5, b.data + plain.len + 3,
	    128));
	CHECK_OK(dm_command_parse(0xE4, 0x00, b.data + 5, b.len - 5, &dc, &err));
	CHECK(dc.kind == DM_DELETE && dc.signed_len == 12 && dc.token_len == 128);

	/* INSTALL [for registry update]: its empty token becomes 80 token. */
	n = test_unhex("80E6400016" "0000" "0A" HELLO_APPLET "0104" "05EF03CF0101" "00", raw,
	    sizeof(raw));
	cpk_buf_reset(&b);
	CHECK_OK(cpk_buf_append(&b, raw, n, &err));
	CHECK_OK(dm_add_token(tpath("token.pem"), &b, &err));
	CHECK(b.len == n + 128 && b.data[4] == 0x16 + 128 && b.data[n - 1] == 0x80);
	CHECK(token_verifies(key, 0x40, 0x00, raw + 5, n - 6, b.data + n, 128));
	CHECK_OK(dm_command_parse(0xE6, 0x40, b.data + 5, b.len - 5, &dc, &err));
	CHECK(dc.kind == DM_REGISTRY_UPDATE && dc.token_len == 128 && dc.signed_len == n - 6);
	n = test_unhex(HELLO_APPLET, raw, sizeof(raw));

	/* Not a delegated operation (INSTALL [for personalization]): unchanged. */
	CHECK_OK(gp_cmd_install_for_personalization(&aid, &plain, &err));
	cpk_buf_reset(&b);
	CHECK_OK(cpk_buf_append(&b, plain.data, plain.len, &err));
	CHECK_OK(dm_add_token(tpath("token.pem"), &b, &err));
	CHECK_MEM(b.data, b.len, plain.data, plain.len);

	/* Errors. */
	cpk_buf_reset(&b);
	CHECK_OK(cpk_buf_append(&b, plain.data, plain.len, &err));
	CHECK_OK(cpk_buf_append_byte(&b, 0x00, &err));
	CHECK_STATUS(dm_add_token(tpath("token.pem"), &b, &err), CPK_ERR_ARG);
	CHECK_STR(err.msg, "a token goes into a short case 3 command");
	CHECK_OK(gp_cmd_delete(&aid, false, &plain, &err));
	cpk_buf_reset(&b);
	CHECK_OK(cpk_buf_append(&b, plain.data, plain.len, &err));
	CHECK_STATUS(dm_add_token(tpath("token2048.pem"), &b, &err), CPK_ERR_RANGE);
	CHECK_STR(err.msg, "a 256-byte token makes a 272-byte command data field (at most 255): "
	    "use an RSA-1024 token key");
	CHECK_STATUS(dm_add_token(tpath("token-open.pem"), &b, &err), CPK_ERR_PERMISSION);
	CHECK_MSG(&err, "has mode 0644: a key file must be accessible by its owner only");
	CHECK_STATUS(dm_add_token(tpath("aes.yaml"), &b, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "token key '");
	CHECK_MSG(&err, "aes.yaml' is not a PEM private key");
	/* Untrusted commands: fields that do not fill the data, a DELETE with junk. */
	CHECK_STATUS(dm_command_parse(0xE6, 0x02, (const uint8_t *)"\x05\x01", 2, &dc, &err),
	    CPK_ERR_PARSE);
	CHECK_STR(err.msg, "INSTALL P1 02: field 1 of 5 is truncated");
	CHECK_STATUS(dm_command_parse(0xE6, 0x08, (const uint8_t *)"\0\0\0\0\0\0\x01", 7, &dc,
	    &err), CPK_ERR_PARSE);
	CHECK_STR(err.msg, "INSTALL P1 08: 1 bytes after the token");
	CHECK_STATUS(dm_command_parse(0xE4, 0x00, (const uint8_t *)"\x4F\x05\x01\x02\x03\x04"
	    "\x05\xC9\x00", 9, &dc, &err), CPK_ERR_PARSE);
	CHECK_STR(err.msg, "DELETE data must be 4F <AID>, then optionally B6 <control reference "
	    "template> and 9E <token>");
	/* A DELETE's AID: 5 to 16 bytes, held before any receipt data is built from it. */
	CHECK_STATUS(dm_command_parse(0xE4, 0x00, (const uint8_t *)"\x4F\x04\x01\x02\x03\x04",
	    6, &dc, &err), CPK_ERR_PARSE);
	CHECK_STR(err.msg, "DELETE: the AID (4F) has 4 bytes (5 to 16)");
	n = test_unhex("4F11" HELLO_APPLET "01020304050607", raw, sizeof(raw));
	CHECK_STATUS(dm_command_parse(0xE4, 0x00, raw, n, &dc, &err), CPK_ERR_PARSE);
	CHECK_STR(err.msg, "DELETE: the AID (4F) has 17 bytes (5 to 16)");
	n = test_unhex("4F10" HELLO_APPLET "010203040506", raw, sizeof(raw));
	CHECK_OK(dm_command_parse(0xE4, 0x00, raw, n, &dc, &err));
	CHECK(dc.kind == DM_DELETE && dc.aid_len[0] == 16);
	n = test_unhex("4F0501020304059E00", raw, sizeof(raw));
	CHECK_OK(dm_command_parse(0xE4, 0x00, raw, n, &dc, &err));
	CHECK(dc.kind == DM_DELETE && dc.aid_len[0] == 5 && dc.token == NULL);
	EVP_PKEY_free(key);
	EVP_PKEY_free(big);
	cpk_buf_free(&b);
	cpk_buf_free(&plain);
}

/*
 * Receipts: the AES-CMAC and 3DES CBC-MAC over the receipt data, a
 * confirmation that verifies, one that does not (another key, another
 * operation, a changed byte) and malformed ones; receipt key files.
 */
static void
test_dm_receipts(void)
{
	static const uint8_t key[16] = { 0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78,
	    0x79, 0x7A, 0x7B, 0x7C, 0x7D, 0x7E, 0x7F };
	static const uint8_t other[16] = { 1 };
	static const uint8_t counter[2] = { 0x00, 0x07 }, cud[3] = { 0xC1, 0xC2, 0xC3 };
	uint8_t cmd[40], mac[16], want[16];
	struct cpk_buf data = CPK_BUF_INIT, conf = CPK_BUF_INIT;
	struct dm_command dc, dc2;
	struct cpk_error err;
	size_t n, maclen, wantlen;

	/* DELETE of F043504B48454C4C4F01: receipt data 02 0007 03 C1C2C3 0A AID. */
	n = test_unhex("4F0A" HELLO_APPLET, cmd, sizeof(cmd));
	CHECK_OK(dm_command_parse(0xE4, 0x00, cmd, n, &dc, &err));
	CHECK_OK(dm_receipt_data(counter, 2, cud, 3, &dc, &data, &err));
	CHECK_HEX(data.data, data.len, "020007" "03C1C2C3" "0A" HELLO_APPLET);
	CHECK_OK(dm_receipt_mac(GP_KEY_AES, key, data.data, data.len, mac, &maclen, &err));
	CHECK_OK(gp_aes_cmac(key, 16, data.data, data.len, want, &err));
	wantlen = 16;
	CHECK_MEM(mac, maclen, want, wantlen);
	CHECK_OK(dm_receipt_mac(GP_KEY_3DES, key, data.data, data.len, mac, &maclen, &err));
	CHECK(maclen == 8);
	{
		static const uint8_t icv[8];

		CHECK_OK(gp_des3_cbc_mac(key, icv, data.data, data.len, want, &err));
		CHECK_MEM(mac, maclen, want, 8);
	}
	/* The confirmation: 08 receipt 02 0007 03 C1C2C3. */
	CHECK_OK(cpk_buf_append_byte(&conf, 8, &err));
	CHECK_OK(cpk_buf_append(&conf, mac, 8, &err));
	CHECK_OK(cpk_buf_append(&conf, (const uint8_t *)"\x02\x00\x07\x03\xC1\xC2\xC3", 7, &err));
	CHECK_OK(dm_receipt_verify(GP_KEY_3DES, key, &dc, conf.data, conf.len, &err));
	CHECK_STATUS(dm_receipt_verify(GP_KEY_3DES, other, &dc, conf.data, conf.len, &err),
	    CPK_ERR_VERIFY);
	CHECK_STR(err.msg, "the card's receipt (confirmation counter 0007) does not verify with "
	    "the receipt key");
	n = test_unhex("4F0A" HELLO_PKG "02", cmd, sizeof(cmd));
	CHECK_OK(dm_command_parse(0xE4, 0x00, cmd, n, &dc2, &err));
	CHECK_STATUS(dm_receipt_verify(GP_KEY_3DES, key, &dc2, conf.data, conf.len, &err),
	    CPK_ERR_VERIFY);
	conf.data[conf.len - 1] ^= 0x01;
	CHECK_STATUS(dm_receipt_verify(GP_KEY_3DES, key, &dc, conf.data, conf.len, &err),
	    CPK_ERR_VERIFY);
	/* Malformed confirmations. */
	CHECK_STATUS(dm_receipt_verify(GP_KEY_3DES, key, &dc, (const uint8_t *)"\x00", 1, &err),
	    CPK_ERR_PARSE);
	CHECK_STR(err.msg, "the card's confirmation (1 bytes) is not receipt, confirmation "
	    "counter and card unique data");
	CHECK_STATUS(dm_receipt_verify(GP_KEY_3DES, key, &dc, (const uint8_t *)"\x01\xAA\x02\x00"
	    "\x01\x00\x00", 7, &err), CPK_ERR_PARSE);
	CHECK_STR(err.msg, "the card's confirmation has 1 bytes after the card unique data");
	CHECK_STATUS(dm_receipt_verify(GP_KEY_3DES, key, &dc, (const uint8_t *)"\x00\x02\x00"
	    "\x01\x00", 5, &err), CPK_ERR_PARSE);
	CHECK_STR(err.msg, "the card's confirmation has a 0-byte receipt and a 2-byte counter "
	    "(a receipt of 1 to 16 bytes and a 2-byte counter)");
	/*
	 * INSTALL [for registry update] (no SD named): the receipt names the
	 * SSD as source and destination, the application, the privileges and
	 * the parameters (a BER length: 81 80 for 128 bytes).
	 */
	{
		static const uint8_t ssd[8] = { 0xA0, 0x00, 0x00, 0x01, 0x51, 0x53, 0x53, 0x44 };
		uint8_t ru[200];

		n = test_unhex("0000" "0A" HELLO_APPLET "0104" "05EF03CF0101" "00", ru,
		    sizeof(ru));
		CHECK_OK(dm_command_parse(0xE6, 0x40, ru, n, &dc, &err));
		CHECK(dc.kind == DM_REGISTRY_UPDATE && dc.naids == 5 && dc.token == NULL &&
		    dc.signed_len == n - 1);
		dm_set_sd(&dc, ssd, sizeof(ssd));
		CHECK_OK(dm_receipt_data(counter, 2, cud, 3, &dc, &data, &err));
		CHECK_HEX(data.data, data.len, "020007" "03C1C2C3" "08A000000151535344"
		    "0A" HELLO_APPLET "08A000000151535344" "0104" "05EF03CF0101");
		/* A destination named in the command stays; the source is the SSD. */
		n = test_unhex("05A000000151" "00" "0A" HELLO_APPLET "00" "00" "00", ru,
		    sizeof(ru));
		CHECK_OK(dm_command_parse(0xE6, 0x40, ru, n, &dc, &err));
		dm_set_sd(&dc, ssd, sizeof(ssd));
		CHECK_OK(dm_receipt_data(counter, 2, cud, 3, &dc, &data, &err));
		CHECK_HEX(data.data, data.len, "020007" "03C1C2C3" "08A000000151535344"
		    "0A" HELLO_APPLET "05A000000151" "00" "00");
		/* 128 bytes of parameters: 81 80. */
		memset(ru, 0, sizeof(ru));
		ru[2] = 5;
		ru[8] = 0;
		ru[9] = 0x80;
		CHECK_OK(dm_command_parse(0xE6, 0x40, ru, 10 + 128 + 1, &dc, &err));
		dm_set_sd(&dc, ssd, sizeof(ssd));
		CHECK_OK(dm_receipt_data(counter, 2, cud, 3, &dc, &data, &err));
		CHECK(data.len == 3 + 4 + 9 + 6 + 9 + 1 + 2 + 128);
		CHECK_HEX(data.data + 32, 2, "8180");
		/* dm_set_sd leaves the other operations alone. */
		n = test_unhex("4F0A" HELLO_APPLET, cmd, sizeof(cmd));
		CHECK_OK(dm_command_parse(0xE4, 0x00, cmd, n, &dc, &err));
		dm_set_sd(&dc, ssd, sizeof(ssd));
		CHECK(dc.naids == 1 && dc.aid_len[0] == 10);
	}
	/* Receipt key files. */
	write_text("receipt.key", "707172737475767778797A7B7C7D7E7F\n", 0600);
	write_text("receipt-short.key", "7071\n", 0600);
	write_text("receipt-open.key", "707172737475767778797A7B7C7D7E7F\n", 0644);
	CHECK_OK(dm_receipt_key_read(tpath("receipt.key"), mac, &err));
	CHECK_MEM(mac, 16, key, 16);
	CHECK_STATUS(dm_receipt_key_read(tpath("receipt-short.key"), mac, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "receipt-short.key' must be 32 hex digits");
	CHECK_STATUS(dm_receipt_key_read(tpath("receipt-open.key"), mac, &err),
	    CPK_ERR_PERMISSION);
	cpk_buf_free(&data);
	cpk_buf_free(&conf);
}

/* security-domain: delegated-management: { token-key } and its errors. */
static void
test_profile_dm(void)
{
	struct cpk_error err;
	struct profile *p = NULL;

#define DM_HEAD(aid) \
	"profile: 1\nname: t\nsecurity-domain:\n" aid "  scp: 03\n  i: 70\n" \
	"  security-level: c-mac\n"
#define DM_TAIL "keys:\n  file: aes.yaml\nsteps:\n  - delete:\n      aid: " HELLO_PKG "\n"
#define SSD_AID "  aid: A000000151535344\n"
#define DM_PARAMS_FIT "0102030405060708090A0102030405060708090A0102030405060708090A" \
	"0102030405060708090A0102030405060708090A0102030405060708090A" \
	"0102030405060708090A0102030405060708090A01"	/* 81 bytes */
#define DM_PARAMS DM_PARAMS_FIT "01"
	if (CHECK_OK(profile_text(DM_HEAD(SSD_AID) "  delegated-management:\n"
	    "    token-key: token.pem\n" DM_TAIL, &p, &err)))
		CHECK_STR(p->sd.dm_path, tpath("token.pem"));
	profile_free(&p);
	bad_profile(__LINE__, DM_HEAD(SSD_AID) "  delegated-management: token.pem\n" DM_TAIL,
	    "p.yaml:8:25: 'delegated-management' must be a mapping: token-key (a token key file)");
	bad_profile(__LINE__, DM_HEAD(SSD_AID) "  delegated-management: {key: token.pem}\n" DM_TAIL,
	    "p.yaml:8:26: unknown key 'key' in 'delegated-management' (did you mean "
	    "'token-key'?)");
	bad_profile(__LINE__, DM_HEAD("") "  delegated-management: {token-key: token.pem}\n"
	    DM_TAIL, "p.yaml:7:25: 'delegated-management' needs 'aid': the supplementary "
	    "security domain the commands go to");
	bad_profile(__LINE__, DM_HEAD(SSD_AID) "  delegated-management: {token-key: aes.yaml}\n"
	    DM_TAIL, "p.yaml:8:37: token key '%s/aes.yaml' is not a PEM private key", tmpdir);
	bad_profile(__LINE__, DM_HEAD(SSD_AID) "  delegated-management: {token-key: "
	    "token-open.pem}\n" DM_TAIL, "p.yaml:8:37: key file '%s/token-open.pem' has mode "
	    "0644: a key file must be accessible by its owner only (chmod 600 "
	    "'%s/token-open.pem')", tmpdir, tmpdir);
	bad_profile(__LINE__, DM_HEAD(SSD_AID) "  delegated-management: {token-key: "
	    "token2048.pem}\n" DM_TAIL, "p.yaml:8:37: token key '%s/token2048.pem' makes "
	    "256-byte tokens: a command has room for 128 (an RSA-1024 key)", tmpdir);
	/* A command that fits alone but not with its token: refused where the step is. */
	bad_profile(__LINE__, DM_HEAD(SSD_AID) "  delegated-management: {token-key: token.pem}\n"
	    "keys:\n  file: aes.yaml\nsteps:\n  - install:\n      package: " HELLO_PKG "\n"
	    "      applet: " HELLO_APPLET "\n      params: \"" DM_PARAMS "\"\n",
	    "p.yaml:12:5: INSTALL [for install] carries 248 bytes of data with its 128-byte "
	    "delegated-management token; the secure channel at security level 01 (c-mac) "
	    "carries at most 247");
	/* 1 byte less fits. */
	if (CHECK_OK(profile_text(DM_HEAD(SSD_AID) "  delegated-management: {token-key: "
	    "token.pem}\nkeys:\n  file: aes.yaml\nsteps:\n  - install:\n      package: "
	    HELLO_PKG "\n      applet: " HELLO_APPLET "\n      params: \"" DM_PARAMS_FIT "\"\n",
	    &p, &err)))
		CHECK(p->sd.dm_token_len == 128);
	profile_free(&p);
#undef DM_HEAD
#undef DM_TAIL
#undef SSD_AID
#undef DM_PARAMS
#undef DM_PARAMS_FIT
}

/* --- card records --- */

#define CARD \
	"sd-aid: A000000151000000\n"	/* 1 */ \
	"scp: 03\n"			/* 2 */ \
	"i: 70\n"			/* 3 */ \
	"kvn: 30\n"			/* 4 */ \
	"kdd: 00010203040506070809\n"	/* 5 */ \
	"counter: 000001\n"		/* 6 */ \
	"serial: CARD-0001\n"		/* 7 */

static void
bad_card_yaml(int line, const char *text, const char *want)
{
	struct cpk_error err;
	struct card_record c;

	cpk_error_clear(&err);
	test_check(card_parse_yaml("c.yaml", (const uint8_t *)text, strlen(text), &c, &err) !=
	    CPK_OK, "card refused", __FILE__, line);
	expect_error(&err, line, "%s", want);
	card_record_clear(&c);
}

static void
bad_card_json(int line, const char *text, const char *want)
{
	struct cpk_error err;
	struct card_record c;

	cpk_error_clear(&err);
	test_check(card_parse_json("c.jsonl", 3, text, strlen(text), &c, &err) != CPK_OK,
	    "card refused", __FILE__, line);
	expect_error(&err, line, "%s", want);
	card_record_clear(&c);
}

static void
test_card_errors(void)
{
	struct card_csv_header h;
	struct card_record c;
	struct cpk_error err;
	static const char hdr[] = "sd-aid,scp,i,kvn,kdd,counter,data.holder";

	/* 31. wrong length */
	bad_card_yaml(__LINE__,
	    "sd-aid: A000000151000000\nscp: 03\ni: 70\nkvn: 30\nkdd: 000102030405060708\n",
	    "c.yaml:5:6: 'kdd' must be 10 bytes (20 hex digits), got 9");
	/* 32. counter length against the protocol */
	bad_card_yaml(__LINE__,
	    "sd-aid: A000000151000000\nscp: 03\ni: 70\nkvn: 30\nkdd: 00010203040506070809\n"
	    "counter: 0001\n",
	    "c.yaml:6:10: 'counter' must be 3 bytes for SCP03, got 2");
	/* 33. a serial that would make a bad file name */
	bad_card_yaml(__LINE__,
	    "sd-aid: A000000151000000\nscp: 03\ni: 70\nkvn: 30\nkdd: 00010203040506070809\n"
	    "counter: 000001\nserial: ../etc\n",
	    "c.yaml:7:9: 'serial' may hold only A-Z, a-z, 0-9, '_', and '.' or '-' after the "
	    "first character (it names files), got '../etc'");
	/* 34. half an INITIALIZE UPDATE exchange */
	bad_card_yaml(__LINE__, CARD "host-challenge: 0102030405060708\n",
	    "c.yaml:8:17: 'host-challenge' needs 'iu-response' too (a live INITIALIZE UPDATE "
	    "exchange has both)");
	/* 35. a response for another card */
	bad_card_yaml(__LINE__,
	    "sd-aid: A000000151000000\nscp: 03\ni: 00\nkvn: 30\nkdd: 00010203040506070809\n"
	    "host-challenge: 0102030405060708\n"
	    "iu-response: FFFFFFFFFFFFFFFFFFFF300300AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB\n",
	    "c.yaml:7:14: 'iu-response' carries KDD FFFFFFFFFFFFFFFFFFFF but 'kdd' is "
	    "00010203040506070809");
	/* 36. no counter and no live exchange */
	bad_card_yaml(__LINE__,
	    "sd-aid: A000000151000000\nscp: 03\ni: 70\nkvn: 30\nkdd: 00010203040506070809\n",
	    "c.yaml:1:1: missing required key 'counter' in the card record (the next sequence "
	    "counter; or give 'host-challenge' and 'iu-response')");
	/* 37. JSON: unknown key with a hint (at the record's line: jansson keeps no positions) */
	bad_card_json(__LINE__, "{\"sd_aid\":\"A000000151000000\"}",
	    "c.jsonl:3: unknown key 'sd_aid' in the card record (did you mean 'sd-aid'?)");
	/* 38. JSON: a number instead of a string */
	bad_card_json(__LINE__, "{\"sd-aid\":\"A000000151000000\", \"scp\": 3}",
	    "c.jsonl:3: the value of 'scp' must be a string in double quotes");
	/* 39. JSON: duplicate key (a syntax error: jansson's column) */
	bad_card_json(__LINE__, "{\"scp\":\"03\",\"scp\":\"02\"}",
	    "c.jsonl:3:17: duplicate key");
	/* 40. JSON: text after the object */
	bad_card_json(__LINE__,
	    "{\"sd-aid\":\"A000000151000000\",\"scp\":\"03\",\"i\":\"70\",\"kvn\":\"30\","
	    "\"kdd\":\"00010203040506070809\",\"counter\":\"000001\"} x",
	    "c.jsonl:3:110: unexpected text after the JSON object");
	/* 41. JSON: a bad value names its key */
	bad_card_json(__LINE__, "{\"i\":\"7\"}",
	    "c.jsonl:3: 'i' must be two hex digits from 00 to FF, got '7'");
	/* 42. CSV: a header without a required column */
	cpk_error_clear(&err);
	CHECK_STATUS(card_csv_header_parse("c.csv", 1, "sd-aid,scp,i,kvn", 16, &h, &err),
	    CPK_ERR_PARSE);
	EXPECT_ERROR(&err, "c.csv:1:1: the CSV header has no column 'kdd' (a required field)");
	/* 43. CSV: unknown column */
	cpk_error_clear(&err);
	CHECK_STATUS(card_csv_header_parse("c.csv", 1, "sd-aid,scp,i,kvn,kdd,countr", 27, &h,
	    &err), CPK_ERR_PARSE);
	EXPECT_ERROR(&err, "c.csv:1:22: unknown column 'countr' in the card record (did you mean "
	    "'counter'?)");
	CHECK_OK(card_csv_header_parse("c.csv", 1, hdr, strlen(hdr), &h, &err));
	/* 44. CSV: fields and columns disagree */
	cpk_error_clear(&err);
	CHECK_STATUS(card_parse_csv(&h, "c.csv", 2, "A000000151000000,03,70\n", 23, &c, &err),
	    CPK_ERR_PARSE);
	EXPECT_ERROR(&err, "c.csv:2:1: the row has 3 fields but the header has 7 columns");
	/* 45. CSV: an i the protocol does not have, located at its field */
	cpk_error_clear(&err);
	CHECK_STATUS(card_parse_csv(&h, "c.csv", 3,
	    "A000000151000000,03,15,30,00010203040506070809,000001,x", 55, &c, &err),
	    CPK_ERR_UNSUPPORTED);
	EXPECT_ERROR(&err, "c.csv:3:21: SCP03 i=15 is not supported (expected 00, 10, 20, 30, 60 "
	    "or 70)");
	/* 46. CSV: unterminated quote */
	cpk_error_clear(&err);
	CHECK_STATUS(card_parse_csv(&h, "c.csv", 4, "\"A0000001510000,03", 18, &c, &err),
	    CPK_ERR_PARSE);
	EXPECT_ERROR(&err, "c.csv:4:1: unterminated quoted field");
	card_csv_header_free(&h);
	/* 47. JSON: \u0000, invalid UTF-8, a list, a nested value, a control character */
	bad_card_json(__LINE__, "{\"serial\":\"a\\u0000b\"}",
	    "c.jsonl:3:20: NUL character (\\u0000) in a string");
	bad_card_json(__LINE__, "{\"serial\":\"\xC0\xAF\"}",
	    "c.jsonl:3:11: invalid UTF-8");
	bad_card_json(__LINE__, "[\"sd-aid\"]",
	    "c.jsonl:3:1: a card record line must be a JSON object ('{' ... '}')");
	bad_card_json(__LINE__, "{\"data.pin\":{\"x\":\"1\"}}",
	    "c.jsonl:3: the value of 'data.pin' must be a string in double quotes");
	bad_card_json(__LINE__, "{\"serial\":\"a\x1b[2Jb\"}",
	    "c.jsonl:3:12: not a valid JSON record: control character 0x1b near '\"a'");
	/* 48. JSON: per-card data names are checked as in the other forms */
	bad_card_json(__LINE__, "{\"data.Bad\":\"1\"}",
	    "c.jsonl:3: per-card data name 'Bad': use 1 to 32 characters of a-z, 0-9, '_' and '-'");
}

/*
 * ydoc_locate returns the status it is given: with no error structure, a
 * failure stays a failure (it used to return CPK_OK when err was NULL).
 */
static void
test_ydoc_locate(void)
{
	static const char bad[] = "{\"i\":\"7\"}";
	struct cpk_error err;
	struct card_record c;

	CHECK(ydoc_locate(CPK_ERR_PARSE, NULL, "f", 1, 2) == CPK_ERR_PARSE);
	CHECK(ydoc_locate(CPK_OK, NULL, "f", 1, 2) == CPK_OK);
	cpk_error_clear(&err);
	err.status = CPK_OK;
	CHECK(ydoc_locate(CPK_ERR_RANGE, &err, "f", 3, 4) == CPK_ERR_RANGE);
	CHECK(err.line == 3 && err.col == 4);
	CHECK(card_parse_json("c.jsonl", 1, bad, strlen(bad), &c, NULL) != CPK_OK);
	CHECK(card_parse_yaml("c.yaml", (const uint8_t *)"i: 7\n", 5, &c, NULL) != CPK_OK);
}

static void
test_card_valid(void)
{
	static const char yaml[] = CARD "cin: 0102030405060708\ndata:\n  holder: \"Ada L\"\n";
	static const char json[] =
	    "{\"sd-aid\": \"A000000151000000\", \"scp\": \"03\", \"i\": \"70\", \"kvn\": \"30\", "
	    "\"kdd\": \"00010203040506070809\", \"counter\": \"000001\", \"serial\": "
	    "\"CARD-0001\", \"cin\": \"0102030405060708\", \"data.holder\": \"Ada\\u0020L\"}";
	static const char hdr[] = "sd-aid,scp,i,kvn,kdd,counter,serial,cin,data.holder\r\n";
	static const char row[] =
	    "A000000151000000,03,70,30,00010203040506070809,000001,CARD-0001,0102030405060708,"
	    "\"Ada L\"\r\n";
	struct card_record a, b, c;
	struct card_csv_header h;
	struct cpk_error err;

	cpk_error_clear(&err);
	CHECK_OK(card_parse_yaml("c.yaml", (const uint8_t *)yaml, strlen(yaml), &a, &err));
	CHECK_OK(card_parse_json("c.jsonl", 1, json, strlen(json), &b, &err));
	CHECK_OK(card_csv_header_parse("c.csv", 1, hdr, strlen(hdr), &h, &err));
	CHECK_OK(card_parse_csv(&h, "c.csv", 2, row, strlen(row), &c, &err));
	CHECK(a.scp == SCP03 && a.i == 0x70 && a.kvn == 0x30 && a.counter_len == 3);
	CHECK_HEX(a.sd_aid.b, a.sd_aid.len, "A000000151000000");
	CHECK_STR(a.serial, "CARD-0001");
	CHECK_STR(card_data_get(&a, "holder"), "Ada L");
	/* The three forms give the same record. */
	CHECK(b.scp == a.scp && b.i == a.i && b.kvn == a.kvn && c.i == a.i);
	CHECK_MEM(b.kdd, 10, a.kdd, 10);
	CHECK_MEM(c.counter, c.counter_len, a.counter, a.counter_len);
	CHECK_MEM(b.cin, b.cin_len, a.cin, a.cin_len);
	CHECK_MEM(c.cin, c.cin_len, a.cin, a.cin_len);
	CHECK_STR(b.serial, a.serial);
	CHECK_STR(c.serial, a.serial);
	CHECK_STR(card_data_get(&b, "holder"), "Ada L");
	CHECK_STR(card_data_get(&c, "holder"), "Ada L");
	card_record_clear(&a);
	card_record_clear(&b);
	card_record_clear(&c);
	card_csv_header_free(&h);
}

/*
 * Regression (found by the e2e matrix): a live exchange with an SCP03 card
 * whose i has no pseudo-random challenge (00, 20, 60) carries no sequence
 * counter, and a session needs none; such a record was refused for lacking
 * 'counter'. Without the exchange the counter is still required (case 36).
 */
static void
test_card_session_without_counter(void)
{
	static const char yaml[] =
	    "sd-aid: A000000151000000\nscp: 03\ni: 60\nkvn: 30\nkdd: 00010203040506070809\n"
	    "host-challenge: 0102030405060708\n"
	    "iu-response: 00010203040506070809300360AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB\n";
	struct card_record a;
	struct cpk_error err;

	cpk_error_clear(&err);
	if (CHECK_OK(card_parse_yaml("c.yaml", (const uint8_t *)yaml, strlen(yaml), &a, &err))) {
		CHECK(a.has_session && a.counter_len == 0 && a.iu.counter_len == 0);
		CHECK(a.iu.i == 0x60 && a.iu.challenge_len == 8);
	}
	card_record_clear(&a);
}

/*
 * Issue 10, finding 4: a profile named another bureau's key file (by an
 * absolute path, by '..') and PUT KEY wrapped its keys under keys the
 * profile's author knew. Key sets are file names in the key folder only;
 * CAP files are relative paths inside the profile's folder, no '..', no
 * symbolic link. Each refusal names the profile's file:line:column.
 */
static void
resolve_refused(int line, const char *text, const char *keydir, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
resolve_refused(int line, const char *text, const char *keydir, const char *fmt, ...)
{
	struct profile_opts opts = { .keydir = keydir };
	struct profile *p = NULL;
	struct cpk_error err;
	char want[1024], got[1024];
	va_list ap;

	cpk_error_clear(&err);
	if (!test_check(profile_parse("p.yaml", tmpdir, (const uint8_t *)text, strlen(text), &p,
	    &err) == CPK_OK, "profile parsed", __FILE__, line))
		return;
	test_check(profile_resolve(p, &opts, &err) != CPK_OK, "profile refused", __FILE__, line);
	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	format_error(&err, got, sizeof(got));
	test_check_str(got, want, "profile error", __FILE__, line);
	profile_free(&p);
}

#define PATHS_HEAD(keyfile) \
	"profile: 1\nname: test\nsecurity-domain:\n  aid: A000000151000000\n  scp: 03\n" \
	"  i: 70\n  kvn: 30\n  security-level: c-mac\nkeys:\n  file: " keyfile "\nsteps:\n"

static void
test_profile_paths(void)
{
	static const char not_name[] = "p.yaml:10:9: key set '%s' is not a file name: a profile "
	    "names a key set file inside the key folder (-k KEYDIR), without '/' or '..'";
	char kd[512], abs_keys[600], text[2048], cap[600];
	struct profile_opts opts;
	struct profile *p = NULL;
	struct cpk_error err;

	memset(&opts, 0, sizeof(opts));
	snprintf(kd, sizeof(kd), "%s", tpath("kd"));
	mkdir(kd, 0700);
	write_text("kd/aes.yaml", aes_keys, 0600);
	/* Outside the key folder: tmpdir/aes.yaml (another bureau's keys). */
	snprintf(abs_keys, sizeof(abs_keys), "%s", tpath("aes.yaml"));
	/* An absolute path; '..'; a sub-folder. */
	snprintf(text, sizeof(text), PATHS_HEAD("%s") "  - delete: {aid: F043504B48454C4C4F}\n", abs_keys);
	resolve_refused(__LINE__, text, kd, not_name, abs_keys);
	resolve_refused(__LINE__, PATHS_HEAD("../aes.yaml") "  - delete: {aid: F043504B48454C4C4F}\n", kd,
	    not_name, "../aes.yaml");
	resolve_refused(__LINE__, PATHS_HEAD("..") "  - delete: {aid: F043504B48454C4C4F}\n", kd,
	    not_name, "..");
	/* A symbolic link in the key folder that points outside it. */
	unlink(tpath("kd/link.yaml"));
	if (symlink(abs_keys, tpath("kd/link.yaml")) != 0)
		abort();
	resolve_refused(__LINE__, PATHS_HEAD("link.yaml") "  - delete: {aid: F043504B48454C4C4F}\n", kd,
	    "p.yaml:10:9: key file '%s/link.yaml' is a symbolic link: refused", kd);
	/* PUT KEY of a key set outside the key folder. */
	snprintf(text, sizeof(text), PATHS_HEAD("aes.yaml") "  - put-key: {file: %s, add: true}\n",
	    abs_keys);
	resolve_refused(__LINE__, text, kd, "p.yaml:12:21: key set '%s' is not a file name: a "
	    "profile names a key set file inside the key folder (-k KEYDIR), without '/' or '..'",
	    abs_keys);
	/* No key folder at all: the profile's folder is not one. */
	resolve_refused(__LINE__, PATHS_HEAD("aes.yaml") "  - delete: {aid: F043504B48454C4C4F}\n", NULL,
	    "p.yaml:10:9: key set 'aes.yaml': no key folder given; key sets are read only from "
	    "the key folder named on the command line (cardc -k KEYDIR)");
	/* CAP files: absolute, '..' (even one that comes back), a link, a linked folder. */
	snprintf(cap, sizeof(cap), "%s", tpath("hello.cap"));
	snprintf(text, sizeof(text), PATHS_HEAD("aes.yaml") "  - load: {cap: %s}\n", cap);
	resolve_refused(__LINE__, text, kd, "p.yaml:12:17: CAP file '%s' is an absolute path: a "
	    "profile names CAP files relative to its own folder", cap);
	resolve_refused(__LINE__, PATHS_HEAD("aes.yaml") "  - load: {cap: ../hello.cap}\n", kd,
	    "p.yaml:12:17: CAP file '../hello.cap' has a '..' component: a profile names CAP "
	    "files inside its own folder");
	resolve_refused(__LINE__, PATHS_HEAD("aes.yaml") "  - load: {cap: kd/../hello.cap}\n", kd,
	    "p.yaml:12:17: CAP file 'kd/../hello.cap' has a '..' component: a profile names CAP "
	    "files inside its own folder");
	unlink(tpath("link.cap"));
	unlink(tpath("root"));
	if (symlink(cap, tpath("link.cap")) != 0 || symlink("/", tpath("root")) != 0)
		abort();
	resolve_refused(__LINE__, PATHS_HEAD("aes.yaml") "  - load: {cap: link.cap}\n", kd,
	    "p.yaml:12:17: CAP file 'link.cap': 'link.cap' is a symbolic link or not a folder; "
	    "cardc follows no link in the CAP files a profile names");
	resolve_refused(__LINE__, PATHS_HEAD("aes.yaml") "  - load: {cap: root/etc/hello.cap}\n",
	    kd, "p.yaml:12:17: CAP file 'root/etc/hello.cap': 'root' is a symbolic link or not a "
	    "folder; cardc follows no link in the CAP files a profile names");
	resolve_refused(__LINE__, PATHS_HEAD("aes.yaml") "  - load: {cap: none.cap}\n", kd,
	    "p.yaml:12:17: cannot open CAP file 'none.cap' in the profile's folder: No such file "
	    "or directory");
	/* What stays inside is read: a key set in the key folder, a CAP in a sub-folder. */
	mkdir(tpath("caps"), 0700);
	unlink(tpath("caps/hello.cap"));
	if (link(cap, tpath("caps/hello.cap")) != 0)
		abort();
	snprintf(text, sizeof(text), PATHS_HEAD("aes.yaml") "  - load: {cap: ./caps//hello.cap}\n");
	opts.keydir = kd;
	cpk_error_clear(&err);
	if (CHECK_OK(profile_parse("p.yaml", tmpdir, (const uint8_t *)text, strlen(text), &p,
	    &err)))
		if (!CHECK_OK(profile_resolve(p, &opts, &err)))
			fprintf(stderr, "  %s:%u:%u: %s\n", err.file, err.line, err.col, err.msg);
	profile_free(&p);
}

/* --- key sets --- */

static void
bad_keys(int line, const char *text, const char *want)
{
	struct keyset *ks = NULL;
	struct cpk_error err;

	cpk_error_clear(&err);
	test_check(keyset_parse("k.yaml", (const uint8_t *)text, strlen(text), &ks, &err) != CPK_OK,
	    "key set refused", __FILE__, line);
	test_check(ks == NULL, "no partial key set", __FILE__, line);
	expect_error(&err, line, "%s", want);
	/* Keys never appear in a message. */
	test_check(strstr(err.msg, "4041424344") == NULL && strstr(err.msg, "4X41") == NULL,
	    "no key bytes in the message", __FILE__, line);
	keyset_free(&ks);
}

static void
test_keyset_errors(void)
{
	struct keyset *ks = NULL;
	struct cpk_error err;

	/* 47. readable by others */
	write_text("open.yaml", des_keys, 0644);
	cpk_error_clear(&err);
	CHECK_STATUS(keyset_load(tpath("open.yaml"), &ks, &err), CPK_ERR_PERMISSION);
	EXPECT_ERROR(&err, "key file '%s' has mode 0644: a key file must be accessible by its "
	    "owner only (chmod 600 '%s')", tpath("open.yaml"), tpath("open.yaml"));
	/* 48. group bits alone are enough to refuse */
	write_text("group.yaml", des_keys, 0640);
	CHECK_STATUS(keyset_load(tpath("group.yaml"), &ks, &err), CPK_ERR_PERMISSION);
	/* 49. a symbolic link */
	unlink(tpath("link.yaml"));
	if (symlink(tpath("des.yaml"), tpath("link.yaml")) != 0)
		abort();
	cpk_error_clear(&err);
	CHECK_STATUS(keyset_load(tpath("link.yaml"), &ks, &err), CPK_ERR_PERMISSION);
	EXPECT_ERROR(&err, "key file '%s' is a symbolic link: refused", tpath("link.yaml"));
	CHECK(ks == NULL);
	/* 50. a key of the wrong length */
	bad_keys(__LINE__, "kvn: \"01\"\nalgorithm: 3des\nenc: 404142434445464748494A4B4C4D4E\n"
	    "mac: 404142434445464748494A4B4C4D4E4F\ndek: 404142434445464748494A4B4C4D4E4F\n",
	    "k.yaml:3:6: 'enc' must be 16 or 24 bytes for 3DES, got 15 bytes");
	/* 51. not hex: the message does not quote the key */
	bad_keys(__LINE__, "kvn: \"01\"\nalgorithm: 3des\nenc: 404142434445464748494A4B4C4D4E4F\n"
	    "mac: 4X41424344454647\ndek: 404142434445464748494A4B4C4D4E4F\n",
	    "k.yaml:4:6: 'mac' must be hex digits only (character 2 is not)");
	/* 52. static keys and master keys together */
	bad_keys(__LINE__, "kvn: \"01\"\nalgorithm: aes\nmaster: 404142434445464748494A4B4C4D4E4F\n"
	    "enc: 404142434445464748494A4B4C4D4E4F\n",
	    "k.yaml:4:1: 'enc' cannot be combined with 'master': give either the static keys or "
	    "master keys");
	/* 53. a scheme for the other algorithm */
	bad_keys(__LINE__, "kvn: \"01\"\nalgorithm: 3des\nmaster: 404142434445464748494A4B4C4D4E4F\n"
	    "diversification: kdf3\n",
	    "k.yaml:4:18: diversification 'kdf3' applies to AES keys, not 3DES");
	/* 54. keys of different lengths */
	bad_keys(__LINE__, "kvn: \"01\"\nalgorithm: aes\nenc: 404142434445464748494A4B4C4D4E4F\n"
	    "mac: 404142434445464748494A4B4C4D4E4F4041424344454647\n"
	    "dek: 404142434445464748494A4B4C4D4E4F\n",
	    "k.yaml:4:6: 'mac' is 24 bytes but 'enc' is 16: the keys of a set have one length");
	/* 55. a missing key */
	bad_keys(__LINE__, "kvn: \"01\"\nalgorithm: aes\nenc: 404142434445464748494A4B4C4D4E4F\n",
	    "k.yaml:1:1: missing required key 'mac' in the key set (or give 'master')");
	/* 56. master keys "diversified" with none */
	bad_keys(__LINE__, "kvn: \"01\"\nalgorithm: aes\nmaster: 404142434445464748494A4B4C4D4E4F\n"
	    "diversification: none\n",
	    "k.yaml:4:18: master keys need a diversification (emv, visa2 or kdf3), not 'none' "
	    "(keys used as they are go in 'enc', 'mac' and 'dek')");
}

/*
 * Issue 10, finding 5: a malformed key file printed its key in the error
 * message. No value of a key file is ever printed, whatever is wrong with
 * it: each of these files holds the distinctive key K (or pieces of it) and
 * is refused with a message that names the file, the line and (where there
 * is one) the field, and holds no 4 characters of any value in the file.
 */
#define NV_K "C0FFEE5A17D00D9BC0FFEE5A17D00D9B"
#define NV_K2 "7E11A1B2C3D4E5F6071829304A5B6C7D"
#define NV_HEAD "kvn: \"01\"\nalgorithm: aes\n"

static const char *const nv_values[] = {
	NV_K, NV_K2, "C0FFEE5A17Z00D9BC0FFEE5A17D00D9B", "C0FFEE 5A17D00D9B", "C0FFEE5A17D00D9BC",
	"4F7A1E9C", NULL,
};

/* Does msg hold 4 consecutive characters of a value (in either case)? */
static const char *
nv_leak_of(const char *msg, const char *const *values)
{
	static char sub[5];
	char low[1024];
	size_t i, k;

	for (i = 0; msg[i] != '\0' && i + 1 < sizeof(low); i++)
		low[i] = (char)tolower((unsigned char)msg[i]);
	low[i] = '\0';
	for (k = 0; values[k] != NULL; k++) {
		for (i = 0; i + 4 <= strlen(values[k]); i++) {
			memcpy(sub, values[k] + i, 4);
			sub[4] = '\0';
			for (size_t j = 0; j < 4; j++)
				sub[j] = (char)tolower((unsigned char)sub[j]);
			if (strstr(low, sub) != NULL)
				return sub;
		}
	}
	return NULL;
}

static const char *
nv_leak(const char *msg)
{
	return nv_leak_of(msg, nv_values);
}

static void
nv_keyset(int line, const char *text, size_t len, unsigned want_line, const char *field)
{
	struct keyset *ks = NULL;
	struct cpk_error err;
	char got[1024], where[64];
	const char *leak;

	cpk_error_clear(&err);
	test_check(keyset_parse("k.yaml", (const uint8_t *)text, len, &ks, &err) != CPK_OK,
	    "key set refused", __FILE__, line);
	format_error(&err, got, sizeof(got));
	snprintf(where, sizeof(where), "k.yaml:%u:", want_line);
	if (!test_check(strncmp(got, where, strlen(where)) == 0, "file:line", __FILE__, line))
		fprintf(stderr, "  want %s in: %s\n", where, got);
	if (field != NULL && !test_check(strstr(got, field) != NULL, "field named", __FILE__, line))
		fprintf(stderr, "  want %s in: %s\n", field, got);
	if (!test_check((leak = nv_leak(got)) == NULL, "no value in the message", __FILE__, line))
		fprintf(stderr, "  '%s' in: %s\n", leak, got);
	keyset_free(&ks);
}

#define NV(text, l, field) nv_keyset(__LINE__, (text), sizeof(text) - 1, (l), (field))

static void
test_keyset_no_values(void)
{
	/* Wrong length, bad hex character, odd length, a space in a quoted key. */
	NV(NV_HEAD "enc: " NV_K "00\nmac: " NV_K "\ndek: " NV_K "\n", 3, "'enc'");
	NV(NV_HEAD "enc: " NV_K "\nmac: C0FFEE5A17Z00D9BC0FFEE5A17D00D9B\ndek: " NV_K "\n", 4,
	    "'mac'");
	NV(NV_HEAD "enc: " NV_K "\nmac: " NV_K "\ndek: C0FFEE5A17D00D9BC\n", 5, "'dek'");
	NV(NV_HEAD "enc: \"C0FFEE 5A17D00D9B\"\nmac: " NV_K "\ndek: " NV_K "\n", 3, "'enc'");
	/* A list, a mapping, keys of different lengths. */
	NV(NV_HEAD "enc: [" NV_K ", " NV_K2 "]\nmac: " NV_K "\ndek: " NV_K "\n", 3, "'enc'");
	NV(NV_HEAD "enc: " NV_K "\nmac: {" NV_K ": " NV_K2 "}\ndek: " NV_K "\n", 4, "'mac'");
	NV(NV_HEAD "enc: " NV_K "\nmac: " NV_K NV_K2 "\ndek: " NV_K "\n", 4, "'mac'");
	/* A duplicated key; a key value as a duplicated key. */
	NV(NV_HEAD "enc: " NV_K "\nmac: " NV_K "\nenc: " NV_K2 "\n", 5, "'enc'");
	NV(NV_HEAD NV_K ": 1\n" NV_K ": 2\n", 4, NULL);
	/* An unknown field next to the key; a key value as the field's name. */
	NV(NV_HEAD "encc: " NV_K "\nmac: " NV_K "\ndek: " NV_K "\n", 3, "'enc'");
	NV(NV_HEAD NV_K2 ": " NV_K "\n", 3, NULL);
	NV(NV_HEAD "master:\n  enc: " NV_K "\n  " NV_K2 ": " NV_K "\n", 5, "'master'");
	/* The key in the fields that are not keys. */
	NV("kvn: " NV_K "\nalgorithm: aes\n", 1, "'kvn'");
	NV("kvn: \"01\"\nalgorithm: " NV_K "\n", 2, "'algorithm'");
	NV(NV_HEAD "master: " NV_K "\ndiversification: " NV_K2 "\n", 4, "'diversification'");
	NV(NV_HEAD "master: [" NV_K "]\n", 3, "'master'");
	/* YAML syntax errors on the key's line. */
	NV(NV_HEAD "enc: " NV_K ": " NV_K2 "\nmac: " NV_K "\n", 3, "'enc'");
	NV(NV_HEAD "enc: \"" NV_K "\nmac: " NV_K "\n", 3, "'enc'");
	NV(NV_HEAD "enc: '" NV_K "'" NV_K2 "\n", 3, "'enc'");
	NV(NV_HEAD "enc:\n" NV_K "\nmac: " NV_K2 "\n", 4, NULL);
	NV(NV_HEAD "\tenc: " NV_K "\n", 3, NULL);
	NV(NV_HEAD "enc: &a " NV_K "\n", 3, "'enc'");
	NV(NV_HEAD "enc: " NV_K "\nmac: " NV_K "\xff" "4F7A1E9C\n", 4, NULL);
	/* The whole file is the key; a second document. */
	NV(NV_K "\n", 1, NULL);
	NV(NV_HEAD "enc: " NV_K "\nmac: " NV_K "\ndek: " NV_K "\n---\n" NV_K2 "\n", 6, NULL);
}

/*
 * The same for the bundle-signing key file: the key line's base64 and the
 * bytes it decodes to (hex) never appear in a message.
 */
static char nv_b64[64], nv_hex[128], nv_this_hex[128];

static void
nv_signing(int line, const char *comment, const char *keyline, unsigned want_line)
{
	struct cpk_signer *s = NULL;
	struct cpk_error err;
	char text[512], where[600];
	const char *vals[4] = { nv_b64, nv_hex, nv_this_hex, NULL };
	const char *leak;
	uint8_t blob[45];
	size_t i;

	/* What this key line decodes to is a value of the file too. */
	nv_this_hex[0] = '\0';
	if (strlen(keyline) >= 56 && EVP_DecodeBlock(blob, (const unsigned char *)keyline, 56) > 0)
		for (i = 0; i < 42; i++)
			snprintf(nv_this_hex + 2 * i, 3, "%02X", blob[i]);
	snprintf(text, sizeof(text), "%s%s", comment, keyline);
	write_text("nv.key", text, 0600);
	cpk_error_clear(&err);
	test_check(cpk_signer_load(tpath("nv.key"), &s, &err) != CPK_OK, "signing key refused",
	    __FILE__, line);
	snprintf(where, sizeof(where), "%s:%u:", tpath("nv.key"), want_line);
	if (!test_check(strncmp(err.msg, where, strlen(where)) == 0, "file:line", __FILE__, line))
		fprintf(stderr, "  want %s in: %s\n", where, err.msg);
	if (!test_check((leak = nv_leak_of(err.msg, vals)) == NULL, "no key value in the message",
	    __FILE__, line))
		fprintf(stderr, "  '%s' in: %s\n", leak, err.msg);
	cpk_signer_free(&s);
}

/* The committed test key with its blob changed at byte `at` (-1: unchanged). */
static void
nv_line(const uint8_t blob[42], int at, char out[64])
{
	uint8_t b[42];

	memcpy(b, blob, sizeof(b));
	if (at >= 0)
		b[at] ^= 0x5A;
	EVP_EncodeBlock((unsigned char *)out, b, sizeof(b));
}

static void
test_signing_key_no_values(void)
{
	static const char comment[] = "untrusted comment: cpk secret key\n";
	char *text = read_source("keys/test-signing.key");
	char *kl = strchr(text, '\n') + 1, line[64], bad[256];
	uint8_t blob[45];
	size_t i;

	kl[56] = '\0';
	if (EVP_DecodeBlock(blob, (const unsigned char *)kl, 56) != 42)
		abort();
	snprintf(nv_b64, sizeof(nv_b64), "%s", kl);
	for (i = 0; i < 42; i++)
		snprintf(nv_hex + 2 * i, 3, "%02X", blob[i]);
	/* A bad base64 character; a short line; something after it; a CR. */
	snprintf(bad, sizeof(bad), "%s\n", nv_b64);
	bad[20] = '*';
	nv_signing(__LINE__, comment, bad, 2);
	snprintf(bad, sizeof(bad), "%.40s\n", nv_b64);
	nv_signing(__LINE__, comment, bad, 2);
	snprintf(bad, sizeof(bad), "%s\r\n", nv_b64);
	nv_signing(__LINE__, comment, bad, 2);
	snprintf(bad, sizeof(bad), "%s\n%s\n", nv_b64, nv_b64);
	nv_signing(__LINE__, comment, bad, 2);
	/* No comment line; no key line; the public kind; an unknown algorithm; a wrong id. */
	snprintf(bad, sizeof(bad), "%s\n", nv_b64);
	nv_signing(__LINE__, "", bad, 1);
	nv_signing(__LINE__, "untrusted comment: cpk secret key ", nv_b64, 1);
	memcpy(blob, CPK_PUBKEY_ALG, 2);
	nv_line(blob, -1, line);
	snprintf(bad, sizeof(bad), "%s\n", line);
	nv_signing(__LINE__, comment, bad, 2);
	memcpy(blob, "AB", 2);
	nv_line(blob, -1, line);
	snprintf(bad, sizeof(bad), "%s\n", line);
	nv_signing(__LINE__, comment, bad, 2);
	EVP_DecodeBlock(blob, (const unsigned char *)nv_b64, 56);
	nv_line(blob, 5, line);
	snprintf(bad, sizeof(bad), "%s\n", line);
	nv_signing(__LINE__, comment, bad, 2);
	free(text);
}

/*
 * Key material and profiles follow the trust anchors' rule (security review,
 * issue 10): the file and the folder holding it belong to root or to the
 * effective user and are not writable by group or others, sticky or not.
 * chown needs root; the mode cases run for any user.
 */
static void
test_ownership(void)
{
	static const char prof[] = HEAD;
	struct profile_opts opts = { .keydir = tmpdir };
	struct profile *p = NULL;
	struct keyset *ks = NULL;
	struct cpk_error err;
	char dir[600];

	/* A world-writable key folder, then the same folder with the sticky bit. */
	snprintf(dir, sizeof(dir), "%s", tpath("open-keys"));
	CHECK(mkdir(dir, 0700) == 0);
	write_text("open-keys/k.yaml", des_keys, 0600);
	CHECK(chmod(dir, 0777) == 0);
	cpk_error_clear(&err);
	CHECK_STATUS(keyset_load(tpath("open-keys/k.yaml"), &ks, &err), CPK_ERR_PERMISSION);
	EXPECT_ERROR(&err, "key folder '%s' has mode 0777: others may read or replace your card "
	    "keys; run: chmod go-w '%s'", dir, dir);
	CHECK(chmod(dir, 01777) == 0);
	CHECK_STATUS(keyset_load(tpath("open-keys/k.yaml"), &ks, &err), CPK_ERR_PERMISSION);
	CHECK_MSG(&err, "has mode 1777: others may read or replace your card keys");
	CHECK(chmod(dir, 0750) == 0);
	CHECK_OK(keyset_load(tpath("open-keys/k.yaml"), &ks, &err));
	keyset_free(&ks);

	/* A profile others may write to, and a profile folder others may write to. */
	write_text("own.yaml", prof, 0646);
	CHECK_STATUS(profile_load(tpath("own.yaml"), &opts, &p, &err), CPK_ERR_PERMISSION);
	EXPECT_ERROR(&err, "profile '%s' has mode 0646: others may change what your bundles do to "
	    "cards; run: chmod go-w '%s'", tpath("own.yaml"), tpath("own.yaml"));
	CHECK(p == NULL);
	CHECK(chmod(tpath("own.yaml"), 0644) == 0);
	CHECK(chmod(tmpdir, 0777) == 0);
	CHECK_STATUS(profile_load(tpath("own.yaml"), &opts, &p, &err), CPK_ERR_PERMISSION);
	EXPECT_ERROR(&err, "profile folder '%s' has mode 0777: others may change what your bundles "
	    "do to cards; run: chmod go-w '%s'", tmpdir, tmpdir);
	CHECK(chmod(tmpdir, 0700) == 0);
	CHECK_OK(profile_load(tpath("own.yaml"), &opts, &p, &err));
	profile_free(&p);

	if (geteuid() != 0) {
		fprintf(stderr, "inputs: not root, ownership by another user not tested\n");
		return;
	}
	/* Files of another user (65534, nobody). */
	write_text("nobody.yaml", des_keys, 0600);
	CHECK(chown(tpath("nobody.yaml"), 65534, 65534) == 0);
	CHECK_STATUS(keyset_load(tpath("nobody.yaml"), &ks, &err), CPK_ERR_PERMISSION);
	EXPECT_ERROR(&err, "key file '%s' belongs to user 65534, neither root nor you: another "
	    "user could read or replace your card keys", tpath("nobody.yaml"));
	CHECK(ks == NULL);
	CHECK(chown(tpath("own.yaml"), 65534, 65534) == 0);
	CHECK_STATUS(profile_load(tpath("own.yaml"), &opts, &p, &err), CPK_ERR_PERMISSION);
	EXPECT_ERROR(&err, "profile '%s' belongs to user 65534, neither root nor you: another "
	    "user could change what your bundles do to cards", tpath("own.yaml"));
	CHECK(chown(dir, 65534, 65534) == 0);
	CHECK_STATUS(keyset_load(tpath("open-keys/k.yaml"), &ks, &err), CPK_ERR_PERMISSION);
	EXPECT_ERROR(&err, "key folder '%s' belongs to user 65534, neither root nor you: another "
	    "user could read or replace your card keys", dir);
}

static void
test_keyset_valid(void)
{
	static const char text[] =
	    "kvn: \"30\"\nalgorithm: aes\n"
	    "master:\n  enc: 404142434445464748494A4B4C4D4E4F\n"
	    "  mac: 404142434445464748494A4B4C4D4E4F\n  dek: 404142434445464748494A4B4C4D4E4F\n"
	    "diversification: kdf3\n";
	struct keyset *ks = NULL;
	struct scp_keyset card, want;
	struct cpk_error err;
	enum gp_diversification div;
	uint8_t kdd[10] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 };

	cpk_error_clear(&err);
	CHECK_OK(keyset_load(tpath("des.yaml"), &ks, &err));
	CHECK(ks != NULL && ks->keys.alg == GP_KEY_3DES && ks->keys.len == 16 && !ks->master);
	keyset_free(&ks);
	CHECK(ks == NULL);
	CHECK_OK(keyset_parse("k.yaml", (const uint8_t *)text, strlen(text), &ks, &err));
	CHECK(ks->master && ks->div_set && ks->div == GP_DIV_KDF3);
	CHECK_OK(keyset_effective_div(ks, false, GP_DIV_NONE, &div, &err));
	CHECK(div == GP_DIV_KDF3);
	CHECK_STATUS(keyset_effective_div(ks, true, GP_DIV_EMV, &div, &err), CPK_ERR_PARSE);
	EXPECT_ERROR(&err, "the profile asks for diversification 'emv' but key file 'k.yaml' says "
	    "'kdf3'");
	CHECK_OK(keyset_card_keys(ks, div, kdd, &card, &err));
	CHECK_OK(scp_keyset_diversify(&ks->keys, GP_DIV_KDF3, kdd, &want, &err));
	CHECK_MEM(card.enc, card.len, want.enc, want.len);
	CHECK_MEM(card.dek, card.len, want.dek, want.len);
	scp_keyset_clear(&card);
	scp_keyset_clear(&want);
	keyset_free(&ks);
	/* The shipped test keys parse once their mode is 0600. */
	{
		char *k = read_source("keys/gp-test-keys.yaml");

		write_text("shipped.yaml", k, 0600);
		free(k);
		CHECK_OK(keyset_load(tpath("shipped.yaml"), &ks, &err));
		CHECK(ks != NULL && ks->keys.kvn == 0x01 && ks->keys.alg == GP_KEY_3DES);
		keyset_free(&ks);
		k = read_source("keys/gp-test-keys-aes.yaml");
		write_text("shipped-aes.yaml", k, 0600);
		free(k);
		CHECK_OK(keyset_load(tpath("shipped-aes.yaml"), &ks, &err));
		CHECK(ks != NULL && ks->keys.kvn == 0x30 && ks->keys.alg == GP_KEY_AES);
		keyset_free(&ks);
	}
}

/* --- CAP files --- */

static void
build_cap(const struct capgen_spec *spec, struct cpk_buf *zip)
{
	struct cpk_error err;

	if (capgen_build(spec, zip, &err) != CPK_OK) {
		fprintf(stderr, "capgen: %s\n", err.msg);
		abort();
	}
}

static void
bad_cap(int line, const uint8_t *p, size_t n, cpk_status want_st, const char *want)
{
	struct cap_file *cap = NULL;
	struct cpk_error err;

	cpk_error_clear(&err);
	test_check_status(cap_open_buffer("x.cap", p, n, &cap, &err), want_st, "cap_open_buffer",
	    __FILE__, line);
	test_check(cap == NULL, "no partial CAP", __FILE__, line);
	expect_error(&err, line, "%s", want);
	cap_free(&cap);
}

/* A zip made here from (name, bytes) pairs. */
static void
make_zip(struct cpk_buf *out, const char *const *names, const struct cpk_buf *const *data,
    size_t n)
{
	zip_source_t *src, *fs;
	zip_error_t ze;
	zip_t *za;
	zip_stat_t st;
	size_t i;

	zip_error_init(&ze);
	if ((src = zip_source_buffer_create(NULL, 0, 0, &ze)) == NULL)
		abort();
	zip_source_keep(src);
	if ((za = zip_open_from_source(src, ZIP_TRUNCATE, &ze)) == NULL)
		abort();
	for (i = 0; i < n; i++) {
		if ((fs = zip_source_buffer(za, data[i]->data, data[i]->len, 0)) == NULL ||
		    zip_file_add(za, names[i], fs, 0) < 0)
			abort();
	}
	if (zip_close(za) != 0 || zip_source_stat(src, &st) != 0 || zip_source_open(src) != 0)
		abort();
	cpk_buf_reset(out);
	if (cpk_buf_reserve(out, (size_t)st.size, NULL) != CPK_OK ||
	    zip_source_read(src, out->data, st.size) != (zip_int64_t)st.size)
		abort();
	out->len = (size_t)st.size;
	zip_source_close(src);
	zip_source_free(src);
	zip_error_fini(&ze);
}

/*
 * The CAP of spec with its Method component's own size one too large (hdr:
 * 3 for a u2 size, 5 for a u4 one) is refused naming the entry and both sizes.
 */
static void
check_method_size_lie(struct capgen_spec *spec, size_t hdr, const char *entry, int line)
{
	struct cpk_buf zip = CPK_BUF_INIT;
	struct cap_file *good = NULL;
	struct cpk_error err;
	char want[512];
	size_t method_len;

	spec->malform = 0;
	build_cap(spec, &zip);
	cpk_error_clear(&err);
	if (cap_open_buffer("good.cap", zip.data, zip.len, &good, &err) != CPK_OK)
		abort();
	method_len = good->comp[CPK_CAP_METHOD].len - hdr;
	cap_free(&good);
	spec->malform = CAPGEN_MAL_BAD_SIZE;
	spec->malform_tag = CAPGEN_METHOD;
	build_cap(spec, &zip);
	snprintf(want, sizeof(want), "CAP 'x.cap': com/example/hello/javacard/%s says its "
	    "content is %zu bytes, but the file holds %zu", entry, method_len + 1, method_len);
	bad_cap(line, zip.data, zip.len, CPK_ERR_PARSE, want);
	spec->malform = 0;
	cpk_buf_free(&zip);
}

static void
test_cap_errors(void)
{
	struct capgen_spec spec;
	struct cpk_buf zip = CPK_BUF_INIT, big = CPK_BUF_INIT, hdr = CPK_BUF_INIT;
	struct cap_file *good = NULL;
	struct cpk_error err;
	const char *names[2];
	const struct cpk_buf *data[2];

	/* 57. no Header component */
	hello_spec(&spec);
	spec.malform = CAPGEN_MAL_NO_HEADER;
	build_cap(&spec, &zip);
	bad_cap(__LINE__, zip.data, zip.len, CPK_ERR_PARSE,
	    "CAP 'x.cap' has no Header component (com/example/hello/javacard/Header.cap)");
	/* 58. extended format: a u4 size that lies, a component too short for a u4
	 * size, a component stored both as .cap and .capx */
	hello_spec(&spec);
	spec.extended = true;
	build_cap(&spec, &zip);
	cpk_error_clear(&err);
	CHECK_OK(cap_open_buffer("good.cap", zip.data, zip.len, &good, &err));
	CHECK_OK(cpk_buf_set(&hdr, good->comp[CPK_CAP_HEADER].data, good->comp[CPK_CAP_HEADER].len,
	    NULL));
	check_method_size_lie(&spec, 5, "Method.capx", __LINE__);
	CHECK_OK(cpk_buf_set(&big, "\x07\x00\x00\x00", 4, NULL));
	names[0] = "com/example/hello/javacard/Header.cap";
	names[1] = "com/example/hello/javacard/Method.capx";
	data[0] = &hdr;
	data[1] = &big;
	make_zip(&zip, names, data, 2);
	bad_cap(__LINE__, zip.data, zip.len, CPK_ERR_PARSE,
	    "CAP 'x.cap' has no Directory component (com/example/hello/javacard/Directory.cap)");
	{
		const char *n3[3] = { names[0], "com/example/hello/javacard/Method.cap", names[1] };
		const struct cpk_buf *d3[3] = { &hdr, &good->comp[CPK_CAP_METHOD],
			&good->comp[CPK_CAP_METHOD] };

		make_zip(&zip, n3, d3, 3);
		bad_cap(__LINE__, zip.data, zip.len, CPK_ERR_PARSE,
		    "CAP 'x.cap': com/example/hello/javacard/Method.capx is stored twice (also as "
		    "com/example/hello/javacard/Method.cap)");
	}
	cap_free(&good);
	/* 58b. extended format: a Method component cut inside its u4 size */
	hello_spec(&spec);
	spec.extended = true;
	spec.malform = CAPGEN_MAL_TRUNCATED;
	spec.malform_tag = CAPGEN_METHOD;
	build_cap(&spec, &zip);
	cpk_error_clear(&err);
	CHECK_STATUS(cap_open_buffer("x.cap", zip.data, zip.len, &good, &err), CPK_ERR_PARSE);
	CHECK(good == NULL);
	/* 59. a component whose size field lies */
	hello_spec(&spec);
	check_method_size_lie(&spec, 3, "Method.cap", __LINE__);
	/* 60. the same component twice */
	hello_spec(&spec);
	spec.malform = CAPGEN_MAL_DUPLICATE;
	spec.malform_tag = CAPGEN_METHOD;
	build_cap(&spec, &zip);
	bad_cap(__LINE__, zip.data, zip.len, CPK_ERR_PARSE,
	    "CAP 'x.cap' has two zip entries of the same name (a component stored twice?)");
	/* 61. not a zip at all */
	bad_cap(__LINE__, (const uint8_t *)"hello, world", 12, CPK_ERR_PARSE,
	    "CAP 'x.cap' is not a readable zip file: Not a zip archive");
	/* 62. two packages in one file */
	hello_spec(&spec);
	build_cap(&spec, &zip);
	CHECK_OK(cap_open_buffer("good.cap", zip.data, zip.len, &good, &err));
	CHECK_OK(cpk_buf_set(&hdr, good->comp[CPK_CAP_HEADER].data, good->comp[CPK_CAP_HEADER].len,
	    NULL));
	names[0] = "com/example/hello/javacard/Header.cap";
	names[1] = "com/example/other/javacard/Method.cap";
	data[0] = &hdr;
	data[1] = &good->comp[CPK_CAP_METHOD];
	make_zip(&zip, names, data, 2);
	cap_free(&good);
	bad_cap(__LINE__, zip.data, zip.len, CPK_ERR_UNSUPPORTED,
	    "CAP 'x.cap' holds two packages ('com/example/hello' and 'com/example/other'): cpk "
	    "loads one package per CAP file");
	/* 63. a component larger than its limit, refused before it is read */
	CHECK_OK(cpk_buf_reserve(&big, 600000, NULL));
	memset(big.data, 0, 600000);
	big.len = 600000;
	names[0] = "p/javacard/Method.cap";
	data[0] = &big;
	make_zip(&zip, names, data, 1);
	bad_cap(__LINE__, zip.data, zip.len, CPK_ERR_RANGE,
	    "CAP 'x.cap': p/javacard/Method.cap is 600000 bytes, more than the limit of 524288 "
	    "for one component");
	/* 64. applets announced, no Applet component: the shared LFDB parser says so */
	hello_spec(&spec);
	spec.malform = CAPGEN_MAL_NO_APPLET;
	build_cap(&spec, &zip);
	cpk_error_clear(&err);
	CHECK_STATUS(cap_open_buffer("x.cap", zip.data, zip.len, &good, &err), CPK_ERR_PARSE);
	CHECK(good == NULL);
	CHECK(strncmp(err.msg, "CAP 'x.cap': ", 13) == 0);
	/* 65. a zip with no components */
	names[0] = "META-INF/MANIFEST.MF";
	data[0] = &hdr;
	make_zip(&zip, names, data, 1);
	bad_cap(__LINE__, zip.data, zip.len, CPK_ERR_PARSE,
	    "CAP 'x.cap' holds no Java Card components (no <package>/javacard/*.cap entries)");
	cpk_buf_free(&zip);
	cpk_buf_free(&big);
	cpk_buf_free(&hdr);
}

/*
 * The components of a capgen CAP plus a StaticResources.capx entry: dropped
 * from a compact CAP (as before CAP 2.3), loaded from an extended one, where
 * the Directory must list its size.
 */
static void
test_cap_static_resources(void)
{
	static const uint8_t sr[] = { 0x0D, 0x00, 0x00, 0x00, 0x02, 0xAB, 0xCD };
	struct capgen_spec spec;
	struct cpk_buf zip = CPK_BUF_INIT, lfdb = CPK_BUF_INIT, want = CPK_BUF_INIT;
	struct cpk_buf srb = { .data = (uint8_t *)sr, .len = sizeof(sr) };
	const char *names[CPK_CAP_TAG_MAX + 1];
	const struct cpk_buf *data[CPK_CAP_TAG_MAX + 1];
	char paths[CPK_CAP_TAG_MAX + 1][96];
	struct cap_file *cap = NULL, *with = NULL;
	struct cpk_error err;
	unsigned tag;
	size_t n;
	int pass;

	for (pass = 0; pass < 2; pass++) {
		hello_spec(&spec);
		spec.extended = pass == 1;
		build_cap(&spec, &zip);
		cpk_error_clear(&err);
		if (!CHECK_OK(cap_open_buffer("good.cap", zip.data, zip.len, &cap, &err)))
			break;
		for (n = 0, tag = 1; tag <= CPK_CAP_TAG_MAX; tag++) {
			if (!cap->present[tag])
				continue;
			snprintf(paths[n], sizeof(paths[n]), "com/example/hello/javacard/%s.cap",
			    cpk_cap_component_name(tag));
			names[n] = paths[n];
			data[n++] = &cap->comp[tag];
		}
		names[n] = "com/example/hello/javacard/StaticResources.capx";
		data[n++] = &srb;
		make_zip(&zip, names, data, n);
		cpk_error_clear(&err);
		if (pass == 0) {
			CHECK_OK(cap_open_buffer("sr.cap", zip.data, zip.len, &with, &err));
			CHECK(with != NULL && !with->present[CPK_CAP_STATIC_RESOURCES]);
			if (with != NULL) {
				CHECK_OK(cap_build_lfdb(with, true, &lfdb, NULL, &err));
				CHECK_OK(cap_build_lfdb(cap, true, &want, NULL, &err));
				CHECK_MEM(lfdb.data, lfdb.len, want.data, want.len);
			}
		} else {
			CHECK_STATUS(cap_open_buffer("sr.cap", zip.data, zip.len, &with, &err),
			    CPK_ERR_PARSE);
			CHECK_STR(err.msg, "CAP 'sr.cap': load file data block: Directory component "
			    "lists 0 bytes for the StaticResources component, which has 2");
		}
		cap_free(&with);
		cap_free(&cap);
	}
	cpk_buf_free(&zip);
	cpk_buf_free(&lfdb);
	cpk_buf_free(&want);
}

static void
test_cap_valid(void)
{
	struct capgen_spec spec;
	struct cpk_buf zip = CPK_BUF_INIT, lfdb = CPK_BUF_INIT, want = CPK_BUF_INIT;
	struct cap_file *cap = NULL;
	struct cpk_error err;
	uint8_t h[CAP_HASH_MAX], aid[16];
	size_t hlen, n;

	/* Entries in a shuffled order, a Debug component that is never loaded. */
	hello_spec(&spec);
	spec.shuffle = true;
	spec.cap_minor = 2;
	spec.debug = true;
	build_cap(&spec, &zip);
	cpk_error_clear(&err);
	if (!CHECK_OK(cap_open_buffer("hello.cap", zip.data, zip.len, &cap, &err))) {
		fprintf(stderr, "  %s\n", err.msg);
		goto out;
	}
	CHECK_STR(cap->package_path, "com/example/hello");
	CHECK_HEX(cap->info.pkg_aid, cap->info.pkg_aid_len, HELLO_PKG);
	CHECK(cap->info.napplets == 1);
	n = test_unhex(HELLO_APPLET, aid, sizeof(aid));
	CHECK(cap_has_applet(cap, aid, n));
	CHECK(!cap_has_applet(cap, aid, n - 1));
	/* The LFDB is exactly what the generator says a loader must build. */
	CHECK_OK(cap_build_lfdb(cap, true, &lfdb, NULL, &err));
	CHECK_OK(capgen_lfdb(&spec, true, &want, &err));
	CHECK_MEM(lfdb.data, lfdb.len, want.data, want.len);
	CHECK_OK(cap_build_lfdb(cap, false, &lfdb, NULL, &err));
	CHECK_OK(capgen_lfdb(&spec, false, &want, &err));
	CHECK_MEM(lfdb.data, lfdb.len, want.data, want.len);
	/* Hashes: FIPS 180 "abc" vectors. */
	CHECK_OK(cap_hash(CAP_HASH_SHA256, (const uint8_t *)"abc", 3, h, &hlen, &err));
	CHECK_HEX(h, hlen, "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD");
	CHECK_OK(cap_hash(CAP_HASH_SHA1, (const uint8_t *)"abc", 3, h, &hlen, &err));
	CHECK_HEX(h, hlen, "A9993E364706816ABA3E25717850C26C9CD0D89D");
	CHECK_OK(cap_hash(CAP_HASH_NONE, (const uint8_t *)"abc", 3, h, &hlen, &err));
	CHECK(hlen == 0);
	cap_free(&cap);
	/* From a file. */
	CHECK_OK(cap_open_file(tpath("hello.cap"), &cap, &err));
	CHECK(cap != NULL && cap->present[CPK_CAP_DESCRIPTOR]);
	cap_free(&cap);
	/* Extended format: a Method component over 64 KB (.capx, u4 size). */
	hello_spec(&spec);
	spec.extended = true;
	spec.lfdb_size = 200000;
	build_cap(&spec, &zip);
	cpk_error_clear(&err);
	if (!CHECK_OK(cap_open_buffer("big.cap", zip.data, zip.len, &cap, &err))) {
		fprintf(stderr, "  %s\n", err.msg);
		goto out;
	}
	/* Block 0, three filler blocks of 65535 bytes and one for the rest. */
	CHECK(cap->info.extended && cap->info.method_blocks == 5 && cap->info.npackages == 1);
	CHECK(cap->comp[CPK_CAP_METHOD].len > 65538);
	CHECK_HEX(cap->info.pkg_aid, cap->info.pkg_aid_len, HELLO_PKG);
	CHECK_OK(cap_build_lfdb(cap, true, &lfdb, NULL, &err));
	CHECK(lfdb.len == 200000);
	CHECK_OK(capgen_lfdb(&spec, true, &want, &err));
	CHECK_MEM(lfdb.data, lfdb.len, want.data, want.len);
	CHECK_OK(cap_build_lfdb(cap, false, &lfdb, NULL, &err));
	CHECK_OK(capgen_lfdb(&spec, false, &want, &err));
	CHECK_MEM(lfdb.data, lfdb.len, want.data, want.len);
out:
	cap_free(&cap);
	cpk_buf_free(&zip);
	cpk_buf_free(&lfdb);
	cpk_buf_free(&want);
}

/* --- binding a profile to cards --- */

/*
 * block-size: max: the LOAD block per card record (extended length or not),
 * and the refusals that say what the card takes.
 */
static void
test_block_max(void)
{
	static const char text[] =
	    "profile: 1\nname: big\nsecurity-domain:\n  aid: A000000151000000\n"
	    "  scp: 03\n  i: 70\n  kvn: 30\n  security-level: c-mac+c-dec+r-mac\n"
	    "keys:\n  file: aes.yaml\nsteps:\n  - load:\n      cap: big.cap\n"
	    "      block-size: max\n";
	static const char *const cards[] = {
		CARD, CARD "max-command: 65535\n", CARD "max-command: 300\n",
		CARD "max-command: 262\n",
	};
	static const char *const want[] = {
		NULL, NULL,
		"p.yaml:14:19: load file is 82,005 bytes; this card takes at most 69,376 bytes "
		"in 256 LOAD commands of 271 bytes at level 13 (max-command 300 in its card record)",
		"p.yaml:14:19: load file is 82,005 bytes; this card takes at most 61,184 bytes "
		"in 256 short LOAD commands at level 13 (max-command 262 in its card record)",
	};
	struct capgen_spec spec;
	struct profile *p = NULL;
	struct card_record c;
	struct cpk_error err;
	size_t k, block;

	hello_spec(&spec);
	spec.lfdb_size = 82000;
	make_cap("big.cap", &spec);
	if (!CHECK_OK(profile_text(text, &p, &err))) {
		fprintf(stderr, "  %s:%u:%u: %s\n", err.file, err.line, err.col, err.msg);
		return;
	}
	CHECK(p->steps[0].u.load.block_max);
	for (k = 0; k < sizeof(cards) / sizeof(cards[0]); k++) {
		CHECK_OK(card_parse_yaml("c.yaml", (const uint8_t *)cards[k], strlen(cards[k]), &c,
		    &err));
		cpk_error_clear(&err);
		if (k == 0) {
			CHECK_STATUS(profile_check_card(p, &c, &err), CPK_ERR_RANGE);
			EXPECT_ERROR(&err, "p.yaml:14:19: load file is 82,005 bytes; this card takes "
			    "at most 61,184 bytes in 256 short LOAD commands at level 13 (no "
			    "extended length in its card record)");
		} else if (k == 1) {
			CHECK_OK(profile_check_card(p, &c, &err));
			CHECK_OK(profile_load_block(p, &p->steps[0].u.load, &c, &block, &err));
			CHECK(block == 65519);
		} else {
			CHECK_STATUS(profile_check_card(p, &c, &err), CPK_ERR_RANGE);
			EXPECT_ERROR(&err, "%s", want[k]);
		}
		card_record_clear(&c);
	}
	profile_free(&p);
	/* A channel that stays short (SCP02 with R-MAC) is refused without a card. */
	bad_profile(__LINE__, "profile: 1\nname: big\nsecurity-domain:\n  aid: A000000151000000\n"
	    "  scp: 02\n  i: 75\n  kvn: 01\n  security-level: c-mac+c-dec+r-mac\n"
	    "keys:\n  file: des.yaml\nsteps:\n  - load:\n      cap: big.cap\n"
	    "      block-size: max\n",
	    "p.yaml:14:19: the load file of 82005 bytes needs 344 LOAD commands of 239 bytes; "
	    "at most 256 are possible (block numbers 00-FF)");
	/* A number is still a number from 1 to 255. */
	bad_profile(__LINE__, HEAD "      block-size: maximum\n",
	    "p.yaml:14:19: 'block-size' must be auto, max or a whole number from 1 to 255, got "
	    "'maximum'");
}

static void
test_render(void)
{
	static const char text[] = HEAD
	    "  - store-data:\n"
	    "      format: dgi\n"
	    "      items:\n"
	    "        - dgi: \"0101\"\n"
	    "          value: 01${card.serial}02${card.cin}${data.pin}${text:data.pin}\n";
	static const char card_text[] = CARD "cin: AABB\ndata:\n  pin: \"1234\"\n";
	static const char card_nocin[] = CARD "data:\n  pin: \"1234\"\n";
	static const char card_badpin[] = CARD "cin: AABB\ndata:\n  pin: \"12x4\"\n";
	struct profile *p = NULL;
	struct card_record c;
	struct cpk_buf out = CPK_BUF_INIT;
	struct cpk_error err;
	char *with_data;

	/* Undeclared data is refused (test 23); declare it. */
	with_data = malloc(strlen(text) + 32);
	if (with_data == NULL)
		abort();
	snprintf(with_data, strlen(text) + 32, "data: [pin]\n%s", text);
	if (!CHECK_OK(profile_text(with_data, &p, &err))) {
		fprintf(stderr, "  %s:%u:%u: %s\n", err.file, err.line, err.col, err.msg);
		free(with_data);
		return;
	}
	CHECK_OK(card_parse_yaml("c.yaml", (const uint8_t *)card_text, strlen(card_text), &c, &err));
	CHECK_OK(profile_check_card(p, &c, &err));
	/* 01 | "CARD-0001" | 02 | AABB | 1234 (hex) | "1234" (text) */
	CHECK_OK(profile_render(p, &p->steps[1].u.store.items[0].value, &c, &out, &err));
	CHECK_HEX(out.data, out.len, "01434152442D3030303102AABB123431323334");
	card_record_clear(&c);
	/* 66. a card without the field a placeholder needs */
	CHECK_OK(card_parse_yaml("c.yaml", (const uint8_t *)card_nocin, strlen(card_nocin), &c, &err));
	CHECK_STATUS(profile_check_card(p, &c, &err), CPK_ERR_NOT_FOUND);
	EXPECT_ERROR(&err, "p.yaml:19:18: ${card.cin} needs the card's 'cin', which the card "
	    "record does not give");
	card_record_clear(&c);
	/* 67. per-card data that is not hex where hex is needed */
	CHECK_OK(card_parse_yaml("c.yaml", (const uint8_t *)card_badpin, strlen(card_badpin), &c,
	    &err));
	CHECK_STATUS(profile_check_card(p, &c, &err), CPK_ERR_PARSE);
	EXPECT_ERROR(&err, "p.yaml:19:18: per-card data 'pin' must be hex for '${data.pin}' "
	    "(write '${text:data.pin}' for text)");
	card_record_clear(&c);
	/* 68. a card of another protocol */
	CHECK_OK(card_parse_yaml("c.yaml", (const uint8_t *)
	    "sd-aid: A000000151000000\nscp: 02\ni: 55\nkvn: 30\nkdd: 00010203040506070809\n"
	    "counter: 0001\n", 86, &c, &err));
	CHECK_STATUS(profile_check_card(p, &c, &err), CPK_ERR_PARSE);
	EXPECT_ERROR(&err, "the card uses SCP02 i=55, but the profile is written for SCP03 i=70");
	card_record_clear(&c);
	cpk_buf_free(&out);
	profile_free(&p);
	free(with_data);
}

/* --- hostile input: every byte of valid inputs replaced, no crash, no partial result --- */

static void
test_mutations(void)
{
	static const char replace[] = { '\0', '"', ':', '$', '{', '\n', '-', (char)0xFF };
	static const char json[] =
	    "{\"sd-aid\":\"A000000151000000\",\"scp\":\"03\",\"i\":\"70\",\"kvn\":\"30\","
	    "\"kdd\":\"00010203040506070809\",\"counter\":\"000001\",\"data.x\":\"\\u00e9\"}";
	static const char csv[] = "A000000151000000,03,70,30,00010203040506070809,000001,\"a\"\"b\"";
	static const char hdr[] = "sd-aid,scp,i,kvn,kdd,counter,data.x";
	char *text = read_source("profiles/personalize.yaml");
	struct capgen_spec spec;
	struct cpk_buf zip = CPK_BUF_INIT;
	struct card_csv_header h;
	struct profile *p;
	struct card_record c;
	struct cap_file *cap;
	struct cpk_error err;
	char buf[4096];
	size_t i, k, n, bad = 0;

	CHECK_OK(card_csv_header_parse("c.csv", 1, hdr, strlen(hdr), &h, &err));
	n = strlen(text) < sizeof(buf) ? strlen(text) : sizeof(buf);
	for (i = 0; i < n; i++) {
		for (k = 0; k < sizeof(replace); k++) {
			memcpy(buf, text, n);
			buf[i] = replace[k];
			p = NULL;
			if (profile_parse("m.yaml", tmpdir, (const uint8_t *)buf, n, &p, &err) != CPK_OK &&
			    p != NULL)
				bad++;
			profile_free(&p);
		}
	}
	for (i = 0; i < sizeof(json) - 1; i++) {
		for (k = 0; k < sizeof(replace); k++) {
			memcpy(buf, json, sizeof(json) - 1);
			buf[i] = replace[k];
			if (card_parse_json("m.jsonl", 1, buf, sizeof(json) - 1, &c, &err) != CPK_OK &&
			    c.ndata != 0)
				bad++;
			card_record_clear(&c);
		}
	}
	for (i = 0; i < sizeof(csv) - 1; i++) {
		for (k = 0; k < sizeof(replace); k++) {
			memcpy(buf, csv, sizeof(csv) - 1);
			buf[i] = replace[k];
			if (card_parse_csv(&h, "m.csv", 2, buf, sizeof(csv) - 1, &c, &err) != CPK_OK &&
			    c.ndata != 0)
				bad++;
			card_record_clear(&c);
		}
	}
	hello_spec(&spec);
	build_cap(&spec, &zip);
	for (i = 0; i < zip.len; i++) {
		uint8_t old = zip.data[i];

		zip.data[i] ^= 0x5A;
		cap = NULL;
		if (cap_open_buffer("m.cap", zip.data, zip.len, &cap, &err) != CPK_OK && cap != NULL)
			bad++;
		cap_free(&cap);
		zip.data[i] = old;
	}
	CHECK(bad == 0);
	card_csv_header_free(&h);
	cpk_buf_free(&zip);
	free(text);
}

/* --- the example profiles --- */

static void
example(const char *name, const char *card_text)
{
	struct profile_opts opts = { .keydir = tmpdir };
	struct profile *p = NULL;
	struct card_record c;
	struct cpk_error err;
	char rel[128], *text;

	snprintf(rel, sizeof(rel), "profiles/%s", name);
	text = read_source(rel);
	write_text(name, text, 0644);
	free(text);
	cpk_error_clear(&err);
	if (!test_check_status(profile_load(tpath(name), &opts, &p, &err), CPK_OK, name, __FILE__,
	    __LINE__)) {
		fprintf(stderr, "  %s:%u:%u: %s\n", err.file, err.line, err.col, err.msg);
		return;
	}
	if (CHECK_OK(card_parse_yaml("card.yaml", (const uint8_t *)card_text, strlen(card_text), &c,
	    &err))) {
		if (!test_check_status(profile_check_card(p, &c, &err), CPK_OK, name, __FILE__,
		    __LINE__))
			fprintf(stderr, "  %s\n", err.msg);
		card_record_clear(&c);
	}
	profile_free(&p);
}

static void
test_examples(void)
{
	static const char scp03_card[] =
	    "sd-aid: A000000151000000\nscp: 03\ni: 70\nkvn: 30\nkdd: 00010203040506070809\n"
	    "counter: 000001\nserial: CARD-0001\ncin: 0102030405060708\n"
	    "data:\n  holder: Ada Lovelace\n";
	static const char scp02_card[] =
	    "sd-aid: A000000151000000\nscp: 02\ni: 75\nkvn: 01\nkdd: 00010203040506070809\n"
	    "counter: 0001\nserial: CARD-0002\n";
	char *k;

	/* The shipped test keys, with the mode cardc wants, in the -k folder. */
	k = read_source("keys/gp-test-keys-aes.yaml");
	write_text("gp-test-keys-aes.yaml", k, 0600);
	free(k);
	k = read_source("keys/gp-test-keys.yaml");
	write_text("gp-test-keys.yaml", k, 0600);
	/* The rotation's new key set: the same keys as version 02. */
	k[strstr(k, "kvn: \"01\"") - k + 7] = '2';
	write_text("new-keys.yaml", k, 0600);
	free(k);
	example("install-applet.yaml", scp03_card);
	example("reinstall.yaml", scp03_card);
	example("personalize.yaml", scp03_card);
	example("generate-key.yaml", scp03_card);
	example("rotate-keys.yaml", scp02_card);
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: test_inputs SOURCE_ROOT\n");
		return 2;
	}
	srcroot = argv[1];
	setup();
	test_profile_schema_errors();
	test_profile_semantic_errors();
	test_profile_valid();
	test_profile_load_params_auto();
	test_profile_table_steps();
	test_profile_dap();
	test_dm_tokens();
	test_dm_receipts();
	test_profile_dm();
	test_card_errors();
	test_ydoc_locate();
	test_card_valid();
	test_card_session_without_counter();
	test_profile_paths();
	test_keyset_errors();
	test_keyset_no_values();
	test_signing_key_no_values();
	test_ownership();
	test_keyset_valid();
	test_cap_errors();
	test_cap_static_resources();
	test_cap_valid();
	test_render();
	test_block_max();
	test_mutations();
	test_examples();
	teardown();
	return test_summary("inputs");
}
