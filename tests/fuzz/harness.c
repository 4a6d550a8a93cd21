/* SPDX-License-Identifier: ISC */
/*
 * harness.c: tickd's server without its sockets, for the fuzz targets that
 * speak WebSocket.  The daemon's own code runs on one end of a libevent
 * bufferevent pair: srv.conf at its defaults, a store in a temporary
 * directory, and a connection upgraded with ws_upgraded() as route_ws()
 * leaves it.  The fuzz input is what the client writes on the other end;
 * the loop then runs turn by turn, group commit included, until nothing is
 * left to do.
 *
 * The RESP shim is reached as its clients reach it, through resp_listen on
 * a loopback port: resp.c has no way in but its listener.  Loopback writes
 * land in the peer's socket buffer before write() returns, so two turns in
 * a row without callbacks and without reply bytes mean it is idle.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "tickd.h"
#include "harness.h"

#define TURNS_MAX	1024	/* then a busy loop counts as stuck */
#define RUNS_PER_STORE	1024	/* then the store starts afresh */

static char		 dir[64];
static char		 token[TOKEN_HEXLEN + 1];
static unsigned		 runs;
static struct sockaddr_in resp_sin;
static char		 resp_password[] = "fuzz";

/* Removes the store's files and its directory. */
static void
store_remove(void)
{
	DIR		*d;
	struct dirent	*de;
	char		 path[256];

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

/* At exit: the store goes with the process. */
static void
harness_exit(void)
{
	if (srv.store != NULL)
		store_close(srv.store);
	srv.store = NULL;
	store_remove();
}

/*
 * A fresh store holding alice, whose device "fuzz" has the token the
 * authenticated runs use, and bob, who has a device but is never online.
 */
static void
store_fresh(void)
{
	struct dev_rec	 dev;
	struct txn	 txn;
	struct mid	 hw;
	enum tick_err	 err;
	uint8_t		 salt[KDF_SALT_BYTES] = { 0 };
	uint8_t		 hash[KDF_HASH_BYTES] = { 0 };
	char		 device[NAME_DEVICE_MAX + 1];
	char		 bobtok[TOKEN_HEXLEN + 1];
	char		*cause;
	uint64_t	 now = now_ms();

	if (srv.store != NULL) {
		store_close(srv.store);
		srv.store = NULL;
		store_remove();
	}
	if (store_open(&srv.store, dir, srv.conf.map_size, &cause) !=
	    STORE_OK)
		fatalx("harness: %s", cause);
	if (store_txn_begin(srv.store, &txn, 1) != STORE_OK ||
	    store_mid_load(&txn, &hw) != STORE_OK ||
	    account_register(&txn, "alice", salt, hash, now, &err) !=
	    STORE_OK || account_register(&txn, "bob", salt, hash, now, &err) !=
	    STORE_OK ||
	    account_claim_device(&txn, "bob", "laptop", now, device, &dev) !=
	    STORE_OK ||
	    account_token_issue(&txn, "bob", device, dev.qid,
	    now + srv.conf.token_ttl, bobtok) != STORE_OK ||
	    account_claim_device(&txn, "alice", "fuzz", now, device, &dev) !=
	    STORE_OK ||
	    account_token_issue(&txn, "alice", device, dev.qid,
	    now + srv.conf.token_ttl, token) != STORE_OK ||
	    store_txn_commit(&txn) != STORE_OK)
		fatalx("harness: cannot set up the store in %s", dir);
	midgen_init(&srv.midgen, &hw);
}

/* Binds the RESP shim to a free loopback port. */
static void
resp_setup(void)
{
	socklen_t	 len = sizeof resp_sin;
	char		*cause;
	int		 fd;

	memset(&resp_sin, 0, sizeof resp_sin);
	resp_sin.sin_family = AF_INET;
	resp_sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&resp_sin, sizeof resp_sin) != 0 ||
	    getsockname(fd, (struct sockaddr *)&resp_sin, &len) != 0)
		fatal("harness: a free port");
	close(fd);
	xasprintf(&srv.conf.resp_listen, "127.0.0.1:%u",
	    ntohs(resp_sin.sin_port));
	if (resp_init(&cause) != 0)
		fatalx("harness: %s", cause);
}

/* Sets up srv once: defaults, an event base, a store, RESP if asked. */
void
harness_init(int resp)
{
	struct stat	sb;
	const char	*tmp;

	log_init(1, L_ERROR);
	signal(SIGPIPE, SIG_IGN);
	conf_init(&srv.conf);
	srv.conf.log_level = L_ERROR;
	if ((srv.base = event_base_new()) == NULL)
		fatalx("harness: event_base_new");
	/* A store in memory: commits fsync, and that need not cost here. */
	tmp = stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) ?
	    "/dev/shm" : getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";
	snprintf(dir, sizeof dir, "%s/tickd-fuzz.XXXXXX", tmp);
	if (mkdtemp(dir) == NULL)
		fatal("harness: mkdtemp %s", dir);
	atexit(harness_exit);
	store_fresh();
	if (resp)
		resp_setup();
}

/* The client reads and forgets what the server sends. */
static void
client_read_cb(struct bufferevent *bev, void *arg)
{
	(void)arg;
	evbuffer_drain(bufferevent_get_input(bev),
	    evbuffer_get_length(bufferevent_get_input(bev)));
}

/* Stands in for the HTTP timer that route_ws() leaves to ws.c. */
static void
timer_cb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd; (void)events; (void)arg;
}

/* Runs turns until no callback is waiting; it never waits for a timer. */
static void
run_until_idle(void)
{
	int	i;

	for (i = 0; i < TURNS_MAX; i++) {
		if (server_turn(EVLOOP_NONBLOCK) == -1)
			fatalx("harness: event loop failed");
		if (event_base_get_num_events(srv.base,
		    EVENT_BASE_COUNT_ACTIVE) == 0)
			return;
	}
	fatalx("harness: still busy after %d turns", TURNS_MAX);
}

/*
 * One client connection: it upgrades (with alice's token if authenticate
 * is set), writes data in pieces of chunk bytes (0: all at once) with the
 * loop run between them, and goes away.
 */
void
harness_run(const uint8_t *data, size_t len, size_t chunk,
    int authenticate)
{
	struct bufferevent	*pair[2];
	struct conn		*c;
	size_t			 off, n;

	if (++runs % RUNS_PER_STORE == 0)
		store_fresh();
	if (bufferevent_pair_new(srv.base, BEV_OPT_DEFER_CALLBACKS, pair) != 0)
		fatalx("harness: bufferevent_pair_new");
	c = xcalloc(1, sizeof *c);
	conn_set_peer(c, "127.0.0.1:1", "127.0.0.1");
	c->bev = pair[0];
	if ((c->timer = evtimer_new(srv.base, timer_cb, c)) == NULL)
		fatalx("harness: evtimer_new");
	conn_link(c);
	/* Held, so that c can be looked at after the server reaped it. */
	conn_ref(c);
	bufferevent_setcb(pair[1], client_read_cb, NULL, NULL, NULL);
	bufferevent_enable(pair[1], EV_READ | EV_WRITE);
	bufferevent_enable(c->bev, EV_READ);
	c->is_ws = 1;
	ws_upgraded(c, authenticate ? token : NULL);
	run_until_idle();

	for (off = 0; off < len && !c->dead; off += n) {
		n = chunk == 0 || len - off < chunk ? len - off : chunk;
		if (bufferevent_write(pair[1], data + off, n) != 0)
			fatalx("harness: bufferevent_write");
		run_until_idle();
	}

	conn_free_later(c);
	run_until_idle();
	bufferevent_free(pair[1]);
	conn_unref(c);
}

/* data as one masked text frame, as a client sends it; caller frees. */
size_t
harness_text_frame(const uint8_t *data, size_t len, uint8_t **out)
{
	static const uint8_t	 key[4] = { 0x37, 0xfa, 0x21, 0x3d };
	uint8_t			*f;
	size_t			 h = 2, i;

	if (len >= 65536)
		h += 8;
	else if (len >= 126)
		h += 2;
	f = xmalloc(h + 4 + len);
	f[0] = 0x81;			/* FIN, text */
	if (len >= 65536) {
		f[1] = 0x80 | 127;
		for (i = 0; i < 8; i++)
			f[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
	} else if (len >= 126) {
		f[1] = 0x80 | 126;
		f[2] = (uint8_t)(len >> 8);
		f[3] = (uint8_t)len;
	} else
		f[1] = (uint8_t)(0x80 | len);
	memcpy(f + h, key, 4);
	for (i = 0; i < len; i++)
		f[h + 4 + i] = data[i] ^ key[i % 4];
	*out = f;
	return (h + 4 + len);
}

/* Reads and drops what the server sent to fd; the number of bytes. */
static size_t
sock_drain(int fd)
{
	char	buf[16384];
	ssize_t	n;
	size_t	total = 0;

	while ((n = read(fd, buf, sizeof buf)) > 0)
		total += (size_t)n;
	return (total);
}

/* Runs turns until one has no callback left and no reply bytes for fd. */
static void
sock_run_until_idle(int fd)
{
	int	i, quiet = 0;

	for (i = 0; i < TURNS_MAX && quiet < 2; i++) {
		if (server_turn(EVLOOP_NONBLOCK) == -1)
			fatalx("harness: event loop failed");
		if (sock_drain(fd) == 0 && event_base_get_num_events(srv.base,
		    EVENT_BASE_COUNT_ACTIVE) == 0)
			quiet++;
		else
			quiet = 0;
	}
	if (quiet < 2)
		fatalx("harness: still busy after %d turns", TURNS_MAX);
}

/*
 * One RESP client: it connects to resp_listen (which asks for a password
 * unless authenticated is set), writes data in pieces of chunk bytes (0:
 * all at once) with the loop run between them, and disconnects.  The
 * server must then let go of the connection.
 */
void
harness_resp_run(const uint8_t *data, size_t len, size_t chunk,
    int authenticated)
{
	size_t	off, n;
	ssize_t	w;
	int	fd, i;

	if (++runs % RUNS_PER_STORE == 0)
		store_fresh();
	srv.conf.resp_password = authenticated ? NULL : resp_password;
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) == -1)
		fatal("harness: socket");
	if (connect(fd, (struct sockaddr *)&resp_sin, sizeof resp_sin) != 0 &&
	    errno != EINPROGRESS)
		fatal("harness: connect");
	for (i = 0; i < TURNS_MAX && srv.stats.conns == 0; i++)
		server_turn(EVLOOP_NONBLOCK);
	if (srv.stats.conns == 0)
		fatalx("harness: the RESP listener accepted nothing");
	sock_run_until_idle(fd);

	for (off = 0; off < len && srv.stats.conns != 0; off += n) {
		n = chunk == 0 || len - off < chunk ? len - off : chunk;
		if ((w = send(fd, data + off, n, MSG_NOSIGNAL)) == -1) {
			if (errno != EAGAIN && errno != EPIPE &&
			    errno != ECONNRESET)
				fatal("harness: write");
			break;
		}
		n = (size_t)w;
		sock_run_until_idle(fd);
	}

	close(fd);
	for (i = 0; i < TURNS_MAX && srv.stats.conns != 0; i++)
		server_turn(EVLOOP_NONBLOCK);
	if (srv.stats.conns != 0)
		fatalx("harness: a RESP connection outlived its client");
	srv.conf.resp_password = NULL;
}
