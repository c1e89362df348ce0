/* SPDX-License-Identifier: BSD-2-Clause */
/* cpk: INITIALIZE UPDATE responses and commands as bytes (see scp_iu.h). */
#include "scp_iu.h"

#include <string.h>

#include "cpk_apdu.h"

/* SCP03 i bit: pseudo-random card challenge, the response ends with the counter. */
#define I_PSEUDO 0x10

cpk_status
scp_iu_response_parse(const uint8_t *p, size_t n, struct scp_iu_response *out,
    struct cpk_error *err)
{
	struct cpk_cursor c;
	uint8_t scp;

	memset(out, 0, sizeof(*out));
	if (n != 28 && n != 29 && n != 32)
		return cpk_error_set(err, CPK_ERR_PARSE,
		    "INITIALIZE UPDATE response is %zu bytes; expected 28 (SCP02), 29 or 32 (SCP03)",
		    n);
	scp = p[11];
	if ((n == 28) != (scp == 0x02) || (scp != 0x02 && scp != 0x03))
		return cpk_error_set(err, CPK_ERR_PARSE,
		    "INITIALIZE UPDATE response of %zu bytes names SCP %02X", n, scp);
	cpk_cursor_init(&c, p, n);
	if (!cpk_cursor_copy(&c, out->kdd, SCP_KDD_LEN) || !cpk_cursor_u8(&c, &out->kvn) ||
	    !cpk_cursor_u8(&c, &out->scp))
		return cpk_error_set(err, CPK_ERR_PARSE, "INITIALIZE UPDATE response truncated");
	if (scp == 0x02) {
		out->counter_len = 2;
		out->challenge_len = 6;
		if (!cpk_cursor_copy(&c, out->counter, 2))
			return cpk_error_set(err, CPK_ERR_PARSE, "INITIALIZE UPDATE response truncated");
	} else {
		if (!cpk_cursor_u8(&c, &out->i))
			return cpk_error_set(err, CPK_ERR_PARSE, "INITIALIZE UPDATE response truncated");
		out->challenge_len = 8;
		out->counter_len = (out->i & I_PSEUDO) ? 3 : 0;
		if (n != (out->counter_len ? 32u : 29u))
			return cpk_error_set(err, CPK_ERR_PARSE,
			    "INITIALIZE UPDATE response is %zu bytes but i=%02X %s",
			    n, out->i, out->counter_len ? "requires a sequence counter (32 bytes)" :
			    "has no sequence counter (29 bytes)");
	}
	if (!cpk_cursor_copy(&c, out->card_challenge, out->challenge_len) ||
	    !cpk_cursor_copy(&c, out->card_cryptogram, 8) ||
	    !cpk_cursor_copy(&c, out->counter, scp == 0x03 ? out->counter_len : 0))
		return cpk_error_set(err, CPK_ERR_PARSE, "INITIALIZE UPDATE response truncated");
	return CPK_OK;
}

cpk_status
scp_iu_response_build(const struct scp_iu_response *r, struct cpk_buf *out,
    struct cpk_error *err)
{
	uint8_t tmp[32];
	size_t n = 0;

	if ((r->scp == 0x02 && (r->counter_len != 2 || r->challenge_len != 6)) ||
	    (r->scp == 0x03 && (r->challenge_len != 8 ||
	    r->counter_len != ((r->i & I_PSEUDO) ? 3u : 0u))) ||
	    (r->scp != 0x02 && r->scp != 0x03))
		return cpk_error_set(err, CPK_ERR_ARG, "inconsistent INITIALIZE UPDATE response fields");
	memcpy(tmp, r->kdd, SCP_KDD_LEN);
	n = SCP_KDD_LEN;
	tmp[n++] = r->kvn;
	tmp[n++] = r->scp;
	if (r->scp == 0x02) {
		memcpy(tmp + n, r->counter, 2);
		n += 2;
	} else {
		tmp[n++] = r->i;
	}
	memcpy(tmp + n, r->card_challenge, r->challenge_len);
	n += r->challenge_len;
	memcpy(tmp + n, r->card_cryptogram, 8);
	n += 8;
	if (r->scp == 0x03 && r->counter_len == 3) {
		memcpy(tmp + n, r->counter, 3);
		n += 3;
	}
	return cpk_buf_append(out, tmp, n, err);
}

cpk_status
scp_initialize_update_apdu(uint8_t kvn, const uint8_t host_challenge[SCP_CHALLENGE_LEN],
    struct cpk_buf *out, struct cpk_error *err)
{
	struct cpk_apdu a = {
		.cla = 0x80, .ins = 0x50, .p1 = kvn, .p2 = 0x00,
		.data = host_challenge, .lc = SCP_CHALLENGE_LEN,
		.has_le = true, .ne = 256,
	};

	return cpk_apdu_build(&a, out, err);
}


const char *
scp_level_name(uint8_t level)
{
	switch (level) {
	case 0x01:
		return "c-mac";
	case 0x03:
		return "c-mac+c-dec";
	case 0x11:
		return "c-mac+r-mac";
	case 0x13:
		return "c-mac+c-dec+r-mac";
	case 0x33:
		return "c-mac+c-dec+r-mac+r-enc";
	}
	return NULL;
}
