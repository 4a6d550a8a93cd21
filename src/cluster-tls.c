/* SPDX-License-Identifier: ISC */
/*
 * cluster-tls.c: rediss:// (tickd-cluster(7), TLS) without a TLS-capable
 * hiredis.  tickd listens on a unix socket in a private directory of
 * data_dir; hiredis connects there, and each connection it makes is
 * relayed to a TLS connection to the Redis of cluster_redis, whose
 * certificate is checked against cluster_redis_ca_file (or the system's
 * CAs) and the URL's host.  Either side closing closes the other; a
 * failed handshake or verification closes hiredis's side, so Redis is
 * unreachable as when its port is closed.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <arpa/inet.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "tickd.h"
#include "cluster.h"

#define BRIDGE_DIR	"redis-tls"
#define BRIDGE_SOCK	"s"
#define BRIDGE_HIWAT	(256 * 1024)	/* bytes queued toward either side */

/* One relayed connection: hiredis's side and the TLS one to Redis. */
struct bridge {
	struct bufferevent	*in;		/* from hiredis */
	struct bufferevent	*out;		/* TLS to Redis */
	int			 connected;	/* handshake done */
	LIST_ENTRY(bridge)	 entry;
};

static struct {
	SSL_CTX			*ctx;
	struct evconnlistener	*lev;
	char			*dir;
	char			*path;
	LIST_HEAD(, bridge)	 all;
} tb = { .all = LIST_HEAD_INITIALIZER(tb.all) };

/* The first error on OpenSSL's queue, as text. */
static const char *
tls_err(void)
{
	static char	buf[256];
	unsigned long	e = ERR_get_error();

	if (e == 0)
		return ("no TLS error");
	ERR_error_string_n(e, buf, sizeof buf);
	ERR_clear_error();
	return (buf);
}

static void
bridge_free(struct bridge *b)
{
	LIST_REMOVE(b, entry);
	bufferevent_free(b->in);
	if (b->out != NULL)
		bufferevent_free(b->out);
	free(b);
}

/*
 * Moves what from has read to to's output; from stops reading while to
 * holds BRIDGE_HIWAT bytes not yet written (to's write callback resumes
 * it).
 */
static void
relay(struct bufferevent *from, struct bufferevent *to)
{
	if (evbuffer_add_buffer(bufferevent_get_output(to),
	    bufferevent_get_input(from)) != 0)
		return;
	if (evbuffer_get_length(bufferevent_get_output(to)) >= BRIDGE_HIWAT)
		bufferevent_disable(from, EV_READ);
}

static void
in_read_cb(struct bufferevent *bev, void *arg)
{
	relay(bev, ((struct bridge *)arg)->out);
}

static void
out_read_cb(struct bufferevent *bev, void *arg)
{
	relay(bev, ((struct bridge *)arg)->in);
}

/* Below the low watermark of its output: the other side reads again. */
static void
in_write_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	bufferevent_enable(((struct bridge *)arg)->out, EV_READ);
}

static void
out_write_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	bufferevent_enable(((struct bridge *)arg)->in, EV_READ);
}

/* hiredis closed its side, or it failed: the TLS side goes too. */
static void
in_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		bridge_free(arg);
}

/*
 * The TLS side connected (the handshake and the checks passed), or
 * failed: why is logged, as Redis unreachable is, and hiredis's side is
 * closed.
 */
static void
out_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct bridge	*b = arg;
	SSL		*ssl = bufferevent_openssl_get_ssl(bev);
	long		 v;
	unsigned long	 e;
	int		 err = EVUTIL_SOCKET_ERROR();
	char		 buf[256];

	if (what & BEV_EVENT_CONNECTED) {
		b->connected = 1;
		/* XREADGROUP BLOCKs: only hiredis's watchdog times it out. */
		bufferevent_set_timeouts(bev, NULL, NULL);
		return;
	}
	if (b->connected) {
		bridge_free(b);
		return;
	}
	if ((v = SSL_get_verify_result(ssl)) != X509_V_OK)
		log_warnx("cluster: TLS to Redis %s:%d: certificate "
		    "verification failed: %s", cl.addr.host, cl.addr.port,
		    X509_verify_cert_error_string(v));
	else if (what & BEV_EVENT_TIMEOUT)
		log_warnx("cluster: TLS to Redis %s:%d: no connection or "
		    "handshake within cluster_redis_timeout", cl.addr.host,
		    cl.addr.port);
	else if ((e = bufferevent_get_openssl_error(bev)) != 0 &&
	    ERR_GET_LIB(e) != 0) {
		ERR_error_string_n(e, buf, sizeof buf);
		log_warnx("cluster: TLS to Redis %s:%d: %s", cl.addr.host,
		    cl.addr.port, buf);
	} else
		/* libevent queues SSL_get_error()'s code, not a reason. */
		log_warnx("cluster: cannot connect to Redis %s:%d: %s",
		    cl.addr.host, cl.addr.port, err != 0 ?
		    evutil_socket_error_to_string(err) : "connection closed");
	bridge_free(b);
}

/*
 * The TLS session of one connection: SNI and the name checked are the
 * URL's host, or its address if it is one (an address has no SNI).
 */
static SSL *
bridge_ssl(void)
{
	SSL		*ssl;
	unsigned char	 a[16];
	int		 ip;

	if ((ssl = SSL_new(tb.ctx)) == NULL)
		return (NULL);
	ip = inet_pton(AF_INET, cl.addr.host, a) == 1 ||
	    inet_pton(AF_INET6, cl.addr.host, a) == 1;
	if (ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl),
	    cl.addr.host) != 1 : (SSL_set_tlsext_host_name(ssl,
	    cl.addr.host) != 1 || SSL_set1_host(ssl, cl.addr.host) != 1)) {
		SSL_free(ssl);
		return (NULL);
	}
	return (ssl);
}

/* hiredis connected to the socket: a TLS connection to Redis for it. */
static void
accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct timeval	 tv;
	struct bridge	*b;
	SSL		*ssl;

	(void)lev;
	(void)sa;
	(void)salen;
	(void)arg;
	b = xcalloc(1, sizeof *b);
	LIST_INSERT_HEAD(&tb.all, b, entry);
	if ((b->in = bufferevent_socket_new(srv.base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		log_warnx("cluster: cannot relay to Redis over TLS");
		close(fd);
		LIST_REMOVE(b, entry);
		free(b);
		return;
	}
	if ((ssl = bridge_ssl()) == NULL) {
		log_warnx("cluster: TLS to Redis %s:%d: %s", cl.addr.host,
		    cl.addr.port, tls_err());
		bridge_free(b);
		return;
	}
	if ((b->out = bufferevent_openssl_socket_new(srv.base, -1, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		SSL_free(ssl);
		log_warnx("cluster: cannot relay to Redis over TLS");
		bridge_free(b);
		return;
	}
	bufferevent_setcb(b->in, in_read_cb, in_write_cb, in_event_cb, b);
	bufferevent_setcb(b->out, out_read_cb, out_write_cb, out_event_cb, b);
	bufferevent_setwatermark(b->in, EV_WRITE, BRIDGE_HIWAT / 2, 0);
	bufferevent_setwatermark(b->out, EV_WRITE, BRIDGE_HIWAT / 2, 0);
	tv.tv_sec = (time_t)(srv.conf.cluster_redis_timeout / 1000);
	tv.tv_usec = (suseconds_t)(srv.conf.cluster_redis_timeout % 1000) *
	    1000;
	bufferevent_set_timeouts(b->out, &tv, &tv);
	if (bufferevent_enable(b->in, EV_READ | EV_WRITE) != 0 ||
	    bufferevent_enable(b->out, EV_READ | EV_WRITE) != 0) {
		log_warnx("cluster: cannot relay to Redis over TLS");
		bridge_free(b);
		return;
	}
	/* Resolved as hiredis resolves a redis:// host: getaddrinfo. */
	errno = 0;
	if (bufferevent_socket_connect_hostname(b->out, NULL, AF_UNSPEC,
	    cl.addr.host, cl.addr.port) != 0) {
		log_warnx("cluster: cannot connect to Redis %s:%d: %s",
		    cl.addr.host, cl.addr.port, errno != 0 ? strerror(errno) :
		    "cannot resolve it");
		bridge_free(b);
	}
}

static void
accept_error_cb(struct evconnlistener *lev, void *arg)
{
	(void)lev;
	(void)arg;
	log_warnx("cluster: the TLS relay's socket: %s", strerror(errno));
}

/* The client context: Redis's certificate checked against the CAs. */
static int
ctx_init(char **cause)
{
	const char	*ca = srv.conf.cluster_redis_ca_file;

	if ((tb.ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(tb.ctx, TLS1_2_VERSION) != 1) {
		xasprintf(cause, "cluster: cannot create a TLS context: %s",
		    tls_err());
		return (-1);
	}
	SSL_CTX_set_verify(tb.ctx, SSL_VERIFY_PEER, NULL);
	if (ca != NULL ? SSL_CTX_load_verify_locations(tb.ctx, ca,
	    NULL) != 1 : SSL_CTX_set_default_verify_paths(tb.ctx) != 1) {
		xasprintf(cause, "cluster_redis_ca_file %s: %s", ca != NULL ?
		    ca : "(the system's)", tls_err());
		return (-1);
	}
	return (0);
}

/*
 * The directory, mode 0700 and this user's (data_dir is too), and its
 * socket; one left by a tickd that did not stop cleanly is replaced (the
 * data_dir lock says no other tickd uses it).
 */
static int
listen_init(char **cause)
{
	struct sockaddr_un	 sun;

	xasprintf(&tb.dir, "%s/%s", srv.conf.data_dir, BRIDGE_DIR);
	xasprintf(&tb.path, "%s/%s", tb.dir, BRIDGE_SOCK);
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(tb.path) >= sizeof sun.sun_path) {
		xasprintf(cause, "cluster: rediss:// needs a socket %s, "
		    "longer than a unix socket's %zu bytes: shorten data_dir",
		    tb.path, sizeof sun.sun_path - 1);
		return (-1);
	}
	strlcpy(sun.sun_path, tb.path, sizeof sun.sun_path);
	if ((mkdir(tb.dir, 0700) == -1 && errno != EEXIST) ||
	    chmod(tb.dir, 0700) == -1 ||
	    (unlink(tb.path) == -1 && errno != ENOENT)) {
		xasprintf(cause, "cluster: %s: %s", tb.dir, strerror(errno));
		return (-1);
	}
	tb.lev = evconnlistener_new_bind(srv.base, accept_cb, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 16,
	    (struct sockaddr *)&sun, (int)sizeof sun);
	if (tb.lev == NULL) {
		xasprintf(cause, "cluster: cannot listen on %s: %s", tb.path,
		    strerror(errno));
		return (-1);
	}
	evconnlistener_set_error_cb(tb.lev, accept_error_cb);
	return (0);
}

/*
 * With a rediss:// cluster_redis, reads cluster_redis_ca_file while tickd
 * may still be root, as tls_cert is (tickd.conf(5)).
 */
int
cluster_tls_load(char **cause)
{
	const char	*v = srv.conf.cluster_redis;

	if (v == NULL || strncmp(v + strspn(v, " \t"), "rediss://", 9) != 0)
		return (0);
	return (ctx_init(cause));
}

/*
 * With a rediss:// cluster_redis, the relay's socket, made as the user
 * tickd runs as; nothing otherwise.
 */
int
cluster_tls_init(char **cause)
{
	if (!cl.addr.tls)
		return (0);
	if (tb.ctx == NULL && ctx_init(cause) != 0)
		return (-1);
	if (listen_init(cause) != 0) {
		cluster_tls_free();
		return (-1);
	}
	return (0);
}

/*
 * A hiredis connection to host:port; with rediss://, whose host:port is
 * the only one (cluster_check), through the relay's socket.
 */
redisAsyncContext *
cluster_connect(const char *host, int port)
{
	if (tb.lev == NULL)
		return (redisAsyncConnect(host, port));
	return (redisAsyncConnectUnix(tb.path));
}

/*
 * The relay's socket, where cluster-ssub.c connects as hiredis does, with
 * rediss://; NULL otherwise.
 */
const char *
cluster_tls_path(void)
{
	return (tb.lev != NULL ? tb.path : NULL);
}

/* At shutdown: the relayed connections, the socket and its directory. */
void
cluster_tls_free(void)
{
	struct bridge	*b;

	while ((b = LIST_FIRST(&tb.all)) != NULL)
		bridge_free(b);
	if (tb.lev != NULL) {
		evconnlistener_free(tb.lev);
		tb.lev = NULL;
		if (unlink(tb.path) == -1 || rmdir(tb.dir) == -1)
			log_warnx("cluster: cannot remove %s: %s", tb.dir,
			    strerror(errno));
	}
	if (tb.ctx != NULL)
		SSL_CTX_free(tb.ctx);
	tb.ctx = NULL;
	free(tb.path);
	free(tb.dir);
	tb.path = tb.dir = NULL;
}
