/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk: PKCS#11 URIs (RFC 7512) naming a key in a token.
 *
 *	pkcs11:token=cpk%20lab;object=issuer-master;type=secret-key
 *
 * Path attributes (';'-separated): token, manufacturer, serial, model
 * (the token), library-manufacturer, library-description,
 * library-version (the module), slot-id, object (CKA_LABEL), id (CKA_ID,
 * percent-encoded bytes) and type (public, private, secret-key, cert,
 * data). Values are percent-decoded; each attribute may appear once.
 * Query attributes ('&'-separated): pin-source (a file holding the PIN;
 * "file:" prefix allowed). A PIN is never taken from a URI:
 * pin-value is refused, and so are module-name and module-path (the
 * module comes from --pkcs11-module, CPK_PKCS11_MODULE or the config
 * file, see cardc(1)). Unknown attributes are refused (a misspelt one
 * would otherwise widen the match silently); vendor attributes ("x-...")
 * are refused too, for the same reason.
 *
 * Parse errors are CPK_ERR_PARSE and quote the attribute name, never the
 * value of pin-source.
 */
#ifndef CPK_P11_URI_H
#define CPK_P11_URI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpk_error.h"

#define P11_URI_MAX 1024		/* longest URI text accepted */
#define P11_URI_LABEL_MAX 32		/* token label, manufacturer (CK_TOKEN_INFO) */
#define P11_URI_SHORT_MAX 16		/* serial, model */
#define P11_URI_OBJECT_MAX 128		/* object label */
#define P11_URI_ID_MAX 64		/* CKA_ID bytes */
#define P11_URI_PATH_MAX 512		/* pin-source */

enum p11_uri_type {
	P11_TYPE_ANY = 0,
	P11_TYPE_PUBLIC,
	P11_TYPE_PRIVATE,
	P11_TYPE_SECRET_KEY,
	P11_TYPE_CERT,
	P11_TYPE_DATA,
};

/* Which attributes the URI names (bits of struct p11_uri.has). */
#define P11_URI_TOKEN		0x0001
#define P11_URI_MANUFACTURER	0x0002
#define P11_URI_SERIAL		0x0004
#define P11_URI_MODEL		0x0008
#define P11_URI_LIB_MANUF	0x0010
#define P11_URI_LIB_DESC	0x0020
#define P11_URI_LIB_VERSION	0x0040
#define P11_URI_SLOT_ID		0x0080
#define P11_URI_OBJECT		0x0100
#define P11_URI_ID		0x0200
#define P11_URI_TYPE		0x0400
#define P11_URI_PIN_SOURCE	0x0800

struct p11_uri {
	unsigned has;
	char token[P11_URI_LABEL_MAX + 1];
	char manufacturer[P11_URI_LABEL_MAX + 1];
	char serial[P11_URI_SHORT_MAX + 1];
	char model[P11_URI_SHORT_MAX + 1];
	char lib_manufacturer[P11_URI_LABEL_MAX + 1];
	char lib_description[P11_URI_LABEL_MAX + 1];
	uint8_t lib_version_major, lib_version_minor;
	unsigned long slot_id;
	char object[P11_URI_OBJECT_MAX + 1];
	uint8_t id[P11_URI_ID_MAX];
	size_t id_len;
	enum p11_uri_type type;
	char pin_source[P11_URI_PATH_MAX + 1];
};

/* Does this text start with the scheme "pkcs11:" (any case)? */
bool p11_uri_is(const char *s, size_t n);

/* Parse a URI of n bytes. *out is zeroed first and left zeroed on failure. */
cpk_status p11_uri_parse(const char *s, size_t n, struct p11_uri *out, struct cpk_error *err);

/*
 * The URI written back in its canonical form (attributes in the order of
 * the list above, values percent-encoded where RFC 7512 asks).
 * CPK_ERR_RANGE if it does not fit in cap bytes.
 */
cpk_status p11_uri_format(const struct p11_uri *u, char *buf, size_t cap,
    struct cpk_error *err);

/* "secret-key", "private", ... ("any" for P11_TYPE_ANY). */
const char *p11_uri_type_name(enum p11_uri_type t);

#endif
