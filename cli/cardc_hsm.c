/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cardc hsm import: copy a test key set or a test signing key into a
 * PKCS#11 token (for labs and tests; cardc(1), KEYS IN A TOKEN).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cardc.h"
#include "cli_util.h"
#include "cpk_file.h"
#include "keyset.h"
#include "p11.h"
#include "p11_uri.h"
#include "sign.h"

#define SYNOPSIS "cardc hsm import (-k KEYSET -o OUT.yaml | -s SIGNKEY) " \
    "[--pkcs11-module PATH] [--pkcs11-pin-file FILE] URI"

static const struct option long_options[] = {
	{ "keys", required_argument, NULL, 'k' },
	{ "sign-key", required_argument, NULL, 's' },
	{ "output", required_argument, NULL, 'o' },
	CARDC_PKCS11_OPTIONS,
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct hsm_args {
	const char *keys, *sign_key, *output, *uri;
	struct cardc_pkcs11_opts p11;
};

/* The URI of one key: the base URI with object=LABEL-suffix (no id). */
static cpk_status
key_uri(const struct p11_uri *base, const char *suffix, struct p11_uri *u, char *text,
    size_t cap, struct cpk_error *err)
{
	*u = *base;
	u->has &= ~(unsigned)(P11_URI_ID | P11_URI_PIN_SOURCE);
	u->id_len = 0;
	u->has |= P11_URI_TYPE;
	u->type = P11_TYPE_SECRET_KEY;
	if (suffix != NULL && snprintf(u->object, sizeof(u->object), "%s-%s", base->object,
	    suffix) >= (int)sizeof(u->object))
		return cpk_error_set(err, CPK_ERR_RANGE, "label '%s-%s' too long", base->object,
		    suffix);
	return p11_uri_format(u, text, cap, err);
}

/*
 * Import one key (its URI kept in *made once the token holds it) and append
 * 'name: "URI"' to the key set text.
 */
static cpk_status
import_key(const struct p11_uri *base, const char *suffix, const char *indent,
    const char *name, const struct keyset *ks, const uint8_t *value, struct cpk_buf *out,
    struct p11_uri *made, bool *is_made, struct cpk_error *err)
{
	char text[P11_URI_MAX + 1], line[P11_URI_MAX + 64];
	cpk_status st;

	if ((st = key_uri(base, suffix, made, text, sizeof(text), err)) != CPK_OK ||
	    (st = p11_import_secret(made, ks->keys.alg, value, ks->keys.len, err)) != CPK_OK)
		return st;
	*is_made = true;
	snprintf(line, sizeof(line), "%s%s: \"%s\"\n", indent, name, text);
	return cpk_buf_append(out, (const uint8_t *)line, strlen(line), err);
}

static cpk_status
import_keyset(const struct hsm_args *a, const struct p11_uri *base, struct cpk_error *err)
{
	static const char *const names[3] = { "enc", "mac", "dek" };
	struct p11_uri made[3];
	bool is_made[3] = { false, false, false };
	struct keyset *ks = NULL;
	struct cpk_buf out = CPK_BUF_INIT;
	const uint8_t *v[3];
	char head[512];
	bool one;
	size_t i;
	cpk_status st;

	if ((st = keyset_load(a->keys, &ks, err)) != CPK_OK)
		goto out;
	if (ks->in_token) {
		st = cpk_error_set(err, CPK_ERR_ARG, "'%s' already names keys in a token",
		    a->keys);
		goto out;
	}
	v[0] = ks->keys.enc;
	v[1] = ks->keys.mac;
	v[2] = ks->keys.dek;
	one = ks->master && memcmp(v[0], v[1], ks->keys.len) == 0 &&
	    memcmp(v[0], v[2], ks->keys.len) == 0;
	snprintf(head, sizeof(head), "# cardc hsm import of %s: the keys are in token '%s'\n"
	    "kvn: \"%02X\"\nalgorithm: %s\n", a->keys, base->token, ks->keys.kvn,
	    ks->keys.alg == GP_KEY_AES ? "aes" : "3des");
	if ((st = cpk_buf_append(&out, (const uint8_t *)head, strlen(head), err)) != CPK_OK)
		goto out;
	if (one)
		st = import_key(base, NULL, "", "master", ks, v[0], &out, &made[0], &is_made[0],
		    err);
	else if (ks->master)
		st = cpk_buf_append(&out, (const uint8_t *)"master:\n", 8, err);
	for (i = 0; !one && st == CPK_OK && i < 3; i++)
		st = import_key(base, names[i], ks->master ? "  " : "", names[i], ks, v[i], &out,
		    &made[i], &is_made[i], err);
	if (st != CPK_OK)
		goto out;
	if (ks->div_set) {
		snprintf(head, sizeof(head), "diversification: %s\n",
		    gp_diversification_name(ks->div));
		if ((st = cpk_buf_append(&out, (const uint8_t *)head, strlen(head), err)) != CPK_OK)
			goto out;
	}
	st = cpk_file_replace(a->output, out.data, out.len, 0600, err);
out:
	/* All or nothing: no key of a set left in the token without its key set file. */
	for (i = 0; st != CPK_OK && i < 3; i++)
		if (is_made[i])
			p11_destroy_made(&made[i], false);
	cpk_buf_free(&out);
	keyset_free(&ks);
	return st;
}

static int
run(const struct hsm_args *a)
{
	struct cpk_error err;
	struct p11_uri base;
	uint8_t id[CPK_KEY_ID_LEN];
	char idhex[2 * CPK_KEY_ID_LEN + 1];
	cpk_status st;

	cpk_error_clear(&err);
	fprintf(stderr, "%s: warning: copying keys from a file into a token is for test labs; "
	    "production keys are generated or imported by the HSM's own key ceremony and "
	    "never exist in a file\n", cli_progname());
	if ((st = p11_uri_parse(a->uri, strlen(a->uri), &base, &err)) != CPK_OK)
		goto out;
	if (!(base.has & P11_URI_OBJECT) || base.object[0] == '\0') {
		st = cpk_error_set(&err, CPK_ERR_ARG, "the URI needs object=LABEL: the label "
		    "(or, for a key set, the prefix of the labels) of the keys to make");
		goto out;
	}
	if ((st = cardc_pkcs11_setup(&a->p11, &err)) != CPK_OK)
		goto out;
	if (!p11_configured()) {
		st = cpk_error_set(&err, CPK_ERR_ARG, "no PKCS#11 module: give --pkcs11-module, "
		    "set CPK_PKCS11_MODULE or name one in the pkcs11 config file");
		goto out;
	}
	if (a->keys != NULL)
		st = import_keyset(a, &base, &err);
	else if ((st = cpk_sign_import_token(a->sign_key, a->uri, id, &err)) == CPK_OK) {
		cpk_key_id_hex(id, idhex);
		printf("%s\n", idhex);
	}
out:
	cardc_pkcs11_end();
	if (st != CPK_OK)
		cli_error(&err);
	return cli_exit_status(st);
}

static int
hsm_main(int argc, char *argv[])
{
	struct hsm_args a;
	int c;

	memset(&a, 0, sizeof(a));
	if (argc < 2 || strcmp(argv[1], "import") != 0) {
		if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
			cli_command_help(&cardc_hsm_command, stdout);
			return CLI_EXIT_OK;
		}
		return cli_usage("hsm", SYNOPSIS, argc < 2 ? "missing action (import)" :
		    "unknown action '%s' (expected import)", argv[1]);
	}
	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, CARDC_GETOPT_PREFIX "k:s:o:h", long_options,
	    NULL)) != -1) {
		switch (c) {
		case 'k':
			a.keys = optarg;
			break;
		case 's':
			a.sign_key = optarg;
			break;
		case 'o':
			a.output = optarg;
			break;
		case 'h':
			cli_command_help(&cardc_hsm_command, stdout);
			return CLI_EXIT_OK;
		default:
			if (cardc_pkcs11_getopt(c, optarg, &a.p11))
				break;
			return cli_bad_option("hsm", SYNOPSIS, c, argv, long_options);
		}
	}
	if (optind + 1 != argc)
		return cli_usage("hsm", SYNOPSIS, optind == argc ? "missing URI" :
		    "unexpected argument '%s'", argv[optind + 1 < argc ? optind + 1 : optind]);
	a.uri = argv[optind];
	if ((a.keys == NULL) == (a.sign_key == NULL))
		return cli_usage("hsm", SYNOPSIS, "give one of -k KEYSET and -s SIGNKEY");
	if (a.keys != NULL && a.output == NULL)
		return cli_usage("hsm", SYNOPSIS, "-k needs -o OUT.yaml (the key set naming the "
		    "keys in the token)");
	if (a.sign_key != NULL && a.output != NULL)
		return cli_usage("hsm", SYNOPSIS, "-o is for -k; a signing key keeps its .pub");
	return run(&a);
}

const struct cli_command cardc_hsm_command = {
	.name = "hsm",
	.run = hsm_main,
	.summary = "copy test keys into a PKCS#11 token (labs)",
	.synopsis = SYNOPSIS,
	.help =
	    "import: copy the keys of a key set file (-k) or a bundle-signing private\n"
	    "key file (-s) into the token URI names, as sensitive, non-extractable\n"
	    "objects. For a key set, URI's object=LABEL is the label prefix\n"
	    "(LABEL-enc, LABEL-mac, LABEL-dek; LABEL alone for one master key) and\n"
	    "OUT.yaml receives the key set naming them (mode 0600); for a signing\n"
	    "key, LABEL labels the pair and the key id is printed. For test labs\n"
	    "only: production keys are generated or imported by the HSM's own key\n"
	    "ceremony (a warning says so).\n"
	    "\n"
	    "  -k, --keys KEYSET         the key set file to copy\n"
	    "  -o, --output OUT.yaml     the key set file to write\n"
	    "  -s, --sign-key SIGNKEY    the signing key file to copy\n"
	    CARDC_PKCS11_HELP
	    "  -h, --help                show this help\n",
};
