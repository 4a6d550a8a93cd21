/* SPDX-License-Identifier: ISC */
/*
 * push-admin.c: what tickctl(8) does with push: show the endpoints and
 * pending notifications of a user or a device, delete a device's
 * endpoint, count the spool, and verify that endpoints and pending
 * notifications belong to devices that exist (repair deletes those that
 * do not).  No globals and no event loop: the daemon's control socket and
 * tickctl's read-only store both call it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tickd.h"

/* What push_admin_show gathers: one object per device, by name. */
struct pshow {
	struct txn	*txn;
	const char	*user;
	const char	*device;	/* NULL: every device of the user */
	json_t		*devs;		/* device name -> object */
};

/*
 * The object of device in s; a new one has no endpoint and nothing
 * pending, and says whether the device exists.
 */
static json_t *
pshow_dev(struct pshow *s, const char *device)
{
	struct dev_rec	 r;
	json_t		*o;

	if ((o = json_object_get(s->devs, device)) != NULL)
		return (o);
	o = json_pack("{s:s,s:n,s:n,s:i,s:b,s:b,s:n,s:b}", "device", device,
	    "kind", "endpoint", "failures", 0, "encrypted", 0, "token", 0,
	    "pending", "device_exists", store_device_get(s->txn, s->user,
	    device, &r) == STORE_OK);
	json_object_set_new(s->devs, device, o);
	return (o);
}

/* Endpoint walk callback: the endpoint of one device. */
static int
pshow_ep_fn(void *arg, const char *user, const char *device,
    const struct push_ep *ep)
{
	struct pshow	*s = arg;
	json_t		*o;

	(void)user;
	if (s->device != NULL && strcmp(device, s->device) != 0)
		return (STORE_WALK_NEXT);
	o = pshow_dev(s, device);
	json_object_set_new(o, "kind", json_string(push_kind_name(ep->kind)));
	json_object_set_new(o, "endpoint", json_string(ep->endpoint));
	json_object_set_new(o, "failures", json_integer(
	    (json_int_t)ep->failures));
	json_object_set_new(o, "encrypted", json_boolean(ep->has_keys));
	json_object_set_new(o, "token", json_boolean(ep->token[0] != '\0'));
	return (STORE_WALK_NEXT);
}

/* Note walk callback: the pending notification of one device. */
static int
pshow_note_fn(void *arg, const char *user, const char *device,
    const struct push_note *n)
{
	struct pshow	*s = arg;
	char		 mid[MID_STRLEN + 1];

	(void)user;
	if (s->device != NULL && strcmp(device, s->device) != 0)
		return (STORE_WALK_NEXT);
	mid_format(&n->mid, mid);
	json_object_set_new(pshow_dev(s, device), "pending", json_pack(
	    "{s:I,s:I,s:I,s:b,s:s,s:I}", "created", (json_int_t)n->created,
	    "due", (json_int_t)n->due, "tries", (json_int_t)n->tries,
	    "plain", n->plain, "mid", mid, "ts", (json_int_t)n->ts));
	return (STORE_WALK_NEXT);
}

/*
 * push show USER[:DEVICE] (tickctl(8)): the user's devices with an
 * endpoint or a pending notification, or the one device, with or
 * without.  STORE_NOTFOUND if the user, or the named device with
 * nothing of push, does not exist.
 */
int
push_admin_show(struct txn *txn, const char *user, const char *device,
    json_t **res)
{
	struct user_rec	 u;
	struct pshow	 s = { .txn = txn, .user = user, .device = device };
	const char	*k;
	json_t		*a, *o;
	int		 rc;

	*res = NULL;
	if ((rc = store_user_get(txn, user, &u)) != STORE_OK)
		return (rc);
	s.devs = json_object();
	if ((rc = store_push_ep_walk(txn, user, pshow_ep_fn, &s)) !=
	    STORE_OK ||
	    (rc = store_push_note_walk(txn, user, pshow_note_fn, &s)) !=
	    STORE_OK) {
		json_decref(s.devs);
		return (rc);
	}
	if (device != NULL && json_object_size(s.devs) == 0 &&
	    !json_is_true(json_object_get(pshow_dev(&s, device),
	    "device_exists"))) {
		json_decref(s.devs);
		return (STORE_NOTFOUND);
	}
	a = json_array();
	json_object_foreach(s.devs, k, o)
		json_array_append(a, o);
	json_decref(s.devs);
	*res = json_pack("{s:s,s:o}", "user", user, "devices", a);
	return (STORE_OK);
}

/*
 * push del USER:DEVICE: the device's endpoint and pending notification
 * go, as by its push_unregister; STORE_NOTFOUND if it had neither.
 */
int
push_admin_del(struct txn *txn, const char *user, const char *device,
    json_t **res)
{
	struct push_ep		*ep;
	struct push_note	 n;
	int			 rc, has_ep, has_note;

	*res = NULL;
	ep = xmalloc(sizeof *ep);
	rc = store_push_ep_get(txn, user, device, ep);
	has_ep = rc == STORE_OK;
	if (rc == STORE_OK || rc == STORE_NOTFOUND) {
		rc = store_push_note_get(txn, user, device, &n);
		has_note = rc == STORE_OK;
	}
	if (rc != STORE_OK && rc != STORE_NOTFOUND) {
		free(ep);
		return (rc);
	}
	if (!has_ep && !has_note) {
		free(ep);
		return (STORE_NOTFOUND);
	}
	if ((rc = push_forget(txn, user, device)) == STORE_OK)
		*res = json_pack("{s:s,s:s,s:s?,s:b}", "user", user, "device",
		    device, "endpoint", has_ep ? ep->endpoint : NULL,
		    "pending", has_note);
	free(ep);
	return (rc);
}

/* Note walk callback: counts pending notifications. */
static int
count_fn(void *arg, const char *user, const char *device,
    const struct push_note *n)
{
	(void)user; (void)device; (void)n;
	(*(uint64_t *)arg)++;
	return (STORE_WALK_NEXT);
}

/* The pending notifications in the spool, for stats and metrics. */
int
push_admin_pending(struct txn *txn, uint64_t *n)
{
	*n = 0;
	return (store_push_note_walk(txn, NULL, count_fn, n));
}

/* What push_verify works with. */
struct pverify {
	struct txn	*txn;
	int		 fix;
	void		(*report)(void *, const char *);
	void		*arg;
	uint64_t	 eps, notes, problems, fixed;
};

static void	pv_problem(struct pverify *, const char *, ...)
		    printflike(2, 3);

/* Reports one inconsistency; fixed says whether repair deletes it. */
static void
pv_problem(struct pverify *v, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg, *line;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		fatal("vasprintf");
	va_end(ap);
	v->problems++;
	v->fixed += v->fix;
	xasprintf(&line, "%s%s", msg, v->fix ? " (repaired)" : "");
	v->report(v->arg, line);
	free(line);
	free(msg);
}

/* Endpoint walk callback: the device of an endpoint exists. */
static int
pv_ep_fn(void *arg, const char *user, const char *device,
    const struct push_ep *ep)
{
	struct pverify	*v = arg;
	struct dev_rec	 r;

	(void)ep;
	v->eps++;
	if (store_device_get(v->txn, user, device, &r) != STORE_NOTFOUND)
		return (STORE_WALK_NEXT);
	pv_problem(v, "push endpoint of %s:%s: no such device", user, device);
	return (v->fix ? STORE_WALK_DELETE : STORE_WALK_NEXT);
}

/*
 * Note walk callback: a pending notification belongs to a device that
 * exists and has an endpoint.
 */
static int
pv_note_fn(void *arg, const char *user, const char *device,
    const struct push_note *n)
{
	struct pverify	*v = arg;
	struct dev_rec	 r;
	struct push_ep	*ep;
	int		 rc;

	(void)n;
	v->notes++;
	rc = store_device_get(v->txn, user, device, &r);
	if (rc == STORE_NOTFOUND) {
		pv_problem(v, "pending push notification of %s:%s: no such "
		    "device", user, device);
		return (v->fix ? STORE_WALK_DELETE : STORE_WALK_NEXT);
	}
	if (rc != STORE_OK)
		return (STORE_WALK_NEXT);
	ep = xmalloc(sizeof *ep);
	rc = store_push_ep_get(v->txn, user, device, ep);
	free(ep);
	if (rc != STORE_NOTFOUND)
		return (STORE_WALK_NEXT);
	pv_problem(v, "pending push notification of %s:%s: the device has no "
	    "endpoint", user, device);
	return (v->fix ? STORE_WALK_DELETE : STORE_WALK_NEXT);
}

/*
 * For verify and repair (tickctl(8)): every push endpoint and pending
 * notification belongs to a device that exists, and every notification
 * to a device with an endpoint; with fix the others are deleted.  The
 * counts go into summary, its problems, repaired and consistent updated.
 */
int
push_verify(struct txn *txn, int fix, void (*report)(void *, const char *),
    void *arg, json_t *summary)
{
	struct pverify	v = { .txn = txn, .fix = fix, .report = report,
			    .arg = arg };
	int		rc;

	if ((rc = store_push_ep_walk(txn, NULL, pv_ep_fn, &v)) != STORE_OK ||
	    (rc = store_push_note_walk(txn, NULL, pv_note_fn, &v)) !=
	    STORE_OK)
		return (rc);
	json_object_set_new(summary, "push_endpoints", json_integer(
	    (json_int_t)v.eps));
	json_object_set_new(summary, "push_pending", json_integer(
	    (json_int_t)v.notes));
	json_object_set_new(summary, "problems", json_integer((json_int_t)
	    (json_integer_value(json_object_get(summary, "problems")) +
	    (json_int_t)v.problems)));
	json_object_set_new(summary, "repaired", json_integer((json_int_t)
	    (json_integer_value(json_object_get(summary, "repaired")) +
	    (json_int_t)v.fixed)));
	if (v.problems != v.fixed)
		json_object_set_new(summary, "consistent", json_false());
	return (STORE_OK);
}
