/* SPDX-License-Identifier: ISC */
/*
 * media-admin.c: what tickctl(8) does with media: list a user's IDs, show
 * or delete one, and verify that records and the files under media_dir
 * agree (repair makes them).  No globals and no event loop: the daemon's
 * control socket and tickctl's read-only store both call it.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tickd.h"

/*
 * One ID as JSON, spelled as clients see it: after "node." in a cluster
 * (node is NULL on a single node), tickd-cluster(7) Home nodes.
 */
static json_t *
media_json(const char *node, const uint8_t *id, const struct media_rec *r,
    uint64_t now, uint64_t ttl)
{
	char	ids[MEDIA_ID_LEN + 1], hex[65];
	char	name[CLUSTER_NODE_MAX + 2 + MEDIA_ID_LEN];

	media_id_format(id, ids);
	if (node != NULL)
		snprintf(name, sizeof name, "%s.%s", node, ids);
	else
		strlcpy(name, ids, sizeof name);
	hex_encode(r->sha256, 32, hex);
	return (json_pack("{s:s,s:s,s:I,s:s,s:s,s:I,s:I,s:I,s:b}", "media",
	    name, "uploader", r->uploader, "size", (json_int_t)r->size, "type",
	    r->type, "sha256", hex, "created", (json_int_t)r->created,
	    "last_ref", (json_int_t)r->last_ref, "refs", (json_int_t)r->refs,
	    "live", media_live(r, now, ttl)));
}

/* What media_admin_list gathers. */
struct mlist {
	struct txn	*txn;
	const char	*node;
	uint64_t	 now, ttl, bytes;
	json_t		*a;
};

/* User index walk callback: one entry per ID. */
static int
mlist_fn(void *arg, uint64_t unused, const uint8_t *id)
{
	struct mlist		*l = arg;
	struct media_rec	 r;

	(void)unused;
	if (store_media_get(l->txn, id, &r) != STORE_OK)
		return (STORE_WALK_NEXT);
	if (media_live(&r, l->now, l->ttl))
		l->bytes += r.size;
	json_array_append_new(l->a, media_json(l->node, id, &r, l->now,
	    l->ttl));
	return (STORE_WALK_NEXT);
}

/*
 * media list USER: every ID the user uploaded that still has a record,
 * expired or not, and the bytes counted against the quota.
 */
int
media_admin_list(struct txn *txn, const char *node, const char *user,
    uint64_t now, uint64_t ttl, json_t **res)
{
	struct user_rec	u;
	struct mlist	l = { .txn = txn, .node = node, .now = now,
			    .ttl = ttl };
	int		rc;

	*res = NULL;
	if ((rc = store_user_get(txn, user, &u)) != STORE_OK)
		return (rc);
	l.a = json_array();
	if ((rc = store_media_user_walk(txn, user, mlist_fn, &l)) !=
	    STORE_OK) {
		json_decref(l.a);
		return (rc);
	}
	*res = json_pack("{s:s,s:o,s:I}", "user", user, "media", l.a,
	    "quota_bytes", (json_int_t)l.bytes);
	return (STORE_OK);
}

/*
 * media show ID: its record, expired or not; STORE_NOTFOUND if none.
 * node is this node's node_name in a cluster, else NULL: it may come
 * first (media_id_read), and the answer spells the ID with it.
 */
int
media_admin_show(struct txn *txn, const char *node, const char *s,
    uint64_t now, uint64_t ttl, json_t **res)
{
	struct media_rec	r;
	uint8_t			id[MEDIA_ID_BYTES];
	int			rc;

	*res = NULL;
	if (media_id_read(node, s, strlen(s), id) != 0)
		return (STORE_NOTFOUND);
	if ((rc = store_media_get(txn, id, &r)) != STORE_OK)
		return (rc);
	*res = media_json(node, id, &r, now, ttl);
	return (STORE_OK);
}

/*
 * media del ID: deletes it whoever uploaded it; STORE_NOTFOUND if none.
 * node as for media_admin_show.
 */
int
media_admin_del(struct txn *txn, const char *node, const char *s,
    json_t **res)
{
	struct media_rec	r;
	uint8_t			id[MEDIA_ID_BYTES];
	int			rc;

	*res = NULL;
	if (media_id_read(node, s, strlen(s), id) != 0)
		return (STORE_NOTFOUND);
	if ((rc = store_media_get(txn, id, &r)) != STORE_OK ||
	    (rc = store_media_del(txn, id, &r)) != STORE_OK)
		return (rc);
	*res = json_pack("{s:s,s:s,s:I}", "media", s, "uploader", r.uploader,
	    "size", (json_int_t)r.size);
	return (STORE_OK);
}

/* A message naming media: how many items hold its references. */
struct mheld {
	struct mid	mid;	/* first: held_cmp takes it for the entry */
	uint64_t	items;	/* as its references record counts */
	uint64_t	held;	/* queued items and holding outbox records */
};

/* What media_verify works with. */
struct mverify {
	struct txn	*txn;
	struct midgen	*gen;		/* for a release's mref records */
	const char	*dir;
	int		 fix;
	void		(*report)(void *, const char *);
	void		*arg;
	uint64_t	 ids, files, orphans, problems, fixed;
	uint8_t		(*del)[MEDIA_ID_BYTES];	/* records to delete */
	size_t		 ndel, del_cap;
	uint8_t		(*refs)[MEDIA_ID_BYTES];	/* each message's IDs */
	size_t		 nrefs, refs_cap;
	struct {
		uint8_t		id[MEDIA_ID_BYTES];
		uint64_t	refs;
	}		*fixrefs;	/* records whose count to correct */
	size_t		 nfixrefs, fixrefs_cap;
	struct mheld	*held;		/* each message naming media */
	size_t		 nheld, held_cap;
};

/* Media references walk callback: each message's count of holders. */
static int
mv_held_fn(void *arg, const struct mid *mid, const struct media_refs *m)
{
	struct mverify	*v = arg;

	if (v->nheld == v->held_cap)
		v->held = xgrow(v->held, &v->held_cap, sizeof *v->held, 64);
	v->held[v->nheld].mid = *mid;
	v->held[v->nheld].items = m->items;
	v->held[v->nheld++].held = 0;
	return (STORE_WALK_NEXT);
}

/*
 * Orders struct mheld by mid, and finds a mid among them: a is either
 * (a pointer to a struct mheld is one to its first member, its mid).
 */
static int
held_cmp(const void *a, const void *b)
{
	return (mid_cmp(a, &((const struct mheld *)b)->mid));
}

/* Counts one holder of the message mid, if it names media. */
static void
mv_hold(struct mverify *v, const struct mid *mid)
{
	struct mheld	*h;

	if (v->nheld > 0 && (h = bsearch(mid, v->held, v->nheld,
	    sizeof *v->held, held_cmp)) != NULL)
		h->held++;
}

/* Queue walk callback: a queued item holds its message's references. */
static int
mv_item_fn(void *arg, uint64_t qid, const struct mid *mid,
    const struct item *it)
{
	(void)qid;
	(void)it;
	mv_hold(arg, mid);
	return (STORE_WALK_NEXT);
}

/* Outbox walk callback: so does a record marked as holding them. */
static int
mv_cout_fn(void *arg, const char *node, const struct mid *mid,
    const struct cout_rec *r)
{
	(void)node;
	if (r->holds)
		mv_hold(arg, mid);
	return (STORE_WALK_NEXT);
}

/*
 * Media references walk callback: gathers the IDs of this node's that
 * each message names (an ID of another node is counted by its owner).
 */
static int
mv_refs_fn(void *arg, const struct mid *mid, const struct media_refs *m)
{
	struct mverify	*v = arg;
	size_t		 i;

	(void)mid;
	for (i = 0; i < m->n; i++) {
		if (m->node[i][0] != '\0')
			continue;
		if (v->nrefs == v->refs_cap)
			v->refs = xgrow(v->refs, &v->refs_cap,
			    sizeof *v->refs, 64);
		memcpy(v->refs[v->nrefs++], m->ids[i], MEDIA_ID_BYTES);
	}
	return (STORE_WALK_NEXT);
}

/* Orders IDs, for counting a message's references by bsearch. */
static int
id_cmp(const void *a, const void *b)
{
	return (memcmp(a, b, MEDIA_ID_BYTES));
}

/* rref walk callback: adds up the references other nodes hold. */
static int
mv_rref_fn(void *arg, const uint8_t *id, const char *node, int64_t c)
{
	uint64_t	*n = arg;

	(void)id;
	(void)node;
	if (c > 0)
		*n += (uint64_t)c;
	return (STORE_WALK_NEXT);
}

/* How many messages here name id. */
static uint64_t
mv_count(const struct mverify *v, const uint8_t *id)
{
	const uint8_t	(*p)[MEDIA_ID_BYTES];
	uint64_t	 n = 0;

	if (v->nrefs == 0 || (p = bsearch(id, v->refs, v->nrefs,
	    sizeof *v->refs, id_cmp)) == NULL)
		return (0);
	while (p > v->refs && id_cmp(p - 1, id) == 0)
		p--;
	for (; p < v->refs + v->nrefs && id_cmp(p, id) == 0; p++)
		n++;
	return (n);
}

static void	mv_problem(struct mverify *, const char *, ...) printflike(2, 3);

/* Reports one problem (fixed if v->fix), as admin_verify() does. */
static void
mv_problem(struct mverify *v, const char *fmt, ...)
{
	va_list	 ap;
	char	*line, *full;

	va_start(ap, fmt);
	if (vasprintf(&line, fmt, ap) == -1)
		line = NULL;
	va_end(ap);
	v->problems++;
	if (v->fix)
		v->fixed++;
	xasprintf(&full, "%s%s", line != NULL ? line : "?", v->fix ?
	    " (repaired)" : "");
	v->report(v->arg, full);
	free(full);
	free(line);
}

/*
 * Each message's references record counts the items that hold it: its
 * queued items and the outbox records marked as holding it.  A count of
 * more than hold it would keep its media from media_ttl for ever; repair
 * sets the count, and releases the references of a message nothing holds
 * any more, as the last ack would have (media_release).  Done before the
 * references are counted by ID, so that those counts see the release.
 */
static int
mv_holders(struct mverify *v)
{
	struct media_refs	 m;
	struct mheld		*h;
	char			 ms[MID_STRLEN + 1];
	int			 rc;

	if ((rc = store_media_refs_walk(v->txn, mv_held_fn, v)) != STORE_OK)
		return (rc);
	if (v->nheld == 0)
		return (STORE_OK);
	qsort(v->held, v->nheld, sizeof *v->held, held_cmp);
	if ((rc = store_queue_walk_all(v->txn, mv_item_fn, v)) != STORE_OK ||
	    (rc = store_cout_walk(v->txn, NULL, NULL, mv_cout_fn, v)) !=
	    STORE_OK)
		return (rc);
	for (h = v->held; h < v->held + v->nheld; h++) {
		if (h->held == h->items)
			continue;
		mid_format(&h->mid, ms);
		mv_problem(v, "message %s: its media references count %llu "
		    "holders; %llu queued items and outbox records hold them",
		    ms, (unsigned long long)h->items,
		    (unsigned long long)h->held);
		if (!v->fix)
			continue;
		if ((rc = store_media_refs_get(v->txn, &h->mid, &m)) !=
		    STORE_OK)
			return (rc);
		m.items = h->held > 0 ? h->held : 1;
		if ((rc = store_media_refs_put(v->txn, &h->mid, &m)) !=
		    STORE_OK)
			return (rc);
		if (h->held == 0 && (rc = media_release(v->txn, v->gen,
		    &h->mid, now_ms())) != STORE_OK)
			return (rc);
	}
	return (STORE_OK);
}

/*
 * Reports a file no record names.  An upload cut short between the rename
 * of its file and the commit of its record leaves one, so it is counted
 * apart, like a stale token: wasted space, not an inconsistency.  Repair
 * removes it.
 */
static void
mv_orphan(struct mverify *v, const char *path)
{
	char	*line;

	v->orphans++;
	xasprintf(&line, "file %s: no media record names it%s", path,
	    v->fix ? " (removed)" : "");
	v->report(v->arg, line);
	free(line);
	if (v->fix && unlink(path) == -1)
		log_warn("media: unlink %s", path);
}

/* Media walk callback: each record must have its file of its size. */
static int
mv_media_fn(void *arg, const uint8_t *id, const struct media_rec *r)
{
	struct mverify	*v = arg;
	struct stat	 st;
	char		 path[4096], ids[MEDIA_ID_LEN + 1];
	uint64_t	 remote;
	int		 missing;

	if (id == NULL || r == NULL)
		return (STORE_WALK_NEXT);
	v->ids++;
	media_id_format(id, ids);
	remote = 0;
	if (store_media_rref_walk(v->txn, id, mv_rref_fn, &remote) !=
	    STORE_OK)
		return (STORE_WALK_STOP);
	if (mv_count(v, id) + remote != r->refs) {
		mv_problem(v, "media %s counts %llu references; %llu messages "
		    "here and %llu of other nodes name it", ids,
		    (unsigned long long)r->refs,
		    (unsigned long long)mv_count(v, id),
		    (unsigned long long)remote);
		if (v->nfixrefs == v->fixrefs_cap)
			v->fixrefs = xgrow(v->fixrefs, &v->fixrefs_cap,
			    sizeof *v->fixrefs, 16);
		memcpy(v->fixrefs[v->nfixrefs].id, id, MEDIA_ID_BYTES);
		v->fixrefs[v->nfixrefs++].refs = mv_count(v, id) + remote;
	}
	if (v->dir == NULL)
		return (STORE_WALK_NEXT);
	media_path(v->dir, r->sha256, path, sizeof path);
	missing = stat(path, &st) == -1;
	if (!missing && (uint64_t)st.st_size == r->size)
		return (STORE_WALK_NEXT);
	mv_problem(v, "media %s of %s: its file %s is %s", ids, r->uploader,
	    path, missing ? "missing" : "of another size");
	if (v->fix) {
		if (v->ndel == v->del_cap)
			v->del = xgrow(v->del, &v->del_cap, sizeof *v->del,
			    16);
		memcpy(v->del[v->ndel++], id, MEDIA_ID_BYTES);
	}
	return (STORE_WALK_NEXT);
}

/* rref walk callback: a count of an ID that has no record is stale. */
static int
mv_rref_orphan_fn(void *arg, const uint8_t *id, const char *node, int64_t c)
{
	struct mverify		*v = arg;
	struct media_rec	 r;
	char			 ids[MEDIA_ID_LEN + 1];
	int			 rc;

	if ((rc = store_media_get(v->txn, id, &r)) == STORE_OK)
		return (STORE_WALK_NEXT);
	if (rc != STORE_NOTFOUND)
		return (STORE_WALK_STOP);
	media_id_format(id, ids);
	mv_problem(v, "media %s: node %s counts %lld references to it, but "
	    "it has no record", ids, node, (long long)c);
	return (v->fix ? STORE_WALK_DELETE : STORE_WALK_NEXT);
}

/*
 * Checks media records against the files under dir: a record whose file
 * is missing or of another size, and a file (not one on the unlink list)
 * that no record names (an orphan, see mv_orphan), a message whose
 * references record counts other than the items holding it (mv_holders),
 * a count of references other than the messages naming the ID here plus
 * those other nodes' mref records count (which only they can check), and
 * such a count for an ID without a record.  With fix (gen then hands out
 * the mids of any mref records a release makes), such a record is
 * deleted (its media is lost either way), the file unlinked, the counts
 * set and a count without its record dropped.  A dir of NULL (a backup
 * file alone) checks the records only.  Temporary files of uploads under
 * way are left alone.  The counts go into summary.
 */
int
media_verify(struct txn *txn, struct midgen *gen, const char *dir, int fix,
    void (*report)(void *, const char *), void *arg, json_t *summary)
{
	struct mverify		 v;
	struct media_rec	 r, old;
	struct media_file	 f;
	struct dirent		*de;
	DIR			*d;
	uint8_t			 sha[32];
	char			 path[4096];
	size_t			 i;
	int			 rc;

	memset(&v, 0, sizeof v);
	v.txn = txn;
	v.gen = gen;
	v.dir = dir;
	v.fix = fix;
	v.report = report;
	v.arg = arg;
	if ((rc = mv_holders(&v)) != STORE_OK ||
	    (rc = store_media_refs_walk(txn, mv_refs_fn, &v)) != STORE_OK)
		goto out;
	if (v.nrefs > 0)
		qsort(v.refs, v.nrefs, sizeof *v.refs, id_cmp);
	if ((rc = store_media_walk(txn, mv_media_fn, &v)) != STORE_OK ||
	    (rc = store_media_rref_walk(txn, NULL, mv_rref_orphan_fn, &v)) !=
	    STORE_OK)
		goto out;
	for (i = 0; fix && i < v.nfixrefs; i++) {
		if ((rc = store_media_get(txn, v.fixrefs[i].id, &old)) !=
		    STORE_OK)
			goto out;
		r = old;
		r.refs = v.fixrefs[i].refs;
		if (r.refs == 0 && old.refs != 0)
			r.last_ref = now_ms();
		if ((rc = store_media_put(txn, v.fixrefs[i].id, &old, &r)) !=
		    STORE_OK)
			goto out;
	}
	for (i = 0; fix && i < v.ndel; i++) {
		if ((rc = store_media_get(txn, v.del[i], &r)) == STORE_OK)
			rc = store_media_del(txn, v.del[i], &r);
		if (rc != STORE_OK && rc != STORE_NOTFOUND)
			goto out;
	}
	rc = STORE_OK;
	if (dir == NULL)
		goto out;
	if ((d = opendir(dir)) == NULL) {
		if (errno != ENOENT)
			mv_problem(&v, "media_dir %s: %s", dir,
			    strerror(errno));
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		if (strlen(de->d_name) != 64 ||
		    hex_decode(de->d_name, 64, sha) != 0)
			continue;
		v.files++;
		rc = store_media_file_get(txn, sha, &f);
		if (rc == STORE_OK)
			continue;
		if (rc != STORE_NOTFOUND)
			break;
		rc = STORE_OK;
		if (store_media_gone_get(txn, sha) == STORE_OK)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		mv_orphan(&v, path);
	}
	closedir(d);
out:
	free(v.del);
	free(v.refs);
	free(v.fixrefs);
	free(v.held);
	if (rc == STORE_OK && summary != NULL) {
		json_object_set_new(summary, "media", json_integer(
		    (json_int_t)v.ids));
		json_object_set_new(summary, "media_files", json_integer(
		    (json_int_t)v.files));
		json_object_set_new(summary, "orphan_files", json_integer(
		    (json_int_t)v.orphans));
		json_object_set_new(summary, "problems", json_integer(
		    (json_int_t)(json_integer_value(json_object_get(summary,
		    "problems")) + (json_int_t)v.problems)));
		json_object_set_new(summary, "repaired", json_integer(
		    (json_int_t)(json_integer_value(json_object_get(summary,
		    "repaired")) + (json_int_t)v.fixed)));
		if (v.problems != v.fixed)
			json_object_set_new(summary, "consistent",
			    json_false());
	}
	return (rc);
}
