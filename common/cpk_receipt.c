/* SPDX-License-Identifier: BSD-2-Clause */
/* cpk: the receipt format's shared definitions (see cpk_receipt.h). */
#include "cpk_receipt.h"

#include <string.h>

static const struct {
	enum cpk_receipt_stop stop;
	const char *name;
} stops[] = {
	{ CPK_RECEIPT_DONE, "done" },
	{ CPK_RECEIPT_REFUSED, "refused" },
	{ CPK_RECEIPT_MISMATCH, "mismatch" },
	{ CPK_RECEIPT_CARD_GONE, "card-gone" },
	{ CPK_RECEIPT_INTERRUPTED, "interrupted" },
	{ CPK_RECEIPT_NOT_SENT, "not-sent" },
};

const char *
cpk_receipt_stop_name(enum cpk_receipt_stop s)
{
	size_t i;

	for (i = 0; i < sizeof(stops) / sizeof(stops[0]); i++)
		if (stops[i].stop == s)
			return stops[i].name;
	return "?";
}

bool
cpk_receipt_stop_parse(const char *s, enum cpk_receipt_stop *out)
{
	size_t i;

	for (i = 0; i < sizeof(stops) / sizeof(stops[0]); i++)
		if (strcmp(stops[i].name, s) == 0) {
			*out = stops[i].stop;
			return true;
		}
	return false;
}
