/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk unit tests: GlobalPlatform command builders (compiler/gp_cmd.c)
 * against byte strings derived by hand from PROTOCOLS.md / GP 2.3.1
 * chapter 11. Each expected value carries its derivation.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpk_bytes.h"
#include "gp_cmd.h"
#include "testlib.h"

static struct gp_aid
aid(const char *hex)
{
	struct gp_aid a;
	uint8_t b[GP_AID_MAX];
	size_t n = test_unhex(hex, b, sizeof(b));

	if (gp_aid_set(&a, b, n, NULL) != CPK_OK)
		abort();
	return a;
}

/* Collects the commands of a multi-command builder as one hex string per line. */
struct sink {
	char text[8192];
	size_t n;
	int count;
};

static cpk_status
sink_emit(void *ctx, const uint8_t *apdu, size_t n, struct cpk_error *err)
{
	struct sink *s = ctx;

	(void)err;
	if (s->n + 2 * n + 2 > sizeof(s->text))
		return CPK_ERR_RANGE;
	cpk_hex_encode(apdu, n, s->text + s->n, sizeof(s->text) - s->n);
	s->n += 2 * n;
	s->text[s->n++] = '\n';
	s->text[s->n] = '\0';
	s->count++;
	return CPK_OK;
}

static void
test_delete(void)
{
	struct cpk_buf b = CPK_BUF_INIT;
	struct gp_aid a = aid("A0000000620301");

	/* 80 E4 00 00, Lc = 2 + 7 = 09, 4F 07 AID */
	CHECK_OK(gp_cmd_delete(&a, false, &b, NULL));
	CHECK_HEX(b.data, b.len, "80E40000094F07A0000000620301");
	/* related objects: P2 80 */
	CHECK_OK(gp_cmd_delete(&a, true, &b, NULL));
	CHECK_HEX(b.data, b.len, "80E40080094F07A0000000620301");
	cpk_buf_free(&b);
}

static void
test_install_for_load(void)
{
	struct cpk_buf b = CPK_BUF_INIT;
	struct gp_aid pkg = aid("D27600008501"), sd = aid("A000000151000000");
	uint8_t params[6], hash[2] = { 0xAA, 0xBB };

	test_unhex("EF04C6020100", params, sizeof(params));
	/*
	 * 06 D27600008501 | 08 A000000151000000 | 00 (no hash) | 06 EF04C6020100 | 00
	 * = 7 + 9 + 1 + 7 + 1 = 25 = 0x19
	 */
	CHECK_OK(gp_cmd_install_for_load(&pkg, &sd, NULL, 0, params, 6, NULL, 0, &b, NULL));
	CHECK_HEX(b.data, b.len,
	    "80E6020019" "06D27600008501" "08A000000151000000" "00" "06EF04C6020100" "00");
	/* no SD, hash AABB, no params: 7 + 1 + 3 + 1 + 1 = 13 = 0x0D */
	CHECK_OK(gp_cmd_install_for_load(&pkg, NULL, hash, 2, NULL, 0, NULL, 0, &b, NULL));
	CHECK_HEX(b.data, b.len, "80E602000D" "06D27600008501" "00" "02AABB" "00" "00");
	cpk_buf_free(&b);
}

static void
test_load(void)
{
	struct cpk_buf file = CPK_BUF_INIT, b = CPK_BUF_INIT;
	struct cpk_error err;
	struct sink s;
	uint8_t lfdb[300];
	size_t count;

	/* C4, BER length 05, the LFDB */
	test_unhex("0102030405", lfdb, sizeof(lfdb));
	CHECK_OK(gp_load_file(lfdb, 5, &file, NULL));
	CHECK_HEX(file.data, file.len, "C4050102030405");
	/* 7 bytes in blocks of 4: 2 blocks; P1 80 on the last, P2 = block number */
	memset(&s, 0, sizeof(s));
	CHECK_OK(gp_cmd_load_all(file.data, file.len, 4, sink_emit, &s, NULL));
	CHECK_STR(s.text, "80E8000004C4050102\n80E8800103030405\n");
	/* BER length forms: 128 -> 81 80, 256 -> 82 01 00, 127 -> 7F */
	memset(lfdb, 0x11, sizeof(lfdb));
	CHECK_OK(gp_load_file(lfdb, 127, &file, NULL));
	CHECK_HEX(file.data, 2, "C47F");
	CHECK_OK(gp_load_file(lfdb, 128, &file, NULL));
	CHECK_HEX(file.data, 3, "C48180");
	CHECK_OK(gp_load_file(lfdb, 256, &file, NULL));
	CHECK_HEX(file.data, 4, "C4820100");
	CHECK(file.len == 260);
	/* 260 bytes in blocks of 255: blocks 0 (255 bytes, Lc FF) and 1 (5 bytes, last) */
	CHECK_OK(gp_cmd_load(file.data, file.len, 255, 1, &b, NULL));
	CHECK_HEX(b.data, b.len, "80E88001051111111111");
	CHECK_OK(gp_cmd_load(file.data, file.len, 255, 0, &b, NULL));
	CHECK_HEX(b.data, 9, "80E80000FFC4820100");
	CHECK(b.len == 5 + 255);
	/* 256 blocks is the most: 2560 bytes in blocks of 10 fit, 2561 do not */
	CHECK_OK(gp_load_block_count(2560, 10, &count, NULL));
	CHECK(count == 256);
	cpk_error_clear(&err);
	CHECK_STATUS(gp_load_block_count(2570, 10, &count, &err), CPK_ERR_RANGE);
	CHECK_STR(err.msg, "the load file of 2570 bytes needs 257 LOAD commands of 10 bytes; "
	    "at most 256 are possible (block numbers 00-FF)");
	/* Extended length: a block over 255 bytes carries 00 Lc1 Lc2. */
	CHECK_OK(gp_cmd_load(file.data, file.len, 256, 0, &b, NULL));
	CHECK_HEX(b.data, 11, "80E8000000" "0100" "C4820100");
	CHECK(b.len == 7 + 256);
	CHECK_STATUS(gp_load_block_count(2570, 65536, &count, &err), CPK_ERR_RANGE);
	CHECK_STR(err.msg, "LOAD block size 65536: must be 1 to 65535 bytes");
	cpk_buf_free(&file);
	cpk_buf_free(&b);
}

/* Load files above 65535 bytes: BER length 83, up to what the CAP format allows. */
static void
test_load_large(void)
{
	static uint8_t lfdb[GP_LFDB_MAX + 1];
	struct cpk_buf file = CPK_BUF_INIT, b = CPK_BUF_INIT;
	struct cpk_error err;
	size_t count;

	memset(lfdb, 0x22, sizeof(lfdb));
	CHECK_OK(gp_load_file(lfdb, 70000, &file, NULL));
	CHECK_HEX(file.data, 5, "C483011170");
	CHECK(file.len == 70005);
	CHECK_OK(gp_load_file(lfdb, GP_LFDB_MAX, &file, NULL));
	CHECK(file.len == 5 + 1048576);
	/* 256 blocks of 4097 bytes carry it; of 4096, not. */
	CHECK_OK(gp_load_block_count(file.len, 4097, &count, NULL));
	CHECK(count == 256);
	CHECK_STATUS(gp_load_block_count(file.len, 4096, &count, NULL), CPK_ERR_RANGE);
	CHECK_OK(gp_cmd_load(file.data, file.len, 65535, 16, &b, NULL));
	/* The last of 17: 1048581 - 16 x 65535 = 21 bytes, a short Lc again. */
	CHECK_HEX(b.data, 5, "80E8801015");
	CHECK_OK(gp_cmd_load(file.data, file.len, 65535, 10, &b, NULL));
	CHECK_HEX(b.data, 7, "80E8000A00FFFF");
	cpk_error_clear(&err);
	CHECK_STATUS(gp_load_file(lfdb, GP_LFDB_MAX + 1, &file, &err), CPK_ERR_RANGE);
	CHECK_STR(err.msg, "load file data block of 1048577 bytes: cpk loads at most 1048576 "
	    "(1 MiB)");
	cpk_buf_free(&file);
	cpk_buf_free(&b);
}

/*
 * A load file framed in place: the room before the block takes the tag and
 * length (gp_load_file_room: 2 to 5 bytes); more room than they need is
 * closed up; a block too large empties the buffer.
 */
static void
test_load_frame(void)
{
	static const uint8_t zeros[GP_LFDB_MAX + 5];
	struct cpk_buf io = CPK_BUF_INIT;
	struct cpk_error err;

	CHECK(gp_load_file_room(5) == 2 && gp_load_file_room(128) == 3 &&
	    gp_load_file_room(256) == 4 && gp_load_file_room(70000) == 5);
	CHECK_OK(cpk_buf_append(&io, zeros, 2, NULL));
	CHECK_OK(cpk_buf_append(&io, "\x01\x02\x03\x04\x05", 5, NULL));
	CHECK_OK(gp_load_file_frame(&io, 2, NULL));
	CHECK_HEX(io.data, io.len, "C4050102030405");
	io.len = 0;
	CHECK_OK(cpk_buf_append(&io, zeros, 5, NULL));
	CHECK_OK(cpk_buf_append(&io, "\x01\x02\x03", 3, NULL));
	CHECK_OK(gp_load_file_frame(&io, 5, NULL));
	CHECK_HEX(io.data, io.len, "C403010203");
	io.len = 0;
	CHECK_OK(cpk_buf_append(&io, zeros, sizeof(zeros), NULL));
	cpk_error_clear(&err);
	CHECK_STATUS(gp_load_file_frame(&io, 4, &err), CPK_ERR_RANGE);
	CHECK_STR(err.msg, "load file data block of 1048577 bytes: cpk loads at most 1048576 "
	    "(1 MiB)");
	CHECK(io.len == 0);
	/* Room too small for the header, or more room than bytes: refused, no write. */
	CHECK_OK(cpk_buf_append(&io, zeros, 2 + 300, NULL));
	cpk_error_clear(&err);
	CHECK_STATUS(gp_load_file_frame(&io, 2, &err), CPK_ERR_ARG);
	CHECK_STR(err.msg, "load file: a 4-byte header does not fit the 2 bytes left for it");
	CHECK(io.len == 0);
	CHECK_OK(cpk_buf_append(&io, zeros, 1, NULL));
	cpk_error_clear(&err);
	CHECK_STATUS(gp_load_file_frame(&io, 2, &err), CPK_ERR_ARG);
	CHECK_STR(err.msg, "load file: 1 bytes cannot hold a 2-byte header room");
	CHECK(io.len == 0);
	cpk_buf_free(&io);
}

static void
test_install(void)
{
	struct cpk_buf b = CPK_BUF_INIT;
	struct gp_install in;
	struct gp_aid inst = aid("A000000062030101");
	uint8_t params[2] = { 0x01, 0x02 }, sys[4] = { 0xC8, 0x02, 0x01, 0x00 };
	uint8_t priv = 0x04;

	memset(&in, 0, sizeof(in));
	in.package = aid("A0000000620301");
	in.module = inst;
	in.instance = inst;
	in.privileges_len = 1;
	/*
	 * 07 pkg | 08 module | 08 instance | 01 00 | 02 C9 00 | 00
	 * = 8 + 9 + 9 + 2 + 3 + 1 = 32 = 0x20
	 */
	CHECK_OK(gp_cmd_install(GP_INSTALL_FOR_INSTALL_AND_SELECTABLE, &in, &b, NULL));
	CHECK_HEX(b.data, b.len, "80E60C0020" "07A0000000620301" "08A000000062030101"
	    "08A000000062030101" "0100" "02C900" "00");
	/*
	 * for install only (04), 3-byte privileges 800000, C9 02 0102, EF 04 C8020100:
	 * install parameters field = C9 02 0102 EF 04 C8020100 = 10 bytes (0A)
	 * data = 8 + 9 + 9 + 4 + 11 + 1 = 42 = 0x2A
	 */
	in.privileges[0] = 0x80;
	in.privileges_len = 3;
	in.params = params;
	in.params_len = 2;
	in.system_params = sys;
	in.system_params_len = 4;
	in.has_system_params = true;
	CHECK_OK(gp_cmd_install(GP_INSTALL_FOR_INSTALL, &in, &b, NULL));
	CHECK_HEX(b.data, b.len, "80E604002A" "07A0000000620301" "08A000000062030101"
	    "08A000000062030101" "03800000" "0AC9020102EF04C8020100" "00");
	/* make selectable (08): 00 00 | 08 instance | 01 04 | 00 | 00 = 15 = 0x0F */
	CHECK_OK(gp_cmd_make_selectable(&inst, &priv, 1, &b, NULL));
	CHECK_HEX(b.data, b.len, "80E608000F" "0000" "08A000000062030101" "0104" "0000");
	/* personalization (20): 00 00 | 08 instance | 00 00 00 = 14 = 0x0E */
	CHECK_OK(gp_cmd_install_for_personalization(&inst, &b, NULL));
	CHECK_HEX(b.data, b.len, "80E620000E" "0000" "08A000000062030101" "000000");
	cpk_buf_free(&b);
}

/* "Encryption" for the tests: every byte inverted. */
static cpk_status
invert(void *ctx, const uint8_t *in, size_t n, struct cpk_buf *out, struct cpk_error *err)
{
	size_t i;
	cpk_status ret = CPK_OK;

	(void)ctx;
	for (i = 0; i < n && ret == CPK_OK; i++)
		ret = cpk_buf_append_byte(out, (uint8_t)~in[i], err);
	return ret;
}

static void
test_store_data(void)
{
	struct gp_store_item it[3];
	struct cpk_buf b = CPK_BUF_INIT;
	uint8_t v1[3] = { 0x11, 0x22, 0x33 }, v2[2] = { 0xAA, 0xBB }, v3[300], key[16];
	struct sink s;

	memset(it, 0, sizeof(it));
	it[0].id = 0x0101;
	it[0].value = v1;
	it[0].len = 3;
	it[1].id = 0x0202;
	it[1].value = v2;
	it[1].len = 2;
	/* Two plain DGIs packed in one command: 0101 03 112233 | 0202 02 AABB (11 = 0B);
	 * P1 = 08 (DGI) | 80 (last) = 88, P2 00 */
	memset(&s, 0, sizeof(s));
	CHECK_OK(gp_cmd_store_data_all(GP_STORE_DGI, it, 2, 247, NULL, NULL, sink_emit, &s, NULL));
	CHECK_STR(s.text, "80E288000B010103112233020202AABB\n");
	/*
	 * An encrypted DGI gets its own command, P1 bits 60 = 11 (GlobalPlatform:
	 * encrypted data): 08|60|80 = E8, P2 01;
	 * 8000 10 <16 inverted bytes> = 19 = 0x13
	 */
	test_unhex("00112233445566778899AABBCCDDEEFF", key, sizeof(key));
	it[1].id = 0x8000;
	it[1].value = key;
	it[1].len = 16;
	it[1].encrypt = true;
	memset(&s, 0, sizeof(s));
	CHECK_OK(gp_cmd_store_data_all(GP_STORE_DGI, it, 2, 247, invert, NULL, sink_emit, &s, NULL));
	CHECK_STR(s.text, "80E2080006010103112233\n"
	    "80E2E80113800010FFEEDDCCBBAA99887766554433221100\n");
	/* A 300-byte DGI: 0303 FF 012C (length >= 255: FF + 2 bytes) + 300 = 305 bytes,
	 * in blocks of 200: 200 (P1 08, P2 00) then 105 = 0x69 (P1 88, P2 01) */
	memset(v3, 0x5A, sizeof(v3));
	it[2].id = 0x0303;
	it[2].value = v3;
	it[2].len = 300;
	memset(&s, 0, sizeof(s));
	CHECK_OK(gp_cmd_store_data_all(GP_STORE_DGI, &it[2], 1, 200, NULL, NULL, sink_emit, &s,
	    NULL));
	CHECK(s.count == 2);
	CHECK(strncmp(s.text, "80E20800C80303FF012C5A5A", 24) == 0);
	CHECK(strncmp(s.text + 2 * 205 + 1, "80E28801695A5A", 14) == 0);
	/* 254 bytes: one length byte FE; 255: FF 00 FF */
	it[2].len = 254;
	CHECK_OK(gp_store_item_encode(GP_STORE_DGI, &it[2], NULL, NULL, &b, NULL));
	CHECK_HEX(b.data, 3, "0303FE");
	cpk_buf_reset(&b);
	it[2].len = 255;
	CHECK_OK(gp_store_item_encode(GP_STORE_DGI, &it[2], NULL, NULL, &b, NULL));
	CHECK_HEX(b.data, 5, "0303FF00FF");
	/* BER-TLV format: 5F20 03 414243, P1 = 10 | 80 = 90 */
	test_unhex("414243", v1, 3);
	it[0].id = 0x5F20;
	memset(&s, 0, sizeof(s));
	CHECK_OK(gp_cmd_store_data_all(GP_STORE_BER_TLV, it, 1, 247, NULL, NULL, sink_emit, &s,
	    NULL));
	CHECK_STR(s.text, "80E29000065F2003414243\n");
	cpk_buf_free(&b);
}

/* Key "encryption" for the layout tests: a copy. */
static cpk_status
copy_key(void *ctx, const uint8_t *key, size_t n, uint8_t *out, struct cpk_error *err)
{
	(void)ctx;
	(void)err;
	memcpy(out, key, n);
	return CPK_OK;
}

static void
test_put_key(void)
{
	struct cpk_buf b = CPK_BUF_INIT;
	struct scp_keyset k;
	const char *key = "404142434445464748494A4B4C4D4E4F";
	char want[512];

	memset(&k, 0, sizeof(k));
	k.alg = GP_KEY_3DES;
	k.len = 16;
	k.kvn = 0x01;
	test_unhex(key, k.enc, 16);
	test_unhex(key, k.mac, 16);
	test_unhex(key, k.dek, 16);
	/*
	 * Add (P1 00), P2 81; data = 01 | 3 x (80 10 <key> 03 8BAF47)
	 * (8BAF47 = first 3 bytes of 3DES-ECB(4041..4F, 00 x 8), checked with
	 * `openssl enc -des-ede-ecb`); Lc = 1 + 3 x 22 = 67 = 0x43.
	 */
	CHECK_OK(gp_cmd_put_key(0x00, &k, copy_key, NULL, &b, NULL));
	snprintf(want, sizeof(want), "80D8008143" "01" "8010%s038BAF47" "8010%s038BAF47"
	    "8010%s038BAF47", key, key, key);
	CHECK_HEX(b.data, b.len, want);
	/*
	 * AES-128, replacing version 30 (P1 30): each key is
	 * 88 11 10 <key> 03 504A77 (1 + 1 + 1 + 16 + 1 + 3 = 23 bytes; 504A77 =
	 * first 3 bytes of AES-ECB(4041..4F, 01 x 16), `openssl enc -aes-128-ecb`);
	 * Lc = 1 + 69 = 70 = 0x46.
	 */
	k.alg = GP_KEY_AES;
	k.kvn = 0x31;
	CHECK_OK(gp_cmd_put_key(0x30, &k, copy_key, NULL, &b, NULL));
	snprintf(want, sizeof(want), "80D8308146" "31" "881110%s03504A77" "881110%s03504A77"
	    "881110%s03504A77", key, key, key);
	CHECK_HEX(b.data, b.len, want);
	/* New versions are 01-7F. */
	k.kvn = 0x80;
	CHECK_STATUS(gp_cmd_put_key(0x00, &k, copy_key, NULL, &b, NULL), CPK_ERR_RANGE);
	scp_keyset_clear(&k);
	cpk_buf_free(&b);
}

static void
test_raw(void)
{
	struct cpk_buf b = CPK_BUF_INIT;
	uint8_t h1[4] = { 0x80, 0xCA, 0x9F, 0x7F }, h2[4] = { 0x80, 0xF2, 0x40, 0x00 };
	uint8_t d[2] = { 0x4F, 0x00 };

	/* case 2: Le 00 = 256 */
	CHECK_OK(gp_cmd_raw(h1, NULL, 0, true, 256, &b, NULL));
	CHECK_HEX(b.data, b.len, "80CA9F7F00");
	/* case 4: Lc 02, 4F00, Le 00 */
	CHECK_OK(gp_cmd_raw(h2, d, 2, true, 256, &b, NULL));
	CHECK_HEX(b.data, b.len, "80F24000024F0000");
	/* case 1 */
	CHECK_OK(gp_cmd_raw(h2, NULL, 0, false, 0, &b, NULL));
	CHECK_HEX(b.data, b.len, "80F24000");
	cpk_buf_free(&b);
}

int
main(void)
{
	test_delete();
	test_install_for_load();
	test_load();
	test_load_large();
	test_load_frame();
	test_install();
	test_store_data();
	test_put_key();
	test_raw();
	return test_summary("gp_cmd");
}
