/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cardsim: mandated DAP verification (GP 2.3.1 9.2.1, C.2). The card is
 * configured with the ISD's DAP public key (dap-key); the load file must
 * then start with a DAP block E2 { 4F ISD-AID, C3 signature } whose
 * RSASSA-PKCS1-v1_5 SHA-256 signature over the INSTALL [for load] hash
 * verifies. A missing block, another SD's block only, a load without a hash
 * or a signature that does not verify: 6982 (security status not satisfied).
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "card_int.h"
#include "cpk_tlv.h"

bool
cs_rsa_verify(const uint8_t *der, size_t derlen, bool sha1, const uint8_t *msg, size_t n,
    const uint8_t *sig, size_t siglen)
{
	const unsigned char *p = der;
	EVP_PKEY *key = derlen <= LONG_MAX ? d2i_PUBKEY(NULL, &p, (long)derlen) : NULL;
	EVP_MD_CTX *md = NULL;
	bool ok = false;

	if (key == NULL || (md = EVP_MD_CTX_new()) == NULL)
		goto out;
	ok = EVP_DigestVerifyInit(md, NULL, sha1 ? EVP_sha1() : EVP_sha256(), NULL, key) == 1 &&
	    EVP_DigestVerify(md, sig, siglen, msg, n) == 1;
out:
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(key);
	return ok;
}

/*
 * The DAP blocks before the load file data block (the first hdr bytes of
 * the load) hold one for `sd` whose signature verifies with key; else
 * 6982. why says why a DAP is needed, whose names the SD, in messages.
 */
static uint16_t
verify_for(struct cardsim *c, size_t hdr, const struct cs_aid *sd, const uint8_t *key,
    size_t keylen, const char *why, const char *whose)
{
	struct cpk_cursor cur;
	struct cpk_tlv block, aid, sig;
	struct cpk_error err;

	cpk_error_clear(&err);
	if (c->load.hash_len == 0)
		return cs_refuse(c, SW_SECURITY, "LOAD: %s and INSTALL [for load] gave no load file "
		    "data block hash", why);
	cpk_cursor_init(&cur, c->load.data.data, hdr);
	while (cpk_cursor_left(&cur) > 0 && cpk_tlv_next(&cur, &block, &err) == CPK_OK &&
	    block.tag == 0xE2) {
		if (cpk_tlv_find(block.value, block.len, 0x4F, &aid, NULL) != CPK_OK ||
		    aid.len != sd->len || memcmp(aid.value, sd->b, aid.len) != 0)
			continue;
		if (cpk_tlv_find(block.value, block.len, 0xC3, &sig, NULL) != CPK_OK ||
		    !cs_rsa_verify(key, keylen, false, c->load.hash, c->load.hash_len, sig.value,
		    sig.len))
			return cs_refuse(c, SW_SECURITY, "LOAD: %s's DAP signature does not verify",
			    whose);
		return SW_OK;
	}
	return cs_refuse(c, SW_SECURITY, "LOAD: %s and the load file has no DAP block for %s",
	    why, whose);
}

uint16_t
cs_dap_verify(struct cardsim *c, size_t hdr)
{
	return verify_for(c, hdr, &c->id.isd, c->id.dap_key, c->id.dap_key_len,
	    "this card mandates DAP verification", "the ISD");
}

uint16_t
cs_ssd_dap_verify(struct cardsim *c, size_t hdr)
{
	const struct cs_aid *sd = c->load.sd.len > 0 ? &c->load.sd : cs_selected_sd_aid(c);
	const struct cs_app *app = cardsim_find_app(c, sd->b, sd->len);
	char hex[2 * CS_AID_MAX + 1], why[128], whose[64];

	if (app == NULL || (app->priv[0] & 0xC0) != 0xC0 || app->dap_key_len == 0)
		return SW_OK;
	if (cpk_hex_encode(sd->b, sd->len, hex, sizeof(hex)) != CPK_OK)
		hex[0] = '\0';
	snprintf(why, sizeof(why), "security domain %s has the DAP Verification privilege", hex);
	snprintf(whose, sizeof(whose), "security domain %s", hex);
	return verify_for(c, hdr, sd, app->dap_key, app->dap_key_len, why, whose);
}
