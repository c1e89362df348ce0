/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * gpclient: a small scripted PC/SC client for the end-to-end tests.
 *
 * It talks to a card through libpcsclite (so through pcscd, vpcd and
 * cardsim in the tests) and drives the host side of the secure channel with
 * compiler/scp.h. The product's loader has its own transport; this is a
 * test tool only.
 *
 *   gpclient [-r READER] [-t SECONDS] [-v] SCRIPT|-
 *   gpclient [-r READER] [-t SECONDS] --wait-card
 *   gpclient [-r READER] [-t SECONDS] --wait-removed
 *
 * A script has one step per line ('#' starts a comment). SW lists are
 * 4-digit status words, 'any', or 'removed' (the card went away); the
 * default is 9000.
 *
 *   send APDU [SW...]                     plain command
 *   isd AID                               security domain AID (default A000000151000000)
 *   keys aes|3des KVN ENC MAC DEK [DIV]   host keys; DIV emv|visa2|kdf3: masters,
 *                                         diversified with the KDD the card returns
 *   iu scp02|scp03 I [SW...]              INITIALIZE UPDATE (host challenge 0102..08),
 *                                         card cryptogram checked on 9000
 *   iu scp02|scp03 I mismatch             ... answered 9000 with a card cryptogram these
 *                                         keys do not give (a wrong or replaced key set)
 *   ea LEVEL [SW...]                      EXTERNAL AUTHENTICATE
 *   open scp02|scp03 I LEVEL              iu + ea, both 9000
 *   ssend APDU [SW...]                    command through the secure channel
 *   tamper                                corrupt the C-MAC of the next ssend
 *   expect HEX | expect-prefix HEX | expect-contains HEX | expect-len N
 *                                         about the data of the last response
 *   expect-counter HEX                    sequence counter of the last INITIALIZE UPDATE
 *   expect-predictable                    its card challenge is the pseudo-random one
 *   load PKG APPLET[,APPLET] SIZE [sha1|sha256|nohash] [block N] [SW...]
 *                                         a capgen package of SIZE LFDB bytes:
 *                                         INSTALL [for load] and LOAD blocks; with SW
 *                                         the sequence must stop at that answer
 *   install PKG MODULE INSTANCE [PRIV [PARAMS]] [SW...]
 *                                         INSTALL [for install and make selectable]
 *   put-key OLD NEW ENC MAC DEK [SW...]   PUT KEY of a whole key set (OLD 00 adds one);
 *                                         the answer (KVN, check values) is checked
 *   reconnect                             a new card connection (after a removal)
 *   wait-removed                          wait until the reader has no card
 *   print                                 print the last response data (hex) on stdout
 *   echo TEXT...                          log a line
 *
 * It writes SCP02's and SCP03's numbers down itself (key algorithm, counter
 * and challenge lengths, i values) instead of asking the secure channel
 * table, on purpose: as an independent oracle, a wrong table row fails here
 * rather than agreeing with itself (docs/ADDING-A-SECURE-CHANNEL.md).
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <winscard.h>

#include "capgen.h"
#include "cpk_apdu.h"
#include "cpk_bytes.h"
#include "cpk_tlv.h"
#include "gp_crypto.h"
#include "scp.h"

#define MAX_TOKENS 16
#define MAX_LINE 4096

struct client {
	SCARDCONTEXT ctx;
	bool have_ctx;
	SCARDHANDLE card;
	bool connected;
	DWORD proto;
	char reader[256];
	const char *reader_match;
	double timeout;
	bool verbose;

	struct scp_keyset keys;		/* as given (masters when div != none) */
	enum gp_diversification div;
	bool have_keys;
	struct scp_session s;
	struct scp_iu_response iu;
	bool have_iu;
	uint8_t isd[16];
	size_t isd_len;
	bool tamper;

	struct cpk_buf last;		/* data of the last response */
	uint16_t last_sw;
	bool last_removed;

	const char *script;
	unsigned line;
};

static const uint8_t host_challenge[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

static void fail(struct client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int g_failed;

/* Report a failed step; the caller stops the script. */
static void
fail(struct client *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "gpclient: %s:%u: ", c->script != NULL ? c->script : "-", c->line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	g_failed = 1;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void
trace_hex(const char *dir, const uint8_t *p, size_t n, const char *suffix)
{
	size_t i;

	fprintf(stderr, "%s ", dir);
	for (i = 0; i < n; i++)
		fprintf(stderr, "%02X", p[i]);
	fprintf(stderr, "%s\n", suffix);
}

/* --- PC/SC --- */

static bool
establish(struct client *c)
{
	double end = now() + c->timeout;
	LONG rv;

	for (;;) {
		rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &c->ctx);
		if (rv == SCARD_S_SUCCESS) {
			c->have_ctx = true;
			return true;
		}
		if (now() > end) {
			fail(c, "no PC/SC service: %s", pcsc_stringify_error(rv));
			return false;
		}
		sleep_ms(100);
	}
}

static bool
find_reader(struct client *c)
{
	double end = now() + c->timeout;
	char *list = NULL, *r;
	DWORD len;
	LONG rv;

	for (;;) {
		len = SCARD_AUTOALLOCATE;
		rv = SCardListReaders(c->ctx, NULL, (LPSTR)&list, &len);
		if (rv == SCARD_S_SUCCESS) {
			for (r = list; *r != '\0'; r += strlen(r) + 1) {
				if (strstr(r, c->reader_match) != NULL) {
					snprintf(c->reader, sizeof(c->reader), "%s", r);
					SCardFreeMemory(c->ctx, list);
					return true;
				}
			}
			SCardFreeMemory(c->ctx, list);
		}
		if (now() > end) {
			fail(c, "no reader matching '%s'", c->reader_match);
			return false;
		}
		sleep_ms(100);
	}
}

/* Wait until the reader has (present) or has no (!present) card. */
static bool
wait_card(struct client *c, bool present)
{
	SCARD_READERSTATE st;
	double end = now() + c->timeout;
	LONG rv;

	memset(&st, 0, sizeof(st));
	st.szReader = c->reader;
	st.dwCurrentState = SCARD_STATE_UNAWARE;
	for (;;) {
		rv = SCardGetStatusChange(c->ctx, 200, &st, 1);
		if (rv != SCARD_S_SUCCESS && rv != SCARD_E_TIMEOUT) {
			fail(c, "SCardGetStatusChange: %s", pcsc_stringify_error(rv));
			return false;
		}
		if (rv == SCARD_S_SUCCESS)
			st.dwCurrentState = st.dwEventState & ~(DWORD)SCARD_STATE_CHANGED;
		if (present && (st.dwCurrentState & SCARD_STATE_PRESENT) &&
		    !(st.dwCurrentState & SCARD_STATE_MUTE))
			return true;
		if (!present && (st.dwCurrentState & SCARD_STATE_EMPTY))
			return true;
		if (now() > end) {
			fail(c, "timeout waiting for the card to be %s", present ? "present" :
			    "removed");
			return false;
		}
	}
}

static bool
connect_card(struct client *c)
{
	double end = now() + c->timeout;
	LONG rv;

	if (!wait_card(c, true))
		return false;
	for (;;) {
		rv = SCardConnect(c->ctx, c->reader, SCARD_SHARE_SHARED,
		    SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &c->card, &c->proto);
		if (rv == SCARD_S_SUCCESS) {
			c->connected = true;
			if (c->verbose)
				fprintf(stderr, "gpclient: connected to '%s' (T=%d)\n", c->reader,
				    c->proto == SCARD_PROTOCOL_T1 ? 1 : 0);
			return true;
		}
		if (now() > end) {
			fail(c, "SCardConnect: %s", pcsc_stringify_error(rv));
			return false;
		}
		sleep_ms(100);
	}
}

static void
disconnect_card(struct client *c)
{
	if (c->connected)
		(void)SCardDisconnect(c->card, SCARD_LEAVE_CARD);
	c->connected = false;
}

static bool
is_removal(LONG rv)
{
	return rv == SCARD_W_REMOVED_CARD || rv == SCARD_E_NO_SMARTCARD ||
	    rv == SCARD_E_NOT_TRANSACTED || rv == SCARD_E_READER_UNAVAILABLE ||
	    rv == SCARD_W_RESET_CARD || rv == SCARD_F_COMM_ERROR || rv == SCARD_W_UNPOWERED_CARD;
}

/* Transmit; response in c->last / c->last_sw, or c->last_removed. */
static bool
transmit(struct client *c, const uint8_t *cmd, size_t n, struct cpk_buf *raw)
{
	uint8_t rbuf[258 + 2];
	DWORD rlen = sizeof(rbuf);
	double t0 = now();
	char tail[128];
	LONG rv;

	c->last_removed = false;
	cpk_buf_reset(raw);
	if (c->verbose)
		trace_hex(">>", cmd, n, "");
	if (!c->connected) {
		c->last_removed = true;
		if (c->verbose)
			fprintf(stderr, "<< (no card connection)\n");
		return true;
	}
	rv = SCardTransmit(c->card, c->proto == SCARD_PROTOCOL_T1 ? SCARD_PCI_T1 : SCARD_PCI_T0,
	    cmd, (DWORD)n, NULL, rbuf, &rlen);
	if (rv != SCARD_S_SUCCESS) {
		if (is_removal(rv)) {
			c->last_removed = true;
			if (c->verbose)
				fprintf(stderr, "<< card gone: %s\n", pcsc_stringify_error(rv));
			return true;
		}
		fail(c, "SCardTransmit: %s", pcsc_stringify_error(rv));
		return false;
	}
	if (rlen == 0) {
		/* vpcd answers an empty response when the card's connection is gone. */
		c->last_removed = true;
		if (c->verbose)
			fprintf(stderr, "<< card gone: empty response\n");
		return true;
	}
	if (rlen < 2) {
		fail(c, "response of %lu bytes", (unsigned long)rlen);
		return false;
	}
	if (c->verbose) {
		snprintf(tail, sizeof(tail), "  (%.0f ms)", (now() - t0) * 1000);
		trace_hex("<<", rbuf, rlen, tail);
	}
	return cpk_buf_append(raw, rbuf, rlen, NULL) == CPK_OK;
}

/* --- steps --- */

/* Does the last result match the SW list (tokens; default 9000)? */
static bool
check_sw(struct client *c, char **sw, size_t nsw, const char *what)
{
	uint8_t b[2];
	size_t i, blen = 0;
	uint16_t want;

	if (nsw == 0) {
		if (!c->last_removed && c->last_sw == 0x9000)
			return true;
		goto bad;
	}
	for (i = 0; i < nsw; i++) {
		if (strcmp(sw[i], "any") == 0 && !c->last_removed)
			return true;
		if (strcmp(sw[i], "removed") == 0 && c->last_removed)
			return true;
		if (strlen(sw[i]) == 4 && cpk_hex_decode(sw[i], 4, b, 2, &blen, NULL) == CPK_OK) {
			want = (uint16_t)((b[0] << 8) | b[1]);
			if (!c->last_removed && c->last_sw == want)
				return true;
		} else if (strcmp(sw[i], "any") != 0 && strcmp(sw[i], "removed") != 0) {
			fail(c, "bad status word '%s'", sw[i]);
			return false;
		}
	}
bad:
	if (c->last_removed)
		fail(c, "%s: the card went away", what);
	else
		fail(c, "%s: status word %04X not expected", what, c->last_sw);
	return false;
}

static bool
set_last(struct client *c, const uint8_t *data, size_t n, uint16_t sw)
{
	c->last_sw = sw;
	cpk_buf_reset(&c->last);
	return cpk_buf_append(&c->last, data, n, NULL) == CPK_OK;
}

static bool
send_plain(struct client *c, const uint8_t *cmd, size_t n)
{
	struct cpk_buf raw = CPK_BUF_INIT;
	bool ok = false;

	if (!transmit(c, cmd, n, &raw))
		goto out;
	if (c->last_removed) {
		ok = set_last(c, NULL, 0, 0);
		goto out;
	}
	ok = set_last(c, raw.data, raw.len - 2,
	    (uint16_t)((raw.data[raw.len - 2] << 8) | raw.data[raw.len - 1]));
out:
	cpk_buf_free(&raw);
	return ok;
}

static bool
send_secure(struct client *c, const uint8_t *cmd, size_t n)
{
	struct cpk_buf wrapped = CPK_BUF_INIT, raw = CPK_BUF_INIT, plain = CPK_BUF_INIT;
	struct cpk_error err;
	struct cpk_apdu a;
	uint16_t sw = 0;
	bool ok = false;

	cpk_error_clear(&err);
	if (scp_wrap_command(&c->s, cmd, n, &wrapped, &err) != CPK_OK) {
		fail(c, "cannot wrap: %s", err.msg);
		goto out;
	}
	if (c->tamper) {
		c->tamper = false;
		if (cpk_apdu_parse(wrapped.data, wrapped.len, &a, &err) != CPK_OK)
			goto out;
		wrapped.data[5 + a.lc - 1] ^= 0x01;
	}
	if (!transmit(c, wrapped.data, wrapped.len, &raw))
		goto out;
	if (c->last_removed) {
		ok = set_last(c, NULL, 0, 0);
		goto out;
	}
	if (scp_unwrap_response(&c->s, raw.data, raw.len, &plain, &sw, &err) != CPK_OK) {
		fail(c, "response: %s", err.msg);
		goto out;
	}
	ok = set_last(c, plain.data, plain.len, sw);
out:
	cpk_buf_free(&wrapped);
	cpk_buf_free(&raw);
	cpk_buf_free(&plain);
	return ok;
}

static bool
parse_hex(struct client *c, const char *tok, struct cpk_buf *out)
{
	struct cpk_error err;

	cpk_buf_reset(out);
	cpk_error_clear(&err);
	if (cpk_hex_decode_buf(tok, out, &err) != CPK_OK) {
		fail(c, "'%s': %s", tok, err.msg);
		return false;
	}
	return true;
}

static bool
parse_byte(struct client *c, const char *tok, uint8_t *v)
{
	size_t n = 0;

	if (strlen(tok) != 2 || cpk_hex_decode(tok, 2, v, 1, &n, NULL) != CPK_OK) {
		fail(c, "'%s': expected one hex byte", tok);
		return false;
	}
	return true;
}

static bool
parse_scp(struct client *c, const char *tok, enum scp_version *v)
{
	if (strcmp(tok, "scp02") == 0)
		*v = SCP02;
	else if (strcmp(tok, "scp03") == 0)
		*v = SCP03;
	else {
		fail(c, "'%s': expected scp02 or scp03", tok);
		return false;
	}
	return true;
}

static bool
step_keys(struct client *c, char **t, size_t n)
{
	struct cpk_buf b = CPK_BUF_INIT;
	struct cpk_error err;
	uint8_t *dst[3];
	size_t i;
	bool ok = false;

	if (n != 6 && n != 7) {
		fail(c, "keys aes|3des KVN ENC MAC DEK [emv|visa2|kdf3]");
		goto out;
	}
	scp_keyset_clear(&c->keys);
	c->keys.alg = strcmp(t[1], "aes") == 0 ? GP_KEY_AES : GP_KEY_3DES;
	if (!parse_byte(c, t[2], &c->keys.kvn))
		goto out;
	dst[0] = c->keys.enc;
	dst[1] = c->keys.mac;
	dst[2] = c->keys.dek;
	for (i = 0; i < 3; i++) {
		if (!parse_hex(c, t[3 + i], &b))
			goto out;
		if (!gp_key_len_valid(c->keys.alg, b.len) || (i > 0 && b.len != c->keys.len)) {
			fail(c, "key '%s' has a bad length", t[3 + i]);
			goto out;
		}
		memcpy(dst[i], b.data, b.len);
		c->keys.len = b.len;
	}
	c->div = GP_DIV_NONE;
	cpk_error_clear(&err);
	if (n == 7 && gp_diversification_parse(t[6], &c->div, &err) != CPK_OK) {
		fail(c, "%s", err.msg);
		goto out;
	}
	c->have_keys = true;
	ok = true;
out:
	cpk_buf_free(&b);
	return ok;
}

/* INITIALIZE UPDATE; on 9000 the host session is begun and the card checked. */
static bool
step_iu(struct client *c, enum scp_version v, uint8_t i, char **sw, size_t nsw)
{
	struct cpk_buf cmd = CPK_BUF_INIT;
	struct scp_keyset card_keys;
	struct cpk_error err;
	bool ok = false;

	cpk_error_clear(&err);
	memset(&card_keys, 0, sizeof(card_keys));
	scp_session_clear(&c->s);
	c->have_iu = false;
	if (!c->have_keys) {
		fail(c, "iu needs keys");
		goto out;
	}
	if (scp_initialize_update_apdu(c->keys.kvn, host_challenge, &cmd, &err) != CPK_OK ||
	    !send_plain(c, cmd.data, cmd.len) || !check_sw(c, sw, nsw, "INITIALIZE UPDATE"))
		goto out;
	if (c->last_removed || c->last_sw != 0x9000) {
		ok = true;
		goto out;
	}
	if (scp_iu_response_parse(c->last.data, c->last.len, &c->iu, &err) != CPK_OK) {
		fail(c, "%s", err.msg);
		goto out;
	}
	c->have_iu = true;
	if (c->div == GP_DIV_NONE)
		card_keys = c->keys;
	else if (scp_keyset_diversify(&c->keys, c->div, c->iu.kdd, &card_keys, &err) != CPK_OK)
		goto crypto;
	if (scp_session_begin(&c->s, &card_keys, v, i, host_challenge, &c->iu, &err) != CPK_OK ||
	    scp_check_card_cryptogram(&c->s, c->iu.card_cryptogram, &err) != CPK_OK)
		goto crypto;
	ok = true;
	goto out;
crypto:
	scp_session_clear(&c->s);
	fail(c, "%s", err.msg);
out:
	scp_keyset_clear(&card_keys);
	cpk_buf_free(&cmd);
	return ok;
}

static bool
step_ea(struct client *c, uint8_t level, char **sw, size_t nsw)
{
	struct cpk_buf cmd = CPK_BUF_INIT;
	struct cpk_error err;
	bool ok = false;

	cpk_error_clear(&err);
	if (scp_external_authenticate(&c->s, level, &cmd, &err) != CPK_OK) {
		fail(c, "EXTERNAL AUTHENTICATE: %s", err.msg);
		goto out;
	}
	ok = send_plain(c, cmd.data, cmd.len) && check_sw(c, sw, nsw, "EXTERNAL AUTHENTICATE");
out:
	cpk_buf_free(&cmd);
	return ok;
}

static bool
step_expect_predictable(struct client *c)
{
	struct scp_keyset card_keys;
	struct cpk_error err;
	uint8_t chal[8];
	size_t clen = 0;
	bool ok = false;
	enum scp_version v;

	cpk_error_clear(&err);
	if (!c->have_iu) {
		fail(c, "no INITIALIZE UPDATE response");
		return false;
	}
	v = c->iu.scp == 0x02 ? SCP02 : SCP03;
	if (c->div == GP_DIV_NONE)
		card_keys = c->keys;
	else if (scp_keyset_diversify(&c->keys, c->div, c->iu.kdd, &card_keys, &err) != CPK_OK)
		goto out;
	if (scp_pseudo_random_challenge(&card_keys, v, c->iu.counter, c->iu.counter_len, c->isd,
	    c->isd_len, chal, &clen, &err) != CPK_OK)
		goto out;
	if (clen != c->iu.challenge_len || memcmp(chal, c->iu.card_challenge, clen) != 0) {
		fail(c, "the card challenge is not the pseudo-random one");
		goto out;
	}
	ok = true;
out:
	if (!ok && err.msg[0] != '\0')
		fail(c, "%s", err.msg);
	scp_keyset_clear(&card_keys);
	return ok;
}

static bool
append_lv(struct cpk_buf *b, const uint8_t *p, size_t n)
{
	return n <= 255 && cpk_buf_append_byte(b, (uint8_t)n, NULL) == CPK_OK &&
	    cpk_buf_append(b, p, n, NULL) == CPK_OK;
}

/* Build a command "80 INS P1 P2 Lc data" into out. */
static bool
build_cmd(uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *data, size_t n, bool le,
    struct cpk_buf *out)
{
	struct cpk_apdu a;

	memset(&a, 0, sizeof(a));
	a.cla = 0x80;
	a.ins = ins;
	a.p1 = p1;
	a.p2 = p2;
	a.data = n > 0 ? data : NULL;
	a.lc = n;
	a.has_le = le;
	a.ne = 256;
	cpk_buf_reset(out);
	return cpk_apdu_build(&a, out, NULL) == CPK_OK;
}

/* Send one command of a sequence; *stop when it did not answer 9000. */
static bool
sequence_step(struct client *c, const struct cpk_buf *cmd, bool *stop)
{
	if (!send_secure(c, cmd->data, cmd->len))
		return false;
	*stop = c->last_removed || c->last_sw != 0x9000;
	return true;
}

static bool
step_load(struct client *c, char **t, size_t n)
{
	struct capgen_spec spec;
	struct cpk_buf lfdb = CPK_BUF_INIT, file = CPK_BUF_INIT, data = CPK_BUF_INIT,
	    cmd = CPK_BUF_INIT;
	struct cpk_error err;
	char *applets, *tok, *save = NULL;
	uint8_t md[32];
	unsigned int mdlen = 0;
	const EVP_MD *alg = EVP_sha256();
	size_t block = 0, size, off, len, k = 4, nsw;
	unsigned blockno = 0;
	bool ok = false, stop = false;

	cpk_error_clear(&err);
	if (n < 4) {
		fail(c, "load PKG APPLET[,APPLET] SIZE [sha1|sha256|nohash] [block N] [SW...]");
		goto out;
	}
	capgen_spec_init(&spec);
	if (capgen_aid_parse(t[1], &spec.package, &err) != CPK_OK)
		goto bad;
	applets = t[2];
	for (tok = strtok_r(applets, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		if (spec.applet_count >= CAPGEN_MAX_APPLETS ||
		    capgen_aid_parse(tok, &spec.applets[spec.applet_count++], &err) != CPK_OK)
			goto bad;
	}
	size = strtoul(t[3], NULL, 10);
	spec.lfdb_size = size;
	for (; k < n; k++) {
		if (strcmp(t[k], "sha1") == 0)
			alg = EVP_sha1();
		else if (strcmp(t[k], "sha256") == 0)
			alg = EVP_sha256();
		else if (strcmp(t[k], "nohash") == 0)
			alg = NULL;
		else if (strcmp(t[k], "block") == 0 && k + 1 < n)
			block = strtoul(t[++k], NULL, 10);
		else
			break;
	}
	nsw = n - k;
	if (capgen_lfdb(&spec, true, &lfdb, &err) != CPK_OK)
		goto bad;
	if (block == 0)
		block = scp_max_plain_data(c->s.version, c->s.level, CPK_APDU_SHORT_MAX_LC);
	if (alg != NULL && EVP_Digest(lfdb.data, lfdb.len, md, &mdlen, alg, NULL) != 1) {
		fail(c, "hashing failed");
		goto out;
	}
	/* INSTALL [for load]: package AID, no SD, hash, no parameters, no token. */
	if (!append_lv(&data, spec.package.b, spec.package.len) || !append_lv(&data, NULL, 0) ||
	    !append_lv(&data, md, mdlen) || !append_lv(&data, NULL, 0) ||
	    !append_lv(&data, NULL, 0) ||
	    !build_cmd(0xE6, 0x02, 0x00, data.data, data.len, true, &cmd) ||
	    !sequence_step(c, &cmd, &stop))
		goto out;
	/* The load file: C4 <BER length> LFDB, in blocks. */
	if (cpk_buf_append_byte(&file, 0xC4, NULL) != CPK_OK ||
	    cpk_ber_len_put(&file, lfdb.len, NULL) != CPK_OK ||
	    cpk_buf_append(&file, lfdb.data, lfdb.len, NULL) != CPK_OK)
		goto out;
	for (off = 0; !stop && off < file.len; off += len, blockno++) {
		len = file.len - off < block ? file.len - off : block;
		if (blockno > 0xFF) {
			fail(c, "more than 256 LOAD blocks");
			goto out;
		}
		if (!build_cmd(0xE8, off + len == file.len ? 0x80 : 0x00, (uint8_t)blockno,
		    file.data + off, len, false, &cmd) || !sequence_step(c, &cmd, &stop))
			goto out;
	}
	ok = check_sw(c, t + k, nsw, "load");
	if (ok && nsw > 0 && !stop) {
		fail(c, "load: the whole sequence was accepted");
		ok = false;
	}
	goto out;
bad:
	fail(c, "load: %s", err.msg);
out:
	cpk_buf_free(&lfdb);
	cpk_buf_free(&file);
	cpk_buf_free(&data);
	cpk_buf_free(&cmd);
	return ok;
}

static bool
step_install(struct client *c, char **t, size_t n)
{
	struct cpk_buf data = CPK_BUF_INIT, cmd = CPK_BUF_INIT, f = CPK_BUF_INIT;
	static const uint8_t no_params[] = { 0xC9, 0x00 };
	size_t i, k = 4;
	bool ok = false, stop = false;

	if (n < 4) {
		fail(c, "install PKG MODULE INSTANCE [PRIV [PARAMS]] [SW...]");
		goto out;
	}
	for (i = 1; i <= 3; i++)
		if (!parse_hex(c, t[i], &f) || !append_lv(&data, f.data, f.len))
			goto out;
	/* Optional privileges and parameters: hex tokens longer than a status word. */
	if (k < n && strlen(t[k]) != 4 && strcmp(t[k], "any") != 0 && strcmp(t[k], "removed") != 0) {
		if (!parse_hex(c, t[k], &f) || !append_lv(&data, f.data, f.len))
			goto out;
		k++;
	} else if (!append_lv(&data, (const uint8_t *)"\x00", 1)) {
		goto out;
	}
	if (k < n && strlen(t[k]) != 4 && strcmp(t[k], "any") != 0 && strcmp(t[k], "removed") != 0) {
		if (!parse_hex(c, t[k], &f) || !append_lv(&data, f.data, f.len))
			goto out;
		k++;
	} else if (!append_lv(&data, no_params, sizeof(no_params))) {
		goto out;
	}
	if (!append_lv(&data, NULL, 0) ||
	    !build_cmd(0xE6, 0x0C, 0x00, data.data, data.len, true, &cmd) ||
	    !sequence_step(c, &cmd, &stop))
		goto out;
	ok = check_sw(c, t + k, n - k, "install");
out:
	cpk_buf_free(&data);
	cpk_buf_free(&cmd);
	cpk_buf_free(&f);
	return ok;
}

/* PUT KEY: replace key set OLD (00 = add) by NEW with three keys, checked answer. */
static bool
step_put_key(struct client *c, char **t, size_t n)
{
	struct cpk_buf data = CPK_BUF_INIT, cmd = CPK_BUF_INIT, key = CPK_BUF_INIT,
	    answer = CPK_BUF_INIT;
	struct cpk_error err;
	uint8_t old_kvn, new_kvn, enc[32], kcv[3];
	bool aes = c->s.version == SCP03, ok = false, stop = false;
	size_t i;

	cpk_error_clear(&err);
	if (n < 6) {
		fail(c, "put-key OLD NEW ENC MAC DEK [SW...]");
		goto out;
	}
	if (!parse_byte(c, t[1], &old_kvn) || !parse_byte(c, t[2], &new_kvn) ||
	    cpk_buf_append_byte(&data, new_kvn, NULL) != CPK_OK ||
	    cpk_buf_append_byte(&answer, new_kvn, NULL) != CPK_OK)
		goto out;
	for (i = 0; i < 3; i++) {
		if (!parse_hex(c, t[3 + i], &key))
			goto out;
		if (key.len > sizeof(enc) ||
		    scp_encrypt_key(&c->s, key.data, key.len, enc, &err) != CPK_OK ||
		    gp_kcv(aes ? GP_KEY_AES : GP_KEY_3DES, key.data, key.len, kcv, &err) != CPK_OK) {
			fail(c, "put-key: %s", err.msg[0] ? err.msg : "bad key");
			goto out;
		}
		if (cpk_buf_append_byte(&data, aes ? 0x88 : 0x80, NULL) != CPK_OK ||
		    cpk_buf_append_byte(&data, (uint8_t)(key.len + (aes ? 1 : 0)), NULL) != CPK_OK ||
		    (aes && cpk_buf_append_byte(&data, (uint8_t)key.len, NULL) != CPK_OK) ||
		    cpk_buf_append(&data, enc, key.len, NULL) != CPK_OK ||
		    cpk_buf_append_byte(&data, 3, NULL) != CPK_OK ||
		    cpk_buf_append(&data, kcv, 3, NULL) != CPK_OK ||
		    cpk_buf_append(&answer, kcv, 3, NULL) != CPK_OK)
			goto out;
	}
	if (!build_cmd(0xD8, old_kvn, 0x81, data.data, data.len, true, &cmd) ||
	    !sequence_step(c, &cmd, &stop) || !check_sw(c, t + 6, n - 6, "put-key"))
		goto out;
	if (!stop && (c->last.len != answer.len ||
	    memcmp(c->last.data, answer.data, answer.len) != 0)) {
		fail(c, "put-key: the card did not answer the new KVN and check values");
		goto out;
	}
	ok = true;
out:
	cpk_cleanse(enc, sizeof(enc));
	cpk_buf_free(&data);
	cpk_buf_free(&cmd);
	cpk_buf_free(&key);
	cpk_buf_free(&answer);
	return ok;
}

static bool
step_expect(struct client *c, const char *how, const char *hex)
{
	struct cpk_buf want = CPK_BUF_INIT;
	bool ok = false;
	size_t i;

	if (!parse_hex(c, hex, &want))
		goto out;
	if (strcmp(how, "expect") == 0)
		ok = want.len == c->last.len && memcmp(want.data, c->last.data, want.len) == 0;
	else if (strcmp(how, "expect-prefix") == 0)
		ok = want.len <= c->last.len && memcmp(want.data, c->last.data, want.len) == 0;
	else
		for (i = 0; !ok && want.len <= c->last.len && i <= c->last.len - want.len; i++)
			ok = memcmp(want.data, c->last.data + i, want.len) == 0;
	if (!ok) {
		fail(c, "%s %s: the response data differ", how, hex);
		trace_hex("  got", c->last.data, c->last.len, "");
	}
out:
	cpk_buf_free(&want);
	return ok;
}

static bool
step_expect_counter(struct client *c, const char *hex)
{
	struct cpk_buf want = CPK_BUF_INIT;
	bool ok = false;

	if (!parse_hex(c, hex, &want))
		goto out;
	if (!c->have_iu) {
		fail(c, "no INITIALIZE UPDATE response");
		goto out;
	}
	ok = want.len == c->iu.counter_len && memcmp(want.data, c->iu.counter, want.len) == 0;
	if (!ok) {
		fail(c, "sequence counter differs from %s", hex);
		trace_hex("  got", c->iu.counter, c->iu.counter_len, "");
	}
out:
	cpk_buf_free(&want);
	return ok;
}

static bool
step(struct client *c, char **t, size_t n)
{
	struct cpk_buf b = CPK_BUF_INIT;
	enum scp_version v;
	uint8_t i, level;
	bool ok = false;

	if (strcmp(t[0], "send") == 0 || strcmp(t[0], "ssend") == 0) {
		if (n < 2 || !parse_hex(c, t[1], &b))
			goto usage;
		if (t[0][0] == 's' && t[0][1] == 's')
			ok = send_secure(c, b.data, b.len);
		else
			ok = send_plain(c, b.data, b.len);
		ok = ok && check_sw(c, t + 2, n - 2, t[1]);
	} else if (strcmp(t[0], "isd") == 0 && n == 2) {
		ok = parse_hex(c, t[1], &b) && b.len >= 5 && b.len <= 16;
		if (ok) {
			memcpy(c->isd, b.data, b.len);
			c->isd_len = b.len;
		}
	} else if (strcmp(t[0], "keys") == 0) {
		ok = step_keys(c, t, n);
	} else if (strcmp(t[0], "iu") == 0 && n == 4 && strcmp(t[3], "mismatch") == 0) {
		/* The card answers, but not with these keys. */
		ok = parse_scp(c, t[1], &v) && parse_byte(c, t[2], &i) &&
		    step_iu(c, v, i, NULL, 0);
		if (!ok && c->have_iu && c->s.state == SCP_STATE_NONE) {
			g_failed = 0;
			ok = true;
			fprintf(stderr, "gpclient: (card cryptogram mismatch, as expected)\n");
		} else if (ok) {
			fail(c, "the card cryptogram matched these keys");
			ok = false;
		}
	} else if (strcmp(t[0], "iu") == 0 && n >= 3) {
		ok = parse_scp(c, t[1], &v) && parse_byte(c, t[2], &i) &&
		    step_iu(c, v, i, t + 3, n - 3);
	} else if (strcmp(t[0], "ea") == 0 && n >= 2) {
		ok = parse_byte(c, t[1], &level) && step_ea(c, level, t + 2, n - 2);
	} else if (strcmp(t[0], "open") == 0 && n == 4) {
		ok = parse_scp(c, t[1], &v) && parse_byte(c, t[2], &i) &&
		    parse_byte(c, t[3], &level) && step_iu(c, v, i, NULL, 0) &&
		    step_ea(c, level, NULL, 0);
	} else if (strcmp(t[0], "tamper") == 0 && n == 1) {
		c->tamper = true;
		ok = true;
	} else if ((strcmp(t[0], "expect") == 0 || strcmp(t[0], "expect-prefix") == 0 ||
	    strcmp(t[0], "expect-contains") == 0) && n == 2) {
		ok = step_expect(c, t[0], t[1]);
	} else if (strcmp(t[0], "expect-len") == 0 && n == 2) {
		ok = c->last.len == strtoul(t[1], NULL, 10);
		if (!ok)
			fail(c, "response data of %zu bytes, expected %s", c->last.len, t[1]);
	} else if (strcmp(t[0], "expect-counter") == 0 && n == 2) {
		ok = step_expect_counter(c, t[1]);
	} else if (strcmp(t[0], "expect-predictable") == 0 && n == 1) {
		ok = step_expect_predictable(c);
	} else if (strcmp(t[0], "load") == 0) {
		ok = step_load(c, t, n);
	} else if (strcmp(t[0], "install") == 0) {
		ok = step_install(c, t, n);
	} else if (strcmp(t[0], "put-key") == 0) {
		ok = step_put_key(c, t, n);
	} else if (strcmp(t[0], "reconnect") == 0 && n == 1) {
		disconnect_card(c);
		scp_session_clear(&c->s);
		ok = connect_card(c);
	} else if (strcmp(t[0], "wait-removed") == 0 && n == 1) {
		ok = wait_card(c, false);
	} else if (strcmp(t[0], "print") == 0 && n == 1) {
		for (size_t k = 0; k < c->last.len; k++)
			printf("%02X", c->last.data[k]);
		printf("\n");
		ok = fflush(stdout) == 0;
	} else if (strcmp(t[0], "echo") == 0) {
		fprintf(stderr, "gpclient:");
		for (size_t k = 1; k < n; k++)
			fprintf(stderr, " %s", t[k]);
		fputc('\n', stderr);
		ok = true;
	} else {
		goto usage;
	}
	goto out;
usage:
	fail(c, "cannot understand this step (see the header of gpclient.c)");
out:
	cpk_buf_free(&b);
	return ok;
}

static bool
run_script(struct client *c, FILE *in)
{
	char line[MAX_LINE], *t[MAX_TOKENS], *p, *save = NULL;
	size_t n;

	c->line = 0;
	while (fgets(line, sizeof(line), in) != NULL) {
		c->line++;
		if ((p = strchr(line, '#')) != NULL)
			*p = '\0';
		n = 0;
		for (p = strtok_r(line, " \t\r\n", &save); p != NULL && n < MAX_TOKENS;
		    p = strtok_r(NULL, " \t\r\n", &save))
			t[n++] = p;
		if (n == 0)
			continue;
		if (c->verbose)
			fprintf(stderr, "gpclient: [%u] %s\n", c->line, t[0]);
		if (!step(c, t, n))
			return false;
	}
	return true;
}

static void
usage(FILE *out)
{
	fprintf(out, "usage: gpclient [-r READER] [-t SECONDS] [-v] SCRIPT|-\n"
	    "       gpclient [-r READER] [-t SECONDS] --wait-card | --wait-removed\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "reader", required_argument, NULL, 'r' },
		{ "timeout", required_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "wait-card", no_argument, NULL, 'w' },
		{ "wait-removed", no_argument, NULL, 'W' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const uint8_t default_isd[] = { 0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00 };
	struct client c;
	FILE *in = NULL;
	int ch, mode = 0, rc = 1;

	memset(&c, 0, sizeof(c));
	c.reader_match = "Virtual PCD 00 00";
	c.timeout = 20;
	memcpy(c.isd, default_isd, sizeof(default_isd));
	c.isd_len = sizeof(default_isd);
	while ((ch = getopt_long(argc, argv, "r:t:vh", opts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			c.reader_match = optarg;
			break;
		case 't':
			c.timeout = strtod(optarg, NULL);
			break;
		case 'v':
			c.verbose = true;
			break;
		case 'w':
		case 'W':
			mode = ch;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if ((mode == 0) != (optind + 1 == argc) || (mode != 0 && optind != argc)) {
		usage(stderr);
		return 2;
	}
	if (mode == 0) {
		c.script = argv[optind];
		in = strcmp(c.script, "-") == 0 ? stdin : fopen(c.script, "r");
		if (in == NULL) {
			fprintf(stderr, "gpclient: %s: %s\n", c.script, strerror(errno));
			return 1;
		}
	}
	if (!establish(&c) || !find_reader(&c))
		goto out;
	if (mode == 'w') {
		rc = wait_card(&c, true) ? 0 : 1;
		goto out;
	}
	if (mode == 'W') {
		rc = wait_card(&c, false) ? 0 : 1;
		goto out;
	}
	if (!connect_card(&c))
		goto out;
	rc = run_script(&c, in) && !g_failed ? 0 : 1;
out:
	disconnect_card(&c);
	if (c.have_ctx)
		(void)SCardReleaseContext(c.ctx);
	if (in != NULL && in != stdin)
		fclose(in);
	scp_session_clear(&c.s);
	scp_keyset_clear(&c.keys);
	cpk_buf_free(&c.last);
	return rc;
}
