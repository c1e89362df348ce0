/* SPDX-License-Identifier: BSD-2-Clause */
/* cpk: response assembly over any transport (61xx, 6Cxx). */
#include "transport.h"

#include <string.h>

#include "cpk_apdu.h"

/* GET RESPONSE rounds before giving up on a card that never stops. */
#define MAX_GET_RESPONSE 300

/* Send a command; its whole response (data || SW) is appended to resp. */
static cpk_status
raw_append(struct cpk_transport *t, const uint8_t *cmd, size_t n, struct cpk_buf *resp,
    struct cpk_error *err)
{
	size_t before = resp->len, got;
	cpk_status st;

	if ((st = t->ops->transmit(t->ctx, cmd, n, resp, err)) != CPK_OK)
		return st;
	got = resp->len - before;
	if (got == 0)
		return cpk_error_set(err, CPK_ERR_PCSC,
		    "the card gave no answer: it was removed or lost power");
	if (got < 2 || got > CPK_TRANSPORT_MAX_RESPONSE)
		return cpk_error_set(err, CPK_ERR_PARSE,
		    "the card's response has length %zu; expected 2 to %d bytes", got,
		    CPK_TRANSPORT_MAX_RESPONSE);
	return CPK_OK;
}

static cpk_status
raw(struct cpk_transport *t, const uint8_t *cmd, size_t n, struct cpk_buf *resp,
    struct cpk_error *err)
{
	cpk_buf_reset(resp);
	return raw_append(t, cmd, n, resp, err);
}

static uint16_t
last_sw(const struct cpk_buf *b)
{
	return (uint16_t)(b->data[b->len - 2] << 8 | b->data[b->len - 1]);
}

/* Resend a command with Le = le (00 = 256). */
static cpk_status
resend_with_le(struct cpk_transport *t, const uint8_t *cmd, size_t n, uint8_t le,
    struct cpk_buf *resp, struct cpk_error *err)
{
	struct cpk_buf again = CPK_BUF_INIT;
	struct cpk_apdu a;
	cpk_status st;

	if ((st = cpk_apdu_parse(cmd, n, &a, err)) != CPK_OK)
		goto out;
	a.has_le = true;
	a.ne = le == 0 ? 256 : le;
	a.extended = false;
	if ((st = cpk_apdu_build(&a, &again, err)) != CPK_OK)
		goto out;
	st = raw(t, again.data, again.len, resp, err);
out:
	cpk_buf_free(&again);
	return st;
}

cpk_status
cpk_transport_exchange(struct cpk_transport *t, const uint8_t *cmd, size_t n,
    struct cpk_buf *resp, struct cpk_error *err)
{
	uint8_t get[5] = { 0x00, 0xC0, 0x00, 0x00, 0x00 };
	uint16_t sw;
	int rounds;
	cpk_status st;

	if (t == NULL || t->ops == NULL) {
		st = cpk_error_set(err, CPK_ERR_STATE, "no card connection");
		goto out;
	}
	if ((st = raw(t, cmd, n, resp, err)) != CPK_OK)
		goto out;
	sw = last_sw(resp);
	if ((sw >> 8) == 0x6C && n >= 4 && (cmd[0] & 0x04) == 0) {
		if ((st = resend_with_le(t, cmd, n, (uint8_t)sw, resp, err)) != CPK_OK)
			goto out;
		sw = last_sw(resp);
	}
	for (rounds = 0; (sw >> 8) == 0x61; rounds++) {
		if (rounds == MAX_GET_RESPONSE) {
			st = cpk_error_set(err, CPK_ERR_PARSE,
			    "the card kept announcing more data (61xx) after %d GET RESPONSE commands",
			    rounds);
			goto out;
		}
		cpk_buf_truncate(resp, 2);	/* drop 61xx, keep the data */
		get[4] = (uint8_t)sw;
		if ((st = raw_append(t, get, sizeof(get), resp, err)) != CPK_OK)
			goto out;
		if (resp->len > CPK_TRANSPORT_MAX_RESPONSE) {
			st = cpk_error_set(err, CPK_ERR_PARSE,
			    "the card's response exceeds %d bytes", CPK_TRANSPORT_MAX_RESPONSE);
			goto out;
		}
		sw = last_sw(resp);
	}
	st = CPK_OK;
out:
	return st;
}

cpk_status
cpk_transport_begin(struct cpk_transport *t, struct cpk_error *err)
{
	if (t->ops->begin == NULL)
		return CPK_OK;
	return t->ops->begin(t->ctx, err);
}

cpk_status
cpk_transport_end(struct cpk_transport *t, struct cpk_error *err)
{
	if (t->ops->end == NULL)
		return CPK_OK;
	return t->ops->end(t->ctx, err);
}

void
cpk_transport_cancel(struct cpk_transport *t)
{
	if (t != NULL && t->ops != NULL && t->ops->cancel != NULL)
		t->ops->cancel(t->ctx);
}

void
cpk_transport_close(struct cpk_transport *t)
{
	if (t == NULL || t->ops == NULL)
		return;
	if (t->ops->close != NULL)
		t->ops->close(t->ctx);
	memset(t, 0, sizeof(*t));
}
