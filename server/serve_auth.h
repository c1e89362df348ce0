/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: who may start a cardc serve session. The technician's user name and
 * PIN (the handshake's cpkTechnician) are checked by PAM (pam_authenticate
 * then pam_acct_mgmt) with the server's service name; the PIN is given to
 * PAM's conversation only, then cleansed, and never logged.
 *
 * Failures are rate-limited per user name: after SERVE_AUTH_FAILURES
 * failures in a row the user is refused, without asking PAM, for
 * lockout seconds (doubled for each further failure, at most
 * SERVE_AUTH_LOCKOUT_MAX); a success resets the count. The counts are this
 * process's (several servers each count their own).
 */
#ifndef CPK_SERVE_AUTH_H
#define CPK_SERVE_AUTH_H

#include "cpk_error.h"

#define SERVE_AUTH_FAILURES 3
#define SERVE_AUTH_LOCKOUT_DEFAULT 60u		/* seconds */
#define SERVE_AUTH_LOCKOUT_MAX 3600u
#define SERVE_AUTH_USERS_MAX 1024		/* user names with failures kept */

struct serve_auth;

cpk_status serve_auth_new(const char *service, unsigned lockout, struct serve_auth **out,
    struct cpk_error *err);
void serve_auth_free(struct serve_auth **a);

/*
 * A serve_auth_fn (serve.h): CPK_OK, or CPK_ERR_PERMISSION with a message
 * for the agent ("technician 'bob' refused", "... locked for N s after M
 * failures"); another status when PAM itself failed.
 */
cpk_status serve_auth_check(void *ctx, const char *user, const char *pin, struct cpk_error *err);

#endif
