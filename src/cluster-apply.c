/* SPDX-License-Identifier: ISC */
/*
 * cluster-apply.c: what a node of a cluster does with a batch of entries
 * read from its stream (tickd-cluster(7), Messages between nodes): in the one
 * transaction of the batch, apply each new msg, rcpt, gmsg, gev, gleave
 * and mref record, skip what the cursor or a dedup record says was
 * applied, delete the outbox records a done confirms, serve each new req
 * (cluster-serve.c), trim dedup records below each origin's low-water
 * mark, and advance the cursor.  What to acknowledge, which done and rep
 * entries to send go back to the caller, who does so after the commit.
 * No I/O here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tickd.h"

/* A receipt record for origin's outbox; group NULL for a 1:1 message. */
static int
rcpt_put(struct txn *txn, struct midgen *gen, const char *origin,
    const struct mid *om, const char *status, const char *reason,
    const char *by, const char *group, uint64_t now)
{
	json_t		*p;
	char		 fs[MID_STRLEN + 1];

	mid_format(om, fs);
	p = json_pack("{s:s,s:s,s:s,s:I}", "for", fs, "status", status, "by",
	    by, "ts", (json_int_t)now);
	if (p != NULL && reason != NULL)
		json_object_set_new(p, "reason", json_string(reason));
	if (p != NULL && group != NULL)
		json_object_set_new(p, "group", json_string(group));
	return (cluster_cout_json(txn, gen, origin, NULL, COUT_RCPT, now, p,
	    NULL));
}

/*
 * Adds a receipt record for node origin to the outbox: status ("delivered",
 * "read" or "failed" with reason) for origin's message om, made by user by.
 */
int
cluster_rcpt_put(struct txn *txn, struct midgen *gen, const char *origin,
    const struct mid *om, const char *status, const char *reason,
    const char *by, uint64_t now)
{
	return (rcpt_put(txn, gen, origin, om, status, reason, by, NULL, now));
}

/*
 * The same for a message to group: by's receipt as a member (protocol
 * rule 9 of GROUPS), which origin queues with "group".
 */
int
cluster_rcpt_put_group(struct txn *txn, struct midgen *gen,
    const char *origin, const struct mid *om, const char *status,
    const char *by, const char *group, uint64_t now)
{
	return (rcpt_put(txn, gen, origin, om, status, NULL, by, group, now));
}

/*
 * Adds om to the done list for origin: to its moved list if the record
 * was for a user not homed here.
 */
static void
done_add(struct cluster_applied *a, const char *origin, const struct mid *om,
    int moved)
{
	struct cluster_done	*d = NULL;
	size_t			 i;

	for (i = 0; i < a->ndone; i++) {
		if (strcmp(a->done[i].node, origin) == 0) {
			d = &a->done[i];
			break;
		}
	}
	if (d == NULL) {
		if (a->ndone == a->capdone)
			a->done = xgrow(a->done, &a->capdone,
			    sizeof *a->done, 4);
		d = &a->done[a->ndone++];
		memset(d, 0, sizeof *d);
		strlcpy(d->node, origin, sizeof d->node);
	}
	if (moved) {
		if (d->nmoved == d->capmoved)
			d->moved = xgrow(d->moved, &d->capmoved,
			    sizeof *d->moved, 4);
		d->moved[d->nmoved++] = *om;
		return;
	}
	if (d->n == d->cap)
		d->oms = xgrow(d->oms, &d->cap, sizeof *d->oms, 16);
	d->oms[d->n++] = *om;
}

/* Frees what cluster_apply left in a. */
void
cluster_applied_free(struct cluster_applied *a)
{
	size_t	i;

	for (i = 0; i < a->ndone; i++) {
		free(a->done[i].oms);
		free(a->done[i].moved);
	}
	free(a->done);
	free(a->relook);
	for (i = 0; i < a->nreps; i++)
		free(a->reps[i].text);
	free(a->reps);
	free(a->groups);
	targets_free(&a->targets);
	memset(a, 0, sizeof *a);
}

/* Notes that group changed in the batch: its mirror is written again. */
void
cluster_applied_group(struct cluster_applied *a, const char *group)
{
	size_t	i;

	for (i = 0; i < a->ngroups; i++) {
		if (strcmp(a->groups[i], group) == 0)
			return;
	}
	if (a->ngroups == a->capgroups)
		a->groups = xgrow(a->groups, &a->capgroups, sizeof *a->groups,
		    4);
	strlcpy(a->groups[a->ngroups++], group, sizeof *a->groups);
}

/* Adds to a a look-up again of user's home, for the record om at node. */
static void
relook_add(struct cluster_applied *a, const char *node, const struct mid *om,
    const char *user)
{
	struct cluster_relook	*r;

	if (a->nrelook == a->caprelook)
		a->relook = xgrow(a->relook, &a->caprelook, sizeof *a->relook,
		    4);
	r = &a->relook[a->nrelook++];
	strlcpy(r->node, node, sizeof r->node);
	r->om = *om;
	strlcpy(r->user, user, sizeof r->user);
}

/*
 * A record that node answered "moved": a user it is for is not homed
 * there (tickd-cluster(7), Home nodes).  The record stays, and the home
 * of its recipient, or of each user a gev names (node applied it for
 * those homed there), is looked up again after the commit.  Their cached
 * homes stay meanwhile, so that no group item finds a member without a
 * home; the look-up replaces them.
 */
static int
apply_moved(struct txn *txn, const char *node, const struct mid *om,
    struct cluster_applied *a)
{
	struct cout_rec		 o;
	json_t			*p, *v;
	const char		*to;
	size_t			 i;
	int			 rc;

	if ((rc = store_cout_get(txn, node, om, &o)) != STORE_OK)
		return (rc == STORE_NOTFOUND ? STORE_OK : rc);
	if ((o.kind != COUT_MSG && o.kind != COUT_GEV) ||
	    (p = json_loadb(o.payload, o.len, 0, NULL)) == NULL)
		return (STORE_OK);
	if (o.kind == COUT_GEV) {
		json_array_foreach(json_object_get(p, "users"), i, v) {
			to = json_string_value(v);
			if (to != NULL && valid_user(to, strlen(to)))
				relook_add(a, node, om, to);
		}
	} else if ((to = json_string_value(json_object_get(p, "to"))) !=
	    NULL && valid_user(to, strlen(to)))
		relook_add(a, node, om, to);
	json_decref(p);
	return (STORE_OK);
}

/*
 * The gev record o, om at node, after user's home was looked up again:
 * node applied it for the users homed there, so user leaves it, and goes
 * with a copy naming it alone, under a new mid, to home if that is
 * another node.  A record left naming nobody is done.
 */
static int
retarget_gev(struct txn *txn, struct midgen *gen, const char *node,
    const struct mid *om, const struct cout_rec *o, const char *user,
    const char *home, uint64_t now)
{
	struct cout_rec	 n;
	struct mid	 mid;
	json_t		*p, *users, *left, *roles, *v;
	char		*text;
	size_t		 i;
	int		 rc, named = 0;

	if ((p = json_loadb(o->payload, o->len, 0, NULL)) == NULL)
		return (STORE_OK);
	/* Kept while p names the copy's users and roles. */
	users = json_incref(json_object_get(p, "users"));
	roles = json_incref(json_object_get(p, "roles"));
	left = json_array();
	json_array_foreach(users, i, v) {
		if (json_is_string(v) && strcmp(json_string_value(v), user) ==
		    0)
			named = 1;
		else
			json_array_append(left, v);
	}
	if (!named) {
		rc = STORE_OK;
		goto out;
	}
	n = *o;
	rc = STORE_OK;
	if (home != NULL && strcmp(home, node) != 0) {
		json_object_set_new(p, "users", json_pack("[s]", user));
		if (roles != NULL)
			json_object_set_new(p, "roles", json_pack("{s:O?}",
			    user, json_object_get(roles, user)));
		if ((text = json_dumps(p, JSON_COMPACT)) == NULL) {
			rc = STORE_ERR;
			goto out;
		}
		midgen_next(gen, now, &mid);
		n.payload = text;
		n.len = strlen(text);
		rc = store_cout_put(txn, home, &mid, &n);
		free(text);
		if (rc == STORE_OK && n.holds)
			rc = cluster_cout_hold_copy(txn, gen, om, &mid, now);
		if (roles != NULL)
			json_object_set(p, "roles", roles);
	}
	/* Rewritten under om, which node has not confirmed. */
	if (rc == STORE_OK)
		rc = store_cout_del(txn, node, om, NULL);
	if (rc == STORE_OK && json_array_size(left) == 0)
		rc = cluster_cout_release(txn, gen, om, o, now);
	else if (rc == STORE_OK) {
		json_object_set(p, "users", left);
		if ((text = json_dumps(p, JSON_COMPACT)) == NULL)
			rc = STORE_ERR;
		else {
			n.payload = text;
			n.len = strlen(text);
			rc = store_cout_put(txn, node, om, &n);
			free(text);
		}
	}
out:
	json_decref(users);
	json_decref(roles);
	json_decref(left);
	json_decref(p);
	return (rc);
}

/*
 * After user's home was looked up again for the record om held for node
 * (apply_moved): a message moves to the outbox of home, another node,
 * under the same om, so that its receipts still find it; with home NULL
 * (no such user now) or node again, it fails with a receipt no_such_user,
 * as a single node answers.  A gev goes on as retarget_gev says.  A record
 * gone meanwhile changes nothing.  With home NULL, a cached home of user
 * that is node goes.
 */
int
cluster_retarget(struct txn *txn, struct midgen *gen, const char *node,
    const struct mid *om, const char *user, const char *home, uint64_t now,
    struct targets *out)
{
	struct cout_rec	 o;
	char		*copy, cached[CLUSTER_NODE_MAX + 1];
	int		 rc;

	if (home == NULL) {
		rc = store_cdir_get(txn, user, cached);
		if (rc == STORE_OK && strcmp(cached, node) == 0)
			rc = store_cdir_del(txn, user);
		if (rc != STORE_OK && rc != STORE_NOTFOUND)
			return (rc);
	}
	if ((rc = store_cout_get(txn, node, om, &o)) != STORE_OK)
		return (rc == STORE_NOTFOUND ? STORE_OK : rc);
	/* o points into the store, which a put may move. */
	copy = xmalloc(o.len + 1);
	memcpy(copy, o.payload, o.len);
	o.payload = copy;
	if (o.kind == COUT_GEV)
		rc = retarget_gev(txn, gen, node, om, &o, user, home, now);
	else if (home == NULL || strcmp(home, node) == 0) {
		if ((rc = store_cout_del(txn, node, om, NULL)) == STORE_OK)
			rc = cluster_cout_release(txn, gen, om, &o, now);
		if (rc == STORE_OK)
			rc = queue_remote_receipt(txn, gen, om, "failed",
			    "no_such_user", now, out);
	} else if ((rc = store_cout_put(txn, home, om, &o)) == STORE_OK)
		rc = store_cout_del(txn, node, om, NULL);
	free(copy);
	return (rc);
}

/*
 * Deletes the outbox records for node that a done entry lists, with the
 * media references they held; those it lists as moved are looked up
 * again.
 */
static int
apply_done(struct txn *txn, struct midgen *gen, const char *node, json_t *p,
    uint64_t now, struct cluster_applied *a)
{
	json_t		*oms = json_object_get(p, "oms"), *v;
	struct cout_rec	 o;
	struct mid	 om;
	size_t		 i;
	int		 rc;

	json_array_foreach(json_object_get(p, "moved"), i, v) {
		if (!json_is_string(v) || mid_parse(json_string_value(v),
		    json_string_length(v), &om) != 0)
			continue;
		if ((rc = apply_moved(txn, node, &om, a)) != STORE_OK)
			return (rc);
	}
	if (!json_is_array(oms))
		return (STORE_OK);
	json_array_foreach(oms, i, v) {
		if (!json_is_string(v) || mid_parse(json_string_value(v),
		    json_string_length(v), &om) != 0)
			continue;
		if ((rc = store_cout_del(txn, node, &om, &o)) ==
		    STORE_NOTFOUND)
			continue;
		if (rc != STORE_OK ||
		    (rc = cluster_cout_release(txn, gen, &om, &o, now)) !=
		    STORE_OK)
			return (rc);
		a->confirmed++;
	}
	return (STORE_OK);
}

/* Applies a receipt for one of this node's messages. */
static int
apply_rcpt(struct txn *txn, struct midgen *gen, json_t *p, uint64_t now,
    struct cluster_applied *a)
{
	const char	*f = json_string_value(json_object_get(p, "for"));
	const char	*status = json_string_value(json_object_get(p,
			    "status"));
	const char	*reason = json_string_value(json_object_get(p,
			    "reason"));
	const char	*group = json_string_value(json_object_get(p,
			    "group"));
	const char	*by = json_string_value(json_object_get(p, "by"));
	struct mid	 mid;

	if (f == NULL || status == NULL || mid_parse(f, strlen(f), &mid) != 0)
		return (STORE_OK);
	if (strcmp(status, "delivered") != 0 && strcmp(status, "read") != 0 &&
	    strcmp(status, "failed") != 0)
		return (STORE_OK);
	if (group != NULL && by != NULL && strcmp(status, "failed") != 0)
		return (group_remote_receipt(txn, gen, &mid, by, status, now,
		    &a->targets));
	return (queue_remote_receipt(txn, gen, &mid, status, reason, now,
	    &a->targets));
}

/*
 * Whether user's account u is held for a name conflict (tickd-cluster(7),
 * Name conflicts): 1, 0, or a store error.  A hold names the creation time
 * of the account it was for, as cluster_held reads it, so that a later
 * account of that name is not held by it.
 */
static int
held(struct txn *txn, const char *user, const struct user_rec *u)
{
	uint64_t	created;
	int		rc;

	if ((rc = store_cheld_get(txn, user, &created)) == STORE_NOTFOUND)
		return (0);
	if (rc != STORE_OK)
		return (rc);
	return (created == u->created);
}

/*
 * Whether user is not homed here: no account of that name, or one held
 * for a name conflict (tickd-cluster(7), Name conflicts), so that a
 * caller's cached home is stale.  1, 0, or a store error.
 */
int
cluster_not_here(struct txn *txn, const char *user)
{
	struct user_rec	 u;
	int		 rc;

	if ((rc = store_user_get(txn, user, &u)) == STORE_NOTFOUND)
		return (1);
	if (rc != STORE_OK)
		return (rc);
	return (held(txn, user, &u));
}

/*
 * store_user_get for where user is homed, when delivering, fanning out or
 * vetting: in a cluster (conf names cluster_redis) an account held for a
 * name conflict reads as STORE_NOTFOUND, no account here, since another
 * node's account keeps the name (tickd-cluster(7), Name conflicts), and
 * the caller goes on as for any user homed elsewhere.  A single node, or
 * conf NULL, reads every account.
 */
int
cluster_user_get(struct txn *txn, const struct conf *conf, const char *user,
    struct user_rec *u)
{
	int	rc;

	if ((rc = store_user_get(txn, user, u)) != STORE_OK || conf == NULL ||
	    conf->cluster_redis == NULL)
		return (rc);
	if ((rc = held(txn, user, u)) == 1)
		return (STORE_NOTFOUND);
	return (rc == 0 ? STORE_OK : rc);
}

/*
 * Whether a msg record p is for a user not homed here, or a gev record
 * names one (cluster_not_here): 1, 0 (also for a malformed record, which
 * queue_apply_remote or group_apply_gev drops), or a store error.
 */
static int
not_here(struct txn *txn, const char *kind, json_t *p)
{
	json_t		*v;
	const char	*to;
	size_t		 i;
	int		 rc;

	if (strcmp(kind, "msg") == 0) {
		to = json_string_value(json_object_get(p, "to"));
		if (to == NULL || !valid_user(to, strlen(to)))
			return (0);
		return (cluster_not_here(txn, to));
	}
	if (strcmp(kind, "gev") != 0)
		return (0);
	json_array_foreach(json_object_get(p, "users"), i, v) {
		to = json_string_value(v);
		if (to != NULL && valid_user(to, strlen(to)) &&
		    (rc = cluster_not_here(txn, to)) != 0)
			return (rc);
	}
	return (0);
}

/*
 * Applies a batch of entries read from this node's stream (see the top of
 * the file).  a is zeroed before the first batch of a transaction, and
 * gathers what each batch applied in it adds; the caller frees it with
 * cluster_applied_free, commits, then acknowledges every entry, sends the
 * done lists and pumps a->targets.
 */
int
cluster_apply(struct txn *txn, struct midgen *gen, const struct conf *conf,
    const struct cluster_entry *v, size_t n, uint64_t now,
    struct cluster_applied *a)
{
	const struct cluster_entry	*e;
	struct mid			 cursor;
	enum cluster_verdict		 verdict;
	json_t				*p;
	const char			*left;
	uint64_t			 trimmed;
	size_t				 i;
	int				 rc, dedup, durable, moved;

	if ((rc = store_ccursor_get(txn, &cursor)) != STORE_OK)
		return (rc);
	for (i = 0; i < n; i++) {
		e = &v[i];
		if (e->has_lw && !mid_iszero(&e->lw)) {
			rc = store_cdedup_trim(txn, e->o, &e->lw, &trimmed);
			if (rc != STORE_OK)
				return (rc);
		}
		if (strcmp(e->k, "req") == 0) {
			/*
			 * At most once: a req at or below the cursor was
			 * served in a committed batch, and is not again.
			 */
			if (cluster_verdict(&cursor, &e->id, 0) ==
			    CLUSTER_SKIP)
				continue;
			cursor = e->id;
			if ((p = json_loadb(e->p, e->plen, 0, NULL)) == NULL) {
				log_warnx("cluster: call from %s with a bad "
				    "payload; dropped", e->o);
				continue;
			}
			rc = cluster_serve(txn, gen, conf, e->o, p, now, a);
			json_decref(p);
			if (rc != STORE_OK)
				return (rc);
			continue;
		}
		durable = strcmp(e->k, "msg") == 0 ||
		    strcmp(e->k, "rcpt") == 0 || strcmp(e->k, "gev") == 0 ||
		    strcmp(e->k, "gmsg") == 0 || strcmp(e->k, "gleave") == 0 ||
		    strcmp(e->k, "mref") == 0;
		if (!durable) {
			/* Mids are never reused: a done is always safe. */
			if (strcmp(e->k, "done") == 0 &&
			    (p = json_loadb(e->p, e->plen, 0, NULL)) != NULL) {
				rc = apply_done(txn, gen, e->o, p, now, a);
				json_decref(p);
				if (rc != STORE_OK)
					return (rc);
			}
			if (mid_cmp(&e->id, &cursor) > 0)
				cursor = e->id;
			continue;
		}
		rc = store_cdedup_get(txn, e->o, &e->om);
		if (rc != STORE_OK && rc != STORE_NOTFOUND)
			return (rc);
		dedup = rc == STORE_OK;
		verdict = cluster_verdict(&cursor, &e->id, dedup);
		if (verdict == CLUSTER_DONE_AGAIN) {
			/* A gev sent again still names whom it moved. */
			moved = 0;
			if (strcmp(e->k, "gev") == 0 &&
			    (p = json_loadb(e->p, e->plen, 0, NULL)) != NULL) {
				moved = not_here(txn, e->k, p);
				json_decref(p);
				if (moved < 0)
					return (moved);
			}
			a->dedup_hits++;
			done_add(a, e->o, &e->om, moved);
			continue;
		}
		if (verdict == CLUSTER_SKIP)
			continue;
		cursor = e->id;
		if ((p = json_loadb(e->p, e->plen, 0, NULL)) == NULL) {
			log_warnx("cluster: entry from %s with a bad payload; "
			    "dropped", e->o);
			continue;
		}
		if ((moved = not_here(txn, e->k, p)) < 0) {
			json_decref(p);
			return (moved);
		}
		if (strcmp(e->k, "msg") == 0 && moved) {
			/* No dedup record: a copy sent here again is asked. */
			json_decref(p);
			done_add(a, e->o, &e->om, 1);
			continue;
		}
		if (strcmp(e->k, "msg") == 0)
			rc = queue_apply_remote(txn, gen, conf, e->o, &e->om,
			    p, now, &a->targets);
		else if (strcmp(e->k, "gev") == 0)
			rc = group_apply_gev(txn, gen, conf, e->o, p, now,
			    &a->targets);
		else if (strcmp(e->k, "gmsg") == 0)
			rc = group_apply_gmsg(txn, gen, conf, e->o, &e->om, p,
			    now, &a->targets);
		else if (strcmp(e->k, "mref") == 0)
			rc = media_mref_apply(txn, e->o, p, now);
		else if (strcmp(e->k, "gleave") == 0) {
			rc = group_apply_gleave(txn, gen, conf, e->o, p, now,
			    &a->targets, &left);
			if (rc == STORE_OK && left != NULL)
				cluster_applied_group(a, left);
		}
		else
			rc = apply_rcpt(txn, gen, p, now, a);
		json_decref(p);
		if (rc == STORE_OK)
			rc = store_cdedup_put(txn, e->o, &e->om, now);
		if (rc != STORE_OK)
			return (rc);
		a->applied++;
		/* A gev is applied for the users homed here, the rest moved. */
		done_add(a, e->o, &e->om, moved);
	}
	a->cursor = cursor;
	return (store_ccursor_put(txn, &cursor));
}
