/* SPDX-License-Identifier: ISC */
/*
 * kdf.c: password hashing off the event loop.
 *
 * scrypt is memory-hard on purpose: one run takes tens of milliseconds and
 * 16 MiB, which would stall every other client if done on the loop.  One
 * worker thread runs the jobs in order; finished jobs are handed back
 * through a pipe whose read end the loop watches, so the loop itself needs
 * no locking (libevent is not made thread-safe).
 */
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
static int		 pipefd[2] = { -1, -1 };
static struct event	*ev_done;

/*
 * A worker thread: runs scrypt for each job queued and wakes the loop through
 * the pipe.
 */
static void *
kdf_worker(void *arg)
{
	struct job	*j;
	char		 one = 1;

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
		/* A full pipe already holds a wake-up; that is enough. */
		if (write(pipefd[1], &one, 1) == -1 && errno != EAGAIN)
			log_warn("kdf: wake the loop");
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

/* The loop's side of the pipe: runs the callback of every finished job. */
static void
kdf_done_cb(evutil_socket_t fd, short events, void *arg)
{
	struct jobs	 ready = TAILQ_HEAD_INITIALIZER(ready);
	struct job	*j;
	char		 buf[64];

	(void)events; (void)arg;
	while (read(fd, buf, sizeof buf) > 0)
		;
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
	if (pipe2(pipefd, O_NONBLOCK | O_CLOEXEC) == -1) {
		xasprintf(cause, "kdf: pipe: %s", strerror(errno));
		return (-1);
	}
	ev_done = event_new(base, pipefd[0], EV_READ | EV_PERSIST,
	    kdf_done_cb, NULL);
	if (ev_done == NULL || event_add(ev_done, NULL) != 0) {
		*cause = xstrdup("kdf: cannot watch the pipe");
		return (-1);
	}
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
	if (ev_done != NULL)
		event_free(ev_done);
	ev_done = NULL;
	if (pipefd[0] != -1) {
		close(pipefd[0]);
		close(pipefd[1]);
		pipefd[0] = pipefd[1] = -1;
	}
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
