/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: the issuance registry. One store of every bundle cardc issues: the
 * card it is for, the profile, the bundle's SHA-256, the sequence counter
 * it is bound to, its state, the card's personalization data (sealed by
 * the caller, opaque here) and an event log.
 *
 * One interface over several back ends (registry_int.h): SQLite
 * ("sqlite:PATH", a file in WAL mode) and PostgreSQL ("postgresql://..."
 * or "postgres://..."). Every write is one transaction. A handle may be
 * shared by threads: calls on it are serialized (a walk's callback may
 * call the registry again).
 *
 * States: issued -> loaded | failed | superseded | revoked; loaded ->
 * revoked | failed; failed -> loaded (a receipt proves a later run loaded
 * the bundle). A card with a revoked bundle is revoked: it gets no new
 * bundle and its receipts are refused (a lost card is re-issued to another
 * card, registry_reissue). A card (serial) and counter have at most one bundle
 * that is not failed or superseded (single use); a unique index enforces
 * it, so concurrent writers on several hosts cannot both succeed.
 */
#ifndef CPK_REGISTRY_H
#define CPK_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpk_error.h"

/* The newest schema this build knows (see registry.c for the steps). */
#define REGISTRY_SCHEMA_VERSION 3

#define REGISTRY_URI_MAX 1024
#define REGISTRY_SERIAL_MAX 64
#define REGISTRY_NAME_MAX 128
#define REGISTRY_REASON_MAX 256
#define REGISTRY_HASH_LEN 32
#define REGISTRY_HEX_HASH (2 * REGISTRY_HASH_LEN + 1)
/* Counter text: 6 hex digits, or "hc:" and 16 hex digits (see registry_issue). */
#define REGISTRY_COUNTER_MAX 20
#define REGISTRY_DATA_MAX (256 * 1024)
/* The registry data key file in the key folder (cardc registry keygen). */
#define REGISTRY_DATA_KEY_FILE "registry-data.key"

enum registry_state {
	REGISTRY_ISSUED = 0,
	REGISTRY_LOADED,
	REGISTRY_FAILED,
	REGISTRY_SUPERSEDED,
	REGISTRY_REVOKED,
	REGISTRY_NSTATES
};

/* "issued", ... */
const char *registry_state_name(enum registry_state s);
/* false if name is no state. */
bool registry_state_parse(const char *name, enum registry_state *out);
/* May a bundle go from `from` to `to`? */
bool registry_state_allowed(enum registry_state from, enum registry_state to);

struct registry;

/*
 * Where the registry is, by precedence: `option` (--registry), the
 * environment variable CPK_REGISTRY, $XDG_CONFIG_HOME/cpk/registry
 * ($HOME/.config/cpk/registry when XDG_CONFIG_HOME is unset), then
 * SYSCONFDIR/cpk/registry. A config file's first line that is neither
 * blank nor a '#' comment is the URI. "none" at any level means no
 * registry. *found is false when no level names one (or "none").
 * `source` receives where the URI came from ("--registry", "CPK_REGISTRY"
 * or the file's path), for messages.
 */
cpk_status registry_uri_resolve(const char *option, char *uri, size_t urilen, bool *found,
    char *source, size_t srclen, struct cpk_error *err);

/*
 * The config file's text: the first line that is neither blank nor a
 * comment, without surrounding spaces or its line end. CPK_ERR_NOT_FOUND
 * when there is none; CPK_ERR_PARSE for a NUL byte or a control character;
 * CPK_ERR_RANGE for a line of urilen bytes or more.
 */
cpk_status registry_config_parse(const char *name, const uint8_t *text, size_t len, char *uri,
    size_t urilen, struct cpk_error *err);

/* The URI with any password replaced by "***" (user:***@, password=***). */
void registry_uri_redact(const char *uri, char *out, size_t outlen);

/*
 * Open the registry a URI names. With `create` a SQLite file that does
 * not exist is made (mode 0600, for registry_init); without, a missing
 * file is CPK_ERR_NOT_FOUND. The schema is not touched: registry_init
 * and registry_migrate change it, registry_check says whether this
 * build can use it.
 */
cpk_status registry_open(const char *uri, bool create, struct registry **out,
    struct cpk_error *err);
/* NULL accepted; *r set to NULL. */
void registry_close(struct registry **r);
/* The redacted URI, for messages. */
const char *registry_name(const struct registry *r);

/* The schema version in the store (0: none yet). */
cpk_status registry_version(struct registry *r, int *version, struct cpk_error *err);
/*
 * Create the schema in an empty store (CPK_ERR_STATE if one exists:
 * use migrate), or bring an older one up to REGISTRY_SCHEMA_VERSION, each
 * step in its own transaction. *from receives the version found.
 * A schema newer than this build knows is CPK_ERR_UNSUPPORTED.
 */
cpk_status registry_init(struct registry *r, struct cpk_error *err);
cpk_status registry_migrate(struct registry *r, int *from, struct cpk_error *err);
/* The schema is exactly REGISTRY_SCHEMA_VERSION (else what to run). */
cpk_status registry_check(struct registry *r, struct cpk_error *err);

/* One bundle to record (what cardc knows when it has built it). */
struct registry_issue {
	const char *serial;		/* required */
	const char *kdd;		/* hex */
	const char *iin, *cin;		/* hex, NULL when absent */
	const char *profile;		/* the profile's name */
	const char *profile_sha256;	/* hex */
	const char *bundle_sha256;	/* hex */
	const char *mode;		/* "offline" | "session" */
	/* The sequence counter the bundle is bound to (hex); a session bundle
	 * whose card reports none: "hc:" and its host challenge. */
	const char *counter;
	uint64_t created;		/* the bundle's creation time */
	const char *data;		/* sealed personalization data (hex), NULL if none */
	const char *supersede;		/* a reason: supersede an issued bundle; NULL: refuse */
};

/*
 * Record a bundle, state issued, in one transaction. The same bundle again
 * (the same inputs compile to the same bytes) is recorded already: CPK_OK,
 * nothing changes. If the card and
 * counter already have another bundle that is neither failed nor superseded,
 * the new one is refused (CPK_ERR_STATE, naming that bundle and its
 * state) unless `supersede` is given and that bundle is issued: it is
 * then marked superseded, with the reason and a link to the new one.
 */
cpk_status registry_record(struct registry *r, const struct registry_issue *in,
    struct cpk_error *err);

/*
 * Record n bundles in one transaction (one commit for what a batch worker
 * compiled). Each is checked as by registry_record: a refused one gets its
 * status in st[i] and its message in errs[i], and the others are recorded.
 * If the transaction itself fails (another writer won a race, the
 * connection broke), each bundle is recorded on its own instead. Returns
 * the first st[i] that is not CPK_OK, or CPK_OK.
 */
cpk_status registry_record_many(struct registry *r, const struct registry_issue *in, size_t n,
    cpk_status *st, struct cpk_error *errs);

/*
 * Set a bundle's state by its SHA-256 (hex), with an optional reason and
 * an optional bundle that replaces it (replaced_by, hex), and log it.
 * CPK_ERR_NOT_FOUND: no such bundle; CPK_ERR_STATE: a transition
 * registry_state_allowed refuses.
 */
cpk_status registry_set_state(struct registry *r, const char *bundle_sha256,
    enum registry_state to, const char *reason, const char *replaced_by,
    struct cpk_error *err);

/* Captured data: a value a card returned that the profile named (capture:). */
#define REGISTRY_CAPTURES_MAX 16
#define REGISTRY_CAPTURE_NAME_MAX 32
#define REGISTRY_CAPTURE_VALUE_MAX 258		/* bytes (hex in the store) */

struct registry_capture {
	const char *name;
	const char *value_hex;
};

/* What a verified receipt proved about its bundle (cardc receipt import). */
struct registry_receipt {
	const char *bundle_sha256;	/* hex */
	enum registry_state state;	/* loaded or failed */
	const char *reason;		/* the verdict, one sentence */
	const struct registry_capture *captures;
	size_t ncaptures;
};

struct registry_import_result {
	char serial[REGISTRY_SERIAL_MAX + 1];	/* the bundle's card */
	enum registry_state before, after;
	bool changed;			/* false: the state stays (already recorded) */
};

/*
 * Record a receipt's verdict in one transaction: keep the captured values
 * (a name already kept must have the same value: CPK_ERR_STATE otherwise),
 * then move the bundle issued -> loaded|failed, or failed -> loaded (a
 * later run proved the load), and log it. A bundle already loaded stays
 * loaded (a receipt of a later run that failed changes nothing), and the
 * same state again changes nothing: out->changed is false. Refused
 * (CPK_ERR_STATE, nothing recorded): a card that is revoked (the message
 * names the card that replaced it), a superseded bundle, a state changed
 * by a concurrent import. CPK_ERR_NOT_FOUND: no such bundle.
 */
cpk_status registry_import(struct registry *r, const struct registry_receipt *in,
    struct registry_import_result *out, struct cpk_error *err);


/*
 * Re-issue a lost or broken card: in one transaction, record `in` (the
 * bundle for the new card, state issued, as registry_record does) and
 * mark every issued or loaded bundle of card `lost_serial` revoked, with
 * `reason` (NULL: "lost; re-issued as card NEW") and replaced_by = the new
 * bundle; log "revoked" and "reissued-as" (detail: the new serial) on the
 * lost card, "reissue-of" (detail: the lost serial) on the new one.
 * Refused: the serials are the same (CPK_ERR_ARG); the lost card has no
 * bundle (CPK_ERR_NOT_FOUND); the lost card has no issued or loaded bundle,
 * is revoked already (a second re-issue, or one that lost a race with
 * another: the message names the card that replaced it), the new card is
 * revoked or has a live (issued or loaded) bundle (CPK_ERR_STATE).
 * in->supersede must be NULL. source_sha256 is the bundle whose data the
 * new bundle carries (registry_reissue_source): it must still be one of the
 * lost card's live bundles when they are revoked (CPK_ERR_STATE otherwise:
 * the card changed since its data was read).
 */
cpk_status registry_reissue(struct registry *r, const struct registry_issue *in,
    const char *lost_serial, const char *source_sha256, const char *reason,
    struct cpk_error *err);

/* A card's revocation: its newest revoked bundle, and what replaced it. */
struct registry_revocation {
	bool revoked;
	char bundle_sha256[REGISTRY_HEX_HASH];		/* the revoked bundle */
	char reason[REGISTRY_REASON_MAX + 1];
	char replaced_by[REGISTRY_HEX_HASH];		/* "" when none */
	char replaced_by_serial[REGISTRY_SERIAL_MAX + 1];	/* the new card, "" when none */
};

/*
 * Is card `serial` revoked (does it have a revoked bundle)? A revoked card
 * gets no new bundle (registry_record, registry_record_many and
 * registry_reissue refuse it) and its receipts are refused.
 */
cpk_status registry_card_revoked(struct registry *r, const char *serial,
    struct registry_revocation *out, struct cpk_error *err);

/*
 * CPK_OK if card `serial` is not revoked; else CPK_ERR_STATE with the
 * message every refusal of a revoked card uses: "card OLD is revoked
 * (REASON), replaced by card NEW (bundle HASH): WHAT" (`what`: what is
 * refused, e.g. "its receipts are refused"). For cardc receipt import.
 */
cpk_status registry_refuse_revoked(struct registry *r, const char *serial, const char *what,
    struct cpk_error *err);


/* One bundle as stored. Strings are "" when absent. */
struct registry_row {
	int64_t id;
	char serial[REGISTRY_SERIAL_MAX + 1];
	char kdd[21], iin[33], cin[33];
	char profile[REGISTRY_NAME_MAX + 1];
	char profile_sha256[REGISTRY_HEX_HASH];
	char bundle_sha256[REGISTRY_HEX_HASH];
	char mode[16];
	char counter[REGISTRY_COUNTER_MAX + 1];
	uint64_t created, recorded, changed;
	enum registry_state state;
	char reason[REGISTRY_REASON_MAX + 1];
	char replaced_by[REGISTRY_HEX_HASH];
	/* The card of the replacing bundle (a re-issue: another card), "" when none. */
	char replaced_by_serial[REGISTRY_SERIAL_MAX + 1];
	bool has_data;
	const char *data;		/* sealed data (hex) when asked for, else NULL */
};

/* One entry of the event log. */
struct registry_event {
	uint64_t at;
	char serial[REGISTRY_SERIAL_MAX + 1];
	char bundle_sha256[REGISTRY_HEX_HASH];
	char event[32];
	char detail[REGISTRY_REASON_MAX + 1];
};

/* Called for each row; a status other than CPK_OK stops the walk and is returned. */
typedef cpk_status (*registry_row_fn)(void *arg, const struct registry_row *row);
typedef cpk_status (*registry_event_fn)(void *arg, const struct registry_event *ev);

/* Which bundles a walk visits (fields NULL: any). */
struct registry_filter {
	const char *serial;
	const char *bundle_sha256;
	const char *profile;
	bool with_data;		/* fill row->data */
};

/* Every matching bundle, oldest first. */
cpk_status registry_list(struct registry *r, const struct registry_filter *f,
    registry_row_fn fn, void *arg, struct cpk_error *err);
/* One bundle by its SHA-256 (CPK_ERR_NOT_FOUND if none). */
cpk_status registry_find_bundle(struct registry *r, const char *bundle_sha256,
    struct registry_row *out, struct cpk_error *err);
/* The events of a card (serial; NULL: of every card), oldest first. */
cpk_status registry_events(struct registry *r, const char *serial, registry_event_fn fn,
    void *arg, struct cpk_error *err);
/* Captured values of a bundle: fn(arg, name, value_hex). */
cpk_status registry_captured(struct registry *r, const char *bundle_sha256,
    cpk_status (*fn)(void *arg, const char *name, const char *value), void *arg,
    struct cpk_error *err);

/* Counts per profile and state. */
struct registry_summary_row {
	char profile[REGISTRY_NAME_MAX + 1];
	uint64_t count[REGISTRY_NSTATES];
};
typedef cpk_status (*registry_summary_fn)(void *arg, const struct registry_summary_row *row);
cpk_status registry_summary(struct registry *r, registry_summary_fn fn, void *arg,
    struct cpk_error *err);

/*
 * cardc serve's SERAM sessions (registry_session.c). A session row holds
 * everything a server process needs to continue a session another one
 * began: its state, the card record the first order's answers gave, the
 * host challenge, the session bundle (hex of the .cpk) and the last
 * report and order (a report sent again gets the same order again).
 * Each change names the state it expects (compare and swap): of two
 * processes handling the same report, one wins, the other gets
 * CPK_ERR_STATE.
 */
#define REGISTRY_SESSION_ID_MAX 64
#define REGISTRY_SESSION_STATE_MAX 16

struct registry_session {
	char id[REGISTRY_SESSION_ID_MAX + 1];
	char state[REGISTRY_SESSION_STATE_MAX + 1];
	uint64_t created, changed;
	char technician[REGISTRY_NAME_MAX + 1];		/* "" when none */
	char secret[REGISTRY_HEX_HASH];			/* SHA-256 (hex) of the agent's cookie */
	char serial[REGISTRY_SERIAL_MAX + 1];
	char bundle_sha256[REGISTRY_HEX_HASH];
	char host_challenge[17];
	char last_report[REGISTRY_HEX_HASH];		/* SHA-256 (hex) of the last report */
	char detail[REGISTRY_REASON_MAX + 1];
	char *card, *bundle, *last_order;		/* NULL when absent */
};

/* Release the texts (card, bundle, last_order); the struct stays. */
void registry_session_clear(struct registry_session *s);
/* A new session (state, created, technician, secret from s). CPK_ERR_STATE: the id exists. */
cpk_status registry_session_create(struct registry *r, const struct registry_session *s,
    struct cpk_error *err);
/* CPK_ERR_NOT_FOUND when there is no such session. */
cpk_status registry_session_get(struct registry *r, const char *id, struct registry_session *out,
    struct cpk_error *err);
/*
 * Store every field of s (changed: now) if the session is still in state
 * `from`; CPK_ERR_STATE if it is not (another process moved it on).
 */
cpk_status registry_session_update(struct registry *r, const struct registry_session *s,
    const char *from, struct cpk_error *err);
/*
 * Sessions not ended (handshake, identify, script) and unchanged since
 * `older_than` (Unix time) or before: fn(arg, id, state, bundle_sha256 or "").
 */
cpk_status registry_session_stale(struct registry *r, uint64_t older_than,
    cpk_status (*fn)(void *arg, const char *id, const char *state, const char *bundle),
    void *arg, struct cpk_error *err);
/* Move a session from state `from` to `to` with a detail; CPK_ERR_STATE if it moved on. */
cpk_status registry_session_set_state(struct registry *r, const char *id, const char *from,
    const char *to, const char *detail, struct cpk_error *err);
/* Sessions by state: fn(arg, state, count). */
cpk_status registry_session_counts(struct registry *r,
    cpk_status (*fn)(void *arg, const char *state, uint64_t count), void *arg,
    struct cpk_error *err);

#endif
