/* SPDX-License-Identifier: ISC */
/*
 * store-media.c: the media records of tickd-protocol(7) MEDIA, keyed by
 * their 16-byte ID, and the indexes kept beside them in the same
 * transaction: each user's IDs, each file's count of IDs naming it, the
 * unreferenced IDs by the time they became so (for expiry without a pass
 * over every record), the files no ID names any more (to be unlinked),
 * each message's media references (to release them with its items) and,
 * in a cluster, how many references each other node holds to an ID.
 */
#include <string.h>

#define STORE_INTERNAL
#include "tickd.h"

#define UKEY_MAX	(NAME_USER_MAX + 1 + MEDIA_ID_BYTES)
#define IKEY_BYTES	(8 + MEDIA_ID_BYTES)

/* The meta record holding the file count and their bytes. */
#define META_MEDIA	"media_files"

/* A per-user index key: "user\0" then the ID. */
static int
ukey_make(uint8_t *k, size_t *klen, const char *user, const uint8_t *id)
{
	size_t	ulen;

	ulen = strnlen(user, NAME_USER_MAX + 1);
	if (ulen == 0 || ulen > NAME_USER_MAX)
		return (-1);
	memcpy(k, user, ulen);
	k[ulen] = '\0';
	if (id != NULL)
		memcpy(k + ulen + 1, id, MEDIA_ID_BYTES);
	*klen = ulen + 1 + (id != NULL ? MEDIA_ID_BYTES : 0);
	return (0);
}

/* The time an unreferenced ID's life is counted from. */
static uint64_t
idle_since(const struct media_rec *r)
{
	return (r->last_ref > r->created ? r->last_ref : r->created);
}

/* An idle index key: the time big-endian, so walks go oldest first. */
static void
ikey_make(uint8_t *k, uint64_t since, const uint8_t *id)
{
	be64enc(k, since);
	memcpy(k + 8, id, MEDIA_ID_BYTES);
}

/* Encodes a media record. */
static void
media_enc(struct enc *e, const struct media_rec *r)
{
	enc_init(e);
	enc_str(e, r->uploader, NAME_USER_MAX);
	enc_bytes(e, r->sha256, sizeof r->sha256);
	enc_u64(e, r->size);
	enc_u64(e, r->created);
	enc_u64(e, r->last_ref);
	enc_u64(e, r->refs);
	enc_str(e, r->type, MEDIA_TYPE_MAX);
}

/* Decodes a media record; -1 if it is damaged. */
static int
media_dec(const MDB_val *v, struct media_rec *r)
{
	struct dec	d;

	memset(r, 0, sizeof *r);
	dec_init(&d, v);
	dec_str(&d, r->uploader, NAME_USER_MAX);
	dec_bytes(&d, r->sha256, sizeof r->sha256);
	r->size = dec_u64(&d);
	r->created = dec_u64(&d);
	r->last_ref = dec_u64(&d);
	r->refs = dec_u64(&d);
	dec_str(&d, r->type, MEDIA_TYPE_MAX);
	return (dec_end(&d));
}

/* Reads the count of files and their bytes. */
int
store_media_totals(struct txn *txn, uint64_t *files, uint64_t *bytes)
{
	uint64_t	v[2];
	int		rc;

	rc = meta_get_u64s(txn, META_MEDIA, v, 2);
	if (rc == STORE_NOTFOUND) {
		v[0] = v[1] = 0;
		rc = STORE_OK;
	}
	if (rc != STORE_OK)
		return (rc);
	*files = v[0];
	*bytes = v[1];
	return (STORE_OK);
}

/* Adds (sign > 0) or takes away one file of size bytes to the totals. */
static int
totals_add(struct txn *txn, int sign, uint64_t size)
{
	uint64_t	v[2];
	int		rc;

	if ((rc = store_media_totals(txn, &v[0], &v[1])) != STORE_OK)
		return (rc);
	if (sign > 0) {
		v[0]++;
		v[1] += size;
	} else {
		v[0] = v[0] > 0 ? v[0] - 1 : 0;
		v[1] = v[1] > size ? v[1] - size : 0;
	}
	return (meta_put_u64s(txn, META_MEDIA, v, 2));
}

/* Reads a file's count of IDs and its size. */
int
store_media_file_get(struct txn *txn, const uint8_t sha[32],
    struct media_file *f)
{
	MDB_val		v;
	struct dec	d;
	int		rc;

	if ((rc = db_get(txn, DB_MEDIA_FILE, sha, 32, &v)) != STORE_OK)
		return (rc);
	dec_init(&d, &v);
	f->ids = dec_u64(&d);
	f->size = dec_u64(&d);
	if (dec_end(&d) != 0)
		return (txn_fail(txn, DB_MEDIA_FILE, "bad record"));
	return (STORE_OK);
}

/* Writes a file's record. */
static int
file_put(struct txn *txn, const uint8_t sha[32], const struct media_file *f)
{
	struct enc	e;

	enc_init(&e);
	enc_u64(&e, f->ids);
	enc_u64(&e, f->size);
	return (db_put(txn, DB_MEDIA_FILE, sha, 32, e.b, e.len, 0));
}

/* One more ID names the file sha; a new file leaves the unlink list. */
static int
file_ref(struct txn *txn, const uint8_t sha[32], uint64_t size)
{
	struct media_file	f;
	int			rc;

	rc = store_media_file_get(txn, sha, &f);
	if (rc == STORE_NOTFOUND) {
		f.ids = 0;
		f.size = size;
		if ((rc = totals_add(txn, 1, size)) != STORE_OK)
			return (rc);
		rc = db_del(txn, DB_MEDIA_GONE, sha, 32);
		if (rc != STORE_OK && rc != STORE_NOTFOUND)
			return (rc);
	} else if (rc != STORE_OK)
		return (rc);
	f.ids++;
	return (file_put(txn, sha, &f));
}

/* One ID less names the file sha; the last one puts it on the list. */
static int
file_unref(struct txn *txn, const uint8_t sha[32])
{
	struct media_file	f;
	struct enc		e;
	int			rc;

	if ((rc = store_media_file_get(txn, sha, &f)) == STORE_NOTFOUND)
		return (STORE_OK);
	if (rc != STORE_OK)
		return (rc);
	if (f.ids > 1) {
		f.ids--;
		return (file_put(txn, sha, &f));
	}
	if ((rc = db_del(txn, DB_MEDIA_FILE, sha, 32)) != STORE_OK ||
	    (rc = totals_add(txn, -1, f.size)) != STORE_OK)
		return (rc);
	enc_init(&e);
	return (db_put(txn, DB_MEDIA_GONE, sha, 32, e.b, e.len, 0));
}

/* Reads the record of ID id. */
int
store_media_get(struct txn *txn, const uint8_t id[MEDIA_ID_BYTES],
    struct media_rec *r)
{
	MDB_val	v;
	int	rc;

	if ((rc = db_get(txn, DB_MEDIA, id, MEDIA_ID_BYTES, &v)) != STORE_OK)
		return (rc);
	if (media_dec(&v, r) != 0)
		return (txn_fail(txn, DB_MEDIA, "bad record"));
	return (STORE_OK);
}

/* Enters or removes an unreferenced ID in the idle index. */
static int
idle_set(struct txn *txn, const uint8_t *id, const struct media_rec *r,
    int on)
{
	struct enc	e;
	uint8_t		k[IKEY_BYTES];
	int		rc;

	ikey_make(k, idle_since(r), id);
	if (on) {
		enc_init(&e);
		return (db_put(txn, DB_MEDIA_IDLE, k, sizeof k, e.b, e.len,
		    0));
	}
	rc = db_del(txn, DB_MEDIA_IDLE, k, sizeof k);
	return (rc == STORE_NOTFOUND ? STORE_OK : rc);
}

/*
 * Adds a new ID with its user index entry, counts it on its file and, as
 * it is not referenced yet, enters it in the idle index.  STORE_EXISTS if
 * the ID is taken.
 */
int
store_media_add(struct txn *txn, const uint8_t id[MEDIA_ID_BYTES],
    const struct media_rec *r)
{
	struct enc	e;
	uint8_t		k[UKEY_MAX];
	size_t		klen;
	int		rc;

	if (ukey_make(k, &klen, r->uploader, id) != 0)
		return (txn_fail(txn, DB_MEDIA, "bad uploader name"));
	media_enc(&e, r);
	rc = db_put(txn, DB_MEDIA, id, MEDIA_ID_BYTES, e.b, e.len,
	    MDB_NOOVERWRITE);
	if (rc != STORE_OK)
		return (rc);
	enc_init(&e);
	if ((rc = db_put(txn, DB_MEDIA_USER, k, klen, e.b, e.len, 0)) !=
	    STORE_OK || (rc = file_ref(txn, r->sha256, r->size)) != STORE_OK)
		return (rc);
	return (r->refs == 0 ? idle_set(txn, id, r, 1) : STORE_OK);
}

/*
 * Rewrites an ID's record (its references changed), moving it in the
 * idle index as old and new say.
 */
int
store_media_put(struct txn *txn, const uint8_t id[MEDIA_ID_BYTES],
    const struct media_rec *old, const struct media_rec *r)
{
	struct enc	e;
	int		rc;

	if (old->refs == 0 && (rc = idle_set(txn, id, old, 0)) != STORE_OK)
		return (rc);
	if (r->refs == 0 && (rc = idle_set(txn, id, r, 1)) != STORE_OK)
		return (rc);
	media_enc(&e, r);
	return (db_put(txn, DB_MEDIA, id, MEDIA_ID_BYTES, e.b, e.len, 0));
}

/*
 * Deletes an ID (record r as read) with its index entries and the other
 * nodes' counts of it; a file no ID names any more goes on the unlink
 * list.
 */
int
store_media_del(struct txn *txn, const uint8_t id[MEDIA_ID_BYTES],
    const struct media_rec *r)
{
	struct walk	w = { .arg = NULL };
	uint8_t		k[UKEY_MAX];
	size_t		klen;
	int		rc;

	if ((rc = db_del(txn, DB_MEDIA, id, MEDIA_ID_BYTES)) != STORE_OK)
		return (rc);
	if (ukey_make(k, &klen, r->uploader, id) == 0) {
		rc = db_del(txn, DB_MEDIA_USER, k, klen);
		if (rc != STORE_OK && rc != STORE_NOTFOUND)
			return (rc);
	}
	if (r->refs == 0 && (rc = idle_set(txn, id, r, 0)) != STORE_OK)
		return (rc);
	if ((rc = db_walk(txn, DB_MEDIA_RREFS, id, MEDIA_ID_BYTES, NULL, 0, 0,
	    drop_fn, &w)) != STORE_OK)
		return (rc);
	return (file_unref(txn, r->sha256));
}

/* Media walk adapter: (id, record); a damaged record gets NULL. */
static int
media_walk_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	struct media_rec	r;

	if (k->mv_size != MEDIA_ID_BYTES)
		return (w->fn.media(w->arg, NULL, NULL));
	if (media_dec(v, &r) != 0)
		return (w->fn.media(w->arg, k->mv_data, NULL));
	return (w->fn.media(w->arg, k->mv_data, &r));
}

/*
 * Every ID in ID order.  A damaged record is passed as NULL (with a NULL
 * id if its key is malformed) for verify; the callback may delete.
 */
int
store_media_walk(struct txn *txn, int (*fn)(void *, const uint8_t *,
    const struct media_rec *), void *arg)
{
	struct walk	w = { .fn.media = fn, .arg = arg };

	return (db_walk(txn, DB_MEDIA, "", 0, NULL, 0, 0, media_walk_fn,
	    &w));
}

/* User index walk adapter: the ID of each entry. */
static int
media_user_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	const uint8_t	*p = k->mv_data;

	(void)v;
	if (k->mv_size < 1 + MEDIA_ID_BYTES)
		return (walk_corrupt(w));
	return (w->fn.media_id(w->arg, 0,
	    p + k->mv_size - MEDIA_ID_BYTES));
}

/* The IDs user uploaded that still have records, in ID order. */
int
store_media_user_walk(struct txn *txn, const char *user,
    int (*fn)(void *, uint64_t, const uint8_t *), void *arg)
{
	struct walk	w = { .fn.media_id = fn, .arg = arg };
	uint8_t		k[UKEY_MAX];
	size_t		klen;

	if (ukey_make(k, &klen, user, NULL) != 0)
		return (STORE_OK);
	return (db_walk(txn, DB_MEDIA_USER, k, klen, NULL, 0, 0,
	    media_user_fn, &w));
}

/* Idle index walk adapter: (since, id). */
static int
media_idle_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	uint64_t	since = 0;
	const uint8_t	*p = k->mv_data;
	int		i;

	(void)v;
	if (k->mv_size != IKEY_BYTES)
		return (walk_corrupt(w));
	for (i = 0; i < 8; i++)
		since = since << 8 | p[i];
	return (w->fn.media_id(w->arg, since, p + 8));
}

/*
 * The unreferenced IDs, those idle longest first, with the time since
 * which they are; the callback may delete the entry it is given only
 * through store_media_put or store_media_del after stopping.
 */
int
store_media_idle_walk(struct txn *txn, int (*fn)(void *, uint64_t,
    const uint8_t *), void *arg)
{
	struct walk	w = { .fn.media_id = fn, .arg = arg };

	return (db_walk(txn, DB_MEDIA_IDLE, "", 0, NULL, 0, 0,
	    media_idle_fn, &w));
}

/* File and unlink-list walk adapter: (sha, file or NULL). */
static int
media_sha_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	struct media_file	f;
	struct dec		d;

	if (k->mv_size != 32)
		return (walk_corrupt(w));
	if (v->mv_size == 1)
		return (w->fn.media_sha(w->arg, k->mv_data, NULL));
	dec_init(&d, v);
	f.ids = dec_u64(&d);
	f.size = dec_u64(&d);
	if (dec_end(&d) != 0)
		return (walk_corrupt(w));
	return (w->fn.media_sha(w->arg, k->mv_data, &f));
}

/* Every file with its count of IDs; the callback may delete. */
int
store_media_file_walk(struct txn *txn, int (*fn)(void *, const uint8_t *,
    const struct media_file *), void *arg)
{
	struct walk	w = { .fn.media_sha = fn, .arg = arg };

	return (db_walk(txn, DB_MEDIA_FILE, "", 0, NULL, 0, 0, media_sha_fn,
	    &w));
}

/* Every file on the unlink list (the record is NULL); may delete. */
int
store_media_gone_walk(struct txn *txn, int (*fn)(void *, const uint8_t *,
    const struct media_file *), void *arg)
{
	struct walk	w = { .fn.media_sha = fn, .arg = arg };

	return (db_walk(txn, DB_MEDIA_GONE, "", 0, NULL, 0, 0, media_sha_fn,
	    &w));
}

/* Whether sha is on the unlink list: STORE_OK or STORE_NOTFOUND. */
int
store_media_gone_get(struct txn *txn, const uint8_t sha[32])
{
	MDB_val	v;

	return (db_get(txn, DB_MEDIA_GONE, sha, 32, &v));
}

/* Takes sha off the unlink list once its file is unlinked. */
int
store_media_gone_del(struct txn *txn, const uint8_t sha[32])
{
	int	rc;

	rc = db_del(txn, DB_MEDIA_GONE, sha, 32);
	return (rc == STORE_NOTFOUND ? STORE_OK : rc);
}

/*
 * Sets a file's count of IDs, for repair: 0 deletes the record and puts
 * the file on the unlink list; a file with no record gets one.
 */
int
store_media_file_set(struct txn *txn, const uint8_t sha[32], uint64_t ids,
    uint64_t size)
{
	struct media_file	f;
	int			rc;

	rc = store_media_file_get(txn, sha, &f);
	if (rc != STORE_OK && rc != STORE_NOTFOUND)
		return (rc);
	if (rc == STORE_OK && ids == 0) {
		f.ids = 1;
		if ((rc = file_put(txn, sha, &f)) != STORE_OK)
			return (rc);
		return (file_unref(txn, sha));
	}
	if (rc == STORE_NOTFOUND) {
		if (ids == 0)
			return (STORE_OK);
		if ((rc = file_ref(txn, sha, size)) != STORE_OK)
			return (rc);
		f.size = size;
	}
	f.ids = ids;
	return (file_put(txn, sha, &f));
}

/*
 * Decodes a message's media references: the count of items, the IDs,
 * then their owners if one of them is another node (records written
 * before tickd-cluster(7), Media in messages between nodes references end
 * with the IDs); -1 if damaged.
 */
static int
refs_dec(struct dec *d, struct media_refs *m)
{
	size_t	i;

	memset(m, 0, sizeof *m);
	m->items = dec_u64(d);
	m->n = dec_u8(d);
	if (m->n > MEDIA_REFS_MAX)
		return (-1);
	dec_bytes(d, m->ids, (size_t)m->n * MEDIA_ID_BYTES);
	for (i = 0; i < m->n && !d->bad && d->off < d->len; i++)
		dec_str(d, m->node[i], MEDIA_NODE_MAX);
	return (dec_end(d));
}

/* Reads the media references of the message whose items carry mid. */
int
store_media_refs_get(struct txn *txn, const struct mid *mid,
    struct media_refs *m)
{
	MDB_val		v;
	struct dec	d;
	uint8_t		k[MID_BYTES];
	int		rc;

	mid_encode(mid, k);
	if ((rc = db_get(txn, DB_MEDIA_REFS, k, sizeof k, &v)) != STORE_OK)
		return (rc);
	dec_init(&d, &v);
	if (refs_dec(&d, m) != 0)
		return (txn_fail(txn, DB_MEDIA_REFS, "bad record"));
	return (STORE_OK);
}

/* Writes a message's media references. */
int
store_media_refs_put(struct txn *txn, const struct mid *mid,
    const struct media_refs *m)
{
	struct enc	e;
	uint8_t		k[MID_BYTES];
	size_t		i, j;

	mid_encode(mid, k);
	enc_init(&e);
	enc_u64(&e, m->items);
	enc_u8(&e, m->n);
	enc_bytes(&e, m->ids, (size_t)m->n * MEDIA_ID_BYTES);
	/* The owners follow only if one is another node. */
	for (i = 0; i < m->n && m->node[i][0] == '\0'; i++)
		;
	for (j = 0; i < m->n && j < m->n; j++)
		enc_str(&e, m->node[j], MEDIA_NODE_MAX);
	return (db_put(txn, DB_MEDIA_REFS, k, sizeof k, e.b, e.len, 0));
}

/* Forgets a message's media references. */
int
store_media_refs_del(struct txn *txn, const struct mid *mid)
{
	uint8_t	k[MID_BYTES];

	mid_encode(mid, k);
	return (db_del(txn, DB_MEDIA_REFS, k, sizeof k));
}

/* Media references walk adapter. */
static int
media_refs_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	struct media_refs	m;
	struct dec		d;
	struct mid		mid;

	if (k->mv_size != MID_BYTES)
		return (walk_corrupt(w));
	mid_decode(k->mv_data, &mid);
	dec_init(&d, v);
	if (refs_dec(&d, &m) != 0)
		return (walk_corrupt(w));
	return (w->fn.media_refs(w->arg, &mid, &m));
}

/* Every message's media references, in mid order; may delete. */
int
store_media_refs_walk(struct txn *txn, int (*fn)(void *, const struct mid *,
    const struct media_refs *), void *arg)
{
	struct walk	w = { .fn.media_refs = fn, .arg = arg };

	return (db_walk(txn, DB_MEDIA_REFS, "", 0, NULL, 0, 0,
	    media_refs_fn, &w));
}

/* An rref key: the ID, then the node's name. */
static int
rkey_make(uint8_t *k, size_t *klen, const uint8_t *id, const char *node)
{
	size_t	nlen;

	nlen = strnlen(node, MEDIA_NODE_MAX + 1);
	if (nlen == 0 || nlen > MEDIA_NODE_MAX)
		return (-1);
	memcpy(k, id, MEDIA_ID_BYTES);
	memcpy(k + MEDIA_ID_BYTES, node, nlen);
	*klen = MEDIA_ID_BYTES + nlen;
	return (0);
}

/* Decodes an rref count; -1 if it is damaged. */
static int
rref_dec(const MDB_val *v, int64_t *c)
{
	struct dec	d;

	dec_init(&d, v);
	*c = (int64_t)dec_u64(&d);
	return (dec_end(&d));
}

/* Reads node's count of references to id, 0 if it has none. */
int
store_media_rref_get(struct txn *txn, const uint8_t id[MEDIA_ID_BYTES],
    const char *node, int64_t *c)
{
	MDB_val	v;
	uint8_t	k[MEDIA_ID_BYTES + MEDIA_NODE_MAX];
	size_t	klen;
	int	rc;

	*c = 0;
	if (rkey_make(k, &klen, id, node) != 0)
		return (STORE_ERR);
	if ((rc = db_get(txn, DB_MEDIA_RREFS, k, klen, &v)) ==
	    STORE_NOTFOUND)
		return (STORE_OK);
	if (rc != STORE_OK)
		return (rc);
	if (rref_dec(&v, c) != 0)
		return (txn_fail(txn, DB_MEDIA_RREFS, "bad record"));
	return (STORE_OK);
}

/* Sets node's count of references to id; a count of 0 is no entry. */
int
store_media_rref_put(struct txn *txn, const uint8_t id[MEDIA_ID_BYTES],
    const char *node, int64_t c)
{
	struct enc	e;
	uint8_t		k[MEDIA_ID_BYTES + MEDIA_NODE_MAX];
	size_t		klen;
	int		rc;

	if (rkey_make(k, &klen, id, node) != 0)
		return (STORE_ERR);
	if (c == 0) {
		rc = db_del(txn, DB_MEDIA_RREFS, k, klen);
		return (rc == STORE_NOTFOUND ? STORE_OK : rc);
	}
	enc_init(&e);
	enc_u64(&e, (uint64_t)c);
	return (db_put(txn, DB_MEDIA_RREFS, k, klen, e.b, e.len, 0));
}

/* rref walk adapter: (id, node, count). */
static int
media_rref_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	char	node[MEDIA_NODE_MAX + 1];
	size_t	nlen;
	int64_t	c;

	if (k->mv_size <= MEDIA_ID_BYTES ||
	    k->mv_size > MEDIA_ID_BYTES + MEDIA_NODE_MAX ||
	    rref_dec(v, &c) != 0)
		return (walk_corrupt(w));
	nlen = k->mv_size - MEDIA_ID_BYTES;
	memcpy(node, (const uint8_t *)k->mv_data + MEDIA_ID_BYTES, nlen);
	node[nlen] = '\0';
	return (w->fn.media_rref(w->arg, k->mv_data, node, c));
}

/* Every other node's count of references, by ID (id's alone if not NULL). */
int
store_media_rref_walk(struct txn *txn, const uint8_t *id,
    int (*fn)(void *, const uint8_t *, const char *, int64_t), void *arg)
{
	struct walk	w = { .fn.media_rref = fn, .arg = arg };

	return (db_walk(txn, DB_MEDIA_RREFS, id != NULL ? id : (const
	    uint8_t *)"", id != NULL ? MEDIA_ID_BYTES : 0, NULL, 0, 0,
	    media_rref_fn, &w));
}
