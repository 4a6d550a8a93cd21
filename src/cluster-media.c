/* SPDX-License-Identifier: ISC */
/*
 * cluster-media.c: download grants, by which a user homed on one node
 * fetches media owned by another (tickd-cluster(7), Downloads across
 * nodes).  The owner takes only its own tokens, so the user's home, which
 * can check its token, writes mg:{GRANT} = ID with a lifetime of
 * MEDIA_GRANT_MS and redirects the client to the owner with ?grant=GRANT;
 * the owner reads the key and serves the ID it names.  A grant is not
 * deleted when used: a client may resume or repeat a download (ranges, HEAD
 * then GET) within its lifetime, and it gives nothing but the one ID its
 * holder could already fetch at its home.
 *
 * The owner also keeps m:{ID} while the ID is live, so that a node
 * accepting a send that names it can tell it from an unknown one; the
 * key is a copy, written back with the other mirrors after Redis lost
 * its data.  Every command is asynchronous (redisAsyncCommandArgv(3) of
 * hiredis), never a wait on the loop.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "tickd.h"
#include "cluster.h"

/* A grant being written or read, or an ID checked, and whom to tell. */
struct mgrant {
	void		(*fn)(void *, int);
	void		*arg;
	char		 id[MEDIA_NAME_MAX + 1]; /* a read: the ID */
};

/*
 * This node's IDs whose m:{ID} Redis may have wrong, to be made right from
 * the store; past DIRTY_MAX IDs, every live one is written again, and of
 * the deletions only those of the first DIRTY_MAX, which are kept, are
 * made again (tickd-cluster(7), Media in messages between nodes).
 */
static struct dirtyset	dirty = { .size = MEDIA_ID_BYTES, .keep = 1 };

/* The reply to SET mg:{GRANT} ID PX: written, or Redis failed. */
static void
grant_set_cb(redisAsyncContext *ac, void *rr, void *arg)
{
	redisReply	*reply = rr;
	struct mgrant	*g = arg;

	rconn_answered(ac->data);
	g->fn(g->arg, reply != NULL && reply->type == REDIS_REPLY_STATUS ?
	    CLUSTER_FOUND : CLUSTER_DOWN);
	free(g);
}

/*
 * Writes a new grant for id into grant (MEDIA_GRANT_LEN hex characters of
 * 128 random bits, RAND_bytes(3)); fn learns CLUSTER_FOUND once Redis
 * holds it, else CLUSTER_DOWN.  -1, fn not called, when Redis cannot take
 * the command now.  id is at most MEDIA_NAME_MAX bytes (the front end
 * refuses longer ones).
 */
int
cluster_media_grant(const char *id, char grant[MEDIA_GRANT_LEN + 1],
    void (*fn)(void *, int), void *arg)
{
	struct mgrant	*g;
	const char	*argv[5];
	uint8_t		 rnd[MEDIA_GRANT_LEN / 2];
	char		*key, ms[24];
	int		 rc;

	if (RAND_bytes(rnd, sizeof rnd) != 1)
		return (-1);
	hex_encode(rnd, sizeof rnd, grant);
	g = xcalloc(1, sizeof *g);
	g->fn = fn;
	g->arg = arg;
	key = cluster_k("mg", grant);
	snprintf(ms, sizeof ms, "%d", MEDIA_GRANT_MS);
	argv[0] = "SET";
	argv[1] = key;
	argv[2] = id;
	argv[3] = "PX";
	argv[4] = ms;
	rc = rconn_cmd(&cl.cmd, grant_set_cb, g, 0, 5, argv, NULL);
	free(key);
	if (rc != 0)
		free(g);
	return (rc);
}

/*
 * The reply to GET mg:{GRANT} or m:{ID}: found if the key is there and, for
 * a grant, names the ID asked for.
 */
static void
get_cb(redisAsyncContext *ac, void *rr, void *arg)
{
	redisReply	*reply = rr;
	struct mgrant	*g = arg;
	int		 st;

	rconn_answered(ac->data);
	if (reply == NULL || (reply->type != REDIS_REPLY_STRING &&
	    reply->type != REDIS_REPLY_NIL))
		st = CLUSTER_DOWN;
	else if (reply->type == REDIS_REPLY_STRING && (g->id[0] == '\0' ||
	    (reply->len == strlen(g->id) &&
	    memcmp(reply->str, g->id, reply->len) == 0)))
		st = CLUSTER_FOUND;
	else
		st = CLUSTER_NONE;
	g->fn(g->arg, st);
	free(g);
}

/*
 * GET of the key kind:{name}, for get_cb; id, if not NULL, is what its value
 * must be.  -1, fn not called, when Redis cannot take the command now.
 */
static int
get_key(const char *kind, const char *name, const char *id,
    void (*fn)(void *, int), void *arg)
{
	struct mgrant	*g;
	const char	*argv[2];
	char		*key;
	int		 rc;

	g = xcalloc(1, sizeof *g);
	g->fn = fn;
	g->arg = arg;
	if (id != NULL)
		strlcpy(g->id, id, sizeof g->id);
	key = cluster_k(kind, name);
	argv[0] = "GET";
	argv[1] = key;
	rc = rconn_cmd(&cl.cmd, get_cb, g, 0, 2, argv, NULL);
	free(key);
	if (rc != 0)
		free(g);
	return (rc);
}

/*
 * Reads grant: fn learns CLUSTER_FOUND if it is live and names id,
 * CLUSTER_NONE if it is unknown, expired or for another ID, CLUSTER_DOWN
 * if Redis failed.  -1, fn not called, when Redis cannot take the command
 * now.  The caller has checked that grant is MEDIA_GRANT_LEN hex digits
 * and id at most MEDIA_NAME_MAX bytes.
 */
int
cluster_media_grant_check(const char *grant, const char *id,
    void (*fn)(void *, int), void *arg)
{
	return (get_key("mg", grant, id, fn, arg));
}

/* The key m:{ID} of this node's ID id, spelled with the node's name. */
static char *
live_key(const uint8_t id[MEDIA_ID_BYTES])
{
	char	ids[MEDIA_ID_LEN + 1], name[MEDIA_NAME_MAX + 1];

	media_id_format(id, ids);
	snprintf(name, sizeof name, "%s.%s", srv.conf.node_name, ids);
	return (cluster_k("m", name));
}

/*
 * The reply to a SET or DEL of m:{ID}, whose ID arg holds: one refused,
 * or lost with its connection, may not have been applied, so the key is
 * made right again from the store.  arg is freed.
 */
static void
live_cb(redisAsyncContext *ac, void *rr, void *arg)
{
	redisReply	*reply = rr;
	uint8_t		*id = arg;

	rconn_answered(ac->data);
	if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
		log_debug("cluster: m:{ID}: %s; written again",
		    reply != NULL ? reply->str : "no answer");
		dirtyset_add(&dirty, id);
	}
	free(id);
}

/*
 * Writes (live) or deletes m:{ID} for this node's ID id.  Nothing waits
 * for it: a write Redis did not take is made again from the store at a
 * heartbeat (cluster_media_tick).
 */
void
cluster_media_live(const uint8_t id[MEDIA_ID_BYTES], int live)
{
	const char	*argv[3];
	char		*key;
	uint8_t		*arg;

	if (!cl.on)
		return;
	key = live_key(id);
	argv[0] = live ? "SET" : "DEL";
	argv[1] = key;
	argv[2] = "1";
	arg = xmalloc(MEDIA_ID_BYTES);
	memcpy(arg, id, MEDIA_ID_BYTES);
	if (rconn_cmd(&cl.cmd, live_cb, arg, 0, live ? 3 : 2, argv,
	    NULL) != 0) {
		free(arg);
		dirtyset_add(&dirty, id);
	}
	free(key);
}

/* User index walk callback: deletes m:{ID} of each of the user's IDs. */
static int
user_gone_fn(void *arg, uint64_t unused, const uint8_t *id)
{
	(void)arg;
	(void)unused;
	cluster_media_live(id, 0);
	return (STORE_WALK_NEXT);
}

/*
 * Deletes m:{ID} of every ID of user, read from txn, whose account and
 * media are being deleted.
 */
void
cluster_media_user_gone(struct txn *txn, const char *user)
{
	if (cl.on && store_media_user_walk(txn, user, user_gone_fn, NULL) !=
	    STORE_OK)
		log_warnx("cluster: cannot read the media of %s", user);
}

/* What the media walk of a write-back carries. */
struct mback {
	uint64_t	now, ttl, n;
};

/* Media walk callback: writes m:{ID} of each live ID again. */
static int
writeback_fn(void *arg, const uint8_t *id, const struct media_rec *r)
{
	struct mback	*b = arg;

	if (id != NULL && r != NULL && media_live(r, b->now, b->ttl)) {
		cluster_media_live(id, 1);
		b->n++;
	}
	return (STORE_WALK_NEXT);
}

/*
 * Writes m:{ID} again for every live ID of this node, read from txn:
 * after Redis lost its data, or at the first answer after a start, as
 * the other mirrors are (tickd-cluster(7), What each failure does).
 */
void
cluster_media_writeback(struct txn *txn)
{
	struct mback	b = { .now = now_ms(), .ttl = srv.conf.media_ttl };

	if (store_media_walk(txn, writeback_fn, &b) != STORE_OK)
		log_warnx("cluster: cannot read the media to mirror");
	else if (b.n > 0)
		log_debug("cluster: %llu media IDs mirrored",
		    (unsigned long long)b.n);
}

/*
 * At each heartbeat while Redis answers: m:{ID} of the IDs whose write
 * Redis did not take is set if the ID is live in the store, deleted if
 * not; past DIRTY_MAX IDs, every live one is set again and the first
 * DIRTY_MAX noted are deleted if not live (tickd-cluster(7), Media in
 * messages between nodes).
 */
void
cluster_media_tick(void)
{
	struct txn		 txn;
	struct media_rec	 r;
	struct dirtyset		 t;
	const uint8_t		*id;
	size_t			 i;
	uint64_t		 now = now_ms();
	int			 live, ret;

	if (!cl.ready || (dirty.n == 0 && !dirty.all) ||
	    store_txn_begin(srv.store, &txn, 0) != STORE_OK)
		return;
	/* The writes below may note their IDs again: a set of their own. */
	dirtyset_take(&dirty, &t);
	if (t.all)
		cluster_media_writeback(&txn);
	for (i = 0; i < t.n; i++) {
		id = dirtyset_key(&t, i);
		ret = store_media_get(&txn, id, &r);
		live = ret == STORE_OK && media_live(&r, now,
		    srv.conf.media_ttl);
		if (ret != STORE_OK && ret != STORE_NOTFOUND)
			dirtyset_add(&dirty, id);
		else if (!t.all || !live)	/* the write-back set it */
			cluster_media_live(id, live);
	}
	store_txn_abort(&txn);
	dirtyset_clear(&t);
}

/* Stopping: the IDs still to write are let go. */
void
cluster_media_free(void)
{
	dirtyset_clear(&dirty);
}

/*
 * Checks id, spelled "node.ID" with another node's name, against its
 * owner's m:{ID}: fn learns CLUSTER_FOUND if it is live, CLUSTER_NONE if
 * not, CLUSTER_DOWN if Redis failed.  -1, fn not called, when Redis
 * cannot take the command now.
 */
int
cluster_media_check(const char *id, void (*fn)(void *, int), void *arg)
{
	return (get_key("m", id, NULL, fn, arg));
}
