/*
 * metrics.c: counters and the Prometheus text exposition of /metrics.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tickd.h"

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
}

struct queue_totals {
	uint64_t	items;
	uint64_t	bytes;
	uint64_t	devices;
};

/* Device walk callback: adds one device's queue to the totals. */
static int
sum_device(void *arg, const char *user, const char *device,
    const struct dev_rec *rec)
{
	struct queue_totals	*t = arg;

	(void)user; (void)device;
	t->items += rec->count;
	t->bytes += rec->bytes;
	t->devices++;
	return (STORE_WALK_NEXT);
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
	struct queue_totals	 qt;
	struct top_users	 top;
	struct txn		 txn;
	struct stats		*s = &srv.stats;
	struct audit_stats	 as;
	uint64_t		 used = 0, map = 0, cum = 0, groups = 0;
	uint64_t		 mfiles, mbytes;
	uint64_t		 pending = 0, outbox = 0;
	uint64_t		 pok, pretry, pgone, pdropped;
	char			*buf = NULL;
	FILE			*f;
	size_t			 i;

	memset(&qt, 0, sizeof qt);
	memset(&top, 0, sizeof top);
	if (store_txn_begin(srv.store, &txn, 0) == STORE_OK) {
		store_device_walk(&txn, NULL, sum_device, &qt);
		store_group_count(&txn, &groups);
		store_user_bytes_walk(&txn, top_user, &top);
		push_admin_pending(&txn, &pending);
		store_cout_count(&txn, &outbox);
		store_txn_abort(&txn);
	}
	store_usage(srv.store, &used, &map);

	if ((f = open_memstream(&buf, len)) == NULL)
		fatal("open_memstream");
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
	    qt.devices);
	metric(f, "tickd_queue_items", "gauge", "Items in all queues.",
	    qt.items);
	metric(f, "tickd_queue_bytes", "gauge", "Bytes of items in all "
	    "queues.", qt.bytes);
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
