/* SPDX-License-Identifier: ISC */
/*
 * conn.c: the life of a connection, from conn_link() to its release: the
 * references that keep it, the close that lets its last output leave and
 * lingers for the peer's, the reap at the end of a turn, and the device
 * table of authenticated WebSocket connections.  A device comes online in
 * conn_online() and goes offline in conn_offline(), and nowhere else.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "tickd.h"

#define CLOSE_TIMEOUT	2	/* seconds a closing connection may linger */

static TAILQ_HEAD(, conn)	 conns = TAILQ_HEAD_INITIALIZER(conns);
static TAILQ_HEAD(, conn)	 reap = TAILQ_HEAD_INITIALIZER(reap);

/* The device table: user\0device -> its authenticated connection. */
static struct conn		**devtab;
static size_t			 devtab_size, devtab_count;

/* The keyed hash of a user and a device, mixed. */
static uint64_t
devtab_hash(const char *user, const char *device)
{
	return (hash_keyed(user, strlen(user)) * 0x9e3779b97f4a7c15ULL ^
	    hash_keyed(device, strlen(device)));
}

/* Doubles the device table, 64 buckets at first, and rehashes it. */
static void
devtab_grow(void)
{
	struct conn	**old = devtab, *c, *next;
	size_t		  oldsize = devtab_size, i, b;

	devtab_size = oldsize == 0 ? 64 : oldsize * 2;
	devtab = xcalloc(devtab_size, sizeof *devtab);
	for (i = 0; i < oldsize; i++) {
		for (c = old[i]; c != NULL; c = next) {
			next = c->dev_next;
			b = devtab_hash(c->user, c->device) & (devtab_size - 1);
			c->dev_next = devtab[b];
			devtab[b] = c;
		}
	}
	free(old);
}

/* The authenticated connection of a device, or NULL if it is offline. */
struct conn *
device_conn(const char *user, const char *device)
{
	struct conn	*c;

	if (devtab_size == 0)
		return (NULL);
	c = devtab[devtab_hash(user, device) & (devtab_size - 1)];
	for (; c != NULL; c = c->dev_next) {
		if (strcmp(c->user, user) == 0 &&
		    strcmp(c->device, device) == 0)
			return (c);
	}
	return (NULL);
}

/* Enters c in the device table, ahead of any older connection of it. */
static void
device_attach(struct conn *c)
{
	size_t	b;

	if (devtab_count + 1 > devtab_size)
		devtab_grow();
	b = devtab_hash(c->user, c->device) & (devtab_size - 1);
	c->dev_next = devtab[b];
	devtab[b] = c;
	devtab_count++;
}

/* Takes c out of the device table, if it is there. */
static void
device_detach(struct conn *c)
{
	struct conn	**pp;

	if (devtab_size == 0)
		return;
	pp = &devtab[devtab_hash(c->user, c->device) & (devtab_size - 1)];
	for (; *pp != NULL; pp = &(*pp)->dev_next) {
		if (*pp == c) {
			*pp = c->dev_next;
			c->dev_next = NULL;
			devtab_count--;
			return;
		}
	}
}

/* queue_sweep's online callback: whether a device has a connection. */
int
device_online(void *arg, const char *user, const char *device)
{
	(void)arg;
	return (device_conn(user, device) != NULL);
}

/* Numbers a new connection and enters it in the list of every one. */
void
conn_link(struct conn *c)
{
	static uint64_t	 next_id;

	c->id = ++next_id;
	TAILQ_INSERT_TAIL(&conns, c, entry);
	srv.stats.conns++;
}

/* Keeps c's memory past its reap, for a job that still points to it. */
void
conn_ref(struct conn *c)
{
	c->refs++;
}

/* One block: the address, its NUL, the ip, its NUL. */
static char *
addr_block(const char *addr, const char *ip, char **ipp)
{
	size_t	alen = strlen(addr) + 1, ilen = strlen(ip) + 1;
	char	*p;

	p = xmalloc(alen + ilen);
	memcpy(p, addr, alen);
	memcpy(p + alen, ip, ilen);
	*ipp = p + alen;
	return (p);
}

/*
 * Sets c's address ("address:port", as logged) and ip (as counted by
 * max_connections_per_ip) as accepted, in one block of their length: an
 * idle connection keeps no fixed arrays for them.
 */
void
conn_set_peer(struct conn *c, const char *addr, const char *ip)
{
	conn_addr_free(c);
	c->peer_addr = addr_block(addr, ip, &c->peer_ip);
	c->addr = c->peer_addr;
	c->ip = c->peer_ip;
}

/*
 * Sets c's address to the client ip a trusted proxy names (tickd.conf(5)
 * Reverse proxy), or back to the peer's: "[v6]" or "v4" without a port.
 */
void
conn_set_client(struct conn *c, const char *ip)
{
	char	addr[INET6_ADDRSTRLEN + 2];

	if (c->addr != c->peer_addr)
		free(c->addr);
	if (strcmp(ip, c->peer_ip) == 0) {
		c->addr = c->peer_addr;
		c->ip = c->peer_ip;
		return;
	}
	if (strchr(ip, ':') != NULL)
		snprintf(addr, sizeof addr, "[%s]", ip);
	else
		strlcpy(addr, ip, sizeof addr);
	c->addr = addr_block(addr, ip, &c->ip);
}

/* Frees c's addresses. */
void
conn_addr_free(struct conn *c)
{
	if (c->addr != c->peer_addr)
		free(c->addr);
	free(c->peer_addr);
	c->addr = c->ip = c->peer_addr = c->peer_ip = NULL;
}

/* Frees the memory of a connection reaped and no longer referenced. */
static void
conn_release(struct conn *c)
{
	conn_addr_free(c);
	free(c->close_reason);
	free(c);
}

/* Drops a reference; the last one frees a connection already reaped. */
void
conn_unref(struct conn *c)
{
	if (--c->refs == 0 && c->dead == 2)
		conn_release(c);
}

/*
 * Sends one frame to c in what it speaks: a text frame on a WebSocket,
 * the bytes as they are otherwise.  While this turn has writes, it waits
 * for their commit like every reply.
 */
void
conn_send(struct conn *c, const char *data, size_t len)
{
	char	*copy;

	if (!c->is_ws) {
		conn_write_raw(c, data, len);
		return;
	}
	if (conn_must_defer()) {
		copy = xmalloc(len);
		memcpy(copy, data, len);
		batch_defer(c, copy, len, NULL, 0);
		return;
	}
	ws_send(c, data, len);
}

/* Closes c at the end of this turn; safe from inside its callbacks. */
void
conn_free_later(struct conn *c)
{
	if (c->dead)
		return;
	c->dead = 1;
	if (c->parked)
		evtimer_del(c->timer);
	else if (c->bev != NULL)
		bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	TAILQ_INSERT_TAIL(&reap, c, reap_entry);
}

/* A lingering connection's input is read and thrown away. */
static void
linger_read_cb(struct bufferevent *bev, void *arg)
{
	(void)arg;
	evbuffer_drain(bufferevent_get_input(bev),
	    evbuffer_get_length(bufferevent_get_input(bev)));
}

/* The peer of a lingering connection closed, or the socket failed. */
static void
linger_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	/* A TLS handshake that completed is not an end. */
	if (what & BEV_EVENT_CONNECTED)
		return;
	conn_free_later(arg);
}

/* CLOSE_TIMEOUT ended the linger of a closing connection. */
static void
linger_timeout_cb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd; (void)events;
	conn_free_later(arg);
}

/*
 * Once the last output of a closing connection has left, shut down our side
 * and read until the peer closes (or CLOSE_TIMEOUT ends it).  Closing with
 * unread input would send a reset, which can destroy the close frame or
 * error response the peer has not read yet.
 */
void
conn_check_closing(struct conn *c)
{
	if (!c->closing || c->dead || c->lingering || c->ndeferred != 0 ||
	    evbuffer_get_length(bufferevent_get_output(conn_bev(c))) != 0)
		return;
	/* TLS has its own close_notify; the record layer cannot half-close. */
	if (c->tls) {
		conn_free_later(c);
		return;
	}
	c->lingering = 1;
	shutdown(bufferevent_getfd(conn_bev(c)), SHUT_WR);
	bufferevent_setcb(conn_bev(c), linger_read_cb, NULL, linger_event_cb,
	    c);
	bufferevent_enable(conn_bev(c), EV_READ);
}

/*
 * Closes c once its pending output has been written, or after
 * CLOSE_TIMEOUT whatever is left: a peer that stopped reading must not
 * keep its socket and buffers for ever.
 */
void
conn_close_after_output(struct conn *c)
{
	struct timeval	tv = { CLOSE_TIMEOUT, 0 };

	/* A parked WebSocket lingers with a bufferevent like any other. */
	if (c->parked)
		(void)conn_bev(c);
	conn_offline(c);
	if (c->timer != NULL) {
		evtimer_del(c->timer);
		evtimer_assign(c->timer, srv.base, linger_timeout_cb, c);
		evtimer_add(c->timer, &tv);
	}
	c->closing = 1;
	if (c->bev != NULL)
		bufferevent_disable(c->bev, EV_READ);
	conn_check_closing(c);
}

/*
 * c, authenticated by tok, becomes the connection of its device.  The
 * steps run in one order, which conn_offline follows too: the device
 * table, presence (watchers are told), the device's last_active, then the
 * audit event.  An older connection of the device is closed with 4000 and
 * goes offline after c is in, so that the user never flaps offline.
 */
void
conn_online(struct conn *c, const struct token_rec *tok, uint64_t now)
{
	struct conn	*old;
	struct txn	*txn;
	struct dev_rec	 rec;

	old = device_conn(tok->user, tok->device);
	strlcpy(c->user, tok->user, sizeof c->user);
	strlcpy(c->device, tok->device, sizeof c->device);
	c->qid = tok->qid;
	c->authed = 1;
	device_attach(c);
	presence_attach(c);
	srv.stats.ws_authed++;
	if (old != NULL) {
		/* Closed first: its disconnect event gives this reason. */
		ws_close(old, 4000, "replaced by a newer connection");
		conn_offline(old);
	}
	if ((txn = batch_txn()) != NULL &&
	    store_device_get(txn, c->user, c->device, &rec) == STORE_OK) {
		rec.last_active = now;
		store_device_put(txn, c->user, c->device, &rec);
		if (push_online(txn, c->user, c->device) != STORE_OK)
			log_warnx("conn: cannot drop the notification of "
			    "%s:%s", c->user, c->device);
	}
	audit_connected(c);
}

/*
 * c's device goes offline, in conn_online's order: out of the device
 * table, out of presence (the user's last_seen is written if it was its
 * last connection), the device's last_active recorded (device_ttl counts
 * from the last disconnect too), then the disconnect event, whose
 * duration is how long c was authenticated (tickd-audit(7)).  This
 * happens as soon as tickd decides to close c, not when the socket is
 * finally gone, so presence never shows a closing connection as online.
 */
void
conn_offline(struct conn *c)
{
	struct txn	*txn;
	struct dev_rec	 rec;

	if (!c->authed)
		return;
	c->authed = 0;
	device_detach(c);
	presence_detach(c);
	srv.stats.ws_authed--;
	if ((txn = batch_txn()) != NULL &&
	    store_device_get(txn, c->user, c->device, &rec) == STORE_OK &&
	    rec.qid == c->qid) {
		rec.last_active = now_ms();
		store_device_put(txn, c->user, c->device, &rec);
	}
	audit_disconnected(c);
}

/* Frees what c holds, at the end of the turn it was closed in. */
static void
conn_reap(struct conn *c)
{
	conn_offline(c);
	presence_unsubscribe_all(c);
	ws_free(c);
	resp_free(c);
	media_http_free(c);
	ws_parked_free(c);
	if (c->timer != NULL)
		event_free(c->timer);
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	TAILQ_REMOVE(&conns, c, entry);
	srv.stats.conns--;
	if (c->counted)
		limit_conn_close(c->ip);
	c->dead = 2;
	if (c->refs == 0)
		conn_release(c);
}

/* Frees the device table once every connection is gone. */
void
devtab_free(void)
{
	free(devtab);
}

/* The first open connection, or NULL once every one is gone. */
struct conn *
conn_first(void)
{
	return (TAILQ_FIRST(&conns));
}

/*
 * Starts closing every connection for shutdown: WebSocket clients get
 * 1001, the others are dropped.
 */
void
conn_close_all(void)
{
	struct conn	*c, *next;

	for (c = TAILQ_FIRST(&conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->dead)
			continue;
		if (c->is_ws)
			ws_close(c, 1001, "server shutting down");
		else
			conn_free_later(c);
	}
}

/* Frees what conn_free_later marked during this turn. */
void
conn_reap_all(void)
{
	struct conn	*c;

	while ((c = TAILQ_FIRST(&reap)) != NULL) {
		TAILQ_REMOVE(&reap, c, reap_entry);
		conn_reap(c);
	}
}
