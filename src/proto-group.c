/* SPDX-License-Identifier: ISC */
/*
 * proto-group.c: the group ops of the client protocol (tickd-protocol(7)
 * GROUPS).  Each handler checks its frame's form here, in the order of
 * the bad-input table (bad_request, then too_large, then list lengths),
 * then hands it to group.c inside the turn's batch and replies once the
 * batch has committed.  In a cluster, what the op must ask other nodes
 * first is group-vet.c's, which runs it again with the answers.
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
 * (tickd-cluster(7), Groups across nodes): so it is for a member of a group
 * whose events this node applied.  A non-member's op runs here, and gets
 * no_such_group as on one node.
 */
static int
grp_elsewhere(struct conn *c, json_t *frame, json_t *ref, const char *group,
    int quiet_ok, json_t *verdicts)
{
	struct crgroup_rec	 cr;
	struct txn		*txn;

	if (!cluster_on() || (txn = batch_txn()) == NULL ||
	    store_crgroup_get(txn, c->user, group, &cr) != STORE_OK)
		return (0);
	proto_group_remote(c, frame, ref, cr.home, quiet_ok, verdicts);
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
    grp_op_fn *op, const struct grp_state *st)
{
	struct grp_res	 res;
	struct txn	*txn;
	json_t		*obj;
	int		 ret;

	memset(&res, 0, sizeof res);
	if (fn != group_create && grp_elsewhere(c, frame, ref, req->group,
	    !with_refused, st->verdicts))
		return;
	if ((txn = batch_txn()) == NULL) {
		grp_store_error(c, STORE_ERR, ref);
		return;
	}
	req->actor = c->user;
	req->now = now_ms();
	req->verdicts = st->verdicts;
	/* What needs another node's answer waits for the local checks. */
	if (op != NULL && cluster_on())
		req->ask = st->ask;
	if ((ret = fn(txn, &srv.midgen, &srv.conf, req, &res)) != STORE_OK)
		grp_store_error(c, ret, ref);
	else if (res.ask != 0)
		group_vet_ask(c, frame, ref, req, res.ask, op, st);
	else if (res.err != TE_OK) {
		grp_refuse(c, &res, ref);
		group_vet_release(c->user, req->group, req->verdicts);
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
 * group_create (tickd-protocol(7) GROUPS), with what st says was asked of
 * other nodes already: group_create() decides; group_info goes out after
 * the commit.
 */
static void
group_create_run(struct conn *c, json_t *req, json_t *ref,
    const struct grp_state *st)
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
	grp_run(c, req, ref, &g, group_create, 1, group_create_run, st);
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
	if (grp_elsewhere(c, req, ref, g.group, 0, NULL))
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

static void	group_add_run(struct conn *, json_t *, json_t *,
		    const struct grp_state *);
static void	group_remove_run(struct conn *, json_t *, json_t *,
		    const struct grp_state *);

/*
 * group_add and group_remove: "group" and "users"; add says which, st
 * what was asked of other nodes already.
 */
static void
group_users(struct conn *c, json_t *req, json_t *ref, int add,
    const struct grp_state *st)
{
	struct crgroup_rec	 cr;
	struct grp_req	 g;
	const char	**users;
	size_t		 n;
	grp_op_fn	*op;

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
	op = add ? group_add_run : group_remove_run;
	if (!grp_remote(c, g.group, &cr))
		grp_run(c, req, ref, &g, add ? group_add : group_remove, add,
		    op, st);
	else if (!group_vet_resolve(c, req, ref, users, n, op, st) && !(add &&
	    group_vet_homes(c, req, ref, cr.home, users, n, op, st)))
		proto_group_remote(c, req, ref, cr.home, !add, st->verdicts);
	free(users);
}

/* A group_add run again once other nodes answered. */
static void
group_add_run(struct conn *c, json_t *req, json_t *ref,
    const struct grp_state *st)
{
	group_users(c, req, ref, 1, st);
}

/* A group_remove run again once the directory answered. */
static void
group_remove_run(struct conn *c, json_t *req, json_t *ref,
    const struct grp_state *st)
{
	group_users(c, req, ref, 0, st);
}

/*
 * group_create (tickd-protocol(7) GROUPS): group_create() decides; group_info
 * goes out after the commit.
 */
void
op_group_create(struct conn *c, json_t *req, json_t *ref)
{
	struct grp_state	st = GRP_STATE_FIRST;

	group_create_run(c, req, ref, &st);
}

/* group_add: adds users, listing in refused those who may not be added. */
void
op_group_add(struct conn *c, json_t *req, json_t *ref)
{
	struct grp_state	st = GRP_STATE_FIRST;

	group_users(c, req, ref, 1, &st);
}

/* group_remove: removes members; non-members are ignored. */
void
op_group_remove(struct conn *c, json_t *req, json_t *ref)
{
	struct grp_state	st = GRP_STATE_FIRST;

	group_users(c, req, ref, 0, &st);
}

/* group_leave: the actor leaves; the owner's successor takes over. */
void
op_group_leave(struct conn *c, json_t *req, json_t *ref)
{
	struct grp_state	none = GRP_STATE_NONE;
	struct grp_req		g;

	memset(&g, 0, sizeof g);
	if ((g.group = member_group(req)) == NULL) {
		grp_bad(c, "group_leave needs \"group\", a group name", ref);
		return;
	}
	grp_run(c, req, ref, &g, group_leave, 0, NULL, &none);
}

/* group_role: sets another member's role, as the permission table allows. */
void
op_group_role(struct conn *c, json_t *req, json_t *ref)
{
	struct grp_state	 none = GRP_STATE_NONE;
	struct grp_req		 g;
	json_t			*user = json_object_get(req, "user");
	json_t			*role = json_object_get(req, "role");

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
	grp_run(c, req, ref, &g, group_role, 0, NULL, &none);
}

/* group_set: changes the title, description or admin-only switches. */
void
op_group_set(struct conn *c, json_t *req, json_t *ref)
{
	struct grp_state	none = GRP_STATE_NONE;
	struct grp_req		g;
	int			bad = 0;

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
	grp_run(c, req, ref, &g, group_set, 0, NULL, &none);
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
