/* SPDX-License-Identifier: ISC */
/*
 * wslay-echo.c: the ceiling tickd-bench measures tickd against.  A plain
 * WebSocket server on the same libevent and wslay as tickd, with no store,
 * no JSON and no fsync: connections presenting the same bearer token (or
 * ?token=) are paired, and every text frame one of them sends is pushed
 * to the other.  tickd-bench -e sends it the frames tickd would push, so
 * the difference between the two is what tickd's work costs.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netdb.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <wslay/wslay.h>

#define HEAD_MAX	8192
#define KEY_MAX		128
#define WS_GUID		"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

struct econn {
	TAILQ_ENTRY(econn)	 entry;
	struct bufferevent	*bev;
	wslay_event_context_ptr	 ws;
	struct econn		*peer;		/* the other one */
	struct econn		*next;		/* in its bucket */
	int			 waiting;	/* in the waiting table */
	int			 busy;		/* inside read_cb */
	int			 dying;
	char			 key[KEY_MAX + 1];
};

static TAILQ_HEAD(, econn)	  conns = TAILQ_HEAD_INITIALIZER(conns);
static struct event_base	 *base;
static struct econn		**waiting;	/* key -> unpaired */
static size_t			  nbuckets = 65536;

/* Prints the synopsis and exits 2. */
static __attribute__((__noreturn__)) void
usage(void)
{
	fprintf(stderr, "usage: wslay-echo [-a address:port] "
	    "[-p pidfile]\n");
	exit(2);
}

/* The bucket hash of a pairing key. */
static uint64_t
key_hash(const char *s)
{
	uint64_t	h = 1469598103934665603ULL;	/* FNV-1a */

	for (; *s != '\0'; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ULL;
	return (h);
}

/* Takes c out of the waiting table if it is there. */
static void
wait_remove(struct econn *c)
{
	struct econn	**pp;

	if (!c->waiting)
		return;
	pp = &waiting[key_hash(c->key) & (nbuckets - 1)];
	for (; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	c->waiting = 0;
}

/* Pairs c with the connection waiting on the same key, or makes it wait. */
static void
pair_up(struct econn *c)
{
	struct econn	**pp, *o;

	pp = &waiting[key_hash(c->key) & (nbuckets - 1)];
	for (o = *pp; o != NULL; o = o->next) {
		if (strcmp(o->key, c->key) == 0) {
			wait_remove(o);
			o->peer = c;
			c->peer = o;
			return;
		}
	}
	c->next = *pp;
	*pp = c;
	c->waiting = 1;
}

/* Closes c, now or, inside its read, at the end of it. */
static void
econn_free(struct econn *c)
{
	if (c->busy) {
		c->dying = 1;
		return;
	}
	wait_remove(c);
	if (c->peer != NULL)
		c->peer->peer = NULL;
	if (c->ws != NULL)
		wslay_event_context_free(c->ws);
	bufferevent_free(c->bev);
	TAILQ_REMOVE(&conns, c, entry);
	free(c);
}

/* wslay reads from the bufferevent's input. */
static ssize_t
recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
    void *arg)
{
	struct econn	*c = arg;
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
	struct econn	*c = arg;

	(void)flags;
	if (evbuffer_add(bufferevent_get_output(c->bev), data, len) != 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
		return (-1);
	}
	return ((ssize_t)len);
}

/* A text frame goes to the other connection of the pair, as it is. */
static void
msg_cb(wslay_event_context_ptr ctx,
    const struct wslay_event_on_msg_recv_arg *arg, void *user)
{
	struct econn		*c = user;
	struct wslay_event_msg	 msg;

	(void)ctx;
	if (arg->opcode != WSLAY_TEXT_FRAME || c->peer == NULL ||
	    c->peer->ws == NULL)
		return;
	msg.opcode = WSLAY_TEXT_FRAME;
	msg.msg = arg->msg;
	msg.msg_length = arg->msg_length;
	if (wslay_event_queue_msg(c->peer->ws, &msg) != 0)
		c->peer->dying = 1;
}

static const struct wslay_event_callbacks callbacks = {
	.recv_callback = recv_cb,
	.send_callback = send_cb,
	.on_msg_recv_callback = msg_cb,
};

/* The value of header name in the request head, copied into out. */
static int
header(const char *head, const char *name, char *out, size_t outlen)
{
	const char	*p = head, *v, *e;
	size_t		 n = strlen(name);

	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, name, n) != 0 || p[n] != ':')
			continue;
		for (v = p + n + 1; *v == ' '; v++)
			;
		if ((e = strstr(v, "\r\n")) == NULL ||
		    (size_t)(e - v) >= outlen)
			return (-1);
		memcpy(out, v, (size_t)(e - v));
		out[e - v] = '\0';
		return (0);
	}
	return (-1);
}

/* Answers the upgrade request in head; -1 if it is not one. */
static int
upgrade(struct econn *c, const char *head)
{
	unsigned char	 md[SHA_DIGEST_LENGTH];
	char		 key[64], buf[128], accept[64], *q, *e;

	if (strncmp(head, "GET ", 4) != 0 ||
	    header(head, "Sec-WebSocket-Key", key, sizeof key) != 0)
		return (-1);
	if (header(head, "Authorization", buf, sizeof buf) == 0 &&
	    strncmp(buf, "Bearer ", 7) == 0)
		snprintf(c->key, sizeof c->key, "%s", buf + 7);
	else if ((q = strstr(head, "token=")) != NULL &&
	    (e = strpbrk(q, " &\r")) != NULL && e - q - 6 <= KEY_MAX)
		snprintf(c->key, sizeof c->key, "%.*s", (int)(e - q - 6),
		    q + 6);
	snprintf(buf, sizeof buf, "%s%s", key, WS_GUID);
	SHA1((unsigned char *)buf, strlen(buf), md);
	EVP_EncodeBlock((unsigned char *)accept, md, sizeof md);
	if (evbuffer_add_printf(bufferevent_get_output(c->bev),
	    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
	    accept) == -1 ||
	    wslay_event_context_server_init(&c->ws, &callbacks, c) != 0)
		return (-1);
	wslay_event_config_set_max_recv_msg_length(c->ws, 1 << 24);
	if (c->key[0] != '\0')
		pair_up(c);
	return (0);
}

/* Input: the upgrade request, then frames; then flush both sides. */
static void
read_cb(struct bufferevent *bev, void *arg)
{
	struct econn		*c = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	struct evbuffer_ptr	 p;
	char			 head[HEAD_MAX + 1];

	c->busy = 1;
	if (c->ws == NULL) {
		p = evbuffer_search(in, "\r\n\r\n", 4, NULL);
		if (p.pos == -1 || p.pos + 4 > HEAD_MAX) {
			c->dying = evbuffer_get_length(in) > HEAD_MAX;
			goto out;
		}
		evbuffer_remove(in, head, (size_t)p.pos + 4);
		head[p.pos + 4] = '\0';
		if (upgrade(c, head) != 0) {
			c->dying = 1;
			goto out;
		}
	}
	if (wslay_event_recv(c->ws) != 0 || wslay_event_send(c->ws) != 0)
		c->dying = 1;
	else if (!wslay_event_want_read(c->ws) &&
	    !wslay_event_want_write(c->ws))
		c->dying = 1;
	if (c->peer != NULL && c->peer->ws != NULL &&
	    wslay_event_send(c->peer->ws) != 0)
		c->peer->dying = 1;
out:
	c->busy = 0;
	if (c->peer != NULL && c->peer->dying)
		econn_free(c->peer);
	if (c->dying)
		econn_free(c);
}

/* The peer went away. */
static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		econn_free(arg);
}

/* A new connection: wait for its upgrade request. */
static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct econn	*c;
	int		 one = 1;

	(void)l; (void)sa; (void)salen; (void)arg;
	/* Frames are small and latency counts: no Nagle, as tickd. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if ((c = calloc(1, sizeof *c)) == NULL) {
		evutil_closesocket(fd);
		return;
	}
	if ((c->bev = bufferevent_socket_new(base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		evutil_closesocket(fd);
		free(c);
		return;
	}
	TAILQ_INSERT_TAIL(&conns, c, entry);
	bufferevent_setcb(c->bev, read_cb, NULL, event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

static void
accept_error_cb(struct evconnlistener *l, void *arg)
{
	(void)l; (void)arg;
	/* Out of descriptors: the listener tries again on the next turn. */
	perror("wslay-echo: accept");
}

/* SIGTERM or SIGINT: stop. */
static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)sig; (void)what; (void)arg;
	event_base_loopbreak(base);
}

int
main(int argc, char **argv)
{
	struct evconnlistener	*l;
	struct event		*ev_term, *ev_int;
	struct addrinfo		 hints, *res;
	const char		*pidfile = NULL;
	char			 addr[128] = "127.0.0.1:8090", *port;
	FILE			*f;
	int			 ch, rc;

	while ((ch = getopt(argc, argv, "a:p:")) != -1) {
		switch (ch) {
		case 'a':
			snprintf(addr, sizeof addr, "%s", optarg);
			break;
		case 'p':
			pidfile = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || (port = strrchr(addr, ':')) == NULL)
		usage();
	*port++ = '\0';
	memset(&hints, 0, sizeof hints);
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(addr, port, &hints, &res)) != 0) {
		fprintf(stderr, "wslay-echo: %s: %s\n", addr,
		    gai_strerror(rc));
		return (1);
	}
	signal(SIGPIPE, SIG_IGN);
	if ((base = event_base_new()) == NULL ||
	    (waiting = calloc(nbuckets, sizeof *waiting)) == NULL) {
		fprintf(stderr, "wslay-echo: out of memory\n");
		return (1);
	}
	l = evconnlistener_new_bind(base, accept_cb, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 1024, res->ai_addr,
	    (int)res->ai_addrlen);
	freeaddrinfo(res);
	if (l == NULL) {
		fprintf(stderr, "wslay-echo: listen on %s:%s: %s\n", addr,
		    port, strerror(errno));
		return (1);
	}
	evconnlistener_set_error_cb(l, accept_error_cb);
	ev_term = evsignal_new(base, SIGTERM, signal_cb, NULL);
	ev_int = evsignal_new(base, SIGINT, signal_cb, NULL);
	if (ev_term == NULL || ev_int == NULL || evsignal_add(ev_term, NULL) !=
	    0 || evsignal_add(ev_int, NULL) != 0) {
		fprintf(stderr, "wslay-echo: cannot handle signals\n");
		return (1);
	}
	if (pidfile != NULL) {
		if ((f = fopen(pidfile, "w")) == NULL ||
		    fprintf(f, "%ld\n", (long)getpid()) < 0 || fclose(f) != 0) {
			fprintf(stderr, "wslay-echo: %s: %s\n", pidfile,
			    strerror(errno));
			return (1);
		}
	}
	event_base_dispatch(base);
	while (!TAILQ_EMPTY(&conns))
		econn_free(TAILQ_FIRST(&conns));
	evconnlistener_free(l);
	event_free(ev_term);
	event_free(ev_int);
	free(waiting);
	event_base_free(base);
	if (pidfile != NULL)
		unlink(pidfile);
	return (0);
}
