/* SPDX-License-Identifier: ISC */
/*
 * test_store.c: unit tests of store.c, store-chat.c and store-live.c, the
 * LMDB layer, the chat's records and the oldest queued item, against a
 * store in a temporary directory.
 * Prints TAP; exits 0 only if every test passed.  Stores that store_open()
 * must refuse are forged with testlib's lmdb_forge().
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


#include "tickd.h"
#include "testlib.h"
#include "testlib-store.h"

#define MAP_SIZE	(16ULL << 20)

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
open_at(const char *name, uint64_t map_size, struct store **s)
{
	return (open_store_at(s, dir_of(name), map_size));
}

/* A queue item holding a string. */
static struct item
item_of(uint8_t kind, uint64_t ts, const char *data)
{
	struct item	it;

	it.kind = kind;
	it.ts = ts;
	it.data = data;
	it.len = strlen(data);
	return (it);
}

/* A claimed device record with count items. */
static struct dev_rec
dev_of(uint64_t qid, uint64_t count)
{
	struct dev_rec	r;

	memset(&r, 0, sizeof r);
	r.qid = qid;
	r.created = 10;
	r.last_active = 20;
	r.count = count;
	r.bytes = count * 100;
	r.claimed = 1;
	return (r);
}

/* store_open creates, closes and reopens. */
static int
test_open_reopen(void)
{
	struct store	*s;
	struct txn	 txn;
	struct user_rec	 u;
	struct stat	 sb;
	uint64_t	 used, map;
	const char	*p;

	CHECK(open_at("reopen", MAP_SIZE, &s) == STORE_OK);
	CHECK(stat(dir_of("reopen"), &sb) == 0);
	CHECK(S_ISDIR(sb.st_mode) && (sb.st_mode & 0777) == 0700);
	p = store_path(s);
	CHECK(strlen(p) > 9 && strcmp(p + strlen(p) - 9, "/data.mdb") == 0);
	CHECK(stat(p, &sb) == 0);
	CHECK(store_usage(s, &used, &map) == STORE_OK);
	CHECK(map == MAP_SIZE && used > 0 && used < map);
	memset(&u, 0, sizeof u);
	u.created = 1;
	CHECK(store_txn_begin(s, &txn, 1) == STORE_OK);
	CHECK(store_user_add(&txn, "alice", &u) == STORE_OK);
	CHECK(store_txn_commit(&txn) == STORE_OK);
	CHECK(store_txn_begin(s, &txn, 1) == STORE_OK);
	CHECK(store_user_add(&txn, "bob", &u) == STORE_OK);
	store_txn_abort(&txn);
	store_close(s);

	CHECK(open_at("reopen", MAP_SIZE, &s) == STORE_OK);
	CHECK(store_txn_begin(s, &txn, 0) == STORE_OK);
	CHECK(store_user_get(&txn, "alice", &u) == STORE_OK && u.created == 1);
	CHECK(store_user_get(&txn, "bob", &u) == STORE_NOTFOUND);
	CHECK(store_txn_commit(&txn) == STORE_OK);
	/* An ended txn refuses further use instead of touching LMDB. */
	CHECK(store_user_get(&txn, "alice", &u) == STORE_ERR);
	store_txn_abort(&txn);
	store_close(s);
	return (0);
}

/* Writes a data-new.mdb of garbage into the test's data_dir. */
static int
leave_new(const char *name)
{
	char	path[600];
	FILE	*f;

	snprintf(path, sizeof path, "%s/data-new.mdb", dir_of(name));
	if ((f = fopen(path, "w")) == NULL)
		return (-1);
	if (fputs("not a store", f) == EOF) {
		fclose(f);
		return (-1);
	}
	return (fclose(f) == EOF ? -1 : 0);
}

/*
 * A data-new.mdb that a crash left while the store was made (tickd(8)
 * FILES) is removed, and the store made or opened as if it were not there.
 */
static int
test_open_leftover(void)
{
	struct store	*s;
	struct txn	 txn;
	struct user_rec	 u;
	struct stat	 sb;
	char		 path[600];

	snprintf(path, sizeof path, "%s/data-new.mdb", dir_of("leftover"));
	CHECK(mkdir(dir_of("leftover"), 0700) == 0);
	CHECK(leave_new("leftover") == 0);
	CHECK(open_at("leftover", MAP_SIZE, &s) == STORE_OK);
	CHECK(stat(path, &sb) == -1 && errno == ENOENT);
	CHECK(stat(store_path(s), &sb) == 0 && (sb.st_mode & 0777) == 0600);
	memset(&u, 0, sizeof u);
	u.created = 7;
	CHECK(store_txn_begin(s, &txn, 1) == STORE_OK);
	CHECK(store_user_add(&txn, "carol", &u) == STORE_OK);
	CHECK(store_txn_commit(&txn) == STORE_OK);
	store_close(s);

	CHECK(leave_new("leftover") == 0);
	CHECK(open_at("leftover", MAP_SIZE, &s) == STORE_OK);
	CHECK(stat(path, &sb) == -1 && errno == ENOENT);
	CHECK(store_txn_begin(s, &txn, 0) == STORE_OK);
	CHECK(store_user_get(&txn, "carol", &u) == STORE_OK && u.created == 7);
	store_txn_abort(&txn);
	store_close(s);
	return (0);
}

/* store_open refuses another schema, foreign files, bad dirs. */
static int
test_open_refused(void)
{
	struct store	*s;
	char		*cause;
	uint8_t		 v[5];
	uint32_t	 schema = STORE_SCHEMA + 1;

	CHECK(open_at("schema", MAP_SIZE, &s) == STORE_OK);
	store_close(s);
	v[0] = STORE_RECORD_V1;
	memcpy(v + 1, &schema, sizeof schema);
	CHECK(lmdb_forge(dir_of("schema"), "meta", "schema", 6, v,
	    sizeof v) == 0);
	CHECK(store_open(&s, dir_of("schema"), MAP_SIZE, &cause) ==
	    STORE_ERR);
	CHECK(s == NULL && cause != NULL);
	printf("# %s\n", cause);
	CHECK(strstr(cause, "schema version 2") != NULL);
	free(cause);

	/* Another program's LMDB files. */
	CHECK(mkdir(dir_of("foreign"), 0700) == 0);
	CHECK(lmdb_forge(dir_of("foreign"), NULL, "foo", 3, "bar", 3) == 0);
	CHECK(store_open(&s, dir_of("foreign"), MAP_SIZE, &cause) ==
	    STORE_ERR);
	CHECK(s == NULL && cause != NULL);
	printf("# %s\n", cause);
	CHECK(strstr(cause, "not a tickd store") != NULL);
	free(cause);

	/* A data_dir that cannot be created. */
	CHECK(store_open(&s, "/nonexistent-tickd/a/b", MAP_SIZE, &cause) ==
	    STORE_ERR);
	CHECK(s == NULL && cause != NULL);
	printf("# %s\n", cause);
	CHECK(strstr(cause, "/nonexistent-tickd/a/b") != NULL);
	free(cause);
	return (0);
}

/* Meta: mid high-water mark and qid counter. */
static int
test_meta(void)
{
	struct store	*s;
	struct txn	 txn;
	struct mid	 m;
	uint64_t	 q;

	CHECK(open_at("meta", MAP_SIZE, &s) == STORE_OK);
	CHECK(store_txn_begin(s, &txn, 1) == STORE_OK);
	CHECK(store_mid_load(&txn, &m) == STORE_OK && m.ms == 0 && m.seq == 0);
	m.ms = 1700000000000ULL;
	m.seq = 5;
	CHECK(store_mid_save(&txn, &m) == STORE_OK);
	CHECK(store_qid_next(&txn, &q) == STORE_OK && q == 1);
	CHECK(store_qid_next(&txn, &q) == STORE_OK && q == 2);
	CHECK(store_txn_commit(&txn) == STORE_OK);
	store_close(s);

	CHECK(open_at("meta", MAP_SIZE, &s) == STORE_OK);
	CHECK(store_txn_begin(s, &txn, 1) == STORE_OK);
	CHECK(store_mid_load(&txn, &m) == STORE_OK);
	CHECK(m.ms == 1700000000000ULL && m.seq == 5);
	CHECK(store_qid_next(&txn, &q) == STORE_OK && q == 3);
	CHECK(store_txn_commit(&txn) == STORE_OK);
	store_close(s);
	return (0);
}

/*
 * Read transactions: two at once, each with its snapshot; the handle of
 * the first to end is kept and renewed by the next begin, which sees a
 * later commit (were it freed, the allocator would hand out the handle
 * freed last, the other one); closing the store with that handle kept
 * frees it (check-valgrind).
 */
static int
test_reads(void)
{
	struct store	*s;
	struct txn	 w, r1, r2;
	struct mid	 m;
	void		*kept;

	CHECK(open_at("reads", MAP_SIZE, &s) == STORE_OK);
	m.ms = 10;
	m.seq = 1;
	CHECK(store_txn_begin(s, &w, 1) == STORE_OK);
	CHECK(store_mid_save(&w, &m) == STORE_OK);
	CHECK(store_txn_commit(&w) == STORE_OK);

	CHECK(store_txn_begin(s, &r1, 0) == STORE_OK);
	CHECK(store_txn_begin(s, &r2, 0) == STORE_OK);
	CHECK(r1.txn != r2.txn);
	m.ms = 20;
	CHECK(store_txn_begin(s, &w, 1) == STORE_OK);
	CHECK(store_mid_save(&w, &m) == STORE_OK);
	CHECK(store_txn_commit(&w) == STORE_OK);
	CHECK(store_mid_load(&r1, &m) == STORE_OK && m.ms == 10);
	CHECK(store_mid_load(&r2, &m) == STORE_OK && m.ms == 10);
	kept = r2.txn;
	store_txn_abort(&r2);
	store_txn_abort(&r1);
	store_txn_abort(&r1);

	CHECK(store_txn_begin(s, &r1, 0) == STORE_OK);
	CHECK(r1.txn == kept);
	CHECK(store_mid_load(&r1, &m) == STORE_OK && m.ms == 20);
	store_txn_abort(&r1);
	store_close(s);
	return (0);
}

struct names {
	char	v[8][80];
	int	n;
	int	stop_at;	/* stop after this many; 0: never */
	char	del[80];	/* delete entries with this name */
};

/* Records a walked name; deletes or stops as nm asks. */
static int
names_add(struct names *nm, const char *a, const char *b)
{
	snprintf(nm->v[nm->n], sizeof nm->v[0], "%s%s%s", a, b ? "/" : "",
	    b ? b : "");
	nm->n++;
	if (strcmp(nm->del, b != NULL ? b : a) == 0)
		return (STORE_WALK_DELETE);
	if (nm->stop_at != 0 && nm->n == nm->stop_at)
		return (STORE_WALK_STOP);
	return (STORE_WALK_NEXT);
}

/* User walk callback. */
static int
user_fn(void *arg, const char *name, const struct user_rec *u)
{
	(void)u;
	return (names_add(arg, name, NULL));
}

/* Users: get, add, put, walk, walk stop and delete. */
static int
test_users(void)
{
	struct store	*s;
	struct txn	 txn;
	struct user_rec	 u, g;
	struct names	 nm;

	CHECK(open_at("users", MAP_SIZE, &s) == STORE_OK);
	CHECK(store_txn_begin(s, &txn, 1) == STORE_OK);
	memset(&u, 0, sizeof u);
	u.created = 111;
	u.last_seen = 222;
	memset(u.salt, 0xa5, sizeof u.salt);
	memset(u.hash, 0x5a, sizeof u.hash);
	u.hash[31] = 1;
	u.read_receipts = 1;
	u.last_seen_vis = LASTSEEN_NOBODY;
	CHECK(store_user_get(&txn, "bob", &g) == STORE_NOTFOUND);
	CHECK(store_user_add(&txn, "bob", &u) == STORE_OK);
	CHECK(store_user_add(&txn, "bob", &u) == STORE_EXISTS);
	CHECK(txn.ret == STORE_OK);
	memset(&g, 0, sizeof g);
	CHECK(store_user_get(&txn, "bob", &g) == STORE_OK);
	CHECK(memcmp(&g, &u, sizeof u) == 0);
	u.read_receipts = 0;
	u.last_seen = 333;
	CHECK(store_user_put(&txn, "bob", &u) == STORE_OK);
	CHECK(store_user_get(&txn, "bob", &g) == STORE_OK);
	CHECK(g.read_receipts == 0 && g.last_seen == 333);
	CHECK(store_user_add(&txn, "alice", &u) == STORE_OK);
	CHECK(store_user_add(&txn, "+4915112345678", &u) == STORE_OK);
	CHECK(store_user_add(&txn, "carol", &u) == STORE_OK);
	CHECK(store_user_get(&txn, "bo", &g) == STORE_NOTFOUND);
	CHECK(store_user_get(&txn, "bobb", &g) == STORE_NOTFOUND);

	memset(&nm, 0, sizeof nm);
	CHECK(store_user_walk(&txn, user_fn, &nm) == STORE_OK);
	CHECK(nm.n == 4 && strcmp(nm.v[0], "+4915112345678") == 0 &&
	    strcmp(nm.v[1], "alice") == 0 && strcmp(nm.v[2], "bob") == 0 &&
	    strcmp(nm.v[3], "carol") == 0);
	memset(&nm, 0, sizeof nm);
	nm.stop_at = 2;
	CHECK(store_user_walk(&txn, user_fn, &nm) == STORE_OK && nm.n == 2);
	memset(&nm, 0, sizeof nm);
	strcpy(nm.del, "alice");
	CHECK(store_user_walk(&txn, user_fn, &nm) == STORE_OK && nm.n == 4);
	CHECK(store_user_get(&txn, "alice", &g) == STORE_NOTFOUND);
	CHECK(store_user_get(&txn, "bob", &g) == STORE_OK);
	CHECK(store_txn_commit(&txn) == STORE_OK);
	store_close(s);
	return (0);
}

/* Device walk callback. */
static int
dev_fn(void *arg, const char *user, const char *device,
    const struct dev_rec *r)
{
	(void)r;
	return (names_add(arg, user, device));
}

/* Devices: get, put, del, per-user and full walks. */
static int
test_devices(void)
{
	struct store	*s;
	struct txn	 txn;
	struct dev_rec	 r, g;
	struct names	 nm;

	CHECK(open_at("devices", MAP_SIZE, &s) == STORE_OK);
	CHECK(store_txn_begin(s, &txn, 1) == STORE_OK);
	r = dev_of(7, 3);
	CHECK(store_device_get(&txn, "alice", "phone", &g) == STORE_NOTFOUND);
	CHECK(store_device_put(&txn, "alice", "phone", &r) == STORE_OK);
	CHECK(store_device_get(&txn, "alice", "phone", &g) == STORE_OK);
	CHECK(g.qid == 7 && g.created == 10 && g.last_active == 20 &&
	    g.count == 3 && g.bytes == 300 && g.claimed == 1);
	r = dev_of(8, 0);
	r.claimed = 0;
	CHECK(store_device_put(&txn, "alice", "default", &r) == STORE_OK);
	CHECK(store_device_put(&txn, "alice.b", "phone", &r) == STORE_OK);
	CHECK(store_device_put(&txn, "alic", "x", &r) == STORE_OK);
	CHECK(store_device_put(&txn, "bob", "a", &r) == STORE_OK);
	CHECK(store_device_get(&txn, "alice", "default", &g) == STORE_OK);
	CHECK(g.qid == 8 && g.claimed == 0);
	CHECK(store_device_get(&txn, "alice", "phon", &g) == STORE_NOTFOUND);

	memset(&nm, 0, sizeof nm);
	CHECK(store_device_walk(&txn, "alice", dev_fn, &nm) == STORE_OK);
	CHECK(nm.n == 2 && strcmp(nm.v[0], "alice/default") == 0 &&
	    strcmp(nm.v[1], "alice/phone") == 0);
	memset(&nm, 0, sizeof nm);
	CHECK(store_device_walk(&txn, "nobody", dev_fn, &nm) == STORE_OK);
	CHECK(nm.n == 0);
	memset(&nm, 0, sizeof nm);
	CHECK(store_device_walk(&txn, NULL, dev_fn, &nm) == STORE_OK);
	CHECK(nm.n == 5 && strcmp(nm.v[0], "alic/x") == 0 &&
	    strcmp(nm.v[1], "alice/default") == 0 &&
	    strcmp(nm.v[3], "alice.b/phone") == 0 &&
	    strcmp(nm.v[4], "bob/a") == 0);

	memset(&nm, 0, sizeof nm);
	strcpy(nm.del, "default");
	CHECK(store_device_walk(&txn, "alice", dev_fn, &nm) == STORE_OK);
	CHECK(nm.n == 2);
	CHECK(store_device_get(&txn, "alice", "default", &g) ==
	    STORE_NOTFOUND);
	CHECK(store_device_del(&txn, "alice", "phone") == STORE_OK);
	CHECK(store_device_del(&txn, "alice", "phone") == STORE_NOTFOUND);
	CHECK(store_device_get(&txn, "alice.b", "phone", &g) == STORE_OK);
	CHECK(store_txn_commit(&txn) == STORE_OK);
	store_close(s);
	return (0);
}

/* Token walk callback: counts, and deletes the one with qid 2. */
static int
token_fn(void *arg, const uint8_t *hash, const struct token_rec *t)
{
	int	*n = arg;

	(*n)++;
	return (hash[0] == 2 && t->qid == 2 ? STORE_WALK_DELETE :
	    STORE_WALK_NEXT);
}

/* Tokens: get, put, del, walk. */
static int
test_tokens(void)
{
	struct store		*s;
	struct txn		 txn;
	struct token_rec	 t, g;
	uint8_t			 h[32];
	int			 i, n;

	CHECK(open_at("tokens", MAP_SIZE, &s) == STORE_OK);
	CHECK(store_txn_begin(s, &txn, 1) == STORE_OK);
	memset(&t, 0, sizeof t);
	strcpy(t.user, "alice");
	strcpy(t.device, "phone");
	for (i = 1; i <= 3; i++) {
		memset(h, i, sizeof h);
		t.expires = 1000 * i;
		t.qid = i;
		CHECK(store_token_put(&txn, h, &t) == STORE_OK);
	}
	memset(h, 2, sizeof h);
	CHECK(store_token_get(&txn, h, &g) == STORE_OK);
	CHECK(g.expires == 2000 && g.qid == 2 && strcmp(g.user, "alice") == 0 &&
	    strcmp(g.device, "phone") == 0);
	n = 0;
	CHECK(store_token_walk(&txn, token_fn, &n) == STORE_OK && n == 3);
	CHECK(store_token_get(&txn, h, &g) == STORE_NOTFOUND);
	memset(h, 3, sizeof h);
	CHECK(store_token_del(&txn, h) == STORE_OK);
	CHECK(store_token_del(&txn, h) == STORE_NOTFOUND);
	n = 0;
	CHECK(store_token_walk(&txn, token_fn, &n) == STORE_OK && n == 1);
	CHECK(store_txn_commit(&txn) == STORE_OK);
	store_close(s);
	return (0);
}

struct items {
	struct mid	v[32];
	char		data[32][16];
	int		n;
	int		del_odd;	/* delete every other item */
};

/* Queue walk callback: records mids and data. */
static int
item_fn(void *arg, const struct mid *m, const struct item *it)
{
	struct items	*is = arg;

	is->v[is->n] = *m;
	snprintf(is->data[is->n], sizeof is->data[0], "%.*s", (int)it->len,
	    it->data);
	is->n++;
	if (is->del_odd && is->n % 2 == 1)
		return (STORE_WALK_DELETE);
	return (STORE_WALK_NEXT);
}

/* Queues: big-endian order, after, prefix, del, drop. */
static int
test_queues(void)
{
	/* Out of order on purpose; the walk must sort them. */
	static const struct mid	mids[] = {
		{ 256, 0 }, { 255, 0 }, { 1ULL << 32, 0 }, { 65536, 0 },
		{ 65535, 7 }, { 255, 256 }, { 255, 255 }, { 0, 1 },
		{ UINT64_MAX, UINT64_MAX }, { 1, 0 },
	};
	static const struct mid	sorted[] = {
		{ 0, 1 }, { 1, 0 }, { 255, 0 }, { 255, 255 }, { 255, 256 },
		{ 256, 0 }, { 65535, 7 }, { 65536, 0 }, { 1ULL << 32, 0 },
		{ UINT64_MAX, UINT64_MAX },
	};
	struct store	*s;
	struct txn	 txn;
	struct item	 it, g;
	struct items	 is;
	struct mid	 m;
	char		 buf[16];
	size_t		 i, n = sizeof mids / sizeof mids[0];

	CHECK(open_at("queues", MAP_SIZE, &s) == STORE_OK);
	CHECK(store_txn_begin(s, &txn, 1) == STORE_OK);
	for (i = 0; i < n; i++) {
		snprintf(buf, sizeof buf, "item%zu", i);
		it = item_of(ITEM_MSG, 1000 + i, buf);
		CHECK(store_queue_put(&txn, 5, &mids[i], &it) == STORE_OK);
	}
	/* Neighbouring queues, whose items must never show up in 5's. */
	it = item_of(ITEM_RECEIPT, 1, "q4");
	CHECK(store_queue_put(&txn, 4, &sorted[9], &it) == STORE_OK);
	it = item_of(ITEM_RECEIPT, 1, "q6");
	CHECK(store_queue_put(&txn, 6, &sorted[0], &it) == STORE_OK);
	it = item_of(ITEM_RECEIPT, 1, "q256");
	CHECK(store_queue_put(&txn, 256, &sorted[0], &it) == STORE_OK);

	CHECK(store_queue_get(&txn, 5, &mids[2], &g) == STORE_OK);
	CHECK(g.kind == ITEM_MSG && g.ts == 1002 && g.len == 5 &&
	    memcmp(g.data, "item2", 5) == 0);
	CHECK(store_queue_get(&txn, 7, &mids[2], &g) == STORE_NOTFOUND);

	memset(&is, 0, sizeof is);
	CHECK(store_queue_walk(&txn, 5, NULL, item_fn, &is) == STORE_OK);
	CHECK(is.n == (int)n);
	for (i = 0; i < n; i++)
		CHECK(mid_cmp(&is.v[i], &sorted[i]) == 0);
	CHECK(strcmp(is.data[0], "item7") == 0);

	/* after: an existing mid is skipped, a missing one is a bound. */
	memset(&is, 0, sizeof is);
	CHECK(store_queue_walk(&txn, 5, &sorted[4], item_fn, &is) == STORE_OK);
	CHECK(is.n == 5 && mid_cmp(&is.v[0], &sorted[5]) == 0);
	m.ms = 255;
	m.seq = 1;
	memset(&is, 0, sizeof is);
	CHECK(store_queue_walk(&txn, 5, &m, item_fn, &is) == STORE_OK);
	CHECK(is.n == 7 && mid_cmp(&is.v[0], &sorted[3]) == 0);
	memset(&is, 0, sizeof is);
	CHECK(store_queue_walk(&txn, 5, &sorted[9], item_fn, &is) == STORE_OK);
	CHECK(is.n == 0);
	memset(&is, 0, sizeof is);
	CHECK(store_queue_walk(&txn, 4, NULL, item_fn, &is) == STORE_OK);
	CHECK(is.n == 1 && strcmp(is.data[0], "q4") == 0);
	memset(&is, 0, sizeof is);
	CHECK(store_queue_walk(&txn, 3, NULL, item_fn, &is) == STORE_OK);
	CHECK(is.n == 0);

	/* del reports what it deleted. */
	memset(&g, 0xff, sizeof g);
	CHECK(store_queue_del(&txn, 5, &sorted[0], &g, NULL, NULL) == STORE_OK);
	CHECK(g.kind == ITEM_MSG && g.ts == 1007 && g.len == 5);
	CHECK(store_queue_del(&txn, 5, &sorted[0], &g, NULL, NULL) ==
	    STORE_NOTFOUND);
	CHECK(store_queue_del(&txn, 5, &sorted[1], NULL, NULL, NULL) == STORE_OK);

	/* WALK_DELETE: 8 left, every other one goes. */
	memset(&is, 0, sizeof is);
	is.del_odd = 1;
	CHECK(store_queue_walk(&txn, 5, NULL, item_fn, &is) == STORE_OK);
	CHECK(is.n == 8);
	memset(&is, 0, sizeof is);
	CHECK(store_queue_walk(&txn, 5, NULL, item_fn, &is) == STORE_OK);
	CHECK(is.n == 4 && mid_cmp(&is.v[0], &sorted[3]) == 0 &&
	    mid_cmp(&is.v[3], &sorted[9]) == 0);

	CHECK(store_queue_drop(&txn, 5) == STORE_OK);
	memset(&is, 0, sizeof is);
	CHECK(store_queue_walk(&txn, 5, NULL, item_fn, &is) == STORE_OK);
	CHECK(is.n == 0);
	CHECK(store_queue_get(&txn, 4, &sorted[9], &g) == STORE_OK);
	CHECK(store_queue_get(&txn, 6, &sorted[0], &g) == STORE_OK);
	CHECK(store_queue_get(&txn, 256, &sorted[0], &g) == STORE_OK);
	CHECK(store_txn_commit(&txn) == STORE_OK);
	store_close(s);
	return (0);
}

/* Queue walk callback: deletes every item. */
static int
del_all_fn(void *arg, const struct mid *m, const struct item *it)
{
	(void)arg; (void)m; (void)it;
	return (STORE_WALK_DELETE);
}

#define OLDEST_QUEUES	300
#define OLDEST_QID(q)	(100 + (q) % 64 + (uint64_t)(q) * 4096)

/* The oldest of ts[] not 0, as store_oldest must say; 0 if none. */
static uint64_t
oldest_of(const uint64_t *ts, size_t n)
{
	uint64_t	o = 0;
	size_t		i;

	for (i = 0; i < n; i++) {
		if (ts[i] != 0 && (o == 0 || ts[i] < o))
			o = ts[i];
	}
	return (o);
}

/*
 * store_oldest: each queue's first item by mid, taken as commits succeed
 * and not on an abort; many queues emptied in a scrambled order; and
 * store_oldest_start finding the same on a reopened store.
 */
static int
test_oldest(void)
{
	struct store	*s;
	struct txn	 txn;
	struct item	 it;
	struct mid	 m;
	uint64_t	 ts[OLDEST_QUEUES], o;
	size_t		 i, q;

	CHECK(open_at("oldest", MAP_SIZE, &s) == STORE_OK);
	CHECK(store_oldest(s, &o) == -1);
	CHECK(store_oldest_start(s) == 0);
	CHECK(store_oldest(s, &o) == 0 && o == 0);

	CHECK(store_txn_begin(s, &txn, 1) == STORE_OK);
	m = (struct mid){ 10, 0 };
	it = item_of(ITEM_MSG, 500, "a");
	CHECK(store_queue_put(&txn, 3, &m, &it) == STORE_OK);
	m = (struct mid){ 20, 0 };
	it = item_of(ITEM_MSG, 300, "b");
	CHECK(store_queue_put(&txn, 7, &m, &it) == STORE_OK);
	m = (struct mid){ 5, 0 };
	it = item_of(ITEM_RECEIPT, 900, "c");
	CHECK(store_queue_put(&txn, 9, &m, &it) == STORE_OK);
	CHECK(store_oldest(s, &o) == 0 && o == 0);
	CHECK(store_txn_commit(&txn) == STORE_OK);
	CHECK(store_oldest(s, &o) == 0 && o == 300);

	/* An aborted delete changes nothing. */
	CHECK(store_txn_begin(s, &txn, 1) == STORE_OK);
	m = (struct mid){ 20, 0 };
	CHECK(store_queue_del(&txn, 7, &m, NULL, NULL, NULL) == STORE_OK);
	store_txn_abort(&txn);
	CHECK(store_oldest(s, &o) == 0 && o == 300);
	CHECK(store_txn_begin(s, &txn, 1) == STORE_OK);
	CHECK(store_queue_del(&txn, 7, &m, NULL, NULL, NULL) == STORE_OK);
	/* A later mid with an earlier ts: the queue's first item counts. */
	m = (struct mid){ 30, 0 };
	it = item_of(ITEM_MSG, 100, "d");
	CHECK(store_queue_put(&txn, 3, &m, &it) == STORE_OK);
	CHECK(store_txn_commit(&txn) == STORE_OK);
	CHECK(store_oldest(s, &o) == 0 && o == 500);

	CHECK(store_txn_begin(s, &txn, 1) == STORE_OK);
	m = (struct mid){ 10, 0 };
	CHECK(store_queue_del(&txn, 3, &m, NULL, NULL, NULL) == STORE_OK);
	CHECK(store_txn_commit(&txn) == STORE_OK);
	CHECK(store_oldest(s, &o) == 0 && o == 100);
	CHECK(store_txn_begin(s, &txn, 1) == STORE_OK);
	CHECK(store_queue_drop(&txn, 3) == STORE_OK);
	CHECK(store_txn_commit(&txn) == STORE_OK);
	CHECK(store_oldest(s, &o) == 0 && o == 900);
	CHECK(store_txn_begin(s, &txn, 1) == STORE_OK);
	CHECK(store_queue_walk(&txn, 9, NULL, del_all_fn, NULL) == STORE_OK);
	CHECK(store_txn_commit(&txn) == STORE_OK);
	CHECK(store_oldest(s, &o) == 0 && o == 0);

	/*
	 * Many queues, two items each, the second always younger; their
	 * qids alike in their low bits, so that runs of them collide in the
	 * hash.
	 */
	CHECK(store_txn_begin(s, &txn, 1) == STORE_OK);
	for (q = 0; q < OLDEST_QUEUES; q++) {
		ts[q] = 1000 + (q * 7919) % 1009;
		m = (struct mid){ 100, q };
		it = item_of(ITEM_MSG, ts[q], "e");
		CHECK(store_queue_put(&txn, OLDEST_QID(q), &m, &it) == STORE_OK);
		m = (struct mid){ 200, q };
		it = item_of(ITEM_MSG, 5000, "f");
		CHECK(store_queue_put(&txn, OLDEST_QID(q), &m, &it) == STORE_OK);
	}
	CHECK(store_txn_commit(&txn) == STORE_OK);
	CHECK(store_oldest(s, &o) == 0 && o == oldest_of(ts, OLDEST_QUEUES));
	store_close(s);
	CHECK(open_at("oldest", MAP_SIZE, &s) == STORE_OK);
	CHECK(store_oldest_start(s) == 0);
	CHECK(store_oldest(s, &o) == 0 && o == oldest_of(ts, OLDEST_QUEUES));

	/* Each queue's first item goes, in a scrambled order. */
	for (i = 0; i < OLDEST_QUEUES; i++) {
		q = (i * 13) % OLDEST_QUEUES;
		CHECK(store_txn_begin(s, &txn, 1) == STORE_OK);
		m = (struct mid){ 100, q };
		CHECK(store_queue_del(&txn, OLDEST_QID(q), &m, NULL, NULL,
		    NULL) == STORE_OK);
		CHECK(store_txn_commit(&txn) == STORE_OK);
		ts[q] = 5000;
		CHECK(store_oldest(s, &o) == 0 &&
		    o == oldest_of(ts, OLDEST_QUEUES));
	}
	for (i = 0; i < OLDEST_QUEUES; i++) {
		q = (i * 17) % OLDEST_QUEUES;
		CHECK(store_txn_begin(s, &txn, 1) == STORE_OK);
		CHECK(store_queue_drop(&txn, OLDEST_QID(q)) == STORE_OK);
		CHECK(store_txn_commit(&txn) == STORE_OK);
		ts[q] = 0;
		CHECK(store_oldest(s, &o) == 0 &&
		    o == oldest_of(ts, OLDEST_QUEUES));
	}
	CHECK(o == 0);
	store_close(s);
	return (0);
}

/* Msgs walk callback: records ids, deletes the one of ms 256. */
static int
msg_fn(void *arg, const struct mid *m, const struct msg_rec *r)
{
	struct items	*is = arg;

	is->v[is->n] = *m;
	snprintf(is->data[is->n], sizeof is->data[0], "%.15s", r->id);
	is->n++;
	return (m->ms == 256 ? STORE_WALK_DELETE : STORE_WALK_NEXT);
}

/* Msgs: get, put, del, walk oldest first. */
static int
test_msgs(void)
{
	struct store	*s;
	struct txn	 txn;
	struct msg_rec	 r, g;
	struct items	 is;
	struct item	 it;
	struct mid	 m[3] = { { 256, 0 }, { 255, 9 }, { 257, 0 } };
	struct mid	 none = { 999, 0 };
	int		 i, has;

	CHECK(open_at("msgs", MAP_SIZE, &s) == STORE_OK);
	CHECK(store_txn_begin(s, &txn, 1) == STORE_OK);
	memset(&r, 0, sizeof r);
	strcpy(r.from, "alice");
	strcpy(r.from_device, "phone");
	strcpy(r.to, "bob");
	for (i = 0; i < 3; i++) {
		r.ts = 100 + i;
		r.flags = MSG_DELIVERED;
		snprintf(r.id, sizeof r.id, "c-%d", i);
		CHECK(store_msg_put(&txn, &m[i], &r) == STORE_OK);
	}
	memset(r.id, 'x', CLIENT_ID_MAX);
	r.id[CLIENT_ID_MAX] = '\0';
	r.flags = MSG_READ | MSG_BLOCKED;
	CHECK(store_msg_put(&txn, &m[2], &r) == STORE_OK);
	memset(&g, 0, sizeof g);
	CHECK(store_msg_get(&txn, &m[2], &g) == STORE_OK);
	CHECK(memcmp(&g, &r, sizeof r) == 0);
	/* Deleting an item hands back the record of the message it was. */
	it = item_of(ITEM_MSG, 5, "x");
	CHECK(store_queue_put(&txn, 4, &m[2], &it) == STORE_OK);
	CHECK(store_queue_put(&txn, 4, &none, &it) == STORE_OK);
	it = item_of(ITEM_RECEIPT, 5, "x");
	CHECK(store_queue_put(&txn, 4, &m[1], &it) == STORE_OK);
	memset(&g, 0, sizeof g);
	has = -1;
	CHECK(store_queue_del(&txn, 4, &m[2], NULL, &g, &has) == STORE_OK);
	CHECK(has == 1 && memcmp(&g, &r, sizeof r) == 0);
	has = -1;
	CHECK(store_queue_del(&txn, 4, &none, NULL, &g, &has) == STORE_OK);
	CHECK(has == 0);
	has = -1;
	CHECK(store_queue_del(&txn, 4, &m[1], NULL, &g, &has) == STORE_OK);
	CHECK(has == 0);
	memset(&is, 0, sizeof is);
	CHECK(store_msg_walk(&txn, msg_fn, &is) == STORE_OK);
	CHECK(is.n == 3 && strcmp(is.data[0], "c-1") == 0 &&
	    strcmp(is.data[1], "c-0") == 0);
	CHECK(store_msg_get(&txn, &m[0], &g) == STORE_NOTFOUND);
	CHECK(store_msg_del(&txn, &m[1]) == STORE_OK);
	CHECK(store_msg_del(&txn, &m[1]) == STORE_NOTFOUND);
	memset(&is, 0, sizeof is);
	CHECK(store_msg_walk(&txn, msg_fn, &is) == STORE_OK && is.n == 1);
	CHECK(store_txn_commit(&txn) == STORE_OK);
	store_close(s);
	return (0);
}

/* Dedup: get, put, del. */
static int
test_dedup(void)
{
	struct store		*s;
	struct txn		 txn;
	struct dedup_rec	 d, g;

	CHECK(open_at("dedup", MAP_SIZE, &s) == STORE_OK);
	CHECK(store_txn_begin(s, &txn, 1) == STORE_OK);
	memset(&d, 0, sizeof d);
	d.mid.ms = 5;
	d.mid.seq = 6;
	d.ts = 7;
	strcpy(d.to, "bob");
	CHECK(store_dedup_get(&txn, "alice", "c-1", &g) == STORE_NOTFOUND);
	CHECK(store_dedup_put(&txn, "alice", "c-1", &d) == STORE_OK);
	memset(&g, 0, sizeof g);
	CHECK(store_dedup_get(&txn, "alice", "c-1", &g) == STORE_OK);
	CHECK(memcmp(&g, &d, sizeof d) == 0);
	CHECK(store_dedup_get(&txn, "bob", "c-1", &g) == STORE_NOTFOUND);
	CHECK(store_dedup_get(&txn, "alice", "c-", &g) == STORE_NOTFOUND);
	CHECK(store_dedup_del(&txn, "alice", "c-1") == STORE_OK);
	CHECK(store_dedup_del(&txn, "alice", "c-1") == STORE_NOTFOUND);
	CHECK(store_dedup_get(&txn, "alice", "c-1", &g) == STORE_NOTFOUND);
	CHECK(store_txn_commit(&txn) == STORE_OK);
	store_close(s);
	return (0);
}

/* Block walk callback. */
static int
block_fn(void *arg, const char *name)
{
	return (names_add(arg, name, NULL));
}

/* Blocks: get, put, del, walk. */
static int
test_blocks(void)
{
	struct store	*s;
	struct txn	 txn;
	struct names	 nm;

	CHECK(open_at("blocks", MAP_SIZE, &s) == STORE_OK);
	CHECK(store_txn_begin(s, &txn, 1) == STORE_OK);
	CHECK(store_block_get(&txn, "alice", "bob") == STORE_NOTFOUND);
	CHECK(store_block_put(&txn, "alice", "bob") == STORE_OK);
	CHECK(store_block_put(&txn, "alice", "bob") == STORE_OK);
	CHECK(store_block_put(&txn, "alice", "mallory") == STORE_OK);
	CHECK(store_block_put(&txn, "alice.x", "carol") == STORE_OK);
	CHECK(store_block_put(&txn, "bob", "alice") == STORE_OK);
	CHECK(store_block_get(&txn, "alice", "bob") == STORE_OK);
	CHECK(store_block_get(&txn, "bob", "alice") == STORE_OK);
	CHECK(store_block_get(&txn, "alice", "carol") == STORE_NOTFOUND);
	memset(&nm, 0, sizeof nm);
	CHECK(store_block_walk(&txn, "alice", block_fn, &nm) == STORE_OK);
	CHECK(nm.n == 2 && strcmp(nm.v[0], "bob") == 0 &&
	    strcmp(nm.v[1], "mallory") == 0);
	memset(&nm, 0, sizeof nm);
	strcpy(nm.del, "bob");
	CHECK(store_block_walk(&txn, "alice", block_fn, &nm) == STORE_OK);
	CHECK(store_block_get(&txn, "alice", "bob") == STORE_NOTFOUND);
	CHECK(store_block_del(&txn, "alice", "mallory") == STORE_OK);
	CHECK(store_block_del(&txn, "alice", "mallory") == STORE_NOTFOUND);
	memset(&nm, 0, sizeof nm);
	CHECK(store_block_walk(&txn, "alice", block_fn, &nm) == STORE_OK);
	CHECK(nm.n == 0);
	CHECK(store_txn_commit(&txn) == STORE_OK);
	store_close(s);
	return (0);
}

/* Puts 1000-byte items into queue 1 until the store says it is full. */
static int
fill(struct txn *txn, uint64_t *n)
{
	static char	data[1001];
	struct item	it;
	struct mid	m;
	int		rc;

	memset(data, 'x', sizeof data - 1);
	it = item_of(ITEM_MSG, 1, data);
	for (*n = 0; *n < 100000; (*n)++) {
		m.ms = *n;
		m.seq = 0;
		if ((rc = store_queue_put(txn, 1, &m, &it)) != STORE_OK)
			return (rc);
	}
	return (STORE_OK);
}

/* Map full: sticky STORE_FULL, commit fails, earlier data intact. */
static int
test_sticky_full(void)
{
	struct store	*s;
	struct txn	 txn;
	struct user_rec	 u;
	struct dev_rec	 r;
	struct item	 g;
	struct mid	 m = { 0, 0 };
	uint64_t	 n, used, map;

	CHECK(open_at("full", 64 << 10, &s) == STORE_OK);
	memset(&u, 0, sizeof u);
	u.created = 42;
	CHECK(store_txn_begin(s, &txn, 1) == STORE_OK);
	CHECK(store_user_add(&txn, "alice", &u) == STORE_OK);
	CHECK(store_txn_commit(&txn) == STORE_OK);

	CHECK(store_txn_begin(s, &txn, 1) == STORE_OK);
	CHECK(fill(&txn, &n) == STORE_FULL);
	printf("# full after %llu items\n", (unsigned long long)n);
	CHECK(n > 0 && txn.ret == STORE_FULL);
	/* Every later operation answers STORE_FULL at once. */
	CHECK(store_user_get(&txn, "alice", &u) == STORE_FULL);
	CHECK(store_user_get(&txn, "nobody", &u) == STORE_FULL);
	r = dev_of(1, 0);
	CHECK(store_device_put(&txn, "alice", "phone", &r) == STORE_FULL);
	CHECK(store_queue_get(&txn, 1, &m, &g) == STORE_FULL);
	CHECK(store_txn_commit(&txn) == STORE_FULL);
	CHECK(store_usage(s, &used, &map) == STORE_OK && map == 64 << 10);
	store_close(s);

	CHECK(open_at("full", 64 << 10, &s) == STORE_OK);
	CHECK(store_txn_begin(s, &txn, 1) == STORE_OK);
	CHECK(store_user_get(&txn, "alice", &u) == STORE_OK && u.created == 42);
	CHECK(store_queue_get(&txn, 1, &m, &g) == STORE_NOTFOUND);
	CHECK(store_device_put(&txn, "alice", "phone", &r) == STORE_OK);
	CHECK(store_txn_commit(&txn) == STORE_OK);

	/* A larger map takes what did not fit. */
	CHECK(store_set_map_size(s, 4 << 20) == STORE_OK);
	CHECK(store_usage(s, &used, &map) == STORE_OK && map == 4 << 20);
	CHECK(store_txn_begin(s, &txn, 1) == STORE_OK);
	CHECK(fill(&txn, &used) == STORE_FULL && used > n);
	store_txn_abort(&txn);
	store_close(s);
	return (0);
}

/* NOTFOUND and EXISTS do not set the sticky error. */
static int
test_answers_not_sticky(void)
{
	struct store	*s;
	struct txn	 txn, t2;
	struct user_rec	 u;
	struct dev_rec	 r;

	CHECK(open_at("answers", MAP_SIZE, &s) == STORE_OK);
	memset(&u, 0, sizeof u);
	CHECK(store_txn_begin(s, &txn, 1) == STORE_OK);
	CHECK(store_user_get(&txn, "x", &u) == STORE_NOTFOUND);
	CHECK(store_user_add(&txn, "x", &u) == STORE_OK);
	CHECK(store_user_add(&txn, "x", &u) == STORE_EXISTS);
	CHECK(store_device_del(&txn, "x", "y") == STORE_NOTFOUND);
	CHECK(store_block_get(&txn, "x", "y") == STORE_NOTFOUND);
	CHECK(txn.ret == STORE_OK);
	r = dev_of(1, 0);
	CHECK(store_device_put(&txn, "x", "y", &r) == STORE_OK);
	CHECK(store_txn_commit(&txn) == STORE_OK);
	CHECK(store_txn_begin(s, &txn, 0) == STORE_OK);
	CHECK(store_device_get(&txn, "x", "y", &r) == STORE_OK);
	store_txn_abort(&txn);

	/* Two read transactions at once are fine with MDB_NOTLS. */
	CHECK(store_txn_begin(s, &txn, 0) == STORE_OK);
	CHECK(store_txn_begin(s, &t2, 0) == STORE_OK);
	CHECK(store_user_get(&t2, "x", &u) == STORE_OK);
	store_txn_abort(&t2);
	store_txn_abort(&txn);
	store_close(s);
	return (0);
}

static const struct test tests[] = {
	{ "store_open creates, closes and reopens", test_open_reopen },
	{ "store_open removes a data-new.mdb left while a store was made",
	    test_open_leftover },
	{ "store_open refuses another schema, foreign files, bad dirs",
	    test_open_refused },
	{ "meta: mid high-water mark and qid counter", test_meta },
	{ "reads: two at once, a renewed one sees a later commit",
	    test_reads },
	{ "users: get, add, put, walk, walk stop and delete", test_users },
	{ "devices: get, put, del, per-user and full walks", test_devices },
	{ "tokens: get, put, del, walk", test_tokens },
	{ "queues: big-endian order, after, prefix, del, drop", test_queues },
	{ "oldest item: kept as commits happen, read again at start",
	    test_oldest },
	{ "msgs: get, put, del, walk oldest first", test_msgs },
	{ "dedup: get, put, del", test_dedup },
	{ "blocks: get, put, del, walk", test_blocks },
	{ "map full: sticky STORE_FULL, commit fails, earlier data intact",
	    test_sticky_full },
	{ "NOTFOUND and EXISTS do not set the sticky error",
	    test_answers_not_sticky },
};

/* Runs every test, prints TAP, and removes the temporary tree. */
int
main(void)
{
	return (tap_run_tmpdir(tests, nitems(tests), "test_store", base,
	    sizeof base));
}
