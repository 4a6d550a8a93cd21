/* SPDX-License-Identifier: ISC */
/*
 * test_store_resp.c: unit tests of store-resp.c's names too long for an
 * LMDB key (store.h): keys, set members, group and consumer names of any
 * length, names whose prefix and hash collide (forced through
 * store_set_name_hash()), a short name landing in a long name's slot,
 * records written in the old format read as they were, and pending
 * entries taken through one cursor (store_rpel_take()).  Prints TAP;
 * exits 0 only if every test passed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tickd.h"
#include "testlib.h"
#include "testlib-store.h"

#define MAP_SIZE	(64ULL << 20)
#define BIG		200000

static char	base[256];

/* The path of a test's data_dir under the temporary directory. */
static const char *
dir_of(const char *name)
{
	static char	path[512];

	snprintf(path, sizeof path, "%s/%s", base, name);
	return (path);
}

/* Opens the test's store; prints the cause if that fails. */
static int
open_at(const char *name, struct store **s)
{
	return (open_store_at(s, dir_of(name), MAP_SIZE));
}

/* Every name hashes alike: each long name shares its slots' range. */
static uint64_t
hash_zero(const void *p, size_t len)
{
	(void)p;
	(void)len;
	return (0);
}

/* n bytes of c, then tail (tlen bytes) at the end; the caller frees. */
static uint8_t *
name_of(size_t n, int c, const char *tail, size_t tlen)
{
	uint8_t	*p = malloc(n);

	if (p == NULL)
		abort();
	memset(p, c, n);
	memcpy(p + n - tlen, tail, tlen);
	return (p);
}

/* What a walk over members or names saw. */
struct seen {
	size_t	n;
	size_t	lens[8];
	uint8_t	first[8];
	uint8_t	last[8];
};

/* Member walk callback: note its length and end bytes. */
static int
seen_member(void *arg, const void *m, size_t len)
{
	struct seen	*s = arg;
	const uint8_t	*p = m;

	if (s->n < 8) {
		s->lens[s->n] = len;
		s->first[s->n] = len ? p[0] : 0;
		s->last[s->n] = len ? p[len - 1] : 0;
	}
	s->n++;
	return (STORE_WALK_NEXT);
}

/* Group walk callback: as seen_member. */
static int
seen_group(void *arg, const void *name, size_t len,
    const struct rgroup_rec *r)
{
	(void)r;
	return (seen_member(arg, name, len));
}

/* Consumer walk callback: as seen_member. */
static int
seen_cons(void *arg, const void *name, size_t len, const struct rcons_rec *r)
{
	(void)r;
	return (seen_member(arg, name, len));
}

/* Whole-store key walk callback: counts keys, and long ones whole. */
static int
seen_rkey_all(void *arg, const void *key, size_t len,
    const struct rkey_rec *r)
{
	if (r == NULL)
		return (STORE_WALK_STOP);
	return (seen_member(arg, key, len));
}

/* A 200,000-byte member and key: put, get, walk, delete. */
static int
test_big(void)
{
	struct store	*s;
	struct txn	 t;
	struct rkey_rec	 r, got;
	struct seen	 seen;
	uint8_t		*m = name_of(BIG, 'm', "END", 3);
	uint8_t		*k = name_of(BIG, 'k', "KEY", 3);

	CHECK(open_at("big", &s) == STORE_OK);
	CHECK(store_txn_begin(s, &t, 1) == STORE_OK);
	CHECK(store_rset_put(&t, 7, m, BIG) == STORE_OK);
	CHECK(store_rset_put(&t, 7, m, BIG) == STORE_EXISTS);
	CHECK(store_rset_put(&t, 7, "short", 5) == STORE_OK);
	memset(&r, 0, sizeof r);
	r.type = RTYPE_SET;
	r.rid = 7;
	r.card = 2;
	CHECK(store_rkey_put(&t, k, BIG, &r, 1) == STORE_OK);
	CHECK(store_txn_commit(&t) == STORE_OK);

	CHECK(store_txn_begin(s, &t, 0) == STORE_OK);
	CHECK(store_rset_get(&t, 7, m, BIG) == STORE_OK);
	m[BIG - 1] = 'X';
	CHECK(store_rset_get(&t, 7, m, BIG) == STORE_NOTFOUND);
	CHECK(store_rset_get(&t, 7, m, BIG - 1) == STORE_NOTFOUND);
	m[BIG - 1] = 'D';
	CHECK(store_rkey_get(&t, k, BIG, &got) == STORE_OK);
	CHECK(got.type == RTYPE_SET && got.rid == 7 && got.card == 2);
	CHECK(store_rkey_get(&t, k, BIG - 1, &got) == STORE_NOTFOUND);
	memset(&seen, 0, sizeof seen);
	CHECK(store_rset_walk(&t, 7, seen_member, &seen) == STORE_OK);
	CHECK(seen.n == 2);
	CHECK(seen.lens[0] == BIG && seen.last[0] == 'D');
	CHECK(seen.lens[1] == 5);
	memset(&seen, 0, sizeof seen);
	CHECK(store_rkey_walk_all(&t, seen_rkey_all, &seen) == STORE_OK);
	CHECK(seen.n == 1 && seen.lens[0] == BIG && seen.last[0] == 'Y');
	store_txn_abort(&t);

	CHECK(store_txn_begin(s, &t, 1) == STORE_OK);
	CHECK(store_rset_del(&t, 7, m, BIG) == STORE_OK);
	CHECK(store_rset_del(&t, 7, m, BIG) == STORE_NOTFOUND);
	CHECK(store_rkey_del(&t, k, BIG, 7) == STORE_OK);
	CHECK(store_rkey_get(&t, k, BIG, &got) == STORE_NOTFOUND);
	CHECK(store_txn_commit(&t) == STORE_OK);
	store_close(s);
	free(m);
	free(k);
	return (0);
}

/*
 * Three long members with the same first bytes and (through the hook)
 * the same hash: each is its own, a deleted one leaves the others, and a
 * new one takes the freed slot.
 */
static int
test_collide(void)
{
	struct store	*s;
	struct txn	 t;
	struct seen	 seen;
	uint8_t		*a = name_of(600, 'p', "a", 1);
	uint8_t		*b = name_of(600, 'p', "b", 1);
	uint8_t		*c = name_of(600, 'p', "c", 1);
	uint8_t		*d = name_of(700, 'p', "d", 1);

	CHECK(open_at("collide", &s) == STORE_OK);
	store_set_name_hash(s, hash_zero);
	CHECK(store_txn_begin(s, &t, 1) == STORE_OK);
	CHECK(store_rset_put(&t, 1, a, 600) == STORE_OK);
	CHECK(store_rset_put(&t, 1, b, 600) == STORE_OK);
	CHECK(store_rset_put(&t, 1, c, 600) == STORE_OK);
	CHECK(store_rset_put(&t, 1, b, 600) == STORE_EXISTS);
	CHECK(store_rset_get(&t, 1, a, 600) == STORE_OK);
	CHECK(store_rset_get(&t, 1, b, 600) == STORE_OK);
	CHECK(store_rset_get(&t, 1, c, 600) == STORE_OK);
	CHECK(store_rset_get(&t, 1, d, 700) == STORE_NOTFOUND);
	CHECK(store_rset_del(&t, 1, b, 600) == STORE_OK);
	CHECK(store_rset_get(&t, 1, b, 600) == STORE_NOTFOUND);
	CHECK(store_rset_get(&t, 1, a, 600) == STORE_OK);
	CHECK(store_rset_get(&t, 1, c, 600) == STORE_OK);
	CHECK(store_rset_put(&t, 1, d, 700) == STORE_OK);
	CHECK(store_rset_put(&t, 1, b, 600) == STORE_OK);
	memset(&seen, 0, sizeof seen);
	CHECK(store_rset_walk(&t, 1, seen_member, &seen) == STORE_OK);
	/* Slots in order of use: a 0, d took b's 1, c 2, b then 3. */
	CHECK(seen.n == 4);
	CHECK(seen.last[0] == 'a' && seen.last[1] == 'd' &&
	    seen.last[2] == 'c' && seen.last[3] == 'b');
	CHECK(seen.lens[1] == 700);
	CHECK(store_txn_commit(&t) == STORE_OK);

	/* Groups and consumers share the code: long names collide there. */
	CHECK(store_txn_begin(s, &t, 1) == STORE_OK);
	{
		struct rgroup_rec	g, gg;
		struct rcons_rec	cr, cc;

		memset(&g, 0, sizeof g);
		g.gid = 40;
		CHECK(store_rgroup_put(&t, 2, a, 600, &g) == STORE_OK);
		g.gid = 41;
		CHECK(store_rgroup_put(&t, 2, c, 600, &g) == STORE_OK);
		CHECK(store_rgroup_get(&t, 2, a, 600, &gg) == STORE_OK &&
		    gg.gid == 40);
		CHECK(store_rgroup_get(&t, 2, c, 600, &gg) == STORE_OK &&
		    gg.gid == 41);
		g.gid = 42;
		CHECK(store_rgroup_put(&t, 2, a, 600, &g) == STORE_OK);
		CHECK(store_rgroup_get(&t, 2, a, 600, &gg) == STORE_OK &&
		    gg.gid == 42);
		memset(&seen, 0, sizeof seen);
		CHECK(store_rgroup_walk(&t, 2, seen_group, &seen) ==
		    STORE_OK);
		CHECK(seen.n == 2);
		CHECK(store_rgroup_del(&t, 2, a, 600) == STORE_OK);
		CHECK(store_rgroup_get(&t, 2, a, 600, &gg) == STORE_NOTFOUND);

		memset(&cr, 0, sizeof cr);
		cr.pending = 3;
		CHECK(store_rcons_put(&t, 40, b, 600, &cr) == STORE_OK);
		cr.pending = 4;
		CHECK(store_rcons_put(&t, 40, c, 600, &cr) == STORE_OK);
		CHECK(store_rcons_has(&t, 40, b, 600) == STORE_OK);
		CHECK(store_rcons_has(&t, 40, a, 600) == STORE_NOTFOUND);
		CHECK(store_rcons_get(&t, 40, c, 600, &cc) == STORE_OK &&
		    cc.pending == 4);
		memset(&seen, 0, sizeof seen);
		CHECK(store_rcons_walk(&t, 40, seen_cons, &seen) == STORE_OK);
		CHECK(seen.n == 2 && seen.last[0] == 'b' &&
		    seen.last[1] == 'c');
		CHECK(store_rcons_del(&t, 40, b, 600) == STORE_OK);
		CHECK(store_rcons_del(&t, 40, b, 600) == STORE_NOTFOUND);
	}
	CHECK(store_txn_commit(&t) == STORE_OK);
	store_close(s);
	free(a);
	free(b);
	free(c);
	free(d);
	return (0);
}

/*
 * A short name whose key is byte for byte a long name's slot (possible
 * only at the longest short length): the long one moves, both are found.
 */
static int
test_short_in_long_slot(void)
{
	struct store	*s;
	struct txn	 t;
	struct seen	 seen;
	struct rkey_rec	 r, got;
	uint8_t		*lng = name_of(600, 'q', "z", 1);
	uint8_t		 shrt[503], kshrt[510];
	uint8_t		*klng = name_of(600, 'q', "z", 1);

	/* rid + 493 name bytes + hash 0 + slot 0 is rid + shrt. */
	memset(shrt, 'q', 493);
	memset(shrt + 493, 0, 10);
	memset(kshrt, 'q', 500);
	memset(kshrt + 500, 0, 10);
	CHECK(open_at("slot", &s) == STORE_OK);
	store_set_name_hash(s, hash_zero);
	CHECK(store_txn_begin(s, &t, 1) == STORE_OK);
	CHECK(store_rset_put(&t, 3, lng, 600) == STORE_OK);
	CHECK(store_rset_get(&t, 3, shrt, sizeof shrt) == STORE_NOTFOUND);
	CHECK(store_rset_del(&t, 3, shrt, sizeof shrt) == STORE_NOTFOUND);
	CHECK(store_rset_put(&t, 3, shrt, sizeof shrt) == STORE_OK);
	CHECK(store_rset_get(&t, 3, shrt, sizeof shrt) == STORE_OK);
	CHECK(store_rset_get(&t, 3, lng, 600) == STORE_OK);
	memset(&seen, 0, sizeof seen);
	CHECK(store_rset_walk(&t, 3, seen_member, &seen) == STORE_OK);
	CHECK(seen.n == 2 && seen.lens[0] == 503 && seen.lens[1] == 600);
	CHECK(store_rset_del(&t, 3, shrt, sizeof shrt) == STORE_OK);
	CHECK(store_rset_get(&t, 3, lng, 600) == STORE_OK);

	/* The same with keys, whose prefix is one byte. */
	memset(&r, 0, sizeof r);
	r.type = RTYPE_STRING;
	r.rid = 11;
	r.val = (const uint8_t *)"long";
	r.vlen = 4;
	CHECK(store_rkey_put(&t, klng, 600, &r, 1) == STORE_OK);
	CHECK(store_rkey_get(&t, kshrt, sizeof kshrt, &got) ==
	    STORE_NOTFOUND);
	r.rid = 12;
	r.val = (const uint8_t *)"short";
	r.vlen = 5;
	CHECK(store_rkey_put(&t, kshrt, sizeof kshrt, &r, 1) == STORE_OK);
	CHECK(store_rkey_get(&t, klng, 600, &got) == STORE_OK);
	CHECK(got.rid == 11 && got.vlen == 4 && memcmp(got.val, "long", 4) ==
	    0);
	CHECK(store_rkey_get(&t, kshrt, sizeof kshrt, &got) == STORE_OK);
	CHECK(got.rid == 12 && got.vlen == 5);
	CHECK(store_txn_commit(&t) == STORE_OK);
	store_close(s);
	free(lng);
	free(klng);
	return (0);
}

/*
 * A store written before long names (schema 1, short names only) reads
 * as it was: a 503-byte member and a 510-byte key forged in the old
 * layout are found, walked and deleted.
 */
static int
test_old_layout(void)
{
	struct store	*s;
	struct txn	 t;
	struct seen	 seen;
	struct rkey_rec	 got;
	uint8_t		 k[8 + 503], v = STORE_RECORD_V1, m[503];
	uint8_t		 kk[1 + 510], key[510], rec[1 + 1 + 8 + 8 + 8];
	uint64_t	 rid = 9, zero = 0, card = 1;

	CHECK(open_at("old", &s) == STORE_OK);
	store_close(s);
	memset(m, 'o', sizeof m);
	memset(k, 0, 8);
	k[7] = 9;
	memcpy(k + 8, m, sizeof m);
	CHECK(lmdb_forge(dir_of("old"), "rsets", k, sizeof k, &v, 1) == 0);
	memset(key, 'K', sizeof key);
	kk[0] = 'k';
	memcpy(kk + 1, key, sizeof key);
	rec[0] = STORE_RECORD_V1;
	rec[1] = RTYPE_SET;
	memcpy(rec + 2, &rid, 8);
	memcpy(rec + 10, &zero, 8);
	memcpy(rec + 18, &card, 8);
	CHECK(lmdb_forge(dir_of("old"), "rkeys", kk, sizeof kk, rec,
	    sizeof rec) == 0);
	CHECK(open_at("old", &s) == STORE_OK);
	CHECK(store_txn_begin(s, &t, 1) == STORE_OK);
	CHECK(store_rset_get(&t, 9, m, sizeof m) == STORE_OK);
	CHECK(store_rset_put(&t, 9, m, sizeof m) == STORE_EXISTS);
	memset(&seen, 0, sizeof seen);
	CHECK(store_rset_walk(&t, 9, seen_member, &seen) == STORE_OK);
	CHECK(seen.n == 1 && seen.lens[0] == 503 && seen.first[0] == 'o');
	CHECK(store_rkey_get(&t, key, sizeof key, &got) == STORE_OK);
	CHECK(got.type == RTYPE_SET && got.rid == 9 && got.card == 1);
	CHECK(store_rset_del(&t, 9, m, sizeof m) == STORE_OK);
	CHECK(store_rset_get(&t, 9, m, sizeof m) == STORE_NOTFOUND);
	CHECK(store_txn_commit(&t) == STORE_OK);
	store_close(s);
	return (0);
}

/* What store_rpel_take() handed its callback. */
struct taken {
	size_t		n;
	int		order;		/* 0 once an id came out of order */
	int		consumer;	/* 0 once a consumer was not its id's */
	struct mid	last;
};

/* store_rpel_take() callback: checks and counts each entry. */
static void
take_fn(void *arg, const struct mid *id, const struct rpel_rec *p)
{
	struct taken	*tk = arg;
	const char	*want = id->seq % 2 ? "odd" : "even";

	if (tk->n > 0 && mid_cmp(&tk->last, id) >= 0)
		tk->order = 0;
	if (p->clen != strlen(want) || memcmp(p->consumer, want, p->clen) != 0 ||
	    p->delivery_count != id->seq)
		tk->consumer = 0;
	tk->last = *id;
	tk->n++;
}

/* PEL walk callback: counts the entries. */
static int
count_pel(void *arg, const struct mid *id, const struct rpel_rec *p)
{
	(void)id;
	(void)p;
	(*(size_t *)arg)++;
	return (STORE_WALK_NEXT);
}

/*
 * store_rpel_take() over a PEL of many leaves: ids not pending, twice
 * the same id and another group's entries are passed over; what it took
 * is gone once committed, the rest is there.
 */
static int
test_rpel_take(void)
{
	struct store	*s;
	struct txn	 t;
	struct rpel_rec	 p;
	struct taken	 tk;
	struct mid	 ids[2010], id;
	size_t		 i, n = 0, left;

	CHECK(open_at("take", &s) == STORE_OK);
	CHECK(store_txn_begin(s, &t, 1) == STORE_OK);
	for (i = 1; i <= 3000; i++) {
		memset(&id, 0, sizeof id);
		id.ms = 1;
		id.seq = i;
		p.delivery_time = 1;
		p.delivery_count = i;
		p.consumer = (const uint8_t *)(i % 2 ? "odd" : "even");
		p.clen = strlen((const char *)p.consumer);
		CHECK(store_rpel_put(&t, 5, &id, &p) == STORE_OK);
		CHECK(store_rpel_put(&t, 6, &id, &p) == STORE_OK);
	}
	CHECK(store_txn_commit(&t) == STORE_OK);

	/* Every third id, each twice, then ids that were never pending. */
	for (i = 3; i <= 3000; i += 3) {
		memset(&ids[n], 0, sizeof ids[n]);
		ids[n].ms = 1;
		ids[n].seq = i;
		ids[n + 1] = ids[n];
		n += 2;
	}
	for (i = 0; i < 10; i++) {
		memset(&ids[n], 0, sizeof ids[n]);
		ids[n].ms = 2;
		ids[n].seq = i;
		n++;
	}
	CHECK(store_txn_begin(s, &t, 1) == STORE_OK);
	memset(&tk, 0, sizeof tk);
	tk.order = tk.consumer = 1;
	CHECK(store_rpel_take(&t, 5, ids, n, take_fn, &tk) == STORE_OK);
	CHECK(tk.n == 1000 && tk.order && tk.consumer);
	CHECK(store_rpel_take(&t, 5, ids, n, take_fn, &tk) == STORE_OK);
	CHECK(tk.n == 1000);
	CHECK(store_txn_commit(&t) == STORE_OK);

	CHECK(store_txn_begin(s, &t, 0) == STORE_OK);
	left = 0;
	CHECK(store_rpel_walk(&t, 5, &mid_zero, count_pel, &left) ==
	    STORE_OK);
	CHECK(left == 2000);
	left = 0;
	CHECK(store_rpel_walk(&t, 6, &mid_zero, count_pel, &left) ==
	    STORE_OK);
	CHECK(left == 3000);
	CHECK(store_rpel_get(&t, 5, &ids[0], &p) == STORE_NOTFOUND);
	id = ids[0];
	id.seq = 4;
	CHECK(store_rpel_get(&t, 5, &id, &p) == STORE_OK);
	CHECK(p.delivery_count == 4);
	store_txn_abort(&t);
	store_close(s);
	return (0);
}

static const struct test tests[] = {
	{ "a 200,000-byte member and key", test_big },
	{ "long names whose prefix and hash collide", test_collide },
	{ "a short name in a long name's slot", test_short_in_long_slot },
	{ "records of the old layout read as they were", test_old_layout },
	{ "pending entries taken through one cursor", test_rpel_take },
};

/* Runs every test, prints TAP, and removes the temporary tree. */
int
main(void)
{
	return (tap_run_tmpdir(tests, nitems(tests), "test_store_resp", base,
	    sizeof base));
}
