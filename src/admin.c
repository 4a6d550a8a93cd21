/*
 * admin.c: the store-level operations of tickctl(8), shared by the daemon
 * (which runs them on the control socket, inside its write transaction) and
 * by tickctl itself (which runs the read-only ones, dump and verify, on a
 * store it opened).  Nothing here does I/O or knows about connections: the
 * caller closes what a change makes stale.
 *
 * Results are jansson objects whose members tickctl(8) documents.  Times
 * are Unix ms; a time that is not known is null.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tickd.h"

/* A device as collected by a walk, to change it after the walk. */
struct adev {
	char		user[NAME_USER_MAX + 1];
	char		device[NAME_DEVICE_MAX + 1];
	struct dev_rec	r;
	uint64_t	items;		/* verify: items found in its queue */
	uint64_t	bytes;
};

struct adevs {
	struct adev	*v;
	size_t		 n, cap;
	const char	*only;		/* collect this device name only */
};

/* A key of the RESP shim as verify found it, for what hangs on its rid. */
struct vkey {
	uint64_t	rid;
	uint8_t		type;		/* RTYPE_* */
	int		indexed;	/* the SCAN index names it back */
	int		unsure;		/* its counts cannot be checked */
	uint64_t	count;		/* set: card; stream: length */
	uint64_t	ngroups;
	uint64_t	found;		/* members or live entries found */
	uint64_t	groups;		/* groups found */
};

/* A consumer group as verify found it, for what hangs on its gid. */
struct vgroup {
	uint64_t		rid;
	uint8_t			name[RNAME_MAX];
	size_t			len;
	struct rgroup_rec	r;
	int			unsure;		/* another group has its gid */
	uint64_t		pending;	/* PEL entries found */
	uint64_t		consumers;	/* consumers found */
};

/*
 * The records of one number (a qid, rid or gid) that belong to nothing,
 * counted as a walk meets them and reported once it is past them.
 */
struct vorphans {
	const char	*num;		/* "queue", "rid", "gid" */
	const char	*what;		/* "items" */
	const char	*owner;		/* "device" */
	int		 fix;		/* delete them */
	uint64_t	 n;
	uint64_t	 count;
};

/* Walks what a verify walks and what it found. */
struct verify {
	struct txn	*txn;
	int		 fix;
	void		(*report)(void *, const char *);
	void		*arg;
	struct mid	 hw;		/* the mid high-water mark */
	uint64_t	 qid_last;
	struct adevs	 devs;		/* every device, sorted by qid */
	struct vkey	*keys;		/* every RESP key, sorted by rid */
	size_t		 nkeys, capkeys;
	struct vgroup	*groups;	/* every live group, sorted by gid */
	size_t		 ngroups, capgroups;
	struct vorphans	 orphans;	/* of the walk going on */
	uint64_t	 problems;
	uint64_t	 fixed;
	uint64_t	 users, devices, items, msgs, dedup, blocks;
	uint64_t	 tokens, stale_tokens;
	uint64_t	 rkeys, members, entries, rgroups, consumers, pending;
	uint64_t	 audit;
	uint64_t	 bad_keys;	/* key records that did not decode */
	uint64_t	 bad_groups;	/* group records that did not decode */
};

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

static void	verify_problem(struct verify *, int, const char *, ...)
		    printflike(3, 4);

/* Device walk callback: collects devices (of one name, if only is set). */
static int
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
 * Deletes an account: its devices with their queues, its tokens, the
 * blocks it made and those made against it, and its dedup records.  The
 * records of messages it sent stay until they expire, so that receipts and
 * acks of copies already queued for others still find them.
 */
int
admin_user_delete(struct txn *txn, const char *user, struct admin_del *res)
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
		if ((rc = media_queue_release(txn, d.v[i].r.qid, now_ms())) !=
		    STORE_OK ||
		    (rc = store_queue_drop(txn, d.v[i].r.qid)) != STORE_OK ||
		    (rc = store_device_del(txn, user, d.v[i].device)) !=
		    STORE_OK)
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
	    STORE_OK)
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
admin_queue_purge(struct txn *txn, const char *user, const char *device,
    uint64_t *items, uint64_t *bytes)
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
		if ((rc = media_queue_release(txn, d.v[i].r.qid, now_ms())) !=
		    STORE_OK ||
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

/* What user list collects. */
struct ulist {
	struct txn	*txn;
	admin_online_fn	 online;
	void		*arg;
	json_t		*users;
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

/* Every account, in name order: {"users":[...]}. */
int
admin_user_list(struct txn *txn, admin_online_fn online, void *arg,
    json_t **out)
{
	struct ulist	l;
	int		rc;

	l.txn = txn;
	l.online = online;
	l.arg = arg;
	l.users = json_array();
	if ((rc = store_user_walk(txn, ulist_fn, &l)) != STORE_OK) {
		json_decref(l.users);
		*out = NULL;
		return (rc);
	}
	*out = json_pack("{s:o}", "users", l.users);
	return (STORE_OK);
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

/* What a dump collects beyond the account itself. */
struct dump {
	struct txn	*txn;
	const char	*user;
	json_t		*items;		/* one queue's items */
	json_t		*sent;
	json_t		*received;
	json_t		*dedup;
};

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
	json_array_append_new(d->items, json_pack("{s:s,s:s,s:I,s:o}",
	    "mid", ms, "kind", it->kind == ITEM_MSG ? "msg" :
	    it->kind == ITEM_RECEIPT ? "receipt" : "unknown",
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

/* Msgs walk callback: messages from or to the user. */
static int
dump_msg_fn(void *arg, const struct mid *mid, const struct msg_rec *m)
{
	struct dump	*d = arg;
	char		 ms[MID_STRLEN + 1];

	mid_format(mid, ms);
	if (strcmp(m->from, d->user) == 0)
		json_array_append_new(d->sent, json_pack(
		    "{s:s,s:I,s:s,s:s,s:s,s:o}", "mid", ms,
		    "ts", (json_int_t)m->ts, "to", m->to, "id", m->id,
		    "from_device", m->from_device, "flags",
		    msg_flags(m->flags)));
	if (strcmp(m->to, d->user) == 0)
		json_array_append_new(d->received, json_pack(
		    "{s:s,s:I,s:s,s:s,s:o}", "mid", ms,
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
	json_array_append_new(d->dedup, json_pack("{s:s,s:s,s:I,s:s}",
	    "id", id, "mid", ms, "ts", (json_int_t)r->ts, "to", r->to));
	return (STORE_WALK_NEXT);
}

/*
 * Everything the store holds about one user, for support: the account
 * (without its password hash), each device with the items of its queue,
 * blocks, tokens (without their values), the records of messages it sent
 * and received, and its remembered client ids.
 */
int
admin_dump(struct txn *txn, const char *user, uint64_t now, json_t **out)
{
	struct dump	 d;
	struct adevs	 devs;
	struct tokmatch	 tm;
	json_t		*o = NULL, *dj, *dl;
	size_t		 i;
	int		 rc;

	*out = NULL;
	memset(&d, 0, sizeof d);
	d.txn = txn;
	d.user = user;
	memset(&tm, 0, sizeof tm);
	tm.user = user;
	tm.txn = txn;
	tm.now = now;
	tm.list = json_array();
	d.sent = json_array();
	d.received = json_array();
	d.dedup = json_array();
	dl = json_array();
	memset(&devs, 0, sizeof devs);
	if ((rc = admin_user_show(txn, user, NULL, NULL, now, &o)) !=
	    STORE_OK ||
	    (rc = adevs_collect(txn, user, NULL, &devs)) != STORE_OK)
		goto out;
	for (i = 0; i < devs.n; i++) {
		dj = device_json(txn, &devs.v[i], -1);
		d.items = json_array();
		json_object_set_new(dj, "queue", json_integer(
		    (json_int_t)devs.v[i].r.qid));
		json_object_set_new(dj, "queue_items", d.items);
		json_array_append_new(dl, dj);
		if ((rc = store_queue_walk(txn, devs.v[i].r.qid, NULL,
		    dump_item_fn, &d)) != STORE_OK)
			goto out;
	}
	if ((rc = store_token_walk(txn, tokmatch_fn, &tm)) != STORE_OK ||
	    (rc = store_msg_walk(txn, dump_msg_fn, &d)) != STORE_OK ||
	    (rc = store_dedup_walk(txn, user, dump_dedup_fn, &d)) != STORE_OK)
		goto out;
	json_object_set(o, "devices", dl);
	json_object_set(o, "tokens", tm.list);
	json_object_set(o, "sent", d.sent);
	json_object_set(o, "received", d.received);
	json_object_set(o, "client_ids", d.dedup);
	json_object_set_new(o, "dumped", json_integer((json_int_t)now));
	*out = o;
	o = NULL;
out:
	json_decref(o);
	json_decref(dl);
	json_decref(tm.list);
	json_decref(d.sent);
	json_decref(d.received);
	json_decref(d.dedup);
	free(devs.v);
	return (rc);
}

/* Reports one inconsistency; fixed says whether it was repaired. */
static void
verify_problem(struct verify *v, int fixed, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg, *line;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		fatal("vasprintf");
	va_end(ap);
	v->problems++;
	v->fixed += fixed;
	xasprintf(&line, "%s%s", msg, fixed ? " (repaired)" : "");
	v->report(v->arg, line);
	free(line);
	free(msg);
}

/* Orders devices by qid. */
static int
adev_qid_cmp(const void *a, const void *b)
{
	const struct adev	*x = a, *y = b;

	return (x->r.qid < y->r.qid ? -1 : x->r.qid > y->r.qid);
}

/* The device owning queue qid, or NULL. */
static struct adev *
verify_find(struct verify *v, uint64_t qid)
{
	struct adev	key;

	if (v->devs.n == 0)
		return (NULL);
	key.r.qid = qid;
	return (bsearch(&key, v->devs.v, v->devs.n, sizeof key,
	    adev_qid_cmp));
}

/* Device walk callback: stops at the first device. */
static int
any_dev_fn(void *arg, const char *user, const char *device,
    const struct dev_rec *r)
{
	(void)user; (void)device; (void)r;
	*(int *)arg = 1;
	return (STORE_WALK_STOP);
}

/* User walk callback: every account has at least one device. */
static int
verify_user_fn(void *arg, const char *user, const struct user_rec *u)
{
	struct verify	*v = arg;
	struct dev_rec	 r;
	int		 any = 0;

	(void)u;
	v->users++;
	if (store_device_walk(v->txn, user, any_dev_fn, &any) != STORE_OK ||
	    any)
		return (STORE_WALK_NEXT);
	/* Repaired as a logout leaves it: a fresh unclaimed "default". */
	memset(&r, 0, sizeof r);
	r.created = r.last_active = now_ms();
	verify_problem(v, v->fix && store_qid_next(v->txn, &r.qid) ==
	    STORE_OK && store_device_put(v->txn, user, "default", &r) ==
	    STORE_OK, "user %s has no device", user);
	return (STORE_WALK_NEXT);
}

/* Starts counting the orphans of a walk: what of num belongs to no owner. */
static void
verify_orphans_begin(struct verify *v, const char *num, const char *what,
    const char *owner, int fix)
{
	v->orphans.num = num;
	v->orphans.what = what;
	v->orphans.owner = owner;
	v->orphans.fix = fix;
	v->orphans.count = 0;
}

/* Reports the orphans counted, if any. */
static void
verify_orphans_end(struct verify *v)
{
	struct vorphans	*o = &v->orphans;

	if (o->count == 0)
		return;
	verify_problem(v, o->fix, "%s %llu holds %llu %s but belongs to no "
	    "%s%s", o->num, (unsigned long long)o->n,
	    (unsigned long long)o->count, o->what, o->owner,
	    o->fix ? "; removed" : "");
	o->count = 0;
}

/*
 * Counts a record of number n that belongs to nothing; the walks go in
 * number order, so a new number ends the count of the last.
 */
static int
verify_orphan(struct verify *v, uint64_t n)
{
	struct vorphans	*o = &v->orphans;

	if (o->count != 0 && o->n != n)
		verify_orphans_end(v);
	o->n = n;
	o->count++;
	return (o->fix ? STORE_WALK_DELETE : STORE_WALK_NEXT);
}

/* Checks that an item's frame is the JSON object its key says. */
static int
verify_frame(const struct mid *mid, const struct item *it)
{
	char		 ms[MID_STRLEN + 1];
	const char	*op, *fmid;
	json_t		*f;
	int		 ok;

	mid_format(mid, ms);
	if ((f = json_loadb(it->data, it->len, 0, NULL)) == NULL)
		return (0);
	op = json_string_value(json_object_get(f, "op"));
	fmid = json_string_value(json_object_get(f, "mid"));
	ok = op != NULL && fmid != NULL && strcmp(fmid, ms) == 0 &&
	    strcmp(op, it->kind == ITEM_MSG ? "msg" : "receipt") == 0;
	json_decref(f);
	return (ok);
}

/* Queue walk callback: owner, mid, kind and frame of every item. */
static int
verify_item_fn(void *arg, uint64_t qid, const struct mid *mid,
    const struct item *it)
{
	struct verify	*v = arg;
	struct adev	*a;
	char		 ms[MID_STRLEN + 1];

	v->items++;
	if ((a = verify_find(v, qid)) == NULL)
		return (verify_orphan(v, qid));
	mid_format(mid, ms);
	if (mid_cmp(mid, &v->hw) > 0)
		verify_problem(v, 0, "item %s of %s:%s is above the mid "
		    "high-water mark", ms, a->user, a->device);
	if ((it->kind != ITEM_MSG && it->kind != ITEM_RECEIPT) ||
	    !verify_frame(mid, it)) {
		verify_problem(v, v->fix, "item %s of %s:%s is damaged", ms,
		    a->user, a->device);
		return (v->fix ? STORE_WALK_DELETE : STORE_WALK_NEXT);
	}
	a->items++;
	a->bytes += it->len;
	return (STORE_WALK_NEXT);
}

/* Msgs walk callback: no message record is above the high-water mark. */
static int
verify_msg_fn(void *arg, const struct mid *mid, const struct msg_rec *m)
{
	struct verify	*v = arg;
	char		 ms[MID_STRLEN + 1];

	(void)m;
	v->msgs++;
	if (mid_cmp(mid, &v->hw) > 0) {
		mid_format(mid, ms);
		verify_problem(v, 0, "message record %s is above the mid "
		    "high-water mark", ms);
	}
	return (STORE_WALK_NEXT);
}

/* Dedup walk callback: each record names its user's message record. */
static int
verify_dedup_fn(void *arg, const char *user, const char *id,
    const struct dedup_rec *r)
{
	struct verify	*v = arg;
	struct user_rec	 u;
	struct msg_rec	 m;
	char		 ms[MID_STRLEN + 1];

	v->dedup++;
	if (store_user_get(v->txn, user, &u) == STORE_NOTFOUND) {
		verify_problem(v, v->fix, "client id \"%s\" of %s: no such "
		    "user", id, user);
		return (v->fix ? STORE_WALK_DELETE : STORE_WALK_NEXT);
	}
	if (store_msg_get(v->txn, &r->mid, &m) != STORE_OK ||
	    strcmp(m.from, user) != 0 || strcmp(m.id, id) != 0) {
		mid_format(&r->mid, ms);
		verify_problem(v, v->fix, "client id \"%s\" of %s names "
		    "message %s, which has no matching record", id, user, ms);
		return (v->fix ? STORE_WALK_DELETE : STORE_WALK_NEXT);
	}
	return (STORE_WALK_NEXT);
}

/* Block walk callback: both users of a block exist. */
static int
verify_block_fn(void *arg, const char *blocker, const char *blocked)
{
	struct verify	*v = arg;
	struct user_rec	 u;

	v->blocks++;
	if (store_user_get(v->txn, blocker, &u) == STORE_OK &&
	    store_user_get(v->txn, blocked, &u) == STORE_OK)
		return (STORE_WALK_NEXT);
	verify_problem(v, v->fix, "block of %s by %s: no such user", blocked,
	    blocker);
	return (v->fix ? STORE_WALK_DELETE : STORE_WALK_NEXT);
}

/* Token walk callback: counts stale tokens, which the sweep removes. */
static int
verify_token_fn(void *arg, const uint8_t *hash, const struct token_rec *t)
{
	struct verify	*v = arg;
	struct dev_rec	 r;

	(void)hash;
	v->tokens++;
	if (t->expires <= now_ms() ||
	    store_device_get(v->txn, t->user, t->device, &r) != STORE_OK ||
	    r.qid != t->qid)
		v->stale_tokens++;
	return (STORE_WALK_NEXT);
}

/*
 * Checks the devices: each belongs to an account and has its own queue
 * number, one that was handed out.  Repairing removes devices of no
 * account.
 */
static int
verify_devices(struct verify *v)
{
	struct user_rec	 u;
	struct adev	*a;
	size_t		 i, j;
	int		 rc;

	memset(&v->devs, 0, sizeof v->devs);
	if ((rc = store_device_walk(v->txn, NULL, adevs_fn, &v->devs)) !=
	    STORE_OK)
		return (rc);
	for (i = j = 0; i < v->devs.n; i++) {
		a = &v->devs.v[i];
		v->devices++;
		/*
		 * Its queue then belongs to no device, and the queue walk
		 * deletes it, unless another device shares that queue.
		 */
		if (store_user_get(v->txn, a->user, &u) == STORE_NOTFOUND) {
			verify_problem(v, v->fix &&
			    store_device_del(v->txn, a->user, a->device) ==
			    STORE_OK, "device %s:%s belongs to no user",
			    a->user, a->device);
			if (v->fix)
				continue;
		}
		if (a->r.qid == 0 || a->r.qid > v->qid_last)
			verify_problem(v, 0, "device %s:%s has queue %llu, "
			    "which was never handed out", a->user, a->device,
			    (unsigned long long)a->r.qid);
		v->devs.v[j++] = *a;
	}
	v->devs.n = j;
	/* With none, the array is NULL, which qsort and bsearch refuse. */
	if (v->devs.n != 0)
		qsort(v->devs.v, v->devs.n, sizeof *v->devs.v, adev_qid_cmp);
	for (i = 1; i < v->devs.n; i++) {
		if (v->devs.v[i].r.qid == v->devs.v[i - 1].r.qid)
			verify_problem(v, 0, "devices %s:%s and %s:%s share "
			    "queue %llu", v->devs.v[i - 1].user,
			    v->devs.v[i - 1].device, v->devs.v[i].user,
			    v->devs.v[i].device,
			    (unsigned long long)v->devs.v[i].r.qid);
	}
	return (STORE_OK);
}

#define VNAME_SHOWN	64		/* bytes of a name a report shows */
/* Quotes, 4 bytes (\xNN) for each byte shown, "..." and the NUL. */
#define VNAME_BUF	(2 + VNAME_SHOWN * 4 + 3 + 1)

/*
 * A name of the RESP shim for a report.  It may hold any byte: it is
 * quoted, what is not printable ASCII is written \xNN, and it is cut after
 * VNAME_SHOWN bytes.
 */
static const char *
verify_name(char *buf, const void *p, size_t len)
{
	static const char	 hex[] = "0123456789abcdef";
	const uint8_t		*s = p;
	size_t			 i, o = 0;

	buf[o++] = '"';
	for (i = 0; i < len && i < VNAME_SHOWN; i++) {
		if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' &&
		    s[i] != '\\') {
			buf[o++] = (char)s[i];
			continue;
		}
		buf[o++] = '\\';
		buf[o++] = 'x';
		buf[o++] = hex[s[i] >> 4];
		buf[o++] = hex[s[i] & 0xf];
	}
	buf[o++] = '"';
	if (len > VNAME_SHOWN) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return (buf);
}

/* Orders keys by rid. */
static int
vkey_rid_cmp(const void *a, const void *b)
{
	const struct vkey	*x = a, *y = b;

	return (x->rid < y->rid ? -1 : x->rid > y->rid);
}

/* Where the first key of rid, or the next above, is in the sorted keys. */
static size_t
verify_key_at(struct verify *v, uint64_t rid)
{
	size_t	lo = 0, hi = v->nkeys, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (v->keys[mid].rid < rid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (lo);
}

/*
 * The key of rid if it has type type, or NULL.  Of keys that share a rid
 * (reported, and their counts not checked) the first is taken.
 */
static struct vkey *
verify_key(struct verify *v, uint64_t rid, uint8_t type)
{
	size_t	i;

	i = verify_key_at(v, rid);
	if (i == v->nkeys || v->keys[i].rid != rid || v->keys[i].type != type)
		return (NULL);
	return (&v->keys[i]);
}

/*
 * How a report names a key: by its name when the SCAN index names it
 * back, else by its rid.
 */
static const char *
verify_key_name(struct verify *v, const struct vkey *k, char *buf)
{
	const void	*p;
	size_t		 len;

	if (k->indexed &&
	    store_ridx_get(v->txn, k->rid, &p, &len) == STORE_OK)
		return (verify_name(buf, p, len));
	snprintf(buf, VNAME_BUF, "with rid %llu", (unsigned long long)k->rid);
	return (buf);
}

/* Orders groups by gid. */
static int
vgroup_gid_cmp(const void *a, const void *b)
{
	const struct vgroup	*x = a, *y = b;

	return (x->r.gid < y->r.gid ? -1 : x->r.gid > y->r.gid);
}

/* The live group of gid, or NULL. */
static struct vgroup *
verify_group(struct verify *v, uint64_t gid)
{
	struct vgroup	key;

	if (v->ngroups == 0)
		return (NULL);
	key.r.gid = gid;
	return (bsearch(&key, v->groups, v->ngroups, sizeof key,
	    vgroup_gid_cmp));
}

/* How a report names a group and its stream. */
static void
verify_group_name(struct verify *v, const struct vgroup *g, char *gname,
    char *kname)
{
	verify_name(gname, g->name, g->len);
	verify_key_name(v, verify_key(v, g->rid, RTYPE_STREAM), kname);
}

/*
 * Key record walk callback: it decodes, and the SCAN index has its rid,
 * naming it.  Repairing enters a key missing from the index.
 */
static int
verify_rkey_fn(void *arg, const void *key, size_t len,
    const struct rkey_rec *r)
{
	struct verify	*v = arg;
	struct vkey	*k;
	char		 name[VNAME_BUF], other[VNAME_BUF];
	uint8_t		 copy[RKEY_MAX];
	const void	*p;
	size_t		 plen;
	int		 rc;

	v->rkeys++;
	verify_name(name, key, len);
	if (r == NULL) {
		v->bad_keys++;
		verify_problem(v, 0, "key %s does not decode", name);
		return (STORE_WALK_NEXT);
	}
	if (v->nkeys == v->capkeys)
		v->keys = xgrow(v->keys, &v->capkeys, sizeof *v->keys, 16);
	k = &v->keys[v->nkeys++];
	memset(k, 0, sizeof *k);
	k->rid = r->rid;
	k->type = r->type;
	k->count = r->type == RTYPE_SET ? r->card : r->length;
	k->ngroups = r->ngroups;
	rc = store_ridx_get(v->txn, r->rid, &p, &plen);
	if (rc == STORE_OK && plen == len && memcmp(p, key, len) == 0)
		k->indexed = 1;
	else if (rc == STORE_OK)
		verify_problem(v, 0, "key %s has rid %llu, which the SCAN "
		    "index gives to %s", name, (unsigned long long)r->rid,
		    verify_name(other, p, plen));
	else if (rc == STORE_NOTFOUND) {
		/* The key points into the map, where the put may write. */
		memcpy(copy, key, len);
		k->indexed = v->fix &&
		    store_ridx_put(v->txn, r->rid, copy, len) == STORE_OK;
		verify_problem(v, k->indexed, "key %s has rid %llu but is "
		    "missing from the SCAN index", name,
		    (unsigned long long)r->rid);
	}
	return (STORE_WALK_NEXT);
}

/*
 * SCAN index walk callback: each entry names a key whose record has its
 * rid.  One that names no such key would list a key twice, or one that is
 * gone, so repairing deletes it, unless a key record that does not decode
 * could be the one.
 */
static int
verify_ridx_fn(void *arg, uint64_t rid, const void *key, size_t len)
{
	struct verify	*v = arg;
	char		 name[VNAME_BUF];
	size_t		 i;
	int		 fix = v->fix && v->bad_keys == 0;

	if (key == NULL) {
		verify_problem(v, fix, "SCAN index entry of rid %llu does not "
		    "decode%s", (unsigned long long)rid,
		    fix ? "; removed" : "");
		return (fix ? STORE_WALK_DELETE : STORE_WALK_NEXT);
	}
	for (i = verify_key_at(v, rid); i < v->nkeys && v->keys[i].rid == rid;
	    i++) {
		if (v->keys[i].indexed)
			return (STORE_WALK_NEXT);
	}
	verify_problem(v, fix, "SCAN index entry of rid %llu names key %s, "
	    "whose record does not have that rid%s", (unsigned long long)rid,
	    verify_name(name, key, len), fix ? "; removed" : "");
	return (fix ? STORE_WALK_DELETE : STORE_WALK_NEXT);
}

/* Set member walk callback: each belongs to a set. */
static int
verify_rset_fn(void *arg, uint64_t rid, const void *m, size_t len)
{
	struct verify	*v = arg;
	struct vkey	*k;
	char		 name[VNAME_BUF];

	(void)len;
	v->members++;
	if ((k = verify_key(v, rid, RTYPE_SET)) == NULL)
		return (verify_orphan(v, rid));
	k->found++;
	if (m == NULL)
		verify_problem(v, 0, "a member of set %s does not decode",
		    verify_key_name(v, k, name));
	return (STORE_WALK_NEXT);
}

/* Stream entry walk callback: each belongs to a stream. */
static int
verify_rentry_fn(void *arg, uint64_t rid, const struct mid *id,
    const struct rentry *e)
{
	struct verify	*v = arg;
	struct vkey	*k;
	char		 name[VNAME_BUF];

	(void)id;
	v->entries++;
	if ((k = verify_key(v, rid, RTYPE_STREAM)) == NULL)
		return (verify_orphan(v, rid));
	if (e == NULL) {
		/* Live or a tombstone: the length cannot be checked. */
		k->unsure = 1;
		verify_problem(v, 0, "an entry of stream %s does not decode",
		    verify_key_name(v, k, name));
	} else if (!e->deleted)
		k->found++;
	return (STORE_WALK_NEXT);
}

/* Consumer group walk callback: each belongs to a stream. */
static int
verify_rgroup_fn(void *arg, uint64_t rid, const void *name, size_t len,
    const struct rgroup_rec *r)
{
	struct verify	*v = arg;
	struct vkey	*k;
	struct vgroup	*g;
	char		 kname[VNAME_BUF];

	v->rgroups++;
	if ((k = verify_key(v, rid, RTYPE_STREAM)) == NULL)
		return (verify_orphan(v, rid));
	k->groups++;
	if (r == NULL) {
		v->bad_groups++;
		verify_problem(v, 0, "a consumer group of stream %s does not "
		    "decode", verify_key_name(v, k, kname));
		return (STORE_WALK_NEXT);
	}
	if (v->ngroups == v->capgroups) {
		v->groups = xgrow(v->groups, &v->capgroups,
		    sizeof *v->groups, 4);
	}
	g = &v->groups[v->ngroups++];
	memset(g, 0, sizeof *g);
	g->rid = rid;
	memcpy(g->name, name, len);
	g->len = len;
	g->r = *r;
	return (STORE_WALK_NEXT);
}

/* Consumer walk callback: each belongs to a group. */
static int
verify_rcons_fn(void *arg, uint64_t gid, const void *name, size_t len,
    const struct rcons_rec *r)
{
	struct verify	*v = arg;
	struct vgroup	*g;
	char		 gname[VNAME_BUF], kname[VNAME_BUF];

	(void)name; (void)len;
	v->consumers++;
	if ((g = verify_group(v, gid)) == NULL)
		return (verify_orphan(v, gid));
	g->consumers++;
	if (r == NULL) {
		verify_group_name(v, g, gname, kname);
		verify_problem(v, 0, "a consumer of group %s of stream %s "
		    "does not decode", gname, kname);
	}
	return (STORE_WALK_NEXT);
}

/*
 * Pending entry walk callback: each belongs to a group and names one of
 * its consumers, as XCLAIM, XACK and XGROUP DELCONSUMER keep it.  An
 * entry of no consumer is still pending: XCLAIM gives it one, XACK drops
 * it, so repairing leaves it be.
 */
static int
verify_rpel_fn(void *arg, uint64_t gid, const struct mid *id,
    const struct rpel_rec *p)
{
	struct verify	*v = arg;
	struct vgroup	*g;
	char		 gname[VNAME_BUF], kname[VNAME_BUF], cname[VNAME_BUF];
	char		 ms[MID_STRLEN + 1];

	v->pending++;
	if ((g = verify_group(v, gid)) == NULL)
		return (verify_orphan(v, gid));
	g->pending++;
	if (p == NULL) {
		verify_group_name(v, g, gname, kname);
		verify_problem(v, 0, "a pending entry of group %s of stream %s "
		    "does not decode", gname, kname);
	} else if (store_rcons_has(v->txn, gid, p->consumer, p->clen) ==
	    STORE_NOTFOUND) {
		verify_group_name(v, g, gname, kname);
		mid_format(id, ms);
		verify_problem(v, 0, "pending entry %s of group %s of stream "
		    "%s names consumer %s, which does not exist", ms, gname, kname,
		    verify_name(cname, p->consumer, p->clen));
	}
	return (STORE_WALK_NEXT);
}

/* Audit spool walk callback: each event decodes. */
static int
verify_audit_fn(void *arg, uint64_t id, const struct audit_rec *r)
{
	struct verify	*v = arg;

	v->audit++;
	if (r == NULL)
		verify_problem(v, 0, "audit event %llu does not decode",
		    (unsigned long long)id);
	return (STORE_WALK_NEXT);
}

/* Writes the counts found into the record of k, named by the index. */
static int
verify_key_fix(struct verify *v, const struct vkey *k)
{
	struct rkey_rec	 r;
	uint8_t		 key[RKEY_MAX];
	const void	*p;
	size_t		 len;
	int		 rc;

	if ((rc = store_ridx_get(v->txn, k->rid, &p, &len)) != STORE_OK)
		return (rc);
	/* The name points into the map, where the put may write. */
	memcpy(key, p, len);
	if ((rc = store_rkey_get(v->txn, key, len, &r)) != STORE_OK)
		return (rc);
	if (k->type == RTYPE_SET)
		r.card = k->found;
	else {
		r.length = k->found;
		r.ngroups = k->groups;
	}
	return (store_rkey_put(v->txn, key, len, &r, 0));
}

/*
 * Checks the counts the set, stream and group records keep against what
 * the walks found.  Repairing writes what was found, into a key's record
 * if the index names it.
 */
static int
verify_counts(struct verify *v)
{
	struct vkey	*k;
	struct vgroup	*g;
	char		 name[VNAME_BUF], kname[VNAME_BUF];
	uint64_t	 pending, consumers;
	size_t		 i;
	int		 rc, fix;

	for (i = 0; i < v->nkeys; i++) {
		k = &v->keys[i];
		if (k->unsure || k->type == RTYPE_STRING ||
		    (k->count == k->found && (k->type == RTYPE_SET ||
		    k->ngroups == k->groups)))
			continue;
		verify_key_name(v, k, name);
		fix = v->fix && k->indexed;
		if (fix && (rc = verify_key_fix(v, k)) != STORE_OK)
			return (rc);
		if (k->type == RTYPE_SET)
			verify_problem(v, fix, "set %s counts %llu members; it "
			    "holds %llu", name, (unsigned long long)k->count,
			    (unsigned long long)k->found);
		else
			verify_problem(v, fix, "stream %s counts %llu entries "
			    "and %llu groups; it holds %llu entries and %llu "
			    "groups", name, (unsigned long long)k->count,
			    (unsigned long long)k->ngroups,
			    (unsigned long long)k->found,
			    (unsigned long long)k->groups);
	}
	for (i = 0; i < v->ngroups; i++) {
		g = &v->groups[i];
		if (g->unsure || (g->r.pending == g->pending &&
		    g->r.consumers == g->consumers))
			continue;
		verify_group_name(v, g, name, kname);
		pending = g->r.pending;
		consumers = g->r.consumers;
		g->r.pending = g->pending;
		g->r.consumers = g->consumers;
		if (v->fix && (rc = store_rgroup_put(v->txn, g->rid, g->name,
		    g->len, &g->r)) != STORE_OK)
			return (rc);
		verify_problem(v, v->fix, "group %s of stream %s counts %llu "
		    "pending entries and %llu consumers; it holds %llu and "
		    "%llu", name, kname, (unsigned long long)pending,
		    (unsigned long long)consumers,
		    (unsigned long long)g->pending,
		    (unsigned long long)g->consumers);
	}
	return (STORE_OK);
}

/*
 * Checks the RESP shim's records (store.h): each key record decodes and
 * has an rid of its own, under which the SCAN index names it; each index
 * entry names a key with its rid; each set member, stream entry and group
 * belongs to a key of the right type, each consumer and pending entry to a
 * group, and each pending entry names a consumer of its group; the counts
 * the records keep match; each event of the audit spool decodes.
 * Repairing deletes what belongs to nothing, unless a record that does not
 * decode could own it, enters keys missing from the index and writes the
 * counts found.
 */
static int
verify_resp(struct verify *v)
{
	size_t	i;
	int	rc, fix;

	if ((rc = store_rkey_walk_all(v->txn, verify_rkey_fn, v)) !=
	    STORE_OK)
		return (rc);
	if (v->nkeys != 0)
		qsort(v->keys, v->nkeys, sizeof *v->keys, vkey_rid_cmp);
	for (i = 1; i < v->nkeys; i++) {
		if (v->keys[i].rid != v->keys[i - 1].rid)
			continue;
		v->keys[i].unsure = v->keys[i - 1].unsure = 1;
		verify_problem(v, 0, "rid %llu is held by more than one key",
		    (unsigned long long)v->keys[i].rid);
	}
	if ((rc = store_ridx_walk_all(v->txn, verify_ridx_fn, v)) !=
	    STORE_OK)
		return (rc);

	fix = v->fix && v->bad_keys == 0;
	verify_orphans_begin(v, "rid", "set members", "set", fix);
	if ((rc = store_rset_walk_all(v->txn, verify_rset_fn, v)) !=
	    STORE_OK)
		return (rc);
	verify_orphans_end(v);
	verify_orphans_begin(v, "rid", "stream entries", "stream", fix);
	if ((rc = store_rentry_walk_all(v->txn, verify_rentry_fn, v)) !=
	    STORE_OK)
		return (rc);
	verify_orphans_end(v);
	verify_orphans_begin(v, "rid", "consumer groups", "stream", fix);
	if ((rc = store_rgroup_walk_all(v->txn, verify_rgroup_fn, v)) !=
	    STORE_OK)
		return (rc);
	verify_orphans_end(v);

	if (v->ngroups != 0)
		qsort(v->groups, v->ngroups, sizeof *v->groups,
		    vgroup_gid_cmp);
	for (i = 1; i < v->ngroups; i++) {
		if (v->groups[i].r.gid != v->groups[i - 1].r.gid)
			continue;
		v->groups[i].unsure = v->groups[i - 1].unsure = 1;
		verify_problem(v, 0, "gid %llu is held by more than one "
		    "consumer group", (unsigned long long)v->groups[i].r.gid);
	}
	fix = fix && v->bad_groups == 0;
	verify_orphans_begin(v, "gid", "consumers", "consumer group", fix);
	if ((rc = store_rcons_walk_all(v->txn, verify_rcons_fn, v)) !=
	    STORE_OK)
		return (rc);
	verify_orphans_end(v);
	verify_orphans_begin(v, "gid", "pending entries", "consumer group",
	    fix);
	if ((rc = store_rpel_walk_all(v->txn, verify_rpel_fn, v)) !=
	    STORE_OK)
		return (rc);
	verify_orphans_end(v);

	if ((rc = verify_counts(v)) != STORE_OK)
		return (rc);
	return (store_audit_walk_all(v->txn, verify_audit_fn, v));
}

/*
 * Checks every index against the data it summarises (after Knot's
 * "zone check"): devices against accounts, each device's item count and
 * bytes against its queue, queues against devices, mids against the
 * high-water mark, frames against their keys, client ids against message
 * records, blocks against accounts, and the RESP shim's records and the
 * audit spool (verify_resp()).  Each inconsistency is passed to report as
 * one line.  With fix set (a write transaction), what can be repaired
 * without guessing is: counts are recomputed, orphan queues, damaged
 * items, dangling client ids and blocks are deleted, devices of no
 * account removed, an account left without a device gets "default", and
 * what verify_resp() says.  The summary has the counts of what was
 * checked.
 */
int
admin_verify(struct txn *txn, int fix, void (*report)(void *, const char *),
    void *arg, json_t **summary)
{
	struct verify	 v;
	struct adev	*a;
	uint64_t	 count, bytes;
	size_t		 i;
	int		 rc;

	*summary = NULL;
	memset(&v, 0, sizeof v);
	v.txn = txn;
	v.fix = fix;
	v.report = report;
	v.arg = arg;
	/* The user walk may hand out a queue number: read the last after. */
	if ((rc = store_mid_load(txn, &v.hw)) != STORE_OK ||
	    (rc = store_user_walk(txn, verify_user_fn, &v)) != STORE_OK ||
	    (rc = store_qid_last(txn, &v.qid_last)) != STORE_OK ||
	    (rc = verify_devices(&v)) != STORE_OK)
		goto out;
	verify_orphans_begin(&v, "queue", "items", "device", fix);
	if ((rc = store_queue_walk_all(txn, verify_item_fn, &v)) != STORE_OK)
		goto out;
	verify_orphans_end(&v);
	for (i = 0; i < v.devs.n; i++) {
		a = &v.devs.v[i];
		if (a->items == a->r.count && a->bytes == a->r.bytes)
			continue;
		count = a->r.count;
		bytes = a->r.bytes;
		a->r.count = a->items;
		a->r.bytes = a->bytes;
		if (fix && (rc = store_device_put(txn, a->user, a->device,
		    &a->r)) != STORE_OK)
			goto out;
		verify_problem(&v, fix, "device %s:%s counts %llu items of "
		    "%llu bytes; its queue holds %llu items of %llu bytes",
		    a->user, a->device, (unsigned long long)count,
		    (unsigned long long)bytes, (unsigned long long)a->items,
		    (unsigned long long)a->bytes);
	}
	if ((rc = store_msg_walk(txn, verify_msg_fn, &v)) != STORE_OK ||
	    (rc = store_dedup_walk(txn, NULL, verify_dedup_fn, &v)) !=
	    STORE_OK ||
	    (rc = store_block_walk_all(txn, verify_block_fn, &v)) !=
	    STORE_OK ||
	    (rc = store_token_walk(txn, verify_token_fn, &v)) != STORE_OK ||
	    (rc = verify_resp(&v)) != STORE_OK)
		goto out;
	*summary = json_pack("{s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,"
	    "s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
	    "consistent", v.problems == v.fixed,
	    "problems", (json_int_t)v.problems,
	    "repaired", (json_int_t)v.fixed,
	    "users", (json_int_t)v.users,
	    "devices", (json_int_t)v.devices,
	    "items", (json_int_t)v.items,
	    "messages", (json_int_t)v.msgs,
	    "client_ids", (json_int_t)v.dedup,
	    "blocks", (json_int_t)v.blocks,
	    "tokens", (json_int_t)v.tokens,
	    "stale_tokens", (json_int_t)v.stale_tokens,
	    "keys", (json_int_t)v.rkeys,
	    "set_members", (json_int_t)v.members,
	    "stream_entries", (json_int_t)v.entries,
	    "groups", (json_int_t)v.rgroups,
	    "consumers", (json_int_t)v.consumers,
	    "pending_entries", (json_int_t)v.pending,
	    "audit_events", (json_int_t)v.audit);
out:
	free(v.devs.v);
	free(v.keys);
	free(v.groups);
	return (rc);
}
