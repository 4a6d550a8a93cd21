/* SPDX-License-Identifier: ISC */
/*
 * queue.c: the store-and-forward rules of tickd-protocol(7) MESSAGES over the
 * store: who gets a message, dedup and limits, acks and receipts, and the
 * sweep of old items, idle devices, forgotten messages and dead tokens.
 *
 * Nothing here does I/O.  The network layer calls these functions inside
 * the one write transaction of an event-loop turn, commits, and only then
 * replies and pushes to the devices listed in the targets.  Any error
 * return means that transaction must be aborted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tickd.h"

/* A device and its record, as collected by a walk. */
struct dev {
	char		user[NAME_USER_MAX + 1];
	char		device[NAME_DEVICE_MAX + 1];
	struct dev_rec	r;
};

struct devs {
	struct dev	*v;
	size_t		 n, cap;
};

/* What a device walk collects, and which devices it leaves out. */
struct collect {
	struct devs	*devs;
	const char	*skip;		/* this device name, or NULL */
	uint64_t	 limit;		/* items that make a device full */
	int		 refuse;	/* 1: a full device stops the walk */
	int		 full;		/* a full device was met with refuse */
};

/*
 * A sender of messages one ack frame deletes (struct ack_frame): what its
 * mids share is read once for the frame.  devs, while devs_ok, are the
 * sender's devices with their records as the store holds them: only this
 * frame's receipts to the sender write them, through devs; any other
 * write to one of them (of the acking device's record, a group receipt)
 * drops them, to be read again.
 */
struct ack_sender {
	char		user[NAME_USER_MAX + 1];
	uint64_t	sub;		/* bytes of its messages deleted */
	int		blocked;	/* by the acking user: 1, 0, -1 unread */
	int		devs_ok;
	struct devs	devs;
};

/* What the sweep's walks count. */
struct sweep {
	struct txn	*txn;
	struct midgen	*gen;		/* for mref records (media_release) */
	uint64_t	 now;
	uint64_t	 ttl;
	uint64_t	 n;		/* entries deleted */
	uint64_t	 bytes;		/* of those entries' data, for items */
};

/* Appends a device; the array grows as needed. */
void
targets_add(struct targets *t, const char *user, const char *device,
    uint64_t qid)
{
	struct target	*tg;

	if (t->n == t->cap)
		t->v = xgrow(t->v, &t->cap, sizeof *t->v, 4);
	tg = &t->v[t->n++];
	strlcpy(tg->user, user, sizeof tg->user);
	strlcpy(tg->device, device, sizeof tg->device);
	tg->qid = qid;
}

/* Frees the array and leaves it empty for reuse. */
void
targets_free(struct targets *t)
{
	free(t->v);
	t->v = NULL;
	t->n = t->cap = 0;
}

/* Whether t lists user's device. */
int
targets_has(const struct targets *t, const char *user, const char *device)
{
	size_t	i;

	for (i = 0; i < t->n; i++) {
		if (strcmp(t->v[i].user, user) == 0 &&
		    strcmp(t->v[i].device, device) == 0)
			return (1);
	}
	return (0);
}

/* Whether a device was already collected. */
static int
devs_has(const struct devs *d, const char *user, const char *device)
{
	size_t	i;

	for (i = 0; i < d->n; i++) {
		if (strcmp(d->v[i].user, user) == 0 &&
		    strcmp(d->v[i].device, device) == 0)
			return (1);
	}
	return (0);
}

/* Frees the collected devices. */
static void
devs_free(struct devs *d)
{
	free(d->v);
	d->v = NULL;
	d->n = d->cap = 0;
}

/* Device walk callback: collects devices as struct collect says. */
static int
collect_fn(void *arg, const char *user, const char *device,
    const struct dev_rec *r)
{
	struct collect	*c = arg;
	struct devs	*d = c->devs;
	struct dev	*dv;

	if (c->skip != NULL && strcmp(device, c->skip) == 0)
		return (STORE_WALK_NEXT);
	if (devs_has(d, user, device))
		return (STORE_WALK_NEXT);
	if (r->count >= c->limit) {
		if (!c->refuse)
			return (STORE_WALK_NEXT);
		c->full = 1;
		return (STORE_WALK_STOP);
	}
	if (d->n == d->cap)
		d->v = xgrow(d->v, &d->cap, sizeof *d->v, 4);
	dv = &d->v[d->n++];
	strlcpy(dv->user, user, sizeof dv->user);
	strlcpy(dv->device, device, sizeof dv->device);
	dv->r = *r;
	return (STORE_WALK_NEXT);
}

/* Collects every device of user, or of every user if user is NULL. */
static int
collect_all(struct txn *txn, const char *user, struct devs *devs)
{
	struct collect	c;

	memset(&c, 0, sizeof c);
	c.devs = devs;
	c.limit = UINT64_MAX;
	return (store_device_walk(txn, user, collect_fn, &c));
}

/* True if now is at least ttl after t; never while t is in the future. */
static int
expired(uint64_t t, uint64_t ttl, uint64_t now)
{
	return (t <= now && now - t >= ttl);
}

/*
 * Puts one item into the queue of each device, keeps their count and
 * bytes, and lists each device once in out.
 */
static int
queue_items(struct txn *txn, struct devs *devs, const struct mid *mid,
    const struct item *it, struct targets *out)
{
	struct dev	*d;
	struct dev_rec	 old;
	size_t		 i;
	int		 rc;

	for (i = 0; i < devs->n; i++) {
		d = &devs->v[i];
		if ((rc = store_queue_put(txn, d->r.qid, mid, it)) != STORE_OK)
			return (rc);
		old = d->r;
		d->r.count++;
		d->r.bytes += it->len;
		/*
		 * d->r is the record as the walk read it, unless the device
		 * is listed twice (a send to oneself) and was written here.
		 */
		if (targets_has(out, d->user, d->device))
			rc = store_device_put(txn, d->user, d->device, &d->r);
		else {
			rc = store_device_update(txn, d->user, d->device, &old,
			    &d->r);
			if (rc == STORE_OK)
				targets_add(out, d->user, d->device, d->r.qid);
		}
		if (rc != STORE_OK)
			return (rc);
	}
	return (STORE_OK);
}

/*
 * Queues one receipt with a new mid for message mid (record m) to every
 * device of its sender, with reason for a failed one (tickd-cluster(7),
 * Messages between nodes).  A message that came from another node of a
 * cluster has its receipt sent back to that node's outbox record instead.
 * Receipts ignore max_queue: there is at most one of each status per
 * message, so the messages already bound them.
 */
static int
queue_receipt_why(struct txn *txn, struct midgen *gen, const struct mid *mid,
    const struct msg_rec *m, const char *status, const char *reason,
    uint64_t now, struct ack_sender *s, struct targets *out)
{
	struct devs	 local, *devs;
	struct mid	 rmid, om;
	struct item	 it;
	struct jbuf	 j;
	char		 rs[MID_STRLEN + 1], fs[MID_STRLEN + 1], *frame;
	char		 origin[CLUSTER_NODE_MAX + 1];
	int		 rc;

	rc = store_crmsg_get(txn, mid, origin, &om);
	if (rc == STORE_OK)
		return (cluster_rcpt_put(txn, gen, origin, &om, status, NULL,
		    m->to, now));
	if (rc != STORE_NOTFOUND)
		return (rc);
	memset(&local, 0, sizeof local);
	devs = s != NULL ? &s->devs : &local;
	if (s == NULL || !s->devs_ok) {
		devs->n = 0;
		if ((rc = collect_all(txn, m->from, devs)) != STORE_OK) {
			devs_free(&local);
			return (rc);
		}
		if (s != NULL)
			s->devs_ok = 1;
	}
	midgen_next(gen, now, &rmid);
	mid_format(&rmid, rs);
	mid_format(mid, fs);
	jbuf_open(&j, "receipt");
	jbuf_str(&j, "mid", rs);
	jbuf_str(&j, "for", fs);
	jbuf_str(&j, "id", m->id);
	jbuf_str(&j, "by", m->to);
	jbuf_str(&j, "status", status);
	if (reason != NULL)
		jbuf_str(&j, "reason", reason);
	jbuf_uint(&j, "ts", now);
	if ((frame = jbuf_close(&j, &it.len)) == NULL) {
		log_warnx("queue: cannot build receipt for %s", fs);
		devs_free(&local);
		return (STORE_ERR);
	}
	it.kind = ITEM_RECEIPT;
	it.ts = now;
	it.data = frame;
	rc = queue_items(txn, devs, &rmid, &it, out);
	/* Written part way, the records kept are no longer the store's. */
	if (rc != STORE_OK && s != NULL)
		s->devs_ok = 0;
	free(frame);
	devs_free(&local);
	return (rc);
}

/* A receipt without a reason; see queue_receipt_why. */
static int
queue_receipt(struct txn *txn, struct midgen *gen, const struct mid *mid,
    const struct msg_rec *m, const char *status, uint64_t now,
    struct ack_sender *s, struct targets *out)
{
	return (queue_receipt_why(txn, gen, mid, m, status, NULL, now, s,
	    out));
}

/* Whether user has blocked from: 1, 0, or a store error. */
static int
is_blocked(struct txn *txn, const char *user, const char *from)
{
	int	rc;

	rc = store_block_get(txn, user, from);
	if (rc == STORE_OK)
		return (1);
	if (rc == STORE_NOTFOUND)
		return (0);
	return (rc);
}

/*
 * Collects the devices a message goes to: every device of the recipient
 * unless it blocked the sender, refusing the send if one of them is full,
 * then every other device of the sender that is not full.
 */
static int
send_devices(struct txn *txn, const struct conf *conf,
    const struct send_req *req, int blocked, struct devs *devs, int *full)
{
	struct collect	c;
	int		rc;

	memset(&c, 0, sizeof c);
	c.devs = devs;
	c.limit = conf->max_queue;
	if (!blocked) {
		c.refuse = 1;
		rc = store_device_walk(txn, req->to, collect_fn, &c);
		if (rc != STORE_OK || c.full) {
			*full = c.full;
			return (rc);
		}
	}
	c.refuse = 0;
	c.skip = req->from_device;
	return (store_device_walk(txn, req->from, collect_fn, &c));
}


/*
 * A send's body encoded once (or as the request brought it encoded), for
 * its size check and its frame; NULL with res->err set if it cannot be
 * encoded or exceeds max_message_bytes.
 */
char *
queue_send_body(const struct conf *conf, const struct send_req *req,
    struct send_res *res, size_t *blen)
{
	char	*body;

	if (req->body_text != NULL)
		body = xstrndup(req->body_text, req->body_len);
	else if ((body = json_dumps(req->body, JSON_COMPACT |
	    JSON_ENCODE_ANY)) == NULL) {
		res->err = TE_INTERNAL;
		return (NULL);
	}
	if ((*blen = strlen(body)) > conf->max_message_bytes) {
		free(body);
		res->err = TE_TOO_LARGE;
		return (NULL);
	}
	return (body);
}

/*
 * The msg frame of a send (tickd-protocol(7) MESSAGES) under a new mid,
 * which goes to res with the time, and as text to ms; body is the body
 * encoded once already for its size check.  NULL if it cannot be built.
 */
char *
queue_msg_frame(struct midgen *gen, const struct send_req *req,
    struct send_res *res, const char *body, size_t blen, char *ms,
    size_t *len)
{
	struct jbuf	j;

	midgen_next(gen, req->now, &res->mid);
	res->ts = req->now;
	strlcpy(res->to, req->to, sizeof res->to);
	mid_format(&res->mid, ms);
	jbuf_open(&j, "msg");
	jbuf_str(&j, "mid", ms);
	jbuf_str(&j, "from", req->from);
	jbuf_str(&j, "from_device", req->from_device);
	jbuf_str(&j, "to", req->to);
	jbuf_str(&j, "id", req->id);
	jbuf_uint(&j, "ts", res->ts);
	jbuf_raw(&j, "body", body, blen);
	if (req->media != NULL)
		jbuf_json(&j, "media", req->media);
	return (jbuf_close(&j, len));
}

/*
 * The dedup check of a send: 1 with res filled if (from, id) was sent
 * within dedup_window, 0 if not, or a store error.
 */
int
queue_send_dup(struct txn *txn, const struct conf *conf,
    const struct send_req *req, struct send_res *res)
{
	struct dedup_rec	dd;
	int			rc;

	/* A clock that stepped back keeps a record in its window. */
	rc = store_dedup_get(txn, req->from, req->id, &dd);
	if (rc == STORE_OK && (req->now < dd.ts ||
	    req->now - dd.ts <= conf->dedup_window)) {
		res->dup = 1;
		res->mid = dd.mid;
		res->ts = dd.ts;
		strlcpy(res->to, dd.to, sizeof res->to);
		return (1);
	}
	if (rc != STORE_OK && rc != STORE_NOTFOUND)
		return (rc);
	return (0);
}

/*
 * Writes the message and dedup records of a send accepted under res->mid,
 * flagged as flags.
 */
static int
send_records(struct txn *txn, const struct send_req *req,
    const struct send_res *res, uint8_t flags)
{
	struct msg_rec		m;
	struct dedup_rec	dd;
	int			rc;

	memset(&m, 0, sizeof m);
	m.ts = res->ts;
	m.flags = flags;
	strlcpy(m.from, req->from, sizeof m.from);
	strlcpy(m.from_device, req->from_device, sizeof m.from_device);
	strlcpy(m.to, req->to, sizeof m.to);
	strlcpy(m.id, req->id, sizeof m.id);
	if ((rc = store_msg_put(txn, &res->mid, &m)) != STORE_OK)
		return (rc);
	memset(&dd, 0, sizeof dd);
	dd.mid = res->mid;
	dd.ts = res->ts;
	strlcpy(dd.to, req->to, sizeof dd.to);
	return (store_dedup_put(txn, req->from, req->id, &dd));
}

/*
 * Whether a send may go to another node (tickd-cluster(7)): not with
 * cluster_outbox_max records already held, nor naming media that is not
 * there (media_refs_check, which fills refs); res->err says why not.
 */
int
queue_remote_room(struct txn *txn, const struct conf *conf,
    const struct send_req *req, struct media_refs *refs,
    struct send_res *res)
{
	uint64_t	n;
	int		rc;

	refs->n = 0;
	if ((rc = store_cout_count(txn, &n)) != STORE_OK)
		return (rc);
	if (n >= conf->cluster_outbox_max) {
		res->err = TE_UNAVAILABLE;
		return (STORE_OK);
	}
	if (req->media == NULL)
		return (STORE_OK);
	return (media_refs_check(txn, conf, req->media, req->now,
	    req->media_remote_ok, refs, &res->err));
}

/*
 * A send to a user homed on node home (tickd-cluster(7), Messages between
 * nodes): the items for the sender's other devices with their media
 * references, the dedup record and an outbox record for that node, all in
 * this transaction.  The record carries the media IDs; the recipient's
 * home takes its own references (tickd-cluster(7), Media in messages
 * between nodes).
 */
int
queue_send_remote(struct txn *txn, struct midgen *gen,
    const struct conf *conf, const struct send_req *req, const char *home,
    struct send_res *res)
{
	struct media_refs refs;
	struct devs	 devs;
	struct item	 it;
	json_t		*p;
	char		 ms[MID_STRLEN + 1], *s, *body;
	size_t		 len, blen;
	uint64_t	 used;
	int		 rc, full = 0, have_used = 0;

	memset(res, 0, sizeof *res);
	if ((rc = queue_send_dup(txn, conf, req, res)) != 0)
		return (rc < 0 ? rc : STORE_OK);
	if ((rc = queue_remote_room(txn, conf, req, &refs, res)) !=
	    STORE_OK || res->err != TE_OK)
		return (rc);
	if ((body = queue_send_body(conf, req, res, &blen)) == NULL)
		return (STORE_OK);
	memset(&devs, 0, sizeof devs);
	if ((rc = send_devices(txn, conf, req, 1, &devs, &full)) !=
	    STORE_OK) {
		free(body);
		devs_free(&devs);
		return (rc);
	}
	s = queue_msg_frame(gen, req, res, body, blen, ms, &len);
	if (s == NULL) {
		free(body);
		devs_free(&devs);
		res->err = TE_INTERNAL;
		return (STORE_OK);
	}
	if (conf->max_user_bytes != 0 && devs.n > 0) {
		have_used = 1;
		if ((rc = store_user_bytes_get(txn, req->from, &used)) !=
		    STORE_OK || used + len * devs.n > conf->max_user_bytes) {
			if (rc == STORE_OK) {
				res->err = TE_QUEUE_FULL;
				res->over_quota = 1;
			}
			free(s);
			free(body);
			devs_free(&devs);
			return (rc);
		}
	}
	it.kind = ITEM_MSG;
	it.ts = res->ts;
	it.data = s;
	it.len = len;
	rc = queue_items(txn, &devs, &res->mid, &it, &res->targets);
	free(s);
	/* used, if read above, is still what the store holds. */
	if (rc == STORE_OK && have_used)
		rc = store_user_bytes_set(txn, req->from, used + len * devs.n);
	else if (rc == STORE_OK)
		rc = store_user_bytes_add(txn, req->from, len * devs.n, 0);
	if (rc == STORE_OK)
		rc = media_refs_take(txn, gen, &res->mid, &refs, devs.n,
		    req->now);
	devs_free(&devs);
	p = json_pack("{s:s,s:s,s:s,s:s,s:I}", "from", req->from,
	    "from_device", req->from_device, "to", req->to, "id", req->id,
	    "ts", (json_int_t)res->ts);
	if (p != NULL && req->media != NULL)
		json_object_set(p, "media", req->media);
	if (p != NULL && json_object_set_new(p, "body",
	    json_loads(body, JSON_DECODE_ANY, NULL)) != 0) {
		json_decref(p);
		p = NULL;
	}
	free(body);
	if (rc != STORE_OK) {
		json_decref(p);
		return (rc);
	}
	if ((rc = cluster_cout_json(txn, gen, home, &res->mid, COUT_MSG,
	    res->ts, p, &refs)) != STORE_OK)
		return (rc);
	return (send_records(txn, req, res, 0));
}

/*
 * Applies a message from another node (tickd-cluster(7), Messages between
 * nodes): stores it for every device of its recipient under a new mid,
 * remembering its origin and om for the receipts.  An unknown recipient or
 * a full queue sends a failed receipt back; a block drops it silently.  The
 * caller writes the dedup record and frees out.
 */
int
queue_apply_remote(struct txn *txn, struct midgen *gen,
    const struct conf *conf, const char *origin, const struct mid *om,
    json_t *p, uint64_t now, struct targets *out)
{
	struct send_req	 req;
	struct send_res	 res;
	struct user_rec	 u;
	struct msg_rec	 m;
	struct media_refs refs;
	struct collect	 c;
	struct devs	 devs;
	struct item	 it;
	char		 ms[MID_STRLEN + 1], *s, *body;
	size_t		 len;
	int		 rc, blocked;

	memset(&req, 0, sizeof req);
	req.from = json_string_value(json_object_get(p, "from"));
	req.from_device = json_string_value(json_object_get(p,
	    "from_device"));
	req.to = json_string_value(json_object_get(p, "to"));
	req.id = json_string_value(json_object_get(p, "id"));
	req.body = json_object_get(p, "body");
	req.media = json_object_get(p, "media");
	if (!json_is_array(req.media))
		req.media = NULL;
	req.now = now;
	if (req.from == NULL || req.from_device == NULL || req.to == NULL ||
	    req.id == NULL || req.body == NULL ||
	    !valid_user(req.from, strlen(req.from)) ||
	    !valid_user(req.to, strlen(req.to)) ||
	    strlen(req.id) > CLIENT_ID_MAX ||
	    strlen(req.from_device) > NAME_DEVICE_MAX) {
		log_warnx("queue: a message from node %s is malformed; "
		    "dropped", origin);
		return (STORE_OK);
	}
	if ((rc = store_user_get(txn, req.to, &u)) == STORE_NOTFOUND)
		return (cluster_rcpt_put(txn, gen, origin, om, "failed",
		    "no_such_user", req.to, now));
	if (rc != STORE_OK)
		return (rc);
	if ((blocked = is_blocked(txn, req.to, req.from)) != 0)
		return (blocked < 0 ? blocked : STORE_OK);
	memset(&devs, 0, sizeof devs);
	memset(&c, 0, sizeof c);
	c.devs = &devs;
	c.limit = conf->max_queue;
	c.refuse = 1;
	if ((rc = store_device_walk(txn, req.to, collect_fn, &c)) !=
	    STORE_OK || c.full) {
		devs_free(&devs);
		if (rc != STORE_OK)
			return (rc);
		return (cluster_rcpt_put(txn, gen, origin, om, "failed",
		    "queue_full", req.to, now));
	}
	if ((body = json_dumps(req.body, JSON_COMPACT | JSON_ENCODE_ANY)) ==
	    NULL) {
		devs_free(&devs);
		return (STORE_ERR);
	}
	memset(&res, 0, sizeof res);
	s = queue_msg_frame(gen, &req, &res, body, strlen(body), ms, &len);
	free(body);
	if (s == NULL) {
		devs_free(&devs);
		return (STORE_ERR);
	}
	it.kind = ITEM_MSG;
	it.ts = res.ts;
	it.data = s;
	it.len = len;
	rc = queue_items(txn, &devs, &res.mid, &it, out);
	free(s);
	if (rc == STORE_OK)
		rc = store_user_bytes_add(txn, req.from, len * devs.n, 0);
	/* The references of the sender's home were checked there. */
	media_refs_read(conf, req.media, &refs);
	if (rc == STORE_OK)
		rc = media_refs_take(txn, gen, &res.mid, &refs, devs.n, now);
	devs_free(&devs);
	if (rc != STORE_OK)
		return (rc);
	memset(&m, 0, sizeof m);
	m.ts = res.ts;
	strlcpy(m.from, req.from, sizeof m.from);
	strlcpy(m.from_device, req.from_device, sizeof m.from_device);
	strlcpy(m.to, req.to, sizeof m.to);
	strlcpy(m.id, req.id, sizeof m.id);
	if ((rc = store_msg_put(txn, &res.mid, &m)) != STORE_OK)
		return (rc);
	return (store_crmsg_put(txn, &res.mid, origin, om));
}

/*
 * A receipt from another node for message mid, which this node accepted
 * (tickd-cluster(7), Messages between nodes): queued to every device of its
 * sender.  A message already forgotten gets none.
 */
int
queue_remote_receipt(struct txn *txn, struct midgen *gen,
    const struct mid *mid, const char *status, const char *reason,
    uint64_t now, struct targets *out)
{
	struct msg_rec	m;
	int		rc;

	if ((rc = store_msg_get(txn, mid, &m)) == STORE_NOTFOUND)
		return (STORE_OK);
	if (rc != STORE_OK)
		return (rc);
	return (queue_receipt_why(txn, gen, mid, &m, status, reason, now,
	    NULL, out));
}

/*
 * Accepts a message (tickd-protocol(7) MESSAGES, rules 1 and 7 to 9, and
 * BLOCKING, PRESENCE AND TYPING), with the media references of
 * tickd-protocol(7) MEDIA rule 3.  res is cleared first; res->err says why
 * nothing was stored, res->dup marks a repeated send.  A message from a sender
 * the recipient blocked is stored for the sender's other devices only and
 * marked MSG_BLOCKED, so that no receipt ever follows.  The caller frees
 * res->targets.
 */
int
queue_send(struct txn *txn, struct midgen *gen, const struct conf *conf,
    const struct send_req *req, struct send_res *res)
{
	struct user_rec		 u;
	struct media_refs	 refs;
	struct devs		 devs;
	struct item		 it;
	char			 ms[MID_STRLEN + 1], *s, *body;
	size_t			 len, blen;
	uint64_t		 used;
	int			 rc, blocked, full = 0, have_used = 0;

	memset(res, 0, sizeof *res);
	if (req->to[0] == '#')
		return (group_send(txn, gen, conf, req, res));
	/* A held account takes no messages (cluster_user_get). */
	if ((rc = cluster_user_get(txn, conf, req->to, &u)) == STORE_NOTFOUND) {
		res->err = TE_NO_SUCH_USER;
		return (STORE_OK);
	}
	if (rc != STORE_OK)
		return (rc);

	if ((rc = queue_send_dup(txn, conf, req, res)) != 0)
		return (rc < 0 ? rc : STORE_OK);

	if ((body = queue_send_body(conf, req, res, &blen)) == NULL)
		return (STORE_OK);

	if (req->media != NULL) {
		rc = media_refs_check(txn, conf, req->media, req->now,
		    req->media_remote_ok, &refs, &res->err);
		if (rc != STORE_OK || res->err != TE_OK) {
			free(body);
			return (rc);
		}
	} else
		refs.n = 0;

	if ((blocked = is_blocked(txn, req->to, req->from)) < 0) {
		free(body);
		return (blocked);
	}
	memset(&devs, 0, sizeof devs);
	if ((rc = send_devices(txn, conf, req, blocked, &devs, &full)) !=
	    STORE_OK || full) {
		if (full)
			res->err = TE_QUEUE_FULL;
		free(body);
		devs_free(&devs);
		return (rc);
	}

	s = queue_msg_frame(gen, req, res, body, blen, ms, &len);
	free(body);
	if (s == NULL) {
		log_warnx("queue: cannot build message %s", ms);
		res->err = TE_INTERNAL;
		devs_free(&devs);
		return (STORE_OK);
	}
	/* max_user_bytes: over every queue the message would occupy. */
	if (conf->max_user_bytes != 0) {
		have_used = 1;
		if ((rc = store_user_bytes_get(txn, req->from, &used)) !=
		    STORE_OK || used + len * devs.n > conf->max_user_bytes) {
			if (rc == STORE_OK) {
				res->err = TE_QUEUE_FULL;
				res->over_quota = 1;
			}
			free(s);
			devs_free(&devs);
			return (rc);
		}
	}
	it.kind = ITEM_MSG;
	it.ts = res->ts;
	it.data = s;
	it.len = len;
	rc = queue_items(txn, &devs, &res->mid, &it, &res->targets);
	free(s);
	/* used, if read above, is still what the store holds. */
	if (rc == STORE_OK && have_used)
		rc = store_user_bytes_set(txn, req->from, used + len * devs.n);
	else if (rc == STORE_OK)
		rc = store_user_bytes_add(txn, req->from, len * devs.n, 0);
	if (rc == STORE_OK)
		rc = media_refs_take(txn, gen, &res->mid, &refs, devs.n,
		    req->now);
	devs_free(&devs);
	if (rc != STORE_OK)
		return (rc);

	return (send_records(txn, req, res, blocked ? MSG_BLOCKED : 0));
}

/*
 * Queues the delivered receipt for message mid (record m, as the ack's
 * delete read it; s its sender in the frame) acked by user, if user is
 * its recipient, none was queued yet and no block stands in the way.
 * The receipt goes through s's devices, and whether user blocked the
 * sender is read once a frame: nothing an ack does changes a block.
 */
static int
ack_receipt(struct txn *txn, struct midgen *gen, const char *user,
    const struct mid *mid, struct msg_rec *m, struct ack_sender *s,
    uint64_t now, struct targets *out)
{
	int	rc;

	if (m->to[0] == '#')
		return (group_ack(txn, gen, user, mid, m, now, out));
	if (strcmp(m->to, user) != 0 ||
	    (m->flags & (MSG_DELIVERED | MSG_BLOCKED)) != 0)
		return (STORE_OK);
	if (s->blocked < 0) {
		if ((rc = is_blocked(txn, user, m->from)) < 0)
			return (rc);
		s->blocked = rc;
	}
	if (s->blocked)
		return (STORE_OK);
	m->flags |= MSG_DELIVERED;
	if ((rc = store_msg_put(txn, mid, m)) != STORE_OK)
		return (rc);
	return (queue_receipt(txn, gen, mid, m, "delivered", now, s, out));
}

/* The frame's entry of sender user, made if there is none yet. */
static struct ack_sender *
ack_sender(struct ack_frame *f, const char *user)
{
	struct ack_sender	*s;
	size_t			 i;

	for (i = 0; i < f->ns; i++) {
		if (strcmp(f->s[i].user, user) == 0)
			return (&f->s[i]);
	}
	if (f->ns == f->cap)
		f->s = xgrow(f->s, &f->cap, sizeof *f->s, 2);
	s = &f->s[f->ns++];
	memset(s, 0, sizeof *s);
	strlcpy(s->user, user, sizeof s->user);
	s->blocked = -1;
	return (s);
}

/* Drops the devices the frame keeps of user, but those of keep. */
static void
ack_drop_devs(struct ack_frame *f, const char *user,
    const struct ack_sender *keep)
{
	size_t	i;

	for (i = 0; i < f->ns; i++) {
		if (&f->s[i] != keep && strcmp(f->s[i].user, user) == 0)
			f->s[i].devs_ok = 0;
	}
}

/* Starts an ack frame of user's device; see struct ack_frame. */
void
queue_ack_begin(struct ack_frame *f, const char *user, const char *device)
{
	memset(f, 0, sizeof *f);
	f->user = user;
	f->device = device;
}

/*
 * Writes the acking device's record, if the frame changed it since it was
 * last written or read.  The user's devices kept as a sender's then hold
 * an old copy of it, and go.
 */
static int
ack_dev_flush(struct txn *txn, struct ack_frame *f)
{
	int	rc;

	if (!f->have_dev || (f->dev.count == f->dev_was.count &&
	    f->dev.bytes == f->dev_was.bytes))
		return (STORE_OK);
	rc = store_device_update(txn, f->user, f->device, &f->dev_was,
	    &f->dev);
	if (rc == STORE_OK)
		f->dev_was = f->dev;
	ack_drop_devs(f, f->user, NULL);
	return (rc);
}

/*
 * Deletes an item from the queue of the frame's device.  The first ack
 * of a message by any device of its recipient queues the delivered
 * receipt.  Acking what is not there is not an error.  res is cleared
 * first; the caller frees res->targets.
 *
 * The device's record is read once a frame, and its counts written once,
 * by queue_ack_end, unless something else may read or write it first: a
 * receipt to the acker's own devices (a message to oneself) or a group
 * receipt, which writes devices its own way, are preceded by the write,
 * and the record is read again after one that landed on the device.  A
 * receipt of a message of another user goes to that user's devices only
 * (s->devs), never to this one.  The sender's bytes are summed for
 * queue_ack_end; see struct ack_sender for the sender's devices.
 */
int
queue_ack_mid(struct txn *txn, struct midgen *gen, const struct conf *conf,
    struct ack_frame *f, const struct mid *mid, uint64_t now,
    struct ack_res *res)
{
	struct ack_sender	*s;
	struct target		*t;
	struct item		 old;
	struct msg_rec		 m;
	size_t			 i;
	int			 rc, has_m;

	(void)conf;
	memset(res, 0, sizeof *res);
	if (!f->have_dev) {
		rc = store_device_get(txn, f->user, f->device, &f->dev);
		if (rc == STORE_NOTFOUND)
			return (STORE_OK);
		if (rc != STORE_OK)
			return (rc);
		f->dev_was = f->dev;
		f->have_dev = 1;
	}
	rc = store_queue_take(txn, f->dev.qid, mid, &old, &m, &has_m);
	if (rc == STORE_NOTFOUND)
		return (STORE_OK);
	if (rc != STORE_OK)
		return (rc);
	res->deleted = 1;
	if ((rc = media_release(txn, gen, mid, now)) != STORE_OK)
		return (rc);
	f->dev.count = f->dev.count > 0 ? f->dev.count - 1 : 0;
	f->dev.bytes = f->dev.bytes > old.len ? f->dev.bytes - old.len : 0;
	if (!has_m)
		return (STORE_OK);
	s = ack_sender(f, m.from);
	/* A group send never counts (tickd.conf(5) max_user_bytes). */
	if (m.to[0] != '#')
		s->sub += old.len;
	if ((m.to[0] == '#' || strcmp(m.from, f->user) == 0) &&
	    (rc = ack_dev_flush(txn, f)) != STORE_OK)
		return (rc);
	rc = ack_receipt(txn, gen, f->user, mid, &m, s, now, &res->targets);
	/*
	 * Devices written by another way than s->devs (a group receipt),
	 * and the acking device if a receipt landed on it, are read again.
	 */
	for (i = 0; i < res->targets.n; i++) {
		t = &res->targets.v[i];
		if (strcmp(t->user, f->user) == 0 &&
		    strcmp(t->device, f->device) == 0)
			f->have_dev = 0;
		ack_drop_devs(f, t->user, m.to[0] == '#' ? NULL : s);
	}
	return (rc);
}

/*
 * Ends an ack frame, on error too: writes the acking device's record,
 * takes the bytes of the messages it deleted off their senders
 * (tickd.conf(5) max_user_bytes), once each, and frees it.  Only acks
 * write those bytes while the frame runs.
 */
int
queue_ack_end(struct txn *txn, struct ack_frame *f)
{
	size_t	i;
	int	rc;

	rc = ack_dev_flush(txn, f);
	for (i = 0; i < f->ns; i++) {
		if (rc == STORE_OK && f->s[i].sub > 0)
			rc = store_user_bytes_add(txn, f->s[i].user, 0,
			    f->s[i].sub);
		devs_free(&f->s[i].devs);
	}
	free(f->s);
	memset(f, 0, sizeof *f);
	return (rc);
}

/* One ack alone: a frame of one mid. */
int
queue_ack(struct txn *txn, struct midgen *gen, const struct conf *conf,
    const char *user, const char *device, const struct mid *mid,
    uint64_t now, struct ack_res *res)
{
	struct ack_frame	f;
	int			rc, erc;

	queue_ack_begin(&f, user, device);
	rc = queue_ack_mid(txn, gen, conf, &f, mid, now, res);
	erc = queue_ack_end(txn, &f);
	return (rc != STORE_OK ? rc : erc);
}

/*
 * Marks message mid read by user, its recipient.  A delivered receipt
 * not queued yet goes first, so that a sender never sees blue ticks
 * without two grey ones.  The read receipt is left out if the reader
 * turned read receipts off; a block suppresses both.  out is cleared
 * first; the caller frees it.
 */
int
queue_read(struct txn *txn, struct midgen *gen, const struct conf *conf,
    const char *user, const struct mid *mid, uint64_t now,
    struct targets *out)
{
	struct msg_rec	m;
	struct user_rec	u;
	int		rc, quiet, delivered;

	(void)conf;
	memset(out, 0, sizeof *out);
	if ((rc = store_msg_get(txn, mid, &m)) == STORE_NOTFOUND)
		return (STORE_OK);
	if (rc != STORE_OK)
		return (rc);
	if (m.to[0] == '#')
		return (group_read(txn, gen, user, mid, &m, now, out));
	if (strcmp(m.to, user) != 0 || (m.flags & MSG_READ) != 0)
		return (STORE_OK);
	if ((rc = store_user_get(txn, user, &u)) != STORE_OK)
		return (rc == STORE_NOTFOUND ? STORE_OK : rc);
	if ((quiet = is_blocked(txn, user, m.from)) < 0)
		return (quiet);
	quiet = quiet || (m.flags & MSG_BLOCKED) != 0;
	delivered = !quiet && (m.flags & MSG_DELIVERED) == 0;
	if (delivered)
		m.flags |= MSG_DELIVERED;
	m.flags |= MSG_READ;
	if ((rc = store_msg_put(txn, mid, &m)) != STORE_OK)
		return (rc);
	if (delivered && (rc = queue_receipt(txn, gen, mid, &m, "delivered",
	    now, NULL, out)) != STORE_OK)
		return (rc);
	if (quiet || !u.read_receipts)
		return (STORE_OK);
	return (queue_receipt(txn, gen, mid, &m, "read", now, NULL, out));
}

/* What queue_pending's walk carries from item to item. */
struct pending {
	const struct conf	*conf;
	uint64_t		 now;
	struct mid		*pos;
	uint64_t		*inflight;
	int			(*fn)(void *, const struct mid *,
				    const struct item *);
	void			*arg;
};

/* Queue walk callback: skips an old item, hands on the next one. */
static int
pending_item_fn(void *arg, const struct mid *mid, const struct item *it)
{
	struct pending	*p = arg;

	if (*p->inflight >= p->conf->window)
		return (STORE_WALK_STOP);
	if (expired(it->ts, p->conf->message_ttl, p->now)) {
		*p->pos = *mid;
		return (STORE_WALK_NEXT);
	}
	if (p->fn(p->arg, mid, it) != STORE_WALK_NEXT)
		return (STORE_WALK_STOP);
	*p->pos = *mid;
	(*p->inflight)++;
	return (STORE_WALK_NEXT);
}

/*
 * Hands fn, in mid order, the items of queue qid after *pos (0-0: from
 * its head) while fewer than window are in flight (tickd-protocol(7)
 * MESSAGES).  An item past message_ttl is passed over, never handed: the
 * sweep deletes it soon.  *pos moves over every item passed
 * over or taken, and *inflight counts those taken; fn returns
 * STORE_WALK_NEXT if it took the item, or STORE_WALK_STOP to leave it
 * where it is and end the walk (its connection can take no more now).
 */
int
queue_pending(struct txn *txn, const struct conf *conf, uint64_t qid,
    uint64_t now, struct mid *pos, uint64_t *inflight,
    int (*fn)(void *, const struct mid *, const struct item *), void *arg)
{
	struct pending	p;

	if (*inflight >= conf->window)
		return (STORE_OK);
	p.conf = conf;
	p.now = now;
	p.pos = pos;
	p.inflight = inflight;
	p.fn = fn;
	p.arg = arg;
	return (store_queue_walk(txn, qid, pos->ms == 0 && pos->seq == 0 ?
	    NULL : pos, pending_item_fn, &p));
}

/* Queue walk callback: deletes items from the head while they are old. */
static int
sweep_item_fn(void *arg, const struct mid *mid, const struct item *it)
{
	struct sweep	*sw = arg;

	if (!expired(it->ts, sw->ttl, sw->now))
		return (STORE_WALK_STOP);
	if (store_item_forget(sw->txn, mid, it) != STORE_OK ||
	    media_release(sw->txn, sw->gen, mid, sw->now) != STORE_OK)
		return (STORE_WALK_STOP);
	sw->n++;
	sw->bytes += it->len;
	return (STORE_WALK_DELETE);
}

/* Drops a device's items older than message_ttl and fixes its counts. */
static int
sweep_queue(struct txn *txn, struct midgen *gen, const struct conf *conf,
    uint64_t now, struct dev *d, uint64_t *items)
{
	struct sweep	sw;
	int		rc;

	memset(&sw, 0, sizeof sw);
	sw.txn = txn;
	sw.gen = gen;
	sw.now = now;
	sw.ttl = conf->message_ttl;
	rc = store_queue_walk(txn, d->r.qid, NULL, sweep_item_fn, &sw);
	if (rc != STORE_OK || sw.n == 0)
		return (rc);
	d->r.count = d->r.count > sw.n ? d->r.count - sw.n : 0;
	d->r.bytes = d->r.bytes > sw.bytes ? d->r.bytes - sw.bytes : 0;
	*items += sw.n;
	return (store_device_put(txn, d->user, d->device, &d->r));
}

/*
 * Msgs walk callback: forgets messages older than both message_ttl and
 * dedup_window, with their dedup key unless a later send reused it.  A
 * store error is left in the txn, which stops the walk.
 */
static int
sweep_msg_fn(void *arg, const struct mid *mid, const struct msg_rec *m)
{
	struct sweep		*sw = arg;
	struct dedup_rec	 dd;
	int			 rc;

	if (!expired(m->ts, sw->ttl, sw->now))
		return (STORE_WALK_STOP);
	if (store_dedup_get(sw->txn, m->from, m->id, &dd) == STORE_OK &&
	    mid_cmp(&dd.mid, mid) == 0 &&
	    store_dedup_del(sw->txn, m->from, m->id) != STORE_OK)
		return (STORE_WALK_STOP);
	if (m->to[0] == '#' && store_gmsg_drop(sw->txn, mid) != STORE_OK)
		return (STORE_WALK_STOP);
	/* A message from another node: where it came from goes too. */
	rc = store_crmsg_del(sw->txn, mid);
	if (rc != STORE_OK && rc != STORE_NOTFOUND)
		return (STORE_WALK_STOP);
	sw->n++;
	return (STORE_WALK_DELETE);
}

/*
 * Token walk callback: deletes tokens that expired or whose device is
 * gone or was recreated with another queue.  A store error is left in
 * the txn, which stops the walk.
 */
static int
sweep_token_fn(void *arg, const uint8_t *hash, const struct token_rec *t)
{
	struct sweep	*sw = arg;
	struct dev_rec	 r;
	int		 rc;

	(void)hash;
	if (t->expires > sw->now) {
		rc = store_device_get(sw->txn, t->user, t->device, &r);
		if (rc != STORE_NOTFOUND && (rc != STORE_OK || r.qid == t->qid))
			return (STORE_WALK_NEXT);
	}
	sw->n++;
	return (STORE_WALK_DELETE);
}

/*
 * Periodic cleanup: items past message_ttl, devices idle for device_ttl
 * and not online, message records past max(message_ttl, dedup_window),
 * and dead tokens.  An unclaimed "default" is never removed for being
 * idle: it is the only device of an account nobody logged in to yet, and
 * removing it would only recreate it with its waiting messages lost.
 * res is cleared first; the caller frees res->removed.
 */
int
queue_sweep(struct txn *txn, struct midgen *gen, const struct conf *conf,
    uint64_t now, int (*online)(void *, const char *, const char *),
    void *arg, struct sweep_res *res)
{
	struct devs	 devs;
	struct dev	*d;
	struct sweep	 sw;
	size_t		 i;
	int		 rc;

	memset(res, 0, sizeof *res);
	memset(&devs, 0, sizeof devs);
	if ((rc = collect_all(txn, NULL, &devs)) != STORE_OK)
		goto out;
	for (i = 0; i < devs.n; i++) {
		d = &devs.v[i];
		if (d->r.claimed &&
		    expired(d->r.last_active, conf->device_ttl, now) &&
		    (online == NULL || !online(arg, d->user, d->device))) {
			rc = account_remove_device(txn, gen, d->user,
			    d->device, now);
			if (rc != STORE_OK)
				goto out;
			targets_add(&res->removed, d->user, d->device,
			    d->r.qid);
			continue;
		}
		if ((rc = sweep_queue(txn, gen, conf, now, d, &res->items)) !=
		    STORE_OK)
			goto out;
	}

	memset(&sw, 0, sizeof sw);
	sw.txn = txn;
	sw.now = now;
	sw.ttl = conf->message_ttl > conf->dedup_window ? conf->message_ttl :
	    conf->dedup_window;
	if ((rc = store_msg_walk(txn, sweep_msg_fn, &sw)) != STORE_OK)
		goto out;
	res->msgs = sw.n;

	sw.n = 0;
	if ((rc = store_token_walk(txn, sweep_token_fn, &sw)) != STORE_OK)
		goto out;
	res->tokens = sw.n;
out:
	devs_free(&devs);
	return (rc);
}
