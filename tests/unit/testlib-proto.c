/* SPDX-License-Identifier: ISC */
/*
 * testlib-proto.c: whether proto_fast() agrees with the jansson path
 * (proto_load() then proto_req_json(), as proto_dispatch() runs them) on
 * one frame: it may decline any frame, but a frame it takes must be one
 * that path runs as the same send, ack or read, down to the text of the
 * body.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tickd.h"
#include "testlib-proto.h"

/*
 * What the jansson path makes of a frame: 0 with r filled if it runs it
 * as a send, ack or read; -1 if it answers it with an error or it is
 * another op.
 */
static int
jansson_req(const uint8_t *data, size_t len, const struct conf *conf,
    struct proto_req *r)
{
	json_t		*req, *ref;
	enum tick_err	 err;
	enum proto_op	 op;
	const char	*why, *name;
	int		 rc;

	memset(r, 0, sizeof *r);
	if ((req = proto_load(data, len, conf, &ref, &err, &why)) == NULL) {
		json_decref(ref);
		return (-1);
	}
	name = json_string_value(json_object_get(req, "op"));
	if (strcmp(name, "send") == 0)
		op = PROTO_SEND;
	else if (strcmp(name, "ack") == 0)
		op = PROTO_ACK;
	else if (strcmp(name, "read") == 0)
		op = PROTO_READ;
	else {
		json_decref(ref);
		json_decref(req);
		return (-1);
	}
	rc = proto_req_json(req, op, ref, conf, r, &why);
	json_decref(ref);
	json_decref(req);
	if (rc != 0)
		proto_req_free(r);
	return (rc);
}

/* Both NULL, or equal jansson values of one type. */
static int
same_json(json_t *a, json_t *b)
{
	if (a == NULL || b == NULL)
		return (a == b);
	return (json_typeof(a) == json_typeof(b) && json_equal(a, b));
}

/*
 * 1 if proto_fast() declines the frame (*took 0) or makes of it what the
 * jansson path makes (*took 1); 0 if they differ, told on stdout.
 */
int
proto_fast_agrees(const uint8_t *data, size_t len, const struct conf *conf,
    int *took)
{
	struct proto_req	 f, j;
	char			*body = NULL;
	int			 same;

	if (!(*took = proto_fast(data, len, conf, &f) == 0))
		return (1);
	if (jansson_req(data, len, conf, &j) != 0) {
		printf("# the fast path took a frame jansson's path refuses\n");
		proto_req_free(&f);
		return (0);
	}
	if (j.body != NULL)
		body = json_dumps(j.body, JSON_COMPACT | JSON_ENCODE_ANY);
	same = f.op == j.op && same_json(f.ref, j.ref) &&
	    same_json(f.idv, j.idv) && strcmp(f.to, j.to) == 0 &&
	    strcmp(f.id, j.id) == 0 && f.body == NULL && f.media == NULL &&
	    j.media == NULL && j.body_text == NULL &&
	    (body == NULL) == (f.body_text == NULL) &&
	    (body == NULL || (f.body_len == strlen(body) &&
	    memcmp(f.body_text, body, f.body_len) == 0)) &&
	    f.nmids == j.nmids && (f.nmids == 0 ||
	    memcmp(f.mids, j.mids, f.nmids * sizeof *f.mids) == 0);
	if (!same)
		printf("# fast and jansson differ: op %d/%d to %s/%s id %s/%s "
		    "body %s/%s mids %zu/%zu\n", f.op, j.op, f.to, j.to, f.id,
		    j.id, f.body_text != NULL ? f.body_text : "-",
		    body != NULL ? body : "-", f.nmids, j.nmids);
	free(body);
	proto_req_free(&f);
	proto_req_free(&j);
	return (same);
}
