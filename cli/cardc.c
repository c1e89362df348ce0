/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cardc: compile provisioning profiles into signed, card-bound bundles.
 * The subcommand table; cli_main (cli_util.c) dispatches over it and prints
 * the help from it. Each subcommand lives in its own file.
 */
#include "cardc.h"
#include "cli_util.h"
#include "secmem.h"

static const struct cli_command *const commands[] = {
	&cardc_compile_command,
	&cardc_reissue_command,
	&cardc_inspect_command,
	&cardc_verify_command,
	&cardc_keygen_command,
	&cardc_batch_command,
	&cardc_registry_command,
	&cardc_receipt_command,
	&cardc_diff_command,
	&cardc_check_command,
	&cardc_hsm_command,
	&cardc_serve_command,
};

static const struct cli_program cardc = {
	.name = "cardc",
	.intro = "usage: cardc COMMAND [ARGUMENTS]\n"
	    "       cardc help COMMAND\n"
	    "       cardc --help | --version\n\n"
	    "Compile GlobalPlatform provisioning profiles into signed bundles (cpk(5))\n"
	    "for cardload(1).\n\n",
	.exit_status = "Exit status: 0 success; 1 error (bad input, a refused file or bundle,\n"
	    "a verification mismatch, a failed batch record, an interrupted batch);\n"
	    "2 usage error; receipt verify and import: 3 refused, 4 failed at a command,\n"
	    "5 a response not authentic, 6 not verifiable without R-MAC; diff: 3 the\n"
	    "bundles differ.\n"
	    "See cardc(1).\n",
	.commands = commands,
	.ncommands = sizeof(commands) / sizeof(commands[0]),
	.fallback = NULL,
};

int
main(int argc, char *argv[])
{
	struct cpk_error err;

	/*
	 * Before any key is read: no core file, no /proc/PID/mem for the
	 * user, OpenSSL's secure heap for the signing key (secmem.h).
	 */
	cli_set_progname(cardc.name);
	cpk_error_clear(&err);
	if (secmem_process_protect(&err) != CPK_OK) {
		cli_error(&err);
		return CLI_EXIT_ERROR;
	}
	return cli_main(&cardc, argc, argv);
}
