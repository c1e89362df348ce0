/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk unit test: response assembly over a scripted transport: 61xx chains
 * with GET RESPONSE, 6Cxx resend (never for a secured command), limits, and
 * transport failures passed through.
 */
#include <string.h>

#include "testlib.h"
#include "transport.h"

struct script {
	const char *expect[8];		/* hex of each command expected, in order */
	const char *answer[8];		/* hex of each response */
	size_t n, pos;
	int forever_61;			/* answer 6101 to everything */
	int fail_at;			/* 1-based exchange that fails, 0 = none */
};

static cpk_status
scripted_transmit(void *ctx, const uint8_t *cmd, size_t n, struct cpk_buf *resp,
    struct cpk_error *err)
{
	struct script *s = ctx;
	uint8_t tmp[300];
	size_t len;

	if (s->fail_at != 0 && (int)s->pos + 1 == s->fail_at) {
		s->pos++;
		return cpk_error_set(err, CPK_ERR_PCSC, "the card was removed from the reader");
	}
	if (s->forever_61) {
		s->pos++;
		return cpk_buf_append(resp, "\xAA\x61\x01", 3, err);
	}
	if (s->pos >= s->n) {
		test_check(0, "unexpected extra command", __FILE__, __LINE__);
		return cpk_error_set(err, CPK_ERR_STATE, "script exhausted");
	}
	CHECK_HEX(cmd, n, s->expect[s->pos]);
	len = test_unhex(s->answer[s->pos], tmp, sizeof(tmp));
	s->pos++;
	return cpk_buf_append(resp, tmp, len, err);
}

static const struct cpk_transport_ops scripted_ops = { .transmit = scripted_transmit };

static void
run(struct script *s, const char *cmdhex, cpk_status want, const char *wanthex)
{
	struct cpk_transport t = { .ops = &scripted_ops, .ctx = s };
	struct cpk_buf resp = CPK_BUF_INIT;
	struct cpk_error err;
	uint8_t cmd[300];
	size_t n = test_unhex(cmdhex, cmd, sizeof(cmd));

	cpk_error_clear(&err);
	CHECK_STATUS(cpk_transport_exchange(&t, cmd, n, &resp, &err), want);
	if (want == CPK_OK)
		CHECK_HEX(resp.data, resp.len, wanthex);
	else
		CHECK_MSG(&err, wanthex);
	CHECK(s->pos == s->n || s->forever_61 || s->fail_at != 0);
	cpk_buf_free(&resp);
}

int
main(void)
{
	struct script plain = { { "80CA006600" }, { "01029000" }, 1, 0, 0, 0 };
	struct script chain = {
		{ "80F2400200", "00C0000004", "00C0000002" },
		{ "0A0B6104", "0C0D0E0F6102", "10119000" }, 3, 0, 0, 0 };
	struct script wrong_le = {
		{ "80CA9F7F05", "80CA9F7F2D" }, { "6C2D", "AABB9000" }, 2, 0, 0, 0 };
	struct script wrong_le_case1 = {
		{ "80CA00CF", "80CA00CF0A" }, { "6C0A", "01029000" }, 2, 0, 0, 0 };
	struct script secured = { { "84CA006608AABBCCDDEEFF001100" }, { "6C10" }, 1, 0, 0, 0 };
	struct script endless = { { NULL }, { NULL }, 0, 0, 1, 0 };
	struct script short_resp = { { "80CA006600" }, { "90" }, 1, 0, 0, 0 };
	struct script removed = { { "80F2400200" }, { "0A6104" }, 1, 0, 0, 2 };
	struct script silent = { { "80CA006600" }, { "" }, 1, 0, 0, 0 };
	struct cpk_error err;

	run(&plain, "80CA006600", CPK_OK, "01029000");
	run(&chain, "80F2400200", CPK_OK, "0A0B0C0D0E0F10119000");
	run(&wrong_le, "80CA9F7F05", CPK_OK, "AABB9000");
	run(&wrong_le_case1, "80CA00CF", CPK_OK, "01029000");
	/* A secured command is never sent twice: the 6Cxx comes back as is. */
	run(&secured, "84CA006608AABBCCDDEEFF001100", CPK_OK, "6C10");
	run(&endless, "80F2400200", CPK_ERR_PARSE, "kept announcing more data (61xx) after 300");
	run(&short_resp, "80CA006600", CPK_ERR_PARSE, "response has length 1; expected 2 to");
	run(&removed, "80F2400200", CPK_ERR_PCSC, "the card was removed");
	run(&silent, "80CA006600", CPK_ERR_PCSC, "the card gave no answer");
	CHECK_STATUS(cpk_transport_exchange(NULL, (const uint8_t *)"\x00", 1, NULL, &err),
	    CPK_ERR_STATE);
	CHECK_MSG(&err, "no card connection");
	return test_summary("transport");
}
