/* SPDX-License-Identifier: ISC */
/*
 * cluster-rpc.c: the caller's side of remote calls between the nodes of a
 * cluster (tickd-cluster(7), Remote calls).  A call is a req entry {rid,
 * user, op} added to the home's stream, never kept in an outbox, so at
 * most once; the home serves it (cluster-serve.c) and adds a rep entry
 * {rid, reply} to this node's stream, which the reader hands to
 * cluster_rpc_answer.  A call with no rep within cluster_rpc_timeout is
 * answered NULL and counted in tickd_cluster_rpc_timeouts_total; a rep
 * arriving later finds no call and is dropped.
 */
#include <sys/types.h>
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "tickd.h"
#include "cluster.h"

#define RID_MAX	40	/* bytes of a rid: NODE-counter */

/* A call waiting for its rep. */
struct call {
	TAILQ_ENTRY(call)	 entry;
	char			 rid[RID_MAX + 1];
	cluster_rpc_fn		*fn;
	void			*arg;
	struct event		*timer;
};

static TAILQ_HEAD(, call) calls = TAILQ_HEAD_INITIALIZER(calls);
static uint64_t		 next_rid;	/* 0: not chosen yet */
static uint64_t		 timeouts;

/* Ends call: out of the list, its timer freed, fn told reply. */
static void
call_end(struct call *k, json_t *reply)
{
	TAILQ_REMOVE(&calls, k, entry);
	event_free(k->timer);
	k->fn(k->arg, reply);
	free(k);
}

/* A call's cluster_rpc_timeout passed: it is answered NULL. */
static void
timeout_cb(evutil_socket_t fd, short events, void *arg)
{
	struct call	*k = arg;

	(void)fd;
	(void)events;
	timeouts++;
	log_info("cluster: remote call %s unanswered within "
	    "cluster_rpc_timeout", k->rid);
	call_end(k, NULL);
}

/*
 * Calls op for user on node, the home that must serve it.  -1 when it
 * cannot go now (Redis unreachable, node down): fn is not called, and the
 * caller answers unavailable.  Otherwise fn gets arg and, once, the reply
 * frame (not its own) or NULL when the time ran out.
 */
int
cluster_rpc_call(const char *node, const char *user, json_t *op,
    cluster_rpc_fn *fn, void *arg)
{
	struct call	*k;
	struct timeval	 tv;
	json_t		*p;
	char		*text;

	if (!cl.ready || !cluster_node_alive(node))
		return (-1);
	/*
	 * Rids begin where the clock stands at the first call, so that a
	 * rep to a call made before a restart finds no call after it.
	 */
	if (next_rid == 0)
		next_rid = now_ms() * 1000;
	k = xcalloc(1, sizeof *k);
	snprintf(k->rid, sizeof k->rid, "%s-%llu", srv.conf.node_name,
	    (unsigned long long)next_rid++);
	p = json_pack("{s:s,s:s,s:O}", "rid", k->rid, "user", user, "op", op);
	text = p == NULL ? NULL : json_dumps(p, JSON_COMPACT);
	json_decref(p);
	if (text == NULL ||
	    (k->timer = evtimer_new(srv.base, timeout_cb, k)) == NULL) {
		free(text);
		free(k);
		return (-1);
	}
	/* A failed XADD leaves the call to its timeout, like a lost one. */
	if (cluster_xadd_bare(node, "req", "p", text, "XADD req") != 0) {
		free(text);
		event_free(k->timer);
		free(k);
		return (-1);
	}
	free(text);
	k->fn = fn;
	k->arg = arg;
	TAILQ_INSERT_TAIL(&calls, k, entry);
	tv.tv_sec = (time_t)(srv.conf.cluster_rpc_timeout / 1000);
	tv.tv_usec = (suseconds_t)(srv.conf.cluster_rpc_timeout % 1000) *
	    1000;
	evtimer_add(k->timer, &tv);
	return (0);
}

/* A rep entry read from this node's stream: its call, if any, ends. */
void
cluster_rpc_answer(const char *from, const char *text, size_t len)
{
	struct call	*k;
	json_t		*p, *reply;
	const char	*rid;

	if ((p = json_loadb(text, len, 0, NULL)) == NULL) {
		log_warnx("cluster: a rep from %s with a bad payload; dropped",
		    from);
		return;
	}
	rid = json_string_value(json_object_get(p, "rid"));
	reply = json_object_get(p, "reply");
	if (rid != NULL && json_is_object(reply)) {
		TAILQ_FOREACH(k, &calls, entry) {
			if (strcmp(k->rid, rid) == 0) {
				call_end(k, reply);
				break;
			}
		}
	}
	json_decref(p);
}

/* Sends the rep entries of a committed batch, the answers it served. */
void
cluster_rpc_send_reps(const struct cluster_applied *a)
{
	size_t	i;

	for (i = 0; i < a->nreps; i++)
		cluster_xadd_bare(a->reps[i].node, "rep", "p", a->reps[i].text,
		    "XADD rep");
}

/* Calls unanswered within cluster_rpc_timeout, for /metrics. */
uint64_t
cluster_rpc_timeouts(void)
{
	return (timeouts);
}

/* At shutdown: every call still waiting is answered NULL. */
void
cluster_rpc_free(void)
{
	struct call	*k;

	while ((k = TAILQ_FIRST(&calls)) != NULL)
		call_end(k, NULL);
}
