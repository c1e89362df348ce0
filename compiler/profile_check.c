/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: profiles after parsing: resolving the files they name, the
 * semantic pass, and binding to one card (see profile.h).
 */
#include "profile.h"
#include "step.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpk_bytes.h"
#include "cpk_file.h"
#include "dap.h"
#include "dm.h"

static cpk_status
at(const struct profile *p, struct cpk_error *err, struct profile_loc l, cpk_status st,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* An error at a profile location. */
static cpk_status
at(const struct profile *p, struct cpk_error *err, struct profile_loc l, cpk_status st,
    const char *fmt, ...)
{
	char msg[sizeof(err->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return cpk_error_set_at(err, st, p->file, l.line, l.col, "%s", msg);
}

/* Keep an error's message and status, move it to a profile location. */
static cpk_status
relocate(const struct profile *p, struct cpk_error *err, struct profile_loc l, cpk_status st)
{
	if (err != NULL) {
		snprintf(err->file, sizeof(err->file), "%s", p->file);
		err->line = l.line;
		err->col = l.col;
	}
	return st;
}

static const char *
level_name(uint8_t level)
{
	const char *n = scp_level_name(level);

	return n != NULL ? n : "?";
}

/* --- resolving files --- */

static cpk_status
join_path(const char *dir, const char *file, char **out, struct cpk_error *err)
{
	size_t n;

	if (dir == NULL || dir[0] == '\0')
		*out = strdup(file);
	else {
		n = strlen(dir) + 1 + strlen(file) + 1;
		if ((*out = malloc(n)) != NULL)
			snprintf(*out, n, "%s%s%s", dir,
			    dir[strlen(dir) - 1] == '/' ? "" : "/", file);
	}
	if (*out == NULL)
		return cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
	return CPK_OK;
}

/*
 * Key material comes only from the key folder the operator names (-k): a
 * profile names a key set by its file name in that folder. The name may
 * not hold '/' (no absolute path, no sub-folder, no '..'), and the file
 * itself may not be a symbolic link (keyset_load opens it O_NOFOLLOW), so
 * nothing outside the folder is reached.
 */
static cpk_status
key_path(const struct profile *p, const struct profile_opts *opts, const char *name,
    struct profile_loc l, char **out, struct cpk_error *err)
{
	const char *keydir = opts != NULL ? opts->keydir : NULL;

	if (opts != NULL && opts->keyless)
		keydir = ".";
	if (keydir == NULL || keydir[0] == '\0')
		return at(p, err, l, CPK_ERR_ARG,
		    "key set '%s': no key folder given; key sets are read only from the key "
		    "folder named on the command line (cardc -k KEYDIR)", name);
	if (strchr(name, '/') != NULL || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return at(p, err, l, CPK_ERR_PERMISSION,
		    "key set '%s' is not a file name: a profile names a key set file inside the "
		    "key folder (-k KEYDIR), without '/' or '..'", name);
	return join_path(keydir, name, out, err);
}

/* cardc check: a key set's name is a name in the key folder (nothing is read). */
static cpk_status
key_name_check(const struct profile *p, const struct profile_opts *opts, const char *name,
    struct profile_loc l, struct cpk_error *err)
{
	char *path = NULL;
	cpk_status ret;

	ret = key_path(p, opts, name, l, &path, err);
	free(path);
	return ret;
}

static cpk_status
load_key_set(const struct profile *p, const char *path, struct profile_loc l,
    struct keyset **out, struct cpk_error *err)
{
	cpk_status ret = keyset_load(path, out, err);

	/* A file that cannot be opened is the profile's naming of it. */
	if (ret != CPK_OK && err != NULL && err->line == 0)
		return relocate(p, err, l, ret);
	return ret;
}

/* Is this CAP path relative and free of '..' components? */
static cpk_status
cap_name_check(const struct profile *p, const char *name, struct profile_loc l,
    struct cpk_error *err)
{
	const char *c = name;
	size_t n;

	if (name[0] == '/')
		return at(p, err, l, CPK_ERR_PERMISSION,
		    "CAP file '%s' is an absolute path: a profile names CAP files relative to its "
		    "own folder", name);
	while (*c != '\0') {
		n = strcspn(c, "/");
		if (n == 2 && c[0] == '.' && c[1] == '.')
			return at(p, err, l, CPK_ERR_PERMISSION,
			    "CAP file '%s' has a '..' component: a profile names CAP files inside its "
			    "own folder", name);
		c += n;
		c += strspn(c, "/");
	}
	return CPK_OK;
}

/*
 * Open a CAP file beneath the profile's folder, one component at a time
 * with O_NOFOLLOW: no symbolic link is followed, so a link (or a link
 * swapped in while cardc runs) cannot lead out of the folder.
 */
static cpk_status
cap_open_beneath(const struct profile *p, const char *name, struct profile_loc l, int *fdout,
    struct cpk_error *err)
{
	const char *dir = p->dir != NULL && p->dir[0] != '\0' ? p->dir : ".";
	char comp[256];
	const char *c = name;
	int fd, next, e;
	size_t n;
	bool last;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return at(p, err, l, CPK_ERR_IO, "cannot open the profile's folder '%s': %s", dir,
		    strerror(errno));
	while (*c != '\0') {
		n = strcspn(c, "/");
		if (n >= sizeof(comp)) {
			close(fd);
			return at(p, err, l, CPK_ERR_RANGE, "CAP file '%s': a name is too long", name);
		}
		memcpy(comp, c, n);
		comp[n] = '\0';
		c += n;
		c += strspn(c, "/");
		last = *c == '\0';
		if (n == 0 || strcmp(comp, ".") == 0)
			continue;
		next = openat(fd, comp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
		    (last ? 0 : O_DIRECTORY));
		e = errno;
		close(fd);
		if (next < 0 && (e == ELOOP || (e == ENOTDIR && !last)))
			return at(p, err, l, CPK_ERR_PERMISSION,
			    "CAP file '%s': '%s' is a symbolic link or not a folder; cardc follows no "
			    "link in the CAP files a profile names", name, comp);
		if (next < 0)
			return at(p, err, l, e == ENOENT ? CPK_ERR_NOT_FOUND : CPK_ERR_IO,
			    "cannot open CAP file '%s' in the profile's folder: %s", name, strerror(e));
		fd = next;
	}
	*fdout = fd;
	return CPK_OK;
}

static cpk_status
cap_read_fd(const struct profile *p, int fd, const char *name, struct profile_loc l,
    struct cpk_buf *out, struct cpk_error *err)
{
	char subj[PATH_MAX + 16];
	struct cpk_error why;
	struct stat st;
	cpk_status ret;

	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		return at(p, err, l, CPK_ERR_IO, "CAP file '%s' is not a regular file", name);
	snprintf(subj, sizeof(subj), "CAP file '%s'", name);
	cpk_error_clear(&why);
	if ((ret = cpk_read_fd_all(fd, subj, CAP_FILE_MAX, out, &why)) != CPK_OK)
		return ret == CPK_ERR_NOMEM ? cpk_error_set(err, ret, "%s", why.msg) :
		    at(p, err, l, ret, "%s", why.msg);
	return CPK_OK;
}

static cpk_status
open_cap(const struct profile *p, struct profile_load *ld, struct cpk_error *err)
{
	struct cpk_buf b = CPK_BUF_INIT;
	cpk_status ret;
	int fd = -1;

	if ((ret = cap_name_check(p, ld->cap_file, ld->loc_cap, err)) != CPK_OK ||
	    (ret = cap_open_beneath(p, ld->cap_file, ld->loc_cap, &fd, err)) != CPK_OK ||
	    (ret = cap_read_fd(p, fd, ld->cap_file, ld->loc_cap, &b, err)) != CPK_OK)
		goto out;
	if ((ret = cap_open_buffer(ld->cap_path, b.data, b.len, &ld->cap, err)) != CPK_OK)
		ret = relocate(p, err, ld->loc_cap, ret);
out:
	if (fd >= 0)
		close(fd);
	cpk_buf_free(&b);
	return ret;
}

/* The key file's algorithm and length must suit the protocol (its table entry). */
static cpk_status
check_key_alg(const struct profile *p, const struct keyset *ks, struct profile_loc l,
    bool for_put_key, struct cpk_error *err)
{
	/* The profile's protocol is a table entry (profile.c reads it from the table). */
	const struct scp_ops *ops = scp_ops_find((uint8_t)p->sd.scp);
	struct cpk_error why;

	if (!ops->keys_fit(ks->keys.alg, ks->keys.len))
		return at(p, err, l, CPK_ERR_PARSE,
		    "%s needs %s, but key file '%s' holds %zu-byte %s keys", ops->proto->name,
		    ops->keys_text, ks->path, ks->keys.len,
		    ks->keys.alg == GP_KEY_AES ? "AES" : "3DES");
	cpk_error_clear(&why);
	if (for_put_key && ops->put_key_check(ks->keys.len, &why) != CPK_OK)
		return at(p, err, l, CPK_ERR_UNSUPPORTED, "%s (key file '%s')", why.msg, ks->path);
	return CPK_OK;
}

/*
 * The largest plain command data the profile's channel carries (short
 * APDUs): every size check of the profile asks here.
 */
static size_t
channel_max(const struct profile *p)
{
	return scp_max_plain_data(p->sd.scp, p->sd.level, CPK_APDU_SHORT_MAX_LC);
}

static cpk_status
resolve_keys(struct profile *p, const struct profile_opts *opts, struct cpk_error *err)
{
	struct profile_keys *k = &p->keys;
	cpk_status ret;

	if ((ret = key_path(p, opts, k->file, k->loc_file, &k->path, err)) != CPK_OK ||
	    (ret = load_key_set(p, k->path, k->loc_file, &k->set, err)) != CPK_OK)
		return ret;
	if ((ret = keyset_effective_div(k->set, k->div_given, k->div, &k->effective_div,
	    err)) != CPK_OK)
		return relocate(p, err, k->loc_file, ret);
	if ((ret = check_key_alg(p, k->set, k->loc_file, false, err)) != CPK_OK)
		return ret;
	/* kvn 00 addresses the card's default key set: the card answers with its version. */
	if (p->sd.has_kvn && p->sd.kvn != 0x00 && k->set->keys.kvn != p->sd.kvn)
		return at(p, err, k->loc_file, CPK_ERR_PARSE,
		    "the security domain uses key version %02X, but key file '%s' holds version %02X",
		    p->sd.kvn, k->set->path, k->set->keys.kvn);
	return CPK_OK;
}

/*
 * load-parameters sizes written 'auto', from the CAP (cpk-profile(5) gives the
 * rule next to GPShell's and GlobalPlatformPro's): code (C6) is the Load File
 * Data Block exactly as loaded, with or without the Descriptor; nvdata (C8)
 * is the static field image plus the initial static arrays, both sizes from
 * the Directory component. Transient memory is not in a CAP.
 */
static cpk_status
auto_load_params(struct profile *p, struct profile_load *l, struct cpk_error *err)
{
	if ((l->lp_auto & GP_LP_CODE) != 0) {
		if (l->lfdb.len > UINT32_MAX)
			return at(p, err, l->loc_params, CPK_ERR_RANGE,
			    "load file of %zu bytes is too large for a code size", l->lfdb.len);
		l->lp_sizes[0] = (uint32_t)l->lfdb.len;
	}
	if ((l->lp_auto & GP_LP_NVDATA) != 0) {
		l->lp_sizes[2] = (uint32_t)(l->cap->info.static_image + l->cap->info.static_arrays);
	}
	gp_load_params(l->lp_sizes, l->lp_given, l->params, &l->params_len);
	return CPK_OK;
}

/*
 * dap: sign the LFDB hash with the DAP key and put the DAP block before the
 * C4 load file data block. cardc check (keyless) reads no key: a signature
 * of zeros of the size of an RSA-2048 one stands in (its bundle is thrown
 * away).
 */
static cpk_status
add_dap_block(struct profile *p, const struct profile_opts *opts, struct profile_load *l,
    struct cpk_error *err)
{
	struct cpk_buf sig = CPK_BUF_INIT, block = CPK_BUF_INIT;
	const struct gp_aid *sd = l->dap_has_sd ? &l->dap_sd : &p->sd.aid;
	cpk_status ret;

	if (l->hash == CAP_HASH_NONE)
		return at(p, err, l->loc_dap, CPK_ERR_PARSE,
		    "'dap' signs the load file data block hash: the load step needs 'hash: sha1' "
		    "or 'hash: sha256'");
	if (!l->dap_has_sd && !p->sd.has_aid)
		return at(p, err, l->loc_dap, CPK_ERR_PARSE,
		    "'dap' needs 'security-domain': the profile names no security domain AID");
	if ((ret = key_path(p, opts, l->dap_key, l->loc_dap_key, &l->dap_path, err)) != CPK_OK)
		goto out;
	if (opts != NULL && opts->keyless) {
		static const uint8_t zeros[256];

		ret = cpk_buf_append(&sig, zeros, sizeof(zeros), err);
	} else if ((ret = dap_sign_file(l->dap_path, l->lfdb_hash, l->lfdb_hash_len, &sig,
	    err)) != CPK_OK) {
		if (err != NULL && err->line == 0)
			relocate(p, err, l->loc_dap_key, ret);
		goto out;
	}
	if (ret != CPK_OK ||
	    (ret = dap_block(sd, sig.data, sig.len, &block, err)) != CPK_OK ||
	    (ret = cpk_buf_append(&block, l->load_file.data, l->load_file.len, err)) != CPK_OK)
		goto out;
	cpk_buf_free(&l->load_file);
	l->load_file = block;
	cpk_buf_init(&block);
	l->lfdb.data = l->load_file.data + l->load_file.len - l->lfdb.len;
out:
	cpk_buf_free(&sig);
	cpk_buf_free(&block);
	return ret;
}

cpk_status
profile_load_build(struct profile_load *l, struct cpk_error *err)
{
	size_t size = cap_lfdb_size(l->cap, l->descriptor), room = gp_load_file_room(size), n;
	cpk_status ret;

	cpk_buf_reset(&l->load_file);
	l->lfdb.data = NULL;
	l->lfdb.len = 0;
	/* C4 <length> LFDB: the block appended once, where it stays, into storage of its size. */
	if ((ret = cpk_buf_reserve(&l->load_file, room + (size <= CAP_LFDB_MAX ? size : 0),
	    err)) != CPK_OK)
		return ret;
	memset(l->load_file.data, 0, room);
	l->load_file.len = room;
	if ((ret = cap_append_lfdb(l->cap, l->descriptor, &l->load_file, NULL, err)) != CPK_OK) {
		cpk_buf_reset(&l->load_file);
		return ret;
	}
	n = l->load_file.len - room;
	if ((ret = gp_load_file_frame(&l->load_file, room, err)) != CPK_OK)
		return ret;
	l->lfdb.data = l->load_file.data + l->load_file.len - n;
	l->lfdb.len = n;
	return cap_hash(l->hash, l->lfdb.data, l->lfdb.len, l->lfdb_hash, &l->lfdb_hash_len, err);
}

static cpk_status
resolve_load(struct profile *p, const struct profile_opts *opts, struct profile_load *l,
    struct cpk_error *err)
{
	cpk_status ret;

	if ((ret = join_path(p->dir, l->cap_file, &l->cap_path, err)) != CPK_OK ||
	    (ret = open_cap(p, l, err)) != CPK_OK)
		return ret;
	if ((ret = gp_aid_set(&l->package, l->cap->info.pkg_aid, l->cap->info.pkg_aid_len,
	    err)) != CPK_OK)
		return relocate(p, err, l->loc_cap, ret);
	if ((ret = profile_load_build(l, err)) != CPK_OK)
		return relocate(p, err, l->loc_cap, ret);
	/* Built: the load file holds the components now (the CAP keeps its info). */
	cap_drop_components(l->cap);
	if (l->lp_auto != 0 && (ret = auto_load_params(p, l, err)) != CPK_OK)
		return ret;
	if (l->dap_key != NULL && (ret = add_dap_block(p, opts, l, err)) != CPK_OK)
		return ret;
	l->block = l->block_size != 0 ? l->block_size : channel_max(p);
	return CPK_OK;
}

static cpk_status
resolve_put_key(struct profile *p, const struct profile_opts *opts, struct profile_put_key *pk,
    struct cpk_error *err)
{
	enum gp_diversification div;
	cpk_status ret;

	if ((ret = key_path(p, opts, pk->file, pk->loc_file, &pk->path, err)) != CPK_OK ||
	    (ret = load_key_set(p, pk->path, pk->loc_file, &pk->set, err)) != CPK_OK)
		return ret;
	if ((ret = keyset_effective_div(pk->set, false, GP_DIV_NONE, &div, err)) != CPK_OK)
		return relocate(p, err, pk->loc_file, ret);
	if ((ret = check_key_alg(p, pk->set, pk->loc_file, true, err)) != CPK_OK)
		return ret;
	if (pk->set->keys.kvn > 0x7F)
		return at(p, err, pk->loc_file, CPK_ERR_RANGE,
		    "key file '%s' holds key version %02X: PUT KEY takes new versions 01 to 7F",
		    pk->set->path, pk->set->keys.kvn);
	if (pk->version != 0 && pk->version != pk->set->keys.kvn)
		return at(p, err, pk->loc_file, CPK_ERR_PARSE,
		    "'version' is %02X but key file '%s' holds key version %02X", pk->version,
		    pk->set->path, pk->set->keys.kvn);
	pk->version = pk->set->keys.kvn;
	return CPK_OK;
}

/*
 * delegated-management: the token key's path in the key folder, and (not
 * for cardc check) a trial signature, so that a key that cannot sign is
 * named where the profile names it.
 */
static cpk_status
resolve_dm(struct profile *p, const struct profile_opts *opts, struct cpk_error *err)
{
	struct cpk_buf tdata = CPK_BUF_INIT, token = CPK_BUF_INIT;
	cpk_status ret;

	if (!p->sd.has_aid)
		return at(p, err, p->sd.loc_dm, CPK_ERR_PARSE, "'delegated-management' needs "
		    "'aid': the supplementary security domain the commands go to");
	if ((ret = key_path(p, opts, p->sd.dm_key, p->sd.loc_dm_key, &p->sd.dm_path, err)) !=
	    CPK_OK || (opts != NULL && opts->keyless))
		return ret;
	if ((ret = dm_token_data(0x00, 0x00, NULL, 0, &tdata, err)) == CPK_OK &&
	    (ret = dm_sign_token(p->sd.dm_path, &tdata, &token, err)) != CPK_OK &&
	    err != NULL && err->line == 0)
		relocate(p, err, p->sd.loc_dm_key, ret);
	if (ret == CPK_OK && token.len > DM_TOKEN_MAX)
		ret = at(p, err, p->sd.loc_dm_key, CPK_ERR_RANGE, "token key '%s' makes %zu-byte "
		    "tokens: a command has room for %d (an RSA-1024 key)", p->sd.dm_path,
		    token.len, DM_TOKEN_MAX);
	if (ret == CPK_OK)
		p->sd.dm_token_len = token.len;
	cpk_buf_free(&tdata);
	cpk_buf_free(&token);
	return ret;
}

cpk_status
profile_resolve(struct profile *p, const struct profile_opts *opts, struct cpk_error *err)
{
	struct profile_step *s;
	cpk_status ret;
	size_t i;

	cpk_error_clear(err);
	if ((ret = opts != NULL && opts->keyless ? key_name_check(p, opts, p->keys.file,
	    p->keys.loc_file, err) : resolve_keys(p, opts, err)) != CPK_OK)
		return ret;
	if (p->sd.dm_key != NULL && (ret = resolve_dm(p, opts, err)) != CPK_OK)
		return ret;
	for (i = 0; i < p->nsteps; i++) {
		s = &p->steps[i];
		if (s->kind == PROFILE_STEP_LOAD)
			ret = resolve_load(p, opts, &s->u.load, err);
		else if (s->kind == PROFILE_STEP_PUT_KEY)
			ret = opts != NULL && opts->keyless ? key_name_check(p, opts,
			    s->u.put_key.file, s->u.put_key.loc_file, err) :
			    resolve_put_key(p, opts, &s->u.put_key, err);
		else if (s->kind == PROFILE_STEP_INSTALL && s->u.install.load_step >= 0)
			s->u.install.package = p->steps[s->u.install.load_step].u.load.package;
		if (ret != CPK_OK)
			return ret;
	}
	return CPK_OK;
}

/* --- the semantic pass --- */

static cpk_status
check_sd(const struct profile *p, struct cpk_error *err)
{
	const struct profile_sd *sd = &p->sd;
	const struct scp_proto *proto;
	cpk_status ret;

	if ((ret = scp_i_supported(sd->scp, sd->i, err)) != CPK_OK)
		return relocate(p, err, sd->loc_i, ret);
	if ((ret = scp_level_allowed(sd->scp, sd->i, sd->level, err)) != CPK_OK)
		return relocate(p, err, sd->loc_level, ret);
	proto = scp_proto_find((uint8_t)sd->scp);
	if (sd->mode == PROFILE_MODE_OFFLINE && !scp_proto_pseudo_random(proto, sd->i))
		return at(p, err, sd->loc_mode, CPK_ERR_UNSUPPORTED,
		    "an offline bundle needs a predictable card challenge, but SCP%02d i=%02X gives "
		    "a random one (no pseudo-random bit %02X): use 'mode: session' with a live "
		    "INITIALIZE UPDATE exchange in the card record", (int)sd->scp, sd->i,
		    proto->i_pseudo);
	return CPK_OK;
}

/*
 * A plain command's data must fit the channel at the profile's level, with
 * its delegated-management token when the profile signs tokens (the key's
 * token length; cardc check, which reads no key: an RSA-1024 token's).
 */
static cpk_status
check_fits(const struct profile *p, const struct cpk_buf *apdu, const char *what,
    struct profile_loc l, struct cpk_error *err)
{
	size_t lc = apdu->len > 5 ? apdu->data[4] : 0, total = lc;
	size_t max = channel_max(p);
	size_t token = p->sd.dm_token_len > 0 ? p->sd.dm_token_len : DM_TOKEN_MAX;
	cpk_status ret;

	if (p->sd.dm_key != NULL && lc > 0 && (ret = dm_data_len(apdu->data[1], apdu->data[2],
	    apdu->data + 5, lc, token, &total, err)) != CPK_OK)
		return relocate(p, err, l, ret);
	if (total > lc && total > max)
		return at(p, err, l, CPK_ERR_RANGE,
		    "%s carries %zu bytes of data with its %zu-byte delegated-management token; "
		    "the secure channel at security level %02X (%s) carries at most %zu", what,
		    total, token, p->sd.level, level_name(p->sd.level), max);
	if (lc > max)
		return at(p, err, l, CPK_ERR_RANGE,
		    "%s carries %zu bytes of data; the secure channel at security level %02X (%s) "
		    "carries at most %zu", what, lc, p->sd.level, level_name(p->sd.level), max);
	return CPK_OK;
}

static cpk_status
check_load(const struct profile *p, const struct profile_step *s, struct cpk_error *err)
{
	const struct profile_load *l = &s->u.load;
	struct cpk_buf apdu = CPK_BUF_INIT;
	size_t max = channel_max(p), count;
	cpk_status ret;

	/* block-size: max: per card (profile_load_block); here what the channel allows at most. */
	if (l->block_max) {
		max = scp_max_plain_data(p->sd.scp, p->sd.level, CPK_APDU_EXT_MAX_LC);
		if ((ret = gp_load_block_count(l->load_file.len, max, &count, err)) != CPK_OK) {
			relocate(p, err, l->loc_block, ret);
			goto out;
		}
	} else if (l->block > max) {
		ret = at(p, err, l->loc_block, CPK_ERR_RANGE,
		    "'block-size' %zu does not fit the secure channel: at security level %02X (%s) "
		    "a command carries at most %zu bytes of data (write 'auto')", l->block,
		    p->sd.level, level_name(p->sd.level), max);
		goto out;
	}
	if (!l->block_max &&
	    (ret = gp_load_block_count(l->load_file.len, l->block, &count, err)) != CPK_OK) {
		relocate(p, err, l->block_size != 0 ? l->loc_block : l->loc_cap, ret);
		goto out;
	}
	if ((ret = gp_cmd_install_for_load(&l->package, l->has_sd ? &l->sd : NULL, l->lfdb_hash,
	    l->lfdb_hash_len, l->params, l->params_len, NULL, 0, &apdu, err)) != CPK_OK) {
		relocate(p, err, s->loc, ret);
		goto out;
	}
	ret = check_fits(p, &apdu, "INSTALL [for load]", s->loc, err);
out:
	cpk_buf_free(&apdu);
	return ret;
}

/* The load step (before `upto`) whose package is `pkg`, or -1. */
static int
find_load(const struct profile *p, size_t upto, const struct gp_aid *pkg)
{
	size_t i;
	int found = -1;

	for (i = 0; i < upto; i++)
		if (p->steps[i].kind == PROFILE_STEP_LOAD &&
		    gp_aid_equal(&p->steps[i].u.load.package, pkg))
			found = (int)i;
	return found;
}

static cpk_status
applet_missing(const struct profile *p, const struct profile_install *in, int li,
    const struct cap_file *cap, struct cpk_error *err)
{
	char aid[2 * GP_AID_MAX + 1], list[200];
	size_t i, o = 0;

	gp_aid_hex(&in->applet, aid);
	list[0] = '\0';
	for (i = 0; i < cap->info.napplets && o + 36 < sizeof(list); i++) {
		int w = snprintf(list + o, sizeof(list) - o, "%s", i > 0 ? ", " : "");

		o += (size_t)w;
		cpk_hex_encode(cap->info.applets[i].aid, cap->info.applets[i].aid_len, list + o,
		    sizeof(list) - o);
		o += strlen(list + o);
	}
	return at(p, err, in->loc_applet, CPK_ERR_NOT_FOUND,
	    "applet %s is not in the CAP file loaded by step %d (%s); its applets: %s", aid, li + 1,
	    p->steps[li].u.load.cap_file, cap->info.napplets > 0 ? list : "none");
}

static cpk_status
check_privileges(const struct profile *p, const struct profile_install *in, struct profile_loc l,
    struct cpk_error *err)
{
	uint8_t b = in->privileges[0];

	if ((b & 0x80) == 0 && (b & 0x61) != 0)
		return at(p, err, l, CPK_ERR_PARSE,
		    "privileges %02X: dap-verification, delegated-management and "
		    "mandated-dap-verification are security domain privileges (add security-domain)",
		    b);
	if ((b & 0x01) != 0 && (b & 0x40) == 0)
		return at(p, err, l, CPK_ERR_PARSE,
		    "privileges %02X: mandated-dap-verification needs dap-verification", b);
	return CPK_OK;
}

void
profile_install_to_gp(const struct profile_install *in, struct gp_install *out)
{
	memset(out, 0, sizeof(*out));
	out->package = in->package;
	out->module = in->applet;
	out->instance = in->instance;
	memcpy(out->privileges, in->privileges, sizeof(out->privileges));
	out->privileges_len = in->privileges_len;
	out->params = in->params;
	out->params_len = in->params_len;
	out->system_params = in->system_params;
	out->system_params_len = in->system_params_len;
	out->has_system_params = in->has_system_params;
}

static cpk_status
check_install(const struct profile *p, size_t idx, struct cpk_error *err)
{
	const struct profile_step *s = &p->steps[idx];
	const struct profile_install *in = &s->u.install;
	struct gp_install gi;
	struct cpk_buf apdu = CPK_BUF_INIT;
	cpk_status ret;
	int li;

	li = in->load_step >= 0 ? in->load_step : find_load(p, idx, &in->package);
	if (li >= 0 && !cap_has_applet(p->steps[li].u.load.cap, in->applet.b, in->applet.len)) {
		ret = applet_missing(p, in, li, p->steps[li].u.load.cap, err);
		goto out;
	}
	if ((ret = check_privileges(p, in, s->loc, err)) != CPK_OK)
		goto out;
	profile_install_to_gp(in, &gi);
	if ((ret = gp_cmd_install(GP_INSTALL_FOR_INSTALL_AND_SELECTABLE, &gi, &apdu, err)) != CPK_OK) {
		relocate(p, err, s->loc, ret);
		goto out;
	}
	ret = check_fits(p, &apdu, "INSTALL [for install]", s->loc, err);
out:
	cpk_buf_free(&apdu);
	return ret;
}

/* An instance installed twice with no delete of it in between. */
static cpk_status
check_reinstall(const struct profile *p, size_t idx, struct cpk_error *err)
{
	const struct profile_install *in = &p->steps[idx].u.install;
	char aid[2 * GP_AID_MAX + 1];
	size_t i;

	for (i = idx; i-- > 0;) {
		const struct profile_step *s = &p->steps[i];

		if (s->kind == PROFILE_STEP_DELETE &&
		    (gp_aid_equal(&s->u.del.aid, &in->instance) ||
		    (s->u.del.related && gp_aid_equal(&s->u.del.aid, &in->package))))
			return CPK_OK;
		if (s->kind == PROFILE_STEP_INSTALL && gp_aid_equal(&s->u.install.instance,
		    &in->instance)) {
			gp_aid_hex(&in->instance, aid);
			return at(p, err, in->loc_instance, CPK_ERR_PARSE,
			    "instance %s is already installed by step %zu (delete it first)", aid,
			    i + 1);
		}
	}
	return CPK_OK;
}

static bool
data_declared(const struct profile *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->ndata; i++)
		if (strcmp(p->data_names[i], name) == 0)
			return true;
	return false;
}

static cpk_status
check_tmpl(const struct profile *p, const struct profile_tmpl *t, struct cpk_error *err)
{
	size_t i;

	for (i = 0; i < t->nsegs; i++) {
		const struct profile_seg *sg = &t->segs[i];

		if ((sg->field == PROFILE_F_DATA || sg->field == PROFILE_F_DATA_TEXT) &&
		    !data_declared(p, sg->name))
			return at(p, err, t->loc, CPK_ERR_PARSE,
			    "placeholder '${%sdata.%s}' names per-card data '%s', which the profile "
			    "does not declare (add it to 'data')",
			    sg->field == PROFILE_F_DATA_TEXT ? "text:" : "", sg->name, sg->name);
	}
	return CPK_OK;
}

static size_t
tmpl_fixed_len(const struct profile_tmpl *t)
{
	size_t i, n = 0;

	for (i = 0; i < t->nsegs; i++)
		n += t->segs[i].len;
	return n;
}

static cpk_status
check_apdu(const struct profile *p, const struct profile_step *s, struct cpk_error *err)
{
	const struct profile_apdu *a = &s->u.apdu;
	size_t max = channel_max(p), n;
	cpk_status ret;

	if ((ret = check_tmpl(p, &a->data, err)) != CPK_OK)
		return ret;
	if ((a->header[0] & 0x40) != 0 || a->header[0] == 0xFF)
		return at(p, err, s->loc, CPK_ERR_UNSUPPORTED,
		    "CLA %02X cannot be sent in the secure channel (logical channels 0-3 only)",
		    a->header[0]);
	n = tmpl_fixed_len(&a->data);
	if (n > max)
		return at(p, err, a->data.loc, CPK_ERR_RANGE,
		    "'data' holds %zu bytes; the secure channel at security level %02X (%s) carries "
		    "at most %zu", n, p->sd.level, level_name(p->sd.level), max);
	return CPK_OK;
}

/* A table step: its command fits the channel, then the step's own rules. */
static cpk_status
check_cmd(const struct profile *p, const struct profile_step *s, struct cpk_error *err)
{
	const struct profile_cmd *cmd = &s->u.cmd;
	struct cpk_buf apdu = CPK_BUF_INIT;
	cpk_status ret;

	if ((ret = gp_cmd_raw(cmd->header, cmd->data, cmd->len, false, 0, &apdu, err)) != CPK_OK) {
		relocate(p, err, s->loc, ret);
		goto out;
	}
	if ((ret = check_fits(p, &apdu, cmd->what, s->loc, err)) != CPK_OK)
		goto out;
	if (cmd->ops->check != NULL)
		ret = cmd->ops->check(p, s, err);
out:
	cpk_buf_free(&apdu);
	return ret;
}

static cpk_status
check_step(const struct profile *p, size_t i, struct cpk_error *err)
{
	const struct profile_step *s = &p->steps[i];
	cpk_status ret = CPK_OK;
	size_t k;

	switch (s->kind) {
	case PROFILE_STEP_LOAD:
		ret = check_load(p, s, err);
		break;
	case PROFILE_STEP_INSTALL:
		if ((ret = check_install(p, i, err)) == CPK_OK)
			ret = check_reinstall(p, i, err);
		break;
	case PROFILE_STEP_STORE_DATA:
		for (k = 0; k < s->u.store.nitems && ret == CPK_OK; k++)
			ret = check_tmpl(p, &s->u.store.items[k].value, err);
		break;
	case PROFILE_STEP_APDU:
		ret = check_apdu(p, s, err);
		break;
	case PROFILE_STEP_CMD:
		ret = check_cmd(p, s, err);
		break;
	default:
		break;
	}
	return ret;
}

/* Capture names: their syntax, each once, at most CPK_CAPTURE_MAX. */
static cpk_status
check_captures(const struct profile *p, struct cpk_error *err)
{
	const struct profile_apdu *a;
	size_t i, k, n = 0;

	for (i = 0; i < p->nsteps; i++) {
		if (p->steps[i].kind != PROFILE_STEP_APDU || p->steps[i].u.apdu.capture[0] == '\0')
			continue;
		a = &p->steps[i].u.apdu;
		if (!cpk_capture_name_ok(a->capture))
			return at(p, err, a->loc_capture, CPK_ERR_PARSE, "capture name '%s': use a-z, "
			    "0-9, '_' and '-', starting with a letter or digit", a->capture);
		for (k = 0; k < i; k++)
			if (p->steps[k].kind == PROFILE_STEP_APDU &&
			    strcmp(p->steps[k].u.apdu.capture, a->capture) == 0)
				return at(p, err, a->loc_capture, CPK_ERR_PARSE, "capture '%s' is "
				    "already the name of step %zu's response", a->capture, k + 1);
		if (++n > CPK_CAPTURE_MAX)
			return at(p, err, a->loc_capture, CPK_ERR_RANGE, "capture '%s' is one too "
			    "many: a profile keeps at most %d responses", a->capture,
			    CPK_CAPTURE_MAX);
	}
	return CPK_OK;
}

cpk_status
profile_check(const struct profile *p, struct cpk_error *err)
{
	cpk_status ret;
	size_t i;

	cpk_error_clear(err);
	if ((ret = check_sd(p, err)) != CPK_OK)
		return ret;
	for (i = 0; i < p->nsteps; i++)
		if ((ret = check_step(p, i, err)) != CPK_OK)
			return ret;
	return check_captures(p, err);
}

/* --- one card --- */

const struct gp_aid *
profile_sd_aid(const struct profile *p, const struct card_record *card)
{
	return p->sd.has_aid ? &p->sd.aid : &card->sd_aid;
}

uint8_t
profile_sd_kvn(const struct profile *p, const struct card_record *card)
{
	return p->sd.has_kvn ? p->sd.kvn : card->kvn;
}

/* The bytes a placeholder stands for; *text is set for data items. */
static cpk_status
field_value(const struct profile *p, const struct profile_tmpl *t, const struct profile_seg *sg,
    const struct card_record *card, struct cpk_buf *out, struct cpk_error *err)
{
	const char *v;
	const char *need = NULL;
	cpk_status ret;

	switch (sg->field) {
	case PROFILE_F_SERIAL:
		if (card->serial[0] != '\0')
			return cpk_buf_append(out, card->serial, strlen(card->serial), err);
		need = "serial";
		break;
	case PROFILE_F_CIN:
		if (card->cin_len > 0)
			return cpk_buf_append(out, card->cin, card->cin_len, err);
		need = "cin";
		break;
	case PROFILE_F_IIN:
		if (card->iin_len > 0)
			return cpk_buf_append(out, card->iin, card->iin_len, err);
		need = "iin";
		break;
	case PROFILE_F_CPLC:
		if (card->has_cplc)
			return cpk_buf_append(out, card->cplc, sizeof(card->cplc), err);
		need = "cplc";
		break;
	case PROFILE_F_KDD:
		return cpk_buf_append(out, card->kdd, sizeof(card->kdd), err);
	case PROFILE_F_SD_AID:
		v = (const char *)profile_sd_aid(p, card)->b;
		return cpk_buf_append(out, v, profile_sd_aid(p, card)->len, err);
	case PROFILE_F_DATA:
	case PROFILE_F_DATA_TEXT:
		if ((v = card_data_get(card, sg->name)) == NULL)
			return at(p, err, t->loc, CPK_ERR_NOT_FOUND,
			    "the card record has no per-card data '%s' (data.%s)", sg->name,
			    sg->name);
		if (sg->field == PROFILE_F_DATA_TEXT)
			return cpk_buf_append(out, v, strlen(v), err);
		if ((ret = cpk_hex_decode_buf(v, out, err)) != CPK_OK)
			return at(p, err, t->loc, CPK_ERR_PARSE,
			    "per-card data '%s' must be hex for '${data.%s}' (write "
			    "'${text:data.%s}' for text)", sg->name, sg->name, sg->name);
		return CPK_OK;
	default:
		return cpk_buf_append(out, sg->bytes, sg->len, err);
	}
	return at(p, err, t->loc, CPK_ERR_NOT_FOUND,
	    "${card.%s} needs the card's '%s', which the card record does not give", need, need);
}

cpk_status
profile_render(const struct profile *p, const struct profile_tmpl *t,
    const struct card_record *card, struct cpk_buf *out, struct cpk_error *err)
{
	cpk_status ret;
	size_t i;

	for (i = 0; i < t->nsegs; i++)
		if ((ret = field_value(p, t, &t->segs[i], card, out, err)) != CPK_OK)
			return ret;
	return CPK_OK;
}

static cpk_status
check_card_tmpl(const struct profile *p, const struct profile_tmpl *t,
    const struct card_record *card, struct cpk_error *err)
{
	struct cpk_buf tmp = CPK_BUF_INIT;
	cpk_status ret;

	if (t->fixed)
		return CPK_OK;
	ret = profile_render(p, t, card, &tmp, err);
	cpk_buf_free(&tmp);
	return ret;
}

static cpk_status
check_card_ids(const struct profile *p, const struct card_record *card, struct cpk_error *err)
{
	char a[2 * GP_AID_MAX + 1], b[2 * GP_AID_MAX + 1];
	/* Profile kvn 00 (the default key set): the card's own version must match the keys. */
	uint8_t kvn = p->sd.has_kvn && p->sd.kvn != 0x00 ? p->sd.kvn : card->kvn;

	if (card->scp != p->sd.scp || card->i != p->sd.i)
		return cpk_error_set(err, CPK_ERR_PARSE,
		    "the card uses SCP%02d i=%02X, but the profile is written for SCP%02d i=%02X",
		    (int)card->scp, card->i, (int)p->sd.scp, p->sd.i);
	if (p->sd.has_aid && !gp_aid_equal(&p->sd.aid, &card->sd_aid)) {
		gp_aid_hex(&card->sd_aid, a);
		gp_aid_hex(&p->sd.aid, b);
		return cpk_error_set(err, CPK_ERR_PARSE,
		    "the card's security domain is %s, but the profile names %s", a, b);
	}
	if (p->sd.has_kvn && p->sd.kvn != 0x00 && p->sd.kvn != card->kvn)
		return cpk_error_set(err, CPK_ERR_PARSE,
		    "the card record gives key version %02X, but the profile uses %02X", card->kvn,
		    p->sd.kvn);
	if (p->keys.set != NULL && p->keys.set->keys.kvn != kvn)
		return cpk_error_set(err, CPK_ERR_PARSE,
		    "the card's security domain uses key version %02X, but key file '%s' holds "
		    "version %02X", kvn, p->keys.set->path, p->keys.set->keys.kvn);
	if (p->sd.mode == PROFILE_MODE_SESSION && !card->has_session)
		return cpk_error_set(err, CPK_ERR_PARSE,
		    "the profile makes a session bundle (SCP%02d i=%02X%s), but the card record has "
		    "no 'host-challenge' and 'iu-response'", (int)p->sd.scp, p->sd.i,
		    p->sd.mode_given ? ", mode: session" : " has no predictable challenge");
	if (p->sd.mode == PROFILE_MODE_OFFLINE && card->counter_len == 0)
		return cpk_error_set(err, CPK_ERR_PARSE,
		    "an offline bundle needs the card's next sequence counter ('counter')");
	return CPK_OK;
}

cpk_status
profile_check_card(const struct profile *p, const struct card_record *card,
    struct cpk_error *err)
{
	const struct profile_step *s;
	cpk_status ret;
	size_t i, k, block;

	cpk_error_clear(err);
	if ((ret = check_card_ids(p, card, err)) != CPK_OK)
		return ret;
	for (i = 0; i < p->nsteps; i++) {
		s = &p->steps[i];
		if (s->kind == PROFILE_STEP_APDU &&
		    (ret = check_card_tmpl(p, &s->u.apdu.data, card, err)) != CPK_OK)
			return ret;
		if (s->kind == PROFILE_STEP_LOAD &&
		    (ret = profile_load_block(p, &s->u.load, card, &block, err)) != CPK_OK)
			return ret;
		for (k = 0; s->kind == PROFILE_STEP_STORE_DATA && k < s->u.store.nitems; k++)
			if ((ret = check_card_tmpl(p, &s->u.store.items[k].value, card, err)) != CPK_OK)
				return ret;
	}
	return CPK_OK;
}
