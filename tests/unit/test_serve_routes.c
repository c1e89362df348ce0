/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cardc serve's routes (server/serve_routes.c): which profile a card gets,
 * first match wins; each kind of condition; every error names the file
 * and line; a profile that makes offline bundles is refused.
 *
 *   test_serve_routes SOURCE_ROOT
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capgen.h"
#include "serve_routes.h"
#include "testlib.h"

static char dir[64] = "/tmp/cpk-routes-XXXXXX";
static char keys[128];

static const char *
tpath(const char *name)
{
	static char p[4][256];
	static int k;

	k = (k + 1) % 4;
	snprintf(p[k], sizeof(p[k]), "%s/%s", dir, name);
	return p[k];
}

static void
put(const char *name, const char *text)
{
	FILE *f = fopen(tpath(name), "w");

	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
		fprintf(stderr, "cannot write %s: %s\n", name, strerror(errno));
		exit(1);
	}
}

/* A copy of src (the profile or key set) into the test folder, edited by sed-like swaps. */
static void
copy(const char *src, const char *name, const char *from, const char *to, mode_t mode)
{
	char *text = NULL, *at, *out;
	size_t n = 0, len;
	FILE *f = fopen(src, "r");

	if (f == NULL || getdelim(&text, &n, '\0', f) < 0) {
		fprintf(stderr, "cannot read %s\n", src);
		exit(1);
	}
	fclose(f);
	len = strlen(text) + (to != NULL ? strlen(to) : 0) + 1;
	if ((out = calloc(1, len)) == NULL)
		exit(1);
	if (from != NULL && (at = strstr(text, from)) != NULL) {
		memcpy(out, text, (size_t)(at - text));
		strcat(out, to);
		strcat(out, at + strlen(from));
	} else {
		strcpy(out, text);
	}
	put(name, out);
	chmod(tpath(name), mode);
	free(text);
	free(out);
}

static void
card(struct cpk_card_info *ci, const char *serial, const uint8_t iin0)
{
	cpk_card_info_init(ci);
	snprintf(ci->serial, sizeof(ci->serial), "%s", serial);
	ci->iin[0] = 0x00;
	ci->iin[1] = iin0;
	ci->iin_len = 2;
	ci->has_cplc = true;
	ci->cplc[0] = 0x47;
	ci->cplc[1] = 0x90;
}

static void
expect_error(const char *routes, cpk_status want, const char *needle)
{
	struct serve_routes *r = NULL;
	struct cpk_error err;

	put("routes", routes);
	cpk_error_clear(&err);
	CHECK_STATUS(serve_routes_load(tpath("routes"), keys, &r, &err), want);
	CHECK(r == NULL);
	CHECK_MSG(&err, needle);
}

int
main(int argc, char *argv[])
{
	struct capgen_spec spec;
	struct serve_routes *r = NULL;
	struct cpk_card_info ci;
	struct cpk_error err;
	char src[512];
	unsigned line = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: test_serve_routes SOURCE_ROOT\n");
		return 2;
	}
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(keys, sizeof(keys), "%s/keys", dir);
	mkdir(keys, 0700);
	snprintf(src, sizeof(src), "%s/keys/gp-test-keys-aes.yaml", argv[1]);
	copy(src, "keys/gp-test-keys-aes.yaml", NULL, NULL, 0600);
	snprintf(src, sizeof(src), "%s/profiles/install-applet.yaml", argv[1]);
	copy(src, "session.yaml", "  i: 70 ", "  mode: session\n  i: 70 ", 0644);
	copy(src, "offline.yaml", NULL, NULL, 0644);
	copy(src, "pin81.yaml", "  i: 70 ", "  mode: session\n  i: 70 ", 0644);
	copy(tpath("pin81.yaml"), "pin81.yaml", "steps:", "holder-pin:\n  aid: A000000151000000\n"
	    "  reference: 81\nsteps:", 0644);
	copy(tpath("pin81.yaml"), "pin82.yaml", "reference: 81", "reference: 82", 0644);
	capgen_spec_init(&spec);
	CHECK_OK(capgen_aid_parse("F043504B48454C4C4F", &spec.package, &err));
	spec.applet_count = 1;
	CHECK_OK(capgen_aid_parse("F043504B48454C4C4F01", &spec.applets[0], &err));
	CHECK_OK(capgen_write(&spec, tpath("hello.cap"), &err));
	put("serials", "# cards of batch 7\nCARD-7 \nCARD-8\n");

	put("routes", "# first match wins\n"
	    "iin=0042 cplc.ic-fabricator=4790  session.yaml\n"
	    "\n"
	    "serials=serials session.yaml   # a list\n"
	    "serial=CARD-9 cplc.ic-type=0000 session.yaml\n"
	    "* session.yaml\n");
	cpk_error_clear(&err);
	CHECK_OK(serve_routes_load(tpath("routes"), keys, &r, &err));
	if (r == NULL) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	CHECK(serve_routes_count(r) == 4);
	card(&ci, "CARD-1", 0x42);
	CHECK(serve_routes_match(r, &ci, &line) != NULL && line == 2);
	card(&ci, "CARD-8", 0x41);
	CHECK(serve_routes_match(r, &ci, &line) != NULL && line == 4);
	card(&ci, "CARD-9", 0x41);
	CHECK(serve_routes_match(r, &ci, &line) != NULL && line == 5);
	ci.cplc[2] = 0x01;		/* another IC type: only '*' is left */
	CHECK(serve_routes_match(r, &ci, &line) != NULL && line == 6);
	card(&ci, "CARD-1", 0x43);
	CHECK(serve_routes_match(r, &ci, &line) != NULL && line == 6);
	CHECK_STR(serve_routes_match(r, &ci, &line)->name, "install-applet");
	serve_routes_free(&r);
	CHECK(r == NULL);

	/* No '*': a card no route names gets no profile. */
	put("routes", "cin=0102 session.yaml\n");
	CHECK_OK(serve_routes_load(tpath("routes"), keys, &r, &err));
	card(&ci, "CARD-1", 0x42);
	CHECK(serve_routes_match(r, &ci, &line) == NULL);
	ci.cin[0] = 0x01;
	ci.cin[1] = 0x02;
	ci.cin_len = 2;
	CHECK(serve_routes_match(r, &ci, &line) != NULL && line == 1);
	CHECK(serve_routes_holder_pin(r) == NULL);
	serve_routes_free(&r);

	/* The holder's PIN: the profiles that ask agree, or the routes are refused. */
	put("routes", "iin=0042 pin81.yaml\n* session.yaml\nserial=X pin81.yaml\n");
	CHECK_OK(serve_routes_load(tpath("routes"), keys, &r, &err));
	CHECK(r != NULL && serve_routes_holder_pin(r) != NULL &&
	    serve_routes_holder_pin(r)->reference == 0x81 &&
	    serve_routes_holder_pin(r)->aid.len == 8);
	serve_routes_free(&r);
	expect_error("iin=0042 pin81.yaml\n* session.yaml\nserial=X pin82.yaml\n", CPK_ERR_ARG,
	    "routes: the profiles of lines 1 and 3 ask for different holder PINs");

	expect_error("iin=0042 foo=1 session.yaml\n", CPK_ERR_PARSE,
	    "routes:1: unknown condition 'foo'");
	expect_error("\ncplc.colour=47 session.yaml\n", CPK_ERR_PARSE,
	    "routes:2: 'cplc.colour': no such CPLC field");
	expect_error("cplc.ic-type=47 session.yaml\n", CPK_ERR_PARSE, "wants 2 bytes of hex");
	expect_error("iin=XYZ session.yaml\n", CPK_ERR_PARSE, "iin wants 1 to 16 bytes of hex");
	expect_error("iin0042 session.yaml\n", CPK_ERR_PARSE, "no condition (KEY=VALUE)");
	expect_error("# nothing\n\n", CPK_ERR_PARSE, "no route");
	expect_error("* offline.yaml\n", CPK_ERR_ARG, "makes offline bundles");
	expect_error("* nosuch.yaml\n", CPK_ERR_NOT_FOUND, "nosuch.yaml");
	expect_error("serials=nosuch session.yaml\n", CPK_ERR_NOT_FOUND, "nosuch");
	unlink(tpath("keys/gp-test-keys-aes.yaml"));
	rmdir(keys);
	unlink(tpath("session.yaml"));
	unlink(tpath("offline.yaml"));
	unlink(tpath("pin81.yaml"));
	unlink(tpath("pin82.yaml"));
	unlink(tpath("hello.cap"));
	unlink(tpath("serials"));
	unlink(tpath("routes"));
	rmdir(dir);
	return test_summary("serve-routes");
}
