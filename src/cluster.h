/* SPDX-License-Identifier: ISC */
/*
 * cluster.h: what cluster.c and cluster-stream.c, the daemon's side of a
 * node of a cluster (tickd-cluster(7)), share; nothing else includes it.
 */
#ifndef TICKD_CLUSTER_H
#define TICKD_CLUSTER_H

#include <hiredis/async.h>

struct event;

/* One connection to Redis, and the deadlines of its commands, in order. */
struct rconn {
	const char			*name;
	const char			*host;	/* NULL: cl.addr's */
	int				 port;
	int				 virt;	/* stands for the masters' */
	int				 off;	/* its master left the map */
	struct redisAsyncContext	*ac;	/* NULL: not connected */
	int				 up;
	uint64_t			*out;	/* ms deadlines, oldest first */
	size_t				 nout, capout;
	uint64_t			 backoff; /* ms before a reconnect */
	struct event			*retry;
	struct event			*watchdog;
};

/* The node's link to Redis. */
struct cluster {
	int			 on;		/* cluster_redis is set */
	int			 ready;		/* epoch checked, group made */
	int			 setup_running;
	int			 stopping;
	int			 mirrored;	/* mirrors written since start */
	int			 probed;	/* INFO cluster said standalone */
	struct cluster_redis_addr addr;
	struct rconn		 cmd;		/* commands */
	struct rconn		 rd;		/* XREADGROUP ... BLOCK */
	uint64_t		 epoch;		/* as this node knows it */
	char			*k_stream, *k_alive, *k_nodes, *k_urls;
	char			*k_epoch;
	struct event		*ev_hb;
};
extern struct cluster	cl;

/*
 * Keys, of size bytes each, whose mirror Redis may have wrong
 * (cluster-dirty.c); past DIRTY_MAX of them, all is set, and the keys
 * noted so far stay if keep.
 */
#define DIRTY_MAX	1024
struct dirtyset {
	size_t		 size;
	int		 keep;
	uint8_t		*v;		/* n keys, one after another */
	size_t		 n, cap;
	int		 all;
};

/* A message on a channel of cluster_ssub_add's (NUL-terminated), or NULL. */
typedef void cluster_ssub_fn(void *, const char *, size_t);

/* cluster.c */
int	rconn_cmd(struct rconn *, redisCallbackFn *, void *, uint64_t, int,
	    const char **, const size_t *);
void	rconn_answered(struct rconn *);
int	rconn_formatted(struct rconn *, redisCallbackFn *, void *, uint64_t,
	    const char *, size_t);
int	rconn_init(struct rconn *, const char *);
void	rconn_connect(struct rconn *);
void	rconn_drop(struct rconn *, const char *);
void	rconn_free(struct rconn *);
void	cluster_logged_cb(struct redisAsyncContext *, void *, void *);
void	cluster_redis_moved(void);
char	*cluster_k(const char *, const char *);
const redisReply *cluster_sub_payload(const redisReply *);

/* cluster-dirty.c */
void	dirtyset_add(struct dirtyset *, const void *);
const void *dirtyset_key(const struct dirtyset *, size_t);
void	dirtyset_take(struct dirtyset *, struct dirtyset *);
void	dirtyset_drop(struct dirtyset *, size_t);
void	dirtyset_clear(struct dirtyset *);

/* cluster-stream.c */
int	cluster_xadd_bare(const char *, const char *, const char *,
	    const char *, const char *);
int	cluster_stream_init(void);
void	cluster_stream_free(void);
void	cluster_stream_up(void);
void	cluster_stream_down(int);
void	cluster_stream_resend_all(void);
void	cluster_nodes_refresh(void);
int	cluster_node_alive(const char *);
uint64_t cluster_node_heartbeat(const char *);

/* cluster-presence.c */
void	cluster_presence_tick(void);
void	cluster_presence_up(void);
void	cluster_presence_down(void);
void	cluster_presence_node(const char *, int);
void	cluster_presence_commit(int);
void	cluster_presence_free(void);
void	cluster_media_tick(void);
void	cluster_media_free(void);
void	cluster_presence_writeback(struct txn *, const char *,
	    const struct user_rec *);

/* cluster-rpc.c */
void	cluster_rpc_answer(const char *, const char *, size_t);
void	cluster_rpc_send_reps(const struct cluster_applied *);
uint64_t cluster_rpc_timeouts(void);
void	cluster_rpc_free(void);

/* cluster-groups.c */
void	cluster_groups_commit(int);
void	cluster_groups_tick(void);
void	cluster_groups_writeback(struct txn *);
void	cluster_groups_free(void);
/* cluster-typing.c */
void	cluster_typing_tick(void);

/* cluster-names.c */
int	cluster_names_writeback(struct txn *, const char *,
	    const struct user_rec *);
void	cluster_names_tick(void);

/* cluster-sentinel.c */
int	cluster_sentinel_init(const char *, size_t, char **);
void	cluster_sentinel_ask(void);
void	cluster_sentinel_tick(void);
void	cluster_sentinel_free(void);

/* cluster-slots.c */
int	cluster_slots_init(const char *, char **);
int	cluster_slots_on(void);
void	cluster_slots_refresh(void);
int	cluster_slots_cmd(int, redisCallbackFn *, void *, uint64_t, int,
	    const char **, const size_t *);
struct rconn *cluster_slots_conn(size_t);
int	cluster_slots_map(uint64_t *, uint64_t *);
int	cluster_slots_owner(unsigned, const char **, int *);
void	cluster_slots_free(void);

/* cluster-tls.c */
int	cluster_tls_init(char **);
struct redisAsyncContext *cluster_connect(const char *, int);
const char *cluster_tls_path(void);
void	cluster_tls_free(void);

/* cluster-ssub.c */
void	cluster_ssub_add(const char *, cluster_ssub_fn *, void *);
void	cluster_ssub_del(const char *);
void	cluster_ssub_tick(void);
void	cluster_ssub_down(void);
void	cluster_ssub_free(void);

/* cluster-admin.c */
int	cluster_forget_local(const char *);

#endif /* TICKD_CLUSTER_H */
