/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cardc batch: one profile, a file of card records, one bundle per card.
 *
 * The profile is loaded once and shared read-only by the workers. The
 * cards file is read as a stream under one mutex: a worker takes the next
 * line, skips what is not its record (blank, comment, other shard), parses
 * it and claims its serial, then compiles and writes outside the lock.
 * Because lines are taken in file order under the lock, "the second record
 * with a serial" is the same whatever -j is. Every bundle is written to a
 * temporary name; syncer threads fsync each one and only then rename it to
 * its name (cpk_file_sync_rename) while the workers go on compiling, so a
 * bundle's name never shows a partial or unsynced file. The output folder
 * is synced once, after the last rename, before the run reports what it
 * wrote. (With a registry, each group's files and the folder are synced as
 * the group is written: cpk_file_replace; with keys or the signing key in a
 * PKCS#11 token, which sets the pace, each worker syncs its own bundle and
 * the folder.) A worker keeps its bundle buffer
 * from card to card, and the heap is not trimmed between cards.
 *
 * SIGINT, SIGTERM and SIGHUP are blocked in every thread and taken by a
 * watcher thread with sigwait(). Before the cards file is open a signal
 * ends the process (nothing was written). After it, the watcher sets the
 * stop flag and wakes the reader through a pipe (a read of a FIFO or a
 * terminal may block): no worker takes another record, the cards already
 * taken are finished (each bundle is renamed into place or its temporary
 * file removed by cpk_file_replace), and the run reports where it stopped.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle_write.h"
#include "card.h"
#include "cardc.h"
#include "cli_util.h"
#include "compile.h"
#include "cpk_file.h"
#include "p11.h"
#include "profile.h"
#include "registry_issue.h"
#include "sign.h"

#define SYNOPSIS "cardc batch -p PROFILE --cards FILE -k KEYDIR -s SIGNKEY -o OUTDIR " \
    "[-j N] [--shard I/N] [--json] [--registry URI] [--supersede REASON] " \
    "[--pkcs11-module PATH] [--pkcs11-pin-file FILE]"
#define BATCH_MAX_JOBS 64
#define BATCH_MAX_SHARDS 1000000
/*
 * With a registry, a worker records up to BATCH_GROUP compiled cards (or
 * BATCH_GROUP_BYTES of bundles) in one transaction before writing them,
 * and records what it holds at once when the next record is not there yet.
 */
#define BATCH_GROUP 32
#define BATCH_GROUP_BYTES (8u << 20)
/*
 * Without a registry: BATCH_SYNCERS threads sync and rename the written
 * bundles (fsyncs in parallel share the file system's journal commits), at
 * most BATCH_SYNC_QUEUE waiting; a worker waits while the queue is full.
 */
#define BATCH_SYNCERS 4
#define BATCH_SYNC_QUEUE 64

enum { OPT_CARDS = 256, OPT_SHARD, OPT_JSON, OPT_REGISTRY, OPT_SUPERSEDE };

static const struct option long_options[] = {
	{ "profile", required_argument, NULL, 'p' },
	{ "cards", required_argument, NULL, OPT_CARDS },
	{ "sign-key", required_argument, NULL, 's' },
	{ "output", required_argument, NULL, 'o' },
	{ "keys", required_argument, NULL, 'k' },
	{ "jobs", required_argument, NULL, 'j' },
	{ "shard", required_argument, NULL, OPT_SHARD },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "registry", required_argument, NULL, OPT_REGISTRY },
	{ "supersede", required_argument, NULL, OPT_SUPERSEDE },
	CARDC_PKCS11_OPTIONS,
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct batch_args {
	const char *profile, *cards, *sign_key, *outdir, *keys;
	const char *registry, *supersede;
	struct cardc_pkcs11_opts p11;
	unsigned long jobs, shard_i, shard_n;
	bool json;
};

/* Serials claimed in this run, with the line that claimed each. */
struct serial_set {
	struct serial_slot {
		char *serial;
		unsigned line;
	} *slots;
	size_t n, cap;		/* cap: 0 or a power of two */
};

/* What happened to one record, for --json. */
struct record_result {
	unsigned line;
	char serial[CARD_SERIAL_MAX + 1];
	bool ok;
	char *message;		/* NULL when ok */
};

struct batch {
	const struct batch_args *a;
	const struct profile *p;
	const struct cpk_signer *signer;
	const struct cardc_registry *reg;	/* reg->reg NULL: no registry */
	uint64_t created;
	const char *name;		/* the cards file in messages */

	/* The signal watcher. */
	atomic_int stop;		/* the signal that stops the run, 0 if none */
	int wake[2];			/* written once a stop is asked: wakes the reader */
	pthread_mutex_t wmu;		/* reading, finished */
	bool reading;			/* the input is open: a signal stops, not ends */
	bool finished;			/* the watcher is to return */
	bool watching;
	pthread_t watcher;
	sigset_t sigs;
	sigset_t ignored;	/* inherited ignored: taken, never acted on */

	pthread_mutex_t mu;		/* everything below */
	int fd;				/* the cards file, -1 if not open */
	uint8_t rbuf[4096];
	size_t rpos, rlen;
	bool in_end;			/* end of input, a read error or a stop */
	/* One line: its first CARD_LINE_MAX + 1 bytes and a NUL (longer ones are refused). */
	char line[CARD_LINE_MAX + 2];
	unsigned lineno;
	bool json_lines;
	struct card_csv_header hdr;
	bool has_pending;		/* a JSON line read while detecting the format */
	char *pending;
	unsigned pending_line;
	bool done;			/* end of input (or a read error) */
	int read_errno;			/* the read error, 0 if none */
	size_t records;			/* records seen, every shard */
	size_t cards;
	struct serial_set seen;

	/*
	 * The outcomes, under their own lock: a syncer reports while a worker
	 * may hold mu in a read that waits for the next record.
	 */
	pthread_mutex_t rmu;
	size_t written, failed;
	struct record_result *results;
	size_t nresults, capresults;

	/* Written bundles waiting for their sync and rename (no registry). */
	pthread_mutex_t qmu;
	pthread_cond_t qput, qtake;
	struct sync_item *queue;	/* BATCH_SYNC_QUEUE, a ring */
	size_t qhead, qlen;
	bool qclosed;			/* no more items: the syncers return when it is empty */
	size_t renamed;			/* bundles renamed into the output folder */
	/*
	 * The crash test (tests/cli/test_crash.sh): CPK_BATCH_FAULT=
	 * kill-after-write:N, SIGKILL as the N-th bundle's temporary file is
	 * written, before its sync and rename. 0: none.
	 */
	unsigned long kill_after_write;
	atomic_ulong temps;		/* temporary files written */
};

/* A bundle written to its temporary file, to be synced and renamed. */
struct sync_item {
	int fd;
	unsigned line;
	char serial[CARD_SERIAL_MAX + 1];
	char tmp[4096], path[4096];
};

/* A record a worker took: its card, or why it cannot be compiled. */
struct job {
	unsigned line;
	struct card_record card;
	bool bad;
	struct cpk_error err;
};


static uint64_t
fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* Claim a serial: 0 if new, else the line that claimed it first (-1: out of memory). */
static long
serial_claim(struct serial_set *set, const char *serial, unsigned line)
{
	struct serial_slot *old = set->slots;
	size_t i, k, oldcap = set->cap;

	if (set->n * 2 >= set->cap) {
		size_t ncap = set->cap == 0 ? 64 : set->cap * 2;

		if ((set->slots = calloc(ncap, sizeof(*set->slots))) == NULL) {
			set->slots = old;
			return -1;
		}
		set->cap = ncap;
		for (i = 0; i < oldcap; i++) {
			if (old[i].serial == NULL)
				continue;
			for (k = fnv1a(old[i].serial) & (ncap - 1); set->slots[k].serial != NULL;
			    k = (k + 1) & (ncap - 1))
				;
			set->slots[k] = old[i];
		}
		free(old);
	}
	for (k = fnv1a(serial) & (set->cap - 1); set->slots[k].serial != NULL;
	    k = (k + 1) & (set->cap - 1))
		if (strcmp(set->slots[k].serial, serial) == 0)
			return (long)set->slots[k].line;
	if ((set->slots[k].serial = strdup(serial)) == NULL)
		return -1;
	set->slots[k].line = line;
	set->n++;
	return 0;
}

static void
serial_set_free(struct serial_set *set)
{
	size_t i;

	for (i = 0; i < set->cap; i++)
		free(set->slots[i].serial);
	free(set->slots);
	memset(set, 0, sizeof(*set));
}

/* Strip the line end; true if the line holds nothing to read (blank or # comment). */
static bool
skip_line(char *s, size_t *len)
{
	while (*len > 0 && (s[*len - 1] == '\n' || s[*len - 1] == '\r'))
		s[--*len] = '\0';
	return card_line_blank(s, *len);
}

/*
 * One byte of the cards file, or EOF at its end, on a read error (then
 * read_errno) and once a stop is asked. Waits for input and for the wake
 * pipe together, so a stop does not wait for the next line of a FIFO.
 */
static int
in_getc(struct batch *B)
{
	struct pollfd pfd[2];
	ssize_t r;

	for (;;) {
		if (B->in_end)
			return EOF;
		if (atomic_load(&B->stop) != 0) {
			B->in_end = true;
			return EOF;
		}
		if (B->rpos < B->rlen)
			return B->rbuf[B->rpos++];
		pfd[0].fd = B->fd;
		pfd[0].events = POLLIN;
		pfd[1].fd = B->wake[0];
		pfd[1].events = POLLIN;
		pfd[0].revents = pfd[1].revents = 0;
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			B->read_errno = errno;
			B->in_end = true;
			return EOF;
		}
		if (pfd[0].revents == 0)
			continue;	/* the wake pipe: the loop sees the stop */
		r = read(B->fd, B->rbuf, sizeof(B->rbuf));
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0) {
			B->read_errno = r < 0 ? errno : 0;
			B->in_end = true;
			return EOF;
		}
		B->rpos = 0;
		B->rlen = (size_t)r;
	}
}

/* The next line with content, under the lock. false at the end of input. */
static bool
next_line(struct batch *B, char **line, size_t *len, unsigned *lineno)
{
	size_t n, kept;
	int ch;

	for (;;) {
		/*
		 * A bounded read: of a line longer than a record may be, only
		 * CARD_LINE_MAX + 1 bytes are kept (parse_record refuses it by
		 * that length); the rest is read and dropped.
		 */
		n = kept = 0;
		while ((ch = in_getc(B)) != EOF) {
			if (kept < sizeof(B->line) - 1)
				B->line[kept++] = (char)ch;
			n++;
			if (ch == '\n')
				break;
		}
		B->line[kept] = '\0';
		/* A stop drops the part of a line read so far. */
		if (n == 0 || atomic_load(&B->stop) != 0) {
			/* A read error is reported once the workers are done (or by detect_format). */
			B->done = true;
			return false;
		}
		B->lineno++;
		*len = kept;
		if (skip_line(B->line, len))
			continue;
		*line = B->line;
		*lineno = B->lineno;
		return true;
	}
}

/* Parse one record line into the job (under the lock). */
static void
parse_record(struct batch *B, const char *line, size_t len, struct job *jb)
{
	long first;

	card_record_init(&jb->card);
	cpk_error_clear(&jb->err);
	jb->bad = true;
	if (card_parse_line(&B->hdr, B->json_lines, B->name, jb->line, line, len, &jb->card,
	    &jb->err) != CPK_OK)
		return;
	if (jb->card.serial[0] == '\0') {
		cpk_error_set_at(&jb->err, CPK_ERR_ARG, B->name, jb->line, 0,
		    "the card record has no 'serial': batch names each bundle SERIAL.cpk");
		return;
	}
	if ((first = serial_claim(&B->seen, jb->card.serial, jb->line)) != 0) {
		if (first < 0)
			cpk_error_set_at(&jb->err, CPK_ERR_NOMEM, B->name, jb->line, 0,
			    "out of memory");
		else
			cpk_error_set_at(&jb->err, CPK_ERR_ARG, B->name, jb->line, 0,
			    "serial '%s' was already given at line %ld: each card needs its own "
			    "serial (its bundle's name)", jb->card.serial, first);
		return;
	}
	jb->bad = false;
}

/*
 * A record of another shard (under the lock): not compiled here, but its
 * serial is claimed, so that a serial given twice is refused whichever
 * shards the two records fall in; otherwise the later shard's bundle
 * would silently replace the other's SERIAL.cpk. Records that do not
 * parse are the other shard's to report.
 */
static void
claim_other(struct batch *B, const char *line, size_t len, unsigned lineno)
{
	struct job other;

	memset(&other, 0, sizeof(other));
	other.line = lineno;
	parse_record(B, line, len, &other);
	card_record_clear(&other.card);
	cpk_cleanse(&other, sizeof(other));
}

/* Take the next record of this shard. false when there is none. */
static bool
take_record(struct batch *B, struct job *jb)
{
	char *line;
	size_t len;
	unsigned lineno;
	bool found = false;

	pthread_mutex_lock(&B->mu);
	while (!found) {
		/* After a signal no record is taken; the ones taken are finished. */
		if (atomic_load(&B->stop) != 0)
			break;
		if (B->has_pending) {
			B->has_pending = false;
			line = B->pending;
			len = strlen(line);
			lineno = B->pending_line;
		} else if (B->done || !next_line(B, &line, &len, &lineno)) {
			break;
		}
		if (B->records++ % B->a->shard_n != B->a->shard_i - 1) {
			claim_other(B, line, len, lineno);
			continue;
		}
		B->cards++;
		jb->line = lineno;
		parse_record(B, line, len, jb);
		found = true;
	}
	pthread_mutex_unlock(&B->mu);
	return found;
}

/* Count and report one record's outcome (the record of line, with serial). */
static void
report_line(struct batch *B, unsigned line, const char *serial, cpk_status st,
    const struct cpk_error *err)
{
	char text[1024], msg[1400];
	struct record_result *r, *grown;

	msg[0] = '\0';
	if (st != CPK_OK) {
		cli_error_text(err, text, sizeof(text));
		/* Parse errors carry the record's location; compile errors get it here. */
		if (err->line != line || strcmp(err->file, B->name) != 0)
			snprintf(msg, sizeof(msg), "%s:%u: %s", B->name, line, text);
		else
			snprintf(msg, sizeof(msg), "%s", text);
	}
	pthread_mutex_lock(&B->rmu);
	if (st == CPK_OK) {
		B->written++;
	} else {
		B->failed++;
		fprintf(stderr, "%s: %s\n", cli_progname(), msg);
	}
	if (B->a->json && B->nresults == B->capresults) {
		size_t ncap = B->capresults == 0 ? 64 : B->capresults * 2;

		if ((grown = realloc(B->results, ncap * sizeof(*grown))) != NULL) {
			B->results = grown;
			B->capresults = ncap;
		}
	}
	if (B->a->json && B->nresults < B->capresults) {
		r = &B->results[B->nresults++];
		memset(r, 0, sizeof(*r));
		r->line = line;
		snprintf(r->serial, sizeof(r->serial), "%s", serial);
		r->ok = st == CPK_OK;
		r->message = st == CPK_OK ? NULL : strdup(msg);
	}
	pthread_mutex_unlock(&B->rmu);
}

static void
report(struct batch *B, const struct job *jb, cpk_status st, const struct cpk_error *err)
{
	report_line(B, jb->line, jb->card.serial, st, err);
}

/*
 * Compile one card into the worker's buffer `bundle` (kept from card to
 * card: a bundle holds no secret in the clear, so it is reused, not
 * cleansed) and write it to its temporary file, open in it->fd.
 */
static cpk_status
compile_one(struct batch *B, const struct card_record *card, struct cpk_buf *bundle,
    struct sync_item *it, struct cpk_error *err)
{
	struct cpk_compile_opts opts;
	struct cpk_compiled c;
	cpk_status ret;

	memset(&opts, 0, sizeof(opts));
	memcpy(opts.profile_sha256, B->p->sha256, sizeof(opts.profile_sha256));
	opts.created = B->created;
	/* Each card's host challenge derived from its inputs and the signing key. */
	opts.challenge_key = B->signer;
	opts.script_only = true;	/* the bundle writer reads the commands from the script */
	if (snprintf(it->path, sizeof(it->path), "%s/%s.cpk", B->a->outdir, card->serial) >=
	    (int)sizeof(it->path))
		return cpk_error_set(err, CPK_ERR_RANGE, "output path too long");
	if ((ret = cpk_compile(B->p, card, &opts, &c, err)) != CPK_OK) {
		cpk_error_prefix(err, "card %s", card->serial);
		return ret;
	}
	bundle->len = 0;
	if ((ret = cpk_bundle_write_compiled(&c, B->signer, bundle, err)) == CPK_OK)
		ret = cpk_file_write_temp(it->path, bundle->data, bundle->len, 0600, it->tmp,
		    sizeof(it->tmp), &it->fd, err);
	cpk_compiled_free(&c);
	if (ret == CPK_OK && B->kill_after_write != 0 &&
	    atomic_fetch_add(&B->temps, 1) + 1 == B->kill_after_write)
		(void)raise(SIGKILL);
	return ret;
}

/* Queue a written bundle for its sync and rename; waits while the queue is full. */
static void
sync_put(struct batch *B, const struct sync_item *it)
{
	pthread_mutex_lock(&B->qmu);
	while (B->qlen == BATCH_SYNC_QUEUE)
		pthread_cond_wait(&B->qput, &B->qmu);
	B->queue[(B->qhead + B->qlen) % BATCH_SYNC_QUEUE] = *it;
	B->qlen++;
	pthread_cond_signal(&B->qtake);
	pthread_mutex_unlock(&B->qmu);
}

/* A syncer: sync, close and rename each queued bundle, then count it written. */
static void *
syncer(void *arg)
{
	struct batch *B = arg;
	struct sync_item it;
	struct cpk_error err;
	cpk_status st;

	for (;;) {
		pthread_mutex_lock(&B->qmu);
		while (B->qlen == 0 && !B->qclosed)
			pthread_cond_wait(&B->qtake, &B->qmu);
		if (B->qlen == 0) {
			pthread_mutex_unlock(&B->qmu);
			return NULL;
		}
		it = B->queue[B->qhead];
		B->qhead = (B->qhead + 1) % BATCH_SYNC_QUEUE;
		B->qlen--;
		pthread_cond_signal(&B->qput);
		pthread_mutex_unlock(&B->qmu);
		cpk_error_clear(&err);
		st = cpk_file_sync_rename(it.fd, it.tmp, it.path, &err);
		if (st == CPK_OK) {
			pthread_mutex_lock(&B->qmu);
			B->renamed++;
			pthread_mutex_unlock(&B->qmu);
		}
		report_line(B, it.line, it.serial, st, &err);
	}
}

/* --- with a registry: compiled in groups, each group recorded in one transaction --- */

/* A card compiled and not yet recorded nor written. */
struct pending {
	struct job jb;
	struct cpk_buf bytes;
	struct registry_issue_buf rb;
	char path[4096];
};

/* Would taking the next record wait for input? (then the group is recorded first) */
static bool
input_ready(struct batch *B)
{
	struct pollfd pfd;
	bool ready;

	pthread_mutex_lock(&B->mu);
	ready = B->has_pending || B->rpos < B->rlen || B->done || B->in_end ||
	    atomic_load(&B->stop) != 0;
	if (!ready) {
		pfd.fd = B->fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		ready = poll(&pfd, 1, 0) != 0;
	}
	pthread_mutex_unlock(&B->mu);
	return ready;
}

static void
pending_clear(struct pending *pd)
{
	cpk_buf_free(&pd->bytes);
	registry_issue_buf_free(&pd->rb);
	card_record_clear(&pd->jb.card);
}

static cpk_status
compile_pending(struct batch *B, struct pending *pd, struct cpk_error *err)
{
	struct cpk_compile_opts opts;
	struct cpk_compiled c;
	cpk_status ret;

	memset(&opts, 0, sizeof(opts));
	memset(&c, 0, sizeof(c));
	memcpy(opts.profile_sha256, B->p->sha256, sizeof(opts.profile_sha256));
	opts.created = B->created;
	/* Each card's host challenge derived from its inputs and the signing key. */
	opts.challenge_key = B->signer;
	opts.script_only = true;	/* the bundle writer reads the commands from the script */
	cpk_buf_init(&pd->bytes);
	memset(&pd->rb, 0, sizeof(pd->rb));
	if (snprintf(pd->path, sizeof(pd->path), "%s/%s.cpk", B->a->outdir,
	    pd->jb.card.serial) >= (int)sizeof(pd->path))
		return cpk_error_set(err, CPK_ERR_RANGE, "output path too long");
	if ((ret = cpk_compile(B->p, &pd->jb.card, &opts, &c, err)) != CPK_OK) {
		cpk_error_prefix(err, "card %s", pd->jb.card.serial);
		return ret;
	}
	if ((ret = cpk_bundle_write_compiled(&c, B->signer, &pd->bytes, err)) == CPK_OK)
		ret = registry_issue_prepare(B->reg->dk, B->p, &pd->jb.card, &c.manifest,
		    pd->bytes.data, pd->bytes.len, B->a->supersede, &pd->rb, err);
	cpk_compiled_free(&c);
	return ret;
}

/* Write a recorded bundle; one that cannot be written is marked failed. */
static cpk_status
write_recorded(struct batch *B, struct pending *pd, struct cpk_error *err)
{
	char why[CPK_ERROR_MSG_LEN + 64];
	struct cpk_error e2;
	cpk_status ret;

	if ((ret = cpk_file_replace(pd->path, pd->bytes.data, pd->bytes.len, 0600,
	    err)) == CPK_OK)
		return CPK_OK;
	snprintf(why, sizeof(why), "the bundle was not written: %s", err->msg);
	cpk_error_clear(&e2);
	if (registry_set_state(B->reg->reg, pd->rb.hash, REGISTRY_FAILED, why, NULL, &e2) != CPK_OK)
		cpk_error_prefix(err, "(and not marked failed in the registry: %s)", e2.msg);
	return ret;
}

/* Record a group in one transaction, then write what was recorded. */
static void
flush(struct batch *B, struct pending *pd, size_t n)
{
	struct registry_issue in[BATCH_GROUP];
	cpk_status st[BATCH_GROUP];
	struct cpk_error *errs;
	size_t i;

	if ((errs = calloc(n, sizeof(*errs))) == NULL) {
		for (i = 0; i < n; i++) {
			struct cpk_error e;

			cpk_error_set(&e, CPK_ERR_NOMEM, "out of memory");
			report(B, &pd[i].jb, CPK_ERR_NOMEM, &e);
			pending_clear(&pd[i]);
		}
		return;
	}
	memset(in, 0, sizeof(in));
	for (i = 0; i < n && i < BATCH_GROUP; i++)
		in[i] = pd[i].rb.in;
	(void)registry_record_many(B->reg->reg, in, n, st, errs);
	for (i = 0; i < n; i++) {
		if (st[i] == CPK_OK)
			st[i] = write_recorded(B, &pd[i], &errs[i]);
		report(B, &pd[i].jb, st[i], &errs[i]);
		pending_clear(&pd[i]);
	}
	free(errs);
}

static void
worker_grouped(struct batch *B)
{
	struct pending one, *pd;
	struct cpk_error err;
	size_t n = 0, bytes = 0, cap = BATCH_GROUP;
	cpk_status st;

	if ((pd = calloc(BATCH_GROUP, sizeof(*pd))) == NULL) {
		/* Out of memory: one card at a time. */
		memset(&one, 0, sizeof(one));
		pd = &one;
		cap = 1;
	}
	for (;;) {
		if (n > 0 && (n == cap || bytes >= BATCH_GROUP_BYTES || !input_ready(B))) {
			flush(B, pd, n);
			n = bytes = 0;
		}
		if (!take_record(B, &pd[n].jb))
			break;
		if (pd[n].jb.bad) {
			report(B, &pd[n].jb, pd[n].jb.err.status != CPK_OK ? pd[n].jb.err.status :
			    CPK_ERR_ARG, &pd[n].jb.err);
			card_record_clear(&pd[n].jb.card);
			continue;
		}
		cpk_error_clear(&err);
		if ((st = compile_pending(B, &pd[n], &err)) != CPK_OK) {
			report(B, &pd[n].jb, st, &err);
			pending_clear(&pd[n]);
			continue;
		}
		bytes += pd[n].bytes.len;
		n++;
	}
	if (n > 0)
		flush(B, pd, n);
	if (pd != &one)
		free(pd);
}

static void *
worker(void *arg)
{
	struct batch *B = arg;
	struct job jb;
	struct cpk_buf bundle = CPK_BUF_INIT;
	struct sync_item it;
	struct cpk_error err;
	cpk_status st;

	if (B->reg->reg != NULL) {
		worker_grouped(B);
		p11_thread_end();
		return NULL;
	}
	while (take_record(B, &jb)) {
		if (jb.bad) {
			report(B, &jb, jb.err.status != CPK_OK ? jb.err.status : CPK_ERR_ARG, &jb.err);
		} else {
			cpk_error_clear(&err);
			if ((st = compile_one(B, &jb.card, &bundle, &it, &err)) == CPK_OK) {
				it.line = jb.line;
				snprintf(it.serial, sizeof(it.serial), "%s", jb.card.serial);
				if (B->queue != NULL) {
					sync_put(B, &it);
				} else {
					/* Keys in a token: the worker syncs its own bundle. */
					if ((st = cpk_file_sync_rename(it.fd, it.tmp, it.path,
					    &err)) == CPK_OK)
						st = cpk_fsync_parent_dir(it.path, &err);
					report(B, &jb, st, &err);
				}
			} else {
				report(B, &jb, st, &err);
			}
		}
		card_record_clear(&jb.card);
	}
	cpk_buf_free_public(&bundle);	/* bundle bytes: nothing secret */
	/* This worker's token session (keys in a token: one session per thread). */
	p11_thread_end();
	return NULL;
}

/* Read up to the first line with content: JSON lines or a CSV header. */
static cpk_status
detect_format(struct batch *B, struct cpk_error *err)
{
	char *line;
	size_t len;
	unsigned lineno;

	if (!next_line(B, &line, &len, &lineno))
		return B->read_errno == 0 ? CPK_OK : cpk_error_set(err, CPK_ERR_IO,
		    "cannot read '%s': %s", B->name, strerror(B->read_errno));
	if (card_line_json(line, len)) {
		B->json_lines = true;
		if ((B->pending = strdup(line)) == NULL)
			return cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
		B->pending_line = lineno;
		B->has_pending = true;
		return CPK_OK;
	}
	return card_csv_header_parse(B->name, lineno, line, len, &B->hdr, err);
}

static int
cmp_results(const void *x, const void *y)
{
	const struct record_result *a = x, *b = y;

	return a->line < b->line ? -1 : a->line > b->line;
}

static void
print_json(const struct batch *B)
{
	struct cli_json j;
	char path[4096];
	size_t i;

	cli_json_init(&j, stdout);
	cli_json_object(&j, NULL);
	cli_json_str(&j, "profile", B->a->profile);
	cli_json_str(&j, "cards-file", B->name);
	cli_json_str(&j, "format", B->json_lines ? "json-lines" : "csv");
	cli_json_str(&j, "output", B->a->outdir);
	cli_json_object(&j, "shard");
	cli_json_uint(&j, "index", B->a->shard_i);
	cli_json_uint(&j, "count", B->a->shard_n);
	cli_json_end(&j);
	cli_json_uint(&j, "records", B->records);
	cli_json_uint(&j, "cards", B->cards);
	cli_json_uint(&j, "written", B->written);
	cli_json_uint(&j, "failed", B->failed);
	cli_json_str(&j, "interrupted", atomic_load(&B->stop) != 0 ?
	    cli_signal_name(atomic_load(&B->stop)) : NULL);
	cli_json_uint(&j, "last-line", B->lineno);
	cli_json_array(&j, "results");
	for (i = 0; i < B->nresults; i++) {
		const struct record_result *r = &B->results[i];

		cli_json_object(&j, NULL);
		cli_json_uint(&j, "line", r->line);
		cli_json_str(&j, "serial", r->serial[0] != '\0' ? r->serial : NULL);
		cli_json_bool(&j, "ok", r->ok);
		if (r->ok) {
			snprintf(path, sizeof(path), "%s/%s.cpk", B->a->outdir, r->serial);
			cli_json_str(&j, "bundle", path);
		} else {
			cli_json_str(&j, "error", r->message != NULL ? r->message : "out of memory");
		}
		cli_json_end(&j);
	}
	cli_json_end(&j);
	cli_json_finish(&j);
}

/* Where an interrupted run stopped, and how to go on from there. */
static void
interrupted(const struct batch *B)
{
	size_t done = B->written + B->failed;

	cli_errorf("interrupted (%s) after line %u of %s: %zu card%s finished (%zu bundle%s "
	    "written, %zu failed), no card started after the signal, no temporary file left; "
	    "to resume, run cardc batch on the records after line %u%s",
	    cli_signal_name(atomic_load(&B->stop)), B->lineno, B->name, done, done == 1 ? "" : "s",
	    B->written, B->written == 1 ? "" : "s", B->failed, B->lineno,
	    B->json_lines ? "" : " (under the CSV header line)");
}

static void
summary(const struct batch *B, FILE *f)
{
	fprintf(f, "batch: %zu card%s, %zu bundle%s written, %zu failed", B->cards,
	    B->cards == 1 ? "" : "s", B->written, B->written == 1 ? "" : "s", B->failed);
	if (B->a->shard_n > 1)
		fprintf(f, " (shard %lu/%lu of %zu records)", B->a->shard_i, B->a->shard_n,
		    B->records);
	fputc('\n', f);
}

static cpk_status
make_outdir(const char *dir, struct cpk_error *err)
{
	struct stat st;

	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return cpk_error_set(err, CPK_ERR_IO, "cannot create output folder '%s': %s", dir,
		    strerror(errno));
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return cpk_error_set(err, CPK_ERR_IO, "output '%s' is not a folder", dir);
	return CPK_OK;
}

static void *
watch(void *arg)
{
	struct batch *B = arg;
	int sig;

	for (;;) {
		if (sigwait(&B->sigs, &sig) != 0)
			continue;
		pthread_mutex_lock(&B->wmu);
		if (B->finished)
			break;
		if (sigismember(&B->ignored, sig)) {
			pthread_mutex_unlock(&B->wmu);
			continue;
		}
		if (!B->reading) {
			/* Before the cards file is open: no bundle was started. */
			fprintf(stderr, "%s: interrupted (%s) before the first card: nothing was "
			    "written\n", cli_progname(), cli_signal_name(sig));
			_exit(CLI_EXIT_ERROR);
		}
		if (atomic_load(&B->stop) == 0) {
			atomic_store(&B->stop, sig);
			/* One byte into an empty blocking pipe whose reader is
			 * open: only EINTR can stop it.  Should it fail anyway,
			 * the reader still sees B->stop on its next byte. */
			while (write(B->wake[1], "", 1) < 0 && errno == EINTR)
				;
		}
		pthread_mutex_unlock(&B->wmu);
	}
	pthread_mutex_unlock(&B->wmu);
	return NULL;
}

/* Never runs (the signals are blocked everywhere): a signal inherited as
 * ignored must still reach sigwait(), which the watcher's own wake-up needs
 * (cli_stop_signals). */
static void
no_op(int sig)
{
	(void)sig;
}

/*
 * Block SIGINT, SIGTERM and SIGHUP and start the watcher, before any other
 * thread exists. Without a watcher the signals keep their default action.
 */
static cpk_status
watch_start(struct batch *B, struct cpk_error *err)
{
	struct sigaction sa;

	if (pipe(B->wake) != 0) {
		B->wake[0] = B->wake[1] = -1;
		return cpk_error_set(err, CPK_ERR_IO, "cannot create a pipe: %s", strerror(errno));
	}
	(void)fcntl(B->wake[0], F_SETFD, FD_CLOEXEC);
	(void)fcntl(B->wake[1], F_SETFD, FD_CLOEXEC);
	cli_stop_signals(&B->sigs, &B->ignored);
	if (pthread_sigmask(SIG_BLOCK, &B->sigs, NULL) != 0)
		return CPK_OK;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = no_op;
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGHUP, &sa, NULL);
	if (pthread_create(&B->watcher, NULL, watch, B) != 0) {
		sa.sa_handler = SIG_DFL;
		(void)sigaction(SIGINT, &sa, NULL);
		(void)sigaction(SIGTERM, &sa, NULL);
		(void)sigaction(SIGHUP, &sa, NULL);
		(void)pthread_sigmask(SIG_UNBLOCK, &B->sigs, NULL);
		return CPK_OK;
	}
	B->watching = true;
	return CPK_OK;
}

/* The cards file is open: from now on a signal stops the run. */
static void
watch_reading(struct batch *B)
{
	pthread_mutex_lock(&B->wmu);
	B->reading = true;
	pthread_mutex_unlock(&B->wmu);
}

/* Stop the watcher; the signals stay blocked (a late one is dropped at exit). */
static void
watch_finish(struct batch *B)
{
	if (B->watching) {
		pthread_mutex_lock(&B->wmu);
		B->finished = true;
		pthread_mutex_unlock(&B->wmu);
		/* Wake the watcher out of sigwait() with a signal meant for it alone. */
		(void)pthread_kill(B->watcher, SIGHUP);
		(void)pthread_join(B->watcher, NULL);
		B->watching = false;
	}
	if (B->wake[0] >= 0)
		close(B->wake[0]);
	if (B->wake[1] >= 0)
		close(B->wake[1]);
	B->wake[0] = B->wake[1] = -1;
}

/*
 * The workers and, without a registry, the syncers (without any syncer
 * the run fails before its first card); returns once every bundle is
 * renamed into place or failed, and the output folder synced.
 */
static cpk_status
run_workers(struct batch *B, struct cpk_error *err)
{
	pthread_t tid[BATCH_MAX_JOBS], sid[BATCH_SYNCERS];
	unsigned long i, started = 0, syncers = 0;

	/*
	 * With keys or the signing key in a token the token sets the pace, and
	 * each worker syncs what it writes (as with a registry): the bundles,
	 * then the folder, one card at a time.
	 */
	if (B->reg->reg == NULL && !p11_configured()) {
		if ((B->queue = calloc(BATCH_SYNC_QUEUE, sizeof(*B->queue))) == NULL)
			return cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
		for (i = 0; i < BATCH_SYNCERS; i++) {
			if (pthread_create(&sid[syncers], NULL, syncer, B) != 0)
				break;
			syncers++;
		}
		if (syncers == 0)
			return cpk_error_set(err, CPK_ERR_NOMEM, "cannot start a thread to sync "
			    "the bundles: %s", strerror(errno));
	}
	/* The main thread is worker number one. */
	for (i = 1; i < B->a->jobs; i++) {
		if (pthread_create(&tid[started], NULL, worker, B) != 0)
			break;
		started++;
	}
	worker(B);
	for (i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	pthread_mutex_lock(&B->qmu);
	B->qclosed = true;
	pthread_cond_broadcast(&B->qtake);
	pthread_mutex_unlock(&B->qmu);
	for (i = 0; i < syncers; i++)
		pthread_join(sid[i], NULL);
	/* One folder sync for the whole run, before anything is reported written. */
	if (B->renamed > 0)
		return cpk_fsync_dir(B->a->outdir, err);
	return CPK_OK;
}

static int
run(const struct batch_args *a)
{
	struct profile_opts popts = { .keydir = a->keys };
	struct profile *p = NULL;
	struct cpk_signer *signer = NULL;
	struct cardc_registry cr;
	struct batch B;
	struct cpk_error err;
	const char *fault;
	cpk_status ret;
	size_t i;
	int status = CLI_EXIT_ERROR;

	memset(&B, 0, sizeof(B));
	memset(&cr, 0, sizeof(cr));
	B.reg = &cr;
	cpk_error_clear(&err);
	B.a = a;
	B.name = strcmp(a->cards, "-") == 0 ? "stdin" : a->cards;
	B.fd = B.wake[0] = B.wake[1] = -1;
	atomic_init(&B.stop, 0);
	pthread_mutex_init(&B.mu, NULL);
	pthread_mutex_init(&B.wmu, NULL);
	pthread_mutex_init(&B.qmu, NULL);
	pthread_mutex_init(&B.rmu, NULL);
	pthread_cond_init(&B.qput, NULL);
	pthread_cond_init(&B.qtake, NULL);
	/*
	 * Every card allocates and frees the same sizes again: keep the freed
	 * memory for the next card instead of giving it back to the system
	 * after each one (and taking it again).
	 */
	(void)mallopt(M_TRIM_THRESHOLD, 256 << 20);
	atomic_init(&B.temps, 0);
	if ((fault = getenv("CPK_BATCH_FAULT")) != NULL &&
	    (strncmp(fault, "kill-after-write:", 17) != 0 ||
	    !cli_parse_uint(fault + 17, 1, ULONG_MAX, &B.kill_after_write))) {
		ret = cpk_error_set(&err, CPK_ERR_ARG, "CPK_BATCH_FAULT '%.40s': expected "
		    "kill-after-write:N (tests only)", fault);
		goto out;
	}
	if ((ret = watch_start(&B, &err)) != CPK_OK)
		goto out;
	if ((ret = cpk_bundle_creation_time(&B.created, &err)) != CPK_OK) {
		cpk_error_prefix(&err, "SOURCE_DATE_EPOCH");
		goto out;
	}
	if ((ret = cardc_pkcs11_setup(&a->p11, &err)) != CPK_OK ||
	    (ret = profile_load(a->profile, &popts, &p, &err)) != CPK_OK ||
	    (ret = cpk_signer_open(a->sign_key, &signer, &err)) != CPK_OK ||
	    (ret = cardc_registry_open(a->registry, a->keys, p, &cr, &err)) != CPK_OK ||
	    (ret = make_outdir(a->outdir, &err)) != CPK_OK)
		goto out;
	if (a->supersede != NULL && cr.reg == NULL) {
		ret = cpk_error_set(&err, CPK_ERR_ARG, "--supersede needs a registry (--registry "
		    "URI, CPK_REGISTRY or a config file)");
		goto out;
	}
	B.p = p;
	B.signer = signer;
	if (strcmp(a->cards, "-") == 0) {
		B.fd = STDIN_FILENO;
	} else if ((ret = cpk_stream_open(a->cards, "cards file", &B.fd, &err)) != CPK_OK) {
		goto out;
	}
	watch_reading(&B);
	if ((ret = detect_format(&B, &err)) != CPK_OK)
		goto out;
	if ((ret = run_workers(&B, &err)) != CPK_OK) {
		/* The bundles may not survive a crash: none is reported written. */
		cpk_error_prefix(&err, "%zu bundle%s written but not made durable", B.renamed,
		    B.renamed == 1 ? "" : "s");
		goto out;
	}
	watch_finish(&B);
	if (B.read_errno != 0) {
		/* The records before the error were compiled; the run failed. */
		cli_errorf("%s:%u: cannot read: %s", B.name, B.lineno + 1, strerror(B.read_errno));
		B.failed++;
	}
	if (atomic_load(&B.stop) != 0)
		interrupted(&B);
	if (a->json) {
		qsort(B.results, B.nresults, sizeof(*B.results), cmp_results);
		print_json(&B);
		summary(&B, stderr);
	} else {
		summary(&B, stdout);
	}
	status = B.failed == 0 && atomic_load(&B.stop) == 0 ? CLI_EXIT_OK : CLI_EXIT_ERROR;
out:
	watch_finish(&B);
	if (ret != CPK_OK)
		cli_error(&err);
	if (B.fd >= 0 && B.fd != STDIN_FILENO)
		close(B.fd);
	for (i = 0; i < B.nresults; i++)
		free(B.results[i].message);
	free(B.results);
	/* Record lines hold per-card data (data.* values of sensitive items). */
	cpk_cleanse(B.line, sizeof(B.line));
	if (B.pending != NULL)
		cpk_cleanse(B.pending, strlen(B.pending));
	free(B.pending);
	card_csv_header_free(&B.hdr);
	serial_set_free(&B.seen);
	pthread_mutex_destroy(&B.mu);
	pthread_mutex_destroy(&B.wmu);
	pthread_mutex_destroy(&B.qmu);
	pthread_mutex_destroy(&B.rmu);
	pthread_cond_destroy(&B.qput);
	pthread_cond_destroy(&B.qtake);
	free(B.queue);
	cardc_registry_close(&cr);
	cpk_signer_free(&signer);
	profile_free(&p);
	cardc_pkcs11_end();
	return status;
}

static bool
parse_shard(const char *s, unsigned long *i, unsigned long *n)
{
	char buf[32];
	char *slash;

	if (strlen(s) >= sizeof(buf))
		return false;
	memcpy(buf, s, strlen(s) + 1);
	if ((slash = strchr(buf, '/')) == NULL)
		return false;
	*slash = '\0';
	return cli_parse_uint(slash + 1, 1, BATCH_MAX_SHARDS, n) &&
	    cli_parse_uint(buf, 1, *n, i);
}

static int
batch_main(int argc, char *argv[])
{
	struct batch_args a;
	int c;

	memset(&a, 0, sizeof(a));
	a.jobs = 1;
	a.shard_i = a.shard_n = 1;
	while ((c = getopt_long(argc, argv, CARDC_GETOPT_PREFIX "p:s:o:k:j:h", long_options,
	    NULL)) != -1) {
		switch (c) {
		case 'p':
			a.profile = optarg;
			break;
		case OPT_CARDS:
			a.cards = optarg;
			break;
		case 's':
			a.sign_key = optarg;
			break;
		case 'o':
			a.outdir = optarg;
			break;
		case 'k':
			a.keys = optarg;
			break;
		case 'j':
			if (!cli_parse_uint(optarg, 1, BATCH_MAX_JOBS, &a.jobs))
				return cli_usage("batch", SYNOPSIS,
				    "-j wants a number of workers from 1 to %d, not '%s'",
				    BATCH_MAX_JOBS, optarg);
			break;
		case OPT_SHARD:
			if (!parse_shard(optarg, &a.shard_i, &a.shard_n))
				return cli_usage("batch", SYNOPSIS,
				    "--shard wants I/N with 1 <= I <= N <= %d, not '%s'",
				    BATCH_MAX_SHARDS, optarg);
			break;
		case OPT_JSON:
			a.json = true;
			break;
		case OPT_REGISTRY:
			a.registry = optarg;
			break;
		case OPT_SUPERSEDE:
			if (optarg[0] == '\0')
				return cli_usage("batch", SYNOPSIS, "--supersede wants a reason");
			a.supersede = optarg;
			break;
		case 'h':
			cli_command_help(&cardc_batch_command, stdout);
			return CLI_EXIT_OK;
		default:
			if (cardc_pkcs11_getopt(c, optarg, &a.p11))
				break;
			return cli_bad_option("batch", SYNOPSIS, c, argv, long_options);
		}
	}
	if (optind < argc)
		return cli_usage("batch", SYNOPSIS, "unexpected argument '%s'", argv[optind]);
	if (a.profile == NULL)
		return cli_usage("batch", SYNOPSIS, "missing -p PROFILE");
	if (a.cards == NULL)
		return cli_usage("batch", SYNOPSIS, "missing --cards FILE");
	if (a.sign_key == NULL)
		return cli_usage("batch", SYNOPSIS, "missing -s SIGNKEY");
	if (a.outdir == NULL)
		return cli_usage("batch", SYNOPSIS, "missing -o OUTDIR");
	if (strcmp(a.outdir, "-") == 0)
		return cli_usage("batch", SYNOPSIS, "-o wants a folder, not '-'");
	if (a.keys == NULL)
		return cli_usage("batch", SYNOPSIS, "missing -k KEYDIR: key sets are read only "
		    "from the key folder you name (the profile names files in it)");
	return run(&a);
}

const struct cli_command cardc_batch_command = {
	.name = "batch",
	.run = batch_main,
	.summary = "compile a profile for every card of a file of card records",
	.synopsis = SYNOPSIS,
	.help =
	    "Compile PROFILE once for every card record of FILE and write one bundle\n"
	    "per card, OUTDIR/SERIAL.cpk (written to a temporary name, then renamed).\n"
	    "FILE ('-' reads stdin) holds JSON lines (one object per line) when its\n"
	    "first line with content starts with '{', else CSV under a header line\n"
	    "(CARD RECORDS in cpk-profile(5)). Blank lines and lines starting with\n"
	    "'#' are skipped. A bad record is reported as FILE:LINE: message and does\n"
	    "not stop the others; every record needs a serial, and a serial given\n"
	    "twice is an error for the second record (within one run). Host\n"
	    "challenges are derived from the inputs and the signing key, as in\n"
	    "compile (REPRODUCIBLE BUNDLES in cardc(1)). A summary line ends the run;\n"
	    "the exit status is 1 if any record failed.\n"
	    "\n"
	    "SIGINT (Ctrl-C), SIGTERM and SIGHUP stop the run: no card is started\n"
	    "after the signal, the cards already started are finished, no temporary\n"
	    "file is left, and a message names the last line read and the counts;\n"
	    "to resume, run batch on the records after that line. Exit status 1.\n"
	    "A signal cardc was started with ignored (nohup) stays ignored.\n"
	    "\n"
	    "  -p, --profile PROFILE    the provisioning profile\n"
	    "      --cards FILE         the card records\n"
	    "  -s, --sign-key SIGNKEY   the bundle-signing private key (cardc keygen),\n"
	    "                           or pkcs11:URI of one in a token\n"
	    "  -o, --output OUTDIR      the folder for the bundles (made if missing)\n"
	    "  -k, --keys KEYDIR        the key folder: the profile's key sets are file\n"
	    "                           names in it, and key material is read from\n"
	    "                           nowhere else\n"
	    "  -j, --jobs N             compile with N worker threads (1-64, default 1)\n"
	    "      --shard I/N          take only the records whose number, counted\n"
	    "                           from 0 in file order, leaves I-1 when divided\n"
	    "                           by N: runs with 1/N ... N/N share a file\n"
	    "      --json               print one JSON document with every record's\n"
	    "                           outcome (the summary line goes to stderr)\n"
	    "      --registry URI       record every bundle in the issuance registry\n"
	    "                           (sqlite:PATH, postgresql://...; default:\n"
	    "                           CPK_REGISTRY, then the config files; 'none':\n"
	    "                           no registry) before it is written: each\n"
	    "                           worker records up to 32 cards in one\n"
	    "                           transaction, then writes their bundles\n"
	    "      --supersede REASON   supersede each card's issued bundle for the\n"
	    "                           same counter (else such a card is refused)\n"
	    CARDC_PKCS11_HELP
	    "  -h, --help               show this help\n"
	    "\n"
	    "SOURCE_DATE_EPOCH, when set, is the creation time of every bundle.\n"
	    "With keys in a token each worker has its own token session; a card that\n"
	    "fails on a token error is reported like any failed record and the\n"
	    "worker's next card opens a new session.\n",
};
