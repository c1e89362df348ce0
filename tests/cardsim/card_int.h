/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cardsim: internals shared by the command handlers of the card core.
 */
#ifndef CARDSIM_CARD_INT_H
#define CARDSIM_CARD_INT_H

#include "cardsim.h"
#include "cpk_apdu.h"
#include "dm.h"

#define SW_OK 0x9000
#define SW_MORE_DATA 0x6310
#define SW_AUTH_FAILED 0x6300
#define SW_WRONG_LENGTH 0x6700
#define SW_CHANNEL 0x6881
#define SW_SM_UNSUPPORTED 0x6882
#define SW_CHAINING 0x6884
#define SW_SECURITY 0x6982
#define SW_CONDITIONS 0x6985
#define SW_WRONG_DATA 0x6A80
#define SW_FILE_NOT_FOUND 0x6A82
#define SW_NO_MEMORY 0x6A84
#define SW_WRONG_P1P2 0x6A86
#define SW_NOT_FOUND 0x6A88
#define SW_INS 0x6D00
#define SW_CLA 0x6E00
#define SW_INTERNAL 0x6F00

#define INS_SELECT 0xA4
#define INS_GET_DATA 0xCA
#define INS_INITIALIZE_UPDATE 0x50
#define INS_EXTERNAL_AUTHENTICATE 0x82
#define INS_DELETE 0xE4
#define INS_INSTALL 0xE6
#define INS_LOAD 0xE8
#define INS_GET_STATUS 0xF2
#define INS_STORE_DATA 0xE2
#define INS_PUT_KEY 0xD8
#define INS_GENERATE_KEY_PAIR 0x46
#define INS_VERIFY 0x20
#define INS_SET_STATUS 0xF0

/* Extended length (extlen.c): the length rule, GET DATA 7F66. */
uint16_t cs_extlen_check(struct cardsim *c, const struct cpk_apdu *a);
uint16_t cs_extlen_get_data(struct cardsim *c, struct cpk_buf *out);

/* Record why a command is refused; returns sw. */
uint16_t cs_refuse(struct cardsim *c, uint16_t sw, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* End the secure channel session and what depends on it. */
void cs_close_session(struct cardsim *c);
/* Forget a load in progress. */
void cs_abandon_load(struct cardsim *c);

/* Is the plain response limited (secure messaging overhead, Le)? */
size_t cs_response_limit(const struct cardsim *c, const struct cpk_apdu *a);

/*
 * Does this AID name a registry entry (ISD, load file, application)? Module
 * AIDs are not entries: an instance often takes its module's AID.
 */
bool cs_aid_in_use(struct cardsim *c, const uint8_t *aid, size_t len);

/* One length-prefixed field of an INSTALL command. */
struct cs_lv {
	const uint8_t *p;
	size_t n;
};
/* Split the data of INSTALL [for what] into exactly nf length-prefixed fields (6A80). */
uint16_t cs_install_fields(struct cardsim *c, const struct cpk_apdu *a, struct cs_lv *f,
    size_t nf, const char *what);

/* Card content management (content.c). */
uint16_t cs_cmd_delete(struct cardsim *c, const struct cpk_apdu *a, struct cpk_buf *out);
uint16_t cs_cmd_install(struct cardsim *c, const struct cpk_apdu *a, struct cpk_buf *out);
uint16_t cs_cmd_load(struct cardsim *c, const struct cpk_apdu *a, struct cpk_buf *out);
uint16_t cs_cmd_get_status(struct cardsim *c, const struct cpk_apdu *a, struct cpk_buf *out);
uint16_t cs_cmd_store_data(struct cardsim *c, const struct cpk_apdu *a, struct cpk_buf *out);
/* Life cycle and registry (lifecycle.c). */
uint16_t cs_cmd_set_status(struct cardsim *c, const struct cpk_apdu *a, struct cpk_buf *out);
/* DELETE whose data starts with D0 or D2: a key set. */
uint16_t cs_delete_key(struct cardsim *c, const struct cpk_apdu *a);
uint16_t cs_install_for_extradition(struct cardsim *c, const struct cpk_apdu *a);
uint16_t cs_install_for_registry_update(struct cardsim *c, const struct cpk_apdu *a);
/* May this command run in the card's life-cycle state? SW_OK or the refusal. */
uint16_t cs_life_cycle_allows(struct cardsim *c, const struct cpk_apdu *a);
/* May the application be selected (not LOCKED, the card not CARD_LOCKED)? */
bool cs_app_selectable(const struct cardsim *c, const struct cs_app *app);

/*
 * Mandated DAP (dap.c): the DAP blocks before the load file data block
 * (the first hdr bytes of the load) hold one for the ISD whose signature
 * over the INSTALL [for load] hash verifies with id.dap_key; else 6982.
 */
uint16_t cs_dap_verify(struct cardsim *c, size_t hdr);
/*
 * DAP verification by a supplementary security domain: when the load file
 * is associated (INSTALL [for load]'s SD, else the selected one) with an
 * SSD holding the DAP Verification privilege (C0) and a dap-key, the load
 * needs that SSD's DAP block, verified the same way; else 6982.
 */
uint16_t cs_ssd_dap_verify(struct cardsim *c, size_t hdr);
/* Does sig verify over msg with the DER public key (RSASSA-PKCS1-v1_5, SHA-1 or SHA-256)? */
bool cs_rsa_verify(const uint8_t *der, size_t derlen, bool sha1, const uint8_t *msg, size_t n,
    const uint8_t *sig, size_t siglen);

/*
 * Delegated management (delegated.c, compiler/dm.h). A supplementary
 * security domain is an application with the Security Domain privilege
 * (80); with Delegated Management (20) too, the card content management
 * commands sent through its secure channel need a token that verifies
 * with id.token_key, and are answered with a receipt made with
 * id.receipt_key.
 */
bool cs_selected_is_sd(const struct cardsim *c);
/* The selected security domain's AID: the ISD's, or the selected SSD's. */
const struct cs_aid *cs_selected_sd_aid(const struct cardsim *c);
/* The ISD or an SSD of the card? */
bool cs_is_sd(const struct cardsim *c, const uint8_t *aid, size_t n);
/*
 * Check the token of an INSTALL or DELETE: *dc is the command as dm.h
 * splits it; *receipt says whether a receipt is due (the selected SD has
 * the Delegated Management privilege). A token where none may be, none
 * where one must be, a token that does not verify: 6A80.
 */
uint16_t cs_dm_check(struct cardsim *c, const struct cpk_apdu *a, struct dm_command *dc,
    bool *receipt);
/* Answer a delegated operation with its confirmation (resp replaced). */
uint16_t cs_dm_confirm(struct cardsim *c, const struct dm_command *dc, struct cpk_buf *resp);

/* Key management (putkey.c). */
uint16_t cs_cmd_put_key(struct cardsim *c, const struct cpk_apdu *a, struct cpk_buf *out);
/* GENERATE KEY PAIR for the instance the data names (keypair.c). */
uint16_t cs_cmd_verify(struct cardsim *c, const struct cpk_apdu *a, struct cpk_buf *out);
uint16_t cs_cmd_generate_key_pair(struct cardsim *c, const struct cpk_apdu *a,
    struct cpk_buf *out);

#endif
