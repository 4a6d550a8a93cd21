/* SPDX-License-Identifier: ISC */
/*
 * proto-req.c: a frame as jansson's tree, and the requests of send, ack
 * and read read from that tree into a struct proto_req, the form their
 * handlers in proto.c run from.  proto-fast.c fills the same struct
 * straight from the bytes of the frames it is sure of; every other frame
 * comes here, and the checks here decide what is a bad request.
 */
#include <stdlib.h>
#include <string.h>

#include "tickd.h"

/*
 * The object of a frame, with a string member "op", as proto_dispatch()
 * runs it; *ref is its "ref", held, or NULL.  NULL if the frame is
 * refused, with the error to answer in *err and *why, echoing *ref.
 */
json_t *
proto_load(const uint8_t *data, size_t len, const struct conf *conf,
    json_t **ref, enum tick_err *err, const char **why)
{
	json_t		*req, *r;
	json_error_t	 jerr;

	*ref = NULL;
	*err = TE_BAD_REQUEST;
	if (!json_depth_ok((const char *)data, len,
	    (unsigned)conf->max_json_depth)) {
		*why = "JSON nested deeper than max_json_depth";
		return (NULL);
	}
	/* As in HTTP bodies: which of two values counts is ambiguous. */
	req = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES,
	    &jerr);
	r = json_object_get(req, "ref");
	if (r != NULL && !(json_is_integer(r) || (json_is_string(r) &&
	    json_string_length(r) <= PROTO_REF_MAX))) {
		*why = "\"ref\" is a string of at most 64 bytes or an integer";
		json_decref(req);
		return (NULL);
	}
	*ref = r != NULL ? json_incref(r) : NULL;
	if (req == NULL || !json_is_object(req) ||
	    !json_is_string(json_object_get(req, "op"))) {
		*err = TE_BAD_JSON;
		*why = "a frame is one JSON object with a string member \"op\"";
		json_decref(req);
		return (NULL);
	}
	return (req);
}

/* A string member of 1..max bytes without NUL, or NULL. */
const char *
proto_member_string(json_t *req, const char *name, size_t max)
{
	json_t	*v = json_object_get(req, name);

	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) > max ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return (NULL);
	return (json_string_value(v));
}

/* A send's members into r; -1 with the reason in *why if one is bad. */
static int
req_send(json_t *req, const struct conf *conf, struct proto_req *r,
    const char **why)
{
	const char	*to, *id;
	json_t		*idv, *body, *media;

	idv = json_object_get(req, "id");
	if (idv != NULL && json_is_string(idv))
		r->idv = json_incref(idv);
	to = proto_member_string(req, "to", 256);
	id = proto_member_string(req, "id", CLIENT_ID_MAX);
	body = json_object_get(req, "body");
	/* The sender is the authenticated device, never a member. */
	if (to == NULL || id == NULL || body == NULL ||
	    json_object_get(req, "from") != NULL ||
	    json_object_get(req, "from_device") != NULL ||
	    (to[0] != '#' && !valid_user(to, strlen(to))) ||
	    (to[0] == '#' && !valid_group(to, strlen(to)))) {
		*why = "send needs \"to\" (a user), \"id\" (1-64 bytes) and "
		    "\"body\"";
		return (-1);
	}
	media = json_object_get(req, "media");
	if (media != NULL && !media_member_ok(media, conf->max_media_refs)) {
		*why = "\"media\" must be an array of 1 to max_media_refs IDs";
		return (-1);
	}
	strlcpy(r->to, to, sizeof r->to);
	strlcpy(r->id, id, sizeof r->id);
	r->body = json_incref(body);
	r->media = media != NULL ? json_incref(media) : NULL;
	return (0);
}

/*
 * The mids of an ack or read: "mid" or a non-empty "mids" array, all
 * valid, at most max_ack_mids; -1 if not.
 */
static int
req_mids(json_t *req, const struct conf *conf, struct proto_req *r)
{
	json_t		*one = json_object_get(req, "mid");
	json_t		*many = json_object_get(req, "mids");
	json_t		*v;
	struct mid	*mids;
	size_t		 i, n;

	if ((one == NULL) == (many == NULL))
		return (-1);
	if (one != NULL) {
		if (!json_is_string(one))
			return (-1);
		mids = xmalloc(sizeof *mids);
		if (mid_parse(json_string_value(one), json_string_length(one),
		    mids) != 0) {
			free(mids);
			return (-1);
		}
		r->mids = mids;
		r->nmids = 1;
		return (0);
	}
	if (!json_is_array(many) || (n = json_array_size(many)) == 0 ||
	    n > conf->max_ack_mids)
		return (-1);
	mids = xcalloc(n, sizeof *mids);
	json_array_foreach(many, i, v) {
		if (!json_is_string(v) || mid_parse(json_string_value(v),
		    json_string_length(v), &mids[i]) != 0) {
			free(mids);
			return (-1);
		}
	}
	r->mids = mids;
	r->nmids = n;
	return (0);
}

/*
 * The send, ack or read of req (op says which), with ref, into r; the
 * caller frees r either way.  -1 if it is a bad request, with the reason
 * in *why, and r holding what its error echoes (ref, and a send's id).
 */
int
proto_req_json(json_t *req, enum proto_op op, json_t *ref,
    const struct conf *conf, struct proto_req *r, const char **why)
{
	memset(r, 0, sizeof *r);
	r->op = op;
	r->ref = ref != NULL ? json_incref(ref) : NULL;
	if (op == PROTO_SEND)
		return (req_send(req, conf, r, why));
	if (req_mids(req, conf, r) == 0)
		return (0);
	*why = op == PROTO_ACK ? "ack needs \"mid\" or \"mids\" (at most "
	    "max_ack_mids)" : "read needs \"mid\" or \"mids\" (at most "
	    "max_ack_mids)";
	return (-1);
}

/* Drops what r holds and leaves it empty. */
void
proto_req_free(struct proto_req *r)
{
	json_decref(r->ref);
	json_decref(r->idv);
	json_decref(r->body);
	json_decref(r->media);
	free(r->body_text);
	free(r->mids);
	memset(r, 0, sizeof *r);
}
