/* SPDX-License-Identifier: BSD-2-Clause */
/* cardsim: the vpcd client loop. */
#include "cardsim_vpcd.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cardsim_state.h"

#define VPCD_POWER_OFF 0x00
#define VPCD_POWER_ON 0x01
#define VPCD_RESET 0x02
#define VPCD_GET_ATR 0x04
#define POLL_MS 200

volatile sig_atomic_t cardsim_vpcd_stop;

enum io_result {
	IO_OK,
	IO_CLOSED,	/* the peer closed the connection (or an I/O error) */
	IO_STOP,	/* a stop was requested */
};

static void
sleep_ms(long ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !cardsim_vpcd_stop)
		;
}

/*
 * A removed card comes back on SIGUSR1 (blocked by main, so it waits here
 * if it came early); SIGTERM/SIGINT interrupt the wait (their handler sets
 * cardsim_vpcd_stop). False: stop instead.
 */
static bool
wait_reinsert(void)
{
	sigset_t set;
	int sig;

	fprintf(stderr, "cardsim: card out of the reader; SIGUSR1 inserts it again\n");
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	while (!cardsim_vpcd_stop) {
		sig = sigwaitinfo(&set, NULL);
		if (sig == SIGUSR1) {
			fprintf(stderr, "cardsim: card inserted again\n");
			return true;
		}
		if (sig < 0 && errno != EINTR) {
			fprintf(stderr, "cardsim: sigwaitinfo: %s\n", strerror(errno));
			return false;
		}
	}
	return false;
}

static void
log_hex(const char *dir, const uint8_t *p, size_t n, const char *why)
{
	size_t i;

	fprintf(stderr, "cardsim: %s ", dir);
	for (i = 0; i < n; i++)
		fprintf(stderr, "%02X", p[i]);
	if (why != NULL && why[0] != '\0')
		fprintf(stderr, "  (%s)", why);
	fputc('\n', stderr);
}

/* Wait until fd is readable; IO_STOP if asked to stop meanwhile. */
static enum io_result
wait_readable(int fd)
{
	struct pollfd pfd;
	int r;

	for (;;) {
		if (cardsim_vpcd_stop)
			return IO_STOP;
		pfd.fd = fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		r = poll(&pfd, 1, POLL_MS);
		if (r > 0)
			return IO_OK;
		if (r < 0 && errno != EINTR)
			return IO_CLOSED;
	}
}

static enum io_result
read_full(int fd, uint8_t *p, size_t n)
{
	enum io_result w;
	ssize_t r;
	size_t got = 0;
	int one = 1;

	while (got < n) {
		if ((w = wait_readable(fd)) != IO_OK)
			return w;
		/*
		 * vpcd writes a frame's length and its body separately; acknowledge
		 * at once so that Nagle's algorithm on its side does not hold the
		 * body back for a delayed ACK (40 ms per command otherwise).
		 */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
		r = read(fd, p + got, n - got);
		if (r == 0)
			return IO_CLOSED;
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return IO_CLOSED;
		}
		got += (size_t)r;
	}
	return IO_OK;
}

static enum io_result
write_frame(int fd, const uint8_t *p, size_t n)
{
	static uint8_t frame[2 + 0xFFFF];
	ssize_t r;
	size_t done = 0;

	if (n > 0xFFFF)
		return IO_CLOSED;
	frame[0] = (uint8_t)(n >> 8);
	frame[1] = (uint8_t)n;
	if (n > 0)
		memcpy(frame + 2, p, n);
	while (done < 2 + n) {
		r = send(fd, frame + done, 2 + n - done, MSG_NOSIGNAL);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return IO_CLOSED;
		}
		done += (size_t)r;
	}
	return IO_OK;
}

/* Connect to vpcd, retrying until it listens; -1 when asked to stop. */
static int
connect_vpcd(const struct cardsim_vpcd_opts *o)
{
	struct addrinfo hints, *res = NULL, *ai;
	long delay = 50;
	bool told = false;
	int fd = -1, one = 1, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	while (!cardsim_vpcd_stop) {
		rc = getaddrinfo(o->host, o->port, &hints, &res);
		if (rc == 0) {
			for (ai = res; ai != NULL; ai = ai->ai_next) {
				fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
				    ai->ai_protocol);
				if (fd < 0)
					continue;
				if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
					break;
				close(fd);
				fd = -1;
			}
			freeaddrinfo(res);
			res = NULL;
			if (fd >= 0) {
				(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
				fprintf(stderr, "cardsim: card inserted (connected to vpcd at %s:%s)\n",
				    o->host, o->port);
				return fd;
			}
		}
		if (!told) {
			fprintf(stderr, "cardsim: waiting for vpcd at %s:%s%s%s\n", o->host, o->port,
			    rc != 0 ? ": " : "", rc != 0 ? gai_strerror(rc) : "");
			told = true;
		}
		sleep_ms(delay);
		if (delay < 1000)
			delay *= 2;
	}
	return -1;
}

static bool
save_if_dirty(struct cardsim *card, const struct cardsim_vpcd_opts *o)
{
	struct cpk_error err;

	if (!card->dirty || o->state_path == NULL) {
		card->dirty = false;
		return true;
	}
	cpk_error_clear(&err);
	if (cardsim_state_save(card, o->state_path, &err) != CPK_OK) {
		fprintf(stderr, "cardsim: cannot save the state: %s\n", err.msg);
		return false;
	}
	card->dirty = false;
	return true;
}

/* A 1-byte frame: power off, power on, reset (no answer), get ATR. */
static enum io_result
control(struct cardsim *card, int fd, uint8_t code)
{
	enum io_result r = IO_OK;

	switch (code) {
	case VPCD_POWER_OFF:
	case VPCD_POWER_ON:
	case VPCD_RESET:
		cardsim_reset(card);
		break;
	case VPCD_GET_ATR:
		r = write_frame(fd, card->id.atr, card->id.atr_len);
		break;
	default:
		fprintf(stderr, "cardsim: unknown vpcd control code %02X ignored\n", code);
		break;
	}
	return r;
}

enum session_end {
	END_CLOSED,	/* vpcd went away: reconnect */
	END_REMOVED,	/* a fault removed the card */
	END_STOP,
	END_FATAL,
};

/*
 * A card that stopped answering: command N arrived (and is logged) but is
 * neither run nor answered; the connection stays open. Tell the notice
 * file (a test waiting on a FIFO knows exactly where the run is), then
 * wait for SIGTERM or SIGINT.
 */
static void
freeze(const struct cardsim_vpcd_opts *o)
{
	sigset_t set, old;
	char line[64];
	int fd, n;

	fprintf(stderr, "cardsim: fault injection: frozen at command %lu\n", o->freeze_at);
	if (o->freeze_notice != NULL) {
		n = snprintf(line, sizeof(line), "frozen %lu\n", o->freeze_at);
		fd = open(o->freeze_notice, O_WRONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0 || write(fd, line, (size_t)n) != n)
			fprintf(stderr, "cardsim: cannot write %s: %s\n", o->freeze_notice,
			    strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	/* Signals blocked between the test and the wait: none is missed. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, &old);
	while (!cardsim_vpcd_stop)
		sigsuspend(&old);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

/* Serve one connection. */
static enum session_end
serve(struct cardsim *card, int fd, const struct cardsim_vpcd_opts *o, uint8_t *buf,
    struct cpk_buf *resp)
{
	enum session_end end = END_CLOSED;
	enum io_result r;
	size_t len;

	for (;;) {
		if ((r = read_full(fd, buf, 2)) != IO_OK)
			goto io;
		len = ((size_t)buf[0] << 8) | buf[1];
		if (len == 0) {
			fprintf(stderr, "cardsim: empty frame from vpcd; reconnecting\n");
			goto out;
		}
		if ((r = read_full(fd, buf, len)) != IO_OK)
			goto io;
		if (len == 1) {
			if (control(card, fd, buf[0]) != IO_OK)
				goto out;
			continue;
		}
		if (o->verbose)
			log_hex(">>", buf, len, NULL);
		if (o->freeze_at != 0 && card->ncommands + 1 == o->freeze_at) {
			freeze(o);
			end = END_STOP;
			goto out;
		}
		cardsim_process(card, buf, len, resp);
		if (!save_if_dirty(card, o)) {
			end = END_FATAL;
			goto out;
		}
		if (card->action == CS_ACTION_VANISH) {
			fprintf(stderr, "cardsim: %s\n", card->why);
			end = END_REMOVED;
			goto out;
		}
		if (o->verbose || card->why[0] != '\0')
			log_hex("<<", resp->data, resp->len, card->why);
		if (write_frame(fd, resp->data, resp->len) != IO_OK)
			goto out;
		if (card->action == CS_ACTION_REPLY_DROP) {
			fprintf(stderr, "cardsim: fault injection: card removed after command %lu\n",
			    card->ncommands);
			end = END_REMOVED;
			goto out;
		}
	}
io:
	end = r == IO_STOP ? END_STOP : END_CLOSED;
out:
	return end;
}

int
cardsim_vpcd_run(struct cardsim *card, const struct cardsim_vpcd_opts *o)
{
	static uint8_t buf[0x10000];
	struct cpk_buf resp = CPK_BUF_INIT;
	enum session_end end;
	int fd, rc = 1;

	for (;;) {
		if ((fd = connect_vpcd(o)) < 0) {
			rc = 0;
			goto out;
		}
		cardsim_reset(card);
		end = serve(card, fd, o, buf, &resp);
		close(fd);
		cardsim_reset(card);
		switch (end) {
		case END_STOP:
			rc = 0;
			goto out;
		case END_FATAL:
			rc = 1;
			goto out;
		case END_REMOVED:
			if (!o->reinsert) {
				rc = 0;
				goto out;
			}
			if (!wait_reinsert())
				goto out;
			break;
		case END_CLOSED:
			fprintf(stderr, "cardsim: vpcd closed the connection; reconnecting\n");
			break;
		}
	}
out:
	cpk_buf_free(&resp);
	cpk_cleanse(buf, sizeof(buf));
	return rc;
}
