/* SPDX-License-Identifier: ISC */
/*
 * control.c: the daemon's side of tickctl(8), after OpenSMTPD's control.c.
 *
 * A UNIX socket (conf control_socket) on the event loop.  A peer is let in
 * only if the kernel says (SO_PEERCRED) it runs as root or as the daemon's
 * own user, at most CONTROL_CONNS_PER_UID at a time per uid.  It sends one
 * JSON request per line and gets one JSON line back (tickd-control.h).
 *
 * A control connection is a struct conn like any other, so its replies
 * take the same path: a command that writes does so in the turn's batch
 * transaction, and its reply waits for the fsync'd commit (or becomes an
 * error if the commit fails).  Live effects use the daemon's own functions:
 * deleting a device or a user, or revoking tokens, closes the connections
 * concerned; purging a queue resets the flow control of its device.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "tickd.h"
#include "tickd-control.h"

#define RATE_SAMPLES	61	/* one a second: a minute of history */
#define CTL_LIST_SLICE	500	/* accounts user list reads per turn */
#define CTL_REPAIR_SLICE 500	/* records repair checks per turn */
#define CTL_LIST_OUT_MAX (1024 * 1024)	/* its unread answer, at most */
#define RATE_WINDOW	10	/* seconds the rates of stats cover */

/* A control connection; the conn comes first, so freeing it frees this. */
struct ctl {
	struct conn		 c;
	uid_t			 uid;
	pid_t			 pid;
	TAILQ_ENTRY(ctl)	 entry;
};

/*
 * A command: its words, its handler, and how many arguments it takes.  The
 * fields come in the order of every command table (ops, resp_cmds,
 * ctl_cmds, conf_table): the name, the handler, then flags and limits; rows
 * use designated initializers in that order.
 */
struct ctl_cmd {
	const char	*name;
	void		(*fn)(struct ctl *, json_t *);
	int		 nargs;
};

/* A password being hashed for user add or user passwd. */
struct ctl_kdf {
	struct ctl	*ctl;
	char		 user[NAME_USER_MAX + 1];
	uint8_t		 salt[KDF_SALT_BYTES];
	int		 add;
};

/* Connections to close for a command, and how many were. */
struct ctl_close {
	const char	*device;	/* NULL: every device of the user */
	const char	*reason;
	unsigned	 n;
};

/* One sample of the counters the rates of stats are made of. */
struct ctl_sample {
	uint64_t	at;		/* Unix ms */
	uint64_t	accepted;
	uint64_t	delivered;
	uint64_t	commits;
	double		lat_sum;
};

static TAILQ_HEAD(, ctl)	 ctls = TAILQ_HEAD_INITIALIZER(ctls);
static struct evconnlistener	*ctl_listener;
static struct event		*ctl_rate_ev;
static ino_t			 ctl_ino;	/* of the socket we bound */
static char			*ctl_path;
static uint64_t			 ctl_started;
static struct ctl_sample	 samples[RATE_SAMPLES];
static size_t			 nsamples, sample_next;

static void	ctl_process(struct ctl *);
static void	ctl_error(struct ctl *, const char *, ...) printflike(2, 3);

/* Drops connections that have been reaped; returns those still open. */
static unsigned
ctl_prune(uid_t uid, unsigned *same_uid)
{
	struct ctl	*ctl, *next;
	unsigned	 n = 0;

	*same_uid = 0;
	for (ctl = TAILQ_FIRST(&ctls); ctl != NULL; ctl = next) {
		next = TAILQ_NEXT(ctl, entry);
		if (ctl->c.dead) {
			TAILQ_REMOVE(&ctls, ctl, entry);
			conn_unref(&ctl->c);
			continue;
		}
		n++;
		/* One being closed, such as a refused one, takes no slot. */
		*same_uid += ctl->uid == uid && !ctl->c.closing;
	}
	return (n);
}

/* obj as one line of text with its newline; NULL if it cannot be. */
static char *
ctl_line(json_t *obj, size_t *len)
{
	char	*text;

	json_object_set_new(obj, "v", json_integer(CONTROL_VERSION));
	if ((text = json_dumps(obj, JSON_COMPACT)) == NULL) {
		log_warnx("control: cannot encode a reply");
		return (NULL);
	}
	*len = strlen(text);
	text = xrealloc(text, *len + 2);
	text[(*len)++] = '\n';
	text[*len] = '\0';
	return (text);
}

/* Writes one reply line; the conn defers it while a batch is open. */
static void
ctl_send(struct ctl *ctl, json_t *obj)
{
	char	*line;
	size_t	 len;

	if ((line = ctl_line(obj, &len)) == NULL) {
		conn_free_later(&ctl->c);
		return;
	}
	conn_write_raw(&ctl->c, line, len);
	free(line);
}

/* Answers with a result object (NULL: none), which it takes. */
static void
ctl_ok(struct ctl *ctl, json_t *res)
{
	if (res == NULL)
		res = json_object();
	json_object_set_new(res, "ok", json_true());
	ctl_send(ctl, res);
	json_decref(res);
}

/* Answers with an error line. */
static void
ctl_error(struct ctl *ctl, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;
	json_t	*obj;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		fatal("vasprintf");
	va_end(ap);
	obj = json_pack("{s:b,s:s}", "ok", 0, "error", msg);
	ctl_send(ctl, obj);
	json_decref(obj);
	free(msg);
}

/* A store error as the reply. */
static void
ctl_store_error(struct ctl *ctl, int ret)
{
	ctl_error(ctl, ret == STORE_FULL ? "the store is full (map_size)" :
	    "store error; see the daemon's log");
}

/*
 * The reply to a command that wrote: after the commit it is res, or an
 * error if the commit failed.  Takes res.
 */
static void
ctl_ok_durable(struct ctl *ctl, json_t *res)
{
	json_t	*err;
	char	*ok, *fail;
	size_t	 oklen, faillen;

	if (!conn_must_defer()) {
		ctl_ok(ctl, res);
		return;
	}
	json_object_set_new(res, "ok", json_true());
	err = json_pack("{s:b,s:s}", "ok", 0, "error", "the change was not "
	    "committed: the store is full or failed; see the daemon's log");
	ok = ctl_line(res, &oklen);
	fail = ctl_line(err, &faillen);
	json_decref(res);
	json_decref(err);
	if (ok == NULL || fail == NULL) {
		free(ok);
		free(fail);
		conn_free_later(&ctl->c);
		return;
	}
	batch_defer(&ctl->c, ok, oklen, fail, faillen);
}

/* The i-th argument; the dispatcher checked that it is a string. */
static const char *
ctl_arg(json_t *args, size_t i)
{
	return (json_string_value(json_array_get(args, i)));
}

/* Checks a user name argument; answers and returns -1 if it is bad. */
static int
ctl_check_user(struct ctl *ctl, const char *user)
{
	if (valid_user(user, strlen(user)))
		return (0);
	ctl_error(ctl, "bad user name \"%s\": 1-64 bytes of [a-z0-9._+-]",
	    user);
	return (-1);
}

/*
 * Splits "user" or "user:device" into buffers; answers and returns -1 if
 * either name is bad.  device[0] is NUL when none was given.
 */
static int
ctl_target(struct ctl *ctl, const char *arg, char user[NAME_USER_MAX + 1],
    char device[NAME_DEVICE_MAX + 1])
{
	const char	*colon = strchr(arg, ':');
	size_t		 ulen = colon != NULL ? (size_t)(colon - arg) :
			    strlen(arg);

	device[0] = '\0';
	if (!valid_user(arg, ulen)) {
		ctl_error(ctl, "bad user name in \"%s\": 1-64 bytes of "
		    "[a-z0-9._+-]", arg);
		return (-1);
	}
	memcpy(user, arg, ulen);
	user[ulen] = '\0';
	if (colon == NULL)
		return (0);
	if (!valid_device(colon + 1, strlen(colon + 1))) {
		ctl_error(ctl, "bad device name in \"%s\": 1-32 bytes of "
		    "[a-z0-9._-]", arg);
		return (-1);
	}
	strlcpy(device, colon + 1, NAME_DEVICE_MAX + 1);
	return (0);
}

/* Whether a user (device NULL) or one of its devices is online. */
static int
ctl_online(void *arg, const char *user, const char *device)
{
	(void)arg;
	if (device == NULL)
		return (presence_online(user));
	return (device_conn(user, device) != NULL);
}

/* presence_each callback: closes the connections a change made stale. */
static void
ctl_close_cb(struct conn *c, void *arg)
{
	struct ctl_close	*cc = arg;

	if (cc->device != NULL && strcmp(c->device, cc->device) != 0)
		return;
	ws_close(c, 1008, cc->reason);
	cc->n++;
}

/* Closes user's connections (of one device if not NULL); how many. */
static unsigned
ctl_close_user(const char *user, const char *device, const char *reason)
{
	struct ctl_close	cc;

	cc.device = device;
	cc.reason = reason;
	cc.n = 0;
	presence_each(user, ctl_close_cb, &cc);
	return (cc.n);
}

/* The write transaction, or NULL after answering. */
static struct txn *
ctl_batch(struct ctl *ctl)
{
	struct txn	*txn;

	if ((txn = batch_txn()) == NULL)
		ctl_store_error(ctl, STORE_ERR);
	return (txn);
}

/* The scrypt hash is ready: create the account or change its password. */
static void
ctl_kdf_done(void *arg, int ok, const uint8_t hash[KDF_HASH_BYTES])
{
	struct ctl_kdf	*job = arg;
	struct ctl	*ctl = job->ctl;
	struct user_rec	 u;
	struct txn	*txn;
	enum tick_err	 err;
	int		 ret;

	if (ctl->c.dead)
		goto out;
	ctl->c.busy = 0;
	if (!ok) {
		ctl_error(ctl, "password hashing failed");
		goto next;
	}
	if ((txn = ctl_batch(ctl)) == NULL)
		goto next;
	if (job->add) {
		ret = account_register(txn, job->user, job->salt, hash,
		    now_ms(), &err);
		if (ret == STORE_OK && err == TE_NAME_TAKEN) {
			ctl_error(ctl, "user %s exists", job->user);
			goto next;
		}
	} else if ((ret = store_user_get(txn, job->user, &u)) ==
	    STORE_NOTFOUND) {
		ctl_error(ctl, "no such user: %s", job->user);
		goto next;
	} else if (ret == STORE_OK) {
		memcpy(u.salt, job->salt, sizeof u.salt);
		memcpy(u.hash, hash, sizeof u.hash);
		account_kdf_default(&u);
		ret = store_user_put(txn, job->user, &u);
		OPENSSL_cleanse(&u, sizeof u);
	}
	if (ret != STORE_OK) {
		ctl_store_error(ctl, ret);
		goto next;
	}
	log_info("control: uid %u: %s %s", (unsigned)ctl->uid,
	    job->add ? "added user" : "changed the password of", job->user);
	ctl_ok_durable(ctl, json_pack("{s:s}", "user", job->user));
next:
	ctl_process(ctl);
out:
	conn_unref(&ctl->c);
	OPENSSL_cleanse(job, sizeof *job);
	free(job);
}

/* user add and user passwd: the password is hashed off the loop. */
static void
ctl_password(struct ctl *ctl, json_t *args, int add)
{
	struct ctl_kdf	*job;
	struct user_rec	 u;
	struct txn	 txn;
	const char	*user = ctl_arg(args, 0), *pw = ctl_arg(args, 1);
	size_t		 len = strlen(pw);
	int		 ret;

	if (ctl_check_user(ctl, user) != 0)
		return;
	if (len == 0 || len > CONTROL_PASSWORD_MAX ||
	    len != json_string_length(json_array_get(args, 1))) {
		ctl_error(ctl, "the password must be 1-%d bytes without NUL",
		    CONTROL_PASSWORD_MAX);
		return;
	}
	/* An early answer; the write checks again after the hash. */
	if ((ret = store_txn_begin(srv.store, &txn, 0)) != STORE_OK) {
		ctl_store_error(ctl, ret);
		return;
	}
	ret = store_user_get(&txn, user, &u);
	store_txn_abort(&txn);
	OPENSSL_cleanse(&u, sizeof u);
	if (add && ret == STORE_OK) {
		ctl_error(ctl, "user %s exists", user);
		return;
	}
	if (!add && ret == STORE_NOTFOUND) {
		ctl_error(ctl, "no such user: %s", user);
		return;
	}
	job = xcalloc(1, sizeof *job);
	job->ctl = ctl;
	job->add = add;
	strlcpy(job->user, user, sizeof job->user);
	if (RAND_bytes(job->salt, sizeof job->salt) != 1) {
		free(job);
		ctl_error(ctl, "no randomness for a salt");
		return;
	}
	ctl->c.busy = 1;
	conn_ref(&ctl->c);
	kdf_hash(pw, len, job->salt, ctl_kdf_done, job);
}

/* user add: a new account with the given password. */
static void
cmd_user_add(struct ctl *ctl, json_t *args)
{
	ctl_password(ctl, args, 1);
}

/*
 * user import: an account with a password hash made elsewhere, in the PHC
 * string format with its KDF and cost (tickctl(8) user import).
 */
static void
cmd_user_import(struct ctl *ctl, json_t *args)
{
	struct user_rec	 auth;
	struct txn	*txn;
	enum tick_err	 err;
	const char	*user = ctl_arg(args, 0), *why;
	int		 ret;

	if (ctl_check_user(ctl, user) != 0)
		return;
	if (account_hash_parse(ctl_arg(args, 1), &auth, &why) != 0) {
		ctl_error(ctl, "user %s: bad password hash: %s", user, why);
		return;
	}
	if ((txn = ctl_batch(ctl)) == NULL) {
		OPENSSL_cleanse(&auth, sizeof auth);
		return;
	}
	ret = account_import(txn, user, &auth, now_ms(), &err);
	OPENSSL_cleanse(&auth, sizeof auth);
	if (ret != STORE_OK) {
		ctl_store_error(ctl, ret);
		return;
	}
	if (err == TE_NAME_TAKEN) {
		ctl_error(ctl, "user %s exists", user);
		return;
	}
	log_info("control: uid %u: imported user %s", (unsigned)ctl->uid,
	    user);
	ctl_ok_durable(ctl, json_pack("{s:s}", "user", user));
}

/* user passwd: a new password for an account. */
static void
cmd_user_passwd(struct ctl *ctl, json_t *args)
{
	ctl_password(ctl, args, 0);
}

/* Group walk callback: the name of one of a user's groups. */
static int
user_group_fn(void *arg, const char *user, const char *group)
{
	(void)user;
	json_array_append_new(arg, json_string(group));
	return (STORE_WALK_NEXT);
}

/* user del: the account and what belongs to it; its devices go offline. */
static void
cmd_user_del(struct ctl *ctl, json_t *args)
{
	struct admin_del	 del;
	struct targets		 left;
	struct txn		*txn;
	const char		*user = ctl_arg(args, 0);
	json_t			*names, *v;
	uint64_t		 groups;
	unsigned		 closed;
	size_t			 i;
	int			 ret;

	if (ctl_check_user(ctl, user) != 0 || (txn = ctl_batch(ctl)) == NULL)
		return;
	/*
	 * It leaves its groups first, as by group_leave (GROUPS rule 12);
	 * the mirrors of those homed here change (tickd-cluster(7), Groups
	 * across nodes).
	 */
	memset(&left, 0, sizeof left);
	names = json_array();
	if ((ret = store_guser_walk(txn, user, user_group_fn, names)) !=
	    STORE_OK || (ret = group_user_gone(txn, &srv.midgen, &srv.conf,
	    user, now_ms(), &left, &groups)) != STORE_OK) {
		json_decref(names);
		targets_free(&left);
		ctl_store_error(ctl, ret);
		return;
	}
	pump_targets(&left);
	targets_free(&left);
	json_array_foreach(names, i, v)
		cluster_group_changed(json_string_value(v));
	json_decref(names);
	/* Its media goes with it: so does tickd-cluster(7)'s tickd:m. */
	cluster_media_user_gone(txn, user);
	if ((ret = admin_user_delete(txn, &srv.midgen, user, &del)) ==
	    STORE_NOTFOUND) {
		ctl_error(ctl, "no such user: %s", user);
		return;
	}
	if (ret != STORE_OK) {
		ctl_store_error(ctl, ret);
		return;
	}
	resp_view_gone(user, NULL);
	closed = ctl_close_user(user, NULL, "account deleted");
	audit_event(AUDIT_DEVICE_REMOVED, user, NULL, NULL,
	    json_pack("{s:s,s:i,s:b,s:I}", "by", "tickctl", "uid",
	    (int)ctl->uid, "user_deleted", 1, "devices",
	    (json_int_t)del.devices));
	log_info("control: uid %u: deleted user %s (%llu devices, %llu "
	    "items)", (unsigned)ctl->uid, user,
	    (unsigned long long)del.devices, (unsigned long long)del.items);
	ctl_ok_durable(ctl, json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:i,s:I,s:I}",
	    "user", user, "devices", (json_int_t)del.devices,
	    "items", (json_int_t)del.items, "tokens", (json_int_t)del.tokens,
	    "blocks", (json_int_t)del.blocks,
	    "client_ids", (json_int_t)del.dedup, "closed", (int)closed,
	    "groups_left", (json_int_t)groups,
	    "media", (json_int_t)del.media));
}

/*
 * Answers a read-only query with its result or its error; what names what
 * was not found, for STORE_NOTFOUND.
 */
static void
ctl_query(struct ctl *ctl, int ret, json_t *res, const char *what,
    const char *arg)
{
	if (ret == STORE_OK)
		ctl_ok(ctl, res);
	else if (ret == STORE_NOTFOUND)
		ctl_error(ctl, "no such %s: %s", what, arg);
	else
		ctl_store_error(ctl, ret);
}

/* A user list under way, a slice each turn of the loop. */
struct ctl_ulist {
	struct ctl	*ctl;
	struct event	*ev;
	char		 last[NAME_USER_MAX + 1];
	size_t		 sent;		/* accounts written so far */
	LIST_ENTRY(ctl_ulist) entry;	/* in ulists */
};

/*
 * The user lists and repairs under way: at exit, control_free ends those
 * whose next step is still only a timer.
 */
static LIST_HEAD(, ctl_ulist)	 ulists = LIST_HEAD_INITIALIZER(ulists);
static LIST_HEAD(, ctl_repair)	 repairs = LIST_HEAD_INITIALIZER(repairs);

/* Frees a user list, finished or not, and lets go of its connection. */
static void
ctl_ulist_free(struct ctl_ulist *u)
{
	LIST_REMOVE(u, entry);
	event_free(u->ev);
	conn_unref(&u->ctl->c);
	free(u);
}

/*
 * Writes a slice's accounts as the next elements of the answer's "users"
 * array; -1 if one cannot be encoded.
 */
static int
ctl_ulist_write(struct ctl_ulist *u, json_t *users)
{
	json_t	*v;
	char	*text;
	size_t	 i;

	json_array_foreach(users, i, v) {
		if ((text = json_dumps(v, JSON_COMPACT)) == NULL)
			return (-1);
		if (u->sent++ != 0)
			conn_write_raw(&u->ctl->c, ",", 1);
		conn_write_raw(&u->ctl->c, text, strlen(text));
		free(text);
	}
	return (0);
}

/*
 * One slice of CTL_LIST_SLICE accounts, in a read transaction of its own,
 * written out at once: the answer line is streamed, so neither the walk
 * nor its encoding holds the loop, and clients are served between slices
 * (tickctl(8) user list).  While the reader lags by CTL_LIST_OUT_MAX the
 * next slice waits.  A store error half-way closes the connection.
 */
static void
ctl_ulist_cb(evutil_socket_t fd, short events, void *arg)
{
	struct ctl_ulist	*u = arg;
	struct ctl		*ctl = u->ctl;
	struct timeval		 now = { 0, 0 }, later = { 0, 10000 };
	struct txn		 txn;
	json_t			*users;
	char			 head[64];
	int			 ret, more = 0;

	(void)fd; (void)events;
	if (ctl->c.dead || ctl->c.bev == NULL)
		goto out;
	if (evbuffer_get_length(bufferevent_get_output(ctl->c.bev)) >
	    CTL_LIST_OUT_MAX) {
		evtimer_add(u->ev, &later);
		return;
	}
	users = json_array();
	if ((ret = store_txn_begin(srv.store, &txn, 0)) == STORE_OK) {
		ret = admin_user_list_slice(&txn, u->last[0] != '\0' ?
		    u->last : NULL, CTL_LIST_SLICE, ctl_online, NULL, users,
		    u->last, &more);
		store_txn_abort(&txn);
	}
	if (ret == STORE_OK && u->sent == 0) {
		snprintf(head, sizeof head, "{\"v\":%d,\"ok\":true,"
		    "\"users\":[", CONTROL_VERSION);
		conn_write_raw(&ctl->c, head, strlen(head));
	}
	if (ret == STORE_OK && ctl_ulist_write(u, users) != 0)
		ret = STORE_ERR;
	json_decref(users);
	if (ret != STORE_OK) {
		log_warnx("control: user list failed after %zu accounts",
		    u->sent);
		conn_close_after_output(&ctl->c);
		goto out;
	}
	if (more) {
		evtimer_add(u->ev, &now);
		return;
	}
	conn_write_raw(&ctl->c, "]}\n", 3);
	ctl->c.busy = 0;
	ctl_process(ctl);
out:
	ctl_ulist_free(u);
}

/*
 * user list: every account with its devices and online state, walked and
 * answered in slices between turns of the loop.
 */
static void
cmd_user_list(struct ctl *ctl, json_t *args)
{
	struct ctl_ulist	*u;
	struct timeval		 now = { 0, 0 };

	(void)args;
	u = xcalloc(1, sizeof *u);
	u->ctl = ctl;
	if ((u->ev = evtimer_new(srv.base, ctl_ulist_cb, u)) == NULL) {
		free(u);
		ctl_error(ctl, "out of resources");
		return;
	}
	ctl->c.busy = 1;
	conn_ref(&ctl->c);
	LIST_INSERT_HEAD(&ulists, u, entry);
	evtimer_add(u->ev, &now);
}

/* user show: one account, its settings, blocks, tokens and devices. */
static void
cmd_user_show(struct ctl *ctl, json_t *args)
{
	struct txn	 txn;
	const char	*user = ctl_arg(args, 0);
	json_t		*res = NULL;
	int		 ret;

	if (ctl_check_user(ctl, user) != 0)
		return;
	if ((ret = store_txn_begin(srv.store, &txn, 0)) == STORE_OK) {
		ret = admin_user_show(&txn, user, ctl_online, NULL, now_ms(),
		    &res);
		store_txn_abort(&txn);
	}
	ctl_query(ctl, ret, res, "user", user);
}

/* device list: a user's devices with their queues. */
static void
cmd_device_list(struct ctl *ctl, json_t *args)
{
	struct txn	 txn;
	const char	*user = ctl_arg(args, 0);
	json_t		*res = NULL;
	int		 ret;

	if (ctl_check_user(ctl, user) != 0)
		return;
	if ((ret = store_txn_begin(srv.store, &txn, 0)) == STORE_OK) {
		ret = admin_queue_show(&txn, user, NULL, ctl_online, NULL,
		    &res);
		store_txn_abort(&txn);
	}
	if (res != NULL) {
		json_object_del(res, "items");
		json_object_del(res, "bytes");
		json_object_del(res, "oldest");
	}
	ctl_query(ctl, ret, res, "user", user);
}

/* device del: as a logout of that device; its connection is closed. */
static void
cmd_device_del(struct ctl *ctl, json_t *args)
{
	struct user_rec	 u;
	struct txn	*txn;
	const char	*user = ctl_arg(args, 0), *device = ctl_arg(args, 1);
	unsigned	 closed;
	int		 ret;

	if (ctl_check_user(ctl, user) != 0)
		return;
	if (!valid_device(device, strlen(device))) {
		ctl_error(ctl, "bad device name \"%s\": 1-32 bytes of "
		    "[a-z0-9._-]", device);
		return;
	}
	if ((txn = ctl_batch(ctl)) == NULL)
		return;
	if ((ret = store_user_get(txn, user, &u)) == STORE_OK)
		ret = account_remove_device(txn, &srv.midgen, user, device,
		    now_ms());
	if (ret == STORE_NOTFOUND) {
		ctl_error(ctl, "no such device: %s:%s", user, device);
		return;
	}
	if (ret != STORE_OK) {
		ctl_store_error(ctl, ret);
		return;
	}
	resp_view_gone(user, device);
	closed = ctl_close_user(user, device, "device removed");
	audit_event(AUDIT_DEVICE_REMOVED, user, device, NULL,
	    json_pack("{s:s,s:i}", "by", "tickctl", "uid", (int)ctl->uid));
	log_info("control: uid %u: removed device %s:%s", (unsigned)ctl->uid,
	    user, device);
	ctl_ok_durable(ctl, json_pack("{s:s,s:s,s:i}", "user", user,
	    "device", device, "closed", (int)closed));
}

/* queue show: the queues of a user's devices, or of one. */
static void
cmd_queue_show(struct ctl *ctl, json_t *args)
{
	struct txn	 txn;
	char		 user[NAME_USER_MAX + 1], device[NAME_DEVICE_MAX + 1];
	json_t		*res = NULL;
	int		 ret;

	if (ctl_target(ctl, ctl_arg(args, 0), user, device) != 0)
		return;
	if ((ret = store_txn_begin(srv.store, &txn, 0)) == STORE_OK) {
		ret = admin_queue_show(&txn, user, device[0] != '\0' ? device :
		    NULL, ctl_online, NULL, &res);
		store_txn_abort(&txn);
	}
	ctl_query(ctl, ret, res, "user or device", ctl_arg(args, 0));
}

/* presence_each callback: the device's window starts empty again. */
static void
ctl_unstall_cb(struct conn *c, void *arg)
{
	const char	*device = arg;

	if (device[0] != '\0' && strcmp(c->device, device) != 0)
		return;
	c->inflight = 0;
	pump_later(c);
}

/*
 * queue purge: empties the queues.  Items already pushed to an online
 * device will never be acked, so its window is reset.
 */
static void
cmd_queue_purge(struct ctl *ctl, json_t *args)
{
	struct txn	*txn;
	char		 user[NAME_USER_MAX + 1], device[NAME_DEVICE_MAX + 1];
	uint64_t	 items, bytes;
	json_t		*res;
	int		 ret;

	if (ctl_target(ctl, ctl_arg(args, 0), user, device) != 0 ||
	    (txn = ctl_batch(ctl)) == NULL)
		return;
	ret = admin_queue_purge(txn, &srv.midgen, user, device[0] != '\0' ?
	    device : NULL, &items, &bytes);
	if (ret == STORE_NOTFOUND) {
		ctl_error(ctl, "no such user or device: %s", ctl_arg(args, 0));
		return;
	}
	if (ret != STORE_OK) {
		ctl_store_error(ctl, ret);
		return;
	}
	presence_each(user, ctl_unstall_cb, device);
	log_info("control: uid %u: purged %llu items of %s",
	    (unsigned)ctl->uid, (unsigned long long)items, ctl_arg(args, 0));
	res = json_pack("{s:s,s:I,s:I}", "user", user, "items",
	    (json_int_t)items, "bytes", (json_int_t)bytes);
	if (device[0] != '\0')
		json_object_set_new(res, "device", json_string(device));
	ctl_ok_durable(ctl, res);
}

/* block list: whom a user blocks and who blocks it. */
static void
cmd_block_list(struct ctl *ctl, json_t *args)
{
	struct txn	 txn;
	const char	*user = ctl_arg(args, 0);
	json_t		*res = NULL;
	int		 ret;

	if (ctl_check_user(ctl, user) != 0)
		return;
	if ((ret = store_txn_begin(srv.store, &txn, 0)) == STORE_OK) {
		ret = admin_block_list(&txn, user, &res);
		store_txn_abort(&txn);
	}
	ctl_query(ctl, ret, res, "user", user);
}

/* token revoke: every token of the user or device; they go offline. */
static void
cmd_token_revoke(struct ctl *ctl, json_t *args)
{
	struct txn	*txn;
	char		 user[NAME_USER_MAX + 1], device[NAME_DEVICE_MAX + 1];
	uint64_t	 n;
	unsigned	 closed;
	json_t		*res;
	int		 ret;

	if (ctl_target(ctl, ctl_arg(args, 0), user, device) != 0 ||
	    (txn = ctl_batch(ctl)) == NULL)
		return;
	ret = admin_token_revoke(txn, user, device[0] != '\0' ? device : NULL,
	    &n);
	if (ret == STORE_NOTFOUND) {
		ctl_error(ctl, "no such user or device: %s", ctl_arg(args, 0));
		return;
	}
	if (ret != STORE_OK) {
		ctl_store_error(ctl, ret);
		return;
	}
	closed = ctl_close_user(user, device[0] != '\0' ? device : NULL,
	    "token revoked");
	audit_event(AUDIT_TOKEN_REVOKED, user, device[0] != '\0' ? device :
	    NULL, NULL, json_pack("{s:s,s:i,s:I}", "by", "tickctl", "uid",
	    (int)ctl->uid, "tokens", (json_int_t)n));
	log_info("control: uid %u: revoked %llu tokens of %s",
	    (unsigned)ctl->uid, (unsigned long long)n, ctl_arg(args, 0));
	res = json_pack("{s:s,s:I,s:i}", "user", user, "tokens",
	    (json_int_t)n, "closed", (int)closed);
	if (device[0] != '\0')
		json_object_set_new(res, "device", json_string(device));
	ctl_ok_durable(ctl, res);
}

/* The sample taken about RATE_WINDOW seconds ago, or the oldest one. */
static const struct ctl_sample *
ctl_sample_back(void)
{
	size_t	back = nsamples > RATE_WINDOW ? RATE_WINDOW : nsamples - 1;

	return (&samples[(sample_next + RATE_SAMPLES - 1 - back) %
	    RATE_SAMPLES]);
}

/* Counts per second between a sample and now. */
static double
ctl_rate(uint64_t now_count, uint64_t then_count, double secs)
{
	if (secs <= 0 || now_count < then_count)
		return (0);
	return ((double)(now_count - then_count) / secs);
}

/* stats: what /metrics has, with rates over the last RATE_WINDOW s. */
static void
cmd_stats(struct ctl *ctl, json_t *args)
{
	const struct ctl_sample	*then;
	struct stats		*s = &srv.stats;
	struct txn		 txn;
	uint64_t		 now = now_ms(), used = 0, map = 0;
	struct store_totals	 q;
	uint64_t		 mfiles, mbytes, pending = 0;
	uint64_t		 pok, pretry, pgone, pdropped;
	unsigned		 same;
	double			 secs = 0, avg, recent = 0;
	json_t			*res;
	int			 ret, nctl;

	(void)args;
	memset(&q, 0, sizeof q);
	store_totals(srv.store, &q);
	if ((ret = store_txn_begin(srv.store, &txn, 0)) == STORE_OK) {
		ret = push_admin_pending(&txn, &pending);
		store_txn_abort(&txn);
	}
	if (ret != STORE_OK || store_usage(srv.store, &used, &map) !=
	    STORE_OK) {
		ctl_store_error(ctl, ret);
		return;
	}
	nctl = (int)ctl_prune(ctl->uid, &same);
	then = nsamples > 0 ? ctl_sample_back() : NULL;
	if (then != NULL && now > then->at)
		secs = (double)(now - then->at) / 1000.0;
	avg = s->commits != 0 ? s->commit_lat_sum * 1000.0 /
	    (double)s->commits : 0;
	if (then != NULL && s->commits > then->commits)
		recent = (s->commit_lat_sum - then->lat_sum) * 1000.0 /
		    (double)(s->commits - then->commits);
	res = json_pack("{s:I,s:I,s:I,s:I,s:i,s:I,s:f,s:I,s:f,s:I,s:I}",
	    "uptime", (json_int_t)((now - ctl_started) / 1000),
	    "connections", (json_int_t)(s->conns - (uint64_t)nctl),
	    "authenticated", (json_int_t)s->ws_authed,
	    "users_online", (json_int_t)presence_users_online(),
	    "control_connections", nctl,
	    "accepted", (json_int_t)s->accepted,
	    "accepted_per_second", ctl_rate(s->accepted,
	    then != NULL ? then->accepted : s->accepted, secs),
	    "delivered", (json_int_t)s->delivered,
	    "delivered_per_second", ctl_rate(s->delivered,
	    then != NULL ? then->delivered : s->delivered, secs),
	    "acked", (json_int_t)s->acked,
	    "receipts", (json_int_t)s->receipts);
	json_object_update_new(res, json_pack(
	    "{s:I,s:I,s:I,s:I,s:I,s:b,s:I,s:I,s:f,s:f,s:f}",
	    "devices", (json_int_t)q.devices,
	    "queue_items", (json_int_t)q.items,
	    "queue_bytes", (json_int_t)q.bytes,
	    "store_used", (json_int_t)used,
	    "store_map_size", (json_int_t)map,
	    "store_full", srv.store_full,
	    "commits", (json_int_t)s->commits,
	    "commit_failures", (json_int_t)s->commit_failures,
	    "commit_ms", recent,
	    "commit_ms_avg", avg,
	    "rate_seconds", secs));
	media_http_totals(&mfiles, &mbytes);
	json_object_update_new(res, json_pack("{s:I,s:I,s:I}", "media_files",
	    (json_int_t)mfiles, "media_bytes", (json_int_t)mbytes,
	    "media_uploads", (json_int_t)s->media_uploads));
	push_http_stats(&pok, &pretry, &pgone, &pdropped);
	json_object_update_new(res, json_pack("{s:b,s:I,s:{s:I,s:I,s:I,s:I}}",
	    "push", push_enabled(&srv.conf), "push_pending",
	    (json_int_t)pending, "push_posts", "ok", (json_int_t)pok, "retry",
	    (json_int_t)pretry, "gone", (json_int_t)pgone, "dropped",
	    (json_int_t)pdropped));
	json_object_set_new(res, "version", json_string(PACKAGE_VERSION));
	ctl_ok(ctl, res);
}

/* log level: the daemon's log level until the next reload or restart. */
static void
cmd_log_level(struct ctl *ctl, json_t *args)
{
	static const char *const names[] = { "error", "warn", "info",
	    "debug" };
	const char	*level = ctl_arg(args, 0);
	int		 i;

	for (i = 0; i < 4; i++) {
		if (strcmp(level, names[i]) == 0)
			break;
	}
	if (i == 4) {
		ctl_error(ctl, "bad log level \"%s\": error, warn, info or "
		    "debug", level);
		return;
	}
	srv.conf.log_level = i;
	log_setlevel(i);
	log_info("control: uid %u: log level %s", (unsigned)ctl->uid,
	    names[i]);
	ctl_ok(ctl, json_pack("{s:s}", "log_level", names[i]));
}

/*
 * reload: as SIGHUP, answering its report (tickctl(8) reload); any failed
 * part makes the answer an error, with the report alongside.
 */
static void
cmd_reload(struct ctl *ctl, json_t *args)
{
	json_t	*report, *failed, *v;
	char	*msg = NULL, *next;
	size_t	 i;

	(void)args;
	log_info("control: uid %u: reload", (unsigned)ctl->uid);
	report = server_reload();
	failed = json_object_get(report, "failed");
	if (json_array_size(failed) == 0) {
		ctl_ok(ctl, report);
		return;
	}
	json_array_foreach(failed, i, v) {
		xasprintf(&next, "%s%s%s", msg == NULL ? "" : msg,
		    msg == NULL ? "" : "; ", json_string_value(v));
		free(msg);
		msg = next;
	}
	json_object_set_new(report, "ok", json_false());
	json_object_set_new(report, "error", json_string(msg));
	free(msg);
	ctl_send(ctl, report);
	json_decref(report);
}

/* report callback of admin_verify: one line into an array. */
static void
ctl_problem(void *arg, const char *line)
{
	json_array_append_new(arg, json_string(line));
}

/* A repair under way, a step each turn of the loop. */
struct ctl_repair {
	struct ctl	*ctl;
	struct event	*ev;
	struct verify	*v;
	json_t		*lines;		/* the report of the step */
	json_t		*res;		/* the summary, after the last step */
	size_t		 sent;		/* report lines written so far */
	uint64_t	 problems;
	LIST_ENTRY(ctl_repair) entry;	/* in repairs */
};

/* Ends a repair: the last of its answer, then the next command. */
static void
ctl_repair_end(struct ctl_repair *rp, json_t *tail)
{
	struct ctl	*ctl = rp->ctl;
	char		*text;
	size_t		 len;

	if (!ctl->c.dead && (text = ctl_line(tail, &len)) != NULL) {
		/* The tail's members follow the report: skip its '{'. */
		conn_write_raw(&ctl->c, "],", 2);
		conn_write_raw(&ctl->c, text + 1, len - 1);
		free(text);
		ctl->c.busy = 0;
		ctl_process(ctl);
	} else if (!ctl->c.dead)
		conn_free_later(&ctl->c);
	json_decref(tail);
	json_decref(rp->lines);
	json_decref(rp->res);
	admin_verify_free(rp->v);
	LIST_REMOVE(rp, entry);
	event_free(rp->ev);
	conn_unref(&ctl->c);
	free(rp);
}

/* Ends a repair with an error after the report written so far. */
static void
ctl_repair_fail(struct ctl_repair *rp, const char *error)
{
	log_warnx("control: uid %u: repair: %s after %llu problems",
	    (unsigned)rp->ctl->uid, error, (unsigned long long)rp->problems);
	ctl_repair_end(rp, json_pack("{s:b,s:s}", "ok", 0, "error", error));
}

/*
 * After the commit of a step: its report lines go out, being true now,
 * and the next step is due, or the summary ends the answer.  A failed
 * commit ends it with an error: the fixes of that step were not kept.
 */
static void
ctl_repair_committed(void *arg, int ok)
{
	struct ctl_repair	*rp = arg;
	struct ctl		*ctl = rp->ctl;
	struct timeval		 now = { 0, 0 };
	json_t			*v;
	char			*text;
	size_t			 i;

	if (ctl->c.dead) {
		ctl_repair_end(rp, json_object());
		return;
	}
	if (!ok) {
		ctl_repair_fail(rp, "a step of the repair was not committed: "
		    "the store is full or failed; see the daemon's log");
		return;
	}
	json_array_foreach(rp->lines, i, v) {
		if ((text = json_dumps(v, JSON_ENCODE_ANY)) == NULL) {
			ctl_repair_fail(rp, "cannot encode the report");
			return;
		}
		if (rp->sent++ != 0)
			conn_write_raw(&ctl->c, ",", 1);
		conn_write_raw(&ctl->c, text, strlen(text));
		free(text);
	}
	rp->problems += json_array_size(rp->lines);
	json_array_clear(rp->lines);
	if (rp->res == NULL) {
		evtimer_add(rp->ev, &now);
		return;
	}
	log_info("control: uid %u: repair: %llu problems", (unsigned)ctl->uid,
	    (unsigned long long)rp->problems);
	json_object_set_new(rp->res, "ok", json_true());
	v = rp->res;
	rp->res = NULL;
	ctl_repair_end(rp, v);
}

/*
 * One step of a repair, in this turn's write transaction: the next
 * CTL_REPAIR_SLICE records checked and what is wrong among them fixed,
 * and after the last step media and push, which are small; its report
 * waits for the commit (ctl_repair_committed).  While tickctl lags by
 * CTL_LIST_OUT_MAX the next step waits.
 */
static void
ctl_repair_cb(evutil_socket_t fd, short events, void *arg)
{
	struct ctl_repair	*rp = arg;
	struct ctl		*ctl = rp->ctl;
	struct timeval		 later = { 0, 10000 };
	struct txn		*txn;
	int			 ret, done;

	(void)fd; (void)events;
	if (ctl->c.dead || ctl->c.bev == NULL) {
		ctl_repair_end(rp, json_object());
		return;
	}
	if (evbuffer_get_length(bufferevent_get_output(ctl->c.bev)) >
	    CTL_LIST_OUT_MAX) {
		evtimer_add(rp->ev, &later);
		return;
	}
	if ((txn = batch_txn()) == NULL) {
		ctl_repair_fail(rp, "store error; see the daemon's log");
		return;
	}
	/*
	 * Mids handed out in this turn are saved at its commit: save the
	 * mark now, or their items would look above it.
	 */
	ret = srv.midgen.dirty ? store_mid_save(txn, &srv.midgen.last) :
	    STORE_OK;
	if (ret == STORE_OK)
		ret = admin_verify_step(rp->v, txn, CTL_REPAIR_SLICE,
		    ctl_problem, rp->lines, &done);
	if (ret == STORE_OK && done) {
		rp->res = admin_verify_summary(rp->v);
		if ((ret = media_verify(txn, &srv.midgen, media_http_dir(),
		    1, ctl_problem, rp->lines, rp->res)) == STORE_OK)
			ret = push_verify(txn, 1, ctl_problem, rp->lines,
			    rp->res);
	}
	if (ret != STORE_OK) {
		/* The txn's sticky error fails this turn's commit. */
		ctl_repair_fail(rp, ret == STORE_FULL ? "the store is full "
		    "(map_size)" : "store error; see the daemon's log");
		return;
	}
	batch_defer_call(&ctl->c, ctl_repair_committed, rp);
}

/*
 * repair: verify with fixes, in steps between turns of the loop, each in
 * the turn's write transaction (admin_verify_step); the answer's report
 * is streamed as each step commits, its summary after the last.
 */
static void
cmd_repair(struct ctl *ctl, json_t *args)
{
	struct ctl_repair	*rp;
	struct timeval		 now = { 0, 0 };
	static const char	 head[] = "{\"report\":[";

	(void)args;
	rp = xcalloc(1, sizeof *rp);
	rp->ctl = ctl;
	if ((rp->ev = evtimer_new(srv.base, ctl_repair_cb, rp)) == NULL) {
		free(rp);
		ctl_error(ctl, "out of resources");
		return;
	}
	rp->v = admin_verify_new(1);
	rp->lines = json_array();
	log_info("control: uid %u: repair", (unsigned)ctl->uid);
	/* "ok" comes in the tail, true or false, once the steps are over. */
	conn_write_raw(&ctl->c, head, sizeof head - 1);
	ctl->c.busy = 1;
	conn_ref(&ctl->c);
	LIST_INSERT_HEAD(&repairs, rp, entry);
	evtimer_add(rp->ev, &now);
}

/* audit: the audit log's state, spool and last shipped event. */
static void
cmd_audit(struct ctl *ctl, json_t *args)
{
	(void)args;
	ctl_ok(ctl, audit_status());
}

/*
 * How this node spells its media IDs (tickd-cluster(7) Home nodes):
 * after its name in a cluster; NULL, bare, on a single node.
 */
static const char *
ctl_media_node(void)
{
	return (cluster_on() ? srv.conf.node_name : NULL);
}

/* media list: a user's media IDs. */
static void
cmd_media_list(struct ctl *ctl, json_t *args)
{
	struct txn	 txn;
	const char	*user = ctl_arg(args, 0);
	json_t		*res = NULL;
	int		 ret;

	if (ctl_check_user(ctl, user) != 0)
		return;
	if ((ret = store_txn_begin(srv.store, &txn, 0)) == STORE_OK) {
		ret = media_admin_list(&txn, ctl_media_node(), user, now_ms(),
		    srv.conf.media_ttl, &res);
		store_txn_abort(&txn);
	}
	ctl_query(ctl, ret, res, "user", user);
}

/* media show: one media ID's record. */
static void
cmd_media_show(struct ctl *ctl, json_t *args)
{
	struct txn	 txn;
	const char	*id = ctl_arg(args, 0);
	json_t		*res = NULL;
	int		 ret;

	if ((ret = store_txn_begin(srv.store, &txn, 0)) == STORE_OK) {
		ret = media_admin_show(&txn, ctl_media_node(), id, now_ms(),
		    srv.conf.media_ttl, &res);
		store_txn_abort(&txn);
	}
	ctl_query(ctl, ret, res, "media", id);
}

/* media del: deletes a media ID whoever uploaded it. */
static void
cmd_media_del(struct ctl *ctl, json_t *args)
{
	struct txn	*txn;
	const char	*id = ctl_arg(args, 0);
	json_t		*res;
	uint8_t		 bytes[MEDIA_ID_BYTES];
	int		 ret;

	if ((txn = ctl_batch(ctl)) == NULL)
		return;
	if ((ret = media_admin_del(txn, ctl_media_node(), id, &res)) ==
	    STORE_NOTFOUND) {
		ctl_error(ctl, "no such media: %s", id);
		return;
	}
	if (ret != STORE_OK) {
		ctl_store_error(ctl, ret);
		return;
	}
	log_info("control: uid %u: deleted media %s", (unsigned)ctl->uid, id);
	if (cluster_on() && media_id_read(ctl_media_node(), id, strlen(id),
	    bytes) == 0)
		cluster_media_live(bytes, 0);
	ctl_ok_durable(ctl, res);
}

/* group list: every group with its owner, size and version. */
static void
cmd_group_list(struct ctl *ctl, json_t *args)
{
	struct txn	 txn;
	json_t		*res = NULL;
	int		 ret;

	(void)args;
	if ((ret = store_txn_begin(srv.store, &txn, 0)) == STORE_OK) {
		ret = admin_group_list(&txn, &res);
		store_txn_abort(&txn);
	}
	ctl_query(ctl, ret, res, "group", "");
}

/* group show: one group, its members, roles and version. */
static void
cmd_group_show(struct ctl *ctl, json_t *args)
{
	struct txn	 txn;
	const char	*group = ctl_arg(args, 0);
	json_t		*res = NULL;
	int		 ret;

	if (!valid_group(group, strlen(group))) {
		ctl_error(ctl, "bad group name: %s", group);
		return;
	}
	if ((ret = store_txn_begin(srv.store, &txn, 0)) == STORE_OK) {
		ret = admin_group_show(&txn, group, &res);
		store_txn_abort(&txn);
	}
	ctl_query(ctl, ret, res, "group", group);
}

/*
 * group del: as if every member left, the owner last, so that every
 * member device gets the events (tickctl(8)).
 */
static void
cmd_group_del(struct ctl *ctl, json_t *args)
{
	struct targets	 t;
	struct txn	*txn;
	const char	*group = ctl_arg(args, 0);
	uint64_t	 n;
	int		 ret;

	if (!valid_group(group, strlen(group))) {
		ctl_error(ctl, "bad group name: %s", group);
		return;
	}
	if ((txn = ctl_batch(ctl)) == NULL)
		return;
	memset(&t, 0, sizeof t);
	ret = group_delete(txn, &srv.midgen, &srv.conf, group, now_ms(), &t,
	    &n);
	if (ret == STORE_OK) {
		pump_targets(&t);
		/*
		 * Its mirror goes too (tickd-cluster(7), Groups across
		 * nodes).
		 */
		cluster_group_changed(group);
	}
	targets_free(&t);
	if (ret == STORE_NOTFOUND) {
		ctl_error(ctl, "no such group: %s", group);
		return;
	}
	if (ret != STORE_OK) {
		ctl_store_error(ctl, ret);
		return;
	}
	log_info("control: uid %u: deleted group %s (%llu members)",
	    (unsigned)ctl->uid, group, (unsigned long long)n);
	ctl_ok_durable(ctl, json_pack("{s:s,s:I}", "group", group, "members",
	    (json_int_t)n));
}

/* push show: the endpoints and pending notifications of a user or device. */
static void
cmd_push_show(struct ctl *ctl, json_t *args)
{
	struct txn	 txn;
	char		 user[NAME_USER_MAX + 1], device[NAME_DEVICE_MAX + 1];
	json_t		*res = NULL;
	int		 ret;

	if (ctl_target(ctl, ctl_arg(args, 0), user, device) != 0)
		return;
	if ((ret = store_txn_begin(srv.store, &txn, 0)) == STORE_OK) {
		ret = push_admin_show(&txn, user, device[0] != '\0' ? device :
		    NULL, &res);
		store_txn_abort(&txn);
	}
	ctl_query(ctl, ret, res, "user or device", ctl_arg(args, 0));
}

/* push del: a device's endpoint and pending notification. */
static void
cmd_push_del(struct ctl *ctl, json_t *args)
{
	struct txn	*txn;
	char		 user[NAME_USER_MAX + 1], device[NAME_DEVICE_MAX + 1];
	json_t		*res;
	int		 ret;

	if (ctl_target(ctl, ctl_arg(args, 0), user, device) != 0)
		return;
	if (device[0] == '\0') {
		ctl_error(ctl, "push del needs user:device");
		return;
	}
	if ((txn = ctl_batch(ctl)) == NULL)
		return;
	if ((ret = push_admin_del(txn, user, device, &res)) ==
	    STORE_NOTFOUND) {
		ctl_error(ctl, "no push endpoint: %s:%s", user, device);
		return;
	}
	if (ret != STORE_OK) {
		ctl_store_error(ctl, ret);
		return;
	}
	log_info("control: uid %u: deleted the push endpoint of %s:%s",
	    (unsigned)ctl->uid, user, device);
	ctl_ok_durable(ctl, res);
}

/* The commands of tickctl(8), looked up by ctl_request(). */
/* cluster status, nodes, outbox, forget, claim (tickctl(8), Cluster). */
static void
ctl_cluster(struct ctl *ctl, json_t *res, char *err, int durable)
{
	if (res == NULL) {
		ctl_error(ctl, "%s", err != NULL ? err : "failed");
		free(err);
		return;
	}
	if (durable)
		ctl_ok_durable(ctl, res);
	else
		ctl_ok(ctl, res);
}

/* cluster status: this node's link to the cluster. */
static void
cmd_cluster_status(struct ctl *ctl, json_t *args)
{
	json_t	*res;
	char	*err = NULL;

	(void)args;
	res = cluster_ctl_status(&err);
	ctl_cluster(ctl, res, err, 0);
}

/* cluster nodes: the nodes this one knows, alive or not. */
static void
cmd_cluster_nodes(struct ctl *ctl, json_t *args)
{
	json_t	*res;
	char	*err = NULL;

	(void)args;
	res = cluster_ctl_nodes(&err);
	ctl_cluster(ctl, res, err, 0);
}

/* cluster outbox: records waiting per destination. */
static void
cmd_cluster_outbox(struct ctl *ctl, json_t *args)
{
	json_t	*res;
	char	*err = NULL;

	(void)args;
	res = cluster_ctl_outbox(&err);
	ctl_cluster(ctl, res, err, 0);
}

/* cluster forget NODE: see tickd-cluster(7). */
static void
cmd_cluster_forget(struct ctl *ctl, json_t *args)
{
	json_t	*res;
	char	*err = NULL;

	res = cluster_ctl_forget(ctl_arg(args, 0), &err);
	ctl_cluster(ctl, res, err, 1);
}

/* cluster claim NAME: see tickd-cluster(7), Name conflicts. */
static void
cmd_cluster_claim(struct ctl *ctl, json_t *args)
{
	json_t	*res;
	char	*err = NULL;

	res = cluster_ctl_claim(ctl_arg(args, 0), &err);
	ctl_cluster(ctl, res, err, 1);
}

static const struct ctl_cmd ctl_cmds[] = {
	{ .name = "user add", .fn = cmd_user_add, .nargs = 2 },
	{ .name = "user del", .fn = cmd_user_del, .nargs = 1 },
	{ .name = "user passwd", .fn = cmd_user_passwd, .nargs = 2 },
	{ .name = "user import", .fn = cmd_user_import, .nargs = 2 },
	{ .name = "user list", .fn = cmd_user_list, .nargs = 0 },
	{ .name = "user show", .fn = cmd_user_show, .nargs = 1 },
	{ .name = "device list", .fn = cmd_device_list, .nargs = 1 },
	{ .name = "device del", .fn = cmd_device_del, .nargs = 2 },
	{ .name = "queue show", .fn = cmd_queue_show, .nargs = 1 },
	{ .name = "queue purge", .fn = cmd_queue_purge, .nargs = 1 },
	{ .name = "block list", .fn = cmd_block_list, .nargs = 1 },
	{ .name = "token revoke", .fn = cmd_token_revoke, .nargs = 1 },
	{ .name = "stats", .fn = cmd_stats, .nargs = 0 },
	{ .name = "log level", .fn = cmd_log_level, .nargs = 1 },
	{ .name = "reload", .fn = cmd_reload, .nargs = 0 },
	{ .name = "repair", .fn = cmd_repair, .nargs = 0 },
	{ .name = "audit", .fn = cmd_audit, .nargs = 0 },
	{ .name = "group list", .fn = cmd_group_list, .nargs = 0 },
	{ .name = "group show", .fn = cmd_group_show, .nargs = 1 },
	{ .name = "group del", .fn = cmd_group_del, .nargs = 1 },
	{ .name = "media list", .fn = cmd_media_list, .nargs = 1 },
	{ .name = "media show", .fn = cmd_media_show, .nargs = 1 },
	{ .name = "media del", .fn = cmd_media_del, .nargs = 1 },
	{ .name = "push show", .fn = cmd_push_show, .nargs = 1 },
	{ .name = "push del", .fn = cmd_push_del, .nargs = 1 },
	{ .name = "cluster status", .fn = cmd_cluster_status, .nargs = 0 },
	{ .name = "cluster nodes", .fn = cmd_cluster_nodes, .nargs = 0 },
	{ .name = "cluster outbox", .fn = cmd_cluster_outbox, .nargs = 0 },
	{ .name = "cluster forget", .fn = cmd_cluster_forget, .nargs = 1 },
	{ .name = "cluster claim", .fn = cmd_cluster_claim, .nargs = 1 },
};

/*
 * One request line: check its version, command and arguments, then run
 * it.  A line that is not a request, or of another version, is answered
 * and the connection closed.
 */
static void
ctl_request(struct ctl *ctl, const char *line, size_t len)
{
	const struct ctl_cmd	*cmd = NULL;
	json_t			*req, *v, *args, *a;
	const char		*name;
	size_t			 i;

	req = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
	v = json_object_get(req, "v");
	if (!json_is_object(req) || !json_is_integer(v)) {
		ctl_error(ctl, "not a control request: one JSON object per "
		    "line with \"v\", \"cmd\" and \"args\"");
		conn_close_after_output(&ctl->c);
		goto out;
	}
	if (json_integer_value(v) != CONTROL_VERSION) {
		ctl_error(ctl, "control protocol version %lld is not "
		    "supported; this tickd speaks version %d: use the "
		    "tickctl of the same release",
		    (long long)json_integer_value(v), CONTROL_VERSION);
		conn_close_after_output(&ctl->c);
		goto out;
	}
	name = json_string_value(json_object_get(req, "cmd"));
	args = json_object_get(req, "args");
	if (args == NULL)
		args = json_array();
	else
		json_incref(args);
	for (i = 0; name != NULL && i < sizeof ctl_cmds / sizeof ctl_cmds[0];
	    i++) {
		if (strcmp(ctl_cmds[i].name, name) == 0) {
			cmd = &ctl_cmds[i];
			break;
		}
	}
	if (cmd == NULL)
		ctl_error(ctl, "unknown command \"%s\"", name != NULL ? name :
		    "");
	else if (!json_is_array(args) ||
	    json_array_size(args) != (size_t)cmd->nargs)
		ctl_error(ctl, "%s takes %d arguments", cmd->name,
		    cmd->nargs);
	else {
		json_array_foreach(args, i, a) {
			if (!json_is_string(a))
				break;
		}
		if (i != json_array_size(args))
			ctl_error(ctl, "the arguments of %s must be strings",
			    cmd->name);
		else
			cmd->fn(ctl, args);
	}
	json_decref(args);
out:
	json_decref(req);
}

/*
 * Runs every complete request line, one at a time.  After a write, the
 * next request waits until its answer went out after the commit, so it
 * sees what the write did; the write callback resumes.
 */
static void
ctl_process(struct ctl *ctl)
{
	struct evbuffer	*in;
	struct timeval	 tv = { CONTROL_IDLE_SECONDS, 0 };
	char		*line;
	size_t		 len;

	if (ctl->c.dead || ctl->c.bev == NULL)
		return;
	in = bufferevent_get_input(ctl->c.bev);
	while (!ctl->c.busy && !ctl->c.dead && !ctl->c.closing &&
	    ctl->c.ndeferred == 0) {
		line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF);
		if (line == NULL) {
			if (evbuffer_get_length(in) > CONTROL_LINE_MAX) {
				ctl_error(ctl, "request longer than %d bytes",
				    CONTROL_LINE_MAX);
				conn_close_after_output(&ctl->c);
			}
			break;
		}
		if (len > CONTROL_LINE_MAX) {
			ctl_error(ctl, "request longer than %d bytes",
			    CONTROL_LINE_MAX);
			conn_close_after_output(&ctl->c);
		} else
			ctl_request(ctl, line, len);
		OPENSSL_cleanse(line, len);
		free(line);
		evtimer_add(ctl->c.timer, &tv);
	}
}

/* Input arrived: run the requests it completes. */
static void
ctl_read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	ctl_process(arg);
}

/* Output drained: close if closing, else resume held requests. */
static void
ctl_write_cb(struct bufferevent *bev, void *arg)
{
	struct ctl	*ctl = arg;

	(void)bev;
	conn_check_closing(&ctl->c);
	ctl_process(ctl);
}

/* EOF or an error on the socket: the connection goes. */
static void
ctl_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct ctl	*ctl = arg;

	(void)bev; (void)what;
	conn_free_later(&ctl->c);
}

/* A connection idle for CONTROL_IDLE_SECONDS is closed. */
static void
ctl_idle_cb(evutil_socket_t fd, short events, void *arg)
{
	struct ctl	*ctl = arg;

	(void)fd; (void)events;
	if (!ctl->c.busy)
		conn_free_later(&ctl->c);
}

/*
 * A new peer on the socket: root or the daemon's own uid only (asked of
 * the kernel, not read from the file's mode), within the per-uid cap.
 */
static void
ctl_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct ctl	*ctl;
	struct ucred	 cred;
	socklen_t	 len = sizeof cred;
	struct timeval	 tv = { CONTROL_IDLE_SECONDS, 0 };
	unsigned	 same;
	char		 name[64];

	(void)l; (void)sa; (void)salen; (void)arg;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
		log_warn("control: SO_PEERCRED");
		evutil_closesocket(fd);
		return;
	}
	ctl = xcalloc(1, sizeof *ctl);
	ctl->uid = cred.uid;
	ctl->pid = cred.pid;
	snprintf(name, sizeof name, "control uid %u pid %ld",
	    (unsigned)cred.uid, (long)cred.pid);
	conn_set_peer(&ctl->c, name, "");
	ctl->c.bev = bufferevent_socket_new(srv.base, fd,
	    BEV_OPT_CLOSE_ON_FREE);
	ctl->c.timer = evtimer_new(srv.base, ctl_idle_cb, ctl);
	conn_link(&ctl->c);
	conn_ref(&ctl->c);
	if (ctl->c.bev == NULL || ctl->c.timer == NULL) {
		log_warnx("control: out of resources");
		if (ctl->c.bev == NULL)
			evutil_closesocket(fd);
		conn_free_later(&ctl->c);
		TAILQ_INSERT_TAIL(&ctls, ctl, entry);
		return;
	}
	ctl_prune(cred.uid, &same);
	TAILQ_INSERT_TAIL(&ctls, ctl, entry);
	bufferevent_setcb(ctl->c.bev, ctl_read_cb, ctl_write_cb, ctl_event_cb,
	    ctl);
	bufferevent_setwatermark(ctl->c.bev, EV_READ, 0, CONTROL_LINE_MAX + 2);
	bufferevent_enable(ctl->c.bev, EV_READ | EV_WRITE);
	evtimer_add(ctl->c.timer, &tv);
	if (cred.uid != 0 && cred.uid != geteuid()) {
		log_warnx("control: refused uid %u (pid %ld): only root and "
		    "the daemon's user may control it", (unsigned)cred.uid,
		    (long)cred.pid);
		ctl_error(ctl, "permission denied: uid %u may not control "
		    "tickd", (unsigned)cred.uid);
		conn_close_after_output(&ctl->c);
		return;
	}
	if (same >= CONTROL_CONNS_PER_UID) {
		log_warnx("control: refused uid %u (pid %ld): %d connections "
		    "already", (unsigned)cred.uid, (long)cred.pid,
		    CONTROL_CONNS_PER_UID);
		ctl_error(ctl, "too many control connections for uid %u",
		    (unsigned)cred.uid);
		conn_close_after_output(&ctl->c);
		return;
	}
	log_debug("control: %s connected", ctl->c.addr);
}

/* Takes a sample of the counters the rates of stats come from. */
static void
ctl_rate_cb(evutil_socket_t fd, short events, void *arg)
{
	struct ctl_sample	*s = &samples[sample_next];
	struct timeval		 tv = { 1, 0 };

	(void)fd; (void)events; (void)arg;
	s->at = now_ms();
	s->accepted = srv.stats.accepted;
	s->delivered = srv.stats.delivered;
	s->commits = srv.stats.commits;
	s->lat_sum = srv.stats.commit_lat_sum;
	sample_next = (sample_next + 1) % RATE_SAMPLES;
	if (nsamples < RATE_SAMPLES)
		nsamples++;
	evtimer_add(ctl_rate_ev, &tv);
}

/*
 * Whether path is the socket of a live daemon: a stale socket file left
 * by a crash is removed, anything that is not a socket is refused.
 */
static int
ctl_stale(const char *path, char **cause)
{
	struct sockaddr_un	 sun;
	struct stat		 st;
	int			 fd, live;

	if (lstat(path, &st) == -1) {
		if (errno == ENOENT)
			return (0);
		xasprintf(cause, "control_socket %s: %s", path,
		    strerror(errno));
		return (-1);
	}
	if (!S_ISSOCK(st.st_mode)) {
		xasprintf(cause, "control_socket %s exists and is not a socket",
		    path);
		return (-1);
	}
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, path, sizeof sun.sun_path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		xasprintf(cause, "socket: %s", strerror(errno));
		return (-1);
	}
	live = connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0;
	close(fd);
	if (live) {
		xasprintf(cause, "control_socket %s is in use by another tickd",
		    path);
		return (-1);
	}
	if (unlink(path) == -1) {
		xasprintf(cause, "cannot remove the stale control_socket %s: "
		    "%s", path, strerror(errno));
		return (-1);
	}
	return (0);
}

/*
 * Creates the socket's directory if it is missing, owned by the daemon.
 * One that exists is left as it is, but if the user tickd will run as
 * does not own it, the socket cannot be removed at exit: that is said,
 * with the fix (tickd(8) FILES).
 */
static int
ctl_mkdir(const char *path, uid_t uid, gid_t gid, char **cause)
{
	struct stat	 st;
	char		*copy, *dir;
	int		 ret = 0;

	copy = xstrdup(path);
	dir = dirname(copy);
	if (mkdir(dir, 0750) == 0) {
		if (geteuid() == 0 && chown(dir, uid, gid) == -1) {
			xasprintf(cause, "chown %s: %s", dir, strerror(errno));
			ret = -1;
		}
	} else if (errno != EEXIST) {
		xasprintf(cause, "cannot create %s for control_socket: %s",
		    dir, strerror(errno));
		ret = -1;
	} else if (uid != geteuid() && stat(dir, &st) == 0 &&
	    st.st_uid != uid)
		log_warnx("control: %s belongs to uid %u, not to uid %u that "
		    "tickd runs as, which cannot remove its socket there at "
		    "exit; chown %u:%u %s", dir, (unsigned)st.st_uid,
		    (unsigned)uid, (unsigned)uid, (unsigned)gid, dir);
	free(copy);
	return (ret);
}

/*
 * Binds the control socket (before privileges are dropped): mode 0660,
 * owned by the user the daemon will run as.
 */
int
control_init(char **cause)
{
	struct sockaddr_un	 sun;
	struct stat		 st;
	struct timeval		 tv = { 1, 0 };
	const char		*path = srv.conf.control_socket;
	mode_t			 old;
	uid_t			 uid;
	gid_t			 gid;
	int			 fd;

	ctl_started = now_ms();
	priv_ids(&uid, &gid);
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof sun.sun_path) >=
	    sizeof sun.sun_path) {
		xasprintf(cause, "control_socket %s: longer than %zu bytes",
		    path, sizeof sun.sun_path - 1);
		return (-1);
	}
	if (ctl_mkdir(path, uid, gid, cause) != 0 ||
	    ctl_stale(path, cause) != 0)
		return (-1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		xasprintf(cause, "socket: %s", strerror(errno));
		return (-1);
	}
	old = umask(0117);
	if (bind(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		umask(old);
		xasprintf(cause, "cannot bind control_socket %s: %s", path,
		    strerror(errno));
		close(fd);
		return (-1);
	}
	umask(old);
	if (chmod(path, 0660) == -1 || (geteuid() == 0 &&
	    chown(path, uid, gid) == -1) || stat(path, &st) == -1) {
		xasprintf(cause, "control_socket %s: %s", path,
		    strerror(errno));
		close(fd);
		unlink(path);
		return (-1);
	}
	ctl_ino = st.st_ino;
	ctl_path = xstrdup(path);
	evutil_make_socket_nonblocking(fd);
	ctl_listener = evconnlistener_new(srv.base, ctl_accept_cb, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 16, fd);
	if (ctl_listener == NULL) {
		xasprintf(cause, "cannot listen on control_socket %s", path);
		close(fd);
		return (-1);
	}
	if ((ctl_rate_ev = evtimer_new(srv.base, ctl_rate_cb, NULL)) == NULL ||
	    evtimer_add(ctl_rate_ev, &tv) != 0) {
		*cause = xstrdup("cannot set up the control timer");
		return (-1);
	}
	ctl_rate_cb(-1, 0, NULL);
	return (0);
}

/*
 * Closes the control socket and removes it if it is still ours; the
 * connections were reaped with the others by server_free().
 */
void
control_free(void)
{
	struct ctl	*ctl;
	struct stat	 st;

	while (!LIST_EMPTY(&ulists))
		ctl_ulist_free(LIST_FIRST(&ulists));
	while (!LIST_EMPTY(&repairs))
		ctl_repair_end(LIST_FIRST(&repairs), json_object());
	while ((ctl = TAILQ_FIRST(&ctls)) != NULL) {
		TAILQ_REMOVE(&ctls, ctl, entry);
		conn_unref(&ctl->c);
	}
	if (ctl_listener != NULL)
		evconnlistener_free(ctl_listener);
	ctl_listener = NULL;
	if (ctl_rate_ev != NULL)
		event_free(ctl_rate_ev);
	ctl_rate_ev = NULL;
	if (ctl_path != NULL && stat(ctl_path, &st) == 0 &&
	    st.st_ino == ctl_ino && unlink(ctl_path) == -1)
		log_warnx("control: cannot remove %s: %s", ctl_path,
		    strerror(errno));
	free(ctl_path);
	ctl_path = NULL;
}
