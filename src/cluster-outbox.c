/* SPDX-License-Identifier: ISC */
/*
 * cluster-outbox.c: a record for another node's outbox, its payload
 * built as JSON (tickd-cluster(7) CROSS-NODE DELIVERY), as every rule
 * that sends one writes it: messages, receipts, group records and media
 * references.  In the core, so that tickctl's removals release their
 * references as the daemon's do.
 */
#include <stdlib.h>
#include <string.h>

#include "tickd.h"

/*
 * Puts an outbox record of kind for node, made at created: p (consumed)
 * as compact JSON, under mid, or a new mid from gen if mid is NULL.  A
 * record that cannot be built fails the transaction, so that no part of
 * the change it belongs to commits without it.
 */
int
cluster_cout_json(struct txn *txn, struct midgen *gen, const char *node,
    const struct mid *mid, int kind, uint64_t created, json_t *p)
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
	o.created = created;
	o.payload = text;
	o.len = strlen(text);
	rc = store_cout_put(txn, node, mid, &o);
	free(text);
	return (rc);
}
