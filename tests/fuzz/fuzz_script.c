/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzz target: script.bin, cpk_script_parse and cpk_script_check_flow
 * (common/cpk_bundle.h).
 *
 * Nothing crashes or leaks, and:
 * - a refused script gives no commands and says why (parse, range or
 *   version error);
 * - an accepted one holds 1..CPK_SCRIPT_MAX_COMMANDS records that pass
 *   cpk_command_check, whose APDUs point into the input, and it re-encodes
 *   (cpk_script_encode) to exactly the input;
 * - the order check agrees, for an offline and a session manifest (those
 *   of the seeds, bundle_seeds.c) and an SCP02-level one, with the rules of
 *   cpk(5) restated here: exactly one EXTERNAL AUTHENTICATE for the
 *   manifest's level, every command after it secured and none before it;
 *   offline, it is the third command, after exactly the SELECT of the
 *   manifest's security domain and the INITIALIZE UPDATE with its host
 *   challenge and key version (or 00), and no other command is marked
 *   INITIALIZE UPDATE; session, EXTERNAL AUTHENTICATE first.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpk_apdu.h"
#include "cpk_bundle.h"
#include "fuzz.h"

static const uint8_t host_challenge[8] = { 0xF0, 0xE1, 0xD2, 0xC3, 0xB4, 0xA5, 0x96, 0x87 };
static const uint8_t sd_aid[8] = { 0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00 };

/* The seeds' manifests (bundle_seeds.c): SCP03 offline and session, SCP02 offline. */
static const struct {
	enum cpk_bundle_mode mode;
	uint8_t level;
	uint8_t kvn;
} flows[] = {
	{ CPK_MODE_OFFLINE, 0x33, 0x30 },
	{ CPK_MODE_SESSION, 0x33, 0x30 },
	{ CPK_MODE_OFFLINE, 0x01, 0x01 },
};

static struct cpk_manifest manifest;

static bool
is_command(const struct cpk_command *c, uint8_t ins, struct cpk_apdu *a)
{
	return cpk_apdu_parse(c->apdu, c->apdu_len, a, NULL) == CPK_OK && a->ins == ins;
}

/* Is the record these flags and these bytes (a header, then data, then a tail)? */
static bool
record_is(const struct cpk_command *c, uint8_t flags, const uint8_t head[5], const uint8_t *data,
    size_t dlen, uint8_t tail)
{
	return c->flags == flags && c->apdu_len == 5 + dlen + 1 &&
	    memcmp(c->apdu, head, 5) == 0 && memcmp(c->apdu + 5, data, dlen) == 0 &&
	    c->apdu[5 + dlen] == tail;
}

/* cpk(5) "Secured records", independently of cpk_script_check_flow. */
static bool
secured_ok(const struct cpk_command *c)
{
	static const char gp_ins[] = "\x82\xD8\xE2\xE4\xE6\xE8\xF0";
	struct cpk_apdu a;
	size_t k;

	if (cpk_apdu_parse(c->apdu, c->apdu_len, &a, NULL) != CPK_OK)
		return false;
	/* Secure messaging (CLA b4b3 = 01), basic channel, not the 4x-7x classes. */
	if (((a.cla >> 2) & 3) != 1 || (a.cla & 3) != 0 || (a.cla & 0x40) != 0 || a.lc < 8)
		return false;
	if (a.cla < 0x80 || memchr(gp_ins, a.ins, sizeof(gp_ins) - 1) == NULL)
		return true;
	for (k = 0; k < c->nsw; k++)
		if (c->sw[k].mask != 0xFFFF || c->sw[k].value == 0x6982 ||
		    c->sw[k].value == 0x6988)
			return false;
	return true;
}

/* cpk(5) "Command order", independently of cpk_script_check_flow. */
static bool
flow_ok(const struct cpk_manifest *m, const struct cpk_command *cmds, size_t n)
{
	const uint8_t select[5] = { 0x00, 0xA4, 0x04, 0x00, (uint8_t)sizeof(sd_aid) };
	const uint8_t iu_kvn[5] = { 0x80, 0x50, m->kvn, 0x00, 0x08 };
	const uint8_t iu_default[5] = { 0x80, 0x50, 0x00, 0x00, 0x08 };
	struct cpk_apdu a;
	size_t i, ea = 0, nea = 0, iu = 0, niu = 0;

	for (i = 0; i < n; i++) {
		if (cmds[i].flags & CPK_CMD_EXT_AUTH) {
			ea = i;
			nea++;
		}
		if (cmds[i].flags & CPK_CMD_INIT_UPDATE) {
			iu = i;
			niu++;
		}
	}
	if (nea != 1)
		return false;
	if (m->mode == CPK_MODE_OFFLINE && (niu != 1 || iu != 1 || ea != 2))
		return false;
	if (m->mode == CPK_MODE_SESSION && (niu != 0 || ea != 0))
		return false;
	for (i = 0; i < n; i++)
		if (((cmds[i].flags & CPK_CMD_SECURED) != 0) != (i >= ea))
			return false;
	if (m->mode == CPK_MODE_OFFLINE &&
	    (!record_is(&cmds[0], 0, select, sd_aid, sizeof(sd_aid), 0x00) ||
	    (!record_is(&cmds[1], CPK_CMD_INIT_UPDATE, iu_kvn, host_challenge,
	    sizeof(host_challenge), 0x00) && !record_is(&cmds[1], CPK_CMD_INIT_UPDATE, iu_default,
	    host_challenge, sizeof(host_challenge), 0x00))))
		return false;
	if (!is_command(&cmds[ea], 0x82, &a) || a.p1 != m->level || a.cla != 0x84 ||
	    a.p2 != 0 || a.lc != 16 || a.has_le || cmds[ea].nsw != 1 ||
	    cmds[ea].sw[0].value != 0x9000 || cmds[ea].sw[0].mask != 0xFFFF)
		return false;
	for (i = ea; i < n; i++)
		if (!secured_ok(&cmds[i]))
			return false;
	return true;
}

static void
check_commands(const uint8_t *data, size_t size, const struct cpk_command *cmds, size_t n)
{
	struct cpk_buf out = CPK_BUF_INIT;
	size_t i, len;

	FUZZ_CHECK(cmds != NULL && n >= 1 && n <= CPK_SCRIPT_MAX_COMMANDS);
	for (i = 0; i < n; i++) {
		const struct cpk_command *c = &cmds[i];

		/* Compared as addresses: the pointer may be anywhere. */
		FUZZ_CHECK((uintptr_t)c->apdu >= (uintptr_t)data && c->apdu_len <= size &&
		    (uintptr_t)c->apdu - (uintptr_t)data <= size - c->apdu_len);
		FUZZ_CHECK(c->apdu_len >= 4 && c->apdu_len <= CPK_APDU_MAX_LEN);
		len = strnlen(c->label, sizeof(c->label));
		FUZZ_CHECK(len >= 1 && len <= CPK_LABEL_MAX);
		FUZZ_CHECK(c->nsw >= 1 && c->nsw <= CPK_SW_MAX);
		FUZZ_CHECK((c->flags & ~CPK_CMD_FLAGS_KNOWN) == 0);
		FUZZ_CHECK(cpk_command_check(c, NULL) == CPK_OK);
	}
	FUZZ_CHECK(cpk_script_encode(cmds, n, &out, NULL) == CPK_OK);
	FUZZ_CHECK(out.len == size && memcmp(out.data, data, size) == 0);
	cpk_buf_free(&out);

	for (i = 0; i < sizeof(flows) / sizeof(flows[0]); i++) {
		cpk_status st;

		manifest.mode = flows[i].mode;
		manifest.level = flows[i].level;
		manifest.kvn = flows[i].kvn;
		st = cpk_script_check_flow(&manifest, cmds, n, NULL);
		FUZZ_CHECK((st == CPK_OK) == flow_ok(&manifest, cmds, n));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cpk_command *cmds = (struct cpk_command *)&manifest;	/* not NULL */
	struct cpk_error err;
	size_t n = 1;
	cpk_status st;

	if (!manifest.has_host_challenge) {
		memcpy(manifest.host_challenge, host_challenge, sizeof(host_challenge));
		manifest.has_host_challenge = true;
		memcpy(manifest.sd_aid, sd_aid, sizeof(sd_aid));
		manifest.sd_aid_len = sizeof(sd_aid);
	}
	cpk_error_clear(&err);
	st = cpk_script_parse(data, size, &cmds, &n, &err);
	if (st != CPK_OK) {
		FUZZ_CHECK(st == CPK_ERR_PARSE || st == CPK_ERR_RANGE || st == CPK_ERR_UNSUPPORTED);
		FUZZ_CHECK(err.status == st && err.msg[0] != '\0');
		FUZZ_CHECK(cmds == NULL && n == 0);
		return 0;
	}
	check_commands(data, size, cmds, n);
	free(cmds);
	return 0;
}
