/* SPDX-License-Identifier: BSD-2-Clause */
/* cpk command-line programs: shared helpers (see cli_util.h). */
#include "cli_util.h"
#include "cpk_config.h"
#include "cpk_file.h"
#include "cpk_text.h"
#include "scp_iu.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

static const char *progname = "cpk";

void
cli_set_progname(const char *name)
{
	progname = name;
}

const char *
cli_progname(void)
{
	return progname;
}

void
cli_error_text(const struct cpk_error *err, char *buf, size_t n)
{
	const char *msg = err->msg[0] != '\0' ? err->msg : cpk_status_str(err->status);

	if (err->file[0] != '\0' && err->line > 0 && err->col > 0)
		snprintf(buf, n, "%s:%u:%u: %s", err->file, err->line, err->col, msg);
	else if (err->file[0] != '\0' && err->line > 0)
		snprintf(buf, n, "%s:%u: %s", err->file, err->line, msg);
	else
		snprintf(buf, n, "%s", msg);
}

void
cli_error(const struct cpk_error *err)
{
	char text[1024];

	cli_error_text(err, text, sizeof(text));
	fprintf(stderr, "%s: %s\n", progname, text);
}

void
cli_error_in(const char *where, const struct cpk_error *err)
{
	char text[1024];

	cli_error_text(err, text, sizeof(text));
	fprintf(stderr, "%s: %s: %s\n", progname, where, text);
}

void
cli_errorf(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
cli_usage(const char *cmd, const char *synopsis, const char *fmt, ...)
{
	va_list ap;

	if (cmd != NULL)
		fprintf(stderr, "%s %s: ", progname, cmd);
	else
		fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (synopsis != NULL)
		fprintf(stderr, "usage: %s\n", synopsis);
	if (cmd != NULL)
		fprintf(stderr, "Try '%s help %s' for more.\n", progname, cmd);
	else
		fprintf(stderr, "Try '%s --help' for more.\n", progname);
	return CLI_EXIT_USAGE;
}

int
cli_bad_option(const char *cmd, const char *synopsis, int c, char *const argv[],
    const struct option *longopts)
{
	const char *arg = optind > 0 ? argv[optind - 1] : NULL;
	const struct option *o, *match = NULL;
	char name[64];
	size_t len, nmatch = 0;

	if (arg == NULL || strncmp(arg, "--", 2) != 0) {
		/* A short option: getopt names it in optopt. */
		if (optopt > 0 && optopt < 128)
			snprintf(name, sizeof(name), "-%c", optopt);
		else
			snprintf(name, sizeof(name), "%s", arg != NULL ? arg : "?");
		if (c == ':')
			return cli_usage(cmd, synopsis, "option '%s' needs a value", name);
		return cli_usage(cmd, synopsis, "unknown option '%s'", name);
	}
	/* A long option, as typed up to '=' (getopt accepts unique abbreviations). */
	len = strcspn(arg + 2, "=");
	snprintf(name, sizeof(name), "--%.*s", (int)len, arg + 2);
	for (o = longopts; o != NULL && o->name != NULL; o++) {
		if (strncmp(o->name, arg + 2, len) != 0)
			continue;
		if (strlen(o->name) == len) {
			match = o;
			nmatch = 1;
			break;
		}
		match = o;
		nmatch++;
	}
	if (c == ':')
		return cli_usage(cmd, synopsis, "option '%s' needs a value", name);
	if (nmatch > 1)
		return cli_usage(cmd, synopsis, "ambiguous option '%s'", name);
	if (nmatch == 1 && match->has_arg == no_argument && arg[2 + len] == '=')
		return cli_usage(cmd, synopsis, "option '--%s' takes no value", match->name);
	return cli_usage(cmd, synopsis, "unknown option '%s'", name);
}

int
cli_exit_status(cpk_status st)
{
	return st == CPK_OK ? CLI_EXIT_OK : CLI_EXIT_ERROR;
}

bool
cli_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;
	const char *p;

	if (s == NULL || *s == '\0' || strlen(s) > 19)
		return false;
	for (p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return false;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v < min || v > max)
		return false;
	*out = v;
	return true;
}

cpk_status
cli_read_input(const char *path, size_t max, struct cpk_buf *out, struct cpk_error *err)
{
	char name[300];
	cpk_status ret;
	int fd;

	cpk_buf_reset(out);
	if (strcmp(path, "-") == 0)
		return cpk_read_fd_all(STDIN_FILENO, "stdin", max, out, err);
	if ((ret = cpk_stream_open(path, NULL, &fd, err)) != CPK_OK)
		return ret;
	snprintf(name, sizeof(name), "'%s'", path);
	ret = cpk_read_fd_all(fd, name, max, out, err);
	close(fd);
	return ret;
}

cpk_status
cli_write_stdout(const uint8_t *p, size_t n, struct cpk_error *err)
{
	if (fwrite(p, 1, n, stdout) != n || fflush(stdout) != 0)
		return cpk_error_set(err, CPK_ERR_IO, "cannot write to stdout: %s", strerror(errno));
	return CPK_OK;
}

void
cli_print_hex(FILE *f, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		fprintf(f, "%02X", p[i]);
}

void
cli_json_string(FILE *f, const char *str)
{
	char text[1024];
	size_t n = strlen(str), k, used;

	/* Piecewise through a buffer: each piece ends between characters. */
	fputc('"', f);
	while (n > 0) {
		used = cpk_utf8_cut(str, n < 170 ? n : 170);
		if (used == 0)
			used = 1;	/* a lone continuation byte: escaped as \ufffd */
		k = cpk_json_escape(str, used, text, sizeof(text));
		fwrite(text, 1, k, f);
		str += used;
		n -= used;
	}
	fputc('"', f);
}

void
cli_json_init(struct cli_json *j, FILE *f)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
}

/* Comma, newline, indentation and "key": before a value. */
static void
json_member(struct cli_json *j, const char *key)
{
	unsigned i;

	if (j->depth > 0) {
		if (j->need_comma[j->depth - 1])
			fputc(',', j->f);
		fputc('\n', j->f);
		j->need_comma[j->depth - 1] = true;
	}
	for (i = 0; i < j->depth; i++)
		fputs("  ", j->f);
	if (key != NULL) {
		cli_json_string(j->f, key);
		fputs(": ", j->f);
	}
}

static void
json_open(struct cli_json *j, const char *key, char c)
{
	json_member(j, key);
	fputc(c, j->f);
	if (j->depth >= CLI_JSON_MAX_DEPTH)
		return;		/* deeper than any cpk document: ignored */
	j->need_comma[j->depth] = false;
	j->closer[j->depth] = c == '{' ? '}' : ']';
	j->depth++;
}

void
cli_json_object(struct cli_json *j, const char *key)
{
	json_open(j, key, '{');
}

void
cli_json_array(struct cli_json *j, const char *key)
{
	json_open(j, key, '[');
}

void
cli_json_end(struct cli_json *j)
{
	unsigned i;

	if (j->depth == 0)
		return;
	j->depth--;
	if (j->need_comma[j->depth]) {
		fputc('\n', j->f);
		for (i = 0; i < j->depth; i++)
			fputs("  ", j->f);
	}
	fputc(j->closer[j->depth], j->f);
}

void
cli_json_str(struct cli_json *j, const char *key, const char *v)
{
	json_member(j, key);
	if (v == NULL)
		fputs("null", j->f);
	else
		cli_json_string(j->f, v);
}

void
cli_json_hex(struct cli_json *j, const char *key, const uint8_t *p, size_t n)
{
	json_member(j, key);
	fputc('"', j->f);
	cli_print_hex(j->f, p, n);
	fputc('"', j->f);
}

void
cli_json_uint(struct cli_json *j, const char *key, uint64_t v)
{
	json_member(j, key);
	fprintf(j->f, "%llu", (unsigned long long)v);
}

void
cli_json_bool(struct cli_json *j, const char *key, bool v)
{
	json_member(j, key);
	fputs(v ? "true" : "false", j->f);
}

void
cli_json_null(struct cli_json *j, const char *key)
{
	json_member(j, key);
	fputs("null", j->f);
}

void
cli_json_finish(struct cli_json *j)
{
	while (j->depth > 0)
		cli_json_end(j);
	fputc('\n', j->f);
	fflush(j->f);
}

const char *
cli_level_name(uint8_t level)
{
	const char *n = scp_level_name(level);

	return n != NULL ? n : "unknown";
}

void
cli_command_help(const struct cli_command *c, FILE *f)
{
	fprintf(f, "usage: %s\n\n%s", c->synopsis, c->help);
}

static void
program_usage(const struct cli_program *p, FILE *f)
{
	size_t i;

	fprintf(f, "%sCommands:\n", p->intro);
	for (i = 0; i < p->ncommands; i++)
		fprintf(f, "  %-9s %s\n", p->commands[i]->name, p->commands[i]->summary);
	fprintf(f, "  %-9s %s\n", "help", "show the options of a command");
	fprintf(f, "\nUsage:\n");
	for (i = 0; i < p->ncommands; i++)
		fprintf(f, "  %s\n", p->commands[i]->synopsis);
	fprintf(f, "\n%s", p->exit_status);
}

static const struct cli_command *
find_command(const struct cli_program *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->ncommands; i++)
		if (strcmp(p->commands[i]->name, name) == 0)
			return p->commands[i];
	return NULL;
}

static int
help_command(const struct cli_program *p, int argc, char *argv[])
{
	const struct cli_command *c;
	char synopsis[64];

	if (argc == 1) {
		program_usage(p, stdout);
		return CLI_EXIT_OK;
	}
	snprintf(synopsis, sizeof(synopsis), "%s help [COMMAND]", p->name);
	if (argc > 2)
		return cli_usage("help", synopsis, "one command at a time");
	if ((c = find_command(p, argv[1])) == NULL)
		return cli_usage("help", synopsis, "unknown command '%s'", argv[1]);
	cli_command_help(c, stdout);
	return CLI_EXIT_OK;
}

int
cli_main(const struct cli_program *p, int argc, char *argv[])
{
	const struct cli_command *c;
	char synopsis[64];

	cli_set_progname(p->name);
	if (argc < 2) {
		program_usage(p, stderr);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		program_usage(p, stdout);
		return CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("%s (cpk) %s\n", p->name, CPK_VERSION);
		return CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "help") == 0)
		return help_command(p, argc - 1, argv + 1);
	if ((c = find_command(p, argv[1])) != NULL)
		return c->run(argc - 1, argv + 1);
	if (p->fallback != NULL)
		return p->fallback->run(argc, argv);
	snprintf(synopsis, sizeof(synopsis), "%s COMMAND [ARGUMENTS]", p->name);
	return cli_usage(NULL, synopsis, argv[1][0] == '-' ? "unknown option '%s'" :
	    "unknown command '%s'", argv[1]);
}

void
cli_stop_signals(sigset_t *take, sigset_t *ignored)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction old;
	size_t i;

	sigemptyset(take);
	sigemptyset(ignored);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		sigaddset(take, sigs[i]);
		if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
			sigaddset(ignored, sigs[i]);
	}
}

const char *
cli_signal_name(int sig)
{
	switch (sig) {
	case SIGINT:
		return "SIGINT";
	case SIGTERM:
		return "SIGTERM";
	case SIGHUP:
		return "SIGHUP";
	}
	return "a signal";
}
