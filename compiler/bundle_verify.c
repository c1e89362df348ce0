/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: recompute a bundle with the card keys (see bundle_verify.h).
 */
#include "bundle_verify.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cpk_apdu.h"
#include "cpk_bytes.h"
#include "keyset.h"
#include "scp.h"

struct key_list {
	struct keyset *ks[BUNDLE_VERIFY_MAX_KEY_FILES];
	size_t n;
	struct cpk_error first_refusal;	/* why the first refused file was refused */
};

static void
key_list_free(struct key_list *kl)
{
	size_t i;

	for (i = 0; i < kl->n; i++)
		keyset_free(&kl->ks[i]);
	kl->n = 0;
}

static bool
key_file_name(const char *name)
{
	size_t n = strlen(name);

	if (name[0] == '.')
		return false;
	return (n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
	    (n > 4 && strcmp(name + n - 4, ".yml") == 0);
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every key file of a folder, in name order. */
static cpk_status
load_dir(const char *dir, struct key_list *kl, struct bundle_verify_result *res,
    struct cpk_error *err)
{
	char *names[BUNDLE_VERIFY_MAX_KEY_FILES];
	char path[BUNDLE_VERIFY_PATH_MAX];
	struct cpk_error tmp;
	struct dirent *de;
	DIR *d = NULL;
	size_t nn = 0, i;
	cpk_status ret = CPK_ERR_IO;

	if ((d = opendir(dir)) == NULL) {
		ret = cpk_error_set(err, CPK_ERR_IO, "cannot read key folder '%s': %s", dir,
		    strerror(errno));
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		if (!key_file_name(de->d_name))
			continue;
		if (nn == BUNDLE_VERIFY_MAX_KEY_FILES) {
			ret = cpk_error_set(err, CPK_ERR_RANGE,
			    "key folder '%s' holds more than %d key files", dir,
			    BUNDLE_VERIFY_MAX_KEY_FILES);
			goto out;
		}
		if ((names[nn] = strdup(de->d_name)) == NULL) {
			ret = cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
			goto out;
		}
		nn++;
	}
	qsort(names, nn, sizeof(names[0]), cmp_names);
	for (i = 0; i < nn; i++) {
		if (snprintf(path, sizeof(path), "%s%s%s", dir,
		    dir[strlen(dir) - 1] == '/' ? "" : "/", names[i]) >= (int)sizeof(path)) {
			ret = cpk_error_set(err, CPK_ERR_RANGE, "key file path '%s/%s' is too long",
			    dir, names[i]);
			goto out;
		}
		cpk_error_clear(&tmp);
		if (keyset_load(path, &kl->ks[kl->n], &tmp) == CPK_OK) {
			kl->n++;
			res->key_files++;
		} else {
			if (res->key_files_refused == 0)
				kl->first_refusal = tmp;
			res->key_files_refused++;
		}
	}
	if (kl->n == 0) {
		if (res->key_files_refused > 0)
			ret = cpk_error_set(err, CPK_ERR_NOT_FOUND,
			    "no key set could be read in '%s' (%zu file%s refused; the first: %s)",
			    dir, res->key_files_refused, res->key_files_refused == 1 ? "" : "s",
			    kl->first_refusal.msg);
		else
			ret = cpk_error_set(err, CPK_ERR_NOT_FOUND,
			    "no key set file (*.yaml) in '%s'", dir);
		goto out;
	}
	ret = CPK_OK;
out:
	for (i = 0; i < nn; i++)
		free(names[i]);
	if (d != NULL)
		closedir(d);
	return ret;
}

static cpk_status
load_keys(const char *path, struct key_list *kl, struct bundle_verify_result *res,
    struct cpk_error *err)
{
	struct stat st;
	cpk_status ret;

	if (stat(path, &st) != 0)
		return cpk_error_set(err, errno == ENOENT ? CPK_ERR_NOT_FOUND : CPK_ERR_IO,
		    "key path '%s': %s", path, strerror(errno));
	if (S_ISDIR(st.st_mode))
		return load_dir(path, kl, res, err);
	if ((ret = keyset_load(path, &kl->ks[0], err)) != CPK_OK)
		return ret;
	kl->n = 1;
	res->key_files = 1;
	return CPK_OK;
}

/* The schemes to try for one key file. Returns how many. */
static size_t
candidate_schemes(const struct keyset *ks, enum gp_diversification out[2])
{
	if (!ks->master) {
		out[0] = GP_DIV_NONE;
		return 1;
	}
	if (ks->div_set) {
		out[0] = ks->div;
		return 1;
	}
	if (ks->keys.alg == GP_KEY_AES) {
		out[0] = GP_DIV_KDF3;
		return 1;
	}
	if (ks->keys.alg == GP_KEY_3DES && ks->keys.len == 16) {
		out[0] = GP_DIV_EMV;
		out[1] = GP_DIV_VISA2;
		return 2;
	}
	return 0;
}

/* Do these card keys suit the protocol (its table entry)? */
static bool
keys_fit(const struct scp_keyset *k, uint8_t scp)
{
	const struct scp_ops *ops = scp_ops_find(scp);

	return ops != NULL && ops->keys_fit(k->alg, k->len);
}

/*
 * Find the key set whose card keys reproduce the card cryptogram. On
 * success *keys holds those card keys and s is INITIALIZED for them.
 */
static cpk_status
find_keys(const struct cpk_manifest *m, const struct scp_iu_response *iu,
    const struct key_list *kl, struct scp_keyset *keys, struct scp_session *s,
    struct bundle_verify_result *res, struct cpk_error *err)
{
	enum gp_diversification schemes[2];
	char kdd[2 * sizeof(m->kdd) + 1], note[300] = "";
	size_t pass, i, k, ns, tried = 0;
	struct cpk_error tmp;

	/* Key files of the manifest's key version first, then the others. */
	for (pass = 0; pass < 2 * kl->n; pass++) {
		i = pass % kl->n;
		if ((kl->ks[i]->keys.kvn == m->kvn) != (pass < kl->n))
			continue;
		ns = candidate_schemes(kl->ks[i], schemes);
		for (k = 0; k < ns; k++) {
			scp_keyset_clear(keys);
			if (keyset_card_keys(kl->ks[i], schemes[k], m->kdd, keys, &tmp) != CPK_OK ||
			    !keys_fit(keys, m->scp))
				continue;
			tried++;
			if (scp_session_begin(s, keys, (enum scp_version)m->scp, m->i,
			    m->host_challenge, iu, &tmp) != CPK_OK)
				continue;
			if (scp_check_card_cryptogram(s, iu->card_cryptogram, &tmp) != CPK_OK) {
				scp_session_clear(s);
				continue;
			}
			snprintf(res->key_file, sizeof(res->key_file), "%s", kl->ks[i]->path);
			res->master = kl->ks[i]->master;
			res->div = schemes[k];
			res->key_kvn = kl->ks[i]->keys.kvn;
			return CPK_OK;
		}
	}
	scp_keyset_clear(keys);
	cpk_hex_encode(m->kdd, sizeof(m->kdd), kdd, sizeof(kdd));
	if (res->key_files_refused > 0)
		snprintf(note, sizeof(note), "; %zu key file%s could not be read (the first: %.200s)",
		    res->key_files_refused, res->key_files_refused == 1 ? "" : "s",
		    kl->first_refusal.msg);
	cpk_error_set(err, CPK_ERR_VERIFY,
	    "no key set reproduces the card cryptogram of the INITIALIZE UPDATE response "
	    "(%zu key set%s for SCP%02d tried with KDD %s): wrong keys, wrong "
	    "diversification, or the response was altered%s", tried, tried == 1 ? "" : "s",
	    m->scp, kdd, note);
	return CPK_ERR_VERIFY;
}

/* Record the first mismatch at a command and return CPK_ERR_VERIFY. */
static cpk_status
mismatch_at(struct bundle_verify_result *res, const struct cpk_command *cmds, size_t index,
    struct cpk_error *err)
{
	res->mismatch = true;
	res->has_index = true;
	res->index = index;
	snprintf(res->label, sizeof(res->label), "%s", cmds[index].label);
	if (err != NULL)
		err->status = CPK_ERR_VERIFY;
	cpk_error_prefix(err, "command %zu (%s)", index + 1, cmds[index].label);
	return CPK_ERR_VERIFY;
}

/* The card side of EXTERNAL AUTHENTICATE. */
static cpk_status
check_ext_auth(const struct cpk_manifest *m, const struct cpk_command *c, struct scp_session *s,
    struct cpk_error *err)
{
	if (c->flags != (CPK_CMD_EXT_AUTH | CPK_CMD_SECURED))
		return cpk_error_set(err, CPK_ERR_VERIFY, "EXTERNAL AUTHENTICATE expected here");
	if (c->apdu_len < 4 || c->apdu[2] != m->level)
		return cpk_error_set(err, CPK_ERR_VERIFY,
		    "EXTERNAL AUTHENTICATE asks for security level %02X, the manifest says %02X",
		    c->apdu_len < 4 ? 0 : c->apdu[2], m->level);
	/*
	 * INITIALIZE UPDATE is sent on the basic channel (offline: checked
	 * above; session: cardload's live exchange), and the session belongs
	 * to that channel. A protocol may leave the channel bits out of the
	 * C-MAC (SCP03 does), so only this check binds EXTERNAL AUTHENTICATE to it.
	 */
	if ((c->apdu[0] & 0x43) != 0)
		return cpk_error_set(err, CPK_ERR_VERIFY,
		    "EXTERNAL AUTHENTICATE with CLA %02X is not on the basic channel of "
		    "INITIALIZE UPDATE", c->apdu[0]);
	return scp_card_external_authenticate(s, c->apdu, c->apdu_len, err);
}

/* One secured command: unwrap it as the card would, and check its Le. */
static cpk_status
check_secured(const struct cpk_command *c, struct scp_session *s, struct cpk_buf *plain,
    struct cpk_error *err)
{
	struct cpk_apdu a;
	cpk_status ret;

	if (c->flags != CPK_CMD_SECURED)
		return cpk_error_set(err, CPK_ERR_VERIFY,
		    "flags %02X where a secured command (01) is expected", c->flags);
	cpk_buf_reset(plain);
	if ((ret = scp_unwrap_command(s, c->apdu, c->apdu_len, plain, err)) != CPK_OK)
		return ret;
	/* The wrapped Le is outside the C-MAC: the compiler always writes 00. */
	if ((ret = cpk_apdu_parse(c->apdu, c->apdu_len, &a, err)) != CPK_OK)
		return ret;
	if (a.has_le && (a.extended || a.ne != CPK_APDU_SHORT_MAX_NE))
		return cpk_error_set(err, CPK_ERR_VERIFY,
		    "Le byte %02X: a secured command asks for the whole response (Le 00); "
		    "Le is not covered by the C-MAC", c->apdu[c->apdu_len - 1]);
	return CPK_OK;
}

/* Hand a checked command to the hooks. */
static cpk_status
hand_over(const struct bundle_verify_hooks *h, size_t i, const struct cpk_command *c,
    const uint8_t *plain, size_t len, struct scp_session *s, struct bundle_verify_result *res,
    struct cpk_error *err)
{
	cpk_status ret;

	if (h->command != NULL && (ret = h->command(h->ctx, i, c, plain, len, err)) != CPK_OK)
		return ret;
	res->checked++;
	if (h->response != NULL)
		return h->response(h->ctx, i, c, s, err);
	return CPK_OK;
}

/*
 * After the key search: the pseudo-random challenge (offline), then the
 * commands from `start` on (the checked SELECT and INITIALIZE UPDATE come
 * before it), playing the card.
 */
static cpk_status
run_commands(const struct cpk_manifest *m, const struct cpk_command *cmds, size_t n,
    size_t start, const struct scp_keyset *keys, struct scp_session *s,
    const struct bundle_verify_hooks *h, struct bundle_verify_result *res, struct cpk_error *err)
{
	struct cpk_buf plain = CPK_BUF_INIT;
	uint8_t chal[SCP_CHALLENGE_LEN];
	char ctr[7];
	struct scp_iu_response iu;
	size_t i, cl;
	cpk_status ret;

	memset(chal, 0, sizeof(chal));
	if (m->mode == CPK_MODE_OFFLINE) {
		if ((ret = scp_iu_response_parse(m->iu_response, m->iu_response_len, &iu, err)) !=
		    CPK_OK ||
		    (ret = scp_pseudo_random_challenge(keys, (enum scp_version)m->scp, iu.counter,
		    iu.counter_len, m->sd_aid, m->sd_aid_len, chal, &cl, err)) != CPK_OK)
			goto out;
		if (cl != iu.challenge_len || !cpk_ct_equal(chal, iu.card_challenge, cl)) {
			cpk_hex_encode(iu.counter, iu.counter_len, ctr, sizeof(ctr));
			cpk_error_set(err, CPK_ERR_VERIFY,
			    "key set %s reproduces the card cryptogram but not the pseudo-random "
			    "card challenge for counter %s and this security domain: its ENC key "
			    "is not the card's, or the response was altered", res->key_file, ctr);
			ret = mismatch_at(res, cmds, start - 1, err);
			goto out;
		}
	}
	for (i = 0; i < start; i++)
		if ((ret = hand_over(h, i, &cmds[i], cmds[i].apdu, cmds[i].apdu_len, s, res, err)) !=
		    CPK_OK)
			goto out;
	if (i >= n) {
		ret = cpk_error_set(err, CPK_ERR_VERIFY, "no EXTERNAL AUTHENTICATE");
		res->mismatch = true;
		goto out;
	}
	if ((ret = check_ext_auth(m, &cmds[i], s, err)) != CPK_OK) {
		ret = mismatch_at(res, cmds, i, err);
		goto out;
	}
	if ((ret = hand_over(h, i, &cmds[i], cmds[i].apdu, cmds[i].apdu_len, s, res, err)) !=
	    CPK_OK)
		goto out;
	for (i++; i < n; i++) {
		if ((ret = check_secured(&cmds[i], s, &plain, err)) != CPK_OK) {
			ret = mismatch_at(res, cmds, i, err);
			goto out;
		}
		if ((ret = hand_over(h, i, &cmds[i], plain.data, plain.len, s, res, err)) != CPK_OK)
			goto out;
	}
	ret = CPK_OK;
out:
	cpk_cleanse(chal, sizeof(chal));
	cpk_buf_free(&plain);
	return ret;
}

cpk_status
bundle_verify(const struct cpk_manifest *m, const struct cpk_command *cmds, size_t n,
    const char *keys_path, bundle_verify_fn fn, void *ctx, struct bundle_verify_result *res,
    struct cpk_error *err)
{
	struct bundle_verify_hooks h = { ctx, fn, NULL };

	return bundle_verify_walk(m, cmds, n, keys_path, &h, res, err);
}

cpk_status
bundle_verify_walk(const struct cpk_manifest *m, const struct cpk_command *cmds, size_t n,
    const char *keys_path, const struct bundle_verify_hooks *hooks,
    struct bundle_verify_result *res, struct cpk_error *err)
{
	static const struct bundle_verify_hooks none = { NULL, NULL, NULL };
	const struct bundle_verify_hooks *h = hooks != NULL ? hooks : &none;
	struct key_list *kl = NULL;
	struct scp_keyset keys;
	struct scp_session s;
	struct scp_iu_response iu;
	size_t start = 0;
	cpk_status ret;

	memset(res, 0, sizeof(*res));
	memset(&keys, 0, sizeof(keys));
	memset(&s, 0, sizeof(s));
	if (m->iu_response_len == 0 || !m->has_host_challenge) {
		ret = cpk_error_set(err, CPK_ERR_UNSUPPORTED,
		    "the manifest carries no host challenge and INITIALIZE UPDATE response: "
		    "nothing to recompute the session from");
		goto out;
	}
	if ((ret = scp_iu_response_parse(m->iu_response, m->iu_response_len, &iu, err)) != CPK_OK) {
		cpk_error_prefix(err, "manifest iu-response");
		goto out;
	}
	if ((kl = calloc(1, sizeof(*kl))) == NULL) {
		ret = cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((ret = load_keys(keys_path, kl, res, err)) != CPK_OK)
		goto out;
	/* In command order: SELECT and INITIALIZE UPDATE need no key. */
	if (m->mode == CPK_MODE_OFFLINE &&
	    (ret = cpk_script_check_opening(m, cmds, n, &start, err)) != CPK_OK) {
		if (ret == CPK_ERR_PARSE && start < n)
			ret = mismatch_at(res, cmds, start, err);
		goto out;
	}
	if ((ret = find_keys(m, &iu, kl, &keys, &s, res, err)) != CPK_OK) {
		/* The expected response is INITIALIZE UPDATE's (offline) or the manifest's own. */
		if (start > 0)
			ret = mismatch_at(res, cmds, start - 1, err);
		else
			res->mismatch = true;
		goto out;
	}
	ret = run_commands(m, cmds, n, start, &keys, &s, h, res, err);
out:
	if (kl != NULL)
		key_list_free(kl);
	free(kl);
	scp_session_clear(&s);
	scp_keyset_clear(&keys);
	return ret;
}
