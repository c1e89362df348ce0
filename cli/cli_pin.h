/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: reading a PIN for cardc and cardload: from a file (its first line;
 * the file must be a regular file that neither group nor others may read)
 * or from the terminal with echo off. pin receives the bytes (cap bytes at
 * most, not NUL-terminated by cli_pin_file), *len their count without the
 * line end. The caller cleanses pin.
 */
#ifndef CPK_CLI_PIN_H
#define CPK_CLI_PIN_H

#include <stdbool.h>
#include <stddef.h>
#include <termios.h>

#include "cpk_error.h"

/* A path, or "file:PATH". An empty or over-long first line is refused. */
cpk_status cli_pin_file(const char *path, char *pin, size_t cap, size_t *len,
    struct cpk_error *err);
/* Ask on /dev/tty with prompt, echo off; CPK_ERR_UNSUPPORTED: no terminal. */
cpk_status cli_pin_prompt(const char *prompt, char *pin, size_t cap, size_t *len,
    struct cpk_error *err);

/*
 * Echo off while a PIN is typed. cli_echo_off saves fd's terminal settings
 * and turns echo off only when tcgetattr succeeds (true); otherwise nothing
 * is saved (e->saved false) and cli_echo_restore does nothing, so settings
 * never read are never written back.
 */
struct cli_echo {
	int fd;
	bool saved;
	struct termios old;
};
bool cli_echo_off(int fd, struct cli_echo *e);
void cli_echo_restore(struct cli_echo *e);

#endif
