/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cardc registry: the issuance registry (registry.h) from the command
 * line, and the registry that compile and batch record into.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cardc.h"
#include "cli_util.h"
#include "cpk_text.h"
#include "datakey.h"
#include "registry.h"

#define SYNOPSIS "cardc registry init|migrate|list|show SERIAL|export|summary|" \
    "mark BUNDLE-SHA256 STATE|keygen [--registry URI] [--json] ..."

enum { OPT_REGISTRY = 256, OPT_JSON, OPT_REASON, OPT_SERIAL, OPT_PROFILE };

static const struct option long_options[] = {
	{ "registry", required_argument, NULL, OPT_REGISTRY },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "reason", required_argument, NULL, OPT_REASON },
	{ "serial", required_argument, NULL, OPT_SERIAL },
	{ "profile", required_argument, NULL, OPT_PROFILE },
	{ "keys", required_argument, NULL, 'k' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct reg_args {
	const char *action;
	const char *registry, *reason, *serial, *profile, *keys;
	bool json;
	char **args;
	int nargs;
};

/* --- for compile and batch --- */

cpk_status
cardc_registry_open(const char *option, const char *keydir, const struct profile *p,
    struct cardc_registry *out, struct cpk_error *err)
{
	char uri[REGISTRY_URI_MAX], source[4096];
	bool found;
	cpk_status st;

	memset(out, 0, sizeof(*out));
	if ((st = registry_uri_resolve(option, uri, sizeof(uri), &found, source, sizeof(source),
	    err)) != CPK_OK || !found)
		goto out;
	if ((st = registry_open(uri, false, &out->reg, err)) != CPK_OK ||
	    (st = registry_check(out->reg, err)) != CPK_OK)
		goto out;
	if (p->ndata > 0 && (st = datakey_load(keydir, &out->dk, err)) != CPK_OK)
		goto out;
out:
	cpk_cleanse(uri, sizeof(uri));
	if (st != CPK_OK)
		cardc_registry_close(out);
	return st;
}

void
cardc_registry_close(struct cardc_registry *cr)
{
	registry_close(&cr->reg);
	datakey_free(&cr->dk);
}

/* --- the subcommand --- */

cpk_status
cardc_registry_connect(const char *option, bool create, struct registry **r,
    struct cpk_error *err)
{
	char uri[REGISTRY_URI_MAX], source[4096];
	bool found;
	cpk_status st;

	*r = NULL;
	if ((st = registry_uri_resolve(option, uri, sizeof(uri), &found, source,
	    sizeof(source), err)) != CPK_OK)
		return st;
	if (!found)
		return cpk_error_set(err, CPK_ERR_ARG, "no registry: give --registry URI, set "
		    "CPK_REGISTRY or name one in a config file (cardc(1), FILES)");
	st = registry_open(uri, create, r, err);
	cpk_cleanse(uri, sizeof(uri));
	return st;
}

static void
print_time(FILE *f, const char *label, uint64_t t)
{
	char buf[32];

	cpk_time_format(t, buf, sizeof(buf));
	fprintf(f, "  %-13s %s\n", label, buf);
}

static void
json_time(struct cli_json *j, const char *key, uint64_t t)
{
	char buf[32];

	cpk_time_format(t, buf, sizeof(buf));
	cli_json_str(j, key, buf);
}

static const char *
opt(const char *s)
{
	return s[0] != '\0' ? s : NULL;
}

static void
json_row_members(struct cli_json *j, const struct registry_row *row)
{
	cli_json_str(j, "serial", row->serial);
	cli_json_str(j, "state", registry_state_name(row->state));
	cli_json_str(j, "bundle-sha256", row->bundle_sha256);
	cli_json_str(j, "profile", row->profile);
	cli_json_str(j, "profile-sha256", row->profile_sha256);
	cli_json_str(j, "mode", row->mode);
	cli_json_str(j, "counter", row->counter);
	cli_json_str(j, "kdd", row->kdd);
	cli_json_str(j, "iin", opt(row->iin));
	cli_json_str(j, "cin", opt(row->cin));
	json_time(j, "created", row->created);
	json_time(j, "recorded", row->recorded);
	json_time(j, "changed", row->changed);
	cli_json_str(j, "reason", opt(row->reason));
	cli_json_str(j, "replaced-by", opt(row->replaced_by));
	cli_json_str(j, "replaced-by-serial", opt(row->replaced_by_serial));
	cli_json_bool(j, "personal-data", row->has_data);
	if (row->data != NULL)
		cli_json_str(j, "sealed-data", row->data);
}

static void
json_row(struct cli_json *j, const struct registry_row *row)
{
	cli_json_object(j, NULL);
	json_row_members(j, row);
	cli_json_end(j);
}

/* Replaced by another card's bundle (cardc reissue). */
static bool
reissued(const struct registry_row *row)
{
	return row->replaced_by_serial[0] != '\0' && strcmp(row->replaced_by_serial,
	    row->serial) != 0;
}

/* list */

struct list_ctx {
	struct cli_json *j;
	size_t n;
};

static cpk_status
list_row(void *arg, const struct registry_row *row)
{
	struct list_ctx *c = arg;

	c->n++;
	if (c->j != NULL) {
		json_row(c->j, row);
		return CPK_OK;
	}
	if (c->n == 1)
		printf("%-20s %-10s %-8s %-20s %s\n", "SERIAL", "STATE", "COUNTER", "PROFILE",
		    "BUNDLE-SHA256");
	printf("%-20s %-10s %-8s %-20s %s", row->serial, registry_state_name(row->state),
	    row->counter, row->profile, row->bundle_sha256);
	if (reissued(row))
		printf("  replaced by card %s", row->replaced_by_serial);
	putchar('\n');
	return CPK_OK;
}

static cpk_status
do_list(struct registry *r, const struct reg_args *a, struct cpk_error *err)
{
	struct registry_filter f = { a->serial, NULL, a->profile, false };
	struct list_ctx c = { NULL, 0 };
	struct cli_json j;
	cpk_status st;

	if (a->json) {
		cli_json_init(&j, stdout);
		cli_json_object(&j, NULL);
		cli_json_str(&j, "registry", registry_name(r));
		cli_json_array(&j, "bundles");
		c.j = &j;
	}
	st = registry_list(r, &f, list_row, &c, err);
	if (a->json) {
		cli_json_end(&j);
		cli_json_uint(&j, "count", c.n);
		cli_json_end(&j);
		cli_json_finish(&j);
	} else if (st == CPK_OK) {
		printf("%zu bundle%s\n", c.n, c.n == 1 ? "" : "s");
	}
	return st;
}

/* show */

static cpk_status
show_captured(void *arg, const char *name, const char *value)
{
	struct cli_json *j = arg;

	if (j != NULL)
		cli_json_str(j, name, value);
	else
		printf("  captured      %s: %s\n", name, value);
	return CPK_OK;
}

struct show_ctx {
	struct registry *r;
	struct cli_json *j;
	size_t n;
	struct cpk_error *err;
};

static cpk_status
show_row(void *arg, const struct registry_row *row)
{
	struct show_ctx *c = arg;
	char buf[32];
	cpk_status st;

	c->n++;
	if (c->j != NULL) {
		/* The bundle and what its card returned (captured data). */
		cli_json_object(c->j, NULL);
		json_row_members(c->j, row);
		cli_json_object(c->j, "captured");
		st = registry_captured(c->r, row->bundle_sha256, show_captured, c->j, c->err);
		cli_json_end(c->j);
		cli_json_end(c->j);
		return st;
	}
	printf("bundle %s\n", row->bundle_sha256);
	printf("  %-13s %s", "state", registry_state_name(row->state));
	if (row->reason[0] != '\0')
		printf(" (%s)", row->reason);
	cpk_time_format(row->changed, buf, sizeof(buf));
	printf(" since %s\n", buf);
	if (reissued(row))
		printf("  %-13s card %s, bundle %s\n", "replaced by", row->replaced_by_serial,
		    row->replaced_by);
	else if (row->replaced_by[0] != '\0')
		printf("  %-13s %s\n", "replaced by", row->replaced_by);
	printf("  %-13s %s (sha256 %s)\n", "profile", row->profile, row->profile_sha256);
	printf("  %-13s %s, counter %s\n", "mode", row->mode, row->counter);
	printf("  %-13s %s\n", "kdd", row->kdd);
	if (row->iin[0] != '\0')
		printf("  %-13s %s\n", "iin", row->iin);
	if (row->cin[0] != '\0')
		printf("  %-13s %s\n", "cin", row->cin);
	print_time(stdout, "created", row->created);
	print_time(stdout, "recorded", row->recorded);
	printf("  %-13s %s\n", "personal data", row->has_data ? "sealed (AES-256-GCM)" : "none");
	return registry_captured(c->r, row->bundle_sha256, show_captured, NULL, c->err);
}

static cpk_status
show_event(void *arg, const struct registry_event *ev)
{
	struct cli_json *j = arg;
	char buf[32];

	cpk_time_format(ev->at, buf, sizeof(buf));
	if (j == NULL) {
		printf("  %s  %-10s %.16s  %s\n", buf, ev->event, ev->bundle_sha256, ev->detail);
		return CPK_OK;
	}
	cli_json_object(j, NULL);
	cli_json_str(j, "at", buf);
	cli_json_str(j, "serial", ev->serial);
	cli_json_str(j, "event", ev->event);
	cli_json_str(j, "bundle-sha256", ev->bundle_sha256);
	cli_json_str(j, "detail", opt(ev->detail));
	cli_json_end(j);
	return CPK_OK;
}

/* The card this one is a re-issue of (its "reissue-of" event), "" if none. */
static cpk_status
reissue_of(void *arg, const struct registry_event *ev)
{
	char *of = arg;
	size_t n = strlen(ev->detail);

	if (strcmp(ev->event, "reissue-of") == 0 && n <= REGISTRY_SERIAL_MAX) {
		memcpy(of, ev->detail, n);
		of[n] = '\0';
	}
	return CPK_OK;
}

static cpk_status
do_show(struct registry *r, const struct reg_args *a, struct cpk_error *err)
{
	struct registry_filter f = { a->args[0], NULL, NULL, false };
	struct show_ctx c = { r, NULL, 0, err };
	char of[REGISTRY_SERIAL_MAX + 1] = "";
	struct cli_json j;
	cpk_status st;

	if ((st = registry_events(r, a->args[0], reissue_of, of, err)) != CPK_OK)
		return st;
	if (a->json) {
		cli_json_init(&j, stdout);
		cli_json_object(&j, NULL);
		cli_json_str(&j, "serial", a->args[0]);
		cli_json_str(&j, "reissue-of", opt(of));
		cli_json_array(&j, "bundles");
		c.j = &j;
	} else if (of[0] != '\0') {
		printf("card %s (re-issue of card %s)\n", a->args[0], of);
	} else {
		printf("card %s\n", a->args[0]);
	}
	if ((st = registry_list(r, &f, show_row, &c, err)) != CPK_OK)
		goto out;
	if (c.n == 0) {
		st = cpk_error_set(err, CPK_ERR_NOT_FOUND, "no bundle for card %s in registry '%s'",
		    a->args[0], registry_name(r));
		goto out;
	}
	if (a->json) {
		cli_json_end(&j);
		cli_json_array(&j, "events");
	} else {
		printf("events\n");
	}
	st = registry_events(r, a->args[0], show_event, c.j, err);
out:
	if (a->json) {
		cli_json_end(&j);
		cli_json_end(&j);
		if (st == CPK_OK)
			cli_json_finish(&j);
		else
			fputc('\n', stdout);
	}
	return st;
}

/* export: every bundle (with its sealed data) and every event, one document */

static cpk_status
do_export(struct registry *r, struct cpk_error *err)
{
	struct registry_filter f = { NULL, NULL, NULL, true };
	struct list_ctx c = { NULL, 0 };
	struct cli_json j;
	int version;
	cpk_status st;

	if ((st = registry_version(r, &version, err)) != CPK_OK)
		return st;
	cli_json_init(&j, stdout);
	cli_json_object(&j, NULL);
	cli_json_str(&j, "format", "cpk-registry-export");
	cli_json_uint(&j, "schema-version", (uint64_t)version);
	cli_json_array(&j, "bundles");
	c.j = &j;
	if ((st = registry_list(r, &f, list_row, &c, err)) == CPK_OK) {
		cli_json_end(&j);
		cli_json_array(&j, "events");
		st = registry_events(r, NULL, show_event, &j, err);
	}
	cli_json_end(&j);
	cli_json_end(&j);
	if (st == CPK_OK)
		cli_json_finish(&j);
	else
		fputc('\n', stdout);
	return st;
}

/* summary */

struct summary_ctx {
	struct cli_json *j;
	uint64_t total[REGISTRY_NSTATES];
	size_t n;
};

static cpk_status
summary_row(void *arg, const struct registry_summary_row *row)
{
	struct summary_ctx *c = arg;
	uint64_t all = 0;
	size_t i;

	for (i = 0; i < REGISTRY_NSTATES; i++) {
		all += row->count[i];
		c->total[i] += row->count[i];
	}
	c->n++;
	if (c->j != NULL) {
		cli_json_object(c->j, NULL);
		cli_json_str(c->j, "profile", row->profile);
		for (i = 0; i < REGISTRY_NSTATES; i++)
			cli_json_uint(c->j, registry_state_name((enum registry_state)i), row->count[i]);
		cli_json_uint(c->j, "total", all);
		cli_json_end(c->j);
		return CPK_OK;
	}
	printf("%-24s", row->profile);
	for (i = 0; i < REGISTRY_NSTATES; i++)
		printf(" %10llu", (unsigned long long)row->count[i]);
	printf(" %10llu\n", (unsigned long long)all);
	return CPK_OK;
}

static cpk_status
do_summary(struct registry *r, const struct reg_args *a, struct cpk_error *err)
{
	struct summary_ctx c;
	struct cli_json j;
	uint64_t all = 0;
	size_t i;
	cpk_status st;

	memset(&c, 0, sizeof(c));
	if (a->json) {
		cli_json_init(&j, stdout);
		cli_json_object(&j, NULL);
		cli_json_str(&j, "registry", registry_name(r));
		cli_json_array(&j, "profiles");
		c.j = &j;
	} else {
		printf("%-24s %10s %10s %10s %10s %10s %10s\n", "PROFILE", "ISSUED", "LOADED",
		    "FAILED", "SUPERSEDED", "REVOKED", "TOTAL");
	}
	st = registry_summary(r, summary_row, &c, err);
	for (i = 0; i < REGISTRY_NSTATES; i++)
		all += c.total[i];
	if (a->json) {
		cli_json_end(&j);
		cli_json_uint(&j, "total", all);
		cli_json_end(&j);
		cli_json_finish(&j);
	} else if (st == CPK_OK) {
		printf("%-24s", "(all profiles)");
		for (i = 0; i < REGISTRY_NSTATES; i++)
			printf(" %10llu", (unsigned long long)c.total[i]);
		printf(" %10llu\n", (unsigned long long)all);
	}
	return st;
}

/* init, migrate, mark, keygen */

static cpk_status
do_init(struct registry *r, struct cpk_error *err)
{
	cpk_status st;

	if ((st = registry_init(r, err)) == CPK_OK)
		printf("registry '%s': schema version %d created\n", registry_name(r),
		    REGISTRY_SCHEMA_VERSION);
	return st;
}

static cpk_status
do_migrate(struct registry *r, struct cpk_error *err)
{
	int from = 0;
	cpk_status st;

	if ((st = registry_migrate(r, &from, err)) != CPK_OK)
		return st;
	if (from == REGISTRY_SCHEMA_VERSION)
		printf("registry '%s': schema version %d, up to date\n", registry_name(r), from);
	else
		printf("registry '%s': schema version %d -> %d\n", registry_name(r), from,
		    REGISTRY_SCHEMA_VERSION);
	return CPK_OK;
}

static cpk_status
do_mark(struct registry *r, const struct reg_args *a, struct cpk_error *err)
{
	enum registry_state to;
	cpk_status st;

	if (!registry_state_parse(a->args[1], &to) || to == REGISTRY_ISSUED)
		return cpk_error_set(err, CPK_ERR_ARG, "state '%s': give loaded, failed, superseded "
		    "or revoked", a->args[1]);
	if ((st = registry_check(r, err)) != CPK_OK ||
	    (st = registry_set_state(r, a->args[0], to, a->reason, NULL, err)) != CPK_OK)
		return st;
	printf("bundle %s: %s\n", a->args[0], registry_state_name(to));
	return CPK_OK;
}

/* --- dispatch --- */

struct action {
	const char *name;
	int nargs;
	bool needs_schema;	/* a schema this build reads */
};

static const struct action actions[] = {
	{ "init", 0, false },
	{ "migrate", 0, false },
	{ "list", 0, true },
	{ "show", 1, true },
	{ "export", 0, true },
	{ "summary", 0, true },
	{ "mark", 2, false },
	{ "keygen", 0, false },
};

static int
run(const struct reg_args *a, const struct action *act)
{
	struct registry *r = NULL;
	struct cpk_error err;
	cpk_status st;

	cpk_error_clear(&err);
	if (strcmp(act->name, "keygen") == 0) {
		if ((st = datakey_generate(a->keys, &err)) == CPK_OK)
			printf("%s/%s\n", a->keys, DATAKEY_FILE);
		goto out;
	}
	if ((st = cardc_registry_connect(a->registry, strcmp(act->name, "init") == 0, &r, &err)) != CPK_OK)
		goto out;
	if (act->needs_schema && (st = registry_check(r, &err)) != CPK_OK)
		goto out;
	if (strcmp(act->name, "init") == 0)
		st = do_init(r, &err);
	else if (strcmp(act->name, "migrate") == 0)
		st = do_migrate(r, &err);
	else if (strcmp(act->name, "list") == 0)
		st = do_list(r, a, &err);
	else if (strcmp(act->name, "show") == 0)
		st = do_show(r, a, &err);
	else if (strcmp(act->name, "export") == 0)
		st = do_export(r, &err);
	else if (strcmp(act->name, "summary") == 0)
		st = do_summary(r, a, &err);
	else
		st = do_mark(r, a, &err);
out:
	if (st != CPK_OK)
		cli_error(&err);
	registry_close(&r);
	return cli_exit_status(st);
}

static const struct action *
find_action(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (strcmp(actions[i].name, name) == 0)
			return &actions[i];
	return NULL;
}

static int
check_options(const struct reg_args *a, const struct action *act)
{
	const char *n = act->name;

	if (a->json && strcmp(n, "list") != 0 && strcmp(n, "show") != 0 &&
	    strcmp(n, "summary") != 0 && strcmp(n, "export") != 0)
		return cli_usage("registry", SYNOPSIS, "--json is for list, show, summary and "
		    "export, not %s", n);
	if (a->reason != NULL && strcmp(n, "mark") != 0)
		return cli_usage("registry", SYNOPSIS, "--reason is for mark, not %s", n);
	if ((a->serial != NULL || a->profile != NULL) && strcmp(n, "list") != 0)
		return cli_usage("registry", SYNOPSIS, "--serial and --profile are for list, not %s",
		    n);
	if ((a->keys != NULL) != (strcmp(n, "keygen") == 0))
		return cli_usage("registry", SYNOPSIS, a->keys != NULL ? "-k is for keygen" :
		    "keygen needs -k KEYDIR (the key folder)");
	if (a->registry != NULL && strcmp(n, "keygen") == 0)
		return cli_usage("registry", SYNOPSIS, "keygen writes a key file, it needs no "
		    "--registry");
	if (a->nargs != act->nargs)
		return cli_usage("registry", SYNOPSIS, "%s takes %d argument%s, not %d", n,
		    act->nargs, act->nargs == 1 ? "" : "s", a->nargs);
	return -1;
}

static int
registry_main(int argc, char *argv[])
{
	struct reg_args a;
	const struct action *act;
	int c, rc;

	memset(&a, 0, sizeof(a));
	if (argc < 2)
		return cli_usage("registry", SYNOPSIS, "missing the action (init, migrate, list, "
		    "show, export, summary, mark, keygen)");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		cli_command_help(&cardc_registry_command, stdout);
		return CLI_EXIT_OK;
	}
	if ((act = find_action(argv[1])) == NULL)
		return cli_usage("registry", SYNOPSIS, "unknown action '%s'", argv[1]);
	a.action = argv[1];
	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, CARDC_GETOPT_PREFIX "k:h", long_options,
	    NULL)) != -1) {
		switch (c) {
		case OPT_REGISTRY:
			a.registry = optarg;
			break;
		case OPT_JSON:
			a.json = true;
			break;
		case OPT_REASON:
			a.reason = optarg;
			break;
		case OPT_SERIAL:
			a.serial = optarg;
			break;
		case OPT_PROFILE:
			a.profile = optarg;
			break;
		case 'k':
			a.keys = optarg;
			break;
		case 'h':
			cli_command_help(&cardc_registry_command, stdout);
			return CLI_EXIT_OK;
		default:
			return cli_bad_option("registry", SYNOPSIS, c, argv, long_options);
		}
	}
	a.args = argv + optind;
	a.nargs = argc - optind;
	if ((rc = check_options(&a, act)) >= 0)
		return rc;
	return run(&a, act);
}

const struct cli_command cardc_registry_command = {
	.name = "registry",
	.run = registry_main,
	.summary = "the issuance registry: init, migrate, list, show, export, summary",
	.synopsis = SYNOPSIS,
	.help =
	    "The issuance registry: every bundle compile and batch recorded, the\n"
	    "card it is for, its state and the card's history.\n"
	    "\n"
	    "  init                      create the schema (a sqlite: file is made,\n"
	    "                            mode 0600)\n"
	    "  migrate                   bring an older schema up to this cardc's\n"
	    "  list [--serial S] [--profile P]\n"
	    "                            one line per bundle, oldest first\n"
	    "  show SERIAL               a card's bundles, captured data and events\n"
	    "  export                    every bundle (personal data still sealed)\n"
	    "                            and every event, as one JSON document\n"
	    "  summary                   per profile: issued, loaded, failed,\n"
	    "                            superseded, revoked\n"
	    "  mark BUNDLE-SHA256 STATE [--reason TEXT]\n"
	    "                            set a bundle's state (loaded, failed,\n"
	    "                            superseded, revoked), logged\n"
	    "  keygen -k KEYDIR          make the registry data key,\n"
	    "                            KEYDIR/registry-data.key (mode 0600)\n"
	    "\n"
	    "      --registry URI        sqlite:PATH, postgresql://... or\n"
	    "                            postgres://...; default: CPK_REGISTRY,\n"
	    "                            then the config files (cardc(1), FILES)\n"
	    "      --json                one JSON document on stdout (list, show,\n"
	    "                            summary; export always)\n"
	    "  -h, --help                show this help\n"
	    "\n"
	    "A password in a URI is never printed: messages show it as ***.\n",
};
