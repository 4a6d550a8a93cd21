/* SPDX-License-Identifier: ISC */
/*
 * media.c: the rules of tickd-protocol(7) MEDIA: IDs, liveness and
 * expiry after media_ttl, quotas, the references queue items hold, and
 * which files under media_dir may go.  No globals and no event loop: the
 * daemon's front end (http-media.c), the queue rules and tickctl all call
 * it inside their own transactions.
 */
#include <sys/stat.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "tickd.h"

/* Records the sweep expires or unlinks at most in one turn. */
#define MEDIA_SWEEP_MAX	1024

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* A new random ID; -1 if the random generator failed. */
int
media_id_new(uint8_t id[MEDIA_ID_BYTES])
{
	return (RAND_bytes(id, MEDIA_ID_BYTES) == 1 ? 0 : -1);
}

/* The 22 base64url characters of an ID, NUL-terminated. */
void
media_id_format(const uint8_t id[MEDIA_ID_BYTES], char out[MEDIA_ID_LEN + 1])
{
	uint32_t	v;
	size_t		i, o = 0;

	for (i = 0; i + 3 <= MEDIA_ID_BYTES; i += 3) {
		v = (uint32_t)id[i] << 16 | (uint32_t)id[i + 1] << 8 |
		    id[i + 2];
		out[o++] = b64url[v >> 18 & 63];
		out[o++] = b64url[v >> 12 & 63];
		out[o++] = b64url[v >> 6 & 63];
		out[o++] = b64url[v & 63];
	}
	v = (uint32_t)id[i] << 16;
	out[o++] = b64url[v >> 18 & 63];
	out[o++] = b64url[v >> 12 & 63];
	out[o] = '\0';
}

/*
 * Reads an ID; -1 unless s is exactly the 22 characters media_id_format
 * writes for some ID, so that every ID has one spelling.
 */
int
media_id_parse(const char *s, size_t len, uint8_t id[MEDIA_ID_BYTES])
{
	char		 check[MEDIA_ID_LEN + 1];
	const char	*p;
	uint8_t		 six[MEDIA_ID_LEN];
	size_t		 i;

	if (len != MEDIA_ID_LEN)
		return (-1);
	for (i = 0; i < MEDIA_ID_LEN; i++) {
		if (s[i] == '\0' || (p = strchr(b64url, s[i])) == NULL)
			return (-1);
		six[i] = (uint8_t)(p - b64url);
	}
	for (i = 0; i < MEDIA_ID_BYTES / 3; i++) {
		id[i * 3] = (uint8_t)(six[i * 4] << 2 | six[i * 4 + 1] >> 4);
		id[i * 3 + 1] = (uint8_t)(six[i * 4 + 1] << 4 |
		    six[i * 4 + 2] >> 2);
		id[i * 3 + 2] = (uint8_t)(six[i * 4 + 2] << 6 | six[i * 4 + 3]);
	}
	id[MEDIA_ID_BYTES - 1] = (uint8_t)(six[20] << 2 | six[21] >> 4);
	media_id_format(id, check);
	return (memcmp(check, s, MEDIA_ID_LEN) == 0 ? 0 : -1);
}

/*
 * Reads an ID as a client spells it.  A node of a cluster spells its IDs
 * "node_name." and the 22 characters (tickd-cluster(7) Home nodes), so
 * node, this node's node_name or NULL, may come first; bare IDs,
 * uploaded before the node joined a cluster, stay valid.  The front ends redirect
 * an ID naming another node before it gets here.
 */
int
media_id_read(const char *node, const char *s, size_t len,
    uint8_t id[MEDIA_ID_BYTES])
{
	size_t	n;

	if (node != NULL && (n = strlen(node)) < len &&
	    memcmp(s, node, n) == 0 && s[n] == '.') {
		s += n + 1;
		len -= n + 1;
	}
	return (media_id_parse(s, len, id));
}

/* Whether t is more than ttl before now. */
static int
older(uint64_t t, uint64_t ttl, uint64_t now)
{
	return (t < now && now - t > ttl);
}

/*
 * Whether an ID is live (tickd-protocol(7) MEDIA, rule 4): referenced, or
 * uploaded or last referenced at most media_ttl ago.  An expired ID is
 * gone from that moment, whenever the sweep removes its record.
 */
int
media_live(const struct media_rec *r, uint64_t now, uint64_t ttl)
{
	return (r->refs > 0 || !older(r->created, ttl, now) ||
	    !older(r->last_ref, ttl, now));
}

/* What media_usage adds up. */
struct usage {
	struct txn	*txn;
	uint64_t	 now, ttl, bytes, count;
};

/* User index walk callback: adds the size of each live ID. */
static int
usage_fn(void *arg, uint64_t unused, const uint8_t *id)
{
	struct usage		*u = arg;
	struct media_rec	 r;

	(void)unused;
	if (store_media_get(u->txn, id, &r) != STORE_OK)
		return (STORE_WALK_NEXT);
	if (media_live(&r, u->now, u->ttl)) {
		u->bytes += r.size;
		u->count++;
	}
	return (STORE_WALK_NEXT);
}

/* The bytes and number of user's live IDs, as the quota counts them. */
int
media_usage(struct txn *txn, const char *user, uint64_t now, uint64_t ttl,
    uint64_t *bytes, uint64_t *count)
{
	struct usage	u = { .txn = txn, .now = now, .ttl = ttl };
	int		rc;

	rc = store_media_user_walk(txn, user, usage_fn, &u);
	if (rc != STORE_OK)
		return (rc);
	*bytes = u.bytes;
	if (count != NULL)
		*count = u.count;
	return (STORE_OK);
}

/* Whether size more bytes fit user's media_quota: TE_OK or why not. */
int
media_quota_check(struct txn *txn, const struct conf *conf, const char *user,
    uint64_t size, uint64_t now, enum tick_err *err)
{
	uint64_t	used;
	int		rc;

	*err = TE_OK;
	if ((rc = media_usage(txn, user, now, conf->media_ttl, &used, NULL)) !=
	    STORE_OK)
		return (rc);
	if (size > conf->media_quota || used > conf->media_quota - size)
		*err = TE_QUOTA_EXCEEDED;
	return (STORE_OK);
}

/*
 * Records an upload whose file (named by sha) is in place: a new ID for
 * user, counted in full against the quota, checked again here as other
 * uploads may have ended meanwhile.  *err is TE_QUOTA_EXCEEDED, or
 * TE_INTERNAL if no random ID could be drawn.
 */
int
media_commit(struct txn *txn, const struct conf *conf, const char *user,
    const uint8_t sha[32], uint64_t size, const char *type, uint64_t now,
    uint8_t id[MEDIA_ID_BYTES], enum tick_err *err)
{
	struct media_rec	r;
	int			rc, tries;

	if ((rc = media_quota_check(txn, conf, user, size, now, err)) !=
	    STORE_OK || *err != TE_OK)
		return (rc);
	memset(&r, 0, sizeof r);
	strlcpy(r.uploader, user, sizeof r.uploader);
	memcpy(r.sha256, sha, sizeof r.sha256);
	r.size = size;
	r.created = now;
	strlcpy(r.type, type, sizeof r.type);
	for (tries = 0; tries < 4; tries++) {
		if (media_id_new(id) != 0)
			break;
		if ((rc = store_media_add(txn, id, &r)) != STORE_EXISTS)
			return (rc);
	}
	*err = TE_INTERNAL;
	return (STORE_OK);
}

/*
 * Finds the live ID spelled s: STORE_NOTFOUND if it is malformed,
 * unknown, expired or deleted.
 */
int
media_lookup(struct txn *txn, const struct conf *conf, const char *s,
    size_t len, uint64_t now, uint8_t id[MEDIA_ID_BYTES], struct media_rec *r)
{
	int	rc;

	/* Only a node of a cluster spells IDs with its name. */
	if (media_id_read(conf->cluster_redis != NULL ? conf->node_name :
	    NULL, s, len, id) != 0)
		return (STORE_NOTFOUND);
	if ((rc = store_media_get(txn, id, r)) != STORE_OK)
		return (rc);
	return (media_live(r, now, conf->media_ttl) ? STORE_OK :
	    STORE_NOTFOUND);
}

/*
 * Deletes the ID spelled s for its uploader user; anyone else, like an
 * ID that is not live, gets STORE_NOTFOUND.  Queue items that still name
 * it keep their reference records, which find it gone when they leave.
 */
int
media_delete(struct txn *txn, const struct conf *conf, const char *user,
    const char *s, size_t len, uint64_t now)
{
	struct media_rec	r;
	uint8_t			id[MEDIA_ID_BYTES];
	int			rc;

	if ((rc = media_lookup(txn, conf, s, len, now, id, &r)) != STORE_OK)
		return (rc);
	if (strcmp(r.uploader, user) != 0)
		return (STORE_NOTFOUND);
	return (store_media_del(txn, id, &r));
}

/* Whether a send's media member is an array of 1 to max strings. */
int
media_member_ok(const json_t *a, uint64_t max)
{
	size_t	i;

	if (!json_is_array(a) || json_array_size(a) == 0 ||
	    json_array_size(a) > max || json_array_size(a) > MEDIA_REFS_MAX)
		return (0);
	for (i = 0; i < json_array_size(a); i++) {
		if (!json_is_string(json_array_get(a, i)))
			return (0);
	}
	return (1);
}

/*
 * Reads an ID as a client spells it, with the node that owns it: owner is
 * "" for this node's own (bare, or spelled with node, this node's
 * node_name or NULL), else the node_name before the "." (tickd-cluster(7),
 * Home nodes).  -1 if it is malformed.
 */
int
media_id_owner(const char *node, const char *s, size_t len,
    char owner[MEDIA_NODE_MAX + 1], uint8_t id[MEDIA_ID_BYTES])
{
	const char	*dot;
	size_t		 n;

	owner[0] = '\0';
	if (node == NULL || (dot = memchr(s, '.', len)) == NULL)
		return (media_id_read(node, s, len, id));
	n = (size_t)(dot - s);
	if (n == strlen(node) && memcmp(s, node, n) == 0)
		return (media_id_read(node, s, len, id));
	if (n > MEDIA_NODE_MAX || !cluster_node_name_ok(s, n))
		return (-1);
	memcpy(owner, s, n);
	owner[n] = '\0';
	return (media_id_parse(dot + 1, len - n - 1, id));
}

/*
 * Checks the media member of a send (an array of 1 to max_media_refs
 * strings, checked by the caller) and fills refs: *err is
 * TE_NO_SUCH_MEDIA if one of them is not live.  An ID of another node
 * is live if the front end found it so (tickd-cluster(7), Media in messages
 * between nodes): remote_ok says it did, else the send is TE_UNAVAILABLE.
 */
int
media_refs_check(struct txn *txn, const struct conf *conf, const json_t *a,
    uint64_t now, int remote_ok, struct media_refs *refs, enum tick_err *err)
{
	struct media_rec	 r;
	const char		*s, *node;
	size_t			 i, len;
	int			 rc;

	*err = TE_OK;
	memset(refs, 0, sizeof *refs);
	if (!media_member_ok(a, conf->max_media_refs)) {
		*err = TE_BAD_REQUEST;
		return (STORE_OK);
	}
	node = conf->cluster_redis != NULL ? conf->node_name : NULL;
	for (i = 0; i < json_array_size(a); i++) {
		s = json_string_value(json_array_get(a, i));
		len = json_string_length(json_array_get(a, i));
		if (media_id_owner(node, s, len, refs->node[i],
		    refs->ids[i]) != 0) {
			*err = TE_NO_SUCH_MEDIA;
			return (STORE_OK);
		}
		if (refs->node[i][0] != '\0') {
			if (!remote_ok) {
				*err = TE_UNAVAILABLE;
				return (STORE_OK);
			}
			continue;
		}
		rc = store_media_get(txn, refs->ids[i], &r);
		if (rc == STORE_OK && !media_live(&r, now, conf->media_ttl))
			rc = STORE_NOTFOUND;
		if (rc == STORE_NOTFOUND) {
			*err = TE_NO_SUCH_MEDIA;
			return (STORE_OK);
		}
		if (rc != STORE_OK)
			return (rc);
	}
	refs->n = (uint8_t)i;
	return (STORE_OK);
}

/*
 * Fills refs from the media member of a message another node accepted:
 * its IDs as the sender's home spelled them, each with its owner; a
 * malformed one is left out.
 */
void
media_refs_read(const struct conf *conf, const json_t *a,
    struct media_refs *refs)
{
	const json_t	*v;
	size_t		 i;

	memset(refs, 0, sizeof *refs);
	if (!json_is_array(a))
		return;
	for (i = 0; i < json_array_size(a) && refs->n < MEDIA_REFS_MAX;
	    i++) {
		v = json_array_get(a, i);
		if (json_is_string(v) && media_id_owner(conf->node_name,
		    json_string_value(v), json_string_length(v),
		    refs->node[refs->n], refs->ids[refs->n]) == 0)
			refs->n++;
	}
}

/*
 * The references of refs owned by other nodes, changed by d (+1 or -1):
 * one mref outbox record per owner (tickd-cluster(7), Media in messages
 * between nodes), delivered exactly once like a message.
 */
static int
mref_put(struct txn *txn, struct midgen *gen, const struct media_refs *refs,
    int d, uint64_t now)
{
	json_t		*p, *ids;
	char		 s[MEDIA_ID_LEN + 1];
	size_t		 i, j;
	int		 rc;

	for (i = 0; i < refs->n; i++) {
		if (refs->node[i][0] == '\0')
			continue;
		for (j = 0; j < i; j++) {
			if (strcmp(refs->node[j], refs->node[i]) == 0)
				break;
		}
		if (j < i)
			continue;
		ids = json_array();
		for (j = i; j < refs->n; j++) {
			if (strcmp(refs->node[j], refs->node[i]) != 0)
				continue;
			media_id_format(refs->ids[j], s);
			json_array_append_new(ids, json_string(s));
		}
		p = json_pack("{s:o,s:i}", "ids", ids, "d", d);
		if ((rc = cluster_cout_json(txn, gen, refs->node[i], NULL,
		    COUT_MREF, now, p, NULL)) != STORE_OK)
			return (rc);
	}
	return (STORE_OK);
}

/* Adds d to the count of messages referencing id, if it is here. */
static int
ref_add(struct txn *txn, const uint8_t id[MEDIA_ID_BYTES], int64_t d,
    uint64_t now)
{
	struct media_rec	r, old;
	int			rc;

	if (d == 0)
		return (STORE_OK);
	if ((rc = store_media_get(txn, id, &old)) == STORE_NOTFOUND)
		return (STORE_OK);
	if (rc != STORE_OK)
		return (rc);
	r = old;
	if (d > 0)
		r.refs += (uint64_t)d;
	else {
		r.refs = r.refs > (uint64_t)-d ? r.refs - (uint64_t)-d : 0;
		if (r.refs == 0)
			r.last_ref = now;
	}
	return (store_media_put(txn, id, &old, &r));
}

/*
 * Makes the message mid, queued as items items, reference each ID of
 * refs: an ID goes out of the idle index while any such item is queued.
 * The owner of an ID of another node learns it through the outbox.
 */
int
media_refs_take(struct txn *txn, struct midgen *gen, const struct mid *mid,
    struct media_refs *refs, uint64_t items, uint64_t now)
{
	size_t	i;
	int	rc;

	if (items == 0 || refs->n == 0)
		return (STORE_OK);
	for (i = 0; i < refs->n; i++) {
		if (refs->node[i][0] == '\0' &&
		    (rc = ref_add(txn, refs->ids[i], 1, now)) != STORE_OK)
			return (rc);
	}
	if ((rc = mref_put(txn, gen, refs, 1, now)) != STORE_OK)
		return (rc);
	refs->items = items;
	return (store_media_refs_put(txn, mid, refs));
}

/*
 * One queue item of message mid left its queue (ack, message_ttl, device
 * or account removal).  When the last one goes, each ID it named loses a
 * reference, and one left without any starts its media_ttl from now; the
 * owner of an ID of another node learns it through the outbox.
 */
int
media_release(struct txn *txn, struct midgen *gen, const struct mid *mid,
    uint64_t now)
{
	struct media_refs	m;
	size_t			i;
	int			rc;

	if ((rc = store_media_refs_get(txn, mid, &m)) == STORE_NOTFOUND)
		return (STORE_OK);
	if (rc != STORE_OK)
		return (rc);
	if (m.items > 1) {
		m.items--;
		return (store_media_refs_put(txn, mid, &m));
	}
	for (i = 0; i < m.n; i++) {
		if (m.node[i][0] == '\0' &&
		    (rc = ref_add(txn, m.ids[i], -1, now)) != STORE_OK)
			return (rc);
	}
	if ((rc = mref_put(txn, gen, &m, -1, now)) != STORE_OK)
		return (rc);
	return (store_media_refs_del(txn, mid));
}

/* The references a node's signed count holds: none while it is below 1. */
static int64_t
rref_held(int64_t c)
{
	return (c > 0 ? c : 0);
}

/*
 * Applies an mref record from another node to this node's media
 * (tickd-cluster(7), Media in messages between nodes): each ID it names
 * gains or loses one of origin's references, as a message of this node's
 * would.  The count is kept per node, so that verify can tell origin's from
 * this node's and forgetting origin releases them; it may go below 0 while
 * a -1 is ahead of its +1.  An ID gone meanwhile is passed over.
 */
int
media_mref_apply(struct txn *txn, const char *origin, const json_t *p,
    uint64_t now)
{
	const json_t		*ids = json_object_get(p, "ids"), *v;
	json_int_t		 d = json_integer_value(json_object_get(p,
				    "d"));
	struct media_rec	 r;
	uint8_t			 id[MEDIA_ID_BYTES];
	int64_t			 c;
	size_t			 i;
	int			 rc;

	if (!json_is_array(ids) || (d != 1 && d != -1)) {
		log_warnx("media: a reference record from node %s is "
		    "malformed; dropped", origin);
		return (STORE_OK);
	}
	json_array_foreach(ids, i, v) {
		if (!json_is_string(v) || media_id_parse(json_string_value(v),
		    json_string_length(v), id) != 0)
			continue;
		if ((rc = store_media_get(txn, id, &r)) == STORE_NOTFOUND)
			continue;
		if (rc != STORE_OK ||
		    (rc = store_media_rref_get(txn, id, origin, &c)) !=
		    STORE_OK ||
		    (rc = ref_add(txn, id, rref_held(c + d) - rref_held(c),
		    now)) != STORE_OK ||
		    (rc = store_media_rref_put(txn, id, origin, c + d)) !=
		    STORE_OK)
			return (rc);
	}
	return (STORE_OK);
}

/* What media_forget_node walks with. */
struct rforget {
	struct txn	*txn;
	const char	*node;
	uint64_t	 now;
	int		 rc;
};

/* rref walk callback: drops node's count, with the references it held. */
static int
rforget_fn(void *arg, const uint8_t *id, const char *node, int64_t c)
{
	struct rforget	*f = arg;

	if (strcmp(node, f->node) != 0)
		return (STORE_WALK_NEXT);
	if ((f->rc = ref_add(f->txn, id, -rref_held(c), f->now)) != STORE_OK)
		return (STORE_WALK_STOP);
	return (STORE_WALK_DELETE);
}

/*
 * Node is gone for good (tickctl(8) cluster forget): the references it
 * held to this node's media are released.
 */
int
media_forget_node(struct txn *txn, const char *node, uint64_t now)
{
	struct rforget	f = { .txn = txn, .node = node, .now = now,
			    .rc = STORE_OK };
	int		rc;

	if ((rc = store_media_rref_walk(txn, NULL, rforget_fn, &f)) !=
	    STORE_OK)
		return (rc);
	return (f.rc);
}

/* What media_queue_release walks with. */
struct qrel {
	struct txn	*txn;
	struct midgen	*gen;
	uint64_t	 now;
	int		 rc;
};

/* Queue walk callback: releases each item's references. */
static int
qrel_fn(void *arg, const struct mid *mid, const struct item *it)
{
	struct qrel	*q = arg;

	(void)it;
	if ((q->rc = media_release(q->txn, q->gen, mid, q->now)) != STORE_OK)
		return (STORE_WALK_STOP);
	return (STORE_WALK_NEXT);
}

/* Releases the references of every item of queue qid, before it is dropped. */
int
media_queue_release(struct txn *txn, struct midgen *gen, uint64_t qid,
    uint64_t now)
{
	struct qrel	q = { .txn = txn, .gen = gen, .now = now,
			    .rc = STORE_OK };
	int		rc;

	if ((rc = store_queue_walk(txn, qid, NULL, qrel_fn, &q)) != STORE_OK)
		return (rc);
	return (q.rc);
}

/* A list of IDs or hashes gathered by a walk, then acted on. */
struct idlist {
	struct txn	*txn;
	uint64_t	 now, ttl;
	size_t		 n;
	uint8_t		 v[MEDIA_SWEEP_MAX][32];
};

/* User index walk callback: gathers the IDs. */
static int
user_ids_fn(void *arg, uint64_t unused, const uint8_t *id)
{
	struct idlist	*l = arg;

	(void)unused;
	memcpy(l->v[l->n++], id, MEDIA_ID_BYTES);
	return (l->n == MEDIA_SWEEP_MAX ? STORE_WALK_STOP : STORE_WALK_NEXT);
}

/* Deletes every ID user uploaded, as deleting the account does. */
int
media_user_delete(struct txn *txn, const char *user, uint64_t *count)
{
	struct idlist		*l;
	struct media_rec	 r;
	size_t			 i;
	int			 rc;

	l = xcalloc(1, sizeof *l);
	do {
		l->n = 0;
		if ((rc = store_media_user_walk(txn, user, user_ids_fn, l)) !=
		    STORE_OK)
			break;
		for (i = 0; i < l->n && rc == STORE_OK; i++) {
			rc = store_media_get(txn, l->v[i], &r);
			if (rc == STORE_OK) {
				rc = store_media_del(txn, l->v[i], &r);
				if (count != NULL)
					(*count)++;
			}
			if (rc == STORE_NOTFOUND)
				rc = STORE_OK;
		}
	} while (rc == STORE_OK && l->n == MEDIA_SWEEP_MAX);
	free(l);
	return (rc);
}

/* Idle index walk callback: gathers the IDs idle past media_ttl. */
static int
idle_fn(void *arg, uint64_t since, const uint8_t *id)
{
	struct idlist	*l = arg;

	if (!older(since, l->ttl, l->now))
		return (STORE_WALK_STOP);
	memcpy(l->v[l->n++], id, MEDIA_ID_BYTES);
	return (l->n == MEDIA_SWEEP_MAX ? STORE_WALK_STOP : STORE_WALK_NEXT);
}

/*
 * Deletes the records of expired IDs, oldest first, from the idle index
 * only (no pass over every record); a file no ID names any more goes on
 * the unlink list for media_unlink().  gone, if not NULL, learns each ID
 * expired.
 */
int
media_sweep(struct txn *txn, const struct conf *conf, uint64_t now,
    uint64_t *expired, void (*gone)(void *, const uint8_t *), void *arg)
{
	struct idlist		*l;
	struct media_rec	 r;
	size_t			 i;
	int			 rc;

	l = xcalloc(1, sizeof *l);
	l->now = now;
	l->ttl = conf->media_ttl;
	rc = store_media_idle_walk(txn, idle_fn, l);
	for (i = 0; i < l->n && rc == STORE_OK; i++) {
		rc = store_media_get(txn, l->v[i], &r);
		if (rc == STORE_NOTFOUND) {
			rc = STORE_OK;
			continue;
		}
		if (rc != STORE_OK || media_live(&r, now, conf->media_ttl))
			continue;
		if ((rc = store_media_del(txn, l->v[i], &r)) != STORE_OK)
			break;
		(*expired)++;
		if (gone != NULL)
			gone(arg, l->v[i]);
	}
	free(l);
	return (rc);
}

/* The path of the file holding the bytes whose SHA-256 is sha. */
void
media_path(const char *dir, const uint8_t sha[32], char *buf, size_t size)
{
	char	hex[65];

	hex_encode(sha, 32, hex);
	snprintf(buf, size, "%s/%s", dir, hex);
}

/* Unlink list walk callback: gathers the hashes. */
static int
gone_fn(void *arg, const uint8_t *sha, const struct media_file *f)
{
	struct idlist	*l = arg;

	(void)f;
	memcpy(l->v[l->n++], sha, 32);
	return (l->n == MEDIA_SWEEP_MAX ? STORE_WALK_STOP : STORE_WALK_NEXT);
}

/*
 * Unlinks the files that no ID names.  The list is read in done, a read
 * transaction of what is committed, so that no file goes whose last ID
 * was deleted by a write not yet durable; a file that an upload in txn
 * named again meanwhile stays.  Entries unlinked leave the list in txn.
 */
int
media_unlink(struct txn *done, struct txn *txn, const char *dir,
    uint64_t *count)
{
	struct idlist		*l;
	struct media_file	 f;
	char			 path[4096];
	size_t			 i;
	int			 rc;

	l = xcalloc(1, sizeof *l);
	rc = store_media_gone_walk(done, gone_fn, l);
	for (i = 0; i < l->n && rc == STORE_OK; i++) {
		if ((rc = store_media_gone_get(txn, l->v[i])) ==
		    STORE_NOTFOUND) {
			rc = STORE_OK;
			continue;
		}
		if (rc != STORE_OK)
			break;
		rc = store_media_file_get(txn, l->v[i], &f);
		if (rc == STORE_OK)
			continue;
		if (rc != STORE_NOTFOUND)
			break;
		media_path(dir, l->v[i], path, sizeof path);
		if (unlink(path) == -1 && errno != ENOENT) {
			log_warn("media: unlink %s", path);
			rc = STORE_OK;
			continue;
		}
		if (count != NULL)
			(*count)++;
		rc = store_media_gone_del(txn, l->v[i]);
	}
	free(l);
	return (rc);
}

/* Whether a directory with st lets uid (in group gid) create files. */
static int
dir_writable(const struct stat *st, uid_t uid, gid_t gid)
{
	if (uid == 0)
		return (1);
	if (st->st_uid == uid)
		return ((st->st_mode & 0300) == 0300);
	if (st->st_gid == gid)
		return ((st->st_mode & 0030) == 0030);
	return ((st->st_mode & 0003) == 0003);
}

/*
 * For tickd -t: refuses a media_dir in which the daemon's user (user, or
 * whoever runs tickd) cannot create files, or the directory it would be
 * created in when it does not exist yet.  A default media_dir inside a
 * data_dir not made yet is fine: tickd makes both for its user.
 */
int
media_dir_check(const struct conf *conf, char **cause)
{
	struct passwd	*pw;
	struct group	*gr;
	struct stat	 st;
	uid_t		 uid = geteuid();
	gid_t		 gid = getegid();
	char		*dir, *slash;
	int		 ok, rc = -1;

	if (conf->media_dir == NULL && stat(conf->data_dir, &st) == -1 &&
	    errno == ENOENT)
		return (0);
	if (conf->user != NULL && uid == 0) {
		if ((pw = getpwnam(conf->user)) == NULL) {
			xasprintf(cause, "no such user %s", conf->user);
			return (-1);
		}
		uid = pw->pw_uid;
		gid = pw->pw_gid;
		if (conf->group != NULL) {
			if ((gr = getgrnam(conf->group)) == NULL) {
				xasprintf(cause, "no such group %s",
				    conf->group);
				return (-1);
			}
			gid = gr->gr_gid;
		}
	}
	if (conf->media_dir != NULL)
		dir = xstrdup(conf->media_dir);
	else
		xasprintf(&dir, "%s/media", conf->data_dir);
	/* The directory, or the nearest one above it that exists. */
	while (stat(dir, &st) == -1) {
		if (errno != ENOENT || (slash = strrchr(dir, '/')) == NULL) {
			xasprintf(cause, "media_dir %s: %s", dir,
			    strerror(errno));
			goto out;
		}
		if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
	if (!S_ISDIR(st.st_mode)) {
		xasprintf(cause, "media_dir %s is not a directory", dir);
		goto out;
	}
	if (uid == geteuid())
		ok = access(dir, W_OK | X_OK) == 0;
	else
		ok = dir_writable(&st, uid, gid);
	if (!ok) {
		xasprintf(cause, "media_dir: user %s cannot create files in %s",
		    conf->user != NULL ? conf->user : "running tickd", dir);
		goto out;
	}
	rc = 0;
out:
	free(dir);
	return (rc);
}
