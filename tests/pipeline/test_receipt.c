/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk unit test: receipts (cpk-receipt(5)) end to end in one process.
 * A bundle compiled with R-MAC is streamed into the card simulator's core;
 * the loader's receipt writer (loader/receipt_write.h) records the answers; the
 * verifier (compiler/receipt.h) reads them back and checks them with the
 * card keys. Then every way a receipt can be wrong: the parser's errors,
 * each refusal of the verifier, a card that fakes 9000 without R-MAC, an
 * edited response, a level without R-MAC, a refused command, SCP02.
 *
 * usage: test_receipt
 */
#include <fcntl.h>
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
#include "profile.h"
#include "receipt.h"
#include "sign.h"
#include "stream.h"
#include "testlib.h"
#include "verify.h"

#include "receipt_write.h"

static char dir[256];

static const char card03[] =
    "cardsim: 1\ncard:\n  isd: A000000151000000\n  kdd: 0102030405060708090A\n"
    "  scp: 3\n  i: 70\nkey-sets:\n  - kvn: 30\n    type: aes\n"
    "    enc: 404142434445464748494A4B4C4D4E4F\n"
    "    mac: 404142434445464748494A4B4C4D4E4F\n"
    "    dek: 404142434445464748494A4B4C4D4E4F\n";
static const char card02[] =
    "cardsim: 1\ncard:\n  isd: A000000151000000\n  kdd: 0102030405060708090A\n"
    "  scp: 2\n  i: 75\nkey-sets:\n  - kvn: 20\n    type: 3des\n"
    "    key: 404142434445464748494A4B4C4D4E4F\n";

/* TEST KEYS ONLY. */
static const char keys03[] = "kvn: 30\nalgorithm: aes\n"
    "enc: 404142434445464748494A4B4C4D4E4F\nmac: 404142434445464748494A4B4C4D4E4F\n"
    "dek: 404142434445464748494A4B4C4D4E4F\n";
static const char keys02[] = "kvn: 20\nalgorithm: 3des\n"
    "enc: 404142434445464748494A4B4C4D4E4F\nmac: 404142434445464748494A4B4C4D4E4F\n"
    "dek: 404142434445464748494A4B4C4D4E4F\n";

static const char profile_fmt[] =
    "profile: 1\nname: receipt\nsecurity-domain:\n  aid: A000000151000000\n"
    "  scp: %s\n  i: %s\n  security-level: %s\nkeys:\n  file: %s\nsteps:\n"
    "  - load:\n      cap: hello.cap\n      hash: sha256\n"
    "  - install:\n      applet: F043504B48454C4C4F01\n%s";

/* Personalize the instance, then have it generate a key pair and keep the public key. */
static const char capture_steps[] =
    "  - store-data:\n      instance: F043504B48454C4C4F01\n      format: dgi\n"
    "      items:\n        - dgi: \"0101\"\n          value: \"0102\"\n"
    "  - apdu:\n      label: GENERATE KEY PAIR\n      header: \"00460000\"\n"
    "      data: F043504B48454C4C4F01\n      le: \"00\"\n      capture: pubkey\n"
    "      accept: [\"9000\", \"6A88\"]\n";

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

static const struct cpk_transport_ops card_ops = { .transmit = card_transmit };

/* One protocol's set-up: the card, the bundle and the keys. */
struct setup {
	const char *scp, *i, *level, *keys_name, *card_conf, *counter, *kvn;
	struct cardsim *card;
	struct cpk_buf bytes;
	struct cpk_bundle *b;
	const struct cpk_command *cmds;	/* the bundle's own */
	size_t n;
	char keys[512];
	const char *steps;		/* appended to the profile's steps; NULL = none */
};

static struct cpk_signer *signer;
static struct cpk_trust *trust;

static bool
setup_open(struct setup *s)
{
	static const uint8_t hc[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct profile_opts popts = { .keydir = dir };
	struct profile *p = NULL;
	struct cpk_compile_opts opts;
	struct cpk_compiled out;
	struct card_record c;
	struct cpk_bundle_diag diag;
	struct cpk_error err;
	char text[2048], path[512];
	bool ok = false;

	memset(&out, 0, sizeof(out));
	snprintf(text, sizeof(text), profile_fmt, s->scp, s->i, s->level, s->keys_name,
	    s->steps != NULL ? s->steps : "");
	write_file("profile.yaml", text, strlen(text));
	snprintf(path, sizeof(path), "%s/profile.yaml", dir);
	snprintf(s->keys, sizeof(s->keys), "%s/%s", dir, s->keys_name);
	snprintf(text, sizeof(text), "sd-aid: A000000151000000\nscp: %s\ni: %s\nkvn: %s\n"
	    "kdd: 0102030405060708090A\ncounter: %s\nserial: RCPT-1\n", s->scp, s->i, s->kvn,
	    s->counter);
	card_record_init(&c);
	memset(&opts, 0, sizeof(opts));
	opts.host_challenge = hc;
	opts.created = 1700000000;
	if (!CHECK((s->card = cardsim_new()) != NULL) ||
	    !CHECK_OK(cardsim_state_parse(s->card, "card.yaml", (const uint8_t *)s->card_conf,
	    strlen(s->card_conf), &err)) ||
	    !CHECK_OK(profile_load(path, &popts, &p, &err)) ||
	    !CHECK_OK(card_parse_yaml("card.yaml", (const uint8_t *)text, strlen(text), &c,
	    &err)) ||
	    !CHECK_OK(cpk_compile(p, &c, &opts, &out, &err)) ||
	    !CHECK_OK(cpk_bundle_write(&out.manifest, out.cmds, out.ncmds, signer, &s->bytes,
	    &err)) ||
	    !CHECK_OK(cpk_bundle_open(s->bytes.data, s->bytes.len, trust, 0, &s->b, &diag,
	    &err))) {
		fprintf(stderr, "  set-up: %s\n", err.msg);
		goto out;
	}
	s->n = cpk_bundle_command_count(s->b);
	s->cmds = cpk_bundle_commands(s->b);
	ok = true;
out:
	cpk_compiled_free(&out);
	card_record_clear(&c);
	profile_free(&p);
	return ok;
}

static void
setup_close(struct setup *s)
{
	cpk_bundle_free(&s->b);
	cpk_buf_free(&s->bytes);
	cardsim_free(&s->card);
}

static void
keep(void *ctx, size_t index, const struct cpk_command *c, const uint8_t *resp, size_t n,
    uint64_t usec)
{
	CHECK_OK(cpk_receipt_log_add(ctx, index + 1, c->label, resp, n, usec, NULL));
}

/* Stream the bundle into the card (from its state) and write the receipt into doc. */
static void
load(struct setup *s, struct cpk_buf *doc)
{
	struct cpk_transport t = { .ops = &card_ops, .ctx = s->card };
	struct cpk_receipt_log l = CPK_RECEIPT_LOG_INIT;
	struct cpk_stream_hooks h = { .ctx = &l, .after = keep };
	struct cpk_stream_result r;
	struct cpk_receipt_info in;
	struct cpk_receipt_card card;
	const struct cpk_manifest *m = cpk_bundle_manifest(s->b);
	size_t i;

	cardsim_reset(s->card);
	(void)cpk_stream_run(&t, s->b, &h, &r, NULL);
	memset(&in, 0, sizeof(in));
	memset(&card, 0, sizeof(card));
	in.version = "test";
	in.start = in.end = "2026-12-03T00:00:00.000Z";
	in.result = r.stop == CPK_STOP_NONE ? "ok" : "refused";
	in.bundle_sha256 = cpk_bundle_sha256(s->b);
	in.key_id = cpk_bundle_key_id(s->b);
	in.m = m;
	in.commands = s->n;
	for (i = 0; i < l.n; i++)
		if (s->cmds[i].flags & CPK_CMD_INIT_UPDATE) {
			card.seen_by = "initialize-update";
			card.iu_response = l.resp.data + l.v[i].off;
			card.iu_len = l.v[i].len - 2;
			card.host_challenge = m->host_challenge;
			in.card = &card;
		}
	in.stop = r.stop == CPK_STOP_NONE ? CPK_RECEIPT_DONE : CPK_RECEIPT_REFUSED;
	if (r.stop != CPK_STOP_NONE) {
		in.stop_index = r.index + 1;
		in.has_stop_sw = true;
		in.stop_sw = r.sw;
	}
	cpk_buf_reset(doc);
	CHECK_OK(cpk_receipt_encode(&in, &l, doc, NULL));
	CHECK_OK(cpk_buf_append_byte(doc, 0, NULL));
	doc->len--;
	cpk_receipt_log_free(&l);
}

/* Verify doc (the receipt) against the set-up's bundle. */
static cpk_status
check(struct setup *s, const struct cpk_buf *doc, struct receipt_result *res,
    struct cpk_error *err)
{
	struct receipt *r = NULL;
	cpk_status st;

	cpk_error_clear(err);
	memset(res, 0, sizeof(*res));
	if ((st = receipt_parse(doc->data, doc->len, &r, err)) == CPK_OK)
		st = receipt_verify(r, cpk_bundle_manifest(s->b), s->cmds, s->n,
		    cpk_bundle_sha256(s->b), s->keys, res, err);
	receipt_free(&r);
	return st;
}

/* A copy of doc with the first `from` replaced by `to`. */
static void
edited(const struct cpk_buf *doc, const char *from, const char *to, struct cpk_buf *out)
{
	const char *text = (const char *)doc->data;
	const char *at = strstr(text, from);

	cpk_buf_reset(out);
	if (!CHECK(at != NULL)) {
		fprintf(stderr, "  '%s' not in the receipt\n", from);
		CHECK_OK(cpk_buf_append(out, doc->data, doc->len, NULL));
		return;
	}
	CHECK_OK(cpk_buf_append(out, text, (size_t)(at - text), NULL));
	CHECK_OK(cpk_buf_append(out, to, strlen(to), NULL));
	CHECK_OK(cpk_buf_append(out, at + strlen(from), strlen(at + strlen(from)), NULL));
	CHECK_OK(cpk_buf_append_byte(out, 0, NULL));
	out->len--;
}

/* A copy of doc with everything from `from` up to (not including) `until` replaced. */
static void
spliced(const struct cpk_buf *doc, const char *from, const char *until, const char *to,
    struct cpk_buf *out)
{
	const char *text = (const char *)doc->data;
	const char *a = strstr(text, from), *b = a != NULL ? strstr(a, until) : NULL;

	cpk_buf_reset(out);
	if (!CHECK(a != NULL && b != NULL)) {
		fprintf(stderr, "  '%s'...'%s' not in the receipt\n", from, until);
		CHECK_OK(cpk_buf_append(out, doc->data, doc->len, NULL));
		return;
	}
	CHECK_OK(cpk_buf_append(out, text, (size_t)(a - text), NULL));
	CHECK_OK(cpk_buf_append(out, to, strlen(to), NULL));
	CHECK_OK(cpk_buf_append(out, b, strlen(b), NULL));
	CHECK_OK(cpk_buf_append_byte(out, 0, NULL));
	out->len--;
}

/* The splice does not parse: status st and a message containing `why`. */
static void
unparsed_splice(const struct cpk_buf *doc, const char *from, const char *until, const char *to,
    cpk_status st, const char *why)
{
	struct cpk_buf e = CPK_BUF_INIT;
	struct receipt *r = NULL;
	struct cpk_error err;

	spliced(doc, from, until, to, &e);
	cpk_error_clear(&err);
	if (!CHECK_STATUS(receipt_parse(e.data, e.len, &r, &err), st) ||
	    !CHECK(strstr(err.msg, why) != NULL))
		fprintf(stderr, "  splice at '%s': %s (want '%s')\n", from, err.msg, why);
	receipt_free(&r);
	cpk_buf_free(&e);
}

/* The edit is refused by the verifier with a reason containing `why`. */
static void
refused(struct setup *s, const struct cpk_buf *doc, const char *from, const char *to,
    const char *why)
{
	struct cpk_buf e = CPK_BUF_INIT;
	struct receipt_result res;
	struct cpk_error err;

	edited(doc, from, to, &e);
	if (!CHECK_OK(check(s, &e, &res, &err)))
		fprintf(stderr, "  edit '%s' -> '%s': %s\n", from, to, err.msg);
	else if (!CHECK(res.verdict == RECEIPT_REFUSED) || !CHECK(strstr(res.reason, why) != NULL))
		fprintf(stderr, "  edit '%s' -> '%s': %s: %s (want '%s')\n", from, to,
		    receipt_verdict_name(res.verdict), res.reason, why);
	cpk_buf_free(&e);
}

/* The edit does not parse: status st and a message containing `why`. */
static void
unparsed(const struct cpk_buf *doc, const char *from, const char *to, cpk_status st,
    const char *why)
{
	struct cpk_buf e = CPK_BUF_INIT;
	struct receipt *r = NULL;
	struct cpk_error err;

	edited(doc, from, to, &e);
	cpk_error_clear(&err);
	if (!CHECK_STATUS(receipt_parse(e.data, e.len, &r, &err), st) ||
	    !CHECK(strstr(err.msg, why) != NULL))
		fprintf(stderr, "  edit '%s' -> '%s': %s (want '%s')\n", from, to, err.msg, why);
	CHECK(r == NULL);
	receipt_free(&r);
	cpk_buf_free(&e);
}

static void
test_parser(const struct cpk_buf *doc)
{
	struct cpk_buf big = CPK_BUF_INIT;
	struct receipt *r = NULL;
	struct cpk_error err;

	unparsed(doc, "{\"cpk-receipt\":1,", "{\"cpk-receipt\":2,", CPK_ERR_UNSUPPORTED,
	    "receipt format 2 is not supported");
	unparsed(doc, "{\"cpk-receipt\":1,", "{\"cpk-recipe\":1,", CPK_ERR_PARSE,
	    "no 'cpk-receipt' format version");
	unparsed(doc, "\"reader\":null,", "\"reader\":null,\"extra\":1,", CPK_ERR_PARSE,
	    "unknown member 'extra'");
	unparsed(doc, "\"reader\":null,\n", "", CPK_ERR_PARSE, "missing member 'reader'");
	unparsed(doc, "\"reader\":null,", "\"reader\":null,\"reader\":null,", CPK_ERR_PARSE,
	    "duplicate");
	unparsed(doc, "\"sha256\":\"", "\"sha256\":\"a", CPK_ERR_PARSE,
	    "bundle.sha256: 'a' at offset 0 is not an uppercase hex digit");
	unparsed(doc, "\"sha256\":\"", "\"sha256\":\"0", CPK_ERR_PARSE,
	    "bundle.sha256: an odd number of hex digits (65)");
	unparsed(doc, "\"sha256\":\"", "\"sha256\":\"00", CPK_ERR_RANGE,
	    "bundle.sha256: 33 bytes, expected 32");
	unparsed(doc, "\"key-id\":\"", "\"key-id\":\"F", CPK_ERR_PARSE,
	    "bundle.key-id: 'F' at offset 0 is not a lowercase hex digit");
	unparsed(doc, "\"mode\":\"offline\"", "\"mode\":\"online\"", CPK_ERR_PARSE,
	    "bundle.mode: 'online' is neither offline nor session");
	unparsed(doc, "\"commands\":", "\"commands\":-", CPK_ERR_RANGE,
	    "bundle.commands: -");
	unparsed(doc, "\"seen-by\":\"initialize-update\"", "\"seen-by\":\"guess\"", CPK_ERR_PARSE,
	    "card.seen-by: 'guess' is neither");
	unparsed(doc, "\"kvn\":\"30\"", "\"kvn\":30", CPK_ERR_PARSE,
	    "card.kvn: expected a hex string or null");
	unparsed(doc, "{\"index\":1,", "{\"index\":0,", CPK_ERR_RANGE,
	    "commands[0].index: 0 is outside 1..32768");
	unparsed(doc, "\"sw\":\"9000\"", "\"sw\":\"900\"", CPK_ERR_PARSE,
	    "commands[0].sw: an odd number of hex digits");
	unparsed(doc, "\"sw\":\"9000\"", "\"sw\":null", CPK_ERR_PARSE,
	    "commands[0].sw: expected a hex string");
	unparsed(doc, "\"label\":\"", "\"label\":\"\\u0007", CPK_ERR_PARSE,
	    "commands[0].label: holds a control character");
	unparsed(doc, "\"label\":\"", "\"label\":\"0123456789012345678901234567890123456789"
	    "01234567890123456789012345", CPK_ERR_RANGE, "commands[0].label: longer than 64");
	unparsed(doc, "\"usec\":", "\"usec\":1.5,\"x\":", CPK_ERR_PARSE, "unknown member 'x'");
	unparsed(doc, "\"reason\":\"done\"", "\"reason\":\"finished\"", CPK_ERR_PARSE,
	    "stop.reason: 'finished' is not a stop reason");
	unparsed(doc, "\"commands\":[", "\"commands\":{", CPK_ERR_PARSE, "line ");
	unparsed(doc, "\"start\":\"", "\"start\":\"\\u0000", CPK_ERR_PARSE, "line ");
	unparsed(doc, "\"cardload\":\"test\"", "\"cardload\":\"\"", CPK_ERR_PARSE,
	    "cardload: empty (null when absent)");
	unparsed(doc, "\"card\":{", "\"card\":[{", CPK_ERR_PARSE, "line ");
	unparsed(doc, "{\"index\":1,", "{\"index\":\"1\",", CPK_ERR_PARSE,
	    "commands[0].index: expected an integer");
	unparsed(doc, "\"start\":\"", "\"start\":5,\"x\":\"", CPK_ERR_PARSE,
	    "unknown member 'x'");
	unparsed(doc, "\"reason\":\"done\",\"index\":null", "\"reason\":\"done\",\"index\":0",
	    CPK_ERR_RANGE, "stop.index: 0 is outside 1..32768");
	unparsed(doc, "\"reason\":\"done\",\"index\":null,\"sw\":null",
	    "\"reason\":\"done\",\"index\":null,\"sw\":\"90\"", CPK_ERR_PARSE,
	    "stop.sw: 1 bytes, expected 2");
	unparsed_splice(doc, "\"bundle\":{", ",\n\"card\":", "\"bundle\":7", CPK_ERR_PARSE,
	    "receipt: bundle: expected an object");
	unparsed_splice(doc, "\"commands\":[", ",\n\"stop\":", "\"commands\":\"all\"",
	    CPK_ERR_PARSE, "receipt: commands: expected an array");
	unparsed_splice(doc, "\"start\":\"", ",\n\"end\":", "\"start\":5", CPK_ERR_PARSE,
	    "receipt: start: expected a string");
	unparsed_splice(doc, "\"stop\":{", "}\n", "\"stop\":null", CPK_ERR_PARSE,
	    "receipt: stop: expected an object");
	/* A NUL byte, and a receipt over its size limit. */
	cpk_error_clear(&err);
	CHECK_STATUS(receipt_parse((const uint8_t *)"{\0}", 3, &r, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "a NUL byte");
	CHECK_STATUS(receipt_parse((const uint8_t *)"[1]", 3, &r, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "receipt: not a JSON object");
	if (CHECK_OK(cpk_buf_reserve(&big, CPK_RECEIPT_MAX_SIZE + 1, NULL))) {
		memset(big.data, ' ', CPK_RECEIPT_MAX_SIZE + 1);
		CHECK_STATUS(receipt_parse(big.data, CPK_RECEIPT_MAX_SIZE + 1, &r, &err),
		    CPK_ERR_RANGE);
		CHECK_MSG(&err, "more than 33554432");
	}
	CHECK(r == NULL);
	cpk_buf_free(&big);
}

/* A run that refused the bundle before any card (its receipt has no manifest): failed. */
static void
test_not_sent(struct setup *s)
{
	struct cpk_receipt_info in;
	struct cpk_buf doc = CPK_BUF_INIT;
	struct receipt_result res;
	struct cpk_error err;

	memset(&in, 0, sizeof(in));
	in.version = "test";
	in.start = in.end = "2026-12-03T00:00:00.000Z";
	in.result = "rejected";
	in.bundle_sha256 = cpk_bundle_sha256(s->b);
	in.stop = CPK_RECEIPT_NOT_SENT;
	CHECK_OK(cpk_receipt_encode(&in, NULL, &doc, NULL));
	CHECK_OK(cpk_buf_append_byte(&doc, 0, NULL));
	doc.len--;
	if (CHECK_OK(check(s, &doc, &res, &err))) {
		CHECK(res.verdict == RECEIPT_FAILED);
		CHECK(strstr(res.reason, "nothing was sent to the card") != NULL);
	}
	cpk_buf_free(&doc);
}

static void
test_scp03(void)
{
	struct setup s = { "03", "70", "c-mac+c-dec+r-mac", "keys03.yaml", card03, "000001",
	    "30", NULL, CPK_BUF_INIT, NULL, NULL, 0, "", NULL };
	struct cpk_buf doc = CPK_BUF_INIT, e = CPK_BUF_INIT;
	struct receipt_result res;
	struct cpk_error err;
	char sha[2 * CPK_SHA256_LEN + 1], from[200], to[200];
	const char *p, *start;

	if (!setup_open(&s))
		goto out;
	/* Loaded: every R-MAC verified. */
	load(&s, &doc);
	if (CHECK_OK(check(&s, &doc, &res, &err))) {
		CHECK(res.verdict == RECEIPT_LOADED);
		CHECK(res.rmac);
		CHECK(res.rmacs == s.n - 3);
		CHECK(strstr(res.reason, "loaded: all") != NULL);
	}
	test_parser(&doc);
	test_not_sent(&s);

	/* The verifier's refusals, each with its reason. */
	cpk_hex_encode(cpk_bundle_sha256(s.b), CPK_SHA256_LEN, sha, sizeof(sha));
	snprintf(from, sizeof(from), "\"sha256\":\"%.2s", sha);
	snprintf(to, sizeof(to), "\"sha256\":\"%s", sha[0] == '0' ? "1" : "0");
	snprintf(to + strlen(to), sizeof(to) - strlen(to), "%c", sha[1]);
	refused(&s, &doc, from, to, "not for this one");
	snprintf(from, sizeof(from), "\"sha256\":\"%s\"", sha);
	refused(&s, &doc, from, "\"sha256\":null", "the receipt names no bundle");
	/* One answer more than the bundle has commands. */
	{
		char extra[200];

		snprintf(extra, sizeof(extra), "},\n{\"index\":%zu,\"label\":\"MORE\",\"sw\":\"9000\","
		    "\"data\":\"\",\"usec\":1}],\n\"stop\"", s.n + 1);
		refused(&s, &doc, "}],\n\"stop\"", extra, "the receipt answers");
	}
	snprintf(from, sizeof(from), "\"commands\":%zu}", s.n);
	snprintf(to, sizeof(to), "\"commands\":%zu}", s.n + 1);
	refused(&s, &doc, from, to, "bundle.commands is");
	refused(&s, &doc, "\"profile\":\"receipt\"", "\"profile\":\"other\"", "bundle.profile is");
	refused(&s, &doc, "\"serial\":\"RCPT-1\"", "\"serial\":\"RCPT-2\"", "bundle.serial is");
	refused(&s, &doc, "\"mode\":\"offline\"", "\"mode\":\"session\"", "bundle.mode");
	refused(&s, &doc, "{\"index\":2,", "{\"index\":3,", "commands[1] is numbered 3");
	refused(&s, &doc, "\"label\":\"INITIALIZE UPDATE\"", "\"label\":\"INITIALIZE UPDATES\"",
	    "in the receipt but 'INITIALIZE UPDATE' in the bundle");
	refused(&s, &doc, "\"reason\":\"done\"", "\"reason\":\"card-gone\"",
	    "the stop point (card-gone at command 0) does not fit");
	refused(&s, &doc, "\"reason\":\"done\",\"index\":null,\"sw\":null",
	    "\"reason\":\"refused\",\"index\":1,\"sw\":\"9000\"", "does not fit");
	/* SELECT answered 6A82 (refused), yet the run went on. */
	p = strstr((const char *)doc.data, "{\"index\":1,");
	if (CHECK(p != NULL)) {
		p = strstr(p, "\"sw\":\"9000\"");
		snprintf(from, sizeof(from), "%.40s", p);
		memcpy(to, from, sizeof(to));
		memcpy(to + 6, "6A82", 4);
		refused(&s, &doc, from, to, "which it does not accept, yet the run went on");
	}
	/* The card's fields against its answer, and the answer against command 2's. */
	refused(&s, &doc, "\"kdd\":\"0102030405060708090A\"", "\"kdd\":\"0102030405060708090B\"",
	    "is not what its iu-response says");
	refused(&s, &doc, "\"iu-response\":\"0102030405060708090A3003",
	    "\"iu-response\":\"0102030405060708090A3004", "card.iu-response: ");
	refused(&s, &doc, "\"host-challenge\":\"0102030405060708\"",
	    "\"host-challenge\":\"0102030405060709\"", "card.host-challenge is not the bundle's");
	refused(&s, &doc, "\"card\":{\"seen-by\":\"initialize-update\"",
	    "\"card\":{\"seen-by\":\"identify\"", "is not the answer to command 2");

	/* An answer edited by one byte: its R-MAC no longer verifies. */
	snprintf(from, sizeof(from), "{\"index\":%zu,", s.n);
	start = strstr((const char *)doc.data, from);
	if (CHECK(start != NULL) && CHECK((p = strstr(start, "\"data\":\"")) != NULL) &&
	    CHECK(p - start < 150)) {
		snprintf(from, sizeof(from), "%.*s", (int)(p - start + 9), start);
		snprintf(to, sizeof(to), "%.*s%c", (int)(p - start + 8), start,
		    p[8] == '0' ? '1' : '0');
		edited(&doc, from, to, &e);
		if (CHECK_OK(check(&s, &e, &res, &err))) {
			CHECK(res.verdict == RECEIPT_NOT_AUTHENTIC);
			if (!CHECK(res.index == s.n))
				fprintf(stderr, "  %zu of %zu: %s\n", res.index, s.n, res.reason);
			CHECK(strstr(res.reason, "is not authentic: response R-MAC mismatch") != NULL);
		}
	}
	/* Keys that are not the card's: no verdict, an error. */
	write_file("wrong.yaml", "kvn: 30\nalgorithm: aes\nenc: 00112233445566778899AABBCCDDEEFF\n"
	    "mac: 00112233445566778899AABBCCDDEEFF\ndek: 00112233445566778899AABBCCDDEEFF\n",
	    strlen("kvn: 30\nalgorithm: aes\nenc: 00112233445566778899AABBCCDDEEFF\n"
	    "mac: 00112233445566778899AABBCCDDEEFF\ndek: 00112233445566778899AABBCCDDEEFF\n"));
	snprintf(s.keys, sizeof(s.keys), "%s/wrong.yaml", dir);
	CHECK_STATUS(check(&s, &doc, &res, &err), CPK_ERR_VERIFY);
	CHECK_MSG(&err, "the bundle cannot be recomputed with these keys");
	snprintf(s.keys, sizeof(s.keys), "%s/keys03.yaml", dir);

	/* A card that answers 9000 to the last INSTALL without doing it (and without R-MAC). */
	setup_close(&s);
	if (!setup_open(&s))
		goto out;
	s.card->faults.sw_at = s.n;
	s.card->faults.sw = 0x9000;
	load(&s, &doc);
	if (CHECK_OK(check(&s, &doc, &res, &err))) {
		CHECK(res.verdict == RECEIPT_NOT_AUTHENTIC);
		CHECK(res.index == s.n);
		CHECK(res.sw == 0x9000);
		CHECK(strstr(res.reason, "too short to carry its R-MAC") != NULL);
	}

	/* The same, with 8 bytes posing as the R-MAC. */
	setup_close(&s);
	if (!setup_open(&s))
		goto out;
	s.card->faults.sw_at = s.n;
	s.card->faults.sw = 0x9000;
	s.card->faults.fake_rmac = true;
	load(&s, &doc);
	if (CHECK_OK(check(&s, &doc, &res, &err))) {
		CHECK(res.verdict == RECEIPT_NOT_AUTHENTIC && res.index == s.n);
		CHECK(strstr(res.reason, "R-MAC mismatch") != NULL);
	}

	/* A refused LOAD block: failed at that command, with its SW. */
	setup_close(&s);
	if (!setup_open(&s))
		goto out;
	s.card->faults.sw_at = 5;
	s.card->faults.sw = 0x6A84;
	load(&s, &doc);
	if (CHECK_OK(check(&s, &doc, &res, &err))) {
		CHECK(res.verdict == RECEIPT_FAILED);
		CHECK(res.index == 5 && res.has_sw && res.sw == 0x6A84);
		CHECK(strstr(res.reason, "failed at command 5") != NULL);
		CHECK(strstr(res.reason, "with 6A84") != NULL);
	}
out:
	cpk_buf_free(&e);
	cpk_buf_free(&doc);
	setup_close(&s);
}

/* SCP02 with R-MAC (i=75): loaded; the faked 9000 caught. */
static void
test_scp02(void)
{
	struct setup s = { "02", "75", "c-mac+r-mac", "keys02.yaml", card02, "0000", "20",
	    NULL, CPK_BUF_INIT, NULL, NULL, 0, "", NULL };
	struct cpk_buf doc = CPK_BUF_INIT;
	struct receipt_result res;
	struct cpk_error err;

	if (!setup_open(&s))
		goto out;
	load(&s, &doc);
	if (CHECK_OK(check(&s, &doc, &res, &err))) {
		CHECK(res.verdict == RECEIPT_LOADED);
		CHECK(res.rmacs == s.n - 3);
	}
	setup_close(&s);
	if (!setup_open(&s))
		goto out;
	s.card->faults.sw_at = s.n;
	s.card->faults.sw = 0x9000;
	load(&s, &doc);
	if (CHECK_OK(check(&s, &doc, &res, &err)))
		CHECK(res.verdict == RECEIPT_NOT_AUTHENTIC && res.index == s.n);
out:
	cpk_buf_free(&doc);
	setup_close(&s);
}

/* A level without R-MAC: loaded by status words only. */
static void
test_no_rmac(void)
{
	struct setup s = { "03", "70", "c-mac+c-dec", "keys03.yaml", card03, "000001", "30",
	    NULL, CPK_BUF_INIT, NULL, NULL, 0, "", NULL };
	struct cpk_buf doc = CPK_BUF_INIT;
	struct receipt_result res;
	struct cpk_error err;

	if (!setup_open(&s))
		goto out;
	load(&s, &doc);
	if (CHECK_OK(check(&s, &doc, &res, &err))) {
		CHECK(res.verdict == RECEIPT_UNVERIFIED);
		CHECK(!res.rmac && res.rmacs == 0);
		CHECK(strstr(res.reason, "not verifiable without R-MAC") != NULL);
	}
out:
	cpk_buf_free(&doc);
	setup_close(&s);
}

/* The simulator's public key for the hello instance (tests/cardsim/README.md). */
static void
expected_pubkey(uint8_t out[65])
{
	uint8_t in[10 + 10 + 1];

	memcpy(in, "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0A", 10);
	memcpy(in + 10, "\xF0\x43\x50\x4B\x48\x45\x4C\x4C\x4F\x01", 10);
	out[0] = 0x04;
	in[20] = 'x';
	CHECK_OK(cpk_sha256(in, sizeof(in), out + 1, NULL));
	in[20] = 'y';
	CHECK_OK(cpk_sha256(in, sizeof(in), out + 33, NULL));
}

/* Load, verify, and check the one capture: present with the public key, or absent. */
static void
check_capture(struct setup *s, bool present, enum receipt_verdict verdict)
{
	struct cpk_buf doc = CPK_BUF_INIT;
	struct receipt_result res;
	struct cpk_error err;
	uint8_t want[65];

	expected_pubkey(want);
	load(s, &doc);
	if (CHECK_OK(check(s, &doc, &res, &err))) {
		if (!CHECK(res.verdict == verdict))
			fprintf(stderr, "  %s: %s\n", s->level, res.reason);
		if (CHECK(res.ncaptured == 1)) {
			CHECK_STR(res.captured[0].name, "pubkey");
			CHECK(res.captured[0].index == s->n);
			CHECK(res.captured[0].present == present);
			if (present && CHECK(res.captured[0].len == sizeof(want)))
				CHECK(memcmp(res.captured[0].value, want, sizeof(want)) == 0);
			if (!present)
				CHECK(res.captured[0].len == 0);
		}
	} else {
		fprintf(stderr, "  %s\n", err.msg);
	}
	cpk_buf_free(&doc);
}

/* The last answer's status word edited to 6A88: the capture is not present. */
static void
unprotected_sw(struct setup *s)
{
	struct cpk_buf doc = CPK_BUF_INIT, e = CPK_BUF_INIT;
	struct receipt_result res;
	struct cpk_error err;
	char from[200], to[200];
	const char *start, *p;

	load(s, &doc);
	snprintf(from, sizeof(from), "{\"index\":%zu,", s->n);
	start = strstr((const char *)doc.data, from);
	if (CHECK(start != NULL) && CHECK((p = strstr(start, "\"sw\":\"9000\"")) != NULL) &&
	    CHECK(p - start < 100)) {
		snprintf(from, sizeof(from), "%.*s", (int)(p - start + 11), start);
		snprintf(to, sizeof(to), "%.*s6A88\"", (int)(p - start + 6), start);
		edited(&doc, from, to, &e);
		if (CHECK_OK(check(s, &e, &res, &err)) && CHECK(res.ncaptured == 1))
			CHECK(!res.captured[0].present);
	}
	cpk_buf_free(&doc);
	cpk_buf_free(&e);
}

/* A step's response kept: with R-MAC, R-ENC, without R-MAC; absent when the run stopped. */
static void
test_captures(void)
{
	static const char *const levels[] = {
		"c-mac+c-dec+r-mac", "c-mac+c-dec+r-mac+r-enc", "c-mac+c-dec",
	};
	static const enum receipt_verdict verdicts[] = {
		RECEIPT_LOADED, RECEIPT_LOADED, RECEIPT_UNVERIFIED,
	};
	struct setup s = { "03", "70", NULL, "keys03.yaml", card03, "000001", "30",
	    NULL, CPK_BUF_INIT, NULL, NULL, 0, "", capture_steps };
	const struct cpk_manifest *m;
	size_t i;

	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		s.level = levels[i];
		if (!setup_open(&s))
			goto out;
		m = cpk_bundle_manifest(s.b);
		if (CHECK(m->ncaptures == 1)) {
			CHECK_STR(m->captures[0].name, "pubkey");
			CHECK(m->captures[0].command == s.n);
		}
		check_capture(&s, true, verdicts[i]);
		setup_close(&s);
	}
	/*
	 * The captured answer's status word edited to another the step accepts,
	 * 6A88, which carries no R-MAC: nothing proves the data, not captured.
	 */
	s.level = levels[0];
	if (!setup_open(&s))
		goto out;
	unprotected_sw(&s);
	setup_close(&s);
	/* The run stopped at the STORE DATA before: no capture. */
	s.level = levels[0];
	if (!setup_open(&s))
		goto out;
	s.card->faults.sw_at = s.n - 1;
	s.card->faults.sw = 0x6A84;
	check_capture(&s, false, RECEIPT_FAILED);
	/* The captured command itself refused: no capture. */
	setup_close(&s);
	if (!setup_open(&s))
		goto out;
	s.card->faults.sw_at = s.n;
	s.card->faults.sw = 0x6985;
	check_capture(&s, false, RECEIPT_FAILED);
out:
	setup_close(&s);
}

int
main(void)
{
	static const uint8_t seed[32] = { 9 };
	struct capgen_spec spec;
	struct cpk_error err;
	char path[512];

	snprintf(dir, sizeof(dir), "/tmp/cpk-receipt-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	write_file("keys03.yaml", keys03, strlen(keys03));
	write_file("keys02.yaml", keys02, strlen(keys02));
	capgen_spec_init(&spec);
	CHECK_OK(capgen_aid_parse("F043504B48454C4C4F", &spec.package, &err));
	CHECK_OK(capgen_aid_parse("F043504B48454C4C4F01", &spec.applets[0], &err));
	spec.applet_count = 1;
	spec.lfdb_size = 1500;
	snprintf(path, sizeof(path), "%s/hello.cap", dir);
	if (CHECK_OK(capgen_write(&spec, path, &err)) &&
	    CHECK_OK(cpk_signer_from_seed(seed, &signer, &err)) &&
	    CHECK_OK(cpk_trust_new(&trust, &err)) &&
	    CHECK_OK(cpk_trust_add_key(trust, cpk_signer_pubkey(signer), "test", &err))) {
		test_scp03();
		test_scp02();
		test_no_rmac();
		test_captures();
	}
	cpk_trust_free(&trust);
	cpk_signer_free(&signer);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	if (system(path) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return test_summary("receipt");
}
