/* SPDX-License-Identifier: ISC */
/*
 * tickd.h: the daemon's types and prototypes, grouped by the file that
 * defines them.  The LMDB layer has its own contract in store.h.
 */
#ifndef TICKD_H
#define TICKD_H

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>

#include "store.h"

#define TICKD_CONF_DEFAULT	SYSCONFDIR "/tickd.conf"

#define TOKEN_BYTES	32			/* 256 random bits */
#define TOKEN_HEXLEN	(TOKEN_BYTES * 2)

#ifndef __dead
#define __dead __attribute__((__noreturn__))
#endif
#define printflike(a, b) __attribute__((__format__(__printf__, a, b)))

/* Protocol error codes of tickd-protocol(7) ERROR CODES. */
enum tick_err {
	TE_OK = 0,
	TE_BAD_JSON,
	TE_BAD_REQUEST,
	TE_UNKNOWN_OP,
	TE_NOT_AUTHENTICATED,
	TE_BAD_TOKEN,
	TE_NO_SUCH_USER,
	TE_TOO_LARGE,
	TE_QUEUE_FULL,
	TE_RATE_LIMITED,
	TE_INTERNAL,
	TE_BAD_CREDENTIALS,
	TE_REGISTRATION_CLOSED,
	TE_NAME_TAKEN,
	TE_UNAVAILABLE,
	TE_NO_SUCH_GROUP,	/* version 2, groups */
	TE_FORBIDDEN,
	TE_GROUP_FULL,
	TE_TOO_MANY_GROUPS,
	TE_TOO_MANY_DEVICES,
	TE_NO_SUCH_MEDIA,		/* tickd-protocol(7) MEDIA */
	TE_QUOTA_EXCEEDED,
	TE_BAD_RANGE,
	TE_PUSH_REJECTED,	/* tickd-protocol(7) PUSH NOTIFICATIONS */
};

/* compat/strlcpy.c */
#ifndef HAVE_STRLCPY
size_t	strlcpy(char *, const char *, size_t);
#endif

/* log.c */
#define L_ERROR		0
#define L_WARN		1
#define L_INFO		2
#define L_DEBUG		3
void	log_init(int foreground, int level);
void	log_setlevel(int);
int	log_getlevel(void);
void	log_reopen(void);
void	log_warn(const char *, ...) printflike(1, 2);	/* + strerror */
void	log_warnx(const char *, ...) printflike(1, 2);
void	log_info(const char *, ...) printflike(1, 2);
void	log_debug(const char *, ...) printflike(1, 2);
__dead void fatal(const char *, ...) printflike(1, 2);	/* + strerror */
__dead void fatalx(const char *, ...) printflike(1, 2);

/* proxy.c */
#define PROXY_NETS_MAX		64	/* entries of trusted_proxies */
#define PROXY_HEADER_MAX	536	/* longest PROXY header read */
struct proxy_net {
	int		 family;	/* AF_INET or AF_INET6 */
	uint8_t		 addr[16];	/* network order, host bits zero */
	unsigned	 bits;		/* prefix length */
};
struct proxy_nets {
	size_t		 n;
	struct proxy_net v[PROXY_NETS_MAX];
};
int	proxy_nets_parse(const char *, struct proxy_nets *, char **);
int	proxy_trusted(const struct proxy_nets *, const char *);
int	proxy_xff(const struct proxy_nets *, const char *, char *, size_t);
int	proxy_forwarded(const struct proxy_nets *, const char *, char *,
	    size_t);
int	proxy_header(const uint8_t *, size_t, struct sockaddr_storage *,
	    socklen_t *);

/* conf.c */
#define REG_OPEN	0
#define REG_CLOSED	1
#define REG_OPEN_PUBLIC	2	/* open, on a public listen too */
#define TLS_V12		0
#define TLS_V13		1
struct conf {
	char		*path;		/* file it was read from, or NULL */
	char		*listen;	/* as written: ADDRESS:PORT */
	struct sockaddr_storage listen_ss;
	socklen_t	 listen_len;
	char		*data_dir;
	uint64_t	 map_size;	/* bytes */
	uint64_t	 min_free_space; /* on data_dir's file system */
	int		 sync_thread;	/* 0 no, 1 yes */
	int		 registration;	/* REG_OPEN, REG_CLOSED, ... */
	uint64_t	 token_ttl;	/* every duration is in ms */
	uint64_t	 auth_timeout;
	uint64_t	 window;	/* unacked items in flight per device */
	uint64_t	 max_queue;	/* items per device queue */
	uint64_t	 max_message_bytes;
	uint64_t	 max_frame_bytes;
	uint64_t	 max_output_bytes; /* per connection, then closed */
	uint64_t	 max_request_bytes; /* HTTP head + body */
	uint64_t	 max_devices_per_user;
	uint64_t	 max_user_bytes; /* a user's messages in all queues */
	uint64_t	 message_ttl;
	uint64_t	 dedup_window;
	uint64_t	 device_ttl;
	uint64_t	 ping_interval;
	int		 log_level;	/* L_* */
	char		*pidfile;
	char		*listen_plain;	/* NULL: none */
	char		*tls_cert;	/* NULL: no TLS */
	char		*tls_key;
	int		 tls_min_version; /* TLS_V12 or TLS_V13 */
	char		*tls_ciphers;
	char		*tls_ciphersuites;
	char		*resp_tls_cert;	/* NULL: plain RESP */
	char		*resp_tls_key;
	uint64_t	 send_rate;	/* messages per second per user, 0: any */
	uint64_t	 send_burst;
	uint64_t	 login_rate;	/* attempts per minute, 0: any */
	uint64_t	 max_connections;
	uint64_t	 max_connections_per_ip;
	uint64_t	 handshake_timeout;
	uint64_t	 max_json_depth;
	uint64_t	 max_ack_mids;
	uint64_t	 max_subscriptions;
	char		*audit_pg;	/* libpq conninfo, NULL: no audit log */
	uint64_t	 audit_spool_max; /* events waiting for PostgreSQL */
	uint64_t	 audit_timeout;	/* connect or batch, then reconnect */
	uint64_t	 audit_backoff_max; /* longest reconnect delay */
	char		*control_socket; /* tickctl's UNIX socket */
	char		*user;		/* NULL: keep the starting user */
	char		*group;		/* NULL: user's primary group */
	char		*resp_listen;	/* RESP shim, NULL: off */
	char		*resp_password;	/* NULL: none asked */
	uint64_t	 resp_max_bulk;	/* largest RESP bulk string */
	uint64_t	 resp_max_query; /* a RESP client's unparsed input */
	uint64_t	 resp_max_clients;
	uint64_t	 max_group_members;	/* groups */
	uint64_t	 max_groups_per_user;
	uint64_t	 max_group_description;
	uint64_t	 group_receipts_max;
	uint64_t	 max_key_bytes;	/* key directory */
	uint64_t	 max_prekeys;
	uint64_t	 prekeys_low;
	uint64_t	 keys_fetch_rate; /* bundles a minute a user, 0: any */
	/* Media, tickd-protocol(7) MEDIA. */
	char		*media_dir;	/* NULL: data_dir/media */
	uint64_t	 max_media_bytes;
	uint64_t	 media_quota;	/* bytes of live media per user */
	uint64_t	 media_ttl;
	uint64_t	 media_timeout;	/* a whole upload */
	uint64_t	 media_rate;	/* uploads a minute per user, 0: any */
	uint64_t	 media_min_free; /* bytes free for uploads to go on */
	uint64_t	 max_media_refs;
	char		*web_root;	/* web client, NULL: none */
	/* Push for offline devices, tickd-protocol(7) PUSH NOTIFICATIONS. */
	char		*push_allow_hosts; /* NULL: push off */
	int		 push_allow_http; /* 0 no, 1 yes */
	int		 push_allow_private;
	char		*push_ca_file;
	uint64_t	 push_delay;
	uint64_t	 push_timeout;
	uint64_t	 push_retries;
	uint64_t	 push_backoff;
	uint64_t	 push_backoff_max;
	uint64_t	 push_ttl;
	int		 push_content;	/* PUSH_CONTENT_* */
	uint64_t	 push_max_inflight;
	char		*push_vapid_key;
	char		*push_vapid_subject;
	char		*push_webhook_secret;
	uint64_t	 max_mutes;
	/* Reverse proxy, tickd.conf(5). */
	char		*trusted_proxies; /* as written, NULL: none */
	struct proxy_nets trusted;	/* parsed from it */
	int		 listen_proxy_protocol;	/* 1: PROXY header first */
	int		 listen_plain_proxy_protocol;
	int		 resp_proxy_protocol;
	/* Metrics, tickd.conf(5). */
	char		*metrics_listen;	/* NULL: loopback on listen */
	/* Several nodes on one Redis, tickd-cluster(7). */
	char		*cluster_redis;	/* NULL: a single node */
	char		*cluster_redis_ca_file;
	char		*node_name;
	char		*cluster_url;
	char		*cluster_prefix;
	uint64_t	 cluster_batch;
	uint64_t	 cluster_retry;
	uint64_t	 cluster_heartbeat;
	uint64_t	 cluster_rpc_timeout;
	uint64_t	 cluster_redis_timeout;
	uint64_t	 cluster_slots_refresh;
	uint64_t	 cluster_outbox_max;
};
enum conf_type {
	CONF_STRING,		/* char *, may be double-quoted */
	CONF_DURATION,		/* uint64_t ms: 500ms 30s 10m 2h 7d */
	CONF_SIZE,		/* uint64_t bytes: 123, 64k, 10m, 1g */
	CONF_COUNT,		/* uint64_t plain integer */
	CONF_ENUM,		/* int, index into choices */
	CONF_ADDRESS,		/* char * + sockaddr: 127.0.0.1:8080, [::1]:80 */
};
/*
 * A key of tickd.conf(5).  The fields come in the order of every command
 * table (ops, resp_cmds, ctl_cmds, conf_table): the name, the type, then
 * limits and flags, then the help; rows use designated initializers in
 * that order.
 */
struct conf_entry {
	const char	*name;
	enum conf_type	 type;
	size_t		 offset;	/* in struct conf */
	uint64_t	 min, max;	/* DURATION, SIZE, COUNT */
	const char	*const *choices; /* ENUM, NULL-terminated */
	const char	*dflt;		/* as it would be written in the file */
	int		 reload;	/* SIGHUP changes it */
	const char	*help;		/* one line */
};
extern const struct conf_entry conf_table[];
void	conf_init(struct conf *);	/* every default */
int	conf_load(struct conf *, const char *path, char **cause);
void	conf_clear(struct conf *);
void	conf_apply_reload(struct conf *to, const struct conf *from,
	    json_t *report);
int	conf_address(const char *, struct sockaddr_storage *, socklen_t *,
	    char **);

/* cluster-rules.c */
#define CLUSTER_NODE_MAX	32	/* bytes of a node_name */
#define CLUSTER_URL_MAX		256	/* bytes of a cluster_url */
struct cluster_redis_addr {
	char		*user;		/* NULL: none */
	char		*pass;		/* NULL: no AUTH */
	char		*host;
	int		 port;
	int		 tls;		/* rediss:// */
};
#define CLUSTER_SENTINELS_MAX	8	/* in one sentinel:// URL */
#define CLUSTER_MASTER_MAX	64	/* bytes of a master's name */
struct cluster_sentinel {
	char		*user;		/* the master's AUTH; NULL: none */
	char		*pass;
	char		*master;	/* its name in the Sentinels */
	struct cluster_redis_addr v[CLUSTER_SENTINELS_MAX];
	size_t		 n;
};
enum cluster_verdict {
	CLUSTER_APPLY,			/* new: apply it */
	CLUSTER_SKIP,			/* at or below the cursor: XACK only */
	CLUSTER_DONE_AGAIN,		/* dedup hit: XACK and done again */
};
int	cluster_node_name_ok(const char *, size_t);
int	cluster_url_ok(const char *, char **);
int	cluster_redis_parse(const char *, size_t, struct cluster_redis_addr *,
	    char **);
void	cluster_redis_addr_clear(struct cluster_redis_addr *);
int	cluster_sentinel_parse(const char *, size_t, struct cluster_sentinel *,
	    char **);
void	cluster_sentinel_clear(struct cluster_sentinel *);
int	cluster_redis_check(const char *, char **);
int	cluster_home_of(const char *, size_t, size_t *);
char	*cluster_key(const char *, const char *, const char *);
#define CLUSTER_SLOTS	16384	/* hash slots of a Redis Cluster */
unsigned cluster_key_slot(const char *, size_t);
int	cluster_redirect_parse(const char *, int *, unsigned *, char *, size_t,
	    int *);
/* Stream entry ids have a mid's syntax: struct mid holds them. */
enum cluster_verdict cluster_verdict(const struct mid *, const struct mid *,
	    int);

/* cluster.c, cluster-stream.c (cluster-none.c without hiredis) */
#define CLUSTER_DOWN	0	/* Redis unreachable */
#define CLUSTER_NONE	1	/* no such name, or taken elsewhere */
#define CLUSTER_FOUND	2	/* homed on another node (or claimed) */
#define CLUSTER_LOCAL	3	/* homed here */
struct cluster_stats {
	uint64_t	forwarded;	/* entries sent to other nodes */
	uint64_t	applied;	/* records applied from them */
	uint64_t	dedup_hits;
	uint64_t	rpc_timeouts;
};
int	cluster_check(const struct conf *, char **);
int	cluster_tls_load(char **);	/* cluster-tls.c */
int	cluster_init(char **);
void	cluster_shutdown(void);
int	cluster_on(void);
int	cluster_redis_up(void);
void	cluster_lookup(const char *, void (*)(void *, int, const char *),
	    void *);
void	cluster_claim(const char *, void (*)(void *, int, const char *),
	    void *);
int	cluster_where(struct txn *, const char *, char *);
int	cluster_token_elsewhere(const char *, char *, size_t, const char **);
const char *cluster_node_url(const char *);
void	cluster_commit(int);
void	cluster_flush(void);
void	cluster_get_stats(struct cluster_stats *);
json_t	*cluster_ctl_status(char **);
json_t	*cluster_ctl_nodes(char **);
json_t	*cluster_ctl_outbox(char **);
json_t	*cluster_ctl_forget(const char *, char **);

/* cluster-groups.c (cluster-none.c without hiredis) */
struct gmirror;
void	cluster_group_changed(const char *);
void	cluster_group_mirror(const char *, const char *,
	    void (*)(void *, int, const struct gmirror *), void *);

/* cluster-rpc.c (cluster-none.c without hiredis) */
typedef void cluster_rpc_fn(void *, json_t *);
int	cluster_rpc_call(const char *, const char *, json_t *,
	    cluster_rpc_fn *, void *);
/* cluster-names.c (cluster-none.c without hiredis) */
int	cluster_held(struct txn *, const char *);
json_t	*cluster_ctl_claim(const char *, char **);

/* cluster-media.c (cluster-none.c without hiredis) */
/* The longest ID a cluster spells, "node." and the 22 characters. */
#define MEDIA_NAME_MAX	(CLUSTER_NODE_MAX + 1 + MEDIA_ID_LEN)
#define MEDIA_GRANT_LEN	32	/* hex digits of a download grant */
#define MEDIA_GRANT_MS	60000	/* a grant's lifetime */
int	cluster_media_grant(const char *, char [MEDIA_GRANT_LEN + 1],
	    void (*)(void *, int), void *);
int	cluster_media_grant_check(const char *, const char *,
	    void (*)(void *, int), void *);
void	cluster_media_live(const uint8_t [MEDIA_ID_BYTES], int);
void	cluster_media_writeback(struct txn *);
void	cluster_media_user_gone(struct txn *, const char *);
int	cluster_media_check(const char *, void (*)(void *, int), void *);

/* cluster-presence.c (cluster-none.c without hiredis) */
void	cluster_presence_view(const char *, const char *, int *, uint64_t *);
int	cluster_presence_watch(const char *);
void	cluster_presence_unwatch(const char *);
void	cluster_presence_changed(const char *, const struct user_rec *, int);
void	cluster_presence_block(const char *, const char *, int);
int	cluster_presence_get(const char *, const char *,
	    void (*)(void *, int, json_t *), void *, json_t **);

/* cluster-typing.c (cluster-none.c without hiredis) */
int	cluster_typing(struct txn *, const char *, const char *,
	    const char *);
void	cluster_typing_group(const char *, const char *, const char *,
	    const char *, json_t *);

/* util.c */
uint64_t now_ms(void);
int	valid_user(const char *, size_t);
int	valid_device(const char *, size_t);
int	json_depth_ok(const char *, size_t, unsigned);
size_t	u64_format(uint64_t, char *);	/* at most 20 digits, no NUL */
size_t	utf8_len(const unsigned char *, size_t);
const char *json_member_text(json_t *, const char *, size_t, size_t, int *);
int	json_member_switch(json_t *, const char *, int *);
#define HASH_INIT	1469598103934665603ULL	/* FNV-1a offset basis */
uint64_t hash_bytes(uint64_t, const void *, size_t);	/* on disk too */
#define HASH_KEY_BYTES	16
uint64_t siphash(const uint8_t [HASH_KEY_BYTES], const void *, size_t);
int	hash_key_init(void);
uint64_t hash_keyed(const void *, size_t);	/* in memory only */
uint64_t hash_str(const char *);
void	hex_encode(const uint8_t *, size_t, char *);	/* NUL-terminates */
int	hex_decode(const char *, size_t, uint8_t *);	/* len/2 bytes */
void   *xmalloc(size_t);
void   *xcalloc(size_t, size_t);
void   *xrealloc(void *, size_t);
void   *xgrow(void *, size_t *, size_t, size_t);
char   *xstrdup(const char *);
char   *xstrndup(const char *, size_t);
int	xasprintf(char **, const char *, ...) printflike(2, 3);
int	xvasprintf(char **, const char *, va_list) printflike(2, 0);
const char *err_code(enum tick_err);
enum tick_err err_from_code(const char *);
const char *item_op(uint8_t);

/* jbuf.c */
struct jbuf {
	char	*p;
	size_t	 len, cap;
	int	 bad;		/* a string was not UTF-8 */
};
void	jbuf_open(struct jbuf *, const char *op);
void	jbuf_str(struct jbuf *, const char *, const char *);
void	jbuf_uint(struct jbuf *, const char *, uint64_t);
void	jbuf_raw(struct jbuf *, const char *, const char *, size_t);
void	jbuf_json(struct jbuf *, const char *, const json_t *);
char   *jbuf_close(struct jbuf *, size_t *);

/* mid.c */
struct midgen {
	struct mid	last;	/* last mid handed out */
	int		dirty;	/* last changed since it was saved */
};
extern const struct mid mid_zero, mid_max;
void	midgen_init(struct midgen *, const struct mid *hw);
void	midgen_next(struct midgen *, uint64_t now, struct mid *);
int	mid_parse(const char *, size_t, struct mid *);	/* 0 ok, -1 bad */
size_t	mid_format(const struct mid *, char [MID_STRLEN + 1]);
int	mid_cmp(const struct mid *, const struct mid *);
int	mid_iszero(const struct mid *);
int	mid_incr(struct mid *);	/* 0 ok, -1 past the last */
int	mid_decr(struct mid *);	/* 0 ok, -1 before 0-0 */
void	mid_encode(const struct mid *, uint8_t [MID_BYTES]);
void	mid_decode(const uint8_t *, struct mid *);

/* queue.c */
struct target {			/* a device that got an item */
	char		user[NAME_USER_MAX + 1];
	char		device[NAME_DEVICE_MAX + 1];
	uint64_t	qid;
};
struct targets {
	struct target	*v;
	size_t		 n, cap;
};
void	targets_add(struct targets *, const char *, const char *, uint64_t);
void	targets_free(struct targets *);
int	targets_has(const struct targets *, const char *, const char *);
struct send_req {
	const char	*from;
	const char	*from_device;
	const char	*to;
	const char	*id;
	json_t		*body;
	const char	*body_text;	/* or it encoded, body_len bytes */
	size_t		 body_len;
	json_t		*media;		/* IDs it references, or NULL */
	int		 media_remote_ok; /* those of other nodes are live */
	uint64_t	 now;
};
struct send_res {
	enum tick_err	 err;		/* TE_OK or why nothing was stored */
	int		 dup;		/* an earlier send's answer */
	int		 over_quota;	/* queue_full for max_user_bytes */
	char		 to[NAME_CHAT_MAX + 1];	/* as first sent */
	struct mid	 mid;
	uint64_t	 ts;
	struct targets	 targets;	/* devices whose queue got the item */
	int		 group;		/* a send to a group: the members below */
	uint64_t	 expect;	/* members that will send receipts */
	uint64_t	 skipped;	/* member devices left out, full */
	uint64_t	 items;		/* items queued */
};
int	queue_send_dup(struct txn *, const struct conf *,
	    const struct send_req *, struct send_res *);
int	queue_remote_room(struct txn *, const struct conf *,
	    const struct send_req *, struct media_refs *, struct send_res *);
char	*queue_send_body(const struct conf *, const struct send_req *,
	    struct send_res *, size_t *);
char	*queue_msg_frame(struct midgen *, const struct send_req *,
	    struct send_res *, const char *, size_t, char *, size_t *);
int	queue_send(struct txn *, struct midgen *, const struct conf *,
	    const struct send_req *, struct send_res *);
int	queue_send_remote(struct txn *, struct midgen *, const struct conf *,
	    const struct send_req *, const char *, struct send_res *);
int	queue_apply_remote(struct txn *, struct midgen *, const struct conf *,
	    const char *, const struct mid *, json_t *, uint64_t,
	    struct targets *);
int	queue_remote_receipt(struct txn *, struct midgen *, const struct mid *,
	    const char *, const char *, uint64_t, struct targets *);
struct ack_res {
	int		 deleted;	/* the item was there */
	struct targets	 targets;	/* devices that got a receipt */
};
int	queue_ack(struct txn *, struct midgen *, const struct conf *,
	    const char *user, const char *device, const struct mid *,
	    uint64_t now, struct ack_res *);
/*
 * The acks of one frame of one device (an ack frame, an XACK), between
 * queue_ack_begin and queue_ack_end in one transaction, with nothing
 * else run on it between: what its mids share is read once (queue.c).
 * Always ended, on error too.
 */
struct ack_sender;
struct ack_frame {
	const char		*user;
	const char		*device;
	int			 have_dev;	/* dev is the device's record */
	struct dev_rec		 dev;		/* as the frame changed it */
	struct dev_rec		 dev_was;	/* as the store holds it */
	struct ack_sender	*s;		/* senders of what it deleted */
	size_t			 ns, cap;
};
void	queue_ack_begin(struct ack_frame *, const char *user,
	    const char *device);
int	queue_ack_mid(struct txn *, struct midgen *, const struct conf *,
	    struct ack_frame *, const struct mid *, uint64_t now,
	    struct ack_res *);
int	queue_ack_end(struct txn *, struct ack_frame *);
int	queue_read(struct txn *, struct midgen *, const struct conf *,
	    const char *user, const struct mid *, uint64_t now,
	    struct targets *);
struct sweep_res {
	struct targets	 removed;	/* devices removed by device_ttl */
	uint64_t	 items;		/* items dropped by message_ttl */
	uint64_t	 msgs;		/* message records forgotten */
	uint64_t	 tokens;	/* tokens expired or orphaned */
};
int	queue_pending(struct txn *, const struct conf *, uint64_t qid,
	    uint64_t now, struct mid *pos, uint64_t *inflight,
	    int (*)(void *, const struct mid *, const struct item *), void *);
int	queue_sweep(struct txn *, struct midgen *, const struct conf *,
	    uint64_t now, int (*online)(void *, const char *, const char *),
	    void *, struct sweep_res *);

/* cluster-apply.c */
struct cluster_entry {			/* one entry of a node's stream */
	struct mid	 id;		/* its stream id */
	char		 o[CLUSTER_NODE_MAX + 1];	/* origin node */
	char		 k[8];		/* kind: msg, rcpt, done, lw... */
	struct mid	 om;		/* origin's outbox mid */
	struct mid	 lw;		/* origin's low-water mark */
	int		 has_lw;
	const char	*p;		/* JSON payload, not NUL-terminated */
	size_t		 plen;
};
struct cluster_done {			/* oms to confirm to one origin */
	char		 node[CLUSTER_NODE_MAX + 1];
	struct mid	*oms;
	size_t		 n, cap;
	struct mid	*moved;		/* for users not homed here */
	size_t		 nmoved, capmoved;
};
struct cluster_relook {			/* a record sent to a stale home */
	char		 node[CLUSTER_NODE_MAX + 1];	/* where it went */
	struct mid	 om;
	char		 user[NAME_USER_MAX + 1];	/* whom it is for */
};
struct cluster_rep {			/* a rep entry to send after commit */
	char		 node[CLUSTER_NODE_MAX + 1];
	char		*text;		/* its p: {"rid","reply"} */
};
struct cluster_applied {
	struct targets		 targets;	/* devices to pump */
	struct cluster_done	*done;
	size_t			 ndone, capdone;
	struct cluster_rep	*reps;		/* answers to req entries */
	size_t			 nreps, capreps;
	struct cluster_relook	*relook;	/* homes to look up again */
	size_t			 nrelook, caprelook;
	uint64_t		 prekeys_taken;	/* by keys_fetch calls served */
	uint64_t		 prekeys_empty;
	char			(*groups)[NAME_GROUP_MAX + 1]; /* changed */
	size_t			 ngroups, capgroups;
	struct mid		 cursor;	/* after the batch */
	uint64_t		 applied;	/* records applied */
	uint64_t		 dedup_hits;
	uint64_t		 confirmed;	/* own outbox records done */
};
int	cluster_cout_json(struct txn *, struct midgen *, const char *,
	    const struct mid *, int, uint64_t, json_t *,
	    const struct media_refs *);
int	cluster_cout_release(struct txn *, struct midgen *, const struct mid *,
	    const struct cout_rec *, uint64_t);
int	cluster_cout_hold_copy(struct txn *, struct midgen *,
	    const struct mid *, const struct mid *, uint64_t);
int	cluster_apply(struct txn *, struct midgen *, const struct conf *,
	    const struct cluster_entry *, size_t, uint64_t,
	    struct cluster_applied *);
void	cluster_applied_free(struct cluster_applied *);
void	cluster_applied_group(struct cluster_applied *, const char *);
int	cluster_rcpt_put(struct txn *, struct midgen *, const char *,
	    const struct mid *, const char *, const char *, const char *,
	    uint64_t);
int	cluster_rcpt_put_group(struct txn *, struct midgen *, const char *,
	    const struct mid *, const char *, const char *, const char *,
	    uint64_t);
int	cluster_retarget(struct txn *, struct midgen *, const char *,
	    const struct mid *, const char *, const char *, uint64_t,
	    struct targets *);
int	cluster_not_here(struct txn *, const char *);
int	cluster_user_get(struct txn *, const struct conf *, const char *,
	    struct user_rec *);

/* cluster-serve.c */
int	cluster_serve(struct txn *, struct midgen *, const struct conf *,
	    const char *, json_t *, uint64_t, struct cluster_applied *);

/* group.c */
/* A device collected for a fan-out; the array is reused per member. */
struct gdev {
	char		device[NAME_DEVICE_MAX + 1];
	struct dev_rec	r;
};
struct gdevs {
	struct gdev	*v;
	size_t		 n, cap;
};

/*
 * Items for members homed on other nodes (tickd-cluster(7), Groups across
 * nodes), gathered per node while one item is fanned out, then written as
 * one gev outbox record per node.
 */
struct gfan_node {
	char	 node[CLUSTER_NODE_MAX + 1];
	json_t	*users;
};
struct gfan {
	struct mid		 mid;	/* the item's mid here */
	const struct item	*it;	/* NULL: nothing gathered */
	struct gfan_node	*v;
	size_t			 n, cap;
	json_t			*msg;	/* a message's origin, sender, id */
	const struct media_refs	*refs;	/* a message's media, or NULL */
};

/* One change being made: the group, its record, and where events go. */
struct gctx {
	struct txn		*txn;
	struct midgen		*gen;
	const struct conf	*conf;
	const char		*group;
	struct group_rec	 g;
	const char		*by;
	uint64_t		 now;
	struct targets		*out;
	struct gdevs		 devs;
	struct gfan		 fan;
};

/*
 * What a group op run at the actor's home in a cluster stops for, rather
 * than decide without it, once the checks this node can make alone passed
 * (tickd-cluster(7), Groups across nodes).
 */
enum grp_ask {
	GRP_ASK_LOOKUP = 1,	/* the homes of users not known here */
	GRP_ASK_VET = 2		/* the verdicts of users homed elsewhere */
};

struct grp_req {
	const char	 *actor;
	const char	 *group;	/* NULL: group_create picks a name */
	uint64_t	  now;
	const char	 *title;	/* NULL: not given */
	const char	 *description;	/* NULL: not given */
	int		  admin_only_send; /* -1: not given, else 0 or 1 */
	int		  admin_only_info;
	const char *const *users;	/* group_add/_remove, create's members */
	size_t		  nusers;
	const char	 *user;		/* group_role */
	int		  role;		/* GROLE_* */
	json_t		 *verdicts;	/* add, create: {user: may be added}
					   from the homes of users homed
					   elsewhere; NULL: none */
	int		  ask;		/* GRP_ASK_*: what to stop for */
};
struct grp_res {
	enum tick_err	 err;		/* TE_OK or why nothing changed */
	int		 ask;		/* the GRP_ASK_* stopped for, err
					   TE_UNAVAILABLE */
	char		 user[NAME_USER_MAX + 1];	/* no_such_user: who */
	char		 group[NAME_GROUP_MAX + 1];	/* the created one */
	json_t		*refused;	/* create and add: names refused */
	json_t		*info;		/* create and info: the reply */
	struct targets	 targets;	/* devices that got events */
};
int	valid_group(const char *, size_t);
int	group_role_parse(const char *);
const char *group_role_name(int);
const char *group_err_message(enum tick_err);
void	grp_res_free(struct grp_res *);
int	group_create(struct txn *, struct midgen *, const struct conf *,
	    const struct grp_req *, struct grp_res *);
int	group_info(struct txn *, const struct grp_req *, struct grp_res *);
int	group_refuses_actor(struct txn *, const char *, const char *);
int	group_refuses(struct txn *, const struct conf *, const char *,
	    const char *, uint64_t);
int	group_leave_one(struct txn *, struct midgen *, const struct conf *,
	    const char *, const char *, uint64_t, struct targets *);
int	group_list(struct txn *, const char *, json_t **);
int	group_add(struct txn *, struct midgen *, const struct conf *,
	    const struct grp_req *, struct grp_res *);
int	group_remove(struct txn *, struct midgen *, const struct conf *,
	    const struct grp_req *, struct grp_res *);
int	group_leave(struct txn *, struct midgen *, const struct conf *,
	    const struct grp_req *, struct grp_res *);
int	group_role(struct txn *, struct midgen *, const struct conf *,
	    const struct grp_req *, struct grp_res *);
int	group_set(struct txn *, struct midgen *, const struct conf *,
	    const struct grp_req *, struct grp_res *);
int	group_user_gone(struct txn *, struct midgen *, const struct conf *,
	    const char *, uint64_t, struct targets *, uint64_t *);
int	group_delete(struct txn *, struct midgen *, const struct conf *,
	    const char *, uint64_t, struct targets *, uint64_t *);
/* What group-send.c runs a send, a receipt or typing with. */
int	group_abandon(struct txn *);
int	group_user_items(struct gctx *, const char *, const char *, uint64_t,
	    const struct mid *, const struct item *, uint64_t *, uint64_t *);
int	group_blocked(struct txn *, const char *, const char *);
int	gctx_open(struct gctx *, struct txn *, struct midgen *,
	    const struct conf *, const struct grp_req *, struct gmember_rec *,
	    struct grp_res *);
void	gctx_close(struct gctx *);

/* group-cluster.c */
int	group_user_known(struct txn *, const struct conf *, const char *);
int	group_vet_user(struct txn *, const struct conf *, const char *,
	    const char *, const char *, uint64_t);
int	group_fan_add(struct gctx *, const char *, const struct mid *,
	    const struct item *);
int	group_fan_flush(struct gctx *);
void	group_fan_free(struct gfan *);
int	group_apply_gev(struct txn *, struct midgen *, const struct conf *,
	    const char *, json_t *, uint64_t, struct targets *);
int	group_list_remote(struct txn *, const char *, json_t *);
int	group_user_gone_remote(struct txn *, struct midgen *, const char *,
	    uint64_t, uint64_t *);
int	group_apply_gleave(struct txn *, struct midgen *, const struct conf *,
	    const char *, json_t *, uint64_t, struct targets *,
	    const char **);
struct gmirror {			/* a group's mirror, as a sender's home reads it */
	char		 home[CLUSTER_NODE_MAX + 1];
	int		 role;		/* the sender's GROLE_*, -1: none */
	int		 admin_only_send;
	uint64_t	 members;
};
int	group_send_remote(struct txn *, struct midgen *, const struct conf *,
	    const struct send_req *, const struct gmirror *,
	    struct send_res *);
int	group_apply_gmsg(struct txn *, struct midgen *, const struct conf *,
	    const char *, const struct mid *, json_t *, uint64_t,
	    struct targets *);

/* group-send.c */
int	group_send(struct txn *, struct midgen *, const struct conf *,
	    const struct send_req *, struct send_res *);
int	group_send_records(struct txn *, const struct send_req *,
	    struct send_res *, struct gmsg_rec *);
int	group_ack(struct txn *, struct midgen *, const char *,
	    const struct mid *, const struct msg_rec *, uint64_t,
	    struct targets *);
int	group_read(struct txn *, struct midgen *, const char *,
	    const struct mid *, const struct msg_rec *, uint64_t,
	    struct targets *);
int	group_typing(struct txn *, const char *, const char *,
	    void (*)(void *, const char *), void *, int *);
int	group_remote_receipt(struct txn *, struct midgen *, const struct mid *,
	    const char *, const char *, uint64_t, struct targets *);
/* media.c */
#define MEDIA_ID_LEN	22	/* base64url characters of an ID */
int	media_id_new(uint8_t [MEDIA_ID_BYTES]);
void	media_id_format(const uint8_t [MEDIA_ID_BYTES],
	    char [MEDIA_ID_LEN + 1]);
int	media_id_parse(const char *, size_t, uint8_t [MEDIA_ID_BYTES]);
int	media_id_read(const char *, const char *, size_t,
	    uint8_t [MEDIA_ID_BYTES]);
int	media_live(const struct media_rec *, uint64_t now, uint64_t ttl);
int	media_usage(struct txn *, const char *, uint64_t now, uint64_t ttl,
	    uint64_t *bytes, uint64_t *count);
int	media_quota_check(struct txn *, const struct conf *, const char *,
	    uint64_t, uint64_t, enum tick_err *);
int	media_commit(struct txn *, const struct conf *, const char *user,
	    const uint8_t [32], uint64_t size, const char *type, uint64_t now,
	    uint8_t [MEDIA_ID_BYTES], enum tick_err *);
int	media_lookup(struct txn *, const struct conf *, const char *, size_t,
	    uint64_t, uint8_t [MEDIA_ID_BYTES], struct media_rec *);
int	media_delete(struct txn *, const struct conf *, const char *user,
	    const char *, size_t, uint64_t);
int	media_member_ok(const json_t *, uint64_t);
int	media_id_owner(const char *, const char *, size_t,
	    char [MEDIA_NODE_MAX + 1], uint8_t [MEDIA_ID_BYTES]);
int	media_refs_check(struct txn *, const struct conf *, const json_t *,
	    uint64_t, int remote_ok, struct media_refs *, enum tick_err *);
void	media_refs_read(const struct conf *, const json_t *,
	    struct media_refs *);
int	media_refs_take(struct txn *, struct midgen *, const struct mid *,
	    struct media_refs *, uint64_t items, uint64_t now);
int	media_release(struct txn *, struct midgen *, const struct mid *,
	    uint64_t);
int	media_queue_release(struct txn *, struct midgen *, uint64_t qid,
	    uint64_t);
int	media_mref_apply(struct txn *, const char *, const json_t *,
	    uint64_t);
int	media_forget_node(struct txn *, const char *, uint64_t);
int	media_user_delete(struct txn *, const char *, uint64_t *);
int	media_sweep(struct txn *, const struct conf *, uint64_t, uint64_t *,
	    void (*)(void *, const uint8_t *), void *);
void	media_path(const char *, const uint8_t [32], char *, size_t);
int	media_unlink(struct txn *done, struct txn *, const char *dir,
	    uint64_t *);
int	media_dir_check(const struct conf *, char **);

/* media-admin.c */
int	media_admin_list(struct txn *, const char *, const char *, uint64_t,
	    uint64_t, json_t **);
int	media_admin_show(struct txn *, const char *, const char *, uint64_t,
	    uint64_t, json_t **);
int	media_admin_del(struct txn *, const char *, const char *, json_t **);
int	media_verify(struct txn *, struct midgen *, const char *dir, int fix,
	    void (*)(void *, const char *), void *, json_t *);

/* account.c */
#define DEVICE_DEFAULT	"default"	/* the device a login names by default */
int	account_register(struct txn *, const char *user,
	    const uint8_t salt[16], const uint8_t hash[32], uint64_t now,
	    enum tick_err *);
int	account_import(struct txn *, const char *user, const struct user_rec *,
	    uint64_t now, enum tick_err *);
void	account_kdf_default(struct user_rec *);
int	account_hash_parse(const char *, struct user_rec *, const char **);
int	account_device_limited(struct txn *, const char *user,
	    const char *device, uint64_t max, int *over);
int	account_claim_device(struct txn *, const char *user,
	    const char *device, uint64_t now, char [NAME_DEVICE_MAX + 1],
	    struct dev_rec *);
int	account_remove_device(struct txn *, struct midgen *, const char *user,
	    const char *device, uint64_t now);
int	account_token_issue(struct txn *, const char *user,
	    const char *device, uint64_t qid, uint64_t expires,
	    char [TOKEN_HEXLEN + 1]);
int	account_token_check(struct txn *, const char *token, uint64_t now,
	    struct token_rec *);
int	account_token_revoke(struct txn *, const char *token);
struct block_res {
	enum tick_err	 err;		/* TE_OK, or why nothing changed */
	int		 changed;	/* the block was made or lifted */
};
int	account_block_valid(const char *user, const char *other);
int	account_block_check(struct txn *, const char *user, const char *other,
	    struct block_res *);
int	account_block(struct txn *, const char *user, const char *other,
	    struct block_res *);
int	account_unblock(struct txn *, const char *user, const char *other,
	    struct block_res *);
struct settings {		/* what a settings request changes */
	int		 read_receipts;	/* 0, 1, or -1: as it is */
	int		 last_seen;	/* LASTSEEN_*, or -1: as it is */
	int		 group_add_nobody; /* 0, 1, or -1: as it is */
};
int	account_settings(struct txn *, const char *user,
	    const struct settings *, enum tick_err *);

/* keys.c */
struct keys_upload {		/* a parsed keys_upload frame */
	uint8_t		*identity;	/* NULL: not given */
	size_t		 idlen;
	int		 has_spk, has_lr, has_pre, has_kem;
	struct key_rec	 spk;
	struct key_rec	 lr;
	struct key_rec	*pre;		/* sorted by id */
	size_t		 npre;
	struct key_rec	*kem;
	size_t		 nkem;
	int		 replace;
};
struct keys_fetch_res {
	enum tick_err	 err;		/* TE_OK or TE_NO_SUCH_USER */
	json_t		*devices;	/* the reply's "devices" */
	uint64_t	 taken;		/* one-time keys handed out */
	uint64_t	 empty;		/* bundles without a prekey */
	struct targets	 low;		/* devices that got a keys_low */
};
uint8_t *keys_b64_decode(const char *, size_t, size_t, size_t *);
char   *keys_b64_encode(const uint8_t *, size_t);
int	keys_upload_parse(json_t *, const struct conf *, struct keys_upload *,
	    const char **);
void	keys_upload_free(struct keys_upload *);
int	keys_upload(struct txn *, const struct conf *, const char *user,
	    const char *device, const struct keys_upload *, enum tick_err *,
	    const char **);
int	keys_count(struct txn *, const char *, const char *, uint64_t *,
	    uint64_t *);
int	keys_fetch_size(struct txn *, const char *, const char *, size_t *,
	    enum tick_err *);
int	keys_fetch(struct txn *, struct midgen *, const struct conf *,
	    const char *user, const char *device, uint64_t now,
	    struct keys_fetch_res *);
void	keys_fetch_free(struct keys_fetch_res *);

/* wake.c */
struct wake {
	int		 fd[2];
	struct event	*ev;
	void		(*fn)(void *);
	void		*arg;
};
#define WAKE_INITIALIZER	{ { -1, -1 }, NULL, NULL, NULL }
int	wake_init(struct wake *, struct event_base *, const char *,
	    void (*)(void *), void *, char **);
void	wake_post(struct wake *);
void	wake_free(struct wake *);

/* sync.c */
int	sync_init(struct event_base *, int, char **cause);
void	sync_start(void);
int	sync_collect(int, int *);
void	sync_shutdown(void);

/* kdf.c */
#define KDF_SALT_BYTES	16
#define KDF_HASH_BYTES	32
typedef void (*kdf_cb)(void *, int ok, const uint8_t [KDF_HASH_BYTES]);
int	kdf_init(struct event_base *, char **cause);
void	kdf_shutdown(void);
void	kdf_hash(const char *, size_t, const uint8_t [KDF_SALT_BYTES], kdf_cb,
	    void *);
void	kdf_hash_as(const char *, size_t, const uint8_t [KDF_SALT_BYTES],
	    const struct user_rec *, kdf_cb, void *);

/* metrics.c */
#define LAT_BUCKETS	12
struct stats {
	uint64_t	conns;		/* open TCP connections */
	uint64_t	ws_authed;	/* authenticated WebSocket connections */
	uint64_t	accepted;	/* messages stored and answered sent */
	uint64_t	delivered;	/* items pushed to a device */
	uint64_t	acked;		/* items deleted by an ack */
	uint64_t	receipts;	/* receipts queued */
	uint64_t	conns_refused;	/* over max_connections(_per_ip) */
	uint64_t	rate_limited;	/* sends and logins refused by rate */
	uint64_t	commits;
	uint64_t	commit_failures;
	uint64_t	prekeys_taken;	/* one-time keys handed out */
	uint64_t	prekeys_empty;	/* bundles without a prekey */
	uint64_t	commit_lat[LAT_BUCKETS];	/* per bucket, not cumulative */
	double		commit_lat_sum;		/* seconds */
	uint64_t	group_items;	/* items queued by group sends */
	uint64_t	group_skipped;	/* member devices skipped, full */
	uint64_t	media_uploads;	/* 201 answered */
	uint64_t	media_expired;	/* IDs expired by the sweep */
	double		commit_last;	/* seconds the last commit took */
	uint64_t	started_ms;	/* Unix ms the server started */
};
void	metrics_commit(double seconds, int ok);
char   *metrics_render(size_t *);
uint64_t metrics_rss_bytes(void);
uint64_t metrics_open_fds(void);
struct event_base;
int	metrics_init(struct event_base *);
void	metrics_free(void);
void	metrics_ws_error(enum tick_err);
void	metrics_ws_close(uint16_t);
void	metrics_login_failed(const char *);
void	metrics_delivered(uint64_t queued_ms);
void	metrics_resp_command(void);

/* conn.c */
struct sub;
struct rclient;
struct media_upload;
#define CLOSE_REASON_MAX	63	/* bytes of a close reason kept */
struct conn {
	uint64_t		 id;
	struct bufferevent	*bev;
	struct event		*timer;		/* request, auth or ping; while
						   parked, the socket too */
	char			*addr;		/* "address:port" of the peer */
	char			*ip;		/* the address alone */
	char			*peer_addr;	/* addr as accepted */
	char			*peer_ip;	/* ip as accepted */
	TAILQ_ENTRY(conn)	 entry;		/* every connection */
	TAILQ_ENTRY(conn)	 reap_entry;
	uint64_t		 frame_start;	/* Unix ms a frame began, or 0 */
	size_t			 fhead_len;
	uint64_t		 fpayload_left;	/* of the frame being read */
	uint64_t		 next_ping;	/* Unix ms */
	uint64_t		 accepted;	/* Unix ms of the upgrade */
	uint64_t		 timer_at;	/* Unix ms the timer fires */
	uint64_t		 park_at;	/* Unix ms an idle WebSocket
						   parks (ws.c), or 0 */
	size_t			 deferred_bytes; /* outputs' bytes waiting */
	uint8_t			 fhead[14];	/* a frame header read so far */
	uint16_t		 close_code;	/* why tickd closed it, or 0 */
	int			 refs;		/* kdf jobs holding it */
	unsigned		 ndeferred;	/* outputs waiting for a commit */

	/*
	 * Flags as bit-fields: an idle connection is mostly this struct
	 * (bench/README, "Idle connections").
	 */
	unsigned		 dead:2;	/* 1: freed at the end of the
						   turn, 2: reaped */
	unsigned		 fwd_logged:1;	/* a bad header was logged */
	unsigned		 counted:1;	/* in limit_conn_open's count */
	unsigned		 frame_too_big:1; /* announced over the limit */
	unsigned		 frag:1;	/* in a fragmented message */
	unsigned		 closing:1;	/* freed once output drained */
	unsigned		 lingering:1;	/* output done, reading to EOF */
	unsigned		 close_deferred:1; /* closes after the commit */
	unsigned		 is_ws:1;
	unsigned		 tls:1;
	unsigned		 parked:1;	/* no bev: timer watches the fd */
	unsigned		 metrics_only:1; /* accepted on metrics_listen */
	/* HTTP: a request is being answered (kdf job out). */
	unsigned		 busy:1;
	unsigned		 keepalive:1;
	unsigned		 out_stalled:1;	/* reading paused for the output */
	/* WebSocket. */
	unsigned		 authed:1;
	unsigned		 ping_recheck:1; /* verdict after one more read */
	unsigned		 pump_queued:1;
	unsigned		 pump_stalled:1; /* waits for the output to
						   drain */

	size_t			 stall_len;	/* HTTP output left at the last
						   check */

	/* WebSocket. */
	void			*ws;		/* wslay_event_context_ptr */
	unsigned		 errors;	/* protocol errors so far */
	unsigned		 nsubs;
	uint64_t		 ping_out;	/* Unix ms of the oldest ping
						   unanswered, or 0 */
	char			 user[NAME_USER_MAX + 1];
	char			 device[NAME_DEVICE_MAX + 1];
	uint64_t		 qid;
	struct mid		 cursor;	/* last item pushed, 0-0: none */
	uint64_t		 inflight;	/* pushed, not yet acked */
	TAILQ_ENTRY(conn)	 pump_entry;
	struct conn		*dev_next;	/* device table chain */
	TAILQ_ENTRY(conn)	 user_entry;	/* the user's connections */
	LIST_HEAD(, sub)	 subs;		/* presence subscriptions */
	uint64_t		 audit_at;	/* Unix ms of the connect event */
	char			*close_reason;	/* set when closing begins */
	struct rclient		*resp;		/* a RESP client's state */
	struct media_upload	*upload;	/* POST /v1/media under way */
};
struct conn *device_conn(const char *, const char *);
int	device_online(void *, const char *, const char *);
void	devtab_free(void);
void	conn_link(struct conn *);
void	conn_set_peer(struct conn *, const char *, const char *);
void	conn_set_client(struct conn *, const char *);
void	conn_addr_free(struct conn *);
void	conn_ref(struct conn *);
void	conn_unref(struct conn *);
void	conn_send(struct conn *, const char *, size_t);
void	conn_free_later(struct conn *);
void	conn_check_closing(struct conn *);
void	conn_close_after_output(struct conn *);
void	conn_online(struct conn *, const struct token_rec *, uint64_t);
void	conn_offline(struct conn *);
struct conn *conn_first(void);
void	conn_close_all(void);
void	conn_reap_all(void);

/* server.c */
struct server {
	struct event_base	*base;
	struct conf		 conf;
	struct store		*store;
	struct midgen		 midgen;
	struct stats		 stats;
	int			 store_full;	/* last commit hit map full */
	int			 commit_failed;	/* last commit failed otherwise */
	int			 sync_on;	/* sync.c syncs the meta page */
	int			 lock_fd;	/* data_dir/tickd.lock, held */
	int			 verbose;	/* -v: debug logging always */
	int			 quit;
};
extern struct server	 srv;
int	server_init(char **cause);
void	server_loop(void);
int	server_turn(int);
void	server_free(void);
struct txn *batch_txn(void);
void	batch_defer(struct conn *, char *ok, size_t, char *fail, size_t);
void	batch_defer_reply(struct conn *, char *ok, size_t, json_t *ref,
	    json_t *id);
void	batch_defer_call(struct conn *, void (*)(void *, int), void *);
void	pump_later(struct conn *);
void	pump_targets(const struct targets *);
#define BUF_PIECE	4096	/* what buf_add() adds at a time */
#define BUF_CHAIN	8192	/* its largest chain, header included */
struct evbuffer;
int	buf_add(struct evbuffer *, const void *, size_t);
size_t	buf_mem(struct evbuffer *);
void	conn_write_raw(struct conn *, const char *, size_t);
int	conn_must_defer(void);
int	batch_is_open(void);
void	conn_defer_close(struct conn *, uint16_t);
json_t *server_reload(void);
void	reload_note(json_t *, const char *, const char *, ...)
	    printflike(3, 4);
void	reload_restart(json_t *, const char *);
struct evconnlistener;
void	server_accept_failed(struct evconnlistener *, const char *);


/* limit.c */
int	limit_send(const char *);
int	limit_login(const char *, const char *);
int	limit_keys_fetch(const char *, size_t);
size_t	limit_keys_fetch_room(const char *);
int	limit_conn_open(const char *);
void	limit_conn_close(const char *);
int	limit_conn_move(const char *, const char *);
void	limit_prune(void);
void	limit_free(void);

/* notify.c */
void	notify_init(void);
void	notify_send(const char *);
void	notify_reloading(void);
void	notify_ready(struct event_base *);
void	notify_stopping(void);
void	notify_free(void);

/* tls.c */
struct ssl_st;
int	tls_init(char **);
void	tls_reload(json_t *);
time_t	tls_cert_expiry(int);
struct ssl_st *tls_new(void);
struct ssl_st *tls_resp_new(void);
int	tls_enabled(void);
int	tls_resp_enabled(void);
void	tls_free(void);

/* http-parse.c */
#define TOKEN_MAX	128	/* longest bearer token accepted */
struct http_req {
	char		*head;		/* NUL-terminated copy, parsed in place */
	size_t		 head_len;	/* its bytes, before the NUL */
	const char	*method;
	char		*path;
	char		*query;		/* NULL if none */
	int		 http10;
	size_t		 content_length;
	int		 has_length;
	int		 chunked;
	int		 conn_close;
	int		 conn_upgrade;
	int		 upgrade_ws;
	const char	*ws_key;
	const char	*ws_version;
	int		 ws_tick_v1;	/* tick.v1 offered */
	int		 ws_tick_v2;	/* tick.v2 offered */
	char		 bearer[TOKEN_MAX + 1];
	const char	*content_type;	/* NULL if none */
	int		 expect_continue;
	const char	*range;		/* NULL if none */
	const char	*if_range;
	const char	*if_none_match;
	const char	*xff;		/* X-Forwarded-For, NULL if none */
	const char	*forwarded;	/* Forwarded (RFC 7239), or NULL */
	int		 fwd_twice;	/* either header given twice */
	char		*body;
	size_t		 body_len;
};
int	http_parse_head(struct http_req *);

/* proxy-conn.c */
typedef void (*proxy_accept_fn)(evutil_socket_t, struct sockaddr *, int,
	    int);
void	proxy_conn_accept(evutil_socket_t, struct sockaddr *, int,
	    const char *, proxy_accept_fn, int);
void	proxy_conn_free_all(void);

/* http.c */
void	http_accept(evutil_socket_t, struct sockaddr *, int, int);
void	http_accept_metrics(evutil_socket_t, struct sockaddr *, int, int);
void	http_error(struct conn *, int, enum tick_err, const char *);
void	http_done(struct conn *);
int	http_query_param(const char *, const char *, char *, size_t);
void	http_resume(struct conn *);

/* http-cluster.c */
void	http_wrong_node(struct conn *, const char *, const char *,
	    const char *);
int	http_bearer_elsewhere(struct conn *, const char *, const char *);
int	http_media_elsewhere(struct conn *, const struct http_req *,
	    const char *);
int	http_media_grant(struct conn *, const struct http_req *,
	    const char *);
void	cluster_ws_wrong_node(struct conn *, const char *);

/* http-media-parse.c */
#define RANGE_NONE	0	/* the whole file, with 200 */
#define RANGE_ONE	1	/* one satisfiable range, with 206 */
#define RANGE_BAD	2	/* none satisfiable, 416 */
int	media_type_ok(const char *);
int	media_range_parse(const char *, uint64_t, uint64_t *, uint64_t *);

/* http-media.c */
#define MEDIA_NOT	0	/* not a media route */
#define MEDIA_TAKEN	1	/* answered, or an upload under way */
#define MEDIA_LATER	2	/* wait for earlier answers to go */
int	media_http_init(char **);
void	media_http_free_all(void);
const char *media_http_dir(void);
void	media_http_free(struct conn *);
int	media_http_route(struct conn *, struct http_req *);
void	media_http_feed(struct conn *);
void	media_http_totals(uint64_t *, uint64_t *);
void	media_http_sweep(struct txn *);

/* web.c */
int	web_init(char **);
int	web_handles(const char *);
void	web_serve(struct conn *, struct http_req *);

/* ws.c */
void	ws_upgraded(struct conn *, const char *token);
struct bufferevent *conn_bev(struct conn *);
void	ws_parked_free(struct conn *);
void	ws_free(struct conn *);
void	ws_send(struct conn *, const char *, size_t);
void	ws_send_json(struct conn *, json_t *);
void	ws_send_error(struct conn *, enum tick_err, const char *,
	    json_t *ref, json_t *id);
void	ws_close(struct conn *, uint16_t, const char *);
void	ws_authenticated(struct conn *, const struct token_rec *);
void	ws_pump(struct conn *);
void	ws_timer_reset(struct conn *);

/* presence.c */
int	presence_online(const char *);
uint64_t presence_users_online(void);
json_t *presence_view(struct txn *, const char *, const char *);
void	presence_refresh(const char *);
void	presence_refresh_for(const char *, const char *);
void	presence_attach(struct conn *);
void	presence_detach(struct conn *);
void	presence_each(const char *, void (*)(struct conn *, void *), void *);
void	presence_subscribe(struct conn *, const char *, struct txn *);
int	presence_watching(struct conn *, const char *);
void	presence_unsubscribe(struct conn *, const char *);
void	presence_unsubscribe_all(struct conn *);
void	presence_free(void);
void	presence_remote_notify(const char *,
	    int (*)(const char *, void *), void *);

/* proto.c */
void	proto_dispatch(struct conn *, const uint8_t *, size_t);
int	proto_auth(struct conn *, const char *);
void	proto_error(struct conn *, enum tick_err, const char *, json_t *,
	    json_t *);
void	proto_push_checked(struct conn *, json_t *, const struct push_ep *,
	    const char *);
void	proto_typing_deliver(struct txn *, const char *, const char *,
	    const char *);

/* proto-req.c */
#define PROTO_REF_MAX	64	/* bytes of a string "ref" */
enum proto_op {
	PROTO_SEND = 1,
	PROTO_ACK,
	PROTO_READ
};
/*
 * A send, ack or read as proto.c runs it: read from jansson's tree by
 * proto_req_json(), or from the frame's bytes by proto_fast().
 */
struct proto_req {
	enum proto_op	 op;
	json_t		*ref;		/* held, or NULL */
	json_t		*idv;		/* a send's "id" if a string, held */
	char		 to[NAME_CHAT_MAX + 1];	/* send */
	char		 id[CLIENT_ID_MAX + 1];
	json_t		*body;		/* held, from the tree; or */
	char		*body_text;	/* as json_dumps(JSON_COMPACT) */
	size_t		 body_len;
	json_t		*media;		/* held, or NULL */
	int		 media_checked;	/* other nodes' IDs found live */
	struct mid	*mids;		/* ack, read: nmids of them */
	size_t		 nmids;
};
json_t	*proto_load(const uint8_t *, size_t, const struct conf *, json_t **,
	    enum tick_err *, const char **);
const char *proto_member_string(json_t *, const char *, size_t);
int	 proto_req_json(json_t *, enum proto_op, json_t *, const struct conf *,
	    struct proto_req *, const char **);
void	 proto_req_free(struct proto_req *);

/* proto-fast.c */
int	 proto_fast(const uint8_t *, size_t, const struct conf *,
	    struct proto_req *);

/* proto-group.c */
void	op_group_create(struct conn *, json_t *, json_t *);
void	op_group_info(struct conn *, json_t *, json_t *);
void	op_groups(struct conn *, json_t *, json_t *);
void	op_group_add(struct conn *, json_t *, json_t *);
void	op_group_remove(struct conn *, json_t *, json_t *);
void	op_group_leave(struct conn *, json_t *, json_t *);
void	op_group_role(struct conn *, json_t *, json_t *);
void	op_group_set(struct conn *, json_t *, json_t *);
void	proto_group_typing(struct conn *, const char *, const char *,
	    json_t *);
int	proto_group_typing_fan(struct txn *, const char *, const char *,
	    const char *);
void	proto_group_typing_relayed(struct txn *, const char *, const char *,
	    const char *, json_t *);

/* proto-remote.c */
void	proto_remote_reply(struct conn *, json_t *, json_t *);
void	proto_keys_fetch_remote(struct conn *, json_t *, const char *,
	    const char *, const char *);
/*
 * group-vet.c: what a client's group op asks other nodes first.  A
 * grp_state says what is still to ask (GRP_ASK_*) and the verdicts
 * answered; an op that waited runs again as a grp_op_fn with it.
 */
struct grp_state {
	int		 ask;
	json_t		*verdicts;	/* {user: may be added}, or NULL */
};
#define GRP_STATE_FIRST	{ GRP_ASK_LOOKUP | GRP_ASK_VET, NULL }
#define GRP_STATE_NONE	{ 0, NULL }
typedef void	grp_op_fn(struct conn *, json_t *, json_t *,
		    const struct grp_state *);
int	group_vet_resolve(struct conn *, json_t *, json_t *,
	    const char *const *, size_t, grp_op_fn *,
	    const struct grp_state *);
int	group_vet_homes(struct conn *, json_t *, json_t *, const char *,
	    const char *const *, size_t, grp_op_fn *,
	    const struct grp_state *);
void	group_vet_ask(struct conn *, json_t *, json_t *,
	    const struct grp_req *, int, grp_op_fn *,
	    const struct grp_state *);
void	group_vet_release(const char *, const char *, json_t *);

void	proto_group_remote(struct conn *, json_t *, json_t *, const char *,
	    int, json_t *);

/* audit.c */
enum audit_kind {		/* the kind column of tickd_events */
	AUDIT_REGISTER,
	AUDIT_LOGIN,
	AUDIT_LOGIN_FAILED,
	AUDIT_LOGOUT,
	AUDIT_TOKEN_REVOKED,
	AUDIT_DEVICE_REMOVED,
	AUDIT_CONNECT,
	AUDIT_DISCONNECT,
	AUDIT_EVENTS_DROPPED,	/* the spool was full */
	AUDIT_NKINDS
};
struct audit_stats {
	int		enabled;	/* audit_pg is set */
	int		connected;	/* to PostgreSQL, table ready */
	int		full;		/* the spool is at audit_spool_max */
	uint64_t	spool;		/* events waiting */
	uint64_t	shipped;	/* since start */
	uint64_t	dropped;	/* not kept, since start */
	uint64_t	failures;	/* connections or batches failed */
};
int	audit_check(const struct conf *, char **);
int	audit_init(char **);
void	audit_reload(json_t *);
void	audit_shutdown(void);
void	audit_event(enum audit_kind, const char *user, const char *device,
	    const char *addr, json_t *detail);
void	audit_connected(struct conn *);
void	audit_closing(struct conn *, uint16_t, const char *);
void	audit_disconnected(struct conn *);
void	audit_commit(int ok);
void	audit_stats(struct audit_stats *);
json_t *audit_status(void);

/* push.c */
#define PUSH_CONTENT_NONE	0
#define PUSH_CONTENT_SENDER	1
#define PUSH_CONTENT_BODY	2
/* The answers of rule 6 of tickd-protocol(7) PUSH NOTIFICATIONS. */
enum push_result {
	PUSH_R_OK,
	PUSH_R_GONE,
	PUSH_R_TOO_LARGE,
	PUSH_R_RETRY,
	PUSH_R_DROP,
};
const char *push_kind_name(int);
int	push_enabled(const struct conf *);
ssize_t	push_b64url_decode(const char *, size_t, uint8_t *, size_t);
void	push_b64url_encode(const uint8_t *, size_t, char *);
const char *push_url_check(const struct conf *, const char *, char *,
	    size_t);
int	push_addr_public(const struct sockaddr *);
enum tick_err push_register_parse(const struct conf *, json_t *,
	    struct push_ep *, char *, size_t, const char **);
int	push_register(struct txn *, const char *, const char *,
	    const struct push_ep *);
int	push_forget(struct txn *, const char *, const char *);
int	push_online(struct txn *, const char *, const char *);
int	push_queued(struct txn *, const struct conf *, uint64_t,
	    int (*)(void *, const char *, const char *), void *,
	    const char *from, const char *chat, const struct targets *,
	    const struct mid *, uint64_t ts, uint64_t *next);
int	push_wake_body(struct txn *, const char *, const char *,
	    const struct push_ep *, int, char **, size_t *);
enum push_result push_outcome(long);
uint64_t push_backoff(const struct conf *, uint64_t, uint64_t);
void	push_hmac_hex(const char *, const char *, size_t, char [65]);
int	push_encrypt(const uint8_t [PUSH_P256DH_BYTES],
	    const uint8_t [PUSH_AUTH_BYTES], const uint8_t *, const uint8_t *,
	    const uint8_t *, const uint8_t *, size_t, uint8_t **, size_t *);
int	push_mute(struct txn *, const struct conf *, const char *,
	    const char *, uint64_t, uint64_t, enum tick_err *);
int	push_mute_count(struct txn *, const char *, uint64_t *);
int	push_mutes(struct txn *, const char *, uint64_t, json_t **);
int	push_mutes_drop(struct txn *, const char *);
struct evp_pkey_st;
struct evp_pkey_st *push_vapid_load(const char *, char **);
int	push_check(const struct conf *, char **);
char   *push_vapid_header(struct evp_pkey_st *, const char *, const char *,
	    uint64_t);

/* push-admin.c */
int	push_admin_show(struct txn *, const char *, const char *, json_t **);
int	push_admin_del(struct txn *, const char *, const char *, json_t **);
int	push_admin_pending(struct txn *, uint64_t *);
int	push_verify(struct txn *, int, void (*)(void *, const char *),
	    void *, json_t *);

/* push-http.c (push-none.c in a tickd configured --without-push) */
int	push_http_init(char **);
void	push_http_shutdown(void);
void	push_http_reload(json_t *);
void	push_http_commit(void);
int	push_http_check(struct conn *, json_t *, const struct push_ep *);
void	push_kick(uint64_t);
void	push_sent(struct txn *, const char *, const struct send_res *);
void	push_http_stats(uint64_t *, uint64_t *, uint64_t *, uint64_t *);

/* tickctl-cluster.c */
void	tickctl_show_cluster_status(json_t *);
void	tickctl_show_cluster_nodes(json_t *);
void	tickctl_show_cluster_outbox(json_t *);
void	tickctl_show_cluster_forget(json_t *);
void	tickctl_show_cluster_claim(json_t *);

/* control.c */
int	control_init(char **);
void	control_free(void);

/* priv.c */
int	priv_init(char **);
void	priv_ids(uid_t *, gid_t *);
int	priv_drop(char **);

/* admin.c */
struct adev {			/* a device, to change after the walk */
	char		user[NAME_USER_MAX + 1];
	char		device[NAME_DEVICE_MAX + 1];
	struct dev_rec	r;
	uint64_t	items;		/* verify: items found in its queue */
	uint64_t	bytes;
};
struct adevs {			/* what adevs_fn collected */
	struct adev	*v;
	size_t		 n, cap;
	const char	*only;		/* collect this device name only */
};
struct admin_del {		/* what admin_user_delete removed */
	uint64_t	devices;
	uint64_t	items;
	uint64_t	tokens;
	uint64_t	blocks;
	uint64_t	dedup;
	uint64_t	media;		/* IDs it uploaded */
};
/* Whether user (device NULL) or its device is online. */
typedef int (*admin_online_fn)(void *, const char *, const char *);
int	admin_user_delete(struct txn *, struct midgen *, const char *,
	    struct admin_del *);
int	admin_queue_purge(struct txn *, struct midgen *, const char *,
	    const char *, uint64_t *, uint64_t *);
int	admin_token_revoke(struct txn *, const char *, const char *,
	    uint64_t *);
int	admin_user_list_slice(struct txn *, const char *, size_t,
	    admin_online_fn, void *, json_t *, char [NAME_USER_MAX + 1],
	    int *);
int	admin_user_show(struct txn *, const char *, admin_online_fn, void *,
	    uint64_t, json_t **);
int	admin_queue_show(struct txn *, const char *, const char *,
	    admin_online_fn, void *, json_t **);
int	admin_block_list(struct txn *, const char *, json_t **);
int	admin_dump_write(struct txn *, const char *, uint64_t, FILE *, int,
	    void (*)(void *, uint64_t), void *);
/* Device walk callback: collects devices into a struct adevs. */
int	adevs_fn(void *, const char *, const char *, const struct dev_rec *);

/* verify.c */
int	admin_verify(struct txn *, int, void (*)(void *, const char *),
	    void *, json_t **);
struct verify;
struct verify *admin_verify_new(int);
int	admin_verify_step(struct verify *, struct txn *, size_t,
	    void (*)(void *, const char *), void *, int *);
json_t *admin_verify_summary(struct verify *);
void	admin_verify_free(struct verify *);

/* admin-group.c */
struct gverify {		/* what admin_group_verify found */
	uint64_t	groups;
	uint64_t	members;
	uint64_t	problems;
	uint64_t	fixed;
};
int	admin_group_list(struct txn *, json_t **);
int	admin_group_show(struct txn *, const char *, json_t **);
int	admin_group_verify(struct txn *, int, void (*)(void *, const char *),
	    void *, struct gverify *);

/* resp.c */
#define RESP_REDIS_VERSION	"7.0.15"	/* the Redis HELLO and INFO claim */
struct evbuffer;
struct rarg {			/* one argument of a RESP command */
	char		*p;		/* a NUL-terminated copy */
	size_t		 len;
};

/* Command flags, after Redis's CMD_* flags. */
#define RC_WRITE	0x01	/* may change data */
#define RC_NOAUTH	0x02	/* allowed before AUTH */
#define RC_BLOCKING	0x04	/* may park the client */
#define RC_TXN		0x08	/* runs at once inside MULTI */

/*
 * A RESP command.  The fields come in the order of every command table
 * (ops, resp_cmds, ctl_cmds, conf_table): the name, the handler, then
 * limits and flags; rows use designated initializers in that order.
 */
struct rcmd {
	const char		*name;		/* lower case */
	void			(*fn)(struct rclient *, int, struct rarg *);
	int			 arity;		/* < 0: at least -arity */
	int			 flags;
	const struct rcmd	*sub;		/* a container's subcommands */
	size_t			 nsub;
};

/* A command kept by MULTI. */
struct rqueued {
	const struct rcmd	*cmd;
	int			 argc;
	struct rarg		*argv;
};

/*
 * A RESP client: the state of a struct conn with is_ws = 0, in c->resp.
 */
struct rwaiter;
struct rclient {
	struct conn		*c;

	/* The query buffer and the parser's place in it. */
	char			*qb;
	size_t			 qlen, qpos, qcap;
	int			 reqtype;
	long long		 mbulk;		/* bulks still to read */
	long long		 bulklen;	/* -1: its length line next */
	struct rarg		*argv;
	int			 argc, argvcap;
	size_t			 argbytes;

	/* The session. */
	int			 resp3;
	int			 authed;
	char			*name;
	int			 quit;		/* close once replies are out */
	char			 errbuf[64];	/* a protocol error */
	int			 paused;	/* not read: output backlog */

	/* MULTI. */
	int			 multi;
	int			 multi_dirty;	/* a command was refused */
	int			 in_exec;
	struct rqueued		*queued;
	int			 nqueued, queuedcap;
	size_t			 queuedbytes;

	/* Replies: of the running command, and of this round. */
	struct evbuffer		*out;		/* where replies go now */
	struct evbuffer		*cmdout;
	struct evbuffer		*ok;
	struct evbuffer		*fail;		/* once a write was answered */
	int			 wrote;
	struct txn		 rtxn;		/* a read outside any batch */
	int			 rtxn_open;

	/* Parked by a blocking read. */
	int			 blocked;
	int			 waking;	/* running again on a write */
	int			 still_blocked;
	const struct rcmd	*cmd;		/* the running command */
	const struct rcmd	*bcmd;
	struct rarg		*bargv;
	int			 bargc;
	struct event		*btimer;
	struct rwaiter		*waiters;
	int			 nwaiters;
	TAILQ_ENTRY(rclient)	 resume_entry;
	int			 resume_queued;
};

int	resp_init(char **);
uint64_t resp_clients(void);
void	resp_drain(void);
void	resp_shutdown(void);
void	resp_free(struct conn *);
struct txn *resp_txn(struct rclient *, int);
int	resp_arg_is(const struct rarg *, const char *);
int	resp_str2ll(const char *, size_t, long long *);
int	resp_arg_ll(struct rclient *, const struct rarg *, long long *,
	    const char *);
void	resp_arg_set(struct rarg *, const char *);
void	resp_args_free(struct rarg *, int);
void	resp_call(struct rclient *, const struct rcmd *, int, struct rarg *);
void	resp_flush(struct rclient *);
void	resp_process(struct rclient *);
void	resp_rtxn_end(struct rclient *);

/* resp-block.c */
void	resp_block(struct rclient *, const struct rarg *, int, uint64_t);
int	resp_waking(struct rclient *);
int	resp_wake_key(struct rclient *, const struct rarg *, int, int);
void	resp_key_touched(const char *, size_t);
void	resp_queue_touched(const char *, const char *);
void	resp_view_gone(const char *, const char *);
void	resp_serve_ready(int);
void	resp_block_free(struct rclient *);
uint64_t resp_block_count(void);
void	resp_block_shutdown(void);

/* resp-reply.c */
enum resp_err {			/* the shared error replies */
	RESP_ERR_SYNTAX,
	RESP_ERR_NOTINT,
	RESP_ERR_WRONGTYPE,
	RESP_ERR_BADID,
	RESP_ERR_NOKEY,
	RESP_ERR_STORE,
	RESP_ERR_FULL,
	RESP_ERR_DOLLAR,	/* XREAD's "$" in XREADGROUP */
	RESP_ERR_GT,		/* XREADGROUP's ">" in XREAD */
};
int	resp_is3(struct rclient *);
void	resp_add_raw(struct rclient *, const char *, size_t);
void	resp_add_status(struct rclient *, const char *);
void	resp_add_ok(struct rclient *);
void	resp_add_errorf(struct rclient *, const char *, ...)
	    printflike(2, 3);
void	resp_add_err(struct rclient *, enum resp_err);
void	resp_add_store_error(struct rclient *, int);
void	resp_add_int(struct rclient *, long long);
void	resp_add_bulk(struct rclient *, const void *, size_t);
void	resp_add_str(struct rclient *, const char *);
void	resp_add_bulk_int(struct rclient *, long long);
void	resp_add_mid(struct rclient *, const struct mid *);
void	resp_add_null(struct rclient *);
void	resp_add_null_array(struct rclient *);
void	resp_add_array(struct rclient *, long long);
void	resp_add_map(struct rclient *, long long);
void	resp_add_set(struct rclient *, long long);
void	resp_add_verbatim(struct rclient *, const char *, size_t);
void	resp_add_help(struct rclient *, const char *, const char *const *);
struct evbuffer *resp_nest(struct rclient *);
void	resp_nest_end(struct rclient *, struct evbuffer *, char, long long);
void	resp_nest_abort(struct rclient *, struct evbuffer *);
int	resp_buf_move(struct evbuffer *, struct evbuffer *);

/* resp-conn.c */
void	resp_conn_auth(struct rclient *, int, struct rarg *);
void	resp_conn_hello(struct rclient *, int, struct rarg *);
void	resp_conn_quit(struct rclient *, int, struct rarg *);
void	resp_conn_ping(struct rclient *, int, struct rarg *);
void	resp_conn_echo(struct rclient *, int, struct rarg *);
void	resp_conn_select(struct rclient *, int, struct rarg *);
void	resp_conn_client_setname(struct rclient *, int, struct rarg *);
void	resp_conn_client_getname(struct rclient *, int, struct rarg *);
void	resp_conn_client_id(struct rclient *, int, struct rarg *);
void	resp_conn_client_help(struct rclient *, int, struct rarg *);

/* resp-multi.c */
void	resp_multi(struct rclient *, int, struct rarg *);
void	resp_multi_exec(struct rclient *, int, struct rarg *);
void	resp_multi_discard(struct rclient *, int, struct rarg *);
void	resp_multi_watch(struct rclient *, int, struct rarg *);
void	resp_multi_unwatch(struct rclient *, int, struct rarg *);
void	resp_multi_clear(struct rclient *);

/* resp-cmd.c */
void	resp_cmd_del(struct rclient *, int, struct rarg *);
void	resp_cmd_exists(struct rclient *, int, struct rarg *);
void	resp_cmd_type(struct rclient *, int, struct rarg *);
void	resp_cmd_scan(struct rclient *, int, struct rarg *);
void	resp_cmd_get(struct rclient *, int, struct rarg *);
void	resp_cmd_set(struct rclient *, int, struct rarg *);
void	resp_cmd_sadd(struct rclient *, int, struct rarg *);
void	resp_cmd_srem(struct rclient *, int, struct rarg *);
void	resp_cmd_sismember(struct rclient *, int, struct rarg *);
void	resp_cmd_smismember(struct rclient *, int, struct rarg *);
void	resp_cmd_smembers(struct rclient *, int, struct rarg *);
void	resp_cmd_scard(struct rclient *, int, struct rarg *);

/* resp-db.c */
enum resp_view {		/* tickd-resp(7) THE CHAT VIEWS */
	RV_NONE,		/* a plain key */
	RV_BAD,			/* a view's prefix, but not a valid view */
	RV_INBOX,		/* inbox:USER */
	RV_QUEUE,		/* queue:USER:DEVICE */
	RV_BLOCKED,		/* blocked:USER */
	RV_LASTSEEN,		/* lastseen:USER */
};
enum resp_view resp_view(const struct rarg *, char [NAME_USER_MAX + 1],
	    char [NAME_DEVICE_MAX + 1]);
int	resp_view_refuse(struct rclient *, const struct rarg *);
int	resp_lookup(struct rclient *, struct txn *, const struct rarg *,
	    struct rkey_rec *);
int	resp_key_drop(struct txn *, const void *, size_t,
	    const struct rkey_rec *);

/* resp-stream.c */
#define TRIM_NONE		0
#define TRIM_MAXLEN		1
#define TRIM_MINID		2

/* XADD's and XTRIM's options (Redis's streamAddTrimArgs). */
struct rstream_addtrim {
	struct mid	id;
	int		id_given;
	int		seq_given;
	int		no_mkstream;
	int		strategy;	/* TRIM_* */
	int		approx;
	long long	maxlen;
	struct mid	minid;
	long long	limit;
};

/* A stream as a command sees it: its key, record and whether it exists. */
struct rstream {
	const struct rarg	*key;
	struct rkey_rec		 r;
	int			 found;
	int			 dirty;		/* r changed, to be written */
};

/* A walk over a stream's entries that replies with them. */
struct rstream_emit {
	struct rclient	*rc;
	struct mid	 end;
	int		 rev;
	long long	 count;		/* 0: no limit */
	long long	 n;
	struct mid	 last;
};

/* What XREAD and XREADGROUP parsed. */
struct rstream_read {
	int			 group;		/* XREADGROUP */
	long long		 timeout;	/* ms, -1: no BLOCK */
	long long		 count;
	int			 noack;
	const struct rarg	*gname, *cname;
	int			 first;		/* argv index of the keys */
	int			 nkeys;
};

void	resp_stream_xadd(struct rclient *, int, struct rarg *);
void	resp_stream_xlen(struct rclient *, int, struct rarg *);
void	resp_stream_xrange(struct rclient *, int, struct rarg *);
void	resp_stream_xrevrange(struct rclient *, int, struct rarg *);
void	resp_stream_xdel(struct rclient *, int, struct rarg *);
void	resp_stream_xtrim(struct rclient *, int, struct rarg *);
void	resp_stream_xread(struct rclient *, int, struct rarg *);
void	resp_stream_xreadgroup(struct rclient *, int, struct rarg *);
void	resp_stream_xsetid(struct rclient *, int, struct rarg *);

int	resp_stream_id_parse(const struct rarg *, struct mid *, uint64_t, int,
	    int *);
int	resp_stream_id_reply(struct rclient *, const struct rarg *,
	    struct mid *, uint64_t, int);
int	resp_stream_id_bound(struct rclient *, const struct rarg *,
	    struct mid *, uint64_t, int);
struct mid *resp_stream_ids(struct rclient *, int, struct rarg *, int);
void	resp_stream_ids_add(struct mid **, size_t *, size_t *,
	    const struct mid *);
int	resp_stream_get(struct rclient *, struct txn *, const struct rarg *,
	    struct rstream *);
struct txn *resp_stream_open(struct rclient *, const struct rarg *, int,
	    struct rstream *);
int	resp_stream_create(struct txn *, struct rstream *);
int	resp_stream_put(struct txn *, struct rstream *);
int	resp_stream_edge(struct txn *, const struct rstream *, int,
	    struct mid *);
void	resp_stream_add_entry(struct rclient *, const struct mid *,
	    const struct rentry *);
int	resp_stream_emit_fn(void *, const struct mid *, const struct rentry *);
int	resp_stream_emit_range(struct rclient *, struct txn *,
	    const struct rstream *, const struct mid *, const struct mid *, int,
	    long long, long long *);
void	resp_stream_read_key(struct rclient *, const struct rarg *);
void	resp_stream_read_nogroup(struct rclient *, const struct rarg *,
	    const struct rarg *);
void	resp_stream_read_resolve(struct rarg *, const struct mid *);
void	resp_stream_read_end(struct rclient *, struct evbuffer *,
	    const struct rarg *, const struct rstream_read *, long long);

/* resp-cgroup.c */
void	resp_cgroup_xack(struct rclient *, int, struct rarg *);
void	resp_cgroup_xpending(struct rclient *, int, struct rarg *);
void	resp_cgroup_xclaim(struct rclient *, int, struct rarg *);
void	resp_cgroup_xautoclaim(struct rclient *, int, struct rarg *);
void	resp_cgroup_xgroup(struct rclient *, int, struct rarg *);
void	resp_cgroup_xgroup_help(struct rclient *, int, struct rarg *);
void	resp_cgroup_xinfo(struct rclient *, int, struct rarg *);
void	resp_cgroup_xinfo_help(struct rclient *, int, struct rarg *);

int	resp_cgroup_get(struct txn *, const struct rstream *,
	    const struct rarg *, struct rgroup_rec *);
int	resp_cgroup_consumer(struct txn *, struct rgroup_rec *,
	    const struct rarg *, struct rcons_rec *, int, int *);
int	resp_cgroup_serve_new(struct rclient *, struct txn *, struct rstream *,
	    struct rgroup_rec *, const struct rstream_read *);
int	resp_cgroup_serve_history(struct rclient *, struct txn *,
	    struct rstream *, struct rgroup_rec *, const struct rstream_read *,
	    const struct mid *);

/* resp-chat.c */
int	resp_chat_device(struct txn *, const char *, const char *,
	    struct dev_rec *, int *);
int	resp_chat_range(struct rclient *, struct txn *, uint64_t,
	    const struct mid *, const struct mid *, int, long long, long long *,
	    struct mid *);
void	resp_chat_wrong(struct rclient *, const struct rarg *, enum resp_view);
void	resp_chat_send(struct rclient *, const char *, int, struct rarg *, int,
	    const struct rstream_addtrim *);
void	resp_chat_xread(struct rclient *, struct rarg *,
	    const struct rstream_read *);
void	resp_chat_xack(struct rclient *, int, struct rarg *, const char *,
	    const char *);

#endif /* TICKD_H */
