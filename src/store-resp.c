/* SPDX-License-Identifier: ISC */
/*
 * store-resp.c: the records of the Redis shim (store.h): keys, the SCAN
 * index and set members, and the names too long for an LMDB key that
 * members, groups and consumers may have.  Stream entries, consumer
 * groups, their pending entries and their consumers are
 * store-resp-stream.c's.
 */
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>

#define STORE_INTERNAL
#include "store.h"
#include "tickd.h"

/*
 * The RESP shim's keyspace (store.h).  Keys of the rkeys database are the
 * Redis key behind one 'k' byte, so that the empty key is a valid LMDB key;
 * every other database is keyed by a 64-bit number (a key's rid or a
 * group's gid) big-endian, then a member, name or 16-byte id.
 */
#define RK_HDR		(1 + 1 + 8 + 8)	/* version, type, rid, expires */
#define RK_STREAM_U64S	15		/* the stream fields of rkey_rec */

/*
 * Names too long for an LMDB key (store.h): the key is the prefix, the
 * name's first bytes, a 64-bit hash of the whole name and a 16-bit
 * number that tells apart names whose prefix and hash collide; the value
 * is STORE_RECORD_LONG, the name's length (32 bits) and the name, then the
 * record as a short name has it.  Such a key is always LMDB_KEY_MAX bytes
 * long, so that a short name of that length may sit in its slot: a short
 * name's record then moves the long one to another number.
 */
#define LMDB_KEY_MAX	511
#define RLONG_HASH	8
#define RLONG_SEQ	2
#define RLONG_HDR	(1 + 4)
#define RLONG_SEQS	65536

/* A key of a prefix (a 'k', or a number) and a name, short or long. */
struct rnkey {
	uint8_t	b[LMDB_KEY_MAX];
	size_t	len;
	int	islong;
};

/* What a walk over one long name's slots found. */
struct rnfind {
	const void	*name;
	size_t		 nlen;
	int		 found;
	uint8_t		 seq[RLONG_SEQ];	/* the name's slot, if found */
	MDB_val		 rec;			/* its record, if found */
	uint32_t	 free;			/* the first free slot */
};

/* The 64-bit hash of a long name; it is on disk, so it never changes. */
static uint64_t
rname_hash(struct txn *txn, const void *p, size_t len)
{
	if (txn->store->name_hash != NULL)
		return (txn->store->name_hash(p, len));
	return (hash_bytes(HASH_INIT, p, len));
}

/*
 * Builds the key of a prefix and a name.  A long name's key is left
 * without its slot number (len is LMDB_KEY_MAX - RLONG_SEQ).
 */
static void
rnkey_make(struct txn *txn, struct rnkey *k, const void *pfx, size_t plen,
    const void *name, size_t nlen)
{
	size_t	keep;

	memcpy(k->b, pfx, plen);
	if (plen + nlen <= LMDB_KEY_MAX) {
		if (nlen != 0)
			memcpy(k->b + plen, name, nlen);
		k->len = plen + nlen;
		k->islong = 0;
		return;
	}
	keep = LMDB_KEY_MAX - plen - RLONG_HASH - RLONG_SEQ;
	memcpy(k->b + plen, name, keep);
	be64enc(k->b + plen + keep, rname_hash(txn, name, nlen));
	k->len = LMDB_KEY_MAX - RLONG_SEQ;
	k->islong = 1;
}

/* Sets a long key's slot number. */
static void
rnkey_slot(struct rnkey *k, uint32_t seq)
{
	k->b[LMDB_KEY_MAX - 2] = (uint8_t)(seq >> 8);
	k->b[LMDB_KEY_MAX - 1] = (uint8_t)seq;
	k->len = LMDB_KEY_MAX;
}

/*
 * Splits a record of a long name into the name and the record proper;
 * -1 if it is not one, or does not decode.
 */
static int
rlong_split(const MDB_val *v, const uint8_t **name, size_t *nlen,
    MDB_val *rec)
{
	const uint8_t	*p = v->mv_data;
	uint32_t	 n;

	if (v->mv_size < RLONG_HDR || p[0] != STORE_RECORD_LONG)
		return (-1);
	memcpy(&n, p + 1, 4);
	if (v->mv_size - RLONG_HDR < n)
		return (-1);
	*name = p + RLONG_HDR;
	*nlen = n;
	rec->mv_data = (void *)(p + RLONG_HDR + n);
	rec->mv_size = v->mv_size - RLONG_HDR - n;
	return (0);
}

/*
 * The name and record of an entry whose key holds plen bytes before the
 * name: the rest of the key, or a long record's own copy of its name.
 * -1 if a long record does not decode.
 */
int
rn_split(const MDB_val *k, const MDB_val *v, size_t plen,
    const uint8_t **name, size_t *nlen, MDB_val *rec)
{
	const uint8_t	*p = v->mv_data;

	if (v->mv_size > 0 && p[0] == STORE_RECORD_LONG)
		return (rlong_split(v, name, nlen, rec));
	*name = (const uint8_t *)k->mv_data + plen;
	*nlen = k->mv_size - plen;
	*rec = *v;
	return (0);
}

/* Walk adapter over the slots of one long name's prefix and hash. */
static int
rnfind_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	struct rnfind	*f = w->arg;
	const uint8_t	*kp = k->mv_data, *name;
	size_t		 nlen;
	MDB_val		 rec;
	uint32_t	 seq;

	if (k->mv_size != LMDB_KEY_MAX)
		return (STORE_WALK_NEXT);
	seq = (uint32_t)kp[LMDB_KEY_MAX - 2] << 8 | kp[LMDB_KEY_MAX - 1];
	if (seq == f->free)
		f->free++;
	if (!f->found && rlong_split(v, &name, &nlen, &rec) == 0 &&
	    nlen == f->nlen && memcmp(name, f->name, nlen) == 0) {
		f->found = 1;
		memcpy(f->seq, kp + LMDB_KEY_MAX - 2, RLONG_SEQ);
		f->rec = rec;
	}
	return (STORE_WALK_NEXT);
}

/*
 * Finds the record of a name under key k (from rnkey_make): STORE_OK with
 * the record proper in *rec and k completed, or STORE_NOTFOUND with a
 * long k set to a free slot (or the store fails if there is none).
 */
static int
rn_find(struct txn *txn, int db, struct rnkey *k, const void *name,
    size_t nlen, MDB_val *rec)
{
	struct rnfind	f = { .name = name, .nlen = nlen };
	struct walk	w = { .arg = &f };
	int		rc;

	if (!k->islong) {
		if ((rc = db_get(txn, db, k->b, k->len, rec)) != STORE_OK)
			return (rc);
		/* A long name's record in this slot is not this name's. */
		if (rec->mv_size > 0 &&
		    ((const uint8_t *)rec->mv_data)[0] == STORE_RECORD_LONG)
			return (STORE_NOTFOUND);
		return (STORE_OK);
	}
	if ((rc = db_walk(txn, db, k->b, k->len, NULL, 0, 0, rnfind_fn,
	    &w)) != STORE_OK)
		return (rc);
	if (f.found) {
		memcpy(k->b + LMDB_KEY_MAX - 2, f.seq, RLONG_SEQ);
		k->len = LMDB_KEY_MAX;
		*rec = f.rec;
		return (STORE_OK);
	}
	if (f.free >= RLONG_SEQS)
		return (txn_fail(txn, db, "too many names collide"));
	rnkey_slot(k, f.free);
	return (STORE_NOTFOUND);
}

/*
 * Before a short name's record is written to slot k: a long name's
 * record there moves to a free slot of its own.
 */
static int
rn_evict(struct txn *txn, int db, const struct rnkey *k)
{
	struct rnfind	 f = { .nlen = SIZE_MAX };
	struct walk	 w = { .arg = &f };
	struct rnkey	 lk;
	const uint8_t	*name;
	uint8_t		*copy;
	size_t		 nlen;
	MDB_val		 v, rec;
	int		 rc;

	if (k->len != LMDB_KEY_MAX)
		return (STORE_OK);
	if ((rc = db_get(txn, db, k->b, k->len, &v)) == STORE_NOTFOUND)
		return (STORE_OK);
	if (rc != STORE_OK || v.mv_size == 0 ||
	    ((const uint8_t *)v.mv_data)[0] != STORE_RECORD_LONG)
		return (rc);
	copy = xmalloc(v.mv_size);
	memcpy(copy, v.mv_data, v.mv_size);
	v.mv_data = copy;
	if (rlong_split(&v, &name, &nlen, &rec) != 0) {
		free(copy);
		return (txn_fail(txn, db, "corrupt record"));
	}
	/* Its slots, k among them, share k's bytes up to the number. */
	memcpy(lk.b, k->b, LMDB_KEY_MAX);
	lk.islong = 1;
	rc = db_walk(txn, db, lk.b, LMDB_KEY_MAX - RLONG_SEQ, NULL, 0, 0,
	    rnfind_fn, &w);
	if (rc == STORE_OK && f.free >= RLONG_SEQS)
		rc = txn_fail(txn, db, "too many names collide");
	if (rc == STORE_OK) {
		rnkey_slot(&lk, f.free);
		rc = db_put(txn, db, lk.b, lk.len, copy, v.mv_size, 0);
	}
	if (rc == STORE_OK)
		rc = db_del(txn, db, k->b, k->len);
	free(copy);
	return (rc);
}

/*
 * Makes room for the record of a name in slot k (completed by rn_find):
 * reserves len bytes of record proper, behind the name for a long one,
 * and points *out at them.
 */
static int
rn_reserve(struct txn *txn, int db, const struct rnkey *k, const void *name,
    size_t nlen, size_t len, uint8_t **out)
{
	MDB_val		 kv, val;
	uint8_t		*p;
	uint32_t	 n;
	int		 rc;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (k->islong && nlen > UINT32_MAX)
		return (txn_fail(txn, db, "name too long"));
	kv.mv_data = (void *)k->b;
	kv.mv_size = k->len;
	val.mv_data = NULL;
	val.mv_size = len + (k->islong ? RLONG_HDR + nlen : 0);
	rc = mdb_put(txn->txn, txn->store->dbi[db], &kv, &val, MDB_RESERVE);
	if (rc != MDB_SUCCESS)
		return (txn_result(txn, rc, db, "put"));
	p = val.mv_data;
	if (k->islong) {
		n = (uint32_t)nlen;
		p[0] = STORE_RECORD_LONG;
		memcpy(p + 1, &n, 4);
		memcpy(p + RLONG_HDR, name, nlen);
		p += RLONG_HDR + nlen;
	}
	*out = p;
	return (STORE_OK);
}

/*
 * Looks a name up for a write: STORE_OK (it exists) or STORE_NOTFOUND
 * with k completed to the slot to write, a short one cleared of any long
 * name's record.
 */
static int
rn_slot(struct txn *txn, int db, struct rnkey *k, const void *name,
    size_t nlen)
{
	MDB_val	rec;
	int	rc;

	rc = rn_find(txn, db, k, name, nlen, &rec);
	if (rc == STORE_NOTFOUND && !k->islong)
		rc = rn_evict(txn, db, k) == STORE_OK ? STORE_NOTFOUND :
		    txn->ret;
	return (rc);
}

/* Builds the key of number n and a name. */
static void
rkey_make(struct txn *txn, struct rnkey *k, uint64_t n, const void *p,
    size_t len)
{
	uint8_t	pfx[8];

	be64enc(pfx, n);
	rnkey_make(txn, k, pfx, sizeof pfx, p, len);
}

/* Reads the record of n and a name (a member, group or consumer). */
int
rrec_get(struct txn *txn, int db, uint64_t n, const void *p, size_t len,
    MDB_val *v)
{
	struct rnkey	k;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	rkey_make(txn, &k, n, p, len);
	return (rn_find(txn, db, &k, p, len, v));
}

/*
 * Writes the record of n and a name; with MDB_NOOVERWRITE, STORE_EXISTS
 * if there is one.
 */
int
rrec_put(struct txn *txn, int db, uint64_t n, const void *p, size_t len,
    const struct enc *e, unsigned int flags)
{
	struct rnkey	 k;
	uint8_t		*out;
	int		 rc;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	rkey_make(txn, &k, n, p, len);
	rc = rn_slot(txn, db, &k, p, len);
	if (rc == STORE_OK && (flags & MDB_NOOVERWRITE))
		return (STORE_EXISTS);
	if (rc != STORE_OK && rc != STORE_NOTFOUND)
		return (rc);
	if ((rc = rn_reserve(txn, db, &k, p, len, e->len, &out)) != STORE_OK)
		return (rc);
	memcpy(out, e->b, e->len);
	return (STORE_OK);
}

/* Deletes the record of n and a name; STORE_NOTFOUND if there is none. */
int
rrec_del(struct txn *txn, int db, uint64_t n, const void *p, size_t len)
{
	struct rnkey	k;
	MDB_val		v;
	int		rc;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	rkey_make(txn, &k, n, p, len);
	if ((rc = rn_find(txn, db, &k, p, len, &v)) != STORE_OK)
		return (rc);
	return (db_del(txn, db, k.b, k.len));
}

/* Tests make names collide with their own hash. */
void
store_set_name_hash(struct store *s, uint64_t (*fn)(const void *, size_t))
{
	s->name_hash = fn;
}

/* Hands out the next rid or gid; the first is 1 and none is reused. */
int
store_rid_next(struct txn *txn, uint64_t *rid)
{
	return (meta_next(txn, "rid", 0, rid));
}

/* Decodes a key record; a string's value points into the map. */
static int
rkey_dec(const MDB_val *v, struct rkey_rec *r)
{
	const uint8_t	*p = v->mv_data;
	uint64_t	 u[RK_STREAM_U64S];

	memset(r, 0, sizeof *r);
	if (v->mv_size < RK_HDR || p[0] != STORE_RECORD_V1)
		return (-1);
	r->type = p[1];
	memcpy(&r->rid, p + 2, 8);
	memcpy(&r->expires, p + 10, 8);
	p += RK_HDR;
	switch (r->type) {
	case RTYPE_STRING:
		r->val = p;
		r->vlen = v->mv_size - RK_HDR;
		return (0);
	case RTYPE_SET:
		if (v->mv_size != RK_HDR + 8)
			return (-1);
		memcpy(&r->card, p, 8);
		return (0);
	case RTYPE_STREAM:
		if (v->mv_size != RK_HDR + sizeof u)
			return (-1);
		memcpy(u, p, sizeof u);
		r->length = u[0];
		r->entries_added = u[1];
		r->last_id.ms = u[2];
		r->last_id.seq = u[3];
		r->first_id.ms = u[4];
		r->first_id.seq = u[5];
		r->max_deleted.ms = u[6];
		r->max_deleted.seq = u[7];
		r->tail_node = u[8];
		r->tail_count = u[9];
		r->tail_bytes = u[10];
		r->ngroups = u[11];
		r->tail_first.ms = u[12];
		r->tail_first.seq = u[13];
		r->tail_fields = u[14];
		return (0);
	}
	return (-1);
}

/* Reads the record of a key; STORE_NOTFOUND if there is none. */
int
store_rkey_get(struct txn *txn, const void *key, size_t klen,
    struct rkey_rec *r)
{
	struct rnkey	k;
	MDB_val		v;
	int		rc;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	rnkey_make(txn, &k, "k", 1, key, klen);
	if ((rc = rn_find(txn, DB_RKEYS, &k, key, klen, &v)) != STORE_OK)
		return (rc);
	if (rkey_dec(&v, r) != 0)
		return (txn_fail(txn, DB_RKEYS, "corrupt record"));
	return (STORE_OK);
}

/*
 * Creates or replaces the record of a key; isnew also enters its rid in
 * the SCAN index.  The record is written in place with MDB_RESERVE, since
 * a string may be as large as a bulk string.
 */
int
store_rkey_put(struct txn *txn, const void *key, size_t klen,
    const struct rkey_rec *r, int isnew)
{
	struct rnkey	 k;
	uint8_t		 ik[8], *p;
	uint64_t	 u[RK_STREAM_U64S];
	size_t		 len;
	int		 rc;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	rnkey_make(txn, &k, "k", 1, key, klen);
	rc = rn_slot(txn, DB_RKEYS, &k, key, klen);
	if (rc != STORE_OK && rc != STORE_NOTFOUND)
		return (rc);
	len = RK_HDR;
	if (r->type == RTYPE_STRING)
		len += r->vlen;
	else if (r->type == RTYPE_SET)
		len += 8;
	else
		len += sizeof u;
	if ((rc = rn_reserve(txn, DB_RKEYS, &k, key, klen, len, &p)) !=
	    STORE_OK)
		return (rc);
	p[0] = STORE_RECORD_V1;
	p[1] = r->type;
	memcpy(p + 2, &r->rid, 8);
	memcpy(p + 10, &r->expires, 8);
	p += RK_HDR;
	if (r->type == RTYPE_STRING) {
		if (r->vlen != 0)
			memcpy(p, r->val, r->vlen);
	} else if (r->type == RTYPE_SET)
		memcpy(p, &r->card, 8);
	else {
		u[0] = r->length;
		u[1] = r->entries_added;
		u[2] = r->last_id.ms;
		u[3] = r->last_id.seq;
		u[4] = r->first_id.ms;
		u[5] = r->first_id.seq;
		u[6] = r->max_deleted.ms;
		u[7] = r->max_deleted.seq;
		u[8] = r->tail_node;
		u[9] = r->tail_count;
		u[10] = r->tail_bytes;
		u[11] = r->ngroups;
		u[12] = r->tail_first.ms;
		u[13] = r->tail_first.seq;
		u[14] = r->tail_fields;
		memcpy(p, u, sizeof u);
	}
	if (!isnew)
		return (STORE_OK);
	be64enc(ik, r->rid);
	return (db_put(txn, DB_RIDX, ik, sizeof ik, key, klen, 0));
}

/* Deletes a key's record and its SCAN index entry, not its members. */
int
store_rkey_del(struct txn *txn, const void *key, size_t klen, uint64_t rid)
{
	struct rnkey	k;
	uint8_t		ik[8];
	MDB_val		v;
	int		rc;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	rnkey_make(txn, &k, "k", 1, key, klen);
	if ((rc = rn_find(txn, DB_RKEYS, &k, key, klen, &v)) != STORE_OK ||
	    (rc = db_del(txn, DB_RKEYS, k.b, k.len)) != STORE_OK)
		return (rc);
	be64enc(ik, rid);
	rc = db_del(txn, DB_RIDX, ik, sizeof ik);
	return (rc == STORE_NOTFOUND ? STORE_OK : rc);
}

/* Walk adapter for the SCAN index: the rid, then the key. */
static int
ridx_walk_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	struct rwalk	*rw = w->arg;

	if (k->mv_size != 8)
		return (walk_corrupt(w));
	return (rw->fn.key(rw->arg, rid_dec(k->mv_data), v->mv_data,
	    v->mv_size));
}

/* Walks the keys in rid order from rid from on; the key is in the map. */
int
store_rkey_walk(struct txn *txn, uint64_t from, int (*fn)(void *, uint64_t,
    const void *, size_t), void *arg)
{
	struct rwalk	rw = { .fn.key = fn, .arg = arg };
	struct walk	w = { .arg = &rw };
	uint8_t		seek[8];

	be64enc(seek, from);
	return (db_walk(txn, DB_RIDX, "", 0, seek, sizeof seek, 0,
	    ridx_walk_fn, &w));
}

/*
 * The key the SCAN index gives rid, pointing into the map.  The bytes are
 * not checked: whether they name a key whose record has that rid is the
 * caller's question.
 */
int
store_ridx_get(struct txn *txn, uint64_t rid, const void **key,
    size_t *klen)
{
	uint8_t	ik[8];
	MDB_val	v;
	int	rc;

	be64enc(ik, rid);
	if ((rc = db_get(txn, DB_RIDX, ik, sizeof ik, &v)) != STORE_OK)
		return (rc);
	*key = v.mv_data;
	*klen = v.mv_size;
	return (STORE_OK);
}

/* Enters a key in the SCAN index under rid, as a new key's put does. */
int
store_ridx_put(struct txn *txn, uint64_t rid, const void *key, size_t klen)
{
	uint8_t	ik[8];

	if (txn->ret != STORE_OK)
		return (txn->ret);
	be64enc(ik, rid);
	return (db_put(txn, DB_RIDX, ik, sizeof ik, key, klen, 0));
}

/* Whether a set holds a member: STORE_OK or STORE_NOTFOUND. */
int
store_rset_get(struct txn *txn, uint64_t rid, const void *m, size_t len)
{
	MDB_val	v;

	return (rrec_get(txn, DB_RSETS, rid, m, len, &v));
}

/*
 * Adds a member, whose value is an empty record (its version byte);
 * STORE_EXISTS if it was there already.
 */
int
store_rset_put(struct txn *txn, uint64_t rid, const void *m, size_t len)
{
	struct enc	e;

	enc_init(&e);
	return (rrec_put(txn, DB_RSETS, rid, m, len, &e, MDB_NOOVERWRITE));
}

/* Removes a member; STORE_NOTFOUND if it was not there. */
int
store_rset_del(struct txn *txn, uint64_t rid, const void *m, size_t len)
{
	return (rrec_del(txn, DB_RSETS, rid, m, len));
}

/* Walk adapter for set members: the key after the rid, or a long one. */
static int
rset_walk_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	struct rwalk	*rw = w->arg;
	const uint8_t	*m;
	size_t		 len;
	MDB_val		 rec;

	if (k->mv_size < 8 || rn_split(k, v, 8, &m, &len, &rec) != 0 ||
	    rec.mv_size != 1)
		return (walk_corrupt(w));
	return (rw->fn.member(rw->arg, m, len));
}

/* Walks a set's members in byte order. */
int
store_rset_walk(struct txn *txn, uint64_t rid, int (*fn)(void *,
    const void *, size_t), void *arg)
{
	struct rwalk	rw = { .fn.member = fn, .arg = arg };

	return (db_walk_num(txn, DB_RSETS, rid, NULL, rset_walk_fn, &rw));
}

/* Deletes every member of a set. */
int
store_rset_drop(struct txn *txn, uint64_t rid)
{
	return (db_walk_num(txn, DB_RSETS, rid, NULL, drop_fn, NULL));
}

/*
 * The walks of verify over every record of the RESP shim.  Unlike the
 * walks above they do not stop at a record that does not decode: verify
 * reports it, and decides whether anything owns it.
 */

/* Walk adapter for every key record: the key after its 'k'. */
static int
rkey_all_walk_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	struct walk_any	*wa = w->arg;
	const uint8_t	*p = k->mv_data, *key;
	struct rkey_rec	 r;
	size_t		 klen;
	MDB_val		 rec;

	if (p[0] != 'k' || rn_split(k, v, 1, &key, &klen, &rec) != 0 ||
	    rkey_dec(&rec, &r) != 0)
		return (wa->fn.rkey(wa->arg, p + 1, k->mv_size - 1, NULL));
	return (wa->fn.rkey(wa->arg, key, klen, &r));
}

/* Walks every key record in key order. */
int
store_rkey_walk_all(struct txn *txn, int (*fn)(void *, const void *, size_t,
    const struct rkey_rec *), void *arg)
{
	struct walk_any	wa = { .fn.rkey = fn, .arg = arg };

	return (walk_all(txn, DB_RKEYS, rkey_all_walk_fn, &wa));
}

/* Walk adapter for the whole SCAN index: the rid, then the key. */
static int
ridx_all_walk_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	struct walk_any	*wa = w->arg;

	if (k->mv_size != 8)
		return (wa->fn.ridx(wa->arg, rnum_dec(k), NULL, 0));
	return (wa->fn.ridx(wa->arg, rid_dec(k->mv_data), v->mv_data,
	    v->mv_size));
}

/* Walks the whole SCAN index in rid order. */
int
store_ridx_walk_all(struct txn *txn, int (*fn)(void *, uint64_t,
    const void *, size_t), void *arg)
{
	struct walk_any	wa = { .fn.ridx = fn, .arg = arg };

	return (walk_all(txn, DB_RIDX, ridx_all_walk_fn, &wa));
}

/* Walk adapter for every set member: the rid, then the member. */
static int
rset_all_walk_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	struct walk_any	*wa = w->arg;
	const uint8_t	*m;
	size_t		 len;
	MDB_val		 rec;

	if (k->mv_size < 8 || rn_split(k, v, 8, &m, &len, &rec) != 0 ||
	    rec.mv_size != 1 || *(const uint8_t *)rec.mv_data !=
	    STORE_RECORD_V1)
		return (wa->fn.rset(wa->arg, rnum_dec(k), NULL, 0));
	return (wa->fn.rset(wa->arg, rid_dec(k->mv_data), m, len));
}

/* Walks every member of every set, in rid then member order. */
int
store_rset_walk_all(struct txn *txn, int (*fn)(void *, uint64_t,
    const void *, size_t), void *arg)
{
	struct walk_any	wa = { .fn.rset = fn, .arg = arg };

	return (walk_all(txn, DB_RSETS, rset_all_walk_fn, &wa));
}
