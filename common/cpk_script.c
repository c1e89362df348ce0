/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: script.bin, the bundle's command records, and status-word
 * patterns. The layout is described in cpk_bundle.h and cpk(5).
 */
#include "cpk_bundle.h"
#include "cpk_text.h"
#include "scp_iu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCRIPT_MAGIC "CPKS"
#define SCRIPT_VERSION 1
/* flags, label_len, nsw, apdu_len: the fixed part of a record body. */
#define RECORD_FIXED 7
#define RECORD_MAX (RECORD_FIXED + CPK_LABEL_MAX + 4 * CPK_SW_MAX + CPK_APDU_MAX_LEN)

/* --- status-word patterns --- */


cpk_status
cpk_sw_pattern_parse(const char *s, struct cpk_sw_pattern *out, struct cpk_error *err)
{
	unsigned value = 0, mask = 0;
	size_t i;
	cpk_status st = CPK_ERR_PARSE;

	if (strlen(s) != 4) {
		cpk_error_set(err, st,
		    "status word '%.16s' must be 4 characters: hex digits or x (\"9000\", \"61xx\")",
		    s);
		goto out;
	}
	for (i = 0; i < 4; i++) {
		int d = cpk_hex_value(s[i]);

		value <<= 4;
		mask <<= 4;
		if (s[i] == 'x' || s[i] == 'X')
			continue;
		if (d < 0) {
			cpk_error_set(err, st,
			    "status word '%s': '%c' is neither a hex digit nor x", s, s[i]);
			goto out;
		}
		value |= (unsigned)d;
		mask |= 0xf;
	}
	out->value = (uint16_t)value;
	out->mask = (uint16_t)mask;
	st = CPK_OK;
out:
	return st;
}

void
cpk_sw_pattern_format(const struct cpk_sw_pattern *p, char out[5])
{
	static const char digits[] = "0123456789ABCDEF";
	int i;

	for (i = 0; i < 4; i++) {
		unsigned shift = (unsigned)(12 - 4 * i);

		if (((p->mask >> shift) & 0xf) == 0)
			out[i] = 'x';
		else
			out[i] = digits[(p->value >> shift) & 0xf];
	}
	out[4] = '\0';
}

bool
cpk_sw_pattern_match(const struct cpk_sw_pattern *p, uint16_t sw)
{
	return (sw & p->mask) == p->value;
}

bool
cpk_command_accepts(const struct cpk_command *c, uint16_t sw)
{
	size_t i;

	for (i = 0; i < c->nsw && i < CPK_SW_MAX; i++) {
		if (cpk_sw_pattern_match(&c->sw[i], sw))
			return true;
	}
	return false;
}

/* --- one record --- */

static cpk_status
check_label(const char *label, struct cpk_error *err)
{
	size_t len = strnlen(label, CPK_LABEL_MAX + 1), bad;
	cpk_status st = CPK_ERR_RANGE;

	if (len == 0 || len > CPK_LABEL_MAX) {
		cpk_error_set(err, st, "label must be 1..%d bytes", CPK_LABEL_MAX);
		goto out;
	}
	bad = cpk_label_bad_offset(label, len);
	if (bad < len) {
		st = cpk_error_set(err, CPK_ERR_PARSE,
		    "label: byte 0x%02X at offset %zu is not UTF-8 text without control "
		    "characters", (uint8_t)label[bad], bad);
		goto out;
	}
	st = CPK_OK;
out:
	return st;
}

static bool
mask_canonical(uint16_t mask)
{
	int i;

	for (i = 0; i < 4; i++) {
		unsigned nib = (mask >> (4 * i)) & 0xfu;

		if (nib != 0 && nib != 0xf)
			return false;
	}
	return true;
}

static cpk_status
check_flags(uint8_t flags, struct cpk_error *err)
{
	cpk_status st = CPK_ERR_PARSE;

	if (flags & ~CPK_CMD_FLAGS_KNOWN) {
		cpk_error_set(err, st, "unknown flag bits 0x%02X",
		    (unsigned)(flags & ~CPK_CMD_FLAGS_KNOWN));
		goto out;
	}
	if ((flags & CPK_CMD_INIT_UPDATE) && (flags & (CPK_CMD_EXT_AUTH | CPK_CMD_SECURED))) {
		cpk_error_set(err, st,
		    "INITIALIZE UPDATE is sent before the channel opens: it cannot be secured");
		goto out;
	}
	if ((flags & CPK_CMD_EXT_AUTH) && !(flags & CPK_CMD_SECURED)) {
		cpk_error_set(err, st, "EXTERNAL AUTHENTICATE carries a C-MAC: it must be secured");
		goto out;
	}
	st = CPK_OK;
out:
	return st;
}

cpk_status
cpk_command_check(const struct cpk_command *c, struct cpk_error *err)
{
	struct cpk_apdu a;
	size_t i;
	cpk_status st;

	if ((st = check_flags(c->flags, err)) != CPK_OK || (st = check_label(c->label, err)) != CPK_OK)
		goto out;
	st = CPK_ERR_RANGE;
	if (c->nsw < 1 || c->nsw > CPK_SW_MAX) {
		cpk_error_set(err, st, "%zu accepted status words; expected 1..%d", c->nsw,
		    CPK_SW_MAX);
		goto out;
	}
	for (i = 0; i < c->nsw; i++) {
		if (!mask_canonical(c->sw[i].mask) || (c->sw[i].value & ~c->sw[i].mask) != 0) {
			st = cpk_error_set(err, CPK_ERR_PARSE,
			    "accepted status word %zu (%04X/%04X): each mask nibble must be 0 or F "
			    "and the value must lie inside the mask", i + 1, c->sw[i].value,
			    c->sw[i].mask);
			goto out;
		}
	}
	if (c->apdu == NULL || c->apdu_len < 4 || c->apdu_len > CPK_APDU_MAX_LEN) {
		cpk_error_set(err, st, "APDU of %zu bytes; expected 4..%d", c->apdu_len,
		    CPK_APDU_MAX_LEN);
		goto out;
	}
	st = cpk_apdu_parse(c->apdu, c->apdu_len, &a, err);
out:
	return st;
}

/* --- the script --- */

static cpk_status
append_u32(struct cpk_buf *out, size_t v, struct cpk_error *err)
{
	uint8_t tmp[4];

	cpk_put_u32be(tmp, (uint32_t)v);
	return cpk_buf_append(out, tmp, sizeof(tmp), err);
}

static cpk_status
encode_record(const struct cpk_command *c, struct cpk_buf *out, struct cpk_error *err)
{
	size_t label_len = strlen(c->label), body, i;
	cpk_status st;

	body = RECORD_FIXED + label_len + 4 * c->nsw + c->apdu_len;
	if ((st = append_u32(out, body, err)) != CPK_OK ||
	    (st = cpk_buf_append_byte(out, c->flags, err)) != CPK_OK ||
	    (st = cpk_buf_append_byte(out, (uint8_t)label_len, err)) != CPK_OK ||
	    (st = cpk_buf_append(out, c->label, label_len, err)) != CPK_OK ||
	    (st = cpk_buf_append_byte(out, (uint8_t)c->nsw, err)) != CPK_OK)
		goto out;
	for (i = 0; i < c->nsw; i++) {
		if ((st = cpk_buf_append_u16be(out, c->sw[i].value, err)) != CPK_OK ||
		    (st = cpk_buf_append_u16be(out, c->sw[i].mask, err)) != CPK_OK)
			goto out;
	}
	if ((st = append_u32(out, c->apdu_len, err)) != CPK_OK ||
	    (st = cpk_buf_append(out, c->apdu, c->apdu_len, err)) != CPK_OK)
		goto out;
out:
	return st;
}

size_t
cpk_script_record_max(size_t apdu_len)
{
	return 4 + RECORD_FIXED + CPK_LABEL_MAX + 4 * CPK_SW_MAX + apdu_len;
}

cpk_status
cpk_script_begin(struct cpk_buf *out, struct cpk_error *err)
{
	size_t start = out->len;
	cpk_status st;

	/* The count is written by cpk_script_finish. */
	if ((st = cpk_buf_append(out, SCRIPT_MAGIC, 4, err)) != CPK_OK ||
	    (st = cpk_buf_append_byte(out, SCRIPT_VERSION, err)) != CPK_OK ||
	    (st = append_u32(out, 0, err)) != CPK_OK)
		cpk_buf_truncate(out, out->len - start);
	return st;
}

cpk_status
cpk_script_add(struct cpk_buf *out, size_t start, size_t index, const struct cpk_command *c,
    bool check, struct cpk_error *err)
{
	size_t before = out->len;
	cpk_status st;

	if (check && (st = cpk_command_check(c, err)) != CPK_OK) {
		cpk_error_prefix(err, "command %zu", index + 1);
		goto out;
	}
	if ((st = encode_record(c, out, err)) != CPK_OK)
		goto out;
	if (out->len - start > CPK_SCRIPT_MAX_SIZE) {
		st = cpk_error_set(err, CPK_ERR_RANGE,
		    "script exceeds %zu bytes at command %zu", CPK_SCRIPT_MAX_SIZE, index + 1);
		goto out;
	}
out:
	if (st != CPK_OK && out->len > before)
		cpk_buf_truncate(out, out->len - before);
	return st;
}

void
cpk_script_finish(struct cpk_buf *out, size_t start, size_t n)
{
	cpk_put_u32be(out->data + start + 5, (uint32_t)n);
}

cpk_status
cpk_script_encode(const struct cpk_command *cmds, size_t n, struct cpk_buf *out,
    struct cpk_error *err)
{
	size_t start = out->len, i, size;
	cpk_status st;

	if (n < 1 || n > CPK_SCRIPT_MAX_COMMANDS) {
		st = cpk_error_set(err, CPK_ERR_RANGE, "script of %zu commands; expected 1..%d", n,
		    CPK_SCRIPT_MAX_COMMANDS);
		goto out;
	}
	/* The script's size, so that it is written once into storage of that size. */
	for (i = 0, size = 9; i < n && size <= CPK_SCRIPT_MAX_SIZE; i++)
		size += 4 + RECORD_FIXED + strnlen(cmds[i].label, CPK_LABEL_MAX + 1) +
		    4 * (cmds[i].nsw <= CPK_SW_MAX ? cmds[i].nsw : 0) +
		    (cmds[i].apdu_len <= CPK_APDU_MAX_LEN ? cmds[i].apdu_len : 0);
	if (size <= CPK_SCRIPT_MAX_SIZE && (st = cpk_buf_reserve(out, size, err)) != CPK_OK)
		goto out;
	if ((st = cpk_script_begin(out, err)) != CPK_OK)
		goto out;
	for (i = 0; i < n; i++)
		if ((st = cpk_script_add(out, start, i, &cmds[i], true, err)) != CPK_OK)
			goto out;
	cpk_script_finish(out, start, n);
	st = CPK_OK;
out:
	if (st != CPK_OK && out->len > start)
		cpk_buf_truncate(out, out->len - start);
	return st;
}

/* Decode one record body (exactly `body` bytes) into c. */
static cpk_status
decode_record(struct cpk_cursor *rc, struct cpk_command *c, struct cpk_error *err)
{
	const uint8_t *label = NULL;
	uint8_t label_len = 0, nsw = 0;
	uint32_t apdu_len = 0;
	size_t i;
	cpk_status st = CPK_ERR_PARSE;

	if (!cpk_cursor_u8(rc, &c->flags) || !cpk_cursor_u8(rc, &label_len)) {
		cpk_error_set(err, st, "record too short");
		goto out;
	}
	if (label_len == 0 || label_len > CPK_LABEL_MAX) {
		st = cpk_error_set(err, CPK_ERR_RANGE, "label of %u bytes; expected 1..%d",
		    label_len, CPK_LABEL_MAX);
		goto out;
	}
	if (!cpk_cursor_bytes(rc, label_len, &label) || !cpk_cursor_u8(rc, &nsw)) {
		cpk_error_set(err, st, "record ends inside the label");
		goto out;
	}
	memcpy(c->label, label, label_len);
	c->label[label_len] = '\0';
	if (memchr(label, 0, label_len) != NULL) {
		cpk_error_set(err, st, "label contains a NUL byte");
		goto out;
	}
	if (nsw == 0 || nsw > CPK_SW_MAX) {
		st = cpk_error_set(err, CPK_ERR_RANGE, "%u accepted status words; expected 1..%d",
		    nsw, CPK_SW_MAX);
		goto out;
	}
	c->nsw = nsw;
	for (i = 0; i < nsw; i++) {
		if (!cpk_cursor_u16be(rc, &c->sw[i].value) || !cpk_cursor_u16be(rc, &c->sw[i].mask)) {
			cpk_error_set(err, st, "record ends inside the status words");
			goto out;
		}
	}
	if (!cpk_cursor_u32be(rc, &apdu_len)) {
		cpk_error_set(err, st, "record ends before the APDU length");
		goto out;
	}
	if (apdu_len < 4 || apdu_len > CPK_APDU_MAX_LEN) {
		st = cpk_error_set(err, CPK_ERR_RANGE, "APDU of %u bytes; expected 4..%d",
		    apdu_len, CPK_APDU_MAX_LEN);
		goto out;
	}
	if (!cpk_cursor_bytes(rc, apdu_len, &c->apdu)) {
		cpk_error_set(err, st, "APDU length %u but only %zu bytes remain in the record",
		    apdu_len, cpk_cursor_left(rc));
		goto out;
	}
	c->apdu_len = apdu_len;
	if (cpk_cursor_left(rc) != 0) {
		cpk_error_set(err, st, "%zu unused bytes at the end of the record",
		    cpk_cursor_left(rc));
		goto out;
	}
	st = cpk_command_check(c, err);
out:
	return st;
}

static cpk_status
parse_header(struct cpk_cursor *cur, uint32_t *count, struct cpk_error *err)
{
	const uint8_t *magic = NULL;
	uint8_t version = 0;
	cpk_status st = CPK_ERR_PARSE;

	if (!cpk_cursor_bytes(cur, 4, &magic) || !cpk_cursor_u8(cur, &version) ||
	    !cpk_cursor_u32be(cur, count)) {
		cpk_error_set(err, st, "%s: truncated header", CPK_ENTRY_SCRIPT);
		goto out;
	}
	if (memcmp(magic, SCRIPT_MAGIC, 4) != 0) {
		cpk_error_set(err, st, "%s: bad magic (not a cpk script)", CPK_ENTRY_SCRIPT);
		goto out;
	}
	if (version != SCRIPT_VERSION) {
		st = cpk_error_set(err, CPK_ERR_UNSUPPORTED,
		    "%s: script version %u is not supported (this cpk reads %d)",
		    CPK_ENTRY_SCRIPT, version, SCRIPT_VERSION);
		goto out;
	}
	if (*count < 1 || *count > CPK_SCRIPT_MAX_COMMANDS) {
		st = cpk_error_set(err, CPK_ERR_RANGE, "%s: %u commands; expected 1..%d",
		    CPK_ENTRY_SCRIPT, *count, CPK_SCRIPT_MAX_COMMANDS);
		goto out;
	}
	/* Each record needs at least its length field: refuse absurd counts early. */
	if (cpk_cursor_left(cur) / 4 < *count) {
		cpk_error_set(err, st, "%s: %u commands cannot fit in %zu bytes (truncated)",
		    CPK_ENTRY_SCRIPT, *count, cpk_cursor_left(cur));
		goto out;
	}
	st = CPK_OK;
out:
	return st;
}

cpk_status
cpk_script_parse(const uint8_t *p, size_t n, struct cpk_command **out, size_t *count,
    struct cpk_error *err)
{
	struct cpk_cursor cur, rc;
	struct cpk_command *cmds = NULL;
	const uint8_t *body = NULL;
	uint32_t total = 0, len = 0;
	size_t i;
	cpk_status st = CPK_ERR_RANGE;

	*out = NULL;
	*count = 0;
	if (n > CPK_SCRIPT_MAX_SIZE) {
		cpk_error_set(err, st, "%s is %zu bytes; at most %zu", CPK_ENTRY_SCRIPT, n,
		    CPK_SCRIPT_MAX_SIZE);
		goto out;
	}
	cpk_cursor_init(&cur, p, n);
	if ((st = parse_header(&cur, &total, err)) != CPK_OK)
		goto out;
	if ((cmds = calloc(total, sizeof(*cmds))) == NULL) {
		st = cpk_error_set(err, CPK_ERR_NOMEM, "out of memory for %u commands", total);
		goto out;
	}
	for (i = 0; i < total; i++) {
		st = CPK_ERR_PARSE;
		if (!cpk_cursor_u32be(&cur, &len) || !cpk_cursor_bytes(&cur, len, &body)) {
			cpk_error_set(err, st,
			    "%s: command %zu of %u is truncated (%zu bytes left)",
			    CPK_ENTRY_SCRIPT, i + 1, total, cpk_cursor_left(&cur));
			goto out;
		}
		if (len > RECORD_MAX) {
			st = cpk_error_set(err, CPK_ERR_RANGE,
			    "%s: command %zu is a record of %u bytes; at most %d",
			    CPK_ENTRY_SCRIPT, i + 1, len, RECORD_MAX);
			goto out;
		}
		cpk_cursor_init(&rc, body, len);
		if ((st = decode_record(&rc, &cmds[i], err)) != CPK_OK) {
			cpk_error_prefix(err, "%s: command %zu", CPK_ENTRY_SCRIPT, i + 1);
			goto out;
		}
	}
	if (cpk_cursor_left(&cur) != 0) {
		st = cpk_error_set(err, CPK_ERR_PARSE, "%s: %zu bytes after the last command",
		    CPK_ENTRY_SCRIPT, cpk_cursor_left(&cur));
		goto out;
	}
	*out = cmds;
	*count = total;
	cmds = NULL;
	st = CPK_OK;
out:
	free(cmds);
	return st;
}

/* --- command order --- */

/* Is the record exactly these APDU bytes, with these flags? */
static bool
command_is(const struct cpk_command *c, uint8_t flags, const struct cpk_buf *want)
{
	return c->flags == flags && c->apdu_len == want->len &&
	    memcmp(c->apdu, want->data, want->len) == 0;
}

cpk_status
cpk_script_check_opening(const struct cpk_manifest *m, const struct cpk_command *cmds, size_t n,
    size_t *bad, struct cpk_error *err)
{
	struct cpk_apdu sel = { .cla = 0x00, .ins = 0xA4, .p1 = 0x04, .p2 = 0x00,
	    .data = m->sd_aid, .lc = m->sd_aid_len, .has_le = true, .ne = 256 };
	struct cpk_buf want = CPK_BUF_INIT;
	cpk_status st;

	*bad = n;	/* no record is at fault when a reference cannot be built */
	if ((st = cpk_apdu_build(&sel, &want, err)) != CPK_OK)
		goto out;
	*bad = 0;
	st = CPK_ERR_PARSE;
	if (n < 1 || !command_is(&cmds[0], 0, &want)) {
		cpk_error_set(err, st, "an offline script starts with SELECT of the manifest's "
		    "security domain (00A40400 Lc sd-aid 00, not secured)");
		goto out;
	}
	cpk_buf_reset(&want);
	/* P1 is the manifest's key version, or 00 for the card's default key set. */
	if ((st = scp_initialize_update_apdu(n >= 2 && cmds[1].apdu_len > 2 &&
	    cmds[1].apdu[2] == 0x00 ? 0x00 : m->kvn, m->host_challenge, &want, err)) != CPK_OK) {
		*bad = n;
		goto out;
	}
	*bad = 1;
	st = CPK_ERR_PARSE;
	if (n < 2 || !command_is(&cmds[1], CPK_CMD_INIT_UPDATE, &want)) {
		cpk_error_set(err, st, "an offline script's second command is INITIALIZE UPDATE "
		    "with the manifest's host challenge (8050 KVN 00 08 host-challenge 00, KVN "
		    "%02X or 00)", m->kvn);
		goto out;
	}
	*bad = 2;
	st = CPK_OK;
out:
	cpk_buf_free(&want);
	return st;
}

/*
 * GlobalPlatform card management commands (proprietary class): what they
 * answer decides whether the card was provisioned, so a bundle names their
 * status words exactly.
 */
static bool
is_gp_management(const struct cpk_apdu *a)
{
	static const uint8_t ins[] = {
		0x82,	/* EXTERNAL AUTHENTICATE */
		0xD8,	/* PUT KEY */
		0xE2,	/* STORE DATA */
		0xE4,	/* DELETE */
		0xE6,	/* INSTALL */
		0xE8,	/* LOAD */
		0xF0,	/* SET STATUS */
	};
	size_t i;

	if ((a->cla & 0x80) == 0)
		return false;
	for (i = 0; i < sizeof(ins); i++)
		if (a->ins == ins[i])
			return true;
	return false;
}

/*
 * What a loader can check of a secured record without keys (cpk(5),
 * "Secured records"): secure messaging marked in CLA on the basic channel
 * the channel was opened on, room for the C-MAC (8 bytes at every level
 * cpk supports), exact status words on card management commands, and never
 * 6982 / 6988 accepted there (the card closed the channel). EXTERNAL
 * AUTHENTICATE is 84 82 level 00 10 (host cryptogram and C-MAC) and
 * accepts 9000 only: without the card's keys no bundle gets past it.
 */
static cpk_status
check_secured(const struct cpk_manifest *m, const struct cpk_command *c, size_t idx,
    struct cpk_error *err)
{
	struct cpk_apdu a;
	size_t i;
	cpk_status st;

	if ((st = cpk_apdu_parse(c->apdu, c->apdu_len, &a, err)) != CPK_OK)
		goto out;
	st = CPK_ERR_PARSE;
	if (c->flags & CPK_CMD_EXT_AUTH) {
		if (a.cla != 0x84 || a.ins != 0x82 || a.p1 != m->level || a.p2 != 0x00 ||
		    a.lc != 16 || a.has_le) {
			cpk_error_set(err, st,
			    "command %zu (%s) is marked EXTERNAL AUTHENTICATE but is not EXTERNAL "
			    "AUTHENTICATE for security level %02X (84 82 %02X 00 10, host cryptogram "
			    "and C-MAC)", idx + 1, c->label, m->level, m->level);
			goto out;
		}
		if (c->nsw != 1 || c->sw[0].value != 0x9000 || c->sw[0].mask != 0xFFFF) {
			cpk_error_set(err, st, "command %zu (%s): EXTERNAL AUTHENTICATE must accept "
			    "9000 only", idx + 1, c->label);
			goto out;
		}
	}
	if ((a.cla & 0x40) != 0 || a.cla == 0xFF || (a.cla & 0x0C) != 0x04 ||
	    (a.cla & 0x03) != 0) {
		cpk_error_set(err, st, "command %zu (%s) is secured but its CLA %02X does not mark "
		    "secure messaging on the basic channel", idx + 1, c->label, a.cla);
		goto out;
	}
	if (a.lc < 8) {
		cpk_error_set(err, st, "command %zu (%s) is secured but carries %zu data bytes, "
		    "too few for its C-MAC (8)", idx + 1, c->label, a.lc);
		goto out;
	}
	if (!is_gp_management(&a))
		goto ok;
	for (i = 0; i < c->nsw; i++) {
		if (c->sw[i].mask != 0xFFFF) {
			cpk_error_set(err, st, "command %zu (%s) accepts status words %04X/%04X: a "
			    "card management command names each status word it accepts",
			    idx + 1, c->label, c->sw[i].value, c->sw[i].mask);
			goto out;
		}
		if (c->sw[i].value == 0x6982 || c->sw[i].value == 0x6988) {
			cpk_error_set(err, st, "command %zu (%s) accepts %04X: the card answers that "
			    "to a command whose C-MAC it refused", idx + 1, c->label,
			    c->sw[i].value);
			goto out;
		}
	}
ok:
	st = CPK_OK;
out:
	return st;
}

/* Where is EXTERNAL AUTHENTICATE (exactly one), how many INITIALIZE UPDATE? */
static cpk_status
find_handshake(const struct cpk_command *cmds, size_t n, size_t *ea, size_t *niu,
    struct cpk_error *err)
{
	size_t i, nea = 0;
	cpk_status st = CPK_ERR_PARSE;

	*niu = 0;
	for (i = 0; i < n; i++) {
		if (cmds[i].flags & CPK_CMD_EXT_AUTH) {
			*ea = i;
			nea++;
		}
		if (cmds[i].flags & CPK_CMD_INIT_UPDATE)
			(*niu)++;
	}
	if (nea != 1) {
		cpk_error_set(err, st, "the script has %zu EXTERNAL AUTHENTICATE commands; "
		    "expected exactly 1", nea);
		goto out;
	}
	st = CPK_OK;
out:
	return st;
}

/* Each capture keeps the answer to a command sent inside the secure channel. */
static cpk_status
check_captured(const struct cpk_manifest *m, const struct cpk_command *cmds, size_t n,
    struct cpk_error *err)
{
	const struct cpk_capture *c;
	size_t i;
	cpk_status st = CPK_ERR_PARSE;

	for (i = 0; i < m->ncaptures; i++) {
		c = &m->captures[i];
		if (c->command < 1 || c->command > n) {
			cpk_error_set(err, st, "capture '%s' keeps command %u; the script has %zu",
			    c->name, c->command, n);
			goto out;
		}
		if (cmds[c->command - 1].flags != CPK_CMD_SECURED) {
			cpk_error_set(err, st, "capture '%s' keeps command %u (%s), which is not a "
			    "secured command after EXTERNAL AUTHENTICATE", c->name, c->command,
			    cmds[c->command - 1].label);
			goto out;
		}
	}
	st = CPK_OK;
out:
	return st;
}

cpk_status
cpk_script_check_flow(const struct cpk_manifest *m, const struct cpk_command *cmds, size_t n,
    struct cpk_error *err)
{
	size_t ea = 0, niu = 0, i;
	cpk_status st;

	if ((st = find_handshake(cmds, n, &ea, &niu, err)) != CPK_OK)
		goto out;
	st = CPK_ERR_PARSE;
	if (m->mode == CPK_MODE_OFFLINE && niu != 1) {
		cpk_error_set(err, st, "the script has %zu INITIALIZE UPDATE commands; an offline "
		    "script has exactly 1", niu);
		goto out;
	}
	if (m->mode == CPK_MODE_OFFLINE) {
		if ((st = cpk_script_check_opening(m, cmds, n, &i, err)) != CPK_OK) {
			if (i < n)
				cpk_error_prefix(err, "command %zu (%s)", i + 1, cmds[i].label);
			goto out;
		}
		st = CPK_ERR_PARSE;
		if (ea != 2) {
			cpk_error_set(err, st, "command 3 (%s) is not EXTERNAL AUTHENTICATE: an "
			    "offline script opens the secure channel right after INITIALIZE UPDATE",
			    n > 2 ? cmds[2].label : "none");
			goto out;
		}
	}
	if (m->mode == CPK_MODE_SESSION && (niu != 0 || ea != 0)) {
		cpk_error_set(err, st, "a session script starts with EXTERNAL AUTHENTICATE and "
		    "has no INITIALIZE UPDATE");
		goto out;
	}
	for (i = 0; i < n; i++) {
		bool secured = (cmds[i].flags & CPK_CMD_SECURED) != 0;

		if (secured != (i >= ea)) {
			cpk_error_set(err, st, "command %zu (%s) is %s but comes %s EXTERNAL "
			    "AUTHENTICATE", i + 1, cmds[i].label, secured ? "secured" : "not secured",
			    i < ea ? "before" : "after");
			goto out;
		}
		if (secured && (st = check_secured(m, &cmds[i], i, err)) != CPK_OK)
			goto out;
		st = CPK_ERR_PARSE;
	}
	st = check_captured(m, cmds, n, err);
out:
	return st;
}
