/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cardc: opening a bundle, wording its signature status and its captures,
 * and keeping its plain commands, for inspect, verify and diff.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle_read.h"
#include "cardc.h"
#include "cli_util.h"
#include "verify.h"

cpk_status
cardc_open_bundle(const char *path, const char *trust, bool inspect, struct cpk_bundle **out,
    struct cpk_error *err)
{
	struct cpk_buf data = CPK_BUF_INIT;
	struct cpk_trust *t = NULL;
	struct cpk_bundle_diag diag;
	unsigned flags = inspect || trust == NULL ? CPK_BUNDLE_OPEN_INSPECT : 0;
	cpk_status ret;

	*out = NULL;
	if (trust != NULL &&
	    ((ret = cpk_trust_new(&t, err)) != CPK_OK ||
	    (ret = cpk_trust_add_path(t, trust, err)) != CPK_OK))
		goto out;
	if (strcmp(path, "-") == 0)
		ret = cpk_bundle_read_fd(STDIN_FILENO, "stdin", &data, err);
	else
		ret = cpk_bundle_read_path(path, &data, err);
	if (ret != CPK_OK)
		goto out;
	if ((ret = cpk_bundle_open(data.data, data.len, t, flags, out, &diag, err)) != CPK_OK)
		cpk_error_prefix(err, "%s: bundle refused (%s)", strcmp(path, "-") == 0 ? "stdin" :
		    path, cpk_bundle_fault_name(diag.fault));
out:
	cpk_trust_free(&t);
	cpk_buf_free(&data);
	return ret;
}

void
cardc_signature_text(const struct cpk_bundle *b, bool trust_given, char *buf, size_t n)
{
	char id[2 * CPK_KEY_ID_LEN + 1];
	struct cpk_error why;
	enum cpk_bundle_fault fault;

	cpk_key_id_hex(cpk_bundle_key_id(b), id);
	cpk_error_clear(&why);
	if (cpk_bundle_verified(b, &why, &fault))
		snprintf(buf, n, "verified: signed by key %s (trusted: %s)", id,
		    cpk_bundle_signer(b));
	else if (!trust_given)
		snprintf(buf, n, "not verified: signed by key %s (give --trust PUB to check it)", id);
	else
		snprintf(buf, n, "REFUSED (%s): %s", cpk_bundle_fault_name(fault), why.msg);
}

void
cardc_signature_json(struct cli_json *j, const struct cpk_bundle *b, bool trust_given)
{
	char id[2 * CPK_KEY_ID_LEN + 1];
	struct cpk_error why;
	enum cpk_bundle_fault fault = CPK_FAULT_NONE;
	bool ok;

	cpk_key_id_hex(cpk_bundle_key_id(b), id);
	cpk_error_clear(&why);
	ok = cpk_bundle_verified(b, &why, &fault);
	cli_json_object(j, "signature");
	cli_json_str(j, "key-id", id);
	cli_json_bool(j, "trust-given", trust_given);
	cli_json_bool(j, "verified", ok);
	cli_json_str(j, "trusted-key", ok ? cpk_bundle_signer(b) : NULL);
	if (!ok && trust_given) {
		cli_json_str(j, "fault", cpk_bundle_fault_name(fault));
		cli_json_str(j, "error", why.msg);
	}
	cli_json_end(j);
}

cpk_status
cardc_plain_collect(void *ctx, size_t index, const struct cpk_command *cmd, const uint8_t *plain,
    size_t n, struct cpk_error *err)
{
	struct cardc_plain_list *l = ctx;
	struct cardc_plain *grown;

	if (l->n == l->cap) {
		size_t ncap = l->cap == 0 ? 64 : l->cap * 2;

		if ((grown = realloc(l->v, ncap * sizeof(*grown))) == NULL)
			return cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
		l->v = grown;
		l->cap = ncap;
	}
	if ((l->v[l->n].apdu = malloc(n > 0 ? n : 1)) == NULL)
		return cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
	memcpy(l->v[l->n].apdu, plain, n);
	l->v[l->n].len = n;
	l->v[l->n].index = index;
	l->v[l->n].cmd = cmd;
	l->n++;
	return CPK_OK;
}

void
cardc_plain_list_free(struct cardc_plain_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		cpk_cleanse(l->v[i].apdu, l->v[i].len);
		free(l->v[i].apdu);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

void
cardc_captures_text(const struct cpk_bundle *b)
{
	const struct cpk_manifest *m = cpk_bundle_manifest(b);
	const struct cpk_command *c;
	size_t i;

	if (m->ncaptures == 0)
		return;
	printf("captures:\n");
	for (i = 0; i < m->ncaptures; i++) {
		c = m->captures[i].command <= cpk_bundle_command_count(b) ?
		    cpk_bundle_command(b, m->captures[i].command - 1) : NULL;
		printf("  %-16scommand %u (%s)\n", m->captures[i].name, m->captures[i].command,
		    c != NULL ? c->label : "?");
	}
}

void
cardc_captures_json(struct cli_json *j, const struct cpk_bundle *b)
{
	const struct cpk_manifest *m = cpk_bundle_manifest(b);
	size_t i;

	cli_json_object(j, "captures");
	for (i = 0; i < m->ncaptures; i++)
		cli_json_uint(j, m->captures[i].name, m->captures[i].command);
	cli_json_end(j);
}
