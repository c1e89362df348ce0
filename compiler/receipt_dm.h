/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: the card's delegated-management receipts in a run receipt
 * (receipt.c's walk; formats in dm.h).
 *
 * A bundle compiled for a security domain with Delegated Management sends
 * INSTALL and DELETE commands with tokens; the card answers each with a
 * confirmation whose receipt is a MAC with the receipt key (a load's in
 * the answer to its last LOAD). cardload keeps every answer in the run
 * receipt; receipt_verify checks each confirmation against the command it
 * answers with the receipt key, read from the key folder as
 * KEYDIR/RECEIPT_DM_KEY_FILE (32 hex digits, a key file: mode 0600, not a
 * link) when -k names a folder, or from the folder of the key set file -k
 * names. A bundle without tokens reads no receipt key.
 */
#ifndef CPK_RECEIPT_DM_H
#define CPK_RECEIPT_DM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpk_error.h"
#include "dm.h"

#define RECEIPT_DM_KEY_FILE "dm-receipt.key"

/* The fields a receipt names (AIDs, a registry update's privileges and parameters). */
struct receipt_dm_op {
	enum dm_kind kind;
	uint8_t aid[DM_MAX_AIDS][DM_FIELD_MAX];
	size_t len[DM_MAX_AIDS];
	size_t naids;
};

struct receipt_dm {
	const char *keys;		/* -k: a key folder or a key set file */
	uint8_t scp;			/* the bundle's: 2 or 3 */
	const uint8_t *sd_aid;		/* the bundle's security domain (a registry update's) */
	size_t sd_aid_len;
	bool has_key;
	uint8_t key[DM_RECEIPT_KEY_LEN];
	bool pending_load;		/* INSTALL [for load] with a token, LOAD to come */
	struct receipt_dm_op load;
	bool expect;			/* the answer to command `index` is a confirmation */
	size_t index;			/* 0-based */
	struct receipt_dm_op op;
	size_t verified;
};

/* Forget the key (cleansed). */
void receipt_dm_clear(struct receipt_dm *d);

/*
 * The plain command `index` (0-based) of the bundle: note whether its
 * answer must be a confirmation. Reads the receipt key at the first
 * command with a token (CPK_ERR_NOT_FOUND naming the file when missing).
 */
cpk_status receipt_dm_command(struct receipt_dm *d, size_t index, const uint8_t *plain,
    size_t n, struct cpk_error *err);

/*
 * The plain answer (data without status word) to command `index`,
 * accepted by its status word: when a confirmation is due, it must verify
 * (CPK_ERR_VERIFY or CPK_ERR_PARSE with the reason in err).
 */
cpk_status receipt_dm_response(struct receipt_dm *d, size_t index, const uint8_t *p, size_t n,
    struct cpk_error *err);

#endif
