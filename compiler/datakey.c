/* SPDX-License-Identifier: BSD-2-Clause */
/* cpk: the registry data key and the card data it seals (see datakey.h). */
#include "datakey.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "card_int.h"
#include "cpk_file.h"
#include "gp_crypto.h"
#include "secmem.h"
#include "ydoc.h"

#define AAD_LABEL "cpk-registry-data-1"

struct datakey {
	uint8_t key[DATAKEY_LEN];
};

static cpk_status
key_path(const char *keydir, char *path, size_t n, struct cpk_error *err)
{
	int w = snprintf(path, n, "%s/%s", keydir, DATAKEY_FILE);

	if (w < 0 || (size_t)w >= n)
		return cpk_error_set(err, CPK_ERR_RANGE, "key folder path too long");
	return CPK_OK;
}

cpk_status
datakey_load(const char *keydir, struct datakey **out, struct cpk_error *err)
{
	struct cpk_buf text = CPK_BUF_INIT;
	struct datakey *dk = NULL;
	char path[PATH_MAX];
	size_t len, got;
	cpk_status st;

	*out = NULL;
	if ((st = key_path(keydir, path, sizeof(path), err)) != CPK_OK)
		goto out;
	if (access(path, F_OK) != 0 && errno == ENOENT) {
		st = cpk_error_set(err, CPK_ERR_NOT_FOUND, "no registry data key '%s': the registry "
		    "keeps per-card data sealed with it; make one with cardc registry keygen -k %s",
		    path, keydir);
		goto out;
	}
	if ((st = ydoc_read_file(path, 256, YDOC_FILE_KEYS, &text, err)) != CPK_OK)
		goto out;
	len = text.len;
	if (len > 0 && text.data[len - 1] == '\n')
		len--;
	st = CPK_ERR_PARSE;
	if (len != 2 * DATAKEY_LEN) {
		cpk_error_set(err, st, "registry data key '%s' must be %d hex digits", path,
		    2 * DATAKEY_LEN);
		goto out;
	}
	if ((dk = secmem_alloc(sizeof(*dk))) == NULL) {
		st = cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (cpk_hex_decode((const char *)text.data, len, dk->key, sizeof(dk->key), &got,
	    NULL) != CPK_OK || got != DATAKEY_LEN) {
		cpk_error_set(err, st, "registry data key '%s' must be %d hex digits", path,
		    2 * DATAKEY_LEN);
		goto out;
	}
	*out = dk;
	dk = NULL;
	st = CPK_OK;
out:
	cpk_buf_free(&text);
	datakey_free(&dk);
	if (st != CPK_OK)
		err->line = err->col = 0;
	return st;
}

cpk_status
datakey_generate(const char *keydir, struct cpk_error *err)
{
	uint8_t key[DATAKEY_LEN];
	char path[PATH_MAX], hex[2 * DATAKEY_LEN + 2];
	int fd = -1;
	cpk_status st;

	if ((st = key_path(keydir, path, sizeof(path), err)) != CPK_OK ||
	    (st = cpk_check_parent_owner("key folder", path, CPK_OWNER_CARD_KEYS, err)) != CPK_OK ||
	    (st = gp_random(key, sizeof(key), err)) != CPK_OK)
		goto out;
	if (cpk_hex_encode(key, sizeof(key), hex, sizeof(hex)) != CPK_OK) {
		st = cpk_error_set(err, CPK_ERR_RANGE, "hex encoding failed");
		goto out;
	}
	hex[2 * DATAKEY_LEN] = '\n';
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
		st = errno == EEXIST ? cpk_error_set(err, CPK_ERR_STATE, "registry data key '%s' "
		    "exists: keys are never overwritten (the registry's sealed data needs it)",
		    path) : cpk_io_error(err, "cannot create", path, errno);
		goto out;
	}
	if ((st = cpk_write_all(fd, (const uint8_t *)hex, 2 * DATAKEY_LEN + 1, path,
	    err)) != CPK_OK)
		goto out;
	if (fsync(fd) != 0) {
		st = cpk_io_error(err, "cannot sync", path, errno);
		goto out;
	}
	st = cpk_fsync_parent_dir(path, err);
out:
	if (fd >= 0)
		close(fd);
	if (st != CPK_OK && fd >= 0)
		unlink(path);
	cpk_cleanse(key, sizeof(key));
	cpk_cleanse(hex, sizeof(hex));
	return st;
}

void
datakey_free(struct datakey **dk)
{
	if (dk == NULL || *dk == NULL)
		return;
	secmem_free(*dk, sizeof(**dk));
	*dk = NULL;
}

static cpk_status
make_aad(const char *serial, const uint8_t hash[32], struct cpk_buf *aad, struct cpk_error *err)
{
	cpk_status st;

	if ((st = cpk_buf_append(aad, AAD_LABEL, sizeof(AAD_LABEL), err)) != CPK_OK ||
	    (st = cpk_buf_append(aad, serial, strlen(serial) + 1, err)) != CPK_OK ||
	    (st = cpk_buf_append(aad, hash, 32, err)) != CPK_OK)
		return st;
	return CPK_OK;
}

cpk_status
datakey_seal(const struct datakey *dk, const char *serial, const uint8_t bundle_sha256[32],
    const uint8_t *plain, size_t n, struct cpk_buf *out, struct cpk_error *err)
{
	struct cpk_buf aad = CPK_BUF_INIT;
	size_t start = out->len;
	cpk_status st;

	if (n > SIZE_MAX - GP_GCM_NONCE_LEN - GP_GCM_TAG_LEN) {
		st = cpk_error_set(err, CPK_ERR_RANGE, "card data too long");
		goto out;
	}
	if ((st = make_aad(serial, bundle_sha256, &aad, err)) != CPK_OK ||
	    (st = cpk_buf_reserve(out, GP_GCM_NONCE_LEN + n + GP_GCM_TAG_LEN, err)) != CPK_OK ||
	    (st = gp_random(out->data + start, GP_GCM_NONCE_LEN, err)) != CPK_OK ||
	    (st = gp_aes256_gcm_seal(dk->key, out->data + start, aad.data, aad.len, plain, n,
	    out->data + start + GP_GCM_NONCE_LEN, err)) != CPK_OK)
		goto out;
	out->len = start + GP_GCM_NONCE_LEN + n + GP_GCM_TAG_LEN;
out:
	cpk_buf_free(&aad);
	return st;
}

cpk_status
datakey_open(const struct datakey *dk, const char *serial, const uint8_t bundle_sha256[32],
    const uint8_t *sealed, size_t n, struct cpk_buf *out, struct cpk_error *err)
{
	struct cpk_buf aad = CPK_BUF_INIT;
	cpk_status st;

	cpk_buf_reset(out);
	if (n < GP_GCM_NONCE_LEN + GP_GCM_TAG_LEN) {
		st = cpk_error_set(err, CPK_ERR_VERIFY, "sealed card data too short");
		goto out;
	}
	if ((st = make_aad(serial, bundle_sha256, &aad, err)) != CPK_OK ||
	    (st = cpk_buf_reserve(out, n, err)) != CPK_OK ||
	    (st = gp_aes256_gcm_open(dk->key, sealed, aad.data, aad.len, sealed + GP_GCM_NONCE_LEN,
	    n - GP_GCM_NONCE_LEN, out->data, err)) != CPK_OK)
		goto out;
	out->len = n - GP_GCM_NONCE_LEN - GP_GCM_TAG_LEN;
out:
	cpk_buf_free(&aad);
	return st;
}

cpk_status
card_data_encode(const struct profile *p, const struct card_record *card, struct cpk_buf *out,
    struct cpk_error *err)
{
	const char *v;
	size_t i, nlen, vlen;
	cpk_status st;

	for (i = 0; i < p->ndata; i++) {
		if ((v = card_data_get(card, p->data_names[i])) == NULL)
			continue;
		nlen = strlen(p->data_names[i]);
		vlen = strlen(v);
		if (nlen > UINT8_MAX || vlen > UINT16_MAX)
			return cpk_error_set(err, CPK_ERR_RANGE, "per-card data '%s' too long",
			    p->data_names[i]);
		if ((st = cpk_buf_append_byte(out, (uint8_t)nlen, err)) != CPK_OK ||
		    (st = cpk_buf_append(out, p->data_names[i], nlen, err)) != CPK_OK ||
		    (st = cpk_buf_append_u16be(out, (uint16_t)vlen, err)) != CPK_OK ||
		    (st = cpk_buf_append(out, v, vlen, err)) != CPK_OK)
			return st;
	}
	return CPK_OK;
}

cpk_status
card_data_decode(const uint8_t *plain, size_t n, struct card_record *card,
    struct cpk_error *err)
{
	struct cpk_cursor c;
	const uint8_t *name, *value;
	char nbuf[CARD_DATA_NAME_MAX + 1], vbuf[CARD_DATA_VALUE_MAX + 1];
	uint8_t nlen;
	uint16_t vlen;
	cpk_status st = CPK_OK;

	cpk_cursor_init(&c, plain, n);
	while (cpk_cursor_left(&c) > 0) {
		if (!cpk_cursor_u8(&c, &nlen) || nlen == 0 || nlen > CARD_DATA_NAME_MAX ||
		    !cpk_cursor_bytes(&c, nlen, &name) || !cpk_cursor_u16be(&c, &vlen) ||
		    vlen > CARD_DATA_VALUE_MAX || !cpk_cursor_bytes(&c, vlen, &value) ||
		    memchr(value, 0, vlen) != NULL) {
			st = cpk_error_set(err, CPK_ERR_PARSE, "malformed card data in the registry");
			break;
		}
		memcpy(nbuf, name, nlen);
		nbuf[nlen] = '\0';
		memcpy(vbuf, value, vlen);
		vbuf[vlen] = '\0';
		if ((st = card_add_data(card, nbuf, vbuf, err)) != CPK_OK)
			break;
	}
	cpk_cleanse(vbuf, sizeof(vbuf));
	return st;
}
