/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * SERAM messages (common/seram.c): encode -> decode round trips, the
 * spec's own examples, and one negative case per rule of the strict
 * parser. `test_seram --dump DIR` writes every message the encoders make
 * here (DIR/<kind>-<n>.json) for tests/unit/seram_schema.sh, which checks
 * them against docs/seram.schema.json.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seram.h"
#include "testlib.h"

static const char *dump_dir;
static unsigned dumped;

static void
dump(const char *kind, const struct cpk_buf *b)
{
	char path[512];
	FILE *f;

	if (dump_dir == NULL)
		return;
	snprintf(path, sizeof(path), "%s/%s-%u.json", dump_dir, kind, dumped++);
	if ((f = fopen(path, "w")) == NULL) {
		CHECK(!"cannot write the dump");
		return;
	}
	fwrite(b->data, 1, b->len, f);
	fclose(f);
}

static cpk_status
dec_order(const char *s, struct seram_order *o, struct cpk_error *err)
{
	return seram_order_decode((const uint8_t *)s, strlen(s), o, err);
}

static cpk_status
dec_report(const char *s, struct seram_report *r, struct cpk_error *err)
{
	return seram_report_decode((const uint8_t *)s, strlen(s), r, err);
}

static cpk_status
dec_hs(const char *s, struct seram_handshake *h, struct cpk_error *err)
{
	return seram_handshake_decode((const uint8_t *)s, strlen(s), h, err);
}

static void
test_handshake(void)
{
	struct seram_handshake h, back;
	struct seram_handshake_response r, rback;
	struct cpk_buf b = CPK_BUF_INIT;
	struct cpk_error err;

	memset(&h, 0, sizeof(h));
	h.nse = 1;
	h.se[0].type = SERAM_SE_ESE;
	snprintf(h.se[0].id, sizeof(h.se[0].id), "%s", "4790-5167-1234");
	h.se[0].has_extra = true;
	snprintf(h.se[0].extra, sizeof(h.se[0].extra), "%s", "Reader 0");
	snprintf(h.transports[0], sizeof(h.transports[0]), "%s", SERAM_TRANSPORT);
	h.ntransports = 1;
	snprintf(h.formats[0], sizeof(h.formats[0]), "%s", SERAM_DATA_FORMAT);
	h.nformats = 1;
	snprintf(h.versions[0], sizeof(h.versions[0]), "%s", SERAM_VERSION);
	h.nversions = 1;
	CHECK(seram_handshake_acceptable(&h));
	CHECK_OK(seram_handshake_encode(&h, &b, &err));
	dump("handshakeCommand", &b);
	CHECK_OK(seram_handshake_decode(b.data, b.len, &back, &err));
	CHECK(back.nse == 1 && back.se[0].type == SERAM_SE_ESE && back.se[0].has_extra);
	CHECK_STR(back.se[0].id, "4790-5167-1234");
	CHECK(!back.has_technician);
	CHECK(seram_handshake_acceptable(&back));

	h.has_technician = true;
	snprintf(h.technician.user, sizeof(h.technician.user), "%s", "alice");
	snprintf(h.technician.pin, sizeof(h.technician.pin), "%s", "1234");
	cpk_buf_reset(&b);
	CHECK_OK(seram_handshake_encode(&h, &b, &err));
	dump("handshakeCommand", &b);
	CHECK_OK(seram_handshake_decode(b.data, b.len, &back, &err));
	CHECK(back.has_technician);
	CHECK_STR(back.technician.user, "alice");
	CHECK_STR(back.technician.pin, "1234");
	seram_handshake_clear(&back);
	CHECK(back.technician.pin[0] == '\0');

	/* The spec's example (supportedVersion is its typo: an unknown member here). */
	CHECK_OK(dec_hs("{\"secureElements\":[{\"seType\":\"eSE\",\"seId\":\"890010120123412340"
	    "12345678901224\",\"seExtraInfo\":\"SAM\"}],\"supportedTransportProtocols\":[\"HTTPS\"],"
	    "\"supportedDataFormats\":[\"application/json\"],\"supportedVersions\":[\"2.0.0\"]}",
	    &back, &err));
	CHECK_STATUS(dec_hs("{\"secureElements\":[{\"seType\":\"eSE\",\"seId\":\"1\"}],"
	    "\"supportedVersion\":[\"2.0.0\"]}", &back, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "supportedVersion: unknown member");
	/* Defaults when the lists are absent; a version the server lacks. */
	CHECK_OK(dec_hs("{\"secureElements\":[{\"seType\":\"uicc\",\"seId\":\"1\"}]}", &back,
	    &err));
	CHECK(seram_handshake_acceptable(&back));
	CHECK_OK(dec_hs("{\"secureElements\":[{\"seType\":\"uicc\",\"seId\":\"1\"}],"
	    "\"supportedVersions\":[\"1.0.0\"]}", &back, &err));
	CHECK(!seram_handshake_acceptable(&back));
	CHECK_STATUS(dec_hs("{\"secureElements\":[]}", &back, &err), CPK_ERR_RANGE);
	CHECK_STATUS(dec_hs("{}", &back, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "secureElements: missing");
	CHECK_STATUS(dec_hs("{\"secureElements\":[{\"seType\":\"SIM\",\"seId\":\"1\"}]}", &back,
	    &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "secureElements[0].seType");
	CHECK_STATUS(dec_hs("{\"secureElements\":[{\"seType\":\"eSE\",\"seId\":\"\"}]}", &back,
	    &err), CPK_ERR_RANGE);
	CHECK_STATUS(dec_hs("{\"secureElements\":[{\"seType\":\"eSE\",\"seId\":\"1\"}],"
	    "\"cpkTechnician\":{\"user\":\"a\"}}", &back, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "cpkTechnician.pin: missing");
	CHECK_STATUS(dec_hs("{\"secureElements\":[{\"seType\":\"eSE\",\"seId\":\"1\"}],"
	    "\"secureElements\":[]}", &back, &err), CPK_ERR_PARSE);
	CHECK_STATUS(dec_hs("[1]", &back, &err), CPK_ERR_PARSE);
	CHECK_STATUS(dec_hs("{\"secureElements\":[{\"seType\":\"eSE\",\"seId\":\"a\\u0000b\"}]}",
	    &back, &err), CPK_ERR_PARSE);

	snprintf(r.transport, sizeof(r.transport), "%s", SERAM_TRANSPORT);
	snprintf(r.format, sizeof(r.format), "%s", SERAM_DATA_FORMAT);
	snprintf(r.version, sizeof(r.version), "%s", SERAM_VERSION);
	cpk_buf_reset(&b);
	CHECK_OK(seram_handshake_response_encode(&r, &b, &err));
	dump("handshakeResponse", &b);
	CHECK_OK(seram_handshake_response_decode(b.data, b.len, &rback, &err));
	CHECK_STR(rback.version, SERAM_VERSION);
	CHECK_STATUS(seram_handshake_response_decode((const uint8_t *)"{\"chosenDataProtocol\":1}",
	    24, &rback, &err), CPK_ERR_PARSE);
	cpk_buf_free(&b);
}

static void
test_order(void)
{
	static const uint8_t select[] = { 0x00, 0xA4, 0x04, 0x00, 0x08, 0xA0, 0, 0, 0x01, 0x51, 0,
	    0, 0, 0x00 };
	static const uint8_t getdata[] = { 0x80, 0xCA, 0x9F, 0x7F, 0x00 };
	struct seram_apdu apdus[2] = { { (uint8_t *)select, sizeof(select) },
	    { (uint8_t *)getdata, sizeof(getdata) } };
	struct seram_accept acc[2];
	char labels[2][CPK_LABEL_MAX + 1] = { "SELECT ISD", "GET DATA CPLC" };
	struct seram_order o, back;
	struct cpk_buf b = CPK_BUF_INIT;
	struct cpk_error err;

	memset(&o, 0, sizeof(o));
	memset(acc, 0, sizeof(acc));
	CHECK_OK(cpk_sw_pattern_parse("9000", &acc[0].sw[0], &err));
	acc[0].nsw = 1;
	CHECK_OK(cpk_sw_pattern_parse("9000", &acc[1].sw[0], &err));
	CHECK_OK(cpk_sw_pattern_parse("6A88", &acc[1].sw[1], &err));
	acc[1].nsw = 2;
	o.has_delay = true;
	o.delay_ms = 0;
	o.has_se = true;
	o.se.type = SERAM_SE_ESE;
	snprintf(o.se.id, sizeof(o.se.id), "%s", "card-1");
	CHECK_OK(seram_order_add(&o, SERAM_CMD_START, NULL, 0, NULL, NULL, NULL, &err));
	CHECK_OK(seram_order_add(&o, SERAM_CMD_SE_RAM, apdus, 2, acc,
	    (const char (*)[CPK_LABEL_MAX + 1])labels, NULL, &err));
	CHECK_OK(seram_order_add(&o, SERAM_CMD_SE_RAM, apdus, 1, NULL, NULL, NULL, &err));
	CHECK_OK(seram_order_add(&o, SERAM_CMD_NOTIFICATION, NULL, 0, NULL, NULL,
	    "cpk/loaded/ok", &err));
	CHECK_OK(seram_order_add(&o, SERAM_CMD_STOP, NULL, 0, NULL, NULL, NULL, &err));
	CHECK_STATUS(seram_order_add(&o, SERAM_CMD_SE_RAM, NULL, 0, NULL, NULL, NULL, &err),
	    CPK_ERR_ARG);
	CHECK_OK(seram_order_encode(&o, &b, &err));
	dump("order", &b);
	CHECK_OK(seram_order_decode(b.data, b.len, &back, &err));
	CHECK(back.has_delay && back.delay_ms == 0 && back.has_se && back.ncmds == 5);
	CHECK(back.cmds[0].type == SERAM_CMD_START);
	CHECK(back.cmds[1].type == SERAM_CMD_SE_RAM && back.cmds[1].ncapdu == 2);
	CHECK_MEM(back.cmds[1].capdu[0].p, back.cmds[1].capdu[0].n, select, sizeof(select));
	CHECK(back.cmds[1].accept != NULL && back.cmds[1].accept[1].nsw == 2);
	CHECK(cpk_sw_pattern_match(&back.cmds[1].accept[1].sw[1], 0x6A88));
	CHECK_STR(back.cmds[1].labels[1], "GET DATA CPLC");
	CHECK(back.cmds[2].accept == NULL && back.cmds[2].labels == NULL);
	CHECK_STR(back.cmds[3].notification, "cpk/loaded/ok");
	CHECK(back.cmds[4].type == SERAM_CMD_STOP);
	seram_order_clear(&back);
	seram_order_clear(&o);

	/* A polling answer: nothing at all, or a delay only. */
	cpk_buf_reset(&b);
	CHECK_OK(seram_order_encode(&o, &b, &err));
	dump("order", &b);
	CHECK(b.len == 2);
	CHECK_OK(dec_order("{\"delay\":500}", &back, &err));
	CHECK(back.has_delay && back.delay_ms == 500 && back.ncmds == 0);

	CHECK_STATUS(dec_order("{\"delay\":-1}", &back, &err), CPK_ERR_RANGE);
	CHECK_STATUS(dec_order("{\"delay\":30001}", &back, &err), CPK_ERR_RANGE);
	CHECK_STATUS(dec_order("{\"delay\":1.5}", &back, &err), CPK_ERR_PARSE);
	CHECK_STATUS(dec_order("{\"ramCommands\":[]}", &back, &err), CPK_ERR_RANGE);
	CHECK_STATUS(dec_order("{\"ramCommands\":[{\"ramCommandType\":\"ramStartCommand\"}]}",
	    &back, &err), CPK_ERR_PARSE);
	CHECK_STATUS(dec_order("{\"ramCommands\":[{\"ramCommandType\":\"seRamCommand\"}]}",
	    &back, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "ramCommands[0].listOfCAPDU: missing");
	/* The spec's own example APDU has a letter O in it: not hex. */
	CHECK_STATUS(dec_order("{\"ramCommands\":[{\"ramCommandType\":\"seRamCommand\","
	    "\"listOfCAPDU\":[\"00A40400OA0001020304050607080900A\"]}]}", &back, &err),
	    CPK_ERR_PARSE);
	CHECK_MSG(&err, "listOfCAPDU[0]");
	CHECK_STATUS(dec_order("{\"ramCommands\":[{\"ramCommandType\":\"seRamCommand\","
	    "\"listOfCAPDU\":[\"00a40400\"]}]}", &back, &err), CPK_ERR_PARSE);
	CHECK_STATUS(dec_order("{\"ramCommands\":[{\"ramCommandType\":\"seRamCommand\","
	    "\"listOfCAPDU\":[\"\"]}]}", &back, &err), CPK_ERR_PARSE);
	CHECK_STATUS(dec_order("{\"ramCommands\":[{\"ramCommandType\":\"seRamCommand\","
	    "\"listOfCAPDU\":[\"0084000008\"],\"cpkAccept\":[[\"9000\"],[\"9000\"]]}]}", &back,
	    &err), CPK_ERR_RANGE);
	CHECK_STATUS(dec_order("{\"ramCommands\":[{\"ramCommandType\":\"seRamCommand\","
	    "\"listOfCAPDU\":[\"0084000008\"],\"cpkAccept\":[[\"90G0\"]]}]}", &back, &err),
	    CPK_ERR_PARSE);
	CHECK_STATUS(dec_order("{\"ramCommands\":[{\"ramCommandType\":\"seRamCommand\","
	    "\"listOfCAPDU\":[\"0084000008\"],\"cpkAccept\":[[]]}]}", &back, &err),
	    CPK_ERR_RANGE);
	CHECK_STATUS(dec_order("{\"ramCommands\":[{\"ramCommandType\":\"stopCommand\","
	    "\"listOfCAPDU\":[\"00\"]}]}", &back, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "ramCommands[0].listOfCAPDU: unknown member");
	CHECK_STATUS(dec_order("{\"ramCommands\":[{\"ramCommandType\":\"notificationCommand\"}]}",
	    &back, &err), CPK_ERR_PARSE);
	CHECK_STATUS(dec_order("{\"delay\":1} x", &back, &err), CPK_ERR_PARSE);
	/* Text that would reach a log or terminal: no control character (C0, DEL, C1). */
	CHECK_STATUS(dec_order("{\"ramCommands\":[{\"ramCommandType\":\"notificationCommand\","
	    "\"deviceAppNotification\":\"cpk/loaded/ok\\nforged log line\"}]}", &back, &err),
	    CPK_ERR_PARSE);
	CHECK_MSG(&err, "ramCommands[0].deviceAppNotification: holds a control character");
	CHECK_STATUS(dec_order("{\"ramCommands\":[{\"ramCommandType\":\"notificationCommand\","
	    "\"deviceAppNotification\":\"\\u001b[2J\"}]}", &back, &err), CPK_ERR_PARSE);
	CHECK_STATUS(dec_order("{\"ramCommands\":[{\"ramCommandType\":\"notificationCommand\","
	    "\"deviceAppNotification\":\"a\\u007fb\"}]}", &back, &err), CPK_ERR_PARSE);
	CHECK_STATUS(dec_order("{\"ramCommands\":[{\"ramCommandType\":\"notificationCommand\","
	    "\"deviceAppNotification\":\"a\\u009bb\"}]}", &back, &err), CPK_ERR_PARSE);
	CHECK_OK(dec_order("{\"ramCommands\":[{\"ramCommandType\":\"notificationCommand\","
	    "\"deviceAppNotification\":\"caf\\u00e9 \\u00a0ok\"}]}", &back, &err));
	seram_order_clear(&back);
	CHECK_STATUS(dec_order("{\"ramCommands\":[{\"ramCommandType\":\"seRamCommand\","
	    "\"listOfCAPDU\":[\"0084000008\"],\"cpkLabels\":[\"a\\tb\"]}]}", &back, &err),
	    CPK_ERR_PARSE);
	CHECK_MSG(&err, "cpkLabels[0]: holds a control character");
	CHECK_STATUS(dec_order("{\"delay\":1,\"delay\":2}", &back, &err), CPK_ERR_PARSE);
	cpk_buf_free(&b);
}

/* cpkHolderPin in an order and cpkHolderPinSw in the report. */
static void
test_holder_pin(void)
{
	static const uint8_t verify_sel[] = { 0x00, 0xA4, 0x04, 0x00, 0x05, 1, 2, 3, 4, 5 };
	static const uint8_t sw[] = { 0x90, 0x00 };
	struct seram_apdu a = { (uint8_t *)verify_sel, sizeof(verify_sel) };
	struct seram_apdu none = { NULL, 0 }, ok = { (uint8_t *)sw, 2 };
	struct seram_holder_pin h = { { 0xA0, 0, 0, 0x01, 0x51, 0, 0, 0 }, 8, 0x81 };
	static const char want[] = "\"cpkHolderPin\":{\"aid\":\"A000000151000000\","
	    "\"reference\":\"81\"}";
	struct seram_order o, back;
	struct seram_report rep, rback;
	struct cpk_buf b = CPK_BUF_INIT;
	struct cpk_error err;

	memset(&o, 0, sizeof(o));
	CHECK_STATUS(seram_order_holder_pin(&o, &h, &err), CPK_ERR_ARG);
	CHECK_OK(seram_order_add(&o, SERAM_CMD_START, NULL, 0, NULL, NULL, NULL, &err));
	CHECK_OK(seram_order_add(&o, SERAM_CMD_SE_RAM, &a, 1, NULL, NULL, NULL, &err));
	h.aid_len = 4;
	CHECK_STATUS(seram_order_holder_pin(&o, &h, &err), CPK_ERR_ARG);
	h.aid_len = 8;
	CHECK_OK(seram_order_holder_pin(&o, &h, &err));
	CHECK_OK(seram_order_encode(&o, &b, &err));
	dump("order", &b);
	CHECK_OK(seram_order_decode(b.data, b.len, &back, &err));
	CHECK_OK(cpk_buf_append_byte(&b, 0, &err));
	CHECK(strstr((const char *)b.data, want) != NULL);
	CHECK(!back.cmds[0].has_holder_pin && back.cmds[1].has_holder_pin);
	CHECK_MEM(back.cmds[1].holder_pin.aid, back.cmds[1].holder_pin.aid_len, h.aid, 8);
	CHECK(back.cmds[1].holder_pin.reference == 0x81);
	seram_order_clear(&back);
	seram_order_clear(&o);
	CHECK_STATUS(dec_order("{\"ramCommands\":[{\"ramCommandType\":\"seRamCommand\","
	    "\"listOfCAPDU\":[\"0084000008\"],\"cpkHolderPin\":{\"aid\":\"A0000001\","
	    "\"reference\":\"81\"}}]}", &back, &err), CPK_ERR_RANGE);
	CHECK_MSG(&err, "cpkHolderPin.aid: 4 bytes, not 5 to 16 (an AID)");
	CHECK_STATUS(dec_order("{\"ramCommands\":[{\"ramCommandType\":\"seRamCommand\","
	    "\"listOfCAPDU\":[\"0084000008\"],\"cpkHolderPin\":{\"aid\":\"A000000151\","
	    "\"reference\":\"8100\"}}]}", &back, &err), CPK_ERR_RANGE);
	CHECK_MSG(&err, "cpkHolderPin.reference: 2 bytes, not 1");
	CHECK_STATUS(dec_order("{\"ramCommands\":[{\"ramCommandType\":\"seRamCommand\","
	    "\"listOfCAPDU\":[\"0084000008\"],\"cpkHolderPin\":{\"aid\":\"A000000151\","
	    "\"reference\":\"81\",\"pin\":\"1234\"}}]}", &back, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "cpkHolderPin.pin: unknown member");
	CHECK_STATUS(dec_order("{\"ramCommands\":[{\"ramCommandType\":\"seRamCommand\","
	    "\"listOfCAPDU\":[\"0084000008\"],\"cpkHolderPin\":{\"reference\":\"81\"}}]}",
	    &back, &err), CPK_ERR_PARSE);

	memset(&rep, 0, sizeof(rep));
	rep.status = SERAM_STATUS_PROCESSED;
	rep.executed = 1;
	CHECK_OK(seram_report_add(&rep, &none, 1, &err));
	rep.resp[0].has_holder_sw = true;
	rep.resp[0].holder_sw = 0x63C2;
	CHECK_OK(seram_report_add(&rep, &ok, 1, &err));
	cpk_buf_reset(&b);
	CHECK_OK(seram_report_encode(&rep, &b, &err));
	dump("report", &b);
	CHECK_OK(seram_report_decode(b.data, b.len, &rback, &err));
	CHECK(rback.nresp == 2 && rback.resp[0].has_holder_sw && rback.resp[0].holder_sw == 0x63C2);
	CHECK(!rback.resp[1].has_holder_sw && rback.resp[0].rapdu[0].n == 0);
	seram_report_clear(&rback);
	seram_report_clear(&rep);
	CHECK_STATUS(dec_report("{\"localAgentStatus\":{\"localAgentStatusEnum\":\"PROCESSED\","
	    "\"executedSeRamCommands\":1},\"ramResponses\":[{\"ramResponseType\":\"seRamResponse\","
	    "\"listOfRAPDU\":[\"\"],\"cpkHolderPinSw\":\"63C\"}]}", &rback, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "ramResponses[0].cpkHolderPinSw");
	cpk_buf_free(&b);
}

static void
test_report(void)
{
	static const uint8_t ok[] = { 0x90, 0x00 };
	static const uint8_t data[] = { 0x01, 0x02, 0x90, 0x00 };
	struct seram_apdu r[3] = { { (uint8_t *)data, sizeof(data) }, { (uint8_t *)ok, 2 },
	    { NULL, 0 } };
	struct seram_report rep, back;
	struct cpk_buf b = CPK_BUF_INIT;
	struct cpk_error err;

	memset(&rep, 0, sizeof(rep));
	rep.status = SERAM_STATUS_POLLING;
	CHECK_OK(seram_report_encode(&rep, &b, &err));
	dump("report", &b);
	CHECK_OK(seram_report_decode(b.data, b.len, &back, &err));
	CHECK(back.status == SERAM_STATUS_POLLING && back.executed == 0 && back.nresp == 0);
	seram_report_clear(&back);

	rep.status = SERAM_STATUS_PROCESSED;
	rep.executed = 1;
	CHECK_OK(seram_report_add(&rep, r, 3, &err));
	cpk_buf_reset(&b);
	CHECK_OK(seram_report_encode(&rep, &b, &err));
	dump("report", &b);
	CHECK_OK(seram_report_decode(b.data, b.len, &back, &err));
	CHECK(back.nresp == 1 && back.resp[0].n == 3);
	CHECK_MEM(back.resp[0].rapdu[0].p, back.resp[0].rapdu[0].n, data, sizeof(data));
	CHECK(back.resp[0].rapdu[2].n == 0);
	seram_report_clear(&back);
	seram_report_clear(&rep);

	rep.status = SERAM_STATUS_UNAVAILABLE_SE;
	rep.error_msg = strdup("the card was removed");
	cpk_buf_reset(&b);
	CHECK_OK(seram_report_encode(&rep, &b, &err));
	dump("report", &b);
	CHECK_OK(seram_report_decode(b.data, b.len, &back, &err));
	CHECK(back.status == SERAM_STATUS_UNAVAILABLE_SE);
	CHECK_STR(back.error_msg, "the card was removed");
	seram_report_clear(&back);
	seram_report_clear(&rep);

	/* The spec's example names the count executeRamCommands: refused. */
	CHECK_STATUS(dec_report("{\"localAgentStatus\":{\"localAgentStatusEnum\":\"POLLING\","
	    "\"executeRamCommands\":0}}", &back, &err), CPK_ERR_PARSE);
	CHECK_STATUS(dec_report("{\"localAgentStatus\":{\"localAgentStatusEnum\":\"DONE\","
	    "\"executedSeRamCommands\":0}}", &back, &err), CPK_ERR_PARSE);
	CHECK_STATUS(dec_report("{\"localAgentStatus\":{\"localAgentStatusEnum\":\"PROCESSED\","
	    "\"executedSeRamCommands\":17}}", &back, &err), CPK_ERR_PARSE);
	CHECK_STATUS(dec_report("{\"localAgentStatus\":{\"localAgentStatusEnum\":\"PROCESSED\","
	    "\"executedSeRamCommands\":1},\"ramResponses\":[{\"ramResponseType\":\"seRamResponse\","
	    "\"listOfRAPDU\":[\"90\"]}]}", &back, &err), CPK_ERR_PARSE);
	CHECK_MSG(&err, "ramResponses[0].listOfRAPDU[0]");
	CHECK_STATUS(dec_report("{\"localAgentStatus\":{\"localAgentStatusEnum\":\"PROCESSED\","
	    "\"executedSeRamCommands\":1},\"ramResponses\":[{\"ramResponseType\":\"other\","
	    "\"listOfRAPDU\":[]}]}", &back, &err), CPK_ERR_PARSE);
	CHECK_STATUS(dec_report("{\"localAgentStatus\":{\"localAgentStatusEnum\":\"PROCESSED\","
	    "\"executedSeRamCommands\":1},\"extra\":1}", &back, &err), CPK_ERR_PARSE);
	CHECK_STATUS(dec_report("", &back, &err), CPK_ERR_PARSE);
	cpk_buf_free(&b);
}

static void
test_session_id(void)
{
	char id[SERAM_SESSION_ID_MAX + 1], id2[SERAM_SESSION_ID_MAX + 1];
	struct cpk_error err;

	CHECK_OK(seram_session_id_new(id, &err));
	CHECK_OK(seram_session_id_new(id2, &err));
	CHECK(strlen(id) == 36 && id[14] == '4');
	CHECK(strcmp(id, id2) != 0);
	CHECK(seram_session_id_valid(id));
	CHECK(!seram_session_id_valid(""));
	CHECK(!seram_session_id_valid("a b"));
	CHECK(!seram_session_id_valid("a/b"));
	CHECK(!seram_session_id_valid("0123456789012345678901234567890123456789012345678901234567"
	    "8901234"));
}

int
main(int argc, char *argv[])
{
	if (argc == 3 && strcmp(argv[1], "--dump") == 0)
		dump_dir = argv[2];
	test_handshake();
	test_order();
	test_report();
	test_holder_pin();
	test_session_id();
	return test_summary("seram");
}
