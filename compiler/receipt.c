/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: reading and verifying a receipt (see receipt.h, cpk-receipt(5)).
 */
#include "receipt.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpk_bytes.h"
#include "cpk_text.h"
#include "cpk_sw.h"
#include "receipt_dm.h"
#include "scp.h"

/* --- parsing: every member named, typed and bounded --- */

#define WHERE_MAX 48

static cpk_status bad(struct cpk_error *err, cpk_status st, const char *where,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* "receipt: commands[3].sw: ..." */
static cpk_status
bad(struct cpk_error *err, cpk_status st, const char *where, const char *fmt, ...)
{
	char msg[CPK_ERROR_MSG_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return cpk_error_set(err, st, "receipt: %s%s%s", where, where[0] != '\0' ? ": " : "",
	    msg);
}

/* Exactly these members, no other. */
static cpk_status
members(json_t *o, const char *where, const char *const *names, size_t n,
    struct cpk_error *err)
{
	const char *k;
	json_t *v;
	size_t i;

	if (!json_is_object(o))
		return bad(err, CPK_ERR_PARSE, where, "expected an object");
	json_object_foreach(o, k, v) {
		for (i = 0; i < n && strcmp(k, names[i]) != 0; i++)
			;
		if (i == n)
			return bad(err, CPK_ERR_PARSE, where, "unknown member '%.64s'", k);
	}
	for (i = 0; i < n; i++)
		if (json_object_get(o, names[i]) == NULL)
			return bad(err, CPK_ERR_PARSE, where, "missing member '%s'", names[i]);
	return CPK_OK;
}

/* The member's place: "bundle.sha256", "commands[3].sw". */
static void
place(char out[WHERE_MAX + 64], const char *where, const char *name)
{
	snprintf(out, WHERE_MAX + 64, "%s%s%s", where, where[0] != '\0' ? "." : "", name);
}

/*
 * A string member (null allowed when nullable: out ""), shorter than cap
 * bytes, without control characters.
 */
static cpk_status
get_str(json_t *o, const char *where, const char *name, bool nullable, char *out, size_t cap,
    struct cpk_error *err)
{
	char at[WHERE_MAX + 64];
	json_t *v = json_object_get(o, name);
	size_t len;

	place(at, where, name);
	out[0] = '\0';
	if (nullable && json_is_null(v))
		return CPK_OK;
	if (!json_is_string(v))
		return bad(err, CPK_ERR_PARSE, at, "expected a string%s", nullable ? " or null" : "");
	len = json_string_length(v);
	if (len == 0)
		return bad(err, CPK_ERR_PARSE, at, "empty (null when absent)");
	if (len >= cap)
		return bad(err, CPK_ERR_RANGE, at, "longer than %zu bytes", cap - 1);
	if (cpk_label_bad_offset(json_string_value(v), len) != len)
		return bad(err, CPK_ERR_PARSE, at, "holds a control character");
	memcpy(out, json_string_value(v), len + 1);
	return CPK_OK;
}

/* A string member into a malloc'd copy (NULL for null). */
static cpk_status
get_dup(json_t *o, const char *name, char **out, struct cpk_error *err)
{
	char *buf;
	cpk_status st;

	*out = NULL;
	if ((buf = malloc(CPK_RECEIPT_STR_MAX + 1)) == NULL)
		return cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
	if ((st = get_str(o, "", name, true, buf, CPK_RECEIPT_STR_MAX + 1, err)) != CPK_OK ||
	    buf[0] == '\0') {
		free(buf);
		return st;
	}
	*out = buf;
	return CPK_OK;
}

/*
 * A hex member of min..max bytes: uppercase digits (lowercase for a key id),
 * as cardload writes them; *len 0 for null when nullable.
 */
static cpk_status
get_hex(json_t *o, const char *where, const char *name, bool nullable, bool lower,
    uint8_t *out, size_t min, size_t max, size_t *len, struct cpk_error *err)
{
	char at[WHERE_MAX + 64];
	json_t *v = json_object_get(o, name);
	const char *s;
	size_t n, i;

	place(at, where, name);
	*len = 0;
	if (nullable && json_is_null(v))
		return CPK_OK;
	if (!json_is_string(v))
		return bad(err, CPK_ERR_PARSE, at, "expected a hex string%s",
		    nullable ? " or null" : "");
	s = json_string_value(v);
	n = json_string_length(v);
	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (lower ? (s[i] >= 'a' && s[i] <= 'f') : (s[i] >= 'A' && s[i] <= 'F'))))
			return bad(err, CPK_ERR_PARSE, at, "'%c' at offset %zu is not %s hex digit",
			    s[i] >= 0x20 && s[i] < 0x7F ? s[i] : '?', i, lower ? "a lowercase" :
			    "an uppercase");
	if (n % 2 != 0)
		return bad(err, CPK_ERR_PARSE, at, "an odd number of hex digits (%zu)", n);
	if (n / 2 < min || n / 2 > max)
		return bad(err, n / 2 > max ? CPK_ERR_RANGE : CPK_ERR_PARSE, at,
		    "%zu bytes, expected %zu%s%zu", n / 2, min, min == max ? "" : " to ",
		    min == max ? (size_t)0 : max);
	if (n > 0 && cpk_hex_decode(s, n, out, max, len, err) != CPK_OK)
		return bad(err, CPK_ERR_PARSE, at, "not hex");
	return CPK_OK;
}

/* An integer member in min..max; null allowed when nullable (*is_null). */
static cpk_status
get_uint(json_t *o, const char *where, const char *name, bool nullable, uint64_t min,
    uint64_t max, uint64_t *out, bool *is_null, struct cpk_error *err)
{
	char at[WHERE_MAX + 64];
	json_t *v = json_object_get(o, name);
	json_int_t x;

	place(at, where, name);
	*out = 0;
	if (is_null != NULL)
		*is_null = false;
	if (nullable && json_is_null(v)) {
		*is_null = true;
		return CPK_OK;
	}
	if (!json_is_integer(v))
		return bad(err, CPK_ERR_PARSE, at, "expected an integer%s",
		    nullable ? " or null" : "");
	x = json_integer_value(v);
	if (x < 0 || (uint64_t)x < min || (uint64_t)x > max)
		return bad(err, CPK_ERR_RANGE, at, "%lld is outside %llu..%llu", (long long)x,
		    (unsigned long long)min, (unsigned long long)max);
	*out = (uint64_t)x;
	return CPK_OK;
}

/* A status word: exactly four uppercase hex digits (null when nullable). */
static cpk_status
get_sw(json_t *o, const char *where, const char *name, bool nullable, bool *has, uint16_t *sw,
    struct cpk_error *err)
{
	uint8_t b[2];
	size_t len;
	cpk_status st;

	*has = false;
	*sw = 0;
	if ((st = get_hex(o, where, name, nullable, false, b, 2, 2, &len, err)) != CPK_OK)
		return st;
	if (len == 2) {
		*has = true;
		*sw = (uint16_t)(b[0] << 8 | b[1]);
	}
	return CPK_OK;
}

static cpk_status
parse_bundle(json_t *o, struct receipt *r, struct cpk_error *err)
{
	static const char *const names[] = { "sha256", "key-id", "profile", "mode", "serial",
	    "commands" };
	char mode[16];
	size_t len;
	uint64_t v;
	cpk_status st;

	if ((st = members(o, "bundle", names, sizeof(names) / sizeof(names[0]), err)) != CPK_OK ||
	    (st = get_hex(o, "bundle", "sha256", true, false, r->bundle_sha256, CPK_SHA256_LEN,
	    CPK_SHA256_LEN, &len, err)) != CPK_OK)
		return st;
	r->has_bundle_sha256 = len > 0;
	if ((st = get_hex(o, "bundle", "key-id", true, true, r->key_id, CPK_KEY_ID_LEN,
	    CPK_KEY_ID_LEN, &len, err)) != CPK_OK)
		return st;
	r->has_key_id = len > 0;
	if ((st = get_str(o, "bundle", "profile", true, r->profile, sizeof(r->profile),
	    err)) != CPK_OK ||
	    (st = get_str(o, "bundle", "mode", true, mode, sizeof(mode), err)) != CPK_OK ||
	    (st = get_str(o, "bundle", "serial", true, r->serial, sizeof(r->serial),
	    err)) != CPK_OK ||
	    (st = get_uint(o, "bundle", "commands", false, 0, CPK_SCRIPT_MAX_COMMANDS, &v, NULL,
	    err)) != CPK_OK)
		return st;
	r->commands = (size_t)v;
	if (mode[0] == '\0')
		r->mode = 0;
	else if (strcmp(mode, "offline") == 0)
		r->mode = CPK_MODE_OFFLINE;
	else if (strcmp(mode, "session") == 0)
		r->mode = CPK_MODE_SESSION;
	else
		return bad(err, CPK_ERR_PARSE, "bundle.mode", "'%s' is neither offline nor session",
		    mode);
	return CPK_OK;
}

static cpk_status
parse_card(json_t *o, struct receipt_card *c, struct cpk_error *err)
{
	static const char *const names[] = { "seen-by", "serial", "cplc", "iin", "cin", "kdd",
	    "kvn", "scp", "counter", "card-challenge", "card-cryptogram", "host-challenge",
	    "iu-response" };
	size_t len;
	cpk_status st;

	memset(c, 0, sizeof(*c));
	if (json_is_null(o))
		return CPK_OK;
	c->present = true;
	if ((st = members(o, "card", names, sizeof(names) / sizeof(names[0]), err)) != CPK_OK ||
	    (st = get_str(o, "card", "seen-by", false, c->seen_by, sizeof(c->seen_by),
	    err)) != CPK_OK)
		return st;
	if (strcmp(c->seen_by, "initialize-update") != 0 && strcmp(c->seen_by, "identify") != 0)
		return bad(err, CPK_ERR_PARSE, "card.seen-by", "'%s' is neither initialize-update "
		    "nor identify", c->seen_by);
	if ((st = get_str(o, "card", "serial", true, c->serial, sizeof(c->serial),
	    err)) != CPK_OK ||
	    (st = get_hex(o, "card", "cplc", true, false, c->cplc, 1, sizeof(c->cplc),
	    &c->cplc_len, err)) != CPK_OK ||
	    (st = get_hex(o, "card", "iin", true, false, c->iin, 1, sizeof(c->iin), &c->iin_len,
	    err)) != CPK_OK ||
	    (st = get_hex(o, "card", "cin", true, false, c->cin, 1, sizeof(c->cin), &c->cin_len,
	    err)) != CPK_OK ||
	    (st = get_hex(o, "card", "kdd", true, false, c->kdd, 10, 10, &len, err)) != CPK_OK)
		return st;
	c->has_kdd = len > 0;
	if ((st = get_hex(o, "card", "kvn", true, false, &c->kvn, 1, 1, &len, err)) != CPK_OK)
		return st;
	c->has_kvn = len > 0;
	if ((st = get_hex(o, "card", "scp", true, false, &c->scp, 1, 1, &len, err)) != CPK_OK)
		return st;
	c->has_scp = len > 0;
	if ((st = get_hex(o, "card", "counter", true, false, c->counter, 2, 3, &c->counter_len,
	    err)) != CPK_OK ||
	    (st = get_hex(o, "card", "card-challenge", true, false, c->card_challenge, 6, 8,
	    &c->challenge_len, err)) != CPK_OK ||
	    (st = get_hex(o, "card", "card-cryptogram", true, false, c->card_cryptogram, 8, 8,
	    &len, err)) != CPK_OK)
		return st;
	c->has_cryptogram = len > 0;
	if ((st = get_hex(o, "card", "host-challenge", true, false, c->host_challenge, 8, 8, &len,
	    err)) != CPK_OK)
		return st;
	c->has_host_challenge = len > 0;
	return get_hex(o, "card", "iu-response", true, false, c->iu_response, 28, 32, &c->iu_len,
	    err);
}

static cpk_status
parse_command(json_t *o, size_t i, struct receipt_command *c, struct cpk_error *err)
{
	static const char *const names[] = { "index", "label", "sw", "data", "usec" };
	char where[WHERE_MAX];
	uint64_t v;
	bool has;
	cpk_status st;

	snprintf(where, sizeof(where), "commands[%zu]", i);
	if ((st = members(o, where, names, sizeof(names) / sizeof(names[0]), err)) != CPK_OK ||
	    (st = get_uint(o, where, "index", false, 1, CPK_SCRIPT_MAX_COMMANDS, &v, NULL,
	    err)) != CPK_OK)
		return st;
	c->index = (size_t)v;
	if ((st = get_str(o, where, "label", false, c->label, sizeof(c->label), err)) != CPK_OK ||
	    (st = get_sw(o, where, "sw", false, &has, &c->sw, err)) != CPK_OK ||
	    (st = get_hex(o, where, "data", false, false, c->data, 0,
	    CPK_RECEIPT_RESPONSE_MAX - 2, &c->data_len, err)) != CPK_OK)
		return st;
	return get_uint(o, where, "usec", false, 0, UINT64_C(1) << 53, &c->usec, NULL, err);
}

static cpk_status
parse_commands(json_t *a, struct receipt *r, struct cpk_error *err)
{
	size_t i, n;
	cpk_status st;

	if (!json_is_array(a))
		return bad(err, CPK_ERR_PARSE, "commands", "expected an array");
	n = json_array_size(a);
	if (n > CPK_SCRIPT_MAX_COMMANDS)
		return bad(err, CPK_ERR_RANGE, "commands", "%zu entries, at most %d", n,
		    CPK_SCRIPT_MAX_COMMANDS);
	if (n == 0)
		return CPK_OK;
	if ((r->cmds = calloc(n, sizeof(*r->cmds))) == NULL)
		return cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		if ((st = parse_command(json_array_get(a, i), i, &r->cmds[i], err)) != CPK_OK)
			return st;
		r->ncmds++;
	}
	return CPK_OK;
}

static cpk_status
parse_stop(json_t *o, struct receipt *r, struct cpk_error *err)
{
	static const char *const names[] = { "reason", "index", "sw" };
	char reason[32];
	uint64_t v;
	bool null;
	cpk_status st;

	if ((st = members(o, "stop", names, sizeof(names) / sizeof(names[0]), err)) != CPK_OK ||
	    (st = get_str(o, "stop", "reason", false, reason, sizeof(reason), err)) != CPK_OK)
		return st;
	if (!cpk_receipt_stop_parse(reason, &r->stop))
		return bad(err, CPK_ERR_PARSE, "stop.reason", "'%s' is not a stop reason (done, "
		    "refused, mismatch, card-gone, interrupted, not-sent)", reason);
	if ((st = get_uint(o, "stop", "index", true, 1, CPK_SCRIPT_MAX_COMMANDS, &v, &null,
	    err)) != CPK_OK)
		return st;
	r->stop_index = null ? 0 : (size_t)v;
	return get_sw(o, "stop", "sw", true, &r->has_stop_sw, &r->stop_sw, err);
}

static cpk_status
parse_doc(json_t *root, struct receipt *r, struct cpk_error *err)
{
	static const char *const names[] = { "cpk-receipt", "cardload", "start", "end",
	    "source", "reader", "result", "bundle", "card", "commands", "stop" };
	json_t *v;
	uint64_t fmt;
	cpk_status st;

	if (!json_is_object(root))
		return bad(err, CPK_ERR_PARSE, "", "not a JSON object");
	/* The version first: a later format may have other members. */
	v = json_object_get(root, "cpk-receipt");
	if (!json_is_integer(v))
		return bad(err, CPK_ERR_PARSE, "", "no 'cpk-receipt' format version: not a receipt");
	if (json_integer_value(v) != CPK_RECEIPT_FORMAT)
		return bad(err, CPK_ERR_UNSUPPORTED, "", "receipt format %lld is not supported "
		    "(this cpk reads format %d)", (long long)json_integer_value(v),
		    CPK_RECEIPT_FORMAT);
	if ((st = members(root, "", names, sizeof(names) / sizeof(names[0]), err)) != CPK_OK ||
	    (st = get_uint(root, "", "cpk-receipt", false, 1, 1, &fmt, NULL, err)) != CPK_OK ||
	    (st = get_str(root, "", "cardload", false, r->cardload, sizeof(r->cardload),
	    err)) != CPK_OK ||
	    (st = get_str(root, "", "start", false, r->start, sizeof(r->start), err)) != CPK_OK ||
	    (st = get_str(root, "", "end", false, r->end, sizeof(r->end), err)) != CPK_OK ||
	    (st = get_dup(root, "source", &r->source, err)) != CPK_OK ||
	    (st = get_dup(root, "reader", &r->reader, err)) != CPK_OK ||
	    (st = get_str(root, "", "result", true, r->result, sizeof(r->result), err)) != CPK_OK ||
	    (st = parse_bundle(json_object_get(root, "bundle"), r, err)) != CPK_OK ||
	    (st = parse_card(json_object_get(root, "card"), &r->card, err)) != CPK_OK ||
	    (st = parse_commands(json_object_get(root, "commands"), r, err)) != CPK_OK)
		return st;
	r->format = (uint32_t)fmt;
	return parse_stop(json_object_get(root, "stop"), r, err);
}

cpk_status
receipt_parse(const uint8_t *p, size_t n, struct receipt **out, struct cpk_error *err)
{
	struct receipt *r = NULL;
	json_error_t je;
	json_t *root = NULL;
	cpk_status st;

	*out = NULL;
	if (n > CPK_RECEIPT_MAX_SIZE) {
		st = bad(err, CPK_ERR_RANGE, "", "%zu bytes, more than %zu", n,
		    CPK_RECEIPT_MAX_SIZE);
		goto out;
	}
	if (memchr(p, '\0', n) != NULL) {
		st = bad(err, CPK_ERR_PARSE, "", "a NUL byte: not JSON text");
		goto out;
	}
	if ((root = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, &je)) == NULL) {
		st = bad(err, CPK_ERR_PARSE, "", "line %d column %d: %s", je.line, je.column,
		    je.text);
		goto out;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		st = cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((st = parse_doc(root, r, err)) != CPK_OK)
		goto out;
	*out = r;
	r = NULL;
	st = CPK_OK;
out:
	receipt_free(&r);
	json_decref(root);
	return st;
}

void
receipt_free(struct receipt **rp)
{
	struct receipt *r;

	if (rp == NULL || (r = *rp) == NULL)
		return;
	free(r->cmds);
	free(r->source);
	free(r->reader);
	free(r);
	*rp = NULL;
}

/* --- verification --- */

const char *
receipt_verdict_name(enum receipt_verdict v)
{
	switch (v) {
	case RECEIPT_LOADED:
		return "loaded";
	case RECEIPT_UNVERIFIED:
		return "unverified";
	case RECEIPT_FAILED:
		return "failed";
	case RECEIPT_NOT_AUTHENTIC:
		return "not-authentic";
	case RECEIPT_REFUSED:
		return "refused";
	}
	return "?";
}

static bool refuse(struct receipt_result *res, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The receipt does not fit the bundle: say why; always false. */
static bool
refuse(struct receipt_result *res, const char *fmt, ...)
{
	va_list ap;

	res->verdict = RECEIPT_REFUSED;
	va_start(ap, fmt);
	vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
	va_end(ap);
	return false;
}

static void
hex(const uint8_t *p, size_t n, char *out, size_t cap)
{
	if (cpk_hex_encode(p, n, out, cap) != CPK_OK)
		snprintf(out, cap, "?");
}

/* What the receipt says of its bundle, against the bundle. */
static bool
check_bundle(const struct receipt *r, const struct cpk_manifest *m, size_t n,
    const uint8_t sha[CPK_SHA256_LEN], struct receipt_result *res)
{
	char got[2 * CPK_SHA256_LEN + 1], want[2 * CPK_SHA256_LEN + 1];

	if (!r->has_bundle_sha256)
		return refuse(res, "the receipt names no bundle (bundle.sha256 is null: the run "
		    "never read one)");
	if (!cpk_ct_equal(r->bundle_sha256, sha, CPK_SHA256_LEN)) {
		hex(r->bundle_sha256, CPK_SHA256_LEN, got, sizeof(got));
		hex(sha, CPK_SHA256_LEN, want, sizeof(want));
		return refuse(res, "the receipt is for the bundle with SHA-256 %s, not for this one "
		    "(%s)", got, want);
	}
	/* cardload read this bundle but refused it (signature, limits): nothing else to compare. */
	if (r->mode == 0 && r->commands == 0 && r->ncmds == 0 && r->stop == CPK_RECEIPT_NOT_SENT &&
	    r->profile[0] == '\0' && r->serial[0] == '\0')
		return true;
	if (r->commands != n)
		return refuse(res, "bundle.commands is %zu, but the bundle has %zu commands",
		    r->commands, n);
	if (strcmp(r->profile, m->profile) != 0)
		return refuse(res, "bundle.profile is '%s', but the bundle's profile is '%s'",
		    r->profile, m->profile);
	if (r->mode != m->mode)
		return refuse(res, "bundle.mode is not the bundle's mode (%s)",
		    m->mode == CPK_MODE_SESSION ? "session" : "offline");
	if (strcmp(r->serial, m->serial) != 0)
		return refuse(res, "bundle.serial is '%s', but the bundle is for card '%s'",
		    r->serial, m->serial);
	return true;
}

/* Does the stop point fit the answers and the bundle? */
static bool
stop_fits(const struct receipt *r, const struct cpk_command *cmds, size_t n)
{
	const struct receipt_command *last = r->ncmds > 0 ? &r->cmds[r->ncmds - 1] : NULL;

	switch (r->stop) {
	case CPK_RECEIPT_DONE:
		return r->ncmds == n && r->stop_index == 0 && !r->has_stop_sw;
	case CPK_RECEIPT_REFUSED:
		return last != NULL && r->stop_index == r->ncmds && r->has_stop_sw &&
		    r->stop_sw == last->sw && !cpk_command_accepts(&cmds[r->ncmds - 1], last->sw);
	case CPK_RECEIPT_MISMATCH:
		return last != NULL && r->stop_index == r->ncmds && r->has_stop_sw &&
		    r->stop_sw == last->sw && (cmds[r->ncmds - 1].flags & CPK_CMD_INIT_UPDATE) &&
		    cpk_command_accepts(&cmds[r->ncmds - 1], last->sw);
	case CPK_RECEIPT_CARD_GONE:
	case CPK_RECEIPT_INTERRUPTED:
		return r->stop_index == r->ncmds + 1 && r->stop_index <= n && !r->has_stop_sw;
	case CPK_RECEIPT_NOT_SENT:
		return r->ncmds == 0 && r->stop_index == 0 && !r->has_stop_sw;
	}
	return false;
}

/* Each answer's number and label, each status word against the stop point. */
static bool
check_answers(const struct receipt *r, const struct cpk_command *cmds, size_t n,
    struct receipt_result *res)
{
	const struct receipt_command *c;
	size_t i;

	if (r->ncmds > n)
		return refuse(res, "the receipt answers %zu commands, the bundle has %zu", r->ncmds,
		    n);
	for (i = 0; i < r->ncmds; i++) {
		c = &r->cmds[i];
		if (c->index != i + 1)
			return refuse(res, "commands[%zu] is numbered %zu, expected %zu", i, c->index,
			    i + 1);
		if (strcmp(c->label, cmds[i].label) != 0)
			return refuse(res, "command %zu is '%s' in the receipt but '%s' in the bundle",
			    i + 1, c->label, cmds[i].label);
		if (i + 1 < r->ncmds && !cpk_command_accepts(&cmds[i], c->sw))
			return refuse(res, "command %zu (%s) was answered %04X, which it does not "
			    "accept, yet the run went on", i + 1, c->label, c->sw);
	}
	if (!stop_fits(r, cmds, n))
		return refuse(res, "the stop point (%s at command %zu) does not fit the %zu "
		    "answers in the receipt", cpk_receipt_stop_name(r->stop), r->stop_index,
		    r->ncmds);
	return true;
}

/* The fields of card against its iu-response (both written from the same answer). */
static bool
card_fields_fit(const struct receipt_card *c, struct receipt_result *res)
{
	struct scp_iu_response iu;
	struct cpk_error e;

	if (c->iu_len == 0) {
		if (c->has_kdd || c->has_kvn || c->has_scp || c->counter_len > 0 ||
		    c->challenge_len > 0 || c->has_cryptogram)
			return refuse(res, "card has INITIALIZE UPDATE fields but no iu-response");
		return true;
	}
	cpk_error_clear(&e);
	if (scp_iu_response_parse(c->iu_response, c->iu_len, &iu, &e) != CPK_OK)
		return refuse(res, "card.iu-response: %s", e.msg);
	if (!c->has_kdd || memcmp(c->kdd, iu.kdd, sizeof(iu.kdd)) != 0 ||
	    !c->has_kvn || c->kvn != iu.kvn || !c->has_scp || c->scp != iu.scp ||
	    c->counter_len != iu.counter_len || memcmp(c->counter, iu.counter, iu.counter_len) != 0 ||
	    c->challenge_len != iu.challenge_len ||
	    memcmp(c->card_challenge, iu.card_challenge, iu.challenge_len) != 0 ||
	    !c->has_cryptogram || memcmp(c->card_cryptogram, iu.card_cryptogram, 8) != 0)
		return refuse(res, "card's kdd, kvn, scp, counter, card-challenge or "
		    "card-cryptogram is not what its iu-response says");
	return true;
}

/* The card's INITIALIZE UPDATE answer against the bundle's. */
static bool
check_card(const struct receipt *r, const struct cpk_manifest *m, const struct cpk_command *cmds,
    struct receipt_result *res)
{
	const struct receipt_card *c = &r->card;
	const struct receipt_command *iu = NULL;
	bool same;
	size_t i;

	if (c->present && !card_fields_fit(c, res))
		return false;
	for (i = 0; i < r->ncmds && iu == NULL; i++)
		if ((cmds[i].flags & CPK_CMD_INIT_UPDATE) && r->cmds[i].sw == 0x9000)
			iu = &r->cmds[i];
	if (m->mode == CPK_MODE_SESSION) {
		/*
		 * Loaded by a process that did not identify the card itself: no
		 * card to compare; the R-MACs still only verify in the session
		 * the bundle was made for.
		 */
		if (r->ncmds == 0 || !c->present)
			return true;
		if (c->iu_len == 0 || strcmp(c->seen_by, "identify") != 0)
			return refuse(res, "a session receipt's card is the session's identification "
			    "with its INITIALIZE UPDATE answer (card.iu-response); this one is not");
		if (c->iu_len != m->iu_response_len ||
		    memcmp(c->iu_response, m->iu_response, c->iu_len) != 0 ||
		    !c->has_host_challenge ||
		    memcmp(c->host_challenge, m->host_challenge, sizeof(m->host_challenge)) != 0)
			return refuse(res, "the card's INITIALIZE UPDATE exchange in the receipt is "
			    "not the one the session bundle was made for");
		return true;
	}
	if (iu == NULL) {
		if (c->present)
			return refuse(res, "the receipt has a card but no INITIALIZE UPDATE answer");
		return true;
	}
	if (!c->present || strcmp(c->seen_by, "initialize-update") != 0 ||
	    c->iu_len != iu->data_len || memcmp(c->iu_response, iu->data, iu->data_len) != 0)
		return refuse(res, "card.iu-response is not the answer to command %zu "
		    "(INITIALIZE UPDATE)", iu->index);
	if (!c->has_host_challenge ||
	    memcmp(c->host_challenge, m->host_challenge, sizeof(m->host_challenge)) != 0)
		return refuse(res, "card.host-challenge is not the bundle's");
	same = iu->data_len == m->iu_response_len &&
	    memcmp(iu->data, m->iu_response, iu->data_len) == 0;
	if (same == (r->stop == CPK_RECEIPT_MISMATCH))
		return refuse(res, same ? "the stop says the INITIALIZE UPDATE answer differed from "
		    "the bundle's, but it is the same" : "the INITIALIZE UPDATE answer differs from "
		    "the one the bundle expects, yet the run went on");
	return true;
}

struct walk {
	const struct receipt *r;
	struct receipt_result *res;
	bool fake;
	struct receipt_dm dm;		/* the card's delegated-management receipts */
};

/* Before each command's answer: is it a delegated-management confirmation? */
static cpk_status
on_command(void *ctx, size_t index, const struct cpk_command *cmd, const uint8_t *plain,
    size_t plain_len, struct cpk_error *err)
{
	struct walk *w = ctx;

	(void)cmd;
	if (index >= w->r->ncmds)
		return CPK_OK;
	return receipt_dm_command(&w->dm, index, plain, plain_len, err);
}

/* The answer to command index (0-based) is not authentic: the verdict, and why. */
static cpk_status
not_authentic(struct walk *w, size_t index, const struct receipt_command *rc,
    struct cpk_error *err, const char *why, const char *more)
{
	w->fake = true;
	w->res->verdict = RECEIPT_NOT_AUTHENTIC;
	w->res->index = index + 1;
	snprintf(w->res->label, sizeof(w->res->label), "%s", rc->label);
	w->res->has_sw = true;
	w->res->sw = rc->sw;
	snprintf(w->res->reason, sizeof(w->res->reason), "failed: the response to command %zu "
	    "(%s), %04X, is not authentic: %.160s%s", index + 1, rc->label, rc->sw, why, more);
	return cpk_error_set(err, CPK_ERR_VERIFY, "%s", w->res->reason);
}

/*
 * An accepted answer that must be a card receipt: it verifies with the
 * receipt key, or the receipt is not authentic (as a false R-MAC).
 */
static cpk_status
check_card_receipt(struct walk *w, size_t index, const struct cpk_command *cmd,
    const struct receipt_command *rc, uint16_t sw, const uint8_t *p, size_t n,
    struct cpk_error *err)
{
	struct cpk_error e;

	if (!cpk_command_accepts(cmd, sw))
		return CPK_OK;
	cpk_error_clear(&e);
	if (receipt_dm_response(&w->dm, index, p, n, &e) == CPK_OK)
		return CPK_OK;
	return not_authentic(w, index, rc, err, e.msg, "");
}

/* The names and commands of the manifest's captures, none present yet. */
static void
init_captures(const struct cpk_manifest *m, struct receipt_result *res)
{
	size_t i;

	for (i = 0; i < m->ncaptures && i < CPK_CAPTURE_MAX; i++) {
		snprintf(res->captured[i].name, sizeof(res->captured[i].name), "%s",
		    m->captures[i].name);
		res->captured[i].index = m->captures[i].command;
	}
	res->ncaptured = i;
}

/* Keep the plain answer to command index (0-based) if a capture names it and cmd accepts sw. */
static void
keep_capture(struct receipt_result *res, size_t index, const struct cpk_command *cmd,
    uint16_t sw, const uint8_t *p, size_t n)
{
	struct receipt_capture *c;
	size_t i;

	for (i = 0; i < res->ncaptured; i++) {
		c = &res->captured[i];
		if (c->index != index + 1 || !cpk_command_accepts(cmd, sw) || n > sizeof(c->value))
			continue;
		if (n > 0)
			memcpy(c->value, p, n);
		c->len = n;
		c->present = true;
	}
}

/* After each command of the walk: its answer's R-MAC, in chain order; keep the captures. */
static cpk_status
on_response(void *ctx, size_t index, const struct cpk_command *cmd, struct scp_session *s,
    struct cpk_error *err)
{
	struct walk *w = ctx;
	const struct receipt_command *rc;
	struct cpk_buf resp = CPK_BUF_INIT, plain = CPK_BUF_INIT;
	struct cpk_error e;
	uint16_t sw;
	cpk_status st;

	if (index >= w->r->ncmds)
		return CPK_OK;
	rc = &w->r->cmds[index];
	if (!w->res->rmac) {
		keep_capture(w->res, index, cmd, rc->sw, rc->data, rc->data_len);
		return check_card_receipt(w, index, cmd, rc, rc->sw, rc->data, rc->data_len, err);
	}
	if (cmd->flags != CPK_CMD_SECURED || s == NULL || s->state != SCP_STATE_OPEN ||
	    (s->level & SCP_SL_RMAC) == 0)
		return CPK_OK;
	cpk_error_clear(&e);
	if ((st = cpk_buf_append(&resp, rc->data, rc->data_len, err)) != CPK_OK ||
	    (st = cpk_buf_append_u16be(&resp, rc->sw, err)) != CPK_OK)
		goto out;
	if (scp_unwrap_response(s, resp.data, resp.len, &plain, &sw, &e) != CPK_OK) {
		st = not_authentic(w, index, rc, err, e.msg, "; the card (or whoever wrote this "
		    "receipt) did not answer with the session keys");
		goto out;
	}
	/* An answer whose status word carries no R-MAC proves nothing: not captured. */
	if (scp_sw_protected(sw)) {
		w->res->rmacs++;
		keep_capture(w->res, index, cmd, sw, plain.data, plain.len);
	}
	st = check_card_receipt(w, index, cmd, rc, sw, plain.data, plain.len, err);
out:
	cpk_buf_free(&plain);
	cpk_buf_free(&resp);
	return st;
}

/* The verdict of a receipt that fits its bundle and whose R-MACs all verified. */
static void
conclude(const struct receipt *r, const struct cpk_command *cmds, struct receipt_result *res)
{
	const struct cpk_command *c = r->stop_index > 0 ? &cmds[r->stop_index - 1] : NULL;
	char meaning[160];

	if (c != NULL) {
		res->index = r->stop_index;
		snprintf(res->label, sizeof(res->label), "%s", c->label);
	}
	res->has_sw = r->has_stop_sw;
	res->sw = r->stop_sw;
	res->verdict = RECEIPT_FAILED;
	switch (r->stop) {
	case CPK_RECEIPT_DONE:
		res->verdict = res->rmac ? RECEIPT_LOADED : RECEIPT_UNVERIFIED;
		if (res->rmac)
			snprintf(res->reason, sizeof(res->reason), "loaded: all %zu commands were "
			    "accepted and the %zu R-MACs of their responses verified with the session "
			    "keys%s", r->ncmds, res->rmacs, res->card_receipts > 0 ?
			    ", the card's delegated-management receipts with the receipt key" : "");
		else
			snprintf(res->reason, sizeof(res->reason), "loaded by status words only: all "
			    "%zu commands were answered as accepted, but the bundle's security level "
			    "has no R-MAC, so nothing proves the answers came from the card (not "
			    "verifiable without R-MAC)", r->ncmds);
		return;
	case CPK_RECEIPT_REFUSED:
		cpk_sw_describe(r->stop_sw, meaning, sizeof(meaning));
		snprintf(res->reason, sizeof(res->reason), "failed at command %zu (%s) with %04X: %s",
		    r->stop_index, res->label, r->stop_sw, meaning);
		return;
	case CPK_RECEIPT_MISMATCH:
		snprintf(res->reason, sizeof(res->reason), "failed at command %zu (%s): the card's "
		    "answer is not the one the bundle expects (another card, other keys, or its "
		    "counter moved on); nothing secured was sent", r->stop_index, res->label);
		return;
	case CPK_RECEIPT_CARD_GONE:
		snprintf(res->reason, sizeof(res->reason), "failed at command %zu (%s): the card "
		    "was lost before it answered", r->stop_index, res->label);
		return;
	case CPK_RECEIPT_INTERRUPTED:
		snprintf(res->reason, sizeof(res->reason), "failed at command %zu (%s): the run "
		    "was interrupted before its answer", r->stop_index, res->label);
		return;
	case CPK_RECEIPT_NOT_SENT:
		snprintf(res->reason, sizeof(res->reason), "failed: nothing was sent to the card");
		return;
	}
}

cpk_status
receipt_verify(const struct receipt *r, const struct cpk_manifest *m,
    const struct cpk_command *cmds, size_t n, const uint8_t bundle_sha256[CPK_SHA256_LEN],
    const char *keys, struct receipt_result *res, struct cpk_error *err)
{
	struct walk w = { r, res, false, { 0 } };
	struct bundle_verify_hooks h = { &w, on_command, on_response };
	cpk_status st;

	memset(res, 0, sizeof(*res));
	res->rmac = (m->level & SCP_SL_RMAC) != 0;
	res->answers = r->ncmds;
	init_captures(m, res);
	if (!check_bundle(r, m, n, bundle_sha256, res) || !check_answers(r, cmds, n, res) ||
	    !check_card(r, m, cmds, res))
		return CPK_OK;
	w.dm.keys = keys;
	w.dm.scp = m->scp;
	w.dm.sd_aid = m->sd_aid;
	w.dm.sd_aid_len = m->sd_aid_len;
	st = bundle_verify_walk(m, cmds, n, keys, &h, &res->keys, err);
	res->card_receipts = w.dm.verified;
	receipt_dm_clear(&w.dm);
	if (w.fake)
		return CPK_OK;
	if (st != CPK_OK) {
		cpk_error_prefix(err, "the bundle cannot be recomputed with these keys");
		return st;
	}
	conclude(r, cmds, res);
	return CPK_OK;
}
