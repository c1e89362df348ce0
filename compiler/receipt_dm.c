/* SPDX-License-Identifier: BSD-2-Clause */
/* cpk: the card's delegated-management receipts in a run receipt (see receipt_dm.h). */
#include "receipt_dm.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "cpk_apdu.h"
#include "scp.h"

void
receipt_dm_clear(struct receipt_dm *d)
{
	OPENSSL_cleanse(d->key, sizeof(d->key));
	d->has_key = false;
}

/* KEYDIR/dm-receipt.key, KEYDIR being -k or the folder of the key set file -k names. */
static cpk_status
read_key(struct receipt_dm *d, struct cpk_error *err)
{
	char path[PATH_MAX];
	const char *slash;
	struct stat sb;
	cpk_status st;
	int n;

	if (d->keys != NULL && stat(d->keys, &sb) == 0 && S_ISDIR(sb.st_mode))
		n = snprintf(path, sizeof(path), "%s/%s", d->keys, RECEIPT_DM_KEY_FILE);
	else if (d->keys != NULL && (slash = strrchr(d->keys, '/')) != NULL)
		n = snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - d->keys), d->keys,
		    RECEIPT_DM_KEY_FILE);
	else
		n = snprintf(path, sizeof(path), "%s", RECEIPT_DM_KEY_FILE);
	if (n < 0 || (size_t)n >= sizeof(path))
		return cpk_error_set(err, CPK_ERR_RANGE, "the receipt key's path is too long");
	if (stat(path, &sb) != 0)
		return cpk_error_set(err, CPK_ERR_NOT_FOUND, "no receipt key '%s': the bundle's "
		    "delegated-management commands are answered with card receipts, verified with "
		    "it", path);
	if ((st = dm_receipt_key_read(path, d->key, err)) != CPK_OK)
		return st;
	d->has_key = true;
	return CPK_OK;
}

static void
save_op(const struct dm_command *dc, struct receipt_dm_op *op)
{
	size_t i;

	memset(op, 0, sizeof(*op));
	op->kind = dc->kind;
	for (i = 0; i < dc->naids; i++) {
		op->len[i] = dc->aid_len[i] <= sizeof(op->aid[i]) ? dc->aid_len[i] : 0;
		if (op->len[i] > 0)
			memcpy(op->aid[i], dc->aid[i], op->len[i]);
	}
	op->naids = dc->naids;
}

cpk_status
receipt_dm_command(struct receipt_dm *d, size_t index, const uint8_t *plain, size_t n,
    struct cpk_error *err)
{
	struct dm_command dc;
	struct cpk_apdu a;
	cpk_status st;

	d->expect = false;
	if (cpk_apdu_parse(plain, n, &a, NULL) != CPK_OK)
		return CPK_OK;		/* not a command of ours: the walk has checked it */
	if (a.cla == 0x80 && a.ins == 0xE8 && a.p1 == 0x80 && d->pending_load) {
		d->pending_load = false;
		d->expect = true;
		d->index = index;
		d->op = d->load;
		return CPK_OK;
	}
	if (a.cla != 0x80 || dm_command_parse(a.ins, a.p1, a.data, a.lc, &dc, NULL) != CPK_OK ||
	    dc.kind == DM_NONE || dc.token == NULL)
		return CPK_OK;
	if (!d->has_key && (st = read_key(d, err)) != CPK_OK)
		return st;
	if (dc.kind == DM_LOAD) {
		d->pending_load = true;
		save_op(&dc, &d->load);
		return CPK_OK;
	}
	d->expect = true;
	d->index = index;
	save_op(&dc, &d->op);
	return CPK_OK;
}

cpk_status
receipt_dm_response(struct receipt_dm *d, size_t index, const uint8_t *p, size_t n,
    struct cpk_error *err)
{
	struct dm_command dc;
	size_t i;
	cpk_status st;

	if (!d->expect || d->index != index)
		return CPK_OK;
	d->expect = false;
	memset(&dc, 0, sizeof(dc));
	dc.kind = d->op.kind;
	for (i = 0; i < d->op.naids; i++) {
		dc.aid[i] = d->op.aid[i];
		dc.aid_len[i] = d->op.len[i];
	}
	dc.naids = d->op.naids;
	if (dc.kind == DM_REGISTRY_UPDATE)
		dm_set_sd(&dc, d->sd_aid, d->sd_aid_len);
	/*
	 * The receipt key is of the protocol's key algorithm (AES-CMAC or 3DES
	 * MAC); the bundle parser accepted only a protocol of the table.
	 */
	if ((st = dm_receipt_verify(scp_ops_find(d->scp)->key_alg, d->key, &dc, p, n,
	    err)) == CPK_OK)
		d->verified++;
	return st;
}
