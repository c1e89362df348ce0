/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: the card holder's PIN: the VERIFY APDU, the reader's PIN pad
 * features and PIN_VERIFY_STRUCTURE (see pinpad.h).
 */
#include "pinpad.h"

#include <string.h>

/* The VERIFY header and FF padding: the PIN pad fills in the digits. */
static void
verify_template(uint8_t reference, uint8_t apdu[CPK_HOLDER_VERIFY_LEN])
{
	apdu[0] = 0x00;
	apdu[1] = 0x20;
	apdu[2] = 0x00;
	apdu[3] = reference;
	apdu[4] = CPK_HOLDER_PIN_MAX;
	memset(apdu + 5, 0xFF, CPK_HOLDER_PIN_MAX);
}

cpk_status
cpk_holder_verify_apdu(uint8_t reference, const char *pin, size_t n,
    uint8_t apdu[CPK_HOLDER_VERIFY_LEN], struct cpk_error *err)
{
	size_t i;

	if (n < CPK_HOLDER_PIN_MIN || n > CPK_HOLDER_PIN_MAX)
		return cpk_error_set(err, CPK_ERR_ARG, "the card holder's PIN has %zu digits (%d "
		    "to %d)", n, CPK_HOLDER_PIN_MIN, CPK_HOLDER_PIN_MAX);
	for (i = 0; i < n; i++)
		if (pin[i] < '0' || pin[i] > '9')
			return cpk_error_set(err, CPK_ERR_ARG, "the card holder's PIN is digits "
			    "only (character %zu is not)", i + 1);
	verify_template(reference, apdu);
	memcpy(apdu + 5, pin, n);
	return CPK_OK;
}

cpk_status
cpk_pinpad_features_parse(const uint8_t *p, size_t n, struct cpk_pinpad_features *out,
    struct cpk_error *err)
{
	size_t i = 0;
	uint8_t tag;

	memset(out, 0, sizeof(*out));
	if (n > CPK_PINPAD_FEATURES_MAX)
		return cpk_error_set(err, CPK_ERR_PARSE, "the reader lists %zu bytes of features "
		    "(at most %d)", n, CPK_PINPAD_FEATURES_MAX);
	while (i < n) {
		if (n - i < 2)
			return cpk_error_set(err, CPK_ERR_PARSE, "the reader's feature list ends "
			    "inside an entry (offset %zu)", i);
		tag = p[i];
		if (p[i + 1] != 4)
			return cpk_error_set(err, CPK_ERR_PARSE, "the reader's feature %02X has a "
			    "%u-byte value (a control code has 4)", tag, p[i + 1]);
		if (n - i - 2 < 4)
			return cpk_error_set(err, CPK_ERR_PARSE, "the reader's feature %02X is cut "
			    "short", tag);
		if (tag <= CPK_FEATURE_TAG_MAX) {
			if (out->code[tag] != 0)
				return cpk_error_set(err, CPK_ERR_PARSE, "the reader lists feature "
				    "%02X twice", tag);
			out->code[tag] = (uint32_t)p[i + 2] << 24 | (uint32_t)p[i + 3] << 16 |
			    (uint32_t)p[i + 4] << 8 | p[i + 5];
			if (out->code[tag] == 0)
				return cpk_error_set(err, CPK_ERR_PARSE, "the reader's feature %02X "
				    "has control code 0", tag);
		}
		i += 6;
	}
	return CPK_OK;
}

static cpk_status
put_le(struct cpk_buf *out, uint32_t v, size_t bytes, struct cpk_error *err)
{
	size_t i;
	cpk_status st = CPK_OK;

	for (i = 0; i < bytes && st == CPK_OK; i++)
		st = cpk_buf_append_byte(out, (uint8_t)(v >> (8 * i)), err);
	return st;
}

cpk_status
cpk_pinpad_verify_structure(uint8_t reference, struct cpk_buf *out, struct cpk_error *err)
{
	uint8_t apdu[CPK_HOLDER_VERIFY_LEN];
	/*
	 * bTimerOut, bTimerOut2: 30 s for the holder; bmFormatString 82: the
	 * PIN at byte 0 of the data, left justified, ASCII; bmPINBlockString
	 * 08: an 8-byte PIN block (the FF padding stays); bmPINLengthFormat
	 * 00: no length field.
	 */
	static const uint8_t head[] = { 30, 0, 0x82, CPK_HOLDER_PIN_MAX, 0x00 };
	cpk_status st;

	verify_template(reference, apdu);
	cpk_buf_reset(out);
	if ((st = cpk_buf_append(out, head, sizeof(head), err)) != CPK_OK ||
	    /* wPINMaxExtraDigit: minimum (high byte), maximum (low byte) digits. */
	    (st = put_le(out, (uint32_t)CPK_HOLDER_PIN_MIN << 8 | CPK_HOLDER_PIN_MAX, 2, err)) !=
	    CPK_OK ||
	    /* bEntryValidationCondition 02: the OK key; bNumberMessage 01. */
	    (st = cpk_buf_append(out, "\x02\x01", 2, err)) != CPK_OK ||
	    (st = put_le(out, 0x0409, 2, err)) != CPK_OK ||	/* wLangId: English */
	    (st = cpk_buf_append(out, "\x00\x00\x00\x00", 4, err)) != CPK_OK ||	/* bMsgIndex, bTeoPrologue */
	    (st = put_le(out, sizeof(apdu), 4, err)) != CPK_OK)	/* ulDataLength */
		return st;
	return cpk_buf_append(out, apdu, sizeof(apdu), err);
}
