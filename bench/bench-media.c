/* SPDX-License-Identifier: ISC */
/*
 * bench-media.c: tickd-bench's media mode (tickd-protocol(7) MEDIA):
 * uploads of one size at once from as many threads, each on its own
 * blocking connection, then each downloads what it uploaded; the
 * throughput both ways and the server's resident memory while the
 * uploads run.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#define MEDIA_TIMEOUT	600		/* seconds for one transfer */
#define MEDIA_CHUNK	(256 * 1024)

/* One thread's upload and download. */
struct transfer {
	const struct peer	*peer;
	const char		*token;
	const char		*chunk;		/* MEDIA_CHUNK bytes to send */
	uint64_t		 size;
	char			 id[64];
	int			 ok;
	uint64_t		 got;		/* bytes downloaded */
	pthread_barrier_t	*start;		/* both phases begin together */
	pthread_mutex_t		*lock;
	unsigned		*done;		/* uploads ended */
};

/* A connected blocking socket with timeouts, or -1. */
static int
dial(const struct peer *p)
{
	struct timeval	tv = { MEDIA_TIMEOUT, 0 };
	int		fd;

	if ((fd = socket(p->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) ==
	    -1)
		return (-1);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == -1 ||
	    connect(fd, (const struct sockaddr *)&p->ss, p->sslen) == -1) {
		close(fd);
		return (-1);
	}
	return (fd);
}

/* Writes all of buf; -1 on failure. */
static int
send_all(int fd, const char *buf, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = write(fd, buf, len)) == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return (-1);
		buf += n;
		len -= (size_t)n;
	}
	return (0);
}

/* Uploads t->size bytes; keeps the ID of the 201. */
static void
upload(struct transfer *t)
{
	char		 head[512], resp[2048], *p;
	uint64_t	 left;
	size_t		 n, have = 0;
	ssize_t		 r;
	int		 fd;

	if ((fd = dial(t->peer)) == -1)
		return;
	snprintf(head, sizeof head, "POST /v1/media HTTP/1.1\r\nHost: %s\r\n"
	    "Connection: close\r\nAuthorization: Bearer %s\r\nContent-Type: "
	    "application/octet-stream\r\nContent-Length: %llu\r\n\r\n",
	    t->peer->host, t->token, (unsigned long long)t->size);
	if (send_all(fd, head, strlen(head)) == -1)
		goto out;
	for (left = t->size; left > 0; left -= n) {
		n = left > MEDIA_CHUNK ? MEDIA_CHUNK : (size_t)left;
		if (send_all(fd, t->chunk, n) == -1)
			goto out;
	}
	while (have < sizeof resp - 1 && (r = read(fd, resp + have,
	    sizeof resp - 1 - have)) > 0)
		have += (size_t)r;
	resp[have] = '\0';
	if (strncmp(resp, "HTTP/1.1 201", 12) == 0 &&
	    (p = strstr(resp, "\"media\":\"")) != NULL) {
		p += 9;
		n = strcspn(p, "\"");
		if (n < sizeof t->id) {
			memcpy(t->id, p, n);
			t->id[n] = '\0';
			t->ok = 1;
		}
	}
out:
	close(fd);
}

/* Downloads the upload again, counting the bytes after the head. */
static void
download(struct transfer *t)
{
	char		 req[512], *buf, *end;
	uint64_t	 total = 0;
	ssize_t		 r;
	int		 fd, body = 0;

	if ((fd = dial(t->peer)) == -1)
		return;
	snprintf(req, sizeof req, "GET /v1/media/%s HTTP/1.1\r\nHost: %s\r\n"
	    "Connection: close\r\nAuthorization: Bearer %s\r\n\r\n", t->id,
	    t->peer->host, t->token);
	if ((buf = malloc(MEDIA_CHUNK + 1)) == NULL ||
	    send_all(fd, req, strlen(req)) == -1)
		goto out;
	while ((r = read(fd, buf, MEDIA_CHUNK)) > 0) {
		if (!body) {
			buf[r] = '\0';
			if ((end = strstr(buf, "\r\n\r\n")) == NULL)
				break;
			body = 1;
			total += (uint64_t)(r - (end + 4 - buf));
		} else
			total += (uint64_t)r;
	}
	t->got = total;
out:
	free(buf);
	close(fd);
}

/* A thread: its upload, then (after the barrier) its download. */
static void *
transfer_thread(void *arg)
{
	struct transfer	*t = arg;

	pthread_barrier_wait(t->start);
	upload(t);
	pthread_mutex_lock(t->lock);
	(*t->done)++;
	pthread_mutex_unlock(t->lock);
	pthread_barrier_wait(t->start);
	if (t->ok)
		download(t);
	return (NULL);
}

/* The VmRSS of pid in bytes, 0 if unknown. */
static uint64_t
rss_of(pid_t pid)
{
	char		 path[64], line[256];
	FILE		*f;
	uint64_t	 kb = 0;

	if (pid <= 0)
		return (0);
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return (0);
	while (fgets(line, sizeof line, f) != NULL) {
		if (sscanf(line, "VmRSS: %llu", (unsigned long long *)&kb) == 1)
			break;
	}
	fclose(f);
	return (kb * 1024);
}

/*
 * n uploads of size bytes at once as the bearer of token, then their
 * downloads; pid (0: unknown) is the server, whose RSS is sampled.
 */
int
bench_media(const struct peer *p, const char *token, unsigned n,
    uint64_t size, pid_t pid, struct media_res *res, char **cause)
{
	struct transfer		*t;
	pthread_t		*th;
	pthread_barrier_t	 start;
	pthread_mutex_t		 lock = PTHREAD_MUTEX_INITIALIZER;
	char			*chunk;
	uint64_t		 t0, t1, t2, rss;
	unsigned		 i, started = 0, done = 0, d;

	memset(res, 0, sizeof *res);
	t = calloc(n, sizeof *t);
	th = calloc(n, sizeof *th);
	chunk = malloc(MEDIA_CHUNK);
	if (t == NULL || th == NULL || chunk == NULL ||
	    pthread_barrier_init(&start, NULL, n + 1) != 0) {
		free(t);
		free(th);
		free(chunk);
		*cause = strdup("out of memory");
		return (-1);
	}
	for (i = 0; i < MEDIA_CHUNK; i++)
		chunk[i] = (char)(random() & 0xff);
	for (i = 0; i < n; i++) {
		t[i].peer = p;
		t[i].token = token;
		t[i].chunk = chunk;
		t[i].size = size;
		t[i].start = &start;
		t[i].lock = &lock;
		t[i].done = &done;
		if (pthread_create(&th[i], NULL, transfer_thread, &t[i]) != 0)
			break;
		started++;
	}
	if (started != n) {
		fprintf(stderr, "tickd-bench: cannot start %u threads\n", n);
		exit(1);
	}
	res->rss_before = rss_of(pid);
	res->rss_peak = res->rss_before;
	t0 = now_ns();
	pthread_barrier_wait(&start);
	/* Sample the server while the uploads run. */
	do {
		rss = rss_of(pid);
		if (rss > res->rss_peak)
			res->rss_peak = rss;
		usleep(20000);
		pthread_mutex_lock(&lock);
		d = done;
		pthread_mutex_unlock(&lock);
	} while (d < n);
	pthread_barrier_wait(&start);
	t1 = now_ns();
	for (i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	t2 = now_ns();
	for (i = 0; i < n; i++) {
		if (t[i].ok)
			res->uploaded++;
		if (t[i].got == size)
			res->downloaded++;
	}
	res->up_mb_s = (double)(res->uploaded * size) / 1e6 /
	    ((double)(t1 - t0) / 1e9);
	res->down_mb_s = (double)(res->downloaded * size) / 1e6 /
	    ((double)(t2 - t1) / 1e9);
	pthread_barrier_destroy(&start);
	free(t);
	free(th);
	free(chunk);
	return (0);
}
