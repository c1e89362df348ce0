/*
 * cardload: stream signed bundles to smart cards over PC/SC, keyless. A
 * dispatcher over the subcommand table (cardload.h): a first argument that
 * names a subcommand runs it; anything else is the default action, load.
 */
#include <stdio.h>
#include <string.h>

#include "cardload.h"
#include "cli_util.h"
#include "cpk_config.h"

static const struct cardload_command *const commands[] = {
	&cardload_load_command,
	&cardload_identify_command,
	&cardload_readers_command,
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

void
cardload_help(const struct cardload_command *c, FILE *f)
{
	fprintf(f, "usage: %s\n\n%s", c->synopsis, c->help);
}

static void
show_usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: cardload [OPTIONS] BUNDLE|URL|-\n"
	    "       cardload COMMAND [ARGUMENTS]\n"
	    "       cardload help COMMAND\n"
	    "       cardload --help | --version\n\n"
	    "Check a signed bundle (cpk(5)) and stream it to the card it was made for.\n"
	    "cardload holds no key: the card checks every command.\n\n"
	    "Commands:\n");
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-9s %s\n", commands[i]->name, commands[i]->summary);
	fprintf(f, "  %-9s %s\n", "help", "show the options of a command");
	fprintf(f, "\nUsage:\n");
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %s\n", commands[i]->synopsis);
	fprintf(f, "\nExit status: 0 success; 1 error; 2 usage error; 3 bundle rejected before\n"
	    "anything was sent; 4 the card refused a command of the secure channel;\n"
	    "5 no reader, no card, no smart-card service, or the card was removed.\n"
	    "See cardload(1).\n");
}

static const struct cardload_command *
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
	const struct cardload_command *c;

	if (argc == 1) {
		show_usage(stdout);
		return CLI_EXIT_OK;
	}
	if (argc > 2)
		return cli_usage("help", "cardload help [COMMAND]", "one command at a time");
	if ((c = find_command(argv[1])) == NULL)
		return cli_usage("help", "cardload help [COMMAND]", "unknown command '%s'",
		    argv[1]);
	cardload_help(c, stdout);
	return CLI_EXIT_OK;
}

int
main(int argc, char *argv[])
{
	const struct cardload_command *c;

	cli_set_progname("cardload");
	if (argc < 2) {
		show_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		show_usage(stdout);
		return CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("cardload (cpk) %s\n", CPK_VERSION);
		return CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "help") == 0)
		return help_command(argc - 1, argv + 1);
	if ((c = find_command(argv[1])) != NULL)
		return c->run(argc - 1, argv + 1);
	/* The default action: load, with every argument its own. */
	return cardload_load_command.run(argc, argv);
}
