/* SPDX-License-Identifier: BSD-2-Clause */
/* cpk: card records: the field table, values and cross-field rules every form shares (see card_int.h). */
#include "card_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpk_apdu.h"
#include "cpk_bytes.h"


const struct ydoc_field card_fields[C_COUNT] = {
	[C_SD_AID] = { "sd-aid", YDOC_T_HEX, true, GP_AID_MIN, GP_AID_MAX, NULL, false },
	[C_SCP] = { "scp", YDOC_T_ENUM, true, 0, 0, scp_proto_numbers, false },
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
	[C_MAX_COMMAND] = { "max-command", YDOC_T_INT, false, CARD_SHORT_COMMAND,
	    CARD_EXT_COMMAND, NULL, false },
	[C_MAX_RESPONSE] = { "max-response", YDOC_T_INT, false, CARD_SHORT_RESPONSE,
	    CARD_EXT_RESPONSE, NULL, false },
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

const struct ydoc_schema card_schema = {
	"the card record", card_fields, C_COUNT, card_hints, false,
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

size_t
card_max_lc(const struct card_record *c)
{
	size_t lc;

	if (c->max_command <= CARD_SHORT_COMMAND)
		return CPK_APDU_SHORT_MAX_LC;
	/* A case 3 command: CLA INS P1 P2 00 Lc1 Lc2 data. */
	lc = c->max_command - 7;
	if (lc > CPK_APDU_EXT_MAX_LC)
		lc = CPK_APDU_EXT_MAX_LC;
	return lc < CPK_APDU_SHORT_MAX_LC ? CPK_APDU_SHORT_MAX_LC : lc;
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

cpk_status
card_set_field(struct card_record *c, int idx, const char *s, struct cpk_error *err)
{
	const struct ydoc_field *f = &card_fields[idx];
	uint8_t aid[GP_AID_MAX];
	long long v;
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
		c->scp = (enum scp_version)scp_proto_at((size_t)e)->id;
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
	case C_MAX_COMMAND:
	case C_MAX_RESPONSE:
		if ((ret = ydoc_decode_int(f, s, &v, err)) != CPK_OK)
			return ret;
		*(idx == C_MAX_COMMAND ? &c->max_command : &c->max_response) = (size_t)v;
		return CPK_OK;
	default:
		return cpk_error_set(err, CPK_ERR_ARG, "card field %d", idx);
	}
}

cpk_status
card_check_data_name(const char *name, struct cpk_error *err)
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

cpk_status
card_add_data(struct card_record *c, const char *name, const char *value, struct cpk_error *err)
{
	struct card_data_item *nd;
	cpk_status ret;

	if ((ret = card_check_data_name(name, err)) != CPK_OK)
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
	if (scp_proto_find(r->scp)->iu_has_i && r->i != c->i)
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

cpk_status
card_finish(struct card_record *c, const bool *seen, int *bad, struct cpk_error *err)
{
	const struct scp_proto *proto;
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
	proto = scp_proto_find((uint8_t)c->scp);
	if (c->counter_len != 0 && c->counter_len != proto->counter_len)
		return cpk_error_set(err, CPK_ERR_RANGE,
		    "'counter' must be %zu bytes for SCP%02d, got %zu", proto->counter_len,
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
	 * session; with one, the response carries it when i says so
	 * (scp_proto_iu_counter_len) and a session without it does not need it.
	 */
	if (!c->has_session && c->counter_len == 0)
		return cpk_error_set(err, CPK_ERR_PARSE,
		    "missing required key 'counter' in the card record (the next sequence "
		    "counter; or give 'host-challenge' and 'iu-response')");
	return CPK_OK;
}

/* --- flat key/value forms (JSON, CSV) --- */

int
card_lookup_key(const char *key)
{
	int i;

	if (strncmp(key, "data.", 5) == 0)
		return -1;
	for (i = 0; i < C_COUNT; i++)
		if (i != C_DATA && strcmp(card_fields[i].key, key) == 0)
			return i;
	return -2;
}

cpk_status
card_unknown_flat_key(const char *key, const char *what, struct cpk_error *err)
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

cpk_status
card_apply_flat(struct card_record *c, bool *seen, int idx, const char *key, const char *value,
    struct cpk_error *err)
{
	if (idx == -1)
		return card_add_data(c, key + 5, value, err);
	seen[idx] = true;
	return card_set_field(c, idx, value, err);
}
