/* SPDX-License-Identifier: ISC */
/*
 * http-media.c: the HTTP side of tickd-protocol(7) MEDIA.  POST /v1/media
 * checks the head, then streams the body to a temporary file under
 * media_dir as it arrives (never more of it in memory than one read),
 * hashing it on the way; GET and HEAD serve a file with
 * evbuffer_add_file(); DELETE.  The rules are media.c's.
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include <openssl/evp.h>

#include "tickd.h"

#define MEDIA_DEFAULT_TYPE	"application/octet-stream"
#define MEDIA_IOV		16	/* pieces of input written at once */

/* An upload under way: its temporary file and what it has hashed. */
struct media_upload {
	int		 fd;
	char		*tmp;		/* its path */
	EVP_MD_CTX	*md;
	uint64_t	 size, got;
	char		 user[NAME_USER_MAX + 1];
	char		 type[MEDIA_TYPE_MAX + 1];
};

/* Uploads a user started in the current minute, for media_rate. */
struct media_rate {
	char		user[NAME_USER_MAX + 1];
	uint64_t	start;		/* Unix ms the minute began */
	uint64_t	n;
};

static char			*media_dir;
static struct media_rate	*rates;
static size_t			 nrates, rates_cap;

/* The directory media lives in: media_dir, or data_dir/media. */
const char *
media_http_dir(void)
{
	return (media_dir);
}

/*
 * Creates media_dir and its tmp subdirectory and removes what a crash
 * left in tmp: uploads that never got their 201.
 */
int
media_http_init(char **cause)
{
	DIR		*d;
	struct dirent	*de;
	char		*tmp, *path;

	if (srv.conf.media_dir != NULL)
		media_dir = xstrdup(srv.conf.media_dir);
	else
		xasprintf(&media_dir, "%s/media", srv.conf.data_dir);
	xasprintf(&tmp, "%s/tmp", media_dir);
	if ((mkdir(media_dir, 0700) == -1 && errno != EEXIST) ||
	    (mkdir(tmp, 0700) == -1 && errno != EEXIST) ||
	    (d = opendir(tmp)) == NULL) {
		xasprintf(cause, "media_dir %s: %s", media_dir,
		    strerror(errno));
		free(tmp);
		return (-1);
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		xasprintf(&path, "%s/%s", tmp, de->d_name);
		if (unlink(path) == -1)
			log_warn("media: unlink %s", path);
		else
			log_info("media: removed %s, an upload cut short",
			    path);
		free(path);
	}
	closedir(d);
	free(tmp);
	return (0);
}

/* Frees what media_http_init set up. */
void
media_http_free_all(void)
{
	free(media_dir);
	media_dir = NULL;
	free(rates);
	rates = NULL;
	nrates = rates_cap = 0;
}

/* Counts an upload by user; 0 if it is over media_rate. */
static int
rate_ok(const char *user, uint64_t now)
{
	struct media_rate	*r = NULL;
	size_t			 i;

	if (srv.conf.media_rate == 0)
		return (1);
	for (i = 0; i < nrates; ) {
		if (now - rates[i].start >= 60000 && rates[i].start <= now) {
			rates[i] = rates[--nrates];
			continue;
		}
		if (strcmp(rates[i].user, user) == 0)
			r = &rates[i];
		i++;
	}
	if (r == NULL) {
		if (nrates == rates_cap)
			rates = xgrow(rates, &rates_cap, sizeof *rates, 16);
		r = &rates[nrates++];
		strlcpy(r->user, user, sizeof r->user);
		r->start = now;
		r->n = 0;
	}
	if (r->n >= srv.conf.media_rate)
		return (0);
	r->n++;
	return (1);
}

/* Whether the file system of media_dir has media_min_free left. */
static int
disk_ok(void)
{
	struct statvfs	sv;

	if (statvfs(media_dir, &sv) == -1) {
		log_warn("media: statvfs %s", media_dir);
		return (0);
	}
	return ((uint64_t)sv.f_bavail * sv.f_frsize >= srv.conf.media_min_free);
}

/* Ends an upload's state, removing its temporary file if still there. */
static void
upload_end(struct conn *c)
{
	struct media_upload	*u = c->upload;

	if (u == NULL)
		return;
	if (u->fd != -1) {
		close(u->fd);
		if (unlink(u->tmp) == -1)
			log_warn("media: unlink %s", u->tmp);
	}
	EVP_MD_CTX_free(u->md);
	free(u->tmp);
	free(u);
	c->upload = NULL;
}

/* A connection closed: an upload under way leaves nothing behind. */
void
media_http_free(struct conn *c)
{
	upload_end(c);
}

/* Refuses an upload; its body is never read, so the connection closes. */
static void
upload_refuse(struct conn *c, int status, enum tick_err code,
    const char *text)
{
	upload_end(c);
	c->keepalive = 0;
	http_error(c, status, code, text);
	http_done(c);
}

/* The bearer of req in a read transaction: 0, or -1 after answering 401. */
static int
bearer_user(struct conn *c, const char *token, struct token_rec *tok)
{
	struct txn	txn;
	int		ret;

	if (token[0] == '\0') {
		http_error(c, 401, TE_NOT_AUTHENTICATED,
		    "need Authorization: Bearer TOKEN");
		return (-1);
	}
	if ((ret = store_txn_begin(srv.store, &txn, 0)) != STORE_OK) {
		http_error(c, 503, TE_UNAVAILABLE, "store error");
		return (-1);
	}
	ret = account_token_check(&txn, token, now_ms(), tok);
	store_txn_abort(&txn);
	if (ret != STORE_OK) {
		http_error(c, 401, TE_NOT_AUTHENTICATED,
		    "bad, expired or revoked token");
		return (-1);
	}
	return (0);
}

/*
 * POST /v1/media: the checks of tickd-protocol(7) MEDIA rule 8 on the
 * head, then 100 Continue if asked and the body streams to a temporary
 * file.  Returns after answering or with c->upload set.
 */
static void
upload_begin(struct conn *c, struct http_req *req)
{
	struct media_upload	*u;
	struct token_rec	 tok;
	struct txn		 txn;
	struct timeval		 tv;
	enum tick_err		 err;
	const char		*type;
	int			 ret, keepalive;

	/* A refused upload's body is never read: its connection closes. */
	keepalive = c->keepalive;
	c->keepalive = 0;
	/* A token of another node: its home (tickd-cluster(7)). */
	if (http_bearer_elsewhere(c, req->bearer, "/v1/media") ||
	    bearer_user(c, req->bearer, &tok) != 0) {
		http_done(c);
		return;
	}
	if (!req->has_length || req->content_length == 0) {
		upload_refuse(c, 400, TE_BAD_REQUEST, "an upload needs a "
		    "Content-Length above 0");
		return;
	}
	type = req->content_type != NULL ? req->content_type :
	    MEDIA_DEFAULT_TYPE;
	if (!media_type_ok(type)) {
		upload_refuse(c, 400, TE_BAD_REQUEST, "Content-Type must be "
		    "type/subtype[;params], at most 255 bytes");
		return;
	}
	if (req->content_length > srv.conf.max_media_bytes) {
		upload_refuse(c, 413, TE_TOO_LARGE, "upload exceeds "
		    "max_media_bytes");
		return;
	}
	if (!rate_ok(tok.user, now_ms())) {
		srv.stats.rate_limited++;
		upload_refuse(c, 429, TE_RATE_LIMITED, "media_rate exceeded");
		return;
	}
	if (!disk_ok()) {
		upload_refuse(c, 503, TE_UNAVAILABLE, "media_dir has less than "
		    "media_min_free free");
		return;
	}
	if ((ret = store_txn_begin(srv.store, &txn, 0)) != STORE_OK) {
		upload_refuse(c, 503, TE_UNAVAILABLE, "store error");
		return;
	}
	ret = media_quota_check(&txn, &srv.conf, tok.user,
	    req->content_length, now_ms(), &err);
	store_txn_abort(&txn);
	if (ret != STORE_OK) {
		upload_refuse(c, 503, TE_UNAVAILABLE, "store error");
		return;
	}
	if (err != TE_OK) {
		upload_refuse(c, 403, TE_QUOTA_EXCEEDED, "media_quota "
		    "exceeded");
		return;
	}

	c->keepalive = keepalive;
	u = xcalloc(1, sizeof *u);
	c->upload = u;
	u->size = req->content_length;
	strlcpy(u->user, tok.user, sizeof u->user);
	strlcpy(u->type, type, sizeof u->type);
	xasprintf(&u->tmp, "%s/tmp/upload.XXXXXX", media_dir);
	if ((u->fd = mkstemp(u->tmp)) == -1) {
		log_warn("media: mkstemp %s", u->tmp);
		upload_refuse(c, 503, TE_UNAVAILABLE, "cannot create a file "
		    "in media_dir");
		return;
	}
	if ((u->md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(u->md, EVP_sha256(), NULL) != 1) {
		upload_refuse(c, 500, TE_INTERNAL, "out of memory");
		return;
	}
	if (req->expect_continue)
		conn_write_raw(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
	/* The whole upload within media_timeout, not handshake_timeout. */
	evtimer_del(c->timer);
	tv.tv_sec = (time_t)(srv.conf.media_timeout / 1000);
	tv.tv_usec = (suseconds_t)(srv.conf.media_timeout % 1000) * 1000;
	evtimer_add(c->timer, &tv);
	c->busy = 1;
	log_debug("media: upload of %llu bytes by %s from %s",
	    (unsigned long long)u->size, u->user, c->addr);
}

/* Builds a reply for the deferred output of a durable answer. */
static char *
reply_build(struct conn *c, int status, const char *text, const char *body,
    size_t *len)
{
	char	*out;
	int	 n;

	n = xasprintf(&out, "HTTP/1.1 %d %s\r\nContent-Type: application/json"
	    "\r\nContent-Length: %zu\r\nConnection: %s\r\n\r\n%s", status, text,
	    strlen(body), c->keepalive ? "keep-alive" : "close", body);
	*len = (size_t)n;
	return (out);
}

/* Answers after this turn's commit: ok if it succeeded, else 503. */
static void
reply_durable(struct conn *c, int status, const char *text, const char *body)
{
	char	*ok, *fail;
	size_t	 oklen, faillen;

	ok = reply_build(c, status, text, body, &oklen);
	fail = reply_build(c, 503, "Service Unavailable", "{\"error\":"
	    "\"unavailable\",\"message\":\"store write failed\"}", &faillen);
	batch_defer(c, ok, oklen, fail, faillen);
}

/*
 * Whether a record names the file sha: in txn, or, when txn is NULL (the
 * batch failed and will be rolled back), in what is committed.  When
 * that cannot be read, say yes: a file kept is an orphan for repair, a
 * file lost is media lost.
 */
static int
file_named(struct txn *txn, const uint8_t sha[32])
{
	struct media_file	f;
	struct txn		done;
	int			rc;

	if (txn != NULL)
		return (store_media_file_get(txn, sha, &f) != STORE_NOTFOUND);
	if (store_txn_begin(srv.store, &done, 0) != STORE_OK)
		return (1);
	rc = store_media_file_get(&done, sha, &f);
	store_txn_abort(&done);
	return (rc != STORE_NOTFOUND);
}

/*
 * The whole body is in the temporary file: fsync it, rename it to its
 * hash, then record the ID in this turn's commit; 201 follows that.
 */
static void
upload_finish(struct conn *c)
{
	struct media_upload	*u = c->upload;
	struct txn		*txn;
	enum tick_err		 err;
	json_t			*obj;
	uint8_t			 sha[32], id[MEDIA_ID_BYTES];
	char			 hex[65], ids[MEDIA_ID_LEN + 1], url[128];
	char			 name[CLUSTER_NODE_MAX + 2 + MEDIA_ID_LEN];
	char			 path[4096], *body;
	unsigned int		 mdlen;
	uint64_t		 now = now_ms();
	int			 dfd, ret;

	evtimer_del(c->timer);
	if (EVP_DigestFinal_ex(u->md, sha, &mdlen) != 1 || mdlen != 32) {
		upload_refuse(c, 500, TE_INTERNAL, "cannot hash");
		return;
	}
	if (fsync(u->fd) == -1) {
		log_warn("media: fsync %s", u->tmp);
		upload_refuse(c, 503, TE_UNAVAILABLE, "cannot write to "
		    "media_dir");
		return;
	}
	media_path(media_dir, sha, path, sizeof path);
	if (rename(u->tmp, path) == -1) {
		log_warn("media: rename %s", u->tmp);
		upload_refuse(c, 503, TE_UNAVAILABLE, "cannot write to "
		    "media_dir");
		return;
	}
	close(u->fd);
	u->fd = -1;
	/* The rename is durable once the directory is. */
	if ((dfd = open(media_dir, O_RDONLY | O_DIRECTORY)) == -1 ||
	    fsync(dfd) == -1)
		log_warn("media: fsync %s", media_dir);
	if (dfd != -1)
		close(dfd);

	if ((txn = batch_txn()) == NULL) {
		upload_refuse(c, 503, TE_UNAVAILABLE, "store error");
		return;
	}
	ret = media_commit(txn, &srv.conf, u->user, sha, u->size, u->type,
	    now, id, &err);
	if (ret != STORE_OK || err != TE_OK) {
		/* A file no ID names goes again; one others name stays. */
		if (!file_named(ret == STORE_OK ? txn : NULL, sha) &&
		    unlink(path) == -1)
			log_warn("media: unlink %s", path);
		if (ret != STORE_OK)
			upload_refuse(c, 503, TE_UNAVAILABLE,
			    ret == STORE_FULL ? "store full" : "store error");
		else if (err == TE_QUOTA_EXCEEDED)
			upload_refuse(c, 403, err, "media_quota exceeded");
		else
			upload_refuse(c, 500, err, "cannot draw an ID");
		return;
	}
	media_id_format(id, ids);
	/*
	 * In a cluster, IDs name their node (tickd-cluster(7) Home nodes),
	 * and m:{ID} tells other nodes that it is live (MEDIA).
	 */
	if (cluster_on()) {
		snprintf(name, sizeof name, "%s.%s", srv.conf.node_name, ids);
		cluster_media_live(id, 1);
	} else
		strlcpy(name, ids, sizeof name);
	hex_encode(sha, 32, hex);
	snprintf(url, sizeof url, "/v1/media/%s", name);
	obj = json_pack("{s:s,s:s,s:I,s:s,s:s,s:I}", "media", name, "url", url,
	    "size", (json_int_t)u->size, "type", u->type, "sha256", hex, "ts",
	    (json_int_t)now);
	body = obj != NULL ? json_dumps(obj, JSON_COMPACT) : NULL;
	json_decref(obj);
	srv.stats.media_uploads++;
	log_info("media: %s uploaded %s (%llu bytes, %s) from %s", u->user,
	    name, (unsigned long long)u->size, hex, c->addr);
	upload_end(c);
	c->busy = 0;
	if (body == NULL) {
		http_error(c, 500, TE_INTERNAL, "cannot encode the reply");
		http_done(c);
		return;
	}
	reply_durable(c, 201, "Created", body);
	free(body);
	http_done(c);
}

/*
 * Moves what arrived of an upload's body into its file and hash.  A
 * write that fails (a full disk) removes the file and answers 503.
 */
void
media_http_feed(struct conn *c)
{
	struct media_upload	*u = c->upload;
	struct evbuffer		*in = bufferevent_get_input(conn_bev(c));
	struct evbuffer_iovec	 v[MEDIA_IOV];
	const char		*p;
	size_t			 want, n, done, off;
	ssize_t			 w = 0;
	int			 i, nv;

	while (u->got < u->size && evbuffer_get_length(in) > 0) {
		want = evbuffer_get_length(in);
		if (want > u->size - u->got)
			want = (size_t)(u->size - u->got);
		nv = evbuffer_peek(in, (ev_ssize_t)want, NULL, v, MEDIA_IOV);
		if (nv > MEDIA_IOV)
			nv = MEDIA_IOV;
		for (done = 0, i = 0; i < nv && done < want; i++) {
			p = v[i].iov_base;
			n = v[i].iov_len;
			if (n > want - done)
				n = want - done;
			EVP_DigestUpdate(u->md, p, n);
			for (off = 0; off < n; off += (size_t)w) {
				w = write(u->fd, p + off, n - off);
				if (w == -1 && errno == EINTR) {
					w = 0;
					continue;
				}
				if (w <= 0) {
					log_warn("media: write %s", u->tmp);
					upload_refuse(c, 503, TE_UNAVAILABLE,
					    "cannot write to media_dir "
					    "(disk full?)");
					return;
				}
			}
			done += n;
		}
		evbuffer_drain(in, done);
		u->got += done;
	}
	if (u->got == u->size)
		upload_finish(c);
}

/* Whether an If-None-Match list names etag (quoted) or is "*". */
static int
etag_listed(const char *h, const char *etag)
{
	const char	*p = h;
	size_t		 n, elen = strlen(etag);

	while (*p != '\0') {
		p += strspn(p, " \t,");
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		n = strcspn(p, " \t,");
		if ((n == 1 && *p == '*') || (n == elen &&
		    strncmp(p, etag, n) == 0))
			return (1);
		p += n;
	}
	return (0);
}

/* Writes a head straight to the output, the response to this request. */
static void
head_write(struct conn *c, const char *head)
{
	if (evbuffer_add(bufferevent_get_output(conn_bev(c)), head,
	    strlen(head)) != 0)
		conn_free_later(c);
}

/* What answering a GET or HEAD takes from its request. */
struct mget {
	const char	*id, *range, *if_range, *if_none_match;
	int		 head;
};

/*
 * A GET or HEAD waiting for Redis to say whether its grant is good
 * (tickd-cluster(7), Downloads across nodes), with copies of what it needs
 * of its request, which is gone by then.
 */
struct mwait {
	struct conn	*c;
	struct mget	 m;
	char		*id, *range, *if_range, *if_none_match;
};

static void	serve_id(struct conn *, const struct mget *);

/* A copy of s, or NULL for NULL. */
static char *
dup_or_null(const char *s)
{
	return (s != NULL ? xstrdup(s) : NULL);
}

/* Whether s is a grant's spelling: MEDIA_GRANT_LEN lower-case hex digits. */
static int
grant_valid(const char *s)
{
	size_t	i;

	for (i = 0; s[i] != '\0'; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return (0);
	}
	return (i == MEDIA_GRANT_LEN);
}

/* Redis answered about the grant of w: the file, 401 or 503. */
static void
grant_read(void *arg, int st)
{
	struct mwait	*w = arg;
	struct conn	*c = w->c;

	if (!c->dead) {
		if (st == CLUSTER_FOUND)
			serve_id(c, &w->m);
		else if (st == CLUSTER_NONE)
			http_error(c, 401, TE_NOT_AUTHENTICATED,
			    "bad or expired grant; ask your home node again");
		else
			http_error(c, 503, TE_UNAVAILABLE, "the cluster's "
			    "Redis is unreachable; try again");
		http_resume(c);
	}
	conn_unref(c);
	free(w->id);
	free(w->range);
	free(w->if_range);
	free(w->if_none_match);
	free(w);
}

/*
 * A GET or HEAD with ?grant= on the owner of the media: the grant, which
 * the user's home wrote (http_media_grant), is read from Redis, and the
 * answer waits for it with c busy.  It stands for the token, so a bearer
 * header that came along, of another node, is not looked at.
 */
static void
serve_grant(struct conn *c, const struct mget *m, const char *grant)
{
	struct mwait	*w;

	if (!grant_valid(grant)) {
		http_error(c, 401, TE_NOT_AUTHENTICATED, "bad grant");
		return;
	}
	if (strlen(m->id) > MEDIA_NAME_MAX) {
		http_error(c, 404, TE_NO_SUCH_MEDIA, "no such media");
		return;
	}
	w = xcalloc(1, sizeof *w);
	w->c = c;
	w->m.id = w->id = xstrdup(m->id);
	w->m.range = w->range = dup_or_null(m->range);
	w->m.if_range = w->if_range = dup_or_null(m->if_range);
	w->m.if_none_match = w->if_none_match = dup_or_null(m->if_none_match);
	w->m.head = m->head;
	if (cluster_media_grant_check(grant, m->id, grant_read, w) != 0) {
		free(w->id);
		free(w->range);
		free(w->if_range);
		free(w->if_none_match);
		free(w);
		http_error(c, 503, TE_UNAVAILABLE, "the cluster's Redis is "
		    "unreachable; try again");
		return;
	}
	c->busy = 1;
	conn_ref(c);
}

/*
 * GET or HEAD /v1/media/ID: who may have it.  In a cluster, an ID of
 * another node goes there, with a grant when the token is this node's;
 * a grant on the owner stands for a token (tickd-cluster(7), Downloads
 * across nodes).
 */
static void
serve(struct conn *c, struct http_req *req, const char *idstr, int head)
{
	struct token_rec	 tok;
	struct mget		 m = { idstr, req->range, req->if_range,
				    req->if_none_match, head };
	char			 token[TOKEN_MAX + 1];
	char			 grant[MEDIA_GRANT_LEN + 2];

	/* Before the token check: the token may be of another node. */
	if (http_media_grant(c, req, idstr) ||
	    http_media_elsewhere(c, req, idstr))
		return;
	if (cluster_on()) {
		if (http_query_param(req->query, "grant=", grant,
		    sizeof grant) != 0) {
			http_error(c, 401, TE_NOT_AUTHENTICATED, "bad grant");
			return;
		}
		if (grant[0] != '\0') {
			serve_grant(c, &m, grant);
			return;
		}
	}
	if (http_query_param(req->query, "token=", token, sizeof token) != 0)
		token[0] = '\0';
	if (req->bearer[0] != '\0')
		strlcpy(token, req->bearer, sizeof token);
	if (bearer_user(c, token, &tok) != 0)
		return;
	serve_id(c, &m);
}

/*
 * The file of an ID of this node with every header of tickd-protocol(7)
 * MEDIA rule 6, ranges of rule 7, to a client who may have it.  The body
 * goes with evbuffer_add_file(), which sends it with sendfile(2) on plain
 * TCP.
 */
static void
serve_id(struct conn *c, const struct mget *m)
{
	struct media_rec	 r;
	struct txn		 txn;
	struct stat		 st;
	uint8_t			 id[MEDIA_ID_BYTES];
	char			 etag[67], hex[65];
	char			 path[4096], *h, crange[96], lenline[64];
	const char		*idstr = m->id;
	uint64_t		 off = 0, len;
	int			 fd, ret, rg, status, head = m->head;

	if ((ret = store_txn_begin(srv.store, &txn, 0)) != STORE_OK) {
		http_error(c, 503, TE_UNAVAILABLE, "store error");
		return;
	}
	ret = media_lookup(&txn, &srv.conf, idstr, strlen(idstr), now_ms(),
	    id, &r);
	store_txn_abort(&txn);
	if (ret != STORE_OK) {
		http_error(c, ret == STORE_NOTFOUND ? 404 : 503, ret ==
		    STORE_NOTFOUND ? TE_NO_SUCH_MEDIA : TE_UNAVAILABLE,
		    ret == STORE_NOTFOUND ? "no such media" : "store error");
		return;
	}
	media_path(media_dir, r.sha256, path, sizeof path);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1 || (uint64_t)st.st_size != r.size) {
		log_warnx("media: %s of %s missing or damaged (tickctl "
		    "verify)", path, idstr);
		if (fd != -1)
			close(fd);
		http_error(c, 404, TE_NO_SUCH_MEDIA, "no such media");
		return;
	}
	hex_encode(r.sha256, 32, hex);
	snprintf(etag, sizeof etag, "\"%s\"", hex);
	len = r.size;
	status = 200;
	crange[0] = '\0';
	if (m->if_none_match != NULL && etag_listed(m->if_none_match,
	    etag))
		status = 304;
	else if (m->range != NULL && (m->if_range == NULL ||
	    strcmp(m->if_range, etag) == 0)) {
		rg = media_range_parse(m->range, r.size, &off, &len);
		if (rg == RANGE_BAD) {
			close(fd);
			snprintf(crange, sizeof crange, "bytes */%llu",
			    (unsigned long long)r.size);
			xasprintf(&h, "HTTP/1.1 416 Range Not Satisfiable\r\n"
			    "Content-Type: application/json\r\n"
			    "Content-Range: %s\r\nContent-Length: %zu\r\n"
			    "Connection: %s\r\n\r\n%s", crange,
			    strlen("{\"error\":\"bad_range\",\"message\":"
			    "\"range beyond the end\"}"), c->keepalive ?
			    "keep-alive" : "close", head ? "" :
			    "{\"error\":\"bad_range\",\"message\":"
			    "\"range beyond the end\"}");
			head_write(c, h);
			free(h);
			return;
		}
		if (rg == RANGE_ONE) {
			status = 206;
			snprintf(crange, sizeof crange, "bytes %llu-%llu/%llu",
			    (unsigned long long)off,
			    (unsigned long long)(off + len - 1),
			    (unsigned long long)r.size);
		}
	}
	lenline[0] = '\0';
	if (status != 304)
		snprintf(lenline, sizeof lenline, "Content-Length: %llu\r\n",
		    (unsigned long long)len);
	xasprintf(&h, "HTTP/1.1 %s\r\nContent-Type: %s\r\n%s"
	    "ETag: %s\r\nCache-Control: private, max-age=31536000, immutable"
	    "\r\nAccept-Ranges: bytes\r\nX-Content-Type-Options: nosniff\r\n"
	    "Content-Security-Policy: default-src 'none'; sandbox\r\n"
	    "%s%s%sConnection: %s\r\n\r\n",
	    status == 200 ? "200 OK" : status == 206 ? "206 Partial Content" :
	    "304 Not Modified", r.type, lenline, etag,
	    crange[0] != '\0' ? "Content-Range: " : "", crange,
	    crange[0] != '\0' ? "\r\n" : "",
	    c->keepalive ? "keep-alive" : "close");
	head_write(c, h);
	free(h);
	if (head || status == 304 || len == 0) {
		close(fd);
		return;
	}
	if (evbuffer_add_file(bufferevent_get_output(conn_bev(c)), fd,
	    (ev_off_t)off, (ev_off_t)len) != 0) {
		log_warnx("media: cannot send %s to %s", path, c->addr);
		close(fd);
		conn_free_later(c);
	}
}

/* DELETE /v1/media/ID by its uploader: 204 after the commit. */
static void
del(struct conn *c, struct http_req *req, const char *idstr)
{
	struct token_rec	 tok;
	struct txn		*txn;
	uint8_t			 id[MEDIA_ID_BYTES];
	char			*h;
	int			 ret;

	if (http_media_elsewhere(c, req, idstr))
		return;
	if (req->bearer[0] == '\0') {
		http_error(c, 401, TE_NOT_AUTHENTICATED,
		    "need Authorization: Bearer TOKEN");
		return;
	}
	if ((txn = batch_txn()) == NULL) {
		http_error(c, 503, TE_UNAVAILABLE, "store error");
		return;
	}
	if (account_token_check(txn, req->bearer, now_ms(), &tok) !=
	    STORE_OK) {
		http_error(c, 401, TE_NOT_AUTHENTICATED,
		    "bad, expired or revoked token");
		return;
	}
	ret = media_delete(txn, &srv.conf, tok.user, idstr, strlen(idstr),
	    now_ms());
	if (ret == STORE_NOTFOUND) {
		http_error(c, 404, TE_NO_SUCH_MEDIA, "no such media");
		return;
	}
	if (ret != STORE_OK) {
		http_error(c, 503, TE_UNAVAILABLE, "store error");
		return;
	}
	log_info("media: %s deleted %s", tok.user, idstr);
	if (cluster_on() && media_id_read(srv.conf.node_name, idstr,
	    strlen(idstr), id) == 0)
		cluster_media_live(id, 0);
	xasprintf(&h, "HTTP/1.1 204 No Content\r\nConnection: %s\r\n\r\n",
	    c->keepalive ? "keep-alive" : "close");
	batch_defer(c, h, strlen(h), NULL, 0);
}

/*
 * The routes of /v1/media, taken before http.c reads a body: MEDIA_NOT
 * for any other path, MEDIA_LATER while earlier answers on c wait for a
 * commit (a file must not overtake them), else MEDIA_TAKEN; an upload
 * leaves c->upload set and its body in the input.
 */
int
media_http_route(struct conn *c, struct http_req *req)
{
	const char	*id;

	if (strcmp(req->path, "/v1/media") == 0) {
		c->keepalive = !req->http10 && !req->conn_close;
		if (strcmp(req->method, "POST") != 0) {
			c->keepalive = 0;
			http_error(c, 405, TE_BAD_REQUEST,
			    "method not allowed");
			http_done(c);
			return (MEDIA_TAKEN);
		}
		upload_begin(c, req);
		return (MEDIA_TAKEN);
	}
	if (strncmp(req->path, "/v1/media/", 10) != 0)
		return (MEDIA_NOT);
	if (c->ndeferred > 0)
		return (MEDIA_LATER);
	id = req->path + 10;
	c->keepalive = !req->http10 && !req->conn_close;
	/* Only a GET's or HEAD's body would be unread: none is expected. */
	if (req->content_length > 0)
		c->keepalive = 0;
	if (strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") ==
	    0)
		serve(c, req, id, req->method[0] == 'H');
	else if (strcmp(req->method, "DELETE") == 0)
		del(c, req, id);
	else
		http_error(c, 405, TE_BAD_REQUEST, "method not allowed");
	/*
	 * A GET waiting for Redis (a grant) ends in http_resume(); the idle
	 * timer is off meanwhile, as for the routes of http.c, and Redis's
	 * watchdog (cluster_redis_timeout) bounds the wait instead.
	 */
	if (c->busy)
		evtimer_del(c->timer);
	else
		http_done(c);
	return (MEDIA_TAKEN);
}

/* Counts the media files and bytes for /metrics and tickctl stats. */
void
media_http_totals(uint64_t *files, uint64_t *bytes)
{
	struct txn	txn;

	*files = *bytes = 0;
	if (store_txn_begin(srv.store, &txn, 0) != STORE_OK)
		return;
	store_media_totals(&txn, files, bytes);
	store_txn_abort(&txn);
}

/* media_sweep's callback: an expired ID's m:{ID} goes. */
static void
sweep_gone(void *arg, const uint8_t *id)
{
	(void)arg;
	cluster_media_live(id, 0);
}

/*
 * The sweep's part for media: expired IDs go in this turn's batch, and
 * the files the committed store no longer names are unlinked.
 */
void
media_http_sweep(struct txn *batch)
{
	struct txn	done;
	uint64_t	expired = 0, unlinked = 0;

	if (media_sweep(batch, &srv.conf, now_ms(), &expired, sweep_gone,
	    NULL) != STORE_OK)
		return;
	srv.stats.media_expired += expired;
	if (store_txn_begin(srv.store, &done, 0) != STORE_OK)
		return;
	media_unlink(&done, batch, media_dir, &unlinked);
	store_txn_abort(&done);
	if (expired != 0 || unlinked != 0)
		log_debug("media: %llu IDs expired, %llu files removed",
		    (unsigned long long)expired, (unsigned long long)unlinked);
}
