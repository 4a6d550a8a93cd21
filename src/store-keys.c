/* SPDX-License-Identifier: ISC */
/*
 * store-keys.c: the key directory's records (store.h, "The end-to-end key
 * directory"): one keydev record per device with keys, and its one-time
 * pools in prekeys.  The rules that use them are in keys.c.
 *
 * Keys are bounded by max_key_bytes, not by REC_MAX, so these records are
 * encoded into buffers of their own size instead of struct enc.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define STORE_INTERNAL
#include "tickd.h"

/* "user\0device\0", the pool, the id: at most this many bytes. */
#define PKEY_MAX	(NAME_USER_MAX + 1 + NAME_DEVICE_MAX + 1 + 1 + 4)

/* A prekeys key, or its prefix without the id (or without the pool). */
struct pkey {
	uint8_t	b[PKEY_MAX];
	size_t	len;
};

/* A variable-length record being encoded. */
struct venc {
	uint8_t	*b;
	size_t	 len;
};

/* Builds the prefix "user\0device\0"; -1 if a name is too long. */
static int
pkey_device(struct pkey *k, const char *user, const char *device)
{
	struct nkey	n;

	if (nkey_make(&n, user, NAME_USER_MAX, device, NAME_DEVICE_MAX) != 0)
		return (-1);
	memcpy(k->b, n.b, n.len);
	k->b[n.len] = '\0';
	k->len = n.len + 1;
	return (0);
}

/* Appends the pool byte and, if with_id, the id big-endian. */
static void
pkey_pool(struct pkey *k, int pool, int with_id, uint32_t id)
{
	k->b[k->len++] = (uint8_t)pool;
	if (!with_id)
		return;
	k->b[k->len++] = (uint8_t)(id >> 24);
	k->b[k->len++] = (uint8_t)(id >> 16);
	k->b[k->len++] = (uint8_t)(id >> 8);
	k->b[k->len++] = (uint8_t)id;
}

/* Appends n bytes to a buffer sized beforehand by the caller. */
static void
venc_bytes(struct venc *e, const void *p, size_t n)
{
	if (n != 0)
		memcpy(e->b + e->len, p, n);
	e->len += n;
}

/* Appends a 32-bit number in this machine's layout. */
static void
venc_u32(struct venc *e, uint32_t v)
{
	venc_bytes(e, &v, sizeof v);
}

/* A length, then its bytes. */
static void
venc_blob(struct venc *e, const uint8_t *p, size_t n)
{
	venc_u32(e, (uint32_t)n);
	venc_bytes(e, p, n);
}

/* The bytes key_enc writes for k. */
static size_t
key_size(const struct key_rec *k)
{
	return (4 + 4 + k->keylen + 4 + k->siglen);
}

/* A key: its id, the key, the signature (maybe empty). */
static void
key_enc(struct venc *e, const struct key_rec *k)
{
	venc_u32(e, k->id);
	venc_blob(e, k->key, k->keylen);
	venc_blob(e, k->sig, k->siglen);
}

/* Reads a 32-bit number. */
static uint32_t
dec_u32(struct dec *d)
{
	uint32_t	v;

	dec_bytes(d, &v, sizeof v);
	return (v);
}

/* Reads a length and points at its bytes in the record. */
static const uint8_t *
dec_blob(struct dec *d, size_t *n)
{
	const uint8_t	*p;

	*n = dec_u32(d);
	if (d->bad || *n > KEY_BYTES_MAX || d->len - d->off < *n) {
		d->bad = 1;
		*n = 0;
		return (NULL);
	}
	p = d->p + d->off;
	d->off += *n;
	return (p);
}

/* Reads a key written by key_enc; a key must not be empty. */
static void
key_dec(struct dec *d, struct key_rec *k)
{
	k->id = dec_u32(d);
	k->key = dec_blob(d, &k->keylen);
	k->sig = dec_blob(d, &k->siglen);
	if (k->keylen == 0 || k->id > KEY_ID_MAX)
		d->bad = 1;
	if (k->siglen == 0)
		k->sig = NULL;
}

/* Frees what store_keydev_get gave; the record may be zeroed instead. */
void
store_keydev_free(struct keydev_rec *r)
{
	free(r->buf);
	memset(r, 0, sizeof *r);
}

/* Decodes a keydev value into r, copying it so that it outlives writes. */
static int
keydev_dec(const MDB_val *v, struct keydev_rec *r)
{
	MDB_val		copy;
	struct dec	d;

	memset(r, 0, sizeof *r);
	r->buf = xmalloc(v->mv_size == 0 ? 1 : v->mv_size);
	memcpy(r->buf, v->mv_data, v->mv_size);
	copy.mv_data = r->buf;
	copy.mv_size = v->mv_size;
	dec_init(&d, &copy);
	r->low_sent = dec_u8(&d);
	r->npre = dec_u64(&d);
	r->nkem = dec_u64(&d);
	r->identity = dec_blob(&d, &r->idlen);
	key_dec(&d, &r->spk);
	if ((r->has_lr = dec_u8(&d)) != 0)
		key_dec(&d, &r->lr);
	if (dec_end(&d) != 0 || r->idlen == 0 || r->has_lr > 1) {
		store_keydev_free(r);
		return (-1);
	}
	return (0);
}

/* A device's keys; STORE_NOTFOUND if it has none. */
int
store_keydev_get(struct txn *txn, const char *user, const char *device,
    struct keydev_rec *r)
{
	struct nkey	k;
	MDB_val		v;
	int		rc;

	memset(r, 0, sizeof *r);
	if (nkey_make(&k, user, NAME_USER_MAX, device, NAME_DEVICE_MAX) != 0)
		return (STORE_NOTFOUND);
	if (txn->store->dbi[DB_KEYDEV] == DBI_NONE)
		return (STORE_NOTFOUND);
	if ((rc = db_get(txn, DB_KEYDEV, k.b, k.len, &v)) != STORE_OK)
		return (rc);
	if (keydev_dec(&v, r) != 0)
		return (txn_fail(txn, DB_KEYDEV, "corrupt record"));
	return (STORE_OK);
}

/* Writes a device's keys. */
int
store_keydev_put(struct txn *txn, const char *user, const char *device,
    const struct keydev_rec *r)
{
	struct nkey	k;
	struct venc	e;
	size_t		size;
	int		rc;

	if (nkey_make(&k, user, NAME_USER_MAX, device, NAME_DEVICE_MAX) != 0)
		return (txn_fail(txn, DB_KEYDEV, "name too long"));
	size = 1 + 1 + 8 + 8 + 4 + r->idlen + key_size(&r->spk) + 1 +
	    (r->has_lr ? key_size(&r->lr) : 0);
	e.b = xmalloc(size);
	e.len = 0;
	e.b[e.len++] = STORE_RECORD_V1;
	e.b[e.len++] = r->low_sent;
	venc_bytes(&e, &r->npre, sizeof r->npre);
	venc_bytes(&e, &r->nkem, sizeof r->nkem);
	venc_blob(&e, r->identity, r->idlen);
	key_enc(&e, &r->spk);
	e.b[e.len++] = r->has_lr ? 1 : 0;
	if (r->has_lr)
		key_enc(&e, &r->lr);
	rc = db_put(txn, DB_KEYDEV, k.b, k.len, e.b, e.len, 0);
	free(e.b);
	return (rc);
}

/* Deletes a device's keys record (not its pools). */
int
store_keydev_del(struct txn *txn, const char *user, const char *device)
{
	struct nkey	k;

	if (nkey_make(&k, user, NAME_USER_MAX, device, NAME_DEVICE_MAX) != 0)
		return (STORE_NOTFOUND);
	if (txn->store->dbi[DB_KEYDEV] == DBI_NONE)
		return (STORE_NOTFOUND);
	return (db_del(txn, DB_KEYDEV, k.b, k.len));
}

/* Keydev walk adapter. */
static int
keydev_walk_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	struct keydev_rec	 r;
	char			 user[NAME_USER_MAX + 1];
	char			 device[NAME_DEVICE_MAX + 1];
	const char		*p = k->mv_data, *nul;
	int			 ret;

	if ((nul = memchr(p, '\0', k->mv_size)) == NULL ||
	    name_copy(user, NAME_USER_MAX, p, (size_t)(nul - p)) != 0 ||
	    name_copy(device, NAME_DEVICE_MAX, nul + 1,
	    k->mv_size - (size_t)(nul - p) - 1) != 0 ||
	    keydev_dec(v, &r) != 0)
		return (walk_corrupt(w));
	ret = w->fn.keydev(w->arg, user, device, &r);
	store_keydev_free(&r);
	return (ret);
}

/* One user's devices with keys, or every user's, in name order. */
int
store_keydev_walk(struct txn *txn, const char *user, int (*fn)(void *,
    const char *, const char *, const struct keydev_rec *), void *arg)
{
	struct walk	w = { .arg = arg };
	struct nkey	k;

	w.fn.keydev = fn;
	if (user == NULL)
		return (db_walk(txn, DB_KEYDEV, "", 0, NULL, 0, 0,
		    keydev_walk_fn, &w));
	/* "user\0" is the prefix of exactly that user's devices. */
	if (nkey_make(&k, user, NAME_USER_MAX, "", 0) != 0)
		return (STORE_OK);
	return (db_walk(txn, DB_KEYDEV, k.b, k.len, NULL, 0, 0,
	    keydev_walk_fn, &w));
}

/* Decodes a prekeys value; its id comes from the key. */
static int
prekey_dec(const MDB_val *v, uint32_t id, struct key_rec *r)
{
	struct dec	d;

	dec_init(&d, v);
	r->id = id;
	r->key = dec_blob(&d, &r->keylen);
	r->sig = dec_blob(&d, &r->siglen);
	if (r->siglen == 0)
		r->sig = NULL;
	return (dec_end(&d) != 0 || r->keylen == 0 ? -1 : 0);
}

/* The 32-bit id at the end of a prekeys key. */
static uint32_t
pkey_id(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3]);
}

/* One one-time key of a pool. */
int
store_prekey_get(struct txn *txn, const char *user, const char *device,
    int pool, uint32_t id, struct key_rec *r)
{
	struct pkey	k;
	MDB_val		v;
	int		rc;

	if (pkey_device(&k, user, device) != 0 ||
	    txn->store->dbi[DB_PREKEYS] == DBI_NONE)
		return (STORE_NOTFOUND);
	pkey_pool(&k, pool, 1, id);
	if ((rc = db_get(txn, DB_PREKEYS, k.b, k.len, &v)) != STORE_OK)
		return (rc);
	if (prekey_dec(&v, id, r) != 0)
		return (txn_fail(txn, DB_PREKEYS, "corrupt record"));
	return (STORE_OK);
}

/* Adds a one-time key to a pool, replacing one with its id. */
int
store_prekey_put(struct txn *txn, const char *user, const char *device,
    int pool, const struct key_rec *r)
{
	struct pkey	k;
	struct venc	e;
	int		rc;

	if (pkey_device(&k, user, device) != 0)
		return (txn_fail(txn, DB_PREKEYS, "name too long"));
	pkey_pool(&k, pool, 1, r->id);
	e.b = xmalloc(1 + 4 + r->keylen + 4 + r->siglen);
	e.len = 0;
	e.b[e.len++] = STORE_RECORD_V1;
	venc_blob(&e, r->key, r->keylen);
	venc_blob(&e, r->sig, r->siglen);
	rc = db_put(txn, DB_PREKEYS, k.b, k.len, e.b, e.len, 0);
	free(e.b);
	return (rc);
}

/* Deletes one one-time key. */
int
store_prekey_del(struct txn *txn, const char *user, const char *device,
    int pool, uint32_t id)
{
	struct pkey	k;

	if (pkey_device(&k, user, device) != 0 ||
	    txn->store->dbi[DB_PREKEYS] == DBI_NONE)
		return (STORE_NOTFOUND);
	pkey_pool(&k, pool, 1, id);
	return (db_del(txn, DB_PREKEYS, k.b, k.len));
}

/* What a pool walk looks for and counts. */
struct pwalk {
	struct key_rec	*first;		/* store the first key here and stop */
	int		 found;
	uint64_t	 n;		/* keys deleted */
};

/* Pool walk adapter: takes the first key, or deletes every key. */
static int
pool_walk_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	struct pwalk	*pw = w->arg;

	if (k->mv_size < 4)
		return (walk_corrupt(w));
	if (pw->first != NULL) {
		if (prekey_dec(v, pkey_id((const uint8_t *)k->mv_data +
		    k->mv_size - 4), pw->first) != 0)
			return (walk_corrupt(w));
		pw->found = 1;
		return (STORE_WALK_STOP);
	}
	pw->n++;
	return (STORE_WALK_DELETE);
}

/* The key of a pool with the lowest id. */
int
store_prekey_first(struct txn *txn, const char *user, const char *device,
    int pool, struct key_rec *r)
{
	struct walk	w;
	struct pwalk	pw;
	struct pkey	k;
	int		rc;

	if (pkey_device(&k, user, device) != 0)
		return (STORE_NOTFOUND);
	pkey_pool(&k, pool, 0, 0);
	memset(&pw, 0, sizeof pw);
	pw.first = r;
	memset(&w, 0, sizeof w);
	w.arg = &pw;
	rc = db_walk(txn, DB_PREKEYS, k.b, k.len, NULL, 0, 0, pool_walk_fn,
	    &w);
	if (rc != STORE_OK)
		return (rc);
	return (pw.found ? STORE_OK : STORE_NOTFOUND);
}

/* Empties one pool of a device, or both with pool 0. */
int
store_prekey_drop(struct txn *txn, const char *user, const char *device,
    int pool, uint64_t *n)
{
	struct walk	w;
	struct pwalk	pw;
	struct pkey	k;
	int		rc;

	if (n != NULL)
		*n = 0;
	if (pkey_device(&k, user, device) != 0)
		return (STORE_OK);
	if (pool != 0)
		pkey_pool(&k, pool, 0, 0);
	memset(&pw, 0, sizeof pw);
	memset(&w, 0, sizeof w);
	w.arg = &pw;
	rc = db_walk(txn, DB_PREKEYS, k.b, k.len, NULL, 0, 0, pool_walk_fn,
	    &w);
	if (n != NULL)
		*n = pw.n;
	return (rc);
}

/* Walk adapter for store_prekey_walk_all. */
static int
prekey_all_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	struct key_rec	 r;
	char		 user[NAME_USER_MAX + 1];
	char		 device[NAME_DEVICE_MAX + 1];
	const uint8_t	*p = k->mv_data, *nul, *nul2;
	size_t		 rest;

	if ((nul = memchr(p, '\0', k->mv_size)) == NULL ||
	    name_copy(user, NAME_USER_MAX, p, (size_t)(nul - p)) != 0)
		return (walk_corrupt(w));
	rest = k->mv_size - (size_t)(nul - p) - 1;
	if ((nul2 = memchr(nul + 1, '\0', rest)) == NULL ||
	    name_copy(device, NAME_DEVICE_MAX, nul + 1,
	    (size_t)(nul2 - nul - 1)) != 0 ||
	    (size_t)(p + k->mv_size - nul2) != 1 + 1 + 4 ||
	    (nul2[1] != KEY_POOL_PRE && nul2[1] != KEY_POOL_KEM) ||
	    prekey_dec(v, pkey_id(nul2 + 2), &r) != 0)
		return (walk_corrupt(w));
	return (w->fn.prekey(w->arg, user, device, nul2[1], &r));
}

/* Every one-time key, in key order; for verify and dumps. */
int
store_prekey_walk_all(struct txn *txn, int (*fn)(void *, const char *,
    const char *, int, const struct key_rec *), void *arg)
{
	struct walk	w = { .arg = arg };

	w.fn.prekey = fn;
	return (db_walk(txn, DB_PREKEYS, "", 0, NULL, 0, 0, prekey_all_fn,
	    &w));
}

/*
 * Deletes every key of a device being removed (tickd-protocol(7) KEY
 * DIRECTORY, rule 8): by logout, device_ttl, or tickctl's device and user
 * removal.  A device without keys is not an error.
 */
int
store_keys_drop(struct txn *txn, const char *user, const char *device)
{
	int	rc;

	rc = store_keydev_del(txn, user, device);
	if (rc != STORE_OK && rc != STORE_NOTFOUND)
		return (rc);
	if (txn->store->dbi[DB_PREKEYS] == DBI_NONE)
		return (STORE_OK);
	return (store_prekey_drop(txn, user, device, 0, NULL));
}

/* What store_keys_verify found; the callbacks' argument. */
struct kverify {
	struct txn	*txn;
	int		 fix;
	void		(*problem)(void *, int, const char *);
	void		*arg;
	struct kdev {
		char		 user[NAME_USER_MAX + 1];
		char		 device[NAME_DEVICE_MAX + 1];
		uint64_t	 npre, nkem;	/* as recorded */
		uint64_t	 pre, kem;	/* as counted */
	}		*v;
	size_t		 n, cap;
	uint64_t	 keys;		/* one-time keys seen */
};

static void	kverify_problem(struct kverify *, const char *, ...)
		    printflike(2, 3);

/* Reports one problem; a problem is repaired only with fix. */
static void
kverify_problem(struct kverify *kv, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	kv->problem(kv->arg, kv->fix, msg);
	free(msg);
}

/* Keydev walk callback: collects every device with keys, in key order. */
static int
kverify_dev_fn(void *arg, const char *user, const char *device,
    const struct keydev_rec *r)
{
	struct kverify	*kv = arg;
	struct kdev	*d;

	if (kv->n == kv->cap)
		kv->v = xgrow(kv->v, &kv->cap, sizeof *kv->v, 16);
	d = &kv->v[kv->n++];
	memset(d, 0, sizeof *d);
	strlcpy(d->user, user, sizeof d->user);
	strlcpy(d->device, device, sizeof d->device);
	d->npre = r->npre;
	d->nkem = r->nkem;
	return (STORE_WALK_NEXT);
}

/* Orders collected devices as their keys sort: user, NUL, device. */
static int
kdev_cmp(const char *user, const char *device, const struct kdev *d)
{
	int	c;

	if ((c = strcmp(user, d->user)) != 0)
		return (c);
	return (strcmp(device, d->device));
}

/*
 * Prekeys walk callback: counts each key against its device's record; a
 * key of a device without keys (or without a device) is an orphan.
 */
static int
kverify_key_fn(void *arg, const char *user, const char *device, int pool,
    const struct key_rec *k)
{
	struct kverify	*kv = arg;
	struct dev_rec	 r;
	size_t		 lo = 0, hi = kv->n, mid;
	int		 c;

	(void)k;
	kv->keys++;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((c = kdev_cmp(user, device, &kv->v[mid])) == 0) {
			if (store_device_get(kv->txn, user, device, &r) !=
			    STORE_OK)
				break;
			if (pool == KEY_POOL_PRE)
				kv->v[mid].pre++;
			else
				kv->v[mid].kem++;
			return (STORE_WALK_NEXT);
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	kverify_problem(kv, "a one-time key of %s:%s, which has no keys or "
	    "no device", user, device);
	return (kv->fix ? STORE_WALK_DELETE : STORE_WALK_NEXT);
}

/*
 * For tickctl verify and repair: every device with keys exists, every
 * one-time key belongs to such a device, and the pool sizes recorded are
 * the keys there.  With fix, orphans are deleted and sizes rewritten.
 * problem(arg, fixed, message) is called for each; *devices and *keys
 * count what was checked.
 */
int
store_keys_verify(struct txn *txn, int fix, void (*problem)(void *, int,
    const char *), void *arg, uint64_t *devices, uint64_t *keys)
{
	struct kverify		 kv;
	struct keydev_rec	 rec;
	struct dev_rec		 r;
	struct kdev		*d;
	size_t			 i;
	int			 rc;

	memset(&kv, 0, sizeof kv);
	kv.txn = txn;
	kv.fix = fix;
	kv.problem = problem;
	kv.arg = arg;
	*devices = *keys = 0;
	if ((rc = store_keydev_walk(txn, NULL, kverify_dev_fn, &kv)) !=
	    STORE_OK ||
	    (rc = store_prekey_walk_all(txn, kverify_key_fn, &kv)) !=
	    STORE_OK)
		goto out;
	for (i = 0; i < kv.n; i++) {
		d = &kv.v[i];
		if ((rc = store_device_get(txn, d->user, d->device, &r)) ==
		    STORE_NOTFOUND) {
			kverify_problem(&kv, "keys of device %s:%s, which does "
			    "not exist", d->user, d->device);
			if (fix && (rc = store_keys_drop(txn, d->user,
			    d->device)) != STORE_OK)
				goto out;
			rc = STORE_OK;
			continue;
		}
		if (rc != STORE_OK)
			goto out;
		if (d->pre == d->npre && d->kem == d->nkem)
			continue;
		kverify_problem(&kv, "device %s:%s counts other pool sizes "
		    "than its one-time keys", d->user, d->device);
		if (!fix)
			continue;
		if ((rc = store_keydev_get(txn, d->user, d->device, &rec)) !=
		    STORE_OK)
			goto out;
		rec.npre = d->pre;
		rec.nkem = d->kem;
		rc = store_keydev_put(txn, d->user, d->device, &rec);
		store_keydev_free(&rec);
		if (rc != STORE_OK)
			goto out;
	}
	*devices = kv.n;
	*keys = kv.keys;
out:
	free(kv.v);
	return (rc);
}
