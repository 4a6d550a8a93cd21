/* SPDX-License-Identifier: ISC */
/*
 * http-cluster.c: the answers of a node of a cluster to a request that
 * belongs on another node (tickd-cluster(7) HOME NODES): 307 to the home's
 * cluster_url, with {"error":"wrong_node","node","url"}, or 503 while the
 * home's URL is not known; on a WebSocket, the wrong_node error and the
 * close code 4001.
 */
#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include "tickd.h"

/*
 * Redirects the request to path on node, whose base URL is base (NULL:
 * not known yet, which answers 503 unavailable).
 */
void
http_wrong_node(struct conn *c, const char *node, const char *base,
    const char *path)
{
	json_t	*obj;
	char	*url, *body, *out;
	int	 n;

	if (base == NULL) {
		http_error(c, 503, TE_UNAVAILABLE, "the home node of this "
		    "account is not known yet; try again");
		return;
	}
	xasprintf(&url, "%s%s", base, path);
	obj = json_pack("{s:s,s:s,s:s}", "error", "wrong_node", "node", node,
	    "url", url);
	body = obj == NULL ? NULL : json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	if (body == NULL) {
		free(url);
		http_error(c, 500, TE_INTERNAL, "out of memory");
		return;
	}
	n = xasprintf(&out, "HTTP/1.1 307 Temporary Redirect\r\n"
	    "Location: %s\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\nConnection: %s\r\n\r\n%s", url,
	    strlen(body), c->keepalive ? "keep-alive" : "close", body);
	conn_write_raw(c, out, (size_t)n);
	free(out);
	free(body);
	free(url);
}

/*
 * A bearer request on a node that is not the token's home: redirected
 * there, 1; 0 if the token is this node's (or names no node).
 */
int
http_bearer_elsewhere(struct conn *c, const char *token, const char *path)
{
	const char	*url;
	char		 node[CLUSTER_NODE_MAX + 1];

	if (!cluster_token_elsewhere(token, node, sizeof node, &url))
		return (0);
	http_wrong_node(c, node, url, path);
	return (1);
}

/*
 * A GET, HEAD or DELETE of /v1/media/ID where ID begins with another
 * node's name and "." (tickd-cluster(7) Home nodes): redirected to that
 * node with the same path and query (which may hold ?token=), 1; 0 if
 * the ID is this node's or names no node.  The front end asks before it checks
 * a token, as the token may be of a node that is not this one.
 */
int
http_media_elsewhere(struct conn *c, const struct http_req *req,
    const char *id)
{
	const char	*url;
	char		 node[CLUSTER_NODE_MAX + 1], *path;

	/* The same prefix rule as for tokens, so the same check. */
	if (!cluster_token_elsewhere(id, node, sizeof node, &url))
		return (0);
	if (url == NULL) {
		http_error(c, 503, TE_UNAVAILABLE, "the node of this media is "
		    "not known yet; try again");
		return (1);
	}
	xasprintf(&path, "%s%s%s", req->path, req->query != NULL ? "?" : "",
	    req->query != NULL ? req->query : "");
	http_wrong_node(c, node, url, path);
	free(path);
	return (1);
}

/*
 * A WebSocket whose token belongs to the node whose base URL is base: the
 * wrong_node error naming base/v1/ws, then close 4001 (a browser cannot
 * follow a redirected upgrade).  With the URL unknown yet: unavailable,
 * close 1013.
 */
void
cluster_ws_wrong_node(struct conn *c, const char *base)
{
	json_t	*obj;
	char	*url;

	if (base == NULL) {
		ws_send_error(c, TE_UNAVAILABLE, "the home node of this token "
		    "is not known yet; try again", NULL, NULL);
		ws_close(c, 1013, "try again later");
		return;
	}
	xasprintf(&url, "%s/v1/ws", base);
	obj = json_pack("{s:s,s:s,s:s}", "op", "error", "code", "wrong_node",
	    "url", url);
	if (obj != NULL)
		ws_send_json(c, obj);
	json_decref(obj);
	free(url);
	ws_close(c, 4001, "wrong node");
}
