/* SPDX-License-Identifier: ISC */
/*
 * resp-chat.c: the stream views of the chat state (tickd-resp(7), THE
 * CHAT VIEWS): XADD to inbox:USER is a send, queue:USER:DEVICE reads like
 * the device (XLEN, XRANGE, XREAD, and XREADGROUP in the group tickd) and
 * XACK acks like it.  The views that are not streams are in resp-cmd.c.
 */
#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "tickd.h"

#define VIEW_GROUP		"tickd"	/* the group a queue: view has */
#define VIEW_CURSORS_MAX	4096	/* queue: view consumers remembered */

/* A consumer's cursor in a queue: view (in memory only). */
struct view_cursor {
	char			*key;		/* view key, NUL, consumer */
	size_t			 len;
	struct mid		 last;
	TAILQ_ENTRY(view_cursor) entry;
};
static TAILQ_HEAD(view_cursors, view_cursor) view_cursors =
    TAILQ_HEAD_INITIALIZER(view_cursors);
static size_t			 view_ncursors;

/* The device behind a queue: view; *found is 0 if it has none. */
int
resp_chat_device(struct txn *txn, const char *user, const char *device,
    struct dev_rec *d, int *found)
{
	int	ret;

	ret = store_device_get(txn, user, device, d);
	*found = ret == STORE_OK;
	return (ret == STORE_NOTFOUND ? STORE_OK : ret);
}

/*
 * An item as a stream entry: its JSON members as fields, string values as
 * they are and other values as JSON text.
 */
static void
add_item(struct rclient *rc, const struct mid *id, const struct item *it)
{
	const char	*k;
	json_t		*obj, *v;
	char		*text;

	resp_add_array(rc, 2);
	resp_add_mid(rc, id);
	obj = json_loadb(it->data, it->len, 0, NULL);
	if (!json_is_object(obj)) {
		resp_add_array(rc, 2);
		resp_add_str(rc, "data");
		resp_add_bulk(rc, it->data, it->len);
		json_decref(obj);
		return;
	}
	resp_add_array(rc, (long long)json_object_size(obj) * 2);
	json_object_foreach(obj, k, v) {
		resp_add_str(rc, k);
		if (json_is_string(v))
			resp_add_bulk(rc, json_string_value(v),
			    json_string_length(v));
		else if ((text = json_dumps(v, JSON_COMPACT |
		    JSON_ENCODE_ANY)) != NULL) {
			resp_add_str(rc, text);
			free(text);
		} else
			resp_add_null(rc);
	}
	json_decref(obj);
}

/* A walk over a queue's items. */
struct item_walk {
	struct rclient	*rc;
	struct mid	 end;
	long long	 count;
	long long	 n;
	struct mid	 last;
	struct mid	*ids;		/* collect for a reverse reply */
	size_t		 nids, cap;
};

/* Queue walk callback: replies items up to end and count. */
static int
item_emit_fn(void *arg, const struct mid *id, const struct item *it)
{
	struct item_walk	*iw = arg;

	if (mid_cmp(id, &iw->end) > 0)
		return (STORE_WALK_STOP);
	add_item(iw->rc, id, it);
	iw->last = *id;
	if (++iw->n == iw->count)
		return (STORE_WALK_STOP);
	return (STORE_WALK_NEXT);
}

/* Queue walk callback: collects the ids up to end. */
static int
item_id_fn(void *arg, const struct mid *id, const struct item *it)
{
	struct item_walk	*iw = arg;

	(void)it;
	if (mid_cmp(id, &iw->end) > 0)
		return (STORE_WALK_STOP);
	resp_stream_ids_add(&iw->ids, &iw->nids, &iw->cap, id);
	return (STORE_WALK_NEXT);
}

/*
 * Replies a queue's items with start <= mid <= end (reverse with rev), at
 * most count (0: all), without the array header; *n gets the number.
 */
int
resp_chat_range(struct rclient *rc, struct txn *txn, uint64_t qid,
    const struct mid *start, const struct mid *end, int rev, long long count,
    long long *n, struct mid *last)
{
	struct item_walk	iw;
	struct item		it;
	struct mid		after = *start;
	size_t			i;
	int			ret, from_head;

	memset(&iw, 0, sizeof iw);
	iw.rc = rc;
	iw.end = *end;
	iw.count = rev ? 0 : count;
	from_head = mid_decr(&after) != 0;
	if (!rev) {
		ret = store_queue_walk(txn, qid, from_head ? NULL : &after,
		    item_emit_fn, &iw);
		*n = iw.n;
		if (last != NULL)
			*last = iw.last;
		return (ret);
	}
	ret = store_queue_walk(txn, qid, from_head ? NULL : &after, item_id_fn,
	    &iw);
	*n = 0;
	for (i = iw.nids; ret == STORE_OK && i > 0; i--) {
		if (count != 0 && *n == count)
			break;
		if ((ret = store_queue_get(txn, qid, &iw.ids[i - 1], &it)) ==
		    STORE_OK) {
			add_item(rc, &iw.ids[i - 1], &it);
			(*n)++;
		}
	}
	free(iw.ids);
	return (ret);
}

/* The cursor of a queue: view's consumer, created at 0-0. */
static struct view_cursor *
view_cursor(const struct rarg *key, const struct rarg *consumer)
{
	struct view_cursor	*vc;
	size_t			 len = key->len + 1 + consumer->len;

	TAILQ_FOREACH(vc, &view_cursors, entry) {
		if (vc->len == len && memcmp(vc->key, key->p, key->len) == 0 &&
		    memcmp(vc->key + key->len + 1, consumer->p,
		    consumer->len) == 0) {
			TAILQ_REMOVE(&view_cursors, vc, entry);
			TAILQ_INSERT_HEAD(&view_cursors, vc, entry);
			return (vc);
		}
	}
	if (view_ncursors == VIEW_CURSORS_MAX) {
		vc = TAILQ_LAST(&view_cursors, view_cursors);
		TAILQ_REMOVE(&view_cursors, vc, entry);
		free(vc->key);
		free(vc);
		view_ncursors--;
	}
	vc = xcalloc(1, sizeof *vc);
	vc->key = xmalloc(len);
	memcpy(vc->key, key->p, key->len);
	vc->key[key->len] = '\0';
	memcpy(vc->key + key->len + 1, consumer->p, consumer->len);
	vc->len = len;
	TAILQ_INSERT_HEAD(&view_cursors, vc, entry);
	view_ncursors++;
	return (vc);
}

/* Queue walk callback: the last item's mid. */
static int
last_item_fn(void *arg, const struct mid *id, const struct item *it)
{
	(void)it;
	*(struct mid *)arg = *id;
	return (STORE_WALK_NEXT);
}

/* A read of a view that is not a stream, or does not read that way. */
void
resp_chat_wrong(struct rclient *rc, const struct rarg *key, enum resp_view v)
{
	if (v == RV_BLOCKED || v == RV_LASTSEEN)
		resp_add_err(rc, RESP_ERR_WRONGTYPE);
	else
		resp_view_refuse(rc, key);
}

/* Whether len bytes at p are UTF-8, as a JSON string must be. */
static int
utf8_text(const char *p, size_t len)
{
	json_t	*v = json_stringn(p, len);

	json_decref(v);
	return (v != NULL);
}

/*
 * XADD inbox:USER * from SENDER body TEXT [id ID]: a chat send from
 * SENDER, through queue_send() as the WebSocket's send op; to is a user
 * or, for inbox:#g, a group, with the group rules and transaction.  The RESP
 * client is no device of SENDER ("resp"), so every device of SENDER gets
 * the copy.  Replies the new mid, or the first one on a repeated id.
 */
void
resp_chat_send(struct rclient *rc, const char *to, int argc, struct rarg *argv,
    int idpos, const struct rstream_addtrim *a)
{
	struct send_req	 req;
	struct send_res	 res;
	struct user_rec	 u;
	struct txn	*txn;
	const struct rarg *fromv = NULL, *body = NULL, *idv = NULL;
	const char	*from, *id;
	char		 gen[3 + 32 + 1];
	uint8_t		 rnd[16];
	int		 j, ret;

	if (a->id_given || a->no_mkstream || a->strategy != TRIM_NONE) {
		resp_add_errorf(rc, "inbox: takes only XADD inbox:USER * from "
		    "SENDER body TEXT [id ID]: tickd assigns the mid");
		return;
	}
	for (j = idpos + 1; j + 1 < argc; j += 2) {
		if (strcmp(argv[j].p, "from") == 0 && fromv == NULL)
			fromv = &argv[j + 1];
		else if (strcmp(argv[j].p, "body") == 0 && body == NULL)
			body = &argv[j + 1];
		else if (strcmp(argv[j].p, "id") == 0 && idv == NULL)
			idv = &argv[j + 1];
		else {
			resp_add_errorf(rc, "inbox: unknown or repeated field "
			    "'%.32s'; the fields are from, body and id",
			    argv[j].p);
			return;
		}
	}
	if (fromv == NULL || body == NULL ||
	    !valid_user(fromv->p, fromv->len)) {
		resp_add_errorf(rc, "inbox: needs the fields from (a user) and "
		    "body");
		return;
	}
	from = fromv->p;
	if (idv != NULL && (idv->len == 0 || idv->len > CLIENT_ID_MAX ||
	    strlen(idv->p) != idv->len || !utf8_text(idv->p, idv->len))) {
		resp_add_errorf(rc, "inbox: id is 1 to 64 bytes of UTF-8 text");
		return;
	}
	id = idv != NULL ? idv->p : NULL;
	if (!limit_send(from)) {
		srv.stats.rate_limited++;
		resp_add_errorf(rc, "rate limited: send_rate exceeded; nothing "
		    "was stored");
		return;
	}
	if ((txn = resp_txn(rc, 1)) == NULL)
		return;
	if ((ret = store_user_get(txn, from, &u)) != STORE_OK) {
		if (ret == STORE_NOTFOUND)
			resp_add_errorf(rc, "no such user '%s'", from);
		else
			resp_add_store_error(rc, ret);
		return;
	}
	if (id == NULL) {
		/* Every send has an id: one of RESP without is random. */
		if (RAND_bytes(rnd, sizeof rnd) != 1) {
			resp_add_err(rc, RESP_ERR_STORE);
			return;
		}
		memcpy(gen, "rs-", 3);
		hex_encode(rnd, sizeof rnd, gen + 3);
		id = gen;
	}
	memset(&req, 0, sizeof req);
	req.from = from;
	req.from_device = "resp";
	req.to = to;
	req.id = id;
	req.now = now_ms();
	if ((req.body = json_stringn(body->p, body->len)) == NULL) {
		resp_add_errorf(rc, "inbox: body must be UTF-8 text");
		return;
	}
	ret = queue_send(txn, &srv.midgen, &srv.conf, &req, &res);
	json_decref(req.body);
	if (ret != STORE_OK) {
		resp_add_store_error(rc, ret);
		goto out;
	}
	switch (res.err) {
	case TE_OK:
		break;
	case TE_NO_SUCH_USER:
		resp_add_errorf(rc, "no such user");
		goto out;
	case TE_TOO_LARGE:
		resp_add_errorf(rc, "too large: body exceeds "
		    "max_message_bytes");
		goto out;
	case TE_QUEUE_FULL:
		resp_add_errorf(rc, "queue full: the recipient's queue is "
		    "full");
		goto out;
	case TE_NO_SUCH_GROUP:
		resp_add_errorf(rc, "no such group");
		goto out;
	case TE_FORBIDDEN:
		resp_add_errorf(rc, "forbidden: only admins may send to this "
		    "group");
		goto out;
	default:
		resp_add_errorf(rc, "%s", err_code(res.err));
		goto out;
	}
	if (!res.dup) {
		srv.stats.accepted++;
		srv.stats.group_items += res.items;
		srv.stats.group_skipped += res.skipped;
	}
	resp_add_mid(rc, &res.mid);
	pump_targets(&res.targets);
	push_sent(txn, from, &res);
out:
	targets_free(&res.targets);
}

/*
 * XREAD and XREADGROUP on queue: views (every key must be one): items
 * after an id, or for XREADGROUP GROUP tickd ">" after the consumer's
 * cursor.
 */
void
resp_chat_xread(struct rclient *rc, struct rarg *argv,
    const struct rstream_read *x)
{
	char			 user[NAME_USER_MAX + 1];
	char			 device[NAME_DEVICE_MAX + 1];
	struct view_cursor	*vc;
	struct dev_rec		 d;
	struct txn		*txn;
	struct evbuffer		*saved, *ksaved, *esaved;
	struct mid		 id, last;
	struct rarg		*key, *ida;
	long long		 n, served = 0;
	int			 i, found, ret, history;

	if (x->group && strcmp(x->gname->p, VIEW_GROUP) != 0) {
		resp_stream_read_nogroup(rc, &argv[x->first], x->gname);
		return;
	}
	if ((txn = resp_txn(rc, 0)) == NULL)
		return;
	saved = resp_nest(rc);
	for (i = 0; i < x->nkeys; i++) {
		if (resp_waking(rc) && !resp_wake_key(rc, argv, x->first, i))
			continue;
		key = &argv[x->first + i];
		ida = &argv[x->first + x->nkeys + i];
		resp_view(key, user, device);
		if ((ret = resp_chat_device(txn, user, device, &d, &found)) !=
		    STORE_OK)
			goto store_error;
		if (x->group && !found) {
			resp_nest_abort(rc, saved);
			if (resp_waking(rc))
				resp_add_errorf(rc, "-UNBLOCKED the stream key "
				    "no longer exists");
			else
				resp_stream_read_nogroup(rc, key, x->gname);
			return;
		}
		vc = NULL;
		history = 0;
		if (strcmp(ida->p, "$") == 0 && !x->group) {
			id = mid_zero;
			if (found && (ret = store_queue_walk(txn, d.qid, NULL,
			    last_item_fn, &id)) != STORE_OK)
				goto store_error;
			resp_stream_read_resolve(ida, &id);
		} else if (strcmp(ida->p, ">") == 0 && x->group) {
			vc = view_cursor(key, x->cname);
			id = vc->last;
		} else if (strcmp(ida->p, "$") == 0 ||
		    strcmp(ida->p, ">") == 0) {
			resp_nest_abort(rc, saved);
			if (strcmp(ida->p, "$") == 0)
				resp_add_err(rc, RESP_ERR_DOLLAR);
			else
				resp_add_err(rc, RESP_ERR_GT);
			return;
		} else if (resp_stream_id_parse(ida, &id, 0, 1, NULL) != 0) {
			resp_nest_abort(rc, saved);
			resp_add_err(rc, RESP_ERR_BADID);
			return;
		} else
			history = x->group;
		if (!found)
			continue;
		ksaved = resp_nest(rc);
		resp_stream_read_key(rc, key);
		esaved = resp_nest(rc);
		n = 0;
		if (mid_incr(&id) == 0 && (ret = resp_chat_range(rc, txn, d.qid,
		    &id, &mid_max, 0, x->count, &n, &last)) != STORE_OK) {
			resp_nest_abort(rc, esaved);
			resp_nest_abort(rc, ksaved);
			goto store_error;
		}
		if (n == 0 && !history) {
			resp_nest_abort(rc, esaved);
			resp_nest_abort(rc, ksaved);
			continue;
		}
		if (vc != NULL)
			vc->last = last;
		resp_nest_end(rc, esaved, '*', n);
		resp_nest_end(rc, ksaved, 0, 0);
		served++;
	}
	resp_stream_read_end(rc, saved, argv, x, served);
	return;
store_error:
	resp_nest_abort(rc, saved);
	resp_add_store_error(rc, ret);
}

/*
 * XACK on queue:USER:DEVICE with group tickd: acks like the device (the
 * item is deleted and the sender gets the delivered receipt).
 */
void
resp_chat_xack(struct rclient *rc, int argc, struct rarg *argv,
    const char *user, const char *device)
{
	struct ack_frame f;
	struct ack_res	 res;
	struct conn	*c;
	struct txn	*txn;
	struct mid	*ids;
	long long	 acked = 0;
	int		 j, ret = STORE_OK, eret;

	if ((ids = resp_stream_ids(rc, argc, argv, 3)) == NULL)
		return;
	if (strcmp(argv[2].p, VIEW_GROUP) != 0) {
		free(ids);
		resp_add_int(rc, 0);
		return;
	}
	if ((txn = resp_txn(rc, 1)) == NULL) {
		free(ids);
		return;
	}
	c = device_conn(user, device);
	/* The IDs as one ack frame, as a WebSocket ack naming them. */
	queue_ack_begin(&f, user, device);
	for (j = 3; j < argc && ret == STORE_OK; j++) {
		ret = queue_ack_mid(txn, &srv.midgen, &srv.conf, &f, &ids[j],
		    now_ms(), &res);
		if (ret == STORE_OK && res.deleted) {
			acked++;
			srv.stats.acked++;
			/* The device's connection had it in flight. */
			if (c != NULL && mid_cmp(&ids[j], &c->cursor) <= 0 &&
			    c->inflight > 0)
				c->inflight--;
		}
		srv.stats.receipts += res.targets.n != 0;
		pump_targets(&res.targets);
		targets_free(&res.targets);
	}
	if ((eret = queue_ack_end(txn, &f)) != STORE_OK && ret == STORE_OK)
		ret = eret;
	free(ids);
	if (ret != STORE_OK) {
		resp_add_store_error(rc, ret);
		return;
	}
	if (c != NULL)
		pump_later(c);
	resp_add_int(rc, acked);
}
