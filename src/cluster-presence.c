/* SPDX-License-Identifier: ISC */
/*
 * cluster-presence.c: presence across the nodes of a cluster
 * (tickd-cluster(7), Presence across nodes).  The home of a user mirrors
 * its presence in p:{NAME} and its block set in b:{NAME}, and publishes a
 * notice on the sharded channel pc:{NAME}; a node with a local watcher of a
 * user homed elsewhere subscribes to that channel (cluster-ssub.c), reads the
 * mirrors on each notice, and tells its watchers what changed for each of
 * them, under v1's rules (tickd-protocol(7) BLOCKING, PRESENCE AND
 * TYPING).  A user whose home's heartbeat lapsed shows offline, last seen
 * at that heartbeat; with Redis unreachable remote users show offline.
 * The mirrors of a user homed here that changed while Redis was
 * unreachable, or whose write went unanswered, are written again, whole,
 * once it answers.
 */
#include <sys/types.h>
#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "tickd.h"
#include "cluster.h"

/* What the mirrors tell of a user homed elsewhere. */
struct pstate {
	int		 found;		/* in the directory */
	char		 node[CLUSTER_NODE_MAX + 1];
	int		 online;
	int		 hide;		/* last_seen "nobody" */
	uint64_t	 last_seen;	/* 0: null */
	json_t		*blocks;	/* object: the users it blocked */
};

/* A user homed elsewhere that a local connection watches. */
struct rp {
	LIST_ENTRY(rp)	 entry;
	char		 name[NAME_USER_MAX + 1];
	int		 known;		/* fetched once */
	int		 fetching, again;
	int		 stale;		/* shown offline while Redis was not */
	struct pstate	 st;
};

/* A reading of one user's mirrors, three commands one after another. */
struct fetch {
	char		 name[NAME_USER_MAX + 1];
	int		 step;
	struct pstate	 st;
	void		(*fn)(struct fetch *, int);
	void		*arg;
	char		 viewer[NAME_USER_MAX + 1];
};

/* A block change waiting for its commit. */
struct bchange {
	TAILQ_ENTRY(bchange) entry;
	char		 user[NAME_USER_MAX + 1];
	char		 other[NAME_USER_MAX + 1];
	int		 add;
};

/*
 * Users homed here whose mirrors Redis may lack, to be written again from
 * the store; past DIRTY_MAX names, every user's are, so the names are let
 * go (tickd-cluster(7), Presence across nodes).
 */
static struct dirtyset	dirty = { .size = NAME_USER_MAX + 1 };

/* What a view is computed from: the state and the world around it. */
struct snap {
	const struct pstate *st;
	int		 known, up, alive;
	uint64_t	 hb;
};

static LIST_HEAD(, rp)		 rps = LIST_HEAD_INITIALIZER(rps);
static TAILQ_HEAD(, bchange)	 bchanges = TAILQ_HEAD_INITIALIZER(bchanges);
static int			 pres_up;	/* Redis answers, as told here */

static void	fetch_start(const char *, void (*)(struct fetch *, int),
		    void *, const char *);
static void	fetch_next(struct fetch *);
static void	rp_notice(void *, const char *, size_t);
static void	dirty_flush(void);

/* The watched remote user called name, or NULL. */
static struct rp *
rp_find(const char *name)
{
	struct rp	*r;

	LIST_FOREACH(r, &rps, entry) {
		if (strcmp(r->name, name) == 0)
			return (r);
	}
	return (NULL);
}

/* The snapshot of r's state as it is now. */
static void
snap_now(struct snap *s, const struct pstate *st, int known)
{
	s->st = st;
	s->known = known;
	s->up = pres_up;
	s->alive = st->node[0] != '\0' && cluster_node_alive(st->node);
	s->hb = st->node[0] != '\0' ? cluster_node_heartbeat(st->node) : 0;
}

/*
 * What viewer sees of a remote user (tickd-cluster(7), Presence across
 * nodes): offline with Redis unreachable; offline and null when blocked;
 * offline, last seen at its home's last heartbeat, when that home is down.
 */
static void
snap_view(const struct snap *s, const char *viewer, int *online,
    uint64_t *last_seen)
{
	const struct pstate *st = s->st;

	*online = 0;
	*last_seen = 0;
	if (!s->known || !st->found || (st->blocks != NULL &&
	    json_object_get(st->blocks, viewer) != NULL))
		return;
	if (!s->up) {
		if (!st->online && !st->hide)
			*last_seen = st->last_seen;
		return;
	}
	if (!s->alive) {
		if (!st->hide)
			*last_seen = st->online ? s->hb : st->last_seen;
		return;
	}
	*online = st->online;
	if (!st->online && !st->hide)
		*last_seen = st->last_seen;
}

/* Whether viewer's view differs between the two snapshots in arg. */
static int
snap_changed(const char *viewer, void *arg)
{
	const struct snap *s = arg;
	uint64_t	 l0, l1;
	int		 o0, o1;

	if (!s[0].known)
		return (1);
	snap_view(&s[0], viewer, &o0, &l0);
	snap_view(&s[1], viewer, &o1, &l1);
	return (o0 != o1 || l0 != l1);
}

/* Frees what a state holds. */
static void
pstate_clear(struct pstate *st)
{
	json_decref(st->blocks);
	memset(st, 0, sizeof *st);
}

/*
 * What viewer sees of target, a user without an account here, for
 * presence.c: from the mirrors when it is watched, else offline.
 */
void
cluster_presence_view(const char *viewer, const char *target, int *online,
    uint64_t *last_seen)
{
	struct rp	*r = rp_find(target);
	struct snap	 s;

	*online = 0;
	*last_seen = 0;
	if (r == NULL)
		return;
	snap_now(&s, &r->st, r->known);
	snap_view(&s, viewer, online, last_seen);
}

/* r's channel pc:{NAME} (SSUBSCRIBE) or its end (SUNSUBSCRIBE). */
static void
rp_channel(struct rp *r, int on)
{
	char	*key;

	key = cluster_k("pc", r->name);
	if (on)
		cluster_ssub_add(key, rp_notice, r);
	else
		cluster_ssub_del(key);
	free(key);
}

/* A fetch for a watched user ended: its watchers are told what changed. */
static void
rp_fetched(struct fetch *f, int ok)
{
	struct rp	*r = rp_find(f->name);
	struct snap	 s[2];
	struct pstate	 old;

	if (r == NULL)
		return;
	r->fetching = 0;
	if (ok) {
		old = r->st;
		snap_now(&s[0], &old, r->known);
		if (r->stale)
			s[0].up = 0;
		r->stale = 0;
		r->st = f->st;
		memset(&f->st, 0, sizeof f->st);
		r->known = 1;
		snap_now(&s[1], &r->st, 1);
		presence_remote_notify(r->name, snap_changed, s);
		pstate_clear(&old);
	} else if (!r->known) {
		/* Redis is gone: the watchers are told offline at once. */
		r->known = 1;
		snap_now(&s[0], &r->st, 0);
		snap_now(&s[1], &r->st, 1);
		presence_remote_notify(r->name, snap_changed, s);
	}
	if (r->again && pres_up) {
		r->again = 0;
		r->fetching = 1;
		fetch_start(r->name, rp_fetched, NULL, NULL);
	}
}

/* Reads r's mirrors now, or after the reading under way. */
static void
rp_refetch(struct rp *r)
{
	if (r->fetching) {
		r->again = 1;
		return;
	}
	r->fetching = 1;
	fetch_start(r->name, rp_fetched, NULL, NULL);
}

/*
 * A notice on r's channel, or the channel subscribed (again), when
 * notices may have been missed: r's mirrors are read again.
 */
static void
rp_notice(void *arg, const char *msg, size_t len)
{
	(void)msg;
	(void)len;
	rp_refetch(arg);
}

/*
 * A local connection watches target, which has no account here: its
 * channel is subscribed to and its mirrors read.  1 when the watcher is
 * told once they are read (or was told already), 0 when it must be told
 * now.
 */
int
cluster_presence_watch(const char *target)
{
	struct rp	*r;

	if ((r = rp_find(target)) == NULL) {
		r = xcalloc(1, sizeof *r);
		strlcpy(r->name, target, sizeof r->name);
		LIST_INSERT_HEAD(&rps, r, entry);
		rp_channel(r, 1);
		if (pres_up) {
			rp_refetch(r);
			/* A reading that failed at once told the watcher. */
			if (r->known)
				return (1);
		}
	}
	if (!r->known && r->fetching)
		return (1);
	r->known = 1;
	return (0);
}

/* Nobody here watches target any more. */
void
cluster_presence_unwatch(const char *target)
{
	struct rp	*r;

	if ((r = rp_find(target)) == NULL)
		return;
	rp_channel(r, 0);
	LIST_REMOVE(r, entry);
	pstate_clear(&r->st);
	free(r);
}

/* The reply to SMEMBERS b:{NAME}: the fetch is complete. */
static void
fetch_blocks_cb(redisAsyncContext *ac, void *rr, void *arg)
{
	redisReply	*reply = rr;
	struct fetch	*f = arg;
	size_t		 i;
	int		 ok = 0;

	rconn_answered(ac->data);
	if (reply != NULL && reply->type == REDIS_REPLY_ARRAY) {
		ok = 1;
		f->st.blocks = json_object();
		for (i = 0; i < reply->elements; i++) {
			if (reply->element[i]->type == REDIS_REPLY_STRING)
				json_object_set_new(f->st.blocks,
				    reply->element[i]->str, json_true());
		}
	}
	f->fn(f, ok);
	pstate_clear(&f->st);
	free(f);
}

/* The reply to HGETALL p:{NAME}: online, last_seen and hide. */
static void
fetch_p_cb(redisAsyncContext *ac, void *rr, void *arg)
{
	redisReply	*reply = rr, *k, *v;
	struct fetch	*f = arg;
	size_t		 i;

	rconn_answered(ac->data);
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
		f->fn(f, 0);
		free(f);
		return;
	}
	for (i = 0; i + 1 < reply->elements; i += 2) {
		k = reply->element[i];
		v = reply->element[i + 1];
		if (k->type != REDIS_REPLY_STRING ||
		    v->type != REDIS_REPLY_STRING)
			continue;
		if (strcmp(k->str, "online") == 0)
			f->st.online = strcmp(v->str, "1") == 0;
		else if (strcmp(k->str, "hide") == 0)
			f->st.hide = strcmp(v->str, "1") == 0;
		else if (strcmp(k->str, "last_seen") == 0)
			f->st.last_seen = strtoull(v->str, NULL, 10);
	}
	f->step++;
	fetch_next(f);
}

/* The reply to GET u:{NAME}: the user's home, or none. */
static void
fetch_u_cb(redisAsyncContext *ac, void *rr, void *arg)
{
	redisReply	*reply = rr;
	struct fetch	*f = arg;

	rconn_answered(ac->data);
	if (reply == NULL || (reply->type != REDIS_REPLY_STRING &&
	    reply->type != REDIS_REPLY_NIL)) {
		f->fn(f, 0);
		free(f);
		return;
	}
	if (reply->type == REDIS_REPLY_STRING &&
	    cluster_node_name_ok(reply->str, reply->len)) {
		f->st.found = 1;
		strlcpy(f->st.node, reply->str, sizeof f->st.node);
	}
	f->step++;
	fetch_next(f);
}

/* The command and callback of each step of a fetch. */
static redisCallbackFn *const fetch_cbs[] = {
	fetch_u_cb, fetch_p_cb, fetch_blocks_cb
};

/* Sends the next command of f, or ends it failed. */
static void
fetch_next(struct fetch *f)
{
	static const char *const cmds[] = { "GET", "HGETALL", "SMEMBERS" };
	static const char *const kinds[] = { "u", "p", "b" };
	const char	*argv[2];
	char		*key;
	int		 rc;

	key = cluster_k(kinds[f->step], f->name);
	argv[0] = cmds[f->step];
	argv[1] = key;
	rc = rconn_cmd(&cl.cmd, fetch_cbs[f->step], f, 0, 2, argv, NULL);
	free(key);
	if (rc != 0) {
		f->fn(f, 0);
		pstate_clear(&f->st);
		free(f);
	}
}

/* Starts reading name's mirrors; fn is told with 1 when they are read. */
static void
fetch_start(const char *name, void (*fn)(struct fetch *, int), void *arg,
    const char *viewer)
{
	struct fetch	*f;

	f = xcalloc(1, sizeof *f);
	strlcpy(f->name, name, sizeof f->name);
	if (viewer != NULL)
		strlcpy(f->viewer, viewer, sizeof f->viewer);
	f->fn = fn;
	f->arg = arg;
	fetch_next(f);
}

/*
 * At each heartbeat while Redis answers: the mirrors not written yet are.
 */
void
cluster_presence_tick(void)
{
	dirty_flush();
}

/* Tells r's watchers what changes when the world of snapshot s0 changes. */
static void
rp_world_changed(struct rp *r, const struct snap *s0)
{
	struct snap	s[2];

	if (!r->known)
		return;
	s[0] = *s0;
	snap_now(&s[1], &r->st, 1);
	presence_remote_notify(r->name, snap_changed, s);
}

/* Redis answers again: the watched users' mirrors are read again. */
void
cluster_presence_up(void)
{
	struct rp	*r;

	pres_up = 1;
	cluster_presence_tick();
	LIST_FOREACH(r, &rps, entry)
		rp_refetch(r);
}

/* Redis is unreachable: remote users show offline (tickd-cluster(7)). */
void
cluster_presence_down(void)
{
	struct rp	*r;
	struct snap	 s;

	if (!pres_up)
		return;
	pres_up = 0;
	LIST_FOREACH(r, &rps, entry) {
		r->stale = 1;
		snap_now(&s, &r->st, 1);
		s.up = 1;
		rp_world_changed(r, &s);
	}
}

/* node's heartbeat came or lapsed: its users' watchers are told. */
void
cluster_presence_node(const char *node, int was_alive)
{
	struct rp	*r;
	struct snap	 s;

	LIST_FOREACH(r, &rps, entry) {
		if (strcmp(r->st.node, node) != 0)
			continue;
		snap_now(&s, &r->st, 1);
		s.alive = was_alive;
		rp_world_changed(r, &s);
	}
}

/*
 * Notes that user's mirrors are to be written again from the store.  The
 * name is NUL-padded so that the set, comparing whole keys, dedupes as
 * strcmp would.
 */
static void
dirty_add(const char *user)
{
	char	key[NAME_USER_MAX + 1];

	memset(key, 0, sizeof key);
	strlcpy(key, user, sizeof key);
	dirtyset_add(&dirty, key);
}

/*
 * The reply to a write of the mirrors of user, whose name arg holds: one
 * refused or lost with its connection may not have been applied, so they
 * are written again.  arg is freed.
 */
static void
dirty_cb(redisAsyncContext *ac, void *rr, void *arg)
{
	redisReply	*reply = rr;
	char		*user = arg;

	rconn_answered(ac->data);
	if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
		log_debug("cluster: the mirror of %s: %s; written again", user,
		    reply != NULL ? reply->str : "no answer");
		dirty_add(user);
	}
	free(user);
}

/* Sends a write of user's mirrors, with dirty_cb; -1 if not sent. */
static int
dirty_cmd(const char *user, int argc, const char **argv)
{
	char	*arg = xstrdup(user);

	if (rconn_cmd(&cl.cmd, dirty_cb, arg, 0, argc, argv, NULL) != 0) {
		free(arg);
		return (-1);
	}
	return (0);
}

/*
 * Publishes a notice of user's with SPUBLISH on pc:{NAME}: its mirrors
 * changed.  rconn_cmd routes it by the channel, argv[1], as by a key.
 */
static void
notice(const char *user)
{
	const char	*argv[3];
	char		*key;

	key = cluster_k("pc", user);
	argv[0] = "SPUBLISH";
	argv[1] = key;
	argv[2] = user;
	rconn_cmd(&cl.cmd, cluster_logged_cb, "SPUBLISH", 0, 3, argv, NULL);
	free(key);
}

/*
 * Writes p:{NAME} of user, homed here, and publishes a notice; -1 if
 * Redis cannot take it now.
 */
static int
mirror_p(const char *user, const struct user_rec *rec, int online)
{
	const char	*argv[8];
	char		*key, ls[24];
	int		 hide = rec->last_seen_vis == LASTSEEN_NOBODY, rc;

	ls[0] = '\0';
	if (!hide && rec->last_seen != 0)
		snprintf(ls, sizeof ls, "%llu",
		    (unsigned long long)rec->last_seen);
	key = cluster_k("p", user);
	argv[0] = "HSET";
	argv[1] = key;
	argv[2] = "online";
	argv[3] = online ? "1" : "0";
	argv[4] = "last_seen";
	argv[5] = ls;
	argv[6] = "hide";
	argv[7] = hide ? "1" : "0";
	rc = dirty_cmd(user, 8, argv);
	free(key);
	if (rc == 0)
		notice(user);
	return (rc);
}

/*
 * user, homed here, changed presence or settings: its mirror p:{NAME} is
 * written and a notice published (tickd-cluster(7), Presence across nodes),
 * or written once Redis answers.  rec is what the store says of it, online
 * whether a device is connected.
 */
void
cluster_presence_changed(const char *user, const struct user_rec *rec,
    int online)
{
	if (!cl.ready || mirror_p(user, rec, online) != 0)
		dirty_add(user);
}

/* The members of a block mirror being written: SADD's argv. */
struct bset {
	const char	**argv;
	size_t		  n, cap;
};

/* Block walk callback: one member of b:{NAME}. */
static int
bset_fn(void *arg, const char *other)
{
	struct bset	*b = arg;

	if (b->n == b->cap)
		b->argv = xgrow(b->argv, &b->cap, sizeof *b->argv, 16);
	b->argv[b->n++] = xstrdup(other);
	return (STORE_WALK_NEXT);
}

/*
 * Writes b:{NAME} of user, homed here, whole from txn: MULTI, DEL, SADD
 * of every member, EXEC, so that a node reading it meanwhile sees the old
 * set or the new one, never an empty one (both keys of the same slot of a
 * Redis Cluster).  -1 if Redis cannot take it now.
 */
static int
mirror_b(struct txn *txn, const char *user)
{
	struct bset	 b;
	const char	*argv[2];
	char		*key;
	size_t		 i;
	int		 rc = -1;

	memset(&b, 0, sizeof b);
	key = cluster_k("b", user);
	bset_fn(&b, "SADD");
	bset_fn(&b, key);
	if (store_block_walk(txn, user, bset_fn, &b) != STORE_OK) {
		log_warnx("cluster: cannot read the blocks of %s to mirror",
		    user);
		rc = 0;
		goto out;
	}
	argv[0] = "MULTI";
	if (rconn_cmd(&cl.cmd, cluster_logged_cb, "MULTI", 0, 1, argv,
	    NULL) != 0)
		goto out;
	argv[0] = "DEL";
	argv[1] = key;
	rconn_cmd(&cl.cmd, cluster_logged_cb, "DEL", 0, 2, argv, NULL);
	if (b.n > 2)
		rconn_cmd(&cl.cmd, cluster_logged_cb, "SADD", 0, (int)b.n,
		    b.argv, NULL);
	argv[0] = "EXEC";
	rc = dirty_cmd(user, 1, argv);
out:
	for (i = 0; i < b.n; i++)
		free((char *)b.argv[i]);
	free(b.argv);
	free(key);
	return (rc);
}

/*
 * The mirrors of user, homed here, are written again from txn, unless
 * its account is held for a name conflict (tickd-cluster(7), Name
 * conflicts) or gone.  -1 if Redis cannot take them now.
 */
static int
mirror_user(struct txn *txn, const char *user)
{
	struct user_rec	rec;

	if (store_user_get(txn, user, &rec) != STORE_OK ||
	    cluster_held(txn, user))
		return (0);
	if (mirror_b(txn, user) != 0)
		return (-1);
	return (mirror_p(user, &rec, presence_online(user)));
}

/* User walk callback: every user's mirrors; arg is the walk's txn. */
static int
dirty_all_fn(void *arg, const char *user, const struct user_rec *rec)
{
	(void)rec;
	if (mirror_user(arg, user) != 0) {
		dirty.all = 1;
		return (STORE_WALK_STOP);
	}
	return (STORE_WALK_NEXT);
}

/* Writes the mirrors Redis may lack, while it takes them. */
static void
dirty_flush(void)
{
	struct txn	txn;
	size_t		i;

	if (!cl.ready || (dirty.n == 0 && !dirty.all) ||
	    store_txn_begin(srv.store, &txn, 0) != STORE_OK)
		return;
	if (dirty.all) {
		dirty.all = 0;
		if (store_user_walk(&txn, dirty_all_fn, &txn) != STORE_OK)
			dirty.all = 1;
	} else {
		for (i = 0; i < dirty.n; i++) {
			if (mirror_user(&txn, dirtyset_key(&dirty, i)) != 0)
				break;
		}
		dirtyset_drop(&dirty, i);
	}
	store_txn_abort(&txn);
}

/*
 * Redis lost its data (tickd-cluster(7), What each failure does): the
 * mirrors of user, homed here, are written again from txn, or once Redis
 * takes them.
 */
void
cluster_presence_writeback(struct txn *txn, const char *user,
    const struct user_rec *rec)
{
	if (mirror_b(txn, user) != 0 ||
	    mirror_p(user, rec, presence_online(user)) != 0)
		dirty_add(user);
}

/* user blocked (add) or unblocked other: mirrored after the commit. */
void
cluster_presence_block(const char *user, const char *other, int add)
{
	struct bchange	*b;

	b = xcalloc(1, sizeof *b);
	strlcpy(b->user, user, sizeof b->user);
	strlcpy(b->other, other, sizeof b->other);
	b->add = add;
	TAILQ_INSERT_TAIL(&bchanges, b, entry);
}

/*
 * After a commit: the block changes it held go to b:{NAME}, each with a
 * notice, so that the watchers' nodes look again (tickd-cluster(7)); with
 * Redis unreachable, the whole set goes once it answers.
 */
void
cluster_presence_commit(int ok)
{
	struct bchange	*b;
	const char	*argv[3];
	char		*key;

	while ((b = TAILQ_FIRST(&bchanges)) != NULL) {
		TAILQ_REMOVE(&bchanges, b, entry);
		if (ok && cl.ready) {
			key = cluster_k("b", b->user);
			argv[0] = b->add ? "SADD" : "SREM";
			argv[1] = key;
			argv[2] = b->other;
			if (dirty_cmd(b->user, 3, argv) == 0)
				notice(b->user);
			else
				dirty_add(b->user);
			free(key);
		} else if (ok)
			dirty_add(b->user);
		free(b);
	}
}

/* A last-seen question under way. */
struct ask_view {
	void	(*fn)(void *, int, json_t *);
	void	*arg;
};

/* The answer to a last-seen question, from a state. */
static json_t *
answer_view(const struct pstate *st, const char *viewer, const char *target)
{
	struct snap	 s;
	uint64_t	 last_seen;
	int		 online;

	snap_now(&s, st, 1);
	snap_view(&s, viewer, &online, &last_seen);
	return (json_pack("{s:s,s:b,s:o}", "user", target, "online", online,
	    "last_seen", last_seen != 0 ? json_integer((json_int_t)last_seen) :
	    json_null()));
}

/* The end of a fetch for a last-seen question. */
static void
view_fetched(struct fetch *f, int ok)
{
	struct ask_view	*a = f->arg;
	json_t		*obj;

	if (!ok)
		a->fn(a->arg, CLUSTER_DOWN, NULL);
	else if (!f->st.found)
		a->fn(a->arg, CLUSTER_NONE, NULL);
	else {
		obj = answer_view(&f->st, f->viewer, f->name);
		a->fn(a->arg, CLUSTER_FOUND, obj);
		json_decref(obj);
	}
	free(a);
}

/*
 * What viewer sees of target, a user without an account here, for GET
 * /v1/users/NAME/last-seen: CLUSTER_FOUND and the view in *obj, from the
 * mirrors; CLUSTER_NONE for a user unknown in the cluster; CLUSTER_DOWN
 * with Redis unreachable; or -1 when fn will be told one of these.
 */
int
cluster_presence_get(const char *viewer, const char *target,
    void (*fn)(void *, int, json_t *), void *arg, json_t **obj)
{
	struct ask_view	*a;
	struct rp	*r = rp_find(target);

	*obj = NULL;
	if (r != NULL && r->known && r->st.found && !r->fetching) {
		*obj = answer_view(&r->st, viewer, target);
		return (CLUSTER_FOUND);
	}
	if (!pres_up)
		return (CLUSTER_DOWN);
	a = xcalloc(1, sizeof *a);
	a->fn = fn;
	a->arg = arg;
	fetch_start(target, view_fetched, a, viewer);
	return (-1);
}

/* Frees everything at shutdown. */
void
cluster_presence_free(void)
{
	struct rp	*r;
	struct bchange	*b;

	while ((r = LIST_FIRST(&rps)) != NULL) {
		LIST_REMOVE(r, entry);
		pstate_clear(&r->st);
		free(r);
	}
	while ((b = TAILQ_FIRST(&bchanges)) != NULL) {
		TAILQ_REMOVE(&bchanges, b, entry);
		free(b);
	}
	dirtyset_clear(&dirty);
}
