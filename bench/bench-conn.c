/* SPDX-License-Identifier: ISC */
/*
 * bench-conn.c: tickd-bench's WebSocket client connections, on libevent
 * bufferevents framed by wslay, and the small JSON scanner that picks the
 * members the bench needs out of tickd's frames without building a tree:
 * the bench shares the machine with the server it measures, so every
 * cycle it spends is one the server does not get.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "bench.h"

#define HEAD_MAX	8192	/* a 101 response longer than this is bad */

static struct event_base	*cbase;
static const struct peer	*cpeer;
static uint64_t			 mask_state = 0x9e3779b97f4a7c15ULL;

/* The monotonic clock in nanoseconds: every latency is measured on it. */
uint64_t
now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec);
}

/* Whether the n bytes at s are exactly the string want. */
int
field_is(const char *s, size_t n, const char *want)
{
	return (s != NULL && strlen(want) == n && memcmp(s, want, n) == 0);
}

/* The decimal number at s (n bytes), stopping at the first non-digit. */
uint64_t
field_u64(const char *s, size_t n)
{
	uint64_t	v = 0;
	size_t		i;

	for (i = 0; i < n && s[i] >= '0' && s[i] <= '9'; i++)
		v = v * 10 + (uint64_t)(s[i] - '0');
	return (v);
}

/* Past the JSON white space at p. */
static const char *
skip_space(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' ||
	    *p == '\r'))
		p++;
	return (p);
}

/* Past the string that starts at p (on its quote), or NULL. */
static const char *
skip_string(const char *p, const char *end)
{
	for (p++; p < end; p++) {
		if (*p == '\\')
			p++;
		else if (*p == '"')
			return (p + 1);
	}
	return (NULL);
}

/* Past the JSON value that starts at p, or NULL if it is cut short. */
static const char *
skip_value(const char *p, const char *end)
{
	int	depth = 0;

	if (p < end && *p == '"')
		return (skip_string(p, end));
	for (; p < end; p++) {
		switch (*p) {
		case '"':
			if ((p = skip_string(p, end)) == NULL)
				return (NULL);
			p--;
			break;
		case '{':
		case '[':
			depth++;
			break;
		case '}':
		case ']':
			if (depth == 0)
				return (p);
			if (--depth == 0)
				return (p + 1);
			break;
		case ',':
			if (depth == 0)
				return (p);
			break;
		}
	}
	return (depth == 0 ? p : NULL);
}

/* The members frame_fields picks, by name. */
static const struct {
	const char	*name;
	size_t		 val, len;	/* offsets in struct fields */
} field_table[] = {
	{ "op", offsetof(struct fields, op), offsetof(struct fields, oplen) },
	{ "id", offsetof(struct fields, id), offsetof(struct fields, idlen) },
	{ "mid", offsetof(struct fields, mid),
	  offsetof(struct fields, midlen) },
	{ "code", offsetof(struct fields, code),
	  offsetof(struct fields, codelen) },
	{ "ref", offsetof(struct fields, ref),
	  offsetof(struct fields, reflen) },
	{ "status", offsetof(struct fields, status),
	  offsetof(struct fields, statuslen) },
	{ "for", offsetof(struct fields, for_),
	  offsetof(struct fields, forlen) },
	{ "token", offsetof(struct fields, token),
	  offsetof(struct fields, tokenlen) },
};

/*
 * Fills f with the top-level members of the JSON object s that the bench
 * reads.  A string value is given without its quotes and unescaped (the
 * bench only reads members that never hold escapes); any other value as
 * its text.  Returns 0, or -1 if s is not an object.
 */
int
frame_fields(const char *s, size_t len, struct fields *f)
{
	const char	*p = s, *end = s + len, *k, *v, *ve;
	size_t		 kl, i, n;

	memset(f, 0, sizeof *f);
	p = skip_space(p, end);
	if (p == end || *p++ != '{')
		return (-1);
	for (;;) {
		p = skip_space(p, end);
		if (p < end && *p == '}')
			return (0);
		if (p == end || *p != '"')
			return (-1);
		k = p + 1;
		if ((p = skip_string(p, end)) == NULL)
			return (-1);
		kl = (size_t)(p - 1 - k);
		p = skip_space(p, end);
		if (p == end || *p++ != ':')
			return (-1);
		v = skip_space(p, end);
		if ((ve = skip_value(v, end)) == NULL)
			return (-1);
		p = ve;
		if (v < ve && *v == '"') {
			v++;
			ve--;
		}
		for (i = 0; i < sizeof field_table / sizeof field_table[0];
		    i++) {
			if (field_is(k, kl, field_table[i].name)) {
				n = (size_t)(ve - v);
				memcpy((char *)f + field_table[i].val, &v,
				    sizeof v);
				memcpy((char *)f + field_table[i].len, &n,
				    sizeof n);
				break;
			}
		}
		p = skip_space(p, end);
		if (p < end && *p == ',')
			p++;
		else if (p < end && *p == '}')
			return (0);
		else
			return (-1);
	}
}

/* wslay reads from the bufferevent's input. */
static ssize_t
recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
    void *arg)
{
	struct bconn	*c = arg;
	int		 n;

	(void)flags;
	n = evbuffer_remove(bufferevent_get_input(c->bev), buf, len);
	if (n <= 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return (-1);
	}
	return (n);
}

/* wslay writes into the bufferevent's output. */
static ssize_t
send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len,
    int flags, void *arg)
{
	struct bconn	*c = arg;

	(void)flags;
	if (evbuffer_add(bufferevent_get_output(c->bev), data, len) != 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
		return (-1);
	}
	return ((ssize_t)len);
}

/* Masks need not be secret here: xorshift is cheap and good enough. */
static int
genmask_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *arg)
{
	size_t	i;

	(void)ctx; (void)arg;
	for (i = 0; i < len; i++) {
		mask_state ^= mask_state << 13;
		mask_state ^= mask_state >> 7;
		mask_state ^= mask_state << 17;
		buf[i] = (uint8_t)mask_state;
	}
	return (0);
}

/* Moves c to state and tells its owner. */
static void
set_state(struct bconn *c, int state)
{
	c->state = state;
	if (c->on_state != NULL)
		c->on_state(c, state);
}

/* One whole frame: ready, or one for the owner. */
static void
msg_cb(wslay_event_context_ptr ctx,
    const struct wslay_event_on_msg_recv_arg *arg, void *user)
{
	struct bconn	*c = user;
	struct fields	 f;
	const char	*s = (const char *)arg->msg;

	(void)ctx;
	if (c->state == BC_CLOSED || c->dying)
		return;
	if (arg->opcode == WSLAY_CONNECTION_CLOSE) {
		c->close_code = arg->status_code;
		return;
	}
	if (arg->opcode != WSLAY_TEXT_FRAME ||
	    frame_fields(s, arg->msg_length, &f) != 0)
		return;
	if (c->state == BC_OPEN && field_is(f.op, f.oplen, "ready")) {
		set_state(c, BC_READY);
		return;
	}
	if (c->on_frame != NULL)
		c->on_frame(c, s, arg->msg_length, &f);
}

static const struct wslay_event_callbacks callbacks = {
	.recv_callback = recv_cb,
	.send_callback = send_cb,
	.genmask_callback = genmask_cb,
	.on_msg_recv_callback = msg_cb,
};

/* Handles the 101 once it is complete; -1 if it is not a 101. */
static int
upgrade_done(struct bconn *c)
{
	struct evbuffer		*in = bufferevent_get_input(c->bev);
	struct evbuffer_ptr	 p;
	char			 line[16];

	p = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	if (p.pos == -1)
		return (evbuffer_get_length(in) > HEAD_MAX ? -1 : 0);
	if (evbuffer_copyout(in, line, sizeof line - 1) < 12)
		return (-1);
	line[sizeof line - 1] = '\0';
	if (strncmp(line, "HTTP/1.1 101", 12) != 0)
		return (-1);
	evbuffer_drain(in, (size_t)p.pos + 4);
	if (wslay_event_context_client_init(&c->ws, &callbacks, c) != 0)
		return (-1);
	wslay_event_config_set_max_recv_msg_length(c->ws, 1 << 24);
	/* wslay-echo says nothing after the 101. */
	set_state(c, cpeer->echo ? BC_READY : BC_OPEN);
	return (1);
}

/*
 * Frees c's connection and says so.  Inside a read, wslay is still using
 * its context, so the free waits for the end of read_cb.
 */
static void
fail(struct bconn *c)
{
	if (c->state == BC_CLOSED)
		return;
	if (c->busy) {
		c->dying = 1;
		return;
	}
	if (c->ws != NULL)
		wslay_event_context_free(c->ws);
	c->ws = NULL;
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	c->bev = NULL;
	c->dying = 0;
	set_state(c, BC_CLOSED);
}

/* Input: the rest of the 101, then frames; then flush the replies. */
static void
read_cb(struct bufferevent *bev, void *arg)
{
	struct bconn	*c = arg;
	int		 r = 1;

	(void)bev;
	c->busy = 1;
	if (c->state == BC_CONNECTING && (r = upgrade_done(c)) == -1) {
		c->err = EPROTO;
		c->dying = 1;
	}
	if (r == 1 && !c->dying && wslay_event_recv(c->ws) != 0)
		c->dying = 1;
	if (r == 1 && !c->dying && c->state != BC_CLOSED &&
	    c->on_batch != NULL)
		c->on_batch(c);
	if (r == 1 && !c->dying && wslay_event_send(c->ws) != 0)
		c->dying = 1;
	c->busy = 0;
	if (c->dying)
		fail(c);
}

/* The connection failed or the server closed it. */
static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct bconn	*c = arg;

	(void)bev;
	if (what & (BEV_EVENT_ERROR | BEV_EVENT_EOF)) {
		c->err = (what & BEV_EVENT_ERROR) ? EVUTIL_SOCKET_ERROR() :
		    ECONNRESET;
		/* Refused or reset before the 101: the server is not there. */
		if (c->state == BC_CONNECTING)
			c->err = ECONNREFUSED;
		fail(c);
	}
}

/* Sets the loop and the server every connection uses. */
void
bconn_setup(struct event_base *base, const struct peer *peer)
{
	cbase = base;
	cpeer = peer;
}

/*
 * Starts connecting c as acct, from the source address src if not NULL.
 * -1 with c->err set if the connect failed at once (EADDRNOTAVAIL: this
 * source address has no ephemeral port left).
 */
int
bconn_open(struct bconn *c, const struct account *acct,
    const struct sockaddr_storage *src)
{
	const struct peer	*p;
	int			 fd, one = 1;
	socklen_t		 srclen;

	p = acct->home != NULL ? acct->home : cpeer;
	c->acct = acct;
	c->state = BC_CONNECTING;
	c->err = 0;
	c->close_code = 0;
	c->busy = c->dying = 0;
	c->ws = NULL;
	c->bev = NULL;
	fd = socket(p->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1) {
		c->err = errno;
		c->state = BC_CLOSED;
		return (-1);
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (src != NULL) {
#ifdef IP_BIND_ADDRESS_NO_PORT
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
		    sizeof one);
#endif
		srclen = src->ss_family == AF_INET6 ?
		    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
		if (bind(fd, (const struct sockaddr *)src, srclen) == -1)
			goto bad;
	}
	if (connect(fd, (const struct sockaddr *)&p->ss, p->sslen) ==
	    -1 && errno != EINPROGRESS)
		goto bad;
	if ((c->bev = bufferevent_socket_new(cbase, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		errno = ENOMEM;
		goto bad;
	}
	bufferevent_setcb(c->bev, read_cb, NULL, event_cb, c);
	if (evbuffer_add_printf(bufferevent_get_output(c->bev),
	    "GET /v1/ws HTTP/1.1\r\nHost: %s:%s\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Key: dGlja2QtYmVuY2gta2V5MQ==\r\n"
	    "Sec-WebSocket-Version: 13\r\n"
	    "Authorization: Bearer %s\r\n\r\n", p->host, p->port,
	    acct->token) == -1 ||
	    bufferevent_enable(c->bev, EV_READ | EV_WRITE) != 0) {
		bufferevent_free(c->bev);
		c->bev = NULL;
		c->err = ENOMEM;
		c->state = BC_CLOSED;
		return (-1);
	}
	return (0);
bad:
	c->err = errno;
	close(fd);
	c->state = BC_CLOSED;
	return (-1);
}

/* Queues a text frame; bconn_flush (or the end of a read) sends it. */
void
bconn_send(struct bconn *c, const char *data, size_t len)
{
	struct wslay_event_msg	msg;

	if (c->state == BC_CLOSED || c->dying || c->ws == NULL)
		return;
	msg.opcode = WSLAY_TEXT_FRAME;
	msg.msg = (const uint8_t *)data;
	msg.msg_length = len;
	if (wslay_event_queue_msg(c->ws, &msg) != 0)
		fail(c);
}

/* Moves every queued frame into the socket's output buffer. */
void
bconn_flush(struct bconn *c)
{
	if (c->state == BC_CLOSED || c->dying || c->ws == NULL || c->busy)
		return;
	if (wslay_event_send(c->ws) != 0)
		fail(c);
}

/* Drops the connection at once; no close handshake, no callback. */
void
bconn_close(struct bconn *c)
{
	c->on_state = NULL;
	c->on_frame = NULL;
	c->on_batch = NULL;
	fail(c);
}
