/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzz target: the bundle reader, cpk_bundle_open (loader/bundle_read.h),
 * with a trust store holding one key (bundle_key.h: the test signing key,
 * so the golden bundles and the generated seeds verify).
 *
 * The input is a bundle file, or its three entries, which the target
 * stores in a consistent zip (zip_stored.h) so that mutations reach the
 * manifest and the script past the container's CRCs (see open_both).
 * Every bundle is opened twice: to load (signature required) and to inspect
 * (CPK_BUNDLE_OPEN_INSPECT: a signature failure is recorded, not fatal).
 * Nothing crashes or leaks, and:
 * - a refusal returns no bundle, names a fault and says why;
 * - the two modes agree: a bundle opens to load exactly when it opens to
 *   inspect with a verified signature; one that opens to inspect without
 *   one is refused to load for that signature fault; a refusal to inspect
 *   is a refusal to load, for the same reason unless the signature fails
 *   first;
 * - an opened bundle is what its manifest says: as many commands, which
 *   pass the order rules and re-encode (cpk_script_encode) to script.bin's
 *   size and SHA-256; its manifest text is canonical (re-encodes to the
 *   same bytes); the file's SHA-256 and, when verified, the trusted key id
 *   and signer are reported.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "bundle_key.h"
#include "bundle_read.h"
#include "fuzz.h"
#include "verify.h"
#include "zip_stored.h"

static struct cpk_trust *trust;
static struct cpk_pubkey trusted;

static const struct cpk_trust *
get_trust(void)
{
	if (trust == NULL) {
		FUZZ_CHECK(fuzz_bundle_pubkey(&trusted) == 0);
		FUZZ_CHECK(cpk_trust_new(&trust, NULL) == CPK_OK);
		FUZZ_CHECK(cpk_trust_add_key(trust, &trusted, "fuzz test key", NULL) == CPK_OK);
	}
	return trust;
}

static bool
signature_fault(enum cpk_bundle_fault f)
{
	return f == CPK_FAULT_SIGNATURE_FORMAT || f == CPK_FAULT_UNKNOWN_KEY ||
	    f == CPK_FAULT_BAD_SIGNATURE;
}

static void
check_refused(cpk_status st, const struct cpk_bundle *b, const struct cpk_bundle_diag *d,
    const struct cpk_error *err)
{
	FUZZ_CHECK(b == NULL);
	FUZZ_CHECK(d->fault != CPK_FAULT_NONE);
	FUZZ_CHECK(err->status == st && err->msg[0] != '\0');
}

static void
check_opened(const struct cpk_bundle *b, const uint8_t *data, size_t size)
{
	const struct cpk_manifest *m = cpk_bundle_manifest(b);
	struct cpk_command *cmds;
	struct cpk_buf buf = CPK_BUF_INIT;
	uint8_t md[CPK_SHA256_LEN];
	const uint8_t *text;
	size_t n, tlen, i;

	/* The manifest text is the canonical encoding of what was read from it. */
	text = cpk_bundle_manifest_text(b, &tlen);
	FUZZ_CHECK(cpk_manifest_encode(m, &buf, NULL) == CPK_OK);
	FUZZ_CHECK(buf.len == tlen && memcmp(buf.data, text, tlen) == 0);
	cpk_buf_reset(&buf);

	/* The commands re-encode to script.bin (as the signed manifest pins it). */
	n = cpk_bundle_command_count(b);
	FUZZ_CHECK(n == m->commands && n >= 1);
	FUZZ_CHECK(cpk_bundle_command(b, n) == NULL);
	FUZZ_CHECK((cmds = calloc(n, sizeof(*cmds))) != NULL);
	for (i = 0; i < n; i++) {
		const struct cpk_command *c = cpk_bundle_command(b, i);

		FUZZ_CHECK(c != NULL);
		cmds[i] = *c;
	}
	FUZZ_CHECK(cpk_script_check_flow(m, cmds, n, NULL) == CPK_OK);
	FUZZ_CHECK(cpk_script_encode(cmds, n, &buf, NULL) == CPK_OK);
	FUZZ_CHECK(buf.len == m->script_size);
	FUZZ_CHECK(cpk_sha256(buf.data, buf.len, md, NULL) == CPK_OK);
	FUZZ_CHECK(memcmp(md, m->script_sha256, sizeof(md)) == 0);
	free(cmds);
	cpk_buf_free(&buf);

	FUZZ_CHECK(cpk_sha256(data, size, md, NULL) == CPK_OK);
	FUZZ_CHECK(memcmp(md, cpk_bundle_sha256(b), sizeof(md)) == 0);
	if (cpk_bundle_verified(b, NULL, NULL)) {
		FUZZ_CHECK(memcmp(cpk_bundle_key_id(b), trusted.key_id, CPK_KEY_ID_LEN) == 0);
		FUZZ_CHECK(cpk_bundle_signer(b) != NULL);
	} else {
		FUZZ_CHECK(cpk_bundle_signer(b) == NULL);
	}
}

/* Open one bundle to load and to inspect, and check what each says. */
static void
open_both(const uint8_t *data, size_t size)
{
	const struct cpk_trust *t = get_trust();
	struct cpk_bundle *load = NULL, *insp = NULL;
	struct cpk_bundle_diag dl, di;
	struct cpk_error el, ei, why;
	enum cpk_bundle_fault sig_fault = CPK_FAULT_NONE;
	cpk_status sl, si;
	bool verified = false;

	cpk_error_clear(&el);
	cpk_error_clear(&ei);
	cpk_error_clear(&why);
	sl = cpk_bundle_open(data, size, t, 0, &load, &dl, &el);
	si = cpk_bundle_open(data, size, t, CPK_BUNDLE_OPEN_INSPECT, &insp, &di, &ei);

	if (sl == CPK_OK) {
		FUZZ_CHECK(load != NULL && dl.fault == CPK_FAULT_NONE);
		FUZZ_CHECK(cpk_bundle_verified(load, NULL, NULL));
		check_opened(load, data, size);
	} else {
		check_refused(sl, load, &dl, &el);
	}
	if (si == CPK_OK) {
		FUZZ_CHECK(insp != NULL && di.fault == CPK_FAULT_NONE);
		verified = cpk_bundle_verified(insp, &why, &sig_fault);
		check_opened(insp, data, size);
		if (verified) {
			FUZZ_CHECK(sig_fault == CPK_FAULT_NONE);
			FUZZ_CHECK(sl == CPK_OK);
		} else {
			FUZZ_CHECK(signature_fault(sig_fault));
			FUZZ_CHECK(sl != CPK_OK && dl.fault == sig_fault);
			FUZZ_CHECK(why.status == sl && strcmp(why.msg, el.msg) == 0);
		}
	} else {
		check_refused(si, insp, &di, &ei);
		FUZZ_CHECK(!signature_fault(di.fault));
		FUZZ_CHECK(sl != CPK_OK);
		if (!signature_fault(dl.fault))
			FUZZ_CHECK(dl.fault == di.fault && sl == si &&
			    strcmp(el.msg, ei.msg) == 0);
	}
	cpk_bundle_free(&load);
	cpk_bundle_free(&insp);
	FUZZ_CHECK(load == NULL && insp == NULL);
}

/*
 * The input: a bundle file as it is (first byte 'P', as in "PK"), or its
 * entries, stored by the target in a consistent zip (any other first
 * byte): u16 big-endian length and manifest.yaml, then the 74 bytes of
 * manifest.sig (fewer if the input ends), then script.bin (the rest).
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_zip_entry e[CPK_ENTRY_COUNT];
	struct cpk_buf zip = CPK_BUF_INIT;
	size_t mlen, slen;

	if (size == 0 || data[0] == 'P') {
		open_both(data, size);
		return 0;
	}
	data++;
	size--;
	mlen = size >= 2 ? (size_t)data[0] << 8 | data[1] : 0;
	data += size >= 2 ? 2 : size;
	size -= size >= 2 ? 2 : size;
	if (mlen > size)
		mlen = size;
	slen = size - mlen < CPK_SIG_LEN ? size - mlen : CPK_SIG_LEN;
	e[0].name = CPK_ENTRY_MANIFEST;
	e[0].data = data;
	e[0].len = mlen;
	e[1].name = CPK_ENTRY_SIGNATURE;
	e[1].data = data + mlen;
	e[1].len = slen;
	e[2].name = CPK_ENTRY_SCRIPT;
	e[2].data = data + mlen + slen;
	e[2].len = size - mlen - slen;
	e[0].name_len = strlen(e[0].name);
	e[1].name_len = strlen(e[1].name);
	e[2].name_len = strlen(e[2].name);
	fuzz_zip_stored(e, CPK_ENTRY_COUNT, &zip);
	open_both(zip.data, zip.len);
	cpk_buf_free(&zip);
	return 0;
}
