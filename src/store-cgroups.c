/* SPDX-License-Identifier: ISC */
/*
 * store-cgroups.c: what a node of a cluster knows of groups homed on
 * other nodes (tickd-cluster(7), Groups across nodes): for each local user,
 * the groups it is a member of there, with its role, the group's title and
 * version and its home, as the group events applied here said last.
 */
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>

#define STORE_INTERNAL
#include "store.h"
#include "tickd.h"

#define CRG_V1	1	/* the record's version */

/* Reads user's membership of group; STORE_NOTFOUND if none is known. */
int
store_crgroup_get(struct txn *txn, const char *user, const char *group,
    struct crgroup_rec *r)
{
	MDB_val		v;
	struct dec	d;
	struct nkey	k;
	int		rc;

	if (nkey_make(&k, user, NAME_USER_MAX, group, NAME_GROUP_MAX) != 0)
		return (STORE_NOTFOUND);
	if ((rc = db_get(txn, DB_CRGROUP, k.b, k.len, &v)) != STORE_OK)
		return (rc);
	dec_init(&d, &v);
	if (dec_u8(&d) != CRG_V1)
		return (txn_fail(txn, DB_CRGROUP, "unknown record version"));
	r->role = dec_u8(&d);
	r->version = dec_u64(&d);
	dec_str(&d, r->home, CRGROUP_NODE_MAX);
	dec_str(&d, r->title, GROUP_TITLE_MAX);
	if (dec_end(&d) != 0)
		return (txn_fail(txn, DB_CRGROUP, "corrupt record"));
	return (STORE_OK);
}

/* Writes user's membership of group. */
int
store_crgroup_put(struct txn *txn, const char *user, const char *group,
    const struct crgroup_rec *r)
{
	struct enc	e;
	struct nkey	k;

	if (nkey_make(&k, user, NAME_USER_MAX, group, NAME_GROUP_MAX) != 0 ||
	    !cluster_node_name_ok(r->home, strlen(r->home)))
		return (txn_fail(txn, DB_CRGROUP, "bad name"));
	enc_init(&e);
	enc_u8(&e, CRG_V1);
	enc_u8(&e, r->role);
	enc_u64(&e, r->version);
	enc_str(&e, r->home, CRGROUP_NODE_MAX);
	enc_str(&e, r->title, GROUP_TITLE_MAX);
	return (db_put(txn, DB_CRGROUP, k.b, k.len, e.b, e.len, 0));
}

/* Forgets user's membership of group. */
int
store_crgroup_del(struct txn *txn, const char *user, const char *group)
{
	struct nkey	k;

	if (nkey_make(&k, user, NAME_USER_MAX, group, NAME_GROUP_MAX) != 0)
		return (STORE_NOTFOUND);
	return (db_del(txn, DB_CRGROUP, k.b, k.len));
}

/* Walk adapter: splits "user\0group" and decodes the record. */
static int
crgroup_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	struct crgroup_rec	 r;
	struct dec		 d;
	char			 user[NAME_USER_MAX + 1];
	char			 group[NAME_GROUP_MAX + 1];
	const char		*p = k->mv_data, *nul;

	nul = memchr(p, '\0', k->mv_size);
	if (nul == NULL ||
	    name_copy(user, NAME_USER_MAX, p, (size_t)(nul - p)) != 0 ||
	    name_copy(group, NAME_GROUP_MAX, nul + 1,
	    k->mv_size - (size_t)(nul - p) - 1) != 0)
		return (walk_corrupt(w));
	dec_init(&d, v);
	if (dec_u8(&d) != CRG_V1)
		return (walk_corrupt(w));
	r.role = dec_u8(&d);
	r.version = dec_u64(&d);
	dec_str(&d, r.home, CRGROUP_NODE_MAX);
	dec_str(&d, r.title, GROUP_TITLE_MAX);
	if (dec_end(&d) != 0)
		return (walk_corrupt(w));
	return (w->fn.crgroup(w->arg, user, group, &r));
}

/* Walks user's memberships in group name order; a callback may delete. */
int
store_crgroup_walk(struct txn *txn, const char *user, int (*fn)(void *,
    const char *, const char *, const struct crgroup_rec *), void *arg)
{
	struct walk	w = { .fn.crgroup = fn, .arg = arg };
	struct nkey	k;

	if (nkey_make(&k, user, NAME_USER_MAX, NULL, 0) != 0)
		return (STORE_OK);
	k.b[k.len++] = '\0';
	return (db_walk(txn, DB_CRGROUP, k.b, k.len, NULL, 0, 0, crgroup_fn,
	    &w));
}
