/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: one-line configuration files (the registry URI, the PKCS#11
 * module). A file holds one value on its first line that is neither blank
 * nor a '#' comment; the value is that line without surrounding spaces or
 * its line end. The user's file is $XDG_CONFIG_HOME/cpk/NAME
 * ($HOME/.config/cpk/NAME when XDG_CONFIG_HOME is unset or not absolute).
 */
#ifndef CPK_CONF_H
#define CPK_CONF_H

#include <stddef.h>
#include <stdint.h>

#include "cpk_error.h"

/* Largest configuration file read. */
#define CPK_CONF_MAX 65536

/* The user's file called name, "" when neither variable gives a folder. */
void cpk_conf_user_path(const char *name, char *out, size_t n);

/*
 * The value in text (file `name` for messages; `what` names the value:
 * "registry URI"). CPK_ERR_NOT_FOUND when there is none; CPK_ERR_PARSE
 * for a control character; CPK_ERR_RANGE for a value of cap bytes or more.
 */
cpk_status cpk_conf_parse(const char *name, const char *what, const uint8_t *text, size_t len,
    char *out, size_t cap, struct cpk_error *err);

/*
 * The value of file path. CPK_ERR_NOT_FOUND (no message) when the file does
 * not exist or a folder on its way cannot be searched (another user's home
 * kept by su or sudo); CPK_ERR_PARSE "'PATH' names no WHAT: ..." when it
 * holds no value; the file is opened as every input is (cpk_input_open:
 * a regular file, no link).
 */
cpk_status cpk_conf_read(const char *path, const char *what, char *out, size_t cap,
    struct cpk_error *err);

#endif
