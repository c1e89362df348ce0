/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The hsm suite's test programs: the token set up from the environment the
 * fixture (lib.sh) exports, CPK_PKCS11_MODULE and CPK_PKCS11_PIN.
 */
#ifndef CPK_HSM_ENV_H
#define CPK_HSM_ENV_H

#include "p11.h"

/* p11_setup with the module and PIN of the environment. */
cpk_status hsm_env_setup(struct cpk_error *err);

#endif
