/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cardc verify: recompute every cryptogram and MAC of a bundle with the
 * card keys, decrypt, and show the plain commands (bundle_verify.h).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle_read.h"
#include "bundle_verify.h"
#include "cardc.h"
#include "cli_util.h"

#define SYNOPSIS "cardc verify BUNDLE -k KEYDIR|KEYFILE [--trust PUB|DIR] [--json]"

enum { OPT_JSON = 256, OPT_TRUST };

static const struct option long_options[] = {
	{ "keys", required_argument, NULL, 'k' },
	{ "trust", required_argument, NULL, OPT_TRUST },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct verify_args {
	const char *bundle, *keys, *trust;
	bool json;
};

static const char *
bundle_name(const struct verify_args *a)
{
	return strcmp(a->bundle, "-") == 0 ? "stdin" : a->bundle;
}

static void
keys_text(const struct bundle_verify_result *r, char *buf, size_t n)
{
	if (r->key_file[0] == '\0')
		snprintf(buf, n, "none reproduces the card cryptogram");
	else if (r->master)
		snprintf(buf, n, "%s (master keys, version %02X, diversification %s)", r->key_file,
		    r->key_kvn, gp_diversification_name(r->div));
	else
		snprintf(buf, n, "%s (static keys, version %02X)", r->key_file, r->key_kvn);
}

static void
print_human(const struct verify_args *a, const struct cpk_bundle *b, const struct cardc_plain_list *l,
    const struct bundle_verify_result *r, cpk_status ret)
{
	char text[1024];
	size_t i;

	printf("%-10s%s\n", "bundle", bundle_name(a));
	cardc_signature_text(b, a->trust != NULL, text, sizeof(text));
	printf("%-10s%s\n", "signature", text);
	keys_text(r, text, sizeof(text));
	printf("%-10s%s\n", "keys", text);
	cardc_captures_text(b);
	putchar('\n');
	for (i = 0; i < l->n; i++) {
		printf("%5zu  %s\n%5s  ", l->v[i].index + 1, l->v[i].cmd->label, "");
		cli_print_hex(stdout, l->v[i].apdu, l->v[i].len);
		putchar('\n');
	}
	if (ret == CPK_OK)
		printf("\nverify: %zu commands reproduced: every cryptogram and MAC matches\n",
		    r->checked);
}

static void
print_json(const struct verify_args *a, const struct cpk_bundle *b, const struct cardc_plain_list *l,
    const struct bundle_verify_result *r, cpk_status ret, const struct cpk_error *err)
{
	struct cli_json j;
	char text[1024];
	size_t i;

	cli_json_init(&j, stdout);
	cli_json_object(&j, NULL);
	cli_json_str(&j, "bundle", bundle_name(a));
	cardc_signature_json(&j, b, a->trust != NULL);
	cli_json_object(&j, "keys");
	cli_json_str(&j, "file", r->key_file[0] != '\0' ? r->key_file : NULL);
	if (r->key_file[0] != '\0') {
		cli_json_bool(&j, "master", r->master);
		cli_json_str(&j, "diversification", gp_diversification_name(r->div));
		cli_json_hex(&j, "kvn", &r->key_kvn, 1);
	}
	cli_json_uint(&j, "files-read", r->key_files);
	cli_json_uint(&j, "files-refused", r->key_files_refused);
	cli_json_end(&j);
	cardc_captures_json(&j, b);
	cli_json_bool(&j, "ok", ret == CPK_OK);
	cli_json_uint(&j, "checked", r->checked);
	if (ret == CPK_OK) {
		cli_json_null(&j, "mismatch");
		cli_json_null(&j, "error");
	} else {
		cli_error_text(err, text, sizeof(text));
		if (r->mismatch) {
			cli_json_object(&j, "mismatch");
			if (r->has_index) {
				cli_json_uint(&j, "index", r->index + 1);
				cli_json_str(&j, "label", r->label);
			} else {
				cli_json_null(&j, "index");
				cli_json_str(&j, "label", "manifest iu-response");
			}
			cli_json_str(&j, "message", text);
			cli_json_end(&j);
			cli_json_null(&j, "error");
		} else {
			cli_json_null(&j, "mismatch");
			cli_json_str(&j, "error", text);
		}
	}
	cli_json_array(&j, "commands");
	for (i = 0; i < l->n; i++) {
		cli_json_object(&j, NULL);
		cli_json_uint(&j, "index", l->v[i].index + 1);
		cli_json_str(&j, "label", l->v[i].cmd->label);
		cli_json_hex(&j, "plain", l->v[i].apdu, l->v[i].len);
		cli_json_end(&j);
	}
	cli_json_end(&j);
	cli_json_finish(&j);
}

static int
run(const struct verify_args *a)
{
	struct cpk_bundle *b = NULL;
	struct cardc_plain_list l;
	struct bundle_verify_result r;
	struct cpk_error err;
	size_t n;
	cpk_status ret;

	cpk_error_clear(&err);
	memset(&l, 0, sizeof(l));
	memset(&r, 0, sizeof(r));
	if ((ret = cardc_open_bundle(a->bundle, a->trust, false, &b, &err)) != CPK_OK) {
		cli_error(&err);
		goto out;
	}
	n = cpk_bundle_command_count(b);
	ret = bundle_verify(cpk_bundle_manifest(b), cpk_bundle_commands(b), n, a->keys, cardc_plain_collect,
	    &l, &r, &err);
	if (a->json)
		print_json(a, b, &l, &r, ret, &err);
	else
		print_human(a, b, &l, &r, ret);
	fflush(stdout);
	if (ret != CPK_OK)
		cli_error_in(bundle_name(a), &err);
out:
	cardc_plain_list_free(&l);
	cpk_bundle_free(&b);
	return cli_exit_status(ret);
}

static int
verify_main(int argc, char *argv[])
{
	struct verify_args a;
	int c;

	memset(&a, 0, sizeof(a));
	while ((c = getopt_long(argc, argv, CARDC_GETOPT_PREFIX "k:h", long_options, NULL)) != -1) {
		switch (c) {
		case 'k':
			a.keys = optarg;
			break;
		case OPT_TRUST:
			a.trust = optarg;
			break;
		case OPT_JSON:
			a.json = true;
			break;
		case 'h':
			cli_command_help(&cardc_verify_command, stdout);
			return CLI_EXIT_OK;
		default:
			return cli_bad_option("verify", SYNOPSIS, c, argv, long_options);
		}
	}
	if (optind == argc)
		return cli_usage("verify", SYNOPSIS, "missing BUNDLE");
	if (argc - optind > 1)
		return cli_usage("verify", SYNOPSIS, "one bundle at a time (unexpected '%s')",
		    argv[optind + 1]);
	if (a.keys == NULL)
		return cli_usage("verify", SYNOPSIS, "missing -k KEYDIR|KEYFILE");
	a.bundle = argv[optind];
	return run(&a);
}

const struct cli_command cardc_verify_command = {
	.name = "verify",
	.run = verify_main,
	.summary = "recompute a bundle with the card keys and show the plain commands",
	.synopsis = SYNOPSIS,
	.help =
	    "Recompute BUNDLE ('-' reads stdin) with the card keys, as the card will\n"
	    "check it, in command order: SELECT and INITIALIZE UPDATE of an offline\n"
	    "bundle; the key set that reproduces the card cryptogram of the\n"
	    "manifest's INITIALIZE UPDATE response (diversified with the manifest's\n"
	    "KDD); the pseudo-random card challenge of an offline bundle; EXTERNAL\n"
	    "AUTHENTICATE, then the C-MAC (and C-DEC) and the Le byte of every\n"
	    "secured command. Print each command decrypted, with its label. The\n"
	    "first mismatch is reported with the command's number (from 1) and\n"
	    "label, and the exit status is 1.\n"
	    "\n"
	    "  -k, --keys KEYDIR|KEYFILE  a key set file, or a folder whose *.yaml\n"
	    "                             key set files are all tried\n"
	    "      --trust PUB|DIR        check the signature first (a public key file\n"
	    "                             or a folder of *.pub files); without it the\n"
	    "                             signature is reported as not verified\n"
	    "      --json                 print one JSON document instead\n"
	    "  -h, --help                 show this help\n",
};
