/* SPDX-License-Identifier: ISC */
/*
 * http-cluster.c: the answers of a node of a cluster to a request that
 * belongs on another node (tickd-cluster(7), Home nodes): 307 to the home's
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
 * A download grant being written for c (tickd-cluster(7), Downloads across
 * nodes).
 */
struct grant_wait {
	struct conn	*c;
	char		 node[CLUSTER_NODE_MAX + 1];	/* the owner */
	char		*path;		/* the owner's, ?grant= */
};

/* Redis holds the grant, or failed: c goes to the owner, or gets 503. */
static void
grant_written(void *arg, int st)
{
	struct grant_wait	*w = arg;
	struct conn		*c = w->c;

	if (!c->dead) {
		if (st == CLUSTER_FOUND)
			http_wrong_node(c, w->node, cluster_node_url(w->node),
			    w->path);
		else
			http_error(c, 503, TE_UNAVAILABLE, "the cluster's "
			    "Redis is unreachable; try again");
		http_resume(c);
	}
	conn_unref(c);
	free(w->path);
	free(w);
}

/*
 * A GET or HEAD of media owned by another node, with a token (bearer or
 * ?token=) of this node, the user's home: the owner takes only its own
 * tokens, so this node checks it, writes a download grant and redirects
 * to the owner with ?grant= instead of the token (tickd-cluster(7),
 * Downloads across nodes).  1 when taken: answered (401, 404, 503), or c
 * left busy until Redis holds the grant; 0 for the plain redirect of
 * http_media_elsewhere (no token, or another node's) or an ID of this node.
 */
int
http_media_grant(struct conn *c, const struct http_req *req, const char *id)
{
	struct token_rec	 tok;
	struct txn		 txn;
	struct grant_wait	*w;
	const char		*url, *turl;
	char			 node[CLUSTER_NODE_MAX + 1];
	char			 tnode[CLUSTER_NODE_MAX + 1];
	char			 token[TOKEN_MAX + 1];
	char			 grant[MEDIA_GRANT_LEN + 1];
	uint8_t			 bin[MEDIA_ID_BYTES];
	size_t			 n;
	int			 ret;

	if (!cluster_token_elsewhere(id, node, sizeof node, &url) ||
	    url == NULL)
		return (0);
	if (http_query_param(req->query, "token=", token, sizeof token) != 0)
		token[0] = '\0';
	if (req->bearer[0] != '\0')
		strlcpy(token, req->bearer, sizeof token);
	if (token[0] == '\0' || cluster_token_elsewhere(token, tnode,
	    sizeof tnode, &turl))
		return (0);
	/* Only a well-formed ID goes into Redis and a Location. */
	n = strlen(node) + 1;
	if (media_id_parse(id + n, strlen(id + n), bin) != 0) {
		http_error(c, 404, TE_NO_SUCH_MEDIA, "no such media");
		return (1);
	}
	if ((ret = store_txn_begin(srv.store, &txn, 0)) != STORE_OK) {
		http_error(c, 503, TE_UNAVAILABLE, "store error");
		return (1);
	}
	ret = account_token_check(&txn, token, now_ms(), &tok);
	store_txn_abort(&txn);
	if (ret != STORE_OK) {
		http_error(c, 401, TE_NOT_AUTHENTICATED,
		    "bad, expired or revoked token");
		return (1);
	}
	w = xcalloc(1, sizeof *w);
	w->c = c;
	strlcpy(w->node, node, sizeof w->node);
	if (cluster_media_grant(id, grant, grant_written, w) != 0) {
		free(w);
		http_error(c, 503, TE_UNAVAILABLE, "the cluster's Redis is "
		    "unreachable; try again");
		return (1);
	}
	/* hiredis calls grant_written from the loop, never from here. */
	xasprintf(&w->path, "/v1/media/%s?grant=%s", id, grant);
	log_debug("media: grant for %s to %s:%s", id, tok.user, tok.device);
	c->busy = 1;
	conn_ref(c);
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
