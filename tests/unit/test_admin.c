/* SPDX-License-Identifier: ISC */
/*
 * test_admin.c: unit tests of admin.c and verify.c, the store-level
 * operations behind tickctl(8): verify finds each kind of inconsistency
 * planted with the store's own functions and repairs what it says it
 * repairs; user delete, queue purge and token revoke remove exactly what
 * they should; the read-only open and the compacted copy give a store that
 * verifies.
 * Records that do not decode cannot be made through the store: they are
 * forged with testlib's lmdb_forge().
 * Prints TAP; exits 0 only if every test passed.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


#include "tickd.h"
#include "testlib.h"
#include "testlib-store.h"

#define MAP_SIZE	(16ULL << 20)
#define NOW		1700000000000ULL

static char		base[256];
static struct conf	conf;

/* The lines a verify reported. */
struct lines {
	char	*v[32];
	int	 n;
};

/* The RESP data of resp_populate(): its rids and gid. */
#define RID_SET		1
#define RID_STREAM	2
#define GID		3
#define RID_STRING	4

/* Sets these tests' limits and opens the test's store. */
static int
env_begin(struct env *e, const char *name)
{
	memset(&conf, 0, sizeof conf);
	conf.max_queue = 100;
	conf.max_message_bytes = 1024;
	conf.dedup_window = 100000;
	conf.message_ttl = 100000;
	conf.device_ttl = 100000;
	return (env_open(e, base, name, MAP_SIZE));
}

/* Commits the open transaction (saving the mids) and begins another. */
static int
env_commit(struct env *e)
{
	if (store_mid_save(&e->txn, &e->gen.last) != STORE_OK ||
	    store_txn_commit(&e->txn) != STORE_OK)
		return (-1);
	return (store_txn_begin(e->s, &e->txn, 1) == STORE_OK ? 0 : -1);
}

/* One message from one user to another, with client id id. */
static int
send_msg(struct env *e, const char *from, const char *dev, const char *to,
    const char *id)
{
	struct send_req	req;
	struct send_res	res;
	int		rc;

	memset(&req, 0, sizeof req);
	req.from = from;
	req.from_device = dev;
	req.to = to;
	req.id = id;
	req.body = json_string("hello");
	req.now = NOW;
	rc = queue_send(&e->txn, &e->gen, &conf, &req, &res);
	json_decref(req.body);
	targets_free(&res.targets);
	return (rc == STORE_OK && res.err == TE_OK ? 0 : -1);
}

/* report callback: keeps the lines. */
static void
keep(void *arg, const char *line)
{
	struct lines	*l = arg;

	if (l->n < 32)
		l->v[l->n++] = strdup(line);
}

/* Frees the kept lines. */
static void
lines_free(struct lines *l)
{
	while (l->n > 0)
		free(l->v[--l->n]);
}

/* Whether one of the lines holds s. */
static int
has(struct lines *l, const char *s)
{
	int	i;

	for (i = 0; i < l->n; i++) {
		if (strstr(l->v[i], s) != NULL)
			return (1);
	}
	for (i = 0; i < l->n; i++)
		printf("# line: %s\n", l->v[i]);
	printf("# no line with \"%s\"\n", s);
	return (0);
}

/* A member of a summary as a number. */
static long long
n(json_t *o, const char *key)
{
	return (json_integer_value(json_object_get(o, key)));
}

/* Alice and bob, with messages both ways, a block and a token. */
static int
populate(struct env *e)
{
	char	tok[TOKEN_HEXLEN + 1];

	if (env_user(e, "alice", "phone", NOW) != 0 ||
	    env_user(e, "bob", "laptop", NOW) != 0 ||
	    send_msg(e, "alice", "phone", "bob", "a1") != 0 ||
	    send_msg(e, "alice", "phone", "bob", "a2") != 0 ||
	    send_msg(e, "bob", "laptop", "alice", "b1") != 0 ||
	    store_block_put(&e->txn, "alice", "bob") != STORE_OK ||
	    store_block_put(&e->txn, "bob", "alice") != STORE_OK ||
	    account_token_issue(&e->txn, "bob", "laptop", 2, NOW + 1000,
	    tok) != STORE_OK)
		return (-1);
	return (env_commit(e));
}

/*
 * Forges a record of the RESP shim or the spool keyed by a number, then
 * len bytes of rest: commits, closes the store around lmdb_forge() and
 * begins a new transaction.
 */
static int
forge(struct env *e, const char *db, uint64_t n, const void *rest,
    size_t len, const void *val, size_t vlen)
{
	uint8_t	 k[8 + MID_BYTES];
	char	*cause = NULL;
	int	 i;

	for (i = 7; i >= 0; i--, n >>= 8)
		k[i] = (uint8_t)n;
	if (len != 0)
		memcpy(k + 8, rest, len);
	if (env_commit(e) != 0)
		return (-1);
	store_txn_abort(&e->txn);
	store_close(e->s);
	if (lmdb_forge(e->dir, db, k, 8 + len, val, vlen) != 0 ||
	    store_open(&e->s, e->dir, MAP_SIZE, &cause) != STORE_OK) {
		free(cause);
		return (-1);
	}
	return (store_txn_begin(e->s, &e->txn, 1) == STORE_OK ? 0 : -1);
}

/* Creates a key record; isnew also enters it in the SCAN index. */
static int
rkey(struct env *e, const char *key, uint8_t type, uint64_t rid,
    uint64_t count, uint64_t ngroups, int isnew)
{
	struct rkey_rec	r;

	memset(&r, 0, sizeof r);
	r.type = type;
	r.rid = rid;
	if (type == RTYPE_STRING) {
		r.val = (const uint8_t *)"v";
		r.vlen = 1;
	} else if (type == RTYPE_SET)
		r.card = count;
	else
		r.length = count;
	r.ngroups = ngroups;
	return (store_rkey_put(&e->txn, key, strlen(key), &r, isnew));
}

/* Adds stream entry ms-0 of rid, with one field. */
static int
rentry(struct env *e, uint64_t rid, uint64_t ms)
{
	struct mid	id = { ms, 0 };
	struct rbuf	fv[2] = { { "f", 1 }, { "v", 1 } };

	return (store_rentry_put(&e->txn, rid, &id, 1, fv, 2));
}

/* Creates group name of stream rid with its counts. */
static int
rgroup(struct env *e, uint64_t rid, const char *name, uint64_t gid,
    uint64_t pending, uint64_t consumers)
{
	struct rgroup_rec	g;

	memset(&g, 0, sizeof g);
	g.gid = gid;
	g.entries_read = -1;
	g.pending = pending;
	g.consumers = consumers;
	return (store_rgroup_put(&e->txn, rid, name, strlen(name), &g));
}

/* Creates consumer name of group gid. */
static int
rcons(struct env *e, uint64_t gid, const char *name, uint64_t pending)
{
	struct rcons_rec	c = { NOW, pending };

	return (store_rcons_put(&e->txn, gid, name, strlen(name), &c));
}

/* Makes entry ms-0 pending in group gid, delivered to consumer name. */
static int
rpel(struct env *e, uint64_t gid, uint64_t ms, const char *name)
{
	struct mid	id = { ms, 0 };
	struct rpel_rec	p;

	p.delivery_time = NOW;
	p.delivery_count = 1;
	p.consumer = (const uint8_t *)name;
	p.clen = strlen(name);
	return (store_rpel_put(&e->txn, gid, &id, &p));
}

/*
 * The RESP data of a store written by the rules: a string, a set of two
 * members, a stream of two entries and a tombstone with a group, whose
 * consumer has one entry pending; and an event in the audit spool.
 */
static int
resp_populate(struct env *e)
{
	struct audit_rec	a;
	struct mid		gone = { 2, 0 };

	memset(&a, 0, sizeof a);
	a.at = NOW;
	strlcpy(a.user, "alice", sizeof a.user);
	a.detail = "{}";
	a.detail_len = 2;
	if (rkey(e, "str", RTYPE_STRING, RID_STRING, 0, 0, 1) != STORE_OK ||
	    rkey(e, "s", RTYPE_SET, RID_SET, 2, 0, 1) != STORE_OK ||
	    store_rset_put(&e->txn, RID_SET, "a", 1) != STORE_OK ||
	    store_rset_put(&e->txn, RID_SET, "", 0) != STORE_OK ||
	    rkey(e, "x", RTYPE_STREAM, RID_STREAM, 2, 1, 1) != STORE_OK ||
	    rentry(e, RID_STREAM, 1) != STORE_OK ||
	    rentry(e, RID_STREAM, 2) != STORE_OK ||
	    rentry(e, RID_STREAM, 3) != STORE_OK ||
	    store_rentry_del(&e->txn, RID_STREAM, &gone) != STORE_OK ||
	    rgroup(e, RID_STREAM, "g", GID, 1, 1) != STORE_OK ||
	    rcons(e, GID, "c", 1) != STORE_OK ||
	    rpel(e, GID, 1, "c") != STORE_OK ||
	    store_audit_put(&e->txn, NOW << 20, &a) != STORE_OK)
		return (-1);
	return (env_commit(e));
}

/* A store written only through the rules is consistent. */
static int
test_consistent(void)
{
	struct env	 e;
	struct lines	 l = { .n = 0 };
	json_t		*sum;

	CHECK(env_begin(&e, "consistent") == 0);
	CHECK(populate(&e) == 0);
	CHECK(resp_populate(&e) == 0);
	CHECK(admin_verify(&e.txn, 0, keep, &l, &sum) == STORE_OK);
	CHECK(l.n == 0);
	CHECK(json_is_true(json_object_get(sum, "consistent")));
	CHECK(n(sum, "problems") == 0);
	CHECK(n(sum, "users") == 2 && n(sum, "devices") == 2);
	CHECK(n(sum, "items") == 3 && n(sum, "messages") == 3);
	CHECK(n(sum, "client_ids") == 3 && n(sum, "blocks") == 2);
	CHECK(n(sum, "tokens") == 1 && n(sum, "stale_tokens") == 1);
	CHECK(n(sum, "keys") == 3 && n(sum, "set_members") == 2);
	CHECK(n(sum, "stream_entries") == 3 && n(sum, "groups") == 1);
	CHECK(n(sum, "consumers") == 1 && n(sum, "pending_entries") == 1);
	CHECK(n(sum, "audit_events") == 1);
	json_decref(sum);
	/* Repair finds nothing to do either. */
	CHECK(admin_verify(&e.txn, 1, keep, &l, &sum) == STORE_OK);
	CHECK(l.n == 0 && n(sum, "repaired") == 0);
	json_decref(sum);
	CHECK(env_close(&e) == 0);
	return (0);
}

/*
 * Every kind of inconsistency, planted with the store's functions, is
 * reported; repair fixes the repairable ones and a second verify finds
 * only what it left.
 */
static int
test_inconsistent(void)
{
	struct env	 e;
	struct lines	 l = { .n = 0 };
	struct dev_rec	 r;
	struct user_rec	 u;
	struct dedup_rec dd;
	struct item	 it;
	struct mid	 mid = { NOW - 1, 0 }, high = { NOW + 100000, 0 };
	json_t		*sum;
	const char	*junk = "not json";

	CHECK(env_begin(&e, "inconsistent") == 0);
	CHECK(populate(&e) == 0);
	/* A wrong count. */
	CHECK(store_device_get(&e.txn, "alice", "phone", &r) == STORE_OK);
	r.count += 5;
	CHECK(store_device_put(&e.txn, "alice", "phone", &r) == STORE_OK);
	/* A queue of no device. */
	it.kind = ITEM_MSG;
	it.ts = NOW;
	it.data = junk;
	it.len = strlen(junk);
	CHECK(store_queue_put(&e.txn, 77, &mid, &it) == STORE_OK);
	/* A damaged item in bob's queue, counted so only the frame is bad. */
	CHECK(store_device_get(&e.txn, "bob", "laptop", &r) == STORE_OK);
	CHECK(store_queue_put(&e.txn, r.qid, &mid, &it) == STORE_OK);
	r.count++;
	r.bytes += it.len;
	CHECK(store_device_put(&e.txn, "bob", "laptop", &r) == STORE_OK);
	/* A block naming a missing user. */
	CHECK(store_block_put(&e.txn, "alice", "ghost") == STORE_OK);
	/* A client id naming no message. */
	memset(&dd, 0, sizeof dd);
	dd.mid = mid;
	dd.ts = NOW;
	strlcpy(dd.to, "bob", sizeof dd.to);
	CHECK(store_dedup_put(&e.txn, "alice", "lost", &dd) == STORE_OK);
	/* A device of no account. */
	memset(&r, 0, sizeof r);
	r.qid = 1000;
	CHECK(store_device_put(&e.txn, "ghost", "pc", &r) == STORE_OK);
	/* An account without a device. */
	memset(&u, 0, sizeof u);
	CHECK(store_user_add(&e.txn, "carol", &u) == STORE_OK);
	/* An item above the high-water mark: reported, not repaired. */
	CHECK(store_device_get(&e.txn, "alice", "phone", &r) == STORE_OK);
	it.data = "{\"op\":\"msg\",\"mid\":\"1700000100000-0\"}";
	it.len = strlen(it.data);
	CHECK(store_queue_put(&e.txn, r.qid, &high, &it) == STORE_OK);
	r.count++;
	r.bytes += it.len;
	CHECK(store_device_put(&e.txn, "alice", "phone", &r) == STORE_OK);
	CHECK(env_commit(&e) == 0);

	CHECK(admin_verify(&e.txn, 0, keep, &l, &sum) == STORE_OK);
	CHECK(has(&l, "alice:phone counts 7 items"));
	CHECK(has(&l, "queue 77 holds 1 items but belongs to no device"));
	CHECK(has(&l, "item 1699999999999-0 of bob:laptop is damaged"));
	CHECK(has(&l, "block of ghost by alice: no such user"));
	CHECK(has(&l, "client id \"lost\" of alice names message"));
	CHECK(has(&l, "device ghost:pc belongs to no user"));
	CHECK(has(&l, "user carol has no device"));
	CHECK(has(&l, "above the mid high-water mark"));
	CHECK(has(&l, "ghost:pc has queue 1000, which was never handed out"));
	CHECK(!json_is_true(json_object_get(sum, "consistent")));
	CHECK(n(sum, "repaired") == 0);
	json_decref(sum);
	lines_free(&l);

	CHECK(admin_verify(&e.txn, 1, keep, &l, &sum) == STORE_OK);
	CHECK(n(sum, "repaired") == n(sum, "problems") - 1);
	json_decref(sum);
	lines_free(&l);
	CHECK(env_commit(&e) == 0);
	CHECK(admin_verify(&e.txn, 0, keep, &l, &sum) == STORE_OK);
	CHECK(l.n == 1 && has(&l, "above the mid high-water mark"));
	CHECK(store_device_get(&e.txn, "carol", "default", &r) == STORE_OK);
	json_decref(sum);
	lines_free(&l);
	CHECK(env_close(&e) == 0);
	return (0);
}

/*
 * Each kind of orphan and wrong count of the RESP shim, planted with the
 * store's functions, is reported; repair removes the orphans, enters a
 * key missing from the SCAN index and writes the counts, and a second
 * verify finds only what it cannot fix.
 */
static int
test_resp_inconsistent(void)
{
	struct env		 e;
	struct lines		 l = { .n = 0 };
	struct rkey_rec		 r;
	struct rgroup_rec	 g;
	const void		*p;
	size_t			 len;
	json_t			*sum;

	CHECK(env_begin(&e, "resp-inconsistent") == 0);
	CHECK(populate(&e) == 0);
	CHECK(resp_populate(&e) == 0);
	/* Members of no key, entries of a key that is not a stream. */
	CHECK(store_rset_put(&e.txn, 90, "m1", 2) == STORE_OK);
	CHECK(store_rset_put(&e.txn, 90, "m2", 2) == STORE_OK);
	CHECK(rentry(&e, RID_SET, 5) == STORE_OK);
	/* A group of no key, with a consumer and a pending entry. */
	CHECK(rgroup(&e, 91, "lost", 92, 1, 1) == STORE_OK);
	CHECK(rcons(&e, 92, "c", 1) == STORE_OK);
	CHECK(rpel(&e, 92, 1, "c") == STORE_OK);
	/* A consumer of no group. */
	CHECK(rcons(&e, 93, "c", 0) == STORE_OK);
	/* An index entry left by a key that got another rid. */
	CHECK(rkey(&e, "moved", RTYPE_STRING, 60, 0, 0, 1) == STORE_OK);
	CHECK(rkey(&e, "moved", RTYPE_STRING, 61, 0, 0, 1) == STORE_OK);
	/* A key missing from the index. */
	CHECK(rkey(&e, "hidden", RTYPE_SET, 62, 1, 0, 0) == STORE_OK);
	CHECK(store_rset_put(&e.txn, 62, "m", 1) == STORE_OK);
	/* Two keys of one rid: reported only. */
	CHECK(rkey(&e, "twin", RTYPE_STRING, 70, 0, 0, 0) == STORE_OK);
	CHECK(rkey(&e, "twin2", RTYPE_STRING, 70, 0, 0, 1) == STORE_OK);
	/* Wrong counts of the set, the stream and its group. */
	CHECK(rkey(&e, "s", RTYPE_SET, RID_SET, 5, 0, 0) == STORE_OK);
	CHECK(rkey(&e, "x", RTYPE_STREAM, RID_STREAM, 7, 2, 0) == STORE_OK);
	CHECK(rgroup(&e, RID_STREAM, "g", GID, 4, 1) == STORE_OK);
	/* A pending entry of no consumer: reported only. */
	CHECK(rpel(&e, GID, 3, "nobody") == STORE_OK);
	CHECK(env_commit(&e) == 0);

	CHECK(admin_verify(&e.txn, 0, keep, &l, &sum) == STORE_OK);
	CHECK(has(&l, "rid 90 holds 2 set members but belongs to no set"));
	CHECK(has(&l, "rid 1 holds 1 stream entries but belongs to no "
	    "stream"));
	CHECK(has(&l, "rid 91 holds 1 consumer groups but belongs to no "
	    "stream"));
	CHECK(has(&l, "gid 92 holds 1 consumers but belongs to no consumer "
	    "group"));
	CHECK(has(&l, "gid 92 holds 1 pending entries but belongs to no "
	    "consumer group"));
	CHECK(has(&l, "gid 93 holds 1 consumers but belongs to no consumer "
	    "group"));
	CHECK(has(&l, "SCAN index entry of rid 60 names key \"moved\", whose "
	    "record does not have that rid"));
	CHECK(has(&l, "key \"hidden\" has rid 62 but is missing from the "
	    "SCAN index"));
	CHECK(has(&l, "key \"twin\" has rid 70, which the SCAN index gives "
	    "to \"twin2\""));
	CHECK(has(&l, "rid 70 is held by more than one key"));
	CHECK(has(&l, "set \"s\" counts 5 members; it holds 2"));
	CHECK(has(&l, "stream \"x\" counts 7 entries and 2 groups; it holds "
	    "2 entries and 1 groups"));
	CHECK(has(&l, "group \"g\" of stream \"x\" counts 4 pending entries "
	    "and 1 consumers; it holds 2 and 1"));
	CHECK(has(&l, "pending entry 3-0 of group \"g\" of stream \"x\" names "
	    "consumer \"nobody\", which does not exist"));
	CHECK(l.n == 14 && n(sum, "problems") == 14);
	CHECK(n(sum, "repaired") == 0);
	CHECK(!json_is_true(json_object_get(sum, "consistent")));
	json_decref(sum);
	lines_free(&l);

	CHECK(admin_verify(&e.txn, 1, keep, &l, &sum) == STORE_OK);
	CHECK(has(&l, "rid 90 holds 2 set members but belongs to no set; "
	    "removed (repaired)"));
	CHECK(has(&l, "gid 93 holds 1 consumers but belongs to no consumer "
	    "group; removed (repaired)"));
	CHECK(has(&l, "whose record does not have that rid; removed "
	    "(repaired)"));
	CHECK(has(&l, "missing from the SCAN index (repaired)"));
	CHECK(n(sum, "problems") == 14 && n(sum, "repaired") == 11);
	json_decref(sum);
	lines_free(&l);
	CHECK(env_commit(&e) == 0);

	CHECK(admin_verify(&e.txn, 0, keep, &l, &sum) == STORE_OK);
	CHECK(l.n == 3 && has(&l, "rid 70 is held by more than one key") &&
	    has(&l, "gives to \"twin2\"") && has(&l, "names consumer "
	    "\"nobody\""));
	CHECK(n(sum, "set_members") == 3 && n(sum, "stream_entries") == 3);
	CHECK(n(sum, "groups") == 1 && n(sum, "consumers") == 1);
	CHECK(n(sum, "pending_entries") == 2);
	json_decref(sum);
	lines_free(&l);
	CHECK(store_rset_get(&e.txn, 90, "m1", 2) == STORE_NOTFOUND);
	CHECK(store_ridx_get(&e.txn, 60, &p, &len) == STORE_NOTFOUND);
	CHECK(store_ridx_get(&e.txn, 62, &p, &len) == STORE_OK &&
	    len == 6 && memcmp(p, "hidden", 6) == 0);
	CHECK(store_rkey_get(&e.txn, "s", 1, &r) == STORE_OK && r.card == 2);
	CHECK(store_rkey_get(&e.txn, "x", 1, &r) == STORE_OK &&
	    r.length == 2 && r.ngroups == 1);
	CHECK(store_rgroup_get(&e.txn, RID_STREAM, "g", 1, &g) == STORE_OK &&
	    g.pending == 2 && g.consumers == 1);
	CHECK(env_close(&e) == 0);
	return (0);
}

/*
 * Records that do not decode are reported, not repaired; while a key
 * record does not decode, what seems to belong to no key is not removed,
 * since it may be that key's.
 */
static int
test_resp_damaged(void)
{
	struct env	 e;
	struct lines	 l = { .n = 0 };
	uint8_t		 id[MID_BYTES], bad[2] = { STORE_RECORD_V1, 7 };
	struct mid	 mid = { 9, 0 };
	json_t		*sum;

	CHECK(env_begin(&e, "resp-damaged") == 0);
	CHECK(populate(&e) == 0);
	CHECK(resp_populate(&e) == 0);
	/* A key of no known type, entered in the index. */
	CHECK(rkey(&e, "bad", 9, 80, 0, 0, 1) == STORE_OK);
	CHECK(store_rset_put(&e.txn, 90, "m", 1) == STORE_OK);
	/* A stream entry and an audit event that do not decode. */
	mid_encode(&mid, id);
	CHECK(forge(&e, "rentries", RID_STREAM, id, sizeof id, bad,
	    sizeof bad) == 0);
	CHECK(forge(&e, "audit", 77, NULL, 0, bad, sizeof bad) == 0);

	CHECK(admin_verify(&e.txn, 1, keep, &l, &sum) == STORE_OK);
	CHECK(has(&l, "key \"bad\" does not decode"));
	CHECK(has(&l, "SCAN index entry of rid 80 names key \"bad\", whose "
	    "record does not have that rid"));
	CHECK(has(&l, "rid 90 holds 1 set members but belongs to no set"));
	CHECK(has(&l, "an entry of stream \"x\" does not decode"));
	CHECK(has(&l, "audit event 77 does not decode"));
	CHECK(l.n == 5 && n(sum, "repaired") == 0);
	CHECK(n(sum, "keys") == 4 && n(sum, "stream_entries") == 4);
	CHECK(n(sum, "audit_events") == 2);
	json_decref(sum);
	lines_free(&l);
	CHECK(env_close(&e) == 0);
	return (0);
}

/*
 * A store of a tickd from before the shim and the audit spool, whose
 * databases are created by the first start, verifies read-only.
 */
static int
test_old_store(void)
{
	struct store	*s;
	struct txn	 txn;
	struct lines	 l = { .n = 0 };
	char		 dir[512], *cause;
	uint8_t		 v[1 + sizeof (uint32_t)];
	uint32_t	 schema = STORE_SCHEMA;
	json_t		*sum;

	snprintf(dir, sizeof dir, "%s/old", base);
	CHECK(mkdir(dir, 0700) == 0);
	v[0] = STORE_RECORD_V1;
	memcpy(v + 1, &schema, sizeof schema);
	CHECK(lmdb_forge(dir, "meta", "schema", 6, v, sizeof v) == 0);
	CHECK(store_open_readonly(&s, dir, &cause) == STORE_OK);
	CHECK(store_txn_begin(s, &txn, 0) == STORE_OK);
	CHECK(admin_verify(&txn, 0, keep, &l, &sum) == STORE_OK);
	CHECK(l.n == 0 && n(sum, "users") == 0 && n(sum, "keys") == 0);
	json_decref(sum);
	store_txn_abort(&txn);
	store_close(s);
	return (0);
}

/* user delete removes the account and all that hangs on it, only that. */
static int
test_user_delete(void)
{
	struct env		 e;
	struct admin_del	 del;
	struct lines		 l = { .n = 0 };
	struct user_rec		 u;
	struct dedup_rec	 dd;
	json_t			*sum, *blocks;

	CHECK(env_begin(&e, "delete") == 0);
	CHECK(populate(&e) == 0);
	CHECK(admin_user_delete(&e.txn, &e.gen, "bob", &del) == STORE_OK);
	CHECK(del.devices == 1 && del.items == 2 && del.tokens == 1);
	CHECK(del.blocks == 2 && del.dedup == 1);
	CHECK(admin_user_delete(&e.txn, &e.gen, "bob", &del) == STORE_NOTFOUND);
	CHECK(store_user_get(&e.txn, "bob", &u) == STORE_NOTFOUND);
	CHECK(store_dedup_get(&e.txn, "bob", "b1", &dd) == STORE_NOTFOUND);
	CHECK(store_dedup_get(&e.txn, "alice", "a1", &dd) == STORE_OK);
	CHECK(admin_block_list(&e.txn, "alice", &blocks) == STORE_OK);
	CHECK(json_array_size(json_object_get(blocks, "blocks")) == 0);
	CHECK(json_array_size(json_object_get(blocks, "blocked_by")) == 0);
	json_decref(blocks);
	CHECK(env_commit(&e) == 0);
	CHECK(admin_verify(&e.txn, 0, keep, &l, &sum) == STORE_OK);
	CHECK(l.n == 0 && n(sum, "users") == 1);
	json_decref(sum);
	CHECK(env_close(&e) == 0);
	return (0);
}

/* queue purge empties queues and their counts; token revoke by device. */
static int
test_purge_revoke(void)
{
	struct env	 e;
	struct dev_rec	 r;
	uint64_t	 items, bytes, ntok;
	char		 tok[TOKEN_HEXLEN + 1];
	json_t		*q;

	CHECK(env_begin(&e, "purge") == 0);
	CHECK(populate(&e) == 0);
	CHECK(admin_queue_show(&e.txn, "bob", NULL, NULL, NULL, &q) ==
	    STORE_OK);
	CHECK(n(q, "items") == 2 && n(q, "oldest") == (long long)NOW);
	json_decref(q);
	CHECK(admin_queue_purge(&e.txn, &e.gen, "bob", "tablet", &items,
	    &bytes) == STORE_NOTFOUND);
	CHECK(admin_queue_purge(&e.txn, &e.gen, "bob", "laptop", &items,
	    &bytes) == STORE_OK);
	CHECK(items == 2 && bytes > 0);
	CHECK(store_device_get(&e.txn, "bob", "laptop", &r) == STORE_OK);
	CHECK(r.count == 0 && r.bytes == 0);
	CHECK(admin_queue_show(&e.txn, "bob", NULL, NULL, NULL, &q) ==
	    STORE_OK);
	CHECK(n(q, "items") == 0);
	CHECK(json_is_null(json_object_get(q, "oldest")));
	json_decref(q);

	CHECK(account_token_issue(&e.txn, "alice", "phone", 1, NOW * 2,
	    tok) == STORE_OK);
	CHECK(admin_token_revoke(&e.txn, "alice", "laptop", &ntok) ==
	    STORE_NOTFOUND);
	CHECK(admin_token_revoke(&e.txn, "alice", "phone", &ntok) ==
	    STORE_OK && ntok == 1);
	CHECK(admin_token_revoke(&e.txn, "bob", NULL, &ntok) == STORE_OK &&
	    ntok == 1);
	CHECK(admin_token_revoke(&e.txn, "zed", NULL, &ntok) ==
	    STORE_NOTFOUND);
	CHECK(env_close(&e) == 0);
	return (0);
}

/* A compacted copy through a file opens read-only and verifies. */
static int
test_copy(void)
{
	struct env	 e;
	struct store	*ro, *copy;
	struct txn	 txn;
	struct lines	 l = { .n = 0 };
	char		 path[600], *cause, *text;
	json_t		*sum, *dump;
	FILE		*f;
	size_t		 len;
	int		 fd, pretty;

	CHECK(env_begin(&e, "copy") == 0);
	CHECK(populate(&e) == 0);
	CHECK(env_close(&e) == 0);
	CHECK(store_open_readonly(&ro, e.dir, &cause) == STORE_OK);
	snprintf(path, sizeof path, "%s/copy.mdb", base);
	CHECK((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) != -1);
	CHECK(store_copy_fd(ro, fd, &cause) == STORE_OK);
	CHECK(close(fd) == 0);
	CHECK(store_txn_begin(ro, &txn, 1) != STORE_OK);
	store_close(ro);
	CHECK(store_open_readonly(&copy, path, &cause) == STORE_OK);
	CHECK(store_txn_begin(copy, &txn, 0) == STORE_OK);
	CHECK(admin_verify(&txn, 0, keep, &l, &sum) == STORE_OK);
	CHECK(l.n == 0 && n(sum, "items") == 3 && n(sum, "users") == 2);
	for (pretty = 0; pretty < 2; pretty++) {
		CHECK((f = open_memstream(&text, &len)) != NULL);
		CHECK(admin_dump_write(&txn, "bob", NOW, f, pretty, NULL,
		    NULL) == STORE_OK);
		CHECK(fclose(f) == 0);
		CHECK((dump = json_loadb(text, len, JSON_REJECT_DUPLICATES,
		    NULL)) != NULL);
		free(text);
		CHECK(json_array_size(json_object_get(dump, "received")) ==
		    2);
		CHECK(json_array_size(json_object_get(dump, "sent")) == 1);
		CHECK(json_array_size(json_object_get(dump, "client_ids")) ==
		    1);
		CHECK(json_array_size(json_object_get(dump, "devices")) >= 1);
		CHECK(json_is_array(json_object_get(json_array_get(
		    json_object_get(dump, "devices"), 0), "queue_items")));
		CHECK(json_integer_value(json_object_get(dump, "dumped")) ==
		    NOW);
		json_decref(dump);
	}
	CHECK((f = open_memstream(&text, &len)) != NULL);
	CHECK(admin_dump_write(&txn, "zed", NOW, f, 0, NULL, NULL) ==
	    STORE_NOTFOUND);
	CHECK(fclose(f) == 0 && len == 0);
	free(text);
	json_decref(sum);
	store_txn_abort(&txn);
	store_close(copy);
	CHECK(store_open_readonly(&copy, base, &cause) != STORE_OK);
	free(cause);
	return (0);
}

/* The tests, in the order they run. */
/*
 * A repair in steps of one record, each in a transaction of its own, with
 * traffic between them: sends that move the counts, a new user (sorting
 * before the devices already checked) whose queue fills, a rename of a
 * lone "default" and a user deleted.  It fixes exactly what was planted,
 * and nothing of what ran meanwhile; a verify then finds the store
 * consistent.
 */
static int
test_steps(void)
{
	struct env	 e;
	struct lines	 l = { .n = 0 };
	struct dev_rec	 r;
	struct user_rec	 u;
	struct admin_del del;
	struct item	 it;
	struct verify	*v;
	struct mid	 mid = { NOW - 1, 0 };
	char		 name[16], out[NAME_DEVICE_MAX + 1];
	const char	*junk = "not json";
	json_t		*sum;
	int		 i, k, done = 0;

	CHECK(env_begin(&e, "steps") == 0);
	CHECK(populate(&e) == 0);
	for (i = 0; i < 20; i++) {
		snprintf(name, sizeof name, "u%02d", i);
		CHECK(env_user(&e, name, "phone", NOW) == 0);
	}
	CHECK(env_register(&e, "dora", NOW) == 0);
	/* Planted: a wrong count, a queue never handed out, a bad block. */
	CHECK(store_device_get(&e.txn, "alice", "phone", &r) == STORE_OK);
	r.count += 5;
	CHECK(store_device_put(&e.txn, "alice", "phone", &r) == STORE_OK);
	it.kind = ITEM_MSG;
	it.ts = NOW;
	it.data = junk;
	it.len = strlen(junk);
	CHECK(store_queue_put(&e.txn, 777, &mid, &it) == STORE_OK);
	CHECK(store_block_put(&e.txn, "alice", "ghost") == STORE_OK);
	/* A device of no account, an account of no device. */
	memset(&r, 0, sizeof r);
	r.qid = 1000;
	CHECK(store_device_put(&e.txn, "ghost", "pc", &r) == STORE_OK);
	memset(&u, 0, sizeof u);
	CHECK(store_user_add(&e.txn, "carol", &u) == STORE_OK);
	/* A device record lost, leaving its account and its queue. */
	CHECK(env_user(&e, "olga", "phone", NOW) == 0);
	CHECK(send_msg(&e, "alice", "phone", "olga", "o1") == 0);
	CHECK(store_device_del(&e.txn, "olga", "phone") == STORE_OK);
	CHECK(env_commit(&e) == 0);

	v = admin_verify_new(1);
	for (k = 0; !done && k < 1000; k++) {
		CHECK(admin_verify_step(v, &e.txn, 1, keep, &l, &done) ==
		    STORE_OK);
		CHECK(env_commit(&e) == 0);
		if (k == 3)
			CHECK(send_msg(&e, "alice", "phone", "bob", "x1") == 0);
		if (k == 35) {
			/* Past "aaron" already, and past dora's qid. */
			CHECK(env_user(&e, "aaron", "phone", NOW) == 0);
			CHECK(send_msg(&e, "bob", "laptop", "aaron", "y1") ==
			    0);
			CHECK(send_msg(&e, "bob", "laptop", "aaron", "y2") ==
			    0);
			CHECK(account_claim_device(&e.txn, "dora", "tablet",
			    NOW, out, &r) == STORE_OK);
			CHECK(send_msg(&e, "bob", "laptop", "dora", "y3") == 0);
		}
		if (k == 40)
			CHECK(admin_user_delete(&e.txn, &e.gen, "u05", &del) ==
			    STORE_OK);
		if (k > 3 && k % 7 == 0) {
			snprintf(name, sizeof name, "z%d", k);
			CHECK(send_msg(&e, "bob", "laptop", "alice", name) ==
			    0);
		}
		CHECK(env_commit(&e) == 0);
	}
	CHECK(done && k > 40);
	sum = admin_verify_summary(v);
	admin_verify_free(v);
	CHECK(has(&l, "alice:phone counts 6 items"));
	CHECK(has(&l, "queue 777 holds 1 items but belongs to no device"));
	CHECK(has(&l, "block of ghost by alice: no such user"));
	CHECK(has(&l, "device ghost:pc belongs to no user"));
	CHECK(has(&l, "user carol has no device"));
	CHECK(has(&l, "user olga has no device"));
	CHECK(has(&l, "holds 1 items but belongs to no device; removed"));
	CHECK(l.n == 7 && n(sum, "problems") == 7 && n(sum, "repaired") == 7);
	json_decref(sum);
	lines_free(&l);

	CHECK(admin_verify(&e.txn, 0, keep, &l, &sum) == STORE_OK);
	CHECK(l.n == 0 && json_is_true(json_object_get(sum, "consistent")));
	json_decref(sum);
	CHECK(store_device_get(&e.txn, "aaron", "phone", &r) == STORE_OK &&
	    r.count == 2);
	CHECK(store_device_get(&e.txn, "dora", "tablet", &r) == STORE_OK &&
	    r.count == 1);
	CHECK(env_close(&e) == 0);
	return (0);
}

/* Two devices sharing a queue: reported, while both still do. */
static int
test_shared(void)
{
	struct env	 e;
	struct lines	 l = { .n = 0 };
	struct dev_rec	 r;
	json_t		*sum;

	CHECK(env_begin(&e, "shared") == 0);
	CHECK(populate(&e) == 0);
	CHECK(store_device_get(&e.txn, "alice", "phone", &r) == STORE_OK);
	CHECK(store_device_put(&e.txn, "bob", "tablet", &r) == STORE_OK);
	CHECK(admin_verify(&e.txn, 0, keep, &l, &sum) == STORE_OK);
	CHECK(has(&l, "devices alice:phone and bob:tablet share queue"));
	CHECK(l.n == 1 && n(sum, "problems") == 1);
	json_decref(sum);
	lines_free(&l);
	CHECK(store_device_del(&e.txn, "bob", "tablet") == STORE_OK);
	CHECK(admin_verify(&e.txn, 0, keep, &l, &sum) == STORE_OK);
	CHECK(l.n == 0);
	json_decref(sum);
	CHECK(env_close(&e) == 0);
	return (0);
}

static const struct test tests[] = {
	{ "a store written by the rules verifies", test_consistent },
	{ "verify finds and repair fixes each inconsistency",
	  test_inconsistent },
	{ "verify finds and repair fixes each inconsistency of the shim",
	  test_resp_inconsistent },
	{ "verify reports records that do not decode", test_resp_damaged },
	{ "a store from before the shim verifies", test_old_store },
	{ "user delete removes the account and what hangs on it",
	  test_user_delete },
	{ "queue purge and token revoke", test_purge_revoke },
	{ "repair in steps with traffic between them", test_steps },
	{ "devices sharing a queue are reported", test_shared },
	{ "a compacted copy opens read-only and verifies", test_copy },
};

/* Runs every test in the table and prints TAP; exits 0 if all passed. */
int
main(void)
{
	log_init(1, L_ERROR);
	return (tap_run_tmpdir(tests, nitems(tests), "test_admin", base,
	    sizeof base));
}
