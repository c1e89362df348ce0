/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: GlobalPlatform card content management commands, plain (before
 * secure-channel wrapping), per shared/PROTOCOLS.md and GP Card
 * Specification 2.3.1 chapter 11.
 *
 * Every builder replaces the contents of `out` with one short command
 * APDU (CLA 80); the
 * multi-command builders (LOAD, STORE DATA) hand each command to an emit
 * callback, so that the script assembler can wrap each one with the
 * secure-channel session as it is produced. No builder adds Le: INSTALL,
 * LOAD, DELETE, STORE DATA and PUT KEY are sent as case 3 commands.
 *
 * Nothing here knows the session. Where a command carries encrypted data
 * (PUT KEY key components, sensitive STORE DATA items), the caller passes
 * a callback that encrypts with the session (gp_wrap_key_with_session
 * adapts scp_encrypt_key).
 */
#ifndef CPK_GP_CMD_H
#define CPK_GP_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpk_bytes.h"
#include "cpk_error.h"
#include "gp_crypto.h"
#include "scp.h"

#define GP_AID_MIN 5
#define GP_AID_MAX 16

/* An application identifier: 5 to 16 bytes. */
struct gp_aid {
	uint8_t len;
	uint8_t b[GP_AID_MAX];
};

/* Set an AID from bytes (CPK_ERR_RANGE unless 5..16 bytes). */
cpk_status gp_aid_set(struct gp_aid *aid, const uint8_t *p, size_t n, struct cpk_error *err);
bool gp_aid_equal(const struct gp_aid *a, const struct gp_aid *b);
/* Uppercase hex, NUL-terminated; out must hold 33 bytes. */
void gp_aid_hex(const struct gp_aid *aid, char out[2 * GP_AID_MAX + 1]);

/* Receives each command of a multi-command builder, in order. */
typedef cpk_status (*gp_emit_fn)(void *ctx, const uint8_t *apdu, size_t n, struct cpk_error *err);

/* DELETE: 80 E4 00 P2 Lc 4F len AID; P2 80 = delete related objects too. */
cpk_status gp_cmd_delete(const struct gp_aid *aid, bool related, struct cpk_buf *out,
    struct cpk_error *err);

/*
 * INSTALL [for load]: 80 E6 02 00 Lc
 *   len load-file AID | len SD AID | len hash | len load parameters | len token
 * sd may be NULL (empty), as may hash, params and token (length 0).
 */
cpk_status gp_cmd_install_for_load(const struct gp_aid *package, const struct gp_aid *sd,
    const uint8_t *hash, size_t hashlen, const uint8_t *params, size_t paramslen,
    const uint8_t *token, size_t tokenlen, struct cpk_buf *out, struct cpk_error *err);

/*
 * Load parameters of INSTALL [for load] (GP 2.3.1 Table 11-49): the System
 * Specific Parameters EF len { C6 code, C7 vdata, C8 nvdata }, each given
 * size (bit GP_LP_CODE, GP_LP_VDATA, GP_LP_NVDATA of `given`) in 2 bytes, or
 * in 4 when it exceeds 65535. out must hold GP_LOAD_PARAMS_MAX bytes.
 */
enum { GP_LP_CODE = 1, GP_LP_VDATA = 2, GP_LP_NVDATA = 4 };
#define GP_LOAD_PARAMS_MAX 20
void gp_load_params(const uint32_t sizes[3], unsigned given, uint8_t out[GP_LOAD_PARAMS_MAX],
    size_t *len);

/*
 * The largest Load File Data Block loaded: 1 MiB (1,048,576 bytes), the
 * limit of the CAP reader (CAP_LFDB_MAX, compiler/cap.h). A compact-format
 * CAP stays below it (eleven loaded components of at most 65535 bytes each:
 * 720,918 bytes); an extended-format one (u4 sizes) can reach it.
 */
#define GP_LFDB_MAX ((size_t)1024 * 1024)
/*
 * The load file: C4 <BER length> LFDB (no DAP blocks), at most GP_LFDB_MAX
 * bytes of LFDB (BER length 83 xx xx xx above 65535). out is replaced.
 */
cpk_status gp_load_file(const uint8_t *lfdb, size_t n, struct cpk_buf *out,
    struct cpk_error *err);
/*
 * The same built in place, without a copy of the block: io holds `room`
 * bytes (gp_load_file_room of the block's size) then the LFDB; the tag and
 * length are written there. On failure io is emptied.
 */
size_t gp_load_file_room(size_t n);
cpk_status gp_load_file_frame(struct cpk_buf *io, size_t room, struct cpk_error *err);
/*
 * Number of LOAD commands for a load file of `len` bytes in blocks of
 * `block` bytes: at most 256 (P2 is one byte), CPK_ERR_RANGE otherwise
 * with a message naming both sizes.
 */
cpk_status gp_load_block_count(size_t len, size_t block, size_t *count, struct cpk_error *err);
/*
 * LOAD block `index` of a load file cut into `block`-byte pieces (1 to
 * 65535): 80 E8 P1 P2 Lc data, P1 80 on the last block else 00, P2 =
 * index; Lc is extended (00 Lc1 Lc2) for blocks over 255 bytes.
 */
cpk_status gp_cmd_load(const uint8_t *loadfile, size_t len, size_t block, size_t index,
    struct cpk_buf *out, struct cpk_error *err);
/* All LOAD commands of a load file, through `emit`. */
cpk_status gp_cmd_load_all(const uint8_t *loadfile, size_t len, size_t block, gp_emit_fn emit,
    void *ctx, struct cpk_error *err);

/* INSTALL P1 values. */
#define GP_INSTALL_FOR_LOAD 0x02
#define GP_INSTALL_FOR_INSTALL 0x04
#define GP_INSTALL_FOR_MAKE_SELECTABLE 0x08
#define GP_INSTALL_FOR_INSTALL_AND_SELECTABLE 0x0C
#define GP_INSTALL_FOR_PERSONALIZATION 0x20

struct gp_install {
	struct gp_aid package;		/* executable load file */
	struct gp_aid module;		/* executable module (applet class) */
	struct gp_aid instance;		/* application */
	uint8_t privileges[3];
	size_t privileges_len;		/* 1 or 3 */
	const uint8_t *params;		/* C9 content (may be NULL, length 0) */
	size_t params_len;
	const uint8_t *system_params;	/* EF content, only when has_system_params */
	size_t system_params_len;
	bool has_system_params;
	const uint8_t *token;
	size_t token_len;
};

/*
 * INSTALL [for install] (p1 04) or [for install and make selectable] (0C):
 *   len package | len module | len instance | len privileges |
 *   len (C9 len params [EF len system params]) | len token
 */
cpk_status gp_cmd_install(uint8_t p1, const struct gp_install *in, struct cpk_buf *out,
    struct cpk_error *err);
/* INSTALL [for make selectable] (08): 00 | 00 | len instance | len privileges | 00 | len token */
cpk_status gp_cmd_make_selectable(const struct gp_aid *instance, const uint8_t *privileges,
    size_t privileges_len, struct cpk_buf *out, struct cpk_error *err);
/* INSTALL [for personalization] (20): 00 | 00 | len instance | 00 | 00 | 00 */
cpk_status gp_cmd_install_for_personalization(const struct gp_aid *instance,
    struct cpk_buf *out, struct cpk_error *err);

/* STORE DATA formats (P1 bits 18). */
enum gp_store_format {
	GP_STORE_DGI = 0x08,
	GP_STORE_BER_TLV = 0x10,
};
/*
 * P1 encryption indicator, bits 60 (GlobalPlatform Card Specification,
 * STORE DATA P1: 00 no encryption information, 01 application dependent
 * encryption, 10 RFU, 11 encrypted data): 11, the data field holds data
 * encrypted with the data encryption key.
 */
#define GP_STORE_P1_ENCRYPTED 0x60
#define GP_STORE_P1_LAST 0x80

/*
 * Encrypts a sensitive item's value: the script assembler passes one that
 * uses the session (SCP02 session DEK, SCP03 static DEK). out is appended
 * to; its length becomes the item's length.
 */
typedef cpk_status (*gp_encrypt_fn)(void *ctx, const uint8_t *in, size_t n, struct cpk_buf *out,
    struct cpk_error *err);

struct gp_store_item {
	uint32_t id;			/* DGI (2 bytes) or BER-TLV tag (1-3 bytes) */
	const uint8_t *value;
	size_t len;
	bool encrypt;
};

/*
 * Encode one item: DGI(2) | length (1 byte below 255, else FF hi lo) |
 * value, or BER-TLV tag | BER length | value. An encrypted item's value is
 * first passed through `enc`.
 */
cpk_status gp_store_item_encode(enum gp_store_format fmt, const struct gp_store_item *item,
    gp_encrypt_fn enc, void *enc_ctx, struct cpk_buf *out, struct cpk_error *err);

/* One STORE DATA command: 80 E2 P1 P2 Lc data. */
cpk_status gp_cmd_store_data(uint8_t p1, uint8_t block, const uint8_t *data, size_t n,
    struct cpk_buf *out, struct cpk_error *err);

/*
 * A whole STORE DATA sequence. Items are encoded in order; consecutive
 * plain items are packed into one command up to `max_block` data bytes;
 * an encrypted item always gets its own command(s), flagged with P1 bit 20;
 * an item longer than max_block is split over consecutive commands. P2
 * numbers the commands from 00 (at most 256), P1 bit 80 marks the last.
 */
cpk_status gp_cmd_store_data_all(enum gp_store_format fmt, const struct gp_store_item *items,
    size_t nitems, size_t max_block, gp_encrypt_fn enc, void *enc_ctx, gp_emit_fn emit,
    void *emit_ctx, struct cpk_error *err);

/*
 * Encrypts one key for PUT KEY; out receives keylen bytes.
 * gp_wrap_key_with_session takes a struct scp_session * as ctx.
 */
typedef cpk_status (*gp_key_wrap_fn)(void *ctx, const uint8_t *key, size_t keylen, uint8_t *out,
    struct cpk_error *err);
cpk_status gp_wrap_key_with_session(void *session, const uint8_t *key, size_t keylen,
    uint8_t *out, struct cpk_error *err);

/*
 * PUT KEY of a whole key set (ENC, MAC, DEK under key identifiers 01-03):
 *   80 D8 P1 P2 Lc  new-kvn | key data(ENC) | key data(MAC) | key data(DEK)
 * P1 = old_kvn (the version replaced), or 00 to add a new version;
 * P2 = 81 (first key identifier 01, bit 80: several keys).
 * Key data, 3DES (type 80): 80 | 10 | encrypted key(16) | 03 | KCV(3).
 * Key data, AES (type 88), as GP 2.3.1 11.8.2.3 with Amendment D 1.1.1
 * 7.2 ("the key data value is the length of the key followed by the
 * encrypted key"): 88 | Lk+1 | Lk | encrypted key(Lk) | 03 | KCV(3).
 * The KCV is computed here from the plain key (gp_kcv); `wrap` encrypts.
 */
cpk_status gp_cmd_put_key(uint8_t old_kvn, const struct scp_keyset *keys, gp_key_wrap_fn wrap,
    void *wrap_ctx, struct cpk_buf *out, struct cpk_error *err);

/*
 * Any command: header (CLA INS P1 P2), data (may be empty) and an
 * optional Le (ne 1..256). Short form only.
 */
cpk_status gp_cmd_raw(const uint8_t header[4], const uint8_t *data, size_t n, bool has_le,
    size_t ne, struct cpk_buf *out, struct cpk_error *err);

#endif
