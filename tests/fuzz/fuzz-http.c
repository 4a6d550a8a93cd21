/* SPDX-License-Identifier: ISC */
/*
 * fuzz-http.c: the HTTP request head parser, http_parse_head(), on a
 * NUL-terminated copy of the input as http_process() makes one.  What it
 * hands back must point into the copy and keep the promises route_ws() and
 * the other routes rely on; a broken promise aborts.  The media headers go
 * on to their parsers, media_type_ok() and media_range_parse(), whose
 * range must lie inside the file for every size tried.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tickd.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Whether s is a string that starts and ends inside head's len bytes. */
static int
inside(const char *s, const char *head, size_t len)
{
	return (s >= head && s <= head + len && s + strlen(s) <= head + len);
}

/* The media parsers on what the head gave; a range outside aborts. */
static void
media_headers(const struct http_req *req, const char *head, size_t len)
{
	static const uint64_t	 sizes[] = { 0, 1, 2, 100, 1ULL << 32,
	    UINT64_MAX };
	uint64_t		 off, n;
	size_t			 i;
	int			 rg;

	if ((req->content_type != NULL && !inside(req->content_type, head,
	    len)) || (req->range != NULL && !inside(req->range, head, len)) ||
	    (req->if_range != NULL && !inside(req->if_range, head, len)) ||
	    (req->if_none_match != NULL && !inside(req->if_none_match, head,
	    len)))
		abort();
	if (req->content_type != NULL && media_type_ok(req->content_type) &&
	    strlen(req->content_type) > MEDIA_TYPE_MAX)
		abort();
	for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		off = n = 0;
		rg = media_range_parse(req->range, sizes[i], &off, &n);
		if (rg != RANGE_NONE && rg != RANGE_ONE && rg != RANGE_BAD)
			abort();
		if (rg == RANGE_ONE && (n == 0 || off >= sizes[i] ||
		    n > sizes[i] - off))
			abort();
	}
}

/* One input: parse it, then check what came out. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct http_req	 req;

	memset(&req, 0, sizeof req);
	req.head = xmalloc(len + 1);
	memcpy(req.head, data, len);
	req.head[len] = '\0';
	req.head_len = len;
	if (http_parse_head(&req) == 0) {
		/* A NUL anywhere is refused, never cut at (RFC 9112). */
		if (memchr(data, '\0', len) != NULL)
			abort();
		if (req.method == NULL || !inside(req.method, req.head, len) ||
		    req.path == NULL || !inside(req.path, req.head, len) ||
		    req.path[0] != '/' ||
		    (req.query != NULL && !inside(req.query, req.head, len)))
			abort();
		if (req.http10 != 0 && req.http10 != 1)
			abort();
		if (req.has_length ? req.content_length > SIZE_MAX / 2 :
		    req.content_length != 0)
			abort();
		if ((req.ws_key != NULL && !inside(req.ws_key, req.head,
		    len)) || (req.ws_version != NULL &&
		    !inside(req.ws_version, req.head, len)))
			abort();
		if (memchr(req.bearer, '\0', sizeof req.bearer) == NULL ||
		    strlen(req.bearer) > TOKEN_MAX)
			abort();
		media_headers(&req, req.head, len);
	}
	free(req.head);
	return (0);
}
