/* SPDX-License-Identifier: ISC */
/*
 * proto-remote.c: the WebSocket ops whose answer only another node can
 * give, because what they read or change lives on its disk
 * (tickd-cluster(7) REMOTE CALLS): the op goes to that home as a remote
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
};

/* Ends r: its references go. */
static void
remote_free(struct remote *r)
{
	conn_unref(r->c);
	json_decref(r->ref);
	json_decref(r->op);
	free(r);
}

/*
 * Sends c the reply frame another node made, echoing ref; an error frame
 * goes through ws_send_error, so that it is counted like any other.
 */
void
proto_remote_reply(struct conn *c, json_t *reply, json_t *ref)
{
	const char	*op = json_string_value(json_object_get(reply, "op"));
	const char	*code, *message;
	json_t		*copy;

	if (op != NULL && strcmp(op, "error") == 0) {
		code = json_string_value(json_object_get(reply, "code"));
		message = json_string_value(json_object_get(reply,
		    "message"));
		ws_send_error(c, err_from_code(code != NULL ? code : ""),
		    message, ref, NULL);
		return;
	}
	copy = json_copy(reply);
	if (ref != NULL)
		json_object_set(copy, "ref", ref);
	ws_send_json(c, copy);
	json_decref(copy);
}

/*
 * The home's answer to a keys_fetch: the bundles it handed out are
 * charged to the fetcher's keys_fetch_rate here, where that is kept.
 */
static void
keys_fetched(void *arg, json_t *reply)
{
	struct remote	*r = arg;
	json_t		*devices;
	const char	*op, *code;

	if (!r->c->dead) {
		if (reply == NULL)
			ws_send_error(r->c, TE_UNAVAILABLE, "the user's home "
			    "node did not answer; try again", r->ref, NULL);
		else {
			op = json_string_value(json_object_get(reply, "op"));
			code = json_string_value(json_object_get(reply,
			    "code"));
			devices = json_object_get(reply, "devices");
			if (op != NULL && strcmp(op, "keys") == 0)
				(void)limit_keys_fetch(r->c->user,
				    json_array_size(devices));
			else if (code != NULL &&
			    strcmp(code, "rate_limited") == 0)
				srv.stats.rate_limited++;
			proto_remote_reply(r->c, reply, r->ref);
		}
	}
	remote_free(r);
}

/* Sends r's call to node; unavailable at once if it cannot go. */
static void
remote_call(struct remote *r, const char *node)
{
	if (cluster_rpc_call(node, r->c->user, r->op, keys_fetched, r) == 0)
		return;
	ws_send_error(r->c, TE_UNAVAILABLE, "the user's home node cannot be "
	    "reached; try again", r->ref, NULL);
	remote_free(r);
}

/* The directory answered where r's target lives. */
static void
remote_looked_up(void *arg, int status, const char *node)
{
	struct remote	*r = arg;

	if (r->c->dead)
		remote_free(r);
	else if (status == CLUSTER_FOUND &&
	    strcmp(node, srv.conf.node_name) != 0)
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
