/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: provisioning profiles (cpk-profile(5), `profile: 1`).
 *
 * Loading runs in three stages, each refusing its input with a
 * file:line:column error and leaving no partial result:
 *
 *   profile_parse    YAML -> model, with the table-driven schema of every
 *                    mapping (unknown, duplicate and missing keys, wrong
 *                    kinds and values, out-of-range numbers);
 *   profile_resolve  reads what the profile names: CAP files (relative
 *                    paths inside the profile's folder: no absolute path,
 *                    no '..', no symbolic link followed) and key set files
 *                    (plain file names in the key folder the caller gives,
 *                    never a path: key material comes only from there);
 *                    builds each load step's Load File Data Block, its
 *                    hash and its block plan;
 *   profile_check    the semantic pass: rules across fields and steps.
 *
 * profile_load does all three. A loaded profile is never modified
 * afterwards: one profile serves any number of cards (and threads). What
 * differs per card is bound late: profile_check_card checks a card record
 * against the profile, and profile_render expands a value template
 * (${card.serial}, ${data.NAME}, ...) for one card into bytes.
 */
#ifndef CPK_PROFILE_H
#define CPK_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cap.h"
#include "card.h"
#include "cpk_bundle.h"
#include "cpk_bytes.h"
#include "cpk_error.h"
#include "gp_cmd.h"
#include "gp_crypto.h"
#include "keyset.h"
#include "scp.h"

#define PROFILE_VERSION 1
#define PROFILE_FILE_MAX ((size_t)1024 * 1024)
#define PROFILE_MAX_STEPS 1024
#define PROFILE_MAX_ITEMS 256		/* STORE DATA items of one step */
#define PROFILE_MAX_ACCEPT 8		/* accepted status words of one step */
#define PROFILE_MAX_DATA 64		/* declared per-card data names */
#define PROFILE_SHA256_LEN 32

/* Where something was written in the profile (line and column from 1). */
struct profile_loc {
	unsigned line, col;
};

/* What a template placeholder stands for. */
enum profile_field {
	PROFILE_F_SERIAL = 1,		/* ${card.serial}: its ASCII characters */
	PROFILE_F_CIN,			/* ${card.cin}: bytes */
	PROFILE_F_IIN,			/* ${card.iin}: bytes */
	PROFILE_F_KDD,			/* ${card.kdd}: 10 bytes */
	PROFILE_F_CPLC,			/* ${card.cplc}: 42 bytes */
	PROFILE_F_SD_AID,		/* ${card.sd-aid}: bytes */
	PROFILE_F_DATA,			/* ${data.NAME}: the value, which must be hex */
	PROFILE_F_DATA_TEXT,		/* ${text:data.NAME}: the value's UTF-8 bytes */
};

struct profile_seg {
	enum profile_field field;	/* 0: literal bytes */
	uint8_t *bytes;			/* literal */
	size_t len;
	char *name;			/* data name for PROFILE_F_DATA* */
};

/* A byte string with placeholders: hex text and ${...} in any order. */
struct profile_tmpl {
	struct profile_seg *segs;
	size_t nsegs;
	bool fixed;			/* no placeholders: segs[0] (if any) is everything */
	struct profile_loc loc;
};

enum profile_mode {
	PROFILE_MODE_OFFLINE = 1,	/* predictable challenge: compiled without the card */
	PROFILE_MODE_SESSION,		/* card record carries the live INITIALIZE UPDATE */
};

struct profile_sd {
	bool has_aid;			/* else the card record's */
	struct gp_aid aid;
	enum scp_version scp;
	uint8_t i;
	bool has_kvn;			/* else the card record's */
	uint8_t kvn;
	uint8_t level;			/* 01 03 11 13 33 */
	enum profile_mode mode;		/* given, or by i */
	bool mode_given;
	struct profile_loc loc, loc_i, loc_level, loc_mode;
	/*
	 * delegated-management: a supplementary security domain with the
	 * Delegated Management privilege; its INSTALL and DELETE commands
	 * carry tokens signed with this key (dm.h).
	 */
	char *dm_key;			/* token-key as written, NULL: no tokens */
	char *dm_path;			/* resolved in the key folder */
	size_t dm_token_len;		/* its tokens' length (0: not known, DM_TOKEN_MAX) */
	struct profile_loc loc_dm, loc_dm_key;
};

struct profile_keys {
	char *file;			/* as written */
	char *path;			/* resolved */
	bool div_given;
	enum gp_diversification div;	/* as written in the profile */
	enum gp_diversification effective_div;	/* after profile_resolve */
	struct keyset *set;		/* after profile_resolve */
	struct profile_loc loc, loc_file;
};

enum profile_step_kind {
	PROFILE_STEP_DELETE = 1,
	PROFILE_STEP_LOAD,
	PROFILE_STEP_INSTALL,
	PROFILE_STEP_STORE_DATA,
	PROFILE_STEP_PUT_KEY,
	PROFILE_STEP_APDU,
	/* A step of the step table (compiler/step.h): one plain command, built when parsed. */
	PROFILE_STEP_CMD,
};

struct profile_delete {
	struct gp_aid aid;
	bool related;			/* P2 80 */
	bool missing_ok;		/* 6A88 accepted too */
};

struct profile_load {
	char *cap_file;			/* as written */
	char *cap_path;			/* resolved */
	bool descriptor;		/* include the Descriptor component (default true) */
	enum cap_hash hash;		/* default none */
	uint8_t params[255];		/* INSTALL [for load] load parameters */
	size_t params_len;
	/*
	 * load-parameters with sizes written 'auto' (GP_LP_* bits): profile_resolve
	 * computes them from the CAP and encodes params; the other given sizes
	 * (lp_given) are in lp_sizes.
	 */
	unsigned lp_auto, lp_given;
	uint32_t lp_sizes[3];
	struct profile_loc loc_params;
	/* dap: a DAP block signed with this key (a file in the key folder) */
	char *dap_key;			/* NULL: no DAP block */
	char *dap_path;			/* resolved */
	bool dap_has_sd;
	struct gp_aid dap_sd;		/* else the profile's security domain */
	struct profile_loc loc_dap, loc_dap_key;
	size_t block_size;		/* 0 = auto: scp_max_plain_data(scp, level, short) */
	bool block_max;			/* block-size: max (per card: profile_load_block) */
	bool has_sd;
	struct gp_aid sd;		/* security domain to load into (INSTALL [for load]) */
	/* After profile_resolve: */
	struct cap_file *cap;
	struct gp_aid package;		/* from the CAP */
	struct cpk_buf load_file;	/* [E2 DAP block] C4 <length> LFDB, cut into LOAD blocks */
	/* The Load File Data Block to load: the tail of load_file, no copy of its own. */
	struct {
		const uint8_t *data;
		size_t len;
	} lfdb;
	uint8_t lfdb_hash[CAP_HASH_MAX];
	size_t lfdb_hash_len;
	size_t block;			/* effective block size */
	struct profile_loc loc_cap, loc_block;
};

struct profile_install {
	bool has_package;		/* else the preceding load's package */
	struct gp_aid package;		/* filled from the load when not given */
	struct gp_aid applet;		/* module (applet class) AID */
	struct gp_aid instance;		/* default: the applet AID */
	uint8_t privileges[3];
	size_t privileges_len;		/* 1 or 3 */
	uint8_t params[255];		/* C9 content */
	size_t params_len;
	bool has_system_params;
	uint8_t system_params[255];	/* EF content */
	size_t system_params_len;
	bool selectable;		/* default true */
	bool combined;			/* 0C (default) rather than 04 then 08 */
	int load_step;			/* index of the load step the package comes from, -1 */
	struct profile_loc loc_applet, loc_instance;
};

struct profile_item {
	uint32_t id;			/* DGI or tag */
	struct profile_tmpl value;
	bool encrypt;
	struct profile_loc loc;
};

struct profile_store_data {
	bool has_instance;		/* else the security domain itself */
	struct gp_aid instance;		/* INSTALL [for personalization] target */
	enum gp_store_format format;
	struct profile_item *items;
	size_t nitems;
	struct profile_loc loc_instance;
};

struct profile_put_key {
	char *file;			/* as written */
	char *path;			/* resolved */
	uint8_t version;		/* new key version (the key file's) */
	bool replace;			/* P1 = old_kvn; else add (P1 = 00) */
	uint8_t old_kvn;
	struct keyset *set;		/* after profile_resolve */
	struct profile_loc loc_file;
};

struct profile_apdu {
	uint8_t header[4];		/* CLA INS P1 P2 */
	struct profile_tmpl data;	/* may be empty */
	bool has_le;
	size_t ne;			/* 1..256 */
	/* `capture: NAME`: keep the response under this name; "" = none. */
	char capture[CPK_CAPTURE_NAME_MAX + 1];
	struct profile_loc loc_capture;
};

struct step_ops;

/*
 * A table step (set-status, delete-key, extradite, registry-update): its
 * file in compiler/ parses the profile's mapping straight into the plain
 * command the card gets, which the compiler then wraps like any other.
 */
struct profile_cmd {
	const struct step_ops *ops;
	uint8_t header[4];		/* CLA INS P1 P2 */
	uint8_t data[255];
	size_t len;
	char what[48];			/* label before the AID: "SET STATUS" */
	bool has_aid;
	struct gp_aid aid;		/* appended to the label when there is one */
};

struct profile_step {
	enum profile_step_kind kind;
	char *label;			/* NULL unless given */
	uint16_t accept[PROFILE_MAX_ACCEPT];	/* status words that count as success */
	size_t naccept;
	struct profile_loc loc;
	union {
		struct profile_delete del;
		struct profile_load load;
		struct profile_install install;
		struct profile_store_data store;
		struct profile_put_key put_key;
		struct profile_apdu apdu;
		struct profile_cmd cmd;
	} u;
};

/*
 * holder-pin: the card holder must prove presence with the PIN of an
 * application or security domain before anything is sent (cpk-profile(5)).
 * Only cardc serve honours it: the SERAM Local Agent reads the PIN and
 * sends SELECT aid, VERIFY (00 20 00 reference) itself.
 */
struct profile_holder_pin {
	bool required;
	struct gp_aid aid;
	uint8_t reference;
	struct profile_loc loc;
};

struct profile {
	char *file;			/* path as given, for messages */
	char *dir;			/* the profile's folder */
	char *name;
	char *description;		/* NULL unless given */
	/* SHA-256 of the exact text profile_parse read (the manifest's profile-sha256). */
	uint8_t sha256[PROFILE_SHA256_LEN];
	struct profile_sd sd;
	struct profile_keys keys;
	struct profile_holder_pin holder_pin;
	char *data_names[PROFILE_MAX_DATA];	/* declared per-card data */
	size_t ndata;
	struct profile_step *steps;
	size_t nsteps;
	/*
	 * profile_load: the SHA-256 state after the profile's part of a derived
	 * host challenge's inputs (challenge.h), so that a batch hashes its load
	 * files once, not once per card; NULL: hashed for every card.
	 */
	void *challenge_prefix;
};

struct profile_opts {
	const char *keydir;		/* -k KEYDIR: the only folder key set files are read from */
	/*
	 * cardc check: resolve without keys. Key set names are checked as
	 * names (no folder is read), everything else as for a compile; the
	 * profile's key sets stay NULL, so it can only be compiled with
	 * cpk_compile_opts.keyless (a check, whose bundle is thrown away).
	 */
	bool keyless;
};

/* Parse, resolve and check. */
cpk_status profile_load(const char *path, const struct profile_opts *opts, struct profile **out,
    struct cpk_error *err);

/* The stages, for tests and tools. `dir` is where relative paths start. */
cpk_status profile_parse(const char *name, const char *dir, const uint8_t *text, size_t len,
    struct profile **out, struct cpk_error *err);
cpk_status profile_resolve(struct profile *p, const struct profile_opts *opts,
    struct cpk_error *err);
cpk_status profile_check(const struct profile *p, struct cpk_error *err);

void profile_free(struct profile **p);
/*
 * Free the load steps' CAP, Load File Data Block and LOAD data once the
 * last card is compiled (cardc compile: one card). The profile cannot
 * compile a load step after this; everything else in it stays.
 */
void profile_free_load_data(struct profile *p);
/*
 * Build a load step's load file from its CAP (l->cap, l->descriptor):
 * load_file, the lfdb view of its tail and lfdb_hash (l->hash). The
 * components stay in the CAP (profile_resolve drops them afterwards).
 */
cpk_status profile_load_build(struct profile_load *l, struct cpk_error *err);

/* "delete", "load", ... ("table step" for PROFILE_STEP_CMD) */
const char *profile_step_name(enum profile_step_kind kind);
/* The step's name as written in the profile: "delete", ..., "set-status". */
const char *profile_step_title(const struct profile_step *s);

/*
 * Does this card fit the profile? The card's SCP, i, security-domain AID
 * and key version must match what the profile states; the mode needs its
 * fields (session: host challenge and INITIALIZE UPDATE response; offline:
 * the sequence counter); every placeholder must find its value (CIN, IIN,
 * CPLC, serial; declared per-card data; hex where hex is needed).
 * Errors name the card field (and, for placeholders, the profile location).
 */
cpk_status profile_check_card(const struct profile *p, const struct card_record *card,
    struct cpk_error *err);

/*
 * The LOAD block size of a load step for this card: the profile's
 * (block-size: auto or a number), or with block-size: max the largest plain
 * data the card's record (card_max_lc) and the secure channel at the
 * profile's level allow (scp_max_plain_data). CPK_ERR_RANGE, at the
 * block-size location, when the load file needs more than 256 such LOAD
 * commands: "load file is 512,000 bytes; this card takes at most 61,184
 * bytes in 256 short LOAD commands at level 03 (no extended length in its
 * card record)".
 */
cpk_status profile_load_block(const struct profile *p, const struct profile_load *l,
    const struct card_record *card, size_t *block, struct cpk_error *err);

/*
 * Expand a template for one card, appending to out. Per-card data comes
 * with the card record (card.yaml 'data:', batch keys/columns data.NAME).
 */
cpk_status profile_render(const struct profile *p, const struct profile_tmpl *t,
    const struct card_record *card, struct cpk_buf *out, struct cpk_error *err);

/*
 * The INSTALL command fields of an install step (for gp_cmd_install and
 * gp_cmd_make_selectable). out points into `in`, which must outlive it.
 * P1: GP_INSTALL_FOR_INSTALL_AND_SELECTABLE when in->selectable &&
 * in->combined; else GP_INSTALL_FOR_INSTALL, followed, when selectable,
 * by INSTALL [for make selectable].
 */
void profile_install_to_gp(const struct profile_install *in, struct gp_install *out);

/* The security domain AID and key version in force for a card. */
const struct gp_aid *profile_sd_aid(const struct profile *p, const struct card_record *card);
uint8_t profile_sd_kvn(const struct profile *p, const struct card_record *card);

#endif
