/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk unit tests: PKCS#11 URIs (compiler/p11_uri.c, RFC 7512): the
 * attributes cpk reads, percent-decoding, the canonical form, and every
 * refusal with its message (a PIN in the URI above all).
 */
#include <string.h>

#include "p11_uri.h"
#include "testlib.h"

static cpk_status
parse(const char *s, struct p11_uri *u, struct cpk_error *err)
{
	return p11_uri_parse(s, strlen(s), u, err);
}

static void
test_accepted(void)
{
	struct cpk_error err;
	struct p11_uri u;
	char buf[P11_URI_MAX + 1];

	CHECK_OK(parse("pkcs11:token=cpk%20lab;object=issuer-master;type=secret-key", &u, &err));
	CHECK(u.has == (P11_URI_TOKEN | P11_URI_OBJECT | P11_URI_TYPE));
	CHECK_STR(u.token, "cpk lab");
	CHECK_STR(u.object, "issuer-master");
	CHECK(u.type == P11_TYPE_SECRET_KEY);
	CHECK_OK(p11_uri_format(&u, buf, sizeof(buf), &err));
	CHECK_STR(buf, "pkcs11:token=cpk%20lab;object=issuer-master;type=secret-key");

	/* Scheme in any case, attributes in any order, id as bytes, the query. */
	CHECK_OK(parse("PKCS11:id=%01%02%ff;serial=0123;model=SoftHSM%20v2;manufacturer=SoftHSM"
	    ";library-version=2.6;slot-id=7;library-manufacturer=x;library-description=y"
	    "?pin-source=file:/run/pin", &u, &err));
	CHECK_HEX(u.id, u.id_len, "0102FF");
	CHECK_STR(u.serial, "0123");
	CHECK_STR(u.model, "SoftHSM v2");
	CHECK(u.lib_version_major == 2 && u.lib_version_minor == 6);
	CHECK(u.slot_id == 7);
	CHECK_STR(u.pin_source, "file:/run/pin");
	CHECK(u.type == P11_TYPE_ANY);
	CHECK_OK(p11_uri_format(&u, buf, sizeof(buf), &err));
	CHECK_STR(buf, "pkcs11:manufacturer=SoftHSM;serial=0123;model=SoftHSM%20v2;"
	    "library-manufacturer=x;library-description=y;library-version=2.6;slot-id=7;"
	    "id=%01%02%FF?pin-source=file:/run/pin");

	/* A value may hold '=' and encoded separators; an empty value is a value. */
	CHECK_OK(parse("pkcs11:object=a=b%3Bc%3Fd;token=", &u, &err));
	CHECK_STR(u.object, "a=b;c?d");
	CHECK(u.has & P11_URI_TOKEN);
	CHECK_STR(u.token, "");
	CHECK_OK(parse("pkcs11:object=k;", &u, &err));	/* a trailing ';' is allowed */
	CHECK(p11_uri_is("pkcs11:", 7) && !p11_uri_is("pkcs1", 5) && !p11_uri_is("00112233", 8));
	CHECK_STR(p11_uri_type_name(P11_TYPE_PRIVATE), "private");
}

static void
refused(const char *s, cpk_status want, const char *needle)
{
	struct cpk_error err;
	struct p11_uri u;

	memset(&u, 0xAA, sizeof(u));
	CHECK_STATUS(parse(s, &u, &err), want);
	CHECK_MSG(&err, needle);
	CHECK(u.has == 0 && u.object[0] == '\0');
}

static void
test_refused(void)
{
	char longv[P11_URI_MAX + 2];
	char buf[16];
	struct cpk_error err;
	struct p11_uri u;

	refused("pkcs11:object=k?pin-value=1234", CPK_ERR_PARSE, "'pin-value' is refused");
	refused("pkcs11:object=k?module-path=/x.so", CPK_ERR_PARSE, "'module-path' is refused");
	refused("pkcs11:object=k?module-name=softhsm2", CPK_ERR_PARSE, "'module-name' is refused");
	refused("pkcs11:object=k;pin-value=1234", CPK_ERR_PARSE, "unknown path attribute 'pin-value'");
	refused("pkcs11:object=k;tokn=x", CPK_ERR_PARSE, "unknown path attribute 'tokn'");
	refused("pkcs11:object=k;x-vendor=1", CPK_ERR_PARSE, "unknown path attribute 'x-vendor'");
	refused("pkcs11:object=k?foo=1", CPK_ERR_PARSE, "unknown query attribute 'foo'");
	refused("pkcs11:object=a;object=b", CPK_ERR_PARSE, "'object' is given twice");
	refused("pkcs11:object=a;;token=b", CPK_ERR_PARSE, "empty attribute");
	refused("pkcs11:object=a?pin-source=/p&", CPK_ERR_PARSE, "empty attribute");
	refused("pkcs11:object", CPK_ERR_PARSE, "expected NAME=VALUE in the path");
	refused("pkcs11:=x", CPK_ERR_PARSE, "expected NAME=VALUE");
	refused("pkcs11:object=a%4", CPK_ERR_PARSE, "'%' not followed by two hex digits");
	refused("pkcs11:object=a%zz", CPK_ERR_PARSE, "'%' not followed by two hex digits");
	refused("pkcs11:object=a b", CPK_ERR_PARSE, "must percent-encode (byte 20)");
	refused("pkcs11:object=a%00b", CPK_ERR_PARSE, "'object' holds a NUL byte");
	refused("pkcs11:object=k;type=secret", CPK_ERR_PARSE, "unknown type 'secret'");
	refused("pkcs11:object=k;library-version=2.x", CPK_ERR_PARSE, "library-version must be");
	refused("pkcs11:object=k;library-version=256", CPK_ERR_PARSE, "library-version must be");
	refused("pkcs11:object=k;slot-id=-1", CPK_ERR_PARSE, "slot-id must be a decimal");
	refused("pkcs11:object=k;slot-id=99999999999", CPK_ERR_PARSE, "slot-id must be a decimal");
	refused("pkcs11:object=k#frag", CPK_ERR_PARSE, "fragment");
	refused("pkcs11:token=lab", CPK_ERR_PARSE, "names no key: give 'object'");
	refused("pkcs11:", CPK_ERR_PARSE, "names no key");
	refused("file:keys/x.yaml", CPK_ERR_PARSE, "not a pkcs11 URI");
	refused("pkcs11:object=k;token=0123456789abcdef0123456789abcdefX", CPK_ERR_RANGE,
	    "'token' is longer than 32 bytes");
	refused("pkcs11:object=k;serial=0123456789abcdefX", CPK_ERR_RANGE,
	    "'serial' is longer than 16 bytes");
	memset(longv, 'a', sizeof(longv));
	memcpy(longv, "pkcs11:object=", 14);
	longv[sizeof(longv) - 1] = '\0';
	refused(longv, CPK_ERR_RANGE, "longer than 1024 bytes");
	/* The canonical form does not fit. */
	CHECK_OK(parse("pkcs11:object=a-long-label", &u, &err));
	CHECK_STATUS(p11_uri_format(&u, buf, sizeof(buf), &err), CPK_ERR_RANGE);
	CHECK_MSG(&err, "longer than 15 bytes");
	/* Outcome and refusal do not depend on the error structure. */
	CHECK(p11_uri_parse("pkcs11:object=k?pin-value=1", 27, &u, NULL) == CPK_ERR_PARSE);
}

int
main(void)
{
	test_accepted();
	test_refused();
	return test_summary("p11_uri");
}
