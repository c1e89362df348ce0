/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: technician authentication through PAM, rate-limited (serve_auth.h).
 */
#include "serve_auth.h"

#include <pthread.h>
#include <security/pam_appl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

struct failures {
	char user[65];
	unsigned count;
	time_t until;			/* refused without asking PAM until then */
};

struct serve_auth {
	char service[128];
	unsigned lockout;
	pthread_mutex_t mu;
	struct failures v[SERVE_AUTH_USERS_MAX];
	size_t n;
};

cpk_status
serve_auth_new(const char *service, unsigned lockout, struct serve_auth **out,
    struct cpk_error *err)
{
	struct serve_auth *a;

	*out = NULL;
	if (service[0] == '\0' || strlen(service) >= sizeof(a->service) ||
	    strchr(service, '/') != NULL)
		return cpk_error_set(err, CPK_ERR_ARG, "'%s' is no PAM service name", service);
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
	memcpy(a->service, service, strlen(service) + 1);
	a->lockout = lockout != 0 ? lockout : SERVE_AUTH_LOCKOUT_DEFAULT;
	pthread_mutex_init(&a->mu, NULL);
	*out = a;
	return CPK_OK;
}

void
serve_auth_free(struct serve_auth **ap)
{
	struct serve_auth *a = ap != NULL ? *ap : NULL;

	if (a == NULL)
		return;
	pthread_mutex_destroy(&a->mu);
	free(a);
	*ap = NULL;
}

/* An entry that counts nothing any more (no failure, or a lock-out that ended); a->n if none. */
static size_t
reusable(const struct serve_auth *a, time_t now)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		if (a->v[i].count == 0 || (a->v[i].until != 0 && a->v[i].until <= now))
			break;
	return i;
}

/* The user's entry (made when missing and `make`; one that counts nothing is reused when full). */
static struct failures *
entry(struct serve_auth *a, const char *user, bool make)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		if (strcmp(a->v[i].user, user) == 0)
			return &a->v[i];
	if (!make)
		return NULL;
	if (a->n < SERVE_AUTH_USERS_MAX) {
		i = a->n++;
	} else {
		/*
		 * Full: reuse an entry that counts nothing (no failure, or a
		 * lock-out that has ended), never one whose count a flood of
		 * new names could reset; none such: NULL (the caller refuses).
		 */
		if ((i = reusable(a, time(NULL))) == a->n)
			return NULL;
	}
	memset(&a->v[i], 0, sizeof(a->v[i]));
	memcpy(a->v[i].user, user, strlen(user) + 1);
	return &a->v[i];
}

/* PAM's conversation: the PIN for every prompt that hides its echo, nothing else. */
static int
converse(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	const char *pin = data;
	struct pam_response *r;
	int i;

	if (n <= 0 || n > PAM_MAX_NUM_MSG || (r = calloc((size_t)n, sizeof(*r))) == NULL)
		return PAM_CONV_ERR;
	for (i = 0; i < n; i++) {
		if (msg[i]->msg_style != PAM_PROMPT_ECHO_OFF)
			continue;
		if ((r[i].resp = strdup(pin)) == NULL) {
			while (i-- > 0) {
				if (r[i].resp != NULL)
					OPENSSL_cleanse(r[i].resp, strlen(r[i].resp));
				free(r[i].resp);
			}
			free(r);
			return PAM_BUF_ERR;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

cpk_status
serve_auth_check(void *ctx, const char *user, const char *pin, struct cpk_error *err)
{
	struct serve_auth *a = ctx;
	struct pam_conv conv = { converse, (void *)(uintptr_t)pin };
	pam_handle_t *h = NULL;
	struct failures *f;
	unsigned shift;
	time_t now = time(NULL), wait;
	int rc;

	if (strlen(user) >= sizeof(a->v[0].user))
		return cpk_error_set(err, CPK_ERR_PERMISSION, "technician refused");
	pthread_mutex_lock(&a->mu);
	f = entry(a, user, false);
	/* Failures must be counted: with every entry counting, nobody new is asked about. */
	if (f == NULL && a->n == SERVE_AUTH_USERS_MAX && reusable(a, now) == a->n) {
		pthread_mutex_unlock(&a->mu);
		return cpk_error_set(err, CPK_ERR_PERMISSION, "technician '%s' refused: too many "
		    "technicians with recent failures (%d); try again later", user,
		    SERVE_AUTH_USERS_MAX);
	}
	if (f != NULL && f->until > now) {
		wait = f->until - now;
		pthread_mutex_unlock(&a->mu);
		return cpk_error_set(err, CPK_ERR_PERMISSION, "technician '%s' refused: locked "
		    "for %lld s after %u failures", user, (long long)wait, f->count);
	}
	pthread_mutex_unlock(&a->mu);
	if ((rc = pam_start(a->service, user, &conv, &h)) != PAM_SUCCESS)
		return cpk_error_set(err, CPK_ERR_IO, "PAM service '%s' could not start: %s",
		    a->service, pam_strerror(NULL, rc));
	if ((rc = pam_authenticate(h, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK)) == PAM_SUCCESS)
		rc = pam_acct_mgmt(h, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	pam_end(h, rc);
	pthread_mutex_lock(&a->mu);
	if (rc == PAM_SUCCESS) {
		if ((f = entry(a, user, false)) != NULL)
			f->count = 0;
		pthread_mutex_unlock(&a->mu);
		return CPK_OK;
	}
	if ((f = entry(a, user, true)) != NULL) {
		f->count++;
		if (f->count >= SERVE_AUTH_FAILURES) {
			shift = f->count - SERVE_AUTH_FAILURES;
			wait = (time_t)a->lockout << (shift < 6 ? shift : 6);
			if (wait > (time_t)SERVE_AUTH_LOCKOUT_MAX)
				wait = SERVE_AUTH_LOCKOUT_MAX;
			f->until = now + wait;
		}
	}
	pthread_mutex_unlock(&a->mu);
	return cpk_error_set(err, CPK_ERR_PERMISSION, "technician '%s' refused (%s)", user,
	    rc == PAM_USER_UNKNOWN || rc == PAM_AUTH_ERR ? "unknown user or wrong PIN" :
	    rc == PAM_ACCT_EXPIRED || rc == PAM_PERM_DENIED ? "not allowed to provision" :
	    "authentication failed");
}
