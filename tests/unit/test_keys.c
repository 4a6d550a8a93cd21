/* SPDX-License-Identifier: ISC */
/*
 * test_keys.c: unit tests of keys.c and store-keys.c, the key directory's
 * rules (tickd-protocol(7) KEY DIRECTORY) over a store in a temporary
 * directory.  Prints TAP; exits 0 only if every test passed.
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

/*
 * Sets these tests' limits and opens the test's store with users alice
 * (phone, laptop) and bob (the default device).
 */
static int
env_begin(struct env *e, const char *name)
{
	struct dev_rec	r;
	char		out[NAME_DEVICE_MAX + 1];

	memset(&conf, 0, sizeof conf);
	conf.max_key_bytes = 64;
	conf.max_prekeys = 4;
	conf.prekeys_low = 2;
	if (env_open(e, base, name, MAP_SIZE) != 0)
		return (-1);
	if (env_user(e, "alice", "phone", 1) != 0 ||
	    account_claim_device(&e->txn, "alice", "laptop", 1, out, &r) !=
	    STORE_OK ||
	    env_user(e, "bob", NULL, 1) != 0)
		return (-1);
	return (0);
}

/* Parses frame text as a keys_upload; 0 if it parsed. */
static int
parse(const char *text, struct keys_upload *up)
{
	const char	*why;
	json_t		*j;
	int		 rc;

	if ((j = json_loads(text, 0, NULL)) == NULL) {
		printf("# bad test JSON: %s\n", text);
		memset(up, 0, sizeof *up);
		return (-2);
	}
	rc = keys_upload_parse(j, &conf, up, &why);
	json_decref(j);
	return (rc);
}

/* Parses and applies an upload by user's device; the error in *err. */
static int
upload(struct env *e, const char *user, const char *device,
    const char *text, enum tick_err *err)
{
	struct keys_upload	 up;
	const char		*why;
	int			 rc;

	if (parse(text, &up) != 0) {
		keys_upload_free(&up);
		*err = TE_BAD_REQUEST;
		return (STORE_OK);
	}
	rc = keys_upload(&e->txn, &conf, user, device, &up, err, &why);
	keys_upload_free(&up);
	return (rc);
}

/* The first upload every test starts from: prekeys 1..3, no KEM pool. */
static const char first[] = "{\"identity\":\"SUQx\","
    "\"signed_prekey\":{\"id\":7,\"key\":\"U1BL\",\"sig\":\"U0lH\"},"
    "\"prekeys\":[{\"id\":3,\"key\":\"UDM=\"},{\"id\":1,\"key\":\"UDE=\"},"
    "{\"id\":2,\"key\":\"UDI=\"}]}";

/* A fetch of user (device if not NULL); res must be freed. */
static int
fetch(struct env *e, const char *user, const char *device,
    struct keys_fetch_res *res)
{
	return (keys_fetch(&e->txn, &e->gen, &conf, user, device, 100, res));
}

/* The "id" of member name of the first bundle, or -1 if it is null. */
static long long
bundle_id(const struct keys_fetch_res *res, size_t i, const char *name)
{
	json_t	*b = json_array_get(res->devices, i);
	json_t	*k = json_object_get(b, name);

	if (!json_is_object(k))
		return (-1);
	return (json_integer_value(json_object_get(k, "id")));
}

/* A string member of a key of bundle i, or "". */
static const char *
bundle_str(const struct keys_fetch_res *res, size_t i, const char *name,
    const char *member)
{
	json_t	*b = json_array_get(res->devices, i);
	json_t	*v = json_object_get(b, name);

	if (member != NULL)
		v = json_object_get(v, member);
	return (json_is_string(v) ? json_string_value(v) : "");
}

static int
test_b64(void)
{
	static const char *const bad[] = { "", "Q", "QQ", "QQ=", "QR==",
	    "QUI=x", "Q===", "=QQQ", "QU=I", "QU!I", "QUJ=QUJD", "QUJD\n" };
	uint8_t		*p;
	char		*s;
	size_t		 n, i;

	CHECK((p = keys_b64_decode("QUJD", 4, 64, &n)) != NULL && n == 3 &&
	    memcmp(p, "ABC", 3) == 0);
	free(p);
	CHECK((p = keys_b64_decode("QUI=", 4, 64, &n)) != NULL && n == 2 &&
	    memcmp(p, "AB", 2) == 0);
	free(p);
	CHECK((p = keys_b64_decode("QQ==", 4, 64, &n)) != NULL && n == 1 &&
	    p[0] == 'A');
	free(p);
	CHECK((p = keys_b64_decode("+/+/", 4, 64, &n)) != NULL && n == 3 &&
	    p[0] == 0xfb && p[1] == 0xff && p[2] == 0xbf);
	free(p);
	for (i = 0; i < nitems(bad); i++) {
		if ((p = keys_b64_decode(bad[i], strlen(bad[i]), 64, &n)) !=
		    NULL) {
			printf("# accepted \"%s\"\n", bad[i]);
			free(p);
			return (1);
		}
	}
	/* max is of the decoded bytes: 3 fits, 4 does not. */
	CHECK((p = keys_b64_decode("QUJD", 4, 3, &n)) != NULL);
	free(p);
	CHECK(keys_b64_decode("QUJDRA==", 8, 3, &n) == NULL);
	CHECK((s = keys_b64_encode((const uint8_t *)"ABCD", 4)) != NULL &&
	    strcmp(s, "QUJDRA==") == 0);
	free(s);
	CHECK((s = keys_b64_encode((const uint8_t *)"AB", 2)) != NULL &&
	    strcmp(s, "QUI=") == 0);
	free(s);
	return (0);
}

static int
test_parse(void)
{
	static const char *const bad[] = {
		"{\"identity\":\"QQ\"}",
		"{\"identity\":\"\"}",
		"{\"identity\":null}",
		"{\"identity\":5}",
		"{\"signed_prekey\":{\"id\":1,\"key\":\"QQ==\"}}",
		"{\"signed_prekey\":{\"id\":-1,\"key\":\"QQ==\","
		    "\"sig\":\"QQ==\"}}",
		"{\"signed_prekey\":{\"id\":2147483648,\"key\":\"QQ==\","
		    "\"sig\":\"QQ==\"}}",
		"{\"signed_prekey\":{\"id\":1.0,\"key\":\"QQ==\","
		    "\"sig\":\"QQ==\"}}",
		"{\"signed_prekey\":{\"id\":\"1\",\"key\":\"QQ==\","
		    "\"sig\":\"QQ==\"}}",
		"{\"prekeys\":{\"id\":1,\"key\":\"QQ==\"}}",
		"{\"prekeys\":[{\"id\":1,\"key\":\"QQ==\"},{\"id\":1,"
		    "\"key\":\"Qg==\"}]}",
		"{\"prekeys\":[{\"id\":1}]}",
		"{\"prekeys\":[5]}",
		"{\"kem_prekeys\":[{\"id\":1,\"key\":\"QQ==\"}]}",
		"{\"kem_last_resort\":{\"id\":1,\"key\":\"QQ==\"}}",
		"{\"replace\":1}",
		/* 65 bytes decoded, max_key_bytes is 64. */
		"{\"identity\":\"QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"
		    "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=\"}",
	};
	struct keys_upload	up;
	size_t			i;

	memset(&conf, 0, sizeof conf);
	conf.max_key_bytes = 64;
	for (i = 0; i < nitems(bad); i++) {
		if (parse(bad[i], &up) != -1) {
			printf("# accepted %s\n", bad[i]);
			keys_upload_free(&up);
			return (1);
		}
		keys_upload_free(&up);
	}
	CHECK(parse(first, &up) == 0 && up.idlen == 3 && up.has_spk &&
	    up.spk.id == 7 && up.npre == 3 && up.pre[0].id == 1 &&
	    up.pre[2].id == 3 && !up.has_kem && !up.replace);
	keys_upload_free(&up);
	CHECK(parse("{\"prekeys\":[],\"replace\":true,\"kem_prekeys\":[{\"id\":"
	    "2147483647,\"key\":\"QQ==\",\"sig\":\"QQ==\"}]}", &up) == 0 &&
	    up.has_pre && up.npre == 0 && up.replace && up.nkem == 1 &&
	    up.kem[0].id == 2147483647u);
	keys_upload_free(&up);
	return (0);
}

static int
test_first_upload(void)
{
	struct env	e;
	enum tick_err	err;
	uint64_t	np, nk;

	CHECK(env_begin(&e, "first") == 0);
	CHECK(upload(&e, "alice", "phone", "{\"identity\":\"SUQx\"}", &err) ==
	    STORE_OK && err == TE_BAD_REQUEST);
	CHECK(upload(&e, "alice", "phone", "{\"signed_prekey\":{\"id\":1,"
	    "\"key\":\"QQ==\",\"sig\":\"QQ==\"}}", &err) == STORE_OK &&
	    err == TE_BAD_REQUEST);
	CHECK(keys_count(&e.txn, "alice", "phone", &np, &nk) == STORE_OK &&
	    np == 0 && nk == 0);
	CHECK(upload(&e, "alice", "phone", first, &err) == STORE_OK &&
	    err == TE_OK);
	CHECK(keys_count(&e.txn, "alice", "phone", &np, &nk) == STORE_OK &&
	    np == 3 && nk == 0);
	/* Later uploads need neither. */
	CHECK(upload(&e, "alice", "phone", "{\"prekeys\":[{\"id\":9,\"key\":"
	    "\"UDk=\"}]}", &err) == STORE_OK && err == TE_OK);
	CHECK(keys_count(&e.txn, "alice", "phone", &np, &nk) == STORE_OK &&
	    np == 4);
	CHECK(env_close(&e) == 0);
	return (0);
}

static int
test_pools(void)
{
	struct keys_fetch_res	res;
	struct env		e;
	enum tick_err		err;
	uint64_t		np, nk;

	CHECK(env_begin(&e, "pools") == 0);
	CHECK(upload(&e, "alice", "phone", first, &err) == STORE_OK &&
	    err == TE_OK);
	/* An id already in the pool replaces its key; the size stays. */
	CHECK(upload(&e, "alice", "phone", "{\"prekeys\":[{\"id\":1,\"key\":"
	    "\"TkVX\"},{\"id\":4,\"key\":\"UDQ=\"}]}", &err) == STORE_OK &&
	    err == TE_OK);
	CHECK(keys_count(&e.txn, "alice", "phone", &np, &nk) == STORE_OK &&
	    np == 4);
	/* Over max_prekeys (4): too_large, nothing stored. */
	CHECK(upload(&e, "alice", "phone", "{\"prekeys\":[{\"id\":5,\"key\":"
	    "\"UDU=\"}],\"kem_prekeys\":[{\"id\":1,\"key\":\"SzE=\",\"sig\":"
	    "\"U0k=\"}]}", &err) == STORE_OK && err == TE_TOO_LARGE);
	CHECK(keys_count(&e.txn, "alice", "phone", &np, &nk) == STORE_OK &&
	    np == 4 && nk == 0);
	/* replace empties only the pools given. */
	CHECK(upload(&e, "alice", "phone", "{\"replace\":true,\"kem_prekeys\":"
	    "[{\"id\":1,\"key\":\"SzE=\",\"sig\":\"U0k=\"}]}", &err) ==
	    STORE_OK && err == TE_OK);
	CHECK(keys_count(&e.txn, "alice", "phone", &np, &nk) == STORE_OK &&
	    np == 4 && nk == 1);
	CHECK(upload(&e, "alice", "phone", "{\"replace\":true,\"prekeys\":"
	    "[{\"id\":8,\"key\":\"UDg=\"},{\"id\":6,\"key\":\"UDY=\"},"
	    "{\"id\":7,\"key\":\"UDc=\"},{\"id\":5,\"key\":\"UDU=\"}]}",
	    &err) == STORE_OK && err == TE_OK);
	CHECK(keys_count(&e.txn, "alice", "phone", &np, &nk) == STORE_OK &&
	    np == 4 && nk == 1);
	CHECK(fetch(&e, "alice", "phone", &res) == STORE_OK &&
	    json_array_size(res.devices) == 1 &&
	    bundle_id(&res, 0, "prekey") == 5 &&
	    bundle_id(&res, 0, "kem_prekey") == 1 &&
	    strcmp(bundle_str(&res, 0, "kem_prekey", "sig"), "U0k=") == 0);
	keys_fetch_free(&res);
	CHECK(env_close(&e) == 0);
	return (0);
}

static int
test_identity(void)
{
	struct keys_fetch_res	res;
	struct env		e;
	enum tick_err		err;
	uint64_t		np, nk;

	CHECK(env_begin(&e, "identity") == 0);
	CHECK(upload(&e, "alice", "phone", first, &err) == STORE_OK &&
	    err == TE_OK);
	CHECK(upload(&e, "alice", "phone", "{\"kem_prekeys\":[{\"id\":1,"
	    "\"key\":\"SzE=\",\"sig\":\"U0k=\"}],\"kem_last_resort\":{\"id\":"
	    "50,\"key\":\"TFI=\",\"sig\":\"U0k=\"}}", &err) == STORE_OK &&
	    err == TE_OK);
	/* The same identity again is no change, needs no signed_prekey. */
	CHECK(upload(&e, "alice", "phone", "{\"identity\":\"SUQx\"}", &err) ==
	    STORE_OK && err == TE_OK);
	CHECK(keys_count(&e.txn, "alice", "phone", &np, &nk) == STORE_OK &&
	    np == 3 && nk == 1);
	/* A new one without a signed_prekey is refused, nothing changes. */
	CHECK(upload(&e, "alice", "phone", "{\"identity\":\"SUQy\"}", &err) ==
	    STORE_OK && err == TE_BAD_REQUEST);
	CHECK(keys_count(&e.txn, "alice", "phone", &np, &nk) == STORE_OK &&
	    np == 3 && nk == 1);
	/* With one, both pools and the last-resort key go (rule 3). */
	CHECK(upload(&e, "alice", "phone", "{\"identity\":\"SUQy\","
	    "\"signed_prekey\":{\"id\":8,\"key\":\"UzI=\",\"sig\":\"UzI=\"},"
	    "\"prekeys\":[{\"id\":40,\"key\":\"UDQw\"}]}", &err) == STORE_OK &&
	    err == TE_OK);
	CHECK(keys_count(&e.txn, "alice", "phone", &np, &nk) == STORE_OK &&
	    np == 1 && nk == 0);
	CHECK(fetch(&e, "alice", "phone", &res) == STORE_OK &&
	    json_array_size(res.devices) == 1 &&
	    strcmp(bundle_str(&res, 0, "identity", NULL), "SUQy") == 0 &&
	    bundle_id(&res, 0, "signed_prekey") == 8 &&
	    bundle_id(&res, 0, "prekey") == 40 &&
	    bundle_id(&res, 0, "kem_prekey") == -1);
	keys_fetch_free(&res);
	CHECK(env_close(&e) == 0);
	return (0);
}

static int
test_fetch(void)
{
	struct keys_fetch_res	res;
	struct env		e;
	enum tick_err		err;
	long long		got[4];
	int			i;

	CHECK(env_begin(&e, "fetch") == 0);
	CHECK(upload(&e, "alice", "phone", first, &err) == STORE_OK &&
	    err == TE_OK);
	CHECK(upload(&e, "alice", "laptop", first, &err) == STORE_OK &&
	    err == TE_OK);
	CHECK(upload(&e, "alice", "phone", "{\"kem_last_resort\":{\"id\":50,"
	    "\"key\":\"TFI=\",\"sig\":\"U0k=\"}}", &err) == STORE_OK &&
	    err == TE_OK);
	/* Every device with keys, by name; the lowest id first. */
	CHECK(fetch(&e, "alice", NULL, &res) == STORE_OK && res.err == TE_OK &&
	    json_array_size(res.devices) == 2 &&
	    strcmp(bundle_str(&res, 0, "device", NULL), "laptop") == 0 &&
	    strcmp(bundle_str(&res, 1, "device", NULL), "phone") == 0 &&
	    bundle_id(&res, 0, "prekey") == 1 &&
	    bundle_id(&res, 1, "prekey") == 1 &&
	    bundle_id(&res, 0, "kem_prekey") == -1 &&
	    bundle_id(&res, 1, "kem_prekey") == 50 && res.taken == 2);
	keys_fetch_free(&res);
	/* Each fetch takes another key, then none is left: null. */
	for (i = 0; i < 4; i++) {
		CHECK(fetch(&e, "alice", "phone", &res) == STORE_OK &&
		    json_array_size(res.devices) == 1);
		got[i] = bundle_id(&res, 0, "prekey");
		/* The last-resort key is never taken. */
		CHECK(bundle_id(&res, 0, "kem_prekey") == 50);
		CHECK(res.empty == (got[i] == -1));
		keys_fetch_free(&res);
	}
	CHECK(got[0] == 2 && got[1] == 3 && got[2] == -1 && got[3] == -1);
	/* No keys, no such device: none; no such user: the error. */
	CHECK(fetch(&e, "bob", NULL, &res) == STORE_OK && res.err == TE_OK &&
	    json_array_size(res.devices) == 0);
	keys_fetch_free(&res);
	CHECK(fetch(&e, "alice", "tablet", &res) == STORE_OK &&
	    res.err == TE_OK && json_array_size(res.devices) == 0);
	keys_fetch_free(&res);
	CHECK(fetch(&e, "zed", NULL, &res) == STORE_OK &&
	    res.err == TE_NO_SUCH_USER);
	keys_fetch_free(&res);
	CHECK(env_close(&e) == 0);
	return (0);
}

/* Queue walk callback: counts keys_low items and keeps the last frame. */
static int
low_fn(void *arg, const struct mid *mid, const struct item *it)
{
	json_t	**last = arg;

	(void)mid;
	if (it->kind != ITEM_KEYS_LOW)
		return (STORE_WALK_NEXT);
	json_decref(*last);
	*last = json_loadb(it->data, it->len, 0, NULL);
	return (STORE_WALK_NEXT);
}

/* The keys_low items in alice/phone's queue, and the last one. */
static int
lows(struct env *e, json_t **last, uint64_t *count)
{
	struct dev_rec	r;

	*last = NULL;
	if (store_device_get(&e->txn, "alice", "phone", &r) != STORE_OK)
		return (-1);
	*count = r.count;
	return (store_queue_walk(&e->txn, r.qid, NULL, low_fn, last));
}

static int
test_keys_low(void)
{
	struct keys_fetch_res	res;
	struct sweep_res	sw;
	struct env		e;
	enum tick_err		err;
	json_t			*last;
	uint64_t		count;

	CHECK(env_begin(&e, "low") == 0);
	CHECK(upload(&e, "alice", "phone", first, &err) == STORE_OK &&
	    err == TE_OK);
	CHECK(upload(&e, "alice", "phone", "{\"kem_prekeys\":[{\"id\":1,"
	    "\"key\":\"SzE=\",\"sig\":\"U0k=\"},{\"id\":2,\"key\":\"SzI=\","
	    "\"sig\":\"U0k=\"},{\"id\":3,\"key\":\"SzM=\",\"sig\":\"U0k=\"}]}",
	    &err) == STORE_OK && err == TE_OK);
	/* 3 and 3 leave 2 and 2: not below prekeys_low (2). */
	CHECK(fetch(&e, "alice", NULL, &res) == STORE_OK && res.low.n == 0);
	keys_fetch_free(&res);
	CHECK(lows(&e, &last, &count) == STORE_OK && last == NULL &&
	    count == 0);
	/* 1 and 1: one keys_low with the counts after the fetch. */
	CHECK(fetch(&e, "alice", NULL, &res) == STORE_OK && res.low.n == 1 &&
	    strcmp(res.low.v[0].device, "phone") == 0);
	keys_fetch_free(&res);
	CHECK(lows(&e, &last, &count) == STORE_OK && last != NULL &&
	    count == 1);
	CHECK(strcmp(json_string_value(json_object_get(last, "op")),
	    "keys_low") == 0 &&
	    json_integer_value(json_object_get(last, "prekeys")) == 1 &&
	    json_integer_value(json_object_get(last, "kem_prekeys")) == 1 &&
	    json_is_string(json_object_get(last, "mid")) &&
	    json_integer_value(json_object_get(last, "ts")) == 100);
	json_decref(last);
	/* Not again until the next upload. */
	CHECK(fetch(&e, "alice", NULL, &res) == STORE_OK && res.low.n == 0);
	keys_fetch_free(&res);
	CHECK(lows(&e, &last, &count) == STORE_OK && count == 1);
	json_decref(last);
	CHECK(upload(&e, "alice", "phone", "{}", &err) == STORE_OK &&
	    err == TE_OK);
	CHECK(fetch(&e, "alice", NULL, &res) == STORE_OK && res.low.n == 1);
	keys_fetch_free(&res);
	CHECK(lows(&e, &last, &count) == STORE_OK && count == 2 &&
	    json_integer_value(json_object_get(last, "prekeys")) == 0);
	json_decref(last);
	/* Like any item, a keys_low is dropped after message_ttl. */
	conf.message_ttl = 500;
	conf.dedup_window = 500;
	conf.device_ttl = 100000;
	conf.token_ttl = 100000;
	CHECK(queue_sweep(&e.txn, &e.gen, &conf, 1000, NULL, NULL,
	    &sw) == STORE_OK &&
	    sw.items == 2);
	targets_free(&sw.removed);
	CHECK(lows(&e, &last, &count) == STORE_OK && last == NULL &&
	    count == 0);
	CHECK(env_close(&e) == 0);
	return (0);
}

static int
test_removed(void)
{
	struct keys_fetch_res	res;
	struct admin_del	del;
	struct env		e;
	enum tick_err		err;
	uint64_t		np, nk;

	CHECK(env_begin(&e, "removed") == 0);
	CHECK(upload(&e, "alice", "phone", first, &err) == STORE_OK &&
	    err == TE_OK);
	CHECK(upload(&e, "alice", "laptop", first, &err) == STORE_OK &&
	    err == TE_OK);
	CHECK(upload(&e, "bob", "default", first, &err) == STORE_OK &&
	    err == TE_OK);
	CHECK(account_remove_device(&e.txn, &e.gen, "alice", "phone",
	    5) == STORE_OK);
	CHECK(keys_count(&e.txn, "alice", "phone", &np, &nk) == STORE_OK &&
	    np == 0 && nk == 0);
	CHECK(fetch(&e, "alice", NULL, &res) == STORE_OK &&
	    json_array_size(res.devices) == 1 &&
	    strcmp(bundle_str(&res, 0, "device", NULL), "laptop") == 0);
	keys_fetch_free(&res);
	CHECK(store_prekey_get(&e.txn, "alice", "phone", KEY_POOL_PRE, 2,
	    &(struct key_rec){ 0 }) == STORE_NOTFOUND);
	/* A device of the same name later starts without keys. */
	CHECK(upload(&e, "alice", "phone", "{}", &err) == STORE_OK &&
	    err == TE_BAD_REQUEST);
	CHECK(admin_user_delete(&e.txn, &e.gen, "bob", &del) == STORE_OK);
	CHECK(keys_count(&e.txn, "bob", "default", &np, &nk) == STORE_OK &&
	    np == 0);
	CHECK(store_prekey_get(&e.txn, "bob", "default", KEY_POOL_PRE, 1,
	    &(struct key_rec){ 0 }) == STORE_NOTFOUND);
	CHECK(store_prekey_get(&e.txn, "alice", "laptop", KEY_POOL_PRE, 2,
	    &(struct key_rec){ 0 }) == STORE_OK);
	CHECK(env_close(&e) == 0);
	return (0);
}

static int
test_durable(void)
{
	struct keys_fetch_res	 res;
	struct env		 e;
	struct txn		 txn;
	enum tick_err		 err;
	char			*cause;
	uint64_t		 np, nk;

	CHECK(env_begin(&e, "durable") == 0);
	CHECK(upload(&e, "alice", "phone", first, &err) == STORE_OK &&
	    err == TE_OK);
	CHECK(fetch(&e, "alice", "phone", &res) == STORE_OK);
	keys_fetch_free(&res);
	CHECK(env_close(&e) == 0);
	/* What a committed fetch took stays taken. */
	CHECK(store_open(&e.s, e.dir, MAP_SIZE, &cause) == STORE_OK);
	CHECK(store_txn_begin(e.s, &txn, 1) == STORE_OK);
	e.txn = txn;
	CHECK(keys_count(&e.txn, "alice", "phone", &np, &nk) == STORE_OK &&
	    np == 2);
	CHECK(fetch(&e, "alice", "phone", &res) == STORE_OK &&
	    bundle_id(&res, 0, "prekey") == 2);
	keys_fetch_free(&res);
	CHECK(env_close(&e) == 0);
	return (0);
}

/* verify's report callback: counts the lines and prints them. */
static void
count_line(void *arg, const char *line)
{
	(*(int *)arg)++;
	printf("# verify: %s\n", line);
}

static int
test_verify(void)
{
	struct keydev_rec	 r;
	struct key_rec		 k;
	struct env		 e;
	enum tick_err		 err;
	json_t			*sum;
	int			 lines;

	CHECK(env_begin(&e, "verify") == 0);
	CHECK(upload(&e, "alice", "phone", first, &err) == STORE_OK &&
	    err == TE_OK);
	CHECK(upload(&e, "alice", "laptop", first, &err) == STORE_OK &&
	    err == TE_OK);
	lines = 0;
	CHECK(admin_verify(&e.txn, 0, count_line, &lines, &sum) == STORE_OK);
	CHECK(lines == 0 && json_is_true(json_object_get(sum, "consistent")) &&
	    json_integer_value(json_object_get(sum, "key_devices")) == 2 &&
	    json_integer_value(json_object_get(sum, "one_time_keys")) == 6);
	json_decref(sum);
	/* Plant: a wrong pool size, an orphan key, keys of a gone device. */
	CHECK(store_keydev_get(&e.txn, "alice", "phone", &r) == STORE_OK);
	r.npre = 9;
	CHECK(store_keydev_put(&e.txn, "alice", "phone", &r) == STORE_OK);
	memset(&k, 0, sizeof k);
	k.id = 5;
	k.key = r.spk.key;
	k.keylen = r.spk.keylen;
	CHECK(store_prekey_put(&e.txn, "bob", "ghost", KEY_POOL_PRE, &k) ==
	    STORE_OK);
	store_keydev_free(&r);
	CHECK(store_device_del(&e.txn, "alice", "laptop") == STORE_OK);
	lines = 0;
	CHECK(admin_verify(&e.txn, 0, count_line, &lines, &sum) == STORE_OK);
	CHECK(lines >= 3 && !json_is_true(json_object_get(sum, "consistent")));
	json_decref(sum);
	lines = 0;
	CHECK(admin_verify(&e.txn, 1, count_line, &lines, &sum) == STORE_OK);
	json_decref(sum);
	lines = 0;
	CHECK(admin_verify(&e.txn, 0, count_line, &lines, &sum) == STORE_OK);
	CHECK(lines == 0 && json_is_true(json_object_get(sum, "consistent")) &&
	    json_integer_value(json_object_get(sum, "key_devices")) == 1 &&
	    json_integer_value(json_object_get(sum, "one_time_keys")) == 3);
	json_decref(sum);
	CHECK(store_keydev_get(&e.txn, "alice", "phone", &r) == STORE_OK &&
	    r.npre == 3);
	store_keydev_free(&r);
	CHECK(env_close(&e) == 0);
	return (0);
}

static const struct test tests[] = {
	{ "keys_b64: padded base64, one spelling, max decoded", test_b64 },
	{ "keys_upload_parse: every bad member is bad_request", test_parse },
	{ "keys_upload: the first needs identity and signed_prekey",
	    test_first_upload },
	{ "keys_upload: pools add, replace by id, replace, max_prekeys",
	    test_pools },
	{ "keys_upload: a new identity empties pools and last resort",
	    test_identity },
	{ "keys_fetch: devices by name, lowest id taken once, last resort",
	    test_fetch },
	{ "keys_fetch: one keys_low until the next upload; message_ttl",
	    test_keys_low },
	{ "keys: deleted with the device and the user", test_removed },
	{ "keys_fetch: a committed take survives a reopen", test_durable },
	{ "verify: finds and repairs orphan keys and wrong pool sizes",
	    test_verify },
};

/* Runs every test, prints TAP, and removes the temporary tree. */
int
main(void)
{
	return (tap_run_tmpdir(tests, nitems(tests), "test_keys", base,
	    sizeof base));
}
