/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cardc: where the PKCS#11 module and the token's PIN come from (cardc(1),
 * KEYS IN A TOKEN). The module: --pkcs11-module, else CPK_PKCS11_MODULE,
 * else the first line that is not a comment of $XDG_CONFIG_HOME/cpk/pkcs11
 * (~/.config/cpk/pkcs11), else of SYSCONFDIR/cpk/pkcs11. The PIN:
 * --pkcs11-pin-file, else the URI's pin-source, else CPK_PKCS11_PIN, else a
 * prompt on the terminal with echo off. Never from the command line.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "cardc.h"
#include "cpk_conf.h"
#include "cpk_file.h"
#include "cli_pin.h"
#include "cli_util.h"
#include "cpk_bytes.h"
#include "cpk_config.h"
#include "p11.h"

#define CONFIG_MAX 4096

static char module_path[CONFIG_MAX];
static const char *pin_file;

/* The module path, or "" when nothing names one. */
static cpk_status
resolve_module(const char *option, struct cpk_error *err)
{
	char path[CONFIG_MAX];
	cpk_status st;

	module_path[0] = '\0';
	if (option == NULL)
		option = getenv("CPK_PKCS11_MODULE");
	if (option != NULL) {
		if (strlen(option) >= sizeof(module_path))
			return cpk_error_set(err, CPK_ERR_RANGE, "PKCS#11 module path too long");
		memcpy(module_path, option, strlen(option) + 1);
		return CPK_OK;
	}
	cpk_conf_user_path("pkcs11", path, sizeof(path));
	if (path[0] != '\0' && (st = cpk_conf_read(path, "PKCS#11 module", module_path,
	    sizeof(module_path), err)) != CPK_ERR_NOT_FOUND)
		return st;
	st = cpk_conf_read(CPK_SYSTEM_PKCS11_FILE, "PKCS#11 module", module_path,
	    sizeof(module_path), err);
	if (st == CPK_ERR_NOT_FOUND) {
		module_path[0] = '\0';
		return CPK_OK;
	}
	return st;
}

static cpk_status
get_pin(void *ctx, const char *label, const char *uri_pin_source, char *pin, size_t cap,
    size_t *len, struct cpk_error *err)
{
	const char *env;
	char prompt[160];
	cpk_status st;

	(void)ctx;
	memset(pin, 0, cap);
	if (pin_file != NULL)
		return cli_pin_file(pin_file, pin, cap - 1, len, err);
	if (uri_pin_source != NULL)
		return cli_pin_file(uri_pin_source, pin, cap - 1, len, err);
	if ((env = getenv("CPK_PKCS11_PIN")) != NULL) {
		*len = strlen(env);
		if (*len >= cap)
			return cpk_error_set(err, CPK_ERR_RANGE, "CPK_PKCS11_PIN is too long");
		memcpy(pin, env, *len);
		return CPK_OK;
	}
	snprintf(prompt, sizeof(prompt), "PIN for token '%s': ", label);
	if ((st = cli_pin_prompt(prompt, pin, cap, len, err)) == CPK_ERR_UNSUPPORTED)
		st = cpk_error_set(err, CPK_ERR_ARG, "token '%s' needs its user PIN: give "
		    "--pkcs11-pin-file FILE, set CPK_PKCS11_PIN or run on a terminal", label);
	return st;
}

bool
cardc_pkcs11_getopt(int c, const char *arg, struct cardc_pkcs11_opts *o)
{
	if (c == CARDC_OPT_PKCS11_MODULE)
		o->module = arg;
	else if (c == CARDC_OPT_PKCS11_PIN_FILE)
		o->pin_file = arg;
	else
		return false;
	return true;
}

cpk_status
cardc_pkcs11_setup(const struct cardc_pkcs11_opts *o, struct cpk_error *err)
{
	struct p11_config cfg = { module_path, get_pin, NULL };
	cpk_status st;

	pin_file = o->pin_file;
	if ((st = resolve_module(o->module, err)) != CPK_OK || module_path[0] == '\0')
		return st;
	return p11_setup(&cfg, err);
}

void
cardc_pkcs11_end(void)
{
	p11_shutdown();
}
