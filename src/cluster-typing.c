/* SPDX-License-Identifier: ISC */
/*
 * cluster-typing.c: typing across the nodes of a cluster (tickd-cluster(7),
 * Typing across nodes).  Typing to a user homed elsewhere is published
 * with SPUBLISH on its home's sharded channel t:{NODE}; each node
 * subscribes to its own channel (cluster-ssub.c), and hands what comes to
 * proto_typing_deliver,
 * which applies v1's block check.  Pub/sub keeps nothing: typing travels
 * at most once, and is dropped while Redis is unreachable.
 */
#include <sys/types.h>
#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "tickd.h"
#include "cluster.h"

static int	subscribed;	/* to t:{NODE}, with cluster_ssub_add */

/* A lookup of a recipient's home under way, and what to publish. */
struct tlook {
	char	from[NAME_USER_MAX + 1];
	char	to[NAME_USER_MAX + 1];
	char	state[16];
};

/*
 * Publishes typing from from to to, a user or a group, on node's channel;
 * users, if not NULL, names the group's members there it is relayed to.
 * rconn_cmd routes SPUBLISH by the channel, argv[1], as by a key.
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
	argv[0] = "SPUBLISH";
	argv[1] = key;
	argv[2] = msg;
	/* Down: the typing is dropped, which at most once allows. */
	rconn_cmd(&cl.cmd, cluster_logged_cb, "SPUBLISH", 0, 3, argv, NULL);
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
 * A message on this node's channel: typing from another node to a user
 * of this one, checked as if it came from a connection here; to a group
 * homed here, fanned out as from a member here; relayed by a group's
 * home, for the members it names.  Nothing for the channel subscribed
 * (again): typing missed meanwhile is lost, which at most once allows.
 */
static void
typing_msg(void *arg, const char *msg, size_t len)
{
	struct txn	 txn;
	json_t		*obj, *users;
	const char	*from, *to, *state;
	int		 group;

	(void)arg;
	if (msg == NULL)
		return;
	obj = json_loadb(msg, len, 0, NULL);
	if (obj == NULL || json_unpack(obj, "{s:s,s:s,s:s}", "from", &from,
	    "to", &to, "state", &state) != 0 ||
	    !valid_user(from, strlen(from)) || !((group = to[0] == '#') ?
	    valid_group(to, strlen(to)) : valid_user(to, strlen(to))) ||
	    (strcmp(state, "composing") != 0 &&
	    strcmp(state, "paused") != 0)) {
		log_warnx("cluster: a bad typing notice on this node's "
		    "channel");
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

/*
 * At the first heartbeat while Redis answers: this node's channel is
 * subscribed to, and stays so (cluster-ssub.c subscribes again).
 */
void
cluster_typing_tick(void)
{
	char	*key;

	if (subscribed)
		return;
	key = cluster_k("t", srv.conf.node_name);
	cluster_ssub_add(key, typing_msg, NULL);
	free(key);
	subscribed = 1;
}
