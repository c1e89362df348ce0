/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cardsim: life cycles and registry changes (GP 2.3.1 chapter 5, 11.2,
 * 11.5.2.3.3-4, 11.10): SET STATUS of the card and of applications, DELETE
 * of a key set, INSTALL [for extradition] and [for registry update], and the
 * rules a card's life-cycle state puts on every command.
 */
#include <string.h>

#include "card_int.h"

const char *
cardsim_card_state_name(uint8_t lc)
{
	switch (lc) {
	case CS_LC_CARD_OP_READY:
		return "OP_READY";
	case CS_LC_CARD_INITIALIZED:
		return "INITIALIZED";
	case CS_LC_CARD_SECURED:
		return "SECURED";
	case CS_LC_CARD_LOCKED:
		return "CARD_LOCKED";
	case CS_LC_CARD_TERMINATED:
		return "TERMINATED";
	default:
		return "unknown";
	}
}

/*
 * GP 2.3.1 5.1: OP_READY -> INITIALIZED -> SECURED are irreversible (a
 * state may be skipped), SECURED <-> CARD_LOCKED, and any state but
 * TERMINATED -> TERMINATED.
 */
static bool
card_transition_ok(uint8_t from, uint8_t to)
{
	if (to == CS_LC_CARD_TERMINATED)
		return from != CS_LC_CARD_TERMINATED;
	switch (from) {
	case CS_LC_CARD_OP_READY:
		return to == CS_LC_CARD_INITIALIZED || to == CS_LC_CARD_SECURED;
	case CS_LC_CARD_INITIALIZED:
		return to == CS_LC_CARD_SECURED;
	case CS_LC_CARD_SECURED:
		return to == CS_LC_CARD_LOCKED;
	case CS_LC_CARD_LOCKED:
		return to == CS_LC_CARD_SECURED;
	default:
		return false;
	}
}

static uint16_t
set_card_status(struct cardsim *c, const struct cpk_apdu *a)
{
	/* No data (GlobalPlatformPro's form) or the ISD's own AID. */
	if (a->lc != 0 && (a->lc != c->id.isd.len || memcmp(a->data, c->id.isd.b, a->lc) != 0))
		return cs_refuse(c, SW_WRONG_DATA, "SET STATUS of the card: the data must be "
		    "empty or the ISD's AID");
	if (a->p2 != CS_LC_CARD_INITIALIZED && a->p2 != CS_LC_CARD_SECURED &&
	    a->p2 != CS_LC_CARD_LOCKED && a->p2 != CS_LC_CARD_TERMINATED)
		return cs_refuse(c, SW_WRONG_P1P2, "SET STATUS of the card: P2 %02X is no card "
		    "state (07, 0F, 7F, FF)", a->p2);
	if (!card_transition_ok(c->id.life_cycle, a->p2))
		return cs_refuse(c, SW_CONDITIONS, "SET STATUS: the card cannot go from %s to %s",
		    cardsim_card_state_name(c->id.life_cycle), cardsim_card_state_name(a->p2));
	c->id.life_cycle = a->p2;
	c->dirty = true;
	return SW_OK;
}

static uint16_t
set_app_status(struct cardsim *c, const struct cpk_apdu *a)
{
	struct cs_app *app;
	bool locked;

	if (a->p2 != 0x80 && a->p2 != 0x00)
		return cs_refuse(c, SW_WRONG_P1P2, "SET STATUS of an application: P2 %02X (80 "
		    "lock, 00 unlock)", a->p2);
	if (a->lc == c->id.isd.len && memcmp(a->data, c->id.isd.b, a->lc) == 0)
		return cs_refuse(c, SW_CONDITIONS, "SET STATUS P1 40 of the ISD (the card's "
		    "state is P1 80)");
	if ((app = cardsim_find_app(c, a->data, a->lc)) == NULL)
		return cs_refuse(c, SW_NOT_FOUND, "SET STATUS: no such application");
	locked = (app->life_cycle & CS_LC_APP_LOCKED) != 0;
	if (locked == (a->p2 == 0x80))
		return cs_refuse(c, SW_CONDITIONS, "SET STATUS: the application is already %s",
		    locked ? "locked" : "unlocked");
	app->life_cycle = (uint8_t)(a->p2 == 0x80 ? app->life_cycle | CS_LC_APP_LOCKED :
	    app->life_cycle & ~CS_LC_APP_LOCKED);
	if (a->p2 == 0x80 && c->perso.target == (int)(app - c->apps))
		c->perso.target = -1;
	c->dirty = true;
	return SW_OK;
}

uint16_t
cs_cmd_set_status(struct cardsim *c, const struct cpk_apdu *a, struct cpk_buf *out)
{
	(void)out;
	switch (a->p1) {
	case 0x80:
		return set_card_status(c, a);
	case 0x40:
		return set_app_status(c, a);
	default:
		return cs_refuse(c, SW_WRONG_P1P2, "SET STATUS P1 %02X is not supported (80 card, "
		    "40 application)", a->p1);
	}
}

/* DELETE D2 01 kvn (a whole key set; D0, one key of it, is not supported). */
uint16_t
cs_delete_key(struct cardsim *c, const struct cpk_apdu *a)
{
	struct cs_keyset *ks;
	size_t idx;

	if (a->p2 != 0x00)
		return cs_refuse(c, SW_WRONG_P1P2, "DELETE of a key: P2 %02X (00 only)", a->p2);
	if (a->data[0] == 0xD0)
		return cs_refuse(c, SW_WRONG_DATA, "DELETE of one key (D0) is not supported: this "
		    "card keeps key sets whole (D2 01 version)");
	if (a->lc != 3 || a->data[1] != 0x01)
		return cs_refuse(c, SW_WRONG_DATA, "DELETE of a key set: the data must be D2 01 "
		    "<key version>");
	if ((ks = cardsim_find_keyset(c, a->data[2])) == NULL)
		return cs_refuse(c, SW_NOT_FOUND, "DELETE: no key set with version %02X",
		    a->data[2]);
	if (c->sc.kvn == a->data[2])
		return cs_refuse(c, SW_CONDITIONS, "DELETE: key set %02X opened this secure "
		    "channel", a->data[2]);
	if (c->nkeysets == 1)
		return cs_refuse(c, SW_CONDITIONS, "DELETE: key set %02X is the card's last",
		    a->data[2]);
	idx = (size_t)(ks - c->keysets);
	scp_keyset_clear(&ks->keys);
	memmove(&c->keysets[idx], &c->keysets[idx + 1],
	    (c->nkeysets - idx - 1) * sizeof(c->keysets[0]));
	c->nkeysets--;
	memset(&c->keysets[c->nkeysets], 0, sizeof(c->keysets[0]));
	c->dirty = true;
	return SW_OK;
}

/*
 * INSTALL [for extradition]: SD AID, 00, application or load file AID, 00,
 * parameters, token (delegated.c checks it). The target must be the ISD or
 * a supplementary security domain; this card does not record associations.
 */
uint16_t
cs_install_for_extradition(struct cardsim *c, const struct cpk_apdu *a)
{
	struct cs_lv f[6];
	uint16_t sw;

	if ((sw = cs_install_fields(c, a, f, 6, "extradition")) != SW_OK)
		return sw;
	if (f[1].n != 0 || f[3].n != 0)
		return cs_refuse(c, SW_WRONG_DATA, "INSTALL [for extradition]: fields 2 and 4 "
		    "must be empty");
	if (!cs_is_sd(c, f[0].p, f[0].n))
		return cs_refuse(c, SW_NOT_FOUND, "INSTALL [for extradition]: no such security "
		    "domain");
	if (cardsim_find_app(c, f[2].p, f[2].n) == NULL &&
	    cardsim_find_loadfile(c, f[2].p, f[2].n) == NULL)
		return cs_refuse(c, SW_NOT_FOUND, "INSTALL [for extradition]: no such application "
		    "or load file");
	return SW_OK;
}

/*
 * INSTALL [for registry update]: SD AID (empty: keep), 00, application AID,
 * privileges (empty: keep; 1 or 3 bytes), parameters (empty or EF {...}),
 * token (delegated management).
 */
uint16_t
cs_install_for_registry_update(struct cardsim *c, const struct cpk_apdu *a)
{
	struct cs_lv f[6];
	struct cs_app *app;
	uint16_t sw;

	if ((sw = cs_install_fields(c, a, f, 6, "registry update")) != SW_OK)
		return sw;
	/* The token (field 6) has been checked with delegated management (delegated.c). */
	if (f[1].n != 0)
		return cs_refuse(c, SW_WRONG_DATA, "INSTALL [for registry update]: field 2 must be "
		    "empty");
	if (f[0].n != 0 && (f[0].n != c->id.isd.len || memcmp(f[0].p, c->id.isd.b, f[0].n) != 0))
		return cs_refuse(c, SW_NOT_FOUND, "INSTALL [for registry update]: no such security "
		    "domain (this card has only the ISD)");
	if ((app = cardsim_find_app(c, f[2].p, f[2].n)) == NULL)
		return cs_refuse(c, SW_NOT_FOUND, "INSTALL [for registry update]: no such "
		    "application");
	if (f[3].n != 0 && f[3].n != 1 && f[3].n != 3)
		return cs_refuse(c, SW_WRONG_DATA, "INSTALL [for registry update]: privileges of "
		    "%zu bytes (1 or 3)", f[3].n);
	if (f[3].n > 0 && (f[3].p[0] & 0x80) != 0)
		return cs_refuse(c, SW_WRONG_DATA, "INSTALL [for registry update]: the Security "
		    "Domain privilege is not supported");
	if (f[4].n != 0 && (f[4].n < 2 || f[4].p[0] != 0xEF || f[4].p[1] != f[4].n - 2))
		return cs_refuse(c, SW_WRONG_DATA, "INSTALL [for registry update]: parameters "
		    "must be one EF template");
	if (f[3].n > 0) {
		memset(app->priv, 0, sizeof(app->priv));
		memcpy(app->priv, f[3].p, f[3].n);
		app->priv_len = f[3].n;
		c->dirty = true;
	}
	return SW_OK;
}

uint16_t
cs_life_cycle_allows(struct cardsim *c, const struct cpk_apdu *a)
{
	if (c->id.life_cycle != CS_LC_CARD_TERMINATED)
		return SW_OK;
	/* The session that terminated the card ends with the next command. */
	cs_close_session(c);
	if (a->ins != INS_GET_DATA)
		return cs_refuse(c, SW_CONDITIONS, "the card is TERMINATED: it answers GET DATA "
		    "only");
	return SW_OK;
}

bool
cs_app_selectable(const struct cardsim *c, const struct cs_app *app)
{
	return c->id.life_cycle != CS_LC_CARD_LOCKED &&
	    (app->life_cycle & CS_LC_APP_LOCKED) == 0 &&
	    (app->life_cycle & 0x7F) >= CS_LC_APP_SELECTABLE;
}
