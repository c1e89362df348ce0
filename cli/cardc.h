/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cardc, the bundle compiler: one file per subcommand (cardc_NAME.c), each
 * defining its table entry. cardc.c dispatches over the table and prints
 * the help from it, so `cardc --help`, `cardc help NAME` and
 * `cardc NAME --help` never disagree with what runs.
 */
#ifndef CPK_CARDC_H
#define CPK_CARDC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cli_util.h"
#include "cpk_error.h"

extern const struct cli_command cardc_compile_command;
extern const struct cli_command cardc_reissue_command;
extern const struct cli_command cardc_inspect_command;
extern const struct cli_command cardc_verify_command;
extern const struct cli_command cardc_keygen_command;
extern const struct cli_command cardc_hsm_command;
extern const struct cli_command cardc_batch_command;
extern const struct cli_command cardc_registry_command;
extern const struct cli_command cardc_receipt_command;
extern const struct cli_command cardc_diff_command;
extern const struct cli_command cardc_check_command;
extern const struct cli_command cardc_serve_command;

/* The option string prefix every subcommand passes to getopt_long. */
#define CARDC_GETOPT_PREFIX ":"

/* --- shared by inspect and verify (cardc_bundle.c) --- */

struct cpk_bundle;
struct cli_json;

/*
 * Read a bundle (a path, or "-" for stdin) and open it: with trust anchors
 * (trust: a .pub file or a folder of them) the signature must verify;
 * without (trust NULL) or with `inspect` set, it is opened for showing
 * only and cardc_signature_* say whether it verified.
 */
cpk_status cardc_open_bundle(const char *path, const char *trust, bool inspect,
    struct cpk_bundle **out, struct cpk_error *err);

/* One line: "verified (key ID, trusted file F)", "not verified (...)", ... */
void cardc_signature_text(const struct cpk_bundle *b, bool trust_given, char *buf, size_t n);
/* The "signature" member of a JSON document. */
void cardc_signature_json(struct cli_json *j, const struct cpk_bundle *b, bool trust_given);

/* The plain commands of a bundle_verify walk, kept until the result is known. */
struct cpk_command;
struct cardc_plain_list {
	struct cardc_plain {
		size_t index;
		const struct cpk_command *cmd;
		uint8_t *apdu;
		size_t len;
	} *v;
	size_t n, cap;
};

/* A bundle_verify_fn: append a copy of the plain command to ctx (a list). */
cpk_status cardc_plain_collect(void *ctx, size_t index, const struct cpk_command *cmd,
    const uint8_t *plain, size_t n, struct cpk_error *err);
/* Cleanse and free the copies. */
void cardc_plain_list_free(struct cardc_plain_list *l);
/*
 * The responses the bundle keeps (the manifest's captures): on stdout,
 * "captures:" and one line per capture with its command's label (nothing
 * when there are none); in JSON, "captures": {"NAME": COMMAND, ...}.
 */
void cardc_captures_text(const struct cpk_bundle *b);
void cardc_captures_json(struct cli_json *j, const struct cpk_bundle *b);

/* --- the registry compile and batch record into (cardc_registry.c) --- */

struct registry;
struct datakey;
struct profile;

struct cardc_registry {
	struct registry *reg;		/* NULL: no registry */
	struct datakey *dk;		/* when the profile declares per-card data */
};

/*
 * The registry --registry (option, may be NULL), CPK_REGISTRY or a config
 * file names, opened and its schema checked; none named (or "none"):
 * out->reg is NULL. The data key is read from keydir when the profile
 * declares per-card data.
 */
cpk_status cardc_registry_open(const char *option, const char *keydir,
    const struct profile *p, struct cardc_registry *out, struct cpk_error *err);
void cardc_registry_close(struct cardc_registry *cr);

/*
 * The registry --registry (option, may be NULL), CPK_REGISTRY or a config
 * file names, opened (create: a SQLite file may be made); CPK_ERR_ARG
 * with what to do when none is named.
 */
cpk_status cardc_registry_connect(const char *option, bool create, struct registry **out,
    struct cpk_error *err);

/* --- keys in a PKCS#11 token (cardc_pkcs11.c) --- */

/* The long options every keyed subcommand takes (values above 1000). */
#define CARDC_OPT_PKCS11_MODULE 1001
#define CARDC_OPT_PKCS11_PIN_FILE 1002
#define CARDC_PKCS11_OPTIONS \
	{ "pkcs11-module", required_argument, NULL, CARDC_OPT_PKCS11_MODULE }, \
	{ "pkcs11-pin-file", required_argument, NULL, CARDC_OPT_PKCS11_PIN_FILE }
#define CARDC_PKCS11_HELP \
	"      --pkcs11-module PATH  the PKCS#11 module of the token holding keys\n" \
	"                            named by pkcs11: URIs (default:\n" \
	"                            CPK_PKCS11_MODULE, then the config files)\n" \
	"      --pkcs11-pin-file FILE  the token's user PIN, first line of FILE\n" \
	"                            (mode 0600; default: the URI's pin-source,\n" \
	"                            CPK_PKCS11_PIN, else a prompt)\n"

/* What --pkcs11-module and --pkcs11-pin-file said (NULL: not given). */
struct cardc_pkcs11_opts {
	const char *module, *pin_file;
};

/* Take getopt's c if it is one of CARDC_PKCS11_OPTIONS; false otherwise. */
bool cardc_pkcs11_getopt(int c, const char *arg, struct cardc_pkcs11_opts *o);

/*
 * Find the module (--pkcs11-module, CPK_PKCS11_MODULE, the config files)
 * and set the token up with the PIN sources of cardc(1). Nothing named: no
 * token (a pkcs11: URI is then refused with what to do).
 */
cpk_status cardc_pkcs11_setup(const struct cardc_pkcs11_opts *o, struct cpk_error *err);
/* Close the token's sessions and unload the module. */
void cardc_pkcs11_end(void);

/* --- receipts (cardc_receipt.c, cardc_receipt_import.c) --- */

/* Exit status per verdict (cardc(1), RECEIPTS); 0 is loaded. */
#define CARDC_RECEIPT_EXIT_REFUSED 3
#define CARDC_RECEIPT_EXIT_FAILED 4
#define CARDC_RECEIPT_EXIT_NOT_AUTHENTIC 5
#define CARDC_RECEIPT_EXIT_UNVERIFIED 6

/* cardc receipt import (argv[0] is "import"). */
int cardc_receipt_import_main(int argc, char *argv[]);

#endif
