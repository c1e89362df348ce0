/* SPDX-License-Identifier: BSD-2-Clause */
/* cpk: Ed25519 signing keys: generation, loading, signing. */
#include "sign.h"
#include "cpk_file.h"
#include "p11.h"
#include "p11_uri.h"
#include "secmem.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct cpk_signer {
	EVP_PKEY *pkey;			/* a key from a file or a seed, or */
	struct p11_signkey *token;	/* a key in a PKCS#11 token */
	struct cpk_pubkey pub;
};

static cpk_status
crypto_error(struct cpk_error *err, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	const char *reason = e != 0 ? ERR_reason_error_string(e) : NULL;
	cpk_status st = cpk_error_set(err, CPK_ERR_CRYPTO, "%s failed (OpenSSL: %s)", what,
	    reason != NULL ? reason : "no reason given");

	if (err != NULL)
		err->ssl = e;
	ERR_clear_error();
	return st;
}

cpk_status
cpk_signer_from_seed(const uint8_t seed[CPK_ED25519_KEY_LEN], struct cpk_signer **out,
    struct cpk_error *err)
{
	struct cpk_signer *s = NULL;
	size_t len = CPK_ED25519_KEY_LEN;
	cpk_status st = CPK_ERR_NOMEM;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		cpk_error_set(err, st, "out of memory");
		goto out;
	}
	s->pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, CPK_ED25519_KEY_LEN);
	if (s->pkey == NULL) {
		st = crypto_error(err, "loading the Ed25519 key");
		goto out;
	}
	if (EVP_PKEY_get_raw_public_key(s->pkey, s->pub.pub, &len) != 1 ||
	    len != CPK_ED25519_KEY_LEN) {
		st = crypto_error(err, "deriving the Ed25519 public key");
		goto out;
	}
	if ((st = cpk_key_id(s->pub.pub, s->pub.key_id, err)) != CPK_OK)
		goto out;
	*out = s;
	s = NULL;
	st = CPK_OK;
out:
	cpk_signer_free(&s);
	return st;
}

void
cpk_signer_free(struct cpk_signer **s)
{
	if (s == NULL || *s == NULL)
		return;
	EVP_PKEY_free((*s)->pkey);
	p11_signkey_free(&(*s)->token);
	cpk_cleanse(*s, sizeof(**s));
	free(*s);
	*s = NULL;
}

const struct cpk_pubkey *
cpk_signer_pubkey(const struct cpk_signer *s)
{
	return &s->pub;
}

cpk_status
cpk_signer_sign(const struct cpk_signer *s, const uint8_t *msg, size_t n,
    uint8_t sig[CPK_SIG_LEN], struct cpk_error *err)
{
	EVP_MD_CTX *ctx = NULL;
	size_t siglen = CPK_ED25519_SIG_LEN;
	cpk_status st = CPK_ERR_NOMEM;

	memcpy(sig, CPK_SIG_ALG, 2);
	memcpy(sig + 2, s->pub.key_id, CPK_KEY_ID_LEN);
	if (s->token != NULL) {
		st = p11_ed25519_sign(s->token, msg, n, sig + 2 + CPK_KEY_ID_LEN, err);
		goto out;
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL) {
		cpk_error_set(err, st, "out of memory");
		goto out;
	}
	if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, s->pkey) != 1 ||
	    EVP_DigestSign(ctx, sig + 2 + CPK_KEY_ID_LEN, &siglen, msg, n) != 1 ||
	    siglen != CPK_ED25519_SIG_LEN) {
		st = crypto_error(err, "Ed25519 signing");
		goto out;
	}
	st = CPK_OK;
out:
	EVP_MD_CTX_free(ctx);
	return st;
}

cpk_status
cpk_signer_token(const char *uri, struct cpk_signer **out, struct cpk_error *err)
{
	struct cpk_signer *s = NULL;
	struct p11_uri u;
	cpk_status st;

	*out = NULL;
	if ((st = p11_uri_parse(uri, strlen(uri), &u, err)) != CPK_OK)
		goto out;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		st = cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((st = p11_ed25519_find(&u, &s->token, s->pub.pub, err)) != CPK_OK ||
	    (st = cpk_key_id(s->pub.pub, s->pub.key_id, err)) != CPK_OK)
		goto out;
	*out = s;
	s = NULL;
out:
	cpk_signer_free(&s);
	return st;
}

cpk_status
cpk_signer_open(const char *name, struct cpk_signer **out, struct cpk_error *err)
{
	if (p11_uri_is(name, strlen(name)))
		return cpk_signer_token(name, out, err);
	return cpk_signer_load(name, out, err);
}

/* --- files --- */

/* Create a new file that must not exist; never follows a symbolic link. */
static cpk_status
create_exclusive(const char *path, mode_t mode, int *fd, struct cpk_error *err)
{
	*fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (*fd < 0) {
		if (errno == EEXIST)
			return cpk_error_set(err, CPK_ERR_IO,
			    "'%s' already exists; cpk never overwrites a key file", path);
		return cpk_io_error(err, "cannot create", path, errno);
	}
	if (fchmod(*fd, mode) != 0)
		return cpk_io_error(err, "cannot set the mode of", path, errno);
	return CPK_OK;
}

static cpk_status
finish_file(int *fd, const struct cpk_buf *b, const char *path, struct cpk_error *err)
{
	cpk_status st;
	int rc;

	if ((st = cpk_write_all(*fd, b->data, b->len, path, err)) != CPK_OK)
		goto out;
	if (fsync(*fd) != 0) {
		st = cpk_io_error(err, "cannot sync", path, errno);
		goto out;
	}
	rc = close(*fd);
	*fd = -1;
	if (rc != 0) {
		st = cpk_io_error(err, "cannot close", path, errno);
		goto out;
	}
out:
	return st;
}

/* Write PREFIX.pub alone (mode 0644, never over an existing file). */
static cpk_status
write_pub(const char *prefix, const struct cpk_pubkey *pk, const char *note,
    struct cpk_error *err)
{
	char pubpath[PATH_MAX];
	struct cpk_buf pub = CPK_BUF_INIT;
	int fd = -1;
	cpk_status st = CPK_ERR_ARG;

	if (prefix == NULL || prefix[0] == '\0' ||
	    snprintf(pubpath, sizeof(pubpath), "%s.pub", prefix) >= (int)sizeof(pubpath)) {
		cpk_error_set(err, st, "key file prefix is empty or too long");
		goto out;
	}
	if ((st = cpk_keyfile_encode(CPK_KEYFILE_PUBLIC, pk->key_id, pk->pub, note, &pub,
	    err)) != CPK_OK || (st = create_exclusive(pubpath, 0644, &fd, err)) != CPK_OK)
		goto out;
	if ((st = finish_file(&fd, &pub, pubpath, err)) != CPK_OK ||
	    (st = cpk_fsync_parent_dir(pubpath, err)) != CPK_OK)
		unlink(pubpath);
out:
	if (fd >= 0)
		close(fd);
	cpk_buf_free(&pub);
	return st;
}

cpk_status
cpk_sign_keygen_token(const char *uri, const char *prefix, const char *note,
    uint8_t key_id[CPK_KEY_ID_LEN], struct cpk_error *err)
{
	struct cpk_pubkey pk;
	struct p11_uri u;
	char pubpath[PATH_MAX];
	struct stat sb;
	cpk_status st;

	if (prefix == NULL || prefix[0] == '\0' ||
	    snprintf(pubpath, sizeof(pubpath), "%s.pub", prefix) >= (int)sizeof(pubpath))
		return cpk_error_set(err, CPK_ERR_ARG, "key file prefix is empty or too long");
	/* Refuse before the token makes a key nobody could use. */
	if (lstat(pubpath, &sb) == 0)
		return cpk_error_set(err, CPK_ERR_IO, "'%s' already exists; cpk never overwrites "
		    "a key file", pubpath);
	if ((st = p11_uri_parse(uri, strlen(uri), &u, err)) != CPK_OK ||
	    (st = p11_ed25519_generate(&u, pk.pub, err)) != CPK_OK)
		return st;
	if ((st = cpk_key_id(pk.pub, pk.key_id, err)) != CPK_OK ||
	    (st = write_pub(prefix, &pk, note, err)) != CPK_OK) {
		/* No pair in the token whose public key file was not written. */
		p11_destroy_made(&u, true);
		return st;
	}
	if (key_id != NULL)
		memcpy(key_id, pk.key_id, CPK_KEY_ID_LEN);
	return CPK_OK;
}

cpk_status
cpk_sign_keygen(const char *prefix, const char *note, uint8_t key_id[CPK_KEY_ID_LEN],
    struct cpk_error *err)
{
	char keypath[PATH_MAX], pubpath[PATH_MAX];
	uint8_t seed[CPK_ED25519_KEY_LEN];
	struct cpk_buf sec = CPK_BUF_INIT, pub = CPK_BUF_INIT;
	struct cpk_signer *s = NULL;
	int kfd = -1, pfd = -1;
	bool made_key = false, made_pub = false;
	cpk_status st = CPK_ERR_ARG;

	if (prefix == NULL || prefix[0] == '\0' ||
	    snprintf(keypath, sizeof(keypath), "%s.key", prefix) >= (int)sizeof(keypath) ||
	    snprintf(pubpath, sizeof(pubpath), "%s.pub", prefix) >= (int)sizeof(pubpath)) {
		cpk_error_set(err, st, "key file prefix is empty or too long");
		goto out;
	}
	if (RAND_priv_bytes(seed, sizeof(seed)) != 1) {
		st = crypto_error(err, "random key generation");
		goto out;
	}
	if ((st = cpk_signer_from_seed(seed, &s, err)) != CPK_OK ||
	    (st = cpk_keyfile_encode(CPK_KEYFILE_SECRET, s->pub.key_id, seed, note, &sec,
	    err)) != CPK_OK ||
	    (st = cpk_keyfile_encode(CPK_KEYFILE_PUBLIC, s->pub.key_id, s->pub.pub, note, &pub,
	    err)) != CPK_OK)
		goto out;
	st = create_exclusive(keypath, 0600, &kfd, err);
	made_key = kfd >= 0;
	if (st != CPK_OK)
		goto out;
	st = create_exclusive(pubpath, 0644, &pfd, err);
	made_pub = pfd >= 0;
	if (st != CPK_OK)
		goto out;
	if ((st = finish_file(&kfd, &sec, keypath, err)) != CPK_OK ||
	    (st = finish_file(&pfd, &pub, pubpath, err)) != CPK_OK ||
	    (st = cpk_fsync_parent_dir(keypath, err)) != CPK_OK)
		goto out;
	if (key_id != NULL)
		memcpy(key_id, s->pub.key_id, CPK_KEY_ID_LEN);
	st = CPK_OK;
out:
	if (kfd >= 0)
		close(kfd);
	if (pfd >= 0)
		close(pfd);
	if (st != CPK_OK && made_key)
		unlink(keypath);
	if (st != CPK_OK && made_pub)
		unlink(pubpath);
	cpk_cleanse(seed, sizeof(seed));
	cpk_buf_free(&sec);
	cpk_buf_free(&pub);
	cpk_signer_free(&s);
	return st;
}

/*
 * Open a private key file: a regular file, no symbolic link, mode 0600 or
 * stricter, owned by root or you in a folder others cannot write to.
 */
static cpk_status
open_private(const char *path, int *fd, struct cpk_error *err)
{
	struct stat sb;
	cpk_status st;

	if ((st = cpk_input_open(path, "signing key", O_NOFOLLOW, fd, &sb, err)) != CPK_OK) {
		if (errno == ELOOP)
			return cpk_error_set(err, CPK_ERR_IO, "signing key '%s' is a symbolic link; "
			    "give the path of the file itself", path);
		if (errno == ENOENT)
			return cpk_error_set(err, CPK_ERR_NOT_FOUND, "signing key '%s' does not exist",
			    path);
		return st;
	}
	if (sb.st_mode & 077)
		return cpk_error_set(err, CPK_ERR_PERMISSION,
		    "signing key '%s' has mode %04o: group or others may access it; "
		    "run: chmod 600 '%s'", path, (unsigned)(sb.st_mode & 07777), path);
	if ((st = cpk_check_owner("signing key", path, &sb, CPK_OWNER_SIGNING_KEY,
	    err)) != CPK_OK)
		return st;
	return cpk_check_parent_owner("signing key folder", path, CPK_OWNER_SIGNING_KEY, err);
}

static cpk_status
read_small(int fd, uint8_t *buf, size_t cap, size_t *n, const char *path, struct cpk_error *err)
{
	ssize_t r;

	*n = 0;
	while (*n < cap) {
		r = read(fd, buf + *n, cap - *n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return cpk_io_error(err, "cannot read", path, errno);
		if (r == 0)
			break;
		*n += (size_t)r;
	}
	return CPK_OK;
}

/* The key file's text and the seed, on pages kept out of core dumps (secmem.h). */
struct secret_text {
	uint8_t text[CPK_KEYFILE_MAX + 1];
	uint8_t seed[CPK_ED25519_KEY_LEN];
};

/* Read a private key file into sec (its seed) and *s (the signer). */
static cpk_status
load_seed(const char *path, struct secret_text *sec, struct cpk_signer **s,
    struct cpk_error *err)
{
	uint8_t id[CPK_KEY_ID_LEN];
	size_t n = 0;
	int fd = -1;
	cpk_status st;

	if ((st = open_private(path, &fd, err)) != CPK_OK ||
	    (st = read_small(fd, sec->text, sizeof(sec->text), &n, path, err)) != CPK_OK ||
	    (st = cpk_keyfile_decode(sec->text, n, path, CPK_KEYFILE_SECRET, id, sec->seed,
	    err)) != CPK_OK ||
	    (st = cpk_signer_from_seed(sec->seed, s, err)) != CPK_OK)
		goto out;
	/* Neither id is printed: one is read from a secret key file, one derived from it. */
	if (memcmp(id, (*s)->pub.key_id, sizeof(id)) != 0)
		st = cpk_error_set(err, CPK_ERR_PARSE, "%s:2: the key id in the file does not match "
		    "its key: the file is damaged", path);
out:
	if (fd >= 0)
		close(fd);
	return st;
}

cpk_status
cpk_signer_load(const char *path, struct cpk_signer **out, struct cpk_error *err)
{
	struct secret_text *sec = NULL;
	struct cpk_signer *s = NULL;
	cpk_status st;

	*out = NULL;
	if ((sec = secmem_alloc(sizeof(*sec))) == NULL) {
		st = cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((st = load_seed(path, sec, &s, err)) != CPK_OK)
		goto out;
	*out = s;
	s = NULL;
out:
	secmem_free(sec, sizeof(*sec));
	cpk_signer_free(&s);
	return st;
}

cpk_status
cpk_sign_import_token(const char *path, const char *uri, uint8_t key_id[CPK_KEY_ID_LEN],
    struct cpk_error *err)
{
	struct secret_text *sec = NULL;
	struct cpk_signer *s = NULL;
	struct p11_uri u;
	cpk_status st;

	if ((st = p11_uri_parse(uri, strlen(uri), &u, err)) != CPK_OK)
		goto out;
	if ((sec = secmem_alloc(sizeof(*sec))) == NULL) {
		st = cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((st = load_seed(path, sec, &s, err)) != CPK_OK ||
	    (st = p11_ed25519_import(&u, sec->seed, s->pub.pub, err)) != CPK_OK)
		goto out;
	if (key_id != NULL)
		memcpy(key_id, s->pub.key_id, CPK_KEY_ID_LEN);
out:
	secmem_free(sec, sizeof(*sec));
	cpk_signer_free(&s);
	return st;
}
