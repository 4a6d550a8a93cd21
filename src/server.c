/* SPDX-License-Identifier: ISC */
/*
 * server.c: the event loop and its group commit.
 *
 * One turn of the loop is one event_base_loop(EVLOOP_ONCE).  Every write a
 * handler makes during a turn goes into one LMDB write transaction, opened
 * on demand by batch_txn().  Whatever a handler wants to send while that
 * transaction is open is held back as a deferred action, in order, and goes
 * out only after the commit has been fsync'd: on success the "ok" form, on
 * failure the "fail" form (an error).  Pushes of queued items to devices are
 * never deferred: they are read from committed data after the commit, by
 * the pump.  So nothing a client is told depends on data that could still be
 * lost, and one fsync covers everything that arrived in the same turn.
 */
#include <sys/types.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "tickd.h"

struct server	 srv;

#define OUT_RAW		0	/* HTTP bytes */
#define OUT_WS_TEXT	1	/* a text frame */
#define OUT_WS_CLOSE	2	/* a close frame with code in len */
#define OUT_WS_REPLY	3	/* a text frame, or the internal error */
#define OUT_CALL	4	/* a call told whether the commit held */

struct deferred {
	TAILQ_ENTRY(deferred)	 entry;
	struct conn		*c;
	int			 kind;
	char			*ok;
	size_t			 oklen;
	char			*fail;	/* NULL: send ok either way */
	size_t			 faillen;
	json_t			*ref;	/* OUT_WS_REPLY: what its error echoes */
	json_t			*id;
	void			(*call)(void *, int);	/* OUT_CALL */
	void			*arg;
};

static TAILQ_HEAD(, conn)	 pumps = TAILQ_HEAD_INITIALIZER(pumps);
TAILQ_HEAD(deferreds, deferred);
static struct deferreds		 deferred = TAILQ_HEAD_INITIALIZER(deferred);

static struct txn		 batch;
static int			 batch_open;

/*
 * While sync.c syncs a commit's meta page, what it released waits in
 * deferred (holding); held_last is its last entry if a batch opened
 * meanwhile (held_cut), whose output waits for that batch instead.
 */
static int			 syncing, holding, held_cut;
static int			 releasing;	/* deferred_run's own output */
static struct timespec		 commit_t0;	/* of the commit under way */
static struct deferred		*held_last;

static struct evconnlistener	*listener;	/* listen: TLS if configured */
static struct evconnlistener	*listener_plain; /* listen_plain, loopback */
static struct evconnlistener	*listener_metrics; /* metrics_listen */

#define ACCEPT_BACKOFF	250	/* ms without accepting after EMFILE */
#define ACCEPT_LOG_GAP	10000	/* ms between two such log lines */
#define FD_RESERVE	32	/* descriptors tickd needs besides clients */

/* Listeners paused for want of descriptors, until accept_timer fires. */
static struct evconnlistener	*paused[4];
static size_t			 npaused;
static struct event		*accept_timer;
static struct event		*ev_sigterm, *ev_sigint, *ev_sighup;
static struct event		*ev_sweep;

static void	sweep_schedule(void);

/*
 * The write transaction of this turn, opened on first use.  NULL if LMDB
 * would not open one; the caller answers "internal".
 */
struct txn *
batch_txn(void)
{
	int	ret;

	if (batch_open)
		return (&batch);
	if ((ret = store_txn_begin(srv.store, &batch, 1)) != STORE_OK) {
		log_warnx("server: cannot begin write transaction (%d)", ret);
		return (NULL);
	}
	batch_open = 1;
	if (holding && !held_cut) {
		held_cut = 1;
		held_last = TAILQ_LAST(&deferred, deferreds);
	}
	return (&batch);
}

/*
 * Holds output for c until the end of the turn.  Takes ownership of ok and
 * fail.  Without an open batch there is nothing to wait for; callers check
 * that through conn output helpers, which call this only while one is open.
 */
static struct deferred *
defer(struct conn *c, int kind, char *ok, size_t oklen, char *fail,
    size_t faillen)
{
	struct deferred	*d;

	d = xcalloc(1, sizeof *d);
	d->c = c;
	d->kind = kind;
	d->ok = ok;
	d->oklen = oklen;
	d->fail = fail;
	d->faillen = faillen;
	c->refs++;
	c->ndeferred++;
	if (ok != NULL)
		c->deferred_bytes += oklen;
	TAILQ_INSERT_TAIL(&deferred, d, entry);
	return (d);
}

/*
 * A reply to send once the batch commits: ok if it did, fail (if not NULL) if
 * it did not.
 */
void
batch_defer(struct conn *c, char *ok, size_t oklen, char *fail,
    size_t faillen)
{
	defer(c, c->is_ws ? OUT_WS_TEXT : OUT_RAW, ok, oklen, fail, faillen);
}

/*
 * call(arg, committed) once the batch has committed or failed, in its turn
 * among c's deferred output, for work done in steps (tickctl repair): it
 * is called even if c has died meanwhile, so that it can free its state.
 */
void
batch_defer_call(struct conn *c, void (*call)(void *, int), void *arg)
{
	struct deferred	*d;

	d = defer(c, OUT_CALL, NULL, 0, NULL, 0);
	d->call = call;
	d->arg = arg;
}

/*
 * A WebSocket reply whose failure form is the internal error echoing ref
 * and id.  That error is built only if the commit fails, not for every
 * message sent.
 */
void
batch_defer_reply(struct conn *c, char *ok, size_t oklen, json_t *ref,
    json_t *id)
{
	struct deferred	*d;

	d = defer(c, OUT_WS_REPLY, ok, oklen, NULL, 0);
	if (ref != NULL)
		d->ref = json_incref(ref);
	if (id != NULL)
		d->id = json_incref(id);
}

/*
 * Appends bytes to an output buffer BUF_PIECE at a time.  libevent sizes a
 * new chain to a power of two over what one call adds, so a large call
 * can leave half a chain unused; in pieces every chain but the last is
 * full, and all but the first few have 4 or 8 KB, which buf_mem() counts
 * (tickd.conf(5) max_output_bytes).  -1 when out of memory.
 */
int
buf_add(struct evbuffer *b, const void *data, size_t len)
{
	const char	*p = data;
	size_t		 n;

	while (len > 0) {
		n = len < BUF_PIECE ? len : BUF_PIECE;
		if (evbuffer_add(b, p, n) != 0)
			return (-1);
		p += n;
		len -= n;
	}
	return (0);
}

/*
 * The memory a buffer filled by buf_add() holds: its bytes, a header of
 * under 1/64 of each chain, the sent part of its first chain and the
 * unused room of its last.
 */
size_t
buf_mem(struct evbuffer *b)
{
	size_t	len = evbuffer_get_length(b);

	if (len == 0)
		return (0);
	return (len + len / 64 + 2 * BUF_CHAIN);
}

/* Sends HTTP bytes now, or after the commit if output must wait. */
void
conn_write_raw(struct conn *c, const char *data, size_t len)
{
	char	*copy;

	if (conn_must_defer()) {
		copy = xmalloc(len);
		memcpy(copy, data, len);
		defer(c, OUT_RAW, copy, len, NULL, 0);
		return;
	}
	if (!c->dead && buf_add(bufferevent_get_output(conn_bev(c)), data,
	    len) != 0)
		conn_free_later(c);
}

/* Whether output for c must wait for the commit. */
int
conn_must_defer(void)
{
	return (!releasing && (batch_open || holding));
}

/*
 * Whether this turn's batch holds writes not yet committed: a read that must
 * see them goes through batch_txn().
 */
int
batch_is_open(void)
{
	return (batch_open);
}

/*
 * A WebSocket close with code, sent after this batch's commit like the replies
 * before it.
 */
void
conn_defer_close(struct conn *c, uint16_t code)
{
	defer(c, OUT_WS_CLOSE, NULL, code, NULL, 0);
}

/* Marks c for a pump of its queue after this turn's commit. */
void
pump_later(struct conn *c)
{
	if (c->pump_queued || c->dead || !c->authed)
		return;
	c->pump_queued = 1;
	c->refs++;
	TAILQ_INSERT_TAIL(&pumps, c, pump_entry);
}

/* Marks every online device among targets for a pump. */
void
pump_targets(const struct targets *t)
{
	struct conn	*c;
	size_t		 i;

	for (i = 0; i < t->n; i++) {
		if ((c = device_conn(t->v[i].user, t->v[i].device)) != NULL)
			pump_later(c);
		resp_queue_touched(t->v[i].user, t->v[i].device);
	}
}

/*
 * Sends what waited for the commit, ok or failed, in the order it was
 * deferred, up to last.
 */
static void
deferred_run(struct deferred *last, int ok)
{
	struct deferreds	 now = TAILQ_HEAD_INITIALIZER(now);
	struct deferred		*d;
	char			*data;
	size_t			 len;

	/*
	 * Only what waited for this commit: sending can open the next batch
	 * (a closing device records its last_active), and what is deferred
	 * then waits for that one.
	 */
	if (last == NULL)
		return;
	do {
		d = TAILQ_FIRST(&deferred);
		TAILQ_REMOVE(&deferred, d, entry);
		TAILQ_INSERT_TAIL(&now, d, entry);
	} while (d != last);
	while ((d = TAILQ_FIRST(&now)) != NULL) {
		TAILQ_REMOVE(&now, d, entry);
		data = (ok || d->fail == NULL) ? d->ok : d->fail;
		len = (ok || d->fail == NULL) ? d->oklen : d->faillen;
		d->c->ndeferred--;
		if (d->ok != NULL)
			d->c->deferred_bytes -= d->oklen;
		if (d->kind == OUT_CALL)
			d->call(d->arg, ok);
		else if (!d->c->dead) {
			/*
			 * Out now, even with the next batch open: deferred
			 * again, it would go behind what came after it.
			 */
			releasing = 1;
			switch (d->kind) {
			case OUT_RAW:
				conn_write_raw(d->c, data, len);
				break;
			case OUT_WS_TEXT:
				ws_send(d->c, data, len);
				break;
			case OUT_WS_CLOSE:
				ws_close(d->c, (uint16_t)d->oklen, NULL);
				break;
			case OUT_WS_REPLY:
				if (ok)
					ws_send(d->c, data, len);
				else
					ws_send_error(d->c, TE_INTERNAL,
					    "store full or write failed",
					    d->ref, d->id);
				break;
			}
			releasing = 0;
			conn_check_closing(d->c);
		}
		conn_unref(d->c);
		free(d->ok);
		free(d->fail);
		json_decref(d->ref);
		json_decref(d->id);
		free(d);
	}
}

/* Records in the metrics how long the commit begun at commit_t0 took. */
static void
commit_timed(int ok)
{
	struct timespec	t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	metrics_commit((double)(t1.tv_sec - commit_t0.tv_sec) +
	    (double)(t1.tv_nsec - commit_t0.tv_nsec) / 1e9, ok);
}

/*
 * Commits the batch with one fsync; 1 if it was committed, 0 if not (store
 * full or I/O error).
 */
static int
batch_commit(void)
{
	int	ret;

	if (srv.midgen.dirty)
		store_mid_save(&batch, &srv.midgen.last);
	clock_gettime(CLOCK_MONOTONIC, &commit_t0);
	ret = store_txn_commit(&batch);
	batch_open = 0;
	/* With the sync thread, timed once its sync is done too. */
	if (ret != STORE_OK || !srv.sync_on)
		commit_timed(ret == STORE_OK);
	if (ret == STORE_OK) {
		srv.midgen.dirty = 0;
		if (srv.store_full || srv.commit_failed)
			log_info("server: store writable again");
		srv.store_full = 0;
		srv.commit_failed = 0;
		return (1);
	}
	if (ret == STORE_FULL) {
		/*
		 * A dead reader may hold pages that would be free: clear it,
		 * and the next batch has them (tickd.conf(5) map_size).
		 */
		if (store_reader_check(srv.store) > 0)
			return (0);
		if (!srv.store_full)
			log_warnx("server: store full (map_size %llu bytes); "
			    "writes are refused until map_size is raised",
			    (unsigned long long)srv.conf.map_size);
		srv.store_full = 1;
	} else {
		log_warnx("server: commit failed (%d)", ret);
		srv.commit_failed = 1;
	}
	return (0);
}

/*
 * After a commit (or none, committed 0): push, tell the cluster, serve
 * blocked RESP clients, pump queues, close what died, send what was asked
 * of Redis.  Replies waiting in deferred are the caller's.
 */
static void
after_commit(int committed, int ok)
{
	struct conn	*c;

	push_http_commit();
	if (committed)
		cluster_commit(ok);
	resp_serve_ready(ok);
	/*
	 * A pump reads committed data only: with a batch open, what it was
	 * asked for may be in that batch, so it runs after that commit.
	 */
	while (!batch_open && (c = TAILQ_FIRST(&pumps)) != NULL) {
		TAILQ_REMOVE(&pumps, c, pump_entry);
		c->pump_queued = 0;
		/*
		 * Even after a failed commit: the pump reads committed data
		 * only, and a full store must still drain.
		 */
		if (!c->dead)
			ws_pump(c);
		conn_unref(c);
	}
	conn_reap_all();
	cluster_flush();
}

/*
 * Lets sync.c's worker sync the meta page of the commit just made while the
 * loop works out what it releases and, outside a cluster, serves the next
 * turns; all their output waits in deferred until sync_end (tickd(8),
 * COMMITS).
 */
static void
sync_begin(void)
{
	sync_start();
	syncing = 1;
	holding = 1;
	held_cut = 0;
	held_last = NULL;
	after_commit(1, 1);
}

/*
 * In a cluster, what after_commit asked of Redis (XACK, done, the outbox)
 * must not leave before the sync, and hiredis sends it as soon as the loop
 * runs: the loop waits for the sync there, and while tickd stops.
 */
static int
sync_overlap(void)
{
	return (!srv.quit && !cluster_on());
}

/*
 * Ends the sync under way once the worker has answered (with wait, blocking
 * until then); 0 if it has not.  What waited for the commit goes.  Should
 * the sync have failed, the commit's durability is unknown, and commits
 * sync on the loop from then on: the next one, made at once, writes the
 * other meta page, which holds this commit too, and what waited goes as
 * that commit went.
 */
static int
sync_end(int wait)
{
	struct deferred	*last;
	int		 fd, ok;

	if (!sync_collect(wait, &ok))
		return (0);
	syncing = 0;
	holding = 0;
	last = held_cut ? held_last : TAILQ_LAST(&deferred, deferreds);
	commit_timed(ok);
	if (ok) {
		deferred_run(last, 1);
		/* Pumps asked for by what was released. */
		after_commit(0, 1);
		return (1);
	}
	log_warnx("server: a commit's sync failed; commits sync on the event "
	    "loop until tickd restarts");
	srv.sync_on = 0;
	if (store_meta_sync_later(srv.store, 0, &fd) != STORE_OK)
		log_warnx("server: commits may still not sync their meta page");
	srv.midgen.dirty = 1;
	ok = batch_txn() != NULL && batch_commit();
	audit_commit(ok);
	deferred_run(TAILQ_LAST(&deferred, deferreds), ok);
	after_commit(1, ok);
	return (1);
}

/*
 * The end of a turn: commit, then release what waited for it.  Closing a
 * device writes its last_active, which opens another batch, so go round
 * until nothing is left.  While the worker syncs a commit, the batch of
 * the turns meanwhile stays open: it commits once that sync is done.
 */
static void
turn_end(void)
{
	int	 ok, committed;

	do {
		if (syncing && !sync_end(!sync_overlap()))
			return;
		ok = 1;
		committed = batch_open;
		if (batch_open) {
			ok = batch_commit();
			audit_commit(ok);
		}
		if (committed && ok && srv.sync_on) {
			sync_begin();
			continue;
		}
		deferred_run(TAILQ_LAST(&deferred, deferreds), ok);
		after_commit(committed, ok);
	} while (syncing || batch_open || !TAILQ_EMPTY(&deferred));
}

/*
 * The sweep timer: drops expired items, messages, tokens and idle devices in
 * the batch.
 */
static void
sweep_cb(evutil_socket_t fd, short events, void *arg)
{
	struct sweep_res	 res;
	struct txn		*txn;
	size_t			 i;

	(void)fd; (void)events; (void)arg;
	memset(&res, 0, sizeof res);
	if ((txn = batch_txn()) != NULL &&
	    queue_sweep(txn, &srv.midgen, &srv.conf, now_ms(), device_online,
	    NULL, &res) == STORE_OK) {
		for (i = 0; i < res.removed.n; i++) {
			log_info("sweep: device %s:%s removed after device_ttl",
			    res.removed.v[i].user, res.removed.v[i].device);
			resp_view_gone(res.removed.v[i].user,
			    res.removed.v[i].device);
			audit_event(AUDIT_DEVICE_REMOVED, res.removed.v[i].user,
			    res.removed.v[i].device, NULL,
			    json_pack("{s:s}", "by", "expiry"));
		}
		if (res.items != 0 || res.msgs != 0 || res.tokens != 0)
			log_debug("sweep: %llu items, %llu messages, %llu "
			    "tokens expired", (unsigned long long)res.items,
			    (unsigned long long)res.msgs,
			    (unsigned long long)res.tokens);
	}
	if (txn != NULL)
		media_http_sweep(txn);
	targets_free(&res.removed);
	limit_prune();
	store_reader_check(srv.store);
	sweep_schedule();
}

/*
 * Expiry runs at a quarter of the shortest lifetime, between 100 ms and a
 * minute, so small test values take effect quickly and big ones cost
 * little.
 */
static void
sweep_schedule(void)
{
	struct timeval	tv;
	uint64_t	ms;

	ms = srv.conf.message_ttl;
	if (srv.conf.device_ttl < ms)
		ms = srv.conf.device_ttl;
	if (srv.conf.dedup_window < ms)
		ms = srv.conf.dedup_window;
	if (srv.conf.token_ttl < ms)
		ms = srv.conf.token_ttl;
	if (srv.conf.media_ttl < ms)
		ms = srv.conf.media_ttl;
	ms /= 4;
	if (ms < 100)
		ms = 100;
	if (ms > 60000)
		ms = 60000;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(ev_sweep, &tv);
}

/*
 * Adds one line to the reload report's array kind: "changed", "restart",
 * "reloaded" or "failed" (tickd(8) SIGNALS).
 */
void
reload_note(json_t *report, const char *kind, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		fatal("vasprintf");
	va_end(ap);
	json_array_append_new(json_object_get(report, kind),
	    json_string(msg));
	free(msg);
}

/* Moves key from the report's "changed" to its "restart". */
void
reload_restart(json_t *report, const char *key)
{
	json_t	*changed = json_object_get(report, "changed");
	json_t	*restart = json_object_get(report, "restart");
	json_t	*v;
	size_t	 i;

	json_array_foreach(changed, i, v) {
		if (strcmp(json_string_value(v), key) == 0) {
			json_array_remove(changed, i);
			break;
		}
	}
	json_array_foreach(restart, i, v) {
		if (strcmp(json_string_value(v), key) == 0)
			return;
	}
	json_array_append_new(restart, json_string(key));
}

/* Logs a reload report, a line for each part, as tickctl reload shows it. */
static void
reload_log(json_t *report)
{
	json_t	*v;
	size_t	 i;

	json_array_foreach(json_object_get(report, "changed"), i, v)
		log_info("reload: %s changed", json_string_value(v));
	json_array_foreach(json_object_get(report, "restart"), i, v)
		log_warnx("reload: %s changed; it takes effect only after a "
		    "restart", json_string_value(v));
	json_array_foreach(json_object_get(report, "reloaded"), i, v)
		log_info("reload: %s", json_string_value(v));
	json_array_foreach(json_object_get(report, "failed"), i, v)
		log_warnx("reload: failed: %s", json_string_value(v));
	if (json_array_size(json_object_get(report, "failed")) != 0)
		log_warnx("reload: %zu part(s) failed; see above",
		    json_array_size(json_object_get(report, "failed")));
	else
		log_info("reload: configuration re-read from %s",
		    srv.conf.path);
}

/*
 * Re-reads the configuration file; only reloadable settings change.  The
 * report says what changed, what needs a restart, what was read again and
 * what failed and why; it is logged, and the caller owns it.
 */
json_t *
server_reload(void)
{
	struct conf	 fresh;
	char		*cause = NULL;
	json_t		*report;

	report = json_pack("{s:s,s:[],s:[],s:[],s:[]}", "config",
	    srv.conf.path, "changed", "restart", "reloaded", "failed");
	if (report == NULL)
		fatalx("reload: out of memory");
	notify_reloading();
	conf_init(&fresh);
	if (conf_load(&fresh, srv.conf.path, &cause) != 0) {
		reload_note(report, "failed", "%s; the running configuration "
		    "is kept", cause);
		free(cause);
		conf_clear(&fresh);
		reload_log(report);
		notify_ready(srv.base);
		return (report);
	}
	conf_apply_reload(&srv.conf, &fresh, report);
	conf_clear(&fresh);
	if (srv.verbose)
		srv.conf.log_level = L_DEBUG;
	log_setlevel(srv.conf.log_level);
	log_reopen();
	tls_reload(report);
	audit_reload(report);
	push_http_reload(report);
	evtimer_del(ev_sweep);
	sweep_schedule();
	reload_log(report);
	notify_ready(srv.base);
	return (report);
}

/* SIGHUP reloads the configuration; SIGTERM and SIGINT stop the loop. */
static void
signal_cb(evutil_socket_t sig, short events, void *arg)
{
	(void)events; (void)arg;
	if (sig == SIGHUP) {
		json_decref(server_reload());
		return;
	}
	log_info("server: signal %d, shutting down", (int)sig);
	notify_stopping();
	srv.quit = 1;
}

/* A new connection on the HTTP listener (TLS if it is on) or the plain one. */
static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	int	 proxied;

	(void)arg;
	proxied = l == listener ? srv.conf.listen_proxy_protocol :
	    srv.conf.listen_plain_proxy_protocol;
	if (proxied)
		proxy_conn_accept(fd, sa, salen, "http", http_accept,
		    l == listener && tls_enabled());
	else
		http_accept(fd, sa, salen, l == listener && tls_enabled());
}

/* The accept back-off is over: listen again. */
static void
accept_resume_cb(evutil_socket_t fd, short events, void *arg)
{
	size_t	i;

	(void)fd; (void)events; (void)arg;
	for (i = 0; i < npaused; i++)
		evconnlistener_enable(paused[i]);
	npaused = 0;
}

/* Pauses l, once, until accept_timer fires. */
static void
accept_pause(struct evconnlistener *l)
{
	size_t	i;

	if (l == NULL)
		return;
	for (i = 0; i < npaused; i++) {
		if (paused[i] == l)
			return;
	}
	if (npaused == sizeof paused / sizeof paused[0])
		return;
	evconnlistener_disable(l);
	paused[npaused++] = l;
}

/*
 * accept(2) failed on l.  Out of descriptors, the pending connection stays
 * in the backlog and the listener would fire again at once, so every
 * listener pauses for ACCEPT_BACKOFF while existing clients are served,
 * and this is logged once per ACCEPT_LOG_GAP (tickd.conf(5)
 * max_connections).
 */
void
server_accept_failed(struct evconnlistener *l, const char *who)
{
	static uint64_t	 logged;
	static uint64_t	 missed;
	struct timeval	 tv = { 0, ACCEPT_BACKOFF * 1000 };
	uint64_t	 now = now_ms();
	int		 err = EVUTIL_SOCKET_ERROR();

	if (err != EMFILE && err != ENFILE && err != ENOBUFS &&
	    err != ENOMEM) {
		log_warnx("%s: accept: %s", who, strerror(err));
		return;
	}
	missed++;
	if (now - logged >= ACCEPT_LOG_GAP) {
		log_warnx("%s: accept: %s; not accepting for %d ms "
		    "(%llu times since the last report)", who, strerror(err),
		    ACCEPT_BACKOFF, (unsigned long long)missed);
		logged = now;
		missed = 0;
	}
	accept_pause(l);
	accept_pause(listener);
	accept_pause(listener_plain);
	accept_pause(listener_metrics);
	if (accept_timer != NULL && !evtimer_pending(accept_timer, NULL))
		evtimer_add(accept_timer, &tv);
}

/*
 * accept() failed on the listener: server_accept_failed() pauses the listeners
 * a while.
 */
static void
accept_error_cb(struct evconnlistener *l, void *arg)
{
	(void)arg;
	server_accept_failed(l, "server");
}

/*
 * Raises the soft limit on descriptors to the hard one, and warns when
 * max_connections cannot all be open within it (tickd.conf(5)).
 */
static void
nofile_check(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		log_warn("server: getrlimit");
		return;
	}
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			log_warn("server: cannot raise RLIMIT_NOFILE");
		if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
			return;
	}
	if (rl.rlim_cur != RLIM_INFINITY &&
	    srv.conf.max_connections + FD_RESERVE > rl.rlim_cur)
		log_warnx("server: max_connections %llu exceeds the %llu "
		    "descriptors RLIMIT_NOFILE leaves for clients; "
		    "connections past that wait in the backlog",
		    (unsigned long long)srv.conf.max_connections,
		    rl.rlim_cur > FD_RESERVE ?
		    (unsigned long long)(rl.rlim_cur - FD_RESERVE) : 0ULL);
}

/*
 * Two daemons on one data_dir would hand out the same mids; a lock file
 * held for the daemon's life refuses the second.
 */
static int
lock_data_dir(char **cause)
{
	char	*path;
	int	 fd;

	if (mkdir(srv.conf.data_dir, 0700) == -1 && errno != EEXIST) {
		xasprintf(cause, "cannot create data_dir %s: %s",
		    srv.conf.data_dir, strerror(errno));
		return (-1);
	}
	xasprintf(&path, "%s/tickd.lock", srv.conf.data_dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd == -1 || flock(fd, LOCK_EX | LOCK_NB) == -1) {
		xasprintf(cause, errno == EWOULDBLOCK ? "%s is in use by "
		    "another tickd" : "cannot lock %s: %s", path,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		free(path);
		return (-1);
	}
	free(path);
	srv.lock_fd = fd;
	return (0);
}

/*
 * listen_plain: a plain port next to the TLS one, for a reverse proxy or
 * health checks on the same machine; anything but loopback is refused.
 */
static int
listen_plain_init(char **cause)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	char			*why;
	int			 loopback;

	if (srv.conf.listen_plain == NULL)
		return (0);
	if (conf_address(srv.conf.listen_plain, &ss, &len, &why) != 0) {
		xasprintf(cause, "listen_plain: %s", why);
		free(why);
		return (-1);
	}
	loopback = ss.ss_family == AF_INET ?
	    (ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr) >> 24) == 127 :
	    IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)&ss)->sin6_addr);
	if (!loopback) {
		xasprintf(cause, "listen_plain %s is not a loopback address; "
		    "plain HTTP is only served on loopback",
		    srv.conf.listen_plain);
		return (-1);
	}
	listener_plain = evconnlistener_new_bind(srv.base, accept_cb, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    1024, (struct sockaddr *)&ss, (int)len);
	if (listener_plain == NULL) {
		xasprintf(cause, "cannot listen on %s: %s",
		    srv.conf.listen_plain, strerror(errno));
		return (-1);
	}
	evconnlistener_set_error_cb(listener_plain, accept_error_cb);
	return (0);
}

/* A new connection on metrics_listen: /metrics and /healthz only. */
static void
accept_metrics_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	(void)l; (void)arg;
	http_accept_metrics(fd, sa, salen, 0);
}

/*
 * metrics_listen: a plain port of its own for /metrics, which the public
 * listeners then do not serve (tickd.conf(5) Metrics).
 */
static int
listen_metrics_init(char **cause)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	char			*why;

	if (srv.conf.metrics_listen == NULL)
		return (0);
	if (conf_address(srv.conf.metrics_listen, &ss, &len, &why) != 0) {
		xasprintf(cause, "metrics_listen: %s", why);
		free(why);
		return (-1);
	}
	listener_metrics = evconnlistener_new_bind(srv.base,
	    accept_metrics_cb, NULL, LEV_OPT_CLOSE_ON_FREE |
	    LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 64,
	    (struct sockaddr *)&ss, (int)len);
	if (listener_metrics == NULL) {
		xasprintf(cause, "cannot listen on %s: %s",
		    srv.conf.metrics_listen, strerror(errno));
		return (-1);
	}
	evconnlistener_set_error_cb(listener_metrics, accept_error_cb);
	return (0);
}

/* Opens the store and binds the listener; errors are for the operator. */
int
server_init(char **cause)
{
	struct txn	txn;
	struct mid	hw;
	int		ret, fd;

	if ((srv.base = event_base_new()) == NULL) {
		*cause = xstrdup("cannot create the event loop");
		return (-1);
	}
	nofile_check();
	if ((accept_timer = evtimer_new(srv.base, accept_resume_cb,
	    NULL)) == NULL) {
		*cause = xstrdup("cannot create the accept timer");
		return (-1);
	}
	listener = evconnlistener_new_bind(srv.base, accept_cb, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    1024, (struct sockaddr *)&srv.conf.listen_ss,
	    (int)srv.conf.listen_len);
	if (listener == NULL) {
		xasprintf(cause, "cannot listen on %s: %s", srv.conf.listen,
		    strerror(errno));
		return (-1);
	}
	evconnlistener_set_error_cb(listener, accept_error_cb);
	/* Every port is bound before privileges are dropped. */
	if (tls_init(cause) != 0 || listen_plain_init(cause) != 0 ||
	    listen_metrics_init(cause) != 0 || resp_init(cause) != 0)
		return (-1);
	if (metrics_init(srv.base) != 0) {
		*cause = xstrdup("cannot start the event loop lag probe");
		return (-1);
	}
	/*
	 * Still root, if started so: last chance to create files as such,
	 * and to read cluster_redis_ca_file.
	 */
	if (priv_init(cause) != 0 || control_init(cause) != 0 ||
	    cluster_tls_load(cause) != 0 || priv_drop(cause) != 0)
		return (-1);
	if (lock_data_dir(cause) != 0 || web_init(cause) != 0)
		return (-1);
	if (store_open(&srv.store, srv.conf.data_dir, srv.conf.map_size,
	    cause) != STORE_OK)
		return (-1);
	if ((ret = store_txn_begin(srv.store, &txn, 0)) != STORE_OK ||
	    (ret = store_mid_load(&txn, &hw)) != STORE_OK) {
		if (ret == STORE_OK)
			store_txn_abort(&txn);
		xasprintf(cause, "cannot read the mid high-water mark from %s",
		    srv.conf.data_dir);
		return (-1);
	}
	store_txn_abort(&txn);
	midgen_init(&srv.midgen, &hw);
	if (srv.conf.sync_thread) {
		if (store_meta_sync_later(srv.store, 1, &fd) != STORE_OK) {
			*cause = xstrdup("cannot set up the store for the "
			    "sync thread");
			return (-1);
		}
		if (sync_init(srv.base, fd, cause) != 0)
			return (-1);
		srv.sync_on = 1;
	}
	/* One walk now, so that no scrape or stats walks the devices. */
	if (store_totals_start(srv.store) != 0) {
		xasprintf(cause, "cannot count the queues in %s",
		    srv.conf.data_dir);
		return (-1);
	}
	if (store_oldest_start(srv.store) != 0) {
		xasprintf(cause, "cannot read the oldest queued items in %s",
		    srv.conf.data_dir);
		return (-1);
	}
	if (media_http_init(cause) != 0)
		return (-1);
	if (kdf_init(srv.base, cause) != 0)
		return (-1);
	if (audit_init(cause) != 0)
		return (-1);
	if (push_http_init(cause) != 0)
		return (-1);
	if (cluster_init(cause) != 0)
		return (-1);

	ev_sigterm = evsignal_new(srv.base, SIGTERM, signal_cb, NULL);
	ev_sigint = evsignal_new(srv.base, SIGINT, signal_cb, NULL);
	ev_sighup = evsignal_new(srv.base, SIGHUP, signal_cb, NULL);
	ev_sweep = evtimer_new(srv.base, sweep_cb, NULL);
	if (ev_sigterm == NULL || ev_sigint == NULL || ev_sighup == NULL ||
	    ev_sweep == NULL || evsignal_add(ev_sigterm, NULL) != 0 ||
	    evsignal_add(ev_sigint, NULL) != 0 ||
	    evsignal_add(ev_sighup, NULL) != 0) {
		*cause = xstrdup("cannot set up signal handling");
		return (-1);
	}
	signal(SIGPIPE, SIG_IGN);
	sweep_schedule();
	return (0);
}

/* The drain deadline: its firing only ends event_base_loop's wait. */
static void
deadline_cb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd; (void)events; (void)arg;
}

/*
 * Stopping: no new connections, the commit in flight is finished by the
 * last turn_end(), every WebSocket client gets 1001, and we wait a little
 * for those close frames to leave.
 */
static void
server_drain(void)
{
	struct timeval	 tv = { 2, 0 };
	struct event	*deadline;
	int		 expired = 0;

	if (accept_timer != NULL)
		evtimer_del(accept_timer);
	npaused = 0;
	evconnlistener_disable(listener);
	resp_drain();
	if (listener_plain != NULL)
		evconnlistener_disable(listener_plain);
	if (listener_metrics != NULL)
		evconnlistener_disable(listener_metrics);
	proxy_conn_free_all();
	conn_close_all();
	turn_end();
	deadline = evtimer_new(srv.base, deadline_cb, NULL);
	if (deadline == NULL)
		return;
	evtimer_add(deadline, &tv);
	while (conn_first() != NULL && !expired) {
		event_base_loop(srv.base, EVLOOP_ONCE);
		expired = !evtimer_pending(deadline, NULL);
		turn_end();
	}
	event_free(deadline);
}

/*
 * One turn run with event_base_loop's flags, then its commit: what
 * server_loop does each time round, for a caller that drives the loop
 * itself, as the fuzz harness does with EVLOOP_NONBLOCK.
 */
int
server_turn(int flags)
{
	int	ret;

	ret = event_base_loop(srv.base, flags);
	turn_end();
	return (ret);
}

/*
 * Runs the loop one turn at a time, each ended by turn_end(), until a signal
 * stops it.
 */
void
server_loop(void)
{
	while (!srv.quit) {
		if (event_base_loop(srv.base, EVLOOP_ONCE) == -1) {
			log_warnx("server: event loop failed");
			break;
		}
		turn_end();
	}
	server_drain();
}

/* Frees every connection, listener, event and the store, at exit. */
void
server_free(void)
{
	struct conn	*c;

	srv.quit = 1;		/* turn_end waits for a sync under way */
	while ((c = conn_first()) != NULL) {
		conn_free_later(c);
		turn_end();
	}
	control_free();
	kdf_shutdown();
	sync_shutdown();
	if (listener != NULL)
		evconnlistener_free(listener);
	if (listener_plain != NULL)
		evconnlistener_free(listener_plain);
	if (listener_metrics != NULL)
		evconnlistener_free(listener_metrics);
	metrics_free();
	proxy_conn_free_all();
	tls_free();
	if (ev_sigterm != NULL)
		event_free(ev_sigterm);
	if (ev_sigint != NULL)
		event_free(ev_sigint);
	if (ev_sighup != NULL)
		event_free(ev_sighup);
	if (ev_sweep != NULL)
		event_free(ev_sweep);
	if (accept_timer != NULL)
		event_free(accept_timer);
	devtab_free();
	presence_free();
	limit_free();
	media_http_free_all();
	audit_shutdown();
	push_http_shutdown();
	cluster_shutdown();
	resp_shutdown();
	if (srv.store != NULL)
		store_close(srv.store);
	if (srv.lock_fd > 0)
		close(srv.lock_fd);
	if (srv.base != NULL)
		event_base_free(srv.base);
	conf_clear(&srv.conf);
}
