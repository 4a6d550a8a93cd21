/* SPDX-License-Identifier: ISC */
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
#include "testlib-store.h"

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

/* sentinel:// URLs. */
static int
test_sentinel_url(void)
{
	struct cluster_sentinel	 s;
	char			*why = NULL;
	const char		*u;

	u = "sentinel://127.0.0.1:26379,[::1]:26380/mymaster";
	CHECK(cluster_sentinel_parse(u, strlen(u), &s, &why) == 0);
	CHECK(s.n == 2 && strcmp(s.v[0].host, "127.0.0.1") == 0 &&
	    s.v[0].port == 26379 && strcmp(s.v[1].host, "::1") == 0 &&
	    s.v[1].port == 26380 && strcmp(s.master, "mymaster") == 0 &&
	    s.user == NULL && s.pass == NULL);
	cluster_sentinel_clear(&s);
	u = "sentinel://u:p@h:1/m-1.x";
	CHECK(cluster_sentinel_parse(u, strlen(u), &s, &why) == 0);
	CHECK(s.n == 1 && strcmp(s.user, "u") == 0 &&
	    strcmp(s.pass, "p") == 0 && strcmp(s.master, "m-1.x") == 0);
	cluster_sentinel_clear(&s);
	u = "sentinel://h:1/";
	CHECK(cluster_sentinel_parse(u, strlen(u), &s, &why) == -1);
	free(why);
	u = "sentinel://h:1";
	CHECK(cluster_sentinel_parse(u, strlen(u), &s, &why) == -1);
	free(why);
	u = "sentinel://h:1,/m";
	CHECK(cluster_sentinel_parse(u, strlen(u), &s, &why) == -1);
	free(why);
	u = "sentinel://h:x/m";
	CHECK(cluster_sentinel_parse(u, strlen(u), &s, &why) == -1);
	free(why);
	u = "sentinel://h:1/m m";
	CHECK(cluster_sentinel_parse(u, strlen(u), &s, &why) == -1);
	free(why);
	CHECK(cluster_redis_check("sentinel://a:1,b:2/m", &why) == 1);
	CHECK(cluster_redis_check("sentinel://a:1/", &why) == -1);
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
		r.holds = 0;
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
		r.holds = i == 4;
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
	CHECK(g.kind == COUT_RCPT && !g.holds && g.created == 1003 &&
	    g.len == 2);
	CHECK(store_cout_get(&t, "n2", &m, &g) == STORE_NOTFOUND);
	m.ms = 14;
	CHECK(store_cout_get(&t, "n2", &m, &g) == STORE_OK);
	CHECK(g.kind == COUT_MSG && g.holds && g.created == 1004);
	/* A delete hands back what the record was, r (the last put) again. */
	memset(&g, 0xff, sizeof g);
	CHECK(store_cout_del(&t, "n2", &m, &g) == STORE_OK);
	CHECK(g.kind == COUT_MSG && g.holds && g.created == 1004 &&
	    g.payload == NULL && g.len == 0);
	CHECK(store_cout_get(&t, "n2", &m, &g) == STORE_NOTFOUND);
	CHECK(store_cout_put(&t, "n2", &m, &r) == STORE_OK);
	m.ms = 10;
	CHECK(store_cout_del(&t, "n2", &m, &g) == STORE_OK);
	CHECK(g.kind == COUT_MSG && !g.holds && g.created == 1000);
	CHECK(store_cout_del(&t, "n2", &m, NULL) == STORE_NOTFOUND);
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

/* The qid of user's device. */
static uint64_t
qid_of(struct env *e, const char *user, const char *device)
{
	struct dev_rec	d;

	if (store_device_get(&e->txn, user, device, &d) != STORE_OK)
		return (0);
	return (d.qid);
}

/* Queue walk callback keeping the first item's mid. */
static int
first_item(void *arg, const struct mid *mid, const struct item *it)
{
	(void)it;
	*(struct mid *)arg = *mid;
	return (STORE_WALK_STOP);
}

/* Walk callback keeping the first record's mid. */
static int
cout_first(void *arg, const char *node, const struct mid *mid,
    const struct cout_rec *r)
{
	(void)node;
	(void)r;
	*(struct mid *)arg = *mid;
	return (STORE_WALK_STOP);
}

/* One entry of kind k from origin o, stream id ms-0, om, payload p. */
static struct cluster_entry
entry(const char *o, const char *k, uint64_t ms, uint64_t om, const char *p)
{
	struct cluster_entry	e;

	memset(&e, 0, sizeof e);
	strlcpy(e.o, o, sizeof e.o);
	strlcpy(e.k, k, sizeof e.k);
	e.id.ms = ms;
	e.om.ms = om;
	e.p = p;
	e.plen = strlen(p);
	return (e);
}

/* Walk callback counting outbox records and keeping the last payload. */
static int
last_rec(void *arg, const char *node, const struct mid *mid,
    const struct cout_rec *r)
{
	char	*buf = arg;

	(void)node;
	(void)mid;
	snprintf(buf, 256, "%.*s", (int)r->len, r->payload);
	return (STORE_WALK_NEXT);
}

/*
 * cluster_apply on a receiver: a msg is queued once whatever the copies, a
 * done confirms outbox records, an ack sends the delivered receipt back,
 * refusals become failed receipts, lw trims dedup records.
 */
static int
test_apply(void)
{
	struct env		 e;
	struct conf		 c;
	struct cluster_entry	 v[4];
	struct cluster_applied	 a;
	struct ack_res		 ar;
	struct cout_rec		 o;
	struct mid		 m;
	uint64_t		 n;
	char			 buf[256];
	static const char	 msg[] = "{\"from\":\"alice\",\"from_device\":"
	    "\"phone\",\"to\":\"bob\",\"id\":\"x1\",\"ts\":5,\"body\":"
	    "\"hi\"}";

	conf_init(&c);
	c.max_queue = 1;
	CHECK(env_open(&e, dir, "apply", 64 << 20) == 0);
	CHECK(env_user(&e, "bob", "laptop", 1000) == 0);
	memset(&a, 0, sizeof a);
	v[0] = entry("n1", "msg", 2000, 7, msg);
	v[1] = entry("n1", "msg", 2001, 7, msg);	/* a resend: dedup */
	CHECK(cluster_apply(&e.txn, &e.gen, &c, v, 2, 3000, &a) == STORE_OK);
	CHECK(a.applied == 1 && a.dedup_hits == 1 && a.targets.n == 1);
	CHECK(targets_has(&a.targets, "bob", "laptop"));
	CHECK(a.ndone == 1 && strcmp(a.done[0].node, "n1") == 0 &&
	    a.done[0].n == 2 && a.done[0].oms[0].ms == 7);
	CHECK(a.cursor.ms == 2000);
	cluster_applied_free(&a);
	/* The same stream id again (a pending entry read after a crash). */
	v[0] = entry("n1", "msg", 2000, 8, msg);
	CHECK(cluster_apply(&e.txn, &e.gen, &c, v, 1, 3000, &a) == STORE_OK);
	CHECK(a.applied == 0 && a.ndone == 0);
	cluster_applied_free(&a);

	/* bob's queue is full now: a failed receipt goes back to n1. */
	v[0] = entry("n1", "msg", 2002, 9, msg);
	CHECK(cluster_apply(&e.txn, &e.gen, &c, v, 1, 3000, &a) == STORE_OK);
	CHECK(a.applied == 1 && a.targets.n == 0);
	cluster_applied_free(&a);
	CHECK(store_cout_count(&e.txn, &n) == STORE_OK && n == 1);
	CHECK(store_cout_walk(&e.txn, "n1", NULL, last_rec, buf) == STORE_OK);
	CHECK(strstr(buf, "\"for\":\"9-0\"") != NULL &&
	    strstr(buf, "\"status\":\"failed\"") != NULL &&
	    strstr(buf, "\"reason\":\"queue_full\"") != NULL);

	/*
	 * A recipient not homed here: nothing applied, no dedup record, the
	 * om listed as moved so that n1 looks zed up again.
	 */
	v[0] = entry("n1", "msg", 2003, 10, "{\"from\":\"alice\","
	    "\"from_device\":\"p\",\"to\":\"zed\",\"id\":\"x2\","
	    "\"body\":1}");
	CHECK(cluster_apply(&e.txn, &e.gen, &c, v, 1, 3000, &a) == STORE_OK);
	CHECK(a.applied == 0 && a.ndone == 1 && a.done[0].n == 0 &&
	    a.done[0].nmoved == 1 && a.done[0].moved[0].ms == 10 &&
	    a.cursor.ms == 2003);
	cluster_applied_free(&a);
	m.ms = 10;
	m.seq = 0;
	CHECK(store_cdedup_get(&e.txn, "n1", &m) == STORE_NOTFOUND);
	CHECK(store_cout_count(&e.txn, &n) == STORE_OK && n == 1);

	/* bob acks the message: the delivered receipt goes to n1's outbox. */
	CHECK(store_queue_walk(&e.txn, qid_of(&e, "bob", "laptop"), NULL,
	    first_item, &m) == STORE_OK);
	CHECK(queue_ack(&e.txn, &e.gen, &c, "bob", "laptop", &m, 4000, &ar) ==
	    STORE_OK && ar.deleted && ar.targets.n == 0);
	targets_free(&ar.targets);
	CHECK(store_cout_count(&e.txn, &n) == STORE_OK && n == 2);
	CHECK(store_cout_walk(&e.txn, "n1", NULL, last_rec, buf) == STORE_OK);
	CHECK(strstr(buf, "\"for\":\"7-0\"") != NULL &&
	    strstr(buf, "\"status\":\"delivered\"") != NULL &&
	    strstr(buf, "\"by\":\"bob\"") != NULL);

	/* A done from n1 confirms this node's records for n1. */
	CHECK(store_cout_walk(&e.txn, "n1", NULL, cout_first, &m) ==
	    STORE_OK);
	{
		char	p[128], ms[MID_STRLEN + 1];

		mid_format(&m, ms);
		snprintf(p, sizeof p, "{\"oms\":[\"%s\",\"1-1\"]}", ms);
		v[0] = entry("n1", "done", 2004, 0, p);
		CHECK(cluster_apply(&e.txn, &e.gen, &c, v, 1, 3000, &a) ==
		    STORE_OK);
	}
	CHECK(a.confirmed == 1 && a.applied == 0);
	cluster_applied_free(&a);
	CHECK(store_cout_count(&e.txn, &n) == STORE_OK && n == 1);
	CHECK(store_cout_get(&e.txn, "n1", &m, &o) == STORE_NOTFOUND);

	/* lw 9-0 from n1 drops the dedup records of oms 7 and 8. */
	m.ms = 7;
	m.seq = 0;
	CHECK(store_cdedup_get(&e.txn, "n1", &m) == STORE_OK);
	v[0] = entry("n1", "lw", 2005, 0, "{}");
	v[0].has_lw = 1;
	v[0].lw.ms = 9;
	CHECK(cluster_apply(&e.txn, &e.gen, &c, v, 1, 3000, &a) == STORE_OK);
	cluster_applied_free(&a);
	CHECK(store_cdedup_get(&e.txn, "n1", &m) == STORE_NOTFOUND);
	m.ms = 9;
	CHECK(store_cdedup_get(&e.txn, "n1", &m) == STORE_OK);
	CHECK(env_close(&e) == 0);
	conf_clear(&c);
	return (0);
}

/*
 * The sender's side: a send to a remote user keeps an outbox record and the
 * dedup record, and a receipt from the remote node reaches the sender.
 */
static int
test_send_remote(void)
{
	struct env		 e;
	struct conf		 c;
	struct send_req		 req;
	struct send_res		 res, again;
	struct cluster_entry	 v[1];
	struct cluster_applied	 a;
	struct cout_rec		 o;
	json_t			*body;
	uint64_t		 n;
	char			 p[160], ms[MID_STRLEN + 1];

	conf_init(&c);
	CHECK(env_open(&e, dir, "send", 64 << 20) == 0);
	CHECK(env_user(&e, "alice", "phone", 1000) == 0);
	CHECK(account_claim_device(&e.txn, "alice", "tablet", 1000, p,
	    &(struct dev_rec){ 0 }) == STORE_OK);
	body = json_string("hello");
	memset(&req, 0, sizeof req);
	req.from = "alice";
	req.from_device = "phone";
	req.to = "bob";
	req.id = "c1";
	req.body = body;
	req.now = 2000;
	CHECK(queue_send_remote(&e.txn, &e.gen, &c, &req, "n2", &res) ==
	    STORE_OK);
	CHECK(res.err == TE_OK && !res.dup && res.targets.n == 1 &&
	    targets_has(&res.targets, "alice", "tablet"));
	targets_free(&res.targets);
	CHECK(store_cout_get(&e.txn, "n2", &res.mid, &o) == STORE_OK);
	CHECK(o.kind == COUT_MSG && memmem(o.payload, o.len,
	    "\"body\":\"hello\"", 14) != NULL);
	CHECK(queue_send_remote(&e.txn, &e.gen, &c, &req, "n2", &again) ==
	    STORE_OK);
	CHECK(again.dup && mid_cmp(&again.mid, &res.mid) == 0);
	CHECK(store_cout_count(&e.txn, &n) == STORE_OK && n == 1);
	c.cluster_outbox_max = 1;
	req.id = "c2";
	CHECK(queue_send_remote(&e.txn, &e.gen, &c, &req, "n2", &again) ==
	    STORE_OK && again.err == TE_UNAVAILABLE);
	/*
	 * Media of another node: unavailable, nothing held, unless the front
	 * end found it live; then the record names it, and its owner n1 gets
	 * a reference for the item of alice's tablet.
	 */
	c.cluster_outbox_max = 1000;
	c.cluster_redis = xstrdup("redis://127.0.0.1:1");
	c.node_name = xstrdup("n3");
	req.id = "c3";
	req.media = json_pack("[s]", "n1.AAAAAAAAAAAAAAAAAAAAAA");
	CHECK(queue_send_remote(&e.txn, &e.gen, &c, &req, "n2", &again) ==
	    STORE_OK && again.err == TE_UNAVAILABLE);
	CHECK(store_cout_count(&e.txn, &n) == STORE_OK && n == 1);
	req.media_remote_ok = 1;
	CHECK(queue_send_remote(&e.txn, &e.gen, &c, &req, "n2", &again) ==
	    STORE_OK && again.err == TE_OK && again.targets.n == 1);
	targets_free(&again.targets);
	CHECK(store_cout_get(&e.txn, "n2", &again.mid, &o) == STORE_OK);
	CHECK(o.kind == COUT_MSG && memmem(o.payload, o.len,
	    "\"media\":[\"n1.AAAAAAAAAAAAAAAAAAAAAA\"]", 36) != NULL);
	CHECK(store_cout_walk(&e.txn, "n1", NULL, last_rec, p) == STORE_OK &&
	    strcmp(p, "{\"ids\":[\"AAAAAAAAAAAAAAAAAAAAAA\"],\"d\":1}") ==
	    0);
	CHECK(store_cout_count(&e.txn, &n) == STORE_OK && n == 3);
	json_decref(req.media);
	req.media = NULL;
	req.media_remote_ok = 0;
	free(c.cluster_redis);
	free(c.node_name);
	c.cluster_redis = c.node_name = NULL;

	mid_format(&res.mid, ms);
	snprintf(p, sizeof p, "{\"for\":\"%s\",\"status\":\"delivered\","
	    "\"by\":\"bob\",\"ts\":9}", ms);
	memset(&a, 0, sizeof a);
	v[0] = entry("n2", "rcpt", 5000, 3, p);
	CHECK(cluster_apply(&e.txn, &e.gen, &c, v, 1, 3000, &a) == STORE_OK);
	CHECK(a.applied == 1 && a.targets.n == 2 &&
	    targets_has(&a.targets, "alice", "phone"));
	cluster_applied_free(&a);
	json_decref(body);
	CHECK(env_close(&e) == 0);
	conf_clear(&c);
	return (0);
}

/* What count_mref finds: mref records and the last one's payload. */
struct mrefs {
	uint64_t	n;
	char		last[256];
};

/* Walk callback counting outbox records of kind COUT_MREF. */
static int
count_mref(void *arg, const char *node, const struct mid *mid,
    const struct cout_rec *r)
{
	struct mrefs	*mr = arg;

	(void)node;
	(void)mid;
	if (r->kind == COUT_MREF) {
		mr->n++;
		snprintf(mr->last, sizeof mr->last, "%.*s", (int)r->len,
		    r->payload);
	}
	return (STORE_WALK_NEXT);
}

/* media_verify's report: a problem line, shown as a comment. */
static void
no_line(void *arg, const char *line)
{
	(void)arg;
	printf("# %s\n", line);
}

/* Whether media_verify finds nothing wrong, without repairing. */
static int
verify_clean(struct txn *txn)
{
	json_t	*sum;
	int	 ok;

	sum = json_object();
	ok = media_verify(txn, NULL, NULL, 0, no_line, NULL, sum) == STORE_OK &&
	    json_integer_value(json_object_get(sum, "problems")) == 0;
	json_decref(sum);
	return (ok);
}

/*
 * Media references on n2 (tickd-cluster(7) MEDIA): a message from n1
 * naming an ID of n1's and one of n2's takes a local reference and sends
 * n1 an mref +1 (verify counts only the local one); bob's ack gives both
 * back (-1 to n1).  As the owner, an mref moves the count once, whatever
 * the copies, and is kept per node: verify and repair count it, a -1
 * ahead of its +1 takes nothing away, forgetting the node releases it.
 */
static int
test_media_refs(void)
{
	struct env		 e;
	struct conf		 c;
	struct cluster_entry	 v[1];
	struct cluster_applied	 a;
	struct ack_res		 ar;
	struct media_rec	 r, old;
	struct mid		 m;
	enum tick_err		 err;
	struct mrefs		 mr;
	int64_t			 rc;
	json_t			*sum;
	uint8_t			 sha[32], id[MEDIA_ID_BYTES];
	char			 p[512], ids[MEDIA_ID_LEN + 1];

	conf_init(&c);
	c.cluster_redis = xstrdup("redis://127.0.0.1:1");
	c.node_name = xstrdup("n2");
	CHECK(env_open(&e, dir, "mref", 64 << 20) == 0);
	CHECK(env_user(&e, "bob", "laptop", 1000) == 0);
	memset(sha, 7, sizeof sha);
	CHECK(media_commit(&e.txn, &c, "bob", sha, 10, "image/png", 1000, id,
	    &err) == STORE_OK && err == TE_OK);
	media_id_format(id, ids);

	snprintf(p, sizeof p, "{\"from\":\"alice\",\"from_device\":"
	    "\"phone\",\"to\":\"bob\",\"id\":\"c1\",\"ts\":2000,"
	    "\"body\":\"hi\",\"media\":[\"n1.AAAAAAAAAAAAAAAAAAAAAA\","
	    "\"n2.%s\",\"n3.%s\"]}", ids, ids);
	memset(&a, 0, sizeof a);
	v[0] = entry("n1", "msg", 2000, 1, p);
	CHECK(cluster_apply(&e.txn, &e.gen, &c, v, 1, 2000, &a) == STORE_OK);
	CHECK(a.applied == 1 && a.targets.n == 1);
	cluster_applied_free(&a);
	CHECK(store_media_get(&e.txn, id, &r) == STORE_OK && r.refs == 1);
	memset(&mr, 0, sizeof mr);
	CHECK(store_cout_walk(&e.txn, "n1", NULL, count_mref, &mr) ==
	    STORE_OK && mr.n == 1 && strcmp(mr.last, "{\"ids\":"
	    "[\"AAAAAAAAAAAAAAAAAAAAAA\"],\"d\":1}") == 0);
	/* n3's ID of the same bytes is n3's to count, not this node's. */
	sum = json_pack("{s:b,s:i,s:i}", "consistent", 1, "problems", 0,
	    "repaired", 0);
	CHECK(media_verify(&e.txn, NULL, NULL, 0, no_line, NULL, sum) ==
	    STORE_OK &&
	    json_is_true(json_object_get(sum, "consistent")));
	json_decref(sum);
	CHECK(store_queue_walk(&e.txn, qid_of(&e, "bob", "laptop"), NULL,
	    first_item, &m) == STORE_OK);
	memset(&ar, 0, sizeof ar);
	CHECK(queue_ack(&e.txn, &e.gen, &c, "bob", "laptop", &m, 3000, &ar) ==
	    STORE_OK && ar.deleted);
	targets_free(&ar.targets);
	CHECK(store_media_get(&e.txn, id, &r) == STORE_OK && r.refs == 0 &&
	    r.last_ref == 3000);
	memset(&mr, 0, sizeof mr);
	CHECK(store_cout_walk(&e.txn, "n1", NULL, count_mref, &mr) ==
	    STORE_OK && mr.n == 2 && strcmp(mr.last, "{\"ids\":"
	    "[\"AAAAAAAAAAAAAAAAAAAAAA\"],\"d\":-1}") == 0);

	/* The owner's side: +1 once, then -1. */
	snprintf(p, sizeof p, "{\"ids\":[\"%s\"],\"d\":1}", ids);
	v[0] = entry("n3", "mref", 2001, 5, p);
	CHECK(cluster_apply(&e.txn, &e.gen, &c, v, 1, 4000, &a) == STORE_OK);
	cluster_applied_free(&a);
	v[0] = entry("n3", "mref", 2002, 5, p);
	CHECK(cluster_apply(&e.txn, &e.gen, &c, v, 1, 4000, &a) == STORE_OK);
	CHECK(a.applied == 0 && a.dedup_hits == 1);
	cluster_applied_free(&a);
	CHECK(store_media_get(&e.txn, id, &r) == STORE_OK && r.refs == 1);
	/* n3's reference is n3's: verify finds the count right. */
	CHECK(verify_clean(&e.txn));
	/* n4's -1 ahead of its +1 holds nothing, and the +1 then none. */
	snprintf(p, sizeof p, "{\"ids\":[\"%s\"],\"d\":-1}", ids);
	v[0] = entry("n4", "mref", 2003, 7, p);
	CHECK(cluster_apply(&e.txn, &e.gen, &c, v, 1, 4500, &a) == STORE_OK);
	cluster_applied_free(&a);
	CHECK(store_media_get(&e.txn, id, &r) == STORE_OK && r.refs == 1);
	CHECK(store_media_rref_get(&e.txn, id, "n4", &rc) == STORE_OK &&
	    rc == -1);
	snprintf(p, sizeof p, "{\"ids\":[\"%s\"],\"d\":1}", ids);
	v[0] = entry("n4", "mref", 2004, 8, p);
	CHECK(cluster_apply(&e.txn, &e.gen, &c, v, 1, 4600, &a) == STORE_OK);
	cluster_applied_free(&a);
	CHECK(store_media_get(&e.txn, id, &r) == STORE_OK && r.refs == 1);
	CHECK(store_media_rref_get(&e.txn, id, "n4", &rc) == STORE_OK &&
	    rc == 0);
	snprintf(p, sizeof p, "{\"ids\":[\"%s\"],\"d\":-1}", ids);
	v[0] = entry("n3", "mref", 2005, 6, p);
	CHECK(cluster_apply(&e.txn, &e.gen, &c, v, 1, 5000, &a) == STORE_OK);
	cluster_applied_free(&a);
	CHECK(store_media_get(&e.txn, id, &r) == STORE_OK && r.refs == 0 &&
	    r.last_ref == 5000);

	/* Forgetting n4 releases the reference it held. */
	snprintf(p, sizeof p, "{\"ids\":[\"%s\"],\"d\":1}", ids);
	v[0] = entry("n4", "mref", 2006, 9, p);
	CHECK(cluster_apply(&e.txn, &e.gen, &c, v, 1, 5500, &a) == STORE_OK);
	cluster_applied_free(&a);
	CHECK(store_media_get(&e.txn, id, &r) == STORE_OK && r.refs == 1);
	CHECK(verify_clean(&e.txn));
	CHECK(media_forget_node(&e.txn, "n4", 6000) == STORE_OK);
	CHECK(store_media_get(&e.txn, id, &r) == STORE_OK && r.refs == 0 &&
	    r.last_ref == 6000);
	CHECK(store_media_rref_get(&e.txn, id, "n4", &rc) == STORE_OK &&
	    rc == 0);

	/* A wrong count is set to both sides' sum; a stale count dropped. */
	r.refs = 5;
	CHECK(store_media_rref_put(&e.txn, id, "n3", 2) == STORE_OK);
	CHECK(store_media_get(&e.txn, id, &old) == STORE_OK &&
	    store_media_put(&e.txn, id, &old, &r) == STORE_OK);
	memset(sha, 0, sizeof sha);
	CHECK(store_media_rref_put(&e.txn, sha, "n3", 1) == STORE_OK);
	CHECK(!verify_clean(&e.txn));
	sum = json_object();
	CHECK(media_verify(&e.txn, &e.gen, NULL, 1, no_line, NULL, sum) ==
	    STORE_OK);
	json_decref(sum);
	CHECK(verify_clean(&e.txn));
	CHECK(store_media_get(&e.txn, id, &r) == STORE_OK && r.refs == 2);
	CHECK(store_media_rref_get(&e.txn, sha, "n3", &rc) == STORE_OK &&
	    rc == 0);
	/* Deleting the ID drops the counts of it. */
	CHECK(store_media_del(&e.txn, id, &r) == STORE_OK);
	CHECK(store_media_rref_get(&e.txn, id, "n3", &rc) == STORE_OK &&
	    rc == 0);
	CHECK(env_close(&e) == 0);
	conf_clear(&c);
	return (0);
}

/*
 * A req entry served by cluster_apply: keys_fetch takes bob's prekey in
 * the batch's transaction and its rep goes to the caller; the same entry
 * read again is not served again; max refuses a fetch taking nothing; a
 * call without a rid is dropped, an unknown op answered.
 */
static int
test_serve(void)
{
	struct user_rec		 u;
	struct env		 e;
	struct conf		 c;
	struct keys_upload	 up;
	struct cluster_entry	 v[2];
	struct cluster_applied	 a;
	enum tick_err		 err;
	const char		*why;
	json_t			*j;
	uint64_t		 npre, nkem;
	char			 out[NAME_DEVICE_MAX + 1];

	conf_init(&c);
	CHECK(env_open(&e, dir, "serve", 64 << 20) == 0);
	CHECK(env_user(&e, "bob", "laptop", 1000) == 0);
	j = json_loads("{\"identity\":\"SUQ=\",\"signed_prekey\":{\"id\":1,"
	    "\"key\":\"U1A=\",\"sig\":\"U0c=\"},\"prekeys\":[{\"id\":1,"
	    "\"key\":\"UDE=\"},{\"id\":2,\"key\":\"UDI=\"}]}", 0, NULL);
	CHECK(j != NULL && keys_upload_parse(j, &c, &up, &why) == 0);
	json_decref(j);
	CHECK(keys_upload(&e.txn, &c, "bob", "laptop", &up, &err, &why) ==
	    STORE_OK && err == TE_OK);
	keys_upload_free(&up);

	memset(&a, 0, sizeof a);
	v[0] = entry("n1", "req", 2000, 0, "{\"rid\":\"n1-1\",\"user\":"
	    "\"alice\",\"op\":{\"op\":\"keys_fetch\",\"user\":\"bob\"}}");
	v[1] = entry("n1", "req", 2001, 0, "{\"rid\":\"n1-2\",\"user\":"
	    "\"alice\",\"op\":{\"op\":\"keys_fetch\",\"user\":\"bob\","
	    "\"max\":1}}");
	CHECK(cluster_apply(&e.txn, &e.gen, &c, v, 2, 3000, &a) == STORE_OK);
	CHECK(a.nreps == 2 && a.ndone == 0 && a.prekeys_taken == 2);
	CHECK(strcmp(a.reps[0].node, "n1") == 0 &&
	    strstr(a.reps[0].text, "\"rid\":\"n1-1\"") != NULL &&
	    strstr(a.reps[0].text, "\"op\":\"keys\"") != NULL &&
	    strstr(a.reps[0].text, "\"prekey\":{\"id\":1,") != NULL);
	CHECK(strstr(a.reps[1].text, "\"op\":\"keys\"") != NULL &&
	    strstr(a.reps[1].text, "\"prekey\":{\"id\":2,") != NULL);
	/* keys_low went to bob's laptop (prekeys_low is 10). */
	CHECK(targets_has(&a.targets, "bob", "laptop"));
	CHECK(a.cursor.ms == 2001);
	cluster_applied_free(&a);

	/* Read again after a crash: at or below the cursor, not served. */
	CHECK(cluster_apply(&e.txn, &e.gen, &c, v, 2, 3000, &a) == STORE_OK);
	CHECK(a.nreps == 0 && a.prekeys_taken == 0);
	cluster_applied_free(&a);

	/* Two devices' bundles are more than max 1: nothing is taken. */
	CHECK(account_claim_device(&e.txn, "bob", "phone", 1000, out,
	    &(struct dev_rec){ 0 }) == STORE_OK);
	j = json_loads("{\"identity\":\"SUQ=\",\"signed_prekey\":{\"id\":1,"
	    "\"key\":\"U1A=\",\"sig\":\"U0c=\"},\"prekeys\":[{\"id\":5,"
	    "\"key\":\"UDU=\"}]}", 0, NULL);
	CHECK(j != NULL && keys_upload_parse(j, &c, &up, &why) == 0);
	json_decref(j);
	CHECK(keys_upload(&e.txn, &c, "bob", "phone", &up, &err, &why) ==
	    STORE_OK && err == TE_OK);
	keys_upload_free(&up);
	v[0] = entry("n1", "req", 2002, 0, "{\"rid\":\"n1-3\",\"user\":"
	    "\"alice\",\"op\":{\"op\":\"keys_fetch\",\"user\":\"bob\","
	    "\"max\":1}}");
	v[1] = entry("n1", "req", 2003, 0, "{\"user\":\"alice\",\"op\":"
	    "{\"op\":\"keys_fetch\",\"user\":\"bob\"}}");
	CHECK(cluster_apply(&e.txn, &e.gen, &c, v, 2, 3000, &a) == STORE_OK);
	CHECK(a.nreps == 1 && a.prekeys_taken == 0 &&
	    strstr(a.reps[0].text, "\"code\":\"rate_limited\"") != NULL);
	cluster_applied_free(&a);
	CHECK(keys_count(&e.txn, "bob", "phone", &npre, &nkem) == STORE_OK &&
	    npre == 1);

	v[0] = entry("n1", "req", 2004, 0, "{\"rid\":\"n1-4\",\"user\":"
	    "\"alice\",\"op\":{\"op\":\"group_frob\"}}");
	v[1] = entry("n1", "req", 2005, 0, "{\"rid\":\"n1-5\",\"user\":"
	    "\"alice\",\"op\":{\"op\":\"keys_fetch\",\"user\":\"zed\"}}");
	CHECK(cluster_apply(&e.txn, &e.gen, &c, v, 2, 3000, &a) == STORE_OK);
	CHECK(a.nreps == 2 &&
	    strstr(a.reps[0].text, "\"code\":\"unknown_op\"") != NULL &&
	    strstr(a.reps[1].text, "\"code\":\"moved\"") != NULL);
	cluster_applied_free(&a);

	/*
	 * bob held for a name conflict is homed elsewhere now: keys_fetch
	 * and group_vet answer moved for him, taking and vetting nothing
	 * (tickd-cluster(7) REMOTE CALLS).
	 */
	CHECK(store_user_get(&e.txn, "bob", &u) == STORE_OK &&
	    store_cheld_put(&e.txn, "bob", u.created) == STORE_OK);
	v[0] = entry("n1", "req", 2006, 0, "{\"rid\":\"n1-6\",\"user\":"
	    "\"alice\",\"op\":{\"op\":\"keys_fetch\",\"user\":\"bob\"}}");
	v[1] = entry("n1", "req", 2007, 0, "{\"rid\":\"n1-7\",\"user\":"
	    "\"alice\",\"op\":{\"op\":\"group_vet\",\"group\":\"#g\","
	    "\"users\":[\"bob\",\"zed\"]}}");
	CHECK(cluster_apply(&e.txn, &e.gen, &c, v, 2, 3000, &a) == STORE_OK);
	CHECK(a.nreps == 2 && a.prekeys_taken == 0 &&
	    strstr(a.reps[0].text, "\"code\":\"moved\"") != NULL &&
	    strstr(a.reps[0].text, "devices") == NULL &&
	    strstr(a.reps[1].text, "\"refused\":[\"bob\",\"zed\"]") !=
	    NULL &&
	    strstr(a.reps[1].text, "\"moved\":[\"bob\",\"zed\"]") != NULL);
	cluster_applied_free(&a);
	CHECK(keys_count(&e.txn, "bob", "phone", &npre, &nkem) == STORE_OK &&
	    npre == 1);
	CHECK(store_crsv_count(&e.txn, "bob", 3000, &npre) == STORE_OK &&
	    npre == 0);
	CHECK(env_close(&e) == 0);
	conf_clear(&c);
	return (0);
}

/* Walk callback keeping the last record's whole payload. */
static int
cout_last(void *arg, const char *node, const struct mid *mid,
    const struct cout_rec *r)
{
	(void)node;
	(void)mid;
	snprintf(arg, 4096, "%.*s", (int)r->len, r->payload);
	return (STORE_WALK_NEXT);
}

/*
 * A group on its home n1 with a member homed on n2, added with n2's
 * verdict only (without one, or with a no, it is refused): the created and
 * removed events go into n1's outbox as gev records naming that member
 * and its role, not into a queue of n1's; n2 applies them, queueing the
 * items for the member's device and keeping, then dropping, its
 * membership for the groups op.  The member's gmsg reaches the members
 * of n1 but not itself; after its removal, it is a failed receipt.  Added
 * again and deleted on n2, it leaves the group on n1 by a gleave record.
 */
static int
test_groups_across(void)
{
	struct env		 g, b;
	struct conf		 cg, cb;
	struct grp_req		 req;
	struct grp_res		 res;
	struct cluster_entry	 v[1];
	struct cluster_applied	 a;
	struct crgroup_rec	 cr;
	struct gmember_rec	 gm;
	struct targets		 left;
	uint64_t		 n;
	json_t			*l;
	const char		*users[] = { "bob" };
	static char		 buf[4096];
	static const char	 gmsg[] = "{\"g\":\"#g\",\"from\":\"bob\","
	    "\"from_device\":\"laptop\",\"id\":\"b1\",\"ts\":3500,"
	    "\"frame\":\"{\\\"op\\\":\\\"msg\\\",\\\"mid\\\":\\\"9-0\\\"}\"}";

	conf_init(&cg);
	conf_init(&cb);
	cg.cluster_redis = xstrdup("redis://127.0.0.1:6379");
	cg.node_name = xstrdup("n1");
	cb.cluster_redis = xstrdup("redis://127.0.0.1:6379");
	cb.node_name = xstrdup("n2");
	CHECK(env_open(&g, dir, "ghome", 64 << 20) == 0);
	CHECK(env_user(&g, "alice", "phone", 1000) == 0);
	CHECK(store_cdir_put(&g.txn, "bob", "n2") == STORE_OK);
	memset(&req, 0, sizeof req);
	req.actor = "alice";
	req.group = "#g";
	req.title = "G";
	req.users = users;
	req.nusers = 1;
	req.now = 2000;
	/* bob is added only with his home's yes (protocol rule 8). */
	req.group = "#h";
	CHECK(group_create(&g.txn, &g.gen, &cg, &req, &res) == STORE_OK &&
	    res.err == TE_OK && json_array_size(res.refused) == 1);
	grp_res_free(&res);
	req.group = "#i";
	req.verdicts = json_pack("{s:b}", "bob", 0);
	CHECK(group_create(&g.txn, &g.gen, &cg, &req, &res) == STORE_OK &&
	    res.err == TE_OK && json_array_size(res.refused) == 1);
	grp_res_free(&res);
	json_decref(req.verdicts);
	req.group = "#g";
	req.verdicts = json_pack("{s:b}", "bob", 1);
	CHECK(group_create(&g.txn, &g.gen, &cg, &req, &res) == STORE_OK &&
	    res.err == TE_OK && json_array_size(res.refused) == 0);
	json_decref(req.verdicts);
	req.verdicts = NULL;
	CHECK(res.targets.n == 1 && targets_has(&res.targets, "alice",
	    "phone"));
	grp_res_free(&res);
	CHECK(store_cout_walk(&g.txn, "n2", NULL, cout_last, buf) ==
	    STORE_OK);
	CHECK(strstr(buf, "\"users\":[\"bob\"]") != NULL &&
	    strstr(buf, "\"roles\":{\"bob\":\"member\"}") != NULL &&
	    strstr(buf, "created") != NULL);

	CHECK(env_open(&b, dir, "bhome", 64 << 20) == 0);
	CHECK(env_user(&b, "bob", "laptop", 1000) == 0);
	memset(&a, 0, sizeof a);
	v[0] = entry("n1", "gev", 3000, 5, buf);
	CHECK(cluster_apply(&b.txn, &b.gen, &cb, v, 1, 3000, &a) == STORE_OK);
	CHECK(a.applied == 1 && targets_has(&a.targets, "bob", "laptop"));
	cluster_applied_free(&a);
	CHECK(store_crgroup_get(&b.txn, "bob", "#g", &cr) == STORE_OK &&
	    cr.role == GROLE_MEMBER && cr.version == 1 &&
	    strcmp(cr.home, "n1") == 0 && strcmp(cr.title, "G") == 0);
	l = json_array();
	CHECK(group_list_remote(&b.txn, "bob", l) == STORE_OK &&
	    json_array_size(l) == 1);
	json_decref(l);
	/*
	 * A member as bob's home knows is vetted again for the actor: his
	 * removal may not have reached it yet (tickd-cluster(7) GROUPS).
	 */
	CHECK(store_block_put(&b.txn, "bob", "dave") == STORE_OK);
	CHECK(group_vet_user(&b.txn, &cb, "bob", "dave", "#g", 3100) == 1);
	CHECK(group_vet_user(&b.txn, &cb, "bob", "erin", "#g", 3100) == 0);
	CHECK(store_block_del(&b.txn, "bob", "dave") == STORE_OK);

	/* bob's message through n2: n1 stores it for alice only. */
	v[0] = entry("n2", "gmsg", 3500, 9, gmsg);
	CHECK(cluster_apply(&g.txn, &g.gen, &cg, v, 1, 3500, &a) == STORE_OK);
	CHECK(a.applied == 1 && a.targets.n == 1 &&
	    targets_has(&a.targets, "alice", "phone"));
	cluster_applied_free(&a);
	CHECK(store_cout_walk(&g.txn, "n2", NULL, cout_last, buf) ==
	    STORE_OK && strstr(buf, "created") != NULL);

	req.now = 4000;
	CHECK(group_remove(&g.txn, &g.gen, &cg, &req, &res) == STORE_OK &&
	    res.err == TE_OK);
	grp_res_free(&res);
	CHECK(store_cout_walk(&g.txn, "n2", NULL, cout_last, buf) ==
	    STORE_OK);
	CHECK(strstr(buf, "\"roles\":{\"bob\":null}") != NULL);
	v[0] = entry("n1", "gev", 3001, 6, buf);
	CHECK(cluster_apply(&b.txn, &b.gen, &cb, v, 1, 5000, &a) == STORE_OK);
	CHECK(a.applied == 1 && targets_has(&a.targets, "bob", "laptop"));
	cluster_applied_free(&a);
	CHECK(store_crgroup_get(&b.txn, "bob", "#g", &cr) == STORE_NOTFOUND);

	/* bob, removed, sends on a stale mirror: a failed receipt to n2. */
	v[0] = entry("n2", "gmsg", 3600, 10, gmsg);
	CHECK(cluster_apply(&g.txn, &g.gen, &cg, v, 1, 6000, &a) == STORE_OK);
	CHECK(a.applied == 1 && a.targets.n == 0);
	cluster_applied_free(&a);
	CHECK(store_cout_walk(&g.txn, "n2", NULL, cout_last, buf) ==
	    STORE_OK);
	CHECK(strstr(buf, "\"for\":\"10-0\"") != NULL &&
	    strstr(buf, "\"status\":\"failed\"") != NULL &&
	    strstr(buf, "\"reason\":\"no_such_user\"") != NULL);

	/* bob, added again, is deleted on n2: he leaves #g on n1 too. */
	req.now = 7000;
	req.verdicts = json_pack("{s:b}", "bob", 1);
	CHECK(group_add(&g.txn, &g.gen, &cg, &req, &res) == STORE_OK &&
	    res.err == TE_OK && json_array_size(res.refused) == 0);
	json_decref(req.verdicts);
	req.verdicts = NULL;
	grp_res_free(&res);
	CHECK(store_cout_walk(&g.txn, "n2", NULL, cout_last, buf) ==
	    STORE_OK && strstr(buf, "added") != NULL);
	v[0] = entry("n1", "gev", 3002, 7, buf);
	CHECK(cluster_apply(&b.txn, &b.gen, &cb, v, 1, 7000, &a) == STORE_OK);
	cluster_applied_free(&a);
	memset(&left, 0, sizeof left);
	CHECK(group_user_gone(&b.txn, &b.gen, &cb, "bob", 8000, &left, &n) ==
	    STORE_OK && n == 1);
	targets_free(&left);
	CHECK(store_crgroup_get(&b.txn, "bob", "#g", &cr) == STORE_NOTFOUND);
	CHECK(store_cout_walk(&b.txn, "n1", NULL, cout_last, buf) ==
	    STORE_OK && strcmp(buf, "{\"g\":\"#g\",\"user\":\"bob\"}") == 0);
	v[0] = entry("n2", "gleave", 3700, 11, buf);
	CHECK(cluster_apply(&g.txn, &g.gen, &cg, v, 1, 8000, &a) == STORE_OK);
	CHECK(a.applied == 1 && a.ngroups == 1 &&
	    strcmp(a.groups[0], "#g") == 0 &&
	    targets_has(&a.targets, "alice", "phone"));
	cluster_applied_free(&a);
	CHECK(store_gmember_get(&g.txn, "#g", "bob", &gm) == STORE_NOTFOUND);
	CHECK(env_close(&b) == 0);
	CHECK(env_close(&g) == 0);
	conf_clear(&cg);
	conf_clear(&cb);
	return (0);
}

/*
 * An account held for a name conflict (tickd-cluster(7), Name conflicts)
 * is not homed here in a cluster (cluster_user_get), but is on a single
 * node: a 1:1 send finds no such user; a group's item for it goes to the
 * winner's cached home, or, with none cached (or this node's), stays with
 * it; it is known only by its cached home, and added only with that
 * home's verdict.
 */
static int
test_held(void)
{
	struct env		 e;
	struct conf		 c, one;
	struct user_rec		 u;
	struct send_req		 sreq;
	struct send_res		 sres;
	struct grp_req		 req;
	struct grp_res		 res;
	json_t			*body;
	const char		*users[] = { "zed" };
	static char		 buf[4096];

	conf_init(&c);
	conf_init(&one);
	c.cluster_redis = xstrdup("redis://127.0.0.1:6379");
	c.node_name = xstrdup("n1");
	CHECK(env_open(&e, dir, "held", 64 << 20) == 0);
	CHECK(env_user(&e, "alice", "phone", 1000) == 0);
	CHECK(env_user(&e, "zed", "laptop", 1000) == 0);
	CHECK(store_user_get(&e.txn, "zed", &u) == STORE_OK);
	/* A hold of an earlier account of the name holds nothing. */
	CHECK(store_cheld_put(&e.txn, "zed", u.created - 1) == STORE_OK);
	CHECK(cluster_user_get(&e.txn, &c, "zed", &u) == STORE_OK);
	CHECK(store_cheld_put(&e.txn, "zed", u.created) == STORE_OK);
	CHECK(cluster_user_get(&e.txn, &c, "zed", &u) == STORE_NOTFOUND);
	CHECK(cluster_user_get(&e.txn, &one, "zed", &u) == STORE_OK);
	CHECK(cluster_user_get(&e.txn, NULL, "zed", &u) == STORE_OK);
	CHECK(cluster_user_get(&e.txn, &c, "alice", &u) == STORE_OK);
	CHECK(group_user_known(&e.txn, &c, "zed") == 0);
	CHECK(group_user_known(&e.txn, &one, "zed") == 1);

	body = json_string("hi");
	memset(&sreq, 0, sizeof sreq);
	sreq.from = "alice";
	sreq.from_device = "phone";
	sreq.to = "zed";
	sreq.id = "h1";
	sreq.body = body;
	sreq.now = 2000;
	CHECK(queue_send(&e.txn, &e.gen, &c, &sreq, &sres) == STORE_OK &&
	    sres.err == TE_NO_SUCH_USER && sres.targets.n == 0);
	targets_free(&sres.targets);

	/* #g, made while zed was homed here; then he is held. */
	memset(&req, 0, sizeof req);
	req.actor = "alice";
	req.group = "#g";
	req.title = "G";
	req.users = users;
	req.nusers = 1;
	req.now = 2000;
	CHECK(group_create(&e.txn, &e.gen, &one, &req, &res) == STORE_OK &&
	    res.err == TE_OK && json_array_size(res.refused) == 0);
	grp_res_free(&res);
	sreq.to = "#g";
	sreq.id = "h2";
	CHECK(queue_send(&e.txn, &e.gen, &c, &sreq, &sres) == STORE_OK &&
	    sres.err == TE_OK && targets_has(&sres.targets, "zed", "laptop"));
	targets_free(&sres.targets);
	/* A cached home naming this node is none. */
	CHECK(store_cdir_put(&e.txn, "zed", "n1") == STORE_OK);
	CHECK(group_user_known(&e.txn, &c, "zed") == 0);
	sreq.id = "h2b";
	CHECK(queue_send(&e.txn, &e.gen, &c, &sreq, &sres) == STORE_OK &&
	    sres.err == TE_OK && targets_has(&sres.targets, "zed", "laptop"));
	targets_free(&sres.targets);
	CHECK(store_cdir_put(&e.txn, "zed", "n2") == STORE_OK);
	CHECK(group_user_known(&e.txn, &c, "zed") == 1);
	sreq.id = "h3";
	CHECK(queue_send(&e.txn, &e.gen, &c, &sreq, &sres) == STORE_OK &&
	    sres.err == TE_OK && sres.targets.n == 0);
	targets_free(&sres.targets);
	CHECK(store_cout_walk(&e.txn, "n2", NULL, cout_last, buf) ==
	    STORE_OK && strstr(buf, "\"users\":[\"zed\"]") != NULL &&
	    strstr(buf, "\"id\":\"h3\"") != NULL);
	json_decref(body);

	/* Added to another group only with n2's yes (protocol rule 8). */
	req.group = "#h";
	CHECK(group_create(&e.txn, &e.gen, &c, &req, &res) == STORE_OK &&
	    res.err == TE_OK && json_array_size(res.refused) == 1);
	grp_res_free(&res);
	req.group = "#i";
	req.verdicts = json_pack("{s:b}", "zed", 1);
	CHECK(group_create(&e.txn, &e.gen, &c, &req, &res) == STORE_OK &&
	    res.err == TE_OK && json_array_size(res.refused) == 0);
	grp_res_free(&res);
	json_decref(req.verdicts);
	CHECK(env_close(&e) == 0);
	conf_clear(&c);
	conf_clear(&one);
	return (0);
}

/*
 * A done listing a record as moved (its user is not homed on the node it
 * went to): the record and the cached home stay, and the user is to be
 * looked up again; cluster_retarget then moves it to the new home under
 * the same om, or fails it and drops the cached home.
 */
static int
test_moved(void)
{
	struct env		 e;
	struct conf		 c;
	struct cluster_entry	 v[1];
	struct cluster_applied	 a;
	struct cout_rec		 o;
	struct targets		 t;
	struct mid		 om;
	char			 node[CLUSTER_NODE_MAX + 1];
	static const char	 rec[] = "{\"from\":\"alice\",\"from_device\":"
	    "\"phone\",\"to\":\"zed\",\"id\":\"x1\",\"body\":\"hi\"}";

	conf_init(&c);
	CHECK(env_open(&e, dir, "moved", 64 << 20) == 0);
	CHECK(env_user(&e, "alice", "phone", 1000) == 0);
	CHECK(store_cdir_put(&e.txn, "zed", "n1") == STORE_OK);
	memset(&om, 0, sizeof om);
	om.ms = 50;
	o.kind = COUT_MSG;
	o.holds = 0;
	o.created = 1000;
	o.payload = rec;
	o.len = strlen(rec);
	CHECK(store_cout_put(&e.txn, "n1", &om, &o) == STORE_OK);
	memset(&a, 0, sizeof a);
	v[0] = entry("n1", "done", 2000, 0, "{\"oms\":[],\"moved\":"
	    "[\"50-0\"]}");
	CHECK(cluster_apply(&e.txn, &e.gen, &c, v, 1, 3000, &a) == STORE_OK);
	CHECK(a.confirmed == 0 && a.nrelook == 1 &&
	    strcmp(a.relook[0].node, "n1") == 0 &&
	    strcmp(a.relook[0].user, "zed") == 0 && a.relook[0].om.ms == 50);
	cluster_applied_free(&a);
	CHECK(store_cout_get(&e.txn, "n1", &om, &o) == STORE_OK);
	/* Kept until the look-up replaces it: a group item still goes. */
	CHECK(store_cdir_get(&e.txn, "zed", node) == STORE_OK &&
	    strcmp(node, "n1") == 0);

	memset(&t, 0, sizeof t);
	CHECK(cluster_retarget(&e.txn, &e.gen, "n1", &om, "zed", "n2", 3000,
	    &t) == STORE_OK);
	CHECK(store_cout_get(&e.txn, "n1", &om, &o) == STORE_NOTFOUND);
	CHECK(store_cout_get(&e.txn, "n2", &om, &o) == STORE_OK &&
	    o.kind == COUT_MSG && o.len == strlen(rec) &&
	    memcmp(o.payload, rec, o.len) == 0);
	/* Looked up again from n2: nobody has zed now; his cache goes. */
	CHECK(store_cdir_put(&e.txn, "zed", "n2") == STORE_OK);
	CHECK(cluster_retarget(&e.txn, &e.gen, "n2", &om, "zed", NULL, 3000,
	    &t) == STORE_OK);
	CHECK(store_cout_get(&e.txn, "n2", &om, &o) == STORE_NOTFOUND);
	CHECK(store_cdir_get(&e.txn, "zed", node) == STORE_NOTFOUND);
	/* A record gone meanwhile changes nothing. */
	CHECK(cluster_retarget(&e.txn, &e.gen, "n2", &om, "zed", "n3", 3000,
	    &t) == STORE_OK);
	CHECK(store_cout_get(&e.txn, "n3", &om, &o) == STORE_NOTFOUND);
	targets_free(&t);
	CHECK(env_close(&e) == 0);
	conf_clear(&c);
	return (0);
}

/* Walk callback counting records and keeping the last payload. */
static int
cout_count_last(void *arg, const char *node, const struct mid *mid,
    const struct cout_rec *r)
{
	char	*buf = arg;

	(void)node;
	(void)mid;
	buf[0]++;
	snprintf(buf + 1, 511, "%.*s", (int)r->len, r->payload);
	return (STORE_WALK_NEXT);
}

/*
 * A gev naming a user not homed on its receiver (zed, held there after a
 * claim elsewhere; yan, unknown there): applied for bob, homed there, and
 * listed as moved, also when sent again.  At the group's home the record
 * stays and each user it names is looked up again, its cached home kept;
 * cluster_retarget then takes zed out of it to a record of his new home
 * naming him alone, and bob, homed where it went, out of it: a record
 * naming nobody is done.
 */
static int
test_gev_moved(void)
{
	struct env		 b, g;
	struct conf		 c;
	struct user_rec		 u;
	struct cluster_entry	 v[1];
	struct cluster_applied	 a;
	struct cout_rec		 o;
	struct targets		 t;
	struct mid		 om;
	char			 node[CLUSTER_NODE_MAX + 1], buf[512];
	static const char	 rec[] = "{\"g\":\"#g\",\"kind\":\"event\","
	    "\"users\":[\"bob\",\"zed\",\"yan\"],\"frame\":\"{\\\"op\\\":"
	    "\\\"group_event\\\",\\\"event\\\":\\\"added\\\"}\",\"title\":"
	    "\"G\",\"version\":1,\"ts\":3000,\"roles\":{\"bob\":\"member\","
	    "\"zed\":\"member\",\"yan\":\"member\"}}";

	conf_init(&c);
	CHECK(env_open(&b, dir, "gevmoved", 64 << 20) == 0);
	CHECK(env_user(&b, "bob", "laptop", 1000) == 0);
	CHECK(env_user(&b, "zed", "phone", 1000) == 0);
	CHECK(store_user_get(&b.txn, "zed", &u) == STORE_OK &&
	    store_cheld_put(&b.txn, "zed", u.created) == STORE_OK);
	memset(&a, 0, sizeof a);
	v[0] = entry("n1", "gev", 2000, 5, rec);
	CHECK(cluster_apply(&b.txn, &b.gen, &c, v, 1, 3000, &a) == STORE_OK);
	CHECK(a.applied == 1 && a.targets.n == 1 &&
	    targets_has(&a.targets, "bob", "laptop"));
	CHECK(a.ndone == 1 && a.done[0].n == 0 && a.done[0].nmoved == 1 &&
	    a.done[0].moved[0].ms == 5);
	cluster_applied_free(&a);
	memset(&om, 0, sizeof om);
	om.ms = 5;
	CHECK(store_cdedup_get(&b.txn, "n1", &om) == STORE_OK);
	/* Sent again: not applied again, still moved. */
	v[0] = entry("n1", "gev", 2001, 5, rec);
	CHECK(cluster_apply(&b.txn, &b.gen, &c, v, 1, 3000, &a) == STORE_OK);
	CHECK(a.applied == 0 && a.dedup_hits == 1 && a.targets.n == 0 &&
	    a.ndone == 1 && a.done[0].nmoved == 1);
	cluster_applied_free(&a);
	CHECK(env_close(&b) == 0);

	CHECK(env_open(&g, dir, "gevorigin", 64 << 20) == 0);
	CHECK(store_cdir_put(&g.txn, "zed", "n2") == STORE_OK);
	o.kind = COUT_GEV;
	o.holds = 0;
	o.created = 1000;
	o.payload = rec;
	o.len = strlen(rec);
	CHECK(store_cout_put(&g.txn, "n2", &om, &o) == STORE_OK);
	v[0] = entry("n2", "done", 2000, 0, "{\"oms\":[],\"moved\":"
	    "[\"5-0\"]}");
	CHECK(cluster_apply(&g.txn, &g.gen, &c, v, 1, 3000, &a) == STORE_OK);
	CHECK(a.nrelook == 3 && strcmp(a.relook[0].node, "n2") == 0 &&
	    strcmp(a.relook[0].user, "bob") == 0 &&
	    strcmp(a.relook[1].user, "zed") == 0 &&
	    strcmp(a.relook[2].user, "yan") == 0 && a.relook[1].om.ms == 5);
	cluster_applied_free(&a);
	CHECK(store_cout_get(&g.txn, "n2", &om, &o) == STORE_OK);
	CHECK(store_cdir_get(&g.txn, "zed", node) == STORE_OK &&
	    strcmp(node, "n2") == 0);

	memset(&t, 0, sizeof t);
	CHECK(cluster_retarget(&g.txn, &g.gen, "n2", &om, "zed", "n3", 3000,
	    &t) == STORE_OK);
	memset(buf, 0, sizeof buf);
	CHECK(store_cout_walk(&g.txn, "n3", NULL, cout_count_last, buf) ==
	    STORE_OK && buf[0] == 1);
	CHECK(strstr(buf + 1, "\"users\":[\"zed\"]") != NULL &&
	    strstr(buf + 1, "\"roles\":{\"zed\":\"member\"}") != NULL &&
	    strstr(buf + 1, "added") != NULL);
	memset(buf, 0, sizeof buf);
	CHECK(store_cout_walk(&g.txn, "n2", NULL, cout_count_last, buf) ==
	    STORE_OK && buf[0] == 1);
	CHECK(strstr(buf + 1, "\"users\":[\"bob\",\"yan\"]") != NULL &&
	    strstr(buf + 1, "\"zed\":\"member\"") != NULL);
	/* bob is homed where it went; yan nowhere: the record is done. */
	CHECK(cluster_retarget(&g.txn, &g.gen, "n2", &om, "bob", "n2", 3000,
	    &t) == STORE_OK);
	CHECK(cluster_retarget(&g.txn, &g.gen, "n2", &om, "yan", NULL, 3000,
	    &t) == STORE_OK);
	CHECK(store_cout_get(&g.txn, "n2", &om, &o) == STORE_NOTFOUND);
	CHECK(t.n == 0);
	targets_free(&t);
	CHECK(env_close(&g) == 0);
	conf_clear(&c);
	return (0);
}

/* Hash slots and redirections of Redis Cluster. */
static int
test_slots(void)
{
	char		host[64];
	unsigned	slot;
	int		ask, port;

	CHECK(cluster_key_slot("123456789", 9) == 12739);
	CHECK(cluster_key_slot("foo", 3) == 12182);
	CHECK(cluster_key_slot("bar", 3) == 5061);
	CHECK(cluster_key_slot("x{bar}y", 7) == 5061);
	CHECK(cluster_key_slot("foo{bar}{zap}", 13) == 5061);
	CHECK(cluster_key_slot("foo{}{bar}", 10) ==
	    cluster_key_slot("foo{}{bar}", 10));
	CHECK(cluster_key_slot("foo{}{bar}", 10) != 5061);
	CHECK(cluster_key_slot("foo{{bar}}zap", 13) ==
	    cluster_key_slot("{bar", 4));
	CHECK(cluster_key_slot("tickd:{n1}:in", 13) ==
	    cluster_key_slot("n1", 2));
	CHECK(cluster_key_slot("", 0) == 0);
	CHECK(cluster_redirect_parse("MOVED 3999 127.0.0.1:6381", &ask, &slot,
	    host, sizeof host, &port) == 0);
	CHECK(!ask && slot == 3999 && strcmp(host, "127.0.0.1") == 0 &&
	    port == 6381);
	CHECK(cluster_redirect_parse("ASK 0 ::1:7000", &ask, &slot, host,
	    sizeof host, &port) == 0);
	CHECK(ask && slot == 0 && strcmp(host, "::1") == 0 && port == 7000);
	CHECK(cluster_redirect_parse("MOVED 16384 h:1", &ask, &slot, host,
	    sizeof host, &port) == -1);
	CHECK(cluster_redirect_parse("MOVED 1 h:0", &ask, &slot, host,
	    sizeof host, &port) == -1);
	CHECK(cluster_redirect_parse("MOVED 1 :5", &ask, &slot, host,
	    sizeof host, &port) == -1);
	CHECK(cluster_redirect_parse("ERR MOVED 1 h:5", &ask, &slot, host,
	    sizeof host, &port) == -1);
	CHECK(cluster_redirect_parse("TRYAGAIN", &ask, &slot, host,
	    sizeof host, &port) == -1);
	return (0);
}

static const struct test tests[] = {
	{ "node names", test_node_names },
	{ "cluster_url and cluster_redis", test_urls },
	{ "sentinel:// URLs", test_sentinel_url },
	{ "homes in tokens and IDs, Redis keys", test_homes_and_keys },
	{ "Redis Cluster hash slots and redirections", test_slots },
	{ "the receiver's verdict", test_verdict },
	{ "the outbox in the store", test_outbox },
	{ "dedup, cursor, epoch, directory, origins", test_receiver },
	{ "cluster_apply: dedup, refusals, done, lw", test_apply },
	{ "a record moved: looked up again, sent on", test_moved },
	{ "a gev moved: applied here, the rest sent on", test_gev_moved },
	{ "queue_send_remote and a receipt back", test_send_remote },
	{ "media references across nodes: mref out and in",
	  test_media_refs },
	{ "cluster_apply serves a req once", test_serve },
	{ "a group's events for a member on another node", test_groups_across },
	{ "an account held for a name conflict is homed elsewhere",
	  test_held },
};

int
main(void)
{
	return (tap_run_tmpdir(tests, nitems(tests), "test_cluster", dir,
	    sizeof dir));
}
