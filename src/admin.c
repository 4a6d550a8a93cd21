/* SPDX-License-Identifier: ISC */
/*
 * admin.c: the store-level operations of tickctl(8), shared by the daemon
 * (which runs them on the control socket, inside its write transaction) and
 * by tickctl itself (which runs the read-only ones, such as dump, on a
 * store it opened); verify and repair are in verify.c.  Nothing here does
 * I/O or knows about connections: the caller closes what a change makes
 * stale.
 *
 * Results are jansson objects whose members tickctl(8) documents.  Times
 * are Unix ms; a time that is not known is null.
 */
#include <stdlib.h>
#include <string.h>

#include "tickd.h"

/* What a token walk matches, and how many it deleted. */
struct tokmatch {
	const char	*user;
	const char	*device;	/* NULL: any of user's devices */
	uint64_t	 now;
	uint64_t	 n;		/* matching tokens */
	uint64_t	 valid;		/* of those, not stale */
	int		 del;
	struct txn	*txn;
	json_t		*list;		/* dump: the tokens, or NULL */
};

/* Who a block walk matches. */
struct blockmatch {
	const char	*user;
	uint64_t	 n;
	int		 del;
	json_t		*by;		/* users that blocked user, or NULL */
};

/* Device walk callback: collects devices (of one name, if only is set). */
int
adevs_fn(void *arg, const char *user, const char *device,
    const struct dev_rec *r)
{
	struct adevs	*d = arg;
	struct adev	*a;

	if (d->only != NULL && strcmp(d->only, device) != 0)
		return (STORE_WALK_NEXT);
	if (d->n == d->cap)
		d->v = xgrow(d->v, &d->cap, sizeof *d->v, 4);
	a = &d->v[d->n++];
	memset(a, 0, sizeof *a);
	strlcpy(a->user, user, sizeof a->user);
	strlcpy(a->device, device, sizeof a->device);
	a->r = *r;
	return (STORE_WALK_NEXT);
}

/* Collects user's devices, or only the one called device if not NULL. */
static int
adevs_collect(struct txn *txn, const char *user, const char *device,
    struct adevs *d)
{
	memset(d, 0, sizeof *d);
	d->only = device;
	return (store_device_walk(txn, user, adevs_fn, d));
}

/* A time for JSON: null for 0, "never" or "unknown". */
static json_t *
json_time(uint64_t ms)
{
	return (ms == 0 ? json_null() : json_integer((json_int_t)ms));
}

/* Token walk callback: counts, lists or deletes the matching tokens. */
static int
tokmatch_fn(void *arg, const uint8_t *hash, const struct token_rec *t)
{
	struct tokmatch	*m = arg;
	struct dev_rec	 r;
	int		 valid;

	(void)hash;
	if (strcmp(t->user, m->user) != 0 ||
	    (m->device != NULL && strcmp(t->device, m->device) != 0))
		return (STORE_WALK_NEXT);
	m->n++;
	valid = t->expires > m->now &&
	    store_device_get(m->txn, t->user, t->device, &r) == STORE_OK &&
	    r.qid == t->qid;
	m->valid += valid;
	if (m->list != NULL)
		json_array_append_new(m->list, json_pack("{s:s,s:I,s:b}",
		    "device", t->device, "expires", (json_int_t)t->expires,
		    "valid", valid));
	return (m->del ? STORE_WALK_DELETE : STORE_WALK_NEXT);
}

/* Block walk callback: the blocks that name user on either side. */
static int
blockmatch_fn(void *arg, const char *blocker, const char *blocked)
{
	struct blockmatch	*m = arg;

	if (strcmp(blocked, m->user) == 0 && m->by != NULL)
		json_array_append_new(m->by, json_string(blocker));
	if (strcmp(blocker, m->user) != 0 && strcmp(blocked, m->user) != 0)
		return (STORE_WALK_NEXT);
	m->n++;
	return (m->del ? STORE_WALK_DELETE : STORE_WALK_NEXT);
}

/* Dedup walk callback: deletes every record it is shown. */
static int
dedup_del_fn(void *arg, const char *user, const char *id,
    const struct dedup_rec *r)
{
	uint64_t	*n = arg;

	(void)user; (void)id; (void)r;
	(*n)++;
	return (STORE_WALK_DELETE);
}

/*
 * Deletes an account: its devices with their queues and keys, its tokens, the
 * blocks it made and those made against it, and its dedup records.  The
 * records of messages it sent stay until they expire, so that receipts and
 * acks of copies already queued for others still find them.
 */
int
admin_user_delete(struct txn *txn, struct midgen *gen, const char *user,
    struct admin_del *res)
{
	struct user_rec		 u;
	struct adevs		 d;
	struct tokmatch		 tm;
	struct blockmatch	 bm;
	size_t			 i;
	int			 rc;

	memset(res, 0, sizeof *res);
	if ((rc = store_user_get(txn, user, &u)) != STORE_OK)
		return (rc);
	if ((rc = adevs_collect(txn, user, NULL, &d)) != STORE_OK)
		goto out;
	for (i = 0; i < d.n; i++) {
		if ((rc = media_queue_release(txn, gen, d.v[i].r.qid,
		    now_ms())) != STORE_OK ||
		    (rc = store_queue_drop(txn, d.v[i].r.qid)) != STORE_OK ||
		    (rc = store_keys_drop(txn, user, d.v[i].device)) !=
		    STORE_OK ||
		    (rc = store_device_del(txn, user, d.v[i].device)) !=
		    STORE_OK ||
		    (rc = push_forget(txn, user, d.v[i].device)) != STORE_OK)
			goto out;
		res->devices++;
		res->items += d.v[i].r.count;
	}
	memset(&tm, 0, sizeof tm);
	tm.user = user;
	tm.del = 1;
	tm.txn = txn;
	if ((rc = store_token_walk(txn, tokmatch_fn, &tm)) != STORE_OK)
		goto out;
	res->tokens = tm.n;
	memset(&bm, 0, sizeof bm);
	bm.user = user;
	bm.del = 1;
	if ((rc = store_block_walk_all(txn, blockmatch_fn, &bm)) != STORE_OK)
		goto out;
	res->blocks = bm.n;
	if ((rc = store_dedup_walk(txn, user, dedup_del_fn, &res->dedup)) !=
	    STORE_OK || (rc = push_mutes_drop(txn, user)) != STORE_OK)
		goto out;
	if ((rc = media_user_delete(txn, user, &res->media)) != STORE_OK)
		goto out;
	rc = store_user_del(txn, user);
out:
	free(d.v);
	return (rc);
}

/*
 * Empties the queue of user's device, or of each of its devices if device
 * is NULL.  No receipt is queued for what is dropped.  STORE_NOTFOUND if
 * there is no such user or device.
 */
int
admin_queue_purge(struct txn *txn, struct midgen *gen, const char *user,
    const char *device, uint64_t *items, uint64_t *bytes)
{
	struct user_rec	 u;
	struct adevs	 d;
	size_t		 i;
	int		 rc;

	*items = *bytes = 0;
	if ((rc = store_user_get(txn, user, &u)) != STORE_OK)
		return (rc);
	if ((rc = adevs_collect(txn, user, device, &d)) != STORE_OK)
		goto out;
	if (d.n == 0) {
		rc = STORE_NOTFOUND;
		goto out;
	}
	for (i = 0; i < d.n; i++) {
		*items += d.v[i].r.count;
		*bytes += d.v[i].r.bytes;
		d.v[i].r.count = d.v[i].r.bytes = 0;
		if ((rc = media_queue_release(txn, gen, d.v[i].r.qid,
		    now_ms())) != STORE_OK ||
		    (rc = store_queue_drop(txn, d.v[i].r.qid)) != STORE_OK ||
		    (rc = store_device_put(txn, user, d.v[i].device,
		    &d.v[i].r)) != STORE_OK)
			goto out;
	}
out:
	free(d.v);
	return (rc);
}

/*
 * Deletes every token of user, or of one of its devices: they stop working
 * at once.  Devices and queues stay.  STORE_NOTFOUND if there is no such
 * user (or device).
 */
int
admin_token_revoke(struct txn *txn, const char *user, const char *device,
    uint64_t *n)
{
	struct user_rec	u;
	struct dev_rec	r;
	struct tokmatch	tm;
	int		rc;

	*n = 0;
	if ((rc = store_user_get(txn, user, &u)) != STORE_OK)
		return (rc);
	if (device != NULL &&
	    (rc = store_device_get(txn, user, device, &r)) != STORE_OK)
		return (rc);
	memset(&tm, 0, sizeof tm);
	tm.user = user;
	tm.device = device;
	tm.del = 1;
	tm.txn = txn;
	rc = store_token_walk(txn, tokmatch_fn, &tm);
	*n = tm.n;
	return (rc);
}

/* Queue walk callback: the time of the first item, then stop. */
static int
oldest_fn(void *arg, const struct mid *mid, const struct item *it)
{
	(void)mid;
	*(uint64_t *)arg = it->ts;
	return (STORE_WALK_STOP);
}

/* One device as JSON; online is -1 when not known (no daemon). */
static json_t *
device_json(struct txn *txn, const struct adev *a, int online)
{
	uint64_t	 oldest = 0;
	json_t		*o;

	store_queue_walk(txn, a->r.qid, NULL, oldest_fn, &oldest);
	o = json_pack("{s:s,s:b,s:I,s:o,s:I,s:I,s:o}",
	    "device", a->device,
	    "claimed", a->r.claimed != 0,
	    "created", (json_int_t)a->r.created,
	    "last_active", json_time(a->r.last_active),
	    "items", (json_int_t)a->r.count,
	    "bytes", (json_int_t)a->r.bytes,
	    "oldest", json_time(oldest));
	if (online >= 0)
		json_object_set_new(o, "online", json_boolean(online));
	return (o);
}

/* user's devices as a JSON array (one, if device is not NULL). */
static int
devices_json(struct txn *txn, const char *user, const char *device,
    admin_online_fn online, void *arg, json_t **out)
{
	struct adevs	 d;
	json_t		*a;
	size_t		 i;
	int		 rc;

	*out = NULL;
	if ((rc = adevs_collect(txn, user, device, &d)) != STORE_OK) {
		free(d.v);
		return (rc);
	}
	if (device != NULL && d.n == 0) {
		free(d.v);
		return (STORE_NOTFOUND);
	}
	a = json_array();
	for (i = 0; i < d.n; i++)
		json_array_append_new(a, device_json(txn, &d.v[i],
		    online != NULL ? online(arg, user, d.v[i].device) : -1));
	free(d.v);
	/* A failed walk for "oldest" left its error in the txn. */
	if (txn->ret != STORE_OK) {
		json_decref(a);
		return (txn->ret);
	}
	*out = a;
	return (STORE_OK);
}

/* What a slice of user list collects. */
struct ulist {
	struct txn	*txn;
	admin_online_fn	 online;
	void		*arg;
	json_t		*users;
	size_t		 n, max;	/* taken, at most */
	char		*last;		/* the last name taken */
	int		 more;		/* stopped at max */
};

/* Device walk callback: counts them. */
static int
count_dev_fn(void *arg, const char *user, const char *device,
    const struct dev_rec *r)
{
	(void)user; (void)device; (void)r;
	(*(uint64_t *)arg)++;
	return (STORE_WALK_NEXT);
}

/* User walk callback: one entry of user list. */
static int
ulist_fn(void *arg, const char *user, const struct user_rec *u)
{
	struct ulist	*l = arg;
	uint64_t	 ndev = 0;
	json_t		*o;

	if (l->n == l->max) {
		l->more = 1;
		return (STORE_WALK_STOP);
	}
	l->n++;
	strlcpy(l->last, user, NAME_USER_MAX + 1);
	store_device_walk(l->txn, user, count_dev_fn, &ndev);
	o = json_pack("{s:s,s:I,s:o,s:I}", "user", user,
	    "created", (json_int_t)u->created,
	    "last_seen", json_time(u->last_seen),
	    "devices", (json_int_t)ndev);
	if (l->online != NULL)
		json_object_set_new(o, "online",
		    json_boolean(l->online(l->arg, user, NULL)));
	json_array_append_new(l->users, o);
	return (STORE_WALK_NEXT);
}

/*
 * One slice of user list: at most max accounts after the name after (NULL:
 * from the first), in name order, appended to users; last is the last name
 * taken and *more says whether accounts are left (tickctl(8) user list).
 */
int
admin_user_list_slice(struct txn *txn, const char *after, size_t max,
    admin_online_fn online, void *arg, json_t *users,
    char last[NAME_USER_MAX + 1], int *more)
{
	struct ulist	l;
	int		rc;

	memset(&l, 0, sizeof l);
	l.txn = txn;
	l.online = online;
	l.arg = arg;
	l.users = users;
	l.max = max;
	l.last = last;
	rc = store_user_walk_after(txn, after, ulist_fn, &l);
	*more = l.more;
	return (rc);
}

/* Block walk callback: the users a user has blocked, into an array. */
static int
block_name_fn(void *arg, const char *user)
{
	json_array_append_new(arg, json_string(user));
	return (STORE_WALK_NEXT);
}

/*
 * The blocks of user: {"user","blocks":[...],"blocked_by":[...]}.  The
 * second list costs a walk of every block.
 */
int
admin_block_list(struct txn *txn, const char *user, json_t **out)
{
	struct user_rec		 u;
	struct blockmatch	 bm;
	json_t			*blocks;
	int			 rc;

	*out = NULL;
	if ((rc = store_user_get(txn, user, &u)) != STORE_OK)
		return (rc);
	blocks = json_array();
	memset(&bm, 0, sizeof bm);
	bm.user = user;
	bm.by = json_array();
	if ((rc = store_block_walk(txn, user, block_name_fn, blocks)) !=
	    STORE_OK || (rc = store_block_walk_all(txn, blockmatch_fn, &bm)) !=
	    STORE_OK) {
		json_decref(blocks);
		json_decref(bm.by);
		return (rc);
	}
	*out = json_pack("{s:s,s:o,s:o}", "user", user, "blocks", blocks,
	    "blocked_by", bm.by);
	return (STORE_OK);
}

/*
 * An account with its devices, settings, blocks and tokens, without its
 * password hash.  online is NULL when no daemon is asked.
 */
int
admin_user_show(struct txn *txn, const char *user, admin_online_fn online,
    void *arg, uint64_t now, json_t **out)
{
	struct user_rec	 u;
	struct tokmatch	 tm;
	json_t		*devs, *blocks, *o;
	int		 rc;

	*out = NULL;
	if ((rc = store_user_get(txn, user, &u)) != STORE_OK)
		return (rc);
	if ((rc = devices_json(txn, user, NULL, online, arg, &devs)) !=
	    STORE_OK)
		return (rc);
	if ((rc = admin_block_list(txn, user, &blocks)) != STORE_OK) {
		json_decref(devs);
		return (rc);
	}
	memset(&tm, 0, sizeof tm);
	tm.user = user;
	tm.txn = txn;
	tm.now = now;
	if ((rc = store_token_walk(txn, tokmatch_fn, &tm)) != STORE_OK) {
		json_decref(devs);
		json_decref(blocks);
		return (rc);
	}
	o = json_pack("{s:s,s:I,s:o,s:b,s:s,s:O,s:O,s:I,s:o}",
	    "user", user,
	    "created", (json_int_t)u.created,
	    "last_seen", json_time(u.last_seen),
	    "read_receipts", u.read_receipts != 0,
	    "last_seen_visibility", u.last_seen_vis == LASTSEEN_NOBODY ?
	    "nobody" : "everyone",
	    "blocks", json_object_get(blocks, "blocks"),
	    "blocked_by", json_object_get(blocks, "blocked_by"),
	    "tokens", (json_int_t)tm.valid,
	    "devices", devs);
	json_decref(blocks);
	if (online != NULL)
		json_object_set_new(o, "online",
		    json_boolean(online(arg, user, NULL)));
	*out = o;
	return (STORE_OK);
}

/*
 * The queues of user's devices (or of one): {"user","items","bytes",
 * "oldest","devices":[...]}.
 */
int
admin_queue_show(struct txn *txn, const char *user, const char *device,
    admin_online_fn online, void *arg, json_t **out)
{
	struct user_rec	 u;
	json_t		*devs, *d, *v;
	uint64_t	 items = 0, bytes = 0, oldest = 0, t;
	size_t		 i;
	int		 rc;

	*out = NULL;
	if ((rc = store_user_get(txn, user, &u)) != STORE_OK)
		return (rc);
	if ((rc = devices_json(txn, user, device, online, arg, &devs)) !=
	    STORE_OK)
		return (rc);
	json_array_foreach(devs, i, d) {
		items += (uint64_t)json_integer_value(json_object_get(d,
		    "items"));
		bytes += (uint64_t)json_integer_value(json_object_get(d,
		    "bytes"));
		v = json_object_get(d, "oldest");
		t = json_is_integer(v) ? (uint64_t)json_integer_value(v) : 0;
		if (t != 0 && (oldest == 0 || t < oldest))
			oldest = t;
	}
	*out = json_pack("{s:s,s:I,s:I,s:o,s:o}", "user", user,
	    "items", (json_int_t)items, "bytes", (json_int_t)bytes,
	    "oldest", json_time(oldest), "devices", devs);
	return (STORE_OK);
}

/*
 * A dump being written: its JSON goes out an element at a time, so that
 * a user with a long queue costs no more memory than one item, and the
 * caller hears of the progress (tickctl(8) dump).
 */
struct dump {
	struct txn	*txn;
	const char	*user;
	FILE		*out;
	int		 pretty;	/* an element per line */
	size_t		 n;		/* elements of the array being written */
	int		 which;		/* DUMP_SENT or DUMP_RECEIVED */
	uint64_t	 done;		/* elements written */
	void		(*progress)(void *, uint64_t);
	void		*arg;
};
#define DUMP_SENT	0
#define DUMP_RECEIVED	1

/* Writes v (which it takes) as the next element of the open array. */
static void
dump_elem(struct dump *d, json_t *v)
{
	if (d->n++ != 0)
		fputc(',', d->out);
	if (d->pretty)
		fputs("\n    ", d->out);
	json_dumpf(v, d->out, JSON_COMPACT);
	json_decref(v);
	if (++d->done % 1000 == 0 && d->progress != NULL)
		d->progress(d->arg, d->done);
}

/* Opens the array member name of the object being written. */
static void
dump_open(struct dump *d, const char *name)
{
	fprintf(d->out, ",%s\"%s\":[", d->pretty ? "\n  " : "", name);
	d->n = 0;
}

/* Closes the array being written. */
static void
dump_close(struct dump *d)
{
	fputs(d->pretty && d->n != 0 ? "\n  ]" : "]", d->out);
}

/*
 * Writes an object's members, without its braces, after what came
 * before: the start of a dump or of one of its devices.
 */
static void
dump_members(struct dump *d, json_t *o, const char *indent)
{
	const char	*k;
	json_t		*v, *key;
	int		 first = 1;

	json_object_foreach(o, k, v) {
		fprintf(d->out, "%s%s", first ? "" : ",",
		    d->pretty ? indent : "");
		first = 0;
		key = json_string(k);
		json_dumpf(key, d->out, JSON_ENCODE_ANY);
		json_decref(key);
		fputc(':', d->out);
		json_dumpf(v, d->out, JSON_COMPACT | JSON_ENCODE_ANY);
	}
}

/* Queue walk callback: an item with its frame parsed back. */
static int
dump_item_fn(void *arg, const struct mid *mid, const struct item *it)
{
	struct dump	*d = arg;
	char		 ms[MID_STRLEN + 1];
	json_t		*frame;

	mid_format(mid, ms);
	if ((frame = json_loadb(it->data, it->len, 0, NULL)) == NULL)
		frame = json_stringn(it->data, it->len);
	dump_elem(d, json_pack("{s:s,s:s,s:I,s:o}",
	    "mid", ms, "kind", item_op(it->kind) != NULL ? item_op(it->kind) :
	    "unknown",
	    "ts", (json_int_t)it->ts, "frame", frame != NULL ? frame :
	    json_null()));
	return (STORE_WALK_NEXT);
}

/* The flags of a message record as a list of words. */
static json_t *
msg_flags(uint8_t flags)
{
	json_t	*a = json_array();

	if (flags & MSG_DELIVERED)
		json_array_append_new(a, json_string("delivered"));
	if (flags & MSG_READ)
		json_array_append_new(a, json_string("read"));
	if (flags & MSG_BLOCKED)
		json_array_append_new(a, json_string("blocked"));
	return (a);
}

/*
 * Message walk callback: the records of messages the user sent, or in a
 * second walk those it received.
 */
static int
dump_msg_fn(void *arg, const struct mid *mid, const struct msg_rec *m)
{
	struct dump	*d = arg;
	char		 ms[MID_STRLEN + 1];

	mid_format(mid, ms);
	if (d->which == DUMP_SENT && strcmp(m->from, d->user) == 0)
		dump_elem(d, json_pack("{s:s,s:I,s:s,s:s,s:s,s:o}", "mid", ms,
		    "ts", (json_int_t)m->ts, "to", m->to, "id", m->id,
		    "from_device", m->from_device, "flags",
		    msg_flags(m->flags)));
	if (d->which == DUMP_RECEIVED && strcmp(m->to, d->user) == 0)
		dump_elem(d, json_pack("{s:s,s:I,s:s,s:s,s:o}", "mid", ms,
		    "ts", (json_int_t)m->ts, "from", m->from, "id", m->id,
		    "flags", msg_flags(m->flags)));
	return (STORE_WALK_NEXT);
}

/* Dedup walk callback: the user's remembered client ids. */
static int
dump_dedup_fn(void *arg, const char *user, const char *id,
    const struct dedup_rec *r)
{
	struct dump	*d = arg;
	char		 ms[MID_STRLEN + 1];

	(void)user;
	mid_format(&r->mid, ms);
	dump_elem(d, json_pack("{s:s,s:s,s:I,s:s}",
	    "id", id, "mid", ms, "ts", (json_int_t)r->ts, "to", r->to));
	return (STORE_WALK_NEXT);
}

/*
 * Everything the store holds about one user, for support, written to out
 * as one JSON object: the account (without its password hash), each
 * device with the items of its queue, blocks, tokens (without their
 * values), the records of messages it sent and received, and its
 * remembered client ids.  pretty puts each element on a line of its own;
 * progress, if set, hears every thousand elements written.  Nothing is
 * written for an unknown user.
 */
int
admin_dump_write(struct txn *txn, const char *user, uint64_t now, FILE *out,
    int pretty, void (*progress)(void *, uint64_t), void *arg)
{
	struct dump	 d;
	struct adevs	 devs;
	struct tokmatch	 tm;
	json_t		*o = NULL, *dj, *v;
	size_t		 i;
	int		 rc;

	memset(&d, 0, sizeof d);
	d.txn = txn;
	d.user = user;
	d.out = out;
	d.pretty = pretty;
	d.progress = progress;
	d.arg = arg;
	memset(&tm, 0, sizeof tm);
	tm.user = user;
	tm.txn = txn;
	tm.now = now;
	tm.list = json_array();
	memset(&devs, 0, sizeof devs);
	if ((rc = admin_user_show(txn, user, NULL, NULL, now, &o)) !=
	    STORE_OK ||
	    (rc = adevs_collect(txn, user, NULL, &devs)) != STORE_OK)
		goto out;
	json_object_set_new(o, "dumped", json_integer((json_int_t)now));
	/* The lists below replace the account's counts of the same names. */
	json_object_del(o, "devices");
	json_object_del(o, "tokens");
	json_object_del(o, "sent");
	json_object_del(o, "received");
	json_object_del(o, "client_ids");
	fputc('{', out);
	dump_members(&d, o, "\n  ");
	dump_open(&d, "devices");
	for (i = 0; i < devs.n; i++) {
		dj = device_json(txn, &devs.v[i], -1);
		json_object_set_new(dj, "queue", json_integer(
		    (json_int_t)devs.v[i].r.qid));
		fprintf(out, "%s%s{", i != 0 ? "," : "", pretty ? "\n  " : "");
		dump_members(&d, dj, "\n    ");
		json_decref(dj);
		dump_open(&d, "queue_items");
		rc = store_queue_walk(txn, devs.v[i].r.qid, NULL, dump_item_fn,
		    &d);
		dump_close(&d);
		fputc('}', out);
		if (rc != STORE_OK)
			goto out;
	}
	fputs(pretty && devs.n != 0 ? "\n  ]" : "]", out);
	if ((rc = store_token_walk(txn, tokmatch_fn, &tm)) != STORE_OK)
		goto out;
	dump_open(&d, "tokens");
	json_array_foreach(tm.list, i, v)
		dump_elem(&d, json_incref(v));
	dump_close(&d);
	dump_open(&d, "sent");
	d.which = DUMP_SENT;
	rc = store_msg_walk(txn, dump_msg_fn, &d);
	dump_close(&d);
	if (rc != STORE_OK)
		goto out;
	dump_open(&d, "received");
	d.which = DUMP_RECEIVED;
	rc = store_msg_walk(txn, dump_msg_fn, &d);
	dump_close(&d);
	if (rc != STORE_OK)
		goto out;
	dump_open(&d, "client_ids");
	rc = store_dedup_walk(txn, user, dump_dedup_fn, &d);
	dump_close(&d);
	fputs(pretty ? "\n}\n" : "}\n", out);
	if (progress != NULL)
		progress(arg, d.done);
out:
	json_decref(o);
	json_decref(tm.list);
	free(devs.v);
	return (rc);
}
