/* SPDX-License-Identifier: ISC */
/*
 * group-vet.c: what a client's group op on this node asks other nodes
 * before it runs (tickd-cluster(7), Groups across nodes): the homes of the
 * users it names, from the directory, and the verdicts of those users'
 * homes on an add (protocol rule 8), then the release of the places they
 * reserved if the group's home refuses it.  The op's front end
 * (proto-group.c) runs first with what this node knows; when it stops for
 * an answer, the wait here holds the frame and runs the op again with a
 * struct grp_state saying what was asked and answered, so that no state
 * outlives a call.
 */
#include <stdlib.h>
#include <string.h>

#include "tickd.h"

/*
 * In a cluster, the users a group_create, _add or _remove names that this
 * node neither has nor knows the home of are looked up in the directory,
 * once the checks this node can make alone passed (tickd-cluster(7), Groups
 * across nodes); then the op runs again.
 */
struct grp_wait {
	struct conn	*c;
	json_t		*req;
	json_t		*ref;
	grp_op_fn	*op;
	struct grp_state st;		/* what the op runs again with */
	int		 left;		/* lookups out, plus one */
	int		 down;		/* one found Redis unreachable */
};

/* One lookup less; the last runs the op again, or answers unavailable. */
static void
grp_wait_done(struct grp_wait *w)
{
	if (--w->left > 0)
		return;
	if (!w->c->dead && w->down)
		ws_send_error(w->c, TE_UNAVAILABLE, "the cluster's directory "
		    "is unreachable", w->ref, NULL);
	else if (!w->c->dead)
		w->op(w->c, w->req, w->ref, &w->st);
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
 * Starts the lookups of users not known here, if st asks for them; 1 if
 * op will run again once they are answered, 0 if it may run now.
 */
int
group_vet_resolve(struct conn *c, json_t *req, json_t *ref,
    const char *const *users, size_t n, grp_op_fn *op,
    const struct grp_state *st)
{
	struct grp_wait	*w = NULL;
	struct txn	*txn;
	char		 home[CLUSTER_NODE_MAX + 1];
	size_t		 i;

	if (!cluster_on() || !(st->ask & GRP_ASK_LOOKUP) ||
	    (txn = batch_txn()) == NULL)
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
			w->st.ask = st->ask & ~GRP_ASK_LOOKUP;
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
 * first, with a remote call each home (tickd-cluster(7), Groups across
 * nodes): only a user's home knows its blocks, group_add setting and groups
 * (protocol rule 8).  Users homed here are vetted here.  The verdicts go
 * with the op, which runs again.  A home that does not answer within
 * cluster_rpc_timeout makes an op on a group homed here unavailable,
 * nothing changed; one on a group homed elsewhere goes there with a null
 * verdict, and that home, checking first what it can, answers unavailable
 * only if it needs the verdict.
 */
struct grp_vet {
	struct conn	*c;
	json_t		*req;
	json_t		*ref;
	grp_op_fn	*op;
	json_t		*verdicts;	/* {user: may be added, null: its
					   home did not answer} */
	char		 ghome[CLUSTER_NODE_MAX + 1];	/* the group's */
	int		 left;		/* calls out, plus one */
	int		 down;		/* one went unanswered */
};

/* One call of a grp_vet: the users it asked a home about. */
struct grp_vcall {
	struct grp_vet	*w;
	json_t		*users;
	char		 node[CLUSTER_NODE_MAX + 1];	/* the home asked */
	int		 again;		/* after a moved: no more look-ups */
};

static void	grp_vet_call(struct grp_vet *, const char *, json_t *, int);

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
	struct grp_state	st;

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
		st.ask = 0;
		st.verdicts = w->verdicts;
		w->op(w->c, w->req, w->ref, &st);
	}
	conn_unref(w->c);
	json_decref(w->req);
	json_decref(w->ref);
	json_decref(w->verdicts);
	free(w);
}

/* A user a home answered moved for, whose home is looked up again. */
struct grp_relook {
	struct grp_vet	*w;
	char		 user[NAME_USER_MAX + 1];
	char		 node[CLUSTER_NODE_MAX + 1];	/* that answered */
};

/*
 * The directory answered where a user answered moved lives: its new home
 * is asked, once; the group's home decides for its own users.  With no
 * other home the user is refused, as the group's home would refuse it.
 */
static void
grp_relooked(void *arg, int status, const char *node)
{
	struct grp_relook	*l = arg;

	if (status == CLUSTER_DOWN) {
		l->w->down = 1;
		json_object_set_new(l->w->verdicts, l->user, json_null());
	} else if (status == CLUSTER_FOUND && strcmp(node, l->w->ghome) == 0)
		json_object_del(l->w->verdicts, l->user);
	else if (status == CLUSTER_FOUND && strcmp(node, l->node) != 0 &&
	    strcmp(node, srv.conf.node_name) != 0)
		grp_vet_call(l->w, node, json_pack("[s]", l->user), 1);
	else
		json_object_set_new(l->w->verdicts, l->user, json_false());
	grp_vet_done(l->w);
	free(l);
}

/*
 * A home's answer {"op":"ok","refused","moved"}: a verdict for each user
 * asked; those it answered moved for are not homed there (a stale cached
 * home, tickd-cluster(7), Groups across nodes), and are looked up again.
 */
static void
grp_vetted(void *arg, json_t *reply)
{
	struct grp_vcall	*k = arg;
	struct grp_relook	*l;
	json_t			*refused = json_object_get(reply, "refused");
	json_t			*moved = json_object_get(reply, "moved");
	json_t			*v, *r;
	const char		*op = json_string_value(json_object_get(reply,
				    "op"));
	size_t			 i, j;
	int			 no, gone;

	if (op == NULL || strcmp(op, "ok") != 0 || !json_is_array(refused))
		grp_unanswered(k);
	else {
		json_array_foreach(k->users, i, v) {
			no = gone = 0;
			json_array_foreach(refused, j, r)
				no = no || json_equal(r, v);
			json_array_foreach(moved, j, r)
				gone = gone || json_equal(r, v);
			json_object_set_new(k->w->verdicts,
			    json_string_value(v), json_boolean(!no && !gone));
			if (!gone || k->again)
				continue;
			l = xcalloc(1, sizeof *l);
			l->w = k->w;
			strlcpy(l->user, json_string_value(v), sizeof l->user);
			strlcpy(l->node, k->node, sizeof l->node);
			k->w->left++;
			cluster_lookup(l->user, grp_relooked, l);
		}
	}
	grp_vet_done(k->w);
	json_decref(k->users);
	free(k);
}

/*
 * Asks node's verdicts on users (a reference the call takes) for w; again
 * for a call after a moved.  One that cannot go leaves them null.
 */
static void
grp_vet_call(struct grp_vet *w, const char *node, json_t *users, int again)
{
	struct grp_vcall	*k;
	json_t			*vop;

	k = xcalloc(1, sizeof *k);
	k->w = w;
	k->users = users;
	k->again = again;
	strlcpy(k->node, node, sizeof k->node);
	w->left++;
	vop = json_pack("{s:s,s:O}", "op", "group_vet", "users", users);
	if (vop != NULL && json_is_string(json_object_get(w->req, "group")))
		json_object_set(vop, "group", json_object_get(w->req,
		    "group"));
	if (vop == NULL || cluster_rpc_call(node, w->c->user, vop, grp_vetted,
	    k) != 0) {
		grp_unanswered(k);
		w->left--;
		json_decref(k->users);
		free(k);
	}
	json_decref(vop);
}

/*
 * Starts the vetting of the users an add or create names, for a group
 * homed on ghome, if st asks for it; 1 if op will run again with the
 * verdicts (or was answered), 0 if it may run now.
 */
int
group_vet_homes(struct conn *c, json_t *req, json_t *ref, const char *ghome,
    const char *const *users, size_t n, grp_op_fn *op,
    const struct grp_state *st)
{
	struct grp_vet		*w;
	struct txn		*txn;
	json_t			*calls, *list;
	const char		*node;
	char			 home[CLUSTER_NODE_MAX + 1];
	size_t			 i;
	int			 rc, some = 0;

	if (!cluster_on() || !(st->ask & GRP_ASK_VET) ||
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
				ws_send_error(c, TE_INTERNAL, rc == STORE_FULL ?
				    "store full" : "store error", ref, NULL);
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
	json_object_foreach(calls, node, list)
		grp_vet_call(w, node, json_incref(list), 0);
	json_decref(calls);
	grp_vet_done(w);
	return (1);
}

/*
 * A group op of c that stopped for what (GRP_ASK_*) on a group homed here:
 * the lookups or the vetting of req's users start, and op runs again once
 * they are answered; at once if there is nothing to ask.
 */
void
group_vet_ask(struct conn *c, json_t *frame, json_t *ref,
    const struct grp_req *req, int what, grp_op_fn *op,
    const struct grp_state *st)
{
	struct grp_state	next;

	next.ask = st->ask & ~what;
	next.verdicts = NULL;
	if (what == GRP_ASK_LOOKUP) {
		if (!group_vet_resolve(c, frame, ref, req->users, req->nusers,
		    op, st))
			op(c, frame, ref, &next);
		return;
	}
	if (group_vet_homes(c, frame, ref, srv.conf.node_name, req->users,
	    req->nusers, op, st))
		return;
	next.verdicts = json_object();
	op(c, frame, ref, &next);
	json_decref(next.verdicts);
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
 * said yes to are released (tickd-cluster(7), Groups across nodes), here
 * for users homed here, with a group_vet call "release" to the others'
 * homes.  A release that does not arrive leaves the reservation to lapse.
 */
void
group_vet_release(const char *actor, const char *group, json_t *verdicts)
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
				log_warnx("group: cannot release %s's place "
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

