/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cardload identify: read a card's identification data and write the card
 * record cardc compiles a bundle for (cpk-profile(5), CARD RECORDS).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cardload.h"
#include "cli_util.h"
#include "cpk_file.h"
#include "identify.h"
#include "pcsc.h"

#define SYNOPSIS "cardload identify [-r READER] [--sd AID] [--kvn KVN] [--scp-i I] " \
    "[--session] [-v] [-o FILE|-]"

enum { OPT_SD = 256, OPT_KVN, OPT_SCP_I, OPT_SESSION };

static const struct option long_options[] = {
	{ "reader", required_argument, NULL, 'r' },
	{ "sd", required_argument, NULL, OPT_SD },
	{ "kvn", required_argument, NULL, OPT_KVN },
	{ "scp-i", required_argument, NULL, OPT_SCP_I },
	{ "session", no_argument, NULL, OPT_SESSION },
	{ "output", required_argument, NULL, 'o' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct identify_args {
	const char *reader, *output;
	uint8_t sd[16];
	size_t sd_len;
	uint8_t kvn, i;
	bool has_i, session, verbose;
};

static cpk_status
write_record(const struct identify_args *a, const struct cpk_buf *rec, struct cpk_error *err)
{
	if (a->output == NULL || strcmp(a->output, "-") == 0)
		return cli_write_stdout(rec->data, rec->len, err);
	return cpk_file_replace(a->output, rec->data, rec->len, 0644, err);
}

static void
summary(const struct identify_args *a, const struct cpk_card_info *ci, const char *reader)
{
	char kdd[2 * SCP_KDD_LEN + 1], ctr[8];
	size_t k;

	cpk_hex_encode(ci->kdd, SCP_KDD_LEN, kdd, sizeof(kdd));
	if (ci->counter_len == 0 || cpk_hex_encode(ci->counter, ci->counter_len, ctr,
	    sizeof(ctr)) != CPK_OK)
		snprintf(ctr, sizeof(ctr), "unknown");
	for (k = 0; k < ci->nnotes; k++)
		fprintf(stderr, "cardload identify: note: %s\n", ci->notes[k]);
	fprintf(stderr, "cardload identify: card in '%s': SCP%02X i=%02X, key set %02X, KDD %s, "
	    "next sequence counter %s, serial %s (from the %s)%s%s\n", reader, ci->scp, ci->i,
	    ci->kvn, kdd, ctr, ci->serial, ci->serial_from != NULL ? ci->serial_from : "?",
	    a->output != NULL && strcmp(a->output, "-") != 0 ? "; record written to " : "",
	    a->output != NULL && strcmp(a->output, "-") != 0 ? a->output : "");
	if (ci->ext_length)
		fprintf(stderr, "cardload identify: extended length: commands of up to %zu bytes, "
		    "responses of up to %zu\n", ci->max_command, ci->max_response);
	if (a->session)
		fprintf(stderr, "cardload identify: session record: load its bundle into this card "
		    "without removing it or using it in between\n");
}

static int
run(const struct identify_args *a)
{
	struct cpk_identify_opts o;
	struct cpk_transport t;
	struct cpk_card_info ci;
	struct cpk_buf rec = CPK_BUF_INIT;
	struct cpk_error err;
	size_t k;
	int rc;

	memset(&t, 0, sizeof(t));
	memset(&o, 0, sizeof(o));
	/* A device or a FIFO named by -o is refused before the card is touched. */
	if (a->output != NULL && strcmp(a->output, "-") != 0 &&
	    cpk_output_check(a->output, "output", &err) != CPK_OK) {
		cli_error(&err);
		return CLI_EXIT_ERROR;
	}
	o.sd_aid = a->sd_len > 0 ? a->sd : NULL;
	o.sd_aid_len = a->sd_len;
	o.kvn = a->kvn;
	o.has_i = a->has_i;
	o.i = a->i;
	if ((rc = cardload_open_card(cardload_reader_choice(a->reader), &t, &err)) != CLI_EXIT_OK)
		return rc;
	if ((rc = cardload_identify_card(&t, &o, a->verbose, &ci)) != CLI_EXIT_OK)
		goto out;
	cpk_error_clear(&err);
	if (cardload_card_record(&ci, a->session, "cardload identify", t.name, &rec, &err) !=
	    CPK_OK || write_record(a, &rec, &err) != CPK_OK) {
		for (k = 0; k < ci.nnotes; k++)
			fprintf(stderr, "cardload identify: note: %s\n", ci.notes[k]);
		cli_error(&err);
		rc = CLI_EXIT_ERROR;
		goto out;
	}
	summary(a, &ci, t.name);
	rc = CLI_EXIT_OK;
out:
	cpk_buf_free(&rec);
	cpk_transport_close(&t);
	return rc;
}

static int
identify_main(int argc, char *argv[])
{
	struct identify_args a;
	int c;

	memset(&a, 0, sizeof(a));
	while ((c = getopt_long(argc, argv, CARDLOAD_GETOPT_PREFIX "r:o:vh", long_options,
	    NULL)) != -1) {
		switch (c) {
		case 'r':
			a.reader = optarg;
			break;
		case 'o':
			a.output = optarg;
			break;
		case 'v':
			a.verbose = true;
			break;
		case OPT_SD:
			if (cpk_hex_decode(optarg, strlen(optarg), a.sd, sizeof(a.sd), &a.sd_len,
			    NULL) != CPK_OK || a.sd_len < 5)
				return cli_usage("identify", SYNOPSIS,
				    "--sd wants an AID of 5 to 16 bytes in hex, not '%s'", optarg);
			break;
		case OPT_KVN:
			if (!cardload_parse_byte(optarg, &a.kvn) || a.kvn > 0x7F)
				return cli_usage("identify", SYNOPSIS,
				    "--kvn wants a key version 00 to 7F in hex, not '%s'", optarg);
			break;
		case OPT_SCP_I:
			if (!cardload_parse_byte(optarg, &a.i))
				return cli_usage("identify", SYNOPSIS,
				    "--scp-i wants two hex digits (e.g. 55), not '%s'", optarg);
			a.has_i = true;
			break;
		case OPT_SESSION:
			a.session = true;
			break;
		case 'h':
			cli_command_help(&cardload_identify_command, stdout);
			return CLI_EXIT_OK;
		default:
			return cli_bad_option("identify", SYNOPSIS, c, argv, long_options);
		}
	}
	if (optind != argc)
		return cli_usage("identify", SYNOPSIS, "unexpected argument '%s'", argv[optind]);
	if (a.output != NULL && a.output[0] == '\0')
		return cli_usage("identify", SYNOPSIS, "-o wants a file name or -");
	return run(&a);
}

const struct cli_command cardload_identify_command = {
	"identify",
	identify_main,
	"read a card's identification data and write its card record",
	SYNOPSIS,
	"Select the security domain, read the card's data (GET DATA CF, 9F7F, 42, 45,\n"
	"66, E0) and open one INITIALIZE UPDATE with a random host challenge, then write\n"
	"the card record cardc compiles bundles for (cpk-profile(5), CARD RECORDS):\n"
	"sd-aid, scp, i, kvn, kdd, the next sequence counter, cplc, iin, cin and serial.\n"
	"\n"
	"The probe itself uses one SCP03 session: for SCP03 the next counter is the\n"
	"returned one + 1; for SCP02 it is the returned one (the counter moves only\n"
	"after a successful authentication). The serial is the CPLC's IC fabricator\n"
	"and IC serial number (\"4790-0A1B2C3D\"), else the CIN, else the KDD, in hex.\n"
	"\n"
	"  -r, --reader NAME   the reader (default: $CPK_READER, else the only reader\n"
	"                      with a card)\n"
	"      --sd AID        the security domain (default A000000151000000)\n"
	"      --kvn KVN       the key set for INITIALIZE UPDATE (default 00: the card's\n"
	"                      default key set)\n"
	"      --scp-i I       the SCP02 i parameter, for cards that do not announce it\n"
	"      --session       also write host-challenge and iu-response (and no counter):\n"
	"                      a record for a session bundle, loaded into this card in\n"
	"                      this same session\n"
	"  -o, --output FILE   where to write the record (default -, stdout); a device\n"
	"                      or FIFO there is refused, never replaced\n"
	"  -v, --verbose       print the APDU trace on stderr\n"
	"  -h, --help          this text\n"
	"\n"
	"Exit status: 0 record written; 1 error (the card refused SELECT or\n"
	"INITIALIZE UPDATE, an answer that GlobalPlatform does not allow, the record\n"
	"could not be written); 2 usage; 5 no reader, no card, no smart-card service,\n"
	"or the card was removed.\n",
};
