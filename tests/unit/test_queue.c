/* SPDX-License-Identifier: ISC */
/*
 * test_queue.c: unit tests of queue.c and account.c, the store-and-forward
 * rules, delivery within the window, and the device and token rules,
 * against a store in a temporary directory.  Prints TAP; exits 0 only if
 * every test passed.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tickd.h"
#include "testlib.h"
#include "testlib-store.h"

#define MAP_SIZE	(16ULL << 20)
#define QMAX		16

static char		base[256];
static struct conf	conf;

/* A device's queue, read back and checked against its count and bytes. */
struct qdump {
	int		 n;
	size_t		 bytes;
	struct mid	 mid[QMAX];
	uint8_t		 kind[QMAX];
	uint64_t	 ts[QMAX];
	json_t		*j[QMAX];
};

/* The limits the tests assume unless they change them. */
static void
conf_reset(void)
{
	memset(&conf, 0, sizeof conf);
	conf.max_queue = 5;
	conf.max_message_bytes = 64;
	conf.dedup_window = 1000;
	conf.message_ttl = 5000;
	conf.device_ttl = 10000;
}

/* Sets these tests' limits and opens the test's store. */
static int
env_begin(struct env *e, const char *name, uint64_t map_size)
{
	conf_reset();
	return (env_open(e, base, name, map_size));
}

/* Claims one of user's devices as a login would. */
static int
claim(struct env *e, const char *user, const char *device, uint64_t now,
    struct dev_rec *r)
{
	char	name[NAME_DEVICE_MAX + 1];

	return (account_claim_device(&e->txn, user, device, now, name, r));
}

/* alice on phone and laptop, bob on phone and tablet. */
static int
two_by_two(struct env *e, uint64_t now)
{
	struct dev_rec	r;

	if (env_register(e, "alice", now) != 0 ||
	    env_register(e, "bob", now) != 0 ||
	    claim(e, "alice", "phone", now, &r) != STORE_OK ||
	    claim(e, "alice", "laptop", now, &r) != STORE_OK ||
	    claim(e, "bob", "phone", now, &r) != STORE_OK ||
	    claim(e, "bob", "tablet", now, &r) != STORE_OK)
		return (-1);
	return (0);
}

/* Sends a message whose body is given as JSON text. */
static int
qsend(struct env *e, const char *from, const char *from_device,
    const char *to, const char *id, const char *body, uint64_t now,
    struct send_res *res)
{
	struct send_req	req;
	int		rc;

	memset(&req, 0, sizeof req);
	req.from = from;
	req.from_device = from_device;
	req.to = to;
	req.id = id;
	req.now = now;
	if ((req.body = json_loads(body, JSON_DECODE_ANY, NULL)) == NULL)
		return (STORE_ERR);
	rc = queue_send(&e->txn, &e->gen, &conf, &req, res);
	json_decref(req.body);
	return (rc);
}

/* Queue walk callback: records each item, its frame parsed. */
static int
qdump_fn(void *arg, const struct mid *m, const struct item *it)
{
	struct qdump	*q = arg;

	if (q->n < QMAX) {
		q->mid[q->n] = *m;
		q->kind[q->n] = it->kind;
		q->ts[q->n] = it->ts;
		q->j[q->n] = json_loadb(it->data, it->len, 0, NULL);
	}
	q->n++;
	q->bytes += it->len;
	return (STORE_WALK_NEXT);
}

/* Frees the parsed frames of a qdump. */
static void
qfree(struct qdump *q)
{
	int	i;

	for (i = 0; i < q->n && i < QMAX; i++)
		json_decref(q->j[i]);
	memset(q, 0, sizeof *q);
}

/* Reads a device's queue; -1 if its record's count or bytes are wrong. */
static int
qload(struct env *e, const char *user, const char *device, struct qdump *q)
{
	struct dev_rec	r;

	memset(q, 0, sizeof *q);
	if (store_device_get(&e->txn, user, device, &r) != STORE_OK ||
	    store_queue_walk(&e->txn, r.qid, NULL, qdump_fn, q) != STORE_OK)
		return (-1);
	if (r.count != (uint64_t)q->n || r.bytes != q->bytes) {
		printf("# %s/%s: count %llu bytes %llu, queue %d %zu\n", user,
		    device, (unsigned long long)r.count,
		    (unsigned long long)r.bytes, q->n, q->bytes);
		qfree(q);
		return (-1);
	}
	return (0);
}

/* Device walk callback: adds one device's record to the totals. */
static int
sum_fn(void *arg, const char *user, const char *device,
    const struct dev_rec *r)
{
	struct store_totals	*t = arg;

	(void)user; (void)device;
	t->devices++;
	t->items += (int64_t)r->count;
	t->bytes += (int64_t)r->bytes;
	return (STORE_WALK_NEXT);
}

/*
 * Whether the totals the open transaction kept match its device records
 * (the store was empty when it began).
 */
static int
totals_agree(struct env *e)
{
	struct store_totals	t;

	memset(&t, 0, sizeof t);
	if (store_device_walk(&e->txn, NULL, sum_fn, &t) != STORE_OK)
		return (0);
	return (t.devices == e->txn.delta.devices &&
	    t.items == e->txn.delta.items && t.bytes == e->txn.delta.bytes);
}

/* Items in a device's queue, or -1. */
static int
qlen(struct env *e, const char *user, const char *device)
{
	struct qdump	q;
	int		n;

	if (qload(e, user, device, &q) != 0)
		return (-1);
	n = q.n;
	qfree(&q);
	return (n);
}

/* Items in queue qid, whether or not a device owns it. */
static int
qid_len(struct env *e, uint64_t qid)
{
	struct qdump	q;
	int		n;

	memset(&q, 0, sizeof q);
	if (store_queue_walk(&e->txn, qid, NULL, qdump_fn, &q) != STORE_OK)
		return (-1);
	n = q.n;
	qfree(&q);
	return (n);
}

/* A string member of a JSON object, or "". */
static const char *
jstr(json_t *o, const char *key)
{
	const char	*s;

	s = json_string_value(json_object_get(o, key));
	return (s != NULL ? s : "");
}

/* Msgs walk callback: counts. */
static int
count_msg_fn(void *arg, const struct mid *m, const struct msg_rec *r)
{
	(void)m;
	(void)r;
	(*(int *)arg)++;
	return (STORE_WALK_NEXT);
}

/* How many message records the store holds. */
static int
msg_count(struct env *e)
{
	int	n = 0;

	if (store_msg_walk(&e->txn, count_msg_fn, &n) != STORE_OK)
		return (-1);
	return (n);
}

/* A receipt frame as tickd-protocol(7) MESSAGES has it. */
static int
is_receipt(json_t *j, const struct mid *rmid, const struct mid *for_mid,
    const char *id, const char *by, const char *status, uint64_t ts)
{
	char	a[MID_STRLEN + 1], b[MID_STRLEN + 1];

	mid_format(rmid, a);
	mid_format(for_mid, b);
	return (j != NULL && json_object_size(j) == 7 &&
	    strcmp(jstr(j, "op"), "receipt") == 0 &&
	    strcmp(jstr(j, "mid"), a) == 0 && strcmp(jstr(j, "for"), b) == 0 &&
	    strcmp(jstr(j, "id"), id) == 0 && strcmp(jstr(j, "by"), by) == 0 &&
	    strcmp(jstr(j, "status"), status) == 0 &&
	    json_integer_value(json_object_get(j, "ts")) == (json_int_t)ts);
}

/* account_register: user and unclaimed default; name_taken. */
static int
test_register(void)
{
	struct env	e;
	struct user_rec	u;
	struct dev_rec	r;
	enum tick_err	err;
	uint8_t		salt[16] = { 0 }, hash[32] = { 0 };

	CHECK(env_begin(&e, "register", MAP_SIZE) == 0);
	CHECK(env_register(&e, "alice", 1000) == 0);
	CHECK(store_user_get(&e.txn, "alice", &u) == STORE_OK);
	CHECK(u.created == 1000 && u.last_seen == 0 && u.read_receipts == 1);
	CHECK(u.salt[0] == 1 && u.hash[31] == 2);
	CHECK(store_device_get(&e.txn, "alice", "default", &r) == STORE_OK);
	CHECK(r.claimed == 0 && r.qid != 0 && r.count == 0);
	CHECK(account_register(&e.txn, "alice", salt, hash, 2000, &err) ==
	    STORE_OK && err == TE_NAME_TAKEN);
	CHECK(store_user_get(&e.txn, "alice", &u) == STORE_OK &&
	    u.created == 1000);
	CHECK(env_close(&e) == 0);
	return (0);
}

/* account_claim_device: rule 2 (rename keeps queue, reuse, new). */
static int
test_claim(void)
{
	struct env	e;
	struct send_res	res;
	struct dev_rec	r, d0, laptop, t;
	char		name[NAME_DEVICE_MAX + 1];

	CHECK(env_begin(&e, "claim", MAP_SIZE) == 0);
	CHECK(env_register(&e, "alice", 1000) == 0 &&
	    env_register(&e, "bob", 1000) == 0);
	CHECK(claim(&e, "alice", "phone", 1000, &r) == STORE_OK);
	CHECK(store_device_get(&e.txn, "bob", "default", &d0) == STORE_OK);
	CHECK(qsend(&e, "alice", "phone", "bob", "c-1", "1", 1100, &res) ==
	    STORE_OK && res.err == TE_OK);
	targets_free(&res.targets);
	CHECK(qlen(&e, "bob", "default") == 1);

	/* The lone unclaimed default is renamed and keeps its queue. */
	CHECK(account_claim_device(&e.txn, "bob", "laptop", 2000, name,
	    &laptop) == STORE_OK);
	CHECK(strcmp(name, "laptop") == 0);
	CHECK(laptop.qid == d0.qid && laptop.claimed == 1 &&
	    laptop.last_active == 2000 && laptop.count == 1);
	CHECK(store_device_get(&e.txn, "bob", "default", &r) ==
	    STORE_NOTFOUND);
	CHECK(qlen(&e, "bob", "laptop") == 1);

	/* Another name gets a new, empty queue. */
	CHECK(claim(&e, "bob", "tablet", 2100, &t) == STORE_OK);
	CHECK(t.qid != laptop.qid && t.claimed == 1 && t.count == 0);
	CHECK(qlen(&e, "bob", "tablet") == 0);
	CHECK(qlen(&e, "bob", "laptop") == 1);

	/* An existing device is reused. */
	CHECK(claim(&e, "bob", "laptop", 3000, &r) == STORE_OK);
	CHECK(r.qid == laptop.qid && r.count == 1 && r.last_active == 3000);

	/* No device name: "default", created if missing. */
	CHECK(account_claim_device(&e.txn, "bob", NULL, 3100, name, &r) ==
	    STORE_OK);
	CHECK(strcmp(name, "default") == 0 && r.claimed == 1);
	CHECK(r.qid != laptop.qid && r.qid != t.qid);

	/* A claimed default is not renamed. */
	CHECK(env_register(&e, "carol", 1000) == 0);
	CHECK(store_device_get(&e.txn, "carol", "default", &d0) == STORE_OK);
	CHECK(claim(&e, "carol", NULL, 1200, &r) == STORE_OK);
	CHECK(r.qid == d0.qid && r.claimed == 1);
	CHECK(claim(&e, "carol", "phone", 1300, &r) == STORE_OK);
	CHECK(r.qid != d0.qid);
	CHECK(store_device_get(&e.txn, "carol", "default", &r) == STORE_OK);

	/* "default" named explicitly claims it. */
	CHECK(env_register(&e, "dave", 1000) == 0);
	CHECK(store_device_get(&e.txn, "dave", "default", &d0) == STORE_OK);
	CHECK(claim(&e, "dave", "default", 1200, &r) == STORE_OK);
	CHECK(r.qid == d0.qid && r.claimed == 1);

	CHECK(claim(&e, "nobody", "phone", 1000, &r) == STORE_NOTFOUND);
	CHECK(claim(&e, "nobody", NULL, 1000, &r) == STORE_NOTFOUND);
	CHECK(env_close(&e) == 0);
	return (0);
}

/* account_remove_device: rule 3 (queue dropped, fresh default). */
static int
test_remove_device(void)
{
	struct env	e;
	struct send_res	res;
	struct dev_rec	phone, laptop, r;

	CHECK(env_begin(&e, "remove", MAP_SIZE) == 0);
	CHECK(two_by_two(&e, 1000) == 0);
	CHECK(store_device_get(&e.txn, "alice", "phone", &phone) == STORE_OK);
	CHECK(store_device_get(&e.txn, "alice", "laptop", &laptop) ==
	    STORE_OK);
	CHECK(qsend(&e, "bob", "phone", "alice", "c-1", "1", 1100, &res) ==
	    STORE_OK && res.err == TE_OK);
	targets_free(&res.targets);
	CHECK(qid_len(&e, phone.qid) == 1 && qid_len(&e, laptop.qid) == 1);

	CHECK(account_remove_device(&e.txn, &e.gen, "alice", "laptop", 2000) ==
	    STORE_OK);
	CHECK(store_device_get(&e.txn, "alice", "laptop", &r) ==
	    STORE_NOTFOUND);
	CHECK(qid_len(&e, laptop.qid) == 0);
	CHECK(store_device_get(&e.txn, "alice", "default", &r) ==
	    STORE_NOTFOUND);
	CHECK(qlen(&e, "alice", "phone") == 1);

	/* The last device goes: a fresh unclaimed default waits. */
	CHECK(account_remove_device(&e.txn, &e.gen, "alice", "phone", 3000) ==
	    STORE_OK);
	CHECK(qid_len(&e, phone.qid) == 0);
	CHECK(store_device_get(&e.txn, "alice", "default", &r) == STORE_OK);
	CHECK(r.claimed == 0 && r.qid != phone.qid && r.qid != laptop.qid);
	CHECK(r.count == 0 && r.created == 3000);
	CHECK(qlen(&e, "alice", "default") == 0);

	CHECK(account_remove_device(&e.txn, &e.gen, "alice", "phone", 3000) ==
	    STORE_NOTFOUND);
	CHECK(account_remove_device(&e.txn, &e.gen, "nobody", "phone", 3000) ==
	    STORE_NOTFOUND);
	CHECK(env_close(&e) == 0);
	return (0);
}

/* Tokens: ok, expired, revoked, bad format, device recreated. */
static int
test_tokens(void)
{
	struct env		e;
	struct dev_rec		r;
	struct token_rec	t;
	char			tok[TOKEN_HEXLEN + 1], tok2[TOKEN_HEXLEN + 1];
	char			bad[TOKEN_HEXLEN + 2];
	int			i;

	CHECK(env_begin(&e, "tokens", MAP_SIZE) == 0);
	CHECK(env_register(&e, "alice", 1000) == 0);
	CHECK(claim(&e, "alice", "phone", 1000, &r) == STORE_OK);
	CHECK(account_token_issue(&e.txn, "alice", "phone", r.qid, 5000,
	    tok) == STORE_OK);
	CHECK(strlen(tok) == TOKEN_HEXLEN);
	for (i = 0; i < TOKEN_HEXLEN; i++)
		CHECK(isxdigit((unsigned char)tok[i]) &&
		    !isupper((unsigned char)tok[i]));
	CHECK(account_token_issue(&e.txn, "alice", "phone", r.qid, 5000,
	    tok2) == STORE_OK && strcmp(tok, tok2) != 0);

	memset(&t, 0, sizeof t);
	CHECK(account_token_check(&e.txn, tok, 4999, &t) == STORE_OK);
	CHECK(strcmp(t.user, "alice") == 0 && strcmp(t.device, "phone") == 0);
	CHECK(t.qid == r.qid && t.expires == 5000);
	CHECK(account_token_check(&e.txn, tok, 5000, &t) == STORE_NOTFOUND);

	/* Bad formats. */
	CHECK(account_token_check(&e.txn, "", 1000, &t) == STORE_NOTFOUND);
	memcpy(bad, tok, TOKEN_HEXLEN - 1);
	bad[TOKEN_HEXLEN - 1] = '\0';
	CHECK(account_token_check(&e.txn, bad, 1000, &t) == STORE_NOTFOUND);
	memcpy(bad, tok, TOKEN_HEXLEN);
	bad[TOKEN_HEXLEN] = '0';
	bad[TOKEN_HEXLEN + 1] = '\0';
	CHECK(account_token_check(&e.txn, bad, 1000, &t) == STORE_NOTFOUND);
	bad[TOKEN_HEXLEN] = '\0';
	bad[10] = 'g';
	CHECK(account_token_check(&e.txn, bad, 1000, &t) == STORE_NOTFOUND);
	bad[10] = tok[10] == '0' ? '1' : '0';
	CHECK(account_token_check(&e.txn, bad, 1000, &t) == STORE_NOTFOUND);
	CHECK(account_token_revoke(&e.txn, "xyz") == STORE_NOTFOUND);

	/* Revoked. */
	CHECK(account_token_revoke(&e.txn, tok) == STORE_OK);
	CHECK(account_token_check(&e.txn, tok, 1000, &t) == STORE_NOTFOUND);
	CHECK(account_token_revoke(&e.txn, tok) == STORE_NOTFOUND);

	/* The device logged out and came back: a new queue, old tokens die. */
	CHECK(account_token_check(&e.txn, tok2, 1000, &t) == STORE_OK);
	CHECK(account_remove_device(&e.txn, &e.gen, "alice", "phone", 2000) ==
	    STORE_OK);
	CHECK(account_token_check(&e.txn, tok2, 2000, &t) == STORE_NOTFOUND);
	CHECK(claim(&e, "alice", "phone", 2000, &r) == STORE_OK);
	CHECK(r.qid != t.qid);
	CHECK(account_token_check(&e.txn, tok2, 2000, &t) == STORE_NOTFOUND);
	CHECK(env_close(&e) == 0);
	return (0);
}

/* queue_send: targets, frame, counts, msg and dedup records. */
static int
test_send(void)
{
	static const char *const devs[][2] = {
		{ "bob", "phone" }, { "bob", "tablet" }, { "alice", "laptop" },
	};
	struct env	 e;
	struct send_res	 res, res2;
	struct dev_rec	 r;
	struct msg_rec	 m;
	struct dedup_rec d;
	struct qdump	 q;
	json_t		*j, *body;
	char		 ms[MID_STRLEN + 1];
	size_t		 i;

	CHECK(env_begin(&e, "send", MAP_SIZE) == 0);
	CHECK(two_by_two(&e, 1000) == 0);
	CHECK(qsend(&e, "alice", "phone", "bob", "c-1",
	    "{\"text\":\"hi\",\"n\":[1,2]}", 1500, &res) == STORE_OK);
	CHECK(res.err == TE_OK && res.dup == 0 && res.ts == 1500);
	CHECK(res.mid.ms == 1500 && res.mid.seq == 0);
	CHECK(res.targets.n == 3);
	mid_format(&res.mid, ms);
	body = json_loads("{\"text\":\"hi\",\"n\":[1,2]}", 0, NULL);
	CHECK(body != NULL);
	for (i = 0; i < 3; i++) {
		CHECK(targets_has(&res.targets, devs[i][0], devs[i][1]));
		CHECK(store_device_get(&e.txn, devs[i][0], devs[i][1], &r) ==
		    STORE_OK && r.qid == res.targets.v[i].qid);
		CHECK(qload(&e, devs[i][0], devs[i][1], &q) == 0);
		j = q.j[0];
		CHECK(q.n == 1 && q.kind[0] == ITEM_MSG && q.ts[0] == 1500);
		CHECK(mid_cmp(&q.mid[0], &res.mid) == 0);
		CHECK(j != NULL && json_object_size(j) == 8);
		CHECK(strcmp(jstr(j, "op"), "msg") == 0 &&
		    strcmp(jstr(j, "mid"), ms) == 0 &&
		    strcmp(jstr(j, "from"), "alice") == 0 &&
		    strcmp(jstr(j, "from_device"), "phone") == 0 &&
		    strcmp(jstr(j, "to"), "bob") == 0 &&
		    strcmp(jstr(j, "id"), "c-1") == 0);
		CHECK(json_integer_value(json_object_get(j, "ts")) == 1500);
		CHECK(json_equal(json_object_get(j, "body"), body));
		qfree(&q);
	}
	json_decref(body);
	CHECK(qlen(&e, "alice", "phone") == 0);

	CHECK(store_msg_get(&e.txn, &res.mid, &m) == STORE_OK);
	CHECK(m.ts == 1500 && m.flags == 0 && strcmp(m.from, "alice") == 0 &&
	    strcmp(m.from_device, "phone") == 0 && strcmp(m.to, "bob") == 0 &&
	    strcmp(m.id, "c-1") == 0);
	CHECK(store_dedup_get(&e.txn, "alice", "c-1", &d) == STORE_OK);
	CHECK(mid_cmp(&d.mid, &res.mid) == 0 && d.ts == 1500 &&
	    strcmp(d.to, "bob") == 0);

	/* Same ms: the sequence moves on. */
	CHECK(qsend(&e, "alice", "phone", "bob", "c-2", "null", 1500, &res2) ==
	    STORE_OK && res2.err == TE_OK);
	CHECK(res2.mid.ms == 1500 && res2.mid.seq == 1);
	CHECK(res2.targets.n == 3 && qlen(&e, "bob", "phone") == 2);
	targets_free(&res.targets);
	targets_free(&res2.targets);
	CHECK(env_close(&e) == 0);
	return (0);
}

/* queue_send: self-send reaches each own device once. */
static int
test_send_self(void)
{
	struct env	e;
	struct send_res	res;
	struct dev_rec	p, l;
	uint64_t	ub;

	CHECK(env_begin(&e, "self", MAP_SIZE) == 0);
	CHECK(two_by_two(&e, 1000) == 0);
	CHECK(qsend(&e, "alice", "phone", "alice", "note", "\"x\"", 1500,
	    &res) == STORE_OK && res.err == TE_OK);
	CHECK(res.targets.n == 2);
	CHECK(targets_has(&res.targets, "alice", "phone") &&
	    targets_has(&res.targets, "alice", "laptop"));
	CHECK(qlen(&e, "alice", "phone") == 1 && qlen(&e, "alice", "laptop") ==
	    1 && qlen(&e, "bob", "phone") == 0);
	CHECK(totals_agree(&e));
	targets_free(&res.targets);
	/* A second send, under a quota: alice's bytes are every copy. */
	conf.max_user_bytes = 1024;
	CHECK(qsend(&e, "alice", "phone", "alice", "note-2", "\"y\"", 1600,
	    &res) == STORE_OK && res.err == TE_OK);
	targets_free(&res.targets);
	CHECK(store_device_get(&e.txn, "alice", "phone", &p) == STORE_OK &&
	    store_device_get(&e.txn, "alice", "laptop", &l) == STORE_OK);
	CHECK(store_user_bytes_get(&e.txn, "alice", &ub) == STORE_OK &&
	    p.count == 2 && ub == p.bytes + l.bytes);
	CHECK(env_close(&e) == 0);
	return (0);
}

/* queue_send: dedup within the window, new id after it. */
static int
test_dedup(void)
{
	struct env		e;
	struct send_res		res, dup;
	struct dedup_rec	d;

	CHECK(env_begin(&e, "dedup", MAP_SIZE) == 0);
	CHECK(two_by_two(&e, 1000) == 0);
	CHECK(qsend(&e, "alice", "phone", "bob", "c-1", "1", 1000, &res) ==
	    STORE_OK && res.err == TE_OK && res.dup == 0);
	targets_free(&res.targets);

	CHECK(qsend(&e, "alice", "laptop", "bob", "c-1", "2", 2000, &dup) ==
	    STORE_OK);
	CHECK(dup.err == TE_OK && dup.dup == 1 && dup.targets.n == 0);
	CHECK(mid_cmp(&dup.mid, &res.mid) == 0 && dup.ts == 1000);
	CHECK(qlen(&e, "bob", "phone") == 1 && qlen(&e, "alice", "laptop") ==
	    1 && msg_count(&e) == 1);

	/* The clock stepped back: still the same send. */
	CHECK(qsend(&e, "alice", "phone", "bob", "c-1", "1", 900, &dup) ==
	    STORE_OK && dup.dup == 1 && mid_cmp(&dup.mid, &res.mid) == 0);

	/* Another sender's id is another key. */
	CHECK(qsend(&e, "bob", "phone", "alice", "c-1", "1", 1500, &dup) ==
	    STORE_OK && dup.dup == 0 && dup.targets.n == 3);
	targets_free(&dup.targets);

	/* Past the window the id is new again. */
	CHECK(qsend(&e, "alice", "phone", "bob", "c-1", "1", 2001, &dup) ==
	    STORE_OK && dup.err == TE_OK && dup.dup == 0);
	CHECK(mid_cmp(&dup.mid, &res.mid) > 0 && dup.ts == 2001);
	CHECK(qlen(&e, "bob", "phone") == 2 && qlen(&e, "bob", "tablet") == 3);
	CHECK(store_dedup_get(&e.txn, "alice", "c-1", &d) == STORE_OK);
	CHECK(mid_cmp(&d.mid, &dup.mid) == 0 && d.ts == 2001);
	targets_free(&dup.targets);
	CHECK(env_close(&e) == 0);
	return (0);
}

/* queue_send: too_large stores nothing. */
static int
test_too_large(void)
{
	struct env		e;
	struct send_res		res;
	struct dedup_rec	d;
	char			body[128];

	CHECK(env_begin(&e, "large", MAP_SIZE) == 0);
	CHECK(two_by_two(&e, 1000) == 0);
	/* A 64-byte encoding is allowed, 65 is not. */
	memset(body, 'x', sizeof body);
	body[0] = '"';
	body[63] = '"';
	body[64] = '\0';
	CHECK(qsend(&e, "alice", "phone", "bob", "c-1", body, 1000, &res) ==
	    STORE_OK && res.err == TE_OK);
	targets_free(&res.targets);
	body[63] = 'x';
	body[64] = '"';
	body[65] = '\0';
	CHECK(qsend(&e, "alice", "phone", "bob", "c-2", body, 1000, &res) ==
	    STORE_OK && res.err == TE_TOO_LARGE && res.targets.n == 0);
	CHECK(qlen(&e, "bob", "phone") == 1 && qlen(&e, "alice", "laptop") ==
	    1 && msg_count(&e) == 1);
	CHECK(store_dedup_get(&e.txn, "alice", "c-2", &d) == STORE_NOTFOUND);
	CHECK(env_close(&e) == 0);
	return (0);
}

/*
 * queue_send_body: a body that came encoded (proto-fast.c) is taken as it
 * is, and max_message_bytes counts it.
 */
static int
test_body_text(void)
{
	struct send_req	 req;
	struct send_res	 res;
	struct conf	 c = conf;
	char		*b;
	size_t		 len;

	memset(&req, 0, sizeof req);
	memset(&res, 0, sizeof res);
	req.body_text = "{\"a\":[1,\"x\\n\"]}";
	req.body_len = strlen(req.body_text);
	c.max_message_bytes = req.body_len;
	CHECK((b = queue_send_body(&c, &req, &res, &len)) != NULL &&
	    len == req.body_len && strcmp(b, req.body_text) == 0 &&
	    res.err == TE_OK);
	free(b);
	c.max_message_bytes = req.body_len - 1;
	CHECK(queue_send_body(&c, &req, &res, &len) == NULL &&
	    res.err == TE_TOO_LARGE);
	return (0);
}

/* queue_send: queue_full stores nothing; own full device skipped. */
static int
test_queue_full(void)
{
	struct env		e;
	struct send_res		res;
	struct dev_rec		r;
	struct dedup_rec	d;
	struct mid		last;

	CHECK(env_begin(&e, "full", MAP_SIZE) == 0);
	CHECK(two_by_two(&e, 1000) == 0);
	conf.max_queue = 3;
	CHECK(store_device_get(&e.txn, "bob", "tablet", &r) == STORE_OK);
	r.count = 3;
	CHECK(store_device_put(&e.txn, "bob", "tablet", &r) == STORE_OK);
	last = e.gen.last;
	CHECK(qsend(&e, "alice", "phone", "bob", "c-1", "1", 1000, &res) ==
	    STORE_OK);
	CHECK(res.err == TE_QUEUE_FULL && res.targets.n == 0);
	CHECK(qlen(&e, "bob", "phone") == 0 && qid_len(&e, r.qid) == 0);
	CHECK(qlen(&e, "alice", "laptop") == 0 && msg_count(&e) == 0);
	CHECK(store_dedup_get(&e.txn, "alice", "c-1", &d) == STORE_NOTFOUND);
	CHECK(mid_cmp(&e.gen.last, &last) == 0);

	/* The sender's own full device is skipped. */
	r.count = 0;
	CHECK(store_device_put(&e.txn, "bob", "tablet", &r) == STORE_OK);
	CHECK(store_device_get(&e.txn, "alice", "laptop", &r) == STORE_OK);
	r.count = 3;
	CHECK(store_device_put(&e.txn, "alice", "laptop", &r) == STORE_OK);
	CHECK(qsend(&e, "alice", "phone", "bob", "c-1", "1", 1000, &res) ==
	    STORE_OK && res.err == TE_OK);
	CHECK(res.targets.n == 2 && !targets_has(&res.targets, "alice",
	    "laptop"));
	CHECK(qid_len(&e, r.qid) == 0);
	CHECK(store_device_get(&e.txn, "alice", "laptop", &r) == STORE_OK &&
	    r.count == 3);
	targets_free(&res.targets);
	CHECK(env_close(&e) == 0);
	return (0);
}

/*
 * queue_send: no_such_user; an unknown group is no_such_group since
 * groups exist (tickd-protocol(7) GROUPS, rule 2).
 */
static int
test_no_such_user(void)
{
	struct env	e;
	struct send_res	res;

	CHECK(env_begin(&e, "nouser", MAP_SIZE) == 0);
	CHECK(two_by_two(&e, 1000) == 0);
	CHECK(qsend(&e, "alice", "phone", "nobody", "c-1", "1", 1000, &res) ==
	    STORE_OK && res.err == TE_NO_SUCH_USER);
	CHECK(qsend(&e, "alice", "phone", "#group", "c-2", "1", 1000, &res) ==
	    STORE_OK && res.err == TE_NO_SUCH_GROUP);
	CHECK(qsend(&e, "alice", "phone", "#bob", "c-3", "1", 1000, &res) ==
	    STORE_OK && res.err == TE_NO_SUCH_GROUP);
	CHECK(res.targets.n == 0 && msg_count(&e) == 0);
	CHECK(qlen(&e, "alice", "laptop") == 0);
	CHECK(env_close(&e) == 0);
	return (0);
}

/* queue_send: blocked sender, no receipts ever. */
static int
test_blocked(void)
{
	struct env	e;
	struct send_res	res;
	struct ack_res	ack;
	struct targets	rt;
	struct msg_rec	m;

	CHECK(env_begin(&e, "blocked", MAP_SIZE) == 0);
	CHECK(two_by_two(&e, 1000) == 0);
	CHECK(store_block_put(&e.txn, "bob", "alice") == STORE_OK);
	CHECK(qsend(&e, "alice", "phone", "bob", "c-1", "1", 1000, &res) ==
	    STORE_OK && res.err == TE_OK && res.dup == 0);
	CHECK(res.targets.n == 1 && targets_has(&res.targets, "alice",
	    "laptop"));
	CHECK(qlen(&e, "bob", "phone") == 0 && qlen(&e, "bob", "tablet") == 0);
	CHECK(store_msg_get(&e.txn, &res.mid, &m) == STORE_OK);
	CHECK(m.flags == MSG_BLOCKED);
	CHECK(queue_ack(&e.txn, &e.gen, &conf, "alice", "laptop", &res.mid,
	    1100, &ack) == STORE_OK && ack.deleted == 1 && ack.targets.n == 0);
	CHECK(queue_read(&e.txn, &e.gen, &conf, "bob", &res.mid, 1200, &rt) ==
	    STORE_OK && rt.n == 0);
	CHECK(qlen(&e, "alice", "phone") == 0);
	targets_free(&res.targets);

	/* A block set after delivery stops the receipt too. */
	CHECK(store_block_del(&e.txn, "bob", "alice") == STORE_OK);
	CHECK(qsend(&e, "alice", "phone", "bob", "c-2", "1", 2000, &res) ==
	    STORE_OK && res.targets.n == 3);
	CHECK(store_block_put(&e.txn, "bob", "alice") == STORE_OK);
	CHECK(queue_ack(&e.txn, &e.gen, &conf, "bob", "phone", &res.mid,
	    2100, &ack) == STORE_OK && ack.deleted == 1 && ack.targets.n == 0);
	CHECK(store_msg_get(&e.txn, &res.mid, &m) == STORE_OK && m.flags == 0);
	CHECK(queue_read(&e.txn, &e.gen, &conf, "bob", &res.mid, 2200, &rt) ==
	    STORE_OK && rt.n == 0);
	CHECK(qlen(&e, "alice", "phone") == 0);
	targets_free(&res.targets);
	CHECK(env_close(&e) == 0);
	return (0);
}

/* queue_ack: bookkeeping and exactly one delivered receipt. */
static int
test_ack(void)
{
	struct env	e;
	struct send_res	res;
	struct ack_res	ack;
	struct qdump	q, q2;
	struct msg_rec	m;
	struct dev_rec	d;
	struct mid	unknown = { 1, 1 };
	uint64_t	ub;

	CHECK(env_begin(&e, "ack", MAP_SIZE) == 0);
	CHECK(two_by_two(&e, 1000) == 0);
	CHECK(qsend(&e, "alice", "phone", "bob", "c-1", "1", 1000, &res) ==
	    STORE_OK && res.err == TE_OK);
	targets_free(&res.targets);
	/* Three copies (bob's two devices, alice's laptop) count for alice. */
	CHECK(store_device_get(&e.txn, "bob", "phone", &d) == STORE_OK);
	CHECK(store_user_bytes_get(&e.txn, "alice", &ub) == STORE_OK &&
	    d.bytes > 0 && ub == 3 * d.bytes);

	CHECK(queue_ack(&e.txn, &e.gen, &conf, "bob", "phone", &res.mid,
	    1100, &ack) == STORE_OK);
	CHECK(ack.deleted == 1 && qlen(&e, "bob", "phone") == 0);
	CHECK(ack.targets.n == 2 && targets_has(&ack.targets, "alice",
	    "phone") && targets_has(&ack.targets, "alice", "laptop"));
	targets_free(&ack.targets);
	CHECK(store_msg_get(&e.txn, &res.mid, &m) == STORE_OK &&
	    m.flags == MSG_DELIVERED);
	CHECK(qload(&e, "alice", "phone", &q) == 0);
	CHECK(q.n == 1 && q.kind[0] == ITEM_RECEIPT && q.ts[0] == 1100);
	CHECK(mid_cmp(&q.mid[0], &res.mid) > 0);
	CHECK(is_receipt(q.j[0], &q.mid[0], &res.mid, "c-1", "bob",
	    "delivered", 1100));
	CHECK(qload(&e, "alice", "laptop", &q2) == 0);
	CHECK(q2.n == 2 && q2.kind[0] == ITEM_MSG &&
	    q2.kind[1] == ITEM_RECEIPT);
	CHECK(mid_cmp(&q2.mid[1], &q.mid[0]) == 0);
	qfree(&q2);

	/* The recipient's other device acks: no second receipt. */
	CHECK(queue_ack(&e.txn, &e.gen, &conf, "bob", "tablet", &res.mid,
	    1200, &ack) == STORE_OK && ack.deleted == 1 && ack.targets.n == 0);
	CHECK(totals_agree(&e));
	CHECK(queue_ack(&e.txn, &e.gen, &conf, "bob", "tablet", &res.mid,
	    1300, &ack) == STORE_OK && ack.deleted == 0 && ack.targets.n == 0);
	CHECK(queue_ack(&e.txn, &e.gen, &conf, "bob", "tablet", &unknown,
	    1300, &ack) == STORE_OK && ack.deleted == 0);
	CHECK(queue_ack(&e.txn, &e.gen, &conf, "bob", "watch", &res.mid,
	    1300, &ack) == STORE_OK && ack.deleted == 0);
	CHECK(queue_ack(&e.txn, &e.gen, &conf, "nobody", "x", &res.mid,
	    1300, &ack) == STORE_OK && ack.deleted == 0);

	/* The sender's own copy: no receipt. */
	CHECK(queue_ack(&e.txn, &e.gen, &conf, "alice", "laptop", &res.mid,
	    1400, &ack) == STORE_OK && ack.deleted == 1 && ack.targets.n == 0);
	CHECK(qlen(&e, "alice", "laptop") == 1 && qlen(&e, "bob", "phone") ==
	    0);
	CHECK(store_user_bytes_get(&e.txn, "alice", &ub) == STORE_OK &&
	    ub == 0);

	/* Acking a receipt just deletes it. */
	CHECK(queue_ack(&e.txn, &e.gen, &conf, "alice", "phone", &q.mid[0],
	    1500, &ack) == STORE_OK && ack.deleted == 1 && ack.targets.n == 0);
	CHECK(qlen(&e, "alice", "phone") == 0);
	CHECK(qlen(&e, "alice", "laptop") == 1);
	CHECK(totals_agree(&e));
	qfree(&q);
	CHECK(env_close(&e) == 0);
	return (0);
}

/* What ubytes_fn sums: the bytes of user's 1:1 message items. */
struct ubsum {
	struct txn	*txn;
	const char	*user;
	uint64_t	 bytes;
	int		 err;
};

/* Queue walk callback: adds an item of a 1:1 message of the user. */
static int
ubytes_fn(void *arg, uint64_t qid, const struct mid *mid,
    const struct item *it)
{
	struct ubsum	*u = arg;
	struct msg_rec	 m;
	int		 rc;

	(void)qid;
	if (it->kind != ITEM_MSG)
		return (STORE_WALK_NEXT);
	if ((rc = store_msg_get(u->txn, mid, &m)) != STORE_OK) {
		u->err = rc != STORE_NOTFOUND;
		return (STORE_WALK_NEXT);
	}
	if (m.to[0] != '#' && strcmp(m.from, u->user) == 0)
		u->bytes += it->len;
	return (STORE_WALK_NEXT);
}

/*
 * Whether the stored bytes of user are those of its 1:1 message items:
 * group messages count neither when sent nor when acked.
 */
static int
ubytes_agree(struct env *e, const char *user)
{
	struct ubsum	u;
	uint64_t	ub;

	memset(&u, 0, sizeof u);
	u.txn = &e->txn;
	u.user = user;
	if (store_queue_walk_all(&e->txn, ubytes_fn, &u) != STORE_OK ||
	    u.err || store_user_bytes_get(&e->txn, user, &ub) != STORE_OK)
		return (0);
	if (ub != u.bytes)
		printf("# %s: bytes %llu, items %llu\n", user,
		    (unsigned long long)ub, (unsigned long long)u.bytes);
	return (ub == u.bytes);
}

/* The "for" of each receipt in a queue, in order, are those of want. */
static int
receipts_for(const struct qdump *q, const struct mid *want, int n)
{
	char	ms[MID_STRLEN + 1];
	int	i;

	if (q->n != n)
		return (0);
	for (i = 0; i < n; i++) {
		mid_format(&want[i], ms);
		if (q->kind[i] != ITEM_RECEIPT ||
		    strcmp(jstr(q->j[i], "for"), ms) != 0)
			return (0);
	}
	return (1);
}

/* The devices of test_ack_frame. */
static const char *const frame_devs[][2] = {
	{ "alice", "phone" }, { "alice", "laptop" }, { "bob", "phone" },
	{ "bob", "tablet" }, { "carol", "phone" }
};

/* The mids of test_ack_frame's messages. */
struct frame_mids {
	struct mid	a1, a2, a3, c1, b1, b2, g1, unknown;
};

/* Acks every item of user's device, one at a time. */
static int
ack_all(struct env *e, const char *user, const char *device)
{
	struct qdump	q;
	struct ack_res	ack;
	int		i, n;

	if (qload(e, user, device, &q) != 0)
		return (-1);
	n = q.n;
	for (i = 0; i < n && i < QMAX; i++) {
		if (queue_ack(&e->txn, &e->gen, &conf, user, device,
		    &q.mid[i], 1000, &ack) != STORE_OK)
			break;
		targets_free(&ack.targets);
	}
	qfree(&q);
	return (i == n ? 0 : -1);
}

/* One send at 1000 of body 1; its mid to m. */
static int
frame_send(struct env *e, const char *from, const char *device,
    const char *to, const char *id, struct mid *m)
{
	struct send_res	res;

	if (qsend(e, from, device, to, id, "1", 1000, &res) != STORE_OK ||
	    res.err != TE_OK)
		return (-1);
	targets_free(&res.targets);
	*m = res.mid;
	return (0);
}

/*
 * test_ack_frame's store: alice (phone, laptop), bob (phone, tablet),
 * carol (phone); #g of alice and bob; on bob's phone, alice's a1, carol's
 * c1, bob's own b1 (sent from his tablet), a2, alice's g1 to #g, a3 and
 * b2; bob blocked carol since.
 */
static int
frame_setup(struct env *e, const char *name, struct frame_mids *m)
{
	struct grp_req	 gr;
	struct grp_res	 grs;
	struct dev_rec	 r;
	const char	*members[] = { "bob" };

	if (env_begin(e, name, MAP_SIZE) != 0)
		return (-1);
	conf.max_queue = QMAX;
	conf.max_group_members = 4;
	conf.max_groups_per_user = 2;
	conf.max_group_description = 16;
	conf.group_receipts_max = 4;
	if (two_by_two(e, 1000) != 0 || env_register(e, "carol", 1000) != 0 ||
	    claim(e, "carol", "phone", 1000, &r) != STORE_OK)
		return (-1);
	memset(&gr, 0, sizeof gr);
	gr.actor = "alice";
	gr.group = "#g";
	gr.now = 1000;
	gr.title = "g";
	gr.admin_only_send = gr.admin_only_info = -1;
	gr.users = members;
	gr.nusers = 1;
	memset(&grs, 0, sizeof grs);
	if (group_create(&e->txn, &e->gen, &conf, &gr, &grs) != STORE_OK ||
	    grs.err != TE_OK) {
		grp_res_free(&grs);
		return (-1);
	}
	grp_res_free(&grs);
	/* The group's events go: only messages are left to ack. */
	if (ack_all(e, "bob", "phone") != 0 ||
	    ack_all(e, "alice", "phone") != 0)
		return (-1);
	memset(m, 0, sizeof *m);
	m->unknown.ms = 1;
	m->unknown.seq = 1;
	if (frame_send(e, "alice", "phone", "bob", "a-1", &m->a1) != 0 ||
	    frame_send(e, "carol", "phone", "bob", "c-1", &m->c1) != 0 ||
	    frame_send(e, "bob", "tablet", "bob", "b-1", &m->b1) != 0 ||
	    frame_send(e, "alice", "phone", "bob", "a-2", &m->a2) != 0 ||
	    frame_send(e, "alice", "phone", "#g", "g-1", &m->g1) != 0 ||
	    frame_send(e, "alice", "phone", "bob", "a-3", &m->a3) != 0 ||
	    frame_send(e, "bob", "tablet", "bob", "b-2", &m->b2) != 0)
		return (-1);
	return (store_block_put(&e->txn, "bob", "carol") == STORE_OK ? 0 : -1);
}

/*
 * Queue walk callback of frame_same: the item at the same place of the
 * other store's queue (arg) is the same.
 */
struct frame_cmp {
	struct txn	*txn;
	uint64_t	 qid;
	struct mid	 pos;
	int		 n, differ;
};

static int
frame_cmp_fn(void *arg, const struct mid *mid, const struct item *it)
{
	struct frame_cmp	*c = arg;
	struct item		 o;

	if (store_queue_get(c->txn, c->qid, mid, &o) != STORE_OK ||
	    o.kind != it->kind || o.ts != it->ts || o.len != it->len ||
	    memcmp(o.data, it->data, it->len) != 0)
		c->differ = 1;
	c->n++;
	return (STORE_WALK_NEXT);
}

/*
 * Whether two stores hold the same device records, queue items and
 * users' bytes, for test_ack_frame's devices.
 */
static int
frame_same(struct env *a, struct env *b)
{
	const char		*users[] = { "alice", "bob", "carol" };
	struct frame_cmp	 c;
	struct dev_rec		 ra, rb;
	uint64_t		 ua, ub;
	size_t			 i;

	for (i = 0; i < nitems(frame_devs); i++) {
		if (store_device_get(&a->txn, frame_devs[i][0],
		    frame_devs[i][1], &ra) != STORE_OK ||
		    store_device_get(&b->txn, frame_devs[i][0],
		    frame_devs[i][1], &rb) != STORE_OK || ra.qid != rb.qid ||
		    ra.last_active != rb.last_active ||
		    ra.count != rb.count || ra.bytes != rb.bytes) {
			printf("# %s/%s: records differ\n", frame_devs[i][0],
			    frame_devs[i][1]);
			return (0);
		}
		memset(&c, 0, sizeof c);
		c.txn = &b->txn;
		c.qid = rb.qid;
		if (store_queue_walk(&a->txn, ra.qid, NULL, frame_cmp_fn, &c) !=
		    STORE_OK || c.differ || (uint64_t)c.n != rb.count) {
			printf("# %s/%s: queues differ\n", frame_devs[i][0],
			    frame_devs[i][1]);
			return (0);
		}
	}
	for (i = 0; i < nitems(users); i++) {
		if (store_user_bytes_get(&a->txn, users[i], &ua) != STORE_OK ||
		    store_user_bytes_get(&b->txn, users[i], &ub) != STORE_OK ||
		    ua != ub) {
			printf("# %s: bytes differ\n", users[i]);
			return (0);
		}
	}
	return (1);
}

/*
 * One ack frame of many mids (queue_ack_begin/_mid/_end), as a device's
 * ack naming them: messages from two senders and from the acking user
 * (whose receipts land on the acking device), a sender blocked since, a
 * group message whose receipt goes to a sender the frame keeps, a mid
 * named twice and one unknown.  What the frame keeps once must agree with
 * the store: counts and bytes, totals, senders' bytes, one receipt per
 * message; and it must leave what acking the mids one by one leaves.
 */
static int
test_ack_frame(void)
{
	struct env		 e, one;
	struct frame_mids	 m, m1;
	struct ack_res		 ack;
	struct ack_frame	 f;
	struct qdump		 q;
	struct dev_rec		 r;
	struct mid		 want[4];
	struct {
		const struct mid	*mid;
		const struct mid	*mid1;
		int			 deleted;
		size_t			 receipts;
	} steps[] = {
		{ &m.a1, &m1.a1, 1, 2 },	/* alice's two devices */
		{ &m.c1, &m1.c1, 1, 0 },	/* bob blocked carol since */
		{ &m.b1, &m1.b1, 1, 2 },	/* bob's own: phone, tablet */
		{ &m.a2, &m1.a2, 1, 2 },
		{ &m.a1, &m1.a1, 0, 0 },	/* named twice */
		{ &m.unknown, &m1.unknown, 0, 0 },
		{ &m.g1, &m1.g1, 1, 2 },	/* a group receipt to alice */
		{ &m.a3, &m1.a3, 1, 2 },
		{ &m.b2, &m1.b2, 1, 2 },
	};
	size_t			 i;
	int			 rc;

	CHECK(frame_setup(&one, "ackframe-one", &m1) == 0);
	CHECK(frame_setup(&e, "ackframe", &m) == 0);
	CHECK(qlen(&e, "bob", "phone") == 7 && qlen(&e, "alice", "phone") ==
	    0 && qlen(&e, "carol", "phone") == 0);
	CHECK(ubytes_agree(&e, "alice") && ubytes_agree(&e, "bob") &&
	    ubytes_agree(&e, "carol"));
	CHECK(frame_same(&e, &one));

	queue_ack_begin(&f, "bob", "phone");
	for (i = 0; i < nitems(steps); i++) {
		rc = queue_ack_mid(&e.txn, &e.gen, &conf, &f, steps[i].mid,
		    1100, &ack);
		if (rc != STORE_OK || ack.deleted != steps[i].deleted ||
		    ack.targets.n != steps[i].receipts)
			printf("# step %zu: rc %d deleted %d receipts %zu\n", i,
			    rc, ack.deleted, ack.targets.n);
		CHECK(rc == STORE_OK && ack.deleted == steps[i].deleted &&
		    ack.targets.n == steps[i].receipts);
		targets_free(&ack.targets);
		/* The same mid alone, in the other store. */
		CHECK(queue_ack(&one.txn, &one.gen, &conf, "bob", "phone",
		    steps[i].mid1, 1100, &ack) == STORE_OK);
		targets_free(&ack.targets);
	}
	CHECK(queue_ack_end(&e.txn, &f) == STORE_OK);

	for (i = 0; i < nitems(frame_devs); i++) {
		CHECK(qload(&e, frame_devs[i][0], frame_devs[i][1], &q) == 0);
		qfree(&q);
	}
	CHECK(totals_agree(&e) && totals_agree(&one));
	CHECK(ubytes_agree(&e, "alice") && ubytes_agree(&e, "bob") &&
	    ubytes_agree(&e, "carol"));
	CHECK(frame_same(&e, &one));
	/* One delivered receipt per message, on each device of its sender. */
	want[0] = m.a1;
	want[1] = m.a2;
	want[2] = m.g1;
	want[3] = m.a3;
	CHECK(qload(&e, "alice", "phone", &q) == 0);
	CHECK(receipts_for(&q, want, 4));
	qfree(&q);
	CHECK(qlen(&e, "carol", "phone") == 0);
	want[0] = m.b1;
	want[1] = m.b2;
	CHECK(qload(&e, "bob", "phone", &q) == 0);
	CHECK(receipts_for(&q, want, 2));
	qfree(&q);
	CHECK(store_device_get(&e.txn, "bob", "phone", &r) == STORE_OK &&
	    r.count == 2);
	CHECK(env_close(&e) == 0 && env_close(&one) == 0);
	return (0);
}

/* queue_read: read receipts, read_receipts off, blocked. */
static int
test_read(void)
{
	struct env	e;
	struct send_res	res;
	struct ack_res	ack;
	struct targets	rt;
	struct qdump	q;
	struct msg_rec	m;
	struct user_rec	u;
	struct mid	unknown = { 9, 9 };

	CHECK(env_begin(&e, "read", MAP_SIZE) == 0);
	CHECK(two_by_two(&e, 1000) == 0);

	/* Read before any ack: delivered goes first, then read. */
	CHECK(qsend(&e, "alice", "phone", "bob", "m-1", "1", 1000, &res) ==
	    STORE_OK && res.err == TE_OK);
	targets_free(&res.targets);
	CHECK(queue_read(&e.txn, &e.gen, &conf, "bob", &res.mid, 1100, &rt) ==
	    STORE_OK);
	CHECK(rt.n == 2 && targets_has(&rt, "alice", "phone") &&
	    targets_has(&rt, "alice", "laptop"));
	targets_free(&rt);
	CHECK(qload(&e, "alice", "phone", &q) == 0 && q.n == 2);
	CHECK(is_receipt(q.j[0], &q.mid[0], &res.mid, "m-1", "bob",
	    "delivered", 1100));
	CHECK(is_receipt(q.j[1], &q.mid[1], &res.mid, "m-1", "bob", "read",
	    1100));
	CHECK(mid_cmp(&q.mid[0], &q.mid[1]) < 0);
	qfree(&q);
	CHECK(store_msg_get(&e.txn, &res.mid, &m) == STORE_OK &&
	    m.flags == (MSG_DELIVERED | MSG_READ));
	CHECK(queue_read(&e.txn, &e.gen, &conf, "bob", &res.mid, 1200, &rt) ==
	    STORE_OK && rt.n == 0);
	CHECK(queue_read(&e.txn, &e.gen, &conf, "alice", &res.mid, 1200,
	    &rt) == STORE_OK && rt.n == 0);
	CHECK(queue_ack(&e.txn, &e.gen, &conf, "bob", "phone", &res.mid,
	    1300, &ack) == STORE_OK && ack.deleted == 1 && ack.targets.n == 0);
	CHECK(qlen(&e, "alice", "phone") == 2);
	CHECK(queue_read(&e.txn, &e.gen, &conf, "bob", &unknown, 1300, &rt) ==
	    STORE_OK && rt.n == 0);

	/* Read receipts off: acked message, then read: nothing. */
	CHECK(store_user_get(&e.txn, "bob", &u) == STORE_OK);
	u.read_receipts = 0;
	CHECK(store_user_put(&e.txn, "bob", &u) == STORE_OK);
	CHECK(qsend(&e, "alice", "phone", "bob", "m-2", "1", 2000, &res) ==
	    STORE_OK && res.err == TE_OK);
	targets_free(&res.targets);
	CHECK(queue_ack(&e.txn, &e.gen, &conf, "bob", "phone", &res.mid,
	    2100, &ack) == STORE_OK && ack.targets.n == 2);
	targets_free(&ack.targets);
	CHECK(queue_read(&e.txn, &e.gen, &conf, "bob", &res.mid, 2200, &rt) ==
	    STORE_OK && rt.n == 0);
	CHECK(store_msg_get(&e.txn, &res.mid, &m) == STORE_OK &&
	    m.flags == (MSG_DELIVERED | MSG_READ));
	CHECK(qlen(&e, "alice", "phone") == 3);

	/* Read receipts off, read before ack: the delivered one only. */
	CHECK(qsend(&e, "alice", "phone", "bob", "m-3", "1", 3000, &res) ==
	    STORE_OK && res.err == TE_OK);
	targets_free(&res.targets);
	CHECK(queue_read(&e.txn, &e.gen, &conf, "bob", &res.mid, 3100, &rt) ==
	    STORE_OK && rt.n == 2);
	targets_free(&rt);
	CHECK(qload(&e, "alice", "phone", &q) == 0 && q.n == 4);
	CHECK(is_receipt(q.j[3], &q.mid[3], &res.mid, "m-3", "bob",
	    "delivered", 3100));
	qfree(&q);

	/* Blocked now: no receipt of either kind. */
	u.read_receipts = 1;
	CHECK(store_user_put(&e.txn, "bob", &u) == STORE_OK);
	CHECK(qsend(&e, "alice", "phone", "bob", "m-4", "1", 4000, &res) ==
	    STORE_OK && res.err == TE_OK);
	targets_free(&res.targets);
	CHECK(store_block_put(&e.txn, "bob", "alice") == STORE_OK);
	CHECK(queue_read(&e.txn, &e.gen, &conf, "bob", &res.mid, 4100, &rt) ==
	    STORE_OK && rt.n == 0);
	CHECK(qlen(&e, "alice", "phone") == 4);
	CHECK(env_close(&e) == 0);
	return (0);
}

/* The online callback: only the device named by arg is online. */
static int
online_fn(void *arg, const char *user, const char *device)
{
	const char	*who = arg;
	char		 buf[128];

	snprintf(buf, sizeof buf, "%s/%s", user, device);
	return (who != NULL && strcmp(who, buf) == 0);
}

/* What a queue_pending callback was handed. */
struct taken {
	int		 n;
	int		 refuse;	/* refuse the item after this many */
	struct mid	 mid[QMAX];
};

/* queue_pending callback: takes items until refuse of them, then stops. */
static int
take_fn(void *arg, const struct mid *m, const struct item *it)
{
	struct taken	*t = arg;

	(void)it;
	if (t->n == t->refuse || t->n == QMAX)
		return (STORE_WALK_STOP);
	t->mid[t->n++] = *m;
	return (STORE_WALK_NEXT);
}

/* Runs queue_pending on queue qid at now; what it handed is in t. */
static int
pending(struct env *e, uint64_t qid, uint64_t now, struct mid *pos,
    uint64_t *inflight, int refuse, struct taken *t)
{
	memset(t, 0, sizeof *t);
	t->refuse = refuse;
	return (queue_pending(&e->txn, &conf, qid, now, pos, inflight, take_fn,
	    t));
}

/* queue_pending: the window, the position, message_ttl, a refusal. */
static int
test_pending(void)
{
	struct env	 e;
	struct send_res	 res;
	struct dev_rec	 r;
	struct qdump	 q;
	struct taken	 t;
	struct mid	 pos, zero = { 0, 0 };
	uint64_t	 inflight;
	char		 id[8];
	int		 i;

	CHECK(env_begin(&e, "pending", MAP_SIZE) == 0);
	CHECK(two_by_two(&e, 1000) == 0);
	conf.max_queue = QMAX;
	conf.window = 3;
	/* Two items past message_ttl at 6500, then six within it. */
	for (i = 0; i < 8; i++) {
		snprintf(id, sizeof id, "p%d", i);
		CHECK(qsend(&e, "alice", "phone", "bob", id, "1",
		    i < 2 ? 1000 : 4000 + i, &res) == STORE_OK &&
		    res.err == TE_OK);
		targets_free(&res.targets);
	}
	CHECK(qload(&e, "bob", "phone", &q) == 0 && q.n == 8);
	CHECK(store_device_get(&e.txn, "bob", "phone", &r) == STORE_OK);

	/* From the head: the old two passed over, then a window of three. */
	pos = zero;
	inflight = 0;
	CHECK(pending(&e, r.qid, 6500, &pos, &inflight, -1, &t) == STORE_OK);
	CHECK(t.n == 3 && inflight == 3);
	for (i = 0; i < 3; i++)
		CHECK(mid_cmp(&t.mid[i], &q.mid[2 + i]) == 0);
	CHECK(mid_cmp(&pos, &q.mid[4]) == 0);
	/* A full window hands nothing and keeps the position. */
	CHECK(pending(&e, r.qid, 6500, &pos, &inflight, -1, &t) == STORE_OK);
	CHECK(t.n == 0 && inflight == 3 && mid_cmp(&pos, &q.mid[4]) == 0);
	/* Two acked: two more, after the position. */
	inflight = 1;
	CHECK(pending(&e, r.qid, 6500, &pos, &inflight, -1, &t) == STORE_OK);
	CHECK(t.n == 2 && inflight == 3);
	CHECK(mid_cmp(&t.mid[0], &q.mid[5]) == 0 &&
	    mid_cmp(&t.mid[1], &q.mid[6]) == 0 &&
	    mid_cmp(&pos, &q.mid[6]) == 0);
	/* Room for three, but the queue has one left. */
	inflight = 0;
	CHECK(pending(&e, r.qid, 6500, &pos, &inflight, -1, &t) == STORE_OK);
	CHECK(t.n == 1 && inflight == 1 && mid_cmp(&t.mid[0], &q.mid[7]) == 0 &&
	    mid_cmp(&pos, &q.mid[7]) == 0);
	CHECK(pending(&e, r.qid, 6500, &pos, &inflight, -1, &t) == STORE_OK);
	CHECK(t.n == 0 && inflight == 1 && mid_cmp(&pos, &q.mid[7]) == 0);

	/* A refused item stays where it is, uncounted, for the next walk. */
	pos = zero;
	inflight = 0;
	CHECK(pending(&e, r.qid, 6500, &pos, &inflight, 1, &t) == STORE_OK);
	CHECK(t.n == 1 && inflight == 1 && mid_cmp(&pos, &q.mid[2]) == 0);
	CHECK(pending(&e, r.qid, 6500, &pos, &inflight, 0, &t) == STORE_OK);
	CHECK(t.n == 0 && inflight == 1 && mid_cmp(&pos, &q.mid[2]) == 0);
	CHECK(pending(&e, r.qid, 6500, &pos, &inflight, -1, &t) == STORE_OK);
	CHECK(t.n == 2 && mid_cmp(&t.mid[0], &q.mid[3]) == 0);

	/* message_ttl ends at ts + ttl exactly: handed at 5999, not 6000. */
	pos = zero;
	inflight = 0;
	CHECK(pending(&e, r.qid, 5999, &pos, &inflight, -1, &t) == STORE_OK);
	CHECK(t.n == 3 && mid_cmp(&t.mid[0], &q.mid[0]) == 0);
	pos = zero;
	inflight = 0;
	CHECK(pending(&e, r.qid, 6000, &pos, &inflight, -1, &t) == STORE_OK);
	CHECK(t.n == 3 && mid_cmp(&t.mid[0], &q.mid[2]) == 0);

	/* Past message_ttl, the whole queue: nothing handed, all passed. */
	pos = zero;
	inflight = 0;
	CHECK(pending(&e, r.qid, 100000, &pos, &inflight, -1, &t) ==
	    STORE_OK);
	CHECK(t.n == 0 && inflight == 0 && mid_cmp(&pos, &q.mid[7]) == 0);
	/* Nothing is deleted: that is the sweep's job. */
	CHECK(qlen(&e, "bob", "phone") == 8);
	qfree(&q);
	CHECK(env_close(&e) == 0);
	return (0);
}

/* queue_sweep: message_ttl drops old items. */
static int
test_sweep_items(void)
{
	struct env		e;
	struct send_res		res;
	struct sweep_res	sw;

	CHECK(env_begin(&e, "sweep-items", MAP_SIZE) == 0);
	CHECK(two_by_two(&e, 1000) == 0);
	CHECK(qsend(&e, "alice", "phone", "bob", "c-1", "1", 1000, &res) ==
	    STORE_OK && res.err == TE_OK);
	targets_free(&res.targets);
	CHECK(qsend(&e, "alice", "phone", "bob", "c-2", "22", 3000, &res) ==
	    STORE_OK && res.err == TE_OK);
	targets_free(&res.targets);

	CHECK(queue_sweep(&e.txn, &e.gen, &conf, 5999, NULL, NULL,
	    &sw) == STORE_OK);
	CHECK(sw.items == 0 && sw.msgs == 0 && sw.removed.n == 0);
	targets_free(&sw.removed);
	CHECK(queue_sweep(&e.txn, &e.gen, &conf, 6000, NULL, NULL,
	    &sw) == STORE_OK);
	CHECK(sw.items == 3 && sw.msgs == 1 && sw.removed.n == 0);
	targets_free(&sw.removed);
	CHECK(qlen(&e, "bob", "phone") == 1 && qlen(&e, "bob", "tablet") == 1 &&
	    qlen(&e, "alice", "laptop") == 1);
	CHECK(msg_count(&e) == 1);
	CHECK(queue_sweep(&e.txn, &e.gen, &conf, 8000, NULL, NULL,
	    &sw) == STORE_OK);
	CHECK(sw.items == 3 && sw.msgs == 1);
	targets_free(&sw.removed);
	CHECK(qlen(&e, "bob", "phone") == 0 && msg_count(&e) == 0);
	CHECK(env_close(&e) == 0);
	return (0);
}

/* queue_sweep: message records and their dedup keys. */
static int
test_sweep_msgs(void)
{
	struct env		e;
	struct send_res		res, res2;
	struct sweep_res	sw;
	struct dedup_rec	d;
	struct msg_rec		m;

	CHECK(env_begin(&e, "sweep-msgs", MAP_SIZE) == 0);
	CHECK(two_by_two(&e, 1000) == 0);
	conf.dedup_window = 1000;
	conf.message_ttl = 2000;
	CHECK(qsend(&e, "alice", "phone", "bob", "c-1", "1", 1000, &res) ==
	    STORE_OK && res.err == TE_OK);
	targets_free(&res.targets);
	/* c-1 again past the window: a new message owns the dedup key. */
	CHECK(qsend(&e, "alice", "phone", "bob", "c-1", "1", 2500, &res2) ==
	    STORE_OK && res2.err == TE_OK && res2.dup == 0);
	targets_free(&res2.targets);
	CHECK(qsend(&e, "alice", "phone", "bob", "c-3", "1", 2600, &res2) ==
	    STORE_OK);
	targets_free(&res2.targets);

	/* A window longer than message_ttl keeps records past their items. */
	conf.dedup_window = 3000;
	CHECK(queue_sweep(&e.txn, &e.gen, &conf, 3999, NULL, NULL,
	    &sw) == STORE_OK);
	CHECK(sw.msgs == 0 && sw.items == 3);
	targets_free(&sw.removed);
	CHECK(store_msg_get(&e.txn, &res.mid, &m) == STORE_OK);
	CHECK(queue_sweep(&e.txn, &e.gen, &conf, 4000, NULL, NULL,
	    &sw) == STORE_OK);
	CHECK(sw.msgs == 1 && sw.items == 0);
	targets_free(&sw.removed);
	CHECK(store_msg_get(&e.txn, &res.mid, &m) == STORE_NOTFOUND);
	CHECK(store_dedup_get(&e.txn, "alice", "c-1", &d) == STORE_OK);
	CHECK(d.ts == 2500);
	CHECK(store_dedup_get(&e.txn, "alice", "c-3", &d) == STORE_OK);
	CHECK(queue_sweep(&e.txn, &e.gen, &conf, 5600, NULL, NULL,
	    &sw) == STORE_OK);
	CHECK(sw.msgs == 2);
	targets_free(&sw.removed);
	CHECK(store_dedup_get(&e.txn, "alice", "c-1", &d) == STORE_NOTFOUND);
	CHECK(store_dedup_get(&e.txn, "alice", "c-3", &d) == STORE_NOTFOUND);
	CHECK(msg_count(&e) == 0);
	CHECK(env_close(&e) == 0);
	return (0);
}

/* queue_sweep: device_ttl with the online callback (rule 4). */
static int
test_sweep_devices(void)
{
	struct env		e;
	struct sweep_res	sw;
	struct dev_rec		r, carol;
	struct token_rec	t;
	char			tok[TOKEN_HEXLEN + 1];

	CHECK(env_begin(&e, "sweep-devices", MAP_SIZE) == 0);
	CHECK(env_register(&e, "alice", 1000) == 0 &&
	    env_register(&e, "bob", 1000) == 0 &&
	    env_register(&e, "carol", 1000) == 0);
	CHECK(claim(&e, "alice", "phone", 1000, &r) == STORE_OK);
	CHECK(claim(&e, "alice", "laptop", 9000, &r) == STORE_OK);
	CHECK(claim(&e, "carol", "phone", 1000, &carol) == STORE_OK);
	CHECK(account_token_issue(&e.txn, "carol", "phone", carol.qid,
	    100000, tok) == STORE_OK);

	CHECK(queue_sweep(&e.txn, &e.gen, &conf, 10999, online_fn, NULL, &sw) ==
	    STORE_OK && sw.removed.n == 0);
	targets_free(&sw.removed);

	/* alice/phone is online; bob's default was never claimed. */
	CHECK(queue_sweep(&e.txn, &e.gen, &conf, 11000, online_fn,
	    (void *)"alice/phone", &sw) == STORE_OK);
	CHECK(sw.removed.n == 1 && targets_has(&sw.removed, "carol", "phone"));
	CHECK(sw.removed.v[0].qid == carol.qid && sw.tokens == 1);
	targets_free(&sw.removed);
	CHECK(store_device_get(&e.txn, "carol", "phone", &r) ==
	    STORE_NOTFOUND);
	CHECK(store_device_get(&e.txn, "carol", "default", &r) == STORE_OK);
	CHECK(r.claimed == 0 && r.qid != carol.qid);
	CHECK(account_token_check(&e.txn, tok, 11000, &t) == STORE_NOTFOUND);
	CHECK(store_device_get(&e.txn, "bob", "default", &r) == STORE_OK);
	CHECK(store_device_get(&e.txn, "alice", "phone", &r) == STORE_OK);

	CHECK(queue_sweep(&e.txn, &e.gen, &conf, 11000, online_fn, NULL, &sw) ==
	    STORE_OK);
	CHECK(sw.removed.n == 1 && targets_has(&sw.removed, "alice", "phone"));
	targets_free(&sw.removed);
	CHECK(store_device_get(&e.txn, "alice", "laptop", &r) == STORE_OK);
	CHECK(store_device_get(&e.txn, "alice", "default", &r) ==
	    STORE_NOTFOUND);
	CHECK(queue_sweep(&e.txn, &e.gen, &conf, 100000, NULL, NULL, &sw) ==
	    STORE_OK);
	CHECK(sw.removed.n == 1 && targets_has(&sw.removed, "alice", "laptop"));
	targets_free(&sw.removed);
	CHECK(store_device_get(&e.txn, "alice", "default", &r) == STORE_OK &&
	    r.claimed == 0);
	CHECK(env_close(&e) == 0);
	return (0);
}

/* queue_sweep: expired and orphaned tokens. */
static int
test_sweep_tokens(void)
{
	struct env		e;
	struct sweep_res	sw;
	struct dev_rec		r;
	struct token_rec	t;
	char			ok[TOKEN_HEXLEN + 1], old[TOKEN_HEXLEN + 1];
	char			gone[TOKEN_HEXLEN + 1];

	CHECK(env_begin(&e, "sweep-tokens", MAP_SIZE) == 0);
	CHECK(env_register(&e, "alice", 1000) == 0);
	CHECK(claim(&e, "alice", "phone", 1000, &r) == STORE_OK);
	CHECK(account_token_issue(&e.txn, "alice", "phone", r.qid, 9000, ok) ==
	    STORE_OK);
	CHECK(account_token_issue(&e.txn, "alice", "phone", r.qid, 1500, old) ==
	    STORE_OK);
	/* Issued for a queue the device no longer has. */
	CHECK(account_token_issue(&e.txn, "alice", "phone", r.qid + 100, 9000,
	    gone) == STORE_OK);
	CHECK(queue_sweep(&e.txn, &e.gen, &conf, 2000, NULL, NULL,
	    &sw) == STORE_OK);
	CHECK(sw.tokens == 2 && sw.removed.n == 0);
	targets_free(&sw.removed);
	CHECK(account_token_check(&e.txn, ok, 2000, &t) == STORE_OK);
	CHECK(account_token_revoke(&e.txn, old) == STORE_NOTFOUND);
	CHECK(account_token_revoke(&e.txn, gone) == STORE_NOTFOUND);
	CHECK(queue_sweep(&e.txn, &e.gen, &conf, 2000, NULL, NULL,
	    &sw) == STORE_OK);
	CHECK(sw.tokens == 0);
	targets_free(&sw.removed);
	CHECK(env_close(&e) == 0);
	return (0);
}

/* queue_send: a full store is STORE_FULL, nothing kept. */
static int
test_store_full(void)
{
	struct env	 e;
	struct send_res	 res;
	char		*body;
	int		 i, rc = STORE_OK;

	CHECK(env_begin(&e, "store-full", 256 << 10) == 0);
	CHECK(two_by_two(&e, 1000) == 0);
	CHECK(store_txn_commit(&e.txn) == STORE_OK);
	CHECK(store_txn_begin(e.s, &e.txn, 1) == STORE_OK);
	conf.max_message_bytes = 16384;
	conf.max_queue = 1000;
	body = malloc(2003);
	CHECK(body != NULL);
	memset(body, 'x', 2002);
	body[0] = body[2001] = '"';
	body[2002] = '\0';
	for (i = 0; i < 100 && rc == STORE_OK; i++) {
		rc = qsend(&e, "alice", "phone", "bob", i % 2 ? "a" : "b", body,
		    1000 + 2000 * i, &res);
		targets_free(&res.targets);
	}
	free(body);
	printf("# full at send %d\n", i);
	CHECK(rc == STORE_FULL && i > 2);
	CHECK(store_txn_commit(&e.txn) == STORE_FULL);
	CHECK(store_txn_begin(e.s, &e.txn, 1) == STORE_OK);
	CHECK(qlen(&e, "bob", "phone") == 0);
	CHECK(qsend(&e, "alice", "phone", "bob", "small", "1", 1000, &res) ==
	    STORE_OK && res.err == TE_OK);
	targets_free(&res.targets);
	CHECK(env_close(&e) == 0);
	return (0);
}

static const struct test tests[] = {
	{ "account_register: user and unclaimed default; name_taken",
	    test_register },
	{ "account_claim_device: rule 2 (rename keeps queue, reuse, new)",
	    test_claim },
	{ "account_remove_device: rule 3 (queue dropped, fresh default)",
	    test_remove_device },
	{ "tokens: ok, expired, revoked, bad format, device recreated",
	    test_tokens },
	{ "queue_send: targets, frame, counts, msg and dedup records",
	    test_send },
	{ "queue_send: self-send reaches each own device once",
	    test_send_self },
	{ "queue_send: dedup within the window, new id after it",
	    test_dedup },
	{ "queue_send: too_large stores nothing", test_too_large },
	{ "queue_send_body: a body that came encoded, counted as it is",
	    test_body_text },
	{ "queue_send: queue_full stores nothing; own full device skipped",
	    test_queue_full },
	{ "queue_send: no_such_user; no_such_group for #group",
	    test_no_such_user },
	{ "queue_send: blocked sender, no receipts ever", test_blocked },
	{ "queue_ack: bookkeeping and exactly one delivered receipt",
	    test_ack },
	{ "queue_ack_mid: one frame, two senders, own, group, twice, unknown",
	    test_ack_frame },
	{ "queue_read: read receipts, read_receipts off, blocked",
	    test_read },
	{ "queue_pending: window, position, message_ttl, a refusal",
	    test_pending },
	{ "queue_sweep: message_ttl drops old items", test_sweep_items },
	{ "queue_sweep: message records and their dedup keys",
	    test_sweep_msgs },
	{ "queue_sweep: device_ttl with the online callback (rule 4)",
	    test_sweep_devices },
	{ "queue_sweep: expired and orphaned tokens", test_sweep_tokens },
	{ "queue_send: a full store is STORE_FULL, nothing kept",
	    test_store_full },
};

/* Runs every test, prints TAP, and removes the temporary tree. */
int
main(void)
{
	return (tap_run_tmpdir(tests, nitems(tests), "test_queue", base,
	    sizeof base));
}
