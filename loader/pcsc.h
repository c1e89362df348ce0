/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: PC/SC readers and cards (pcsc-lite). The only module that includes
 * winscard.h.
 */
#ifndef CPK_PCSC_H
#define CPK_PCSC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpk_error.h"
#include "transport.h"

#define CPK_PCSC_MAX_READERS 16
#define CPK_PCSC_MAX_ATR 33

struct cpk_reader_info {
	char name[128];
	bool card_present;
	bool in_use;			/* another program holds the card exclusively */
	uint8_t atr[CPK_PCSC_MAX_ATR];
	size_t atr_len;
};

/*
 * List the readers and whether each holds a card. *count may be 0 (no
 * readers: CPK_OK). Errors: CPK_ERR_PCSC (service not running, ...).
 */
cpk_status cpk_pcsc_list(struct cpk_reader_info *out, size_t cap, size_t *count,
    struct cpk_error *err);

/*
 * Connect to a card. `want` selects the reader: an exact name, else a
 * substring matching exactly one reader. With want NULL or "", the only
 * reader holding a card is taken. Ambiguity and absence are CPK_ERR_PCSC
 * errors whose message lists the readers. On success *t is ready for
 * cpk_transport_exchange; t->name holds the reader name.
 */
cpk_status cpk_pcsc_open(const char *want, struct cpk_transport *t, struct cpk_error *err);

/*
 * The reader's PIN pad (PC/SC part 10): *code receives the control code of
 * FEATURE_VERIFY_PIN_DIRECT, 0 when the reader does not list it (or t is
 * no PC/SC transport). CPK_ERR_PARSE: the reader's feature list is bad.
 */
cpk_status cpk_pcsc_pinpad(struct cpk_transport *t, uint32_t *code, struct cpk_error *err);
/*
 * VERIFY (pinpad.h) with the PIN typed on the PIN pad; resp receives the
 * card's answer (SW1 SW2 at its end). The PIN never reaches this process.
 */
cpk_status cpk_pcsc_pinpad_verify(struct cpk_transport *t, uint32_t code, uint8_t reference,
    struct cpk_buf *resp, struct cpk_error *err);

/* Plain-words description of a PC/SC return code ("the card was removed"). */
const char *cpk_pcsc_describe(long code);

/* Is this PC/SC return code "the smart-card service is not running"? */
bool cpk_pcsc_no_service(long code);

#endif
