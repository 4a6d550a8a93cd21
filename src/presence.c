/* SPDX-License-Identifier: ISC */
/*
 * presence.c: who is online, who watches whom, and last seen.
 *
 * A user is online while at least one of its devices has an authenticated
 * connection; the ping clock in ws.c closes dead ones.  Presence lives in
 * memory only.  The store is written once when a user's last device goes
 * offline (last_seen), never per subscriber and never per heartbeat.
 *
 * What a viewer sees of a target follows tickd-protocol(7) BLOCKING, PRESENCE
 * AND TYPING: a blocked viewer sees offline and no last seen, and gets no
 * pushes; last_seen "nobody" hides the time but not the online state.
 * In a cluster, users homed elsewhere are seen through cluster-presence.c.
 */
#include <stdlib.h>
#include <string.h>

#include "tickd.h"

struct sub {
	TAILQ_ENTRY(sub)	 watch_entry;	/* on the target's list */
	LIST_ENTRY(sub)		 conn_entry;	/* on the viewer's list */
	struct conn		*c;
	struct watched		*w;
};

/* A user that is online, watched, or both. */
struct watched {
	struct watched		*next;		/* hash chain */
	TAILQ_HEAD(, conn)	 conns;		/* its authenticated conns */
	TAILQ_HEAD(, sub)	 subs;		/* who watches it */
	unsigned		 nconns;
	int			 remote;	/* homed on another node */
	char			 name[NAME_USER_MAX + 1];
};

static struct watched	**tab;
static size_t		  tab_size, tab_count;
static uint64_t		  users_online;

/* The entry of a user being watched or online, or NULL. */
static struct watched *
lookup(const char *user)
{
	struct watched	*w;

	if (tab_size == 0)
		return (NULL);
	for (w = tab[hash_str(user) & (tab_size - 1)]; w != NULL; w = w->next)
		if (strcmp(w->name, user) == 0)
			return (w);
	return (NULL);
}

/* Doubles the hash table, rehashing every entry. */
static void
grow(void)
{
	struct watched	**old = tab, *w, *next;
	size_t		  oldsize = tab_size, i, b;

	tab_size = oldsize == 0 ? 64 : oldsize * 2;
	tab = xcalloc(tab_size, sizeof *tab);
	for (i = 0; i < oldsize; i++) {
		for (w = old[i]; w != NULL; w = next) {
			next = w->next;
			b = hash_str(w->name) & (tab_size - 1);
			w->next = tab[b];
			tab[b] = w;
		}
	}
	free(old);
}

/* The entry of user, created (and the table grown) if there is none. */
static struct watched *
get(const char *user)
{
	struct watched	*w;
	size_t		 b;

	if ((w = lookup(user)) != NULL)
		return (w);
	if (tab_count + 1 > tab_size)
		grow();
	w = xcalloc(1, sizeof *w);
	strlcpy(w->name, user, sizeof w->name);
	TAILQ_INIT(&w->conns);
	TAILQ_INIT(&w->subs);
	b = hash_str(user) & (tab_size - 1);
	w->next = tab[b];
	tab[b] = w;
	tab_count++;
	return (w);
}

/* Forgets w once nobody is connected as it or watching it. */
static void
put(struct watched *w)
{
	struct watched	**pp;

	if (w->nconns != 0 || !TAILQ_EMPTY(&w->subs))
		return;
	if (w->remote)
		cluster_presence_unwatch(w->name);
	pp = &tab[hash_str(w->name) & (tab_size - 1)];
	for (; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			tab_count--;
			free(w);
			return;
		}
	}
}

/* Whether any device of user is online. */
int
presence_online(const char *user)
{
	struct watched	*w = lookup(user);

	return (w != NULL && w->nconns != 0);
}

/* How many users have a device online, for stats and metrics. */
uint64_t
presence_users_online(void)
{
	return (users_online);
}

/*
 * What viewer may see of target: online and last seen (0 for null).
 * rtxn is any open transaction to read blocks and settings from.
 */
static void
view(struct txn *txn, const char *viewer, const char *target, int *online,
    uint64_t *last_seen)
{
	struct user_rec	rec;

	*online = 0;
	*last_seen = 0;
	if (cluster_on() && store_user_get(txn, target, &rec) ==
	    STORE_NOTFOUND) {
		cluster_presence_view(viewer, target, online, last_seen);
		return;
	}
	if (strcmp(viewer, target) != 0 &&
	    store_block_get(txn, target, viewer) == STORE_OK)
		return;
	if (presence_online(target)) {
		*online = 1;
		return;
	}
	if (store_user_get(txn, target, &rec) != STORE_OK)
		return;
	if (rec.last_seen_vis == LASTSEEN_NOBODY && strcmp(viewer, target) != 0)
		return;
	*last_seen = rec.last_seen;
}

/* The {"user","online","last_seen"} members of what viewer sees. */
json_t *
presence_view(struct txn *txn, const char *viewer, const char *target)
{
	uint64_t	last_seen;
	int		online;

	view(txn, viewer, target, &online, &last_seen);
	return (json_pack("{s:s,s:b,s:o}", "user", target, "online", online,
	    "last_seen", last_seen != 0 ? json_integer((json_int_t)last_seen) :
	    json_null()));
}

/* Hands c the presence frame of what it sees of target. */
static void
push(struct txn *txn, struct conn *c, const char *target)
{
	json_t	*obj;
	char	*text;

	obj = presence_view(txn, c->user, target);
	json_object_set_new(obj, "op", json_string("presence"));
	text = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	if (text == NULL) {
		log_warnx("presence: cannot encode a frame for %s", c->addr);
		return;
	}
	conn_send(c, text, strlen(text));
	free(text);
}

/*
 * A transaction to read presence through: inside a turn with writes the
 * batch, so the view includes them (last_seen just written; what is sent
 * is held until its commit anyway), else a read transaction begun in
 * rtxn.  NULL, logged, if the store cannot be read.
 */
static struct txn *
view_txn(struct txn *rtxn)
{
	struct txn	*txn = NULL;

	if (batch_is_open())
		txn = batch_txn();
	else if (store_txn_begin(srv.store, rtxn, 0) == STORE_OK)
		txn = rtxn;
	if (txn == NULL)
		log_warnx("presence: cannot read the store");
	return (txn);
}

/*
 * Tells target's watchers (only those logged in as viewer, if not NULL)
 * what they now see of it.  A watcher the target has blocked is told only
 * when viewer names it: that is the block itself changing its view.
 */
static void
notify(const char *target, const char *viewer)
{
	struct watched	*w;
	struct sub	*s;
	struct txn	 rtxn, *txn;

	if ((w = lookup(target)) == NULL || TAILQ_EMPTY(&w->subs))
		return;
	if ((txn = view_txn(&rtxn)) == NULL)
		return;
	TAILQ_FOREACH(s, &w->subs, watch_entry) {
		if (viewer != NULL) {
			if (strcmp(s->c->user, viewer) == 0)
				push(txn, s->c, target);
		} else if (strcmp(s->c->user, target) == 0 ||
		    store_block_get(txn, target, s->c->user) != STORE_OK)
			push(txn, s->c, target);
	}
	if (txn == &rtxn)
		store_txn_abort(&rtxn);
}

/*
 * Writes the mirror of user, homed here, in a cluster (tickd-cluster(7),
 * Presence across nodes).
 */
static void
mirror(const char *user)
{
	struct user_rec	 rec;
	struct txn	 rtxn, *txn;

	if (!cluster_on())
		return;
	if ((txn = view_txn(&rtxn)) == NULL)
		return;
	if (store_user_get(txn, user, &rec) == STORE_OK)
		cluster_presence_changed(user, &rec, presence_online(user));
	if (txn == &rtxn)
		store_txn_abort(&rtxn);
}

/*
 * Tells target's watchers, target being homed on another node, what they
 * now see of it: those for whom changed is true.
 */
void
presence_remote_notify(const char *target,
    int (*changed)(const char *, void *), void *arg)
{
	struct watched	*w;
	struct sub	*s;
	struct txn	 txn;

	if ((w = lookup(target)) == NULL || TAILQ_EMPTY(&w->subs))
		return;
	if (store_txn_begin(srv.store, &txn, 0) != STORE_OK) {
		log_warnx("presence: cannot read the store");
		return;
	}
	TAILQ_FOREACH(s, &w->subs, watch_entry) {
		if (changed(s->c->user, arg))
			push(&txn, s->c, target);
	}
	store_txn_abort(&txn);
}

/* viewer's view of target changed by a block or unblock. */
void
presence_refresh_for(const char *target, const char *viewer)
{
	notify(target, viewer);
}

/* target's visible state changed for everyone (e.g. its settings). */
void
presence_refresh(const char *target)
{
	mirror(target);
	notify(target, NULL);
}

/* c is authenticated: the user may have come online. */
void
presence_attach(struct conn *c)
{
	struct watched	*w = get(c->user);

	TAILQ_INSERT_TAIL(&w->conns, c, user_entry);
	if (w->nconns++ == 0) {
		users_online++;
		mirror(c->user);
		notify(c->user, NULL);
	}
}

/*
 * c is no longer authenticated.  When it was the user's last connection,
 * last_seen is written (one store write) and watchers are told.
 */
void
presence_detach(struct conn *c)
{
	struct watched	*w = lookup(c->user);
	struct user_rec	 rec;
	struct txn	*txn;

	if (w == NULL)
		return;
	TAILQ_REMOVE(&w->conns, c, user_entry);
	if (--w->nconns == 0) {
		users_online--;
		if ((txn = batch_txn()) != NULL &&
		    store_user_get(txn, c->user, &rec) == STORE_OK) {
			rec.last_seen = now_ms();
			store_user_put(txn, c->user, &rec);
		}
		mirror(c->user);
		notify(c->user, NULL);
	}
	put(w);
}

/* Calls fn for every authenticated connection of user. */
void
presence_each(const char *user, void (*fn)(struct conn *, void *), void *arg)
{
	struct watched	*w = lookup(user);
	struct conn	*c, *next;

	if (w == NULL)
		return;
	for (c = TAILQ_FIRST(&w->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, user_entry);
		fn(c, arg);
	}
}

/*
 * c watches target from now on and is told what it sees now.  The caller
 * keeps c->nsubs within max_subscriptions.
 */
void
presence_subscribe(struct conn *c, const char *target, struct txn *txn)
{
	struct watched	*w;
	struct sub	*s;
	struct user_rec	 rec;

	LIST_FOREACH(s, &c->subs, conn_entry) {
		if (strcmp(s->w->name, target) == 0)
			break;
	}
	if (s == NULL) {
		w = get(target);
		s = xcalloc(1, sizeof *s);
		s->c = c;
		s->w = w;
		TAILQ_INSERT_TAIL(&w->subs, s, watch_entry);
		LIST_INSERT_HEAD(&c->subs, s, conn_entry);
		c->nsubs++;
		if (!w->remote && w->nconns == 0 && cluster_on() &&
		    store_user_get(txn, target, &rec) == STORE_NOTFOUND)
			w->remote = 1;
	}
	w = s->w;
	/* A remote user's first view comes once its mirror is read. */
	if (w->remote && cluster_presence_watch(target))
		return;
	push(txn, c, target);
}

/* Whether c watches target already. */
int
presence_watching(struct conn *c, const char *target)
{
	struct sub	*s;

	LIST_FOREACH(s, &c->subs, conn_entry) {
		if (strcmp(s->w->name, target) == 0)
			return (1);
	}
	return (0);
}

/* Ends one subscription, dropping its entry if nothing else holds it. */
static void
sub_free(struct sub *s)
{
	struct watched	*w = s->w;

	TAILQ_REMOVE(&w->subs, s, watch_entry);
	LIST_REMOVE(s, conn_entry);
	s->c->nsubs--;
	free(s);
	put(w);
}

/* Ends c's subscription to target, if it has one. */
void
presence_unsubscribe(struct conn *c, const char *target)
{
	struct sub	*s;

	LIST_FOREACH(s, &c->subs, conn_entry) {
		if (strcmp(s->w->name, target) == 0) {
			sub_free(s);
			return;
		}
	}
}

/* Drops every subscription of a closing connection. */
void
presence_unsubscribe_all(struct conn *c)
{
	struct sub	*s;

	while ((s = LIST_FIRST(&c->subs)) != NULL)
		sub_free(s);
}

/* Frees the table at exit, once every entry has gone. */
void
presence_free(void)
{
	free(tab);
	tab = NULL;
	tab_size = tab_count = 0;
}
