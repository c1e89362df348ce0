/* SPDX-License-Identifier: BSD-2-Clause */
/* The hsm suite's test programs: the token from the environment (hsm_env.h). */
#include "hsm_env.h"

#include <stdlib.h>
#include <string.h>

static cpk_status
env_pin(void *ctx, const char *label, const char *src, char *pin, size_t cap, size_t *len,
    struct cpk_error *err)
{
	const char *p = getenv("CPK_PKCS11_PIN");

	(void)ctx;
	(void)label;
	(void)src;
	if (p == NULL || strlen(p) >= cap)
		return cpk_error_set(err, CPK_ERR_ARG, "CPK_PKCS11_PIN is not set");
	*len = strlen(p);
	memcpy(pin, p, *len);
	return CPK_OK;
}

cpk_status
hsm_env_setup(struct cpk_error *err)
{
	struct p11_config cfg = { getenv("CPK_PKCS11_MODULE"), env_pin, NULL };

	return p11_setup(&cfg, err);
}
