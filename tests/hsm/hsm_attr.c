/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * hsm_attr URI: exit 0 if the key URI names is sensitive, not extractable,
 * and the token refuses its value (CKA_VALUE); 1 otherwise, saying which.
 * The module and PIN come from CPK_PKCS11_MODULE and CPK_PKCS11_PIN.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <p11-kit/pkcs11.h>

#include "hsm_env.h"
#include "p11.h"

static int
get_bool(const struct p11_uri *u, unsigned long type, int *v, struct cpk_error *err)
{
	uint8_t b = 0;
	unsigned long len;

	if (p11_get_attribute(u, type, &b, 1, &len, err) != CPK_OK || len != 1)
		return -1;
	*v = b;
	return 0;
}

int
main(int argc, char *argv[])
{
	struct cpk_error err;
	struct p11_uri u;
	uint8_t value[64];
	unsigned long len;
	int sensitive = 0, extractable = 1, rc = 1;

	cpk_error_clear(&err);
	if (argc != 2 || p11_uri_parse(argv[1], strlen(argv[1]), &u, &err) != CPK_OK ||
	    hsm_env_setup(&err) != CPK_OK) {
		fprintf(stderr, "hsm_attr: %s\n", argc != 2 ? "usage: hsm_attr URI" : err.msg);
		return 2;
	}
	if (get_bool(&u, CKA_SENSITIVE, &sensitive, &err) != 0 ||
	    get_bool(&u, CKA_EXTRACTABLE, &extractable, &err) != 0 ||
	    p11_get_attribute(&u, CKA_VALUE, value, sizeof(value), &len, &err) != CPK_OK)
		fprintf(stderr, "hsm_attr: %s\n", err.msg);
	else if (!sensitive)
		fprintf(stderr, "hsm_attr: %s is not sensitive\n", argv[1]);
	else if (extractable)
		fprintf(stderr, "hsm_attr: %s is extractable\n", argv[1]);
	else if (len != (unsigned long)-1)
		fprintf(stderr, "hsm_attr: the token gave the value of %s\n", argv[1]);
	else
		rc = 0;
	p11_shutdown();
	return rc;
}
