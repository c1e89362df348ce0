/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cardsim: the card side of the vpcd protocol (vsmartcard's virtual reader
 * driver for pcsc-lite).
 *
 * cardsim is a TCP client of vpcd. Every frame, both ways, is a 2-byte
 * big-endian length and that many bytes. A 1-byte frame from vpcd is a
 * control code: 00 power off, 01 power on, 02 reset (no answer to these),
 * 04 get ATR (answered with the ATR). A longer frame is a command APDU,
 * answered with the response APDU. Closing the socket removes the card.
 */
#ifndef CARDSIM_VPCD_H
#define CARDSIM_VPCD_H

#include <signal.h>
#include <stdbool.h>

#include "cardsim.h"

#define CARDSIM_VPCD_DEFAULT_PORT "35963"

struct cardsim_vpcd_opts {
	const char *host;
	const char *port;
	const char *state_path;	/* NULL: the state lives in memory only */
	bool reinsert;		/* false: exit once a fault removed the card */
	bool verbose;		/* log every APDU */
	unsigned long freeze_at;	/* 0 = off: stop answering when command N arrives */
	const char *freeze_notice;	/* NULL, or a file (a FIFO) told "frozen N" then */
};

/* Set by a signal handler: stop at the next frame boundary (or while waiting). */
extern volatile sig_atomic_t cardsim_vpcd_stop;

/*
 * With reinsert, a card a fault removed comes back when SIGUSR1 arrives:
 * the caller blocks SIGUSR1 before cardsim_vpcd_run (so one sent early is
 * kept pending, never lost) and has a handler for SIGTERM/SIGINT.
 */

/*
 * Serve the card to vpcd: connect (retrying politely until vpcd listens),
 * answer frames, reconnect when vpcd goes away, save the state after every
 * command that changed it (before answering). Logs to stderr. Returns 0 on
 * a requested stop or a fault removal without reinsertion, 1 on a fatal
 * error (state file cannot be written).
 */
int cardsim_vpcd_run(struct cardsim *card, const struct cardsim_vpcd_opts *o);

#endif
