/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: PINs for the command-line programs (cli_pin.h): a PIN file's first
 * line, or the terminal with echo off. Never from the command line.
 */
#include "cli_pin.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "cpk_file.h"

cpk_status
cli_pin_file(const char *path, char *pin, size_t cap, size_t *len, struct cpk_error *err)
{
	struct stat sb;
	ssize_t n;
	size_t got = 0;
	int fd;
	cpk_status st;

	if (strncmp(path, "file:", 5) == 0)
		path += 5;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return cpk_error_set(err, CPK_ERR_IO, "cannot read PIN file '%s': %s", path,
		    strerror(errno));
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		st = cpk_error_set(err, CPK_ERR_IO, "PIN file '%s' is not a regular file", path);
		goto out;
	}
	if (sb.st_mode & 077) {
		st = cpk_error_set(err, CPK_ERR_PERMISSION, "PIN file '%s' has mode %04o: it "
		    "must not be readable by group or others (chmod 600)", path,
		    (unsigned)(sb.st_mode & 07777));
		goto out;
	}
	while (got < cap && (n = read(fd, pin + got, cap - got)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			st = cpk_io_error(err, "cannot read PIN file", path, errno);
			goto out;
		}
		got += (size_t)n;
	}
	/* The first line, within what was read (pin is not NUL-terminated here). */
	for (*len = 0; *len < got && pin[*len] != '\r' && pin[*len] != '\n'; (*len)++)
		;
	if (*len == got && got == cap) {
		st = cpk_error_set(err, CPK_ERR_RANGE, "PIN file '%s': its first line is longer "
		    "than %zu bytes", path, cap - 1);
		goto out;
	}
	if (*len == 0) {
		st = cpk_error_set(err, CPK_ERR_ARG, "PIN file '%s' holds no PIN on its first "
		    "line", path);
		goto out;
	}
	st = CPK_OK;
out:
	close(fd);
	return st;
}

bool
cli_echo_off(int fd, struct cli_echo *e)
{
	struct termios quiet;

	e->fd = fd;
	e->saved = false;
	if (tcgetattr(fd, &e->old) != 0) {
		memset(&e->old, 0, sizeof(e->old));
		return false;
	}
	e->saved = true;
	quiet = e->old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	(void)tcsetattr(fd, TCSAFLUSH, &quiet);
	return true;
}

void
cli_echo_restore(struct cli_echo *e)
{
	if (!e->saved)
		return;
	(void)tcsetattr(e->fd, TCSAFLUSH, &e->old);
	e->saved = false;
}

cpk_status
cli_pin_prompt(const char *prompt, char *pin, size_t cap, size_t *len, struct cpk_error *err)
{
	struct cli_echo echo;
	FILE *tty;
	cpk_status st = CPK_OK;

	*len = 0;
	if ((tty = fopen("/dev/tty", "r+e")) == NULL)
		return cpk_error_set(err, CPK_ERR_UNSUPPORTED, "no terminal to ask for the PIN: %s",
		    strerror(errno));
	/* Unbuffered: no copy of the PIN in stdio's buffer, which fclose frees uncleansed. */
	(void)setvbuf(tty, NULL, _IONBF, 0);
	fputs(prompt, tty);
	fflush(tty);
	(void)cli_echo_off(fileno(tty), &echo);
	if (fgets(pin, (int)cap, tty) == NULL)
		st = cpk_error_set(err, CPK_ERR_ARG, "no PIN given");
	cli_echo_restore(&echo);
	fputc('\n', tty);
	fclose(tty);
	*len = st == CPK_OK ? strcspn(pin, "\r\n") : 0;
	return st;
}
