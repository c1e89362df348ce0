/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: PC/SC transport over pcsc-lite. One connection, one transaction
 * around the whole run, explicit handling of removed and reset cards and of
 * a missing service.
 */
#include "pcsc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <PCSC/winscard.h>
#include <PCSC/wintypes.h>
#include <PCSC/reader.h>

#include "cpk_apdu.h"
#include "cpk_bytes.h"
#include "pinpad.h"

struct pcsc_ctx {
	SCARDCONTEXT context;
	SCARDHANDLE card;
	DWORD protocol;
	bool context_ok, card_ok;
	unsigned transaction_depth;	/* nested begin/end: only the outermost talks to pcscd */
};

const char *
cpk_pcsc_describe(long code)
{
	switch ((LONG)code) {
	case (LONG)SCARD_E_NO_SERVICE:
	case (LONG)SCARD_E_SERVICE_STOPPED:
		return "the smart-card service (pcscd) is not running";
	case (LONG)SCARD_E_NO_READERS_AVAILABLE:
		return "no smart-card reader is connected";
	case (LONG)SCARD_E_UNKNOWN_READER:
	case (LONG)SCARD_E_READER_UNAVAILABLE:
		return "the reader is not available (unplugged?)";
	case (LONG)SCARD_W_REMOVED_CARD:
	case (LONG)SCARD_E_NOT_TRANSACTED:
		return "the card was removed from the reader";
	case (LONG)SCARD_E_NO_SMARTCARD:
		return "there is no card in the reader (removed?)";
	case (LONG)SCARD_W_RESET_CARD:
		return "the card was reset by another program";
	case (LONG)SCARD_W_UNRESPONSIVE_CARD:
	case (LONG)SCARD_W_UNPOWERED_CARD:
		return "the card does not respond (inserted the right way round?)";
	case (LONG)SCARD_E_SHARING_VIOLATION:
		return "another program is using the card";
	case (LONG)SCARD_E_TIMEOUT:
		return "the reader timed out";
	case (LONG)SCARD_E_PROTO_MISMATCH:
		return "the card and reader share no protocol";
	case (LONG)SCARD_F_COMM_ERROR:
		return "communication with the reader failed";
	}
	return pcsc_stringify_error((LONG)code);
}

bool
cpk_pcsc_no_service(long code)
{
	return (LONG)code == (LONG)SCARD_E_NO_SERVICE || (LONG)code == (LONG)SCARD_E_SERVICE_STOPPED;
}

static cpk_status
pcsc_error(struct cpk_error *err, LONG rv, const char *what)
{
	cpk_status st = cpk_error_set(err, CPK_ERR_PCSC, "%s: %s (0x%08lX)", what,
	    cpk_pcsc_describe(rv), (unsigned long)(uint32_t)rv);

	if (err != NULL)
		err->pcsc = (long)rv;
	return st;
}

/* Multi-string reader list; *names freed by the caller. */
static cpk_status
list_names(SCARDCONTEXT ctx, char **names, DWORD *len, struct cpk_error *err)
{
	LONG rv;

	*names = NULL;
	*len = 0;
	rv = SCardListReaders(ctx, NULL, NULL, len);
	if (rv == (LONG)SCARD_E_NO_READERS_AVAILABLE) {
		*len = 0;
		return CPK_OK;
	}
	if (rv != SCARD_S_SUCCESS)
		return pcsc_error(err, rv, "listing readers");
	if (*len == 0 || *len > 64 * 1024)
		return cpk_error_set(err, CPK_ERR_PCSC, "reader list of %lu bytes", (unsigned long)*len);
	if ((*names = calloc(1, *len + 1)) == NULL)
		return cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
	rv = SCardListReaders(ctx, NULL, *names, len);
	if (rv == (LONG)SCARD_E_NO_READERS_AVAILABLE) {
		*len = 0;
		return CPK_OK;
	}
	if (rv != SCARD_S_SUCCESS) {
		free(*names);
		*names = NULL;
		return pcsc_error(err, rv, "listing readers");
	}
	return CPK_OK;
}

static cpk_status
list_with_context(SCARDCONTEXT ctx, struct cpk_reader_info *out, size_t cap, size_t *count,
    struct cpk_error *err)
{
	SCARD_READERSTATE states[CPK_PCSC_MAX_READERS];
	char *names = NULL, *p;
	DWORD len;
	size_t n = 0, i;
	LONG rv;
	cpk_status st;

	*count = 0;
	if ((st = list_names(ctx, &names, &len, err)) != CPK_OK || len == 0)
		goto out;
	memset(states, 0, sizeof(states));
	for (p = names; (size_t)(p - names) < len && *p != '\0'; p += strlen(p) + 1) {
		if (n == cap || n == CPK_PCSC_MAX_READERS)
			break;
		memset(&out[n], 0, sizeof(out[n]));
		snprintf(out[n].name, sizeof(out[n].name), "%s", p);
		states[n].szReader = p;
		states[n].dwCurrentState = SCARD_STATE_UNAWARE;
		n++;
	}
	if (n > 0) {
		rv = SCardGetStatusChange(ctx, 0, states, (DWORD)n);
		if (rv != SCARD_S_SUCCESS && rv != (LONG)SCARD_E_TIMEOUT) {
			st = pcsc_error(err, rv, "reading reader states");
			goto out;
		}
	}
	for (i = 0; i < n; i++) {
		out[i].card_present = (states[i].dwEventState & SCARD_STATE_PRESENT) != 0;
		out[i].in_use = (states[i].dwEventState & SCARD_STATE_EXCLUSIVE) != 0;
		if (out[i].card_present && states[i].cbAtr <= CPK_PCSC_MAX_ATR) {
			memcpy(out[i].atr, states[i].rgbAtr, states[i].cbAtr);
			out[i].atr_len = states[i].cbAtr;
		}
	}
	*count = n;
	st = CPK_OK;
out:
	free(names);
	return st;
}

cpk_status
cpk_pcsc_list(struct cpk_reader_info *out, size_t cap, size_t *count, struct cpk_error *err)
{
	SCARDCONTEXT ctx;
	LONG rv;
	cpk_status st;

	*count = 0;
	rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx);
	if (rv != SCARD_S_SUCCESS)
		return pcsc_error(err, rv, "connecting to the smart-card service");
	st = list_with_context(ctx, out, cap, count, err);
	SCardReleaseContext(ctx);
	return st;
}

/* "A", "B" and "C" for messages. */
static void
join_names(const struct cpk_reader_info *r, size_t n, char *out, size_t cap)
{
	size_t i, used = 0;
	int w;

	out[0] = '\0';
	for (i = 0; i < n && used < cap; i++) {
		w = snprintf(out + used, cap - used, "%s'%s'%s", i == 0 ? "" : ", ", r[i].name,
		    r[i].card_present ? " (card)" : " (empty)");
		if (w < 0)
			break;
		used += (size_t)w;
	}
}

static cpk_status
choose_reader(const struct cpk_reader_info *r, size_t n, const char *want, size_t *pick,
    struct cpk_error *err)
{
	char list[1024];
	size_t i, hits = 0;

	join_names(r, n, list, sizeof(list));
	if (n == 0)
		return cpk_error_set(err, CPK_ERR_PCSC, "no smart-card reader is connected");
	if (want != NULL && *want != '\0') {
		for (i = 0; i < n; i++)
			if (strcmp(r[i].name, want) == 0) {
				*pick = i;
				return CPK_OK;
			}
		for (i = 0; i < n; i++)
			if (strstr(r[i].name, want) != NULL) {
				*pick = i;
				hits++;
			}
		if (hits == 1)
			return CPK_OK;
		return cpk_error_set(err, CPK_ERR_PCSC, "%s reader matches '%s'; readers: %s",
		    hits == 0 ? "no" : "more than one", want, list);
	}
	for (i = 0; i < n; i++)
		if (r[i].card_present) {
			*pick = i;
			hits++;
		}
	if (hits == 1)
		return CPK_OK;
	return cpk_error_set(err, CPK_ERR_PCSC, hits == 0 ?
	    "no card in any reader; readers: %s" :
	    "cards in more than one reader, choose one with -r; readers: %s", list);
}

static cpk_status
pcsc_transmit(void *vctx, const uint8_t *cmd, size_t n, struct cpk_buf *resp,
    struct cpk_error *err)
{
	struct pcsc_ctx *c = vctx;
	const SCARD_IO_REQUEST *pci = c->protocol == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 :
	    SCARD_PCI_T1;
	DWORD rlen = CPK_TRANSPORT_MAX_RESPONSE;
	cpk_status st;
	LONG rv;

	if (!c->card_ok)
		return cpk_error_set(err, CPK_ERR_STATE, "no card connection");
	if (n > CPK_APDU_MAX_LEN)
		return cpk_error_set(err, CPK_ERR_RANGE, "command of %zu bytes", n);
	if ((st = cpk_buf_reserve(resp, CPK_TRANSPORT_MAX_RESPONSE, err)) != CPK_OK)
		return st;
	rv = SCardTransmit(c->card, pci, cmd, (DWORD)n, NULL, resp->data + resp->len, &rlen);
	if (rv != SCARD_S_SUCCESS)
		return pcsc_error(err, rv, "sending a command to the card");
	if (rlen > CPK_TRANSPORT_MAX_RESPONSE)
		return cpk_error_set(err, CPK_ERR_PCSC, "response of %lu bytes", (unsigned long)rlen);
	resp->len += rlen;
	return CPK_OK;
}

static cpk_status
pcsc_begin(void *vctx, struct cpk_error *err)
{
	struct pcsc_ctx *c = vctx;
	LONG rv;

	if (c->transaction_depth == 0) {
		rv = SCardBeginTransaction(c->card);
		if (rv != SCARD_S_SUCCESS)
			return pcsc_error(err, rv, "reserving the card");
	}
	c->transaction_depth++;
	return CPK_OK;
}

static cpk_status
pcsc_end(void *vctx, struct cpk_error *err)
{
	struct pcsc_ctx *c = vctx;
	LONG rv;

	if (c->transaction_depth == 0 || --c->transaction_depth > 0)
		return CPK_OK;
	rv = SCardEndTransaction(c->card, SCARD_LEAVE_CARD);
	/* A card removed or reset meanwhile has no transaction left to end. */
	if (rv != SCARD_S_SUCCESS && rv != (LONG)SCARD_W_REMOVED_CARD &&
	    rv != (LONG)SCARD_W_RESET_CARD && rv != (LONG)SCARD_E_NO_SMARTCARD &&
	    rv != (LONG)SCARD_E_INVALID_HANDLE)
		return pcsc_error(err, rv, "releasing the card");
	return CPK_OK;
}

/*
 * SCardCancel is pcsc-lite's way for another thread to end a blocking call
 * on the context (it talks to pcscd over a connection of its own). pcscd
 * 1.9 ends a waiting SCardGetStatusChange with it; a SCardTransmit to a
 * card that stopped answering is not ended, which the caller must expect.
 */
static void
pcsc_cancel(void *vctx)
{
	struct pcsc_ctx *c = vctx;

	if (c != NULL && c->context_ok)
		(void)SCardCancel(c->context);
}

static void
pcsc_close(void *vctx)
{
	struct pcsc_ctx *c = vctx;

	if (c == NULL)
		return;
	if (c->transaction_depth > 0)
		(void)SCardEndTransaction(c->card, SCARD_LEAVE_CARD);
	if (c->card_ok)
		(void)SCardDisconnect(c->card, SCARD_LEAVE_CARD);
	if (c->context_ok)
		(void)SCardReleaseContext(c->context);
	free(c);
}

static const struct cpk_transport_ops pcsc_ops = {
	.transmit = pcsc_transmit,
	.begin = pcsc_begin,
	.end = pcsc_end,
	.cancel = pcsc_cancel,
	.close = pcsc_close,
};

/* The connected card's ATR (what identify reads the card capabilities from); none if unknown. */
static void
card_atr(struct pcsc_ctx *c, struct cpk_transport *t)
{
	char name[256];
	DWORD namelen = sizeof(name), state = 0, proto = 0, atrlen = sizeof(t->atr);

	if (SCardStatus(c->card, name, &namelen, &state, &proto, t->atr, &atrlen) ==
	    SCARD_S_SUCCESS && atrlen <= sizeof(t->atr))
		t->atr_len = atrlen;
	else
		t->atr_len = 0;
}

cpk_status
cpk_pcsc_pinpad(struct cpk_transport *t, uint32_t *code, struct cpk_error *err)
{
	struct pcsc_ctx *c;
	struct cpk_pinpad_features f;
	uint8_t buf[CPK_PINPAD_FEATURES_MAX];
	DWORD len = 0;
	LONG rv;
	cpk_status st;

	*code = 0;
	if (t == NULL || t->ops != &pcsc_ops || (c = t->ctx) == NULL || !c->card_ok)
		return CPK_OK;
	rv = SCardControl(c->card, CM_IOCTL_GET_FEATURE_REQUEST, NULL, 0, buf, sizeof(buf), &len);
	if (rv != SCARD_S_SUCCESS)
		return CPK_OK;	/* a reader without part 10 features: no PIN pad */
	if ((st = cpk_pinpad_features_parse(buf, len > sizeof(buf) ? sizeof(buf) + 1 : len, &f,
	    err)) != CPK_OK)
		return st;
	*code = f.code[CPK_FEATURE_VERIFY_PIN_DIRECT];
	return CPK_OK;
}

cpk_status
cpk_pcsc_pinpad_verify(struct cpk_transport *t, uint32_t code, uint8_t reference,
    struct cpk_buf *resp, struct cpk_error *err)
{
	struct pcsc_ctx *c;
	struct cpk_buf in = CPK_BUF_INIT;
	DWORD len = 0;
	LONG rv;
	cpk_status st;

	if (t == NULL || t->ops != &pcsc_ops || (c = t->ctx) == NULL || !c->card_ok)
		return cpk_error_set(err, CPK_ERR_STATE, "no PC/SC card connection for the PIN pad");
	cpk_buf_reset(resp);
	if ((st = cpk_pinpad_verify_structure(reference, &in, err)) != CPK_OK ||
	    (st = cpk_buf_reserve(resp, 258, err)) != CPK_OK)
		goto out;
	rv = SCardControl(c->card, (DWORD)code, in.data, (DWORD)in.len, resp->data, 258, &len);
	if (rv != SCARD_S_SUCCESS) {
		st = pcsc_error(err, rv, "verifying the card holder's PIN on the reader's PIN pad");
		goto out;
	}
	if (len < 2 || len > 258) {
		st = cpk_error_set(err, CPK_ERR_PCSC, "the PIN pad answered %lu bytes, not a status "
		    "word", (unsigned long)len);
		goto out;
	}
	resp->len = len;
out:
	cpk_buf_free(&in);
	return st;
}

cpk_status
cpk_pcsc_open(const char *want, struct cpk_transport *t, struct cpk_error *err)
{
	struct cpk_reader_info readers[CPK_PCSC_MAX_READERS];
	struct pcsc_ctx *c = NULL;
	size_t n = 0, pick = 0;
	LONG rv;
	cpk_status st;

	memset(t, 0, sizeof(*t));
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		st = cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &c->context);
	if (rv != SCARD_S_SUCCESS) {
		st = pcsc_error(err, rv, "connecting to the smart-card service");
		goto out;
	}
	c->context_ok = true;
	if ((st = list_with_context(c->context, readers, CPK_PCSC_MAX_READERS, &n, err)) != CPK_OK ||
	    (st = choose_reader(readers, n, want, &pick, err)) != CPK_OK)
		goto out;
	rv = SCardConnect(c->context, readers[pick].name, SCARD_SHARE_SHARED,
	    SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &c->card, &c->protocol);
	if (rv != SCARD_S_SUCCESS) {
		st = pcsc_error(err, rv, "connecting to the card");
		cpk_error_prefix(err, "reader '%s'", readers[pick].name);
		goto out;
	}
	c->card_ok = true;
	card_atr(c, t);
	t->ops = &pcsc_ops;
	t->ctx = c;
	snprintf(t->name, sizeof(t->name), "%s", readers[pick].name);
	c = NULL;
	st = CPK_OK;
out:
	pcsc_close(c);
	return st;
}
