/* SPDX-License-Identifier: ISC */
/*
 * cluster-serve.c: the home's side of a remote call (tickd-cluster(7)
 * REMOTE CALLS).  A req entry {rid, user, op} read from this node's stream
 * is served in the transaction of its batch, so that what it changes is
 * committed before its answer leaves: the rep entry {rid, reply}, where
 * reply is the frame the caller's client gets, goes into the applied
 * batch's list and is sent after the commit.  The cursor keeps a req from
 * being served twice; nothing keeps it in an outbox.  No I/O here.
 */
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
 * keys_fetch for the caller's client (tickd-protocol(7) KEY DIRECTORY,
 * rules 5 to 7): the take is atomic here, at the keys' home.  "max" is
 * how many bundles the caller's keys_fetch_rate still allows; a fetch of
 * more takes nothing, as on one node.
 */
static int
serve_keys_fetch(struct txn *txn, struct midgen *gen,
    const struct conf *conf, json_t *op, uint64_t now,
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

/* The calls a home serves, by the op of the client's request. */
static const struct {
	const char	*name;
	int		(*fn)(struct txn *, struct midgen *,
			    const struct conf *, json_t *, uint64_t,
			    struct cluster_applied *, json_t **);
} serve_table[] = {
	{ .name = "keys_fetch", .fn = serve_keys_fetch },
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
	rc = serve_table[i].fn(txn, gen, conf, op, now, a, &reply);
out:
	if (rc == STORE_OK && reply != NULL)
		rep_add(a, origin, rid, reply);
	json_decref(reply);
	return (rc);
}
