/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cardc: one profile compiled for one card record (see cardc_job.h).
 */
#include "cardc_job.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "bundle_write.h"
#include "cli_util.h"
#include "cpk_file.h"

/* One of the job's options: 0 taken, -1 not one of them, else a usage error's exit status. */
static int
job_option(struct cardc_job_args *a, int c, const char *arg)
{
	switch (c) {
	case 'p':
		a->profile = arg;
		return 0;
	case 'c':
		a->card = arg;
		return 0;
	case 'k':
		a->keys = arg;
		return 0;
	case 's':
		a->sign_key = arg;
		return 0;
	case 'o':
		a->output = arg;
		return 0;
	case CARDC_OPT_HOST_CHALLENGE:
		if (cpk_hex_decode_exact(arg, a->host_challenge, sizeof(a->host_challenge),
		    NULL) != CPK_OK)
			return cli_usage(a->cmd, a->synopsis, "--host-challenge wants 16 hex digits "
			    "(8 bytes), not '%s'", arg);
		a->has_host_challenge = true;
		return 0;
	case CARDC_OPT_REGISTRY:
		a->registry = arg;
		return 0;
	default:
		return cardc_pkcs11_getopt(c, arg, &a->p11) ? 0 : -1;
	}
}

static int
job_check(const struct cardc_job_args *a, int argc, char *argv[])
{
	if (optind < argc)
		return cli_usage(a->cmd, a->synopsis, "unexpected argument '%s'", argv[optind]);
	if (a->profile == NULL)
		return cli_usage(a->cmd, a->synopsis, "missing -p PROFILE");
	if (a->card == NULL)
		return cli_usage(a->cmd, a->synopsis, "missing -c CARD");
	if (a->sign_key == NULL)
		return cli_usage(a->cmd, a->synopsis, "missing -s SIGNKEY");
	if (a->output == NULL)
		return cli_usage(a->cmd, a->synopsis, "missing -o OUT.cpk");
	if (a->keys == NULL)
		return cli_usage(a->cmd, a->synopsis, "missing -k KEYDIR: key sets are read only "
		    "from the key folder you name (the profile names files in it)");
	return -1;
}

int
cardc_job_getopt(struct cardc_job_args *a, int argc, char *argv[],
    const struct option *longopts, const struct cli_command *cmd, cardc_own_option_fn own,
    void *arg)
{
	int c, rc;

	a->cmd = cmd->name;
	a->synopsis = cmd->synopsis;
	while ((c = getopt_long(argc, argv, CARDC_GETOPT_PREFIX CARDC_JOB_SHORT_OPTIONS,
	    longopts, NULL)) != -1) {
		if (c == 'h') {
			cli_command_help(cmd, stdout);
			return CLI_EXIT_OK;
		}
		if ((rc = job_option(a, c, optarg)) == 0)
			continue;
		if (rc > 0)
			return rc;
		if ((rc = own(arg, c, optarg)) == CARDC_NOT_MINE)
			return cli_bad_option(a->cmd, a->synopsis, c, argv, longopts);
		if (rc >= 0)
			return rc;
	}
	return job_check(a, argc, argv);
}

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

/*
 * One bundle per process: buffers the size of the load file (the CAP's
 * components, the load file, the script, the zip) are mapped each on its
 * own and returned to the system when freed, so the peak resident set is
 * what is live at once, not every place the heap ever held one of them
 * (glibc would otherwise raise its threshold after the first such buffer
 * is freed, and keep the next ones in the heap).
 */
#define CARDC_JOB_MMAP_THRESHOLD (16 * 1024)

static void
job_malloc_setup(void)
{
#if defined(__GLIBC__) && defined(M_MMAP_THRESHOLD)
	(void)mallopt(M_MMAP_THRESHOLD, CARDC_JOB_MMAP_THRESHOLD);
#endif
}

cpk_status
cardc_job_open(const struct cardc_job_args *a, struct cardc_job *j, struct cpk_error *err)
{
	struct profile_opts popts = { .keydir = a->keys };
	cpk_status ret;

	job_malloc_setup();
	memset(j, 0, sizeof(*j));
	card_record_init(&j->card);
	if ((ret = cpk_bundle_creation_time(&j->created, err)) != CPK_OK) {
		cpk_error_prefix(err, "SOURCE_DATE_EPOCH");
		return ret;
	}
	if (strcmp(a->output, "-") == 0 && isatty(STDOUT_FILENO))
		return cpk_error_set(err, CPK_ERR_ARG, "refusing to write a bundle (binary) to a "
		    "terminal; redirect stdout or give -o FILE");
	if ((ret = cardc_pkcs11_setup(&a->p11, err)) != CPK_OK)
		return ret;
	j->p11 = true;
	if ((ret = profile_load(a->profile, &popts, &j->p, err)) != CPK_OK ||
	    (ret = load_card(a->card, &j->card, err)) != CPK_OK ||
	    (ret = cpk_signer_open(a->sign_key, &j->signer, err)) != CPK_OK ||
	    (ret = cardc_registry_open(a->registry, a->keys, j->p, &j->cr, err)) != CPK_OK)
		return ret;
	if (a->has_host_challenge && j->p->sd.mode != PROFILE_MODE_OFFLINE)
		return cpk_error_set(err, CPK_ERR_ARG, "--host-challenge is for offline bundles; "
		    "profile '%s' makes session bundles, whose host challenge comes from the card "
		    "record", a->profile);
	return CPK_OK;
}

cpk_status
cardc_job_build(const struct cardc_job_args *a, struct cardc_job *j, struct cpk_error *err)
{
	struct cpk_compile_opts copts;
	cpk_status ret;

	memset(&copts, 0, sizeof(copts));
	copts.created = j->created;
	memcpy(copts.profile_sha256, j->p->sha256, sizeof(copts.profile_sha256));
	copts.host_challenge = a->has_host_challenge ? a->host_challenge : NULL;
	/* Without --host-challenge: derived from the inputs and the signing key. */
	copts.challenge_key = j->signer;
	/* The script alone: the bundle writer reads the commands from it. */
	copts.script_only = true;
	if ((ret = cpk_compile(j->p, &j->card, &copts, &j->compiled, err)) != CPK_OK) {
		if (err->line == 0)
			cpk_error_prefix(err, "%s", a->card);
		return ret;
	}
	/*
	 * One card: the load file goes once compiled, the script once it is
	 * zipped.
	 */
	profile_free_load_data(j->p);
	return cpk_bundle_write_compiled(&j->compiled, j->signer, &j->bytes, err);
}

void
cardc_job_free(struct cardc_job *j)
{
	cpk_compiled_free(&j->compiled);
	cpk_buf_free(&j->bytes);
	cardc_registry_close(&j->cr);
	card_record_clear(&j->card);
	cpk_signer_free(&j->signer);
	profile_free(&j->p);
	if (j->p11)
		cardc_pkcs11_end();
	j->p11 = false;
}

cpk_status
cardc_write_bundle(const char *path, const struct cpk_buf *b, struct cpk_error *err)
{
	if (strcmp(path, "-") != 0)
		return cpk_file_replace(path, b->data, b->len, 0600, err);
	return cli_write_stdout(b->data, b->len, err);
}
