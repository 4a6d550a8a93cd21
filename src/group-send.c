/* SPDX-License-Identifier: ISC */
/*
 * group-send.c: messages in groups (tickd-protocol(7) GROUPS): the
 * fan-out of a group send, per-member receipts and typing.  The rules of
 * membership, and the context these run in, are group.c's.
 *
 * As in queue.c nothing here does I/O.  The caller runs these functions
 * inside the one write transaction of an event-loop turn, commits, and
 * only then replies and pushes to the devices listed in the targets.  An
 * error return means that transaction must be aborted.
 */
#include <stdlib.h>
#include <string.h>

#include "tickd.h"

/* What a send's walk over the members carries. */
struct fanout {
	struct gctx		*x;
	const struct send_req	*req;
	const struct mid	*mid;
	struct item		 it;
	uint64_t		 skipped;
	uint64_t		 items;
};

/* Member walk callback of a send: the message for one member's devices. */
static int
fanout_fn(void *arg, const char *group, const char *user,
    const struct gmember_rec *r)
{
	struct fanout	*f = arg;
	struct gctx	*x = f->x;
	int		 rc;

	(void)group;
	(void)r;
	if (strcmp(user, f->req->from) == 0) {
		rc = group_user_items(x, user, f->req->from_device,
		    x->conf->max_queue, f->mid, &f->it, &f->skipped,
		    &f->items);
		return (rc == STORE_OK ? STORE_WALK_NEXT : STORE_WALK_STOP);
	}
	/* A member who blocked the sender gets nothing (rule 10). */
	if ((rc = group_blocked(x->txn, user, f->req->from)) < 0)
		return (STORE_WALK_STOP);
	if (rc > 0)
		return (STORE_WALK_NEXT);
	rc = group_user_items(x, user, NULL, x->conf->max_queue, f->mid, &f->it,
	    &f->skipped, &f->items);
	return (rc == STORE_OK ? STORE_WALK_NEXT : STORE_WALK_STOP);
}

/*
 * A send to a group (rules 1, 3, 9 and 10): the message in the queue of
 * every device of every other member and every other device of the
 * sender, all in this transaction; full devices skipped and counted,
 * never refused.  The body is encoded once for all of them.  Called by
 * queue_send for a "to" starting with '#'; res as there.
 */
int
group_send(struct txn *txn, struct midgen *gen, const struct conf *conf,
    const struct send_req *req, struct send_res *res)
{
	struct grp_req	 greq;
	struct grp_res	 gres;
	struct gctx		 x;
	struct gmember_rec	 me;
	struct dedup_rec	 dd;
	struct gmsg_rec		 gm;
	struct fanout		 f;
	struct media_refs	 refs;
	char			 ms[MID_STRLEN + 1], *s = NULL, *body = NULL;
	size_t			 blen;
	int			 rc;

	memset(&greq, 0, sizeof greq);
	memset(&gres, 0, sizeof gres);
	greq.actor = req->from;
	greq.group = req->to;
	greq.now = req->now;
	res->group = 1;
	if (!valid_group(req->to, strlen(req->to))) {
		res->err = TE_NO_SUCH_GROUP;
		return (STORE_OK);
	}
	rc = gctx_open(&x, txn, gen, conf, &greq, &me, &gres);
	if (rc != STORE_OK || gres.err != TE_OK) {
		res->err = gres.err;
		return (rc);
	}
	x.out = &res->targets;

	rc = store_dedup_get(txn, req->from, req->id, &dd);
	if (rc == STORE_OK && (req->now < dd.ts ||
	    req->now - dd.ts <= conf->dedup_window)) {
		res->dup = 1;
		res->mid = dd.mid;
		res->ts = dd.ts;
		strlcpy(res->to, dd.to, sizeof res->to);
		if (dd.to[0] == '#' && (rc = store_gmsg_get(txn, &dd.mid,
		    &gm)) == STORE_OK) {
			res->expect = gm.expect;
			res->skipped = gm.skipped;
		}
		res->group = dd.to[0] == '#';
		return (rc == STORE_NOTFOUND ? STORE_OK : rc);
	}
	if (rc != STORE_OK && rc != STORE_NOTFOUND)
		return (rc);
	if ((x.g.flags & GROUP_ADMIN_SEND) && me.role == GROLE_MEMBER) {
		res->err = TE_FORBIDDEN;
		return (STORE_OK);
	}
	if ((body = queue_send_body(conf, req, res, &blen)) == NULL)
		return (STORE_OK);
	/* Media rule 3 of tickd-protocol(7) MEDIA, as for a 1:1 send. */
	refs.n = 0;
	if (req->media != NULL) {
		rc = media_refs_check(txn, conf, req->media, req->now,
		    req->media_remote_ok, &refs, &res->err);
		if (rc != STORE_OK || res->err != TE_OK) {
			free(body);
			gctx_close(&x);
			return (rc);
		}
	}

	memset(&f, 0, sizeof f);
	s = queue_msg_frame(gen, req, res, body, blen, ms, &f.it.len);
	free(body);
	if (s == NULL) {
		log_warnx("group: cannot build message %s", ms);
		res->err = TE_INTERNAL;
		gctx_close(&x);
		return (STORE_OK);
	}
	f.x = &x;
	f.req = req;
	f.mid = &res->mid;
	f.it.kind = ITEM_MSG;
	f.it.ts = res->ts;
	f.it.data = s;
	memset(&gm, 0, sizeof gm);
	gm.receipts = x.g.members <= conf->group_receipts_max;
	/* Members on other nodes: their receipts come back to this mid. */
	mid_format(&res->mid, ms);
	x.fan.refs = &refs;
	x.fan.msg = json_pack("{s:s,s:s,s:s,s:s,s:s,s:b}", "o",
	    conf->node_name != NULL ? conf->node_name : "", "om", ms, "from",
	    req->from, "from_device", req->from_device, "id", req->id,
	    "receipts", gm.receipts);
	rc = store_gmember_walk(txn, x.group, fanout_fn, &f);
	if (rc == STORE_OK)
		rc = group_fan_flush(&x);
	free(s);
	gctx_close(&x);
	if (rc != STORE_OK)
		return (rc);
	if (txn->ret != STORE_OK)
		return (txn->ret);
	res->skipped = f.skipped;
	res->items = f.items;
	if (refs.n != 0 &&
	    (rc = media_refs_take(txn, gen, &res->mid, &refs, f.items,
	    req->now)) != STORE_OK)
		return (rc);
	gm.expect = gm.receipts ? x.g.members - 1 : 0;
	return (group_send_records(txn, req, res, &gm));
}

/*
 * The records a group send leaves beside its items, under its mid: gm
 * (with res->skipped), the message record its receipts are made from,
 * and the sender's dedup record of its id; res->expect from gm.
 */
int
group_send_records(struct txn *txn, const struct send_req *req,
    struct send_res *res, struct gmsg_rec *gm)
{
	struct dedup_rec	 dd;
	struct msg_rec		 m;
	int			 rc;

	gm->skipped = res->skipped;
	res->expect = gm->expect;
	if ((rc = store_gmsg_put(txn, &res->mid, gm)) != STORE_OK)
		return (rc);
	memset(&m, 0, sizeof m);
	m.ts = res->ts;
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

/* Queues one receipt of group message mid, by member by, to its sender. */
static int
group_receipt(struct txn *txn, struct midgen *gen, const struct mid *mid,
    const struct msg_rec *m, const char *by, const char *status,
    uint64_t now, struct targets *out)
{
	struct gctx	 x;
	struct mid	 rmid;
	struct item	 it;
	struct jbuf	 j;
	struct mid	 om;
	char		 rs[MID_STRLEN + 1], fs[MID_STRLEN + 1], *frame;
	char		 origin[CLUSTER_NODE_MAX + 1];
	int		 rc;

	/*
	 * A message that came through its group's home on another node:
	 * the receipt goes to the sender's home, which may be this node.
	 */
	rc = store_crmsg_get(txn, mid, origin, &om);
	if (rc == STORE_OK && origin[0] == '\0')
		return (group_remote_receipt(txn, gen, &om, by, status, now,
		    out));
	if (rc == STORE_OK)
		return (cluster_rcpt_put_group(txn, gen, origin, &om, status,
		    by, m->to, now));
	if (rc != STORE_NOTFOUND)
		return (rc);
	memset(&x, 0, sizeof x);
	x.txn = txn;
	x.out = out;
	midgen_next(gen, now, &rmid);
	mid_format(&rmid, rs);
	mid_format(mid, fs);
	jbuf_open(&j, "receipt");
	jbuf_str(&j, "mid", rs);
	jbuf_str(&j, "for", fs);
	jbuf_str(&j, "id", m->id);
	jbuf_str(&j, "by", by);
	jbuf_str(&j, "status", status);
	jbuf_uint(&j, "ts", now);
	jbuf_str(&j, "group", m->to);
	if ((frame = jbuf_close(&j, &it.len)) == NULL) {
		log_warnx("group: cannot build receipt for %s", fs);
		return (group_abandon(txn));
	}
	it.kind = ITEM_RECEIPT;
	it.ts = now;
	it.data = frame;
	rc = group_user_items(&x, m->from, NULL, UINT64_MAX, &rmid, &it, NULL,
	    NULL);
	free(frame);
	gctx_close(&x);
	return (rc);
}

/*
 * Whether member user's receipts for group message mid may be queued:
 * receipts on for it, and no block between user and its sender.  Sets
 * *flags to the receipts already queued.
 */
static int
receipt_due(struct txn *txn, const struct mid *mid, const struct msg_rec *m,
    const char *user, uint8_t *flags, int *quiet)
{
	struct gmsg_rec	gm;
	int		rc;

	*quiet = 1;
	if (strcmp(user, m->from) == 0)
		return (STORE_NOTFOUND);
	if ((rc = store_gmsg_get(txn, mid, &gm)) != STORE_OK)
		return (rc);
	if (!gm.receipts)
		return (STORE_NOTFOUND);
	rc = store_grcpt_get(txn, mid, user, flags);
	if (rc != STORE_OK && rc != STORE_NOTFOUND)
		return (rc);
	if ((rc = group_blocked(txn, m->from, user)) == 0)
		rc = group_blocked(txn, user, m->from);
	if (rc < 0)
		return (rc);
	*quiet = rc;
	return (STORE_OK);
}

/*
 * The first ack of group message mid by a device of member user queues
 * one delivered receipt with "group" to the sender (rule 9).
 */
int
group_ack(struct txn *txn, struct midgen *gen, const char *user,
    const struct mid *mid, const struct msg_rec *m, uint64_t now,
    struct targets *out)
{
	uint8_t	flags;
	int	rc, quiet;

	rc = receipt_due(txn, mid, m, user, &flags, &quiet);
	if (rc != STORE_OK)
		return (rc == STORE_NOTFOUND ? STORE_OK : rc);
	if (quiet || (flags & GRCPT_DELIVERED))
		return (STORE_OK);
	if ((rc = store_grcpt_put(txn, mid, user, flags | GRCPT_DELIVERED)) !=
	    STORE_OK)
		return (rc);
	return (group_receipt(txn, gen, mid, m, user, "delivered", now, out));
}

/*
 * The first read of group message mid by member user queues its read
 * receipt, after a delivered one if none went yet, unless user turned
 * read receipts off.  Only a member of the group reads: a user who left
 * or was removed no longer tells the group anything.
 */
int
group_read(struct txn *txn, struct midgen *gen, const char *user,
    const struct mid *mid, const struct msg_rec *m, uint64_t now,
    struct targets *out)
{
	struct gmember_rec	gm;
	struct crgroup_rec	cr;
	struct user_rec		u;
	uint8_t			flags;
	int			rc, quiet, delivered;

	/* A member here, or of a group homed on another node. */
	if ((rc = store_gmember_get(txn, m->to, user, &gm)) == STORE_NOTFOUND)
		rc = store_crgroup_get(txn, user, m->to, &cr);
	if (rc != STORE_OK)
		return (rc == STORE_NOTFOUND ? STORE_OK : rc);
	rc = receipt_due(txn, mid, m, user, &flags, &quiet);
	if (rc != STORE_OK)
		return (rc == STORE_NOTFOUND ? STORE_OK : rc);
	if (flags & GRCPT_READ)
		return (STORE_OK);
	if ((rc = store_user_get(txn, user, &u)) != STORE_OK)
		return (rc == STORE_NOTFOUND ? STORE_OK : rc);
	delivered = !quiet && (flags & GRCPT_DELIVERED) == 0;
	if ((rc = store_grcpt_put(txn, mid, user, flags | GRCPT_DELIVERED |
	    GRCPT_READ)) != STORE_OK)
		return (rc);
	if (delivered && (rc = group_receipt(txn, gen, mid, m, user,
	    "delivered", now, out)) != STORE_OK)
		return (rc);
	if (quiet || !u.read_receipts)
		return (STORE_OK);
	return (group_receipt(txn, gen, mid, m, user, "read", now, out));
}

/*
 * A receipt by member by, from the node that member is homed on, for
 * group message mid sent here (tickd-cluster(7), Groups across nodes):
 * queued to the sender's devices unless the sender blocked by (rule 10).
 */
int
group_remote_receipt(struct txn *txn, struct midgen *gen,
    const struct mid *mid, const char *by, const char *status, uint64_t now,
    struct targets *out)
{
	struct msg_rec	m;
	int		rc;

	if ((rc = store_msg_get(txn, mid, &m)) == STORE_NOTFOUND)
		return (STORE_OK);
	if (rc != STORE_OK)
		return (rc);
	if (m.to[0] != '#')
		return (STORE_OK);
	if ((rc = group_blocked(txn, m.from, by)) != 0)
		return (rc < 0 ? rc : STORE_OK);
	return (group_receipt(txn, gen, mid, &m, by, status, now, out));
}

/* What group_typing's walk carries. */
struct gtyping {
	struct txn	*txn;
	const char	*actor;
	void		(*fn)(void *, const char *);
	void		*arg;
	int		 rc;
};

/* Member walk callback: one member that typing reaches. */
static int
typing_fn(void *arg, const char *group, const char *user,
    const struct gmember_rec *r)
{
	struct gtyping	*t = arg;

	(void)group;
	(void)r;
	if (strcmp(user, t->actor) == 0)
		return (STORE_WALK_NEXT);
	if ((t->rc = group_blocked(t->txn, user, t->actor)) < 0)
		return (STORE_WALK_STOP);
	if (t->rc == 0)
		t->fn(t->arg, user);
	t->rc = STORE_OK;
	return (STORE_WALK_NEXT);
}

/*
 * Calls fn for every other member of group that did not block actor
 * (rules 10 and 11); *member is 0 if actor is not a member.
 */
int
group_typing(struct txn *txn, const char *actor, const char *group,
    void (*fn)(void *, const char *), void *arg, int *member)
{
	struct gmember_rec	me;
	struct gtyping		t;
	int			rc;

	*member = 0;
	if ((rc = store_gmember_get(txn, group, actor, &me)) != STORE_OK)
		return (rc == STORE_NOTFOUND ? STORE_OK : rc);
	*member = 1;
	t.txn = txn;
	t.actor = actor;
	t.fn = fn;
	t.arg = arg;
	t.rc = STORE_OK;
	rc = store_gmember_walk(txn, group, typing_fn, &t);
	return (rc != STORE_OK ? rc : t.rc);
}
