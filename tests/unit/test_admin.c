/*
 * test_admin.c: unit tests of admin.c, the store-level operations behind
 * tickctl(8): verify finds each kind of inconsistency planted with the
 * store's own functions and repairs what it says it repairs; user delete,
 * queue purge and token revoke remove exactly what they should; the
 * read-only open and the compacted copy give a store that verifies.
 * Prints TAP; exits 0 only if every test passed.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tickd.h"
#include "testlib.h"

#define MAP_SIZE	(16ULL << 20)
#define NOW		1700000000000ULL

static char		base[256];
static struct conf	conf;

/* A store with a write transaction open. */
struct env {
	struct store	*s;
	struct txn	 txn;
	struct midgen	 gen;
	char		 dir[512];
};

/* The lines a verify reported. */
struct lines {
	char	*v[32];
	int	 n;
};

/* Opens a store of its own for a test and begins a write transaction. */
static int
env_open(struct env *e, const char *name)
{
	struct mid	 hw = { 0, 0 };
	char		*cause;

	memset(&conf, 0, sizeof conf);
	conf.max_queue = 100;
	conf.max_message_bytes = 1024;
	conf.dedup_window = 100000;
	conf.message_ttl = 100000;
	conf.device_ttl = 100000;
	snprintf(e->dir, sizeof e->dir, "%s/%s", base, name);
	if (store_open(&e->s, e->dir, MAP_SIZE, &cause) != STORE_OK) {
		printf("# store_open: %s\n", cause != NULL ? cause : "?");
		free(cause);
		return (-1);
	}
	midgen_init(&e->gen, &hw);
	return (store_txn_begin(e->s, &e->txn, 1) == STORE_OK ? 0 : -1);
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

/* Commits and closes. */
static int
env_close(struct env *e)
{
	int	rc;

	rc = store_txn_commit(&e->txn);
	store_close(e->s);
	return (rc == STORE_OK ? 0 : -1);
}

/* Registers user and claims device for it. */
static int
user(struct env *e, const char *name, const char *device)
{
	uint8_t		salt[16], hash[32];
	char		out[NAME_DEVICE_MAX + 1];
	struct dev_rec	r;
	enum tick_err	err;

	memset(salt, 1, sizeof salt);
	memset(hash, 2, sizeof hash);
	if (account_register(&e->txn, name, salt, hash, NOW, &err) !=
	    STORE_OK || err != TE_OK)
		return (-1);
	return (account_claim_device(&e->txn, name, device, NOW, out, &r));
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

	if (user(e, "alice", "phone") != 0 || user(e, "bob", "laptop") != 0 ||
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

/* A store written only through the rules is consistent. */
static int
test_consistent(void)
{
	struct env	 e;
	struct lines	 l = { .n = 0 };
	json_t		*sum;

	CHECK(env_open(&e, "consistent") == 0);
	CHECK(populate(&e) == 0);
	CHECK(admin_verify(&e.txn, 0, keep, &l, &sum) == STORE_OK);
	CHECK(l.n == 0);
	CHECK(json_is_true(json_object_get(sum, "consistent")));
	CHECK(n(sum, "users") == 2 && n(sum, "devices") == 2);
	CHECK(n(sum, "items") == 3 && n(sum, "messages") == 3);
	CHECK(n(sum, "client_ids") == 3 && n(sum, "blocks") == 2);
	CHECK(n(sum, "tokens") == 1 && n(sum, "stale_tokens") == 1);
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

	CHECK(env_open(&e, "inconsistent") == 0);
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

	CHECK(env_open(&e, "delete") == 0);
	CHECK(populate(&e) == 0);
	CHECK(admin_user_delete(&e.txn, "bob", &del) == STORE_OK);
	CHECK(del.devices == 1 && del.items == 2 && del.tokens == 1);
	CHECK(del.blocks == 2 && del.dedup == 1);
	CHECK(admin_user_delete(&e.txn, "bob", &del) == STORE_NOTFOUND);
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

	CHECK(env_open(&e, "purge") == 0);
	CHECK(populate(&e) == 0);
	CHECK(admin_queue_show(&e.txn, "bob", NULL, NULL, NULL, &q) ==
	    STORE_OK);
	CHECK(n(q, "items") == 2 && n(q, "oldest") == (long long)NOW);
	json_decref(q);
	CHECK(admin_queue_purge(&e.txn, "bob", "tablet", &items, &bytes) ==
	    STORE_NOTFOUND);
	CHECK(admin_queue_purge(&e.txn, "bob", "laptop", &items, &bytes) ==
	    STORE_OK);
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
	char		 path[600], *cause;
	json_t		*sum, *dump;
	int		 fd;

	CHECK(env_open(&e, "copy") == 0);
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
	CHECK(admin_dump(&txn, "bob", NOW, &dump) == STORE_OK);
	CHECK(json_array_size(json_object_get(dump, "received")) == 2);
	CHECK(json_array_size(json_object_get(dump, "sent")) == 1);
	CHECK(json_array_size(json_object_get(dump, "client_ids")) == 1);
	json_decref(dump);
	CHECK(admin_dump(&txn, "zed", NOW, &dump) == STORE_NOTFOUND);
	json_decref(sum);
	store_txn_abort(&txn);
	store_close(copy);
	CHECK(store_open_readonly(&copy, base, &cause) != STORE_OK);
	free(cause);
	return (0);
}

/* The tests, in the order they run. */
static const struct test tests[] = {
	{ "a store written by the rules verifies", test_consistent },
	{ "verify finds and repair fixes each inconsistency",
	  test_inconsistent },
	{ "user delete removes the account and what hangs on it",
	  test_user_delete },
	{ "queue purge and token revoke", test_purge_revoke },
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
