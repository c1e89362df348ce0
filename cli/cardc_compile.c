/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cardc compile: one profile and one card record into a signed bundle.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bundle_write.h"
#include "card.h"
#include "cardc.h"
#include "cli_util.h"
#include "compile.h"
#include "cpk_file.h"
#include "profile.h"
#include "registry_issue.h"
#include "sign.h"

#define SYNOPSIS "cardc compile -p PROFILE -c CARD -k KEYDIR -s SIGNKEY -o OUT.cpk " \
    "[--host-challenge HEX] [--registry URI] [--supersede REASON] " \
    "[--pkcs11-module PATH] [--pkcs11-pin-file FILE]"

enum { OPT_HOST_CHALLENGE = 256, OPT_REGISTRY, OPT_SUPERSEDE };

static const struct option long_options[] = {
	{ "profile", required_argument, NULL, 'p' },
	{ "card", required_argument, NULL, 'c' },
	{ "keys", required_argument, NULL, 'k' },
	{ "sign-key", required_argument, NULL, 's' },
	{ "output", required_argument, NULL, 'o' },
	{ "host-challenge", required_argument, NULL, OPT_HOST_CHALLENGE },
	{ "registry", required_argument, NULL, OPT_REGISTRY },
	{ "supersede", required_argument, NULL, OPT_SUPERSEDE },
	CARDC_PKCS11_OPTIONS,
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct compile_args {
	const char *profile, *card, *keys, *sign_key, *output;
	const char *registry, *supersede;
	struct cardc_pkcs11_opts p11;
	uint8_t host_challenge[8];
	bool has_host_challenge;
};

static cpk_status
load_card(const char *path, struct card_record *card, struct cpk_error *err)
{
	struct cpk_buf text = CPK_BUF_INIT;
	cpk_status ret;

	if (strcmp(path, "-") != 0)
		return card_load_yaml(path, card, err);
	card_record_init(card);
	if ((ret = cli_read_input("-", CARD_FILE_MAX, &text, err)) == CPK_OK)
		ret = card_parse_yaml("stdin", text.data, text.len, card, err);
	cpk_buf_free(&text);
	return ret;
}

/* Write the bundle's bytes to path, or to stdout for "-". */
static cpk_status
write_output(const char *path, const struct cpk_buf *b, struct cpk_error *err)
{
	if (strcmp(path, "-") != 0)
		return cpk_file_replace(path, b->data, b->len, 0600, err);
	return cli_write_stdout(b->data, b->len, err);
}

/*
 * With a registry: record the bundle before it is written (a refused
 * second bundle for a card and counter is never written), and mark it
 * failed if it could not be written after all.
 */
static cpk_status
record_and_write(const struct compile_args *a, const struct cardc_registry *cr,
    const struct profile *p, const struct card_record *card, const struct cpk_compiled *c,
    const struct cpk_buf *b, struct cpk_error *err)
{
	char hash[REGISTRY_HEX_HASH] = "", why[CPK_ERROR_MSG_LEN + 64];
	struct cpk_error e2;
	cpk_status ret;

	if (cr->reg != NULL && (ret = registry_issue_bundle(cr->reg, cr->dk, p, card, &c->manifest,
	    b->data, b->len, a->supersede, hash, err)) != CPK_OK)
		return ret;
	if ((ret = write_output(a->output, b, err)) != CPK_OK && cr->reg != NULL) {
		snprintf(why, sizeof(why), "the bundle was not written: %s", err->msg);
		cpk_error_clear(&e2);
		if (registry_set_state(cr->reg, hash, REGISTRY_FAILED, why, NULL, &e2) != CPK_OK)
			cpk_error_prefix(err, "(and not marked failed in the registry: %s)", e2.msg);
	}
	return ret;
}

static int
run(const struct compile_args *a)
{
	struct profile_opts popts = { a->keys };
	struct cpk_compile_opts copts;
	struct cpk_compiled compiled;
	struct card_record card;
	struct profile *p = NULL;
	struct cpk_signer *signer = NULL;
	struct cardc_registry cr;
	struct cpk_buf bytes = CPK_BUF_INIT;
	struct cpk_error err;
	cpk_status ret;

	cpk_error_clear(&err);
	memset(&cr, 0, sizeof(cr));
	memset(&copts, 0, sizeof(copts));
	memset(&compiled, 0, sizeof(compiled));
	card_record_init(&card);
	if ((ret = cpk_bundle_creation_time(&copts.created, &err)) != CPK_OK) {
		cpk_error_prefix(&err, "SOURCE_DATE_EPOCH");
		goto out;
	}
	if (strcmp(a->output, "-") == 0 && isatty(STDOUT_FILENO)) {
		ret = cpk_error_set(&err, CPK_ERR_ARG, "refusing to write a bundle (binary) to a "
		    "terminal; redirect stdout or give -o FILE");
		goto out;
	}
	if ((ret = cardc_pkcs11_setup(&a->p11, &err)) != CPK_OK ||
	    (ret = profile_load(a->profile, &popts, &p, &err)) != CPK_OK ||
	    (ret = load_card(a->card, &card, &err)) != CPK_OK ||
	    (ret = cpk_signer_open(a->sign_key, &signer, &err)) != CPK_OK ||
	    (ret = cardc_registry_open(a->registry, a->keys, p, &cr, &err)) != CPK_OK)
		goto out;
	if (a->supersede != NULL && cr.reg == NULL) {
		ret = cpk_error_set(&err, CPK_ERR_ARG, "--supersede needs a registry (--registry "
		    "URI, CPK_REGISTRY or a config file)");
		goto out;
	}
	if (a->has_host_challenge && p->sd.mode != PROFILE_MODE_OFFLINE) {
		ret = cpk_error_set(&err, CPK_ERR_ARG,
		    "--host-challenge is for offline bundles; profile '%s' makes session bundles, "
		    "whose host challenge comes from the card record", a->profile);
		goto out;
	}
	memcpy(copts.profile_sha256, p->sha256, sizeof(copts.profile_sha256));
	copts.host_challenge = a->has_host_challenge ? a->host_challenge : NULL;
	if ((ret = cpk_compile(p, &card, &copts, &compiled, &err)) != CPK_OK) {
		if (err.line == 0)
			cpk_error_prefix(&err, "%s", a->card);
		goto out;
	}
	if ((ret = cpk_bundle_write(&compiled.manifest, compiled.cmds, compiled.ncmds, signer,
	    &bytes, &err)) != CPK_OK)
		goto out;
	ret = record_and_write(a, &cr, p, &card, &compiled, &bytes, &err);
out:
	if (ret != CPK_OK)
		cli_error(&err);
	cpk_compiled_free(&compiled);
	cpk_buf_free(&bytes);
	cardc_registry_close(&cr);
	card_record_clear(&card);
	cpk_signer_free(&signer);
	profile_free(&p);
	cardc_pkcs11_end();
	return cli_exit_status(ret);
}

static int
compile_main(int argc, char *argv[])
{
	struct compile_args a;
	int c;

	memset(&a, 0, sizeof(a));
	while ((c = getopt_long(argc, argv, CARDC_GETOPT_PREFIX "p:c:k:s:o:h", long_options,
	    NULL)) != -1) {
		switch (c) {
		case 'p':
			a.profile = optarg;
			break;
		case 'c':
			a.card = optarg;
			break;
		case 'k':
			a.keys = optarg;
			break;
		case 's':
			a.sign_key = optarg;
			break;
		case 'o':
			a.output = optarg;
			break;
		case OPT_HOST_CHALLENGE:
			if (cpk_hex_decode_exact(optarg, a.host_challenge, sizeof(a.host_challenge),
			    NULL) != CPK_OK)
				return cli_usage("compile", SYNOPSIS,
				    "--host-challenge wants 16 hex digits (8 bytes), not '%s'", optarg);
			a.has_host_challenge = true;
			break;
		case OPT_REGISTRY:
			a.registry = optarg;
			break;
		case OPT_SUPERSEDE:
			if (optarg[0] == '\0')
				return cli_usage("compile", SYNOPSIS, "--supersede wants a reason");
			a.supersede = optarg;
			break;
		case 'h':
			cli_command_help(&cardc_compile_command, stdout);
			return CLI_EXIT_OK;
		default:
			if (cardc_pkcs11_getopt(c, optarg, &a.p11))
				break;
			return cli_bad_option("compile", SYNOPSIS, c, argv, long_options);
		}
	}
	if (optind < argc)
		return cli_usage("compile", SYNOPSIS, "unexpected argument '%s'", argv[optind]);
	if (a.profile == NULL)
		return cli_usage("compile", SYNOPSIS, "missing -p PROFILE");
	if (a.card == NULL)
		return cli_usage("compile", SYNOPSIS, "missing -c CARD");
	if (a.sign_key == NULL)
		return cli_usage("compile", SYNOPSIS, "missing -s SIGNKEY");
	if (a.output == NULL)
		return cli_usage("compile", SYNOPSIS, "missing -o OUT.cpk");
	if (a.keys == NULL)
		return cli_usage("compile", SYNOPSIS, "missing -k KEYDIR: key sets are read only "
		    "from the key folder you name (the profile names files in it)");
	return run(&a);
}

const struct cli_command cardc_compile_command = {
	.name = "compile",
	.run = compile_main,
	.summary = "compile a profile for one card into a signed bundle",
	.synopsis = SYNOPSIS,
	.help =
	    "Compile the provisioning profile PROFILE (cpk-profile(5)) for the card\n"
	    "described by the card record CARD into a bundle signed with SIGNKEY.\n"
	    "\n"
	    "  -p, --profile PROFILE     the provisioning profile\n"
	    "  -c, --card CARD           the card record, YAML ('-' reads stdin)\n"
	    "  -k, --keys KEYDIR         the key folder: the profile's key sets are file\n"
	    "                            names in it, and key material is read from\n"
	    "                            nowhere else; key files, profile and their\n"
	    "                            folders must be yours or root's and not\n"
	    "                            writable by others\n"
	    "  -s, --sign-key SIGNKEY    the bundle-signing private key (cardc keygen),\n"
	    "                            or pkcs11:URI of one in a token\n"
	    "  -o, --output OUT.cpk      the bundle to write, replaced atomically\n"
	    "                            ('-' writes stdout); a device or FIFO there\n"
	    "                            is refused, never replaced\n"
	    "      --host-challenge HEX  the 8-byte host challenge of an offline bundle\n"
	    "                            (16 hex digits; default: random), for\n"
	    "                            reproducible builds and tests\n"
	    "      --registry URI        record the bundle in the issuance registry\n"
	    "                            (sqlite:PATH, postgresql://...; default:\n"
	    "                            CPK_REGISTRY, then the config files; 'none':\n"
	    "                            no registry); the card record needs a serial\n"
	    "      --supersede REASON    the card and counter have an issued bundle:\n"
	    "                            mark it superseded (with REASON) and record\n"
	    "                            this one; without, a second bundle for a card\n"
	    "                            and counter is refused\n"
	    CARDC_PKCS11_HELP
	    "  -h, --help                show this help\n"
	    "\n"
	    "SOURCE_DATE_EPOCH, when set, is the bundle's creation time. The same\n"
	    "inputs, host challenge and SOURCE_DATE_EPOCH give the same bundle bytes.\n"
	    "With a registry the bundle is recorded (state issued, the card's\n"
	    "per-card data sealed with KEYDIR/registry-data.key) before it is\n"
	    "written; if it cannot be written it is marked failed.\n",
};
