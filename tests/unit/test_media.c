/* SPDX-License-Identifier: ISC */
/*
 * test_media.c: unit tests of media.c and store-media.c, the rules of
 * tickd-protocol(7) MEDIA (IDs, quota, references, expiry, the unlink
 * list), against a store in a temporary directory.  Prints TAP.
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
#define VERIFY_MANY	100	/* messages and IDs of test_verify_many */

static char		base[256];
static struct conf	conf;

/* Sets these tests' limits and opens the test's store. */
static int
env_begin(struct env *e, const char *name)
{
	memset(&conf, 0, sizeof conf);
	conf.max_queue = 100;
	conf.max_message_bytes = 1024;
	conf.dedup_window = 1000;
	conf.message_ttl = 5000;
	conf.device_ttl = 100000;
	conf.media_quota = 1000;
	conf.media_ttl = 3000;
	conf.max_media_refs = 4;
	return (env_open(e, base, name, MAP_SIZE));
}

/* Registers user at 0, without a device. */
static int
reg(struct env *e, const char *user)
{
	return (env_register(e, user, 0));
}

/* Uploads size bytes whose hash is all fill; the ID spelled into s. */
static int
upload(struct env *e, const char *user, int fill, uint64_t size,
    uint64_t now, char s[MEDIA_ID_LEN + 1], enum tick_err *err)
{
	uint8_t	sha[32], id[MEDIA_ID_BYTES];
	int	rc;

	memset(sha, fill, sizeof sha);
	rc = media_commit(&e->txn, &conf, user, sha, size, "image/png", now,
	    id, err);
	if (rc == STORE_OK && *err == TE_OK)
		media_id_format(id, s);
	return (rc);
}

/* Sends a message naming one media ID. */
static int
send_media(struct env *e, const char *to, const char *cid, const char *id,
    uint64_t now, struct send_res *res)
{
	struct send_req	req;
	json_t		*body, *media;
	int		rc;

	body = json_object();
	media = json_pack("[s]", id);
	memset(&req, 0, sizeof req);
	req.from = "alice";
	req.from_device = "default";
	req.to = to;
	req.id = cid;
	req.body = body;
	req.media = media;
	req.now = now;
	rc = queue_send(&e->txn, &e->gen, &conf, &req, res);
	targets_free(&res->targets);
	json_decref(body);
	json_decref(media);
	return (rc);
}

/* The record of the ID spelled s, as stored (live or not). */
static int
rec(struct env *e, const char *s, struct media_rec *r)
{
	uint8_t	id[MEDIA_ID_BYTES];

	if (media_id_parse(s, strlen(s), id) != 0)
		return (-1);
	return (store_media_get(&e->txn, id, r));
}

/* IDs: 22 characters, one spelling each, random. */
static int
test_ids(void)
{
	uint8_t	id[MEDIA_ID_BYTES], back[MEDIA_ID_BYTES];
	char	s[MEDIA_ID_LEN + 1], t[MEDIA_ID_LEN + 1];
	int	i;

	for (i = 0; i < 100; i++) {
		CHECK(media_id_new(id) == 0);
		media_id_format(id, s);
		CHECK(strlen(s) == MEDIA_ID_LEN);
		CHECK(strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
		    "qrstuvwxyz0123456789-_") == MEDIA_ID_LEN);
		CHECK(media_id_parse(s, MEDIA_ID_LEN, back) == 0);
		CHECK(memcmp(id, back, sizeof id) == 0);
	}
	media_id_new(back);
	media_id_format(back, t);
	CHECK(strcmp(s, t) != 0);
	CHECK(media_id_parse(s, MEDIA_ID_LEN - 1, back) == -1);
	CHECK(media_id_parse("AAAAAAAAAAAAAAAAAAAAA=", 22, back) == -1);
	CHECK(media_id_parse("AAAAAAAAAAAAAAAAAAAAAA", 22, back) == 0);
	/* The last character holds 2 bits: "AB" is not a spelling. */
	CHECK(media_id_parse("AAAAAAAAAAAAAAAAAAAAAB", 22, back) == -1);
	CHECK(media_id_parse("AAAAAAAAAAAAAAAAAAAAA.", 22, back) == -1);
	return (0);
}

/*
 * IDs on a node of a cluster: that node's name and "." may come first,
 * another node's never; without a node name, only the bare spelling.
 */
static int
test_id_node(void)
{
	uint8_t	id[MEDIA_ID_BYTES], back[MEDIA_ID_BYTES];
	char	s[MEDIA_ID_LEN + 1], t[64];

	CHECK(media_id_new(id) == 0);
	media_id_format(id, s);
	snprintf(t, sizeof t, "n1.%s", s);
	CHECK(media_id_read("n1", t, strlen(t), back) == 0);
	CHECK(memcmp(id, back, sizeof id) == 0);
	CHECK(media_id_read("n1", s, strlen(s), back) == 0);
	CHECK(memcmp(id, back, sizeof id) == 0);
	CHECK(media_id_read(NULL, s, strlen(s), back) == 0);
	CHECK(media_id_read(NULL, t, strlen(t), back) == -1);
	CHECK(media_id_read("n2", t, strlen(t), back) == -1);
	CHECK(media_id_read("n", t, strlen(t), back) == -1);
	CHECK(media_id_read("n1", "n1.", 3, back) == -1);
	CHECK(media_id_read("n1", "n1", 2, back) == -1);
	snprintf(t, sizeof t, "n1n%s", s);
	CHECK(media_id_read("n1", t, strlen(t), back) == -1);
	return (0);
}

/* Content types: type/subtype[;params], at most 255 bytes. */
static int
test_types(void)
{
	char	big[300];

	CHECK(media_type_ok("image/png"));
	CHECK(media_type_ok("text/plain; charset=utf-8"));
	CHECK(media_type_ok("application/vnd.foo+json;x=1"));
	CHECK(!media_type_ok(""));
	CHECK(!media_type_ok("image"));
	CHECK(!media_type_ok("image/"));
	CHECK(!media_type_ok("/png"));
	CHECK(!media_type_ok("image/png extra"));
	CHECK(!media_type_ok("ima ge/png"));
	CHECK(!media_type_ok("image/p\x01ng"));
	memset(big, 'a', sizeof big);
	memcpy(big, "text/", 5);
	big[255] = '\0';
	CHECK(media_type_ok(big));
	big[255] = 'a';
	big[256] = '\0';
	CHECK(!media_type_ok(big));
	return (0);
}

/* Quota: live sizes add up; DELETE frees at once; only the uploader. */
static int
test_quota(void)
{
	struct env		e;
	struct media_rec	r;
	uint8_t			id[MEDIA_ID_BYTES];
	char			a[MEDIA_ID_LEN + 1], b[MEDIA_ID_LEN + 1];
	char			c[MEDIA_ID_LEN + 1];
	uint64_t		bytes, n, files, fbytes;
	enum tick_err		err;

	CHECK(env_begin(&e, "quota") == 0);
	CHECK(upload(&e, "alice", 1, 600, 1000, a, &err) == STORE_OK &&
	    err == TE_OK);
	/* Same bytes again: its own ID, counted in full, one file. */
	CHECK(upload(&e, "alice", 1, 400, 1000, b, &err) == STORE_OK &&
	    err == TE_OK);
	CHECK(strcmp(a, b) != 0);
	CHECK(upload(&e, "alice", 2, 1, 1000, c, &err) == STORE_OK &&
	    err == TE_QUOTA_EXCEEDED);
	CHECK(media_usage(&e.txn, "alice", 1000, conf.media_ttl, &bytes, &n)
	    == STORE_OK && bytes == 1000 && n == 2);
	CHECK(store_media_totals(&e.txn, &files, &fbytes) == STORE_OK &&
	    files == 1 && fbytes == 600);
	/* Someone else's quota is their own. */
	CHECK(upload(&e, "bob", 2, 1000, 1000, c, &err) == STORE_OK &&
	    err == TE_OK);
	CHECK(media_lookup(&e.txn, &conf, a, strlen(a), 1000, id, &r) ==
	    STORE_OK && r.size == 600 && strcmp(r.uploader, "alice") == 0 &&
	    strcmp(r.type, "image/png") == 0 && r.created == 1000);
	CHECK(media_delete(&e.txn, &conf, "bob", a, strlen(a), 1000) ==
	    STORE_NOTFOUND);
	CHECK(media_delete(&e.txn, &conf, "alice", a, strlen(a), 1000) ==
	    STORE_OK);
	CHECK(media_lookup(&e.txn, &conf, a, strlen(a), 1000, id, &r) ==
	    STORE_NOTFOUND);
	CHECK(media_delete(&e.txn, &conf, "alice", a, strlen(a), 1000) ==
	    STORE_NOTFOUND);
	CHECK(upload(&e, "alice", 3, 600, 1000, c, &err) == STORE_OK &&
	    err == TE_OK);
	/* The file of a and b stays while b names it. */
	CHECK(store_media_totals(&e.txn, &files, &fbytes) == STORE_OK &&
	    files == 3);
	CHECK(media_delete(&e.txn, &conf, "alice", b, strlen(b), 1000) ==
	    STORE_OK);
	CHECK(store_media_totals(&e.txn, &files, &fbytes) == STORE_OK &&
	    files == 2 && fbytes == 1600);
	CHECK(media_lookup(&e.txn, &conf, "nope", 4, 1000, id, &r) ==
	    STORE_NOTFOUND);
	CHECK(env_close(&e) == 0);
	return (0);
}

/* Rule 3 and 4: references, expiry from the last reference, the sweep. */
static int
test_refs(void)
{
	struct env		 e;
	struct send_res		 res;
	struct media_rec	 r;
	struct dev_rec		 d;
	struct ack_res		 ar;
	struct mid		 m;
	uint8_t			 id[MEDIA_ID_BYTES], sha[32];
	char			 a[MEDIA_ID_LEN + 1], b[MEDIA_ID_LEN + 1];
	uint64_t		 expired = 0, files, bytes;
	enum tick_err		 err;

	CHECK(env_begin(&e, "refs") == 0);
	CHECK(reg(&e, "alice") == 0 && reg(&e, "bob") == 0);
	CHECK(upload(&e, "alice", 1, 10, 1000, a, &err) == STORE_OK &&
	    err == TE_OK);
	CHECK(upload(&e, "alice", 2, 10, 1000, b, &err) == STORE_OK &&
	    err == TE_OK);
	CHECK(send_media(&e, "bob", "c-1", a, 2000, &res) == STORE_OK &&
	    res.err == TE_OK);
	m = res.mid;
	CHECK(rec(&e, a, &r) == STORE_OK && r.refs == 1);
	/* Not live: nothing stored. */
	CHECK(send_media(&e, "bob", "c-2", "AAAAAAAAAAAAAAAAAAAAAA", 2000,
	    &res) == STORE_OK && res.err == TE_NO_SUCH_MEDIA);
	CHECK(store_device_get(&e.txn, "bob", "default", &d) == STORE_OK &&
	    d.count == 1);

	/* Referenced media never expires; the unreferenced one does. */
	CHECK(media_sweep(&e.txn, &conf, 100000, &expired, NULL,
	    NULL) == STORE_OK);
	CHECK(expired == 1);
	CHECK(rec(&e, b, &r) == STORE_NOTFOUND);
	CHECK(media_lookup(&e.txn, &conf, a, strlen(a), 100000, id, &r) ==
	    STORE_OK);

	/* The ack of the last item starts media_ttl from then. */
	CHECK(queue_ack(&e.txn, &e.gen, &conf, "bob", "default", &m,
	    100000, &ar) == STORE_OK && ar.deleted == 1);
	targets_free(&ar.targets);
	CHECK(rec(&e, a, &r) == STORE_OK && r.refs == 0 &&
	    r.last_ref == 100000);
	CHECK(media_lookup(&e.txn, &conf, a, strlen(a), 103000, id, &r) ==
	    STORE_OK);
	CHECK(media_lookup(&e.txn, &conf, a, strlen(a), 103001, id, &r) ==
	    STORE_NOTFOUND);
	expired = 0;
	CHECK(media_sweep(&e.txn, &conf, 103000, &expired, NULL,
	    NULL) == STORE_OK &&
	    expired == 0);
	CHECK(media_sweep(&e.txn, &conf, 103001, &expired, NULL,
	    NULL) == STORE_OK &&
	    expired == 1);
	CHECK(store_media_totals(&e.txn, &files, &bytes) == STORE_OK &&
	    files == 0 && bytes == 0);
	memset(sha, 1, sizeof sha);
	CHECK(store_media_gone_get(&e.txn, sha) == STORE_OK);
	CHECK(env_close(&e) == 0);
	return (0);
}

/* References end with message_ttl and with the device's removal too. */
static int
test_release(void)
{
	struct env		 e;
	struct send_res		 res;
	struct sweep_res	 sw;
	struct media_rec	 r;
	char			 a[MEDIA_ID_LEN + 1];
	enum tick_err		 err;

	CHECK(env_begin(&e, "release") == 0);
	CHECK(reg(&e, "alice") == 0 && reg(&e, "bob") == 0);
	CHECK(upload(&e, "alice", 1, 10, 1000, a, &err) == STORE_OK &&
	    err == TE_OK);
	CHECK(send_media(&e, "bob", "c-1", a, 1000, &res) == STORE_OK &&
	    res.err == TE_OK);
	CHECK(send_media(&e, "bob", "c-2", a, 1000, &res) == STORE_OK &&
	    res.err == TE_OK);
	CHECK(rec(&e, a, &r) == STORE_OK && r.refs == 2);
	/* The device removal releases one queue's items. */
	CHECK(account_remove_device(&e.txn, &e.gen, "bob", "default", 2000) ==
	    STORE_OK);
	CHECK(rec(&e, a, &r) == STORE_OK && r.refs == 0 &&
	    r.last_ref == 2000);
	CHECK(send_media(&e, "bob", "c-3", a, 3000, &res) == STORE_OK &&
	    res.err == TE_OK);
	CHECK(rec(&e, a, &r) == STORE_OK && r.refs == 1);
	/* message_ttl drops it. */
	CHECK(queue_sweep(&e.txn, &e.gen, &conf, 9000, NULL, NULL,
	    &sw) == STORE_OK);
	targets_free(&sw.removed);
	CHECK(sw.items == 1);
	CHECK(rec(&e, a, &r) == STORE_OK && r.refs == 0 &&
	    r.last_ref == 9000);
	CHECK(env_close(&e) == 0);
	return (0);
}

/* The unlink list: only what is committed, not what an upload revived. */
static int
test_unlink(void)
{
	struct env	 e;
	struct txn	 done;
	char		 a[MEDIA_ID_LEN + 1], path[600];
	uint8_t		 sha[32];
	uint64_t	 n = 0;
	enum tick_err	 err;
	int		 fd;

	CHECK(env_begin(&e, "unlink") == 0);
	CHECK(upload(&e, "alice", 7, 10, 1000, a, &err) == STORE_OK &&
	    err == TE_OK);
	memset(sha, 7, sizeof sha);
	media_path(e.dir, sha, path, sizeof path);
	CHECK((fd = open(path, O_CREAT | O_WRONLY, 0600)) != -1);
	close(fd);
	CHECK(media_delete(&e.txn, &conf, "alice", a, strlen(a), 1000) ==
	    STORE_OK);
	/* Not committed yet: the file stays. */
	CHECK(store_txn_begin(e.s, &done, 0) == STORE_OK);
	CHECK(media_unlink(&done, &e.txn, e.dir, &n) == STORE_OK && n == 0);
	store_txn_abort(&done);
	CHECK(access(path, F_OK) == 0);
	CHECK(store_txn_commit(&e.txn) == STORE_OK);
	CHECK(store_txn_begin(e.s, &e.txn, 1) == STORE_OK);
	/* Named again in this turn: stays. */
	CHECK(upload(&e, "alice", 7, 10, 1000, a, &err) == STORE_OK &&
	    err == TE_OK);
	CHECK(store_txn_begin(e.s, &done, 0) == STORE_OK);
	CHECK(media_unlink(&done, &e.txn, e.dir, &n) == STORE_OK && n == 0);
	store_txn_abort(&done);
	CHECK(access(path, F_OK) == 0);
	CHECK(media_delete(&e.txn, &conf, "alice", a, strlen(a), 1000) ==
	    STORE_OK);
	CHECK(store_txn_commit(&e.txn) == STORE_OK);
	CHECK(store_txn_begin(e.s, &e.txn, 1) == STORE_OK);
	CHECK(store_txn_begin(e.s, &done, 0) == STORE_OK);
	CHECK(media_unlink(&done, &e.txn, e.dir, &n) == STORE_OK && n == 1);
	store_txn_abort(&done);
	CHECK(access(path, F_OK) == -1);
	CHECK(store_media_gone_get(&e.txn, sha) == STORE_NOTFOUND);
	CHECK(env_close(&e) == 0);
	return (0);
}

/* Deleting an account deletes its media. */
static int
test_user_delete(void)
{
	struct env		e;
	struct admin_del	del;
	char			a[MEDIA_ID_LEN + 1];
	uint64_t		files, bytes;
	enum tick_err		err;
	int			i;

	CHECK(env_begin(&e, "userdel") == 0);
	CHECK(reg(&e, "alice") == 0);
	conf.media_quota = 1 << 20;
	for (i = 0; i < 5; i++)
		CHECK(upload(&e, "alice", i, 10, 1000, a, &err) == STORE_OK &&
		    err == TE_OK);
	CHECK(admin_user_delete(&e.txn, &e.gen, "alice", &del) == STORE_OK);
	CHECK(del.media == 5);
	CHECK(store_media_totals(&e.txn, &files, &bytes) == STORE_OK &&
	    files == 0 && bytes == 0);
	CHECK(media_usage(&e.txn, "alice", 1000, conf.media_ttl, &bytes,
	    NULL) == STORE_OK && bytes == 0);
	CHECK(env_close(&e) == 0);
	return (0);
}

/* Collects verify's report lines. */
static void
line_fn(void *arg, const char *line)
{
	(*(int *)arg)++;
	printf("# %s\n", line);
}

/* verify: a wrong count of references is found, and repair sets it. */
static int
test_verify_refs(void)
{
	struct env		 e;
	struct send_res		 res;
	struct media_rec	 r, old;
	uint8_t			 id[MEDIA_ID_BYTES];
	char			 a[MEDIA_ID_LEN + 1];
	enum tick_err		 err;
	json_t			*sum;
	int			 lines = 0;

	CHECK(env_begin(&e, "verify") == 0);
	CHECK(reg(&e, "alice") == 0 && reg(&e, "bob") == 0);
	CHECK(upload(&e, "alice", 1, 10, 1000, a, &err) == STORE_OK &&
	    err == TE_OK);
	CHECK(send_media(&e, "bob", "c-1", a, 1000, &res) == STORE_OK &&
	    res.err == TE_OK);
	sum = json_pack("{s:b,s:i,s:i}", "consistent", 1, "problems", 0,
	    "repaired", 0);
	CHECK(media_verify(&e.txn, &e.gen, NULL, 0, line_fn, &lines, sum) ==
	    STORE_OK && lines == 0);
	CHECK(json_is_true(json_object_get(sum, "consistent")));
	CHECK(media_id_parse(a, strlen(a), id) == 0);
	CHECK(store_media_get(&e.txn, id, &old) == STORE_OK);
	r = old;
	r.refs = 0;
	CHECK(store_media_put(&e.txn, id, &old, &r) == STORE_OK);
	CHECK(media_verify(&e.txn, &e.gen, NULL, 0, line_fn, &lines, sum) ==
	    STORE_OK && lines == 1);
	CHECK(json_is_false(json_object_get(sum, "consistent")));
	CHECK(media_verify(&e.txn, &e.gen, NULL, 1, line_fn, &lines, sum) ==
	    STORE_OK && lines == 2);
	CHECK(store_media_get(&e.txn, id, &r) == STORE_OK && r.refs == 1);
	lines = 0;
	json_decref(sum);
	sum = json_pack("{s:b,s:i,s:i}", "consistent", 1, "problems", 0,
	    "repaired", 0);
	CHECK(media_verify(&e.txn, &e.gen, NULL, 0, line_fn, &lines, sum) ==
	    STORE_OK && lines == 0);
	json_decref(sum);
	CHECK(env_close(&e) == 0);
	return (0);
}

/* What items_fn found: the last item's queue and mid, and how many. */
struct found {
	uint64_t	qid;
	struct mid	mid;
	int		n;
};

/* Walk callback over every queue: counts items, keeps the last. */
static int
items_fn(void *arg, uint64_t qid, const struct mid *mid,
    const struct item *it)
{
	struct found	*f = arg;

	(void)it;
	f->qid = qid;
	f->mid = *mid;
	f->n++;
	return (STORE_WALK_NEXT);
}

/* media_verify without repair: how many problem lines it printed. */
static int
verify_lines(struct env *e, int fix, int *consistent)
{
	json_t	*sum;
	int	 lines = 0;

	sum = json_pack("{s:b,s:i,s:i}", "consistent", 1, "problems", 0,
	    "repaired", 0);
	if (media_verify(&e->txn, &e->gen, NULL, fix, line_fn, &lines,
	    sum) != STORE_OK)
		lines = -1;
	*consistent = json_is_true(json_object_get(sum, "consistent"));
	json_decref(sum);
	return (lines);
}

/*
 * verify: a message whose media references count more holders than its
 * queued items is found; repair sets the count, and releases the
 * references of one that nothing holds, so that media_ttl runs again.
 */
static int
test_verify_holders(void)
{
	struct env		 e;
	struct send_res		 res;
	struct media_rec	 r;
	struct media_refs	 m;
	struct found		 f;
	struct item		 it;
	struct msg_rec		 mr;
	char			 a[MEDIA_ID_LEN + 1];
	enum tick_err		 err;
	int			 ok, has_m;

	CHECK(env_begin(&e, "holders") == 0);
	CHECK(reg(&e, "alice") == 0 && env_user(&e, "bob", NULL, 0) == 0);
	CHECK(upload(&e, "alice", 1, 10, 1000, a, &err) == STORE_OK &&
	    err == TE_OK);
	CHECK(send_media(&e, "bob", "c-1", a, 1000, &res) == STORE_OK &&
	    res.err == TE_OK);
	CHECK(verify_lines(&e, 0, &ok) == 0 && ok);

	/* One holder more than there are: the count is set. */
	memset(&f, 0, sizeof f);
	CHECK(store_queue_walk_all(&e.txn, items_fn, &f) == STORE_OK &&
	    f.n == 1 && mid_cmp(&f.mid, &res.mid) == 0);
	CHECK(store_media_refs_get(&e.txn, &f.mid, &m) == STORE_OK &&
	    m.items == 1);
	m.items = 2;
	CHECK(store_media_refs_put(&e.txn, &f.mid, &m) == STORE_OK);
	CHECK(verify_lines(&e, 0, &ok) == 1 && !ok);
	CHECK(verify_lines(&e, 1, &ok) == 1 && ok);
	CHECK(store_media_refs_get(&e.txn, &f.mid, &m) == STORE_OK &&
	    m.items == 1);
	CHECK(verify_lines(&e, 0, &ok) == 0 && ok);

	/* The item taken without its release: the hold leaked. */
	CHECK(store_queue_take(&e.txn, f.qid, &f.mid, &it, &mr, &has_m) ==
	    STORE_OK);
	CHECK(rec(&e, a, &r) == STORE_OK && r.refs == 1);
	CHECK(verify_lines(&e, 0, &ok) == 1 && !ok);
	CHECK(rec(&e, a, &r) == STORE_OK && r.refs == 1);
	CHECK(verify_lines(&e, 1, &ok) == 1 && ok);
	CHECK(store_media_refs_get(&e.txn, &f.mid, &m) == STORE_NOTFOUND);
	CHECK(rec(&e, a, &r) == STORE_OK && r.refs == 0 && r.last_ref != 0);
	CHECK(verify_lines(&e, 0, &ok) == 0 && ok);
	CHECK(env_close(&e) == 0);
	return (0);
}

/*
 * verify over many messages and IDs: its lists grow one entry at a time
 * (they once doubled at every entry, and ran out of memory at a few
 * dozen).
 */
static int
test_verify_many(void)
{
	struct env		 e;
	struct send_res		 res;
	struct media_rec	 r, old;
	uint8_t			 id[MEDIA_ID_BYTES];
	char			 a[MEDIA_ID_LEN + 1], cid[16];
	char			 ids[VERIFY_MANY][MEDIA_ID_LEN + 1];
	enum tick_err		 err;
	int			 i, ok;

	CHECK(env_begin(&e, "many") == 0);
	conf.media_quota = 1 << 20;
	CHECK(reg(&e, "alice") == 0 && env_user(&e, "bob", NULL, 0) == 0);
	for (i = 0; i < VERIFY_MANY; i++) {
		CHECK(upload(&e, "alice", i + 1, 10, 1000, a, &err) ==
		    STORE_OK && err == TE_OK);
		memcpy(ids[i], a, sizeof a);
		snprintf(cid, sizeof cid, "c-%d", i);
		CHECK(send_media(&e, "bob", cid, a, 1000, &res) == STORE_OK &&
		    res.err == TE_OK);
	}
	CHECK(verify_lines(&e, 0, &ok) == 0 && ok);
	for (i = 0; i < VERIFY_MANY; i++) {
		CHECK(media_id_parse(ids[i], strlen(ids[i]), id) == 0 &&
		    store_media_get(&e.txn, id, &old) == STORE_OK);
		r = old;
		r.refs = 0;
		CHECK(store_media_put(&e.txn, id, &old, &r) == STORE_OK);
	}
	CHECK(verify_lines(&e, 1, &ok) == VERIFY_MANY && ok);
	for (i = 0; i < VERIFY_MANY; i++)
		CHECK(rec(&e, ids[i], &r) == STORE_OK && r.refs == 1);
	CHECK(verify_lines(&e, 0, &ok) == 0 && ok);
	CHECK(env_close(&e) == 0);
	return (0);
}

static const struct test tests[] = {
	{ "media IDs: format, parse, one spelling", test_ids },
	{ "media IDs on a node of a cluster: its prefix only", test_id_node },
	{ "media_type_ok: type/subtype[;params], 255 bytes", test_types },
	{ "media quota, same bytes stored once, delete", test_quota },
	{ "references, expiry from the last one, the sweep", test_refs },
	{ "references released by device removal and message_ttl",
	    test_release },
	{ "the unlink list follows what is committed", test_unlink },
	{ "deleting an account deletes its media", test_user_delete },
	{ "verify finds and repair fixes a wrong reference count",
	    test_verify_refs },
	{ "verify finds and repair releases references nothing holds",
	    test_verify_holders },
	{ "verify and repair over many messages and IDs", test_verify_many },
};

/* Runs every test, prints TAP, and removes the temporary tree. */
int
main(void)
{
	return (tap_run_tmpdir(tests, nitems(tests), "test_media", base,
	    sizeof base));
}
