/* SPDX-License-Identifier: ISC */
/*
 * cluster-groups.c: the mirror of each group homed on this node in Redis
 * (tickd-cluster(7), Groups across nodes), tickd:g:{#g}, a hash of each
 * member's role and the fields @home, @version, @admin_only_send and
 * @admin_only_info, written again after each commit that changed the group,
 * whole, in one MULTI, and deleted with the group.  Other nodes check a
 * send of a member homed on them against it.  What could not be written
 * while Redis was unreachable is written once it is back; after Redis lost
 * its data, every group's mirror is.
 */
#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "tickd.h"
#include "cluster.h"

/* Groups changed in this turn's batch, or not yet written. */
static struct {
	char	(*v)[NAME_GROUP_MAX + 1];
	size_t	 n, cap;
	size_t	 committed;	/* the first n of v are committed */
} gm;

/* Notes that group changed in this turn's batch. */
void
cluster_group_changed(const char *group)
{
	size_t	i;

	if (!cl.on)
		return;
	for (i = 0; i < gm.n; i++) {
		if (strcmp(gm.v[i], group) == 0)
			return;
	}
	if (gm.n == gm.cap)
		gm.v = xgrow(gm.v, &gm.cap, sizeof *gm.v, 8);
	strlcpy(gm.v[gm.n++], group, sizeof *gm.v);
}

/*
 * group's mirror goes again with the next flush: its EXEC was refused,
 * as when its slot of a Redis Cluster moved under the MULTI
 * (tickd-cluster(7), Redis Cluster), or got no answer before the
 * connection went, which leaves unknown whether Redis applied it.
 */
static void
mirror_again(const char *group)
{
	size_t	i;

	for (i = 0; i < gm.committed; i++) {
		if (strcmp(gm.v[i], group) == 0)
			return;
	}
	if (gm.n == gm.cap)
		gm.v = xgrow(gm.v, &gm.cap, sizeof *gm.v, 8);
	memmove(gm.v + gm.committed + 1, gm.v + gm.committed,
	    (gm.n - gm.committed) * sizeof *gm.v);
	strlcpy(gm.v[gm.committed], group, sizeof *gm.v);
	gm.n++;
	gm.committed++;
}

/*
 * The reply to a mirror's EXEC, whose group arg names; arg is freed.  No
 * reply (the connection went) is written again too, except at shutdown,
 * where the node writes every mirror when it starts.
 */
static void
exec_cb(redisAsyncContext *ac, void *r, void *arg)
{
	redisReply	*reply = r;
	char		*group = arg;

	rconn_answered(ac->data);
	if (reply == NULL && !cl.stopping) {
		log_debug("cluster: EXEC of %s's mirror unanswered; written "
		    "again", group);
		mirror_again(group);
	} else if (reply != NULL && reply->type == REDIS_REPLY_ERROR) {
		log_debug("cluster: EXEC of %s's mirror: %s; written again",
		    group, reply->str);
		mirror_again(group);
	}
	free(group);
}

/* What a mirror is built from: the member walk's argv. */
struct mirror {
	const char	**argv;
	char		**own;		/* what argv points to that we free */
	size_t		  n, cap, nown, capown;
};

/* Appends s to m's argv; own: m frees it. */
static void
mirror_arg(struct mirror *m, const char *s, int own)
{
	if (m->n == m->cap)
		m->argv = xgrow(m->argv, &m->cap, sizeof *m->argv, 16);
	m->argv[m->n++] = s;
	if (own) {
		if (m->nown == m->capown)
			m->own = xgrow(m->own, &m->capown, sizeof *m->own, 16);
		m->own[m->nown++] = (char *)s;
	}
}

/* Member walk callback: one field, the member's role. */
static int
mirror_fn(void *arg, const char *group, const char *user,
    const struct gmember_rec *r)
{
	struct mirror	*m = arg;

	(void)group;
	mirror_arg(m, xstrdup(user), 1);
	mirror_arg(m, group_role_name(r->role), 0);
	return (STORE_WALK_NEXT);
}

/*
 * Writes group's mirror from txn: MULTI, DEL and HSET of the whole, EXEC;
 * or DEL alone for a group gone.  -1 if Redis cannot take it now.
 */
static int
mirror_write(struct txn *txn, const char *group)
{
	struct group_rec	 g;
	struct mirror		 m;
	const char		*argv[2];
	char			*key, *gname, ver[24];
	size_t			 i;
	int			 rc, ret = -1;

	if ((rc = store_group_get(txn, group, &g)) != STORE_OK &&
	    rc != STORE_NOTFOUND)
		return (0);
	key = cluster_k("g", group);
	argv[0] = "DEL";
	argv[1] = key;
	if (rc == STORE_NOTFOUND) {
		ret = rconn_cmd(&cl.cmd, cluster_logged_cb, "DEL group", 0, 2,
		    argv, NULL);
		free(key);
		return (ret);
	}
	memset(&m, 0, sizeof m);
	snprintf(ver, sizeof ver, "%llu", (unsigned long long)g.version);
	mirror_arg(&m, "HSET", 0);
	mirror_arg(&m, key, 0);
	mirror_arg(&m, "@home", 0);
	mirror_arg(&m, srv.conf.node_name, 0);
	mirror_arg(&m, "@version", 0);
	mirror_arg(&m, ver, 0);
	mirror_arg(&m, "@admin_only_send", 0);
	mirror_arg(&m, g.flags & GROUP_ADMIN_SEND ? "1" : "0", 0);
	mirror_arg(&m, "@admin_only_info", 0);
	mirror_arg(&m, g.flags & GROUP_ADMIN_INFO ? "1" : "0", 0);
	if (store_gmember_walk(txn, group, mirror_fn, &m) == STORE_OK) {
		argv[0] = "MULTI";
		if (rconn_cmd(&cl.cmd, cluster_logged_cb, "MULTI", 0, 1, argv,
		    NULL) == 0) {
			argv[0] = "DEL";
			rconn_cmd(&cl.cmd, cluster_logged_cb, "DEL group", 0,
			    2, argv, NULL);
			rconn_cmd(&cl.cmd, cluster_logged_cb, "HSET group", 0,
			    (int)m.n, m.argv, NULL);
			argv[0] = "EXEC";
			gname = xstrdup(group);
			if ((ret = rconn_cmd(&cl.cmd, exec_cb, gname, 0, 1,
			    argv, NULL)) != 0)
				free(gname);
		}
	} else
		ret = 0;
	for (i = 0; i < m.nown; i++)
		free(m.own[i]);
	free(m.own);
	free(m.argv);
	free(key);
	return (ret);
}

/* Writes the mirrors still to write, while Redis takes them. */
static void
mirrors_flush(void)
{
	struct txn	txn;
	size_t		i;

	if (gm.committed == 0 || !cl.ready ||
	    store_txn_begin(srv.store, &txn, 0) != STORE_OK)
		return;
	for (i = 0; i < gm.committed; i++) {
		if (mirror_write(&txn, gm.v[i]) != 0)
			break;
	}
	store_txn_abort(&txn);
	memmove(gm.v, gm.v + i, (gm.n - i) * sizeof *gm.v);
	gm.n -= i;
	gm.committed -= i;
}

/*
 * After a commit of the loop's batch: the groups it changed are written;
 * after a failed one, the changes it would have made are forgotten.
 */
void
cluster_groups_commit(int ok)
{
	if (!ok) {
		gm.n = gm.committed;
		return;
	}
	gm.committed = gm.n;
	mirrors_flush();
}

/* Every heartbeat: what Redis could not take before. */
void
cluster_groups_tick(void)
{
	mirrors_flush();
}

/* Group walk callback: one more mirror to write. */
static int
all_fn(void *arg, const char *group, const struct group_rec *g)
{
	(void)arg;
	(void)g;
	cluster_group_changed(group);
	return (STORE_WALK_NEXT);
}

/* After Redis lost its data: every group's mirror is written again. */
void
cluster_groups_writeback(struct txn *txn)
{
	size_t	n = gm.n;

	if (store_group_walk(txn, all_fn, NULL) != STORE_OK)
		log_warnx("cluster: cannot read the groups to mirror");
	/* Written ones are committed already: they go with the next flush. */
	if (gm.committed == n)
		gm.committed = gm.n;
}

/* Frees the list at shutdown. */
void
cluster_groups_free(void)
{
	free(gm.v);
	memset(&gm, 0, sizeof gm);
}

/* A read of a mirror under way, and whom to tell. */
struct mread {
	void	(*fn)(void *, int, const struct gmirror *);
	void	*arg;
	char	 user[NAME_USER_MAX + 1];
};

/* The reply to HGETALL g:{#g}: the mirror as user's send needs it. */
static void
mread_cb(redisAsyncContext *ac, void *r, void *arg)
{
	redisReply	*reply = r;
	struct mread	*mr = arg;
	struct gmirror	 m;
	const char	*f, *v;
	size_t		 i;
	int		 st = CLUSTER_DOWN;

	rconn_answered(ac->data);
	memset(&m, 0, sizeof m);
	m.role = -1;
	if (reply != NULL && reply->type == REDIS_REPLY_ARRAY) {
		st = reply->elements == 0 ? CLUSTER_NONE : CLUSTER_FOUND;
		for (i = 0; i + 1 < reply->elements; i += 2) {
			if (reply->element[i]->type != REDIS_REPLY_STRING ||
			    reply->element[i + 1]->type != REDIS_REPLY_STRING)
				continue;
			f = reply->element[i]->str;
			v = reply->element[i + 1]->str;
			if (strcmp(f, "@home") == 0)
				strlcpy(m.home, v, sizeof m.home);
			else if (strcmp(f, "@admin_only_send") == 0)
				m.admin_only_send = strcmp(v, "1") == 0;
			else if (f[0] != '@') {
				m.members++;
				if (strcmp(f, mr->user) == 0)
					m.role = group_role_parse(v);
			}
		}
		if (!cluster_node_name_ok(m.home, strlen(m.home)))
			st = CLUSTER_NONE;
	}
	mr->fn(mr->arg, st, &m);
	free(mr);
}

/*
 * Reads group's mirror for a send of user (tickd-cluster(7), Groups across
 * nodes): fn gets CLUSTER_FOUND and the mirror, CLUSTER_NONE for no mirror, or
 * CLUSTER_DOWN, at once if Redis is unreachable.
 */
void
cluster_group_mirror(const char *group, const char *user,
    void (*fn)(void *, int, const struct gmirror *), void *arg)
{
	struct mread	*mr;
	const char	*argv[2];
	char		*key;

	mr = xcalloc(1, sizeof *mr);
	mr->fn = fn;
	mr->arg = arg;
	strlcpy(mr->user, user, sizeof mr->user);
	key = cluster_k("g", group);
	argv[0] = "HGETALL";
	argv[1] = key;
	if (!cl.ready ||
	    rconn_cmd(&cl.cmd, mread_cb, mr, 0, 2, argv, NULL) != 0) {
		free(mr);
		fn(arg, CLUSTER_DOWN, NULL);
	}
	free(key);
}
