/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: the table of secure channel protocols, their keyless facts (see
 * scp_proto.h). One row per protocol; the keyed operations are in
 * compiler/scpNN.c.
 */
#include "scp_proto.h"

#include <stdio.h>
#include <string.h>

#include "scp_iu.h"

/*
 * SCP02 (GP Card Specification 2.3.1 Appendix E). cpk implements three
 * keys, modified APDU, explicit initiation and a zero initial ICV (i & 0F
 * = 05) with any of ICV encryption (10), R-MAC (20) and pseudo-random
 * challenge (40). The response carries no i; the counter (2) comes before
 * the 6-byte challenge. Only a successful EXTERNAL AUTHENTICATE moves the
 * counter.
 */
static bool
scp02_i_valid(uint8_t i)
{
	return (i & 0x8F) == 0x05;
}

const struct scp_proto scp_proto_02 = {
	.id = 0x02,
	.name = "SCP02",
	.iu_has_i = false,
	.iu_counter_first = true,
	.iu_counter_i_bits = 0x00,
	.counter_len = 2,
	.challenge_len = 6,
	.i_valid = scp02_i_valid,
	.i_expected = ": cpk implements three-key, explicit, modified-APDU SCP02 with a zero "
	    "initial ICV (i=05, 15, 25, 35, 45, 55, 65, 75)",
	.i_pseudo = 0x40,
	.i_rmac = 0x20,
	.i_renc = 0x00,
	.counter_moves_on_iu = false,
};

/*
 * SCP03 (GP Amendment D): i = 00, 10, 20, 30, 60, 70. The response
 * carries i after the protocol byte, then the 8-byte challenge, the
 * cryptogram and, when i & 10 (pseudo-random challenge), the 3-byte
 * counter, which every INITIALIZE UPDATE moves.
 */
static bool
scp03_i_valid(uint8_t i)
{
	switch (i) {
	case 0x00: case 0x10: case 0x20: case 0x30: case 0x60: case 0x70:
		return true;
	}
	return false;
}

const struct scp_proto scp_proto_03 = {
	.id = 0x03,
	.name = "SCP03",
	.iu_has_i = true,
	.iu_counter_first = false,
	.iu_counter_i_bits = 0x10,
	.counter_len = 3,
	.challenge_len = 8,
	.i_valid = scp03_i_valid,
	.i_expected = " (expected 00, 10, 20, 30, 60 or 70)",
	.i_pseudo = 0x10,
	.i_rmac = 0x20,
	.i_renc = 0x40,
	.counter_moves_on_iu = true,
};

/* The table: a new protocol adds its row here and its number below. */
static const struct scp_proto *const protos[] = { &scp_proto_02, &scp_proto_03 };
const char *const scp_proto_numbers[] = { "02", "03", NULL };

_Static_assert(sizeof(protos) / sizeof(protos[0]) + 1 ==
    sizeof(scp_proto_numbers) / sizeof(scp_proto_numbers[0]),
    "one number per protocol row");

const struct scp_proto *
scp_proto_find(uint8_t id)
{
	size_t k;

	for (k = 0; k < sizeof(protos) / sizeof(protos[0]); k++)
		if (protos[k]->id == id)
			return protos[k];
	return NULL;
}

const struct scp_proto *
scp_proto_at(size_t k)
{
	return k < sizeof(protos) / sizeof(protos[0]) ? protos[k] : NULL;
}

void
scp_proto_list_text(char *out, size_t size)
{
	size_t k, n = sizeof(protos) / sizeof(protos[0]), used = 0;
	int w;

	if (size == 0)
		return;
	out[0] = '\0';
	for (k = 0; k < n && used < size; k++) {
		w = snprintf(out + used, size - used, "%s%02X",
		    k == 0 ? "" : k + 1 == n ? " or " : ", ", protos[k]->id);
		if (w < 0)
			break;
		used += (size_t)w;
	}
}

size_t
scp_proto_iu_counter_len(const struct scp_proto *p, uint8_t i)
{
	if (p->iu_counter_i_bits != 0 && (i & p->iu_counter_i_bits) != p->iu_counter_i_bits)
		return 0;
	return p->counter_len;
}

size_t
scp_proto_iu_len(const struct scp_proto *p, uint8_t i)
{
	return SCP_KDD_LEN + 2 + (p->iu_has_i ? 1 : 0) + scp_proto_iu_counter_len(p, i) +
	    p->challenge_len + 8;
}

cpk_status
scp_proto_i_check(const struct scp_proto *p, uint8_t i, struct cpk_error *err)
{
	if (p->i_valid(i))
		return CPK_OK;
	return cpk_error_set(err, CPK_ERR_UNSUPPORTED, "%s i=%02X is not supported%s", p->name,
	    i, p->i_expected);
}

bool
scp_proto_pseudo_random(const struct scp_proto *p, uint8_t i)
{
	return (i & p->i_pseudo) != 0;
}

bool
scp_proto_has_renc(const struct scp_proto *p)
{
	return p->i_renc != 0;
}

cpk_status
scp_proto_level_check(const struct scp_proto *p, uint8_t i, uint8_t level,
    struct cpk_error *err)
{
	uint8_t both = (uint8_t)(p->i_rmac | p->i_renc);
	cpk_status st;

	if ((st = scp_proto_i_check(p, i, err)) != CPK_OK)
		return st;
	if (scp_level_name(level) == NULL)
		return cpk_error_set(err, CPK_ERR_UNSUPPORTED,
		    "security level %02X is not supported (expected 01, 03, 11, 13 or 33)", level);
	if ((level & SCP_SL_RMAC) && (i & p->i_rmac) == 0)
		return cpk_error_set(err, CPK_ERR_UNSUPPORTED,
		    "security level %02X asks for R-MAC but %s i=%02X does not support it",
		    level, p->name, i);
	if ((level & SCP_SL_RENC) && (!scp_proto_has_renc(p) || (i & both) != both))
		return cpk_error_set(err, CPK_ERR_UNSUPPORTED,
		    "security level %02X asks for R-ENC but %s i=%02X does not support it",
		    level, p->name, i);
	return CPK_OK;
}
