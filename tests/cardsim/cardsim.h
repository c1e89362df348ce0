/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cardsim: a strict GlobalPlatform 2.3 card (issuer security domain) for
 * tests. See tests/cardsim/README.md.
 *
 * This header is the card core: the card's data (identity, key sets and
 * their sequence counters, registry of load files and applications, stored
 * personalization data), its volatile state (selection, secure channel,
 * load in progress) and cardsim_process(), a pure APDU handler with no I/O.
 * The state file (cardsim_state.h) and the vpcd connection (cardsim_vpcd.h)
 * are separate, so a unit test or a fuzz target drives the core directly.
 *
 * All secure-channel cryptography comes from compiler/scp.h and
 * compiler/gp_crypto.h: the card side of the very code the compiler uses.
 */
#ifndef CARDSIM_H
#define CARDSIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpk_bytes.h"
#include "cpk_error.h"
#include "cpk_lfdb.h"
#include "scp.h"

#define CS_AID_MAX 16
#define CS_ATR_MAX 33
#define CS_DATA_MAX 255		/* CPLC, IIN, CIN, parameters */
#define CS_MAX_KEYSETS 8
#define CS_MAX_LOADFILES 32
#define CS_MAX_APPS 64
#define CS_MAX_MODULES 16	/* applets per load file */
#define CS_MAX_BLOCKS 256	/* stored STORE DATA blocks per target */
#define CS_PERSO_OPEN_MAX (5 + 65535)	/* the largest DGI: tag, FF + length, value */
#define CS_DEFAULT_MEMORY ((size_t)256 * 1024)
#define CS_DAP_KEY_MAX 600	/* DER public key: RSA up to 4096 bits */

/* Life-cycle states (GP 2.3 chapter 5). */
#define CS_LC_CARD_OP_READY 0x01
#define CS_LC_CARD_INITIALIZED 0x07
#define CS_LC_CARD_SECURED 0x0F
#define CS_LC_CARD_LOCKED 0x7F
#define CS_LC_CARD_TERMINATED 0xFF
#define CS_LC_APP_LOCKED 0x80	/* bit set over the state the application had */
#define CS_LC_LOAD_FILE_LOADED 0x01
#define CS_LC_APP_INSTALLED 0x03
#define CS_LC_APP_SELECTABLE 0x07

struct cs_aid {
	uint8_t b[CS_AID_MAX];
	size_t len;
};

/* A secure channel key set and its sequence counter. */
struct cs_keyset {
	struct scp_keyset keys;	/* static card keys (after diversification) */
	uint32_t counter;	/* SCP03: 24 bits; SCP02: 16 bits (0x10000 = exhausted) */
};

struct cs_loadfile {
	struct cs_aid aid;
	uint8_t major, minor;	/* package version */
	size_t size;		/* bytes of the Load File Data Block */
	size_t nmodules;
	struct cs_aid modules[CS_MAX_MODULES];
};

/* One STORE DATA block as received (after secure-channel decryption). */
struct cs_block {
	uint8_t p1, p2;
	uint8_t *data;
	size_t len;
};

struct cs_stored {
	struct cs_block *blocks;
	size_t n;
};

struct cs_app {
	struct cs_aid aid;
	struct cs_aid load_file;
	struct cs_aid module;
	uint8_t life_cycle;	/* CS_LC_APP_* */
	uint8_t priv[3];
	size_t priv_len;	/* 1 or 3 as given */
	uint8_t params[CS_DATA_MAX];	/* install parameters field as given */
	size_t params_len;
	/* A security domain with DAP Verification: its RSA DAP public key (DER). */
	uint8_t dap_key[CS_DAP_KEY_MAX];
	size_t dap_key_len;
	struct cs_stored stored;
};

/* Persistent data: what the state file holds. */
/*
 * The card holder's PIN the ISD checks in VERIFY (00 20 00 reference,
 * 8 bytes: ASCII digits padded with FF), with its retry counter; kept in
 * the state file, the counter written before VERIFY answers.
 */
#define CS_HOLDER_PIN_LEN 8
struct cs_holder_pin {
	bool set;
	uint8_t pin[CS_HOLDER_PIN_LEN];
	uint8_t reference;
	uint8_t tries;		/* the limit, 1..15 */
	uint8_t left;		/* 0: blocked */
};

struct cs_identity {
	struct cs_aid isd;
	uint8_t atr[CS_ATR_MAX];
	size_t atr_len;
	uint8_t cplc[CS_DATA_MAX];
	size_t cplc_len;	/* 0 = GET DATA 9F7F answers 6A88 */
	uint8_t iin[CS_DATA_MAX];
	size_t iin_len;
	uint8_t cin[CS_DATA_MAX];
	size_t cin_len;
	uint8_t kdd[SCP_KDD_LEN];
	enum scp_version scp;
	uint8_t i;
	size_t memory;		/* bytes available for load files */
	uint8_t life_cycle;	/* the card's (the ISD's): CS_LC_CARD_* */
	/*
	 * Mandated DAP verification: the ISD's DAP public key (DER
	 * SubjectPublicKeyInfo, RSA). When set, every load file must carry a
	 * DAP block for the ISD whose RSASSA-PKCS1-v1_5 SHA-256 signature over
	 * the INSTALL [for load] hash verifies.
	 */
	uint8_t dap_key[CS_DAP_KEY_MAX];
	size_t dap_key_len;
	/*
	 * Extended length: the largest command and response APDU in bytes
	 * (262 to 65535: a vpcd frame carries at most 65535); 0 = short APDUs
	 * only, an extended one answers 6700.
	 */
	size_t max_apdu;
	struct cs_holder_pin holder;	/* VERIFY (holderpin.c) */
	/*
	 * Delegated management (compiler/dm.h): the ISD's Token Verification
	 * public key (DER SubjectPublicKeyInfo, RSA), the receipt key (16
	 * bytes: AES on an SCP03 card, 3DES on an SCP02 card) and the
	 * confirmation counter of the last receipt.
	 */
	uint8_t token_key[CS_DAP_KEY_MAX];
	size_t token_key_len;
	uint8_t receipt_key[16];
	size_t receipt_key_len;
	uint16_t confirmation_counter;
};

/* Fault injection (command numbers count every APDU from 1). */
struct cs_faults {
	unsigned long drop_after;	/* 0 = off: answer command N, then vanish */
	unsigned long sw_at;		/* 0 = off: answer `sw` to command N, do nothing */
	uint16_t sw;
	/*
	 * With sw_at, a card that lies well: when the open channel's level has
	 * R-MAC and `sw` is one it protects, the faked answer carries 8 bytes
	 * where the R-MAC goes (not a valid one: the card did not run the
	 * command and does not move its R-MAC chain).
	 */
	bool fake_rmac;
	bool refuse_iu;			/* answer refuse_iu_sw to every INITIALIZE UPDATE */
	uint16_t refuse_iu_sw;
	int vanish_load_block;		/* -1 = off: vanish on receiving LOAD block P2 = N */
};

/* What the I/O layer must do after cardsim_process. */
enum cs_action {
	CS_ACTION_REPLY = 0,	/* send the response */
	CS_ACTION_REPLY_DROP,	/* send the response, then remove the card */
	CS_ACTION_VANISH,	/* remove the card without answering */
};

struct cardsim {
	struct cs_identity id;
	size_t nkeysets;
	struct cs_keyset keysets[CS_MAX_KEYSETS];
	size_t nloadfiles;
	struct cs_loadfile loadfiles[CS_MAX_LOADFILES];
	size_t napps;
	struct cs_app apps[CS_MAX_APPS];
	struct cs_stored isd_stored;	/* STORE DATA addressed to the ISD */

	struct cs_faults faults;

	/* Volatile (lost on reset and power off). */
	int selected;			/* -1 ISD, else index into apps */
	struct scp_session sc;
	struct {
		bool active;
		struct cs_aid aid;
		uint8_t hash[32];
		size_t hash_len;
		unsigned next_block;
		struct cpk_buf data;
		bool receipt;		/* delegated: the last LOAD answers a load receipt */
		struct cs_aid sd;	/* the SD AID field of INSTALL [for load] */
	} load;
	struct {
		int target;		/* -1 ISD, else index into apps */
		unsigned next_block;
		/*
		 * Plain DGI or BER-TLV bytes of this STORE DATA sequence that
		 * do not form whole objects yet: an object may continue in the
		 * next block (a large one must), but not past an encrypted
		 * block or the last one.
		 */
		struct cpk_buf open;
	} perso;
	struct {
		bool more;
		uint8_t p1;
		struct cs_aid prefix;
		bool tagged;
		size_t next;
	} status;

	/* Per command. */
	unsigned long ncommands;
	bool dirty;			/* persistent data changed: save the state */
	enum cs_action action;
	char why[256];			/* why the last command was refused (for logs) */
};

/* A card with default identity, no key set and an empty registry. NULL on OOM. */
struct cardsim *cardsim_new(void);
/* Free (cleansing keys and session); NULL accepted; *card set to NULL. */
void cardsim_free(struct cardsim **card);

/* Power on, warm reset or power off: drop everything volatile, select the ISD. */
void cardsim_reset(struct cardsim *card);

/*
 * Process one command APDU; resp receives the response (data || SW1 SW2),
 * or nothing when card->action is CS_ACTION_VANISH. Never fails: internal
 * errors answer 6F00. Afterwards card->dirty says whether persistent data
 * changed and card->why explains a refusal.
 */
void cardsim_process(struct cardsim *card, const uint8_t *cmd, size_t n, struct cpk_buf *resp);

/* Registry look-ups (NULL if absent). */
struct cs_loadfile *cardsim_find_loadfile(struct cardsim *card, const uint8_t *aid, size_t len);
struct cs_app *cardsim_find_app(struct cardsim *card, const uint8_t *aid, size_t len);
struct cs_keyset *cardsim_find_keyset(struct cardsim *card, uint8_t kvn);

/* "OP_READY", "INITIALIZED", "SECURED", "CARD_LOCKED", "TERMINATED" or "unknown". */
const char *cardsim_card_state_name(uint8_t life_cycle);

/* Bytes of card memory used by load files. */
size_t cardsim_memory_used(const struct cardsim *card);

/* The default ATR of a card with extended length (its card capabilities say so). */
void cs_extlen_default_atr(struct cs_identity *id);

/* Release a stored-data list. */
void cs_stored_clear(struct cs_stored *s);
/* Append a block (copy). */
cpk_status cs_stored_add(struct cs_stored *s, uint8_t p1, uint8_t p2, const uint8_t *data,
    size_t len, struct cpk_error *err);

#endif
