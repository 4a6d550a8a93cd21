/* SPDX-License-Identifier: ISC */
/*
 * kdf.c: password hashing off the event loop.
 *
 * scrypt is memory-hard on purpose: one run takes tens of milliseconds and
 * 16 MiB, which would stall every other client if done on the loop.  One
 * worker thread runs the jobs in order; finished jobs are handed back
 * under a lock, the loop woken through wake.c.
 */
#include <sys/types.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "tickd.h"


struct job {
	TAILQ_ENTRY(job) entry;
	char		*password;
	size_t		 len;
	uint8_t		 salt[KDF_SALT_BYTES];
	uint8_t		 hash[KDF_HASH_BYTES];
	uint64_t	 n;		/* scrypt's N, r and p */
	uint64_t	 r, p;
	int		 ok;
	kdf_cb		 cb;
	void		*arg;
};
TAILQ_HEAD(jobs, job);

static pthread_t	 worker;
static pthread_mutex_t	 lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 wake = PTHREAD_COND_INITIALIZER;
static struct jobs	 todo = TAILQ_HEAD_INITIALIZER(todo);
static struct jobs	 done = TAILQ_HEAD_INITIALIZER(done);
static int		 stopping, started;
static struct wake	 wake_loop = WAKE_INITIALIZER;

/* A worker thread: runs scrypt for each job queued and wakes the loop. */
static void *
kdf_worker(void *arg)
{
	struct job	*j;

	(void)arg;
	pthread_mutex_lock(&lock);
	for (;;) {
		while (TAILQ_EMPTY(&todo) && !stopping)
			pthread_cond_wait(&wake, &lock);
		if (stopping)
			break;
		j = TAILQ_FIRST(&todo);
		TAILQ_REMOVE(&todo, j, entry);
		pthread_mutex_unlock(&lock);

		j->ok = EVP_PBE_scrypt(j->password, j->len, j->salt,
		    sizeof j->salt, j->n, j->r, j->p, KDF_MAXMEM,
		    j->hash, sizeof j->hash) == 1;
		OPENSSL_cleanse(j->password, j->len);

		pthread_mutex_lock(&lock);
		TAILQ_INSERT_TAIL(&done, j, entry);
		wake_post(&wake_loop);
	}
	pthread_mutex_unlock(&lock);
	return (NULL);
}

/* Frees a job, clearing its hash first. */
static void
job_free(struct job *j)
{
	OPENSSL_cleanse(j->hash, sizeof j->hash);
	free(j->password);
	free(j);
}

/* On the loop, once woken: runs the callback of every finished job. */
static void
kdf_done(void *arg)
{
	struct jobs	 ready = TAILQ_HEAD_INITIALIZER(ready);
	struct job	*j;

	(void)arg;
	pthread_mutex_lock(&lock);
	TAILQ_CONCAT(&ready, &done, entry);
	pthread_mutex_unlock(&lock);
	while ((j = TAILQ_FIRST(&ready)) != NULL) {
		TAILQ_REMOVE(&ready, j, entry);
		j->cb(j->arg, j->ok, j->hash);
		job_free(j);
	}
}

/* Starts the worker; errors are for the operator. */
int
kdf_init(struct event_base *base, char **cause)
{
	if (wake_init(&wake_loop, base, "kdf", kdf_done, NULL, cause) != 0)
		return (-1);
	if ((errno = pthread_create(&worker, NULL, kdf_worker, NULL)) != 0) {
		xasprintf(cause, "kdf: thread: %s", strerror(errno));
		return (-1);
	}
	started = 1;
	return (0);
}

/*
 * Stops the worker.  Jobs it did not finish are called back as failed, so
 * their owners can let go of what they hold.
 */
void
kdf_shutdown(void)
{
	struct job	*j;

	if (started) {
		pthread_mutex_lock(&lock);
		stopping = 1;
		pthread_cond_signal(&wake);
		pthread_mutex_unlock(&lock);
		pthread_join(worker, NULL);
		started = 0;
	}
	TAILQ_CONCAT(&done, &todo, entry);
	while ((j = TAILQ_FIRST(&done)) != NULL) {
		TAILQ_REMOVE(&done, j, entry);
		j->cb(j->arg, 0, j->hash);
		job_free(j);
	}
	wake_free(&wake_loop);
}

/*
 * Hashes password with salt and the KDF of u (a stored hash's) on the
 * worker; cb runs later on the loop.  A KDF it does not know fails.
 */
void
kdf_hash_as(const char *password, size_t len,
    const uint8_t salt[KDF_SALT_BYTES], const struct user_rec *u, kdf_cb cb,
    void *arg)
{
	struct job	*j;

	j = xcalloc(1, sizeof *j);
	j->password = xmalloc(len + 1);
	memcpy(j->password, password, len);
	j->len = len;
	memcpy(j->salt, salt, sizeof j->salt);
	if (u->kdf == KDF_SCRYPT && u->kdf_ln < 64) {
		j->n = 1ULL << u->kdf_ln;
		j->r = u->kdf_r;
		j->p = u->kdf_p;
	}	/* else N 0: EVP_PBE_scrypt refuses it */
	j->cb = cb;
	j->arg = arg;
	pthread_mutex_lock(&lock);
	TAILQ_INSERT_TAIL(&todo, j, entry);
	pthread_cond_signal(&wake);
	pthread_mutex_unlock(&lock);
}

/* Hashes password with salt at the cost of new hashes (store.h). */
void
kdf_hash(const char *password, size_t len,
    const uint8_t salt[KDF_SALT_BYTES], kdf_cb cb, void *arg)
{
	struct user_rec	u;

	account_kdf_default(&u);
	kdf_hash_as(password, len, salt, &u, cb, arg);
}
