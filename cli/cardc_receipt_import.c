/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cardc receipt import: record what cardload's receipts prove in the
 * registry. Each receipt is matched to its issued bundle by SHA-256, the
 * bundle file is found among --bundle paths, the receipt is verified R-MAC
 * by R-MAC (receipt_verify, as `cardc receipt verify`), and the verdict
 * becomes the bundle's state, with the captured values the bundle names,
 * in one registry transaction (registry_import). A receipt that does not
 * fit its bundle, names a bundle the registry does not know, or belongs to
 * a revoked card or a superseded bundle is refused and nothing is recorded.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bundle_read.h"
#include "cardc.h"
#include "cli_util.h"
#include "cpk_bundle.h"
#include "cpk_bytes.h"
#include "cpk_file.h"
#include "receipt.h"
#include "registry.h"
#include "registry_issue.h"

#define SYNOPSIS "cardc receipt import RECEIPT... --bundle PATH [--bundle PATH]... " \
    "-k KEYDIR|KEYFILE [--registry URI] [--trust PUB|DIR] [--json]"

/* At most this many bundle files are looked at (a folder of a batch's output). */
#define MAX_CANDIDATES 1000000

enum { OPT_JSON = 256, OPT_TRUST, OPT_BUNDLE, OPT_REGISTRY };

static const struct option long_options[] = {
	{ "bundle", required_argument, NULL, OPT_BUNDLE },
	{ "keys", required_argument, NULL, 'k' },
	{ "registry", required_argument, NULL, OPT_REGISTRY },
	{ "trust", required_argument, NULL, OPT_TRUST },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* A bundle file that may be the one a receipt names (hashed when first needed). */
struct candidate {
	char *path;
	bool hashed;
	uint8_t sha256[CPK_SHA256_LEN];
};

struct import_args {
	const char *keys, *trust, *registry;
	bool json;
	const char **bundles;
	size_t nbundles;
	char **receipts;
	size_t nreceipts;
};

struct import_ctx {
	const struct import_args *a;
	struct registry *reg;
	struct candidate *cand;
	size_t ncand, cap;
	struct cli_json j;
	size_t count[RECEIPT_REFUSED + 1];
	size_t errors;
};

/* One receipt's outcome, for the text line and the JSON array. */
struct outcome {
	const char *receipt;
	char bundle[REGISTRY_HEX_HASH];
	char serial[REGISTRY_SERIAL_MAX + 1];
	bool verified;				/* a verdict was reached */
	enum receipt_verdict verdict;
	bool recorded;				/* the registry holds this receipt's verdict */
	struct registry_import_result reg;
	size_t ncaptured;
	char message[CPK_ERROR_MSG_LEN];
};

static cpk_status
add_candidate(struct import_ctx *c, const char *path, struct cpk_error *err)
{
	struct candidate *n;

	if (c->ncand == MAX_CANDIDATES)
		return cpk_error_set(err, CPK_ERR_RANGE, "more than %d bundle files under --bundle",
		    MAX_CANDIDATES);
	if (c->ncand == c->cap) {
		c->cap = c->cap == 0 ? 64 : 2 * c->cap;
		if ((n = realloc(c->cand, c->cap * sizeof(*n))) == NULL)
			return cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
		c->cand = n;
	}
	memset(&c->cand[c->ncand], 0, sizeof(c->cand[0]));
	if ((c->cand[c->ncand].path = strdup(path)) == NULL)
		return cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
	c->ncand++;
	return CPK_OK;
}

static int
by_name(const void *x, const void *y)
{
	return strcmp(((const struct candidate *)x)->path, ((const struct candidate *)y)->path);
}

/* --bundle PATH: a .cpk file, or a folder whose *.cpk files are candidates. */
static cpk_status
add_bundle_path(struct import_ctx *c, const char *path, struct cpk_error *err)
{
	struct dirent *de;
	struct stat sb;
	char file[4096];
	size_t first = c->ncand, len;
	DIR *d;
	cpk_status st = CPK_OK;

	if (stat(path, &sb) != 0)
		return cpk_io_error(err, "cannot use --bundle", path, errno);
	if (!S_ISDIR(sb.st_mode))
		return add_candidate(c, path, err);
	if ((d = opendir(path)) == NULL)
		return cpk_io_error(err, "cannot read the folder", path, errno);
	while (st == CPK_OK && (errno = 0, de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len < 5 || de->d_name[0] == '.' || strcmp(de->d_name + len - 4, ".cpk") != 0)
			continue;
		if ((size_t)snprintf(file, sizeof(file), "%s/%s", path, de->d_name) >= sizeof(file)) {
			st = cpk_error_set(err, CPK_ERR_RANGE, "'%s/%s': path longer than %zu bytes",
			    path, de->d_name, sizeof(file) - 1);
			break;
		}
		if (stat(file, &sb) == 0 && S_ISREG(sb.st_mode))
			st = add_candidate(c, file, err);
	}
	if (st == CPK_OK && errno != 0)
		st = cpk_io_error(err, "cannot read the folder", path, errno);
	closedir(d);
	/* A folder's files in name order: the same run finds the same file. */
	if (st == CPK_OK)
		qsort(c->cand + first, c->ncand - first, sizeof(c->cand[0]), by_name);
	return st;
}

/* The candidate whose bytes hash to sha256 (NULL: none). */
static const char *
find_bundle(struct import_ctx *c, const uint8_t sha256[CPK_SHA256_LEN])
{
	struct cpk_buf b = CPK_BUF_INIT;
	struct cpk_error e;
	size_t i;

	for (i = 0; i < c->ncand; i++) {
		struct candidate *k = &c->cand[i];

		if (!k->hashed) {
			cpk_error_clear(&e);
			/* A file that cannot be read or is too large is no bundle: skip it. */
			if (cli_read_input(k->path, CPK_BUNDLE_MAX_SIZE, &b, &e) != CPK_OK ||
			    cpk_sha256(b.data, b.len, k->sha256, &e) != CPK_OK)
				memset(k->sha256, 0, sizeof(k->sha256));
			k->hashed = true;
		}
		if (memcmp(k->sha256, sha256, CPK_SHA256_LEN) == 0)
			break;
	}
	cpk_buf_free(&b);
	return i < c->ncand ? c->cand[i].path : NULL;
}

/* Verify one parsed receipt and record its verdict; o->message says what happened. */
static cpk_status
import_one(struct import_ctx *c, const struct receipt *r, struct outcome *o,
    struct cpk_error *err)
{
	struct registry_row row;
	struct registry_receipt_buf in;
	struct receipt_result res;
	struct cpk_bundle *b = NULL;
	const char *path;
	cpk_status st;

	if (!r->has_bundle_sha256) {
		o->verified = true;
		o->verdict = RECEIPT_REFUSED;
		snprintf(o->message, sizeof(o->message), "refused: the receipt names no bundle "
		    "(nothing was loaded from a bundle); not recorded");
		return CPK_OK;
	}
	cpk_hex_encode(r->bundle_sha256, CPK_SHA256_LEN, o->bundle, sizeof(o->bundle));
	if ((st = registry_find_bundle(c->reg, o->bundle, &row, err)) == CPK_ERR_NOT_FOUND) {
		o->verified = true;
		o->verdict = RECEIPT_REFUSED;
		snprintf(o->message, sizeof(o->message), "refused: bundle %s is not in registry "
		    "'%s' (it was not issued with this registry); not recorded", o->bundle,
		    registry_name(c->reg));
		return CPK_OK;
	}
	if (st != CPK_OK)
		return st;
	snprintf(o->serial, sizeof(o->serial), "%s", row.serial);
	if ((path = find_bundle(c, r->bundle_sha256)) == NULL)
		return cpk_error_set(err, CPK_ERR_NOT_FOUND, "bundle %s (card %s) is not among the "
		    "--bundle files: give the .cpk file or its folder", o->bundle, row.serial);
	if ((st = cardc_open_bundle(path, c->a->trust, false, &b, err)) != CPK_OK)
		return st;
	st = receipt_verify(r, cpk_bundle_manifest(b), cpk_bundle_commands(b),
	    cpk_bundle_command_count(b), cpk_bundle_sha256(b), c->a->keys, &res, err);
	cpk_bundle_free(&b);
	if (st != CPK_OK)
		return st;
	o->verified = true;
	o->verdict = res.verdict;
	if (res.verdict == RECEIPT_REFUSED) {
		snprintf(o->message, sizeof(o->message), "refused: %.400s; not recorded",
		    res.reason);
		return CPK_OK;
	}
	registry_receipt_prepare(&res, o->bundle, &in);
	o->ncaptured = in.in.ncaptures;
	if ((st = registry_import(c->reg, &in.in, &o->reg, err)) == CPK_ERR_STATE) {
		/* Revoked card, superseded bundle: the registry's words. */
		o->verdict = RECEIPT_REFUSED;
		snprintf(o->message, sizeof(o->message), "refused: %.400s", err->msg);
		cpk_error_clear(err);
		return CPK_OK;
	}
	if (st != CPK_OK)
		return st;
	o->recorded = true;
	if (o->reg.changed)
		snprintf(o->message, sizeof(o->message), "%s -> %s: %.400s%s",
		    registry_state_name(o->reg.before), registry_state_name(o->reg.after),
		    res.reason, o->ncaptured > 0 ? "; captured values kept" : "");
	else
		snprintf(o->message, sizeof(o->message), "stays %s (already recorded); this "
		    "receipt: %.400s", registry_state_name(o->reg.after), res.reason);
	return CPK_OK;
}

static void
report(struct import_ctx *c, const struct outcome *o)
{
	if (!c->a->json) {
		if (o->serial[0] != '\0')
			printf("%s: card %s, bundle %s\n", o->receipt, o->serial, o->bundle);
		else
			printf("%s:\n", o->receipt);
		printf("  %s\n", o->message);
		return;
	}
	cli_json_object(&c->j, NULL);
	cli_json_str(&c->j, "receipt", o->receipt);
	cli_json_str(&c->j, "bundle-sha256", o->bundle[0] != '\0' ? o->bundle : NULL);
	cli_json_str(&c->j, "serial", o->serial[0] != '\0' ? o->serial : NULL);
	cli_json_str(&c->j, "verdict", o->verified ? receipt_verdict_name(o->verdict) : NULL);
	cli_json_bool(&c->j, "recorded", o->recorded);
	cli_json_str(&c->j, "state-before", o->recorded ? registry_state_name(o->reg.before) :
	    NULL);
	cli_json_str(&c->j, "state", o->recorded ? registry_state_name(o->reg.after) : NULL);
	cli_json_bool(&c->j, "changed", o->recorded && o->reg.changed);
	cli_json_uint(&c->j, "captured", o->recorded ? o->ncaptured : 0);
	cli_json_str(&c->j, "message", o->message);
	cli_json_end(&c->j);
}

static void
import_file(struct import_ctx *c, const char *file)
{
	struct cpk_buf text = CPK_BUF_INIT;
	struct receipt *r = NULL;
	struct outcome o;
	struct cpk_error err;
	cpk_status st;

	memset(&o, 0, sizeof(o));
	o.receipt = file;
	cpk_error_clear(&err);
	if ((st = cli_read_input(file, CPK_RECEIPT_MAX_SIZE, &text, &err)) != CPK_OK)
		goto fail;
	if (receipt_parse(text.data, text.len, &r, &err) != CPK_OK) {
		o.verified = true;
		o.verdict = RECEIPT_REFUSED;
		snprintf(o.message, sizeof(o.message), "refused: %.400s; not recorded", err.msg);
	} else if ((st = import_one(c, r, &o, &err)) != CPK_OK)
		goto fail;
	c->count[o.verdict]++;
	report(c, &o);
	goto out;
fail:
	c->errors++;
	cli_error_in(file, &err);
	if (c->a->json) {
		o.verified = false;
		cli_error_text(&err, o.message, sizeof(o.message));
		report(c, &o);
	}
out:
	receipt_free(&r);
	cpk_buf_free(&text);
}

/* The worst outcome decides (cardc(1), RECEIPTS). */
static int
exit_status(const struct import_ctx *c)
{
	if (c->errors > 0)
		return CLI_EXIT_ERROR;
	if (c->count[RECEIPT_REFUSED] > 0)
		return CARDC_RECEIPT_EXIT_REFUSED;
	if (c->count[RECEIPT_NOT_AUTHENTIC] > 0)
		return CARDC_RECEIPT_EXIT_NOT_AUTHENTIC;
	if (c->count[RECEIPT_FAILED] > 0)
		return CARDC_RECEIPT_EXIT_FAILED;
	if (c->count[RECEIPT_UNVERIFIED] > 0)
		return CARDC_RECEIPT_EXIT_UNVERIFIED;
	return CLI_EXIT_OK;
}

static int
run(const struct import_args *a)
{
	struct import_ctx c;
	struct cpk_error err;
	size_t i;
	int rc = CLI_EXIT_ERROR;
	cpk_status st;

	memset(&c, 0, sizeof(c));
	c.a = a;
	cpk_error_clear(&err);
	for (i = 0; i < a->nbundles; i++)
		if ((st = add_bundle_path(&c, a->bundles[i], &err)) != CPK_OK) {
			cli_error(&err);
			goto out;
		}
	if ((st = cardc_registry_connect(a->registry, false, &c.reg, &err)) != CPK_OK ||
	    (st = registry_check(c.reg, &err)) != CPK_OK) {
		cli_error(&err);
		rc = cli_exit_status(st);
		goto out;
	}
	if (a->json) {
		cli_json_init(&c.j, stdout);
		cli_json_object(&c.j, NULL);
		cli_json_str(&c.j, "registry", registry_name(c.reg));
		cli_json_array(&c.j, "receipts");
	}
	for (i = 0; i < a->nreceipts; i++)
		import_file(&c, a->receipts[i]);
	if (a->json) {
		cli_json_end(&c.j);
		cli_json_uint(&c.j, "loaded", c.count[RECEIPT_LOADED] + c.count[RECEIPT_UNVERIFIED]);
		cli_json_uint(&c.j, "failed", c.count[RECEIPT_FAILED] +
		    c.count[RECEIPT_NOT_AUTHENTIC]);
		cli_json_uint(&c.j, "refused", c.count[RECEIPT_REFUSED]);
		cli_json_uint(&c.j, "errors", c.errors);
		rc = exit_status(&c);
		cli_json_uint(&c.j, "exit", (uint64_t)rc);
		cli_json_end(&c.j);
		cli_json_finish(&c.j);
	} else {
		rc = exit_status(&c);
		if (a->nreceipts > 1)
			printf("%zu receipts: %zu loaded, %zu failed, %zu refused, %zu errors\n",
			    a->nreceipts, c.count[RECEIPT_LOADED] + c.count[RECEIPT_UNVERIFIED],
			    c.count[RECEIPT_FAILED] + c.count[RECEIPT_NOT_AUTHENTIC],
			    c.count[RECEIPT_REFUSED], c.errors);
	}
out:
	fflush(stdout);
	registry_close(&c.reg);
	for (i = 0; i < c.ncand; i++)
		free(c.cand[i].path);
	free(c.cand);
	return rc;
}

int
cardc_receipt_import_main(int argc, char *argv[])
{
	struct import_args a;
	int c, rc;

	memset(&a, 0, sizeof(a));
	if ((a.bundles = calloc((size_t)argc, sizeof(*a.bundles))) == NULL) {
		cli_errorf("out of memory");
		return CLI_EXIT_ERROR;
	}
	while ((c = getopt_long(argc, argv, CARDC_GETOPT_PREFIX "k:h", long_options, NULL)) != -1) {
		switch (c) {
		case 'k':
			a.keys = optarg;
			break;
		case OPT_BUNDLE:
			a.bundles[a.nbundles++] = optarg;
			break;
		case OPT_REGISTRY:
			a.registry = optarg;
			break;
		case OPT_TRUST:
			a.trust = optarg;
			break;
		case OPT_JSON:
			a.json = true;
			break;
		case 'h':
			free(a.bundles);
			cli_command_help(&cardc_receipt_command, stdout);
			return CLI_EXIT_OK;
		default:
			free(a.bundles);
			return cli_bad_option("receipt", SYNOPSIS, c, argv, long_options);
		}
	}
	rc = -1;
	if (optind == argc)
		rc = cli_usage("receipt", SYNOPSIS, "missing RECEIPT");
	else if (a.nbundles == 0)
		rc = cli_usage("receipt", SYNOPSIS, "missing --bundle PATH (the bundles the "
		    "receipts are for: .cpk files or folders of them)");
	else if (a.keys == NULL)
		rc = cli_usage("receipt", SYNOPSIS, "missing -k KEYDIR|KEYFILE");
	if (rc < 0) {
		a.receipts = argv + optind;
		a.nreceipts = (size_t)(argc - optind);
		rc = run(&a);
	}
	free(a.bundles);
	return rc;
}
