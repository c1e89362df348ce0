/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzz target: key set files, keyset_parse (compiler/keyset.h), then
 * keyset_effective_div against every profile choice and keyset_card_keys
 * for a fixed KDD.
 *
 * Nothing crashes or leaks (keys are cleansed and freed), and:
 * - a refused file gives no key set and says why, naming the file; the
 *   outcome is the same whether or not the caller passes an error structure;
 * - an accepted one holds a key version 01-FF, an algorithm and a key
 *   length that suits it, and a diversification only for master keys, of
 *   a scheme that suits the algorithm (never 'none' named with them);
 * - keyset_effective_div agrees with keyset.h: the file's scheme and the
 *   profile's must not differ, master keys need a scheme and static keys
 *   none, kdf3 is for AES and emv/visa2 for 16-byte 3DES (a file of master
 *   keys with 'diversification: none' is refused when it is read);
 * - whenever a scheme is in force, keyset_card_keys gives the card's keys
 *   with it: the static keys themselves, or keys of the same algorithm,
 *   length and version diversified from the masters.
 */
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "keyset.h"

#define NAME "fuzz-keys.yaml"

static const uint8_t kdd[SCP_KDD_LEN] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
	0x09, 0x0A };

static void
check_card_keys(const struct keyset *ks, enum gp_diversification d)
{
	struct scp_keyset out;

	memset(&out, 0, sizeof(out));
	FUZZ_CHECK(keyset_card_keys(ks, d, kdd, &out, NULL) == CPK_OK);
	FUZZ_CHECK(out.alg == ks->keys.alg && out.len == ks->keys.len && out.kvn == ks->keys.kvn);
	if (d == GP_DIV_NONE)
		FUZZ_CHECK(memcmp(out.enc, ks->keys.enc, out.len) == 0 &&
		    memcmp(out.mac, ks->keys.mac, out.len) == 0 &&
		    memcmp(out.dek, ks->keys.dek, out.len) == 0);
	scp_keyset_clear(&out);
}

/* keyset.h: master keys need a scheme, static keys none; each scheme its algorithm. */
static bool
usable(const struct keyset *ks, enum gp_diversification d)
{
	if (ks->master != (d != GP_DIV_NONE))
		return false;
	if (d == GP_DIV_KDF3)
		return ks->keys.alg == GP_KEY_AES;
	if (d == GP_DIV_EMV || d == GP_DIV_VISA2)
		return ks->keys.alg == GP_KEY_3DES && ks->keys.len == 16;
	return true;
}

static void
check_accepted(const struct keyset *ks)
{
	static const enum gp_diversification divs[] = {
		GP_DIV_NONE, GP_DIV_EMV, GP_DIV_VISA2, GP_DIV_KDF3,
	};
	enum gp_diversification d;
	size_t i;

	FUZZ_CHECK(ks->path != NULL && strcmp(ks->path, NAME) == 0);
	FUZZ_CHECK(ks->keys.kvn != 0);
	FUZZ_CHECK(ks->keys.alg == GP_KEY_AES || ks->keys.alg == GP_KEY_3DES);
	FUZZ_CHECK(gp_key_len_valid(ks->keys.alg, ks->keys.len));
	if (!ks->div_set)
		FUZZ_CHECK(ks->div == GP_DIV_NONE);
	if (!ks->master)
		FUZZ_CHECK(ks->div == GP_DIV_NONE);
	/* Master keys named with a scheme: a real one, never 'none'. */
	if (ks->master && ks->div_set)
		FUZZ_CHECK(ks->div != GP_DIV_NONE);
	if (ks->div == GP_DIV_KDF3)
		FUZZ_CHECK(ks->keys.alg == GP_KEY_AES);
	if (ks->div == GP_DIV_EMV || ks->div == GP_DIV_VISA2)
		FUZZ_CHECK(ks->keys.alg == GP_KEY_3DES && ks->keys.len == 16);

	/* The profile names no scheme, or each one in turn. */
	d = GP_DIV_NONE;
	if (keyset_effective_div(ks, false, GP_DIV_NONE, &d, NULL) == CPK_OK) {
		FUZZ_CHECK(usable(ks, ks->div) && d == ks->div);
		check_card_keys(ks, d);
	} else {
		FUZZ_CHECK(!usable(ks, ks->div));
	}
	for (i = 0; i < sizeof(divs) / sizeof(divs[0]); i++) {
		bool agree = !ks->div_set || ks->div == divs[i];

		if (keyset_effective_div(ks, true, divs[i], &d, NULL) != CPK_OK) {
			FUZZ_CHECK(!agree || !usable(ks, divs[i]));
			continue;
		}
		FUZZ_CHECK(agree && usable(ks, divs[i]) && d == divs[i]);
		check_card_keys(ks, d);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct keyset *ks = (struct keyset *)&kdd;	/* not NULL */
	struct cpk_error err;
	cpk_status st, quiet;

	/* The outcome does not depend on whether the caller wants the message. */
	quiet = keyset_parse(NAME, data, size, &ks, NULL);
	keyset_free(&ks);
	cpk_error_clear(&err);
	st = keyset_parse(NAME, data, size, &ks, &err);
	FUZZ_CHECK(st == quiet);
	if (st != CPK_OK) {
		FUZZ_CHECK(ks == NULL);
		FUZZ_CHECK(st == CPK_ERR_PARSE || st == CPK_ERR_RANGE || st == CPK_ERR_UNSUPPORTED);
		FUZZ_CHECK(err.status == st && err.msg[0] != '\0');
		FUZZ_CHECK(strcmp(err.file, NAME) == 0);
		return 0;
	}
	check_accepted(ks);
	keyset_free(&ks);
	FUZZ_CHECK(ks == NULL);
	return 0;
}
