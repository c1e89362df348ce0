/* SPDX-License-Identifier: BSD-2-Clause */
/* cpk: trust anchors and the Ed25519 manifest signature check. */
#include "verify.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpk_file.h"

struct cpk_trust {
	struct cpk_trust_key keys[CPK_TRUST_MAX_KEYS];
	size_t n;
};

cpk_status
cpk_trust_new(struct cpk_trust **out, struct cpk_error *err)
{
	*out = calloc(1, sizeof(**out));
	if (*out == NULL)
		return cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
	return CPK_OK;
}

void
cpk_trust_free(struct cpk_trust **t)
{
	if (t == NULL || *t == NULL)
		return;
	free(*t);
	*t = NULL;
}

size_t
cpk_trust_count(const struct cpk_trust *t)
{
	return t != NULL ? t->n : 0;
}

const struct cpk_trust_key *
cpk_trust_find(const struct cpk_trust *t, const uint8_t key_id[CPK_KEY_ID_LEN])
{
	size_t i;

	for (i = 0; t != NULL && i < t->n; i++) {
		if (memcmp(t->keys[i].key.key_id, key_id, CPK_KEY_ID_LEN) == 0)
			return &t->keys[i];
	}
	return NULL;
}

cpk_status
cpk_trust_add_key(struct cpk_trust *t, const struct cpk_pubkey *pk, const char *origin,
    struct cpk_error *err)
{
	const struct cpk_trust_key *old = cpk_trust_find(t, pk->key_id);
	char id[2 * CPK_KEY_ID_LEN + 1];
	cpk_status st = CPK_ERR_RANGE;

	if (old != NULL) {
		if (memcmp(old->key.pub, pk->pub, sizeof(pk->pub)) == 0) {
			st = CPK_OK;
			goto out;
		}
		cpk_key_id_hex(pk->key_id, id);
		st = cpk_error_set(err, CPK_ERR_PARSE, "%s and %s hold different keys with the "
		    "same key id %s", old->origin, origin, id);
		goto out;
	}
	if (t->n >= CPK_TRUST_MAX_KEYS) {
		cpk_error_set(err, st, "more than %d trusted keys (at %s)", CPK_TRUST_MAX_KEYS,
		    origin);
		goto out;
	}
	t->keys[t->n].key = *pk;
	snprintf(t->keys[t->n].origin, sizeof(t->keys[t->n].origin), "%s", origin);
	t->n++;
	st = CPK_OK;
out:
	return st;
}

static cpk_status
read_pub_file(const char *path, uint8_t *buf, size_t cap, size_t *n, struct cpk_error *err)
{
	struct stat sb;
	ssize_t r;
	int fd;
	cpk_status st = CPK_ERR_IO;

	*n = 0;
	/* A trust anchor must belong to root or to the user running cardload and
	 * must not be writable by group or others (OpenSSH's StrictModes). */
	if ((st = cpk_input_open(path, "trusted key", 0, &fd, &sb, err)) != CPK_OK ||
	    (st = cpk_check_owner("trusted key", path, &sb, CPK_OWNER_TRUST, err)) != CPK_OK)
		goto out;
	st = CPK_ERR_IO;
	while (*n < cap) {
		r = read(fd, buf + *n, cap - *n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			cpk_error_set(err, st, "cannot read '%s': %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		*n += (size_t)r;
	}
	st = CPK_OK;
out:
	if (fd >= 0)
		close(fd);
	return st;
}

cpk_status
cpk_trust_add_file(struct cpk_trust *t, const char *path, struct cpk_error *err)
{
	uint8_t buf[CPK_KEYFILE_MAX + 1];
	struct cpk_pubkey pk;
	size_t n = 0;
	cpk_status st;

	if ((st = read_pub_file(path, buf, sizeof(buf), &n, err)) != CPK_OK ||
	    (st = cpk_pubkey_parse(buf, n, path, &pk, err)) != CPK_OK ||
	    (st = cpk_trust_add_key(t, &pk, path, err)) != CPK_OK)
		goto out;
out:
	return st;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool
is_pub_name(const char *s)
{
	size_t len = strlen(s);

	return s[0] != '.' && len > 4 && strcmp(s + len - 4, ".pub") == 0;
}

/* The sorted "*.pub" names of a directory. */
static cpk_status
list_pub_names(const char *dir, char ***names, size_t *count, struct cpk_error *err)
{
	DIR *d = NULL;
	struct dirent *de;
	struct stat sb;
	size_t seen = 0;
	cpk_status st = CPK_ERR_IO;

	*names = NULL;
	*count = 0;
	if ((d = opendir(dir)) == NULL) {
		st = cpk_error_set(err, errno == ENOENT ? CPK_ERR_NOT_FOUND : CPK_ERR_IO,
		    "cannot open trust directory '%s': %s", dir, strerror(errno));
		goto out;
	}
	if (fstat(dirfd(d), &sb) != 0) {
		cpk_error_set(err, st, "trust directory '%s': %s", dir, strerror(errno));
		goto out;
	}
	if ((st = cpk_check_owner("trust directory", dir, &sb, CPK_OWNER_TRUST, err)) != CPK_OK)
		goto out;
	st = CPK_ERR_IO;
	if ((*names = calloc(CPK_TRUST_DIR_MAX_FILES, sizeof(**names))) == NULL) {
		st = cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		if (++seen > CPK_TRUST_DIR_MAX_FILES) {
			st = cpk_error_set(err, CPK_ERR_RANGE, "trust directory '%s' has more than "
			    "%d entries", dir, CPK_TRUST_DIR_MAX_FILES);
			goto out;
		}
		if (!is_pub_name(de->d_name))
			continue;
		if (((*names)[*count] = strdup(de->d_name)) == NULL) {
			st = cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
			goto out;
		}
		(*count)++;
	}
	qsort(*names, *count, sizeof(**names), name_cmp);
	st = CPK_OK;
out:
	if (d != NULL)
		closedir(d);
	return st;
}

cpk_status
cpk_trust_add_dir(struct cpk_trust *t, const char *dir, size_t *added, struct cpk_error *err)
{
	char **names = NULL;
	char path[4096];
	size_t count = 0, i;
	cpk_status st;

	if (added != NULL)
		*added = 0;
	if ((st = list_pub_names(dir, &names, &count, err)) != CPK_OK)
		goto out;
	for (i = 0; i < count; i++) {
		if (snprintf(path, sizeof(path), "%s/%s", dir, names[i]) >= (int)sizeof(path)) {
			st = cpk_error_set(err, CPK_ERR_RANGE, "path too long in '%s'", dir);
			goto out;
		}
		/*
		 * A listed file that cannot be opened (a dangling link) is a broken
		 * folder, not a missing one: callers skip only missing folders.
		 */
		if ((st = cpk_trust_add_file(t, path, err)) != CPK_OK) {
			if (st == CPK_ERR_NOT_FOUND) {
				st = CPK_ERR_IO;
				if (err != NULL)
					err->status = st;
			}
			goto out;
		}
		if (added != NULL)
			(*added)++;
	}
	st = CPK_OK;
out:
	for (i = 0; names != NULL && i < count; i++)
		free(names[i]);
	free(names);
	return st;
}

cpk_status
cpk_trust_add_path(struct cpk_trust *t, const char *path, struct cpk_error *err)
{
	struct stat sb;

	if (stat(path, &sb) != 0)
		return cpk_error_set(err, errno == ENOENT ? CPK_ERR_NOT_FOUND : CPK_ERR_IO,
		    "trusted key path '%s': %s", path, strerror(errno));
	if (S_ISDIR(sb.st_mode))
		return cpk_trust_add_dir(t, path, NULL, err);
	return cpk_trust_add_file(t, path, err);
}

/* --- the check --- */

static cpk_status
ed25519_verify(const struct cpk_trust_key *k, const uint8_t *msg, size_t n,
    const uint8_t *sig, struct cpk_error *err)
{
	EVP_PKEY *pkey = NULL;
	EVP_MD_CTX *ctx = NULL;
	char id[2 * CPK_KEY_ID_LEN + 1];
	int rc;
	cpk_status st = CPK_ERR_CRYPTO;

	pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, k->key.pub,
	    CPK_ED25519_KEY_LEN);
	if (pkey == NULL || (ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) != 1) {
		cpk_error_set(err, st, "cannot set up Ed25519 verification with %s", k->origin);
		if (err != NULL)
			err->ssl = ERR_peek_last_error();
		goto out;
	}
	rc = EVP_DigestVerify(ctx, sig, CPK_ED25519_SIG_LEN, msg, n);
	if (rc != 1) {
		cpk_key_id_hex(k->key.key_id, id);
		st = cpk_error_set(err, CPK_ERR_SIGNATURE,
		    "bad signature: %s does not verify with the trusted key %s (%s); the bundle "
		    "was altered or damaged", CPK_ENTRY_MANIFEST, id, k->origin);
		goto out;
	}
	st = CPK_OK;
out:
	ERR_clear_error();
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	return st;
}

cpk_status
cpk_verify_signature(const struct cpk_trust *t, const uint8_t *msg, size_t n,
    const uint8_t *sig, size_t sig_len, uint8_t key_id[CPK_KEY_ID_LEN],
    const struct cpk_trust_key **signer, enum cpk_bundle_fault *fault, struct cpk_error *err)
{
	const struct cpk_trust_key *k;
	const uint8_t *raw = NULL;
	uint8_t id[CPK_KEY_ID_LEN];
	char idhex[2 * CPK_KEY_ID_LEN + 1];
	cpk_status st;

	*fault = CPK_FAULT_SIGNATURE_FORMAT;
	if (signer != NULL)
		*signer = NULL;
	if ((st = cpk_sig_parse(sig, sig_len, id, &raw, err)) != CPK_OK)
		goto out;
	if (key_id != NULL)
		memcpy(key_id, id, sizeof(id));
	*fault = CPK_FAULT_UNKNOWN_KEY;
	if ((k = cpk_trust_find(t, id)) == NULL) {
		cpk_key_id_hex(id, idhex);
		st = cpk_error_set(err, CPK_ERR_SIGNATURE,
		    "signed by an unknown key %s (%zu trusted key%s); install the bureau's "
		    "public key (.pub file) as a trust anchor", idhex, cpk_trust_count(t),
		    cpk_trust_count(t) == 1 ? "" : "s");
		goto out;
	}
	*fault = CPK_FAULT_BAD_SIGNATURE;
	if ((st = ed25519_verify(k, msg, n, raw, err)) != CPK_OK)
		goto out;
	if (signer != NULL)
		*signer = k;
	*fault = CPK_FAULT_NONE;
out:
	return st;
}
