/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * capgen: make a CAP file fixture from the command line.
 * Exit codes: 0 ok, 1 error, 2 usage (bad option or an impossible spec).
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "capgen.h"
#include "cpk_bytes.h"
#include "cpk_error.h"

#define EXIT_USAGE 2

static const char usage_text[] =
    "usage: capgen -o OUT.cap --package AID [options]\n"
    "\n"
    "Write a structurally valid Java Card CAP file (a zip) for tests.\n"
    "The bytecode it holds is plausible but is not meant to run.\n"
    "\n"
    "  -o, --output FILE          the CAP file to write ('-' for stdout)\n"
    "  -p, --package AID          package AID, 5 to 16 bytes of hex\n"
    "  -a, --applet AID           an applet AID (repeat, at most 16); its first\n"
    "                             5 bytes must be the package's RID\n"
    "  -n, --name PATH            package path, com/example/app or com.example.app\n"
    "                             (default com/example/capgen)\n"
    "  -s, --size N               exact Load File Data Block size in bytes (with the\n"
    "                             Descriptor when it is included); 0 = smallest\n"
    "      --package-version M.m  package version (default 1.0)\n"
    "      --cap-version 2.1|2.2  CAP file format (default 2.1)\n"
    "      --descriptor           include Descriptor.cap (default)\n"
    "      --no-descriptor        leave Descriptor.cap out\n"
    "      --debug                include Debug.cap (CAP 2.2 only)\n"
    "      --export               include Export.cap (packages without applets)\n"
    "      --extended             the extended CAP format (Java Card 3.1, CAP 2.3):\n"
    "                             u4-sized Method blocks, for load files over 64 KB\n"
    "      --shuffle              store the zip entries in a non-canonical order\n"
    "      --malform KIND[,KIND]  no-header, no-applet, bad-size, dir-size,\n"
    "                             truncated, duplicate, outside-dir, foreign-rid\n"
    "      --malform-component C  the component bad-size, dir-size, truncated,\n"
    "                             duplicate and outside-dir hit: a name such as\n"
    "                             Method or Header, or a tag 1-12 (default Method)\n"
    "      --lfdb FILE            also write the expected Load File Data Block\n"
    "      --lfdb-descriptor      ... with the Descriptor component at its end\n"
    "  -h, --help                 this text\n";

enum {
	OPT_PKG_VERSION = 256,
	OPT_CAP_VERSION,
	OPT_DESCRIPTOR,
	OPT_NO_DESCRIPTOR,
	OPT_DEBUG,
	OPT_EXPORT,
	OPT_EXTENDED,
	OPT_SHUFFLE,
	OPT_MALFORM,
	OPT_MALFORM_COMPONENT,
	OPT_LFDB,
	OPT_LFDB_DESCRIPTOR,
};

static const struct option long_options[] = {
	{ "output", required_argument, NULL, 'o' },
	{ "package", required_argument, NULL, 'p' },
	{ "applet", required_argument, NULL, 'a' },
	{ "name", required_argument, NULL, 'n' },
	{ "size", required_argument, NULL, 's' },
	{ "package-version", required_argument, NULL, OPT_PKG_VERSION },
	{ "cap-version", required_argument, NULL, OPT_CAP_VERSION },
	{ "descriptor", no_argument, NULL, OPT_DESCRIPTOR },
	{ "no-descriptor", no_argument, NULL, OPT_NO_DESCRIPTOR },
	{ "debug", no_argument, NULL, OPT_DEBUG },
	{ "export", no_argument, NULL, OPT_EXPORT },
	{ "extended", no_argument, NULL, OPT_EXTENDED },
	{ "shuffle", no_argument, NULL, OPT_SHUFFLE },
	{ "malform", required_argument, NULL, OPT_MALFORM },
	{ "malform-component", required_argument, NULL, OPT_MALFORM_COMPONENT },
	{ "lfdb", required_argument, NULL, OPT_LFDB },
	{ "lfdb-descriptor", no_argument, NULL, OPT_LFDB_DESCRIPTOR },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static const struct {
	const char *name;
	unsigned bit;
} malform_names[] = {
	{ "no-header", CAPGEN_MAL_NO_HEADER },
	{ "no-applet", CAPGEN_MAL_NO_APPLET },
	{ "bad-size", CAPGEN_MAL_BAD_SIZE },
	{ "dir-size", CAPGEN_MAL_DIR_SIZE },
	{ "truncated", CAPGEN_MAL_TRUNCATED },
	{ "duplicate", CAPGEN_MAL_DUPLICATE },
	{ "outside-dir", CAPGEN_MAL_OUTSIDE_DIR },
	{ "foreign-rid", CAPGEN_MAL_FOREIGN_RID },
};

struct opts {
	struct capgen_spec spec;
	const char *out;
	const char *lfdb;
	bool lfdb_descriptor;
	char name[CAPGEN_NAME_MAX + 2];
};

static int usage_error(const char *, ...) __attribute__((format(printf, 1, 2)));

static int
usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "capgen: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'capgen --help'.\n");
	return EXIT_USAGE;
}

/* "M.m" with both parts 0..255. */
static bool
parse_version(const char *s, uint8_t *major, uint8_t *minor)
{
	unsigned long a, b;
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return false;
	errno = 0;
	a = strtoul(s, &end, 10);
	if (errno != 0 || *end != '.' || a > 255 || end[1] < '0' || end[1] > '9')
		return false;
	b = strtoul(end + 1, &end, 10);
	if (errno != 0 || *end != '\0' || b > 255)
		return false;
	*major = (uint8_t)a;
	*minor = (uint8_t)b;
	return true;
}

static bool
parse_size(const char *s, size_t *v)
{
	unsigned long long n;
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return false;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || n > 16u * 1024 * 1024)
		return false;
	*v = (size_t)n;
	return true;
}

static bool
parse_malform(char *list, unsigned *bits)
{
	char *tok, *save = NULL;
	size_t i;
	bool found;

	for (tok = strtok_r(list, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		found = false;
		for (i = 0; i < sizeof(malform_names) / sizeof(malform_names[0]); i++) {
			if (strcmp(tok, malform_names[i].name) == 0) {
				*bits |= malform_names[i].bit;
				found = true;
			}
		}
		if (!found)
			return false;
	}
	return true;
}

/* "Method", "Method.cap", "method" or a tag number. */
static bool
parse_component(const char *s, uint8_t *tag)
{
	const char *file;
	size_t len = strlen(s);
	unsigned t;
	char *end;
	unsigned long n;

	if (s[0] >= '0' && s[0] <= '9') {
		n = strtoul(s, &end, 10);
		if (*end != '\0' || n < 1 || n > CAPGEN_TAG_MAX)
			return false;
		*tag = (uint8_t)n;
		return true;
	}
	if (len > 4 && strcasecmp(s + len - 4, ".cap") == 0)
		len -= 4;
	for (t = 1; t <= CAPGEN_TAG_MAX; t++) {
		file = capgen_component_file(t);
		if (strlen(file) == len + 4 && strncasecmp(file, s, len) == 0) {
			*tag = (uint8_t)t;
			return true;
		}
	}
	return false;
}

static int
parse_args(int argc, char **argv, struct opts *o)
{
	struct cpk_error err;
	int c;
	size_t i;

	while ((c = getopt_long(argc, argv, "o:p:a:n:s:h", long_options, NULL)) != -1) {
		switch (c) {
		case 'o':
			o->out = optarg;
			break;
		case 'p':
			if (capgen_aid_parse(optarg, &o->spec.package, &err) != CPK_OK)
				return usage_error("--package: %s", err.msg);
			break;
		case 'a':
			if (o->spec.applet_count == CAPGEN_MAX_APPLETS)
				return usage_error("at most %d applets", CAPGEN_MAX_APPLETS);
			if (capgen_aid_parse(optarg, &o->spec.applets[o->spec.applet_count],
			    &err) != CPK_OK)
				return usage_error("--applet: %s", err.msg);
			o->spec.applet_count++;
			break;
		case 'n':
			if (strlen(optarg) > CAPGEN_NAME_MAX)
				return usage_error("--name '%s' is too long", optarg);
			snprintf(o->name, sizeof(o->name), "%s", optarg);
			for (i = 0; o->name[i] != '\0'; i++)
				if (o->name[i] == '.')
					o->name[i] = '/';
			o->spec.name = o->name;
			break;
		case 's':
			if (!parse_size(optarg, &o->spec.lfdb_size))
				return usage_error("--size '%s' is not a byte count", optarg);
			break;
		case OPT_PKG_VERSION:
			if (!parse_version(optarg, &o->spec.pkg_major, &o->spec.pkg_minor))
				return usage_error("--package-version '%s' is not M.m", optarg);
			break;
		case OPT_CAP_VERSION:
			if (!parse_version(optarg, &o->spec.cap_major, &o->spec.cap_minor))
				return usage_error("--cap-version '%s' is not 2.1 or 2.2", optarg);
			break;
		case OPT_DESCRIPTOR:
			o->spec.descriptor = true;
			break;
		case OPT_NO_DESCRIPTOR:
			o->spec.descriptor = false;
			break;
		case OPT_DEBUG:
			o->spec.debug = true;
			break;
		case OPT_EXPORT:
			o->spec.export_ = true;
			break;
		case OPT_EXTENDED:
			o->spec.extended = true;
			break;
		case OPT_SHUFFLE:
			o->spec.shuffle = true;
			break;
		case OPT_MALFORM:
			if (!parse_malform(optarg, &o->spec.malform))
				return usage_error("--malform: unknown kind in '%s'", optarg);
			break;
		case OPT_MALFORM_COMPONENT:
			if (!parse_component(optarg, &o->spec.malform_tag))
				return usage_error("--malform-component '%s' is not a component",
				    optarg);
			break;
		case OPT_LFDB:
			o->lfdb = optarg;
			break;
		case OPT_LFDB_DESCRIPTOR:
			o->lfdb_descriptor = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return -1;
		default:
			fprintf(stderr, "Try 'capgen --help'.\n");
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (o->out == NULL)
		return usage_error("%s", "missing -o OUT.cap");
	if (o->spec.package.len == 0)
		return usage_error("%s", "missing --package AID");
	if (o->lfdb_descriptor && o->lfdb == NULL)
		return usage_error("%s", "--lfdb-descriptor needs --lfdb FILE");
	return 0;
}

static int
write_all(FILE *f, const struct cpk_buf *b)
{
	if (b->len > 0 && fwrite(b->data, 1, b->len, f) != b->len)
		return -1;
	return fflush(f);
}

/* Write a buffer to a file, or to stdout for "-". */
static int
write_file(const char *path, const struct cpk_buf *b)
{
	FILE *f;
	int rc;

	if (strcmp(path, "-") == 0)
		f = stdout;
	else if ((f = fopen(path, "wb")) == NULL)
		goto fail;
	rc = write_all(f, b);
	if (f != stdout && fclose(f) != 0)
		rc = -1;
	if (rc == 0)
		return 0;
fail:
	fprintf(stderr, "capgen: %s: %s\n", path, strerror(errno));
	return -1;
}

/* Errors in the spec are usage errors; anything else is a plain failure. */
static int
fail(const struct cpk_error *err)
{
	fprintf(stderr, "capgen: %s\n", err->msg);
	switch (err->status) {
	case CPK_ERR_ARG:
	case CPK_ERR_RANGE:
	case CPK_ERR_UNSUPPORTED:
		return EXIT_USAGE;
	default:
		return EXIT_FAILURE;
	}
}

static int
run(const struct opts *o)
{
	struct cpk_buf buf = CPK_BUF_INIT;
	struct cpk_error err;
	int rc = EXIT_FAILURE;

	cpk_error_clear(&err);
	if (capgen_build(&o->spec, &buf, &err) != CPK_OK) {
		rc = fail(&err);
		goto out;
	}
	if (write_file(o->out, &buf) != 0)
		goto out;
	if (o->lfdb != NULL) {
		if (capgen_lfdb(&o->spec, o->lfdb_descriptor, &buf, &err) != CPK_OK) {
			rc = fail(&err);
			goto out;
		}
		if (write_file(o->lfdb, &buf) != 0)
			goto out;
	}
	rc = EXIT_SUCCESS;
out:
	cpk_buf_free(&buf);
	return rc;
}

int
main(int argc, char **argv)
{
	struct opts o;
	int rc;

	memset(&o, 0, sizeof(o));
	capgen_spec_init(&o.spec);
	o.spec.package.len = 0;		/* --package is required */
	rc = parse_args(argc, argv, &o);
	if (rc != 0)
		return rc < 0 ? EXIT_SUCCESS : rc;
	return run(&o);
}
