/* SPDX-License-Identifier: BSD-2-Clause */
/* cpk unit tests: the bundle fixture, a raw zip builder, file helpers. */
#include "bundle_fixture.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

static void
die(const char *what, const char *detail)
{
	fprintf(stderr, "test fixture: %s: %s\n", what, detail);
	abort();
}

static size_t
unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;

	if (cpk_hex_decode(hex, strlen(hex), out, cap, &n, NULL) != CPK_OK)
		die("bad hex", hex);
	return n;
}

void
fixture_manifest(struct cpk_manifest *m)
{
	memset(m, 0, sizeof(*m));
	m->format = CPK_BUNDLE_FORMAT;
	snprintf(m->compiler, sizeof(m->compiler), "cpk golden-test");
	snprintf(m->profile, sizeof(m->profile), "install \"demo\" applet \\ v1");
	unhex("3C6F8E4F0B9A1D2E5F7081926A3B4C5D6E7F8091A2B3C4D5E6F708192A3B4C5D",
	    m->profile_sha256, sizeof(m->profile_sha256));
	m->created = 1700000000;
	m->mode = CPK_MODE_OFFLINE;
	snprintf(m->serial, sizeof(m->serial), "CARD-0001");
	unhex("00010203040506070809", m->kdd, sizeof(m->kdd));
	m->sd_aid_len = unhex("A000000151000000", m->sd_aid, sizeof(m->sd_aid));
	m->iin_len = unhex("42018F", m->iin, sizeof(m->iin));
	m->scp = 3;
	m->i = 0x70;
	m->kvn = 0x30;
	m->level = 0x33;
	m->counter_len = unhex("000016", m->counter, sizeof(m->counter));
	unhex("F0E1D2C3B4A59687", m->host_challenge, sizeof(m->host_challenge));
	m->has_host_challenge = true;
	m->iu_response_len = unhex("00010203040506070809" "30" "03" "70"
	    "1122334455667788" "99AABBCCDDEEFF00" "000016", m->iu_response,
	    sizeof(m->iu_response));
}

void
fixture_command(struct cpk_command *c, const char *label, const char *apdu_hex, uint8_t flags,
    const char *sw1, const char *sw2)
{
	uint8_t *apdu;
	size_t cap = strlen(apdu_hex) / 2 + 1;

	memset(c, 0, sizeof(*c));
	snprintf(c->label, sizeof(c->label), "%s", label);
	/* Owned by the fixture for the life of the test program. */
	if ((apdu = malloc(cap)) == NULL)
		die("malloc", "apdu");
	c->apdu = apdu;
	c->apdu_len = unhex(apdu_hex, apdu, cap);
	c->flags = flags;
	if (cpk_sw_pattern_parse(sw1, &c->sw[0], NULL) != CPK_OK)
		die("bad status word", sw1);
	c->nsw = 1;
	if (sw2 != NULL) {
		if (cpk_sw_pattern_parse(sw2, &c->sw[1], NULL) != CPK_OK)
			die("bad status word", sw2);
		c->nsw = 2;
	}
}

void
fixture_commands(struct cpk_command cmds[FIXTURE_COMMANDS])
{
	static char big[2 * (7 + 300) + 1];
	size_t i;

	/* An extended STORE DATA: 84 E2 80 00, 00 012C, 300 bytes. */
	snprintf(big, sizeof(big), "84E2800000012C");
	for (i = 0; i < 300; i++)
		snprintf(big + 14 + 2 * i, 3, "%02X", (unsigned)(i & 0xff));

	fixture_command(&cmds[0], "SELECT ISD", "00A4040008A00000015100000000", 0, "9000",
	    "61xx");
	fixture_command(&cmds[1], "INITIALIZE UPDATE", "8050300008F0E1D2C3B4A5968700",
	    CPK_CMD_INIT_UPDATE, "9000", NULL);
	fixture_command(&cmds[2], "EXTERNAL AUTHENTICATE",
	    "84823300100102030405060708A1A2A3A4A5A6A7A8", CPK_CMD_EXT_AUTH | CPK_CMD_SECURED,
	    "9000", NULL);
	fixture_command(&cmds[3], "DELETE A0000000620301",
	    "84E400001A4F07A0000000620301B1B2B3B4B5B6B7B8B9BABBBCBDBEBFC0C1", CPK_CMD_SECURED,
	    "9000", "6A88");
	fixture_command(&cmds[4], "LOAD 1/2", "84E80000100102030405060708090A0B0C0D0E0F10",
	    CPK_CMD_SECURED, "9000", NULL);
	fixture_command(&cmds[5], "LOAD 2/2", "84E88001081112131415161718",
	    CPK_CMD_SECURED, "9000", NULL);
	fixture_command(&cmds[6], "PUT KEY \xe2\x80\x94 rotate", "84D801300AAABBCCDDEEFF00112233",
	    CPK_CMD_SECURED, "9000", NULL);
	fixture_command(&cmds[7], "STORE DATA (extended)", big, CPK_CMD_SECURED, "9000", "6A80");
	fixture_command(&cmds[8], "GET STATUS", "84F2800210DEADBEEFDEADBEEFDEADBEEFDEADBEEF00",
	    CPK_CMD_SECURED, "9000", "6310");
}

/* --- raw zip --- */

uint32_t
zraw_crc32(const uint8_t *p, size_t n)
{
	uint32_t crc = 0xffffffffu;
	size_t i;
	int k;

	for (i = 0; i < n; i++) {
		crc ^= p[i];
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
	}
	return ~crc;
}

static void
put16(struct cpk_buf *b, unsigned v)
{
	uint8_t t[2] = { (uint8_t)v, (uint8_t)(v >> 8) };

	if (cpk_buf_append(b, t, 2, NULL) != CPK_OK)
		die("zraw", "append");
}

static void
put32(struct cpk_buf *b, uint32_t v)
{
	put16(b, v & 0xffff);
	put16(b, v >> 16);
}

static void
putbytes(struct cpk_buf *b, const void *p, size_t n)
{
	if (cpk_buf_append(b, p, n, NULL) != CPK_OK)
		die("zraw", "append");
}

/* The fields local and central headers share, from "version needed" on. */
static void
common_fields(struct cpk_buf *b, const struct zraw_entry *e, size_t name_len)
{
	uint32_t size = e->claim_size != 0 ? e->claim_size : (uint32_t)e->len;
	uint32_t crc = zraw_crc32(e->data, e->len);

	put16(b, 10);		/* version needed */
	put16(b, e->flags);
	put16(b, e->method);
	put16(b, 0);		/* time */
	put16(b, 0x21);		/* date 1980-01-01 */
	put32(b, e->bad_crc ? crc ^ 1u : crc);
	put32(b, size);
	put32(b, size);
	put16(b, (unsigned)name_len);
	put16(b, 0);		/* extra */
}

void
zraw_build(const struct zraw_entry *e, size_t n, struct cpk_buf *out)
{
	uint32_t offsets[16];
	size_t i, cd_start, cd_size, start = out->len;

	if (n > 16)
		die("zraw", "too many entries");
	for (i = 0; i < n; i++) {
		size_t nl = e[i].name_len != 0 ? e[i].name_len : strlen(e[i].name);

		offsets[i] = (uint32_t)(out->len - start);
		put32(out, 0x04034b50);
		common_fields(out, &e[i], nl);
		putbytes(out, e[i].name, nl);
		putbytes(out, e[i].data, e[i].len);
	}
	cd_start = out->len;
	for (i = 0; i < n; i++) {
		size_t nl = e[i].name_len != 0 ? e[i].name_len : strlen(e[i].name);

		put32(out, 0x02014b50);
		put16(out, 0x033f);	/* made by: Unix, 6.3 */
		common_fields(out, &e[i], nl);
		put16(out, 0);		/* comment */
		put16(out, 0);		/* disk */
		put16(out, 0);		/* internal attributes */
		put32(out, 0100644u << 16);
		put32(out, offsets[i]);
		putbytes(out, e[i].name, nl);
	}
	cd_size = out->len - cd_start;
	put32(out, 0x06054b50);
	put16(out, 0);
	put16(out, 0);
	put16(out, (unsigned)n);
	put16(out, (unsigned)n);
	put32(out, (uint32_t)cd_size);
	put32(out, (uint32_t)(cd_start - start));
	put16(out, 0);
}

void
zraw_split_entries(const struct split_bundle *s, struct zraw_entry e[3])
{
	memset(e, 0, 3 * sizeof(*e));
	e[0].name = CPK_ENTRY_MANIFEST;
	e[0].data = s->manifest.data;
	e[0].len = s->manifest.len;
	e[1].name = CPK_ENTRY_SIGNATURE;
	e[1].data = s->sig.data;
	e[1].len = s->sig.len;
	e[2].name = CPK_ENTRY_SCRIPT;
	e[2].data = s->script.data;
	e[2].len = s->script.len;
}

void
zraw_bundle(const uint8_t *manifest, size_t mlen, const uint8_t *sig, size_t slen,
    const uint8_t *script, size_t sclen, struct cpk_buf *out)
{
	struct split_bundle s = {
		{ (uint8_t *)manifest, mlen, mlen }, { (uint8_t *)sig, slen, slen },
		{ (uint8_t *)script, sclen, sclen },
	};
	struct zraw_entry e[3];

	zraw_split_entries(&s, e);
	zraw_build(e, 3, out);
}

void
split_bundle(const uint8_t *p, size_t n, struct split_bundle *out)
{
	struct cpk_buf *dst[3];
	zip_error_t ze;
	zip_source_t *src;
	zip_t *za;
	zip_stat_t sb;
	zip_file_t *zf;
	zip_uint64_t i;

	memset(out, 0, sizeof(*out));
	dst[0] = &out->manifest;
	dst[1] = &out->sig;
	dst[2] = &out->script;
	zip_error_init(&ze);
	if ((src = zip_source_buffer_create(p, n, 0, &ze)) == NULL ||
	    (za = zip_open_from_source(src, ZIP_RDONLY, &ze)) == NULL)
		die("split", zip_error_strerror(&ze));
	for (i = 0; i < 3; i++) {
		if (zip_stat_index(za, i, 0, &sb) != 0 || (zf = zip_fopen_index(za, i, 0)) == NULL)
			die("split", zip_strerror(za));
		if (cpk_buf_reserve(dst[i], (size_t)sb.size, NULL) != CPK_OK ||
		    zip_fread(zf, dst[i]->data, sb.size) != (zip_int64_t)sb.size)
			die("split", "read");
		dst[i]->len = (size_t)sb.size;
		zip_fclose(zf);
	}
	zip_discard(za);
	zip_error_fini(&ze);
}

void
split_bundle_free(struct split_bundle *s)
{
	cpk_buf_free(&s->manifest);
	cpk_buf_free(&s->sig);
	cpk_buf_free(&s->script);
}

const void *
find_mem(const void *hay, size_t n, const void *needle, size_t m)
{
	const uint8_t *h = hay;
	size_t i;

	for (i = 0; m <= n && i <= n - m; i++) {
		if (memcmp(h + i, needle, m) == 0)
			return h + i;
	}
	return NULL;
}

/* --- files --- */

void
slurp(const char *path, struct cpk_buf *out)
{
	uint8_t chunk[4096];
	ssize_t r;
	int fd;

	if ((fd = open(path, O_RDONLY)) < 0)
		die(path, strerror(errno));
	while ((r = read(fd, chunk, sizeof(chunk))) > 0) {
		if (cpk_buf_append(out, chunk, (size_t)r, NULL) != CPK_OK)
			die(path, "append");
	}
	if (r < 0)
		die(path, strerror(errno));
	close(fd);
}

void
spit(const char *path, const void *p, size_t n, unsigned mode)
{
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, (mode_t)mode)) < 0)
		die(path, strerror(errno));
	if (write(fd, p, n) != (ssize_t)n || fchmod(fd, (mode_t)mode) != 0)
		die(path, strerror(errno));
	close(fd);
}

char *
path_join(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *s = malloc(n);

	if (s == NULL)
		die("malloc", "path");
	snprintf(s, n, "%s/%s", a, b);
	return s;
}

char *
temp_dir(void)
{
	const char *base = getenv("TMPDIR");
	char *t = path_join(base != NULL && base[0] != '\0' ? base : "/tmp", "cpk-test-XXXXXX");

	if (mkdtemp(t) == NULL)
		die("mkdtemp", strerror(errno));
	return t;
}

void
remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char *p;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		struct stat sb;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		p = path_join(dir, de->d_name);
		if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode))
			remove_tree(p);
		else
			unlink(p);
		free(p);
	}
	closedir(d);
	rmdir(dir);
}

size_t
dir_count(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	if (d == NULL)
		die(dir, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	}
	closedir(d);
	return n;
}

/* A copy of a file of the checkout in dir, with the mode the tests need. */
static char *
copy_in(const char *srcroot, const char *rel, const char *dir, const char *name, unsigned mode)
{
	struct cpk_buf b = CPK_BUF_INIT;
	char *src = path_join(srcroot, rel);
	char *dst = path_join(dir, name);

	slurp(src, &b);
	spit(dst, b.data, b.len, mode);
	cpk_buf_free(&b);
	free(src);
	return dst;
}

char *
copy_test_key(const char *srcroot, const char *dir)
{
	/* git does not keep mode 0600; the copy gets it explicitly. */
	return copy_in(srcroot, FIXTURE_TEST_KEY, dir, "test-signing.key", 0600);
}

char *
copy_test_pub(const char *srcroot, const char *dir)
{
	/*
	 * A trust anchor must belong to the user running the test (or root)
	 * and be writable by nobody else: the checkout's file may not be.
	 */
	return copy_in(srcroot, FIXTURE_TEST_PUB, dir, "test-signing.pub", 0644);
}
