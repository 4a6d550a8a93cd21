/* SPDX-License-Identifier: ISC */
/*
 * cluster.c: this node's link to the Redis shared by the nodes of a cluster
 * (tickd-cluster(7)), through hiredis's asynchronous API on the event loop:
 * two connections (commands, and the stream reader whose XREADGROUP
 * BLOCKs), each with a watchdog that drops it when a command goes
 * unanswered for cluster_redis_timeout, and reconnects with backoff; the
 * heartbeat, the epoch and the directory.  cluster-stream.c reads and
 * forwards the streams.
 */
#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <openssl/rand.h>

#include "tickd.h"
#include "cluster.h"

struct cluster	cl;

#define BACKOFF_MIN	100	/* ms before the first reconnect */
#define BACKOFF_MAX	5000
#define WATCHDOG_MS	100
#define RCONN_READS	64	/* reads of hiredis's 16 KB one turn may do */

/* An rconn's events on the loop (see rconn_read_ev). */
struct rconn_ev {
	redisAsyncContext	*ac;
	struct event		*rev, *wev;
};

static void	rconn_later(struct rconn *);
static void	hb_send(void);
static void	setup_start(void);

/*
 * What this build can serve (tickd.conf(5) Cluster): Redis over plain
 * TCP, one standalone named or found through Sentinels, or a Redis
 * Cluster through its seeds; or one standalone Redis over TLS, relayed
 * by cluster-tls.c (Debian 12's hiredis 0.14 has no TLS), so rediss:// is
 * one URL alone.  A sentinel:// URL stands alone.
 */
int
cluster_check(const struct conf *conf, char **cause)
{
	const char	*p = conf->cluster_redis;
	size_t		 len;
	int		 n = 0, sentinel = 0, tls = 0;

	if (p == NULL)
		return (0);
	for (p += strspn(p, " \t"); *p != '\0'; p += strspn(p, " \t")) {
		len = strcspn(p, " \t");
		if (strncmp(p, "rediss://", 9) == 0)
			tls = 1;
		if (strncmp(p, "sentinel://", 11) == 0)
			sentinel = 1;
		n++;
		p += len;
	}
	if (tls && n > 1) {
		*cause = xstrdup("cluster_redis: rediss:// names one "
		    "standalone Redis: a Redis Cluster over TLS is not "
		    "supported");
		return (-1);
	}
	if (sentinel && n > 1) {
		*cause = xstrdup("cluster_redis: a sentinel:// URL stands "
		    "alone; several redis:// URLs are Redis Cluster seeds");
		return (-1);
	}
	return (0);
}

/* Whether this tickd is a node of a cluster. */
int
cluster_on(void)
{
	return (cl.on);
}

/* Whether Redis answers (tickd_cluster_redis_up). */
int
cluster_redis_up(void)
{
	return (cl.on && cl.ready);
}

/*
 * The payload of a message on a SUBSCRIBE connection (Sentinel's
 * +switch-master); NULL for anything else: a confirmation of the
 * subscription, an error, or the end of a lost connection.
 */
const redisReply *
cluster_sub_payload(const redisReply *reply)
{
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY ||
	    reply->elements != 3 ||
	    reply->element[0]->type != REDIS_REPLY_STRING ||
	    strcmp(reply->element[0]->str, "message") != 0 ||
	    reply->element[2]->type != REDIS_REPLY_STRING)
		return (NULL);
	return (reply->element[2]);
}

/* A key of this cluster's (cluster_key with cluster_prefix); caller frees. */
char *
cluster_k(const char *kind, const char *tag)
{
	return (cluster_key(srv.conf.cluster_prefix, kind, tag));
}

/* Notes the deadline of the command just sent on rc, extra ms later. */
static void
rconn_sent(struct rconn *rc, uint64_t extra)
{
	if (rc->nout == rc->capout)
		rc->out = xgrow(rc->out, &rc->capout, sizeof *rc->out, 16);
	rc->out[rc->nout++] = now_ms() + srv.conf.cluster_redis_timeout +
	    extra;
}

/*
 * Sends a command on rc; its reply goes to fn with arg.  -1 if down.  On
 * a Redis Cluster, cl.cmd and cl.rd stand for a connection to each
 * master, and the command goes to the one its key names.
 */
int
rconn_cmd(struct rconn *rc, redisCallbackFn *fn, void *arg, uint64_t extra,
    int argc, const char **argv, const size_t *argvlen)
{
	if (rc->virt)
		return (cluster_slots_cmd(rc == &cl.rd, fn, arg, extra, argc,
		    argv, argvlen));
	if (rc->ac == NULL || !rc->up)
		return (-1);
	if (redisAsyncCommandArgv(rc->ac, fn, arg, argc, argv, argvlen) !=
	    REDIS_OK)
		return (-1);
	rconn_sent(rc, extra);
	return (0);
}

/* Sends a command hiredis formatted already, as rconn_cmd. */
int
rconn_formatted(struct rconn *rc, redisCallbackFn *fn, void *arg,
    uint64_t extra, const char *cmd, size_t len)
{
	if (rc->ac == NULL || !rc->up)
		return (-1);
	if (redisAsyncFormattedCommand(rc->ac, fn, arg, cmd, len) != REDIS_OK)
		return (-1);
	rconn_sent(rc, extra);
	return (0);
}

/* The connection i of this node's: cl's two, or each master's two. */
static struct rconn *
conn_at(size_t i)
{
	if (cluster_slots_on())
		return (cluster_slots_conn(i));
	return (i == 0 ? &cl.cmd : i == 1 ? &cl.rd : NULL);
}

/* A reply arrived on rc: its command's deadline goes. */
void
rconn_answered(struct rconn *rc)
{
	if (rc->nout == 0)
		return;
	memmove(rc->out, rc->out + 1, (rc->nout - 1) * sizeof *rc->out);
	rc->nout--;
}

/*
 * Drops rc now: hiredis calls every pending callback with no reply, and
 * the disconnect callback if the connection was made.
 */
void
rconn_drop(struct rconn *rc, const char *why)
{
	redisAsyncContext	*ac = rc->ac;

	if (ac == NULL)
		return;
	if (rc->up && !cl.stopping && !rc->virt)
		log_warnx("cluster: Redis %s connection: %s; reconnecting",
		    rc->name, why);
	redisAsyncFree(ac);
	if (rc->ac == ac) {
		/* Not connected yet: no disconnect callback came. */
		rc->ac = NULL;
		rc->up = 0;
		rc->nout = 0;
		if (!cl.stopping)
			rconn_later(rc);
	}
}

/* The watchdog: a command unanswered past its deadline drops rc. */
static void
watchdog_cb(evutil_socket_t fd, short events, void *arg)
{
	struct rconn	*rc = arg;
	struct timeval	 tv = { 0, WATCHDOG_MS * 1000 };

	(void)fd;
	(void)events;
	if (rc->ac != NULL && rc->nout > 0 && rc->out[0] < now_ms())
		rconn_drop(rc, "no answer within cluster_redis_timeout");
	evtimer_add(rc->watchdog, &tv);
}

/* Reconnect timer. */
static void
reconnect_cb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	rconn_connect(arg);
}

/*
 * Schedules a reconnect of rc after its backoff, which doubles up to
 * BACKOFF_MAX, or half of cluster_retry if that is less: what waited in
 * the outbox must go within cluster_retry of Redis's return
 * (tickd-cluster(7), What each failure does), reconnecting included.
 */
static void
rconn_later(struct rconn *rc)
{
	struct timeval	tv;
	uint64_t	max = BACKOFF_MAX;

	if (rc->virt || rc->off)
		return;
	if (srv.conf.cluster_retry / 2 < max)
		max = srv.conf.cluster_retry / 2;
	if (max < BACKOFF_MIN)
		max = BACKOFF_MIN;
	if (rc->backoff == 0)
		rc->backoff = BACKOFF_MIN;
	tv.tv_sec = (time_t)(rc->backoff / 1000);
	tv.tv_usec = (suseconds_t)(rc->backoff % 1000) * 1000;
	evtimer_add(rc->retry, &tv);
	rc->backoff *= 2;
	if (rc->backoff > max)
		rc->backoff = max;
}

/* A connection went: Redis counts as unreachable until it is back. */
static void
disconnect_cb(const redisAsyncContext *ac, int status)
{
	struct rconn	*rc = ac->data, *o;
	char		 why[64];
	size_t		 i;

	(void)status;
	rc->ac = NULL;
	rc->up = 0;
	rc->nout = 0;
	if (cl.ready)
		log_warnx("cluster: Redis unreachable");
	cl.ready = 0;
	cl.setup_running = 0;
	cluster_stream_down(rc == &cl.rd);
	cluster_presence_down();
	cluster_ssub_down();
	/* The others go too, so that all start afresh. */
	snprintf(why, sizeof why, "the %s connection went", rc->name);
	for (i = 0; (o = conn_at(i)) != NULL; i++) {
		if (o != rc)
			rconn_drop(o, why);
	}
	if (!cl.stopping)
		rconn_later(rc);
}

/* The reply to AUTH: an error is logged; Redis will refuse what follows. */
static void
auth_cb(redisAsyncContext *ac, void *r, void *arg)
{
	redisReply	*reply = r;

	(void)arg;
	rconn_answered(ac->data);
	if (reply != NULL && reply->type == REDIS_REPLY_ERROR)
		log_warnx("cluster: Redis AUTH: %s", reply->str);
}

/* The connection is up (or failed): AUTH, then set things up. */
static void
connect_cb(const redisAsyncContext *ac, int status)
{
	struct rconn	*rc = ac->data, *o;
	const char	*argv[3];
	size_t		 i;
	int		 argc = 0, all = 1;

	if (status != REDIS_OK) {
		/* Not ac's: a rediss:// one is to the relay's socket. */
		log_warnx("cluster: cannot connect to Redis %s:%d: %s",
		    rc->host != NULL ? rc->host : cl.addr.host, rc->host !=
		    NULL ? rc->port : cl.addr.port, ac->errstr);
		rc->ac = NULL;
		if (!cl.stopping)
			rconn_later(rc);
		return;
	}
	rc->up = 1;
	/* The relay's socket accepts whether Redis answers or not. */
	if (!cl.addr.tls)
		rc->backoff = 0;
	if (cl.addr.pass != NULL) {
		argv[argc++] = "AUTH";
		if (cl.addr.user != NULL)
			argv[argc++] = cl.addr.user;
		argv[argc++] = cl.addr.pass;
		rconn_cmd(rc, auth_cb, NULL, 0, argc, argv, NULL);
	}
	for (i = 0; (o = conn_at(i)) != NULL; i++) {
		if (!o->off && !o->up)
			all = 0;
	}
	if (all && !cl.ready)
		setup_start();
}

/*
 * rc's socket is readable.  hiredis reads 16 KB at a time, and its
 * libevent adapter waits for the next turn of the loop for more; every
 * turn ends with a commit and its fsync.  A batch of entries read from
 * the stream (some 85 KB at cluster_batch 256) took six turns to arrive,
 * which bounded delivery across nodes (bench/README, Several nodes).  So
 * read on within the turn while the socket holds more, RCONN_READS times
 * at most, so that clients still get their turn.
 */
static void
rconn_read_ev(evutil_socket_t fd, short events, void *arg)
{
	struct rconn_ev		*e = arg;
	redisAsyncContext	*ac = e->ac;
	struct rconn		*rc = ac->data;
	int			 i, avail;

	(void)events;
	for (i = 0; i < RCONN_READS; i++) {
		redisAsyncHandleRead(ac);
		/* A callback or an error may have freed ac, and e with it. */
		if (rc->ac != ac || ioctl(fd, FIONREAD, &avail) == -1 ||
		    avail <= 0)
			break;
	}
}

/* rc's socket is writable: hiredis sends what it holds. */
static void
rconn_write_ev(evutil_socket_t fd, short events, void *arg)
{
	struct rconn_ev	*e = arg;

	(void)fd;
	(void)events;
	redisAsyncHandleWrite(e->ac);
}

/* The hooks hiredis calls to watch the socket, as its adapter's. */
static void
rconn_add_read(void *arg)
{
	struct rconn_ev	*e = arg;

	if (event_add(e->rev, NULL) != 0)
		log_warnx("cluster: cannot watch the Redis connection");
}

static void
rconn_del_read(void *arg)
{
	struct rconn_ev	*e = arg;

	event_del(e->rev);
}

static void
rconn_add_write(void *arg)
{
	struct rconn_ev	*e = arg;

	if (event_add(e->wev, NULL) != 0)
		log_warnx("cluster: cannot watch the Redis connection");
}

static void
rconn_del_write(void *arg)
{
	struct rconn_ev	*e = arg;

	event_del(e->wev);
}

static void
rconn_cleanup(void *arg)
{
	struct rconn_ev	*e = arg;

	event_free(e->rev);
	event_free(e->wev);
	free(e);
}

/*
 * The end of a turn: what this turn asked of Redis goes now, not when
 * the next turn finds the socket writable, so that the replies can come
 * within that next turn.  Only on a connection that is up: hiredis would
 * take a connect still in progress for done.
 */
void
cluster_flush(void)
{
	struct rconn	*rc;
	size_t		 i;

	if (!cl.on)
		return;
	for (i = 0; (rc = conn_at(i)) != NULL; i++) {
		if (rc->ac != NULL && rc->up)
			redisAsyncHandleWrite(rc->ac);
	}
}

/* Puts ac on the loop; -1 if libevent cannot. */
static int
rconn_attach(redisAsyncContext *ac)
{
	struct rconn_ev	*e;

	e = xcalloc(1, sizeof *e);
	e->ac = ac;
	e->rev = event_new(srv.base, ac->c.fd, EV_READ, rconn_read_ev, e);
	e->wev = event_new(srv.base, ac->c.fd, EV_WRITE, rconn_write_ev, e);
	if (e->rev == NULL || e->wev == NULL || event_add(e->rev, NULL) != 0 ||
	    event_add(e->wev, NULL) != 0) {
		if (e->rev != NULL)
			event_free(e->rev);
		if (e->wev != NULL)
			event_free(e->wev);
		free(e);
		return (-1);
	}
	ac->ev.addRead = rconn_add_read;
	ac->ev.delRead = rconn_del_read;
	ac->ev.addWrite = rconn_add_write;
	ac->ev.delWrite = rconn_del_write;
	ac->ev.cleanup = rconn_cleanup;
	ac->ev.data = e;
	return (0);
}

/*
 * Starts connecting rc.  On a Redis Cluster the slot map is asked for
 * again first, since masters may have failed over.
 */
void
rconn_connect(struct rconn *rc)
{
	redisAsyncContext	*ac;
	const char		*host = rc->host != NULL ? rc->host :
				    cl.addr.host;
	int			 port = rc->host != NULL ? rc->port :
				    cl.addr.port;

	if (rc->ac != NULL || rc->off || cl.stopping)
		return;
	cluster_slots_refresh();
	if (rc->virt)
		return;
	/* Through Sentinels: where the master is may have changed. */
	cluster_sentinel_ask();
	if (host == NULL) {
		rconn_later(rc);
		return;
	}
	ac = cluster_connect(host, port);
	if (ac == NULL || ac->err) {
		log_warnx("cluster: cannot connect to Redis %s:%d: %s",
		    host, port, ac != NULL ? ac->errstr : "out of memory");
		if (ac != NULL)
			redisAsyncFree(ac);
		rconn_later(rc);
		return;
	}
	if (rconn_attach(ac) != 0) {
		log_warnx("cluster: cannot watch the Redis connection");
		redisAsyncFree(ac);
		rconn_later(rc);
		return;
	}
	ac->data = rc;
	rc->ac = ac;
	rc->nout = 0;
	redisAsyncSetConnectCallback(ac, connect_cb);
	redisAsyncSetDisconnectCallback(ac, disconnect_cb);
}

/*
 * The master moved (a Sentinel said so): the connections go, and are made
 * again to its new address.
 */
void
cluster_redis_moved(void)
{
	struct rconn	*rcs[] = { &cl.cmd, &cl.rd };
	size_t		 i;

	for (i = 0; i < sizeof rcs / sizeof rcs[0]; i++) {
		if (rcs[i]->ac != NULL)
			rconn_drop(rcs[i], "the master moved");
		else if (!cl.stopping) {
			/* Waiting out a backoff: try the new address soon. */
			evtimer_del(rcs[i]->retry);
			rcs[i]->backoff = 0;
			rconn_later(rcs[i]);
		}
	}
}

/* What a reply tells: 1 for an answer, 0 for none (the link went). */
static int
answered(redisAsyncContext *ac, redisReply *reply)
{
	rconn_answered(ac->data);
	return (reply != NULL);
}

/* Reply of a command whose answer only an error matters for. */
void
cluster_logged_cb(redisAsyncContext *ac, void *r, void *arg)
{
	redisReply	*reply = r;

	if (answered(ac, reply) && reply->type == REDIS_REPLY_ERROR)
		log_warnx("cluster: Redis %s: %s", (const char *)arg,
		    reply->str);
}

/*
 * User walk callback: writes a local user's directory entry back, and its
 * mirrors, read from the walk's transaction arg; nothing for an account
 * held for a name conflict, whose name another node's account has.
 */
static int
writeback_fn(void *arg, const char *user, const struct user_rec *u)
{
	switch (cluster_names_writeback(arg, user, u)) {
	case 0:
		cluster_presence_writeback(arg, user, u);
		return (STORE_WALK_NEXT);
	case 1:
		return (STORE_WALK_NEXT);
	default:
		return (STORE_WALK_STOP);
	}
}

/*
 * Redis lost its data, or this node never joined it (tickd-cluster(7), What
 * each failure does): the cursor goes back to 0, the directory entries of
 * local users are written back, and the whole outbox will be sent again.
 */
static void
epoch_changed(uint64_t epoch)
{
	struct txn	*txn, rtxn;

	log_info("cluster: Redis epoch %016llx (was %016llx): writing the "
	    "directory back, resending the outbox",
	    (unsigned long long)epoch, (unsigned long long)cl.epoch);
	if ((txn = batch_txn()) == NULL ||
	    store_cepoch_put(txn, epoch) != STORE_OK ||
	    (cl.epoch != 0 && store_ccursor_put(txn, &mid_zero) !=
	    STORE_OK)) {
		log_warnx("cluster: cannot record the Redis epoch");
		return;
	}
	cl.epoch = epoch;
	if (store_txn_begin(srv.store, &rtxn, 0) == STORE_OK) {
		store_user_walk(&rtxn, writeback_fn, &rtxn);
		cluster_groups_writeback(&rtxn);
		cluster_media_writeback(&rtxn);
		store_txn_abort(&rtxn);
	}
	cluster_stream_resend_all();
}

/* The reply to XGROUP CREATE: BUSYGROUP is fine; then this node is up. */
static void
group_cb(redisAsyncContext *ac, void *r, void *arg)
{
	redisReply	*reply = r;
	struct rconn	*o;
	size_t		 i;

	(void)arg;
	if (!answered(ac, reply))
		return;
	if (reply->type == REDIS_REPLY_ERROR &&
	    strncmp(reply->str, "BUSYGROUP", 9) != 0) {
		log_warnx("cluster: XGROUP CREATE: %s", reply->str);
		cl.setup_running = 0;
		return;
	}
	cl.setup_running = 0;
	if (!cl.ready)
		log_info("cluster: Redis %s:%d up; node %s", cl.addr.host,
		    cl.addr.port, srv.conf.node_name);
	cl.ready = 1;
	for (i = 0; (o = conn_at(i)) != NULL; i++)
		o->backoff = 0;
	hb_send();
	cluster_stream_up();
	cluster_presence_up();
}

/*
 * The first time Redis answers after a start, with its data kept: every
 * group's mirror and media key is written again, since a change committed
 * just before a crash or a stop, or while Redis was unreachable, may never
 * have reached it (tickd-cluster(7), Groups across nodes and Media in
 * messages between nodes).
 */
static void
mirrors_again(void)
{
	struct txn	rtxn;

	if (store_txn_begin(srv.store, &rtxn, 0) != STORE_OK) {
		log_warnx("cluster: cannot read the groups to mirror");
		return;
	}
	cluster_groups_writeback(&rtxn);
	cluster_media_writeback(&rtxn);
	store_txn_abort(&rtxn);
}

/* The reply to GET epoch, after SET NX: compared with this node's. */
static void
epoch_cb(redisAsyncContext *ac, void *r, void *arg)
{
	redisReply	*reply = r;
	const char	*argv[6];
	uint64_t	 epoch;
	char		*end;

	(void)arg;
	if (!answered(ac, reply))
		return;
	if (reply->type != REDIS_REPLY_STRING ||
	    (epoch = strtoull(reply->str, &end, 16)) == 0 || *end != '\0') {
		log_warnx("cluster: bad %s in Redis", cl.k_epoch);
		cl.setup_running = 0;
		return;
	}
	if (epoch != cl.epoch)
		epoch_changed(epoch);
	else if (!cl.mirrored)
		mirrors_again();
	cl.mirrored = 1;
	argv[0] = "XGROUP";
	argv[1] = "CREATE";
	argv[2] = cl.k_stream;
	argv[3] = "tickd";
	argv[4] = "0";
	argv[5] = "MKSTREAM";
	if (rconn_cmd(&cl.cmd, group_cb, NULL, 0, 6, argv, NULL) != 0)
		cl.setup_running = 0;
}

/*
 * Out of any hiredis callback: the single URL named a Redis Cluster, whose
 * masters are found from it now.
 */
static void
to_slots_cb(evutil_socket_t fd, short events, void *arg)
{
	char	*why = NULL;

	(void)fd;
	(void)events;
	(void)arg;
	if (cl.stopping)
		return;
	if (cluster_slots_init(NULL, &why) != 0) {
		log_warnx("cluster: %s", why);
		free(why);
		return;
	}
	cl.cmd.virt = cl.rd.virt = 1;
	rconn_drop(&cl.cmd, "Redis is a Redis Cluster");
	rconn_drop(&cl.rd, "Redis is a Redis Cluster");
	cluster_slots_refresh();
}

/*
 * The reply to INFO cluster (tickd-cluster(7), Redis Cluster):
 * cluster_enabled:1 means that the one URL is a seed of a Redis Cluster;
 * anything else, an error included, a standalone Redis.
 */
static void
probe_cb(redisAsyncContext *ac, void *r, void *arg)
{
	redisReply	*reply = r;
	struct timeval	 tv = { 0, 0 };

	(void)arg;
	if (!answered(ac, reply)) {
		cl.setup_running = 0;
		return;
	}
	if (reply->type == REDIS_REPLY_STRING &&
	    strstr(reply->str, "cluster_enabled:1") != NULL) {
		if (cl.addr.tls) {
			/* The relay serves one host:port (cluster_check). */
			log_warnx("cluster: %s:%d is a node of a Redis "
			    "Cluster, which tickd does not support over TLS: "
			    "Redis stays unreachable", cl.addr.host,
			    cl.addr.port);
			return;
		}
		log_info("cluster: %s:%d is a node of a Redis Cluster",
		    cl.addr.host, cl.addr.port);
		if (event_base_once(srv.base, -1, EV_TIMEOUT, to_slots_cb,
		    NULL, &tv) != 0)
			log_warnx("cluster: cannot switch to Redis Cluster");
		return;
	}
	cl.probed = 1;
	cl.setup_running = 0;
	setup_start();
}

/*
 * Sets this node up in Redis: the epoch (a random value set with SET NX),
 * then its stream and consumer group (tickd-cluster(7), What each failure
 * does).  First, once, INFO cluster tells whether one URL is a Redis Cluster.
 */
static void
setup_start(void)
{
	const char	*argv[4];
	uint64_t	 rnd;
	char		 val[17];

	if (cl.setup_running)
		return;
	if (!cl.probed && !cluster_slots_on()) {
		argv[0] = "INFO";
		argv[1] = "cluster";
		if (rconn_cmd(&cl.cmd, probe_cb, NULL, 0, 2, argv, NULL) == 0)
			cl.setup_running = 1;
		return;
	}
	do {
		if (RAND_bytes((unsigned char *)&rnd, sizeof rnd) != 1)
			rnd = now_ms();
	} while (rnd == 0);
	snprintf(val, sizeof val, "%016llx", (unsigned long long)rnd);
	argv[0] = "SET";
	argv[1] = cl.k_epoch;
	argv[2] = val;
	argv[3] = "NX";
	if (rconn_cmd(&cl.cmd, cluster_logged_cb, "SET epoch", 0, 4, argv,
	    NULL) != 0)
		return;
	argv[0] = "GET";
	if (rconn_cmd(&cl.cmd, epoch_cb, NULL, 0, 2, argv, NULL) != 0)
		return;
	cl.setup_running = 1;
}

/* The reply to the heartbeat's GET epoch: a change means a new setup. */
static void
hb_epoch_cb(redisAsyncContext *ac, void *r, void *arg)
{
	redisReply	*reply = r;
	uint64_t	 epoch = 0;

	(void)arg;
	if (!answered(ac, reply))
		return;
	if (reply->type == REDIS_REPLY_STRING)
		epoch = strtoull(reply->str, NULL, 16);
	if (epoch != cl.epoch && cl.ready) {
		log_warnx("cluster: the Redis epoch changed: Redis restarted "
		    "empty or was flushed");
		cl.ready = 0;
		cluster_stream_down(1);
		setup_start();
	}
}

/*
 * The heartbeat (tickd-cluster(7), Presence across nodes): the alive key
 * with a life of three periods, this node's time and URL in the nodes and
 * urls hashes, and a look at the epoch and at the other nodes.
 */
static void
hb_send(void)
{
	const char	*argv[5];
	char		 ms[24], px[24];

	if (cl.ready) {
		snprintf(ms, sizeof ms, "%llu", (unsigned long long)now_ms());
		snprintf(px, sizeof px, "%llu",
		    (unsigned long long)(3 * srv.conf.cluster_heartbeat));
		argv[0] = "SET";
		argv[1] = cl.k_alive;
		argv[2] = ms;
		argv[3] = "PX";
		argv[4] = px;
		rconn_cmd(&cl.cmd, cluster_logged_cb, "SET alive", 0, 5, argv,
		    NULL);
		argv[0] = "HSET";
		argv[1] = cl.k_nodes;
		argv[2] = srv.conf.node_name;
		argv[3] = ms;
		rconn_cmd(&cl.cmd, cluster_logged_cb, "HSET nodes", 0, 4, argv,
		    NULL);
		argv[1] = cl.k_urls;
		argv[3] = srv.conf.cluster_url;
		rconn_cmd(&cl.cmd, cluster_logged_cb, "HSET urls", 0, 4, argv,
		    NULL);
		argv[0] = "GET";
		argv[1] = cl.k_epoch;
		rconn_cmd(&cl.cmd, hb_epoch_cb, NULL, 0, 2, argv, NULL);
		cluster_nodes_refresh();
		cluster_presence_tick();
		cluster_media_tick();
		cluster_groups_tick();
		cluster_typing_tick();
		cluster_ssub_tick();
		cluster_names_tick();
		cluster_sentinel_tick();
	}
}

/* The heartbeat timer: see hb_send. */
static void
hb_cb(evutil_socket_t fd, short events, void *arg)
{
	struct timeval	tv;

	(void)fd;
	(void)events;
	(void)arg;
	/* On a Redis Cluster not answering yet: where are its masters? */
	if (!cl.ready)
		cluster_slots_refresh();
	hb_send();
	tv.tv_sec = (time_t)(srv.conf.cluster_heartbeat / 1000);
	tv.tv_usec = (suseconds_t)(srv.conf.cluster_heartbeat % 1000) * 1000;
	evtimer_add(cl.ev_hb, &tv);
}

/* A lookup or claim under way, and whom to tell. */
struct ask {
	void	(*fn)(void *, int, const char *);
	void	*arg;
	char	 user[NAME_USER_MAX + 1];
};

/* The reply to GET u:{NAME}: cached, then told. */
static void
lookup_cb(redisAsyncContext *ac, void *r, void *arg)
{
	redisReply	*reply = r;
	struct ask	*a = arg;
	struct txn	*txn;
	int		 st = CLUSTER_DOWN;
	const char	*node = NULL;

	if (answered(ac, reply)) {
		if (reply->type == REDIS_REPLY_NIL)
			st = CLUSTER_NONE;
		else if (reply->type == REDIS_REPLY_STRING &&
		    cluster_node_name_ok(reply->str, reply->len)) {
			st = CLUSTER_FOUND;
			node = reply->str;
			if ((txn = batch_txn()) != NULL)
				store_cdir_put(txn, a->user, node);
		}
	}
	a->fn(a->arg, st, node);
	free(a);
}

/*
 * Looks up user's home in Redis (tickd-cluster(7), Home nodes), caching it;
 * fn is called with CLUSTER_FOUND and the node, CLUSTER_NONE, or
 * CLUSTER_DOWN, at once if Redis is unreachable.
 */
void
cluster_lookup(const char *user, void (*fn)(void *, int, const char *),
    void *arg)
{
	struct ask	*a;
	const char	*argv[2];
	char		*key;

	a = xcalloc(1, sizeof *a);
	a->fn = fn;
	a->arg = arg;
	strlcpy(a->user, user, sizeof a->user);
	key = cluster_k("u", user);
	argv[0] = "GET";
	argv[1] = key;
	if (!cl.ready ||
	    rconn_cmd(&cl.cmd, lookup_cb, a, 0, 2, argv, NULL) != 0) {
		free(a);
		fn(arg, CLUSTER_DOWN, NULL);
	}
	free(key);
}

/* The reply to SET u:{NAME} N NX GET: free, ours already, or taken. */
static void
claim_cb(redisAsyncContext *ac, void *r, void *arg)
{
	redisReply	*reply = r;
	struct ask	*a = arg;
	int		 st = CLUSTER_DOWN;

	if (answered(ac, reply)) {
		if (reply->type == REDIS_REPLY_NIL)
			st = CLUSTER_FOUND;
		else if (reply->type == REDIS_REPLY_STRING)
			st = strcmp(reply->str, srv.conf.node_name) == 0 ?
			    CLUSTER_FOUND : CLUSTER_NONE;
		else if (reply->type == REDIS_REPLY_ERROR)
			log_warnx("cluster: SET %s: %s", a->user, reply->str);
	}
	a->fn(a->arg, st, NULL);
	free(a);
}

/*
 * Claims user's name for this node with SET NX (tickd-cluster(7), Home
 * nodes): fn gets CLUSTER_FOUND when it is this node's, CLUSTER_NONE when
 * another node has it, CLUSTER_DOWN when Redis does not answer.
 */
void
cluster_claim(const char *user, void (*fn)(void *, int, const char *),
    void *arg)
{
	struct ask	*a;
	const char	*argv[5];
	char		*key;

	a = xcalloc(1, sizeof *a);
	a->fn = fn;
	a->arg = arg;
	strlcpy(a->user, user, sizeof a->user);
	key = cluster_k("u", user);
	argv[0] = "SET";
	argv[1] = key;
	argv[2] = srv.conf.node_name;
	argv[3] = "NX";
	argv[4] = "GET";
	if (!cl.ready ||
	    rconn_cmd(&cl.cmd, claim_cb, a, 0, 5, argv, NULL) != 0) {
		free(a);
		fn(arg, CLUSTER_DOWN, NULL);
	}
	free(key);
}

/*
 * Where user lives, from the store alone: CLUSTER_LOCAL for an account of
 * this node, CLUSTER_FOUND with the cached home in node, else CLUSTER_NONE.
 * An account held here for a name conflict is another node's name
 * (cluster_user_get): its cached home, or CLUSTER_NONE for the caller to
 * look it up.
 */
int
cluster_where(struct txn *txn, const char *user, char *node)
{
	struct user_rec	u;
	int		rc;

	if ((rc = cluster_user_get(txn, &srv.conf, user, &u)) == STORE_OK)
		return (CLUSTER_LOCAL);
	if (rc != STORE_NOTFOUND)
		return (CLUSTER_DOWN);
	rc = store_cdir_get(txn, user, node);
	if (rc == STORE_OK && strcmp(node, srv.conf.node_name) != 0)
		return (CLUSTER_FOUND);
	return (rc == STORE_OK || rc == STORE_NOTFOUND ? CLUSTER_NONE :
	    CLUSTER_DOWN);
}

/*
 * The home node a token names, when it is another node's: 1 with its URL
 * (or NULL while unknown) in *url, else 0 (tickd-cluster(7), Home nodes).
 */
int
cluster_token_elsewhere(const char *token, char *node, size_t size,
    const char **url)
{
	size_t	len;

	*url = NULL;
	if (!cl.on || !cluster_home_of(token, strnlen(token,
	    CLUSTER_NODE_MAX + 1), &len) || len >= size)
		return (0);
	memcpy(node, token, len);
	node[len] = '\0';
	if (strcmp(node, srv.conf.node_name) == 0)
		return (0);
	*url = cluster_node_url(node);
	return (1);
}

/*
 * Connects to Redis, if cluster_redis is set; the loop runs meanwhile,
 * and local traffic never waits for Redis.
 */
int
cluster_init(char **cause)
{
	struct txn	txn;
	char		*why = NULL;
	const char	*v;
	size_t		 len;

	memset(&cl, 0, sizeof cl);
	if ((v = srv.conf.cluster_redis) == NULL)
		return (0);
	v += strspn(v, " \t");
	len = strcspn(v, " \t");
	if (strncmp(v, "sentinel://", 11) == 0 ?
	    cluster_sentinel_init(v, len, &why) != 0 :
	    cluster_redis_parse(v, len, &cl.addr, &why) != 0) {
		*cause = why;
		return (-1);
	}
	if (cluster_tls_init(&why) != 0) {
		*cause = why;
		return (-1);
	}
	/* Several seeds: a Redis Cluster (tickd-cluster(7), Redis Cluster). */
	if (v[len + strspn(v + len, " \t")] != '\0') {
		if (cluster_slots_init(v, &why) != 0) {
			*cause = why;
			return (-1);
		}
		cl.cmd.virt = cl.rd.virt = 1;
	}
	if (store_txn_begin(srv.store, &txn, 0) != STORE_OK ||
	    store_cepoch_get(&txn, &cl.epoch) != STORE_OK) {
		*cause = xstrdup("cluster: cannot read the store");
		return (-1);
	}
	store_txn_abort(&txn);
	cl.on = 1;
	cl.k_stream = cluster_k("in", srv.conf.node_name);
	cl.k_alive = cluster_k("alive", srv.conf.node_name);
	cl.k_nodes = cluster_k("nodes", NULL);
	cl.k_urls = cluster_k("urls", NULL);
	cl.k_epoch = cluster_k("epoch", NULL);
	cl.ev_hb = evtimer_new(srv.base, hb_cb, NULL);
	if (rconn_init(&cl.cmd, "command") != 0 ||
	    rconn_init(&cl.rd, "reader") != 0 ||
	    cl.ev_hb == NULL || cluster_stream_init() != 0) {
		*cause = xstrdup("cluster: cannot create timers");
		return (-1);
	}
	hb_cb(0, 0, NULL);
	rconn_connect(&cl.cmd);
	rconn_connect(&cl.rd);
	if (cluster_slots_on())
		log_info("cluster: node %s, a Redis Cluster",
		    srv.conf.node_name);
	else if (cl.addr.host != NULL)
		log_info("cluster: node %s, Redis %s:%d", srv.conf.node_name,
		    cl.addr.host, cl.addr.port);
	else
		log_info("cluster: node %s, Redis through Sentinels",
		    srv.conf.node_name);
	return (0);
}

/* Sets up rc, called name in the log: its timers.  -1 if libevent cannot. */
int
rconn_init(struct rconn *rc, const char *name)
{
	struct timeval	 tv = { 0, WATCHDOG_MS * 1000 };

	rc->name = name;
	rc->retry = evtimer_new(srv.base, reconnect_cb, rc);
	rc->watchdog = evtimer_new(srv.base, watchdog_cb, rc);
	if (rc->retry == NULL || rc->watchdog == NULL)
		return (-1);
	evtimer_add(rc->watchdog, &tv);
	return (0);
}

/* Frees one connection's state. */
void
rconn_free(struct rconn *rc)
{
	if (rc->ac != NULL)
		redisAsyncFree(rc->ac);
	rc->ac = NULL;
	if (rc->retry != NULL)
		event_free(rc->retry);
	if (rc->watchdog != NULL)
		event_free(rc->watchdog);
	free(rc->out);
}

/* Closes the connections to Redis at shutdown. */
void
cluster_shutdown(void)
{
	if (!cl.on)
		return;
	cl.stopping = 1;
	cluster_rpc_free();
	cluster_presence_free();
	cluster_media_free();
	cluster_groups_free();
	cluster_ssub_free();
	cluster_sentinel_free();
	rconn_free(&cl.rd);
	rconn_free(&cl.cmd);
	cluster_slots_free();
	cluster_tls_free();
	if (cl.ev_hb != NULL)
		event_free(cl.ev_hb);
	cluster_stream_free();
	free(cl.k_stream);
	free(cl.k_alive);
	free(cl.k_nodes);
	free(cl.k_urls);
	free(cl.k_epoch);
	cluster_redis_addr_clear(&cl.addr);
	cl.on = 0;
}
