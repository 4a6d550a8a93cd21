/* SPDX-License-Identifier: ISC */
/*
 * wake.c: how a worker thread wakes the event loop.  libevent is not made
 * thread-safe here, so the worker writes a byte to a pipe whose read end
 * the loop watches; the loop's callback then takes the worker's results
 * under the worker's own lock (kdf.c, sync.c).
 */
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "tickd.h"

/* The loop's side: empties the pipe, then runs the owner's callback. */
static void
wake_cb(evutil_socket_t fd, short events, void *arg)
{
	struct wake	*w = arg;
	char		 buf[64];

	(void)events;
	while (read(fd, buf, sizeof buf) > 0)
		;
	if (w->fn != NULL)
		w->fn(w->arg);
}

/*
 * Makes w's pipe and watches it on base; fn (if not NULL) runs on the loop
 * after each wake-up.  who names the owner in errors.
 */
int
wake_init(struct wake *w, struct event_base *base, const char *who,
    void (*fn)(void *), void *arg, char **cause)
{
	w->fn = fn;
	w->arg = arg;
	if (pipe2(w->fd, O_NONBLOCK | O_CLOEXEC) == -1) {
		w->fd[0] = w->fd[1] = -1;
		xasprintf(cause, "%s: pipe: %s", who, strerror(errno));
		return (-1);
	}
	w->ev = event_new(base, w->fd[0], EV_READ | EV_PERSIST, wake_cb, w);
	if (w->ev == NULL || event_add(w->ev, NULL) != 0) {
		xasprintf(cause, "%s: cannot watch the pipe", who);
		return (-1);
	}
	return (0);
}

/* From the worker: wakes the loop.  A full pipe holds a wake-up already. */
void
wake_post(struct wake *w)
{
	if (write(w->fd[1], "", 1) == -1 && errno != EAGAIN)
		log_warn("wake: cannot wake the loop");
}

/* Stops watching and closes the pipe; the worker must be gone. */
void
wake_free(struct wake *w)
{
	if (w->ev != NULL)
		event_free(w->ev);
	w->ev = NULL;
	if (w->fd[0] != -1) {
		close(w->fd[0]);
		close(w->fd[1]);
		w->fd[0] = w->fd[1] = -1;
	}
}
