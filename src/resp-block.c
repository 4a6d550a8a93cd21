/* SPDX-License-Identifier: ISC */
/*
 * resp-block.c: the parking of RESP clients whose XREAD or XREADGROUP
 * BLOCKs (tickd-resp(7)), after the API comment of Redis's blocked.c: a
 * read that finds nothing parks the client on its keys (its command is
 * kept, "$" already resolved); a committed write to a key marks it ready
 * (resp_key_touched); after the commit, resp_serve_ready() runs each
 * parked command again, oldest first, and a client that gets an answer
 * goes on with its pipelined input.  A parked client is still read, so
 * that its disconnection is seen, but its input waits.
 */
#include <sys/types.h>
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "tickd.h"

#define RESP_WAIT_BUCKETS	256
#define KEY_READY		1	/* in ready_keys */
#define KEY_SERVING		2	/* in serving_keys */

/* A key some clients are parked on, in the wait table. */
struct rwkey {
	char			*key;
	size_t			 len;
	TAILQ_HEAD(, rwaiter)	 waiters;	/* oldest first */
	int			 ready;		/* KEY_READY or KEY_SERVING */
	TAILQ_ENTRY(rwkey)	 ready_entry;
	struct rwkey		*next;		/* bucket chain */
};

/* One parked client on one key. */
struct rwaiter {
	struct rclient		*rc;
	struct rwkey		*k;
	TAILQ_ENTRY(rwaiter)	 entry;
};

/* The wait table: key -> parked clients, and the keys written to. */
static struct rwkey		*wait_table[RESP_WAIT_BUCKETS];
static size_t			 wait_count;
static TAILQ_HEAD(, rwkey)	 ready_keys =
    TAILQ_HEAD_INITIALIZER(ready_keys);
/* The keys of the commit being served, which a wake may drop. */
static TAILQ_HEAD(, rwkey)	 serving_keys =
    TAILQ_HEAD_INITIALIZER(serving_keys);
static TAILQ_HEAD(, rclient)	 resume = TAILQ_HEAD_INITIALIZER(resume);
static uint64_t			 resp_nblocked;
static char			*serving;	/* whose clients run again */
static size_t			 serving_len;

static void	rc_unblock(struct rclient *);

/* The wait table's bucket of a key. */
static struct rwkey **
wait_bucket(const char *key, size_t len)
{
	return (&wait_table[hash_keyed(key, len) % RESP_WAIT_BUCKETS]);
}

/* The wait table's entry of a key, created if create is set. */
static struct rwkey *
wait_key(const char *key, size_t len, int create)
{
	struct rwkey	**b = wait_bucket(key, len), *k;

	for (k = *b; k != NULL; k = k->next) {
		if (k->len == len && memcmp(k->key, key, len) == 0)
			return (k);
	}
	if (!create)
		return (NULL);
	k = xcalloc(1, sizeof *k);
	k->key = xmalloc(len + 1);
	memcpy(k->key, key, len);
	k->key[len] = '\0';
	k->len = len;
	TAILQ_INIT(&k->waiters);
	k->next = *b;
	*b = k;
	wait_count++;
	return (k);
}

/* Removes a key nobody waits on from the table. */
static void
wait_key_drop(struct rwkey *k)
{
	struct rwkey	**pp;

	if (!TAILQ_EMPTY(&k->waiters))
		return;
	if (k->ready == KEY_READY)
		TAILQ_REMOVE(&ready_keys, k, ready_entry);
	else if (k->ready == KEY_SERVING)
		TAILQ_REMOVE(&serving_keys, k, ready_entry);
	for (pp = wait_bucket(k->key, k->len); *pp != k; pp = &(*pp)->next)
		;
	*pp = k->next;
	wait_count--;
	free(k->key);
	free(k);
}

/* A parked client's BLOCK ran out: nil, then its pipeline. */
static void
rc_timeout_cb(evutil_socket_t fd, short events, void *arg)
{
	struct rclient	*rc = arg;

	(void)fd; (void)events;
	if (!rc->blocked)
		return;
	rc_unblock(rc);
	rc->out = rc->ok;
	resp_add_null_array(rc);
	resp_process(rc);
}

/*
 * Parks the client of the running command on keys until one of them is
 * written or timeout ms pass (0: no limit).  Inside MULTI a read cannot
 * wait and answers as if it timed out.  When the command runs again after
 * a write and still finds nothing, the client stays parked as it was.
 */
void
resp_block(struct rclient *rc, const struct rarg *keys, int nkeys,
    uint64_t timeout)
{
	struct rwaiter	*w;
	struct rwkey	*k;
	struct timeval	 tv;
	int		 i, j, dup;

	if (rc->in_exec) {
		resp_add_null_array(rc);
		return;
	}
	if (rc->waking) {
		rc->still_blocked = 1;
		return;
	}
	rc->blocked = 1;
	resp_nblocked++;
	rc->waiters = xcalloc((size_t)nkeys, sizeof *rc->waiters);
	rc->nwaiters = 0;
	for (i = 0; i < nkeys; i++) {
		for (j = 0, dup = 0; j < i; j++) {
			if (keys[j].len == keys[i].len &&
			    memcmp(keys[j].p, keys[i].p, keys[i].len) == 0)
				dup = 1;
		}
		if (dup)
			continue;
		k = wait_key(keys[i].p, keys[i].len, 1);
		w = &rc->waiters[rc->nwaiters++];
		w->rc = rc;
		w->k = k;
		TAILQ_INSERT_TAIL(&k->waiters, w, entry);
	}
	if (timeout == 0)
		return;
	if ((rc->btimer = evtimer_new(srv.base, rc_timeout_cb, rc)) == NULL)
		fatalx("resp: cannot create a timer");
	tv.tv_sec = (time_t)(timeout / 1000);
	tv.tv_usec = (suseconds_t)(timeout % 1000) * 1000;
	evtimer_add(rc->btimer, &tv);
}

/* Whether the running command runs again because a key was written. */
int
resp_waking(struct rclient *rc)
{
	return (rc->waking);
}

/* Unparks a client: off every key, timer stopped, its command freed. */
static void
rc_unblock(struct rclient *rc)
{
	struct rwaiter	*w;
	int		 i;

	if (!rc->blocked)
		return;
	for (i = 0; i < rc->nwaiters; i++) {
		w = &rc->waiters[i];
		TAILQ_REMOVE(&w->k->waiters, w, entry);
		wait_key_drop(w->k);
	}
	free(rc->waiters);
	rc->waiters = NULL;
	rc->nwaiters = 0;
	if (rc->btimer != NULL)
		event_free(rc->btimer);
	rc->btimer = NULL;
	if (rc->bargv != NULL)
		resp_args_free(rc->bargv, rc->bargc);
	rc->bargv = NULL;
	rc->bargc = 0;
	rc->bcmd = NULL;
	rc->blocked = 0;
	resp_nblocked--;
}

/* A committed write to key: clients parked on it may now be served. */
void
resp_key_touched(const char *key, size_t len)
{
	struct rwkey	*k;

	if (wait_count == 0 || (k = wait_key(key, len, 0)) == NULL ||
	    k->ready)
		return;
	k->ready = KEY_READY;
	TAILQ_INSERT_TAIL(&ready_keys, k, ready_entry);
}

/* An item landed in a device's queue: wakes readers of its view. */
void
resp_queue_touched(const char *user, const char *device)
{
	char	key[6 + NAME_USER_MAX + 1 + NAME_DEVICE_MAX + 1];
	int	n;

	if (wait_count == 0)
		return;
	n = snprintf(key, sizeof key, "queue:%s:%s", user, device);
	if (n > 0 && (size_t)n < sizeof key)
		resp_key_touched(key, (size_t)n);
}

/*
 * A user's devices (device NULL) or one device went with their queues:
 * readers parked on those queue: views are woken, and a parked
 * XREADGROUP gets UNBLOCKED as for a deleted stream.
 */
void
resp_view_gone(const char *user, const char *device)
{
	char		 pfx[6 + NAME_USER_MAX + 2];
	struct rwkey	*k;
	size_t		 i, plen;
	int		 n;

	if (wait_count == 0)
		return;
	if (device != NULL) {
		resp_queue_touched(user, device);
		return;
	}
	n = snprintf(pfx, sizeof pfx, "queue:%s:", user);
	if (n <= 0 || (size_t)n >= sizeof pfx)
		return;
	plen = (size_t)n;
	for (i = 0; i < RESP_WAIT_BUCKETS; i++) {
		for (k = wait_table[i]; k != NULL; k = k->next) {
			if (k->len > plen && memcmp(k->key, pfx, plen) == 0)
				resp_key_touched(k->key, k->len);
		}
	}
}

/*
 * Whether the i-th of the keys from first on of a command that runs again
 * is the key written, and its first occurrence: as in Redis 7.0's
 * blocked.c, a woken read is served from that key alone.
 */
int
resp_wake_key(struct rclient *rc, const struct rarg *argv, int first, int i)
{
	const struct rarg	*key = &argv[first + i];
	int			 j;

	if (!rc->waking || serving == NULL)
		return (1);
	if (key->len != serving_len || memcmp(key->p, serving,
	    key->len) != 0)
		return (0);
	for (j = 0; j < i; j++) {
		if (argv[first + j].len == key->len &&
		    memcmp(argv[first + j].p, key->p, key->len) == 0)
			return (0);
	}
	return (1);
}

/* Runs a parked client's command again; 1 if it was answered. */
static int
rc_wake(struct rclient *rc)
{
	rc->waking = 1;
	rc->still_blocked = 0;
	resp_call(rc, rc->bcmd, rc->bargc, rc->bargv);
	rc->waking = 0;
	if (rc->still_blocked)
		return (0);
	rc_unblock(rc);
	resp_flush(rc);
	return (1);
}

/*
 * After a turn's commit: serves the clients parked on the keys that were
 * written, oldest first, then lets those answered go on with their input.
 * Keys written while serving wait for the next commit.  If the commit
 * failed nothing was written, and nobody is woken.
 */
void
resp_serve_ready(int ok)
{
	struct rwkey		*k;
	struct rwaiter		*w;
	struct rclient		**v, *rc;
	size_t			 n, i;

	/*
	 * A client answered for one key leaves the others, and may drop
	 * them: they wait in serving_keys, where wait_key_drop finds them.
	 */
	TAILQ_FOREACH(k, &ready_keys, ready_entry)
		k->ready = KEY_SERVING;
	TAILQ_CONCAT(&serving_keys, &ready_keys, ready_entry);
	while ((k = TAILQ_FIRST(&serving_keys)) != NULL) {
		TAILQ_REMOVE(&serving_keys, k, ready_entry);
		k->ready = 0;
		if (!ok) {
			wait_key_drop(k);
			continue;
		}
		/* Waking unparks clients, which may free k: copy first. */
		n = 0;
		TAILQ_FOREACH(w, &k->waiters, entry)
			n++;
		v = xcalloc(n, sizeof *v);
		n = 0;
		TAILQ_FOREACH(w, &k->waiters, entry) {
			v[n++] = w->rc;
			conn_ref(w->rc->c);
		}
		/* A copy: k goes with its last client. */
		serving_len = k->len;
		serving = xmalloc(k->len + 1);
		memcpy(serving, k->key, k->len + 1);
		for (i = 0; i < n; i++) {
			rc = v[i];
			if (!rc->c->dead && rc->blocked && rc_wake(rc) &&
			    !rc->resume_queued) {
				rc->resume_queued = 1;
				conn_ref(rc->c);
				TAILQ_INSERT_TAIL(&resume, rc, resume_entry);
			}
		}
		for (i = 0; i < n; i++)
			conn_unref(v[i]->c);
		free(v);
		free(serving);
		serving = NULL;
	}
	while ((rc = TAILQ_FIRST(&resume)) != NULL) {
		TAILQ_REMOVE(&resume, rc, resume_entry);
		rc->resume_queued = 0;
		if (!rc->c->dead && !rc->blocked && !rc->paused)
			resp_process(rc);
		conn_unref(rc->c);
	}
}

/* Forgets a client that goes: unparked, and off the list to resume. */
void
resp_block_free(struct rclient *rc)
{
	rc_unblock(rc);
	if (rc->resume_queued) {
		TAILQ_REMOVE(&resume, rc, resume_entry);
		conn_unref(rc->c);
	}
}

/* How many clients are parked, for INFO. */
uint64_t
resp_block_count(void)
{
	return (resp_nblocked);
}

/* Drops the keys still marked ready, when the server shuts down. */
void
resp_block_shutdown(void)
{
	struct rwkey	*k;

	while ((k = TAILQ_FIRST(&ready_keys)) != NULL) {
		TAILQ_REMOVE(&ready_keys, k, ready_entry);
		k->ready = 0;
		wait_key_drop(k);
	}
}
