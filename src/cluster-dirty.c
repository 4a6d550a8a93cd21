/* SPDX-License-Identifier: ISC */
/*
 * cluster-dirty.c: the keys whose mirror Redis did not take, noted to be
 * written again from the store at a heartbeat that Redis answers.
 * cluster-media.c notes media IDs (tickd-cluster(7), Media in messages
 * between nodes) and cluster-presence.c user names (Presence across
 * nodes); each says what it does past DIRTY_MAX.
 */
#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include "tickd.h"
#include "cluster.h"

/*
 * Notes key, ds->size bytes, unless noted already or the node is
 * stopping; past DIRTY_MAX keys, sets all instead, and lets the keys go
 * unless ds->keep.
 */
void
dirtyset_add(struct dirtyset *ds, const void *key)
{
	size_t	i;

	if (ds->all || cl.stopping)
		return;
	for (i = 0; i < ds->n; i++) {
		if (memcmp(dirtyset_key(ds, i), key, ds->size) == 0)
			return;
	}
	if (ds->n == DIRTY_MAX) {
		ds->all = 1;
		if (!ds->keep)
			ds->n = 0;
		return;
	}
	if (ds->n == ds->cap)
		ds->v = xgrow(ds->v, &ds->cap, ds->size, 16);
	memcpy(ds->v + ds->n++ * ds->size, key, ds->size);
}

/* The ith key noted in ds. */
const void *
dirtyset_key(const struct dirtyset *ds, size_t i)
{
	return (ds->v + i * ds->size);
}

/*
 * Moves what ds holds to out and leaves ds empty, for a flush whose
 * writes may note keys again: they go to ds, a set of their own.
 */
void
dirtyset_take(struct dirtyset *ds, struct dirtyset *out)
{
	*out = *ds;
	ds->v = NULL;
	ds->n = ds->cap = 0;
	ds->all = 0;
}

/* Forgets the first n keys of ds, written. */
void
dirtyset_drop(struct dirtyset *ds, size_t n)
{
	memmove(ds->v, ds->v + n * ds->size, (ds->n - n) * ds->size);
	ds->n -= n;
}

/* Frees what ds holds and leaves it empty. */
void
dirtyset_clear(struct dirtyset *ds)
{
	struct dirtyset	t;

	dirtyset_take(ds, &t);
	free(t.v);
}
