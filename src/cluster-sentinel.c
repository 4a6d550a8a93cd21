/* SPDX-License-Identifier: ISC */
/*
 * cluster-sentinel.c: finding the Redis master through Redis Sentinel
 * (tickd-cluster(7), Redis Sentinel), when cluster_redis is a sentinel://
 * URL.  Before each connection to Redis the node asks one Sentinel, in
 * turn, SENTINEL get-master-addr-by-name on a short-lived connection; and
 * it keeps a subscription to +switch-master on another.  When the answer
 * or a switch names another address than the one in use, the connections
 * to Redis are dropped and made again to the new master.  Sentinels are
 * asked without AUTH; the URL's credentials are the master's.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>

#include "tickd.h"
#include "cluster.h"

static struct {
	int			 on;
	struct cluster_sentinel	 s;
	size_t			 next;	/* the Sentinel to ask next */
	redisAsyncContext	*ask;	/* a question under way */
	struct event		*ev_ask; /* its deadline */
	redisAsyncContext	*sub;	/* SUBSCRIBE +switch-master */
} sn;

/*
 * The master is at host:port, as a Sentinel says: if that is news, the
 * connections to Redis go, and are made again there.
 */
static void
master_is(const char *host, const char *port)
{
	char	*end;
	long	 p;

	p = strtol(port, &end, 10);
	if (*host == '\0' || *end != '\0' || p < 1 || p > 65535) {
		log_warnx("cluster: Sentinel: bad address %s:%s of %s", host,
		    port, sn.s.master);
		return;
	}
	if (cl.addr.host != NULL && strcmp(cl.addr.host, host) == 0 &&
	    cl.addr.port == (int)p)
		return;
	log_info("cluster: Sentinel: master %s is %s:%ld", sn.s.master, host,
	    p);
	free(cl.addr.host);
	cl.addr.host = xstrdup(host);
	cl.addr.port = (int)p;
	cluster_redis_moved();
}

/* The answer to SENTINEL get-master-addr-by-name: [host, port] or nil. */
static void
ask_cb(redisAsyncContext *ac, void *r, void *arg)
{
	redisReply	*reply = r;

	(void)arg;
	if (reply == NULL)
		return;
	evtimer_del(sn.ev_ask);
	if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
	    reply->element[0]->type == REDIS_REPLY_STRING &&
	    reply->element[1]->type == REDIS_REPLY_STRING)
		master_is(reply->element[0]->str, reply->element[1]->str);
	else if (reply->type == REDIS_REPLY_ERROR)
		log_warnx("cluster: Sentinel: %s", reply->str);
	else
		log_warnx("cluster: Sentinel knows no master %s",
		    sn.s.master);
	/* Closed once this callback returns (hiredis(3) async). */
	redisAsyncDisconnect(ac);
}

/* The questioning connection went. */
static void
ask_disconnect_cb(const redisAsyncContext *ac, int status)
{
	(void)ac;
	(void)status;
	sn.ask = NULL;
}

/* The questioning connection is up, or failed. */
static void
ask_connect_cb(const redisAsyncContext *ac, int status)
{
	if (status == REDIS_OK)
		return;
	log_warnx("cluster: cannot connect to Sentinel %s:%d: %s",
	    ac->c.tcp.host, ac->c.tcp.port, ac->errstr);
	/* hiredis frees ac after this callback. */
	evtimer_del(sn.ev_ask);
	sn.ask = NULL;
}

/* A Sentinel did not answer within cluster_redis_timeout. */
static void
ask_timeout_cb(evutil_socket_t fd, short events, void *arg)
{
	redisAsyncContext	*ac = sn.ask;

	(void)fd;
	(void)events;
	(void)arg;
	if (ac == NULL)
		return;
	log_warnx("cluster: Sentinel %s:%d did not answer", ac->c.tcp.host,
	    ac->c.tcp.port);
	redisAsyncFree(ac);
	sn.ask = NULL;
}

/* A connection to the next Sentinel in turn, or NULL. */
static redisAsyncContext *
sentinel_connect(void)
{
	struct cluster_redis_addr *a = &sn.s.v[sn.next];
	redisAsyncContext	*ac;

	sn.next = (sn.next + 1) % sn.s.n;
	ac = redisAsyncConnect(a->host, a->port);
	if (ac == NULL || ac->err) {
		log_warnx("cluster: cannot connect to Sentinel %s:%d: %s",
		    a->host, a->port, ac != NULL ? ac->errstr :
		    "out of memory");
		if (ac != NULL)
			redisAsyncFree(ac);
		return (NULL);
	}
	if (redisLibeventAttach(ac, srv.base) != REDIS_OK) {
		redisAsyncFree(ac);
		return (NULL);
	}
	return (ac);
}

/*
 * Asks the next Sentinel where the master is, unless a question is under
 * way; what it says comes to master_is.  Called before each connection
 * to Redis, so that a failover is followed.
 */
void
cluster_sentinel_ask(void)
{
	const char	*argv[3];
	struct timeval	 tv;

	if (!sn.on || sn.ask != NULL || (sn.ask = sentinel_connect()) == NULL)
		return;
	redisAsyncSetConnectCallback(sn.ask, ask_connect_cb);
	redisAsyncSetDisconnectCallback(sn.ask, ask_disconnect_cb);
	argv[0] = "SENTINEL";
	argv[1] = "get-master-addr-by-name";
	argv[2] = sn.s.master;
	if (redisAsyncCommandArgv(sn.ask, ask_cb, NULL, 3, argv, NULL) !=
	    REDIS_OK) {
		redisAsyncFree(sn.ask);
		sn.ask = NULL;
		return;
	}
	tv.tv_sec = (time_t)(srv.conf.cluster_redis_timeout / 1000);
	tv.tv_usec = (suseconds_t)(srv.conf.cluster_redis_timeout % 1000) *
	    1000;
	evtimer_add(sn.ev_ask, &tv);
}

/*
 * A message on the +switch-master subscription: "NAME old-host old-port
 * new-host new-port" (redis-sentinel(1), Sentinel's Pub/Sub messages).
 */
static void
sub_cb(redisAsyncContext *ac, void *r, void *arg)
{
	const redisReply	*msg;
	char			 name[CLUSTER_MASTER_MAX + 1], host[256];
	char			 port[8];

	(void)ac;
	(void)arg;
	if ((msg = cluster_sub_payload(r)) == NULL)
		return;
	if (sscanf(msg->str, "%64s %*s %*s %255s %7s", name, host, port) !=
	    3 || strcmp(name, sn.s.master) != 0)
		return;
	log_info("cluster: Sentinel: +switch-master %s", name);
	master_is(host, port);
}

/* The subscription went: it is made again at a heartbeat. */
static void
sub_disconnect_cb(const redisAsyncContext *ac, int status)
{
	(void)ac;
	(void)status;
	sn.sub = NULL;
}

/* The subscribing connection is up, or failed. */
static void
sub_connect_cb(const redisAsyncContext *ac, int status)
{
	(void)ac;
	if (status != REDIS_OK)
		sn.sub = NULL;
}

/*
 * At each heartbeat: a subscription to +switch-master on one Sentinel,
 * if there is none, so that a failover is followed at once.
 */
void
cluster_sentinel_tick(void)
{
	const char	*argv[2];

	if (!sn.on || sn.sub != NULL || (sn.sub = sentinel_connect()) == NULL)
		return;
	redisAsyncSetConnectCallback(sn.sub, sub_connect_cb);
	redisAsyncSetDisconnectCallback(sn.sub, sub_disconnect_cb);
	argv[0] = "SUBSCRIBE";
	argv[1] = "+switch-master";
	if (redisAsyncCommandArgv(sn.sub, sub_cb, NULL, 2, argv, NULL) !=
	    REDIS_OK) {
		redisAsyncFree(sn.sub);
		sn.sub = NULL;
	}
}

/*
 * Parses a sentinel:// cluster_redis: the master's credentials go to
 * cl.addr, whose host stays unset until a Sentinel names the master.
 */
int
cluster_sentinel_init(const char *v, size_t len, char **why)
{
	memset(&sn, 0, sizeof sn);
	if (cluster_sentinel_parse(v, len, &sn.s, why) != 0)
		return (-1);
	if ((sn.ev_ask = evtimer_new(srv.base, ask_timeout_cb, NULL)) ==
	    NULL) {
		cluster_sentinel_clear(&sn.s);
		*why = xstrdup("cluster: cannot create a timer");
		return (-1);
	}
	memset(&cl.addr, 0, sizeof cl.addr);
	if (sn.s.user != NULL)
		cl.addr.user = xstrdup(sn.s.user);
	if (sn.s.pass != NULL)
		cl.addr.pass = xstrdup(sn.s.pass);
	sn.on = 1;
	return (0);
}

/* Closes the connections to the Sentinels at shutdown. */
void
cluster_sentinel_free(void)
{
	if (!sn.on)
		return;
	if (sn.ask != NULL)
		redisAsyncFree(sn.ask);
	if (sn.sub != NULL)
		redisAsyncFree(sn.sub);
	if (sn.ev_ask != NULL)
		event_free(sn.ev_ask);
	cluster_sentinel_clear(&sn.s);
	memset(&sn, 0, sizeof sn);
}
