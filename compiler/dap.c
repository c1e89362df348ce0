/* SPDX-License-Identifier: BSD-2-Clause */
/* cpk: DAP signatures and DAP blocks (see dap.h). */
#include "dap.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "cpk_file.h"
#include "cpk_tlv.h"

/* The key file's bytes, checked as a key set is (owner, mode). */
static cpk_status
read_key_file(const char *path, struct cpk_buf *text, struct cpk_error *err)
{
	struct stat sb;
	char name[64 + 4096];
	cpk_status st;
	int fd = -1;

	if ((st = cpk_input_open(path, "DAP key", O_NOFOLLOW, &fd, &sb, err)) != CPK_OK)
		goto out;
	if ((st = cpk_check_owner("DAP key", path, &sb, CPK_OWNER_CARD_KEYS, err)) != CPK_OK)
		goto out;
	if ((sb.st_mode & 077) != 0) {
		st = cpk_error_set(err, CPK_ERR_PERMISSION, "DAP key '%s' has mode %04o: a key file "
		    "must be accessible by its owner only (chmod 600 '%s')", path,
		    (unsigned)(sb.st_mode & 07777), path);
		goto out;
	}
	snprintf(name, sizeof(name), "DAP key '%s'", path);
	st = cpk_read_fd_all(fd, name, DAP_KEY_FILE_MAX, text, err);
out:
	if (fd >= 0)
		close(fd);
	return st;
}

cpk_status
dap_rsa_sign(const struct cpk_buf *pem, const char *what, const char *path, bool sha1,
    const uint8_t *msg, size_t n, struct cpk_buf *sig, struct cpk_error *err)
{
	EVP_PKEY *key = NULL;
	EVP_MD_CTX *md = NULL;
	BIO *bio = NULL;
	uint8_t out[DAP_SIG_MAX];
	size_t outlen = sizeof(out);
	cpk_status st;

	cpk_buf_reset(sig);
	if (pem->len > INT_MAX || (bio = BIO_new_mem_buf(pem->data, (int)pem->len)) == NULL ||
	    (key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)) == NULL) {
		st = cpk_error_set(err, CPK_ERR_PARSE, "%s '%s' is not a PEM private key", what,
		    path);
		goto out;
	}
	if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA || EVP_PKEY_get_size(key) <= 0 ||
	    (size_t)EVP_PKEY_get_size(key) > sizeof(out)) {
		st = cpk_error_set(err, CPK_ERR_UNSUPPORTED, "%s '%s' is not an RSA key of "
		    "at most 4096 bits (cpk signs %s with RSASSA-PKCS1-v1_5 and %s)", what, path,
		    sha1 ? "tokens" : "DAP", sha1 ? "SHA-1" : "SHA-256");
		goto out;
	}
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(md, NULL, sha1 ? EVP_sha1() : EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(md, out, &outlen, msg, n) != 1) {
		st = cpk_error_set(err, CPK_ERR_CRYPTO, "%s signature with '%s' failed",
		    sha1 ? "token" : "DAP", path);
		goto out;
	}
	st = cpk_buf_append(sig, out, outlen, err);
out:
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(key);
	BIO_free(bio);
	return st;
}

cpk_status
dap_sign_file(const char *path, const uint8_t *hash, size_t n, struct cpk_buf *sig,
    struct cpk_error *err)
{
	struct cpk_buf text = CPK_BUF_INIT;
	cpk_status st;

	cpk_buf_reset(sig);
	if ((st = read_key_file(path, &text, err)) == CPK_OK)
		st = dap_rsa_sign(&text, "DAP key", path, false, hash, n, sig, err);
	if (text.data != NULL)
		OPENSSL_cleanse(text.data, text.len);
	cpk_buf_free(&text);
	return st;
}

cpk_status
dap_block(const struct gp_aid *sd, const uint8_t *sig, size_t n, struct cpk_buf *out,
    struct cpk_error *err)
{
	struct cpk_buf in = CPK_BUF_INIT;
	cpk_status st;

	if ((st = cpk_tlv_put(&in, 0x4F, sd->b, sd->len, err)) == CPK_OK &&
	    (st = cpk_tlv_put(&in, 0xC3, sig, n, err)) == CPK_OK)
		st = cpk_tlv_put(out, 0xE2, in.data, in.len, err);
	cpk_buf_free(&in);
	return st;
}
