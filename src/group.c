/* SPDX-License-Identifier: ISC */
/*
 * group.c: the rules of groups (tickd-protocol(7) GROUPS) over the store:
 * who may do what, the events every change queues and owner succession.
 * The fan-out of a group send, its receipts and typing are group-send.c's.
 *
 * As in queue.c nothing here does I/O.  The caller runs these functions
 * inside the one write transaction of an event-loop turn, commits, and
 * only then replies and pushes to the devices listed in the targets.  An
 * error return means that transaction must be aborted.  Every request is
 * checked completely before anything is written, in the order of the
 * bad-input table of tickd-protocol(7), so a refused request changes
 * nothing.
 */
#include <sys/random.h>

#include <stdlib.h>
#include <string.h>

#include "tickd.h"

static const char *const role_names[] = {
	[GROLE_MEMBER] = "member",
	[GROLE_ADMIN] = "admin",
	[GROLE_OWNER] = "owner",
};

/* Collects a member list: names in order, with their records. */
struct gmem {
	char			user[NAME_USER_MAX + 1];
	struct gmember_rec	r;
};
struct gmems {
	struct gmem	*v;
	size_t		 n, cap;
};

/* Fails the transaction for a reason of ours, as store.h describes. */
int
group_abandon(struct txn *txn)
{
	txn->ret = STORE_ERR;
	return (STORE_ERR);
}

/* A group name: '#' then 1-64 bytes of [a-z0-9._+-]. */
int
valid_group(const char *s, size_t len)
{
	return (len >= 2 && s[0] == '#' && valid_user(s + 1, len - 1));
}

/* The role named s, or -1. */
int
group_role_parse(const char *s)
{
	size_t	i;

	for (i = 0; i < sizeof role_names / sizeof role_names[0]; i++)
		if (strcmp(s, role_names[i]) == 0)
			return ((int)i);
	return (-1);
}

/* The message of each refusal group.c can give. */
static const char *const err_messages[] = {
	[TE_NAME_TAKEN] = "that group name is or was in use",
	[TE_NO_SUCH_GROUP] = "no such group",
	[TE_FORBIDDEN] = "your role does not allow this",
	[TE_GROUP_FULL] = "the group would exceed max_group_members",
	[TE_TOO_MANY_GROUPS] = "you are in max_groups_per_user groups",
	[TE_TOO_LARGE] = "body exceeds max_message_bytes",
	[TE_UNAVAILABLE] = "a user's home node did not answer; the request "
	    "may be repeated",
};

/* What a refusal of group.c says, or NULL. */
const char *
group_err_message(enum tick_err e)
{
	if ((size_t)e >= sizeof err_messages / sizeof err_messages[0])
		return (NULL);
	return (err_messages[e]);
}

/* The name of role r. */
const char *
group_role_name(int r)
{
	if (r < 0 || (size_t)r >= sizeof role_names / sizeof role_names[0])
		return ("member");
	return (role_names[r]);
}

/* Frees what a group_res holds and leaves it empty. */
void
grp_res_free(struct grp_res *res)
{
	json_decref(res->refused);
	json_decref(res->info);
	targets_free(&res->targets);
	memset(res, 0, sizeof *res);
}

/* Device walk callback: collects a user's devices into a gdevs. */
static int
gdev_fn(void *arg, const char *user, const char *device,
    const struct dev_rec *r)
{
	struct gdevs	*d = arg;
	struct gdev	*gd;

	(void)user;
	if (d->n == d->cap)
		d->v = xgrow(d->v, &d->cap, sizeof *d->v, 4);
	gd = &d->v[d->n++];
	strlcpy(gd->device, device, sizeof gd->device);
	gd->r = *r;
	return (STORE_WALK_NEXT);
}

/*
 * Puts one item into the queue of every device of user but skip (a device
 * name, or NULL); a device holding limit items is not given it and counted
 * in *skipped.  Each device that got it is listed in out.
 */
int
group_user_items(struct gctx *x, const char *user, const char *skip,
    uint64_t limit, const struct mid *mid, const struct item *it,
    uint64_t *skipped, uint64_t *items)
{
	struct gdev	*d;
	size_t		 i;
	int		 rc;

	/* A member homed on another node gets it through a gev record. */
	if ((rc = group_fan_add(x, user, mid, it)) != 0)
		return (rc < 0 ? rc : STORE_OK);
	x->devs.n = 0;
	if ((rc = store_device_walk(x->txn, user, gdev_fn, &x->devs)) !=
	    STORE_OK)
		return (rc);
	for (i = 0; i < x->devs.n; i++) {
		d = &x->devs.v[i];
		if (skip != NULL && strcmp(d->device, skip) == 0)
			continue;
		if (d->r.count >= limit) {
			if (skipped != NULL)
				(*skipped)++;
			continue;
		}
		if ((rc = store_queue_put(x->txn, d->r.qid, mid, it)) !=
		    STORE_OK)
			return (rc);
		d->r.count++;
		d->r.bytes += it->len;
		if ((rc = store_device_put(x->txn, user, d->device, &d->r)) !=
		    STORE_OK)
			return (rc);
		targets_add(x->out, user, d->device, d->r.qid);
		if (items != NULL)
			(*items)++;
	}
	return (STORE_OK);
}

/* Whether user has blocked from: 1, 0, or a store error. */
int
group_blocked(struct txn *txn, const char *user, const char *from)
{
	int	rc;

	rc = store_block_get(txn, user, from);
	if (rc == STORE_OK)
		return (1);
	if (rc == STORE_NOTFOUND)
		return (0);
	return (rc);
}

/* Member walk callback: collects the members into a gmems. */
static int
gmem_fn(void *arg, const char *group, const char *user,
    const struct gmember_rec *r)
{
	struct gmems	*m = arg;
	struct gmem	*gm;

	(void)group;
	if (m->n == m->cap)
		m->v = xgrow(m->v, &m->cap, sizeof *m->v, 8);
	gm = &m->v[m->n++];
	strlcpy(gm->user, user, sizeof gm->user);
	gm->r = *r;
	return (STORE_WALK_NEXT);
}

/* The members of x's group, in name order. */
static int
gmems_load(struct gctx *x, struct gmems *m)
{
	memset(m, 0, sizeof *m);
	return (store_gmember_walk(x->txn, x->group, gmem_fn, m));
}

/* The members as group_info lists them: [{"user","role"}] by name. */
static json_t *
gmems_json(const struct gmems *m)
{
	json_t	*a = json_array();
	size_t	 i;

	for (i = 0; i < m->n; i++)
		json_array_append_new(a, json_pack("{s:s,s:s}", "user",
		    m->v[i].user, "role", role_names[m->v[i].r.role]));
	return (a);
}

/*
 * Starts the next event of x's group: a new mid and version, and the
 * members every event has.
 */
static void
event_open(struct gctx *x, struct jbuf *j, struct mid *mid,
    const char *event)
{
	char	ms[MID_STRLEN + 1];

	midgen_next(x->gen, x->now, mid);
	mid_format(mid, ms);
	x->g.version++;
	jbuf_open(j, "group_event");
	jbuf_str(j, "mid", ms);
	jbuf_str(j, "group", x->group);
	jbuf_str(j, "event", event);
	jbuf_str(j, "by", x->by);
	jbuf_uint(j, "ts", x->now);
	jbuf_uint(j, "version", x->g.version);
}

/*
 * Closes an event and queues it for every device of every member (as the
 * store holds them now) and of the n users in extra.  Events ignore
 * max_queue (tickd-protocol(7) VERSION 2).
 */
static int
event_queue(struct gctx *x, struct jbuf *j, const struct mid *mid,
    const char *const *extra, size_t n)
{
	struct gmems	 m;
	struct item	 it;
	char		*s;
	size_t		 i;
	int		 rc;

	if ((s = jbuf_close(j, &it.len)) == NULL) {
		log_warnx("group: cannot build an event of %s", x->group);
		return (group_abandon(x->txn));
	}
	it.kind = ITEM_GROUP_EVENT;
	it.ts = x->now;
	it.data = s;
	if ((rc = gmems_load(x, &m)) != STORE_OK)
		goto out;
	for (i = 0; i < m.n && rc == STORE_OK; i++)
		rc = group_user_items(x, m.v[i].user, NULL, UINT64_MAX, mid,
		    &it, NULL, NULL);
	for (i = 0; i < n && rc == STORE_OK; i++)
		rc = group_user_items(x, extra[i], NULL, UINT64_MAX, mid, &it,
		    NULL, NULL);
	if (rc == STORE_OK)
		rc = group_fan_flush(x);
out:
	free(m.v);
	free(s);
	return (rc);
}

/* A JSON array of n names. */
static json_t *
names_json(const char *const *v, size_t n)
{
	json_t	*a = json_array();
	size_t	 i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return (a);
}

/* Queues an event whose extra member is the list "users". */
static int
event_users(struct gctx *x, const char *event, const char *const *users,
    size_t n, const char *const *extra, size_t nextra)
{
	struct jbuf	 j;
	struct mid	 mid;
	json_t		*a;

	event_open(x, &j, &mid, event);
	a = names_json(users, n);
	jbuf_json(&j, "users", a);
	json_decref(a);
	return (event_queue(x, &j, &mid, extra, nextra));
}

/* Queues a role event: user now has role. */
static int
event_role(struct gctx *x, const char *user, int role)
{
	struct jbuf	j;
	struct mid	mid;

	event_open(x, &j, &mid, "role");
	jbuf_str(&j, "user", user);
	jbuf_str(&j, "role", role_names[role]);
	return (event_queue(x, &j, &mid, NULL, 0));
}

/* Group walk callback over a user's groups: counts them up to a limit. */
static int
count_fn(void *arg, const char *user, const char *group)
{
	uint64_t	*n = arg;

	(void)user;
	(void)group;
	if (++n[0] >= n[1])
		return (STORE_WALK_STOP);
	return (STORE_WALK_NEXT);
}

/* Remote group walk callback: counts them on, up to the same limit. */
static int
count_remote_fn(void *arg, const char *user, const char *group,
    const struct crgroup_rec *r)
{
	(void)r;
	return (count_fn(arg, user, group));
}

/*
 * Whether user is in max_groups_per_user groups: 1, 0, or an error.  In
 * a cluster, the groups homed on other nodes count too, as this node, the
 * user's home, knows them from the events it applied, and so do the
 * places it reserved at now for adds it vetted that were not applied yet
 * (tickd-cluster(7), Groups across nodes); on one node there are none.
 */
static int
at_group_limit(struct txn *txn, const struct conf *conf, const char *user,
    uint64_t now)
{
	uint64_t	n[2], r;
	int		rc;

	n[0] = 0;
	n[1] = conf->max_groups_per_user;
	if ((rc = store_guser_walk(txn, user, count_fn, n)) != STORE_OK)
		return (rc);
	if (n[0] < n[1] && (rc = store_crgroup_walk(txn, user,
	    count_remote_fn, n)) != STORE_OK)
		return (rc);
	if (n[0] < n[1] && conf->cluster_redis != NULL) {
		if ((rc = store_crsv_count(txn, user, now, &r)) != STORE_OK)
			return (rc);
		n[0] += r;
	}
	return (n[0] >= n[1]);
}

/*
 * Whether user, homed here, refuses adds by actor whatever its groups (rule
 * 8): it blocked the actor or set group_add to nobody.  1, 0, or a store
 * error.
 */
int
group_refuses_actor(struct txn *txn, const char *user, const char *actor)
{
	int	rc, nobody;

	if ((rc = group_blocked(txn, user, actor)) != 0)
		return (rc);
	if ((rc = store_gpref_get(txn, user, &nobody)) != STORE_OK)
		return (rc);
	return (nobody);
}

/*
 * Whether user, homed here, may not be added by actor at now (rule 8): it
 * refuses the actor, or is in max_groups_per_user groups.  1, 0, or a
 * store error.
 */
int
group_refuses(struct txn *txn, const struct conf *conf, const char *user,
    const char *actor, uint64_t now)
{
	int	rc;

	if ((rc = group_refuses_actor(txn, user, actor)) != 0)
		return (rc);
	return (at_group_limit(txn, conf, user, now));
}

/*
 * Whether user may not be added: group_refuses for a user homed here; for
 * one homed on another node, what only its home knows, that node's
 * verdict in req (tickd-cluster(7), Groups across nodes).  A user with no
 * verdict, or a verdict of no, is refused, so that nobody becomes a member
 * whom its home would have refused.  MAY_ADD_ASK when req asks for the
 * verdict first, or the verdict is null: then the op is unavailable.  An
 * account held here for a name conflict is homed elsewhere (cluster_user_get).
 */
#define MAY_ADD_ASK	2
static int
may_add(struct gctx *x, const struct grp_req *req, const char *user)
{
	struct user_rec	 u;
	json_t		*v;
	int		 rc;

	if ((rc = cluster_user_get(x->txn, x->conf, user, &u)) == STORE_OK)
		return (group_refuses(x->txn, x->conf, user, x->by, x->now));
	if (rc != STORE_NOTFOUND)
		return (rc);
	/* null: the user's home did not answer the node that asked it. */
	if (((v = json_object_get(req->verdicts, user)) == NULL &&
	    (req->ask & GRP_ASK_VET)) || json_is_null(v))
		return (MAY_ADD_ASK);
	return (!json_is_true(v));
}

/* Stops an op for what (GRP_ASK_*), nothing changed. */
static int
ask_for(struct grp_res *res, int what)
{
	res->err = TE_UNAVAILABLE;
	res->ask = what;
	return (STORE_OK);
}

/*
 * Splits the users of an add or create into those to add and those
 * refused, leaving out members and repeats; the first unknown user is
 * named in res with no_such_user.  add[] points into req->users.  What
 * req asks for (GRP_ASK_*) stops it first: an unknown user, or one homed
 * elsewhere without a verdict, is then res->ask.
 */
static int
sort_users(struct gctx *x, const struct grp_req *req, const char **add,
    size_t *nadd, struct grp_res *res)
{
	struct gmember_rec	 gm;
	size_t			 i, k;
	int			 rc, dup;

	*nadd = 0;
	for (i = 0; i < req->nusers; i++) {
		rc = group_user_known(x->txn, x->conf, req->users[i]);
		if (rc == 0 && (req->ask & GRP_ASK_LOOKUP))
			return (ask_for(res, GRP_ASK_LOOKUP));
		if (rc == 0) {
			res->err = TE_NO_SUCH_USER;
			strlcpy(res->user, req->users[i], sizeof res->user);
			return (STORE_OK);
		}
		if (rc < 0)
			return (rc);
	}
	for (i = 0; i < req->nusers; i++) {
		for (dup = 0, k = 0; k < i && !dup; k++)
			dup = strcmp(req->users[k], req->users[i]) == 0;
		if (dup)
			continue;
		rc = store_gmember_get(x->txn, x->group, req->users[i], &gm);
		if (rc == STORE_OK)
			continue;
		if (rc != STORE_NOTFOUND)
			return (rc);
		if ((rc = may_add(x, req, req->users[i])) < 0)
			return (rc);
		if (rc == MAY_ADD_ASK)
			return (ask_for(res, GRP_ASK_VET));
		if (rc)
			json_array_append_new(res->refused,
			    json_string(req->users[i]));
		else
			add[(*nadd)++] = req->users[i];
	}
	return (STORE_OK);
}

/* Adds n users as members with the next order numbers. */
static int
add_members(struct gctx *x, const char *const *users, size_t n)
{
	struct gmember_rec	r;
	size_t			i;
	int			rc;

	for (i = 0; i < n; i++) {
		memset(&r, 0, sizeof r);
		r.role = GROLE_MEMBER;
		r.joined = r.since = ++x->g.seq;
		if ((rc = store_gmember_put(x->txn, x->group, users[i], &r)) !=
		    STORE_OK)
			return (rc);
		x->g.members++;
	}
	return (STORE_OK);
}

/*
 * Loads the group and the actor's membership: no_such_group for a group
 * that does not exist and for a non-member alike (rule 2).
 */
int
gctx_open(struct gctx *x, struct txn *txn, struct midgen *gen,
    const struct conf *conf, const struct grp_req *req,
    struct gmember_rec *actor, struct grp_res *res)
{
	int	rc;

	memset(x, 0, sizeof *x);
	x->txn = txn;
	x->gen = gen;
	x->conf = conf;
	x->group = req->group;
	x->by = req->actor;
	x->now = req->now;
	x->out = &res->targets;
	if ((rc = store_group_get(txn, req->group, &x->g)) == STORE_OK)
		rc = store_gmember_get(txn, req->group, req->actor, actor);
	if (rc == STORE_NOTFOUND) {
		res->err = TE_NO_SUCH_GROUP;
		return (STORE_OK);
	}
	return (rc);
}

/* Frees a gctx's scratch. */
void
gctx_close(struct gctx *x)
{
	free(x->devs.v);
	x->devs.v = NULL;
	x->devs.n = x->devs.cap = 0;
	group_fan_free(&x->fan);
}

/* A name for a new group: '#' and 20 characters of [a-z2-7]. */
static int
random_name(char name[NAME_GROUP_MAX + 1])
{
	static const char	 b32[] = "abcdefghijklmnopqrstuvwxyz234567";
	uint8_t			 r[20];
	size_t			 i;

	if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
		log_warn("group: getrandom");
		return (-1);
	}
	name[0] = '#';
	for (i = 0; i < sizeof r; i++)
		name[i + 1] = b32[r[i] & 31];
	name[sizeof r + 1] = '\0';
	return (0);
}

/* The group_info object of x's group as the store holds it now. */
static int
info_json(struct gctx *x, json_t **out)
{
	struct gmems	 m;
	char		*desc;
	int		 rc;

	*out = NULL;
	if ((rc = store_gdesc_get(x->txn, x->group, &desc)) != STORE_OK)
		return (rc);
	if ((rc = gmems_load(x, &m)) != STORE_OK) {
		free(desc);
		free(m.v);
		return (rc);
	}
	*out = json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:b,s:I,s:I,s:o}",
	    "op", "group_info", "group", x->group, "title", x->g.title,
	    "description", desc, "owner", x->g.owner,
	    "admin_only_send", (x->g.flags & GROUP_ADMIN_SEND) != 0,
	    "admin_only_info", (x->g.flags & GROUP_ADMIN_INFO) != 0,
	    "version", (json_int_t)x->g.version,
	    "created", (json_int_t)x->g.created, "members", gmems_json(&m));
	free(desc);
	free(m.v);
	if (*out == NULL)
		return (group_abandon(x->txn));
	return (STORE_OK);
}

/*
 * group_create: checks name_taken, no_such_user, group_full and
 * too_many_groups in that order, then creates the group with the actor as
 * owner and the users not refused as members, and queues "created" for
 * all of them.  res->info is the reply.
 */
int
group_create(struct txn *txn, struct midgen *gen, const struct conf *conf,
    const struct grp_req *req, struct grp_res *res)
{
	struct gctx		 x;
	struct gmember_rec	 owner;
	struct gmems		 m;
	struct jbuf		 j;
	struct mid		 mid;
	const char		**add;
	char			 name[NAME_GROUP_MAX + 1];
	size_t			 nadd, i;
	json_t			*a;
	int			 rc, tries;

	memset(res, 0, sizeof *res);
	res->refused = json_array();
	if (req->group != NULL)
		strlcpy(name, req->group, sizeof name);
	for (tries = 0; ; tries++) {
		if (req->group == NULL && random_name(name) != 0)
			return (group_abandon(txn));
		rc = store_gname_get(txn, name);
		if (rc == STORE_NOTFOUND)
			rc = store_group_get(txn, name, &x.g);
		if (rc == STORE_NOTFOUND)
			break;
		if (rc != STORE_OK)
			return (rc);
		if (req->group != NULL || tries == 8) {
			res->err = TE_NAME_TAKEN;
			return (STORE_OK);
		}
	}
	strlcpy(res->group, name, sizeof res->group);
	memset(&x, 0, sizeof x);
	x.txn = txn;
	x.gen = gen;
	x.conf = conf;
	x.group = res->group;
	x.by = req->actor;
	x.now = req->now;
	x.out = &res->targets;

	add = xcalloc(req->nusers + 1, sizeof *add);
	if ((rc = sort_users(&x, req, add, &nadd, res)) != STORE_OK ||
	    res->err != TE_OK)
		goto out;
	if (1 + nadd > conf->max_group_members) {
		res->err = TE_GROUP_FULL;
		goto out;
	}
	if ((rc = at_group_limit(txn, conf, req->actor, req->now)) != 0) {
		if (rc > 0) {
			res->err = TE_TOO_MANY_GROUPS;
			rc = STORE_OK;
		}
		goto out;
	}

	x.g.created = req->now;
	x.g.version = 0;
	strlcpy(x.g.owner, req->actor, sizeof x.g.owner);
	strlcpy(x.g.title, req->title, sizeof x.g.title);
	if (req->admin_only_send > 0)
		x.g.flags |= GROUP_ADMIN_SEND;
	if (req->admin_only_info > 0)
		x.g.flags |= GROUP_ADMIN_INFO;
	memset(&owner, 0, sizeof owner);
	owner.role = GROLE_OWNER;
	owner.joined = owner.since = ++x.g.seq;
	if ((rc = store_gname_put(txn, x.group, req->now)) != STORE_OK ||
	    (rc = store_gmember_put(txn, x.group, req->actor, &owner)) !=
	    STORE_OK)
		goto out;
	x.g.members = 1;
	if ((rc = add_members(&x, add, nadd)) != STORE_OK)
		goto out;
	if (req->description != NULL && (rc = store_gdesc_put(txn, x.group,
	    req->description)) != STORE_OK)
		goto out;

	event_open(&x, &j, &mid, "created");
	jbuf_str(&j, "title", x.g.title);
	jbuf_str(&j, "description", req->description != NULL ?
	    req->description : "");
	jbuf_raw(&j, "admin_only_send", x.g.flags & GROUP_ADMIN_SEND ?
	    "true" : "false", x.g.flags & GROUP_ADMIN_SEND ? 4 : 5);
	jbuf_raw(&j, "admin_only_info", x.g.flags & GROUP_ADMIN_INFO ?
	    "true" : "false", x.g.flags & GROUP_ADMIN_INFO ? 4 : 5);
	if ((rc = gmems_load(&x, &m)) != STORE_OK) {
		free(m.v);
		free(jbuf_close(&j, &i));
		goto out;
	}
	a = gmems_json(&m);
	free(m.v);
	jbuf_json(&j, "members", a);
	json_decref(a);
	if ((rc = event_queue(&x, &j, &mid, NULL, 0)) != STORE_OK)
		goto out;
	if ((rc = store_group_put(txn, x.group, &x.g)) != STORE_OK)
		goto out;
	if ((rc = info_json(&x, &res->info)) != STORE_OK)
		goto out;
	json_object_set(res->info, "refused", res->refused);
out:
	free(add);
	gctx_close(&x);
	return (rc);
}

/* group_info: the group as its members see it. */
int
group_info(struct txn *txn, const struct grp_req *req,
    struct grp_res *res)
{
	struct gctx		x;
	struct gmember_rec	me;
	int			rc;

	memset(res, 0, sizeof *res);
	rc = gctx_open(&x, txn, NULL, NULL, req, &me, res);
	if (rc != STORE_OK || res->err != TE_OK)
		return (rc);
	return (info_json(&x, &res->info));
}

/* What the walk of group_list carries. */
struct glist {
	struct txn	*txn;
	const char	*user;
	json_t		*a;
	int		 rc;
};

/* Reverse-index walk callback: one entry of the groups reply. */
static int
glist_fn(void *arg, const char *user, const char *group)
{
	struct glist		*l = arg;
	struct group_rec	 g;
	struct gmember_rec	 m;

	(void)user;
	if ((l->rc = store_group_get(l->txn, group, &g)) != STORE_OK ||
	    (l->rc = store_gmember_get(l->txn, group, l->user, &m)) !=
	    STORE_OK) {
		/* An index entry verify(8) would report: left out. */
		if (l->rc == STORE_NOTFOUND) {
			l->rc = STORE_OK;
			return (STORE_WALK_NEXT);
		}
		return (STORE_WALK_STOP);
	}
	json_array_append_new(l->a, json_pack("{s:s,s:s,s:s,s:I}", "group",
	    group, "title", g.title, "role", role_names[m.role], "version",
	    (json_int_t)g.version));
	return (STORE_WALK_NEXT);
}

/* groups: the user's groups, sorted by name. */
int
group_list(struct txn *txn, const char *user, json_t **out)
{
	struct glist	l;
	int		rc;

	l.txn = txn;
	l.user = user;
	l.a = json_array();
	l.rc = STORE_OK;
	rc = store_guser_walk(txn, user, glist_fn, &l);
	if (rc == STORE_OK)
		rc = l.rc;
	if (rc != STORE_OK) {
		json_decref(l.a);
		*out = NULL;
		return (rc);
	}
	*out = l.a;
	return (STORE_OK);
}

/* group_add: adds the users not refused; "added" to every member after. */
int
group_add(struct txn *txn, struct midgen *gen, const struct conf *conf,
    const struct grp_req *req, struct grp_res *res)
{
	struct gctx		 x;
	struct gmember_rec	 me;
	const char		**add = NULL;
	size_t			 nadd;
	int			 rc;

	memset(res, 0, sizeof *res);
	res->refused = json_array();
	rc = gctx_open(&x, txn, gen, conf, req, &me, res);
	if (rc != STORE_OK || res->err != TE_OK)
		goto out;
	if (me.role == GROLE_MEMBER) {
		res->err = TE_FORBIDDEN;
		goto out;
	}
	add = xcalloc(req->nusers + 1, sizeof *add);
	if ((rc = sort_users(&x, req, add, &nadd, res)) != STORE_OK ||
	    res->err != TE_OK)
		goto out;
	if (x.g.members + nadd > conf->max_group_members) {
		res->err = TE_GROUP_FULL;
		goto out;
	}
	if (nadd == 0)
		goto out;
	if ((rc = add_members(&x, add, nadd)) != STORE_OK ||
	    (rc = event_users(&x, "added", add, nadd, NULL, 0)) != STORE_OK)
		goto out;
	rc = store_group_put(txn, x.group, &x.g);
out:
	free(add);
	gctx_close(&x);
	return (rc);
}

/* group_remove: removes members; "removed" to those left and removed. */
int
group_remove(struct txn *txn, struct midgen *gen, const struct conf *conf,
    const struct grp_req *req, struct grp_res *res)
{
	struct gctx		 x;
	struct gmember_rec	 me, gm;
	const char		**gone = NULL;
	size_t			 i, k, n = 0;
	int			 rc, dup;

	memset(res, 0, sizeof *res);
	rc = gctx_open(&x, txn, gen, conf, req, &me, res);
	if (rc != STORE_OK || res->err != TE_OK)
		goto out;
	if (me.role == GROLE_MEMBER) {
		res->err = TE_FORBIDDEN;
		goto out;
	}
	gone = xcalloc(req->nusers + 1, sizeof *gone);
	for (i = 0; i < req->nusers; i++) {
		rc = store_gmember_get(txn, x.group, req->users[i], &gm);
		if (rc == STORE_NOTFOUND)
			continue;
		if (rc != STORE_OK)
			goto out;
		/* Nobody removes the owner; only the owner removes admins. */
		if (gm.role == GROLE_OWNER ||
		    (gm.role == GROLE_ADMIN && me.role != GROLE_OWNER)) {
			res->err = TE_FORBIDDEN;
			rc = STORE_OK;
			goto out;
		}
	}
	for (i = 0; i < req->nusers; i++) {
		rc = group_user_known(txn, conf, req->users[i]);
		if (rc == 0 && (req->ask & GRP_ASK_LOOKUP)) {
			rc = ask_for(res, GRP_ASK_LOOKUP);
			goto out;
		}
		if (rc == 0) {
			res->err = TE_NO_SUCH_USER;
			strlcpy(res->user, req->users[i], sizeof res->user);
			rc = STORE_OK;
			goto out;
		}
		if (rc < 0)
			goto out;
	}
	rc = STORE_OK;
	for (i = 0; i < req->nusers; i++) {
		for (dup = 0, k = 0; k < i && !dup; k++)
			dup = strcmp(req->users[k], req->users[i]) == 0;
		if (dup)
			continue;
		rc = store_gmember_del(txn, x.group, req->users[i]);
		if (rc == STORE_NOTFOUND) {
			rc = STORE_OK;
			continue;
		}
		if (rc != STORE_OK)
			goto out;
		gone[n++] = req->users[i];
		x.g.members--;
	}
	if (n == 0)
		goto out;
	if ((rc = event_users(&x, "removed", gone, n, gone, n)) != STORE_OK)
		goto out;
	rc = store_group_put(txn, x.group, &x.g);
out:
	free(gone);
	gctx_close(&x);
	return (rc);
}

/*
 * The owner's successor (rule 7): the admin who became admin first, else
 * the member who joined first.  NULL if nobody is left.
 */
static const struct gmem *
successor(const struct gmems *m)
{
	const struct gmem	*best = NULL, *v;
	size_t			 i;

	for (i = 0; i < m->n; i++) {
		v = &m->v[i];
		if (best == NULL)
			best = v;
		else if (v->r.role == GROLE_ADMIN &&
		    best->r.role != GROLE_ADMIN)
			best = v;
		else if (v->r.role == best->r.role &&
		    (v->r.role == GROLE_ADMIN ? v->r.since < best->r.since :
		    v->r.joined < best->r.joined))
			best = v;
	}
	return (best);
}

/*
 * Takes user out of x's group as group_leave does: "left" to those left
 * and the leaver; an owner's successor and its "role" event; the group
 * deleted with its last member (its name stays taken).
 */
static int
leave(struct gctx *x, const char *user, int role)
{
	struct gmems		 m;
	const struct gmem	*next;
	struct gmember_rec	 r;
	int			 rc;

	if ((rc = store_gmember_del(x->txn, x->group, user)) != STORE_OK)
		return (rc);
	x->g.members--;
	if ((rc = event_users(x, "left", &user, 1, &user, 1)) != STORE_OK)
		return (rc);
	if (x->g.members == 0)
		return (store_group_del(x->txn, x->group));
	if (role == GROLE_OWNER) {
		if ((rc = gmems_load(x, &m)) != STORE_OK) {
			free(m.v);
			return (rc);
		}
		next = successor(&m);
		r = next->r;
		r.role = GROLE_OWNER;
		r.since = ++x->g.seq;
		strlcpy(x->g.owner, next->user, sizeof x->g.owner);
		rc = store_gmember_put(x->txn, x->group, next->user, &r);
		if (rc == STORE_OK)
			rc = event_role(x, x->g.owner, GROLE_OWNER);
		free(m.v);
		if (rc != STORE_OK)
			return (rc);
	}
	return (store_group_put(x->txn, x->group, &x->g));
}

/* group_leave: the actor leaves. */
int
group_leave(struct txn *txn, struct midgen *gen, const struct conf *conf,
    const struct grp_req *req, struct grp_res *res)
{
	struct gctx		x;
	struct gmember_rec	me;
	int			rc;

	memset(res, 0, sizeof *res);
	rc = gctx_open(&x, txn, gen, conf, req, &me, res);
	if (rc == STORE_OK && res->err == TE_OK)
		rc = leave(&x, req->actor, me.role);
	gctx_close(&x);
	return (rc);
}

/*
 * group_role: member -> admin by an admin or the owner; admin -> member
 * and any -> owner by the owner only.  Giving the role a member has
 * already changes nothing.  A transfer makes the old owner an admin.
 */
int
group_role(struct txn *txn, struct midgen *gen, const struct conf *conf,
    const struct grp_req *req, struct grp_res *res)
{
	struct gctx		x;
	struct gmember_rec	me, gm;
	int			rc, cur;

	memset(res, 0, sizeof *res);
	rc = gctx_open(&x, txn, gen, conf, req, &me, res);
	if (rc != STORE_OK || res->err != TE_OK)
		goto out;
	rc = store_gmember_get(txn, x.group, req->user, &gm);
	if (rc != STORE_OK && rc != STORE_NOTFOUND)
		goto out;
	/* A non-member is judged as a member would be, then not found. */
	cur = rc == STORE_OK ? gm.role : GROLE_MEMBER;
	if (me.role == GROLE_MEMBER ||
	    (me.role != GROLE_OWNER && (req->role == GROLE_OWNER ||
	    cur != GROLE_MEMBER))) {
		res->err = TE_FORBIDDEN;
		rc = STORE_OK;
		goto out;
	}
	if (rc == STORE_NOTFOUND) {
		res->err = TE_NO_SUCH_USER;
		strlcpy(res->user, req->user, sizeof res->user);
		rc = STORE_OK;
		goto out;
	}
	if (cur == req->role)
		goto out;
	if (req->role == GROLE_OWNER) {
		me.role = GROLE_ADMIN;
		me.since = ++x.g.seq;
		if ((rc = store_gmember_put(txn, x.group, req->actor, &me)) !=
		    STORE_OK ||
		    (rc = event_role(&x, req->actor, GROLE_ADMIN)) != STORE_OK)
			goto out;
		strlcpy(x.g.owner, req->user, sizeof x.g.owner);
	}
	gm.role = (uint8_t)req->role;
	gm.since = ++x.g.seq;
	if ((rc = store_gmember_put(txn, x.group, req->user, &gm)) !=
	    STORE_OK ||
	    (rc = event_role(&x, req->user, req->role)) != STORE_OK)
		goto out;
	rc = store_group_put(txn, x.group, &x.g);
out:
	gctx_close(&x);
	return (rc);
}

/* Appends a switch to an event, as JSON true or false. */
static void
jbuf_bool(struct jbuf *j, const char *key, int v)
{
	jbuf_raw(j, key, v ? "true" : "false", v ? 4 : 5);
}

/*
 * group_set: title and description by anyone unless admin_only_info, the
 * switches by admins and the owner.  Only what changes is written and
 * named in the "set" event; no change, no event.
 */
int
group_set(struct txn *txn, struct midgen *gen, const struct conf *conf,
    const struct grp_req *req, struct grp_res *res)
{
	struct gctx		 x;
	struct gmember_rec	 me;
	struct jbuf		 j;
	struct mid		 mid;
	char			*desc = NULL;
	int			 rc, title, dsc, aos, aoi;

	memset(res, 0, sizeof *res);
	rc = gctx_open(&x, txn, gen, conf, req, &me, res);
	if (rc != STORE_OK || res->err != TE_OK)
		goto out;
	if (me.role == GROLE_MEMBER && (req->admin_only_send >= 0 ||
	    req->admin_only_info >= 0 || (x.g.flags & GROUP_ADMIN_INFO))) {
		res->err = TE_FORBIDDEN;
		goto out;
	}
	if ((rc = store_gdesc_get(txn, x.group, &desc)) != STORE_OK)
		goto out;
	title = req->title != NULL && strcmp(req->title, x.g.title) != 0;
	dsc = req->description != NULL && strcmp(req->description, desc) != 0;
	aos = req->admin_only_send >= 0 && req->admin_only_send !=
	    ((x.g.flags & GROUP_ADMIN_SEND) != 0);
	aoi = req->admin_only_info >= 0 && req->admin_only_info !=
	    ((x.g.flags & GROUP_ADMIN_INFO) != 0);
	if (!title && !dsc && !aos && !aoi)
		goto out;
	if (title)
		strlcpy(x.g.title, req->title, sizeof x.g.title);
	if (aos)
		x.g.flags ^= GROUP_ADMIN_SEND;
	if (aoi)
		x.g.flags ^= GROUP_ADMIN_INFO;
	if (dsc && (rc = store_gdesc_put(txn, x.group, req->description)) !=
	    STORE_OK)
		goto out;
	event_open(&x, &j, &mid, "set");
	if (title)
		jbuf_str(&j, "title", x.g.title);
	if (dsc)
		jbuf_str(&j, "description", req->description);
	if (aos)
		jbuf_bool(&j, "admin_only_send", req->admin_only_send);
	if (aoi)
		jbuf_bool(&j, "admin_only_info", req->admin_only_info);
	if ((rc = event_queue(&x, &j, &mid, NULL, 0)) != STORE_OK)
		goto out;
	rc = store_group_put(txn, x.group, &x.g);
out:
	free(desc);
	gctx_close(&x);
	return (rc);
}

/* Reverse-index walk callback: collects a user's group names. */
static int
gname_fn(void *arg, const char *user, const char *group)
{
	struct gmems	*m = arg;

	(void)user;
	if (m->n == m->cap)
		m->v = xgrow(m->v, &m->cap, sizeof *m->v, 8);
	memset(&m->v[m->n], 0, sizeof m->v[m->n]);
	/* A group name is one byte longer than a user name: see gmem. */
	strlcpy(m->v[m->n].user, group + 1, sizeof m->v[m->n].user);
	m->n++;
	return (STORE_WALK_NEXT);
}

/*
 * Makes user leave group as group_leave does; events listed in out.  A
 * non-member, or a group gone, changes nothing.
 */
int
group_leave_one(struct txn *txn, struct midgen *gen, const struct conf *conf,
    const char *group, const char *user, uint64_t now, struct targets *out)
{
	struct grp_req		req;
	struct grp_res		res;
	struct gctx		x;
	struct gmember_rec	me;
	int			rc;

	memset(&req, 0, sizeof req);
	memset(&res, 0, sizeof res);
	req.actor = user;
	req.group = group;
	req.now = now;
	rc = gctx_open(&x, txn, gen, conf, &req, &me, &res);
	if (rc == STORE_OK && res.err == TE_OK) {
		x.out = out;
		rc = leave(&x, user, me.role);
	}
	gctx_close(&x);
	return (rc);
}

/*
 * A user deleted with tickctl(8) leaves every group as by group_leave
 * (rule 12), those homed on other nodes through the outbox, and its
 * group_add setting goes.  *n is the groups left.
 */
int
group_user_gone(struct txn *txn, struct midgen *gen, const struct conf *conf,
    const char *user, uint64_t now, struct targets *out, uint64_t *n)
{
	struct gmems	 m;
	char		 group[NAME_GROUP_MAX + 1];
	size_t		 i;
	int		 rc;

	*n = 0;
	memset(&m, 0, sizeof m);
	if ((rc = store_guser_walk(txn, user, gname_fn, &m)) != STORE_OK)
		goto out;
	for (i = 0; i < m.n; i++) {
		group[0] = '#';
		strlcpy(group + 1, m.v[i].user, sizeof group - 1);
		if ((rc = group_leave_one(txn, gen, conf, group, user, now,
		    out)) != STORE_OK)
			goto out;
		(*n)++;
	}
	if ((rc = group_user_gone_remote(txn, gen, user, now, n)) !=
	    STORE_OK)
		goto out;
	rc = store_gpref_put(txn, user, 0);
out:
	free(m.v);
	return (rc);
}

/*
 * tickctl group del: every member leaves as by group_leave, the owner
 * last, so that every member device gets the events; the group is then
 * gone and its name stays taken.  STORE_NOTFOUND for no such group.
 */
int
group_delete(struct txn *txn, struct midgen *gen, const struct conf *conf,
    const char *group, uint64_t now, struct targets *out, uint64_t *n)
{
	struct group_rec	 g;
	struct gmems		 m;
	struct gctx		 x;
	size_t			 i;
	int			 rc;

	*n = 0;
	if ((rc = store_group_get(txn, group, &g)) != STORE_OK)
		return (rc);
	memset(&x, 0, sizeof x);
	x.txn = txn;
	x.group = group;
	if ((rc = gmems_load(&x, &m)) != STORE_OK)
		goto out;
	for (i = 0; i < m.n; i++) {
		if (strcmp(m.v[i].user, g.owner) == 0)
			continue;
		if ((rc = group_leave_one(txn, gen, conf, group, m.v[i].user,
		    now, out)) != STORE_OK)
			goto out;
		(*n)++;
	}
	/* The owner last; a group without one still goes with its last. */
	m.n = 0;
	if ((rc = store_gmember_walk(txn, group, gmem_fn, &m)) != STORE_OK)
		goto out;
	for (i = 0; i < m.n; i++) {
		rc = group_leave_one(txn, gen, conf, group, m.v[i].user, now,
		    out);
		if (rc != STORE_OK)
			goto out;
		(*n)++;
	}
out:
	free(m.v);
	return (rc);
}
