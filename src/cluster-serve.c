/* SPDX-License-Identifier: ISC */
/*
 * cluster-serve.c: the home's side of a remote call (tickd-cluster(7),
 * Remote calls).  A req entry {rid, user, op} read from this node's stream
 * is served in the transaction of its batch, so that what it changes is
 * committed before its answer leaves: the rep entry {rid, reply}, where
 * reply is the frame the caller's client gets, goes into the applied
 * batch's list and is sent after the commit.  The cursor keeps a req from
 * being served twice; nothing keeps it in an outbox.  No I/O here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tickd.h"

/* {"op":"error","code","message"}: a refusal, as ws_send_error words it. */
static json_t *
reply_error(enum tick_err code, const char *message)
{
	return (json_pack("{s:s,s:s,s:s}", "op", "error", "code",
	    err_code(code), "message", message));
}

/*
 * The answer to a call that acts for user as its home, when user is not
 * homed here (cluster_not_here): the caller's cached home is stale, and
 * it looks the home up again and calls there (tickd-cluster(7), Remote calls).
 */
static json_t *
reply_moved(const char *user)
{
	return (json_pack("{s:s,s:s,s:s}", "op", "error", "code", "moved",
	    "user", user));
}

/*
 * keys_fetch for the caller's client (tickd-protocol(7) KEY DIRECTORY,
 * rules 5 to 7): the take is atomic here, at the keys' home.  "max" is
 * how many bundles the caller's keys_fetch_rate still allows; a fetch of
 * more takes nothing, as on one node.
 */
static int
serve_keys_fetch(struct txn *txn, struct midgen *gen,
    const struct conf *conf, const char *actor, json_t *op, uint64_t now,
    struct cluster_applied *a, json_t **reply)
{
	struct keys_fetch_res	 res;
	json_t			*uv = json_object_get(op, "user");
	json_t			*dv = json_object_get(op, "device");
	json_t			*mv = json_object_get(op, "max");
	const char		*user, *device = NULL;
	enum tick_err		 err;
	size_t			 n, i;
	int			 rc;

	(void)actor;
	user = json_string_value(uv);
	if (dv != NULL)
		device = json_string_value(dv);
	if (user == NULL || !valid_user(user, strlen(user)) ||
	    (dv != NULL && (device == NULL ||
	    !valid_device(device, strlen(device)))) ||
	    (mv != NULL && (!json_is_integer(mv) ||
	    json_integer_value(mv) < 1))) {
		*reply = reply_error(TE_BAD_REQUEST, "keys_fetch needs "
		    "\"user\" (a user's name) and may name a \"device\"");
		return (STORE_OK);
	}
	if ((rc = cluster_not_here(txn, user)) != 0) {
		if (rc == 1)
			*reply = reply_moved(user);
		return (rc == 1 ? STORE_OK : rc);
	}
	if ((rc = keys_fetch_size(txn, user, device, &n, &err)) != STORE_OK)
		return (rc);
	if (err != TE_OK) {
		*reply = reply_error(err, "no such user");
		return (STORE_OK);
	}
	if (mv != NULL && (n == 0 ? 1 : (json_int_t)n) >
	    json_integer_value(mv)) {
		*reply = reply_error(TE_RATE_LIMITED, "keys_fetch_rate "
		    "exceeded; no key was taken");
		return (STORE_OK);
	}
	if ((rc = keys_fetch(txn, gen, conf, user, device, now, &res)) !=
	    STORE_OK) {
		keys_fetch_free(&res);
		return (rc);
	}
	a->prekeys_taken += res.taken;
	a->prekeys_empty += res.empty;
	for (i = 0; i < res.low.n; i++)
		targets_add(&a->targets, res.low.v[i].user,
		    res.low.v[i].device, res.low.v[i].qid);
	*reply = json_pack("{s:s,s:s,s:O}", "op", "keys", "user", user,
	    "devices", res.devices);
	keys_fetch_free(&res);
	return (STORE_OK);
}

/* Caches the homes the caller named for the users of a group op. */
static int
group_homes(struct txn *txn, const struct conf *conf, json_t *op)
{
	struct user_rec	 u;
	json_t		*v;
	const char	*user, *node;
	int		 rc;

	json_object_foreach(json_object_get(op, "homes"), user, v) {
		node = json_string_value(v);
		if (node == NULL || !valid_user(user, strlen(user)) ||
		    !cluster_node_name_ok(node, strlen(node)) ||
		    strcmp(node, conf->node_name) == 0)
			continue;
		if ((rc = cluster_user_get(txn, conf, user, &u)) == STORE_OK)
			continue;
		if (rc != STORE_NOTFOUND ||
		    (rc = store_cdir_put(txn, user, node)) != STORE_OK)
			return (rc);
	}
	return (STORE_OK);
}

/*
 * A list of other users' names in op's "users", none the actor's: -1 if
 * malformed.  The names point into op; the caller frees the array.
 */
static int
group_names(json_t *op, const char *actor, const char ***out, size_t *n)
{
	json_t	*a = json_object_get(op, "users"), *v;
	size_t	 i;

	*out = NULL;
	*n = 0;
	if (!json_is_array(a) || json_array_size(a) == 0)
		return (-1);
	json_array_foreach(a, i, v) {
		if (!json_is_string(v) || !valid_user(json_string_value(v),
		    json_string_length(v)) ||
		    strcmp(json_string_value(v), actor) == 0)
			return (-1);
	}
	*n = json_array_size(a);
	*out = xcalloc(*n + 1, sizeof **out);
	json_array_foreach(a, i, v)
		(*out)[i] = json_string_value(v);
	return (0);
}

/*
 * A group op of a member homed on the caller (tickd-cluster(7), Groups
 * across nodes): run here, at the group's home, as proto-group.c runs one
 * of a local user; the events reach the members' homes through the outbox.  The
 * caller checked the frame's form; what is still malformed here is
 * bad_request.
 */
static int
serve_group(struct txn *txn, struct midgen *gen, const struct conf *conf,
    const char *actor, json_t *op, uint64_t now, struct cluster_applied *a,
    json_t **reply)
{
	struct grp_req	 req;
	struct grp_res	 res;
	const char	*name = json_string_value(json_object_get(op, "op"));
	const char	**users = NULL;
	json_t		*gv = json_object_get(op, "group");
	json_t		*uv = json_object_get(op, "user");
	json_t		*rv = json_object_get(op, "role");
	int		(*fn)(struct txn *, struct midgen *,
			    const struct conf *, const struct grp_req *,
			    struct grp_res *) = NULL;
	size_t		 i;
	int		 rc, bad = 0, info = 0, add = 0;

	memset(&req, 0, sizeof req);
	memset(&res, 0, sizeof res);
	req.actor = actor;
	req.now = now;
	req.admin_only_send = req.admin_only_info = -1;
	req.group = json_string_value(gv);
	/* The verdicts of the added users' homes, asked by the caller. */
	if (json_is_object(json_object_get(op, "vet")))
		req.verdicts = json_object_get(op, "vet");
	if (req.group == NULL || !valid_group(req.group, strlen(req.group)))
		bad = 1;
	else if (strcmp(name, "group_info") == 0)
		info = 1;
	else if (strcmp(name, "group_leave") == 0)
		fn = group_leave;
	else if (strcmp(name, "group_add") == 0 ||
	    strcmp(name, "group_remove") == 0) {
		add = name[6] == 'a';
		fn = add ? group_add : group_remove;
		bad = group_names(op, actor, &users, &req.nusers) != 0 ||
		    req.nusers > conf->max_group_members;
		req.users = users;
	} else if (strcmp(name, "group_role") == 0) {
		fn = group_role;
		req.user = json_string_value(uv);
		req.role = json_is_string(rv) ?
		    group_role_parse(json_string_value(rv)) : -1;
		bad = req.user == NULL || req.role == -1 ||
		    !valid_user(req.user, strlen(req.user)) ||
		    strcmp(req.user, actor) == 0;
	} else {
		fn = group_set;
		req.title = json_member_text(op, "title", 1, GROUP_TITLE_MAX, &bad);
		req.description = json_member_text(op, "description", 0,
		    conf->max_group_description, &bad);
		req.admin_only_send = json_member_switch(op, "admin_only_send",
		    &bad);
		req.admin_only_info = json_member_switch(op, "admin_only_info",
		    &bad);
		bad = bad || (req.title == NULL && req.description == NULL &&
		    req.admin_only_send == -1 && req.admin_only_info == -1);
	}
	if (bad) {
		free(users);
		*reply = reply_error(TE_BAD_REQUEST, "a group op from another "
		    "node is malformed");
		return (STORE_OK);
	}
	if ((rc = group_homes(txn, conf, op)) != STORE_OK) {
		free(users);
		return (rc);
	}
	if (info)
		rc = group_info(txn, &req, &res);
	else
		rc = fn(txn, gen, conf, &req, &res);
	free(users);
	if (rc != STORE_OK) {
		grp_res_free(&res);
		return (rc);
	}
	if (res.err == TE_NO_SUCH_USER)
		*reply = json_pack("{s:s,s:s,s:s}", "op", "error", "code",
		    err_code(res.err), "user", res.user);
	else if (res.err != TE_OK)
		*reply = json_pack("{s:s,s:s,s:s?}", "op", "error", "code",
		    err_code(res.err), "message",
		    group_err_message(res.err));
	else if (res.info != NULL)
		*reply = json_incref(res.info);
	else {
		*reply = json_pack("{s:s}", "op", "ok");
		if (add)
			json_object_set(*reply, "refused", res.refused);
		cluster_applied_group(a, req.group);
	}
	for (i = 0; i < res.targets.n; i++)
		targets_add(&a->targets, res.targets.v[i].user,
		    res.targets.v[i].device, res.targets.v[i].qid);
	grp_res_free(&res);
	return (STORE_OK);
}

/*
 * Whether actor may add each of "users", users homed here, to "group"
 * homed elsewhere, or to a group a create names later (protocol rule 8;
 * tickd-cluster(7), Groups across nodes): only this node knows their
 * blocks, group_add settings and groups, and group_vet_user reserves each a
 * place, which a call with "release" true gives back.  The answer is
 * {"op":"ok","refused":[...],"moved":[...]}: a user not homed here
 * (cluster_not_here) is listed as moved, for the caller to ask its home,
 * and as refused, for a caller that does not read "moved".
 */
static int
serve_group_vet(struct txn *txn, struct midgen *gen,
    const struct conf *conf, const char *actor, json_t *op, uint64_t now,
    struct cluster_applied *a, json_t **reply)
{
	json_t		*refused, *moved, *v;
	const char	*user, *group;
	char		 key[CRSV_KEY_MAX + 1];
	size_t		 i;
	int		 rc = STORE_OK;

	(void)gen;
	(void)a;
	group = json_string_value(json_object_get(op, "group"));
	if (group != NULL && valid_group(group, strlen(group)))
		strlcpy(key, group, sizeof key);
	else
		snprintf(key, sizeof key, "@%s.%llu", actor,
		    (unsigned long long)now);
	if (!json_is_array(json_object_get(op, "users"))) {
		*reply = reply_error(TE_BAD_REQUEST, "group_vet needs "
		    "\"users\"");
		return (STORE_OK);
	}
	refused = json_array();
	moved = json_array();
	json_array_foreach(json_object_get(op, "users"), i, v) {
		user = json_string_value(v);
		if (user == NULL || !valid_user(user, strlen(user)))
			continue;
		/* The group's home refused the op: the places go. */
		if (json_is_true(json_object_get(op, "release"))) {
			if ((rc = store_crsv_del(txn, user, key)) !=
			    STORE_OK)
				break;
			continue;
		}
		if ((rc = cluster_not_here(txn, user)) == 1) {
			json_array_append(moved, v);
			json_array_append(refused, v);
		} else if (rc == 0 &&
		    (rc = group_vet_user(txn, conf, user, actor, key, now)) ==
		    1)
			json_array_append(refused, v);
		if (rc < 0)
			break;
		rc = STORE_OK;
	}
	if (rc != STORE_OK) {
		json_decref(refused);
		json_decref(moved);
		return (rc);
	}
	*reply = json_pack("{s:s,s:o,s:o}", "op", "ok", "refused", refused,
	    "moved", moved);
	return (STORE_OK);
}

/* The calls a home serves, by the op of the client's request. */
static const struct {
	const char	*name;
	int		(*fn)(struct txn *, struct midgen *,
			    const struct conf *, const char *, json_t *,
			    uint64_t, struct cluster_applied *, json_t **);
} serve_table[] = {
	{ .name = "keys_fetch", .fn = serve_keys_fetch },
	{ .name = "group_info", .fn = serve_group },
	{ .name = "group_add", .fn = serve_group },
	{ .name = "group_remove", .fn = serve_group },
	{ .name = "group_leave", .fn = serve_group },
	{ .name = "group_role", .fn = serve_group },
	{ .name = "group_set", .fn = serve_group },
	{ .name = "group_vet", .fn = serve_group_vet },
};

/* Queues the rep entry {rid, reply} for origin. */
static void
rep_add(struct cluster_applied *a, const char *origin, const char *rid,
    json_t *reply)
{
	struct cluster_rep	*r;
	json_t			*p;
	char			*text;

	p = json_pack("{s:s,s:O}", "rid", rid, "reply", reply);
	text = p == NULL ? NULL : json_dumps(p, JSON_COMPACT);
	json_decref(p);
	if (text == NULL) {
		log_warnx("cluster: cannot encode the answer to %s's call %s",
		    origin, rid);
		return;
	}
	if (a->nreps == a->capreps)
		a->reps = xgrow(a->reps, &a->capreps, sizeof *a->reps, 4);
	r = &a->reps[a->nreps++];
	strlcpy(r->node, origin, sizeof r->node);
	r->text = text;
}

/*
 * Serves the req entry p from origin in txn; its answer goes into
 * a->reps.  A store error is returned, and the batch must be aborted;
 * a bad call is answered bad_request, or dropped without a rid.
 */
int
cluster_serve(struct txn *txn, struct midgen *gen, const struct conf *conf,
    const char *origin, json_t *p, uint64_t now, struct cluster_applied *a)
{
	const char	*rid = json_string_value(json_object_get(p, "rid"));
	const char	*user = json_string_value(json_object_get(p, "user"));
	json_t		*op = json_object_get(p, "op");
	const char	*name = json_string_value(json_object_get(op, "op"));
	json_t		*reply = NULL;
	size_t		 i;
	int		 rc = STORE_OK;

	if (rid == NULL) {
		log_warnx("cluster: a call from %s without a rid; dropped",
		    origin);
		return (STORE_OK);
	}
	if (user == NULL || !valid_user(user, strlen(user)) ||
	    !json_is_object(op) || name == NULL) {
		reply = reply_error(TE_BAD_REQUEST, "a remote call needs "
		    "\"user\" and \"op\"");
		goto out;
	}
	for (i = 0; i < sizeof serve_table / sizeof serve_table[0]; i++) {
		if (strcmp(serve_table[i].name, name) == 0)
			break;
	}
	if (i == sizeof serve_table / sizeof serve_table[0]) {
		/* A newer node's call: say so, rather than time out. */
		reply = reply_error(TE_UNKNOWN_OP, "this node serves no such "
		    "remote call");
		goto out;
	}
	rc = serve_table[i].fn(txn, gen, conf, user, op, now, a, &reply);
out:
	if (rc == STORE_OK && reply != NULL)
		rep_add(a, origin, rid, reply);
	json_decref(reply);
	return (rc);
}
