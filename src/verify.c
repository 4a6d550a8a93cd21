/* SPDX-License-Identifier: ISC */
/*
 * verify.c: tickctl(8) verify and repair: every index of the store checked
 * against the data it summarises.  tickctl runs the check on a store it
 * opened read-only, in one transaction; the daemon runs the repair on the
 * control socket in steps, each inside the write transaction of a turn of
 * its loop, resuming where the last stopped (admin_verify_step).  Nothing
 * here does I/O: each problem goes to the caller's report function.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tickd.h"

/* A key of the RESP shim as verify found it, for what hangs on its rid. */
struct vkey {
	uint64_t	rid;
	uint8_t		type;		/* RTYPE_* */
	int		indexed;	/* the SCAN index names it back */
	int		unsure;		/* its counts cannot be checked */
	uint64_t	count;		/* set: card; stream: length */
	uint64_t	ngroups;
	uint64_t	found;		/* members or live entries found */
	uint64_t	groups;		/* groups found */
};

/* A consumer group as verify found it, for what hangs on its gid. */
struct vgroup {
	uint64_t		rid;
	uint8_t			*name;
	size_t			len;
	struct rgroup_rec	r;
	int			unsure;		/* another group has its gid */
	uint64_t		pending;	/* PEL entries found */
	uint64_t		consumers;	/* consumers found */
};

/*
 * The records of one number (a qid, rid or gid) that belong to nothing,
 * counted as a walk meets them and reported once it is past them.
 */
struct vorphans {
	const char	*num;		/* "queue", "rid", "gid" */
	const char	*what;		/* "items" */
	const char	*owner;		/* "device" */
	int		 fix;		/* delete them */
	uint64_t	 n;
	uint64_t	 count;
};

/*
 * The stages of a verify, in order.  Each but the last resumes after the
 * key its last step stopped at, so that a step checks a bounded number of
 * records, each in the transaction it is given.
 */
enum {
	VS_USERS,
	VS_DEVICES,	/* each user's devices and their queues at once */
	VS_QUEUES,	/* the queues of no device */
	VS_MSGS,
	VS_DEDUP,
	VS_BLOCKS,
	VS_TOKENS,
	VS_REST,	/* the RESP shim, chat groups and keys, in one step */
	VS_DONE
};

#define VNAME_KEY_MAX	64	/* the longest name of a stage's cursor */

/* Walks what a verify walks and what it found. */
struct verify {
	struct txn	*txn;		/* the step's */
	int		 fix;
	void		(*report)(void *, const char *);
	void		*arg;
	int		 stage;		/* VS_* */
	int		 begun;		/* the stage has a cursor */
	int		 more;		/* the step stopped at its budget */
	size_t		 budget;	/* records a step may check */
	size_t		 n;		/* records this step checked */
	char		 last[VNAME_KEY_MAX + 1];	/* the cursor's names */
	char		 last2[VNAME_KEY_MAX + 1];
	struct mid	 last_mid;
	uint8_t		 last_token[32];
	uint64_t	 next_qid;
	uint64_t	 qid_start;	/* the last qid as VS_DEVICES began */
	struct adev	*cur;		/* the device whose queue is walked */
	struct gverify	 gv;
	struct mid	 hw;		/* the mid high-water mark */
	uint64_t	 qid_last;
	struct adevs	 slice;		/* the devices of a step */
	struct adevs	 devs;		/* every device that owns its queue */
	size_t		*qidx;		/* index of devs by qid, 0 or i + 1 */
	size_t		 nqidx;		/* a power of two, or 0 */
	size_t		(*shared)[2];	/* devs sharing a queue, by index */
	size_t		 nshared, capshared;
	struct vkey	*keys;		/* every RESP key, sorted by rid */
	size_t		 nkeys, capkeys;
	struct vgroup	*groups;	/* every live group, sorted by gid */
	size_t		 ngroups, capgroups;
	struct vorphans	 orphans;	/* of the walk going on */
	uint64_t	 problems;
	uint64_t	 fixed;
	uint64_t	 users, devices, items, msgs, dedup, blocks;
	uint64_t	 tokens, stale_tokens;
	uint64_t	 rkeys, members, entries, rgroups, consumers, pending;
	uint64_t	 audit;
	uint64_t	 key_devices, one_time_keys;	/* key directory */
	uint64_t	 bad_keys;	/* key records that did not decode */
	uint64_t	 bad_groups;	/* group records that did not decode */
};

static void	verify_problem(struct verify *, int, const char *, ...)
		    printflike(3, 4);

/* Reports one inconsistency; fixed says whether it was repaired. */
static void
verify_problem(struct verify *v, int fixed, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg, *line;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		fatal("vasprintf");
	va_end(ap);
	v->problems++;
	v->fixed += fixed;
	xasprintf(&line, "%s%s", msg, fixed ? " (repaired)" : "");
	v->report(v->arg, line);
	free(line);
	free(msg);
}

/*
 * Whether a step has checked its budget of records, and stops: a walk
 * callback asks before it checks a record, so that the cursor is the last
 * record checked.
 */
static int
verify_full(struct verify *v)
{
	if (v->n < v->budget)
		return (0);
	v->more = 1;
	return (1);
}

/*
 * The slot of v->qidx where qid is, or the free one where it would go:
 * qids are handed out in sequence, which their low bits spread.
 */
static size_t
verify_slot(const struct verify *v, uint64_t qid)
{
	size_t	i, mask = v->nqidx - 1;

	for (i = (size_t)(qid * 0x9e3779b97f4a7c15ULL) & mask;
	    v->qidx[i] != 0 && v->devs.v[v->qidx[i] - 1].r.qid != qid;
	    i = (i + 1) & mask)
		;
	return (i);
}

/* The device owning queue qid (the first found if several do), or NULL. */
static struct adev *
verify_find(struct verify *v, uint64_t qid)
{
	size_t	i;

	if (v->nqidx == 0 || v->qidx[i = verify_slot(v, qid)] == 0)
		return (NULL);
	return (&v->devs.v[v->qidx[i] - 1]);
}

/*
 * Keeps a device among those that own their queue, indexed by qid
 * without sorting them all at once; one whose queue another has is noted
 * for verify_shared.
 */
static void
verify_keep(struct verify *v, const struct adev *a)
{
	size_t	i, j, n = v->devs.n;

	if (n == v->devs.cap)
		v->devs.v = xgrow(v->devs.v, &v->devs.cap, sizeof *v->devs.v,
		    64);
	v->devs.v[v->devs.n++] = *a;
	/* Kept at most half full, rebuilt twice as big. */
	if ((n + 1) * 2 > v->nqidx) {
		free(v->qidx);
		v->nqidx = v->nqidx == 0 ? 1024 : v->nqidx * 2;
		v->qidx = xcalloc(v->nqidx, sizeof *v->qidx);
		for (i = 0; i < n; i++) {
			j = verify_slot(v, v->devs.v[i].r.qid);
			if (v->qidx[j] == 0)
				v->qidx[j] = i + 1;
		}
	}
	i = verify_slot(v, a->r.qid);
	if (v->qidx[i] == 0) {
		v->qidx[i] = n + 1;
		return;
	}
	if (v->nshared == v->capshared)
		v->shared = xgrow(v->shared, &v->capshared, sizeof *v->shared,
		    4);
	v->shared[v->nshared][0] = v->qidx[i] - 1;
	v->shared[v->nshared++][1] = n;
}

/* Device walk callback: stops at the first device. */
static int
any_dev_fn(void *arg, const char *user, const char *device,
    const struct dev_rec *r)
{
	(void)user; (void)device; (void)r;
	*(int *)arg = 1;
	return (STORE_WALK_STOP);
}

/* User walk callback: every account has at least one device. */
static int
verify_user_fn(void *arg, const char *user, const struct user_rec *u)
{
	struct verify	*v = arg;
	struct dev_rec	 r;
	int		 any = 0;

	(void)u;
	if (verify_full(v))
		return (STORE_WALK_STOP);
	v->n++;
	strlcpy(v->last, user, sizeof v->last);
	v->users++;
	if (store_device_walk(v->txn, user, any_dev_fn, &any) != STORE_OK ||
	    any)
		return (STORE_WALK_NEXT);
	/* Repaired as a logout leaves it: a fresh unclaimed "default". */
	memset(&r, 0, sizeof r);
	r.created = r.last_active = now_ms();
	verify_problem(v, v->fix && store_qid_next(v->txn, &r.qid) ==
	    STORE_OK && store_device_put(v->txn, user, "default", &r) ==
	    STORE_OK, "user %s has no device", user);
	return (STORE_WALK_NEXT);
}

/* Starts counting the orphans of a walk: what of num belongs to no owner. */
static void
verify_orphans_begin(struct verify *v, const char *num, const char *what,
    const char *owner, int fix)
{
	v->orphans.num = num;
	v->orphans.what = what;
	v->orphans.owner = owner;
	v->orphans.fix = fix;
	v->orphans.count = 0;
}

/* Reports the orphans counted, if any. */
static void
verify_orphans_end(struct verify *v)
{
	struct vorphans	*o = &v->orphans;

	if (o->count == 0)
		return;
	verify_problem(v, o->fix, "%s %llu holds %llu %s but belongs to no "
	    "%s%s", o->num, (unsigned long long)o->n,
	    (unsigned long long)o->count, o->what, o->owner,
	    o->fix ? "; removed" : "");
	o->count = 0;
}

/*
 * Counts a record of number n that belongs to nothing; the walks go in
 * number order, so a new number ends the count of the last.
 */
static int
verify_orphan(struct verify *v, uint64_t n)
{
	struct vorphans	*o = &v->orphans;

	if (o->count != 0 && o->n != n)
		verify_orphans_end(v);
	o->n = n;
	o->count++;
	return (o->fix ? STORE_WALK_DELETE : STORE_WALK_NEXT);
}

/* store_keys_verify's report of one problem. */
static void
verify_keys_problem(void *arg, int fixed, const char *msg)
{
	verify_problem(arg, fixed, "%s", msg);
}

/* Checks that an item's frame is the JSON object its key says. */
static int
verify_frame(const struct mid *mid, const struct item *it)
{
	char		 ms[MID_STRLEN + 1];
	const char	*op, *fmid;
	json_t		*f;
	int		 ok;

	mid_format(mid, ms);
	if ((f = json_loadb(it->data, it->len, 0, NULL)) == NULL)
		return (0);
	op = json_string_value(json_object_get(f, "op"));
	fmid = json_string_value(json_object_get(f, "mid"));
	ok = op != NULL && fmid != NULL && strcmp(fmid, ms) == 0 &&
	    item_op(it->kind) != NULL && strcmp(op, item_op(it->kind)) == 0;
	json_decref(f);
	return (ok);
}

/* Queue walk callback: mid, kind and frame of each item of v->cur. */
static int
verify_item_fn(void *arg, const struct mid *mid, const struct item *it)
{
	struct verify	*v = arg;
	struct adev	*a = v->cur;
	char		 ms[MID_STRLEN + 1];

	v->items++;
	v->n++;
	mid_format(mid, ms);
	if (mid_cmp(mid, &v->hw) > 0)
		verify_problem(v, 0, "item %s of %s:%s is above the mid "
		    "high-water mark", ms, a->user, a->device);
	if (item_op(it->kind) == NULL || !verify_frame(mid, it)) {
		verify_problem(v, v->fix, "item %s of %s:%s is damaged", ms,
		    a->user, a->device);
		return (v->fix ? STORE_WALK_DELETE : STORE_WALK_NEXT);
	}
	a->items++;
	a->bytes += it->len;
	return (STORE_WALK_NEXT);
}

/* Msgs walk callback: no message record is above the high-water mark. */
static int
verify_msg_fn(void *arg, const struct mid *mid, const struct msg_rec *m)
{
	struct verify	*v = arg;
	char		 ms[MID_STRLEN + 1];

	(void)m;
	if (verify_full(v))
		return (STORE_WALK_STOP);
	v->n++;
	v->last_mid = *mid;
	v->msgs++;
	if (mid_cmp(mid, &v->hw) > 0) {
		mid_format(mid, ms);
		verify_problem(v, 0, "message record %s is above the mid "
		    "high-water mark", ms);
	}
	return (STORE_WALK_NEXT);
}

/* Dedup walk callback: each record names its user's message record. */
static int
verify_dedup_fn(void *arg, const char *user, const char *id,
    const struct dedup_rec *r)
{
	struct verify	*v = arg;
	struct user_rec	 u;
	struct msg_rec	 m;
	char		 ms[MID_STRLEN + 1];

	if (verify_full(v))
		return (STORE_WALK_STOP);
	v->n++;
	strlcpy(v->last, user, sizeof v->last);
	strlcpy(v->last2, id, sizeof v->last2);
	v->dedup++;
	if (store_user_get(v->txn, user, &u) == STORE_NOTFOUND) {
		verify_problem(v, v->fix, "client id \"%s\" of %s: no such "
		    "user", id, user);
		return (v->fix ? STORE_WALK_DELETE : STORE_WALK_NEXT);
	}
	if (store_msg_get(v->txn, &r->mid, &m) != STORE_OK ||
	    strcmp(m.from, user) != 0 || strcmp(m.id, id) != 0) {
		mid_format(&r->mid, ms);
		verify_problem(v, v->fix, "client id \"%s\" of %s names "
		    "message %s, which has no matching record", id, user, ms);
		return (v->fix ? STORE_WALK_DELETE : STORE_WALK_NEXT);
	}
	return (STORE_WALK_NEXT);
}

/* Block walk callback: both users of a block exist. */
static int
verify_block_fn(void *arg, const char *blocker, const char *blocked)
{
	struct verify	*v = arg;
	struct user_rec	 u;

	if (verify_full(v))
		return (STORE_WALK_STOP);
	v->n++;
	strlcpy(v->last, blocker, sizeof v->last);
	strlcpy(v->last2, blocked, sizeof v->last2);
	v->blocks++;
	if (store_user_get(v->txn, blocker, &u) == STORE_OK &&
	    store_user_get(v->txn, blocked, &u) == STORE_OK)
		return (STORE_WALK_NEXT);
	verify_problem(v, v->fix, "block of %s by %s: no such user", blocked,
	    blocker);
	return (v->fix ? STORE_WALK_DELETE : STORE_WALK_NEXT);
}

/* Token walk callback: counts stale tokens, which the sweep removes. */
static int
verify_token_fn(void *arg, const uint8_t *hash, const struct token_rec *t)
{
	struct verify	*v = arg;
	struct dev_rec	 r;

	if (verify_full(v))
		return (STORE_WALK_STOP);
	v->n++;
	memcpy(v->last_token, hash, sizeof v->last_token);
	v->tokens++;
	if (t->expires <= now_ms() ||
	    store_device_get(v->txn, t->user, t->device, &r) != STORE_OK ||
	    r.qid != t->qid)
		v->stale_tokens++;
	return (STORE_WALK_NEXT);
}

/*
 * Device walk callback: collects the step's devices, a user's all at once,
 * so that a login renaming the lone "default" between two steps cannot
 * hide a device from both.
 */
static int
verify_dev_fn(void *arg, const char *user, const char *device,
    const struct dev_rec *r)
{
	struct verify	*v = arg;

	if (strcmp(user, v->last) != 0) {
		if (verify_full(v))
			return (STORE_WALK_STOP);
		strlcpy(v->last, user, sizeof v->last);
	}
	v->n++;
	return (adevs_fn(&v->slice, user, device, r));
}

/*
 * Checks one device: it belongs to an account and has a queue number that
 * was handed out, and its counts match its queue, whose items are checked.
 * Repairing removes a device of no account (its queue is then left to
 * VS_QUEUES), deletes damaged items and writes the counts found.  *keep
 * says whether the device is kept among those that own their queue.
 */
static int
verify_device(struct verify *v, struct adev *a, int *keep)
{
	struct user_rec	 u;
	uint64_t	 count, bytes;
	int		 rc;

	*keep = 1;
	v->devices++;
	if (store_user_get(v->txn, a->user, &u) == STORE_NOTFOUND) {
		verify_problem(v, v->fix &&
		    store_keys_drop(v->txn, a->user, a->device) == STORE_OK &&
		    store_device_del(v->txn, a->user, a->device) == STORE_OK,
		    "device %s:%s belongs to no user", a->user, a->device);
		if (v->fix) {
			*keep = 0;
			return (STORE_OK);
		}
	}
	if (a->r.qid == 0 || a->r.qid > v->qid_last)
		verify_problem(v, 0, "device %s:%s has queue %llu, which was "
		    "never handed out", a->user, a->device,
		    (unsigned long long)a->r.qid);
	v->cur = a;
	if ((rc = store_queue_walk(v->txn, a->r.qid, NULL, verify_item_fn,
	    v)) != STORE_OK)
		return (rc);
	if (a->items == a->r.count && a->bytes == a->r.bytes)
		return (STORE_OK);
	count = a->r.count;
	bytes = a->r.bytes;
	a->r.count = a->items;
	a->r.bytes = a->bytes;
	if (v->fix && (rc = store_device_put(v->txn, a->user, a->device,
	    &a->r)) != STORE_OK)
		return (rc);
	verify_problem(v, v->fix, "device %s:%s counts %llu items of %llu "
	    "bytes; its queue holds %llu items of %llu bytes", a->user,
	    a->device, (unsigned long long)count, (unsigned long long)bytes,
	    (unsigned long long)a->items, (unsigned long long)a->bytes);
	return (STORE_OK);
}

/*
 * A step of VS_DEVICES: the devices of the next users, each user's in
 * this step, checked with their queues, and kept for VS_QUEUES.
 */
static int
verify_devices(struct verify *v)
{
	size_t	i;
	int	rc, keep;

	if (!v->begun) {
		/* A queue above this is a device's made since: not judged. */
		v->qid_start = v->qid_last;
		v->begun = 1;
	}
	memset(&v->slice, 0, sizeof v->slice);
	/* The callback leaves in v->last the user it stopped after. */
	rc = store_device_walk_after(v->txn, v->last[0] != '\0' ? v->last :
	    NULL, verify_dev_fn, v);
	for (i = 0; rc == STORE_OK && i < v->slice.n; i++) {
		if ((rc = verify_device(v, &v->slice.v[i], &keep)) ==
		    STORE_OK && keep)
			verify_keep(v, &v->slice.v[i]);
	}
	free(v->slice.v);
	memset(&v->slice, 0, sizeof v->slice);
	return (rc);
}

/* Queue walk callback of a queue of no device: counts, and deletes. */
static int
verify_orphan_item_fn(void *arg, const struct mid *mid, const struct item *it)
{
	struct verify	*v = arg;

	(void)mid; (void)it;
	v->items++;
	v->n++;
	return (verify_orphan(v, v->next_qid));
}

/*
 * A step of VS_QUEUES: the queues no device kept by VS_DEVICES owns.  A
 * queue number is handed out once, to a new device, and a login's rename
 * keeps it within its user, so one up to the last when VS_DEVICES began
 * that none of its devices had is no device's now; one above the last now
 * was never handed out; one between is a new device's, left alone.
 */
static int
verify_queues(struct verify *v)
{
	uint64_t	q;
	int		rc;

	if (!v->begun) {
		v->next_qid = 0;
		v->begun = 1;
	}
	for (;;) {
		if (verify_full(v))
			return (STORE_OK);
		rc = store_queue_next(v->txn, v->next_qid, &q);
		if (rc == STORE_NOTFOUND)
			return (STORE_OK);
		if (rc != STORE_OK)
			return (rc);
		v->n++;
		if (verify_find(v, q) == NULL &&
		    (q <= v->qid_start || q > v->qid_last)) {
			v->next_qid = q;
			verify_orphans_begin(v, "queue", "items", "device",
			    v->fix);
			if ((rc = store_queue_walk(v->txn, q, NULL,
			    verify_orphan_item_fn, v)) != STORE_OK)
				return (rc);
			/* Reported in the step that deleted them. */
			verify_orphans_end(v);
		}
		if (q == UINT64_MAX)
			return (STORE_OK);
		v->next_qid = q + 1;
	}
}

/*
 * Two devices sharing a queue, reported only, as they still are in this
 * transaction: a device seen by an early step may have gone since.
 */
static void
verify_shared(struct verify *v)
{
	struct adev	*a, *b;
	struct dev_rec	 ra, rb;
	size_t		 i;

	for (i = 0; i < v->nshared; i++) {
		a = &v->devs.v[v->shared[i][0]];
		b = &v->devs.v[v->shared[i][1]];
		if (store_device_get(v->txn, a->user, a->device, &ra) !=
		    STORE_OK ||
		    store_device_get(v->txn, b->user, b->device, &rb) !=
		    STORE_OK || ra.qid != a->r.qid || rb.qid != a->r.qid)
			continue;
		verify_problem(v, 0, "devices %s:%s and %s:%s share queue %llu",
		    a->user, a->device, b->user, b->device,
		    (unsigned long long)a->r.qid);
	}
}

#define VNAME_SHOWN	64		/* bytes of a name a report shows */
/* Quotes, 4 bytes (\xNN) for each byte shown, "..." and the NUL. */
#define VNAME_BUF	(2 + VNAME_SHOWN * 4 + 3 + 1)

/*
 * A name of the RESP shim for a report.  It may hold any byte: it is
 * quoted, what is not printable ASCII is written \xNN, and it is cut after
 * VNAME_SHOWN bytes.
 */
static const char *
verify_name(char *buf, const void *p, size_t len)
{
	static const char	 hex[] = "0123456789abcdef";
	const uint8_t		*s = p;
	size_t			 i, o = 0;

	buf[o++] = '"';
	for (i = 0; i < len && i < VNAME_SHOWN; i++) {
		if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' &&
		    s[i] != '\\') {
			buf[o++] = (char)s[i];
			continue;
		}
		buf[o++] = '\\';
		buf[o++] = 'x';
		buf[o++] = hex[s[i] >> 4];
		buf[o++] = hex[s[i] & 0xf];
	}
	buf[o++] = '"';
	if (len > VNAME_SHOWN) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return (buf);
}

/* Orders keys by rid. */
static int
vkey_rid_cmp(const void *a, const void *b)
{
	const struct vkey	*x = a, *y = b;

	return (x->rid < y->rid ? -1 : x->rid > y->rid);
}

/* Where the first key of rid, or the next above, is in the sorted keys. */
static size_t
verify_key_at(struct verify *v, uint64_t rid)
{
	size_t	lo = 0, hi = v->nkeys, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (v->keys[mid].rid < rid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (lo);
}

/*
 * The key of rid if it has type type, or NULL.  Of keys that share a rid
 * (reported, and their counts not checked) the first is taken.
 */
static struct vkey *
verify_key(struct verify *v, uint64_t rid, uint8_t type)
{
	size_t	i;

	i = verify_key_at(v, rid);
	if (i == v->nkeys || v->keys[i].rid != rid || v->keys[i].type != type)
		return (NULL);
	return (&v->keys[i]);
}

/*
 * How a report names a key: by its name when the SCAN index names it
 * back, else by its rid.
 */
static const char *
verify_key_name(struct verify *v, const struct vkey *k, char *buf)
{
	const void	*p;
	size_t		 len;

	if (k->indexed &&
	    store_ridx_get(v->txn, k->rid, &p, &len) == STORE_OK)
		return (verify_name(buf, p, len));
	snprintf(buf, VNAME_BUF, "with rid %llu", (unsigned long long)k->rid);
	return (buf);
}

/* Orders groups by gid. */
static int
vgroup_gid_cmp(const void *a, const void *b)
{
	const struct vgroup	*x = a, *y = b;

	return (x->r.gid < y->r.gid ? -1 : x->r.gid > y->r.gid);
}

/* The live group of gid, or NULL. */
static struct vgroup *
verify_group(struct verify *v, uint64_t gid)
{
	struct vgroup	key;

	if (v->ngroups == 0)
		return (NULL);
	key.r.gid = gid;
	return (bsearch(&key, v->groups, v->ngroups, sizeof key,
	    vgroup_gid_cmp));
}

/* How a report names a group and its stream. */
static void
verify_group_name(struct verify *v, const struct vgroup *g, char *gname,
    char *kname)
{
	verify_name(gname, g->name, g->len);
	verify_key_name(v, verify_key(v, g->rid, RTYPE_STREAM), kname);
}

/*
 * Key record walk callback: it decodes, and the SCAN index has its rid,
 * naming it.  Repairing enters a key missing from the index.
 */
static int
verify_rkey_fn(void *arg, const void *key, size_t len,
    const struct rkey_rec *r)
{
	struct verify	*v = arg;
	struct vkey	*k;
	char		 name[VNAME_BUF], other[VNAME_BUF];
	uint8_t		*copy;
	const void	*p;
	size_t		 plen;
	int		 rc;

	v->rkeys++;
	verify_name(name, key, len);
	if (r == NULL) {
		v->bad_keys++;
		verify_problem(v, 0, "key %s does not decode", name);
		return (STORE_WALK_NEXT);
	}
	if (v->nkeys == v->capkeys)
		v->keys = xgrow(v->keys, &v->capkeys, sizeof *v->keys, 16);
	k = &v->keys[v->nkeys++];
	memset(k, 0, sizeof *k);
	k->rid = r->rid;
	k->type = r->type;
	k->count = r->type == RTYPE_SET ? r->card : r->length;
	k->ngroups = r->ngroups;
	rc = store_ridx_get(v->txn, r->rid, &p, &plen);
	if (rc == STORE_OK && plen == len && memcmp(p, key, len) == 0)
		k->indexed = 1;
	else if (rc == STORE_OK)
		verify_problem(v, 0, "key %s has rid %llu, which the SCAN "
		    "index gives to %s", name, (unsigned long long)r->rid,
		    verify_name(other, p, plen));
	else if (rc == STORE_NOTFOUND) {
		/* The key points into the map, where the put may write. */
		copy = xmalloc(len + 1);
		memcpy(copy, key, len);
		k->indexed = v->fix &&
		    store_ridx_put(v->txn, r->rid, copy, len) == STORE_OK;
		free(copy);
		verify_problem(v, k->indexed, "key %s has rid %llu but is "
		    "missing from the SCAN index", name,
		    (unsigned long long)r->rid);
	}
	return (STORE_WALK_NEXT);
}

/*
 * SCAN index walk callback: each entry names a key whose record has its
 * rid.  One that names no such key would list a key twice, or one that is
 * gone, so repairing deletes it, unless a key record that does not decode
 * could be the one.
 */
static int
verify_ridx_fn(void *arg, uint64_t rid, const void *key, size_t len)
{
	struct verify	*v = arg;
	char		 name[VNAME_BUF];
	size_t		 i;
	int		 fix = v->fix && v->bad_keys == 0;

	if (key == NULL) {
		verify_problem(v, fix, "SCAN index entry of rid %llu does not "
		    "decode%s", (unsigned long long)rid,
		    fix ? "; removed" : "");
		return (fix ? STORE_WALK_DELETE : STORE_WALK_NEXT);
	}
	for (i = verify_key_at(v, rid); i < v->nkeys && v->keys[i].rid == rid;
	    i++) {
		if (v->keys[i].indexed)
			return (STORE_WALK_NEXT);
	}
	verify_problem(v, fix, "SCAN index entry of rid %llu names key %s, "
	    "whose record does not have that rid%s", (unsigned long long)rid,
	    verify_name(name, key, len), fix ? "; removed" : "");
	return (fix ? STORE_WALK_DELETE : STORE_WALK_NEXT);
}

/* Set member walk callback: each belongs to a set. */
static int
verify_rset_fn(void *arg, uint64_t rid, const void *m, size_t len)
{
	struct verify	*v = arg;
	struct vkey	*k;
	char		 name[VNAME_BUF];

	(void)len;
	v->members++;
	if ((k = verify_key(v, rid, RTYPE_SET)) == NULL)
		return (verify_orphan(v, rid));
	k->found++;
	if (m == NULL)
		verify_problem(v, 0, "a member of set %s does not decode",
		    verify_key_name(v, k, name));
	return (STORE_WALK_NEXT);
}

/* Stream entry walk callback: each belongs to a stream. */
static int
verify_rentry_fn(void *arg, uint64_t rid, const struct mid *id,
    const struct rentry *e)
{
	struct verify	*v = arg;
	struct vkey	*k;
	char		 name[VNAME_BUF];

	(void)id;
	v->entries++;
	if ((k = verify_key(v, rid, RTYPE_STREAM)) == NULL)
		return (verify_orphan(v, rid));
	if (e == NULL) {
		/* Live or a tombstone: the length cannot be checked. */
		k->unsure = 1;
		verify_problem(v, 0, "an entry of stream %s does not decode",
		    verify_key_name(v, k, name));
	} else if (!e->deleted)
		k->found++;
	return (STORE_WALK_NEXT);
}

/* Consumer group walk callback: each belongs to a stream. */
static int
verify_rgroup_fn(void *arg, uint64_t rid, const void *name, size_t len,
    const struct rgroup_rec *r)
{
	struct verify	*v = arg;
	struct vkey	*k;
	struct vgroup	*g;
	char		 kname[VNAME_BUF];

	v->rgroups++;
	if ((k = verify_key(v, rid, RTYPE_STREAM)) == NULL)
		return (verify_orphan(v, rid));
	k->groups++;
	if (r == NULL) {
		v->bad_groups++;
		verify_problem(v, 0, "a consumer group of stream %s does not "
		    "decode", verify_key_name(v, k, kname));
		return (STORE_WALK_NEXT);
	}
	if (v->ngroups == v->capgroups) {
		v->groups = xgrow(v->groups, &v->capgroups,
		    sizeof *v->groups, 4);
	}
	g = &v->groups[v->ngroups++];
	memset(g, 0, sizeof *g);
	g->rid = rid;
	g->name = xmalloc(len + 1);
	memcpy(g->name, name, len);
	g->len = len;
	g->r = *r;
	return (STORE_WALK_NEXT);
}

/* Consumer walk callback: each belongs to a group. */
static int
verify_rcons_fn(void *arg, uint64_t gid, const void *name, size_t len,
    const struct rcons_rec *r)
{
	struct verify	*v = arg;
	struct vgroup	*g;
	char		 gname[VNAME_BUF], kname[VNAME_BUF];

	(void)name; (void)len;
	v->consumers++;
	if ((g = verify_group(v, gid)) == NULL)
		return (verify_orphan(v, gid));
	g->consumers++;
	if (r == NULL) {
		verify_group_name(v, g, gname, kname);
		verify_problem(v, 0, "a consumer of group %s of stream %s "
		    "does not decode", gname, kname);
	}
	return (STORE_WALK_NEXT);
}

/*
 * Pending entry walk callback: each belongs to a group and names one of
 * its consumers, as XCLAIM, XACK and XGROUP DELCONSUMER keep it.  An
 * entry of no consumer is still pending: XCLAIM gives it one, XACK drops
 * it, so repairing leaves it be.
 */
static int
verify_rpel_fn(void *arg, uint64_t gid, const struct mid *id,
    const struct rpel_rec *p)
{
	struct verify	*v = arg;
	struct vgroup	*g;
	char		 gname[VNAME_BUF], kname[VNAME_BUF], cname[VNAME_BUF];
	char		 ms[MID_STRLEN + 1];

	v->pending++;
	if ((g = verify_group(v, gid)) == NULL)
		return (verify_orphan(v, gid));
	g->pending++;
	if (p == NULL) {
		verify_group_name(v, g, gname, kname);
		verify_problem(v, 0, "a pending entry of group %s of stream %s "
		    "does not decode", gname, kname);
	} else if (store_rcons_has(v->txn, gid, p->consumer, p->clen) ==
	    STORE_NOTFOUND) {
		verify_group_name(v, g, gname, kname);
		mid_format(id, ms);
		verify_problem(v, 0, "pending entry %s of group %s of stream "
		    "%s names consumer %s, which does not exist", ms, gname, kname,
		    verify_name(cname, p->consumer, p->clen));
	}
	return (STORE_WALK_NEXT);
}

/* Audit spool walk callback: each event decodes. */
static int
verify_audit_fn(void *arg, uint64_t id, const struct audit_rec *r)
{
	struct verify	*v = arg;

	v->audit++;
	if (r == NULL)
		verify_problem(v, 0, "audit event %llu does not decode",
		    (unsigned long long)id);
	return (STORE_WALK_NEXT);
}

/* Writes the counts found into the record of k, named by the index. */
static int
verify_key_fix(struct verify *v, const struct vkey *k)
{
	struct rkey_rec	 r;
	uint8_t		*key;
	const void	*p;
	size_t		 len;
	int		 rc;

	if ((rc = store_ridx_get(v->txn, k->rid, &p, &len)) != STORE_OK)
		return (rc);
	/* The name points into the map, where the put may write. */
	key = xmalloc(len + 1);
	memcpy(key, p, len);
	if ((rc = store_rkey_get(v->txn, key, len, &r)) == STORE_OK) {
		if (k->type == RTYPE_SET)
			r.card = k->found;
		else {
			r.length = k->found;
			r.ngroups = k->groups;
		}
		rc = store_rkey_put(v->txn, key, len, &r, 0);
	}
	free(key);
	return (rc);
}

/*
 * Checks the counts the set, stream and group records keep against what
 * the walks found.  Repairing writes what was found, into a key's record
 * if the index names it.
 */
static int
verify_counts(struct verify *v)
{
	struct vkey	*k;
	struct vgroup	*g;
	char		 name[VNAME_BUF], kname[VNAME_BUF];
	uint64_t	 pending, consumers;
	size_t		 i;
	int		 rc, fix;

	for (i = 0; i < v->nkeys; i++) {
		k = &v->keys[i];
		if (k->unsure || k->type == RTYPE_STRING ||
		    (k->count == k->found && (k->type == RTYPE_SET ||
		    k->ngroups == k->groups)))
			continue;
		verify_key_name(v, k, name);
		fix = v->fix && k->indexed;
		if (fix && (rc = verify_key_fix(v, k)) != STORE_OK)
			return (rc);
		if (k->type == RTYPE_SET)
			verify_problem(v, fix, "set %s counts %llu members; it "
			    "holds %llu", name, (unsigned long long)k->count,
			    (unsigned long long)k->found);
		else
			verify_problem(v, fix, "stream %s counts %llu entries "
			    "and %llu groups; it holds %llu entries and %llu "
			    "groups", name, (unsigned long long)k->count,
			    (unsigned long long)k->ngroups,
			    (unsigned long long)k->found,
			    (unsigned long long)k->groups);
	}
	for (i = 0; i < v->ngroups; i++) {
		g = &v->groups[i];
		if (g->unsure || (g->r.pending == g->pending &&
		    g->r.consumers == g->consumers))
			continue;
		verify_group_name(v, g, name, kname);
		pending = g->r.pending;
		consumers = g->r.consumers;
		g->r.pending = g->pending;
		g->r.consumers = g->consumers;
		if (v->fix && (rc = store_rgroup_put(v->txn, g->rid, g->name,
		    g->len, &g->r)) != STORE_OK)
			return (rc);
		verify_problem(v, v->fix, "group %s of stream %s counts %llu "
		    "pending entries and %llu consumers; it holds %llu and "
		    "%llu", name, kname, (unsigned long long)pending,
		    (unsigned long long)consumers,
		    (unsigned long long)g->pending,
		    (unsigned long long)g->consumers);
	}
	return (STORE_OK);
}

/*
 * Checks the RESP shim's records (store.h): each key record decodes and
 * has an rid of its own, under which the SCAN index names it; each index
 * entry names a key with its rid; each set member, stream entry and group
 * belongs to a key of the right type, each consumer and pending entry to a
 * group, and each pending entry names a consumer of its group; the counts
 * the records keep match; each event of the audit spool decodes.
 * Repairing deletes what belongs to nothing, unless a record that does not
 * decode could own it, enters keys missing from the index and writes the
 * counts found.
 */
static int
verify_resp(struct verify *v)
{
	size_t	i;
	int	rc, fix;

	if ((rc = store_rkey_walk_all(v->txn, verify_rkey_fn, v)) !=
	    STORE_OK)
		return (rc);
	if (v->nkeys != 0)
		qsort(v->keys, v->nkeys, sizeof *v->keys, vkey_rid_cmp);
	for (i = 1; i < v->nkeys; i++) {
		if (v->keys[i].rid != v->keys[i - 1].rid)
			continue;
		v->keys[i].unsure = v->keys[i - 1].unsure = 1;
		verify_problem(v, 0, "rid %llu is held by more than one key",
		    (unsigned long long)v->keys[i].rid);
	}
	if ((rc = store_ridx_walk_all(v->txn, verify_ridx_fn, v)) !=
	    STORE_OK)
		return (rc);

	fix = v->fix && v->bad_keys == 0;
	verify_orphans_begin(v, "rid", "set members", "set", fix);
	if ((rc = store_rset_walk_all(v->txn, verify_rset_fn, v)) !=
	    STORE_OK)
		return (rc);
	verify_orphans_end(v);
	verify_orphans_begin(v, "rid", "stream entries", "stream", fix);
	if ((rc = store_rentry_walk_all(v->txn, verify_rentry_fn, v)) !=
	    STORE_OK)
		return (rc);
	verify_orphans_end(v);
	verify_orphans_begin(v, "rid", "consumer groups", "stream", fix);
	if ((rc = store_rgroup_walk_all(v->txn, verify_rgroup_fn, v)) !=
	    STORE_OK)
		return (rc);
	verify_orphans_end(v);

	if (v->ngroups != 0)
		qsort(v->groups, v->ngroups, sizeof *v->groups,
		    vgroup_gid_cmp);
	for (i = 1; i < v->ngroups; i++) {
		if (v->groups[i].r.gid != v->groups[i - 1].r.gid)
			continue;
		v->groups[i].unsure = v->groups[i - 1].unsure = 1;
		verify_problem(v, 0, "gid %llu is held by more than one "
		    "consumer group", (unsigned long long)v->groups[i].r.gid);
	}
	fix = fix && v->bad_groups == 0;
	verify_orphans_begin(v, "gid", "consumers", "consumer group", fix);
	if ((rc = store_rcons_walk_all(v->txn, verify_rcons_fn, v)) !=
	    STORE_OK)
		return (rc);
	verify_orphans_end(v);
	verify_orphans_begin(v, "gid", "pending entries", "consumer group",
	    fix);
	if ((rc = store_rpel_walk_all(v->txn, verify_rpel_fn, v)) !=
	    STORE_OK)
		return (rc);
	verify_orphans_end(v);

	if ((rc = verify_counts(v)) != STORE_OK)
		return (rc);
	return (store_audit_walk_all(v->txn, verify_audit_fn, v));
}

/* One step of the stage under way; its cursor is left in v. */
static int
verify_stage(struct verify *v)
{
	const char	*last = v->begun ? v->last : NULL;
	size_t		 n0 = v->n;
	int		 rc;

	switch (v->stage) {
	case VS_USERS:
		v->begun = 1;
		return (store_user_walk_after(v->txn, last, verify_user_fn, v));
	case VS_DEVICES:
		return (verify_devices(v));
	case VS_QUEUES:
		return (verify_queues(v));
	case VS_MSGS:
		rc = store_msg_walk_after(v->txn, v->begun ? &v->last_mid :
		    NULL, verify_msg_fn, v);
		break;
	case VS_DEDUP:
		rc = store_dedup_walk_after(v->txn, last, v->last2,
		    verify_dedup_fn, v);
		break;
	case VS_BLOCKS:
		rc = store_block_walk_all_after(v->txn, last, v->last2,
		    verify_block_fn, v);
		break;
	case VS_TOKENS:
		rc = store_token_walk_after(v->txn, v->begun ? v->last_token :
		    NULL, verify_token_fn, v);
		break;
	default:
		/* Their checks hold arrays across walks: one transaction. */
		verify_shared(v);
		if ((rc = verify_resp(v)) != STORE_OK ||
		    (rc = admin_group_verify(v->txn, v->fix, v->report, v->arg,
		    &v->gv)) != STORE_OK)
			return (rc);
		return (store_keys_verify(v->txn, v->fix, verify_keys_problem,
		    v, &v->key_devices, &v->one_time_keys));
	}
	/* A walk that checked no record leaves the cursor where it was. */
	v->begun = v->begun || v->n > n0;
	return (rc);
}

/* A verify to run in steps; fix: repair (each step's txn must write). */
struct verify *
admin_verify_new(int fix)
{
	struct verify	*v;

	v = xcalloc(1, sizeof *v);
	v->fix = fix;
	return (v);
}

/*
 * Checks about budget more records, in txn, from where the last step
 * stopped (a whole user's devices and a whole queue at a time, and the
 * RESP shim, chat groups and keys in a step of their own); each problem
 * found goes to report.  *done is set once every check has run.  A
 * repair's step fixes what is wrong in txn, whatever ran since the last
 * one: what each check reads and writes is in the one transaction.
 */
int
admin_verify_step(struct verify *v, struct txn *txn, size_t budget,
    void (*report)(void *, const char *), void *arg, int *done)
{
	int	rc;

	v->txn = txn;
	v->report = report;
	v->arg = arg;
	v->budget = budget;
	v->n = 0;
	v->more = 0;
	*done = 0;
	/* Read in every step: the store has moved on since the last. */
	if ((rc = store_mid_load(txn, &v->hw)) != STORE_OK ||
	    (rc = store_qid_last(txn, &v->qid_last)) != STORE_OK)
		return (rc);
	while (v->stage != VS_DONE) {
		/* The last stage is a step of its own. */
		if (v->stage == VS_REST && v->n > 0)
			return (STORE_OK);
		if ((rc = verify_stage(v)) != STORE_OK)
			return (rc);
		if (v->more)
			return (STORE_OK);
		v->stage++;
		v->begun = 0;
		v->last[0] = v->last2[0] = '\0';
		/* The user walk may have handed out a queue number. */
		if ((rc = store_qid_last(txn, &v->qid_last)) != STORE_OK)
			return (rc);
	}
	*done = 1;
	return (STORE_OK);
}

/* The summary once every step has run: the counts of what was checked. */
json_t *
admin_verify_summary(struct verify *v)
{
	uint64_t	problems = v->problems + v->gv.problems;
	uint64_t	fixed = v->fixed + v->gv.fixed;

	return (json_pack("{s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,"
	    "s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
	    "consistent", problems == fixed,
	    "problems", (json_int_t)problems,
	    "repaired", (json_int_t)fixed,
	    "users", (json_int_t)v->users,
	    "devices", (json_int_t)v->devices,
	    "items", (json_int_t)v->items,
	    "messages", (json_int_t)v->msgs,
	    "client_ids", (json_int_t)v->dedup,
	    "blocks", (json_int_t)v->blocks,
	    "tokens", (json_int_t)v->tokens,
	    "stale_tokens", (json_int_t)v->stale_tokens,
	    "keys", (json_int_t)v->rkeys,
	    "set_members", (json_int_t)v->members,
	    "stream_entries", (json_int_t)v->entries,
	    "groups", (json_int_t)v->rgroups,
	    "consumers", (json_int_t)v->consumers,
	    "pending_entries", (json_int_t)v->pending,
	    "audit_events", (json_int_t)v->audit,
	    "chat_groups", (json_int_t)v->gv.groups,
	    "group_members", (json_int_t)v->gv.members,
	    "key_devices", (json_int_t)v->key_devices,
	    "one_time_keys", (json_int_t)v->one_time_keys));
}

/* Frees a verify, done or not. */
void
admin_verify_free(struct verify *v)
{
	size_t	i;

	if (v == NULL)
		return;
	free(v->slice.v);
	free(v->devs.v);
	free(v->qidx);
	free(v->shared);
	free(v->keys);
	for (i = 0; i < v->ngroups; i++)
		free(v->groups[i].name);
	free(v->groups);
	free(v);
}

/*
 * Checks every index against the data it summarises (after Knot's
 * "zone check"): devices against accounts, each device's item count and
 * bytes against its queue, queues against devices, mids against the
 * high-water mark, frames against their keys, client ids against message
 * records, blocks against accounts, and the RESP shim's records and the
 * audit spool (verify_resp()).  Each inconsistency is passed to report as
 * one line.  With fix set (a write transaction), what can be repaired
 * without guessing is: counts are recomputed, orphan queues, damaged
 * items, dangling client ids and blocks are deleted, devices of no
 * account removed, an account left without a device gets "default", and
 * what verify_resp() says.  The summary has the counts of what was
 * checked.  All in txn, the steps of admin_verify_step without a bound.
 */
int
admin_verify(struct txn *txn, int fix, void (*report)(void *, const char *),
    void *arg, json_t **summary)
{
	struct verify	*v;
	int		 rc, done;

	*summary = NULL;
	v = admin_verify_new(fix);
	do {
		rc = admin_verify_step(v, txn, SIZE_MAX, report, arg, &done);
	} while (rc == STORE_OK && !done);
	if (rc == STORE_OK)
		*summary = admin_verify_summary(v);
	admin_verify_free(v);
	return (rc);
}
