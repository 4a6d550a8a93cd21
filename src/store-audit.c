/* SPDX-License-Identifier: ISC */
/*
 * store-audit.c: the audit spool's records (store.h): the events waiting
 * for PostgreSQL, the gap of those not spooled, and the last one shipped.
 */
#include <string.h>

#include <lmdb.h>

#define STORE_INTERNAL
#include "store.h"
#include "tickd.h"

/*
 * The audit spool.  Ids are time-based, (Unix ms << 20) + a sequence, and
 * never go backwards: a restored backup or a new data_dir pointed at the
 * same PostgreSQL table still hands out ids it has never seen.
 */
int
store_audit_id_next(struct txn *txn, uint64_t now, uint64_t *id)
{
	return (meta_next(txn, "audit", (now & ((1ULL << 43) - 1)) << 20, id));
}

/* Appends an event to the spool under id. */
int
store_audit_put(struct txn *txn, uint64_t id, const struct audit_rec *r)
{
	uint8_t		 k[8], *b, *p;
	uint32_t	 dlen;
	size_t		 len, n;
	int		 rc;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (r->detail_len > UINT32_MAX)
		return (txn_fail(txn, DB_AUDIT, "detail too long"));
	dlen = (uint32_t)r->detail_len;
	len = 1 + 8 + 1 + 3 * (1 + 255) + sizeof dlen + dlen;
	p = b = xmalloc(len);
	*p++ = STORE_RECORD_V1;
	memcpy(p, &r->at, 8);
	p += 8;
	*p++ = r->kind;
	n = strnlen(r->user, NAME_USER_MAX);
	*p++ = (uint8_t)n;
	memcpy(p, r->user, n);
	p += n;
	n = strnlen(r->device, NAME_DEVICE_MAX);
	*p++ = (uint8_t)n;
	memcpy(p, r->device, n);
	p += n;
	n = strnlen(r->addr, AUDIT_ADDR_MAX);
	*p++ = (uint8_t)n;
	memcpy(p, r->addr, n);
	p += n;
	memcpy(p, &dlen, sizeof dlen);
	p += sizeof dlen;
	if (dlen != 0)
		memcpy(p, r->detail, dlen);
	p += dlen;
	be64enc(k, id);
	rc = db_put(txn, DB_AUDIT, k, sizeof k, b, (size_t)(p - b), 0);
	free(b);
	return (rc);
}

/* Decodes a spooled event; detail points into the map. */
static int
audit_dec(const MDB_val *v, struct audit_rec *r)
{
	struct dec	d;
	uint32_t	dlen;

	memset(r, 0, sizeof *r);
	dec_init(&d, v);
	r->at = dec_u64(&d);
	r->kind = dec_u8(&d);
	dec_str(&d, r->user, NAME_USER_MAX);
	dec_str(&d, r->device, NAME_DEVICE_MAX);
	dec_str(&d, r->addr, AUDIT_ADDR_MAX);
	dec_bytes(&d, &dlen, sizeof dlen);
	if (d.bad || d.len - d.off != dlen)
		return (-1);
	r->detail = (const char *)d.p + d.off;
	r->detail_len = dlen;
	return (0);
}

/* Deletes a shipped event; STORE_NOTFOUND if it is not there. */
int
store_audit_del(struct txn *txn, uint64_t id)
{
	uint8_t	k[8];

	be64enc(k, id);
	return (db_del(txn, DB_AUDIT, k, sizeof k));
}

/* Walk adapter for the spool: the id, then the event. */
static int
audit_walk_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	struct audit_rec	r;

	if (k->mv_size != 8 || audit_dec(v, &r) != 0)
		return (walk_corrupt(w));
	return (w->fn.audit(w->arg, rid_dec(k->mv_data), &r));
}

/* Spooled events with an id above after, oldest first. */
int
store_audit_walk(struct txn *txn, uint64_t after, int (*fn)(void *,
    uint64_t, const struct audit_rec *), void *arg)
{
	struct walk	w = { .fn.audit = fn, .arg = arg };
	uint8_t		k[8];

	be64enc(k, after);
	return (db_walk(txn, DB_AUDIT, "", 0, k, sizeof k, 1,
	    audit_walk_fn, &w));
}

/* How many events the spool holds, as this transaction sees it. */
int
store_audit_count(struct txn *txn, uint64_t *n)
{
	MDB_stat	st;
	int		rc;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	rc = mdb_stat(txn->txn, txn->store->dbi[DB_AUDIT], &st);
	if (rc != MDB_SUCCESS)
		return (txn_result(txn, rc, DB_AUDIT, "stat"));
	*n = st.ms_entries;
	return (STORE_OK);
}

/* The events not spooled because the spool was full; NOTFOUND if none. */
int
store_audit_gap_get(struct txn *txn, struct audit_gap *g)
{
	uint64_t	v[3];
	int		rc;

	if ((rc = meta_get_u64s(txn, "audit_gap", v, 3)) != STORE_OK)
		return (rc);
	g->count = v[0];
	g->first_at = v[1];
	g->last_at = v[2];
	return (STORE_OK);
}

/* Records events not spooled. */
int
store_audit_gap_put(struct txn *txn, const struct audit_gap *g)
{
	uint64_t	v[3];

	v[0] = g->count;
	v[1] = g->first_at;
	v[2] = g->last_at;
	return (meta_put_u64s(txn, "audit_gap", v, 3));
}

/* Forgets the gap once its own event has been spooled. */
int
store_audit_gap_del(struct txn *txn)
{
	return (db_del(txn, DB_META, "audit_gap", strlen("audit_gap")));
}

/* The last event PostgreSQL confirmed: its id and time (0 0 if none). */
int
store_audit_shipped_get(struct txn *txn, uint64_t *id, uint64_t *at)
{
	uint64_t	v[2];
	int		rc;

	rc = meta_get_u64s(txn, "audit_shipped", v, 2);
	if (rc == STORE_NOTFOUND) {
		*id = *at = 0;
		return (STORE_OK);
	}
	if (rc != STORE_OK)
		return (rc);
	*id = v[0];
	*at = v[1];
	return (STORE_OK);
}

/* Records the last event PostgreSQL confirmed. */
int
store_audit_shipped_put(struct txn *txn, uint64_t id, uint64_t at)
{
	uint64_t	v[2];

	v[0] = id;
	v[1] = at;
	return (meta_put_u64s(txn, "audit_shipped", v, 2));
}

/* Walk adapter for every spooled event: the id, then the event. */
static int
audit_all_walk_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	struct walk_any		*wa = w->arg;
	struct audit_rec	 r;

	if (k->mv_size != 8 || audit_dec(v, &r) != 0)
		return (wa->fn.audit(wa->arg, rnum_dec(k), NULL));
	return (wa->fn.audit(wa->arg, rid_dec(k->mv_data), &r));
}

/* Walks the whole audit spool, oldest first. */
int
store_audit_walk_all(struct txn *txn, int (*fn)(void *, uint64_t,
    const struct audit_rec *), void *arg)
{
	struct walk_any	wa = { .fn.audit = fn, .arg = arg };

	return (walk_all(txn, DB_AUDIT, audit_all_walk_fn, &wa));
}
