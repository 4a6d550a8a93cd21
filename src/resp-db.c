/* SPDX-License-Identifier: ISC */
/*
 * resp-db.c: the RESP shim's keyspace, as Redis keeps db.c apart from its
 * t_*.c: which keys are views of the chat state (tickd-resp(7), THE CHAT
 * VIEWS), and the helpers every command uses to find, check and drop keys.
 */
#include <string.h>

#include "tickd.h"

/* A prefix of the view keys (tickd-resp(7) THE CHAT VIEWS) and its view. */
static const struct {
	const char	*prefix;
	enum resp_view	 view;
} views[] = {
	{ "inbox:", RV_INBOX },
	{ "queue:", RV_QUEUE },
	{ "blocked:", RV_BLOCKED },
	{ "lastseen:", RV_LASTSEEN },
};

/*
 * Which view a key names.  user and device are filled for a valid view;
 * a key with a view's prefix but no valid names is RV_BAD.
 */
enum resp_view
resp_view(const struct rarg *key, char user[NAME_USER_MAX + 1],
    char device[NAME_DEVICE_MAX + 1])
{
	const char	*p, *colon;
	size_t		 i, plen, ulen, rest;

	for (i = 0; i < sizeof views / sizeof views[0]; i++) {
		plen = strlen(views[i].prefix);
		if (key->len >= plen && memcmp(key->p, views[i].prefix,
		    plen) == 0)
			break;
	}
	if (i == sizeof views / sizeof views[0])
		return (RV_NONE);
	p = key->p + plen;
	rest = key->len - plen;
	if (views[i].view != RV_QUEUE) {
		if (!valid_user(p, rest))
			return (RV_BAD);
		memcpy(user, p, rest);
		user[rest] = '\0';
		return (views[i].view);
	}
	if ((colon = memchr(p, ':', rest)) == NULL)
		return (RV_BAD);
	ulen = (size_t)(colon - p);
	if (!valid_user(p, ulen) || !valid_device(colon + 1, rest - ulen - 1))
		return (RV_BAD);
	memcpy(user, p, ulen);
	user[ulen] = '\0';
	memcpy(device, colon + 1, rest - ulen - 1);
	device[rest - ulen - 1] = '\0';
	return (RV_QUEUE);
}

/*
 * Refuses a command that would break a view's rules: replies why and
 * returns 1 if key is a view, else 0.
 */
int
resp_view_refuse(struct rclient *rc, const struct rarg *key)
{
	char		 user[NAME_USER_MAX + 1], device[NAME_DEVICE_MAX + 1];
	const char	*why;

	switch (resp_view(key, user, device)) {
	case RV_NONE:
		return (0);
	case RV_INBOX:
		why = "only XADD inbox:USER * from SENDER body TEXT [id ID] "
		    "writes to it";
		break;
	case RV_QUEUE:
		why = "it is read-only; read it with XREADGROUP GROUP tickd "
		    "and delete items with XACK";
		break;
	case RV_BLOCKED:
		why = "only SADD and SREM change it";
		break;
	case RV_LASTSEEN:
		why = "it is read-only";
		break;
	default:
		why = "inbox:, queue:, blocked: and lastseen: keys are views "
		    "and this one names no valid user or device";
		break;
	}
	resp_add_errorf(rc, "'%.*s' is a view of tickd's chat state: %s",
	    (int)(key->len > 128 ? 128 : key->len), key->p, why);
	return (1);
}

/* Collects a stream's group ids, to drop them after the walk. */
static int
collect_gid(void *arg, const void *name, size_t len,
    const struct rgroup_rec *g)
{
	struct targets	*t = arg;

	(void)name; (void)len;
	targets_add(t, "", "", g->gid);
	return (STORE_WALK_NEXT);
}

/* Deletes a key and everything it holds: members, entries, groups. */
int
resp_key_drop(struct txn *txn, const void *key, size_t len,
    const struct rkey_rec *r)
{
	struct targets	gids;
	size_t		i;
	int		ret = STORE_OK;

	if (r->type == RTYPE_SET)
		ret = store_rset_drop(txn, r->rid);
	else if (r->type == RTYPE_STREAM) {
		memset(&gids, 0, sizeof gids);
		ret = store_rgroup_walk(txn, r->rid, collect_gid, &gids);
		for (i = 0; ret == STORE_OK && i < gids.n; i++) {
			if ((ret = store_rpel_drop(txn, gids.v[i].qid)) ==
			    STORE_OK)
				ret = store_rcons_drop(txn, gids.v[i].qid);
		}
		targets_free(&gids);
		if (ret == STORE_OK)
			ret = store_rgroup_drop(txn, r->rid);
		if (ret == STORE_OK)
			ret = store_rentry_drop(txn, r->rid);
	}
	if (ret != STORE_OK)
		return (ret);
	/* A parked XREADGROUP learns that its stream went (blocked.c). */
	resp_key_touched(key, len);
	return (store_rkey_del(txn, key, len, r->rid));
}

/*
 * Looks a key up: STORE_OK with its record, or STORE_NOTFOUND (an expired
 * string counts as gone, and is deleted if txn writes).  On a store error
 * replies it and returns the error.
 */
int
resp_lookup(struct rclient *rc, struct txn *txn, const struct rarg *key,
    struct rkey_rec *r)
{
	int	ret;

	ret = store_rkey_get(txn, key->p, key->len, r);
	if (ret == STORE_OK && r->expires != 0 && r->expires <= now_ms()) {
		if (txn->write && (ret = resp_key_drop(txn, key->p, key->len,
		    r)) != STORE_OK) {
			resp_add_store_error(rc, ret);
			return (ret);
		}
		return (STORE_NOTFOUND);
	}
	if (ret != STORE_OK && ret != STORE_NOTFOUND)
		resp_add_store_error(rc, ret);
	return (ret);
}
