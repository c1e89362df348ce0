/* cpk: card records from YAML, JSON lines and CSV rows (see card.h). */
#include "card.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpk_bytes.h"
#include "ydoc.h"

enum {
	C_SD_AID, C_SCP, C_I, C_KVN, C_KDD, C_COUNTER, C_CPLC, C_IIN, C_CIN, C_SERIAL,
	C_HOST_CHALLENGE, C_IU_RESPONSE, C_DATA, C_COUNT
};

static const char *const scp_names[] = { "02", "03", NULL };

/* The one field table of all three forms ("data" is a mapping in YAML only). */
static const struct ydoc_field card_fields[C_COUNT] = {
	[C_SD_AID] = { "sd-aid", YDOC_T_HEX, true, GP_AID_MIN, GP_AID_MAX, NULL, false },
	[C_SCP] = { "scp", YDOC_T_ENUM, true, 0, 0, scp_names, false },
	[C_I] = { "i", YDOC_T_BYTE, true, 0x00, 0xFF, NULL, false },
	[C_KVN] = { "kvn", YDOC_T_BYTE, true, 0x01, 0xFF, NULL, false },
	[C_KDD] = { "kdd", YDOC_T_HEX, true, SCP_KDD_LEN, SCP_KDD_LEN, NULL, false },
	[C_COUNTER] = { "counter", YDOC_T_HEX, false, 2, 3, NULL, false },
	[C_CPLC] = { "cplc", YDOC_T_HEX, false, CARD_CPLC_LEN, CARD_CPLC_LEN, NULL, false },
	[C_IIN] = { "iin", YDOC_T_HEX, false, 1, 16, NULL, false },
	[C_CIN] = { "cin", YDOC_T_HEX, false, 1, 16, NULL, false },
	[C_SERIAL] = { "serial", YDOC_T_STR, false, 1, CARD_SERIAL_MAX, NULL, false },
	[C_HOST_CHALLENGE] = { "host-challenge", YDOC_T_HEX, false, 8, 8, NULL, false },
	[C_IU_RESPONSE] = { "iu-response", YDOC_T_HEX, false, 28, 32, NULL, false },
	[C_DATA] = { "data", YDOC_T_MAP, false, 0, 0, NULL, false },
};

static const struct ydoc_hint card_hints[] = {
	{ "aid", "sd-aid" },
	{ "sd", "sd-aid" },
	{ "sequence-counter", "counter" },
	{ "host_challenge", "host-challenge" },
	{ "iu_response", "iu-response" },
	{ "sd_aid", "sd-aid" },
	{ NULL, NULL },
};

static const struct ydoc_schema card_schema = {
	"the card record", card_fields, C_COUNT, card_hints,
};

void
card_record_init(struct card_record *c)
{
	memset(c, 0, sizeof(*c));
}

void
card_record_clear(struct card_record *c)
{
	size_t i;

	for (i = 0; i < c->ndata; i++) {
		if (c->data[i].value != NULL) {
			cpk_cleanse(c->data[i].value, strlen(c->data[i].value));
			free(c->data[i].value);
		}
	}
	free(c->data);
	memset(c, 0, sizeof(*c));
}

const char *
card_data_get(const struct card_record *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->ndata; i++)
		if (strcmp(c->data[i].name, name) == 0)
			return c->data[i].value;
	return NULL;
}

/* --- values (shared by all forms; errors without a location) --- */

static cpk_status
check_serial(const char *s, struct cpk_error *err)
{
	char q[64];
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		char ch = s[i];

		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '_' ||
		    ((ch == '.' || ch == '-') && i > 0))
			continue;
		ydoc_quote(s, q, sizeof(q));
		return cpk_error_set(err, CPK_ERR_PARSE,
		    "'serial' may hold only A-Z, a-z, 0-9, '_', and '.' or '-' after the first "
		    "character (it names files), got '%s'", q);
	}
	return CPK_OK;
}

static cpk_status
set_field(struct card_record *c, int idx, const char *s, struct cpk_error *err)
{
	const struct ydoc_field *f = &card_fields[idx];
	uint8_t aid[GP_AID_MAX];
	size_t n;
	int e;
	cpk_status ret;

	switch (idx) {
	case C_SD_AID:
		if ((ret = ydoc_decode_hex(f, s, aid, sizeof(aid), &n, err)) != CPK_OK)
			return ret;
		return gp_aid_set(&c->sd_aid, aid, n, err);
	case C_SCP:
		if ((ret = ydoc_decode_enum(f, s, &e, err)) != CPK_OK)
			return ret;
		c->scp = e == 0 ? SCP02 : SCP03;
		return CPK_OK;
	case C_I:
		return ydoc_decode_byte(f, s, &c->i, err);
	case C_KVN:
		return ydoc_decode_byte(f, s, &c->kvn, err);
	case C_KDD:
		return ydoc_decode_hex(f, s, c->kdd, sizeof(c->kdd), &n, err);
	case C_COUNTER:
		return ydoc_decode_hex(f, s, c->counter, sizeof(c->counter), &c->counter_len, err);
	case C_CPLC:
		c->has_cplc = true;
		return ydoc_decode_hex(f, s, c->cplc, sizeof(c->cplc), &n, err);
	case C_IIN:
		return ydoc_decode_hex(f, s, c->iin, sizeof(c->iin), &c->iin_len, err);
	case C_CIN:
		return ydoc_decode_hex(f, s, c->cin, sizeof(c->cin), &c->cin_len, err);
	case C_SERIAL:
		if ((ret = ydoc_decode_str(f, s, err)) != CPK_OK ||
		    (ret = check_serial(s, err)) != CPK_OK)
			return ret;
		snprintf(c->serial, sizeof(c->serial), "%s", s);
		return CPK_OK;
	case C_HOST_CHALLENGE:
		return ydoc_decode_hex(f, s, c->host_challenge, sizeof(c->host_challenge), &n, err);
	case C_IU_RESPONSE:
		return ydoc_decode_hex(f, s, c->iu_raw, sizeof(c->iu_raw), &c->iu_len, err);
	default:
		return cpk_error_set(err, CPK_ERR_ARG, "card field %d", idx);
	}
}

static cpk_status
check_data_name(const char *name, struct cpk_error *err)
{
	size_t i, len = strlen(name);
	char q[64];

	for (i = 0; i < len; i++) {
		char ch = name[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' ||
		    ch == '-'))
			break;
	}
	if (len == 0 || len > CARD_DATA_NAME_MAX || i < len) {
		ydoc_quote(name, q, sizeof(q));
		return cpk_error_set(err, CPK_ERR_PARSE,
		    "per-card data name '%s': use 1 to 32 characters of a-z, 0-9, '_' and '-'", q);
	}
	return CPK_OK;
}

static cpk_status
add_data(struct card_record *c, const char *name, const char *value, struct cpk_error *err)
{
	struct card_data_item *nd;
	cpk_status ret;

	if ((ret = check_data_name(name, err)) != CPK_OK)
		return ret;
	if (strlen(value) > CARD_DATA_VALUE_MAX)
		return cpk_error_set(err, CPK_ERR_RANGE,
		    "per-card data '%s' is too long (%zu bytes, at most %d)", name, strlen(value),
		    CARD_DATA_VALUE_MAX);
	if (card_data_get(c, name) != NULL)
		return cpk_error_set(err, CPK_ERR_PARSE, "per-card data '%s' is given twice", name);
	if (c->ndata == CARD_DATA_MAX)
		return cpk_error_set(err, CPK_ERR_RANGE, "too many per-card data items (at most %d)",
		    CARD_DATA_MAX);
	if ((nd = realloc(c->data, (c->ndata + 1) * sizeof(*nd))) == NULL)
		return cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
	c->data = nd;
	memset(&nd[c->ndata], 0, sizeof(*nd));
	snprintf(nd[c->ndata].name, sizeof(nd[c->ndata].name), "%s", name);
	if ((nd[c->ndata].value = strdup(value)) == NULL)
		return cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
	c->ndata++;
	return CPK_OK;
}

static cpk_status
check_session(struct card_record *c, int *bad, struct cpk_error *err)
{
	const struct scp_iu_response *r = &c->iu;
	char a[2 * SCP_KDD_LEN + 1], b[2 * SCP_KDD_LEN + 1];
	cpk_status ret;

	*bad = C_IU_RESPONSE;
	if ((ret = scp_iu_response_parse(c->iu_raw, c->iu_len, &c->iu, err)) != CPK_OK)
		return ret;
	if (r->scp != (uint8_t)c->scp)
		return cpk_error_set(err, CPK_ERR_PARSE,
		    "'iu-response' is an SCP%02X response but 'scp' is %02d", r->scp, (int)c->scp);
	if (memcmp(r->kdd, c->kdd, SCP_KDD_LEN) != 0) {
		cpk_hex_encode(r->kdd, SCP_KDD_LEN, a, sizeof(a));
		cpk_hex_encode(c->kdd, SCP_KDD_LEN, b, sizeof(b));
		return cpk_error_set(err, CPK_ERR_PARSE,
		    "'iu-response' carries KDD %s but 'kdd' is %s", a, b);
	}
	if (r->kvn != c->kvn)
		return cpk_error_set(err, CPK_ERR_PARSE,
		    "'iu-response' is for key version %02X but 'kvn' is %02X", r->kvn, c->kvn);
	if (c->scp == SCP03 && r->i != c->i)
		return cpk_error_set(err, CPK_ERR_PARSE,
		    "'iu-response' says i=%02X but 'i' is %02X", r->i, c->i);
	if (r->counter_len > 0) {
		if (c->counter_len == 0) {
			memcpy(c->counter, r->counter, r->counter_len);
			c->counter_len = r->counter_len;
		} else if (c->counter_len != r->counter_len ||
		    memcmp(c->counter, r->counter, r->counter_len) != 0) {
			*bad = C_COUNTER;
			return cpk_error_set(err, CPK_ERR_PARSE,
			    "'counter' differs from the sequence counter in 'iu-response'");
		}
	}
	return CPK_OK;
}

/*
 * Cross-field rules. seen[] marks the fields given; *bad names the field
 * to blame (for the location), -1 for the record as a whole.
 */
static cpk_status
card_finish(struct card_record *c, const bool *seen, int *bad, struct cpk_error *err)
{
	cpk_status ret;
	int i;

	*bad = -1;
	for (i = 0; i < C_COUNT; i++)
		if (card_fields[i].required && !seen[i])
			return cpk_error_set(err, CPK_ERR_PARSE,
			    "missing required key '%s' in the card record", card_fields[i].key);
	*bad = C_I;
	if ((ret = scp_i_supported(c->scp, c->i, err)) != CPK_OK)
		return ret;
	*bad = C_COUNTER;
	if (c->counter_len != 0 && c->counter_len != (c->scp == SCP02 ? 2u : 3u))
		return cpk_error_set(err, CPK_ERR_RANGE,
		    "'counter' must be %d bytes for SCP%02d, got %zu", c->scp == SCP02 ? 2 : 3,
		    (int)c->scp, c->counter_len);
	if (seen[C_HOST_CHALLENGE] != seen[C_IU_RESPONSE]) {
		*bad = seen[C_HOST_CHALLENGE] ? C_HOST_CHALLENGE : C_IU_RESPONSE;
		return cpk_error_set(err, CPK_ERR_PARSE,
		    "'%s' needs '%s' too (a live INITIALIZE UPDATE exchange has both)",
		    card_fields[*bad].key,
		    card_fields[*bad == C_HOST_CHALLENGE ? C_IU_RESPONSE : C_HOST_CHALLENGE].key);
	}
	c->has_session = seen[C_IU_RESPONSE];
	if (c->has_session && (ret = check_session(c, bad, err)) != CPK_OK)
		return ret;
	*bad = -1;
	/*
	 * Without a live exchange the counter is the only way to the card's
	 * session; with one, the response carries it when i says so (SCP02, SCP03
	 * i & 10) and a session of SCP03 i=00/20/60 does not need it.
	 */
	if (!c->has_session && c->counter_len == 0)
		return cpk_error_set(err, CPK_ERR_PARSE,
		    "missing required key 'counter' in the card record (the next sequence "
		    "counter; or give 'host-challenge' and 'iu-response')");
	return CPK_OK;
}

/* --- YAML --- */

static cpk_status
yaml_data(const char *file, const struct ydoc_node *map, struct card_record *c,
    struct cpk_error *err)
{
	const struct ydoc_node *k, *v;
	cpk_status ret;
	size_t i;

	for (i = 0; i < map->n; i++) {
		k = map->keys[i];
		v = map->items[i];
		if (v->kind != YDOC_SCALAR)
			return cpk_error_set_at(err, CPK_ERR_PARSE, file, v->line, v->col,
			    "per-card data '%s' must be a single value", k->str);
		if ((ret = check_data_name(k->str, err)) != CPK_OK)
			return ydoc_locate(err, file, k->line, k->col);
		if ((ret = add_data(c, k->str, v->str, err)) != CPK_OK)
			return ydoc_locate(err, file, v->line, v->col);
	}
	return CPK_OK;
}

static cpk_status
yaml_decode(const char *file, const struct ydoc_node *root, struct card_record *c,
    struct cpk_error *err)
{
	const struct ydoc_node *v[C_COUNT];
	bool seen[C_COUNT];
	cpk_status ret;
	int i, bad;

	if (root == NULL)
		return cpk_error_set_at(err, CPK_ERR_PARSE, file, 1, 1, "the card record is empty");
	if ((ret = ydoc_check_map(file, root, root, &card_schema, v, err)) != CPK_OK)
		return ret;
	for (i = 0; i < C_COUNT; i++) {
		seen[i] = v[i] != NULL;
		if (v[i] == NULL)
			continue;
		if (i == C_DATA)
			ret = yaml_data(file, v[i], c, err);
		else if ((ret = set_field(c, i, v[i]->str, err)) != CPK_OK)
			ret = ydoc_locate(err, file, v[i]->line, v[i]->col);
		if (ret != CPK_OK)
			return ret;
	}
	if ((ret = card_finish(c, seen, &bad, err)) != CPK_OK) {
		if (bad >= 0 && v[bad] != NULL)
			return ydoc_locate(err, file, v[bad]->line, v[bad]->col);
		return ydoc_locate(err, file, root->line, root->col);
	}
	return CPK_OK;
}

cpk_status
card_parse_yaml(const char *name, const uint8_t *text, size_t len, struct card_record *out,
    struct cpk_error *err)
{
	struct ydoc_node *root = NULL;
	struct cpk_error local;
	cpk_status ret;

	/* ydoc_locate returns the status it finds in err: never let it be NULL. */
	if (err == NULL)
		err = &local;
	card_record_init(out);
	cpk_error_clear(err);
	if ((ret = ydoc_parse(name, text, len, &root, err)) == CPK_OK)
		ret = yaml_decode(name, root, out, err);
	ydoc_free(&root);
	if (ret != CPK_OK)
		card_record_clear(out);
	return ret;
}

cpk_status
card_load_yaml(const char *path, struct card_record *out, struct cpk_error *err)
{
	struct cpk_buf text = CPK_BUF_INIT;
	cpk_status ret;

	card_record_init(out);
	cpk_error_clear(err);
	if ((ret = ydoc_read_file(path, CARD_FILE_MAX, false, &text, err)) == CPK_OK)
		ret = card_parse_yaml(path, text.data, text.len, out, err);
	cpk_buf_free(&text);
	return ret;
}

/* --- flat key/value forms (JSON, CSV) --- */

/* Which field a JSON key or CSV column names: index, -1 data.NAME, -2 unknown. */
static int
lookup_key(const char *key)
{
	int i;

	if (strncmp(key, "data.", 5) == 0)
		return -1;
	for (i = 0; i < C_COUNT; i++)
		if (i != C_DATA && strcmp(card_fields[i].key, key) == 0)
			return i;
	return -2;
}

static cpk_status
unknown_flat_key(const char *key, const char *what, struct cpk_error *err)
{
	const char *names[C_COUNT];
	const char *sug = NULL;
	char q[64];
	size_t i, n = 0;

	for (i = 0; card_hints[i].wrong != NULL; i++)
		if (strcmp(card_hints[i].wrong, key) == 0)
			sug = card_hints[i].right;
	for (i = 0; i < C_COUNT; i++)
		if (i != C_DATA)
			names[n++] = card_fields[i].key;
	if (sug == NULL)
		sug = ydoc_suggest(key, names, n);
	ydoc_quote(key, q, sizeof(q));
	if (strcmp(key, "data") == 0)
		return cpk_error_set(err, CPK_ERR_PARSE,
		    "unknown %s 'data': per-card data items are named 'data.NAME'", what);
	if (sug != NULL)
		return cpk_error_set(err, CPK_ERR_PARSE,
		    "unknown %s '%s' in the card record (did you mean '%s'?)", what, q, sug);
	return cpk_error_set(err, CPK_ERR_PARSE, "unknown %s '%s' in the card record", what, q);
}

/* Apply one key/value; idx from lookup_key. */
static cpk_status
apply_flat(struct card_record *c, bool *seen, int idx, const char *key, const char *value,
    struct cpk_error *err)
{
	if (idx == -1)
		return add_data(c, key + 5, value, err);
	seen[idx] = true;
	return set_field(c, idx, value, err);
}

/* --- JSON --- */

struct jparse {
	const char *s;
	size_t n, pos;
};

static void
j_ws(struct jparse *j)
{
	while (j->pos < j->n && (j->s[j->pos] == ' ' || j->s[j->pos] == '\t' ||
	    j->s[j->pos] == '\r' || j->s[j->pos] == '\n'))
		j->pos++;
}

static int
j_hex4(const char *p)
{
	int v = 0, i, d;

	for (i = 0; i < 4; i++) {
		if ((d = cpk_hex_value(p[i])) < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

static cpk_status
put_utf8(struct cpk_buf *b, unsigned long cp, struct cpk_error *err)
{
	uint8_t u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (uint8_t)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (uint8_t)(0xC0 | (cp >> 6));
		u[1] = (uint8_t)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (uint8_t)(0xE0 | (cp >> 12));
		u[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
		u[2] = (uint8_t)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		u[0] = (uint8_t)(0xF0 | (cp >> 18));
		u[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
		u[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
		u[3] = (uint8_t)(0x80 | (cp & 0x3F));
		n = 4;
	}
	return cpk_buf_append(b, u, n, err);
}

/* A \u escape at j->pos (pointing at 'u'); may consume a low surrogate. */
static cpk_status
j_unicode(struct jparse *j, struct cpk_buf *out, struct cpk_error *err)
{
	int hi, lo;

	if (j->n - j->pos < 5 || (hi = j_hex4(j->s + j->pos + 1)) < 0)
		return cpk_error_set(err, CPK_ERR_PARSE, "malformed \\u escape");
	j->pos += 5;
	if (hi >= 0xDC00 && hi <= 0xDFFF)
		return cpk_error_set(err, CPK_ERR_PARSE, "unpaired surrogate in \\u escape");
	if (hi >= 0xD800 && hi <= 0xDBFF) {
		if (j->n - j->pos < 6 || j->s[j->pos] != '\\' || j->s[j->pos + 1] != 'u' ||
		    (lo = j_hex4(j->s + j->pos + 2)) < 0 || lo < 0xDC00 || lo > 0xDFFF)
			return cpk_error_set(err, CPK_ERR_PARSE, "unpaired surrogate in \\u escape");
		j->pos += 6;
		return put_utf8(out, 0x10000 + (((unsigned long)hi - 0xD800) << 10) +
		    ((unsigned long)lo - 0xDC00), err);
	}
	if (hi == 0)
		return cpk_error_set(err, CPK_ERR_PARSE, "NUL character (\\u0000) in a string");
	return put_utf8(out, (unsigned long)hi, err);
}

/* Length of a valid UTF-8 sequence at p[0..n), 0 if invalid. */
static size_t
utf8_len(const unsigned char *p, size_t n)
{
	size_t len, i;
	unsigned long cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xC2 && p[0] <= 0xDF)
		len = 2;
	else if (p[0] >= 0xE0 && p[0] <= 0xEF)
		len = 3;
	else if (p[0] >= 0xF0 && p[0] <= 0xF4)
		len = 4;
	else
		return 0;
	if (n < len)
		return 0;
	cp = p[0] & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3F);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
		return 0;
	return len;
}

/* A string at j->pos (the opening quote); out receives the text, NUL-terminated. */
static cpk_status
j_string(struct jparse *j, struct cpk_buf *out, struct cpk_error *err)
{
	static const char esc_in[] = "\"\\/bfnrt";
	static const char esc_out[] = "\"\\/\b\f\n\r\t";
	cpk_status ret;
	const char *e;
	size_t u;

	cpk_buf_reset(out);
	if (j->pos >= j->n || j->s[j->pos] != '"')
		return cpk_error_set(err, CPK_ERR_PARSE, "expected a string in double quotes");
	j->pos++;
	for (;;) {
		unsigned char ch;

		if (j->pos >= j->n)
			return cpk_error_set(err, CPK_ERR_PARSE, "unterminated string");
		if (out->len > CARD_LINE_MAX)
			return cpk_error_set(err, CPK_ERR_RANGE, "string too long");
		ch = (unsigned char)j->s[j->pos];
		if (ch == '"') {
			j->pos++;
			break;
		}
		if (ch < 0x20)
			return cpk_error_set(err, CPK_ERR_PARSE,
			    "control character (byte 0x%02X) in a string", ch);
		if (ch == '\\') {
			if (j->pos + 1 >= j->n)
				return cpk_error_set(err, CPK_ERR_PARSE, "unterminated string");
			if (j->s[j->pos + 1] == 'u') {
				j->pos++;
				if ((ret = j_unicode(j, out, err)) != CPK_OK)
					return ret;
				continue;
			}
			if (j->s[j->pos + 1] == '\0' ||
			    (e = strchr(esc_in, j->s[j->pos + 1])) == NULL)
				return cpk_error_set(err, CPK_ERR_PARSE, "invalid escape in a string");
			if ((ret = cpk_buf_append_byte(out, (uint8_t)esc_out[e - esc_in], err)) != CPK_OK)
				return ret;
			j->pos += 2;
			continue;
		}
		if ((u = utf8_len((const unsigned char *)j->s + j->pos, j->n - j->pos)) == 0)
			return cpk_error_set(err, CPK_ERR_PARSE, "invalid UTF-8 in a string");
		if ((ret = cpk_buf_append(out, j->s + j->pos, u, err)) != CPK_OK)
			return ret;
		j->pos += u;
	}
	return cpk_buf_append_byte(out, 0, err);
}

static cpk_status
json_member(struct jparse *j, struct card_record *c, bool *seen, size_t *fcol,
    char (*keys)[48], size_t *nkeys, const char *file, unsigned lineno, struct cpk_buf *kb,
    struct cpk_buf *vb, struct cpk_error *err)
{
	size_t kcol, vcol, i;
	const char *key;
	cpk_status ret;
	int idx;

	kcol = j->pos + 1;
	if ((ret = j_string(j, kb, err)) != CPK_OK)
		return ydoc_locate(err, file, lineno, (unsigned)(j->pos + 1));
	key = (const char *)kb->data;
	if ((idx = lookup_key(key)) == -2) {
		unknown_flat_key(key, "key", err);
		return ydoc_locate(err, file, lineno, (unsigned)kcol);
	}
	if (idx == -1 && (ret = check_data_name(key + 5, err)) != CPK_OK)
		return ydoc_locate(err, file, lineno, (unsigned)kcol);
	for (i = 0; i < *nkeys; i++) {
		if (strcmp(keys[i], key) == 0) {
			char q[64];

			ydoc_quote(key, q, sizeof(q));
			cpk_error_set(err, CPK_ERR_PARSE, "duplicate key '%s'", q);
			return ydoc_locate(err, file, lineno, (unsigned)kcol);
		}
	}
	if (*nkeys < C_COUNT + CARD_DATA_MAX + 1 && strlen(key) < 48)
		snprintf(keys[(*nkeys)++], 48, "%s", key);
	j_ws(j);
	if (j->pos >= j->n || j->s[j->pos] != ':') {
		cpk_error_set(err, CPK_ERR_PARSE, "expected ':' after key '%s'", key);
		return ydoc_locate(err, file, lineno, (unsigned)(j->pos + 1));
	}
	j->pos++;
	j_ws(j);
	vcol = j->pos + 1;
	if (j->pos >= j->n || j->s[j->pos] != '"') {
		cpk_error_set(err, CPK_ERR_PARSE, "the value of '%s' must be a string in double quotes",
		    key);
		return ydoc_locate(err, file, lineno, (unsigned)vcol);
	}
	if ((ret = j_string(j, vb, err)) != CPK_OK)
		return ydoc_locate(err, file, lineno, (unsigned)(j->pos + 1));
	if (idx >= 0)
		fcol[idx] = vcol;
	if ((ret = apply_flat(c, seen, idx, key, (const char *)vb->data, err)) != CPK_OK)
		return ydoc_locate(err, file, lineno, (unsigned)vcol);
	return CPK_OK;
}

static cpk_status
json_object(struct jparse *j, struct card_record *c, bool *seen, size_t *fcol,
    const char *file, unsigned lineno, struct cpk_error *err)
{
	char (*keys)[48] = NULL;
	struct cpk_buf kb = CPK_BUF_INIT, vb = CPK_BUF_INIT;
	size_t nkeys = 0;
	cpk_status ret = CPK_ERR_PARSE;

	if ((keys = calloc(C_COUNT + CARD_DATA_MAX + 1, sizeof(*keys))) == NULL) {
		ret = cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	j_ws(j);
	if (j->pos >= j->n || j->s[j->pos] != '{') {
		ret = cpk_error_set_at(err, CPK_ERR_PARSE, file, lineno, (unsigned)(j->pos + 1),
		    "a card record line must be a JSON object ('{' ... '}')");
		goto out;
	}
	j->pos++;
	j_ws(j);
	if (j->pos < j->n && j->s[j->pos] == '}') {
		j->pos++;
	} else {
		for (;;) {
			j_ws(j);
			if ((ret = json_member(j, c, seen, fcol, keys, &nkeys, file, lineno, &kb,
			    &vb, err)) != CPK_OK)
				goto out;
			j_ws(j);
			if (j->pos < j->n && j->s[j->pos] == ',') {
				j->pos++;
				continue;
			}
			if (j->pos < j->n && j->s[j->pos] == '}') {
				j->pos++;
				break;
			}
			ret = cpk_error_set_at(err, CPK_ERR_PARSE, file, lineno,
			    (unsigned)(j->pos + 1), "expected ',' or '}'");
			goto out;
		}
	}
	j_ws(j);
	if (j->pos != j->n) {
		ret = cpk_error_set_at(err, CPK_ERR_PARSE, file, lineno, (unsigned)(j->pos + 1),
		    "unexpected text after the JSON object");
		goto out;
	}
	ret = CPK_OK;
out:
	free(keys);
	cpk_buf_free(&kb);
	cpk_buf_free(&vb);
	return ret;
}

cpk_status
card_parse_json(const char *name, unsigned lineno, const char *line, size_t len,
    struct card_record *out, struct cpk_error *err)
{
	struct jparse j;
	struct cpk_error local;
	bool seen[C_COUNT];
	size_t fcol[C_COUNT];
	cpk_status ret;
	int bad;

	/* ydoc_locate returns the status it finds in err: never let it be NULL. */
	if (err == NULL)
		err = &local;
	card_record_init(out);
	cpk_error_clear(err);
	memset(seen, 0, sizeof(seen));
	memset(fcol, 0, sizeof(fcol));
	if (len > CARD_LINE_MAX) {
		ret = cpk_error_set_at(err, CPK_ERR_RANGE, name, lineno, 1,
		    "line too long (%zu bytes, at most %d)", len, CARD_LINE_MAX);
		goto out;
	}
	j.s = line;
	j.n = len;
	j.pos = 0;
	if ((ret = json_object(&j, out, seen, fcol, name, lineno, err)) != CPK_OK)
		goto out;
	if ((ret = card_finish(out, seen, &bad, err)) != CPK_OK)
		ydoc_locate(err, name, lineno, bad >= 0 && fcol[bad] > 0 ? (unsigned)fcol[bad] : 1);
out:
	if (ret != CPK_OK)
		card_record_clear(out);
	return ret;
}

/* --- CSV --- */

struct csv_field {
	size_t col;			/* 1-based column of the field's first character */
	char *text;
};

static void
csv_fields_free(struct csv_field *f, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (f[i].text != NULL) {
			cpk_cleanse(f[i].text, strlen(f[i].text));
			free(f[i].text);
		}
	}
	free(f);
}

/* Split one CSV line into fields. */
static cpk_status
csv_split(const char *file, unsigned lineno, const char *s, size_t n, struct csv_field **out,
    size_t *nout, struct cpk_error *err)
{
	struct csv_field *f = NULL, *nf;
	struct cpk_buf b = CPK_BUF_INIT;
	size_t pos = 0, nf_count = 0;
	cpk_status ret;

	if (n > 0 && s[n - 1] == '\n')
		n--;
	if (n > 0 && s[n - 1] == '\r')
		n--;
	if (n > CARD_LINE_MAX) {
		ret = cpk_error_set_at(err, CPK_ERR_RANGE, file, lineno, 1,
		    "line too long (%zu bytes, at most %d)", n, CARD_LINE_MAX);
		goto out;
	}
	for (;;) {
		size_t col = pos + 1;

		cpk_buf_reset(&b);
		if (pos < n && s[pos] == '"') {
			pos++;
			for (;;) {
				if (pos >= n) {
					ret = cpk_error_set_at(err, CPK_ERR_PARSE, file, lineno,
					    (unsigned)col, "unterminated quoted field");
					goto out;
				}
				if (s[pos] == '"' && pos + 1 < n && s[pos + 1] == '"') {
					ret = cpk_buf_append_byte(&b, '"', err);
					pos += 2;
				} else if (s[pos] == '"') {
					pos++;
					break;
				} else {
					ret = cpk_buf_append_byte(&b, (uint8_t)s[pos++], err);
				}
				if (ret != CPK_OK)
					goto out;
			}
			if (pos < n && s[pos] != ',') {
				ret = cpk_error_set_at(err, CPK_ERR_PARSE, file, lineno,
				    (unsigned)(pos + 1), "unexpected text after a quoted field");
				goto out;
			}
		} else {
			while (pos < n && s[pos] != ',') {
				if (s[pos] == '"' || s[pos] == '\0' || s[pos] == '\r' || s[pos] == '\n') {
					ret = cpk_error_set_at(err, CPK_ERR_PARSE, file, lineno,
					    (unsigned)(pos + 1),
					    "unexpected character in an unquoted field");
					goto out;
				}
				if ((ret = cpk_buf_append_byte(&b, (uint8_t)s[pos++], err)) != CPK_OK)
					goto out;
			}
		}
		/* An empty field may have no storage yet: memchr needs a pointer. */
		if (b.len > 0 && memchr(b.data, '\0', b.len) != NULL) {
			ret = cpk_error_set_at(err, CPK_ERR_PARSE, file, lineno, (unsigned)col,
			    "NUL character in a field");
			goto out;
		}
		if (nf_count == C_COUNT + CARD_DATA_MAX) {
			ret = cpk_error_set_at(err, CPK_ERR_RANGE, file, lineno, (unsigned)col,
			    "too many fields (at most %d)", C_COUNT + CARD_DATA_MAX);
			goto out;
		}
		if ((nf = realloc(f, (nf_count + 1) * sizeof(*nf))) == NULL) {
			ret = cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
			goto out;
		}
		f = nf;
		f[nf_count].col = col;
		if ((f[nf_count].text = malloc(b.len + 1)) == NULL) {
			ret = cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
			goto out;
		}
		if (b.len > 0)
			memcpy(f[nf_count].text, b.data, b.len);
		f[nf_count].text[b.len] = '\0';
		nf_count++;
		if (pos >= n)
			break;
		pos++;			/* the comma */
	}
	*out = f;
	*nout = nf_count;
	f = NULL;
	ret = CPK_OK;
out:
	if (f != NULL)
		csv_fields_free(f, nf_count);
	cpk_buf_free(&b);
	return ret;
}

void
card_csv_header_free(struct card_csv_header *h)
{
	size_t i;

	if (h == NULL)
		return;
	for (i = 0; h->data_name != NULL && i < h->ncols; i++)
		free(h->data_name[i]);
	free(h->data_name);
	free(h->field);
	memset(h, 0, sizeof(*h));
}

static cpk_status
csv_header_column(struct card_csv_header *h, size_t i, const struct csv_field *f, bool *seen,
    struct cpk_error *err)
{
	cpk_status ret;
	int idx = lookup_key(f->text);
	size_t k;

	if (idx == -2)
		return unknown_flat_key(f->text, "column", err);
	for (k = 0; k < i; k++) {
		if ((idx >= 0 && h->field[k] == idx) ||
		    (idx == -1 && h->field[k] == -1 && strcmp(h->data_name[k], f->text + 5) == 0))
			return cpk_error_set(err, CPK_ERR_PARSE, "duplicate column '%s'", f->text);
	}
	h->field[i] = idx;
	if (idx >= 0) {
		seen[idx] = true;
		return CPK_OK;
	}
	if ((ret = check_data_name(f->text + 5, err)) != CPK_OK)
		return ret;
	if ((h->data_name[i] = strdup(f->text + 5)) == NULL)
		return cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
	return CPK_OK;
}

cpk_status
card_csv_header_parse(const char *name, unsigned lineno, const char *line, size_t len,
    struct card_csv_header *out, struct cpk_error *err)
{
	struct csv_field *f = NULL;
	bool seen[C_COUNT];
	size_t n = 0, i;
	cpk_status ret;

	memset(out, 0, sizeof(*out));
	memset(seen, 0, sizeof(seen));
	cpk_error_clear(err);
	if ((ret = csv_split(name, lineno, line, len, &f, &n, err)) != CPK_OK)
		goto out;
	out->ncols = n;
	if ((out->field = calloc(n, sizeof(*out->field))) == NULL ||
	    (out->data_name = calloc(n, sizeof(*out->data_name))) == NULL) {
		ret = cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((ret = csv_header_column(out, i, &f[i], seen, err)) != CPK_OK) {
			ydoc_locate(err, name, lineno, (unsigned)f[i].col);
			goto out;
		}
	}
	for (i = 0; i < C_COUNT; i++) {
		if (card_fields[i].required && !seen[i]) {
			ret = cpk_error_set_at(err, CPK_ERR_PARSE, name, lineno, 1,
			    "the CSV header has no column '%s' (a required field)", card_fields[i].key);
			goto out;
		}
	}
	ret = CPK_OK;
out:
	if (f != NULL)
		csv_fields_free(f, n);
	if (ret != CPK_OK)
		card_csv_header_free(out);
	return ret;
}

cpk_status
card_parse_csv(const struct card_csv_header *h, const char *name, unsigned lineno,
    const char *line, size_t len, struct card_record *out, struct cpk_error *err)
{
	struct csv_field *f = NULL;
	bool seen[C_COUNT];
	char key[CARD_DATA_NAME_MAX + 6];
	size_t n = 0, i;
	cpk_status ret;
	int bad = -1;

	card_record_init(out);
	memset(seen, 0, sizeof(seen));
	cpk_error_clear(err);
	if ((ret = csv_split(name, lineno, line, len, &f, &n, err)) != CPK_OK)
		goto out;
	if (n != h->ncols) {
		ret = cpk_error_set_at(err, CPK_ERR_PARSE, name, lineno, 1,
		    "the row has %zu fields but the header has %zu columns", n, h->ncols);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (f[i].text[0] == '\0')
			continue;
		snprintf(key, sizeof(key), "data.%s", h->field[i] == -1 ? h->data_name[i] : "");
		if ((ret = apply_flat(out, seen, h->field[i], key, f[i].text, err)) != CPK_OK) {
			ydoc_locate(err, name, lineno, (unsigned)f[i].col);
			goto out;
		}
	}
	if ((ret = card_finish(out, seen, &bad, err)) != CPK_OK) {
		unsigned col = 1;

		for (i = 0; bad >= 0 && i < n; i++)
			if (h->field[i] == bad)
				col = (unsigned)f[i].col;
		ydoc_locate(err, name, lineno, col);
	}
out:
	if (f != NULL)
		csv_fields_free(f, n);
	if (ret != CPK_OK)
		card_record_clear(out);
	return ret;
}
