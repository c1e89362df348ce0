/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cardc receipt verify: check what cardload reported a card answered
 * (cpk-receipt(5)) against the bundle and the card keys, R-MAC by R-MAC
 * (compiler/receipt.h). The verdict is the exit status, so that a script
 * (or `cardc receipt import`) can record it.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle_read.h"
#include "cardc.h"
#include "cli_util.h"
#include "cpk_file.h"
#include "receipt.h"

#define SYNOPSIS "cardc receipt verify RECEIPT --bundle BUNDLE -k KEYDIR|KEYFILE " \
    "[--trust PUB|DIR] [--json]"
#define SYNOPSIS_ALL SYNOPSIS "\n       cardc receipt import RECEIPT... --bundle PATH... " \
    "-k KEYDIR|KEYFILE [--registry URI] [--trust PUB|DIR] [--json]"

enum { OPT_JSON = 256, OPT_TRUST, OPT_BUNDLE };

static const struct option long_options[] = {
	{ "bundle", required_argument, NULL, OPT_BUNDLE },
	{ "keys", required_argument, NULL, 'k' },
	{ "trust", required_argument, NULL, OPT_TRUST },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct receipt_args {
	const char *receipt, *bundle, *keys, *trust;
	bool json;
};

static int
verdict_exit(enum receipt_verdict v)
{
	switch (v) {
	case RECEIPT_LOADED:
		return CLI_EXIT_OK;
	case RECEIPT_UNVERIFIED:
		return CARDC_RECEIPT_EXIT_UNVERIFIED;
	case RECEIPT_FAILED:
		return CARDC_RECEIPT_EXIT_FAILED;
	case RECEIPT_NOT_AUTHENTIC:
		return CARDC_RECEIPT_EXIT_NOT_AUTHENTIC;
	case RECEIPT_REFUSED:
		break;
	}
	return CARDC_RECEIPT_EXIT_REFUSED;
}

/* "captured NAME (command N): HEX" per capture of the bundle; "none" when not answered. */
static void
print_captured(const struct receipt_result *res)
{
	const struct receipt_capture *c;
	size_t i;

	for (i = 0; i < res->ncaptured; i++) {
		c = &res->captured[i];
		printf("captured %s (command %zu): ", c->name, c->index);
		if (c->present)
			cli_print_hex(stdout, c->value, c->len);
		else
			printf("none (no accepted%s answer)", res->rmac ? ", authentic" : "");
		putchar('\n');
	}
}

/* "captured": {"NAME": "HEX" or null}. */
static void
json_captured(struct cli_json *j, const struct receipt_result *res)
{
	const struct receipt_capture *c;
	size_t i;

	cli_json_object(j, "captured");
	for (i = 0; i < res->ncaptured; i++) {
		c = &res->captured[i];
		if (c->present)
			cli_json_hex(j, c->name, c->value, c->len);
		else
			cli_json_null(j, c->name);
	}
	cli_json_end(j);
}

static void
print_human(const struct receipt_args *a, const struct receipt *r,
    const struct receipt_result *res)
{
	char kdd[21];

	printf("%-9s%s\n", "receipt", a->receipt);
	printf("%-9s%s\n", "bundle", a->bundle);
	if (r != NULL && r->card.has_kdd) {
		cpk_hex_encode(r->card.kdd, sizeof(r->card.kdd), kdd, sizeof(kdd));
		printf("%-9sKDD %s%s%s (seen by %s)\n", "card", kdd,
		    r->serial[0] != '\0' ? ", serial " : "", r->serial, r->card.seen_by);
	}
	if (res->keys.key_file[0] != '\0')
		printf("%-9s%s\n", "keys", res->keys.key_file);
	printf("%-9s%zu of %s commands answered; R-MAC: %s (%zu verified)\n", "answers",
	    res->answers, r != NULL ? "the bundle's" : "?", res->rmac ? "yes" : "no",
	    res->rmacs);
	printf("%-9s%s\n", "verdict", res->reason);
	print_captured(res);
}

/* The card the receipt names (null when it names none, or did not parse). */
static void
json_card(struct cli_json *j, const struct receipt *r)
{
	const struct receipt_card *c = r != NULL ? &r->card : NULL;

	if (c == NULL || !c->present) {
		cli_json_null(j, "card");
		return;
	}
	cli_json_object(j, "card");
	cli_json_str(j, "seen-by", c->seen_by);
	cli_json_str(j, "serial", c->serial[0] != '\0' ? c->serial : NULL);
	if (c->has_kdd)
		cli_json_hex(j, "kdd", c->kdd, sizeof(c->kdd));
	else
		cli_json_null(j, "kdd");
	if (c->counter_len > 0)
		cli_json_hex(j, "counter", c->counter, c->counter_len);
	else
		cli_json_null(j, "counter");
	cli_json_end(j);
}

static void
print_json(const struct receipt_args *a, const struct cpk_bundle *b, const struct receipt *r,
    const struct receipt_result *res)
{
	const struct cpk_manifest *m = cpk_bundle_manifest(b);
	struct cli_json j;
	char sw[5];

	cli_json_init(&j, stdout);
	cli_json_object(&j, NULL);
	cli_json_str(&j, "receipt", a->receipt);
	cli_json_str(&j, "bundle", a->bundle);
	cli_json_hex(&j, "bundle-sha256", cpk_bundle_sha256(b), CPK_SHA256_LEN);
	cli_json_str(&j, "serial", m->serial[0] != '\0' ? m->serial : NULL);
	json_card(&j, r);
	cli_json_str(&j, "verdict", receipt_verdict_name(res->verdict));
	cli_json_uint(&j, "exit", (uint64_t)verdict_exit(res->verdict));
	if (res->index > 0) {
		cli_json_uint(&j, "index", res->index);
		cli_json_str(&j, "label", res->label);
	} else {
		cli_json_null(&j, "index");
		cli_json_null(&j, "label");
	}
	snprintf(sw, sizeof(sw), "%04X", res->sw);
	cli_json_str(&j, "sw", res->has_sw ? sw : NULL);
	cli_json_bool(&j, "r-mac", res->rmac);
	cli_json_uint(&j, "r-macs-verified", res->rmacs);
	cli_json_uint(&j, "answers", res->answers);
	cli_json_str(&j, "key-file", res->keys.key_file[0] != '\0' ? res->keys.key_file : NULL);
	cli_json_str(&j, "message", res->reason);
	json_captured(&j, res);
	cli_json_end(&j);
	cli_json_finish(&j);
}

static int
run(const struct receipt_args *a)
{
	struct cpk_buf text = CPK_BUF_INIT;
	struct cpk_bundle *b = NULL;
	struct receipt *r = NULL;
	struct receipt_result res;
	struct cpk_error err;
	size_t n;
	int rc = CLI_EXIT_ERROR;
	cpk_status st;

	cpk_error_clear(&err);
	memset(&res, 0, sizeof(res));
	if ((st = cli_read_input(a->receipt, CPK_RECEIPT_MAX_SIZE, &text, &err)) != CPK_OK ||
	    (st = cardc_open_bundle(a->bundle, a->trust, false, &b, &err)) != CPK_OK) {
		cli_error(&err);
		goto out;
	}
	n = cpk_bundle_command_count(b);
	if ((st = receipt_parse(text.data, text.len, &r, &err)) != CPK_OK) {
		/* Bytes that are not a receipt of this format: refused, as a mismatch is. */
		res.verdict = RECEIPT_REFUSED;
		snprintf(res.reason, sizeof(res.reason), "refused: %.500s", err.msg);
	} else if ((st = receipt_verify(r, cpk_bundle_manifest(b), cpk_bundle_commands(b), n,
	    cpk_bundle_sha256(b), a->keys, &res, &err)) != CPK_OK) {
		cli_error_in(a->receipt, &err);
		goto out;
	} else if (res.verdict == RECEIPT_REFUSED) {
		memmove(res.reason + 9, res.reason, sizeof(res.reason) - 9);
		memcpy(res.reason, "refused: ", 9);
		res.reason[sizeof(res.reason) - 1] = '\0';
	}
	if (a->json)
		print_json(a, b, r, &res);
	else
		print_human(a, r, &res);
	rc = verdict_exit(res.verdict);
out:
	fflush(stdout);
	receipt_free(&r);
	cpk_bundle_free(&b);
	cpk_buf_free(&text);
	return rc;
}

static int
verify_main(int argc, char *argv[])
{
	struct receipt_args a;
	int c;

	memset(&a, 0, sizeof(a));
	while ((c = getopt_long(argc, argv, CARDC_GETOPT_PREFIX "k:h", long_options, NULL)) != -1) {
		switch (c) {
		case 'k':
			a.keys = optarg;
			break;
		case OPT_BUNDLE:
			a.bundle = optarg;
			break;
		case OPT_TRUST:
			a.trust = optarg;
			break;
		case OPT_JSON:
			a.json = true;
			break;
		case 'h':
			cli_command_help(&cardc_receipt_command, stdout);
			return CLI_EXIT_OK;
		default:
			return cli_bad_option("receipt", SYNOPSIS, c, argv, long_options);
		}
	}
	if (optind == argc)
		return cli_usage("receipt", SYNOPSIS, "missing RECEIPT");
	if (argc - optind > 1)
		return cli_usage("receipt", SYNOPSIS, "one receipt at a time (unexpected '%s')",
		    argv[optind + 1]);
	if (a.bundle == NULL || a.bundle[0] == '\0')
		return cli_usage("receipt", SYNOPSIS, "missing --bundle BUNDLE (the bundle the "
		    "receipt is for)");
	if (a.keys == NULL)
		return cli_usage("receipt", SYNOPSIS, "missing -k KEYDIR|KEYFILE");
	a.receipt = argv[optind];
	if (strcmp(a.receipt, "-") == 0 && strcmp(a.bundle, "-") == 0)
		return cli_usage("receipt", SYNOPSIS, "the receipt and the bundle cannot both be "
		    "stdin");
	return run(&a);
}

static int
receipt_main(int argc, char *argv[])
{
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		cli_command_help(&cardc_receipt_command, stdout);
		return CLI_EXIT_OK;
	}
	if (argc < 2)
		return cli_usage("receipt", SYNOPSIS_ALL, "missing the action (verify or import)");
	if (strcmp(argv[1], "verify") == 0)
		return verify_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "import") == 0)
		return cardc_receipt_import_main(argc - 1, argv + 1);
	return cli_usage("receipt", SYNOPSIS_ALL, "unknown action '%s' (expected verify or "
	    "import)", argv[1]);
}

const struct cli_command cardc_receipt_command = {
	.name = "receipt",
	.run = receipt_main,
	.summary = "verify cardload receipts, R-MAC by R-MAC, and record them in the registry",
	.synopsis = SYNOPSIS_ALL,
	.help =
	    "Check RECEIPT (a cardload --receipt file, cpk-receipt(5); '-' reads stdin)\n"
	    "against BUNDLE, the bundle it is for, and the card keys. The receipt must\n"
	    "name the bundle's SHA-256, profile, mode, serial and command count, each\n"
	    "command's number and label, a stop point that fits its status words, and\n"
	    "the card's INITIALIZE UPDATE answer the bundle was made for. The session\n"
	    "is then recomputed as 'cardc verify' does and, where the security level\n"
	    "has R-MAC, the R-MAC of every response is verified in chain order: a card\n"
	    "that answers 9000 without doing the work cannot produce it. The card's\n"
	    "delegated-management receipts (a bundle with tokens) are verified with\n"
	    "KEYDIR/dm-receipt.key.\n"
	    "\n"
	    "  --bundle BUNDLE            the bundle (.cpk) the receipt is for\n"
	    "  -k, --keys KEYDIR|KEYFILE  a key set file, or a folder of them\n"
	    "      --trust PUB|DIR        check the bundle's signature first\n"
	    "      --json                 print one JSON document instead\n"
	    "  -h, --help                 show this help\n"
	    "\n"
	    "Exit status (the verdict):\n"
	    "  0  loaded: every command accepted, every R-MAC valid\n"
	    "  1  error: a file cannot be read, the bundle does not verify with the keys\n"
	    "  2  usage\n"
	    "  3  refused: the receipt does not fit the bundle (or is not a receipt)\n"
	    "  4  failed at command N (its status word, the card gone, interrupted)\n"
	    "  5  failed: the response to command N is not authentic (R-MAC, or a\n"
	    "     delegated-management receipt)\n"
	    "  6  loaded by status words only: the level has no R-MAC, not verifiable\n"
	    "\n"
	    "import verifies each RECEIPT the same way and records its verdict in the\n"
	    "registry, with the values the bundle captures, in one transaction: loaded\n"
	    "(also by status words only) or failed, with the verdict as the reason. The\n"
	    "bundle is found by its SHA-256 among the --bundle files (a .cpk file or a\n"
	    "folder of them; repeatable). Nothing is recorded for a receipt that is\n"
	    "refused: it does not fit its bundle, the registry does not know the bundle,\n"
	    "the bundle was superseded, or the card was revoked (the message names the\n"
	    "card that replaced it). A bundle recorded loaded stays loaded.\n"
	    "\n"
	    "  --bundle PATH              a bundle, or a folder of *.cpk bundles\n"
	    "  -k, --keys KEYDIR|KEYFILE  the card keys, as for verify\n"
	    "      --registry URI         sqlite:PATH or postgresql://... (default:\n"
	    "                             CPK_REGISTRY, then the config files)\n"
	    "      --trust PUB|DIR        check each bundle's signature first\n"
	    "      --json                 one JSON document: every receipt's outcome\n"
	    "\n"
	    "import exits with the worst: 1 (a receipt or bundle could not be read),\n"
	    "3 (one refused), 5, 4, 6, then 0 (every card loaded and proven).\n",
};
