/* SPDX-License-Identifier: ISC */
/*
 * proxy-conn.c: a connection to a listener with the PROXY protocol
 * (tickd.conf(5) Reverse proxy) before it is a connection: the header is
 * read off the socket, never past its end, so that what follows (TLS,
 * HTTP, RESP) is the front end's; proxy_header() parses it.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "tickd.h"

/* A connection whose PROXY header is being read. */
struct proxy_pending {
	evutil_socket_t		 fd;
	struct event		*ev;
	uint64_t		 deadline;	/* Unix ms: handshake_timeout */
	struct sockaddr_storage	 peer;
	int			 peerlen;
	char			 who[16];	/* "http" or "resp", for logs */
	proxy_accept_fn		 done;
	int			 arg;
	uint8_t			 buf[PROXY_HEADER_MAX];
	size_t			 have;
	LIST_ENTRY(proxy_pending) entry;
};

static LIST_HEAD(, proxy_pending) proxy_pendings =
    LIST_HEAD_INITIALIZER(proxy_pendings);
static uint64_t	proxy_npending;

static void	proxy_read_cb(evutil_socket_t, short, void *);

/* Writes the address of sa as text into buf, "" if not IPv4 or IPv6. */
static void
proxy_sa_text(const struct sockaddr *sa, char *buf, size_t len)
{
	const void	*a = NULL;

	buf[0] = '\0';
	if (sa->sa_family == AF_INET)
		a = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	if (a == NULL || inet_ntop(sa->sa_family, a, buf, (socklen_t)len) ==
	    NULL)
		buf[0] = '\0';
}

/* Drops a pending connection; its socket is closed unless handed on. */
static void
proxy_pending_free(struct proxy_pending *p, int close_fd)
{
	LIST_REMOVE(p, entry);
	proxy_npending--;
	event_free(p->ev);
	if (close_fd)
		evutil_closesocket(p->fd);
	free(p);
}

/* (Re)arms the read event with what is left of handshake_timeout. */
static int
proxy_arm(struct proxy_pending *p)
{
	struct timeval	tv;
	uint64_t	now = now_ms(), left;

	left = p->deadline > now ? p->deadline - now : 1;
	tv.tv_sec = (time_t)(left / 1000);
	tv.tv_usec = (suseconds_t)(left % 1000) * 1000;
	return (event_add(p->ev, &tv));
}

/*
 * Reads what is there of the header: peeks, then takes only the bytes
 * proxy_header() says belong to it, so nothing after it is consumed.
 */
static void
proxy_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct proxy_pending	*p = arg;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	proxy_accept_fn		 done;
	ssize_t			 n;
	int			 hlen, done_arg;
	char			 peer[INET6_ADDRSTRLEN];

	proxy_sa_text((struct sockaddr *)&p->peer, peer, sizeof peer);
	if (what & EV_TIMEOUT) {
		log_info("%s: %s sent no whole PROXY header within "
		    "handshake_timeout; closed", p->who, peer);
		proxy_pending_free(p, 1);
		return;
	}
	n = recv(fd, p->buf + p->have, sizeof p->buf - p->have, MSG_PEEK);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR)) {
		if (proxy_arm(p) != 0)
			proxy_pending_free(p, 1);
		return;
	}
	if (n <= 0) {
		log_debug("%s: %s closed before its PROXY header", p->who,
		    peer);
		proxy_pending_free(p, 1);
		return;
	}
	hlen = proxy_header(p->buf, p->have + (size_t)n, &ss, &sslen);
	if (hlen < 0) {
		log_info("%s: bad PROXY header from %s; closed", p->who, peer);
		proxy_pending_free(p, 1);
		return;
	}
	/* Take what is the header's: all of it, or all that was peeked. */
	if (hlen > 0)
		n = (ssize_t)((size_t)hlen - p->have);
	if (recv(fd, p->buf + p->have, (size_t)n, 0) != n) {
		proxy_pending_free(p, 1);
		return;
	}
	p->have += (size_t)n;
	if (hlen == 0) {
		if (proxy_arm(p) != 0)
			proxy_pending_free(p, 1);
		return;
	}
	if (ss.ss_family == AF_UNSPEC) {
		ss = p->peer;
		sslen = (socklen_t)p->peerlen;
	}
	/* Our event is gone before the front end sets up its own on fd. */
	done = p->done;
	done_arg = p->arg;
	proxy_pending_free(p, 0);
	done(fd, (struct sockaddr *)&ss, (int)sslen, done_arg);
}

/*
 * A connection to a listener with the PROXY protocol: closed at once
 * unless its peer is in trusted_proxies; else done(fd, client, len, arg)
 * once its header is read, with the client the header names.
 */
void
proxy_conn_accept(evutil_socket_t fd, struct sockaddr *sa, int salen,
    const char *who, proxy_accept_fn done, int arg)
{
	struct proxy_pending	*p;
	char			 peer[INET6_ADDRSTRLEN];

	proxy_sa_text(sa, peer, sizeof peer);
	if (!proxy_trusted(&srv.conf.trusted, peer)) {
		log_info("%s: %s is not in trusted_proxies, which a PROXY "
		    "protocol listener needs; closed", who, peer);
		evutil_closesocket(fd);
		return;
	}
	if (proxy_npending >= srv.conf.max_connections ||
	    (size_t)salen > sizeof p->peer) {
		srv.stats.conns_refused++;
		evutil_closesocket(fd);
		return;
	}
	p = xcalloc(1, sizeof *p);
	p->fd = fd;
	memcpy(&p->peer, sa, (size_t)salen);
	p->peerlen = salen;
	strlcpy(p->who, who, sizeof p->who);
	p->done = done;
	p->arg = arg;
	p->deadline = now_ms() + srv.conf.handshake_timeout;
	LIST_INSERT_HEAD(&proxy_pendings, p, entry);
	proxy_npending++;
	if ((p->ev = event_new(srv.base, fd, EV_READ, proxy_read_cb,
	    p)) == NULL || proxy_arm(p) != 0) {
		log_warnx("%s: out of resources for %s", who, peer);
		if (p->ev == NULL) {
			LIST_REMOVE(p, entry);
			proxy_npending--;
			evutil_closesocket(fd);
			free(p);
		} else
			proxy_pending_free(p, 1);
	}
}

/* Closes every connection still sending its PROXY header, at exit. */
void
proxy_conn_free_all(void)
{
	struct proxy_pending	*p;

	while ((p = LIST_FIRST(&proxy_pendings)) != NULL)
		proxy_pending_free(p, 1);
}
