/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: delegated management (GP Card Specification 2.3.1 section 11 and
 * Annex C): tokens and receipts, shared by the compiler (which signs
 * tokens), the receipt verifier (which checks the card's receipts) and
 * cardsim (which verifies tokens and makes receipts).
 *
 * A supplementary security domain (SSD) with the Delegated Management
 * privilege sends card content management commands that carry a token:
 * the card issuer's signature, made with its token key, which the card
 * verifies with the Token Verification public key.
 *
 *   INSTALL (for load, install, install and make selectable, make
 *   selectable, extradition, registry update): the last field, len token.
 *   DELETE: a 9E len token TLV after the 4F AID.
 *
 * Token data (C.4.1): P1 | P2 | L | the command data before the token
 * (for INSTALL up to the token's length byte, for DELETE up to the 9E
 * tag), L its length in one byte. cpk signs it with RSASSA-PKCS1-v1_5 and
 * SHA-1, the GP 2.x token scheme, deterministic (the same bundle bytes
 * from the same inputs). The token must fit the command: an RSA-1024 key
 * (128-byte tokens) leaves room for the AIDs and the secure channel.
 *
 * The card answers each delegated operation with a confirmation
 * structure (Table 11-54 of GP 2.3.1 for INSTALL, 11-22 for DELETE; for a
 * load, in the answer to the last LOAD):
 *
 *   len receipt | receipt | len counter | confirmation counter (2) |
 *   len card unique data | card unique data
 *
 * receipt = MAC with the receipt key over the receipt data (C.5):
 *
 *   len counter | counter | len CUD | CUD | len AID1 | AID1 [| len AID2 | AID2]
 *
 * with, per operation, the AIDs the command names:
 *
 *   load (last LOAD)   load file AID, security domain AID (as in INSTALL)
 *   install            executable load file AID, application AID
 *   make selectable    application AID
 *   extradition        security domain AID, application or load file AID
 *   registry update    source SD AID, application AID, destination SD AID,
 *                      len privileges | privileges, BER len parameters |
 *                      parameters (the Registry Update Receipt)
 *   delete             the AID deleted
 *
 * A registry update's source security domain is the one the application
 * is associated with: the security domain with Delegated Management that
 * takes the command (dm_set_sd); its destination is the command's
 * Security Domain AID field, or the source when that field is empty (no
 * extradition), as cpk always sends it.
 *
 * A 16-byte AES receipt key (SCP03 cards) gives the 16-byte AES-CMAC; a
 * 16-byte 3DES key (SCP02 cards) the 8-byte full triple-DES CBC-MAC with
 * padding method 2 and a zero ICV.
 */
#ifndef CPK_DM_H
#define CPK_DM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpk_bytes.h"
#include "cpk_error.h"
#include "gp_crypto.h"

#define DM_TOKEN_KEY_FILE_MAX ((size_t)16 * 1024)
#define DM_TOKEN_MAX 128		/* RSA-1024: what fits a command with its AIDs */
#define DM_RECEIPT_MAX 16
#define DM_RECEIPT_KEY_LEN 16
#define DM_MAX_AIDS 5			/* a receipt's fields after the counter and CUD */
#define DM_FIELD_MAX 255
#define DM_AID_MIN 5			/* a DELETE's AID (ISO/IEC 7816-5) */
#define DM_AID_MAX 16

enum dm_kind {
	DM_NONE = 0,		/* not a delegated operation (INSTALL [for personalization], ...) */
	DM_LOAD,		/* INSTALL [for load] */
	DM_INSTALL,		/* INSTALL [for install] or [for install and make selectable] */
	DM_SELECTABLE,		/* INSTALL [for make selectable] */
	DM_EXTRADITE,		/* INSTALL [for extradition] */
	DM_REGISTRY_UPDATE,	/* INSTALL [for registry update] */
	DM_DELETE,		/* DELETE of an application or a load file */
};

/* A plain command split as delegated management sees it (pointers into the data). */
struct dm_command {
	enum dm_kind kind;
	size_t signed_len;		/* the data the token signs: data[0..signed_len) */
	const uint8_t *token;		/* NULL: no token (or empty) */
	size_t token_len;
	/* The receipt's fields: AIDs (an empty SD AID: len 0); privileges, parameters. */
	const uint8_t *aid[DM_MAX_AIDS];
	size_t aid_len[DM_MAX_AIDS];
	size_t naids;
};

/*
 * Split a plain command (ins, p1, the data field) of untrusted origin:
 * INSTALL (E6) P1 02, 04, 08, 0C, 10, 40 and DELETE (E4) of a 4F AID (an
 * optional B6 template, then an optional 9E token, nothing else) are
 * delegated operations; every other command is DM_NONE. CPK_ERR_PARSE when
 * an INSTALL's fields do not exactly fill the data, a DELETE's AID is not
 * 5 to 16 bytes (before any receipt data is built from it) or a DELETE is not
 * 4F [B6] [9E].
 */
cpk_status dm_command_parse(uint8_t ins, uint8_t p1, const uint8_t *data, size_t n,
    struct dm_command *out, struct cpk_error *err);

/*
 * The length of a plain command's data field (ins, p1, data of n bytes,
 * built with an empty token) once a delegated operation carries a
 * token_len-byte token: *total is n for a command that takes no token.
 * CPK_ERR_PARSE as dm_command_parse.
 */
cpk_status dm_data_len(uint8_t ins, uint8_t p1, const uint8_t *data, size_t n,
    size_t token_len, size_t *total, struct cpk_error *err);

/*
 * A registry update's receipt names its source security domain (and its
 * destination when the command names none): sd, the security domain that
 * takes the command (cardsim: the selected one; the receipt verifier: the
 * bundle's). Other operations are left as they are; sd must outlive dc.
 */
void dm_set_sd(struct dm_command *dc, const uint8_t *sd, size_t len);

/* Token data: P1 | P2 | L | data[0..n) (n at most 255). out is replaced. */
cpk_status dm_token_data(uint8_t p1, uint8_t p2, const uint8_t *data, size_t n,
    struct cpk_buf *out, struct cpk_error *err);

/*
 * Sign token data with the PEM RSA private key at path (a key file:
 * ydoc_read_file's key rules): RSASSA-PKCS1-v1_5 with SHA-1. token is
 * replaced.
 */
cpk_status dm_sign_token(const char *path, const struct cpk_buf *tdata, struct cpk_buf *token,
    struct cpk_error *err);

/*
 * Give the plain command in apdu (CLA INS P1 P2 Lc data, no Le, built
 * with an empty token) the token signed with the PEM RSA key at key_path
 * (a key file: ydoc_read_file's key rules); key_path NULL (cardc check)
 * stands DM_TOKEN_MAX zero bytes in for the token. apdu is rewritten; a
 * command that is not a delegated operation is left as it is.
 * CPK_ERR_RANGE when the command with its token exceeds 255 data bytes.
 */
cpk_status dm_add_token(const char *key_path, struct cpk_buf *apdu, struct cpk_error *err);

/* The receipt MAC (see above); *maclen is 16 (AES) or 8 (3DES). */
cpk_status dm_receipt_mac(enum gp_key_alg alg, const uint8_t key[DM_RECEIPT_KEY_LEN],
    const uint8_t *data, size_t n, uint8_t mac[DM_RECEIPT_MAX], size_t *maclen,
    struct cpk_error *err);

/* Receipt data of an operation: LV counter, LV card unique data, LV each AID. */
cpk_status dm_receipt_data(const uint8_t *counter, size_t counter_len, const uint8_t *cud,
    size_t cud_len, const struct dm_command *cmd, struct cpk_buf *out,
    struct cpk_error *err);

/* A confirmation structure (pointers into the parsed bytes). */
struct dm_confirmation {
	const uint8_t *receipt, *counter, *cud;
	size_t receipt_len, counter_len, cud_len;
};

/*
 * Parse a confirmation structure of untrusted origin: exactly the three LV
 * fields (cpk asks for no token identifier nor token data digest). A
 * receipt empty or longer than DM_RECEIPT_MAX, a counter other than 2
 * bytes, bytes after the card unique data: CPK_ERR_PARSE.
 */
cpk_status dm_confirmation_parse(const uint8_t *p, size_t n, struct dm_confirmation *out,
    struct cpk_error *err);

/*
 * Check the card's confirmation for the delegated command cmd with the
 * receipt key: CPK_OK when the receipt is the MAC of its receipt data;
 * CPK_ERR_VERIFY ("the card's receipt does not verify with the receipt
 * key") or CPK_ERR_PARSE otherwise.
 */
cpk_status dm_receipt_verify(enum gp_key_alg alg, const uint8_t key[DM_RECEIPT_KEY_LEN],
    const struct dm_command *cmd, const uint8_t *resp, size_t n, struct cpk_error *err);

/*
 * Read a receipt key file: 32 hex digits and an optional line end, a key
 * file by ydoc_read_file's rules. key is cleansed on failure.
 */
cpk_status dm_receipt_key_read(const char *path, uint8_t key[DM_RECEIPT_KEY_LEN],
    struct cpk_error *err);

#endif
