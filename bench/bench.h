/* SPDX-License-Identifier: ISC */
/*
 * bench.h: tickd-bench's types and prototypes, grouped by the file that
 * defines them.  tickd-bench is a separate program from the daemon; it
 * speaks protocol v1 as a client and shares only store.h and tickd.h (for
 * its seed mode) with it.
 */
#ifndef BENCH_H
#define BENCH_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/bufferevent.h>
#include <wslay/wslay.h>

#ifndef __dead
#define __dead __attribute__((__noreturn__))
#endif
#define bench_printflike(a, b) __attribute__((__format__(__printf__, a, b)))

#define BENCH_NAME_MAX	64
#define BENCH_TOKEN_MAX	128

/* One account the bench acts as: a line of a token file. */
struct peer;
struct account {
	char			 user[BENCH_NAME_MAX + 1];
	char			 device[BENCH_NAME_MAX + 1];
	char			 token[BENCH_TOKEN_MAX + 1];
	const struct peer	*home;	/* its node; NULL: bconn_setup's */
};

/* Where the server is and how to reach it. */
struct peer {
	char			 host[64];	/* numeric address */
	char			 port[8];
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	int			 echo;		/* wslay-echo */
};

/* bench-hist.c: log-linear buckets, two significant digits, no samples. */
#define HIST_SUB_BITS	7
#define HIST_SUB	(1 << HIST_SUB_BITS)
#define HIST_BUCKETS	(64 * (HIST_SUB / 2) + HIST_SUB)
struct hist {
	uint64_t	count;
	uint64_t	max;
	uint64_t	b[HIST_BUCKETS];
};
void	hist_add(struct hist *, uint64_t);
uint64_t hist_quantile(const struct hist *, double);

/* bench-conn.c: one WebSocket client connection. */
#define BC_CONNECTING	0	/* TCP connect and upgrade under way */
#define BC_OPEN		1	/* upgraded, not yet ready */
#define BC_READY	2	/* tickd said ready (echo: upgraded) */
#define BC_CLOSED	3

/* The members of a frame the bench looks at; values point into it. */
struct fields {
	const char	*op, *id, *mid, *code, *ref, *status, *for_, *token;
	size_t		 oplen, idlen, midlen, codelen, reflen, statuslen,
			 forlen, tokenlen;
};

struct bconn;
typedef void (*bconn_frame_cb)(struct bconn *, const char *, size_t,
    const struct fields *);
typedef void (*bconn_state_cb)(struct bconn *, int);

struct bconn {
	struct bufferevent	*bev;
	wslay_event_context_ptr	 ws;
	int			 state;
	int			 err;		/* errno of a failure */
	int			 close_code;	/* server's close code */
	int			 busy;		/* inside read_cb */
	int			 dying;		/* free after read_cb */
	const struct account	*acct;
	bconn_frame_cb		 on_frame;
	bconn_state_cb		 on_state;
	/* Called once the frames of one read were handled. */
	void			(*on_batch)(struct bconn *);
	void			*arg;
};
void	bconn_setup(struct event_base *, const struct peer *);
int	bconn_open(struct bconn *, const struct account *,
	    const struct sockaddr_storage *src);
void	bconn_send(struct bconn *, const char *, size_t);
void	bconn_flush(struct bconn *);
void	bconn_close(struct bconn *);
int	frame_fields(const char *, size_t, struct fields *);
int	field_is(const char *, size_t, const char *);
uint64_t field_u64(const char *, size_t);
uint64_t now_ns(void);

/* bench-http.c: blocking HTTP for setup, before the event loop runs. */
int	http_account(const struct peer *, const char *user,
	    const char *password, const char *device, struct account *,
	    char **cause);
int	http_metric(const struct peer *, const char *name, double *);

/* bench-seed.c: accounts written straight into a stopped tickd's store. */
int	seed_accounts(const char *dir, uint64_t map_size, const char *prefix,
	    unsigned n, const char *out, char **cause);

/* bench-fsync.c: the data disk's durable write rate. */
/* bench-media.c */
struct media_res {
	unsigned	uploaded, downloaded;	/* transfers that succeeded */
	double		up_mb_s, down_mb_s;	/* all of them together */
	uint64_t	rss_before, rss_peak;	/* the server's VmRSS */
};
int	bench_media(const struct peer *, const char *token, unsigned,
	    uint64_t size, pid_t, struct media_res *, char **cause);

struct fsync_res {
	double		 per_s;
	struct hist	 lat;		/* ns */
};
int	fsync_measure(const char *dir, double seconds, unsigned pages,
	    struct fsync_res *, char **cause);

#endif /* BENCH_H */
