/* SPDX-License-Identifier: ISC */
/*
 * store-cluster.c: what a node of a cluster keeps in its own store
 * (tickd-cluster(7)): the outbox of records for other nodes, keyed by
 * destination then mid; the dedup records of what it applied, keyed by
 * origin then the origin's mid; the directory cache, user -> home node;
 * the origin of each item it stored for a remote sender, for receipts;
 * and in meta the stream cursor, the Redis epoch and the outbox's size.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>

#define STORE_INTERNAL
#include "store.h"
#include "tickd.h"

#define NODE_MAX	CLUSTER_NODE_MAX
#define OKEY_MAX	(NODE_MAX + 1 + MID_BYTES)
#define OREC_HDR	(1 + 1 + 8)	/* version, kind, created */
#define OREC_HOLDS	0x80		/* in the kind byte: cout_rec.holds */

/* A "node\0" + 16-byte mid key; its length, or 0 if the name is bad. */
static size_t
okey_make(uint8_t *b, const char *node, const struct mid *mid)
{
	size_t	n;

	n = strnlen(node, NODE_MAX + 1);
	if (!cluster_node_name_ok(node, n))
		return (0);
	memcpy(b, node, n);
	b[n] = '\0';
	if (mid == NULL)
		return (n + 1);
	mid_encode(mid, b + n + 1);
	return (n + 1 + MID_BYTES);
}

/* Splits a "node\0" + mid key; -1 if it is not one. */
static int
okey_split(const MDB_val *k, char *node, struct mid *mid)
{
	const uint8_t	*p = k->mv_data;
	size_t		 n;

	if (k->mv_size < 2 + MID_BYTES)
		return (-1);
	n = k->mv_size - MID_BYTES - 1;
	if (p[n] != '\0' || name_copy(node, NODE_MAX, p, n) != 0)
		return (-1);
	mid_decode(p + n + 1, mid);
	return (0);
}

/* Adds d (which may be negative) to the outbox's size in meta. */
static int
cout_count_add(struct txn *txn, int64_t d)
{
	uint64_t	n = 0;
	int		rc;

	rc = meta_get_u64s(txn, "cluster_outbox", &n, 1);
	if (rc != STORE_OK && rc != STORE_NOTFOUND)
		return (rc);
	if (d < 0 && (uint64_t)-d > n)
		n = 0;
	else
		n += (uint64_t)d;
	return (meta_put_u64s(txn, "cluster_outbox", &n, 1));
}

/*
 * Adds a record for node under mid: kind and the JSON payload it will be
 * sent with.  STORE_EXISTS if mid is taken.
 */
int
store_cout_put(struct txn *txn, const char *node, const struct mid *mid,
    const struct cout_rec *r)
{
	uint8_t	 k[OKEY_MAX], *v;
	size_t	 klen, vlen;
	int	 rc;

	if ((klen = okey_make(k, node, mid)) == 0)
		return (txn_fail(txn, DB_COUT, "bad node name"));
	vlen = OREC_HDR + r->len;
	v = xmalloc(vlen);
	v[0] = STORE_RECORD_V1;
	v[1] = r->kind | (r->holds ? OREC_HOLDS : 0);
	be64enc(v + 2, r->created);
	memcpy(v + OREC_HDR, r->payload, r->len);
	rc = db_put(txn, DB_COUT, k, klen, v, vlen, MDB_NOOVERWRITE);
	free(v);
	if (rc != STORE_OK)
		return (rc);
	return (cout_count_add(txn, 1));
}

/* Decodes an outbox record; its payload points into the map. */
static int
cout_dec(const MDB_val *v, struct cout_rec *r)
{
	const uint8_t	*p = v->mv_data;

	if (v->mv_size < OREC_HDR || p[0] != STORE_RECORD_V1)
		return (-1);
	r->kind = p[1] & ~OREC_HOLDS;
	r->holds = (p[1] & OREC_HOLDS) != 0;
	r->created = rid_dec(p + 2);
	r->payload = (const char *)p + OREC_HDR;
	r->len = v->mv_size - OREC_HDR;
	return (0);
}

/* Reads the record for node under mid; STORE_NOTFOUND if there is none. */
int
store_cout_get(struct txn *txn, const char *node, const struct mid *mid,
    struct cout_rec *r)
{
	MDB_val	 v;
	uint8_t	 k[OKEY_MAX];
	size_t	 klen;
	int	 rc;

	if ((klen = okey_make(k, node, mid)) == 0)
		return (STORE_NOTFOUND);
	if ((rc = db_get(txn, DB_COUT, k, klen, &v)) != STORE_OK)
		return (rc);
	if (cout_dec(&v, r) != 0)
		return (txn_fail(txn, DB_COUT, "corrupt record"));
	return (STORE_OK);
}

/* cout_dec for db_take. */
static int
cout_take_dec(const MDB_val *v, void *r)
{
	return (cout_dec(v, r));
}

/*
 * Deletes the record for node under mid; STORE_NOTFOUND if there is none.
 * If old is not NULL, it gets the record's kind, holds and created, so
 * that a caller learns what it held without reading it first; its
 * payload, deleted with it, is NULL.
 */
int
store_cout_del(struct txn *txn, const char *node, const struct mid *mid,
    struct cout_rec *old)
{
	uint8_t		 k[OKEY_MAX];
	size_t		 klen;
	int		 rc;

	if ((klen = okey_make(k, node, mid)) == 0)
		return (STORE_NOTFOUND);
	if ((rc = db_take(txn, DB_COUT, k, klen, old != NULL ? cout_take_dec :
	    NULL, old)) != STORE_OK)
		return (rc);
	if (old != NULL) {
		old->payload = NULL;
		old->len = 0;
	}
	return (cout_count_add(txn, -1));
}

/* Walk adapter of the outbox. */
static int
cout_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	struct cout_rec	 r;
	struct mid	 mid;
	char		 node[NODE_MAX + 1];
	int		 rc;

	if (okey_split(k, node, &mid) != 0 || cout_dec(v, &r) != 0)
		return (walk_corrupt(w));
	rc = w->fn.cout(w->arg, node, &mid, &r);
	if (rc == STORE_WALK_DELETE) {
		/* The caller's count moves with the cursor's delete. */
		w->deleted++;
	}
	return (rc);
}

/*
 * Walks node's records (every node's if node is NULL) in mid order, those
 * with a mid above after if it is not NULL.  A callback may delete.
 */
int
store_cout_walk(struct txn *txn, const char *node, const struct mid *after,
    int (*fn)(void *, const char *, const struct mid *,
    const struct cout_rec *), void *arg)
{
	struct walk	w = { .arg = arg };
	uint8_t		p[OKEY_MAX], s[OKEY_MAX];
	size_t		plen = 0, slen = 0;
	int		rc;

	w.fn.cout = fn;
	if (node != NULL && (plen = okey_make(p, node, NULL)) == 0)
		return (STORE_OK);
	if (node != NULL && after != NULL)
		slen = okey_make(s, node, after);
	rc = db_walk(txn, DB_COUT, p, plen, slen ? s : NULL, slen, 1, cout_fn,
	    &w);
	if (rc == STORE_OK && w.deleted > 0)
		rc = cout_count_add(txn, -(int64_t)w.deleted);
	return (rc);
}

/* Walk callback that stops at the first record and keeps its mid. */
static int
cout_first_fn(void *arg, const char *node, const struct mid *mid,
    const struct cout_rec *r)
{
	(void)node;
	(void)r;
	*(struct mid *)arg = *mid;
	return (STORE_WALK_STOP);
}

/*
 * The lowest mid still held for node, the low-water mark its entries carry
 * (tickd-cluster(7), Messages between nodes); 0-0 when nothing is held.
 */
int
store_cout_lowest(struct txn *txn, const char *node, struct mid *lw)
{
	*lw = mid_zero;
	return (store_cout_walk(txn, node, NULL, cout_first_fn, lw));
}

/* The number of records in the outbox, all destinations. */
int
store_cout_count(struct txn *txn, uint64_t *n)
{
	int	rc;

	*n = 0;
	rc = meta_get_u64s(txn, "cluster_outbox", n, 1);
	return (rc == STORE_NOTFOUND ? STORE_OK : rc);
}

/* Whether the dedup record (origin, om) exists: STORE_OK or NOTFOUND. */
int
store_cdedup_get(struct txn *txn, const char *origin, const struct mid *om)
{
	MDB_val	 v;
	uint8_t	 k[OKEY_MAX];
	size_t	 klen;

	if ((klen = okey_make(k, origin, om)) == 0)
		return (STORE_NOTFOUND);
	return (db_get(txn, DB_CDEDUP, k, klen, &v));
}

/* Writes the dedup record (origin, om), made at ts. */
int
store_cdedup_put(struct txn *txn, const char *origin, const struct mid *om,
    uint64_t ts)
{
	struct enc	e;
	uint8_t		k[OKEY_MAX];
	size_t		klen;

	if ((klen = okey_make(k, origin, om)) == 0)
		return (txn_fail(txn, DB_CDEDUP, "bad node name"));
	enc_init(&e);
	enc_u64(&e, ts);
	return (db_put(txn, DB_CDEDUP, k, klen, e.b, e.len, 0));
}

/* Walk adapter that deletes records below the mid in w->arg. */
static int
cdedup_trim_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	struct mid	 om;
	char		 node[NODE_MAX + 1];

	(void)v;
	if (okey_split(k, node, &om) != 0)
		return (walk_corrupt(w));
	if (mid_cmp(&om, w->arg) >= 0)
		return (STORE_WALK_STOP);
	w->deleted++;
	return (STORE_WALK_DELETE);
}

/*
 * Deletes origin's dedup records below lw, the lowest om origin still
 * holds (tickd-cluster(7), Messages between nodes); *n is how many went.
 */
int
store_cdedup_trim(struct txn *txn, const char *origin, const struct mid *lw,
    uint64_t *n)
{
	struct walk	w = { .arg = (void *)lw };
	uint8_t		p[OKEY_MAX];
	size_t		plen;
	int		rc;

	*n = 0;
	if ((plen = okey_make(p, origin, NULL)) == 0)
		return (STORE_OK);
	rc = db_walk(txn, DB_CDEDUP, p, plen, NULL, 0, 0, cdedup_trim_fn, &w);
	*n = w.deleted;
	return (rc);
}

/* Walk adapter that deletes every record, counting them. */
static int
cdrop_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	(void)k;
	(void)v;
	w->deleted++;
	return (STORE_WALK_DELETE);
}

/* Deletes every dedup record of origin (tickctl cluster forget). */
int
store_cdedup_drop(struct txn *txn, const char *origin)
{
	struct walk	w = { .arg = NULL };
	uint8_t		p[OKEY_MAX];
	size_t		plen;

	if ((plen = okey_make(p, origin, NULL)) == 0)
		return (STORE_OK);
	return (db_walk(txn, DB_CDEDUP, p, plen, NULL, 0, 0, cdrop_fn, &w));
}

/* The cursor: the highest stream id applied, 0-0 if none. */
int
store_ccursor_get(struct txn *txn, struct mid *id)
{
	uint64_t	v[2];
	int		rc;

	rc = meta_get_u64s(txn, "cluster_cursor", v, 2);
	if (rc == STORE_NOTFOUND) {
		*id = mid_zero;
		return (STORE_OK);
	}
	if (rc != STORE_OK)
		return (rc);
	id->ms = v[0];
	id->seq = v[1];
	return (STORE_OK);
}

/* Sets the cursor. */
int
store_ccursor_put(struct txn *txn, const struct mid *id)
{
	uint64_t	v[2] = { id->ms, id->seq };

	return (meta_put_u64s(txn, "cluster_cursor", v, 2));
}

/* The Redis epoch this node last saw (tickd-cluster(7)); 0 if none. */
int
store_cepoch_get(struct txn *txn, uint64_t *epoch)
{
	int	rc;

	*epoch = 0;
	rc = meta_get_u64s(txn, "cluster_epoch", epoch, 1);
	return (rc == STORE_NOTFOUND ? STORE_OK : rc);
}

/* Remembers the Redis epoch. */
int
store_cepoch_put(struct txn *txn, uint64_t epoch)
{
	return (meta_put_u64s(txn, "cluster_epoch", &epoch, 1));
}

/* The cached home of user, into node; STORE_NOTFOUND if not cached. */
int
store_cdir_get(struct txn *txn, const char *user, char *node)
{
	MDB_val		v;
	struct dec	d;
	struct nkey	k;
	int		rc;

	if (nkey_make(&k, user, NAME_USER_MAX, NULL, 0) != 0)
		return (STORE_NOTFOUND);
	if ((rc = db_get(txn, DB_CDIR, k.b, k.len, &v)) != STORE_OK)
		return (rc);
	dec_init(&d, &v);
	dec_str(&d, node, NODE_MAX);
	if (dec_end(&d) != 0 || !cluster_node_name_ok(node, strlen(node)))
		return (txn_fail(txn, DB_CDIR, "corrupt record"));
	return (STORE_OK);
}

/* Caches node as the home of user. */
int
store_cdir_put(struct txn *txn, const char *user, const char *node)
{
	struct enc	e;
	struct nkey	k;

	if (nkey_make(&k, user, NAME_USER_MAX, NULL, 0) != 0 ||
	    !cluster_node_name_ok(node, strlen(node)))
		return (txn_fail(txn, DB_CDIR, "bad name"));
	enc_init(&e);
	enc_str(&e, node, NODE_MAX);
	return (db_put(txn, DB_CDIR, k.b, k.len, e.b, e.len, 0));
}

/* Forgets the cached home of user. */
int
store_cdir_del(struct txn *txn, const char *user)
{
	struct nkey	k;

	if (nkey_make(&k, user, NAME_USER_MAX, NULL, 0) != 0)
		return (STORE_NOTFOUND);
	return (db_del(txn, DB_CDIR, k.b, k.len));
}

/* Walk adapter of the directory cache. */
static int
cdir_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	struct dec	d;
	char		user[NAME_USER_MAX + 1], node[NODE_MAX + 1];

	if (name_copy(user, NAME_USER_MAX, k->mv_data, k->mv_size) != 0)
		return (walk_corrupt(w));
	dec_init(&d, v);
	dec_str(&d, node, NODE_MAX);
	if (dec_end(&d) != 0)
		return (walk_corrupt(w));
	return (w->fn.cdir(w->arg, user, node));
}

/* Walks the directory cache in name order; a callback may delete. */
int
store_cdir_walk(struct txn *txn, int (*fn)(void *, const char *,
    const char *), void *arg)
{
	struct walk	w = { .arg = arg };

	w.fn.cdir = fn;
	return (db_walk(txn, DB_CDIR, "", 0, NULL, 0, 0, cdir_fn, &w));
}

/*
 * Where an item stored for a remote sender came from, keyed by its local
 * mid: the origin node and its om, for the receipts that go back.
 */
int
store_crmsg_put(struct txn *txn, const struct mid *mid, const char *origin,
    const struct mid *om)
{
	struct enc	e;
	uint8_t		k[MID_BYTES], omb[MID_BYTES];

	mid_encode(mid, k);
	mid_encode(om, omb);
	enc_init(&e);
	enc_bytes(&e, omb, MID_BYTES);
	enc_str(&e, origin, NODE_MAX);
	return (db_put(txn, DB_CRMSG, k, sizeof k, e.b, e.len, 0));
}

/* Reads what store_crmsg_put wrote; STORE_NOTFOUND for a local item. */
int
store_crmsg_get(struct txn *txn, const struct mid *mid, char *origin,
    struct mid *om)
{
	MDB_val		v;
	struct dec	d;
	uint8_t		k[MID_BYTES], omb[MID_BYTES];
	int		rc;

	mid_encode(mid, k);
	if ((rc = db_get(txn, DB_CRMSG, k, sizeof k, &v)) != STORE_OK)
		return (rc);
	dec_init(&d, &v);
	dec_bytes(&d, omb, MID_BYTES);
	dec_str(&d, origin, NODE_MAX);
	if (dec_end(&d) != 0)
		return (txn_fail(txn, DB_CRMSG, "corrupt record"));
	mid_decode(omb, om);
	return (STORE_OK);
}

/* Forgets where the item under mid came from. */
int
store_crmsg_del(struct txn *txn, const struct mid *mid)
{
	uint8_t	k[MID_BYTES];

	mid_encode(mid, k);
	return (db_del(txn, DB_CRMSG, k, sizeof k));
}

/* The meta key of user's hold (tickd-cluster(7), Name conflicts). */
static void
cheld_key(char *key, size_t size, const char *user)
{
	snprintf(key, size, "cluster_held:%s", user);
}

/*
 * The creation time of user's account when it was held, refused logins
 * for a name conflict; STORE_NOTFOUND if it never was.
 */
int
store_cheld_get(struct txn *txn, const char *user, uint64_t *created)
{
	char	key[sizeof "cluster_held:" + NAME_USER_MAX];

	cheld_key(key, sizeof key, user);
	return (meta_get_u64s(txn, key, created, 1));
}

/* Holds user's account made at created (a Unix ms). */
int
store_cheld_put(struct txn *txn, const char *user, uint64_t created)
{
	char	key[sizeof "cluster_held:" + NAME_USER_MAX];

	cheld_key(key, sizeof key, user);
	return (meta_put_u64s(txn, key, &created, 1));
}

/* Lifts user's hold, if any. */
int
store_cheld_del(struct txn *txn, const char *user)
{
	char	key[sizeof "cluster_held:" + NAME_USER_MAX];
	int	rc;

	cheld_key(key, sizeof key, user);
	rc = db_del(txn, DB_META, key, strlen(key));
	return (rc == STORE_NOTFOUND ? STORE_OK : rc);
}

/*
 * The meta key of the reservation of a place in max_groups_per_user for
 * user, vetted for an add to group homed elsewhere (tickd-cluster(7),
 * Groups across nodes), at most CRSV_KEY_MAX bytes; with group NULL, the
 * prefix of all of user's.
 */
static void
crsv_key(char *key, size_t size, const char *user, const char *group)
{
	snprintf(key, size, "cluster_rsv:%s:%s", user, group != NULL ?
	    group : "");
}

/* Reserves a place for user in group until until (Unix ms). */
int
store_crsv_put(struct txn *txn, const char *user, const char *group,
    uint64_t until)
{
	char	key[sizeof "cluster_rsv::" + NAME_USER_MAX + CRSV_KEY_MAX];

	crsv_key(key, sizeof key, user, group);
	return (meta_put_u64s(txn, key, &until, 1));
}

/* Releases user's reservation for group, if any. */
int
store_crsv_del(struct txn *txn, const char *user, const char *group)
{
	char	key[sizeof "cluster_rsv::" + NAME_USER_MAX + CRSV_KEY_MAX];
	int	rc;

	crsv_key(key, sizeof key, user, group);
	rc = db_del(txn, DB_META, key, strlen(key));
	return (rc == STORE_NOTFOUND ? STORE_OK : rc);
}

/* What the walk of store_crsv_count carries. */
struct crsv_count {
	uint64_t	now;
	uint64_t	n;
	int		write;		/* expired ones may go */
};

/* Walk adapter of reservations: counts the live ones. */
static int
crsv_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	struct crsv_count	*c = w->arg;
	struct dec		 d;
	uint64_t		 until;

	(void)k;
	dec_init(&d, v);
	until = dec_u64(&d);
	if (dec_end(&d) != 0)
		return (walk_corrupt(w));
	if (until > c->now)
		c->n++;
	else if (c->write)
		return (STORE_WALK_DELETE);
	return (STORE_WALK_NEXT);
}

/*
 * How many places user has reserved that are still live at now; in a
 * write transaction the expired ones go.
 */
int
store_crsv_count(struct txn *txn, const char *user, uint64_t now,
    uint64_t *n)
{
	struct crsv_count	 c = { .now = now, .write = txn->write };
	struct walk		 w = { .arg = &c };
	char			 key[sizeof "cluster_rsv::" + NAME_USER_MAX];
	int			 rc;

	crsv_key(key, sizeof key, user, NULL);
	rc = db_walk(txn, DB_META, key, strlen(key), NULL, 0, 0, crsv_fn, &w);
	*n = c.n;
	return (rc);
}
