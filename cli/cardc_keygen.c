/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cardc keygen: make a bundle-signing key pair (sign.h).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cardc.h"
#include "cli_util.h"
#include "sign.h"

#define SYNOPSIS "cardc keygen -o PREFIX [--note TEXT] [--pkcs11 URI] " \
    "[--pkcs11-module PATH] [--pkcs11-pin-file FILE]"

enum { OPT_NOTE = 256, OPT_PKCS11 };

static const struct option long_options[] = {
	{ "output", required_argument, NULL, 'o' },
	{ "note", required_argument, NULL, OPT_NOTE },
	{ "pkcs11", required_argument, NULL, OPT_PKCS11 },
	CARDC_PKCS11_OPTIONS,
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int
keygen_main(int argc, char *argv[])
{
	const char *prefix = NULL, *note = NULL, *uri = NULL;
	struct cardc_pkcs11_opts p11 = { NULL, NULL };
	uint8_t id[CPK_KEY_ID_LEN];
	char idhex[2 * CPK_KEY_ID_LEN + 1];
	struct cpk_error err;
	cpk_status ret;
	int c;

	while ((c = getopt_long(argc, argv, CARDC_GETOPT_PREFIX "o:h", long_options, NULL)) != -1) {
		switch (c) {
		case 'o':
			prefix = optarg;
			break;
		case OPT_NOTE:
			note = optarg;
			break;
		case OPT_PKCS11:
			uri = optarg;
			break;
		case 'h':
			cli_command_help(&cardc_keygen_command, stdout);
			return CLI_EXIT_OK;
		default:
			if (cardc_pkcs11_getopt(c, optarg, &p11))
				break;
			return cli_bad_option("keygen", SYNOPSIS, c, argv, long_options);
		}
	}
	if (optind < argc)
		return cli_usage("keygen", SYNOPSIS, "unexpected argument '%s'", argv[optind]);
	if (prefix == NULL)
		return cli_usage("keygen", SYNOPSIS, "missing -o PREFIX");
	if (strcmp(prefix, "-") == 0)
		return cli_usage("keygen", SYNOPSIS, "-o wants a file name prefix, not '-'");
	if (uri == NULL && (p11.module != NULL || p11.pin_file != NULL))
		return cli_usage("keygen", SYNOPSIS, "--pkcs11-module and --pkcs11-pin-file go "
		    "with --pkcs11 URI");
	cpk_error_clear(&err);
	if (uri != NULL) {
		if ((ret = cardc_pkcs11_setup(&p11, &err)) == CPK_OK)
			ret = cpk_sign_keygen_token(uri, prefix, note, id, &err);
		cardc_pkcs11_end();
	} else {
		ret = cpk_sign_keygen(prefix, note, id, &err);
	}
	if (ret != CPK_OK) {
		cli_error(&err);
		return cli_exit_status(ret);
	}
	cpk_key_id_hex(id, idhex);
	printf("%s\n", idhex);
	return CLI_EXIT_OK;
}

const struct cli_command cardc_keygen_command = {
	.name = "keygen",
	.run = keygen_main,
	.summary = "make a bundle-signing key pair",
	.synopsis = SYNOPSIS,
	.help =
	    "Make an Ed25519 bundle-signing key pair: PREFIX.key, the private key\n"
	    "(mode 0600, for cardc -s), and PREFIX.pub, the public key (the trust\n"
	    "anchor of cardload(1)). Neither file may exist: keys are never\n"
	    "overwritten. Print the key id (16 hex digits) on stdout. With --pkcs11\n"
	    "the pair is made in the token (sensitive, not extractable) and only\n"
	    "PREFIX.pub is written; cardc -s takes the same URI.\n"
	    "\n"
	    "  -o, --output PREFIX   where to write PREFIX.key and PREFIX.pub\n"
	    "      --note TEXT       printable text added to the comment line of\n"
	    "                        both files (at most 160 characters)\n"
	    "      --pkcs11 URI      make the pair in the PKCS#11 token URI names\n"
	    "                        (pkcs11:token=...;object=LABEL)\n"
	    CARDC_PKCS11_HELP
	    "  -h, --help            show this help\n",
};
