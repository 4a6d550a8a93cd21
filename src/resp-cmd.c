/* SPDX-License-Identifier: ISC */
/*
 * resp-cmd.c: the RESP shim's key, string and set commands (tickd-resp(7)
 * COMMANDS), and the parts of the chat views that are not streams (blocked:
 * and lastseen:, tickd-resp(7) THE CHAT VIEWS).  Replies follow redis-server
 * 7.0 word for word.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "tickd.h"

#define SCAN_COUNT	10		/* SCAN's default COUNT */

/* What a scan collects: up to count keys, then where to go on. */
struct scan {
	struct txn	*txn;
	struct evbuffer	*keys;		/* bulk strings of the keys kept */
	struct rclient	*rc;
	long long	 count;
	long long	 seen, kept;
	uint64_t	 next;		/* rid to go on from, 0: done */
	const char	*pat;
	size_t		 patlen;
	int		 type;		/* RTYPE_*, 0: any, -1: none */
	uint64_t	 now;
};

/* What a set or block walk collects. */
struct members {
	struct rclient	*rc;
	long long	 n;
};

/* Block walk callback: stops at the first. */
static int
any_block(void *arg, const char *name)
{
	(void)name;
	*(int *)arg = 1;
	return (STORE_WALK_STOP);
}

/*
 * lastseen:USER: the last-seen time as GET shows it, or 0 for nil (never
 * seen, online, or no such user).  Returns a store error, else STORE_OK.
 */
static int
lastseen(struct txn *txn, const char *user, uint64_t *ms)
{
	struct user_rec	u;
	int		ret;

	*ms = 0;
	if ((ret = store_user_get(txn, user, &u)) == STORE_NOTFOUND)
		return (STORE_OK);
	if (ret != STORE_OK)
		return (ret);
	if (!presence_online(user))
		*ms = u.last_seen;
	return (STORE_OK);
}

/* Whether a view exists as EXISTS and TYPE see it. */
static int
view_exists(struct rclient *rc, struct txn *txn, enum resp_view v,
    const char *user, const char *device, int *exists)
{
	struct user_rec	u;
	struct dev_rec	d;
	uint64_t	ms;
	int		ret = STORE_OK;

	*exists = 0;
	switch (v) {
	case RV_INBOX:
		ret = store_user_get(txn, user, &u);
		*exists = ret == STORE_OK;
		break;
	case RV_QUEUE:
		ret = store_device_get(txn, user, device, &d);
		*exists = ret == STORE_OK;
		break;
	case RV_BLOCKED:
		ret = store_block_walk(txn, user, any_block, exists);
		break;
	case RV_LASTSEEN:
		ret = lastseen(txn, user, &ms);
		*exists = ms != 0;
		break;
	default:
		break;
	}
	if (ret != STORE_OK && ret != STORE_NOTFOUND) {
		resp_add_store_error(rc, ret);
		return (ret);
	}
	return (STORE_OK);
}

/* DEL key [key ...]: views cannot be deleted; nothing is if one is. */
void
resp_cmd_del(struct rclient *rc, int argc, struct rarg *argv)
{
	struct rkey_rec	 r;
	struct txn	*txn;
	long long	 n = 0;
	int		 j, ret;

	for (j = 1; j < argc; j++) {
		if (resp_view_refuse(rc, &argv[j]))
			return;
	}
	if ((txn = resp_txn(rc, 1)) == NULL)
		return;
	for (j = 1; j < argc; j++) {
		if ((ret = resp_lookup(rc, txn, &argv[j], &r)) ==
		    STORE_NOTFOUND)
			continue;
		if (ret != STORE_OK)
			return;
		if ((ret = resp_key_drop(txn, argv[j].p, argv[j].len, &r)) !=
		    STORE_OK) {
			resp_add_store_error(rc, ret);
			return;
		}
		n++;
	}
	resp_add_int(rc, n);
}

/* EXISTS key [key ...]: a key named twice counts twice. */
void
resp_cmd_exists(struct rclient *rc, int argc, struct rarg *argv)
{
	char		 user[NAME_USER_MAX + 1], device[NAME_DEVICE_MAX + 1];
	struct rkey_rec	 r;
	struct txn	*txn;
	enum resp_view	 v;
	long long	 n = 0;
	int		 j, ret, exists;

	if ((txn = resp_txn(rc, 0)) == NULL)
		return;
	for (j = 1; j < argc; j++) {
		v = resp_view(&argv[j], user, device);
		if (v != RV_NONE) {
			if (view_exists(rc, txn, v, user, device, &exists) !=
			    STORE_OK)
				return;
			n += exists;
			continue;
		}
		if ((ret = resp_lookup(rc, txn, &argv[j], &r)) == STORE_OK)
			n++;
		else if (ret != STORE_NOTFOUND)
			return;
	}
	resp_add_int(rc, n);
}

/* The TYPE name of a key type. */
static const char *
type_name(int type)
{
	switch (type) {
	case RTYPE_STRING:
		return ("string");
	case RTYPE_SET:
		return ("set");
	case RTYPE_STREAM:
		return ("stream");
	}
	return ("none");
}

/* TYPE key; a view has the type of what it shows. */
void
resp_cmd_type(struct rclient *rc, int argc, struct rarg *argv)
{
	static const int view_types[] = {
		[RV_INBOX] = RTYPE_STREAM,
		[RV_QUEUE] = RTYPE_STREAM,
		[RV_BLOCKED] = RTYPE_SET,
		[RV_LASTSEEN] = RTYPE_STRING,
	};
	char		 user[NAME_USER_MAX + 1], device[NAME_DEVICE_MAX + 1];
	struct rkey_rec	 r;
	struct txn	*txn;
	enum resp_view	 v;
	int		 ret, exists;

	(void)argc;
	if ((txn = resp_txn(rc, 0)) == NULL)
		return;
	v = resp_view(&argv[1], user, device);
	if (v == RV_BAD) {
		resp_add_status(rc, "none");
		return;
	}
	if (v != RV_NONE) {
		if (view_exists(rc, txn, v, user, device, &exists) == STORE_OK)
			resp_add_status(rc, exists ? type_name(view_types[v]) :
			    "none");
		return;
	}
	if ((ret = resp_lookup(rc, txn, &argv[1], &r)) == STORE_OK)
		resp_add_status(rc, type_name(r.type));
	else if (ret == STORE_NOTFOUND)
		resp_add_status(rc, "none");
}

/*
 * Redis's glob-style stringmatchlen(): * ? [abc] [^a-z] and \ quoting,
 * byte for byte.
 */
static int
glob_match(const char *p, size_t plen, const char *s, size_t slen,
    int *skip_longer)
{
	int	not, match, start, end, c;

	while (plen > 0 && slen > 0) {
		switch (p[0]) {
		case '*':
			while (plen > 1 && p[1] == '*') {
				p++;
				plen--;
			}
			if (plen == 1)
				return (1);
			while (slen > 0) {
				if (glob_match(p + 1, plen - 1, s, slen,
				    skip_longer))
					return (1);
				if (*skip_longer)
					return (0);
				s++;
				slen--;
			}
			*skip_longer = 1;
			return (0);
		case '?':
			s++;
			slen--;
			break;
		case '[':
			p++;
			plen--;
			not = plen > 0 && p[0] == '^';
			if (not) {
				p++;
				plen--;
			}
			match = 0;
			for (;;) {
				if (plen >= 2 && p[0] == '\\') {
					p++;
					plen--;
					if (p[0] == s[0])
						match = 1;
				} else if (plen == 0) {
					p--;
					plen++;
					break;
				} else if (p[0] == ']')
					break;
				else if (plen >= 3 && p[1] == '-') {
					start = (unsigned char)p[0];
					end = (unsigned char)p[2];
					c = (unsigned char)s[0];
					if (start > end) {
						int t = start;

						start = end;
						end = t;
					}
					p += 2;
					plen -= 2;
					if (c >= start && c <= end)
						match = 1;
				} else if (p[0] == s[0])
					match = 1;
				p++;
				plen--;
			}
			if (not)
				match = !match;
			if (!match)
				return (0);
			s++;
			slen--;
			break;
		case '\\':
			if (plen >= 2) {
				p++;
				plen--;
			}
			/* FALLTHROUGH */
		default:
			if (p[0] != s[0])
				return (0);
			s++;
			slen--;
			break;
		}
		p++;
		plen--;
		if (slen == 0) {
			while (plen > 0 && p[0] == '*') {
				p++;
				plen--;
			}
			break;
		}
	}
	return (plen == 0 && slen == 0);
}

/* SCAN index walk callback: keeps keys that pass MATCH and TYPE. */
static int
scan_fn(void *arg, uint64_t rid, const void *key, size_t len)
{
	struct scan	*sc = arg;
	struct rkey_rec	 r;
	int		 skip = 0, ret;

	if (sc->seen == sc->count) {
		sc->next = rid;
		return (STORE_WALK_STOP);
	}
	sc->seen++;
	ret = store_rkey_get(sc->txn, key, len, &r);
	if (ret != STORE_OK)
		return (ret == STORE_NOTFOUND ? STORE_WALK_NEXT :
		    STORE_WALK_STOP);
	if (r.expires != 0 && r.expires <= sc->now)
		return (STORE_WALK_NEXT);
	if (sc->type != 0 && sc->type != r.type)
		return (STORE_WALK_NEXT);
	if (sc->pat != NULL && !glob_match(sc->pat, sc->patlen, key, len,
	    &skip))
		return (STORE_WALK_NEXT);
	evbuffer_add_printf(sc->keys, "$%zu\r\n", len);
	evbuffer_add(sc->keys, key, len);
	evbuffer_add(sc->keys, "\r\n", 2);
	sc->kept++;
	return (STORE_WALK_NEXT);
}

/*
 * SCAN cursor [MATCH pattern] [COUNT count] [TYPE type].  The cursor is a
 * key's rid: keys are walked in the order they were created, so a key
 * there for the whole scan is returned exactly once.  The chat views are
 * not listed.
 */
void
resp_cmd_scan(struct rclient *rc, int argc, struct rarg *argv)
{
	struct scan	 sc;
	struct txn	*txn;
	struct evbuffer	*saved;
	unsigned long long cursor;
	char		*end, buf[32];
	int		 j, ret;

	if (argv[1].p[0] == ' ' || argv[1].p[0] == '\t' ||
	    argv[1].p[0] == '\n' || argv[1].p[0] == '\r' ||
	    argv[1].p[0] == '\v' || argv[1].p[0] == '\f') {
		resp_add_errorf(rc, "invalid cursor");
		return;
	}
	errno = 0;
	cursor = strtoull(argv[1].p, &end, 10);
	if (*end != '\0' || errno == ERANGE) {
		resp_add_errorf(rc, "invalid cursor");
		return;
	}
	memset(&sc, 0, sizeof sc);
	sc.count = SCAN_COUNT;
	for (j = 2; j < argc; j += 2) {
		if (resp_arg_is(&argv[j], "count") && argc - j >= 2) {
			if (resp_arg_ll(rc, &argv[j + 1], &sc.count, NULL) !=
			    0)
				return;
			if (sc.count < 1) {
				resp_add_err(rc, RESP_ERR_SYNTAX);
				return;
			}
		} else if (resp_arg_is(&argv[j], "match") && argc - j >= 2) {
			sc.pat = argv[j + 1].p;
			sc.patlen = argv[j + 1].len;
			if (sc.patlen == 1 && sc.pat[0] == '*')
				sc.pat = NULL;
		} else if (resp_arg_is(&argv[j], "type") && argc - j >= 2) {
			if (strcasecmp(argv[j + 1].p, "string") == 0)
				sc.type = RTYPE_STRING;
			else if (strcasecmp(argv[j + 1].p, "set") == 0)
				sc.type = RTYPE_SET;
			else if (strcasecmp(argv[j + 1].p, "stream") == 0)
				sc.type = RTYPE_STREAM;
			else
				sc.type = -1;
		} else {
			resp_add_err(rc, RESP_ERR_SYNTAX);
			return;
		}
	}
	if ((txn = resp_txn(rc, 0)) == NULL)
		return;
	sc.txn = txn;
	sc.rc = rc;
	sc.now = now_ms();
	if ((sc.keys = evbuffer_new()) == NULL)
		fatalx("resp: out of memory");
	ret = store_rkey_walk(txn, cursor, scan_fn, &sc);
	if (ret != STORE_OK) {
		evbuffer_free(sc.keys);
		resp_add_store_error(rc, ret);
		return;
	}
	resp_add_array(rc, 2);
	snprintf(buf, sizeof buf, "%llu", (unsigned long long)sc.next);
	resp_add_str(rc, buf);
	saved = resp_nest(rc);
	resp_add_raw(rc, (const char *)evbuffer_pullup(sc.keys, -1),
	    evbuffer_get_length(sc.keys));
	resp_nest_end(rc, saved, '*', sc.kept);
	evbuffer_free(sc.keys);
}

/* GET key; lastseen:USER is the chat view. */
void
resp_cmd_get(struct rclient *rc, int argc, struct rarg *argv)
{
	char		 user[NAME_USER_MAX + 1], device[NAME_DEVICE_MAX + 1];
	char		 buf[32];
	struct rkey_rec	 r;
	struct txn	*txn;
	enum resp_view	 v;
	uint64_t	 ms;
	int		 ret;

	(void)argc;
	if ((txn = resp_txn(rc, 0)) == NULL)
		return;
	v = resp_view(&argv[1], user, device);
	if (v == RV_LASTSEEN) {
		if ((ret = lastseen(txn, user, &ms)) != STORE_OK)
			resp_add_store_error(rc, ret);
		else if (ms == 0)
			resp_add_null(rc);
		else {
			snprintf(buf, sizeof buf, "%llu",
			    (unsigned long long)ms);
			resp_add_str(rc, buf);
		}
		return;
	}
	if (v == RV_BAD) {
		resp_add_null(rc);
		return;
	}
	if (v != RV_NONE) {
		resp_add_err(rc, RESP_ERR_WRONGTYPE);
		return;
	}
	if ((ret = resp_lookup(rc, txn, &argv[1], &r)) == STORE_NOTFOUND)
		resp_add_null(rc);
	else if (ret == STORE_OK) {
		if (r.type != RTYPE_STRING)
			resp_add_err(rc, RESP_ERR_WRONGTYPE);
		else
			resp_add_bulk(rc, r.val, r.vlen);
	}
}

#define SET_NX		0x01
#define SET_XX		0x02
#define SET_GET		0x04
#define SET_KEEPTTL	0x08
#define SET_EX		0x10
#define SET_PX		0x20
#define SET_EXAT	0x40
#define SET_PXAT	0x80
#define SET_EXPIRES	(SET_EX | SET_PX | SET_EXAT | SET_PXAT)

/* SET's options, as Redis's parseExtendedStringArgumentsOrReply(). */
static int
set_options(struct rclient *rc, int argc, struct rarg *argv, int *flags,
    const struct rarg **expire)
{
	static const struct {
		const char	*name;
		int		 flag;
		int		 excludes;
	} opts[] = {
		{ "nx", SET_NX, SET_XX },
		{ "xx", SET_XX, SET_NX },
		{ "get", SET_GET, 0 },
		{ "keepttl", SET_KEEPTTL, SET_EXPIRES },
		{ "ex", SET_EX, SET_KEEPTTL | SET_PX | SET_EXAT | SET_PXAT },
		{ "px", SET_PX, SET_KEEPTTL | SET_EX | SET_EXAT | SET_PXAT },
		{ "exat", SET_EXAT, SET_KEEPTTL | SET_EX | SET_PX | SET_PXAT },
		{ "pxat", SET_PXAT, SET_KEEPTTL | SET_EX | SET_PX | SET_EXAT },
	};
	size_t	i;
	int	j;

	*flags = 0;
	*expire = NULL;
	for (j = 3; j < argc; j++) {
		for (i = 0; i < sizeof opts / sizeof opts[0]; i++) {
			if (resp_arg_is(&argv[j], opts[i].name) &&
			    (*flags & opts[i].excludes) == 0 &&
			    (!(opts[i].flag & SET_EXPIRES) || j + 1 < argc))
				break;
		}
		if (i == sizeof opts / sizeof opts[0]) {
			resp_add_err(rc, RESP_ERR_SYNTAX);
			return (-1);
		}
		*flags |= opts[i].flag;
		if (opts[i].flag & SET_EXPIRES)
			*expire = &argv[++j];
	}
	return (0);
}

/* SET key value [NX | XX] [GET] [EX s | PX ms | EXAT s | PXAT ms | KEEPTTL] */
void
resp_cmd_set(struct rclient *rc, int argc, struct rarg *argv)
{
	const struct rarg	*expire;
	struct rkey_rec		 old, r;
	struct txn		*txn;
	long long		 ms = 0, when = 0;
	int			 flags, found, ret, isnew;

	if (set_options(rc, argc, argv, &flags, &expire) != 0)
		return;
	if (expire != NULL) {
		if (resp_arg_ll(rc, expire, &ms, NULL) != 0)
			return;
		if (ms <= 0 || ((flags & (SET_EX | SET_EXAT)) &&
		    ms > LLONG_MAX / 1000)) {
			resp_add_errorf(rc, "invalid expire time in 'set' "
			    "command");
			return;
		}
		if (flags & (SET_EX | SET_EXAT))
			ms *= 1000;
		when = ms;
		if (flags & (SET_EX | SET_PX)) {
			if (when > LLONG_MAX - (long long)now_ms()) {
				resp_add_errorf(rc, "invalid expire time in "
				    "'set' command");
				return;
			}
			when += (long long)now_ms();
		}
	}
	if (resp_view_refuse(rc, &argv[1]))
		return;
	if ((txn = resp_txn(rc, 1)) == NULL)
		return;
	if ((ret = resp_lookup(rc, txn, &argv[1], &old)) != STORE_OK &&
	    ret != STORE_NOTFOUND)
		return;
	found = ret == STORE_OK;
	if (flags & SET_GET) {
		if (!found)
			resp_add_null(rc);
		else if (old.type != RTYPE_STRING) {
			resp_add_err(rc, RESP_ERR_WRONGTYPE);
			return;
		} else
			resp_add_bulk(rc, old.val, old.vlen);
	}
	if (((flags & SET_NX) && found) || ((flags & SET_XX) && !found)) {
		if (!(flags & SET_GET))
			resp_add_null(rc);
		return;
	}
	memset(&r, 0, sizeof r);
	r.type = RTYPE_STRING;
	r.val = (const uint8_t *)argv[2].p;
	r.vlen = argv[2].len;
	r.expires = (uint64_t)when;
	if ((flags & SET_KEEPTTL) && found && old.type == RTYPE_STRING)
		r.expires = old.expires;
	isnew = !found || old.type != RTYPE_STRING;
	ret = STORE_OK;
	if (found && old.type != RTYPE_STRING)
		ret = resp_key_drop(txn, argv[1].p, argv[1].len, &old);
	if (ret == STORE_OK) {
		if (isnew)
			ret = store_rid_next(txn, &r.rid);
		else
			r.rid = old.rid;
	}
	if (ret == STORE_OK)
		ret = store_rkey_put(txn, argv[1].p, argv[1].len, &r, isnew);
	if (ret != STORE_OK) {
		resp_add_store_error(rc, ret);
		return;
	}
	if (!(flags & SET_GET))
		resp_add_ok(rc);
}

/* A member as account.c takes a name: one with a NUL byte names nobody. */
static const char *
member_name(const struct rarg *a)
{
	return (strlen(a->p) == a->len ? a->p : "");
}

/*
 * blocked:USER as a set: the users USER has blocked.  SADD and SREM block
 * and unblock through account_block() and account_unblock(), as the
 * WebSocket's block and unblock ops do.  SADD changes nothing unless every
 * member may be blocked; SREM counts a name it cannot unblock as no
 * member.
 */
static void
blocked_sadd(struct rclient *rc, const char *user, int argc,
    struct rarg *argv, int add)
{
	struct block_res res;
	struct txn	*txn;
	long long	 n = 0;
	int		 j, ret;

	if ((txn = resp_txn(rc, 1)) == NULL)
		return;
	for (j = 2; add && j < argc; j++) {
		ret = account_block_check(txn, user, member_name(&argv[j]),
		    &res);
		if (ret == STORE_NOTFOUND)
			resp_add_errorf(rc, "no such user '%s'", user);
		else if (ret != STORE_OK)
			resp_add_store_error(rc, ret);
		else if (res.err == TE_BAD_REQUEST)
			resp_add_errorf(rc, "'%.*s' is not another user's "
			    "name", (int)(argv[j].len > 64 ? 64 : argv[j].len),
			    argv[j].p);
		else if (res.err != TE_OK)
			resp_add_errorf(rc, "no such user '%s'", argv[j].p);
		if (ret != STORE_OK || res.err != TE_OK)
			return;
	}
	for (j = 2; j < argc; j++) {
		if (add)
			ret = account_block(txn, user, member_name(&argv[j]),
			    &res);
		else
			ret = account_unblock(txn, user, member_name(&argv[j]),
			    &res);
		if (ret == STORE_NOTFOUND)
			resp_add_errorf(rc, "no such user '%s'", user);
		else if (ret != STORE_OK)
			resp_add_store_error(rc, ret);
		if (ret != STORE_OK)
			return;
		if (!res.changed)
			continue;
		n++;
		/* What that user sees of us just changed. */
		presence_refresh_for(user, argv[j].p);
	}
	resp_add_int(rc, n);
}

/* Block walk callback: adds a name to the reply. */
static int
add_block(void *arg, const char *name)
{
	struct members	*m = arg;

	resp_add_str(m->rc, name);
	m->n++;
	return (STORE_WALK_NEXT);
}

/* Block walk callback: counts. */
static int
count_block(void *arg, const char *name)
{
	(void)name;
	((struct members *)arg)->n++;
	return (STORE_WALK_NEXT);
}

/* SISMEMBER, SMISMEMBER, SMEMBERS and SCARD on blocked:USER. */
static void
blocked_read(struct rclient *rc, const char *user, int argc,
    struct rarg *argv, const char *cmd)
{
	struct members	 m;
	struct evbuffer	*saved;
	struct txn	*txn;
	int		 j, ret = STORE_OK, many;

	if ((txn = resp_txn(rc, 0)) == NULL)
		return;
	memset(&m, 0, sizeof m);
	m.rc = rc;
	if (strcmp(cmd, "smembers") == 0) {
		saved = resp_nest(rc);
		if ((ret = store_block_walk(txn, user, add_block, &m)) !=
		    STORE_OK) {
			resp_nest_abort(rc, saved);
			resp_add_store_error(rc, ret);
		} else
			resp_nest_end(rc, saved, '~', m.n);
		return;
	}
	if (strcmp(cmd, "scard") == 0) {
		if ((ret = store_block_walk(txn, user, count_block, &m)) !=
		    STORE_OK)
			resp_add_store_error(rc, ret);
		else
			resp_add_int(rc, m.n);
		return;
	}
	many = strcmp(cmd, "smismember") == 0;
	saved = resp_nest(rc);
	for (j = 2; j < argc; j++) {
		ret = valid_user(argv[j].p, argv[j].len) ?
		    store_block_get(txn, user, argv[j].p) : STORE_NOTFOUND;
		if (ret != STORE_OK && ret != STORE_NOTFOUND) {
			resp_nest_abort(rc, saved);
			resp_add_store_error(rc, ret);
			return;
		}
		resp_add_int(rc, ret == STORE_OK);
	}
	if (many)
		resp_nest_end(rc, saved, '*', argc - 2);
	else
		resp_nest_end(rc, saved, 0, 0);
}

/*
 * The set commands' common start: views and type.  Returns the view (the
 * caller serves blocked:) or RV_NONE with *found and r set; -1 after a
 * reply.
 */
static int
set_begin(struct rclient *rc, struct txn **txnp, int write,
    const struct rarg *key, char user[NAME_USER_MAX + 1],
    struct rkey_rec *r, int *found)
{
	char		device[NAME_DEVICE_MAX + 1];
	enum resp_view	v;
	int		ret;

	v = resp_view(key, user, device);
	if (v == RV_BLOCKED)
		return (RV_BLOCKED);
	if (v == RV_BAD || (write && v != RV_NONE)) {
		resp_view_refuse(rc, key);
		return (-1);
	}
	if (v != RV_NONE) {
		resp_add_err(rc, RESP_ERR_WRONGTYPE);
		return (-1);
	}
	if ((*txnp = resp_txn(rc, write)) == NULL)
		return (-1);
	if ((ret = resp_lookup(rc, *txnp, key, r)) != STORE_OK &&
	    ret != STORE_NOTFOUND)
		return (-1);
	*found = ret == STORE_OK;
	if (*found && r->type != RTYPE_SET) {
		resp_add_err(rc, RESP_ERR_WRONGTYPE);
		return (-1);
	}
	return (RV_NONE);
}

/* SADD key member [member ...] */
void
resp_cmd_sadd(struct rclient *rc, int argc, struct rarg *argv)
{
	char		 user[NAME_USER_MAX + 1];
	struct rkey_rec	 r;
	struct txn	*txn;
	long long	 n = 0;
	int		 j, ret, found, v;

	if ((v = set_begin(rc, &txn, 1, &argv[1], user, &r, &found)) ==
	    RV_BLOCKED) {
		blocked_sadd(rc, user, argc, argv, 1);
		return;
	}
	if (v != RV_NONE)
		return;
	if (!found) {
		memset(&r, 0, sizeof r);
		r.type = RTYPE_SET;
		if ((ret = store_rid_next(txn, &r.rid)) != STORE_OK) {
			resp_add_store_error(rc, ret);
			return;
		}
	}
	for (j = 2; j < argc; j++) {
		ret = store_rset_put(txn, r.rid, argv[j].p, argv[j].len);
		if (ret == STORE_OK)
			n++;
		else if (ret != STORE_EXISTS) {
			resp_add_store_error(rc, ret);
			return;
		}
	}
	r.card += (uint64_t)n;
	if (n != 0 && (ret = store_rkey_put(txn, argv[1].p, argv[1].len, &r,
	    !found)) != STORE_OK) {
		resp_add_store_error(rc, ret);
		return;
	}
	resp_add_int(rc, n);
}

/* SREM key member [member ...]; the last member gone, the key goes. */
void
resp_cmd_srem(struct rclient *rc, int argc, struct rarg *argv)
{
	char		 user[NAME_USER_MAX + 1];
	struct rkey_rec	 r;
	struct txn	*txn;
	long long	 n = 0;
	int		 j, ret, found, v;

	if ((v = set_begin(rc, &txn, 1, &argv[1], user, &r, &found)) ==
	    RV_BLOCKED) {
		blocked_sadd(rc, user, argc, argv, 0);
		return;
	}
	if (v != RV_NONE)
		return;
	if (!found) {
		resp_add_int(rc, 0);
		return;
	}
	for (j = 2; j < argc; j++) {
		ret = store_rset_del(txn, r.rid, argv[j].p, argv[j].len);
		if (ret == STORE_OK)
			n++;
		else if (ret != STORE_NOTFOUND) {
			resp_add_store_error(rc, ret);
			return;
		}
	}
	r.card = r.card > (uint64_t)n ? r.card - (uint64_t)n : 0;
	if (n == 0)
		ret = STORE_OK;
	else if (r.card == 0)
		ret = resp_key_drop(txn, argv[1].p, argv[1].len, &r);
	else
		ret = store_rkey_put(txn, argv[1].p, argv[1].len, &r, 0);
	if (ret != STORE_OK) {
		resp_add_store_error(rc, ret);
		return;
	}
	resp_add_int(rc, n);
}

/* SISMEMBER key member */
void
resp_cmd_sismember(struct rclient *rc, int argc, struct rarg *argv)
{
	char		 user[NAME_USER_MAX + 1];
	struct rkey_rec	 r;
	struct txn	*txn;
	int		 ret, found, v;

	if ((v = set_begin(rc, &txn, 0, &argv[1], user, &r, &found)) ==
	    RV_BLOCKED) {
		blocked_read(rc, user, argc, argv, "sismember");
		return;
	}
	if (v != RV_NONE)
		return;
	ret = found ? store_rset_get(txn, r.rid, argv[2].p, argv[2].len) :
	    STORE_NOTFOUND;
	if (ret != STORE_OK && ret != STORE_NOTFOUND)
		resp_add_store_error(rc, ret);
	else
		resp_add_int(rc, ret == STORE_OK);
}

/* SMISMEMBER key member [member ...] */
void
resp_cmd_smismember(struct rclient *rc, int argc, struct rarg *argv)
{
	char		 user[NAME_USER_MAX + 1];
	struct rkey_rec	 r;
	struct evbuffer	*saved;
	struct txn	*txn;
	int		 j, ret, found, v;

	if ((v = set_begin(rc, &txn, 0, &argv[1], user, &r, &found)) ==
	    RV_BLOCKED) {
		blocked_read(rc, user, argc, argv, "smismember");
		return;
	}
	if (v != RV_NONE)
		return;
	saved = resp_nest(rc);
	for (j = 2; j < argc; j++) {
		ret = found ? store_rset_get(txn, r.rid, argv[j].p,
		    argv[j].len) : STORE_NOTFOUND;
		if (ret != STORE_OK && ret != STORE_NOTFOUND) {
			resp_nest_abort(rc, saved);
			resp_add_store_error(rc, ret);
			return;
		}
		resp_add_int(rc, ret == STORE_OK);
	}
	resp_nest_end(rc, saved, '*', argc - 2);
}

/* Set walk callback: adds a member to the reply. */
static int
add_member(void *arg, const void *p, size_t len)
{
	struct members	*m = arg;

	resp_add_bulk(m->rc, p, len);
	m->n++;
	return (STORE_WALK_NEXT);
}

/* SMEMBERS key: in byte order (Redis's order is its hash's). */
void
resp_cmd_smembers(struct rclient *rc, int argc, struct rarg *argv)
{
	char		 user[NAME_USER_MAX + 1];
	struct rkey_rec	 r;
	struct members	 m;
	struct evbuffer	*saved;
	struct txn	*txn;
	int		 ret, found, v;

	if ((v = set_begin(rc, &txn, 0, &argv[1], user, &r, &found)) ==
	    RV_BLOCKED) {
		blocked_read(rc, user, argc, argv, "smembers");
		return;
	}
	if (v != RV_NONE)
		return;
	if (!found) {
		resp_add_set(rc, 0);
		return;
	}
	memset(&m, 0, sizeof m);
	m.rc = rc;
	saved = resp_nest(rc);
	if ((ret = store_rset_walk(txn, r.rid, add_member, &m)) != STORE_OK) {
		resp_nest_abort(rc, saved);
		resp_add_store_error(rc, ret);
	} else
		resp_nest_end(rc, saved, '~', m.n);
}

/* SCARD key */
void
resp_cmd_scard(struct rclient *rc, int argc, struct rarg *argv)
{
	char		 user[NAME_USER_MAX + 1];
	struct rkey_rec	 r;
	struct txn	*txn;
	int		 found, v;

	if ((v = set_begin(rc, &txn, 0, &argv[1], user, &r, &found)) ==
	    RV_BLOCKED) {
		blocked_read(rc, user, argc, argv, "scard");
		return;
	}
	if (v != RV_NONE)
		return;
	resp_add_int(rc, found ? (long long)r.card : 0);
}
