/* SPDX-License-Identifier: ISC */
/*
 * proto-remote.c: the WebSocket ops whose answer only another node can
 * give, because what they read or change lives on its disk
 * (tickd-cluster(7), Remote calls): the op goes to that home as a remote
 * call (cluster-rpc.c), and its reply comes back to the client as the home
 * made it.  No rep within cluster_rpc_timeout, or no way to send the call,
 * is error unavailable.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tickd.h"

/* A client's op waiting for the directory or for its home's answer. */
struct remote {
	struct conn	*c;
	json_t		*ref;
	json_t		*op;		/* what the home is asked */
	char		 target[NAME_USER_MAX + 1]; /* whose home serves it */
	char		 node[CLUSTER_NODE_MAX + 1]; /* the home called */
	int		 moved;		/* it answered moved: looked up again */
	int		 quiet_ok;	/* an ok without ref is not sent */
	json_t		*verdicts;	/* of a group op's vetting, or NULL */
};

/* Ends r: its references go. */
static void
remote_free(struct remote *r)
{
	conn_unref(r->c);
	json_decref(r->ref);
	json_decref(r->op);
	json_decref(r->verdicts);
	free(r);
}

/*
 * Sends c the reply frame another node made, echoing ref; an error frame
 * is counted as ws_send_error counts one.
 */
void
proto_remote_reply(struct conn *c, json_t *reply, json_t *ref)
{
	const char	*op = json_string_value(json_object_get(reply, "op"));
	const char	*code;
	json_t		*copy;

	if (op != NULL && strcmp(op, "error") == 0) {
		code = json_string_value(json_object_get(reply, "code"));
		metrics_ws_error(err_from_code(code != NULL ? code : ""));
	}
	copy = json_copy(reply);
	if (ref != NULL)
		json_object_set(copy, "ref", ref);
	ws_send_json(c, copy);
	json_decref(copy);
}

static void	remote_looked_up(void *, int, const char *);

/*
 * The home's answer to a keys_fetch: the bundles it handed out are
 * charged to the fetcher's keys_fetch_rate here, where that is kept.  A
 * home that answers moved was a stale one: the home is looked up again
 * and called, once (tickd-cluster(7), Remote calls).
 */
static void
keys_fetched(void *arg, json_t *reply)
{
	struct remote	*r = arg;
	json_t		*devices;
	const char	*op, *code;

	code = json_string_value(json_object_get(reply, "code"));
	if (!r->c->dead && !r->moved && code != NULL &&
	    strcmp(code, "moved") == 0) {
		r->moved = 1;
		cluster_lookup(r->target, remote_looked_up, r);
		return;
	}
	if (!r->c->dead) {
		if (reply == NULL)
			ws_send_error(r->c, TE_UNAVAILABLE, "the user's home "
			    "node did not answer; try again", r->ref, NULL);
		else {
			op = json_string_value(json_object_get(reply, "op"));
			devices = json_object_get(reply, "devices");
			if (op != NULL && strcmp(op, "keys") == 0)
				(void)limit_keys_fetch(r->c->user,
				    json_array_size(devices));
			else if (code != NULL &&
			    strcmp(code, "rate_limited") == 0)
				srv.stats.rate_limited++;
			if (code != NULL && strcmp(code, "moved") == 0)
				ws_send_error(r->c, TE_NO_SUCH_USER, "no such "
				    "user", r->ref, NULL);
			else
				proto_remote_reply(r->c, reply, r->ref);
		}
	}
	remote_free(r);
}

/* Sends r's call to node; unavailable at once if it cannot go. */
static void
remote_call(struct remote *r, const char *node)
{
	strlcpy(r->node, node, sizeof r->node);
	if (cluster_rpc_call(node, r->c->user, r->op, keys_fetched, r) == 0)
		return;
	ws_send_error(r->c, TE_UNAVAILABLE, "the user's home node cannot be "
	    "reached; try again", r->ref, NULL);
	remote_free(r);
}

/*
 * The directory answered where r's target lives; after a moved, a home
 * that is the node which answered it, or this node, is none.
 */
static void
remote_looked_up(void *arg, int status, const char *node)
{
	struct remote	*r = arg;

	if (r->c->dead)
		remote_free(r);
	else if (status == CLUSTER_FOUND &&
	    strcmp(node, srv.conf.node_name) != 0 &&
	    !(r->moved && strcmp(node, r->node) == 0))
		remote_call(r, node);
	else {
		if (status == CLUSTER_DOWN)
			ws_send_error(r->c, TE_UNAVAILABLE, "the cluster's "
			    "directory is unreachable", r->ref, NULL);
		else
			ws_send_error(r->c, TE_NO_SUCH_USER, "no such user",
			    r->ref, NULL);
		remote_free(r);
	}
}

/*
 * keys_fetch of user, not homed here: a remote call to home, or to the
 * home the directory names when home is NULL (not cached).  The caller
 * checked the request; device may be NULL.
 */
void
proto_keys_fetch_remote(struct conn *c, json_t *ref, const char *user,
    const char *device, const char *home)
{
	struct remote	*r;
	size_t		 room;

	if ((room = limit_keys_fetch_room(c->user)) == 0) {
		srv.stats.rate_limited++;
		ws_send_error(c, TE_RATE_LIMITED, "keys_fetch_rate exceeded; "
		    "no key was taken", ref, NULL);
		return;
	}
	r = xcalloc(1, sizeof *r);
	r->c = c;
	conn_ref(c);
	r->ref = ref == NULL ? NULL : json_incref(ref);
	r->op = json_pack("{s:s,s:s}", "op", "keys_fetch", "user", user);
	if (device != NULL)
		json_object_set_new(r->op, "device", json_string(device));
	if (room != SIZE_MAX)
		json_object_set_new(r->op, "max", json_integer(
		    (json_int_t)room));
	strlcpy(r->target, user, sizeof r->target);
	if (home != NULL)
		remote_call(r, home);
	else
		cluster_lookup(r->target, remote_looked_up, r);
}

/* The group's home answered a group op of r's client. */
static void
group_done(void *arg, json_t *reply)
{
	struct remote	*r = arg;
	const char	*op;

	if (!r->c->dead && reply == NULL)
		ws_send_error(r->c, TE_UNAVAILABLE, "the group's home node did "
		    "not answer; the request may be repeated", r->ref, NULL);
	else if (!r->c->dead) {
		op = json_string_value(json_object_get(reply, "op"));
		if (!(r->quiet_ok && r->ref == NULL && op != NULL &&
		    strcmp(op, "ok") == 0))
			proto_remote_reply(r->c, reply, r->ref);
	}
	/* Refused, nothing changed: the places vetted for it go. */
	op = json_string_value(json_object_get(reply, "op"));
	if (reply != NULL && op != NULL && strcmp(op, "error") == 0)
		group_vet_release(r->c->user, json_string_value(
		    json_object_get(r->op, "group")), r->verdicts);
	remote_free(r);
}

/*
 * A group op (frame) of c's user on a group homed on node home: a remote
 * call, with the homes of the users it names as this node knows them, so
 * that the group's home need not look them up, and the verdicts of their
 * homes on an add (NULL: none).  An ok without ref is sent only with
 * "refused" (quiet_ok 0), as proto-group.c does.
 */
void
proto_group_remote(struct conn *c, json_t *frame, json_t *ref,
    const char *home, int quiet_ok, json_t *verdicts)
{
	struct remote	*r;
	struct txn	*txn;
	json_t		*homes, *v, *names;
	const char	*user;
	char		 node[CLUSTER_NODE_MAX + 1];
	size_t		 i;
	int		 where;

	if ((txn = batch_txn()) == NULL) {
		ws_send_error(c, TE_INTERNAL, "store error", ref, NULL);
		return;
	}
	r = xcalloc(1, sizeof *r);
	r->c = c;
	conn_ref(c);
	r->ref = ref == NULL ? NULL : json_incref(ref);
	r->quiet_ok = quiet_ok;
	r->op = json_deep_copy(frame);
	json_object_del(r->op, "ref");
	/* Only this node's vetting speaks for the users' homes. */
	json_object_del(r->op, "vet");
	if (verdicts != NULL) {
		json_object_set(r->op, "vet", verdicts);
		r->verdicts = json_incref(verdicts);
	}
	homes = json_object();
	names = json_array();
	json_array_extend(names, json_object_get(frame, "users"));
	if (json_is_string(json_object_get(frame, "user")))
		json_array_append(names, json_object_get(frame, "user"));
	json_array_foreach(names, i, v) {
		if ((user = json_string_value(v)) == NULL)
			continue;
		where = cluster_where(txn, user, node);
		if (where == CLUSTER_LOCAL)
			json_object_set_new(homes, user,
			    json_string(srv.conf.node_name));
		else if (where == CLUSTER_FOUND)
			json_object_set_new(homes, user, json_string(node));
	}
	json_decref(names);
	json_object_set_new(r->op, "homes", homes);
	if (cluster_rpc_call(home, c->user, r->op, group_done, r) == 0)
		return;
	ws_send_error(c, TE_UNAVAILABLE, "the group's home node cannot be "
	    "reached; the request may be repeated", ref, NULL);
	remote_free(r);
}
