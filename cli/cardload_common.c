/* SPDX-License-Identifier: BSD-2-Clause */
/* cardload: what the subcommands share (see cardload.h). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cardload.h"
#include "cli_util.h"
#include "cpk_config.h"
#include "identify.h"
#include "pcsc.h"

const char *
cardload_reader_choice(const char *opt)
{
	const char *env;

	if (opt != NULL && *opt != '\0')
		return opt;
	env = getenv("CPK_READER");
	if (env != NULL && *env != '\0')
		return env;
	return NULL;
}

int
cardload_transport_exit(cpk_status st)
{
	return st == CPK_ERR_PCSC ? CARDLOAD_EXIT_READER : CLI_EXIT_ERROR;
}

int
cardload_open_card(const char *want, struct cpk_transport *t, struct cpk_error *err)
{
	cpk_status st;

	cpk_error_clear(err);
	if ((st = cpk_pcsc_open(want, t, err)) == CPK_OK)
		return CLI_EXIT_OK;
	cli_error(err);
	if (st == CPK_ERR_PCSC)
		fprintf(stderr, "%s: what to do: %s\n", cli_progname(), cardload_reader_advice(err));
	return cardload_transport_exit(st);
}

const char *
cardload_reader_advice(const struct cpk_error *err)
{
	if (cpk_pcsc_no_service(err->pcsc))
		return "start the smart-card service (for example 'sudo systemctl start pcscd'), "
		    "then run cardload again";
	return "check that the reader is plugged in and the card inserted (chip first, contacts "
	    "up); 'cardload readers' lists what is connected";
}

void
cardload_hex_cut(FILE *f, const uint8_t *p, size_t n, size_t max)
{
	if (n <= max) {
		cli_print_hex(f, p, n);
		return;
	}
	cli_print_hex(f, p, max);
	fprintf(f, "...(%zu bytes)", n);
}

/* Bytes of a command or response shown before the trace cuts it. */
#define TRACE_MAX 24

void
cardload_trace_command(const uint8_t *cmd, size_t n, const char *label)
{
	fputs(">> ", stderr);
	cardload_hex_cut(stderr, cmd, n, TRACE_MAX);
	if (label != NULL)
		fprintf(stderr, "  [%s]", label);
	fputc('\n', stderr);
}

void
cardload_trace_response(const uint8_t *resp, size_t n, uint64_t usec)
{
	fputs("<< ", stderr);
	if (n >= 2) {
		if (n > 2) {
			cardload_hex_cut(stderr, resp, n - 2, TRACE_MAX);
			fputc(' ', stderr);
		}
		cli_print_hex(stderr, resp + n - 2, 2);
	}
	fprintf(stderr, " (%llu ms)\n", (unsigned long long)((usec + 500) / 1000));
}

bool
cardload_parse_byte(const char *s, uint8_t *out)
{
	size_t n;

	return cpk_hex_decode(s, strlen(s), out, 1, &n, NULL) == CPK_OK && n == 1;
}

static void
trace_exchange(void *ctx, const uint8_t *cmd, size_t n, const uint8_t *resp, size_t rn,
    uint64_t usec)
{
	(void)ctx;
	cardload_trace_command(cmd, n, NULL);
	cardload_trace_response(resp, rn, usec);
}

int
cardload_identify_card(struct cpk_transport *t, const struct cpk_identify_opts *o, bool verbose,
    struct cpk_card_info *ci)
{
	struct cpk_identify_hooks h = { NULL, trace_exchange };
	struct cpk_error err;
	cpk_status st;

	cpk_error_clear(&err);
	if ((st = cpk_identify(t, o, verbose ? &h : NULL, ci, &err)) == CPK_OK)
		return CLI_EXIT_OK;
	cli_error_in(t->name, &err);
	if (st == CPK_ERR_PCSC)
		fprintf(stderr, "%s: what to do: %s\n", cli_progname(), cardload_reader_advice(&err));
	return cardload_transport_exit(st);
}

cpk_status
cardload_card_record(const struct cpk_card_info *ci, bool session, const char *by,
    const char *reader, struct cpk_buf *out, struct cpk_error *err)
{
	char comment[300], when[32];
	struct timespec ts;
	struct tm tm;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		memset(&ts, 0, sizeof(ts));
	if (gmtime_r(&ts.tv_sec, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(when, sizeof(when), "?");
	snprintf(comment, sizeof(comment), "%s record from '%s' (cpk %s), %s, reader '%s'",
	    session ? "session" : "card", by, CPK_VERSION, when, reader);
	return cpk_card_record_write(ci, session, comment, out, err);
}
