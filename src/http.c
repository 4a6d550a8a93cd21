/* SPDX-License-Identifier: ISC */
/*
 * http.c: the HTTP/1.1 side of the listening port: register, login,
 * logout, health and metrics, and the WebSocket upgrade.
 *
 * Requests are small JSON documents, so the parser is deliberately narrow:
 * a request head and an optional Content-Length body, both within
 * max_request_bytes, one request at a time per connection (keep-alive and
 * pipelining are honoured in order).  Chunked bodies are refused.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>

#include "tickd.h"

#define WS_GUID		"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define PASSWORD_MAX	1024


/* A request waiting for the kdf thread. */
struct kdf_job {
	struct conn	*c;
	char		*password;	/* login waiting for a lookup */
	char		 user[NAME_USER_MAX + 1];
	char		 device[NAME_DEVICE_MAX + 1];
	int		 has_device;
	int		 known;		/* login: the user exists */
	uint8_t		 salt[KDF_SALT_BYTES];
	uint8_t		 hash[KDF_HASH_BYTES];
};

static void	http_process(struct conn *);
static void	http_read_cb(struct bufferevent *, void *);

/* The reason phrase of an HTTP status code tickd answers with. */
static const char *
status_text(int status)
{
	switch (status) {
	case 101: return ("Switching Protocols");
	case 200: return ("OK");
	case 201: return ("Created");
	case 204: return ("No Content");
	case 307: return ("Temporary Redirect");
	case 400: return ("Bad Request");
	case 401: return ("Unauthorized");
	case 403: return ("Forbidden");
	case 404: return ("Not Found");
	case 405: return ("Method Not Allowed");
	case 409: return ("Conflict");
	case 413: return ("Payload Too Large");
	case 429: return ("Too Many Requests");
	case 500: return ("Internal Server Error");
	case 503: return ("Service Unavailable");
	default: return ("Unknown");
	}
}

/* A whole response as bytes; caller frees. */
static char *
http_build(struct conn *c, int status, const char *ctype, const char *body,
    size_t len, size_t *outlen)
{
	char	*out, *head;
	int	 n;

	if (status == 204)
		n = xasprintf(&head, "HTTP/1.1 204 No Content\r\n"
		    "Connection: %s\r\n\r\n",
		    c->keepalive ? "keep-alive" : "close");
	else
		n = xasprintf(&head, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
		    "Content-Length: %zu\r\nConnection: %s\r\n\r\n", status,
		    status_text(status), ctype, len,
		    c->keepalive ? "keep-alive" : "close");
	out = xmalloc((size_t)n + len);
	memcpy(out, head, (size_t)n);
	if (len != 0)
		memcpy(out + n, body, len);
	free(head);
	*outlen = (size_t)n + len;
	return (out);
}

/* Ends a request: re-arms the idle timer or closes the connection. */
void
http_done(struct conn *c)
{
	struct timeval	tv;

	c->busy = 0;
	if (!c->keepalive) {
		conn_close_after_output(c);
		return;
	}
	tv.tv_sec = (time_t)(srv.conf.handshake_timeout / 1000);
	tv.tv_usec = (suseconds_t)(srv.conf.handshake_timeout % 1000) * 1000;
	evtimer_add(c->timer, &tv);
}

/* Sends one whole response with the given status, type and body. */
static void
http_send(struct conn *c, int status, const char *ctype, const char *body,
    size_t len)
{
	char	*out;
	size_t	 outlen;

	out = http_build(c, status, ctype, body, len, &outlen);
	conn_write_raw(c, out, outlen);
	free(out);
}

/* Sends obj as a JSON response, or a 500 if it cannot be encoded. */
static void
http_send_json(struct conn *c, int status, json_t *obj)
{
	char	*body;

	if ((body = json_dumps(obj, JSON_COMPACT)) == NULL) {
		http_send(c, 500, "application/json", "{\"error\":\"internal\","
		    "\"message\":\"out of memory\"}", 48);
		return;
	}
	http_send(c, status, "application/json", body, strlen(body));
	free(body);
}

/* {"error":code,"message":text} with the given status. */
void
http_error(struct conn *c, int status, enum tick_err code, const char *text)
{
	json_t	*obj;

	obj = json_pack("{s:s,s:s}", "error", err_code(code), "message", text);
	http_send_json(c, status, obj);
	json_decref(obj);
}

/*
 * A reply to a request that wrote to the store: it waits for the commit,
 * and becomes "503 unavailable" if the commit fails.
 */
static void
http_send_durable(struct conn *c, int status, json_t *obj)
{
	char	*body, *ok, *fail;
	size_t	 oklen, faillen;
	json_t	*err;

	if ((body = json_dumps(obj, JSON_COMPACT)) == NULL) {
		http_error(c, 500, TE_INTERNAL, "out of memory");
		return;
	}
	ok = http_build(c, status, "application/json", body,
	    status == 204 ? 0 : strlen(body), &oklen);
	free(body);
	err = json_pack("{s:s,s:s}", "error", "unavailable", "message",
	    srv.store_full ? "store full" : "store write failed");
	body = json_dumps(err, JSON_COMPACT);
	json_decref(err);
	if (body == NULL) {
		free(ok);
		http_error(c, 500, TE_INTERNAL, "out of memory");
		return;
	}
	fail = http_build(c, 503, "application/json", body, strlen(body),
	    &faillen);
	free(body);
	if (conn_must_defer())
		batch_defer(c, ok, oklen, fail, faillen);
	else {
		conn_write_raw(c, ok, oklen);
		free(ok);
		free(fail);
	}
}

/* A 503 for a store failure, saying whether the store is full. */
static void
http_store_error(struct conn *c, int ret)
{
	http_error(c, 503, TE_UNAVAILABLE, ret == STORE_FULL ? "store full" :
	    "store error");
}

/* Parses a JSON object body with string members; -1 after answering. */
static json_t *
http_body_object(struct conn *c, struct http_req *req)
{
	json_t		*obj;
	json_error_t	 jerr;

	obj = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES,
	    &jerr);
	if (obj == NULL || !json_is_object(obj)) {
		json_decref(obj);
		http_error(c, 400, TE_BAD_JSON, "body is not a JSON object");
		return (NULL);
	}
	return (obj);
}

/* A string member within limits, or NULL. */
static const char *
member_string(json_t *obj, const char *name, size_t max)
{
	json_t	*v;

	if ((v = json_object_get(obj, name)) == NULL || !json_is_string(v) ||
	    json_string_length(v) == 0 || json_string_length(v) > max ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return (NULL);
	return (json_string_value(v));
}

/* Answers 429 when login_rate refuses an attempt for user from c. */
static int
login_limited(struct conn *c, const char *user)
{
	if (limit_login(user, c->ip))
		return (0);
	srv.stats.rate_limited++;
	http_error(c, 429, TE_RATE_LIMITED, "too many attempts; try again "
	    "later");
	return (1);
}

/*
 * Creates the account of a registration whose password hash is ready and
 * answers 201 after the commit.
 */
static void
register_commit(struct kdf_job *job)
{
	struct conn	*c = job->c;
	struct txn	*txn;
	enum tick_err	 err = TE_OK;
	json_t		*obj;
	int		 ret;

	if ((txn = batch_txn()) == NULL) {
		http_store_error(c, STORE_ERR);
		return;
	}
	ret = account_register(txn, job->user, job->salt, job->hash,
	    now_ms(), &err);
	if (ret != STORE_OK)
		http_store_error(c, ret);
	else if (err == TE_NAME_TAKEN)
		http_error(c, 409, TE_NAME_TAKEN, "user name is taken");
	else {
		obj = json_pack("{s:s}", "user", job->user);
		http_send_durable(c, 201, obj);
		json_decref(obj);
		log_info("http: registered %s from %s", job->user, c->addr);
		audit_event(AUDIT_REGISTER, job->user, NULL, c->addr, NULL);
	}
}

/* Ends a registration: the next request, and the job freed. */
static void
register_end(struct kdf_job *job)
{
	struct conn	*c = job->c;

	if (!c->dead) {
		http_done(c);
		http_process(c);
	}
	conn_unref(c);
	OPENSSL_cleanse(job, sizeof *job);
	free(job);
}

/*
 * The name's claim in the cluster came back (tickd-cluster(7), Home nodes):
 * this node's, taken by another, or Redis unreachable (503).
 */
static void
register_claimed(void *arg, int status, const char *node)
{
	struct kdf_job	*job = arg;
	struct conn	*c = job->c;

	(void)node;
	if (!c->dead && status == CLUSTER_FOUND)
		register_commit(job);
	else if (!c->dead && status == CLUSTER_NONE)
		http_error(c, 409, TE_NAME_TAKEN, "user name is taken");
	else if (!c->dead)
		http_error(c, 503, TE_UNAVAILABLE, "the cluster's directory "
		    "is unreachable; try again");
	register_end(job);
}

/*
 * The password hash of a registration is ready: in a cluster the name is
 * claimed first; then the account is made.
 */
static void
register_done(void *arg, int ok, const uint8_t hash[KDF_HASH_BYTES])
{
	struct kdf_job	*job = arg;
	struct conn	*c = job->c;

	if (c->dead) {
		register_end(job);
		return;
	}
	if (!ok) {
		http_error(c, 500, TE_INTERNAL, "password hashing failed");
		register_end(job);
		return;
	}
	memcpy(job->hash, hash, sizeof job->hash);
	if (cluster_on()) {
		cluster_claim(job->user, register_claimed, job);
		return;
	}
	register_commit(job);
	register_end(job);
}

/*
 * POST /v1/register: checks the name and password, then hashes the password
 * off the loop.
 */
static void
route_register(struct conn *c, struct http_req *req)
{
	struct kdf_job	*job;
	struct txn	 txn;
	struct user_rec	 rec;
	const char	*user, *password;
	json_t		*obj;
	int		 ret;

	if ((obj = http_body_object(c, req)) == NULL)
		return;
	user = member_string(obj, "user", NAME_USER_MAX);
	password = member_string(obj, "password", PASSWORD_MAX);
	if (user == NULL || password == NULL ||
	    !valid_user(user, strlen(user))) {
		http_error(c, 400, TE_BAD_REQUEST, "need \"user\" (1-64 bytes "
		    "of [a-z0-9._+-]) and \"password\" (1-1024 bytes)");
		goto out;
	}
	if (srv.conf.registration == REG_CLOSED) {
		http_error(c, 403, TE_REGISTRATION_CLOSED,
		    "registration is closed on this server");
		goto out;
	}
	if (login_limited(c, user))
		goto out;
	/* A cheap early answer for a taken name; the insert checks again. */
	if ((ret = store_txn_begin(srv.store, &txn, 0)) != STORE_OK) {
		http_store_error(c, ret);
		goto out;
	}
	ret = store_user_get(&txn, user, &rec);
	store_txn_abort(&txn);
	if (ret == STORE_OK) {
		http_error(c, 409, TE_NAME_TAKEN, "user name is taken");
		goto out;
	}
	job = xcalloc(1, sizeof *job);
	job->c = c;
	strlcpy(job->user, user, sizeof job->user);
	if (RAND_bytes(job->salt, sizeof job->salt) != 1) {
		free(job);
		http_error(c, 500, TE_INTERNAL, "no randomness");
		goto out;
	}
	c->busy = 1;
	conn_ref(c);
	kdf_hash(password, strlen(password), job->salt, register_done, job);
out:
	json_decref(obj);
}

/*
 * The password of a login is checked: claims the device, issues a token and
 * answers it after the commit.
 */
static void
login_done(void *arg, int ok, const uint8_t hash[KDF_HASH_BYTES])
{
	struct kdf_job	*job = arg;
	struct conn	*c = job->c;
	struct txn	*txn;
	struct dev_rec	 dev;
	char		 device[NAME_DEVICE_MAX + 1];
	char		 token[TOKEN_HEXLEN + 1], *full;
	uint64_t	 now = now_ms(), expires;
	json_t		*obj;
	int		 ret, over;

	if (c->dead)
		goto out;
	if (!ok || !job->known ||
	    CRYPTO_memcmp(hash, job->hash, KDF_HASH_BYTES) != 0) {
		log_info("http: failed login for %s from %s", job->user,
		    c->addr);
		metrics_login_failed(ok ? "bad_credentials" : "internal");
		audit_event(AUDIT_LOGIN_FAILED, job->user, job->has_device ?
		    job->device : NULL, c->addr, json_pack("{s:s,s:b}",
		    "reason", ok ? "bad_credentials" : "internal",
		    "user_exists", job->known));
		http_error(c, 401, TE_BAD_CREDENTIALS,
		    "unknown user or wrong password");
		goto done;
	}
	if ((txn = batch_txn()) == NULL) {
		http_store_error(c, STORE_ERR);
		goto done;
	}
	/* The account lost its name to another node's (tickd-cluster(7)). */
	if (cluster_held(txn, job->user)) {
		log_info("http: login %s from %s refused: held for a name "
		    "conflict", job->user, c->addr);
		http_error(c, 409, TE_NAME_TAKEN, "another node's account "
		    "has this name; an operator must decide");
		goto done;
	}
	expires = now + srv.conf.token_ttl;
	ret = account_device_limited(txn, job->user, job->has_device ?
	    job->device : NULL, srv.conf.max_devices_per_user, &over);
	if (ret == STORE_OK && over) {
		http_error(c, 403, TE_TOO_MANY_DEVICES, "the account has "
		    "max_devices_per_user devices already");
		goto done;
	}
	if (ret == STORE_OK)
		ret = account_claim_device(txn, job->user,
		    job->has_device ? job->device : NULL, now, device, &dev);
	if (ret == STORE_OK)
		ret = account_token_issue(txn, job->user, device, dev.qid,
		    expires, token);
	if (ret == STORE_NOTFOUND) {
		audit_event(AUDIT_LOGIN_FAILED, job->user, job->has_device ?
		    job->device : NULL, c->addr, json_pack("{s:s,s:b}",
		    "reason", "bad_credentials", "user_exists", 0));
		http_error(c, 401, TE_BAD_CREDENTIALS,
		    "unknown user or wrong password");
		goto done;
	}
	if (ret != STORE_OK) {
		http_store_error(c, ret);
		goto done;
	}
	/*
	 * Claiming a new name may have renamed the lone "default": readers
	 * of its queue: view look again (tickd-resp(7) COMMANDS).
	 */
	if (strcmp(device, DEVICE_DEFAULT) != 0)
		resp_view_gone(job->user, DEVICE_DEFAULT);
	/* In a cluster, tokens name their home (tickd-cluster(7)). */
	if (cluster_on())
		xasprintf(&full, "%s.%s", srv.conf.node_name, token);
	else
		full = xstrdup(token);
	obj = json_pack("{s:s,s:s,s:s,s:I}", "token", full, "user",
	    job->user, "device", device, "expires", (json_int_t)expires);
	OPENSSL_cleanse(full, strlen(full));
	free(full);
	http_send_durable(c, 200, obj);
	json_decref(obj);
	OPENSSL_cleanse(token, sizeof token);
	log_info("http: login %s:%s from %s", job->user, device, c->addr);
	audit_event(AUDIT_LOGIN, job->user, device, c->addr,
	    json_pack("{s:I}", "token_expires", (json_int_t)expires));
done:
	http_done(c);
	http_process(c);
out:
	conn_unref(c);
	OPENSSL_cleanse(job, sizeof *job);
	free(job);
}

/* Frees a login job that waited for a lookup. */
static void
login_job_free(struct kdf_job *job)
{
	if (job->password != NULL) {
		OPENSSL_cleanse(job->password, strlen(job->password));
		free(job->password);
	}
	OPENSSL_cleanse(job, sizeof *job);
	free(job);
}

/*
 * A login for a name not homed here was looked up in the cluster's
 * directory (tickd-cluster(7), Home nodes): 307 to its home, or, for a name
 * nobody has, the same scrypt run and 401 as on a single node.
 */
static void
login_looked_up(void *arg, int status, const char *node)
{
	static uint8_t	 dummy_salt[KDF_SALT_BYTES];
	struct kdf_job	*job = arg;
	struct conn	*c = job->c;
	char		*password;

	if (c->dead) {
		conn_unref(c);
		login_job_free(job);
		return;
	}
	if (status == CLUSTER_NONE) {
		memcpy(job->salt, dummy_salt, sizeof job->salt);
		password = job->password;
		job->password = NULL;
		kdf_hash(password, strlen(password), job->salt, login_done,
		    job);
		OPENSSL_cleanse(password, strlen(password));
		free(password);
		return;
	}
	if (status == CLUSTER_FOUND && strcmp(node, srv.conf.node_name) != 0)
		http_wrong_node(c, node, cluster_node_url(node), "/v1/login");
	else
		http_error(c, 503, TE_UNAVAILABLE, "the cluster's directory "
		    "is unreachable; try again");
	http_done(c);
	http_process(c);
	conn_unref(c);
	login_job_free(job);
}

/*
 * POST /v1/login: hashes the password given off the loop, against a dummy salt
 * for an unknown user.  In a cluster, a user homed elsewhere is redirected
 * there.
 */
static void
route_login(struct conn *c, struct http_req *req)
{
	static uint8_t	 dummy_salt[KDF_SALT_BYTES];
	struct kdf_job	*job;
	struct txn	 txn;
	struct user_rec	 rec;
	const char	*user, *password, *device = NULL;
	char		 node[CLUSTER_NODE_MAX + 1];
	json_t		*obj;
	int		 ret, where = CLUSTER_LOCAL;

	if ((obj = http_body_object(c, req)) == NULL)
		return;
	user = member_string(obj, "user", NAME_USER_MAX);
	password = member_string(obj, "password", PASSWORD_MAX);
	if (json_object_get(obj, "device") != NULL &&
	    ((device = member_string(obj, "device", NAME_DEVICE_MAX)) == NULL ||
	    !valid_device(device, strlen(device)))) {
		http_error(c, 400, TE_BAD_REQUEST, "\"device\" must be 1-32 "
		    "bytes of [a-z0-9._-]");
		goto out;
	}
	if (user == NULL || password == NULL ||
	    !valid_user(user, strlen(user))) {
		http_error(c, 400, TE_BAD_REQUEST, "need \"user\" and "
		    "\"password\"");
		goto out;
	}
	if (login_limited(c, user)) {
		metrics_login_failed("rate_limited");
		goto out;
	}
	if ((ret = store_txn_begin(srv.store, &txn, 0)) != STORE_OK) {
		http_store_error(c, ret);
		goto out;
	}
	ret = store_user_get(&txn, user, &rec);
	if (ret == STORE_NOTFOUND && cluster_on())
		where = cluster_where(&txn, user, node);
	store_txn_abort(&txn);
	if (where == CLUSTER_FOUND) {
		http_wrong_node(c, node, cluster_node_url(node), "/v1/login");
		goto out;
	}
	job = xcalloc(1, sizeof *job);
	job->c = c;
	strlcpy(job->user, user, sizeof job->user);
	if (device != NULL) {
		job->has_device = 1;
		strlcpy(job->device, device, sizeof job->device);
	}
	c->busy = 1;
	conn_ref(c);
	if (where != CLUSTER_LOCAL) {
		job->password = xstrdup(password);
		cluster_lookup(user, login_looked_up, job);
		goto out;
	}
	/*
	 * An unknown user costs the same scrypt run as a known one, so the
	 * answer's timing does not tell which names exist.
	 */
	if (ret == STORE_OK) {
		job->known = 1;
		memcpy(job->salt, rec.salt, sizeof job->salt);
		memcpy(job->hash, rec.hash, sizeof job->hash);
	} else {
		memcpy(job->salt, dummy_salt, sizeof job->salt);
		account_kdf_default(&rec);
	}
	/* With the KDF and cost the hash was made with. */
	kdf_hash_as(password, strlen(password), job->salt, &rec, login_done,
	    job);
	OPENSSL_cleanse(&rec, sizeof rec);
out:
	json_decref(obj);
}

/*
 * POST /v1/logout: removes the bearer's device and token, closes its
 * connection and answers 204 after the commit.
 */
static void
route_logout(struct conn *c, struct http_req *req)
{
	struct token_rec tok;
	struct txn	*txn;
	struct conn	*dc;
	int		 ret;
	json_t		*obj;

	if (req->bearer[0] == '\0') {
		http_error(c, 401, TE_NOT_AUTHENTICATED,
		    "need Authorization: Bearer TOKEN");
		return;
	}
	if (http_bearer_elsewhere(c, req->bearer, "/v1/logout"))
		return;
	if ((txn = batch_txn()) == NULL) {
		http_store_error(c, STORE_ERR);
		return;
	}
	ret = account_token_check(txn, req->bearer, now_ms(), &tok);
	if (ret == STORE_NOTFOUND) {
		http_error(c, 401, TE_NOT_AUTHENTICATED,
		    "bad, expired or revoked token");
		return;
	}
	if (ret == STORE_OK)
		ret = account_remove_device(txn, &srv.midgen, tok.user,
		    tok.device, now_ms());
	if (ret == STORE_OK)
		ret = account_token_revoke(txn, req->bearer);
	if (ret != STORE_OK && ret != STORE_NOTFOUND) {
		http_store_error(c, ret);
		return;
	}
	/* Its queue: view went with it (tickd-resp(7) COMMANDS). */
	resp_view_gone(tok.user, tok.device);
	if ((dc = device_conn(tok.user, tok.device)) != NULL)
		ws_close(dc, 1008, "logged out");
	obj = json_object();
	http_send_durable(c, 204, obj);
	json_decref(obj);
	log_info("http: logout %s:%s from %s", tok.user, tok.device, c->addr);
	audit_event(AUDIT_LOGOUT, tok.user, tok.device, c->addr, NULL);
	audit_event(AUDIT_TOKEN_REVOKED, tok.user, tok.device, c->addr,
	    json_pack("{s:s}", "by", "user"));
	audit_event(AUDIT_DEVICE_REMOVED, tok.user, tok.device, c->addr,
	    json_pack("{s:s}", "by", "user"));
}

/* Answers a last-seen question about a user homed on another node. */
static void
last_seen_answer(struct conn *c, int status, json_t *obj)
{
	if (status == CLUSTER_FOUND)
		http_send_json(c, 200, obj);
	else if (status == CLUSTER_NONE)
		http_error(c, 404, TE_NO_SUCH_USER, "no such user");
	else
		http_error(c, 503, TE_UNAVAILABLE, "the cluster's directory "
		    "is unreachable; try again");
}

/*
 * The answer from the mirror (tickd-cluster(7), Presence across nodes) to a
 * last-seen question that had to wait for Redis.
 */
static void
last_seen_remote(void *arg, int status, json_t *obj)
{
	struct conn	*c = arg;

	if (c->dead) {
		conn_unref(c);
		return;
	}
	last_seen_answer(c, status, obj);
	http_done(c);
	http_process(c);
	conn_unref(c);
}

/* GET /v1/users/NAME/last-seen, for a bearer of any valid token. */
static void
route_last_seen(struct conn *c, struct http_req *req)
{
	struct token_rec tok;
	struct user_rec	 rec;
	struct txn	 txn;
	const char	*name = req->path + strlen("/v1/users/");
	char		 user[NAME_USER_MAX + 1];
	size_t		 len = strcspn(name, "/");
	json_t		*obj = NULL;
	int		 ret;

	if (!valid_user(name, len)) {
		http_error(c, 400, TE_BAD_REQUEST, "bad user name");
		return;
	}
	memcpy(user, name, len);
	user[len] = '\0';
	/* Answered by the bearer's home (tickd-cluster(7), Home nodes). */
	if (req->bearer[0] != '\0' &&
	    http_bearer_elsewhere(c, req->bearer, req->path))
		return;
	if ((ret = store_txn_begin(srv.store, &txn, 0)) != STORE_OK) {
		http_store_error(c, ret);
		return;
	}
	if (req->bearer[0] == '\0' ||
	    account_token_check(&txn, req->bearer, now_ms(), &tok) != STORE_OK)
		http_error(c, 401, TE_NOT_AUTHENTICATED,
		    "need Authorization: Bearer TOKEN");
	else if ((ret = store_user_get(&txn, user, &rec)) == STORE_NOTFOUND &&
	    cluster_on()) {
		/* Homed elsewhere, perhaps: asked of the mirror. */
		ret = cluster_presence_get(tok.user, user, last_seen_remote, c,
		    &obj);
		if (ret == -1) {
			c->busy = 1;
			conn_ref(c);
		} else if (ret != CLUSTER_FOUND)
			last_seen_answer(c, ret, NULL);
	} else if (ret != STORE_OK)
		http_error(c, 404, TE_NO_SUCH_USER, "no such user");
	else
		obj = presence_view(&txn, tok.user, user);
	store_txn_abort(&txn);
	if (obj != NULL) {
		http_send_json(c, 200, obj);
		json_decref(obj);
	}
}

/*
 * GET /healthz: 503 while writes fail, the store being full or its last
 * commit having failed (a full disk, say), or while the data file system
 * has less than min_free_space left (tickd.conf(5)); NULL when healthy.
 */
static const char *
healthz_problem(void)
{
	struct statvfs	sv;

	if (srv.store_full)
		return ("store full");
	if (srv.commit_failed)
		return ("store write failed");
	if (srv.conf.min_free_space != 0 &&
	    statvfs(srv.conf.data_dir, &sv) == 0 &&
	    (uint64_t)sv.f_bavail * sv.f_frsize < srv.conf.min_free_space)
		return ("data file system nearly full");
	return (NULL);
}

/*
 * The JSON of GET /healthz?verbose (tickd(8), Health and metrics): the
 * answer, store fill, audit log state and the last commit's latency.
 */
static json_t *
healthz_verbose(const char *problem)
{
	struct audit_stats	as;
	uint64_t		used = 0, map = 0;

	store_usage(srv.store, &used, &map);
	audit_stats(&as);
	return (json_pack("{s:s,s:s?,s:s,s:I,s:I,s:f,s:b,s:s,s:I,s:b,s:f}",
	    "status", problem == NULL ? "ok" : "unavailable",
	    "message", problem,
	    "version", PACKAGE_VERSION,
	    "store_used_bytes", (json_int_t)used,
	    "store_map_bytes", (json_int_t)map,
	    "store_fill", map != 0 ? (double)used / (double)map : 0.0,
	    "store_full", srv.store_full,
	    "audit", !as.enabled ? "off" : as.connected ?
	    "connected" : "disconnected",
	    "audit_spool_events", (json_int_t)as.spool,
	    "audit_spool_full", as.full,
	    "last_commit_seconds", srv.stats.commit_last));
}

/*
 * GET and HEAD /healthz: 200 "ok" or 503 with the reason; ?verbose
 * answers JSON.  HEAD sends the head GET would, without its body.
 */
static void
route_healthz(struct conn *c, struct http_req *req)
{
	const char	*problem = healthz_problem();
	const char	*ctype = "application/json";
	char		*body, *out;
	size_t		 len, outlen;
	json_t		*obj;

	if (req->query != NULL && (strcmp(req->query, "verbose") == 0 ||
	    strncmp(req->query, "verbose=", 8) == 0))
		obj = healthz_verbose(problem);
	else if (problem != NULL)
		obj = json_pack("{s:s,s:s}", "error", err_code(TE_UNAVAILABLE),
		    "message", problem);
	else
		obj = NULL;
	if (obj == NULL) {
		body = xstrdup("ok\n");
		ctype = "text/plain";
	} else if ((body = json_dumps(obj, JSON_COMPACT)) == NULL) {
		json_decref(obj);
		http_error(c, 500, TE_INTERNAL, "out of memory");
		return;
	}
	json_decref(obj);
	len = strlen(body);
	out = http_build(c, problem == NULL ? 200 : 503, ctype, body, len,
	    &outlen);
	if (strcmp(req->method, "HEAD") == 0)
		outlen -= len;
	conn_write_raw(c, out, outlen);
	free(out);
	free(body);
}

/* Whether an address (as in conn's ip) is on loopback: 127/8 or ::1. */
static int
ip_loopback(const char *ip)
{
	struct in_addr	a4;
	struct in6_addr	a6;

	if (inet_pton(AF_INET, ip, &a4) == 1)
		return ((ntohl(a4.s_addr) >> 24) == 127);
	if (inet_pton(AF_INET6, ip, &a6) == 1)
		return (IN6_IS_ADDR_LOOPBACK(&a6) ||
		    (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127));
	return (0);
}

/*
 * GET /metrics: the Prometheus text of metrics.c.  With metrics_listen
 * set it is served there only; otherwise only to clients on loopback,
 * their address taken after trusted_proxies (tickd.conf(5) Metrics).
 */
static void
route_metrics(struct conn *c, struct http_req *req)
{
	char	*text;
	size_t	 len;

	(void)req;
	if (srv.conf.metrics_listen != NULL && !c->metrics_only) {
		http_error(c, 404, TE_BAD_REQUEST, "no such endpoint");
		return;
	}
	if (srv.conf.metrics_listen == NULL && !ip_loopback(c->ip)) {
		http_error(c, 403, TE_FORBIDDEN, "metrics are served to "
		    "loopback only; see metrics_listen in tickd.conf(5)");
		return;
	}
	text = metrics_render(&len);
	http_send(c, 200, "text/plain; version=0.0.4", text, len);
	free(text);
}

/*
 * GET /v1/info (tickd-protocol(7) VERSION 2): what a client may rely on,
 * without authentication.  push is true when push_allow_hosts is set
 * (tickd-protocol(7) PUSH NOTIFICATIONS).
 */
static void
route_info(struct conn *c, struct http_req *req)
{
	json_t	*obj;

	(void)req;
	obj = json_pack("{s:i,s:I,s:I,s:I,s:b}", "protocol", 2,
	    "max_message_bytes", (json_int_t)srv.conf.max_message_bytes,
	    "max_media_bytes", (json_int_t)srv.conf.max_media_bytes,
	    "max_group_members", (json_int_t)srv.conf.max_group_members,
	    "push", push_enabled(&srv.conf));
	http_send_json(c, 200, obj);
	json_decref(obj);
}

/*
 * The query parameter name (with its "="), if any, copied into buf; an
 * empty buf if there is none, -1 if it does not fit.
 */
int
http_query_param(const char *query, const char *name, char *buf,
    size_t size)
{
	const char	*p = query;
	size_t		 n, k = strlen(name);

	while (p != NULL && *p != '\0') {
		n = strcspn(p, "&");
		if (n >= k && strncmp(p, name, k) == 0) {
			if (n - k >= size)
				return (-1);
			memcpy(buf, p + k, n - k);
			buf[n - k] = '\0';
			return (0);
		}
		p += n;
		if (*p == '&')
			p++;
	}
	buf[0] = '\0';
	return (0);
}

/*
 * GET /v1/ws: the WebSocket handshake of RFC 6455, then the connection speaks
 * tickd-protocol(7).
 */
static void
route_ws(struct conn *c, struct http_req *req)
{
	unsigned char	 digest[SHA_DIGEST_LENGTH];
	char		 accept[64], token[TOKEN_MAX + 1];
	char		*key, *resp;

	if (!req->upgrade_ws || !req->conn_upgrade || req->ws_key == NULL ||
	    req->ws_version == NULL || strcmp(req->ws_version, "13") != 0) {
		http_error(c, 400, TE_BAD_REQUEST, "expected a WebSocket "
		    "upgrade (RFC 6455, version 13)");
		return;
	}
	if (http_query_param(req->query, "token=", token, sizeof token) != 0) {
		http_error(c, 400, TE_BAD_REQUEST, "token too long");
		return;
	}
	if (req->bearer[0] != '\0')
		strlcpy(token, req->bearer, sizeof token);
	xasprintf(&key, "%s%s", req->ws_key, WS_GUID);
	SHA1((unsigned char *)key, strlen(key), digest);
	free(key);
	EVP_EncodeBlock((unsigned char *)accept, digest, sizeof digest);
	xasprintf(&resp, "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: %s\r\n%s\r\n", accept,
	    req->ws_tick_v2 ? "Sec-WebSocket-Protocol: tick.v2\r\n" :
	    req->ws_tick_v1 ? "Sec-WebSocket-Protocol: tick.v1\r\n" : "");
	conn_write_raw(c, resp, strlen(resp));
	free(resp);
	evtimer_del(c->timer);
	c->is_ws = 1;
	c->keepalive = 0;
	ws_upgraded(c, token[0] != '\0' ? token : NULL);
}

static const struct route {
	const char	*method;
	const char	*path;
	void		(*fn)(struct conn *, struct http_req *);
} routes[] = {
	{ "GET",	"/v1/ws",	route_ws },
	{ "POST",	"/v1/register",	route_register },
	{ "POST",	"/v1/login",	route_login },
	{ "POST",	"/v1/logout",	route_logout },
	{ "GET",	"/v1/users/*/last-seen", route_last_seen },
	{ "GET",	"/healthz",	route_healthz },
	{ "HEAD",	"/healthz",	route_healthz },
	{ "GET",	"/metrics",	route_metrics },
	{ "GET",	"/v1/info",	route_info },
};

/* Whether path matches pattern, where "*" stands for one path segment. */
static int
path_match(const char *pattern, const char *path)
{
	while (*pattern != '\0') {
		if (*pattern == '*') {
			if (*path == '/' || *path == '\0')
				return (0);
			path += strcspn(path, "/");
			pattern++;
			continue;
		}
		if (*pattern++ != *path++)
			return (0);
	}
	return (*path == '\0');
}

/* Runs the route of a request's path and method; 404 or 405 otherwise. */
static void
http_route(struct conn *c, struct http_req *req)
{
	const struct route	*r;
	int			 path_found = 0;
	size_t			 i;

	if (c->metrics_only && strcmp(req->path, "/metrics") != 0 &&
	    strcmp(req->path, "/healthz") != 0) {
		http_error(c, 404, TE_BAD_REQUEST, "no such endpoint: this is "
		    "metrics_listen");
		return;
	}
	for (i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		r = &routes[i];
		if (!path_match(r->path, req->path))
			continue;
		path_found = 1;
		if (strcmp(r->method, req->method) == 0) {
			r->fn(c, req);
			return;
		}
	}
	if (!path_found && web_handles(req->path))
		web_serve(c, req);
	else if (path_found)
		http_error(c, 405, TE_BAD_REQUEST, "method not allowed");
	else
		http_error(c, 404, TE_BAD_REQUEST, "no such endpoint");
}

/*
 * Answers are not being read: stop reading requests until the output has
 * left, so that unsent answers stay within max_output_bytes, and close the
 * connection if none of it leaves for handshake_timeout (tickd.conf(5)).
 */
static void
http_stall(struct conn *c)
{
	struct timeval	tv;

	if (c->out_stalled)
		return;
	c->out_stalled = 1;
	c->stall_len = evbuffer_get_length(bufferevent_get_output(conn_bev(c)));
	bufferevent_disable(conn_bev(c), EV_READ);
	tv.tv_sec = (time_t)(srv.conf.handshake_timeout / 1000);
	tv.tv_usec = (suseconds_t)(srv.conf.handshake_timeout % 1000) * 1000;
	evtimer_add(c->timer, &tv);
}

/* Ends a request answered outside http.c and reads the next one. */
void
http_resume(struct conn *c)
{
	http_done(c);
	http_process(c);
}

/* Answers 413 to a request over max_request_bytes and closes after it. */
static void
http_too_large(struct conn *c)
{
	c->keepalive = 0;
	http_error(c, 413, TE_TOO_LARGE, "request exceeds max_request_bytes");
	http_done(c);
}

/*
 * Sets c's address to the client a trusted proxy names in req's
 * X-Forwarded-For or Forwarded, or back to the peer's (tickd.conf(5)
 * Reverse proxy); -1 if that address is at max_connections_per_ip.
 */
static int
http_client(struct conn *c, const struct http_req *req)
{
	char	ip[INET6_ADDRSTRLEN];
	int	ret = 0;

	if (!proxy_trusted(&srv.conf.trusted, c->peer_ip))
		return (0);
	if (req->fwd_twice)
		ret = -1;
	else if (req->xff != NULL)
		ret = proxy_xff(&srv.conf.trusted, req->xff, ip, sizeof ip);
	else if (req->forwarded != NULL)
		ret = proxy_forwarded(&srv.conf.trusted, req->forwarded, ip,
		    sizeof ip);
	else
		strlcpy(ip, c->peer_ip, sizeof ip);
	if (ret != 0) {
		if (!c->fwd_logged)
			log_info("http: malformed X-Forwarded-For or Forwarded "
			    "from trusted proxy %s; using its address",
			    c->peer_addr);
		c->fwd_logged = 1;
		strlcpy(ip, c->peer_ip, sizeof ip);
	}
	if (strcmp(ip, c->ip) == 0)
		return (0);
	if (c->counted && !limit_conn_move(c->ip, ip)) {
		srv.stats.conns_refused++;
		log_debug("http: %s behind %s refused: max_connections_per_ip "
		    "reached", ip, c->peer_addr);
		return (-1);
	}
	conn_set_client(c, ip);
	return (0);
}

/* Answers every complete request in the input, one at a time. */
static void
http_process(struct conn *c)
{
	struct evbuffer		*in;
	struct evbuffer_ptr	 pos;
	struct http_req		 req;
	size_t			 headlen, total;

	in = bufferevent_get_input(conn_bev(c));
	if (c->upload != NULL && !c->dead)
		media_http_feed(c);
	while (!c->busy && !c->dead && !c->closing && !c->is_ws) {
		if (evbuffer_get_length(bufferevent_get_output(conn_bev(c))) >=
		    srv.conf.max_output_bytes) {
			http_stall(c);
			return;
		}
		pos = evbuffer_search(in, "\r\n\r\n", 4, NULL);
		if (pos.pos == -1) {
			if (evbuffer_get_length(in) > srv.conf.max_request_bytes)
				http_too_large(c);
			return;
		}
		headlen = (size_t)pos.pos + 4;
		if (headlen > srv.conf.max_request_bytes) {
			http_too_large(c);
			return;
		}
		memset(&req, 0, sizeof req);
		req.head = xmalloc(headlen + 1);
		evbuffer_copyout(in, req.head, headlen);
		req.head[headlen] = '\0';
		req.head_len = headlen;
		if (http_parse_head(&req) != 0 || req.chunked) {
			free(req.head);
			c->keepalive = 0;
			http_error(c, 400, TE_BAD_REQUEST, req.chunked ?
			    "chunked bodies are not accepted" :
			    "malformed HTTP request");
			http_done(c);
			return;
		}
		if (http_client(c, &req) != 0) {
			free(req.head);
			c->keepalive = 0;
			http_error(c, 503, TE_UNAVAILABLE,
			    "max_connections_per_ip reached");
			http_done(c);
			return;
		}
		/* Media routes answer from the head (tickd-protocol(7)). */
		switch (media_http_route(c, &req)) {
		case MEDIA_LATER:
			free(req.head);
			return;
		case MEDIA_TAKEN:
			evbuffer_drain(in, headlen);
			free(req.head);
			if (c->upload != NULL && !c->dead)
				media_http_feed(c);
			continue;
		}
		total = headlen + req.content_length;
		if (total > srv.conf.max_request_bytes) {
			free(req.head);
			http_too_large(c);
			return;
		}
		if (evbuffer_get_length(in) < total) {
			free(req.head);
			return;
		}
		evbuffer_drain(in, headlen);
		req.body_len = req.content_length;
		req.body = xmalloc(req.body_len + 1);
		evbuffer_remove(in, req.body, req.body_len);
		req.body[req.body_len] = '\0';
		c->keepalive = !req.http10 && !req.conn_close;
		evtimer_del(c->timer);
		http_route(c, &req);
		/* A handler that handed the request to the kdf left it busy. */
		if (!c->is_ws && !c->busy && !c->dead)
			http_done(c);
		free(req.head);
		OPENSSL_cleanse(req.body, req.body_len);
		free(req.body);
	}
}

/* Input arrived: answer what requests it completes. */
static void
http_read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	http_process(arg);
}

/* The output drained: a stalled connection is read from again. */
static void
http_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;
	struct timeval	 tv;

	(void)bev;
	conn_check_closing(c);
	if (c->dead || c->closing || c->is_ws)
		return;
	if (c->out_stalled) {
		c->out_stalled = 0;
		bufferevent_enable(conn_bev(c), EV_READ);
		tv.tv_sec = (time_t)(srv.conf.handshake_timeout / 1000);
		tv.tv_usec = (suseconds_t)(srv.conf.handshake_timeout % 1000) *
		    1000;
		evtimer_add(c->timer, &tv);
	} else if (c->busy)
		return;
	/* A stalled connection, or a media GET that waited for earlier
	 * answers to go out. */
	http_process(c);
}

/* End of file or an error on the connection: it is freed once unused. */
static void
http_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	/* A TLS handshake that completed is not an end. */
	if (what & BEV_EVENT_CONNECTED)
		return;
	conn_free_later(arg);
}

/*
 * The idle timer: no whole request within handshake_timeout, or a stalled
 * connection none of whose output left in that time.
 */
static void
http_timeout_cb(evutil_socket_t fd, short events, void *arg)
{
	struct conn	*c = arg;
	struct timeval	 tv;
	size_t		 len;

	(void)fd; (void)events;
	if (c->out_stalled && !c->dead) {
		len = evbuffer_get_length(bufferevent_get_output(conn_bev(c)));
		if (len < c->stall_len) {
			c->stall_len = len;
			tv.tv_sec = (time_t)(srv.conf.handshake_timeout / 1000);
			tv.tv_usec = (suseconds_t)
			    (srv.conf.handshake_timeout % 1000) * 1000;
			evtimer_add(c->timer, &tv);
			return;
		}
		log_info("http: %s is not reading its answers; closed",
		    c->addr);
	}
	conn_free_later(c);
}

/*
 * A new TCP connection, TLS or not: it speaks HTTP until it upgrades; one
 * on metrics_listen is answered only /metrics and /healthz.
 */
static void
http_accept_as(evutil_socket_t fd, struct sockaddr *sa, int salen, int tls,
    int metrics_only)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	struct conn			*c;
	struct timeval			 tv;
	SSL				*ssl = NULL;
	char				 host[INET6_ADDRSTRLEN];
	char				 addr[INET6_ADDRSTRLEN + 8];
	uint16_t			 port = 0;
	int				 one = 1;

	(void)salen;
	/* Frames are small and latency matters more than packet count. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (tls && (ssl = tls_new()) == NULL) {
		evutil_closesocket(fd);
		return;
	}
	c = xcalloc(1, sizeof *c);
	c->tls = tls;
	c->metrics_only = metrics_only;
	host[0] = addr[0] = '\0';
	if (sa->sa_family == AF_INET) {
		sin = (const void *)sa;
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof host);
		port = ntohs(sin->sin_port);
		snprintf(addr, sizeof addr, "%s:%u", host, port);
	} else if (sa->sa_family == AF_INET6) {
		sin6 = (const void *)sa;
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof host);
		port = ntohs(sin6->sin6_port);
		snprintf(addr, sizeof addr, "[%s]:%u", host, port);
	}
	conn_set_peer(c, addr, host);
	if (!limit_conn_open(c->ip)) {
		/* Counted, not logged: a flood must not flood the log too. */
		srv.stats.conns_refused++;
		log_debug("http: %s refused: max_connections or "
		    "max_connections_per_ip reached", c->addr);
		if (ssl != NULL)
			SSL_free(ssl);
		evutil_closesocket(fd);
		conn_addr_free(c);
		free(c);
		return;
	}
	c->counted = 1;
	if (ssl != NULL)
		c->bev = bufferevent_openssl_socket_new(srv.base, fd, ssl,
		    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	else
		c->bev = bufferevent_socket_new(srv.base, fd,
		    BEV_OPT_CLOSE_ON_FREE);
	c->timer = evtimer_new(srv.base, http_timeout_cb, c);
	conn_link(c);
	if (c->bev == NULL || c->timer == NULL) {
		log_warnx("http: out of resources for %s", c->addr);
		if (c->bev == NULL) {
			if (ssl != NULL)
				SSL_free(ssl);
			evutil_closesocket(fd);
		}
		conn_free_later(c);
		return;
	}
	bufferevent_setcb(c->bev, http_read_cb, http_write_cb, http_event_cb,
	    c);
	/* Stop reading past one maximal request; it will be refused. */
	bufferevent_setwatermark(c->bev, EV_READ, 0,
	    srv.conf.max_request_bytes + 1);
	bufferevent_enable(c->bev, EV_READ);
	tv.tv_sec = (time_t)(srv.conf.handshake_timeout / 1000);
	tv.tv_usec = (suseconds_t)(srv.conf.handshake_timeout % 1000) * 1000;
	evtimer_add(c->timer, &tv);
}

/* A new connection on listen or listen_plain. */
void
http_accept(evutil_socket_t fd, struct sockaddr *sa, int salen, int tls)
{
	http_accept_as(fd, sa, salen, tls, 0);
}

/* A new connection on metrics_listen (tickd.conf(5) Metrics). */
void
http_accept_metrics(evutil_socket_t fd, struct sockaddr *sa, int salen,
    int tls)
{
	http_accept_as(fd, sa, salen, tls, 1);
}
