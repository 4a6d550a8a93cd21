/*
 * test_cluster.c: TAP unit tests of cluster-rules.c and store-cluster.c:
 * node names, cluster URLs and Redis URLs, the home a token or media ID
 * names, Redis key names, the receiver's verdict on an entry, and the
 * outbox, dedup records, cursor, epoch, directory cache and remote-item
 * origins in a real store.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tickd.h"
#include "testlib.h"

static char	dir[256];

/* Node names: 1-32 bytes of [a-z0-9-]. */
static int
test_node_names(void)
{
	CHECK(cluster_node_name_ok("n1", 2));
	CHECK(cluster_node_name_ok("a-b-0", 5));
	CHECK(cluster_node_name_ok("12345678901234567890123456789012", 32));
	CHECK(!cluster_node_name_ok("123456789012345678901234567890123", 33));
	CHECK(!cluster_node_name_ok("", 0));
	CHECK(!cluster_node_name_ok("N1", 2));
	CHECK(!cluster_node_name_ok("n.1", 3));
	CHECK(!cluster_node_name_ok("n_1", 3));
	CHECK(!cluster_node_name_ok("n 1", 3));
	return (0);
}

/* cluster_url and cluster_redis syntax. */
static int
test_urls(void)
{
	struct cluster_redis_addr	 a;
	char				*why = NULL;

	CHECK(cluster_url_ok("https://n1.chat.example", &why) == 0);
	CHECK(cluster_url_ok("http://127.0.0.1:8091/chat", &why) == 0);
	CHECK(cluster_url_ok("https://a b", &why) == -1);
	free(why);
	CHECK(cluster_url_ok("wss://a", &why) == -1);
	free(why);

	CHECK(cluster_redis_parse("redis://127.0.0.1:6390", 22, &a, &why) ==
	    0);
	CHECK(strcmp(a.host, "127.0.0.1") == 0 && a.port == 6390 &&
	    a.user == NULL && a.pass == NULL && !a.tls);
	cluster_redis_addr_clear(&a);
	CHECK(cluster_redis_parse("rediss://u:p:q@[::1]:7000", 25, &a, &why) ==
	    0);
	CHECK(strcmp(a.host, "::1") == 0 && a.port == 7000 && a.tls &&
	    strcmp(a.user, "u") == 0 && strcmp(a.pass, "p:q") == 0);
	cluster_redis_addr_clear(&a);
	CHECK(cluster_redis_parse("redis://secret@h:1", 18, &a, &why) == 0);
	CHECK(a.user == NULL && strcmp(a.pass, "secret") == 0);
	cluster_redis_addr_clear(&a);
	CHECK(cluster_redis_parse("redis://h:0", 11, &a, &why) == -1);
	free(why);
	CHECK(cluster_redis_parse("redis://h:1x", 12, &a, &why) == -1);
	free(why);
	CHECK(cluster_redis_parse("redis://:1", 10, &a, &why) == -1);
	free(why);
	CHECK(cluster_redis_parse("redis://h/0:1", 13, &a, &why) == -1);
	free(why);
	CHECK(cluster_redis_check("redis://a:1  redis://b:2 ", &why) == 2);
	CHECK(cluster_redis_check("  ", &why) == -1);
	free(why);
	return (0);
}

/* The home in a token or media ID, and Redis key names. */
static int
test_homes_and_keys(void)
{
	char	*k;
	size_t	 len;

	CHECK(cluster_home_of("n2.abcdef", 9, &len) && len == 2);
	CHECK(!cluster_home_of("abcdef", 6, &len) && len == 0);
	CHECK(!cluster_home_of("N2.abc", 6, &len));
	CHECK(!cluster_home_of(".abc", 4, &len));
	k = cluster_key("tickd:", "in", "n1");
	CHECK(strcmp(k, "tickd:{n1}:in") == 0);
	free(k);
	k = cluster_key("tickd:", "u", "alice");
	CHECK(strcmp(k, "tickd:u:{alice}") == 0);
	free(k);
	k = cluster_key("x:", "epoch", NULL);
	CHECK(strcmp(k, "x:epoch") == 0);
	free(k);
	return (0);
}

/* Dedup first, then the cursor, then apply. */
static int
test_verdict(void)
{
	struct mid	cur = { 100, 5 }, lo = { 100, 5 }, hi = { 100, 6 };
	struct mid	old = { 99, 9 };

	CHECK(cluster_verdict(&cur, &hi, 0) == CLUSTER_APPLY);
	CHECK(cluster_verdict(&cur, &lo, 0) == CLUSTER_SKIP);
	CHECK(cluster_verdict(&cur, &old, 0) == CLUSTER_SKIP);
	CHECK(cluster_verdict(&cur, &hi, 1) == CLUSTER_DONE_AGAIN);
	CHECK(cluster_verdict(&cur, &old, 1) == CLUSTER_DONE_AGAIN);
	CHECK(cluster_verdict(&mid_zero, &hi, 0) == CLUSTER_APPLY);
	return (0);
}

/* Walk callback collecting (node, mid.ms) pairs into a string. */
static int
collect(void *arg, const char *node, const struct mid *mid,
    const struct cout_rec *r)
{
	char	*buf = arg;
	size_t	 n = strlen(buf);

	snprintf(buf + n, 256 - n, "%s:%llu:%.*s ", node,
	    (unsigned long long)mid->ms, (int)r->len, r->payload);
	return (STORE_WALK_NEXT);
}

/* Walk callback deleting records with an even ms. */
static int
del_even(void *arg, const char *node, const struct mid *mid,
    const struct cout_rec *r)
{
	(void)arg;
	(void)node;
	(void)r;
	return (mid->ms % 2 == 0 ? STORE_WALK_DELETE : STORE_WALK_NEXT);
}

/* The outbox: per destination, in mid order, counted, deletable. */
static int
test_outbox(void)
{
	struct store	*s;
	struct txn	 t;
	struct cout_rec	 r, g;
	struct mid	 m, lw;
	uint64_t	 n;
	char		*cause = NULL, buf[256];
	static const char *const nodes[] = { "n2", "n10", "n2", "n3", "n2" };
	int		 i;

	CHECK(store_open(&s, dir, 64 << 20, &cause) == STORE_OK);
	CHECK(store_txn_begin(s, &t, 1) == STORE_OK);
	CHECK(store_cout_count(&t, &n) == STORE_OK && n == 0);
	CHECK(store_cout_lowest(&t, "n2", &lw) == STORE_OK &&
	    mid_iszero(&lw));
	for (i = 4; i >= 0; i--) {
		m.ms = 10 + (uint64_t)i;
		m.seq = 0;
		r.kind = COUT_MSG;
		r.created = 1000 + (uint64_t)i;
		r.payload = "{\"x\":1}";
		r.len = 7;
		CHECK(store_cout_put(&t, nodes[i], &m, &r) == STORE_OK);
	}
	CHECK(store_cout_put(&t, "n2", &m, &r) == STORE_EXISTS);
	CHECK(store_cout_put(&t, "Bad.Node", &m, &r) == STORE_ERR);
	store_txn_abort(&t);
	CHECK(store_txn_begin(s, &t, 1) == STORE_OK);
	for (i = 0; i < 5; i++) {
		m.ms = 10 + (uint64_t)i;
		m.seq = 0;
		r.kind = i == 3 ? COUT_RCPT : COUT_MSG;
		r.created = 1000 + (uint64_t)i;
		r.payload = i == 3 ? "{}" : "{\"x\":1}";
		r.len = strlen(r.payload);
		CHECK(store_cout_put(&t, nodes[i], &m, &r) == STORE_OK);
	}
	CHECK(store_cout_count(&t, &n) == STORE_OK && n == 5);
	buf[0] = '\0';
	CHECK(store_cout_walk(&t, "n2", NULL, collect, buf) == STORE_OK);
	CHECK(strcmp(buf, "n2:10:{\"x\":1} n2:12:{\"x\":1} n2:14:{\"x\":1} ") ==
	    0);
	buf[0] = '\0';
	m.ms = 10;
	CHECK(store_cout_walk(&t, "n2", &m, collect, buf) == STORE_OK);
	CHECK(strcmp(buf, "n2:12:{\"x\":1} n2:14:{\"x\":1} ") == 0);
	buf[0] = '\0';
	CHECK(store_cout_walk(&t, NULL, NULL, collect, buf) == STORE_OK);
	CHECK(strcmp(buf, "n10:11:{\"x\":1} n2:10:{\"x\":1} n2:12:{\"x\":1} "
	    "n2:14:{\"x\":1} n3:13:{} ") == 0);
	CHECK(store_cout_lowest(&t, "n2", &lw) == STORE_OK && lw.ms == 10);
	m.ms = 13;
	CHECK(store_cout_get(&t, "n3", &m, &g) == STORE_OK);
	CHECK(g.kind == COUT_RCPT && g.created == 1003 && g.len == 2);
	CHECK(store_cout_get(&t, "n2", &m, &g) == STORE_NOTFOUND);
	m.ms = 10;
	CHECK(store_cout_del(&t, "n2", &m) == STORE_OK);
	CHECK(store_cout_del(&t, "n2", &m) == STORE_NOTFOUND);
	CHECK(store_cout_lowest(&t, "n2", &lw) == STORE_OK && lw.ms == 12);
	CHECK(store_cout_count(&t, &n) == STORE_OK && n == 4);
	CHECK(store_cout_walk(&t, "n2", NULL, del_even, NULL) == STORE_OK);
	CHECK(store_cout_count(&t, &n) == STORE_OK && n == 2);
	CHECK(store_cout_lowest(&t, "n2", &lw) == STORE_OK &&
	    mid_iszero(&lw));
	CHECK(store_txn_commit(&t) == STORE_OK);
	store_close(s);

	/* What was committed is there after a reopen. */
	CHECK(store_open(&s, dir, 64 << 20, &cause) == STORE_OK);
	CHECK(store_txn_begin(s, &t, 0) == STORE_OK);
	CHECK(store_cout_count(&t, &n) == STORE_OK && n == 2);
	buf[0] = '\0';
	CHECK(store_cout_walk(&t, NULL, NULL, collect, buf) == STORE_OK);
	CHECK(strcmp(buf, "n10:11:{\"x\":1} n3:13:{} ") == 0);
	store_txn_abort(&t);
	store_close(s);
	return (0);
}

/* Walk callback counting directory entries. */
static int
count_dir(void *arg, const char *user, const char *node)
{
	(void)user;
	(void)node;
	(*(int *)arg)++;
	return (STORE_WALK_NEXT);
}

/* Dedup records trimmed below lw, cursor, epoch, directory, origins. */
static int
test_receiver(void)
{
	struct store	*s;
	struct txn	 t;
	struct mid	 m, om, cur;
	uint64_t	 n, e;
	char		*cause = NULL, node[CLUSTER_NODE_MAX + 1];
	int		 i, count = 0;

	CHECK(store_open(&s, dir, 64 << 20, &cause) == STORE_OK);
	CHECK(store_txn_begin(s, &t, 1) == STORE_OK);
	for (i = 1; i <= 5; i++) {
		m.ms = (uint64_t)i;
		m.seq = 0;
		CHECK(store_cdedup_put(&t, "n1", &m, 77) == STORE_OK);
		CHECK(store_cdedup_put(&t, "n1x", &m, 77) == STORE_OK);
	}
	m.ms = 3;
	CHECK(store_cdedup_get(&t, "n1", &m) == STORE_OK);
	CHECK(store_cdedup_get(&t, "n9", &m) == STORE_NOTFOUND);
	CHECK(store_cdedup_trim(&t, "n1", &m, &n) == STORE_OK && n == 2);
	m.ms = 2;
	CHECK(store_cdedup_get(&t, "n1", &m) == STORE_NOTFOUND);
	CHECK(store_cdedup_get(&t, "n1x", &m) == STORE_OK);
	m.ms = 3;
	CHECK(store_cdedup_get(&t, "n1", &m) == STORE_OK);
	CHECK(store_cdedup_drop(&t, "n1x") == STORE_OK);
	m.ms = 5;
	CHECK(store_cdedup_get(&t, "n1x", &m) == STORE_NOTFOUND);
	CHECK(store_cdedup_get(&t, "n1", &m) == STORE_OK);

	CHECK(store_ccursor_get(&t, &cur) == STORE_OK && mid_iszero(&cur));
	cur.ms = 1700000000000ULL;
	cur.seq = 3;
	CHECK(store_ccursor_put(&t, &cur) == STORE_OK);
	CHECK(store_cepoch_get(&t, &e) == STORE_OK && e == 0);
	CHECK(store_cepoch_put(&t, 0xdeadbeefULL) == STORE_OK);

	CHECK(store_cdir_get(&t, "bob", node) == STORE_NOTFOUND);
	CHECK(store_cdir_put(&t, "bob", "n2") == STORE_OK);
	CHECK(store_cdir_put(&t, "carol", "n3") == STORE_OK);
	CHECK(store_cdir_put(&t, "carol", "NOPE") == STORE_ERR);
	store_txn_abort(&t);
	CHECK(store_txn_begin(s, &t, 1) == STORE_OK);
	CHECK(store_cdir_put(&t, "bob", "n2") == STORE_OK);
	CHECK(store_cdir_put(&t, "carol", "n3") == STORE_OK);
	CHECK(store_cdir_put(&t, "bob", "n4") == STORE_OK);
	CHECK(store_cdir_get(&t, "bob", node) == STORE_OK &&
	    strcmp(node, "n4") == 0);
	CHECK(store_cdir_walk(&t, count_dir, &count) == STORE_OK &&
	    count == 2);
	CHECK(store_cdir_del(&t, "carol") == STORE_OK);
	CHECK(store_cdir_get(&t, "carol", node) == STORE_NOTFOUND);

	m.ms = 50;
	m.seq = 1;
	om.ms = 40;
	om.seq = 2;
	CHECK(store_crmsg_get(&t, &m, node, &om) == STORE_NOTFOUND);
	CHECK(store_crmsg_put(&t, &m, "n1", &om) == STORE_OK);
	memset(&om, 0, sizeof om);
	CHECK(store_crmsg_get(&t, &m, node, &om) == STORE_OK);
	CHECK(strcmp(node, "n1") == 0 && om.ms == 40 && om.seq == 2);
	CHECK(store_ccursor_put(&t, &cur) == STORE_OK);
	CHECK(store_cepoch_put(&t, 0xdeadbeefULL) == STORE_OK);
	CHECK(store_txn_commit(&t) == STORE_OK);

	CHECK(store_txn_begin(s, &t, 1) == STORE_OK);
	CHECK(store_ccursor_get(&t, &cur) == STORE_OK &&
	    cur.ms == 1700000000000ULL && cur.seq == 3);
	CHECK(store_cepoch_get(&t, &e) == STORE_OK && e == 0xdeadbeefULL);
	CHECK(store_crmsg_del(&t, &m) == STORE_OK);
	CHECK(store_crmsg_get(&t, &m, node, &om) == STORE_NOTFOUND);
	CHECK(store_txn_commit(&t) == STORE_OK);
	store_close(s);
	return (0);
}

static const struct test tests[] = {
	{ "node names", test_node_names },
	{ "cluster_url and cluster_redis", test_urls },
	{ "homes in tokens and IDs, Redis keys", test_homes_and_keys },
	{ "the receiver's verdict", test_verdict },
	{ "the outbox in the store", test_outbox },
	{ "dedup, cursor, epoch, directory, origins", test_receiver },
};

int
main(void)
{
	return (tap_run_tmpdir(tests, nitems(tests), "test_cluster", dir,
	    sizeof dir));
}
