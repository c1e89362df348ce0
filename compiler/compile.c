/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: script assembly (see compile.h).
 */
#include "compile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "challenge.h"
#include "cpk_apdu.h"
#include "dm.h"
#include "gp_cmd.h"
#include "keyset.h"
#include "scp.h"

#include "cpk_config.h"

struct asm_ctx {
	struct cpk_compiled *out;
	struct scp_session s;
	const struct profile *p;
	const struct card_record *card;
	const struct profile_step *step;	/* NULL outside the steps */
	/* Label of the next emitted command(s). */
	char label[CPK_LABEL_MAX + 1];
	size_t seq, total;			/* "LOAD 3/57" numbering, 0 = none */
	bool keyless;				/* cardc check: throwaway keys */
	struct cpk_buf w;			/* the wrapped command, reused */
};

static const struct cpk_sw_pattern sw_9000 = { 0x9000, 0xFFFF };
/* SELECT of the ISD: 9000, or 6283 from a CARD_LOCKED card (GP 2.3.1 11.9.3). */
static const struct cpk_sw_pattern sw_select[] = { { 0x9000, 0xFFFF }, { 0x6283, 0xFFFF } };

/*
 * Does the profile unlock the card (set-status card: secured)? Its SELECT
 * of the ISD then also accepts 6283: the card may be CARD_LOCKED.
 * Other profiles keep 9000 alone (and their bundles their bytes).
 */
static bool
unlocks_card(const struct profile *p)
{
	static const uint8_t unlock[4] = { 0x80, 0xF0, 0x80, 0x0F };
	size_t i;

	for (i = 0; i < p->nsteps; i++)
		if (p->steps[i].kind == PROFILE_STEP_CMD &&
		    memcmp(p->steps[i].u.cmd.header, unlock, 4) == 0)
			return true;
	return false;
}

void
cpk_compiled_free_commands(struct cpk_compiled *c)
{
	if (c == NULL)
		return;
	free(c->cmds);
	c->cmds = NULL;
	c->ncmds = 0;
	/* The commands written are cleansed; the storage reserved past them never held any. */
	cpk_buf_reset(&c->script);
	cpk_buf_free_public(&c->script);
}

void
cpk_compiled_free(struct cpk_compiled *c)
{
	if (c == NULL)
		return;
	cpk_compiled_free_commands(c);
	memset(c, 0, sizeof(*c));
}

/* Write one command record into the script (no copy of the APDU kept elsewhere). */
static cpk_status
add_command(struct cpk_compiled *c, uint8_t flags, const char *label, const uint8_t *apdu,
    size_t n, const struct cpk_sw_pattern *sw, size_t nsw, struct cpk_error *err)
{
	struct cpk_command cmd;
	size_t i;
	cpk_status ret;

	if (c->ncmds >= CPK_SCRIPT_MAX_COMMANDS)
		return cpk_error_set(err, CPK_ERR_RANGE,
		    "the script would exceed %d commands", CPK_SCRIPT_MAX_COMMANDS);
	if (nsw == 0 || nsw > CPK_SW_MAX)
		return cpk_error_set(err, CPK_ERR_ARG, "%zu accepted status words", nsw);
	memset(&cmd, 0, sizeof(cmd));
	cmd.flags = flags;
	snprintf(cmd.label, sizeof(cmd.label), "%s", label);
	cmd.apdu = apdu;
	cmd.apdu_len = n;
	for (i = 0; i < nsw; i++)
		cmd.sw[i] = sw[i];
	cmd.nsw = nsw;
	/* Checked once, when the script is read back (cpk_compile, cpk_bundle_write_compiled). */
	if ((ret = cpk_script_add(&c->script, 0, c->ncmds, &cmd, false, err)) != CPK_OK)
		return ret;
	c->ncmds++;
	return CPK_OK;
}

/* The step's accepted status words, or 9000. */
static size_t
step_sw(const struct profile_step *st, struct cpk_sw_pattern *sw)
{
	size_t i, n = 0;

	if (st == NULL || st->naccept == 0) {
		sw[0] = sw_9000;
		return 1;
	}
	for (i = 0; i < st->naccept && i < CPK_SW_MAX; i++) {
		sw[n].value = st->accept[i];
		sw[n].mask = 0xFFFF;
		n++;
	}
	return n;
}

/*
 * dst = base, cut between two characters where needed, then suffix: a label
 * of at most CPK_LABEL_MAX bytes (cap > CPK_LABEL_MAX; suffix is short ASCII).
 */
static void
label_with(char *dst, size_t cap, const char *base, const char *suffix)
{
	size_t room = CPK_LABEL_MAX - strlen(suffix);

	snprintf(dst, cap, "%.*s%s", (int)cpk_utf8_cut(base, room), base, suffix);
}

/* Wrap a plain command with the session and record it under the current label. */
static cpk_status
emit_secured(void *vctx, const uint8_t *apdu, size_t n, struct cpk_error *err)
{
	struct asm_ctx *a = vctx;
	struct cpk_sw_pattern sw[CPK_SW_MAX];
	char label[CPK_LABEL_MAX + 1], count[32];
	size_t nsw = step_sw(a->step, sw);
	cpk_status ret;

	if (a->total > 0) {
		a->seq++;
		snprintf(count, sizeof(count), " %zu/%zu", a->seq, a->total);
		label_with(label, sizeof(label), a->label, count);
	} else {
		snprintf(label, sizeof(label), "%s", a->label);
	}
	/*
	 * Header, padding, MAC and Le: at most 48 bytes more than the plain
	 * command. Storage too small is taken anew at that size (not doubled).
	 */
	cpk_buf_reset(&a->w);
	if (a->w.cap < n + 48)
		cpk_buf_free(&a->w);
	if ((ret = cpk_buf_reserve(&a->w, n + 48, err)) != CPK_OK ||
	    (ret = scp_wrap_command(&a->s, apdu, n, &a->w, err)) != CPK_OK)
		return ret;
	return add_command(a->out, CPK_CMD_SECURED, label, a->w.data, a->w.len, sw, nsw, err);
}

static void
set_label(struct asm_ctx *a, const char *fallback, const struct gp_aid *aid, size_t total)
{
	char hex[1 + 2 * GP_AID_MAX + 1];
	const char *base = a->step != NULL && a->step->label != NULL ? a->step->label : fallback;

	if (aid != NULL && (a->step == NULL || a->step->label == NULL)) {
		/* Cut the name only as far as the AID needs (at most 32 hex digits). */
		hex[0] = ' ';
		gp_aid_hex(aid, hex + 1);
		label_with(a->label, sizeof(a->label), base, hex);
	} else {
		snprintf(a->label, sizeof(a->label), "%s", base);
	}
	a->seq = 0;
	a->total = total;
}

/* Build into a buffer, then wrap and record. */
static cpk_status
emit_buf(struct asm_ctx *a, struct cpk_buf *plain, struct cpk_error *err)
{
	cpk_status ret = emit_secured(a, plain->data, plain->len, err);

	cpk_buf_reset(plain);
	return ret;
}

/*
 * A card content management command of a delegated-management profile:
 * its token, then wrap and record (dm.h; commands that take no token are
 * emitted as they are).
 */
static cpk_status
emit_dm(struct asm_ctx *a, struct cpk_buf *plain, struct cpk_error *err)
{
	cpk_status ret;

	if (a->p->sd.dm_key != NULL &&
	    (ret = dm_add_token(a->keyless ? NULL : a->p->sd.dm_path, plain, err)) != CPK_OK) {
		cpk_buf_reset(plain);
		return ret;
	}
	return emit_buf(a, plain, err);
}

static cpk_status
step_delete(struct asm_ctx *a, const struct profile_delete *d, struct cpk_buf *b,
    struct cpk_error *err)
{
	cpk_status ret;

	set_label(a, "DELETE", &d->aid, 0);
	if ((ret = gp_cmd_delete(&d->aid, d->related, b, err)) != CPK_OK)
		return ret;
	return emit_dm(a, b, err);
}

static cpk_status
step_load(struct asm_ctx *a, const struct profile_load *l, struct cpk_buf *b,
    struct cpk_error *err)
{
	const struct profile_step *saved = a->step;
	size_t blocks, block;
	cpk_status ret;

	set_label(a, "INSTALL [for load]", &l->package, 0);
	/* INSTALL [for load] answers 9000; the step's words are for LOAD. */
	a->step = NULL;
	if (saved->label != NULL)
		label_with(a->label, sizeof(a->label), saved->label, ": INSTALL [for load]");
	ret = gp_cmd_install_for_load(&l->package, l->has_sd ? &l->sd : NULL, l->lfdb_hash,
	    l->lfdb_hash_len, l->params, l->params_len, NULL, 0, b, err);
	if (ret == CPK_OK)
		ret = emit_dm(a, b, err);
	a->step = saved;
	if (ret != CPK_OK)
		goto out;
	if ((ret = profile_load_block(a->p, l, a->card, &block, err)) != CPK_OK ||
	    (ret = gp_load_block_count(l->load_file.len, block, &blocks, err)) != CPK_OK)
		goto out;
	set_label(a, "LOAD", NULL, blocks);
	ret = gp_cmd_load_all(l->load_file.data, l->load_file.len, block, emit_secured, a, err);
out:
	return ret;
}

static cpk_status
step_install(struct asm_ctx *a, const struct profile_install *in, struct cpk_buf *b,
    struct cpk_error *err)
{
	struct gp_install g;
	cpk_status ret;

	profile_install_to_gp(in, &g);
	if (in->selectable && in->combined) {
		set_label(a, "INSTALL [for install and make selectable]", &in->instance, 0);
		if ((ret = gp_cmd_install(GP_INSTALL_FOR_INSTALL_AND_SELECTABLE, &g, b, err)) != CPK_OK)
			return ret;
		return emit_dm(a, b, err);
	}
	set_label(a, "INSTALL [for install]", &in->instance, 0);
	if ((ret = gp_cmd_install(GP_INSTALL_FOR_INSTALL, &g, b, err)) != CPK_OK ||
	    (ret = emit_dm(a, b, err)) != CPK_OK)
		return ret;
	if (!in->selectable)
		return CPK_OK;
	set_label(a, "INSTALL [for make selectable]", &in->instance, 0);
	if ((ret = gp_cmd_make_selectable(&in->instance, in->privileges, in->privileges_len, b,
	    err)) != CPK_OK)
		return ret;
	return emit_dm(a, b, err);
}

static cpk_status
encrypt_sensitive(void *vctx, const uint8_t *in, size_t n, struct cpk_buf *out,
    struct cpk_error *err)
{
	const struct asm_ctx *a = vctx;

	return scp_encrypt_data(&a->s, in, n, out, err);
}

static cpk_status
step_store_data(struct asm_ctx *a, const struct profile_store_data *sd, struct cpk_buf *b,
    struct cpk_error *err)
{
	struct gp_store_item *items = NULL;
	struct cpk_buf *values = NULL;
	size_t i;
	cpk_status ret;

	if (sd->has_instance) {
		const struct profile_step *saved = a->step;

		a->step = NULL;
		set_label(a, "INSTALL [for personalization]", &sd->instance, 0);
		ret = gp_cmd_install_for_personalization(&sd->instance, b, err);
		if (ret == CPK_OK)
			ret = emit_buf(a, b, err);
		a->step = saved;
		if (ret != CPK_OK)
			goto out;
	}
	if ((items = calloc(sd->nitems ? sd->nitems : 1, sizeof(*items))) == NULL ||
	    (values = calloc(sd->nitems ? sd->nitems : 1, sizeof(*values))) == NULL) {
		ret = cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < sd->nitems; i++) {
		if ((ret = profile_render(a->p, &sd->items[i].value, a->card, &values[i], err)) != CPK_OK)
			goto out;
		items[i].id = sd->items[i].id;
		items[i].value = values[i].data;
		items[i].len = values[i].len;
		items[i].encrypt = sd->items[i].encrypt;
	}
	set_label(a, "STORE DATA", NULL, 0);
	ret = gp_cmd_store_data_all(sd->format, items, sd->nitems,
	    scp_max_plain_data(a->s.version, a->s.level, CPK_APDU_SHORT_MAX_LC),
	    encrypt_sensitive, a, emit_secured, a, err);
out:
	if (values != NULL)
		for (i = 0; i < sd->nitems; i++)
			cpk_buf_free(&values[i]);
	free(values);
	free(items);
	return ret;
}

/*
 * cardc check: random keys of the profile's algorithm and the version the
 * card would answer with, standing in for the card's keys.
 */
static cpk_status
throwaway_keys(const struct profile *p, const struct card_record *card, uint8_t kvn,
    struct scp_keyset *keys, struct cpk_error *err)
{
	/* The profile's protocol is a table entry (profile.c reads it from the table). */
	const struct scp_ops *ops = scp_ops_find((uint8_t)p->sd.scp);
	cpk_status ret;

	keys->alg = ops->key_alg;
	keys->len = 16;
	keys->kvn = kvn != 0x00 ? kvn : card->has_session ? card->iu.kvn : 0x01;
	if ((ret = gp_random(keys->enc, keys->len, err)) != CPK_OK ||
	    (ret = gp_random(keys->mac, keys->len, err)) != CPK_OK)
		return ret;
	return gp_random(keys->dek, keys->len, err);
}

static cpk_status
step_put_key(struct asm_ctx *a, const struct profile_put_key *pk, struct cpk_buf *b,
    struct cpk_error *err)
{
	struct scp_keyset fresh;
	enum gp_diversification div;
	char what[40];
	cpk_status ret;

	memset(&fresh, 0, sizeof(fresh));
	if (a->keyless)
		ret = throwaway_keys(a->p, a->card, pk->version != 0 ? pk->version : 0x01, &fresh,
		    err);
	else if ((ret = keyset_effective_div(pk->set, false, GP_DIV_NONE, &div, err)) == CPK_OK)
		ret = keyset_card_keys(pk->set, div, a->card->kdd, &fresh, err);
	if (ret != CPK_OK)
		goto out;
	if (!a->keyless)
		fresh.kvn = pk->version;
	snprintf(what, sizeof(what), "PUT KEY version %02X", fresh.kvn);
	set_label(a, what, NULL, 0);
	if ((ret = gp_cmd_put_key(pk->replace ? pk->old_kvn : 0x00, &fresh,
	    gp_wrap_key_with_session, &a->s, b, err)) != CPK_OK)
		goto out;
	ret = emit_buf(a, b, err);
out:
	scp_keyset_clear(&fresh);
	return ret;
}

/* The command just emitted is the one whose response the manifest names. */
static cpk_status
keep_response(struct asm_ctx *a, const char *name, struct cpk_error *err)
{
	struct cpk_manifest *m = &a->out->manifest;
	struct cpk_capture *c;

	if (m->ncaptures >= CPK_CAPTURE_MAX)
		return cpk_error_set(err, CPK_ERR_RANGE, "more than %d captures", CPK_CAPTURE_MAX);
	c = &m->captures[m->ncaptures++];
	c->command = (uint32_t)a->out->ncmds;
	snprintf(c->name, sizeof(c->name), "%s", name);
	return CPK_OK;
}

static cpk_status
step_apdu(struct asm_ctx *a, const struct profile_apdu *ap, struct cpk_buf *b,
    struct cpk_error *err)
{
	struct cpk_buf data = CPK_BUF_INIT;
	char what[32];
	cpk_status ret;

	snprintf(what, sizeof(what), "APDU %02X%02X%02X%02X", ap->header[0], ap->header[1],
	    ap->header[2], ap->header[3]);
	set_label(a, what, NULL, 0);
	if ((ret = profile_render(a->p, &ap->data, a->card, &data, err)) != CPK_OK ||
	    (ret = gp_cmd_raw(ap->header, data.data, data.len, ap->has_le, ap->ne, b, err)) != CPK_OK ||
	    (ret = emit_buf(a, b, err)) != CPK_OK)
		goto out;
	if (ap->capture[0] != '\0')
		ret = keep_response(a, ap->capture, err);
out:
	cpk_buf_free(&data);
	return ret;
}

/* A table step (step.h): its command, built when the profile was parsed. */
static cpk_status
step_cmd(struct asm_ctx *a, const struct profile_cmd *cmd, struct cpk_buf *b,
    struct cpk_error *err)
{
	cpk_status ret;

	set_label(a, cmd->what, cmd->has_aid ? &cmd->aid : NULL, 0);
	if ((ret = gp_cmd_raw(cmd->header, cmd->data, cmd->len, false, 0, b, err)) != CPK_OK)
		return ret;
	return emit_dm(a, b, err);
}

static cpk_status
run_steps(struct asm_ctx *a, struct cpk_error *err)
{
	struct cpk_buf b = CPK_BUF_INIT;
	size_t i;
	cpk_status ret = CPK_OK;

	for (i = 0; i < a->p->nsteps && ret == CPK_OK; i++) {
		const struct profile_step *st = &a->p->steps[i];

		a->step = st;
		switch (st->kind) {
		case PROFILE_STEP_DELETE:
			ret = step_delete(a, &st->u.del, &b, err);
			break;
		case PROFILE_STEP_LOAD:
			ret = step_load(a, &st->u.load, &b, err);
			break;
		case PROFILE_STEP_INSTALL:
			ret = step_install(a, &st->u.install, &b, err);
			break;
		case PROFILE_STEP_STORE_DATA:
			ret = step_store_data(a, &st->u.store, &b, err);
			break;
		case PROFILE_STEP_PUT_KEY:
			ret = step_put_key(a, &st->u.put_key, &b, err);
			break;
		case PROFILE_STEP_APDU:
			ret = step_apdu(a, &st->u.apdu, &b, err);
			break;
		case PROFILE_STEP_CMD:
			ret = step_cmd(a, &st->u.cmd, &b, err);
			break;
		default:
			ret = cpk_error_set(err, CPK_ERR_ARG, "unknown step kind %d", (int)st->kind);
		}
		if (ret != CPK_OK)
			cpk_error_prefix(err, "step %zu (%s)", i + 1, profile_step_title(st));
	}
	a->step = NULL;
	cpk_buf_free(&b);
	return ret;
}

/* SELECT, INITIALIZE UPDATE with the expected response, for an offline bundle. */
static cpk_status
open_offline(struct asm_ctx *a, const struct scp_keys *keys, const struct gp_aid *aid,
    uint8_t kvn, const uint8_t hc[SCP_CHALLENGE_LEN], struct cpk_error *err)
{
	const struct card_record *card = a->card;
	struct cpk_manifest *m = &a->out->manifest;
	const struct scp_proto *proto;
	struct scp_iu_response iu;
	struct cpk_buf b = CPK_BUF_INIT;
	size_t cl;
	cpk_status ret;

	memset(&iu, 0, sizeof(iu));
	memcpy(iu.kdd, card->kdd, SCP_KDD_LEN);
	/* INITIALIZE UPDATE with KVN 00 asks for the default key set: the card answers with its version. */
	iu.kvn = kvn != 0x00 ? kvn : keys->kvn;
	a->out->manifest.kvn = iu.kvn;
	proto = scp_proto_find((uint8_t)a->p->sd.scp);	/* a table entry: see profile.c */
	iu.scp = proto->id;
	iu.i = proto->iu_has_i ? a->p->sd.i : 0;
	/* An offline bundle has a pseudo-random challenge: the response carries the counter. */
	iu.counter_len = proto->counter_len;
	if (card->counter_len != iu.counter_len) {
		ret = cpk_error_set(err, CPK_ERR_ARG,
		    "the card record's sequence counter has %zu bytes; SCP%02d needs %zu",
		    card->counter_len, (int)a->p->sd.scp, iu.counter_len);
		goto out;
	}
	memcpy(iu.counter, card->counter, iu.counter_len);
	iu.challenge_len = proto->challenge_len;
	if ((ret = scp_pseudo_random_challenge_keys(keys, a->p->sd.scp, iu.counter,
	    iu.counter_len, aid->b, aid->len, iu.card_challenge, &cl, err)) != CPK_OK ||
	    (ret = scp_session_begin_keys(&a->s, keys, a->p->sd.scp, a->p->sd.i, hc, &iu,
	    err)) != CPK_OK)
		goto out;
	memcpy(iu.card_cryptogram, a->s.card_cryptogram, 8);
	cpk_buf_reset(&b);
	if ((ret = scp_iu_response_build(&iu, &b, err)) != CPK_OK)
		goto out;
	memcpy(m->iu_response, b.data, b.len);
	m->iu_response_len = b.len;
	memcpy(m->counter, iu.counter, iu.counter_len);
	m->counter_len = iu.counter_len;
	memcpy(m->host_challenge, hc, SCP_CHALLENGE_LEN);
	m->has_host_challenge = true;
	/* SELECT the security domain: 00 A4 04 00 Lc AID 00. */
	{
		struct cpk_apdu sel = { .cla = 0x00, .ins = 0xA4, .p1 = 0x04, .p2 = 0x00,
		    .data = aid->b, .lc = aid->len, .has_le = true, .ne = 256 };

		cpk_buf_reset(&b);
		if ((ret = cpk_apdu_build(&sel, &b, err)) != CPK_OK ||
		    (ret = add_command(a->out, 0, "SELECT security domain", b.data, b.len,
		    sw_select, unlocks_card(a->p) ? 2 : 1, err)) != CPK_OK)
			goto out;
	}
	cpk_buf_reset(&b);
	if ((ret = scp_initialize_update_apdu(kvn, hc, &b, err)) != CPK_OK ||
	    (ret = add_command(a->out, CPK_CMD_INIT_UPDATE, "INITIALIZE UPDATE", b.data, b.len,
	    &sw_9000, 1, err)) != CPK_OK)
		goto out;
out:
	cpk_buf_free(&b);
	return ret;
}

/* The same as key references (memory keys), for the session. */
static cpk_status
throwaway_refs(const struct profile *p, const struct card_record *card, uint8_t kvn,
    struct scp_keys *keys, struct cpk_error *err)
{
	struct scp_keyset k;
	cpk_status ret;

	memset(&k, 0, sizeof(k));
	if ((ret = throwaway_keys(p, card, kvn, &k, err)) == CPK_OK)
		scp_keys_from_bytes(keys, &k);
	scp_keyset_clear(&k);
	return ret;
}

/* Session mode: verify the card's live answer (this authenticates the card). */
static cpk_status
open_session(struct asm_ctx *a, const struct scp_keys *keys, uint8_t kvn,
    struct cpk_error *err)
{
	const struct card_record *card = a->card;
	struct cpk_manifest *m = &a->out->manifest;
	cpk_status ret;

	if (!card->has_session)
		return cpk_error_set(err, CPK_ERR_ARG,
		    "session mode needs the card record's host-challenge and iu-response "
		    "(the live INITIALIZE UPDATE exchange)");
	if (card->iu.kvn != (kvn != 0x00 ? kvn : keys->kvn))
		return cpk_error_set(err, CPK_ERR_VERIFY,
		    "the card answered INITIALIZE UPDATE with key version %02X, but the "
		    "key set is version %02X", card->iu.kvn, kvn != 0x00 ? kvn : keys->kvn);
	if (memcmp(card->iu.kdd, card->kdd, SCP_KDD_LEN) != 0)
		return cpk_error_set(err, CPK_ERR_VERIFY,
		    "the INITIALIZE UPDATE response carries another KDD than the card record: "
		    "it comes from another card");
	if ((ret = scp_session_begin_keys(&a->s, keys, a->p->sd.scp, a->p->sd.i,
	    card->host_challenge, &card->iu, err)) != CPK_OK)
		return ret;
	if (!a->keyless &&
	    (ret = scp_check_card_cryptogram(&a->s, card->iu.card_cryptogram, err)) != CPK_OK)
		return ret;
	/* The live exchange goes into the manifest too, so cardc verify can recompute it. */
	memcpy(m->counter, card->iu.counter, card->iu.counter_len);
	m->counter_len = card->iu.counter_len;
	memcpy(m->host_challenge, card->host_challenge, SCP_CHALLENGE_LEN);
	m->has_host_challenge = true;
	memcpy(m->iu_response, card->iu_raw, card->iu_len);
	m->iu_response_len = card->iu_len;
	m->kvn = card->iu.kvn;
	return CPK_OK;
}

static cpk_status
fill_manifest(const struct profile *p, const struct card_record *card,
    const struct cpk_compile_opts *opts, const struct gp_aid *aid, uint8_t kvn,
    struct cpk_manifest *m, struct cpk_error *err)
{
	memset(m, 0, sizeof(*m));
	m->format = CPK_BUNDLE_FORMAT;
	snprintf(m->compiler, sizeof(m->compiler), "cpk %s", CPK_VERSION);
	if (strlen(p->name) > CPK_MANIFEST_STR_MAX)
		return cpk_error_set(err, CPK_ERR_RANGE, "profile name longer than %d characters",
		    CPK_MANIFEST_STR_MAX);
	snprintf(m->profile, sizeof(m->profile), "%s", p->name);
	memcpy(m->profile_sha256, opts->profile_sha256, CPK_SHA256_LEN);
	m->created = opts->created;
	m->mode = p->sd.mode == PROFILE_MODE_OFFLINE ? CPK_MODE_OFFLINE : CPK_MODE_SESSION;
	snprintf(m->serial, sizeof(m->serial), "%s", card->serial);
	memcpy(m->kdd, card->kdd, SCP_KDD_LEN);
	memcpy(m->sd_aid, aid->b, aid->len);
	m->sd_aid_len = aid->len;
	memcpy(m->iin, card->iin, card->iin_len);
	m->iin_len = card->iin_len;
	memcpy(m->cin, card->cin, card->cin_len);
	m->cin_len = card->cin_len;
	m->scp = (uint8_t)p->sd.scp;
	m->i = p->sd.i;
	m->kvn = kvn;
	m->level = p->sd.level;
	return CPK_OK;
}

/*
 * Storage for the script, taken once: the load steps' LOAD commands at
 * their largest (block, header, padding and MAC), and room for the other
 * commands; what is not written is never touched.
 */
static cpk_status
script_reserve(const struct profile *p, const struct card_record *card, struct cpk_buf *script,
    struct cpk_error *err)
{
	size_t size = 9 + 64 * cpk_script_record_max(64), i, block, blocks;
	cpk_status ret;

	for (i = 0; i < p->nsteps; i++) {
		const struct profile_load *l = &p->steps[i].u.load;

		if (p->steps[i].kind != PROFILE_STEP_LOAD)
			continue;
		if (profile_load_block(p, l, card, &block, NULL) != CPK_OK ||
		    gp_load_block_count(l->load_file.len, block, &blocks, NULL) != CPK_OK)
			continue;	/* the step says why when it runs */
		if (blocks > CPK_SCRIPT_MAX_COMMANDS ||
		    (size += blocks * cpk_script_record_max(block + 48)) > CPK_SCRIPT_MAX_SIZE) {
			size = CPK_SCRIPT_MAX_SIZE;
			break;
		}
	}
	if ((ret = cpk_buf_reserve(script, size, err)) != CPK_OK)
		return ret;
	return cpk_script_begin(script, err);
}

cpk_status
cpk_compile(const struct profile *p, const struct card_record *card,
    const struct cpk_compile_opts *opts, struct cpk_compiled *out, struct cpk_error *err)
{
	struct asm_ctx a;
	struct scp_keys keys;
	struct cpk_buf ea = CPK_BUF_INIT;
	uint8_t hc[SCP_CHALLENGE_LEN];
	const struct gp_aid *aid = profile_sd_aid(p, card);
	uint8_t kvn = profile_sd_kvn(p, card);
	cpk_status ret;

	memset(out, 0, sizeof(*out));
	memset(&a, 0, sizeof(a));
	memset(&keys, 0, sizeof(keys));
	a.out = out;
	a.p = p;
	a.card = card;
	a.keyless = opts->keyless;
	if (p->holder_pin.required && !opts->holder_pin_online && !opts->keyless) {
		ret = cpk_error_set_at(err, CPK_ERR_UNSUPPORTED, p->file, p->holder_pin.loc.line,
		    p->holder_pin.loc.col, "profile '%s' asks for the card holder's PIN "
		    "(holder-pin): only cardc serve, whose agent reads the PIN at the card, can "
		    "provision it; a bundle cannot ask", p->name);
		goto out;
	}
	if ((ret = profile_check_card(p, card, err)) != CPK_OK ||
	    (ret = script_reserve(p, card, &out->script, err)) != CPK_OK ||
	    (ret = opts->keyless ? throwaway_refs(p, card, kvn, &keys, err) :
	    keyset_card_refs(p->keys.set, p->keys.effective_div, card->kdd, &keys,
	    err)) != CPK_OK ||
	    (ret = fill_manifest(p, card, opts, aid, kvn, &out->manifest, err)) != CPK_OK)
		goto out;
	if (p->sd.mode == PROFILE_MODE_OFFLINE) {
		if (opts->host_challenge != NULL)
			memcpy(hc, opts->host_challenge, sizeof(hc));
		else if (opts->challenge_key != NULL)
			ret = cpk_host_challenge_derive(opts->challenge_key, p, card, hc, err);
		else
			ret = gp_random(hc, sizeof(hc), err);
		if (ret != CPK_OK)
			goto out;
		ret = open_offline(&a, &keys, aid, kvn, hc, err);
	} else {
		ret = open_session(&a, &keys, kvn, err);
	}
	if (ret != CPK_OK)
		goto out;
	if ((ret = scp_external_authenticate(&a.s, p->sd.level, &ea, err)) != CPK_OK ||
	    (ret = add_command(out, CPK_CMD_EXT_AUTH | CPK_CMD_SECURED, "EXTERNAL AUTHENTICATE",
	    ea.data, ea.len, &sw_9000, 1, err)) != CPK_OK)
		goto out;
	if ((ret = run_steps(&a, err)) != CPK_OK)
		goto out;
	cpk_script_finish(&out->script, 0, out->ncmds);
	if (!opts->script_only)
		ret = cpk_script_parse(out->script.data, out->script.len, &out->cmds, &out->ncmds,
		    err);
out:
	if (ret != CPK_OK)
		cpk_compiled_free(out);
	scp_session_clear(&a.s);
	cpk_buf_free(&a.w);
	scp_keys_clear(&keys);
	cpk_cleanse(hc, sizeof(hc));
	cpk_buf_free(&ea);
	return ret;
}
