/* SPDX-License-Identifier: BSD-2-Clause */
/* cpk: GlobalPlatform command builders (see gp_cmd.h). */
#include "gp_cmd.h"

#include <stdlib.h>
#include <string.h>

#include "cpk_apdu.h"
#include "cpk_tlv.h"

#define GP_CLA 0x80
#define INS_DELETE 0xE4
#define INS_INSTALL 0xE6
#define INS_LOAD 0xE8
#define INS_STORE_DATA 0xE2
#define INS_PUT_KEY 0xD8

#define LOAD_MAX_BLOCKS 256

cpk_status
gp_aid_set(struct gp_aid *aid, const uint8_t *p, size_t n, struct cpk_error *err)
{
	if (n < GP_AID_MIN || n > GP_AID_MAX)
		return cpk_error_set(err, CPK_ERR_RANGE, "an AID is 5 to 16 bytes, not %zu", n);
	memset(aid, 0, sizeof(*aid));
	memcpy(aid->b, p, n);
	aid->len = (uint8_t)n;
	return CPK_OK;
}

bool
gp_aid_equal(const struct gp_aid *a, const struct gp_aid *b)
{
	return a->len == b->len && memcmp(a->b, b->b, a->len) == 0;
}

void
gp_aid_hex(const struct gp_aid *aid, char out[2 * GP_AID_MAX + 1])
{
	size_t n = aid->len <= GP_AID_MAX ? aid->len : GP_AID_MAX;

	cpk_hex_encode(aid->b, n, out, 2 * GP_AID_MAX + 1);
}

static cpk_status
check_aid(const struct gp_aid *aid, const char *what, struct cpk_error *err)
{
	if (aid == NULL || aid->len < GP_AID_MIN || aid->len > GP_AID_MAX)
		return cpk_error_set(err, CPK_ERR_ARG, "%s AID must be 5 to 16 bytes", what);
	return CPK_OK;
}

/* Append len(1) | bytes; CPK_ERR_RANGE if n > 255. */
static cpk_status
put_lv(struct cpk_buf *b, const uint8_t *p, size_t n, const char *what, struct cpk_error *err)
{
	cpk_status ret;

	if (n > 255)
		return cpk_error_set(err, CPK_ERR_RANGE, "%s of %zu bytes does not fit a length byte",
		    what, n);
	if ((ret = cpk_buf_append_byte(b, (uint8_t)n, err)) != CPK_OK)
		return ret;
	return cpk_buf_append(b, p, n, err);
}

/* Replace out with CLA INS P1 P2 Lc data (short, no Le). */
static cpk_status
build_case3_max(uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *data, size_t n, size_t max,
    const char *what, struct cpk_buf *out, struct cpk_error *err)
{
	struct cpk_apdu a;

	if (n > max)
		return cpk_error_set(err, CPK_ERR_RANGE,
		    "%s data of %zu bytes does not fit %s APDU (at most %zu)", what, n,
		    max > CPK_APDU_SHORT_MAX_LC ? "an extended" : "a short", max);
	memset(&a, 0, sizeof(a));
	a.cla = GP_CLA;
	a.ins = ins;
	a.p1 = p1;
	a.p2 = p2;
	a.data = n > 0 ? data : NULL;
	a.lc = n;
	cpk_buf_reset(out);
	return cpk_apdu_build(&a, out, err);
}

/* A case 3 command in a short APDU (extended form when data > 255 for LOAD only). */
static cpk_status
build_case3(uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *data, size_t n,
    const char *what, struct cpk_buf *out, struct cpk_error *err)
{
	return build_case3_max(ins, p1, p2, data, n, CPK_APDU_SHORT_MAX_LC, what, out, err);
}

cpk_status
gp_cmd_delete(const struct gp_aid *aid, bool related, struct cpk_buf *out, struct cpk_error *err)
{
	uint8_t data[2 + GP_AID_MAX];
	cpk_status ret;

	if ((ret = check_aid(aid, "DELETE", err)) != CPK_OK)
		return ret;
	data[0] = 0x4F;
	data[1] = aid->len;
	memcpy(data + 2, aid->b, aid->len);
	return build_case3(INS_DELETE, 0x00, related ? 0x80 : 0x00, data, 2u + aid->len, "DELETE",
	    out, err);
}

cpk_status
gp_cmd_install_for_load(const struct gp_aid *package, const struct gp_aid *sd,
    const uint8_t *hash, size_t hashlen, const uint8_t *params, size_t paramslen,
    const uint8_t *token, size_t tokenlen, struct cpk_buf *out, struct cpk_error *err)
{
	struct cpk_buf d = CPK_BUF_INIT;
	cpk_status ret;

	if ((ret = check_aid(package, "load file", err)) != CPK_OK)
		goto out;
	if (sd != NULL && (ret = check_aid(sd, "security domain", err)) != CPK_OK)
		goto out;
	if ((ret = put_lv(&d, package->b, package->len, "load file AID", err)) != CPK_OK ||
	    (ret = put_lv(&d, sd != NULL ? sd->b : NULL, sd != NULL ? sd->len : 0,
	    "security domain AID", err)) != CPK_OK ||
	    (ret = put_lv(&d, hash, hashlen, "load file data block hash", err)) != CPK_OK ||
	    (ret = put_lv(&d, params, paramslen, "load parameters", err)) != CPK_OK ||
	    (ret = put_lv(&d, token, tokenlen, "load token", err)) != CPK_OK)
		goto out;
	ret = build_case3(INS_INSTALL, GP_INSTALL_FOR_LOAD, 0x00, d.data, d.len,
	    "INSTALL [for load]", out, err);
out:
	cpk_buf_free(&d);
	return ret;
}

void
gp_load_params(const uint32_t sizes[3], unsigned given, uint8_t out[GP_LOAD_PARAMS_MAX],
    size_t *len)
{
	static const uint8_t tags[3] = { 0xC6, 0xC7, 0xC8 };
	size_t n = 2, i, k, w;

	for (i = 0; i < 3; i++) {
		if ((given & (1u << i)) == 0)
			continue;
		w = sizes[i] > 0xFFFF ? 4 : 2;
		out[n++] = tags[i];
		out[n++] = (uint8_t)w;
		for (k = w; k > 0; k--)
			out[n++] = (uint8_t)(sizes[i] >> (8 * (k - 1)));
	}
	out[0] = 0xEF;
	out[1] = (uint8_t)(n - 2);
	*len = n;
}

static cpk_status
lfdb_range(size_t n, struct cpk_error *err)
{
	if (n > GP_LFDB_MAX)
		return cpk_error_set(err, CPK_ERR_RANGE,
		    "load file data block of %zu bytes: cpk loads at most %zu (1 MiB)", n,
		    (size_t)GP_LFDB_MAX);
	return CPK_OK;
}

size_t
gp_load_file_room(size_t n)
{
	size_t k = cpk_ber_len_size(n);

	return 1 + (k != 0 ? k : 4);
}

cpk_status
gp_load_file_frame(struct cpk_buf *io, size_t room, struct cpk_error *err)
{
	struct cpk_buf hdr = CPK_BUF_INIT;
	size_t n = io->len >= room ? io->len - room : 0;
	cpk_status ret;

	if (io->len < room) {
		ret = cpk_error_set(err, CPK_ERR_ARG, "load file: %zu bytes cannot hold a %zu-byte "
		    "header room", io->len, room);
		goto out;
	}
	if ((ret = lfdb_range(n, err)) != CPK_OK)
		goto out;
	/* Tag C4 and a BER length of at most 4 bytes, right before the block. */
	if ((ret = cpk_buf_append_byte(&hdr, 0xC4, err)) != CPK_OK ||
	    (ret = cpk_ber_len_put(&hdr, n, err)) != CPK_OK)
		goto out;
	if (hdr.len > room) {
		ret = cpk_error_set(err, CPK_ERR_ARG, "load file: a %zu-byte header does not fit "
		    "the %zu bytes left for it", hdr.len, room);
		goto out;
	}
	if (hdr.len != room)
		memmove(io->data + hdr.len, io->data + room, n);
	memcpy(io->data, hdr.data, hdr.len);
	io->len = hdr.len + n;
out:
	if (ret != CPK_OK)
		cpk_buf_reset(io);
	cpk_buf_free_public(&hdr);
	return ret;
}

cpk_status
gp_load_file(const uint8_t *lfdb, size_t n, struct cpk_buf *out, struct cpk_error *err)
{
	static const uint8_t room[5];
	size_t r = gp_load_file_room(n);
	cpk_status ret;

	cpk_buf_reset(out);
	if ((ret = lfdb_range(n, err)) != CPK_OK)
		return ret;
	/* One allocation: the room for the header, the block. */
	if ((ret = cpk_buf_reserve(out, r + n, err)) != CPK_OK ||
	    (ret = cpk_buf_append(out, room, r, err)) != CPK_OK ||
	    (ret = cpk_buf_append(out, lfdb, n, err)) != CPK_OK)
		return ret;
	return gp_load_file_frame(out, r, err);
}

cpk_status
gp_load_block_count(size_t len, size_t block, size_t *count, struct cpk_error *err)
{
	size_t c;

	*count = 0;
	if (block == 0 || block > CPK_APDU_EXT_MAX_LC)
		return cpk_error_set(err, CPK_ERR_RANGE,
		    "LOAD block size %zu: must be 1 to 65535 bytes", block);
	if (len == 0)
		return cpk_error_set(err, CPK_ERR_ARG, "empty load file");
	c = len / block + (len % block != 0 ? 1 : 0);
	if (c > LOAD_MAX_BLOCKS)
		return cpk_error_set(err, CPK_ERR_RANGE,
		    "the load file of %zu bytes needs %zu LOAD commands of %zu bytes; "
		    "at most 256 are possible (block numbers 00-FF)", len, c, block);
	*count = c;
	return CPK_OK;
}

cpk_status
gp_cmd_load(const uint8_t *loadfile, size_t len, size_t block, size_t index,
    struct cpk_buf *out, struct cpk_error *err)
{
	size_t count, off, n;
	cpk_status ret;

	if ((ret = gp_load_block_count(len, block, &count, err)) != CPK_OK)
		return ret;
	if (index >= count)
		return cpk_error_set(err, CPK_ERR_ARG, "LOAD block %zu of %zu", index, count);
	off = index * block;
	n = len - off < block ? len - off : block;
	return build_case3_max(INS_LOAD, index + 1 == count ? 0x80 : 0x00, (uint8_t)index,
	    loadfile + off, n, CPK_APDU_EXT_MAX_LC, "LOAD", out, err);
}

cpk_status
gp_cmd_load_all(const uint8_t *loadfile, size_t len, size_t block, gp_emit_fn emit, void *ctx,
    struct cpk_error *err)
{
	struct cpk_buf apdu = CPK_BUF_INIT;
	size_t count, i;
	cpk_status ret;

	if ((ret = gp_load_block_count(len, block, &count, err)) != CPK_OK)
		goto out;
	for (i = 0; i < count; i++) {
		if ((ret = gp_cmd_load(loadfile, len, block, i, &apdu, err)) != CPK_OK)
			goto out;
		if ((ret = emit(ctx, apdu.data, apdu.len, err)) != CPK_OK)
			goto out;
	}
	ret = CPK_OK;
out:
	cpk_buf_free(&apdu);
	return ret;
}

static cpk_status
check_privileges(const uint8_t *priv, size_t n, struct cpk_error *err)
{
	if (n != 1 && n != 3)
		return cpk_error_set(err, CPK_ERR_ARG, "privileges are 1 or 3 bytes, not %zu", n);
	if (priv == NULL)
		return cpk_error_set(err, CPK_ERR_ARG, "no privileges");
	return CPK_OK;
}

cpk_status
gp_cmd_install(uint8_t p1, const struct gp_install *in, struct cpk_buf *out, struct cpk_error *err)
{
	struct cpk_buf d = CPK_BUF_INIT, params = CPK_BUF_INIT;
	cpk_status ret;

	if (p1 != GP_INSTALL_FOR_INSTALL && p1 != GP_INSTALL_FOR_INSTALL_AND_SELECTABLE) {
		ret = cpk_error_set(err, CPK_ERR_ARG, "INSTALL [for install] with P1 %02X", p1);
		goto out;
	}
	if ((ret = check_aid(&in->package, "load file", err)) != CPK_OK ||
	    (ret = check_aid(&in->module, "module", err)) != CPK_OK ||
	    (ret = check_aid(&in->instance, "application", err)) != CPK_OK ||
	    (ret = check_privileges(in->privileges, in->privileges_len, err)) != CPK_OK)
		goto out;
	/* Install parameters: C9 len params (C9 00 when none) [EF len system params]. */
	if ((ret = cpk_buf_append_byte(&params, 0xC9, err)) != CPK_OK ||
	    (ret = put_lv(&params, in->params, in->params_len, "application parameters (C9)",
	    err)) != CPK_OK)
		goto out;
	if (in->has_system_params &&
	    ((ret = cpk_buf_append_byte(&params, 0xEF, err)) != CPK_OK ||
	    (ret = put_lv(&params, in->system_params, in->system_params_len,
	    "system parameters (EF)", err)) != CPK_OK))
		goto out;
	if ((ret = put_lv(&d, in->package.b, in->package.len, "load file AID", err)) != CPK_OK ||
	    (ret = put_lv(&d, in->module.b, in->module.len, "module AID", err)) != CPK_OK ||
	    (ret = put_lv(&d, in->instance.b, in->instance.len, "application AID", err)) != CPK_OK ||
	    (ret = put_lv(&d, in->privileges, in->privileges_len, "privileges", err)) != CPK_OK ||
	    (ret = put_lv(&d, params.data, params.len, "install parameters", err)) != CPK_OK ||
	    (ret = put_lv(&d, in->token, in->token_len, "install token", err)) != CPK_OK)
		goto out;
	ret = build_case3(INS_INSTALL, p1, 0x00, d.data, d.len, "INSTALL [for install]", out, err);
out:
	cpk_buf_free(&params);
	cpk_buf_free(&d);
	return ret;
}

cpk_status
gp_cmd_make_selectable(const struct gp_aid *instance, const uint8_t *privileges,
    size_t privileges_len, struct cpk_buf *out, struct cpk_error *err)
{
	struct cpk_buf d = CPK_BUF_INIT;
	cpk_status ret;

	if ((ret = check_aid(instance, "application", err)) != CPK_OK ||
	    (ret = check_privileges(privileges, privileges_len, err)) != CPK_OK)
		goto out;
	if ((ret = cpk_buf_append_u16be(&d, 0x0000, err)) != CPK_OK ||
	    (ret = put_lv(&d, instance->b, instance->len, "application AID", err)) != CPK_OK ||
	    (ret = put_lv(&d, privileges, privileges_len, "privileges", err)) != CPK_OK ||
	    (ret = cpk_buf_append_u16be(&d, 0x0000, err)) != CPK_OK)
		goto out;
	ret = build_case3(INS_INSTALL, GP_INSTALL_FOR_MAKE_SELECTABLE, 0x00, d.data, d.len,
	    "INSTALL [for make selectable]", out, err);
out:
	cpk_buf_free(&d);
	return ret;
}

cpk_status
gp_cmd_install_for_personalization(const struct gp_aid *instance, struct cpk_buf *out,
    struct cpk_error *err)
{
	uint8_t d[2 + 1 + GP_AID_MAX + 3];
	size_t n = 0;
	cpk_status ret;

	if ((ret = check_aid(instance, "application", err)) != CPK_OK)
		return ret;
	d[n++] = 0x00;
	d[n++] = 0x00;
	d[n++] = instance->len;
	memcpy(d + n, instance->b, instance->len);
	n += instance->len;
	d[n++] = 0x00;
	d[n++] = 0x00;
	d[n++] = 0x00;
	return build_case3(INS_INSTALL, GP_INSTALL_FOR_PERSONALIZATION, 0x00, d, n,
	    "INSTALL [for personalization]", out, err);
}

cpk_status
gp_store_item_encode(enum gp_store_format fmt, const struct gp_store_item *item,
    gp_encrypt_fn enc, void *enc_ctx, struct cpk_buf *out, struct cpk_error *err)
{
	struct cpk_buf cipher = CPK_BUF_INIT;
	const uint8_t *v = item->value;
	size_t n = item->len;
	cpk_status ret;

	if (item->encrypt) {
		if (enc == NULL) {
			ret = cpk_error_set(err, CPK_ERR_ARG, "an encrypted item needs an encryption function");
			goto out;
		}
		if ((ret = enc(enc_ctx, item->value, item->len, &cipher, err)) != CPK_OK)
			goto out;
		v = cipher.data;
		n = cipher.len;
	}
	if (fmt == GP_STORE_DGI) {
		if (item->id > 0xFFFF || n > 0xFFFF) {
			ret = cpk_error_set(err, CPK_ERR_RANGE, "DGI %04X with %zu bytes of data",
			    (unsigned)item->id, n);
			goto out;
		}
		if ((ret = cpk_buf_append_u16be(out, (uint16_t)item->id, err)) != CPK_OK)
			goto out;
		if (n < 255)
			ret = cpk_buf_append_byte(out, (uint8_t)n, err);
		else if ((ret = cpk_buf_append_byte(out, 0xFF, err)) == CPK_OK)
			ret = cpk_buf_append_u16be(out, (uint16_t)n, err);
		if (ret == CPK_OK)
			ret = cpk_buf_append(out, v, n, err);
	} else if (fmt == GP_STORE_BER_TLV) {
		ret = cpk_tlv_put(out, item->id, v, n, err);
	} else {
		ret = cpk_error_set(err, CPK_ERR_ARG, "STORE DATA format %02X", (unsigned)fmt);
	}
out:
	cpk_buf_free(&cipher);
	return ret;
}

cpk_status
gp_cmd_store_data(uint8_t p1, uint8_t block, const uint8_t *data, size_t n, struct cpk_buf *out,
    struct cpk_error *err)
{
	return build_case3(INS_STORE_DATA, p1, block, data, n, "STORE DATA", out, err);
}

/*
 * The sequence is planned as a list of chunks first (so the last one is
 * known before anything is emitted): each chunk is a slice of `all`, the
 * concatenation of the encoded items.
 */
struct store_chunk {
	size_t off, len;
	bool encrypted;
};

struct store_plan {
	struct store_chunk chunk[256];
	size_t n;
};

static cpk_status
plan_add(struct store_plan *pl, size_t off, size_t len, bool encrypted, struct cpk_error *err)
{
	if (pl->n == 256)
		return cpk_error_set(err, CPK_ERR_RANGE,
		    "the personalization data needs more than 256 STORE DATA commands "
		    "(block numbers 00-FF)");
	pl->chunk[pl->n].off = off;
	pl->chunk[pl->n].len = len;
	pl->chunk[pl->n].encrypted = encrypted;
	pl->n++;
	return CPK_OK;
}

/* Add one encoded item [off, off+len): pack into the open chunk or split. */
static cpk_status
plan_item(struct store_plan *pl, size_t off, size_t len, bool encrypted, size_t max,
    struct cpk_error *err)
{
	struct store_chunk *last = pl->n > 0 ? &pl->chunk[pl->n - 1] : NULL;
	cpk_status ret;
	size_t piece;

	if (!encrypted && last != NULL && !last->encrypted && last->len + len <= max &&
	    last->off + last->len == off) {
		last->len += len;
		return CPK_OK;
	}
	while (len > 0) {
		piece = len < max ? len : max;
		if ((ret = plan_add(pl, off, piece, encrypted, err)) != CPK_OK)
			return ret;
		off += piece;
		len -= piece;
	}
	return CPK_OK;
}

cpk_status
gp_cmd_store_data_all(enum gp_store_format fmt, const struct gp_store_item *items,
    size_t nitems, size_t max_block, gp_encrypt_fn enc, void *enc_ctx, gp_emit_fn emit,
    void *emit_ctx, struct cpk_error *err)
{
	struct cpk_buf all = CPK_BUF_INIT, apdu = CPK_BUF_INIT;
	struct store_plan *pl = NULL;
	size_t i, before;
	uint8_t p1;
	cpk_status ret;

	if (max_block == 0 || max_block > CPK_APDU_SHORT_MAX_LC || nitems == 0) {
		ret = cpk_error_set(err, CPK_ERR_ARG, "STORE DATA of %zu items in blocks of %zu",
		    nitems, max_block);
		goto out;
	}
	if ((pl = calloc(1, sizeof(*pl))) == NULL) {
		ret = cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < nitems; i++) {
		before = all.len;
		if ((ret = gp_store_item_encode(fmt, &items[i], enc, enc_ctx, &all, err)) != CPK_OK)
			goto out;
		if ((ret = plan_item(pl, before, all.len - before, items[i].encrypt, max_block,
		    err)) != CPK_OK)
			goto out;
	}
	for (i = 0; i < pl->n; i++) {
		p1 = (uint8_t)fmt;
		if (pl->chunk[i].encrypted)
			p1 |= GP_STORE_P1_ENCRYPTED;
		if (i + 1 == pl->n)
			p1 |= GP_STORE_P1_LAST;
		if ((ret = gp_cmd_store_data(p1, (uint8_t)i, all.data + pl->chunk[i].off,
		    pl->chunk[i].len, &apdu, err)) != CPK_OK)
			goto out;
		if ((ret = emit(emit_ctx, apdu.data, apdu.len, err)) != CPK_OK)
			goto out;
	}
	ret = CPK_OK;
out:
	free(pl);
	cpk_buf_free(&all);
	cpk_buf_free(&apdu);
	return ret;
}

cpk_status
gp_wrap_key_with_session(void *session, const uint8_t *key, size_t keylen, uint8_t *out,
    struct cpk_error *err)
{
	return scp_encrypt_key((const struct scp_session *)session, key, keylen, out, err);
}

static cpk_status
put_key_component(struct cpk_buf *d, enum gp_key_alg alg, const uint8_t *key, size_t len,
    gp_key_wrap_fn wrap, void *wrap_ctx, struct cpk_error *err)
{
	uint8_t cipher[GP_MAX_KEY], kcv[3];
	cpk_status ret;

	if ((ret = gp_kcv(alg, key, len, kcv, err)) != CPK_OK)
		goto out;
	if ((ret = wrap(wrap_ctx, key, len, cipher, err)) != CPK_OK)
		goto out;
	if (alg == GP_KEY_AES) {
		if ((ret = cpk_buf_append_byte(d, 0x88, err)) != CPK_OK ||
		    (ret = cpk_buf_append_byte(d, (uint8_t)(len + 1), err)) != CPK_OK ||
		    (ret = cpk_buf_append_byte(d, (uint8_t)len, err)) != CPK_OK)
			goto out;
	} else {
		if ((ret = cpk_buf_append_byte(d, 0x80, err)) != CPK_OK ||
		    (ret = cpk_buf_append_byte(d, (uint8_t)len, err)) != CPK_OK)
			goto out;
	}
	if ((ret = cpk_buf_append(d, cipher, len, err)) != CPK_OK ||
	    (ret = cpk_buf_append_byte(d, 0x03, err)) != CPK_OK ||
	    (ret = cpk_buf_append(d, kcv, 3, err)) != CPK_OK)
		goto out;
	ret = CPK_OK;
out:
	cpk_cleanse(cipher, sizeof(cipher));
	return ret;
}

cpk_status
gp_cmd_put_key(uint8_t old_kvn, const struct scp_keyset *keys, gp_key_wrap_fn wrap,
    void *wrap_ctx, struct cpk_buf *out, struct cpk_error *err)
{
	struct cpk_buf d = CPK_BUF_INIT;
	const uint8_t *k[3];
	cpk_status ret;
	size_t i;

	if (wrap == NULL || !gp_key_len_valid(keys->alg, keys->len)) {
		ret = cpk_error_set(err, CPK_ERR_ARG, "PUT KEY needs a key set and a wrap function");
		goto out;
	}
	if (keys->kvn == 0 || keys->kvn > 0x7F) {
		ret = cpk_error_set(err, CPK_ERR_RANGE,
		    "new key version %02X: PUT KEY takes key versions 01 to 7F", keys->kvn);
		goto out;
	}
	k[0] = keys->enc;
	k[1] = keys->mac;
	k[2] = keys->dek;
	if ((ret = cpk_buf_append_byte(&d, keys->kvn, err)) != CPK_OK)
		goto out;
	for (i = 0; i < 3; i++)
		if ((ret = put_key_component(&d, keys->alg, k[i], keys->len, wrap, wrap_ctx,
		    err)) != CPK_OK)
			goto out;
	ret = build_case3(INS_PUT_KEY, old_kvn, 0x81, d.data, d.len, "PUT KEY", out, err);
out:
	cpk_buf_free(&d);
	return ret;
}

cpk_status
gp_cmd_raw(const uint8_t header[4], const uint8_t *data, size_t n, bool has_le, size_t ne,
    struct cpk_buf *out, struct cpk_error *err)
{
	struct cpk_apdu a;

	if (n > CPK_APDU_SHORT_MAX_LC)
		return cpk_error_set(err, CPK_ERR_RANGE,
		    "command data of %zu bytes does not fit a short APDU (at most 255)", n);
	if (has_le && (ne < 1 || ne > CPK_APDU_SHORT_MAX_NE))
		return cpk_error_set(err, CPK_ERR_RANGE, "Le of %zu: must be 1 to 256", ne);
	memset(&a, 0, sizeof(a));
	a.cla = header[0];
	a.ins = header[1];
	a.p1 = header[2];
	a.p2 = header[3];
	a.data = n > 0 ? data : NULL;
	a.lc = n;
	a.has_le = has_le;
	a.ne = has_le ? ne : 0;
	cpk_buf_reset(out);
	return cpk_apdu_build(&a, out, err);
}
