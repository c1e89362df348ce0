/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: GlobalPlatform SERAM messages in JSON (see seram.h and
 * docs/seram.schema.json). Every member is read through one table per
 * object (its name, whether it is required); anything else is refused.
 */
#include "seram.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static const char *const se_type_names[] = { "eSE", "iSE", "uicc", "euicc", "ieuicc", NULL };
static const char *const command_names[] = { "startCommand", "seRamCommand",
    "notificationCommand", "stopCommand", NULL };
static const char *const status_names[] = { "PROCESSED", "POLLING", "UNAVAILABLE_SE",
    "UNKNOWN_FAILURE", "UNGRANTED_ACCESS", NULL };

const char *
seram_agent_status_name(enum seram_agent_status s)
{
	return (unsigned)s <= SERAM_STATUS_UNGRANTED_ACCESS ? status_names[s] : "?";
}

bool
seram_session_id_valid(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		char c = s[i];

		if (i >= SERAM_SESSION_ID_MAX)
			return false;
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == '-'))
			return false;
	}
	return i > 0;
}

cpk_status
seram_session_id_new(char out[SERAM_SESSION_ID_MAX + 1], struct cpk_error *err)
{
	uint8_t r[16];
	char hex[33];

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return cpk_error_set(err, CPK_ERR_CRYPTO, "no random bytes for a session id: %s",
		    strerror(errno));
	r[6] = (uint8_t)((r[6] & 0x0F) | 0x40);
	r[8] = (uint8_t)((r[8] & 0x3F) | 0x80);
	cpk_hex_encode(r, sizeof(r), hex, sizeof(hex));
	for (size_t i = 0; hex[i] != '\0'; i++)
		if (hex[i] >= 'A' && hex[i] <= 'F')
			hex[i] = (char)(hex[i] - 'A' + 'a');
	snprintf(out, SERAM_SESSION_ID_MAX + 1, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8,
	    hex + 12, hex + 16, hex + 20);
	return CPK_OK;
}

/* --- clearing --- */

static void
apdus_free(struct seram_apdu *v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i].p);
	free(v);
}

void
seram_handshake_clear(struct seram_handshake *h)
{
	OPENSSL_cleanse(h, sizeof(*h));
	memset(h, 0, sizeof(*h));
}

void
seram_order_clear(struct seram_order *o)
{
	size_t i;

	for (i = 0; i < o->ncmds; i++) {
		apdus_free(o->cmds[i].capdu, o->cmds[i].ncapdu);
		free(o->cmds[i].accept);
		free(o->cmds[i].labels);
		free(o->cmds[i].notification);
	}
	free(o->cmds);
	memset(o, 0, sizeof(*o));
}

void
seram_report_clear(struct seram_report *r)
{
	size_t i;

	for (i = 0; i < r->nresp; i++)
		apdus_free(r->resp[i].rapdu, r->resp[i].n);
	free(r->resp);
	free(r->error_msg);
	memset(r, 0, sizeof(*r));
}

bool
seram_handshake_acceptable(const struct seram_handshake *h)
{
	bool t = h->ntransports == 0, f = h->nformats == 0, v = h->nversions == 0;
	size_t i;

	for (i = 0; i < h->ntransports; i++)
		t = t || strcmp(h->transports[i], SERAM_TRANSPORT) == 0;
	for (i = 0; i < h->nformats; i++)
		f = f || strcmp(h->formats[i], SERAM_DATA_FORMAT) == 0;
	for (i = 0; i < h->nversions; i++)
		v = v || strcmp(h->versions[i], SERAM_VERSION) == 0;
	return t && f && v;
}

/* --- building --- */

static cpk_status
apdu_copy(struct seram_apdu *dst, const struct seram_apdu *src, struct cpk_error *err)
{
	dst->n = src->n;
	dst->p = NULL;
	if (src->n == 0)
		return CPK_OK;
	if (src->n > SERAM_APDU_MAX)
		return cpk_error_set(err, CPK_ERR_RANGE, "an APDU of %zu bytes (at most %d)", src->n,
		    SERAM_APDU_MAX);
	if ((dst->p = malloc(src->n)) == NULL)
		return cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
	memcpy(dst->p, src->p, src->n);
	return CPK_OK;
}

static cpk_status
apdus_copy(struct seram_apdu **out, const struct seram_apdu *v, size_t n, struct cpk_error *err)
{
	struct seram_apdu *a;
	size_t i;
	cpk_status st = CPK_OK;

	*out = NULL;
	if (n > SERAM_APDUS_MAX)
		return cpk_error_set(err, CPK_ERR_RANGE, "%zu APDUs in one list (at most %d)", n,
		    SERAM_APDUS_MAX);
	if (n == 0)
		return CPK_OK;
	if ((a = calloc(n, sizeof(*a))) == NULL)
		return cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
	for (i = 0; i < n && st == CPK_OK; i++)
		st = apdu_copy(&a[i], &v[i], err);
	if (st != CPK_OK) {
		apdus_free(a, n);
		return st;
	}
	*out = a;
	return CPK_OK;
}

cpk_status
seram_order_add(struct seram_order *o, enum seram_command_type type,
    const struct seram_apdu *capdu, size_t n, const struct seram_accept *accept,
    const char (*labels)[CPK_LABEL_MAX + 1], const char *notification, struct cpk_error *err)
{
	struct seram_command *v, c;
	cpk_status st = CPK_ERR_NOMEM;

	memset(&c, 0, sizeof(c));
	c.type = type;
	if (o->ncmds >= SERAM_COMMANDS_MAX)
		return cpk_error_set(err, CPK_ERR_RANGE, "more than %d commands in one order",
		    SERAM_COMMANDS_MAX);
	if (type == SERAM_CMD_SE_RAM) {
		if (n == 0)
			return cpk_error_set(err, CPK_ERR_ARG, "an SE RAM command without APDUs");
		if ((st = apdus_copy(&c.capdu, capdu, n, err)) != CPK_OK)
			goto fail;
		c.ncapdu = n;
		if (accept != NULL) {
			if ((c.accept = calloc(n, sizeof(*c.accept))) == NULL)
				goto nomem;
			memcpy(c.accept, accept, n * sizeof(*accept));
		}
		if (labels != NULL) {
			if ((c.labels = calloc(n, sizeof(*c.labels))) == NULL)
				goto nomem;
			memcpy(c.labels, labels, n * sizeof(*labels));
		}
	} else if (type == SERAM_CMD_NOTIFICATION) {
		if (notification == NULL || strlen(notification) > SERAM_TEXT_MAX)
			return cpk_error_set(err, CPK_ERR_RANGE, "a notification of 0 or more than "
			    "%d bytes", SERAM_TEXT_MAX);
		if ((c.notification = strdup(notification)) == NULL)
			goto nomem;
	}
	if ((v = realloc(o->cmds, (o->ncmds + 1) * sizeof(*v))) == NULL)
		goto nomem;
	o->cmds = v;
	o->cmds[o->ncmds++] = c;
	return CPK_OK;
nomem:
	st = cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
fail:
	apdus_free(c.capdu, c.ncapdu);
	free(c.accept);
	free(c.labels);
	free(c.notification);
	return st;
}

cpk_status
seram_order_holder_pin(struct seram_order *o, const struct seram_holder_pin *h,
    struct cpk_error *err)
{
	size_t i = o->ncmds;

	while (i > 0 && o->cmds[i - 1].type != SERAM_CMD_SE_RAM)
		i--;
	if (i == 0)
		return cpk_error_set(err, CPK_ERR_ARG, "no SE RAM command to ask the holder's PIN for");
	if (h->aid_len < 5 || h->aid_len > sizeof(h->aid))
		return cpk_error_set(err, CPK_ERR_ARG, "the holder PIN's AID has %zu bytes (5 to 16)",
		    h->aid_len);
	o->cmds[i - 1].has_holder_pin = true;
	o->cmds[i - 1].holder_pin = *h;
	return CPK_OK;
}

cpk_status
seram_report_add(struct seram_report *r, const struct seram_apdu *rapdu, size_t n,
    struct cpk_error *err)
{
	struct seram_response *v;
	struct seram_apdu *copy = NULL;
	cpk_status st;

	if (r->nresp >= SERAM_COMMANDS_MAX)
		return cpk_error_set(err, CPK_ERR_RANGE, "more than %d responses in one report",
		    SERAM_COMMANDS_MAX);
	if ((st = apdus_copy(&copy, rapdu, n, err)) != CPK_OK)
		return st;
	if ((v = realloc(r->resp, (r->nresp + 1) * sizeof(*v))) == NULL) {
		apdus_free(copy, n);
		return cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
	}
	r->resp = v;
	memset(&r->resp[r->nresp], 0, sizeof(r->resp[r->nresp]));
	r->resp[r->nresp].rapdu = copy;
	r->resp[r->nresp].n = n;
	r->nresp++;
	return CPK_OK;
}

/* --- encoding --- */

/* jansson reports allocation failures as NULL or -1: one flag for a whole document. */
struct enc {
	bool failed;
};

static json_t *
put(struct enc *e, json_t *obj, const char *key, json_t *v)
{
	if (v == NULL || json_object_set_new(obj, key, v) != 0)
		e->failed = true;
	return obj;
}

static json_t *
push(struct enc *e, json_t *arr, json_t *v)
{
	if (v == NULL || json_array_append_new(arr, v) != 0)
		e->failed = true;
	return arr;
}

static json_t *
hex_string(const struct seram_apdu *a)
{
	char *s;
	json_t *v;

	if ((s = malloc(2 * a->n + 1)) == NULL)
		return NULL;
	cpk_hex_encode(a->p, a->n, s, 2 * a->n + 1);
	v = json_stringn(s, 2 * a->n);
	free(s);
	return v;
}

static json_t *
apdu_list(struct enc *e, const struct seram_apdu *v, size_t n)
{
	json_t *arr = json_array();
	size_t i;

	if (arr == NULL) {
		e->failed = true;
		return NULL;
	}
	for (i = 0; i < n; i++)
		push(e, arr, hex_string(&v[i]));
	return arr;
}

static json_t *
string_list(struct enc *e, const char (*v)[SERAM_NAME_MAX + 1], size_t n)
{
	json_t *arr = json_array();
	size_t i;

	if (arr == NULL) {
		e->failed = true;
		return NULL;
	}
	for (i = 0; i < n; i++)
		push(e, arr, json_string(v[i]));
	return arr;
}

static json_t *
se_object(struct enc *e, const struct seram_se *se)
{
	json_t *o = json_object();

	if (o == NULL) {
		e->failed = true;
		return NULL;
	}
	put(e, o, "seType", json_string(se_type_names[se->type]));
	put(e, o, "seId", json_string(se->id));
	if (se->has_extra)
		put(e, o, "seExtraInfo", json_string(se->extra));
	return o;
}

/* Dump the document (compact, keys in insertion order) into out; doc is released. */
static cpk_status
finish(struct enc *e, json_t *doc, struct cpk_buf *out, struct cpk_error *err)
{
	char *s = NULL;
	cpk_status st;

	if (doc == NULL || e->failed ||
	    (s = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL) {
		json_decref(doc);
		return cpk_error_set(err, CPK_ERR_NOMEM, "out of memory (JSON message)");
	}
	json_decref(doc);
	st = cpk_buf_append(out, s, strlen(s), err);
	OPENSSL_cleanse(s, strlen(s));
	free(s);
	return st;
}

cpk_status
seram_handshake_encode(const struct seram_handshake *h, struct cpk_buf *out,
    struct cpk_error *err)
{
	struct enc e = { false };
	json_t *doc = json_object(), *ses = json_array(), *t;
	size_t i;

	if (ses == NULL)
		e.failed = true;
	for (i = 0; i < h->nse && ses != NULL; i++)
		push(&e, ses, se_object(&e, &h->se[i]));
	if (doc != NULL) {
		put(&e, doc, "secureElements", ses);
		if (h->ntransports > 0)
			put(&e, doc, "supportedTransportProtocols",
			    string_list(&e, h->transports, h->ntransports));
		if (h->nformats > 0)
			put(&e, doc, "supportedDataFormats", string_list(&e, h->formats, h->nformats));
		if (h->nversions > 0)
			put(&e, doc, "supportedVersions", string_list(&e, h->versions, h->nversions));
		if (h->has_technician) {
			if ((t = json_object()) != NULL) {
				put(&e, t, "user", json_string(h->technician.user));
				put(&e, t, "pin", json_string(h->technician.pin));
			}
			put(&e, doc, "cpkTechnician", t);
		}
	} else {
		json_decref(ses);
	}
	return finish(&e, doc, out, err);
}

cpk_status
seram_handshake_response_encode(const struct seram_handshake_response *h, struct cpk_buf *out,
    struct cpk_error *err)
{
	struct enc e = { false };
	json_t *doc = json_object();

	if (doc != NULL) {
		put(&e, doc, "chosenTransportProtocol", json_string(h->transport));
		put(&e, doc, "chosenDataFormat", json_string(h->format));
		put(&e, doc, "chosenVersion", json_string(h->version));
	}
	return finish(&e, doc, out, err);
}

static json_t *
holder_pin_object(struct enc *e, const struct seram_holder_pin *h)
{
	json_t *o = json_object();
	struct seram_apdu aid = { (uint8_t *)h->aid, h->aid_len };
	char ref[3];

	if (o == NULL) {
		e->failed = true;
		return NULL;
	}
	snprintf(ref, sizeof(ref), "%02X", h->reference);
	put(e, o, "aid", hex_string(&aid));
	put(e, o, "reference", json_string(ref));
	return o;
}

static json_t *
sw_string(uint16_t sw)
{
	char s[5];

	snprintf(s, sizeof(s), "%04X", sw);
	return json_string(s);
}

static json_t *
command_object(struct enc *e, const struct seram_command *c)
{
	json_t *o = json_object(), *acc, *sws, *labels;
	char pat[5];
	size_t i, k;

	if (o == NULL) {
		e->failed = true;
		return NULL;
	}
	put(e, o, "ramCommandType", json_string(command_names[c->type]));
	if (c->type == SERAM_CMD_SE_RAM) {
		put(e, o, "listOfCAPDU", apdu_list(e, c->capdu, c->ncapdu));
		if (c->accept != NULL) {
			if ((acc = json_array()) == NULL)
				e->failed = true;
			for (i = 0; i < c->ncapdu && acc != NULL; i++) {
				if ((sws = json_array()) == NULL)
					e->failed = true;
				for (k = 0; k < c->accept[i].nsw && sws != NULL; k++) {
					cpk_sw_pattern_format(&c->accept[i].sw[k], pat);
					push(e, sws, json_string(pat));
				}
				push(e, acc, sws);
			}
			put(e, o, "cpkAccept", acc);
		}
		if (c->labels != NULL) {
			if ((labels = json_array()) == NULL)
				e->failed = true;
			for (i = 0; i < c->ncapdu && labels != NULL; i++)
				push(e, labels, json_string(c->labels[i]));
			put(e, o, "cpkLabels", labels);
		}
		if (c->has_holder_pin)
			put(e, o, "cpkHolderPin", holder_pin_object(e, &c->holder_pin));
	} else if (c->type == SERAM_CMD_NOTIFICATION) {
		put(e, o, "deviceAppNotification", json_string(c->notification));
	}
	return o;
}

cpk_status
seram_order_encode(const struct seram_order *o, struct cpk_buf *out, struct cpk_error *err)
{
	struct enc e = { false };
	json_t *doc = json_object(), *cmds;
	size_t i;

	if (doc != NULL) {
		if (o->has_delay)
			put(&e, doc, "delay", json_integer(o->delay_ms));
		if (o->has_se)
			put(&e, doc, "chosenSecureElement", se_object(&e, &o->se));
		if (o->ncmds > 0) {
			if ((cmds = json_array()) == NULL)
				e.failed = true;
			for (i = 0; i < o->ncmds && cmds != NULL; i++)
				push(&e, cmds, command_object(&e, &o->cmds[i]));
			put(&e, doc, "ramCommands", cmds);
		}
	}
	return finish(&e, doc, out, err);
}

cpk_status
seram_report_encode(const struct seram_report *r, struct cpk_buf *out, struct cpk_error *err)
{
	struct enc e = { false };
	json_t *doc = json_object(), *st, *resps, *one;
	size_t i;

	if (doc != NULL) {
		if ((st = json_object()) != NULL) {
			put(&e, st, "localAgentStatusEnum", json_string(status_names[r->status]));
			put(&e, st, "executedSeRamCommands", json_integer((json_int_t)r->executed));
			if (r->error_msg != NULL)
				put(&e, st, "errorMsg", json_string(r->error_msg));
		}
		put(&e, doc, "localAgentStatus", st);
		if (r->nresp > 0) {
			if ((resps = json_array()) == NULL)
				e.failed = true;
			for (i = 0; i < r->nresp && resps != NULL; i++) {
				if ((one = json_object()) != NULL) {
					put(&e, one, "ramResponseType", json_string("seRamResponse"));
					put(&e, one, "listOfRAPDU", apdu_list(&e, r->resp[i].rapdu,
					    r->resp[i].n));
					if (r->resp[i].has_holder_sw)
						put(&e, one, "cpkHolderPinSw",
						    sw_string(r->resp[i].holder_sw));
				}
				push(&e, resps, one);
			}
			put(&e, doc, "ramResponses", resps);
		}
	}
	return finish(&e, doc, out, err);
}

/* --- decoding --- */

/* The member path of an error: "ramCommands[1].listOfCAPDU[3]". */
struct path {
	char s[160];
};

static void
path_key(struct path *child, const struct path *parent, const char *key)
{
	int r = snprintf(child->s, sizeof(child->s), "%s%s%s", parent->s,
	    parent->s[0] != '\0' ? "." : "", key);

	if (r < 0 || (size_t)r >= sizeof(child->s))
		memcpy(child->s + sizeof(child->s) - 4, "...", 4);
}

static void
path_index(struct path *child, const struct path *parent, size_t i)
{
	int r = snprintf(child->s, sizeof(child->s), "%s[%zu]", parent->s, i);

	if (r < 0 || (size_t)r >= sizeof(child->s))
		memcpy(child->s + sizeof(child->s) - 4, "...", 4);
}

static cpk_status
bad(struct cpk_error *err, cpk_status st, const struct path *p, const char *what)
{
	return cpk_error_set(err, st, "%s: %s", p->s[0] != '\0' ? p->s : "message", what);
}

/* obj must be an object whose members are all among names (NULL-terminated). */
static cpk_status
only_members(const json_t *obj, const struct path *p, const char *const *names,
    struct cpk_error *err)
{
	const char *key;
	json_t *v;
	size_t i;

	if (!json_is_object(obj))
		return bad(err, CPK_ERR_PARSE, p, "wants an object");
	json_object_foreach((json_t *)obj, key, v) {
		for (i = 0; names[i] != NULL; i++)
			if (strcmp(key, names[i]) == 0)
				break;
		if (names[i] == NULL) {
			struct path c;

			path_key(&c, p, key);
			return bad(err, CPK_ERR_PARSE, &c, "unknown member");
		}
	}
	return CPK_OK;
}

/* A required (or optional: *out NULL when absent) member. */
static cpk_status
member(const json_t *obj, const char *key, bool required, const struct path *p, json_t **out,
    struct cpk_error *err)
{
	struct path c;

	*out = json_object_get(obj, key);
	if (*out == NULL && required) {
		path_key(&c, p, key);
		return bad(err, CPK_ERR_PARSE, &c, "missing");
	}
	return CPK_OK;
}

/*
 * Does UTF-8 text s hold a control character (C0, DEL or C1)? Strings reach
 * logs and terminals: a line feed or an escape sequence in one would forge
 * log lines or drive the terminal.
 */
static bool
has_control(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i;

	for (i = 0; i < n; i++) {
		if (u[i] < 0x20 || u[i] == 0x7F)
			return true;
		/* C1: U+0080..U+009F, in UTF-8 C2 80..C2 9F (jansson checked the encoding). */
		if (u[i] == 0xC2 && i + 1 < n && u[i + 1] >= 0x80 && u[i + 1] <= 0x9F)
			return true;
	}
	return false;
}

/* A string of 1..max bytes (0..max with allow_empty), no NUL nor control, into a caller's array. */
static cpk_status
string_into(const json_t *v, const struct path *p, char *out, size_t max, bool allow_empty,
    struct cpk_error *err)
{
	size_t n;

	if (!json_is_string(v))
		return bad(err, CPK_ERR_PARSE, p, "wants a string");
	n = json_string_length(v);
	if (memchr(json_string_value(v), '\0', n) != NULL)
		return bad(err, CPK_ERR_PARSE, p, "holds a NUL character");
	if (has_control(json_string_value(v), n))
		return bad(err, CPK_ERR_PARSE, p, "holds a control character");
	if (n > max || (n == 0 && !allow_empty))
		return cpk_error_set(err, CPK_ERR_RANGE, "%s: wants 1 to %zu bytes, not %zu", p->s,
		    max, n);
	memcpy(out, json_string_value(v), n);
	out[n] = '\0';
	return CPK_OK;
}

static cpk_status
enum_value(const json_t *v, const struct path *p, const char *const *names, int *out,
    struct cpk_error *err)
{
	size_t i;

	if (!json_is_string(v))
		return bad(err, CPK_ERR_PARSE, p, "wants a string");
	for (i = 0; names[i] != NULL; i++) {
		if (strcmp(json_string_value(v), names[i]) == 0 &&
		    strlen(names[i]) == json_string_length(v)) {
			*out = (int)i;
			return CPK_OK;
		}
	}
	return cpk_error_set(err, CPK_ERR_PARSE, "%s: '%.40s' is not one of the values the "
	    "SERAM schema allows", p->s, json_string_value(v));
}

static cpk_status
array_of(const json_t *v, const struct path *p, size_t min, size_t max, size_t *n,
    struct cpk_error *err)
{
	if (!json_is_array(v))
		return bad(err, CPK_ERR_PARSE, p, "wants an array");
	*n = json_array_size(v);
	if (*n < min || *n > max)
		return cpk_error_set(err, CPK_ERR_RANGE, "%s: wants %zu to %zu entries, not %zu",
		    p->s, min, max, *n);
	return CPK_OK;
}

/* An APDU: uppercase hex digits, whole bytes (the schema's pattern); "" when allow_empty. */
static cpk_status
apdu_value(const json_t *v, const struct path *p, bool allow_empty, struct seram_apdu *out,
    struct cpk_error *err)
{
	const char *s;
	size_t n, i;

	out->p = NULL;
	out->n = 0;
	if (!json_is_string(v))
		return bad(err, CPK_ERR_PARSE, p, "wants a hex string");
	s = json_string_value(v);
	n = json_string_length(v);
	if (n == 0 && allow_empty)
		return CPK_OK;
	if (n == 0 || n % 2 != 0 || n / 2 > SERAM_APDU_MAX)
		return cpk_error_set(err, n / 2 > SERAM_APDU_MAX ? CPK_ERR_RANGE : CPK_ERR_PARSE,
		    "%s: wants an APDU of 1 to %d bytes in hex (an even number of digits), not %zu "
		    "digits", p->s, SERAM_APDU_MAX, n);
	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'F')))
			return cpk_error_set(err, CPK_ERR_PARSE, "%s: character %zu is not an "
			    "uppercase hex digit", p->s, i + 1);
	if (allow_empty && n < 4)
		return cpk_error_set(err, CPK_ERR_PARSE, "%s: a response APDU ends with its two "
		    "status bytes; %zu digits are too few", p->s, n);
	if ((out->p = malloc(n / 2)) == NULL)
		return cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
	out->n = n / 2;
	for (i = 0; i < out->n; i++)
		out->p[i] = (uint8_t)(cpk_hex_value(s[2 * i]) << 4 | cpk_hex_value(s[2 * i + 1]));
	return CPK_OK;
}

static cpk_status
apdu_array(const json_t *v, const struct path *p, bool response, struct seram_apdu **out,
    size_t *nout, struct cpk_error *err)
{
	struct seram_apdu *a = NULL;
	struct path c;
	size_t n = 0, i;
	cpk_status st;

	*out = NULL;
	*nout = 0;
	if ((st = array_of(v, p, response ? 0 : 1, SERAM_APDUS_MAX, &n, err)) != CPK_OK)
		return st;
	if (n > 0 && (a = calloc(n, sizeof(*a))) == NULL)
		return cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		path_index(&c, p, i);
		if ((st = apdu_value(json_array_get(v, i), &c, response, &a[i], err)) != CPK_OK) {
			apdus_free(a, n);
			return st;
		}
	}
	*out = a;
	*nout = n;
	return CPK_OK;
}

static const char *const se_members[] = { "seType", "seId", "seExtraInfo", NULL };

static cpk_status
se_value(const json_t *v, const struct path *p, struct seram_se *out, struct cpk_error *err)
{
	struct path c;
	json_t *t, *id, *x;
	int type;
	cpk_status st;

	memset(out, 0, sizeof(*out));
	if ((st = only_members(v, p, se_members, err)) != CPK_OK ||
	    (st = member(v, "seType", true, p, &t, err)) != CPK_OK ||
	    (st = member(v, "seId", true, p, &id, err)) != CPK_OK ||
	    (st = member(v, "seExtraInfo", false, p, &x, err)) != CPK_OK)
		return st;
	path_key(&c, p, "seType");
	if ((st = enum_value(t, &c, se_type_names, &type, err)) != CPK_OK)
		return st;
	out->type = (enum seram_se_type)type;
	path_key(&c, p, "seId");
	if ((st = string_into(id, &c, out->id, SERAM_SE_ID_MAX, false, err)) != CPK_OK)
		return st;
	if (x != NULL) {
		path_key(&c, p, "seExtraInfo");
		out->has_extra = true;
		st = string_into(x, &c, out->extra, SERAM_SE_EXTRA_MAX, true, err);
	}
	return st;
}

static cpk_status
parse_doc(const uint8_t *p, size_t n, json_t **out, struct cpk_error *err)
{
	json_error_t je;

	*out = NULL;
	if (n > SERAM_BODY_MAX)
		return cpk_error_set(err, CPK_ERR_RANGE, "a SERAM message of %zu bytes (at most %zu)",
		    n, SERAM_BODY_MAX);
	if ((*out = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, &je)) == NULL)
		return cpk_error_set(err, CPK_ERR_PARSE, "not a JSON document: %s (line %d, column "
		    "%d)", je.text, je.line, je.column);
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return cpk_error_set(err, CPK_ERR_PARSE, "a SERAM message is a JSON object");
	}
	return CPK_OK;
}

static cpk_status
name_list(const json_t *v, const struct path *p, char (*out)[SERAM_NAME_MAX + 1], size_t *n,
    struct cpk_error *err)
{
	struct path c;
	size_t i;
	cpk_status st;

	if ((st = array_of(v, p, 1, SERAM_LIST_MAX, n, err)) != CPK_OK)
		return st;
	for (i = 0; i < *n; i++) {
		path_index(&c, p, i);
		if ((st = string_into(json_array_get(v, i), &c, out[i], SERAM_NAME_MAX, false,
		    err)) != CPK_OK)
			return st;
	}
	return CPK_OK;
}

static const char *const handshake_members[] = { "secureElements",
    "supportedTransportProtocols", "supportedDataFormats", "supportedVersions",
    "cpkTechnician", NULL };
static const char *const technician_members[] = { "user", "pin", NULL };

static cpk_status
technician_value(const json_t *v, const struct path *p, struct seram_technician *out,
    struct cpk_error *err)
{
	struct path c;
	json_t *u, *pin;
	cpk_status st;

	if ((st = only_members(v, p, technician_members, err)) != CPK_OK ||
	    (st = member(v, "user", true, p, &u, err)) != CPK_OK ||
	    (st = member(v, "pin", true, p, &pin, err)) != CPK_OK)
		return st;
	path_key(&c, p, "user");
	if ((st = string_into(u, &c, out->user, SERAM_USER_MAX, false, err)) != CPK_OK)
		return st;
	path_key(&c, p, "pin");
	return string_into(pin, &c, out->pin, SERAM_PIN_MAX, false, err);
}

cpk_status
seram_handshake_decode(const uint8_t *p, size_t n, struct seram_handshake *out,
    struct cpk_error *err)
{
	struct path root = { "" }, c, ci;
	json_t *doc = NULL, *v;
	size_t i;
	cpk_status st;

	memset(out, 0, sizeof(*out));
	if ((st = parse_doc(p, n, &doc, err)) != CPK_OK ||
	    (st = only_members(doc, &root, handshake_members, err)) != CPK_OK ||
	    (st = member(doc, "secureElements", true, &root, &v, err)) != CPK_OK)
		goto out;
	path_key(&c, &root, "secureElements");
	if ((st = array_of(v, &c, 1, SERAM_SE_MAX, &out->nse, err)) != CPK_OK)
		goto out;
	for (i = 0; i < out->nse; i++) {
		path_index(&ci, &c, i);
		if ((st = se_value(json_array_get(v, i), &ci, &out->se[i], err)) != CPK_OK)
			goto out;
	}
	if ((v = json_object_get(doc, "supportedTransportProtocols")) != NULL) {
		path_key(&c, &root, "supportedTransportProtocols");
		if ((st = name_list(v, &c, out->transports, &out->ntransports, err)) != CPK_OK)
			goto out;
	}
	if ((v = json_object_get(doc, "supportedDataFormats")) != NULL) {
		path_key(&c, &root, "supportedDataFormats");
		if ((st = name_list(v, &c, out->formats, &out->nformats, err)) != CPK_OK)
			goto out;
	}
	if ((v = json_object_get(doc, "supportedVersions")) != NULL) {
		path_key(&c, &root, "supportedVersions");
		if ((st = name_list(v, &c, out->versions, &out->nversions, err)) != CPK_OK)
			goto out;
	}
	if ((v = json_object_get(doc, "cpkTechnician")) != NULL) {
		path_key(&c, &root, "cpkTechnician");
		out->has_technician = true;
		st = technician_value(v, &c, &out->technician, err);
	}
out:
	json_decref(doc);
	if (st != CPK_OK)
		seram_handshake_clear(out);
	return st;
}

static const char *const hs_response_members[] = { "chosenTransportProtocol",
    "chosenDataFormat", "chosenVersion", NULL };

cpk_status
seram_handshake_response_decode(const uint8_t *p, size_t n, struct seram_handshake_response *out,
    struct cpk_error *err)
{
	struct path root = { "" }, c;
	json_t *doc = NULL, *t, *f, *v;
	cpk_status st;

	memset(out, 0, sizeof(*out));
	if ((st = parse_doc(p, n, &doc, err)) != CPK_OK ||
	    (st = only_members(doc, &root, hs_response_members, err)) != CPK_OK ||
	    (st = member(doc, "chosenTransportProtocol", true, &root, &t, err)) != CPK_OK ||
	    (st = member(doc, "chosenDataFormat", true, &root, &f, err)) != CPK_OK ||
	    (st = member(doc, "chosenVersion", true, &root, &v, err)) != CPK_OK)
		goto out;
	path_key(&c, &root, "chosenTransportProtocol");
	if ((st = string_into(t, &c, out->transport, SERAM_NAME_MAX, false, err)) != CPK_OK)
		goto out;
	path_key(&c, &root, "chosenDataFormat");
	if ((st = string_into(f, &c, out->format, SERAM_NAME_MAX, false, err)) != CPK_OK)
		goto out;
	path_key(&c, &root, "chosenVersion");
	st = string_into(v, &c, out->version, SERAM_NAME_MAX, false, err);
out:
	json_decref(doc);
	return st;
}

static cpk_status
accept_list(const json_t *v, const struct path *p, size_t ncapdu, struct seram_accept **out,
    struct cpk_error *err)
{
	struct seram_accept *a;
	struct path c, cs;
	size_t n = 0, i, k, nsw = 0;
	char s[5];
	cpk_status st;

	if ((st = array_of(v, p, ncapdu, ncapdu, &n, err)) != CPK_OK)
		return st;
	if ((a = calloc(n, sizeof(*a))) == NULL)
		return cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		path_index(&c, p, i);
		if ((st = array_of(json_array_get(v, i), &c, 1, CPK_SW_MAX, &nsw, err)) != CPK_OK)
			goto fail;
		for (k = 0; k < nsw; k++) {
			path_index(&cs, &c, k);
			if ((st = string_into(json_array_get(json_array_get(v, i), k), &cs, s, 4,
			    false, err)) != CPK_OK)
				goto fail;
			if (strlen(s) != 4 ||
			    (st = cpk_sw_pattern_parse(s, &a[i].sw[k], err)) != CPK_OK) {
				st = cpk_error_set(err, CPK_ERR_PARSE, "%s: '%s' is no status word "
				    "pattern (four hex digits or x)", cs.s, s);
				goto fail;
			}
		}
		a[i].nsw = nsw;
	}
	*out = a;
	return CPK_OK;
fail:
	free(a);
	return st;
}

static cpk_status
label_list(const json_t *v, const struct path *p, size_t ncapdu,
    char (**out)[CPK_LABEL_MAX + 1], struct cpk_error *err)
{
	char (*l)[CPK_LABEL_MAX + 1];
	struct path c;
	size_t n = 0, i;
	cpk_status st;

	if ((st = array_of(v, p, ncapdu, ncapdu, &n, err)) != CPK_OK)
		return st;
	if ((l = calloc(n, sizeof(*l))) == NULL)
		return cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		path_index(&c, p, i);
		if ((st = string_into(json_array_get(v, i), &c, l[i], CPK_LABEL_MAX, false,
		    err)) != CPK_OK) {
			free(l);
			return st;
		}
	}
	*out = l;
	return CPK_OK;
}

static const char *const holder_pin_members[] = { "aid", "reference", NULL };

/* Exactly `want` bytes (0: 5..16, an AID) of uppercase hex into out. */
static cpk_status
hex_field(const json_t *v, const struct path *p, size_t want, uint8_t *out, size_t *n,
    struct cpk_error *err)
{
	struct seram_apdu a;
	cpk_status st;

	if ((st = apdu_value(v, p, false, &a, err)) != CPK_OK)
		return st;
	if (want != 0 && a.n != want)
		st = cpk_error_set(err, CPK_ERR_RANGE, "%s: %zu bytes, not %zu", p->s, a.n, want);
	else if (want == 0 && (a.n < 5 || a.n > 16))
		st = cpk_error_set(err, CPK_ERR_RANGE, "%s: %zu bytes, not 5 to 16 (an AID)", p->s,
		    a.n);
	else
		memcpy(out, a.p, a.n);
	*n = a.n;
	free(a.p);
	return st;
}

static cpk_status
holder_pin_value(const json_t *v, const struct path *p, struct seram_holder_pin *out,
    struct cpk_error *err)
{
	struct path c;
	json_t *aid, *ref;
	size_t n;
	cpk_status st;

	if ((st = only_members(v, p, holder_pin_members, err)) != CPK_OK ||
	    (st = member(v, "aid", true, p, &aid, err)) != CPK_OK ||
	    (st = member(v, "reference", true, p, &ref, err)) != CPK_OK)
		return st;
	path_key(&c, p, "aid");
	if ((st = hex_field(aid, &c, 0, out->aid, &out->aid_len, err)) != CPK_OK)
		return st;
	path_key(&c, p, "reference");
	return hex_field(ref, &c, 1, &out->reference, &n, err);
}

static const char *const command_members[][6] = {
	[SERAM_CMD_START] = { "ramCommandType", NULL },
	[SERAM_CMD_SE_RAM] = { "ramCommandType", "listOfCAPDU", "cpkAccept", "cpkLabels",
	    "cpkHolderPin", NULL },
	[SERAM_CMD_NOTIFICATION] = { "ramCommandType", "deviceAppNotification", NULL },
	[SERAM_CMD_STOP] = { "ramCommandType", NULL },
};

static cpk_status
command_value(const json_t *v, const struct path *p, struct seram_command *out,
    struct cpk_error *err)
{
	struct path c;
	json_t *t, *x;
	char text[SERAM_TEXT_MAX + 1];
	int type;
	cpk_status st;

	if (!json_is_object(v))
		return bad(err, CPK_ERR_PARSE, p, "wants an object");
	if ((st = member(v, "ramCommandType", true, p, &t, err)) != CPK_OK)
		return st;
	path_key(&c, p, "ramCommandType");
	if ((st = enum_value(t, &c, command_names, &type, err)) != CPK_OK)
		return st;
	out->type = (enum seram_command_type)type;
	if ((st = only_members(v, p, command_members[type], err)) != CPK_OK)
		return st;
	if (out->type == SERAM_CMD_NOTIFICATION) {
		if ((st = member(v, "deviceAppNotification", true, p, &x, err)) != CPK_OK)
			return st;
		path_key(&c, p, "deviceAppNotification");
		if ((st = string_into(x, &c, text, SERAM_TEXT_MAX, true, err)) != CPK_OK)
			return st;
		if ((out->notification = strdup(text)) == NULL)
			return cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
		return CPK_OK;
	}
	if (out->type != SERAM_CMD_SE_RAM)
		return CPK_OK;
	if ((st = member(v, "listOfCAPDU", true, p, &x, err)) != CPK_OK)
		return st;
	path_key(&c, p, "listOfCAPDU");
	if ((st = apdu_array(x, &c, false, &out->capdu, &out->ncapdu, err)) != CPK_OK)
		return st;
	if ((x = json_object_get(v, "cpkAccept")) != NULL) {
		path_key(&c, p, "cpkAccept");
		if ((st = accept_list(x, &c, out->ncapdu, &out->accept, err)) != CPK_OK)
			return st;
	}
	if ((x = json_object_get(v, "cpkLabels")) != NULL) {
		path_key(&c, p, "cpkLabels");
		if ((st = label_list(x, &c, out->ncapdu, &out->labels, err)) != CPK_OK)
			return st;
	}
	if ((x = json_object_get(v, "cpkHolderPin")) != NULL) {
		path_key(&c, p, "cpkHolderPin");
		out->has_holder_pin = true;
		st = holder_pin_value(x, &c, &out->holder_pin, err);
	}
	return st;
}

static const char *const order_members[] = { "delay", "chosenSecureElement", "ramCommands",
    NULL };

cpk_status
seram_order_decode(const uint8_t *p, size_t n, struct seram_order *out, struct cpk_error *err)
{
	struct path root = { "" }, c, ci;
	json_t *doc = NULL, *v;
	json_int_t d;
	size_t i, ncmds = 0;
	cpk_status st;

	memset(out, 0, sizeof(*out));
	if ((st = parse_doc(p, n, &doc, err)) != CPK_OK ||
	    (st = only_members(doc, &root, order_members, err)) != CPK_OK)
		goto out;
	if ((v = json_object_get(doc, "delay")) != NULL) {
		path_key(&c, &root, "delay");
		if (!json_is_integer(v)) {
			st = bad(err, CPK_ERR_PARSE, &c, "wants an integer (milliseconds)");
			goto out;
		}
		d = json_integer_value(v);
		if (d < 0 || d > (json_int_t)SERAM_DELAY_MAX) {
			st = cpk_error_set(err, CPK_ERR_RANGE, "delay: wants 0 to %u ms, not %lld",
			    SERAM_DELAY_MAX, (long long)d);
			goto out;
		}
		out->has_delay = true;
		out->delay_ms = (uint32_t)d;
	}
	if ((v = json_object_get(doc, "chosenSecureElement")) != NULL) {
		path_key(&c, &root, "chosenSecureElement");
		out->has_se = true;
		if ((st = se_value(v, &c, &out->se, err)) != CPK_OK)
			goto out;
	}
	if ((v = json_object_get(doc, "ramCommands")) != NULL) {
		path_key(&c, &root, "ramCommands");
		if ((st = array_of(v, &c, 1, SERAM_COMMANDS_MAX, &ncmds, err)) != CPK_OK)
			goto out;
		if ((out->cmds = calloc(ncmds, sizeof(*out->cmds))) == NULL) {
			st = cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
			goto out;
		}
		for (i = 0; i < ncmds; i++) {
			path_index(&ci, &c, i);
			out->ncmds = i + 1;
			if ((st = command_value(json_array_get(v, i), &ci, &out->cmds[i], err)) !=
			    CPK_OK)
				goto out;
		}
	}
out:
	json_decref(doc);
	if (st != CPK_OK)
		seram_order_clear(out);
	return st;
}

static const char *const report_members[] = { "localAgentStatus", "ramResponses", NULL };
static const char *const status_members[] = { "localAgentStatusEnum", "executedSeRamCommands",
    "errorMsg", NULL };
static const char *const response_members[] = { "ramResponseType", "listOfRAPDU",
    "cpkHolderPinSw", NULL };
static const char *const response_names[] = { "seRamResponse", NULL };

static cpk_status
status_value(const json_t *v, const struct path *p, struct seram_report *out,
    struct cpk_error *err)
{
	struct path c;
	json_t *e, *x, *m;
	char text[SERAM_TEXT_MAX + 1];
	int s;
	cpk_status st;

	if ((st = only_members(v, p, status_members, err)) != CPK_OK ||
	    (st = member(v, "localAgentStatusEnum", true, p, &e, err)) != CPK_OK ||
	    (st = member(v, "executedSeRamCommands", true, p, &x, err)) != CPK_OK ||
	    (st = member(v, "errorMsg", false, p, &m, err)) != CPK_OK)
		return st;
	path_key(&c, p, "localAgentStatusEnum");
	if ((st = enum_value(e, &c, status_names, &s, err)) != CPK_OK)
		return st;
	out->status = (enum seram_agent_status)s;
	path_key(&c, p, "executedSeRamCommands");
	if (!json_is_integer(x) || json_integer_value(x) < 0 ||
	    json_integer_value(x) > SERAM_COMMANDS_MAX)
		return cpk_error_set(err, CPK_ERR_PARSE, "%s: wants an integer from 0 to %d", c.s,
		    SERAM_COMMANDS_MAX);
	out->executed = (size_t)json_integer_value(x);
	if (m != NULL) {
		path_key(&c, p, "errorMsg");
		if ((st = string_into(m, &c, text, SERAM_TEXT_MAX, true, err)) != CPK_OK)
			return st;
		if ((out->error_msg = strdup(text)) == NULL)
			return cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
	}
	return CPK_OK;
}

cpk_status
seram_report_decode(const uint8_t *p, size_t n, struct seram_report *out, struct cpk_error *err)
{
	struct path root = { "" }, c, ci, cl;
	json_t *doc = NULL, *v, *one, *t, *l;
	size_t i, nresp = 0;
	int type;
	cpk_status st;

	memset(out, 0, sizeof(*out));
	if ((st = parse_doc(p, n, &doc, err)) != CPK_OK ||
	    (st = only_members(doc, &root, report_members, err)) != CPK_OK ||
	    (st = member(doc, "localAgentStatus", true, &root, &v, err)) != CPK_OK)
		goto out;
	path_key(&c, &root, "localAgentStatus");
	if ((st = status_value(v, &c, out, err)) != CPK_OK)
		goto out;
	if ((v = json_object_get(doc, "ramResponses")) == NULL)
		goto out;
	path_key(&c, &root, "ramResponses");
	if ((st = array_of(v, &c, 1, SERAM_COMMANDS_MAX, &nresp, err)) != CPK_OK)
		goto out;
	if ((out->resp = calloc(nresp, sizeof(*out->resp))) == NULL) {
		st = cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < nresp; i++) {
		one = json_array_get(v, i);
		path_index(&ci, &c, i);
		out->nresp = i + 1;
		if ((st = only_members(one, &ci, response_members, err)) != CPK_OK ||
		    (st = member(one, "ramResponseType", true, &ci, &t, err)) != CPK_OK ||
		    (st = member(one, "listOfRAPDU", true, &ci, &l, err)) != CPK_OK)
			goto out;
		path_key(&cl, &ci, "ramResponseType");
		if ((st = enum_value(t, &cl, response_names, &type, err)) != CPK_OK)
			goto out;
		path_key(&cl, &ci, "listOfRAPDU");
		if ((st = apdu_array(l, &cl, true, &out->resp[i].rapdu, &out->resp[i].n, err)) !=
		    CPK_OK)
			goto out;
		if ((t = json_object_get(one, "cpkHolderPinSw")) != NULL) {
			uint8_t sw[2];
			size_t nsw;

			path_key(&cl, &ci, "cpkHolderPinSw");
			if ((st = hex_field(t, &cl, 2, sw, &nsw, err)) != CPK_OK)
				goto out;
			out->resp[i].has_holder_sw = true;
			out->resp[i].holder_sw = (uint16_t)(sw[0] << 8 | sw[1]);
		}
	}
out:
	json_decref(doc);
	if (st != CPK_OK)
		seram_report_clear(out);
	return st;
}
