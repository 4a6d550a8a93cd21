/* SPDX-License-Identifier: ISC */
/*
 * resp-reply.c: the RESP shim's reply writer, RESP2 or RESP3 as the
 * client chose with HELLO (tickd-resp(7)): every reply a command gives
 * goes through these, into the client's buffer of the running command.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "tickd.h"

/* Error replies shared by the handlers, as Redis's shared objects. */
static const char *const resp_errs[] = {
	[RESP_ERR_SYNTAX] = "-ERR syntax error",
	[RESP_ERR_NOTINT] = "-ERR value is not an integer or out of range",
	[RESP_ERR_WRONGTYPE] = "-WRONGTYPE Operation against a key holding "
	    "the wrong kind of value",
	[RESP_ERR_BADID] = "-ERR Invalid stream ID specified as stream "
	    "command argument",
	[RESP_ERR_NOKEY] = "-ERR no such key",
	[RESP_ERR_STORE] = "-ERR store error",
	[RESP_ERR_FULL] = "-ERR store full: raise map_size",
	[RESP_ERR_DOLLAR] = "-ERR The $ ID is meaningless in the context of "
	    "XREADGROUP: you want to read the history of this consumer by "
	    "specifying a proper ID, or use the > ID to get new messages. The "
	    "$ ID would just return an empty result set.",
	[RESP_ERR_GT] = "-ERR The > ID can be specified only when calling "
	    "XREADGROUP using the GROUP <group> <consumer> option.",
};

/*
 * Moves what src holds to the end of dst, copied with buf_add() so that
 * replies share full chains: moved as they are, each reply would keep a
 * chain of a kilobyte or more, 150 times a 7-byte +PONG (tickd.conf(5)
 * max_output_bytes).  -1 when out of memory.
 */
int
resp_buf_move(struct evbuffer *dst, struct evbuffer *src)
{
	char	buf[BUF_PIECE];
	int	n;

	while ((n = evbuffer_remove(src, buf, sizeof buf)) > 0) {
		if (buf_add(dst, buf, (size_t)n) != 0)
			return (-1);
	}
	return (n < 0 ? -1 : 0);
}

/* Appends a line "<type><n>\r\n". */
static void
add_len(struct rclient *rc, char type, long long n)
{
	char	buf[32];
	int	len;

	len = snprintf(buf, sizeof buf, "%c%lld\r\n", type, n);
	evbuffer_add(rc->out, buf, (size_t)len);
}

/* Whether the client asked for RESP3 with HELLO 3. */
int
resp_is3(struct rclient *rc)
{
	return (rc->resp3);
}

/* Appends bytes that are already a RESP reply. */
void
resp_add_raw(struct rclient *rc, const char *p, size_t len)
{
	evbuffer_add(rc->out, p, len);
}

/* A status reply such as +OK. */
void
resp_add_status(struct rclient *rc, const char *s)
{
	evbuffer_add_printf(rc->out, "+%s\r\n", s);
}

/* The +OK status. */
void
resp_add_ok(struct rclient *rc)
{
	evbuffer_add(rc->out, "+OK\r\n", 5);
}

/*
 * An error reply.  As Redis's addReplyError: text starting with '-' keeps
 * its own first word, other text gets "ERR"; CR and LF become spaces.
 */
void
resp_add_errorf(struct rclient *rc, const char *fmt, ...)
{
	va_list	 ap;
	char	*s, *p;
	int	 n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n == -1)
		fatal("vasprintf");
	for (p = s; *p != '\0'; p++) {
		if (*p == '\r' || *p == '\n')
			*p = ' ';
	}
	if (s[0] == '-')
		evbuffer_add_printf(rc->out, "%s\r\n", s);
	else
		evbuffer_add_printf(rc->out, "-ERR %s\r\n", s);
	free(s);
}

/* One of the shared errors. */
void
resp_add_err(struct rclient *rc, enum resp_err e)
{
	evbuffer_add_printf(rc->out, "%s\r\n", resp_errs[e]);
}

/* The error for a store failure (STORE_FULL or STORE_ERR). */
void
resp_add_store_error(struct rclient *rc, int ret)
{
	resp_add_err(rc, ret == STORE_FULL ? RESP_ERR_FULL : RESP_ERR_STORE);
}

/* An integer reply. */
void
resp_add_int(struct rclient *rc, long long n)
{
	add_len(rc, ':', n);
}

/* A bulk string of any bytes. */
void
resp_add_bulk(struct rclient *rc, const void *p, size_t len)
{
	add_len(rc, '$', (long long)len);
	evbuffer_add(rc->out, p, len);
	evbuffer_add(rc->out, "\r\n", 2);
}

/* A C string as a bulk string. */
void
resp_add_str(struct rclient *rc, const char *s)
{
	resp_add_bulk(rc, s, strlen(s));
}

/* A number as a bulk string, as Redis's addReplyBulkLongLong. */
void
resp_add_bulk_int(struct rclient *rc, long long n)
{
	char	buf[32];
	int	len;

	len = snprintf(buf, sizeof buf, "%lld", n);
	resp_add_bulk(rc, buf, (size_t)len);
}

/* A stream id as a bulk string. */
void
resp_add_mid(struct rclient *rc, const struct mid *id)
{
	char	buf[MID_STRLEN + 1];

	resp_add_bulk(rc, buf, mid_format(id, buf));
}

/* The nil bulk string ($-1), or RESP3's null. */
void
resp_add_null(struct rclient *rc)
{
	if (rc->resp3)
		evbuffer_add(rc->out, "_\r\n", 3);
	else
		evbuffer_add(rc->out, "$-1\r\n", 5);
}

/* The nil array (*-1), or RESP3's null. */
void
resp_add_null_array(struct rclient *rc)
{
	if (rc->resp3)
		evbuffer_add(rc->out, "_\r\n", 3);
	else
		evbuffer_add(rc->out, "*-1\r\n", 5);
}

/* The header of an array of n replies. */
void
resp_add_array(struct rclient *rc, long long n)
{
	add_len(rc, '*', n);
}

/* A map of n pairs: RESP3's %, a flat array of 2n in RESP2. */
void
resp_add_map(struct rclient *rc, long long n)
{
	if (rc->resp3)
		add_len(rc, '%', n);
	else
		add_len(rc, '*', n * 2);
}

/* A set: RESP3's ~, an array in RESP2. */
void
resp_add_set(struct rclient *rc, long long n)
{
	add_len(rc, rc->resp3 ? '~' : '*', n);
}

/* Text for humans: RESP3's verbatim string, a bulk string in RESP2. */
void
resp_add_verbatim(struct rclient *rc, const char *s, size_t len)
{
	if (!rc->resp3) {
		resp_add_bulk(rc, s, len);
		return;
	}
	add_len(rc, '=', (long long)len + 4);
	evbuffer_add(rc->out, "txt:", 4);
	evbuffer_add(rc->out, s, len);
	evbuffer_add(rc->out, "\r\n", 2);
}

/*
 * Collects the replies that follow, for an aggregate whose length is known
 * only at its end (Redis's addReplyDeferredLen).  Returns what
 * resp_nest_end() needs.
 */
struct evbuffer *
resp_nest(struct rclient *rc)
{
	struct evbuffer	*saved = rc->out;

	if ((rc->out = evbuffer_new()) == NULL)
		fatalx("resp: out of memory");
	return (saved);
}

/*
 * Ends resp_nest(): the aggregate's header (none for type 0), then what
 * was collected.
 */
void
resp_nest_end(struct rclient *rc, struct evbuffer *saved, char type,
    long long n)
{
	struct evbuffer	*inner = rc->out;

	rc->out = saved;
	if (type == '%' && !rc->resp3) {
		type = '*';
		n *= 2;
	} else if (type == '~' && !rc->resp3)
		type = '*';
	if (type != 0)
		add_len(rc, type, n);
	if (resp_buf_move(rc->out, inner) != 0)
		fatalx("resp: out of memory");
	evbuffer_free(inner);
}

/* Ends resp_nest() dropping what was collected, to reply an error. */
void
resp_nest_abort(struct rclient *rc, struct evbuffer *saved)
{
	evbuffer_free(rc->out);
	rc->out = saved;
}

/* Lines of help as status replies, as Redis's addReplyHelp(). */
void
resp_add_help(struct rclient *rc, const char *cmd, const char *const *lines)
{
	struct evbuffer	*saved;
	long long	 n = 0;

	saved = resp_nest(rc);
	evbuffer_add_printf(rc->out, "+%s <subcommand> [<arg> [value] [opt] "
	    "...]. Subcommands are:\r\n", cmd);
	n++;
	for (; *lines != NULL; lines++, n++)
		resp_add_status(rc, *lines);
	resp_add_status(rc, "HELP");
	resp_add_status(rc, "    Prints this help.");
	resp_nest_end(rc, saved, '*', n + 2);
}
