/* SPDX-License-Identifier: ISC */
/*
 * sync.c: the second sync of a commit, beside the event loop.
 *
 * An LMDB commit syncs twice: the pages it wrote, then the meta page that
 * points at them.  With the store opened for it (store_meta_sync_later),
 * the commit on the loop does the first and only writes the meta page; one
 * worker thread then runs fdatasync(2) on the store's file while the loop
 * works out what the commit releases (replies, queue pumps, blocked RESP
 * clients) and, outside a cluster, serves the next turns.  That output
 * waits until the worker is done (tickd(8), COMMITS).  The worker touches
 * no LMDB structure and nothing of the loop's: it gets a descriptor, hands
 * back errno, and wakes the loop (wake.c).
 */
#include <sys/types.h>

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "tickd.h"

static pthread_t	 worker;
static pthread_mutex_t	 lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 wake = PTHREAD_COND_INITIALIZER;
static pthread_cond_t	 finished = PTHREAD_COND_INITIALIZER;
static int		 asked, answered, stopping, started;
static int		 result;	/* errno of the last sync, 0 if none */
static int		 syncfd = -1;
static struct wake	 wake_loop = WAKE_INITIALIZER;

/* The worker: one fdatasync per request. */
static void *
sync_worker(void *arg)
{
	int	err;

	(void)arg;
	pthread_mutex_lock(&lock);
	for (;;) {
		while (!asked && !stopping)
			pthread_cond_wait(&wake, &lock);
		if (!asked)
			break;
		asked = 0;
		pthread_mutex_unlock(&lock);

		err = fdatasync(syncfd) == -1 ? errno : 0;

		pthread_mutex_lock(&lock);
		result = err;
		answered = 1;
		pthread_cond_signal(&finished);
		wake_post(&wake_loop);
	}
	pthread_mutex_unlock(&lock);
	return (NULL);
}

/* Starts the worker for the store file open as fd. */
int
sync_init(struct event_base *base, int fd, char **cause)
{
	syncfd = fd;
	/* The wake-up only ends the loop's wait: its turn_end collects. */
	if (wake_init(&wake_loop, base, "sync", NULL, NULL, cause) != 0)
		return (-1);
	if ((errno = pthread_create(&worker, NULL, sync_worker, NULL)) != 0) {
		xasprintf(cause, "sync: thread: %s", strerror(errno));
		return (-1);
	}
	started = 1;
	return (0);
}

/* Asks the worker for one sync; sync_collect takes its answer. */
void
sync_start(void)
{
	pthread_mutex_lock(&lock);
	asked = 1;
	answered = 0;
	pthread_cond_signal(&wake);
	pthread_mutex_unlock(&lock);
}

/*
 * Collects the answer to the sync asked for: 1 once there is one, with *ok
 * set if the sync succeeded; with wait, blocks until then.
 */
int
sync_collect(int wait, int *ok)
{
	int	err;

	pthread_mutex_lock(&lock);
	while (wait && !answered)
		pthread_cond_wait(&finished, &lock);
	if (!answered) {
		pthread_mutex_unlock(&lock);
		return (0);
	}
	answered = 0;
	err = result;
	pthread_mutex_unlock(&lock);
	if (err != 0)
		log_warnx("sync: fdatasync of the store: %s", strerror(err));
	*ok = err == 0;
	return (1);
}

/* Stops the worker, which has no sync under way: each was collected. */
void
sync_shutdown(void)
{
	if (started) {
		pthread_mutex_lock(&lock);
		stopping = 1;
		pthread_cond_signal(&wake);
		pthread_mutex_unlock(&lock);
		pthread_join(worker, NULL);
		started = 0;
	}
	wake_free(&wake_loop);
}
