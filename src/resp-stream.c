/*
 * resp-stream.c: the RESP shim's stream commands and consumer groups, after
 * redis-server 7.0's t_stream.c (resp.md), and the stream views of chat
 * state: XADD to inbox:USER is a send, queue:USER:DEVICE reads like the
 * device and XACK acks like it.
 *
 * Entries, groups, pending entries and consumers are records of the store
 * (store.h); a stream's metadata is its key's record.  Redis keeps entries
 * in nodes of at most 100 (or about 4 KiB); the metadata tracks the node
 * the next entry joins the same way, so that "MAXLEN ~" and "MINID ~"
 * remove the same whole nodes Redis would.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/rand.h>

#include "tickd.h"

#define NODE_MAX_ENTRIES	100	/* stream-node-max-entries */
#define NODE_MAX_BYTES		4096	/* stream-node-max-bytes */
#define LP_HDR_BYTES		7	/* listpack header and end byte */
#define TRIM_LIMIT_MAX		10000	/* LIMIT of a "~" trim by default */
#define VIEW_GROUP		"tickd"	/* the group a queue: view has */
#define VIEW_CURSORS_MAX	4096	/* queue: view consumers remembered */

#define TRIM_NONE		0
#define TRIM_MAXLEN		1
#define TRIM_MINID		2

/* Errors said in more than one place. */
static const char	err_dollar[] = "The $ ID is meaningless in the context "
    "of XREADGROUP: you want to read the history of this consumer by "
    "specifying a proper ID, or use the > ID to get new messages. The $ ID "
    "would just return an empty result set.";
static const char	err_gt[] = "The > ID can be specified only when "
    "calling XREADGROUP using the GROUP <group> <consumer> option.";

static const struct mid	mid_zero = { 0, 0 };
static const struct mid	mid_max = { UINT64_MAX, UINT64_MAX };

/* XADD's and XTRIM's options (Redis's streamAddTrimArgs). */
struct addtrim {
	struct mid	id;
	int		id_given;
	int		seq_given;
	int		no_mkstream;
	int		strategy;	/* TRIM_* */
	int		approx;
	long long	maxlen;
	struct mid	minid;
	long long	limit;
};

/* A stream as a command sees it: its key, record and whether it exists. */
struct stream {
	const struct rarg	*key;
	struct rkey_rec		 r;
	int			 found;
	int			 dirty;		/* r changed, to be written */
};

/* A walk over a stream's entries that replies with them. */
struct emit {
	struct rclient	*rc;
	struct mid	 end;
	int		 rev;
	long long	 count;		/* 0: no limit */
	long long	 n;
	struct mid	 last;
};

/* A walk that collects one node's entries, tombstones included. */
struct node_walk {
	uint64_t	node;
	int		started;
	int		n;		/* entries and tombstones */
	long long	live;
	struct mid	last;		/* its last id, tombstone or not */
	struct mid	ids[NODE_MAX_ENTRIES];
	int		dead[NODE_MAX_ENTRIES];
};

/* A consumer's cursor in a queue: view (in memory only). */
struct view_cursor {
	char			*key;		/* view key, NUL, consumer */
	size_t			 len;
	struct mid		 last;
	TAILQ_ENTRY(view_cursor) entry;
};
static TAILQ_HEAD(view_cursors, view_cursor) view_cursors =
    TAILQ_HEAD_INITIALIZER(view_cursors);
static size_t			 view_ncursors;

static int	delconsumer(struct rclient *, struct txn *, struct stream *,
		    struct rgroup_rec *, const struct rarg *,
		    const struct rarg *);

/* ---------------------------------------------------------- ids */

/* Whether an id is 0-0. */
static int
mid_iszero(const struct mid *id)
{
	return (id->ms == 0 && id->seq == 0);
}

/* The next id; -1 (and 0-0) past the last possible one. */
static int
mid_incr(struct mid *id)
{
	if (id->seq == UINT64_MAX) {
		if (id->ms == UINT64_MAX) {
			id->ms = id->seq = 0;
			return (-1);
		}
		id->ms++;
		id->seq = 0;
	} else
		id->seq++;
	return (0);
}

/* The previous id; -1 (and the last possible) before 0-0. */
static int
mid_decr(struct mid *id)
{
	if (id->seq == 0) {
		if (id->ms == 0) {
			id->ms = id->seq = UINT64_MAX;
			return (-1);
		}
		id->ms--;
		id->seq = UINT64_MAX;
	} else
		id->seq--;
	return (0);
}

/* Redis's string2ull(): strict decimal, else whatever strtoull() takes. */
static int
str2ull(const char *s, unsigned long long *out)
{
	long long	 ll;
	char		*end;

	if (resp_str2ll(s, strlen(s), &ll) == 0) {
		if (ll < 0)
			return (-1);
		*out = (unsigned long long)ll;
		return (0);
	}
	errno = 0;
	*out = strtoull(s, &end, 10);
	if (errno == EINVAL || errno == ERANGE || *s == '\0' || *end != '\0')
		return (-1);
	return (0);
}

/*
 * Parses a stream id as streamGenericParseIDOrReply(): "-" and "+" unless
 * strict, "<ms>-<seq>", "<ms>" (seq is missing_seq), and with seq_given
 * "<ms>-*".  The text is read as a C string, as Redis reads it.
 */
static int
id_parse(const struct rarg *a, struct mid *id, uint64_t missing_seq,
    int strict, int *seq_given)
{
	char			 buf[128], *dash;
	unsigned long long	 ms, seq;

	if (a->len > sizeof buf - 1)
		return (-1);
	memcpy(buf, a->p, a->len + 1);
	if (strict && (buf[0] == '-' || buf[0] == '+') && buf[1] == '\0')
		return (-1);
	if (seq_given != NULL)
		*seq_given = 1;
	if (buf[0] == '-' && buf[1] == '\0') {
		*id = mid_zero;
		return (0);
	}
	if (buf[0] == '+' && buf[1] == '\0') {
		*id = mid_max;
		return (0);
	}
	if ((dash = strchr(buf, '-')) != NULL)
		*dash = '\0';
	if (str2ull(buf, &ms) != 0)
		return (-1);
	if (dash == NULL)
		seq = missing_seq;
	else if (seq_given != NULL && strcmp(dash + 1, "*") == 0) {
		seq = 0;
		*seq_given = 0;
	} else if (str2ull(dash + 1, &seq) != 0)
		return (-1);
	id->ms = ms;
	id->seq = seq;
	return (0);
}

/* id_parse() that replies Redis's error on failure. */
static int
id_parse_reply(struct rclient *rc, const struct rarg *a, struct mid *id,
    uint64_t missing_seq, int strict)
{
	if (id_parse(a, id, missing_seq, strict, NULL) == 0)
		return (0);
	resp_add_err(rc, RESP_ERR_BADID);
	return (-1);
}

/*
 * A range bound, as streamParseIntervalIDOrReply(): "(id" is exclusive
 * (and strict); it is made inclusive here with next (1) or previous (-1).
 */
static int
id_bound(struct rclient *rc, const struct rarg *a, struct mid *id,
    uint64_t missing_seq, int dir)
{
	struct rarg	t;

	if (a->len > 1 && a->p[0] == '(') {
		t.p = a->p + 1;
		t.len = a->len - 1;
		if (id_parse_reply(rc, &t, id, missing_seq, 1) != 0)
			return (-1);
		if (dir > 0 && mid_incr(id) != 0) {
			resp_add_errorf(rc, "invalid start ID for the "
			    "interval");
			return (-1);
		}
		if (dir < 0 && mid_decr(id) != 0) {
			resp_add_errorf(rc, "invalid end ID for the interval");
			return (-1);
		}
		return (0);
	}
	return (id_parse_reply(rc, a, id, missing_seq, 0));
}

/*
 * The strict ids from argv[first] on, at the indexes of their arguments;
 * NULL after replying an error.
 */
static struct mid *
parse_ids(struct rclient *rc, int argc, struct rarg *argv, int first)
{
	struct mid	*ids;
	int		 j;

	ids = xcalloc((size_t)argc, sizeof *ids);
	for (j = first; j < argc; j++) {
		if (id_parse_reply(rc, &argv[j], &ids[j], 0, 1) != 0) {
			free(ids);
			return (NULL);
		}
	}
	return (ids);
}

/* Appends id to a walk's array of ids, growing it as needed. */
static void
ids_add(struct mid **ids, size_t *n, size_t *cap, const struct mid *id)
{
	if (*n == *cap)
		*ids = xgrow(*ids, cap, sizeof **ids, 64);
	(*ids)[(*n)++] = *id;
}

/* ---------------------------------------------------------- streams */

/*
 * Finds the stream at key: 0 with s filled (found or not), -1 after
 * replying an error (wrong type or store).
 */
static int
stream_get(struct rclient *rc, struct txn *txn, const struct rarg *key,
    struct stream *s)
{
	int	ret;

	memset(s, 0, sizeof *s);
	s->key = key;
	if ((ret = resp_lookup(rc, txn, key, &s->r)) == STORE_NOTFOUND)
		return (0);
	if (ret != STORE_OK)
		return (-1);
	if (s->r.type != RTYPE_STREAM) {
		resp_add_err(rc, RESP_ERR_WRONGTYPE);
		return (-1);
	}
	s->found = 1;
	return (0);
}

/*
 * Refuses a view, then finds the stream at key as stream_get(): the
 * transaction, or NULL after replying an error.
 */
static struct txn *
stream_open(struct rclient *rc, const struct rarg *key, int write,
    struct stream *s)
{
	struct txn	*txn;

	if (resp_view_refuse(rc, key) || (txn = resp_txn(rc, write)) == NULL ||
	    stream_get(rc, txn, key, s) != 0)
		return (NULL);
	return (txn);
}

/* Makes a new, empty stream record for s (written by stream_put). */
static int
stream_create(struct txn *txn, struct stream *s)
{
	memset(&s->r, 0, sizeof s->r);
	s->r.type = RTYPE_STREAM;
	s->r.tail_count = NODE_MAX_ENTRIES;	/* the first entry starts one */
	s->dirty = 1;
	return (store_rid_next(txn, &s->r.rid));
}

/* Writes s's record if it changed; a new stream enters the SCAN index. */
static int
stream_put(struct txn *txn, struct stream *s)
{
	int	ret;

	if (!s->dirty)
		return (STORE_OK);
	ret = store_rkey_put(txn, s->key->p, s->key->len, &s->r, !s->found);
	if (ret == STORE_OK) {
		s->found = 1;
		s->dirty = 0;
	}
	return (ret);
}

/* Entry walk callback: the first entry's id. */
static int
first_fn(void *arg, const struct mid *id, const struct rentry *e)
{
	(void)e;
	*(struct mid *)arg = *id;
	return (STORE_WALK_STOP);
}

/* The first (or with rev the last) live entry's id, 0-0 if none. */
static int
stream_edge(struct txn *txn, const struct stream *s, int rev, struct mid *id)
{
	*id = mid_zero;
	return (store_rentry_walk(txn, s->r.rid, rev ? &mid_max : &mid_zero,
	    rev, 0, first_fn, id));
}

/* An entry as Redis replies it: [id, [field, value, ...]]. */
static void
add_entry(struct rclient *rc, const struct mid *id, const struct rentry *e)
{
	const uint8_t	*p;
	size_t		 off = 0, len;
	uint32_t	 i;

	resp_add_array(rc, 2);
	resp_add_mid(rc, id);
	resp_add_array(rc, e->n);
	for (i = 0; i < e->n; i++) {
		off = store_rentry_item(e, off, &p, &len);
		resp_add_bulk(rc, p, len);
	}
}

/* Entry walk callback: replies entries up to end and count. */
static int
emit_fn(void *arg, const struct mid *id, const struct rentry *e)
{
	struct emit	*em = arg;

	if (em->rev ? mid_cmp(id, &em->end) < 0 : mid_cmp(id, &em->end) > 0)
		return (STORE_WALK_STOP);
	add_entry(em->rc, id, e);
	em->last = *id;
	if (++em->n == em->count)
		return (STORE_WALK_STOP);
	return (STORE_WALK_NEXT);
}

/*
 * Replies the entries from start to end (both inclusive; end to start with
 * rev), at most count (0: all), without an array header; returns the
 * number in *n.
 */
static int
emit_range(struct rclient *rc, struct txn *txn, const struct stream *s,
    const struct mid *start, const struct mid *end, int rev, long long count,
    long long *n)
{
	struct emit	em;
	int		ret;

	memset(&em, 0, sizeof em);
	em.rc = rc;
	em.end = *end;
	em.rev = rev;
	em.count = count;
	ret = store_rentry_walk(txn, s->r.rid, start, rev, 0, emit_fn, &em);
	*n = em.n;
	return (ret);
}

/* ---------------------------------------------------------- nodes */

/* Size of a listpack entry (its encoding and back length) of n bytes. */
static size_t
lp_backlen(size_t n)
{
	if (n < 128)
		return (n + 1);
	if (n < 16384)
		return (n + 2);
	if (n < 2097152)
		return (n + 3);
	return (n + (n < 268435456 ? 4 : 5));
}

/* Size of an integer in a listpack. */
static size_t
lp_int(long long v)
{
	if (v >= 0 && v <= 127)
		return (lp_backlen(1));
	if (v >= -4096 && v <= 4095)
		return (lp_backlen(2));
	if (v >= -32768 && v <= 32767)
		return (lp_backlen(3));
	if (v >= -8388608 && v <= 8388607)
		return (lp_backlen(4));
	if (v >= INT32_MIN && v <= INT32_MAX)
		return (lp_backlen(5));
	return (lp_backlen(9));
}

/* Size of a string in a listpack, which keeps integers as integers. */
static size_t
lp_str(const char *p, size_t len)
{
	long long	v;

	if (len <= 20 && resp_str2ll(p, len, &v) == 0)
		return (lp_int(v));
	if (len < 64)
		return (lp_backlen(1 + len));
	if (len < 4096)
		return (lp_backlen(2 + len));
	return (lp_backlen(5 + len));
}

/* A hash of an entry's field names, to tell "same fields as master". */
static uint64_t
fields_hash(int nfields, const struct rarg *fv)
{
	uint64_t	h = HASH_INIT;
	int		j;

	for (j = 0; j < nfields; j++) {
		h = hash_bytes(h, fv[2 * j].p, fv[2 * j].len);
		h = hash_bytes(h, "\xff", 1);
	}
	return ((h ^ (uint64_t)nfields) * 1099511628211ULL);
}

/*
 * Puts an entry into the tail node, or a new one when the tail is full as
 * Redis decides it (its entries, deleted ones too, or its bytes), keeping
 * the node's size as a listpack would have it.
 */
static uint64_t
node_append(struct rkey_rec *r, const struct mid *id, int nfields,
    const struct rarg *fv)
{
	uint64_t	hash = fields_hash(nfields, fv);
	size_t		tot = 0, bytes;
	int		j, same;

	for (j = 0; j < 2 * nfields; j++)
		tot += fv[j].len;
	if (r->tail_count >= NODE_MAX_ENTRIES ||
	    r->tail_bytes + tot >= NODE_MAX_BYTES) {
		r->tail_node++;
		r->tail_count = 0;
		r->tail_first = *id;
		r->tail_fields = hash;
		bytes = LP_HDR_BYTES + lp_int(1) + lp_int(0) + lp_int(nfields);
		for (j = 0; j < nfields; j++)
			bytes += lp_str(fv[2 * j].p, fv[2 * j].len);
		r->tail_bytes = bytes + lp_int(0);
	}
	same = hash == r->tail_fields;
	bytes = lp_int(same ? 2 : 0) +
	    lp_int((long long)(id->ms - r->tail_first.ms)) +
	    lp_int((long long)(id->seq - r->tail_first.seq));
	if (!same)
		bytes += lp_int(nfields);
	for (j = 0; j < nfields; j++) {
		if (!same)
			bytes += lp_str(fv[2 * j].p, fv[2 * j].len);
		bytes += lp_str(fv[2 * j + 1].p, fv[2 * j + 1].len);
	}
	bytes += lp_int(nfields + 3 + (same ? 0 : nfields + 1));
	r->tail_bytes += bytes;
	r->tail_count++;
	return (r->tail_node);
}

/* Entry walk callback: the entries of the first node met. */
static int
node_fn(void *arg, const struct mid *id, const struct rentry *e)
{
	struct node_walk	*nw = arg;

	if (nw->started && e->node != nw->node)
		return (STORE_WALK_STOP);
	nw->started = 1;
	nw->node = e->node;
	nw->ids[nw->n] = *id;
	nw->dead[nw->n] = e->deleted;
	nw->live += !e->deleted;
	nw->last = *id;
	return (++nw->n == NODE_MAX_ENTRIES ? STORE_WALK_STOP :
	    STORE_WALK_NEXT);
}

/*
 * Removes a node for good, tombstones and all; the next entry starts a
 * new node if it was the tail (the one before is full, or there is none).
 */
static int
node_purge(struct txn *txn, struct stream *s, const struct node_walk *nw)
{
	int	i, ret;

	for (i = 0; i < nw->n; i++) {
		if ((ret = store_rentry_purge(txn, s->r.rid, &nw->ids[i])) !=
		    STORE_OK)
			return (ret);
	}
	if (nw->node == s->r.tail_node)
		s->r.tail_count = NODE_MAX_ENTRIES;
	s->dirty = 1;
	return (STORE_OK);
}

/* Entry walk callback: the first id of the node of the entry at start. */
static int
node_start_fn(void *arg, const struct mid *id, const struct rentry *e)
{
	struct node_walk	*nw = arg;

	if (nw->started && e->node != nw->node)
		return (STORE_WALK_STOP);
	nw->started = 1;
	nw->node = e->node;
	nw->last = *id;
	return (STORE_WALK_NEXT);
}

/*
 * After XDEL made id a tombstone: as Redis frees a listpack whose last
 * live entry goes, removes its node if nothing lives in it.
 */
static int
node_purge_if_empty(struct txn *txn, struct stream *s, const struct mid *id)
{
	struct node_walk	nw;
	int			ret;

	memset(&nw, 0, sizeof nw);
	if ((ret = store_rentry_walk(txn, s->r.rid, id, 1, 1, node_start_fn,
	    &nw)) != STORE_OK)
		return (ret);
	nw.started = 0;
	nw.n = 0;
	if ((ret = store_rentry_walk(txn, s->r.rid, &nw.last, 0, 1, node_fn,
	    &nw)) != STORE_OK)
		return (ret);
	return (nw.live == 0 ? node_purge(txn, s, &nw) : STORE_OK);
}

/* After entries were removed: the first id again (0-0 when empty). */
static int
stream_fix_edges(struct txn *txn, struct stream *s)
{
	s->dirty = 1;
	if (s->r.length == 0) {
		s->r.first_id = mid_zero;
		return (STORE_OK);
	}
	return (stream_edge(txn, s, 0, &s->r.first_id));
}

/*
 * Trims a stream as Redis's streamTrim(): whole nodes from the head while
 * the rule allows; with ~ nothing more; otherwise entries of the next node
 * become tombstones.  An approximate trim stops at limit entries.
 */
static int
stream_trim(struct txn *txn, struct stream *s, const struct addtrim *a,
    long long *deleted)
{
	struct node_walk	 nw;
	int			 i, ret, remove;

	*deleted = 0;
	if (a->strategy == TRIM_NONE)
		return (STORE_OK);
	for (;;) {
		if (a->strategy == TRIM_MAXLEN &&
		    s->r.length <= (uint64_t)a->maxlen)
			break;
		memset(&nw, 0, sizeof nw);
		ret = store_rentry_walk(txn, s->r.rid, &mid_zero, 0, 1, node_fn,
		    &nw);
		if (ret != STORE_OK)
			return (ret);
		if (nw.n == 0)
			break;
		if (a->limit != 0 && *deleted + nw.live > a->limit)
			break;
		if (a->strategy == TRIM_MAXLEN)
			remove = s->r.length - (uint64_t)nw.live >=
			    (uint64_t)a->maxlen;
		else
			remove = mid_cmp(&nw.last, &a->minid) < 0;
		if (remove) {
			if ((ret = node_purge(txn, s, &nw)) != STORE_OK)
				return (ret);
			s->r.length -= (uint64_t)nw.live;
			*deleted += nw.live;
			continue;
		}
		if (a->approx)
			break;
		for (i = 0; i < nw.n; i++) {
			if (a->strategy == TRIM_MAXLEN ?
			    s->r.length <= (uint64_t)a->maxlen :
			    mid_cmp(&nw.ids[i], &a->minid) >= 0)
				break;
			if (nw.dead[i])
				continue;
			if ((ret = store_rentry_del(txn, s->r.rid,
			    &nw.ids[i])) != STORE_OK)
				return (ret);
			s->r.length--;
			(*deleted)++;
		}
		break;
	}
	if (*deleted != 0)
		return (stream_fix_edges(txn, s));
	return (STORE_OK);
}

/*
 * Parses XADD's or XTRIM's options from argv[2], as Redis's
 * streamParseAddOrTrimArgsOrReply(); returns the index of XADD's id, or
 * -1 after replying an error.
 */
static int
parse_add_trim(struct rclient *rc, int argc, struct rarg *argv, int xadd,
    struct addtrim *a)
{
	int	i, more, minid, limit_given = 0;

	memset(a, 0, sizeof *a);
	for (i = 2; i < argc; i++) {
		more = argc - 1 - i;
		if (xadd && strcmp(argv[i].p, "*") == 0)
			break;
		if ((resp_arg_is(&argv[i], "maxlen") ||
		    resp_arg_is(&argv[i], "minid")) && more) {
			if (a->strategy != TRIM_NONE) {
				resp_add_errorf(rc, "syntax error, MAXLEN and "
				    "MINID options at the same time are not "
				    "compatible");
				return (-1);
			}
			minid = resp_arg_is(&argv[i], "minid");
			a->approx = 0;
			if (more >= 2 && (strcmp(argv[i + 1].p, "~") == 0 ||
			    strcmp(argv[i + 1].p, "=") == 0)) {
				a->approx = argv[i + 1].p[0] == '~';
				i++;
			}
			if (minid) {
				if (id_parse_reply(rc, &argv[i + 1], &a->minid,
				    0, 1) != 0)
					return (-1);
			} else {
				if (resp_arg_ll(rc, &argv[i + 1], &a->maxlen,
				    NULL) != 0)
					return (-1);
				if (a->maxlen < 0) {
					resp_add_errorf(rc, "The MAXLEN "
					    "argument must be >= 0.");
					return (-1);
				}
			}
			i++;
			a->strategy = minid ? TRIM_MINID : TRIM_MAXLEN;
		} else if (resp_arg_is(&argv[i], "limit") && more) {
			if (resp_arg_ll(rc, &argv[i + 1], &a->limit, NULL) != 0)
				return (-1);
			if (a->limit < 0) {
				resp_add_errorf(rc, "The LIMIT argument must "
				    "be >= 0.");
				return (-1);
			}
			limit_given = 1;
			i++;
		} else if (xadd && resp_arg_is(&argv[i], "nomkstream"))
			a->no_mkstream = 1;
		else if (xadd) {
			if (id_parse(&argv[i], &a->id, 0, 1, &a->seq_given) !=
			    0) {
				resp_add_err(rc, RESP_ERR_BADID);
				return (-1);
			}
			a->id_given = 1;
			break;
		} else {
			resp_add_err(rc, RESP_ERR_SYNTAX);
			return (-1);
		}
	}
	if (a->limit != 0 && a->strategy == TRIM_NONE) {
		resp_add_errorf(rc, "syntax error, LIMIT cannot be used "
		    "without specifying a trimming strategy");
		return (-1);
	}
	if (!xadd && a->strategy == TRIM_NONE) {
		resp_add_errorf(rc, "syntax error, XTRIM must be called with a "
		    "trimming strategy");
		return (-1);
	}
	if (limit_given) {
		if (!a->approx) {
			resp_add_errorf(rc, "syntax error, LIMIT cannot be "
			    "used without the special ~ option");
			return (-1);
		}
	} else if (a->approx)
		a->limit = TRIM_LIMIT_MAX;
	else
		a->limit = 0;
	return (i);
}

/* ---------------------------------------------------------- views */

/* The device behind a queue: view; *found is 0 if it has none. */
static int
view_device(struct txn *txn, const char *user, const char *device,
    struct dev_rec *d, int *found)
{
	int	ret;

	ret = store_device_get(txn, user, device, d);
	*found = ret == STORE_OK;
	return (ret == STORE_NOTFOUND ? STORE_OK : ret);
}

/*
 * An item as a stream entry: its JSON members as fields, string values as
 * they are and other values as JSON text.
 */
static void
add_item(struct rclient *rc, const struct mid *id, const struct item *it)
{
	const char	*k;
	json_t		*obj, *v;
	char		*text;

	resp_add_array(rc, 2);
	resp_add_mid(rc, id);
	obj = json_loadb(it->data, it->len, 0, NULL);
	if (!json_is_object(obj)) {
		resp_add_array(rc, 2);
		resp_add_str(rc, "data");
		resp_add_bulk(rc, it->data, it->len);
		json_decref(obj);
		return;
	}
	resp_add_array(rc, (long long)json_object_size(obj) * 2);
	json_object_foreach(obj, k, v) {
		resp_add_str(rc, k);
		if (json_is_string(v))
			resp_add_bulk(rc, json_string_value(v),
			    json_string_length(v));
		else if ((text = json_dumps(v, JSON_COMPACT |
		    JSON_ENCODE_ANY)) != NULL) {
			resp_add_str(rc, text);
			free(text);
		} else
			resp_add_null(rc);
	}
	json_decref(obj);
}

/* A walk over a queue's items. */
struct item_walk {
	struct rclient	*rc;
	struct mid	 end;
	long long	 count;
	long long	 n;
	struct mid	 last;
	struct mid	*ids;		/* collect for a reverse reply */
	size_t		 nids, cap;
};

/* Queue walk callback: replies items up to end and count. */
static int
item_emit_fn(void *arg, const struct mid *id, const struct item *it)
{
	struct item_walk	*iw = arg;

	if (mid_cmp(id, &iw->end) > 0)
		return (STORE_WALK_STOP);
	add_item(iw->rc, id, it);
	iw->last = *id;
	if (++iw->n == iw->count)
		return (STORE_WALK_STOP);
	return (STORE_WALK_NEXT);
}

/* Queue walk callback: collects the ids up to end. */
static int
item_id_fn(void *arg, const struct mid *id, const struct item *it)
{
	struct item_walk	*iw = arg;

	(void)it;
	if (mid_cmp(id, &iw->end) > 0)
		return (STORE_WALK_STOP);
	ids_add(&iw->ids, &iw->nids, &iw->cap, id);
	return (STORE_WALK_NEXT);
}

/*
 * Replies a queue's items with start <= mid <= end (reverse with rev), at
 * most count (0: all), without the array header; *n gets the number.
 */
static int
view_range(struct rclient *rc, struct txn *txn, uint64_t qid,
    const struct mid *start, const struct mid *end, int rev, long long count,
    long long *n, struct mid *last)
{
	struct item_walk	iw;
	struct item		it;
	struct mid		after = *start;
	size_t			i;
	int			ret, from_head;

	memset(&iw, 0, sizeof iw);
	iw.rc = rc;
	iw.end = *end;
	iw.count = rev ? 0 : count;
	from_head = mid_decr(&after) != 0;
	if (!rev) {
		ret = store_queue_walk(txn, qid, from_head ? NULL : &after,
		    item_emit_fn, &iw);
		*n = iw.n;
		if (last != NULL)
			*last = iw.last;
		return (ret);
	}
	ret = store_queue_walk(txn, qid, from_head ? NULL : &after, item_id_fn,
	    &iw);
	*n = 0;
	for (i = iw.nids; ret == STORE_OK && i > 0; i--) {
		if (count != 0 && *n == count)
			break;
		if ((ret = store_queue_get(txn, qid, &iw.ids[i - 1], &it)) ==
		    STORE_OK) {
			add_item(rc, &iw.ids[i - 1], &it);
			(*n)++;
		}
	}
	free(iw.ids);
	return (ret);
}

/* The cursor of a queue: view's consumer, created at 0-0. */
static struct view_cursor *
view_cursor(const struct rarg *key, const struct rarg *consumer)
{
	struct view_cursor	*vc;
	size_t			 len = key->len + 1 + consumer->len;

	TAILQ_FOREACH(vc, &view_cursors, entry) {
		if (vc->len == len && memcmp(vc->key, key->p, key->len) == 0 &&
		    memcmp(vc->key + key->len + 1, consumer->p,
		    consumer->len) == 0) {
			TAILQ_REMOVE(&view_cursors, vc, entry);
			TAILQ_INSERT_HEAD(&view_cursors, vc, entry);
			return (vc);
		}
	}
	if (view_ncursors == VIEW_CURSORS_MAX) {
		vc = TAILQ_LAST(&view_cursors, view_cursors);
		TAILQ_REMOVE(&view_cursors, vc, entry);
		free(vc->key);
		free(vc);
		view_ncursors--;
	}
	vc = xcalloc(1, sizeof *vc);
	vc->key = xmalloc(len);
	memcpy(vc->key, key->p, key->len);
	vc->key[key->len] = '\0';
	memcpy(vc->key + key->len + 1, consumer->p, consumer->len);
	vc->len = len;
	TAILQ_INSERT_HEAD(&view_cursors, vc, entry);
	view_ncursors++;
	return (vc);
}

/* Queue walk callback: the last item's mid. */
static int
last_item_fn(void *arg, const struct mid *id, const struct item *it)
{
	(void)it;
	*(struct mid *)arg = *id;
	return (STORE_WALK_NEXT);
}

/* A read of a view that is not a stream, or does not read that way. */
static void
view_wrong(struct rclient *rc, const struct rarg *key, enum resp_view v)
{
	if (v == RV_BLOCKED || v == RV_LASTSEEN)
		resp_add_err(rc, RESP_ERR_WRONGTYPE);
	else
		resp_view_refuse(rc, key);
}

/* ---------------------------------------------------------- XADD */

/* Whether len bytes at p are UTF-8, as a JSON string must be. */
static int
utf8_text(const char *p, size_t len)
{
	json_t	*v = json_stringn(p, len);

	json_decref(v);
	return (v != NULL);
}

/*
 * XADD inbox:USER * from SENDER body TEXT [id ID]: a chat send from
 * SENDER, through queue_send() as the WebSocket's send op.  The RESP
 * client is no device of SENDER ("resp"), so every device of SENDER gets
 * the copy.  Replies the new mid, or the first one on a repeated id.
 */
static void
inbox_send(struct rclient *rc, const char *to, int argc, struct rarg *argv,
    int idpos, const struct addtrim *a)
{
	struct send_req	 req;
	struct send_res	 res;
	struct user_rec	 u;
	struct txn	*txn;
	const struct rarg *fromv = NULL, *body = NULL, *idv = NULL;
	const char	*from, *id;
	char		 gen[3 + 32 + 1];
	uint8_t		 rnd[16];
	int		 j, ret;

	if (a->id_given || a->no_mkstream || a->strategy != TRIM_NONE) {
		resp_add_errorf(rc, "inbox: takes only XADD inbox:USER * from "
		    "SENDER body TEXT [id ID]: tickd assigns the mid");
		return;
	}
	for (j = idpos + 1; j + 1 < argc; j += 2) {
		if (strcmp(argv[j].p, "from") == 0 && fromv == NULL)
			fromv = &argv[j + 1];
		else if (strcmp(argv[j].p, "body") == 0 && body == NULL)
			body = &argv[j + 1];
		else if (strcmp(argv[j].p, "id") == 0 && idv == NULL)
			idv = &argv[j + 1];
		else {
			resp_add_errorf(rc, "inbox: unknown or repeated field "
			    "'%.32s'; the fields are from, body and id",
			    argv[j].p);
			return;
		}
	}
	if (fromv == NULL || body == NULL ||
	    !valid_user(fromv->p, fromv->len)) {
		resp_add_errorf(rc, "inbox: needs the fields from (a user) and "
		    "body");
		return;
	}
	from = fromv->p;
	if (idv != NULL && (idv->len == 0 || idv->len > CLIENT_ID_MAX ||
	    strlen(idv->p) != idv->len || !utf8_text(idv->p, idv->len))) {
		resp_add_errorf(rc, "inbox: id is 1 to 64 bytes of UTF-8 text");
		return;
	}
	id = idv != NULL ? idv->p : NULL;
	if (!limit_send(from)) {
		srv.stats.rate_limited++;
		resp_add_errorf(rc, "rate limited: send_rate exceeded; nothing "
		    "was stored");
		return;
	}
	if ((txn = resp_txn(rc, 1)) == NULL)
		return;
	if ((ret = store_user_get(txn, from, &u)) != STORE_OK) {
		if (ret == STORE_NOTFOUND)
			resp_add_errorf(rc, "no such user '%s'", from);
		else
			resp_add_store_error(rc, ret);
		return;
	}
	if (id == NULL) {
		/* Every send has an id: one of RESP without is random. */
		if (RAND_bytes(rnd, sizeof rnd) != 1) {
			resp_add_err(rc, RESP_ERR_STORE);
			return;
		}
		memcpy(gen, "rs-", 3);
		hex_encode(rnd, sizeof rnd, gen + 3);
		id = gen;
	}
	memset(&req, 0, sizeof req);
	req.from = from;
	req.from_device = "resp";
	req.media = NULL;
	req.to = to;
	req.id = id;
	req.now = now_ms();
	if ((req.body = json_stringn(body->p, body->len)) == NULL) {
		resp_add_errorf(rc, "inbox: body must be UTF-8 text");
		return;
	}
	ret = queue_send(txn, &srv.midgen, &srv.conf, &req, &res);
	json_decref(req.body);
	if (ret != STORE_OK) {
		resp_add_store_error(rc, ret);
		goto out;
	}
	switch (res.err) {
	case TE_OK:
		break;
	case TE_NO_SUCH_USER:
		resp_add_errorf(rc, "no such user");
		goto out;
	case TE_TOO_LARGE:
		resp_add_errorf(rc, "too large: body exceeds "
		    "max_message_bytes");
		goto out;
	case TE_QUEUE_FULL:
		resp_add_errorf(rc, "queue full: the recipient's queue is "
		    "full");
		goto out;
	default:
		resp_add_errorf(rc, "%s", err_code(res.err));
		goto out;
	}
	if (!res.dup)
		srv.stats.accepted++;
	resp_add_mid(rc, &res.mid);
	pump_targets(&res.targets);
out:
	targets_free(&res.targets);
}

/* XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT n]] id f v ... */
void
resp_stream_xadd(struct rclient *rc, int argc, struct rarg *argv)
{
	char		 user[NAME_USER_MAX + 1], device[NAME_DEVICE_MAX + 1];
	struct addtrim	 a;
	struct stream	 s;
	struct txn	*txn;
	struct rbuf	*fv;
	struct mid	 id;
	long long	 deleted;
	uint64_t	 node;
	int		 idpos, fpos, nfields, j, ret;

	if ((idpos = parse_add_trim(rc, argc, argv, 1, &a)) < 0)
		return;
	fpos = idpos + 1;
	if (argc - fpos < 2 || (argc - fpos) % 2 == 1) {
		resp_add_errorf(rc, "wrong number of arguments for 'xadd' "
		    "command");
		return;
	}
	if (a.id_given && a.seq_given && mid_iszero(&a.id)) {
		resp_add_errorf(rc, "The ID specified in XADD must be greater "
		    "than 0-0");
		return;
	}
	if (resp_view(&argv[1], user, device) == RV_INBOX) {
		inbox_send(rc, user, argc, argv, idpos, &a);
		return;
	}
	if (resp_view_refuse(rc, &argv[1]) || resp_key_check(rc, &argv[1]))
		return;
	if ((txn = resp_txn(rc, 1)) == NULL ||
	    stream_get(rc, txn, &argv[1], &s) != 0)
		return;
	if (!s.found) {
		if (a.no_mkstream) {
			resp_add_null(rc);
			return;
		}
		if ((ret = stream_create(txn, &s)) != STORE_OK) {
			resp_add_store_error(rc, ret);
			return;
		}
	}
	if (s.r.last_id.ms == UINT64_MAX && s.r.last_id.seq == UINT64_MAX) {
		resp_add_errorf(rc, "The stream has exhausted the last "
		    "possible ID, unable to add more items");
		return;
	}
	if (!a.id_given) {
		/* streamNextID(): never backwards, even if the clock is. */
		id.ms = now_ms();
		id.seq = 0;
		if (id.ms <= s.r.last_id.ms) {
			id = s.r.last_id;
			mid_incr(&id);
		}
	} else if (!a.seq_given && a.id.ms == s.r.last_id.ms) {
		if (s.r.last_id.seq == UINT64_MAX) {
			resp_add_errorf(rc, "The ID specified in XADD is equal "
			    "or smaller than the target stream top item");
			return;
		}
		id = s.r.last_id;
		id.seq++;
	} else
		id = a.id;
	if (mid_cmp(&id, &s.r.last_id) <= 0) {
		resp_add_errorf(rc, "The ID specified in XADD is equal or "
		    "smaller than the target stream top item");
		return;
	}
	nfields = (argc - fpos) / 2;
	fv = xcalloc((size_t)(argc - fpos), sizeof *fv);
	for (j = fpos; j < argc; j++) {
		fv[j - fpos].p = argv[j].p;
		fv[j - fpos].len = argv[j].len;
	}
	node = node_append(&s.r, &id, nfields, &argv[fpos]);
	ret = store_rentry_put(txn, s.r.rid, &id, node, fv,
	    (uint32_t)(argc - fpos));
	free(fv);
	if (ret == STORE_OK) {
		if (s.r.length++ == 0)
			s.r.first_id = id;
		s.r.entries_added++;
		s.r.last_id = id;
		s.dirty = 1;
		ret = stream_trim(txn, &s, &a, &deleted);
	}
	if (ret == STORE_OK)
		ret = stream_put(txn, &s);
	if (ret != STORE_OK) {
		resp_add_store_error(rc, ret);
		return;
	}
	resp_add_mid(rc, &id);
	resp_key_touched(argv[1].p, argv[1].len);
}

/* ---------------------------------------------------------- reads */

/* XLEN key; a queue: view counts the device's items. */
void
resp_stream_xlen(struct rclient *rc, int argc, struct rarg *argv)
{
	char		 user[NAME_USER_MAX + 1], device[NAME_DEVICE_MAX + 1];
	struct dev_rec	 d;
	struct stream	 s;
	struct txn	*txn;
	enum resp_view	 v;
	int		 found, ret;

	(void)argc;
	if ((txn = resp_txn(rc, 0)) == NULL)
		return;
	v = resp_view(&argv[1], user, device);
	if (v == RV_QUEUE) {
		if ((ret = view_device(txn, user, device, &d, &found)) !=
		    STORE_OK)
			resp_add_store_error(rc, ret);
		else
			resp_add_int(rc, found ? (long long)d.count : 0);
		return;
	}
	if (v != RV_NONE) {
		view_wrong(rc, &argv[1], v);
		return;
	}
	if (stream_get(rc, txn, &argv[1], &s) == 0)
		resp_add_int(rc, s.found ? (long long)s.r.length : 0);
}

/* XRANGE and XREVRANGE: key start end [COUNT n], reversed with rev. */
static void
xrange(struct rclient *rc, int argc, struct rarg *argv, int rev)
{
	char		 user[NAME_USER_MAX + 1], device[NAME_DEVICE_MAX + 1];
	struct stream	 s;
	struct dev_rec	 d;
	struct txn	*txn;
	struct evbuffer	*saved;
	struct mid	 start, end;
	enum resp_view	 v;
	long long	 count = -1, n;
	int		 j, ret, found;

	if (id_bound(rc, &argv[rev ? 3 : 2], &start, 0, 1) != 0 ||
	    id_bound(rc, &argv[rev ? 2 : 3], &end, UINT64_MAX, -1) != 0)
		return;
	for (j = 4; j < argc; j++) {
		if (resp_arg_is(&argv[j], "count") && argc - j - 1 >= 1) {
			if (resp_arg_ll(rc, &argv[j + 1], &count, NULL) != 0)
				return;
			if (count < 0)
				count = 0;
			j++;
		} else {
			resp_add_err(rc, RESP_ERR_SYNTAX);
			return;
		}
	}
	if ((txn = resp_txn(rc, 0)) == NULL)
		return;
	v = resp_view(&argv[1], user, device);
	if (v != RV_NONE && v != RV_QUEUE) {
		view_wrong(rc, &argv[1], v);
		return;
	}
	if (v == RV_QUEUE) {
		if ((ret = view_device(txn, user, device, &d, &found)) !=
		    STORE_OK) {
			resp_add_store_error(rc, ret);
			return;
		}
		s.found = found;
	} else if (stream_get(rc, txn, &argv[1], &s) != 0)
		return;
	if (!s.found) {
		resp_add_array(rc, 0);
		return;
	}
	if (count == 0) {
		resp_add_null_array(rc);
		return;
	}
	if (count == -1)
		count = 0;
	saved = resp_nest(rc);
	if (v == RV_QUEUE)
		ret = view_range(rc, txn, d.qid, &start, &end, rev, count, &n,
		    NULL);
	else
		ret = emit_range(rc, txn, &s, rev ? &end : &start,
		    rev ? &start : &end, rev, count, &n);
	if (ret != STORE_OK) {
		resp_nest_abort(rc, saved);
		resp_add_store_error(rc, ret);
		return;
	}
	resp_nest_end(rc, saved, '*', n);
}

/* XRANGE key start end [COUNT n] */
void
resp_stream_xrange(struct rclient *rc, int argc, struct rarg *argv)
{
	xrange(rc, argc, argv, 0);
}

/* XREVRANGE key end start [COUNT n] */
void
resp_stream_xrevrange(struct rclient *rc, int argc, struct rarg *argv)
{
	xrange(rc, argc, argv, 1);
}

/* ---------------------------------------------------------- writes */

/* XDEL key id [id ...] */
void
resp_stream_xdel(struct rclient *rc, int argc, struct rarg *argv)
{
	struct stream	 s;
	struct txn	*txn;
	struct mid	*ids;
	long long	 deleted = 0;
	int		 j, ret = STORE_OK;

	if ((txn = stream_open(rc, &argv[1], 1, &s)) == NULL)
		return;
	if (!s.found) {
		resp_add_int(rc, 0);
		return;
	}
	if ((ids = parse_ids(rc, argc, argv, 2)) == NULL)
		return;
	for (j = 2; j < argc && ret == STORE_OK; j++) {
		ret = store_rentry_del(txn, s.r.rid, &ids[j]);
		if (ret == STORE_NOTFOUND) {
			ret = STORE_OK;
			continue;
		}
		if (ret != STORE_OK ||
		    (ret = node_purge_if_empty(txn, &s, &ids[j])) != STORE_OK)
			break;
		s.r.length--;
		if (mid_cmp(&ids[j], &s.r.max_deleted) > 0)
			s.r.max_deleted = ids[j];
		deleted++;
	}
	free(ids);
	if (ret == STORE_OK && deleted != 0) {
		if ((ret = stream_fix_edges(txn, &s)) == STORE_OK)
			ret = stream_put(txn, &s);
	}
	if (ret != STORE_OK) {
		resp_add_store_error(rc, ret);
		return;
	}
	resp_add_int(rc, deleted);
}

/* XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count] */
void
resp_stream_xtrim(struct rclient *rc, int argc, struct rarg *argv)
{
	struct addtrim	 a;
	struct stream	 s;
	struct txn	*txn;
	long long	 deleted;
	int		 ret;

	if ((txn = stream_open(rc, &argv[1], 1, &s)) == NULL)
		return;
	if (!s.found) {
		resp_add_int(rc, 0);
		return;
	}
	if (parse_add_trim(rc, argc, argv, 0, &a) < 0)
		return;
	if ((ret = stream_trim(txn, &s, &a, &deleted)) == STORE_OK)
		ret = stream_put(txn, &s);
	if (ret != STORE_OK) {
		resp_add_store_error(rc, ret);
		return;
	}
	resp_add_int(rc, deleted);
}

/* XSETID key last-id [ENTRIESADDED n] [MAXDELETEDID id] */
void
resp_stream_xsetid(struct rclient *rc, int argc, struct rarg *argv)
{
	struct stream	 s;
	struct txn	*txn;
	struct mid	 id, maxdel = { 0, 0 }, top;
	long long	 added = -1;
	int		 i, ret;

	if (id_parse_reply(rc, &argv[2], &id, 0, 1) != 0)
		return;
	for (i = 3; i < argc; i += 2) {
		if (resp_arg_is(&argv[i], "entriesadded") && argc - 1 - i) {
			if (resp_arg_ll(rc, &argv[i + 1], &added, NULL) != 0)
				return;
			if (added < 0) {
				resp_add_errorf(rc, "entries_added must be "
				    "positive");
				return;
			}
		} else if (resp_arg_is(&argv[i], "maxdeletedid") &&
		    argc - 1 - i) {
			if (id_parse_reply(rc, &argv[i + 1], &maxdel, 0,
			    1) != 0)
				return;
			if (mid_cmp(&id, &maxdel) < 0) {
				resp_add_errorf(rc, "The ID specified in "
				    "XSETID is smaller than the provided "
				    "max_deleted_entry_id");
				return;
			}
		} else {
			resp_add_err(rc, RESP_ERR_SYNTAX);
			return;
		}
	}
	if ((txn = stream_open(rc, &argv[1], 1, &s)) == NULL)
		return;
	if (!s.found) {
		resp_add_err(rc, RESP_ERR_NOKEY);
		return;
	}
	if (s.r.length > 0) {
		if ((ret = stream_edge(txn, &s, 1, &top)) != STORE_OK) {
			resp_add_store_error(rc, ret);
			return;
		}
		if (mid_cmp(&id, &top) < 0) {
			resp_add_errorf(rc, "The ID specified in XSETID is "
			    "smaller than the target stream top item");
			return;
		}
		if (added != -1 && s.r.length > (uint64_t)added) {
			resp_add_errorf(rc, "The entries_added specified in "
			    "XSETID is smaller than the target stream length");
			return;
		}
	}
	s.r.last_id = id;
	if (added != -1)
		s.r.entries_added = (uint64_t)added;
	if (!mid_iszero(&maxdel))
		s.r.max_deleted = maxdel;
	s.dirty = 1;
	if ((ret = stream_put(txn, &s)) != STORE_OK) {
		resp_add_store_error(rc, ret);
		return;
	}
	resp_add_ok(rc);
}

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
static int
group_get(struct txn *txn, const struct stream *s, const struct rarg *name,
    struct rgroup_rec *g)
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
    struct stream *s, struct rgroup_rec *g)
{
	struct txn	*txn;
	int		 ret;

	if ((txn = stream_open(rc, &argv[1], write, s)) == NULL)
		return (NULL);
	if ((ret = group_get(txn, s, &argv[2], g)) != 0) {
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
static int
consumer_get(struct txn *txn, struct rgroup_rec *g, const struct rarg *name,
    struct rcons_rec *c, int norefresh, int *created)
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
	char	name[RNAME_MAX];
	size_t	len = p->clen;
	int	ret;

	memcpy(name, p->consumer, len);	/* p points into the map */
	if ((ret = store_rpel_del(txn, g->gid, id)) != STORE_OK)
		return (ret);
	if (g->pending > 0)
		g->pending--;
	return (consumer_pending(txn, g->gid, name, len, -1));
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
resp_stream_xgroup(struct rclient *rc, int argc, struct rarg *argv)
{
	struct stream		 s;
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
	if ((txn = stream_open(rc, &argv[2], 1, &s)) == NULL)
		return;
	if (!s.found && !mkstream) {
		resp_add_errorf(rc, "The XGROUP subcommand requires the key to "
		    "exist. Note that for CREATE you may want to use the "
		    "MKSTREAM option to create an empty stream automatically.");
		return;
	}
	if ((gret = group_get(txn, &s, &argv[3], &g)) < 0) {
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
		else if (id_parse_reply(rc, &argv[4], &id, 0, 1) != 0)
			return;
		if (argv[3].len > RNAME_MAX) {
			resp_add_err(rc, RESP_ERR_NAMELEN);
			return;
		}
		if (!s.found && (ret = stream_create(txn, &s)) == STORE_OK)
			ret = stream_put(txn, &s);
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
			ret = stream_put(txn, &s);
		}
		if (ret == STORE_OK)
			resp_add_ok(rc);
	} else if (strcasecmp(op, "setid") == 0 && (argc == 5 || argc == 7)) {
		if (strcmp(argv[4].p, "$") == 0)
			id = s.r.last_id;
		else if (id_parse_reply(rc, &argv[4], &id, 0, 0) != 0)
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
			ret = stream_put(txn, &s);
		}
		if (ret == STORE_OK) {
			resp_add_int(rc, 1);
			/* Parked XREADGROUPs of the group get NOGROUP. */
			resp_key_touched(argv[2].p, argv[2].len);
		}
	} else if (strcasecmp(op, "createconsumer") == 0 && argc == 5) {
		if (argv[4].len > RNAME_MAX) {
			resp_add_err(rc, RESP_ERR_NAMELEN);
			return;
		}
		ret = store_rcons_get(txn, g.gid, argv[4].p, argv[4].len, &c);
		if (ret == STORE_OK) {
			resp_add_int(rc, 0);
			return;
		}
		if (ret == STORE_NOTFOUND &&
		    (ret = consumer_get(txn, &g, &argv[4], &c, 0, &created)) ==
		    STORE_OK && (ret = store_rgroup_put(txn, s.r.rid, argv[3].p,
		    argv[3].len, &g)) == STORE_OK)
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
	ids_add(&pw->ids, &pw->n, &pw->cap, id);
	return (STORE_WALK_NEXT);
}

/* XGROUP DELCONSUMER: the consumer and its pending entries go. */
static int
delconsumer(struct rclient *rc, struct txn *txn, struct stream *s,
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

/* ---------------------------------------------------------- XREAD */

/* What XREAD and XREADGROUP parsed. */
struct xread {
	int			 group;		/* XREADGROUP */
	long long		 timeout;	/* ms, -1: no BLOCK */
	long long		 count;
	int			 noack;
	const struct rarg	*gname, *cname;
	int			 first;		/* argv index of the keys */
	int			 nkeys;
};

/* Entry walk callback: collects ids after emitting (for group reads). */
struct served {
	struct emit	 em;
	struct mid	*ids;
	size_t		 n, cap;
};

/* Entry walk callback: replies an entry and keeps its id. */
static int
served_fn(void *arg, const struct mid *id, const struct rentry *e)
{
	struct served	*sv = arg;

	ids_add(&sv->ids, &sv->n, &sv->cap, id);
	return (emit_fn(&sv->em, id, e));
}

/*
 * Serves new entries of s to consumer cname of group g (XREADGROUP ">"):
 * replies them, moves the group's last id and read counter as Redis does,
 * and unless noack puts them in the PEL.
 */
static int
serve_group_new(struct rclient *rc, struct txn *txn, struct stream *s,
    struct rgroup_rec *g, const struct xread *x)
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
static int
serve_group_history(struct rclient *rc, struct txn *txn, struct stream *s,
    struct rgroup_rec *g, const struct xread *x, const struct mid *start)
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
		add_entry(rc, &pw.ids[i], &e);
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

/* Parses XREAD's and XREADGROUP's options; -1 after an error reply. */
static int
xread_parse(struct rclient *rc, int argc, struct rarg *argv,
    struct xread *x)
{
	int	i, more;

	for (i = 1; i < argc; i++) {
		more = argc - i - 1;
		if (resp_arg_is(&argv[i], "block") && more) {
			i++;
			if (resp_arg_ll(rc, &argv[i], &x->timeout, "timeout is "
			    "not an integer or out of range") != 0)
				return (-1);
			if (x->timeout < 0) {
				resp_add_errorf(rc, "timeout is negative");
				return (-1);
			}
		} else if (resp_arg_is(&argv[i], "count") && more) {
			if (resp_arg_ll(rc, &argv[++i], &x->count, NULL) != 0)
				return (-1);
			if (x->count < 0)
				x->count = 0;
		} else if (resp_arg_is(&argv[i], "streams") && more) {
			x->first = i + 1;
			x->nkeys = argc - x->first;
			if (x->nkeys % 2 != 0) {
				resp_add_errorf(rc, "Unbalanced %s list of "
				    "streams: for each stream key an ID or "
				    "'%c' must be specified.", x->group ?
				    "XREADGROUP" : "XREAD", x->group ? '>' :
				    '$');
				return (-1);
			}
			x->nkeys /= 2;
			break;
		} else if (resp_arg_is(&argv[i], "group") && more >= 2) {
			if (!x->group) {
				resp_add_errorf(rc, "The GROUP option is only "
				    "supported by XREADGROUP. You called XREAD "
				    "instead.");
				return (-1);
			}
			x->gname = &argv[i + 1];
			x->cname = &argv[i + 2];
			i += 2;
		} else if (resp_arg_is(&argv[i], "noack")) {
			if (!x->group) {
				resp_add_errorf(rc, "The NOACK option is only "
				    "supported by XREADGROUP. You called XREAD "
				    "instead.");
				return (-1);
			}
			x->noack = 1;
		} else {
			resp_add_err(rc, RESP_ERR_SYNTAX);
			return (-1);
		}
	}
	if (x->first == 0) {
		resp_add_err(rc, RESP_ERR_SYNTAX);
		return (-1);
	}
	if (x->group && x->gname == NULL) {
		resp_add_errorf(rc, "Missing GROUP option for XREADGROUP");
		return (-1);
	}
	return (0);
}

/* The header of one stream's part of an XREAD reply. */
static void
add_read_key(struct rclient *rc, const struct rarg *key)
{
	if (!resp_is3(rc))
		resp_add_array(rc, 2);
	resp_add_bulk(rc, key->p, key->len);
}

/* XREADGROUP's NOGROUP: key is missing or has no group gname. */
static void
add_read_nogroup(struct rclient *rc, const struct rarg *key,
    const struct rarg *gname)
{
	resp_add_errorf(rc, "-NOGROUP No such key '%s' or consumer group '%s' "
	    "in XREADGROUP with GROUP option", key->p, gname->p);
}

/* Puts the id "$" stands for into its argument: a parked read keeps it. */
static void
read_resolve(struct rarg *ida, const struct mid *id)
{
	char	buf[MID_STRLEN + 1];

	mid_format(id, buf);
	resp_arg_set(ida, buf);
}

/*
 * Ends an XREAD reply begun at saved: the streams that had something to
 * read, or if none the client parks (BLOCK) or gets nil.
 */
static void
read_end(struct rclient *rc, struct evbuffer *saved, const struct rarg *argv,
    const struct xread *x, long long served)
{
	if (served > 0) {
		resp_nest_end(rc, saved, resp_is3(rc) ? '%' : '*', served);
		return;
	}
	resp_nest_abort(rc, saved);
	if (x->timeout != -1)
		resp_block(rc, &argv[x->first], x->nkeys,
		    (uint64_t)x->timeout);
	else
		resp_add_null_array(rc);
}

/*
 * XREAD and XREADGROUP on queue: views (every key must be one): items
 * after an id, or for XREADGROUP GROUP tickd ">" after the consumer's
 * cursor.
 */
static void
xread_views(struct rclient *rc, struct rarg *argv, const struct xread *x)
{
	char			 user[NAME_USER_MAX + 1];
	char			 device[NAME_DEVICE_MAX + 1];
	struct view_cursor	*vc;
	struct dev_rec		 d;
	struct txn		*txn;
	struct evbuffer		*saved, *ksaved, *esaved;
	struct mid		 id, last;
	struct rarg		*key, *ida;
	long long		 n, served = 0;
	int			 i, found, ret, history;

	if (x->group && strcmp(x->gname->p, VIEW_GROUP) != 0) {
		add_read_nogroup(rc, &argv[x->first], x->gname);
		return;
	}
	if ((txn = resp_txn(rc, 0)) == NULL)
		return;
	saved = resp_nest(rc);
	for (i = 0; i < x->nkeys; i++) {
		key = &argv[x->first + i];
		ida = &argv[x->first + x->nkeys + i];
		resp_view(key, user, device);
		if ((ret = view_device(txn, user, device, &d, &found)) !=
		    STORE_OK)
			goto store_error;
		if (x->group && !found) {
			resp_nest_abort(rc, saved);
			add_read_nogroup(rc, key, x->gname);
			return;
		}
		vc = NULL;
		history = 0;
		if (strcmp(ida->p, "$") == 0 && !x->group) {
			id = mid_zero;
			if (found && (ret = store_queue_walk(txn, d.qid, NULL,
			    last_item_fn, &id)) != STORE_OK)
				goto store_error;
			read_resolve(ida, &id);
		} else if (strcmp(ida->p, ">") == 0 && x->group) {
			vc = view_cursor(key, x->cname);
			id = vc->last;
		} else if (strcmp(ida->p, "$") == 0 ||
		    strcmp(ida->p, ">") == 0) {
			resp_nest_abort(rc, saved);
			if (strcmp(ida->p, "$") == 0)
				resp_add_errorf(rc, "%s", err_dollar);
			else
				resp_add_errorf(rc, "%s", err_gt);
			return;
		} else if (id_parse(ida, &id, 0, 1, NULL) != 0) {
			resp_nest_abort(rc, saved);
			resp_add_err(rc, RESP_ERR_BADID);
			return;
		} else
			history = x->group;
		if (!found)
			continue;
		ksaved = resp_nest(rc);
		add_read_key(rc, key);
		esaved = resp_nest(rc);
		n = 0;
		if (mid_incr(&id) == 0 && (ret = view_range(rc, txn, d.qid,
		    &id, &mid_max, 0, x->count, &n, &last)) != STORE_OK) {
			resp_nest_abort(rc, esaved);
			resp_nest_abort(rc, ksaved);
			goto store_error;
		}
		if (n == 0 && !history) {
			resp_nest_abort(rc, esaved);
			resp_nest_abort(rc, ksaved);
			continue;
		}
		if (vc != NULL)
			vc->last = last;
		resp_nest_end(rc, esaved, '*', n);
		resp_nest_end(rc, ksaved, 0, 0);
		served++;
	}
	read_end(rc, saved, argv, x, served);
	return;
store_error:
	resp_nest_abort(rc, saved);
	resp_add_store_error(rc, ret);
}

/*
 * XREAD [COUNT n] [BLOCK ms] STREAMS key ... id ..., and XREADGROUP GROUP
 * g c [COUNT n] [BLOCK ms] [NOACK] STREAMS key ... id ..., as Redis 7.0's
 * xreadCommand(): what can be served now is; otherwise the client parks
 * (with "$" resolved) or gets nil.
 */
static void
xread(struct rclient *rc, int argc, struct rarg *argv, int group)
{
	char			 user[NAME_USER_MAX + 1];
	char			 device[NAME_DEVICE_MAX + 1];
	struct xread		 x;
	struct stream		*ss;
	struct rgroup_rec	*gs;
	struct mid		*ids, top, start;
	struct rcons_rec	 c;
	struct txn		*txn;
	struct evbuffer		*saved, *esaved;
	enum resp_view		 v;
	long long		 n, served = 0;
	int			 i, ret = STORE_OK, views = 0, created, gret;
	struct rarg		*key, *ida;

	memset(&x, 0, sizeof x);
	x.group = group;
	x.timeout = -1;
	if (xread_parse(rc, argc, argv, &x) != 0)
		return;
	for (i = 0; i < x.nkeys; i++) {
		v = resp_view(&argv[x.first + i], user, device);
		if (v == RV_QUEUE)
			views++;
		else if (v != RV_NONE) {
			view_wrong(rc, &argv[x.first + i], v);
			return;
		}
	}
	if (views != 0 && views != x.nkeys) {
		resp_add_errorf(rc, "queue: views cannot be read together "
		    "with other keys");
		return;
	}
	if (views != 0) {
		xread_views(rc, argv, &x);
		return;
	}
	if ((txn = resp_txn(rc, group)) == NULL)
		return;
	ss = xcalloc((size_t)x.nkeys, sizeof *ss);
	gs = xcalloc((size_t)x.nkeys, sizeof *gs);
	ids = xcalloc((size_t)x.nkeys, sizeof *ids);
	for (i = 0; i < x.nkeys; i++) {
		key = &argv[x.first + i];
		ida = &argv[x.first + x.nkeys + i];
		if (stream_get(rc, txn, key, &ss[i]) != 0)
			goto out;
		if (group) {
			gret = group_get(txn, &ss[i], x.gname, &gs[i]);
			if (gret < 0) {
				ret = gret;
				goto out;
			}
			if (gret == 1 && resp_waking(rc) && ss[i].found) {
				resp_add_errorf(rc, "-NOGROUP the consumer "
				    "group this client was blocked on no "
				    "longer exists");
				goto out;
			}
			if (gret == 1 && resp_waking(rc)) {
				resp_block(rc, NULL, 0, 0);
				goto out;
			}
			if (gret == 1) {
				add_read_nogroup(rc, key, x.gname);
				goto out;
			}
		}
		if (strcmp(ida->p, "$") == 0) {
			if (group) {
				resp_add_errorf(rc, "%s", err_dollar);
				goto out;
			}
			ids[i] = ss[i].found ? ss[i].r.last_id : mid_zero;
			read_resolve(ida, &ids[i]);
		} else if (strcmp(ida->p, ">") == 0) {
			if (!group) {
				resp_add_errorf(rc, "%s", err_gt);
				goto out;
			}
			ids[i] = mid_max;
		} else if (id_parse_reply(rc, ida, &ids[i], 0, 1) != 0)
			goto out;
	}
	saved = resp_nest(rc);
	for (i = 0; ret == STORE_OK && i < x.nkeys; i++) {
		if (!ss[i].found)
			continue;
		if (!group || mid_cmp(&ids[i], &mid_max) == 0) {
			if (ss[i].r.length == 0)
				continue;
			if ((ret = stream_edge(txn, &ss[i], 1, &top)) !=
			    STORE_OK)
				break;
			if (mid_cmp(&top, group ? &gs[i].last_id : &ids[i]) <=
			    0)
				continue;
		}
		add_read_key(rc, &argv[x.first + i]);
		if (group) {
			ret = consumer_get(txn, &gs[i], x.cname, &c, 0,
			    &created);
			if (ret == STORE_OK && mid_cmp(&ids[i], &mid_max) == 0)
				ret = serve_group_new(rc, txn, &ss[i], &gs[i],
				    &x);
			else if (ret == STORE_OK)
				ret = serve_group_history(rc, txn, &ss[i],
				    &gs[i], &x, &ids[i]);
			if (ret == STORE_OK)
				ret = store_rgroup_put(txn, ss[i].r.rid,
				    x.gname->p, x.gname->len, &gs[i]);
		} else {
			start = ids[i];
			mid_incr(&start);
			esaved = resp_nest(rc);
			ret = emit_range(rc, txn, &ss[i], &start, &mid_max, 0,
			    x.count, &n);
			resp_nest_end(rc, esaved, '*', n);
		}
		served++;
	}
	if (ret != STORE_OK)
		resp_nest_abort(rc, saved);
	else
		read_end(rc, saved, argv, &x, served);
out:
	if (ret != STORE_OK)
		resp_add_store_error(rc, ret);
	free(ss);
	free(gs);
	free(ids);
}

/* XREAD [COUNT n] [BLOCK ms] STREAMS key ... id ... */
void
resp_stream_xread(struct rclient *rc, int argc, struct rarg *argv)
{
	xread(rc, argc, argv, 0);
}

/* XREADGROUP GROUP g c [COUNT n] [BLOCK ms] [NOACK] STREAMS ... */
void
resp_stream_xreadgroup(struct rclient *rc, int argc, struct rarg *argv)
{
	xread(rc, argc, argv, 1);
}

/* ---------------------------------------------------------- PEL */

/*
 * XACK on queue:USER:DEVICE with group tickd: acks like the device (the
 * item is deleted and the sender gets the delivered receipt).
 */
static void
xack_view(struct rclient *rc, int argc, struct rarg *argv, const char *user,
    const char *device)
{
	struct ack_res	 res;
	struct conn	*c;
	struct txn	*txn;
	struct mid	*ids;
	long long	 acked = 0;
	int		 j, ret = STORE_OK;

	if ((ids = parse_ids(rc, argc, argv, 3)) == NULL)
		return;
	if (strcmp(argv[2].p, VIEW_GROUP) != 0) {
		free(ids);
		resp_add_int(rc, 0);
		return;
	}
	if ((txn = resp_txn(rc, 1)) == NULL) {
		free(ids);
		return;
	}
	c = device_conn(user, device);
	for (j = 3; j < argc && ret == STORE_OK; j++) {
		ret = queue_ack(txn, &srv.midgen, &srv.conf, user, device,
		    &ids[j], now_ms(), &res);
		if (ret == STORE_OK && res.deleted) {
			acked++;
			srv.stats.acked++;
			/* The device's connection had it in flight. */
			if (c != NULL && mid_cmp(&ids[j], &c->cursor) <= 0 &&
			    c->inflight > 0)
				c->inflight--;
		}
		srv.stats.receipts += res.targets.n != 0;
		pump_targets(&res.targets);
		targets_free(&res.targets);
	}
	free(ids);
	if (ret != STORE_OK) {
		resp_add_store_error(rc, ret);
		return;
	}
	if (c != NULL)
		pump_later(c);
	resp_add_int(rc, acked);
}

/* XACK key group id [id ...] */
void
resp_stream_xack(struct rclient *rc, int argc, struct rarg *argv)
{
	char			 user[NAME_USER_MAX + 1];
	char			 device[NAME_DEVICE_MAX + 1];
	struct stream		 s;
	struct rgroup_rec	 g;
	struct rpel_rec		 p;
	struct txn		*txn;
	struct mid		*ids;
	enum resp_view		 v;
	long long		 acked = 0;
	int			 j, gret = 1, ret = STORE_OK;

	v = resp_view(&argv[1], user, device);
	if (v == RV_QUEUE) {
		xack_view(rc, argc, argv, user, device);
		return;
	}
	if (v != RV_NONE) {
		view_wrong(rc, &argv[1], v);
		return;
	}
	if ((txn = resp_txn(rc, 1)) == NULL ||
	    stream_get(rc, txn, &argv[1], &s) != 0)
		return;
	if (s.found && (gret = group_get(txn, &s, &argv[2], &g)) < 0) {
		resp_add_store_error(rc, gret);
		return;
	}
	if (gret != 0) {
		resp_add_int(rc, 0);
		return;
	}
	if ((ids = parse_ids(rc, argc, argv, 3)) == NULL)
		return;
	for (j = 3; gret == 0 && j < argc && ret == STORE_OK; j++) {
		if ((ret = store_rpel_get(txn, g.gid, &ids[j], &p)) ==
		    STORE_NOTFOUND) {
			ret = STORE_OK;
			continue;
		}
		if (ret == STORE_OK && (ret = pel_remove(txn, &g, &ids[j],
		    &p)) == STORE_OK)
			acked++;
	}
	free(ids);
	if (ret == STORE_OK && acked != 0)
		ret = store_rgroup_put(txn, s.r.rid, argv[2].p, argv[2].len,
		    &g);
	if (ret != STORE_OK) {
		resp_add_store_error(rc, ret);
		return;
	}
	resp_add_int(rc, acked);
}

/* Consumer walk callback: [name, pending] of those with pending. */
static int
pending_cons_fn(void *arg, const void *name, size_t len,
    const struct rcons_rec *c)
{
	struct emit	*em = arg;

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
resp_stream_xpending(struct rclient *rc, int argc, struct rarg *argv)
{
	struct stream		 s;
	struct rgroup_rec	 g;
	struct rcons_rec	 c;
	struct rpel_rec		 p;
	struct pel_walk		 pw;
	struct emit		 em;
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
		if (id_bound(rc, &argv[startidx], &start, 0, 1) != 0 ||
		    id_bound(rc, &argv[startidx + 1], &end, UINT64_MAX, -1) !=
		    0)
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
		if ((ret = consumer_get(txn, g, cname, &c, 0, &created)) !=
		    STORE_OK)
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
add_claimed(struct rclient *rc, struct txn *txn, const struct stream *s,
    const struct mid *id, int justid)
{
	struct rentry	e;
	int		ret;

	if (justid) {
		resp_add_mid(rc, id);
		return (STORE_OK);
	}
	if ((ret = store_rentry_get(txn, s->r.rid, id, &e)) == STORE_OK)
		add_entry(rc, id, &e);
	return (ret);
}

/*
 * XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms]
 * [TIME ms] [RETRYCOUNT n] [FORCE] [JUSTID] [LASTID id]
 */
void
resp_stream_xclaim(struct rclient *rc, int argc, struct rarg *argv)
{
	struct stream		 s;
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
		if (id_parse(&argv[j], &id, 0, 1, NULL) != 0)
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
			if (id_parse_reply(rc, &argv[++j], &lastid, 0, 1) != 0)
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
		id_parse(&argv[j], &id, 0, 1, NULL);
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
resp_stream_xautoclaim(struct rclient *rc, int argc, struct rarg *argv)
{
	struct stream		 s;
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
	if (id_bound(rc, &argv[5], &start, 0, 1) != 0)
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
xinfo_stream(struct rclient *rc, struct txn *txn, struct stream *s)
{
	struct evbuffer	*saved;
	struct mid	 first, last;
	uint64_t	 node = 0, keys = 0;
	long long	 n;
	int		 ret;

	if ((ret = stream_edge(txn, s, 0, &first)) != STORE_OK ||
	    (ret = stream_edge(txn, s, 1, &last)) != STORE_OK ||
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
	ret = emit_range(rc, txn, s, &first, &first, 0, 1, &n);
	if (ret == STORE_OK && n == 0)
		resp_add_null(rc);
	resp_nest_end(rc, saved, 0, 0);
	resp_add_str(rc, "last-entry");
	saved = resp_nest(rc);
	if (ret == STORE_OK)
		ret = emit_range(rc, txn, s, &last, &last, 0, 1, &n);
	if (ret == STORE_OK && n == 0)
		resp_add_null(rc);
	resp_nest_end(rc, saved, 0, 0);
}

/* XINFO STREAM key | GROUPS key | CONSUMERS key group */
void
resp_stream_xinfo(struct rclient *rc, int argc, struct rarg *argv)
{
	struct stream		 s;
	struct rgroup_rec	 g;
	struct info		 in;
	struct evbuffer		*saved;
	struct txn		*txn;
	int			 ret;

	if ((txn = stream_open(rc, &argv[2], 0, &s)) == NULL)
		return;
	if (!s.found) {
		resp_add_err(rc, RESP_ERR_NOKEY);
		return;
	}
	memset(&in, 0, sizeof in);
	in.rc = rc;
	in.r = &s.r;
	if (resp_arg_is(&argv[1], "consumers") && argc == 4) {
		if ((ret = group_get(txn, &s, &argv[3], &g)) != 0) {
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
resp_stream_xinfo_help(struct rclient *rc, int argc, struct rarg *argv)
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
resp_stream_xgroup_help(struct rclient *rc, int argc, struct rarg *argv)
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
