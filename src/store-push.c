/* SPDX-License-Identifier: ISC */
/*
 * store-push.c: push for offline devices (store.h): endpoints, pending
 * notifications and mutes, each keyed by two names.
 */
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>

#define STORE_INTERNAL
#include "store.h"
#include "tickd.h"

/* An endpoint record: larger than REC_MAX, so encoded here. */
#define EP_REC_MAX	(1 + 1 + 1 + PUSH_P256DH_BYTES + PUSH_AUTH_BYTES + 8 + \
			    2 + PUSH_URL_MAX + 2 + PUSH_TOKEN_MAX)

#define CHAT_MAX	NAME_CHAT_MAX

/* A mute's key, "user\0chat"; its length, or 0 if a name is too long. */
static size_t
mkey_make(uint8_t *b, const char *user, const char *chat)
{
	size_t	ulen, clen;

	ulen = strnlen(user, NAME_USER_MAX + 1);
	clen = strnlen(chat, CHAT_MAX + 1);
	if (ulen > NAME_USER_MAX || clen > CHAT_MAX)
		return (0);
	memcpy(b, user, ulen);
	b[ulen] = '\0';
	memcpy(b + ulen + 1, chat, clen);
	return (ulen + 1 + clen);
}

/* Splits a "name\0name" key into its two names; -1 if it is not one. */
static int
key_split(const MDB_val *k, char *a, size_t amax, char *b, size_t bmax)
{
	const char	*p = k->mv_data, *nul;
	size_t		 alen;

	if ((nul = memchr(p, '\0', k->mv_size)) == NULL)
		return (-1);
	alen = (size_t)(nul - p);
	if (name_copy(a, amax, p, alen) != 0 ||
	    name_copy(b, bmax, nul + 1, k->mv_size - alen - 1) != 0)
		return (-1);
	return (0);
}

/* Reads a 16-bit length and that many bytes into out (max bytes + NUL). */
static void
dec_lstr(struct dec *d, char *out, size_t max)
{
	uint8_t	l[2];
	size_t	n;

	dec_bytes(d, l, 2);
	n = ((size_t)l[0] << 8) | l[1];
	if (n > max) {
		d->bad = 1;
		n = 0;
	}
	dec_bytes(d, out, n);
	out[d->bad ? 0 : n] = '\0';
}

/* Decodes an endpoint record. */
static int
ep_dec(const MDB_val *v, struct push_ep *r)
{
	struct dec	d;

	memset(r, 0, sizeof *r);
	dec_init(&d, v);
	r->kind = dec_u8(&d);
	r->has_keys = dec_u8(&d);
	dec_bytes(&d, r->p256dh, sizeof r->p256dh);
	dec_bytes(&d, r->auth, sizeof r->auth);
	r->failures = dec_u64(&d);
	dec_lstr(&d, r->endpoint, PUSH_URL_MAX);
	dec_lstr(&d, r->token, PUSH_TOKEN_MAX);
	return (dec_end(&d));
}

/* The endpoint of user's device. */
int
store_push_ep_get(struct txn *txn, const char *user, const char *device,
    struct push_ep *r)
{
	struct nkey	k;
	MDB_val		v;
	int		rc;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (txn->store->dbi[DB_PUSH_EPS] == DBI_NONE ||
	    nkey_make(&k, user, NAME_USER_MAX, device, NAME_DEVICE_MAX) != 0)
		return (STORE_NOTFOUND);
	if ((rc = db_get(txn, DB_PUSH_EPS, k.b, k.len, &v)) != STORE_OK)
		return (rc);
	if (ep_dec(&v, r) != 0)
		return (txn_fail(txn, DB_PUSH_EPS, "corrupt record"));
	return (STORE_OK);
}

/* Writes the endpoint of user's device, replacing any. */
int
store_push_ep_put(struct txn *txn, const char *user, const char *device,
    const struct push_ep *r)
{
	struct nkey	 k;
	uint8_t		*b, *p;
	size_t		 n;
	int		 rc;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (nkey_make(&k, user, NAME_USER_MAX, device, NAME_DEVICE_MAX) != 0)
		return (txn_fail(txn, DB_PUSH_EPS, "bad name"));
	p = b = xmalloc(EP_REC_MAX);
	*p++ = STORE_RECORD_V1;
	*p++ = r->kind;
	*p++ = r->has_keys;
	memcpy(p, r->p256dh, sizeof r->p256dh);
	p += sizeof r->p256dh;
	memcpy(p, r->auth, sizeof r->auth);
	p += sizeof r->auth;
	memcpy(p, &r->failures, 8);
	p += 8;
	n = strnlen(r->endpoint, PUSH_URL_MAX);
	*p++ = (uint8_t)(n >> 8);
	*p++ = (uint8_t)n;
	memcpy(p, r->endpoint, n);
	p += n;
	n = strnlen(r->token, PUSH_TOKEN_MAX);
	*p++ = (uint8_t)(n >> 8);
	*p++ = (uint8_t)n;
	memcpy(p, r->token, n);
	p += n;
	rc = db_put(txn, DB_PUSH_EPS, k.b, k.len, b, (size_t)(p - b), 0);
	free(b);
	return (rc);
}

/* Deletes the endpoint of user's device; STORE_NOTFOUND if none. */
int
store_push_ep_del(struct txn *txn, const char *user, const char *device)
{
	struct nkey	k;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (nkey_make(&k, user, NAME_USER_MAX, device, NAME_DEVICE_MAX) != 0)
		return (STORE_NOTFOUND);
	return (db_del(txn, DB_PUSH_EPS, k.b, k.len));
}

/* Walk adapter for endpoints. */
static int
ep_walk_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	char		user[NAME_USER_MAX + 1], device[NAME_DEVICE_MAX + 1];
	struct push_ep	*r;
	int		 ret;

	r = xmalloc(sizeof *r);
	if (key_split(k, user, NAME_USER_MAX, device, NAME_DEVICE_MAX) != 0 ||
	    ep_dec(v, r) != 0) {
		free(r);
		return (walk_corrupt(w));
	}
	ret = w->fn.pushep(w->arg, user, device, r);
	free(r);
	return (ret);
}

/* The prefix of a walk over one user's entries, or over all. */
static size_t
user_prefix(struct nkey *k, const char *user)
{
	if (user == NULL)
		return (0);
	if (nkey_make(k, user, NAME_USER_MAX, "", 0) != 0)
		return ((size_t)-1);
	return (k->len);
}

/* Calls fn on each push endpoint of user, or of every user if NULL. */
int
store_push_ep_walk(struct txn *txn, const char *user, int (*fn)(void *,
    const char *, const char *, const struct push_ep *), void *arg)
{
	struct nkey	k;
	struct walk	w = { .fn.pushep = fn, .arg = arg };
	size_t		plen;

	if ((plen = user_prefix(&k, user)) == (size_t)-1)
		return (STORE_OK);
	return (db_walk(txn, DB_PUSH_EPS, k.b, plen, NULL, 0, 0, ep_walk_fn,
	    &w));
}

/* Decodes a notification record. */
static int
note_dec(const MDB_val *v, struct push_note *r)
{
	struct dec	d;
	uint8_t		m[MID_BYTES];

	memset(r, 0, sizeof *r);
	dec_init(&d, v);
	r->created = dec_u64(&d);
	r->due = dec_u64(&d);
	r->tries = dec_u64(&d);
	r->plain = dec_u8(&d);
	dec_bytes(&d, m, sizeof m);
	mid_decode(m, &r->mid);
	r->ts = dec_u64(&d);
	return (dec_end(&d));
}

/* The pending notification of user's device. */
int
store_push_note_get(struct txn *txn, const char *user, const char *device,
    struct push_note *r)
{
	struct nkey	k;
	MDB_val		v;
	int		rc;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (txn->store->dbi[DB_PUSH_NOTES] == DBI_NONE ||
	    nkey_make(&k, user, NAME_USER_MAX, device, NAME_DEVICE_MAX) != 0)
		return (STORE_NOTFOUND);
	if ((rc = db_get(txn, DB_PUSH_NOTES, k.b, k.len, &v)) != STORE_OK)
		return (rc);
	if (note_dec(&v, r) != 0)
		return (txn_fail(txn, DB_PUSH_NOTES, "corrupt record"));
	return (STORE_OK);
}

/* Writes the pending notification of user's device. */
int
store_push_note_put(struct txn *txn, const char *user, const char *device,
    const struct push_note *r)
{
	struct nkey	k;
	struct enc	e;
	uint8_t		m[MID_BYTES];

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (nkey_make(&k, user, NAME_USER_MAX, device, NAME_DEVICE_MAX) != 0)
		return (txn_fail(txn, DB_PUSH_NOTES, "bad name"));
	enc_init(&e);
	enc_u64(&e, r->created);
	enc_u64(&e, r->due);
	enc_u64(&e, r->tries);
	enc_u8(&e, r->plain);
	mid_encode(&r->mid, m);
	enc_bytes(&e, m, sizeof m);
	enc_u64(&e, r->ts);
	return (db_put(txn, DB_PUSH_NOTES, k.b, k.len, e.b, e.len, 0));
}

/* Deletes the pending notification of user's device, if any. */
int
store_push_note_del(struct txn *txn, const char *user, const char *device)
{
	struct nkey	k;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (nkey_make(&k, user, NAME_USER_MAX, device, NAME_DEVICE_MAX) != 0)
		return (STORE_NOTFOUND);
	return (db_del(txn, DB_PUSH_NOTES, k.b, k.len));
}

/* Walk adapter for notifications. */
static int
note_walk_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	char		 user[NAME_USER_MAX + 1], device[NAME_DEVICE_MAX + 1];
	struct push_note r;

	if (key_split(k, user, NAME_USER_MAX, device, NAME_DEVICE_MAX) != 0 ||
	    note_dec(v, &r) != 0)
		return (walk_corrupt(w));
	return (w->fn.pushnote(w->arg, user, device, &r));
}

/* Calls fn on each pending notification of user, or of every user. */
int
store_push_note_walk(struct txn *txn, const char *user, int (*fn)(void *,
    const char *, const char *, const struct push_note *), void *arg)
{
	struct nkey	k;
	struct walk	w = { .fn.pushnote = fn, .arg = arg };
	size_t		plen;

	if ((plen = user_prefix(&k, user)) == (size_t)-1)
		return (STORE_OK);
	return (db_walk(txn, DB_PUSH_NOTES, k.b, plen, NULL, 0, 0,
	    note_walk_fn, &w));
}

/* Whether user muted chat, and until when (0: no end). */
int
store_mute_get(struct txn *txn, const char *user, const char *chat,
    uint64_t *until)
{
	uint8_t		kb[NAME_USER_MAX + 1 + CHAT_MAX];
	size_t		klen;
	struct dec	d;
	MDB_val		v;
	int		rc;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (txn->store->dbi[DB_MUTES] == DBI_NONE ||
	    (klen = mkey_make(kb, user, chat)) == 0)
		return (STORE_NOTFOUND);
	if ((rc = db_get(txn, DB_MUTES, kb, klen, &v)) != STORE_OK)
		return (rc);
	dec_init(&d, &v);
	*until = dec_u64(&d);
	if (dec_end(&d) != 0)
		return (txn_fail(txn, DB_MUTES, "corrupt record"));
	return (STORE_OK);
}

/* Mutes chat for user until a Unix ms time (0: no end). */
int
store_mute_put(struct txn *txn, const char *user, const char *chat,
    uint64_t until)
{
	uint8_t		kb[NAME_USER_MAX + 1 + CHAT_MAX];
	size_t		klen;
	struct enc	e;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if ((klen = mkey_make(kb, user, chat)) == 0)
		return (txn_fail(txn, DB_MUTES, "bad name"));
	enc_init(&e);
	enc_u64(&e, until);
	return (db_put(txn, DB_MUTES, kb, klen, e.b, e.len, 0));
}

/* Lifts a mute; STORE_NOTFOUND if there was none. */
int
store_mute_del(struct txn *txn, const char *user, const char *chat)
{
	uint8_t		kb[NAME_USER_MAX + 1 + CHAT_MAX];
	size_t		klen;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if ((klen = mkey_make(kb, user, chat)) == 0)
		return (STORE_NOTFOUND);
	return (db_del(txn, DB_MUTES, kb, klen));
}

/* Walk adapter for one user's mutes. */
static int
mute_walk_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	char		 user[NAME_USER_MAX + 1], chat[CHAT_MAX + 1];
	struct dec	 d;
	uint64_t	 until;

	if (key_split(k, user, NAME_USER_MAX, chat, CHAT_MAX) != 0)
		return (walk_corrupt(w));
	dec_init(&d, v);
	until = dec_u64(&d);
	if (dec_end(&d) != 0)
		return (walk_corrupt(w));
	return (w->fn.mute(w->arg, chat, until));
}

/* The chats user has muted, in name order. */
int
store_mute_walk(struct txn *txn, const char *user, int (*fn)(void *,
    const char *, uint64_t), void *arg)
{
	struct nkey	k;
	struct walk	w = { .fn.mute = fn, .arg = arg };
	size_t		plen;

	if ((plen = user_prefix(&k, user)) == (size_t)-1 || plen == 0)
		return (STORE_OK);
	return (db_walk(txn, DB_MUTES, k.b, plen, NULL, 0, 0, mute_walk_fn,
	    &w));
}
