/* SPDX-License-Identifier: BSD-2-Clause */
/* cpk: streaming a bundle to a card (see stream.h). */
#include "stream.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cpk_sw.h"

static uint64_t
now_usec(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint16_t
resp_sw(const struct cpk_buf *resp)
{
	return (uint16_t)(resp->data[resp->len - 2] << 8 | resp->data[resp->len - 1]);
}

/* The card refused command i: record it and describe it. */
static cpk_status
refused(const struct cpk_command *c, size_t i, uint16_t sw, struct cpk_stream_result *r,
    struct cpk_error *err)
{
	char meaning[160];

	r->index = i;
	r->sw = sw;
	r->stop = (c->flags & (CPK_CMD_SECURED | CPK_CMD_EXT_AUTH)) ? CPK_STOP_REFUSED :
	    CPK_STOP_PRE_CHANNEL;
	cpk_sw_describe(sw, meaning, sizeof(meaning));
	cpk_error_set(err, CPK_ERR_CARD, "command %zu (%s) refused with %04X: %s", i + 1,
	    c->label, sw, meaning);
	if (err != NULL)
		err->sw = sw;
	return CPK_ERR_CARD;
}

static cpk_status
send_one(struct cpk_transport *t, const struct cpk_bundle *b, size_t i,
    const struct cpk_stream_hooks *h, struct cpk_buf *resp, struct cpk_stream_result *r,
    struct cpk_error *err)
{
	const struct cpk_command *c = cpk_bundle_command(b, i);
	uint64_t t0;
	uint16_t sw;
	cpk_status st;

	if (h != NULL && h->before != NULL)
		h->before(h->ctx, i, c);
	t0 = now_usec();
	r->sent++;
	if ((st = cpk_transport_exchange(t, c->apdu, c->apdu_len, resp, err)) != CPK_OK) {
		r->stop = CPK_STOP_TRANSPORT;
		r->index = i;
		cpk_error_prefix(err, "command %zu (%s)", i + 1, c->label);
		return st;
	}
	if (h != NULL && h->after != NULL)
		h->after(h->ctx, i, c, resp->data, resp->len, now_usec() - t0);
	sw = resp_sw(resp);
	if (!cpk_command_accepts(c, sw))
		return refused(c, i, sw, r, err);
	if (c->flags & CPK_CMD_INIT_UPDATE) {
		st = cpk_iu_compare(cpk_bundle_manifest(b), resp->data, resp->len - 2, &r->iu, err);
		if (st != CPK_OK) {
			r->stop = CPK_STOP_MISMATCH;
			r->index = i;
			r->sw = sw;
			return st;
		}
	}
	if (c->flags & CPK_CMD_EXT_AUTH)
		r->channel_open = true;
	r->accepted++;
	return CPK_OK;
}

cpk_status
cpk_stream_run(struct cpk_transport *t, const struct cpk_bundle *b,
    const struct cpk_stream_hooks *h, struct cpk_stream_result *r, struct cpk_error *err)
{
	struct cpk_buf resp = CPK_BUF_INIT;
	struct cpk_error end_err;
	size_t i, n = cpk_bundle_command_count(b);
	cpk_status st, st2;

	memset(r, 0, sizeof(*r));
	if ((st = cpk_transport_begin(t, err)) != CPK_OK) {
		r->stop = CPK_STOP_TRANSPORT;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (h != NULL && h->stop != NULL && *h->stop != 0) {
			r->stop = CPK_STOP_INTERRUPTED;
			r->index = i;
			st = cpk_error_set(err, CPK_ERR_INTERRUPTED,
			    "stopped on request before command %zu of %zu", i + 1, n);
			break;
		}
		if ((st = send_one(t, b, i, h, &resp, r, err)) != CPK_OK)
			break;
	}
	/*
	 * Every command was accepted (or the run stopped for its own reason):
	 * a failure to release the card does not change what the card did.
	 */
	cpk_error_clear(&end_err);
	st2 = cpk_transport_end(t, &end_err);
	if (st == CPK_OK && st2 != CPK_OK) {
		r->release_failed = true;
		snprintf(r->release_msg, sizeof(r->release_msg), "%s", end_err.msg);
	}
out:
	cpk_buf_free(&resp);
	return st;
}
