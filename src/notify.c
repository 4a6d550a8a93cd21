/* SPDX-License-Identifier: ISC */
/*
 * notify.c: the systemd service notification protocol without libsystemd
 * (sd_notify(3)): each state is a datagram of "KEY=VALUE" lines to the
 * AF_UNIX socket in $NOTIFY_SOCKET, a path or, after "@", an abstract
 * name.  READY=1 once serving, RELOADING=1 and READY=1 around a reload,
 * STOPPING=1 on the way out, and WATCHDOG=1 every half $WATCHDOG_USEC from
 * the event loop, so that a loop that stops turning stops the pings and
 * systemd restarts tickd (tickd(8) SYSTEMD).  Without $NOTIFY_SOCKET all
 * of this does nothing.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "tickd.h"

static int			 notify_fd = -1;
static struct sockaddr_un	 notify_sun;
static socklen_t		 notify_len;
static struct event		*ev_watchdog;

/*
 * Opens the datagram socket for $NOTIFY_SOCKET, if set; an address that
 * cannot be used is logged and ignored, as sd_notify does.
 */
void
notify_init(void)
{
	const char	*path = getenv("NOTIFY_SOCKET");
	size_t		 len;

	if (path == NULL || (path[0] != '/' && path[0] != '@'))
		return;
	len = strlen(path);
	if (len >= sizeof notify_sun.sun_path) {
		log_warnx("notify: NOTIFY_SOCKET %s is too long", path);
		return;
	}
	memset(&notify_sun, 0, sizeof notify_sun);
	notify_sun.sun_family = AF_UNIX;
	memcpy(notify_sun.sun_path, path, len);
	if (path[0] == '@')
		notify_sun.sun_path[0] = '\0';	/* abstract namespace */
	notify_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	if ((notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) ==
	    -1)
		log_warn("notify: socket");
}

/* Sends one state datagram; a failure is logged at debug level only. */
void
notify_send(const char *state)
{
	if (notify_fd == -1)
		return;
	if (sendto(notify_fd, state, strlen(state), MSG_NOSIGNAL,
	    (struct sockaddr *)&notify_sun, notify_len) == -1)
		log_debug("notify: %s: %s", state, strerror(errno));
}

/* RELOADING=1 with the monotonic time systemd's notify-reload wants. */
void
notify_reloading(void)
{
	struct timespec	ts;
	char		buf[64];

	if (notify_fd == -1)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(buf, sizeof buf, "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000);
	notify_send(buf);
}

/* The watchdog timer: the loop turns, say so. */
static void
watchdog_cb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd; (void)events; (void)arg;
	notify_send("WATCHDOG=1");
}

/*
 * Once serving: READY=1, and with $WATCHDOG_USEC (for this process, if
 * $WATCHDOG_PID says which) a WATCHDOG=1 every half of it.
 */
void
notify_ready(struct event_base *base)
{
	const char		*usec = getenv("WATCHDOG_USEC");
	const char		*pid = getenv("WATCHDOG_PID");
	unsigned long long	 us;
	struct timeval		 tv;
	char			*end, buf[64];

	if (notify_fd == -1)
		return;
	snprintf(buf, sizeof buf, "READY=1\nMAINPID=%ld", (long)getpid());
	notify_send(buf);
	if (usec == NULL || ev_watchdog != NULL)
		return;
	if (pid != NULL && strtol(pid, NULL, 10) != (long)getpid())
		return;
	errno = 0;
	us = strtoull(usec, &end, 10);
	if (errno != 0 || *end != '\0' || us == 0) {
		log_warnx("notify: WATCHDOG_USEC \"%s\" is not a number of "
		    "microseconds", usec);
		return;
	}
	us /= 2;
	tv.tv_sec = (time_t)(us / 1000000);
	tv.tv_usec = (suseconds_t)(us % 1000000);
	if ((ev_watchdog = event_new(base, -1, EV_PERSIST, watchdog_cb,
	    NULL)) == NULL || event_add(ev_watchdog, &tv) == -1) {
		log_warnx("notify: cannot start the watchdog timer");
		return;
	}
	notify_send("WATCHDOG=1");
}

/* STOPPING=1; the watchdog stops with the loop. */
void
notify_stopping(void)
{
	notify_send("STOPPING=1");
	if (ev_watchdog != NULL) {
		event_free(ev_watchdog);
		ev_watchdog = NULL;
	}
}

/* Closes the socket at exit. */
void
notify_free(void)
{
	if (ev_watchdog != NULL)
		event_free(ev_watchdog);
	ev_watchdog = NULL;
	if (notify_fd != -1)
		close(notify_fd);
	notify_fd = -1;
}
