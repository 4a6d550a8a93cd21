/* SPDX-License-Identifier: ISC */
/*
 * limit.c: abuse limits kept in memory: token buckets for sends, login
 * attempts and key fetches, and open connections per source address.
 *
 * A bucket holds up to `burst` tokens and gains `rate` per second; an
 * action takes one.  A full bucket is the same as no bucket, so buckets
 * that have refilled are dropped by limit_prune() and memory follows the
 * number of recently active keys, not the number of keys ever seen.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tickd.h"

struct entry {
	struct entry	*next;
	double		 tokens;	/* buckets */
	uint64_t	 last;		/* Unix ms of the last refill */
	uint64_t	 count;		/* connection counts */
	char		 key[];
};

struct table {
	struct entry	**v;
	size_t		  size, n;
};

static struct table	sends, logins, addrs, fetches;

/* Doubles a table's buckets, rehashing every entry. */
static void
table_grow(struct table *t)
{
	struct entry	**old = t->v, *e, *next;
	size_t		  oldsize = t->size, i, b;

	t->size = oldsize == 0 ? 64 : oldsize * 2;
	t->v = xcalloc(t->size, sizeof *t->v);
	for (i = 0; i < oldsize; i++) {
		for (e = old[i]; e != NULL; e = next) {
			next = e->next;
			b = hash_str(e->key) & (t->size - 1);
			e->next = t->v[b];
			t->v[b] = e;
		}
	}
	free(old);
}

/* The entry for key, created (zeroed) if create is set. */
static struct entry *
table_get(struct table *t, const char *key, int create)
{
	struct entry	*e;
	size_t		 b, len;

	if (t->size != 0) {
		b = hash_str(key) & (t->size - 1);
		for (e = t->v[b]; e != NULL; e = e->next)
			if (strcmp(e->key, key) == 0)
				return (e);
	}
	if (!create)
		return (NULL);
	if (t->n + 1 > t->size)
		table_grow(t);
	len = strlen(key);
	e = xcalloc(1, sizeof *e + len + 1);
	memcpy(e->key, key, len + 1);
	b = hash_str(key) & (t->size - 1);
	e->next = t->v[b];
	t->v[b] = e;
	t->n++;
	return (e);
}

/* Unlinks and frees one entry of a table. */
static void
table_del(struct table *t, struct entry *gone)
{
	struct entry	**pp;

	pp = &t->v[hash_str(gone->key) & (t->size - 1)];
	for (; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == gone) {
			*pp = gone->next;
			t->n--;
			free(gone);
			return;
		}
	}
}

/* Frees every entry of a table and its buckets. */
static void
table_free(struct table *t)
{
	struct entry	*e, *next;
	size_t		 i;

	for (i = 0; i < t->size; i++) {
		for (e = t->v[i]; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(t->v);
	memset(t, 0, sizeof *t);
}

/* Takes a token from key's bucket; 0 when it is empty.  rate 0: no limit. */
static int
bucket_take(struct table *t, const char *key, double rate, double burst,
    uint64_t now)
{
	struct entry	*e;

	if (rate <= 0)
		return (1);
	if ((e = table_get(t, key, 0)) == NULL) {
		e = table_get(t, key, 1);
		e->tokens = burst;
		e->last = now;
	}
	if (now > e->last) {
		e->tokens += (double)(now - e->last) * rate / 1000.0;
		if (e->tokens > burst)
			e->tokens = burst;
		e->last = now;
	}
	if (e->tokens < 1.0)
		return (0);
	e->tokens -= 1.0;
	return (1);
}

/* Whether user may send one more message now (send_rate, send_burst). */
int
limit_send(const char *user)
{
	return (bucket_take(&sends, user, (double)srv.conf.send_rate,
	    (double)srv.conf.send_burst, now_ms()));
}

/*
 * Whether a login or registration for user from address may be tried.
 * Both buckets are charged, so neither many names from one address nor
 * many addresses against one name get past login_rate per minute.
 */
int
limit_login(const char *user, const char *address)
{
	char		 key[NAME_USER_MAX + 3];
	uint64_t	 now = now_ms();
	double		 rate = (double)srv.conf.login_rate / 60.0;
	int		 ok_user, ok_addr;

	snprintf(key, sizeof key, "u:%s", user);
	ok_user = bucket_take(&logins, key, rate,
	    (double)srv.conf.login_rate, now);
	ok_addr = bucket_take(&logins, address, rate,
	    (double)srv.conf.login_rate, now);
	return (ok_user && ok_addr);
}

/*
 * Whether user may fetch n more key bundles now (keys_fetch_rate a
 * minute, tickd-protocol(7) KEY DIRECTORY).  A fetch is charged whole or
 * not at all, and at least one bundle, so that fetches of nothing are
 * limited too.
 */
int
limit_keys_fetch(const char *user, size_t n)
{
	struct entry	*e;
	uint64_t	 now = now_ms();
	double		 rate = (double)srv.conf.keys_fetch_rate;
	double		 need = n == 0 ? 1.0 : (double)n;

	if (rate <= 0)
		return (1);
	if ((e = table_get(&fetches, user, 0)) == NULL) {
		e = table_get(&fetches, user, 1);
		e->tokens = rate;
		e->last = now;
	}
	if (now > e->last) {
		e->tokens += (double)(now - e->last) * rate / 60000.0;
		if (e->tokens > rate)
			e->tokens = rate;
		e->last = now;
	}
	if (e->tokens < need)
		return (0);
	e->tokens -= need;
	return (1);
}

/*
 * How many bundles user may fetch now, charging nothing; SIZE_MAX without
 * a limit.  A fetch from a user homed on another node takes its keys
 * there, so that node is told this many and refuses a fetch of more,
 * taking nothing, as limit_keys_fetch would have here.
 */
size_t
limit_keys_fetch_room(const char *user)
{
	struct entry	*e;
	uint64_t	 now = now_ms();
	double		 rate = (double)srv.conf.keys_fetch_rate;
	double		 tokens;

	if (rate <= 0)
		return (SIZE_MAX);
	if ((e = table_get(&fetches, user, 0)) == NULL)
		return ((size_t)rate);
	tokens = e->tokens;
	if (now > e->last)
		tokens += (double)(now - e->last) * rate / 60000.0;
	if (tokens > rate)
		tokens = rate;
	return ((size_t)tokens);
}

/*
 * Counts a new connection from address; 0 when max_connections or
 * max_connections_per_ip refuses it (then nothing was counted).
 */
int
limit_conn_open(const char *address)
{
	struct entry	*e;

	if (srv.stats.conns >= srv.conf.max_connections)
		return (0);
	e = table_get(&addrs, address, 1);
	if (e->count >= srv.conf.max_connections_per_ip)
		return (0);
	e->count++;
	return (1);
}

/*
 * A connection from address from turns out to be one of address to (the
 * client behind a trusted proxy, tickd.conf(5) Reverse proxy): its count
 * moves, unless to is at max_connections_per_ip (then 0, nothing moved).
 */
int
limit_conn_move(const char *from, const char *to)
{
	struct entry	*e;

	e = table_get(&addrs, to, 1);
	if (e->count >= srv.conf.max_connections_per_ip)
		return (0);
	e->count++;
	limit_conn_close(from);
	return (1);
}

/*
 * A connection from address closed: one fewer counted against
 * max_connections_per_ip.
 */
void
limit_conn_close(const char *address)
{
	struct entry	*e;

	if ((e = table_get(&addrs, address, 0)) != NULL && --e->count == 0)
		table_del(&addrs, e);
}

/*
 * Drops the entries of a table whose bucket has refilled, so idle keys cost no
 * memory.
 */
static void
prune(struct table *t, double rate, double burst, uint64_t now)
{
	struct entry	*e, *next;
	size_t		 i;

	for (i = 0; i < t->size; i++) {
		for (e = t->v[i]; e != NULL; e = next) {
			next = e->next;
			if (rate <= 0 || e->tokens + (double)(now > e->last ?
			    now - e->last : 0) * rate / 1000.0 >= burst)
				table_del(t, e);
		}
	}
}

/* Forgets buckets that have refilled; run from the sweep. */
void
limit_prune(void)
{
	uint64_t	now = now_ms();

	prune(&sends, (double)srv.conf.send_rate, (double)srv.conf.send_burst,
	    now);
	prune(&logins, (double)srv.conf.login_rate / 60.0,
	    (double)srv.conf.login_rate, now);
	prune(&fetches, (double)srv.conf.keys_fetch_rate / 60.0,
	    (double)srv.conf.keys_fetch_rate, now);
}

/* Frees every limit table at exit. */
void
limit_free(void)
{
	table_free(&sends);
	table_free(&logins);
	table_free(&addrs);
	table_free(&fetches);
}
