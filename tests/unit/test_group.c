/* SPDX-License-Identifier: ISC */
/*
 * test_group.c: unit tests of store-groups.c, group.c and group-send.c,
 * the records and rules of groups, against a store in a temporary
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
	conf.max_group_members = 4;
	conf.max_groups_per_user = 2;
	conf.max_group_description = 16;
	conf.group_receipts_max = 4;
}

/* Sets these tests' limits and opens the test's store. */
static int
env_begin(struct env *e, const char *name)
{
	conf_reset();
	return (env_open(e, base, name, MAP_SIZE));
}

/* Registers user at 1000 with one claimed device, "phone". */
static int
reg(struct env *e, const char *user)
{
	return (env_user(e, user, "phone", 1000));
}

/* Registers alice, bob, carol and dave. */
static int
four(struct env *e)
{
	if (reg(e, "alice") != 0 || reg(e, "bob") != 0 ||
	    reg(e, "carol") != 0 || reg(e, "dave") != 0)
		return (-1);
	return (0);
}

/* The number of items in user's phone queue. */
static uint64_t
qlen(struct env *e, const char *user)
{
	struct dev_rec	r;

	if (store_device_get(&e->txn, user, "phone", &r) != STORE_OK)
		return (UINT64_MAX);
	return (r.count);
}

/* Queue walk callback: keeps the last item's frame as JSON. */
static int
last_fn(void *arg, const struct mid *mid, const struct item *it)
{
	json_t	**j = arg;

	(void)mid;
	json_decref(*j);
	*j = json_loadb(it->data, it->len, 0, NULL);
	return (STORE_WALK_NEXT);
}

/* The newest item of user's phone queue, parsed; NULL if none. */
static json_t *
last_item(struct env *e, const char *user)
{
	struct dev_rec	 r;
	json_t		*j = NULL;

	if (store_device_get(&e->txn, user, "phone", &r) != STORE_OK ||
	    store_queue_walk(&e->txn, r.qid, NULL, last_fn, &j) != STORE_OK)
		return (NULL);
	return (j);
}

/* Whether JSON j has string member k equal to v. */
static int
jstr(json_t *j, const char *k, const char *v)
{
	json_t	*m = json_object_get(j, k);

	return (json_is_string(m) && strcmp(json_string_value(m), v) == 0);
}

/* Creates #g by alice with the given members; res is left to free. */
static int
create(struct env *e, const char *group, const char *const *users,
    size_t n, struct grp_res *res)
{
	struct grp_req	req;

	memset(&req, 0, sizeof req);
	req.actor = "alice";
	req.group = group;
	req.now = 2000;
	req.title = "Title";
	req.admin_only_send = req.admin_only_info = -1;
	req.users = users;
	req.nusers = n;
	return (group_create(&e->txn, &e->gen, &conf, &req, res));
}

/* Runs op as actor on #g with users or user/role. */
static int
gop(struct env *e, int (*op)(struct txn *, struct midgen *,
    const struct conf *, const struct grp_req *, struct grp_res *),
    const char *actor, const char *const *users, size_t n, const char *user,
    int role, struct grp_res *res)
{
	struct grp_req	req;

	memset(&req, 0, sizeof req);
	req.actor = actor;
	req.group = "#g";
	req.now = 3000;
	req.admin_only_send = req.admin_only_info = -1;
	req.users = users;
	req.nusers = n;
	req.user = user;
	req.role = role;
	return (op(&e->txn, &e->gen, &conf, &req, res));
}

/* Sends to #g; res->targets is freed here. */
static int
gsend(struct env *e, const char *from, const char *id, struct send_res *res)
{
	struct send_req	req;
	int		rc;

	memset(&req, 0, sizeof req);
	req.from = from;
	req.from_device = "phone";
	req.to = "#g";
	req.id = id;
	req.now = 4000;
	req.body = json_string("hi");
	rc = queue_send(&e->txn, &e->gen, &conf, &req, res);
	json_decref(req.body);
	targets_free(&res->targets);
	return (rc);
}

/* Member walk callback: counts. */
static int
count_member(void *arg, const char *g, const char *u,
    const struct gmember_rec *r)
{
	(void)g;
	(void)u;
	(void)r;
	(*(int *)arg)++;
	return (STORE_WALK_NEXT);
}

/* Reverse-index walk callback: counts. */
static int
count_guser(void *arg, const char *u, const char *g)
{
	(void)u;
	(void)g;
	(*(int *)arg)++;
	return (STORE_WALK_NEXT);
}

/* store-groups.c: records round-trip; members and the index agree. */
static int
t_store_records(void)
{
	struct env		 e;
	struct group_rec	 g, g2;
	struct gmember_rec	 m, m2;
	char			*desc;
	int			 n, nobody;
	uint8_t			 f;
	struct mid		 mid = { 5, 1 };

	CHECK(env_begin(&e, "records") == 0);
	memset(&g, 0, sizeof g);
	g.created = 7;
	g.version = 3;
	g.members = 2;
	g.flags = GROUP_ADMIN_SEND;
	strlcpy(g.owner, "alice", sizeof g.owner);
	strlcpy(g.title, "T", sizeof g.title);
	CHECK(store_group_put(&e.txn, "#g", &g) == STORE_OK);
	CHECK(store_group_get(&e.txn, "#g", &g2) == STORE_OK);
	CHECK(g2.created == 7 && g2.version == 3 && g2.members == 2 &&
	    g2.flags == GROUP_ADMIN_SEND && strcmp(g2.owner, "alice") == 0 &&
	    strcmp(g2.title, "T") == 0);
	CHECK(store_group_get(&e.txn, "#h", &g2) == STORE_NOTFOUND);
	CHECK(store_gdesc_get(&e.txn, "#g", &desc) == STORE_OK);
	CHECK(strcmp(desc, "") == 0);
	free(desc);
	CHECK(store_gdesc_put(&e.txn, "#g", "about") == STORE_OK);
	CHECK(store_gdesc_get(&e.txn, "#g", &desc) == STORE_OK);
	CHECK(strcmp(desc, "about") == 0);
	free(desc);

	m.role = GROLE_ADMIN;
	m.joined = 1;
	m.since = 2;
	CHECK(store_gmember_put(&e.txn, "#g", "bob", &m) == STORE_OK);
	CHECK(store_gmember_put(&e.txn, "#g", "alice", &m) == STORE_OK);
	CHECK(store_gmember_put(&e.txn, "#gx", "bob", &m) == STORE_OK);
	CHECK(store_gmember_get(&e.txn, "#g", "bob", &m2) == STORE_OK);
	CHECK(m2.role == GROLE_ADMIN && m2.joined == 1 && m2.since == 2);
	n = 0;
	CHECK(store_gmember_walk(&e.txn, "#g", count_member, &n) == STORE_OK);
	CHECK(n == 2);		/* "#gx" is not "#g" */
	n = 0;
	CHECK(store_guser_walk(&e.txn, "bob", count_guser, &n) == STORE_OK);
	CHECK(n == 2);
	CHECK(store_gmember_del(&e.txn, "#g", "bob") == STORE_OK);
	n = 0;
	CHECK(store_guser_walk(&e.txn, "bob", count_guser, &n) == STORE_OK);
	CHECK(n == 1);
	CHECK(store_gmember_del(&e.txn, "#g", "bob") == STORE_NOTFOUND);

	CHECK(store_gname_get(&e.txn, "#g") == STORE_NOTFOUND);
	CHECK(store_gname_put(&e.txn, "#g", 7) == STORE_OK);
	CHECK(store_gname_get(&e.txn, "#g") == STORE_OK);

	CHECK(store_grcpt_get(&e.txn, &mid, "bob", &f) == STORE_NOTFOUND);
	CHECK(store_grcpt_put(&e.txn, &mid, "bob", GRCPT_READ) == STORE_OK);
	CHECK(store_grcpt_get(&e.txn, &mid, "bob", &f) == STORE_OK);
	CHECK(f == GRCPT_READ);
	CHECK(store_gmsg_drop(&e.txn, &mid) == STORE_OK);
	CHECK(store_grcpt_get(&e.txn, &mid, "bob", &f) == STORE_NOTFOUND);

	CHECK(store_gpref_get(&e.txn, "bob", &nobody) == STORE_OK);
	CHECK(nobody == 0);
	CHECK(store_gpref_put(&e.txn, "bob", 1) == STORE_OK);
	CHECK(store_gpref_get(&e.txn, "bob", &nobody) == STORE_OK);
	CHECK(nobody == 1);
	CHECK(env_close(&e) == 0);
	return (0);
}

/* group_create: events, refused, name_taken, group_full, no_such_user. */
static int
t_create(void)
{
	struct env	 e;
	struct grp_res	 res;
	const char	*users[] = { "bob", "carol" };
	const char	*ghost[] = { "bob", "ghost" };
	const char	*many[] = { "bob", "carol", "dave", "eve" };
	json_t		*j;
	int		 nobody;

	CHECK(env_begin(&e, "create") == 0);
	CHECK(four(&e) == 0);
	CHECK(store_block_put(&e.txn, "carol", "alice") == STORE_OK);
	CHECK(create(&e, "#g", users, 2, &res) == STORE_OK);
	CHECK(res.err == TE_OK);
	CHECK(json_array_size(res.refused) == 1);
	CHECK(strcmp(json_string_value(json_array_get(res.refused, 0)),
	    "carol") == 0);
	CHECK(res.targets.n == 2);	/* alice's and bob's phones */
	grp_res_free(&res);
	CHECK(qlen(&e, "carol") == 0);
	j = last_item(&e, "bob");
	CHECK(j != NULL && jstr(j, "event", "created") &&
	    json_integer_value(json_object_get(j, "version")) == 1 &&
	    json_array_size(json_object_get(j, "members")) == 2);
	json_decref(j);

	CHECK(create(&e, "#g", users, 2, &res) == STORE_OK);
	CHECK(res.err == TE_NAME_TAKEN);
	grp_res_free(&res);
	CHECK(create(&e, "#h", ghost, 2, &res) == STORE_OK);
	CHECK(res.err == TE_NO_SUCH_USER && strcmp(res.user, "ghost") == 0);
	grp_res_free(&res);
	CHECK(store_gname_get(&e.txn, "#h") == STORE_NOTFOUND);
	CHECK(store_block_del(&e.txn, "carol", "alice") == STORE_OK);
	CHECK(reg(&e, "eve") == 0);
	CHECK(create(&e, "#h", many, 4, &res) == STORE_OK);
	CHECK(res.err == TE_GROUP_FULL);
	grp_res_free(&res);

	/* group_add "nobody" refuses alike. */
	CHECK(store_gpref_put(&e.txn, "dave", 1) == STORE_OK);
	CHECK(store_gpref_get(&e.txn, "dave", &nobody) == STORE_OK);
	CHECK(create(&e, NULL, many + 1, 2, &res) == STORE_OK);
	CHECK(res.err == TE_OK && strlen(res.group) == 21 &&
	    res.group[0] == '#');
	CHECK(json_array_size(res.refused) == 1);
	grp_res_free(&res);

	/* alice is now in max_groups_per_user (2) groups. */
	CHECK(create(&e, "#k", NULL, 0, &res) == STORE_OK);
	CHECK(res.err == TE_TOO_MANY_GROUPS);
	grp_res_free(&res);
	CHECK(env_close(&e) == 0);
	return (0);
}

/* The permission table and owner succession. */
static int
t_roles(void)
{
	struct env		 e;
	struct grp_res		 res;
	struct group_rec	 g;
	struct gmember_rec	 m;
	const char		*users[] = { "bob", "carol", "dave" };
	const char		*carol[] = { "carol" };
	const char		*bob[] = { "bob" };

	CHECK(env_begin(&e, "roles") == 0);
	CHECK(four(&e) == 0);
	CHECK(create(&e, "#g", users, 3, &res) == STORE_OK && res.err == 0);
	grp_res_free(&res);
	/* A member may not remove, add or promote. */
	CHECK(gop(&e, group_remove, "bob", carol, 1, NULL, 0, &res) ==
	    STORE_OK && res.err == TE_FORBIDDEN);
	grp_res_free(&res);
	CHECK(gop(&e, group_role, "bob", NULL, 0, "carol", GROLE_ADMIN,
	    &res) == STORE_OK && res.err == TE_FORBIDDEN);
	grp_res_free(&res);
	/* The owner makes carol admin, then bob; carol became admin first. */
	CHECK(gop(&e, group_role, "alice", NULL, 0, "carol", GROLE_ADMIN,
	    &res) == STORE_OK && res.err == TE_OK);
	grp_res_free(&res);
	CHECK(gop(&e, group_role, "alice", NULL, 0, "bob", GROLE_ADMIN,
	    &res) == STORE_OK && res.err == TE_OK);
	grp_res_free(&res);
	/* An admin may not remove an admin nor demote one. */
	CHECK(gop(&e, group_remove, "carol", bob, 1, NULL, 0, &res) ==
	    STORE_OK && res.err == TE_FORBIDDEN);
	grp_res_free(&res);
	CHECK(gop(&e, group_role, "carol", NULL, 0, "bob", GROLE_MEMBER,
	    &res) == STORE_OK && res.err == TE_FORBIDDEN);
	grp_res_free(&res);
	/* Nobody removes the owner. */
	CHECK(gop(&e, group_remove, "carol", (const char *[]){ "alice" }, 1,
	    NULL, 0, &res) == STORE_OK && res.err == TE_FORBIDDEN);
	grp_res_free(&res);
	/* group_role of a non-member: no_such_user with user. */
	CHECK(gop(&e, group_role, "alice", NULL, 0, "eve", GROLE_ADMIN,
	    &res) == STORE_OK && res.err == TE_NO_SUCH_USER &&
	    strcmp(res.user, "eve") == 0);
	grp_res_free(&res);
	/* The owner leaves: carol, admin first, succeeds. */
	CHECK(gop(&e, group_leave, "alice", NULL, 0, NULL, 0, &res) ==
	    STORE_OK && res.err == TE_OK);
	grp_res_free(&res);
	CHECK(store_group_get(&e.txn, "#g", &g) == STORE_OK);
	CHECK(strcmp(g.owner, "carol") == 0 && g.members == 3);
	CHECK(store_gmember_get(&e.txn, "#g", "carol", &m) == STORE_OK &&
	    m.role == GROLE_OWNER);
	/* created 1, role 2, role 3, left 4, role 5. */
	CHECK(g.version == 5);
	/* Transfer: carol -> dave; carol becomes admin. */
	CHECK(gop(&e, group_role, "carol", NULL, 0, "dave", GROLE_OWNER,
	    &res) == STORE_OK && res.err == TE_OK);
	grp_res_free(&res);
	CHECK(store_gmember_get(&e.txn, "#g", "carol", &m) == STORE_OK &&
	    m.role == GROLE_ADMIN);
	CHECK(store_group_get(&e.txn, "#g", &g) == STORE_OK &&
	    strcmp(g.owner, "dave") == 0 && g.version == 7);
	/* Everyone leaves; the group goes, its name stays taken. */
	CHECK(gop(&e, group_leave, "bob", NULL, 0, NULL, 0, &res) == 0);
	grp_res_free(&res);
	CHECK(gop(&e, group_leave, "dave", NULL, 0, NULL, 0, &res) == 0);
	grp_res_free(&res);
	CHECK(gop(&e, group_leave, "carol", NULL, 0, NULL, 0, &res) == 0);
	grp_res_free(&res);
	CHECK(store_group_get(&e.txn, "#g", &g) == STORE_NOTFOUND);
	CHECK(gop(&e, group_leave, "carol", NULL, 0, NULL, 0, &res) == 0 &&
	    res.err == TE_NO_SUCH_GROUP);
	grp_res_free(&res);
	CHECK(create(&e, "#g", NULL, 0, &res) == STORE_OK &&
	    res.err == TE_NAME_TAKEN);
	grp_res_free(&res);
	CHECK(env_close(&e) == 0);
	return (0);
}

/* Send fan-out: expect, skipped, blocks, receipts per member. */
static int
t_send(void)
{
	struct env	 e;
	struct grp_res	 res;
	struct send_res	 sr;
	struct ack_res	 ar;
	struct targets	 t;
	const char	*users[] = { "bob", "carol", "dave" };
	json_t		*j;
	uint64_t	 before;
	int		 i;

	CHECK(env_begin(&e, "send") == 0);
	CHECK(four(&e) == 0);
	CHECK(create(&e, "#g", users, 3, &res) == STORE_OK && res.err == 0);
	grp_res_free(&res);
	/* dave blocked alice; carol's phone is full. */
	CHECK(store_block_put(&e.txn, "dave", "alice") == STORE_OK);
	for (i = 0; qlen(&e, "carol") < conf.max_queue; i++) {
		char	id[16];

		snprintf(id, sizeof id, "f%d", i);
		CHECK(gsend(&e, "bob", id, &sr) == STORE_OK && sr.err == 0);
	}
	before = qlen(&e, "bob");
	CHECK(gsend(&e, "alice", "m1", &sr) == STORE_OK);
	CHECK(sr.err == TE_OK && sr.group && sr.expect == 3 &&
	    sr.skipped == 1);
	CHECK(qlen(&e, "bob") == before + 1);
	CHECK(qlen(&e, "carol") == conf.max_queue);
	j = last_item(&e, "dave");
	CHECK(j == NULL || !jstr(j, "id", "m1"));
	json_decref(j);
	/* A repeat is a dup with the same promise. */
	CHECK(gsend(&e, "alice", "m1", &sr) == STORE_OK && sr.dup &&
	    sr.expect == 3 && sr.skipped == 1);
	/* bob's ack: one delivered receipt with group, by bob. */
	before = qlen(&e, "alice");
	memset(&ar, 0, sizeof ar);
	CHECK(queue_ack(&e.txn, &e.gen, &conf, "bob", "phone", &sr.mid, 5000,
	    &ar) == STORE_OK && ar.deleted);
	targets_free(&ar.targets);
	CHECK(qlen(&e, "alice") == before + 1);
	j = last_item(&e, "alice");
	CHECK(j != NULL && jstr(j, "op", "receipt") && jstr(j, "by", "bob") &&
	    jstr(j, "group", "#g") && jstr(j, "status", "delivered"));
	json_decref(j);
	/* bob's read: the read receipt only, once. */
	memset(&t, 0, sizeof t);
	CHECK(queue_read(&e.txn, &e.gen, &conf, "bob", &sr.mid, 5000, &t) ==
	    STORE_OK);
	targets_free(&t);
	CHECK(queue_read(&e.txn, &e.gen, &conf, "bob", &sr.mid, 5000, &t) ==
	    STORE_OK);
	targets_free(&t);
	CHECK(qlen(&e, "alice") == before + 2);
	/* A non-member's send and admin_only_send. */
	CHECK(reg(&e, "eve") == 0);
	CHECK(gsend(&e, "eve", "e1", &sr) == STORE_OK &&
	    sr.err == TE_NO_SUCH_GROUP);
	/* Over group_receipts_max: expect 0, and no receipt on ack. */
	conf.group_receipts_max = 3;
	CHECK(gsend(&e, "alice", "m2", &sr) == STORE_OK && sr.err == 0 &&
	    sr.expect == 0 && sr.skipped == 1);
	before = qlen(&e, "alice");
	memset(&ar, 0, sizeof ar);
	CHECK(queue_ack(&e.txn, &e.gen, &conf, "bob", "phone", &sr.mid, 5000,
	    &ar) == STORE_OK && ar.deleted && ar.targets.n == 0);
	CHECK(qlen(&e, "alice") == before);
	CHECK(env_close(&e) == 0);
	return (0);
}

/* Removal: the removed user gets its event after what it was sent. */
static int
t_remove(void)
{
	struct env	 e;
	struct grp_res	 res;
	struct send_res	 sr;
	const char	*users[] = { "bob", "carol" };
	const char	*bob[] = { "bob", "ghost" };
	json_t		*j;

	CHECK(env_begin(&e, "remove") == 0);
	CHECK(four(&e) == 0);
	CHECK(create(&e, "#g", users, 2, &res) == STORE_OK && res.err == 0);
	grp_res_free(&res);
	CHECK(gsend(&e, "carol", "c1", &sr) == STORE_OK && sr.err == 0);
	/* An unknown user among the removed: nothing changes. */
	CHECK(gop(&e, group_remove, "alice", bob, 2, NULL, 0, &res) ==
	    STORE_OK && res.err == TE_NO_SUCH_USER);
	grp_res_free(&res);
	CHECK(qlen(&e, "bob") == 2);
	CHECK(gop(&e, group_remove, "alice", bob, 1, NULL, 0, &res) ==
	    STORE_OK && res.err == TE_OK);
	grp_res_free(&res);
	CHECK(qlen(&e, "bob") == 3);
	j = last_item(&e, "bob");
	CHECK(j != NULL && jstr(j, "event", "removed"));
	json_decref(j);
	CHECK(gsend(&e, "carol", "c2", &sr) == STORE_OK && sr.err == 0 &&
	    sr.expect == 1);
	CHECK(qlen(&e, "bob") == 3);
	/* Removing a non-member changes nothing and queues no event. */
	CHECK(gop(&e, group_remove, "alice", bob, 1, NULL, 0, &res) ==
	    STORE_OK && res.err == TE_OK && res.targets.n == 0);
	grp_res_free(&res);
	CHECK(env_close(&e) == 0);
	return (0);
}

/* verify report callback: counts lines. */
static void
vline(void *arg, const char *line)
{
	(void)line;
	(*(int *)arg)++;
}

/* admin_group_verify: finds each inconsistency; repair fixes it. */
static int
t_verify(void)
{
	struct env		 e;
	struct grp_res		 res;
	struct gverify		 gv;
	struct group_rec	 g;
	struct gmember_rec	 m;
	const char		*users[] = { "bob", "carol" };
	int			 lines = 0;

	CHECK(env_begin(&e, "verify") == 0);
	CHECK(four(&e) == 0);
	CHECK(create(&e, "#g", users, 2, &res) == STORE_OK && res.err == 0);
	grp_res_free(&res);
	CHECK(admin_group_verify(&e.txn, 0, vline, &lines, &gv) == STORE_OK);
	CHECK(gv.problems == 0 && gv.groups == 1 && gv.members == 3 &&
	    lines == 0);
	/* An index entry lost, a stale one, a wrong count, no owner role. */
	CHECK(store_guser_del(&e.txn, "bob", "#g") == STORE_OK);
	CHECK(store_guser_put(&e.txn, "dave", "#g") == STORE_OK);
	CHECK(store_group_get(&e.txn, "#g", &g) == STORE_OK);
	g.members = 7;
	CHECK(store_group_put(&e.txn, "#g", &g) == STORE_OK);
	CHECK(store_gmember_get(&e.txn, "#g", "alice", &m) == STORE_OK);
	m.role = GROLE_ADMIN;
	CHECK(store_gmember_put(&e.txn, "#g", "alice", &m) == STORE_OK);
	/* A membership of a group that is gone. */
	m.role = GROLE_MEMBER;
	CHECK(store_gmember_put(&e.txn, "#gone", "dave", &m) == STORE_OK);
	CHECK(admin_group_verify(&e.txn, 0, vline, &lines, &gv) == STORE_OK);
	CHECK(gv.problems == 5 && gv.fixed == 0 && lines == 5);
	CHECK(admin_group_verify(&e.txn, 1, vline, &lines, &gv) == STORE_OK);
	CHECK(gv.problems == 5 && gv.fixed == 5);
	CHECK(admin_group_verify(&e.txn, 0, vline, &lines, &gv) == STORE_OK);
	CHECK(gv.problems == 0 && gv.members == 3);
	CHECK(store_group_get(&e.txn, "#g", &g) == STORE_OK &&
	    g.members == 3);
	CHECK(store_gmember_get(&e.txn, "#g", "alice", &m) == STORE_OK &&
	    m.role == GROLE_OWNER);
	CHECK(env_close(&e) == 0);
	return (0);
}

static const struct test tests[] = {
	{ "store-groups: records, members and the reverse index",
	    t_store_records },
	{ "group_create: events, refused, name_taken, group_full",
	    t_create },
	{ "permissions, transfer, owner succession, names never reused",
	    t_roles },
	{ "group send: expect, skipped, blocks, receipts per member",
	    t_send },
	{ "group_remove: order of the removed event, unknown users",
	    t_remove },
	{ "verify and repair of the group records", t_verify },
};

int
main(void)
{
	return (tap_run_tmpdir(tests, nitems(tests), "test_group", base,
	    sizeof base));
}
