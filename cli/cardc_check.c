/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cardc check: everything about a profile (and, with --cards, the card
 * records it will be compiled for) that can be checked without keys or a
 * signing key. Each profile is loaded as cardc compile loads it, except that
 * key set files are checked as names only (profile_opts.keyless); each card
 * record is parsed as cardc batch parses it and compiled with throwaway keys
 * (cpk_compile_opts.keyless), so every step, template, block size and card
 * field runs through the compiler's own code; the bundle is thrown away.
 * Diagnostics carry file:line:col; --json and --format sarif (SARIF 2.1.0)
 * for code-review tools.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "card.h"
#include "cardc.h"
#include "cli_util.h"
#include "compile.h"
#include "cpk_config.h"
#include "profile.h"

#define SYNOPSIS "cardc check PROFILE... [--cards FILE] [--json | --format text|json|sarif]"

/* The largest cards file read whole. */
#define CARDS_MAX_SIZE ((size_t)256 * 1024 * 1024)
/* Diagnostics kept; more are counted, not listed. */
#define DIAG_MAX 10000

enum { OPT_JSON = 256, OPT_FORMAT, OPT_CARDS };

static const struct option long_options[] = {
	{ "cards", required_argument, NULL, OPT_CARDS },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

enum format { FORMAT_TEXT, FORMAT_JSON, FORMAT_SARIF };

struct check_args {
	char **profiles;
	size_t nprofiles;
	const char *cards;
	enum format format;
};

struct diag {
	char file[256];
	unsigned line, col;
	cpk_status status;
	char msg[CPK_ERROR_MSG_LEN];
};

struct check {
	struct diag *v;
	size_t n, cap, dropped;
	size_t cards, cards_checked;
};

static void
add(struct check *c, const struct cpk_error *err, const char *file, unsigned line)
{
	struct diag *grown, *d;

	if (c->n == DIAG_MAX) {
		c->dropped++;
		return;
	}
	if (c->n == c->cap) {
		c->cap = c->cap == 0 ? 16 : 2 * c->cap;
		if ((grown = realloc(c->v, c->cap * sizeof(*grown))) == NULL) {
			c->dropped++;
			c->cap = c->n;
			return;
		}
		c->v = grown;
	}
	d = &c->v[c->n++];
	memset(d, 0, sizeof(*d));
	/* The error's own place (the profile, a line of the cards file), else the one given. */
	if (err->file[0] != '\0') {
		snprintf(d->file, sizeof(d->file), "%s", err->file);
		d->line = err->line;
		d->col = err->col;
	} else {
		snprintf(d->file, sizeof(d->file), "%s", file);
		d->line = line;
	}
	d->status = err->status;
	snprintf(d->msg, sizeof(d->msg), "%s", err->msg[0] != '\0' ? err->msg :
	    cpk_status_str(err->status));
}

/* A rule id per kind of error: "cpk/parse", "cpk/range", ... */
static void
rule_id(cpk_status st, char *out, size_t n)
{
	const char *name = cpk_status_name(st);
	size_t i, k;

	if (strncmp(name, "CPK_ERR_", 8) == 0)
		name += 8;
	k = (size_t)snprintf(out, n, "cpk/");
	for (i = 0; name[i] != '\0' && k + 1 < n; i++)
		out[k++] = name[i] == '_' ? '-' : (char)(name[i] | 0x20);
	out[k] = '\0';
}

/* Compile one card with throwaway keys; its errors are the card's. */
static void
check_card(struct check *c, const struct profile *p, struct card_record *card,
    const char *file, unsigned line)
{
	static const uint8_t hc[8];
	struct cpk_compile_opts o;
	struct cpk_compiled out;
	struct cpk_error err;

	memset(&o, 0, sizeof(o));
	o.keyless = true;
	o.host_challenge = hc;
	memcpy(o.profile_sha256, p->sha256, sizeof(o.profile_sha256));
	cpk_error_clear(&err);
	c->cards_checked++;
	if (cpk_compile(p, card, &o, &out, &err) == CPK_OK) {
		cpk_compiled_free(&out);
		return;
	}
	/* An error at a place in the profile: say which record it is for. */
	if (err.file[0] != '\0' && strcmp(err.file, file) != 0) {
		if (line > 0)
			cpk_error_prefix(&err, "for the card record at %s:%u", file, line);
		else
			cpk_error_prefix(&err, "for the card record %s", file);
	}
	add(c, &err, file, line);
}

static bool
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* The records of a cards file (as cardc batch reads them, or one card.yaml), each compiled. */
static void
check_cards(struct check *c, const struct profile *p, const char *name,
    const struct cpk_buf *text)
{
	struct card_csv_header hdr;
	struct card_record card;
	struct cpk_error err;
	const char *s = (const char *)text->data, *nl;
	size_t off = 0, len;
	unsigned lineno = 0;
	bool json = false, header = false;

	memset(&hdr, 0, sizeof(hdr));
	cpk_error_clear(&err);
	if (ends_with(name, ".yaml") || ends_with(name, ".yml")) {
		card_record_init(&card);
		c->cards++;
		if (card_parse_yaml(name, text->data, text->len, &card, &err) != CPK_OK)
			add(c, &err, name, 0);
		else
			check_card(c, p, &card, name, 0);
		card_record_clear(&card);
		return;
	}
	while (off < text->len) {
		nl = memchr(s + off, '\n', text->len - off);
		len = nl != NULL ? (size_t)(nl - (s + off)) : text->len - off;
		lineno++;
		if (len > 0 && s[off + len - 1] == '\r')
			len--;
		if (!card_line_blank(s + off, len)) {
			if (!header && !json) {
				json = card_line_json(s + off, len);
				if (!json) {
					header = true;
					if (card_csv_header_parse(name, lineno, s + off, len, &hdr,
					    &err) != CPK_OK) {
						add(c, &err, name, lineno);
						break;
					}
					goto next;
				}
			}
			card_record_init(&card);
			c->cards++;
			cpk_error_clear(&err);
			if (card_parse_line(&hdr, json, name, lineno, s + off, len, &card, &err) ==
			    CPK_OK)
				check_card(c, p, &card, name, lineno);
			if (err.status != CPK_OK)
				add(c, &err, name, lineno);
			card_record_clear(&card);
		}
next:
		off += (nl != NULL ? (size_t)(nl - (s + off)) : text->len - off) + 1;
	}
	card_csv_header_free(&hdr);
}

/* --- output --- */

static void
print_text(const struct check_args *a, const struct check *c)
{
	char id[48];
	size_t i;

	for (i = 0; i < c->n; i++) {
		rule_id(c->v[i].status, id, sizeof(id));
		if (c->v[i].line > 0 && c->v[i].col > 0)
			printf("%s:%u:%u: error: %s [%s]\n", c->v[i].file, c->v[i].line,
			    c->v[i].col, c->v[i].msg, id);
		else if (c->v[i].line > 0)
			printf("%s:%u: error: %s [%s]\n", c->v[i].file, c->v[i].line, c->v[i].msg,
			    id);
		else
			printf("%s: error: %s [%s]\n", c->v[i].file, c->v[i].msg, id);
	}
	printf("cardc check: %zu profile%s", a->nprofiles, a->nprofiles == 1 ? "" : "s");
	if (a->cards != NULL)
		printf(", %zu card record%s", c->cards, c->cards == 1 ? "" : "s");
	printf(": %zu error%s\n", c->n + c->dropped, c->n + c->dropped == 1 ? "" : "s");
}

static void
print_json(const struct check_args *a, const struct check *c)
{
	struct cli_json j;
	char id[48];
	size_t i;

	cli_json_init(&j, stdout);
	cli_json_object(&j, NULL);
	cli_json_array(&j, "profiles");
	for (i = 0; i < a->nprofiles; i++)
		cli_json_str(&j, NULL, a->profiles[i]);
	cli_json_end(&j);
	cli_json_str(&j, "cards", a->cards);
	cli_json_uint(&j, "card-records", c->cards);
	cli_json_uint(&j, "errors", c->n + c->dropped);
	cli_json_array(&j, "diagnostics");
	for (i = 0; i < c->n; i++) {
		rule_id(c->v[i].status, id, sizeof(id));
		cli_json_object(&j, NULL);
		cli_json_str(&j, "file", c->v[i].file);
		if (c->v[i].line > 0)
			cli_json_uint(&j, "line", c->v[i].line);
		else
			cli_json_null(&j, "line");
		if (c->v[i].col > 0)
			cli_json_uint(&j, "column", c->v[i].col);
		else
			cli_json_null(&j, "column");
		cli_json_str(&j, "severity", "error");
		cli_json_str(&j, "rule", id);
		cli_json_str(&j, "message", c->v[i].msg);
		cli_json_end(&j);
	}
	cli_json_end(&j);
	cli_json_end(&j);
	cli_json_finish(&j);
}

/* SARIF 2.1.0 (OASIS): one run, a rule per kind of error, a result per diagnostic. */
static void
print_sarif(const struct check *c)
{
	struct cli_json j;
	char id[48];
	bool used[CPK_STATUS_COUNT];
	size_t i, k;

	memset(used, 0, sizeof(used));
	for (i = 0; i < c->n; i++)
		if ((size_t)c->v[i].status < CPK_STATUS_COUNT)
			used[c->v[i].status] = true;
	cli_json_init(&j, stdout);
	cli_json_object(&j, NULL);
	cli_json_str(&j, "$schema", "https://json.schemastore.org/sarif-2.1.0.json");
	cli_json_str(&j, "version", "2.1.0");
	cli_json_array(&j, "runs");
	cli_json_object(&j, NULL);
	cli_json_object(&j, "tool");
	cli_json_object(&j, "driver");
	cli_json_str(&j, "name", "cardc");
	cli_json_str(&j, "version", CPK_VERSION);
	cli_json_array(&j, "rules");
	for (k = 1; k < CPK_STATUS_COUNT; k++) {
		if (!used[k])
			continue;
		rule_id((cpk_status)k, id, sizeof(id));
		cli_json_object(&j, NULL);
		cli_json_str(&j, "id", id);
		cli_json_object(&j, "shortDescription");
		cli_json_str(&j, "text", cpk_status_str((cpk_status)k));
		cli_json_end(&j);
		cli_json_end(&j);
	}
	cli_json_end(&j);
	cli_json_end(&j);
	cli_json_end(&j);
	cli_json_array(&j, "results");
	for (i = 0; i < c->n; i++) {
		rule_id(c->v[i].status, id, sizeof(id));
		cli_json_object(&j, NULL);
		cli_json_str(&j, "ruleId", id);
		cli_json_str(&j, "level", "error");
		cli_json_object(&j, "message");
		cli_json_str(&j, "text", c->v[i].msg);
		cli_json_end(&j);
		cli_json_array(&j, "locations");
		cli_json_object(&j, NULL);
		cli_json_object(&j, "physicalLocation");
		cli_json_object(&j, "artifactLocation");
		cli_json_str(&j, "uri", c->v[i].file);
		cli_json_end(&j);
		if (c->v[i].line > 0) {
			cli_json_object(&j, "region");
			cli_json_uint(&j, "startLine", c->v[i].line);
			if (c->v[i].col > 0)
				cli_json_uint(&j, "startColumn", c->v[i].col);
			cli_json_end(&j);
		}
		cli_json_end(&j);
		cli_json_end(&j);
		cli_json_end(&j);
		cli_json_end(&j);
	}
	cli_json_end(&j);
	cli_json_end(&j);
	cli_json_end(&j);
	cli_json_end(&j);
	cli_json_finish(&j);
}

static int
run(const struct check_args *a)
{
	struct profile_opts popts = { .keydir = NULL, .keyless = true };
	struct cpk_buf cards = CPK_BUF_INIT;
	struct profile *p = NULL;
	struct check c;
	struct cpk_error err;
	size_t i;
	bool counted = false;
	int rc;

	memset(&c, 0, sizeof(c));
	cpk_error_clear(&err);
	if (a->cards != NULL &&
	    cli_read_input(a->cards, CARDS_MAX_SIZE, &cards, &err) != CPK_OK) {
		cli_error(&err);
		cpk_buf_free(&cards);
		return CLI_EXIT_ERROR;
	}
	for (i = 0; i < a->nprofiles; i++) {
		cpk_error_clear(&err);
		if (profile_load(a->profiles[i], &popts, &p, &err) != CPK_OK) {
			add(&c, &err, a->profiles[i], 0);
			continue;
		}
		if (a->cards != NULL) {
			/* Each profile against every record: count the records once. */
			size_t before = c.cards;

			check_cards(&c, p, a->cards, &cards);
			if (counted)
				c.cards = before;
			counted = true;
		}
		profile_free(&p);
	}
	if (a->format == FORMAT_SARIF)
		print_sarif(&c);
	else if (a->format == FORMAT_JSON)
		print_json(a, &c);
	else
		print_text(a, &c);
	fflush(stdout);
	rc = c.n + c.dropped > 0 ? CLI_EXIT_ERROR : CLI_EXIT_OK;
	free(c.v);
	cpk_buf_free(&cards);
	return rc;
}

static int
check_main(int argc, char *argv[])
{
	struct check_args a;
	int c;

	memset(&a, 0, sizeof(a));
	while ((c = getopt_long(argc, argv, CARDC_GETOPT_PREFIX "h", long_options, NULL)) != -1) {
		switch (c) {
		case OPT_CARDS:
			a.cards = optarg;
			break;
		case OPT_JSON:
			a.format = FORMAT_JSON;
			break;
		case OPT_FORMAT:
			if (strcmp(optarg, "text") == 0)
				a.format = FORMAT_TEXT;
			else if (strcmp(optarg, "json") == 0)
				a.format = FORMAT_JSON;
			else if (strcmp(optarg, "sarif") == 0)
				a.format = FORMAT_SARIF;
			else
				return cli_usage("check", SYNOPSIS, "unknown --format '%s' (text, "
				    "json or sarif)", optarg);
			break;
		case 'h':
			cli_command_help(&cardc_check_command, stdout);
			return CLI_EXIT_OK;
		default:
			return cli_bad_option("check", SYNOPSIS, c, argv, long_options);
		}
	}
	if (optind == argc)
		return cli_usage("check", SYNOPSIS, "missing PROFILE");
	a.profiles = argv + optind;
	a.nprofiles = (size_t)(argc - optind);
	return run(&a);
}

const struct cli_command cardc_check_command = {
	.name = "check",
	.run = check_main,
	.summary = "check profiles and card records without keys (for CI)",
	.synopsis = SYNOPSIS,
	.help =
	    "Check each PROFILE as 'cardc compile' would, without keys or a signing\n"
	    "key: its schema, the files it names (CAP files parsed, AIDs, the load\n"
	    "file's blocks against the security level), key set file names (not read).\n"
	    "With --cards, every card record in FILE (a card.yaml, JSON lines or CSV,\n"
	    "as for 'cardc batch') is parsed and compiled with throwaway keys: what\n"
	    "each record must supply, every template rendered, every command built.\n"
	    "Each error is reported as FILE:LINE:COL.\n"
	    "\n"
	    "      --cards FILE          card records to check each profile against\n"
	    "      --json                the same as --format json\n"
	    "      --format FORMAT       text (default), json, or sarif (SARIF 2.1.0,\n"
	    "                            which code-review tools show inline)\n"
	    "  -h, --help                show this help\n"
	    "\n"
	    "Exit status: 0 no error; 1 errors found (or a file cannot be read); 2 usage.\n",
};
