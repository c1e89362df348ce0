/* SPDX-License-Identifier: BSD-2-Clause */
/* cpk: command and response APDUs. */
#include "cpk_apdu.h"

#include <string.h>

/* "1 data byte but 1 follows", "2 data bytes but 0 follow". */
static const char *
bytes_word(size_t n)
{
	return n == 1 ? "byte" : "bytes";
}

static const char *
follow_word(size_t n)
{
	return n == 1 ? "follows" : "follow";
}

int
cpk_apdu_case(const struct cpk_apdu *a)
{
	if (a->lc == 0)
		return a->has_le ? 2 : 1;
	return a->has_le ? 4 : 3;
}

/*
 * Short form (ISO/IEC 7816-3 12.1.3): byte 5 is a non-zero Lc and `body`
 * (>= 1) bytes follow it: the data, then at most a 1-byte Le.
 */
static cpk_status
parse_short(const uint8_t *p, size_t body, struct cpk_apdu *a, struct cpk_error *err)
{
	size_t lc = p[4];
	cpk_status st;

	if (body < lc) {
		st = cpk_error_set(err, CPK_ERR_PARSE,
		    "command APDU: Lc says %zu data %s but %zu %s", lc, bytes_word(lc),
		    body, follow_word(body));
		goto out;
	}
	if (body > lc + 1) {
		st = cpk_error_set(err, CPK_ERR_PARSE,
		    "command APDU: Lc says %zu data %s but %zu follow "
		    "(at most %zu fit: the data and a 1-byte Le)", lc, bytes_word(lc),
		    body, lc + 1);
		goto out;
	}
	a->lc = lc;
	a->data = p + 5;
	if (body == lc + 1) {
		a->has_le = true;
		a->ne = p[5 + lc] == 0 ? CPK_APDU_SHORT_MAX_NE : p[5 + lc];
	}
	st = CPK_OK;
out:
	return st;
}

/*
 * Extended form: byte 5 is 00 and `body` (>= 2) bytes follow it: either a
 * 2-byte Le alone, or a 2-byte Lc, the data and at most a 2-byte Le.
 */
static cpk_status
parse_extended(const uint8_t *p, size_t body, struct cpk_apdu *a, struct cpk_error *err)
{
	size_t lc, le, rest;
	cpk_status st;

	a->extended = true;
	if (body == 2) {
		/* Case 2E: 00 Le(2), Le 0000 = 65536. */
		le = ((size_t)p[5] << 8) | p[6];
		a->has_le = true;
		a->ne = le == 0 ? CPK_APDU_EXT_MAX_NE : le;
		st = CPK_OK;
		goto out;
	}
	lc = ((size_t)p[5] << 8) | p[6];
	rest = body - 2;
	if (lc == 0) {
		st = cpk_error_set(err, CPK_ERR_PARSE,
		    "command APDU: extended Lc is 0000, but an extended Lc must be "
		    "0001-FFFF when bytes follow it");
		goto out;
	}
	if (rest < lc) {
		st = cpk_error_set(err, CPK_ERR_PARSE,
		    "command APDU: extended Lc says %zu data %s but %zu %s",
		    lc, bytes_word(lc), rest, follow_word(rest));
		goto out;
	}
	if (rest == lc + 1) {
		st = cpk_error_set(err, CPK_ERR_PARSE,
		    "command APDU: extended Le after %zu data %s needs 2 bytes "
		    "but 1 follows", lc, bytes_word(lc));
		goto out;
	}
	if (rest > lc + 2) {
		st = cpk_error_set(err, CPK_ERR_PARSE,
		    "command APDU: extended Lc says %zu data %s but %zu follow "
		    "(at most %zu fit: the data and a 2-byte Le)", lc, bytes_word(lc),
		    rest, lc + 2);
		goto out;
	}
	a->lc = lc;
	a->data = p + 7;
	if (rest == lc + 2) {
		le = ((size_t)p[7 + lc] << 8) | p[8 + lc];
		a->has_le = true;
		a->ne = le == 0 ? CPK_APDU_EXT_MAX_NE : le;
	}
	st = CPK_OK;
out:
	return st;
}

cpk_status
cpk_apdu_parse(const uint8_t *p, size_t n, struct cpk_apdu *a, struct cpk_error *err)
{
	struct cpk_apdu t;
	cpk_status st;

	memset(&t, 0, sizeof(t));
	if (p == NULL && n > 0) {
		st = cpk_error_set(err, CPK_ERR_ARG, "command APDU: no input bytes (NULL)");
		goto out;
	}
	if (n < 4) {
		st = cpk_error_set(err, CPK_ERR_PARSE,
		    "command APDU too short: got %zu of the 4 header bytes "
		    "CLA INS P1 P2", n);
		goto out;
	}
	t.cla = p[0];
	t.ins = p[1];
	t.p1 = p[2];
	t.p2 = p[3];
	if (n == 4) {
		/* Case 1. */
		st = CPK_OK;
	} else if (n == 5) {
		/* Case 2S: Le 00 = 256. */
		t.has_le = true;
		t.ne = p[4] == 0 ? CPK_APDU_SHORT_MAX_NE : p[4];
		st = CPK_OK;
	} else if (p[4] != 0) {
		st = parse_short(p, n - 5, &t, err);
	} else if (n == 6) {
		st = cpk_error_set(err, CPK_ERR_PARSE,
		    "command APDU: byte 5 is 00 (extended length) but only 1 of "
		    "the 2 length bytes follows");
	} else {
		st = parse_extended(p, n - 5, &t, err);
	}
	if (st != CPK_OK)
		goto out;
	if (t.lc == 0)
		t.data = NULL;
	*a = t;
out:
	return st;
}

cpk_status
cpk_apdu_build(const struct cpk_apdu *a, struct cpk_buf *out, struct cpk_error *err)
{
	uint8_t hdr[7], trailer[2];
	size_t hdr_len = 4, trailer_len = 0, ne;
	bool extended;
	cpk_status st;

	if (a->lc > CPK_APDU_EXT_MAX_LC) {
		st = cpk_error_set(err, CPK_ERR_RANGE,
		    "command APDU: Lc %zu is larger than %d", a->lc, CPK_APDU_EXT_MAX_LC);
		goto out;
	}
	if (a->data == NULL && a->lc > 0) {
		st = cpk_error_set(err, CPK_ERR_ARG,
		    "command APDU: Lc is %zu but there is no data", a->lc);
		goto out;
	}
	ne = a->has_le ? a->ne : 0;
	if (a->has_le && ne == 0) {
		st = cpk_error_set(err, CPK_ERR_ARG,
		    "command APDU: Le present but expected length is 0 (use 1-%d)",
		    CPK_APDU_EXT_MAX_NE);
		goto out;
	}
	if (ne > CPK_APDU_EXT_MAX_NE) {
		st = cpk_error_set(err, CPK_ERR_RANGE,
		    "command APDU: expected length %zu is larger than %d", ne,
		    CPK_APDU_EXT_MAX_NE);
		goto out;
	}
	extended = a->extended || a->lc > CPK_APDU_SHORT_MAX_LC ||
	    ne > CPK_APDU_SHORT_MAX_NE;

	hdr[0] = a->cla;
	hdr[1] = a->ins;
	hdr[2] = a->p1;
	hdr[3] = a->p2;
	if (extended && (a->lc > 0 || a->has_le))
		hdr[hdr_len++] = 0x00;
	if (a->lc > 0) {
		if (extended) {
			cpk_put_u16be(hdr + hdr_len, (uint16_t)a->lc);
			hdr_len += 2;
		} else
			hdr[hdr_len++] = (uint8_t)a->lc;
	}
	if (a->has_le) {
		/* 256 (short) and 65536 (extended) are encoded as zeros. */
		if (extended) {
			cpk_put_u16be(trailer, (uint16_t)(ne == CPK_APDU_EXT_MAX_NE ? 0 : ne));
			trailer_len = 2;
		} else {
			trailer[0] = (uint8_t)(ne == CPK_APDU_SHORT_MAX_NE ? 0 : ne);
			trailer_len = 1;
		}
	}
	/* Reserve everything first so that a failure leaves out unchanged. */
	if ((st = cpk_buf_reserve(out, hdr_len + a->lc + trailer_len, err)) != CPK_OK)
		goto out;
	if ((st = cpk_buf_append(out, hdr, hdr_len, err)) != CPK_OK ||
	    (st = cpk_buf_append(out, a->data, a->lc, err)) != CPK_OK ||
	    (st = cpk_buf_append(out, trailer, trailer_len, err)) != CPK_OK)
		goto out;
	st = CPK_OK;
out:
	return st;
}

cpk_status
cpk_rapdu_parse(const uint8_t *p, size_t n, struct cpk_rapdu *r, struct cpk_error *err)
{
	cpk_status st;

	if (p == NULL && n > 0) {
		st = cpk_error_set(err, CPK_ERR_ARG, "response APDU: no input bytes (NULL)");
		goto out;
	}
	if (n < 2) {
		st = cpk_error_set(err, CPK_ERR_PARSE,
		    "response APDU too short: got %zu of the 2 status word bytes "
		    "SW1 SW2", n);
		goto out;
	}
	r->len = n - 2;
	r->data = r->len > 0 ? p : NULL;
	r->sw = (uint16_t)((p[n - 2] << 8) | p[n - 1]);
	st = CPK_OK;
out:
	return st;
}
