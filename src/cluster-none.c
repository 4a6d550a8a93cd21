/* SPDX-License-Identifier: ISC */
/*
 * cluster-none.c: cluster.c's place in a tickd configured --without-hiredis.
 * Such a tickd is always a single node: cluster_redis in its configuration
 * is a start-up error (tickd.conf(5) Cluster).
 */
#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include "tickd.h"

/* Refuses cluster_redis, which this build cannot serve. */
int
cluster_check(const struct conf *conf, char **cause)
{
	if (conf->cluster_redis == NULL)
		return (0);
	*cause = xstrdup("cluster_redis is set, but this tickd was built "
	    "without cluster support (configure --without-hiredis)");
	return (-1);
}

/* No rediss:// to read CAs for. */
int
cluster_tls_load(char **cause)
{
	(void)cause;
	return (0);
}

/* Nothing to connect to. */
int
cluster_init(char **cause)
{
	(void)cause;
	return (0);
}

/* Nothing to close. */
void
cluster_shutdown(void)
{
}

/* Never a node of a cluster. */
int
cluster_on(void)
{
	return (0);
}

/* No Redis. */
int
cluster_redis_up(void)
{
	return (0);
}

/* Unreachable: cluster_on is 0, so no front end looks names up. */
void
cluster_lookup(const char *user, void (*fn)(void *, int, const char *),
    void *arg)
{
	(void)user;
	fn(arg, CLUSTER_DOWN, NULL);
}

/* Unreachable, like cluster_lookup. */
void
cluster_claim(const char *user, void (*fn)(void *, int, const char *),
    void *arg)
{
	(void)user;
	fn(arg, CLUSTER_DOWN, NULL);
}

/* Every user is local or unknown. */
int
cluster_where(struct txn *txn, const char *user, char *node)
{
	(void)txn;
	(void)user;
	(void)node;
	return (CLUSTER_LOCAL);
}

/* Every token is this node's. */
int
cluster_token_elsewhere(const char *token, char *node, size_t size,
    const char **url)
{
	(void)token;
	(void)node;
	(void)size;
	*url = NULL;
	return (0);
}

/* No other node. */
const char *
cluster_node_url(const char *name)
{
	(void)name;
	return (NULL);
}

/* Nothing waits for a commit. */
void
cluster_commit(int ok)
{
	(void)ok;
}

/* Nothing to send. */
void
cluster_flush(void)
{
}

/* All zero. */
void
cluster_get_stats(struct cluster_stats *st)
{
	memset(st, 0, sizeof *st);
}

/* A single node mirrors no group. */
void
cluster_group_changed(const char *group)
{
	(void)group;
}

/* Never called: no group has another home. */
void
cluster_group_mirror(const char *group, const char *user,
    void (*fn)(void *, int, const struct gmirror *), void *arg)
{
	(void)group;
	(void)user;
	fn(arg, CLUSTER_DOWN, NULL);
}

/* Never called: no user has another home. */
int
cluster_rpc_call(const char *node, const char *user, json_t *op,
    cluster_rpc_fn *fn, void *arg)
{
	(void)node;
	(void)user;
	(void)op;
	(void)fn;
	(void)arg;
	return (-1);
}

/* Never called: every user is local or unknown. */
void
cluster_presence_view(const char *viewer, const char *target, int *online,
    uint64_t *last_seen)
{
	(void)viewer;
	(void)target;
	*online = 0;
	*last_seen = 0;
}

/* Never called, like cluster_presence_view. */
int
cluster_presence_watch(const char *target)
{
	(void)target;
	return (0);
}

/* Never called, like cluster_presence_view. */
void
cluster_presence_unwatch(const char *target)
{
	(void)target;
}

/* Nothing to mirror. */
void
cluster_presence_changed(const char *user, const struct user_rec *rec,
    int online)
{
	(void)user;
	(void)rec;
	(void)online;
}

/* Nothing to mirror. */
void
cluster_presence_block(const char *user, const char *other, int add)
{
	(void)user;
	(void)other;
	(void)add;
}

/* Never called, like cluster_presence_view. */
int
cluster_presence_get(const char *viewer, const char *target,
    void (*fn)(void *, int, json_t *), void *arg, json_t **obj)
{
	(void)viewer;
	(void)target;
	(void)fn;
	(void)arg;
	*obj = NULL;
	return (CLUSTER_NONE);
}

/* Unreachable: no ID names another node, so no grant is written. */
int
cluster_media_grant(const char *id, char grant[MEDIA_GRANT_LEN + 1],
    void (*fn)(void *, int), void *arg)
{
	(void)id;
	(void)fn;
	(void)arg;
	grant[0] = '\0';
	return (-1);
}

/* Unreachable: only a node of a cluster reads grants (http-media.c). */
int
cluster_media_grant_check(const char *grant, const char *id,
    void (*fn)(void *, int), void *arg)
{
	(void)grant;
	(void)id;
	(void)fn;
	(void)arg;
	return (-1);
}

/* Nothing to mirror on a single node. */
void
cluster_media_live(const uint8_t id[MEDIA_ID_BYTES], int live)
{
	(void)id;
	(void)live;
}

/* Nothing to mirror on a single node. */
void
cluster_media_writeback(struct txn *txn)
{
	(void)txn;
}

/* Nothing to mirror on a single node. */
void
cluster_media_user_gone(struct txn *txn, const char *user)
{
	(void)txn;
	(void)user;
}

/* Unreachable: no ID names another node on a single node. */
int
cluster_media_check(const char *id, void (*fn)(void *, int), void *arg)
{
	(void)id;
	(void)fn;
	(void)arg;
	return (-1);
}

/* Every user is local or unknown: typing stays here. */
int
cluster_typing(struct txn *txn, const char *from, const char *to,
    const char *state)
{
	(void)txn;
	(void)from;
	(void)to;
	(void)state;
	return (0);
}

/* Never called: every group is homed here. */
void
cluster_typing_group(const char *node, const char *from, const char *group,
    const char *state, json_t *users)
{
	(void)node;
	(void)from;
	(void)group;
	(void)state;
	(void)users;
}

/* No conflicts without a cluster. */
int
cluster_held(struct txn *txn, const char *user)
{
	(void)txn;
	(void)user;
	return (0);
}

/* tickctl cluster: the answer of a single node. */
static json_t *
single(char **err)
{
	*err = xstrdup("this tickd was built without cluster support "
	    "(configure --without-hiredis)");
	return (NULL);
}

/* See single. */
json_t *
cluster_ctl_status(char **err)
{
	return (single(err));
}

/* See single. */
json_t *
cluster_ctl_nodes(char **err)
{
	return (single(err));
}

/* See single. */
json_t *
cluster_ctl_outbox(char **err)
{
	return (single(err));
}

/* See single. */
json_t *
cluster_ctl_forget(const char *node, char **err)
{
	(void)node;
	return (single(err));
}

/* See single. */
json_t *
cluster_ctl_claim(const char *user, char **err)
{
	(void)user;
	return (single(err));
}
