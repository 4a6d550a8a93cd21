/* SPDX-License-Identifier: ISC */
/*
 * proto.c: the client protocol's ops, one table of name -> handler.
 *
 * A handler validates its frame completely before it changes anything, so
 * a bad_request never leaves half an effect behind.  Writes go into the
 * turn's batch; replies sent meanwhile wait for its commit (server.c).
 */
#include <stdlib.h>
#include <string.h>

#include "tickd.h"

#define OP_NOAUTH	0x01	/* allowed before authentication */
#define PROTO_ERRORS_MAX 10	/* then the connection is closed, 1008 */

/*
 * An op of tickd-protocol(7) MESSAGES and after.  Its fields come in the
 * order of every command table (ops here, resp_cmds, ctl_cmds, conf_table):
 * the name, the handler, then flags and limits; rows use designated
 * initializers in that order.
 */
struct op {
	const char	*name;
	void		(*fn)(struct conn *, json_t *, json_t *);
	int		 flags;		/* OP_* */
};

/* Counts a protocol error; past the limit the connection is closed. */
void
proto_error(struct conn *c, enum tick_err code, const char *message,
    json_t *ref, json_t *id)
{
	ws_send_error(c, code, message, ref, id);
	if (++c->errors > PROTO_ERRORS_MAX)
		ws_close(c, 1008, "too many protocol errors");
}

/* {"op":"ok","ref"} when the request carried a ref. */
static void
reply_ok(struct conn *c, json_t *ref)
{
	json_t	*obj;

	if (ref == NULL)
		return;
	obj = json_pack("{s:s,s:O}", "op", "ok", "ref", ref);
	ws_send_json(c, obj);
	json_decref(obj);
}

/*
 * The ok of a request that wrote: it waits for the commit, and becomes the
 * internal error if the commit fails, so that ok always means stored.
 */
static void
reply_stored(struct conn *c, json_t *ref)
{
	struct jbuf	 j;
	char		*text;
	size_t		 len;

	if (ref == NULL)
		return;
	jbuf_open(&j, "ok");
	jbuf_json(&j, "ref", ref);
	if ((text = jbuf_close(&j, &len)) == NULL) {
		log_warnx("proto: cannot encode a reply for %s", c->addr);
		return;
	}
	batch_defer_reply(c, text, len, ref, NULL);
}

/* An error frame for a store failure: internal, saying whether it was full. */
static void
store_error(struct conn *c, int ret, json_t *ref, json_t *id)
{
	ws_send_error(c, TE_INTERNAL, ret == STORE_FULL ? "store full" :
	    "store error", ref, id);
}

/*
 * Authenticates c with token; 0 if it is now authenticated.  A bad token
 * is told, then the connection is closed with 1008.
 */
int
proto_auth(struct conn *c, const char *token)
{
	struct token_rec tok;
	struct txn	*txn;
	const char	*url;
	char		 node[CLUSTER_NODE_MAX + 1];
	int		 ret;

	if (cluster_token_elsewhere(token, node, sizeof node, &url)) {
		cluster_ws_wrong_node(c, url);
		return (-1);
	}
	if ((txn = batch_txn()) == NULL) {
		ws_send_error(c, TE_INTERNAL, "store error", NULL, NULL);
		ws_close(c, 1011, "store error");
		return (-1);
	}
	ret = account_token_check(txn, token, now_ms(), &tok);
	if (ret != STORE_OK) {
		ws_send_error(c, ret == STORE_NOTFOUND ? TE_BAD_TOKEN :
		    TE_INTERNAL, ret == STORE_NOTFOUND ? "bad, expired or "
		    "revoked token" : "store error", NULL, NULL);
		ws_close(c, 1008, "bad token");
		return (-1);
	}
	/* Its name is another node's account's (tickd-cluster(7)). */
	if (cluster_held(txn, tok.user)) {
		ws_send_error(c, TE_BAD_TOKEN, "the account is held for a "
		    "name conflict", NULL, NULL);
		ws_close(c, 1008, "name conflict");
		return (-1);
	}
	ws_authenticated(c, &tok);
	return (0);
}

/* auth: a token given after the connection opened, before any other op. */
static void
op_auth(struct conn *c, json_t *req, json_t *ref)
{
	json_t	*token = json_object_get(req, "token");

	if (c->authed || !json_is_string(token)) {
		proto_error(c, TE_BAD_REQUEST, c->authed ? "already "
		    "authenticated" : "need \"token\"", ref, NULL);
		return;
	}
	proto_auth(c, json_string_value(token));
}

/* ping: answered at once with pong and the server's time. */
static void
op_ping(struct conn *c, json_t *req, json_t *ref)
{
	json_t	*obj;

	(void)req;
	obj = json_pack("{s:s,s:I}", "op", "pong", "time",
	    (json_int_t)now_ms());
	if (ref != NULL)
		json_object_set(obj, "ref", ref);
	ws_send_json(c, obj);
	json_decref(obj);
}

/*
 * The send of c to a user not known here waits for the cluster's directory
 * (tickd-cluster(7), Messages between nodes): then it runs again, or is
 * answered no_such_user, or unavailable with Redis unreachable.
 */
struct send_wait {
	struct conn		*c;
	struct proto_req	 r;
};
static int	send_rerun;	/* send_run runs after a lookup */

static void	send_run(struct conn *, struct proto_req *);

/* The directory answered the lookup of a send. */
static void
send_looked_up(void *arg, int status, const char *node)
{
	struct send_wait	*w = arg;

	(void)node;
	if (w->c->dead)
		status = -1;
	if (status == CLUSTER_FOUND && strcmp(node, srv.conf.node_name) != 0) {
		send_rerun = 1;
		send_run(w->c, &w->r);
		send_rerun = 0;
	} else if (status == CLUSTER_DOWN)
		ws_send_error(w->c, TE_UNAVAILABLE, "the cluster's directory "
		    "is unreachable; nothing was stored", w->r.ref, w->r.idv);
	else if (status != -1)
		ws_send_error(w->c, TE_NO_SUCH_USER, "no such user", w->r.ref,
		    w->r.idv);
	conn_unref(w->c);
	proto_req_free(&w->r);
	free(w);
}

/*
 * The mirror of a group homed on another node, read for a send of one of
 * its members homed here (tickd-cluster(7), Groups across nodes), while
 * send_run runs again with it.
 */
static const struct gmirror	*send_gm;

/* The mirror of a send's group was read: the send runs with it. */
static void
send_mirror_read(void *arg, int status, const struct gmirror *m)
{
	struct send_wait	*w = arg;

	if (!w->c->dead && status == CLUSTER_FOUND) {
		send_rerun = 1;
		send_gm = m;
		send_run(w->c, &w->r);
		send_gm = NULL;
		send_rerun = 0;
	} else if (!w->c->dead && status == CLUSTER_DOWN)
		ws_send_error(w->c, TE_UNAVAILABLE, "the group's mirror is "
		    "unreachable; nothing was stored", w->r.ref, w->r.idv);
	else if (!w->c->dead)
		ws_send_error(w->c, TE_NO_SUCH_GROUP, "no such group",
		    w->r.ref, w->r.idv);
	conn_unref(w->c);
	proto_req_free(&w->r);
	free(w);
}

/*
 * Starts the lookup of a send's recipient, see send_looked_up, or the
 * read of its group's mirror, see send_mirror_read.  The wait takes r
 * over, leaving it empty.
 */
static void
cluster_send_lookup(struct conn *c, struct proto_req *r)
{
	struct send_wait	*w;

	w = xcalloc(1, sizeof *w);
	w->c = c;
	w->r = *r;
	memset(r, 0, sizeof *r);
	conn_ref(c);
	if (w->r.to[0] == '#')
		cluster_group_mirror(w->r.to, c->user, send_mirror_read, w);
	else
		cluster_lookup(w->r.to, send_looked_up, w);
}

/*
 * Whether a send of user to group goes through the group's home on
 * another node: the group is not homed here, and user is a member as the
 * events applied here say.  1, 0, or a store error.
 */
static int
group_elsewhere(struct txn *txn, const char *user, const char *group)
{
	struct group_rec	g;
	struct crgroup_rec	cr;
	int			rc;

	if ((rc = store_group_get(txn, group, &g)) != STORE_NOTFOUND)
		return (rc == STORE_OK ? 0 : rc);
	if ((rc = store_crgroup_get(txn, user, group, &cr)) != STORE_OK)
		return (rc == STORE_NOTFOUND ? 0 : rc);
	return (1);
}

/*
 * A send naming media of other nodes waits for their owners' m:{ID}
 * (tickd-cluster(7), Media in messages between nodes): then it runs again,
 * or is answered no_such_media as an unknown ID of this node's would be, or
 * unavailable when Redis could not say.
 */
struct media_wait {
	struct conn		*c;
	struct proto_req	 r;
	size_t			 left;		/* checks not answered yet */
	int			 unknown, down;
};

/* Ends a media wait once every check answered. */
static void
media_wait_end(struct media_wait *w)
{
	if (!w->c->dead && w->unknown)
		ws_send_error(w->c, TE_NO_SUCH_MEDIA, "a media ID is not live; "
		    "nothing was stored", w->r.ref, w->r.idv);
	else if (!w->c->dead && w->down)
		ws_send_error(w->c, TE_UNAVAILABLE, "the media's owner node "
		    "cannot be asked; nothing was stored", w->r.ref, w->r.idv);
	else if (!w->c->dead) {
		w->r.media_checked = 1;
		send_run(w->c, &w->r);
	}
	conn_unref(w->c);
	proto_req_free(&w->r);
	free(w);
}

/* One owner's m:{ID} answered. */
static void
media_checked(void *arg, int status)
{
	struct media_wait	*w = arg;

	w->unknown |= status == CLUSTER_NONE;
	w->down |= status == CLUSTER_DOWN;
	if (--w->left == 0)
		media_wait_end(w);
}

/*
 * Whether c's send r repeats an id sent within dedup_window: its media
 * was checked then, and the repeat gets the first answer whatever became
 * of the media since (tickd-protocol(7) MESSAGES: the same id, the same
 * reply).
 */
static int
send_repeated(struct conn *c, const struct proto_req *r)
{
	struct send_req	 sreq;
	struct send_res	 res;
	struct txn	*txn;

	if ((txn = batch_txn()) == NULL)
		return (0);
	memset(&sreq, 0, sizeof sreq);
	memset(&res, 0, sizeof res);
	sreq.from = c->user;
	sreq.id = r->id;
	sreq.now = now_ms();
	return (queue_send_dup(txn, &srv.conf, &sreq, &res) == 1);
}

/*
 * In a cluster, spells each ID of r's media with its owner, this node's
 * own with node_name, so that other nodes know whose it is; then checks
 * those of other nodes (see media_wait), taking r over and returning 1,
 * or returns 0 when there are none.
 */
static int
media_remote_check(struct conn *c, struct proto_req *r)
{
	struct media_wait	*w;
	json_t			*a, *v;
	uint8_t			 id[MEDIA_ID_BYTES];
	char			 owner[MEDIA_NODE_MAX + 1];
	char			 ids[MEDIA_ID_LEN + 1];
	char			 name[MEDIA_NAME_MAX + 1];
	size_t			 i, n = 0;

	a = json_array();
	json_array_foreach(r->media, i, v) {
		if (media_id_owner(srv.conf.node_name, json_string_value(v),
		    json_string_length(v), owner, id) != 0)
			json_array_append(a, v);
		else if (owner[0] != '\0') {
			json_array_append(a, v);
			n++;
		} else {
			media_id_format(id, ids);
			snprintf(name, sizeof name, "%s.%s",
			    srv.conf.node_name, ids);
			json_array_append_new(a, json_string(name));
		}
	}
	json_decref(r->media);
	r->media = a;
	r->media_checked = 1;
	if (n == 0)
		return (0);
	w = xcalloc(1, sizeof *w);
	w->c = c;
	conn_ref(c);
	w->r = *r;
	memset(r, 0, sizeof *r);
	w->r.media_checked = 0;
	/* One more than the checks, so that none ends the wait early. */
	w->left = n + 1;
	json_array_foreach(w->r.media, i, v) {
		if (media_id_owner(srv.conf.node_name, json_string_value(v),
		    json_string_length(v), owner, id) != 0 || owner[0] == '\0')
			continue;
		if (cluster_media_check(json_string_value(v), media_checked,
		    w) != 0)
			media_checked(w, CLUSTER_DOWN);
	}
	media_checked(w, CLUSTER_FOUND);
	return (1);
}

/*
 * send, its members checked (proto-req.c): queue_send() decides; sent goes
 * out after the group commit, then the targets are pumped.
 */
static void
send_run(struct conn *c, struct proto_req *r)
{
	struct send_req	 sreq;
	struct send_res	 res;
	struct txn	*txn;
	const char	*to = r->to, *id = r->id;
	struct jbuf	 j;
	json_t		*ref = r->ref, *idv = r->idv;
	char		 mid[MID_STRLEN + 1], home[CLUSTER_NODE_MAX + 1];
	char		*ok;
	size_t		 oklen;
	int		 ret, where;

	if (r->media != NULL && !r->media_checked && cluster_on() &&
	    !send_repeated(c, r) && media_remote_check(c, r))
		return;
	if (!limit_send(c->user)) {
		srv.stats.rate_limited++;
		ws_send_error(c, TE_RATE_LIMITED, "send_rate exceeded; nothing "
		    "was stored", ref, idv);
		return;
	}
	if ((txn = batch_txn()) == NULL) {
		store_error(c, STORE_ERR, ref, idv);
		return;
	}
	memset(&sreq, 0, sizeof sreq);
	memset(&res, 0, sizeof res);
	sreq.from = c->user;
	sreq.from_device = c->device;
	sreq.to = to;
	sreq.id = id;
	sreq.body = r->body;
	sreq.body_text = r->body_text;
	sreq.body_len = r->body_len;
	sreq.media = r->media;
	sreq.media_remote_ok = r->media_checked;
	sreq.now = now_ms();
	where = cluster_on() && to[0] != '#' ?
	    cluster_where(txn, to, home) : CLUSTER_LOCAL;
	if (cluster_on() && to[0] == '#' && send_gm == NULL &&
	    (ret = group_elsewhere(txn, c->user, to)) != 0) {
		if (ret < 0)
			store_error(c, ret, ref, idv);
		else
			/* Its mirror is read, then this send runs again. */
			cluster_send_lookup(c, r);
		return;
	}
	if (where == CLUSTER_NONE && !send_rerun) {
		/* Not cached: ask the directory, then this send runs again. */
		cluster_send_lookup(c, r);
		return;
	}
	if (send_gm != NULL)
		ret = group_send_remote(txn, &srv.midgen, &srv.conf, &sreq,
		    send_gm, &res);
	else if (where == CLUSTER_FOUND)
		ret = queue_send_remote(txn, &srv.midgen, &srv.conf, &sreq,
		    home, &res);
	else if (where == CLUSTER_LOCAL)
		ret = queue_send(txn, &srv.midgen, &srv.conf, &sreq, &res);
	else {
		/* The lookup's answer could not be cached. */
		ws_send_error(c, TE_UNAVAILABLE, "the cluster's directory "
		    "could not be cached; nothing was stored", ref, idv);
		return;
	}
	if (ret != STORE_OK) {
		store_error(c, ret, ref, idv);
		goto out;
	}
	switch (res.err) {
	case TE_OK:
		break;
	case TE_NO_SUCH_USER:
		ws_send_error(c, res.err, "no such user", ref, idv);
		goto out;
	case TE_TOO_LARGE:
		ws_send_error(c, res.err, "body exceeds max_message_bytes",
		    ref, idv);
		goto out;
	case TE_QUEUE_FULL:
		ws_send_error(c, res.err, res.over_quota ? "your messages "
		    "waiting in queues reached max_user_bytes" :
		    "the recipient's queue is full", ref, idv);
		goto out;
	case TE_NO_SUCH_GROUP:
		ws_send_error(c, res.err, "no such group", ref, idv);
		goto out;
	case TE_FORBIDDEN:
		ws_send_error(c, res.err, "only admins may send to this group",
		    ref, idv);
		goto out;
	case TE_NO_SUCH_MEDIA:
		ws_send_error(c, res.err, "a media ID is not live; nothing "
		    "was stored", ref, idv);
		goto out;
	case TE_UNAVAILABLE:
		ws_send_error(c, res.err, "too many messages wait for other "
		    "nodes (cluster_outbox_max)", ref, idv);
		goto out;
	default:
		ws_send_error(c, res.err, NULL, ref, idv);
		goto out;
	}
	mid_format(&res.mid, mid);
	jbuf_open(&j, "sent");
	jbuf_str(&j, "id", id);
	jbuf_str(&j, "mid", mid);
	jbuf_str(&j, "to", res.to);
	jbuf_uint(&j, "ts", res.ts);
	if (res.group) {
		jbuf_uint(&j, "expect", res.expect);
		jbuf_uint(&j, "skipped", res.skipped);
		if (!res.dup) {
			srv.stats.group_items += res.items;
			srv.stats.group_skipped += res.skipped;
		}
	}
	if (ref != NULL)
		jbuf_json(&j, "ref", ref);
	if (res.dup)
		jbuf_raw(&j, "dup", "true", 4);
	else
		srv.stats.accepted++;
	if ((ok = jbuf_close(&j, &oklen)) == NULL) {
		log_warnx("proto: cannot encode a reply for %s", c->addr);
		goto out;
	}
	batch_defer_reply(c, ok, oklen, ref, idv);
	pump_targets(&res.targets);
	push_sent(txn, c->user, &res);
out:
	targets_free(&res.targets);
}

/* One mid of an ack frame f: the item leaves this device's queue. */
static int
ack_one(struct conn *c, struct txn *txn, struct ack_frame *f,
    const struct mid *mid)
{
	struct ack_res	res;
	int		ret;

	memset(&res, 0, sizeof res);
	ret = queue_ack_mid(txn, &srv.midgen, &srv.conf, f, mid, now_ms(),
	    &res);
	if (ret == STORE_OK && res.deleted) {
		srv.stats.acked++;
		if (mid_cmp(mid, &c->cursor) <= 0 && c->inflight > 0)
			c->inflight--;
	}
	srv.stats.receipts += res.targets.n != 0;
	pump_targets(&res.targets);
	targets_free(&res.targets);
	return (ret);
}

/* One mid of a read: the read receipt, if one is due. */
static int
read_one(struct conn *c, struct txn *txn, struct ack_frame *f,
    const struct mid *mid)
{
	struct targets	t;
	int		ret;

	(void)f;
	memset(&t, 0, sizeof t);
	ret = queue_read(txn, &srv.midgen, &srv.conf, c->user, mid, now_ms(),
	    &t);
	srv.stats.receipts += t.n != 0;
	pump_targets(&t);
	targets_free(&t);
	return (ret);
}

/*
 * ack and read, their mids checked (proto-req.c): each mid handed to one()
 * in the batch, an ack's within one ack frame f (NULL for a read).  The
 * ok waits for the commit; 0 if every mid was taken.
 */
static int
mids_run(struct conn *c, const struct proto_req *r, struct ack_frame *f,
    int (*one)(struct conn *, struct txn *, struct ack_frame *,
    const struct mid *))
{
	struct txn	*txn;
	size_t		 i;
	int		 ret = STORE_OK, eret;

	if ((txn = batch_txn()) == NULL) {
		store_error(c, STORE_ERR, r->ref, NULL);
		return (-1);
	}
	if (f != NULL)
		queue_ack_begin(f, c->user, c->device);
	for (i = 0; i < r->nmids && ret == STORE_OK; i++)
		ret = one(c, txn, f, &r->mids[i]);
	if (f != NULL && (eret = queue_ack_end(txn, f)) != STORE_OK &&
	    ret == STORE_OK)
		ret = eret;
	if (ret != STORE_OK) {
		store_error(c, ret, r->ref, NULL);
		return (-1);
	}
	reply_stored(c, r->ref);
	return (0);
}

/*
 * send, ack or read, its members checked: ack deletes the items acked,
 * then sends what the window now allows; read queues read receipts.
 */
static void
req_run(struct conn *c, struct proto_req *r)
{
	struct ack_frame	f;

	switch (r->op) {
	case PROTO_SEND:
		send_run(c, r);
		break;
	case PROTO_ACK:
		if (mids_run(c, r, &f, ack_one) == 0)
			pump_later(c);
		break;
	case PROTO_READ:
		mids_run(c, r, NULL, read_one);
		break;
	}
}

/* send, ack and read from jansson's tree: checked, then run. */
static void
op_req(struct conn *c, json_t *req, json_t *ref)
{
	struct proto_req	 r;
	const char		*op, *why;

	op = json_string_value(json_object_get(req, "op"));
	if (proto_req_json(req, strcmp(op, "send") == 0 ? PROTO_SEND :
	    strcmp(op, "ack") == 0 ? PROTO_ACK : PROTO_READ, ref, &srv.conf,
	    &r, &why) != 0)
		proto_error(c, TE_BAD_REQUEST, why, r.ref, r.idv);
	else
		req_run(c, &r);
	proto_req_free(&r);
}

static const char block_need_user[] = "need \"user\", another user's name";

/*
 * A block or unblock naming a user whose home this node has not cached
 * waits for the cluster's directory, as a send does (tickd-cluster(7),
 * Home nodes): then it runs again, or is answered no_such_user, or
 * unavailable with Redis unreachable.
 */
struct block_wait {
	struct conn	*c;
	json_t		*ref;
	int		 block;		/* block, else unblock */
	char		 user[NAME_USER_MAX + 1];
};

static void	block_run(struct conn *, const char *, int, json_t *, int);

/* The directory answered the lookup of a block's user. */
static void
block_looked_up(void *arg, int status, const char *node)
{
	struct block_wait	*w = arg;

	if (!w->c->dead && status == CLUSTER_FOUND &&
	    strcmp(node, srv.conf.node_name) != 0)
		block_run(w->c, w->user, w->block, w->ref, 1);
	else if (!w->c->dead && status == CLUSTER_DOWN)
		ws_send_error(w->c, TE_UNAVAILABLE, "the cluster's directory "
		    "is unreachable; nothing was changed", w->ref, NULL);
	else if (!w->c->dead)
		ws_send_error(w->c, TE_NO_SUCH_USER, "no such user", w->ref,
		    NULL);
	conn_unref(w->c);
	json_decref(w->ref);
	free(w);
}

/*
 * block (block nonzero) or unblock of user, a valid name: account_block()
 * and account_unblock() decide, once the user's home is known here;
 * looked_up once the directory was asked.
 */
static void
block_run(struct conn *c, const char *user, int block, json_t *ref,
    int looked_up)
{
	struct block_res res;
	struct block_wait *w;
	struct txn	*txn;
	char		 home[CLUSTER_NODE_MAX + 1];
	int		 ret;

	if ((txn = batch_txn()) == NULL) {
		store_error(c, STORE_ERR, ref, NULL);
		return;
	}
	if (cluster_on() && cluster_where(txn, user, home) == CLUSTER_NONE) {
		if (looked_up) {
			/* The lookup's answer could not be cached. */
			ws_send_error(c, TE_UNAVAILABLE, "the cluster's "
			    "directory could not be cached; nothing was "
			    "changed", ref, NULL);
			return;
		}
		w = xcalloc(1, sizeof *w);
		w->c = c;
		conn_ref(c);
		w->ref = ref == NULL ? NULL : json_incref(ref);
		w->block = block;
		strlcpy(w->user, user, sizeof w->user);
		cluster_lookup(w->user, block_looked_up, w);
		return;
	}
	if (block)
		ret = account_block(txn, c->user, user, &res);
	else
		ret = account_unblock(txn, c->user, user, &res);
	if (ret != STORE_OK) {
		store_error(c, ret, ref, NULL);
		return;
	}
	if (res.err == TE_NO_SUCH_USER) {
		ws_send_error(c, res.err, "no such user", ref, NULL);
		return;
	}
	if (res.err != TE_OK) {
		proto_error(c, res.err, block_need_user, ref, NULL);
		return;
	}
	/* What user sees of us just changed; tell its watching devices. */
	presence_refresh_for(c->user, user);
	if (res.changed && cluster_on())
		cluster_presence_block(c->user, user, block);
	reply_stored(c, ref);
}

/* block and unblock: "user", another user's name, then block_run(). */
static void
op_block(struct conn *c, json_t *req, json_t *ref)
{
	const char	*user, *op = json_string_value(json_object_get(req,
			    "op"));

	user = proto_member_string(req, "user", NAME_USER_MAX);
	if (user == NULL || !account_block_valid(c->user, user)) {
		proto_error(c, TE_BAD_REQUEST, block_need_user, ref, NULL);
		return;
	}
	block_run(c, user, strcmp(op, "block") == 0, ref, 0);
}

/* Block walk callback: appends one blocked user to the array in arg. */
static int
collect_block(void *arg, const char *user)
{
	json_array_append_new(arg, json_string(user));
	return (STORE_WALK_NEXT);
}

/* blocks: the users c's user has blocked, from a short read transaction. */
static void
op_blocks(struct conn *c, json_t *req, json_t *ref)
{
	struct txn	 txn;
	json_t		*obj, *users;
	int		 ret;

	(void)req;
	if ((ret = store_txn_begin(srv.store, &txn, 0)) != STORE_OK) {
		store_error(c, ret, ref, NULL);
		return;
	}
	users = json_array();
	ret = store_block_walk(&txn, c->user, collect_block, users);
	store_txn_abort(&txn);
	if (ret != STORE_OK) {
		json_decref(users);
		store_error(c, ret, ref, NULL);
		return;
	}
	obj = json_pack("{s:s,s:o}", "op", "blocks", "users", users);
	if (ref != NULL)
		json_object_set(obj, "ref", ref);
	ws_send_json(c, obj);
	json_decref(obj);
}

/* A non-empty "users" array of valid names, at most max_subscriptions. */
static json_t *
member_users(json_t *req)
{
	json_t	*users = json_object_get(req, "users"), *v;
	size_t	 i;

	if (!json_is_array(users) || json_array_size(users) == 0 ||
	    json_array_size(users) > srv.conf.max_subscriptions)
		return (NULL);
	json_array_foreach(users, i, v) {
		if (!json_is_string(v) || !valid_user(json_string_value(v),
		    json_string_length(v)))
			return (NULL);
	}
	return (users);
}

/*
 * How many users of the array c does not watch yet, each counted once:
 * subscribing again to a watched user adds nothing (tickd.conf(5)
 * max_subscriptions).
 */
static size_t
new_subscriptions(struct conn *c, json_t *users)
{
	json_t	*v, *w;
	size_t	 i, j, n = 0;

	json_array_foreach(users, i, v) {
		if (presence_watching(c, json_string_value(v)))
			continue;
		for (j = 0; j < i; j++) {
			w = json_array_get(users, j);
			if (strcmp(json_string_value(v),
			    json_string_value(w)) == 0)
				break;
		}
		if (j == i)
			n++;
	}
	return (n);
}

/*
 * subscribe: presence pushes about each user named, at most max_subscriptions.
 */
static void
op_subscribe(struct conn *c, json_t *req, json_t *ref)
{
	struct txn	 txn;
	json_t		*users, *v;
	size_t		 i;
	int		 ret;

	if ((users = member_users(req)) == NULL) {
		proto_error(c, TE_BAD_REQUEST, "need \"users\", user names "
		    "(at most max_subscriptions)", ref, NULL);
		return;
	}
	if (c->nsubs + new_subscriptions(c, users) >
	    srv.conf.max_subscriptions) {
		proto_error(c, TE_BAD_REQUEST, "a connection watches at most "
		    "max_subscriptions users", ref, NULL);
		return;
	}
	if ((ret = store_txn_begin(srv.store, &txn, 0)) != STORE_OK) {
		store_error(c, ret, ref, NULL);
		return;
	}
	json_array_foreach(users, i, v)
		presence_subscribe(c, json_string_value(v), &txn);
	store_txn_abort(&txn);
	reply_ok(c, ref);
}

/* unsubscribe: stops the presence pushes about each user named. */
static void
op_unsubscribe(struct conn *c, json_t *req, json_t *ref)
{
	json_t	*users, *v;
	size_t	 i;

	if ((users = member_users(req)) == NULL) {
		proto_error(c, TE_BAD_REQUEST, "need \"users\", user names "
		    "(at most max_subscriptions)", ref, NULL);
		return;
	}
	json_array_foreach(users, i, v)
		presence_unsubscribe(c, json_string_value(v));
	reply_ok(c, ref);
}

/* presence_each() callback: hands one typing frame to a connection. */
static void
typing_push(struct conn *to, void *arg)
{
	ws_send_json(to, arg);
}

/*
 * Typing from from to to, a user of this node: pushed to its online
 * devices unless it blocked from (tickd-protocol(7) BLOCKING, PRESENCE AND
 * TYPING); never stored.  Also what a typing from another node comes to
 * (tickd-cluster(7), Typing across nodes).
 */
void
proto_typing_deliver(struct txn *txn, const char *from, const char *to,
    const char *state)
{
	json_t	*obj;

	if (!presence_online(to) || store_block_get(txn, to, from) ==
	    STORE_OK)
		return;
	obj = json_pack("{s:s,s:s,s:s}", "op", "typing", "from", from,
	    "state", state);
	presence_each(to, typing_push, obj);
	json_decref(obj);
}

/*
 * typing: to a user homed on another node, it goes there
 * (tickd-cluster(7), Typing across nodes); else see proto_typing_deliver.
 */
static void
op_typing(struct conn *c, json_t *req, json_t *ref)
{
	struct txn	 txn;
	const char	*to, *state;

	to = proto_member_string(req, "to", NAME_CHAT_MAX);
	state = proto_member_string(req, "state", 16);
	if (to == NULL || !(valid_user(to, strlen(to)) ||
	    valid_group(to, strlen(to))) || state == NULL ||
	    (strcmp(state, "composing") != 0 && strcmp(state, "paused") != 0)) {
		proto_error(c, TE_BAD_REQUEST, "typing needs \"to\" and "
		    "\"state\" (composing or paused)", ref, NULL);
		return;
	}
	if (to[0] == '#') {
		proto_group_typing(c, to, state, ref);
		return;
	}
	if (store_txn_begin(srv.store, &txn, 0) != STORE_OK) {
		store_error(c, STORE_ERR, ref, NULL);
		return;
	}
	if (!cluster_typing(&txn, c->user, to, state))
		proto_typing_deliver(&txn, c->user, to, state);
	store_txn_abort(&txn);
	reply_ok(c, ref);
}

/* settings: parsed here, changed by account_settings(). */
static void
op_settings(struct conn *c, json_t *req, json_t *ref)
{
	static const char usage[] = "settings takes \"read_receipts\" "
	    "(true/false), \"last_seen\" and \"group_add\" "
	    "(everyone/nobody)";
	struct settings	 set;
	struct txn	*txn;
	enum tick_err	 err;
	json_t		*rr = json_object_get(req, "read_receipts");
	json_t		*ls = json_object_get(req, "last_seen");
	json_t		*ga = json_object_get(req, "group_add");
	int		 ret;

	set.read_receipts = rr != NULL ? json_is_true(rr) : -1;
	set.last_seen = -1;
	if (ls != NULL) {
		if (json_is_string(ls) && strcmp(json_string_value(ls),
		    "everyone") == 0)
			set.last_seen = LASTSEEN_EVERYONE;
		else if (json_is_string(ls) && strcmp(json_string_value(ls),
		    "nobody") == 0)
			set.last_seen = LASTSEEN_NOBODY;
	}
	set.group_add_nobody = -1;
	if (ga != NULL && json_is_string(ga))
		set.group_add_nobody = strcmp(json_string_value(ga),
		    "nobody") == 0 ? 1 : strcmp(json_string_value(ga),
		    "everyone") == 0 ? 0 : -1;
	if ((rr != NULL && !json_is_boolean(rr)) ||
	    (ls != NULL && set.last_seen == -1) ||
	    (ga != NULL && set.group_add_nobody == -1)) {
		proto_error(c, TE_BAD_REQUEST, usage, ref, NULL);
		return;
	}
	if ((txn = batch_txn()) == NULL) {
		store_error(c, STORE_ERR, ref, NULL);
		return;
	}
	if ((ret = account_settings(txn, c->user, &set, &err)) != STORE_OK) {
		store_error(c, ret, ref, NULL);
		return;
	}
	if (err != TE_OK) {
		proto_error(c, err, usage, ref, NULL);
		return;
	}
	if (set.last_seen != -1)
		presence_refresh(c->user);
	reply_stored(c, ref);
}

/*
 * keys_upload: the keys of this connection's device (tickd-protocol(7)
 * KEY DIRECTORY, rules 1 to 4).  ok after the commit.
 */
static void
op_keys_upload(struct conn *c, json_t *req, json_t *ref)
{
	struct keys_upload	 up;
	struct txn		*txn;
	enum tick_err		 err;
	const char		*why;
	int			 ret;

	if (keys_upload_parse(req, &srv.conf, &up, &why) != 0) {
		keys_upload_free(&up);
		proto_error(c, TE_BAD_REQUEST, why, ref, NULL);
		return;
	}
	if ((txn = batch_txn()) == NULL) {
		keys_upload_free(&up);
		store_error(c, STORE_ERR, ref, NULL);
		return;
	}
	ret = keys_upload(txn, &srv.conf, c->user, c->device, &up, &err, &why);
	keys_upload_free(&up);
	if (ret != STORE_OK)
		store_error(c, ret, ref, NULL);
	else if (err == TE_BAD_REQUEST)
		proto_error(c, err, why, ref, NULL);
	else if (err != TE_OK)
		ws_send_error(c, err, why, ref, NULL);
	else
		reply_stored(c, ref);
}

/*
 * keys_fetch: one bundle per device of a user, or of one device (rules 5
 * to 7).  The one-time keys it takes are deleted in this turn's write
 * transaction, and the reply waits for its commit: a key is handed out
 * once, even if tickd dies right after.  A user homed on another node is
 * a remote call to it (proto-remote.c).
 */
static void
op_keys_fetch(struct conn *c, json_t *req, json_t *ref)
{
	struct keys_fetch_res	 res;
	struct txn		*txn;
	const char		*user, *device = NULL;
	enum tick_err		 err;
	struct jbuf		 j;
	json_t			*dv = json_object_get(req, "device");
	char			*text, home[CLUSTER_NODE_MAX + 1];
	size_t			 n, len;
	int			 ret, where;

	user = proto_member_string(req, "user", NAME_USER_MAX);
	if (dv != NULL)
		device = proto_member_string(req, "device", NAME_DEVICE_MAX);
	if (user == NULL || !valid_user(user, strlen(user)) ||
	    (dv != NULL && (device == NULL ||
	    !valid_device(device, strlen(device))))) {
		proto_error(c, TE_BAD_REQUEST, "keys_fetch needs \"user\" (a "
		    "user's name) and may name a \"device\"", ref, NULL);
		return;
	}
	if ((txn = batch_txn()) == NULL) {
		store_error(c, STORE_ERR, ref, NULL);
		return;
	}
	/* Another node's user: the take is atomic at the keys' home. */
	where = cluster_on() ? cluster_where(txn, user, home) : CLUSTER_LOCAL;
	if (where == CLUSTER_FOUND || where == CLUSTER_NONE) {
		proto_keys_fetch_remote(c, ref, user, device,
		    where == CLUSTER_FOUND ? home : NULL);
		return;
	}
	if (where != CLUSTER_LOCAL) {
		store_error(c, STORE_ERR, ref, NULL);
		return;
	}
	if ((ret = keys_fetch_size(txn, user, device, &n, &err)) != STORE_OK) {
		store_error(c, ret, ref, NULL);
		return;
	}
	if (err != TE_OK) {
		ws_send_error(c, err, "no such user", ref, NULL);
		return;
	}
	if (!limit_keys_fetch(c->user, n)) {
		srv.stats.rate_limited++;
		ws_send_error(c, TE_RATE_LIMITED, "keys_fetch_rate exceeded; "
		    "no key was taken", ref, NULL);
		return;
	}
	ret = keys_fetch(txn, &srv.midgen, &srv.conf, user, device, now_ms(),
	    &res);
	if (ret != STORE_OK) {
		store_error(c, ret, ref, NULL);
		goto out;
	}
	srv.stats.prekeys_taken += res.taken;
	srv.stats.prekeys_empty += res.empty;
	jbuf_open(&j, "keys");
	jbuf_str(&j, "user", user);
	jbuf_json(&j, "devices", res.devices);
	if (ref != NULL)
		jbuf_json(&j, "ref", ref);
	if ((text = jbuf_close(&j, &len)) == NULL) {
		log_warnx("proto: cannot encode a reply for %s", c->addr);
		goto out;
	}
	batch_defer_reply(c, text, len, ref, NULL);
	pump_targets(&res.low);
out:
	keys_fetch_free(&res);
}

/*
 * keys_count: the sizes of this device's pools.  Read in this turn's
 * transaction and answered after its commit, so that it counts and
 * follows an upload sent before it.
 */
static void
op_keys_count(struct conn *c, json_t *req, json_t *ref)
{
	struct txn	*txn;
	struct jbuf	 j;
	uint64_t	 npre, nkem;
	char		*text;
	size_t		 len;
	int		 ret;

	(void)req;
	if ((txn = batch_txn()) == NULL) {
		store_error(c, STORE_ERR, ref, NULL);
		return;
	}
	if ((ret = keys_count(txn, c->user, c->device, &npre, &nkem)) !=
	    STORE_OK) {
		store_error(c, ret, ref, NULL);
		return;
	}
	jbuf_open(&j, "keys_count");
	jbuf_uint(&j, "prekeys", npre);
	jbuf_uint(&j, "kem_prekeys", nkem);
	if (ref != NULL)
		jbuf_json(&j, "ref", ref);
	if ((text = jbuf_close(&j, &len)) == NULL) {
		log_warnx("proto: cannot encode a reply for %s", c->addr);
		return;
	}
	batch_defer_reply(c, text, len, ref, NULL);
}

/*
 * push_register (tickd-protocol(7) PUSH NOTIFICATIONS): the frame is checked
 * here, the endpoint by push-http.c, and proto_push_checked answers.
 */
static void
op_push_register(struct conn *c, json_t *req, json_t *ref)
{
	struct push_ep	*ep;
	enum tick_err	 err;
	const char	*why;
	char		 host[256];

	ep = xmalloc(sizeof *ep);
	err = push_register_parse(&srv.conf, req, ep, host, sizeof host, &why);
	if (err == TE_BAD_REQUEST)
		proto_error(c, err, why, ref, NULL);
	else if (err != TE_OK)
		ws_send_error(c, err, why, ref, NULL);
	else if (push_http_check(c, ref, ep) != 0)
		ws_send_error(c, TE_PUSH_REJECTED, "too many endpoint checks "
		    "under way; try again", ref, NULL);
	free(ep);
}

/* The end of a push_register: stores the endpoint, or tells why not. */
void
proto_push_checked(struct conn *c, json_t *ref, const struct push_ep *ep,
    const char *why)
{
	struct txn	*txn;
	int		 ret;

	if (!c->authed)
		return;
	if (why != NULL) {
		ws_send_error(c, TE_PUSH_REJECTED, why, ref, NULL);
		return;
	}
	if ((txn = batch_txn()) == NULL) {
		store_error(c, STORE_ERR, ref, NULL);
		return;
	}
	if ((ret = push_register(txn, c->user, c->device, ep)) != STORE_OK) {
		store_error(c, ret, ref, NULL);
		return;
	}
	log_info("push: %s:%s registered a %s endpoint", c->user, c->device,
	    push_kind_name(ep->kind));
	reply_stored(c, ref);
}

/* push_unregister: the device's endpoint and notification go. */
static void
op_push_unregister(struct conn *c, json_t *req, json_t *ref)
{
	struct txn	*txn;
	int		 ret;

	(void)req;
	if ((txn = batch_txn()) == NULL) {
		store_error(c, STORE_ERR, ref, NULL);
		return;
	}
	if ((ret = push_forget(txn, c->user, c->device)) != STORE_OK) {
		store_error(c, ret, ref, NULL);
		return;
	}
	reply_stored(c, ref);
}

/* push_status: the device's endpoint, kind and failures. */
static void
op_push_status(struct conn *c, json_t *req, json_t *ref)
{
	struct push_ep	*ep;
	struct txn	 txn;
	json_t		*obj;
	int		 ret;

	(void)req;
	ep = xmalloc(sizeof *ep);
	if ((ret = store_txn_begin(srv.store, &txn, 0)) == STORE_OK) {
		ret = store_push_ep_get(&txn, c->user, c->device, ep);
		store_txn_abort(&txn);
	}
	if (ret == STORE_OK)
		obj = json_pack("{s:s,s:s,s:s,s:I}", "op", "push_status",
		    "kind", push_kind_name(ep->kind), "endpoint", ep->endpoint,
		    "failures", (json_int_t)ep->failures);
	else if (ret == STORE_NOTFOUND)
		obj = json_pack("{s:s,s:n,s:n,s:i}", "op", "push_status",
		    "kind", "endpoint", "failures", 0);
	else {
		free(ep);
		store_error(c, ret, ref, NULL);
		return;
	}
	free(ep);
	if (ref != NULL)
		json_object_set(obj, "ref", ref);
	ws_send_json(c, obj);
	json_decref(obj);
}

/*
 * The chat of a mute or unmute: a user that exists or a group of the
 * caller (tickd-protocol(7) PUSH NOTIFICATIONS); TE_OK, or the error to answer.
 */
static enum tick_err
mute_chat(struct txn *txn, const char *user, json_t *req, const char **chat,
    int *ret)
{
	struct user_rec	u;

	*ret = STORE_OK;
	if ((*chat = proto_member_string(req, "chat", NAME_CHAT_MAX)) == NULL)
		return (TE_BAD_REQUEST);
	if ((*chat)[0] == '#') {
		if (!valid_group(*chat, strlen(*chat)))
			return (TE_BAD_REQUEST);
		*ret = store_guser_has(txn, user, *chat);
		if (*ret == STORE_NOTFOUND) {
			*ret = STORE_OK;
			return (TE_NO_SUCH_GROUP);
		}
		return (TE_OK);
	}
	if (!valid_user(*chat, strlen(*chat)))
		return (TE_BAD_REQUEST);
	*ret = store_user_get(txn, *chat, &u);
	if (*ret == STORE_NOTFOUND) {
		*ret = STORE_OK;
		return (TE_NO_SUCH_USER);
	}
	return (TE_OK);
}

/* mute and unmute: a chat's notifications, for all the user's devices. */
static void
op_mute(struct conn *c, json_t *req, json_t *ref)
{
	static const char usage[] = "mute needs \"chat\" (a user or a group) "
	    "and may have \"until\" (Unix ms)";
	struct txn	*txn;
	const char	*chat;
	enum tick_err	 err;
	json_t		*until;
	int		 unmute, ret;

	unmute = strcmp(json_string_value(json_object_get(req, "op")),
	    "unmute") == 0;
	until = json_object_get(req, "until");
	if ((until != NULL && (unmute || !json_is_integer(until) ||
	    json_integer_value(until) < 0)) ||
	    proto_member_string(req, "chat", NAME_CHAT_MAX) == NULL) {
		proto_error(c, TE_BAD_REQUEST, usage, ref, NULL);
		return;
	}
	if ((txn = batch_txn()) == NULL) {
		store_error(c, STORE_ERR, ref, NULL);
		return;
	}
	err = mute_chat(txn, c->user, req, &chat, &ret);
	if (ret != STORE_OK) {
		store_error(c, ret, ref, NULL);
		return;
	}
	if (err == TE_BAD_REQUEST) {
		proto_error(c, err, usage, ref, NULL);
		return;
	}
	if (err != TE_OK) {
		ws_send_error(c, err, err == TE_NO_SUCH_GROUP ? "no such group "
		    "of yours" : "no such user", ref, NULL);
		return;
	}
	if (unmute) {
		ret = store_mute_del(txn, c->user, chat);
		ret = ret == STORE_NOTFOUND ? STORE_OK : ret;
	} else
		ret = push_mute(txn, &srv.conf, c->user, chat, until == NULL ?
		    0 : (uint64_t)json_integer_value(until), now_ms(), &err);
	if (ret != STORE_OK)
		store_error(c, ret, ref, NULL);
	else if (err != TE_OK)
		proto_error(c, err, "more than max_mutes mutes", ref, NULL);
	else
		reply_stored(c, ref);
}

/* mutes: the user's live mutes. */
static void
op_mutes(struct conn *c, json_t *req, json_t *ref)
{
	struct txn	 txn;
	json_t		*obj = NULL;
	int		 ret;

	(void)req;
	if ((ret = store_txn_begin(srv.store, &txn, 0)) == STORE_OK) {
		ret = push_mutes(&txn, c->user, now_ms(), &obj);
		store_txn_abort(&txn);
	}
	if (ret != STORE_OK) {
		store_error(c, ret, ref, NULL);
		return;
	}
	if (ref != NULL)
		json_object_set(obj, "ref", ref);
	ws_send_json(c, obj);
	json_decref(obj);
}

/* Every op, looked up by name by proto_dispatch(). */
static const struct op ops[] = {
	{ .name = "auth", .fn = op_auth, .flags = OP_NOAUTH },
	{ .name = "send", .fn = op_req },
	{ .name = "ack", .fn = op_req },
	{ .name = "read", .fn = op_req },
	{ .name = "ping", .fn = op_ping },
	{ .name = "block", .fn = op_block },
	{ .name = "unblock", .fn = op_block },
	{ .name = "blocks", .fn = op_blocks },
	{ .name = "subscribe", .fn = op_subscribe },
	{ .name = "unsubscribe", .fn = op_unsubscribe },
	{ .name = "typing", .fn = op_typing },
	{ .name = "settings", .fn = op_settings },
	/* Groups, proto-group.c. */
	{ .name = "group_create", .fn = op_group_create },
	{ .name = "group_info", .fn = op_group_info },
	{ .name = "groups", .fn = op_groups },
	{ .name = "group_add", .fn = op_group_add },
	{ .name = "group_remove", .fn = op_group_remove },
	{ .name = "group_leave", .fn = op_group_leave },
	{ .name = "group_role", .fn = op_group_role },
	{ .name = "group_set", .fn = op_group_set },
	{ .name = "keys_upload", .fn = op_keys_upload },
	{ .name = "keys_fetch", .fn = op_keys_fetch },
	{ .name = "keys_count", .fn = op_keys_count },
	/* Push, tickd-protocol(7) PUSH NOTIFICATIONS. */
	{ .name = "push_register", .fn = op_push_register },
	{ .name = "push_unregister", .fn = op_push_unregister },
	{ .name = "push_status", .fn = op_push_status },
	{ .name = "mute", .fn = op_mute },
	{ .name = "unmute", .fn = op_mute },
	{ .name = "mutes", .fn = op_mutes },
};

/* One text frame from c: decode, check, and run its op. */
void
proto_dispatch(struct conn *c, const uint8_t *data, size_t len)
{
	const struct op	*op = NULL;
	struct proto_req r;
	json_t		*req, *opv, *ref, *idv;
	enum tick_err	 err;
	const char	*why;
	size_t		 i;

	/* send, ack and read in their common shapes skip jansson's tree. */
	if (proto_fast(data, len, &srv.conf, &r) == 0) {
		if (!c->authed)
			proto_error(c, TE_NOT_AUTHENTICATED, "authenticate "
			    "first", r.ref, r.idv);
		else
			req_run(c, &r);
		proto_req_free(&r);
		return;
	}
	if ((req = proto_load(data, len, &srv.conf, &ref, &err, &why)) ==
	    NULL) {
		proto_error(c, err, why, ref, NULL);
		json_decref(ref);
		return;
	}
	opv = json_object_get(req, "op");
	/* A send's error carries its id (tickd-protocol(7) ERROR CODES). */
	idv = json_object_get(req, "id");
	if (strcmp(json_string_value(opv), "send") != 0 || !json_is_string(idv))
		idv = NULL;
	for (i = 0; i < sizeof ops / sizeof ops[0]; i++) {
		if (strcmp(ops[i].name, json_string_value(opv)) == 0) {
			op = &ops[i];
			break;
		}
	}
	if (op == NULL)
		proto_error(c, TE_UNKNOWN_OP, "unknown op", ref, NULL);
	else if (!c->authed && !(op->flags & OP_NOAUTH))
		proto_error(c, TE_NOT_AUTHENTICATED, "authenticate first",
		    ref, idv);
	else
		op->fn(c, req, ref);
	json_decref(ref);
	json_decref(req);
}
