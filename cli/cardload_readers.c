/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cardload readers: the PC/SC readers, whether each holds a card, its ATR.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cardload.h"
#include "cli_util.h"
#include "pcsc.h"

#define SYNOPSIS "cardload readers [--json]"

enum { OPT_JSON = 256 };

static const struct option long_options[] = {
	{ "json", no_argument, NULL, OPT_JSON },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void
print_json(const struct cpk_reader_info *r, size_t n)
{
	struct cli_json j;
	size_t i;

	cli_json_init(&j, stdout);
	cli_json_object(&j, NULL);
	cli_json_array(&j, "readers");
	for (i = 0; i < n; i++) {
		cli_json_object(&j, NULL);
		cli_json_str(&j, "name", r[i].name);
		cli_json_bool(&j, "card", r[i].card_present);
		cli_json_bool(&j, "in-use", r[i].in_use);
		if (r[i].card_present && r[i].atr_len > 0)
			cli_json_hex(&j, "atr", r[i].atr, r[i].atr_len);
		else
			cli_json_null(&j, "atr");
		cli_json_end(&j);
	}
	cli_json_end(&j);
	cli_json_finish(&j);
}

static void
print_text(const struct cpk_reader_info *r, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		printf("%s\t", r[i].name);
		if (!r[i].card_present) {
			printf("no card\n");
			continue;
		}
		printf("card");
		if (r[i].atr_len > 0) {
			printf("  ATR ");
			cli_print_hex(stdout, r[i].atr, r[i].atr_len);
		}
		printf("%s\n", r[i].in_use ? "  (in use by another program)" : "");
	}
	fflush(stdout);
}

static int
readers_main(int argc, char *argv[])
{
	struct cpk_reader_info readers[CPK_PCSC_MAX_READERS];
	struct cpk_error err;
	size_t n = 0;
	bool json = false;
	int c;

	while ((c = getopt_long(argc, argv, CARDLOAD_GETOPT_PREFIX "h", long_options,
	    NULL)) != -1) {
		switch (c) {
		case OPT_JSON:
			json = true;
			break;
		case 'h':
			cli_command_help(&cardload_readers_command, stdout);
			return CLI_EXIT_OK;
		default:
			return cli_bad_option("readers", SYNOPSIS, c, argv, long_options);
		}
	}
	if (optind != argc)
		return cli_usage("readers", SYNOPSIS, "unexpected argument '%s'", argv[optind]);
	cpk_error_clear(&err);
	if (cpk_pcsc_list(readers, CPK_PCSC_MAX_READERS, &n, &err) != CPK_OK) {
		cli_error(&err);
		fprintf(stderr, "cardload: what to do: %s\n", cardload_reader_advice(&err));
		return CARDLOAD_EXIT_READER;
	}
	if (json)
		print_json(readers, n);
	else
		print_text(readers, n);
	if (n == 0) {
		cli_errorf("no smart-card reader is connected");
		return CARDLOAD_EXIT_READER;
	}
	return CLI_EXIT_OK;
}

const struct cli_command cardload_readers_command = {
	"readers",
	readers_main,
	"list the smart-card readers and the cards in them",
	SYNOPSIS,
	"List the PC/SC readers, one per line: the reader's name, a tab, then 'card'\n"
	"with the card's ATR, or 'no card'. The names are what -r takes (an exact\n"
	"name or a unique part of it).\n"
	"\n"
	"      --json    one JSON document: {\"readers\": [{\"name\", \"card\", \"in-use\",\n"
	"                \"atr\"}, ...]}\n"
	"  -h, --help    this text\n"
	"\n"
	"Exit status: 0 at least one reader; 2 usage; 5 no reader, or the smart-card\n"
	"service is not running.\n",
};
