/*
 * cardc: compile provisioning profiles into signed, card-bound bundles.
 * A dispatcher over the subcommand table (cardc.h); each subcommand lives
 * in its own file.
 */
#include <stdio.h>
#include <string.h>

#include "cardc.h"
#include "cli_util.h"
#include "cpk_config.h"

static const struct cardc_command *const commands[] = {
	&cardc_compile_command,
	&cardc_inspect_command,
	&cardc_verify_command,
	&cardc_keygen_command,
	&cardc_batch_command,
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

void
cardc_help(const struct cardc_command *c, FILE *f)
{
	fprintf(f, "usage: %s\n\n%s", c->synopsis, c->help);
}

static void
show_usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: cardc COMMAND [ARGUMENTS]\n"
	    "       cardc help COMMAND\n"
	    "       cardc --help | --version\n\n"
	    "Compile GlobalPlatform provisioning profiles into signed bundles (cpk(5))\n"
	    "for cardload(1).\n\n"
	    "Commands:\n");
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-9s %s\n", commands[i]->name, commands[i]->summary);
	fprintf(f, "  %-9s %s\n", "help", "show the options of a command");
	fprintf(f, "\nUsage:\n");
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %s\n", commands[i]->synopsis);
	fprintf(f, "\nExit status: 0 success; 1 error (bad input, a refused file or bundle,\n"
	    "a verification mismatch, a failed batch record); 2 usage error.\n"
	    "See cardc(1).\n");
}

static const struct cardc_command *
find_command(const char *name)
{
	size_t i;

	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i]->name, name) == 0)
			return commands[i];
	return NULL;
}

static int
help_command(int argc, char *argv[])
{
	const struct cardc_command *c;

	if (argc == 1) {
		show_usage(stdout);
		return CLI_EXIT_OK;
	}
	if (argc > 2)
		return cli_usage("help", "cardc help [COMMAND]", "one command at a time");
	if ((c = find_command(argv[1])) == NULL)
		return cli_usage("help", "cardc help [COMMAND]", "unknown command '%s'", argv[1]);
	cardc_help(c, stdout);
	return CLI_EXIT_OK;
}

int
main(int argc, char *argv[])
{
	const struct cardc_command *c;

	cli_set_progname("cardc");
	if (argc < 2) {
		show_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		show_usage(stdout);
		return CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("cardc (cpk) %s\n", CPK_VERSION);
		return CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "help") == 0)
		return help_command(argc - 1, argv + 1);
	if ((c = find_command(argv[1])) == NULL) {
		if (argv[1][0] == '-')
			return cli_usage(NULL, "cardc COMMAND [ARGUMENTS]", "unknown option '%s'",
			    argv[1]);
		return cli_usage(NULL, "cardc COMMAND [ARGUMENTS]", "unknown command '%s'",
		    argv[1]);
	}
	return c->run(argc - 1, argv + 1);
}
