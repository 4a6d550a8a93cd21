/* SPDX-License-Identifier: ISC */
/*
 * proto-group.c: the group ops of the client protocol (tickd-protocol(7)
 * GROUPS).  Each handler checks its frame's form here, in the order of
 * the bad-input table (bad_request, then too_large, then list lengths),
 * then hands it to group.c inside the turn's batch and replies once the
 * batch has committed.
 */
#include <stdlib.h>
#include <string.h>

#include "tickd.h"

/* An error with the user it is about, as no_such_user names one. */
static void
error_user(struct conn *c, enum tick_err code, const char *user,
    json_t *ref)
{
	json_t	*obj;

	obj = json_pack("{s:s,s:s,s:s}", "op", "error", "code",
	    err_code(code), "user", user);
	if (ref != NULL)
		json_object_set(obj, "ref", ref);
	ws_send_json(c, obj);
	json_decref(obj);
}

/* Answers a refusal of group.c. */
static void
grp_refuse(struct conn *c, const struct grp_res *res, json_t *ref)
{
	if (res->err == TE_NO_SUCH_USER)
		error_user(c, res->err, res->user, ref);
	else
		ws_send_error(c, res->err, group_err_message(res->err), ref,
		    NULL);
}

/* A store failure: internal, and the request may be repeated. */
static void
grp_store_error(struct conn *c, int ret, json_t *ref)
{
	ws_send_error(c, TE_INTERNAL, ret == STORE_FULL ? "store full" :
	    "store error", ref, NULL);
}

/* Sends obj (with ref) once the batch has committed. */
static void
reply_after_commit(struct conn *c, json_t *obj, json_t *ref)
{
	char	*text;

	if (ref != NULL)
		json_object_set(obj, "ref", ref);
	if ((text = json_dumps(obj, JSON_COMPACT)) == NULL) {
		log_warnx("proto: cannot encode a reply for %s", c->addr);
		return;
	}
	batch_defer_reply(c, text, strlen(text), ref, NULL);
}

/* A "group" member naming a group, or NULL. */
static const char *
member_group(json_t *req)
{
	json_t	*v = json_object_get(req, "group");

	if (!json_is_string(v) || !valid_group(json_string_value(v),
	    json_string_length(v)))
		return (NULL);
	return (json_string_value(v));
}

/*
 * A list of user names, none the actor's: "users" (must be non-empty) or
 * "members" (may be empty).  The names point into req; the caller frees
 * the array.  -1 if malformed.
 */
static int
member_names(struct conn *c, json_t *req, const char *name, int nonempty,
    const char ***out, size_t *n)
{
	json_t	*a = json_object_get(req, name), *v;
	size_t	 i;

	*out = NULL;
	*n = 0;
	if (a == NULL && !nonempty)
		return (0);
	if (!json_is_array(a) || (nonempty && json_array_size(a) == 0))
		return (-1);
	json_array_foreach(a, i, v) {
		if (!json_is_string(v) || !valid_user(json_string_value(v),
		    json_string_length(v)) ||
		    strcmp(json_string_value(v), c->user) == 0)
			return (-1);
	}
	*n = json_array_size(a);
	*out = xcalloc(*n + 1, sizeof **out);
	json_array_foreach(a, i, v)
		(*out)[i] = json_string_value(v);
	return (0);
}

/*
 * In a cluster, the users a group_create, _add or _remove names that this
 * node neither has nor knows the home of are looked up in the directory,
 * once the checks this node can make alone passed (tickd-cluster(7)
 * GROUPS); then the op runs again.
 */
struct grp_wait {
	struct conn	*c;
	json_t		*req;
	json_t		*ref;
	void		(*op)(struct conn *, json_t *, json_t *);
	int		 left;		/* lookups out, plus one */
	int		 down;		/* one found Redis unreachable */
};
static int	grp_rerun;	/* an op runs after its lookups */

/* One lookup less; the last runs the op again, or answers unavailable. */
static void
grp_wait_done(struct grp_wait *w)
{
	if (--w->left > 0)
		return;
	if (!w->c->dead && w->down)
		ws_send_error(w->c, TE_UNAVAILABLE, "the cluster's directory "
		    "is unreachable", w->ref, NULL);
	else if (!w->c->dead) {
		grp_rerun = 1;
		w->op(w->c, w->req, w->ref);
		grp_rerun = 0;
	}
	conn_unref(w->c);
	json_decref(w->req);
	json_decref(w->ref);
	free(w);
}

/* The directory answered one lookup; found names are cached. */
static void
grp_looked_up(void *arg, int status, const char *node)
{
	struct grp_wait	*w = arg;

	(void)node;
	if (status == CLUSTER_DOWN)
		w->down = 1;
	grp_wait_done(w);
}

/*
 * Starts the lookups of users not known here; 1 if op will run again
 * once they are answered, 0 if it may run now.
 */
static int
grp_resolve(struct conn *c, json_t *req, json_t *ref,
    const char *const *users, size_t n,
    void (*op)(struct conn *, json_t *, json_t *))
{
	struct grp_wait	*w = NULL;
	struct txn	*txn;
	char		 home[CLUSTER_NODE_MAX + 1];
	size_t		 i;

	if (!cluster_on() || grp_rerun || (txn = batch_txn()) == NULL)
		return (0);
	for (i = 0; i < n; i++) {
		if (cluster_where(txn, users[i], home) != CLUSTER_NONE)
			continue;
		if (w == NULL) {
			w = xcalloc(1, sizeof *w);
			w->c = c;
			conn_ref(c);
			w->req = json_incref(req);
			w->ref = ref == NULL ? NULL : json_incref(ref);
			w->op = op;
			w->left = 1;
		}
		w->left++;
		cluster_lookup(users[i], grp_looked_up, w);
	}
	if (w == NULL)
		return (0);
	grp_wait_done(w);
	return (1);
}

/*
 * In a cluster, the users a group_create or group_add names that are
 * homed neither on the group's home nor here are vetted by their homes
 * first, with a remote call each home (tickd-cluster(7) GROUPS): only a
 * user's home knows its blocks, group_add setting and groups (protocol
 * rule 8).  Users homed here are vetted here.  The verdicts go with the
 * op, which runs again.  A home that does not answer within
 * cluster_rpc_timeout makes an op on a group homed here unavailable,
 * nothing changed; one on a group homed elsewhere goes there with a null
 * verdict, and that home, checking first what it can, answers unavailable
 * only if it needs the verdict.
 */
struct grp_vet {
	struct conn	*c;
	json_t		*req;
	json_t		*ref;
	void		(*op)(struct conn *, json_t *, json_t *);
	json_t		*verdicts;	/* {user: may be added, null: its
					   home did not answer} */
	char		 ghome[CLUSTER_NODE_MAX + 1];	/* the group's */
	int		 left;		/* calls out, plus one */
	int		 down;		/* one went unanswered */
};
static json_t	*grp_verdicts;	/* the verdicts of the op run again */

/* One call of a grp_vet: the users it asked a home about. */
struct grp_vcall {
	struct grp_vet	*w;
	json_t		*users;
};

/* k went unanswered: its users' verdicts are null. */
static void
grp_unanswered(struct grp_vcall *k)
{
	json_t	*v;
	size_t	 i;

	k->w->down = 1;
	json_array_foreach(k->users, i, v)
		json_object_set_new(k->w->verdicts, json_string_value(v),
		    json_null());
}

/* One call less; the last runs the op again, or answers unavailable. */
static void
grp_vet_done(struct grp_vet *w)
{
	if (--w->left > 0)
		return;
	/*
	 * A group homed elsewhere runs its own checks first: its home answers
	 * unavailable only if it reaches a user without a verdict.
	 */
	if (!w->c->dead && w->down && strcmp(w->ghome,
	    srv.conf.node_name) == 0)
		ws_send_error(w->c, TE_UNAVAILABLE, "a user's home node did "
		    "not answer; the request may be repeated", w->ref, NULL);
	else if (!w->c->dead) {
		grp_rerun = 1;
		grp_verdicts = w->verdicts;
		w->op(w->c, w->req, w->ref);
		grp_verdicts = NULL;
		grp_rerun = 0;
	}
	conn_unref(w->c);
	json_decref(w->req);
	json_decref(w->ref);
	json_decref(w->verdicts);
	free(w);
}

/* A home's answer {"op":"ok","refused"}: a verdict for each user asked. */
static void
grp_vetted(void *arg, json_t *reply)
{
	struct grp_vcall	*k = arg;
	json_t			*refused = json_object_get(reply, "refused");
	json_t			*v, *r;
	const char		*op = json_string_value(json_object_get(reply,
				    "op"));
	size_t			 i, j;
	int			 no;

	if (op == NULL || strcmp(op, "ok") != 0 || !json_is_array(refused))
		grp_unanswered(k);
	else {
		json_array_foreach(k->users, i, v) {
			no = 0;
			json_array_foreach(refused, j, r)
				no = no || json_equal(r, v);
			json_object_set_new(k->w->verdicts,
			    json_string_value(v), json_boolean(!no));
		}
	}
	grp_vet_done(k->w);
	json_decref(k->users);
	free(k);
}

/*
 * Starts the vetting of the users an add or create names, for a group
 * homed on ghome; 1 if op will run again (or was answered unavailable),
 * 0 if it may run now, its verdicts in grp_verdicts.
 */
static int
grp_vet(struct conn *c, json_t *req, json_t *ref, const char *ghome,
    const char *const *users, size_t n,
    void (*op)(struct conn *, json_t *, json_t *))
{
	struct grp_vet		*w;
	struct grp_vcall	*k;
	struct txn		*txn;
	json_t			*calls, *list, *vop;
	const char		*node;
	char			 home[CLUSTER_NODE_MAX + 1];
	size_t			 i;
	int			 rc, some = 0;

	if (!cluster_on() || grp_verdicts != NULL ||
	    (txn = batch_txn()) == NULL)
		return (0);
	w = xcalloc(1, sizeof *w);
	w->verdicts = json_object();
	calls = json_object();
	for (i = 0; i < n; i++) {
		switch (cluster_where(txn, users[i], home)) {
		case CLUSTER_LOCAL:
			/* The group's home decides for its own users. */
			if (strcmp(ghome, srv.conf.node_name) == 0)
				break;
			if ((rc = group_vet_user(txn, &srv.conf, users[i],
			    c->user, json_string_value(json_object_get(req,
			    "group")), now_ms())) < 0) {
				json_decref(calls);
				json_decref(w->verdicts);
				free(w);
				grp_store_error(c, rc, ref);
				return (1);
			}
			json_object_set_new(w->verdicts, users[i],
			    json_boolean(!rc));
			some = 1;
			break;
		case CLUSTER_FOUND:
			if (strcmp(home, ghome) == 0)
				break;
			if ((list = json_object_get(calls, home)) == NULL) {
				list = json_array();
				json_object_set_new(calls, home, list);
			}
			json_array_append_new(list, json_string(users[i]));
			some = 1;
			break;
		default:
			/* Unknown: the group's home answers no_such_user. */
			break;
		}
	}
	if (!some) {
		json_decref(calls);
		json_decref(w->verdicts);
		free(w);
		return (0);
	}
	w->c = c;
	conn_ref(c);
	w->req = json_incref(req);
	w->ref = ref == NULL ? NULL : json_incref(ref);
	w->op = op;
	strlcpy(w->ghome, ghome, sizeof w->ghome);
	w->left = 1;
	json_object_foreach(calls, node, list) {
		k = xcalloc(1, sizeof *k);
		k->w = w;
		k->users = json_incref(list);
		w->left++;
		vop = json_pack("{s:s,s:O}", "op", "group_vet", "users", list);
		if (vop != NULL && json_is_string(json_object_get(req,
		    "group")))
			json_object_set(vop, "group", json_object_get(req,
			    "group"));
		if (vop == NULL || cluster_rpc_call(node, c->user, vop,
		    grp_vetted, k) != 0) {
			grp_unanswered(k);
			w->left--;
			json_decref(k->users);
			free(k);
		}
		json_decref(vop);
	}
	json_decref(calls);
	grp_vet_done(w);
	return (1);
}

/*
 * A group op of c that stopped for what (GRP_ASK_*) on a group homed here:
 * the lookups or the vetting of req's users start, and op runs again once
 * they are answered; at once if there is nothing to ask.
 */
static void
grp_ask(struct conn *c, json_t *frame, json_t *ref,
    const struct grp_req *req, int what,
    void (*op)(struct conn *, json_t *, json_t *))
{
	json_t	*none;

	if (what == GRP_ASK_LOOKUP) {
		if (grp_resolve(c, frame, ref, req->users, req->nusers, op))
			return;
		grp_rerun = 1;
		op(c, frame, ref);
		grp_rerun = 0;
		return;
	}
	if (grp_vet(c, frame, ref, srv.conf.node_name, req->users,
	    req->nusers, op))
		return;
	none = json_object();
	grp_rerun = 1;
	grp_verdicts = none;
	op(c, frame, ref);
	grp_verdicts = NULL;
	grp_rerun = 0;
	json_decref(none);
}

/* The answer to a release needs nothing. */
static void
grp_released(void *arg, json_t *reply)
{
	(void)arg;
	(void)reply;
}

/*
 * The group's home refused an add or create of actor's to group, vetted
 * with verdicts: the places the users' homes reserved for the users it
 * said yes to are released (tickd-cluster(7) GROUPS), here for users
 * homed here, with a group_vet call "release" to the others' homes.  A
 * release that does not arrive leaves the reservation to lapse.
 */
void
proto_group_release(const char *actor, const char *group, json_t *verdicts)
{
	struct txn	*txn;
	json_t		*calls, *list, *v, *op;
	const char	*user, *node;
	char		 home[CLUSTER_NODE_MAX + 1];

	if (group == NULL || verdicts == NULL || (txn = batch_txn()) == NULL)
		return;
	calls = json_object();
	json_object_foreach(verdicts, user, v) {
		if (!json_is_true(v))
			continue;
		switch (cluster_where(txn, user, home)) {
		case CLUSTER_LOCAL:
			if (store_crsv_del(txn, user, group) != STORE_OK)
				log_warnx("proto: cannot release %s's place "
				    "in %s", user, group);
			break;
		case CLUSTER_FOUND:
			if ((list = json_object_get(calls, home)) == NULL) {
				list = json_array();
				json_object_set_new(calls, home, list);
			}
			json_array_append_new(list, json_string(user));
			break;
		default:
			break;
		}
	}
	json_object_foreach(calls, node, list) {
		op = json_pack("{s:s,s:s,s:O,s:b}", "op", "group_vet", "group",
		    group, "users", list, "release", 1);
		if (op != NULL)
			(void)cluster_rpc_call(node, actor, op, grp_released,
			    NULL);
		json_decref(op);
	}
	json_decref(calls);
}

/*
 * Whether group is homed on another node as c's user knows it (its
 * membership there in *cr), and so goes there once the users are looked
 * up and vetted.
 */
static int
grp_remote(struct conn *c, const char *group, struct crgroup_rec *cr)
{
	struct txn	*txn;

	return (cluster_on() && (txn = batch_txn()) != NULL &&
	    store_crgroup_get(txn, c->user, group, cr) == STORE_OK);
}

/*
 * Whether group is homed on another node, which then answers frame
 * (tickd-cluster(7) GROUPS): so it is for a member of a group whose
 * events this node applied.  A non-member's op runs here, and gets
 * no_such_group as on one node.
 */
static int
grp_elsewhere(struct conn *c, json_t *frame, json_t *ref, const char *group,
    int quiet_ok)
{
	struct crgroup_rec	 cr;
	struct txn		*txn;

	if (!cluster_on() || (txn = batch_txn()) == NULL ||
	    store_crgroup_get(txn, c->user, group, &cr) != STORE_OK)
		return (0);
	proto_group_remote(c, frame, ref, cr.home, quiet_ok, grp_verdicts);
	return (1);
}

/*
 * Runs a group.c change in the batch and answers it; one on a group homed
 * elsewhere is a remote call.
 */
static void
grp_run(struct conn *c, json_t *frame, json_t *ref, struct grp_req *req,
    int (*fn)(struct txn *, struct midgen *, const struct conf *,
    const struct grp_req *, struct grp_res *), int with_refused,
    void (*op)(struct conn *, json_t *, json_t *))
{
	struct grp_res	 res;
	struct txn	*txn;
	json_t		*obj;
	int		 ret;

	memset(&res, 0, sizeof res);
	if (fn != group_create && grp_elsewhere(c, frame, ref, req->group,
	    !with_refused))
		return;
	if ((txn = batch_txn()) == NULL) {
		grp_store_error(c, STORE_ERR, ref);
		return;
	}
	req->actor = c->user;
	req->now = now_ms();
	req->verdicts = grp_verdicts;
	/* What needs another node's answer waits for the local checks. */
	if (op != NULL && cluster_on())
		req->ask = grp_verdicts != NULL ? 0 : grp_rerun ? GRP_ASK_VET :
		    GRP_ASK_LOOKUP | GRP_ASK_VET;
	if ((ret = fn(txn, &srv.midgen, &srv.conf, req, &res)) != STORE_OK)
		grp_store_error(c, ret, ref);
	else if (res.ask != 0)
		grp_ask(c, frame, ref, req, res.ask, op);
	else if (res.err != TE_OK) {
		grp_refuse(c, &res, ref);
		proto_group_release(c->user, req->group, req->verdicts);
	} else if (res.info != NULL)
		reply_after_commit(c, res.info, ref);
	else if (ref != NULL || with_refused) {
		obj = json_pack("{s:s}", "op", "ok");
		if (with_refused)
			json_object_set(obj, "refused", res.refused);
		reply_after_commit(c, obj, ref);
		json_decref(obj);
	}
	if (ret == STORE_OK && res.err == TE_OK) {
		pump_targets(&res.targets);
		cluster_group_changed(res.group[0] != '\0' ? res.group :
		    req->group);
	}
	grp_res_free(&res);
}

/* Says why a group frame is malformed. */
static void
grp_bad(struct conn *c, const char *why, json_t *ref)
{
	proto_error(c, TE_BAD_REQUEST, why, ref, NULL);
}

/*
 * group_create (tickd-protocol(7) GROUPS): group_create() decides; group_info
 * goes out after the commit.
 */
void
op_group_create(struct conn *c, json_t *req, json_t *ref)
{
	struct grp_req	 g;
	const char	**members;
	size_t		 n;
	int		 bad = 0;

	memset(&g, 0, sizeof g);
	g.group = member_group(req);
	g.title = json_member_text(req, "title", 1, GROUP_TITLE_MAX, &bad);
	g.description = json_member_text(req, "description", 0, SIZE_MAX, &bad);
	g.admin_only_send = json_member_switch(req, "admin_only_send", &bad);
	g.admin_only_info = json_member_switch(req, "admin_only_info", &bad);
	if (bad || g.title == NULL || (json_object_get(req, "group") != NULL &&
	    g.group == NULL) ||
	    member_names(c, req, "members", 0, &members, &n) != 0) {
		grp_bad(c, "group_create needs \"title\" (1-128 bytes) and takes "
		    "\"group\", \"description\", \"members\" (user names, not "
		    "yours) and the two switches", ref);
		return;
	}
	if (g.description != NULL &&
	    strlen(g.description) > srv.conf.max_group_description) {
		free(members);
		ws_send_error(c, TE_TOO_LARGE, "description exceeds "
		    "max_group_description", ref, NULL);
		return;
	}
	if (n > srv.conf.max_group_members) {
		free(members);
		grp_bad(c, "\"members\" is longer than max_group_members",
		    ref);
		return;
	}
	g.users = members;
	g.nusers = n;
	grp_run(c, req, ref, &g, group_create, 1, op_group_create);
	free(members);
}

/* group_info: the group as the actor may see it, or no_such_group. */
void
op_group_info(struct conn *c, json_t *req, json_t *ref)
{
	struct grp_req	 g;
	struct grp_res	 res;
	struct txn	*txn;
	int		 ret;

	memset(&g, 0, sizeof g);
	if ((g.group = member_group(req)) == NULL) {
		grp_bad(c, "group_info needs \"group\", a group name", ref);
		return;
	}
	if (grp_elsewhere(c, req, ref, g.group, 0))
		return;
	if ((txn = batch_txn()) == NULL) {
		grp_store_error(c, STORE_ERR, ref);
		return;
	}
	g.actor = c->user;
	memset(&res, 0, sizeof res);
	if ((ret = group_info(txn, &g, &res)) != STORE_OK)
		grp_store_error(c, ret, ref);
	else if (res.err != TE_OK)
		grp_refuse(c, &res, ref);
	else
		reply_after_commit(c, res.info, ref);
	grp_res_free(&res);
}

/* groups: the actor's groups, sorted by name. */
void
op_groups(struct conn *c, json_t *req, json_t *ref)
{
	struct txn	*txn;
	json_t		*groups, *obj;
	int		 ret;

	(void)req;
	if ((txn = batch_txn()) == NULL) {
		grp_store_error(c, STORE_ERR, ref);
		return;
	}
	if ((ret = group_list(txn, c->user, &groups)) != STORE_OK) {
		grp_store_error(c, ret, ref);
		return;
	}
	/* Groups homed on other nodes, as their events told this one. */
	if (cluster_on() && (ret = group_list_remote(txn, c->user, groups)) !=
	    STORE_OK) {
		json_decref(groups);
		grp_store_error(c, ret, ref);
		return;
	}
	obj = json_pack("{s:s,s:o}", "op", "groups", "groups", groups);
	reply_after_commit(c, obj, ref);
	json_decref(obj);
}

/* group_add and group_remove: "group" and "users". */
static void
op_group_users(struct conn *c, json_t *req, json_t *ref, int add)
{
	struct crgroup_rec	 cr;
	struct grp_req	 g;
	const char	**users;
	size_t		 n;
	void		(*op)(struct conn *, json_t *, json_t *);

	memset(&g, 0, sizeof g);
	if ((g.group = member_group(req)) == NULL ||
	    member_names(c, req, "users", 1, &users, &n) != 0) {
		grp_bad(c, add ? "group_add needs \"group\" and \"users\", "
		    "other users' names" : "group_remove needs \"group\" and "
		    "\"users\", other users' names", ref);
		return;
	}
	if (n > srv.conf.max_group_members) {
		free(users);
		grp_bad(c, "\"users\" is longer than max_group_members", ref);
		return;
	}
	g.users = users;
	g.nusers = n;
	op = add ? op_group_add : op_group_remove;
	if (!grp_remote(c, g.group, &cr))
		grp_run(c, req, ref, &g, add ? group_add : group_remove, add,
		    op);
	else if (!grp_resolve(c, req, ref, users, n, op) && !(add &&
	    grp_vet(c, req, ref, cr.home, users, n, op)))
		proto_group_remote(c, req, ref, cr.home, !add, grp_verdicts);
	free(users);
}

/* group_add: adds users, listing in refused those who may not be added. */
void
op_group_add(struct conn *c, json_t *req, json_t *ref)
{
	op_group_users(c, req, ref, 1);
}

/* group_remove: removes members; non-members are ignored. */
void
op_group_remove(struct conn *c, json_t *req, json_t *ref)
{
	op_group_users(c, req, ref, 0);
}

/* group_leave: the actor leaves; the owner's successor takes over. */
void
op_group_leave(struct conn *c, json_t *req, json_t *ref)
{
	struct grp_req	g;

	memset(&g, 0, sizeof g);
	if ((g.group = member_group(req)) == NULL) {
		grp_bad(c, "group_leave needs \"group\", a group name", ref);
		return;
	}
	grp_run(c, req, ref, &g, group_leave, 0, NULL);
}

/* group_role: sets another member's role, as the permission table allows. */
void
op_group_role(struct conn *c, json_t *req, json_t *ref)
{
	struct grp_req	 g;
	json_t		*user = json_object_get(req, "user");
	json_t		*role = json_object_get(req, "role");

	memset(&g, 0, sizeof g);
	g.group = member_group(req);
	g.role = json_is_string(role) ?
	    group_role_parse(json_string_value(role)) : -1;
	if (g.group == NULL || g.role == -1 || !json_is_string(user) ||
	    !valid_user(json_string_value(user), json_string_length(user)) ||
	    strcmp(json_string_value(user), c->user) == 0) {
		grp_bad(c, "group_role needs \"group\", \"user\" (another "
		    "member) and \"role\" (owner, admin or member)", ref);
		return;
	}
	g.user = json_string_value(user);
	grp_run(c, req, ref, &g, group_role, 0, NULL);
}

/* group_set: changes the title, description or admin-only switches. */
void
op_group_set(struct conn *c, json_t *req, json_t *ref)
{
	struct grp_req	g;
	int		bad = 0;

	memset(&g, 0, sizeof g);
	g.group = member_group(req);
	g.title = json_member_text(req, "title", 1, GROUP_TITLE_MAX, &bad);
	g.description = json_member_text(req, "description", 0, SIZE_MAX, &bad);
	g.admin_only_send = json_member_switch(req, "admin_only_send", &bad);
	g.admin_only_info = json_member_switch(req, "admin_only_info", &bad);
	if (bad || g.group == NULL || (g.title == NULL &&
	    g.description == NULL && g.admin_only_send == -1 &&
	    g.admin_only_info == -1)) {
		grp_bad(c, "group_set needs \"group\" and at least one of "
		    "\"title\" (1-128 bytes), \"description\", "
		    "\"admin_only_send\", \"admin_only_info\"", ref);
		return;
	}
	if (g.description != NULL &&
	    strlen(g.description) > srv.conf.max_group_description) {
		ws_send_error(c, TE_TOO_LARGE, "description exceeds "
		    "max_group_description", ref, NULL);
		return;
	}
	grp_run(c, req, ref, &g, group_set, 0, NULL);
}

/* What typing to a group pushes, and to whom. */
struct gtype {
	struct txn	*txn;
	json_t		*frame;
	json_t		*nodes;		/* {node: [its members]} */
};

/* Pushes a frame to one connection. */
static void
push_json(struct conn *to, void *arg)
{
	ws_send_json(to, arg);
}

/*
 * One member that a group's typing reaches: its online devices here, or,
 * for a member homed on another node, that node's list.
 */
static void
typing_member(void *arg, const char *user)
{
	struct gtype	*t = arg;
	json_t		*l;
	char		 node[CLUSTER_NODE_MAX + 1];

	if (cluster_on() && cluster_where(t->txn, user, node) ==
	    CLUSTER_FOUND) {
		if ((l = json_object_get(t->nodes, node)) == NULL) {
			l = json_array();
			json_object_set_new(t->nodes, node, l);
		}
		json_array_append_new(l, json_string(user));
		return;
	}
	if (presence_online(user))
		presence_each(user, push_json, t->frame);
}

/*
 * Typing from from, a member, to group, homed here (rule 11): the other
 * members' online devices here, and, through Redis, once to each node
 * where others are homed, naming them there (tickd-cluster(7), Typing
 * across nodes).  A member homed elsewhere who blocked from is left to
 * its home, which alone knows it.  Dropped for a non-member.
 */
int
proto_group_typing_fan(struct txn *txn, const char *from, const char *group,
    const char *state)
{
	struct gtype	 t;
	json_t		*users;
	const char	*node;
	int		 member, ret;

	t.txn = txn;
	t.frame = json_pack("{s:s,s:s,s:s,s:s}", "op", "typing", "from",
	    from, "to", group, "state", state);
	t.nodes = json_object();
	ret = group_typing(txn, from, group, typing_member, &t, &member);
	if (ret == STORE_OK) {
		json_object_foreach(t.nodes, node, users)
			cluster_typing_group(node, from, group, state, users);
	}
	json_decref(t.nodes);
	json_decref(t.frame);
	return (ret);
}

/*
 * Typing from from to group, relayed by the group's home for users, its
 * members homed here: their online devices, unless they blocked from
 * (rule 10), which only this node knows.
 */
void
proto_group_typing_relayed(struct txn *txn, const char *from,
    const char *group, const char *state, json_t *users)
{
	struct user_rec	 u;
	json_t		*frame, *v;
	const char	*user;
	size_t		 i;

	frame = json_pack("{s:s,s:s,s:s,s:s}", "op", "typing", "from", from,
	    "to", group, "state", state);
	json_array_foreach(users, i, v) {
		user = json_string_value(v);
		if (user == NULL || !valid_user(user, strlen(user)) ||
		    strcmp(user, from) == 0 ||
		    store_user_get(txn, user, &u) != STORE_OK ||
		    group_blocked(txn, user, from) != 0 ||
		    !presence_online(user))
			continue;
		presence_each(user, push_json, frame);
	}
	json_decref(frame);
}

/*
 * typing to "#g" (rule 11): the other members' online devices, never
 * stored; dropped for a non-member, which still gets its ok.  To a group
 * homed on another node, it goes to that home, which fans it out.
 */
void
proto_group_typing(struct conn *c, const char *group, const char *state,
    json_t *ref)
{
	struct crgroup_rec	 cr;
	struct txn		 txn;
	json_t			*ok;
	int			 ret;

	if ((ret = store_txn_begin(srv.store, &txn, 0)) != STORE_OK) {
		grp_store_error(c, ret, ref);
		return;
	}
	if (cluster_on() && (ret = store_crgroup_get(&txn, c->user, group,
	    &cr)) != STORE_NOTFOUND) {
		if (ret == STORE_OK)
			cluster_typing_group(cr.home, c->user, group, state,
			    NULL);
	} else
		ret = proto_group_typing_fan(&txn, c->user, group, state);
	store_txn_abort(&txn);
	if (ret != STORE_OK) {
		grp_store_error(c, ret, ref);
		return;
	}
	if (ref != NULL) {
		ok = json_pack("{s:s,s:O}", "op", "ok", "ref", ref);
		ws_send_json(c, ok);
		json_decref(ok);
	}
}
