/* SPDX-License-Identifier: ISC */
/*
 * cluster-stream.c: the transport between nodes (tickd-cluster(7), Messages
 * between nodes).  The reader takes this node's stream through the consumer
 * group, pending entries first, and applies each batch in the loop's write
 * transaction (cluster-apply.c); after the commit it sends XACK, the done
 * entries and the answers to remote calls (cluster-rpc.c).  The forwarder
 * sends the outbox in mid order, in pipelines of cluster_batch XADDs, to
 * nodes whose heartbeat is alive, and sends again what is not confirmed
 * after cluster_retry.  The retry timer also sends bare lw entries and
 * trims the stream.
 */
#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "tickd.h"
#include "cluster.h"

#define READ_BLOCK_MAX	1000	/* ms an XREADGROUP may BLOCK */
/*
 * XREADGROUPs of new entries out at once.  The replies that arrive in one
 * turn are applied in that turn's transaction: with one, the reader took
 * cluster_batch entries a turn at most, behind the senders.
 */
#define READ_DEPTH	2
/*
 * Pipelines of cluster_batch XADDs out at once to one node.  With one,
 * the forwarder sent a batch every other turn: the next went only after
 * the turn that took the last reply.
 */
#define FWD_DEPTH	2

/* Another node, as the heartbeat sees it, and what was sent to it. */
struct node {
	char		 name[CLUSTER_NODE_MAX + 1];
	char		*url;
	int		 alive;
	uint64_t	 hb;		/* its last heartbeat, Unix ms */
	int		 seen;		/* in the last HGETALL */
	struct mid	 sent;		/* highest mid sent this round */
	uint64_t	 round;		/* ms the round began, 0: none */
	size_t		 inflight;	/* XADDs unanswered */
	int		 failed;	/* one of them failed */
	int		 again;		/* restart once none is in flight */
};

static struct {
	struct node	*v;
	size_t		 n, cap;

	int		 reading;	/* XREADGROUPs out */
	int		 stale;		/* of those, asked before a failed commit */
	int		 pending;	/* still reading pending entries */
	struct mid	 pending_from;
	int		 waiting;	/* applied, waiting for the commit */
	struct mid	*ack;		/* entries to XACK after it */
	size_t		 nack, capack;
	struct cluster_applied applied;

	struct event	*ev_read, *ev_fwd, *ev_retry;
	struct cluster_stats stats;
} cs;

static void	read_next(void);
static int	read_one(void);

/* The node called name, added if new. */
static struct node *
node_get(const char *name)
{
	struct node	*n;
	size_t		 i;

	for (i = 0; i < cs.n; i++) {
		if (strcmp(cs.v[i].name, name) == 0)
			return (&cs.v[i]);
	}
	if (cs.n == cs.cap)
		cs.v = xgrow(cs.v, &cs.cap, sizeof *cs.v, 4);
	n = &cs.v[cs.n++];
	memset(n, 0, sizeof *n);
	strlcpy(n->name, name, sizeof n->name);
	return (n);
}

/* The URL node name published with its heartbeat, NULL while unknown. */
const char *
cluster_node_url(const char *name)
{
	size_t	i;

	if (strcmp(name, srv.conf.node_name) == 0)
		return (srv.conf.cluster_url);
	for (i = 0; i < cs.n; i++) {
		if (strcmp(cs.v[i].name, name) == 0)
			return (cs.v[i].url);
	}
	return (NULL);
}

/* The counters of /metrics. */
void
cluster_get_stats(struct cluster_stats *st)
{
	*st = cs.stats;
	st->rpc_timeouts = cluster_rpc_timeouts();
}

/*
 * Sends node n's records again from the first one held, once what is in
 * flight is answered: XADDs on one connection land in the order sent.
 */
static void
fwd_restart(struct node *n)
{
	if (n->inflight > 0) {
		n->again = 1;
		return;
	}
	n->again = 0;
	n->sent = mid_zero;
	n->round = 0;
}

/* Runs ev from the loop as soon as possible. */
static void
kick(struct event *ev)
{
	struct timeval	tv = { 0, 0 };

	if (ev != NULL && !evtimer_pending(ev, NULL))
		evtimer_add(ev, &tv);
}

/* The reply to EXISTS alive:{N}. */
static void
alive_cb(redisAsyncContext *ac, void *r, void *arg)
{
	redisReply	*reply = r;
	char		*name = arg;
	struct node	*n;
	int		 was;

	rconn_answered(ac->data);
	if (reply != NULL && reply->type == REDIS_REPLY_INTEGER) {
		n = node_get(name);
		was = n->alive;
		n->alive = reply->integer == 1;
		if (n->alive && !was) {
			log_info("cluster: node %s is alive", name);
			fwd_restart(n);
			kick(cs.ev_fwd);
		} else if (!n->alive && was)
			log_warnx("cluster: node %s is down (no heartbeat)",
			    name);
		if (n->alive != was)
			cluster_presence_node(name, was);
	}
	free(name);
}

/* The reply to HGETALL urls: each node's URL. */
static void
urls_cb(redisAsyncContext *ac, void *r, void *arg)
{
	redisReply	*reply = r;
	struct node	*n;
	size_t		 i;

	(void)arg;
	rconn_answered(ac->data);
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY)
		return;
	for (i = 0; i + 1 < reply->elements; i += 2) {
		if (reply->element[i]->type != REDIS_REPLY_STRING ||
		    reply->element[i + 1]->type != REDIS_REPLY_STRING ||
		    !cluster_node_name_ok(reply->element[i]->str,
		    reply->element[i]->len) ||
		    strcmp(reply->element[i]->str, srv.conf.node_name) == 0)
			continue;
		n = node_get(reply->element[i]->str);
		if (n->url == NULL || strcmp(n->url,
		    reply->element[i + 1]->str) != 0) {
			free(n->url);
			n->url = xstrdup(reply->element[i + 1]->str);
		}
	}
}

/* The reply to HGETALL nodes: asks whether each is alive. */
static void
nodes_cb(redisAsyncContext *ac, void *r, void *arg)
{
	redisReply	*reply = r;
	const char	*argv[2];
	const char	*name;
	char		*key;
	size_t		 i;

	(void)arg;
	rconn_answered(ac->data);
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY)
		return;
	for (i = 0; i < cs.n; i++)
		cs.v[i].seen = 0;
	for (i = 0; i + 1 < reply->elements; i += 2) {
		if (reply->element[i]->type != REDIS_REPLY_STRING)
			continue;
		name = reply->element[i]->str;
		if (!cluster_node_name_ok(name, reply->element[i]->len) ||
		    strcmp(name, srv.conf.node_name) == 0)
			continue;
		node_get(name)->seen = 1;
		if (reply->element[i + 1]->type == REDIS_REPLY_STRING)
			node_get(name)->hb = strtoull(
			    reply->element[i + 1]->str, NULL, 10);
		key = cluster_k("alive", name);
		argv[0] = "EXISTS";
		argv[1] = key;
		rconn_cmd(&cl.cmd, alive_cb, xstrdup(name), 0, 2, argv, NULL);
		free(key);
	}
	/* A node gone from the hash (forgotten) is down. */
	for (i = 0; i < cs.n; i++) {
		if (!cs.v[i].seen && cs.v[i].alive) {
			cs.v[i].alive = 0;
			cluster_presence_node(cs.v[i].name, 1);
		}
	}
}

/*
 * The reply to SMEMBERS forgotten: this node forgets, in its own store,
 * the nodes an operator forgot elsewhere (tickctl(8) cluster forget).
 */
static void
forgotten_cb(redisAsyncContext *ac, void *r, void *arg)
{
	redisReply	*reply = r;
	struct txn	 txn;
	struct mid	 lw;
	const char	*name;
	size_t		 i;
	int		 held;

	(void)arg;
	rconn_answered(ac->data);
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY)
		return;
	for (i = 0; i < reply->elements; i++) {
		if (reply->element[i]->type != REDIS_REPLY_STRING)
			continue;
		name = reply->element[i]->str;
		if (!cluster_node_name_ok(name, reply->element[i]->len) ||
		    strcmp(name, srv.conf.node_name) == 0)
			continue;
		if (store_txn_begin(srv.store, &txn, 0) != STORE_OK)
			return;
		held = store_cout_lowest(&txn, name, &lw) == STORE_OK &&
		    !mid_iszero(&lw);
		store_txn_abort(&txn);
		if (held) {
			log_info("cluster: node %s was forgotten; its records "
			    "here become failed receipts", name);
			cluster_forget_local(name);
		}
	}
}

/* Asks Redis which nodes there are, which are alive, and their URLs. */
void
cluster_nodes_refresh(void)
{
	const char	*argv[2];
	char		*key;

	argv[0] = "HGETALL";
	argv[1] = cl.k_nodes;
	rconn_cmd(&cl.cmd, nodes_cb, NULL, 0, 2, argv, NULL);
	argv[1] = cl.k_urls;
	rconn_cmd(&cl.cmd, urls_cb, NULL, 0, 2, argv, NULL);
	key = cluster_k("forgotten", NULL);
	argv[0] = "SMEMBERS";
	argv[1] = key;
	rconn_cmd(&cl.cmd, forgotten_cb, NULL, 0, 2, argv, NULL);
	free(key);
}

/* Whether node's heartbeat was alive at the last look. */
int
cluster_node_alive(const char *name)
{
	size_t	i;

	for (i = 0; i < cs.n; i++) {
		if (strcmp(cs.v[i].name, name) == 0)
			return (cs.v[i].alive);
	}
	return (0);
}

/* node's last heartbeat (Unix ms) at the last look, 0 if unknown. */
uint64_t
cluster_node_heartbeat(const char *name)
{
	size_t	i;

	for (i = 0; i < cs.n; i++) {
		if (strcmp(cs.v[i].name, name) == 0)
			return (cs.v[i].hb);
	}
	return (0);
}

/* The other nodes this node knows, for tickctl cluster nodes. */
json_t *
cluster_ctl_nodes(char **err)
{
	json_t	*a;
	size_t	 i;

	if (!cl.on) {
		*err = xstrdup("this tickd is a single node: cluster_redis "
		    "is not set");
		return (NULL);
	}
	a = json_array();
	json_array_append_new(a, json_pack("{s:s,s:s,s:b,s:b}", "node",
	    srv.conf.node_name, "url", srv.conf.cluster_url, "alive",
	    cl.ready, "self", 1));
	for (i = 0; i < cs.n; i++) {
		if (!cs.v[i].seen && !cs.v[i].alive)
			continue;
		json_array_append_new(a, json_pack("{s:s,s:s?,s:b,s:b}",
		    "node", cs.v[i].name, "url", cs.v[i].url, "alive",
		    cs.v[i].alive, "self", 0));
	}
	return (json_pack("{s:o}", "nodes", a));
}

/* Copies an entry's field value into e; 0, or -1 if it is bad. */
static int
entry_field(struct cluster_entry *e, const redisReply *f, const redisReply *v)
{
	if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
		return (-1);
	if (strcmp(f->str, "o") == 0) {
		if (!cluster_node_name_ok(v->str, v->len))
			return (-1);
		strlcpy(e->o, v->str, sizeof e->o);
	} else if (strcmp(f->str, "k") == 0) {
		if (v->len >= sizeof e->k)
			return (-1);
		strlcpy(e->k, v->str, sizeof e->k);
	} else if (strcmp(f->str, "om") == 0) {
		if (mid_parse(v->str, v->len, &e->om) != 0)
			return (-1);
	} else if (strcmp(f->str, "lw") == 0) {
		if (mid_parse(v->str, v->len, &e->lw) != 0)
			return (-1);
		e->has_lw = 1;
	} else if (strcmp(f->str, "p") == 0) {
		e->p = v->str;
		e->plen = v->len;
	}
	return (0);
}

/*
 * Parses the entries of an XREADGROUP reply into v (pointing into the
 * reply) and every id into cs.ack; returns how many entries v holds.
 */
static size_t
entries_parse(const redisReply *reply, struct cluster_entry **vp)
{
	const redisReply	*list, *ent, *fields;
	struct cluster_entry	*v, *e;
	struct mid		 id;
	size_t			 i, j, n = 0;

	*vp = NULL;
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 1 ||
	    reply->element[0]->type != REDIS_REPLY_ARRAY ||
	    reply->element[0]->elements < 2)
		return (0);
	list = reply->element[0]->element[1];
	if (list->type != REDIS_REPLY_ARRAY || list->elements == 0)
		return (0);
	v = xcalloc(list->elements, sizeof *v);
	for (i = 0; i < list->elements; i++) {
		ent = list->element[i];
		if (ent->type != REDIS_REPLY_ARRAY || ent->elements < 2 ||
		    ent->element[0]->type != REDIS_REPLY_STRING ||
		    mid_parse(ent->element[0]->str, ent->element[0]->len,
		    &id) != 0)
			continue;
		if (cs.nack == cs.capack)
			cs.ack = xgrow(cs.ack, &cs.capack, sizeof *cs.ack, 64);
		cs.ack[cs.nack++] = id;
		if (cs.pending)
			cs.pending_from = id;
		fields = ent->element[1];
		/* A pending entry trimmed away has no fields: ack only. */
		if (fields->type != REDIS_REPLY_ARRAY)
			continue;
		e = &v[n];
		memset(e, 0, sizeof *e);
		e->id = id;
		for (j = 0; j + 1 < fields->elements; j += 2) {
			if (entry_field(e, fields->element[j],
			    fields->element[j + 1]) != 0)
				break;
		}
		if (j + 1 < fields->elements || e->o[0] == '\0' ||
		    e->k[0] == '\0' || (e->p == NULL &&
		    strcmp(e->k, "lw") != 0)) {
			log_warnx("cluster: a malformed entry in %s; dropped",
			    cl.k_stream);
			continue;
		}
		if (e->p == NULL) {
			e->p = "{}";
			e->plen = 2;
		}
		n++;
	}
	*vp = v;
	return (n);
}

/* The reply to XREADGROUP: the batch is applied in this turn's batch. */
static void
read_cb(redisAsyncContext *ac, void *r, void *arg)
{
	redisReply		*reply = r;
	struct cluster_entry	*v;
	struct txn		*txn;
	struct targets		 t;
	size_t			 n, i, first, nt;
	int			 rc;

	(void)arg;
	rconn_answered(ac->data);
	if (cs.reading > 0)
		cs.reading--;
	if (cs.stale > 0) {
		/*
		 * Asked before a commit failed: its entries stay pending, and
		 * are read again with the others from the first, in order.
		 */
		cs.stale--;
		kick(cs.ev_read);
		return;
	}
	if (reply == NULL)
		return;
	if (reply->type == REDIS_REPLY_ERROR) {
		/* NOGROUP: Redis lost the stream; the heartbeat sees it. */
		log_warnx("cluster: XREADGROUP: %s", reply->str);
		return;
	}
	if (reply->type == REDIS_REPLY_NIL) {
		kick(cs.ev_read);
		return;
	}
	/* A second reply in one turn joins the batch waiting for its commit. */
	if (!cs.waiting) {
		cs.nack = 0;
		memset(&cs.applied, 0, sizeof cs.applied);
	}
	first = cs.nack;
	n = entries_parse(reply, &v);
	if (cs.nack == first) {
		free(v);
		if (cs.pending) {
			cs.pending = 0;
			log_debug("cluster: pending entries read");
		}
		kick(cs.ev_read);
		return;
	}
	if ((txn = batch_txn()) == NULL) {
		free(v);
		cs.nack = first;
		return;
	}
	/* A rep needs no transaction: it ends a call waiting here. */
	for (i = 0; i < n; i++) {
		if (strcmp(v[i].k, "rep") == 0)
			cluster_rpc_answer(v[i].o, v[i].p, v[i].plen);
	}
	nt = cs.applied.targets.n;
	rc = cluster_apply(txn, &srv.midgen, &srv.conf, v, n, now_ms(),
	    &cs.applied);
	free(v);
	if (rc != STORE_OK) {
		log_warnx("cluster: cannot apply %zu entries (%d)", n, rc);
		txn->ret = txn->ret == STORE_OK ? rc : txn->ret;
	}
	cs.waiting = 1;
	/* The devices this reply added to. */
	t = cs.applied.targets;
	t.v += nt;
	t.n -= nt;
	pump_targets(&t);
}

/*
 * Adds to node's stream an entry that no outbox keeps (done, lw, req,
 * rep: tickd-cluster(7)), so that it travels at most once: kind, and
 * field set to value.  what names the command in the log and must
 * outlive the reply.  -1 if it could not be queued.
 */
int
cluster_xadd_bare(const char *node, const char *kind, const char *field,
    const char *value, const char *what)
{
	const char	*argv[9];
	char		*key;
	int		 rc;

	key = cluster_k("in", node);
	argv[0] = "XADD";
	argv[1] = key;
	argv[2] = "*";
	argv[3] = "o";
	argv[4] = srv.conf.node_name;
	argv[5] = "k";
	argv[6] = kind;
	argv[7] = field;
	argv[8] = value;
	rc = rconn_cmd(&cl.cmd, cluster_logged_cb, (void *)what, 0, 9, argv,
	    NULL);
	free(key);
	return (rc);
}

/* Sends the done entry of a committed batch to one origin. */
static void
send_done(const struct cluster_done *d)
{
	json_t		*oms, *p;
	char		 ms[MID_STRLEN + 1], *text;
	size_t		 i;

	if ((oms = json_array()) == NULL)
		return;
	for (i = 0; i < d->n; i++) {
		mid_format(&d->oms[i], ms);
		json_array_append_new(oms, json_string(ms));
	}
	p = json_pack("{s:o}", "oms", oms);
	if (p != NULL && d->nmoved > 0) {
		oms = json_array();
		for (i = 0; i < d->nmoved; i++) {
			mid_format(&d->moved[i], ms);
			json_array_append_new(oms, json_string(ms));
		}
		json_object_set_new(p, "moved", oms);
	}
	text = p == NULL ? NULL : json_dumps(p, JSON_COMPACT);
	json_decref(p);
	if (text == NULL)
		return;
	cluster_xadd_bare(d->node, "done", "p", text, "XADD done");
	free(text);
}

/*
 * The directory answered where the user of a record sent to a stale home
 * lives now: the record goes there, or fails with no_such_user
 * (cluster_retarget).  With Redis unreachable it stays, and is sent to
 * the stale home again, which answers moved again.
 */
static void
relook_cb(void *arg, int status, const char *node)
{
	struct cluster_relook	*r = arg;
	struct targets		 t;
	struct txn		*txn;
	const char		*home = NULL;
	int			 rc;

	if (status == CLUSTER_DOWN || (txn = batch_txn()) == NULL) {
		free(r);
		return;
	}
	/* A home that is this node could only be a newer account: none. */
	if (status == CLUSTER_FOUND && strcmp(node, srv.conf.node_name) != 0)
		home = node;
	memset(&t, 0, sizeof t);
	rc = cluster_retarget(txn, &srv.midgen, r->node, &r->om, r->user,
	    home, now_ms(), &t);
	if (rc != STORE_OK) {
		log_warnx("cluster: cannot send %s's record again (%d)",
		    r->user, rc);
		txn->ret = txn->ret == STORE_OK ? rc : txn->ret;
	} else {
		pump_targets(&t);
		/* Its om may be below what this round sent there. */
		if (home != NULL && strcmp(home, r->node) != 0)
			fwd_restart(node_get(home));
		log_info("cluster: node %s answered moved for %s, whose "
		    "home is %s", r->node, r->user, home != NULL ? home :
		    "nowhere");
	}
	targets_free(&t);
	free(r);
}

/*
 * After a commit of the loop's batch: a batch of entries applied in it is
 * acknowledged and its done entries sent; a failed commit leaves its
 * entries pending, read again from the first.  The forwarder looks at the
 * outbox again, which the commit may have added to.
 */
void
cluster_commit(int ok)
{
	struct cluster_relook	 *r;
	const char		**argv;
	char			(*ids)[MID_STRLEN + 1];
	size_t			  i;

	if (!cl.on)
		return;
	cluster_presence_commit(ok);
	if (cs.waiting) {
		cs.waiting = 0;
		if (ok && cs.nack > 0) {
			argv = xcalloc(cs.nack + 3, sizeof *argv);
			ids = xcalloc(cs.nack, sizeof *ids);
			argv[0] = "XACK";
			argv[1] = cl.k_stream;
			argv[2] = "tickd";
			for (i = 0; i < cs.nack; i++) {
				mid_format(&cs.ack[i], ids[i]);
				argv[3 + i] = ids[i];
			}
			rconn_cmd(&cl.cmd, cluster_logged_cb, "XACK", 0,
			    (int)cs.nack + 3, argv, NULL);
			free(argv);
			free(ids);
			for (i = 0; i < cs.applied.ndone; i++)
				send_done(&cs.applied.done[i]);
			for (i = 0; i < cs.applied.nrelook; i++) {
				r = xmalloc(sizeof *r);
				*r = cs.applied.relook[i];
				cluster_lookup(r->user, relook_cb, r);
			}
			cluster_rpc_send_reps(&cs.applied);
			srv.stats.prekeys_taken += cs.applied.prekeys_taken;
			srv.stats.prekeys_empty += cs.applied.prekeys_empty;
			cs.stats.applied += cs.applied.applied;
			cs.stats.dedup_hits += cs.applied.dedup_hits;
		} else if (!ok) {
			cs.pending = 1;
			cs.pending_from = mid_zero;
			cs.stale = cs.reading;
		}
		for (i = 0; ok && i < cs.applied.ngroups; i++)
			cluster_group_changed(cs.applied.groups[i]);
		cs.nack = 0;
		cluster_applied_free(&cs.applied);
		/* Now, not next turn: the XREADGROUP goes at this turn's end. */
		read_next();
	}
	cluster_groups_commit(ok);
	kick(cs.ev_fwd);
}

/*
 * Asks for the next batches: pending entries first, one read at a time
 * since each starts where the last ended, then new ones, READ_DEPTH reads
 * out.
 */
static void
read_next(void)
{
	while (cl.ready && !cs.waiting &&
	    cs.reading < (cs.pending ? 1 : READ_DEPTH)) {
		if (read_one() != 0)
			break;
	}
}

/* Sends one XREADGROUP; -1 if Redis is down. */
static int
read_one(void)
{
	const char	*argv[11];
	char		 count[24], block[24], from[MID_STRLEN + 1];
	uint64_t	 ms;
	int		 argc = 0;

	ms = srv.conf.cluster_heartbeat < READ_BLOCK_MAX ?
	    srv.conf.cluster_heartbeat : READ_BLOCK_MAX;
	snprintf(count, sizeof count, "%llu",
	    (unsigned long long)srv.conf.cluster_batch);
	snprintf(block, sizeof block, "%llu", (unsigned long long)ms);
	argv[argc++] = "XREADGROUP";
	argv[argc++] = "GROUP";
	argv[argc++] = "tickd";
	argv[argc++] = srv.conf.node_name;
	argv[argc++] = "COUNT";
	argv[argc++] = count;
	if (!cs.pending) {
		argv[argc++] = "BLOCK";
		argv[argc++] = block;
	}
	argv[argc++] = "STREAMS";
	argv[argc++] = cl.k_stream;
	if (cs.pending) {
		mid_format(&cs.pending_from, from);
		argv[argc++] = from;
	} else
		argv[argc++] = ">";
	/* Behind READ_DEPTH - 1 others, each of which may BLOCK. */
	if (rconn_cmd(&cl.rd, read_cb, NULL, cs.pending ? 0 : READ_DEPTH * ms,
	    argc, argv, NULL) != 0)
		return (-1);
	cs.reading++;
	return (0);
}

/* The read timer: see read_next. */
static void
read_cb_timer(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
	read_next();
}

/* What the forwarder's walk collects for one node. */
struct fwd {
	struct node	*n;
	struct mid	 lw;
	size_t		 room;		/* XADDs this walk may send */
	char		 lws[MID_STRLEN + 1];
};

/* The reply to one XADD of the forwarder. */
static void
fwd_reply_cb(redisAsyncContext *ac, void *r, void *arg)
{
	redisReply	*reply = r;
	struct node	*n = NULL;
	char		*name = arg;
	size_t		 i;

	rconn_answered(ac->data);
	for (i = 0; i < cs.n; i++) {
		if (strcmp(cs.v[i].name, name) == 0)
			n = &cs.v[i];
	}
	free(name);
	if (n == NULL)
		return;
	if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
		if (reply != NULL && !n->failed)
			log_warnx("cluster: XADD to %s: %s", n->name,
			    reply->str);
		n->failed = 1;
	} else
		cs.stats.forwarded++;
	if (n->inflight > 0)
		n->inflight--;
	if (n->failed) {
		/*
		 * Resume from the first record not confirmed once all are
		 * answered, at the next commit or retry as before.
		 */
		if (n->inflight == 0) {
			n->failed = 0;
			fwd_restart(n);
		}
		return;
	}
	if (n->again)
		fwd_restart(n);
	/* Room for more: the forwarder fills it next turn. */
	kick(cs.ev_fwd);
}

/* The k field of each kind of outbox record (tickd-cluster(7)). */
static const char *const cout_kinds[] = {
	[COUT_MSG] = "msg",
	[COUT_RCPT] = "rcpt",
	[COUT_GEV] = "gev",
	[COUT_GMSG] = "gmsg",
	[COUT_GLEAVE] = "gleave",
	[COUT_MREF] = "mref",
};

/* Outbox walk callback: one XADD per record, up to cluster_batch. */
static int
fwd_fn(void *arg, const char *node, const struct mid *mid,
    const struct cout_rec *r)
{
	struct fwd	*f = arg;
	const char	*argv[13];
	size_t		 lens[13];
	char		 om[MID_STRLEN + 1], *key;
	int		 i;

	(void)node;
	if (f->room == 0)
		return (STORE_WALK_STOP);
	mid_format(mid, om);
	key = cluster_k("in", f->n->name);
	argv[0] = "XADD";
	argv[1] = key;
	argv[2] = "*";
	argv[3] = "o";
	argv[4] = srv.conf.node_name;
	argv[5] = "om";
	argv[6] = om;
	argv[7] = "lw";
	argv[8] = f->lws;
	argv[9] = "k";
	argv[10] = r->kind < sizeof cout_kinds / sizeof cout_kinds[0] &&
	    cout_kinds[r->kind] != NULL ? cout_kinds[r->kind] : "msg";
	argv[11] = "p";
	argv[12] = r->payload;
	for (i = 0; i < 12; i++)
		lens[i] = strlen(argv[i]);
	lens[12] = r->len;
	if (rconn_cmd(&cl.cmd, fwd_reply_cb, xstrdup(f->n->name), 0, 13, argv,
	    lens) != 0) {
		free(key);
		return (STORE_WALK_STOP);
	}
	free(key);
	f->n->inflight++;
	f->n->sent = *mid;
	f->room--;
	return (STORE_WALK_NEXT);
}

/*
 * The forwarder: for each alive node with room in its FWD_DEPTH pipelines,
 * the next records after what this round sent, cluster_batch at most.
 */
static void
fwd_cb(evutil_socket_t fd, short events, void *arg)
{
	struct txn	 txn;
	struct fwd	 f;
	struct node	*n;
	uint64_t	 max = FWD_DEPTH * srv.conf.cluster_batch;
	size_t		 i, room;

	(void)fd;
	(void)events;
	(void)arg;
	if (!cl.ready || store_txn_begin(srv.store, &txn, 0) != STORE_OK)
		return;
	for (i = 0; i < cs.n; i++) {
		n = &cs.v[i];
		if (!n->alive || n->failed || n->again || n->inflight >= max)
			continue;
		memset(&f, 0, sizeof f);
		f.n = n;
		f.room = max - n->inflight < srv.conf.cluster_batch ?
		    max - n->inflight : srv.conf.cluster_batch;
		if (store_cout_lowest(&txn, n->name, &f.lw) != STORE_OK)
			break;
		if (mid_iszero(&f.lw))
			continue;
		mid_format(&f.lw, f.lws);
		room = f.room;
		if (store_cout_walk(&txn, n->name, mid_iszero(&n->sent) ?
		    NULL : &n->sent, fwd_fn, &f) != STORE_OK)
			break;
		if (f.room < room && n->round == 0)
			n->round = now_ms();
	}
	store_txn_abort(&txn);
}

/* The reply to XPENDING: trims the stream to the oldest pending entry. */
static void
trim_cb(redisAsyncContext *ac, void *r, void *arg)
{
	redisReply	*reply = r;
	const char	*argv[4];
	struct txn	 txn;
	struct mid	 cur;
	char		 id[MID_STRLEN + 1];

	(void)arg;
	rconn_answered(ac->data);
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY ||
	    reply->elements < 2)
		return;
	if (reply->element[0]->type == REDIS_REPLY_INTEGER &&
	    reply->element[0]->integer > 0 &&
	    reply->element[1]->type == REDIS_REPLY_STRING)
		strlcpy(id, reply->element[1]->str, sizeof id);
	else {
		if (store_txn_begin(srv.store, &txn, 0) != STORE_OK)
			return;
		if (store_ccursor_get(&txn, &cur) != STORE_OK ||
		    mid_iszero(&cur)) {
			store_txn_abort(&txn);
			return;
		}
		store_txn_abort(&txn);
		mid_format(&cur, id);
	}
	argv[0] = "XTRIM";
	argv[1] = cl.k_stream;
	argv[2] = "MINID";
	argv[3] = id;
	rconn_cmd(&cl.cmd, cluster_logged_cb, "XTRIM", 0, 4, argv, NULL);
}

/*
 * Every cluster_retry: a round not confirmed in time starts again from the
 * first record held; nodes with nothing held get a bare lw; the stream is
 * trimmed.
 */
static void
retry_cb(evutil_socket_t fd, short events, void *arg)
{
	struct timeval	 tv;
	struct txn	 txn;
	struct node	*n;
	struct mid	 lw;
	const char	*argv[9];
	char		 lws[MID_STRLEN + 1];
	uint64_t	 now = now_ms();
	size_t		 i;

	(void)fd;
	(void)events;
	(void)arg;
	if (cl.ready && store_txn_begin(srv.store, &txn, 0) == STORE_OK) {
		for (i = 0; i < cs.n; i++) {
			n = &cs.v[i];
			if (!n->alive ||
			    store_cout_lowest(&txn, n->name, &lw) != STORE_OK)
				continue;
			if (!mid_iszero(&lw)) {
				if (n->round != 0 &&
				    now - n->round >= srv.conf.cluster_retry)
					fwd_restart(n);
				continue;
			}
			/* Nothing held: all below the next mid is gone. */
			lw = srv.midgen.last;
			mid_incr(&lw);
			mid_format(&lw, lws);
			cluster_xadd_bare(n->name, "lw", "lw", lws, "XADD lw");
		}
		store_txn_abort(&txn);
		argv[0] = "XPENDING";
		argv[1] = cl.k_stream;
		argv[2] = "tickd";
		rconn_cmd(&cl.cmd, trim_cb, NULL, 0, 3, argv, NULL);
		kick(cs.ev_fwd);
	}
	tv.tv_sec = (time_t)(srv.conf.cluster_retry / 1000);
	tv.tv_usec = (suseconds_t)(srv.conf.cluster_retry % 1000) * 1000;
	evtimer_add(cs.ev_retry, &tv);
}

/* Redis is up and this node set up: read pending entries, forward. */
void
cluster_stream_up(void)
{
	cs.pending = 1;
	cs.pending_from = mid_zero;
	kick(cs.ev_read);
	kick(cs.ev_fwd);
}

/*
 * Redis went (or the reader's connection did): what was in flight counts
 * as failed; rounds start again once it is back.
 */
void
cluster_stream_down(int reader)
{
	size_t	i;

	cs.reading = 0;
	cs.stale = 0;
	if (reader)
		return;
	for (i = 0; i < cs.n; i++) {
		cs.v[i].inflight = 0;
		cs.v[i].failed = 0;
		cs.v[i].again = 0;
		cs.v[i].sent = mid_zero;
		cs.v[i].round = 0;
	}
}

/* After Redis restarted empty: the whole outbox goes again. */
void
cluster_stream_resend_all(void)
{
	size_t	i;

	for (i = 0; i < cs.n; i++) {
		cs.v[i].sent = mid_zero;
		cs.v[i].round = 0;
	}
	cs.pending = 1;
	cs.pending_from = mid_zero;
}

/* The timers of the reader, the forwarder and the retry. */
int
cluster_stream_init(void)
{
	struct timeval	tv;

	memset(&cs, 0, sizeof cs);
	cs.ev_read = evtimer_new(srv.base, read_cb_timer, NULL);
	cs.ev_fwd = evtimer_new(srv.base, fwd_cb, NULL);
	cs.ev_retry = evtimer_new(srv.base, retry_cb, NULL);
	if (cs.ev_read == NULL || cs.ev_fwd == NULL || cs.ev_retry == NULL)
		return (-1);
	tv.tv_sec = (time_t)(srv.conf.cluster_retry / 1000);
	tv.tv_usec = (suseconds_t)(srv.conf.cluster_retry % 1000) * 1000;
	evtimer_add(cs.ev_retry, &tv);
	return (0);
}

/* Frees the stream's state at shutdown. */
void
cluster_stream_free(void)
{
	size_t	i;

	if (cs.ev_read != NULL)
		event_free(cs.ev_read);
	if (cs.ev_fwd != NULL)
		event_free(cs.ev_fwd);
	if (cs.ev_retry != NULL)
		event_free(cs.ev_retry);
	for (i = 0; i < cs.n; i++)
		free(cs.v[i].url);
	free(cs.v);
	free(cs.ack);
	cluster_applied_free(&cs.applied);
	memset(&cs, 0, sizeof cs);
}
