/* SPDX-License-Identifier: BSD-2-Clause */
/* cpk: the lines of a cards file (card.h), for cardc batch and cardc check. */
#include "card.h"

#include <string.h>

bool
card_line_blank(const char *line, size_t len)
{
	size_t i;

	for (i = 0; i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'); i++)
		;
	return i == len || line[i] == '#';
}

bool
card_line_json(const char *line, size_t len)
{
	size_t i;

	for (i = 0; i < len && (line[i] == ' ' || line[i] == '\t'); i++)
		;
	return i < len && line[i] == '{';
}

cpk_status
card_parse_line(const struct card_csv_header *h, bool json, const char *name, unsigned lineno,
    const char *line, size_t len, struct card_record *out, struct cpk_error *err)
{
	char msg[sizeof(err->msg)];
	cpk_status st;

	if (len > CARD_LINE_MAX)
		return cpk_error_set_at(err, CPK_ERR_RANGE, name, lineno, 0,
		    "record of more than %d bytes", CARD_LINE_MAX);
	st = json ? card_parse_json(name, lineno, line, len, out, err) :
	    card_parse_csv(h, name, lineno, line, len, out, err);
	if (st != CPK_OK && err != NULL && err->line == 0) {
		memcpy(msg, err->msg, sizeof(msg));
		st = cpk_error_set_at(err, st, name, lineno, 0, "%s", msg);
	}
	return st;
}
