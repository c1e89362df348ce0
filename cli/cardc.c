/*
 * cardc: compile provisioning profiles into signed, card-bound bundles.
 * The subcommand table; cli_main (cli_util.c) dispatches over it and prints
 * the help from it. Each subcommand lives in its own file.
 */
#include "cardc.h"

static const struct cli_command *const commands[] = {
	&cardc_compile_command,
	&cardc_inspect_command,
	&cardc_verify_command,
	&cardc_keygen_command,
	&cardc_batch_command,
};

static const struct cli_program cardc = {
	.name = "cardc",
	.intro = "usage: cardc COMMAND [ARGUMENTS]\n"
	    "       cardc help COMMAND\n"
	    "       cardc --help | --version\n\n"
	    "Compile GlobalPlatform provisioning profiles into signed bundles (cpk(5))\n"
	    "for cardload(1).\n\n",
	.exit_status = "Exit status: 0 success; 1 error (bad input, a refused file or bundle,\n"
	    "a verification mismatch, a failed batch record); 2 usage error.\n"
	    "See cardc(1).\n",
	.commands = commands,
	.ncommands = sizeof(commands) / sizeof(commands[0]),
	.fallback = NULL,
};

int
main(int argc, char *argv[])
{
	return cli_main(&cardc, argc, argv);
}
