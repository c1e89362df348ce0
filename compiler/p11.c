/* SPDX-License-Identifier: BSD-2-Clause */
/* cpk: keys in a PKCS#11 token (see p11.h). The only file that includes pkcs11.h. */
#include "p11.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <p11-kit/pkcs11.h>

#include "cpk_bytes.h"

/* Largest block of data encrypted in one call (STORE DATA: 255 bytes and its padding). */
#define P11_CRYPT_MAX 512

/* An object found by URI; kept for the run so stale handles can be found again. */
struct p11_object {
	struct p11_object *next;
	struct p11_uri uri;
	CK_OBJECT_CLASS cls;
	CK_OBJECT_HANDLE handle;
};

struct p11_signkey {
	struct p11_object *priv;
};

static struct {
	pthread_mutex_t lock;
	char *module;
	p11_pin_fn pin;
	void *pin_ctx;
	void *dl;
	CK_FUNCTION_LIST_PTR f;
	bool have_slot;
	CK_SLOT_ID slot;
	char label[P11_URI_LABEL_MAX + 1];
	/* The first pin-source a URI of the run named: a re-login uses it too. */
	char pin_source[P11_URI_PATH_MAX + 1];
	unsigned long epoch;		/* bumped by p11_shutdown */
	struct p11_object *objects;
} g = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* A token error: the next session finds the objects again. */
static atomic_bool stale;

/* The calling thread's session. */
static _Thread_local struct {
	bool open;
	unsigned long epoch;
	unsigned long serial;		/* counts the sessions this thread opened */
	CK_SESSION_HANDLE h;
} ts;

static const struct keyref_ops p11_ops;

/* The PKCS#11 name of a return value, for messages. */
static const char *
rv_name(CK_RV rv)
{
	static const struct { CK_RV rv; const char *name; } names[] = {
		{ CKR_ARGUMENTS_BAD, "CKR_ARGUMENTS_BAD" },
		{ CKR_ATTRIBUTE_SENSITIVE, "CKR_ATTRIBUTE_SENSITIVE" },
		{ CKR_ATTRIBUTE_VALUE_INVALID, "CKR_ATTRIBUTE_VALUE_INVALID" },
		{ CKR_DEVICE_ERROR, "CKR_DEVICE_ERROR" },
		{ CKR_DEVICE_REMOVED, "CKR_DEVICE_REMOVED" },
		{ CKR_FUNCTION_FAILED, "CKR_FUNCTION_FAILED" },
		{ CKR_GENERAL_ERROR, "CKR_GENERAL_ERROR" },
		{ CKR_KEY_FUNCTION_NOT_PERMITTED, "CKR_KEY_FUNCTION_NOT_PERMITTED" },
		{ CKR_KEY_HANDLE_INVALID, "CKR_KEY_HANDLE_INVALID" },
		{ CKR_KEY_TYPE_INCONSISTENT, "CKR_KEY_TYPE_INCONSISTENT" },
		{ CKR_MECHANISM_INVALID, "CKR_MECHANISM_INVALID" },
		{ CKR_OBJECT_HANDLE_INVALID, "CKR_OBJECT_HANDLE_INVALID" },
		{ CKR_PIN_INCORRECT, "CKR_PIN_INCORRECT" },
		{ CKR_PIN_LOCKED, "CKR_PIN_LOCKED" },
		{ CKR_SESSION_CLOSED, "CKR_SESSION_CLOSED" },
		{ CKR_SESSION_HANDLE_INVALID, "CKR_SESSION_HANDLE_INVALID" },
		{ CKR_TOKEN_NOT_PRESENT, "CKR_TOKEN_NOT_PRESENT" },
		{ CKR_TOKEN_NOT_RECOGNIZED, "CKR_TOKEN_NOT_RECOGNIZED" },
		{ CKR_USER_NOT_LOGGED_IN, "CKR_USER_NOT_LOGGED_IN" },
		{ CKR_TEMPLATE_INCONSISTENT, "CKR_TEMPLATE_INCONSISTENT" },
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].rv == rv)
			return names[i].name;
	return "a PKCS#11 error";
}

/*
 * A token failure: the calling thread's session is dropped (its next call
 * opens a new one) and a refused handle makes every object be found again.
 */
static cpk_status
token_error(CK_RV rv, const char *what, struct cpk_error *err)
{
	if (ts.open && g.f != NULL && ts.epoch == g.epoch)
		(void)g.f->C_CloseSession(ts.h);
	ts.open = false;
	/*
	 * Any token error may have ended the token's last session (a token that
	 * closes its last session logs out, and may hand out new object handles
	 * when it is opened again) or the token may have been put back: the next
	 * session logs in again and finds every object again.
	 */
	atomic_store(&stale, true);
	return cpk_error_set(err, CPK_ERR_TOKEN, "PKCS#11 token '%s': %s failed: %s (0x%lX)",
	    g.label, what, rv_name(rv), (unsigned long)rv);
}

cpk_status
p11_setup(const struct p11_config *cfg, struct cpk_error *err)
{
	cpk_status ret;

	if (cfg->module == NULL || cfg->module[0] == '\0')
		return cpk_error_set(err, CPK_ERR_ARG, "no PKCS#11 module: give --pkcs11-module, "
		    "set CPK_PKCS11_MODULE or name one in the pkcs11 config file");
	pthread_mutex_lock(&g.lock);
	free(g.module);
	if ((g.module = strdup(cfg->module)) == NULL) {
		ret = cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
		goto out;
	}
	g.pin = cfg->pin;
	g.pin_ctx = cfg->pin_ctx;
	ret = CPK_OK;
out:
	pthread_mutex_unlock(&g.lock);
	return ret;
}

bool
p11_configured(void)
{
	bool yes;

	pthread_mutex_lock(&g.lock);
	yes = g.module != NULL;
	pthread_mutex_unlock(&g.lock);
	return yes;
}

/* dlopen and C_Initialize; g.lock held. */
static cpk_status
load_module(struct cpk_error *err)
{
	CK_C_INITIALIZE_ARGS args;
	CK_C_GetFunctionList get;
	CK_RV rv;

	if (g.f != NULL)
		return CPK_OK;
	if (g.module == NULL)
		return cpk_error_set(err, CPK_ERR_ARG, "the key set names keys by PKCS#11 URI, but "
		    "no PKCS#11 module is configured: give --pkcs11-module, set "
		    "CPK_PKCS11_MODULE or name one in the pkcs11 config file");
	if ((g.dl = dlopen(g.module, RTLD_NOW | RTLD_LOCAL)) == NULL)
		return cpk_error_set(err, CPK_ERR_TOKEN, "cannot load PKCS#11 module '%s': %s",
		    g.module, dlerror());
	*(void **)&get = dlsym(g.dl, "C_GetFunctionList");
	if (get == NULL || (rv = get(&g.f)) != CKR_OK || g.f == NULL) {
		dlclose(g.dl);
		g.dl = NULL;
		g.f = NULL;
		return cpk_error_set(err, CPK_ERR_TOKEN, "'%s' is not a PKCS#11 module "
		    "(no C_GetFunctionList)", g.module);
	}
	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;
	rv = g.f->C_Initialize(&args);
	if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		g.f = NULL;
		dlclose(g.dl);
		g.dl = NULL;
		return cpk_error_set(err, CPK_ERR_TOKEN, "PKCS#11 module '%s': C_Initialize "
		    "failed: %s (0x%lX)", g.module, rv_name(rv), (unsigned long)rv);
	}
	return CPK_OK;
}

/* Token info fields are blank-padded, not NUL-terminated. */
static bool
padded_eq(const unsigned char *field, size_t cap, const char *want)
{
	size_t n = strlen(want), i;

	if (n > cap || memcmp(field, want, n) != 0)
		return false;
	for (i = n; i < cap; i++)
		if (field[i] != ' ')
			return false;
	return true;
}

static void
unpad(const unsigned char *field, size_t cap, char *out)
{
	size_t n = cap;

	while (n > 0 && (field[n - 1] == ' ' || field[n - 1] == '\0'))
		n--;
	memcpy(out, field, n);
	out[n] = '\0';
}

static bool
token_matches(const struct p11_uri *u, CK_SLOT_ID slot, const CK_TOKEN_INFO *t)
{
	return (!(u->has & P11_URI_TOKEN) || padded_eq(t->label, sizeof(t->label), u->token)) &&
	    (!(u->has & P11_URI_MANUFACTURER) ||
	    padded_eq(t->manufacturerID, sizeof(t->manufacturerID), u->manufacturer)) &&
	    (!(u->has & P11_URI_SERIAL) ||
	    padded_eq(t->serialNumber, sizeof(t->serialNumber), u->serial)) &&
	    (!(u->has & P11_URI_MODEL) || padded_eq(t->model, sizeof(t->model), u->model)) &&
	    (!(u->has & P11_URI_SLOT_ID) || u->slot_id == slot);
}

/* The module is the library the URI's library-* attributes name. */
static cpk_status
check_library(const struct p11_uri *u, struct cpk_error *err)
{
	CK_INFO info;
	CK_RV rv;

	if (!(u->has & (P11_URI_LIB_MANUF | P11_URI_LIB_DESC | P11_URI_LIB_VERSION)))
		return CPK_OK;
	if ((rv = g.f->C_GetInfo(&info)) != CKR_OK)
		return cpk_error_set(err, CPK_ERR_TOKEN, "PKCS#11 module '%s': C_GetInfo failed: "
		    "%s (0x%lX)", g.module, rv_name(rv), (unsigned long)rv);
	if (((u->has & P11_URI_LIB_MANUF) && !padded_eq(info.manufacturerID,
	    sizeof(info.manufacturerID), u->lib_manufacturer)) ||
	    ((u->has & P11_URI_LIB_DESC) && !padded_eq(info.libraryDescription,
	    sizeof(info.libraryDescription), u->lib_description)) ||
	    ((u->has & P11_URI_LIB_VERSION) &&
	    (info.libraryVersion.major != u->lib_version_major ||
	    info.libraryVersion.minor != u->lib_version_minor)))
		return cpk_error_set(err, CPK_ERR_NOT_FOUND, "PKCS#11 module '%s' is not the "
		    "library the URI names (library-manufacturer, -description or -version "
		    "differ)", g.module);
	return CPK_OK;
}

/* Pick the slot of the URI's token (the first URI of the run decides); g.lock held. */
static cpk_status
choose_slot(const struct p11_uri *u, struct cpk_error *err)
{
	CK_SLOT_ID slots[64];
	CK_ULONG n = 64, i;
	CK_TOKEN_INFO t;
	cpk_status ret;
	CK_RV rv;

	if ((ret = check_library(u, err)) != CPK_OK)
		return ret;
	if (g.have_slot) {
		if (g.f->C_GetTokenInfo(g.slot, &t) == CKR_OK && token_matches(u, g.slot, &t))
			return CPK_OK;
		return cpk_error_set(err, CPK_ERR_UNSUPPORTED, "the keys are in more than one "
		    "token (token '%s' is in use, the URI names another): cpk uses one token "
		    "per run", g.label);
	}
	if ((rv = g.f->C_GetSlotList(CK_TRUE, slots, &n)) != CKR_OK)
		return token_error(rv, "C_GetSlotList", err);
	for (i = 0; i < n; i++) {
		if (g.f->C_GetTokenInfo(slots[i], &t) != CKR_OK || !token_matches(u, slots[i], &t))
			continue;
		g.slot = slots[i];
		g.have_slot = true;
		unpad(t.label, sizeof(t.label), g.label);
		return CPK_OK;
	}
	return cpk_error_set(err, CPK_ERR_NOT_FOUND, "no PKCS#11 token%s%s%s in module '%s'",
	    (u->has & P11_URI_TOKEN) ? " '" : "", (u->has & P11_URI_TOKEN) ? u->token : "",
	    (u->has & P11_URI_TOKEN) ? "'" : "", g.module);
}

/* Log in on session h if the token does not know us yet; g.lock held. */
static cpk_status
login(CK_SESSION_HANDLE h, const char *pin_source, struct cpk_error *err)
{
	CK_SESSION_INFO si;
	char pin[P11_PIN_MAX];
	size_t len = 0;
	cpk_status ret;
	CK_RV rv;

	if ((rv = g.f->C_GetSessionInfo(h, &si)) != CKR_OK)
		return token_error(rv, "C_GetSessionInfo", err);
	if (si.state == CKS_RW_USER_FUNCTIONS || si.state == CKS_RO_USER_FUNCTIONS)
		return CPK_OK;
	if (g.pin == NULL)
		return cpk_error_set(err, CPK_ERR_ARG, "token '%s' needs its user PIN and none "
		    "can be asked for", g.label);
	if ((ret = g.pin(g.pin_ctx, g.label, pin_source, pin, sizeof(pin), &len, err)) != CPK_OK)
		goto out;
	rv = g.f->C_Login(h, CKU_USER, (CK_UTF8CHAR_PTR)pin, (CK_ULONG)len);
	if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LEN_RANGE)
		ret = cpk_error_set(err, CPK_ERR_PERMISSION, "token '%s' refused the PIN "
		    "(wrong PIN)", g.label);
	else if (rv == CKR_PIN_LOCKED)
		ret = cpk_error_set(err, CPK_ERR_PERMISSION, "token '%s': the user PIN is locked",
		    g.label);
	else if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN)
		ret = token_error(rv, "C_Login", err);
	else
		ret = CPK_OK;
out:
	cpk_cleanse(pin, sizeof(pin));
	return ret;
}

static cpk_status refind_objects(CK_SESSION_HANDLE h, struct cpk_error *err);

/*
 * The calling thread's session, opened (and logged in) on first use. u
 * (may be NULL once a slot is chosen) picks the token.
 */
static cpk_status
session(const struct p11_uri *u, CK_SESSION_HANDLE *out, struct cpk_error *err)
{
	CK_SESSION_HANDLE h;
	cpk_status ret;
	CK_RV rv;

	/* Every URI must name the run's token, even when this thread has a session. */
	if (u != NULL) {
		pthread_mutex_lock(&g.lock);
		if ((ret = load_module(err)) == CPK_OK)
			ret = choose_slot(u, err);
		pthread_mutex_unlock(&g.lock);
		if (ret != CPK_OK)
			return ret;
	}
	if (ts.open && ts.epoch == g.epoch) {
		*out = ts.h;
		return CPK_OK;
	}
	ts.open = false;
	pthread_mutex_lock(&g.lock);
	if ((ret = load_module(err)) != CPK_OK)
		goto out;
	if (!g.have_slot) {
		ret = cpk_error_set(err, CPK_ERR_STATE, "no PKCS#11 token chosen yet");
		goto out;
	}
	rv = g.f->C_OpenSession(g.slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &h);
	if (rv != CKR_OK) {
		ret = token_error(rv, "C_OpenSession", err);
		goto out;
	}
	/*
	 * A thread that logs in again after a token error has no URI at hand:
	 * the run's pin-source (from the first URI naming one) still applies.
	 */
	if (u != NULL && (u->has & P11_URI_PIN_SOURCE) && g.pin_source[0] == '\0')
		snprintf(g.pin_source, sizeof(g.pin_source), "%s", u->pin_source);
	if ((ret = login(h, u != NULL && (u->has & P11_URI_PIN_SOURCE) ? u->pin_source :
	    g.pin_source[0] != '\0' ? g.pin_source : NULL, err)) != CPK_OK ||
	    (atomic_load(&stale) && (ret = refind_objects(h, err)) != CPK_OK)) {
		(void)g.f->C_CloseSession(h);
		goto out;
	}
	ts.h = h;
	ts.open = true;
	ts.epoch = g.epoch;
	ts.serial++;
	*out = h;
	ret = CPK_OK;
out:
	pthread_mutex_unlock(&g.lock);
	return ret;
}

void
p11_thread_end(void)
{
	if (ts.open && g.f != NULL && ts.epoch == g.epoch)
		(void)g.f->C_CloseSession(ts.h);
	ts.open = false;
}

void
p11_shutdown(void)
{
	struct p11_object *o, *next;

	p11_thread_end();
	pthread_mutex_lock(&g.lock);
	if (g.f != NULL) {
		(void)g.f->C_Finalize(NULL);
		g.f = NULL;
	}
	if (g.dl != NULL)
		dlclose(g.dl);
	g.dl = NULL;
	for (o = g.objects; o != NULL; o = next) {
		next = o->next;
		free(o);
	}
	g.objects = NULL;
	free(g.module);
	g.module = NULL;
	g.have_slot = false;
	g.pin_source[0] = '\0';
	atomic_store(&stale, false);
	g.epoch++;
	pthread_mutex_unlock(&g.lock);
}

/* Search template of a URI for objects of class cls. */
static CK_ULONG
uri_template(const struct p11_uri *u, CK_OBJECT_CLASS *cls, CK_ATTRIBUTE *t)
{
	CK_ULONG n = 0;

	t[n].type = CKA_CLASS;
	t[n].pValue = cls;
	t[n++].ulValueLen = sizeof(*cls);
	if (u->has & P11_URI_OBJECT) {
		t[n].type = CKA_LABEL;
		t[n].pValue = (void *)u->object;
		t[n++].ulValueLen = strlen(u->object);
	}
	if (u->has & P11_URI_ID) {
		t[n].type = CKA_ID;
		t[n].pValue = (void *)u->id;
		t[n++].ulValueLen = u->id_len;
	}
	return n;
}

/* The one object of class cls u names; CPK_ERR_NOT_FOUND with a message naming it. */
static cpk_status
find_one(CK_SESSION_HANDLE h, const struct p11_uri *u, CK_OBJECT_CLASS cls,
    CK_OBJECT_HANDLE *out, struct cpk_error *err)
{
	CK_ATTRIBUTE t[3];
	CK_OBJECT_HANDLE found[2];
	CK_ULONG n = 0;
	char name[P11_URI_MAX + 1];
	CK_RV rv;

	if ((rv = g.f->C_FindObjectsInit(h, t, uri_template(u, &cls, t))) != CKR_OK)
		return token_error(rv, "C_FindObjectsInit", err);
	rv = g.f->C_FindObjects(h, found, 2, &n);
	(void)g.f->C_FindObjectsFinal(h);
	if (rv != CKR_OK)
		return token_error(rv, "C_FindObjects", err);
	if (p11_uri_format(u, name, sizeof(name), NULL) != CPK_OK)
		snprintf(name, sizeof(name), "pkcs11:object=%s", u->object);
	if (n == 0)
		return cpk_error_set(err, CPK_ERR_NOT_FOUND, "%s: no such %s in token '%s'", name,
		    cls == CKO_SECRET_KEY ? "secret key" : cls == CKO_PRIVATE_KEY ?
		    "private key" : "public key", g.label);
	if (n > 1)
		return cpk_error_set(err, CPK_ERR_NOT_FOUND, "%s: more than one object matches in "
		    "token '%s' (add an id or a type)", name, g.label);
	*out = found[0];
	return CPK_OK;
}

/* Find every remembered object again (handles went stale); g.lock held. */
static cpk_status
refind_objects(CK_SESSION_HANDLE h, struct cpk_error *err)
{
	struct p11_object *o;
	cpk_status ret;

	for (o = g.objects; o != NULL; o = o->next)
		if ((ret = find_one(h, &o->uri, o->cls, &o->handle, err)) != CPK_OK)
			return ret;
	atomic_store(&stale, false);
	return CPK_OK;
}

static cpk_status
remember(const struct p11_uri *u, CK_OBJECT_CLASS cls, CK_OBJECT_HANDLE handle,
    struct p11_object **out, struct cpk_error *err)
{
	struct p11_object *o;

	if ((o = calloc(1, sizeof(*o))) == NULL)
		return cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
	o->uri = *u;
	memset(o->uri.pin_source, 0, sizeof(o->uri.pin_source));
	o->uri.has &= ~(unsigned)P11_URI_PIN_SOURCE;
	o->cls = cls;
	o->handle = handle;
	pthread_mutex_lock(&g.lock);
	o->next = g.objects;
	g.objects = o;
	pthread_mutex_unlock(&g.lock);
	*out = o;
	return CPK_OK;
}

static CK_OBJECT_HANDLE
key_handle(const struct keyref *k)
{
	const struct p11_object *o = k->obj;
	CK_OBJECT_HANDLE h;

	if (o == NULL)
		return k->handle;
	pthread_mutex_lock(&g.lock);
	h = o->handle;
	pthread_mutex_unlock(&g.lock);
	return h;
}

static cpk_status
get_ulong(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type, CK_ULONG *v,
    struct cpk_error *err)
{
	CK_ATTRIBUTE a = { type, v, sizeof(*v) };
	CK_RV rv;

	if ((rv = g.f->C_GetAttributeValue(h, obj, &a, 1)) != CKR_OK)
		return token_error(rv, "C_GetAttributeValue", err);
	return CPK_OK;
}

static cpk_status
get_bool(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type, bool *v,
    struct cpk_error *err)
{
	CK_BBOOL b = CK_FALSE;
	CK_ATTRIBUTE a = { type, &b, sizeof(b) };
	CK_RV rv;

	if ((rv = g.f->C_GetAttributeValue(h, obj, &a, 1)) != CKR_OK)
		return token_error(rv, "C_GetAttributeValue", err);
	*v = b == CK_TRUE;
	return CPK_OK;
}

/* Key type and length of a secret key, checked against alg. */
static cpk_status
check_secret(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj, const struct p11_uri *u,
    enum gp_key_alg alg, size_t *len, struct cpk_error *err)
{
	CK_ULONG type, vlen = 0;
	bool sensitive = false, extractable = true;	/* the refused answer until read */
	cpk_status ret;

	if ((ret = get_ulong(h, obj, CKA_KEY_TYPE, &type, err)) != CPK_OK ||
	    (ret = get_bool(h, obj, CKA_SENSITIVE, &sensitive, err)) != CPK_OK ||
	    (ret = get_bool(h, obj, CKA_EXTRACTABLE, &extractable, err)) != CPK_OK)
		return ret;
	if (type == CKK_AES && (ret = get_ulong(h, obj, CKA_VALUE_LEN, &vlen, err)) != CPK_OK)
		return ret;
	if (alg == GP_KEY_AES && type != CKK_AES)
		return cpk_error_set(err, CPK_ERR_UNSUPPORTED, "token key '%s' is not an AES key "
		    "(wrong key type for an aes key set)", u->object);
	if (alg == GP_KEY_3DES && type != CKK_DES2 && type != CKK_DES3)
		return cpk_error_set(err, CPK_ERR_UNSUPPORTED, "token key '%s' is not a 3DES key "
		    "(wrong key type for a 3des key set)", u->object);
	if (alg == GP_KEY_3DES)
		vlen = type == CKK_DES2 ? 16 : 24;
	if (!gp_key_len_valid(alg, (size_t)vlen))
		return cpk_error_set(err, CPK_ERR_UNSUPPORTED, "token key '%s' has %lu bytes",
		    u->object, (unsigned long)vlen);
	if (!sensitive || extractable)
		return cpk_error_set(err, CPK_ERR_UNSUPPORTED, "token key '%s' may leave the "
		    "token (%s): cpk uses only keys created sensitive and not extractable",
		    u->object, !sensitive ? "CKA_SENSITIVE is false" : "CKA_EXTRACTABLE is true");
	*len = (size_t)vlen;
	return CPK_OK;
}

cpk_status
p11_secret_key(const struct p11_uri *u, enum gp_key_alg alg, struct keyref *out,
    struct cpk_error *err)
{
	struct p11_object *o;
	CK_SESSION_HANDLE h;
	CK_OBJECT_HANDLE obj;
	size_t len = 0;
	cpk_status ret;

	memset(out, 0, sizeof(*out));
	if ((u->has & P11_URI_TYPE) && u->type != P11_TYPE_SECRET_KEY)
		return cpk_error_set(err, CPK_ERR_UNSUPPORTED, "a key set names secret keys, not "
		    "type=%s", p11_uri_type_name(u->type));
	if ((ret = session(u, &h, err)) != CPK_OK ||
	    (ret = find_one(h, u, CKO_SECRET_KEY, &obj, err)) != CPK_OK ||
	    (ret = check_secret(h, obj, u, alg, &len, err)) != CPK_OK ||
	    (ret = remember(u, CKO_SECRET_KEY, obj, &o, err)) != CPK_OK)
		return ret;
	out->ops = &p11_ops;
	out->alg = alg;
	out->len = len;
	out->obj = o;
	out->handle = obj;
	return CPK_OK;
}

/* --- the keyref operations --- */

static cpk_status
encrypt(const struct keyref *k, CK_MECHANISM *m, const uint8_t *in, size_t n, uint8_t *out,
    struct cpk_error *err)
{
	uint8_t buf[P11_CRYPT_MAX];
	CK_SESSION_HANDLE h;
	CK_ULONG outlen = sizeof(buf);
	cpk_status ret;
	CK_RV rv;

	if (n == 0 || n > sizeof(buf))
		return cpk_error_set(err, CPK_ERR_RANGE, "%zu bytes to encrypt in the token", n);
	if ((ret = session(NULL, &h, err)) != CPK_OK)
		return ret;
	if ((rv = g.f->C_EncryptInit(h, m, key_handle(k))) != CKR_OK)
		ret = token_error(rv, "C_EncryptInit", err);
	else if ((rv = g.f->C_Encrypt(h, (CK_BYTE_PTR)in, (CK_ULONG)n, buf, &outlen)) != CKR_OK)
		ret = token_error(rv, "C_Encrypt", err);
	else if (outlen != n)
		ret = cpk_error_set(err, CPK_ERR_TOKEN, "token '%s' encrypted %zu bytes into %lu",
		    g.label, n, (unsigned long)outlen);
	else {
		memcpy(out, buf, n);
		ret = CPK_OK;
	}
	cpk_cleanse(buf, sizeof(buf));
	return ret;
}

static cpk_status
p11_ecb(const struct keyref *k, int enc, const uint8_t *in, size_t n, uint8_t *out,
    struct cpk_error *err)
{
	CK_MECHANISM m = { k->alg == GP_KEY_AES ? CKM_AES_ECB : CKM_DES3_ECB, NULL, 0 };

	if (!enc)
		return cpk_error_set(err, CPK_ERR_UNSUPPORTED, "a token key only encrypts");
	return encrypt(k, &m, in, n, out, err);
}

static cpk_status
p11_cbc(const struct keyref *k, int enc, const uint8_t *iv, const uint8_t *in, size_t n,
    uint8_t *out, struct cpk_error *err)
{
	uint8_t ivb[GP_AES_BLOCK];
	CK_MECHANISM m = { k->alg == GP_KEY_AES ? CKM_AES_CBC : CKM_DES3_CBC, ivb,
	    k->alg == GP_KEY_AES ? GP_AES_BLOCK : GP_DES_BLOCK };

	if (!enc)
		return cpk_error_set(err, CPK_ERR_UNSUPPORTED, "a token key only encrypts");
	memcpy(ivb, iv, m.ulParameterLen);
	return encrypt(k, &m, in, n, out, err);
}

static cpk_status
p11_cmac(const struct keyref *k, const uint8_t *msg, size_t n, uint8_t mac[GP_AES_BLOCK],
    struct cpk_error *err)
{
	CK_MECHANISM m = { CKM_AES_CMAC, NULL, 0 };
	CK_SESSION_HANDLE h;
	CK_ULONG len = GP_AES_BLOCK;
	cpk_status ret;
	CK_RV rv;

	if (k->alg != GP_KEY_AES)
		return cpk_error_set(err, CPK_ERR_ARG, "AES-CMAC needs an AES key");
	if ((ret = session(NULL, &h, err)) != CPK_OK)
		return ret;
	if ((rv = g.f->C_SignInit(h, &m, key_handle(k))) != CKR_OK)
		return token_error(rv, "C_SignInit (CKM_AES_CMAC)", err);
	if ((rv = g.f->C_Sign(h, (CK_BYTE_PTR)msg, (CK_ULONG)n, mac, &len)) != CKR_OK)
		return token_error(rv, "C_Sign (CKM_AES_CMAC)", err);
	if (len != GP_AES_BLOCK)
		return cpk_error_set(err, CPK_ERR_TOKEN, "token '%s' gave a CMAC of %lu bytes",
		    g.label, (unsigned long)len);
	return CPK_OK;
}

/* A session object: sensitive, not extractable, usable as the protocols need. */
static cpk_status
p11_derive(const struct keyref *k, const uint8_t *iv, const uint8_t *data, size_t n,
    struct keyref *out, struct cpk_error *err)
{
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE type = k->alg == GP_KEY_AES ? CKK_AES : k->len == 16 ? CKK_DES2 : CKK_DES3;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ULONG vlen = (CK_ULONG)n;
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) }, { CKA_KEY_TYPE, &type, sizeof(type) },
		{ CKA_TOKEN, &no, sizeof(no) }, { CKA_SENSITIVE, &yes, sizeof(yes) },
		{ CKA_EXTRACTABLE, &no, sizeof(no) }, { CKA_ENCRYPT, &yes, sizeof(yes) },
		{ CKA_DERIVE, &yes, sizeof(yes) }, { CKA_SIGN, &yes, sizeof(yes) },
		{ CKA_VALUE_LEN, &vlen, sizeof(vlen) },
	};
	CK_KEY_DERIVATION_STRING_DATA ecb = { (CK_BYTE_PTR)data, (CK_ULONG)n };
	CK_DES_CBC_ENCRYPT_DATA_PARAMS dcbc;
	CK_AES_CBC_ENCRYPT_DATA_PARAMS acbc;
	CK_MECHANISM m;
	CK_SESSION_HANDLE h;
	CK_OBJECT_HANDLE obj;
	cpk_status ret;
	CK_RV rv;

	memset(out, 0, sizeof(*out));
	if (n != k->len)
		return cpk_error_set(err, CPK_ERR_ARG, "derivation data of %zu bytes for a "
		    "%zu-byte key", n, k->len);
	if (iv == NULL) {
		m.mechanism = k->alg == GP_KEY_AES ? CKM_AES_ECB_ENCRYPT_DATA :
		    CKM_DES3_ECB_ENCRYPT_DATA;
		m.pParameter = &ecb;
		m.ulParameterLen = sizeof(ecb);
	} else if (k->alg == GP_KEY_AES) {
		memcpy(acbc.iv, iv, GP_AES_BLOCK);
		acbc.pData = (CK_BYTE_PTR)data;
		acbc.length = (CK_ULONG)n;
		m.mechanism = CKM_AES_CBC_ENCRYPT_DATA;
		m.pParameter = &acbc;
		m.ulParameterLen = sizeof(acbc);
	} else {
		memcpy(dcbc.iv, iv, GP_DES_BLOCK);
		dcbc.pData = (CK_BYTE_PTR)data;
		dcbc.length = (CK_ULONG)n;
		m.mechanism = CKM_DES3_CBC_ENCRYPT_DATA;
		m.pParameter = &dcbc;
		m.ulParameterLen = sizeof(dcbc);
	}
	if ((ret = session(NULL, &h, err)) != CPK_OK)
		return ret;
	/* DES key types take their length from the type, not CKA_VALUE_LEN. */
	rv = g.f->C_DeriveKey(h, &m, key_handle(k), t, k->alg == GP_KEY_AES ?
	    sizeof(t) / sizeof(t[0]) : sizeof(t) / sizeof(t[0]) - 1, &obj);
	if (rv != CKR_OK)
		return token_error(rv, "C_DeriveKey", err);
	out->ops = &p11_ops;
	out->alg = k->alg;
	out->len = k->len;
	out->handle = obj;
	out->temporary = true;
	out->session = ts.serial;
	return CPK_OK;
}

/*
 * A key made for one card is a session object: destroyed here through the
 * session that made it. If that session is gone (a token error closed it),
 * the token destroyed the object with it, and its handle may name another
 * object now: nothing to do.
 */
static void
p11_clear(struct keyref *k)
{
	if (k->temporary && ts.open && ts.epoch == g.epoch && ts.serial == k->session &&
	    g.f != NULL)
		(void)g.f->C_DestroyObject(ts.h, k->handle);
}

static const struct keyref_ops p11_ops = {
	"pkcs11", p11_ecb, p11_cbc, p11_cmac, p11_derive, p11_clear,
};

/* --- creating objects (cardc hsm import, keygen --pkcs11) --- */

/* Refuse to create a second object with the same label and class. */
static cpk_status
check_absent(CK_SESSION_HANDLE h, const struct p11_uri *u, CK_OBJECT_CLASS cls,
    struct cpk_error *err)
{
	CK_OBJECT_HANDLE obj;
	cpk_status ret = find_one(h, u, cls, &obj, err);

	if (ret == CPK_ERR_NOT_FOUND) {
		cpk_error_clear(err);
		return CPK_OK;
	}
	if (ret != CPK_OK)
		return ret;
	return cpk_error_set(err, CPK_ERR_STATE, "token '%s' already holds an object labelled "
	    "'%s': nothing was changed", g.label, u->object);
}

static cpk_status
need_label(const struct p11_uri *u, struct cpk_error *err)
{
	if (!(u->has & P11_URI_OBJECT) || u->object[0] == '\0')
		return cpk_error_set(err, CPK_ERR_ARG, "a key made in the token needs a label: "
		    "give object=NAME in its URI");
	return CPK_OK;
}

cpk_status
p11_import_secret(const struct p11_uri *u, enum gp_key_alg alg, const uint8_t *value,
    size_t len, struct cpk_error *err)
{
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE type = alg == GP_KEY_AES ? CKK_AES : len == 16 ? CKK_DES2 : CKK_DES3;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) }, { CKA_KEY_TYPE, &type, sizeof(type) },
		{ CKA_TOKEN, &yes, sizeof(yes) }, { CKA_PRIVATE, &yes, sizeof(yes) },
		{ CKA_SENSITIVE, &yes, sizeof(yes) }, { CKA_EXTRACTABLE, &no, sizeof(no) },
		{ CKA_ENCRYPT, &yes, sizeof(yes) }, { CKA_DECRYPT, &no, sizeof(no) },
		{ CKA_DERIVE, &yes, sizeof(yes) }, { CKA_SIGN, &yes, sizeof(yes) },
		{ CKA_LABEL, (void *)u->object, strlen(u->object) },
		{ CKA_VALUE, (void *)value, (CK_ULONG)len },
		{ CKA_ID, (void *)u->id, u->id_len },
	};
	CK_SESSION_HANDLE h;
	CK_OBJECT_HANDLE obj;
	cpk_status ret;
	CK_RV rv;

	if ((ret = need_label(u, err)) != CPK_OK || (ret = session(u, &h, err)) != CPK_OK ||
	    (ret = check_absent(h, u, CKO_SECRET_KEY, err)) != CPK_OK)
		return ret;
	rv = g.f->C_CreateObject(h, t, sizeof(t) / sizeof(t[0]) - (u->id_len == 0), &obj);
	if (rv != CKR_OK)
		return token_error(rv, "C_CreateObject", err);
	return CPK_OK;
}

/* CKA_EC_PARAMS of Ed25519: the OID 1.3.101.112. */
static const uint8_t ed25519_oid[] = { 0x06, 0x03, 0x2B, 0x65, 0x70 };

/* CKA_EC_POINT: DER OCTET STRING of the 32 bytes (some tokens give them bare). */
static cpk_status
read_pub(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj, uint8_t pub[P11_ED25519_LEN],
    struct cpk_error *err)
{
	uint8_t buf[64];
	CK_ATTRIBUTE a = { CKA_EC_POINT, buf, sizeof(buf) };
	CK_RV rv;

	if ((rv = g.f->C_GetAttributeValue(h, obj, &a, 1)) != CKR_OK)
		return token_error(rv, "C_GetAttributeValue (CKA_EC_POINT)", err);
	if (a.ulValueLen == 34 && buf[0] == 0x04 && buf[1] == 0x20)
		memcpy(pub, buf + 2, P11_ED25519_LEN);
	else if (a.ulValueLen == 32)
		memcpy(pub, buf, P11_ED25519_LEN);
	else
		return cpk_error_set(err, CPK_ERR_UNSUPPORTED, "token public key is not an "
		    "Ed25519 point (%lu bytes)", (unsigned long)a.ulValueLen);
	return CPK_OK;
}

cpk_status
p11_ed25519_find(const struct p11_uri *u, struct p11_signkey **out,
    uint8_t pub[P11_ED25519_LEN], struct cpk_error *err)
{
	struct p11_signkey *k = NULL;
	struct p11_object *o;
	CK_SESSION_HANDLE h;
	CK_OBJECT_HANDLE priv, pubh;
	CK_ULONG type;
	cpk_status ret;

	*out = NULL;
	if ((u->has & P11_URI_TYPE) && u->type != P11_TYPE_PRIVATE)
		return cpk_error_set(err, CPK_ERR_UNSUPPORTED, "the signing key is a private key, "
		    "not type=%s", p11_uri_type_name(u->type));
	if ((ret = session(u, &h, err)) != CPK_OK ||
	    (ret = find_one(h, u, CKO_PRIVATE_KEY, &priv, err)) != CPK_OK ||
	    (ret = get_ulong(h, priv, CKA_KEY_TYPE, &type, err)) != CPK_OK)
		return ret;
	if (type != CKK_EC_EDWARDS)
		return cpk_error_set(err, CPK_ERR_UNSUPPORTED, "token key '%s' is not an Ed25519 "
		    "key (wrong key type for the signing key)", u->object);
	if ((ret = find_one(h, u, CKO_PUBLIC_KEY, &pubh, err)) != CPK_OK ||
	    (ret = read_pub(h, pubh, pub, err)) != CPK_OK ||
	    (ret = remember(u, CKO_PRIVATE_KEY, priv, &o, err)) != CPK_OK)
		return ret;
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return cpk_error_set(err, CPK_ERR_NOMEM, "out of memory");
	k->priv = o;
	*out = k;
	return CPK_OK;
}

cpk_status
p11_ed25519_sign(const struct p11_signkey *k, const uint8_t *msg, size_t n,
    uint8_t sig[P11_ED25519_SIG_LEN], struct cpk_error *err)
{
	CK_MECHANISM m = { CKM_EDDSA, NULL, 0 };
	struct keyref tmp;
	CK_SESSION_HANDLE h;
	CK_ULONG len = P11_ED25519_SIG_LEN;
	cpk_status ret;
	CK_RV rv;

	memset(&tmp, 0, sizeof(tmp));
	tmp.obj = k->priv;
	if ((ret = session(NULL, &h, err)) != CPK_OK)
		return ret;
	if ((rv = g.f->C_SignInit(h, &m, key_handle(&tmp))) != CKR_OK)
		return token_error(rv, "C_SignInit (CKM_EDDSA)", err);
	if ((rv = g.f->C_Sign(h, (CK_BYTE_PTR)msg, (CK_ULONG)n, sig, &len)) != CKR_OK)
		return token_error(rv, "C_Sign (CKM_EDDSA)", err);
	if (len != P11_ED25519_SIG_LEN)
		return cpk_error_set(err, CPK_ERR_TOKEN, "token '%s' gave an Ed25519 signature "
		    "of %lu bytes", g.label, (unsigned long)len);
	return CPK_OK;
}

void
p11_signkey_free(struct p11_signkey **k)
{
	if (k == NULL || *k == NULL)
		return;
	free(*k);
	*k = NULL;
}

cpk_status
p11_ed25519_generate(const struct p11_uri *u, uint8_t pub[P11_ED25519_LEN],
    struct cpk_error *err)
{
	CK_MECHANISM m = { CKM_EC_EDWARDS_KEY_PAIR_GEN, NULL, 0 };
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ATTRIBUTE pubt[] = {
		{ CKA_TOKEN, &yes, sizeof(yes) }, { CKA_VERIFY, &yes, sizeof(yes) },
		{ CKA_EC_PARAMS, (void *)ed25519_oid, sizeof(ed25519_oid) },
		{ CKA_LABEL, (void *)u->object, strlen(u->object) },
		{ CKA_ID, (void *)u->id, u->id_len },
	};
	CK_ATTRIBUTE privt[] = {
		{ CKA_TOKEN, &yes, sizeof(yes) }, { CKA_PRIVATE, &yes, sizeof(yes) },
		{ CKA_SENSITIVE, &yes, sizeof(yes) }, { CKA_EXTRACTABLE, &no, sizeof(no) },
		{ CKA_SIGN, &yes, sizeof(yes) },
		{ CKA_LABEL, (void *)u->object, strlen(u->object) },
		{ CKA_ID, (void *)u->id, u->id_len },
	};
	CK_ULONG drop = u->id_len == 0;
	CK_SESSION_HANDLE h;
	CK_OBJECT_HANDLE pubh, privh;
	cpk_status ret;
	CK_RV rv;

	if ((ret = need_label(u, err)) != CPK_OK || (ret = session(u, &h, err)) != CPK_OK ||
	    (ret = check_absent(h, u, CKO_PRIVATE_KEY, err)) != CPK_OK)
		return ret;
	rv = g.f->C_GenerateKeyPair(h, &m, pubt, sizeof(pubt) / sizeof(pubt[0]) - drop, privt,
	    sizeof(privt) / sizeof(privt[0]) - drop, &pubh, &privh);
	if (rv != CKR_OK)
		return token_error(rv, "C_GenerateKeyPair (Ed25519)", err);
	/*
	 * A pair whose public key cannot be read is of no use: not kept (by
	 * label, through a new session if the failure closed this one; there
	 * was no object with the label before).
	 */
	if ((ret = read_pub(h, pubh, pub, err)) != CPK_OK)
		p11_destroy_made(u, true);
	return ret;
}

void
p11_destroy_made(const struct p11_uri *u, bool pair)
{
	static const CK_OBJECT_CLASS secret[] = { CKO_SECRET_KEY };
	static const CK_OBJECT_CLASS both[] = { CKO_PRIVATE_KEY, CKO_PUBLIC_KEY };
	const CK_OBJECT_CLASS *cls = pair ? both : secret;
	size_t i, n = pair ? 2 : 1;
	struct cpk_error ignored;
	CK_SESSION_HANDLE h;
	CK_OBJECT_HANDLE obj;

	cpk_error_clear(&ignored);
	if (session(u, &h, &ignored) != CPK_OK)
		return;
	for (i = 0; i < n; i++)
		if (find_one(h, u, cls[i], &obj, &ignored) == CPK_OK)
			(void)g.f->C_DestroyObject(h, obj);
}

cpk_status
p11_ed25519_import(const struct p11_uri *u, const uint8_t seed[P11_ED25519_LEN],
    const uint8_t pub[P11_ED25519_LEN], struct cpk_error *err)
{
	CK_OBJECT_CLASS privc = CKO_PRIVATE_KEY, pubc = CKO_PUBLIC_KEY;
	CK_KEY_TYPE type = CKK_EC_EDWARDS;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	uint8_t point[2 + P11_ED25519_LEN];
	CK_ATTRIBUTE privt[] = {
		{ CKA_CLASS, &privc, sizeof(privc) }, { CKA_KEY_TYPE, &type, sizeof(type) },
		{ CKA_TOKEN, &yes, sizeof(yes) }, { CKA_PRIVATE, &yes, sizeof(yes) },
		{ CKA_SENSITIVE, &yes, sizeof(yes) }, { CKA_EXTRACTABLE, &no, sizeof(no) },
		{ CKA_SIGN, &yes, sizeof(yes) },
		{ CKA_EC_PARAMS, (void *)ed25519_oid, sizeof(ed25519_oid) },
		{ CKA_VALUE, (void *)seed, P11_ED25519_LEN },
		{ CKA_LABEL, (void *)u->object, strlen(u->object) },
		{ CKA_ID, (void *)u->id, u->id_len },
	};
	CK_ATTRIBUTE pubt[] = {
		{ CKA_CLASS, &pubc, sizeof(pubc) }, { CKA_KEY_TYPE, &type, sizeof(type) },
		{ CKA_TOKEN, &yes, sizeof(yes) }, { CKA_VERIFY, &yes, sizeof(yes) },
		{ CKA_EC_PARAMS, (void *)ed25519_oid, sizeof(ed25519_oid) },
		{ CKA_EC_POINT, point, sizeof(point) },
		{ CKA_LABEL, (void *)u->object, strlen(u->object) },
		{ CKA_ID, (void *)u->id, u->id_len },
	};
	CK_ULONG drop = u->id_len == 0;
	CK_SESSION_HANDLE h;
	CK_OBJECT_HANDLE privh, pubh;
	cpk_status ret;
	CK_RV rv;

	point[0] = 0x04;
	point[1] = P11_ED25519_LEN;
	memcpy(point + 2, pub, P11_ED25519_LEN);
	if ((ret = need_label(u, err)) != CPK_OK || (ret = session(u, &h, err)) != CPK_OK ||
	    (ret = check_absent(h, u, CKO_PRIVATE_KEY, err)) != CPK_OK)
		return ret;
	if ((rv = g.f->C_CreateObject(h, privt, sizeof(privt) / sizeof(privt[0]) - drop,
	    &privh)) != CKR_OK)
		return token_error(rv, "C_CreateObject (Ed25519 private key)", err);
	if ((rv = g.f->C_CreateObject(h, pubt, sizeof(pubt) / sizeof(pubt[0]) - drop,
	    &pubh)) != CKR_OK) {
		/* No private key without its public key left behind. */
		(void)g.f->C_DestroyObject(h, privh);
		return token_error(rv, "C_CreateObject (Ed25519 public key)", err);
	}
	return CPK_OK;
}

cpk_status
p11_get_attribute(const struct p11_uri *u, unsigned long type, uint8_t *buf, size_t cap,
    unsigned long *len, struct cpk_error *err)
{
	CK_OBJECT_CLASS cls = u->type == P11_TYPE_PRIVATE ? CKO_PRIVATE_KEY :
	    u->type == P11_TYPE_PUBLIC ? CKO_PUBLIC_KEY : CKO_SECRET_KEY;
	CK_ATTRIBUTE a = { type, buf, (CK_ULONG)cap };
	CK_SESSION_HANDLE h;
	CK_OBJECT_HANDLE obj;
	cpk_status ret;
	CK_RV rv;

	*len = 0;
	if ((ret = session(u, &h, err)) != CPK_OK || (ret = find_one(h, u, cls, &obj,
	    err)) != CPK_OK)
		return ret;
	rv = g.f->C_GetAttributeValue(h, obj, &a, 1);
	if (rv == CKR_ATTRIBUTE_SENSITIVE || rv == CKR_ATTRIBUTE_TYPE_INVALID) {
		*len = (unsigned long)-1;
		return CPK_OK;
	}
	if (rv != CKR_OK)
		return token_error(rv, "C_GetAttributeValue", err);
	*len = a.ulValueLen;
	return CPK_OK;
}
