/* SPDX-License-Identifier: ISC */
/*
 * metrics.c: counters and the Prometheus text exposition of /metrics.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "tickd.h"

/* A histogram: cumulative buckets are summed when rendered. */
struct hist {
	const double	*bounds;	/* upper bounds; +Inf after them */
	size_t		 n;		/* bounds */
	uint64_t	 count[16];	/* per bucket, n + 1 of them */
	double		 sum;
};

/* Queued to pushed, seconds: online within ms, offline for days. */
static const double deliver_bounds[] = {
	0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 300, 3600, 86400
};
/* How late the loop runs a timer, seconds. */
static const double lag_bounds[] = {
	0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5
};

#define ERR_CODES_MAX	64	/* room for enum tick_err */
/* The close codes tickd sends (tickd-protocol(7) CLOSE CODES). */
static const uint16_t close_codes[] = {
	1000, 1001, 1002, 1003, 1007, 1008, 1009, 1011
};
#define LAG_TICK_MS	250	/* the loop lag probe's period */

static struct {
	uint64_t	 ws_errors[ERR_CODES_MAX];
	uint64_t	 closes[sizeof close_codes / sizeof close_codes[0] + 1];
	uint64_t	 login_bad;	/* bad credentials */
	uint64_t	 login_internal; /* the hash could not be made */
	uint64_t	 login_limited;	/* refused by login_rate */
	uint64_t	 resp_commands;
	struct hist	 deliver;
	struct hist	 lag;
	struct event	*ev_lag;
	uint64_t	 lag_due_us;	/* when the probe should fire */
} m = {
	.deliver = { deliver_bounds, sizeof deliver_bounds /
	    sizeof deliver_bounds[0], { 0 }, 0 },
	.lag = { lag_bounds, sizeof lag_bounds / sizeof lag_bounds[0],
	    { 0 }, 0 },
};

/* Adds one observation to a histogram. */
static void
hist_add(struct hist *h, double v)
{
	size_t	i;

	for (i = 0; i < h->n; i++) {
		if (v <= h->bounds[i])
			break;
	}
	h->count[i]++;
	h->sum += v;
}

/* Writes a histogram with its HELP and TYPE lines. */
static void
hist_render(FILE *f, const char *name, const char *help,
    const struct hist *h)
{
	uint64_t	cum = 0;
	size_t		i;

	fprintf(f, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	for (i = 0; i <= h->n; i++) {
		cum += h->count[i];
		if (i < h->n)
			fprintf(f, "%s_bucket{le=\"%g\"} %llu\n", name,
			    h->bounds[i], (unsigned long long)cum);
		else
			fprintf(f, "%s_bucket{le=\"+Inf\"} %llu\n", name,
			    (unsigned long long)cum);
	}
	fprintf(f, "%s_sum %.6f\n%s_count %llu\n", name, h->sum, name,
	    (unsigned long long)cum);
}

/* The monotonic clock in microseconds. */
static uint64_t
mono_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000);
}

/*
 * The loop lag probe: a timer every LAG_TICK_MS; how late it fires is how
 * long the loop was kept from its other events.
 */
static void
lag_cb(evutil_socket_t fd, short events, void *arg)
{
	uint64_t	now = mono_us();

	(void)fd; (void)events; (void)arg;
	hist_add(&m.lag, now > m.lag_due_us ?
	    (double)(now - m.lag_due_us) / 1e6 : 0.0);
	m.lag_due_us = now + LAG_TICK_MS * 1000;
}

/* Starts the loop lag probe; -1 if it cannot. */
int
metrics_init(struct event_base *base)
{
	struct timeval	tv = { 0, LAG_TICK_MS * 1000 };

	if ((m.ev_lag = event_new(base, -1, EV_PERSIST, lag_cb, NULL)) ==
	    NULL || event_add(m.ev_lag, &tv) != 0)
		return (-1);
	m.lag_due_us = mono_us() + LAG_TICK_MS * 1000;
	return (0);
}

/* Stops the probe at exit. */
void
metrics_free(void)
{
	if (m.ev_lag != NULL)
		event_free(m.ev_lag);
	m.ev_lag = NULL;
}

/* An error frame sent on a WebSocket, by its code. */
void
metrics_ws_error(enum tick_err code)
{
	if ((size_t)code < ERR_CODES_MAX)
		m.ws_errors[code]++;
}

/* A close frame tickd sent, by its code; others count as "other". */
void
metrics_ws_close(uint16_t code)
{
	size_t	i, n = sizeof close_codes / sizeof close_codes[0];

	for (i = 0; i < n; i++) {
		if (close_codes[i] == code)
			break;
	}
	m.closes[i]++;
}

/*
 * A login refused: "bad_credentials", "internal" or "rate_limited"
 * (login_rate), kept apart so that an alert on guessing ignores the
 * refusals that already stop it.
 */
void
metrics_login_failed(const char *reason)
{
	if (strcmp(reason, "rate_limited") == 0)
		m.login_limited++;
	else if (strcmp(reason, "internal") == 0)
		m.login_internal++;
	else
		m.login_bad++;
}

/* A queue item pushed to a device, queued at queued_ms (its ID's time). */
void
metrics_delivered(uint64_t queued_ms)
{
	uint64_t	now = now_ms();

	hist_add(&m.deliver, now > queued_ms ?
	    (double)(now - queued_ms) / 1000.0 : 0.0);
}

/* A RESP command run. */
void
metrics_resp_command(void)
{
	m.resp_commands++;
}

/* The counters and histograms above, in the exposition. */
static void
metrics_render_ops(FILE *f)
{
	size_t	i, n = sizeof close_codes / sizeof close_codes[0];

	fprintf(f, "# HELP tickd_ws_errors_total Error frames sent on "
	    "WebSockets, by code (tickd-protocol(7) ERROR CODES).\n"
	    "# TYPE tickd_ws_errors_total counter\n");
	for (i = 1; i < ERR_CODES_MAX; i++) {
		if (m.ws_errors[i] != 0)
			fprintf(f, "tickd_ws_errors_total{code=\"%s\"} %llu\n",
			    err_code((enum tick_err)i),
			    (unsigned long long)m.ws_errors[i]);
	}
	fprintf(f, "# HELP tickd_ws_closes_total WebSocket close frames "
	    "tickd sent, by code.\n# TYPE tickd_ws_closes_total counter\n");
	for (i = 0; i < n; i++)
		fprintf(f, "tickd_ws_closes_total{code=\"%u\"} %llu\n",
		    (unsigned)close_codes[i], (unsigned long long)m.closes[i]);
	fprintf(f, "tickd_ws_closes_total{code=\"other\"} %llu\n",
	    (unsigned long long)m.closes[n]);
	fprintf(f, "# HELP tickd_login_failures_total Logins refused, by "
	    "reason.\n# TYPE tickd_login_failures_total counter\n"
	    "tickd_login_failures_total{reason=\"bad_credentials\"} %llu\n"
	    "tickd_login_failures_total{reason=\"internal\"} %llu\n"
	    "tickd_login_failures_total{reason=\"rate_limited\"} %llu\n",
	    (unsigned long long)m.login_bad,
	    (unsigned long long)m.login_internal,
	    (unsigned long long)m.login_limited);
	hist_render(f, "tickd_delivery_seconds", "Time from a queue item's "
	    "ID (when it was queued) to its push to a device.", &m.deliver);
	hist_render(f, "tickd_event_loop_lag_seconds", "How late the event "
	    "loop ran a timer due every 250 ms.", &m.lag);
	fprintf(f, "# HELP tickd_resp_clients Connected RESP clients.\n"
	    "# TYPE tickd_resp_clients gauge\ntickd_resp_clients %llu\n",
	    (unsigned long long)resp_clients());
	fprintf(f, "# HELP tickd_resp_commands_total RESP commands run.\n"
	    "# TYPE tickd_resp_commands_total counter\n"
	    "tickd_resp_commands_total %llu\n",
	    (unsigned long long)m.resp_commands);
}

/* Upper bounds of the commit latency buckets, seconds; the last is +Inf. */
static const double lat_bounds[LAT_BUCKETS - 1] = {
	0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0
};

/* Records one commit and how long its fsync'd commit took. */
void
metrics_commit(double seconds, int ok)
{
	size_t	i;

	srv.stats.commits++;
	if (!ok)
		srv.stats.commit_failures++;
	for (i = 0; i < LAT_BUCKETS - 1; i++) {
		if (seconds <= lat_bounds[i])
			break;
	}
	srv.stats.commit_lat[i]++;
	srv.stats.commit_lat_sum += seconds;
	srv.stats.commit_last = seconds;
}

/* Resident memory from /proc/self/statm, read at each scrape; 0 if unknown. */
uint64_t
metrics_rss_bytes(void)
{
	unsigned long long	 size, rss;
	long			 page = sysconf(_SC_PAGESIZE);
	FILE			*f;
	int			 n;

	if ((f = fopen("/proc/self/statm", "re")) == NULL)
		return (0);
	n = fscanf(f, "%llu %llu", &size, &rss);
	fclose(f);
	if (n != 2 || page <= 0)
		return (0);
	return ((uint64_t)rss * (uint64_t)page);
}

/* Descriptors open, counted in /proc/self/fd at each scrape; 0 if unknown. */
uint64_t
metrics_open_fds(void)
{
	DIR		*d;
	struct dirent	*de;
	uint64_t	 n = 0;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return (0);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.')
			n++;
	}
	closedir(d);
	return (n > 0 ? n - 1 : 0);	/* not the one opendir holds */
}

#define TOP_USERS	10	/* users shown by tickd_user_stored_bytes */

/* The users whose messages occupy the most bytes, largest first. */
struct top_users {
	size_t		n;
	char		user[TOP_USERS][NAME_USER_MAX + 1];
	uint64_t	bytes[TOP_USERS];
};

/* Stored bytes walk callback: keeps the TOP_USERS largest, in order. */
static int
top_user(void *arg, const char *user, uint64_t bytes)
{
	struct top_users	*t = arg;
	size_t			 i;

	if (t->n == TOP_USERS && bytes <= t->bytes[TOP_USERS - 1])
		return (STORE_WALK_NEXT);
	if (t->n < TOP_USERS)
		t->n++;
	for (i = t->n - 1; i > 0 && t->bytes[i - 1] < bytes; i--) {
		t->bytes[i] = t->bytes[i - 1];
		memcpy(t->user[i], t->user[i - 1], sizeof t->user[i]);
	}
	t->bytes[i] = bytes;
	strlcpy(t->user[i], user, sizeof t->user[i]);
	return (STORE_WALK_NEXT);
}

/* Writes one metric with its HELP and TYPE lines. */
static void
metric(FILE *f, const char *name, const char *type, const char *help,
    unsigned long long value)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name,
	    type, name, value);
}

/* The metrics of a node of a cluster, tickd-cluster(7). */
static void
metrics_cluster(FILE *f, uint64_t outbox)
{
	struct cluster_stats	cs;

	cluster_get_stats(&cs);
	metric(f, "tickd_cluster_outbox", "gauge",
	    "Records waiting for other nodes to confirm them.", outbox);
	metric(f, "tickd_cluster_forwarded_total", "counter",
	    "Stream entries sent to other nodes.", cs.forwarded);
	metric(f, "tickd_cluster_applied_total", "counter",
	    "Records from other nodes applied here.", cs.applied);
	metric(f, "tickd_cluster_dedup_hits_total", "counter",
	    "Records from other nodes found applied already.", cs.dedup_hits);
	metric(f, "tickd_cluster_redis_up", "gauge",
	    "1 while Redis answers and this node is set up in it.",
	    (unsigned long long)cluster_redis_up());
	metric(f, "tickd_cluster_rpc_timeouts_total", "counter",
	    "Remote calls unanswered within cluster_rpc_timeout.",
	    cs.rpc_timeouts);
}

/* The whole exposition; caller frees. */
char *
metrics_render(size_t *len)
{
	struct store_totals	 qt;
	struct top_users	 top;
	struct txn		 txn;
	struct stats		*s = &srv.stats;
	struct audit_stats	 as;
	uint64_t		 used = 0, map = 0, cum = 0, groups = 0;
	uint64_t		 mfiles, mbytes;
	uint64_t		 pending = 0, outbox = 0;
	uint64_t		 oldest, now = now_ms();
	uint64_t		 pok, pretry, pgone, pdropped;
	char			*buf = NULL;
	FILE			*f;
	size_t			 i;

	memset(&qt, 0, sizeof qt);
	memset(&top, 0, sizeof top);
	store_totals(srv.store, &qt);
	if (store_oldest(srv.store, &oldest) != 0)
		oldest = 0;
	if (store_txn_begin(srv.store, &txn, 0) == STORE_OK) {
		store_group_count(&txn, &groups);
		store_user_bytes_walk(&txn, top_user, &top);
		push_admin_pending(&txn, &pending);
		store_cout_count(&txn, &outbox);
		store_txn_abort(&txn);
	}
	store_usage(srv.store, &used, &map);

	if ((f = open_memstream(&buf, len)) == NULL)
		fatal("open_memstream");
	fprintf(f, "# HELP tickd_build_info The version of tickd, as a label; "
	    "always 1.\n# TYPE tickd_build_info gauge\n"
	    "tickd_build_info{version=\"%s\"} 1\n", PACKAGE_VERSION);
	fprintf(f, "# HELP process_start_time_seconds Start time of the "
	    "process since the Unix epoch.\n"
	    "# TYPE process_start_time_seconds gauge\n"
	    "process_start_time_seconds %.3f\n",
	    (double)s->started_ms / 1000.0);
	metric(f, "process_resident_memory_bytes", "gauge",
	    "Resident memory size.", metrics_rss_bytes());
	metric(f, "process_open_fds", "gauge", "Open file descriptors.",
	    metrics_open_fds());
	fprintf(f, "# HELP tickd_tls_cert_expiry_timestamp_seconds When the "
	    "certificate in use expires, by listener.\n"
	    "# TYPE tickd_tls_cert_expiry_timestamp_seconds gauge\n");
	if (tls_cert_expiry(0) != 0)
		fprintf(f, "tickd_tls_cert_expiry_timestamp_seconds"
		    "{listener=\"listen\"} %lld\n",
		    (long long)tls_cert_expiry(0));
	if (tls_cert_expiry(1) != 0)
		fprintf(f, "tickd_tls_cert_expiry_timestamp_seconds"
		    "{listener=\"resp_listen\"} %lld\n",
		    (long long)tls_cert_expiry(1));
	metric(f, "tickd_connections", "gauge", "Open TCP connections.",
	    s->conns);
	metric(f, "tickd_authenticated_connections", "gauge",
	    "Authenticated WebSocket connections.", s->ws_authed);
	metric(f, "tickd_users_online", "gauge",
	    "Users with at least one authenticated connection.",
	    presence_users_online());
	metric(f, "tickd_messages_accepted_total", "counter",
	    "Messages stored and answered with sent.", s->accepted);
	metric(f, "tickd_items_delivered_total", "counter",
	    "Queue items pushed to devices.", s->delivered);
	metric(f, "tickd_items_acked_total", "counter",
	    "Queue items deleted by an ack.", s->acked);
	metric(f, "tickd_receipts_total", "counter",
	    "Receipts queued for senders.", s->receipts);
	metric(f, "tickd_connections_refused_total", "counter",
	    "Connections refused by max_connections or "
	    "max_connections_per_ip.", s->conns_refused);
	metric(f, "tickd_rate_limited_total", "counter",
	    "Sends and logins refused by send_rate or login_rate.",
	    s->rate_limited);
	metric(f, "tickd_groups", "gauge", "Groups in the store.", groups);
	metric(f, "tickd_group_fanout_items_total", "counter",
	    "Items queued by sends to groups.", s->group_items);
	metric(f, "tickd_group_skipped_total", "counter",
	    "Member devices a group send skipped, their queue full.",
	    s->group_skipped);
	metric(f, "tickd_devices", "gauge", "Devices in the store.",
	    (unsigned long long)qt.devices);
	metric(f, "tickd_queue_items", "gauge", "Items in all queues.",
	    (unsigned long long)qt.items);
	metric(f, "tickd_queue_bytes", "gauge", "Bytes of items in all "
	    "queues.", (unsigned long long)qt.bytes);
	fprintf(f, "# HELP tickd_queue_oldest_age_seconds Age of the oldest "
	    "item in all queues; 0 when they are empty.\n"
	    "# TYPE tickd_queue_oldest_age_seconds gauge\n"
	    "tickd_queue_oldest_age_seconds %.3f\n",
	    oldest != 0 && now > oldest ? (double)(now - oldest) / 1000.0 :
	    0.0);
	fprintf(f, "# HELP tickd_user_stored_bytes Bytes a user's messages "
	    "occupy in all queues, for the %d users holding the most.\n"
	    "# TYPE tickd_user_stored_bytes gauge\n", TOP_USERS);
	for (i = 0; i < top.n; i++)
		fprintf(f, "tickd_user_stored_bytes{user=\"%s\"} %llu\n",
		    top.user[i], (unsigned long long)top.bytes[i]);
	metric(f, "tickd_commits_total", "counter", "Group commits.",
	    s->commits);
	metric(f, "tickd_commit_failures_total", "counter",
	    "Group commits that failed and were rolled back.",
	    s->commit_failures);
	fprintf(f, "# HELP tickd_commit_seconds Time to commit and fsync one "
	    "group commit.\n# TYPE tickd_commit_seconds histogram\n");
	for (i = 0; i < LAT_BUCKETS; i++) {
		cum += s->commit_lat[i];
		if (i < LAT_BUCKETS - 1)
			fprintf(f, "tickd_commit_seconds_bucket{le=\"%g\"} "
			    "%llu\n", lat_bounds[i], (unsigned long long)cum);
		else
			fprintf(f, "tickd_commit_seconds_bucket{le=\"+Inf\"} "
			    "%llu\n", (unsigned long long)cum);
	}
	fprintf(f, "tickd_commit_seconds_sum %.6f\n", s->commit_lat_sum);
	fprintf(f, "tickd_commit_seconds_count %llu\n",
	    (unsigned long long)cum);
	metric(f, "tickd_store_used_bytes", "gauge",
	    "Bytes of the LMDB map in use.", used);
	metric(f, "tickd_store_map_bytes", "gauge",
	    "Size of the LMDB map (map_size).", map);
	metric(f, "tickd_store_full", "gauge",
	    "1 while the store refuses writes because the map is full.",
	    (unsigned long long)srv.store_full);
	metric(f, "tickd_prekeys_taken_total", "counter",
	    "One-time prekeys and KEM prekeys handed out by keys_fetch.",
	    s->prekeys_taken);
	metric(f, "tickd_prekeys_empty_total", "counter",
	    "Key bundles handed out without a one-time prekey.",
	    s->prekeys_empty);
	media_http_totals(&mfiles, &mbytes);
	metric(f, "tickd_media_files", "gauge", "Files under media_dir.",
	    mfiles);
	metric(f, "tickd_media_bytes", "gauge", "Bytes of the files under "
	    "media_dir.", mbytes);
	metric(f, "tickd_media_uploads_total", "counter",
	    "Uploads answered 201.", s->media_uploads);
	metric(f, "tickd_media_expired_total", "counter",
	    "Media IDs expired after media_ttl.", s->media_expired);
	audit_stats(&as);
	metric(f, "tickd_audit_spool_events", "gauge",
	    "Audit events waiting for PostgreSQL.", as.spool);
	metric(f, "tickd_audit_spool_full", "gauge",
	    "1 while the audit spool is at audit_spool_max.",
	    (unsigned long long)as.full);
	metric(f, "tickd_audit_connected", "gauge",
	    "1 while connected to PostgreSQL with the table ready.",
	    (unsigned long long)as.connected);
	metric(f, "tickd_audit_shipped_total", "counter",
	    "Audit events PostgreSQL confirmed.", as.shipped);
	metric(f, "tickd_audit_dropped_total", "counter",
	    "Audit events not kept: spool full or refused by PostgreSQL.",
	    as.dropped);
	metric(f, "tickd_audit_failures_total", "counter",
	    "Failed PostgreSQL connections and batches.", as.failures);
	metric(f, "tickd_push_pending", "gauge",
	    "Push notifications pending, tickd-protocol(7) PUSH NOTIFICATIONS.",
	    pending);
	metrics_render_ops(f);
	push_http_stats(&pok, &pretry, &pgone, &pdropped);
	fprintf(f, "# HELP tickd_push_posts_total Push POSTs by outcome.\n"
	    "# TYPE tickd_push_posts_total counter\n"
	    "tickd_push_posts_total{result=\"ok\"} %llu\n"
	    "tickd_push_posts_total{result=\"retry\"} %llu\n"
	    "tickd_push_posts_total{result=\"gone\"} %llu\n"
	    "tickd_push_posts_total{result=\"dropped\"} %llu\n",
	    (unsigned long long)pok, (unsigned long long)pretry,
	    (unsigned long long)pgone, (unsigned long long)pdropped);
	if (cluster_on())
		metrics_cluster(f, outbox);
	if (fclose(f) != 0)
		fatal("metrics");
	return (buf);
}
