/* SPDX-License-Identifier: ISC */
/*
 * audit.c: the audit log of registrations, logins, logouts, device
 * removals and connections, shipped to PostgreSQL (never message contents).
 *
 * An event is first appended to the "audit" spool in LMDB, in the turn's
 * write transaction, so it commits (fsync'd) together with the change it
 * describes or not at all.  The shipper then reads committed events in id
 * order and sends them in batches over one libpq connection driven by the
 * event loop: PQconnectStartParams/PQconnectPoll, PQsendQueryParams and
 * PQconsumeInput on a non-blocking socket watched by libevent.  An event
 * leaves the spool only in a transaction made after PostgreSQL confirmed
 * the batch holding it; the event id is the table's primary key and the
 * insert does nothing on a conflict, so a batch sent twice (after a lost
 * reply, a crash or a restart of either side) is stored once.
 *
 * Nothing on the message path waits for PostgreSQL: a dead, slow or silent
 * server only makes the spool grow, up to audit_spool_max.  At that bound
 * tickd keeps serving; further events are counted, not kept, and once the
 * spool has room again one "events_dropped" event records how many were
 * lost and when, so the table itself shows the gap.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#ifdef HAVE_LIBPQ
#include <libpq-fe.h>
#endif

#include "tickd.h"

/* The kind column of each event, by enum audit_kind. */
static const char *const audit_kinds[AUDIT_NKINDS] = {
	[AUDIT_REGISTER] = "register",
	[AUDIT_LOGIN] = "login",
	[AUDIT_LOGIN_FAILED] = "login_failed",
	[AUDIT_LOGOUT] = "logout",
	[AUDIT_TOKEN_REVOKED] = "token_revoked",
	[AUDIT_DEVICE_REMOVED] = "device_removed",
	[AUDIT_CONNECT] = "connect",
	[AUDIT_DISCONNECT] = "disconnect",
	[AUDIT_EVENTS_DROPPED] = "events_dropped",
};

enum audit_state {
	AS_OFF,			/* no audit_pg, or no PostgreSQL support */
	AS_BACKOFF,		/* waiting to reconnect */
	AS_CONNECTING,
	AS_SETUP,		/* creating the table if missing */
	AS_IDLE,		/* connected, nothing in flight */
	AS_BUSY,		/* a batch in flight */
};

static const char *const audit_state_names[] = {
	[AS_OFF] = "off",
	[AS_BACKOFF] = "disconnected",
	[AS_CONNECTING] = "connecting",
	[AS_SETUP] = "creating table",
	[AS_IDLE] = "connected",
	[AS_BUSY] = "sending",
};

#define AUDIT_BATCH		500	/* events per INSERT */
#define AUDIT_BACKOFF_MIN	250	/* ms, first reconnect delay */

static struct {
	enum audit_state state;
	int		 spooling;	/* audit_pg is set: events are kept */
	int		 dirty;		/* events may wait to be shipped */
	int		 full;		/* the spool is at audit_spool_max */
	uint64_t	 shipped;	/* events confirmed since start */
	uint64_t	 dropped;	/* events not kept since start */
	uint64_t	 failures;	/* connections or batches that failed */
	char		 error[256];	/* the last failure, for tickctl */
#ifdef HAVE_LIBPQ
	char		*conninfo;	/* the audit_pg in use */
	PGconn		*pg;
	struct event	*ev_sock;	/* libpq's socket */
	evutil_socket_t	 sock_fd;
	short		 sock_what;
	struct event	*ev_timer;	/* backoff, connect and query timeout */
	struct event	*ev_kick;	/* ships once the loop is free */
	uint64_t	 backoff;	/* ms, next reconnect delay */
	size_t		 batch_max;	/* halved while PostgreSQL rejects */
	uint64_t	*ids;		/* the batch in flight */
	size_t		 nids;
	uint64_t	 last_at;	/* time of its newest event */
	int		 failed;	/* the command got an error */
	char		 sqlstate[6];	/* and its SQLSTATE */
	char		 pgerr[200];	/* and its message */
#endif
} audit;

/* Formats Unix ms as ISO 8601 in UTC, with milliseconds, into 32 bytes. */
static void
audit_time(uint64_t ms, char *buf, size_t len)
{
	struct tm	tm;
	time_t		t = (time_t)(ms / 1000);
	size_t		n;

	if (gmtime_r(&t, &tm) == NULL ||
	    (n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm)) == 0)
		n = strlcpy(buf, "1970-01-01T00:00:00", len);
	if (n < len)
		snprintf(buf + n, len - n, ".%03uZ", (unsigned)(ms % 1000));
}

/*
 * Splits "address:port" or "[address]:port", as struct conn holds it, into
 * the address for the inet column and the port for the detail.
 */
static void
audit_split_addr(const char *in, char *addr, size_t len, long *port)
{
	const char	*end, *colon;
	size_t		 n;

	*port = -1;
	addr[0] = '\0';
	if (in == NULL || *in == '\0')
		return;
	if (*in == '[') {
		in++;
		if ((end = strchr(in, ']')) == NULL)
			return;
		colon = end[1] == ':' ? end + 1 : NULL;
	} else {
		end = colon = strrchr(in, ':');
		if (end == NULL)
			end = in + strlen(in);
	}
	if ((n = (size_t)(end - in)) >= len)
		return;
	memcpy(addr, in, n);
	addr[n] = '\0';
	if (colon != NULL)
		*port = strtol(colon + 1, NULL, 10);
}

/* Counts an event the full spool could not keep, in the same commit. */
static void
audit_gap_add(struct txn *txn, uint64_t now)
{
	struct audit_gap	g;
	int			ret;

	ret = store_audit_gap_get(txn, &g);
	if (ret == STORE_NOTFOUND) {
		memset(&g, 0, sizeof g);
		g.first_at = now;
	} else if (ret != STORE_OK)
		return;
	g.count++;
	g.last_at = now;
	if (store_audit_gap_put(txn, &g) != STORE_OK)
		return;
	audit.dropped++;
	if (!audit.full) {
		log_warnx("audit: spool full (audit_spool_max %llu events): "
		    "new events are counted, not kept, until PostgreSQL has "
		    "caught up", (unsigned long long)srv.conf.audit_spool_max);
		audit.full = 1;
	}
}

/* Spools one record under a fresh id; detail is JSON text or NULL. */
static int
audit_spool(struct txn *txn, enum audit_kind kind, uint64_t at,
    const char *user, const char *device, const char *addr,
    const char *detail)
{
	struct audit_rec	r;
	uint64_t		id;
	int			ret;

	memset(&r, 0, sizeof r);
	r.at = at;
	r.kind = (uint8_t)kind;
	strlcpy(r.user, user != NULL ? user : "", sizeof r.user);
	strlcpy(r.device, device != NULL ? device : "", sizeof r.device);
	strlcpy(r.addr, addr != NULL ? addr : "", sizeof r.addr);
	r.detail = detail != NULL ? detail : "{}";
	r.detail_len = strlen(r.detail);
	if ((ret = store_audit_id_next(txn, at, &id)) != STORE_OK ||
	    (ret = store_audit_put(txn, id, &r)) != STORE_OK)
		return (ret);
	audit.dirty = 1;
	return (STORE_OK);
}

/*
 * Records an event in this turn's transaction.  Takes detail (a JSON
 * object or NULL).  addr is the peer as struct conn holds it, or NULL.
 */
void
audit_event(enum audit_kind kind, const char *user, const char *device,
    const char *addr, json_t *detail)
{
	struct txn	*txn;
	char		 host[AUDIT_ADDR_MAX + 1], *text;
	uint64_t	 now = now_ms(), n;
	long		 port;

	if (!audit.spooling) {
		json_decref(detail);
		return;
	}
	if ((txn = batch_txn()) == NULL) {
		log_warnx("audit: no transaction for a %s event of %s",
		    audit_kinds[kind], user != NULL ? user : "-");
		json_decref(detail);
		return;
	}
	if (store_audit_count(txn, &n) != STORE_OK) {
		json_decref(detail);
		return;
	}
	if (n >= srv.conf.audit_spool_max) {
		audit_gap_add(txn, now);
		json_decref(detail);
		return;
	}
	if (detail == NULL)
		detail = json_object();
	audit_split_addr(addr, host, sizeof host, &port);
	if (port >= 0)
		json_object_set_new(detail, "port", json_integer(port));
	text = json_dumps(detail, JSON_COMPACT);
	json_decref(detail);
	if (text == NULL) {
		log_warnx("audit: cannot encode a %s event", audit_kinds[kind]);
		return;
	}
	audit_spool(txn, kind, now, user, device, host, text);
	free(text);
}

/* An authenticated WebSocket: the connect event, and its start time. */
void
audit_connected(struct conn *c)
{
	json_t	*detail;

	c->audit_at = now_ms();
	detail = json_pack("{s:I}", "conn", (json_int_t)c->id);
	audit_event(AUDIT_CONNECT, c->user, c->device, c->addr, detail);
}

/* Remembers the first reason tickd or the peer gave to close c. */
void
audit_closing(struct conn *c, uint16_t code, const char *reason)
{
	if (c->close_reason != NULL)
		return;
	c->close_code = code;
	/* At most 63 bytes, as the close frame's reason is short anyway. */
	c->close_reason = xstrndup(reason != NULL && *reason != '\0' ?
	    reason : "closed", CLOSE_REASON_MAX);
}

/* The disconnect event of a connection that had a connect event. */
void
audit_disconnected(struct conn *c)
{
	json_t	*detail;

	if (c->audit_at == 0)
		return;
	detail = json_pack("{s:I,s:I,s:s}", "conn", (json_int_t)c->id,
	    "duration_ms", (json_int_t)(now_ms() - c->audit_at), "reason",
	    c->close_reason != NULL ? c->close_reason : "connection lost");
	if (c->close_code != 0)
		json_object_set_new(detail, "code",
		    json_integer(c->close_code));
	audit_event(AUDIT_DISCONNECT, c->user, c->device, c->addr, detail);
	c->audit_at = 0;
}

/* The connection state, spool depth and counters, for /metrics. */
void
audit_stats(struct audit_stats *st)
{
	struct txn	txn;

	memset(st, 0, sizeof *st);
	if (store_txn_begin(srv.store, &txn, 0) == STORE_OK) {
		store_audit_count(&txn, &st->spool);
		store_txn_abort(&txn);
	}
	st->enabled = audit.spooling;
	st->connected = audit.state == AS_IDLE || audit.state == AS_BUSY;
	st->full = audit.full;
	st->shipped = audit.shipped;
	st->dropped = audit.dropped;
	st->failures = audit.failures;
}

/*
 * What tickctl audit shows: state, spool depth, the last event PostgreSQL
 * confirmed, the events not kept and the last error.
 */
json_t *
audit_status(void)
{
	struct audit_stats	 st;
	struct audit_gap	 g;
	struct txn		 txn;
	uint64_t		 id = 0, at = 0;
	char			 when[32];
	json_t			*obj, *last = json_null(), *gap = json_null();

	audit_stats(&st);
	if (store_txn_begin(srv.store, &txn, 0) == STORE_OK) {
		if (store_audit_shipped_get(&txn, &id, &at) == STORE_OK &&
		    id != 0) {
			audit_time(at, when, sizeof when);
			last = json_pack("{s:I,s:s}", "event_id",
			    (json_int_t)id, "at", when);
		}
		if (store_audit_gap_get(&txn, &g) == STORE_OK) {
			audit_time(g.first_at, when, sizeof when);
			gap = json_pack("{s:I,s:s}", "events",
			    (json_int_t)g.count, "since", when);
		}
		store_txn_abort(&txn);
	}
	obj = json_pack("{s:b,s:s,s:I,s:I,s:o,s:I,s:I,s:o,s:I,s:s}",
	    "enabled", st.enabled,
	    "state", audit_state_names[audit.state],
	    "spool", (json_int_t)st.spool,
	    "spool_max", (json_int_t)srv.conf.audit_spool_max,
	    "last_shipped", last,
	    "shipped", (json_int_t)st.shipped,
	    "dropped", (json_int_t)st.dropped,
	    "unkept", gap,
	    "failures", (json_int_t)st.failures,
	    "last_error", audit.error);
	return (obj);
}

#ifdef HAVE_LIBPQ

/*
 * The table and its index, each created only if missing, so that a user
 * allowed nothing but INSERT on a table made beforehand gets through.
 */
static const char audit_setup_sql[] =
    "DO $$ BEGIN"
    " IF to_regclass('tickd_events') IS NULL THEN"
    "  CREATE TABLE IF NOT EXISTS tickd_events ("
    "   event_id bigint PRIMARY KEY,"
    "   at timestamptz NOT NULL,"
    "   kind text NOT NULL,"
    "   username text,"
    "   device text,"
    "   address inet,"
    "   detail jsonb NOT NULL DEFAULT '{}');"
    " END IF;"
    " IF to_regclass('tickd_events_username_at') IS NULL THEN"
    "  CREATE INDEX IF NOT EXISTS tickd_events_username_at"
    "   ON tickd_events (username, at);"
    " END IF;"
    " END $$";

/* One batch: a JSON array of events in $1; a known event_id is skipped. */
static const char audit_insert_sql[] =
    "INSERT INTO tickd_events"
    " (event_id, at, kind, username, device, address, detail)"
    " SELECT event_id, at, kind, username, device, address,"
    " coalesce(detail, '{}')"
    " FROM json_to_recordset($1::json) AS e(event_id bigint,"
    " at timestamptz, kind text, username text, device text,"
    " address inet, detail jsonb)"
    " ON CONFLICT (event_id) DO NOTHING";

static void	audit_connect(void);
static void	audit_sock_cb(evutil_socket_t, short, void *);

/*
 * Once the spool has room again, turns the count of events it could not
 * keep into an event of its own.
 */
static void
audit_gap_flush(struct txn *txn)
{
	struct audit_gap	 g;
	char			 from[32], to[32], *text;
	uint64_t		 n;
	json_t			*obj;

	if (store_audit_gap_get(txn, &g) != STORE_OK ||
	    store_audit_count(txn, &n) != STORE_OK ||
	    n >= srv.conf.audit_spool_max)
		return;
	audit_time(g.first_at, from, sizeof from);
	audit_time(g.last_at, to, sizeof to);
	obj = json_pack("{s:I,s:s,s:s,s:s}", "dropped", (json_int_t)g.count,
	    "first_at", from, "last_at", to, "reason", "audit_spool_max");
	text = obj != NULL ? json_dumps(obj, JSON_COMPACT) : NULL;
	json_decref(obj);
	if (text == NULL)
		return;
	if (audit_spool(txn, AUDIT_EVENTS_DROPPED, g.first_at, NULL, NULL,
	    NULL, text) == STORE_OK && store_audit_gap_del(txn) == STORE_OK) {
		log_warnx("audit: spool has room again; %llu events from %s "
		    "to %s were not kept", (unsigned long long)g.count, from,
		    to);
		audit.full = 0;
	}
	free(text);
}

/* Copies the first line of a libpq message, for the log. */
static void
audit_msg(char *buf, size_t len, const char *msg)
{
	size_t	n;

	strlcpy(buf, msg, len);
	buf[strcspn(buf, "\n")] = '\0';
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
}

/* PostgreSQL's notices ("already exists, skipping") go to the debug log. */
static void
audit_notice(void *arg, const char *msg)
{
	(void)arg;
	log_debug("audit: postgresql: %.*s", (int)strcspn(msg, "\n"), msg);
}

/* Arms the one timer: backoff, connect or answer deadline. */
static void
audit_timer_arm(uint64_t ms)
{
	struct timeval	tv;

	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(audit.ev_timer, &tv);
}

/* Watches libpq's socket for what (EV_READ and/or EV_WRITE). */
static int
audit_watch(short what)
{
	evutil_socket_t	fd;

	if ((fd = PQsocket(audit.pg)) < 0)
		return (-1);
	if (audit.ev_sock != NULL && fd == audit.sock_fd &&
	    what == audit.sock_what)
		return (0);
	if (audit.ev_sock != NULL)
		event_free(audit.ev_sock);
	audit.ev_sock = event_new(srv.base, fd, what | EV_PERSIST,
	    audit_sock_cb, NULL);
	if (audit.ev_sock == NULL || event_add(audit.ev_sock, NULL) != 0)
		return (-1);
	audit.sock_fd = fd;
	audit.sock_what = what;
	return (0);
}

/* Drops the connection and the batch in flight (it stays spooled). */
static void
audit_close(void)
{
	if (audit.ev_sock != NULL)
		event_free(audit.ev_sock);
	audit.ev_sock = NULL;
	if (audit.pg != NULL)
		PQfinish(audit.pg);
	audit.pg = NULL;
	free(audit.ids);
	audit.ids = NULL;
	audit.nids = 0;
	if (audit.ev_timer != NULL)
		evtimer_del(audit.ev_timer);
}

/*
 * A failure: close, then reconnect after the backoff with jitter (half
 * fixed, half random), doubling up to audit_backoff_max.
 */
static void
audit_fail(const char *what, const char *msg)
{
	uint64_t	delay, half;
	char		m[200], prev[sizeof audit.error];

	audit_msg(m, sizeof m, msg);
	strlcpy(prev, audit.error, sizeof prev);
	snprintf(audit.error, sizeof audit.error, "%s: %s", what, m);
	audit_close();
	audit.failures++;
	half = audit.backoff / 2;
	delay = half + (half != 0 ? (uint64_t)random() % (half + 1) : 0);
	/* The same failure again and again is logged once, then at debug. */
	if (strcmp(prev, audit.error) != 0)
		log_warnx("audit: %s; reconnecting in %llu ms", audit.error,
		    (unsigned long long)delay);
	else
		log_debug("audit: %s again; reconnecting in %llu ms",
		    audit.error, (unsigned long long)delay);
	audit.backoff *= 2;
	if (audit.backoff > srv.conf.audit_backoff_max)
		audit.backoff = srv.conf.audit_backoff_max;
	if (audit.backoff < AUDIT_BACKOFF_MIN)
		audit.backoff = AUDIT_BACKOFF_MIN;
	audit.state = AS_BACKOFF;
	audit_timer_arm(delay);
}

/* Sends what libpq holds; watches for writability until it is out. */
static void
audit_flush(void)
{
	int	ret;

	if ((ret = PQflush(audit.pg)) == -1) {
		audit_fail("send", PQerrorMessage(audit.pg));
		return;
	}
	if (audit_watch(ret == 1 ? EV_READ | EV_WRITE : EV_READ) != 0)
		audit_fail("send", "cannot watch the socket");
}

/* Adds one spooled event to the batch being built. */
static int
audit_batch_add(void *arg, uint64_t id, const struct audit_rec *r)
{
	json_t		*arr = arg, *ev, *detail;
	char		 at[32];

	detail = json_loadb(r->detail, r->detail_len, 0, NULL);
	audit_time(r->at, at, sizeof at);
	ev = json_pack("{s:I,s:s,s:s,s:o,s:o,s:o,s:o}",
	    "event_id", (json_int_t)id,
	    "at", at,
	    "kind", r->kind < AUDIT_NKINDS ? audit_kinds[r->kind] : "unknown",
	    "username", r->user[0] != '\0' ? json_string(r->user) :
	    json_null(),
	    "device", r->device[0] != '\0' ? json_string(r->device) :
	    json_null(),
	    "address", r->addr[0] != '\0' ? json_string(r->addr) :
	    json_null(),
	    "detail", detail != NULL ? detail : json_object());
	if (ev == NULL || json_array_append_new(arr, ev) != 0)
		return (STORE_WALK_STOP);
	audit.ids = xrealloc(audit.ids, (audit.nids + 1) * sizeof *audit.ids);
	audit.ids[audit.nids++] = id;
	audit.last_at = r->at;
	return (audit.nids >= audit.batch_max ? STORE_WALK_STOP :
	    STORE_WALK_NEXT);
}

/* Sends the oldest committed events, if any, as one INSERT. */
static void
audit_ship(void)
{
	struct txn	 txn;
	json_t		*arr;
	char		*param;
	const char	*values[1];

	if (audit.state != AS_IDLE || !audit.dirty)
		return;
	/*
	 * Events spooled in this turn's batch are not committed, so this read
	 * cannot see them: they keep dirty set, and audit_commit ships them.
	 */
	audit.dirty = batch_is_open();
	if (store_txn_begin(srv.store, &txn, 0) != STORE_OK)
		return;
	arr = json_array();
	audit.nids = 0;
	store_audit_walk(&txn, 0, audit_batch_add, arr);
	store_txn_abort(&txn);
	if (audit.nids == 0) {
		json_decref(arr);
		return;
	}
	param = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	if (param == NULL) {
		audit_fail("batch", "out of memory");
		return;
	}
	values[0] = param;
	audit.failed = 0;
	if (!PQsendQueryParams(audit.pg, audit_insert_sql, 1, NULL, values,
	    NULL, NULL, 0)) {
		free(param);
		audit_fail("insert", PQerrorMessage(audit.pg));
		return;
	}
	free(param);
	audit.state = AS_BUSY;
	audit_timer_arm(srv.conf.audit_timeout);
	audit_flush();
}

/*
 * PostgreSQL has the batch: delete it from the spool in this turn's
 * transaction.  Should that commit fail, the batch is sent again and
 * skipped by the primary key.
 */
static void
audit_confirmed(void)
{
	struct txn	*txn;
	struct timeval	 tv = { 0, 0 };
	size_t		 i;

	audit.shipped += audit.nids;
	if ((txn = batch_txn()) != NULL) {
		for (i = 0; i < audit.nids; i++)
			store_audit_del(txn, audit.ids[i]);
		store_audit_shipped_put(txn, audit.ids[audit.nids - 1],
		    audit.last_at);
		audit_gap_flush(txn);
	} else
		evtimer_add(audit.ev_kick, &tv);	/* sent again */
	log_debug("audit: %zu events shipped", audit.nids);
	audit.nids = 0;
	audit.backoff = AUDIT_BACKOFF_MIN;
	if (audit.batch_max < AUDIT_BATCH)
		audit.batch_max *= 2;
	if (audit.batch_max > AUDIT_BATCH)
		audit.batch_max = AUDIT_BATCH;
	audit.dirty = 1;	/* more may wait; shipped after the commit */
}

/*
 * PostgreSQL refused the batch's data (SQLSTATE class 22 or 23): halve
 * the batch until the one event it refuses is found, then drop that one
 * event so that the rest can go.  Anything else is a failure.
 */
static int
audit_rejected(void)
{
	struct txn	*txn;

	if (strncmp(audit.sqlstate, "22", 2) != 0 &&
	    strncmp(audit.sqlstate, "23", 2) != 0)
		return (0);
	if (audit.nids > 1) {
		audit.batch_max = audit.nids / 2;
		log_info("audit: PostgreSQL refused a batch (%s); retrying "
		    "%zu events at a time", audit.pgerr, audit.batch_max);
		audit.nids = 0;
		audit.dirty = 1;
		audit_ship();
		return (1);
	}
	if ((txn = batch_txn()) == NULL)
		return (0);
	log_warnx("audit: PostgreSQL refused event %llu (%s); dropped",
	    (unsigned long long)audit.ids[0], audit.pgerr);
	store_audit_del(txn, audit.ids[0]);
	audit.dropped++;
	audit.nids = 0;
	audit.dirty = 1;	/* the rest goes after the commit */
	return (1);
}

/*
 * Reads what PostgreSQL sent.  Once the command in flight has returned
 * its last result, acts on it.
 */
static void
audit_results(void)
{
	PGresult	*res;
	ExecStatusType	 st;
	const char	*code;

	if (!PQconsumeInput(audit.pg)) {
		audit_fail("receive", PQerrorMessage(audit.pg));
		return;
	}
	for (;;) {
		if (PQisBusy(audit.pg))
			return;
		if ((res = PQgetResult(audit.pg)) == NULL)
			break;
		st = PQresultStatus(res);
		if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK &&
		    !audit.failed) {
			audit.failed = 1;
			code = PQresultErrorField(res, PG_DIAG_SQLSTATE);
			strlcpy(audit.sqlstate, code != NULL ? code : "",
			    sizeof audit.sqlstate);
			audit_msg(audit.pgerr, sizeof audit.pgerr,
			    PQresultErrorMessage(res));
		}
		PQclear(res);
	}
	switch (audit.state) {
	case AS_SETUP:
		if (audit.failed) {
			audit_fail("create table", audit.pgerr);
			return;
		}
		evtimer_del(audit.ev_timer);
		log_info("audit: connected to PostgreSQL");
		audit.error[0] = '\0';
		audit.state = AS_IDLE;
		audit.dirty = 1;
		audit_ship();
		break;
	case AS_BUSY:
		evtimer_del(audit.ev_timer);
		audit.state = AS_IDLE;
		if (!audit.failed)
			audit_confirmed();
		else if (!audit_rejected())
			audit_fail("insert", audit.pgerr);
		break;
	default:
		if (PQstatus(audit.pg) == CONNECTION_BAD)
			audit_fail("connection", PQerrorMessage(audit.pg));
		break;
	}
}

/* Connected: make sure the table exists, then ship. */
static void
audit_setup(void)
{
	if (PQsetnonblocking(audit.pg, 1) != 0 ||
	    !PQsendQuery(audit.pg, audit_setup_sql)) {
		audit_fail("create table", PQerrorMessage(audit.pg));
		return;
	}
	audit.failed = 0;
	audit.state = AS_SETUP;
	audit_timer_arm(srv.conf.audit_timeout);
	audit_flush();
}

/*
 * Follows PQconnectPoll's answer.  libpq may have closed its socket and
 * opened another under the same number (SSL refused, next host), so the
 * event is made anew each time.
 */
static void
audit_connect_step(PostgresPollingStatusType st)
{
	audit.sock_fd = -1;
	switch (st) {
	case PGRES_POLLING_READING:
		if (audit_watch(EV_READ) != 0)
			audit_fail("connect", "cannot watch the socket");
		break;
	case PGRES_POLLING_WRITING:
		if (audit_watch(EV_WRITE) != 0)
			audit_fail("connect", "cannot watch the socket");
		break;
	case PGRES_POLLING_OK:
		audit_setup();
		break;
	default:
		audit_fail("connect", PQerrorMessage(audit.pg));
		break;
	}
}

/* libpq's socket is ready: go on connecting, sending or reading. */
static void
audit_sock_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)arg;
	if (audit.pg == NULL)
		return;
	if (audit.state == AS_CONNECTING) {
		audit_connect_step(PQconnectPoll(audit.pg));
		return;
	}
	if (what & EV_WRITE) {
		audit_flush();
		if (audit.pg == NULL)
			return;
	}
	if (what & EV_READ)
		audit_results();
}

/* Starts a non-blocking connect; audit_pg never names a host to resolve. */
static void
audit_connect(void)
{
	static const char *const keys[] = {
		"dbname", "fallback_application_name", NULL
	};
	const char	*values[3];

	values[0] = audit.conninfo;
	values[1] = "tickd";
	values[2] = NULL;
	audit.pg = PQconnectStartParams(keys, values, 1);
	if (audit.pg == NULL) {
		audit_fail("connect", "out of memory");
		return;
	}
	if (PQstatus(audit.pg) == CONNECTION_BAD) {
		audit_fail("connect", PQerrorMessage(audit.pg));
		return;
	}
	PQsetNoticeProcessor(audit.pg, audit_notice, NULL);
	audit.state = AS_CONNECTING;
	audit_timer_arm(srv.conf.audit_timeout);
	/* Before the first poll, libpq's docs say: as if it wants to write. */
	audit_connect_step(PGRES_POLLING_WRITING);
}

/* The backoff is over, or PostgreSQL took too long. */
static void
audit_timer_cb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd; (void)events; (void)arg;
	switch (audit.state) {
	case AS_BACKOFF:
		audit_connect();
		break;
	case AS_CONNECTING:
	case AS_SETUP:
	case AS_BUSY:
		audit_fail(audit_state_names[audit.state], "no answer within "
		    "audit_timeout");
		break;
	default:
		break;
	}
}

/* Ships what a commit left, once the loop is free. */
static void
audit_kick_cb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd; (void)events; (void)arg;
	audit_ship();
}

/*
 * Refuses a connection string that would make libpq resolve a host name:
 * getaddrinfo() blocks, and the event loop must not.
 */
static int
audit_check_conninfo(const char *conninfo, char **cause)
{
	PQconninfoOption	*opts, *o;
	const char		*host = NULL, *hostaddr = NULL, *p;
	char			*err = NULL, one[INET6_ADDRSTRLEN + 1];
	struct in6_addr		 a6;
	size_t			 n;
	int			 ret = 0;

	if ((opts = PQconninfoParse(conninfo, &err)) == NULL) {
		xasprintf(cause, "audit_pg: %s", err != NULL ? err :
		    "out of memory");
		if (err != NULL)
			PQfreemem(err);
		return (-1);
	}
	for (o = opts; o->keyword != NULL; o++) {
		if (o->val == NULL || *o->val == '\0')
			continue;
		if (strcmp(o->keyword, "host") == 0)
			host = o->val;
		else if (strcmp(o->keyword, "hostaddr") == 0)
			hostaddr = o->val;
		else if (strcmp(o->keyword, "service") == 0) {
			xasprintf(cause, "audit_pg: service is not accepted; "
			    "give host (an IP address) and port");
			ret = -1;
		}
	}
	if (host == NULL && hostaddr == NULL && getenv("PGHOSTADDR") == NULL)
		host = getenv("PGHOST");
	for (p = host; ret == 0 && hostaddr == NULL && p != NULL &&
	    *p != '\0'; p += n + (p[n] == ',')) {
		n = strcspn(p, ",");
		if (n == 0 || *p == '/' || *p == '@' || n >= sizeof one)
			continue;
		memcpy(one, p, n);
		one[n] = '\0';
		if (inet_pton(AF_INET, one, &a6) != 1 &&
		    inet_pton(AF_INET6, one, &a6) != 1) {
			xasprintf(cause, "audit_pg: host \"%s\" is a name; "
			    "tickd does not resolve names (that would block): "
			    "give an IP address, or set hostaddr", one);
			ret = -1;
		}
	}
	PQconninfoFree(opts);
	return (ret);
}

/* Checks audit_pg for tickd -t and start-up; errors are for the operator. */
int
audit_check(const struct conf *conf, char **cause)
{
	if (conf->audit_pg == NULL)
		return (0);
	return (audit_check_conninfo(conf->audit_pg, cause));
}

/* Starts shipping to conninfo, which has been checked. */
static void
audit_start(const char *conninfo)
{
	audit.conninfo = xstrdup(conninfo);
	audit.backoff = AUDIT_BACKOFF_MIN;
	audit.batch_max = AUDIT_BATCH;
	audit.spooling = 1;
	audit.dirty = 1;
	audit_connect();
}

/* Stops shipping; the spool keeps what it holds. */
static void
audit_stop(void)
{
	audit_close();
	free(audit.conninfo);
	audit.conninfo = NULL;
	audit.spooling = 0;
	audit.state = AS_OFF;
}

/* Sets the shipper up at start-up; errors are for the operator. */
int
audit_init(char **cause)
{
	struct txn	txn;
	uint64_t	n = 0;

	audit.ev_timer = evtimer_new(srv.base, audit_timer_cb, NULL);
	audit.ev_kick = evtimer_new(srv.base, audit_kick_cb, NULL);
	if (audit.ev_timer == NULL || audit.ev_kick == NULL) {
		*cause = xstrdup("audit: cannot create timers");
		return (-1);
	}
	srandom((unsigned)(now_ms() ^ (uint64_t)getpid()));
	if (store_txn_begin(srv.store, &txn, 0) == STORE_OK) {
		store_audit_count(&txn, &n);
		store_txn_abort(&txn);
	}
	if (srv.conf.audit_pg == NULL) {
		if (n != 0)
			log_warnx("audit: audit_pg is unset; %llu events stay "
			    "in the spool", (unsigned long long)n);
		return (0);
	}
	if (audit_check(&srv.conf, cause) != 0)
		return (-1);
	if (n != 0)
		log_info("audit: %llu events in the spool from before",
		    (unsigned long long)n);
	audit_start(srv.conf.audit_pg);
	return (0);
}

/* After each commit: ship what it spooled, or what it failed to delete. */
void
audit_commit(int ok)
{
	struct timeval	tv = { 0, 0 };

	if (!ok)
		audit.dirty = 1;
	if (audit.dirty && audit.state == AS_IDLE)
		evtimer_add(audit.ev_kick, &tv);
}

/*
 * SIGHUP: a changed audit_pg reconnects with the new string; removing it
 * stops the audit log (the spool keeps what it holds).  A string refused
 * by the checks leaves the running one in use.
 */
void
audit_reload(json_t *report)
{
	const char	*want = srv.conf.audit_pg;
	char		*cause = NULL;

	if (want != NULL && audit.conninfo != NULL &&
	    strcmp(want, audit.conninfo) == 0)
		return;
	if (want == NULL) {
		if (audit.conninfo != NULL) {
			log_info("audit: audit_pg removed; audit log stopped");
			audit_stop();
		}
		return;
	}
	if (audit_check_conninfo(want, &cause) != 0) {
		reload_note(report, "failed", "audit: %s; keeping the audit_pg "
		    "in use", cause);
		free(cause);
		return;
	}
	audit_stop();
	log_info("audit: audit_pg changed; connecting");
	audit_start(want);
}

/* Closes the connection; the spool keeps what was not confirmed. */
void
audit_shutdown(void)
{
	audit_stop();
	if (audit.ev_timer != NULL)
		event_free(audit.ev_timer);
	if (audit.ev_kick != NULL)
		event_free(audit.ev_kick);
	audit.ev_timer = audit.ev_kick = NULL;
}

#else /* !HAVE_LIBPQ */

/* Without libpq, a configured audit log is an error, not a silent no-op. */
int
audit_check(const struct conf *conf, char **cause)
{
	if (conf->audit_pg == NULL)
		return (0);
	*cause = xstrdup("audit_pg is set, but tickd was built without "
	    "PostgreSQL support (configure --with-postgresql)");
	return (-1);
}

/* Start-up: refuses a configured audit_pg, as audit_check does. */
int
audit_init(char **cause)
{
	return (audit_check(&srv.conf, cause));
}

/* Nothing is ever spooled, so nothing waits. */
void
audit_commit(int ok)
{
	(void)ok;
}

/* A reload cannot start what was not built. */
void
audit_reload(json_t *report)
{
	if (srv.conf.audit_pg != NULL)
		reload_note(report, "failed", "audit: audit_pg is set, but "
		    "tickd was built without PostgreSQL support");
}

/* There is no connection to close. */
void
audit_shutdown(void)
{
}

#endif /* HAVE_LIBPQ */
