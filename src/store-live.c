/* SPDX-License-Identifier: ISC */
/*
 * store-live.c: the timestamp of each queue's oldest item, kept in memory
 * as write transactions commit (store.h, store_oldest), so that a scrape
 * of tickd_queue_oldest_age_seconds walks nothing.  The non-empty queues
 * are in a min-heap keyed by the ts of their first item (a queue is in mid
 * order, so its first item is its oldest), with a hash of qid to place in
 * the heap.  A transaction notes the queues whose first item it may have
 * changed; just before it commits, each one's first item is read with a
 * cursor, and the heap takes the answers once the commit has succeeded.
 */
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>

#define STORE_INTERNAL
#include "store.h"
#include "tickd.h"

/* A non-empty queue and its first item. */
struct live_ent {
	uint64_t	ts;
	uint64_t	qid;
	struct mid	mid;
};

/* A slot of the hash: qid 0 (no queue has it) marks a free one. */
struct live_slot {
	uint64_t	qid;
	size_t		at;		/* its place in the heap */
};

struct store_live {
	struct live_ent	*heap;
	size_t		 n, cap;
	struct live_slot *slots;
	size_t		 nslots;	/* a power of two, or 0 */
};

/* What a committing transaction leaves as a queue's first item. */
struct live_change {
	int		empty;
	struct live_ent	e;		/* e.qid always set */
};

/*
 * The slot a qid's probe starts at.  Its low bits only: qids are handed
 * out in sequence, which these spread over the slots without collision.
 */
static size_t
live_home(const struct store_live *l, uint64_t qid)
{
	return ((size_t)(qid * 0x9e3779b97f4a7c15ULL) & (l->nslots - 1));
}

/* The slot holding qid, or the free slot that ends its probe. */
static struct live_slot *
live_probe(const struct store_live *l, uint64_t qid)
{
	size_t	i;

	for (i = live_home(l, qid); l->slots[i].qid != 0 &&
	    l->slots[i].qid != qid; i = (i + 1) & (l->nslots - 1))
		;
	return (&l->slots[i]);
}

/* The slot holding qid, or NULL. */
static struct live_slot *
live_find(const struct store_live *l, uint64_t qid)
{
	struct live_slot	*sl;

	if (l->nslots == 0)
		return (NULL);
	sl = live_probe(l, qid);
	return (sl->qid == qid ? sl : NULL);
}

/* Enters qid at heap place at; qid must not be in the hash yet. */
static void
live_hash_add(struct store_live *l, uint64_t qid, size_t at)
{
	struct live_slot	*old = l->slots;
	size_t			 i, nold = l->nslots;

	/* Kept at most half full, so that probes stay short. */
	if ((l->n + 1) * 2 > l->nslots) {
		l->nslots = nold == 0 ? 64 : nold * 2;
		l->slots = xcalloc(l->nslots, sizeof *l->slots);
		for (i = 0; i < nold; i++) {
			if (old[i].qid != 0)
				*live_probe(l, old[i].qid) = old[i];
		}
		free(old);
	}
	*live_probe(l, qid) = (struct live_slot){ qid, at };
}

/*
 * Frees qid's slot, moving back the slots after it in its run that would
 * otherwise no longer be found (linear probing has no tombstones).
 */
static void
live_hash_del(struct store_live *l, struct live_slot *sl)
{
	size_t	mask = l->nslots - 1, i = (size_t)(sl - l->slots), j, k;

	for (j = (i + 1) & mask; l->slots[j].qid != 0; j = (j + 1) & mask) {
		k = live_home(l, l->slots[j].qid);
		/* Move it unless its home lies cyclically in (i, j]. */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		l->slots[i] = l->slots[j];
		i = j;
	}
	l->slots[i].qid = 0;
}

/* Heap order: older first, then by qid so that ties are stable. */
static int
live_less(const struct live_ent *a, const struct live_ent *b)
{
	return (a->ts < b->ts || (a->ts == b->ts && a->qid < b->qid));
}

/* Puts e at heap place at and tells the hash. */
static void
live_place(struct store_live *l, size_t at, const struct live_ent *e)
{
	l->heap[at] = *e;
	live_find(l, e->qid)->at = at;
}

/* Restores the heap around place at, whose entry changed. */
static void
live_sift(struct store_live *l, size_t at)
{
	struct live_ent	e = l->heap[at];
	size_t		c;

	while (at > 0 && live_less(&e, &l->heap[(at - 1) / 2])) {
		live_place(l, at, &l->heap[(at - 1) / 2]);
		at = (at - 1) / 2;
	}
	for (;;) {
		c = 2 * at + 1;
		if (c >= l->n)
			break;
		if (c + 1 < l->n && live_less(&l->heap[c + 1], &l->heap[c]))
			c++;
		if (!live_less(&l->heap[c], &e))
			break;
		live_place(l, at, &l->heap[c]);
		at = c;
	}
	live_place(l, at, &e);
}

/* Enters or moves a queue's first item. */
static void
live_set(struct store_live *l, const struct live_ent *e)
{
	struct live_slot	*sl;

	if ((sl = live_find(l, e->qid)) != NULL) {
		l->heap[sl->at] = *e;
		live_sift(l, sl->at);
		return;
	}
	if (l->n == l->cap)
		l->heap = xgrow(l->heap, &l->cap, sizeof *l->heap, 256);
	live_hash_add(l, e->qid, l->n);
	l->heap[l->n++] = *e;
	live_sift(l, l->n - 1);
}

/* Takes an emptied queue out. */
static void
live_unset(struct store_live *l, uint64_t qid)
{
	struct live_slot	*sl;
	size_t			 at;

	if ((sl = live_find(l, qid)) == NULL)
		return;
	at = sl->at;
	live_hash_del(l, sl);
	if (--l->n == at)
		return;
	live_place(l, at, &l->heap[l->n]);
	live_sift(l, at);
}

/*
 * The first queue from qid on that holds an item, and that item; a first
 * item that does not decode leaves e->ts 0 with ok clear.  MDB_NOTFOUND
 * past the last queue.
 */
static int
live_first(MDB_cursor *c, uint64_t qid, struct live_ent *e, int *ok)
{
	uint8_t		 k[QKEY_BYTES];
	const uint8_t	*p;
	MDB_val		 key, val;
	int		 rc;

	qkey_make(k, qid, &mid_zero);
	key.mv_data = k;
	key.mv_size = sizeof k;
	if ((rc = mdb_cursor_get(c, &key, &val, MDB_SET_RANGE)) != MDB_SUCCESS)
		return (rc);
	*ok = 0;
	memset(e, 0, sizeof *e);
	p = key.mv_data;
	if (key.mv_size < 8)
		return (MDB_SUCCESS);
	e->qid = rid_dec(p);
	if (key.mv_size != QKEY_BYTES || val.mv_size < ITEM_HDR ||
	    ((const uint8_t *)val.mv_data)[0] != STORE_RECORD_V1)
		return (MDB_SUCCESS);
	mid_decode(p + 8, &e->mid);
	memcpy(&e->ts, (const uint8_t *)val.mv_data + 2, sizeof e->ts);
	*ok = 1;
	return (MDB_SUCCESS);
}

/*
 * Reads every queue's first item in one read transaction, once, at
 * startup: a seek per queue, not a walk of the items.
 */
int
store_oldest_start(struct store *s)
{
	struct store_live	*l;
	struct live_ent		 e;
	MDB_txn			*t;
	MDB_cursor		*c;
	uint64_t		 qid = 1;
	int			 rc, ok;

	if ((rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &t)) !=
	    MDB_SUCCESS) {
		log_warnx("store: oldest items: %s", mdb_strerror(rc));
		return (-1);
	}
	if ((rc = mdb_cursor_open(t, s->dbi[DB_QUEUES], &c)) != MDB_SUCCESS) {
		mdb_txn_abort(t);
		log_warnx("store: oldest items: %s", mdb_strerror(rc));
		return (-1);
	}
	l = xcalloc(1, sizeof *l);
	while ((rc = live_first(c, qid, &e, &ok)) == MDB_SUCCESS) {
		if (ok)
			live_set(l, &e);
		else
			log_warnx("store: queue %llu: its first item does not "
			    "decode; tickctl verify", (unsigned long long)e.qid);
		if (e.qid == UINT64_MAX || e.qid < qid)
			break;
		qid = e.qid + 1;
	}
	mdb_cursor_close(c);
	mdb_txn_abort(t);
	if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
		log_warnx("store: oldest items: %s", mdb_strerror(rc));
		live_free(l);
		return (-1);
	}
	live_free(s->live);
	s->live = l;
	return (0);
}

/* The Unix ms of the oldest queued item, 0 if none. */
int
store_oldest(struct store *s, uint64_t *ts)
{
	if (s->live == NULL)
		return (-1);
	*ts = s->live->n > 0 ? s->live->heap[0].ts : 0;
	return (0);
}

/* Frees what store_oldest_start made. */
void
live_free(struct store_live *l)
{
	if (l == NULL)
		return;
	free(l->heap);
	free(l->slots);
	free(l);
}

/*
 * An item at mid of queue qid was written or deleted in txn: unless the
 * queue's first item is known and comes before mid, it may have changed.
 */
void
live_touch(struct txn *txn, uint64_t qid, const struct mid *mid)
{
	struct store_live	*l = txn->store->live;
	struct live_slot	*sl;

	if (l == NULL)
		return;
	if ((sl = live_find(l, qid)) != NULL &&
	    mid_cmp(&l->heap[sl->at].mid, mid) < 0)
		return;
	if (txn->ntouched > 0 && txn->touched[txn->ntouched - 1] == qid)
		return;
	if (txn->ntouched == txn->touchedcap)
		txn->touched = xgrow(txn->touched, &txn->touchedcap,
		    sizeof *txn->touched, 16);
	txn->touched[txn->ntouched++] = qid;
}

/* Forgets what a transaction touched, as it ends. */
void
live_forget(struct txn *txn)
{
	free(txn->touched);
	txn->touched = NULL;
	txn->ntouched = txn->touchedcap = 0;
}

/* Orders qids for qsort. */
static int
qid_cmp(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x < y ? -1 : x > y);
}

/*
 * Just before txn commits: the first item of each queue it touched, as it
 * leaves them, in *changes (caller frees); how many.  A queue whose first
 * item cannot be read is left as the heap has it, with a warning.
 */
size_t
live_read(struct txn *txn, struct live_change **changes)
{
	struct live_change	*ch;
	MDB_cursor		*c;
	size_t			 i, n = 0;
	int			 rc, ok;

	*changes = NULL;
	if (txn->ntouched == 0)
		return (0);
	qsort(txn->touched, txn->ntouched, sizeof *txn->touched, qid_cmp);
	ch = xcalloc(txn->ntouched, sizeof *ch);
	rc = mdb_cursor_open(txn->txn, txn->store->dbi[DB_QUEUES], &c);
	if (rc != MDB_SUCCESS) {
		log_warnx("store: oldest items: %s", mdb_strerror(rc));
		free(ch);
		live_forget(txn);
		return (0);
	}
	for (i = 0; i < txn->ntouched; i++) {
		if (i > 0 && txn->touched[i] == txn->touched[i - 1])
			continue;
		ch[n].e.qid = txn->touched[i];
		rc = live_first(c, txn->touched[i], &ch[n].e, &ok);
		if (rc == MDB_NOTFOUND || (rc == MDB_SUCCESS &&
		    ch[n].e.qid != txn->touched[i])) {
			ch[n].empty = 1;
			ch[n].e.qid = txn->touched[i];
		} else if (rc != MDB_SUCCESS || !ok) {
			log_warnx("store: queue %llu: cannot read its first "
			    "item: %s", (unsigned long long)txn->touched[i],
			    rc != MDB_SUCCESS ? mdb_strerror(rc) : "corrupt");
			continue;
		}
		n++;
	}
	mdb_cursor_close(c);
	live_forget(txn);
	*changes = ch;
	return (n);
}

/* After the commit: the heap takes what live_read found, and frees it. */
void
live_apply(struct store *s, struct live_change *changes, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (changes[i].empty)
			live_unset(s->live, changes[i].e.qid);
		else
			live_set(s->live, &changes[i].e);
	}
	free(changes);
}
