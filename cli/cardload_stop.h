/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cardload: stopping a run on SIGINT, SIGTERM or SIGHUP, whatever the run
 * is waiting for.
 *
 * The three signals are blocked in every thread and taken by a watcher
 * thread with sigwait(), so no code runs in a signal handler. On a signal
 * the watcher sets the stop flag (the stream and the download look at it),
 * cancels the card call in flight (SCardCancel), and waits up to
 * CARDLOAD_STOP_GRACE_MS for the run to reach its report. A run that does
 * not (a card that stopped answering, a blocked read of stdin) is given up:
 * the watcher calls the abandon function, which writes the "ended" record
 * and the message from what the run published, and exits the process.
 */
#ifndef CPK_CARDLOAD_STOP_H
#define CPK_CARDLOAD_STOP_H

#include <stdatomic.h>
#include <stdbool.h>

#include "transport.h"

#define CARDLOAD_STOP_GRACE_MS 2000

/*
 * Runs on the watcher thread with the run's lock held (see
 * cardload_stop_lock); must not return (it ends with _exit()).
 */
typedef void (*cardload_abandon_fn)(void *ctx, int sig);

/*
 * Block SIGINT, SIGTERM and SIGHUP, ignore SIGPIPE (a reader of stdout or
 * stderr that goes away must not kill a run in the middle of a card
 * session) and SIGXFSZ (a file size limit makes the run log's write fail,
 * which is reported), and start the watcher. Call before any other thread
 * exists. false: the watcher could not be started (signals then keep their
 * default action).
 */
bool cardload_stop_start(cardload_abandon_fn abandon, void *ctx);

/* The flag the run checks: the signal number once one arrived, else 0. */
extern atomic_int cardload_stop_signal;

/* The data the abandon function reads are changed under this lock only. */
void cardload_stop_lock(void);
void cardload_stop_unlock(void);

/* The open card, whose call in flight a signal cancels (NULL: none); locks. */
void cardload_stop_card(struct cpk_transport *t);

/*
 * The run is about to report its own outcome: the watcher no longer gives
 * it up. Call with the lock held (taking the lock waits for an abandon in
 * progress, which never returns), then report, then cardload_stop_finish().
 */
void cardload_stop_reporting(void);

/* Stop the watcher (after the report); signals stay blocked. */
void cardload_stop_finish(void);

#endif
