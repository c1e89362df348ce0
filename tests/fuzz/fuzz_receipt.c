/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzz target: receipts (cpk-receipt(5)), receipt_parse (compiler/receipt.h).
 *
 * A receipt comes from a loader without a key and may have been edited by
 * anybody, so:
 * - the outcome is the same whether or not the caller passes an error
 *   structure, and a refusal gives no receipt and a message that starts
 *   "receipt: ";
 * - an accepted receipt is format 1 and within its limits: at most 32768
 *   answers numbered from 1, each label a bundle label (1..64 bytes without
 *   control characters), each response at most 256 bytes before its SW,
 *   byte strings of their lengths, a stop reason of the format; and the
 *   same bytes parse again to the same answers.
 */
#include <stdbool.h>
#include <string.h>

#include "cpk_text.h"
#include "fuzz.h"
#include "receipt.h"

static void
check_accepted(const struct receipt *r)
{
	const struct receipt_command *c;
	size_t i, len;

	FUZZ_CHECK(r->format == CPK_RECEIPT_FORMAT);
	FUZZ_CHECK(r->ncmds <= CPK_SCRIPT_MAX_COMMANDS);
	FUZZ_CHECK(r->ncmds == 0 || r->cmds != NULL);
	FUZZ_CHECK(r->commands <= CPK_SCRIPT_MAX_COMMANDS);
	FUZZ_CHECK(strcmp(cpk_receipt_stop_name(r->stop), "?") != 0);
	FUZZ_CHECK(r->stop_index <= CPK_SCRIPT_MAX_COMMANDS);
	for (i = 0; i < r->ncmds; i++) {
		c = &r->cmds[i];
		len = strlen(c->label);
		FUZZ_CHECK(c->index >= 1 && c->index <= CPK_SCRIPT_MAX_COMMANDS);
		FUZZ_CHECK(len >= 1 && len <= CPK_LABEL_MAX);
		FUZZ_CHECK(cpk_label_bad_offset(c->label, len) == len);
		FUZZ_CHECK(c->data_len <= CPK_RECEIPT_RESPONSE_MAX - 2);
	}
	FUZZ_CHECK(r->card.present || (r->card.iu_len == 0 && !r->card.has_kdd));
	FUZZ_CHECK(r->card.iu_len == 0 || (r->card.iu_len >= 28 && r->card.iu_len <= 32));
	FUZZ_CHECK(r->card.counter_len == 0 || r->card.counter_len == 2 ||
	    r->card.counter_len == 3);
	FUZZ_CHECK(r->card.cplc_len <= CPK_RECEIPT_CPLC_MAX);
}

static bool
same_answers(const struct receipt *a, const struct receipt *b)
{
	return a->ncmds == b->ncmds && a->stop == b->stop && a->stop_index == b->stop_index &&
	    a->commands == b->commands &&
	    (a->ncmds == 0 || memcmp(a->cmds, b->cmds, a->ncmds * sizeof(*a->cmds)) == 0) &&
	    memcmp(&a->card, &b->card, sizeof(a->card)) == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct receipt *r = NULL, *again = NULL;
	struct cpk_error err;
	cpk_status st, st2;

	cpk_error_clear(&err);
	st = receipt_parse(data, size, &r, &err);
	st2 = receipt_parse(data, size, &again, NULL);
	FUZZ_CHECK(st == st2);
	if (st != CPK_OK) {
		FUZZ_CHECK(r == NULL && again == NULL);
		FUZZ_CHECK(strncmp(err.msg, "receipt: ", 9) == 0 || st == CPK_ERR_NOMEM);
		return 0;
	}
	FUZZ_CHECK(r != NULL && again != NULL);
	check_accepted(r);
	FUZZ_CHECK(same_answers(r, again));
	receipt_free(&r);
	receipt_free(&again);
	FUZZ_CHECK(r == NULL);
	return 0;
}
