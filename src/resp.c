/* SPDX-License-Identifier: ISC */
/*
 * resp.c: the Redis-protocol shim (tickd-resp(7)): its listener and
 * connections, the RESP2 parser, and the one command table with the commands
 * that show it and the server (COMMAND, INFO).  The replies are written by
 * resp-reply.c; clients whose XREAD or XREADGROUP blocks are parked by
 * resp-block.c; MULTI's queue is run by resp-multi.c.
 *
 * A RESP client is a struct conn with is_ws = 0 and its state in c->resp.
 * Its input is parsed as redis-server's networking.c does it: the parser
 * resumes from the state kept on the client, every length is checked
 * before anything is kept, an unauthenticated client gets smaller limits,
 * and a protocol error is answered, then the connection is closed.
 *
 * Durability.  A command's writes go into the turn's batch (server.c); its
 * reply, and every reply after it in the same round of input, is deferred
 * until the batch has been committed and fsync'd.  The replies of a round
 * are kept twice once a command has written: as they are, and with each
 * written command's reply replaced by an error, which is what the client
 * gets if the commit fails.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>

#include <openssl/ssl.h>

#include "tickd.h"

#define RESP_INLINE_MAX		(64 * 1024)	/* PROTO_INLINE_MAX_SIZE */
#define RESP_READ_MAX		(16 * 1024)	/* PROTO_IOBUF_LEN */
#define RESP_NOAUTH_MBULK	10	/* arguments before AUTH */
#define RESP_NOAUTH_BULK	16384	/* bytes of one argument before AUTH */
#define RESP_ARGV_FIRST		1024	/* argv slots allocated up front */

#define REQ_NONE		0
#define REQ_INLINE		1
#define REQ_MULTIBULK		2

#define PARSE_DONE		0	/* argv holds a command (maybe empty) */
#define PARSE_MORE		1	/* wait for more input */
#define PARSE_ERROR		2	/* reply the error, then close */

/* What a client over resp_max_clients is told before it is closed. */
#define RESP_MAXCLIENTS	"-ERR max number of clients reached\r\n"

/* What the client is told about a write whose commit failed. */
#define RESP_FAIL_REPLY	"-ERR write not committed: store full or I/O error\r\n"

static void	resp_command(struct rclient *, int, struct rarg *);
static void	resp_command_count(struct rclient *, int, struct rarg *);
static void	resp_command_info(struct rclient *, int, struct rarg *);
static void	resp_command_list(struct rclient *, int, struct rarg *);
static void	resp_command_docs(struct rclient *, int, struct rarg *);
static void	resp_command_help(struct rclient *, int, struct rarg *);
static void	resp_info(struct rclient *, int, struct rarg *);

/* Subcommand tables, each sorted by name. */
static const struct rcmd client_cmds[] = {
	{ .name = "getname", .fn = resp_conn_client_getname, .arity = 2 },
	{ .name = "help", .fn = resp_conn_client_help, .arity = 2 },
	{ .name = "id", .fn = resp_conn_client_id, .arity = 2 },
	{ .name = "setname", .fn = resp_conn_client_setname, .arity = 3 },
};
static const struct rcmd command_cmds[] = {
	{ .name = "count", .fn = resp_command_count, .arity = 2 },
	{ .name = "docs", .fn = resp_command_docs, .arity = -2 },
	{ .name = "help", .fn = resp_command_help, .arity = 2 },
	{ .name = "info", .fn = resp_command_info, .arity = -2 },
	{ .name = "list", .fn = resp_command_list, .arity = -2 },
};
static const struct rcmd xgroup_cmds[] = {
	{ .name = "create", .fn = resp_cgroup_xgroup, .arity = -5,
	  .flags = RC_WRITE },
	{ .name = "createconsumer", .fn = resp_cgroup_xgroup, .arity = 5,
	  .flags = RC_WRITE },
	{ .name = "delconsumer", .fn = resp_cgroup_xgroup, .arity = 5,
	  .flags = RC_WRITE },
	{ .name = "destroy", .fn = resp_cgroup_xgroup, .arity = 4,
	  .flags = RC_WRITE },
	{ .name = "help", .fn = resp_cgroup_xgroup_help, .arity = 2 },
	{ .name = "setid", .fn = resp_cgroup_xgroup, .arity = -5,
	  .flags = RC_WRITE },
};
static const struct rcmd xinfo_cmds[] = {
	{ .name = "consumers", .fn = resp_cgroup_xinfo, .arity = 4 },
	{ .name = "groups", .fn = resp_cgroup_xinfo, .arity = 3 },
	{ .name = "help", .fn = resp_cgroup_xinfo_help, .arity = 2 },
	{ .name = "stream", .fn = resp_cgroup_xinfo, .arity = -3 },
};

#define SUB(t)	.sub = t, .nsub = sizeof t / sizeof t[0]

/* The command table (tickd-resp(7) COMMANDS), sorted by name for bsearch(). */
static const struct rcmd resp_cmds[] = {
	{ .name = "auth", .fn = resp_conn_auth, .arity = -2,
	  .flags = RC_NOAUTH },
	{ .name = "client", .arity = -2, SUB(client_cmds) },
	{ .name = "command", .fn = resp_command,
	  .arity = -1, SUB(command_cmds) },
	{ .name = "del", .fn = resp_cmd_del, .arity = -2, .flags = RC_WRITE },
	{ .name = "discard", .fn = resp_multi_discard, .arity = 1,
	  .flags = RC_TXN },
	{ .name = "echo", .fn = resp_conn_echo, .arity = 2 },
	{ .name = "exec", .fn = resp_multi_exec, .arity = 1, .flags = RC_TXN },
	{ .name = "exists", .fn = resp_cmd_exists, .arity = -2 },
	{ .name = "get", .fn = resp_cmd_get, .arity = 2 },
	{ .name = "hello", .fn = resp_conn_hello, .arity = -1,
	  .flags = RC_NOAUTH },
	{ .name = "info", .fn = resp_info, .arity = -1 },
	{ .name = "multi", .fn = resp_multi, .arity = 1, .flags = RC_TXN },
	{ .name = "ping", .fn = resp_conn_ping, .arity = -1 },
	{ .name = "quit", .fn = resp_conn_quit, .arity = -1,
	  .flags = RC_NOAUTH | RC_TXN },
	{ .name = "sadd", .fn = resp_cmd_sadd, .arity = -3,
	  .flags = RC_WRITE },
	{ .name = "scan", .fn = resp_cmd_scan, .arity = -2 },
	{ .name = "scard", .fn = resp_cmd_scard, .arity = 2 },
	{ .name = "select", .fn = resp_conn_select, .arity = 2 },
	{ .name = "set", .fn = resp_cmd_set, .arity = -3, .flags = RC_WRITE },
	{ .name = "sismember", .fn = resp_cmd_sismember, .arity = 3 },
	{ .name = "smembers", .fn = resp_cmd_smembers, .arity = 2 },
	{ .name = "smismember", .fn = resp_cmd_smismember, .arity = -3 },
	{ .name = "srem", .fn = resp_cmd_srem, .arity = -3,
	  .flags = RC_WRITE },
	{ .name = "type", .fn = resp_cmd_type, .arity = 2 },
	{ .name = "unwatch", .fn = resp_multi_unwatch, .arity = 1 },
	{ .name = "watch", .fn = resp_multi_watch, .arity = -2,
	  .flags = RC_TXN },
	{ .name = "xack", .fn = resp_cgroup_xack, .arity = -4,
	  .flags = RC_WRITE },
	{ .name = "xadd", .fn = resp_stream_xadd, .arity = -5,
	  .flags = RC_WRITE },
	{ .name = "xautoclaim", .fn = resp_cgroup_xautoclaim, .arity = -6,
	  .flags = RC_WRITE },
	{ .name = "xclaim", .fn = resp_cgroup_xclaim, .arity = -6,
	  .flags = RC_WRITE },
	{ .name = "xdel", .fn = resp_stream_xdel, .arity = -3,
	  .flags = RC_WRITE },
	{ .name = "xgroup", .arity = -2, SUB(xgroup_cmds) },
	{ .name = "xinfo", .arity = -2, SUB(xinfo_cmds) },
	{ .name = "xlen", .fn = resp_stream_xlen, .arity = 2 },
	{ .name = "xpending", .fn = resp_cgroup_xpending, .arity = -3 },
	{ .name = "xrange", .fn = resp_stream_xrange, .arity = -4 },
	{ .name = "xread", .fn = resp_stream_xread, .arity = -4,
	  .flags = RC_BLOCKING },
	{ .name = "xreadgroup", .fn = resp_stream_xreadgroup, .arity = -7,
	  .flags = RC_WRITE | RC_BLOCKING },
	{ .name = "xrevrange", .fn = resp_stream_xrevrange, .arity = -4 },
	{ .name = "xsetid", .fn = resp_stream_xsetid, .arity = -3,
	  .flags = RC_WRITE },
	{ .name = "xtrim", .fn = resp_stream_xtrim, .arity = -4,
	  .flags = RC_WRITE },
};
#define NCMDS	(sizeof resp_cmds / sizeof resp_cmds[0])

static struct evconnlistener	*resp_listener;
static uint64_t			 resp_nclients;
static uint64_t			 resp_started;	/* Unix ms */

/* ---------------------------------------------------------- arguments */

/* Whether an argument is word, ignoring case. */
int
resp_arg_is(const struct rarg *a, const char *word)
{
	return (a->len == strlen(word) && strcasecmp(a->p, word) == 0);
}

/* Redis's string2ll: strict decimal, no sign but '-', no leading zero. */
int
resp_str2ll(const char *s, size_t len, long long *out)
{
	unsigned long long	v;
	size_t			i = 0;
	int			neg = 0;

	if (len == 0 || len >= 21)
		return (-1);
	if (len == 1 && s[0] == '0') {
		*out = 0;
		return (0);
	}
	if (s[0] == '-') {
		neg = 1;
		if (++i == len)
			return (-1);
	}
	if (s[i] < '1' || s[i] > '9')
		return (-1);
	v = (unsigned long long)(s[i++] - '0');
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		if (v > ULLONG_MAX / 10)
			return (-1);
		v *= 10;
		if (v > ULLONG_MAX - (unsigned long long)(s[i] - '0'))
			return (-1);
		v += (unsigned long long)(s[i] - '0');
	}
	if (i < len)
		return (-1);
	if (neg) {
		if (v > (unsigned long long)LLONG_MAX + 1)
			return (-1);
		*out = v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN :
		    -(long long)v;
	} else {
		if (v > LLONG_MAX)
			return (-1);
		*out = (long long)v;
	}
	return (0);
}

/*
 * An integer argument; otherwise replies msg (or the shared "not an
 * integer" error) and returns -1.
 */
int
resp_arg_ll(struct rclient *rc, const struct rarg *a, long long *out,
    const char *msg)
{
	if (resp_str2ll(a->p, a->len, out) == 0)
		return (0);
	if (msg != NULL)
		resp_add_errorf(rc, "%s", msg);
	else
		resp_add_err(rc, RESP_ERR_NOTINT);
	return (-1);
}

/* Frees an argument vector of argc strings. */
void
resp_args_free(struct rarg *argv, int argc)
{
	int	i;

	for (i = 0; i < argc; i++)
		free(argv[i].p);
	free(argv);
}

/* Replaces an argument's text, as XREAD does when it resolves "$". */
void
resp_arg_set(struct rarg *a, const char *s)
{
	free(a->p);
	a->p = xstrdup(s);
	a->len = strlen(s);
}

/*
 * The heap memory malloc(n) takes: n and malloc's size word, rounded up
 * to 16 bytes, at least 32, as glibc's allocator does.  resp_max_query
 * counts arguments so (tickd.conf(5)), not by their length: an empty
 * argument is 6 bytes of input but 48 bytes of tickd's memory.
 */
static size_t
rc_alloc_cost(size_t n)
{
	n = (n + sizeof(size_t) + 15) & ~(size_t)15;
	return (n < 32 ? 32 : n);
}

/* Sizes the parser's argument vector to cap slots, counting its memory. */
static void
rc_argv_grow(struct rclient *rc, int cap)
{
	rc->argv = xrealloc(rc->argv, (size_t)cap * sizeof *rc->argv);
	rc->argbytes += (size_t)(cap - rc->argvcap) * sizeof *rc->argv;
	rc->argvcap = cap;
}

/* Appends an argument (copied and NUL-terminated) to the parser's argv. */
static void
rc_arg_push(struct rclient *rc, const char *p, size_t len)
{
	if (rc->argc == rc->argvcap)
		rc_argv_grow(rc, rc->argvcap == 0 ? 8 : rc->argvcap * 2);
	rc->argv[rc->argc].p = xmalloc(len + 1);
	memcpy(rc->argv[rc->argc].p, p, len);
	rc->argv[rc->argc].p[len] = '\0';
	rc->argv[rc->argc].len = len;
	rc->argc++;
	rc->argbytes += rc_alloc_cost(len + 1);
}

/* Forgets the parsed command and the parser's state. */
static void
rc_args_reset(struct rclient *rc)
{
	if (rc->argv != NULL)
		resp_args_free(rc->argv, rc->argc);
	rc->argv = NULL;
	rc->argc = rc->argvcap = 0;
	rc->argbytes = 0;
	rc->reqtype = REQ_NONE;
	rc->mbulk = 0;
	rc->bulklen = -1;
}

/* ---------------------------------------------------------- parser */

/*
 * The first ch in p[0..len), searched as strchr() would: a NUL byte ends
 * the search, as it ends Redis's search of its query buffer.
 */
static const char *
find_char(const char *p, size_t len, char ch)
{
	size_t	i;

	for (i = 0; i < len; i++) {
		if (p[i] == ch)
			return (p + i);
		if (p[i] == '\0')
			return (NULL);
	}
	return (NULL);
}

/* A hex digit's value. */
static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	return (c - 'A' + 10);
}

/* Whether c is blank as isspace() says in the C locale. */
static int
is_blank(int c)
{
	return (c == ' ' || c == '\t' || c == '\n' || c == '\v' ||
	    c == '\f' || c == '\r');
}

/*
 * Splits an inline command as Redis's sdssplitargs(): blanks separate
 * words, "double quotes" take \n \r \t \b \a \xHH and \<c>, 'single
 * quotes' take \', and a closing quote must end its word.  -1 on
 * unbalanced quotes.  line is NUL-terminated at len.
 */
static int
rc_split_inline(struct rclient *rc, const char *line)
{
	const char	*p = line;
	char		*cur = NULL;
	size_t		 clen, ccap;
	int		 inq, insq, done;

	for (;;) {
		while (*p != '\0' && is_blank((unsigned char)*p))
			p++;
		if (*p == '\0')
			return (0);
		inq = insq = done = 0;
		clen = 0;
		ccap = 16;
		cur = xmalloc(ccap);
		while (!done) {
			if (clen + 2 > ccap) {
				ccap *= 2;
				cur = xrealloc(cur, ccap);
			}
			if (inq) {
				if (p[0] == '\\' && p[1] == 'x' &&
				    isxdigit((unsigned char)p[2]) &&
				    isxdigit((unsigned char)p[3])) {
					cur[clen++] = (char)(hexval(p[2]) * 16 +
					    hexval(p[3]));
					p += 3;
				} else if (p[0] == '\\' && p[1] != '\0') {
					p++;
					switch (*p) {
					case 'n': cur[clen++] = '\n'; break;
					case 'r': cur[clen++] = '\r'; break;
					case 't': cur[clen++] = '\t'; break;
					case 'b': cur[clen++] = '\b'; break;
					case 'a': cur[clen++] = '\a'; break;
					default: cur[clen++] = *p; break;
					}
				} else if (*p == '"') {
					if (p[1] != '\0' &&
					    !is_blank((unsigned char)p[1]))
						goto err;
					done = 1;
				} else if (*p == '\0')
					goto err;
				else
					cur[clen++] = *p;
			} else if (insq) {
				if (p[0] == '\\' && p[1] == '\'') {
					p++;
					cur[clen++] = '\'';
				} else if (*p == '\'') {
					if (p[1] != '\0' &&
					    !is_blank((unsigned char)p[1]))
						goto err;
					done = 1;
				} else if (*p == '\0')
					goto err;
				else
					cur[clen++] = *p;
			} else {
				switch (*p) {
				case ' ': case '\n': case '\r': case '\t':
				case '\0':
					done = 1;
					break;
				case '"':
					inq = 1;
					break;
				case '\'':
					insq = 1;
					break;
				default:
					cur[clen++] = *p;
					break;
				}
			}
			if (*p != '\0')
				p++;
		}
		rc_arg_push(rc, cur, clen);
		free(cur);
		cur = NULL;
	}
err:
	free(cur);
	return (-1);
}

/* An inline command: one line of words (Redis's processInlineBuffer). */
static int
rc_parse_inline(struct rclient *rc, const char **err)
{
	const char	*start = rc->qb + rc->qpos, *nl;
	size_t		 avail = rc->qlen - rc->qpos, linelen;
	char		*line;
	int		 ret;

	if ((nl = find_char(start, avail, '\n')) == NULL) {
		if (avail > RESP_INLINE_MAX) {
			*err = "Protocol error: too big inline request";
			return (PARSE_ERROR);
		}
		return (PARSE_MORE);
	}
	linelen = (size_t)(nl - start);
	if (linelen > 0 && start[linelen - 1] == '\r')
		linelen--;
	line = xmalloc(linelen + 1);
	memcpy(line, start, linelen);
	line[linelen] = '\0';
	ret = rc_split_inline(rc, line);
	free(line);
	if (ret != 0) {
		*err = "Protocol error: unbalanced quotes in request";
		return (PARSE_ERROR);
	}
	rc->qpos += (size_t)(nl - start) + 1;
	return (PARSE_DONE);
}

/*
 * A line "<c><number>\r" at the parser's place (the byte after \r is
 * skipped unread, as Redis does).  PARSE_MORE until the line is whole.
 */
static int
rc_parse_line(struct rclient *rc, long long *n, int *bad, const char *toobig,
    const char **err)
{
	const char	*start = rc->qb + rc->qpos, *cr;
	size_t		 avail = rc->qlen - rc->qpos;

	*bad = 0;
	if ((cr = find_char(start, avail, '\r')) == NULL) {
		if (avail > RESP_INLINE_MAX) {
			*err = toobig;
			return (PARSE_ERROR);
		}
		return (PARSE_MORE);
	}
	if ((size_t)(cr - start) + 2 > avail)
		return (PARSE_MORE);
	*bad = resp_str2ll(start + 1, (size_t)(cr - start - 1), n) != 0;
	rc->qpos += (size_t)(cr - start) + 2;
	return (PARSE_DONE);
}

/* A multibulk command (Redis's processMultibulkBuffer). */
static int
rc_parse_multibulk(struct rclient *rc, const char **err)
{
	long long	n;
	size_t		start;
	int		bad, r, authed = rc->authed;

	if (rc->mbulk == 0) {
		r = rc_parse_line(rc, &n, &bad,
		    "Protocol error: too big mbulk count string", err);
		if (r != PARSE_DONE)
			return (r);
		if (bad || n > INT_MAX) {
			*err = "Protocol error: invalid multibulk length";
			return (PARSE_ERROR);
		}
		if (n > RESP_NOAUTH_MBULK && !authed) {
			*err = "Protocol error: unauthenticated multibulk "
			    "length";
			return (PARSE_ERROR);
		}
		if (n <= 0)
			return (PARSE_DONE);
		rc->mbulk = n;
		rc_argv_grow(rc, n < RESP_ARGV_FIRST ? (int)n :
		    RESP_ARGV_FIRST);
	}
	while (rc->mbulk > 0) {
		if (rc->bulklen == -1) {
			if (rc->qpos == rc->qlen)
				return (PARSE_MORE);
			start = rc->qpos;
			r = rc_parse_line(rc, &n, &bad,
			    "Protocol error: too big bulk count string", err);
			if (r != PARSE_DONE)
				return (r);
			if (rc->qb[start] != '$') {
				snprintf(rc->errbuf, sizeof rc->errbuf,
				    "Protocol error: expected '$', got '%c'",
				    rc->qb[start]);
				*err = rc->errbuf;
				return (PARSE_ERROR);
			}
			if (bad || n < 0 ||
			    (uint64_t)n > srv.conf.resp_max_bulk) {
				*err = "Protocol error: invalid bulk length";
				return (PARSE_ERROR);
			}
			if (n > RESP_NOAUTH_BULK && !authed) {
				*err = "Protocol error: unauthenticated bulk "
				    "length";
				return (PARSE_ERROR);
			}
			rc->bulklen = n;
		}
		if (rc->qlen - rc->qpos < (size_t)rc->bulklen + 2)
			return (PARSE_MORE);
		rc_arg_push(rc, rc->qb + rc->qpos, (size_t)rc->bulklen);
		rc->qpos += (size_t)rc->bulklen + 2;
		rc->bulklen = -1;
		rc->mbulk--;
	}
	return (PARSE_DONE);
}

/* ---------------------------------------------------------- dispatch */

/* Orders two table entries by name, for bsearch(). */
static int
cmd_cmp(const void *a, const void *b)
{
	return (strcmp(((const struct rcmd *)a)->name,
	    ((const struct rcmd *)b)->name));
}

/* A table entry by name, case-insensitive; NULL if there is none. */
static const struct rcmd *
cmd_find(const struct rcmd *table, size_t n, const struct rarg *a)
{
	struct rcmd	key;
	char		name[32];
	size_t		i;

	if (a->len == 0 || a->len >= sizeof name)
		return (NULL);
	for (i = 0; i < a->len; i++)
		name[i] = (char)tolower((unsigned char)a->p[i]);
	name[i] = '\0';
	if (strlen(name) != a->len)
		return (NULL);
	memset(&key, 0, sizeof key);
	key.name = name;
	return (bsearch(&key, table, n, sizeof *table, cmd_cmp));
}

/* The command's name for errors: "xgroup|create" for a subcommand. */
static void
cmd_fullname(const struct rcmd *cmd, const struct rcmd *parent, char *buf,
    size_t len)
{
	if (parent != NULL)
		snprintf(buf, len, "%s|%s", parent->name, cmd->name);
	else
		snprintf(buf, len, "%s", cmd->name);
}

/* The command's parent in the table, if it is a subcommand. */
static const struct rcmd *
cmd_parent(const struct rcmd *cmd)
{
	size_t	i;

	for (i = 0; i < NCMDS; i++) {
		if (resp_cmds[i].sub != NULL && cmd >= resp_cmds[i].sub &&
		    cmd < resp_cmds[i].sub + resp_cmds[i].nsub)
			return (&resp_cmds[i]);
	}
	return (NULL);
}

/*
 * Finds the command of argv, replying Redis's error if there is none:
 * "unknown command" with the first arguments, or for a container
 * "unknown subcommand".  A container without a subcommand is itself, so
 * that its arity check answers.
 */
static const struct rcmd *
rc_lookup(struct rclient *rc, int argc, struct rarg *argv)
{
	const struct rcmd	*cmd, *sub;
	char			*args = NULL, *tmp, upper[32];
	size_t			 i;
	int			 j;

	if ((cmd = cmd_find(resp_cmds, NCMDS, &argv[0])) != NULL) {
		if (cmd->sub == NULL || argc < 2)
			return (cmd);
		if ((sub = cmd_find(cmd->sub, cmd->nsub, &argv[1])) != NULL)
			return (sub);
		for (i = 0; cmd->name[i] != '\0' && i < sizeof upper - 1; i++)
			upper[i] = (char)toupper((unsigned char)cmd->name[i]);
		upper[i] = '\0';
		resp_add_errorf(rc, "unknown subcommand '%.128s'. Try %s HELP.",
		    argv[1].p, upper);
		return (NULL);
	}
	args = xstrdup("");
	for (j = 1; j < argc && strlen(args) < 128; j++) {
		xasprintf(&tmp, "%s'%.*s' ", args, (int)(128 - strlen(args)),
		    argv[j].p);
		free(args);
		args = tmp;
	}
	resp_add_errorf(rc, "unknown command '%.128s', with args beginning "
	    "with: %s", argv[0].p, args);
	free(args);
	return (NULL);
}

/* Ends the read transaction a command used, if any. */
void
resp_rtxn_end(struct rclient *rc)
{
	if (rc->rtxn_open) {
		store_txn_abort(&rc->rtxn);
		rc->rtxn_open = 0;
	}
}

/*
 * The transaction a command reads and writes through: the turn's batch
 * for a write, or whenever a batch is open (so that a read sees the writes
 * before it); otherwise a read-only one that lasts for the command.  NULL
 * after replying an error.
 */
struct txn *
resp_txn(struct rclient *rc, int write)
{
	struct txn	*txn;
	int		 ret;

	if (write || batch_is_open()) {
		resp_rtxn_end(rc);
		if ((txn = batch_txn()) == NULL) {
			resp_add_err(rc, RESP_ERR_STORE);
			return (NULL);
		}
		if (write)
			rc->wrote = 1;
		return (txn);
	}
	if (!rc->rtxn_open) {
		if ((ret = store_txn_begin(srv.store, &rc->rtxn, 0)) !=
		    STORE_OK) {
			resp_add_store_error(rc, ret);
			return (NULL);
		}
		rc->rtxn_open = 1;
	}
	return (&rc->rtxn);
}

/*
 * Runs one command and adds its reply to the round's replies: to ok as it
 * is, and to fail as it is or, if it wrote, as RESP_FAIL_REPLY.
 */
void
resp_call(struct rclient *rc, const struct rcmd *cmd, int argc,
    struct rarg *argv)
{
	struct evbuffer	*out = rc->cmdout;
	size_t		 len;

	rc->out = out;
	rc->wrote = 0;
	rc->cmd = cmd;
	metrics_resp_command();
	cmd->fn(rc, argc, argv);
	resp_rtxn_end(rc);
	rc->out = rc->ok;
	if ((len = evbuffer_get_length(out)) == 0)
		return;
	if (rc->wrote && rc->fail == NULL) {
		if ((rc->fail = evbuffer_new()) == NULL)
			fatalx("resp: out of memory");
		evbuffer_add(rc->fail, evbuffer_pullup(rc->ok, -1),
		    evbuffer_get_length(rc->ok));
	}
	if (rc->fail != NULL) {
		if (rc->wrote)
			evbuffer_add(rc->fail, RESP_FAIL_REPLY,
			    strlen(RESP_FAIL_REPLY));
		else
			evbuffer_add(rc->fail, evbuffer_pullup(out, -1), len);
	}
	if (resp_buf_move(rc->ok, out) != 0)
		fatalx("resp: out of memory");
}

/* A refused command makes EXEC fail, as Redis's flagTransaction(). */
static void
rc_reject(struct rclient *rc)
{
	if (rc->multi)
		rc->multi_dirty = 1;
}

/* Checks and runs (or, inside MULTI, queues) the parsed command. */
static void
rc_dispatch(struct rclient *rc)
{
	const struct rcmd	*cmd;
	struct rqueued		*q;
	char			 full[64];
	int			 argc = rc->argc;

	rc->out = rc->ok;
	if ((cmd = rc_lookup(rc, argc, rc->argv)) == NULL) {
		rc_reject(rc);
		return;
	}
	if ((cmd->arity > 0 && cmd->arity != argc) ||
	    argc < -cmd->arity) {
		cmd_fullname(cmd, cmd_parent(cmd), full, sizeof full);
		resp_add_errorf(rc, "wrong number of arguments for '%s' "
		    "command", full);
		rc_reject(rc);
		return;
	}
	if (!rc->authed && !(cmd->flags & RC_NOAUTH)) {
		resp_add_errorf(rc, "-NOAUTH Authentication required.");
		rc_reject(rc);
		return;
	}
	if (rc->multi && !(cmd->flags & RC_TXN)) {
		if (rc->nqueued == rc->queuedcap) {
			rc->queuedcap = rc->queuedcap == 0 ? 8 :
			    rc->queuedcap * 2;
			rc->queued = xrealloc(rc->queued, rc->queuedcap *
			    sizeof *rc->queued);
		}
		q = &rc->queued[rc->nqueued++];
		q->cmd = cmd;
		q->argc = argc;
		q->argv = rc->argv;
		rc->queuedbytes += rc->argbytes;
		rc->argv = NULL;
		rc->argc = rc->argvcap = 0;
		resp_add_status(rc, "QUEUED");
		return;
	}
	resp_call(rc, cmd, argc, rc->argv);
	if (rc->blocked && rc->bargv == NULL) {
		/* Parked: keep the command to run it again. */
		rc->bcmd = cmd;
		rc->bargv = rc->argv;
		rc->bargc = argc;
		rc->argv = NULL;
		rc->argc = rc->argvcap = 0;
	}
}

/* ---------------------------------------------------------- output */

/*
 * The memory a client's replies hold, sent or not: its socket's output
 * buffer and the round's replies, counted as buf_mem() does
 * (tickd.conf(5) max_output_bytes).
 */
static size_t
rc_output_held(struct rclient *rc)
{
	size_t	n;

	n = buf_mem(bufferevent_get_output(rc->c->bev)) + buf_mem(rc->ok);
	if (rc->fail != NULL)
		n += buf_mem(rc->fail);
	return (n);
}

/*
 * Sends the round's replies: now, or after the commit if a batch is open,
 * with the fail form for a failed commit.  A client that has not read
 * what it was sent before, up to max_output_bytes of memory, is closed.
 */
void
resp_flush(struct rclient *rc)
{
	struct conn	*c = rc->c;
	struct evbuffer	*output;
	size_t		 len, flen = 0;
	char		*ok, *fail = NULL;

	len = evbuffer_get_length(rc->ok);
	if (len == 0 || c->dead) {
		evbuffer_drain(rc->ok, len);
		goto out;
	}
	output = bufferevent_get_output(c->bev);
	if (rc_output_held(rc) > srv.conf.max_output_bytes) {
		log_info("resp: %s is not reading; closed at max_output_bytes",
		    c->addr);
		evbuffer_drain(rc->ok, len);
		conn_free_later(c);
		goto out;
	}
	if (conn_must_defer()) {
		ok = xmalloc(len);
		evbuffer_remove(rc->ok, ok, len);
		if (rc->fail != NULL) {
			flen = evbuffer_get_length(rc->fail);
			fail = xmalloc(flen);
			evbuffer_remove(rc->fail, fail, flen);
		}
		batch_defer(c, ok, len, fail, flen);
	} else if (resp_buf_move(output, rc->ok) != 0)
		conn_free_later(c);
out:
	if (rc->fail != NULL)
		evbuffer_free(rc->fail);
	rc->fail = NULL;
}

/*
 * Stops reading a client whose replies pile up (above half of
 * max_output_bytes of memory); its write callback resumes it once they
 * left.
 */
static int
rc_backlogged(struct rclient *rc)
{
	struct conn	*c = rc->c;

	if (rc_output_held(rc) <= srv.conf.max_output_bytes / 2)
		return (0);
	rc->paused = 1;
	bufferevent_disable(c->bev, EV_READ);
	return (1);
}

/* ---------------------------------------------------------- input */

/* Parses and runs what the query buffer holds, then sends the replies. */
void
resp_process(struct rclient *rc)
{
	struct conn	*c = rc->c;
	const char	*err = NULL;
	int		 r;

	while (!rc->blocked && !rc->quit && !c->dead && !c->closing &&
	    rc->qpos < rc->qlen && !rc_backlogged(rc)) {
		if (rc->reqtype == REQ_NONE)
			rc->reqtype = rc->qb[rc->qpos] == '*' ?
			    REQ_MULTIBULK : REQ_INLINE;
		if (rc->reqtype == REQ_INLINE)
			r = rc_parse_inline(rc, &err);
		else
			r = rc_parse_multibulk(rc, &err);
		if (r == PARSE_MORE)
			break;
		if (r != PARSE_DONE) {
			rc->out = rc->ok;
			resp_add_errorf(rc, "%s", err);
			log_debug("resp: %s: protocol error", c->addr);
			rc->quit = 1;
			break;
		}
		if (rc->argc > 0)
			rc_dispatch(rc);
		rc_args_reset(rc);
	}
	if (rc->qpos == rc->qlen) {
		rc->qpos = rc->qlen = 0;
		/* A big command's buffer is not kept once it ran. */
		if (rc->qcap > RESP_READ_MAX) {
			free(rc->qb);
			rc->qb = NULL;
			rc->qcap = 0;
		}
	}
	resp_flush(rc);
	if (rc->quit && !c->dead)
		conn_close_after_output(c);
}

/*
 * The memory a client's input holds once n more bytes are in: the query
 * buffer as allocated, the arguments parsed and the commands queued by
 * MULTI, each with its allocation (tickd.conf(5) resp_max_query).
 */
static size_t
rc_query_held(struct rclient *rc, size_t n)
{
	size_t	buf = rc->qlen - rc->qpos + n;

	if (buf < rc->qcap)
		buf = rc->qcap;
	return (buf + rc->argbytes + rc->queuedbytes);
}

/*
 * Gives back the part of the query buffer already parsed (its arguments
 * hold a copy) before the client is judged against resp_max_query, so
 * that an argument of resp_max_bulk is not counted twice.
 */
static void
rc_query_compact(struct rclient *rc, size_t n)
{
	size_t	need;

	if (rc->qpos == 0)
		return;
	memmove(rc->qb, rc->qb + rc->qpos, rc->qlen - rc->qpos);
	rc->qlen -= rc->qpos;
	rc->qpos = 0;
	need = rc->qlen + n < RESP_READ_MAX ? RESP_READ_MAX : rc->qlen + n;
	if (rc->qcap > need) {
		rc->qb = xrealloc(rc->qb, need);
		rc->qcap = need;
	}
}

/*
 * Moves input into the query buffer and runs it, RESP_READ_MAX bytes at a
 * time as Redis reads it, so that its limits on lines without an end are
 * met at the same points.  A client holding more than resp_max_query is
 * closed, as Redis closes one over client-query-buffer-limit.
 */
static void
rc_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;
	struct rclient	*rc = c->resp;
	struct evbuffer	*in = bufferevent_get_input(bev);
	size_t		 n;

	while ((n = evbuffer_get_length(in)) > 0 && !c->dead && !c->closing) {
		if (!rc->blocked && !rc->paused && n > RESP_READ_MAX)
			n = RESP_READ_MAX;
		if (rc_query_held(rc, n) > srv.conf.resp_max_query)
			rc_query_compact(rc, n);
		if (rc_query_held(rc, n) > srv.conf.resp_max_query) {
			log_info("resp: %s: query buffer over resp_max_query; "
			    "closed", c->addr);
			evbuffer_drain(in, evbuffer_get_length(in));
			conn_free_later(c);
			return;
		}
		if (rc->qpos > 0 && rc->qpos == rc->qlen)
			rc->qpos = rc->qlen = 0;
		if (rc->qpos > 0 && rc->qlen + n > rc->qcap) {
			memmove(rc->qb, rc->qb + rc->qpos, rc->qlen - rc->qpos);
			rc->qlen -= rc->qpos;
			rc->qpos = 0;
		}
		if (rc->qlen + n > rc->qcap) {
			rc->qcap = rc->qlen + n < RESP_READ_MAX ?
			    RESP_READ_MAX : rc->qlen + n;
			rc->qb = xrealloc(rc->qb, rc->qcap);
		}
		evbuffer_remove(in, rc->qb + rc->qlen, n);
		rc->qlen += n;
		if (!rc->blocked && !rc->paused)
			resp_process(rc);
	}
}

/* Output drained: resume a paused client, or finish closing. */
static void
rc_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;
	struct rclient	*rc = c->resp;

	(void)bev;
	if (rc->paused && !c->closing && !c->dead) {
		rc->paused = 0;
		bufferevent_enable(c->bev, EV_READ);
		if (!rc->blocked)
			resp_process(rc);
	}
	conn_check_closing(c);
}

/* EOF or an error on the socket: the client goes. */
static void
rc_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	/* A TLS handshake that completed is not an end. */
	if (what & BEV_EVENT_CONNECTED)
		return;
	conn_free_later(arg);
}

/* ---------------------------------------------------------- commands */

/* The flags Redis's COMMAND INFO shows, from ours. */
static void
add_cmd_flags(struct rclient *rc, const struct rcmd *cmd)
{
	int	n = 0;

	n += (cmd->flags & RC_WRITE) != 0;
	n += (cmd->flags & RC_NOAUTH) != 0;
	n += (cmd->flags & RC_BLOCKING) != 0;
	resp_add_set(rc, n);
	if (cmd->flags & RC_WRITE)
		resp_add_status(rc, "write");
	if (cmd->flags & RC_NOAUTH)
		resp_add_status(rc, "no_auth");
	if (cmd->flags & RC_BLOCKING)
		resp_add_status(rc, "blocking");
}

/*
 * One command's COMMAND INFO entry: name, arity, flags, key positions,
 * then empty categories, tips and key specs, and its subcommands.
 */
static void
add_cmd_info(struct rclient *rc, const struct rcmd *cmd,
    const struct rcmd *parent)
{
	char	full[64];
	size_t	i;

	cmd_fullname(cmd, parent, full, sizeof full);
	resp_add_array(rc, 10);
	resp_add_str(rc, full);
	resp_add_int(rc, cmd->arity);
	add_cmd_flags(rc, cmd);
	resp_add_int(rc, 0);
	resp_add_int(rc, 0);
	resp_add_int(rc, 0);
	resp_add_set(rc, 0);
	resp_add_array(rc, 0);
	resp_add_array(rc, 0);
	resp_add_array(rc, (long long)cmd->nsub);
	for (i = 0; i < cmd->nsub; i++)
		add_cmd_info(rc, &cmd->sub[i], cmd);
}

/* COMMAND: every command's info. */
static void
resp_command(struct rclient *rc, int argc, struct rarg *argv)
{
	size_t	i;

	(void)argc; (void)argv;
	resp_add_array(rc, NCMDS);
	for (i = 0; i < NCMDS; i++)
		add_cmd_info(rc, &resp_cmds[i], NULL);
}

/* COMMAND COUNT */
static void
resp_command_count(struct rclient *rc, int argc, struct rarg *argv)
{
	(void)argc; (void)argv;
	resp_add_int(rc, NCMDS);
}

/* COMMAND INFO [name ...]: nil for a name that is no command. */
static void
resp_command_info(struct rclient *rc, int argc, struct rarg *argv)
{
	const struct rcmd	*cmd;
	int			 j;

	if (argc == 2) {
		resp_command(rc, argc, argv);
		return;
	}
	resp_add_array(rc, argc - 2);
	for (j = 2; j < argc; j++) {
		if ((cmd = cmd_find(resp_cmds, NCMDS, &argv[j])) == NULL)
			resp_add_null_array(rc);
		else
			add_cmd_info(rc, cmd, NULL);
	}
}

/* COMMAND LIST: the names, without Redis's FILTERBY. */
static void
resp_command_list(struct rclient *rc, int argc, struct rarg *argv)
{
	size_t	i;

	if (argc > 2) {
		resp_add_err(rc, RESP_ERR_SYNTAX);
		return;
	}
	(void)argv;
	resp_add_array(rc, NCMDS);
	for (i = 0; i < NCMDS; i++)
		resp_add_str(rc, resp_cmds[i].name);
}

/* COMMAND DOCS: minimal, as tickd-resp(7) COMMANDS allows; an empty map. */
static void
resp_command_docs(struct rclient *rc, int argc, struct rarg *argv)
{
	(void)argc; (void)argv;
	resp_add_map(rc, 0);
}

/* COMMAND HELP, for the subcommands tickd has. */
static void
resp_command_help(struct rclient *rc, int argc, struct rarg *argv)
{
	static const char *const help[] = {
		"(no subcommand)",
		"    Return details about all commands.",
		"COUNT",
		"    Return the total number of commands.",
		"DOCS [<command-name> ...]",
		"    Return an empty map: tickd keeps no command docs.",
		"INFO [<command-name> ...]",
		"    Return details about the given commands.",
		"LIST",
		"    Return the names of all commands.",
		NULL
	};

	(void)argc; (void)argv;
	resp_add_help(rc, "COMMAND", help);
}

/*
 * INFO [section ...]: the sections a Redis client looks at, with
 * redis_version first; an unknown section is empty, as in Redis.
 */
static void
resp_info(struct rclient *rc, int argc, struct rarg *argv)
{
	struct evbuffer	*b;
	int		 j, all = argc == 1, server = 0, clients = 0;

	for (j = 1; j < argc; j++) {
		if (resp_arg_is(&argv[j], "all") ||
		    resp_arg_is(&argv[j], "default") ||
		    resp_arg_is(&argv[j], "everything"))
			all = 1;
		else if (resp_arg_is(&argv[j], "server"))
			server = 1;
		else if (resp_arg_is(&argv[j], "clients"))
			clients = 1;
	}
	if ((b = evbuffer_new()) == NULL)
		fatalx("resp: out of memory");
	if (all || server)
		evbuffer_add_printf(b, "# Server\r\nredis_version:%s\r\n"
		    "redis_mode:standalone\r\ntickd_version:%s\r\n"
		    "process_id:%ld\r\ntcp_port:%s\r\n"
		    "uptime_in_seconds:%llu\r\n",
		    RESP_REDIS_VERSION, PACKAGE_VERSION, (long)getpid(),
		    strrchr(srv.conf.resp_listen, ':') + 1,
		    (unsigned long long)((now_ms() - resp_started) / 1000));
	if (all || clients)
		evbuffer_add_printf(b, "%s# Clients\r\nconnected_clients:%llu"
		    "\r\nblocked_clients:%llu\r\n",
		    evbuffer_get_length(b) != 0 ? "\r\n" : "",
		    (unsigned long long)resp_nclients,
		    (unsigned long long)resp_block_count());
	resp_add_verbatim(rc, (const char *)evbuffer_pullup(b, -1),
	    evbuffer_get_length(b));
	evbuffer_free(b);
}

/* ---------------------------------------------------------- life */

/* A new RESP client, unless resp_max_clients are connected. */
static void
resp_accept(evutil_socket_t fd, struct sockaddr *sa, int salen, int arg)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	struct conn			*c;
	struct rclient			*rc;
	SSL				*ssl = NULL;
	char				 host[INET6_ADDRSTRLEN];
	char				 addr[INET6_ADDRSTRLEN + 8];
	int				 one = 1;

	(void)salen; (void)arg;
	if (resp_nclients >= srv.conf.resp_max_clients) {
		/* As Redis does: say why (if the socket takes it), close. */
		if (write(fd, RESP_MAXCLIENTS, strlen(RESP_MAXCLIENTS)) == -1)
			log_debug("resp: write to a refused client: %s",
			    strerror(errno));
		evutil_closesocket(fd);
		return;
	}
	c = xcalloc(1, sizeof *c);
	host[0] = addr[0] = '\0';
	if (sa->sa_family == AF_INET) {
		sin = (const void *)sa;
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof host);
		snprintf(addr, sizeof addr, "%s:%u", host,
		    ntohs(sin->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		sin6 = (const void *)sa;
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof host);
		snprintf(addr, sizeof addr, "[%s]:%u", host,
		    ntohs(sin6->sin6_port));
	}
	/* Counted in max_connections like every kind (tickd.conf(5)). */
	conn_set_peer(c, addr, host);
	if (!limit_conn_open(c->ip)) {
		srv.stats.conns_refused++;
		if (write(fd, RESP_MAXCLIENTS, strlen(RESP_MAXCLIENTS)) == -1)
			log_debug("resp: write to a refused client: %s",
			    strerror(errno));
		evutil_closesocket(fd);
		conn_addr_free(c);
		free(c);
		return;
	}
	c->counted = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (tls_resp_enabled()) {
		c->tls = 1;
		if ((ssl = tls_resp_new()) != NULL)
			c->bev = bufferevent_openssl_socket_new(srv.base, fd,
			    ssl, BUFFEREVENT_SSL_ACCEPTING,
			    BEV_OPT_CLOSE_ON_FREE);
	} else
		c->bev = bufferevent_socket_new(srv.base, fd,
		    BEV_OPT_CLOSE_ON_FREE);
	conn_link(c);
	if (c->bev == NULL) {
		log_warnx("resp: out of resources for %s", c->addr);
		if (ssl != NULL)
			SSL_free(ssl);
		evutil_closesocket(fd);
		conn_free_later(c);
		return;
	}
	rc = xcalloc(1, sizeof *rc);
	rc->c = c;
	rc->bulklen = -1;
	rc->authed = srv.conf.resp_password == NULL;
	if ((rc->ok = evbuffer_new()) == NULL ||
	    (rc->cmdout = evbuffer_new()) == NULL)
		fatalx("resp: out of memory");
	rc->out = rc->ok;
	c->resp = rc;
	resp_nclients++;
	bufferevent_setcb(c->bev, rc_read_cb, rc_write_cb, rc_event_cb, c);
	bufferevent_enable(c->bev, EV_READ);
}

/* A connection to resp_listen: its PROXY header first, if configured. */
static void
resp_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	(void)l; (void)arg;
	if (srv.conf.resp_proxy_protocol)
		proxy_conn_accept(fd, sa, salen, "resp", resp_accept, 0);
	else
		resp_accept(fd, sa, salen, 0);
}

/* accept(2) failed (EMFILE...): every listener backs off. */
static void
resp_accept_error_cb(struct evconnlistener *l, void *arg)
{
	(void)arg;
	server_accept_failed(l, "resp");
}

/* Releases a RESP client's state; server.c's conn_reap() calls it. */
void
resp_free(struct conn *c)
{
	struct rclient	*rc = c->resp;

	if (rc == NULL)
		return;
	resp_block_free(rc);
	resp_rtxn_end(rc);
	rc_args_reset(rc);
	resp_multi_clear(rc);
	free(rc->qb);
	free(rc->name);
	evbuffer_free(rc->ok);
	evbuffer_free(rc->cmdout);
	if (rc->fail != NULL)
		evbuffer_free(rc->fail);
	free(rc);
	c->resp = NULL;
	resp_nclients--;
}

/*
 * Binds resp_listen if it is set.  conf_load() has already refused a
 * non-loopback address without resp_password.
 */
int
resp_init(char **cause)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	char			*why;
	size_t			 i;

	for (i = 1; i < NCMDS; i++) {
		if (strcmp(resp_cmds[i - 1].name, resp_cmds[i].name) >= 0)
			fatalx("resp: command table not sorted at %s",
			    resp_cmds[i].name);
	}
	resp_started = now_ms();
	if (srv.conf.resp_listen == NULL)
		return (0);
	if (conf_address(srv.conf.resp_listen, &ss, &len, &why) != 0) {
		xasprintf(cause, "resp_listen: %s", why);
		free(why);
		return (-1);
	}
	resp_listener = evconnlistener_new_bind(srv.base, resp_accept_cb, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    1024, (struct sockaddr *)&ss, (int)len);
	if (resp_listener == NULL) {
		xasprintf(cause, "cannot listen on %s (resp_listen): %s",
		    srv.conf.resp_listen, strerror(errno));
		return (-1);
	}
	evconnlistener_set_error_cb(resp_listener, resp_accept_error_cb);
	log_info("resp: serving RESP on %s", srv.conf.resp_listen);
	return (0);
}

/* Stops accepting RESP clients, when the server drains. */
void
resp_drain(void)
{
	if (resp_listener != NULL)
		evconnlistener_disable(resp_listener);
}

/* Frees the listener; every client has been reaped by now. */
void
resp_shutdown(void)
{
	resp_block_shutdown();
	if (resp_listener != NULL)
		evconnlistener_free(resp_listener);
	resp_listener = NULL;
}

/* Connected RESP clients, for /metrics. */
uint64_t
resp_clients(void)
{
	return (resp_nclients);
}
