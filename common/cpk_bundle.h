/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: the bundle format (cpk(5)), definitions shared by the writer
 * (compiler/bundle_write.c) and the reader (loader/bundle_read.c).
 *
 * A bundle (.cpk) is a zip archive with exactly three entries, in this
 * order, all stored (method 0, never compressed):
 *
 *   manifest.yaml   what the bundle is for: format version, compiler,
 *                   profile, card binding, secure-channel parameters, the
 *                   expected INITIALIZE UPDATE response, and the size and
 *                   SHA-256 of script.bin. Signed.
 *   manifest.sig    74 bytes: "Ed" || key id (8) || Ed25519 signature (64)
 *                   over the exact bytes of manifest.yaml. The key id is
 *                   the first 8 bytes of SHA-256 of the raw 32-byte public
 *                   key and comes first, so a reader names an unknown key
 *                   before doing any cryptography.
 *   script.bin      the commands, binary (APDUs are up to 64 KiB and binary;
 *                   a binary script keeps the reader a few bounded cursor
 *                   reads). Bound to the signature through the manifest's
 *                   script-size and script-sha256.
 *
 * Zip metadata is fixed so that the same entries give the same archive
 * bytes: every entry has the DOS time 1980-01-01 00:00:00 (the archive
 * carries no time at all; the signed creation time is the manifest's
 * `created`), Unix external attributes 0100644, no extra fields, no
 * comments. libzip 1.7.3 writes nothing else that varies (checked: no
 * extended-timestamp field, no data descriptor, no zip64 records for these
 * sizes).
 *
 * manifest.yaml is a YAML subset (read it with the failsafe schema; every
 * scalar is a string to YAML, its type comes from the table below). The
 * writer emits the keys in the order of the table; the reader is a small
 * line parser (no libyaml) that accepts exactly that shape:
 *
 *   - lines end with LF; printable ASCII only (no tab, CR or NUL); no blank
 *     lines, no comments, at most CPK_MANIFEST_LINE_MAX bytes per line;
 *   - top-level `key: value`; the sections `card:`, `channel:` and
 *     `captures:` hold lines indented by exactly two spaces;
 *   - keys appear in table order, each at most once; unknown keys refused;
 *   - values: decimal integers without leading zeros, uppercase hex of a
 *     bounded length, double-quoted strings of printable ASCII (escapes \"
 *     and \\ only), or the words offline / session;
 *   - the first line is `format: N`; N other than CPK_BUNDLE_FORMAT is
 *     refused as unsupported before anything else is read.
 *
 *   key              type          presence
 *   format           integer       required, 1
 *   compiler         string        required, 1..128 characters
 *   profile          string        required, 1..128 characters
 *   profile-sha256   hex 32        required
 *   created          integer       required, Unix time (SOURCE_DATE_EPOCH)
 *   mode             offline|session   required
 *   card:                          required section
 *     serial         string        optional, 1..64 characters
 *     kdd            hex 10        required
 *     sd-aid         hex 5..16     required
 *     iin            hex 1..32     optional
 *     cin            hex 1..32     optional
 *   channel:                       required section
 *     scp            hex 1         required, 02 or 03
 *     i              hex 1         required
 *     kvn            hex 1         required
 *     level          hex 1         required, 01 03 11 13 33 (33: SCP03 only)
 *     counter        hex 2 (SCP02) or 3 (SCP03)   offline: required
 *     host-challenge hex 8         offline: required
 *     iu-response    hex 28 (SCP02), 29 or 32 (SCP03)  offline: required
 *   commands         integer       required, 1..CPK_SCRIPT_MAX_COMMANDS
 *   script-size      integer       required, bytes of script.bin
 *   script-sha256    hex 32        required
 *   captures:                      optional section, omitted when empty
 *     NAME           integer       1..commands: the command whose response
 *                                  is kept under NAME
 *
 * A capture line's key is the capture's name ([a-z0-9][a-z0-9_-]*, at
 * most CPK_CAPTURE_NAME_MAX characters, unique); at most CPK_CAPTURE_MAX
 * lines, in ascending command order, one capture per command. The
 * captured command must be a secured command other than EXTERNAL
 * AUTHENTICATE (cpk_script_check_flow).
 *
 * Cross-field rules: an offline bundle needs an `i` with a pseudo-random
 * card challenge (SCP03 i & 10, SCP02 i & 40) and carries counter,
 * host-challenge and iu-response; iu-response must agree with kdd, kvn,
 * scp, i (SCP03) and counter.
 *
 * script.bin (all integers big-endian):
 *
 *   header  "CPKS" | version u8 (1) | count u32 (1..CPK_SCRIPT_MAX_COMMANDS)
 *   record  length u32 (of the body that follows), then the body:
 *           flags u8 | label_len u8 | label | nsw u8 |
 *           nsw x (value u16 | mask u16) | apdu_len u32 | apdu
 *
 *   - flags: CPK_CMD_* below, unknown bits refused;
 *   - label: 1..CPK_LABEL_MAX bytes of UTF-8 without control characters;
 *   - status words: 1..CPK_SW_MAX patterns; a response status word `sw` is
 *     accepted when (sw & mask) == value; each mask nibble is 0 or F and
 *     value has no bits outside the mask ("61xx" = 6100/FF00);
 *   - apdu: 4..CPK_APDU_MAX_LEN bytes, a well-formed command APDU (short or
 *     extended);
 *   - the body is consumed exactly; nothing follows the last record.
 *
 * Command order (checked by cpk_script_check_flow on both sides): exactly
 * one EXTERNAL AUTHENTICATE record (CPK_CMD_EXT_AUTH | CPK_CMD_SECURED);
 * every record after it is CPK_CMD_SECURED, none before it is. Offline
 * bundles: nothing reaches the card before it is known to be the bundle's
 * card but record 1, exactly 00 A4 04 00 Lc sd-aid 00 (flags 0), and
 * record 2, exactly 80 50 KVN 00 08 host-challenge 00 (CPK_CMD_INIT_UPDATE;
 * KVN the manifest's kvn or 00); EXTERNAL AUTHENTICATE is record 3 and
 * no other record is INITIALIZE UPDATE. Session bundles: no INITIALIZE
 * UPDATE record; EXTERNAL AUTHENTICATE is the first record.
 *
 * Secured records (also cpk_script_check_flow): EXTERNAL AUTHENTICATE is
 * 84 82 level 00 10 and accepts 9000 only; every secured record marks
 * secure messaging on the basic channel (CLA & 4F == 04) with at least 8
 * data bytes (the C-MAC); secured card management commands (CLA >= 80, INS
 * 82 D8 E2 E4 E6 E8 F0) accept exact status words only, never 6982/6988.
 * Each capture names a secured record other than EXTERNAL AUTHENTICATE.
 *
 * Key files (cardc keygen; signify-like, two lines):
 *
 *   untrusted comment: cpk public key <key id, 16 lowercase hex>[ note]
 *   base64("EP" || key id (8) || public key (32))
 *
 *   untrusted comment: cpk secret key <key id>[ note]
 *   base64("ES" || key id (8) || Ed25519 seed (32))
 *
 * The key id inside the base64 is checked against the key itself when a
 * file is read; the comment line is not trusted.
 */
#ifndef CPK_BUNDLE_H
#define CPK_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpk_apdu.h"
#include "cpk_bytes.h"
#include "cpk_error.h"
#include "cpk_text.h"	/* labels: cpk_label_bad_offset, cpk_utf8_cut */

#define CPK_BUNDLE_FORMAT 1

/* Entry names, in archive order. */
#define CPK_ENTRY_MANIFEST "manifest.yaml"
#define CPK_ENTRY_SIGNATURE "manifest.sig"
#define CPK_ENTRY_SCRIPT "script.bin"
#define CPK_ENTRY_COUNT 3

/* Hard limits (cpk(5) "LIMITS"). */
#define CPK_BUNDLE_MAX_SIZE ((size_t)16 * 1024 * 1024)	/* whole .cpk file */
#define CPK_MANIFEST_MAX_SIZE ((size_t)8192)
#define CPK_MANIFEST_LINE_MAX ((size_t)512)
#define CPK_MANIFEST_STR_MAX 128	/* compiler, profile */
#define CPK_SERIAL_MAX 64
#define CPK_CARD_DATA_MAX 32		/* iin, cin */
#define CPK_SCRIPT_MAX_SIZE (CPK_BUNDLE_MAX_SIZE - (size_t)64 * 1024)
#define CPK_SCRIPT_MAX_COMMANDS 32768
#define CPK_SCRIPT_HEADER_LEN 9
#define CPK_LABEL_MAX 64
#define CPK_SW_MAX 8
#define CPK_CAPTURE_MAX 16
#define CPK_CAPTURE_NAME_MAX 32

/* Signatures and keys. */
#define CPK_SIG_ALG "Ed"		/* manifest.sig */
#define CPK_PUBKEY_ALG "EP"		/* public key file blob */
#define CPK_SECKEY_ALG "ES"		/* secret key file blob */
#define CPK_KEY_ID_LEN 8
#define CPK_ED25519_KEY_LEN 32
#define CPK_ED25519_SIG_LEN 64
#define CPK_SIG_LEN (2 + CPK_KEY_ID_LEN + CPK_ED25519_SIG_LEN)	/* 74 */
#define CPK_KEYFILE_MAX ((size_t)4096)
#define CPK_KEY_NOTE_MAX 160		/* free text after the key id in the comment */
#define CPK_SHA256_LEN 32

/* Command flags (script.bin). */
#define CPK_CMD_SECURED 0x01	/* protected by the secure channel: never resend */
#define CPK_CMD_INIT_UPDATE 0x02	/* INITIALIZE UPDATE: response must equal the manifest's */
#define CPK_CMD_EXT_AUTH 0x04	/* EXTERNAL AUTHENTICATE: the channel opens on success */
#define CPK_CMD_FLAGS_KNOWN (CPK_CMD_SECURED | CPK_CMD_INIT_UPDATE | CPK_CMD_EXT_AUTH)

enum cpk_bundle_mode {
	CPK_MODE_OFFLINE = 1,
	CPK_MODE_SESSION = 2,
};

/*
 * Why a bundle was refused, for cli/ to choose words and advice. Every
 * value maps to "bundle rejected before anything was sent".
 */
enum cpk_bundle_fault {
	CPK_FAULT_NONE = 0,
	CPK_FAULT_CONTAINER,		/* not a zip, truncated, wrong/extra/missing/duplicate/oversized entry */
	CPK_FAULT_SIGNATURE_FORMAT,	/* manifest.sig malformed or of an unknown algorithm */
	CPK_FAULT_UNKNOWN_KEY,		/* signed by a key not among the trust anchors */
	CPK_FAULT_BAD_SIGNATURE,	/* the signature does not verify */
	CPK_FAULT_VERSION,		/* unsupported bundle format version */
	CPK_FAULT_MANIFEST,		/* signed manifest malformed or inconsistent */
	CPK_FAULT_HASH,			/* script.bin does not match the manifest */
	CPK_FAULT_SCRIPT,		/* script.bin malformed or over a limit */
};

/* Stable short name ("unknown-key"). Never NULL. */
const char *cpk_bundle_fault_name(enum cpk_bundle_fault f);

/* --- manifest --- */

/* A response the bundle asks to keep (a profile step's `capture: NAME`). */
struct cpk_capture {
	uint32_t command;			/* 1-based index of the command whose response is kept */
	char name[CPK_CAPTURE_NAME_MAX + 1];	/* [a-z0-9][a-z0-9_-]*, unique in the bundle */
};

/* Is s a capture name: 1..CPK_CAPTURE_NAME_MAX of [a-z0-9_-], not starting with _ or -? */
bool cpk_capture_name_ok(const char *s);

struct cpk_manifest {
	uint32_t format;			/* CPK_BUNDLE_FORMAT */
	char compiler[CPK_MANIFEST_STR_MAX + 1];	/* "" = writer fills "cpk VERSION" */
	char profile[CPK_MANIFEST_STR_MAX + 1];
	uint8_t profile_sha256[CPK_SHA256_LEN];
	uint64_t created;			/* Unix time */
	enum cpk_bundle_mode mode;

	/* card: */
	char serial[CPK_SERIAL_MAX + 1];	/* "" = absent */
	uint8_t kdd[10];
	uint8_t sd_aid[16];
	size_t sd_aid_len;			/* 5..16 */
	uint8_t iin[CPK_CARD_DATA_MAX];
	size_t iin_len;				/* 0 = absent */
	uint8_t cin[CPK_CARD_DATA_MAX];
	size_t cin_len;				/* 0 = absent */

	/* channel: */
	uint8_t scp;				/* 2 or 3 */
	uint8_t i;
	uint8_t kvn;
	uint8_t level;				/* security level, EXTERNAL AUTHENTICATE P1 */
	uint8_t counter[3];
	size_t counter_len;			/* 0 = absent, else the protocol's
						   counter_len (scp_proto.h) */
	uint8_t host_challenge[8];
	bool has_host_challenge;
	uint8_t iu_response[32];		/* without SW1 SW2 */
	size_t iu_response_len;			/* 0 = absent */

	/* script (the writer fills these) */
	uint32_t commands;
	uint32_t script_size;
	uint8_t script_sha256[CPK_SHA256_LEN];

	/* captures: (ascending command order) */
	struct cpk_capture captures[CPK_CAPTURE_MAX];
	size_t ncaptures;
};

/*
 * Cross-field rules (the table above and "Cross-field rules"). Both the
 * writer (before signing) and the reader (after parsing) run it.
 * CPK_ERR_UNSUPPORTED for a format other than CPK_BUNDLE_FORMAT.
 */
cpk_status cpk_manifest_check(const struct cpk_manifest *m, struct cpk_error *err);

/* Append the canonical text of a manifest (runs cpk_manifest_check first). */
cpk_status cpk_manifest_encode(const struct cpk_manifest *m, struct cpk_buf *out,
    struct cpk_error *err);

/*
 * Parse manifest text. Errors carry "manifest.yaml" and line:column.
 * CPK_ERR_UNSUPPORTED: format version; CPK_ERR_RANGE: a size or value
 * limit; CPK_ERR_PARSE: anything else.
 */
cpk_status cpk_manifest_parse(const uint8_t *text, size_t n, struct cpk_manifest *m,
    struct cpk_error *err);

/* --- script --- */

struct cpk_sw_pattern {
	uint16_t value;
	uint16_t mask;
};

struct cpk_command {
	uint8_t flags;				/* CPK_CMD_* */
	char label[CPK_LABEL_MAX + 1];		/* NUL-terminated UTF-8 */
	const uint8_t *apdu;			/* reader: points into the bundle */
	size_t apdu_len;
	struct cpk_sw_pattern sw[CPK_SW_MAX];
	size_t nsw;				/* 1..CPK_SW_MAX */
};

/*
 * "9000", "61xx", "63Cx": four characters, each a hex digit or x/X (any
 * nibble). CPK_ERR_PARSE with the offending text otherwise.
 */
cpk_status cpk_sw_pattern_parse(const char *s, struct cpk_sw_pattern *out, struct cpk_error *err);
/* "9000", "61XX" (lowercase x for wildcards: "61xx"). out has room for 5. */
void cpk_sw_pattern_format(const struct cpk_sw_pattern *p, char out[5]);
bool cpk_sw_pattern_match(const struct cpk_sw_pattern *p, uint16_t sw);
/* Does any of the command's patterns accept sw? */
bool cpk_command_accepts(const struct cpk_command *c, uint16_t sw);

/* Check one record against the limits (label, status words, APDU, flags). */
cpk_status cpk_command_check(const struct cpk_command *c, struct cpk_error *err);

/* Append script.bin for n commands (each checked with cpk_command_check). */
cpk_status cpk_script_encode(const struct cpk_command *cmds, size_t n, struct cpk_buf *out,
    struct cpk_error *err);
/*
 * The same written as the commands are made (cardc's compiler streams
 * into one script buffer): cpk_script_begin appends the header at `start`
 * (out->len before it), cpk_script_add appends the record of command
 * `index` (0-based; with check, checked with cpk_command_check first; the
 * record left out on failure; without, the caller reads the script back
 * with cpk_script_parse, which checks every record), cpk_script_finish writes the count n (1..CPK_SCRIPT_MAX_COMMANDS,
 * the caller's to check) into the header.
 */
cpk_status cpk_script_begin(struct cpk_buf *out, struct cpk_error *err);
cpk_status cpk_script_add(struct cpk_buf *out, size_t start, size_t index,
    const struct cpk_command *c, bool check, struct cpk_error *err);
void cpk_script_finish(struct cpk_buf *out, size_t start, size_t n);
/* The most bytes a command with an APDU of apdu_len bytes takes in a script. */
size_t cpk_script_record_max(size_t apdu_len);

/*
 * Parse script.bin. *out is a calloc'd array of *count commands whose apdu
 * pointers refer into p[] (keep p alive); free it with free(). Messages
 * name the command by its 1-based index. CPK_ERR_RANGE for limits,
 * CPK_ERR_UNSUPPORTED for a script version other than 1, CPK_ERR_PARSE
 * otherwise.
 */
cpk_status cpk_script_parse(const uint8_t *p, size_t n, struct cpk_command **out, size_t *count,
    struct cpk_error *err);

/* The command-order rules above, against the manifest's mode and fields. */
cpk_status cpk_script_check_flow(const struct cpk_manifest *m, const struct cpk_command *cmds,
    size_t n, struct cpk_error *err);

/*
 * Offline bundles only: records 1 and 2 are exactly the SELECT of the
 * manifest's security domain and the INITIALIZE UPDATE with its host
 * challenge (the rule above); CPK_ERR_PARSE otherwise, *bad the 0-based
 * index of the first record that is not (2 when both are right; n when
 * the expected bytes could not be built).
 */
cpk_status cpk_script_check_opening(const struct cpk_manifest *m, const struct cpk_command *cmds,
    size_t n, size_t *bad, struct cpk_error *err);

/* --- hashes, key ids, key files --- */

cpk_status cpk_sha256(const void *p, size_t n, uint8_t out[CPK_SHA256_LEN], struct cpk_error *err);

/* First 8 bytes of SHA-256 of the raw public key. */
cpk_status cpk_key_id(const uint8_t pub[CPK_ED25519_KEY_LEN], uint8_t id[CPK_KEY_ID_LEN],
    struct cpk_error *err);
/* 16 lowercase hex digits and a NUL. */
void cpk_key_id_hex(const uint8_t id[CPK_KEY_ID_LEN], char out[2 * CPK_KEY_ID_LEN + 1]);

struct cpk_pubkey {
	uint8_t key_id[CPK_KEY_ID_LEN];
	uint8_t pub[CPK_ED25519_KEY_LEN];
};

enum cpk_keyfile_kind {
	CPK_KEYFILE_PUBLIC = 1,
	CPK_KEYFILE_SECRET = 2,
};

/*
 * Append a key file: the comment line ("untrusted comment: cpk public key
 * <id>" plus " note" if note is not NULL or empty; the note is printable
 * ASCII, at most CPK_KEY_NOTE_MAX characters) and the base64 line.
 * For CPK_KEYFILE_SECRET, key is the 32-byte seed; out should be a buffer
 * the caller frees with cpk_buf_free (it cleanses).
 */
cpk_status cpk_keyfile_encode(enum cpk_keyfile_kind kind, const uint8_t key_id[CPK_KEY_ID_LEN],
    const uint8_t key[CPK_ED25519_KEY_LEN], const char *note, struct cpk_buf *out,
    struct cpk_error *err);

/*
 * Decode a key file's text (at most CPK_KEYFILE_MAX bytes): the comment
 * line, the base64 line, an optional final newline and nothing else. name
 * is used in messages. Returns the embedded key id and the 32 key bytes;
 * the key id is NOT checked against the key here (the caller derives the
 * public key; for a public key file use cpk_pubkey_parse). Every temporary
 * copy is cleansed.
 */
cpk_status cpk_keyfile_decode(const uint8_t *text, size_t n, const char *name,
    enum cpk_keyfile_kind kind, uint8_t key_id[CPK_KEY_ID_LEN],
    uint8_t key[CPK_ED25519_KEY_LEN], struct cpk_error *err);

/* Decode a public key file and check its key id against the key. */
cpk_status cpk_pubkey_parse(const uint8_t *text, size_t n, const char *name,
    struct cpk_pubkey *out, struct cpk_error *err);

/* Split manifest.sig (exactly CPK_SIG_LEN bytes, algorithm "Ed"). */
cpk_status cpk_sig_parse(const uint8_t *p, size_t n, uint8_t key_id[CPK_KEY_ID_LEN],
    const uint8_t **sig, struct cpk_error *err);

#endif
