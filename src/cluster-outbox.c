/* SPDX-License-Identifier: ISC */
/*
 * cluster-outbox.c: a record for another node's outbox, its payload
 * built as JSON (tickd-cluster(7), Messages between nodes), as every rule
 * that sends one writes it: messages, receipts, group records and media
 * references.  In the core, so that tickctl's removals release their
 * references as the daemon's do.
 */
#include <stdlib.h>
#include <string.h>

#include "tickd.h"

/*
 * Makes the record under mid hold the references of refs while it waits
 * in the outbox: one more item of mid's media references if the message
 * has them (items of the sender's other devices), else references of its
 * own, as a queued item's (media_refs_take).
 */
static int
cout_hold(struct txn *txn, struct midgen *gen, const struct mid *mid,
    const struct media_refs *refs, uint64_t now)
{
	struct media_refs	m;
	int			rc;

	if ((rc = store_media_refs_get(txn, mid, &m)) == STORE_OK) {
		m.items++;
		return (store_media_refs_put(txn, mid, &m));
	}
	if (rc != STORE_NOTFOUND)
		return (rc);
	m = *refs;
	return (media_refs_take(txn, gen, mid, &m, 1, now));
}

/*
 * Puts an outbox record of kind for node, made at created: p (consumed)
 * as compact JSON, under mid, or a new mid from gen if mid is NULL.  A
 * message naming media passes refs: the record holds their references
 * until it leaves the outbox (cluster_cout_release), so that no media_ttl
 * runs out while the message waits for its node (tickd-cluster(7) Media
 * in messages between nodes).  A record that cannot be built fails the
 * transaction, so that no part of the change it belongs to commits
 * without it.
 */
int
cluster_cout_json(struct txn *txn, struct midgen *gen, const char *node,
    const struct mid *mid, int kind, uint64_t created, json_t *p,
    const struct media_refs *refs)
{
	struct cout_rec	 o;
	struct mid	 m;
	char		*text;
	int		 rc;

	text = p == NULL ? NULL : json_dumps(p, JSON_COMPACT);
	json_decref(p);
	if (text == NULL) {
		log_warnx("cluster: cannot build an outbox record for node %s",
		    node);
		txn->ret = STORE_ERR;
		return (STORE_ERR);
	}
	if (mid == NULL) {
		midgen_next(gen, created, &m);
		mid = &m;
	}
	o.kind = kind;
	o.holds = refs != NULL && refs->n > 0;
	o.created = created;
	o.payload = text;
	o.len = strlen(text);
	rc = store_cout_put(txn, node, mid, &o);
	free(text);
	if (rc == STORE_OK && o.holds)
		rc = cout_hold(txn, gen, mid, refs, created);
	return (rc);
}

/*
 * The record r under mid left the outbox (its node confirmed it, or it
 * failed or was forgotten): the references it held go, as a queued
 * item's do when it is acked (media_release).
 */
int
cluster_cout_release(struct txn *txn, struct midgen *gen,
    const struct mid *mid, const struct cout_rec *r, uint64_t now)
{
	if (!r->holds)
		return (STORE_OK);
	return (media_release(txn, gen, mid, now));
}

/*
 * A copy of a holding record, put under mid by a split (a gev some of whose
 * users moved), holds what the record under from holds.
 */
int
cluster_cout_hold_copy(struct txn *txn, struct midgen *gen,
    const struct mid *from, const struct mid *mid, uint64_t now)
{
	struct media_refs	m;
	int			rc;

	if ((rc = store_media_refs_get(txn, from, &m)) == STORE_NOTFOUND)
		return (STORE_OK);
	if (rc != STORE_OK)
		return (rc);
	return (media_refs_take(txn, gen, mid, &m, 1, now));
}
