/* SPDX-License-Identifier: ISC */
/*
 * cluster-typing.c: typing across the nodes of a cluster (tickd-cluster(7),
 * Typing across nodes).  Typing to a user homed elsewhere is published on
 * its home's channel t:{NODE}; each node subscribes to its own channel on
 * a connection of its own, and hands what comes to proto_typing_deliver,
 * which applies v1's block check.  Pub/sub keeps nothing: typing travels
 * at most once, and is dropped while Redis is unreachable.
 */
#include <sys/types.h>
#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>

#include "tickd.h"
#include "cluster.h"

static redisAsyncContext	*tsub;	/* the SUBSCRIBE connection */

/* A lookup of a recipient's home under way, and what to publish. */
struct tlook {
	char	from[NAME_USER_MAX + 1];
	char	to[NAME_USER_MAX + 1];
	char	state[16];
};

/*
 * Publishes typing from from to to, a user or a group, on node's channel;
 * users, if not NULL, names the group's members there it is relayed to.
 * Plain PUBLISH: hiredis 0.14 cannot SSUBSCRIBE (tickd-cluster(7)
 * CAVEATS).
 */
static void
publish(const char *node, const char *from, const char *to,
    const char *state, json_t *users)
{
	const char	*argv[3];
	char		*key, *msg;
	json_t		*obj;

	obj = json_pack("{s:s,s:s,s:s}", "from", from, "to", to, "state",
	    state);
	if (obj == NULL)
		return;
	if (users != NULL)
		json_object_set(obj, "users", users);
	msg = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	if (msg == NULL)
		return;
	key = cluster_k("t", node);
	argv[0] = "PUBLISH";
	argv[1] = key;
	argv[2] = msg;
	/* Down: the typing is dropped, which at most once allows. */
	rconn_cmd(&cl.cmd, cluster_logged_cb, "PUBLISH", 0, 3, argv, NULL);
	free(key);
	free(msg);
}

/* A recipient's home, looked up: the typing goes there if not here. */
static void
looked_up(void *arg, int st, const char *node)
{
	struct tlook	*l = arg;

	if (st == CLUSTER_FOUND && strcmp(node, srv.conf.node_name) != 0)
		publish(node, l->from, l->to, l->state, NULL);
	free(l);
}

/*
 * Typing from from to to, for op_typing: 0 when to has an account here (or
 * this is no cluster), for proto_typing_deliver; else 1, and it was sent
 * to to's home, looked up first if not cached, or dropped with Redis
 * unreachable.
 */
int
cluster_typing(struct txn *txn, const char *from, const char *to,
    const char *state)
{
	struct tlook	*l;
	char		 node[CLUSTER_NODE_MAX + 1];

	if (!cl.on)
		return (0);
	switch (cluster_where(txn, to, node)) {
	case CLUSTER_LOCAL:
		return (0);
	case CLUSTER_FOUND:
		if (cl.ready)
			publish(node, from, to, state, NULL);
		return (1);
	case CLUSTER_NONE:
		if (!cl.ready)
			return (1);
		l = xcalloc(1, sizeof *l);
		strlcpy(l->from, from, sizeof l->from);
		strlcpy(l->to, to, sizeof l->to);
		strlcpy(l->state, state, sizeof l->state);
		cluster_lookup(to, looked_up, l);
		return (1);
	default:
		return (1);
	}
}

/*
 * Typing from from to group (tickd-cluster(7), Typing across nodes): to
 * the group's home node when users is NULL, else relayed by the home to
 * node, naming its members there.  Dropped while Redis is unreachable.
 */
void
cluster_typing_group(const char *node, const char *from, const char *group,
    const char *state, json_t *users)
{
	if (cl.ready)
		publish(node, from, group, state, users);
}

/*
 * A message on the SUBSCRIBE connection: typing from another node to a
 * user of this one, checked as if it came from a connection here; to a
 * group homed here, fanned out as from a member here; relayed by a
 * group's home, for the members it names.
 */
static void
tsub_cb(redisAsyncContext *ac, void *rr, void *arg)
{
	const redisReply	*reply = rr, *msg;
	struct txn		 txn;
	json_t			*obj, *users;
	const char		*from, *to, *state;
	int			 group;

	(void)ac;
	(void)arg;
	if ((msg = cluster_sub_payload(reply)) == NULL)
		return;
	obj = json_loadb(msg->str, msg->len, 0, NULL);
	if (obj == NULL || json_unpack(obj, "{s:s,s:s,s:s}", "from", &from,
	    "to", &to, "state", &state) != 0 ||
	    !valid_user(from, strlen(from)) || !((group = to[0] == '#') ?
	    valid_group(to, strlen(to)) : valid_user(to, strlen(to))) ||
	    (strcmp(state, "composing") != 0 &&
	    strcmp(state, "paused") != 0)) {
		log_warnx("cluster: a bad typing notice on %s",
		    reply->element[1]->type == REDIS_REPLY_STRING ?
		    reply->element[1]->str : "?");
		json_decref(obj);
		return;
	}
	users = json_object_get(obj, "users");
	if (store_txn_begin(srv.store, &txn, 0) == STORE_OK) {
		if (!group)
			proto_typing_deliver(&txn, from, to, state);
		else if (json_is_array(users))
			proto_group_typing_relayed(&txn, from, to, state,
			    users);
		else if (proto_group_typing_fan(&txn, from, to, state) !=
		    STORE_OK)
			log_warnx("cluster: typing to %s: cannot read the "
			    "store", to);
		store_txn_abort(&txn);
	} else
		log_warnx("cluster: typing to %s: cannot read the store", to);
	json_decref(obj);
}

/* The SUBSCRIBE connection went: it is made again at a heartbeat. */
static void
tsub_disconnect_cb(const redisAsyncContext *ac, int status)
{
	(void)ac;
	(void)status;
	tsub = NULL;
}

/* The SUBSCRIBE connection is up: AUTH, then this node's channel. */
static void
tsub_connect_cb(const redisAsyncContext *ac, int status)
{
	const char	*argv[3];
	char		*key;
	int		 argc = 0;

	(void)ac;
	if (status != REDIS_OK) {
		tsub = NULL;
		return;
	}
	if (cl.addr.pass != NULL) {
		argv[argc++] = "AUTH";
		if (cl.addr.user != NULL)
			argv[argc++] = cl.addr.user;
		argv[argc++] = cl.addr.pass;
		if (redisAsyncCommandArgv(tsub, NULL, NULL, argc, argv,
		    NULL) != REDIS_OK)
			log_warnx("cluster: cannot send AUTH for typing");
	}
	key = cluster_k("t", srv.conf.node_name);
	argv[0] = "SUBSCRIBE";
	argv[1] = key;
	if (redisAsyncCommandArgv(tsub, tsub_cb, NULL, 2, argv, NULL) !=
	    REDIS_OK)
		log_warnx("cluster: cannot SUBSCRIBE %s", key);
	free(key);
}

/*
 * At each heartbeat while Redis answers: the SUBSCRIBE connection is
 * made if it is not there.
 */
void
cluster_typing_tick(void)
{
	const char	*host;
	int		 port;

	if (!cl.ready || tsub != NULL || cluster_sub_addr(&host, &port) != 0)
		return;
	tsub = cluster_connect(host, port);
	if (tsub == NULL || tsub->err) {
		if (tsub != NULL)
			redisAsyncFree(tsub);
		tsub = NULL;
		return;
	}
	if (redisLibeventAttach(tsub, srv.base) != REDIS_OK) {
		redisAsyncFree(tsub);
		tsub = NULL;
		return;
	}
	redisAsyncSetConnectCallback(tsub, tsub_connect_cb);
	redisAsyncSetDisconnectCallback(tsub, tsub_disconnect_cb);
}

/*
 * Redis is unreachable, or the node stops: the SUBSCRIBE connection goes
 * (a heartbeat makes it again once Redis answers).
 */
void
cluster_typing_down(void)
{
	if (tsub != NULL)
		redisAsyncFree(tsub);
	tsub = NULL;
}
