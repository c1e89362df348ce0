/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cardload: stream signed bundles to smart cards over PC/SC, keyless. The
 * subcommand table; cli_main (cli_util.c) dispatches over it: a first
 * argument that names a subcommand runs it, anything else is the default
 * action, load.
 */
#include "cardload.h"
#include "fetch.h"

#include <stdio.h>

#include <openssl/crypto.h>

static const struct cli_command *const commands[] = {
	&cardload_load_command,
	&cardload_identify_command,
	&cardload_readers_command,
	&cardload_session_command,
};

static const struct cli_program cardload = {
	.name = "cardload",
	.intro = "usage: cardload [OPTIONS] BUNDLE|URL|-\n"
	    "       cardload COMMAND [ARGUMENTS]\n"
	    "       cardload help COMMAND\n"
	    "       cardload --help | --version\n\n"
	    "Check a signed bundle (cpk(5)) and stream it to the card it was made for.\n"
	    "cardload holds no key: the card checks every command.\n\n",
	.exit_status = "Exit status: 0 success; 1 error; 2 usage error; 3 bundle rejected before\n"
	    "anything was sent; 4 the card refused a command of the secure channel;\n"
	    "5 no reader, no card, no smart-card service, or the card was removed.\n"
	    "See cardload(1).\n",
	.commands = commands,
	.ncommands = sizeof(commands) / sizeof(commands[0]),
	.fallback = &cardload_load_command,
};

int
main(int argc, char *argv[])
{
	/*
	 * cardload holds no key and uses OpenSSL's built-in default provider
	 * only (Ed25519, SHA-256; libcurl's TLS for https and --server): the
	 * OpenSSL configuration file (OPENSSL_CONF) is never read, so none of
	 * its providers or settings load. This runs before any other OpenSSL
	 * call, libcurl's initialization included, whose own request to load
	 * the configuration is then a no-op. It also keeps the configuration
	 * parser and whatever it loads out of cardload's memory.
	 */
	if (OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL) != 1) {
		fprintf(stderr, "cardload: FAILED: initializing OpenSSL\n");
		return CLI_EXIT_ERROR;
	}
	/* The same for the shared libcrypto libcurl brings (a second copy when
	 * cardload links libcrypto statically: meson option cardload_libcrypto). */
	cpk_fetch_tls_without_config();
	return cli_main(&cardload, argc, argv);
}
