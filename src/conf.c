/* SPDX-License-Identifier: ISC */
/*
 * conf.c: tickd.conf, driven by one table after tmux's options-table.c and
 * Redis's config.c.  Each line is "name value"; every default is parsed from
 * its text by the same code that reads the file, so a default is always a
 * value the file could hold.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tickd.h"

#define KB	1024ULL
#define MB	(1024 * KB)
#define GB	(1024 * MB)

#define MSEC	1ULL
#define SEC	(1000 * MSEC)
#define MIN	(60 * SEC)
#define HOUR	(60 * MIN)
#define DAY	(24 * HOUR)

#define CONF_FRAME_ROOM	KB	/* max_frame_bytes - max_message_bytes */
#define CONF_RESP_ROOM	(64 * KB) /* resp_max_query - resp_max_bulk */

static const char *const conf_registration_choices[] = {
	"open", "closed", "open_public", NULL	/* REG_OPEN .. REG_OPEN_PUBLIC */
};
static const char *const conf_tls_version_choices[] = {
	"TLSv1.2", "TLSv1.3", NULL
};
static const char *const conf_yesno_choices[] = {
	"no", "yes", NULL
};
static const char *const conf_push_content_choices[] = {
	"none", "sender", "body", NULL	/* PUSH_CONTENT_* */
};
static const char *const conf_log_level_choices[] = {
	"error", "warn", "info", "debug", NULL	/* L_ERROR .. L_DEBUG */
};

#define O(field)	offsetof(struct conf, field)

/*
 * Every key, grouped and ordered as the subsections of tickd.conf(5) and the
 * sample conf/tickd.conf.  Keys are looked up by name: the order decides
 * only that of the warnings of a reload.  A new domain's keys (groups,
 * media, push, ...) get a group of their own in all three.
 */
const struct conf_entry conf_table[] = {
	/* tickd.conf(5): Listeners and TLS. */
	{ .name = "listen", .type = CONF_ADDRESS, .offset = O(listen),
	  .dflt = "127.0.0.1:8080", .reload = 0,
	  .help = "address and port of the HTTP and WebSocket listener" },
	{ .name = "listen_plain", .type = CONF_ADDRESS,
	  .offset = O(listen_plain), .reload = 0,
	  .help = "a second, plain HTTP port on loopback when TLS is on" },
	{ .name = "tls_cert", .type = CONF_STRING, .offset = O(tls_cert),
	  .reload = 1,
	  .help = "PEM certificate chain; with tls_key, listen speaks TLS" },
	{ .name = "tls_key", .type = CONF_STRING, .offset = O(tls_key),
	  .reload = 1,
	  .help = "PEM private key of tls_cert" },
	{ .name = "tls_min_version", .type = CONF_ENUM,
	  .offset = O(tls_min_version), .choices = conf_tls_version_choices,
	  .dflt = "TLSv1.2", .reload = 1,
	  .help = "oldest TLS version accepted: TLSv1.2 or TLSv1.3" },
	{ .name = "tls_ciphers", .type = CONF_STRING,
	  .offset = O(tls_ciphers),
	  .dflt = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
	  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	  "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305",
	  .reload = 1,
	  .help = "OpenSSL cipher list for TLS 1.2" },
	{ .name = "tls_ciphersuites", .type = CONF_STRING,
	  .offset = O(tls_ciphersuites),
	  .dflt = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"
	  "TLS_CHACHA20_POLY1305_SHA256",
	  .reload = 1,
	  .help = "OpenSSL ciphersuites for TLS 1.3" },
	/* tickd.conf(5): Store. */
	{ .name = "data_dir", .type = CONF_STRING, .offset = O(data_dir),
	  .dflt = "/var/lib/tickd", .reload = 0,
	  .help = "directory holding the LMDB store" },
	{ .name = "map_size", .type = CONF_SIZE, .offset = O(map_size),
	  .min = MB, .max = 16384 * GB, .dflt = "1g", .reload = 0,
	  .help = "largest size the store may grow to" },
	{ .name = "min_free_space", .type = CONF_SIZE,
	  .offset = O(min_free_space), .min = 0, .max = 16384 * GB,
	  .dflt = "64m", .reload = 1,
	  .help = "free space under which /healthz reports failure; 0: none" },
	{ .name = "sync_thread", .type = CONF_ENUM,
	  .offset = O(sync_thread), .choices = conf_yesno_choices,
	  .dflt = "no", .reload = 0,
	  .help = "yes: a commit's second sync runs beside the event loop" },
	/* tickd.conf(5): Delivery. */
	{ .name = "window", .type = CONF_COUNT, .offset = O(window),
	  .min = 1, .max = 65536, .dflt = "256", .reload = 1,
	  .help = "most unacked items in flight to one device" },
	{ .name = "max_queue", .type = CONF_COUNT, .offset = O(max_queue),
	  .min = 1, .max = 100000000, .dflt = "10000", .reload = 1,
	  .help = "most items in one device's queue; then sends are refused" },
	{ .name = "message_ttl", .type = CONF_DURATION,
	  .offset = O(message_ttl), .min = 100 * MSEC, .max = 3650 * DAY,
	  .dflt = "30d", .reload = 1,
	  .help = "age at which an unacked item is dropped from its queue" },
	{ .name = "dedup_window", .type = CONF_DURATION,
	  .offset = O(dedup_window), .min = 100 * MSEC, .max = 3650 * DAY,
	  .dflt = "7d", .reload = 1,
	  .help = "how long a sender's message id is remembered" },
	{ .name = "device_ttl", .type = CONF_DURATION,
	  .offset = O(device_ttl), .min = 100 * MSEC, .max = 3650 * DAY,
	  .dflt = "30d", .reload = 1,
	  .help = "idle time after which a device and its queue are removed" },
	/* tickd.conf(5): Limits. */
	{ .name = "registration", .type = CONF_ENUM,
	  .offset = O(registration), .choices = conf_registration_choices,
	  .dflt = "open", .reload = 1,
	  .help = "open: anyone may register an account; closed: nobody" },
	{ .name = "max_message_bytes", .type = CONF_SIZE,
	  .offset = O(max_message_bytes), .min = 1, .max = 16 * MB,
	  .dflt = "16k", .reload = 1,
	  .help = "largest message body, as JSON text" },
	{ .name = "max_frame_bytes", .type = CONF_SIZE,
	  .offset = O(max_frame_bytes), .min = KB, .max = 64 * MB,
	  .dflt = "64k", .reload = 1,
	  .help = "largest WebSocket frame a client may send" },
	{ .name = "max_output_bytes", .type = CONF_SIZE,
	  .offset = O(max_output_bytes), .min = 4 * KB, .max = GB,
	  .dflt = "8m", .reload = 1,
	  .help = "unsent output after which a slow connection is closed" },
	{ .name = "max_request_bytes", .type = CONF_SIZE,
	  .offset = O(max_request_bytes), .min = KB, .max = 16 * MB,
	  .dflt = "64k", .reload = 1,
	  .help = "largest HTTP request, head and body together" },
	{ .name = "max_devices_per_user", .type = CONF_COUNT,
	  .offset = O(max_devices_per_user), .min = 1, .max = 1000000,
	  .dflt = "100", .reload = 1,
	  .help = "devices one account may have; a login for one more fails" },
	{ .name = "max_user_bytes", .type = CONF_SIZE,
	  .offset = O(max_user_bytes), .min = 0, .max = 16384 * GB,
	  .dflt = "64m", .reload = 1,
	  .help = "bytes a user's messages may occupy in all queues; 0: any" },
	{ .name = "send_rate", .type = CONF_COUNT, .offset = O(send_rate),
	  .min = 0, .max = 1000000, .dflt = "200", .reload = 1,
	  .help = "messages per second one user may send; 0: no limit" },
	{ .name = "send_burst", .type = CONF_COUNT, .offset = O(send_burst),
	  .min = 1, .max = 1000000, .dflt = "1000", .reload = 1,
	  .help = "messages a user may send at once above send_rate" },
	{ .name = "login_rate", .type = CONF_COUNT, .offset = O(login_rate),
	  .min = 0, .max = 1000000, .dflt = "20", .reload = 1,
	  .help = "logins and registrations per minute per name and address" },
	{ .name = "max_connections", .type = CONF_COUNT,
	  .offset = O(max_connections), .min = 1, .max = 10000000,
	  .dflt = "20000", .reload = 1,
	  .help = "open connections in all; more are refused" },
	{ .name = "max_connections_per_ip", .type = CONF_COUNT,
	  .offset = O(max_connections_per_ip), .min = 1, .max = 10000000,
	  .dflt = "1000", .reload = 1,
	  .help = "open connections from one address; more are refused" },
	{ .name = "max_json_depth", .type = CONF_COUNT,
	  .offset = O(max_json_depth), .min = 1, .max = 1000, .dflt = "32",
	  .reload = 1,
	  .help = "deepest nesting of arrays and objects in a frame" },
	{ .name = "max_ack_mids", .type = CONF_COUNT, .offset = O(max_ack_mids),
	  .min = 1, .max = 65536, .dflt = "1024", .reload = 1,
	  .help = "mids in one ack or read frame" },
	{ .name = "max_subscriptions", .type = CONF_COUNT,
	  .offset = O(max_subscriptions), .min = 1, .max = 1000000,
	  .dflt = "4096", .reload = 1,
	  .help = "users one connection may watch for presence" },
	/* tickd.conf(5): Timers. */
	{ .name = "token_ttl", .type = CONF_DURATION, .offset = O(token_ttl),
	  .min = 100 * MSEC, .max = 3650 * DAY, .dflt = "30d", .reload = 1,
	  .help = "how long a login token stays valid" },
	{ .name = "auth_timeout", .type = CONF_DURATION,
	  .offset = O(auth_timeout), .min = 100 * MSEC, .max = HOUR,
	  .dflt = "10s", .reload = 1,
	  .help = "time a WebSocket connection has to authenticate" },
	{ .name = "ping_interval", .type = CONF_DURATION,
	  .offset = O(ping_interval), .min = 100 * MSEC, .max = HOUR,
	  .dflt = "30s", .reload = 1,
	  .help = "time between pings; no pong for two of them closes" },
	{ .name = "handshake_timeout", .type = CONF_DURATION,
	  .offset = O(handshake_timeout), .min = 100 * MSEC, .max = HOUR,
	  .dflt = "10s", .reload = 1,
	  .help = "time to send a whole HTTP request or WebSocket frame" },
	/* tickd.conf(5): Control and privileges. */
	{ .name = "log_level", .type = CONF_ENUM, .offset = O(log_level),
	  .choices = conf_log_level_choices, .dflt = "info", .reload = 1,
	  .help = "least severe messages logged: error, warn, info or debug" },
	{ .name = "pidfile", .type = CONF_STRING, .offset = O(pidfile),
	  .dflt = "/run/tickd.pid", .reload = 0,
	  .help = "file holding the daemon's process id" },
	{ .name = "control_socket", .type = CONF_STRING,
	  .offset = O(control_socket), .dflt = "/run/tickd/tickd.sock",
	  .reload = 0,
	  .help = "UNIX socket on which tickctl(8) controls the daemon" },
	{ .name = "user", .type = CONF_STRING, .offset = O(user), .reload = 0,
	  .help = "user to run as after binding, when started as root" },
	{ .name = "group", .type = CONF_STRING, .offset = O(group),
	  .reload = 0,
	  .help = "group to run as; unset: the primary group of user" },
	/* tickd.conf(5): Audit. */
	{ .name = "audit_pg", .type = CONF_STRING, .offset = O(audit_pg),
	  .reload = 1,
	  .help = "libpq connection string of the audit log (unset: none)" },
	{ .name = "audit_spool_max", .type = CONF_COUNT,
	  .offset = O(audit_spool_max), .min = 10, .max = 1000000000,
	  .dflt = "1000000", .reload = 1,
	  .help = "audit events kept while PostgreSQL is away; then counted" },
	{ .name = "audit_timeout", .type = CONF_DURATION,
	  .offset = O(audit_timeout), .min = 100 * MSEC, .max = HOUR,
	  .dflt = "30s", .reload = 1,
	  .help = "time PostgreSQL has to connect or answer a batch" },
	{ .name = "audit_backoff_max", .type = CONF_DURATION,
	  .offset = O(audit_backoff_max), .min = 100 * MSEC, .max = HOUR,
	  .dflt = "30s", .reload = 1,
	  .help = "longest wait between two connection attempts" },
	/* tickd.conf(5): Redis protocol. */
	{ .name = "resp_listen", .type = CONF_ADDRESS,
	  .offset = O(resp_listen), .reload = 0,
	  .help = "address and port of the Redis-protocol shim (unset: off)" },
	{ .name = "resp_password", .type = CONF_STRING,
	  .offset = O(resp_password), .reload = 1,
	  .help = "password RESP clients give to AUTH (unset: none asked)" },
	{ .name = "resp_tls_cert", .type = CONF_STRING,
	  .offset = O(resp_tls_cert), .reload = 1,
	  .help = "PEM certificate chain; with resp_tls_key, RESP over TLS" },
	{ .name = "resp_tls_key", .type = CONF_STRING,
	  .offset = O(resp_tls_key), .reload = 1,
	  .help = "PEM private key of resp_tls_cert" },
	{ .name = "resp_max_bulk", .type = CONF_SIZE,
	  .offset = O(resp_max_bulk), .min = KB, .max = 512 * MB,
	  .dflt = "512k", .reload = 1,
	  .help = "largest bulk string (argument) a RESP client may send" },
	{ .name = "resp_max_query", .type = CONF_SIZE,
	  .offset = O(resp_max_query), .min = 64 * KB, .max = 4 * GB,
	  .dflt = "64m", .reload = 1,
	  .help = "unanswered input a RESP client may hold; then it is closed" },
	{ .name = "resp_max_clients", .type = CONF_COUNT,
	  .offset = O(resp_max_clients), .min = 1, .max = 1000000,
	  .dflt = "10000", .reload = 1,
	  .help = "RESP clients connected at once; more are refused" },
	/* tickd.conf(5): Groups. */
	{ .name = "max_group_members", .type = CONF_COUNT,
	  .offset = O(max_group_members), .min = 2, .max = 100000,
	  .dflt = "1024", .reload = 0,
	  .help = "most members of one group" },
	{ .name = "max_groups_per_user", .type = CONF_COUNT,
	  .offset = O(max_groups_per_user), .min = 1, .max = 1000000,
	  .dflt = "1000", .reload = 0,
	  .help = "most groups one user is in" },
	{ .name = "max_group_description", .type = CONF_SIZE,
	  .offset = O(max_group_description), .min = 0, .max = 64 * KB,
	  .dflt = "2k", .reload = 0,
	  .help = "largest group description" },
	{ .name = "group_receipts_max", .type = CONF_COUNT,
	  .offset = O(group_receipts_max), .min = 0, .max = 100000,
	  .dflt = "256", .reload = 0,
	  .help = "groups with more members than this yield no receipts" },
	/* tickd.conf(5): Key directory. */
	{ .name = "max_key_bytes", .type = CONF_SIZE,
	  .offset = O(max_key_bytes), .min = 1, .max = KEY_BYTES_MAX,
	  .dflt = "2k", .reload = 0,
	  .help = "largest key, signature or identity, decoded" },
	{ .name = "max_prekeys", .type = CONF_COUNT,
	  .offset = O(max_prekeys), .min = 1, .max = 100000,
	  .dflt = "100", .reload = 0,
	  .help = "keys in one one-time pool of a device" },
	{ .name = "prekeys_low", .type = CONF_COUNT,
	  .offset = O(prekeys_low), .min = 0, .max = 100000,
	  .dflt = "10", .reload = 0,
	  .help = "a fetch leaving a pool below this queues keys_low" },
	{ .name = "keys_fetch_rate", .type = CONF_COUNT,
	  .offset = O(keys_fetch_rate), .min = 0, .max = 1000000,
	  .dflt = "60", .reload = 1,
	  .help = "key bundles a user may fetch a minute (0: no limit)" },
	/* tickd.conf(5): Media. */
	{ .name = "media_dir", .type = CONF_STRING, .offset = O(media_dir),
	  .reload = 0,
	  .help = "directory of the media files (unset: data_dir/media)" },
	{ .name = "max_media_bytes", .type = CONF_SIZE,
	  .offset = O(max_media_bytes), .min = 1, .max = 1024 * GB,
	  .dflt = "64m", .reload = 0, .help = "largest upload" },
	{ .name = "media_quota", .type = CONF_SIZE, .offset = O(media_quota),
	  .min = 0, .max = 1024 * 1024 * GB, .dflt = "1g", .reload = 1,
	  .help = "bytes of live media per user" },
	{ .name = "media_ttl", .type = CONF_DURATION, .offset = O(media_ttl),
	  .min = 100 * MSEC, .max = 3650 * DAY, .dflt = "7d", .reload = 1,
	  .help = "life of unreferenced media" },
	{ .name = "media_timeout", .type = CONF_DURATION,
	  .offset = O(media_timeout), .min = 100 * MSEC, .max = DAY,
	  .dflt = "5m", .reload = 0, .help = "time to send a whole upload" },
	{ .name = "media_rate", .type = CONF_COUNT, .offset = O(media_rate),
	  .min = 0, .max = 1000000, .dflt = "60", .reload = 1,
	  .help = "uploads a minute per user; 0: no limit" },
	{ .name = "media_min_free", .type = CONF_SIZE,
	  .offset = O(media_min_free), .min = 0, .max = 1024 * 1024 * GB,
	  .dflt = "1g", .reload = 0,
	  .help = "free disk below which uploads get 503" },
	{ .name = "max_media_refs", .type = CONF_COUNT,
	  .offset = O(max_media_refs), .min = 1, .max = MEDIA_REFS_MAX,
	  .dflt = "16", .reload = 0, .help = "media IDs in one message" },
	/* tickd.conf(5): Push. */
	{ .name = "push_allow_hosts", .type = CONF_STRING,
	  .offset = O(push_allow_hosts), .reload = 1,
	  .help = "endpoint hosts allowed, blank-separated (unset: push off)" },
	{ .name = "push_allow_http", .type = CONF_ENUM,
	  .offset = O(push_allow_http), .choices = conf_yesno_choices,
	  .dflt = "no", .reload = 1,
	  .help = "yes: allow http endpoints too" },
	{ .name = "push_allow_private", .type = CONF_ENUM,
	  .offset = O(push_allow_private), .choices = conf_yesno_choices,
	  .dflt = "no", .reload = 1,
	  .help = "yes: allow endpoints on non-public addresses" },
	{ .name = "push_ca_file", .type = CONF_STRING,
	  .offset = O(push_ca_file), .reload = 1,
	  .help = "CA certificates for HTTPS endpoints (unset: the system's)" },
	{ .name = "push_delay", .type = CONF_DURATION,
	  .offset = O(push_delay), .min = 0, .max = HOUR,
	  .dflt = "2s", .reload = 1,
	  .help = "coalescing window: a device gets at most one POST in it" },
	{ .name = "push_timeout", .type = CONF_DURATION,
	  .offset = O(push_timeout), .min = 100 * MSEC, .max = 10 * MIN,
	  .dflt = "10s", .reload = 1,
	  .help = "time for one POST or endpoint check" },
	{ .name = "push_retries", .type = CONF_COUNT,
	  .offset = O(push_retries), .min = 0, .max = 100,
	  .dflt = "8", .reload = 1,
	  .help = "retries of one notification, then it is dropped" },
	{ .name = "push_backoff", .type = CONF_DURATION,
	  .offset = O(push_backoff), .min = 10 * MSEC, .max = DAY,
	  .dflt = "1s", .reload = 1,
	  .help = "delay before the first retry, doubled each time" },
	{ .name = "push_backoff_max", .type = CONF_DURATION,
	  .offset = O(push_backoff_max), .min = 10 * MSEC, .max = DAY,
	  .dflt = "10m", .reload = 1,
	  .help = "longest delay between retries" },
	{ .name = "push_ttl", .type = CONF_DURATION,
	  .offset = O(push_ttl), .min = 0, .max = 28 * DAY,
	  .dflt = "1d", .reload = 1,
	  .help = "the TTL header of a POST" },
	{ .name = "push_content", .type = CONF_ENUM,
	  .offset = O(push_content), .choices = conf_push_content_choices,
	  .dflt = "none", .reload = 1,
	  .help = "what a POST tells of the message: none, sender or body" },
	{ .name = "push_max_inflight", .type = CONF_COUNT,
	  .offset = O(push_max_inflight), .min = 1, .max = 10000,
	  .dflt = "64", .reload = 1,
	  .help = "POSTs under way at once" },
	{ .name = "push_vapid_key", .type = CONF_STRING,
	  .offset = O(push_vapid_key), .reload = 1,
	  .help = "PEM P-256 private key for VAPID (unset: no VAPID)" },
	{ .name = "push_vapid_subject", .type = CONF_STRING,
	  .offset = O(push_vapid_subject), .reload = 1,
	  .help = "VAPID sub, mailto: or https:; needed with push_vapid_key" },
	{ .name = "push_webhook_secret", .type = CONF_STRING,
	  .offset = O(push_webhook_secret), .reload = 1,
	  .help = "HMAC key of a webhook POST's X-Tick-Signature" },
	{ .name = "max_mutes", .type = CONF_COUNT, .offset = O(max_mutes),
	  .min = 0, .max = 1000000, .dflt = "4096", .reload = 0,
	  .help = "most chats one user may mute" },
	/* The web client (tickd-protocol(7) WEB CLIENT). */
	{ .name = "web_root", .type = CONF_STRING, .offset = O(web_root),
	  .reload = 0,
	  .help = "directory of static files served to browsers (unset: none)" },
	/* tickd.conf(5): Reverse proxy. */
	{ .name = "trusted_proxies", .type = CONF_STRING,
	  .offset = O(trusted_proxies), .reload = 1,
	  .help = "proxies whose client address headers are believed" },
	{ .name = "listen_proxy_protocol", .type = CONF_ENUM,
	  .offset = O(listen_proxy_protocol), .choices = conf_yesno_choices,
	  .dflt = "no", .reload = 0,
	  .help = "yes: connections to listen start with a PROXY header" },
	{ .name = "listen_plain_proxy_protocol", .type = CONF_ENUM,
	  .offset = O(listen_plain_proxy_protocol),
	  .choices = conf_yesno_choices, .dflt = "no", .reload = 0,
	  .help = "yes: connections to listen_plain start with one" },
	{ .name = "resp_proxy_protocol", .type = CONF_ENUM,
	  .offset = O(resp_proxy_protocol), .choices = conf_yesno_choices,
	  .dflt = "no", .reload = 0,
	  .help = "yes: connections to resp_listen start with one" },
	/* tickd.conf(5): Metrics. */
	{ .name = "metrics_listen", .type = CONF_ADDRESS,
	  .offset = O(metrics_listen), .reload = 0,
	  .help = "a port of its own for /metrics (unset: loopback clients)" },
	/* tickd.conf(5): Cluster. */
	{ .name = "cluster_redis", .type = CONF_STRING,
	  .offset = O(cluster_redis), .reload = 0,
	  .help = "redis://[user:pass@]host:port of the shared Redis (unset: "
	  "one node)" },
	{ .name = "cluster_redis_ca_file", .type = CONF_STRING,
	  .offset = O(cluster_redis_ca_file), .reload = 0,
	  .help = "CA certificates for rediss:// (unset: the system's)" },
	{ .name = "node_name", .type = CONF_STRING, .offset = O(node_name),
	  .reload = 0,
	  .help = "this node's name, 1-32 bytes of [a-z0-9-], never reused" },
	{ .name = "cluster_url", .type = CONF_STRING,
	  .offset = O(cluster_url), .reload = 0,
	  .help = "this node's public base URL, for redirects to it" },
	{ .name = "cluster_prefix", .type = CONF_STRING,
	  .offset = O(cluster_prefix), .dflt = "tickd:", .reload = 0,
	  .help = "prefix of every Redis key" },
	{ .name = "cluster_batch", .type = CONF_COUNT,
	  .offset = O(cluster_batch), .min = 1, .max = 100000,
	  .dflt = "256", .reload = 0,
	  .help = "entries per XADD pipeline or XREADGROUP" },
	{ .name = "cluster_retry", .type = CONF_DURATION,
	  .offset = O(cluster_retry), .min = 100 * MSEC, .max = DAY,
	  .dflt = "30s", .reload = 0,
	  .help = "resend of records not confirmed; stream trim; bare lw" },
	{ .name = "cluster_heartbeat", .type = CONF_DURATION,
	  .offset = O(cluster_heartbeat), .min = 100 * MSEC, .max = HOUR,
	  .dflt = "2s", .reload = 0,
	  .help = "heartbeat period; a node is alive for 3 of them" },
	{ .name = "cluster_rpc_timeout", .type = CONF_DURATION,
	  .offset = O(cluster_rpc_timeout), .min = 100 * MSEC, .max = HOUR,
	  .dflt = "5s", .reload = 0,
	  .help = "wait for the reply of a remote call" },
	{ .name = "cluster_redis_timeout", .type = CONF_DURATION,
	  .offset = O(cluster_redis_timeout), .min = 100 * MSEC, .max = HOUR,
	  .dflt = "5s", .reload = 0,
	  .help = "an unanswered Redis command marks Redis unreachable" },
	{ .name = "cluster_slots_refresh", .type = CONF_DURATION,
	  .offset = O(cluster_slots_refresh), .min = 100 * MSEC, .max = HOUR,
	  .dflt = "30s", .reload = 0,
	  .help = "period of a Redis Cluster's slot map refresh" },
	{ .name = "cluster_outbox_max", .type = CONF_COUNT,
	  .offset = O(cluster_outbox_max), .min = 1, .max = 1000000000,
	  .dflt = "1000000", .reload = 0,
	  .help = "outbox records before remote sends get unavailable" },
	{ .name = NULL }
};

#define CONF_FIELD(c, e, type)	((type *)(void *)((char *)(c) + (e)->offset))
#define CONF_CFIELD(c, e, type) \
	((const type *)(const void *)((const char *)(c) + (e)->offset))

static size_t	conf_count(void);
static void	conf_append(char *, size_t, const char *);
static int	conf_number(const char *, const char **, uint64_t *);
static int	conf_scaled(const char *, uint64_t *, char **, int);
static void	conf_format(enum conf_type, uint64_t, char *, size_t);
static int	conf_string_check(const struct conf_entry *, const char *,
		    char **);
static int	conf_set(struct conf *, const struct conf_entry *,
		    const char *, char **);
static int	conf_line(struct conf *, const char *, unsigned int, char *,
		    size_t, unsigned int *, char **);
static int	conf_equal(const struct conf_entry *, const struct conf *,
		    const struct conf *);
static void	conf_copy(const struct conf_entry *, struct conf *,
		    const struct conf *);

/* Returns the number of entries in conf_table. */
static size_t
conf_count(void)
{
	size_t	n = 0;

	while (conf_table[n].name != NULL)
		n++;
	return (n);
}

/* Appends s to the string in buf, truncating to fit len bytes. */
static void
conf_append(char *buf, size_t len, const char *s)
{
	size_t	used = strlen(buf);

	if (used + 1 < len)
		snprintf(buf + used, len - used, "%s", s);
}

/* Reads decimal digits from s into *n; -1 if there are none or too many. */
static int
conf_number(const char *s, const char **end, uint64_t *n)
{
	uint64_t	v = 0;
	const char	*p = s;

	if (*p < '0' || *p > '9')
		return (-1);
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return (-1);
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*n = v;
	*end = p;
	return (0);
}

/* Parses a duration (duration != 0) or a size into ms or bytes. */
static int
conf_scaled(const char *v, uint64_t *out, char **why, int duration)
{
	static const struct {
		const char	*unit;
		uint64_t	 scale;
	} dunits[] = {
		{ "ms", MSEC }, { "s", SEC }, { "m", MIN }, { "h", HOUR },
		{ "d", DAY }, { NULL, 0 }
	}, sunits[] = {
		{ "", 1 }, { "k", KB }, { "K", KB }, { "m", MB }, { "M", MB },
		{ "g", GB }, { "G", GB }, { NULL, 0 }
	}, *u;
	const char	*end;
	uint64_t	 n;

	if (conf_number(v, &end, &n) != 0) {
		if (*v >= '0' && *v <= '9')
			xasprintf(why, "\"%s\" is too large", v);
		else if (duration)
			xasprintf(why, "\"%s\" is not a duration, as in 30s",
			    v);
		else
			xasprintf(why, "\"%s\" is not a size, as in 64k", v);
		return (-1);
	}
	if (duration && *end == '\0') {
		xasprintf(why, "\"%s\" needs a unit: ms, s, m, h or d", v);
		return (-1);
	}
	for (u = duration ? dunits : sunits; u->unit != NULL; u++) {
		if (strcmp(end, u->unit) == 0)
			break;
	}
	if (u->unit == NULL) {
		xasprintf(why, "unknown unit \"%s\" in \"%s\" (use %s)", end, v,
		    duration ? "ms, s, m, h or d" : "k, m or g");
		return (-1);
	}
	if (n > UINT64_MAX / u->scale) {
		xasprintf(why, "\"%s\" is too large", v);
		return (-1);
	}
	*out = n * u->scale;
	return (0);
}

/* Writes a duration, size or count the way the file would hold it. */
static void
conf_format(enum conf_type type, uint64_t n, char *buf, size_t len)
{
	static const struct {
		const char	*unit;
		uint64_t	 scale;
	} dunits[] = {
		{ "d", DAY }, { "h", HOUR }, { "m", MIN }, { "s", SEC },
		{ "ms", MSEC }, { NULL, 0 }
	}, sunits[] = {
		{ "g", GB }, { "m", MB }, { "k", KB }, { "", 1 }, { NULL, 0 }
	}, *u;

	if (type == CONF_DURATION)
		u = dunits;
	else if (type == CONF_SIZE)
		u = sunits;
	else {
		snprintf(buf, len, "%llu", (unsigned long long)n);
		return;
	}
	for (; u[1].unit != NULL; u++) {
		if (n != 0 && n % u->scale == 0)
			break;
	}
	snprintf(buf, len, "%llu%s", (unsigned long long)(n / u->scale),
	    u->unit);
}

/* Parses 1.2.3.4:PORT or [IPv6]:PORT with inet_pton only: no DNS. */
int
conf_address(const char *v, struct sockaddr_storage *ss, socklen_t *sslen,
    char **why)
{
	struct sockaddr_in	*sin;
	struct sockaddr_in6	*sin6;
	const char		*colon, *end;
	char			 host[INET6_ADDRSTRLEN + 1];
	size_t			 hlen;
	uint64_t		 port;
	int			 v6 = 0;

	if (*v == '[') {
		if ((end = strchr(v, ']')) == NULL) {
			xasprintf(why, "\"%s\" has no closing ]", v);
			return (-1);
		}
		v6 = 1;
		hlen = (size_t)(end - v - 1);
		colon = end + 1;
		if (*colon != ':') {
			xasprintf(why, "\"%s\" needs :PORT after ]", v);
			return (-1);
		}
		v++;
	} else {
		if ((colon = strrchr(v, ':')) == NULL) {
			xasprintf(why, "\"%s\" is not ADDRESS:PORT", v);
			return (-1);
		}
		hlen = (size_t)(colon - v);
		if (memchr(v, ':', hlen) != NULL) {
			xasprintf(why, "\"%s\": write an IPv6 address in "
			    "brackets, as in [::1]:8080", v);
			return (-1);
		}
	}
	if (hlen == 0 || hlen >= sizeof host) {
		xasprintf(why, "\"%s\" has no valid address", v6 ? v - 1 : v);
		return (-1);
	}
	memcpy(host, v, hlen);
	host[hlen] = '\0';
	if (conf_number(colon + 1, &end, &port) != 0 || *end != '\0' ||
	    port < 1 || port > 65535) {
		xasprintf(why, "port \"%s\" is not a number from 1 to 65535",
		    colon + 1);
		return (-1);
	}

	memset(ss, 0, sizeof *ss);
	if (v6) {
		sin6 = (struct sockaddr_in6 *)ss;
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1) {
			xasprintf(why, "\"%s\" is not an IPv6 address", host);
			return (-1);
		}
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*sslen = sizeof *sin6;
	} else {
		sin = (struct sockaddr_in *)ss;
		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
			xasprintf(why, "\"%s\" is not an IPv4 address (names "
			    "are not resolved; IPv6 goes in brackets)", host);
			return (-1);
		}
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		*sslen = sizeof *sin;
	}
	return (0);
}

/*
 * The syntax of the cluster's string keys (tickd.conf(5) Cluster); other
 * strings are checked by their users.
 */
static int
conf_string_check(const struct conf_entry *e, const char *v, char **why)
{
	if (e->offset == offsetof(struct conf, node_name) &&
	    !cluster_node_name_ok(v, strlen(v))) {
		xasprintf(why, "\"%s\" is not 1-32 bytes of [a-z0-9-]", v);
		return (-1);
	}
	if (e->offset == offsetof(struct conf, cluster_url))
		return (cluster_url_ok(v, why));
	if (e->offset == offsetof(struct conf, cluster_redis) &&
	    cluster_redis_check(v, why) < 0)
		return (-1);
	if (e->offset == offsetof(struct conf, cluster_prefix) &&
	    strpbrk(v, " \t{}") != NULL) {
		xasprintf(why, "\"%s\" holds a blank or a brace", v);
		return (-1);
	}
	return (0);
}

/* Sets one entry from its text; on error *why is a malloc'd reason. */
static int
conf_set(struct conf *c, const struct conf_entry *e, const char *v,
    char **why)
{
	struct sockaddr_storage	  ss;
	socklen_t		  sslen;
	uint64_t		  n;
	char			  lo[32], hi[32], list[256], **sp;
	const char		 *w = v;
	const char *const	 *ch;
	size_t			  i;

	*why = NULL;
	switch (e->type) {
	case CONF_STRING:
		if (*v == '\0') {
			*why = xstrdup("the value is empty");
			return (-1);
		}
		if (e->offset == offsetof(struct conf, trusted_proxies) &&
		    proxy_nets_parse(v, &c->trusted, why) != 0)
			return (-1);
		if (conf_string_check(e, v, why) != 0)
			return (-1);
		sp = CONF_FIELD(c, e, char *);
		free(*sp);
		*sp = xstrdup(v);
		return (0);
	case CONF_ADDRESS:
		if (conf_address(v, &ss, &sslen, why) != 0)
			return (-1);
		sp = CONF_FIELD(c, e, char *);
		free(*sp);
		*sp = xstrdup(v);
		/* Other address keys are resolved by their users. */
		if (e->offset == offsetof(struct conf, listen)) {
			c->listen_ss = ss;
			c->listen_len = sslen;
		}
		return (0);
	case CONF_ENUM:
		for (i = 0; e->choices[i] != NULL; i++) {
			if (strcmp(v, e->choices[i]) == 0) {
				*CONF_FIELD(c, e, int) = (int)i;
				return (0);
			}
		}
		list[0] = '\0';
		for (ch = e->choices; *ch != NULL; ch++) {
			if (ch != e->choices)
				conf_append(list, sizeof list,
				    ch[1] == NULL ? " or " : ", ");
			conf_append(list, sizeof list, *ch);
		}
		xasprintf(why, "\"%s\" is not %s", v, list);
		return (-1);
	case CONF_COUNT:
		if (conf_number(v, &w, &n) != 0 || *w != '\0') {
			xasprintf(why, "\"%s\" is not a whole number", v);
			return (-1);
		}
		break;
	case CONF_DURATION:
	case CONF_SIZE:
		if (conf_scaled(v, &n, why, e->type == CONF_DURATION) != 0)
			return (-1);
		break;
	default:
		fatalx("conf: %s: bad type %d", e->name, (int)e->type);
	}

	conf_format(e->type, e->min, lo, sizeof lo);
	conf_format(e->type, e->max, hi, sizeof hi);
	if (n < e->min) {
		xasprintf(why, "%s is below the minimum %s", v, lo);
		return (-1);
	}
	if (e->max != 0 && n > e->max) {
		xasprintf(why, "%s is above the maximum %s", v, hi);
		return (-1);
	}
	*CONF_FIELD(c, e, uint64_t) = n;
	return (0);
}

/*
 * Parses one line into c.  seen[i] is the line that set conf_table[i], or 0.
 * A value is one word, up to a '#' or blank, or a double-quoted string in
 * which \" and \\ stand for " and \; a comment may follow either.
 */
static int
conf_line(struct conf *c, const char *path, unsigned int lineno, char *line,
    size_t len, unsigned int *seen, char **cause)
{
	const struct conf_entry	*e;
	char			*p, *key, *val, *v, *why, *rest;
	size_t			 klen, i;

	if (memchr(line, '\0', len) != NULL) {
		xasprintf(cause, "%s:%u: NUL byte in line", path, lineno);
		return (-1);
	}
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		line[--len] = '\0';

	for (p = line; *p == ' ' || *p == '\t'; p++)
		;
	if (*p == '\0' || *p == '#')
		return (0);
	key = p;
	while (*p != '\0' && *p != ' ' && *p != '\t')
		p++;
	klen = (size_t)(p - key);
	for (i = 0; conf_table[i].name != NULL; i++) {
		if (strlen(conf_table[i].name) == klen &&
		    strncmp(conf_table[i].name, key, klen) == 0)
			break;
	}
	e = &conf_table[i];
	if (e->name == NULL) {
		xasprintf(cause, "%s:%u: unknown key \"%.*s\"", path, lineno,
		    (int)klen, key);
		return (-1);
	}
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0' || *p == '#') {
		xasprintf(cause, "%s:%u: missing value for \"%s\"", path,
		    lineno, e->name);
		return (-1);
	}
	if (seen[i] != 0) {
		xasprintf(cause, "%s:%u: duplicate key \"%s\" (first set on "
		    "line %u)", path, lineno, e->name, seen[i]);
		return (-1);
	}

	why = NULL;
	val = v = xmalloc(len + 1);
	if (*p == '"') {
		for (p++; *p != '\0' && *p != '"'; p++) {
			if (*p == '\\') {
				p++;
				if (*p != '"' && *p != '\\') {
					why = xstrdup(*p == '\0' ?
					    "missing closing quote" :
					    "only \\\" and \\\\ may follow "
					    "a backslash");
					goto bad;
				}
			}
			*v++ = *p;
		}
		if (*p != '"') {
			why = xstrdup("missing closing quote");
			goto bad;
		}
		p++;
	} else {
		while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '#')
			*v++ = *p++;
	}
	*v = '\0';
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != '\0' && *p != '#') {
		rest = p;
		while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '#')
			p++;
		xasprintf(&why, "unexpected \"%.*s\" after the value (quote a "
		    "value that holds blanks)", (int)(p - rest), rest);
		goto bad;
	}
	if (conf_set(c, e, val, &why) != 0)
		goto bad;
	free(val);
	seen[i] = lineno;
	return (0);

bad:
	xasprintf(cause, "%s:%u: bad value for \"%s\": %s", path, lineno,
	    e->name, why);
	free(why);
	free(val);
	return (-1);
}

/* Whether an address key's value is on loopback (127/8 or ::1). */
static int
conf_loopback(const char *v)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	char			*why;

	if (conf_address(v, &ss, &len, &why) != 0) {
		free(why);
		return (0);
	}
	if (ss.ss_family == AF_INET)
		return ((ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr) >>
		    24) == 127);
	return (IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)&ss)->sin6_addr));
}

/* Sets every entry of c to its default, as if read from a file. */
void
conf_init(struct conf *c)
{
	const struct conf_entry	*e;
	char			*why;

	memset(c, 0, sizeof *c);
	for (e = conf_table; e->name != NULL; e++) {
		/* A key without a default is unset: NULL or zero. */
		if (e->dflt == NULL)
			continue;
		if (conf_set(c, e, e->dflt, &why) != 0)
			fatalx("conf: default of %s: %s", e->name, why);
	}
}

/*
 * Reads path on top of the defaults.  On success the result replaces *c
 * (which must hold conf_init's or conf_load's result, or zeroes); on error
 * *c is untouched and *cause is a malloc'd "FILE:LINE: reason".
 */
int
conf_load(struct conf *c, const char *path, char **cause)
{
	struct conf	 nc;
	FILE		*f;
	char		*line = NULL;
	size_t		 cap = 0;
	ssize_t		 n;
	unsigned int	 lineno = 0, *seen;

	*cause = NULL;
	if ((f = fopen(path, "r")) == NULL) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return (-1);
	}
	conf_init(&nc);
	seen = xcalloc(conf_count(), sizeof *seen);
	while ((n = getline(&line, &cap, f)) != -1) {
		lineno++;
		if (conf_line(&nc, path, lineno, line, (size_t)n, seen,
		    cause) != 0)
			goto fail;
	}
	if (ferror(f)) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		goto fail;
	}

	/* Checks that involve more than one key. */
	if (nc.resp_listen != NULL && nc.resp_password == NULL &&
	    !conf_loopback(nc.resp_listen)) {
		xasprintf(cause, "%s: resp_listen %s is not a loopback "
		    "address, so resp_password must be set", path,
		    nc.resp_listen);
		goto fail;
	}
	if (nc.registration == REG_OPEN && !conf_loopback(nc.listen)) {
		xasprintf(cause, "%s: registration is open on listen %s, which "
		    "is not a loopback address, so anyone who reaches it may "
		    "make accounts: write registration open_public to mean it, "
		    "or registration closed", path, nc.listen);
		goto fail;
	}
	if ((nc.listen_proxy_protocol || nc.listen_plain_proxy_protocol ||
	    nc.resp_proxy_protocol) && nc.trusted_proxies == NULL) {
		xasprintf(cause, "%s: a PROXY protocol listener needs "
		    "trusted_proxies", path);
		goto fail;
	}
	if (nc.cluster_redis != NULL && nc.node_name == NULL) {
		xasprintf(cause, "%s: cluster_redis needs node_name", path);
		goto fail;
	}
	if (nc.cluster_redis != NULL && nc.cluster_url == NULL) {
		xasprintf(cause, "%s: cluster_redis needs cluster_url", path);
		goto fail;
	}
	if (nc.resp_max_query < nc.resp_max_bulk + CONF_RESP_ROOM) {
		xasprintf(cause, "%s: resp_max_query must be at least "
		    "resp_max_bulk + 64k", path);
		goto fail;
	}
	if (nc.max_frame_bytes < nc.max_message_bytes + CONF_FRAME_ROOM) {
		xasprintf(cause, "%s: max_frame_bytes must be at least "
		    "max_message_bytes + 1k", path);
		goto fail;
	}

	free(line);
	free(seen);
	fclose(f);
	nc.path = xstrdup(path);
	conf_clear(c);
	*c = nc;
	return (0);

fail:
	free(line);
	free(seen);
	fclose(f);
	conf_clear(&nc);
	return (-1);
}

/* Frees what c holds and zeroes it. */
void
conf_clear(struct conf *c)
{
	const struct conf_entry	*e;

	for (e = conf_table; e->name != NULL; e++) {
		if (e->type == CONF_STRING || e->type == CONF_ADDRESS)
			free(*CONF_FIELD(c, e, char *));
	}
	free(c->path);
	memset(c, 0, sizeof *c);
}

/* Returns 1 if a and b hold the same value for entry e. */
static int
conf_equal(const struct conf_entry *e, const struct conf *a,
    const struct conf *b)
{
	const char	*sa, *sb;

	switch (e->type) {
	case CONF_STRING:
	case CONF_ADDRESS:
		sa = *CONF_CFIELD(a, e, char *);
		sb = *CONF_CFIELD(b, e, char *);
		if (sa == NULL || sb == NULL)
			return (sa == sb);
		return (strcmp(sa, sb) == 0);
	case CONF_ENUM:
		return (*CONF_CFIELD(a, e, int) == *CONF_CFIELD(b, e, int));
	default:
		return (*CONF_CFIELD(a, e, uint64_t) ==
		    *CONF_CFIELD(b, e, uint64_t));
	}
}

/* Copies entry e from one conf to another. */
static void
conf_copy(const struct conf_entry *e, struct conf *to,
    const struct conf *from)
{
	char		**sp;
	const char	*s;

	switch (e->type) {
	case CONF_STRING:
	case CONF_ADDRESS:
		sp = CONF_FIELD(to, e, char *);
		s = *CONF_CFIELD(from, e, char *);
		free(*sp);
		*sp = s == NULL ? NULL : xstrdup(s);
		if (e->offset == offsetof(struct conf, listen)) {
			to->listen_ss = from->listen_ss;
			to->listen_len = from->listen_len;
		}
		if (e->offset == offsetof(struct conf, trusted_proxies))
			to->trusted = from->trusted;
		break;
	case CONF_ENUM:
		*CONF_FIELD(to, e, int) = *CONF_CFIELD(from, e, int);
		break;
	default:
		*CONF_FIELD(to, e, uint64_t) = *CONF_CFIELD(from, e, uint64_t);
		break;
	}
}

/*
 * Copies into the running conf what SIGHUP may change; the names of the
 * changed keys go into report's "changed", those only a restart applies
 * into its "restart" (tickd(8) SIGNALS), left alone.  report may be NULL.
 */
void
conf_apply_reload(struct conf *to, const struct conf *from, json_t *report)
{
	const struct conf_entry	*e;

	for (e = conf_table; e->name != NULL; e++) {
		if (conf_equal(e, to, from))
			continue;
		if (e->reload)
			conf_copy(e, to, from);
		json_array_append_new(json_object_get(report, e->reload ?
		    "changed" : "restart"), json_string(e->name));
	}
}
