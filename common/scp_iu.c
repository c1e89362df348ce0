/* SPDX-License-Identifier: BSD-2-Clause */
/* cpk: INITIALIZE UPDATE responses and commands as bytes (see scp_iu.h). */
#include "scp_iu.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cpk_apdu.h"

/* Is n the length of some response of protocol p (any i)? */
static bool
length_fits(const struct scp_proto *p, size_t n)
{
	return n == scp_proto_iu_len(p, 0x00) || n == scp_proto_iu_len(p, 0xFF);
}

/* "28 (SCP02), 29 or 32 (SCP03)": the lengths the table allows. */
static void
lengths_text(char *out, size_t size)
{
	const struct scp_proto *p;
	size_t k, used = 0, lo, hi;
	int w;

	out[0] = '\0';
	for (k = 0; (p = scp_proto_at(k)) != NULL && used < size; k++) {
		lo = scp_proto_iu_len(p, 0x00);
		hi = scp_proto_iu_len(p, 0xFF);
		if (lo > hi) {
			size_t t = lo;

			lo = hi;
			hi = t;
		}
		if (lo == hi)
			w = snprintf(out + used, size - used, "%s%zu (%s)", k == 0 ? "" : ", ", lo,
			    p->name);
		else
			w = snprintf(out + used, size - used, "%s%zu or %zu (%s)",
			    k == 0 ? "" : ", ", lo, hi, p->name);
		if (w < 0)
			break;
		used += (size_t)w;
	}
}

static bool
length_known(size_t n)
{
	const struct scp_proto *p;
	size_t k;

	for (k = 0; (p = scp_proto_at(k)) != NULL; k++)
		if (length_fits(p, n))
			return true;
	return false;
}

cpk_status
scp_iu_response_parse(const uint8_t *p, size_t n, struct scp_iu_response *out,
    struct cpk_error *err)
{
	const struct scp_proto *proto;
	struct cpk_cursor c;
	char text[160];

	memset(out, 0, sizeof(*out));
	if (!length_known(n) || n < SCP_KDD_LEN + 2) {
		lengths_text(text, sizeof(text));
		return cpk_error_set(err, CPK_ERR_PARSE,
		    "INITIALIZE UPDATE response is %zu bytes; expected %s", n, text);
	}
	proto = scp_proto_find(p[SCP_KDD_LEN + 1]);
	if (proto == NULL || !length_fits(proto, n) ||
	    proto->counter_len > SCP_PROTO_COUNTER_MAX ||
	    proto->challenge_len > SCP_CHALLENGE_LEN)
		return cpk_error_set(err, CPK_ERR_PARSE,
		    "INITIALIZE UPDATE response of %zu bytes names SCP %02X", n,
		    p[SCP_KDD_LEN + 1]);
	cpk_cursor_init(&c, p, n);
	if (!cpk_cursor_copy(&c, out->kdd, SCP_KDD_LEN) || !cpk_cursor_u8(&c, &out->kvn) ||
	    !cpk_cursor_u8(&c, &out->scp) || (proto->iu_has_i && !cpk_cursor_u8(&c, &out->i)))
		return cpk_error_set(err, CPK_ERR_PARSE, "INITIALIZE UPDATE response truncated");
	out->challenge_len = proto->challenge_len;
	out->counter_len = scp_proto_iu_counter_len(proto, out->i);
	if (n != scp_proto_iu_len(proto, out->i))
		return cpk_error_set(err, CPK_ERR_PARSE,
		    "INITIALIZE UPDATE response is %zu bytes but i=%02X %s (%zu bytes)",
		    n, out->i, out->counter_len ? "requires a sequence counter" :
		    "has no sequence counter", scp_proto_iu_len(proto, out->i));
	if ((proto->iu_counter_first && !cpk_cursor_copy(&c, out->counter, out->counter_len)) ||
	    !cpk_cursor_copy(&c, out->card_challenge, out->challenge_len) ||
	    !cpk_cursor_copy(&c, out->card_cryptogram, 8) ||
	    (!proto->iu_counter_first && !cpk_cursor_copy(&c, out->counter, out->counter_len)))
		return cpk_error_set(err, CPK_ERR_PARSE, "INITIALIZE UPDATE response truncated");
	return CPK_OK;
}

cpk_status
scp_iu_response_build(const struct scp_iu_response *r, struct cpk_buf *out,
    struct cpk_error *err)
{
	const struct scp_proto *proto = scp_proto_find(r->scp);
	uint8_t tmp[64];
	size_t n = 0;

	if (proto == NULL || r->challenge_len != proto->challenge_len ||
	    r->counter_len != scp_proto_iu_counter_len(proto, proto->iu_has_i ? r->i : 0) ||
	    r->counter_len > sizeof(r->counter) || r->challenge_len > sizeof(r->card_challenge) ||
	    scp_proto_iu_len(proto, r->i) > sizeof(tmp))
		return cpk_error_set(err, CPK_ERR_ARG, "inconsistent INITIALIZE UPDATE response fields");
	memcpy(tmp, r->kdd, SCP_KDD_LEN);
	n = SCP_KDD_LEN;
	tmp[n++] = r->kvn;
	tmp[n++] = r->scp;
	if (proto->iu_has_i)
		tmp[n++] = r->i;
	if (proto->iu_counter_first) {
		memcpy(tmp + n, r->counter, r->counter_len);
		n += r->counter_len;
	}
	memcpy(tmp + n, r->card_challenge, r->challenge_len);
	n += r->challenge_len;
	memcpy(tmp + n, r->card_cryptogram, 8);
	n += 8;
	if (!proto->iu_counter_first) {
		memcpy(tmp + n, r->counter, r->counter_len);
		n += r->counter_len;
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
