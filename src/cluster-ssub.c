/* SPDX-License-Identifier: ISC */
/*
 * cluster-ssub.c: the sharded pub/sub subscriptions of this node
 * (tickd-cluster(7), Channels): SSUBSCRIBE on connections of their own.
 * hiredis 0.14's asynchronous API knows no smessage, so each connection
 * is a hiredis context in non-blocking mode on a libevent event of its
 * socket; what it reads is parsed by the context's reader, within a
 * bounded buffer.  A channel is subscribed at the master that owns its
 * slot (of a Redis Cluster), else at the one Redis (through the TLS relay
 * under rediss://): one connection per master with channels.  A channel
 * whose connection went, whose slot moved (the map changed, Redis said
 * sunsubscribe, or answered MOVED) is subscribed again at the next
 * heartbeat, at its owner then; its callback is told once it is, since
 * messages may have been missed meanwhile.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "tickd.h"
#include "cluster.h"

#define SSUB_INMAX	(1024 * 1024)	/* bytes of one reply, at most */
#define SSUB_HOST_MAX	256

/* One subscriber connection, to host:port or the relay's socket. */
struct sconn {
	LIST_ENTRY(sconn)	 entry;
	char			*host;	/* NULL: the relay's socket */
	int			 port;
	redisContext		*c;
	struct event		*rev, *wev, *timer;
	int			 connected;
	int			 waiting;	/* answers not yet come */
	int			 warned;	/* an error logged already */
};

/* A channel subscribed to, and whom its messages go to. */
struct schan {
	LIST_ENTRY(schan)	 entry;
	char			*name;
	unsigned		 slot;
	cluster_ssub_fn		*fn;
	void			*arg;
	struct sconn		*on;	/* SSUBSCRIBE sent there; NULL: not */
	int			 confirmed;
};

static LIST_HEAD(, sconn)	 sconns = LIST_HEAD_INITIALIZER(sconns);
static LIST_HEAD(, schan)	 schans = LIST_HEAD_INITIALIZER(schans);

static void	sconn_close(struct sconn *, const char *);

/* The name of where s goes, for the log. */
static const char *
sconn_where(const struct sconn *s)
{
	static char	buf[SSUB_HOST_MAX + 16];

	if (s->host == NULL)
		snprintf(buf, sizeof buf, "%s:%d", cl.addr.host != NULL ?
		    cl.addr.host : "?", cl.addr.port);
	else
		snprintf(buf, sizeof buf, "%s:%d", s->host, s->port);
	return (buf);
}

/* The channel called name, or NULL. */
static struct schan *
schan_find(const char *name, size_t len)
{
	struct schan	*ch;

	LIST_FOREACH(ch, &schans, entry) {
		if (strlen(ch->name) == len && memcmp(ch->name, name, len) == 0)
			return (ch);
	}
	return (NULL);
}

/*
 * Where ch is to be subscribed: its slot's master (Redis Cluster), else
 * the one Redis; *host NULL for the relay's socket.  -1 if not known now.
 */
static int
schan_owner(const struct schan *ch, const char **host, int *port)
{
	if (cluster_slots_on())
		return (cluster_slots_owner(ch->slot, host, port));
	if (cl.addr.host == NULL)
		return (-1);
	*host = cluster_tls_path() != NULL ? NULL : cl.addr.host;
	*port = cl.addr.port;
	return (0);
}

/* Whether s goes to host:port (host NULL: the relay's socket). */
static int
sconn_is(const struct sconn *s, const char *host, int port)
{
	if (s->host == NULL || host == NULL)
		return (s->host == host);
	return (s->port == port && strcmp(s->host, host) == 0);
}

/* Waits cluster_redis_timeout for an answer on s, from now. */
static void
sconn_wait(struct sconn *s)
{
	struct timeval	tv;

	tv.tv_sec = (time_t)(srv.conf.cluster_redis_timeout / 1000);
	tv.tv_usec = (suseconds_t)(srv.conf.cluster_redis_timeout % 1000) *
	    1000;
	if (evtimer_add(s->timer, &tv) != 0)
		log_warnx("cluster: cannot time the Redis %s subscriptions",
		    sconn_where(s));
}

/* Sends a command on s, once connected; -1 if hiredis cannot take it. */
static int
sconn_cmd(struct sconn *s, int argc, const char **argv)
{
	if (redisAppendCommandArgv(s->c, argc, argv, NULL) != REDIS_OK)
		return (-1);
	if (s->waiting++ == 0)
		sconn_wait(s);
	if (event_add(s->wev, NULL) != 0)
		return (-1);
	return (0);
}

/* Sends SSUBSCRIBE or SUNSUBSCRIBE of ch on s. */
static int
schan_cmd(struct sconn *s, const char *cmd, const struct schan *ch)
{
	const char	*argv[2];

	argv[0] = cmd;
	argv[1] = ch->name;
	return (sconn_cmd(s, 2, argv));
}

/*
 * s said that ch is no longer subscribed there (sunsubscribe, MOVED, an
 * error): the map is asked for again, and ch subscribed at its owner at
 * the next heartbeat.
 */
static void
schan_lost(struct schan *ch)
{
	ch->on = NULL;
	ch->confirmed = 0;
	cluster_slots_refresh();
}

/* A push or a reply read on s. */
static void
sconn_reply(struct sconn *s, const redisReply *r)
{
	struct schan	*ch;
	const char	*kind;
	char		 host[SSUB_HOST_MAX];
	unsigned	 slot;
	int		 ask, port;

	if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
	    r->element[0]->type == REDIS_REPLY_STRING &&
	    r->element[1]->type == REDIS_REPLY_STRING) {
		kind = r->element[0]->str;
		ch = schan_find(r->element[1]->str, r->element[1]->len);
		if (strcmp(kind, "smessage") == 0) {
			if (ch != NULL && r->element[2]->type ==
			    REDIS_REPLY_STRING)
				ch->fn(ch->arg, r->element[2]->str,
				    r->element[2]->len);
			return;
		}
		if (s->waiting > 0)
			s->waiting--;
		if (ch == NULL || ch->on != s)
			return;
		if (strcmp(kind, "ssubscribe") == 0 && !ch->confirmed) {
			ch->confirmed = 1;
			ch->fn(ch->arg, NULL, 0);
		} else if (strcmp(kind, "sunsubscribe") == 0 && ch->confirmed) {
			/* Its slot moved away (tickd-cluster(7), Channels). */
			log_info("cluster: Redis %s unsubscribed %s",
			    sconn_where(s), ch->name);
			schan_lost(ch);
		}
		return;
	}
	if (s->waiting > 0)
		s->waiting--;
	if (r->type != REDIS_REPLY_ERROR)
		return;
	if (cluster_redirect_parse(r->str, &ask, &slot, host, sizeof host,
	    &port) == 0) {
		log_debug("cluster: SSUBSCRIBE at %s: %s", sconn_where(s),
		    r->str);
		LIST_FOREACH(ch, &schans, entry) {
			if (ch->on == s && !ch->confirmed && ch->slot == slot)
				schan_lost(ch);
		}
		return;
	}
	/* AUTH refused, or a Redis before 7 without SSUBSCRIBE. */
	if (!s->warned)
		log_warnx("cluster: Redis %s subscriptions: %s",
		    sconn_where(s), r->str);
	s->warned = 1;
	LIST_FOREACH(ch, &schans, entry) {
		if (ch->on == s && !ch->confirmed)
			ch->on = NULL;
	}
}

/*
 * s's socket is readable: what came is parsed and handed on; a reply
 * longer than SSUB_INMAX, an error or the end drops s.  A callback may
 * close s: it is looked for again after each.
 */
static void
sconn_read_cb(evutil_socket_t fd, short events, void *arg)
{
	struct sconn	*s = arg, *o;
	void		*r;

	(void)fd;
	(void)events;
	if (redisBufferRead(s->c) != REDIS_OK) {
		sconn_close(s, s->c->errstr);
		return;
	}
	for (;;) {
		if (redisGetReply(s->c, &r) != REDIS_OK) {
			sconn_close(s, s->c->errstr);
			return;
		}
		if (r == NULL)
			break;
		sconn_reply(s, r);
		freeReplyObject(r);
		LIST_FOREACH(o, &sconns, entry) {
			if (o == s)
				break;
		}
		if (o == NULL)
			return;
	}
	if (s->c->reader->len - s->c->reader->pos > SSUB_INMAX) {
		sconn_close(s, "a reply too long");
		return;
	}
	if (s->waiting > 0)
		sconn_wait(s);
	else
		evtimer_del(s->timer);
}

/*
 * s's socket is writable: the connect is complete (or failed), and what
 * waits goes.
 */
static void
sconn_write_cb(evutil_socket_t fd, short events, void *arg)
{
	struct sconn	*s = arg;
	socklen_t	 len = sizeof(int);
	int		 err = 0, done;

	(void)events;
	if (!s->connected) {
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
			err = errno;
		if (err != 0) {
			log_warnx("cluster: cannot connect to Redis %s: %s",
			    sconn_where(s), strerror(err));
			sconn_close(s, NULL);
			return;
		}
		s->connected = 1;
		if (event_add(s->rev, NULL) != 0) {
			sconn_close(s, "cannot watch the connection");
			return;
		}
	}
	if (redisBufferWrite(s->c, &done) != REDIS_OK) {
		sconn_close(s, s->c->errstr);
		return;
	}
	if (!done && event_add(s->wev, NULL) != 0)
		sconn_close(s, "cannot watch the connection");
}

/* No connect or answer within cluster_redis_timeout. */
static void
sconn_timeout_cb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	sconn_close(arg, "no answer within cluster_redis_timeout");
}

/*
 * Closes s; its channels are subscribed again at the next heartbeat (why,
 * if not NULL, is logged).
 */
static void
sconn_close(struct sconn *s, const char *why)
{
	struct schan	*ch;

	if (why != NULL && !cl.stopping)
		log_warnx("cluster: Redis %s subscriptions: %s; "
		    "subscribing again", sconn_where(s), why);
	LIST_FOREACH(ch, &schans, entry) {
		if (ch->on == s) {
			ch->on = NULL;
			ch->confirmed = 0;
		}
	}
	LIST_REMOVE(s, entry);
	if (s->rev != NULL)
		event_free(s->rev);
	if (s->wev != NULL)
		event_free(s->wev);
	if (s->timer != NULL)
		event_free(s->timer);
	redisFree(s->c);
	free(s->host);
	free(s);
}

/*
 * A connection to host:port (host NULL: the relay's socket), under way;
 * AUTH goes first.  NULL if it cannot be made now.
 */
static struct sconn *
sconn_open(const char *host, int port)
{
	struct sconn	*s;
	const char	*argv[3];
	int		 argc = 0;

	s = xcalloc(1, sizeof *s);
	s->host = host != NULL ? xstrdup(host) : NULL;
	s->port = port;
	LIST_INSERT_HEAD(&sconns, s, entry);
	s->c = host != NULL ? redisConnectNonBlock(host, port) :
	    redisConnectUnixNonBlock(cluster_tls_path());
	if (s->c == NULL || s->c->err) {
		log_warnx("cluster: cannot connect to Redis %s: %s",
		    sconn_where(s), s->c != NULL ? s->c->errstr :
		    "out of memory");
		sconn_close(s, NULL);
		return (NULL);
	}
	s->rev = event_new(srv.base, s->c->fd, EV_READ | EV_PERSIST,
	    sconn_read_cb, s);
	s->wev = event_new(srv.base, s->c->fd, EV_WRITE, sconn_write_cb, s);
	s->timer = evtimer_new(srv.base, sconn_timeout_cb, s);
	if (s->rev == NULL || s->wev == NULL || s->timer == NULL ||
	    event_add(s->wev, NULL) != 0) {
		log_warnx("cluster: cannot watch the Redis connection");
		sconn_close(s, NULL);
		return (NULL);
	}
	sconn_wait(s);
	if (cl.addr.pass != NULL) {
		argv[argc++] = "AUTH";
		if (cl.addr.user != NULL)
			argv[argc++] = cl.addr.user;
		argv[argc++] = cl.addr.pass;
		if (sconn_cmd(s, argc, argv) != 0) {
			sconn_close(s, "cannot send AUTH");
			return (NULL);
		}
	}
	return (s);
}

/* The connection to host:port, made if there is none; NULL if none. */
static struct sconn *
sconn_get(const char *host, int port)
{
	struct sconn	*s;

	LIST_FOREACH(s, &sconns, entry) {
		if (sconn_is(s, host, port))
			return (s);
	}
	return (sconn_open(host, port));
}

/*
 * Each channel goes where its slot is now: one subscribed elsewhere is
 * unsubscribed there; one not subscribed is, at its owner; a connection
 * left without channels is closed.
 */
static void
ssub_sync(void)
{
	struct schan	*ch;
	struct sconn	*s, *next;
	const char	*host;
	int		 port;

	LIST_FOREACH(ch, &schans, entry) {
		if (schan_owner(ch, &host, &port) != 0)
			continue;
		if (ch->on != NULL && !sconn_is(ch->on, host, port)) {
			if (schan_cmd(ch->on, "SUNSUBSCRIBE", ch) != 0)
				log_warnx("cluster: cannot SUNSUBSCRIBE %s",
				    ch->name);
			ch->on = NULL;
			ch->confirmed = 0;
		}
		if (ch->on != NULL || (s = sconn_get(host, port)) == NULL)
			continue;
		if (schan_cmd(s, "SSUBSCRIBE", ch) != 0) {
			sconn_close(s, "cannot send SSUBSCRIBE");
			continue;
		}
		ch->on = s;
	}
	for (s = LIST_FIRST(&sconns); s != NULL; s = next) {
		next = LIST_NEXT(s, entry);
		LIST_FOREACH(ch, &schans, entry) {
			if (ch->on == s)
				break;
		}
		if (ch == NULL)
			sconn_close(s, NULL);
	}
}

/*
 * Subscribes to channel (a key of cluster_k's); each message goes to fn
 * with arg, and fn is told with NULL each time the channel is subscribed
 * (again).  Sent at once if Redis answers, else at a heartbeat once it
 * does.
 */
void
cluster_ssub_add(const char *channel, cluster_ssub_fn *fn, void *arg)
{
	struct schan	*ch;

	if ((ch = schan_find(channel, strlen(channel))) == NULL) {
		ch = xcalloc(1, sizeof *ch);
		ch->name = xstrdup(channel);
		ch->slot = cluster_key_slot(channel, strlen(channel));
		LIST_INSERT_HEAD(&schans, ch, entry);
	}
	ch->fn = fn;
	ch->arg = arg;
	if (cl.ready)
		ssub_sync();
}

/* Unsubscribes from channel. */
void
cluster_ssub_del(const char *channel)
{
	struct schan	*ch;

	if ((ch = schan_find(channel, strlen(channel))) == NULL)
		return;
	if (ch->on != NULL && schan_cmd(ch->on, "SUNSUBSCRIBE", ch) != 0)
		log_warnx("cluster: cannot SUNSUBSCRIBE %s", ch->name);
	LIST_REMOVE(ch, entry);
	free(ch->name);
	free(ch);
}

/*
 * At each heartbeat while Redis answers: channels not subscribed, or
 * whose slot moved since, are subscribed at their owner.
 */
void
cluster_ssub_tick(void)
{
	ssub_sync();
}

/*
 * Redis is unreachable, or its master moved: the connections go, and the
 * channels are subscribed again once it answers.
 */
void
cluster_ssub_down(void)
{
	while (!LIST_EMPTY(&sconns))
		sconn_close(LIST_FIRST(&sconns), NULL);
}

/* At shutdown: the connections and the channels. */
void
cluster_ssub_free(void)
{
	struct schan	*ch;

	cluster_ssub_down();
	while ((ch = LIST_FIRST(&schans)) != NULL) {
		LIST_REMOVE(ch, entry);
		free(ch->name);
		free(ch);
	}
}
