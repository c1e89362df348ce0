/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: the LOAD block size of `block-size: max` for one card: as large as
 * the card's record (max-command) and the secure channel (C-MAC, C-DEC
 * padding) allow, and a refusal that says what the card can take when the
 * load file does not fit 256 LOAD commands (block numbers 00-FF).
 */
#include "profile.h"

#include <stdbool.h>
#include <stdio.h>

#include "cpk_apdu.h"
#include "gp_cmd.h"

#define LOAD_MAX_COMMANDS 256

/* 512000 -> "512,000" (out holds at least 32 bytes). */
static const char *
thousands(size_t v, char out[32])
{
	char digits[32];
	int n = snprintf(digits, sizeof(digits), "%zu", v), i, k = 0;

	for (i = 0; i < n; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			out[k++] = ',';
		out[k++] = digits[i];
	}
	out[k] = '\0';
	return out;
}

cpk_status
profile_load_block(const struct profile *p, const struct profile_load *l,
    const struct card_record *card, size_t *block, struct cpk_error *err)
{
	size_t b, count;
	bool is_short;
	char have[32], can[32], kind[48], why[64];

	*block = l->block;
	if (!l->block_max)
		return CPK_OK;
	b = scp_max_plain_data(p->sd.scp, p->sd.level, card_max_lc(card));
	if (gp_load_block_count(l->load_file.len, b, &count, NULL) == CPK_OK) {
		*block = b;
		return CPK_OK;
	}
	/* (SCP02 with R-MAC, short whatever the card, is refused by profile_check.) */
	is_short = b <= scp_max_plain_data(p->sd.scp, p->sd.level, CPK_APDU_SHORT_MAX_LC);
	if (card->max_command <= CPK_APDU_SHORT_MAX_LEN)
		snprintf(why, sizeof(why), "no extended length in its card record");
	else
		snprintf(why, sizeof(why), "max-command %zu in its card record", card->max_command);
	if (is_short)
		snprintf(kind, sizeof(kind), "short LOAD commands");
	else
		snprintf(kind, sizeof(kind), "LOAD commands of %zu bytes", b);
	return cpk_error_set_at(err, CPK_ERR_RANGE, p->file, l->loc_block.line, l->loc_block.col,
	    "load file is %s bytes; this card takes at most %s bytes in %d %s at level %02X (%s)",
	    thousands(l->load_file.len, have), thousands(b * LOAD_MAX_COMMANDS, can),
	    LOAD_MAX_COMMANDS, kind, p->sd.level, why);
}
