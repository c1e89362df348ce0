/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cardc reissue: a lost or broken card's profile and personalization data,
 * compiled for a new card; the old card revoked and linked to the new one
 * in the registry (registry_reissue).
 */
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cardc.h"
#include "cardc_job.h"
#include "cli_util.h"
#include "cpk_file.h"
#include "datakey.h"
#include "registry_issue.h"

#define SYNOPSIS "cardc reissue --lost SERIAL -p PROFILE -c NEW-CARD -k KEYDIR " \
    "-s SIGNKEY -o OUT.cpk [--host-challenge HEX] [--registry URI] [--reason TEXT] " \
    "[--pkcs11-module PATH] [--pkcs11-pin-file FILE]"

enum { OPT_LOST = CARDC_OPT_JOB_END, OPT_REASON };

static const struct option long_options[] = {
	CARDC_JOB_LONG_OPTIONS,
	{ "lost", required_argument, NULL, OPT_LOST },
	{ "reason", required_argument, NULL, OPT_REASON },
	{ NULL, 0, NULL, 0 },
};

struct reissue_args {
	struct cardc_job_args job;
	const char *lost, *reason;
};

/* An item of the new card's record that is not the stored one. */
static cpk_status
compare_data(const struct reissue_args *a, const struct card_record *given,
    const struct card_record *stored, struct cpk_error *err)
{
	const char *v;
	size_t i;

	for (i = 0; i < given->ndata; i++) {
		if ((v = card_data_get(stored, given->data[i].name)) == NULL)
			return cpk_error_set(err, CPK_ERR_ARG, "%s: per-card data '%s' is not in the "
			    "data card %s was issued with: a re-issue installs the lost card's data; "
			    "leave it out", a->job.card, given->data[i].name, a->lost);
		if (strcmp(v, given->data[i].value) != 0)
			return cpk_error_set(err, CPK_ERR_ARG, "%s: per-card data '%s' differs from "
			    "the value card %s was issued with: a re-issue installs the lost card's "
			    "data; leave it out", a->job.card, given->data[i].name, a->lost);
	}
	return CPK_OK;
}

/*
 * The new card takes the lost card's data: items of the profile its own
 * record gives must be the same (a re-issue installs the data the lost
 * card had); items the profile does not declare are not used, as by
 * compile.
 */
static cpk_status
take_data(const struct reissue_args *a, const struct profile *p, struct card_record *card,
    struct card_record *stored, struct cpk_error *err)
{
	struct cpk_buf plain = CPK_BUF_INIT;
	struct card_record given;
	struct card_data_item *items;
	size_t n;
	cpk_status st;

	/* The record's items the profile declares: through their plain form. */
	card_record_init(&given);
	if ((st = card_data_encode(p, card, &plain, err)) != CPK_OK ||
	    (st = card_data_decode(plain.data, plain.len, &given, err)) != CPK_OK ||
	    (st = compare_data(a, &given, stored, err)) != CPK_OK)
		goto out;
	/* Swap: the card gets the stored items, stored (cleared by the caller) its own. */
	items = card->data;
	n = card->ndata;
	card->data = stored->data;
	card->ndata = stored->ndata;
	stored->data = items;
	stored->ndata = n;
out:
	cpk_buf_free(&plain);
	card_record_clear(&given);
	return st;
}

/* Where the bundle is: the registry has it, the file may not. */
static cpk_status
not_written(const struct reissue_args *a, const struct registry_issue *in, const char *tmp,
    cpk_status st, struct cpk_error *err)
{
	char why[CPK_ERROR_MSG_LEN], done[160];

	memcpy(why, err->msg, sizeof(why));
	snprintf(done, sizeof(done), "the re-issue is recorded (card %s revoked; bundle %.16s... "
	    "issued for card %s)", a->lost, in->bundle_sha256, in->serial);
	if (tmp != NULL && access(tmp, F_OK) != 0)
		return cpk_error_set(err, st, "%s and the bundle is at '%s', but: %s", done,
		    a->job.output, why);
	if (tmp != NULL)
		return cpk_error_set(err, st, "%s, but the bundle could not be put at '%s' (%s); it "
		    "is kept at '%s': move it there", done, a->job.output, why, tmp);
	return cpk_error_set(err, st, "%s, but the bundle could not be written (%s); it can be "
	    "compiled again only with the same --host-challenge and SOURCE_DATE_EPOCH", done, why);
}

/*
 * Record, then publish: the bundle is staged next to OUT first, so a
 * refused re-issue writes nothing and a recorded one is never lost.
 */
static cpk_status
record_and_write(const struct reissue_args *a, const struct cardc_job *j,
    const struct registry_issue *in, const char *source, struct cpk_error *err)
{
	char tmp[PATH_MAX] = "";
	bool to_stdout = strcmp(a->job.output, "-") == 0;
	cpk_status st;

	if (!to_stdout && (st = cpk_file_stage(a->job.output, j->bytes.data, j->bytes.len, 0600,
	    tmp, sizeof(tmp), err)) != CPK_OK)
		return st;
	if ((st = registry_reissue(j->cr.reg, in, a->lost, source, a->reason, err)) != CPK_OK) {
		if (!to_stdout)
			unlink(tmp);
		return st;
	}
	if (to_stdout)
		st = cardc_write_bundle("-", &j->bytes, err);
	else
		st = cpk_file_publish(tmp, a->job.output, true, err);
	if (st != CPK_OK)
		st = not_written(a, in, to_stdout ? NULL : tmp, st, err);
	return st;
}

static int
run(const struct reissue_args *a)
{
	struct cardc_job j;
	struct card_record stored;
	struct registry_row src;
	struct registry_issue_buf b;
	struct cpk_error err;
	cpk_status ret;

	cpk_error_clear(&err);
	card_record_init(&stored);
	memset(&b, 0, sizeof(b));
	if ((ret = cardc_job_open(&a->job, &j, &err)) != CPK_OK)
		goto out;
	if (j.cr.reg == NULL) {
		ret = cpk_error_set(&err, CPK_ERR_ARG, "cardc reissue needs a registry: the lost "
		    "card's data and history are there (--registry URI, CPK_REGISTRY or a config "
		    "file)");
		goto out;
	}
	if (j.card.serial[0] == '\0') {
		ret = cpk_error_set(&err, CPK_ERR_ARG, "%s has no 'serial': the registry records "
		    "the new card by its serial", a->job.card);
		goto out;
	}
	if (strcmp(j.card.serial, a->lost) == 0) {
		ret = cpk_error_set(&err, CPK_ERR_ARG, "%s is card %s itself: give the new card's "
		    "record (another serial)", a->job.card, a->lost);
		goto out;
	}
	if ((ret = registry_reissue_source(j.cr.reg, j.cr.dk, j.p, a->lost, &src, &stored,
	    &err)) != CPK_OK ||
	    (ret = take_data(a, j.p, &j.card, &stored, &err)) != CPK_OK ||
	    (ret = cardc_job_build(&a->job, &j, &err)) != CPK_OK ||
	    (ret = registry_issue_prepare(j.cr.dk, j.p, &j.card, &j.compiled.manifest,
	    j.bytes.data, j.bytes.len, NULL, &b, &err)) != CPK_OK ||
	    (ret = record_and_write(a, &j, &b.in, src.bundle_sha256, &err)) != CPK_OK)
		goto out;
	fprintf(stderr, "cardc: card %s re-issued as card %s: bundle %s (from %s, %s), "
	    "card %s revoked\n", a->lost, b.in.serial, b.in.bundle_sha256, src.bundle_sha256,
	    registry_state_name(src.state), a->lost);
out:
	if (ret != CPK_OK)
		cli_error(&err);
	registry_issue_buf_free(&b);
	card_record_clear(&stored);
	cardc_job_free(&j);
	return cli_exit_status(ret);
}

static int
reissue_option(void *arg, int c, const char *optarg)
{
	struct reissue_args *a = arg;

	if (c == OPT_LOST)
		a->lost = optarg;
	else if (c != OPT_REASON)
		return CARDC_NOT_MINE;
	else if (optarg[0] == '\0')
		return cli_usage("reissue", SYNOPSIS, "--reason wants a text");
	else
		a->reason = optarg;
	return -1;
}

static int
reissue_main(int argc, char *argv[])
{
	struct reissue_args a;
	int rc;

	memset(&a, 0, sizeof(a));
	if ((rc = cardc_job_getopt(&a.job, argc, argv, long_options, &cardc_reissue_command,
	    reissue_option, &a)) >= 0)
		return rc;
	if (a.lost == NULL)
		return cli_usage("reissue", SYNOPSIS, "missing --lost SERIAL (the card to replace)");
	return run(&a);
}

const struct cli_command cardc_reissue_command = {
	.name = "reissue",
	.run = reissue_main,
	.summary = "re-issue a lost or broken card's bundle for a new card",
	.synopsis = SYNOPSIS,
	.help =
	    "Compile PROFILE for the new card NEW-CARD with the personalization data\n"
	    "the lost or broken card SERIAL was issued with (from the registry,\n"
	    "opened with KEYDIR/registry-data.key), record the new bundle and mark\n"
	    "every issued or loaded bundle of the old card revoked, linked to it,\n"
	    "in one registry transaction. The old card gets no bundle after this.\n"
	    "\n"
	    "      --lost SERIAL         the card to replace (known to the registry)\n"
	    "  -p, --profile PROFILE     the profile the old card was issued with,\n"
	    "                            unchanged (its SHA-256 is checked)\n"
	    "  -c, --card NEW-CARD       the new card's record, YAML ('-' reads stdin):\n"
	    "                            its own serial, keys and counter; data items\n"
	    "                            of the profile it gives must equal the\n"
	    "                            stored ones\n"
	    CARDC_JOB_HELP_KEYS_OUTPUT
	    "      --registry URI        the issuance registry (required: sqlite:PATH,\n"
	    "                            postgresql://...; default: CPK_REGISTRY,\n"
	    "                            then the config files)\n"
	    "      --reason TEXT         why the old card is revoked (default: \"lost;\n"
	    "                            re-issued as card NEW\")\n"
	    "  -h, --help                show this help\n"
	    "\n"
	    "The bundle is written next to OUT.cpk first and renamed once the\n"
	    "registry has it: a refused re-issue writes nothing. The lost card's\n"
	    "data comes from its newest issued or loaded bundle of this profile\n"
	    "that holds sealed data (a loaded one first).\n",
};
