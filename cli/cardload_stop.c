/* SPDX-License-Identifier: BSD-2-Clause */
/* cardload: the signal watcher (see cardload_stop.h). */
#include "cardload_stop.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "cli_util.h"

atomic_int cardload_stop_signal;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;

static struct {
	pthread_t thread;
	bool started;
	bool reporting;		/* the run reports itself */
	bool finished;		/* the watcher is to return */
	struct cpk_transport *card;
	cardload_abandon_fn abandon;
	void *ctx;
	sigset_t set;
	sigset_t ignored;	/* inherited ignored: taken, never acted on */
} w;

/* Never runs (the signals are blocked everywhere): it only makes sure that a
 * signal inherited as ignored stays pending for sigwait(), which the
 * watcher's own wake-up needs (cli_stop_signals). */
static void
no_op(int sig)
{
	(void)sig;
}

static void
deadline(struct timespec *ts)
{
	if (clock_gettime(CLOCK_MONOTONIC, ts) != 0)
		memset(ts, 0, sizeof(*ts));
	ts->tv_sec += CARDLOAD_STOP_GRACE_MS / 1000;
	ts->tv_nsec += (long)(CARDLOAD_STOP_GRACE_MS % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static void *
watch(void *arg)
{
	struct timespec until;
	int sig, rc;

	(void)arg;
	for (;;) {
		if (sigwait(&w.set, &sig) != 0)
			continue;
		pthread_mutex_lock(&lock);
		if (w.finished)
			break;
		if (sigismember(&w.ignored, sig)) {
			pthread_mutex_unlock(&lock);
			continue;
		}
		if (cardload_stop_signal == 0) {
			cardload_stop_signal = sig;
			cpk_transport_cancel(w.card);
		}
		deadline(&until);
		rc = 0;
		while (!w.reporting && !w.finished && rc != ETIMEDOUT)
			rc = pthread_cond_timedwait(&cond, &lock, &until);
		if (!w.reporting && !w.finished)
			w.abandon(w.ctx, sig);	/* does not return */
		pthread_mutex_unlock(&lock);
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

bool
cardload_stop_start(cardload_abandon_fn abandon, void *ctx)
{
	pthread_condattr_t ca;
	struct sigaction sa;

	/* The grace period is measured on the monotonic clock. */
	if (pthread_condattr_init(&ca) != 0)
		return false;
	if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_destroy(&cond) != 0 || pthread_cond_init(&cond, &ca) != 0) {
		pthread_condattr_destroy(&ca);
		return false;
	}
	pthread_condattr_destroy(&ca);
	cli_stop_signals(&w.set, &w.ignored);
	if (pthread_sigmask(SIG_BLOCK, &w.set, NULL) != 0)
		return false;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGPIPE, &sa, NULL);
	(void)sigaction(SIGXFSZ, &sa, NULL);
	sa.sa_handler = no_op;
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGHUP, &sa, NULL);
	w.abandon = abandon;
	w.ctx = ctx;
	/* Without the watcher the signals end the process, as by default. */
	if (pthread_create(&w.thread, NULL, watch, NULL) != 0) {
		sa.sa_handler = SIG_DFL;
		(void)sigaction(SIGINT, &sa, NULL);
		(void)sigaction(SIGTERM, &sa, NULL);
		(void)sigaction(SIGHUP, &sa, NULL);
		(void)pthread_sigmask(SIG_UNBLOCK, &w.set, NULL);
		return false;
	}
	w.started = true;
	return true;
}

void
cardload_stop_lock(void)
{
	pthread_mutex_lock(&lock);
}

void
cardload_stop_unlock(void)
{
	pthread_mutex_unlock(&lock);
}

void
cardload_stop_card(struct cpk_transport *t)
{
	pthread_mutex_lock(&lock);
	w.card = t;
	pthread_mutex_unlock(&lock);
}

void
cardload_stop_reporting(void)
{
	w.reporting = true;
	pthread_cond_broadcast(&cond);
}

void
cardload_stop_finish(void)
{
	if (!w.started)
		return;
	pthread_mutex_lock(&lock);
	w.finished = true;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	/* Wake the watcher out of sigwait() with a signal meant for it alone. */
	(void)pthread_kill(w.thread, SIGHUP);
	(void)pthread_join(w.thread, NULL);
	w.started = false;
}
