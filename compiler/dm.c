/* SPDX-License-Identifier: BSD-2-Clause */
/* cpk: delegated management tokens and receipts (see dm.h). */
#include "dm.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cpk_tlv.h"
#include "dap.h"
#include "ydoc.h"

#define INS_DELETE 0xE4
#define INS_INSTALL 0xE6

/* The INSTALL fields of a delegated operation: count, and which ones the receipt names. */
static bool
install_layout(uint8_t p1, enum dm_kind *kind, size_t *nf, int aid[DM_MAX_AIDS])
{
	size_t i;

	for (i = 0; i < DM_MAX_AIDS; i++)
		aid[i] = -1;
	*nf = 6;
	switch (p1) {
	case 0x02:
		*kind = DM_LOAD, *nf = 5, aid[0] = 0, aid[1] = 1;
		return true;
	case 0x04:
	case 0x0C:
		*kind = DM_INSTALL, aid[0] = 0, aid[1] = 2;
		return true;
	case 0x08:
		*kind = DM_SELECTABLE, aid[0] = 2;
		return true;
	case 0x10:
		*kind = DM_EXTRADITE, aid[0] = 0, aid[1] = 2;
		return true;
	case 0x40:
		/* Source SD (dm_set_sd), application, destination SD, privileges, parameters. */
		*kind = DM_REGISTRY_UPDATE, aid[1] = 2, aid[2] = 0, aid[3] = 3, aid[4] = 4;
		return true;
	default:
		return false;
	}
}

static cpk_status
parse_install(uint8_t p1, const uint8_t *data, size_t n, struct dm_command *out,
    struct cpk_error *err)
{
	const uint8_t *f[6];
	size_t len[6], nf, i, before = 0;
	int aid[DM_MAX_AIDS];
	struct cpk_cursor cur;
	uint8_t l;

	if (!install_layout(p1, &out->kind, &nf, aid))
		return CPK_OK;
	cpk_cursor_init(&cur, data, n);
	for (i = 0; i < nf; i++) {
		before = n - cpk_cursor_left(&cur);
		if (!cpk_cursor_u8(&cur, &l) || !cpk_cursor_bytes(&cur, l, &f[i]))
			return cpk_error_set(err, CPK_ERR_PARSE, "INSTALL P1 %02X: field %zu of %zu "
			    "is truncated", p1, i + 1, nf);
		len[i] = l;
	}
	if (cpk_cursor_left(&cur) != 0)
		return cpk_error_set(err, CPK_ERR_PARSE, "INSTALL P1 %02X: %zu bytes after the "
		    "token", p1, cpk_cursor_left(&cur));
	out->signed_len = before;
	out->token = len[nf - 1] > 0 ? f[nf - 1] : NULL;
	out->token_len = len[nf - 1];
	for (i = 0; i < DM_MAX_AIDS; i++) {
		if (aid[i] < 0)
			continue;	/* a registry update's source SD: dm_set_sd */
		out->aid[i] = f[aid[i]];
		out->aid_len[i] = len[aid[i]];
		out->naids = i + 1;
	}
	return CPK_OK;
}

void
dm_set_sd(struct dm_command *dc, const uint8_t *sd, size_t len)
{
	if (dc->kind != DM_REGISTRY_UPDATE)
		return;
	dc->aid[0] = sd, dc->aid_len[0] = len;
	if (dc->aid_len[2] == 0)
		dc->aid[2] = sd, dc->aid_len[2] = len;
}

/* 4F AID [B6 ...] [9E token], nothing else. */
static cpk_status
parse_delete(const uint8_t *data, size_t n, struct dm_command *out, struct cpk_error *err)
{
	struct cpk_cursor cur;
	struct cpk_tlv t;
	size_t at, k;

	if (n == 0 || (data[0] != 0x4F))
		return CPK_OK;		/* a key (D0, D2) or malformed: not delegated */
	cpk_cursor_init(&cur, data, n);
	if (cpk_tlv_next(&cur, &t, err) != CPK_OK)
		return CPK_ERR_PARSE;
	if (t.len < DM_AID_MIN || t.len > DM_AID_MAX)
		return cpk_error_set(err, CPK_ERR_PARSE, "DELETE: the AID (4F) has %zu bytes "
		    "(%d to %d)", t.len, DM_AID_MIN, DM_AID_MAX);
	out->kind = DM_DELETE;
	out->aid[0] = t.value;
	out->aid_len[0] = t.len;
	out->naids = 1;
	out->signed_len = n;
	for (k = 1; cpk_cursor_left(&cur) > 0; k++) {
		at = n - cpk_cursor_left(&cur);
		if (cpk_tlv_next(&cur, &t, err) != CPK_OK)
			return CPK_ERR_PARSE;
		/* B6 only right after the AID (k 1), 9E last. */
		if (t.tag == 0xB6 && k == 1)
			continue;
		if (t.tag != 0x9E || out->token != NULL || cpk_cursor_left(&cur) != 0)
			return cpk_error_set(err, CPK_ERR_PARSE, "DELETE data must be 4F <AID>, "
			    "then optionally B6 <control reference template> and 9E <token>");
		out->signed_len = at;
		out->token = t.value;
		out->token_len = t.len;
	}
	if (out->token_len == 0)
		out->token = NULL;
	return CPK_OK;
}

cpk_status
dm_command_parse(uint8_t ins, uint8_t p1, const uint8_t *data, size_t n,
    struct dm_command *out, struct cpk_error *err)
{
	memset(out, 0, sizeof(*out));
	if (ins == INS_INSTALL)
		return parse_install(p1, data, n, out, err);
	if (ins == INS_DELETE)
		return parse_delete(data, n, out, err);
	return CPK_OK;
}

cpk_status
dm_token_data(uint8_t p1, uint8_t p2, const uint8_t *data, size_t n, struct cpk_buf *out,
    struct cpk_error *err)
{
	cpk_status st;

	cpk_buf_reset(out);
	if (n > 255)
		return cpk_error_set(err, CPK_ERR_RANGE, "token data of %zu bytes (at most 255)", n);
	if ((st = cpk_buf_append_byte(out, p1, err)) != CPK_OK ||
	    (st = cpk_buf_append_byte(out, p2, err)) != CPK_OK ||
	    (st = cpk_buf_append_byte(out, (uint8_t)n, err)) != CPK_OK)
		return st;
	return cpk_buf_append(out, data, n, err);
}

cpk_status
dm_sign_token(const char *path, const struct cpk_buf *tdata, struct cpk_buf *token,
    struct cpk_error *err)
{
	struct cpk_buf pem = CPK_BUF_INIT;
	cpk_status st;

	if ((st = ydoc_read_file(path, DM_TOKEN_KEY_FILE_MAX, YDOC_FILE_KEYS, &pem, err)) ==
	    CPK_OK)
		st = dap_rsa_sign(&pem, "token key", path, true, tdata->data, tdata->len, token,
		    err);
	if (pem.data != NULL)
		OPENSSL_cleanse(pem.data, pem.len);
	cpk_buf_free(&pem);
	return st;
}

/* The data field of a delegated command dc once it carries a token_len-byte token. */
static size_t
with_token(const struct dm_command *dc, size_t token_len)
{
	/* INSTALL: the token's length byte replaces the empty one; DELETE: 9E <BER L> token. */
	if (dc->kind == DM_DELETE)
		return dc->signed_len + 1 + cpk_ber_len_size(token_len) + token_len;
	return dc->signed_len + 1 + token_len;
}

cpk_status
dm_data_len(uint8_t ins, uint8_t p1, const uint8_t *data, size_t n, size_t token_len,
    size_t *total, struct cpk_error *err)
{
	struct dm_command dc;
	cpk_status st;

	*total = n;
	if ((st = dm_command_parse(ins, p1, data, n, &dc, err)) != CPK_OK)
		return st;
	if (dc.kind != DM_NONE)
		*total = with_token(&dc, token_len);
	return CPK_OK;
}

cpk_status
dm_add_token(const char *key_path, struct cpk_buf *apdu, struct cpk_error *err)
{
	struct cpk_buf tdata = CPK_BUF_INIT, token = CPK_BUF_INIT, out = CPK_BUF_INIT;
	struct dm_command dc;
	const uint8_t *data;
	size_t lc, total;
	cpk_status st;

	if (apdu->len < 5 || apdu->len != 5 + (size_t)apdu->data[4]) {
		st = cpk_error_set(err, CPK_ERR_ARG, "a token goes into a short case 3 command");
		goto out;
	}
	data = apdu->data + 5;
	lc = apdu->data[4];
	if ((st = dm_command_parse(apdu->data[1], apdu->data[2], data, lc, &dc, err)) != CPK_OK)
		goto out;
	if (dc.kind == DM_NONE)
		goto out;
	if ((st = dm_token_data(apdu->data[2], apdu->data[3], data, dc.signed_len, &tdata,
	    err)) != CPK_OK)
		goto out;
	if (key_path == NULL) {
		static const uint8_t zeros[DM_TOKEN_MAX];

		st = cpk_buf_append(&token, zeros, sizeof(zeros), err);
	} else {
		st = dm_sign_token(key_path, &tdata, &token, err);
	}
	if (st != CPK_OK)
		goto out;
	total = with_token(&dc, token.len);
	if (total > 255) {
		st = cpk_error_set(err, CPK_ERR_RANGE, "a %zu-byte token makes a %zu-byte command "
		    "data field (at most 255): use an RSA-1024 token key", token.len, total);
		goto out;
	}
	if ((st = cpk_buf_append(&out, apdu->data, 4, err)) != CPK_OK ||
	    (st = cpk_buf_append_byte(&out, (uint8_t)total, err)) != CPK_OK ||
	    (st = cpk_buf_append(&out, data, dc.signed_len, err)) != CPK_OK)
		goto out;
	if (dc.kind == DM_DELETE)
		st = cpk_tlv_put(&out, 0x9E, token.data, token.len, err);
	else if ((st = cpk_buf_append_byte(&out, (uint8_t)token.len, err)) == CPK_OK)
		st = cpk_buf_append(&out, token.data, token.len, err);
	if (st != CPK_OK)
		goto out;
	cpk_buf_reset(apdu);
	st = cpk_buf_append(apdu, out.data, out.len, err);
out:
	cpk_buf_free(&tdata);
	cpk_buf_free(&token);
	cpk_buf_free(&out);
	return st;
}

cpk_status
dm_receipt_mac(enum gp_key_alg alg, const uint8_t key[DM_RECEIPT_KEY_LEN], const uint8_t *data,
    size_t n, uint8_t mac[DM_RECEIPT_MAX], size_t *maclen, struct cpk_error *err)
{
	static const uint8_t icv[GP_DES_BLOCK];

	if (alg == GP_KEY_AES) {
		*maclen = 16;
		return gp_aes_cmac(key, DM_RECEIPT_KEY_LEN, data, n, mac, err);
	}
	*maclen = GP_DES_BLOCK;
	return gp_des3_cbc_mac(key, icv, data, n, mac, err);
}

static cpk_status
put_lv(struct cpk_buf *b, const uint8_t *p, size_t n, struct cpk_error *err)
{
	cpk_status st;

	if (n > 255)
		return cpk_error_set(err, CPK_ERR_RANGE, "a receipt field of %zu bytes", n);
	if ((st = cpk_buf_append_byte(b, (uint8_t)n, err)) != CPK_OK)
		return st;
	return cpk_buf_append(b, p, n, err);
}

cpk_status
dm_receipt_data(const uint8_t *counter, size_t counter_len, const uint8_t *cud, size_t cud_len,
    const struct dm_command *cmd, struct cpk_buf *out, struct cpk_error *err)
{
	size_t i;
	cpk_status st;

	cpk_buf_reset(out);
	if ((st = put_lv(out, counter, counter_len, err)) != CPK_OK ||
	    (st = put_lv(out, cud, cud_len, err)) != CPK_OK)
		return st;
	for (i = 0; i < cmd->naids; i++) {
		/* A registry update's parameters take a BER length. */
		if (cmd->kind == DM_REGISTRY_UPDATE && i == 4) {
			if ((st = cpk_ber_len_put(out, cmd->aid_len[i], err)) != CPK_OK ||
			    (st = cpk_buf_append(out, cmd->aid[i], cmd->aid_len[i], err)) != CPK_OK)
				return st;
		} else if ((st = put_lv(out, cmd->aid[i], cmd->aid_len[i], err)) != CPK_OK) {
			return st;
		}
	}
	return CPK_OK;
}

cpk_status
dm_confirmation_parse(const uint8_t *p, size_t n, struct dm_confirmation *out,
    struct cpk_error *err)
{
	const uint8_t *f[3];
	size_t len[3], i;
	struct cpk_cursor cur;
	uint8_t l;

	memset(out, 0, sizeof(*out));
	cpk_cursor_init(&cur, p, n);
	for (i = 0; i < 3; i++) {
		if (!cpk_cursor_u8(&cur, &l) || !cpk_cursor_bytes(&cur, l, &f[i]))
			return cpk_error_set(err, CPK_ERR_PARSE, "the card's confirmation (%zu bytes) "
			    "is not receipt, confirmation counter and card unique data", n);
		len[i] = l;
	}
	if (cpk_cursor_left(&cur) != 0)
		return cpk_error_set(err, CPK_ERR_PARSE, "the card's confirmation has %zu bytes "
		    "after the card unique data", cpk_cursor_left(&cur));
	if (len[0] == 0 || len[0] > DM_RECEIPT_MAX || len[1] != 2)
		return cpk_error_set(err, CPK_ERR_PARSE, "the card's confirmation has a %zu-byte "
		    "receipt and a %zu-byte counter (a receipt of 1 to %d bytes and a 2-byte "
		    "counter)", len[0], len[1], DM_RECEIPT_MAX);
	out->receipt = f[0], out->receipt_len = len[0];
	out->counter = f[1], out->counter_len = len[1];
	out->cud = f[2], out->cud_len = len[2];
	return CPK_OK;
}

cpk_status
dm_receipt_verify(enum gp_key_alg alg, const uint8_t key[DM_RECEIPT_KEY_LEN],
    const struct dm_command *cmd, const uint8_t *resp, size_t n, struct cpk_error *err)
{
	struct dm_confirmation conf;
	struct cpk_buf data = CPK_BUF_INIT;
	uint8_t mac[DM_RECEIPT_MAX];
	size_t maclen = 0;
	cpk_status st;

	if ((st = dm_confirmation_parse(resp, n, &conf, err)) != CPK_OK ||
	    (st = dm_receipt_data(conf.counter, conf.counter_len, conf.cud, conf.cud_len, cmd,
	    &data, err)) != CPK_OK ||
	    (st = dm_receipt_mac(alg, key, data.data, data.len, mac, &maclen, err)) != CPK_OK)
		goto out;
	if (conf.receipt_len != maclen || CRYPTO_memcmp(mac, conf.receipt, maclen) != 0) {
		st = cpk_error_set(err, CPK_ERR_VERIFY, "the card's receipt (confirmation counter "
		    "%02X%02X) does not verify with the receipt key", conf.counter[0],
		    conf.counter[1]);
		goto out;
	}
	st = CPK_OK;
out:
	cpk_buf_free(&data);
	return st;
}

cpk_status
dm_receipt_key_read(const char *path, uint8_t key[DM_RECEIPT_KEY_LEN], struct cpk_error *err)
{
	struct cpk_buf text = CPK_BUF_INIT;
	size_t len, got = 0;
	cpk_status st;

	if ((st = ydoc_read_file(path, 64, YDOC_FILE_KEYS, &text, err)) != CPK_OK)
		goto out;
	len = text.len;
	if (len > 0 && text.data[len - 1] == '\n')
		len--;
	if (len != 2 * DM_RECEIPT_KEY_LEN ||
	    cpk_hex_decode((const char *)text.data, len, key, DM_RECEIPT_KEY_LEN, &got, NULL) !=
	    CPK_OK || got != DM_RECEIPT_KEY_LEN) {
		st = cpk_error_set(err, CPK_ERR_PARSE, "receipt key '%s' must be %d hex digits",
		    path, 2 * DM_RECEIPT_KEY_LEN);
		goto out;
	}
	st = CPK_OK;
out:
	if (st != CPK_OK)
		OPENSSL_cleanse(key, DM_RECEIPT_KEY_LEN);
	if (text.data != NULL)
		OPENSSL_cleanse(text.data, text.len);
	cpk_buf_free(&text);
	return st;
}
