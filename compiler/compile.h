/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: script assembly. One loaded profile plus one card record become the
 * command sequence of a bundle: SELECT of the security domain, INITIALIZE
 * UPDATE with its expected response, EXTERNAL AUTHENTICATE and every step's
 * commands wrapped by the secure channel (offline mode), or EXTERNAL
 * AUTHENTICATE and the wrapped commands after a live INITIALIZE UPDATE
 * carried by the card record (session mode).
 *
 * The profile is not modified, so one profile serves many cards and many
 * threads; everything per card lives in struct cpk_compiled.
 */
#ifndef CPK_COMPILE_H
#define CPK_COMPILE_H

#include <stddef.h>
#include <stdint.h>

#include "card.h"
#include "cpk_bundle.h"
#include "cpk_error.h"
#include "profile.h"

struct cpk_signer;

struct cpk_compile_opts {
	/*
	 * Offline mode: the host challenge; NULL derives one from the inputs
	 * with challenge_key (challenge.h: the same inputs, the same bundle),
	 * or, without that key, draws one from the CSPRNG.
	 */
	const uint8_t *host_challenge;
	const struct cpk_signer *challenge_key;
	/* Manifest fields the caller knows: SHA-256 of the profile file, creation time. */
	uint8_t profile_sha256[CPK_SHA256_LEN];
	uint64_t created;
	/*
	 * cardc check: the profile was resolved without keys
	 * (profile_opts.keyless). Throwaway random keys of the profile's
	 * algorithm stand in for the card's, and a session card's cryptogram
	 * is not checked: every step runs as for a real compile, and the
	 * result proves nothing but that the profile compiles for this card.
	 * It must be thrown away.
	 */
	bool keyless;
	/*
	 * cardc serve: the SERAM Local Agent verifies the card holder's PIN
	 * before the script (profile holder-pin). Without it a profile that
	 * asks for the holder's PIN is refused: an offline bundle cannot ask.
	 */
	bool holder_pin_online;
	/*
	 * The script alone: out->cmds stays NULL (cpk_bundle_write_compiled
	 * reads the commands from the script). A single compile's peak then
	 * holds no command array besides the script.
	 */
	bool script_only;
};

struct cpk_compiled {
	struct cpk_manifest manifest;
	/*
	 * script.bin, each command written as it is made, into storage sized
	 * for the load files at the start: the commands exist nowhere else.
	 */
	struct cpk_buf script;
	/* The commands, read from the script (apdu pointers into it); NULL with script_only. */
	struct cpk_command *cmds;
	size_t ncmds;
};

/*
 * Compile the commands for one card. Errors name the card field or the
 * profile step (`step 3 (load)`) that caused them. On failure *out is
 * left empty.
 */
cpk_status cpk_compile(const struct profile *p, const struct card_record *card,
    const struct cpk_compile_opts *opts, struct cpk_compiled *out, struct cpk_error *err);

/* Release the commands and the script (cleansed). NULL accepted. */
void cpk_compiled_free(struct cpk_compiled *c);
/* Release the commands and the script only (cleansed); the manifest stays. NULL accepted. */
void cpk_compiled_free_commands(struct cpk_compiled *c);

#endif
