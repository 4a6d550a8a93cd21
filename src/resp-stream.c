/* SPDX-License-Identifier: ISC */
/*
 * resp-stream.c: the RESP shim's stream commands, after redis-server 7.0's
 * t_stream.c (tickd-resp(7) COMMANDS): ids, entries and their nodes, XADD,
 * XLEN, XRANGE, XREVRANGE, XDEL, XTRIM, XSETID, and XREAD with XREADGROUP.
 * Consumer groups are in resp-cgroup.c, the stream views of the chat state
 * (inbox:, queue:) in resp-chat.c.
 *
 * Entries are records of the store (store.h); a stream's metadata is its
 * key's record.  Redis keeps entries in nodes of at most 100 (or about 4
 * KiB); the metadata tracks the node the next entry joins the same way,
 * so that "MAXLEN ~" and "MINID ~" remove the same whole nodes Redis
 * would.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tickd.h"

#define NODE_MAX_ENTRIES	100	/* stream-node-max-entries */
#define NODE_MAX_BYTES		4096	/* stream-node-max-bytes */
#define LP_HDR_BYTES		7	/* listpack header and end byte */
#define TRIM_LIMIT_MAX		10000	/* LIMIT of a "~" trim by default */

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

/* ---------------------------------------------------------- ids */

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
int
resp_stream_id_parse(const struct rarg *a, struct mid *id, uint64_t missing_seq,
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

/* resp_stream_id_parse() that replies Redis's error on failure. */
int
resp_stream_id_reply(struct rclient *rc, const struct rarg *a, struct mid *id,
    uint64_t missing_seq, int strict)
{
	if (resp_stream_id_parse(a, id, missing_seq, strict, NULL) == 0)
		return (0);
	resp_add_err(rc, RESP_ERR_BADID);
	return (-1);
}

/*
 * A range bound, as streamParseIntervalIDOrReply(): "(id" is exclusive
 * (and strict); it is made inclusive here with next (1) or previous (-1).
 */
int
resp_stream_id_bound(struct rclient *rc, const struct rarg *a, struct mid *id,
    uint64_t missing_seq, int dir)
{
	struct rarg	t;

	if (a->len > 1 && a->p[0] == '(') {
		t.p = a->p + 1;
		t.len = a->len - 1;
		if (resp_stream_id_reply(rc, &t, id, missing_seq, 1) != 0)
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
	return (resp_stream_id_reply(rc, a, id, missing_seq, 0));
}

/*
 * The strict ids from argv[first] on, at the indexes of their arguments;
 * NULL after replying an error.
 */
struct mid *
resp_stream_ids(struct rclient *rc, int argc, struct rarg *argv, int first)
{
	struct mid	*ids;
	int		 j;

	ids = xcalloc((size_t)argc, sizeof *ids);
	for (j = first; j < argc; j++) {
		if (resp_stream_id_reply(rc, &argv[j], &ids[j], 0, 1) != 0) {
			free(ids);
			return (NULL);
		}
	}
	return (ids);
}

/* Appends id to a walk's array of ids, growing it as needed. */
void
resp_stream_ids_add(struct mid **ids, size_t *n, size_t *cap,
    const struct mid *id)
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
int
resp_stream_get(struct rclient *rc, struct txn *txn, const struct rarg *key,
    struct rstream *s)
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
 * Refuses a view, then finds the stream at key as resp_stream_get(): the
 * transaction, or NULL after replying an error.
 */
struct txn *
resp_stream_open(struct rclient *rc, const struct rarg *key, int write,
    struct rstream *s)
{
	struct txn	*txn;

	if (resp_view_refuse(rc, key) || (txn = resp_txn(rc, write)) == NULL ||
	    resp_stream_get(rc, txn, key, s) != 0)
		return (NULL);
	return (txn);
}

/* Makes a new, empty stream record for s (written by resp_stream_put). */
int
resp_stream_create(struct txn *txn, struct rstream *s)
{
	memset(&s->r, 0, sizeof s->r);
	s->r.type = RTYPE_STREAM;
	s->r.tail_count = NODE_MAX_ENTRIES;	/* the first entry starts one */
	s->dirty = 1;
	return (store_rid_next(txn, &s->r.rid));
}

/* Writes s's record if it changed; a new stream enters the SCAN index. */
int
resp_stream_put(struct txn *txn, struct rstream *s)
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
int
resp_stream_edge(struct txn *txn, const struct rstream *s, int rev,
    struct mid *id)
{
	*id = mid_zero;
	return (store_rentry_walk(txn, s->r.rid, rev ? &mid_max : &mid_zero,
	    rev, 0, first_fn, id));
}

/* An entry as Redis replies it: [id, [field, value, ...]]. */
void
resp_stream_add_entry(struct rclient *rc, const struct mid *id,
    const struct rentry *e)
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
int
resp_stream_emit_fn(void *arg, const struct mid *id, const struct rentry *e)
{
	struct rstream_emit	*em = arg;

	if (em->rev ? mid_cmp(id, &em->end) < 0 : mid_cmp(id, &em->end) > 0)
		return (STORE_WALK_STOP);
	resp_stream_add_entry(em->rc, id, e);
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
int
resp_stream_emit_range(struct rclient *rc, struct txn *txn,
    const struct rstream *s, const struct mid *start, const struct mid *end,
    int rev, long long count, long long *n)
{
	struct rstream_emit	em;
	int		ret;

	memset(&em, 0, sizeof em);
	em.rc = rc;
	em.end = *end;
	em.rev = rev;
	em.count = count;
	ret = store_rentry_walk(txn, s->r.rid, start, rev, 0,
	    resp_stream_emit_fn, &em);
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
node_purge(struct txn *txn, struct rstream *s, const struct node_walk *nw)
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
node_purge_if_empty(struct txn *txn, struct rstream *s, const struct mid *id)
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
stream_fix_edges(struct txn *txn, struct rstream *s)
{
	s->dirty = 1;
	if (s->r.length == 0) {
		s->r.first_id = mid_zero;
		return (STORE_OK);
	}
	return (resp_stream_edge(txn, s, 0, &s->r.first_id));
}

/*
 * Trims a stream as Redis's streamTrim(): whole nodes from the head while
 * the rule allows; with ~ nothing more; otherwise entries of the next node
 * become tombstones.  An approximate trim stops at limit entries.
 */
static int
stream_trim(struct txn *txn, struct rstream *s, const struct rstream_addtrim *a,
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
    struct rstream_addtrim *a)
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
				if (resp_stream_id_reply(rc, &argv[i + 1],
				    &a->minid, 0, 1) != 0)
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
			if (resp_stream_id_parse(&argv[i], &a->id, 0, 1,
			    &a->seq_given) != 0) {
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

/* ---------------------------------------------------------- XADD */

/* XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT n]] id f v ... */
void
resp_stream_xadd(struct rclient *rc, int argc, struct rarg *argv)
{
	char		 user[NAME_USER_MAX + 1], device[NAME_DEVICE_MAX + 1];
	struct rstream_addtrim	 a;
	struct rstream	 s;
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
		resp_chat_send(rc, user, argc, argv, idpos, &a);
		return;
	}
	/* inbox:#g sends to a group (tickd-resp(7)). */
	if (argv[1].len > 6 && memcmp(argv[1].p, "inbox:#", 7) == 0 &&
	    valid_group(argv[1].p + 6, argv[1].len - 6)) {
		resp_chat_send(rc, argv[1].p + 6, argc, argv, idpos, &a);
		return;
	}
	if (resp_view_refuse(rc, &argv[1]))
		return;
	if ((txn = resp_txn(rc, 1)) == NULL ||
	    resp_stream_get(rc, txn, &argv[1], &s) != 0)
		return;
	if (!s.found) {
		if (a.no_mkstream) {
			resp_add_null(rc);
			return;
		}
		if ((ret = resp_stream_create(txn, &s)) != STORE_OK) {
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
		/* Redis 7.0 words this overflow as an entry too large. */
		if (s.r.last_id.seq == UINT64_MAX) {
			resp_add_errorf(rc, "Elements are too large to be "
			    "stored");
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
		ret = resp_stream_put(txn, &s);
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
	struct rstream	 s;
	struct txn	*txn;
	enum resp_view	 v;
	int		 found, ret;

	(void)argc;
	if ((txn = resp_txn(rc, 0)) == NULL)
		return;
	v = resp_view(&argv[1], user, device);
	if (v == RV_QUEUE) {
		if ((ret = resp_chat_device(txn, user, device, &d, &found)) !=
		    STORE_OK)
			resp_add_store_error(rc, ret);
		else
			resp_add_int(rc, found ? (long long)d.count : 0);
		return;
	}
	if (v != RV_NONE) {
		resp_chat_wrong(rc, &argv[1], v);
		return;
	}
	if (resp_stream_get(rc, txn, &argv[1], &s) == 0)
		resp_add_int(rc, s.found ? (long long)s.r.length : 0);
}

/* XRANGE and XREVRANGE: key start end [COUNT n], reversed with rev. */
static void
xrange(struct rclient *rc, int argc, struct rarg *argv, int rev)
{
	char		 user[NAME_USER_MAX + 1], device[NAME_DEVICE_MAX + 1];
	struct rstream	 s;
	struct dev_rec	 d;
	struct txn	*txn;
	struct evbuffer	*saved;
	struct mid	 start, end;
	enum resp_view	 v;
	long long	 count = -1, n;
	int		 j, ret, found;

	if (resp_stream_id_bound(rc, &argv[rev ? 3 : 2], &start, 0, 1) != 0 ||
	    resp_stream_id_bound(rc, &argv[rev ? 2 : 3], &end, UINT64_MAX,
	    -1) != 0)
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
		resp_chat_wrong(rc, &argv[1], v);
		return;
	}
	if (v == RV_QUEUE) {
		if ((ret = resp_chat_device(txn, user, device, &d, &found)) !=
		    STORE_OK) {
			resp_add_store_error(rc, ret);
			return;
		}
		s.found = found;
	} else if (resp_stream_get(rc, txn, &argv[1], &s) != 0)
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
		ret = resp_chat_range(rc, txn, d.qid, &start, &end, rev, count,
		    &n, NULL);
	else
		ret = resp_stream_emit_range(rc, txn, &s, rev ? &end : &start,
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
	struct rstream	 s;
	struct txn	*txn;
	struct mid	*ids;
	long long	 deleted = 0;
	int		 j, ret = STORE_OK;

	if ((txn = resp_stream_open(rc, &argv[1], 1, &s)) == NULL)
		return;
	if (!s.found) {
		resp_add_int(rc, 0);
		return;
	}
	if ((ids = resp_stream_ids(rc, argc, argv, 2)) == NULL)
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
			ret = resp_stream_put(txn, &s);
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
	struct rstream_addtrim	 a;
	struct rstream	 s;
	struct txn	*txn;
	long long	 deleted;
	int		 ret;

	if ((txn = resp_stream_open(rc, &argv[1], 1, &s)) == NULL)
		return;
	if (!s.found) {
		resp_add_int(rc, 0);
		return;
	}
	if (parse_add_trim(rc, argc, argv, 0, &a) < 0)
		return;
	if ((ret = stream_trim(txn, &s, &a, &deleted)) == STORE_OK)
		ret = resp_stream_put(txn, &s);
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
	struct rstream	 s;
	struct txn	*txn;
	struct mid	 id, maxdel = { 0, 0 }, top;
	long long	 added = -1;
	int		 i, ret;

	if (resp_stream_id_reply(rc, &argv[2], &id, 0, 1) != 0)
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
			if (resp_stream_id_reply(rc, &argv[i + 1], &maxdel, 0,
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
	if ((txn = resp_stream_open(rc, &argv[1], 1, &s)) == NULL)
		return;
	if (!s.found) {
		resp_add_err(rc, RESP_ERR_NOKEY);
		return;
	}
	if (s.r.length > 0) {
		if ((ret = resp_stream_edge(txn, &s, 1, &top)) != STORE_OK) {
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
	if ((ret = resp_stream_put(txn, &s)) != STORE_OK) {
		resp_add_store_error(rc, ret);
		return;
	}
	resp_add_ok(rc);
}

/* ---------------------------------------------------------- XREAD */

/* Parses XREAD's and XREADGROUP's options; -1 after an error reply. */
static int
xread_parse(struct rclient *rc, int argc, struct rarg *argv,
    struct rstream_read *x)
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
void
resp_stream_read_key(struct rclient *rc, const struct rarg *key)
{
	if (!resp_is3(rc))
		resp_add_array(rc, 2);
	resp_add_bulk(rc, key->p, key->len);
}

/* XREADGROUP's NOGROUP: key is missing or has no group gname. */
void
resp_stream_read_nogroup(struct rclient *rc, const struct rarg *key,
    const struct rarg *gname)
{
	resp_add_errorf(rc, "-NOGROUP No such key '%s' or consumer group '%s' "
	    "in XREADGROUP with GROUP option", key->p, gname->p);
}

/* Puts the id "$" stands for into its argument: a parked read keeps it. */
void
resp_stream_read_resolve(struct rarg *ida, const struct mid *id)
{
	char	buf[MID_STRLEN + 1];

	mid_format(id, buf);
	resp_arg_set(ida, buf);
}

/*
 * Ends an XREAD reply begun at saved: the streams that had something to
 * read, or if none the client parks (BLOCK) or gets nil.
 */
void
resp_stream_read_end(struct rclient *rc, struct evbuffer *saved,
    const struct rarg *argv, const struct rstream_read *x, long long served)
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
 * On a wake, whether key no longer holds a stream (deleted, or replaced
 * by another type): 1 if so, 0 if it does, -1 after replying a store
 * error.  Redis 7.0 then answers a parked XREADGROUP with UNBLOCKED and
 * leaves a parked XREAD parked (tickd-resp(7) COMMANDS).
 */
static int
xread_gone(struct rclient *rc, struct txn *txn, const struct rarg *key)
{
	struct rkey_rec	r;
	int		ret;

	if ((ret = resp_lookup(rc, txn, key, &r)) == STORE_NOTFOUND)
		return (1);
	if (ret != STORE_OK)
		return (-1);
	return (r.type != RTYPE_STREAM);
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
	struct rstream_read		 x;
	struct rstream		*ss;
	struct rgroup_rec	*gs;
	struct mid		*ids, top, start;
	struct rcons_rec	 c;
	struct txn		*txn;
	struct evbuffer		*saved, *esaved;
	enum resp_view		 v;
	long long		 n, served = 0;
	int			 i, ret = STORE_OK, views = 0, created, gret;
	int			 gone;
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
			resp_chat_wrong(rc, &argv[x.first + i], v);
			return;
		}
	}
	if (views != 0 && views != x.nkeys) {
		resp_add_errorf(rc, "queue: views cannot be read together "
		    "with other keys");
		return;
	}
	if (views != 0) {
		resp_chat_xread(rc, argv, &x);
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
		if (resp_waking(rc) && !resp_wake_key(rc, argv, x.first, i))
			continue;
		if (resp_waking(rc) && (gone = xread_gone(rc, txn, key)) != 0) {
			if (gone < 0)
				goto out;
			if (group) {
				resp_add_errorf(rc, "-UNBLOCKED the stream key "
				    "no longer exists");
				goto out;
			}
			memset(&ss[i], 0, sizeof ss[i]);
			ss[i].key = key;
		} else if (resp_stream_get(rc, txn, key, &ss[i]) != 0)
			goto out;
		if (group) {
			gret = resp_cgroup_get(txn, &ss[i], x.gname, &gs[i]);
			if (gret < 0) {
				ret = gret;
				goto out;
			}
			if (gret == 1 && resp_waking(rc)) {
				resp_add_errorf(rc, "-NOGROUP the consumer "
				    "group this client was blocked on no "
				    "longer exists");
				goto out;
			}
			if (gret == 1) {
				resp_stream_read_nogroup(rc, key, x.gname);
				goto out;
			}
		}
		if (strcmp(ida->p, "$") == 0) {
			if (group) {
				resp_add_err(rc, RESP_ERR_DOLLAR);
				goto out;
			}
			ids[i] = ss[i].found ? ss[i].r.last_id : mid_zero;
			resp_stream_read_resolve(ida, &ids[i]);
		} else if (strcmp(ida->p, ">") == 0) {
			if (!group) {
				resp_add_err(rc, RESP_ERR_GT);
				goto out;
			}
			ids[i] = mid_max;
		} else if (resp_stream_id_reply(rc, ida, &ids[i], 0, 1) != 0)
			goto out;
	}
	saved = resp_nest(rc);
	for (i = 0; ret == STORE_OK && i < x.nkeys; i++) {
		if (!ss[i].found)
			continue;
		if (!group || mid_cmp(&ids[i], &mid_max) == 0) {
			if (ss[i].r.length == 0)
				continue;
			if ((ret = resp_stream_edge(txn, &ss[i], 1, &top)) !=
			    STORE_OK)
				break;
			if (mid_cmp(&top, group ? &gs[i].last_id : &ids[i]) <=
			    0)
				continue;
		}
		resp_stream_read_key(rc, &argv[x.first + i]);
		if (group) {
			ret = resp_cgroup_consumer(txn, &gs[i], x.cname, &c, 0,
			    &created);
			if (ret == STORE_OK && mid_cmp(&ids[i], &mid_max) == 0)
				ret = resp_cgroup_serve_new(rc, txn, &ss[i],
				    &gs[i], &x);
			else if (ret == STORE_OK)
				ret = resp_cgroup_serve_history(rc, txn, &ss[i],
				    &gs[i], &x, &ids[i]);
			if (ret == STORE_OK)
				ret = store_rgroup_put(txn, ss[i].r.rid,
				    x.gname->p, x.gname->len, &gs[i]);
		} else {
			start = ids[i];
			mid_incr(&start);
			esaved = resp_nest(rc);
			ret = resp_stream_emit_range(rc, txn, &ss[i], &start,
			    &mid_max, 0, x.count, &n);
			resp_nest_end(rc, esaved, '*', n);
		}
		served++;
	}
	if (ret != STORE_OK)
		resp_nest_abort(rc, saved);
	else
		resp_stream_read_end(rc, saved, argv, &x, served);
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

