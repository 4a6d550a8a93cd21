/* SPDX-License-Identifier: ISC */
/*
 * test_account.c: unit tests of what account.c decides for an account
 * about others and itself: blocks (account_block, account_unblock and
 * their checks) and settings (account_settings), against a store in a
 * temporary directory, with queue.c showing what a block and a setting
 * then do to a message.  Prints TAP; exits 0 only if every test passed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tickd.h"
#include "testlib.h"
#include "testlib-store.h"

#define MAP_SIZE	(16ULL << 20)

static char		base[256];
static struct conf	conf;

/* Sets these tests' limits and opens the test's store. */
static int
env_begin(struct env *e, const char *name)
{
	memset(&conf, 0, sizeof conf);
	conf.max_queue = 16;
	conf.max_message_bytes = 256;
	conf.dedup_window = 1000;
	return (env_open(e, base, name, MAP_SIZE));
}

/* Registers user at 1000 and claims its phone. */
static int
reg(struct env *e, const char *user)
{
	return (env_user(e, user, "phone", 1000));
}

/* Whether user has blocked other: 1, 0, or -1 on a store error. */
static int
blocks(struct env *e, const char *user, const char *other)
{
	int	rc;

	rc = store_block_get(&e->txn, user, other);
	if (rc == STORE_OK)
		return (1);
	return (rc == STORE_NOTFOUND ? 0 : -1);
}

/* Block walk callback: counts. */
static int
count_fn(void *arg, const char *name)
{
	(void)name;
	(*(int *)arg)++;
	return (STORE_WALK_NEXT);
}

/* How many users user has blocked, or -1 on a store error. */
static int
nblocks(struct env *e, const char *user)
{
	int	n = 0;

	if (store_block_walk(&e->txn, user, count_fn, &n) != STORE_OK)
		return (-1);
	return (n);
}

/* Sends a text from from's phone to to; res->targets is to be freed. */
static int
send_text(struct env *e, const char *from, const char *to, const char *id,
    uint64_t now, struct send_res *res)
{
	struct send_req	req;
	int		rc;

	memset(&req, 0, sizeof req);
	req.from = from;
	req.from_device = "phone";
	req.to = to;
	req.id = id;
	req.body = json_string("hi");
	req.now = now;
	rc = queue_send(&e->txn, &e->gen, &conf, &req, res);
	json_decref(req.body);
	return (rc);
}

/* account_block_valid: a valid name, never one's own. */
static int
test_block_valid(void)
{
	char	longname[NAME_USER_MAX + 2];

	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	CHECK(account_block_valid("alice", "bob") == 1);
	CHECK(account_block_valid("alice", "bob.smith_2") == 1);
	CHECK(account_block_valid("alice", "alice") == 0);
	CHECK(account_block_valid("alice", "") == 0);
	CHECK(account_block_valid("alice", "Bob") == 0);
	CHECK(account_block_valid("alice", "bob smith") == 0);
	CHECK(account_block_valid("alice", longname) == 0);
	longname[NAME_USER_MAX] = '\0';
	CHECK(account_block_valid("alice", longname) == 1);
	return (0);
}

/* account_block_check: who may be blocked, and it changes nothing. */
static int
test_block_check(void)
{
	struct env		e;
	struct block_res	res;

	CHECK(env_begin(&e, "check") == 0);
	CHECK(reg(&e, "alice") == 0 && reg(&e, "bob") == 0);
	CHECK(account_block_check(&e.txn, "alice", "bob", &res) == STORE_OK);
	CHECK(res.err == TE_OK && res.changed == 0);
	CHECK(blocks(&e, "alice", "bob") == 0);
	CHECK(account_block_check(&e.txn, "alice", "alice", &res) ==
	    STORE_OK && res.err == TE_BAD_REQUEST);
	CHECK(account_block_check(&e.txn, "alice", "B@d", &res) ==
	    STORE_OK && res.err == TE_BAD_REQUEST);
	CHECK(account_block_check(&e.txn, "alice", "carol", &res) ==
	    STORE_OK && res.err == TE_NO_SUCH_USER);
	/* The one who blocks is looked at first. */
	CHECK(account_block_check(&e.txn, "nobody", "B@d", &res) ==
	    STORE_NOTFOUND);
	CHECK(account_block_check(&e.txn, "nobody", "bob", &res) ==
	    STORE_NOTFOUND);
	CHECK(nblocks(&e, "alice") == 0 && nblocks(&e, "nobody") == 0);
	CHECK(env_close(&e) == 0);
	return (0);
}

/* account_block: made once, refused for oneself and for nobody. */
static int
test_block(void)
{
	struct env		e;
	struct block_res	res;

	CHECK(env_begin(&e, "block") == 0);
	CHECK(reg(&e, "alice") == 0 && reg(&e, "bob") == 0 &&
	    reg(&e, "carol") == 0);
	CHECK(account_block(&e.txn, "alice", "bob", &res) == STORE_OK);
	CHECK(res.err == TE_OK && res.changed == 1);
	CHECK(blocks(&e, "alice", "bob") == 1 && blocks(&e, "bob", "alice") ==
	    0);
	/* Again: nothing new. */
	CHECK(account_block(&e.txn, "alice", "bob", &res) == STORE_OK);
	CHECK(res.err == TE_OK && res.changed == 0);
	CHECK(nblocks(&e, "alice") == 1);
	CHECK(account_block(&e.txn, "alice", "carol", &res) == STORE_OK &&
	    res.err == TE_OK && res.changed == 1 && nblocks(&e, "alice") == 2);
	/* Refused ones leave no record. */
	CHECK(account_block(&e.txn, "alice", "alice", &res) == STORE_OK);
	CHECK(res.err == TE_BAD_REQUEST && res.changed == 0);
	CHECK(account_block(&e.txn, "alice", "dave", &res) == STORE_OK);
	CHECK(res.err == TE_NO_SUCH_USER && res.changed == 0);
	CHECK(account_block(&e.txn, "dave", "alice", &res) == STORE_NOTFOUND);
	CHECK(nblocks(&e, "alice") == 2 && blocks(&e, "alice", "dave") == 0 &&
	    nblocks(&e, "dave") == 0);
	CHECK(env_close(&e) == 0);
	return (0);
}

/* account_unblock: lifts a block once; others are left alone. */
static int
test_unblock(void)
{
	struct env		e;
	struct block_res	res;

	CHECK(env_begin(&e, "unblock") == 0);
	CHECK(reg(&e, "alice") == 0 && reg(&e, "bob") == 0 &&
	    reg(&e, "carol") == 0);
	CHECK(account_block(&e.txn, "alice", "bob", &res) == STORE_OK &&
	    res.changed == 1);
	CHECK(account_block(&e.txn, "alice", "carol", &res) == STORE_OK &&
	    res.changed == 1);
	CHECK(account_block(&e.txn, "carol", "bob", &res) == STORE_OK &&
	    res.changed == 1);
	CHECK(account_unblock(&e.txn, "alice", "bob", &res) == STORE_OK);
	CHECK(res.err == TE_OK && res.changed == 1);
	CHECK(blocks(&e, "alice", "bob") == 0 && blocks(&e, "alice",
	    "carol") == 1 && blocks(&e, "carol", "bob") == 1);
	/* Again: there is none to lift. */
	CHECK(account_unblock(&e.txn, "alice", "bob", &res) == STORE_OK);
	CHECK(res.err == TE_OK && res.changed == 0);
	CHECK(account_unblock(&e.txn, "alice", "alice", &res) == STORE_OK &&
	    res.err == TE_BAD_REQUEST && res.changed == 0);
	CHECK(account_unblock(&e.txn, "alice", "dave", &res) == STORE_OK &&
	    res.err == TE_NO_SUCH_USER && res.changed == 0);
	CHECK(account_unblock(&e.txn, "dave", "alice", &res) ==
	    STORE_NOTFOUND);
	CHECK(nblocks(&e, "alice") == 1 && nblocks(&e, "carol") == 1);
	CHECK(env_close(&e) == 0);
	return (0);
}

/*
 * What a block does: a blocked user's message reaches none of the
 * blocker's devices, only its sender's others, until the block is lifted.
 */
static int
test_block_drops(void)
{
	struct env		e;
	struct block_res	res;
	struct send_res		sres;
	struct msg_rec		m;
	char			name[NAME_DEVICE_MAX + 1];
	struct dev_rec		r;

	CHECK(env_begin(&e, "drops") == 0);
	CHECK(reg(&e, "alice") == 0 && reg(&e, "bob") == 0);
	CHECK(account_claim_device(&e.txn, "bob", "laptop", 1000, name, &r) ==
	    STORE_OK);
	CHECK(account_block(&e.txn, "alice", "bob", &res) == STORE_OK &&
	    res.changed == 1);
	CHECK(send_text(&e, "bob", "alice", "c-1", 2000, &sres) == STORE_OK);
	CHECK(sres.err == TE_OK && sres.dup == 0);
	CHECK(sres.targets.n == 1 && targets_has(&sres.targets, "bob",
	    "laptop"));
	CHECK(store_msg_get(&e.txn, &sres.mid, &m) == STORE_OK &&
	    m.flags == MSG_BLOCKED);
	targets_free(&sres.targets);
	/* alice's own messages to bob still go. */
	CHECK(send_text(&e, "alice", "bob", "c-1", 2100, &sres) == STORE_OK);
	CHECK(sres.err == TE_OK && targets_has(&sres.targets, "bob", "phone") &&
	    targets_has(&sres.targets, "bob", "laptop"));
	targets_free(&sres.targets);
	CHECK(account_unblock(&e.txn, "alice", "bob", &res) == STORE_OK &&
	    res.changed == 1);
	CHECK(send_text(&e, "bob", "alice", "c-2", 3000, &sres) == STORE_OK);
	CHECK(sres.err == TE_OK && targets_has(&sres.targets, "alice",
	    "phone") && targets_has(&sres.targets, "bob", "laptop"));
	CHECK(store_msg_get(&e.txn, &sres.mid, &m) == STORE_OK &&
	    m.flags == 0);
	targets_free(&sres.targets);
	CHECK(env_close(&e) == 0);
	return (0);
}

/* account_settings: each setting alone, -1 keeps, bad values change none. */
static int
test_settings(void)
{
	struct env	e;
	struct settings	s = { .group_add_nobody = -1 };
	struct user_rec	u;
	enum tick_err	err;
	int		nobody;

	CHECK(env_begin(&e, "settings") == 0);
	CHECK(reg(&e, "alice") == 0);
	CHECK(store_user_get(&e.txn, "alice", &u) == STORE_OK);
	CHECK(u.read_receipts == 1 && u.last_seen_vis == LASTSEEN_EVERYONE);

	s.read_receipts = 0;
	s.last_seen = -1;
	CHECK(account_settings(&e.txn, "alice", &s, &err) == STORE_OK &&
	    err == TE_OK);
	CHECK(store_user_get(&e.txn, "alice", &u) == STORE_OK);
	CHECK(u.read_receipts == 0 && u.last_seen_vis == LASTSEEN_EVERYONE);

	s.read_receipts = -1;
	s.last_seen = LASTSEEN_NOBODY;
	CHECK(account_settings(&e.txn, "alice", &s, &err) == STORE_OK &&
	    err == TE_OK);
	CHECK(store_user_get(&e.txn, "alice", &u) == STORE_OK);
	CHECK(u.read_receipts == 0 && u.last_seen_vis == LASTSEEN_NOBODY);

	s.read_receipts = -1;
	s.last_seen = -1;
	CHECK(account_settings(&e.txn, "alice", &s, &err) == STORE_OK &&
	    err == TE_OK);
	CHECK(store_user_get(&e.txn, "alice", &u) == STORE_OK);
	CHECK(u.read_receipts == 0 && u.last_seen_vis == LASTSEEN_NOBODY);

	s.read_receipts = 1;
	s.last_seen = LASTSEEN_EVERYONE;
	CHECK(account_settings(&e.txn, "alice", &s, &err) == STORE_OK &&
	    err == TE_OK);
	CHECK(store_user_get(&e.txn, "alice", &u) == STORE_OK);
	CHECK(u.read_receipts == 1 && u.last_seen_vis == LASTSEEN_EVERYONE);

	/* Out of range: refused as a whole. */
	s.read_receipts = 0;
	s.last_seen = 7;
	CHECK(account_settings(&e.txn, "alice", &s, &err) == STORE_OK &&
	    err == TE_BAD_REQUEST);
	s.read_receipts = 2;
	s.last_seen = LASTSEEN_NOBODY;
	CHECK(account_settings(&e.txn, "alice", &s, &err) == STORE_OK &&
	    err == TE_BAD_REQUEST);
	CHECK(store_user_get(&e.txn, "alice", &u) == STORE_OK);
	CHECK(u.read_receipts == 1 && u.last_seen_vis == LASTSEEN_EVERYONE);

	s.read_receipts = 0;
	s.last_seen = -1;
	s.group_add_nobody = 1;
	CHECK(account_settings(&e.txn, "alice", &s, &err) == STORE_OK &&
	    err == TE_OK);
	CHECK(store_gpref_get(&e.txn, "alice", &nobody) == STORE_OK &&
	    nobody == 1);
	s.group_add_nobody = 2;
	CHECK(account_settings(&e.txn, "alice", &s, &err) == STORE_OK &&
	    err == TE_BAD_REQUEST);
	s.group_add_nobody = -1;
	s.last_seen = -1;
	CHECK(account_settings(&e.txn, "nobody", &s, &err) == STORE_NOTFOUND);
	CHECK(env_close(&e) == 0);
	return (0);
}

/* What read_receipts off does: an acked message gets no read receipt. */
static int
test_settings_receipts(void)
{
	struct env	e;
	struct settings	s = { .group_add_nobody = -1 };
	struct send_res	sres;
	struct ack_res	ack;
	struct targets	rt;
	enum tick_err	err;

	CHECK(env_begin(&e, "receipts") == 0);
	CHECK(reg(&e, "alice") == 0 && reg(&e, "bob") == 0);
	s.read_receipts = 0;
	s.last_seen = -1;
	CHECK(account_settings(&e.txn, "bob", &s, &err) == STORE_OK &&
	    err == TE_OK);
	CHECK(send_text(&e, "alice", "bob", "c-1", 2000, &sres) == STORE_OK &&
	    sres.err == TE_OK);
	targets_free(&sres.targets);
	memset(&ack, 0, sizeof ack);
	CHECK(queue_ack(&e.txn, &e.gen, &conf, "bob", "phone", &sres.mid,
	    2100, &ack) == STORE_OK && ack.deleted == 1);
	CHECK(targets_has(&ack.targets, "alice", "phone"));
	targets_free(&ack.targets);
	memset(&rt, 0, sizeof rt);
	CHECK(queue_read(&e.txn, &e.gen, &conf, "bob", &sres.mid, 2200, &rt) ==
	    STORE_OK && rt.n == 0);

	/* On again: the next message's read is told. */
	s.read_receipts = 1;
	CHECK(account_settings(&e.txn, "bob", &s, &err) == STORE_OK &&
	    err == TE_OK);
	CHECK(send_text(&e, "alice", "bob", "c-2", 3000, &sres) == STORE_OK &&
	    sres.err == TE_OK);
	targets_free(&sres.targets);
	memset(&rt, 0, sizeof rt);
	CHECK(queue_read(&e.txn, &e.gen, &conf, "bob", &sres.mid, 3100, &rt) ==
	    STORE_OK && targets_has(&rt, "alice", "phone"));
	targets_free(&rt);
	CHECK(env_close(&e) == 0);
	return (0);
}

static const struct test tests[] = {
	{ "account_block_valid: a valid name, not one's own",
	    test_block_valid },
	{ "account_block_check: bad_request, no_such_user, changes nothing",
	    test_block_check },
	{ "account_block: made once; oneself and nobody refused",
	    test_block },
	{ "account_unblock: lifted once; others left alone", test_unblock },
	{ "a blocked user's message reaches only its own devices",
	    test_block_drops },
	{ "account_settings: each alone, -1 keeps, bad values refused",
	    test_settings },
	{ "account_settings: read_receipts off stops read receipts",
	    test_settings_receipts },
};

/* Runs every test, prints TAP, and removes the temporary tree. */
int
main(void)
{
	return (tap_run_tmpdir(tests, nitems(tests), "test_account", base,
	    sizeof base));
}
