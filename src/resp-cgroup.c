/* SPDX-License-Identifier: ISC */
/*
 * resp-cgroup.c: the RESP shim's consumer groups, after redis-server
 * 7.0's t_stream.c (tickd-resp(7)): XGROUP, the serving of XREADGROUP,
 * the pending entries of XACK, XPENDING, XCLAIM and XAUTOCLAIM, and XINFO,
 * whose STREAM shows a stream with its groups.  A group, its consumers and
 * its pending entries are records of the store (store.h).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tickd.h"

static int	delconsumer(struct rclient *, struct txn *, struct rstream *,
		    struct rgroup_rec *, const struct rarg *,
		    const struct rarg *);

/* ---------------------------------------------------------- groups */

/* Redis's streamRangeHasTombstones() from start to the end. */
static int
has_tombstones(const struct rkey_rec *r, const struct mid *start)
{
	if (r->length == 0 || mid_iszero(&r->max_deleted))
		return (0);
	if (mid_cmp(&r->first_id, &r->max_deleted) > 0)
		return (0);
	return (mid_cmp(start, &r->max_deleted) <= 0);
}

/*
 * Redis 7.0's streamEstimateDistanceFromFirstEverEntry(): the logical
 * read counter of id, or -1 when it cannot be known.
 */
static int64_t
estimate_read(const struct rkey_rec *r, const struct mid *id)
{
	int	cmp_last, cmp_first;

	if (r->entries_added == 0)
		return (0);
	if (r->length == 0 && mid_cmp(id, &r->last_id) < 1)
		return ((int64_t)r->entries_added);
	cmp_last = mid_cmp(id, &r->last_id);
	if (cmp_last == 0)
		return ((int64_t)r->entries_added);
	if (cmp_last > 0)
		return (-1);
	cmp_first = mid_cmp(id, &r->first_id);
	if (mid_iszero(&r->max_deleted) ||
	    mid_cmp(&r->max_deleted, &r->first_id) < 0) {
		if (cmp_first < 0)
			return ((int64_t)(r->entries_added - r->length));
		if (cmp_first == 0)
			return ((int64_t)(r->entries_added - r->length + 1));
	}
	return (-1);
}

/* A group of s by name: 0 found, 1 not, or a store error. */
int
resp_cgroup_get(struct txn *txn, const struct rstream *s,
    const struct rarg *name, struct rgroup_rec *g)
{
	int	ret;

	if (!s->found)
		return (1);
	ret = store_rgroup_get(txn, s->r.rid, name->p, name->len, g);
	if (ret == STORE_NOTFOUND)
		return (1);
	return (ret);
}

/*
 * The stream at argv[1] and its group argv[2], as XPENDING and the XCLAIMs
 * take them: the transaction, or NULL after replying an error (NOGROUP if
 * either is missing).
 */
static struct txn *
stream_group_open(struct rclient *rc, struct rarg *argv, int write,
    struct rstream *s, struct rgroup_rec *g)
{
	struct txn	*txn;
	int		 ret;

	if ((txn = resp_stream_open(rc, &argv[1], write, s)) == NULL)
		return (NULL);
	if ((ret = resp_cgroup_get(txn, s, &argv[2], g)) != 0) {
		if (ret < 0)
			resp_add_store_error(rc, ret);
		else
			resp_add_errorf(rc, "-NOGROUP No such key '%s' or "
			    "consumer group '%s'", argv[1].p, argv[2].p);
		return (NULL);
	}
	return (txn);
}

/*
 * A consumer, created if it is not there (creating counts it in the
 * group); seen time is now either way unless norefresh.
 */
int
resp_cgroup_consumer(struct txn *txn, struct rgroup_rec *g,
    const struct rarg *name, struct rcons_rec *c, int norefresh, int *created)
{
	int	ret;

	*created = 0;
	ret = store_rcons_get(txn, g->gid, name->p, name->len, c);
	if (ret == STORE_NOTFOUND) {
		memset(c, 0, sizeof *c);
		c->seen_time = now_ms();
		g->consumers++;
		*created = 1;
		return (store_rcons_put(txn, g->gid, name->p, name->len, c));
	}
	if (ret != STORE_OK || norefresh)
		return (ret);
	c->seen_time = now_ms();
	return (store_rcons_put(txn, g->gid, name->p, name->len, c));
}

/* Adds delta to the pending count of a consumer by name. */
static int
consumer_pending(struct txn *txn, uint64_t gid, const void *name,
    size_t len, int delta)
{
	struct rcons_rec	c;
	int			ret;

	if ((ret = store_rcons_get(txn, gid, name, len, &c)) != STORE_OK)
		return (ret == STORE_NOTFOUND ? STORE_OK : ret);
	if (delta < 0 && c.pending == 0)
		return (STORE_OK);
	c.pending += (uint64_t)(int64_t)delta;
	return (store_rcons_put(txn, gid, name, len, &c));
}

/*
 * Gives pending entry id to consumer cname (Redis's NACK bookkeeping):
 * the old owner, if another, loses it.  p is the entry as it is, or NULL
 * if there is none yet (then the group counts one more).
 */
static int
pel_assign(struct txn *txn, struct rgroup_rec *g, const struct mid *id,
    const struct rpel_rec *p, const struct rarg *cname, uint64_t time,
    uint64_t count)
{
	struct rpel_rec	n;
	int		ret = STORE_OK;

	if (p == NULL)
		g->pending++;
	if (p == NULL || p->clen != cname->len ||
	    memcmp(p->consumer, cname->p, cname->len) != 0) {
		if (p != NULL)
			ret = consumer_pending(txn, g->gid, p->consumer,
			    p->clen, -1);
		if (ret == STORE_OK)
			ret = consumer_pending(txn, g->gid, cname->p,
			    cname->len, 1);
		if (ret != STORE_OK)
			return (ret);
	}
	n.delivery_time = time;
	n.delivery_count = count;
	n.consumer = (const uint8_t *)cname->p;
	n.clen = cname->len;
	return (store_rpel_put(txn, g->gid, id, &n));
}

/* Removes pending entry id (p, as it is) from the group and its owner. */
static int
pel_remove(struct txn *txn, struct rgroup_rec *g, const struct mid *id,
    const struct rpel_rec *p)
{
	char	*name;
	size_t	 len = p->clen;
	int	 ret;

	name = xmalloc(len + 1);
	memcpy(name, p->consumer, len);	/* p points into the map */
	if ((ret = store_rpel_del(txn, g->gid, id)) == STORE_OK) {
		if (g->pending > 0)
			g->pending--;
		ret = consumer_pending(txn, g->gid, name, len, -1);
	}
	free(name);
	return (ret);
}

/* How long ago a pending entry was delivered; 0 if the clock went back. */
static uint64_t
pel_idle(const struct rpel_rec *p, uint64_t now)
{
	return (now > p->delivery_time ? now - p->delivery_time : 0);
}

/* An ENTRIESREAD argument: a read counter, or -1 for none. */
static int
parse_entries_read(struct rclient *rc, const struct rarg *a,
    long long *entries_read)
{
	if (resp_arg_ll(rc, a, entries_read, NULL) != 0)
		return (-1);
	if (*entries_read < -1) {
		resp_add_errorf(rc, "value for ENTRIESREAD must be positive "
		    "or -1");
		return (-1);
	}
	return (0);
}

/* XGROUP CREATE|SETID|DESTROY|CREATECONSUMER|DELCONSUMER */
void
resp_cgroup_xgroup(struct rclient *rc, int argc, struct rarg *argv)
{
	struct rstream		 s;
	struct rgroup_rec	 g;
	struct rcons_rec	 c;
	struct txn		*txn;
	const char		*op = argv[1].p;
	struct mid		 id;
	long long		 entries_read = -1;
	int			 i, mkstream = 0, ret, gret, created;

	if (argc >= 6 && strcasecmp(op, "create") == 0) {
		for (i = 5; i < argc; i++) {
			if (resp_arg_is(&argv[i], "mkstream"))
				mkstream = 1;
			else if (resp_arg_is(&argv[i], "entriesread") &&
			    i + 1 < argc) {
				if (parse_entries_read(rc, &argv[i + 1],
				    &entries_read) != 0)
					return;
				i++;
			} else
				goto syntax;
		}
	}
	if ((txn = resp_stream_open(rc, &argv[2], 1, &s)) == NULL)
		return;
	if (!s.found && !mkstream) {
		resp_add_errorf(rc, "The XGROUP subcommand requires the key to "
		    "exist. Note that for CREATE you may want to use the "
		    "MKSTREAM option to create an empty stream automatically.");
		return;
	}
	if ((gret = resp_cgroup_get(txn, &s, &argv[3], &g)) < 0) {
		resp_add_store_error(rc, gret);
		return;
	}
	if (gret == 1 && strcasecmp(op, "create") != 0 &&
	    strcasecmp(op, "destroy") != 0) {
		resp_add_errorf(rc, "-NOGROUP No such consumer group '%s' for "
		    "key name '%s'", argv[3].p, argv[2].p);
		return;
	}
	ret = STORE_OK;
	if (strcasecmp(op, "create") == 0 && argc <= 8) {
		if (strcmp(argv[4].p, "$") == 0)
			id = s.found ? s.r.last_id : mid_zero;
		else if (resp_stream_id_reply(rc, &argv[4], &id, 0, 1) != 0)
			return;
		if (!s.found && (ret = resp_stream_create(txn, &s)) == STORE_OK)
			ret = resp_stream_put(txn, &s);
		if (ret == STORE_OK && gret == 0) {
			resp_add_errorf(rc, "-BUSYGROUP Consumer Group name "
			    "already exists");
			return;
		}
		memset(&g, 0, sizeof g);
		g.last_id = id;
		g.entries_read = entries_read;
		if (ret == STORE_OK)
			ret = store_rid_next(txn, &g.gid);
		if (ret == STORE_OK)
			ret = store_rgroup_put(txn, s.r.rid, argv[3].p,
			    argv[3].len, &g);
		if (ret == STORE_OK) {
			s.r.ngroups++;
			s.dirty = 1;
			ret = resp_stream_put(txn, &s);
		}
		if (ret == STORE_OK)
			resp_add_ok(rc);
	} else if (strcasecmp(op, "setid") == 0 && (argc == 5 || argc == 7)) {
		if (strcmp(argv[4].p, "$") == 0)
			id = s.r.last_id;
		else if (resp_stream_id_reply(rc, &argv[4], &id, 0, 0) != 0)
			return;
		if (argc == 7) {
			if (!resp_arg_is(&argv[5], "entriesread"))
				goto syntax;
			if (parse_entries_read(rc, &argv[6],
			    &entries_read) != 0)
				return;
		}
		g.last_id = id;
		g.entries_read = entries_read;
		if ((ret = store_rgroup_put(txn, s.r.rid, argv[3].p,
		    argv[3].len, &g)) == STORE_OK)
			resp_add_ok(rc);
	} else if (strcasecmp(op, "destroy") == 0 && argc == 4) {
		if (gret == 1) {
			resp_add_int(rc, 0);
			return;
		}
		if ((ret = store_rpel_drop(txn, g.gid)) == STORE_OK &&
		    (ret = store_rcons_drop(txn, g.gid)) == STORE_OK &&
		    (ret = store_rgroup_del(txn, s.r.rid, argv[3].p,
		    argv[3].len)) == STORE_OK) {
			s.r.ngroups--;
			s.dirty = 1;
			ret = resp_stream_put(txn, &s);
		}
		if (ret == STORE_OK) {
			resp_add_int(rc, 1);
			/* Parked XREADGROUPs of the group get NOGROUP. */
			resp_key_touched(argv[2].p, argv[2].len);
		}
	} else if (strcasecmp(op, "createconsumer") == 0 && argc == 5) {
		ret = store_rcons_get(txn, g.gid, argv[4].p, argv[4].len, &c);
		if (ret == STORE_OK) {
			resp_add_int(rc, 0);
			return;
		}
		if (ret == STORE_NOTFOUND &&
		    (ret = resp_cgroup_consumer(txn, &g, &argv[4], &c, 0,
		    &created)) == STORE_OK && (ret = store_rgroup_put(txn,
		    s.r.rid, argv[3].p, argv[3].len, &g)) == STORE_OK)
			resp_add_int(rc, 1);
	} else if (strcasecmp(op, "delconsumer") == 0 && argc == 5) {
		ret = delconsumer(rc, txn, &s, &g, &argv[3], &argv[4]);
	} else
		goto syntax;
	if (ret != STORE_OK)
		resp_add_store_error(rc, ret);
	return;
syntax:
	resp_add_errorf(rc, "unknown subcommand or wrong number of arguments "
	    "for '%.128s'. Try XGROUP HELP.", argv[1].p);
}

/* A PEL walk that collects entries, of one consumer if name is set. */
struct pel_walk {
	const char	*name;
	size_t		 len;
	int		 filter;
	struct mid	 end;
	long long	 count;		/* 0: all */
	uint64_t	 minidle, now;
	struct mid	*ids;
	size_t		 n, cap;
	struct mid	 next;		/* the entry after the last kept */
	int		 more;
};

/* Starts a PEL walk up to end, of consumer cname's entries if not NULL. */
static void
pel_walk_init(struct pel_walk *pw, const struct rarg *cname,
    const struct mid *end)
{
	memset(pw, 0, sizeof *pw);
	if (cname != NULL) {
		pw->name = cname->p;
		pw->len = cname->len;
		pw->filter = 1;
	}
	pw->end = *end;
}

/* PEL walk callback: keeps matching entries up to end and count. */
static int
pel_collect_fn(void *arg, const struct mid *id, const struct rpel_rec *p)
{
	struct pel_walk	*pw = arg;

	if (mid_cmp(id, &pw->end) > 0)
		return (STORE_WALK_STOP);
	if (pw->filter && (p->clen != pw->len ||
	    memcmp(p->consumer, pw->name, pw->len) != 0))
		return (STORE_WALK_NEXT);
	if (pw->minidle != 0 && pel_idle(p, pw->now) < pw->minidle)
		return (STORE_WALK_NEXT);
	if (pw->count != 0 && (long long)pw->n == pw->count) {
		pw->next = *id;
		pw->more = 1;
		return (STORE_WALK_STOP);
	}
	resp_stream_ids_add(&pw->ids, &pw->n, &pw->cap, id);
	return (STORE_WALK_NEXT);
}

/* XGROUP DELCONSUMER: the consumer and its pending entries go. */
static int
delconsumer(struct rclient *rc, struct txn *txn, struct rstream *s,
    struct rgroup_rec *g, const struct rarg *gname, const struct rarg *cname)
{
	struct rcons_rec	c;
	struct pel_walk		pw;
	size_t			i;
	int			ret;

	ret = store_rcons_get(txn, g->gid, cname->p, cname->len, &c);
	if (ret == STORE_NOTFOUND) {
		resp_add_int(rc, 0);
		return (STORE_OK);
	}
	if (ret != STORE_OK)
		return (ret);
	pel_walk_init(&pw, cname, &mid_max);
	ret = store_rpel_walk(txn, g->gid, &mid_zero, pel_collect_fn, &pw);
	for (i = 0; ret == STORE_OK && i < pw.n; i++) {
		if ((ret = store_rpel_del(txn, g->gid, &pw.ids[i])) ==
		    STORE_OK && g->pending > 0)
			g->pending--;
	}
	free(pw.ids);
	if (ret == STORE_OK &&
	    (ret = store_rcons_del(txn, g->gid, cname->p, cname->len)) ==
	    STORE_OK) {
		if (g->consumers > 0)
			g->consumers--;
		ret = store_rgroup_put(txn, s->r.rid, gname->p, gname->len, g);
	}
	if (ret == STORE_OK)
		resp_add_int(rc, (long long)pw.n);
	return (ret);
}

/* ---------------------------------------------------------- XREADGROUP */

/* Entry walk callback: collects ids after emitting (for group reads). */
struct served {
	struct rstream_emit	 em;
	struct mid	*ids;
	size_t		 n, cap;
};

/* Entry walk callback: replies an entry and keeps its id. */
static int
served_fn(void *arg, const struct mid *id, const struct rentry *e)
{
	struct served	*sv = arg;

	resp_stream_ids_add(&sv->ids, &sv->n, &sv->cap, id);
	return (resp_stream_emit_fn(&sv->em, id, e));
}

/*
 * Serves new entries of s to consumer cname of group g (XREADGROUP ">"):
 * replies them, moves the group's last id and read counter as Redis does,
 * and unless noack puts them in the PEL.
 */
int
resp_cgroup_serve_new(struct rclient *rc, struct txn *txn, struct rstream *s,
    struct rgroup_rec *g, const struct rstream_read *x)
{
	struct served	 sv;
	struct rpel_rec	 p;
	struct evbuffer	*saved;
	struct mid	 start = g->last_id;
	uint64_t	 now = now_ms();
	size_t		 i;
	int		 ret;

	memset(&sv, 0, sizeof sv);
	sv.em.rc = rc;
	sv.em.end = mid_max;
	sv.em.count = x->count;
	mid_incr(&start);
	saved = resp_nest(rc);
	ret = store_rentry_walk(txn, s->r.rid, &start, 0, 0, served_fn, &sv);
	resp_nest_end(rc, saved, '*', (long long)sv.n);
	for (i = 0; ret == STORE_OK && i < sv.n; i++) {
		if (mid_cmp(&sv.ids[i], &g->last_id) > 0) {
			if (g->entries_read != -1 &&
			    !has_tombstones(&s->r, &sv.ids[i]))
				g->entries_read++;
			else if (s->r.entries_added != 0)
				g->entries_read = estimate_read(&s->r,
				    &sv.ids[i]);
			g->last_id = sv.ids[i];
		}
		if (x->noack)
			continue;
		ret = store_rpel_get(txn, g->gid, &sv.ids[i], &p);
		if (ret == STORE_OK)
			ret = pel_assign(txn, g, &sv.ids[i], &p, x->cname, now,
			    1);
		else if (ret == STORE_NOTFOUND)
			ret = pel_assign(txn, g, &sv.ids[i], NULL, x->cname,
			    now, 1);
	}
	free(sv.ids);
	return (ret);
}

/*
 * Serves a consumer's own pending entries from start (XREADGROUP with an
 * id): each is delivered once more; one deleted from the stream since
 * comes as [id, nil].
 */
int
resp_cgroup_serve_history(struct rclient *rc, struct txn *txn,
    struct rstream *s, struct rgroup_rec *g, const struct rstream_read *x,
    const struct mid *start)
{
	struct pel_walk	 pw;
	struct rpel_rec	 p;
	struct rentry	 e;
	struct rpel_rec	 n;
	struct mid	 from;
	size_t		 i;
	int		 ret;

	pel_walk_init(&pw, x->cname, &mid_max);
	pw.count = x->count;
	/* Like every XREAD id, this one is exclusive. */
	from = *start;
	if (mid_incr(&from) != 0) {
		resp_add_array(rc, 0);
		return (STORE_OK);
	}
	ret = store_rpel_walk(txn, g->gid, &from, pel_collect_fn, &pw);
	resp_add_array(rc, (long long)pw.n);
	for (i = 0; ret == STORE_OK && i < pw.n; i++) {
		ret = store_rentry_get(txn, s->r.rid, &pw.ids[i], &e);
		if (ret == STORE_NOTFOUND) {
			resp_add_array(rc, 2);
			resp_add_mid(rc, &pw.ids[i]);
			resp_add_null_array(rc);
			ret = STORE_OK;
			continue;
		}
		if (ret != STORE_OK)
			break;
		resp_stream_add_entry(rc, &pw.ids[i], &e);
		if ((ret = store_rpel_get(txn, g->gid, &pw.ids[i], &p)) !=
		    STORE_OK)
			break;
		n = p;
		n.delivery_time = now_ms();
		n.delivery_count = p.delivery_count + 1;
		ret = store_rpel_put(txn, g->gid, &pw.ids[i], &n);
	}
	free(pw.ids);
	return (ret);
}

/* ---------------------------------------------------------- PEL */

/* The consumers XACK takes pending entries from, and how many of each. */
struct xack_take {
	struct txn	*txn;
	uint64_t	 gid;
	struct {
		char	*name;
		size_t	 len;
		uint64_t n;
	}		*v;
	size_t		 n, cap;
	long long	 acked;
	int		 ret;
};

/* Most consumers XACK counts before it writes their counts out. */
#define XACK_CONSUMERS	32

/*
 * Writes out the counts of the consumers of xt: each consumer record once
 * a command, not once an id.
 */
static void
xack_take_flush(struct xack_take *xt)
{
	struct rcons_rec	c;
	size_t			i;
	int			ret;

	for (i = 0; i < xt->n; i++) {
		ret = store_rcons_get(xt->txn, xt->gid, xt->v[i].name,
		    xt->v[i].len, &c);
		if (ret == STORE_OK && c.pending != 0) {
			c.pending = c.pending > xt->v[i].n ?
			    c.pending - xt->v[i].n : 0;
			ret = store_rcons_put(xt->txn, xt->gid, xt->v[i].name,
			    xt->v[i].len, &c);
		}
		if (ret != STORE_OK && ret != STORE_NOTFOUND &&
		    xt->ret == STORE_OK)
			xt->ret = ret;
		free(xt->v[i].name);
	}
	xt->n = 0;
}

/* store_rpel_take() callback: counts the entry against its consumer. */
static void
xack_take_fn(void *arg, const struct mid *id, const struct rpel_rec *p)
{
	struct xack_take	*xt = arg;
	char			*name;
	size_t			 i;

	(void)id;
	xt->acked++;
	for (i = xt->n; i > 0; i--) {
		if (xt->v[i - 1].len == p->clen &&
		    memcmp(xt->v[i - 1].name, p->consumer, p->clen) == 0) {
			xt->v[i - 1].n++;
			return;
		}
	}
	/* The consumer is in the map, which the writes may change. */
	name = xmalloc(p->clen + 1);
	memcpy(name, p->consumer, p->clen);
	if (xt->n == XACK_CONSUMERS)
		xack_take_flush(xt);
	if (xt->n == xt->cap)
		xt->v = xgrow(xt->v, &xt->cap, sizeof *xt->v, 4);
	xt->v[xt->n].name = name;
	xt->v[xt->n].len = p->clen;
	xt->v[xt->n].n = 1;
	xt->n++;
}

/* Orders ids for qsort(). */
static int
mid_qcmp(const void *a, const void *b)
{
	return (mid_cmp(a, b));
}

/*
 * The stream at argv[1] and its group argv[2] for XACK: 0 found, 1 if
 * either is missing (nothing to ack), -1 after replying an error.
 */
static int
xack_group(struct rclient *rc, struct txn *txn, struct rarg *argv,
    struct rstream *s, struct rgroup_rec *g)
{
	int	ret;

	if (resp_stream_get(rc, txn, &argv[1], s) != 0)
		return (-1);
	if ((ret = resp_cgroup_get(txn, s, &argv[2], g)) < 0) {
		resp_add_store_error(rc, ret);
		return (-1);
	}
	return (ret);
}

/*
 * Whether any of ids is pending in g: 1, 0, or a store error (negative)
 * after replying it.
 */
static int
xack_any_pending(struct rclient *rc, struct txn *txn,
    const struct rgroup_rec *g, const struct mid *ids, size_t n)
{
	struct rpel_rec	p;
	size_t		i;
	int		ret;

	for (i = 0; i < n; i++) {
		if ((ret = store_rpel_get(txn, g->gid, &ids[i], &p)) ==
		    STORE_OK)
			return (1);
		if (ret != STORE_NOTFOUND) {
			resp_add_store_error(rc, ret);
			return (ret);
		}
	}
	return (0);
}

/*
 * XACK key group id [id ...].  Outside a batch, the ids are looked up
 * first in a read transaction: an XACK none of whose ids is pending
 * writes nothing, so it opens no write transaction and its reply waits
 * for no commit of its own (tickd-resp(7)).  In the batch it counts as a
 * write either way, its reply failing with the batch.  The entries go in
 * id order through one cursor, and each consumer's count and the group's
 * are written once.
 */
void
resp_cgroup_xack(struct rclient *rc, int argc, struct rarg *argv)
{
	char			 user[NAME_USER_MAX + 1];
	char			 device[NAME_DEVICE_MAX + 1];
	struct rstream		 s;
	struct rgroup_rec	 g;
	struct xack_take	 xt;
	struct txn		*txn;
	struct mid		*ids;
	enum resp_view		 v;
	size_t			 n = (size_t)argc - 3;
	int			 gret, ret;

	v = resp_view(&argv[1], user, device);
	if (v == RV_QUEUE) {
		resp_chat_xack(rc, argc, argv, user, device);
		return;
	}
	if (v != RV_NONE) {
		resp_chat_wrong(rc, &argv[1], v);
		return;
	}
	if ((txn = resp_txn(rc, 0)) == NULL ||
	    (gret = xack_group(rc, txn, argv, &s, &g)) < 0)
		return;
	if (gret != 0) {
		resp_add_int(rc, 0);
		return;
	}
	if ((ids = resp_stream_ids(rc, argc, argv, 3)) == NULL)
		return;
	if (!txn->write) {
		if ((ret = xack_any_pending(rc, txn, &g, &ids[3], n)) <= 0) {
			if (ret == 0)
				resp_add_int(rc, 0);
			free(ids);
			return;
		}
		/* The batch, opened now, holds what the read saw. */
		if ((txn = resp_txn(rc, 1)) == NULL ||
		    (gret = xack_group(rc, txn, argv, &s, &g)) < 0) {
			free(ids);
			return;
		}
		if (gret != 0) {
			free(ids);
			resp_add_int(rc, 0);
			return;
		}
	} else if (resp_txn(rc, 1) == NULL) {
		free(ids);
		return;
	}
	qsort(&ids[3], n, sizeof *ids, mid_qcmp);
	memset(&xt, 0, sizeof xt);
	xt.txn = txn;
	xt.gid = g.gid;
	ret = store_rpel_take(txn, g.gid, &ids[3], n, xack_take_fn, &xt);
	xack_take_flush(&xt);
	free(xt.v);
	free(ids);
	if (ret == STORE_OK)
		ret = xt.ret;
	if (ret == STORE_OK && xt.acked != 0) {
		g.pending = g.pending > (uint64_t)xt.acked ?
		    g.pending - (uint64_t)xt.acked : 0;
		ret = store_rgroup_put(txn, s.r.rid, argv[2].p, argv[2].len,
		    &g);
	}
	if (ret != STORE_OK) {
		resp_add_store_error(rc, ret);
		return;
	}
	resp_add_int(rc, xt.acked);
}

/* Consumer walk callback: [name, pending] of those with pending. */
static int
pending_cons_fn(void *arg, const void *name, size_t len,
    const struct rcons_rec *c)
{
	struct rstream_emit	*em = arg;

	if (c->pending == 0)
		return (STORE_WALK_NEXT);
	resp_add_array(em->rc, 2);
	resp_add_bulk(em->rc, name, len);
	resp_add_bulk_int(em->rc, (long long)c->pending);
	em->n++;
	return (STORE_WALK_NEXT);
}

/* PEL walk callback: the first and last ids. */
static int
pel_edges_fn(void *arg, const struct mid *id, const struct rpel_rec *p)
{
	struct mid	*edges = arg;

	(void)p;
	if (mid_iszero(&edges[0]) && mid_iszero(&edges[1]))
		edges[0] = *id;
	edges[1] = *id;
	return (STORE_WALK_NEXT);
}

/*
 * XPENDING key group [[IDLE min-idle] start end count [consumer]]: the
 * summary, or the pending entries themselves.
 */
void
resp_cgroup_xpending(struct rclient *rc, int argc, struct rarg *argv)
{
	struct rstream		 s;
	struct rgroup_rec	 g;
	struct rcons_rec	 c;
	struct rpel_rec		 p;
	struct pel_walk		 pw;
	struct rstream_emit		 em;
	struct evbuffer		*saved;
	struct txn		*txn;
	struct mid		 start, end, edges[2];
	const struct rarg	*cname = NULL;
	long long		 count = 0, minidle = 0;
	uint64_t		 now = now_ms();
	size_t			 i;
	int			 startidx = 3, ret;

	if (argc != 3 && (argc < 6 || argc > 9)) {
		resp_add_err(rc, RESP_ERR_SYNTAX);
		return;
	}
	if (argc >= 6) {
		if (resp_arg_is(&argv[3], "idle")) {
			if (resp_arg_ll(rc, &argv[4], &minidle, NULL) != 0)
				return;
			if (argc < 8) {
				resp_add_err(rc, RESP_ERR_SYNTAX);
				return;
			}
			startidx += 2;
		}
		if (resp_arg_ll(rc, &argv[startidx + 2], &count, NULL) != 0)
			return;
		if (count < 0)
			count = 0;
		if (resp_stream_id_bound(rc, &argv[startidx], &start, 0,
		    1) != 0 || resp_stream_id_bound(rc, &argv[startidx + 1],
		    &end, UINT64_MAX, -1) != 0)
			return;
		if (startidx + 3 < argc)
			cname = &argv[startidx + 3];
	}
	if ((txn = stream_group_open(rc, argv, 0, &s, &g)) == NULL)
		return;
	if (argc == 3) {
		resp_add_array(rc, 4);
		resp_add_int(rc, (long long)g.pending);
		if (g.pending == 0) {
			resp_add_null(rc);
			resp_add_null(rc);
			resp_add_null_array(rc);
			return;
		}
		edges[0] = edges[1] = mid_zero;
		if ((ret = store_rpel_walk(txn, g.gid, &mid_zero, pel_edges_fn,
		    edges)) != STORE_OK) {
			resp_add_store_error(rc, ret);
			return;
		}
		resp_add_mid(rc, &edges[0]);
		resp_add_mid(rc, &edges[1]);
		memset(&em, 0, sizeof em);
		em.rc = rc;
		saved = resp_nest(rc);
		ret = store_rcons_walk(txn, g.gid, pending_cons_fn, &em);
		resp_nest_end(rc, saved, '*', em.n);
		if (ret != STORE_OK)
			resp_add_store_error(rc, ret);
		return;
	}
	if (cname != NULL) {
		ret = store_rcons_get(txn, g.gid, cname->p, cname->len, &c);
		if (ret == STORE_NOTFOUND) {
			resp_add_array(rc, 0);
			return;
		}
		if (ret != STORE_OK) {
			resp_add_store_error(rc, ret);
			return;
		}
	}
	pel_walk_init(&pw, cname, &end);
	pw.count = count;
	pw.minidle = (uint64_t)(minidle < 0 ? 0 : minidle);
	pw.now = now;
	if (count == 0) {
		resp_add_array(rc, 0);
		return;
	}
	ret = store_rpel_walk(txn, g.gid, &start, pel_collect_fn, &pw);
	resp_add_array(rc, (long long)pw.n);
	for (i = 0; ret == STORE_OK && i < pw.n; i++) {
		if ((ret = store_rpel_get(txn, g.gid, &pw.ids[i], &p)) !=
		    STORE_OK)
			break;
		resp_add_array(rc, 4);
		resp_add_mid(rc, &pw.ids[i]);
		resp_add_bulk(rc, p.consumer, p.clen);
		resp_add_int(rc, (long long)pel_idle(&p, now));
		resp_add_int(rc, (long long)p.delivery_count);
	}
	free(pw.ids);
	if (ret != STORE_OK)
		resp_add_store_error(rc, ret);
}

/*
 * Claims pending entry id for consumer cname: the PEL entry p (NULL to
 * create one, for FORCE) gets the consumer, time and count.  The consumer
 * is created or refreshed on first use (*cons).
 */
static int
claim_one(struct txn *txn, struct rgroup_rec *g, const struct mid *id,
    const struct rpel_rec *p, const struct rarg *cname, uint64_t time,
    long long retrycount, int justid, int *cons)
{
	struct rcons_rec	c;
	uint64_t		count;
	int			ret, created;

	if (!*cons) {
		if ((ret = resp_cgroup_consumer(txn, g, cname, &c, 0,
		    &created)) != STORE_OK)
			return (ret);
		*cons = 1;
	}
	count = p != NULL ? p->delivery_count : 1;
	if (retrycount >= 0)
		count = (uint64_t)retrycount;
	else if (!justid)
		count++;
	return (pel_assign(txn, g, id, p, cname, time, count));
}

/* A claimed entry as the XCLAIMs reply it: the id with JUSTID, else all. */
static int
add_claimed(struct rclient *rc, struct txn *txn, const struct rstream *s,
    const struct mid *id, int justid)
{
	struct rentry	e;
	int		ret;

	if (justid) {
		resp_add_mid(rc, id);
		return (STORE_OK);
	}
	if ((ret = store_rentry_get(txn, s->r.rid, id, &e)) == STORE_OK)
		resp_stream_add_entry(rc, id, &e);
	return (ret);
}

/*
 * XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms]
 * [TIME ms] [RETRYCOUNT n] [FORCE] [JUSTID] [LASTID id]
 */
void
resp_cgroup_xclaim(struct rclient *rc, int argc, struct rarg *argv)
{
	struct rstream		 s;
	struct rgroup_rec	 g;
	struct rpel_rec		 p, *pp;
	struct rentry		 e;
	struct evbuffer		*saved;
	struct txn		*txn;
	struct mid		 id, lastid = { 0, 0 };
	long long		 minidle, retrycount = -1, time = -1, n = 0;
	uint64_t		 now = now_ms();
	int			 j, last, force = 0, justid = 0, ret;
	int			 cons = 0, exists, dirty = 0;

	if ((txn = stream_group_open(rc, argv, 1, &s, &g)) == NULL)
		return;
	if (resp_arg_ll(rc, &argv[4], &minidle, "Invalid min-idle-time "
	    "argument for XCLAIM") != 0)
		return;
	if (minidle < 0)
		minidle = 0;
	for (j = 5; j < argc; j++) {
		if (resp_stream_id_parse(&argv[j], &id, 0, 1, NULL) != 0)
			break;
	}
	last = j - 1;
	for (; j < argc; j++) {
		if (resp_arg_is(&argv[j], "force"))
			force = 1;
		else if (resp_arg_is(&argv[j], "justid"))
			justid = 1;
		else if (resp_arg_is(&argv[j], "idle") && argc - 1 - j) {
			if (resp_arg_ll(rc, &argv[++j], &time, "Invalid IDLE "
			    "option argument for XCLAIM") != 0)
				return;
			time = (long long)now - time;
		} else if (resp_arg_is(&argv[j], "time") && argc - 1 - j) {
			if (resp_arg_ll(rc, &argv[++j], &time, "Invalid TIME "
			    "option argument for XCLAIM") != 0)
				return;
		} else if (resp_arg_is(&argv[j], "retrycount") &&
		    argc - 1 - j) {
			if (resp_arg_ll(rc, &argv[++j], &retrycount, "Invalid "
			    "RETRYCOUNT option argument for XCLAIM") != 0)
				return;
		} else if (resp_arg_is(&argv[j], "lastid") && argc - 1 - j) {
			if (resp_stream_id_reply(rc, &argv[++j], &lastid, 0,
			    1) != 0)
				return;
		} else {
			resp_add_errorf(rc, "Unrecognized XCLAIM option '%s'",
			    argv[j].p);
			return;
		}
	}
	if (mid_cmp(&lastid, &g.last_id) > 0) {
		g.last_id = lastid;
		dirty = 1;
	}
	if (time != -1) {
		if (time < 0 || (uint64_t)time > now)
			time = (long long)now;
	} else
		time = (long long)now;
	saved = resp_nest(rc);
	for (j = 5, ret = STORE_OK; j <= last && ret == STORE_OK; j++) {
		resp_stream_id_parse(&argv[j], &id, 0, 1, NULL);
		ret = store_rpel_get(txn, g.gid, &id, &p);
		if (ret != STORE_OK && ret != STORE_NOTFOUND)
			break;
		pp = ret == STORE_OK ? &p : NULL;
		ret = store_rentry_get(txn, s.r.rid, &id, &e);
		if (ret != STORE_OK && ret != STORE_NOTFOUND)
			break;
		exists = ret == STORE_OK;
		ret = STORE_OK;
		if (!exists) {
			/* Gone from the stream: gone from the PEL too. */
			if (pp != NULL) {
				ret = pel_remove(txn, &g, &id, pp);
				dirty = 1;
			}
			continue;
		}
		if (pp == NULL && !force)
			continue;
		if (pp != NULL && minidle != 0 &&
		    pel_idle(pp, now) < (uint64_t)minidle)
			continue;
		ret = claim_one(txn, &g, &id, pp, &argv[3], (uint64_t)time,
		    retrycount, justid, &cons);
		dirty = 1;
		if (ret != STORE_OK)
			break;
		ret = add_claimed(rc, txn, &s, &id, justid);
		n++;
	}
	if (ret == STORE_OK && dirty)
		ret = store_rgroup_put(txn, s.r.rid, argv[2].p, argv[2].len,
		    &g);
	if (ret != STORE_OK) {
		resp_nest_abort(rc, saved);
		resp_add_store_error(rc, ret);
		return;
	}
	resp_nest_end(rc, saved, '*', n);
}

/* XAUTOCLAIM key group consumer min-idle-time start [COUNT n] [JUSTID] */
void
resp_cgroup_xautoclaim(struct rclient *rc, int argc, struct rarg *argv)
{
	struct rstream		 s;
	struct rgroup_rec	 g;
	struct rpel_rec		 p;
	struct rentry		 e;
	struct pel_walk		 pw;
	struct evbuffer		*saved;
	struct txn		*txn;
	struct mid		 start, *deleted, *claimed, next;
	long long		 minidle, count = 100, n = 0, attempts;
	uint64_t		 now = now_ms();
	size_t			 i, ndel = 0;
	int			 j, justid = 0, ret, cons = 0, more;

	if (resp_arg_ll(rc, &argv[4], &minidle, "Invalid min-idle-time "
	    "argument for XAUTOCLAIM") != 0)
		return;
	if (minidle < 0)
		minidle = 0;
	if (resp_stream_id_bound(rc, &argv[5], &start, 0, 1) != 0)
		return;
	for (j = 6; j < argc; j++) {
		if (resp_arg_is(&argv[j], "count") && argc - 1 - j) {
			if (resp_str2ll(argv[j + 1].p, argv[j + 1].len,
			    &count) != 0 || count < 1 ||
			    count > LONG_MAX / 16) {
				resp_add_errorf(rc, "COUNT must be > 0");
				return;
			}
			j++;
		} else if (resp_arg_is(&argv[j], "justid"))
			justid = 1;
		else {
			resp_add_err(rc, RESP_ERR_SYNTAX);
			return;
		}
	}
	if ((txn = stream_group_open(rc, argv, 1, &s, &g)) == NULL)
		return;
	/*
	 * Redis looks at up to 10 * COUNT entries from start and answers at
	 * most COUNT, deleted ones included; the cursor is the entry after
	 * the last looked at.
	 */
	attempts = count * 10;
	pel_walk_init(&pw, NULL, &mid_max);
	pw.count = attempts;
	if ((ret = store_rpel_walk(txn, g.gid, &start, pel_collect_fn, &pw)) !=
	    STORE_OK) {
		resp_add_store_error(rc, ret);
		return;
	}
	deleted = xcalloc((size_t)count, sizeof *deleted);
	claimed = xcalloc((size_t)count, sizeof *claimed);
	more = 0;
	for (i = 0; ret == STORE_OK && i < pw.n; i++) {
		if (count == 0) {
			more = 1;
			break;
		}
		if ((ret = store_rpel_get(txn, g.gid, &pw.ids[i], &p)) !=
		    STORE_OK)
			break;
		ret = store_rentry_get(txn, s.r.rid, &pw.ids[i], &e);
		if (ret == STORE_NOTFOUND) {
			ret = pel_remove(txn, &g, &pw.ids[i], &p);
			deleted[ndel++] = pw.ids[i];
			count--;
			continue;
		}
		if (ret != STORE_OK)
			break;
		if (minidle != 0 && pel_idle(&p, now) < (uint64_t)minidle)
			continue;
		if ((ret = claim_one(txn, &g, &pw.ids[i], &p, &argv[3], now,
		    -1, justid, &cons)) != STORE_OK)
			break;
		claimed[n++] = pw.ids[i];
		count--;
	}
	if (ret == STORE_OK)
		ret = store_rgroup_put(txn, s.r.rid, argv[2].p, argv[2].len,
		    &g);
	/* The cursor: the next pending entry, or 0-0 at the end. */
	if (more)
		next = pw.ids[i];
	else if (pw.more)
		next = pw.next;
	else
		next = mid_zero;
	saved = resp_nest(rc);
	resp_add_array(rc, 3);
	resp_add_mid(rc, &next);
	resp_add_array(rc, n);
	for (i = 0; ret == STORE_OK && i < (size_t)n; i++)
		ret = add_claimed(rc, txn, &s, &claimed[i], justid);
	resp_add_array(rc, (long long)ndel);
	for (i = 0; i < ndel; i++)
		resp_add_mid(rc, &deleted[i]);
	if (ret != STORE_OK) {
		resp_nest_abort(rc, saved);
		resp_add_store_error(rc, ret);
	} else
		resp_nest_end(rc, saved, 0, 0);
	free(claimed);
	free(deleted);
	free(pw.ids);
}

/* ---------------------------------------------------------- XINFO */

/* What XINFO's walks reply to and count. */
struct info {
	struct rclient		*rc;
	const struct rkey_rec	*r;
	long long		 n;
};

/* Consumer walk callback: XINFO CONSUMERS' map of each. */
static int
info_cons_fn(void *arg, const void *name, size_t len,
    const struct rcons_rec *c)
{
	struct info	*in = arg;
	struct rclient	*rc = in->rc;
	uint64_t	 now = now_ms();

	resp_add_map(rc, 3);
	resp_add_str(rc, "name");
	resp_add_bulk(rc, name, len);
	resp_add_str(rc, "pending");
	resp_add_int(rc, (long long)c->pending);
	resp_add_str(rc, "idle");
	resp_add_int(rc, now > c->seen_time ? (long long)(now - c->seen_time) :
	    0);
	in->n++;
	return (STORE_WALK_NEXT);
}

/* Group walk callback: XINFO GROUPS' map of each, with its lag. */
static int
info_group_fn(void *arg, const void *name, size_t len,
    const struct rgroup_rec *g)
{
	struct info		*in = arg;
	struct rclient		*rc = in->rc;
	const struct rkey_rec	*r = in->r;
	int64_t			 read;

	resp_add_map(rc, 6);
	resp_add_str(rc, "name");
	resp_add_bulk(rc, name, len);
	resp_add_str(rc, "consumers");
	resp_add_int(rc, (long long)g->consumers);
	resp_add_str(rc, "pending");
	resp_add_int(rc, (long long)g->pending);
	resp_add_str(rc, "last-delivered-id");
	resp_add_mid(rc, &g->last_id);
	resp_add_str(rc, "entries-read");
	if (g->entries_read != -1)
		resp_add_int(rc, g->entries_read);
	else
		resp_add_null(rc);
	resp_add_str(rc, "lag");
	if (r->entries_added == 0)
		resp_add_int(rc, 0);
	else if (g->entries_read != -1 && !has_tombstones(r, &g->last_id))
		resp_add_int(rc, (long long)r->entries_added -
		    g->entries_read);
	else if ((read = estimate_read(r, &g->last_id)) != -1)
		resp_add_int(rc, (long long)r->entries_added - read);
	else
		resp_add_null(rc);
	in->n++;
	return (STORE_WALK_NEXT);
}

/* Entry walk callback: the node of the first entry. */
static int
first_node_fn(void *arg, const struct mid *id, const struct rentry *e)
{
	(void)id;
	*(uint64_t *)arg = e->node;
	return (STORE_WALK_STOP);
}

/*
 * XINFO STREAM key (not FULL): the fields of Redis 7.0.15.  Its
 * radix-tree-keys is the number of nodes the entries span, and
 * radix-tree-nodes an estimate: tickd has no radix tree.
 */
static void
xinfo_stream(struct rclient *rc, struct txn *txn, struct rstream *s)
{
	struct evbuffer	*saved;
	struct mid	 first, last;
	uint64_t	 node = 0, keys = 0;
	long long	 n;
	int		 ret;

	if ((ret = resp_stream_edge(txn, s, 0, &first)) != STORE_OK ||
	    (ret = resp_stream_edge(txn, s, 1, &last)) != STORE_OK ||
	    (ret = store_rentry_walk(txn, s->r.rid, &mid_zero, 0, 1,
	    first_node_fn, &node)) != STORE_OK) {
		resp_add_store_error(rc, ret);
		return;
	}
	if (s->r.length != 0)
		keys = s->r.tail_node - node + 1;
	resp_add_map(rc, 10);
	resp_add_str(rc, "length");
	resp_add_int(rc, (long long)s->r.length);
	resp_add_str(rc, "radix-tree-keys");
	resp_add_int(rc, (long long)keys);
	resp_add_str(rc, "radix-tree-nodes");
	resp_add_int(rc, (long long)keys + 1);
	resp_add_str(rc, "last-generated-id");
	resp_add_mid(rc, &s->r.last_id);
	resp_add_str(rc, "max-deleted-entry-id");
	resp_add_mid(rc, &s->r.max_deleted);
	resp_add_str(rc, "entries-added");
	resp_add_int(rc, (long long)s->r.entries_added);
	resp_add_str(rc, "recorded-first-entry-id");
	resp_add_mid(rc, &s->r.first_id);
	resp_add_str(rc, "groups");
	resp_add_int(rc, (long long)s->r.ngroups);
	resp_add_str(rc, "first-entry");
	saved = resp_nest(rc);
	ret = resp_stream_emit_range(rc, txn, s, &first, &first, 0, 1, &n);
	if (ret == STORE_OK && n == 0)
		resp_add_null(rc);
	resp_nest_end(rc, saved, 0, 0);
	resp_add_str(rc, "last-entry");
	saved = resp_nest(rc);
	if (ret == STORE_OK)
		ret = resp_stream_emit_range(rc, txn, s, &last, &last, 0, 1,
		    &n);
	if (ret == STORE_OK && n == 0)
		resp_add_null(rc);
	resp_nest_end(rc, saved, 0, 0);
}

/* XINFO STREAM key | GROUPS key | CONSUMERS key group */
void
resp_cgroup_xinfo(struct rclient *rc, int argc, struct rarg *argv)
{
	struct rstream		 s;
	struct rgroup_rec	 g;
	struct info		 in;
	struct evbuffer		*saved;
	struct txn		*txn;
	int			 ret;

	if ((txn = resp_stream_open(rc, &argv[2], 0, &s)) == NULL)
		return;
	if (!s.found) {
		resp_add_err(rc, RESP_ERR_NOKEY);
		return;
	}
	memset(&in, 0, sizeof in);
	in.rc = rc;
	in.r = &s.r;
	if (resp_arg_is(&argv[1], "consumers") && argc == 4) {
		if ((ret = resp_cgroup_get(txn, &s, &argv[3], &g)) != 0) {
			if (ret < 0)
				resp_add_store_error(rc, ret);
			else
				resp_add_errorf(rc, "-NOGROUP No such consumer "
				    "group '%s' for key name '%s'", argv[3].p,
				    argv[2].p);
			return;
		}
		saved = resp_nest(rc);
		ret = store_rcons_walk(txn, g.gid, info_cons_fn, &in);
	} else if (resp_arg_is(&argv[1], "groups") && argc == 3) {
		saved = resp_nest(rc);
		ret = store_rgroup_walk(txn, s.r.rid, info_group_fn, &in);
	} else if (resp_arg_is(&argv[1], "stream")) {
		if (argc > 3) {
			if (!resp_arg_is(&argv[3], "full"))
				resp_add_errorf(rc, "unknown subcommand or "
				    "wrong number of arguments for '%.128s'. "
				    "Try XINFO HELP.", argv[1].p);
			else
				resp_add_errorf(rc, "XINFO STREAM FULL is not "
				    "supported by tickd");
			return;
		}
		xinfo_stream(rc, txn, &s);
		return;
	} else {
		resp_add_errorf(rc, "unknown subcommand or wrong number of "
		    "arguments for '%.128s'. Try XINFO HELP.", argv[1].p);
		return;
	}
	if (ret != STORE_OK) {
		resp_nest_abort(rc, saved);
		resp_add_store_error(rc, ret);
		return;
	}
	resp_nest_end(rc, saved, '*', in.n);
}

/* XINFO HELP, for the subcommands tickd has. */
void
resp_cgroup_xinfo_help(struct rclient *rc, int argc, struct rarg *argv)
{
	static const char *const help[] = {
		"CONSUMERS <key> <groupname>",
		"    Show consumers of <groupname>.",
		"GROUPS <key>",
		"    Show the stream consumer groups.",
		"STREAM <key>",
		"    Show information about the stream (tickd has no FULL).",
		NULL
	};

	(void)argc; (void)argv;
	resp_add_help(rc, "XINFO", help);
}

/* XGROUP HELP */
void
resp_cgroup_xgroup_help(struct rclient *rc, int argc, struct rarg *argv)
{
	static const char *const help[] = {
		"CREATE <key> <groupname> <id|$> [option]",
		"    Create a new consumer group. Options are:",
		"    * MKSTREAM",
		"      Create the empty stream if it does not exist.",
		"    * ENTRIESREAD entries_read",
		"      Set the group's entries_read counter (internal use).",
		"CREATECONSUMER <key> <groupname> <consumer>",
		"    Create a new consumer in the specified group.",
		"DELCONSUMER <key> <groupname> <consumer>",
		"    Remove the specified consumer.",
		"DESTROY <key> <groupname>",
		"    Remove the specified group.",
		"SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
		"    Set the current group ID and entries_read counter.",
		NULL
	};

	(void)argc; (void)argv;
	resp_add_help(rc, "XGROUP", help);
}
