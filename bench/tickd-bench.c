/* SPDX-License-Identifier: ISC */
/*
 * tickd-bench.c: tickd's benchmark.  One process, one libevent loop, many
 * protocol v1 clients: pairs of users exchanging messages as fast as the
 * server allows (throughput) or at a fixed rate (latency), thousands of
 * idle authenticated connections (connections), and a device coming back
 * to a full queue (drain), and groups of members fanning messages out to
 * each other (group).  Against wslay-echo (-e) the same clients push
 * the same frames through a server that stores nothing, which is the
 * ceiling tickd is compared with.  Figures go to standard output and, with
 * -o, to a JSON file.
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "bench.h"

#define PASSWORD	"tickd-bench password"
#define FIGURES_MAX	96
#define PARAMS_MAX	24
#define PEERS_MAX	8	/* -a given several times: cluster nodes */
#define MIDS_MAX	1024		/* per ack, as tickd allows */
#define SETUP_TIMEOUT	120		/* s to connect all */
#define DRAIN_TIMEOUT	600		/* s for a fill, a drain */
#define OPENING_MAX	256		/* connects in flight at once */
#define LATENCY_BACKLOG	100000		/* unanswered per sender */

struct opts {
	const char	*mode;
	const char	*out;		/* -o: JSON figures */
	const char	*tokens;	/* -T: "user device token" lines */
	const char	*prefix;	/* -u: account names */
	const char	*pidfile;	/* -F */
	const char	*exec;		/* -x: between fill, drain */
	const char	*dir;		/* -D: fsync, seed */
	pid_t		 pid;		/* -P: server, for RSS, CPU */
	unsigned	 pairs;		/* -p */
	unsigned	 window;	/* -w: sends in flight per sender */
	unsigned	 conns;		/* -c */
	unsigned	 groups;	/* -g: group */
	unsigned	 members;	/* -k: group */
	unsigned	 senders;	/* -s: group, per group */
	unsigned	 count;		/* -n: seed */
	uint64_t	 messages;	/* -m: drain */
	uint64_t	 map_size;	/* -M: seed */
	size_t		 body;		/* -b: body text bytes */
	double		 rate;		/* -r: latency: msgs/s */
	double		 duration;	/* -d */
	double		 warmup;	/* -W */
	int		 read;		/* -R: read them too */
	int		 quiet;		/* -q: no progress line */
	int		 dir_set;	/* -D was given */
	int		 conns_set;	/* -c was given */
	uint64_t	 media_size;	/* -S: media */
};

/* A list of mids owed an ack, kept as the inside of a JSON array. */
struct midlist {
	char		*p;
	size_t		 len, cap;
	unsigned	 n;
};

/* A sender and the receiver it sends to. */
struct pair {
	struct bconn	 s, r;
	unsigned	 idx;
	uint64_t	 seq;		/* messages sent so far */
	uint64_t	 inflight;	/* sends not yet answered */
	struct midlist	 sacks;		/* receipts to ack */
	struct midlist	 racks;		/* messages to ack */
};

struct counts {
	uint64_t	sends;		/* send frames written */
	uint64_t	sent;		/* answered sent */
	uint64_t	delivered;	/* msg frames received */
	uint64_t	acked;		/* mids acked, answered ok */
	uint64_t	receipts;	/* receipt frames received */
	uint64_t	errors;		/* error frames */
	uint64_t	queue_full;	/* of which queue_full */
	uint64_t	rate_limited;	/* of which rate_limited */
	uint64_t	behind;		/* latency: sends skipped */
};

struct figure {
	char		name[48];
	double		v;
};

struct param {
	char		name[24];
	char		v[160];
};

static struct opts		 o;
/*
 * The nodes of -a.  Every mode talks to the first; throughput and latency
 * spread their pairs over all of them, each pair across two nodes.
 */
static struct peer		 peers[PEERS_MAX];
static unsigned			 npeers;
static struct event_base	*base;
static struct account		*accts;
static size_t			 naccts;
static struct figure		 figs[FIGURES_MAX];
static size_t			 nfigs;
static struct param		 params[PARAMS_MAX];
static size_t			 nparams;
static char			*body;		/* JSON value */
static size_t			 bodylen;
static char			*scratch;	/* one frame being built */
static size_t			 scratchlen;
static struct pair		*pairs;
static unsigned			 npairs, nready;
static struct counts		 cnt, cnt0;
static struct hist		 h_sent, h_msg;
static int			 sending, measuring, failed, progress;
static uint64_t			 t_start, t_m0, t_m1;
static struct event		*ev_tick, *ev_progress, *ev_phase;

static void	 run_stop(const char *, ...) bench_printflike(1, 2);

/* Prints the synopsis and exits 2. */
static __dead void
usage(void)
{
	fprintf(stderr,
"usage: tickd-bench [-eq] [-a address:port ...] [-o file] [-T tokens]\n"
"                   [-u prefix] [-P pid | -F pidfile] mode [options]\n"
"  throughput  [-p pairs] [-w window] [-b bytes] [-R] [-d secs] [-W secs]\n"
"  latency     [-r msgs/s] [-p pairs] [-b bytes] [-d secs] [-W secs]\n"
"  connections [-c count] [-d secs]\n"
"  drain       [-m messages] [-w window] [-b bytes] [-x command]\n"
"  fsync       [-D dir] [-d secs] [-n pages]\n"
"  seed        -D data_dir -n count -T tokens [-u prefix] [-M map_size]\n"
"  media       [-c uploads] [-S bytes]\n"
"  group       [-g groups] [-k members] [-s senders] [-w window] [-b bytes]\n"
"              [-d secs] [-W secs]\n");
	exit(2);
}

static __dead void die(const char *, ...) bench_printflike(1, 2);

/* Reports a fatal error and exits 1. */
static __dead void
die(const char *fmt, ...)
{
	va_list	ap;

	if (progress)
		fputs("\r\033[K", stderr);
	fputs("tickd-bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* Zeroed memory; the bench stops if there is none. */
static void *
xalloc(size_t n)
{
	void	*p;

	if ((p = calloc(1, n == 0 ? 1 : n)) == NULL)
		die("out of memory");
	return (p);
}

/* Records one figure for the summary and the JSON file. */
static void
fig(const char *name, double v)
{
	if (nfigs == FIGURES_MAX)
		die("too many figures");
	snprintf(figs[nfigs].name, sizeof figs[nfigs].name, "%s", name);
	figs[nfigs++].v = v;
}

/* The percentiles of a histogram of nanoseconds, as microseconds. */
static void
fig_hist(const char *prefix, const struct hist *h)
{
	static const struct {
		const char	*suffix;
		double		 q;
	} qs[] = {
		{ "p50_us", 0.50 }, { "p90_us", 0.90 }, { "p99_us", 0.99 },
		{ "p999_us", 0.999 }, { "max_us", 1.0 },
	};
	char	name[48];
	size_t	i;

	snprintf(name, sizeof name, "%s_samples", prefix);
	fig(name, (double)h->count);
	for (i = 0; i < sizeof qs / sizeof qs[0]; i++) {
		snprintf(name, sizeof name, "%s_%s", prefix, qs[i].suffix);
		fig(name, (double)(qs[i].q >= 1.0 ? h->max :
		    hist_quantile(h, qs[i].q)) / 1e3);
	}
}

static void
param(const char *name, const char *fmt, ...) bench_printflike(2, 3);

/* Records a parameter of the run, for the JSON file. */
static void
param(const char *name, const char *fmt, ...)
{
	va_list	ap;

	if (nparams == PARAMS_MAX)
		die("too many parameters");
	snprintf(params[nparams].name, sizeof params[nparams].name, "%s",
	    name);
	va_start(ap, fmt);
	vsnprintf(params[nparams].v, sizeof params[nparams].v, fmt, ap);
	va_end(ap);
	nparams++;
}

/* Writes s as a JSON string; parameters are plain text. */
static void
json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", (unsigned char)*s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

/* Prints the summary, and writes the JSON file with -o. */
static void
report(void)
{
	FILE	*f;
	size_t	 i;

	if (progress)
		fputs("\r\033[K", stderr);
	if (base != NULL && npeers > 1)
		printf("tickd-bench %s against %u tickd nodes\n", o.mode,
		    npeers);
	else if (base != NULL)
		printf("tickd-bench %s against %s at %s:%s\n", o.mode,
		    peers[0].echo ? "wslay-echo" : "tickd", peers[0].host,
		    peers[0].port);
	else
		printf("tickd-bench %s\n", o.mode);
	for (i = 0; i < nfigs; i++)
		printf("  %-28s %14.1f\n", figs[i].name, figs[i].v);
	fflush(stdout);
	if (o.out == NULL)
		return;
	if ((f = fopen(o.out, "w")) == NULL)
		die("%s: %s", o.out, strerror(errno));
	fprintf(f, "{\n  \"tool\": \"tickd-bench\",\n  \"mode\": ");
	json_string(f, o.mode);
	fprintf(f, ",\n  \"target\": \"%s\",\n  \"params\": {",
	    base == NULL ? "none" : peers[0].echo ? "echo" : "tickd");
	for (i = 0; i < nparams; i++) {
		fprintf(f, "%s\n    ", i == 0 ? "" : ",");
		json_string(f, params[i].name);
		fputs(": ", f);
		json_string(f, params[i].v);
	}
	fprintf(f, "\n  },\n  \"figures\": {");
	for (i = 0; i < nfigs; i++) {
		fprintf(f, "%s\n    ", i == 0 ? "" : ",");
		json_string(f, figs[i].name);
		fprintf(f, ": %.3f", figs[i].v);
	}
	fprintf(f, "\n  }\n}\n");
	if (fclose(f) != 0)
		die("%s: %s", o.out, strerror(errno));
}

static void
progress_line(const char *fmt, ...) bench_printflike(1, 2);

/* Overwrites the progress line on a terminal. */
static void
progress_line(const char *fmt, ...)
{
	va_list	ap;

	if (!progress)
		return;
	fputs("\r\033[K", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fflush(stderr);
}

/* Ends the run with an error the summary mentions. */
static void
run_stop(const char *fmt, ...)
{
	va_list	ap;

	if (progress)
		fputs("\r\033[K", stderr);
	fputs("tickd-bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	failed = 1;
	event_base_loopbreak(base);
}

/* Nanoseconds as seconds. */
static double
secs(uint64_t ns)
{
	return ((double)ns / 1e9);
}

/* The server's pid from -P or -F; 0 if neither was given. */
static pid_t
server_pid(void)
{
	FILE	*f;
	long	 pid;

	if (o.pid != 0 || o.pidfile == NULL)
		return (o.pid);
	if ((f = fopen(o.pidfile, "r")) == NULL)
		die("%s: %s", o.pidfile, strerror(errno));
	if (fscanf(f, "%ld", &pid) != 1 || pid <= 0)
		die("%s: no pid", o.pidfile);
	fclose(f);
	return (o.pid = (pid_t)pid);
}

/*
 * A memory figure of pid in KiB from /proc/PID/status (VmRSS: all of its
 * resident set; RssAnon: without mapped files, such as the store); -1 if
 * unknown.
 */
static long
rss_kib(pid_t pid, const char *field)
{
	char	 path[64], line[256];
	FILE	*f;
	size_t	 n = strlen(field);
	long	 kib = -1;

	snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return (-1);
	while (fgets(line, sizeof line, f) != NULL) {
		if (strncmp(line, field, n) == 0 && line[n] == ':') {
			kib = strtol(line + n + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return (kib);
}

/* CPU seconds pid has used, user and system; -1 if unknown. */
static double
cpu_secs(pid_t pid)
{
	char		 path[64], buf[1024], *p;
	unsigned long	 ut, st;
	long		 tck;
	FILE		*f;
	size_t		 n;

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return (-1);
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* Fields 14 and 15, counted after the parenthesised name. */
	if ((p = strrchr(buf, ')')) == NULL || sscanf(p + 2,
	    "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut,
	    &st) != 2)
		return (-1);
	if ((tck = sysconf(_SC_CLK_TCK)) <= 0)
		return (-1);
	return ((double)(ut + st) / (double)tck);
}

/* This process's CPU seconds. */
static double
self_cpu_secs(void)
{
	struct rusage	ru;

	getrusage(RUSAGE_SELF, &ru);
	return ((double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
}

/* Parses -a into the next of peers: a numeric address and a port. */
static void
parse_peer(const char *arg)
{
	struct addrinfo	 hints, *res;
	struct peer	*pe;
	char		 buf[sizeof peers[0].host], *port;
	int		 rc;

	if (npeers == PEERS_MAX)
		die("-a: at most %d nodes", PEERS_MAX);
	pe = &peers[npeers++];

	if (strlen(arg) >= sizeof buf)
		die("-a %s: too long", arg);
	snprintf(buf, sizeof buf, "%s", arg);
	if ((port = strrchr(buf, ':')) == NULL)
		die("-a %s: need address:port", arg);
	*port++ = '\0';
	if (buf[0] == '[' && port - buf >= 3 && port[-2] == ']') {
		port[-2] = '\0';
		memmove(buf, buf + 1, strlen(buf + 1) + 1);
	}
	memset(&hints, 0, sizeof hints);
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(buf, port, &hints, &res)) != 0)
		die("-a %s: %s", arg, gai_strerror(rc));
	memcpy(&pe->ss, res->ai_addr, res->ai_addrlen);
	pe->sslen = res->ai_addrlen;
	freeaddrinfo(res);
	snprintf(pe->host, sizeof pe->host, "%s", buf);
	snprintf(pe->port, sizeof pe->port, "%.*s", (int)sizeof pe->port - 1,
	    port);
}

/*
 * Gets n accounts: the first n lines of the -T file, or, without it, n
 * accounts PREFIXk registered and logged in over HTTP (one scrypt each).
 * Against wslay-echo, tokens only pair connections: i and i+1 share one
 * when pair is set.
 */
static void
get_accounts(size_t n, int pair)
{
	const struct peer *home;
	FILE	*f;
	char	 line[512], user[BENCH_NAME_MAX + 1], *cause = NULL;
	size_t	 i;

	accts = xalloc(n * sizeof *accts);
	naccts = n;
	if (peers[0].echo) {
		for (i = 0; i < n; i++) {
			snprintf(accts[i].user, sizeof accts[i].user, "%s%zu",
			    o.prefix, i);
			snprintf(accts[i].device, sizeof accts[i].device,
			    "bench");
			snprintf(accts[i].token, sizeof accts[i].token,
			    "pair-%zu", pair ? i / 2 : i);
		}
		return;
	}
	if (o.tokens != NULL) {
		if ((f = fopen(o.tokens, "r")) == NULL)
			die("%s: %s", o.tokens, strerror(errno));
		for (i = 0; i < n && fgets(line, sizeof line, f) != NULL;
		    i++) {
			if (sscanf(line, "%64s %64s %128s", accts[i].user,
			    accts[i].device, accts[i].token) != 3)
				die("%s: line %zu is not \"user device "
				    "token\"", o.tokens, i + 1);
		}
		fclose(f);
		if (i < n)
			die("%s has %zu accounts; this run needs %zu",
			    o.tokens, i, n);
		return;
	}
	if (n > 100)
		fprintf(stderr, "tickd-bench: registering %zu accounts over "
		    "HTTP takes about %zu s; \"tickd-bench seed\" is "
		    "faster\n", n, n / 10);
	for (i = 0; i < n; i++) {
		progress_line("registering accounts: %zu/%zu", i, n);
		snprintf(user, sizeof user, "%s%zu", o.prefix, i);
		home = &peers[pair ? (i / 2 + i % 2) % npeers : i % npeers];
		if (http_account(home, user, PASSWORD, "bench", &accts[i],
		    &cause) != 0)
			die("%s", cause != NULL ? cause : "out of memory");
		accts[i].home = home;
	}
}

/* Makes the body: {"text":"xxx..."} with o.body bytes of text. */
static void
make_body(void)
{
	size_t	i;

	bodylen = o.body + 11;
	body = xalloc(bodylen + 1);
	memcpy(body, "{\"text\":\"", 9);
	for (i = 0; i < o.body; i++)
		body[9 + i] = "abcdefghijklmnopqrstuvwxyz0123456789 "[i % 37];
	memcpy(body + 9 + o.body, "\"}", 3);
	scratchlen = bodylen + 8192;
	scratch = xalloc(scratchlen);
}

/* Appends a mid to the list. */
static void
midlist_add(struct midlist *l, const char *mid, size_t len)
{
	size_t	need = l->len + len + 3;
	char	*p;

	if (need > l->cap) {
		l->cap = need < 4096 ? 4096 : need * 2;
		if ((p = realloc(l->p, l->cap)) == NULL)
			die("out of memory");
		l->p = p;
	}
	if (l->n != 0)
		l->p[l->len++] = ',';
	l->p[l->len++] = '"';
	memcpy(l->p + l->len, mid, len);
	l->len += len;
	l->p[l->len++] = '"';
	l->n++;
}

/*
 * Sends what the list holds as one ack (with ref = the count, so that the
 * ok tells how many were acked) and, if read is set, one read.
 */
static void
midlist_flush(struct bconn *c, struct midlist *l, int ref, int read)
{
	int	n;

	if (l->n == 0)
		return;
	if (ref)
		n = snprintf(scratch, scratchlen, "{\"op\":\"ack\",\"ref\":%u,"
		    "\"mids\":[%.*s]}", l->n, (int)l->len, l->p);
	else
		n = snprintf(scratch, scratchlen, "{\"op\":\"ack\",\"mids\":"
		    "[%.*s]}", (int)l->len, l->p);
	if (n > 0 && (size_t)n < scratchlen)
		bconn_send(c, scratch, (size_t)n);
	if (read) {
		n = snprintf(scratch, scratchlen, "{\"op\":\"read\",\"mids\":"
		    "[%.*s]}", (int)l->len, l->p);
		if (n > 0 && (size_t)n < scratchlen)
			bconn_send(c, scratch, (size_t)n);
	}
	l->len = 0;
	l->n = 0;
}

/* One message from p's sender to its receiver; its id holds the time. */
static void
send_one(struct pair *p)
{
	uint64_t	t = now_ns();
	int		n;

	if (peers[0].echo)
		n = snprintf(scratch, scratchlen, "{\"op\":\"msg\",\"mid\":"
		    "\"%u-%llu\",\"from\":\"%s\",\"from_device\":\"%s\","
		    "\"to\":\"%s\",\"id\":\"%llu.%llu\",\"ts\":%llu,"
		    "\"body\":%s}", p->idx, (unsigned long long)p->seq,
		    p->s.acct->user, p->s.acct->device, p->r.acct->user,
		    (unsigned long long)p->seq, (unsigned long long)t,
		    (unsigned long long)(t / 1000000), body);
	else
		n = snprintf(scratch, scratchlen, "{\"op\":\"send\",\"to\":"
		    "\"%s\",\"id\":\"%llu.%llu\",\"body\":%s}",
		    p->r.acct->user, (unsigned long long)p->seq,
		    (unsigned long long)t, body);
	if (n <= 0 || (size_t)n >= scratchlen)
		die("frame too large");
	bconn_send(&p->s, scratch, (size_t)n);
	p->seq++;
	p->inflight++;
	cnt.sends++;
}

/* The send time carried in an id "<seq>.<ns>"; 0 if it has none. */
static uint64_t
id_time(const char *id, size_t len)
{
	const char	*dot;

	if (id == NULL || (dot = memchr(id, '.', len)) == NULL)
		return (0);
	return (field_u64(dot + 1, len - (size_t)(dot + 1 - id)));
}

/* Adds the time since the send that id names, while measuring. */
static void
record(struct hist *h, const char *id, size_t len)
{
	uint64_t	t = id_time(id, len), now;

	if (!measuring || t == 0)
		return;
	now = now_ns();
	hist_add(h, now > t ? now - t : 0);
}

/* Throughput: keep window sends in flight. */
static void
top_up(struct pair *p)
{
	if (!sending || o.rate > 0)
		return;
	while (p->inflight < o.window)
		send_one(p);
}

/* Counts an error frame by its code. */
static void
count_error(const struct fields *f)
{
	cnt.errors++;
	if (field_is(f->code, f->codelen, "queue_full"))
		cnt.queue_full++;
	else if (field_is(f->code, f->codelen, "rate_limited"))
		cnt.rate_limited++;
}

/* A sender reads sent (or error) replies and receipts. */
static void
sender_frame(struct bconn *c, const char *s, size_t len,
    const struct fields *f)
{
	struct pair	*p = c->arg;

	(void)s; (void)len;
	if (field_is(f->op, f->oplen, "sent")) {
		cnt.sent++;
		if (p->inflight > 0)
			p->inflight--;
		record(&h_sent, f->id, f->idlen);
	} else if (field_is(f->op, f->oplen, "receipt")) {
		cnt.receipts++;
		midlist_add(&p->sacks, f->mid, f->midlen);
		/* wslay-echo answers nothing: the receipt ends a send. */
		if (peers[0].echo && p->inflight > 0)
			p->inflight--;
	} else if (field_is(f->op, f->oplen, "error")) {
		count_error(f);
		if (f->id != NULL && p->inflight > 0)
			p->inflight--;
	}
}

/* After a read: ack the receipts, then refill the window. */
static void
sender_batch(struct bconn *c)
{
	struct pair	*p = c->arg;

	midlist_flush(c, &p->sacks, 0, 0);
	top_up(p);
}

/* A receiver reads messages and the ok of its acks. */
static void
receiver_frame(struct bconn *c, const char *s, size_t len,
    const struct fields *f)
{
	struct pair	*p = c->arg;
	int		 n;

	(void)s; (void)len;
	if (field_is(f->op, f->oplen, "msg")) {
		midlist_add(&p->racks, f->mid, f->midlen);
		if (p->racks.n == MIDS_MAX)
			midlist_flush(c, &p->racks, 1, o.read);
		/* Left over from an earlier run with the same accounts. */
		if (id_time(f->id, f->idlen) < t_start)
			return;
		cnt.delivered++;
		record(&h_msg, f->id, f->idlen);
		if (!peers[0].echo)
			return;
		/* The receipt tickd would push to the sender. */
		n = snprintf(scratch, scratchlen, "{\"op\":\"receipt\","
		    "\"mid\":\"r%.*s\",\"for\":\"%.*s\",\"id\":\"%.*s\","
		    "\"by\":\"%s\",\"status\":\"delivered\",\"ts\":%llu}",
		    (int)f->midlen, f->mid, (int)f->midlen, f->mid,
		    (int)f->idlen, f->id, c->acct->user,
		    (unsigned long long)(now_ns() / 1000000));
		if (n > 0 && (size_t)n < scratchlen)
			bconn_send(c, scratch, (size_t)n);
	} else if (field_is(f->op, f->oplen, "ok")) {
		cnt.acked += field_u64(f->ref, f->reflen);
	} else if (field_is(f->op, f->oplen, "error"))
		count_error(f);
}

/* After a read: one ack (and read) for every message in it. */
static void
receiver_batch(struct bconn *c)
{
	struct pair	*p = c->arg;

	midlist_flush(c, &p->racks, 1, o.read);
}

static void start_sending(void);

/* Starts the run once all are ready; a lost connection ends it. */
static void
pair_state(struct bconn *c, int state)
{
	if (state == BC_READY) {
		if (++nready == 2 * npairs)
			start_sending();
	} else if (state == BC_CLOSED) {
		run_stop("%s lost its connection (%s, close code %d)",
		    c->acct->user, strerror(c->err), c->close_code);
	}
}

static double	tickd_cpu0, self_cpu0, commits0, commit_secs0;

/* A metric of tickd summed over the nodes of -a; -1 if one fails. */
static int
metric_sum(const char *name, double *v)
{
	double		 one;
	unsigned	 i;

	*v = 0;
	for (i = 0; i < npeers; i++) {
		if (http_metric(&peers[i], name, &one) != 0)
			return (-1);
		*v += one;
	}
	return (0);
}

/* Notes the counters at the start of the measured window. */
static void
window_open(void)
{
	cnt0 = cnt;
	t_m0 = now_ns();
	measuring = 1;
	if (o.pid != 0)
		tickd_cpu0 = cpu_secs(o.pid);
	self_cpu0 = self_cpu_secs();
	if (peers[0].echo || metric_sum("tickd_commits_total", &commits0) !=
	    0 || metric_sum("tickd_commit_seconds_sum", &commit_secs0) != 0)
		commits0 = -1;
}

/* Figures for the window just closed. */
static void
window_close(void)
{
	double	el, commits, commit_secs;

	t_m1 = now_ns();
	measuring = 0;
	el = secs(t_m1 - t_m0);
	fig("seconds", el);
	if (o.rate > 0)
		fig("offered_per_s", o.rate);
	fig("sends_per_s", (double)(cnt.sends - cnt0.sends) / el);
	if (!peers[0].echo)
		fig("sent_per_s", (double)(cnt.sent - cnt0.sent) / el);
	fig("delivered_per_s", (double)(cnt.delivered - cnt0.delivered) / el);
	if (!peers[0].echo)
		fig("acked_per_s", (double)(cnt.acked - cnt0.acked) / el);
	fig("receipts_per_s", (double)(cnt.receipts - cnt0.receipts) / el);
	fig("errors", (double)(cnt.errors - cnt0.errors));
	if (cnt.queue_full != cnt0.queue_full)
		fig("queue_full", (double)(cnt.queue_full - cnt0.queue_full));
	if (cnt.rate_limited != cnt0.rate_limited) {
		fig("rate_limited", (double)(cnt.rate_limited -
		    cnt0.rate_limited));
		fprintf(stderr, "tickd-bench: tickd rate-limited the senders; "
		    "set send_rate 0 in tickd.conf to measure it\n");
	}
	if (cnt.behind != cnt0.behind)
		fig("sends_skipped", (double)(cnt.behind - cnt0.behind));
	if (commits0 >= 0 &&
	    metric_sum("tickd_commits_total", &commits) == 0 &&
	    metric_sum("tickd_commit_seconds_sum", &commit_secs) == 0) {
		fig("commits_per_s", (commits - commits0) / el);
		if (commits > commits0)
			fig("sent_per_commit", (double)(cnt.sent - cnt0.sent) /
			    (commits - commits0));
		/*
		 * The loop serves no one while it commits; with several
		 * nodes, the mean of theirs.
		 */
		fig("commit_wall_pct", 100 * (commit_secs - commit_secs0) /
		    el / npeers);
	}
	if (o.pid != 0 && tickd_cpu0 >= 0)
		fig("server_cpu_pct", 100 * (cpu_secs(o.pid) - tickd_cpu0) /
		    el);
	fig("bench_cpu_pct", 100 * (self_cpu_secs() - self_cpu0) / el);
	if (!peers[0].echo)
		fig_hist("send_to_sent", &h_sent);
	fig_hist("send_to_msg", &h_msg);
}

/* Ends the warm-up, then the measured window. */
static void
phase_cb(evutil_socket_t fd, short what, void *arg)
{
	struct timeval	tv;

	(void)fd; (void)what; (void)arg;
	if (!measuring) {
		window_open();
		tv.tv_sec = (time_t)o.duration;
		tv.tv_usec = (suseconds_t)((o.duration - (double)tv.tv_sec) *
		    1e6);
		evtimer_add(ev_phase, &tv);
		return;
	}
	window_close();
	event_base_loopbreak(base);
}

/* Latency: every millisecond, send what the schedule says is due. */
static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pair	*p;
	double		 per_pair = o.rate / npairs, el;
	uint64_t	 due, k;
	unsigned	 i;

	(void)fd; (void)what; (void)arg;
	el = secs(now_ns() - t_start);
	for (i = 0; i < npairs; i++) {
		p = &pairs[i];
		due = (uint64_t)(el * per_pair + (double)i / npairs);
		for (k = 0; p->seq < due && k < 10000; k++) {
			if (p->inflight >= LATENCY_BACKLOG) {
				cnt.behind += due - p->seq;
				p->seq = due;
				break;
			}
			send_one(p);
		}
		bconn_flush(&p->s);
	}
}

/* Once a second: the rates of the last second, on a terminal. */
static void
progress_cb(evutil_socket_t fd, short what, void *arg)
{
	static struct counts	last;
	static uint64_t		tlast;
	uint64_t		now = now_ns();
	double			el;

	(void)fd; (void)what; (void)arg;
	if (tlast != 0) {
		el = secs(now - tlast);
		progress_line("%s %.0fs%s: sent %.0f/s delivered %.0f/s "
		    "receipts %.0f/s errors %llu", o.mode,
		    secs(now - t_start), measuring ? "" : " (warm-up)",
		    (double)((peers[0].echo ? cnt.sends : cnt.sent) - (peers[0].echo ?
		    last.sends : last.sent)) / el,
		    (double)(cnt.delivered - last.delivered) / el,
		    (double)(cnt.receipts - last.receipts) / el,
		    (unsigned long long)cnt.errors);
	}
	last = cnt;
	tlast = now;
}

/* A timer firing after interval seconds, again and again if persist. */
static struct event *
timer(void (*cb)(evutil_socket_t, short, void *), double interval,
    int persist)
{
	struct event	*ev;
	struct timeval	 tv;

	ev = event_new(base, -1, persist ? EV_PERSIST : 0, cb, NULL);
	if (ev == NULL)
		die("event_new");
	tv.tv_sec = (time_t)interval;
	tv.tv_usec = (suseconds_t)((interval - (double)tv.tv_sec) * 1e6);
	if (evtimer_add(ev, &tv) != 0)
		die("evtimer_add");
	return (ev);
}

/* Everyone is connected: warm up, then measure. */
static void
start_sending(void)
{
	unsigned	i;

	t_start = now_ns();
	sending = 1;
	ev_phase = timer(phase_cb, o.warmup > 0 ? o.warmup : 0.001, 0);
	ev_progress = timer(progress_cb, 1, 1);
	if (o.rate > 0)
		ev_tick = timer(tick_cb, 0.001, 1);
	else {
		for (i = 0; i < npairs; i++) {
			top_up(&pairs[i]);
			bconn_flush(&pairs[i].s);
		}
	}
}

/* Gives up if the connections are not all ready in time. */
static void
setup_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what; (void)arg;
	if (t_start == 0)
		run_stop("only %u of %u connections ready after %d s",
		    nready, 2 * npairs, SETUP_TIMEOUT);
}

/* Frees the timers of a pairs run. */
static void
free_timers(void)
{
	struct event	**evs[] = { &ev_tick, &ev_progress, &ev_phase };
	size_t		  i;

	for (i = 0; i < sizeof evs / sizeof evs[0]; i++) {
		if (*evs[i] != NULL)
			event_free(*evs[i]);
		*evs[i] = NULL;
	}
}

/* Throughput and latency: pairs of users, one sending to the other. */
static int
run_pairs(void)
{
	struct event	*ev_setup;
	unsigned	 i;

	npairs = o.pairs;
	param("pairs", "%u", o.pairs);
	param("body_bytes", "%zu", o.body);
	param("duration_s", "%g", o.duration);
	param("warmup_s", "%g", o.warmup);
	if (o.rate > 0)
		param("rate_per_s", "%g", o.rate);
	else
		param("window", "%u", o.window);
	param("read", "%s", o.read ? "yes" : "no");
	param("nodes", "%u", npeers);
	get_accounts(2 * (size_t)npairs, 1);
	make_body();
	pairs = xalloc(npairs * sizeof *pairs);
	for (i = 0; i < npairs; i++) {
		pairs[i].idx = i;
		pairs[i].s.arg = pairs[i].r.arg = &pairs[i];
		pairs[i].s.on_frame = sender_frame;
		pairs[i].s.on_batch = sender_batch;
		pairs[i].r.on_frame = receiver_frame;
		pairs[i].r.on_batch = receiver_batch;
		pairs[i].s.on_state = pairs[i].r.on_state = pair_state;
		if (bconn_open(&pairs[i].r, &accts[2 * i + 1], NULL) != 0 ||
		    bconn_open(&pairs[i].s, &accts[2 * i], NULL) != 0)
			die("connect to %s:%s: %s", peers[0].host, peers[0].port,
			    strerror(pairs[i].s.err ? pairs[i].s.err :
			    pairs[i].r.err));
	}
	ev_setup = timer(setup_timeout_cb, SETUP_TIMEOUT, 0);
	event_base_dispatch(base);
	event_free(ev_setup);
	free_timers();
	for (i = 0; i < npairs; i++) {
		bconn_close(&pairs[i].s);
		bconn_close(&pairs[i].r);
		free(pairs[i].sacks.p);
		free(pairs[i].racks.p);
	}
	if (failed)
		return (1);
	report();
	return (0);
}

/* Throughput: a window of sends in flight per sender. */
static int
run_throughput(void)
{
	o.rate = 0;
	return (run_pairs());
}

/* Latency: sends at a fixed overall rate. */
static int
run_latency(void)
{
	if (o.rate <= 0)
		die("latency needs a rate (-r) above 0");
	return (run_pairs());
}

/* --------------------------------------------------------------- group */

#define GSLOTS		4096		/* sends tracked per sender */

/* A send of one group sender: how many members it has reached. */
struct gslot {
	uint64_t	seq;
	unsigned	got;
};

struct grp;

/* A member of a group with its one device; the first few send. */
struct gmember {
	struct bconn	 c;
	struct grp	*g;
	unsigned	 sender;	/* 1 + index among senders; 0: none */
	uint64_t	 seq;
	uint64_t	 inflight;
	int		 created;	/* got the created event */
	struct midlist	 acks;		/* items to ack */
};

/* One group: its name, its members, and its senders' sends in flight. */
struct grp {
	char		 name[48];
	struct gmember	*m;
	struct gslot	*slots;		/* GSLOTS per sender */
};

static struct grp	*grps;
static unsigned		 ngrps, ncreated, gsenders;
static struct hist	 h_last;

/* One group message from member gm; its id holds sender, seq and time. */
static void
group_send(struct gmember *gm)
{
	uint64_t	t = now_ns();
	int		n;

	n = snprintf(scratch, scratchlen, "{\"op\":\"send\",\"to\":\"%s\","
	    "\"id\":\"%u-%llu.%llu\",\"body\":%s}", gm->g->name,
	    gm->sender - 1, (unsigned long long)gm->seq,
	    (unsigned long long)t, body);
	if (n <= 0 || (size_t)n >= scratchlen)
		die("frame too large");
	bconn_send(&gm->c, scratch, (size_t)n);
	gm->seq++;
	gm->inflight++;
	cnt.sends++;
}

/*
 * Counts one member reached by the send that id "<sender>-<seq>.<ns>"
 * names; the last member reached gives a send->msg sample of h_last.
 */
static void
group_reached(struct grp *g, const char *id, size_t len)
{
	const char	*dash, *dot;
	struct gslot	*sl;
	uint64_t	 s, seq;

	if (id == NULL || (dash = memchr(id, '-', len)) == NULL ||
	    (dot = memchr(dash, '.', len - (size_t)(dash - id))) == NULL)
		return;
	s = field_u64(id, (size_t)(dash - id));
	seq = field_u64(dash + 1, (size_t)(dot - dash - 1));
	if (s >= gsenders)
		return;
	sl = &g->slots[s * GSLOTS + seq % GSLOTS];
	if (sl->seq != seq) {
		/* A newer send took the slot of one long gone. */
		if (sl->seq > seq)
			return;
		sl->seq = seq;
		sl->got = 0;
	}
	if (++sl->got == o.members - 1)
		record(&h_last, id, len);
}

static void	group_start(void);

/* Every frame a member gets: sent, msg, group_event, receipt, ok. */
static void
group_frame(struct bconn *c, const char *s, size_t len,
    const struct fields *f)
{
	struct gmember	*gm = c->arg;

	(void)s; (void)len;
	if (field_is(f->op, f->oplen, "msg")) {
		midlist_add(&gm->acks, f->mid, f->midlen);
		if (gm->acks.n == MIDS_MAX)
			midlist_flush(c, &gm->acks, 1, 0);
		/* Left over from an earlier run with the same accounts. */
		if (id_time(f->id, f->idlen) < t_start)
			return;
		cnt.delivered++;
		record(&h_msg, f->id, f->idlen);
		group_reached(gm->g, f->id, f->idlen);
	} else if (field_is(f->op, f->oplen, "sent")) {
		cnt.sent++;
		if (gm->inflight > 0)
			gm->inflight--;
		record(&h_sent, f->id, f->idlen);
	} else if (field_is(f->op, f->oplen, "receipt")) {
		cnt.receipts++;
		midlist_add(&gm->acks, f->mid, f->midlen);
	} else if (field_is(f->op, f->oplen, "group_event")) {
		midlist_add(&gm->acks, f->mid, f->midlen);
		if (!gm->created) {
			gm->created = 1;
			if (++ncreated == ngrps * o.members)
				group_start();
		}
	} else if (field_is(f->op, f->oplen, "ok")) {
		cnt.acked += field_u64(f->ref, f->reflen);
	} else if (field_is(f->op, f->oplen, "error")) {
		count_error(f);
		if (!sending)
			run_stop("%s: %.*s", c->acct->user, (int)len, s);
		else if (f->id != NULL && gm->inflight > 0)
			gm->inflight--;
	}
}

/* After a read: ack what came, then refill a sender's window. */
static void
group_batch(struct bconn *c)
{
	struct gmember	*gm = c->arg;

	midlist_flush(c, &gm->acks, 1, 0);
	if (!sending || gm->sender == 0)
		return;
	while (gm->inflight < o.window)
		group_send(gm);
}

/* Owner of g: create it with every other member in one request. */
static void
group_create(struct grp *g)
{
	size_t		 cap = 256 + (size_t)o.members * (BENCH_NAME_MAX + 4);
	size_t		 n;
	char		*p = xalloc(cap);
	unsigned	 i;

	n = (size_t)snprintf(p, cap, "{\"op\":\"group_create\",\"group\":"
	    "\"%s\",\"title\":\"bench\",\"members\":[", g->name);
	for (i = 1; i < o.members; i++)
		n += (size_t)snprintf(p + n, cap - n, "%s\"%s\"", i > 1 ? "," :
		    "", g->m[i].c.acct->user);
	n += (size_t)snprintf(p + n, cap - n, "]}");
	if (n >= cap)
		die("group_create too large");
	bconn_send(&g->m[0].c, p, n);
	bconn_flush(&g->m[0].c);
	free(p);
}

/* Gives up if the groups are not all set up in time. */
static void
group_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what; (void)arg;
	if (t_start == 0)
		run_stop("after %d s %u of %u connections ready, %u of them "
		    "in their group", SETUP_TIMEOUT, nready,
		    ngrps * o.members, ncreated);
}

/* Once all are connected, the owners create their groups. */
static void
group_state(struct bconn *c, int state)
{
	unsigned	i;

	if (state == BC_READY) {
		if (++nready < ngrps * o.members)
			return;
		progress_line("creating %u groups of %u", ngrps, o.members);
		for (i = 0; i < ngrps; i++)
			group_create(&grps[i]);
	} else if (state == BC_CLOSED) {
		run_stop("%s lost its connection (%s, close code %d)",
		    c->acct->user, strerror(c->err), c->close_code);
	}
}

/* Every member has its created event: warm up, then measure. */
static void
group_start(void)
{
	unsigned	i, j;

	t_start = now_ns();
	sending = 1;
	ev_phase = timer(phase_cb, o.warmup > 0 ? o.warmup : 0.001, 0);
	ev_progress = timer(progress_cb, 1, 1);
	for (i = 0; i < ngrps; i++) {
		for (j = 0; j < o.senders; j++)
			group_batch(&grps[i].m[j].c);
	}
}

/*
 * Group: G groups of M members, each member one connected device, the
 * first S members of every group sending with a window each; every
 * member acks what it gets.  tickd's fan-out measured as group sends/s,
 * items delivered/s and send->msg of the last member a send reached.
 */
static int
run_group(void)
{
	struct event	*ev_setup;
	struct gmember	*gm;
	unsigned	 i, j, k = 0;
	uint64_t	 t0 = now_ns();

	if (peers[0].echo)
		die("group has no wslay-echo reference");
	if (o.members < 2 || o.senders < 1 || o.senders > o.members)
		die("group needs 2 or more members (-k) and 1 to -k senders "
		    "(-s)");
	ngrps = o.groups;
	gsenders = o.senders;
	param("groups", "%u", o.groups);
	param("members", "%u", o.members);
	param("senders_per_group", "%u", o.senders);
	param("window", "%u", o.window);
	param("body_bytes", "%zu", o.body);
	param("duration_s", "%g", o.duration);
	param("warmup_s", "%g", o.warmup);
	get_accounts((size_t)ngrps * o.members, 0);
	make_body();
	grps = xalloc(ngrps * sizeof *grps);
	for (i = 0; i < ngrps; i++) {
		/* Names are never given twice: one of its own each run. */
		snprintf(grps[i].name, sizeof grps[i].name, "#%sg%u-%llx",
		    o.prefix, i, (unsigned long long)t0);
		grps[i].m = xalloc(o.members * sizeof *grps[i].m);
		grps[i].slots = xalloc((size_t)o.senders * GSLOTS *
		    sizeof *grps[i].slots);
		for (j = 0; j < o.members; j++) {
			gm = &grps[i].m[j];
			gm->g = &grps[i];
			gm->sender = j < o.senders ? j + 1 : 0;
			gm->c.arg = gm;
			gm->c.on_frame = group_frame;
			gm->c.on_batch = group_batch;
			gm->c.on_state = group_state;
			if (bconn_open(&gm->c, &accts[k++], NULL) != 0)
				die("connect to %s:%s: %s", peers[0].host,
				    peers[0].port, strerror(gm->c.err));
		}
	}
	ev_setup = timer(group_timeout_cb, SETUP_TIMEOUT, 0);
	event_base_dispatch(base);
	event_free(ev_setup);
	free_timers();
	for (i = 0; i < ngrps; i++) {
		for (j = 0; j < o.members; j++) {
			bconn_close(&grps[i].m[j].c);
			free(grps[i].m[j].acks.p);
		}
		free(grps[i].m);
		free(grps[i].slots);
	}
	free(grps);
	if (failed)
		return (1);
	fig_hist("send_to_last_msg", &h_last);
	report();
	return (0);
}

/* ---------------------------------------------------------------- idle */

static struct bconn	*idle;
static unsigned		 nidle, nopened, nopening;
static struct sockaddr_storage src_addr;
static int		 src_next;		/* 0: the kernel chooses */

static void	open_more(void);
static void	loop_for(double, const char *);

/* An idle connection is ready: open the next; lost: the run fails. */
static void
idle_state(struct bconn *c, int state)
{
	(void)c;
	if (state == BC_READY) {
		nopening--;
		if (++nready == nidle) {
			event_base_loopbreak(base);
			return;
		}
		if (nready % 256 == 0)
			progress_line("connections: %u open, %u opening",
			    nready, nopening);
		open_more();
	} else if (state == BC_CLOSED)
		run_stop("connection %ld of %s closed (%s, close code %d)",
		    (long)(c - idle), c->acct->user, strerror(c->err),
		    c->close_code);
}

/*
 * The next source address on loopback, once the ephemeral ports of the
 * current one are used up: 127.0.0.2, 127.0.0.3, ...
 */
static int
next_source(void)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)&src_addr;

	if (peers[0].ss.ss_family != AF_INET ||
	    (ntohl(((struct sockaddr_in *)&peers[0].ss)->sin_addr.s_addr) >> 24) !=
	    127 || src_next >= 250)
		return (-1);
	memset(&src_addr, 0, sizeof src_addr);
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(0x7f000002U + (uint32_t)src_next++);
	return (0);
}

/* Keeps OPENING_MAX connects under way until every one is open. */
static void
open_more(void)
{
	struct bconn	*c;

	while (nopened < nidle && nopening < OPENING_MAX) {
		c = &idle[nopened];
		c->on_state = idle_state;
		while (bconn_open(c, &accts[nopened], src_next ? &src_addr :
		    NULL) != 0) {
			if (c->err != EADDRNOTAVAIL || next_source() != 0) {
				run_stop("connection %u: %s", nopened,
				    strerror(c->err));
				return;
			}
		}
		nopened++;
		nopening++;
	}
}

/* Ends the hold of the idle connections. */
static void
hold_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what; (void)arg;
	event_base_loopbreak(base);
}

/* Raises the open file limit as far as the hard limit allows. */
static void
raise_nofile(rlim_t want)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < want) {
		rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want)
		die("need %llu open files, the limit is %llu (ulimit -n)",
		    (unsigned long long)want, (unsigned long long)rl.rlim_cur);
}

/* Connections: open and hold many idle authenticated connections. */
static int
run_connections(void)
{
	struct event	*ev;
	uint64_t	 t0, t1;
	long		 rss0 = -1, rss1 = -1, anon0 = -1, anon1 = -1;
	pid_t		 pid = o.pid;
	unsigned	 i;

	nidle = o.conns;
	param("connections", "%u", o.conns);
	param("hold_s", "%g", o.duration);
	raise_nofile((rlim_t)nidle + 64);
	get_accounts(nidle, 0);
	idle = xalloc(nidle * sizeof *idle);
	if (pid != 0) {
		rss0 = rss_kib(pid, "VmRSS");
		anon0 = rss_kib(pid, "RssAnon");
	}
	t0 = now_ns();
	open_more();
	if (!failed)
		loop_for(SETUP_TIMEOUT, "opening the connections");
	t1 = now_ns();
	if (!failed) {
		progress_line("connections: %u open, holding %g s", nready,
		    o.duration);
		ev = timer(hold_cb, o.duration, 0);
		event_base_dispatch(base);
		event_free(ev);
	}
	if (!failed && pid != 0) {
		rss1 = rss_kib(pid, "VmRSS");
		anon1 = rss_kib(pid, "RssAnon");
	}
	for (i = 0; i < nopened; i++)
		bconn_close(&idle[i]);
	if (failed)
		return (1);
	fig("connections", nready);
	fig("open_seconds", secs(t1 - t0));
	fig("opened_per_s", nready / secs(t1 - t0));
	fig("source_addresses", src_next + 1);
	if (rss0 >= 0 && rss1 >= 0) {
		fig("server_rss_before_kib", rss0);
		fig("server_rss_after_kib", rss1);
		fig("server_rss_per_conn_bytes", (double)(rss1 - rss0) *
		    1024 / nready);
	}
	if (anon0 >= 0 && anon1 >= 0)
		fig("server_anon_per_conn_bytes", (double)(anon1 - anon0) *
		    1024 / nready);
	report();
	return (0);
}

/* --------------------------------------------------------------- drain */

static struct pair	 dp;
static uint64_t		 d_target, t_ready, t_first, t_last;

/* Counts the replies to the sends that fill the queue. */
static void
fill_frame(struct bconn *c, const char *s, size_t len,
    const struct fields *f)
{
	(void)s; (void)len;
	if (field_is(f->op, f->oplen, "sent"))
		cnt.sent++;
	else if (field_is(f->op, f->oplen, "error")) {
		cnt.errors++;
		if (field_is(f->code, f->codelen, "queue_full"))
			run_stop("%s's queue is full after %llu messages: "
			    "raise max_queue in tickd.conf", c->acct->user,
			    (unsigned long long)cnt.sent);
		else
			run_stop("send answered %.*s", (int)len, s);
		return;
	}
	if (dp.inflight > 0)
		dp.inflight--;
}

/* Keeps the window of sends full until the queue holds them all. */
static void
fill_batch(struct bconn *c)
{
	(void)c;
	if (cnt.sent == d_target) {
		event_base_loopbreak(base);
		return;
	}
	while (dp.inflight < o.window && dp.seq < d_target)
		send_one(&dp);
	if (progress && cnt.sent % 4096 == 0)
		progress_line("drain: queued %llu/%llu",
		    (unsigned long long)cnt.sent,
		    (unsigned long long)d_target);
}

/* The filling sender is ready: start; lost: the run fails. */
static void
fill_state(struct bconn *c, int state)
{
	if (state == BC_READY)
		fill_batch(c);
	else if (state == BC_CLOSED)
		run_stop("%s lost its connection while queueing (%s)",
		    c->acct->user, strerror(c->err));
}

/* Counts the replayed messages and the ok of their acks. */
static void
drain_frame(struct bconn *c, const char *s, size_t len,
    const struct fields *f)
{
	(void)c; (void)s; (void)len;
	if (field_is(f->op, f->oplen, "msg")) {
		if (cnt.delivered++ == 0)
			t_first = now_ns();
		midlist_add(&dp.racks, f->mid, f->midlen);
		if (dp.racks.n == MIDS_MAX)
			midlist_flush(&dp.r, &dp.racks, 1, 0);
	} else if (field_is(f->op, f->oplen, "ok")) {
		cnt.acked += field_u64(f->ref, f->reflen);
		if (cnt.acked >= d_target) {
			t_last = now_ns();
			event_base_loopbreak(base);
		}
	}
}

/* After a read: ack what it replayed. */
static void
drain_batch(struct bconn *c)
{
	midlist_flush(c, &dp.racks, 1, 0);
	if (progress && cnt.delivered % 4096 < 256)
		progress_line("drain: replayed %llu/%llu",
		    (unsigned long long)cnt.delivered,
		    (unsigned long long)d_target);
}

static int	drain_retry;

/* The receiver is ready, or could not connect yet (a restart). */
static void
drain_state(struct bconn *c, int state)
{
	if (state == BC_READY) {
		t_ready = now_ns();
		event_base_loopbreak(base);
	} else if (state == BC_CLOSED) {
		if (t_ready == 0)
			drain_retry = 1;
		else
			run_stop("%s lost its connection while draining (%s)",
			    c->acct->user, strerror(c->err));
		event_base_loopbreak(base);
	}
}

/* A phase took too long: the run fails. */
static void
timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what;
	run_stop("%s timed out", (const char *)arg);
}

/* Runs the loop until a callback breaks it or limit seconds pass. */
static void
loop_for(double limit, const char *what)
{
	struct event	*ev;
	struct timeval	 tv;

	ev = evtimer_new(base, timeout_cb, (void *)what);
	tv.tv_sec = (time_t)limit;
	tv.tv_usec = 0;
	if (ev == NULL || evtimer_add(ev, &tv) != 0)
		die("evtimer");
	event_base_dispatch(base);
	event_free(ev);
}

/*
 * Connects the receiver, retrying every 2 ms while the server is not
 * there yet (after -x restarted it); the time from t0 to ready.
 */
static uint64_t
drain_connect(uint64_t t0)
{
	struct timespec	ts = { 0, 2000000 };

	for (;;) {
		drain_retry = 0;
		t_ready = 0;
		dp.r.on_state = drain_state;
		dp.r.on_frame = drain_frame;
		dp.r.on_batch = drain_batch;
		if (bconn_open(&dp.r, dp.r.acct, NULL) == 0)
			loop_for(DRAIN_TIMEOUT, "connecting the receiver");
		else
			drain_retry = 1;
		if (failed)
			return (0);
		if (!drain_retry)
			return (t_ready - t0);
		if (now_ns() - t0 > 60 * 1000000000ULL) {
			run_stop("the receiver could not connect for 60 s "
			    "(%s)", strerror(dp.r.err));
			return (0);
		}
		nanosleep(&ts, NULL);
	}
}

/* Drain: queue messages for an offline device, then time its replay. */
static int
run_drain(void)
{
	uint64_t	t0, t1, restart = 0;
	int		status;

	d_target = o.messages;
	param("messages", "%llu", (unsigned long long)o.messages);
	param("window", "%u", o.window);
	param("body_bytes", "%zu", o.body);
	if (o.exec != NULL)
		param("between", "%s", o.exec);
	if (peers[0].echo)
		die("drain needs tickd: wslay-echo stores nothing");
	get_accounts(2, 0);
	make_body();
	dp.s.arg = dp.r.arg = &dp;
	dp.s.acct = &accts[0];
	dp.r.acct = &accts[1];
	dp.s.on_state = fill_state;
	dp.s.on_frame = fill_frame;
	dp.s.on_batch = fill_batch;

	t0 = now_ns();
	if (bconn_open(&dp.s, &accts[0], NULL) != 0)
		die("connect: %s", strerror(dp.s.err));
	loop_for(DRAIN_TIMEOUT, "queueing");
	t1 = now_ns();
	bconn_close(&dp.s);
	if (failed)
		return (1);
	fig("queued", (double)cnt.sent);
	fig("queue_seconds", secs(t1 - t0));
	fig("queued_per_s", (double)cnt.sent / secs(t1 - t0));

	if (o.exec != NULL) {
		progress_line("drain: running %s", o.exec);
		t0 = now_ns();
		status = system(o.exec);
		if (status != 0)
			die("%s: exit status %d", o.exec, status);
		t1 = now_ns();
		fig("command_seconds", secs(t1 - t0));
		restart = drain_connect(t1);
		if (failed)
			return (1);
		fig("command_to_ready_ms", (double)restart / 1e6);
	} else {
		t0 = now_ns();
		drain_connect(t0);
		if (failed)
			return (1);
	}
	loop_for(DRAIN_TIMEOUT, "the replay");
	bconn_close(&dp.r);
	free(dp.racks.p);
	if (failed)
		return (1);
	fig("replayed", (double)cnt.delivered);
	fig("ready_to_first_msg_ms", (double)(t_first - t_ready) / 1e6);
	fig("drain_seconds", secs(t_last - t_ready));
	fig("drained_per_s", (double)d_target / secs(t_last - t_ready));
	report();
	return (0);
}

/* --------------------------------------------------------------- other */

/* Fsync: the data disk's durable commits per second. */
static int
run_fsync(void)
{
	struct fsync_res	 res;
	char			*cause = NULL;

	if (o.count == 0)
		o.count = 1;
	param("dir", "%s", o.dir);
	param("duration_s", "%g", o.duration);
	param("pages", "%u", o.count);
	if (fsync_measure(o.dir, o.duration, o.count, &res, &cause) != 0)
		die("%s", cause != NULL ? cause : "fsync failed");
	fig("fdatasync_per_s", res.per_s);
	fig_hist("fdatasync", &res.lat);
	report();
	return (0);
}

/*
 * Media: -c uploads of -S bytes at once, then their downloads, with the
 * server's RSS while the uploads run (tickd-protocol(7) MEDIA).
 */
static int
run_media(void)
{
	struct media_res	 res;
	struct account		 a;
	char			 user[64], *cause = NULL;

	if (!o.conns_set)
		o.conns = 100;
	snprintf(user, sizeof user, "%smedia", o.prefix);
	if (http_account(&peers[0], user, PASSWORD, "bench", &a, &cause) != 0)
		die("%s", cause != NULL ? cause : "out of memory");
	param("uploads", "%u", o.conns);
	param("size", "%llu", (unsigned long long)o.media_size);
	if (bench_media(&peers[0], a.token, o.conns, o.media_size, o.pid, &res,
	    &cause) != 0)
		die("%s", cause != NULL ? cause : "media failed");
	fig("uploads_ok", res.uploaded);
	fig("downloads_ok", res.downloaded);
	fig("upload_mb_per_s", res.up_mb_s);
	fig("download_mb_per_s", res.down_mb_s);
	if (o.pid > 0) {
		fig("server_rss_before_mib", (double)res.rss_before / 1048576);
		fig("server_rss_peak_mib", (double)res.rss_peak / 1048576);
	}
	report();
	return (res.uploaded == o.conns && res.downloaded == o.conns ? 0 : 1);
}

/* Seed: accounts written into a stopped tickd's store. */
static int
run_seed(void)
{
	char	*cause = NULL;

	if (o.tokens == NULL || o.count == 0 || !o.dir_set)
		usage();
	if (seed_accounts(o.dir, o.map_size, o.prefix, o.count, o.tokens,
	    &cause) != 0)
		die("seed: %s", cause != NULL ? cause : "failed");
	printf("tickd-bench: %u accounts %s0..%s%u in %s, tokens in %s\n",
	    o.count, o.prefix, o.prefix, o.count - 1, o.dir, o.tokens);
	return (0);
}

static const struct mode {
	const char	*name;
	int		(*run)(void);
	int		 server;	/* talks to a server */
} modes[] = {
	{ "throughput",		run_throughput,		1 },
	{ "latency",		run_latency,		1 },
	{ "connections",	run_connections,	1 },
	{ "drain",		run_drain,		1 },
	{ "fsync",		run_fsync,		0 },
	{ "seed",		run_seed,		0 },
	{ "media",		run_media,		1 },
	{ "group",		run_group,		1 },
};

/*
 * A number from an option, with an optional k, m or g (powers of 1000, or
 * of 1024 for sizes), between min and max.
 */
static double
num(const char *s, double min, double max, const char *what, int size)
{
	static const char	 suffix[] = "kmg";
	const char		*p;
	char			*end;
	double			 v, k = size ? 1024 : 1000;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s)
		die("%s: bad %s", s, what);
	if (*end != '\0' && (p = strchr(suffix, *end)) != NULL) {
		for (; p >= suffix; p--)
			v *= k;
		end++;
	}
	if (*end != '\0' || v < min || v > max)
		die("%s: bad %s (%g to %g)", s, what, min, max);
	return (v);
}

/* A whole number argument: num() without the fraction. */
static uint64_t
unum(const char *s, double min, double max, const char *what, int size)
{
	double	v = num(s, min, max, what, size);

	return ((uint64_t)v);
}

int
main(int argc, char **argv)
{
	const struct mode	*m = NULL;
	static char		 prefix[32];
	size_t			 i;
	int			 ch;

	o.pairs = 16;
	o.window = 64;
	o.conns = 1000;
	o.groups = 1;
	o.members = 8;
	o.senders = 2;
	o.messages = 10000;
	o.map_size = 1ULL << 30;
	o.body = 64;
	o.duration = 10;
	o.warmup = 2;
	o.dir = ".";
	o.media_size = 16 << 20;
	while ((ch = getopt(argc, argv, "a:b:c:D:d:eF:g:k:M:m:n:o:P:p:qRr:S:s:"
	    "T:u:W:w:x:")) != -1) {
		switch (ch) {
		case 'a':
			parse_peer(optarg);
			break;
		case 'b':
			o.body = (size_t)unum(optarg, 0, 1 << 20, "body size",
			    1);
			break;
		case 'c':
			o.conns = (unsigned)unum(optarg, 1, 1e7, "count", 0);
			o.conns_set = 1;
			break;
		case 'D':
			o.dir = optarg;
			o.dir_set = 1;
			break;
		case 'd':
			o.duration = num(optarg, 0.1, 86400, "duration", 0);
			break;
		case 'e':
			peers[0].echo = 1;
			break;
		case 'F':
			o.pidfile = optarg;
			break;
		case 'g':
			o.groups = (unsigned)unum(optarg, 1, 100000, "groups",
			    0);
			break;
		case 'k':
			o.members = (unsigned)unum(optarg, 2, 100000,
			    "members", 0);
			break;
		case 's':
			o.senders = (unsigned)unum(optarg, 1, 100000,
			    "senders", 0);
			break;
		case 'M':
			o.map_size = (uint64_t)unum(optarg, 1 << 20, 1e13,
			    "map size", 1);
			break;
		case 'm':
			o.messages = (uint64_t)unum(optarg, 1, 1e9, "count", 0);
			break;
		case 'n':
			o.count = (unsigned)unum(optarg, 1, 1e7, "count", 0);
			break;
		case 'o':
			o.out = optarg;
			break;
		case 'P':
			o.pid = (pid_t)unum(optarg, 1, INT_MAX, "pid", 0);
			break;
		case 'p':
			o.pairs = (unsigned)unum(optarg, 1, 100000, "pairs", 0);
			break;
		case 'q':
			o.quiet = 1;
			break;
		case 'R':
			o.read = 1;
			break;
		case 'r':
			o.rate = num(optarg, 1, 1e8, "rate", 0);
			break;
		case 'S':
			o.media_size = (uint64_t)unum(optarg, 1, 1e12,
			    "media size", 1);
			break;
		case 'T':
			o.tokens = optarg;
			break;
		case 'u':
			o.prefix = optarg;
			break;
		case 'W':
			o.warmup = num(optarg, 0, 3600, "warm-up", 0);
			break;
		case 'w':
			o.window = (unsigned)unum(optarg, 1, 1e6, "window", 0);
			break;
		case 'x':
			o.exec = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1)
		usage();
	if (npeers == 0)
		parse_peer("127.0.0.1:8080");
	o.mode = argv[optind];
	for (i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		if (strcmp(modes[i].name, o.mode) == 0)
			m = &modes[i];
	}
	if (m == NULL)
		usage();
	if (npeers > 1 && ((m->run != run_throughput && m->run !=
	    run_latency) || o.tokens != NULL || peers[0].echo))
		die("several -a: throughput and latency only, with accounts "
		    "registered over HTTP (no -T, no -e)");
	if (o.prefix == NULL) {
		/* Fresh names, so that runs never share accounts. */
		srandom((unsigned)(now_ns() ^ (uint64_t)getpid()));
		snprintf(prefix, sizeof prefix, "b%06lx-",
		    random() & 0xffffff);
		o.prefix = prefix;
	}
	progress = !o.quiet && isatty(STDERR_FILENO);
	if (m->server) {
		signal(SIGPIPE, SIG_IGN);
		if ((base = event_base_new()) == NULL)
			die("event_base_new");
		bconn_setup(base, &peers[0]);
		server_pid();
	}
	ch = m->run();
	free(accts);
	free(body);
	free(scratch);
	free(pairs);
	free(idle);
	if (base != NULL)
		event_base_free(base);
	return (ch);
}
