/* SPDX-License-Identifier: ISC */
/*
 * store-groups.c: the records of groups (tickd-protocol(7) GROUPS), in
 * the databases store.h lists under "Groups".  Keys are names joined by a
 * NUL as elsewhere; a group name is kept with its leading '#'.
 */
#include <stdlib.h>
#include <string.h>

#define STORE_INTERNAL
#include "tickd.h"

/* A grcpt key: the mid, then the member's name. */
#define GRKEY_MAX	(MID_BYTES + NAME_USER_MAX)

/* Builds a key of one group name; -1 if it is too long or empty. */
static int
gkey_make(struct nkey *k, const char *group)
{
	if (group[0] == '\0')
		return (-1);
	return (nkey_make(k, group, NAME_GROUP_MAX, NULL, 0));
}

/* Encodes a group record. */
static void
group_enc(struct enc *e, const struct group_rec *r)
{
	enc_init(e);
	enc_u64(e, r->created);
	enc_u64(e, r->version);
	enc_u64(e, r->seq);
	enc_u64(e, r->members);
	enc_u8(e, r->flags);
	enc_str(e, r->owner, NAME_USER_MAX);
	enc_str(e, r->title, GROUP_TITLE_MAX);
}

/* Decodes a group record; -1 if it is malformed. */
static int
group_dec(const MDB_val *v, struct group_rec *r)
{
	struct dec	d;

	dec_init(&d, v);
	r->created = dec_u64(&d);
	r->version = dec_u64(&d);
	r->seq = dec_u64(&d);
	r->members = dec_u64(&d);
	r->flags = dec_u8(&d);
	dec_str(&d, r->owner, NAME_USER_MAX);
	dec_str(&d, r->title, GROUP_TITLE_MAX);
	return (dec_end(&d));
}

/* Reads a group's record. */
int
store_group_get(struct txn *txn, const char *group, struct group_rec *r)
{
	struct nkey	k;
	MDB_val		v;
	int		rc;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (gkey_make(&k, group) != 0)
		return (STORE_NOTFOUND);
	if ((rc = db_get(txn, DB_GROUPS, k.b, k.len, &v)) != STORE_OK)
		return (rc);
	if (group_dec(&v, r) != 0)
		return (txn_fail(txn, DB_GROUPS, "corrupt record"));
	return (STORE_OK);
}

/* Creates or replaces a group's record. */
int
store_group_put(struct txn *txn, const char *group, const struct group_rec *r)
{
	struct nkey	k;
	struct enc	e;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (gkey_make(&k, group) != 0)
		return (txn_fail(txn, DB_GROUPS, "bad name"));
	group_enc(&e, r);
	return (db_put(txn, DB_GROUPS, k.b, k.len, e.b, e.len, 0));
}

/* Deletes a group's record and description; members are the caller's. */
int
store_group_del(struct txn *txn, const char *group)
{
	struct nkey	k;
	int		rc;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (gkey_make(&k, group) != 0)
		return (STORE_NOTFOUND);
	rc = db_del(txn, DB_GDESC, k.b, k.len);
	if (rc != STORE_OK && rc != STORE_NOTFOUND)
		return (rc);
	return (db_del(txn, DB_GROUPS, k.b, k.len));
}

/* Walk adapter for group records. */
static int
group_walk_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	struct group_rec	r;
	char			name[NAME_GROUP_MAX + 1];

	if (name_copy(name, NAME_GROUP_MAX, k->mv_data, k->mv_size) != 0 ||
	    group_dec(v, &r) != 0)
		return (walk_corrupt(w));
	return (w->fn.group(w->arg, name, &r));
}

/* Walks every group by name. */
int
store_group_walk(struct txn *txn, int (*fn)(void *, const char *,
    const struct group_rec *), void *arg)
{
	struct walk	w = { .fn.group = fn, .arg = arg };

	return (db_walk(txn, DB_GROUPS, "", 0, NULL, 0, 0, group_walk_fn, &w));
}

/* The number of groups, from LMDB's count of entries. */
int
store_group_count(struct txn *txn, uint64_t *n)
{
	MDB_stat	st;
	int		rc;

	*n = 0;
	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (txn->store->dbi[DB_GROUPS] == DBI_NONE)
		return (STORE_OK);
	rc = mdb_stat(txn->txn, txn->store->dbi[DB_GROUPS], &st);
	if (rc != MDB_SUCCESS)
		return (txn_result(txn, rc, DB_GROUPS, "stat"));
	*n = st.ms_entries;
	return (STORE_OK);
}

/* A group's description, copied; "" when it has none. */
int
store_gdesc_get(struct txn *txn, const char *group, char **out)
{
	struct nkey	k;
	MDB_val		v;
	int		rc;

	*out = NULL;
	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (gkey_make(&k, group) != 0)
		return (STORE_NOTFOUND);
	rc = db_get(txn, DB_GDESC, k.b, k.len, &v);
	if (rc == STORE_NOTFOUND) {
		*out = xstrdup("");
		return (STORE_OK);
	}
	if (rc != STORE_OK)
		return (rc);
	if (v.mv_size < 1 || *(uint8_t *)v.mv_data != STORE_RECORD_V1 ||
	    v.mv_size - 1 > GROUP_DESC_MAX ||
	    memchr((uint8_t *)v.mv_data + 1, '\0', v.mv_size - 1) != NULL)
		return (txn_fail(txn, DB_GDESC, "corrupt record"));
	*out = xmalloc(v.mv_size);
	memcpy(*out, (uint8_t *)v.mv_data + 1, v.mv_size - 1);
	(*out)[v.mv_size - 1] = '\0';
	return (STORE_OK);
}

/* Sets a group's description; an empty one is not stored. */
int
store_gdesc_put(struct txn *txn, const char *group, const char *desc)
{
	struct nkey	 k;
	uint8_t		*b;
	size_t		 n;
	int		 rc;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (gkey_make(&k, group) != 0)
		return (txn_fail(txn, DB_GDESC, "bad name"));
	if ((n = strlen(desc)) == 0) {
		rc = db_del(txn, DB_GDESC, k.b, k.len);
		return (rc == STORE_NOTFOUND ? STORE_OK : rc);
	}
	if (n > GROUP_DESC_MAX)
		return (txn_fail(txn, DB_GDESC, "description too long"));
	b = xmalloc(n + 1);
	b[0] = STORE_RECORD_V1;
	memcpy(b + 1, desc, n);
	rc = db_put(txn, DB_GDESC, k.b, k.len, b, n + 1, 0);
	free(b);
	return (rc);
}

/* STORE_OK if the name was ever used by a group, else STORE_NOTFOUND. */
int
store_gname_get(struct txn *txn, const char *group)
{
	struct nkey	k;
	MDB_val		v;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (gkey_make(&k, group) != 0)
		return (STORE_NOTFOUND);
	return (db_get(txn, DB_GNAMES, k.b, k.len, &v));
}

/* Records that a name is used, for ever. */
int
store_gname_put(struct txn *txn, const char *group, uint64_t created)
{
	struct nkey	k;
	struct enc	e;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (gkey_make(&k, group) != 0)
		return (txn_fail(txn, DB_GNAMES, "bad name"));
	enc_init(&e);
	enc_u64(&e, created);
	return (db_put(txn, DB_GNAMES, k.b, k.len, e.b, e.len, 0));
}

/* Decodes a member record; -1 if it is malformed. */
static int
gmember_dec(const MDB_val *v, struct gmember_rec *r)
{
	struct dec	d;

	dec_init(&d, v);
	r->role = dec_u8(&d);
	r->joined = dec_u64(&d);
	r->since = dec_u64(&d);
	if (r->role > GROLE_OWNER)
		return (-1);
	return (dec_end(&d));
}

/* Reads user's membership of group. */
int
store_gmember_get(struct txn *txn, const char *group, const char *user,
    struct gmember_rec *r)
{
	struct nkey	k;
	MDB_val		v;
	int		rc;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (nkey_make(&k, group, NAME_GROUP_MAX, user, NAME_USER_MAX) != 0)
		return (STORE_NOTFOUND);
	if ((rc = db_get(txn, DB_GMEMBERS, k.b, k.len, &v)) != STORE_OK)
		return (rc);
	if (gmember_dec(&v, r) != 0)
		return (txn_fail(txn, DB_GMEMBERS, "corrupt record"));
	return (STORE_OK);
}

/* Creates or replaces a membership, and its entry in the reverse index. */
int
store_gmember_put(struct txn *txn, const char *group, const char *user,
    const struct gmember_rec *r)
{
	struct nkey	k;
	struct enc	e;
	int		rc;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (nkey_make(&k, group, NAME_GROUP_MAX, user, NAME_USER_MAX) != 0)
		return (txn_fail(txn, DB_GMEMBERS, "name too long"));
	enc_init(&e);
	enc_u8(&e, r->role);
	enc_u64(&e, r->joined);
	enc_u64(&e, r->since);
	if ((rc = db_put(txn, DB_GMEMBERS, k.b, k.len, e.b, e.len, 0)) !=
	    STORE_OK)
		return (rc);
	return (store_guser_put(txn, user, group));
}

/* Deletes a membership and its entry in the reverse index. */
int
store_gmember_del(struct txn *txn, const char *group, const char *user)
{
	struct nkey	k;
	int		rc;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (nkey_make(&k, group, NAME_GROUP_MAX, user, NAME_USER_MAX) != 0)
		return (STORE_NOTFOUND);
	if ((rc = db_del(txn, DB_GMEMBERS, k.b, k.len)) != STORE_OK)
		return (rc);
	rc = store_guser_del(txn, user, group);
	return (rc == STORE_NOTFOUND ? STORE_OK : rc);
}

/* Walk adapter for memberships: splits "group\0user". */
static int
gmember_walk_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	struct gmember_rec	 r;
	char			 group[NAME_GROUP_MAX + 1];
	char			 user[NAME_USER_MAX + 1];
	const char		*p = k->mv_data, *nul;

	nul = memchr(p, '\0', k->mv_size);
	if (nul == NULL ||
	    name_copy(group, NAME_GROUP_MAX, p, (size_t)(nul - p)) != 0 ||
	    name_copy(user, NAME_USER_MAX, nul + 1,
	    k->mv_size - (size_t)(nul - p) - 1) != 0 ||
	    gmember_dec(v, &r) != 0)
		return (walk_corrupt(w));
	return (w->fn.gmember(w->arg, group, user, &r));
}

/*
 * Walks one group's members in name order, or every membership.  The
 * walk reads in place: no allocation per member.
 */
int
store_gmember_walk(struct txn *txn, const char *group, int (*fn)(void *,
    const char *, const char *, const struct gmember_rec *), void *arg)
{
	struct walk	w = { .fn.gmember = fn, .arg = arg };
	struct nkey	k;

	if (group == NULL)
		return (db_walk(txn, DB_GMEMBERS, "", 0, NULL, 0, 0,
		    gmember_walk_fn, &w));
	if (gkey_make(&k, group) != 0)
		return (STORE_OK);
	k.b[k.len++] = '\0';
	return (db_walk(txn, DB_GMEMBERS, k.b, k.len, NULL, 0, 0,
	    gmember_walk_fn, &w));
}

/* Walk adapter for the reverse index: splits "user\0group". */
static int
guser_walk_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	char		 group[NAME_GROUP_MAX + 1];
	char		 user[NAME_USER_MAX + 1];
	const char	*p = k->mv_data, *nul;

	nul = memchr(p, '\0', k->mv_size);
	if (nul == NULL || v->mv_size != 1 ||
	    *(const uint8_t *)v->mv_data != STORE_RECORD_V1 ||
	    name_copy(user, NAME_USER_MAX, p, (size_t)(nul - p)) != 0 ||
	    name_copy(group, NAME_GROUP_MAX, nul + 1,
	    k->mv_size - (size_t)(nul - p) - 1) != 0)
		return (walk_corrupt(w));
	return (w->fn.guser(w->arg, user, group));
}

/* Walks one user's groups in name order, or the whole index. */
int
store_guser_walk(struct txn *txn, const char *user, int (*fn)(void *,
    const char *, const char *), void *arg)
{
	struct walk	w = { .fn.guser = fn, .arg = arg };
	struct nkey	k;

	if (user == NULL)
		return (db_walk(txn, DB_GUSERS, "", 0, NULL, 0, 0,
		    guser_walk_fn, &w));
	if (nkey_make(&k, user, NAME_USER_MAX, NULL, 0) != 0)
		return (STORE_OK);
	k.b[k.len++] = '\0';
	return (db_walk(txn, DB_GUSERS, k.b, k.len, NULL, 0, 0,
	    guser_walk_fn, &w));
}

/* Enters user's membership of group in the reverse index. */
int
store_guser_put(struct txn *txn, const char *user, const char *group)
{
	struct nkey	k;
	uint8_t		v = STORE_RECORD_V1;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (nkey_make(&k, user, NAME_USER_MAX, group, NAME_GROUP_MAX) != 0)
		return (txn_fail(txn, DB_GUSERS, "name too long"));
	return (db_put(txn, DB_GUSERS, k.b, k.len, &v, 1, 0));
}

/* STORE_OK if the reverse index lists group for user. */
int
store_guser_has(struct txn *txn, const char *user, const char *group)
{
	struct nkey	k;
	MDB_val		v;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (nkey_make(&k, user, NAME_USER_MAX, group, NAME_GROUP_MAX) != 0)
		return (STORE_NOTFOUND);
	return (db_get(txn, DB_GUSERS, k.b, k.len, &v));
}

/* Removes an entry of the reverse index. */
int
store_guser_del(struct txn *txn, const char *user, const char *group)
{
	struct nkey	k;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (nkey_make(&k, user, NAME_USER_MAX, group, NAME_GROUP_MAX) != 0)
		return (STORE_NOTFOUND);
	return (db_del(txn, DB_GUSERS, k.b, k.len));
}

/* Reads what a group send promised. */
int
store_gmsg_get(struct txn *txn, const struct mid *mid, struct gmsg_rec *r)
{
	uint8_t		k[MID_BYTES];
	struct dec	d;
	MDB_val		v;
	int		rc;

	mid_encode(mid, k);
	if ((rc = db_get(txn, DB_GMSGS, k, sizeof k, &v)) != STORE_OK)
		return (rc);
	dec_init(&d, &v);
	r->expect = dec_u64(&d);
	r->skipped = dec_u64(&d);
	r->receipts = dec_u8(&d);
	if (dec_end(&d) != 0)
		return (txn_fail(txn, DB_GMSGS, "corrupt record"));
	return (STORE_OK);
}

/* Records what a group send promised. */
int
store_gmsg_put(struct txn *txn, const struct mid *mid,
    const struct gmsg_rec *r)
{
	uint8_t		k[MID_BYTES];
	struct enc	e;

	mid_encode(mid, k);
	enc_init(&e);
	enc_u64(&e, r->expect);
	enc_u64(&e, r->skipped);
	enc_u8(&e, r->receipts);
	return (db_put(txn, DB_GMSGS, k, sizeof k, e.b, e.len, 0));
}

/* Walk adapter that deletes every entry it is shown. */
static int
gdrop_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	(void)w;
	(void)k;
	(void)v;
	return (STORE_WALK_DELETE);
}

/* Forgets a group message: its record and its members' receipt flags. */
int
store_gmsg_drop(struct txn *txn, const struct mid *mid)
{
	struct walk	w = { .arg = NULL };
	uint8_t		k[MID_BYTES];
	int		rc;

	mid_encode(mid, k);
	rc = db_del(txn, DB_GMSGS, k, sizeof k);
	if (rc != STORE_OK && rc != STORE_NOTFOUND)
		return (rc);
	return (db_walk(txn, DB_GRCPT, k, sizeof k, NULL, 0, 0, gdrop_fn,
	    &w));
}

/* Builds a grcpt key; -1 if the name is too long. */
static int
grkey_make(uint8_t *k, size_t *len, const struct mid *mid, const char *user)
{
	size_t	n;

	if ((n = strnlen(user, NAME_USER_MAX + 1)) > NAME_USER_MAX || n == 0)
		return (-1);
	mid_encode(mid, k);
	memcpy(k + MID_BYTES, user, n);
	*len = MID_BYTES + n;
	return (0);
}

/* The receipts queued for member user of group message mid (0: none). */
int
store_grcpt_get(struct txn *txn, const struct mid *mid, const char *user,
    uint8_t *flags)
{
	uint8_t	k[GRKEY_MAX];
	size_t	len;
	MDB_val	v;
	int	rc;

	*flags = 0;
	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (grkey_make(k, &len, mid, user) != 0)
		return (STORE_NOTFOUND);
	if ((rc = db_get(txn, DB_GRCPT, k, len, &v)) != STORE_OK)
		return (rc);
	if (v.mv_size != 2 || *(uint8_t *)v.mv_data != STORE_RECORD_V1)
		return (txn_fail(txn, DB_GRCPT, "corrupt record"));
	*flags = ((uint8_t *)v.mv_data)[1];
	return (STORE_OK);
}

/* Records the receipts queued for member user of group message mid. */
int
store_grcpt_put(struct txn *txn, const struct mid *mid, const char *user,
    uint8_t flags)
{
	uint8_t	k[GRKEY_MAX], v[2];
	size_t	len;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (grkey_make(k, &len, mid, user) != 0)
		return (txn_fail(txn, DB_GRCPT, "name too long"));
	v[0] = STORE_RECORD_V1;
	v[1] = flags;
	return (db_put(txn, DB_GRCPT, k, len, v, sizeof v, 0));
}

/* Whether user set group_add to "nobody". */
int
store_gpref_get(struct txn *txn, const char *user, int *nobody)
{
	struct nkey	k;
	MDB_val		v;
	int		rc;

	*nobody = 0;
	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (nkey_make(&k, user, NAME_USER_MAX, NULL, 0) != 0)
		return (STORE_OK);
	rc = db_get(txn, DB_GPREFS, k.b, k.len, &v);
	if (rc == STORE_NOTFOUND)
		return (STORE_OK);
	if (rc != STORE_OK)
		return (rc);
	if (v.mv_size != 2 || *(uint8_t *)v.mv_data != STORE_RECORD_V1)
		return (txn_fail(txn, DB_GPREFS, "corrupt record"));
	*nobody = ((uint8_t *)v.mv_data)[1] != 0;
	return (STORE_OK);
}

/* Sets user's group_add; the default is kept as no record at all. */
int
store_gpref_put(struct txn *txn, const char *user, int nobody)
{
	struct nkey	k;
	uint8_t		v[2];
	int		rc;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (nkey_make(&k, user, NAME_USER_MAX, NULL, 0) != 0)
		return (txn_fail(txn, DB_GPREFS, "name too long"));
	if (!nobody) {
		rc = db_del(txn, DB_GPREFS, k.b, k.len);
		return (rc == STORE_NOTFOUND ? STORE_OK : rc);
	}
	v[0] = STORE_RECORD_V1;
	v[1] = 1;
	return (db_put(txn, DB_GPREFS, k.b, k.len, v, sizeof v, 0));
}
