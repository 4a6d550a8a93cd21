/* SPDX-License-Identifier: ISC */
/*
 * cluster-names.c: names written back after Redis lost its data, and the
 * conflicts that can follow (tickd-cluster(7), Name conflicts).  Between
 * an empty restart and a node's write-back, another node may register a
 * name the first one has.  The node whose SET NX then finds the name taken
 * logs it and enters its claim, its account's creation time, in the hash
 * x:{NAME}, and NAME in the set "conflicts".  At each heartbeat every node
 * with an account of a name in that set adds its own claim and reads the
 * others': the winner is the node an operator chose with tickctl cluster
 * claim (the field "="), else the earliest account.  A node whose account
 * lost holds it: logins and WebSockets are refused and nothing of it is
 * written back again, until tickctl cluster claim on that node lifts the
 * hold.  The hold is kept in the store, so that it outlives Redis's data,
 * with the winner cached as the name's home: the node's own messages,
 * group items and adds for the name go there (cluster_user_get).
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "tickd.h"
#include "cluster.h"

/* A name being written back, or looked at for a conflict. */
struct nclaim {
	char		 user[NAME_USER_MAX + 1];
	uint64_t	 created;	/* its account's, Unix ms */
};

/*
 * Whether user's account here is held for a name conflict: refused
 * logins (tickd-cluster(7), Name conflicts).  A hold names the creation
 * time of the account it was for, so that a later account of that name
 * is not held by it.
 */
int
cluster_held(struct txn *txn, const char *user)
{
	struct user_rec	u;
	uint64_t	created;

	if (!cl.on || store_user_get(txn, user, &u) != STORE_OK ||
	    store_cheld_get(txn, user, &created) != STORE_OK)
		return (0);
	return (created == u.created);
}

/* Enters this node's claim of c->user in x:{NAME} and in "conflicts". */
static void
claim_enter(const struct nclaim *c)
{
	const char	*argv[4];
	char		*key, ms[24];

	snprintf(ms, sizeof ms, "%llu", (unsigned long long)c->created);
	key = cluster_k("x", c->user);
	argv[0] = "HSET";
	argv[1] = key;
	argv[2] = srv.conf.node_name;
	argv[3] = ms;
	rconn_cmd(&cl.cmd, cluster_logged_cb, "HSET x", 0, 4, argv, NULL);
	free(key);
	key = cluster_k("conflicts", NULL);
	argv[0] = "SADD";
	argv[1] = key;
	argv[2] = c->user;
	rconn_cmd(&cl.cmd, cluster_logged_cb, "SADD conflicts", 0, 3, argv,
	    NULL);
	free(key);
}

/* The reply to SET u:{NAME} N NX GET of a name written back. */
static void
writeback_cb(redisAsyncContext *ac, void *r, void *arg)
{
	redisReply	*reply = r;
	struct nclaim	*c = arg;

	rconn_answered(ac->data);
	if (reply != NULL && reply->type == REDIS_REPLY_STRING &&
	    strcmp(reply->str, srv.conf.node_name) != 0) {
		log_warnx("cluster: name conflict: %s, homed here, is "
		    "registered to node %s in Redis; the later account will "
		    "be refused logins until tickctl cluster claim %s on one "
		    "node (tickd-cluster(7), Name conflicts)", c->user,
		    reply->str, c->user);
		claim_enter(c);
	} else if (reply != NULL && reply->type == REDIS_REPLY_ERROR)
		log_warnx("cluster: SET %s: %s", c->user, reply->str);
	free(c);
}

/*
 * Writes the directory entry of user, homed here, back with SET NX after
 * Redis lost its data: 0 when sent, -1 if Redis cannot take the command,
 * 1 for an account held, which another node's account of that name won:
 * nothing of it is written back.
 */
int
cluster_names_writeback(struct txn *txn, const char *user,
    const struct user_rec *u)
{
	struct nclaim	*c;
	const char	*argv[5];
	char		*key;
	int		 rc;

	if (cluster_held(txn, user)) {
		log_warnx("cluster: %s is held here (a name conflict): not "
		    "written back", user);
		return (1);
	}
	c = xcalloc(1, sizeof *c);
	strlcpy(c->user, user, sizeof c->user);
	c->created = u->created;
	key = cluster_k("u", user);
	argv[0] = "SET";
	argv[1] = key;
	argv[2] = srv.conf.node_name;
	argv[3] = "NX";
	argv[4] = "GET";
	rc = rconn_cmd(&cl.cmd, writeback_cb, c, 0, 5, argv, NULL);
	free(key);
	if (rc != 0)
		free(c);
	return (rc);
}

/* presence_each callback: a connection of an account just held goes. */
static void
close_held(struct conn *c, void *arg)
{
	(void)arg;
	ws_close(c, 1008, "name conflict");
}

/*
 * The reply to HGETALL x:{NAME}: the winner is the node an operator
 * chose, else the earliest account (the smaller node name on a tie); if
 * it is not this node, this node's account is held, and its connections
 * closed.  The winner is cached as the name's home in the same
 * transaction, so that this node's own messages, group items and adds for
 * the name go there (cluster_user_get); for an account already held whose
 * cached home went, it is cached again.
 */
static void
claims_cb(redisAsyncContext *ac, void *r, void *arg)
{
	redisReply	*reply = r, *k, *v;
	struct nclaim	*c = arg;
	struct txn	*txn, rtxn;
	struct user_rec	 u;
	const char	*winner = NULL, *chosen = NULL;
	uint64_t	 best = 0, ms;
	size_t		 i;
	int		 held;

	rconn_answered(ac->data);
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY)
		goto out;
	for (i = 0; i + 1 < reply->elements; i += 2) {
		k = reply->element[i];
		v = reply->element[i + 1];
		if (k->type != REDIS_REPLY_STRING ||
		    v->type != REDIS_REPLY_STRING)
			continue;
		if (strcmp(k->str, "=") == 0) {
			chosen = v->str;
			continue;
		}
		ms = strtoull(v->str, NULL, 10);
		if (winner == NULL || ms < best || (ms == best &&
		    strcmp(k->str, winner) < 0)) {
			winner = k->str;
			best = ms;
		}
	}
	if (chosen != NULL)
		winner = chosen;
	if (winner == NULL || strcmp(winner, srv.conf.node_name) == 0)
		goto out;
	if (store_txn_begin(srv.store, &rtxn, 0) != STORE_OK)
		goto out;
	held = cluster_held(&rtxn, c->user);
	/* The account may have gone, or been made again, meanwhile. */
	if (store_user_get(&rtxn, c->user, &u) != STORE_OK ||
	    u.created != c->created) {
		store_txn_abort(&rtxn);
		goto out;
	}
	store_txn_abort(&rtxn);
	if (held) {
		if ((txn = batch_txn()) == NULL ||
		    store_cdir_put(txn, c->user, winner) != STORE_OK)
			log_warnx("cluster: cannot cache %s's home", c->user);
		goto out;
	}
	if ((txn = batch_txn()) == NULL ||
	    store_cheld_put(txn, c->user, c->created) != STORE_OK ||
	    store_cdir_put(txn, c->user, winner) != STORE_OK) {
		log_warnx("cluster: cannot hold %s", c->user);
		goto out;
	}
	log_warnx("cluster: name conflict: node %s keeps %s (%s); logins to "
	    "this node's account of it are refused until tickctl cluster "
	    "claim %s here", winner, c->user, chosen != NULL ?
	    "an operator's choice" : "the earlier account", c->user);
	presence_each(c->user, close_held, NULL);
out:
	free(c);
}

/*
 * The reply to SMEMBERS conflicts: for each name with an account here not
 * held, this node's claim is entered and all claims read; for one held
 * without a cached home, the claims are read for claims_cb to cache it.
 */
static void
conflicts_cb(redisAsyncContext *ac, void *r, void *arg)
{
	redisReply	*reply = r, *e;
	struct txn	 txn;
	struct user_rec	 u;
	struct nclaim	*c;
	const char	*argv[2];
	char		*key, node[CLUSTER_NODE_MAX + 1];
	size_t		 i;
	int		 held;

	(void)arg;
	rconn_answered(ac->data);
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY ||
	    reply->elements == 0 ||
	    store_txn_begin(srv.store, &txn, 0) != STORE_OK)
		return;
	for (i = 0; i < reply->elements; i++) {
		e = reply->element[i];
		if (e->type != REDIS_REPLY_STRING ||
		    !valid_user(e->str, e->len) ||
		    store_user_get(&txn, e->str, &u) != STORE_OK)
			continue;
		/* A cached home naming this node is none. */
		if ((held = cluster_held(&txn, e->str)) &&
		    store_cdir_get(&txn, e->str, node) == STORE_OK &&
		    strcmp(node, srv.conf.node_name) != 0)
			continue;
		c = xcalloc(1, sizeof *c);
		strlcpy(c->user, e->str, sizeof c->user);
		c->created = u.created;
		if (!held)
			claim_enter(c);
		key = cluster_k("x", c->user);
		argv[0] = "HGETALL";
		argv[1] = key;
		if (rconn_cmd(&cl.cmd, claims_cb, c, 0, 2, argv, NULL) != 0)
			free(c);
		free(key);
	}
	store_txn_abort(&txn);
}

/* At each heartbeat: the names in conflict are looked at. */
void
cluster_names_tick(void)
{
	const char	*argv[2];
	char		*key;

	key = cluster_k("conflicts", NULL);
	argv[0] = "SMEMBERS";
	argv[1] = key;
	rconn_cmd(&cl.cmd, conflicts_cb, NULL, 0, 2, argv, NULL);
	free(key);
}

/*
 * tickctl cluster claim NAME: this node's account of NAME keeps the name.
 * Its hold is lifted with the home cached for it, the directory names
 * this node, and the choice goes into x:{NAME}, so that every other node
 * with an account of NAME holds it at its next heartbeat.
 */
json_t *
cluster_ctl_claim(const char *user, char **err)
{
	struct txn	*txn, rtxn;
	struct user_rec	 u;
	const char	*argv[4];
	char		*key;
	int		 rc;

	if (!cl.on || !cl.ready) {
		*err = xstrdup(cl.on ? "Redis is unreachable" : "this tickd "
		    "is a single node");
		return (NULL);
	}
	if (user == NULL || !valid_user(user, strlen(user))) {
		*err = xstrdup("name a user");
		return (NULL);
	}
	if ((rc = store_txn_begin(srv.store, &rtxn, 0)) == STORE_OK) {
		rc = store_user_get(&rtxn, user, &u);
		store_txn_abort(&rtxn);
	}
	if (rc != STORE_OK) {
		*err = xstrdup(rc == STORE_NOTFOUND ? "no such user on this "
		    "node" : "store error");
		return (NULL);
	}
	if ((txn = batch_txn()) == NULL ||
	    store_cheld_del(txn, user) != STORE_OK ||
	    ((rc = store_cdir_del(txn, user)) != STORE_OK &&
	    rc != STORE_NOTFOUND)) {
		*err = xstrdup("store error");
		return (NULL);
	}
	key = cluster_k("u", user);
	argv[0] = "SET";
	argv[1] = key;
	argv[2] = srv.conf.node_name;
	rconn_cmd(&cl.cmd, cluster_logged_cb, "SET u", 0, 3, argv, NULL);
	free(key);
	key = cluster_k("x", user);
	argv[0] = "HSET";
	argv[1] = key;
	argv[2] = "=";
	argv[3] = srv.conf.node_name;
	rconn_cmd(&cl.cmd, cluster_logged_cb, "HSET x", 0, 4, argv, NULL);
	free(key);
	key = cluster_k("conflicts", NULL);
	argv[0] = "SADD";
	argv[1] = key;
	argv[2] = user;
	rconn_cmd(&cl.cmd, cluster_logged_cb, "SADD conflicts", 0, 3, argv,
	    NULL);
	free(key);
	log_info("cluster: %s claimed for this node by an operator", user);
	return (json_pack("{s:s,s:s}", "claimed", user, "node",
	    srv.conf.node_name));
}
