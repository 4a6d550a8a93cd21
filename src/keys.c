/* SPDX-License-Identifier: ISC */
/*
 * keys.c: the end-to-end key directory's rules (tickd-protocol(7) KEY
 * DIRECTORY) over store-keys.c: what a valid upload is, how pools fill
 * and empty, which one-time keys a fetch takes, and when a keys_low item
 * is queued.
 *
 * Nothing here does I/O.  proto.c calls these inside the one write
 * transaction of an event-loop turn, so that the keys a fetch takes are
 * deleted in the commit that precedes its reply: two fetches, in one turn
 * or in two, never get the same one-time key.  Any error return means
 * that transaction must be aborted.
 */
#include <stdlib.h>
#include <string.h>

#include "tickd.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The value of a base64 digit, or -1. */
static int
b64_digit(char c)
{
	const char	*p;

	if (c == '\0' || (p = strchr(b64_alphabet, c)) == NULL)
		return (-1);
	return ((int)(p - b64_alphabet));
}

/*
 * Decodes padded base64 (RFC 4648 section 4) of 1 to max bytes into a new
 * buffer.  Unused bits of the last digit must be zero, so that every key
 * has one spelling and is handed back exactly as it was given.  Returns
 * NULL for anything else.
 */
uint8_t *
keys_b64_decode(const char *s, size_t len, size_t max, size_t *outlen)
{
	uint8_t		*out;
	size_t		 i, n, pad = 0;
	int		 d[4], k;

	if (len == 0 || len % 4 != 0)
		return (NULL);
	if (s[len - 1] == '=')
		pad = s[len - 2] == '=' ? 2 : 1;
	n = len / 4 * 3 - pad;
	if (n == 0 || n > max)
		return (NULL);
	out = xmalloc(n);
	for (i = 0; i < len / 4; i++) {
		for (k = 0; k < 4; k++) {
			if (i == len / 4 - 1 && k >= 4 - (int)pad)
				d[k] = 0;
			else if ((d[k] = b64_digit(s[i * 4 + k])) == -1)
				goto bad;
		}
		out[i * 3] = (uint8_t)(d[0] << 2 | d[1] >> 4);
		if (i * 3 + 1 < n)
			out[i * 3 + 1] = (uint8_t)((d[1] & 0xf) << 4 |
			    d[2] >> 2);
		if (i * 3 + 2 < n)
			out[i * 3 + 2] = (uint8_t)((d[2] & 0x3) << 6 | d[3]);
	}
	if ((pad == 1 && (d[2] & 0x3) != 0) || (pad == 2 && (d[1] & 0xf) != 0))
		goto bad;
	*outlen = n;
	return (out);
bad:
	free(out);
	return (NULL);
}

/* Padded base64 of p as a new NUL-terminated string. */
char *
keys_b64_encode(const uint8_t *p, size_t n)
{
	char		*out, *o;
	uint32_t	 v;
	size_t		 i;

	out = o = xmalloc((n + 2) / 3 * 4 + 1);
	for (i = 0; i < n; i += 3) {
		v = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		*o++ = b64_alphabet[v >> 18 & 0x3f];
		*o++ = b64_alphabet[v >> 12 & 0x3f];
		*o++ = i + 1 < n ? b64_alphabet[v >> 6 & 0x3f] : '=';
		*o++ = i + 2 < n ? b64_alphabet[v & 0x3f] : '=';
	}
	*o = '\0';
	return (out);
}

/* A JSON string of base64 for bytes; NULL bytes give JSON null. */
static json_t *
b64_json(const uint8_t *p, size_t n)
{
	json_t	*v;
	char	*s;

	if (p == NULL)
		return (json_null());
	s = keys_b64_encode(p, n);
	v = json_string(s);
	free(s);
	return (v);
}

/* A member that must hold a key: padded base64 of 1..max bytes. */
static uint8_t *
parse_b64(json_t *obj, const char *name, size_t max, size_t *len)
{
	json_t	*v = json_object_get(obj, name);

	if (!json_is_string(v))
		return (NULL);
	return (keys_b64_decode(json_string_value(v), json_string_length(v),
	    max, len));
}

/*
 * A key object {"id","key"} (and "sig" if with_sig) into k, whose bytes
 * it allocates; -1 if anything is missing or bad.
 */
static int
parse_key(json_t *obj, int with_sig, size_t max, struct key_rec *k)
{
	json_t		*id = json_object_get(obj, "id");
	uint8_t		*key, *sig = NULL;
	json_int_t	 n;

	memset(k, 0, sizeof *k);
	if (!json_is_object(obj) || !json_is_integer(id) ||
	    (n = json_integer_value(id)) < 0 || n > (json_int_t)KEY_ID_MAX)
		return (-1);
	if ((key = parse_b64(obj, "key", max, &k->keylen)) == NULL)
		return (-1);
	if (with_sig && (sig = parse_b64(obj, "sig", max, &k->siglen)) ==
	    NULL) {
		free(key);
		return (-1);
	}
	k->id = (uint32_t)n;
	k->key = key;
	k->sig = sig;
	return (0);
}

/* Frees the bytes parse_key allocated. */
static void
key_free(struct key_rec *k)
{
	free((void *)k->key);
	free((void *)k->sig);
	memset(k, 0, sizeof *k);
}

/* Orders keys by id, for the duplicate check. */
static int
key_id_cmp(const void *a, const void *b)
{
	const struct key_rec	*x = a, *y = b;

	return (x->id < y->id ? -1 : x->id > y->id);
}

/*
 * An array of keys into *v, sorted by id; -1 if it is not an array of
 * good keys or if two keys share an id.
 */
static int
parse_pool(json_t *arr, int with_sig, size_t max, struct key_rec **v,
    size_t *n)
{
	json_t	*e;
	size_t	 i;

	*v = NULL;
	*n = 0;
	if (!json_is_array(arr))
		return (-1);
	if (json_array_size(arr) == 0)
		return (0);
	*v = xcalloc(json_array_size(arr), sizeof **v);
	json_array_foreach(arr, i, e) {
		if (parse_key(e, with_sig, max, &(*v)[i]) != 0)
			return (-1);
		(*n)++;
	}
	qsort(*v, *n, sizeof **v, key_id_cmp);
	for (i = 1; i < *n; i++)
		if ((*v)[i].id == (*v)[i - 1].id)
			return (-1);
	return (0);
}

/* Frees a parsed upload. */
void
keys_upload_free(struct keys_upload *up)
{
	size_t	i;

	free(up->identity);
	key_free(&up->spk);
	key_free(&up->lr);
	for (i = 0; i < up->npre; i++)
		key_free(&up->pre[i]);
	for (i = 0; i < up->nkem; i++)
		key_free(&up->kem[i]);
	free(up->pre);
	free(up->kem);
	memset(up, 0, sizeof *up);
}

/*
 * Reads a keys_upload frame into up (freed by keys_upload_free either
 * way).  -1 with *why set for a bad_request: a key, sig or identity that
 * is not padded base64 of 1..max_key_bytes bytes, an id out of range, a
 * member of the wrong type, or two keys of one pool with one id.
 */
int
keys_upload_parse(json_t *req, const struct conf *conf,
    struct keys_upload *up, const char **why)
{
	json_t	*v;
	size_t	 max = conf->max_key_bytes;

	memset(up, 0, sizeof *up);
	*why = "keys are padded base64 of 1 to max_key_bytes bytes, ids "
	    "integers 0 to 2147483647, one id once per pool";
	if (json_object_get(req, "identity") != NULL &&
	    (up->identity = parse_b64(req, "identity", max, &up->idlen)) ==
	    NULL)
		return (-1);
	if ((v = json_object_get(req, "signed_prekey")) != NULL) {
		if (parse_key(v, 1, max, &up->spk) != 0)
			return (-1);
		up->has_spk = 1;
	}
	if ((v = json_object_get(req, "kem_last_resort")) != NULL) {
		if (parse_key(v, 1, max, &up->lr) != 0)
			return (-1);
		up->has_lr = 1;
	}
	if ((v = json_object_get(req, "prekeys")) != NULL) {
		if (parse_pool(v, 0, max, &up->pre, &up->npre) != 0)
			return (-1);
		up->has_pre = 1;
	}
	if ((v = json_object_get(req, "kem_prekeys")) != NULL) {
		if (parse_pool(v, 1, max, &up->kem, &up->nkem) != 0)
			return (-1);
		up->has_kem = 1;
	}
	if ((v = json_object_get(req, "replace")) != NULL) {
		if (!json_is_boolean(v))
			return (-1);
		up->replace = json_is_true(v);
	}
	*why = NULL;
	return (0);
}

/*
 * The size pool would have after adding keys to it (rule 2): keys whose
 * id it holds replace them; an emptied pool starts from 0.
 */
static int
pool_after(struct txn *txn, const char *user, const char *device, int pool,
    uint64_t have, int emptied, const struct key_rec *keys, size_t n,
    uint64_t *after)
{
	struct key_rec	old;
	size_t		i;
	int		rc;

	*after = emptied ? 0 : have;
	for (i = 0; i < n; i++) {
		if (emptied) {
			(*after)++;
			continue;
		}
		rc = store_prekey_get(txn, user, device, pool, keys[i].id,
		    &old);
		if (rc == STORE_NOTFOUND)
			(*after)++;
		else if (rc != STORE_OK)
			return (rc);
	}
	return (STORE_OK);
}

/* Writes keys into a pool. */
static int
pool_put(struct txn *txn, const char *user, const char *device, int pool,
    const struct key_rec *keys, size_t n)
{
	size_t	i;
	int	rc;

	for (i = 0; i < n; i++) {
		rc = store_prekey_put(txn, user, device, pool, &keys[i]);
		if (rc != STORE_OK)
			return (rc);
	}
	return (STORE_OK);
}

/*
 * Sets the keys of user's device (rules 1 to 4).  Everything is checked
 * before anything is written, so that a refused upload changes nothing;
 * *err is then TE_BAD_REQUEST or TE_TOO_LARGE and *why says why.
 */
int
keys_upload(struct txn *txn, const struct conf *conf, const char *user,
    const char *device, const struct keys_upload *up, enum tick_err *err,
    const char **why)
{
	struct keydev_rec	 cur, next;
	uint64_t		 npre, nkem;
	int			 rc, have, newid, empty_pre, empty_kem;

	*err = TE_OK;
	*why = NULL;
	rc = store_keydev_get(txn, user, device, &cur);
	if (rc != STORE_OK && rc != STORE_NOTFOUND)
		return (rc);
	have = rc == STORE_OK;
	rc = STORE_OK;
	if (!have && (up->identity == NULL || !up->has_spk)) {
		*err = TE_BAD_REQUEST;
		*why = "a device's first keys_upload carries \"identity\" and "
		    "\"signed_prekey\"";
		goto out;
	}
	newid = up->identity != NULL && (!have || cur.idlen != up->idlen ||
	    memcmp(cur.identity, up->identity, up->idlen) != 0);
	if (have && newid && !up->has_spk) {
		*err = TE_BAD_REQUEST;
		*why = "a new \"identity\" needs a new \"signed_prekey\"";
		goto out;
	}
	/* Rule 3: a new identity makes every old key worthless. */
	empty_pre = newid || (up->replace && up->has_pre);
	empty_kem = newid || (up->replace && up->has_kem);
	if ((rc = pool_after(txn, user, device, KEY_POOL_PRE, cur.npre,
	    empty_pre, up->pre, up->npre, &npre)) != STORE_OK ||
	    (rc = pool_after(txn, user, device, KEY_POOL_KEM, cur.nkem,
	    empty_kem, up->kem, up->nkem, &nkem)) != STORE_OK)
		goto out;
	if (npre > conf->max_prekeys || nkem > conf->max_prekeys) {
		*err = TE_TOO_LARGE;
		*why = "a pool would hold more than max_prekeys keys; nothing "
		    "was stored";
		goto out;
	}

	next = cur;
	next.buf = NULL;
	if (up->identity != NULL) {
		next.identity = up->identity;
		next.idlen = up->idlen;
	}
	if (up->has_spk)
		next.spk = up->spk;
	if (up->has_lr) {
		next.has_lr = 1;
		next.lr = up->lr;
	} else if (newid) {
		next.has_lr = 0;
		memset(&next.lr, 0, sizeof next.lr);
	}
	next.npre = npre;
	next.nkem = nkem;
	next.low_sent = 0;
	/* The record is written first: cur's bytes are our own copy. */
	if ((rc = store_keydev_put(txn, user, device, &next)) != STORE_OK)
		goto out;
	if (empty_pre && (rc = store_prekey_drop(txn, user, device,
	    KEY_POOL_PRE, NULL)) != STORE_OK)
		goto out;
	if (empty_kem && (rc = store_prekey_drop(txn, user, device,
	    KEY_POOL_KEM, NULL)) != STORE_OK)
		goto out;
	if ((rc = pool_put(txn, user, device, KEY_POOL_PRE, up->pre,
	    up->npre)) != STORE_OK)
		goto out;
	rc = pool_put(txn, user, device, KEY_POOL_KEM, up->kem, up->nkem);
out:
	store_keydev_free(&cur);
	return (rc);
}

/* The sizes of the pools of user's device, 0 and 0 if it has no keys. */
int
keys_count(struct txn *txn, const char *user, const char *device,
    uint64_t *npre, uint64_t *nkem)
{
	struct keydev_rec	r;
	int			rc;

	*npre = *nkem = 0;
	if ((rc = store_keydev_get(txn, user, device, &r)) == STORE_NOTFOUND)
		return (STORE_OK);
	if (rc != STORE_OK)
		return (rc);
	*npre = r.npre;
	*nkem = r.nkem;
	store_keydev_free(&r);
	return (STORE_OK);
}

/* The devices a fetch hands out, by name. */
struct fdevs {
	char	(*v)[NAME_DEVICE_MAX + 1];
	size_t	 n, cap;
};

/* Keydev walk callback: collects device names. */
static int
fdevs_fn(void *arg, const char *user, const char *device,
    const struct keydev_rec *r)
{
	struct fdevs	*d = arg;

	(void)user;
	(void)r;
	if (d->n == d->cap)
		d->v = xgrow(d->v, &d->cap, sizeof *d->v, 4);
	strlcpy(d->v[d->n++], device, sizeof *d->v);
	return (STORE_WALK_NEXT);
}

/*
 * The devices a keys_fetch of user (and device, if not NULL) would hand
 * out, sorted by name (rule 5).  *err is TE_NO_SUCH_USER for an unknown
 * user; a device that does not exist or has no keys gives none.
 */
static int
fetch_devices(struct txn *txn, const char *user, const char *device,
    struct fdevs *out, enum tick_err *err)
{
	struct user_rec		u;
	struct keydev_rec	r;
	int			rc;

	memset(out, 0, sizeof *out);
	*err = TE_OK;
	if ((rc = store_user_get(txn, user, &u)) == STORE_NOTFOUND) {
		*err = TE_NO_SUCH_USER;
		return (STORE_OK);
	}
	if (rc != STORE_OK)
		return (rc);
	if (device == NULL)
		return (store_keydev_walk(txn, user, fdevs_fn, out));
	if ((rc = store_keydev_get(txn, user, device, &r)) == STORE_NOTFOUND)
		return (STORE_OK);
	if (rc != STORE_OK)
		return (rc);
	fdevs_fn(out, user, device, &r);
	store_keydev_free(&r);
	return (STORE_OK);
}

/*
 * How many bundles a keys_fetch would hand out, for keys_fetch_rate;
 * *err as fetch_devices says.
 */
int
keys_fetch_size(struct txn *txn, const char *user, const char *device,
    size_t *n, enum tick_err *err)
{
	struct fdevs	d;
	int		rc;

	rc = fetch_devices(txn, user, device, &d, err);
	*n = d.n;
	free(d.v);
	return (rc);
}

/* {"id","key"} and "sig" if the key has one. */
static json_t *
key_json(const struct key_rec *k)
{
	json_t	*o;

	o = json_object();
	json_object_set_new(o, "id", json_integer(k->id));
	json_object_set_new(o, "key", b64_json(k->key, k->keylen));
	if (k->sig != NULL)
		json_object_set_new(o, "sig", b64_json(k->sig, k->siglen));
	return (o);
}

/*
 * Takes the key of pool with the lowest id: *out is its JSON, or NULL if
 * the pool is empty.  The key is encoded before it is deleted, since the
 * delete invalidates what the store handed out.
 */
static int
take_one(struct txn *txn, const char *user, const char *device, int pool,
    json_t **out)
{
	struct key_rec	k;
	int		rc;

	*out = NULL;
	rc = store_prekey_first(txn, user, device, pool, &k);
	if (rc == STORE_NOTFOUND)
		return (STORE_OK);
	if (rc != STORE_OK)
		return (rc);
	*out = key_json(&k);
	if ((rc = store_prekey_del(txn, user, device, pool, k.id)) !=
	    STORE_OK) {
		json_decref(*out);
		*out = NULL;
	}
	return (rc);
}

/*
 * Queues a keys_low item with the pool sizes for user's device (rule 6);
 * like a receipt it ignores max_queue.
 */
static int
queue_keys_low(struct txn *txn, struct midgen *gen, const char *user,
    const char *device, const struct keydev_rec *r, uint64_t now,
    struct targets *out)
{
	struct dev_rec	 d;
	struct item	 it;
	struct mid	 mid;
	struct jbuf	 j;
	char		 ms[MID_STRLEN + 1], *frame;
	int		 rc;

	if ((rc = store_device_get(txn, user, device, &d)) == STORE_NOTFOUND)
		return (STORE_OK);
	if (rc != STORE_OK)
		return (rc);
	midgen_next(gen, now, &mid);
	mid_format(&mid, ms);
	jbuf_open(&j, "keys_low");
	jbuf_str(&j, "mid", ms);
	jbuf_uint(&j, "ts", now);
	jbuf_uint(&j, "prekeys", r->npre);
	jbuf_uint(&j, "kem_prekeys", r->nkem);
	if ((frame = jbuf_close(&j, &it.len)) == NULL) {
		log_warnx("keys: cannot build keys_low for %s", ms);
		return (STORE_ERR);
	}
	it.kind = ITEM_KEYS_LOW;
	it.ts = now;
	it.data = frame;
	rc = store_queue_put(txn, d.qid, &mid, &it);
	free(frame);
	if (rc != STORE_OK)
		return (rc);
	d.count++;
	d.bytes += it.len;
	if ((rc = store_device_put(txn, user, device, &d)) != STORE_OK)
		return (rc);
	targets_add(out, user, device, d.qid);
	return (STORE_OK);
}

/*
 * One device's bundle: its identity and signed prekey, one prekey and one
 * KEM prekey taken from their pools (the KEM last-resort key if that pool
 * is empty, never taken), and a keys_low if a pool fell below prekeys_low.
 */
static int
fetch_one(struct txn *txn, struct midgen *gen, const struct conf *conf,
    const char *user, const char *device, uint64_t now,
    struct keys_fetch_res *res)
{
	struct keydev_rec	 r;
	json_t			*b, *pre, *kem = NULL;
	int			 rc;

	if ((rc = store_keydev_get(txn, user, device, &r)) != STORE_OK)
		return (rc == STORE_NOTFOUND ? STORE_OK : rc);
	b = json_object();
	json_object_set_new(b, "device", json_string(device));
	json_object_set_new(b, "identity", b64_json(r.identity, r.idlen));
	json_object_set_new(b, "signed_prekey", key_json(&r.spk));
	if ((rc = take_one(txn, user, device, KEY_POOL_PRE, &pre)) !=
	    STORE_OK)
		goto out;
	json_object_set_new(b, "prekey", pre != NULL ? pre : json_null());
	if ((rc = take_one(txn, user, device, KEY_POOL_KEM, &kem)) != STORE_OK)
		goto out;
	if (pre != NULL) {
		res->taken++;
		r.npre = r.npre > 0 ? r.npre - 1 : 0;
	} else {
		res->empty++;
		r.npre = 0;
	}
	if (kem != NULL) {
		res->taken++;
		r.nkem = r.nkem > 0 ? r.nkem - 1 : 0;
	} else {
		r.nkem = 0;
		if (r.has_lr)
			kem = key_json(&r.lr);
	}
	json_object_set_new(b, "kem_prekey", kem != NULL ? kem : json_null());
	if (!r.low_sent && (r.npre < conf->prekeys_low ||
	    r.nkem < conf->prekeys_low)) {
		if ((rc = queue_keys_low(txn, gen, user, device, &r, now,
		    &res->low)) != STORE_OK)
			goto out;
		r.low_sent = 1;
	}
	if ((rc = store_keydev_put(txn, user, device, &r)) != STORE_OK)
		goto out;
	json_array_append(res->devices, b);
out:
	json_decref(b);
	store_keydev_free(&r);
	return (rc);
}

/*
 * A keys_fetch (rules 5 and 6): res->devices is the "devices" array, and
 * res->low the devices that got a keys_low.  res is cleared first; the
 * caller frees it with keys_fetch_free, also on error.
 */
int
keys_fetch(struct txn *txn, struct midgen *gen, const struct conf *conf,
    const char *user, const char *device, uint64_t now,
    struct keys_fetch_res *res)
{
	struct fdevs	d;
	size_t		i;
	int		rc;

	memset(res, 0, sizeof *res);
	res->devices = json_array();
	if ((rc = fetch_devices(txn, user, device, &d, &res->err)) !=
	    STORE_OK || res->err != TE_OK)
		goto out;
	for (i = 0; i < d.n && rc == STORE_OK; i++)
		rc = fetch_one(txn, gen, conf, user, d.v[i], now, res);
out:
	free(d.v);
	return (rc);
}

/* Frees what keys_fetch filled in. */
void
keys_fetch_free(struct keys_fetch_res *res)
{
	json_decref(res->devices);
	targets_free(&res->low);
	memset(res, 0, sizeof *res);
}
