/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cardc: one profile compiled for one card record, signed, and recorded
 * in the registry (cardc_job.c). Shared by compile and reissue: their
 * common options, the inputs they load (profile, card record, signing key,
 * registry and data key) and the bundle they build and write.
 */
#ifndef CPK_CARDC_JOB_H
#define CPK_CARDC_JOB_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include "card.h"
#include "cardc.h"
#include "compile.h"
#include "cpk_bytes.h"
#include "cpk_error.h"
#include "profile.h"
#include "sign.h"

/* Long-only options of the job; a command's own start at CARDC_OPT_JOB_END. */
enum { CARDC_OPT_HOST_CHALLENGE = 256, CARDC_OPT_REGISTRY, CARDC_OPT_JOB_END };

#define CARDC_JOB_SHORT_OPTIONS "p:c:k:s:o:h"
#define CARDC_JOB_LONG_OPTIONS \
	{ "profile", required_argument, NULL, 'p' }, \
	{ "card", required_argument, NULL, 'c' }, \
	{ "keys", required_argument, NULL, 'k' }, \
	{ "sign-key", required_argument, NULL, 's' }, \
	{ "output", required_argument, NULL, 'o' }, \
	{ "host-challenge", required_argument, NULL, CARDC_OPT_HOST_CHALLENGE }, \
	{ "registry", required_argument, NULL, CARDC_OPT_REGISTRY }, \
	{ "help", no_argument, NULL, 'h' }

/* The help lines of -k, -s, -o and --host-challenge. */
#define CARDC_JOB_HELP_KEYS_OUTPUT \
	"  -k, --keys KEYDIR         the key folder: the profile's key sets are file\n" \
	"                            names in it, and key material is read from\n" \
	"                            nowhere else; key files, profile and their\n" \
	"                            folders must be yours or root's and not\n" \
	"                            writable by others\n" \
	"  -s, --sign-key SIGNKEY    the bundle-signing private key (cardc keygen)\n" \
	"  -o, --output OUT.cpk      the bundle to write, replaced atomically\n" \
	"                            ('-' writes stdout); a device or FIFO there\n" \
	"                            is refused, never replaced\n" \
	"      --host-challenge HEX  the 8-byte host challenge of an offline bundle\n" \
	"                            (16 hex digits; default: random), for\n" \
	"                            reproducible builds and tests\n"

struct cardc_job_args {
	const char *cmd, *synopsis;	/* for usage messages */
	const char *profile, *card, *keys, *sign_key, *output, *registry;
	uint8_t host_challenge[8];
	bool has_host_challenge;
};

/* A command's own options: -1 taken, CARDC_NOT_MINE not one of them, else an exit status. */
#define CARDC_NOT_MINE (-2)
typedef int (*cardc_own_option_fn)(void *arg, int c, const char *optarg);

/*
 * Parse argv with longopts (CARDC_JOB_LONG_OPTIONS and the command's
 * own): the job's options into a (-h prints cmd's help), the others
 * through own. Then the job's required options are checked. Returns -1
 * when all is well, else the exit status (a usage error printed, or 0
 * after the help).
 */
int cardc_job_getopt(struct cardc_job_args *a, int argc, char *argv[],
    const struct option *longopts, const struct cli_command *cmd, cardc_own_option_fn own,
    void *arg);

struct cardc_job {
	struct profile *p;
	struct card_record card;
	struct cpk_signer *signer;
	struct cardc_registry cr;	/* cr.reg NULL: no registry */
	struct cpk_compiled compiled;
	struct cpk_buf bytes;		/* the signed bundle */
	uint64_t created;
};

/* Load the profile, the card record, the signing key and the registry. */
cpk_status cardc_job_open(const struct cardc_job_args *a, struct cardc_job *j,
    struct cpk_error *err);
/* Compile the profile for j->card and sign the bundle into j->bytes. */
cpk_status cardc_job_build(const struct cardc_job_args *a, struct cardc_job *j,
    struct cpk_error *err);
/* Release everything (the card's data cleansed). */
void cardc_job_free(struct cardc_job *j);

/* Write a bundle to path (replaced atomically), or to stdout for "-". */
cpk_status cardc_write_bundle(const char *path, const struct cpk_buf *b, struct cpk_error *err);

#endif
