/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cardc inspect: show a bundle's manifest, signature status and commands.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bundle_read.h"
#include "cardc.h"
#include "cli_util.h"
#include "cpk_text.h"

#define SYNOPSIS "cardc inspect BUNDLE [--json] [--apdus] [--trust PUB|DIR]"

enum { OPT_JSON = 256, OPT_APDUS, OPT_TRUST };

static const struct option long_options[] = {
	{ "json", no_argument, NULL, OPT_JSON },
	{ "apdus", no_argument, NULL, OPT_APDUS },
	{ "trust", required_argument, NULL, OPT_TRUST },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct inspect_args {
	const char *bundle, *trust;
	bool json, apdus;
};

/* "s-e": secured, INITIALIZE UPDATE, EXTERNAL AUTHENTICATE. */
static void
flags_text(uint8_t flags, char out[4])
{
	out[0] = (flags & CPK_CMD_SECURED) ? 's' : '-';
	out[1] = (flags & CPK_CMD_INIT_UPDATE) ? 'i' : '-';
	out[2] = (flags & CPK_CMD_EXT_AUTH) ? 'e' : '-';
	out[3] = '\0';
}

static void
sw_text(const struct cpk_command *c, char *buf, size_t n)
{
	char one[5];
	size_t i, k = 0;

	buf[0] = '\0';
	for (i = 0; i < c->nsw && k + 6 < n; i++) {
		cpk_sw_pattern_format(&c->sw[i], one);
		k += (size_t)snprintf(buf + k, n - k, "%s%s", i > 0 ? "," : "", one);
	}
}

static void
print_field_hex(const char *name, const uint8_t *p, size_t n)
{
	printf("%-18s", name);
	cli_print_hex(stdout, p, n);
	putchar('\n');
}

static void
print_human(const struct inspect_args *a, const struct cpk_bundle *b)
{
	const struct cpk_manifest *m = cpk_bundle_manifest(b);
	char text[1024], flags[4], sw[CPK_SW_MAX * 5 + 1];
	size_t i, n = cpk_bundle_command_count(b);

	printf("%-18s%s\n", "bundle", strcmp(a->bundle, "-") == 0 ? "stdin" : a->bundle);
	print_field_hex("sha256", cpk_bundle_sha256(b), CPK_SHA256_LEN);
	cardc_signature_text(b, a->trust != NULL, text, sizeof(text));
	printf("%-18s%s\n", "signature", text);
	printf("%-18s%u\n", "format", m->format);
	printf("%-18s%s\n", "compiler", m->compiler);
	printf("%-18s%s\n", "profile", m->profile);
	print_field_hex("profile-sha256", m->profile_sha256, CPK_SHA256_LEN);
	cpk_time_format(m->created, text, sizeof(text));
	printf("%-18s%llu (%s)\n", "created", (unsigned long long)m->created, text);
	printf("%-18s%s\n", "mode", m->mode == CPK_MODE_OFFLINE ? "offline" : "session");
	printf("card:\n");
	if (m->serial[0] != '\0')
		printf("  %-16s%s\n", "serial", m->serial);
	print_field_hex("  kdd", m->kdd, sizeof(m->kdd));
	print_field_hex("  sd-aid", m->sd_aid, m->sd_aid_len);
	if (m->iin_len > 0)
		print_field_hex("  iin", m->iin, m->iin_len);
	if (m->cin_len > 0)
		print_field_hex("  cin", m->cin, m->cin_len);
	printf("channel:\n");
	printf("  %-16s%02X\n", "scp", m->scp);
	printf("  %-16s%02X\n", "i", m->i);
	printf("  %-16s%02X\n", "kvn", m->kvn);
	printf("  %-16s%02X (%s)\n", "level", m->level, cli_level_name(m->level));
	if (m->counter_len > 0)
		print_field_hex("  counter", m->counter, m->counter_len);
	if (m->has_host_challenge)
		print_field_hex("  host-challenge", m->host_challenge, sizeof(m->host_challenge));
	if (m->iu_response_len > 0)
		print_field_hex("  iu-response", m->iu_response, m->iu_response_len);
	printf("%-18s%u commands, %u bytes, sha256 ", "script", m->commands, m->script_size);
	cli_print_hex(stdout, m->script_sha256, CPK_SHA256_LEN);
	putchar('\n');
	cardc_captures_text(b);
	printf("\n%5s  %-5s %-14s %5s  %s\n", "#", "flags", "status words", "bytes", "label");
	for (i = 0; i < n; i++) {
		const struct cpk_command *c = cpk_bundle_command(b, i);

		flags_text(c->flags, flags);
		sw_text(c, sw, sizeof(sw));
		printf("%5zu  %-5s %-14s %5zu  %s\n", i + 1, flags, sw, c->apdu_len, c->label);
		if (a->apdus) {
			printf("%5s  ", "");
			cli_print_hex(stdout, c->apdu, c->apdu_len);
			putchar('\n');
		}
	}
}

static void
json_byte(struct cli_json *j, const char *key, uint8_t v)
{
	cli_json_hex(j, key, &v, 1);
}

static void
print_json(const struct inspect_args *a, const struct cpk_bundle *b)
{
	const struct cpk_manifest *m = cpk_bundle_manifest(b);
	struct cli_json j;
	char text[64], sw[5];
	size_t i, k, n = cpk_bundle_command_count(b);

	cli_json_init(&j, stdout);
	cli_json_object(&j, NULL);
	cli_json_str(&j, "bundle", strcmp(a->bundle, "-") == 0 ? "stdin" : a->bundle);
	cli_json_hex(&j, "sha256", cpk_bundle_sha256(b), CPK_SHA256_LEN);
	cardc_signature_json(&j, b, a->trust != NULL);
	cli_json_object(&j, "manifest");
	cli_json_uint(&j, "format", m->format);
	cli_json_str(&j, "compiler", m->compiler);
	cli_json_str(&j, "profile", m->profile);
	cli_json_hex(&j, "profile-sha256", m->profile_sha256, CPK_SHA256_LEN);
	cli_json_uint(&j, "created", m->created);
	cpk_time_format(m->created, text, sizeof(text));
	cli_json_str(&j, "created-utc", text);
	cli_json_str(&j, "mode", m->mode == CPK_MODE_OFFLINE ? "offline" : "session");
	cli_json_object(&j, "card");
	cli_json_str(&j, "serial", m->serial[0] != '\0' ? m->serial : NULL);
	cli_json_hex(&j, "kdd", m->kdd, sizeof(m->kdd));
	cli_json_hex(&j, "sd-aid", m->sd_aid, m->sd_aid_len);
	if (m->iin_len > 0)
		cli_json_hex(&j, "iin", m->iin, m->iin_len);
	if (m->cin_len > 0)
		cli_json_hex(&j, "cin", m->cin, m->cin_len);
	cli_json_end(&j);
	cli_json_object(&j, "channel");
	json_byte(&j, "scp", m->scp);
	json_byte(&j, "i", m->i);
	json_byte(&j, "kvn", m->kvn);
	json_byte(&j, "level", m->level);
	cli_json_str(&j, "level-name", cli_level_name(m->level));
	if (m->counter_len > 0)
		cli_json_hex(&j, "counter", m->counter, m->counter_len);
	if (m->has_host_challenge)
		cli_json_hex(&j, "host-challenge", m->host_challenge, sizeof(m->host_challenge));
	if (m->iu_response_len > 0)
		cli_json_hex(&j, "iu-response", m->iu_response, m->iu_response_len);
	cli_json_end(&j);
	cli_json_uint(&j, "commands", m->commands);
	cli_json_uint(&j, "script-size", m->script_size);
	cli_json_hex(&j, "script-sha256", m->script_sha256, CPK_SHA256_LEN);
	cardc_captures_json(&j, b);
	cli_json_end(&j);
	cli_json_array(&j, "commands");
	for (i = 0; i < n; i++) {
		const struct cpk_command *c = cpk_bundle_command(b, i);

		cli_json_object(&j, NULL);
		cli_json_uint(&j, "index", i + 1);
		cli_json_str(&j, "label", c->label);
		cli_json_bool(&j, "secured", (c->flags & CPK_CMD_SECURED) != 0);
		cli_json_bool(&j, "initialize-update", (c->flags & CPK_CMD_INIT_UPDATE) != 0);
		cli_json_bool(&j, "external-authenticate", (c->flags & CPK_CMD_EXT_AUTH) != 0);
		cli_json_array(&j, "sw");
		for (k = 0; k < c->nsw; k++) {
			cpk_sw_pattern_format(&c->sw[k], sw);
			cli_json_str(&j, NULL, sw);
		}
		cli_json_end(&j);
		cli_json_uint(&j, "length", c->apdu_len);
		if (a->apdus)
			cli_json_hex(&j, "apdu", c->apdu, c->apdu_len);
		cli_json_end(&j);
	}
	cli_json_end(&j);
	cli_json_finish(&j);
}

static int
run(const struct inspect_args *a)
{
	struct cpk_bundle *b = NULL;
	struct cpk_error err;
	cpk_status ret;
	bool verified;

	cpk_error_clear(&err);
	if ((ret = cardc_open_bundle(a->bundle, a->trust, true, &b, &err)) != CPK_OK) {
		cli_error(&err);
		return cli_exit_status(ret);
	}
	if (a->json)
		print_json(a, b);
	else
		print_human(a, b);
	fflush(stdout);
	verified = cpk_bundle_verified(b, NULL, NULL);
	cpk_bundle_free(&b);
	/* With --trust, an unverified signature is an error (the report says why). */
	if (a->trust != NULL && !verified) {
		cli_errorf("%s: the signature does not verify against '%s'",
		    strcmp(a->bundle, "-") == 0 ? "stdin" : a->bundle, a->trust);
		return CLI_EXIT_ERROR;
	}
	return CLI_EXIT_OK;
}

static int
inspect_main(int argc, char *argv[])
{
	struct inspect_args a;
	int c;

	memset(&a, 0, sizeof(a));
	while ((c = getopt_long(argc, argv, CARDC_GETOPT_PREFIX "h", long_options, NULL)) != -1) {
		switch (c) {
		case OPT_JSON:
			a.json = true;
			break;
		case OPT_APDUS:
			a.apdus = true;
			break;
		case OPT_TRUST:
			a.trust = optarg;
			break;
		case 'h':
			cli_command_help(&cardc_inspect_command, stdout);
			return CLI_EXIT_OK;
		default:
			return cli_bad_option("inspect", SYNOPSIS, c, argv, long_options);
		}
	}
	if (optind == argc)
		return cli_usage("inspect", SYNOPSIS, "missing BUNDLE");
	if (argc - optind > 1)
		return cli_usage("inspect", SYNOPSIS, "one bundle at a time (unexpected '%s')",
		    argv[optind + 1]);
	a.bundle = argv[optind];
	return run(&a);
}

const struct cli_command cardc_inspect_command = {
	.name = "inspect",
	.run = inspect_main,
	.summary = "show a bundle's manifest, signature status and commands",
	.synopsis = SYNOPSIS,
	.help =
	    "Show the manifest, the signature status and the command list of BUNDLE\n"
	    "('-' reads stdin). Without --trust the signature is not checked: the\n"
	    "signing key's id is shown. Commands are numbered from 1; flags are\n"
	    "s (secured), i (INITIALIZE UPDATE), e (EXTERNAL AUTHENTICATE).\n"
	    "\n"
	    "      --json             print one JSON document instead\n"
	    "      --apdus            add each command's APDU in hex\n"
	    "      --trust PUB|DIR    check the signature against this public key\n"
	    "                         file or folder of *.pub files; exit 1 if it\n"
	    "                         does not verify\n"
	    "  -h, --help             show this help\n",
};
