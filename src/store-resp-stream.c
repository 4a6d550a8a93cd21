/* SPDX-License-Identifier: ISC */
/*
 * store-resp-stream.c: the records of the Redis shim's streams (store.h):
 * stream entries, consumer groups, their pending entries and their
 * consumers.  Keys, the SCAN index, set members and the names too long
 * for an LMDB key that groups and consumers are keyed by are
 * store-resp.c's.
 */
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>

#define STORE_INTERNAL
#include "store.h"
#include "tickd.h"

/* A key of a number and a 16-byte id. */
struct ridkey {
	uint8_t	b[8 + MID_BYTES];
	size_t	len;
};

/* Builds rid + a 16-byte id. */
static void
rkey_id(struct ridkey *k, uint64_t n, const struct mid *id)
{
	be64enc(k->b, n);
	mid_encode(id, k->b + 8);
	k->len = 8 + MID_BYTES;
}

#define RENTRY_HDR	(1 + 1 + 8 + 4)

/*
 * A stream entry's value: version, flags (1: tombstone), node, count, then
 * count times a 32-bit length and that many bytes.  Checks that it all
 * fits.
 */
static int
rentry_dec(const MDB_val *v, struct rentry *e)
{
	const uint8_t	*p = v->mv_data;
	size_t		 off, len;
	uint32_t	 i, n;

	if (v->mv_size < RENTRY_HDR || p[0] != STORE_RECORD_V1 || p[1] > 1)
		return (-1);
	e->deleted = p[1];
	memcpy(&e->node, p + 2, 8);
	memcpy(&e->n, p + 10, 4);
	e->p = p + RENTRY_HDR;
	e->len = v->mv_size - RENTRY_HDR;
	for (i = 0, off = 0; i < e->n; i++) {
		if (e->len - off < 4)
			return (-1);
		memcpy(&n, e->p + off, 4);
		len = n;
		off += 4;
		if (e->len - off < len)
			return (-1);
		off += len;
	}
	return (off == e->len ? 0 : -1);
}

/*
 * The field or value at offset off of a decoded entry; returns the offset
 * of the next one.  Entries are checked when read, so this cannot overrun.
 */
size_t
store_rentry_item(const struct rentry *e, size_t off, const uint8_t **p,
    size_t *len)
{
	uint32_t	n;

	memcpy(&n, e->p + off, 4);
	*p = e->p + off + 4;
	*len = n;
	return (off + 4 + n);
}

/* Writes a stream entry of n fields and values under id. */
int
store_rentry_put(struct txn *txn, uint64_t rid, const struct mid *id,
    uint64_t node, const struct rbuf *fv, uint32_t n)
{
	struct ridkey	 k;
	MDB_val		 kv, val;
	uint8_t		*p;
	uint32_t	 i, len;
	size_t		 size;
	int		 rc;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	size = RENTRY_HDR;
	for (i = 0; i < n; i++) {
		if (fv[i].len > UINT32_MAX)
			return (txn_fail(txn, DB_RENTRIES, "value too long"));
		size += 4 + fv[i].len;
	}
	rkey_id(&k, rid, id);
	kv.mv_data = k.b;
	kv.mv_size = k.len;
	val.mv_data = NULL;
	val.mv_size = size;
	rc = mdb_put(txn->txn, txn->store->dbi[DB_RENTRIES], &kv, &val,
	    MDB_RESERVE);
	if (rc != MDB_SUCCESS)
		return (txn_result(txn, rc, DB_RENTRIES, "put"));
	p = val.mv_data;
	*p++ = STORE_RECORD_V1;
	*p++ = 0;
	memcpy(p, &node, 8);
	p += 8;
	memcpy(p, &n, 4);
	p += 4;
	for (i = 0; i < n; i++) {
		len = (uint32_t)fv[i].len;
		memcpy(p, &len, 4);
		p += 4;
		if (len != 0)
			memcpy(p, fv[i].p, len);
		p += len;
	}
	return (STORE_OK);
}

/* Reads one live stream entry; its fields point into the map. */
int
store_rentry_get(struct txn *txn, uint64_t rid, const struct mid *id,
    struct rentry *e)
{
	struct ridkey	k;
	MDB_val		v;
	int		rc;

	rkey_id(&k, rid, id);
	if ((rc = db_get(txn, DB_RENTRIES, k.b, k.len, &v)) != STORE_OK)
		return (rc);
	if (rentry_dec(&v, e) != 0)
		return (txn_fail(txn, DB_RENTRIES, "corrupt record"));
	return (e->deleted ? STORE_NOTFOUND : STORE_OK);
}

/* Turns a live stream entry into a tombstone (its data goes). */
int
store_rentry_del(struct txn *txn, uint64_t rid, const struct mid *id)
{
	struct ridkey	 k;
	struct rentry	 e;
	MDB_val		 v;
	uint8_t		 b[RENTRY_HDR];
	int		 rc;

	rkey_id(&k, rid, id);
	if ((rc = db_get(txn, DB_RENTRIES, k.b, k.len, &v)) != STORE_OK)
		return (rc);
	if (rentry_dec(&v, &e) != 0)
		return (txn_fail(txn, DB_RENTRIES, "corrupt record"));
	if (e.deleted)
		return (STORE_NOTFOUND);
	b[0] = STORE_RECORD_V1;
	b[1] = 1;
	memcpy(b + 2, &e.node, 8);
	memset(b + 10, 0, 4);
	return (db_put(txn, DB_RENTRIES, k.b, k.len, b, sizeof b, 0));
}

/* Removes a stream entry or tombstone for good. */
int
store_rentry_purge(struct txn *txn, uint64_t rid, const struct mid *id)
{
	struct ridkey	k;

	rkey_id(&k, rid, id);
	return (db_del(txn, DB_RENTRIES, k.b, k.len));
}

/* Walk adapter for stream entries: the id after the rid. */
static int
rentry_walk_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	struct rwalk	*rw = w->arg;
	struct rentry	 e;
	struct mid	 id;

	if (k->mv_size != 8 + MID_BYTES || rentry_dec(v, &e) != 0)
		return (walk_corrupt(w));
	if (e.deleted && !rw->tombstones)
		return (STORE_WALK_NEXT);
	mid_decode((const uint8_t *)k->mv_data + 8, &id);
	return (rw->fn.entry(rw->arg, &id, &e));
}

/*
 * Walks a stream's entries from id start (inclusive) up, or with rev down,
 * tombstones too if asked; only a forward walk may delete.
 */
int
store_rentry_walk(struct txn *txn, uint64_t rid, const struct mid *start,
    int rev, int tombstones, int (*fn)(void *, const struct mid *,
    const struct rentry *), void *arg)
{
	struct rwalk	rw = { .fn.entry = fn, .arg = arg,
			    .tombstones = tombstones };
	struct walk	w = { .arg = &rw, .rev = 1 };
	struct ridkey	k;

	if (!rev)
		return (db_walk_num(txn, DB_RENTRIES, rid, start,
		    rentry_walk_fn, &rw));
	rkey_id(&k, rid, start);
	return (db_walk(txn, DB_RENTRIES, k.b, 8, k.b, k.len, 0,
	    rentry_walk_fn, &w));
}

/* Deletes every entry of a stream. */
int
store_rentry_drop(struct txn *txn, uint64_t rid)
{
	return (db_walk_num(txn, DB_RENTRIES, rid, NULL, drop_fn, NULL));
}

/* Encodes a consumer group record. */
static void
rgroup_enc(struct enc *e, const struct rgroup_rec *r)
{
	enc_init(e);
	enc_u64(e, r->gid);
	enc_u64(e, r->last_id.ms);
	enc_u64(e, r->last_id.seq);
	enc_u64(e, (uint64_t)r->entries_read);
	enc_u64(e, r->pending);
	enc_u64(e, r->consumers);
}

/* Decodes a consumer group record; -1 if it is malformed. */
static int
rgroup_dec(const MDB_val *v, struct rgroup_rec *r)
{
	struct dec	d;

	dec_init(&d, v);
	r->gid = dec_u64(&d);
	r->last_id.ms = dec_u64(&d);
	r->last_id.seq = dec_u64(&d);
	r->entries_read = (int64_t)dec_u64(&d);
	r->pending = dec_u64(&d);
	r->consumers = dec_u64(&d);
	return (dec_end(&d));
}

/* Reads a stream's consumer group by name. */
int
store_rgroup_get(struct txn *txn, uint64_t rid, const void *name,
    size_t len, struct rgroup_rec *r)
{
	MDB_val	v;
	int	rc;

	rc = rrec_get(txn, DB_RGROUPS, rid, name, len, &v);
	if (rc == STORE_OK && rgroup_dec(&v, r) != 0)
		rc = txn_fail(txn, DB_RGROUPS, "corrupt record");
	return (rc);
}

/* Creates or replaces a consumer group. */
int
store_rgroup_put(struct txn *txn, uint64_t rid, const void *name,
    size_t len, const struct rgroup_rec *r)
{
	struct enc	e;

	rgroup_enc(&e, r);
	return (rrec_put(txn, DB_RGROUPS, rid, name, len, &e, 0));
}

/* Deletes a consumer group record, not its PEL or consumers. */
int
store_rgroup_del(struct txn *txn, uint64_t rid, const void *name,
    size_t len)
{
	return (rrec_del(txn, DB_RGROUPS, rid, name, len));
}

/* Walk adapter for groups: the name after the rid, or a long one. */
static int
rgroup_walk_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	struct rwalk		*rw = w->arg;
	struct rgroup_rec	 r;
	const uint8_t		*name;
	size_t			 len;
	MDB_val			 rec;

	if (k->mv_size < 8 || rn_split(k, v, 8, &name, &len, &rec) != 0 ||
	    rgroup_dec(&rec, &r) != 0)
		return (walk_corrupt(w));
	return (rw->fn.group(rw->arg, name, len, &r));
}

/* Walks a stream's consumer groups in name order. */
int
store_rgroup_walk(struct txn *txn, uint64_t rid, int (*fn)(void *,
    const void *, size_t, const struct rgroup_rec *), void *arg)
{
	struct rwalk	rw = { .fn.group = fn, .arg = arg };

	return (db_walk_num(txn, DB_RGROUPS, rid, NULL, rgroup_walk_fn, &rw));
}

/* Deletes every consumer group record of a stream. */
int
store_rgroup_drop(struct txn *txn, uint64_t rid)
{
	return (db_walk_num(txn, DB_RGROUPS, rid, NULL, drop_fn, NULL));
}

/* A PEL value: version, delivery time and count, then the consumer. */
static int
rpel_dec(const MDB_val *v, struct rpel_rec *r)
{
	const uint8_t	*p = v->mv_data;

	if (v->mv_size < 1 + 16 || p[0] != STORE_RECORD_V1)
		return (-1);
	memcpy(&r->delivery_time, p + 1, 8);
	memcpy(&r->delivery_count, p + 9, 8);
	r->consumer = p + 17;
	r->clen = v->mv_size - 17;
	return (0);
}

/* Reads a group's pending entry; the consumer name is in the map. */
int
store_rpel_get(struct txn *txn, uint64_t gid, const struct mid *id,
    struct rpel_rec *r)
{
	struct ridkey	k;
	MDB_val		v;
	int		rc;

	rkey_id(&k, gid, id);
	if ((rc = db_get(txn, DB_RPEL, k.b, k.len, &v)) != STORE_OK)
		return (rc);
	if (rpel_dec(&v, r) != 0)
		return (txn_fail(txn, DB_RPEL, "corrupt record"));
	return (STORE_OK);
}

/* Creates or replaces a group's pending entry. */
int
store_rpel_put(struct txn *txn, uint64_t gid, const struct mid *id,
    const struct rpel_rec *r)
{
	struct ridkey	 k;
	uint8_t		*b;
	int		 rc;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	rkey_id(&k, gid, id);
	/* The consumer may point into the map, where the put writes. */
	b = xmalloc(17 + r->clen);
	b[0] = STORE_RECORD_V1;
	memcpy(b + 1, &r->delivery_time, 8);
	memcpy(b + 9, &r->delivery_count, 8);
	if (r->clen != 0)
		memcpy(b + 17, r->consumer, r->clen);
	rc = db_put(txn, DB_RPEL, k.b, k.len, b, 17 + r->clen, 0);
	free(b);
	return (rc);
}

/* Deletes a group's pending entry; STORE_NOTFOUND if there is none. */
int
store_rpel_del(struct txn *txn, uint64_t gid, const struct mid *id)
{
	struct ridkey	k;

	rkey_id(&k, gid, id);
	return (db_del(txn, DB_RPEL, k.b, k.len));
}

/*
 * Deletes the pending entries of a group among ids (sorted; one not
 * pending, or there twice, is passed over) through one cursor, which
 * finds an id on the leaf it is on without a walk from the root: fn sees
 * each entry before it goes, its consumer still in the map.
 */
int
store_rpel_take(struct txn *txn, uint64_t gid, const struct mid *ids,
    size_t n, void (*fn)(void *, const struct mid *, const struct rpel_rec *),
    void *arg)
{
	MDB_cursor	*c;
	MDB_val		 kv, v;
	struct ridkey	 k;
	struct rpel_rec	 r;
	size_t		 i;
	int		 rc = MDB_SUCCESS;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (n == 0 || txn->store->dbi[DB_RPEL] == DBI_NONE)
		return (STORE_OK);
	rc = mdb_cursor_open(txn->txn, txn->store->dbi[DB_RPEL], &c);
	if (rc != MDB_SUCCESS)
		return (txn_result(txn, rc, DB_RPEL, "cursor"));
	for (i = 0; i < n && rc == MDB_SUCCESS; i++) {
		rkey_id(&k, gid, &ids[i]);
		kv.mv_data = k.b;
		kv.mv_size = k.len;
		if ((rc = mdb_cursor_get(c, &kv, &v, MDB_SET)) == MDB_NOTFOUND) {
			rc = MDB_SUCCESS;
			continue;
		}
		if (rc != MDB_SUCCESS)
			break;
		if (rpel_dec(&v, &r) != 0) {
			mdb_cursor_close(c);
			return (txn_fail(txn, DB_RPEL, "corrupt record"));
		}
		fn(arg, &ids[i], &r);
		rc = mdb_cursor_del(c, 0);
	}
	mdb_cursor_close(c);
	return (rc == MDB_SUCCESS ? STORE_OK : txn_result(txn, rc, DB_RPEL,
	    "take"));
}

/* Walk adapter for pending entries: the id after the gid. */
static int
rpel_walk_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	struct rwalk	*rw = w->arg;
	struct rpel_rec	 r;
	struct mid	 id;

	if (k->mv_size != 8 + MID_BYTES || rpel_dec(v, &r) != 0)
		return (walk_corrupt(w));
	mid_decode((const uint8_t *)k->mv_data + 8, &id);
	return (rw->fn.pel(rw->arg, &id, &r));
}

/* Walks a group's pending entries from id start (inclusive) up. */
int
store_rpel_walk(struct txn *txn, uint64_t gid, const struct mid *start,
    int (*fn)(void *, const struct mid *, const struct rpel_rec *),
    void *arg)
{
	struct rwalk	rw = { .fn.pel = fn, .arg = arg };

	return (db_walk_num(txn, DB_RPEL, gid, start, rpel_walk_fn, &rw));
}

/* Deletes every pending entry of a group. */
int
store_rpel_drop(struct txn *txn, uint64_t gid)
{
	return (db_walk_num(txn, DB_RPEL, gid, NULL, drop_fn, NULL));
}

/* Encodes a consumer record. */
static void
rcons_enc(struct enc *e, const struct rcons_rec *r)
{
	enc_init(e);
	enc_u64(e, r->seen_time);
	enc_u64(e, r->pending);
}

/* Decodes a consumer record; -1 if it is malformed. */
static int
rcons_dec(const MDB_val *v, struct rcons_rec *r)
{
	struct dec	d;

	dec_init(&d, v);
	r->seen_time = dec_u64(&d);
	r->pending = dec_u64(&d);
	return (dec_end(&d));
}

/* Reads a group's consumer by name. */
int
store_rcons_get(struct txn *txn, uint64_t gid, const void *name, size_t len,
    struct rcons_rec *r)
{
	MDB_val	v;
	int	rc;

	rc = rrec_get(txn, DB_RCONS, gid, name, len, &v);
	if (rc == STORE_OK && rcons_dec(&v, r) != 0)
		rc = txn_fail(txn, DB_RCONS, "corrupt record");
	return (rc);
}

/*
 * Whether a group has a consumer of that name, STORE_OK or
 * STORE_NOTFOUND, without reading its record, which may not decode.
 */
int
store_rcons_has(struct txn *txn, uint64_t gid, const void *name, size_t len)
{
	MDB_val	v;

	return (rrec_get(txn, DB_RCONS, gid, name, len, &v));
}

/* Creates or replaces a group's consumer. */
int
store_rcons_put(struct txn *txn, uint64_t gid, const void *name, size_t len,
    const struct rcons_rec *r)
{
	struct enc	e;

	rcons_enc(&e, r);
	return (rrec_put(txn, DB_RCONS, gid, name, len, &e, 0));
}

/* Deletes a group's consumer; STORE_NOTFOUND if there is none. */
int
store_rcons_del(struct txn *txn, uint64_t gid, const void *name, size_t len)
{
	return (rrec_del(txn, DB_RCONS, gid, name, len));
}

/* Walk adapter for consumers: the name after the gid, or a long one. */
static int
rcons_walk_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	struct rwalk		*rw = w->arg;
	struct rcons_rec	 r;
	const uint8_t		*name;
	size_t			 len;
	MDB_val			 rec;

	if (k->mv_size < 8 || rn_split(k, v, 8, &name, &len, &rec) != 0 ||
	    rcons_dec(&rec, &r) != 0)
		return (walk_corrupt(w));
	return (rw->fn.cons(rw->arg, name, len, &r));
}

/* Walks a group's consumers in name order. */
int
store_rcons_walk(struct txn *txn, uint64_t gid, int (*fn)(void *,
    const void *, size_t, const struct rcons_rec *), void *arg)
{
	struct rwalk	rw = { .fn.cons = fn, .arg = arg };

	return (db_walk_num(txn, DB_RCONS, gid, NULL, rcons_walk_fn, &rw));
}

/* Deletes every consumer of a group. */
int
store_rcons_drop(struct txn *txn, uint64_t gid)
{
	return (db_walk_num(txn, DB_RCONS, gid, NULL, drop_fn, NULL));
}

/*
 * The walks of verify over every stream record.  Unlike the walks above
 * they do not stop at a record that does not decode: verify reports it,
 * and decides whether anything owns it.
 */

/* Walk adapter for every stream entry, tombstones included. */
static int
rentry_all_walk_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	struct walk_any	*wa = w->arg;
	struct rentry	 e;
	struct mid	 id;

	if (k->mv_size != 8 + MID_BYTES || rentry_dec(v, &e) != 0)
		return (wa->fn.rentry(wa->arg, rnum_dec(k), NULL, NULL));
	mid_decode((const uint8_t *)k->mv_data + 8, &id);
	return (wa->fn.rentry(wa->arg, rid_dec(k->mv_data), &id, &e));
}

/* Walks every entry of every stream, in rid then id order. */
int
store_rentry_walk_all(struct txn *txn, int (*fn)(void *, uint64_t,
    const struct mid *, const struct rentry *), void *arg)
{
	struct walk_any	wa = { .fn.rentry = fn, .arg = arg };

	return (walk_all(txn, DB_RENTRIES, rentry_all_walk_fn, &wa));
}

/* Walk adapter for every consumer group: the rid, then the name. */
static int
rgroup_all_walk_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	struct walk_any		*wa = w->arg;
	struct rgroup_rec	 r;
	const uint8_t		*name;
	size_t			 len;
	MDB_val			 rec;

	if (k->mv_size < 8 || rn_split(k, v, 8, &name, &len, &rec) != 0 ||
	    rgroup_dec(&rec, &r) != 0)
		return (wa->fn.rgroup(wa->arg, rnum_dec(k), NULL, 0, NULL));
	return (wa->fn.rgroup(wa->arg, rid_dec(k->mv_data), name, len, &r));
}

/* Walks every consumer group of every stream, in rid then name order. */
int
store_rgroup_walk_all(struct txn *txn, int (*fn)(void *, uint64_t,
    const void *, size_t, const struct rgroup_rec *), void *arg)
{
	struct walk_any	wa = { .fn.rgroup = fn, .arg = arg };

	return (walk_all(txn, DB_RGROUPS, rgroup_all_walk_fn, &wa));
}

/* Walk adapter for every pending entry: the gid, then the id. */
static int
rpel_all_walk_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	struct walk_any	*wa = w->arg;
	struct rpel_rec	 r;
	struct mid	 id;

	if (k->mv_size != 8 + MID_BYTES || rpel_dec(v, &r) != 0)
		return (wa->fn.rpel(wa->arg, rnum_dec(k), NULL, NULL));
	mid_decode((const uint8_t *)k->mv_data + 8, &id);
	return (wa->fn.rpel(wa->arg, rid_dec(k->mv_data), &id, &r));
}

/* Walks the PEL of every group, in gid then id order. */
int
store_rpel_walk_all(struct txn *txn, int (*fn)(void *, uint64_t,
    const struct mid *, const struct rpel_rec *), void *arg)
{
	struct walk_any	wa = { .fn.rpel = fn, .arg = arg };

	return (walk_all(txn, DB_RPEL, rpel_all_walk_fn, &wa));
}

/* Walk adapter for every consumer: the gid, then the name. */
static int
rcons_all_walk_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	struct walk_any		*wa = w->arg;
	struct rcons_rec	 r;
	const uint8_t		*name;
	size_t			 len;
	MDB_val			 rec;

	if (k->mv_size < 8 || rn_split(k, v, 8, &name, &len, &rec) != 0 ||
	    rcons_dec(&rec, &r) != 0)
		return (wa->fn.rcons(wa->arg, rnum_dec(k), NULL, 0, NULL));
	return (wa->fn.rcons(wa->arg, rid_dec(k->mv_data), name, len, &r));
}

/* Walks every consumer of every group, in gid then name order. */
int
store_rcons_walk_all(struct txn *txn, int (*fn)(void *, uint64_t,
    const void *, size_t, const struct rcons_rec *), void *arg)
{
	struct walk_any	wa = { .fn.rcons = fn, .arg = arg };

	return (walk_all(txn, DB_RCONS, rcons_all_walk_fn, &wa));
}
