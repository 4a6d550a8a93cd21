/* SPDX-License-Identifier: ISC */
/*
 * admin-group.c: what tickctl(8) shows of groups and how verify and
 * repair check their records: member lists against the group records,
 * the reverse index user -> groups, versions and order numbers, and the
 * names ever used.  Linked into tickd and tickctl; no I/O.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tickd.h"

static const char *const role_names[] = {
	[GROLE_MEMBER] = "member",
	[GROLE_ADMIN] = "admin",
	[GROLE_OWNER] = "owner",
};

/* What the verify walks carry. */
struct gv {
	struct txn	*txn;
	int		 fix;
	void		(*report)(void *, const char *);
	void		*arg;
	struct gverify	*res;
	int		 rc;
	/* Of the group being checked. */
	uint64_t	 count, owners, maxseq;
	char		 owner[NAME_USER_MAX + 1];
};

/* Reports one problem, marked repaired if fixed. */
static void printflike(3, 4)
gv_problem(struct gv *v, int fixed, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg, *line;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		fatal("vasprintf");
	va_end(ap);
	v->res->problems++;
	v->res->fixed += fixed != 0;
	xasprintf(&line, "%s%s", msg, fixed ? " (repaired)" : "");
	v->report(v->arg, line);
	free(line);
	free(msg);
}

/* Group walk callback: one line of group list. */
static int
list_fn(void *arg, const char *group, const struct group_rec *g)
{
	json_array_append_new(arg, json_pack("{s:s,s:s,s:s,s:I,s:I,s:I}",
	    "group", group, "title", g->title, "owner", g->owner,
	    "members", (json_int_t)g->members, "version",
	    (json_int_t)g->version, "created", (json_int_t)g->created));
	return (STORE_WALK_NEXT);
}

/* group list: {"groups":[...]}, every group by name. */
int
admin_group_list(struct txn *txn, json_t **out)
{
	json_t	*a = json_array();
	int	 rc;

	*out = NULL;
	if ((rc = store_group_walk(txn, list_fn, a)) != STORE_OK) {
		json_decref(a);
		return (rc);
	}
	*out = json_pack("{s:o}", "groups", a);
	return (*out == NULL ? STORE_ERR : STORE_OK);
}

/* Member walk callback: one member of group show. */
static int
show_fn(void *arg, const char *group, const char *user,
    const struct gmember_rec *r)
{
	(void)group;
	json_array_append_new(arg, json_pack("{s:s,s:s,s:I}", "user", user,
	    "role", role_names[r->role], "joined", (json_int_t)r->joined));
	return (STORE_WALK_NEXT);
}

/* group show: one group with its members, roles and version. */
int
admin_group_show(struct txn *txn, const char *group, json_t **out)
{
	struct group_rec	 g;
	json_t			*members;
	char			*desc;
	int			 rc;

	*out = NULL;
	if ((rc = store_group_get(txn, group, &g)) != STORE_OK)
		return (rc);
	if ((rc = store_gdesc_get(txn, group, &desc)) != STORE_OK)
		return (rc);
	members = json_array();
	if ((rc = store_gmember_walk(txn, group, show_fn, members)) !=
	    STORE_OK) {
		json_decref(members);
		free(desc);
		return (rc);
	}
	*out = json_pack("{s:s,s:s,s:s,s:s,s:b,s:b,s:I,s:I,s:I,s:o}",
	    "group", group, "title", g.title, "description", desc,
	    "owner", g.owner,
	    "admin_only_send", (g.flags & GROUP_ADMIN_SEND) != 0,
	    "admin_only_info", (g.flags & GROUP_ADMIN_INFO) != 0,
	    "version", (json_int_t)g.version,
	    "created", (json_int_t)g.created,
	    "member_count", (json_int_t)g.members, "members", members);
	free(desc);
	return (*out == NULL ? STORE_ERR : STORE_OK);
}

/*
 * Membership walk callback: a membership needs its group, its user and
 * its reverse-index entry.  Repair drops a membership of a missing group
 * or user and enters a missing index entry.
 */
static int
vmember_fn(void *arg, const char *group, const char *user,
    const struct gmember_rec *r)
{
	struct gv		*v = arg;
	struct group_rec	 g;
	struct user_rec		 u;
	char			 node[CLUSTER_NODE_MAX + 1];
	int			 rc;

	(void)r;
	v->res->members++;
	rc = store_group_get(v->txn, group, &g);
	if (rc == STORE_OK)
		rc = store_user_get(v->txn, user, &u);
	/*
	 * A member homed on another node (tickd-cluster(7), Groups across
	 * nodes).
	 */
	if (rc == STORE_NOTFOUND && store_group_get(v->txn, group, &g) ==
	    STORE_OK)
		rc = store_cdir_get(v->txn, user, node);
	if (rc == STORE_NOTFOUND) {
		gv_problem(v, v->fix, "membership of %s in %s: no such %s",
		    user, group, store_group_get(v->txn, group, &g) ==
		    STORE_NOTFOUND ? "group" : "user");
		if (v->fix && (v->rc = store_guser_del(v->txn, user,
		    group)) == STORE_NOTFOUND)
			v->rc = STORE_OK;
		return (v->rc != STORE_OK ? STORE_WALK_STOP : v->fix ?
		    STORE_WALK_DELETE : STORE_WALK_NEXT);
	}
	if (rc != STORE_OK) {
		v->rc = rc;
		return (STORE_WALK_STOP);
	}
	return (STORE_WALK_NEXT);
}

/* Reverse-index walk callback: each entry needs its membership. */
static int
vguser_fn(void *arg, const char *user, const char *group)
{
	struct gv		*v = arg;
	struct gmember_rec	 m;
	int			 rc;

	rc = store_gmember_get(v->txn, group, user, &m);
	if (rc == STORE_NOTFOUND) {
		gv_problem(v, v->fix, "index entry %s -> %s: %s is not a "
		    "member", user, group, user);
		return (v->fix ? STORE_WALK_DELETE : STORE_WALK_NEXT);
	}
	if (rc != STORE_OK) {
		v->rc = rc;
		return (STORE_WALK_STOP);
	}
	return (STORE_WALK_NEXT);
}

/* Member walk callback of one group: counts, owners, order numbers. */
static int
vcount_fn(void *arg, const char *group, const char *user,
    const struct gmember_rec *r)
{
	struct gv	*v = arg;
	int		 rc;

	v->count++;
	if (r->role == GROLE_OWNER) {
		v->owners++;
		strlcpy(v->owner, user, sizeof v->owner);
	}
	if (r->joined > v->maxseq)
		v->maxseq = r->joined;
	if (r->since > v->maxseq)
		v->maxseq = r->since;
	/* The reverse index must hold this membership. */
	rc = store_guser_has(v->txn, user, group);
	if (rc == STORE_NOTFOUND) {
		gv_problem(v, v->fix, "%s is a member of %s but not in the "
		    "index of %s's groups", user, group, user);
		if (v->fix && (v->rc = store_guser_put(v->txn, user, group)) !=
		    STORE_OK)
			return (STORE_WALK_STOP);
	} else if (rc != STORE_OK) {
		v->rc = rc;
		return (STORE_WALK_STOP);
	}
	return (STORE_WALK_NEXT);
}

/*
 * Group walk callback: the record against its members.  Repair sets the
 * member count, the order counter and the owner; a group with no member
 * left is deleted, its name kept.
 */
static int
vgroup_fn(void *arg, const char *group, const struct group_rec *r)
{
	struct gv		*v = arg;
	struct group_rec	 g = *r;
	struct gmember_rec	 m;
	int			 rc, dirty = 0;

	v->res->groups++;
	v->count = v->owners = v->maxseq = 0;
	v->owner[0] = '\0';
	if ((rc = store_gname_get(v->txn, group)) == STORE_NOTFOUND) {
		gv_problem(v, v->fix, "group %s: its name is not among the "
		    "names used", group);
		if (v->fix && (v->rc = store_gname_put(v->txn, group,
		    g.created)) != STORE_OK)
			return (STORE_WALK_STOP);
	} else if (rc != STORE_OK) {
		v->rc = rc;
		return (STORE_WALK_STOP);
	}
	if ((rc = store_gmember_walk(v->txn, group, vcount_fn, v)) !=
	    STORE_OK || v->rc != STORE_OK) {
		if (v->rc == STORE_OK)
			v->rc = rc;
		return (STORE_WALK_STOP);
	}
	if (v->count == 0) {
		gv_problem(v, v->fix, "group %s has no members", group);
		if (v->fix && (v->rc = store_gdesc_put(v->txn, group, "")) !=
		    STORE_OK)
			return (STORE_WALK_STOP);
		return (v->fix ? STORE_WALK_DELETE : STORE_WALK_NEXT);
	}
	if (g.members != v->count) {
		gv_problem(v, v->fix, "group %s counts %llu members; it has "
		    "%llu", group, (unsigned long long)g.members,
		    (unsigned long long)v->count);
		g.members = v->count;
		dirty = 1;
	}
	if (g.version == 0) {
		gv_problem(v, v->fix, "group %s has version 0", group);
		g.version = 1;
		dirty = 1;
	}
	if (g.seq < v->maxseq) {
		gv_problem(v, v->fix, "group %s: order counter %llu is below "
		    "a member's %llu", group, (unsigned long long)g.seq,
		    (unsigned long long)v->maxseq);
		g.seq = v->maxseq;
		dirty = 1;
	}
	if (v->owners != 1 || strcmp(v->owner, g.owner) != 0) {
		rc = store_gmember_get(v->txn, group, g.owner, &m);
		if (rc != STORE_OK && rc != STORE_NOTFOUND) {
			v->rc = rc;
			return (STORE_WALK_STOP);
		}
		/* Repairable when the record's owner is a member. */
		gv_problem(v, v->fix && rc == STORE_OK && v->owners == 0,
		    "group %s: owner %s, %llu members with the owner role",
		    group, g.owner, (unsigned long long)v->owners);
		if (v->fix && rc == STORE_OK && v->owners == 0) {
			m.role = GROLE_OWNER;
			if ((v->rc = store_gmember_put(v->txn, group, g.owner,
			    &m)) != STORE_OK)
				return (STORE_WALK_STOP);
		}
	}
	if (dirty && v->fix && (v->rc = store_group_put(v->txn, group, &g)) !=
	    STORE_OK)
		return (STORE_WALK_STOP);
	return (STORE_WALK_NEXT);
}

/*
 * verify and repair of the group records (tickctl(8) verify): every
 * membership has its group, its user and its reverse-index entry; every
 * index entry its membership; every group its name among those used, a
 * member count that matches, one owner, a version and an order counter
 * at or above its members'.  With fix, what can be repaired is.
 */
int
admin_group_verify(struct txn *txn, int fix,
    void (*report)(void *, const char *), void *arg, struct gverify *res)
{
	struct gv	v;
	int		rc;

	memset(res, 0, sizeof *res);
	memset(&v, 0, sizeof v);
	v.txn = txn;
	v.fix = fix;
	v.report = report;
	v.arg = arg;
	v.res = res;
	if ((rc = store_gmember_walk(txn, NULL, vmember_fn, &v)) != STORE_OK ||
	    (rc = v.rc) != STORE_OK)
		return (rc);
	if ((rc = store_guser_walk(txn, NULL, vguser_fn, &v)) != STORE_OK ||
	    (rc = v.rc) != STORE_OK)
		return (rc);
	if ((rc = store_group_walk(txn, vgroup_fn, &v)) != STORE_OK)
		return (rc);
	return (v.rc);
}
