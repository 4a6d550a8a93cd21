/* SPDX-License-Identifier: ISC */
/*
 * store-chat.c: the chat's records (store.h): users and their settings,
 * devices, tokens, queues, messages, dedup records and blocks.
 */
#include <string.h>

#include <lmdb.h>

#define STORE_INTERNAL
#include "store.h"
#include "tickd.h"

/* Encodes an account record. */
static void
user_enc(struct enc *e, const struct user_rec *u)
{
	enc_init(e);
	enc_u64(e, u->created);
	enc_u64(e, u->last_seen);
	enc_bytes(e, u->salt, sizeof u->salt);
	enc_bytes(e, u->hash, sizeof u->hash);
	enc_u8(e, u->read_receipts);
	enc_u8(e, u->last_seen_vis);
	enc_u8(e, u->kdf);
	enc_u8(e, u->kdf_ln);
	enc_u8(e, u->kdf_r);
	enc_u8(e, u->kdf_p);
}

/*
 * Decodes an account record; -1 if it is malformed.  One written before
 * the KDF was stored ends after last_seen_vis: scrypt at the old cost.
 */
static int
user_dec(const MDB_val *v, struct user_rec *u)
{
	struct dec	d;

	dec_init(&d, v);
	u->created = dec_u64(&d);
	u->last_seen = dec_u64(&d);
	dec_bytes(&d, u->salt, sizeof u->salt);
	dec_bytes(&d, u->hash, sizeof u->hash);
	u->read_receipts = dec_u8(&d);
	u->last_seen_vis = dec_u8(&d);
	if (!d.bad && d.off == d.len) {
		u->kdf = KDF_SCRYPT;
		u->kdf_ln = KDF_SCRYPT_LN;
		u->kdf_r = KDF_SCRYPT_R;
		u->kdf_p = KDF_SCRYPT_P;
		return (0);
	}
	u->kdf = dec_u8(&d);
	u->kdf_ln = dec_u8(&d);
	u->kdf_r = dec_u8(&d);
	u->kdf_p = dec_u8(&d);
	return (dec_end(&d));
}

/* Reads an account. */
int
store_user_get(struct txn *txn, const char *name, struct user_rec *u)
{
	struct nkey	k;
	MDB_val		v;
	int		rc;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (nkey_make(&k, name, NAME_USER_MAX, NULL, 0) != 0)
		return (STORE_NOTFOUND);
	if ((rc = db_get(txn, DB_USERS, k.b, k.len, &v)) != STORE_OK)
		return (rc);
	if (user_dec(&v, u) != 0)
		return (txn_fail(txn, DB_USERS, "corrupt record"));
	return (STORE_OK);
}

/* Writes an account with the given LMDB put flags. */
static int
user_write(struct txn *txn, const char *name, const struct user_rec *u,
    unsigned int flags)
{
	struct nkey	k;
	struct enc	e;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (nkey_make(&k, name, NAME_USER_MAX, NULL, 0) != 0)
		return (txn_fail(txn, DB_USERS, "name too long"));
	user_enc(&e, u);
	return (db_put(txn, DB_USERS, k.b, k.len, e.b, e.len, flags));
}

/* Creates an account; STORE_EXISTS if the name is taken. */
int
store_user_add(struct txn *txn, const char *name, const struct user_rec *u)
{
	return (user_write(txn, name, u, MDB_NOOVERWRITE));
}

/* Creates or replaces an account. */
int
store_user_put(struct txn *txn, const char *name, const struct user_rec *u)
{
	return (user_write(txn, name, u, 0));
}

/* Deletes an account record; its devices, queues and the rest stay. */
int
store_user_del(struct txn *txn, const char *name)
{
	struct nkey	k;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (nkey_make(&k, name, NAME_USER_MAX, NULL, 0) != 0)
		return (STORE_NOTFOUND);
	return (db_del(txn, DB_USERS, k.b, k.len));
}

/* Walk adapter for accounts. */
static int
user_walk_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	char		name[NAME_USER_MAX + 1];
	struct user_rec	u;

	if (name_copy(name, NAME_USER_MAX, k->mv_data, k->mv_size) != 0 ||
	    user_dec(v, &u) != 0)
		return (walk_corrupt(w));
	return (w->fn.user(w->arg, name, &u));
}

/* Walks every account in name order. */
int
store_user_walk(struct txn *txn, int (*fn)(void *, const char *,
    const struct user_rec *), void *arg)
{
	struct walk	w = { .fn.user = fn, .arg = arg };

	return (db_walk(txn, DB_USERS, "", 0, NULL, 0, 0, user_walk_fn, &w));
}

/*
 * Walks the accounts in name order after the name after, or from the first
 * with NULL, so that a long walk can go on in a later transaction.
 */
int
store_user_walk_after(struct txn *txn, const char *after,
    int (*fn)(void *, const char *, const struct user_rec *), void *arg)
{
	struct walk	w = { .fn.user = fn, .arg = arg };
	struct nkey	k;

	if (after == NULL)
		return (store_user_walk(txn, fn, arg));
	if (nkey_make(&k, after, NAME_USER_MAX, NULL, 0) != 0)
		return (txn_fail(txn, DB_USERS, "name too long"));
	return (db_walk(txn, DB_USERS, "", 0, k.b, k.len, 1, user_walk_fn,
	    &w));
}

/* Encodes a device record. */
static void
dev_enc(struct enc *e, const struct dev_rec *r)
{
	enc_init(e);
	enc_u64(e, r->qid);
	enc_u64(e, r->created);
	enc_u64(e, r->last_active);
	enc_u64(e, r->count);
	enc_u64(e, r->bytes);
	enc_u8(e, r->claimed);
}

/* Decodes a device record; -1 if it is malformed. */
static int
dev_dec(const MDB_val *v, struct dev_rec *r)
{
	struct dec	d;

	dec_init(&d, v);
	r->qid = dec_u64(&d);
	r->created = dec_u64(&d);
	r->last_active = dec_u64(&d);
	r->count = dec_u64(&d);
	r->bytes = dec_u64(&d);
	r->claimed = dec_u8(&d);
	return (dec_end(&d));
}

/* Reads one of user's devices. */
int
store_device_get(struct txn *txn, const char *user, const char *device,
    struct dev_rec *r)
{
	struct nkey	k;
	MDB_val		v;
	int		rc;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (nkey_make(&k, user, NAME_USER_MAX, device, NAME_DEVICE_MAX) != 0)
		return (STORE_NOTFOUND);
	if ((rc = db_get(txn, DB_DEVICES, k.b, k.len, &v)) != STORE_OK)
		return (rc);
	if (dev_dec(&v, r) != 0)
		return (txn_fail(txn, DB_DEVICES, "corrupt record"));
	return (STORE_OK);
}

/*
 * Takes a device record out of the transaction's totals (sign -1) or puts
 * it in (+1), if there is one at k.
 */
static void
dev_delta(struct txn *txn, const struct nkey *k, int sign)
{
	struct dev_rec	old;
	MDB_val		v;

	if (db_get(txn, DB_DEVICES, k->b, k->len, &v) != STORE_OK ||
	    dev_dec(&v, &old) != 0)
		return;
	txn->delta.devices += sign;
	txn->delta.items += sign * (int64_t)old.count;
	txn->delta.bytes += sign * (int64_t)old.bytes;
}

/*
 * Writes r as one of user's devices, old being the record there as this
 * transaction last wrote or read it (NULL: none, or not known, so read).
 */
static int
dev_put(struct txn *txn, const char *user, const char *device,
    const struct dev_rec *old, const struct dev_rec *r)
{
	struct nkey	k;
	struct enc	e;
	int		rc;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (nkey_make(&k, user, NAME_USER_MAX, device, NAME_DEVICE_MAX) != 0)
		return (txn_fail(txn, DB_DEVICES, "name too long"));
	dev_enc(&e, r);
	if (old == NULL)
		dev_delta(txn, &k, -1);
	else {
		txn->delta.devices--;
		txn->delta.items -= (int64_t)old->count;
		txn->delta.bytes -= (int64_t)old->bytes;
	}
	if ((rc = db_put(txn, DB_DEVICES, k.b, k.len, e.b, e.len, 0)) ==
	    STORE_OK) {
		txn->delta.devices++;
		txn->delta.items += (int64_t)r->count;
		txn->delta.bytes += (int64_t)r->bytes;
	}
	return (rc);
}

/* Creates or replaces one of user's devices. */
int
store_device_put(struct txn *txn, const char *user, const char *device,
    const struct dev_rec *r)
{
	return (dev_put(txn, user, device, NULL, r));
}

/*
 * Replaces one of user's devices whose record, as this transaction last
 * read or wrote it, is old: the totals are kept without reading it again.
 */
int
store_device_update(struct txn *txn, const char *user, const char *device,
    const struct dev_rec *old, const struct dev_rec *r)
{
	return (dev_put(txn, user, device, old, r));
}

/* Deletes a device record; its queue stays. */
int
store_device_del(struct txn *txn, const char *user, const char *device)
{
	struct nkey	k;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (nkey_make(&k, user, NAME_USER_MAX, device, NAME_DEVICE_MAX) != 0)
		return (STORE_NOTFOUND);
	dev_delta(txn, &k, -1);
	return (db_del(txn, DB_DEVICES, k.b, k.len));
}

/* Walk adapter for devices: splits the key at its NUL. */
static int
dev_walk_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	char		 user[NAME_USER_MAX + 1], dev[NAME_DEVICE_MAX + 1];
	const char	*p = k->mv_data, *nul;
	struct dev_rec	 r;
	size_t		 ulen;

	if ((nul = memchr(p, '\0', k->mv_size)) == NULL)
		return (walk_corrupt(w));
	ulen = nul - p;
	if (name_copy(user, NAME_USER_MAX, p, ulen) != 0 ||
	    name_copy(dev, NAME_DEVICE_MAX, nul + 1, k->mv_size - ulen - 1) !=
	    0 || dev_dec(v, &r) != 0)
		return (walk_corrupt(w));
	return (w->fn.dev(w->arg, user, dev, &r));
}

/* Walks one user's devices, or every device. */
int
store_device_walk(struct txn *txn, const char *user, int (*fn)(void *,
    const char *, const char *, const struct dev_rec *), void *arg)
{
	struct nkey	k;
	struct walk	w = { .fn.dev = fn, .arg = arg };

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (user == NULL)
		return (db_walk(txn, DB_DEVICES, "", 0, NULL, 0, 0,
		    dev_walk_fn, &w));
	if (nkey_make(&k, user, NAME_USER_MAX, "", 0) != 0)
		return (STORE_OK);
	return (db_walk(txn, DB_DEVICES, k.b, k.len, NULL, 0, 0, dev_walk_fn,
	    &w));
}

/*
 * The devices of the users whose names sort after user (of every user if
 * NULL), in key order: from "user\1", past every "user\0device" and
 * before any longer name, as names never hold a byte below '+'.
 */
int
store_device_walk_after(struct txn *txn, const char *user, int (*fn)(void *,
    const char *, const char *, const struct dev_rec *), void *arg)
{
	struct walk	w = { .fn.dev = fn, .arg = arg };
	char		seek[NAME_USER_MAX + 1];
	size_t		len;

	if (user == NULL)
		return (store_device_walk(txn, NULL, fn, arg));
	if ((len = strlen(user)) > NAME_USER_MAX)
		return (txn_fail(txn, DB_DEVICES, "name too long"));
	memcpy(seek, user, len);
	seek[len] = '\1';
	return (db_walk(txn, DB_DEVICES, "", 0, seek, len + 1, 0, dev_walk_fn,
	    &w));
}

/* Encodes a token record. */
static void
token_enc(struct enc *e, const struct token_rec *r)
{
	enc_init(e);
	enc_u64(e, r->expires);
	enc_u64(e, r->qid);
	enc_str(e, r->user, NAME_USER_MAX);
	enc_str(e, r->device, NAME_DEVICE_MAX);
}

/* Decodes a token record; -1 if it is malformed. */
static int
token_dec(const MDB_val *v, struct token_rec *r)
{
	struct dec	d;

	dec_init(&d, v);
	r->expires = dec_u64(&d);
	r->qid = dec_u64(&d);
	dec_str(&d, r->user, NAME_USER_MAX);
	dec_str(&d, r->device, NAME_DEVICE_MAX);
	return (dec_end(&d));
}

/* Reads the token stored under hash. */
int
store_token_get(struct txn *txn, const uint8_t hash[32], struct token_rec *r)
{
	MDB_val	v;
	int	rc;

	if ((rc = db_get(txn, DB_TOKENS, hash, 32, &v)) != STORE_OK)
		return (rc);
	if (token_dec(&v, r) != 0)
		return (txn_fail(txn, DB_TOKENS, "corrupt record"));
	return (STORE_OK);
}

/* Stores a token under its hash. */
int
store_token_put(struct txn *txn, const uint8_t hash[32],
    const struct token_rec *r)
{
	struct enc	e;

	token_enc(&e, r);
	return (db_put(txn, DB_TOKENS, hash, 32, e.b, e.len, 0));
}

/* Deletes the token stored under hash. */
int
store_token_del(struct txn *txn, const uint8_t hash[32])
{
	return (db_del(txn, DB_TOKENS, hash, 32));
}

/* Walk adapter for tokens. */
static int
token_walk_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	uint8_t			hash[32];
	struct token_rec	r;

	if (k->mv_size != sizeof hash || token_dec(v, &r) != 0)
		return (walk_corrupt(w));
	memcpy(hash, k->mv_data, sizeof hash);
	return (w->fn.token(w->arg, hash, &r));
}

/* Walks every token. */
int
store_token_walk(struct txn *txn, int (*fn)(void *, const uint8_t *,
    const struct token_rec *), void *arg)
{
	struct walk	w = { .fn.token = fn, .arg = arg };

	return (db_walk(txn, DB_TOKENS, "", 0, NULL, 0, 0, token_walk_fn, &w));
}

/* The tokens whose hash sorts after after's (every one if NULL). */
int
store_token_walk_after(struct txn *txn, const uint8_t *after, int (*fn)(void *,
    const uint8_t *, const struct token_rec *), void *arg)
{
	struct walk	w = { .fn.token = fn, .arg = arg };

	if (after == NULL)
		return (store_token_walk(txn, fn, arg));
	return (db_walk(txn, DB_TOKENS, "", 0, after, 32, 1, token_walk_fn,
	    &w));
}

/* An item's value: version, kind, ts, then the frame bytes. */
static int
item_dec(const MDB_val *v, struct item *it)
{
	const uint8_t	*p = v->mv_data;

	if (v->mv_size < ITEM_HDR || p[0] != STORE_RECORD_V1)
		return (-1);
	it->kind = p[1];
	memcpy(&it->ts, p + 2, sizeof it->ts);
	it->data = (const char *)p + ITEM_HDR;
	it->len = v->mv_size - ITEM_HDR;
	return (0);
}

/* Writes an item straight into the map with MDB_RESERVE. */
int
store_queue_put(struct txn *txn, uint64_t qid, const struct mid *mid,
    const struct item *it)
{
	uint8_t	 k[QKEY_BYTES], *p;
	MDB_val	 key, val;
	int	 rc;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	qkey_make(k, qid, mid);
	key.mv_data = k;
	key.mv_size = sizeof k;
	val.mv_data = NULL;
	val.mv_size = ITEM_HDR + it->len;
	rc = mdb_put(txn->txn, txn->store->dbi[DB_QUEUES], &key, &val,
	    MDB_RESERVE);
	if (rc != MDB_SUCCESS)
		return (txn_result(txn, rc, DB_QUEUES, "put"));
	live_touch(txn, qid, mid);
	p = val.mv_data;
	p[0] = STORE_RECORD_V1;
	p[1] = it->kind;
	memcpy(p + 2, &it->ts, sizeof it->ts);
	if (it->len > 0)
		memcpy(p + ITEM_HDR, it->data, it->len);
	return (STORE_OK);
}

/* Reads one item; its data points into the map. */
int
store_queue_get(struct txn *txn, uint64_t qid, const struct mid *mid,
    struct item *it)
{
	uint8_t	k[QKEY_BYTES];
	MDB_val	v;
	int	rc;

	qkey_make(k, qid, mid);
	if ((rc = db_get(txn, DB_QUEUES, k, sizeof k, &v)) != STORE_OK)
		return (rc);
	if (item_dec(&v, it) != 0)
		return (txn_fail(txn, DB_QUEUES, "corrupt record"));
	return (STORE_OK);
}

static int	item_forget(struct txn *, const struct mid *,
		    const struct item *, struct msg_rec *, int *, int);

/* item_dec for db_take. */
static int
item_take_dec(const MDB_val *v, void *it)
{
	return (item_dec(v, it));
}

/*
 * Deletes the item, reporting it in *old; the record of the message it
 * was is left in *m with *has_m set (m NULL: not wanted).  Unless keep is
 * set, the item comes off the message's sender's bytes.
 */
static int
queue_del(struct txn *txn, uint64_t qid, const struct mid *mid,
    struct item *old, struct msg_rec *m, int *has_m, int keep)
{
	struct msg_rec	 rec;
	int		 found;
	uint8_t		 k[QKEY_BYTES];
	struct item	 it;
	int		 rc;

	qkey_make(k, qid, mid);
	if ((rc = db_take(txn, DB_QUEUES, k, sizeof k, item_take_dec, &it)) !=
	    STORE_OK)
		return (rc);
	live_touch(txn, qid, mid);
	if ((rc = item_forget(txn, mid, &it, m != NULL ? m : &rec,
	    has_m != NULL ? has_m : &found, keep)) != STORE_OK)
		return (rc);
	if (old != NULL) {
		old->kind = it.kind;
		old->ts = it.ts;
		old->data = NULL;
		old->len = it.len;
	}
	return (STORE_OK);
}

/* See queue_del: the message's bytes are taken off its sender. */
int
store_queue_del(struct txn *txn, uint64_t qid, const struct mid *mid,
    struct item *old, struct msg_rec *m, int *has_m)
{
	return (queue_del(txn, qid, mid, old, m, has_m, 0));
}

/*
 * See queue_del: the message's bytes stay on its sender, for the caller
 * to take off in this transaction, once for many items.
 */
int
store_queue_take(struct txn *txn, uint64_t qid, const struct mid *mid,
    struct item *old, struct msg_rec *m, int *has_m)
{
	return (queue_del(txn, qid, mid, old, m, has_m, 1));
}

/* Walk adapter for queue items. */
static int
item_walk_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	const uint8_t	*p = k->mv_data;
	struct mid	 mid;
	struct item	 it;

	if (k->mv_size != QKEY_BYTES || item_dec(v, &it) != 0)
		return (walk_corrupt(w));
	mid_decode(p + 8, &mid);
	return (w->fn.item(w->arg, &mid, &it));
}

#define UBYTES_PREFIX	"ub:"	/* meta key of a user's stored bytes */

/*
 * The meta key of user's stored bytes, cut to size as snprintf would;
 * copied rather than formatted, as every send and ack makes it.
 */
static void
ubytes_key(char *key, size_t size, const char *user)
{
	size_t	plen = sizeof UBYTES_PREFIX - 1, n;

	n = strnlen(user, size - plen - 1);
	memcpy(key, UBYTES_PREFIX, plen);
	memcpy(key + plen, user, n);
	key[plen + n] = '\0';
}

/* The bytes whose meta key is key; 0 if none. */
static int
ubytes_get(struct txn *txn, const char *key, uint64_t *bytes)
{
	int	rc;

	rc = meta_get_u64s(txn, key, bytes, 1);
	if (rc == STORE_NOTFOUND) {
		*bytes = 0;
		return (STORE_OK);
	}
	return (rc);
}

/* The bytes user's messages occupy in every queue; 0 if none. */
int
store_user_bytes_get(struct txn *txn, const char *user, uint64_t *bytes)
{
	char	key[sizeof UBYTES_PREFIX + NAME_USER_MAX];

	ubytes_key(key, sizeof key, user);
	return (ubytes_get(txn, key, bytes));
}

/* Writes the bytes whose meta key is key; none, no record. */
static int
ubytes_put(struct txn *txn, const char *key, uint64_t v)
{
	int	rc;

	if (v != 0)
		return (meta_put_u64s(txn, key, &v, 1));
	rc = db_del(txn, DB_META, key, strlen(key));
	return (rc == STORE_NOTFOUND ? STORE_OK : rc);
}

/* Adds and takes off bytes of user's messages; none left, no record. */
int
store_user_bytes_add(struct txn *txn, const char *user, uint64_t add,
    uint64_t sub)
{
	char		key[sizeof UBYTES_PREFIX + NAME_USER_MAX];
	uint64_t	v;
	int		rc;

	ubytes_key(key, sizeof key, user);
	if ((rc = ubytes_get(txn, key, &v)) != STORE_OK)
		return (rc);
	v += add;
	v = v > sub ? v - sub : 0;
	return (ubytes_put(txn, key, v));
}

/* Sets the bytes of user's messages, as read in this transaction. */
int
store_user_bytes_set(struct txn *txn, const char *user, uint64_t bytes)
{
	char	key[sizeof UBYTES_PREFIX + NAME_USER_MAX];

	ubytes_key(key, sizeof key, user);
	return (ubytes_put(txn, key, bytes));
}

/*
 * A deleted item, if it is a message whose record is still there, is
 * taken off its sender's bytes unless keep is set; *found says whether
 * *m is that record.
 */
static int
item_forget(struct txn *txn, const struct mid *mid, const struct item *it,
    struct msg_rec *m, int *found, int keep)
{
	int	rc;

	*found = 0;
	if (it->kind != ITEM_MSG)
		return (STORE_OK);
	if ((rc = store_msg_get(txn, mid, m)) == STORE_NOTFOUND)
		return (STORE_OK);
	if (rc != STORE_OK)
		return (rc);
	*found = 1;
	/* A group send never counts (tickd.conf(5) max_user_bytes). */
	if (keep || m->to[0] == '#')
		return (STORE_OK);
	return (store_user_bytes_add(txn, m->from, 0, it->len));
}

/* See item_forget. */
int
store_item_forget(struct txn *txn, const struct mid *mid,
    const struct item *it)
{
	struct msg_rec	m;
	int		found;

	return (item_forget(txn, mid, it, &m, &found, 0));
}

/* Walk adapter for the stored bytes of users. */
static int
ubytes_walk_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	char		 user[NAME_USER_MAX + 1];
	size_t		 plen = strlen(UBYTES_PREFIX), n = k->mv_size - plen;
	struct dec	 d;
	MDB_val		 val = *v;
	uint64_t	 bytes;

	if (k->mv_size <= plen || n > NAME_USER_MAX)
		return (walk_corrupt(w));
	memcpy(user, (const char *)k->mv_data + plen, n);
	user[n] = '\0';
	dec_init(&d, &val);
	bytes = dec_u64(&d);
	if (dec_end(&d) != 0)
		return (walk_corrupt(w));
	return (w->fn.ubytes(w->arg, user, bytes));
}

/* Walks every user holding bytes in the queues. */
int
store_user_bytes_walk(struct txn *txn, int (*fn)(void *, const char *,
    uint64_t), void *arg)
{
	struct walk	w = { .fn.ubytes = fn, .arg = arg };

	return (db_walk(txn, DB_META, UBYTES_PREFIX, strlen(UBYTES_PREFIX),
	    NULL, 0, 0, ubytes_walk_fn, &w));
}

/* Walk adapter of store_queue_drop: deletes each item, forgetting it. */
static int
queue_drop_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	struct txn	*txn = w->arg;
	struct mid	 mid;
	struct item	 it;

	if (k->mv_size != QKEY_BYTES || item_dec(v, &it) != 0)
		return (walk_corrupt(w));
	mid_decode((const uint8_t *)k->mv_data + 8, &mid);
	if (store_item_forget(txn, &mid, &it) != STORE_OK)
		return (STORE_WALK_STOP);
	return (STORE_WALK_DELETE);
}

/* Walks queue qid after a mid (or from its head), in mid order. */
int
store_queue_walk(struct txn *txn, uint64_t qid, const struct mid *after,
    int (*fn)(void *, const struct mid *, const struct item *), void *arg)
{
	uint8_t		prefix[8], seek[QKEY_BYTES];
	struct walk	w = { .fn.item = fn, .arg = arg };

	be64enc(prefix, qid);
	if (after == NULL)
		return (db_walk(txn, DB_QUEUES, prefix, sizeof prefix, NULL, 0,
		    0, item_walk_fn, &w));
	qkey_make(seek, qid, after);
	return (db_walk(txn, DB_QUEUES, prefix, sizeof prefix, seek,
	    sizeof seek, 1, item_walk_fn, &w));
}

/* Deletes every item of queue qid. */
int
store_queue_drop(struct txn *txn, uint64_t qid)
{
	return (db_walk_num(txn, DB_QUEUES, qid, NULL, queue_drop_fn, txn));
}

/* Walk adapter for every queue: the qid, the mid and the item. */
static int
item_all_walk_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	struct walk_any	*wa = w->arg;
	const uint8_t	*p = k->mv_data;
	struct mid	 mid;
	struct item	 it;

	if (k->mv_size != QKEY_BYTES || item_dec(v, &it) != 0)
		return (walk_corrupt(w));
	mid_decode(p + 8, &mid);
	return (wa->fn.item(wa->arg, rid_dec(p), &mid, &it));
}

/* Walks the items of every queue, in qid then mid order. */
int
store_queue_walk_all(struct txn *txn, int (*fn)(void *, uint64_t,
    const struct mid *, const struct item *), void *arg)
{
	struct walk_any	wa = { .fn.item = fn, .arg = arg };

	return (walk_all(txn, DB_QUEUES, item_all_walk_fn, &wa));
}

/* What store_queue_next found. */
struct qnext {
	uint64_t	qid;
	int		found;
};

/* Walk adapter of store_queue_next: the first key's qid. */
static int
queue_next_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	struct qnext	*q = w->arg;

	(void)v;
	if (k->mv_size != QKEY_BYTES)
		return (walk_corrupt(w));
	q->qid = rid_dec(k->mv_data);
	q->found = 1;
	return (STORE_WALK_STOP);
}

/* The first queue numbered qid or above that holds an item. */
int
store_queue_next(struct txn *txn, uint64_t qid, uint64_t *next)
{
	struct qnext	q = { 0, 0 };
	struct walk	w = { .arg = &q };
	uint8_t		k[QKEY_BYTES];
	int		rc;

	qkey_make(k, qid, &mid_zero);
	rc = db_walk(txn, DB_QUEUES, "", 0, k, sizeof k, 0, queue_next_fn, &w);
	if (rc != STORE_OK)
		return (rc);
	if (!q.found)
		return (STORE_NOTFOUND);
	*next = q.qid;
	return (STORE_OK);
}

/* Encodes a message record. */
static void
msg_enc(struct enc *e, const struct msg_rec *r)
{
	enc_init(e);
	enc_u64(e, r->ts);
	enc_u8(e, r->flags);
	enc_str(e, r->from, NAME_USER_MAX);
	enc_str(e, r->from_device, NAME_DEVICE_MAX);
	enc_str(e, r->to, NAME_CHAT_MAX);
	enc_str(e, r->id, CLIENT_ID_MAX);
}

/* Decodes a message record; -1 if it is malformed. */
static int
msg_dec(const MDB_val *v, struct msg_rec *r)
{
	struct dec	d;

	dec_init(&d, v);
	r->ts = dec_u64(&d);
	r->flags = dec_u8(&d);
	dec_str(&d, r->from, NAME_USER_MAX);
	dec_str(&d, r->from_device, NAME_DEVICE_MAX);
	dec_str(&d, r->to, NAME_CHAT_MAX);
	dec_str(&d, r->id, CLIENT_ID_MAX);
	return (dec_end(&d));
}

/* Reads the record of message mid. */
int
store_msg_get(struct txn *txn, const struct mid *mid, struct msg_rec *r)
{
	uint8_t	k[MID_BYTES];
	MDB_val	v;
	int	rc;

	mid_encode(mid, k);
	if ((rc = db_get(txn, DB_MSGS, k, sizeof k, &v)) != STORE_OK)
		return (rc);
	if (msg_dec(&v, r) != 0)
		return (txn_fail(txn, DB_MSGS, "corrupt record"));
	return (STORE_OK);
}

/* Creates or replaces the record of message mid. */
int
store_msg_put(struct txn *txn, const struct mid *mid, const struct msg_rec *r)
{
	uint8_t		k[MID_BYTES];
	struct enc	e;

	mid_encode(mid, k);
	msg_enc(&e, r);
	return (db_put(txn, DB_MSGS, k, sizeof k, e.b, e.len, 0));
}

/* Deletes the record of message mid. */
int
store_msg_del(struct txn *txn, const struct mid *mid)
{
	uint8_t	k[MID_BYTES];

	mid_encode(mid, k);
	return (db_del(txn, DB_MSGS, k, sizeof k));
}

/* Walk adapter for message records. */
static int
msg_walk_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	struct mid	mid;
	struct msg_rec	r;

	if (k->mv_size != MID_BYTES || msg_dec(v, &r) != 0)
		return (walk_corrupt(w));
	mid_decode(k->mv_data, &mid);
	return (w->fn.msg(w->arg, &mid, &r));
}

/* Walks message records oldest first. */
int
store_msg_walk(struct txn *txn, int (*fn)(void *, const struct mid *,
    const struct msg_rec *), void *arg)
{
	struct walk	w = { .fn.msg = fn, .arg = arg };

	return (db_walk(txn, DB_MSGS, "", 0, NULL, 0, 0, msg_walk_fn, &w));
}

/* The message records after mid after (every one if NULL), oldest first. */
int
store_msg_walk_after(struct txn *txn, const struct mid *after,
    int (*fn)(void *, const struct mid *, const struct msg_rec *), void *arg)
{
	struct walk	w = { .fn.msg = fn, .arg = arg };
	uint8_t		k[MID_BYTES];

	if (after == NULL)
		return (store_msg_walk(txn, fn, arg));
	mid_encode(after, k);
	return (db_walk(txn, DB_MSGS, "", 0, k, sizeof k, 1, msg_walk_fn, &w));
}

/* Encodes a dedup record. */
static void
dedup_enc(struct enc *e, const struct dedup_rec *r)
{
	enc_init(e);
	enc_u64(e, r->mid.ms);
	enc_u64(e, r->mid.seq);
	enc_u64(e, r->ts);
	enc_str(e, r->to, NAME_CHAT_MAX);
}

/* Decodes a dedup record; -1 if it is malformed. */
static int
dedup_dec(const MDB_val *v, struct dedup_rec *r)
{
	struct dec	d;

	dec_init(&d, v);
	r->mid.ms = dec_u64(&d);
	r->mid.seq = dec_u64(&d);
	r->ts = dec_u64(&d);
	dec_str(&d, r->to, NAME_CHAT_MAX);
	return (dec_end(&d));
}

/* Reads what user's send with client id id got. */
int
store_dedup_get(struct txn *txn, const char *user, const char *id,
    struct dedup_rec *r)
{
	struct nkey	k;
	MDB_val		v;
	int		rc;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (nkey_make(&k, user, NAME_USER_MAX, id, CLIENT_ID_MAX) != 0)
		return (STORE_NOTFOUND);
	if ((rc = db_get(txn, DB_DEDUP, k.b, k.len, &v)) != STORE_OK)
		return (rc);
	if (dedup_dec(&v, r) != 0)
		return (txn_fail(txn, DB_DEDUP, "corrupt record"));
	return (STORE_OK);
}

/* Records what user's send with client id id got. */
int
store_dedup_put(struct txn *txn, const char *user, const char *id,
    const struct dedup_rec *r)
{
	struct nkey	k;
	struct enc	e;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (nkey_make(&k, user, NAME_USER_MAX, id, CLIENT_ID_MAX) != 0)
		return (txn_fail(txn, DB_DEDUP, "name too long"));
	dedup_enc(&e, r);
	return (db_put(txn, DB_DEDUP, k.b, k.len, e.b, e.len, 0));
}

/* Deletes a dedup record. */
int
store_dedup_del(struct txn *txn, const char *user, const char *id)
{
	struct nkey	k;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (nkey_make(&k, user, NAME_USER_MAX, id, CLIENT_ID_MAX) != 0)
		return (STORE_NOTFOUND);
	return (db_del(txn, DB_DEDUP, k.b, k.len));
}

/* Walk adapter for dedup records: splits the key at its NUL. */
static int
dedup_walk_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	struct walk_any		*wa = w->arg;
	struct dedup_rec	 r;
	char			 user[NAME_USER_MAX + 1], id[CLIENT_ID_MAX + 1];
	const char		*p = k->mv_data, *nul;
	size_t			 ulen;

	if ((nul = memchr(p, '\0', k->mv_size)) == NULL)
		return (walk_corrupt(w));
	ulen = nul - p;
	if (name_copy(user, NAME_USER_MAX, p, ulen) != 0 ||
	    name_copy(id, CLIENT_ID_MAX, nul + 1, k->mv_size - ulen - 1) != 0)
		return (walk_corrupt(w));
	if (dedup_dec(v, &r) != 0)
		return (walk_corrupt(w));
	return (wa->fn.dedup(wa->arg, user, id, &r));
}

/* Walks one user's dedup records, or every user's (user == NULL). */
int
store_dedup_walk(struct txn *txn, const char *user, int (*fn)(void *,
    const char *, const char *, const struct dedup_rec *), void *arg)
{
	struct walk_any	wa = { .fn.dedup = fn, .arg = arg };
	struct walk	w = { .arg = &wa };
	struct nkey	k;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (user == NULL)
		return (db_walk(txn, DB_DEDUP, "", 0, NULL, 0, 0,
		    dedup_walk_fn, &w));
	if (nkey_make(&k, user, NAME_USER_MAX, "", 0) != 0)
		return (STORE_OK);
	return (db_walk(txn, DB_DEDUP, k.b, k.len, NULL, 0, 0, dedup_walk_fn,
	    &w));
}

/* Every user's dedup records after user's id (all if user is NULL). */
int
store_dedup_walk_after(struct txn *txn, const char *user, const char *id,
    int (*fn)(void *, const char *, const char *, const struct dedup_rec *),
    void *arg)
{
	struct walk_any	wa = { .fn.dedup = fn, .arg = arg };
	struct walk	w = { .arg = &wa };
	struct nkey	k;

	if (user == NULL)
		return (store_dedup_walk(txn, NULL, fn, arg));
	if (nkey_make(&k, user, NAME_USER_MAX, id, CLIENT_ID_MAX) != 0)
		return (txn_fail(txn, DB_DEDUP, "name too long"));
	return (db_walk(txn, DB_DEDUP, "", 0, k.b, k.len, 1, dedup_walk_fn,
	    &w));
}

/* STORE_OK if blocker has blocked blocked, else STORE_NOTFOUND. */
int
store_block_get(struct txn *txn, const char *blocker, const char *blocked)
{
	struct nkey	k;
	MDB_val		v;
	int		rc;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (nkey_make(&k, blocker, NAME_USER_MAX, blocked, NAME_USER_MAX) != 0)
		return (STORE_NOTFOUND);
	if ((rc = db_get(txn, DB_BLOCKS, k.b, k.len, &v)) != STORE_OK)
		return (rc);
	if (v.mv_size != 1 || *(const uint8_t *)v.mv_data != STORE_RECORD_V1)
		return (txn_fail(txn, DB_BLOCKS, "corrupt record"));
	return (STORE_OK);
}

/* Records that blocker has blocked blocked. */
int
store_block_put(struct txn *txn, const char *blocker, const char *blocked)
{
	struct nkey	k;
	uint8_t		v = STORE_RECORD_V1;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (nkey_make(&k, blocker, NAME_USER_MAX, blocked, NAME_USER_MAX) != 0)
		return (txn_fail(txn, DB_BLOCKS, "name too long"));
	return (db_put(txn, DB_BLOCKS, k.b, k.len, &v, 1, 0));
}

/* Lifts a block. */
int
store_block_del(struct txn *txn, const char *blocker, const char *blocked)
{
	struct nkey	k;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (nkey_make(&k, blocker, NAME_USER_MAX, blocked, NAME_USER_MAX) != 0)
		return (STORE_NOTFOUND);
	return (db_del(txn, DB_BLOCKS, k.b, k.len));
}

/* Walk adapter for blocks: the name after the NUL. */
static int
block_walk_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	char		 name[NAME_USER_MAX + 1];
	const char	*p = k->mv_data, *nul;

	if ((nul = memchr(p, '\0', k->mv_size)) == NULL ||
	    name_copy(name, NAME_USER_MAX, nul + 1,
	    k->mv_size - (nul - p) - 1) != 0 || v->mv_size != 1)
		return (walk_corrupt(w));
	return (w->fn.block(w->arg, name));
}

/* The users that blocker has blocked, in name order. */
int
store_block_walk(struct txn *txn, const char *blocker, int (*fn)(void *,
    const char *), void *arg)
{
	struct nkey	k;
	struct walk	w = { .fn.block = fn, .arg = arg };

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (nkey_make(&k, blocker, NAME_USER_MAX, "", 0) != 0)
		return (STORE_OK);
	return (db_walk(txn, DB_BLOCKS, k.b, k.len, NULL, 0, 0, block_walk_fn,
	    &w));
}

/* Walk adapter for every block: both names. */
static int
block_all_walk_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	struct walk_any	*wa = w->arg;
	char		 blocker[NAME_USER_MAX + 1], blocked[NAME_USER_MAX + 1];
	const char	*p = k->mv_data, *nul;
	size_t		 ulen;

	if ((nul = memchr(p, '\0', k->mv_size)) == NULL)
		return (walk_corrupt(w));
	ulen = nul - p;
	if (name_copy(blocker, NAME_USER_MAX, p, ulen) != 0 ||
	    name_copy(blocked, NAME_USER_MAX, nul + 1,
	    k->mv_size - ulen - 1) != 0 || v->mv_size != 1)
		return (walk_corrupt(w));
	return (wa->fn.block(wa->arg, blocker, blocked));
}

/* Walks every block, in blocker then blocked order. */
int
store_block_walk_all(struct txn *txn, int (*fn)(void *, const char *,
    const char *), void *arg)
{
	struct walk_any	wa = { .fn.block = fn, .arg = arg };

	return (walk_all(txn, DB_BLOCKS, block_all_walk_fn, &wa));
}

/* The blocks after (blocker, blocked), every one if blocker is NULL. */
int
store_block_walk_all_after(struct txn *txn, const char *blocker,
    const char *blocked, int (*fn)(void *, const char *, const char *),
    void *arg)
{
	struct walk_any	wa = { .fn.block = fn, .arg = arg };
	struct walk	w = { .arg = &wa };
	struct nkey	k;

	if (blocker == NULL)
		return (store_block_walk_all(txn, fn, arg));
	if (nkey_make(&k, blocker, NAME_USER_MAX, blocked, NAME_USER_MAX) != 0)
		return (txn_fail(txn, DB_BLOCKS, "name too long"));
	return (db_walk(txn, DB_BLOCKS, "", 0, k.b, k.len, 1,
	    block_all_walk_fn, &w));
}
