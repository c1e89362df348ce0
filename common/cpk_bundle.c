/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: the bundle manifest (manifest.yaml), the signature entry
 * (manifest.sig), key ids and fault names. The format is described in
 * cpk_bundle.h and cpk(5).
 */
#include "cpk_bundle.h"
#include "scp_iu.h"

#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MANIFEST_NAME CPK_ENTRY_MANIFEST
#define CREATED_MAX UINT64_C(253402300799)	/* 9999-12-31T23:59:59Z */

const char *
cpk_bundle_fault_name(enum cpk_bundle_fault f)
{
	switch (f) {
	case CPK_FAULT_NONE:
		return "none";
	case CPK_FAULT_CONTAINER:
		return "container";
	case CPK_FAULT_SIGNATURE_FORMAT:
		return "signature-format";
	case CPK_FAULT_UNKNOWN_KEY:
		return "unknown-key";
	case CPK_FAULT_BAD_SIGNATURE:
		return "bad-signature";
	case CPK_FAULT_VERSION:
		return "unsupported-version";
	case CPK_FAULT_MANIFEST:
		return "manifest";
	case CPK_FAULT_HASH:
		return "hash-mismatch";
	case CPK_FAULT_SCRIPT:
		return "script";
	}
	return "unknown";
}

/* --- hashes and key ids --- */

cpk_status
cpk_sha256(const void *p, size_t n, uint8_t out[CPK_SHA256_LEN], struct cpk_error *err)
{
	unsigned int len = 0;
	cpk_status st = CPK_ERR_CRYPTO;

	if (EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) != 1 || len != CPK_SHA256_LEN) {
		cpk_error_set(err, st, "SHA-256 failed");
		goto out;
	}
	st = CPK_OK;
out:
	return st;
}

cpk_status
cpk_key_id(const uint8_t pub[CPK_ED25519_KEY_LEN], uint8_t id[CPK_KEY_ID_LEN],
    struct cpk_error *err)
{
	uint8_t md[CPK_SHA256_LEN];
	cpk_status st;

	if ((st = cpk_sha256(pub, CPK_ED25519_KEY_LEN, md, err)) != CPK_OK)
		goto out;
	memcpy(id, md, CPK_KEY_ID_LEN);
out:
	return st;
}

void
cpk_key_id_hex(const uint8_t id[CPK_KEY_ID_LEN], char out[2 * CPK_KEY_ID_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < CPK_KEY_ID_LEN; i++) {
		out[2 * i] = digits[id[i] >> 4];
		out[2 * i + 1] = digits[id[i] & 0x0f];
	}
	out[2 * CPK_KEY_ID_LEN] = '\0';
}

cpk_status
cpk_sig_parse(const uint8_t *p, size_t n, uint8_t key_id[CPK_KEY_ID_LEN], const uint8_t **sig,
    struct cpk_error *err)
{
	cpk_status st;

	if (n != CPK_SIG_LEN) {
		st = cpk_error_set(err, CPK_ERR_PARSE,
		    "%s is %zu bytes; a cpk signature is exactly %d bytes",
		    CPK_ENTRY_SIGNATURE, n, CPK_SIG_LEN);
		goto out;
	}
	if (memcmp(p, CPK_SIG_ALG, 2) != 0) {
		st = cpk_error_set(err, CPK_ERR_UNSUPPORTED,
		    "%s: unknown signature algorithm 0x%02X%02X (this cpk knows Ed25519, \"%s\")",
		    CPK_ENTRY_SIGNATURE, p[0], p[1], CPK_SIG_ALG);
		goto out;
	}
	memcpy(key_id, p + 2, CPK_KEY_ID_LEN);
	*sig = p + 2 + CPK_KEY_ID_LEN;
	st = CPK_OK;
out:
	return st;
}

/* --- the manifest schema --- */

enum mf_type { MF_SECTION, MF_INT, MF_HEX, MF_STR, MF_MODE };
enum mf_sec { SEC_TOP, SEC_CARD, SEC_CHANNEL, SEC_CAPTURES };
enum mf_field {
	F_FORMAT, F_COMPILER, F_PROFILE, F_PROFILE_SHA256, F_CREATED, F_MODE,
	F_CARD, F_SERIAL, F_KDD, F_SD_AID, F_IIN, F_CIN,
	F_CHANNEL, F_SCP, F_I, F_KVN, F_LEVEL, F_COUNTER, F_HOST_CHALLENGE, F_IU_RESPONSE,
	F_COMMANDS, F_SCRIPT_SIZE, F_SCRIPT_SHA256, F_CAPTURES,
	F_COUNT
};

/*
 * The table is the order of the file. min/max: the value range (MF_INT),
 * the byte count (MF_HEX) or the character count (MF_STR).
 */
static const struct mf_entry {
	const char *key;
	enum mf_sec sec;
	enum mf_type type;
	bool required;
	uint64_t min, max;
} mf_table[F_COUNT] = {
	[F_FORMAT] = { "format", SEC_TOP, MF_INT, true, 1, UINT32_MAX },
	[F_COMPILER] = { "compiler", SEC_TOP, MF_STR, true, 1, CPK_MANIFEST_STR_MAX },
	[F_PROFILE] = { "profile", SEC_TOP, MF_STR, true, 1, CPK_MANIFEST_STR_MAX },
	[F_PROFILE_SHA256] = { "profile-sha256", SEC_TOP, MF_HEX, true, 32, 32 },
	[F_CREATED] = { "created", SEC_TOP, MF_INT, true, 0, CREATED_MAX },
	[F_MODE] = { "mode", SEC_TOP, MF_MODE, true, 0, 0 },
	[F_CARD] = { "card", SEC_TOP, MF_SECTION, true, 0, 0 },
	[F_SERIAL] = { "serial", SEC_CARD, MF_STR, false, 1, CPK_SERIAL_MAX },
	[F_KDD] = { "kdd", SEC_CARD, MF_HEX, true, 10, 10 },
	[F_SD_AID] = { "sd-aid", SEC_CARD, MF_HEX, true, 5, 16 },
	[F_IIN] = { "iin", SEC_CARD, MF_HEX, false, 1, CPK_CARD_DATA_MAX },
	[F_CIN] = { "cin", SEC_CARD, MF_HEX, false, 1, CPK_CARD_DATA_MAX },
	[F_CHANNEL] = { "channel", SEC_TOP, MF_SECTION, true, 0, 0 },
	[F_SCP] = { "scp", SEC_CHANNEL, MF_HEX, true, 1, 1 },
	[F_I] = { "i", SEC_CHANNEL, MF_HEX, true, 1, 1 },
	[F_KVN] = { "kvn", SEC_CHANNEL, MF_HEX, true, 1, 1 },
	[F_LEVEL] = { "level", SEC_CHANNEL, MF_HEX, true, 1, 1 },
	[F_COUNTER] = { "counter", SEC_CHANNEL, MF_HEX, false, 2, 3 },
	[F_HOST_CHALLENGE] = { "host-challenge", SEC_CHANNEL, MF_HEX, false, 8, 8 },
	[F_IU_RESPONSE] = { "iu-response", SEC_CHANNEL, MF_HEX, false, 28, 32 },
	[F_COMMANDS] = { "commands", SEC_TOP, MF_INT, true, 1, CPK_SCRIPT_MAX_COMMANDS },
	[F_SCRIPT_SIZE] = { "script-size", SEC_TOP, MF_INT, true, CPK_SCRIPT_HEADER_LEN,
	    CPK_SCRIPT_MAX_SIZE },
	[F_SCRIPT_SHA256] = { "script-sha256", SEC_TOP, MF_HEX, true, 32, 32 },
	/* Its lines are `NAME: COMMAND` (mf_capture_line), not table keys. */
	[F_CAPTURES] = { "captures", SEC_TOP, MF_SECTION, false, 0, 0 },
};

/* The value of a capture line. */
static const struct mf_entry capture_entry = {
	"captures", SEC_CAPTURES, MF_INT, false, 1, CPK_SCRIPT_MAX_COMMANDS
};

static const char *const sec_names[] = { "", "card", "channel", "captures" };

/* One parsed value. */
struct mf_value {
	uint64_t u;
	uint8_t bytes[32];
	size_t len;
	char str[CPK_MANIFEST_STR_MAX + 1];
	enum cpk_bundle_mode mode;
};

static bool
printable_ascii(unsigned char ch)
{
	return ch >= 0x20 && ch < 0x7f;
}

/* A manifest string: 1..max printable ASCII characters. */
static cpk_status
check_string(const char *what, const char *s, size_t max, bool optional, struct cpk_error *err)
{
	size_t len = strnlen(s, max + 1), i;
	cpk_status st = CPK_ERR_RANGE;

	if (len == 0 && !optional) {
		cpk_error_set(err, st, "manifest: '%s' is empty", what);
		goto out;
	}
	if (len > max) {
		cpk_error_set(err, st, "manifest: '%s' is longer than %zu characters", what, max);
		goto out;
	}
	for (i = 0; i < len; i++) {
		if (!printable_ascii((unsigned char)s[i])) {
			cpk_error_set(err, st,
			    "manifest: '%s' holds byte 0x%02X at position %zu; manifest strings "
			    "are printable ASCII", what, (unsigned char)s[i], i + 1);
			goto out;
		}
	}
	st = CPK_OK;
out:
	return st;
}

/* Does the expected INITIALIZE UPDATE response agree with the channel fields? */
static cpk_status
check_iu_response(const struct cpk_manifest *m, struct cpk_error *err)
{
	/* check_channel found the protocol in the table. */
	const struct scp_proto *proto = scp_proto_find(m->scp);
	struct scp_iu_response iu;
	size_t want = scp_proto_iu_len(proto, m->i);
	cpk_status st = CPK_ERR_PARSE;

	if (m->iu_response_len != want) {
		cpk_error_set(err, st,
		    "manifest: iu-response is %zu bytes; SCP%02X with i=%02X answers %zu",
		    m->iu_response_len, m->scp, m->i, want);
		goto out;
	}
	if (scp_iu_response_parse(m->iu_response, m->iu_response_len, &iu, err) != CPK_OK) {
		cpk_error_prefix(err, "manifest: iu-response");
		goto out;
	}
	if (memcmp(iu.kdd, m->kdd, sizeof(m->kdd)) != 0) {
		cpk_error_set(err, st, "manifest: iu-response does not start with the card's kdd");
		goto out;
	}
	if (iu.kvn != m->kvn || iu.scp != m->scp) {
		cpk_error_set(err, st,
		    "manifest: iu-response key information %02X%02X differs from kvn %02X, scp %02X",
		    iu.kvn, iu.scp, m->kvn, m->scp);
		goto out;
	}
	if (proto->iu_has_i && iu.i != m->i) {
		cpk_error_set(err, st, "manifest: iu-response says i=%02X but channel i is %02X",
		    iu.i, m->i);
		goto out;
	}
	if (m->counter_len > 0 && iu.counter_len > 0 &&
	    memcmp(iu.counter, m->counter, m->counter_len) != 0) {
		cpk_error_set(err, st,
		    "manifest: iu-response carries another sequence counter than 'counter'");
		goto out;
	}
	st = CPK_OK;
out:
	return st;
}

static cpk_status
check_channel(const struct cpk_manifest *m, struct cpk_error *err)
{
	const struct scp_proto *proto = scp_proto_find(m->scp);
	char known[64];
	cpk_status st = CPK_ERR_PARSE;

	if (proto == NULL) {
		scp_proto_list_text(known, sizeof(known));
		cpk_error_set(err, st, "manifest: scp %02X is not %s", m->scp, known);
		goto out;
	}
	if (scp_level_name(m->level) == NULL ||
	    ((m->level & SCP_SL_RENC) && !scp_proto_has_renc(proto))) {
		cpk_error_set(err, st, "manifest: security level %02X is not one of 01 03 11 13%s",
		    m->level, scp_proto_has_renc(proto) ? " 33" : "");
		goto out;
	}
	if (m->counter_len != 0 && m->counter_len != proto->counter_len) {
		cpk_error_set(err, st, "manifest: counter is %zu bytes; SCP%02X counters are %zu",
		    m->counter_len, m->scp, proto->counter_len);
		goto out;
	}
	if (m->mode == CPK_MODE_OFFLINE) {
		if (!scp_proto_pseudo_random(proto, m->i)) {
			cpk_error_set(err, st,
			    "manifest: offline bundle for SCP%02X i=%02X, whose card challenge "
			    "is not predictable", m->scp, m->i);
			goto out;
		}
		if (m->counter_len == 0 || !m->has_host_challenge || m->iu_response_len == 0) {
			cpk_error_set(err, st,
			    "manifest: an offline bundle needs counter, host-challenge and "
			    "iu-response in 'channel'");
			goto out;
		}
	}
	if (m->iu_response_len > 0 && (st = check_iu_response(m, err)) != CPK_OK)
		goto out;
	st = CPK_OK;
out:
	return st;
}

bool
cpk_capture_name_ok(const char *s)
{
	size_t len = strnlen(s, CPK_CAPTURE_NAME_MAX + 1), i;

	if (len == 0 || len > CPK_CAPTURE_NAME_MAX || s[0] == '_' || s[0] == '-')
		return false;
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

/* Names, uniqueness, command range and order of the captures. */
static cpk_status
check_captures(const struct cpk_manifest *m, struct cpk_error *err)
{
	const struct cpk_capture *c;
	size_t i, k;
	cpk_status st = CPK_ERR_RANGE;

	if (m->ncaptures > CPK_CAPTURE_MAX) {
		cpk_error_set(err, st, "manifest: %zu captures; at most %d", m->ncaptures,
		    CPK_CAPTURE_MAX);
		goto out;
	}
	st = CPK_ERR_PARSE;
	for (i = 0; i < m->ncaptures; i++) {
		c = &m->captures[i];
		if (!cpk_capture_name_ok(c->name)) {
			cpk_error_set(err, st, "manifest: capture %zu: '%.*s' is not a capture name "
			    "(1 to %d of a-z, 0-9, '_' and '-', starting with a letter or digit)",
			    i + 1, CPK_CAPTURE_NAME_MAX, c->name, CPK_CAPTURE_NAME_MAX);
			goto out;
		}
		for (k = 0; k < i; k++)
			if (strcmp(m->captures[k].name, c->name) == 0) {
				cpk_error_set(err, st, "manifest: capture '%s' is named twice", c->name);
				goto out;
			}
		if (c->command < 1 || c->command > m->commands) {
			st = cpk_error_set(err, CPK_ERR_RANGE, "manifest: capture '%s' keeps command "
			    "%u; the script has commands 1..%u", c->name, c->command, m->commands);
			goto out;
		}
		if (i > 0 && c->command <= m->captures[i - 1].command) {
			cpk_error_set(err, st, "manifest: capture '%s' (command %u) does not come after "
			    "'%s' (command %u): captures are in ascending command order, one per "
			    "command", c->name, c->command, m->captures[i - 1].name,
			    m->captures[i - 1].command);
			goto out;
		}
	}
	st = CPK_OK;
out:
	return st;
}

cpk_status
cpk_manifest_check(const struct cpk_manifest *m, struct cpk_error *err)
{
	cpk_status st = CPK_ERR_PARSE;

	if (m->format != CPK_BUNDLE_FORMAT) {
		st = cpk_error_set(err, CPK_ERR_UNSUPPORTED,
		    "bundle format %u is not supported (this cpk reads format %d)",
		    m->format, CPK_BUNDLE_FORMAT);
		goto out;
	}
	if ((st = check_string("compiler", m->compiler, CPK_MANIFEST_STR_MAX, false, err)) ||
	    (st = check_string("profile", m->profile, CPK_MANIFEST_STR_MAX, false, err)) ||
	    (st = check_string("serial", m->serial, CPK_SERIAL_MAX, true, err)))
		goto out;
	st = CPK_ERR_RANGE;
	if (m->created > CREATED_MAX) {
		cpk_error_set(err, st, "manifest: created %llu is after the year 9999",
		    (unsigned long long)m->created);
		goto out;
	}
	if (m->mode != CPK_MODE_OFFLINE && m->mode != CPK_MODE_SESSION) {
		cpk_error_set(err, st, "manifest: mode is neither offline nor session");
		goto out;
	}
	if (m->sd_aid_len < 5 || m->sd_aid_len > sizeof(m->sd_aid) ||
	    m->iin_len > sizeof(m->iin) || m->cin_len > sizeof(m->cin) ||
	    m->iu_response_len > sizeof(m->iu_response) || m->counter_len > sizeof(m->counter)) {
		cpk_error_set(err, st, "manifest: a card or channel field has an invalid length");
		goto out;
	}
	if (m->commands < 1 || m->commands > CPK_SCRIPT_MAX_COMMANDS ||
	    m->script_size < CPK_SCRIPT_HEADER_LEN || m->script_size > CPK_SCRIPT_MAX_SIZE) {
		cpk_error_set(err, st,
		    "manifest: %u commands in %u bytes is outside 1..%d commands, %d..%zu bytes",
		    m->commands, m->script_size, CPK_SCRIPT_MAX_COMMANDS, CPK_SCRIPT_HEADER_LEN,
		    CPK_SCRIPT_MAX_SIZE);
		goto out;
	}
	if ((st = check_channel(m, err)) != CPK_OK)
		goto out;
	st = check_captures(m, err);
out:
	return st;
}

/* --- encoding --- */

static bool
mf_present(const struct cpk_manifest *m, enum mf_field f)
{
	switch (f) {
	case F_SERIAL:
		return m->serial[0] != '\0';
	case F_IIN:
		return m->iin_len > 0;
	case F_CIN:
		return m->cin_len > 0;
	case F_COUNTER:
		return m->counter_len > 0;
	case F_HOST_CHALLENGE:
		return m->has_host_challenge;
	case F_IU_RESPONSE:
		return m->iu_response_len > 0;
	case F_CAPTURES:
		return m->ncaptures > 0;
	default:
		return true;
	}
}

/* The value of a present field, as parse_value would have produced it. */
static void
mf_get(const struct cpk_manifest *m, enum mf_field f, struct mf_value *v)
{
	const uint8_t *p = NULL;

	memset(v, 0, sizeof(*v));
	switch (f) {
	case F_FORMAT: v->u = m->format; break;
	case F_CREATED: v->u = m->created; break;
	case F_COMMANDS: v->u = m->commands; break;
	case F_SCRIPT_SIZE: v->u = m->script_size; break;
	case F_MODE: v->mode = m->mode; break;
	case F_COMPILER: snprintf(v->str, sizeof(v->str), "%s", m->compiler); break;
	case F_PROFILE: snprintf(v->str, sizeof(v->str), "%s", m->profile); break;
	case F_SERIAL: snprintf(v->str, sizeof(v->str), "%s", m->serial); break;
	case F_PROFILE_SHA256: p = m->profile_sha256; v->len = 32; break;
	case F_SCRIPT_SHA256: p = m->script_sha256; v->len = 32; break;
	case F_KDD: p = m->kdd; v->len = sizeof(m->kdd); break;
	case F_SD_AID: p = m->sd_aid; v->len = m->sd_aid_len; break;
	case F_IIN: p = m->iin; v->len = m->iin_len; break;
	case F_CIN: p = m->cin; v->len = m->cin_len; break;
	case F_SCP: p = &m->scp; v->len = 1; break;
	case F_I: p = &m->i; v->len = 1; break;
	case F_KVN: p = &m->kvn; v->len = 1; break;
	case F_LEVEL: p = &m->level; v->len = 1; break;
	case F_COUNTER: p = m->counter; v->len = m->counter_len; break;
	case F_HOST_CHALLENGE: p = m->host_challenge; v->len = 8; break;
	case F_IU_RESPONSE: p = m->iu_response; v->len = m->iu_response_len; break;
	case F_CARD: case F_CHANNEL: case F_CAPTURES: case F_COUNT: break;
	}
	if (p != NULL)
		memcpy(v->bytes, p, v->len);
}

static cpk_status
append_str(struct cpk_buf *out, const char *s, struct cpk_error *err)
{
	return cpk_buf_append(out, s, strlen(s), err);
}

static cpk_status
encode_value(const struct mf_entry *e, const struct mf_value *v, struct cpk_buf *out,
    struct cpk_error *err)
{
	char tmp[2 * sizeof(v->bytes) + 1];
	const char *s;
	cpk_status st = CPK_OK;

	switch (e->type) {
	case MF_INT:
		snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v->u);
		st = append_str(out, tmp, err);
		break;
	case MF_HEX:
		cpk_hex_encode(v->bytes, v->len, tmp, sizeof(tmp));
		st = append_str(out, tmp, err);
		break;
	case MF_MODE:
		st = append_str(out, v->mode == CPK_MODE_OFFLINE ? "offline" : "session", err);
		break;
	case MF_STR:
		st = cpk_buf_append_byte(out, '"', err);
		for (s = v->str; st == CPK_OK && *s != '\0'; s++) {
			if (*s == '"' || *s == '\\')
				st = cpk_buf_append_byte(out, '\\', err);
			if (st == CPK_OK)
				st = cpk_buf_append_byte(out, (uint8_t)*s, err);
		}
		if (st == CPK_OK)
			st = cpk_buf_append_byte(out, '"', err);
		break;
	case MF_SECTION:
		break;
	}
	return st;
}

/* The lines of the captures section: "  NAME: COMMAND". */
static cpk_status
encode_captures(const struct cpk_manifest *m, struct cpk_buf *out, struct cpk_error *err)
{
	char line[CPK_CAPTURE_NAME_MAX + 24];
	size_t i;
	cpk_status st = CPK_OK;

	for (i = 0; i < m->ncaptures && st == CPK_OK; i++) {
		snprintf(line, sizeof(line), "  %s: %u\n", m->captures[i].name,
		    m->captures[i].command);
		st = append_str(out, line, err);
	}
	return st;
}

cpk_status
cpk_manifest_encode(const struct cpk_manifest *m, struct cpk_buf *out, struct cpk_error *err)
{
	struct mf_value v;
	size_t start = out->len;
	int f;
	cpk_status st;

	if ((st = cpk_manifest_check(m, err)) != CPK_OK)
		goto out;
	for (f = 0; f < F_COUNT; f++) {
		const struct mf_entry *e = &mf_table[f];

		if (!mf_present(m, (enum mf_field)f))
			continue;
		if (e->sec != SEC_TOP && (st = append_str(out, "  ", err)) != CPK_OK)
			goto out;
		if ((st = append_str(out, e->key, err)) != CPK_OK ||
		    (st = append_str(out, e->type == MF_SECTION ? ":" : ": ", err)) != CPK_OK)
			goto out;
		mf_get(m, (enum mf_field)f, &v);
		if ((st = encode_value(e, &v, out, err)) != CPK_OK ||
		    (st = cpk_buf_append_byte(out, '\n', err)) != CPK_OK)
			goto out;
		if (f == F_CAPTURES && (st = encode_captures(m, out, err)) != CPK_OK)
			goto out;
	}
	if (out->len - start > CPK_MANIFEST_MAX_SIZE) {
		st = cpk_error_set(err, CPK_ERR_RANGE, "manifest would be %zu bytes; at most %zu",
		    out->len - start, CPK_MANIFEST_MAX_SIZE);
		goto out;
	}
	st = CPK_OK;
out:
	if (st != CPK_OK && out->len > start)
		cpk_buf_truncate(out, out->len - start);
	return st;
}

/* --- parsing --- */

struct mf_parser {
	unsigned line;
	enum mf_sec sec;	/* the section the current indented lines belong to */
	int last;		/* table index of the last key, -1 before the first */
	uint32_t seen;		/* bit per enum mf_field */
};

static cpk_status mf_error(struct cpk_error *, cpk_status, unsigned, size_t, const char *, ...)
    __attribute__((format(printf, 5, 6)));

static cpk_status
mf_error(struct cpk_error *err, cpk_status st, unsigned line, size_t col, const char *fmt, ...)
{
	char msg[sizeof(err->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return cpk_error_set_at(err, st, MANIFEST_NAME, line, (unsigned)col, "%s", msg);
}

static cpk_status
parse_int(const char *s, size_t len, const struct mf_entry *e, unsigned line, size_t col,
    struct mf_value *v, struct cpk_error *err)
{
	uint64_t u = 0;
	size_t i;

	if (len == 0 || len > 20)
		return mf_error(err, CPK_ERR_PARSE, line, col,
		    "'%s' must be a decimal integer", e->key);
	if (len > 1 && s[0] == '0')
		return mf_error(err, CPK_ERR_PARSE, line, col,
		    "'%s': integer with a leading zero", e->key);
	for (i = 0; i < len; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (s[i] < '0' || s[i] > '9')
			return mf_error(err, CPK_ERR_PARSE, line, col + i,
			    "'%s' must be a decimal integer; found '%c'", e->key, s[i]);
		if (u > (UINT64_MAX - d) / 10)
			return mf_error(err, CPK_ERR_RANGE, line, col,
			    "'%s': integer too large", e->key);
		u = u * 10 + d;
	}
	if (u < e->min || u > e->max)
		return mf_error(err, CPK_ERR_RANGE, line, col,
		    "'%s' is %llu; expected %llu..%llu", e->key, (unsigned long long)u,
		    (unsigned long long)e->min, (unsigned long long)e->max);
	v->u = u;
	return CPK_OK;
}

static int
upper_hex(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

static cpk_status
parse_hex(const char *s, size_t len, const struct mf_entry *e, unsigned line, size_t col,
    struct mf_value *v, struct cpk_error *err)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (upper_hex(s[i]) < 0)
			return mf_error(err, CPK_ERR_PARSE, line, col + i,
			    "'%s': '%c' is not an uppercase hex digit", e->key, s[i]);
	}
	if (len % 2 != 0)
		return mf_error(err, CPK_ERR_PARSE, line, col,
		    "'%s': odd number of hex digits (%zu)", e->key, len);
	if (len / 2 < e->min || len / 2 > e->max) {
		if (e->min == e->max)
			return mf_error(err, CPK_ERR_RANGE, line, col,
			    "'%s' is %zu bytes; expected %llu", e->key, len / 2,
			    (unsigned long long)e->min);
		return mf_error(err, CPK_ERR_RANGE, line, col,
		    "'%s' is %zu bytes; expected %llu..%llu", e->key, len / 2,
		    (unsigned long long)e->min, (unsigned long long)e->max);
	}
	for (i = 0; i < len; i += 2)
		v->bytes[i / 2] = (uint8_t)(upper_hex(s[i]) << 4 | upper_hex(s[i + 1]));
	v->len = len / 2;
	return CPK_OK;
}

static cpk_status
parse_str(const char *s, size_t len, const struct mf_entry *e, unsigned line, size_t col,
    struct mf_value *v, struct cpk_error *err)
{
	size_t i, n = 0;

	if (len < 2 || s[0] != '"' || s[len - 1] != '"')
		return mf_error(err, CPK_ERR_PARSE, line, col,
		    "'%s' must be a double-quoted string", e->key);
	for (i = 1; i < len - 1; i++) {
		char ch = s[i];

		if (ch == '"')
			return mf_error(err, CPK_ERR_PARSE, line, col + i,
			    "'%s': unescaped '\"' inside the string", e->key);
		if (ch == '\\') {
			if (i + 1 >= len - 1 || (s[i + 1] != '"' && s[i + 1] != '\\'))
				return mf_error(err, CPK_ERR_PARSE, line, col + i,
				    "'%s': only \\\" and \\\\ escapes are allowed", e->key);
			ch = s[++i];
		}
		if (n >= e->max)
			return mf_error(err, CPK_ERR_RANGE, line, col,
			    "'%s' is longer than %llu characters", e->key,
			    (unsigned long long)e->max);
		v->str[n++] = ch;
	}
	if (n < e->min)
		return mf_error(err, CPK_ERR_RANGE, line, col, "'%s' is empty", e->key);
	v->str[n] = '\0';
	return CPK_OK;
}

static cpk_status
parse_value(const char *s, size_t len, const struct mf_entry *e, unsigned line, size_t col,
    struct mf_value *v, struct cpk_error *err)
{
	memset(v, 0, sizeof(*v));
	switch (e->type) {
	case MF_INT:
		return parse_int(s, len, e, line, col, v, err);
	case MF_HEX:
		return parse_hex(s, len, e, line, col, v, err);
	case MF_STR:
		return parse_str(s, len, e, line, col, v, err);
	case MF_MODE:
		if (len == 7 && memcmp(s, "offline", 7) == 0)
			v->mode = CPK_MODE_OFFLINE;
		else if (len == 7 && memcmp(s, "session", 7) == 0)
			v->mode = CPK_MODE_SESSION;
		else
			return mf_error(err, CPK_ERR_PARSE, line, col,
			    "'mode' must be offline or session");
		return CPK_OK;
	case MF_SECTION:
		break;
	}
	return CPK_OK;
}

static void
mf_store(struct cpk_manifest *m, enum mf_field f, const struct mf_value *v)
{
	uint8_t *p = NULL;
	size_t *lenp = NULL;

	switch (f) {
	case F_FORMAT: m->format = (uint32_t)v->u; break;
	case F_CREATED: m->created = v->u; break;
	case F_COMMANDS: m->commands = (uint32_t)v->u; break;
	case F_SCRIPT_SIZE: m->script_size = (uint32_t)v->u; break;
	case F_MODE: m->mode = v->mode; break;
	case F_COMPILER: memcpy(m->compiler, v->str, sizeof(m->compiler)); break;
	case F_PROFILE: memcpy(m->profile, v->str, sizeof(m->profile)); break;
	case F_SERIAL: memcpy(m->serial, v->str, sizeof(m->serial) - 1); break;
	case F_PROFILE_SHA256: p = m->profile_sha256; break;
	case F_SCRIPT_SHA256: p = m->script_sha256; break;
	case F_KDD: p = m->kdd; break;
	case F_SD_AID: p = m->sd_aid; lenp = &m->sd_aid_len; break;
	case F_IIN: p = m->iin; lenp = &m->iin_len; break;
	case F_CIN: p = m->cin; lenp = &m->cin_len; break;
	case F_SCP: p = &m->scp; break;
	case F_I: p = &m->i; break;
	case F_KVN: p = &m->kvn; break;
	case F_LEVEL: p = &m->level; break;
	case F_COUNTER: p = m->counter; lenp = &m->counter_len; break;
	case F_HOST_CHALLENGE: p = m->host_challenge; m->has_host_challenge = true; break;
	case F_IU_RESPONSE: p = m->iu_response; lenp = &m->iu_response_len; break;
	case F_CARD: case F_CHANNEL: case F_CAPTURES: case F_COUNT: break;
	}
	/* The table bounds each hex field to the size of its destination. */
	if (p != NULL)
		memcpy(p, v->bytes, v->len);
	if (lenp != NULL)
		*lenp = v->len;
}

static int
mf_lookup(enum mf_sec sec, const char *key, size_t len)
{
	int f;

	for (f = 0; f < F_COUNT; f++) {
		if (mf_table[f].sec == sec && strlen(mf_table[f].key) == len &&
		    memcmp(mf_table[f].key, key, len) == 0)
			return f;
	}
	return -1;
}

/* Characters: printable ASCII; say which other byte was found. */
static cpk_status
check_line_bytes(const char *s, size_t len, unsigned line, struct cpk_error *err)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '\r')
			return mf_error(err, CPK_ERR_PARSE, line, i + 1,
			    "carriage return: lines must end with LF only");
		if (ch == '\t')
			return mf_error(err, CPK_ERR_PARSE, line, i + 1,
			    "tab character: indent with two spaces");
		if (!printable_ascii(ch))
			return mf_error(err, CPK_ERR_PARSE, line, i + 1,
			    "byte 0x%02X: the manifest is printable ASCII", ch);
	}
	return CPK_OK;
}

/* Find the key of a line after its indentation; returns the table index or an error. */
static cpk_status
mf_line_key(struct mf_parser *ps, const char *s, size_t len, size_t indent, int *field,
    struct cpk_error *err)
{
	enum mf_sec sec = indent == 0 ? SEC_TOP : ps->sec;
	size_t k = indent;
	int f;

	while (k < len && ((s[k] >= 'a' && s[k] <= 'z') || (s[k] >= '0' && s[k] <= '9') ||
	    s[k] == '-'))
		k++;
	if (k == indent || k >= len || s[k] != ':')
		return mf_error(err, CPK_ERR_PARSE, ps->line, k + 1,
		    "expected 'key: value' with a lowercase key");
	f = mf_lookup(sec, s + indent, k - indent);
	if (f < 0) {
		if (sec == SEC_TOP)
			return mf_error(err, CPK_ERR_PARSE, ps->line, indent + 1,
			    "unknown key '%.*s'", (int)(k - indent), s + indent);
		return mf_error(err, CPK_ERR_PARSE, ps->line, indent + 1,
		    "unknown key '%.*s' in section '%s'", (int)(k - indent), s + indent,
		    sec_names[sec]);
	}
	if (ps->seen & (UINT32_C(1) << f))
		return mf_error(err, CPK_ERR_PARSE, ps->line, indent + 1,
		    "duplicate key '%s'", mf_table[f].key);
	if (f < ps->last)
		return mf_error(err, CPK_ERR_PARSE, ps->line, indent + 1,
		    "key '%s' is out of order: it must come before '%s' (cpk(5) fixes the order)",
		    mf_table[f].key, mf_table[ps->last].key);
	*field = f;
	return CPK_OK;
}

/* "NAME: COMMAND" in the captures section (after the indentation). */
static cpk_status
mf_capture_line(struct mf_parser *ps, const char *s, size_t len, struct cpk_manifest *m,
    struct cpk_error *err)
{
	struct cpk_capture *c;
	struct mf_value v;
	size_t k = 0;
	cpk_status st;

	while (k < len && s[k] != ':')
		k++;
	if (k >= len || k + 2 >= len || s[k + 1] != ' ')
		return mf_error(err, CPK_ERR_PARSE, ps->line, 3,
		    "expected 'NAME: COMMAND' in section 'captures'");
	if (m->ncaptures >= CPK_CAPTURE_MAX)
		return mf_error(err, CPK_ERR_RANGE, ps->line, 3, "more than %d captures",
		    CPK_CAPTURE_MAX);
	c = &m->captures[m->ncaptures];
	if (k > CPK_CAPTURE_NAME_MAX)
		return mf_error(err, CPK_ERR_RANGE, ps->line, 3,
		    "capture name longer than %d characters", CPK_CAPTURE_NAME_MAX);
	memcpy(c->name, s, k);
	c->name[k] = '\0';
	if (!cpk_capture_name_ok(c->name))
		return mf_error(err, CPK_ERR_PARSE, ps->line, 3, "'%s' is not a capture name "
		    "(a-z, 0-9, '_' and '-', starting with a letter or digit)", c->name);
	if ((st = parse_int(s + k + 2, len - k - 2, &capture_entry, ps->line, k + 5, &v,
	    err)) != CPK_OK)
		return st;
	c->command = (uint32_t)v.u;
	m->ncaptures++;
	return CPK_OK;
}

static cpk_status
mf_parse_line(struct mf_parser *ps, const char *s, size_t len, struct cpk_manifest *m,
    struct cpk_error *err)
{
	const struct mf_entry *e;
	struct mf_value v;
	size_t indent = 0, vstart;
	int f = -1;
	cpk_status st;

	if (len > CPK_MANIFEST_LINE_MAX)
		return mf_error(err, CPK_ERR_RANGE, ps->line, CPK_MANIFEST_LINE_MAX + 1,
		    "line longer than %zu bytes", CPK_MANIFEST_LINE_MAX);
	if ((st = check_line_bytes(s, len, ps->line, err)) != CPK_OK)
		return st;
	if (len == 0)
		return mf_error(err, CPK_ERR_PARSE, ps->line, 1, "empty line");
	while (indent < len && s[indent] == ' ')
		indent++;
	if (indent != 0 && indent != 2)
		return mf_error(err, CPK_ERR_PARSE, ps->line, indent + 1,
		    "indentation must be 0 or 2 spaces, found %zu", indent);
	if (indent == 2 && ps->sec == SEC_TOP)
		return mf_error(err, CPK_ERR_PARSE, ps->line, 3,
		    "indented line outside the 'card', 'channel' and 'captures' sections");
	if (indent == 2 && ps->sec == SEC_CAPTURES)
		return mf_capture_line(ps, s + 2, len - 2, m, err);
	if ((st = mf_line_key(ps, s, len, indent, &f, err)) != CPK_OK)
		return st;
	e = &mf_table[f];
	vstart = indent + strlen(e->key) + 1;
	ps->seen |= UINT32_C(1) << f;
	ps->last = f;
	if (indent == 0)
		ps->sec = SEC_TOP;
	if (e->type == MF_SECTION) {
		if (vstart != len)
			return mf_error(err, CPK_ERR_PARSE, ps->line, vstart + 1,
			    "'%s:' starts a section and takes no value", e->key);
		ps->sec = f == F_CARD ? SEC_CARD : f == F_CHANNEL ? SEC_CHANNEL : SEC_CAPTURES;
		return CPK_OK;
	}
	if (vstart >= len || s[vstart] != ' ' || vstart + 1 >= len)
		return mf_error(err, CPK_ERR_PARSE, ps->line, vstart + 1,
		    "expected one space and a value after '%s:'", e->key);
	vstart++;
	if ((st = parse_value(s + vstart, len - vstart, e, ps->line, vstart + 1, &v, err)) != CPK_OK)
		return st;
	mf_store(m, (enum mf_field)f, &v);
	return CPK_OK;
}

/* The first line decides the version before anything else is read. */
static cpk_status
mf_check_version(const char *s, size_t n, struct cpk_error *err)
{
	static const char prefix[] = "format: ";
	const size_t plen = sizeof(prefix) - 1;
	unsigned long long u = 0;
	size_t i = plen;

	if (n < plen || memcmp(s, prefix, plen) != 0)
		return mf_error(err, CPK_ERR_PARSE, 1, 1,
		    "a manifest starts with 'format: N'; this is not a cpk manifest");
	while (i < n && i < plen + 9 && s[i] >= '0' && s[i] <= '9')
		u = u * 10 + (unsigned)(s[i++] - '0');
	if (i == plen || (i < n && s[i] != '\n') || (s[plen] == '0' && i > plen + 1))
		return mf_error(err, CPK_ERR_PARSE, 1, plen + 1,
		    "'format' must be a decimal integer");
	if (u != CPK_BUNDLE_FORMAT)
		return mf_error(err, CPK_ERR_UNSUPPORTED, 1, plen + 1,
		    "bundle format %llu is not supported (this cpk reads format %d); "
		    "a newer cpk may read it", u, CPK_BUNDLE_FORMAT);
	return CPK_OK;
}

cpk_status
cpk_manifest_parse(const uint8_t *text, size_t n, struct cpk_manifest *m, struct cpk_error *err)
{
	const char *s = (const char *)text;
	struct mf_parser ps = { 0, SEC_TOP, -1, 0 };
	struct cpk_manifest tmp;
	size_t pos = 0;
	int f;
	cpk_status st;

	memset(&tmp, 0, sizeof(tmp));
	if (n > CPK_MANIFEST_MAX_SIZE) {
		st = mf_error(err, CPK_ERR_RANGE, 0, 0, "manifest is %zu bytes; at most %zu", n,
		    CPK_MANIFEST_MAX_SIZE);
		goto out;
	}
	if (n == 0) {
		st = mf_error(err, CPK_ERR_PARSE, 0, 0, "manifest is empty");
		goto out;
	}
	if ((st = mf_check_version(s, n, err)) != CPK_OK)
		goto out;
	if (s[n - 1] != '\n') {
		st = mf_error(err, CPK_ERR_PARSE, 0, 0, "the last line does not end with a newline");
		goto out;
	}
	while (pos < n) {
		const char *nl = memchr(s + pos, '\n', n - pos);
		size_t len = (size_t)(nl - (s + pos));

		ps.line++;
		if ((st = mf_parse_line(&ps, s + pos, len, &tmp, err)) != CPK_OK)
			goto out;
		pos += len + 1;
	}
	for (f = 0; f < F_COUNT; f++) {
		if (mf_table[f].required && !(ps.seen & (UINT32_C(1) << f))) {
			st = mf_error(err, CPK_ERR_PARSE, 0, 0, "missing key '%s'%s%s",
			    mf_table[f].key, mf_table[f].sec != SEC_TOP ? " in section " : "",
			    sec_names[mf_table[f].sec]);
			goto out;
		}
	}
	if ((ps.seen & (UINT32_C(1) << F_CAPTURES)) && tmp.ncaptures == 0) {
		st = mf_error(err, CPK_ERR_PARSE, 0, 0,
		    "section 'captures' is empty (a manifest without captures omits it)");
		goto out;
	}
	if ((st = cpk_manifest_check(&tmp, err)) != CPK_OK)
		goto out;
	*m = tmp;
out:
	return st;
}
