/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cardc compile: one profile and one card record into a signed bundle.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cardc.h"
#include "cardc_job.h"
#include "cli_util.h"
#include "registry_issue.h"

#define SYNOPSIS "cardc compile -p PROFILE -c CARD -k KEYDIR -s SIGNKEY -o OUT.cpk " \
    "[--host-challenge HEX] [--registry URI] [--supersede REASON]"

enum { OPT_SUPERSEDE = CARDC_OPT_JOB_END };

static const struct option long_options[] = {
	CARDC_JOB_LONG_OPTIONS,
	{ "supersede", required_argument, NULL, OPT_SUPERSEDE },
	{ NULL, 0, NULL, 0 },
};

/*
 * With a registry: record the bundle before it is written (a refused
 * second bundle for a card and counter is never written), and mark it
 * failed if it could not be written after all.
 */
static cpk_status
record_and_write(const struct cardc_job_args *a, const char *supersede,
    const struct cardc_job *j, struct cpk_error *err)
{
	char hash[REGISTRY_HEX_HASH] = "", why[CPK_ERROR_MSG_LEN + 64];
	struct cpk_error e2;
	cpk_status ret;

	if (j->cr.reg != NULL && (ret = registry_issue_bundle(j->cr.reg, j->cr.dk, j->p, &j->card,
	    &j->compiled.manifest, j->bytes.data, j->bytes.len, supersede, hash, err)) != CPK_OK)
		return ret;
	if ((ret = cardc_write_bundle(a->output, &j->bytes, err)) != CPK_OK && j->cr.reg != NULL) {
		snprintf(why, sizeof(why), "the bundle was not written: %s", err->msg);
		cpk_error_clear(&e2);
		if (registry_set_state(j->cr.reg, hash, REGISTRY_FAILED, why, NULL, &e2) != CPK_OK)
			cpk_error_prefix(err, "(and not marked failed in the registry: %s)", e2.msg);
	}
	return ret;
}

static int
run(const struct cardc_job_args *a, const char *supersede)
{
	struct cardc_job j;
	struct cpk_error err;
	cpk_status ret;

	cpk_error_clear(&err);
	if ((ret = cardc_job_open(a, &j, &err)) != CPK_OK)
		goto out;
	if (supersede != NULL && j.cr.reg == NULL) {
		ret = cpk_error_set(&err, CPK_ERR_ARG, "--supersede needs a registry (--registry "
		    "URI, CPK_REGISTRY or a config file)");
		goto out;
	}
	if ((ret = cardc_job_build(a, &j, &err)) != CPK_OK)
		goto out;
	ret = record_and_write(a, supersede, &j, &err);
out:
	if (ret != CPK_OK)
		cli_error(&err);
	cardc_job_free(&j);
	return cli_exit_status(ret);
}

static int
compile_option(void *arg, int c, const char *optarg)
{
	const char **supersede = arg;

	if (c != OPT_SUPERSEDE)
		return CARDC_NOT_MINE;
	if (optarg[0] == '\0')
		return cli_usage("compile", SYNOPSIS, "--supersede wants a reason");
	*supersede = optarg;
	return -1;
}

static int
compile_main(int argc, char *argv[])
{
	struct cardc_job_args a;
	const char *supersede = NULL;
	int rc;

	memset(&a, 0, sizeof(a));
	if ((rc = cardc_job_getopt(&a, argc, argv, long_options, &cardc_compile_command,
	    compile_option, &supersede)) >= 0)
		return rc;
	return run(&a, supersede);
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
	    CARDC_JOB_HELP_KEYS_OUTPUT
	    "      --registry URI        record the bundle in the issuance registry\n"
	    "                            (sqlite:PATH, postgresql://...; default:\n"
	    "                            CPK_REGISTRY, then the config files; 'none':\n"
	    "                            no registry); the card record needs a serial\n"
	    "      --supersede REASON    the card and counter have an issued bundle:\n"
	    "                            mark it superseded (with REASON) and record\n"
	    "                            this one; without, a second bundle for a card\n"
	    "                            and counter is refused\n"
	    "  -h, --help                show this help\n"
	    "\n"
	    "SOURCE_DATE_EPOCH, when set, is the bundle's creation time. The same\n"
	    "inputs, host challenge and SOURCE_DATE_EPOCH give the same bundle bytes.\n"
	    "With a registry the bundle is recorded (state issued, the card's\n"
	    "per-card data sealed with KEYDIR/registry-data.key) before it is\n"
	    "written; if it cannot be written it is marked failed. A revoked card\n"
	    "(cardc reissue) gets no new bundle.\n",
};
