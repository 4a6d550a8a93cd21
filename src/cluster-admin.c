/* SPDX-License-Identifier: ISC */
/*
 * cluster-admin.c: what tickctl cluster asks a node (tickctl(8), Cluster;
 * tickd-cluster(7)): its status, the nodes it knows, its outbox per
 * destination, and forgetting a node that will never come back.
 *
 * Forgetting node N here deletes this node's outbox records for N (each
 * message among them becomes a failed receipt, no_such_user, for its
 * sender), its dedup records of N and its cached directory entries naming
 * N; in Redis, N's directory entries, stream, heartbeat and hash fields,
 * and N goes into the set "forgotten", so that every other node does the
 * same with its own outbox at its next heartbeat.
 */
#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "tickd.h"
#include "cluster.h"

/* Deletes every directory key of a node, in one script run by Redis. */
static const char forget_lua[] =
    "local c = '0' "
    "repeat "
    "  local r = redis.call('SCAN', c, 'MATCH', ARGV[1] .. 'u:{*', "
    "    'COUNT', 1000) "
    "  c = r[1] "
    "  for _, k in ipairs(r[2]) do "
    "    if redis.call('GET', k) == ARGV[2] then redis.call('DEL', k) end "
    "  end "
    "until c == '0' "
    "return 1";

/* What a walk of the outbox counts per destination. */
struct per_node {
	json_t		*obj;		/* node -> count */
	uint64_t	 n;
};

/* Outbox walk callback: counts records per destination. */
static int
count_fn(void *arg, const char *node, const struct mid *mid,
    const struct cout_rec *r)
{
	struct per_node	*p = arg;
	json_t		*v;

	(void)mid;
	(void)r;
	v = json_object_get(p->obj, node);
	json_object_set_new(p->obj, node, json_integer(v == NULL ? 1 :
	    json_integer_value(v) + 1));
	p->n++;
	return (STORE_WALK_NEXT);
}

/* The outbox per destination: {"total":N,"nodes":{node:count}}. */
json_t *
cluster_ctl_outbox(char **err)
{
	struct per_node	 p;
	struct txn	 txn;
	int		 rc;

	p.obj = json_object();
	p.n = 0;
	if ((rc = store_txn_begin(srv.store, &txn, 0)) == STORE_OK) {
		rc = store_cout_walk(&txn, NULL, NULL, count_fn, &p);
		store_txn_abort(&txn);
	}
	if (rc != STORE_OK) {
		json_decref(p.obj);
		*err = xstrdup("store error");
		return (NULL);
	}
	return (json_pack("{s:I,s:o}", "total", (json_int_t)p.n, "nodes",
	    p.obj));
}

/* This node's state in the cluster. */
json_t *
cluster_ctl_status(char **err)
{
	struct cluster_stats	 st;
	struct txn		 txn;
	struct mid		 cur = mid_zero;
	uint64_t		 n = 0, version, fetched, now = now_ms();
	char			 cs[MID_STRLEN + 1], ep[17];
	json_t			*obj;

	if (!cl.on) {
		*err = xstrdup("this tickd is a single node: cluster_redis "
		    "is not set");
		return (NULL);
	}
	if (store_txn_begin(srv.store, &txn, 0) == STORE_OK) {
		store_cout_count(&txn, &n);
		store_ccursor_get(&txn, &cur);
		store_txn_abort(&txn);
	}
	cluster_get_stats(&st);
	mid_format(&cur, cs);
	snprintf(ep, sizeof ep, "%016llx", (unsigned long long)cl.epoch);
	obj = json_pack("{s:s,s:s,s:s?,s:i,s:b,s:s,s:s,s:I,s:I,s:I,s:I}",
	    "node", srv.conf.node_name, "url", srv.conf.cluster_url,
	    "redis_host", cl.addr.host, "redis_port", cl.addr.port,
	    "redis_up", cl.ready, "epoch", ep, "cursor", cs,
	    "outbox", (json_int_t)n, "forwarded", (json_int_t)st.forwarded,
	    "applied", (json_int_t)st.applied, "dedup_hits",
	    (json_int_t)st.dedup_hits);
	/* A Redis Cluster's slot map: its changes and its age, in ms. */
	if (obj != NULL && cluster_slots_map(&version, &fetched) == 0) {
		json_object_set_new(obj, "slots_version",
		    json_integer((json_int_t)version));
		/* Never negative, should the wall clock step back. */
		json_object_set_new(obj, "slots_age", fetched != 0 ?
		    json_integer((json_int_t)(now > fetched ? now - fetched :
		    0)) : json_null());
	}
	return (obj);
}

/*
 * Outbox walk callback: a message becomes a failed receipt; all go, with
 * the media references they held.
 */
static int
forget_fn(void *arg, const char *node, const struct mid *mid,
    const struct cout_rec *r)
{
	struct txn	*txn = arg;
	struct targets	 t;

	(void)node;
	memset(&t, 0, sizeof t);
	if (cluster_cout_release(txn, &srv.midgen, mid, r, now_ms()) !=
	    STORE_OK)
		return (STORE_WALK_STOP);
	if (r->kind == COUT_MSG && queue_remote_receipt(txn, &srv.midgen, mid,
	    "failed", "no_such_user", now_ms(), &t) != STORE_OK) {
		targets_free(&t);
		return (STORE_WALK_STOP);
	}
	pump_targets(&t);
	targets_free(&t);
	return (STORE_WALK_DELETE);
}

/* Directory cache walk callback: forgets the entries naming node. */
static int
forget_dir_fn(void *arg, const char *user, const char *node)
{
	(void)user;
	return (strcmp(node, arg) == 0 ? STORE_WALK_DELETE : STORE_WALK_NEXT);
}

/*
 * This node's part of forgetting node: its outbox records, dedup records,
 * cached entries and references to this node's media, in the loop's
 * transaction.
 */
int
cluster_forget_local(const char *node)
{
	struct txn	*txn;
	int		 rc;

	if ((txn = batch_txn()) == NULL)
		return (STORE_ERR);
	rc = store_cout_walk(txn, node, NULL, forget_fn, txn);
	if (rc == STORE_OK)
		rc = store_cdedup_drop(txn, node);
	if (rc == STORE_OK)
		rc = store_cdir_walk(txn, forget_dir_fn, (void *)node);
	if (rc == STORE_OK)
		rc = media_forget_node(txn, node, now_ms());
	return (rc);
}

/*
 * tickctl cluster forget NODE: refused for this node and for a node whose
 * heartbeat is alive, or with Redis unreachable.
 */
json_t *
cluster_ctl_forget(const char *node, char **err)
{
	const char	*argv[6];
	char		*key;
	int		 rc;

	if (!cl.on || !cl.ready) {
		*err = xstrdup(cl.on ? "Redis is unreachable" : "this tickd "
		    "is a single node");
		return (NULL);
	}
	if (!cluster_node_name_ok(node, strlen(node)) ||
	    strcmp(node, srv.conf.node_name) == 0) {
		*err = xstrdup("name another node, not this one");
		return (NULL);
	}
	if (cluster_node_alive(node)) {
		*err = xstrdup("that node's heartbeat is alive: stop it "
		    "first");
		return (NULL);
	}
	if ((rc = cluster_forget_local(node)) != STORE_OK) {
		*err = xstrdup("store error");
		return (NULL);
	}
	argv[0] = "EVAL";
	argv[1] = forget_lua;
	argv[2] = "0";
	argv[3] = srv.conf.cluster_prefix;
	argv[4] = node;
	rconn_cmd(&cl.cmd, cluster_logged_cb, "forget", 0, 5, argv, NULL);
	key = cluster_k("in", node);
	argv[0] = "DEL";
	argv[1] = key;
	rconn_cmd(&cl.cmd, cluster_logged_cb, "DEL stream", 0, 2, argv, NULL);
	free(key);
	key = cluster_k("alive", node);
	argv[1] = key;
	rconn_cmd(&cl.cmd, cluster_logged_cb, "DEL alive", 0, 2, argv, NULL);
	free(key);
	argv[0] = "HDEL";
	argv[1] = cl.k_nodes;
	argv[2] = node;
	rconn_cmd(&cl.cmd, cluster_logged_cb, "HDEL", 0, 3, argv, NULL);
	argv[1] = cl.k_urls;
	rconn_cmd(&cl.cmd, cluster_logged_cb, "HDEL", 0, 3, argv, NULL);
	key = cluster_k("forgotten", NULL);
	argv[0] = "SADD";
	argv[1] = key;
	rconn_cmd(&cl.cmd, cluster_logged_cb, "SADD", 0, 3, argv, NULL);
	free(key);
	log_info("cluster: node %s forgotten", node);
	return (json_pack("{s:s}", "forgotten", node));
}
