/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk benchmark: cardc's compile throughput against the cryptographic
 * floor of the same work, measured in one run.
 *
 * For each case (a CAP whose Load File Data Block has 2 KB, 20 KB, and the
 * largest size the CAP generator makes) and N cards (distinct KDD and
 * counter) of one SCP03 profile (delete, load, install; AES-128,
 * C-MAC + C-DECRYPTION, pseudo-random card challenge) it times, in
 * alternating rounds:
 *
 *   full   cpk_compile + cpk_bundle_write (manifest, script, Ed25519
 *          signature, zip in memory) per card, card records parsed before;
 *   floor  the same cryptography straight through OpenSSL, with the
 *          algorithms fetched once and every context and key schedule that
 *          can be reused reused: the pseudo-random card challenge and the
 *          session keys (AES-CMAC under the static keys, scheduled once),
 *          the cryptograms and EXTERNAL AUTHENTICATE, every plain command of
 *          the bundle wrapped (ICV by AES-ECB, AES-CBC of the padded data,
 *          AES-CMAC chained over the header and body; the session keys
 *          scheduled once per card), SHA-256 of the card's script and one
 *          Ed25519 signature of its manifest.
 *
 * Before timing, the floor's protected commands for the first card are
 * compared with the compiled bundle's, byte for byte: it does the same work.
 *
 * CPU time (user + sys, CLOCK_PROCESS_CPUTIME_ID) and wall time are
 * reported; the ratios are taken per round (full and floor run back to
 * back) and their median printed. With --gate (meson test --benchmark)
 * the program fails when, in CPU time,
 *   full / floor per card > 2.5 at 20 KB or at the largest case, or
 *   the cost of a byte of load data, (full(largest) - full(20 KB)) /
 *   (largest - 20 KB), or full(largest) / largest, exceeds 10 ns.
 *
 * usage: compile_throughput [--cards N] [--rounds R] [--gate]
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "bundle_write.h"
#include "capgen.h"
#include "card.h"
#include "compile.h"
#include "cpk_apdu.h"
#include "gp_cmd.h"
#include "profile.h"
#include "scp.h"
#include "sign.h"

#include "cpk_config.h"

#define GATE_RATIO 2.5
#define GATE_NS_PER_BYTE 10.0
#define MAX_ROUNDS 64
#define LARGEST_LFDB (256 * 239 - 4)

/* TEST KEYS ONLY. */
static const uint8_t static_key[16] = {
	0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47,
	0x48, 0x49, 0x4A, 0x4B, 0x4C, 0x4D, 0x4E, 0x4F,
};
static const char key_file[] =
    "kvn: 30\nalgorithm: aes\n"
    "enc: 404142434445464748494A4B4C4D4E4F\n"
    "mac: 404142434445464748494A4B4C4D4E4F\n"
    "dek: 404142434445464748494A4B4C4D4E4F\n";

static const char profile_text[] =
    "profile: 1\nname: bench\n"
    "security-domain:\n  aid: A000000151000000\n  scp: 03\n  i: 70\n"
    "  security-level: c-mac+c-dec\n"
    "keys:\n  file: keys.yaml\n"
    "steps:\n"
    "  - delete:\n      aid: F043504B48454C4C4F\n      related: true\n      missing-ok: true\n"
    "  - load:\n      cap: hello.cap\n      hash: sha256\n"
    "  - install:\n      applet: F043504B48454C4C4F01\n";

static const uint8_t sd_aid[] = { 0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00 };
static const uint8_t hc[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
static const uint8_t seed[32] = { 9 };

struct times {
	double cpu, wall;
};

static void
now(struct times *t)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	t->cpu = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	t->wall = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
since(const struct times *t0, struct times *acc)
{
	struct times t;

	now(&t);
	acc->cpu += t.cpu - t0->cpu;
	acc->wall += t.wall - t0->wall;
}

static int
write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	int fd;
	size_t n = strlen(text);

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0)
		return -1;
	if (write(fd, text, n) != (ssize_t)n) {
		close(fd);
		return -1;
	}
	return close(fd);
}

static int
make_card(unsigned i, struct card_record *c)
{
	char text[256];

	snprintf(text, sizeof(text),
	    "sd-aid: A000000151000000\nscp: 03\ni: 70\nkvn: 30\n"
	    "kdd: 0102030405%010X\ncounter: %06X\nserial: B%u\n", i, i + 1, i);
	card_record_init(c);
	return card_parse_yaml("card", (const uint8_t *)text, strlen(text), c, NULL) == CPK_OK ?
	    0 : -1;
}

/* --- the floor: OpenSSL alone, contexts and key schedules reused --- */

struct floor {
	EVP_MAC *cmac_alg;
	EVP_CIPHER *ecb_alg, *cbc_alg;
	EVP_MAC_CTX *static_enc, *static_mac, *s_mac, *tmp;
	EVP_CIPHER_CTX *ecb, *cbc;
	EVP_MD_CTX *md, *sign;
	EVP_MD *sha256;
	EVP_PKEY *pkey;
	/* The plain commands that follow EXTERNAL AUTHENTICATE, parsed. */
	struct cpk_buf *plain;
	struct cpk_apdu *apdu;
	size_t n;
	/* One card's script and manifest text (their sizes are all that varies). */
	struct cpk_buf script, manifest;
	/* Output of the last card: EXTERNAL AUTHENTICATE, then each command. */
	struct cpk_buf out;
	size_t *out_end;
};

static int
cmac_once(EVP_MAC_CTX *ctx, const uint8_t *key, const uint8_t *msg, size_t n, uint8_t mac[16])
{
	size_t outl = 0;

	return EVP_MAC_init(ctx, key, key != NULL ? 16 : 0, NULL) == 1 &&
	    EVP_MAC_update(ctx, msg, n) == 1 &&
	    EVP_MAC_final(ctx, mac, &outl, 16) == 1 && outl == 16 ? 0 : -1;
}

/* SP 800-108 KDF block 1 (at most 128 bits of output) with a keyed CMAC context. */
static int
kdf1(EVP_MAC_CTX *ctx, uint8_t constant, uint16_t bits, const uint8_t *context, size_t ctxlen,
    uint8_t out[16])
{
	uint8_t in[16 + 32];

	memset(in, 0, 11);
	in[11] = constant;
	in[12] = 0;
	in[13] = (uint8_t)(bits >> 8);
	in[14] = (uint8_t)bits;
	in[15] = 1;
	memcpy(in + 16, context, ctxlen);
	return cmac_once(ctx, NULL, in, 16 + ctxlen, out);
}

static EVP_MAC_CTX *
cmac_ctx(EVP_MAC *alg, const uint8_t *key)
{
	OSSL_PARAM params[2];
	EVP_MAC_CTX *ctx;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, "AES-128-CBC", 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((ctx = EVP_MAC_CTX_new(alg)) == NULL || EVP_MAC_CTX_set_params(ctx, params) != 1 ||
	    (key != NULL && EVP_MAC_init(ctx, key, 16, NULL) != 1)) {
		EVP_MAC_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

static int
floor_init(struct floor *f)
{
	static const uint8_t zero[16];

	memset(f, 0, sizeof(*f));
	if ((f->cmac_alg = EVP_MAC_fetch(NULL, "CMAC", NULL)) == NULL ||
	    (f->ecb_alg = EVP_CIPHER_fetch(NULL, "AES-128-ECB", NULL)) == NULL ||
	    (f->cbc_alg = EVP_CIPHER_fetch(NULL, "AES-128-CBC", NULL)) == NULL ||
	    (f->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL ||
	    (f->static_enc = cmac_ctx(f->cmac_alg, static_key)) == NULL ||
	    (f->static_mac = cmac_ctx(f->cmac_alg, static_key)) == NULL ||
	    (f->s_mac = cmac_ctx(f->cmac_alg, zero)) == NULL ||
	    (f->ecb = EVP_CIPHER_CTX_new()) == NULL || (f->cbc = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_EncryptInit_ex2(f->ecb, f->ecb_alg, zero, NULL, NULL) != 1 ||
	    EVP_EncryptInit_ex2(f->cbc, f->cbc_alg, zero, zero, NULL) != 1 ||
	    EVP_CIPHER_CTX_set_padding(f->ecb, 0) != 1 ||
	    EVP_CIPHER_CTX_set_padding(f->cbc, 0) != 1 ||
	    (f->md = EVP_MD_CTX_new()) == NULL || (f->sign = EVP_MD_CTX_new()) == NULL ||
	    (f->pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed,
	    sizeof(seed))) == NULL)
		return -1;
	return 0;
}

static void
floor_free_case(struct floor *f)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		cpk_buf_free(&f->plain[i]);
	free(f->plain);
	free(f->apdu);
	free(f->out_end);
	f->plain = NULL;
	f->apdu = NULL;
	f->out_end = NULL;
	f->n = 0;
	cpk_buf_free(&f->script);
	cpk_buf_free(&f->manifest);
	cpk_buf_free(&f->out);
}

static void
floor_free(struct floor *f)
{
	floor_free_case(f);
	EVP_MAC_CTX_free(f->static_enc);
	EVP_MAC_CTX_free(f->static_mac);
	EVP_MAC_CTX_free(f->s_mac);
	EVP_CIPHER_CTX_free(f->ecb);
	EVP_CIPHER_CTX_free(f->cbc);
	EVP_MD_CTX_free(f->md);
	EVP_MD_CTX_free(f->sign);
	EVP_PKEY_free(f->pkey);
	EVP_MD_free(f->sha256);
	EVP_CIPHER_free(f->ecb_alg);
	EVP_CIPHER_free(f->cbc_alg);
	EVP_MAC_free(f->cmac_alg);
}

static int
append(struct cpk_buf *b, const uint8_t *p, size_t n)
{
	return cpk_buf_append(b, p, n, NULL) == CPK_OK ? 0 : -1;
}

/*
 * The plain commands after EXTERNAL AUTHENTICATE, as the card side
 * recovers them from the first card's bundle, and that bundle's script and
 * manifest text.
 */
static int
floor_case(struct floor *f, const struct cpk_compiled *out, const struct scp_keyset *keys)
{
	struct scp_iu_response iu;
	struct scp_session card;
	struct cpk_manifest mm;
	size_t i, first = 0;
	int rc = -1;

	memset(&card, 0, sizeof(card));
	if (scp_iu_response_parse(out->manifest.iu_response, out->manifest.iu_response_len, &iu,
	    NULL) != CPK_OK || scp_session_begin(&card, keys, SCP03, 0x70, hc, &iu, NULL) != CPK_OK)
		goto out;
	for (i = 0; i < out->ncmds && first == 0; i++)
		if (out->cmds[i].flags & CPK_CMD_EXT_AUTH) {
			if (scp_card_external_authenticate(&card, out->cmds[i].apdu,
			    out->cmds[i].apdu_len, NULL) != CPK_OK)
				goto out;
			first = i + 1;
		}
	if (first == 0)
		goto out;
	f->plain = calloc(out->ncmds - first, sizeof(*f->plain));
	f->apdu = calloc(out->ncmds - first, sizeof(*f->apdu));
	f->out_end = calloc(out->ncmds - first + 1, sizeof(*f->out_end));
	if (f->plain == NULL || f->apdu == NULL || f->out_end == NULL)
		goto out;
	for (i = first; i < out->ncmds; i++, f->n++)
		if (scp_unwrap_command(&card, out->cmds[i].apdu, out->cmds[i].apdu_len,
		    &f->plain[f->n], NULL) != CPK_OK)
			goto out;
	for (i = 0; i < f->n; i++)
		if (cpk_apdu_parse(f->plain[i].data, f->plain[i].len, &f->apdu[i], NULL) != CPK_OK)
			goto out;
	mm = out->manifest;
	mm.format = CPK_BUNDLE_FORMAT;
	snprintf(mm.compiler, sizeof(mm.compiler), "cpk %s", CPK_VERSION);
	mm.commands = (uint32_t)out->ncmds;
	if (cpk_script_encode(out->cmds, out->ncmds, &f->script, NULL) != CPK_OK)
		goto out;
	mm.script_size = (uint32_t)f->script.len;
	if (cpk_sha256(f->script.data, f->script.len, mm.script_sha256, NULL) != CPK_OK ||
	    cpk_manifest_encode(&mm, &f->manifest, NULL) != CPK_OK ||
	    cpk_buf_reserve(&f->out, (f->n + 1) * 261, NULL) != CPK_OK)
		goto out;
	rc = 0;
out:
	scp_session_clear(&card);
	return rc;
}

/* One card's cryptography; f->out receives EXTERNAL AUTHENTICATE and the commands. */
static int
floor_card(struct floor *f, const struct card_record *c)
{
	static const uint8_t ea_hdr[5] = { 0x84, 0x82, 0x03, 0x00, 0x10 };
	uint8_t ctx[16], cc_in[3 + sizeof(sd_aid)], s_enc[16], s_mac[16], s_rmac[16], t[16];
	uint8_t chain[16], icv[16], hdr[5], body[256];
	size_t i, outl = 0, siglen = 64;
	uint8_t digest[32], sig[64];
	unsigned dlen = 0;
	int l1 = 0, l2 = 0;

	cpk_buf_reset(&f->out);
	/* Pseudo-random card challenge, session keys, cryptograms. */
	memcpy(cc_in, c->counter, 3);
	memcpy(cc_in + 3, sd_aid, sizeof(sd_aid));
	if (kdf1(f->static_enc, 0x02, 64, cc_in, sizeof(cc_in), t) != 0)
		return -1;
	memcpy(ctx, hc, 8);
	memcpy(ctx + 8, t, 8);
	if (kdf1(f->static_enc, 0x04, 128, ctx, 16, s_enc) != 0 ||
	    kdf1(f->static_mac, 0x06, 128, ctx, 16, s_mac) != 0 ||
	    kdf1(f->static_mac, 0x07, 128, ctx, 16, s_rmac) != 0 ||
	    EVP_MAC_init(f->s_mac, s_mac, 16, NULL) != 1 ||
	    kdf1(f->s_mac, 0x00, 64, ctx, 16, t) != 0 ||
	    kdf1(f->s_mac, 0x01, 64, ctx, 16, t) != 0)
		return -1;
	/* EXTERNAL AUTHENTICATE: C-MAC over zero chain || header || host cryptogram. */
	memset(chain, 0, 16);
	if (EVP_MAC_init(f->s_mac, NULL, 0, NULL) != 1 ||
	    EVP_MAC_update(f->s_mac, chain, 16) != 1 || EVP_MAC_update(f->s_mac, ea_hdr, 5) != 1 ||
	    EVP_MAC_update(f->s_mac, t, 8) != 1 ||
	    EVP_MAC_final(f->s_mac, chain, &outl, 16) != 1 ||
	    append(&f->out, ea_hdr, 5) != 0 || append(&f->out, t, 8) != 0 ||
	    append(&f->out, chain, 8) != 0)
		return -1;
	f->out_end[0] = f->out.len;
	/* The session ENC key scheduled once for the card. */
	if (EVP_EncryptInit_ex2(f->ecb, NULL, s_enc, NULL, NULL) != 1 ||
	    EVP_EncryptInit_ex2(f->cbc, NULL, s_enc, NULL, NULL) != 1)
		return -1;
	for (i = 0; i < f->n; i++) {
		const struct cpk_apdu *a = &f->apdu[i];
		size_t blen = 0;

		if (a->lc > 0) {
			memset(icv, 0, 16);
			icv[12] = (uint8_t)((i + 1) >> 24);
			icv[13] = (uint8_t)((i + 1) >> 16);
			icv[14] = (uint8_t)((i + 1) >> 8);
			icv[15] = (uint8_t)(i + 1);
			blen = (a->lc / 16 + 1) * 16;
			memcpy(body, a->data, a->lc);
			body[a->lc] = 0x80;
			memset(body + a->lc + 1, 0, blen - a->lc - 1);
			if (EVP_EncryptUpdate(f->ecb, icv, &l1, icv, 16) != 1 ||
			    EVP_EncryptInit_ex2(f->cbc, NULL, NULL, icv, NULL) != 1 ||
			    EVP_EncryptUpdate(f->cbc, body, &l2, body, (int)blen) != 1)
				return -1;
		}
		hdr[0] = (uint8_t)((a->cla & 0xFC) | 0x04);
		hdr[1] = a->ins;
		hdr[2] = a->p1;
		hdr[3] = a->p2;
		hdr[4] = (uint8_t)(blen + 8);
		if (EVP_MAC_init(f->s_mac, NULL, 0, NULL) != 1 ||
		    EVP_MAC_update(f->s_mac, chain, 16) != 1 ||
		    EVP_MAC_update(f->s_mac, hdr, 5) != 1 ||
		    (blen > 0 && EVP_MAC_update(f->s_mac, body, blen) != 1) ||
		    EVP_MAC_final(f->s_mac, chain, &outl, 16) != 1)
			return -1;
		hdr[0] = (uint8_t)(a->cla | 0x04);
		if (append(&f->out, hdr, 5) != 0 || append(&f->out, body, blen) != 0 ||
		    append(&f->out, chain, 8) != 0 ||
		    (a->has_le && append(&f->out, (const uint8_t *)"", 1) != 0))
			return -1;
		f->out_end[i + 1] = f->out.len;
	}
	/* The script's hash and the manifest's signature. */
	if (EVP_DigestInit_ex2(f->md, f->sha256, NULL) != 1 ||
	    EVP_DigestUpdate(f->md, f->script.data, f->script.len) != 1 ||
	    EVP_DigestFinal_ex(f->md, digest, &dlen) != 1 ||
	    EVP_DigestSignInit(f->sign, NULL, NULL, NULL, f->pkey) != 1 ||
	    EVP_DigestSign(f->sign, sig, &siglen, f->manifest.data, f->manifest.len) != 1)
		return -1;
	OPENSSL_cleanse(s_enc, sizeof(s_enc));
	OPENSSL_cleanse(s_mac, sizeof(s_mac));
	OPENSSL_cleanse(s_rmac, sizeof(s_rmac));
	return 0;
}

/* The floor's commands for card c are the compiled ones, byte for byte. */
static int
floor_check(struct floor *f, const struct card_record *c, const struct cpk_compiled *out)
{
	size_t i, first = 0, start;

	if (floor_card(f, c) != 0)
		return -1;
	for (i = 0; i < out->ncmds; i++)
		if (out->cmds[i].flags & CPK_CMD_EXT_AUTH) {
			first = i;
			break;
		}
	if (out->ncmds - first != f->n + 1)
		return -1;
	for (i = 0, start = 0; i <= f->n; start = f->out_end[i], i++) {
		const struct cpk_command *cmd = &out->cmds[first + i];

		if (f->out_end[i] - start != cmd->apdu_len ||
		    memcmp(f->out.data + start, cmd->apdu, cmd->apdu_len) != 0) {
			fprintf(stderr, "compile_throughput: command %zu after EXTERNAL "
			    "AUTHENTICATE differs\n", i);
			return -1;
		}
	}
	return 0;
}

/* --- the full compile --- */

static int
full_card(const struct profile *p, const struct card_record *c, const struct cpk_signer *signer,
    size_t *bundle_len, struct cpk_error *err)
{
	struct cpk_compile_opts opts;
	struct cpk_compiled out;
	struct cpk_buf bundle = CPK_BUF_INIT;
	int rc = -1;

	memset(&opts, 0, sizeof(opts));
	opts.host_challenge = hc;
	opts.created = 1700000000;
	/* As cardc compile and batch: the script alone, the bundle written from it. */
	opts.script_only = true;
	if (cpk_compile(p, c, &opts, &out, err) != CPK_OK)
		return -1;
	if (cpk_bundle_write_compiled(&out, signer, &bundle, err) == CPK_OK) {
		*bundle_len = bundle.len;
		rc = 0;
	}
	cpk_compiled_free(&out);
	cpk_buf_free(&bundle);
	return rc;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct result {
	size_t lfdb, cmds, bundle;
	double full_cpu, full_wall, floor_cpu, floor_wall;	/* seconds per card, medians */
	double ratio_cpu, ratio_wall;				/* medians of the rounds' ratios */
};

static int
run_case(const char *dir, size_t lfdb, unsigned ncards, unsigned rounds,
    const struct cpk_signer *signer, struct card_record *cards, struct floor *f,
    struct result *r, struct cpk_error *err)
{
	struct profile_opts popts = { NULL };
	struct profile *p = NULL;
	struct capgen_spec spec;
	struct cpk_compile_opts opts;
	struct cpk_compiled first;
	double fc[MAX_ROUNDS], fw[MAX_ROUNDS], lc[MAX_ROUNDS], lw[MAX_ROUNDS];
	double rc_[MAX_ROUNDS], rw[MAX_ROUNDS];
	char path[512];
	unsigned i, k;
	int rc = -1;

	memset(&first, 0, sizeof(first));
	capgen_spec_init(&spec);
	capgen_aid_parse("F043504B48454C4C4F", &spec.package, NULL);
	capgen_aid_parse("F043504B48454C4C4F01", &spec.applets[0], NULL);
	spec.applet_count = 1;
	spec.lfdb_size = lfdb;
	snprintf(path, sizeof(path), "%s/hello.cap", dir);
	if (capgen_write(&spec, path, err) != CPK_OK)
		goto out;
	snprintf(path, sizeof(path), "%s/profile.yaml", dir);
	popts.keydir = dir;
	if (profile_load(path, &popts, &p, err) != CPK_OK)
		goto out;
	memset(&opts, 0, sizeof(opts));
	opts.host_challenge = hc;
	opts.created = 1700000000;
	floor_free_case(f);
	if (cpk_compile(p, &cards[0], &opts, &first, err) != CPK_OK)
		goto out;
	if (floor_case(f, &first, &p->keys.set->keys) != 0 || floor_check(f, &cards[0], &first) != 0) {
		cpk_error_set(err, CPK_ERR_STATE, "the floor's commands differ from the compiler's");
		goto out;
	}
	r->lfdb = lfdb;
	r->cmds = first.ncmds;
	/* Warm up both paths once. */
	if (full_card(p, &cards[0], signer, &r->bundle, err) != 0 || floor_card(f, &cards[0]) != 0)
		goto out;
	for (k = 0; k < rounds; k++) {
		struct times t0, full = { 0, 0 }, fl = { 0, 0 };
		size_t blen;

		now(&t0);
		for (i = 0; i < ncards; i++)
			if (full_card(p, &cards[i], signer, &blen, err) != 0)
				goto out;
		since(&t0, &full);
		now(&t0);
		for (i = 0; i < ncards; i++)
			if (floor_card(f, &cards[i]) != 0) {
				cpk_error_set(err, CPK_ERR_CRYPTO, "floor: OpenSSL failed");
				goto out;
			}
		since(&t0, &fl);
		fc[k] = full.cpu / ncards;
		fw[k] = full.wall / ncards;
		lc[k] = fl.cpu / ncards;
		lw[k] = fl.wall / ncards;
		rc_[k] = full.cpu / fl.cpu;
		rw[k] = full.wall / fl.wall;
	}
	r->full_cpu = median(fc, rounds);
	r->full_wall = median(fw, rounds);
	r->floor_cpu = median(lc, rounds);
	r->floor_wall = median(lw, rounds);
	r->ratio_cpu = median(rc_, rounds);
	r->ratio_wall = median(rw, rounds);
	rc = 0;
out:
	cpk_compiled_free(&first);
	profile_free(&p);
	return rc;
}

/*
 * The largest load file this profile can load: 256 LOAD blocks (block
 * numbers 00-FF) of 239 bytes (the most that C-MAC + C-DECRYPTION leaves in
 * a short APDU) hold 61184 bytes, the C4 tag and its 82 xx xx length
 * included: a Load File Data Block of 61180 bytes (or the largest the CAP
 * generator makes, if smaller).
 */
static size_t
largest_lfdb(void)
{
	struct capgen_spec spec;
	struct cpk_buf b = CPK_BUF_INIT;
	struct cpk_error err;
	const char *m;
	size_t max = 0;

	capgen_spec_init(&spec);
	capgen_aid_parse("F043504B48454C4C4F", &spec.package, NULL);
	capgen_aid_parse("F043504B48454C4C4F01", &spec.applets[0], NULL);
	spec.applet_count = 1;
	spec.lfdb_size = 1000000;
	memset(&err, 0, sizeof(err));
	if (capgen_build(&spec, &b, &err) != CPK_OK && (m = strstr(err.msg, "spec (")) != NULL &&
	    sscanf(m, "spec (%zu", &max) != 1)
		max = 0;
	cpk_buf_free(&b);
	return max < LARGEST_LFDB ? max : LARGEST_LFDB;
}

int
main(int argc, char **argv)
{
	unsigned long ncards = 100, rounds = 7;
	struct cpk_signer *signer = NULL;
	struct card_record *cards = NULL;
	struct result res[3];
	struct floor f;
	struct cpk_error err;
	char dir[] = "/tmp/cpk-bench-XXXXXX", path[600];
	size_t sizes[3] = { 2000, 20000, 0 }, c;
	double slope;
	unsigned i;
	int a, gate = 0, rc = 1, failed = 0;

	memset(&err, 0, sizeof(err));
	memset(&f, 0, sizeof(f));
	for (a = 1; a < argc; a++) {
		if (strcmp(argv[a], "--gate") == 0)
			gate = 1;
		else if (a + 1 < argc && strcmp(argv[a], "--cards") == 0)
			ncards = strtoul(argv[++a], NULL, 10);
		else if (a + 1 < argc && strcmp(argv[a], "--rounds") == 0)
			rounds = strtoul(argv[++a], NULL, 10);
		else {
			fprintf(stderr, "usage: compile_throughput [--cards N] [--rounds R] "
			    "[--gate]\n");
			return 2;
		}
	}
	if (ncards == 0 || ncards > 100000 || rounds == 0 || rounds > MAX_ROUNDS ||
	    (sizes[2] = largest_lfdb()) <= sizes[1] || mkdtemp(dir) == NULL)
		return 2;
	if (floor_init(&f) != 0) {
		cpk_error_set(&err, CPK_ERR_CRYPTO, "floor: OpenSSL set-up failed");
		goto out;
	}
	if ((cards = calloc(ncards, sizeof(*cards))) == NULL)
		goto out;
	for (i = 0; i < ncards; i++)
		if (make_card(i, &cards[i]) != 0)
			goto out;
	if (write_file(dir, "keys.yaml", key_file) != 0 ||
	    write_file(dir, "profile.yaml", profile_text) != 0 ||
	    cpk_signer_from_seed(seed, &signer, &err) != CPK_OK)
		goto out;
	for (c = 0; c < 3; c++)
		if (run_case(dir, sizes[c], (unsigned)ncards, (unsigned)rounds, signer, cards, &f,
		    &res[c], &err) != 0)
			goto out;

	printf("cards: %lu per round, %lu rounds (full and floor alternate); medians per card\n",
	    ncards, rounds);
	printf("%8s %5s %7s | %10s %10s %7s | %10s %10s %7s | %8s\n", "LFDB", "cmds", "bundle",
	    "full cpu", "floor cpu", "ratio", "full wall", "floor wall", "ratio", "ns/byte");
	for (c = 0; c < 3; c++) {
		const struct result *r = &res[c];

		printf("%8zu %5zu %7zu | %8.1fus %8.1fus %7.2f | %8.1fus %8.1fus %7.2f | %8.2f\n",
		    r->lfdb, r->cmds, r->bundle, r->full_cpu * 1e6, r->floor_cpu * 1e6,
		    r->ratio_cpu, r->full_wall * 1e6, r->floor_wall * 1e6, r->ratio_wall,
		    r->full_cpu * 1e9 / (double)r->lfdb);
	}
	slope = (res[2].full_cpu - res[1].full_cpu) * 1e9 / (double)(res[2].lfdb - res[1].lfdb);
	printf("per byte of load data (cpu, %zu -> %zu bytes): full %.2f ns, floor %.2f ns\n",
	    res[1].lfdb, res[2].lfdb, slope,
	    (res[2].floor_cpu - res[1].floor_cpu) * 1e9 / (double)(res[2].lfdb - res[1].lfdb));
	for (c = 1; c < 3; c++)
		if (res[c].ratio_cpu > GATE_RATIO) {
			printf("gate: full/floor %.2f > %.1f at %zu bytes\n", res[c].ratio_cpu,
			    GATE_RATIO, res[c].lfdb);
			failed = 1;
		}
	if (slope > GATE_NS_PER_BYTE || res[2].full_cpu * 1e9 / (double)res[2].lfdb >
	    GATE_NS_PER_BYTE) {
		printf("gate: %.2f ns per byte of load data (marginal), %.2f ns (whole card) > "
		    "%.0f ns\n", slope, res[2].full_cpu * 1e9 / (double)res[2].lfdb,
		    GATE_NS_PER_BYTE);
		failed = 1;
	}
	printf("gates (full/floor <= %.1f at 20 KB and largest; <= %.0f ns per byte): %s\n",
	    GATE_RATIO, GATE_NS_PER_BYTE, failed ? "NOT MET" : "met");
	rc = gate && failed ? 1 : 0;
out:
	if (rc != 0 && err.msg[0] != '\0')
		fprintf(stderr, "compile_throughput: %s\n", err.msg);
	if (cards != NULL)
		for (i = 0; i < ncards; i++)
			card_record_clear(&cards[i]);
	free(cards);
	floor_free(&f);
	cpk_signer_free(&signer);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	if (system(path) != 0)
		rc = 1;
	return rc;
}
