/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzz target: the SERAM message decoders (common/seram.c), the bytes
 * cardc serve reads from any agent and cardload --server from any server.
 * The first byte picks the message kind. A message that decodes must
 * encode, and its encoding must decode to the same encoding.
 */
#include <string.h>

#include "fuzz.h"
#include "seram.h"

static void
order(const uint8_t *p, size_t n)
{
	struct seram_order o, o2;
	struct cpk_buf b = CPK_BUF_INIT, b2 = CPK_BUF_INIT;
	struct cpk_error err;

	if (seram_order_decode(p, n, &o, &err) != CPK_OK)
		return;
	FUZZ_CHECK(seram_order_encode(&o, &b, &err) == CPK_OK);
	FUZZ_CHECK(seram_order_decode(b.data, b.len, &o2, &err) == CPK_OK);
	FUZZ_CHECK(seram_order_encode(&o2, &b2, &err) == CPK_OK);
	FUZZ_CHECK(b.len == b2.len && memcmp(b.data, b2.data, b.len) == 0);
	seram_order_clear(&o);
	seram_order_clear(&o2);
	cpk_buf_free(&b);
	cpk_buf_free(&b2);
}

static void
report(const uint8_t *p, size_t n)
{
	struct seram_report r, r2;
	struct cpk_buf b = CPK_BUF_INIT, b2 = CPK_BUF_INIT;
	struct cpk_error err;

	if (seram_report_decode(p, n, &r, &err) != CPK_OK)
		return;
	FUZZ_CHECK(seram_report_encode(&r, &b, &err) == CPK_OK);
	FUZZ_CHECK(seram_report_decode(b.data, b.len, &r2, &err) == CPK_OK);
	FUZZ_CHECK(seram_report_encode(&r2, &b2, &err) == CPK_OK);
	FUZZ_CHECK(b.len == b2.len && memcmp(b.data, b2.data, b.len) == 0);
	seram_report_clear(&r);
	seram_report_clear(&r2);
	cpk_buf_free(&b);
	cpk_buf_free(&b2);
}

static void
handshake(const uint8_t *p, size_t n)
{
	struct seram_handshake h, h2;
	struct seram_handshake_response r;
	struct cpk_buf b = CPK_BUF_INIT, b2 = CPK_BUF_INIT;
	struct cpk_error err;

	if (seram_handshake_response_decode(p, n, &r, &err) == CPK_OK) {
		FUZZ_CHECK(seram_handshake_response_encode(&r, &b, &err) == CPK_OK);
		cpk_buf_reset(&b);
	}
	if (seram_handshake_decode(p, n, &h, &err) != CPK_OK) {
		cpk_buf_free(&b);
		return;
	}
	FUZZ_CHECK(seram_handshake_encode(&h, &b, &err) == CPK_OK);
	FUZZ_CHECK(seram_handshake_decode(b.data, b.len, &h2, &err) == CPK_OK);
	FUZZ_CHECK(seram_handshake_encode(&h2, &b2, &err) == CPK_OK);
	FUZZ_CHECK(b.len == b2.len && memcmp(b.data, b2.data, b.len) == 0);
	seram_handshake_clear(&h);
	seram_handshake_clear(&h2);
	cpk_buf_free(&b);
	cpk_buf_free(&b2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		order(data + 1, size - 1);
		break;
	case 1:
		report(data + 1, size - 1);
		break;
	default:
		handshake(data + 1, size - 1);
		break;
	}
	return 0;
}
