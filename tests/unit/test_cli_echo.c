/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk unit test: echo off while a PIN is typed (cli/cli_pin.h). On a
 * terminal (a pseudo-terminal made here) echo goes off and the settings
 * come back as they were; where tcgetattr fails (a pipe, a closed fd)
 * nothing is saved and the restore writes nothing back, whatever the
 * structure held before.
 */
#define _XOPEN_SOURCE 600
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli_pin.h"
#include "testlib.h"

/* A pseudo-terminal's replica side, opened for reading settings; -1 if none. */
static int
open_pty(int *master)
{
	char *name;
	int fd;

	if ((*master = posix_openpt(O_RDWR | O_NOCTTY)) < 0)
		return -1;
	if (grantpt(*master) != 0 || unlockpt(*master) != 0 ||
	    (name = ptsname(*master)) == NULL || (fd = open(name, O_RDWR | O_NOCTTY)) < 0) {
		close(*master);
		return -1;
	}
	return fd;
}

static tcflag_t
lflag(int fd)
{
	struct termios t;

	if (tcgetattr(fd, &t) != 0)
		abort();
	return t.c_lflag;
}

static void
test_terminal(void)
{
	struct cli_echo e;
	int master, fd = open_pty(&master);
	tcflag_t before;

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	before = lflag(fd);
	CHECK((before & ECHO) != 0);
	CHECK(cli_echo_off(fd, &e));
	CHECK(e.saved && e.fd == fd);
	CHECK((lflag(fd) & (ECHO | ECHONL)) == 0);
	cli_echo_restore(&e);
	CHECK(lflag(fd) == before && !e.saved);
	/* A second restore writes nothing: echo turned off since stays off. */
	CHECK(cli_echo_off(fd, &e));
	cli_echo_restore(&e);
	{
		struct termios t;

		CHECK(tcgetattr(fd, &t) == 0);
		t.c_lflag &= ~(tcflag_t)ECHO;
		CHECK(tcsetattr(fd, TCSANOW, &t) == 0);
	}
	cli_echo_restore(&e);
	CHECK((lflag(fd) & ECHO) == 0);
	close(fd);
	close(master);
}

/* tcgetattr fails: nothing saved, and a restore never writes the (garbage) struct. */
static void
test_no_terminal(void)
{
	struct cli_echo e;
	struct termios t;
	int p[2], master, fd;
	tcflag_t set;

	CHECK(pipe(p) == 0);
	memset(&e, 0xA5, sizeof(e));
	e.saved = true;
	CHECK(!cli_echo_off(p[0], &e));
	CHECK(!e.saved && e.fd == p[0]);
	close(p[0]);
	close(p[1]);
	/* A closed fd too. */
	memset(&e, 0xA5, sizeof(e));
	CHECK(!cli_echo_off(p[0], &e));
	CHECK(!e.saved);

	/*
	 * Point the unsaved record at a real terminal whose echo is off: the
	 * restore must leave that terminal exactly as it is.
	 */
	fd = open_pty(&master);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK(tcgetattr(fd, &t) == 0);
	t.c_lflag &= ~(tcflag_t)ECHO;
	CHECK(tcsetattr(fd, TCSANOW, &t) == 0);
	set = lflag(fd);
	memset(&e.old, 0xA5, sizeof(e.old));
	e.fd = fd;
	cli_echo_restore(&e);
	CHECK(lflag(fd) == set);
	close(fd);
	close(master);
}

int
main(void)
{
	test_terminal();
	test_no_terminal();
	return test_summary("cli-echo");
}
