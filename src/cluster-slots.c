/* SPDX-License-Identifier: ISC */
/*
 * cluster-slots.c: a Redis Cluster as the Redis of a tickd cluster
 * (tickd-cluster(7), Redis Cluster), with hiredis 0.14, which knows none.
 * The slot map comes from CLUSTER SLOTS, asked of the seeds and the known
 * masters in turn on a short-lived connection.  This node keeps two
 * connections to each master, as it keeps cl.cmd and cl.rd to a
 * standalone Redis, and rconn_cmd sends a command on cl.cmd or cl.rd to
 * the master that owns the slot of its key.  A MOVED reply updates the
 * map, asks for the whole map again and sends the command again to the
 * master it names; an ASK reply sends ASKING, then the command, there.
 * Any connection lost (a master failing over) drops them all, as with a
 * standalone Redis, and each reconnect asks for the map again, as does a
 * timer every cluster_slots_refresh, for a slot that moved while no
 * command went there.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>

#include "tickd.h"
#include "cluster.h"

#define HOPS_MAX	5	/* redirections one command follows */
#define NO_MASTER	0xffff	/* a slot no master is known to serve */
#define HOST_MAX	256

/* A master, and this node's connections to it: commands, reader. */
struct master {
	size_t		 i;		/* in sl.m */
	char		*host;
	int		 port;
	int		 inmap;
	char		*names[2];
	struct rconn	 c[2];
};

/* A command sent to a master, kept to be sent again if redirected. */
struct rreq {
	redisCallbackFn	*fn;
	void		*arg;
	uint64_t	 extra;
	int		 rd;		/* on the reader's connection */
	int		 hops;
	int		 inmulti;	/* in a MULTI: never sent again */
	char		*buf;
	size_t		 len;
};

/* How a command is routed: by its key, or otherwise. */
enum route {
	ROUTE_KEY,			/* argv[1] */
	ROUTE_SUB,			/* argv[2], after a subcommand */
	ROUTE_STREAMS,			/* the key after STREAMS */
	ROUTE_ALL,			/* every master */
	ROUTE_MULTI,			/* with the command that follows */
	ROUTE_EXEC,			/* with the MULTI */
};

static const struct {
	const char	*cmd;
	enum route	 how;
} routes[] = {
	{ "XREADGROUP", ROUTE_STREAMS },
	{ "XGROUP", ROUTE_SUB },
	/* cluster_ctl_forget's script SCANs the keys of one node only. */
	{ "EVAL", ROUTE_ALL },
	/* cluster-groups.c: MULTI, DEL and HSET of one key, EXEC. */
	{ "MULTI", ROUTE_MULTI },
	{ "EXEC", ROUTE_EXEC },
};

enum multi {
	MULTI_NONE,
	MULTI_WAIT,			/* not sent: goes with the next */
	MULTI_SENT,
	MULTI_FAILED,			/* EXEC and all before it fail */
};

static struct {
	int			 on;
	struct cluster_redis_addr *seeds;
	size_t			 nseeds;
	size_t			 next;	/* the address asked next */
	struct master		**m;
	size_t			 nm, capm;
	uint16_t		 slot[CLUSTER_SLOTS];
	redisAsyncContext	*ask;	/* CLUSTER SLOTS under way */
	struct event		*ev_ask; /* its deadline */
	struct event		*ev_refresh;
	uint64_t		 version; /* changes of the map */
	uint64_t		 fetched; /* ms, the last map applied */
	enum multi		 multi;
	struct rconn		*multi_rc;
	redisCallbackFn		*multi_fn;
	void			*multi_arg;
} sl;

/* Whether cluster_redis is a Redis Cluster. */
int
cluster_slots_on(void)
{
	return (sl.on);
}

/* The master at host:port, added if new; NULL if libevent cannot. */
static struct master *
master_get(const char *host, int port)
{
	struct master	*m;
	size_t		 i;

	for (i = 0; i < sl.nm; i++) {
		if (sl.m[i]->port == port && strcmp(sl.m[i]->host, host) == 0)
			return (sl.m[i]);
	}
	m = xcalloc(1, sizeof *m);
	m->host = xstrdup(host);
	m->port = port;
	xasprintf(&m->names[0], "%s:%d command", host, port);
	xasprintf(&m->names[1], "%s:%d reader", host, port);
	for (i = 0; i < 2; i++) {
		m->c[i].host = m->host;
		m->c[i].port = port;
		m->c[i].off = 1;
		if (rconn_init(&m->c[i], m->names[i]) != 0) {
			log_warnx("cluster: cannot create timers");
			rconn_free(&m->c[0]);
			rconn_free(&m->c[1]);
			free(m->names[0]);
			free(m->names[1]);
			free(m->host);
			free(m);
			return (NULL);
		}
	}
	if (sl.nm == sl.capm)
		sl.m = xgrow(sl.m, &sl.capm, sizeof *sl.m, 4);
	m->i = sl.nm;
	sl.m[sl.nm++] = m;
	return (m);
}

/* m serves slots, or no longer does: its connections follow. */
static void
master_set(struct master *m, int inmap)
{
	size_t	i;

	if (m->inmap && !inmap)
		log_info("cluster: Redis Cluster master %s:%d left the map",
		    m->host, m->port);
	m->inmap = inmap;
	for (i = 0; i < 2; i++) {
		m->c[i].off = !inmap;
		if (inmap)
			rconn_connect(&m->c[i]);
		else
			rconn_drop(&m->c[i], "its master left the map");
	}
}

/* The next periodic refresh: cluster_slots_refresh after now. */
static void
refresh_later(void)
{
	struct timeval	tv;

	tv.tv_sec = (time_t)(srv.conf.cluster_slots_refresh / 1000);
	tv.tv_usec = (suseconds_t)(srv.conf.cluster_slots_refresh % 1000) *
	    1000;
	evtimer_add(sl.ev_refresh, &tv);
}

/*
 * The periodic refresh: a slot moved, or a master added, while no command
 * went there is learnt at last (tickd-cluster(7), Redis Cluster).
 */
static void
refresh_cb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
	refresh_later();
	cluster_slots_refresh();
}

/*
 * The reply to CLUSTER SLOTS: ranges [start, end, [host, port, ...],
 * replicas...].  An empty host is the one asked (CLUSTER SLOTS in the
 * Redis documentation).
 */
static void
map_apply(const redisReply *reply, const char *asked)
{
	const redisReply	*e, *a;
	struct master		*m;
	uint16_t		*map;
	int			*seen;
	size_t			 i;
	long long		 s;
	const char		*host;

	map = xcalloc(CLUSTER_SLOTS, sizeof *map);
	memset(map, 0xff, CLUSTER_SLOTS * sizeof *map);
	for (i = 0; i < reply->elements; i++) {
		e = reply->element[i];
		if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
		    e->element[0]->type != REDIS_REPLY_INTEGER ||
		    e->element[1]->type != REDIS_REPLY_INTEGER ||
		    e->element[0]->integer < 0 ||
		    e->element[1]->integer >= CLUSTER_SLOTS ||
		    (a = e->element[2])->type != REDIS_REPLY_ARRAY ||
		    a->elements < 2 ||
		    a->element[0]->type != REDIS_REPLY_STRING ||
		    a->element[1]->type != REDIS_REPLY_INTEGER ||
		    a->element[1]->integer < 1 ||
		    a->element[1]->integer > 65535)
			continue;
		host = a->element[0]->len > 0 && strcmp(a->element[0]->str,
		    "?") != 0 ? a->element[0]->str : asked;
		if ((m = master_get(host, (int)a->element[1]->integer)) ==
		    NULL)
			continue;
		for (s = e->element[0]->integer; s <= e->element[1]->integer;
		    s++)
			map[s] = (uint16_t)m->i;
	}
	seen = xcalloc(sl.nm + 1, sizeof *seen);
	for (i = 0; i < CLUSTER_SLOTS; i++) {
		if (map[i] != NO_MASTER)
			seen[map[i]] = 1;
	}
	for (i = 0; i < sl.nm && !seen[i]; i++)
		;
	if (i == sl.nm)
		log_warnx("cluster: CLUSTER SLOTS names no master");
	else {
		if (memcmp(sl.slot, map, sizeof sl.slot) != 0)
			sl.version++;
		sl.fetched = now_ms();
		refresh_later();
		memcpy(sl.slot, map, sizeof sl.slot);
		for (i = 0; i < sl.nm; i++)
			master_set(sl.m[i], seen[i]);
	}
	free(seen);
	free(map);
}

/* The answer to CLUSTER SLOTS. */
static void
slots_cb(redisAsyncContext *ac, void *r, void *arg)
{
	redisReply	*reply = r;

	(void)arg;
	if (reply == NULL)
		return;
	evtimer_del(sl.ev_ask);
	if (reply->type == REDIS_REPLY_ARRAY)
		map_apply(reply, ac->c.tcp.host);
	else if (reply->type == REDIS_REPLY_ERROR)
		log_warnx("cluster: CLUSTER SLOTS: %s", reply->str);
	/* Closed once this callback returns (hiredis(3) async). */
	redisAsyncDisconnect(ac);
}

/* The questioning connection went. */
static void
ask_disconnect_cb(const redisAsyncContext *ac, int status)
{
	(void)ac;
	(void)status;
	sl.ask = NULL;
}

/* The questioning connection is up, or failed. */
static void
ask_connect_cb(const redisAsyncContext *ac, int status)
{
	if (status == REDIS_OK)
		return;
	log_warnx("cluster: cannot connect to Redis %s:%d: %s",
	    ac->c.tcp.host, ac->c.tcp.port, ac->errstr);
	/* hiredis frees ac after this callback. */
	evtimer_del(sl.ev_ask);
	sl.ask = NULL;
}

/* A node asked for the map did not answer within cluster_redis_timeout. */
static void
ask_timeout_cb(evutil_socket_t fd, short events, void *arg)
{
	redisAsyncContext	*ac = sl.ask;

	(void)fd;
	(void)events;
	(void)arg;
	if (ac == NULL)
		return;
	log_warnx("cluster: Redis %s:%d did not answer CLUSTER SLOTS",
	    ac->c.tcp.host, ac->c.tcp.port);
	redisAsyncFree(ac);
	sl.ask = NULL;
}

/*
 * Asks the next seed or known master, in turn, for the slot map, unless
 * a question is under way; the answer goes to map_apply.
 */
void
cluster_slots_refresh(void)
{
	const char	*argv[3], *host;
	struct timeval	 tv;
	size_t		 i;
	int		 argc = 0, port;

	if (!sl.on || sl.ask != NULL || cl.stopping)
		return;
	i = sl.next++ % (sl.nseeds + sl.nm);
	host = i < sl.nseeds ? sl.seeds[i].host : sl.m[i - sl.nseeds]->host;
	port = i < sl.nseeds ? sl.seeds[i].port : sl.m[i - sl.nseeds]->port;
	sl.ask = redisAsyncConnect(host, port);
	if (sl.ask == NULL || sl.ask->err ||
	    redisLibeventAttach(sl.ask, srv.base) != REDIS_OK) {
		log_warnx("cluster: cannot connect to Redis %s:%d: %s", host,
		    port, sl.ask != NULL ? sl.ask->errstr : "out of memory");
		if (sl.ask != NULL)
			redisAsyncFree(sl.ask);
		sl.ask = NULL;
		return;
	}
	redisAsyncSetConnectCallback(sl.ask, ask_connect_cb);
	redisAsyncSetDisconnectCallback(sl.ask, ask_disconnect_cb);
	if (cl.addr.pass != NULL) {
		argv[argc++] = "AUTH";
		if (cl.addr.user != NULL)
			argv[argc++] = cl.addr.user;
		argv[argc++] = cl.addr.pass;
		/* An error shows in the answer to CLUSTER SLOTS. */
		redisAsyncCommandArgv(sl.ask, NULL, NULL, argc, argv, NULL);
	}
	argv[0] = "CLUSTER";
	argv[1] = "SLOTS";
	if (redisAsyncCommandArgv(sl.ask, slots_cb, NULL, 2, argv, NULL) !=
	    REDIS_OK) {
		redisAsyncFree(sl.ask);
		sl.ask = NULL;
		return;
	}
	tv.tv_sec = (time_t)(srv.conf.cluster_redis_timeout / 1000);
	tv.tv_usec = (suseconds_t)(srv.conf.cluster_redis_timeout % 1000) *
	    1000;
	evtimer_add(sl.ev_ask, &tv);
}

/* Frees a request. */
static void
rreq_free(struct rreq *q)
{
	redisFreeCommand(q->buf);
	free(q);
}

/*
 * The reply to a routed command: a MOVED or an ASK sends it again to the
 * master named, HOPS_MAX times at most, if that master's connection is up;
 * anything else goes to the caller.
 */
static void
redirect_cb(redisAsyncContext *ac, void *r, void *arg)
{
	redisReply	*reply = r;
	struct rreq	*q = arg;
	struct master	*m;
	struct rconn	*to;
	char		 host[HOST_MAX];
	unsigned	 slot;
	int		 ask, port;

	if (reply != NULL && reply->type == REDIS_REPLY_ERROR &&
	    cluster_redirect_parse(reply->str, &ask, &slot, host,
	    sizeof host, &port) == 0 && (m = master_get(host, port)) != NULL) {
		if (!ask) {
			log_debug("cluster: redirected (%s)", reply->str);
			if (sl.slot[slot] != m->i)
				sl.version++;
			sl.slot[slot] = (uint16_t)m->i;
			if (!m->inmap)
				master_set(m, 1);
			cluster_slots_refresh();
		}
		to = &m->c[q->rd];
		if (!q->inmulti && q->hops < HOPS_MAX && to->up &&
		    (!ask || rconn_formatted(to, cluster_logged_cb, "ASKING",
		    0, "*1\r\n$6\r\nASKING\r\n", 16) == 0) &&
		    rconn_formatted(to, redirect_cb, q, q->extra, q->buf,
		    q->len) == 0) {
			q->hops++;
			rconn_answered(ac->data);
			return;
		}
	}
	q->fn(ac, reply, q->arg);
	rreq_free(q);
}

/* How argv[0] is routed. */
static enum route
route_of(const char *cmd)
{
	size_t	i;

	for (i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		if (strcasecmp(routes[i].cmd, cmd) == 0)
			return (routes[i].how);
	}
	return (ROUTE_KEY);
}

/* The connection (rd: the reader's) to the master of argv's key, or NULL. */
static struct rconn *
route_key(int rd, enum route how, int argc, const char **argv,
    const size_t *argvlen)
{
	int		 k = how == ROUTE_SUB ? 2 : 1;
	uint16_t	 i;

	if (how == ROUTE_STREAMS) {
		for (k = 1; k < argc - 1 && strcasecmp(argv[k], "STREAMS") !=
		    0; k++)
			;
		k++;
	}
	if (k >= argc)
		return (NULL);
	i = sl.slot[cluster_key_slot(argv[k], argvlen != NULL ? argvlen[k] :
	    strlen(argv[k]))];
	return (i == NO_MASTER || i >= sl.nm ? NULL : &sl.m[i]->c[rd]);
}

/*
 * rconn_cmd on a Redis Cluster: the command goes to the master of its
 * key, kept for a redirection; EVAL to every master; MULTI waits for the
 * command that follows and goes with it, as do the others up to EXEC.
 */
int
cluster_slots_cmd(int rd, redisCallbackFn *fn, void *arg, uint64_t extra,
    int argc, const char **argv, const size_t *argvlen)
{
	static const char *multi[] = { "MULTI" };
	enum route	 how = route_of(argv[0]);
	struct rconn	*rc;
	struct rreq	*q;
	size_t		 i;
	int		 len, ret = 0;

	switch (how) {
	case ROUTE_ALL:
		for (i = 0; i < sl.nm; i++) {
			if (sl.m[i]->inmap && rconn_cmd(&sl.m[i]->c[rd], fn,
			    arg, extra, argc, argv, argvlen) != 0)
				ret = -1;
		}
		return (ret);
	case ROUTE_MULTI:
		sl.multi = MULTI_WAIT;
		sl.multi_fn = fn;
		sl.multi_arg = arg;
		return (0);
	case ROUTE_EXEC:
		rc = sl.multi == MULTI_SENT ? sl.multi_rc : NULL;
		sl.multi = MULTI_NONE;
		if (rc == NULL)
			return (-1);
		return (rconn_cmd(rc, fn, arg, extra, argc, argv, argvlen));
	default:
		break;
	}
	if (sl.multi == MULTI_FAILED)
		return (-1);
	rc = sl.multi == MULTI_SENT ? sl.multi_rc : route_key(rd, how, argc,
	    argv, argvlen);
	if (sl.multi == MULTI_WAIT) {
		if (rc == NULL || rconn_cmd(rc, sl.multi_fn, sl.multi_arg, 0, 1,
		    multi, NULL) != 0) {
			sl.multi = MULTI_FAILED;
			return (-1);
		}
		sl.multi = MULTI_SENT;
		sl.multi_rc = rc;
	}
	if (rc == NULL)
		return (-1);
	q = xcalloc(1, sizeof *q);
	if ((len = redisFormatCommandArgv(&q->buf, argc, argv, argvlen)) < 0) {
		free(q);
		return (-1);
	}
	q->len = (size_t)len;
	q->fn = fn;
	q->arg = arg;
	q->extra = extra;
	q->rd = rd;
	q->inmulti = sl.multi == MULTI_SENT;
	if (rconn_formatted(rc, redirect_cb, q, extra, q->buf, q->len) != 0) {
		rreq_free(q);
		return (-1);
	}
	return (0);
}

/*
 * What tickctl cluster status shows of the slot map: how many times it
 * changed, and when the last one was applied (Unix ms, 0: never).  -1
 * on a standalone Redis.
 */
int
cluster_slots_map(uint64_t *version, uint64_t *fetched)
{
	if (!sl.on)
		return (-1);
	*version = sl.version;
	*fetched = sl.fetched;
	return (0);
}

/* This node's connection i to the masters, NULL past the last. */
struct rconn *
cluster_slots_conn(size_t i)
{
	return (i / 2 < sl.nm ? &sl.m[i / 2]->c[i % 2] : NULL);
}

/*
 * The master that owns slot, where a channel of that slot is subscribed
 * (tickd-cluster(7), Channels).  -1 if none is known.
 */
int
cluster_slots_owner(unsigned slot, const char **host, int *port)
{
	uint16_t	i;

	if (slot >= CLUSTER_SLOTS || (i = sl.slot[slot]) == NO_MASTER ||
	    i >= sl.nm || !sl.m[i]->inmap)
		return (-1);
	*host = sl.m[i]->host;
	*port = sl.m[i]->port;
	return (0);
}

/*
 * cluster_redis names a Redis Cluster: its seeds are v's URLs, or, with
 * v NULL, cl.addr, whose credentials serve every node.
 */
int
cluster_slots_init(const char *v, char **why)
{
	const char	*p;
	size_t		 len;

	memset(&sl, 0, sizeof sl);
	memset(sl.slot, 0xff, sizeof sl.slot);
	if (v == NULL) {
		sl.seeds = xcalloc(1, sizeof *sl.seeds);
		sl.seeds[0].host = xstrdup(cl.addr.host);
		sl.seeds[0].port = cl.addr.port;
		sl.nseeds = 1;
	}
	for (p = v; p != NULL && *(p += strspn(p, " \t")) != '\0'; p += len) {
		len = strcspn(p, " \t");
		sl.seeds = xrealloc(sl.seeds, (sl.nseeds + 1) *
		    sizeof *sl.seeds);
		if (cluster_redis_parse(p, len, &sl.seeds[sl.nseeds],
		    why) != 0) {
			cluster_slots_free();
			return (-1);
		}
		sl.nseeds++;
	}
	if ((sl.ev_ask = evtimer_new(srv.base, ask_timeout_cb, NULL)) ==
	    NULL || (sl.ev_refresh = evtimer_new(srv.base, refresh_cb,
	    NULL)) == NULL) {
		cluster_slots_free();
		*why = xstrdup("cluster: cannot create a timer");
		return (-1);
	}
	refresh_later();
	sl.on = 1;
	return (0);
}

/* Closes the connections to the masters at shutdown. */
void
cluster_slots_free(void)
{
	size_t	i;

	if (sl.ask != NULL)
		redisAsyncFree(sl.ask);
	sl.ask = NULL;
	if (sl.ev_ask != NULL)
		event_free(sl.ev_ask);
	if (sl.ev_refresh != NULL)
		event_free(sl.ev_refresh);
	for (i = 0; i < sl.nm; i++) {
		sl.m[i]->c[0].off = sl.m[i]->c[1].off = 1;
		rconn_free(&sl.m[i]->c[0]);
		rconn_free(&sl.m[i]->c[1]);
	}
	for (i = 0; i < sl.nm; i++) {
		free(sl.m[i]->names[0]);
		free(sl.m[i]->names[1]);
		free(sl.m[i]->host);
		free(sl.m[i]);
	}
	free(sl.m);
	for (i = 0; i < sl.nseeds; i++)
		cluster_redis_addr_clear(&sl.seeds[i]);
	free(sl.seeds);
	memset(&sl, 0, sizeof sl);
}
