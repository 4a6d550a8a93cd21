/* SPDX-License-Identifier: ISC */
/*
 * group-cluster.c: groups whose members are homed on several nodes
 * (tickd-cluster(7), Groups across nodes).  On the group's home, an item
 * for a member homed elsewhere is gathered per node while it is fanned out
 * and written as one gev outbox record per node, naming that node's
 * members, in the transaction of the change or message; the outbox keeps
 * them in the order of the group's home.  On a member's home, a gev is
 * applied as the home would have queued it: the item under a new mid for
 * every device of the named users (a message skipping those who blocked its
 * sender and full devices), and for an event the users' memberships as this
 * node keeps them (store-cgroups.c) for the groups op.
 *
 * As in group.c nothing here does I/O, and an error return means the
 * transaction must be aborted.
 */
#include <stdlib.h>
#include <string.h>

#include "tickd.h"

/*
 * Whether user has an account: here, or (in a cluster) on the node the
 * directory cache names.  1, 0, or a store error.  An account held here
 * for a name conflict counts only by its cached home (cluster_user_get):
 * without one, 0 lets the caller look the name up (GRP_ASK_LOOKUP).
 */
int
group_user_known(struct txn *txn, const struct conf *conf, const char *user)
{
	struct user_rec	u;
	char		node[CLUSTER_NODE_MAX + 1];
	int		rc;

	if ((rc = cluster_user_get(txn, conf, user, &u)) == STORE_OK)
		return (1);
	if (rc != STORE_NOTFOUND || conf == NULL || conf->cluster_redis == NULL)
		return (rc == STORE_NOTFOUND ? 0 : rc);
	if ((rc = store_cdir_get(txn, user, node)) == STORE_NOTFOUND)
		return (0);
	if (rc != STORE_OK)
		return (rc);
	return (strcmp(node, conf->node_name) != 0);
}

/*
 * The vetting, at user's home, of an add of user by actor to a group
 * homed elsewhere, called key (its name, or one the create it is for
 * makes up), at now (protocol rule 8; tickd-cluster(7), Groups across
 * nodes): 1 if refused, 0 if not, or a store error.  A yes reserves user a
 * place in max_groups_per_user until the event of the add is applied here,
 * or the reservation lapses, so that adds vetted at once on several nodes
 * cannot exceed it, and a reservation lost with its answer blocks nobody for
 * long.  A member already needs no place (but is vetted for the actor);
 * a vet again for the same group replaces its reservation.
 */
int
group_vet_user(struct txn *txn, const struct conf *conf, const char *user,
    const char *actor, const char *key, uint64_t now)
{
	struct crgroup_rec	cr;
	int			rc;

	if ((rc = store_crsv_del(txn, user, key)) != STORE_OK)
		return (rc);
	/*
	 * A member as this node knows needs no place, but its blocks and
	 * group_add still hold: its removal may be on its way here.
	 */
	if (valid_group(key, strlen(key)) &&
	    (rc = store_crgroup_get(txn, user, key, &cr)) != STORE_NOTFOUND)
		return (rc == STORE_OK ?
		    group_refuses_actor(txn, user, actor) : rc);
	if ((rc = group_refuses(txn, conf, user, actor, now)) != 0)
		return (rc);
	/* Long enough for the call to the group's home and its event. */
	return (store_crsv_put(txn, user, key, now +
	    2 * conf->cluster_rpc_timeout + conf->cluster_retry));
}

/* Frees what a gfan gathered. */
void
group_fan_free(struct gfan *f)
{
	size_t	i;

	for (i = 0; i < f->n; i++)
		json_decref(f->v[i].users);
	free(f->v);
	json_decref(f->msg);
	memset(f, 0, sizeof *f);
}

/*
 * Gathers item it under mid for user if user is homed on another node:
 * 1 then (or for a user nobody has), 0 for a local user, or a store
 * error.  it must stay valid until group_fan_flush.  An account held here
 * for a name conflict goes to its name's cached home (cluster_user_get);
 * with none cached, which no lookup can fill in this transaction, it keeps
 * the item as before its hold rather than lose it (tickd-cluster(7), Name
 * conflicts).
 */
int
group_fan_add(struct gctx *x, const char *user, const struct mid *mid,
    const struct item *it)
{
	struct gfan_node	*n = NULL;
	struct user_rec		 u;
	char			 node[CLUSTER_NODE_MAX + 1];
	size_t			 i;
	int			 rc;

	if (x->conf == NULL || x->conf->cluster_redis == NULL)
		return (0);
	if ((rc = cluster_user_get(x->txn, x->conf, user, &u)) == STORE_OK)
		return (0);
	if (rc != STORE_NOTFOUND)
		return (rc);
	if ((rc = store_cdir_get(x->txn, user, node)) != STORE_OK &&
	    rc != STORE_NOTFOUND)
		return (rc);
	if (rc == STORE_NOTFOUND || strcmp(node, x->conf->node_name) == 0) {
		rc = store_user_get(x->txn, user, &u);
		return (rc == STORE_OK ? 0 : rc == STORE_NOTFOUND ? 1 : rc);
	}
	/* Only a change or a send of the group's home fans out. */
	if (x->gen == NULL || x->group == NULL)
		return (1);
	if (x->fan.it != NULL && mid_cmp(&x->fan.mid, mid) != 0 &&
	    (rc = group_fan_flush(x)) != STORE_OK)
		return (rc);
	x->fan.it = it;
	x->fan.mid = *mid;
	for (i = 0; i < x->fan.n; i++) {
		if (strcmp(x->fan.v[i].node, node) == 0)
			n = &x->fan.v[i];
	}
	if (n == NULL) {
		if (x->fan.n == x->fan.cap)
			x->fan.v = xgrow(x->fan.v, &x->fan.cap,
			    sizeof *x->fan.v, 4);
		n = &x->fan.v[x->fan.n++];
		strlcpy(n->node, node, sizeof n->node);
		n->users = json_array();
	}
	json_array_append_new(n->users, json_string(user));
	return (1);
}

/* The roles of users in x's group now: name -> role, or null. */
static int
fan_roles(struct gctx *x, json_t *users, json_t **out)
{
	struct gmember_rec	 gm;
	json_t			*v;
	size_t			 i;
	int			 rc;

	*out = json_object();
	json_array_foreach(users, i, v) {
		rc = store_gmember_get(x->txn, x->group, json_string_value(v),
		    &gm);
		if (rc == STORE_OK)
			json_object_set_new(*out, json_string_value(v),
			    json_string(group_role_name(gm.role)));
		else if (rc == STORE_NOTFOUND)
			json_object_set_new(*out, json_string_value(v),
			    json_null());
		else {
			json_decref(*out);
			*out = NULL;
			return (rc);
		}
	}
	return (STORE_OK);
}

/*
 * Writes what was gathered: one gev outbox record per node with the
 * item, the group's title and version, and the roles of the named users
 * after an event, or the message's origin and sender.
 */
int
group_fan_flush(struct gctx *x)
{
	struct gfan_node	*n;
	json_t			*p, *roles;
	size_t			 i;
	int			 rc = STORE_OK, msg;

	if (x->fan.it == NULL)
		return (STORE_OK);
	msg = x->fan.it->kind == ITEM_MSG;
	for (i = 0; i < x->fan.n && rc == STORE_OK; i++) {
		n = &x->fan.v[i];
		p = json_pack("{s:s,s:s,s:O,s:s%,s:s,s:I,s:I}", "g", x->group,
		    "kind", msg ? "msg" : "event", "users", n->users, "frame",
		    x->fan.it->data, x->fan.it->len, "title", x->g.title,
		    "version", (json_int_t)x->g.version, "ts",
		    (json_int_t)x->fan.it->ts);
		if (p == NULL)
			return (group_abandon(x->txn));
		if (msg && x->fan.msg != NULL)
			json_object_set(p, "msg", x->fan.msg);
		else if (!msg) {
			if ((rc = fan_roles(x, n->users, &roles)) != STORE_OK) {
				json_decref(p);
				return (rc);
			}
			json_object_set_new(p, "roles", roles);
		}
		rc = cluster_cout_json(x->txn, x->gen, n->node, NULL, COUT_GEV,
		    x->now, p, msg ? x->fan.refs : NULL);
	}
	for (i = 0; i < x->fan.n; i++)
		json_decref(x->fan.v[i].users);
	x->fan.n = 0;
	x->fan.it = NULL;
	return (rc);
}

/* Keeps what an event says of user's membership of x's group. */
static int
gev_membership(struct gctx *x, const char *home, json_t *p, const char *user)
{
	struct crgroup_rec	 r;
	json_t			*role;
	const char		*title;
	int			 rc, ri;

	role = json_object_get(json_object_get(p, "roles"), user);
	if (role == NULL)
		return (STORE_OK);
	/* The add vetted here is applied: its reservation goes. */
	if ((rc = store_crsv_del(x->txn, user, x->group)) != STORE_OK)
		return (rc);
	if (json_is_null(role)) {
		rc = store_crgroup_del(x->txn, user, x->group);
		return (rc == STORE_NOTFOUND ? STORE_OK : rc);
	}
	title = json_string_value(json_object_get(p, "title"));
	if ((ri = group_role_parse(json_string_value(role) != NULL ?
	    json_string_value(role) : "")) < 0 || title == NULL)
		return (STORE_OK);
	memset(&r, 0, sizeof r);
	r.role = (uint8_t)ri;
	r.version = (uint64_t)json_integer_value(json_object_get(p,
	    "version"));
	strlcpy(r.home, home, sizeof r.home);
	strlcpy(r.title, title, sizeof r.title);
	return (store_crgroup_put(x->txn, user, x->group, &r));
}

/*
 * Keeps what a message applied here needs for its receipts: the message,
 * the group's promise, and the origin and om they go back to.
 */
static int
gev_msg_records(struct gctx *x, json_t *msg, const struct mid *mid,
    uint64_t ts, uint64_t skipped)
{
	struct msg_rec	 m;
	struct gmsg_rec	 gm;
	struct mid	 om;
	const char	*o, *oms, *from, *dev, *id;
	int		 rc;

	o = json_string_value(json_object_get(msg, "o"));
	oms = json_string_value(json_object_get(msg, "om"));
	from = json_string_value(json_object_get(msg, "from"));
	dev = json_string_value(json_object_get(msg, "from_device"));
	id = json_string_value(json_object_get(msg, "id"));
	if (o == NULL || oms == NULL || from == NULL || dev == NULL ||
	    id == NULL || !cluster_node_name_ok(o, strlen(o)) ||
	    mid_parse(oms, strlen(oms), &om) != 0)
		return (STORE_OK);
	memset(&m, 0, sizeof m);
	m.ts = ts;
	strlcpy(m.from, from, sizeof m.from);
	strlcpy(m.from_device, dev, sizeof m.from_device);
	strlcpy(m.to, x->group, sizeof m.to);
	strlcpy(m.id, id, sizeof m.id);
	memset(&gm, 0, sizeof gm);
	gm.receipts = json_is_true(json_object_get(msg, "receipts"));
	gm.skipped = skipped;
	if ((rc = store_msg_put(x->txn, mid, &m)) != STORE_OK ||
	    (rc = store_gmsg_put(x->txn, mid, &gm)) != STORE_OK)
		return (rc);
	/* An empty origin: the sender is homed here (group_receipt). */
	return (store_crmsg_put(x->txn, mid, strcmp(o, x->conf->node_name) ==
	    0 ? "" : o, &om));
}

/*
 * Applies a gev record from origin, the group's home (see the top of the
 * file).  The caller writes the dedup record and pumps out.
 */
int
group_apply_gev(struct txn *txn, struct midgen *gen, const struct conf *conf,
    const char *origin, json_t *p, uint64_t now, struct targets *out)
{
	struct gctx	 x;
	struct media_refs refs;
	struct item	 it;
	struct mid	 mid;
	json_t		*users, *frame, *msg, *v;
	const char	*g, *kind, *text, *user, *from = NULL;
	int		 ismsg;
	char		 ms[MID_STRLEN + 1], *data;
	uint64_t	 skipped = 0, items = 0, ts;
	size_t		 i;
	int		 rc = STORE_OK, blocked;

	g = json_string_value(json_object_get(p, "g"));
	kind = json_string_value(json_object_get(p, "kind"));
	users = json_object_get(p, "users");
	text = json_string_value(json_object_get(p, "frame"));
	msg = json_object_get(p, "msg");
	ismsg = kind != NULL && strcmp(kind, "msg") == 0;
	if (ismsg)
		from = json_string_value(json_object_get(msg, "from"));
	if (g == NULL || !valid_group(g, strlen(g)) || kind == NULL ||
	    !json_is_array(users) || text == NULL ||
	    (frame = json_loads(text, 0, NULL)) == NULL) {
		log_warnx("group: a group record from node %s is malformed; "
		    "dropped", origin);
		return (STORE_OK);
	}
	if (ismsg && from == NULL) {
		json_decref(frame);
		log_warnx("group: a group message from node %s names no "
		    "sender; dropped", origin);
		return (STORE_OK);
	}
	/* The item gets a mid of this node's, as every item here has. */
	midgen_next(gen, now, &mid);
	mid_format(&mid, ms);
	json_object_set_new(frame, "mid", json_string(ms));
	/* The sender's home checked the media the frame names. */
	media_refs_read(conf, from != NULL ? json_object_get(frame, "media") :
	    NULL, &refs);
	data = json_dumps(frame, JSON_COMPACT);
	json_decref(frame);
	if (data == NULL)
		return (group_abandon(txn));
	ts = (uint64_t)json_integer_value(json_object_get(p, "ts"));
	it.kind = from != NULL ? ITEM_MSG : ITEM_GROUP_EVENT;
	it.ts = ts != 0 ? ts : now;
	it.data = data;
	it.len = strlen(data);
	memset(&x, 0, sizeof x);
	x.txn = txn;
	x.gen = gen;
	x.conf = conf;
	x.group = g;
	x.now = now;
	x.out = out;
	json_array_foreach(users, i, v) {
		if ((user = json_string_value(v)) == NULL ||
		    !valid_user(user, strlen(user)))
			continue;
		/* One not homed here goes on to its home (cluster_apply). */
		if ((rc = cluster_not_here(txn, user)) == 1) {
			rc = STORE_OK;
			continue;
		}
		if (rc != STORE_OK)
			break;
		if (from == NULL) {
			/* Events ignore max_queue and blocks (rule 10). */
			if ((rc = group_user_items(&x, user, NULL, UINT64_MAX,
			    &mid, &it, NULL, NULL)) != STORE_OK ||
			    (rc = gev_membership(&x, origin, p, user)) !=
			    STORE_OK)
				break;
			continue;
		}
		if ((blocked = group_blocked(txn, user, from)) != 0) {
			if ((rc = blocked) < 0)
				break;
			rc = STORE_OK;
			continue;
		}
		if ((rc = group_user_items(&x, user, NULL, conf->max_queue,
		    &mid, &it, &skipped, &items)) != STORE_OK)
			break;
	}
	if (rc == STORE_OK && from != NULL && items > 0)
		rc = gev_msg_records(&x, msg, &mid, it.ts, skipped);
	if (rc == STORE_OK && from != NULL)
		rc = media_refs_take(txn, gen, &mid, &refs, items, now);
	free(data);
	gctx_close(&x);
	return (rc);
}

/* Membership walk callback: one entry of the groups reply. */
static int
rlist_fn(void *arg, const char *user, const char *group,
    const struct crgroup_rec *r)
{
	json_t	*a = arg;

	(void)user;
	json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:I}", "group",
	    group, "title", r->title, "role", group_role_name(r->role),
	    "version", (json_int_t)r->version));
	return (STORE_WALK_NEXT);
}

/* The "group" of a groups entry, for qsort. */
static int
entry_cmp(const void *a, const void *b)
{
	json_t	*const *x = a, *const *y = b;

	return (strcmp(json_string_value(json_object_get(*x, "group")),
	    json_string_value(json_object_get(*y, "group"))));
}

/*
 * Adds to the groups reply a (group_list's) user's groups homed on other
 * nodes, and sorts it by name again.
 */
int
group_list_remote(struct txn *txn, const char *user, json_t *a)
{
	json_t	**v;
	size_t	  i, n;
	int	  rc;

	if ((rc = store_crgroup_walk(txn, user, rlist_fn, a)) != STORE_OK)
		return (rc);
	n = json_array_size(a);
	v = xcalloc(n + 1, sizeof *v);
	for (i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(a, i));
	qsort(v, n, sizeof *v, entry_cmp);
	json_array_clear(a);
	for (i = 0; i < n; i++)
		json_array_append_new(a, v[i]);
	free(v);
	return (STORE_OK);
}

/*
 * A send to group of a member homed here, the group homed on node home
 * (tickd-cluster(7), Groups across nodes): checked against the group's
 * mirror m, then the items for the sender's other devices, the message,
 * dedup and group records, and a gmsg outbox record for home under the
 * send's mid, all in this transaction.  res as group_send fills it.
 */
int
group_send_remote(struct txn *txn, struct midgen *gen,
    const struct conf *conf, const struct send_req *req,
    const struct gmirror *m, struct send_res *res)
{
	struct gctx		 x;
	struct gmsg_rec		 gm;
	struct media_refs	 refs;
	struct item		 it;
	json_t			*p;
	char			 ms[MID_STRLEN + 1], *s, *body;
	size_t			 len, blen;
	int			 rc;

	memset(res, 0, sizeof *res);
	res->group = 1;
	if (m->role < 0) {
		res->err = TE_NO_SUCH_GROUP;
		return (STORE_OK);
	}
	if ((rc = queue_send_dup(txn, conf, req, res)) < 0)
		return (rc);
	if (rc == 1) {
		/* A repeated id: the first send's answer again. */
		res->group = res->to[0] == '#';
		if (!res->group)
			return (STORE_OK);
		rc = store_gmsg_get(txn, &res->mid, &gm);
		if (rc == STORE_OK) {
			res->expect = gm.expect;
			res->skipped = gm.skipped;
		}
		return (rc == STORE_NOTFOUND ? STORE_OK : rc);
	}
	if (m->admin_only_send && m->role == GROLE_MEMBER) {
		res->err = TE_FORBIDDEN;
		return (STORE_OK);
	}
	if ((rc = queue_remote_room(txn, conf, req, &refs, res)) !=
	    STORE_OK || res->err != TE_OK)
		return (rc);
	if ((body = queue_send_body(conf, req, res, &blen)) == NULL)
		return (STORE_OK);
	s = queue_msg_frame(gen, req, res, body, blen, ms, &len);
	free(body);
	if (s == NULL) {
		res->err = TE_INTERNAL;
		return (STORE_OK);
	}
	memset(&x, 0, sizeof x);
	x.txn = txn;
	x.gen = gen;
	x.conf = conf;
	x.group = req->to;
	x.now = req->now;
	x.out = &res->targets;
	it.kind = ITEM_MSG;
	it.ts = res->ts;
	it.data = s;
	it.len = len;
	rc = group_user_items(&x, req->from, req->from_device,
	    conf->max_queue, &res->mid, &it, &res->skipped, &res->items);
	gctx_close(&x);
	if (rc == STORE_OK)
		rc = media_refs_take(txn, gen, &res->mid, &refs, res->items,
		    req->now);
	p = json_pack("{s:s,s:s,s:s,s:s,s:I,s:s%}", "g", req->to, "from",
	    req->from, "from_device", req->from_device, "id", req->id, "ts",
	    (json_int_t)res->ts, "frame", s, len);
	free(s);
	if (rc != STORE_OK) {
		json_decref(p);
		return (rc);
	}
	if ((rc = cluster_cout_json(txn, gen, m->home, &res->mid, COUT_GMSG,
	    res->ts, p, &refs)) != STORE_OK)
		return (rc);
	memset(&gm, 0, sizeof gm);
	gm.receipts = m->members <= conf->group_receipts_max;
	gm.expect = gm.receipts && m->members > 0 ? m->members - 1 : 0;
	return (group_send_records(txn, req, res, &gm));
}

/* What the member walk of a gmsg carries. */
struct gmsg_fan {
	struct gctx		*x;
	const char		*from;
	const struct mid	*mid;
	const struct item	*it;
	uint64_t		 skipped, items;
	int			 rc;
};

/* Member walk callback of a gmsg: every member but the sender. */
static int
gmsg_fn(void *arg, const char *group, const char *user,
    const struct gmember_rec *r)
{
	struct gmsg_fan	*f = arg;

	(void)group;
	(void)r;
	if (strcmp(user, f->from) == 0)
		return (STORE_WALK_NEXT);
	/* A member homed here who blocked the sender gets nothing. */
	if ((f->rc = group_blocked(f->x->txn, user, f->from)) < 0)
		return (STORE_WALK_STOP);
	if (f->rc > 0) {
		f->rc = STORE_OK;
		return (STORE_WALK_NEXT);
	}
	f->rc = group_user_items(f->x, user, NULL, f->x->conf->max_queue,
	    f->mid, f->it, &f->skipped, &f->items);
	return (f->rc == STORE_OK ? STORE_WALK_NEXT : STORE_WALK_STOP);
}

/*
 * Applies a gmsg record from origin, a member's home, at the group's home:
 * decided here with authority (a mirror that was stale makes a failed
 * receipt), then stored for the members homed here and fanned out to the
 * other members' homes, their receipts going back to origin's om.  The
 * caller writes the dedup record and pumps out.
 */
int
group_apply_gmsg(struct txn *txn, struct midgen *gen, const struct conf *conf,
    const char *origin, const struct mid *om, json_t *p, uint64_t now,
    struct targets *out)
{
	struct grp_req		 greq;
	struct grp_res		 gres;
	struct gctx		 x;
	struct gmember_rec	 me;
	struct gmsg_fan		 f;
	struct gmsg_rec		 gm;
	struct msg_rec		 mr;
	struct media_refs	 refs;
	struct item		 it;
	struct mid		 mid;
	json_t			*frame;
	const char		*g, *from, *dev, *id, *text;
	char			 ms[MID_STRLEN + 1], *data;
	uint64_t		 ts;
	int			 rc;

	g = json_string_value(json_object_get(p, "g"));
	from = json_string_value(json_object_get(p, "from"));
	dev = json_string_value(json_object_get(p, "from_device"));
	id = json_string_value(json_object_get(p, "id"));
	text = json_string_value(json_object_get(p, "frame"));
	ts = (uint64_t)json_integer_value(json_object_get(p, "ts"));
	if (g == NULL || !valid_group(g, strlen(g)) || from == NULL ||
	    !valid_user(from, strlen(from)) || dev == NULL || id == NULL ||
	    strlen(dev) > NAME_DEVICE_MAX || strlen(id) > CLIENT_ID_MAX ||
	    text == NULL || (frame = json_loads(text, 0, NULL)) == NULL) {
		log_warnx("group: a group message from node %s is malformed; "
		    "dropped", origin);
		return (STORE_OK);
	}
	memset(&greq, 0, sizeof greq);
	memset(&gres, 0, sizeof gres);
	greq.actor = from;
	greq.group = g;
	greq.now = now;
	if ((rc = gctx_open(&x, txn, gen, conf, &greq, &me, &gres)) !=
	    STORE_OK) {
		json_decref(frame);
		return (rc);
	}
	if (gres.err != TE_OK || ((x.g.flags & GROUP_ADMIN_SEND) &&
	    me.role == GROLE_MEMBER)) {
		json_decref(frame);
		gctx_close(&x);
		return (cluster_rcpt_put(txn, gen, origin, om, "failed",
		    gres.err != TE_OK ? "no_such_user" : "forbidden", g, now));
	}
	midgen_next(gen, now, &mid);
	mid_format(&mid, ms);
	json_object_set_new(frame, "mid", json_string(ms));
	/* The sender's home checked the media the frame names. */
	media_refs_read(conf, json_object_get(frame, "media"), &refs);
	data = json_dumps(frame, JSON_COMPACT);
	json_decref(frame);
	if (data == NULL) {
		gctx_close(&x);
		return (group_abandon(txn));
	}
	it.kind = ITEM_MSG;
	it.ts = ts != 0 ? ts : now;
	it.data = data;
	it.len = strlen(data);
	x.out = out;
	memset(&gm, 0, sizeof gm);
	gm.receipts = x.g.members <= conf->group_receipts_max;
	mid_format(om, ms);
	x.fan.refs = &refs;
	x.fan.msg = json_pack("{s:s,s:s,s:s,s:s,s:s,s:b}", "o", origin, "om",
	    ms, "from", from, "from_device", dev, "id", id, "receipts",
	    gm.receipts);
	memset(&f, 0, sizeof f);
	f.x = &x;
	f.from = from;
	f.mid = &mid;
	f.it = &it;
	rc = store_gmember_walk(txn, g, gmsg_fn, &f);
	if (rc == STORE_OK)
		rc = f.rc;
	if (rc == STORE_OK)
		rc = group_fan_flush(&x);
	gctx_close(&x);
	free(data);
	if (rc != STORE_OK)
		return (rc);
	if (f.items == 0)
		return (STORE_OK);
	if ((rc = media_refs_take(txn, gen, &mid, &refs, f.items, now)) !=
	    STORE_OK)
		return (rc);
	/* Receipts of the members homed here go back to origin. */
	gm.skipped = f.skipped;
	memset(&mr, 0, sizeof mr);
	mr.ts = it.ts;
	strlcpy(mr.from, from, sizeof mr.from);
	strlcpy(mr.from_device, dev, sizeof mr.from_device);
	strlcpy(mr.to, g, sizeof mr.to);
	strlcpy(mr.id, id, sizeof mr.id);
	if ((rc = store_msg_put(txn, &mid, &mr)) != STORE_OK ||
	    (rc = store_gmsg_put(txn, &mid, &gm)) != STORE_OK)
		return (rc);
	return (store_crmsg_put(txn, &mid, origin, om));
}

/* Remote group walk callback: collects [group, home] pairs. */
static int
gone_fn(void *arg, const char *user, const char *group,
    const struct crgroup_rec *r)
{
	(void)user;
	json_array_append_new(arg, json_pack("[s,s]", group, r->home));
	return (STORE_WALK_NEXT);
}

/*
 * A user deleted here leaves the groups homed on other nodes too (rule
 * 12; tickd-cluster(7), Groups across nodes): a gleave outbox record {g,
 * user} for each group's home, in the transaction of the deletion, so that
 * the home applies it once, even if it is down now; its memberships here
 * go.  *n counts the groups left.
 */
int
group_user_gone_remote(struct txn *txn, struct midgen *gen,
    const char *user, uint64_t now, uint64_t *n)
{
	json_t		*l, *v, *p;
	const char	*group, *home;
	size_t		 i;
	int		 rc;

	l = json_array();
	if ((rc = store_crgroup_walk(txn, user, gone_fn, l)) != STORE_OK) {
		json_decref(l);
		return (rc);
	}
	json_array_foreach(l, i, v) {
		group = json_string_value(json_array_get(v, 0));
		home = json_string_value(json_array_get(v, 1));
		p = json_pack("{s:s,s:s}", "g", group, "user", user);
		rc = cluster_cout_json(txn, gen, home, NULL, COUT_GLEAVE, now,
		    p, NULL);
		if (rc == STORE_OK)
			rc = store_crgroup_del(txn, user, group);
		if (rc != STORE_OK) {
			json_decref(l);
			return (rc);
		}
		(*n)++;
	}
	json_decref(l);
	return (STORE_OK);
}

/*
 * A gleave record from origin, the home of a user deleted there: the user
 * leaves the group homed here as by group_leave (rule 12), its events
 * listed in out; *changed names the group, whose mirror is then written.
 * A user homed here is not origin's to remove: the record is dropped; an
 * account held here for a name conflict is not homed here
 * (cluster_user_get).
 */
int
group_apply_gleave(struct txn *txn, struct midgen *gen,
    const struct conf *conf, const char *origin, json_t *p, uint64_t now,
    struct targets *out, const char **changed)
{
	struct user_rec	 u;
	const char	*g = json_string_value(json_object_get(p, "g"));
	const char	*user = json_string_value(json_object_get(p, "user"));
	int		 rc;

	*changed = NULL;
	if (g == NULL || !valid_group(g, strlen(g)) || user == NULL ||
	    !valid_user(user, strlen(user))) {
		log_warnx("group: a leave from node %s is malformed; dropped",
		    origin);
		return (STORE_OK);
	}
	if ((rc = cluster_user_get(txn, conf, user, &u)) != STORE_NOTFOUND) {
		if (rc == STORE_OK)
			log_warnx("group: node %s removes %s, homed here, from "
			    "%s; dropped", origin, user, g);
		return (rc == STORE_OK ? STORE_OK : rc);
	}
	if ((rc = group_leave_one(txn, gen, conf, g, user, now, out)) ==
	    STORE_OK)
		*changed = g;
	return (rc);
}
